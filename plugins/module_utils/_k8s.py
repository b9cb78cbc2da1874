# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: the one thin Kubernetes access layer.

Authentication is kubernetes.core's own (``AUTH_ARG_SPEC`` and its client
factory), so ``kubeconfig``, ``context``, ``host``, ``api_key``,
``validate_certs`` and the ``K8S_AUTH_*`` environment variables behave exactly
as in kubernetes.core modules. Requests go to fixed REST paths with plain JSON
bodies: the modules need five resource types and no discovery, so only the
authenticated ``ApiClient`` is built, not kubernetes.core's DynamicClient (whose
discoverer reads a discovery cache file, and on first contact with a cluster
fetches ``/version``, ``/api`` and ``/apis`` to fill it).
"""

from __future__ import annotations

import json
import threading
import time
import traceback
from urllib.parse import quote, urlencode

from ansible_collections.homelab.litellm.plugins.module_utils import _connection

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s import client as _core_client
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client

    HAS_KUBERNETES_CORE = True
    KUBERNETES_CORE_IMPORT_ERROR = None
except ImportError:
    AUTH_ARG_SPEC = {}
    HAS_KUBERNETES_CORE = False
    KUBERNETES_CORE_IMPORT_ERROR = traceback.format_exc()

try:
    import kubernetes
    from kubernetes.client.exceptions import ApiException

    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError:
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()

    class ApiException(Exception):
        """Stand-in so that ``except ApiException`` still parses without the library."""


try:
    import urllib3

    # What the client raises when the API server does not answer: refused, TLS, timed out (never re-sent).
    CONNECTION_ERRORS = (urllib3.exceptions.HTTPError,)
except ImportError:
    CONNECTION_ERRORS = ()


def run_with_kube(module, run, expected=()):
    """The common end of a module: connect, ``run(module, kube)``, report.

    ``run`` returns the result dict, or ``(result, warnings)``. A Kubernetes API error fails the
    module with the server's status and message; an exception of ``expected`` (a refusal the module
    explains itself) fails it with its own message and the ``result`` dict it may carry.
    """
    check_libraries(module)
    kube = Kube.from_module(module)
    try:
        outcome = run(module, kube)
    except KubeError as err:
        if err.status == 401:
            fail_connection(module, kube, err)
        module.fail_json(
            msg="Kubernetes API error %s %s: %s" % (err.status, err.reason, err.message),
            exception=traceback.format_exc(),
        )
    except CONNECTION_ERRORS as err:
        fail_connection(module, kube, err)
    except (ConflictError,) + tuple(expected) as err:
        module.fail_json(msg=str(err), **dict(getattr(err, "result", None) or {}))
    result, warnings = outcome if isinstance(outcome, tuple) else (outcome, ())
    for warning in warnings:
        module.warn(warning)
    module.exit_json(**result)


def fail_connection(module, kube, err):
    """Fail the module for an API server that did not answer, or refused the credentials (401)."""
    server = getattr(kube.configuration, "host", None)
    if isinstance(err, KubeError):
        msg = _connection.unauthorized_message(kube.target, server, "%s %s" % (err.status, err.message), kube.writes)
    else:
        msg = _connection.unreachable_message(kube.target, server, "%s: %s" % (type(err).__name__, err), kube.writes)
    module.fail_json(msg=msg, exception=traceback.format_exc())


API_GROUP_PATHS = {
    "deployments": "/apis/apps/v1",
    "replicasets": "/apis/apps/v1",
    "leases": "/apis/coordination.k8s.io/v1",
    "horizontalpodautoscalers": "/apis/autoscaling/v2",
}
"""Where each namespaced resource the modules use is served; the rest is core (/api/v1)."""

SELF_SUBJECT_ACCESS_REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"

MAX_CONFLICT_RETRIES = 5

FIELD_MANAGER = "homelab.litellm"
"""The field manager of every object write (the ``fieldManager`` query parameter): the API server
records the fields a write sets under it in ``metadata.managedFields``, and a GitOps controller's
server-side apply over one of them answers 409 naming it. Without it the API server would name the
client's User-Agent up to its first '/' (``OpenAPI-Generator`` for the kubernetes Python client)."""


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


class ConflictError(Exception):
    """Every write attempt of ``guarded_update`` met a concurrent writer."""

    def __init__(self, kind, namespace, name, attempts):
        super().__init__(
            "%s %s/%s kept changing under us (%d conflicts in a row); nothing was written. Retry "
            "when no other tool is writing it." % (kind, namespace, name, attempts)
        )


def k8s_auth_argument_spec():
    """kubernetes.core's authentication options, to merge into a module's argspec."""
    return {name: dict(spec) for name, spec in AUTH_ARG_SPEC.items()}


def check_libraries(module):
    """Fail the module clearly when a client library is missing on the target."""
    from ansible.module_utils.basic import missing_required_lib

    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    if not HAS_KUBERNETES_CORE:
        module.fail_json(
            msg=missing_required_lib("the kubernetes.core collection (>=6.0.0)"), exception=KUBERNETES_CORE_IMPORT_ERROR
        )


def api_client(**auth):
    """kubernetes.core's authenticated ApiClient for the auth options, without its DynamicClient.

    kubernetes.core's own functions turn the options (and the K8S_AUTH_* environment)
    into the configuration and headers, exactly as its ``get_api_client`` does; only
    the DynamicClient around the ApiClient, and with it every discovery request and the
    discovery cache file, is left out. When those functions are missing (another
    kubernetes.core version), ``get_api_client`` itself is used.
    """
    helpers = [
        getattr(_core_client, name, None)
        for name in ("_create_auth_spec", "_create_configuration", "_create_headers", "_set_header")
    ]
    if not all(helpers):
        return get_api_client(**auth).client.client
    create_auth_spec, create_configuration, create_headers, set_header = helpers
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException

    auth_spec = create_auth_spec(None, **auth)
    requires = getattr(_core_client, "_requires", None)
    if requires and isinstance(auth_spec.get("kubeconfig"), dict):
        requires("kubernetes", "17.17.0", "to use in-memory config")
    if requires and auth_spec.get("no_proxy"):
        requires("kubernetes", "19.15.0", "to use the no_proxy feature")
    try:
        configuration = create_configuration(auth_spec)
        headers = create_headers(None, **auth)
    except kubernetes.config.ConfigException as exc:
        raise CoreException(f"Could not create API client: {exc}") from exc
    # urllib3 would re-send a request that timed out (three more times): a PUT that did reach etcd
    # then comes back as a 409 nobody sees, and the run cannot tell what it wrote. Never re-send.
    configuration.retries = False
    client = kubernetes.client.ApiClient(configuration)
    for header, value in headers.items():
        set_header(client, header, value)
    return client


def _watch_events(raw):
    """The JSON-lines events of a watch response (urllib3), each as soon as its line is complete."""
    pending = b""
    for chunk in raw.stream(amt=None, decode_content=False):
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            if line.strip():
                yield json.loads(line)
    if pending.strip():
        yield json.loads(pending)


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

    def __init__(self, api_client, target=None):
        self._api = api_client
        self.requests = 0
        self.writes = 0
        self.target = target or _connection.target_of({})

    @classmethod
    def from_module(cls, module):
        # get_api_client(module=...) wants kubernetes.core's own module class
        # (.requires, .server_side_dry_run); the auth options as keywords work the
        # same way, environment fallbacks included.
        auth = {name: module.params.get(name) for name in AUTH_ARG_SPEC}
        # kubernetes.core marks kubeconfig no_log (it may be a dict holding a token), so Ansible would
        # print a kubeconfig path as ******** in every message; a path is no secret (a dict stays masked).
        if isinstance(auth.get("kubeconfig"), str):
            module.no_log_values.discard(auth["kubeconfig"])
        target = _connection.target_of(auth)
        try:
            return cls(api_client(**auth), target)
        except Exception as exc:  # a missing kubeconfig, an unknown context, a file that is no kubeconfig
            module.fail_json(msg=_connection.config_error_message(target, exc), exception=traceback.format_exc())

    @property
    def configuration(self):
        """The client configuration (server URL, CA file, TLS verification) these credentials use."""
        return self._api.configuration

    def list_with_version(self, kind, namespace, label_selector=None):
        """(items, the list's resourceVersion): a watch started from that version misses nothing."""
        query = {"labelSelector": label_selector} if label_selector else None
        listed = self.json("GET", self.path(kind, namespace), query=query) or {}
        return listed.get("items") or [], (listed.get("metadata") or {}).get("resourceVersion")

    def watch(
        self, kind, namespace, resource_version=None, label_selector=None, field_selector=None, timeout_seconds=300
    ):
        """Open a watch; return an iterator over its events (``{"type", "object"}`` dicts) as they come.

        The iterator ends when the server ends the watch (after ``timeout_seconds``).
        Raises KubeError when the watch is refused.
        """
        query = {"watch": "true", "timeoutSeconds": int(max(timeout_seconds, 1))}
        if resource_version:
            query["resourceVersion"] = resource_version
        if label_selector:
            query["labelSelector"] = label_selector
        if field_selector:
            query["fieldSelector"] = field_selector
        path = "%s?%s" % (self.path(kind, namespace), urlencode(query))
        serialized = self._api.param_serialize(
            "GET", path, header_params={"Accept": "application/json"}, auth_settings=["BearerToken"]
        )
        self.requests += 1
        try:
            response = self._api.call_api(*serialized, _request_timeout=(30, query["timeoutSeconds"] + 30))
        except ApiException as exc:
            raise _error_from(exc)
        if not 200 <= response.status <= 299:
            raise _error_from(
                ApiException(
                    status=response.status, reason=response.reason, body=response.read().decode("utf-8", "replace")
                )
            )
        return _watch_events(response.response)

    def request(
        self,
        method,
        path,
        body=None,
        query=None,
        content_type="application/json",
        accept="application/json",
        timeout=30,
    ):
        """Send one request; return (status, raw bytes). Raises KubeError on non-2xx."""
        if query:
            path = "%s?%s" % (path, urlencode(query))
        headers = {"Accept": accept}
        if body is not None:
            headers["Content-Type"] = content_type
        serialized = self._api.param_serialize(
            method, path, header_params=headers, body=body, auth_settings=["BearerToken"]
        )
        self.requests += 1
        if method != "GET" and path != SELF_SUBJECT_ACCESS_REVIEWS:
            self.writes += 1
        try:
            response = self._api.call_api(*serialized, _request_timeout=timeout)
            data = response.read()
        except ApiException as exc:
            raise _error_from(exc)
        if not 200 <= response.status <= 299:
            raise _error_from(
                ApiException(status=response.status, reason=response.reason, body=data.decode("utf-8", "replace"))
            )
        return response.status, data

    def json(self, method, path, body=None, **kwargs):
        return json.loads(self.request(method, path, body=body, **kwargs)[1] or b"null")

    # -- typed helpers -------------------------------------------------------
    @staticmethod
    def path(kind, namespace, name=None, subresource=None):
        group = API_GROUP_PATHS.get(kind, "/api/v1")
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
        return self.json("POST", self.path(kind, namespace), body=body, query={"fieldManager": FIELD_MANAGER})

    def replace(self, kind, namespace, body):
        """PUT; the body's metadata.resourceVersion makes it fail with 409 if stale."""
        return self.json(
            "PUT",
            self.path(kind, namespace, body["metadata"]["name"]),
            body=body,
            query={"fieldManager": FIELD_MANAGER},
        )

    def patch(self, kind, namespace, name, patch, patch_type="merge"):
        content_type = {
            "merge": "application/merge-patch+json",
            "strategic": "application/strategic-merge-patch+json",
            "json": "application/json-patch+json",
        }[patch_type]
        return self.json(
            "PATCH",
            self.path(kind, namespace, name),
            body=patch,
            content_type=content_type,
            query={"fieldManager": FIELD_MANAGER},
        )

    def write(self, kind, namespace, body):
        """POST a body without resourceVersion, else PUT it (409 when that version is stale)."""
        if (body.get("metadata") or {}).get("resourceVersion"):
            return self.replace(kind, namespace, body)
        return self.create(kind, namespace, body)

    def guarded_update(self, kind, namespace, name, plan, fence=None, retries=MAX_CONFLICT_RETRIES):
        """Read, plan, write with the read resourceVersion; read and plan again after a 409.

        ``plan(current)`` gets the object (None when missing) and returns ``(body, result)``:
        ``body`` None means nothing to write (nothing changes, or check mode). ``fence()``, called
        right before each write, raises when the write must not happen any more (the run lost its
        lock). Returns ``(result, object after the run)``. Raises ``ConflictError`` when every
        attempt met a concurrent writer.
        """
        for _attempt in range(retries):
            current = self.get(kind, namespace, name)
            body, result = plan(current)
            if body is None:
                return result, current
            if fence is not None:
                fence()
            try:
                return result, self.write(kind, namespace, body)
            except KubeError as err:
                if not (err.conflict or (current is None and err.status == 409)):
                    raise
        raise ConflictError(kind, namespace, name, retries)

    def can_i(self, verb, resource, namespace=None, name=None, group="", subresource=None):
        """Whether the caller may do it, per SelfSubjectAccessReview: (allowed, reason)."""
        attributes = {"verb": verb, "group": group, "resource": resource}
        for field, value in (("namespace", namespace), ("name", name), ("subresource", subresource)):
            if value:
                attributes[field] = value
        review = self.json(
            "POST",
            SELF_SUBJECT_ACCESS_REVIEWS,
            body={
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": attributes},
            },
        )
        status = review.get("status") or {}
        return bool(status.get("allowed")), status.get("reason") or ""

    def pod_log(self, namespace, pod, tail_lines=20, previous=False):
        """The last lines of a pod's log ('' when there is none).

        ``previous`` asks for the log of the container's last terminated run:
        a container waiting in CrashLoopBackOff has no current log on a real kubelet.
        """
        query = {"tailLines": tail_lines}
        if previous:
            query["previous"] = "true"
        try:
            return self.request("GET", self.path("pods", namespace, pod, "log"), query=query, accept="text/plain")[
                1
            ].decode("utf-8", "replace")
        except KubeError:
            return ""

    def service_proxy(self, namespace, service, port, path, method="GET", body=None, headers=None, timeout=30):
        """Call a Service through the API server's proxy: needs nothing but kube credentials.

        Returns (status, body bytes, seconds); HTTP errors of the service are
        returned, not raised, so callers can tell a 401 from LiteLLM apart from
        an unreachable service.
        """
        target = "/api/v1/namespaces/%s/services/%s:%s/proxy/%s" % (
            quote(namespace, safe=""),
            quote(service, safe=""),
            port,
            path.lstrip("/"),
        )
        header_params = {"Accept": "application/json"}
        header_params.update(headers or {})
        if body is not None:
            header_params["Content-Type"] = "application/json"
        serialized = self._api.param_serialize(
            method, target, header_params=header_params, body=body, auth_settings=["BearerToken"]
        )
        self.requests += 1
        started = time.monotonic()
        try:
            response = self._api.call_api(*serialized, _request_timeout=timeout)
            data = response.read()
            status = response.status
        except ApiException as exc:
            status, data = exc.status, (exc.body or "").encode() if isinstance(exc.body, str) else exc.body or b""
        return status, data, time.monotonic() - started


class Changes:
    """Wakes a polling loop as soon as something it watches changes, instead of after a fixed sleep.

    Each watch runs in a daemon thread and only raises a flag: the loop still reads
    the objects itself, so a watch that is refused (no ``watch`` permission), cut or
    buffered by a proxy costs nothing but the early wake-up, and the loop falls back
    to its own interval. ``wait`` returns the labels of the watches that saw a change.
    """

    COALESCE_SECONDS = 0.05  # events come in bursts (pod, ReplicaSet, Deployment status)
    MAX_FAILURES = 3

    def __init__(self, kube):
        self._kube = kube
        self._lock = threading.Lock()
        self._flag = threading.Event()
        self._stopped = threading.Event()
        self._changed = set()

    def watch(self, label, kind, namespace, resource_version=None, timeout_seconds=300, **selectors):
        thread = threading.Thread(
            target=self._run,
            name="watch-" + label,
            daemon=True,
            args=(label, kind, namespace, resource_version, timeout_seconds, selectors),
        )
        thread.start()

    def _note(self, label):
        with self._lock:
            self._changed.add(label)
            self._flag.set()

    def _run(self, label, kind, namespace, resource_version, timeout_seconds, selectors):
        failures = 0
        while not self._stopped.is_set() and failures < self.MAX_FAILURES:
            opened = time.monotonic()
            seen = 0
            try:
                for event in self._kube.watch(
                    kind, namespace, resource_version=resource_version, timeout_seconds=timeout_seconds, **selectors
                ):
                    if self._stopped.is_set():
                        return
                    seen += 1
                    if event.get("type") == "ERROR":  # e.g. 410 Gone: start again from now
                        resource_version = None
                        self._note(label)
                        break
                    metadata = (event.get("object") or {}).get("metadata") or {}
                    resource_version = metadata.get("resourceVersion") or resource_version
                    if event.get("type") != "BOOKMARK":
                        self._note(label)
            except Exception:
                # e.g. 410 Gone as a status: start again from now (a fresh watch's ADDED
                # events only wake the loop once more, which reads the state itself).
                seen = 0
                resource_version = None
            # A watch that ends at once with nothing in it is as good as refused.
            failures = failures + 1 if not seen and time.monotonic() - opened < 1.0 else 0
            if not self._stopped.is_set():
                self._stopped.wait(0.2)

    def wait(self, timeout):
        """Until a watched object changed, or ``timeout`` seconds; the labels that changed."""
        if self._flag.wait(max(timeout, 0)):
            time.sleep(self.COALESCE_SECONDS)
        with self._lock:
            changed, self._changed = self._changed, set()
            self._flag.clear()
        return changed

    def stop(self):
        """No more wake-ups; the threads end with their watch (or with the process)."""
        self._stopped.set()
