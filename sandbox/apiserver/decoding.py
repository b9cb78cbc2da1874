"""What kube-apiserver's JSON decoding rejects before validation ever runs.

The real server decodes a body into its Go types; a value of the wrong JSON
type, or a time in the wrong format, fails there. A create or update answers
400 BadRequest ("<Kind> in version "v1" cannot be handled as a <Kind>: ...");
a patch whose result does not decode answers 422 (see server.py). Only the
kinds whose fields this project's clients write are described: Leases (whose
MicroTime fields need exactly six fractional digits, a classic trap for
clients that print times without them) and the RBAC kinds.
"""

from __future__ import annotations

import datetime
import json
import re
from typing import Any, Union

from .resources import ResourceType


class DecodeError(Exception):
    """The Go decoder's error text."""


# Field types: a scalar name, ("list", item), or ("struct", name, go_type, fields).
Spec = Union[str, tuple]
_GO_TYPES = {"string": "string", "int32": "int32", "int64": "int64", "bool": "bool", "microtime": "v1.MicroTime"}
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def list_of(item: Spec) -> tuple:
    return ("list", item)


def struct(name: str, go_type: str, fields: dict[str, Spec]) -> tuple:
    return ("struct", name, go_type, fields)


_STRINGS = list_of("string")
_POLICY_RULE = struct(
    "PolicyRule",
    "v1.PolicyRule",
    {
        "verbs": _STRINGS,
        "apiGroups": _STRINGS,
        "resources": _STRINGS,
        "resourceNames": _STRINGS,
        "nonResourceURLs": _STRINGS,
    },
)
_LABEL_SELECTOR = struct("LabelSelector", "v1.LabelSelector", {"matchLabels": "object", "matchExpressions": "array"})
_SUBJECT = struct(
    "Subject", "v1.Subject", {"kind": "string", "apiGroup": "string", "name": "string", "namespace": "string"}
)
_ROLE_REF = struct("RoleRef", "v1.RoleRef", {"apiGroup": "string", "kind": "string", "name": "string"})
_BINDING = {"subjects": list_of(_SUBJECT), "roleRef": _ROLE_REF}

SCHEMAS: dict[str, dict[str, Spec]] = {
    "Lease": {
        "spec": struct(
            "LeaseSpec",
            "v1.LeaseSpec",
            {
                "holderIdentity": "string",
                "leaseDurationSeconds": "int32",
                "acquireTime": "microtime",
                "renewTime": "microtime",
                "leaseTransitions": "int32",
                "strategy": "string",
                "preferredHolder": "string",
            },
        )
    },
    "Role": {"rules": list_of(_POLICY_RULE)},
    "ClusterRole": {
        "rules": list_of(_POLICY_RULE),
        "aggregationRule": struct(
            "AggregationRule", "v1.AggregationRule", {"clusterRoleSelectors": list_of(_LABEL_SELECTOR)}
        ),
    },
    "RoleBinding": _BINDING,
    "ClusterRoleBinding": _BINDING,
    "ServiceAccount": {"automountServiceAccountToken": "bool", "secrets": "array", "imagePullSecrets": "array"},
}


def check_decodable(rtype: ResourceType, obj: dict) -> None:
    """Raise DecodeError with the Go decoder's message if ``obj`` would not decode."""
    schema = SCHEMAS.get(rtype.kind)
    if schema is not None:
        _check_fields(obj, schema, rtype.kind, "")


def decode_error_message(rtype: ResourceType, err: DecodeError) -> str:
    """The create/update form: 400 "<Kind> in version ... cannot be handled as a <Kind>"."""
    return f'{rtype.kind} in version "{rtype.version}" cannot be handled as a {rtype.kind}: {err}'


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), "value")


def _go_type(spec: Spec) -> str:
    if isinstance(spec, str):
        return {"object": "map[string]string", "array": "[]interface {}"}.get(spec, _GO_TYPES.get(spec, spec))
    if spec[0] == "list":
        return "[]" + _go_type(spec[1])
    return spec[2]


def _mismatch(value: Any, owner: str, path: str, spec: Spec, number_text: bool = False) -> DecodeError:
    shown = _json_type(value)
    if number_text:
        shown = f"number {json.dumps(value)}"
    return DecodeError(f"json: cannot unmarshal {shown} into Go struct field {owner}.{path} of type {_go_type(spec)}")


def _check_fields(obj: dict, fields: dict[str, Spec], owner: str, prefix: str) -> None:
    for name, spec in fields.items():
        if name in obj:
            check_value(obj[name], spec, owner, f"{prefix}{name}")


def check_value(value: Any, spec: Spec, owner: str, path: str) -> None:
    if value is None:
        return  # null decodes to the zero value
    if isinstance(spec, tuple) and spec[0] == "list":
        if not isinstance(value, list):
            raise _mismatch(value, owner, path, spec)
        for item in value:
            check_value(item, spec[1], owner, path)
    elif isinstance(spec, tuple):
        if not isinstance(value, dict):
            raise _mismatch(value, owner, path, spec)
        _check_fields(value, spec[3], spec[1], f"{path}.")
    elif spec == "microtime":
        if not isinstance(value, str):
            # MicroTime.UnmarshalJSON decodes a string first, without struct context.
            raise DecodeError(f"json: cannot unmarshal {_json_type(value)} into Go value of type string")
        problem = parse_micro_time(value)
        if problem:
            raise DecodeError(problem)
    elif spec in _INT_RANGES:
        low, high = _INT_RANGES[spec]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _mismatch(value, owner, path, spec)
        if isinstance(value, float) or not low <= value <= high:
            raise _mismatch(value, owner, path, spec, number_text=True)
    elif spec in ("string", "bool", "object", "array"):
        wanted = {"string": str, "bool": bool, "object": dict, "array": list}[spec]
        if not isinstance(value, wanted):
            raise _mismatch(value, owner, path, spec)


# metav1.MicroTime is parsed with Go's layout "2006-01-02T15:04:05.000000Z07:00":
# exactly six fractional digits, then Z or a numeric offset.
MICRO_LAYOUT = "2006-01-02T15:04:05.000000Z07:00"
_LAYOUT = [
    ("2006", r"\d{4}"),
    ("-", "-"),
    ("01", r"\d{2}"),
    ("-", "-"),
    ("02", r"\d{2}"),
    ("T", "T"),
    ("15", r"\d{1,2}"),
    (":", ":"),
    ("04", r"\d{2}"),
    (":", ":"),
    ("05", r"\d{2}"),
    (".000000", r"[.,]\d{6}"),
    ("Z07:00", r"Z|[+-]\d{2}:\d{2}"),
]


def parse_micro_time(text: str) -> str | None:
    """None if Go parses ``text`` as a MicroTime, else Go's time.ParseError message."""
    rest = text
    values = []
    for element, pattern in _LAYOUT:
        match = re.match(pattern, rest)
        if match is None:
            return (
                f"parsing time {json.dumps(text)} as {json.dumps(MICRO_LAYOUT)}: cannot parse "
                f"{json.dumps(rest)} as {json.dumps(element)}"
            )
        values.append(match.group(0))
        rest = rest[match.end() :]
    if rest:
        return f"parsing time {json.dumps(text)}: extra text: {json.dumps(rest)}"
    year, month, day, hour, minute, second = (int(values[i]) for i in (0, 2, 4, 6, 8, 10))
    for what, value, low, high in (
        ("month", month, 1, 12),
        ("hour", hour, 0, 23),
        ("minute", minute, 0, 59),
        ("second", second, 0, 59),
    ):
        if not low <= value <= high:
            return f"parsing time {json.dumps(text)}: {what} out of range"
    try:
        datetime.date(year, month, day)
    except ValueError:
        return f"parsing time {json.dumps(text)}: day out of range"
    return None
