# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: the one thin Kubernetes access layer.

Authentication is kubernetes.core's own (``AUTH_ARG_SPEC`` and its client
factory), so ``kubeconfig``, ``context``, ``host``, ``api_key``,
``validate_certs`` and the ``K8S_AUTH_*`` environment variables behave exactly
as in kubernetes.core modules. Requests go to fixed REST paths with plain JSON
bodies: the modules need five resource types and no discovery.
"""

from __future__ import annotations

import json
import time
import traceback
from urllib.parse import quote, urlencode

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
    HAS_KUBERNETES_CORE = True
    KUBERNETES_CORE_IMPORT_ERROR = None
except ImportError:
    AUTH_ARG_SPEC = {}
    HAS_KUBERNETES_CORE = False
    KUBERNETES_CORE_IMPORT_ERROR = traceback.format_exc()

try:
    from kubernetes.client.exceptions import ApiException
    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError:
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()

    class ApiException(Exception):  # noqa: N818 - mirrors the library's name when it is missing
        """Stand-in so that ``except ApiException`` still parses without the library."""


class KubeError(Exception):
    """A failed API request, with the HTTP status and the server's message."""

    def __init__(self, status, reason, message):
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message

    @property
    def conflict(self):
        return self.status == 409

    @property
    def not_found(self):
        return self.status == 404


def k8s_auth_argument_spec():
    """kubernetes.core's authentication options, to merge into a module's argspec."""
    return {name: dict(spec) for name, spec in AUTH_ARG_SPEC.items()}


def check_libraries(module):
    """Fail the module clearly when a client library is missing on the target."""
    from ansible.module_utils.basic import missing_required_lib

    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    if not HAS_KUBERNETES_CORE:
        module.fail_json(msg=missing_required_lib("the kubernetes.core collection (>=6.0.0)"),
                         exception=KUBERNETES_CORE_IMPORT_ERROR)


def _error_from(exc):
    message = exc.reason or "request failed"
    reason = exc.reason or ""
    try:
        status = json.loads(exc.body)
        message = status.get("message") or message
        reason = status.get("reason") or reason
    except (TypeError, ValueError):
        if exc.body:
            message = str(exc.body)[:500]
    return KubeError(exc.status, reason, message)


class Kube:
    """Raw JSON access to the API server through kubernetes.core's authenticated client."""

    def __init__(self, api_client):
        self._api = api_client
        self.requests = 0

    @classmethod
    def from_module(cls, module):
        from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException

        # get_api_client(module=...) wants kubernetes.core's own module class
        # (.requires, .server_side_dry_run); the auth options as keywords work the
        # same way, environment fallbacks included.
        auth = {name: module.params.get(name) for name in AUTH_ARG_SPEC}
        try:
            return cls(get_api_client(**auth).client.client)
        except CoreException as exc:
            module.fail_json(msg="Could not connect to Kubernetes: %s" % exc,
                             exception=traceback.format_exc())
        except Exception as exc:  # kubeconfig parse errors, unreachable servers, ...
            module.fail_json(msg="Could not connect to Kubernetes: %s" % exc,
                             exception=traceback.format_exc())

    def request(self, method, path, body=None, query=None, content_type="application/json",
                accept="application/json", timeout=30):
        """Send one request; return (status, raw bytes). Raises KubeError on non-2xx."""
        if query:
            path = "%s?%s" % (path, urlencode(query))
        headers = {"Accept": accept}
        if body is not None:
            headers["Content-Type"] = content_type
        serialized = self._api.param_serialize(method, path, header_params=headers, body=body,
                                               auth_settings=["BearerToken"])
        self.requests += 1
        try:
            response = self._api.call_api(*serialized, _request_timeout=timeout)
            data = response.read()
        except ApiException as exc:
            raise _error_from(exc)
        if not 200 <= response.status <= 299:
            raise _error_from(ApiException(status=response.status, reason=response.reason,
                                           body=data.decode("utf-8", "replace")))
        return response.status, data

    def json(self, method, path, body=None, **kwargs):
        return json.loads(self.request(method, path, body=body, **kwargs)[1] or b"null")

    # -- typed helpers -------------------------------------------------------
    @staticmethod
    def path(kind, namespace, name=None, subresource=None):
        group = "/apis/apps/v1" if kind in ("deployments", "replicasets") else "/api/v1"
        path = "%s/namespaces/%s/%s" % (group, quote(namespace, safe=""), kind)
        if name:
            path += "/" + quote(name, safe="")
        if subresource:
            path += "/" + subresource
        return path

    def get(self, kind, namespace, name):
        """The object as a dict, or None when it does not exist."""
        try:
            return self.json("GET", self.path(kind, namespace, name))
        except KubeError as err:
            if err.not_found:
                return None
            raise

    def list(self, kind, namespace, label_selector=None):
        query = {"labelSelector": label_selector} if label_selector else None
        return self.json("GET", self.path(kind, namespace), query=query).get("items") or []

    def create(self, kind, namespace, body):
        return self.json("POST", self.path(kind, namespace), body=body)

    def replace(self, kind, namespace, body):
        """PUT; the body's metadata.resourceVersion makes it fail with 409 if stale."""
        return self.json("PUT", self.path(kind, namespace, body["metadata"]["name"]), body=body)

    def patch(self, kind, namespace, name, patch, patch_type="merge"):
        content_type = {"merge": "application/merge-patch+json",
                        "strategic": "application/strategic-merge-patch+json",
                        "json": "application/json-patch+json"}[patch_type]
        return self.json("PATCH", self.path(kind, namespace, name), body=patch, content_type=content_type)

    def upsert(self, kind, namespace, body):
        """Create the object, or replace it unconditionally when it exists."""
        current = self.get(kind, namespace, body["metadata"]["name"])
        if current is None:
            return self.create(kind, namespace, body)
        body = dict(body, metadata=dict(body["metadata"],
                                        resourceVersion=current["metadata"]["resourceVersion"]))
        return self.replace(kind, namespace, body)

    def pod_log(self, namespace, pod, tail_lines=20, previous=False):
        """The last lines of a pod's log ('' when there is none).

        ``previous`` asks for the log of the container's last terminated run:
        a container waiting in CrashLoopBackOff has no current log on a real kubelet.
        """
        query = {"tailLines": tail_lines}
        if previous:
            query["previous"] = "true"
        try:
            return self.request("GET", self.path("pods", namespace, pod, "log"),
                                query=query, accept="text/plain")[1].decode("utf-8", "replace")
        except KubeError:
            return ""

    def service_proxy(self, namespace, service, port, path, method="GET", body=None, headers=None,
                      timeout=30):
        """Call a Service through the API server's proxy: needs nothing but kube credentials.

        Returns (status, body bytes, seconds); HTTP errors of the service are
        returned, not raised, so callers can tell a 401 from LiteLLM apart from
        an unreachable service.
        """
        target = "/api/v1/namespaces/%s/services/%s:%s/proxy/%s" % (
            quote(namespace, safe=""), quote(service, safe=""), port, path.lstrip("/"))
        header_params = {"Accept": "application/json"}
        header_params.update(headers or {})
        if body is not None:
            header_params["Content-Type"] = "application/json"
        serialized = self._api.param_serialize(method, target, header_params=header_params, body=body,
                                               auth_settings=["BearerToken"])
        self.requests += 1
        started = time.monotonic()
        try:
            response = self._api.call_api(*serialized, _request_timeout=timeout)
            data = response.read()
            status = response.status
        except ApiException as exc:
            status, data = exc.status, (exc.body or "").encode() if isinstance(exc.body, str) else exc.body or b""
        return status, data, time.monotonic() - started
