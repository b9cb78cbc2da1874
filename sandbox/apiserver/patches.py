"""The patch types of PATCH requests: JSON merge patch, strategic merge patch, JSON patch.

Server-side apply (``application/apply-patch+yaml``) also merges with
:func:`strategic_merge`; its request handling lives with the other verbs.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Callable

from ..store import ApiError
from .bodies import JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, unsupported_media_type
from .errors import bad_request


def _container_port_key(items: list) -> str:
    # Container ports merge on containerPort, Service ports on port: the field is
    # called "ports" in both, so the items tell which one this is.
    return "containerPort" if any(isinstance(i, dict) and "containerPort" in i for i in items) else "port"


# patchMergeKey of the list fields of the built-in types this server serves
# (k8s.io/api struct tags); lists not named here are replaced as a whole.
MERGE_KEYS: dict[str, str | Callable[[list], str]] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "resourceClaims": "name",
    "topologySpreadConstraints": "topologyKey",
    "conditions": "type",
    "ownerReferences": "uid",
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
    body = {
        k: v for k, v in patch.items() if k not in ("$patch", "$retainKeys") and not k.startswith(_DIRECTIVE_PREFIXES)
    }
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
        return [
            strategic_merge({}, item) if isinstance(item, dict) else copy.deepcopy(item)
            for item in patch
            if not (isinstance(item, dict) and item.get("$patch"))
        ]
    if any(item.get("$patch") == "replace" for item in patch):
        original = []
    result = copy.deepcopy(original)
    for item in patch:
        if item.get("$patch") == "replace":
            continue
        index = next(
            (i for i, old in enumerate(result) if isinstance(old, dict) and key in item and old.get(key) == item[key]),
            None,
        )
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
        raise bad_request("a JSON patch must be a list of operations")
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
                doc = _pointer_add(_pointer_remove(doc, op["path"]), op["path"], copy.deepcopy(op["value"]))
            elif kind == "test":
                if _pointer_get(doc, op["path"]) != op["value"]:
                    raise ApiError(422, "Invalid", f"testing value {op['path']} failed")
            else:
                raise bad_request(f"unexpected JSON patch operation {kind!r}")
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
    parent = _pointer_get(doc, "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in tokens[:-1]))
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
    parent = _pointer_get(doc, "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in tokens[:-1]))
    if isinstance(parent, list):
        del parent[int(tokens[-1])]
    else:
        del parent[tokens[-1]]
    return doc


def apply_patch(content_type: str, current: dict, patch: Any) -> Any:
    """The object after a PATCH request's body of the given patch type."""
    if content_type == JSON_PATCH:
        return json_patch(current, patch)
    if not isinstance(patch, dict):
        raise bad_request("a merge patch must be a JSON object")
    if content_type == MERGE_PATCH:
        return merge_patch(current, patch)
    if content_type == STRATEGIC_MERGE_PATCH:
        return strategic_merge(current, patch) or {}
    raise unsupported_media_type(content_type)
