"""The fake providers on a free port for the provider tests, and readers of their answers.

``ProviderServer`` serves :func:`sandbox.providers.build_app` from a background thread; its
``chat`` and ``get`` send requests in each provider's native protocol, as LiteLLM sends them,
for the models of ``MODELS`` with the keys of ``KEYS``. ``answer_text`` and ``streamed_text``
read the answer of a chat response and check the provider's shape on the way (the sandbox
conftest has their asserts rewritten, as in a test module).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from pathlib import Path
from typing import Any

import requests
from aiohttp import web

from sandbox import providers

REPO_ROOT = Path(__file__).resolve().parents[2]
LITELLM_BIN = REPO_ROOT / ".venv-litellm" / "bin" / "litellm"


def _key(prefix: str, body: str, length: int, fill: str = "x") -> str:
    """A test key of ``length`` characters in a provider's format: ``prefix`` + ``body``."""
    return (prefix + body + fill * length)[:length]


MODELS = {
    "groq": "openai/gpt-oss-120b",
    "gemini": "gemini-3.5-flash",
    "mistral": "mistral-small-latest",
    "openai": "gpt-4o",
    "vllm": "Qwen/Qwen2.5-7B-Instruct",
    "ollama": "qwen2.5:7b",
}
KEYS = {
    "groq": _key("gsk_", "testGroqKey1", 56),
    "gemini": _key("AQ.Ab", "testGeminiKey1", 53),
    "mistral": _key("", "testMistralKey1", 32),
    "openai": "sk-testOpenaiKey0000000000000001",
}
OPENAI_SHAPED = ("groq", "mistral", "openai", "vllm")
PROMPT = "Say hello to the sandbox"


class ProviderServer:
    """The fake providers on a free 127.0.0.1 port, served from a background thread."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        # Set the server up on its loop here, so start-up errors surface in the test, then
        # let a thread run the loop.
        self._loop = asyncio.new_event_loop()
        self._runner = web.AppRunner(providers.build_app(state_dir), access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        self._loop.run_until_complete(web.SockSite(self._runner, sock).start())
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-providers", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def write_keys(self, keys: dict[str, list[str]]) -> None:
        (self.state_dir / providers.VALID_KEYS_FILE).write_text(json.dumps(keys))

    def write_knobs(self, knobs: dict[str, Any]) -> None:
        (self.state_dir / providers.KNOBS_FILE).write_text(json.dumps(knobs))

    def log(self) -> list[dict[str, Any]]:
        path = self.state_dir / providers.REQUEST_LOG_FILE
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def chat(
        self,
        provider: str,
        key: str | None = None,
        model: str | None = None,
        stream: bool = False,
        max_tokens: int | None = None,
        **extra: Any,
    ) -> requests.Response:
        """One chat request in ``provider``'s native protocol, as LiteLLM sends it."""
        model = model or MODELS[provider]
        root = providers.api_base(self.url, provider)
        if provider == "gemini":
            method = "streamGenerateContent?alt=sse" if stream else "generateContent"
            headers = {"x-goog-api-key": key} if key is not None else {}
            body: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": PROMPT}]}]}
            if max_tokens is not None:
                body["generationConfig"] = {"maxOutputTokens": max_tokens}
            return requests.post(f"{root}/models/{model}:{method}", json=body, headers=headers, timeout=10)
        headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
        body = {"model": model, "messages": [{"role": "user", "content": PROMPT}], "stream": stream, **extra}
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        path = "/api/chat" if provider == "ollama" else "/chat/completions"
        return requests.post(root + path, json=body, headers=headers, timeout=10)

    def get(
        self, provider: str, path: str, key: str | None = None, params: dict[str, Any] | None = None
    ) -> requests.Response:
        """A GET under ``provider``'s API root with its key sent the way LiteLLM sends it."""
        key = KEYS.get(provider) if key is None else key
        headers = {"x-goog-api-key": key} if provider == "gemini" else {"Authorization": f"Bearer {key}"}
        return requests.get(providers.api_base(self.url, provider) + path, headers=headers, params=params, timeout=10)


def answer_text(provider: str, body: dict[str, Any]) -> str:
    """The answer of a non-streamed chat response, checking the provider's shape on the way."""
    if provider == "gemini":
        candidate = body["candidates"][0]
        assert candidate["finishReason"] == "STOP"
        assert candidate["content"]["role"] == "model"
        usage = body["usageMetadata"]
        assert usage["totalTokenCount"] == (
            usage["promptTokenCount"] + usage["candidatesTokenCount"] + usage.get("thoughtsTokenCount", 0)
        )
        return candidate["content"]["parts"][0]["text"]
    if provider == "ollama":
        assert body["done"] is True and body["done_reason"] == "stop"
        assert body["prompt_eval_count"] > 0 and body["eval_count"] > 0
        return body["message"]["content"]
    assert body["object"] == "chat.completion"
    assert {"id", "created", "model", "choices", "usage"} <= body.keys()
    choice = body["choices"][0]
    assert choice["finish_reason"] == "stop" and choice["message"]["role"] == "assistant"
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    return choice["message"]["content"]


def streamed_text(provider: str, response: requests.Response) -> str:
    """The answer of a streamed chat response, checking the stream's framing."""
    lines = [line for line in response.text.splitlines() if line.strip()]
    if provider == "ollama":
        assert response.headers["Content-Type"].startswith("application/x-ndjson")
        chunks = [json.loads(line) for line in lines]
        assert chunks[-1]["done"] is True and not any(c["done"] for c in chunks[:-1])
        return "".join(chunk["message"]["content"] for chunk in chunks)
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert all(line.startswith("data: ") for line in lines)
    if provider == "gemini":
        chunks = [json.loads(line[len("data: ") :]) for line in lines]
        assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
        return "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks)
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[len("data: ") :]) for line in lines[:-1]]
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}
    return "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
