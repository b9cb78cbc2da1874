"""Faults on demand: API requests that fail or are held, as a real API server's can be.

A real kube-apiserver fails where the sandbox's never would: etcd times out, a
commit is slow, a request hits its deadline while its write still lands. The
rules in ``<state-dir>/api-faults.json`` make the sandbox do the same to the
requests they match. The file is a JSON list of rules; the server looks at its
stat on every resource request and re-reads it when it changed, so a test
(``Sandbox.api_faults`` in tests/conftest.py) or ``python -m sandbox faults``
changes the faults of a running server. A rule::

    {"method": "PUT", "resource": "secrets", "namespace": "ml", "name": "litellm-secrets",
     "times": 1, "action": "fail", "status": 500, "message": "etcdserver: leader changed"}

``method``
    GET, PUT, PATCH, POST, DELETE or ``*``.
``resource``
    The plural of the URL (``secrets``, ``deployments``, ``leases``);
    ``<plural>/<subresource>`` for a subresource (``deployments/status``,
    ``deployments/scale``), as RBAC names them; ``*`` for every one.
``namespace``, ``name`` (optional)
    Must equal the request's. The name is the URL's; a create (POST) has the
    name of the object in its body.
``times`` (optional)
    How many matching requests the rule applies to; unlimited without it.
``action: "fail"``
    ``status`` 403, 409, 422, 500, 503 or 504, optional ``message``: the answer is the
    Status kube-apiserver sends for that code (:func:`fault_error`). ``when``:
    ``before`` (the default) answers without handling the request, so a write
    changes nothing; ``after`` handles it first, as when a write's deadline
    passes while etcd still commits it (finisher.go: "the callee goroutine may
    continue to run after the given context expires"). Optional ``seconds``:
    how long the request hangs before the answer.
``action: "hold"``
    ``seconds``: the request is held that long and handled normally. ``when``:
    ``before`` (the default) holds it before it is handled (a slow etcd commit:
    the write lands at the end), ``after`` handles it at once and holds the
    response (the write is visible to others at once; a slow response).

The first rule that matches and has uses left applies, one rule per request.
Counts live in memory, one per rule of the file as last read, and start again
when the file changes. Every handler runs on the server's one event loop and
the matching and counting have no ``await`` between them, so concurrent
requests never both take a rule's last use.

Left alone: discovery, health and non-resource URLs, and watches (long-running
requests, which kube-apiserver's request deadline does not cover either). A
held request is not cancelled when its client gives up, as Go's handlers are
not, so a write held ``before`` still lands after a client's timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable

from aiohttp import web

from ..store import OPTIMISTIC_LOCK_MESSAGE, ApiError, already_exists, conflict
from .authn import USER_KEY
from .authz import forbidden, is_watch, request_attributes
from .bodies import read_json
from .errors import forbidden_by, internal_error, service_unavailable, timeout_error
from .routes import ApiRoute
from .validation import Invalid

log = logging.getLogger("sandbox.apiserver.faults")

FAULTS_FILE = "api-faults.json"
METHODS = ("GET", "PUT", "PATCH", "POST", "DELETE", "*")
FAIL_STATUSES = (403, 409, 422, 500, 503, 504)
WHEN = ("before", "after")

# The message of each status when a rule gives none.
# 504: the deadline of a write handler (k8s.io/apiserver/pkg/endpoints/handlers/finisher/finisher.go,
# asyncFinisher: NewTimeoutError("request did not complete within requested timeout - " + ctx.Err())).
REQUEST_TIMEOUT = "request did not complete within requested timeout - context deadline exceeded"
# 503: client-go's words for a 503 that carries no message (apimachinery errors.NewGenericServerResponse).
UNAVAILABLE = "the server is currently unable to handle the request"
# 422: the limit every object's annotations have (apimachinery ValidateAnnotationsSize, field.TooLong).
ANNOTATIONS_TOO_LONG = "metadata.annotations: Too long: must have at most 262144 bytes"
# 500: NewInternalError's cause; no real one fits every request, so this one says where it comes from.
INJECTED = "injected by the sandbox (api-faults.json)"

# How field.ErrorType.String() words each type, to give a 422 the cause the real server would.
_FIELD_ERROR_TYPES = {
    "Required value": "FieldValueRequired",
    "Invalid value": "FieldValueInvalid",
    "Unsupported value": "FieldValueNotSupported",
    "Duplicate value": "FieldValueDuplicate",
    "Not found": "FieldValueNotFound",
    "Forbidden": "FieldValueForbidden",
    "Too long": "FieldValueTooLong",
    "Too many": "FieldValueTooMany",
    "Internal error": "InternalError",
}
_RULE_KEYS = {"method", "resource", "namespace", "name", "times", "action", "status", "message", "seconds", "when"}


@dataclass(frozen=True)
class FaultRule:
    """One rule of api-faults.json, checked."""

    method: str
    resource: str
    action: str
    namespace: str | None = None
    name: str | None = None
    times: int | None = None
    status: int | None = None
    message: str | None = None
    seconds: float = 0.0
    when: str = "before"

    def matches(self, method: str, resource: str, namespace: str | None, name: str | None) -> bool:
        return (
            self.method in ("*", method)
            and self.resource in ("*", resource)
            and self.namespace in (None, namespace)
            and self.name in (None, name)
        )


def parse_rules(data: Any) -> list[FaultRule]:
    """The rules of an api-faults.json document; a ValueError naming the rule and the field otherwise."""
    if not isinstance(data, list):
        raise ValueError("the faults must be a JSON list of rules")
    return [_parse_rule(index, rule) for index, rule in enumerate(data)]


def _parse_rule(index: int, rule: Any) -> FaultRule:
    def problem(text: str) -> ValueError:
        return ValueError(f"rule {index}: {text}")

    if not isinstance(rule, dict):
        raise problem("must be an object")
    unknown = sorted(set(rule) - _RULE_KEYS)
    if unknown:
        raise problem(f"unknown field(s) {', '.join(unknown)}")
    method = str(rule.get("method", "")).upper()
    if method not in METHODS:
        raise problem(f"method must be one of {', '.join(METHODS)}")
    for key in ("resource", "namespace", "name", "message"):
        if key in rule and (not isinstance(rule[key], str) or not rule[key]):
            raise problem(f"{key} must be a non-empty string")
    if "resource" not in rule:
        raise problem("resource is required (a plural such as secrets, or *)")
    times = rule.get("times")
    if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
        raise problem("times must be a whole number of at least 1")
    seconds = rule.get("seconds", 0)
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
        raise problem("seconds must be a number of at least 0")
    when = rule.get("when", "before")
    if when not in WHEN:
        raise problem(f"when must be one of {', '.join(WHEN)}")
    action = rule.get("action")
    if action == "fail":
        if rule.get("status") not in FAIL_STATUSES:
            raise problem(f"a fail needs a status among {', '.join(map(str, FAIL_STATUSES))}")
        if rule["status"] == 422 and ": " not in rule.get("message", ": "):
            raise problem('the message of a 422 is a field error, "<field>: <type>: <detail>"')
    elif action == "hold":
        if "seconds" not in rule:
            raise problem("a hold needs seconds")
        if "status" in rule or "message" in rule:
            raise problem("a hold answers normally: status and message belong to a fail")
    else:
        raise problem('action must be "fail" or "hold"')
    return FaultRule(
        method=method,
        resource=rule["resource"],
        action=action,
        namespace=rule.get("namespace"),
        name=rule.get("name"),
        times=times,
        status=rule.get("status"),
        message=rule.get("message"),
        seconds=float(seconds),
        when=when,
    )


def write_rules(state_dir: Path, rules: list[dict]) -> Path:
    """Check ``rules`` and put them in place of the state directory's faults, atomically.

    The file gets a modification time in nanoseconds later than the one it replaces, so the
    server sees the change even when two writes fall into the same tick of the file system's
    coarse clock and the new file reuses the old one's inode and size.
    """
    parse_rules(rules)
    path = state_dir / FAULTS_FILE
    scratch = path.with_name(f".{FAULTS_FILE}.{os.getpid()}")
    scratch.write_text(json.dumps(rules, indent=2) + "\n")
    stamp = time.time_ns()
    with contextlib.suppress(FileNotFoundError):
        stamp = max(stamp, path.stat().st_mtime_ns + 1)
    os.utime(scratch, ns=(stamp, stamp))
    os.replace(scratch, path)
    return path


def clear_rules(state_dir: Path) -> bool:
    """Remove the state directory's faults; whether there were any."""
    try:
        (state_dir / FAULTS_FILE).unlink()
    except FileNotFoundError:
        return False
    return True


class Faults:
    """The rules of one faults file, re-read when it changes, and how often each has applied."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._stat: tuple[int, int, int] | None = None
        self._rules: list[FaultRule] = []
        self._problem = ""
        self._applied: list[int] = []
        self._released = asyncio.Event()

    def rules(self) -> list[FaultRule]:
        """The rules in force: the file's, read again if its inode, mtime or size changed."""
        if self.path is None:
            return []
        try:
            stat = self.path.stat()
            key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            key = None
        if key != self._stat:
            self._stat = key
            self._load()
        if self._problem:
            # Loud rather than silently fault-free: the test that wrote the file expects its faults.
            raise internal_error(f"sandbox: {self.path.name}: {self._problem}")
        return self._rules

    def _load(self) -> None:
        self._rules, self._problem = [], ""
        try:
            self._rules = parse_rules(json.loads(self.path.read_text()))
        except FileNotFoundError:
            pass
        except ValueError as err:
            self._problem = str(err)
            log.error("%s: %s", self.path, err)
        self._applied = [0] * len(self._rules)
        if self._rules:
            log.info("%s: %d fault rule(s) in force", self.path, len(self._rules))

    def applied(self) -> list[int]:
        """How many requests each rule of the file as last read has applied to."""
        return list(self._applied)

    def release(self) -> None:
        """End every hold now (the server is shutting down)."""
        self._released.set()

    def _take(self, method: str, resource: str, namespace: str | None, name: str | None) -> FaultRule | None:
        """The first matching rule with uses left, counted as used; no await, so atomic on the loop."""
        for index, rule in enumerate(self._rules):
            if rule.matches(method, resource, namespace, name) and (
                rule.times is None or self._applied[index] < rule.times
            ):
                self._applied[index] += 1
                log.info(
                    "fault rule %d (%s%s) on %s %s %s/%s",
                    index,
                    rule.action,
                    f" {rule.status}" if rule.status else f" {rule.seconds:g}s",
                    method,
                    resource,
                    namespace or "",
                    name or "",
                )
                return rule
        return None

    async def _hold(self, seconds: float) -> None:
        if seconds > 0:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._released.wait(), seconds)

    async def handle(
        self, request: web.Request, route: ApiRoute, serve: Callable[[], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Serve a resource request, failing or holding it if a rule says so."""
        if not self.rules() or (request.method == "GET" and route.name is None and is_watch(request.query)):
            return await serve()
        name = route.name
        if name is None and request.method == "POST":
            name = await _created_name(request)
        resource = f"{route.rtype.plural}/{route.subresource}" if route.subresource else route.rtype.plural
        rule = self._take(request.method, resource, route.namespace, name)
        if rule is None:
            return await serve()
        # kube-apiserver's handler has the body before it calls storage, where the time goes; read
        # later, it would be lost with a client that gave up, and the write with it.
        await request.read()
        if rule.action == "hold":
            if rule.when == "before":
                await self._hold(rule.seconds)
                return await serve()
            try:
                return await serve()
            finally:
                await self._hold(rule.seconds)
        error = fault_error(rule, request, route, name)
        if rule.when == "after":
            with contextlib.suppress(ApiError):
                await serve()
        await self._hold(rule.seconds)
        raise error


async def _created_name(request: web.Request) -> str | None:
    """The name of the object a create sends (aiohttp keeps the body for the handler to read again)."""
    try:
        body = await read_json(request)
    except ApiError:
        return None
    meta = body.get("metadata") if isinstance(body, dict) else None
    return meta.get("name") if isinstance(meta, dict) else None


def fault_error(rule: FaultRule, request: web.Request, route: ApiRoute, name: str | None) -> ApiError:
    """The Status kube-apiserver answers with for the rule's status, in its words (sandbox/README.md).

    403: RBAC's denial of this very request (responsewriters.Forbidden), or with a message
    NewForbidden's, as admission words a refusal. 409: NewConflict with storage's optimistic
    lock message (or the rule's), NewAlreadyExists for a create. 422: NewInvalid of one field
    error, the message being ``<field>: <type>: <detail>``. 500: NewInternalError. 503:
    NewServiceUnavailable. 504: NewTimeoutError of a write's deadline.
    """
    rtype, name, message = route.rtype, name or "", rule.message
    if rule.status == 403:
        if message is None:
            return forbidden(request_attributes(request[USER_KEY], request.method, request.path, request.query))
        return forbidden_by(rtype.plural, rtype.group, name, message)
    if rule.status == 409:
        if request.method == "POST":
            return already_exists(rtype.plural, name, rtype.group)
        return conflict(rtype.plural, name, rtype.group, message or OPTIMISTIC_LOCK_MESSAGE)
    if rule.status == 422:
        return invalid_error(route, name, message or ANNOTATIONS_TOO_LONG)
    if rule.status == 500:
        return internal_error(message or INJECTED)
    if rule.status == 503:
        return service_unavailable(message or UNAVAILABLE)
    return timeout_error(message or REQUEST_TIMEOUT)


def invalid_error(route: ApiRoute, name: str, field_error: str) -> ApiError:
    """NewInvalid of one field error given as its text, ``metadata.labels: Invalid value: "x": ...``."""
    field, _, body = field_error.partition(": ")
    reason = next((t for label, t in _FIELD_ERROR_TYPES.items() if body.startswith(label)), "FieldValueInvalid")
    errors = Invalid(route.rtype, name)
    errors.causes.append({"reason": reason, "message": body, "field": field})
    return errors.error()
