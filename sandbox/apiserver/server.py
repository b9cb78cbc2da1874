"""The HTTP side: authentication, URL dispatch and the verbs on top of the Store."""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path
from typing import Callable

import yaml
from aiohttp import web

from ..store import ApiError, Store, Watcher
from . import managedfields, reviews, subresources
from .admission import service_account_refusal
from .authn import USER_KEY, Authenticator, UserInfo, impersonated_user, impersonation_requests
from .authz import (
    Attributes,
    RBACAuthorizer,
    check_escalation,
    ensure_bootstrap_policy,
    forbidden,
    go_quote,
    is_watch,
    request_attributes,
)
from .bodies import APPLY_PATCH, check_body, dry_run, read_json
from .decoding import DecodeError, decode_error_message
from .discovery import SERVER_VERSION, discovery_groups, discovery_resource_list, openapi_v3_document, openapi_v3_root
from .errors import bad_request, method_not_allowed, not_served
from .faults import Faults
from .patches import apply_patch, strategic_merge
from .resources import GROUP_VERSIONS, RESOURCES, ResourceType
from .responses import error_response, json_response, object_response, status_success
from .routes import ApiRoute, current_object, parse_route
from .selectors import object_predicate
from .subresources import Hooks
from .tables import to_table, wants_table
from .validation import prepare, reset_status_on_create
from .watch import serve_watch

log = logging.getLogger("sandbox.apiserver")

# Secrets and ConfigMaps may hold up to 1 MiB; leave room for the envelope.
MAX_BODY = 3 * 1024 * 1024
UNAUTHENTICATED_PATHS = frozenset({"/healthz", "/readyz", "/livez"})
Admit = Callable[[dict], None]


class ApiServer:
    """The request handlers; one instance per aiohttp application."""

    def __init__(self, store: Store, token: str, hooks: Hooks | None, faults_file: Path | None = None) -> None:
        self.store = store
        self.hooks = hooks
        self.faults = Faults(faults_file)
        # The cluster's token controller signs Secret tokens with a key the server verifies them with.
        self.authenticator = Authenticator(store, token, getattr(hooks, "service_account_key", None))
        self.authorizer = RBACAuthorizer(store)
        self.request_counts: Counter[str] = Counter()
        self._watchers: list[Watcher] = []

    # -- plumbing ----------------------------------------------------------
    @web.middleware
    async def middleware(self, request: web.Request, handler) -> web.StreamResponse:
        """Authenticate, authorize, then turn every failure into a Kubernetes Status response."""
        try:
            if request.path not in UNAUTHENTICATED_PATHS:
                request[USER_KEY] = self._identify(request)
            return await handler(request)
        except ApiError as err:
            return error_response(err)
        except web.HTTPException as err:
            # aiohttp's own errors (unknown route, body too large) in Status form.
            reason = "NotFound" if err.status == 404 else err.reason.replace(" ", "")
            return error_response(ApiError(err.status, reason, err.text or err.reason))
        except ConnectionResetError:
            raise
        except Exception:  # a handler bug must cost one request, not the server
            log.exception("%s %s failed", request.method, request.path_qs)
            return error_response(
                ApiError(
                    500,
                    "InternalError",
                    "an error on the server has prevented the request from succeeding (see the sandbox log)",
                )
            )

    def _identify(self, request: web.Request) -> UserInfo:
        """Who the request acts as, if it may do what it asks: 401 or 403 otherwise.

        Like kube-apiserver, authentication, impersonation and authorization all
        come before routing: a denied request is 403 even for a URL that is 404.
        """
        user = self.authenticator.authenticate(request)
        if user is None:
            raise ApiError(401, "Unauthorized", "Unauthorized")
        user = self._impersonate(request, user)
        attrs = request_attributes(user, request.method, request.path, request.query)
        allowed, reason = self.authorizer.authorize(attrs)
        if not allowed:
            raise forbidden(attrs, reason)
        return user

    def _impersonate(self, request: web.Request, user: UserInfo) -> UserInfo:
        """The user a request acts as: its sender, or whom Impersonate-* headers name if RBAC allows."""
        try:
            wanted = impersonation_requests(request)
        except ValueError as err:
            raise ApiError(500, "InternalError", f"Internal error occurred: {err}") from None
        if not wanted:
            return user
        for item in wanted:
            attrs = Attributes(
                user,
                "impersonate",
                True,
                api_group=item.group,
                namespace=item.namespace,
                resource=item.resource,
                subresource=item.subresource,
                name=item.name,
            )
            allowed, reason = self.authorizer.authorize(attrs)
            if not allowed:
                raise forbidden(attrs, reason)
        return impersonated_user(wanted, groups_given=bool(request.headers.getall("Impersonate-Group", [])))

    def _count(self, verb: str) -> None:
        self.request_counts[verb] += 1

    async def on_shutdown(self, _app: web.Application) -> None:
        """End open watches and held requests so the server stops without waiting for them."""
        self.faults.release()
        for watcher in list(self._watchers):
            watcher.queue.put_nowait(None)

    # -- small endpoints ----------------------------------------------------
    async def health(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def version(self, _request: web.Request) -> web.Response:
        self._count("discovery")
        return json_response(SERVER_VERSION)

    async def metrics(self, _request: web.Request) -> web.Response:
        """Request counts per verb, for benchmarks."""
        return json_response(
            {
                "requests": dict(self.request_counts),
                "total": sum(self.request_counts.values()),
                "resourceVersion": str(self.store.resource_version),
                "watches": len(self._watchers),
                "faults_applied": self.faults.applied(),
            }
        )

    async def openapi_v3(self, request: web.Request) -> web.Response:
        self._count("discovery")
        tail = request.match_info.get("tail", "")
        if not tail:
            return json_response(openapi_v3_root())
        parts = tail.split("/")
        if parts[0] == "api" and len(parts) == 2:
            group, version = "", parts[1]
        elif parts[0] == "apis" and len(parts) == 3:
            group, version = parts[1], parts[2]
        else:
            raise not_served()
        if (group, version) not in GROUP_VERSIONS:
            raise not_served()
        return json_response(openapi_v3_document(group, version))

    # -- resource URLs ------------------------------------------------------
    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        """Entry point for everything under /api and /apis."""
        segments = request.path.strip("/").split("/")
        if segments[0] == "api":
            if len(segments) == 1:
                return self._discovery(
                    {
                        "kind": "APIVersions",
                        "versions": ["v1"],
                        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": request.host}],
                    }
                )
            group, version, rest = "", segments[1], segments[2:]
        else:
            if len(segments) == 1:
                return self._discovery({"kind": "APIGroupList", "apiVersion": "v1", "groups": discovery_groups()})
            if len(segments) == 2:
                found = [g for g in discovery_groups() if g["name"] == segments[1]]
                if not found:
                    raise not_served()
                return self._discovery({"kind": "APIGroup", "apiVersion": "v1", **found[0]})
            group, version, rest = segments[1], segments[2], segments[3:]
        if (group, version) not in GROUP_VERSIONS:
            raise not_served()
        if not rest:
            return self._discovery(discovery_resource_list(group, version))
        return await self._handle(request, parse_route(group, version, rest))

    def _discovery(self, body: dict) -> web.Response:
        self._count("discovery")
        return json_response(body)

    async def _handle(self, request: web.Request, route: ApiRoute) -> web.StreamResponse:
        """A resource request, unless api-faults.json has it fail or be held (faults.py)."""
        return await self.faults.handle(request, route, lambda: self._serve(request, route))

    async def _serve(self, request: web.Request, route: ApiRoute) -> web.StreamResponse:
        method = request.method
        if route.subresource == "token":
            self._count("create")
            return await reviews.token_request(request, route, self.store, self.authenticator)
        if not route.rtype.stored:
            return await self._review(request, route)
        if route.subresource == "proxy":
            self._count("proxy")
            return await subresources.service_proxy(request, route, self.store, self.hooks)
        if route.subresource == "log":
            self._only(method, "GET")
            self._count("get")
            return subresources.pod_log(request, route, self.store, self.hooks)
        if route.subresource == "scale":
            self._only(method, "GET", "PUT", "PATCH")
            return await subresources.scale(request, route, self.store, self._count)
        if route.name is None:
            if method == "GET":
                if is_watch(request.query):
                    self._count("watch")
                    return await serve_watch(request, route, self.store, self._watchers)
                return await self._list(request, route)
            if route.rtype.namespaced and route.namespace is None:
                raise method_not_allowed(method)
            if method == "POST":
                return await self._create(request, route)
            if method == "DELETE":
                return await self._delete_collection(request, route)
            raise method_not_allowed(method)
        handlers = {"GET": self._get, "PUT": self._replace, "PATCH": self._patch, "DELETE": self._delete}
        if method not in handlers or (route.subresource and method == "DELETE"):
            raise method_not_allowed(method)
        return await handlers[method](request, route)

    async def _review(self, request: web.Request, route: ApiRoute) -> web.Response:
        """The create-only reviews: evaluated for the caller, answered, never stored."""
        if route.name is not None:
            raise not_served()
        self._count("create")
        user: UserInfo = request[USER_KEY]
        if route.rtype.plural == "selfsubjectaccessreviews":
            return await reviews.self_subject_access_review(request, route, user, self.authorizer)
        if route.rtype.plural == "selfsubjectrulesreviews":
            return await reviews.self_subject_rules_review(request, route, user, self.authorizer)
        return await reviews.self_subject_review(request, route, user)

    def _admission(self, request: web.Request, route: ApiRoute, current: dict | None) -> Admit:
        """What a write must pass beyond validation: RBAC's escalation check, the ServiceAccount plugin."""

        def admit(obj: dict) -> None:
            check_escalation(
                self.authorizer, request[USER_KEY], route.rtype.plural, route.store_namespace, obj, current
            )
            if route.rtype.plural == "pods" and current is None:
                refusal = service_account_refusal(self.store, route.store_namespace, obj)
                if refusal is not None:
                    raise refusal

        return admit

    @staticmethod
    def _only(method: str, *allowed: str) -> None:
        if method not in allowed:
            raise method_not_allowed(method)

    # -- verbs ----------------------------------------------------------------------
    async def _list(self, request: web.Request, route: ApiRoute) -> web.Response:
        self._count("list")
        rtype = route.rtype
        items = [
            rtype.present(obj)
            for obj in self.store.list(rtype.plural, route.namespace, object_predicate(request.query))
        ]
        resource_version = str(self.store.resource_version)
        # The server may ignore "limit" and return everything in one page
        # (documented API behaviour); clients then see no "continue" token.
        if wants_table(request):
            return json_response(
                to_table(rtype, items, request.query.get("includeObject", "Metadata"), resource_version)
            )
        return json_response(
            {
                "kind": f"{rtype.kind}List",
                "apiVersion": rtype.api_version,
                "metadata": {"resourceVersion": resource_version},
                "items": items,
            }
        )

    async def _get(self, request: web.Request, route: ApiRoute) -> web.Response:
        self._count("get")
        return object_response(request, route.rtype, current_object(self.store, route))

    async def _create(self, request: web.Request, route: ApiRoute) -> web.Response:
        self._count("create")
        managedfields.check_options(request.query, "CreateOptions")
        body = check_body(route, await read_json(request), name_required=False)
        reset_status_on_create(route.rtype, body)
        _prepare_body(route.rtype, body, None, self._admission(request, route, None))
        _record_update(request, route, None, body)
        created = self.store.create(route.rtype.plural, route.store_namespace, body, dry_run=dry_run(request))
        return object_response(request, route.rtype, created, 201)

    async def _replace(self, request: web.Request, route: ApiRoute) -> web.Response:
        self._count("update")
        managedfields.check_options(request.query, "UpdateOptions")
        body = check_body(route, await read_json(request), name_required=True)
        current = current_object(self.store, route)
        if route.subresource == "status":
            return self._write_status(request, route, body)
        _prepare_body(route.rtype, body, current, self._admission(request, route, current))
        _record_update(request, route, current, body)
        updated = self.store.update(route.rtype.plural, route.store_namespace, body, dry_run=dry_run(request))
        return object_response(request, route.rtype, updated)

    def _write_status(self, request: web.Request, route: ApiRoute, obj: dict) -> web.Response:
        updated = self.store.update(
            route.rtype.plural, route.store_namespace, obj, subresource="status", dry_run=dry_run(request)
        )
        return object_response(request, route.rtype, updated)

    async def _patch(self, request: web.Request, route: ApiRoute) -> web.Response:
        self._count("patch")
        content_type = request.content_type
        managedfields.check_options(request.query, "PatchOptions", apply=content_type == APPLY_PATCH)
        if content_type == APPLY_PATCH:
            if route.subresource:
                raise bad_request("server-side apply is only served on the main resource here")
            return await self._server_side_apply(request, route)
        current = current_object(self.store, route)
        patched = apply_patch(content_type, current, await read_json(request))
        patched = check_body(route, patched, name_required=True)
        if route.subresource == "status":
            return self._write_status(request, route, patched)
        _prepare_patched(route.rtype, patched, current, self._admission(request, route, current))
        _record_update(request, route, current, patched)
        updated = self.store.update(route.rtype.plural, route.store_namespace, patched, dry_run=dry_run(request))
        return object_response(request, route.rtype, updated)

    async def _server_side_apply(self, request: web.Request, route: ApiRoute) -> web.Response:
        """Server-side apply: create the object, or merge the applied fields into it.

        The applied configuration merges with strategic-merge list keys; field
        ownership, conflicts, ``force`` and the removal of fields the manager
        stopped applying are managedfields.py's.
        """
        raw = await request.read()
        try:
            applied = yaml.safe_load(raw)
        except yaml.YAMLError as err:
            raise bad_request(f"the request body is not valid YAML: {err}") from None
        if not isinstance(applied, dict) or not applied.get("kind") or not applied.get("apiVersion"):
            raise bad_request("an applied configuration needs apiVersion and kind")
        applied = check_body(route, applied, name_required=True)
        if applied["metadata"].get("managedFields") is not None:
            raise bad_request("metadata.managedFields must be nil")  # fieldmanager/structuredmerge.go
        rtype, is_dry_run = route.rtype, dry_run(request)
        # strconv.ParseBool's true values, as the query decoder reads ``force``
        manager, force = (
            request.query["fieldManager"],
            request.query.get("force") in ("1", "t", "T", "TRUE", "true", "True"),
        )
        current = self.store.get(rtype.plural, route.store_namespace, route.name)
        if current is None:
            reset_status_on_create(rtype, applied)
            created = managedfields.server_side_apply(
                rtype.plural, None, applied, applied, manager, rtype.api_version, force
            )
            _prepare_body(rtype, created, None, self._admission(request, route, None))
            created = self.store.create(rtype.plural, route.store_namespace, created, dry_run=is_dry_run)
            return object_response(request, rtype, created, 201)
        merged = managedfields.server_side_apply(
            rtype.plural, current, applied, strategic_merge(current, applied) or {}, manager, rtype.api_version, force
        )
        _prepare_body(rtype, merged, current, self._admission(request, route, current))
        managedfields.keep_times_of_a_no_op(current, merged)
        updated = self.store.update(rtype.plural, route.store_namespace, merged, dry_run=is_dry_run)
        return object_response(request, rtype, updated)

    async def _delete(self, request: web.Request, route: ApiRoute) -> web.Response:
        self._count("delete")
        current_object(self.store, route)  # a NotFound naming the group, as the real server words it
        is_dry_run, orphan = await self._delete_options(request)
        obj = self._delete_object(route.rtype, route.store_namespace, route.name, dry_run=is_dry_run, orphan=orphan)
        return json_response(status_success(route.rtype, obj))

    async def _delete_collection(self, request: web.Request, route: ApiRoute) -> web.Response:
        self._count("deletecollection")
        is_dry_run, orphan = await self._delete_options(request)
        rtype = route.rtype
        deleted = [
            rtype.present(
                self._delete_object(
                    rtype, route.store_namespace, obj["metadata"]["name"], dry_run=is_dry_run, orphan=orphan
                )
            )
            for obj in self.store.list(rtype.plural, route.namespace, object_predicate(request.query))
        ]
        return json_response(
            {
                "kind": f"{rtype.kind}List",
                "apiVersion": rtype.api_version,
                "metadata": {"resourceVersion": str(self.store.resource_version)},
                "items": deleted,
            }
        )

    @staticmethod
    async def _delete_options(request: web.Request) -> tuple[bool, bool]:
        """(dry run, orphan dependents) from DeleteOptions.

        They come in the body (kubectl) or in the query (the Python client).
        """
        raw = await request.read()
        try:
            options = json.loads(raw) if raw.strip() else {}
        except ValueError as err:
            raise bad_request(f"DeleteOptions are not valid JSON: {err}") from None
        if not isinstance(options, dict):
            raise bad_request("DeleteOptions must be a JSON object")
        policy = request.query.get("propagationPolicy", options.get("propagationPolicy"))
        orphan = policy == "Orphan" or (policy is None and options.get("orphanDependents") is True)
        return dry_run(request) or "All" in (options.get("dryRun") or []), orphan

    def _delete_object(self, rtype: ResourceType, namespace: str, name: str, *, dry_run: bool, orphan: bool) -> dict:
        """Delete, then collect the garbage: dependents go (or are orphaned) with their owner.

        The real garbage collector works asynchronously from ownerReferences; doing it
        right here is the background propagation policy without the delay.
        """
        deleted = self.store.delete(rtype.plural, namespace, name, dry_run=dry_run)
        if dry_run or not namespace:
            return deleted
        uid = deleted["metadata"].get("uid")
        for dependent_type in RESOURCES:
            if not dependent_type.namespaced or not dependent_type.stored:
                continue
            for dependent in self.store.list(dependent_type.plural, namespace, lambda o: _owned_by_uid(o, uid)):
                dep_name = dependent["metadata"]["name"]
                if orphan:
                    dependent["metadata"]["ownerReferences"] = [
                        ref for ref in dependent["metadata"]["ownerReferences"] if ref.get("uid") != uid
                    ]
                    self.store.update(dependent_type.plural, namespace, dependent)
                elif self.store.get(dependent_type.plural, namespace, dep_name) is not None:
                    self._delete_object(dependent_type, namespace, dep_name, dry_run=False, orphan=False)
        return deleted


def _prepare_body(rtype: ResourceType, obj: dict, current: dict | None, admit: Admit) -> None:
    """prepare() for an object sent whole: what does not decode is a 400."""
    try:
        prepare(rtype, obj, current, admit)
    except DecodeError as err:
        raise bad_request(decode_error_message(rtype, err)) from None


def _prepare_patched(rtype: ResourceType, obj: dict, current: dict | None, admit: Admit) -> None:
    """prepare() for the result of a patch: what does not decode is a 422 on "patch".

    As the real patch handler words it (an Invalid with an empty kind and name).
    """
    try:
        prepare(rtype, obj, current, admit)
    except DecodeError as err:
        shown = go_quote(json.dumps(obj, separators=(",", ":")))
        message = f"Invalid value: {shown}: {err}"
        raise ApiError(
            422,
            "Invalid",
            f' "" is invalid: patch: {message}',
            {"causes": [{"reason": "FieldValueInvalid", "message": message, "field": "patch"}]},
        ) from None


def _record_update(request: web.Request, route: ApiRoute, current: dict | None, new: dict) -> None:
    """managedFields of a create, update or non-apply patch of the main resource."""
    manager = managedfields.manager_of(request.query, request.headers.get("User-Agent", ""))
    managedfields.record_update(route.rtype.plural, current, new, manager, route.rtype.api_version)
    if current is not None:
        managedfields.keep_times_of_a_no_op(current, new)


def _owned_by_uid(obj: dict, uid: str | None) -> bool:
    return any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or [])


# The ApiServer behind an app (its request_counts), for in-process callers.
API_SERVER = web.AppKey("api_server", ApiServer)


def build_app(store: Store, token: str, hooks: Hooks | None = None, faults_file: Path | None = None) -> web.Application:
    """The aiohttp application of the API server; ``hooks=None`` serves no proxy and no logs,
    ``faults_file=None`` injects no faults."""
    ensure_bootstrap_policy(store)
    server = ApiServer(store, token, hooks, faults_file)
    app = web.Application(middlewares=[server.middleware], client_max_size=MAX_BODY)
    app[API_SERVER] = server
    for path in sorted(UNAUTHENTICATED_PATHS):
        app.router.add_get(path, server.health)
    app.router.add_get("/version", server.version)
    app.router.add_get("/sandbox/metrics", server.metrics)
    app.router.add_get("/openapi/v3", server.openapi_v3)
    app.router.add_get("/openapi/v3/{tail:.+}", server.openapi_v3)
    for prefix in ("/api", "/apis"):
        app.router.add_route("*", prefix, server.dispatch)
        app.router.add_route("*", prefix + "/{tail:.*}", server.dispatch)
    app.on_shutdown.append(server.on_shutdown)
    return app
