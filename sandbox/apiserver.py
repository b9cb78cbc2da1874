"""HTTP layer of the sandbox's Kubernetes API server emulator.

Serves the part of the Kubernetes REST API that kubectl 1.32, the kubernetes
Python client (typed APIs and DynamicClient) and kubernetes.core 6.x use, on
top of :class:`sandbox.store.Store`:

* discovery (``/api``, ``/apis``, group versions, ``/version``) and a minimal
  ``/openapi/v3`` that tells kubectl the server validates fields itself;
* GET, LIST, WATCH, POST, PUT, PATCH (JSON patch, merge patch, strategic merge
  patch, server-side apply), DELETE and DELETE collection, ``dryRun=All``;
* the ``status`` and ``scale`` subresources, pod logs and the service proxy
  (the last two delegate to :class:`Hooks`, implemented by the controller);
* defaulting and validation the way the real API server does it for the
  fields clients depend on, and server-side Table output for ``kubectl get``;
* JSON bodies, plus the protobuf bodies of ``kubectl create configmap|secret|
  namespace``.

Serve the app over HTTPS (``sandbox.tls``): kubectl never sends a
kubeconfig's bearer token to an ``http://`` server.

The store is synchronous and every handler runs on one event loop, so a
read-modify-write inside a handler is atomic without locks.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import datetime
import hashlib
import hmac
import json
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol

import yaml
from aiohttp import web

from .store import ApiError, Store, Watcher, not_found

log = logging.getLogger("sandbox.apiserver")

SERVER_VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.0-sandbox",
                  "gitCommit": "sandbox", "gitTreeState": "clean",
                  "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23",
                  "compiler": "gc", "platform": "linux/amd64"}

# The real API server ends a watch after a random 30-60 minutes so clients
# re-list now and then; one fixed value is enough here.
DEFAULT_WATCH_TIMEOUT = 1800.0
# How often a quiet watch checks whether its client went away.
WATCH_IDLE_CHECK = 2.0
# Secrets and ConfigMaps may hold up to 1 MiB; leave room for the envelope.
MAX_BODY = 3 * 1024 * 1024
UNAUTHENTICATED_PATHS = frozenset({"/healthz", "/readyz", "/livez"})

CRUD_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


def _bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


class Hooks(Protocol):
    """What the API server asks of the controller for proxied and log requests."""

    async def service_proxy(self, request: web.Request, namespace: str, service: str, port: str,
                            path: str) -> web.StreamResponse:
        """Answer a request to ``services/{service}[:{port}]/proxy/{path}``.

        ``port`` is the port part of the URL as given (a number, a port name or
        ""), ``path`` the rest of the URL after ``proxy/`` without a leading
        slash; the query string is still on ``request``.
        """

    def pod_log(self, namespace: str, pod: str, container: str | None,
                tail_lines: int | None) -> str | None:
        """The log text of a pod's container, or None when there is none."""


# -- resource registry --------------------------------------------------------

@dataclass(frozen=True)
class Subresource:
    name: str
    kind: str
    verbs: tuple[str, ...]
    group: str | None = None  # None: the parent resource's group and version
    version: str | None = None


@dataclass(frozen=True)
class ResourceType:
    group: str  # "" is the core ("legacy") group served under /api/v1
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = CRUD_VERBS
    subresources: tuple[Subresource, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    def subresource(self, name: str) -> Subresource | None:
        return next((s for s in self.subresources if s.name == name), None)


_STATUS_VERBS = ("get", "patch", "update")


def _status(kind: str) -> Subresource:
    return Subresource("status", kind, _STATUS_VERBS)


def _scale() -> Subresource:
    return Subresource("scale", "Scale", _STATUS_VERBS, group="autoscaling", version="v1")


RESOURCES = (
    ResourceType("", "v1", "namespaces", "Namespace", namespaced=False, short_names=("ns",),
                 verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
                 subresources=(_status("Namespace"),)),
    ResourceType("", "v1", "configmaps", "ConfigMap", short_names=("cm",)),
    ResourceType("", "v1", "secrets", "Secret"),
    ResourceType("", "v1", "pods", "Pod", short_names=("po",), categories=("all",),
                 subresources=(Subresource("log", "Pod", ("get",)), _status("Pod"))),
    ResourceType("", "v1", "services", "Service", short_names=("svc",), categories=("all",),
                 verbs=("create", "delete", "deletecollection", "get", "list", "patch", "update",
                        "watch"),
                 subresources=(Subresource("proxy", "ServiceProxyOptions",
                                           ("create", "delete", "get", "patch", "update")),
                               _status("Service"))),
    ResourceType("", "v1", "events", "Event", short_names=("ev",)),
    ResourceType("", "v1", "endpoints", "Endpoints", short_names=("ep",)),
    ResourceType("apps", "v1", "deployments", "Deployment", short_names=("deploy",),
                 categories=("all",), subresources=(_scale(), _status("Deployment"))),
    ResourceType("apps", "v1", "replicasets", "ReplicaSet", short_names=("rs",),
                 categories=("all",), subresources=(_scale(), _status("ReplicaSet"))),
    ResourceType("coordination.k8s.io", "v1", "leases", "Lease"),
)

GROUP_VERSIONS = {(r.group, r.version) for r in RESOURCES}


def find_resource(group: str, version: str, plural: str) -> ResourceType | None:
    return next((r for r in RESOURCES
                 if (r.group, r.version, r.plural) == (group, version, plural)), None)


def discovery_resource_list(group: str, version: str) -> dict:
    """The APIResourceList of one group version, subresources as their own entries.

    Subresources carry no shortNames: kubectl would otherwise warn that a short
    name is ambiguous.
    """
    entries = []
    for r in RESOURCES:
        if (r.group, r.version) != (group, version):
            continue
        entry = {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced,
                 "kind": r.kind, "verbs": list(r.verbs)}
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        if r.categories:
            entry["categories"] = list(r.categories)
        entries.append(entry)
        for sub in r.subresources:
            sub_entry = {"name": f"{r.plural}/{sub.name}", "singularName": "",
                         "namespaced": r.namespaced, "kind": sub.kind, "verbs": list(sub.verbs)}
            if sub.group is not None:
                sub_entry.update(group=sub.group, version=sub.version)
            entries.append(sub_entry)
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version, "resources": entries}


def discovery_groups() -> list[dict]:
    groups = []
    for name in sorted({g for g, _ in GROUP_VERSIONS if g}):
        versions = [{"groupVersion": f"{name}/{v}", "version": v}
                    for g, v in sorted(GROUP_VERSIONS) if g == name]
        groups.append({"name": name, "versions": versions, "preferredVersion": versions[0]})
    return groups


def openapi_v3_root() -> dict:
    """The /openapi/v3 index: one document per group version.

    kubectl caches each document by its URL, so the hash must change whenever
    the document does.
    """
    paths = {}
    for group, version in sorted(GROUP_VERSIONS):
        key = f"apis/{group}/{version}" if group else f"api/{version}"
        digest = hashlib.sha256(json.dumps(openapi_v3_document(group, version),
                                           sort_keys=True).encode()).hexdigest()[:32].upper()
        paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
    return {"paths": paths}


def openapi_v3_document(group: str, version: str) -> dict:
    """A deliberately small OpenAPI v3 document for one group version.

    kubectl (``--validate=strict``, its default) decides per kind whether the
    server validates fields itself: it looks for the kind's PATCH operation
    (``x-kubernetes-group-version-kind``) with a ``fieldValidation`` query
    parameter. Finding it, kubectl skips client-side schema validation, which
    would need the full /openapi/v2 schema. The PATCH operations list no
    strategic-merge request body on purpose: kubectl's client-side apply then
    computes its patches from its compiled-in types instead of from schemas
    this document does not carry.
    """
    prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
    params = [{"name": name, "in": "query", "schema": {"type": "string"}}
              for name in ("dryRun", "fieldManager", "fieldValidation", "force")]
    paths = {}
    for r in RESOURCES:
        if (r.group, r.version) != (group, version):
            continue
        scope = f"{prefix}/namespaces/{{namespace}}" if r.namespaced else prefix
        gvk = {"group": r.group, "version": r.version, "kind": r.kind}
        paths[f"{scope}/{r.plural}/{{name}}"] = {"patch": {
            "operationId": f"patch{r.kind}", "parameters": params,
            "x-kubernetes-action": "patch", "x-kubernetes-group-version-kind": gvk,
            "responses": {"200": {"description": "OK"}}}}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes (sandbox)", "version": "v1.32.0"},
            "paths": paths, "components": {}}


# -- selectors ----------------------------------------------------------------

Requirement = tuple[str, str, frozenset]  # key, operator, values

_SET_TERM = re.compile(r"^\s*([\w./-]+)\s+(in|notin)\s*\(([^()]*)\)\s*$")
_EQ_TERM = re.compile(r"^\s*([\w./-]+)\s*(==|!=|=)\s*([\w.-]*)\s*$")
_EXISTS_TERM = re.compile(r"^\s*(!?)\s*([\w./-]+)\s*$")


def parse_label_selector(text: str) -> list[Requirement]:
    """Parse a label selector string (``a=b,c!=d,e in (x,y),f notin (z),g,!h``)."""
    requirements: list[Requirement] = []
    # Commas inside "in (...)" value sets do not separate requirements.
    for term in re.split(r",(?![^()]*\))", text):
        if not term.strip():
            continue
        if m := _SET_TERM.match(term):
            values = frozenset(v.strip() for v in m.group(3).split(",") if v.strip())
            requirements.append((m.group(1), m.group(2), values))
        elif m := _EQ_TERM.match(term):
            requirements.append((m.group(1), "!=" if m.group(2) == "!=" else "=",
                                 frozenset({m.group(3)})))
        elif m := _EXISTS_TERM.match(term):
            requirements.append((m.group(2), "!" if m.group(1) else "exists", frozenset()))
        else:
            raise _bad_request(f"unable to parse requirement: {term.strip()!r}")
    return requirements


def selector_requirements(selector: dict) -> list[Requirement]:
    """The requirements of a LabelSelector object (matchLabels + matchExpressions)."""
    operators = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    requirements = [(k, "=", frozenset({v})) for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        requirements.append((expr.get("key", ""), operators.get(expr.get("operator"), "in"),
                             frozenset(expr.get("values") or ())))
    return requirements


def labels_match(requirements: list[Requirement], labels: dict) -> bool:
    for key, op, values in requirements:
        present = key in labels
        value = labels.get(key)
        if op in ("=", "in") and not (present and value in values):
            return False
        # Kubernetes: "!=" and "notin" also match objects without the label.
        if op in ("!=", "notin") and present and value in values:
            return False
        if op == "exists" and not present:
            return False
        if op == "!" and present:
            return False
    return True


def selector_string(selector: dict) -> str:
    """A LabelSelector object as the string form Scale.status.selector carries."""
    parts = []
    for key, op, values in selector_requirements(selector):
        if op == "=":
            parts.append(f"{key}={next(iter(values))}")
        elif op in ("in", "notin"):
            parts.append(f"{key} {op} ({','.join(sorted(values))})")
        else:
            parts.append(key if op == "exists" else f"!{key}")
    return ",".join(sorted(parts))


def parse_field_selector(text: str) -> list[tuple[str, bool, str]]:
    """Parse ``metadata.name=x,status.phase!=Running`` into (path, negated, value)."""
    terms = []
    for term in text.split(","):
        if not term.strip():
            continue
        m = re.match(r"^\s*([\w.-]+)\s*(==|!=|=)\s*(.*?)\s*$", term)
        if m is None:
            raise _bad_request(f"invalid field selector: {term.strip()!r}")
        terms.append((m.group(1), m.group(2) == "!=", m.group(3)))
    return terms


def field_value(obj: dict, path: str) -> str:
    """A field selector operand: any dotted path, missing fields read as ""."""
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return ""
    return json.dumps(value) if isinstance(value, bool) else str(value)


def object_predicate(query: Mapping[str, str]) -> Callable[[dict], bool]:
    """The labelSelector and fieldSelector of a request's query as one predicate."""
    labels = parse_label_selector(query.get("labelSelector", ""))
    fields = parse_field_selector(query.get("fieldSelector", ""))

    def matches(obj: dict) -> bool:
        return (labels_match(labels, obj.get("metadata", {}).get("labels") or {})
                and all((field_value(obj, path) == value) != negated
                        for path, negated, value in fields))
    return matches


# -- patches ------------------------------------------------------------------

def _container_port_key(items: list) -> str:
    # Container ports merge on containerPort, Service ports on port: the field is
    # called "ports" in both, so the items tell which one this is.
    return "containerPort" if any(isinstance(i, dict) and "containerPort" in i for i in items) else "port"


# patchMergeKey of the list fields of the built-in types this server serves
# (k8s.io/api struct tags); lists not named here are replaced as a whole.
MERGE_KEYS: dict[str, str | Callable[[list], str]] = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name",
    "env": "name", "volumes": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath",
    "imagePullSecrets": "name", "hostAliases": "ip", "resourceClaims": "name",
    "topologySpreadConstraints": "topologyKey", "conditions": "type", "ownerReferences": "uid",
    "ports": _container_port_key,
}
# Lists of scalars with patchStrategy "merge": a patch adds to them.
MERGED_SCALAR_LISTS = {"finalizers"}

_DIRECTIVE_PREFIXES = ("$setElementOrder/", "$deleteFromPrimitiveList/")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: maps merge, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge(original: Any, patch: dict) -> dict | None:
    """Kubernetes strategic merge patch of a map (``None`` means "$patch: delete").

    Lists named in MERGE_KEYS merge element-wise on their key, other lists are
    replaced; null deletes a key. Directives: ``$patch`` (replace/delete) on maps
    and list elements, ``$retainKeys``, ``$deleteFromPrimitiveList/<field>`` and
    ``$setElementOrder/<field>`` (list elements it names come first, in its
    order). Also used for server-side apply, where a patch is a partial object.
    """
    directive = patch.get("$patch")
    if directive == "delete":
        return None
    body = {k: v for k, v in patch.items() if k not in ("$patch", "$retainKeys")
            and not k.startswith(_DIRECTIVE_PREFIXES)}
    if directive == "replace" or not isinstance(original, dict):
        result: dict = {}
    else:
        result = copy.deepcopy(original)
    for key, value in body.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            merged = strategic_merge(result.get(key), value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _merge_list(result.get(key), value, key)
        else:
            result[key] = value
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            result[name] = [v for v in result.get(name) or [] if v not in value]
        elif key.startswith("$setElementOrder/"):
            name = key.split("/", 1)[1]
            if isinstance(result.get(name), list):
                result[name] = _order_list(result[name], value, name)
    if isinstance(patch.get("$retainKeys"), list):
        result = {k: v for k, v in result.items() if k in patch["$retainKeys"]}
    return result


def _merge_key(field_name: str, items: list) -> str | None:
    key = MERGE_KEYS.get(field_name)
    return key(items) if callable(key) else key


def _merge_list(original: Any, patch: list, field_name: str) -> list:
    original = original if isinstance(original, list) else []
    key = _merge_key(field_name, original + patch)
    if field_name in MERGED_SCALAR_LISTS:
        return original + [v for v in patch if v not in original]
    if key is None or not all(isinstance(item, dict) for item in patch):
        return [strategic_merge({}, item) if isinstance(item, dict) else copy.deepcopy(item)
                for item in patch if not (isinstance(item, dict) and item.get("$patch"))]
    if any(item.get("$patch") == "replace" for item in patch):
        original = []
    result = copy.deepcopy(original)
    for item in patch:
        if item.get("$patch") == "replace":
            continue
        index = next((i for i, old in enumerate(result)
                      if isinstance(old, dict) and key in item and old.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append(strategic_merge({}, item))
        else:
            result[index] = strategic_merge(result[index], item)
    return result


def _order_list(items: list, order: list, field_name: str) -> list:
    key = _merge_key(field_name, items)

    def identity(item: Any) -> Any:
        return item.get(key) if key and isinstance(item, dict) else json.dumps(item, sort_keys=True)
    wanted = [identity(o) for o in order]
    first = sorted((i for i in items if identity(i) in wanted), key=lambda i: wanted.index(identity(i)))
    return first + [i for i in items if identity(i) not in wanted]


def json_patch(doc: Any, operations: Any) -> Any:
    """RFC 6902 JSON patch (add, remove, replace, move, copy, test)."""
    if not isinstance(operations, list):
        raise _bad_request("a JSON patch must be a list of operations")
    doc = copy.deepcopy(doc)
    for op in operations:
        try:
            kind = op["op"]
            if kind in ("move", "copy"):
                value = copy.deepcopy(_pointer_get(doc, op["from"]))
                if kind == "move":
                    doc = _pointer_remove(doc, op["from"])
                doc = _pointer_add(doc, op["path"], value)
            elif kind == "add":
                doc = _pointer_add(doc, op["path"], copy.deepcopy(op["value"]))
            elif kind == "remove":
                doc = _pointer_remove(doc, op["path"])
            elif kind == "replace":
                _pointer_get(doc, op["path"])  # must exist
                doc = _pointer_add(_pointer_remove(doc, op["path"]), op["path"],
                                   copy.deepcopy(op["value"]))
            elif kind == "test":
                if _pointer_get(doc, op["path"]) != op["value"]:
                    raise ApiError(422, "Invalid", f"testing value {op['path']} failed")
            else:
                raise _bad_request(f"unexpected JSON patch operation {kind!r}")
        except (KeyError, IndexError, TypeError, ValueError) as err:
            raise ApiError(422, "Invalid", f"JSON patch {op!r} cannot be applied: {err!r}") from None
    return doc


def _pointer_tokens(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise ValueError(f"JSON pointer {pointer!r} must start with /")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _pointer_get(doc: Any, pointer: str) -> Any:
    for token in _pointer_tokens(pointer):
        doc = doc[int(token)] if isinstance(doc, list) else doc[token]
    return doc


def _pointer_add(doc: Any, pointer: str, value: Any) -> Any:
    tokens = _pointer_tokens(pointer)
    if not tokens:
        return value
    parent = _pointer_get(doc, "".join("/" + t.replace("~", "~0").replace("/", "~1")
                                       for t in tokens[:-1]))
    last = tokens[-1]
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if not 0 <= index <= len(parent):
            raise IndexError(f"index {index} out of range")
        parent.insert(index, value)
    else:
        parent[last] = value
    return doc


def _pointer_remove(doc: Any, pointer: str) -> Any:
    tokens = _pointer_tokens(pointer)
    if not tokens:
        raise ValueError("cannot remove the whole document")
    parent = _pointer_get(doc, "".join("/" + t.replace("~", "~0").replace("/", "~1")
                                       for t in tokens[:-1]))
    if isinstance(parent, list):
        del parent[int(tokens[-1])]
    else:
        del parent[tokens[-1]]
    return doc


# -- defaulting and validation ------------------------------------------------

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Namespaces and Services become DNS labels (<svc>.<ns>.svc); the rest may be subdomains.
_LABEL_NAMED = {"namespaces", "services"}


class Invalid:
    """Collects field errors into one 422 Invalid Status, as the real server reports them."""

    def __init__(self, rtype: ResourceType, name: str) -> None:
        self.rtype, self.name = rtype, name
        self.causes: list[dict] = []

    def required(self, path: str, detail: str = "") -> None:
        message = "Required value" + (f": {detail}" if detail else "")
        self.causes.append({"reason": "FieldValueRequired", "message": message, "field": path})

    def invalid(self, path: str, value: Any, detail: str) -> None:
        shown = json.dumps(value) if not isinstance(value, str) else f'"{value}"'
        self.causes.append({"reason": "FieldValueInvalid",
                            "message": f"Invalid value: {shown}: {detail}", "field": path})

    def raise_if_any(self) -> None:
        if not self.causes:
            return
        errors = [f"{c['field']}: {c['message']}" for c in self.causes]
        listed = errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"
        kind = f"{self.rtype.kind}.{self.rtype.group}" if self.rtype.group else self.rtype.kind
        raise ApiError(422, "Invalid", f'{kind} "{self.name}" is invalid: {listed}',
                       {"name": self.name, "group": self.rtype.group, "kind": self.rtype.kind,
                        "causes": self.causes})


def fold_string_data(obj: dict) -> None:
    """Secret.stringData is write-only: it is merged into data, base64-encoded."""
    string_data = obj.pop("stringData", None)
    if not isinstance(string_data, dict):
        return
    data = obj.get("data") or {}
    for key, value in string_data.items():
        data[key] = (base64.b64encode(value.encode()).decode()
                     if isinstance(value, str) else value)
    obj["data"] = data


def _default_pod_spec(spec: dict) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    for container in spec.get("containers") or []:
        if not isinstance(container, dict):
            continue
        image = str(container.get("image", ""))
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        # Kubernetes pulls ":latest" and untagged images always, others if absent.
        container.setdefault("imagePullPolicy", "Always" if tag in ("", "latest") else "IfNotPresent")
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("resources", {})
        for port in container.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")


def apply_defaults(rtype: ResourceType, obj: dict) -> None:
    """Defaults the real API server fills in on every write of these fields."""
    spec = obj.get("spec")
    if rtype.plural in ("deployments", "replicasets") and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        if rtype.plural == "deployments":
            spec.setdefault("progressDeadlineSeconds", 600)
            strategy = spec.setdefault("strategy", {})
            strategy.setdefault("type", "RollingUpdate")
            if strategy["type"] == "RollingUpdate":
                rolling = strategy.setdefault("rollingUpdate", {})
                rolling.setdefault("maxUnavailable", "25%")
                rolling.setdefault("maxSurge", "25%")
        template_spec = (spec.get("template") or {}).get("spec")
        if isinstance(template_spec, dict):
            _default_pod_spec(template_spec)
    elif rtype.plural == "pods" and isinstance(spec, dict):
        _default_pod_spec(spec)
    elif rtype.plural == "services" and isinstance(spec, dict):
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        for port in spec.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")
                port.setdefault("targetPort", port.get("port"))
    elif rtype.plural == "secrets" and not obj.get("type"):
        obj["type"] = "Opaque"  # also when a protobuf body carries the empty string


def reset_status_on_create(rtype: ResourceType, obj: dict) -> None:
    """A client cannot create an object with a status; the system writes it."""
    if rtype.plural in ("deployments", "replicasets"):
        obj["status"] = {}
    elif rtype.plural == "pods":
        obj["status"] = {"phase": "Pending"}
    elif rtype.plural == "namespaces":
        obj["status"] = {"phase": "Active"}
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])


def validate(rtype: ResourceType, obj: dict, current: dict | None = None) -> None:
    """Reject what the real API server rejects for the fields clients rely on (422)."""
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    name = meta.get("name") or meta.get("generateName") or ""
    errors = Invalid(rtype, name)
    if not meta.get("name") and not meta.get("generateName"):
        errors.required("metadata.name", "name or generateName is required")
    elif meta.get("name"):
        pattern = _DNS_LABEL if rtype.plural in _LABEL_NAMED else _DNS_SUBDOMAIN
        if len(meta["name"]) > 253 or not pattern.match(meta["name"]):
            errors.invalid("metadata.name", meta["name"],
                           "a lowercase RFC 1123 name must consist of lower case alphanumeric "
                           "characters, '-' or '.', and must start and end with an alphanumeric "
                           "character")
    for key in ("labels", "annotations"):
        for label, value in (meta.get(key) or {}).items():
            if not isinstance(value, str):
                errors.invalid(f"metadata.{key}.{label}", value, "must be a string")
    if rtype.plural in ("configmaps", "secrets"):
        _validate_data(obj, rtype, errors)
    elif rtype.plural in ("deployments", "replicasets"):
        _validate_workload(obj, current, errors)
    elif rtype.plural == "pods":
        _validate_containers((obj.get("spec") or {}).get("containers"), "spec.containers", errors)
    elif rtype.plural == "services":
        for i, port in enumerate((obj.get("spec") or {}).get("ports") or []):
            if not isinstance(port, dict) or not isinstance(port.get("port"), int):
                errors.required(f"spec.ports[{i}].port")
    errors.raise_if_any()


def _validate_data(obj: dict, rtype: ResourceType, errors: Invalid) -> None:
    for section in ("data", "binaryData"):
        for key, value in (obj.get(section) or {}).items():
            if not isinstance(value, str):
                errors.invalid(f"{section}[{key}]", value, "must be a string")
            elif rtype.plural == "secrets" or section == "binaryData":
                try:
                    base64.b64decode(value, validate=True)
                except binascii.Error:
                    errors.invalid(f"{section}[{key}]", "<value omitted>", "illegal base64 data")


def _validate_workload(obj: dict, current: dict | None, errors: Invalid) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        errors.required("spec")
        return
    replicas = spec.get("replicas")
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        errors.invalid("spec.replicas", replicas,
                       "must be greater than or equal to 0")
    selector = spec.get("selector")
    template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    labels = (template.get("metadata") or {}).get("labels")
    if not isinstance(selector, dict):
        errors.required("spec.selector")
    elif not selector.get("matchLabels") and not selector.get("matchExpressions"):
        errors.invalid("spec.selector", selector, "empty selector is invalid for deployment")
    if not labels:
        errors.required("spec.template.metadata.labels")
    elif isinstance(selector, dict) and not labels_match(selector_requirements(selector), labels):
        errors.invalid("spec.template.metadata.labels", labels,
                       "`selector` does not match template `labels`")
    if current is not None and selector != (current.get("spec") or {}).get("selector"):
        errors.invalid("spec.selector", selector, "field is immutable")
    template_spec = template.get("spec") if isinstance(template.get("spec"), dict) else {}
    if template_spec.get("restartPolicy", "Always") != "Always":
        errors.invalid("spec.template.spec.restartPolicy", template_spec["restartPolicy"],
                       'supported values: "Always"')
    _validate_containers(template_spec.get("containers"), "spec.template.spec.containers", errors)


def _validate_containers(containers: Any, path: str, errors: Invalid) -> None:
    if not isinstance(containers, list) or not containers:
        errors.required(path)
        return
    for i, container in enumerate(containers):
        if not isinstance(container, dict):
            errors.invalid(f"{path}[{i}]", container, "must be an object")
            continue
        if not container.get("name"):
            errors.required(f"{path}[{i}].name")
        if not container.get("image"):
            errors.required(f"{path}[{i}].image")


# -- Table output for kubectl get ----------------------------------------------

def human_duration(seconds: float) -> str:
    """kubectl's age format (k8s.io/apimachinery duration.HumanDuration)."""
    s = int(seconds)
    if s < 0:
        return "<invalid>"
    minutes, hours, days = s // 60, s // 3600, s // 86400
    if s < 120:
        return f"{s}s"
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 192:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 730:
        return f"{days}d"
    return f"{days // 365}y{days % 365}d" if days < 2920 else f"{days // 365}y"


def _age(timestamp: str | None) -> str:
    try:
        then = datetime.datetime.fromisoformat(timestamp or "")
    except ValueError:
        return "<unknown>"
    return human_duration((datetime.datetime.now(datetime.timezone.utc) - then).total_seconds())


def _pod_status_reason(pod: dict) -> str:
    """The STATUS column of kubectl get pods: a waiting/terminated reason beats the phase."""
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Unknown"
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        waiting, terminated = state.get("waiting"), state.get("terminated")
        if waiting and waiting.get("reason"):
            reason = waiting["reason"]
        elif terminated:
            reason = terminated.get("reason") or f"ExitCode:{terminated.get('exitCode')}"
    if pod["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    return reason


def _containers(obj: dict) -> list[dict]:
    return ((obj.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []


def _service_ports(service: dict) -> str:
    ports = [f"{p.get('port')}/{p.get('protocol', 'TCP')}"
             for p in (service.get("spec") or {}).get("ports") or []]
    return ",".join(ports) or "<none>"


def _endpoint_addresses(endpoints: dict) -> str:
    pairs = [f"{a.get('ip')}:{p.get('port')}"
             for subset in endpoints.get("subsets") or []
             for a in subset.get("addresses") or [] for p in subset.get("ports") or []]
    return ",".join(pairs) or "<none>"


_NAME = ("Name", 0, lambda o: o["metadata"]["name"])
_AGE = ("Age", 0, lambda o: _age(o["metadata"].get("creationTimestamp")))


def _workload_columns(extra: list[tuple[str, Callable[[dict], Any]]]) -> list:
    return ([_NAME, *((name, 0, cell) for name, cell in extra), _AGE,
             ("Containers", 1, lambda o: ",".join(c.get("name", "") for c in _containers(o))),
             ("Images", 1, lambda o: ",".join(c.get("image", "") for c in _containers(o))),
             ("Selector", 1, lambda o: selector_string((o.get("spec") or {}).get("selector") or {}))])


def _status_field(name: str) -> Callable[[dict], int]:
    return lambda o: (o.get("status") or {}).get(name, 0)

# Columns (title, priority, cell) as the real server prints them; priority 1
# columns only show with -o wide. Unlisted resources get Name and Age.
TABLE_COLUMNS: dict[str, list[tuple[str, int, Callable[[dict], Any]]]] = {
    "namespaces": [_NAME, ("Status", 0, lambda o: (o.get("status") or {}).get("phase", "")), _AGE],
    "configmaps": [_NAME, ("Data", 0, lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {})),
                   _AGE],
    "secrets": [_NAME, ("Type", 0, lambda o: o.get("type", "")),
                ("Data", 0, lambda o: len(o.get("data") or {})), _AGE],
    "pods": [_NAME,
             ("Ready", 0, lambda o: "{}/{}".format(
                 sum(1 for c in (o.get("status") or {}).get("containerStatuses") or [] if c.get("ready")),
                 len((o.get("spec") or {}).get("containers") or []))),
             ("Status", 0, _pod_status_reason),
             ("Restarts", 0, lambda o: sum(c.get("restartCount", 0) for c in
                                           (o.get("status") or {}).get("containerStatuses") or [])),
             _AGE,
             ("IP", 1, lambda o: (o.get("status") or {}).get("podIP") or "<none>"),
             ("Node", 1, lambda o: (o.get("spec") or {}).get("nodeName") or "<none>")],
    "services": [_NAME, ("Type", 0, lambda o: (o.get("spec") or {}).get("type", "")),
                 ("Cluster-IP", 0, lambda o: (o.get("spec") or {}).get("clusterIP") or "<none>"),
                 ("External-IP", 0, lambda o: "<none>"),
                 ("Port(s)", 0, _service_ports), _AGE,
                 ("Selector", 1, lambda o: ",".join(
                     f"{k}={v}" for k, v in sorted(((o.get("spec") or {}).get("selector") or {}).items()))
                  or "<none>")],
    "endpoints": [_NAME, ("Endpoints", 0, _endpoint_addresses), _AGE],
    "events": [("Last Seen", 0, lambda o: _age(o.get("lastTimestamp") or o.get("eventTime")
                                                or o["metadata"].get("creationTimestamp"))),
               ("Type", 0, lambda o: o.get("type", "")),
               ("Reason", 0, lambda o: o.get("reason", "")),
               ("Object", 0, lambda o: "{}/{}".format(
                   (o.get("involvedObject") or {}).get("kind", "").lower(),
                   (o.get("involvedObject") or {}).get("name", ""))),
               ("Message", 0, lambda o: o.get("message", "")),
               ("Name", 1, lambda o: o["metadata"]["name"])],
    "deployments": _workload_columns([
        ("Ready", lambda o: "{}/{}".format((o.get("status") or {}).get("readyReplicas", 0),
                                           (o.get("spec") or {}).get("replicas", 0))),
        ("Up-to-date", _status_field("updatedReplicas")),
        ("Available", _status_field("availableReplicas"))]),
    "replicasets": _workload_columns([
        ("Desired", lambda o: (o.get("spec") or {}).get("replicas", 0)),
        ("Current", _status_field("replicas")),
        ("Ready", _status_field("readyReplicas"))]),
}


def to_table(rtype: ResourceType, objects: list[dict], include_object: str,
             resource_version: str) -> dict:
    """A meta.k8s.io/v1 Table, what ``kubectl get`` asks for to print columns."""
    columns = TABLE_COLUMNS.get(rtype.plural, [_NAME, _AGE])
    definitions = [{"name": title, "type": "string", "format": "name" if title == "Name" else "",
                    "description": title, "priority": priority}
                   for title, priority, _ in columns]
    rows = []
    for obj in objects:
        if include_object == "Object":
            row_object: dict | None = obj
        elif include_object == "None":
            row_object = None
        else:
            row_object = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                          "metadata": obj["metadata"]}
        rows.append({"cells": [cell(obj) for _, _, cell in columns], "object": row_object})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": resource_version},
            "columnDefinitions": definitions, "rows": rows}


def wants_table(request: web.Request) -> bool:
    """Content negotiation: the first media range this server can produce wins.

    kubectl get asks for ``application/json;as=Table;g=meta.k8s.io;v=v1`` first
    and plain JSON as the fallback. Other ``as=`` forms (PartialObjectMetadata,
    aggregated discovery) are not produced here, so they are skipped and the
    client falls back to the plain JSON it also accepts.
    """
    for media_range in request.headers.get("Accept", "").split(","):
        media_type, *raw_params = (p.strip() for p in media_range.split(";"))
        params = dict(p.split("=", 1) for p in raw_params if "=" in p)
        if media_type not in ("application/json", "*/*", ""):
            continue
        if "as" not in params:
            return False
        if params["as"] == "Table" and params.get("g") == "meta.k8s.io" and params.get("v") == "v1":
            return True
    return False


# -- request bodies -------------------------------------------------------------

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
JSON_BODY_TYPES = frozenset({"application/json", JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH})
PROTOBUF = "application/vnd.kubernetes.protobuf"


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(415, "UnsupportedMediaType",
                    f"the body of the request was in an unknown format - accepted media types "
                    f"include: application/json, {JSON_PATCH}, {MERGE_PATCH}, {STRATEGIC_MERGE_PATCH}, "
                    f"{APPLY_PATCH} (got {content_type!r})")


# Protobuf: kubectl's generator commands (kubectl create configmap/secret/namespace ...)
# send protobuf, and client-go does not retry a 415 as JSON. The envelope is the
# magic "k8s\0" and a runtime.Unknown {typeMeta = 1, raw = 2}; raw is the
# object in the k8s.io/api generated.proto schema. Only the kinds (and fields)
# those commands produce for this product are described here.

_PB_MAGIC = b"k8s\x00"
_PB_OBJECT_META = {1: ("name", "string"), 2: ("generateName", "string"), 3: ("namespace", "string"),
                   11: ("labels", "map"), 12: ("annotations", "map"), 14: ("finalizers", "strings")}
_PB_KINDS = {
    "ConfigMap": {1: ("metadata", _PB_OBJECT_META), 2: ("data", "map"),
                  3: ("binaryData", "bytes-map"), 4: ("immutable", "bool")},
    "Secret": {1: ("metadata", _PB_OBJECT_META), 2: ("data", "bytes-map"), 3: ("type", "string"),
               4: ("stringData", "map"), 5: ("immutable", "bool")},
    "Namespace": {1: ("metadata", _PB_OBJECT_META), 2: ("spec", {1: ("finalizers", "strings")})},
}
_PB_UNKNOWN = {1: ("typeMeta", {1: ("apiVersion", "string"), 2: ("kind", "string")}),
               2: ("raw", "raw")}


def _pb_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _pb_fields(data: bytes):
    """(field number, value) pairs of one protobuf message (wire format)."""
    pos = 0
    while pos < len(data):
        key, pos = _pb_varint(data, pos)
        wire_type = key & 7
        if wire_type == 0:
            value, pos = _pb_varint(data, pos)
        elif wire_type == 2:
            length, pos = _pb_varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire_type in (1, 5):
            size = 8 if wire_type == 1 else 4
            value, pos = data[pos:pos + size], pos + size
        else:
            raise ValueError(f"unsupported protobuf wire type {wire_type}")
        yield key >> 3, value


def _pb_message(data: bytes, schema: dict) -> dict:
    out: dict = {}
    for number, value in _pb_fields(data):
        if number not in schema:
            continue  # e.g. the empty creationTimestamp every Go object carries
        name, kind = schema[number]
        if isinstance(kind, dict):
            out[name] = _pb_message(value, kind)
        elif kind == "raw":
            out[name] = value
        elif kind == "string":
            out[name] = value.decode()
        elif kind == "bool":
            out[name] = bool(value)
        elif kind == "strings":
            out.setdefault(name, []).append(value.decode())
        else:  # map entries are messages {key = 1, value = 2}
            entry = dict(_pb_fields(value))
            raw = entry.get(2, b"")
            out.setdefault(name, {})[entry.get(1, b"").decode()] = (
                base64.b64encode(raw).decode() if kind == "bytes-map" else raw.decode())
    return out


def decode_protobuf(body: bytes) -> dict:
    """A Kubernetes protobuf request body as the equivalent JSON object."""
    if not body.startswith(_PB_MAGIC):
        raise _bad_request("a protobuf body must start with the k8s magic number")
    try:
        envelope = _pb_message(body[len(_PB_MAGIC):], _PB_UNKNOWN)
        type_meta = envelope.get("typeMeta", {})
        schema = _PB_KINDS.get(type_meta.get("kind", ""))
        if schema is None:
            raise ApiError(415, "UnsupportedMediaType",
                           f"this sandbox reads protobuf bodies only for {', '.join(_PB_KINDS)}; "
                           f"send {type_meta.get('kind')} as JSON (kubectl create -f / apply -f)")
        return {**type_meta, **_pb_message(envelope.get("raw", b""), schema)}
    except (IndexError, ValueError, UnicodeDecodeError) as err:
        raise _bad_request(f"the protobuf body cannot be decoded: {err}") from None


# -- HTTP ------------------------------------------------------------------------

@dataclass
class ApiRoute:
    """One parsed resource URL: /api/v1/namespaces/ns/pods/name/log and friends."""
    rtype: ResourceType
    namespace: str | None  # None: cluster-scoped resource, or a list across namespaces
    name: str | None = None
    subresource: str | None = None
    tail: list[str] = field(default_factory=list)  # what follows services/x/proxy/

    @property
    def store_namespace(self) -> str:
        return self.namespace or ""


def _status_success(rtype: ResourceType, obj: dict) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": {"name": obj["metadata"]["name"], "group": rtype.group,
                        "kind": rtype.plural, "uid": obj["metadata"].get("uid")}}


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body, separators=(",", ":")), status=status,
                        content_type="application/json")


def _error(err: ApiError) -> web.Response:
    return _json(err.status(), err.code)


class ApiServer:
    """The request handlers; one instance per aiohttp application."""

    def __init__(self, store: Store, token: str, hooks: Hooks | None) -> None:
        self.store = store
        self.token = token
        self.hooks = hooks
        self.request_counts: Counter[str] = Counter()
        self._watchers: list[Watcher] = []

    # -- plumbing ----------------------------------------------------------
    @web.middleware
    async def middleware(self, request: web.Request, handler) -> web.StreamResponse:
        """Authenticate, then turn every failure into a Kubernetes Status response."""
        if request.path not in UNAUTHENTICATED_PATHS and not self._authenticated(request):
            return _error(ApiError(401, "Unauthorized", "Unauthorized"))
        try:
            return await handler(request)
        except ApiError as err:
            return _error(err)
        except web.HTTPException as err:
            # aiohttp's own errors (unknown route, body too large) in Status form.
            reason = "NotFound" if err.status == 404 else err.reason.replace(" ", "")
            return _error(ApiError(err.status, reason, err.text or err.reason))
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception:  # a handler bug must cost one request, not the server
            log.exception("%s %s failed", request.method, request.path_qs)
            return _error(ApiError(500, "InternalError", "an error on the server has prevented "
                                   "the request from succeeding (see the sandbox log)"))

    def _authenticated(self, request: web.Request) -> bool:
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(credentials.strip().encode(),
                                                                 self.token.encode())

    def _count(self, verb: str) -> None:
        self.request_counts[verb] += 1
        self.store.request_count += 1

    async def on_shutdown(self, _app: web.Application) -> None:
        """End open watches so the server stops without waiting for their timeouts."""
        for watcher in list(self._watchers):
            watcher.queue.put_nowait(None)

    # -- small endpoints ----------------------------------------------------
    async def health(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def version(self, _request: web.Request) -> web.Response:
        self._count("discovery")
        return _json(SERVER_VERSION)

    async def metrics(self, _request: web.Request) -> web.Response:
        """Request counts per verb, for benchmarks."""
        return _json({"requests": dict(self.request_counts),
                      "total": sum(self.request_counts.values()),
                      "resourceVersion": str(self.store.resource_version),
                      "watches": len(self._watchers)})

    async def openapi_v3(self, request: web.Request) -> web.Response:
        self._count("discovery")
        tail = request.match_info.get("tail", "")
        if not tail:
            return _json(openapi_v3_root())
        parts = tail.split("/")
        if parts[0] == "api" and len(parts) == 2:
            group, version = "", parts[1]
        elif parts[0] == "apis" and len(parts) == 3:
            group, version = parts[1], parts[2]
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if (group, version) not in GROUP_VERSIONS:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return _json(openapi_v3_document(group, version))

    # -- resource URLs ------------------------------------------------------
    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        """Entry point for everything under /api and /apis."""
        segments = request.path.strip("/").split("/")
        if segments[0] == "api":
            if len(segments) == 1:
                return self._discovery(
                    {"kind": "APIVersions", "versions": ["v1"],
                     "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                     "serverAddress": request.host}]})
            group, version, rest = "", segments[1], segments[2:]
        else:
            if len(segments) == 1:
                return self._discovery({"kind": "APIGroupList", "apiVersion": "v1",
                                        "groups": discovery_groups()})
            if len(segments) == 2:
                found = [g for g in discovery_groups() if g["name"] == segments[1]]
                if not found:
                    raise ApiError(404, "NotFound", "the server could not find the requested resource")
                return self._discovery({"kind": "APIGroup", "apiVersion": "v1", **found[0]})
            group, version, rest = segments[1], segments[2], segments[3:]
        if (group, version) not in GROUP_VERSIONS:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if not rest:
            return self._discovery(discovery_resource_list(group, version))
        route = self._parse_route(group, version, rest)
        return await self._handle(request, route)

    def _discovery(self, body: dict) -> web.Response:
        self._count("discovery")
        return _json(body)

    @staticmethod
    def _parse_route(group: str, version: str, rest: list[str]) -> ApiRoute:
        not_served = ApiError(404, "NotFound", "the server could not find the requested resource")
        # namespaces/<ns>/<resource>/... unless <resource> is a subresource of a
        # namespace (namespaces/<ns>/status), which is the cluster-scoped form.
        if rest[0] == "namespaces" and len(rest) >= 3:
            rtype = find_resource(group, version, rest[2])
            if rtype is not None and rtype.namespaced:
                name = rest[3] if len(rest) > 3 else None
                sub = rest[4] if len(rest) > 4 else None
                if sub is not None and rtype.subresource(sub) is None:
                    raise not_served
                if sub != "proxy" and len(rest) > 5:
                    raise not_served
                return ApiRoute(rtype, rest[1], name, sub, rest[5:])
        rtype = find_resource(group, version, rest[0])
        if rtype is None or len(rest) > 3 or (rtype.namespaced and len(rest) > 1):
            raise not_served
        sub = rest[2] if len(rest) > 2 else None
        if sub is not None and rtype.subresource(sub) is None:
            raise not_served
        return ApiRoute(rtype, None, rest[1] if len(rest) > 1 else None, sub)

    async def _handle(self, request: web.Request, route: ApiRoute) -> web.StreamResponse:
        method = request.method
        if route.subresource == "proxy":
            return await self._proxy(request, route)
        if route.subresource == "log":
            return self._only(method, "GET") or await self._pod_log(request, route)
        if route.subresource == "scale":
            return self._only(method, "GET", "PUT", "PATCH") or await self._scale(request, route)
        if route.name is None:
            if method == "GET":
                if request.query.get("watch") in ("1", "true", "True"):
                    return await self._watch(request, route)
                return await self._list(request, route)
            if route.rtype.namespaced and route.namespace is None:
                return self._not_allowed(method)
            if method == "POST":
                return await self._create(request, route)
            if method == "DELETE":
                return await self._delete_collection(request, route)
            return self._not_allowed(method)
        handlers = {"GET": self._get, "PUT": self._replace, "PATCH": self._patch,
                    "DELETE": self._delete}
        if method not in handlers or (route.subresource and method == "DELETE"):
            return self._not_allowed(method)
        return await handlers[method](request, route)

    def _only(self, method: str, *allowed: str) -> web.Response | None:
        return None if method in allowed else self._not_allowed(method)

    @staticmethod
    def _not_allowed(method: str) -> web.Response:
        return _error(ApiError(405, "MethodNotAllowed",
                               f"the server does not allow this method on the requested resource ({method})"))

    # -- helpers ----------------------------------------------------------------
    def _present(self, rtype: ResourceType, obj: dict) -> dict:
        """Objects the controller stores may lack kind/apiVersion; clients need them."""
        obj["kind"] = rtype.kind
        obj["apiVersion"] = rtype.api_version
        return obj

    def _respond_object(self, request: web.Request, rtype: ResourceType, obj: dict,
                        status: int = 200) -> web.Response:
        self._present(rtype, obj)
        if wants_table(request):
            return _json(to_table(rtype, [obj], request.query.get("includeObject", "Metadata"),
                                  obj["metadata"].get("resourceVersion", "")), status)
        return _json(obj, status)

    def _current(self, route: ApiRoute) -> dict:
        obj = self.store.get(route.rtype.plural, route.store_namespace, route.name)
        if obj is None:
            raise not_found(route.rtype.plural, route.name, route.rtype.group)
        return obj

    @staticmethod
    def _dry_run(request: web.Request) -> bool:
        values = request.query.getall("dryRun", [])
        if any(v != "All" for v in values):
            raise _bad_request(f"unsupported dryRun value {values!r}, only All is supported")
        return bool(values)

    @staticmethod
    async def _read_json(request: web.Request) -> Any:
        """The request body as JSON data (protobuf bodies are converted)."""
        raw = await request.read()
        if request.content_type == PROTOBUF and request.method in ("POST", "PUT"):
            return decode_protobuf(raw)
        # Like the real server, a body without Content-Type is read as JSON: the
        # kubernetes Python client 37 sends its JSON bodies without one.
        if "Content-Type" in request.headers and request.content_type not in JSON_BODY_TYPES:
            raise unsupported_media_type(request.content_type)
        try:
            return json.loads(raw)
        except ValueError as err:
            raise _bad_request(f"the request body is not valid JSON: {err}") from None

    def _check_body(self, route: ApiRoute, body: Any, *, name_required: bool) -> dict:
        """Type, kind, name and namespace of a request body against the URL."""
        if not isinstance(body, dict):
            raise _bad_request("the request body must be a JSON object")
        rtype = route.rtype
        if body.get("kind") not in (None, rtype.kind) or body.get("apiVersion") not in (None, rtype.api_version):
            raise _bad_request(f"the body is {body.get('apiVersion')}/{body.get('kind')}, "
                               f"the URL expects {rtype.api_version}/{rtype.kind}")
        meta = body.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise _bad_request("metadata must be an object")
        if name_required and meta.get("name") not in (None, route.name):
            raise _bad_request(f"the name of the object ({meta.get('name')}) does not match the "
                               f"name on the URL ({route.name})")
        if name_required:
            meta["name"] = route.name
        if rtype.namespaced and meta.get("namespace") not in (None, "", route.namespace):
            raise _bad_request("the namespace of the provided object does not match the "
                               "namespace sent on the request")
        return self._present(rtype, body)

    def _prepare(self, rtype: ResourceType, obj: dict, current: dict | None) -> dict:
        if rtype.plural == "secrets":
            fold_string_data(obj)
        apply_defaults(rtype, obj)
        validate(rtype, obj, current)
        return obj

    # -- verbs ----------------------------------------------------------------------
    async def _list(self, request: web.Request, route: ApiRoute) -> web.Response:
        self._count("list")
        rtype = route.rtype
        items = [self._present(rtype, obj) for obj in
                 self.store.list(rtype.plural, route.namespace, object_predicate(request.query))]
        resource_version = str(self.store.resource_version)
        # The server may ignore "limit" and return everything in one page
        # (documented API behaviour); clients then see no "continue" token.
        if wants_table(request):
            return _json(to_table(rtype, items, request.query.get("includeObject", "Metadata"),
                                  resource_version))
        return _json({"kind": f"{rtype.kind}List", "apiVersion": rtype.api_version,
                      "metadata": {"resourceVersion": resource_version}, "items": items})

    async def _get(self, request: web.Request, route: ApiRoute) -> web.Response:
        self._count("get")
        return self._respond_object(request, route.rtype, self._current(route))

    async def _create(self, request: web.Request, route: ApiRoute) -> web.Response:
        self._count("create")
        body = self._check_body(route, await self._read_json(request), name_required=False)
        reset_status_on_create(route.rtype, body)
        self._prepare(route.rtype, body, None)
        created = self.store.create(route.rtype.plural, route.store_namespace, body,
                                    dry_run=self._dry_run(request))
        return self._respond_object(request, route.rtype, created, 201)

    async def _replace(self, request: web.Request, route: ApiRoute) -> web.Response:
        self._count("update")
        body = self._check_body(route, await self._read_json(request), name_required=True)
        current = self._current(route)
        if route.subresource == "status":
            return self._write_status(request, route, body)
        self._prepare(route.rtype, body, current)
        updated = self.store.update(route.rtype.plural, route.store_namespace, body,
                                    dry_run=self._dry_run(request))
        return self._respond_object(request, route.rtype, updated)

    def _write_status(self, request: web.Request, route: ApiRoute, obj: dict) -> web.Response:
        updated = self.store.update(route.rtype.plural, route.store_namespace, obj,
                                    subresource="status", dry_run=self._dry_run(request))
        return self._respond_object(request, route.rtype, updated)

    async def _patch(self, request: web.Request, route: ApiRoute) -> web.Response:
        self._count("patch")
        content_type = request.content_type
        if content_type == APPLY_PATCH:
            if route.subresource:
                raise _bad_request("server-side apply is only served on the main resource here")
            return await self._server_side_apply(request, route)
        current = self._current(route)
        patched = self._apply_patch(content_type, current, await self._read_json(request))
        patched = self._check_body(route, patched, name_required=True)
        if route.subresource == "status":
            return self._write_status(request, route, patched)
        self._prepare(route.rtype, patched, current)
        updated = self.store.update(route.rtype.plural, route.store_namespace, patched,
                                    dry_run=self._dry_run(request))
        return self._respond_object(request, route.rtype, updated)

    @staticmethod
    def _apply_patch(content_type: str, current: dict, patch: Any) -> Any:
        if content_type == JSON_PATCH:
            return json_patch(current, patch)
        if not isinstance(patch, dict):
            raise _bad_request("a merge patch must be a JSON object")
        if content_type == MERGE_PATCH:
            return merge_patch(current, patch)
        if content_type == STRATEGIC_MERGE_PATCH:
            return strategic_merge(current, patch) or {}
        raise unsupported_media_type(content_type)

    async def _server_side_apply(self, request: web.Request, route: ApiRoute) -> web.Response:
        """Server-side apply: create the object, or merge the applied fields into it.

        Field ownership (managedFields) is not tracked: applied fields are merged
        with strategic-merge list keys, and a field a manager stops applying is
        left in place rather than removed. ``force`` is accepted; there are no
        conflicts to force.
        """
        if not request.query.get("fieldManager"):
            raise _bad_request("PATCH requests with apply content type must set fieldManager")
        raw = await request.read()
        try:
            applied = yaml.safe_load(raw)
        except yaml.YAMLError as err:
            raise _bad_request(f"the request body is not valid YAML: {err}") from None
        if not isinstance(applied, dict) or not applied.get("kind") or not applied.get("apiVersion"):
            raise _bad_request("an applied configuration needs apiVersion and kind")
        applied = self._check_body(route, applied, name_required=True)
        applied["metadata"].pop("managedFields", None)
        dry_run = self._dry_run(request)
        current = self.store.get(route.rtype.plural, route.store_namespace, route.name)
        if current is None:
            reset_status_on_create(route.rtype, applied)
            self._prepare(route.rtype, applied, None)
            created = self.store.create(route.rtype.plural, route.store_namespace, applied,
                                        dry_run=dry_run)
            return self._respond_object(request, route.rtype, created, 201)
        merged = strategic_merge(current, applied) or {}
        self._prepare(route.rtype, merged, current)
        updated = self.store.update(route.rtype.plural, route.store_namespace, merged,
                                    dry_run=dry_run)
        return self._respond_object(request, route.rtype, updated)

    async def _delete(self, request: web.Request, route: ApiRoute) -> web.Response:
        self._count("delete")
        self._current(route)  # a NotFound naming the group, as the real server words it
        dry_run, orphan = await self._delete_options(request)
        obj = self._delete_object(route.rtype, route.store_namespace, route.name,
                                  dry_run=dry_run, orphan=orphan)
        return _json(_status_success(route.rtype, obj))

    async def _delete_collection(self, request: web.Request, route: ApiRoute) -> web.Response:
        self._count("deletecollection")
        dry_run, orphan = await self._delete_options(request)
        deleted = [self._present(route.rtype, self._delete_object(
            route.rtype, route.store_namespace, obj["metadata"]["name"], dry_run=dry_run, orphan=orphan))
            for obj in self.store.list(route.rtype.plural, route.namespace, object_predicate(request.query))]
        return _json({"kind": f"{route.rtype.kind}List", "apiVersion": route.rtype.api_version,
                      "metadata": {"resourceVersion": str(self.store.resource_version)},
                      "items": deleted})

    async def _delete_options(self, request: web.Request) -> tuple[bool, bool]:
        """(dry run, orphan dependents) from DeleteOptions.

        They come in the body (kubectl) or in the query (the Python client).
        """
        raw = await request.read()
        try:
            options = json.loads(raw) if raw.strip() else {}
        except ValueError as err:
            raise _bad_request(f"DeleteOptions are not valid JSON: {err}") from None
        if not isinstance(options, dict):
            raise _bad_request("DeleteOptions must be a JSON object")
        policy = request.query.get("propagationPolicy", options.get("propagationPolicy"))
        orphan = policy == "Orphan" or (policy is None and options.get("orphanDependents") is True)
        return self._dry_run(request) or "All" in (options.get("dryRun") or []), orphan

    def _delete_object(self, rtype: ResourceType, namespace: str, name: str, *, dry_run: bool,
                       orphan: bool) -> dict:
        """Delete, then collect the garbage: dependents go (or are orphaned) with their owner.

        The real garbage collector works asynchronously from ownerReferences; doing it
        right here is the background propagation policy without the delay.
        """
        deleted = self.store.delete(rtype.plural, namespace, name, dry_run=dry_run)
        if dry_run or not namespace:
            return deleted
        uid = deleted["metadata"].get("uid")
        for dependent_type in RESOURCES:
            if not dependent_type.namespaced:
                continue
            for dependent in self.store.list(dependent_type.plural, namespace,
                                             lambda o: _owned_by_uid(o, uid)):
                dep_name = dependent["metadata"]["name"]
                if orphan:
                    dependent["metadata"]["ownerReferences"] = [
                        ref for ref in dependent["metadata"]["ownerReferences"] if ref.get("uid") != uid]
                    self.store.update(dependent_type.plural, namespace, dependent)
                elif self.store.get(dependent_type.plural, namespace, dep_name) is not None:
                    self._delete_object(dependent_type, namespace, dep_name, dry_run=False,
                                        orphan=False)
        return deleted

    # -- watch ------------------------------------------------------------------
    async def _watch(self, request: web.Request, route: ApiRoute) -> web.StreamResponse:
        """A stream of ``{"type": ..., "object": ...}`` JSON lines.

        Without a resourceVersion (or with "0") the stream starts with an ADDED
        event per existing object, like the real server. ``sendInitialEvents``
        (client-go's watch-list) also gets them, closed by the BOOKMARK that marks
        the end of the initial events.
        """
        self._count("watch")
        rtype = route.rtype
        query = request.query
        predicate = object_predicate(query)
        since_text = query.get("resourceVersion", "")
        send_initial = query.get("sendInitialEvents") == "true"
        try:
            timeout = float(query.get("timeoutSeconds") or DEFAULT_WATCH_TIMEOUT)
            since = int(since_text) if since_text not in ("", "0") else None
        except ValueError:
            raise _bad_request("resourceVersion and timeoutSeconds must be numbers") from None
        table = wants_table(request)
        include_object = query.get("includeObject", "Metadata")

        def encode(type_: str, obj: dict) -> bytes:
            obj = self._present(rtype, obj)
            if table:
                obj = to_table(rtype, [obj], include_object, obj["metadata"].get("resourceVersion", ""))
            return json.dumps({"type": type_, "object": obj}, separators=(",", ":")).encode() + b"\n"

        initial = (self.store.list(rtype.plural, route.namespace, predicate)
                   if since is None or send_initial else [])
        response = web.StreamResponse(headers={"Content-Type": "application/json",
                                               "Cache-Control": "no-cache"})
        response.enable_chunked_encoding()
        try:
            watcher = self.store.watch(rtype.plural, route.namespace,
                                       None if send_initial else since, predicate)
        except ApiError as err:
            # The real server reports a too old resourceVersion as an ERROR event.
            await response.prepare(request)
            await response.write(json.dumps({"type": "ERROR", "object": err.status()}).encode() + b"\n")
            return response
        self._watchers.append(watcher)
        try:
            await response.prepare(request)
            for obj in initial:
                await response.write(encode("ADDED", obj))
            if send_initial:
                bookmark = {"kind": rtype.kind, "apiVersion": rtype.api_version, "metadata": {
                    "resourceVersion": str(self.store.resource_version),
                    "annotations": {"k8s.io/initial-events-end": "true"}}}
                await response.write(json.dumps({"type": "BOOKMARK", "object": bookmark}).encode() + b"\n")
            await self._pump_watch(request, response, watcher, timeout, encode)
        except ConnectionResetError:
            pass  # the client went away; nothing to tell it
        finally:
            self._watchers.remove(watcher)
            self.store.unwatch(watcher)
        return response

    @staticmethod
    async def _pump_watch(request: web.Request, response: web.StreamResponse, watcher: Watcher,
                          timeout: float, encode: Callable[[str, dict], bytes]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (remaining := deadline - loop.time()) > 0:
            try:
                event = await asyncio.wait_for(watcher.queue.get(), min(remaining, WATCH_IDLE_CHECK))
            except asyncio.TimeoutError:
                if request.transport is None or request.transport.is_closing():
                    return
                continue
            if event is None:  # server shutdown
                return
            await response.write(encode(event.type, event.obj))

    # -- subresources -------------------------------------------------------------
    async def _scale(self, request: web.Request, route: ApiRoute) -> web.Response:
        """autoscaling/v1 Scale view of spec.replicas (kubectl scale patches it)."""
        current = self._current(route)
        if request.method == "GET":
            self._count("get")
            return _json(_to_scale(current))
        self._count("update" if request.method == "PUT" else "patch")
        body = await self._read_json(request)
        scale = (body if request.method == "PUT"
                 else self._apply_patch(request.content_type, _to_scale(current), body))
        if not isinstance(scale, dict):
            raise _bad_request("a Scale must be a JSON object")
        replicas = (scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            errors = Invalid(route.rtype, route.name)
            errors.invalid("spec.replicas", replicas, "must be greater than or equal to 0")
            errors.raise_if_any()
        sent_rv = (scale.get("metadata") or {}).get("resourceVersion")
        if request.method == "PUT" and sent_rv:
            current["metadata"]["resourceVersion"] = sent_rv
        current.setdefault("spec", {})["replicas"] = replicas
        updated = self.store.update(route.rtype.plural, route.store_namespace, current,
                                    dry_run=self._dry_run(request))
        return _json(_to_scale(updated))

    async def _pod_log(self, request: web.Request, route: ApiRoute) -> web.Response:
        self._count("get")
        self._current(route)
        try:
            tail = int(request.query["tailLines"]) if "tailLines" in request.query else None
        except ValueError:
            raise _bad_request("tailLines must be a number") from None
        text = (self.hooks.pod_log(route.namespace, route.name, request.query.get("container"), tail)
                if self.hooks else None)
        if text is None:
            raise ApiError(404, "NotFound", f'no log for pod "{route.name}" in namespace '
                                            f'"{route.namespace}"')
        return web.Response(text=text, content_type="text/plain")

    async def _proxy(self, request: web.Request, route: ApiRoute) -> web.StreamResponse:
        """services/[scheme:]name[:port]/proxy/path -> the controller's forwarder."""
        self._count("proxy")
        parts = (route.name or "").split(":")
        if len(parts) == 3:
            parts = parts[1:]  # "http:name:port": the scheme is always http here
        service, port = parts[0], parts[1] if len(parts) > 1 else ""
        if self.store.get("services", route.store_namespace, service) is None:
            raise not_found("services", service)
        if self.hooks is None:
            raise ApiError(503, "ServiceUnavailable", f'no endpoints available for service "{service}"')
        return await self.hooks.service_proxy(request, route.namespace, service, port,
                                              "/".join(route.tail))


def _owned_by_uid(obj: dict, uid: str | None) -> bool:
    return any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or [])


def _to_scale(obj: dict) -> dict:
    meta = obj["metadata"]
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                              "creationTimestamp") if k in meta},
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
            "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                       "selector": selector_string((obj.get("spec") or {}).get("selector") or {})}}


# The ApiServer behind an app (its request_counts), for in-process callers.
API_SERVER = web.AppKey("api_server", ApiServer)


def build_app(store: Store, token: str, hooks: Hooks | None = None) -> web.Application:
    """The aiohttp application of the API server; ``hooks=None`` serves no proxy and no logs."""
    server = ApiServer(store, token, hooks)
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

