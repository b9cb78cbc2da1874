"""WATCH: a stream of ``{"type": ..., "object": ...}`` JSON lines."""

from __future__ import annotations

import asyncio
import json
from typing import Callable

from aiohttp import web

from ..store import ApiError, Store, Watcher
from .errors import bad_request
from .routes import ApiRoute
from .selectors import object_predicate
from .tables import to_table, wants_table

# The real API server ends a watch after a random 30-60 minutes so clients
# re-list now and then; one fixed value is enough here.
DEFAULT_WATCH_TIMEOUT = 1800.0
# How often a quiet watch checks whether its client went away.
WATCH_IDLE_CHECK = 2.0


async def serve_watch(
    request: web.Request, route: ApiRoute, store: Store, open_watchers: list[Watcher]
) -> web.StreamResponse:
    """Stream the events of one resource (in one namespace or all) to the client.

    Without a resourceVersion (or with "0") the stream starts with an ADDED
    event per existing object, like the real server. ``sendInitialEvents``
    (client-go's watch-list) also gets them, closed by the BOOKMARK that marks
    the end of the initial events. The watcher is in ``open_watchers`` while
    the stream is open, so that a server shutdown can end it.
    """
    rtype = route.rtype
    query = request.query
    predicate = object_predicate(query)
    since_text = query.get("resourceVersion", "")
    send_initial = query.get("sendInitialEvents") == "true"
    try:
        timeout = float(query.get("timeoutSeconds") or DEFAULT_WATCH_TIMEOUT)
        since = int(since_text) if since_text not in ("", "0") else None
    except ValueError:
        raise bad_request("resourceVersion and timeoutSeconds must be numbers") from None
    table = wants_table(request)
    include_object = query.get("includeObject", "Metadata")

    def encode(type_: str, obj: dict) -> bytes:
        obj = rtype.present(obj)
        if table:
            obj = to_table(rtype, [obj], include_object, obj["metadata"].get("resourceVersion", ""))
        return json.dumps({"type": type_, "object": obj}, separators=(",", ":")).encode() + b"\n"

    initial = store.list(rtype.plural, route.namespace, predicate) if since is None or send_initial else []
    response = web.StreamResponse(headers={"Content-Type": "application/json", "Cache-Control": "no-cache"})
    response.enable_chunked_encoding()
    try:
        watcher = store.watch(rtype.plural, route.namespace, None if send_initial else since, predicate)
    except ApiError as err:
        # The real server reports a too old resourceVersion as an ERROR event.
        await response.prepare(request)
        await response.write(json.dumps({"type": "ERROR", "object": err.status()}).encode() + b"\n")
        return response
    open_watchers.append(watcher)
    try:
        await response.prepare(request)
        for obj in initial:
            await response.write(encode("ADDED", obj))
        if send_initial:
            bookmark = {
                "kind": rtype.kind,
                "apiVersion": rtype.api_version,
                "metadata": {
                    "resourceVersion": str(store.resource_version),
                    "annotations": {"k8s.io/initial-events-end": "true"},
                },
            }
            await response.write(json.dumps({"type": "BOOKMARK", "object": bookmark}).encode() + b"\n")
        await _pump(request, response, watcher, timeout, encode)
    except ConnectionResetError:
        pass  # the client went away; nothing to tell it
    finally:
        open_watchers.remove(watcher)
        store.unwatch(watcher)
    return response


async def _pump(
    request: web.Request,
    response: web.StreamResponse,
    watcher: Watcher,
    timeout: float,
    encode: Callable[[str, dict], bytes],
) -> None:
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
