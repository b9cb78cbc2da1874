"""The aiohttp application serving every fake provider.

:func:`build_app` routes each provider's real URL layout to :class:`_FakeProviders`, whose
handlers parse a request in the provider's protocol and hand it to the request path all
providers share: the ``latency_ms`` delay, the gates in the order real APIs check (``fail``,
key, model, rate limit), the answer, and one line in the request log. The knobs, the valid keys
and the rate-limit windows are read here, on every request.
"""

from __future__ import annotations

import asyncio
import collections
import datetime
import json
import math
import pathlib
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .. import provider_catalog as catalog
from .addresses import KEYED_PROVIDERS, PROVIDERS
from .completion import _Completion, _pieces, count_tokens
from .errors import (
    _KNOB_REFUSAL,
    _UNKNOWN_REFUSAL,
    _auth_error,
    _error,
    _gemini_query_key_error,
    _model_lookup_error,
    _model_refusal,
    _outage_error,
    _rate_limit_error,
    _Refusal,
)
from .shapes import (
    _gemini_chunks,
    _gemini_model_entry,
    _ollama_done,
    _ollama_message,
    _openai_list_entry,
    _OpenAIShape,
    _page_offset,
    _page_token,
)
from .state_files import KNOBS_FILE, REQUEST_LOG_FILE, VALID_KEYS_FILE, _read_json_file, key_fingerprint, key_sha256

# The model names each fake serves (the dated snapshot in provider_catalog).
CATALOGUE = {provider: tuple(models) for provider, models in catalog.MODELS.items()}

RATE_WINDOW_S = 60.0
DAY_WINDOW_S = 86400.0

# Gemini's ListModels page size: 50 unless asked, at most 1000 (ai.google.dev models.list).
GEMINI_DEFAULT_PAGE_SIZE = 50
GEMINI_MAX_PAGE_SIZE = 1000


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
