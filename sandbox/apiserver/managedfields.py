"""Field ownership: ``metadata.managedFields`` and server-side apply, as kube-apiserver keeps them.

The algorithm is structured-merge-diff's (sigs.k8s.io/structured-merge-diff/v4 ``merge/update.go``,
``Updater.Update``/``Updater.Apply``/``prune``) as kube-apiserver wraps it
(k8s.io/apiserver ``pkg/endpoints/handlers/fieldmanager``, apimachinery
``pkg/util/managedfields/internal``):

* every create, update or non-apply patch is an ``Update`` by its manager (the ``fieldManager``
  query parameter, else the User-Agent up to its first ``/``: handlers/create.go
  ``managerOrUserAgent``/``prefixFromUserAgent``); the fields it added or changed become its own
  and leave every other manager; fields it removed leave everyone; a write that changes nothing
  adds no entry (managedfieldsupdater.go, ``current-operation``);
* a server-side apply owns exactly the fields of its configuration; a field another manager owns
  whose value the apply changes is a conflict (409, worded as internal/conflict.go words it)
  unless ``force``, which moves the field to the applier; a field the applier applied last time
  and no longer applies is removed when no manager owns it any more (``prune``); an apply that
  changes no value still records the applier, without a new ``time``;
* ``apiVersion``, ``kind``, ``metadata.name``/``namespace``/``uid``/... are nobody's
  (stripmeta.go); ``status`` of a kind with a status subresource belongs to writes of that
  subresource only (the strategies' ResetFields);
* a write whose body carries ``managedFields`` replaces the record with them, ``[]`` or
  ``[{}]`` clears it (fieldmanager.go ``decodeLiveOrNew``/``isResetManagedFields``); an apply
  body with ``managedFields`` is a 400 (structuredmerge.go).

The schema knowledge SSA needs (which lists merge on which keys, which maps are atomic) comes
from the built-in types' ``+listType``/``+listMapKey``/``+structType`` markers, for the fields
of the kinds this server serves; lists not named are atomic, as in the OpenAPI schema.
Left out: the cap of ten Update managers (``ancient-changes``), the client-side-apply to
server-side-apply migration (lastapplied*.go), version conversion (one version per kind).
"""

from __future__ import annotations

import copy
import json
import unicodedata
from typing import Any

from ..store import ApiError, now_rfc3339
from .resources import RESOURCES

Path = tuple[str, ...]  # FieldsV1 path elements: 'f:name', 'k:{"name":"x"}', 'v:"x"', 'i:0'
MISSING = object()
FIELD_MANAGER_MAX_LENGTH = 128  # apimachinery validation.FieldManagerMaxLength

# +listType=map lists and their +listMapKey fields (k8s.io/api struct tags); keys with a
# default in the schema are filled with it, as structured-merge-diff does for ``protocol``.
_LIST_MAP_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",),
    "initContainers": ("name",),
    "ephemeralContainers": ("name",),
    "env": ("name",),
    "volumes": ("name",),
    "volumeMounts": ("mountPath",),
    "volumeDevices": ("devicePath",),
    "imagePullSecrets": ("name",),
    "hostAliases": ("ip",),
    "resourceClaims": ("name",),
    "topologySpreadConstraints": ("topologyKey", "whenUnsatisfiable"),
    "conditions": ("type",),
    "ownerReferences": ("uid",),
}
_KEY_DEFAULTS = {"protocol": "TCP"}
# +structType=atomic / +mapType=atomic fields: owned and replaced as one value
# (metav1.LabelSelector; ServiceSpec.selector).
_ATOMIC_MAPS = {"selector"}
# Fields nobody owns (stripmeta.go), as paths.
_STRIPPED: set[Path] = {
    ("f:apiVersion",),
    ("f:kind",),
    ("f:metadata",),
    *(
        ("f:metadata", f"f:{name}")
        for name in (
            "name",
            "namespace",
            "creationTimestamp",
            "selfLink",
            "uid",
            "clusterName",
            "generation",
            "managedFields",
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
        )
    ),
}
# What a new object of each kind holds before the request's fields (the Go structs that are
# not pointers), so that a create owns ``.spec.replicas`` but not ``.spec`` itself.
_EMPTY_OBJECTS: dict[str, dict] = {
    "deployments": {
        "spec": {"template": {"metadata": {}, "spec": {"containers": None}}, "strategy": {}},
        "status": {},
    },
    "replicasets": {"spec": {"template": {"metadata": {}, "spec": {"containers": None}}}, "status": {}},
    "pods": {"spec": {"containers": None}, "status": {}},
    "services": {"spec": {}, "status": {"loadBalancer": {}}},
    "namespaces": {"spec": {}, "status": {}},
    "leases": {"spec": {}},
    "rolebindings": {"roleRef": {}},
    "clusterrolebindings": {"roleRef": {}},
    "events": {"involvedObject": {}, "source": {}},
}
# Kinds with a status subresource: their status is no main-resource writer's (ResetFields).
_STATUS_KINDS = {r.plural for r in RESOURCES if r.subresource("status") is not None}


# -- paths and field sets ---------------------------------------------------------------


def _list_keys(path: Path, items: list) -> tuple[str, ...] | None:
    name = path[-1][2:] if path and path[-1].startswith("f:") else ""
    if name == "ports":
        first = next((i for i in items if isinstance(i, dict)), {})
        return ("containerPort", "protocol") if "containerPort" in first else ("port", "protocol")
    return _LIST_MAP_KEYS.get(name)


def _is_set_list(path: Path) -> bool:
    return path[-2:] == ("f:metadata", "f:finalizers")


def _item_element(keys: tuple[str, ...] | None, item: Any, index: int) -> str:
    if keys and isinstance(item, dict) and all(k in item or k in _KEY_DEFAULTS for k in keys):
        key = {k: item.get(k, _KEY_DEFAULTS.get(k)) for k in sorted(keys)}
        return "k:" + json.dumps(key, separators=(",", ":"))
    return f"i:{index}"


def _list_items(path: Path, value: list) -> dict[str, Any] | None:
    """The items of a granular list by path element, or None when the list is atomic."""
    if _is_set_list(path):
        return {"v:" + json.dumps(item, separators=(",", ":")): item for item in value}
    keys = _list_keys(path, value)
    if keys is None:
        return None
    return {_item_element(keys, item, i): item for i, item in enumerate(value)}


def _granular(path: Path, value: Any) -> dict[str, Any] | None:
    """The children of a value SSA looks into, by path element; None for a leaf (scalar, atomic)."""
    if isinstance(value, dict):
        if path and path[-1][2:] in _ATOMIC_MAPS and path[-1].startswith("f:"):
            return None
        return {f"f:{k}": v for k, v in value.items()}
    if isinstance(value, list):
        return _list_items(path, value)
    return None


def field_set(value: Any, path: Path = ()) -> set[Path]:
    """typed.ToFieldSet: the leaves and the list items of an applied configuration (not its maps)."""
    out: set[Path] = set()
    children = _granular(path, value)
    if children is None:
        if path:
            out.add(path)
        return out
    is_list = isinstance(value, list)
    for element, child in children.items():
        child_path = path + (element,)
        if is_list:
            out.add(child_path)
        out |= field_set(child, child_path)
    return out


def _all_paths(value: Any, path: Path) -> set[Path]:
    """Every node of a value that appeared or went: the node itself and all below it."""
    out = {path}
    for element, child in (_granular(path, value) or {}).items():
        out |= _all_paths(child, path + (element,))
    return out


def compare(old: Any, new: Any, path: Path = ()) -> tuple[set[Path], set[Path], set[Path]]:
    """typed.Compare: (added, modified, removed) paths between two values."""
    added: set[Path] = set()
    modified: set[Path] = set()
    removed: set[Path] = set()
    if old is MISSING:
        return _all_paths(new, path), modified, removed
    if new is MISSING:
        return added, modified, _all_paths(old, path)
    # A null list or map (a nil slice of a Go struct, ``containers: null``) is an empty one.
    if old is None and isinstance(new, (dict, list)):
        old = type(new)()
    elif new is None and isinstance(old, (dict, list)):
        new = type(old)()
    old_children, new_children = _granular(path, old), _granular(path, new)
    if old_children is None or new_children is None or type(old) is not type(new):
        if old != new:
            modified.add(path)
        return added, modified, removed
    for element in {**old_children, **new_children}:
        a, m, r = compare(old_children.get(element, MISSING), new_children.get(element, MISSING), path + (element,))
        added |= a
        modified |= m
        removed |= r
    return added, modified, removed


def to_fields_v1(paths: set[Path]) -> dict:
    """A field set as FieldsV1 JSON: ``"."`` marks a node owned itself that also has children."""
    tree: dict = {}
    for path in sorted(paths):
        node = tree
        for element in path:
            node = node.setdefault(element, {})
    members = set(paths)

    def mark(node: dict, prefix: Path) -> None:
        for element, child in node.items():
            if element == ".":
                continue
            here = prefix + (element,)
            if child and here in members:
                child["."] = {}
            mark(child, here)

    mark(tree, ())
    return _sorted_tree(tree)


def _sorted_tree(node: dict) -> dict:
    return {k: _sorted_tree(node[k]) for k in sorted(node)}


def from_fields_v1(tree: Any, prefix: Path = ()) -> set[Path]:
    out: set[Path] = set()
    if not isinstance(tree, dict):
        return out
    for element, child in tree.items():
        if element == ".":
            out.add(prefix)
            continue
        here = prefix + (element,)
        if not child:
            out.add(here)
        else:
            out |= from_fields_v1(child, here)
    return out


def path_string(path: Path) -> str:
    """fieldpath.Path.String(): ``.spec.containers[name="x"].image``."""
    parts = []
    for element in path:
        kind, _, rest = element.partition(":")
        if kind == "f":
            parts.append("." + rest)
        elif kind == "k":
            key = json.loads(rest)
            parts.append("[" + ",".join(f"{k}={_go_value(v)}" for k, v in key.items()) + "]")
        elif kind == "v":
            parts.append(f"[={_go_value(json.loads(rest))}]")
        else:
            parts.append(f"[{rest}]")
    return "".join(parts)


def _go_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return json.dumps(value) if isinstance(value, str) else str(value)


# -- removing fields (prune) -------------------------------------------------------------


def _remove_path(obj: Any, path: Path) -> None:
    """Remove one field or list item from ``obj`` in place (if it is there)."""
    parent_path, last = path[:-1], path[-1]
    parent = obj
    for i, element in enumerate(parent_path):
        children = _granular(parent_path[:i], parent)
        if children is None or element not in children:
            return
        parent = children[element]
    if isinstance(parent, dict) and last.startswith("f:"):
        parent.pop(last[2:], None)
    elif isinstance(parent, list):
        items = _list_items(parent_path, parent) or {}
        if last in items:
            target = items[last]
            for i, item in enumerate(parent):
                if item is target:
                    del parent[i]
                    break


# -- the record ------------------------------------------------------------------------


class Managers:
    """The decoded managedFields: identity -> (entry without its fields, owned paths)."""

    def __init__(self, entries: Any) -> None:
        self.entries: dict[str, dict] = {}
        self.sets: dict[str, set[Path]] = {}
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict) or not entry.get("manager") and not entry.get("fieldsV1"):
                continue
            ident = identity(entry)
            self.entries[ident] = {k: v for k, v in entry.items() if k not in ("fieldsV1", "fieldsType")}
            self.sets[ident] = from_fields_v1(entry.get("fieldsV1"))

    def encode(self) -> list[dict]:
        out = []
        for ident, paths in self.sets.items():
            if not paths:
                continue
            head = self.entries[ident]
            entry = {k: head[k] for k in ("manager", "operation", "apiVersion", "time") if k in head}
            entry["fieldsType"] = "FieldsV1"
            entry["fieldsV1"] = to_fields_v1(paths)
            if head.get("subresource"):
                entry["subresource"] = head["subresource"]
            out.append(entry)
        # sortEncodedManagedFields: Apply before Update, then by time, manager, apiVersion, subresource.
        out.sort(
            key=lambda e: (e["operation"], e.get("time", ""), e["manager"], e["apiVersion"], e.get("subresource", ""))
        )
        return out


def identity(entry: dict) -> str:
    """BuildManagerIdentifier: manager, operation, apiVersion (not for Apply), subresource."""
    ident = {"manager": entry.get("manager", ""), "operation": entry.get("operation", "")}
    if entry.get("operation") != "Apply":
        ident["apiVersion"] = entry.get("apiVersion", "")
    if entry.get("subresource"):
        ident["subresource"] = entry["subresource"]
    return json.dumps(ident, separators=(",", ":"))


def _printed(ident: str) -> str:
    """printManager: ``"name"``, plus ``using <apiVersion>`` for an Update."""
    entry = json.loads(ident)
    text = json.dumps(entry["manager"])
    if entry.get("subresource"):
        text += f" with subresource {json.dumps(entry['subresource'])}"
    if entry["operation"] == "Update":
        text += f" using {entry['apiVersion']}"
    return text


def _tracked(plural: str, obj: dict | None, subresource: str) -> Any:
    """The part of an object field ownership is about."""
    if obj is None:
        return copy.deepcopy(_EMPTY_OBJECTS.get(plural, {}))
    tracked = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if ("f:metadata", f"f:{k}") not in _STRIPPED}
    tracked["metadata"] = meta
    if subresource == "scale":
        return {"spec": {"replicas": (obj.get("spec") or {}).get("replicas")}}
    if plural in _STATUS_KINDS:
        if subresource == "status":
            return {"status": tracked.get("status", {})}
        tracked.pop("status", None)
    return tracked


def _strip(paths: set[Path]) -> set[Path]:
    return {p for p in paths if p and p not in _STRIPPED and p[:2] not in _STRIPPED}


def _base_managers(new: dict, live: dict | None) -> Managers:
    """decodeLiveOrNew: the request's own managedFields if it has some, else the live ones."""
    sent = (new.get("metadata") or {}).get("managedFields")
    if sent == [] or sent == [{}]:
        return Managers([])
    sent_managers = Managers(sent)
    if sent_managers.sets:
        return sent_managers
    return Managers(((live or {}).get("metadata") or {}).get("managedFields"))


def record_update(
    plural: str, live: dict | None, new: dict, manager: str, api_version: str, subresource: str = ""
) -> None:
    """Set ``new``'s managedFields for a create/update/patch by ``manager`` (Updater.Update)."""
    managers = _base_managers(new, live)
    added, modified, removed = compare(_tracked(plural, live, subresource), _tracked(plural, new, subresource))
    added, modified, removed = _strip(added), _strip(modified), _strip(removed)
    for ident in managers.sets:
        managers.sets[ident] -= added | modified | removed
    taken = added | modified
    if taken:
        entry = {"manager": manager, "operation": "Update", "apiVersion": api_version, "time": now_rfc3339()}
        if subresource == "scale":
            del entry["time"]  # as real clusters show their scale entries (converted from the Scale's)
        if subresource:
            entry["subresource"] = subresource
        ident = identity(entry)
        managers.sets[ident] = (managers.sets.get(ident, set()) | taken) - removed
        managers.entries[ident] = entry
    new.setdefault("metadata", {})["managedFields"] = managers.encode()
    if not new["metadata"]["managedFields"]:
        del new["metadata"]["managedFields"]


def server_side_apply(
    plural: str, live: dict | None, applied: dict, merged: dict, manager: str, api_version: str, force: bool
) -> dict:
    """The object after ``manager`` applied ``applied`` (already merged into ``live`` as ``merged``).

    Raises the 409 of a conflict unless ``force``. The result carries the new managedFields.
    """
    managers = Managers(((live or {}).get("metadata") or {}).get("managedFields"))
    entry = {"manager": manager, "operation": "Apply", "apiVersion": api_version}
    ident = identity(entry)
    last = managers.sets.get(ident, set())
    owned = _strip(field_set(_tracked(plural, applied, "")))
    managers.sets[ident] = owned
    managers.entries[ident] = {**managers.entries.get(ident, {}), **entry}
    result = copy.deepcopy(merged)
    others = set().union(*(s for i, s in managers.sets.items() if i != ident))
    for path in sorted(last - owned, key=len, reverse=True):
        if path not in others and not any(p[: len(path)] == path for p in others | owned):
            _remove_path(result, path)
    before = _tracked(plural, live, "")
    added, modified, removed = compare(before, _tracked(plural, result, ""))
    changed = _strip(added | modified)
    conflicts = {
        other: sorted(paths & changed, key=path_string)
        for other, paths in managers.sets.items()
        if other != ident and paths & changed
    }
    if conflicts and not force:
        raise conflict_error(conflicts)
    for other in managers.sets:
        if other != ident:
            managers.sets[other] -= changed | _strip(removed)
    if before != _tracked(plural, result, ""):
        # managedFieldsUpdater.Apply: a new time only when the object changed; a no-op apply
        # records the applier (a new one without a time) and leaves the rest as it was.
        managers.entries[ident]["time"] = now_rfc3339()
    result.setdefault("metadata", {})["managedFields"] = managers.encode()
    return result


def conflict_error(conflicts: dict[str, list[Path]]) -> ApiError:
    """NewConflictError / getConflictMessage (apimachinery managedfields/internal/conflict.go)."""
    flat = [(ident, path) for ident in conflicts for path in conflicts[ident]]
    causes = [
        {"reason": "FieldManagerConflict", "message": f"conflict with {_printed(i)}", "field": path_string(p)}
        for i, p in flat
    ]
    if len(flat) == 1:
        message = f"Apply failed with 1 conflict: conflict with {_printed(flat[0][0])}: {path_string(flat[0][1])}"
    else:
        lines = []
        for ident in sorted(conflicts):
            lines.append(f"conflicts with {_printed(ident)}:")
            lines += [f"- {path_string(p)}" for p in conflicts[ident]]
        message = f"Apply failed with {len(flat)} conflicts: " + "\n".join(lines)
    return ApiError(409, "Conflict", message, {"causes": causes})


# -- request parameters ------------------------------------------------------------------


def manager_of(query: Any, user_agent: str) -> str:
    """managerOrUserAgent: the fieldManager parameter, else the User-Agent before its first '/'."""
    if query.get("fieldManager"):
        return query["fieldManager"]
    out = ""
    for char in user_agent.split("/")[0]:
        if not char.isprintable() or unicodedata.category(char) == "Cc":
            continue
        if len((out + char).encode()) > FIELD_MANAGER_MAX_LENGTH:
            break
        out += char
    return out


def check_options(query: Any, options_kind: str, *, apply: bool = False) -> None:
    """ValidatePatchOptions/ValidateFieldManager: a 422 on the options, before anything is read."""
    causes = []
    manager = query.get("fieldManager", "")
    if apply and not manager:
        required = "Required value: is required for apply patch"
        causes.append({"reason": "FieldValueRequired", "message": required, "field": "fieldManager"})
    if options_kind == "PatchOptions" and not apply and "force" in query:
        causes.append(
            {
                "reason": "FieldValueForbidden",
                "message": "Forbidden: may not be specified for non-apply patch",
                "field": "force",
            }
        )
    if len(manager.encode()) > FIELD_MANAGER_MAX_LENGTH:
        causes.append(
            {
                "reason": "FieldValueTooLong",
                "message": f"Too long: may not be more than {FIELD_MANAGER_MAX_LENGTH} bytes",
                "field": "fieldManager",
            }
        )
    if not causes:
        return
    text = ", ".join(f"{c['field']}: {c['message']}" for c in causes)
    if len(causes) > 1:
        text = f"[{text}]"
    raise ApiError(
        422,
        "Invalid",
        f'{options_kind}.meta.k8s.io "" is invalid: {text}',
        {"group": "meta.k8s.io", "kind": options_kind, "causes": causes},
    )


def keep_times_of_a_no_op(current: dict, new: dict) -> None:
    """IgnoreManagedFieldsTimestampsTransformer (fieldmanager/equality.go): a write that changes
    nothing but the times of managedFields keeps the old times, so it stays a no-op."""

    def without_times(obj: dict) -> tuple:
        meta = obj.get("metadata") or {}
        rest = {k: v for k, v in obj.items() if k not in ("metadata", "status")}
        entries = [{k: v for k, v in e.items() if k != "time"} for e in meta.get("managedFields") or []]
        return rest, {k: v for k, v in meta.items() if k not in ("managedFields", "resourceVersion")}, entries

    if "managedFields" not in (current.get("metadata") or {}):
        return
    if without_times(current) == without_times(new):
        new["metadata"]["managedFields"] = copy.deepcopy(current["metadata"]["managedFields"])
