# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: prove that LiteLLM is ready and serves its models.

Only ``/health/readiness``, ``/v1/models`` and ``/v1/chat/completions`` are requested (never
``/health``, which calls every model and spends free-tier quota), through the API server's service
proxy (Kubernetes credentials are all it needs) or at a URL. The decisions are in ``_verify``.
"""

from __future__ import annotations

import base64
import json
import socket
import time
from dataclasses import dataclass, field
from urllib.error import HTTPError, URLError

from .. import _verify as v

READINESS_POLL_INTERVAL = 1.0
# LiteLLM's default cooldown is 5 s; a longer one is reported rather than waited out.
COOLDOWN_WAIT_LIMIT = 15.0


class VerifyError(Exception):
    """The verification cannot start (no master key to be had); the message says what to give."""


@dataclass
class Checks:
    """What to prove: the models LiteLLM must list and those that get a request."""

    expected_models: list = field(default_factory=list)
    smoke_models: list = field(default_factory=list)
    max_tokens: int = v.SMOKE_MAX_TOKENS
    max_latency: float = 5.0
    readiness_timeout: float = 60
    request_timeout: float = 30


def service_proxy_sender(kube, namespace, service, port):
    """send(method, path, body, headers, timeout) -> Reply, through the API server's service proxy."""

    def send(method, path, body, headers, timeout):
        started = time.monotonic()
        try:
            status, data, seconds = kube.service_proxy(
                namespace, service, port, path, method=method, body=body, headers=headers, timeout=timeout
            )
        except Exception as exc:  # urllib3 timeouts and refused connections to the API server
            return v.Reply(
                None, b"", time.monotonic() - started, "Kubernetes API server: %s: %s" % (type(exc).__name__, exc)
            )
        return v.Reply(status, data, seconds, None)

    return send


def url_sender(base_url, validate_certs, ca_path):
    """send(method, path, body, headers, timeout) -> Reply, straight to LiteLLM at base_url."""
    # Imported here: through the service proxy (the default) it is not needed.
    from ansible.module_utils.urls import Request, make_context

    # One TLS context for all requests: building it costs ~20 ms, which would count as latency.
    # No redirects: one would carry the key to wherever it points.
    client = Request(context=make_context(cafile=ca_path, validate_certs=validate_certs), follow_redirects="none")

    def send(method, path, body, headers, timeout):
        request_headers = dict(headers, Accept="application/json")
        if body is not None:
            request_headers["Content-Type"] = "application/json"
        started = time.monotonic()
        try:
            response = client.open(
                method,
                base_url.rstrip("/") + path,
                headers=request_headers,
                data=json.dumps(body) if body is not None else None,
                timeout=timeout,
            )
            data = response.read()
            return v.Reply(response.getcode(), data, time.monotonic() - started, None)
        except HTTPError as err:
            data = err.read() if err.fp else b""
            return v.Reply(err.code, data, time.monotonic() - started, None)
        except (URLError, socket.timeout, OSError) as err:
            return v.Reply(None, b"", time.monotonic() - started, "%s: %s" % (type(err).__name__, err))

    return send


def master_key_from(secret, namespace, name, key):
    """``(master key, every value of its Secret to keep out of messages)`` from the Secret as read."""
    if secret is None:
        raise VerifyError(
            "Secret %s/%s, where LiteLLM's master key should be, is not found; give "
            "master_key_secret (and master_key_name), or master_key." % (namespace, name)
        )
    data = secret.get("data") or {}
    if not data.get(key):
        raise VerifyError(
            "Secret %s/%s has no key %s (keys: %s): set master_key_name."
            % (namespace, name, key, ", ".join(sorted(data)) or "none")
        )
    from .._secret_plan import secret_values

    master_key = base64.b64decode(data[key]).decode("utf-8", "replace").strip()
    return master_key, secret_values(data_b64=data) | {master_key}


def wait_ready(send, request, timeout, sleep=time.sleep):
    """Poll readiness until 200 or timeout seconds: (ready, seconds, last reply)."""
    started = time.monotonic()
    while True:
        reply = send(request)
        elapsed = time.monotonic() - started
        if v.is_ready(reply) or elapsed >= timeout:
            return v.is_ready(reply), elapsed, reply
        sleep(min(READINESS_POLL_INTERVAL, timeout - elapsed))


def smoke_one(send_planned, request, max_latency, secrets, sleep=time.sleep):
    """One model's smoke result: a cooldown is waited out once, a late answer asked again once."""
    reply = send_planned(request)
    waited = v.cooldown_seconds(reply)
    if waited is not None and waited <= COOLDOWN_WAIT_LIMIT:
        # A recent failure put the model in cooldown: ask once more to learn the real cause.
        sleep(waited + 0.5)
        reply = send_planned(request)
    else:
        waited = None
    result = v.classify_smoke(request.model, reply, max_latency, secrets, waited)
    if result["status"] == v.SLOW:
        result = v.after_slow_retry(
            result, v.classify_smoke(request.model, send_planned(request), max_latency, secrets)
        )
    return result


def verify(checks, send, master_key, via, secrets, sleep=time.sleep):
    """Run the planned requests with send(); the result dict (no secret in it), ``passed`` said."""
    plan = v.plan_requests(checks.smoke_models, checks.max_tokens)
    readiness, models_request, smoke_requests = plan[0], plan[1], plan[2:]
    headers = v.auth_headers(master_key, via)

    def send_planned(request):
        return send(
            request.method,
            request.path,
            request.body,
            headers if request.authenticated else {},
            checks.request_timeout,
        )

    started = time.monotonic()
    ready, readiness_seconds, reply = wait_ready(send_planned, readiness, checks.readiness_timeout, sleep)
    readiness_error = None if ready else v.classify_failure(reply, secrets)[1]
    served, models_error, smoke = [], None, []
    if ready:
        reply = send_planned(models_request)
        listed = v.served_models(reply)
        if listed is None:
            models_error = v.classify_failure(reply, secrets)[1]
        else:
            served = listed
        smoke = [smoke_one(send_planned, request, checks.max_latency, secrets, sleep) for request in smoke_requests]
    else:
        smoke = [v.not_tried(request.model, "LiteLLM is not ready") for request in smoke_requests]

    missing, extra = v.compare_models(served, checks.expected_models)
    summary = v.summarize(ready, readiness_error, missing, models_error, smoke)
    passed = summary is None
    if passed:
        summary = "LiteLLM ready; %d models served, %d expected present; %d smoke models ok" % (
            len(served),
            len(checks.expected_models),
            len(smoke),
        )
    return dict(
        changed=False,
        passed=passed,
        summary=summary,
        via=via,
        ready=ready,
        readiness_seconds=round(readiness_seconds, 3),
        models=served,
        missing_models=missing,
        extra_models=extra,
        models_error=models_error,
        smoke=smoke,
        seconds=round(time.monotonic() - started, 2),
    )
