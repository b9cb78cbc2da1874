"""Protobuf request bodies, as far as kubectl sends them."""

from __future__ import annotations

import base64

from ..store import ApiError
from .errors import bad_request

# Protobuf: kubectl's generator commands (kubectl create configmap/secret/namespace ...)
# and its typed calls (auth can-i, auth whoami, create token) send protobuf, and
# client-go does not retry a 415 as JSON. The envelope is the magic "k8s\0" and a
# runtime.Unknown {typeMeta = 1, raw = 2}; raw is the object in the k8s.io/api
# generated.proto schema (field numbers checked against kubectl 1.32's bodies).
# Only the kinds (and fields) those commands produce are described here.

_PB_MAGIC = b"k8s\x00"
_PB_OBJECT_META = {
    1: ("name", "string"),
    2: ("generateName", "string"),
    3: ("namespace", "string"),
    11: ("labels", "map"),
    12: ("annotations", "map"),
    14: ("finalizers", "strings"),
}
_PB_POLICY_RULE = {
    1: ("verbs", "strings"),
    2: ("apiGroups", "strings"),
    3: ("resources", "strings"),
    4: ("resourceNames", "strings"),
    5: ("nonResourceURLs", "strings"),
}
_PB_LABEL_SELECTOR = {
    1: ("matchLabels", "map"),
    2: ("matchExpressions", [{1: ("key", "string"), 2: ("operator", "string"), 3: ("values", "strings")}]),
}
_PB_BINDING = {
    1: ("metadata", _PB_OBJECT_META),
    2: (
        "subjects",
        [{1: ("kind", "string"), 2: ("apiGroup", "string"), 3: ("name", "string"), 4: ("namespace", "string")}],
    ),
    3: ("roleRef", {1: ("apiGroup", "string"), 2: ("kind", "string"), 3: ("name", "string")}),
}
_PB_KINDS = {
    "ConfigMap": {
        1: ("metadata", _PB_OBJECT_META),
        2: ("data", "map"),
        3: ("binaryData", "bytes-map"),
        4: ("immutable", "bool"),
    },
    "Secret": {
        1: ("metadata", _PB_OBJECT_META),
        2: ("data", "bytes-map"),
        3: ("type", "string"),
        4: ("stringData", "map"),
        5: ("immutable", "bool"),
    },
    "Namespace": {1: ("metadata", _PB_OBJECT_META), 2: ("spec", {1: ("finalizers", "strings")})},
    # kubectl create serviceaccount|role|clusterrole|rolebinding|clusterrolebinding.
    "ServiceAccount": {1: ("metadata", _PB_OBJECT_META)},
    "Role": {1: ("metadata", _PB_OBJECT_META), 2: ("rules", [_PB_POLICY_RULE])},
    "ClusterRole": {
        1: ("metadata", _PB_OBJECT_META),
        2: ("rules", [_PB_POLICY_RULE]),
        3: ("aggregationRule", {1: ("clusterRoleSelectors", [_PB_LABEL_SELECTOR])}),
    },
    "RoleBinding": _PB_BINDING,
    "ClusterRoleBinding": _PB_BINDING,
    # What typed clients (kubectl auth can-i / whoami, kubectl create token) send.
    "SelfSubjectAccessReview": {
        1: ("metadata", _PB_OBJECT_META),
        2: (
            "spec",
            {
                1: (
                    "resourceAttributes",
                    {
                        1: ("namespace", "string"),
                        2: ("verb", "string"),
                        3: ("group", "string"),
                        4: ("version", "string"),
                        5: ("resource", "string"),
                        6: ("subresource", "string"),
                        7: ("name", "string"),
                    },
                ),
                2: ("nonResourceAttributes", {1: ("path", "string"), 2: ("verb", "string")}),
            },
        ),
    },
    "SelfSubjectRulesReview": {1: ("metadata", _PB_OBJECT_META), 2: ("spec", {1: ("namespace", "string")})},
    "SelfSubjectReview": {1: ("metadata", _PB_OBJECT_META)},
    "TokenRequest": {
        1: ("metadata", _PB_OBJECT_META),
        2: (
            "spec",
            {
                1: ("audiences", "strings"),
                4: ("expirationSeconds", "int"),
                3: (
                    "boundObjectRef",
                    {1: ("kind", "string"), 2: ("apiVersion", "string"), 3: ("name", "string"), 4: ("uid", "string")},
                ),
            },
        ),
    },
}
_PB_UNKNOWN = {1: ("typeMeta", {1: ("apiVersion", "string"), 2: ("kind", "string")}), 2: ("raw", "raw")}


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
            value, pos = data[pos : pos + length], pos + length
        elif wire_type in (1, 5):
            size = 8 if wire_type == 1 else 4
            value, pos = data[pos : pos + size], pos + size
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
        elif isinstance(kind, list):  # a repeated message: [schema]
            out.setdefault(name, []).append(_pb_message(value, kind[0]))
        elif kind == "raw":
            out[name] = value
        elif kind == "string":
            if value:  # an empty string is the unset value; JSON would omit it
                out[name] = value.decode()
        elif kind == "int":
            out[name] = value
        elif kind == "bool":
            out[name] = bool(value)
        elif kind == "strings":
            out.setdefault(name, []).append(value.decode())
        else:  # map entries are messages {key = 1, value = 2}
            entry = dict(_pb_fields(value))
            raw = entry.get(2, b"")
            out.setdefault(name, {})[entry.get(1, b"").decode()] = (
                base64.b64encode(raw).decode() if kind == "bytes-map" else raw.decode()
            )
    return out


def decode_protobuf(body: bytes) -> dict:
    """A Kubernetes protobuf request body as the equivalent JSON object."""
    if not body.startswith(_PB_MAGIC):
        raise bad_request("a protobuf body must start with the k8s magic number")
    try:
        envelope = _pb_message(body[len(_PB_MAGIC) :], _PB_UNKNOWN)
        type_meta = envelope.get("typeMeta", {})
        schema = _PB_KINDS.get(type_meta.get("kind", ""))
        if schema is None:
            raise ApiError(
                415,
                "UnsupportedMediaType",
                f"this sandbox reads protobuf bodies only for {', '.join(_PB_KINDS)}; "
                f"send {type_meta.get('kind')} as JSON (kubectl create -f / apply -f)",
            )
        return {**type_meta, **_pb_message(envelope.get("raw", b""), schema)}
    except (IndexError, ValueError, UnicodeDecodeError) as err:
        raise bad_request(f"the protobuf body cannot be decoded: {err}") from None
