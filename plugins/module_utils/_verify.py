# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: what a LiteLLM proxy's answers prove.

Pure functions, no ansible import and no I/O. The module sends the requests that
``plan_requests`` lists and hands each answer to these functions as a ``Reply``.

Only three LiteLLM endpoints are ever used: ``/health/readiness`` (no key, never
calls an upstream), ``/v1/models`` (the master key, never calls an upstream) and
one tiny ``/v1/chat/completions`` per smoke model. ``/health`` is never called: it
sends a request to every configured model and spends free-tier quota.

The classification follows what LiteLLM 1.108.7 really answers (samples in
tests/unit/plugins/module_utils/test_verify.py):

* LiteLLM's own errors carry an ``{"error": {"message", "type", "code"}}`` body.
* A provider's error is wrapped in it as ``litellm.<Error>: <Provider>Exception -
  <provider body>`` followed by a ``LiteLLM: model group ...`` hint; a provider
  auth failure has ``type: authentication_error`` and HTTP 401, whatever the
  wrapper's name (Groq's comes as ``litellm.BadRequestError``).
* LiteLLM's rejection of the proxy key itself has ``type: auth_error`` (HTTP 401,
  ``Authentication Error, ...``) or, when a DATABASE_URL is set but no database
  is connected, ``type: no_db_connection`` (HTTP 400, ``No connected db.``).
* An unknown model name is HTTP 400 ``Invalid model name passed in model=...``.
* After a provider failure (a 401 too) LiteLLM holds the model's deployment in
  cooldown (5 s by default) and answers every request for it with HTTP 429
  ``type: all_deployments_in_cooldown`` without calling the provider; the module
  waits that out once and asks again, to report the real cause.
* Through the API server's service proxy, failures of the proxy itself (no
  ready endpoint, no such Service, Kubernetes credentials) are Kubernetes
  ``Status`` objects, never LiteLLM bodies.
"""

from __future__ import annotations

import json
import re
from collections import namedtuple

from ._secret_plan import scrub

READINESS_PATH = "/health/readiness"
MODELS_PATH = "/v1/models"
CHAT_PATH = "/v1/chat/completions"
ALLOWED_PATHS = (READINESS_PATH, MODELS_PATH, CHAT_PATH)

SMOKE_PROMPT = "Say hello"
SMOKE_MAX_TOKENS = 16
MESSAGE_LIMIT = 300
ANSWER_LIMIT = 200

OK = "ok"
SLOW = "slow"
KEY_REJECTED = "key_rejected"
NOT_ROUTED = "not_routed"
RATE_LIMITED = "rate_limited"
PROVIDER_ERROR = "provider_error"
UNREACHABLE = "unreachable"

# How the master key travels. Through the API server's service proxy the
# Authorization header is the Kubernetes credential (the API server removes it
# after authenticating), so the key goes in LiteLLM's own x-litellm-api-key
# header, which LiteLLM reads before Authorization.
VIA_URL = "url"
VIA_SERVICE_PROXY = "service_proxy"

PlannedRequest = namedtuple("PlannedRequest", "purpose method path body model authenticated")
PlannedRequest.__doc__ = """One request the module will send: ``purpose`` is readiness, models or smoke;
``authenticated`` says whether it carries the master key (readiness needs none)."""

Reply = namedtuple("Reply", "status body seconds error")
Reply.__doc__ = """One answer: HTTP ``status`` (None when nothing answered), raw ``body`` bytes,
``seconds`` from sending to the whole body, and the transport ``error`` text when nothing answered."""

_PROVIDER_WRAPPED = re.compile(r"(?P<provider>[A-Za-z0-9_]+)Exception - (?P<detail>.*)", re.DOTALL)
# LiteLLM appends a hint about fallbacks to every failed model group.
_LITELLM_HINT = re.compile(r"\s*LiteLLM: model group .*\Z", re.DOTALL)
_LITELLM_PREFIX = re.compile(r"^(?:litellm\.\w+:\s*)+(?:\w+Error:\s*)?")
# A request that got no answer from the provider at all: LiteLLM's exceptions for it, or the words
# of its HTTP clients (aiohttp, httpx) for a connection that failed, wrapped as any error class.
_NO_ANSWER = re.compile(
    r"^\s*litellm\.(?:APIConnectionError|Timeout)\b|Cannot connect to host|Connect call failed"
    r"|Connection refused|Name or service not known|Temporary failure in name resolution"
    r"|Illegal header value|Server disconnected|ConnectError|ConnectTimeout|ReadTimeout"
)
_COOLDOWN_WAIT = re.compile(r"Try again in (\d+(?:\.\d+)?) seconds")
# (pattern, replacement) pairs for anything shaped like a credential.
_TOKEN_PATTERNS = (
    # An Authorization header value echoed anywhere.
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{4,}"), r"\1 ***"),
    # Key-shaped strings: OpenAI/LiteLLM sk-..., Groq gsk_..., Google AIza...
    (re.compile(r"\b(?:sk|gsk|xai|csk)[-_][A-Za-z0-9_-]{12,}"), "***"),
    (re.compile(r"\bAIza[A-Za-z0-9_-]{20,}"), "***"),
    # Keys in query strings (Gemini accepts ?key=).
    (re.compile(r"(?i)([?&](?:key|api_key|api-key)=)[^&\s\"']+"), r"\1***"),
)


def plan_requests(smoke_models, max_tokens=SMOKE_MAX_TOKENS):
    """The requests a verification sends, in order: readiness, model list, one chat per smoke model.

    Nothing else is ever requested (``/health`` would call every upstream).
    """
    plan = [
        PlannedRequest("readiness", "GET", READINESS_PATH, None, None, False),
        PlannedRequest("models", "GET", MODELS_PATH, None, None, True),
    ]
    for model in smoke_models:
        plan.append(PlannedRequest("smoke", "POST", CHAT_PATH, smoke_body(model, max_tokens), model, True))
    return plan


def smoke_body(model, max_tokens=SMOKE_MAX_TOKENS):
    """The smallest chat request that proves a model answers."""
    return {"model": model, "messages": [{"role": "user", "content": SMOKE_PROMPT}], "max_tokens": max_tokens}


def auth_headers(master_key, via):
    """The header that carries the master key for the given transport (see VIA_*)."""
    if via == VIA_SERVICE_PROXY:
        return {"x-litellm-api-key": "Bearer " + master_key}
    return {"Authorization": "Bearer " + master_key}


def scrub_text(text, secrets=(), limit=MESSAGE_LIMIT):
    """``text`` without any of ``secrets`` or anything shaped like a key, cut to ``limit`` characters.

    Exact values go first (a provider may echo a key that matches no pattern),
    then bearer tokens, key-shaped strings and ``key=`` query parameters.
    """
    if not text:
        return text or ""
    text = scrub(text, secrets)
    for pattern, replacement in _TOKEN_PATTERNS:
        text = pattern.sub(replacement, text)
    text = " ".join(text.split())
    if limit and len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def parse_json(body):
    """The JSON value of a raw body, or None when it is not JSON."""
    if not body:
        return None
    try:
        return json.loads(body.decode("utf-8", "replace") if isinstance(body, bytes) else body)
    except ValueError:
        return None


def is_ready(reply):
    """LiteLLM's readiness answers 200 once the router is up (the database may still be missing)."""
    return reply.status == 200


def served_models(reply):
    """Model names of a 200 ``/v1/models`` answer, in LiteLLM's order; None for any other answer."""
    data = parse_json(reply.body)
    if reply.status != 200 or not isinstance(data, dict) or not isinstance(data.get("data"), list):
        return None
    return [str(entry.get("id")) for entry in data["data"] if isinstance(entry, dict) and entry.get("id")]


def compare_models(served, expected):
    """(missing, extra): expected names not served, served names not expected, each in given order."""
    served_set, expected_set = set(served), set(expected)
    missing = [name for name in dict.fromkeys(expected) if name not in served_set]
    extra = [name for name in served if name not in expected_set]
    return missing, extra


def cooldown_seconds(reply):
    """Seconds LiteLLM says to wait when it holds every deployment of the model in cooldown, else None."""
    error = _litellm_error(parse_json(reply.body)) if reply.status == 429 else None
    if error is None or error[1] != "all_deployments_in_cooldown":
        return None
    wait = _COOLDOWN_WAIT.search(error[0])
    return float(wait.group(1)) if wait else 0.0


def _kubernetes_status(data):
    return isinstance(data, dict) and data.get("kind") == "Status" and "code" in data


def _litellm_error(data):
    """(message, type) of LiteLLM's error body, or None when the body is not one."""
    if not isinstance(data, dict) or not isinstance(data.get("error"), dict):
        return None
    error = data["error"]
    return str(error.get("message") or ""), str(error.get("type") or "")


def provider_detail(message):
    """(provider, the detail, whether the provider answered at all) from a LiteLLM-wrapped error.

    ``litellm.BadRequestError: GroqException - {"error": {"message": "Invalid API Key", ...}}``
    gives ``("Groq", "Invalid API Key", True)``; a provider's plain-text answer (OpenAI's SDK
    message, an HTML error page) is the provider's too. LiteLLM wraps the failures of its own HTTP
    client the same way, but as ``litellm.APIConnectionError`` or ``litellm.Timeout`` (a refused
    connection, a header it cannot send): then the provider said nothing and the third value is
    False. Not a provider error at all: provider None.
    """
    message = _LITELLM_HINT.sub("", message or "")
    answered = not _NO_ANSWER.search(message)
    wrapped = _PROVIDER_WRAPPED.search(message)
    if not wrapped:
        return None, _LITELLM_PREFIX.sub("", message).strip(), False
    detail = wrapped.group("detail").strip()
    data = parse_json(detail)
    if not isinstance(data, dict):
        return wrapped.group("provider"), detail, answered
    inner = data.get("error") if isinstance(data.get("error"), dict) else data
    said = inner.get("message") or inner.get("detail") or data.get("detail")
    return wrapped.group("provider"), str(said) if said else detail, answered


def _said(provider, detail, from_provider):
    if provider and from_provider:
        return '%s says "%s"' % (provider, detail)
    if provider:
        return "LiteLLM got no answer from %s (its own HTTP client failed: %s)" % (provider, detail)
    return detail


def classify_failure(reply, secrets=()):
    """(class, message) for an answer that is not a success, from whoever gave it.

    Used for every endpoint; a smoke answer goes through ``classify_smoke``.
    """
    if reply.status is None:
        return UNREACHABLE, scrub_text("LiteLLM not answering: %s" % (reply.error or "no response"), secrets)
    data = parse_json(reply.body)
    if _kubernetes_status(data):
        return UNREACHABLE, scrub_text(
            "Kubernetes API server answered %s, not LiteLLM: %s"
            % (reply.status, data.get("message") or data.get("reason")),
            secrets,
        )
    error = _litellm_error(data)
    if error is None:
        snippet = reply.body.decode("utf-8", "replace") if isinstance(reply.body, bytes) else str(reply.body or "")
        return UNREACHABLE, scrub_text(
            "HTTP %s that is not LiteLLM's answer: %s" % (reply.status, snippet[:120]), secrets
        )
    message, kind = error
    if kind in ("auth_error", "no_db_connection") or message.startswith("Authentication Error"):
        return UNREACHABLE, scrub_text(
            "LiteLLM rejected the master key (HTTP %s): %s" % (reply.status, message), secrets
        )
    if "Invalid model name passed in" in message or "There are no healthy deployments" in message:
        return NOT_ROUTED, scrub_text("not routed: %s" % _LITELLM_HINT.sub("", message), secrets)
    if kind == "all_deployments_in_cooldown":
        return RATE_LIMITED, scrub_text(
            "in cooldown: LiteLLM sends nothing to this model for a while after "
            "recent failures, cause unknown (%s)" % message.split(" Passed model=")[0],
            secrets,
        )
    provider, detail, from_provider = provider_detail(message)
    said = _said(provider, detail, from_provider)
    if reply.status == 429:
        return RATE_LIMITED, scrub_text("rate limited (HTTP 429): %s" % said, secrets)
    if from_provider and (kind in ("authentication_error", "permission_denied_error") or reply.status in (401, 403)):
        return KEY_REJECTED, scrub_text("routes, key rejected: %s" % said, secrets)
    return PROVIDER_ERROR, scrub_text("provider error (HTTP %s): %s" % (reply.status, said), secrets)


def answer_of(data):
    """(text, served_by) of a chat completion: the first choice's content and the answering model.

    ``served_by`` is the model group on a direct answer; after a fallback LiteLLM
    names the upstream model that answered instead (``ollama_chat/qwen2.5:7b``).
    """
    if not isinstance(data, dict):
        return "", None
    choices = data.get("choices") or []
    message = (choices[0] or {}).get("message") if choices and isinstance(choices[0], dict) else None
    content = (message or {}).get("content") if isinstance(message, dict) else None
    return (content if isinstance(content, str) else ""), data.get("model")


def classify_smoke(model, reply, max_latency, secrets=(), cooldown_waited=None):
    """The smoke result of one chat answer: model, status, http_status, latency, message, answer, served_by.

    ``cooldown_waited`` is the seconds waited for LiteLLM's cooldown before this
    second request for the model; the message says so.
    """
    answer, served_by = "", None
    if reply.status != 200:
        status, message = classify_failure(reply, secrets)
    else:
        text, served_by = answer_of(parse_json(reply.body))
        answer = scrub_text(text.strip(), secrets, ANSWER_LIMIT)
        if reply.seconds > max_latency:
            status, message = SLOW, "answered in %.2fs, over the %.2fs limit" % (reply.seconds, max_latency)
        else:
            status, message = OK, "answered in %.2fs" % reply.seconds
        if not answer:
            # A reasoning model (Groq's openai/gpt-oss-*) spends a small max_tokens on reasoning and
            # answers 200 with empty content: routed and served, which is what this proves.
            message += " with empty content (a reasoning model spends a small max_tokens on reasoning)"
        if served_by and served_by != model:
            message += "; answered by %s (a fallback, not %s itself)" % (served_by, model)
    if cooldown_waited is not None:
        message += " (asked again after waiting %.0fs for LiteLLM's cooldown)" % cooldown_waited
    return dict(
        model=model,
        status=status,
        http_status=reply.status,
        latency=round(reply.seconds or 0.0, 3),
        message=message,
        answer=answer,
        served_by=served_by,
    )


def after_slow_retry(first, second):
    """The smoke result of a model asked twice because its first answer came late (``first`` SLOW).

    A model's first request after a restart pays for cold caches and connections, and a busy
    machine adds to it: one late answer judges the machine, not LiteLLM. The second answer decides;
    the message gives both times. An error answer is never asked again (it fails at once).
    """
    result = dict(second)
    result["first_latency"] = first["latency"]
    result["message"] = "%s (asked again: the first answer took %.2fs)" % (second["message"], first["latency"])
    return result


def not_tried(model, why):
    """The smoke result of a model that was not asked because an earlier check failed."""
    return dict(
        model=model,
        status=UNREACHABLE,
        http_status=None,
        latency=None,
        message="not tried: %s" % why,
        answer="",
        served_by=None,
    )


def summarize(ready, readiness_error, missing, models_error, smoke):
    """The failure summary naming each failing check and model with its class; None when all passed."""
    problems = []
    if not ready:
        problems.append("LiteLLM not ready: %s" % readiness_error)
    if models_error:
        problems.append("/v1/models failed: %s" % models_error)
    if missing:
        problems.append("missing models: %s" % ", ".join(missing))
    failing = [entry for entry in smoke if entry["status"] != OK]
    if ready:
        problems.extend("%s: %s (%s)" % (entry["model"], entry["status"], entry["message"]) for entry in failing)
    elif failing:
        problems.append("smoke not tried: %s" % ", ".join(entry["model"] for entry in failing))
    return "; ".join(problems) or None
