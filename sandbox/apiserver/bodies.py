"""Request bodies and the query parameters every write shares (dryRun)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from ..store import ApiError
from .errors import bad_request
from .protobuf import decode_protobuf
from .routes import ApiRoute

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
JSON_BODY_TYPES = frozenset({"application/json", JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH})
PROTOBUF = "application/vnd.kubernetes.protobuf"


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types "
        f"include: application/json, {JSON_PATCH}, {MERGE_PATCH}, {STRATEGIC_MERGE_PATCH}, "
        f"{APPLY_PATCH} (got {content_type!r})",
    )


async def read_json(request: web.Request) -> Any:
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
        raise bad_request(f"the request body is not valid JSON: {err}") from None


def dry_run(request: web.Request) -> bool:
    values = request.query.getall("dryRun", [])
    if any(v != "All" for v in values):
        raise bad_request(f"unsupported dryRun value {values!r}, only All is supported")
    return bool(values)


def check_body(route: ApiRoute, body: Any, *, name_required: bool) -> dict:
    """Type, kind, name and namespace of a request body against the URL."""
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object")
    rtype = route.rtype
    if body.get("kind") not in (None, rtype.kind) or body.get("apiVersion") not in (None, rtype.api_version):
        raise bad_request(
            f"the body is {body.get('apiVersion')}/{body.get('kind')}, the URL expects {rtype.api_version}/{rtype.kind}"
        )
    meta = body.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise bad_request("metadata must be an object")
    if name_required and meta.get("name") not in (None, route.name):
        raise bad_request(
            f"the name of the object ({meta.get('name')}) does not match the name on the URL ({route.name})"
        )
    if name_required:
        meta["name"] = route.name
    if rtype.namespaced and meta.get("namespace") not in (None, "", route.namespace):
        raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
    return rtype.present(body)
