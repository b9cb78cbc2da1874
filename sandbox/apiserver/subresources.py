"""The subresources with handlers of their own: scale, pod logs and the service proxy.

(``status`` is an ordinary update of another part of the object; the verbs
handle it.) Logs and the proxy delegate to :class:`Hooks`, implemented by the
cluster's kubelet and service endpoints.
"""

from __future__ import annotations

import copy
from typing import Callable, Protocol

from aiohttp import web

from ..store import ApiError, Store, not_found
from .bodies import dry_run, read_json
from .errors import bad_request
from .managedfields import check_options, manager_of, record_update
from .patches import apply_patch
from .responses import json_response
from .routes import ApiRoute, current_object
from .selectors import selector_string
from .validation import Invalid


class Hooks(Protocol):
    """What the API server asks of the cluster for proxied and log requests."""

    async def service_proxy(
        self, request: web.Request, namespace: str, service: str, port: str, path: str
    ) -> web.StreamResponse:
        """Answer a request to ``services/{service}[:{port}]/proxy/{path}``.

        ``port`` is the port part of the URL as given (a number, a port name or
        ""), ``path`` the rest of the URL after ``proxy/`` without a leading
        slash; the query string is still on ``request``.
        """

    def pod_log(self, namespace: str, pod: str, container: str | None, tail_lines: int | None) -> str | None:
        """The log text of a pod's container, or None when there is none."""


async def scale(request: web.Request, route: ApiRoute, store: Store, count: Callable[[str], None]) -> web.Response:
    """autoscaling/v1 Scale view of spec.replicas (kubectl scale patches it)."""
    current = current_object(store, route)
    if request.method == "GET":
        count("get")
        return json_response(to_scale(current))
    count("update" if request.method == "PUT" else "patch")
    check_options(request.query, "UpdateOptions" if request.method == "PUT" else "PatchOptions")
    body = await read_json(request)
    new_scale = body if request.method == "PUT" else apply_patch(request.content_type, to_scale(current), body)
    if not isinstance(new_scale, dict):
        raise bad_request("a Scale must be a JSON object")
    replicas = (new_scale.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        errors = Invalid(route.rtype, route.name)
        errors.invalid("spec.replicas", replicas, "must be greater than or equal to 0")
        errors.raise_if_any()
    sent_rv = (new_scale.get("metadata") or {}).get("resourceVersion")
    if request.method == "PUT" and sent_rv:
        current["metadata"]["resourceVersion"] = sent_rv
    live = copy.deepcopy(current)
    current.setdefault("spec", {})["replicas"] = replicas
    # The write is recorded on the parent, as an Update of subresource "scale" owning .spec.replicas.
    manager = manager_of(request.query, request.headers.get("User-Agent", ""))
    record_update(route.rtype.plural, live, current, manager, route.rtype.api_version, "scale")
    updated = store.update(route.rtype.plural, route.store_namespace, current, dry_run=dry_run(request))
    return json_response(to_scale(updated))


def to_scale(obj: dict) -> dict:
    meta = obj["metadata"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in meta
        },
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
        "status": {
            "replicas": (obj.get("status") or {}).get("replicas", 0),
            "selector": selector_string((obj.get("spec") or {}).get("selector") or {}),
        },
    }


def pod_log(request: web.Request, route: ApiRoute, store: Store, hooks: Hooks | None) -> web.Response:
    current_object(store, route)
    try:
        tail = int(request.query["tailLines"]) if "tailLines" in request.query else None
    except ValueError:
        raise bad_request("tailLines must be a number") from None
    text = hooks.pod_log(route.namespace, route.name, request.query.get("container"), tail) if hooks else None
    if text is None:
        raise ApiError(404, "NotFound", f'no log for pod "{route.name}" in namespace "{route.namespace}"')
    return web.Response(text=text, content_type="text/plain")


async def service_proxy(request: web.Request, route: ApiRoute, store: Store, hooks: Hooks | None) -> web.StreamResponse:
    """services/[scheme:]name[:port]/proxy/path -> the cluster's forwarder."""
    parts = (route.name or "").split(":")
    if len(parts) == 3:
        parts = parts[1:]  # "http:name:port": the scheme is always http here
    service, port = parts[0], parts[1] if len(parts) > 1 else ""
    if store.get("services", route.store_namespace, service) is None:
        raise not_found("services", service)
    if hooks is None:
        raise ApiError(503, "ServiceUnavailable", f'no endpoints available for service "{service}"')
    return await hooks.service_proxy(request, route.namespace, service, port, "/".join(route.tail))
