"""Fake upstream LLM providers for the sandbox (Groq, Gemini, Mistral, OpenAI, vLLM, Ollama).

One aiohttp application answers as each provider's real API would, under a path prefix per
provider that mirrors the real URL layout (``/groq/openai/v1``, ``/gemini/v1beta``,
``/mistral/v1``, ``/openai/v1``, ``/vllm/v1``, ``/ollama``), so a real LiteLLM proxy pointed at
it with :func:`api_base` sends exactly the requests it would send upstream.

Everything a test wants to control lives in files under ``state_dir`` and is re-read on every
request, so tests can change it while the server runs:

``valid-keys.json``
    ``{"groq": [...], "gemini": [...], "mistral": [...], "openai": [...]}``. Those four providers
    accept only these keys; vLLM and Ollama need none. A missing file means no key is valid.
``providers.json`` (optional)
    ``{"latency_ms": {...}, "fail": {...}, "rate_limit": {...}, "retired": [...]}``. The first
    three map ``"provider"`` or ``"provider/model"`` (the more specific wins) to a delay in ms, an
    HTTP status to fail with, or ``{"rpm": N, "tpm": N, "retry_after": S}`` (a sliding one-minute
    window; ``retry_after`` overrides the announced wait). ``retired`` lists ``"provider/model"``
    names that answer as the real API does for a decommissioned model.

Every request is appended as one JSON line to ``provider-requests.jsonl``, with the key only as
a fingerprint and its full sha256, never in clear.
"""

from __future__ import annotations

import asyncio
import collections
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

# What each fake lists under GET .../models (any model name is answered; these are the ones
# the sandbox and the story use).
CATALOGUE = {
    "groq": ("llama-3.3-70b-versatile", "llama-3.1-8b-instant", "mixtral-8x7b-32768"),
    "gemini": ("gemini-1.5-flash", "gemini-1.5-pro", "gemini-2.0-flash", "gemini-2.5-flash"),
    "mistral": ("mistral-small-latest", "mistral-large-latest", "open-mistral-nemo"),
    "openai": ("gpt-4o", "gpt-4o-mini"),
    "vllm": ("Qwen/Qwen2.5-7B-Instruct",),
    "ollama": ("qwen2.5:7b",),
}

# owned_by in each OpenAI-compatible provider's model list.
_MODEL_OWNER = {"groq": "Groq", "mistral": "mistralai", "openai": "system", "vllm": "vllm"}

VALID_KEYS_FILE = "valid-keys.json"
KNOBS_FILE = "providers.json"
REQUEST_LOG_FILE = "provider-requests.jsonl"

RATE_WINDOW_S = 60.0


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
            web.post("/mistral/v1/chat/completions", fake.openai_chat("mistral")),
            web.get("/mistral/v1/models", fake.openai_models("mistral")),
            web.post("/openai/v1/chat/completions", fake.openai_chat("openai")),
            web.get("/openai/v1/models", fake.openai_models("openai")),
            web.post("/vllm/v1/chat/completions", fake.openai_chat("vllm")),
            web.get("/vllm/v1/models", fake.openai_models("vllm")),
            web.post("/gemini/v1beta/models/{target}", fake.gemini_generate),
            web.get("/gemini/v1beta/models", fake.gemini_models),
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


def _retry_after(window: collections.deque[tuple[float, int]], now: float) -> int:
    """Seconds until the oldest request in ``window`` leaves it (a full window if empty)."""
    if not window:
        return int(RATE_WINDOW_S)
    return max(1, math.ceil(window[0][0] + RATE_WINDOW_S - now))


class _Refusal(Exception):
    """Raised by a gate: the request gets ``response`` instead of an answer."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


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
        body = {"object": "error", "message": message, "type": kind, "param": None, "code": code}
    elif provider == "vllm":
        body = {"error": {"message": message, "type": kind, "param": None, "code": status}}
    elif provider == "openai":
        body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    else:
        body = {"error": {"message": message, "type": kind, "code": code}}
    return web.json_response(body, status=status, headers=headers)


def _auth_error(provider: str, key: str | None) -> web.Response:
    """What each provider really answers for a missing or wrong key."""
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
        message = "API key not valid. Please pass a valid API key."
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
                "message": message,
            },
        ]
        return _error(provider, 400, message, "", details=details)
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


def _retired_error(provider: str, model: str) -> web.Response:
    """What each provider really answers for a decommissioned (or unknown) model."""
    if provider == "groq":
        message = (
            f"The model `{model}` has been decommissioned and is no longer supported. Please "
            "refer to the Groq deprecations page for a recommendation on which model to use "
            "instead."
        )
        return _error(provider, 400, message, "invalid_request_error", "model_decommissioned")
    if provider == "gemini":
        message = (
            f"models/{model} is not found for API version v1beta, or is not supported for "
            "generateContent. Call ListModels to see the list of available models and their "
            "supported methods."
        )
        return _error(provider, 404, message, "")
    if provider == "mistral":
        return _error(provider, 400, f"Invalid model: {model}", "invalid_model", "1500")
    if provider == "ollama":
        return _error(provider, 404, f'model "{model}" not found, try pulling it first', "")
    if provider == "vllm":
        return _error(provider, 404, f"The model `{model}` does not exist.", "NotFoundError")
    message = f"The model `{model}` does not exist or you do not have access to it."
    return _error(provider, 404, message, "invalid_request_error", "model_not_found")


def _rate_limit_error(
    provider: str, model: str, unit: str, limit: int, used: int, wanted: int, retry_after: int
) -> web.Response:
    """A 429 in the provider's shape; ``unit`` is ``"rpm"`` or ``"tpm"``."""
    headers = {"retry-after": str(retry_after)}
    what = "requests per minute (RPM)" if unit == "rpm" else "tokens per minute (TPM)"
    detail = f"Limit {limit}, Used {used}, Requested {wanted}. Please try again in {retry_after}s."
    if provider == "gemini":
        quota_id = (
            "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"
            if unit == "rpm"
            else "GenerateContentInputTokensPerModelPerMinute-FreeTier"
        )
        details = [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": "generativelanguage.googleapis.com/"
                        "generate_content_free_tier_requests",
                        "quotaId": quota_id,
                        "quotaDimensions": {"location": "global", "model": model},
                        "quotaValue": str(limit),
                    }
                ],
            },
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_after}s"},
        ]
        message = (
            "You exceeded your current quota, please check your plan and billing details."
        )
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
    kind = "requests" if unit == "rpm" else "tokens"
    return _error(provider, 429, message, kind, "rate_limit_exceeded", headers=headers)


def _outage_error(provider: str, status: int) -> web.Response:
    """The ``fail`` knob's answer: ``status`` with its standard phrase, in provider shape."""
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return _error(provider, status, phrase, kind, str(status))


# --- response bodies -----------------------------------------------------------------------


def _openai_usage(provider: str, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if provider == "groq":
        # Groq reports its (famously short) timings alongside the counts.
        usage.update(queue_time=0.0002, prompt_time=0.001, completion_time=0.002, total_time=0.003)
    return usage


class _OpenAIShape:
    """Chat completion bodies and stream chunks of one OpenAI-compatible provider."""

    def __init__(self, provider: str, model: str, prompt_tokens: int) -> None:
        self.provider = provider
        self.model = model
        self.text = reply_text(provider, model)
        self.usage = _openai_usage(provider, prompt_tokens, count_tokens(self.text))
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
        body["choices"] = [
            {
                "index": 0,
                "message": {"role": "assistant", "content": self.text},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ]
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
        """Stream chunks: role, one per word, finish; then usage if asked for.

        Groq carries the usage in ``x_groq`` of the finishing chunk and Mistral in the
        finishing chunk itself, whatever ``stream_options`` says.
        """
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        deltas += [{"content": piece} for piece in _pieces(self.text)]
        for number, delta in enumerate(deltas):
            chunk = self._chunk([{"index": 0, "delta": delta, "finish_reason": None}])
            if number == 0 and self.provider == "groq":
                chunk["x_groq"] = {"id": self.request_id}
            yield chunk
        final = self._chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}])
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


def _gemini_chunks(model: str, prompt_tokens: int, pieces: list[str]) -> list[dict[str, Any]]:
    """``generateContent`` responses, one per piece; the last one finishes and counts."""
    text = "".join(pieces)
    response_id = uuid.uuid4().hex[:22]
    out = []
    for number, piece in enumerate(pieces):
        last = number == len(pieces) - 1
        candidate: dict[str, Any] = {
            "content": {"parts": [{"text": piece}], "role": "model"},
            "index": 0,
        }
        usage: dict[str, Any] = {"promptTokenCount": prompt_tokens}
        if last:
            completion_tokens = count_tokens(text)
            candidate["finishReason"] = "STOP"
            usage.update(
                candidatesTokenCount=completion_tokens,
                totalTokenCount=prompt_tokens + completion_tokens,
                promptTokensDetails=[{"modality": "TEXT", "tokenCount": prompt_tokens}],
            )
        else:
            usage["totalTokenCount"] = prompt_tokens
        out.append(
            {
                "candidates": [candidate],
                "usageMetadata": usage,
                "modelVersion": model,
                "responseId": response_id,
            }
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


def _ollama_done(model: str, content: str, prompt_tokens: int, eval_tokens: int) -> dict[str, Any]:
    body = _ollama_message(model, content)
    # Ollama reports durations in nanoseconds.
    body.update(
        done=True,
        done_reason="stop",
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
        self._windows: dict[str, collections.deque[tuple[float, int]]] = (
            collections.defaultdict(collections.deque)
        )

    # -- state files

    def _valid_keys(self, provider: str) -> list[str]:
        return _read_json_file(self.state_dir / VALID_KEYS_FILE, {}).get(provider, [])

    def _knobs(self) -> dict[str, Any]:
        return _read_json_file(self.state_dir / KNOBS_FILE, {})

    @staticmethod
    def _knob(
        knobs: dict[str, Any], name: str, provider: str, model: str | None
    ) -> tuple[str | None, Any]:
        """(scope, value) of the ``name`` knob for ``provider/model``, else for ``provider``."""
        section = knobs.get(name, {})
        for scope in (f"{provider}/{model}", provider) if model else (provider,):
            if scope in section:
                return scope, section[scope]
        return None, None

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
    ) -> web.StreamResponse:
        """Delay, gate, answer and log one request."""
        started = time.monotonic()
        knobs = self._knobs()
        _, latency_ms = self._knob(knobs, "latency_ms", provider, model)
        if latency_ms:
            await asyncio.sleep(latency_ms / 1000)
        completion_tokens = count_tokens(reply_text(provider, model)) if model else 0
        try:
            self._gate(provider, model, key, knobs, prompt_tokens + completion_tokens)
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
        self, provider: str, model: str | None, key: str | None, knobs: dict[str, Any], tokens: int
    ) -> None:
        """Raise :class:`_Refusal` when the request must fail, in the order real APIs check.

        An outage (``fail``) comes first, as a down upstream checks nothing; then the key,
        then the model, then the rate limit.
        """
        _, status = self._knob(knobs, "fail", provider, model)
        if status:
            raise _Refusal(_outage_error(provider, int(status)))
        if provider in KEYED_PROVIDERS and (key is None or key not in self._valid_keys(provider)):
            raise _Refusal(_auth_error(provider, key))
        if model is None:
            return
        if f"{provider}/{model}" in knobs.get("retired", []):
            raise _Refusal(_retired_error(provider, model))
        scope, limits = self._knob(knobs, "rate_limit", provider, model)
        if limits:
            self._admit(provider, model, scope, limits, tokens)

    def _admit(
        self, provider: str, model: str, scope: str, limits: dict[str, int], tokens: int
    ) -> None:
        """Count the request in its sliding one-minute window, or refuse it with a 429."""
        now = time.monotonic()
        window = self._windows[scope]
        while window and window[0][0] <= now - RATE_WINDOW_S:
            window.popleft()
        rpm, tpm = limits.get("rpm"), limits.get("tpm")
        # LiteLLM sleeps for a retry-after of up to 60 s before retrying (twice by default), so
        # tests may announce a shorter one than the window really needs.
        retry_after = int(limits.get("retry_after", _retry_after(window, now)))
        if rpm is not None and len(window) >= rpm:
            raise _Refusal(
                _rate_limit_error(provider, model, "rpm", rpm, len(window), 1, retry_after)
            )
        used_tokens = sum(spent for _, spent in window)
        if tpm is not None and used_tokens + tokens > tpm:
            raise _Refusal(
                _rate_limit_error(provider, model, "tpm", tpm, used_tokens, tokens, retry_after)
            )
        window.append((now, tokens))

    async def _json_body(self, request: web.Request, provider: str) -> dict[str, Any]:
        """The request's JSON object, or a :class:`_Refusal` with a 400 in provider shape."""
        # Parse the raw bytes: LiteLLM's ollama_chat posts JSON as application/octet-stream.
        try:
            body = json.loads(await request.read())
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise _Refusal(
                _error(provider, 400, "Invalid JSON in request body", "invalid_request_error")
            )
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
            shape = _OpenAIShape(provider, model, prompt_tokens)
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

            return await self._serve(request, provider, model, key, prompt_tokens, answer, stream)

        return handle

    def openai_models(self, provider: str) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            retired = self._knobs().get("retired", [])
            models = [m for m in CATALOGUE[provider] if f"{provider}/{m}" not in retired]

            async def answer() -> web.StreamResponse:
                owner = _MODEL_OWNER[provider]
                data = [
                    {"id": m, "object": "model", "created": 1700000000, "owned_by": owner}
                    for m in models
                ]
                return web.json_response({"object": "list", "data": data})

            return await self._serve(request, provider, None, _bearer(request), 0, answer)

        return handle

    # -- Gemini (Google AI Studio)

    @staticmethod
    def _gemini_key(request: web.Request) -> str | None:
        # The header is what LiteLLM sends; Google also accepts ?key=.
        return request.headers.get("x-goog-api-key") or request.query.get("key")

    async def gemini_generate(self, request: web.Request) -> web.StreamResponse:
        key = self._gemini_key(request)
        model, _, method = request.match_info["target"].partition(":")
        if method not in ("generateContent", "streamGenerateContent"):
            return await self._unknown(request, "gemini", key)
        try:
            body = await self._json_body(request, "gemini")
        except _Refusal as refusal:
            return await self._serve(request, "gemini", model, key, 0, _raise(refusal))
        texts = [
            part.get("text", "")
            for content in body.get("contents", []) + [body.get("systemInstruction") or {}]
            for part in content.get("parts", [])
        ]
        prompt_tokens = sum(count_tokens(text) for text in texts)
        stream = method == "streamGenerateContent"

        async def answer() -> web.StreamResponse:
            text = reply_text("gemini", model)
            if not stream:
                return web.json_response(_gemini_chunks(model, prompt_tokens, [text])[0])
            chunks = _gemini_chunks(model, prompt_tokens, _pieces(text))
            if request.query.get("alt") != "sse":
                # Without alt=sse, Google streams one JSON array of responses.
                return web.json_response(chunks)
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            for chunk in chunks:
                await response.write(f"data: {json.dumps(chunk)}\r\n\r\n".encode())
            await response.write_eof()
            return response

        return await self._serve(request, "gemini", model, key, prompt_tokens, answer, stream)

    async def gemini_models(self, request: web.Request) -> web.StreamResponse:
        retired = self._knobs().get("retired", [])

        async def answer() -> web.StreamResponse:
            models = [
                {
                    "name": f"models/{m}",
                    "displayName": m,
                    "inputTokenLimit": 1_048_576,
                    "outputTokenLimit": 8192,
                    "supportedGenerationMethods": ["generateContent", "countTokens"],
                }
                for m in CATALOGUE["gemini"]
                if f"gemini/{m}" not in retired
            ]
            return web.json_response({"models": models})

        return await self._serve(request, "gemini", None, self._gemini_key(request), 0, answer)

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
        text = reply_text("ollama", model)
        eval_tokens = count_tokens(text)

        async def answer() -> web.StreamResponse:
            if not stream:
                return web.json_response(_ollama_done(model, text, prompt_tokens, eval_tokens))
            response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
            await response.prepare(request)
            lines = [_ollama_message(model, piece) for piece in _pieces(text)]
            lines.append(_ollama_done(model, "", prompt_tokens, eval_tokens))
            for line in lines:
                await response.write(json.dumps(line).encode() + b"\n")
            await response.write_eof()
            return response

        return await self._serve(request, "ollama", model, key, prompt_tokens, answer, stream)

    async def ollama_tags(self, request: web.Request) -> web.StreamResponse:
        async def answer() -> web.StreamResponse:
            models = [
                {"name": m, "model": m, "size": 4_683_087_332, "details": {"format": "gguf"}}
                for m in CATALOGUE["ollama"]
            ]
            return web.json_response({"models": models})

        return await self._serve(request, "ollama", None, _bearer(request), 0, answer)

    # -- anything else under a provider prefix

    def unknown_url(self, provider: str) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            key = self._gemini_key(request) if provider == "gemini" else _bearer(request)
            return await self._unknown(request, provider, key)

        return handle

    async def _unknown(
        self, request: web.Request, provider: str, key: str | None
    ) -> web.StreamResponse:
        """A 404 that is logged too, so a wrong ``api_base`` shows up in the request log."""
        message = f"Unknown request URL: {request.method} {request.path}"
        refusal = _Refusal(_error(provider, 404, message, "invalid_request_error", "unknown_url"))
        return await self._serve(request, provider, None, key, 0, _raise(refusal))


def _raise(refusal: _Refusal) -> Callable[[], Awaitable[web.StreamResponse]]:
    """An ``answer`` that refuses, for requests refused before the gates could run."""

    async def answer() -> web.StreamResponse:
        raise refusal

    return answer
