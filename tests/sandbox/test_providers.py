"""Tests of the fake LLM providers (sandbox/providers/, sandbox/provider_catalog.py).

Most tests talk to the fake directly, each provider in its own native protocol, through a
server on a free port in a background thread. The tests marked ``litellm`` put the real
LiteLLM proxy in front of it and prove that LiteLLM reaches every provider through
``api_base()`` and reports upstream answers the way PROVIDERS.md says.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from aiohttp import web

from sandbox import provider_catalog as catalog
from sandbox import providers, seed

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


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ProviderServer]:
    running = ProviderServer(tmp_path)
    running.write_keys({provider: [key] for provider, key in KEYS.items()})
    yield running
    running.stop()


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


# --- interface ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "path", "prefix"),
    [
        ("groq", "/groq/openai/v1", "groq/"),
        ("gemini", "/gemini/v1beta", "gemini/"),
        ("mistral", "/mistral/v1", "mistral/"),
        ("openai", "/openai/v1", "openai/"),
        ("vllm", "/vllm/v1", "hosted_vllm/"),
        ("ollama", "/ollama", "ollama_chat/"),
    ],
)
def test_api_base_and_model_prefix(provider: str, path: str, prefix: str) -> None:
    assert providers.api_base("http://127.0.0.1:8080/", provider) == "http://127.0.0.1:8080" + path
    assert providers.litellm_model(provider, "m") == prefix + "m"


# --- answers -----------------------------------------------------------------------------


@pytest.mark.parametrize("provider", providers.PROVIDERS)
def test_valid_request_answers_in_provider_shape(server: ProviderServer, provider: str) -> None:
    response = server.chat(provider, KEYS.get(provider))
    assert response.status_code == 200, response.text
    expected = f"Hello from fake {provider} ({MODELS[provider]})"
    assert providers.reply_text(provider, MODELS[provider]) == expected
    assert answer_text(provider, response.json()) == expected


def test_groq_answer_carries_groq_fields(server: ProviderServer) -> None:
    body = server.chat("groq", KEYS["groq"]).json()
    assert body["service_tier"] == "on_demand"
    assert body["x_groq"]["id"].startswith("req_")
    assert body["usage"]["total_time"] > 0


@pytest.mark.parametrize("provider", providers.PROVIDERS)
def test_stream_delivers_the_same_answer(server: ProviderServer, provider: str) -> None:
    response = server.chat(provider, KEYS.get(provider), stream=True)
    assert response.status_code == 200, response.text
    assert streamed_text(provider, response) == providers.reply_text(provider, MODELS[provider])


def test_openai_stream_reports_usage_when_asked(server: ProviderServer) -> None:
    body = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": PROMPT}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    response = requests.post(
        providers.api_base(server.url, "openai") + "/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {KEYS['openai']}"},
        timeout=10,
    )
    lines = [line for line in response.text.splitlines() if line]
    last = json.loads(lines[-2][len("data: ") :])
    assert last["choices"] == [] and last["usage"]["completion_tokens"] > 0


def test_gemini_stream_without_sse_is_one_json_array(server: ProviderServer) -> None:
    url = providers.api_base(server.url, "gemini") + "/models/gemini-3.6-flash:streamGenerateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": PROMPT}]}]}
    chunks = requests.post(url, json=body, headers={"x-goog-api-key": KEYS["gemini"]}, timeout=10).json()
    text = "".join(chunk["candidates"][0]["content"]["parts"][0]["text"] for chunk in chunks)
    assert text == providers.reply_text("gemini", "gemini-3.6-flash")


def test_gemini_alias_answers_with_the_model_it_resolves_to(server: ProviderServer) -> None:
    body = server.chat("gemini", KEYS["gemini"], "gemini-flash-latest").json()
    assert body["modelVersion"] == "gemini-3.7-flash"


def test_usage_counts_prompt_tokens_roughly(server: ProviderServer) -> None:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x" * 400}]}
    usage = requests.post(
        providers.api_base(server.url, "openai") + "/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {KEYS['openai']}"},
        timeout=10,
    ).json()["usage"]
    assert usage["prompt_tokens"] == 100


# --- model lists -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "path", "listed"),
    [
        ("groq", "/models", lambda body: [m["id"] for m in body["data"]]),
        ("mistral", "/models", lambda body: [m["id"] for m in body["data"]]),
        ("openai", "/models", lambda body: [m["id"] for m in body["data"]]),
        ("vllm", "/models", lambda body: [m["id"] for m in body["data"]]),
        ("gemini", "/models", lambda body: [m["name"][len("models/") :] for m in body["models"]]),
        ("ollama", "/api/tags", lambda body: [m["name"] for m in body["models"]]),
    ],
)
def test_model_lists_are_the_dated_catalogue(server: ProviderServer, provider: str, path: str, listed: Any) -> None:
    response = server.get(provider, path)
    assert response.status_code == 200, response.text
    names = listed(response.json())
    assert names == list(catalog.MODELS[provider]) and MODELS[provider] in names
    assert not set(names) & set(catalog.RETIRED.get(provider, {}))


def test_groq_model_list_has_groq_fields(server: ProviderServer) -> None:
    body = server.get("groq", "/models").json()
    assert body["object"] == "list"
    entry = next(m for m in body["data"] if m["id"] == "openai/gpt-oss-120b")
    assert entry == {
        "id": "openai/gpt-oss-120b",
        "object": "model",
        "created": entry["created"],
        "owned_by": "OpenAI",
        "active": True,
        "context_window": 131072,
        "public_apps": None,
        "max_completion_tokens": 65536,
    }
    assert "llama-3.3-70b-versatile" not in {m["id"] for m in body["data"]}


def test_groq_and_mistral_get_one_model(server: ProviderServer) -> None:
    groq = server.get("groq", "/models/openai/gpt-oss-20b")
    assert groq.status_code == 200 and groq.json()["id"] == "openai/gpt-oss-20b"
    assert groq.json()["context_window"] == 131072
    gone = server.get("groq", "/models/llama-3.3-70b-versatile")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "model_not_found"
    mistral = server.get("mistral", "/models/mistral-small-latest")
    assert mistral.status_code == 200 and mistral.json()["name"] == "mistral-small-2603"
    unknown = server.get("mistral", "/models/open-mistral-nemo")
    assert unknown.status_code == 404 and unknown.json()["type"] == "invalid_model"


def test_mistral_model_list_has_mistral_fields(server: ProviderServer) -> None:
    data = server.get("mistral", "/models").json()["data"]
    small = next(m for m in data if m["id"] == "mistral-small-latest")
    assert small["owned_by"] == "mistralai" and small["type"] == "base"
    assert small["name"] == "mistral-small-2603" and small["aliases"] == ["mistral-small-latest"]
    assert small["capabilities"]["completion_chat"] is True
    assert small["max_context_length"] == 262144 and small["deprecation"] is None
    assert "limits" not in small and "reasoning" not in small


def test_gemini_model_entries(server: ProviderServer) -> None:
    models = server.get("gemini", "/models").json()["models"]
    flash = next(m for m in models if m["name"] == "models/gemini-3.8-flash")
    assert flash == {
        "name": "models/gemini-3.8-flash",
        "version": "3.0",
        "displayName": "Gemini 3.8 Flash",
        "description": "Gemini 3.8 Flash",
        "inputTokenLimit": 1048576,
        "outputTokenLimit": 65536,
        "supportedGenerationMethods": ["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"],
        "temperature": 1,
        "topP": 0.95,
        "topK": 64,
        "maxTemperature": 2,
        "thinking": True,
    }
    gemma = next(m for m in models if m["name"] == "models/gemma-4-31b-it")
    assert "thinking" not in gemma and "generateContent" in gemma["supportedGenerationMethods"]


def test_gemini_list_pages(server: ProviderServer) -> None:
    everything = server.get("gemini", "/models").json()
    assert "nextPageToken" not in everything  # the default page (50) holds the whole list
    names: list[str] = []
    params: dict[str, Any] = {"pageSize": 2}
    while True:
        page = server.get("gemini", "/models", params=params).json()
        assert len(page["models"]) <= 2
        names += [m["name"] for m in page["models"]]
        if "nextPageToken" not in page:
            break
        params = {"pageSize": 2, "pageToken": page["nextPageToken"]}
    assert names == [m["name"] for m in everything["models"]]
    assert len(names) == len(catalog.GEMINI_MODELS)


def test_gemini_page_size_defaults_and_cap(server: ProviderServer, monkeypatch) -> None:
    monkeypatch.setattr(providers.server, "GEMINI_DEFAULT_PAGE_SIZE", 3)
    monkeypatch.setattr(providers.server, "GEMINI_MAX_PAGE_SIZE", 4)
    assert len(server.get("gemini", "/models").json()["models"]) == 3
    assert len(server.get("gemini", "/models", params={"pageSize": 0}).json()["models"]) == 3
    capped = server.get("gemini", "/models", params={"pageSize": 999}).json()
    assert len(capped["models"]) == 4 and "nextPageToken" in capped


@pytest.mark.parametrize("params", [{"pageSize": -1}, {"pageToken": "not-a-token-we-gave"}])
def test_gemini_list_rejects_bad_paging(server: ProviderServer, params: dict[str, Any]) -> None:
    response = server.get("gemini", "/models", params=params)
    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_gemini_get_one_model(server: ProviderServer) -> None:
    response = server.get("gemini", "/models/gemini-3.5-flash-lite")
    assert response.status_code == 200
    assert response.json()["name"] == "models/gemini-3.5-flash-lite"
    missing = server.get("gemini", "/models/gemini-1.5-flash")
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {
            "code": 404,
            "status": "NOT_FOUND",
            "message": "Model is not found: models/gemini-1.5-flash for api version v1beta",
        }
    }


def test_model_lists_need_a_valid_key(server: ProviderServer) -> None:
    assert server.get("groq", "/models", key=_key("gsk_", "unlisted", 56)).status_code == 401
    assert server.get("gemini", "/models", key=_key("AQ.Ab", "unlisted", 53)).status_code == 400
    assert server.get("mistral", "/models", key=_key("", "unlisted", 32)).status_code == 401


# --- retired and unknown models ----------------------------------------------------------


def _groq_decommissioned(body: dict[str, Any]) -> bool:
    error = body["error"]
    return (
        error["code"] == "model_decommissioned"
        and error["type"] == "invalid_request_error"
        and error["param"] == ""
        and body["request_id"].startswith("req_")
        and "has been decommissioned and is no longer supported" in error["message"]
        and "https://console.groq.com/docs/deprecations" in error["message"]
    )


def _groq_not_found(model: str) -> Any:
    return lambda body: (
        body
        == {
            "error": {
                "message": f"The model `{model}` does not exist or you do not have access to it.",
                "type": "invalid_request_error",
                "code": "model_not_found",
            }
        }
    )


def _gemini_not_found(model: str) -> Any:
    return lambda body: (
        body
        == {
            "error": {
                "code": 404,
                "status": "NOT_FOUND",
                "message": (
                    f"models/{model} is not found for API version v1beta, or is not supported for "
                    "generateContent. Call ListModels to see the list of available models and their "
                    "supported methods."
                ),
            }
        }
    )


def _gemini_new_users(model: str) -> Any:
    return lambda body: (
        body["error"]["status"] == "NOT_FOUND"
        and body["error"]["message"].startswith(
            f"This model models/{model} is no longer available to new "
            "users. Please update your code to use a newer model"
        )
    )


def _mistral_invalid(model: str) -> Any:
    return lambda body: (
        body
        == {
            "object": "error",
            "message": f"Invalid model: {model}",
            "type": "invalid_model",
            "param": None,
            "code": "1500",
            "raw_status_code": 400,
        }
    )


@pytest.mark.parametrize(
    ("provider", "model", "status", "check"),
    [
        ("groq", "mixtral-8x7b-32768", 400, _groq_decommissioned),
        ("groq", "qwen/qwen3-32b", 400, _groq_decommissioned),
        ("groq", "llama-3.3-70b-versatile", 404, _groq_not_found("llama-3.3-70b-versatile")),
        ("groq", "llama-3.1-8b-instant", 404, _groq_not_found("llama-3.1-8b-instant")),
        ("groq", "gpt-oss-120b", 404, _groq_not_found("gpt-oss-120b")),  # prefix missing
        ("gemini", "gemini-1.5-flash", 404, _gemini_not_found("gemini-1.5-flash")),
        ("gemini", "gemini-1.5-pro", 404, _gemini_not_found("gemini-1.5-pro")),
        ("gemini", "gemini-2.0-flash", 404, _gemini_not_found("gemini-2.0-flash")),
        ("gemini", "gemini-2.5-flash", 404, _gemini_new_users("gemini-2.5-flash")),
        ("gemini", "gemini-2.5-pro", 404, _gemini_new_users("gemini-2.5-pro")),
        ("gemini", "gemini-9-ultra", 404, _gemini_not_found("gemini-9-ultra")),
        ("mistral", "open-mistral-nemo", 400, _mistral_invalid("open-mistral-nemo")),
        ("mistral", "mistral-small-lates", 400, _mistral_invalid("mistral-small-lates")),
        (
            "mistral",
            "mistral-large-latest",
            403,
            lambda b: (
                b
                == {
                    "object": "error",
                    "type": "tier_not_allowed",
                    "param": None,
                    "message": "This model is not available in your subscription tier",
                    "code": "1910",
                    "raw_status_code": 403,
                }
            ),
        ),
        ("openai", "gpt-4", 404, lambda b: b["error"]["code"] == "model_not_found"),
        ("vllm", "Qwen/Qwen3-8B", 404, lambda b: b["error"]["type"] == "NotFoundError"),
        ("ollama", "llama3:8b", 404, lambda b: b == {"error": 'model "llama3:8b" not found, try pulling it first'}),
    ],
)
def test_retired_and_unknown_models_answer_like_the_real_api(
    server: ProviderServer, provider: str, model: str, status: int, check: Any
) -> None:
    response = server.chat(provider, KEYS.get(provider), model)
    assert response.status_code == status, response.text
    assert check(response.json()), response.text
    assert server.log()[-1]["status"] == status


def test_groq_and_gemini_stream_requests_are_refused_the_same_way(server: ProviderServer) -> None:
    groq = server.chat("groq", KEYS["groq"], "mixtral-8x7b-32768", stream=True)
    assert groq.status_code == 400 and _groq_decommissioned(groq.json())
    gemini = server.chat("gemini", KEYS["gemini"], "gemini-2.5-flash", stream=True)
    assert gemini.status_code == 404 and _gemini_new_users("gemini-2.5-flash")(gemini.json())


def test_key_is_checked_before_the_model(server: ProviderServer) -> None:
    response = server.chat("groq", _key("gsk_", "unlisted", 56), "mixtral-8x7b-32768")
    assert response.status_code == 401


def test_retired_knob_retires_a_served_model(server: ProviderServer) -> None:
    assert server.chat("groq", KEYS["groq"], "openai/gpt-oss-20b").status_code == 200
    server.write_knobs(
        {
            "retired": [
                "groq/openai/gpt-oss-20b",
                "gemini/gemini-3.6-flash",
                "mistral/mistral-medium-latest",
                "ollama/qwen2.5:7b",
            ]
        }
    )
    assert _groq_decommissioned(server.chat("groq", KEYS["groq"], "openai/gpt-oss-20b").json())
    gemini = server.chat("gemini", KEYS["gemini"], "gemini-3.6-flash")
    assert gemini.status_code == 404 and _gemini_not_found("gemini-3.6-flash")(gemini.json())
    assert server.chat("mistral", KEYS["mistral"], "mistral-medium-latest").status_code == 400
    assert server.chat("ollama", model="qwen2.5:7b").status_code == 404
    names = [m["name"] for m in server.get("gemini", "/models").json()["models"]]
    assert "models/gemini-3.6-flash" not in names and "models/gemini-3.5-flash" in names
    assert "openai/gpt-oss-20b" not in [m["id"] for m in server.get("groq", "/models").json()["data"]]
    assert server.get("groq", "/models/openai/gpt-oss-20b").status_code == 404


def test_strict_models_can_be_turned_off_per_provider(server: ProviderServer) -> None:
    server.write_knobs({"strict": {"groq": {"models": False}}})
    assert server.chat("groq", KEYS["groq"], "llama-3.3-70b-versatile").status_code == 200
    assert server.chat("gemini", KEYS["gemini"], "gemini-1.5-flash").status_code == 404
    server.write_knobs({"strict": {"groq": {"models": False}}, "retired": ["groq/llama-3.3-70b-versatile"]})
    assert server.chat("groq", KEYS["groq"], "llama-3.3-70b-versatile").status_code == 400


# --- reasoning models --------------------------------------------------------------------


def test_groq_reasoning_model_with_a_small_budget_answers_nothing(server: ProviderServer) -> None:
    response = server.chat("groq", KEYS["groq"], "openai/gpt-oss-120b", max_tokens=10)
    assert response.status_code == 200
    body = response.json()
    choice = body["choices"][0]
    assert choice["finish_reason"] == "length"
    assert choice["message"]["content"] == ""
    assert choice["message"]["reasoning"]  # what it spent the budget on
    usage = body["usage"]
    assert usage["completion_tokens"] == 10
    assert usage["completion_tokens_details"] == {"reasoning_tokens": 10}
    assert server.log()[-1]["completion_tokens"] == 10


def test_groq_reasoning_model_with_enough_budget_answers(server: ProviderServer) -> None:
    thinking = catalog.GROQ_MODELS["openai/gpt-oss-120b"]["reasoning"]
    text = providers.reply_text("groq", "openai/gpt-oss-120b")
    body = server.chat("groq", KEYS["groq"], "openai/gpt-oss-120b", max_tokens=1000).json()
    choice = body["choices"][0]
    assert choice["finish_reason"] == "stop" and choice["message"]["content"] == text
    assert body["usage"]["completion_tokens_details"]["reasoning_tokens"] == thinking
    assert body["usage"]["completion_tokens"] == thinking + providers.count_tokens(text)
    # max_completion_tokens counts the same way; a budget ending inside the answer cuts it.
    cut = server.chat("groq", KEYS["groq"], "openai/gpt-oss-120b", max_completion_tokens=thinking + 3).json()[
        "choices"
    ][0]
    assert cut["finish_reason"] == "length" and cut["message"]["content"] == text[:12]


def test_groq_reasoning_can_be_left_out(server: ProviderServer) -> None:
    body = server.chat("groq", KEYS["groq"], "openai/gpt-oss-20b", max_tokens=5, include_reasoning=False).json()
    assert "reasoning" not in body["choices"][0]["message"]
    assert body["choices"][0]["message"]["content"] == ""
    assert body["usage"]["completion_tokens_details"]["reasoning_tokens"] == 5


def test_plain_models_spend_no_reasoning(server: ProviderServer) -> None:
    body = server.chat("groq", KEYS["groq"], "qwen/qwen3.8-27b", max_tokens=3).json()
    assert "completion_tokens_details" not in body["usage"]
    assert "reasoning" not in body["choices"][0]["message"]
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["choices"][0]["message"]["content"] == "Hello from f"
    assert server.chat("mistral", KEYS["mistral"], max_tokens=2).json()["choices"][0]["finish_reason"] == "length"


def test_groq_reasoning_stream_with_a_small_budget(server: ProviderServer) -> None:
    response = server.chat("groq", KEYS["groq"], "openai/gpt-oss-120b", stream=True, max_tokens=10)
    chunks = [json.loads(line[len("data: ") :]) for line in response.text.splitlines() if line.startswith("data: {")]
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert "".join(d.get("content", "") for d in deltas) == ""
    assert "".join(d.get("reasoning", "") for d in deltas)
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["x_groq"]["usage"]["completion_tokens_details"] == {"reasoning_tokens": 10}


def test_gemini_thinking_model_with_a_small_budget_answers_nothing(server: ProviderServer) -> None:
    response = server.chat("gemini", KEYS["gemini"], "gemini-3.5-flash", max_tokens=10)
    assert response.status_code == 200
    body = response.json()
    candidate = body["candidates"][0]
    assert candidate == {"content": {"role": "model"}, "finishReason": "MAX_TOKENS", "index": 0}
    usage = body["usageMetadata"]
    assert usage["thoughtsTokenCount"] == 10 and "candidatesTokenCount" not in usage
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + 10
    assert body["modelVersion"] == "gemini-3.5-flash" and body["responseId"]


def test_gemini_thinking_model_with_enough_budget_answers(server: ProviderServer) -> None:
    body = server.chat("gemini", KEYS["gemini"], "gemini-3.5-flash", max_tokens=1000).json()
    assert answer_text("gemini", body) == providers.reply_text("gemini", "gemini-3.5-flash")
    assert body["usageMetadata"]["thoughtsTokenCount"] == (catalog.GEMINI_MODELS["gemini-3.5-flash"]["reasoning"])
    gemma = server.chat("gemini", KEYS["gemini"], "gemma-4-31b-it", max_tokens=1000).json()
    assert "thoughtsTokenCount" not in gemma["usageMetadata"]


def test_gemini_thinking_stream_with_a_small_budget(server: ProviderServer) -> None:
    response = server.chat("gemini", KEYS["gemini"], "gemini-3.8-flash", stream=True, max_tokens=8)
    chunks = [json.loads(line[len("data: ") :]) for line in response.text.splitlines() if line]
    assert len(chunks) == 1
    assert chunks[0]["candidates"][0]["content"] == {"role": "model"}
    assert chunks[0]["candidates"][0]["finishReason"] == "MAX_TOKENS"


# --- keys --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "key", "status", "check"),
    [
        (
            "groq",
            _key("gsk_", "unlisted", 56),
            401,
            lambda b: (
                b
                == {"error": {"message": "Invalid API Key", "type": "invalid_request_error", "code": "invalid_api_key"}}
            ),
        ),
        ("groq", None, 401, lambda b: b["error"]["message"] == "Invalid API Key"),
        ("openai", "sk-wrong-key", 401, lambda b: b["error"]["code"] == "invalid_api_key"),
        ("openai", None, 401, lambda b: "didn't provide an API key" in b["error"]["message"]),
        ("mistral", _key("", "unlisted", 32), 401, lambda b: b == {"detail": "Unauthorized"}),
        ("mistral", None, 401, lambda b: b == {"detail": "Unauthorized"}),
        (
            "gemini",
            _key("AQ.Ab", "unlisted", 53),
            400,
            lambda b: (
                b["error"]["status"] == "INVALID_ARGUMENT"
                and b["error"]["message"] == "API key not valid. Please pass a valid API key."
                and b["error"]["details"][0]["reason"] == "API_KEY_INVALID"
            ),
        ),
        ("gemini", None, 403, lambda b: b["error"]["status"] == "PERMISSION_DENIED"),
    ],
)
def test_wrong_or_missing_key_is_rejected_in_provider_shape(
    server: ProviderServer, provider: str, key: str | None, status: int, check: Any
) -> None:
    response = server.chat(provider, key)
    assert response.status_code == status
    assert check(response.json()), response.text


# Keys the provider would never issue; each is listed as valid, so only the format check
# can refuse it.
BAD_FORMAT_KEYS = [
    ("groq", _key("gsk_", "tooShort", 40)),
    ("groq", _key("gsk_", "tooLong", 60)),
    ("groq", _key("sk-", "noGroqPrefix", 56)),
    ("groq", _key("gsk_", "has-a-dash", 56)),
    ("gemini", _key("AIza", "legacyStandardKey", 39)),  # rejected since September 2026
    ("gemini", _key("AQ.Ab", "tooShort", 50)),
    ("gemini", _key("AQ:Ab", "wrongSeparator", 53)),
    ("mistral", _key("", "tooShort", 31)),
    ("mistral", _key("", "underscore_", 32)),
    ("mistral", _key("gsk_", "prefixed", 36)),
]


@pytest.mark.parametrize(("provider", "key"), BAD_FORMAT_KEYS)
def test_keys_the_provider_never_issues_are_rejected_like_wrong_keys(
    server: ProviderServer, provider: str, key: str
) -> None:
    server.write_keys({provider: [key]})
    response = server.chat(provider, key)
    wrong = server.chat(
        provider,
        _key(
            *{"groq": ("gsk_", "wrong", 56), "gemini": ("AQ.Ab", "wrong", 53), "mistral": ("", "wrong", 32)}[provider]
        ),
    )
    assert response.status_code == wrong.status_code and response.status_code in (400, 401)
    assert response.json() == wrong.json()
    assert server.get(provider, "/models", key=key).status_code == response.status_code


def test_key_format_check_can_be_turned_off_per_provider(server: ProviderServer) -> None:
    legacy = _key("AIza", "legacyStandardKey", 39)
    server.write_keys({"gemini": [legacy], "groq": ["gsk_short"]})
    server.write_knobs({"strict": {"gemini": {"keys": False}}})
    assert server.chat("gemini", legacy).status_code == 200
    assert server.chat("groq", "gsk_short").status_code == 401
    server.write_knobs({"strict": {"groq": False}})
    assert server.chat("groq", "gsk_short", "llama-3.3-70b-versatile").status_code == 200


@pytest.mark.parametrize("provider", ["groq", "gemini", "mistral"])
def test_sandbox_demo_keys_have_the_provider_format(provider: str) -> None:
    key = seed.DEMO_PROVIDER_KEYS[provider]
    assert catalog.key_has_provider_format(provider, key)
    assert catalog.KEY_FORMAT[provider].fullmatch(key)
    # Random-looking, so the collection's placeholder check does not refuse them.
    assert len(set(key)) > 15


def test_sandbox_vault_carries_the_demo_keys() -> None:
    vault = REPO_ROOT / "inventory" / "sandbox" / "group_vars" / "all" / "vault.yml"
    password = REPO_ROOT / "inventory" / "sandbox" / "vault-password.txt"
    assert vault.read_text().startswith("$ANSIBLE_VAULT;")
    plain = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-vault"),
            "view",
            "--vault-password-file",
            str(password),
            str(vault),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    keys = yaml.safe_load(plain)["vault_litellm_api_keys"]
    assert keys == {
        "GROQ_API_KEY": seed.DEMO_PROVIDER_KEYS["groq"],
        "GEMINI_API_KEY": seed.DEMO_PROVIDER_KEYS["gemini"],
        "MISTRAL_API_KEY": seed.DEMO_PROVIDER_KEYS["mistral"],
    }


def test_openai_masks_the_rejected_key(server: ProviderServer) -> None:
    response = server.chat("openai", "sk-wrong-but-secret-9876")
    assert "secret" not in response.text and "****9876" in response.text


@pytest.mark.parametrize("provider", ["vllm", "ollama"])
def test_local_providers_need_no_key(server: ProviderServer, provider: str) -> None:
    server.write_keys({})
    assert server.chat(provider).status_code == 200
    assert server.chat(provider, "anything").status_code == 200


ROTATED = {
    "groq": _key("gsk_", "rotated2", 56),
    "gemini": _key("AQ.Ab", "rotated2", 53),
    "mistral": _key("", "rotated2", 32),
    "openai": "sk-rotated-key-0002",
}


@pytest.mark.parametrize("provider", providers.KEYED_PROVIDERS)
def test_key_list_is_reread_on_every_request(server: ProviderServer, provider: str) -> None:
    assert server.chat(provider, KEYS[provider]).status_code == 200
    server.write_keys({provider: [ROTATED[provider]]})
    assert server.chat(provider, KEYS[provider]).status_code in (400, 401)
    assert server.chat(provider, ROTATED[provider]).status_code == 200
    (server.state_dir / providers.VALID_KEYS_FILE).unlink()
    assert server.chat(provider, ROTATED[provider]).status_code in (400, 401)


def test_gemini_auth_key_as_query_parameter_is_not_found(server: ProviderServer) -> None:
    url = providers.api_base(server.url, "gemini") + "/models/gemini-3.5-flash:generateContent"
    body = {"contents": [{"parts": [{"text": PROMPT}]}]}
    response = requests.post(url, params={"key": KEYS["gemini"]}, json=body, timeout=10)
    assert response.status_code == 404 and response.json()["error"]["status"] == "NOT_FOUND"
    assert server.log()[-1]["path"] == "/gemini/v1beta/models/gemini-3.5-flash:generateContent"
    server.write_knobs({"strict": {"gemini": {"keys": False}}})
    assert requests.post(url, params={"key": KEYS["gemini"]}, json=body, timeout=10).status_code == 200


# --- request log -------------------------------------------------------------------------


def test_every_request_is_logged_with_key_hashes_only(server: ProviderServer) -> None:
    for provider in providers.PROVIDERS:
        server.chat(provider, KEYS.get(provider))
    server.chat("groq", "gsk_wrongKeyThatMustNotLeak")
    requests.post(
        providers.api_base(server.url, "gemini") + "/models/x:generateContent",
        params={"key": "AIzaQueryKeyThatMustNotLeak"},
        json={"contents": []},
        timeout=10,
    )

    raw = (server.state_dir / providers.REQUEST_LOG_FILE).read_text()
    for secret in [*KEYS.values(), "gsk_wrongKeyThatMustNotLeak", "AIzaQueryKeyThatMustNotLeak"]:
        assert secret not in raw
    lines = server.log()
    assert [line["provider"] for line in lines] == [*providers.PROVIDERS, "groq", "gemini"]
    groq = lines[0]
    assert groq["key_sha256"] == providers.key_sha256(KEYS["groq"])
    assert groq["key_fingerprint"] == providers.key_fingerprint(KEYS["groq"])
    assert groq["key_fingerprint"].startswith("gsk_...")
    assert groq["method"] == "POST" and groq["path"] == "/groq/openai/v1/chat/completions"
    assert groq["model"] == MODELS["groq"] and groq["status"] == 200
    assert groq["prompt_tokens"] > 0 and groq["completion_tokens"] > 0
    assert groq["latency_ms"] >= 0 and groq["time"].endswith("+00:00")
    assert lines[5]["key_sha256"] is None  # ollama: LiteLLM sends no key
    assert [line["status"] for line in lines[-2:]] == [401, 400]


def test_unknown_url_is_logged_as_404(server: ProviderServer) -> None:
    # The typical misconfiguration: groq's api_base without /openai/v1.
    response = requests.post(
        server.url + "/groq/chat/completions", json={}, headers={"Authorization": f"Bearer {KEYS['groq']}"}, timeout=10
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_url"
    assert server.log()[-1]["path"] == "/groq/chat/completions"
    assert server.log()[-1]["status"] == 404
    mistral = requests.post(
        server.url + "/mistral/chat/completions",
        json={},
        headers={"Authorization": f"Bearer {KEYS['mistral']}"},
        timeout=10,
    )
    assert mistral.status_code == 404 and mistral.json() == {"detail": "Not Found"}


# --- knobs -------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", providers.PROVIDERS)
def test_rpm_limit_answers_429_in_provider_shape(server: ProviderServer, provider: str) -> None:
    server.write_knobs({"rate_limit": {provider: {"rpm": 2}}})
    assert [server.chat(provider, KEYS.get(provider)).status_code for _ in range(2)] == [200, 200]
    refused = server.chat(provider, KEYS.get(provider))
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    body = refused.json()
    if provider == "gemini":
        assert body["error"]["status"] == "RESOURCE_EXHAUSTED"
        assert body["error"]["details"][-1]["retryDelay"] == refused.headers["retry-after"] + "s"
    elif provider == "mistral":
        assert body["type"] == "rate_limited"
    elif provider == "ollama":
        assert body == {"error": "too many requests"}
    else:
        assert "requests per minute (RPM): Limit 2, Used 2" in body["error"]["message"]
    assert server.log()[-1]["status"] == 429


def test_rate_limit_scopes_and_window(server: ProviderServer, monkeypatch) -> None:
    monkeypatch.setattr(providers.server, "RATE_WINDOW_S", 0.5)
    server.write_knobs({"rate_limit": {"groq": {"rpm": 5}, "groq/openai/gpt-oss-20b": {"rpm": 1}}})
    assert server.chat("groq", KEYS["groq"], "openai/gpt-oss-20b").status_code == 200
    assert server.chat("groq", KEYS["groq"], "openai/gpt-oss-20b").status_code == 429
    # The model-specific limit counts apart from the provider-wide one.
    assert server.chat("groq", KEYS["groq"]).status_code == 200
    time.sleep(0.6)
    assert server.chat("groq", KEYS["groq"], "openai/gpt-oss-20b").status_code == 200


def test_tpm_limit_and_announced_retry_after(server: ProviderServer) -> None:
    server.write_knobs({"rate_limit": {"mistral": {"tpm": 40, "retry_after": 2}}})
    assert server.chat("mistral", KEYS["mistral"]).status_code == 200  # ~19 tokens
    assert server.chat("mistral", KEYS["mistral"]).status_code == 200
    refused = server.chat("mistral", KEYS["mistral"])
    assert refused.status_code == 429 and refused.headers["retry-after"] == "2"


def test_tpm_counts_reasoning_tokens(server: ProviderServer) -> None:
    server.write_knobs({"rate_limit": {"groq": {"tpm": 100}}})
    assert server.chat("groq", KEYS["groq"], "qwen/qwen3.8-27b").status_code == 200  # ~15
    assert server.chat("groq", KEYS["groq"], "openai/gpt-oss-120b").status_code == 200  # ~64
    assert server.chat("groq", KEYS["groq"], "openai/gpt-oss-120b").status_code == 429


def test_rate_limit_does_not_count_rejected_keys(server: ProviderServer) -> None:
    server.write_knobs({"rate_limit": {"openai": {"rpm": 1}}})
    assert server.chat("openai", "sk-wrong").status_code == 401
    assert server.chat("openai", KEYS["openai"]).status_code == 200


def test_fail_knob_fails_a_provider_or_one_model(server: ProviderServer) -> None:
    server.write_knobs({"fail": {"vllm": 503, "gemini/gemini-3.6-flash": 500}})
    vllm = server.chat("vllm")
    assert vllm.status_code == 503
    assert vllm.json()["error"] == {
        "message": "Service Unavailable",
        "type": "server_error",
        "param": None,
        "code": 503,
    }
    gemini = server.chat("gemini", KEYS["gemini"], "gemini-3.6-flash")
    assert gemini.status_code == 500 and gemini.json()["error"]["status"] == "INTERNAL"
    assert server.chat("gemini", KEYS["gemini"]).status_code == 200
    assert server.chat("ollama").status_code == 200


def test_latency_knob_delays_answers(server: ProviderServer) -> None:
    server.write_knobs({"latency_ms": {"groq": 300, "groq/openai/gpt-oss-20b": 0}})
    started = time.monotonic()
    assert server.chat("groq", KEYS["groq"]).status_code == 200
    assert time.monotonic() - started >= 0.3
    assert server.log()[-1]["latency_ms"] >= 300
    started = time.monotonic()
    server.chat("groq", KEYS["groq"], "openai/gpt-oss-20b")
    server.chat("mistral", KEYS["mistral"])
    assert time.monotonic() - started < 0.3


def test_bad_json_body_is_a_400(server: ProviderServer) -> None:
    response = requests.post(providers.api_base(server.url, "ollama") + "/api/chat", data=b"not json", timeout=10)
    assert response.status_code == 400 and "error" in response.json()


# --- through the real LiteLLM ------------------------------------------------------------

# Deployments as the product writes them (served, retired and unknown models), and one per
# error check: LiteLLM cools a failed deployment down for ~5 s, so no two checks share one.
LITELLM_MODELS = [
    ("groq-gptoss", "groq", "openai/gpt-oss-120b", "GROQ_API_KEY"),
    ("groq-gptoss-small", "groq", "openai/gpt-oss-120b", "GROQ_API_KEY"),
    ("groq-qwen", "groq", "qwen/qwen3.8-27b", "GROQ_API_KEY"),
    ("groq-llama", "groq", "llama-3.3-70b-versatile", "GROQ_API_KEY"),
    ("groq-mixtral", "groq", "mixtral-8x7b-32768", "GROQ_API_KEY"),
    ("groq-unknown", "groq", "gpt-oss-120b", "GROQ_API_KEY"),
    ("gemini-flash", "gemini", "gemini-3.5-flash", "GEMINI_API_KEY"),
    ("gemini-flash-small", "gemini", "gemini-3.5-flash", "GEMINI_API_KEY"),
    ("gemini-25-flash", "gemini", "gemini-2.5-flash", "GEMINI_API_KEY"),
    ("gemini-15-flash", "gemini", "gemini-1.5-flash", "GEMINI_API_KEY"),
    ("mistral-small", "mistral", "mistral-small-latest", "MISTRAL_API_KEY"),
    ("mistral-nemo", "mistral", "open-mistral-nemo", "MISTRAL_API_KEY"),
    ("mistral-large", "mistral", "mistral-large-latest", "MISTRAL_API_KEY"),
    ("openai-gpt4o", "openai", "gpt-4o", "OPENAI_API_KEY"),
    ("vllm-qwen", "vllm", "Qwen/Qwen2.5-7B-Instruct", None),
    ("ollama-qwen", "ollama", "qwen2.5:7b", None),
    ("groq-wrong-key", "groq", "openai/gpt-oss-20b", "GROQ_WRONG_KEY"),
    ("groq-bad-format-key", "groq", "openai/gpt-oss-20b", "GROQ_BAD_FORMAT_KEY"),
    ("gemini-wrong-key", "gemini", "gemini-3.6-flash", "GEMINI_WRONG_KEY"),
    ("gemini-legacy-key", "gemini", "gemini-3.6-flash", "GEMINI_LEGACY_KEY"),
    ("mistral-wrong-key", "mistral", "mistral-medium-latest", "MISTRAL_WRONG_KEY"),
    ("mistral-bad-format-key", "mistral", "mistral-medium-latest", "MISTRAL_BAD_FORMAT_KEY"),
    ("gemini-limited", "gemini", "gemini-3.7-flash", "GEMINI_API_KEY"),
]
# Keys LiteLLM is given for the wrong-key deployments. The bad-format ones are listed as valid
# in the fake (see the fixture): only the format check refuses them.
WRONG_KEYS = {
    "GROQ_WRONG_KEY": _key("gsk_", "notTheRightKey", 56),
    "GROQ_BAD_FORMAT_KEY": "gsk_notTheRightFormat",
    "GEMINI_WRONG_KEY": _key("AQ.Ab", "notTheRightKey", 53),
    "GEMINI_LEGACY_KEY": _key("AIza", "LegacyStandardKey", 39),
    "MISTRAL_WRONG_KEY": _key("", "notTheRightKey", 32),
    "MISTRAL_BAD_FORMAT_KEY": "mistral-key-with-dashes-00000001",
}


class LiteLLM:
    """A real LiteLLM proxy in front of the fake providers."""

    def __init__(self, workdir: Path, providers_url: str) -> None:
        model_list = []
        for name, provider, model, key_env in LITELLM_MODELS:
            params = {
                "model": providers.litellm_model(provider, model),
                "api_base": providers.api_base(providers_url, provider),
            }
            if key_env:
                params["api_key"] = f"os.environ/{key_env}"
            model_list.append({"model_name": name, "litellm_params": params})
        config = {
            "model_list": model_list,
            # As the sandbox's seed config: no retries, so errors come back at once.
            "router_settings": {"num_retries": 0},
            "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"},
        }
        (workdir / "config.yaml").write_text(yaml.safe_dump(config))
        self.master_key = "sk-" + secrets.token_hex(16)
        env = {name: value for name, value in os.environ.items() if not name.endswith("_API_KEY")}
        env.update(
            LITELLM_LOCAL_MODEL_COST_MAP="True",
            HF_HUB_OFFLINE="1",
            LITELLM_MASTER_KEY=self.master_key,
            GROQ_API_KEY=KEYS["groq"],
            GEMINI_API_KEY=KEYS["gemini"],
            MISTRAL_API_KEY=KEYS["mistral"],
            OPENAI_API_KEY=KEYS["openai"],
            **WRONG_KEYS,
        )
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        self.url = f"http://127.0.0.1:{port}"
        with open(workdir / "litellm.log", "wb") as output:
            self.process = subprocess.Popen(
                [
                    str(LITELLM_BIN),
                    "--config",
                    str(workdir / "config.yaml"),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                cwd=workdir,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready(workdir / "litellm.log")

    def _wait_ready(self, log: Path) -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"LiteLLM exited {self.process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if requests.get(self.url + "/health/readiness", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        pytest.fail(f"LiteLLM not ready after 90 s:\n{log.read_text()[-3000:]}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def chat(self, model: str, stream: bool = False, **extra: Any) -> requests.Response:
        return requests.post(
            self.url + "/v1/chat/completions",
            json={"model": model, "messages": [{"role": "user", "content": PROMPT}], "stream": stream, **extra},
            headers={"Authorization": f"Bearer {self.master_key}"},
            timeout=30,
        )


def start_proxied(workdir: Path) -> tuple[ProviderServer, LiteLLM]:
    fake = ProviderServer(workdir)
    keys = {provider: [key] for provider, key in KEYS.items()}
    keys["groq"].append(WRONG_KEYS["GROQ_BAD_FORMAT_KEY"])
    keys["gemini"].append(WRONG_KEYS["GEMINI_LEGACY_KEY"])
    keys["mistral"].append(WRONG_KEYS["MISTRAL_BAD_FORMAT_KEY"])
    fake.write_keys(keys)
    try:
        return fake, LiteLLM(workdir, fake.url)
    except BaseException:
        fake.stop()
        raise


@pytest.fixture(scope="module")
def proxied(tmp_path_factory) -> Iterator[tuple[ProviderServer, LiteLLM]]:
    if not LITELLM_BIN.exists():
        pytest.skip(f"{LITELLM_BIN} is missing: run `make setup`")
    fake, proxy = start_proxied(tmp_path_factory.mktemp("litellm-providers"))
    yield fake, proxy
    proxy.stop()
    fake.stop()


@pytest.mark.litellm
@pytest.mark.parametrize(
    "name", ["groq-gptoss", "groq-qwen", "gemini-flash", "mistral-small", "openai-gpt4o", "vllm-qwen", "ollama-qwen"]
)
def test_litellm_reaches_every_provider(proxied: tuple[ProviderServer, LiteLLM], name: str) -> None:
    fake, proxy = proxied
    _, provider, model, key_env = next(entry for entry in LITELLM_MODELS if entry[0] == name)
    response = proxy.chat(name)
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == providers.reply_text(provider, model)
    sent = [line for line in fake.log() if line["model"] == model][-1]
    assert sent["status"] == 200
    assert sent["key_sha256"] == (
        providers.key_sha256(KEYS[provider])
        if key_env
        # LiteLLM's hosted_vllm sends a placeholder key; ollama none.
        else {"vllm": providers.key_sha256("fake-api-key")}.get(provider)
    )


@pytest.mark.litellm
@pytest.mark.parametrize("name", ["groq-gptoss", "gemini-flash", "ollama-qwen"])
def test_litellm_streams(proxied: tuple[ProviderServer, LiteLLM], name: str) -> None:
    _, proxy = proxied
    _, provider, model, _ = next(entry for entry in LITELLM_MODELS if entry[0] == name)
    response = proxy.chat(name, stream=True)
    assert response.status_code == 200, response.text
    chunks = [json.loads(line[len("data: ") :]) for line in response.text.splitlines() if line.startswith("data: {")]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == providers.reply_text(provider, model)


@pytest.mark.litellm
def test_litellm_passes_on_a_groq_reasoning_model_that_ran_out_of_budget(
    proxied: tuple[ProviderServer, LiteLLM],
) -> None:
    _, proxy = proxied
    small = proxy.chat("groq-gptoss-small", max_tokens=10)
    assert small.status_code == 200, small.text
    choice = small.json()["choices"][0]
    assert choice["finish_reason"] == "length"
    assert choice["message"]["content"] == ""  # passed on as Groq sends it
    assert choice["message"]["reasoning"]  # LiteLLM keeps Groq's field name (non-streamed)
    assert small.json()["usage"]["completion_tokens_details"] == {"reasoning_tokens": 10}
    large = proxy.chat("groq-gptoss-small", max_tokens=1000).json()["choices"][0]
    assert large["finish_reason"] == "stop"
    assert large["message"]["content"] == providers.reply_text("groq", "openai/gpt-oss-120b")
    streamed = proxy.chat("groq-gptoss-small", max_tokens=10, stream=True)
    chunks = [json.loads(line[len("data: ") :]) for line in streamed.text.splitlines() if line.startswith("data: {")]
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert not "".join(d.get("content") or "" for d in deltas)
    assert "".join(d.get("reasoning_content") or "" for d in deltas)  # renamed when streamed
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


@pytest.mark.litellm
def test_litellm_passes_on_a_gemini_thinking_model_that_ran_out_of_budget(
    proxied: tuple[ProviderServer, LiteLLM],
) -> None:
    _, proxy = proxied
    small = proxy.chat("gemini-flash-small", max_tokens=10)
    assert small.status_code == 200, small.text
    choice = small.json()["choices"][0]
    assert choice["finish_reason"] == "length"
    assert choice["message"]["content"] is None  # Gemini sent no parts at all
    assert small.json()["usage"]["completion_tokens_details"]["reasoning_tokens"] == 10
    large = proxy.chat("gemini-flash-small", max_tokens=1000).json()["choices"][0]
    assert large["finish_reason"] == "stop"
    assert large["message"]["content"] == providers.reply_text("gemini", "gemini-3.5-flash")


# What LiteLLM answers its client when the provider refuses a model (PROVIDERS.md table).
LITELLM_MODEL_REFUSALS = [
    (
        "groq-llama",
        404,
        "invalid_request_error",
        "litellm.NotFoundError: GroqException - ",
        '"code": "model_not_found"',
    ),
    (
        "groq-unknown",
        404,
        "invalid_request_error",
        "litellm.NotFoundError: GroqException - ",
        '"code": "model_not_found"',
    ),
    (
        "groq-mixtral",
        400,
        "invalid_request_error",
        "litellm.BadRequestError: GroqException - ",
        '"code": "model_decommissioned"',
    ),
    (
        "gemini-25-flash",
        404,
        "invalid_request_error",
        "litellm.NotFoundError: GeminiException - ",
        "is no longer available to new users",
    ),
    (
        "gemini-15-flash",
        404,
        "invalid_request_error",
        "litellm.NotFoundError: GeminiException - ",
        "is not found for API version v1beta",
    ),
    (
        "mistral-nemo",
        400,
        "invalid_request_error",
        "litellm.BadRequestError: MistralException - ",
        '"type": "invalid_model"',
    ),
    (
        "mistral-large",
        403,
        "permission_error",
        "litellm.APIError: APIError: MistralException - ",
        '"type": "tier_not_allowed"',
    ),
]


@pytest.mark.litellm
@pytest.mark.parametrize(("name", "status", "kind", "prefix", "marker"), LITELLM_MODEL_REFUSALS)
def test_litellm_reports_retired_and_unknown_models(
    proxied: tuple[ProviderServer, LiteLLM],
    name: str,
    status: int,
    kind: str,
    prefix: str,
    marker: str,
) -> None:
    _, proxy = proxied
    response = proxy.chat(name)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["type"] == kind and error["code"] == str(status)
    assert error["message"].startswith(prefix) and marker in error["message"]
    assert f"model group '{name}' failed" in error["message"]


LITELLM_KEY_REFUSALS = [
    ("groq-wrong-key", "GROQ_WRONG_KEY", "litellm.BadRequestError: GroqException - ", '"Invalid API Key"'),
    ("groq-bad-format-key", "GROQ_BAD_FORMAT_KEY", "litellm.BadRequestError: GroqException - ", '"Invalid API Key"'),
    ("gemini-wrong-key", "GEMINI_WRONG_KEY", "litellm.AuthenticationError: GeminiException - ", "API_KEY_INVALID"),
    ("gemini-legacy-key", "GEMINI_LEGACY_KEY", "litellm.AuthenticationError: GeminiException - ", "API_KEY_INVALID"),
    (
        "mistral-wrong-key",
        "MISTRAL_WRONG_KEY",
        "litellm.AuthenticationError: AuthenticationError: MistralException - ",
        '{"detail": "Unauthorized"}',
    ),
    (
        "mistral-bad-format-key",
        "MISTRAL_BAD_FORMAT_KEY",
        "litellm.AuthenticationError: AuthenticationError: MistralException - ",
        '{"detail": "Unauthorized"}',
    ),
]


@pytest.mark.litellm
@pytest.mark.parametrize(("name", "env", "prefix", "marker"), LITELLM_KEY_REFUSALS)
def test_litellm_reports_rejected_keys_as_auth_errors(
    proxied: tuple[ProviderServer, LiteLLM],
    name: str,
    env: str,
    prefix: str,
    marker: str,
) -> None:
    fake, proxy = proxied
    response = proxy.chat(name)
    assert response.status_code == 401, response.text
    error = response.json()["error"]
    # LiteLLM names Groq's 401 a BadRequestError in the text but answers 401.
    assert error["type"] == "authentication_error" and error["code"] == "401"
    assert error["message"].startswith(prefix) and marker in error["message"]
    assert WRONG_KEYS[env] not in response.text
    sent = [line for line in fake.log() if line["key_sha256"] == providers.key_sha256(WRONG_KEYS[env])]
    assert [line["status"] for line in sent] in ([401], [400])


@pytest.mark.litellm
def test_litellm_cools_a_deployment_down_after_a_rejected_key(
    proxied: tuple[ProviderServer, LiteLLM],
) -> None:
    fake, proxy = proxied
    first = proxy.chat("groq-wrong-key")  # the first rejection, or still in cooldown from it
    assert first.status_code in (401, 429)
    before = len(fake.log())
    cooled = proxy.chat("groq-wrong-key")
    assert cooled.status_code == 429
    assert cooled.json()["error"]["type"] == "all_deployments_in_cooldown"
    assert len(fake.log()) == before  # the provider was not asked


@pytest.mark.litellm
def test_litellm_reports_a_rate_limit(proxied: tuple[ProviderServer, LiteLLM]) -> None:
    fake, proxy = proxied
    fake.write_knobs({"rate_limit": {"gemini/gemini-3.7-flash": {"rpm": 0}}})
    try:
        limited = proxy.chat("gemini-limited")
    finally:
        fake.write_knobs({})
    assert limited.status_code == 429
    assert limited.json()["error"]["type"] == "throttling_error"
    assert limited.json()["error"]["message"].startswith("litellm.RateLimitError: ")
    assert "RESOURCE_EXHAUSTED" in limited.json()["error"]["message"]
