"""Fake upstream LLM providers for the sandbox (Groq, Gemini, Mistral, OpenAI, vLLM, Ollama).

One aiohttp application answers as each provider's real API would, under a path prefix per
provider that mirrors the real URL layout (``/groq/openai/v1``, ``/gemini/v1beta``,
``/mistral/v1``, ``/openai/v1``, ``/vllm/v1``, ``/ollama``), so a real LiteLLM proxy pointed at
it with :func:`api_base` sends exactly the requests it would send upstream.

The fakes are strict by default, like the real APIs: each serves only the dated snapshot of
its catalogue in :mod:`sandbox.provider_catalog`, refuses retired and unknown model names the
way its provider does, accepts only keys in its provider's current format, and its reasoning
models spend tokens thinking before they answer (so a small ``max_tokens`` gets an empty
answer). PROVIDERS.md cites the source of each behaviour.

Everything a test wants to control lives in files under ``state_dir`` and is re-read on every
request, so tests can change it while the server runs:

``valid-keys.json``
    ``{"groq": [...], "gemini": [...], "mistral": [...], "openai": [...]}``. Those four providers
    accept only these keys; vLLM and Ollama need none. A missing file means no key is valid.
``providers.json`` (optional)
    ``{"latency_ms": {...}, "fail": {...}, "rate_limit": {...}, "retired": [...],
    "strict": {...}}``. The first three map ``"provider"`` or ``"provider/model"`` (the more
    specific wins) to a delay in ms, an HTTP status to fail with, or
    ``{"rpm": N, "tpm": N, "retry_after": S}`` (a sliding one-minute window; ``retry_after``
    overrides the announced wait). ``retired`` lists more ``"provider/model"`` names to refuse
    as decommissioned. ``strict`` maps a provider to ``false`` (or to
    ``{"keys": false}`` / ``{"models": false}``) to stop checking key formats and/or the
    catalogue for that provider, for the rare test that needs it.

Every request is appended as one JSON line to ``provider-requests.jsonl``, with the key only as
a fingerprint and its full sha256, never in clear.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import dataclasses
import datetime
import hashlib
import http
import json
import math
import pathlib
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from aiohttp import web

from . import provider_catalog as catalog

PROVIDERS = ("groq", "gemini", "mistral", "openai", "vllm", "ollama")

# Providers whose fake checks the key against valid-keys.json.
KEYED_PROVIDERS = ("groq", "gemini", "mistral", "openai")

# LiteLLM model prefix per provider. hosted_vllm/ rather than openai/ for vLLM: with openai/ and
# no api_key LiteLLM falls back to OPENAI_API_KEY and sends that key to the vLLM host (measured).
LITELLM_PREFIX = {
    "groq": "groq/",
    "gemini": "gemini/",
    "mistral": "mistral/",
    "openai": "openai/",
    "vllm": "hosted_vllm/",
    "ollama": "ollama_chat/",
}

# Path of each provider's API root on this server: the real API root's path under a provider
# prefix. LiteLLM 1.108.7 appends /chat/completions (groq, openai, hosted_vllm),
# /models/MODEL:generateContent (gemini), /api/chat (ollama_chat) to api_base, and /v1 for
# mistral unless api_base already ends with it.
_API_ROOT = {
    "groq": "/groq/openai/v1",
    "gemini": "/gemini/v1beta",
    "mistral": "/mistral/v1",
    "openai": "/openai/v1",
    "vllm": "/vllm/v1",
    "ollama": "/ollama",
}

# The model names each fake serves (the dated snapshot in provider_catalog).
CATALOGUE = {provider: tuple(models) for provider, models in catalog.MODELS.items()}

VALID_KEYS_FILE = "valid-keys.json"
KNOBS_FILE = "providers.json"
REQUEST_LOG_FILE = "provider-requests.jsonl"

RATE_WINDOW_S = 60.0
DAY_WINDOW_S = 86400.0

# Gemini's ListModels page size: 50 unless asked, at most 1000 (ai.google.dev models.list).
GEMINI_DEFAULT_PAGE_SIZE = 50
GEMINI_MAX_PAGE_SIZE = 1000


def api_base(base_url: str, provider: str) -> str:
    """The ``api_base`` for a LiteLLM model entry that reaches ``provider`` on this server.

    ``base_url`` is the server's root, e.g. ``http://127.0.0.1:8080``.
    """
    return base_url.rstrip("/") + _API_ROOT[provider]


def litellm_model(provider: str, model: str) -> str:
    """The ``litellm_params.model`` value for ``model`` served by ``provider``."""
    return LITELLM_PREFIX[provider] + model


def reply_text(provider: str, model: str) -> str:
    """The deterministic answer of every chat request, naming who answered."""
    return f"Hello from fake {provider} ({model})"


def reasoning_text(model: str, tokens: int) -> str:
    """The fake reasoning of ``model``: ``tokens`` tokens (4 characters each) of thinking."""
    if tokens <= 0:
        return ""
    sentence = f"The user greets the sandbox; {model} should answer with one short greeting. "
    return (sentence * (tokens * 4 // len(sentence) + 1))[: tokens * 4]


def key_sha256(key: str) -> str:
    """The full sha256 hex of ``key``, as logged: proves which key was sent without showing it."""
    return hashlib.sha256(key.encode()).hexdigest()


def key_fingerprint(key: str) -> str:
    """A short loggable fingerprint of ``key``: its first 4 characters and a short sha256."""
    return f"{key[:4]}...{key_sha256(key)[:12]}"


def count_tokens(text: str) -> int:
    """A rough token count (about 4 characters a token), enough for tpm limits to count."""
    return max(1, math.ceil(len(text) / 4)) if text else 0


def build_app(state_dir: pathlib.Path) -> web.Application:
    """The aiohttp application serving every fake provider, its state kept in ``state_dir``."""
    fake = _FakeProviders(pathlib.Path(state_dir))
    app = web.Application()
    app.add_routes(
        [
            web.post("/groq/openai/v1/chat/completions", fake.openai_chat("groq")),
            web.get("/groq/openai/v1/models", fake.openai_models("groq")),
            # Groq model ids contain slashes (openai/gpt-oss-120b).
            web.get("/groq/openai/v1/models/{model:.+}", fake.openai_model("groq")),
            web.post("/mistral/v1/chat/completions", fake.openai_chat("mistral")),
            web.get("/mistral/v1/models", fake.openai_models("mistral")),
            web.get("/mistral/v1/models/{model:.+}", fake.openai_model("mistral")),
            web.post("/openai/v1/chat/completions", fake.openai_chat("openai")),
            web.get("/openai/v1/models", fake.openai_models("openai")),
            web.post("/vllm/v1/chat/completions", fake.openai_chat("vllm")),
            web.get("/vllm/v1/models", fake.openai_models("vllm")),
            web.post("/gemini/v1beta/models/{target}", fake.gemini_generate),
            web.get("/gemini/v1beta/models", fake.gemini_models),
            web.get("/gemini/v1beta/models/{model}", fake.gemini_model),
            web.post("/ollama/api/chat", fake.ollama_chat),
            web.get("/ollama/api/tags", fake.ollama_tags),
        ]
    )
    for provider in PROVIDERS:
        app.router.add_route("*", f"/{provider}/{{tail:.*}}", fake.unknown_url(provider))
    return app


# --- helpers shared by all providers -------------------------------------------------------


def _read_json_file(path: pathlib.Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return default


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    return header[len("Bearer ") :] if header.startswith("Bearer ") else None


def _text_of(content: Any) -> str:
    """The text of an OpenAI/Ollama message content: a string or a list of typed parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def _pieces(text: str) -> list[str]:
    """``text`` split into word-sized stream deltas that concatenate back to it."""
    return re.findall(r"\s*\S+", text)


def _retry_after(window: collections.deque[tuple[float, int]], now: float, length: float = RATE_WINDOW_S) -> int:
    """Seconds until the oldest request in ``window`` leaves it (a full window if empty)."""
    if not window:
        return int(length)
    return max(1, math.ceil(window[0][0] + length - now))


def _proto_field(message: dict[str, Any], name: str) -> Any:
    """Field ``name`` (lowerCamelCase) of a Google JSON request, also under its proto name.

    Proto3's JSON mapping makes parsers accept both spellings (``maxOutputTokens`` and
    ``max_output_tokens``); LiteLLM sends the snake_case ones.
    """
    if name in message:
        return message[name]
    return message.get(re.sub(r"[A-Z]", lambda upper: "_" + upper.group().lower(), name))


def _positive_int(value: Any) -> int | None:
    """``value`` as a token budget, or None when it is not one."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return None
    return int(value)


class _Refusal(Exception):
    """Raised by a gate: the request gets ``response`` instead of an answer."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


@dataclasses.dataclass(frozen=True)
class _Completion:
    """What a fake model produces for one request: reasoning first, then the visible answer.

    Reasoning tokens count toward the request's output budget, as on the real reasoning
    models: with a budget smaller than the reasoning, nothing visible is produced.
    """

    reasoning: str
    text: str
    reasoning_tokens: int
    text_tokens: int
    truncated: bool

    @classmethod
    def plan(cls, provider: str, model: str, budget: int | None) -> _Completion:
        full = reply_text(provider, model)
        thinking = _reasoning_tokens(provider, model)
        wanted = thinking + count_tokens(full)
        if budget is None or budget >= wanted:
            return cls(reasoning_text(model, thinking), full, thinking, count_tokens(full), False)
        spent = min(budget, thinking)
        visible = full[: (budget - spent) * 4]
        return cls(reasoning_text(model, spent), visible, spent, count_tokens(visible), True)

    @property
    def completion_tokens(self) -> int:
        return self.reasoning_tokens + self.text_tokens


def _reasoning_tokens(provider: str, model: str) -> int:
    entry = catalog.MODELS.get(provider, {}).get(model) or {}
    return int(entry.get("reasoning", 0))


# --- provider-shaped errors ----------------------------------------------------------------

# google.rpc status names for the HTTP statuses the fake can produce.
_GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def _error(
    provider: str,
    status: int,
    message: str,
    kind: str,
    code: str | None = None,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """An error response in ``provider``'s own JSON shape.

    ``kind`` is the OpenAI-style ``type`` (Groq, OpenAI, vLLM, Mistral); Google's shape takes
    its ``status`` name from the HTTP status instead, Ollama's carries only the message.
    """
    if provider == "gemini":
        body: dict[str, Any] = {
            "error": {
                "code": status,
                "message": message,
                "status": _GOOGLE_STATUS.get(status, "UNKNOWN"),
            }
        }
        if details:
            body["error"]["details"] = details
    elif provider == "ollama":
        body = {"error": message}
    elif provider == "mistral":
        # Mistral's error objects carry the HTTP status again as raw_status_code since 2026
        # (mistralai/mistral-vibe#617, jordymeow/ai-engine#11).
        body = {
            "object": "error",
            "message": message,
            "type": kind,
            "param": None,
            "code": code,
            "raw_status_code": status,
        }
    elif provider == "vllm":
        body = {"error": {"message": message, "type": kind, "param": None, "code": status}}
    elif provider == "openai":
        body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    else:
        body = {"error": {"message": message, "type": kind, "code": code}}
    return web.json_response(body, status=status, headers=headers)


_GEMINI_KEY_INVALID = "API key not valid. Please pass a valid API key."


def _auth_error(provider: str, key: str | None) -> web.Response:
    """What each provider really answers for a missing or wrong key (any wrong key alike)."""
    if provider == "gemini":
        if key is None:
            return _error(
                provider,
                403,
                "Method doesn't allow unregistered callers (callers without established "
                "identity). Please use API Key or other form of API consumer identity to call "
                "this API.",
                "",
            )
        # LiteLLM maps a Gemini error to AuthenticationError only on this exact message text.
        details = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            },
            {
                "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                "locale": "en-US",
                "message": _GEMINI_KEY_INVALID,
            },
        ]
        return _error(provider, 400, _GEMINI_KEY_INVALID, "", details=details)
    if provider == "mistral":
        # Mistral's gateway answers auth failures outside its usual error object.
        return web.json_response({"detail": "Unauthorized"}, status=401)
    if provider == "openai":
        if key is None:
            message = (
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
            return _error(provider, 401, message, "invalid_request_error")
        # OpenAI echoes the key masked down to its last four characters.
        message = f"Incorrect API key provided: {'*' * 8}{key[-4:]}."
        return _error(provider, 401, message, "invalid_request_error", "invalid_api_key")
    return _error(provider, 401, "Invalid API Key", "invalid_request_error", "invalid_api_key")


def _gemini_query_key_error() -> web.Response:
    """An auth key sent as ?key=: Google answers 404 (lingarr-translate/lingarr#532).

    The status is reported; the body text is not, so this one is Google's generic NOT_FOUND.
    """
    return _error("gemini", 404, "Requested entity was not found.", "")


def _model_refusal(provider: str, model: str, refusal: str) -> web.Response:
    """How ``provider`` refuses ``model``: ``refusal`` names the provider's way (catalogue)."""
    if provider == "groq":
        if refusal == "decommissioned":
            # Groq's 2026 envelope adds request_id and created_at (RightNow-AI/openfang#60).
            message = (
                f"The model `{model}` has been decommissioned and is no longer supported. "
                "Please refer to https://console.groq.com/docs/deprecations for a "
                "recommendation on which model to use instead."
            )
            body = {
                "request_id": f"req_{uuid.uuid4().hex[:26]}",
                "created_at": datetime.datetime.now(datetime.UTC)
                .isoformat(timespec="milliseconds")
                .replace("+00:00", "Z"),
                "error": {
                    "message": message,
                    "type": "invalid_request_error",
                    "param": "",
                    "code": "model_decommissioned",
                },
            }
            return web.json_response(body, status=400)
        message = f"The model `{model}` does not exist or you do not have access to it."
        return _error(provider, 404, message, "invalid_request_error", "model_not_found")
    if provider == "gemini":
        if refusal == "new_users":
            message = (
                f"This model models/{model} is no longer available to new users. Please update "
                "your code to use a newer model for the latest features and improvements. We "
                "recommend you to use the Interactions API "
                "(https://ai.google.dev/gemini-api/docs/migrate-to-interactions)."
            )
        else:
            message = (
                f"models/{model} is not found for API version v1beta, or is not supported for "
                "generateContent. Call ListModels to see the list of available models and their "
                "supported methods."
            )
        return _error(provider, 404, message, "")
    if provider == "mistral":
        if refusal == "tier":
            return _error(
                provider, 403, "This model is not available in your subscription tier", "tier_not_allowed", "1910"
            )
        return _error(provider, 400, f"Invalid model: {model}", "invalid_model", "1500")
    if provider == "ollama":
        return _error(provider, 404, f'model "{model}" not found, try pulling it first', "")
    if provider == "vllm":
        return _error(provider, 404, f"The model `{model}` does not exist.", "NotFoundError")
    message = f"The model `{model}` does not exist or you do not have access to it."
    return _error(provider, 404, message, "invalid_request_error", "model_not_found")


# How each provider refuses a name the ``retired`` knob lists, and a name it never served.
_KNOB_REFUSAL = {"groq": "decommissioned", "gemini": "not_found", "mistral": "invalid_model"}
_UNKNOWN_REFUSAL = {"groq": "not_found", "gemini": "not_found", "mistral": "invalid_model"}


def _model_lookup_error(provider: str, model: str) -> web.Response:
    """GET of one model the provider does not serve."""
    if provider == "gemini":
        # Redacted provider probe of 2026-10-03 (GET .../v1beta/models/invalid-model).
        return _error(provider, 404, f"Model is not found: models/{model} for api version v1beta", "")
    if provider == "mistral":
        # Not verified: Mistral's answer to GET of an unknown model was not found; its
        # invalid-model object is used with 404.
        return _error(provider, 404, f"Invalid model: {model}", "invalid_model", "1500")
    # Not verified for GET: Groq's chat answer for a model it does not serve.
    return _model_refusal(provider, model, "not_found")


def _rate_limit_error(
    provider: str, model: str, unit: str, limit: int, used: int, wanted: int, retry_after: int
) -> web.Response:
    """A 429 in the provider's shape; ``unit`` is ``"rpm"``, ``"tpm"`` or ``"rpd"``."""
    headers = {"retry-after": str(retry_after)}
    what = {"rpm": "requests per minute (RPM)", "tpm": "tokens per minute (TPM)", "rpd": "requests per day (RPD)"}[unit]
    detail = f"Limit {limit}, Used {used}, Requested {wanted}. Please try again in {retry_after}s."
    if provider == "gemini":
        quota_id = {
            "rpm": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
            "tpm": "GenerateContentInputTokensPerModelPerMinute-FreeTier",
            "rpd": "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
        }[unit]
        details = [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                        "quotaId": quota_id,
                        "quotaDimensions": {"location": "global", "model": model},
                        "quotaValue": str(limit),
                    }
                ],
            },
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_after}s"},
        ]
        message = "You exceeded your current quota, please check your plan and billing details."
        return _error(provider, 429, message, "", details=details, headers=headers)
    if provider == "mistral":
        return _error(provider, 429, "Rate limit exceeded", "rate_limited", "1300", headers=headers)
    if provider == "ollama":
        return _error(provider, 429, "too many requests", "", headers=headers)
    if provider == "groq":
        message = (
            f"Rate limit reached for model `{model}` in organization `org_sandbox` service tier "
            f"`on_demand` on {what}: {detail}"
        )
    else:
        message = f"Rate limit reached for {model} on {what}: {detail}"
    kind = "tokens" if unit == "tpm" else "requests"
    return _error(provider, 429, message, kind, "rate_limit_exceeded", headers=headers)


def _outage_error(provider: str, status: int) -> web.Response:
    """The ``fail`` knob's answer: ``status`` with its standard phrase, in provider shape."""
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return _error(provider, status, phrase, kind, str(status))


# --- model lists -----------------------------------------------------------------------------


def _openai_list_entry(provider: str, model: str) -> dict[str, Any]:
    """One entry of ``GET .../models`` for an OpenAI-shaped provider."""
    info = catalog.MODELS[provider].get(model, {})
    entry: dict[str, Any] = {"id": model, "object": "model", "created": info.get("created", 1700000000)}
    if provider == "groq":
        entry.update(
            owned_by=info.get("owned_by", "Groq"),
            active=True,
            context_window=info.get("context_window"),
            public_apps=None,
            max_completion_tokens=info.get("max_completion_tokens"),
        )
    elif provider == "mistral":
        entry["owned_by"] = "mistralai"
        entry.update({name: value for name, value in info.items() if name not in ("created", "limits", "reasoning")})
    else:
        entry["owned_by"] = info.get("owned_by", "system")
    return entry


def _gemini_model_entry(model: str) -> dict[str, Any]:
    info = catalog.GEMINI_MODELS.get(model, {})
    entry: dict[str, Any] = {"name": f"models/{model}"}
    entry.update({name: value for name, value in info.items() if name not in ("limits", "reasoning")})
    return entry


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _page_offset(token: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    prefix, _, number = text.partition(":")
    return int(number) if prefix == "offset" and number.isdigit() else None


# --- response bodies -----------------------------------------------------------------------


def _openai_usage(provider: str, prompt_tokens: int, done: _Completion, reasoning_model: bool) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": done.completion_tokens,
        "total_tokens": prompt_tokens + done.completion_tokens,
    }
    if reasoning_model:
        # groq-python 1.0.0 (2025-12-17): usage.completion_tokens_details.reasoning_tokens.
        usage["completion_tokens_details"] = {"reasoning_tokens": done.reasoning_tokens}
    if provider == "groq":
        # Groq reports its (famously short) timings alongside the counts.
        usage.update(queue_time=0.0002, prompt_time=0.001, completion_time=0.002, total_time=0.003)
    return usage


class _OpenAIShape:
    """Chat completion bodies and stream chunks of one OpenAI-compatible provider."""

    def __init__(self, provider: str, model: str, prompt_tokens: int, done: _Completion, show_reasoning: bool) -> None:
        self.provider = provider
        self.model = model
        self.done = done
        reasoning_model = _reasoning_tokens(provider, model) > 0
        self.show_reasoning = show_reasoning and reasoning_model
        self.usage = _openai_usage(provider, prompt_tokens, done, reasoning_model)
        self.finish = "length" if done.truncated else "stop"
        # Mistral ids are bare hex; the others use OpenAI's chatcmpl- prefix.
        hex_id = uuid.uuid4().hex
        self.id = hex_id if provider == "mistral" else f"chatcmpl-{hex_id}"
        self.request_id = f"req_{uuid.uuid4().hex[:26]}"
        self.created = int(time.time())

    def _envelope(self, obj: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "object": obj,
            "created": self.created,
            "model": self.model,
        }
        if self.provider in ("groq", "openai"):
            body["system_fingerprint"] = "fp_sandbox"
        return body

    def completion(self) -> dict[str, Any]:
        body = self._envelope("chat.completion")
        message: dict[str, Any] = {"role": "assistant", "content": self.done.text}
        if self.show_reasoning:
            # Groq's gpt-oss models return their reasoning in message.reasoning (groq-python
            # ChatCompletionMessage); content stays "" when the budget ran out first.
            message["reasoning"] = self.done.reasoning
        body["choices"] = [{"index": 0, "message": message, "logprobs": None, "finish_reason": self.finish}]
        body["usage"] = self.usage
        if self.provider == "groq":
            # LiteLLM's Groq transformation reads service_tier without a default (and maps
            # Groq's "on_demand" to "auto" for its client).
            body["x_groq"] = {"id": self.request_id}
            body["service_tier"] = "on_demand"
        elif self.provider == "openai":
            body["service_tier"] = "default"
        return body

    def chunks(self, include_usage: bool) -> Iterator[dict[str, Any]]:
        """Stream chunks: role, reasoning, one per word, finish; then usage if asked for.

        Groq carries the usage in ``x_groq`` of the finishing chunk and Mistral in the
        finishing chunk itself, whatever ``stream_options`` says.
        """
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        if self.show_reasoning:
            deltas += [{"reasoning": piece} for piece in _pieces(self.done.reasoning)]
        deltas += [{"content": piece} for piece in _pieces(self.done.text)]
        for number, delta in enumerate(deltas):
            chunk = self._chunk([{"index": 0, "delta": delta, "finish_reason": None}])
            if number == 0 and self.provider == "groq":
                chunk["x_groq"] = {"id": self.request_id}
            yield chunk
        final = self._chunk([{"index": 0, "delta": {}, "finish_reason": self.finish}])
        if self.provider == "groq":
            final["x_groq"] = {"id": self.request_id, "usage": self.usage}
        elif self.provider == "mistral":
            final["usage"] = self.usage
        yield final
        if include_usage and self.provider != "mistral":
            usage_chunk = self._chunk([])
            usage_chunk["usage"] = self.usage
            yield usage_chunk

    def _chunk(self, choices: list[dict[str, Any]]) -> dict[str, Any]:
        chunk = self._envelope("chat.completion.chunk")
        chunk["choices"] = choices
        return chunk


def _gemini_chunks(model: str, prompt_tokens: int, done: _Completion, stream: bool) -> list[dict[str, Any]]:
    """``generateContent`` responses (one, or one per word when streaming).

    The last one finishes and counts. A thinking model reports ``thoughtsTokenCount``; when
    its budget ran out before any text, the candidate has ``content: {"role": "model"}`` and no
    parts, and ``candidatesTokenCount`` is absent (live captures of gemini-2.5-pro, 2026-04-18,
    and gemini-3.7-flash, 2026-08-22).
    """
    pieces = _pieces(done.text) if stream else ([done.text] if done.text else [])
    response_id = uuid.uuid4().hex[:22]
    version = catalog.GEMINI_ALIASES.get(model, model)
    out: list[dict[str, Any]] = []
    for number in range(max(1, len(pieces))):
        last = number >= len(pieces) - 1
        content: dict[str, Any] = {"role": "model"}
        if pieces:
            content = {"parts": [{"text": pieces[number]}], "role": "model"}
        candidate: dict[str, Any] = {"content": content, "index": 0}
        usage: dict[str, Any] = {"promptTokenCount": prompt_tokens}
        if last:
            candidate["finishReason"] = "MAX_TOKENS" if done.truncated else "STOP"
            if done.text_tokens:
                usage["candidatesTokenCount"] = done.text_tokens
            usage["totalTokenCount"] = prompt_tokens + done.completion_tokens
            usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": prompt_tokens}]
            if done.reasoning_tokens:
                usage["thoughtsTokenCount"] = done.reasoning_tokens
        else:
            usage["totalTokenCount"] = prompt_tokens
        out.append(
            {"candidates": [candidate], "usageMetadata": usage, "modelVersion": version, "responseId": response_id}
        )
    return out


def _ollama_message(model: str, content: str) -> dict[str, Any]:
    created_at = datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")
    return {
        "model": model,
        "created_at": created_at,
        "message": {"role": "assistant", "content": content},
        "done": False,
    }


def _ollama_done(model: str, content: str, prompt_tokens: int, eval_tokens: int, truncated: bool) -> dict[str, Any]:
    body = _ollama_message(model, content)
    # Ollama reports durations in nanoseconds.
    body.update(
        done=True,
        done_reason="length" if truncated else "stop",
        total_duration=3_000_000,
        load_duration=1_000_000,
        prompt_eval_count=prompt_tokens,
        prompt_eval_duration=1_000_000,
        eval_count=eval_tokens,
        eval_duration=1_000_000,
    )
    return body


# --- the server ----------------------------------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _FakeProviders:
    """Request handling shared by all providers: gates, answers, request log."""

    def __init__(self, state_dir: pathlib.Path) -> None:
        self.state_dir = state_dir
        # Admitted requests per rate-limit scope ("groq" or "groq/MODEL"): (time, tokens).
        self._windows: dict[str, collections.deque[tuple[float, int]]] = collections.defaultdict(collections.deque)

    # -- state files

    def _valid_keys(self, provider: str) -> list[str]:
        return _read_json_file(self.state_dir / VALID_KEYS_FILE, {}).get(provider, [])

    def _knobs(self) -> dict[str, Any]:
        return _read_json_file(self.state_dir / KNOBS_FILE, {})

    @staticmethod
    def _knob(knobs: dict[str, Any], name: str, provider: str, model: str | None) -> tuple[str | None, Any]:
        """(scope, value) of the ``name`` knob for ``provider/model``, else for ``provider``."""
        section = knobs.get(name, {})
        for scope in (f"{provider}/{model}", provider) if model else (provider,):
            if scope in section:
                return scope, section[scope]
        return None, None

    @staticmethod
    def _strict(knobs: dict[str, Any], provider: str, what: str) -> bool:
        """Whether ``provider`` checks ``what`` ("keys" or "models"); strict unless turned off."""
        setting = knobs.get("strict", {}).get(provider, True)
        if isinstance(setting, dict):
            return bool(setting.get(what, True))
        return bool(setting)

    def _listed(self, provider: str, knobs: dict[str, Any]) -> list[str]:
        """The names ``GET .../models`` lists: the catalogue minus the ``retired`` knob's."""
        retired = knobs.get("retired", [])
        return [m for m in CATALOGUE[provider] if f"{provider}/{m}" not in retired]

    def _log(self, entry: dict[str, Any]) -> None:
        with open(self.state_dir / REQUEST_LOG_FILE, "a", encoding="utf-8") as log:
            log.write(json.dumps(entry, sort_keys=True) + "\n")

    # -- the common request path

    async def _serve(
        self,
        request: web.Request,
        provider: str,
        model: str | None,
        key: str | None,
        prompt_tokens: int,
        answer: Callable[[], Awaitable[web.StreamResponse]],
        stream: bool = False,
        completion_tokens: int = 0,
        key_in_query: bool = False,
    ) -> web.StreamResponse:
        """Delay, gate, answer and log one request."""
        started = time.monotonic()
        knobs = self._knobs()
        _, latency_ms = self._knob(knobs, "latency_ms", provider, model)
        if latency_ms:
            await asyncio.sleep(latency_ms / 1000)
        try:
            self._gate(provider, model, key, knobs, prompt_tokens + completion_tokens, key_in_query)
            response = await answer()
        except _Refusal as refusal:
            response = refusal.response
            completion_tokens = 0
        entry: dict[str, Any] = {
            "time": datetime.datetime.now(datetime.UTC).isoformat(),
            "provider": provider,
            "method": request.method,
            # Path only: a Gemini query string may carry the key.
            "path": request.path,
            "model": model,
            "stream": stream,
            "key_fingerprint": key_fingerprint(key) if key is not None else None,
            "key_sha256": key_sha256(key) if key is not None else None,
            "status": response.status,
            "latency_ms": round((time.monotonic() - started) * 1000, 1),
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
        }
        self._log(entry)
        return response

    def _gate(
        self,
        provider: str,
        model: str | None,
        key: str | None,
        knobs: dict[str, Any],
        tokens: int,
        key_in_query: bool = False,
    ) -> None:
        """Raise :class:`_Refusal` when the request must fail, in the order real APIs check.

        An outage (``fail``) comes first, as a down upstream checks nothing; then the key,
        then the model, then the rate limit.
        """
        _, status = self._knob(knobs, "fail", provider, model)
        if status:
            raise _Refusal(_outage_error(provider, int(status)))
        if provider in KEYED_PROVIDERS:
            self._check_key(provider, key, knobs, key_in_query)
        if model is None:
            return
        self._check_model(provider, model, knobs)
        scope, limits = self._knob(knobs, "rate_limit", provider, model)
        if limits:
            self._admit(provider, model, scope, limits, tokens)

    def _check_key(self, provider: str, key: str | None, knobs: dict[str, Any], key_in_query: bool) -> None:
        if key is None:
            raise _Refusal(_auth_error(provider, key))
        if self._strict(knobs, provider, "keys"):
            # A key the provider would never issue is refused as any wrong key is; for Gemini
            # that includes the legacy AIza "Standard" keys Google stopped accepting.
            if not catalog.key_has_provider_format(provider, key):
                raise _Refusal(_auth_error(provider, key))
            if provider == "gemini" and key_in_query:
                raise _Refusal(_gemini_query_key_error())
        if key not in self._valid_keys(provider):
            raise _Refusal(_auth_error(provider, key))

    def _check_model(self, provider: str, model: str, knobs: dict[str, Any]) -> None:
        if f"{provider}/{model}" in knobs.get("retired", []):
            raise _Refusal(_model_refusal(provider, model, _KNOB_REFUSAL.get(provider, "")))
        if not self._strict(knobs, provider, "models") or model in catalog.MODELS[provider]:
            return
        retired = catalog.RETIRED.get(provider, {}).get(model)
        if retired:
            raise _Refusal(_model_refusal(provider, model, retired["refusal"]))
        raise _Refusal(_model_refusal(provider, model, _UNKNOWN_REFUSAL.get(provider, "")))

    def _admit(self, provider: str, model: str, scope: str, limits: dict[str, int], tokens: int) -> None:
        """Count the request in its sliding one-minute (and one-day) window, or refuse it with a 429.

        ``rpd`` is the free tiers' requests-per-day quota (Groq answers it as "requests per day
        (RPD)" with a retry-after of hours; LiteLLM has nothing that enforces it).
        """
        now = time.monotonic()
        window = self._windows[scope]
        day = self._windows[scope + "#day"]
        while window and window[0][0] <= now - RATE_WINDOW_S:
            window.popleft()
        while day and day[0][0] <= now - DAY_WINDOW_S:
            day.popleft()
        rpd = limits.get("rpd")
        if rpd is not None and len(day) >= rpd:
            raise _Refusal(
                _rate_limit_error(provider, model, "rpd", rpd, len(day), 1, _retry_after(day, now, DAY_WINDOW_S))
            )
        rpm, tpm = limits.get("rpm"), limits.get("tpm")
        # LiteLLM sleeps for a retry-after of up to 60 s before retrying (twice by default), so
        # tests may announce a shorter one than the window really needs.
        retry_after = int(limits.get("retry_after", _retry_after(window, now)))
        if rpm is not None and len(window) >= rpm:
            raise _Refusal(_rate_limit_error(provider, model, "rpm", rpm, len(window), 1, retry_after))
        used_tokens = sum(spent for _, spent in window)
        if tpm is not None and used_tokens + tokens > tpm:
            raise _Refusal(_rate_limit_error(provider, model, "tpm", tpm, used_tokens, tokens, retry_after))
        window.append((now, tokens))
        day.append((now, tokens))

    async def _json_body(self, request: web.Request, provider: str) -> dict[str, Any]:
        """The request's JSON object, or a :class:`_Refusal` with a 400 in provider shape."""
        # Parse the raw bytes: LiteLLM's ollama_chat posts JSON as application/octet-stream.
        try:
            body = json.loads(await request.read())
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise _Refusal(_error(provider, 400, "Invalid JSON in request body", "invalid_request_error"))
        return body

    # -- OpenAI-compatible providers (groq, mistral, openai, vllm)

    def openai_chat(self, provider: str) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            key = _bearer(request)
            try:
                body = await self._json_body(request, provider)
            except _Refusal as refusal:
                return await self._serve(request, provider, None, key, 0, _raise(refusal))
            model = str(body.get("model", ""))
            messages = body.get("messages") or []
            prompt_tokens = sum(count_tokens(_text_of(m.get("content"))) for m in messages)
            budget = _positive_int(body.get("max_completion_tokens")) or _positive_int(body.get("max_tokens"))
            done = _Completion.plan(provider, model, budget)
            shape = _OpenAIShape(
                provider, model, prompt_tokens, done, show_reasoning=body.get("include_reasoning") is not False
            )
            stream = bool(body.get("stream"))

            async def answer() -> web.StreamResponse:
                if not stream:
                    return web.json_response(shape.completion())
                include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
                await response.prepare(request)
                for chunk in shape.chunks(include_usage):
                    await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
                await response.write(b"data: [DONE]\n\n")
                await response.write_eof()
                return response

            return await self._serve(
                request, provider, model, key, prompt_tokens, answer, stream, done.completion_tokens
            )

        return handle

    def openai_models(self, provider: str) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            models = self._listed(provider, self._knobs())

            async def answer() -> web.StreamResponse:
                data = [_openai_list_entry(provider, m) for m in models]
                return web.json_response({"object": "list", "data": data})

            return await self._serve(request, provider, None, _bearer(request), 0, answer)

        return handle

    def openai_model(self, provider: str) -> Handler:
        """``GET .../models/{model}`` (Groq and Mistral have it)."""

        async def handle(request: web.Request) -> web.StreamResponse:
            model = request.match_info["model"]
            listed = self._listed(provider, self._knobs())

            async def answer() -> web.StreamResponse:
                if model not in listed:
                    raise _Refusal(_model_lookup_error(provider, model))
                return web.json_response(_openai_list_entry(provider, model))

            return await self._serve(request, provider, None, _bearer(request), 0, answer)

        return handle

    # -- Gemini (Google AI Studio)

    @staticmethod
    def _gemini_key(request: web.Request) -> tuple[str | None, bool]:
        """(key, whether it came as ?key=). LiteLLM sends the header."""
        header = request.headers.get("x-goog-api-key")
        if header is not None:
            return header, False
        query = request.query.get("key")
        return query, query is not None

    async def gemini_generate(self, request: web.Request) -> web.StreamResponse:
        key, in_query = self._gemini_key(request)
        model, _, method = request.match_info["target"].partition(":")
        if method not in ("generateContent", "streamGenerateContent"):
            return await self._unknown(request, "gemini", key)
        try:
            body = await self._json_body(request, "gemini")
        except _Refusal as refusal:
            return await self._serve(request, "gemini", model, key, 0, _raise(refusal), key_in_query=in_query)
        texts = [
            part.get("text", "")
            for content in body.get("contents", []) + [_proto_field(body, "systemInstruction") or {}]
            for part in content.get("parts", [])
        ]
        prompt_tokens = sum(count_tokens(text) for text in texts)
        stream = method == "streamGenerateContent"
        config = _proto_field(body, "generationConfig") or {}
        # Thinking settings (thinkingConfig) are ignored: the fake always thinks its fixed
        # amount, never less than the real model would.
        done = _Completion.plan("gemini", model, _positive_int(_proto_field(config, "maxOutputTokens")))

        async def answer() -> web.StreamResponse:
            chunks = _gemini_chunks(model, prompt_tokens, done, stream)
            if not stream:
                return web.json_response(chunks[0])
            if request.query.get("alt") != "sse":
                # Without alt=sse, Google streams one JSON array of responses.
                return web.json_response(chunks)
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            for chunk in chunks:
                await response.write(f"data: {json.dumps(chunk)}\r\n\r\n".encode())
            await response.write_eof()
            return response

        return await self._serve(
            request, "gemini", model, key, prompt_tokens, answer, stream, done.completion_tokens, key_in_query=in_query
        )

    async def gemini_models(self, request: web.Request) -> web.StreamResponse:
        key, in_query = self._gemini_key(request)
        models = self._listed("gemini", self._knobs())

        async def answer() -> web.StreamResponse:
            # Paging as in models.list: pageSize 0 or unset -> 50, capped at 1000; a negative
            # size or a token this server did not issue is INVALID_ARGUMENT (Google's AIP-158;
            # the message texts are not verified).
            try:
                size = int(request.query.get("pageSize", "0"))
            except ValueError:
                size = -1
            if size < 0:
                raise _Refusal(_error("gemini", 400, "Invalid page size.", ""))
            size = min(size or GEMINI_DEFAULT_PAGE_SIZE, GEMINI_MAX_PAGE_SIZE)
            offset = 0
            if request.query.get("pageToken"):
                offset = _page_offset(request.query["pageToken"])
                if offset is None:
                    raise _Refusal(_error("gemini", 400, "Invalid page token.", ""))
            page = models[offset : offset + size]
            body: dict[str, Any] = {"models": [_gemini_model_entry(m) for m in page]}
            if offset + size < len(models):
                body["nextPageToken"] = _page_token(offset + size)
            return web.json_response(body)

        return await self._serve(request, "gemini", None, key, 0, answer, key_in_query=in_query)

    async def gemini_model(self, request: web.Request) -> web.StreamResponse:
        key, in_query = self._gemini_key(request)
        model = request.match_info["model"]
        listed = self._listed("gemini", self._knobs())

        async def answer() -> web.StreamResponse:
            if model not in listed:
                raise _Refusal(_model_lookup_error("gemini", model))
            return web.json_response(_gemini_model_entry(model))

        return await self._serve(request, "gemini", None, key, 0, answer, key_in_query=in_query)

    # -- Ollama

    async def ollama_chat(self, request: web.Request) -> web.StreamResponse:
        key = _bearer(request)
        try:
            body = await self._json_body(request, "ollama")
        except _Refusal as refusal:
            return await self._serve(request, "ollama", None, key, 0, _raise(refusal))
        model = str(body.get("model", ""))
        messages = body.get("messages") or []
        prompt_tokens = sum(count_tokens(_text_of(m.get("content"))) for m in messages)
        # Unlike OpenAI, Ollama streams unless told not to.
        stream = body.get("stream", True) is not False
        done = _Completion.plan("ollama", model, _positive_int((body.get("options") or {}).get("num_predict")))

        async def answer() -> web.StreamResponse:
            if not stream:
                return web.json_response(
                    _ollama_done(model, done.text, prompt_tokens, done.text_tokens, done.truncated)
                )
            response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
            await response.prepare(request)
            lines = [_ollama_message(model, piece) for piece in _pieces(done.text)]
            lines.append(_ollama_done(model, "", prompt_tokens, done.text_tokens, done.truncated))
            for line in lines:
                await response.write(json.dumps(line).encode() + b"\n")
            await response.write_eof()
            return response

        return await self._serve(request, "ollama", model, key, prompt_tokens, answer, stream, done.completion_tokens)

    async def ollama_tags(self, request: web.Request) -> web.StreamResponse:
        models = self._listed("ollama", self._knobs())

        async def answer() -> web.StreamResponse:
            tags = [{"name": m, "model": m, "size": 4_683_087_332, "details": {"format": "gguf"}} for m in models]
            return web.json_response({"models": tags})

        return await self._serve(request, "ollama", None, _bearer(request), 0, answer)

    # -- anything else under a provider prefix

    def unknown_url(self, provider: str) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            key = self._gemini_key(request)[0] if provider == "gemini" else _bearer(request)
            return await self._unknown(request, provider, key)

        return handle

    async def _unknown(self, request: web.Request, provider: str, key: str | None) -> web.StreamResponse:
        """A 404 that is logged too, so a wrong ``api_base`` shows up in the request log."""
        message = f"Unknown request URL: {request.method} {request.path}"
        if provider == "mistral":
            # Mistral's gateway answers an unknown path with {"detail": "Not Found"}
            # (elastic/elasticsearch#128538).
            response = web.json_response({"detail": "Not Found"}, status=404)
        else:
            response = _error(provider, 404, message, "invalid_request_error", "unknown_url")
        return await self._serve(request, provider, None, key, 0, _raise(_Refusal(response)))


def _raise(refusal: _Refusal) -> Callable[[], Awaitable[web.StreamResponse]]:
    """An ``answer`` that refuses, for requests refused before the gates could run."""

    async def answer() -> web.StreamResponse:
        raise refusal

    return answer
