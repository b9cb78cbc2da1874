"""JSON responses: objects (or their Table form), Status errors and successes."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from ..store import ApiError
from .resources import ResourceType
from .tables import to_table, wants_table


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body, separators=(",", ":")), status=status, content_type="application/json")


def error_response(err: ApiError) -> web.Response:
    return json_response(err.status(), err.code)


def object_response(request: web.Request, rtype: ResourceType, obj: dict, status: int = 200) -> web.Response:
    """One object as JSON, or as a one-row Table when kubectl asks for one."""
    rtype.present(obj)
    if wants_table(request):
        return json_response(
            to_table(
                rtype, [obj], request.query.get("includeObject", "Metadata"), obj["metadata"].get("resourceVersion", "")
            ),
            status,
        )
    return json_response(obj, status)


def status_success(rtype: ResourceType, obj: dict) -> dict:
    """The Status a DELETE answers with."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {
            "name": obj["metadata"]["name"],
            "group": rtype.group,
            "kind": rtype.plural,
            "uid": obj["metadata"].get("uid"),
        },
    }
