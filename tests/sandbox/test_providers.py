"""Tests of the fake LLM providers (sandbox/providers.py).

Most tests talk to the fake directly, each provider in its own native protocol, through a
server on a free port in a background thread. The tests marked ``litellm`` put the real
LiteLLM proxy in front of it and prove that LiteLLM reaches every provider through
``api_base()`` and reports upstream failures the way PROVIDERS.md says.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from aiohttp import web

from sandbox import providers

REPO_ROOT = Path(__file__).resolve().parents[2]
LITELLM_BIN = REPO_ROOT / ".venv-litellm" / "bin" / "litellm"

MODELS = {
    "groq": "llama-3.3-70b-versatile",
    "gemini": "gemini-1.5-flash",
    "mistral": "mistral-small-latest",
    "openai": "gpt-4o",
    "vllm": "Qwen/Qwen2.5-7B-Instruct",
    "ollama": "qwen2.5:7b",
}
KEYS = {
    "groq": "gsk_testGroqKey000000000000000001",
    "gemini": "AIzaTestGeminiKey00000000000001",
    "mistral": "testMistralKey000000000000000001",
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
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-providers",
                                        daemon=True)
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
        self, provider: str, key: str | None = None, model: str | None = None, stream: bool = False
    ) -> requests.Response:
        """One chat request in ``provider``'s native protocol, as LiteLLM sends it."""
        model = model or MODELS[provider]
        root = providers.api_base(self.url, provider)
        if provider == "gemini":
            method = "streamGenerateContent?alt=sse" if stream else "generateContent"
            headers = {"x-goog-api-key": key} if key is not None else {}
            body: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": PROMPT}]}]}
            return requests.post(f"{root}/models/{model}:{method}", json=body, headers=headers,
                                 timeout=10)
        headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
        body = {"model": model, "messages": [{"role": "user", "content": PROMPT}], "stream": stream}
        path = "/api/chat" if provider == "ollama" else "/chat/completions"
        return requests.post(root + path, json=body, headers=headers, timeout=10)


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
        assert usage["totalTokenCount"] == usage["promptTokenCount"] + usage["candidatesTokenCount"]
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
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": PROMPT}], "stream": True,
            "stream_options": {"include_usage": True}}
    response = requests.post(providers.api_base(server.url, "openai") + "/chat/completions",
                             json=body, headers={"Authorization": f"Bearer {KEYS['openai']}"},
                             timeout=10)
    lines = [line for line in response.text.splitlines() if line]
    last = json.loads(lines[-2][len("data: ") :])
    assert last["choices"] == [] and last["usage"]["completion_tokens"] > 0


def test_gemini_stream_without_sse_is_one_json_array(server: ProviderServer) -> None:
    url = providers.api_base(server.url, "gemini") + "/models/gemini-1.5-pro:streamGenerateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": PROMPT}]}]}
    chunks = requests.post(url, json=body, headers={"x-goog-api-key": KEYS["gemini"]},
                           timeout=10).json()
    text = "".join(chunk["candidates"][0]["content"]["parts"][0]["text"] for chunk in chunks)
    assert text == providers.reply_text("gemini", "gemini-1.5-pro")


def test_usage_counts_prompt_tokens_roughly(server: ProviderServer) -> None:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x" * 400}]}
    usage = requests.post(providers.api_base(server.url, "openai") + "/chat/completions",
                          json=body, headers={"Authorization": f"Bearer {KEYS['openai']}"},
                          timeout=10).json()["usage"]
    assert usage["prompt_tokens"] == 100


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
def test_model_lists(server: ProviderServer, provider: str, path: str, listed: Any) -> None:
    key = KEYS.get(provider, "")
    headers = ({"x-goog-api-key": key} if provider == "gemini"
               else {"Authorization": f"Bearer {key}"})
    response = requests.get(providers.api_base(server.url, provider) + path, headers=headers,
                            timeout=10)
    assert response.status_code == 200
    assert MODELS[provider] in listed(response.json())


# --- keys --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "key", "status", "check"),
    [
        ("groq", "gsk_wrong", 401, lambda b: b["error"]["code"] == "invalid_api_key"),
        ("groq", None, 401, lambda b: b["error"]["message"] == "Invalid API Key"),
        ("openai", "sk-wrong-key", 401, lambda b: b["error"]["code"] == "invalid_api_key"),
        ("openai", None, 401, lambda b: "didn't provide an API key" in b["error"]["message"]),
        ("mistral", "wrong", 401, lambda b: b == {"detail": "Unauthorized"}),
        ("mistral", None, 401, lambda b: b == {"detail": "Unauthorized"}),
        (
            "gemini",
            "AIzaWrong",
            400,
            lambda b: b["error"]["status"] == "INVALID_ARGUMENT"
            and b["error"]["message"].startswith("API key not valid.")
            and b["error"]["details"][0]["reason"] == "API_KEY_INVALID",
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


def test_openai_masks_the_rejected_key(server: ProviderServer) -> None:
    response = server.chat("openai", "sk-wrong-but-secret-9876")
    assert "secret" not in response.text and "****9876" in response.text


@pytest.mark.parametrize("provider", ["vllm", "ollama"])
def test_local_providers_need_no_key(server: ProviderServer, provider: str) -> None:
    server.write_keys({})
    assert server.chat(provider).status_code == 200
    assert server.chat(provider, "anything").status_code == 200


@pytest.mark.parametrize("provider", providers.KEYED_PROVIDERS)
def test_key_list_is_reread_on_every_request(server: ProviderServer, provider: str) -> None:
    assert server.chat(provider, KEYS[provider]).status_code == 200
    server.write_keys({provider: ["rotated-key-0002"]})
    assert server.chat(provider, KEYS[provider]).status_code in (400, 401)
    assert server.chat(provider, "rotated-key-0002").status_code == 200
    (server.state_dir / providers.VALID_KEYS_FILE).unlink()
    assert server.chat(provider, "rotated-key-0002").status_code in (400, 401)


def test_gemini_accepts_the_key_as_query_parameter(server: ProviderServer) -> None:
    url = providers.api_base(server.url, "gemini") + "/models/gemini-1.5-flash:generateContent"
    body = {"contents": [{"parts": [{"text": PROMPT}]}]}
    response = requests.post(url, params={"key": KEYS["gemini"]}, json=body, timeout=10)
    assert response.status_code == 200
    assert server.log()[-1]["path"] == "/gemini/v1beta/models/gemini-1.5-flash:generateContent"


# --- request log -------------------------------------------------------------------------


def test_every_request_is_logged_with_key_hashes_only(server: ProviderServer) -> None:
    for provider in providers.PROVIDERS:
        server.chat(provider, KEYS.get(provider))
    server.chat("groq", "gsk_wrongKeyThatMustNotLeak")
    requests.post(providers.api_base(server.url, "gemini") + "/models/x:generateContent",
                  params={"key": "AIzaQueryKeyThatMustNotLeak"}, json={"contents": []}, timeout=10)

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
    response = requests.post(server.url + "/groq/chat/completions", json={},
                             headers={"Authorization": f"Bearer {KEYS['groq']}"}, timeout=10)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_url"
    assert server.log()[-1]["path"] == "/groq/chat/completions"
    assert server.log()[-1]["status"] == 404


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
    monkeypatch.setattr(providers, "RATE_WINDOW_S", 0.5)
    server.write_knobs({"rate_limit": {"groq": {"rpm": 5}, "groq/mixtral-8x7b-32768": {"rpm": 1}}})
    assert server.chat("groq", KEYS["groq"], "mixtral-8x7b-32768").status_code == 200
    assert server.chat("groq", KEYS["groq"], "mixtral-8x7b-32768").status_code == 429
    # The model-specific limit counts apart from the provider-wide one.
    assert server.chat("groq", KEYS["groq"]).status_code == 200
    time.sleep(0.6)
    assert server.chat("groq", KEYS["groq"], "mixtral-8x7b-32768").status_code == 200


def test_tpm_limit_and_announced_retry_after(server: ProviderServer) -> None:
    server.write_knobs({"rate_limit": {"mistral": {"tpm": 40, "retry_after": 2}}})
    assert server.chat("mistral", KEYS["mistral"]).status_code == 200  # ~19 tokens
    assert server.chat("mistral", KEYS["mistral"]).status_code == 200
    refused = server.chat("mistral", KEYS["mistral"])
    assert refused.status_code == 429 and refused.headers["retry-after"] == "2"


def test_rate_limit_does_not_count_rejected_keys(server: ProviderServer) -> None:
    server.write_knobs({"rate_limit": {"openai": {"rpm": 1}}})
    assert server.chat("openai", "sk-wrong").status_code == 401
    assert server.chat("openai", KEYS["openai"]).status_code == 200


@pytest.mark.parametrize(
    ("provider", "model", "status", "check"),
    [
        ("groq", "mixtral-8x7b-32768", 400,
         lambda b: b["error"]["code"] == "model_decommissioned"),
        ("gemini", "gemini-1.5-flash", 404, lambda b: b["error"]["status"] == "NOT_FOUND"),
        ("gemini", "gemini-1.5-pro", 404,
         lambda b: b["error"]["message"].startswith("models/gemini-1.5-pro is not found")),
        ("mistral", "mistral-small-latest", 400, lambda b: b["type"] == "invalid_model"),
        ("openai", "gpt-4o", 404, lambda b: b["error"]["code"] == "model_not_found"),
        ("ollama", "qwen2.5:7b", 404, lambda b: "try pulling it first" in b["error"]),
    ],
)
def test_retired_model_answers_like_the_real_api(
    server: ProviderServer, provider: str, model: str, status: int, check: Any
) -> None:
    assert server.chat(provider, KEYS.get(provider), model).status_code == 200
    server.write_knobs({"retired": [f"{provider}/{model}"]})
    response = server.chat(provider, KEYS.get(provider), model)
    assert response.status_code == status
    assert check(response.json()), response.text


def test_retired_model_leaves_the_model_list(server: ProviderServer) -> None:
    server.write_knobs({"retired": ["gemini/gemini-1.5-pro"]})
    body = requests.get(providers.api_base(server.url, "gemini") + "/models",
                        headers={"x-goog-api-key": KEYS["gemini"]}, timeout=10).json()
    names = [model["name"] for model in body["models"]]
    assert "models/gemini-1.5-flash" in names and "models/gemini-1.5-pro" not in names


def test_fail_knob_fails_a_provider_or_one_model(server: ProviderServer) -> None:
    server.write_knobs({"fail": {"vllm": 503, "gemini/gemini-1.5-pro": 500}})
    vllm = server.chat("vllm")
    assert vllm.status_code == 503
    assert vllm.json()["error"] == {"message": "Service Unavailable", "type": "server_error",
                                    "param": None, "code": 503}
    gemini = server.chat("gemini", KEYS["gemini"], "gemini-1.5-pro")
    assert gemini.status_code == 500 and gemini.json()["error"]["status"] == "INTERNAL"
    assert server.chat("gemini", KEYS["gemini"]).status_code == 200
    assert server.chat("ollama").status_code == 200


def test_latency_knob_delays_answers(server: ProviderServer) -> None:
    server.write_knobs({"latency_ms": {"groq": 300, "groq/llama-3.1-8b-instant": 0}})
    started = time.monotonic()
    assert server.chat("groq", KEYS["groq"]).status_code == 200
    assert time.monotonic() - started >= 0.3
    assert server.log()[-1]["latency_ms"] >= 300
    started = time.monotonic()
    server.chat("groq", KEYS["groq"], "llama-3.1-8b-instant")
    server.chat("mistral", KEYS["mistral"])
    assert time.monotonic() - started < 0.3


def test_bad_json_body_is_a_400(server: ProviderServer) -> None:
    response = requests.post(providers.api_base(server.url, "ollama") + "/api/chat",
                             data=b"not json", timeout=10)
    assert response.status_code == 400 and "error" in response.json()


# --- through the real LiteLLM ------------------------------------------------------------

# One entry per provider as the product writes them, plus the story's retired models, and
# separate entries for the error checks: LiteLLM cools a failed deployment down for ~5 s.
LITELLM_MODELS = [
    ("groq-llama", "groq", "llama-3.3-70b-versatile", "GROQ_API_KEY"),
    ("groq-mixtral", "groq", "mixtral-8x7b-32768", "GROQ_API_KEY"),
    ("gemini-flash", "gemini", "gemini-1.5-flash", "GEMINI_API_KEY"),
    ("gemini-pro", "gemini", "gemini-1.5-pro", "GEMINI_API_KEY"),
    ("mistral-small", "mistral", "mistral-small-latest", "MISTRAL_API_KEY"),
    ("openai-gpt4o", "openai", "gpt-4o", "OPENAI_API_KEY"),
    ("vllm-qwen", "vllm", "Qwen/Qwen2.5-7B-Instruct", None),
    ("ollama-qwen", "ollama", "qwen2.5:7b", None),
    ("groq-wrong-key", "groq", "llama-3.1-8b-instant", "GROQ_WRONG_KEY"),
    ("gemini-wrong-key", "gemini", "gemini-2.0-flash", "GEMINI_WRONG_KEY"),
    ("gemini-limited", "gemini", "gemini-2.5-flash", "GEMINI_API_KEY"),
]


class LiteLLM:
    """A real LiteLLM proxy in front of the fake providers."""

    def __init__(self, workdir: Path, providers_url: str) -> None:
        model_list = []
        for name, provider, model, key_env in LITELLM_MODELS:
            params = {"model": providers.litellm_model(provider, model),
                      "api_base": providers.api_base(providers_url, provider)}
            if key_env:
                params["api_key"] = f"os.environ/{key_env}"
            model_list.append({"model_name": name, "litellm_params": params})
        config = {"model_list": model_list,
                  # As the sandbox's seed config: no retries, so errors come back at once.
                  "router_settings": {"num_retries": 0},
                  "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"}}
        (workdir / "config.yaml").write_text(yaml.safe_dump(config))
        self.master_key = "sk-" + secrets.token_hex(16)
        env = {name: value for name, value in os.environ.items()
               if not name.endswith("_API_KEY")}
        env.update(LITELLM_LOCAL_MODEL_COST_MAP="True", HF_HUB_OFFLINE="1",
                   LITELLM_MASTER_KEY=self.master_key, GROQ_API_KEY=KEYS["groq"],
                   GEMINI_API_KEY=KEYS["gemini"], MISTRAL_API_KEY=KEYS["mistral"],
                   OPENAI_API_KEY=KEYS["openai"], GROQ_WRONG_KEY="gsk_notTheRightKey",
                   GEMINI_WRONG_KEY="AIzaNotTheRightKey")
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        self.url = f"http://127.0.0.1:{port}"
        with open(workdir / "litellm.log", "wb") as output:
            self.process = subprocess.Popen(
                [str(LITELLM_BIN), "--config", str(workdir / "config.yaml"), "--host",
                 "127.0.0.1", "--port", str(port)],
                cwd=workdir, env=env, stdout=output, stderr=subprocess.STDOUT)
        self._wait_ready(workdir / "litellm.log")

    def _wait_ready(self, log: Path) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"LiteLLM exited {self.process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if requests.get(self.url + "/health/readiness", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        pytest.fail(f"LiteLLM not ready after 60 s:\n{log.read_text()[-3000:]}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def chat(self, model: str, stream: bool = False) -> requests.Response:
        return requests.post(
            self.url + "/v1/chat/completions",
            json={"model": model, "messages": [{"role": "user", "content": PROMPT}],
                  "stream": stream},
            headers={"Authorization": f"Bearer {self.master_key}"}, timeout=30)


@pytest.fixture(scope="module")
def proxied(tmp_path_factory) -> Iterator[tuple[ProviderServer, LiteLLM]]:
    if not LITELLM_BIN.exists():
        pytest.skip(f"{LITELLM_BIN} is missing: run `make setup`")
    workdir = tmp_path_factory.mktemp("litellm-providers")
    fake = ProviderServer(workdir)
    fake.write_keys({provider: [key] for provider, key in KEYS.items()})
    proxy = LiteLLM(workdir, fake.url)
    yield fake, proxy
    proxy.stop()
    fake.stop()


@pytest.mark.litellm
@pytest.mark.parametrize("name", [name for name, *_ in LITELLM_MODELS[:8]])
def test_litellm_reaches_every_provider(proxied: tuple[ProviderServer, LiteLLM], name: str) -> None:
    fake, proxy = proxied
    _, provider, model, key_env = next(entry for entry in LITELLM_MODELS if entry[0] == name)
    response = proxy.chat(name)
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == providers.reply_text(provider,
                                                                                       model)
    sent = [line for line in fake.log() if line["model"] == model][-1]
    assert sent["status"] == 200
    assert sent["key_sha256"] == (providers.key_sha256(KEYS[provider]) if key_env else
                                  # LiteLLM's hosted_vllm sends a placeholder key; ollama none.
                                  {"vllm": providers.key_sha256("fake-api-key")}.get(provider))


@pytest.mark.litellm
@pytest.mark.parametrize("name", ["groq-llama", "gemini-flash", "ollama-qwen"])
def test_litellm_streams(proxied: tuple[ProviderServer, LiteLLM], name: str) -> None:
    _, proxy = proxied
    _, provider, model, _ = next(entry for entry in LITELLM_MODELS if entry[0] == name)
    response = proxy.chat(name, stream=True)
    assert response.status_code == 200, response.text
    chunks = [json.loads(line[len("data: ") :]) for line in response.text.splitlines()
              if line.startswith("data: {")]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == providers.reply_text(provider, model)


@pytest.mark.litellm
def test_litellm_reports_a_rejected_groq_key_as_auth_error(
    proxied: tuple[ProviderServer, LiteLLM],
) -> None:
    fake, proxy = proxied
    response = proxy.chat("groq-wrong-key")
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["type"] == "authentication_error" and error["code"] == "401"
    # LiteLLM names it a BadRequestError in the text but answers 401 authentication_error.
    assert error["message"].startswith("litellm.BadRequestError: GroqException - ")
    assert '"Invalid API Key"' in error["message"]
    assert "gsk_notTheRightKey" not in response.text
    sent = [line for line in fake.log() if line["model"] == "llama-3.1-8b-instant"]
    assert [line["status"] for line in sent] == [401]
    assert sent[0]["key_sha256"] == providers.key_sha256("gsk_notTheRightKey")
    # A failed deployment is cooled down: the next request does not reach the provider.
    cooled = proxy.chat("groq-wrong-key")
    assert cooled.status_code == 429
    assert cooled.json()["error"]["type"] == "all_deployments_in_cooldown"


@pytest.mark.litellm
def test_litellm_reports_a_rejected_gemini_key_as_auth_error(
    proxied: tuple[ProviderServer, LiteLLM],
) -> None:
    _, proxy = proxied
    response = proxy.chat("gemini-wrong-key")
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["type"] == "authentication_error"
    assert error["message"].startswith("litellm.AuthenticationError: GeminiException - ")
    assert "API_KEY_INVALID" in error["message"]


@pytest.mark.litellm
def test_litellm_reports_rate_limit_and_retirement(
    proxied: tuple[ProviderServer, LiteLLM],
) -> None:
    fake, proxy = proxied
    fake.write_knobs({"rate_limit": {"gemini/gemini-2.5-flash": {"rpm": 0}},
                      "retired": ["groq/mixtral-8x7b-32768", "gemini/gemini-1.5-pro"]})
    limited = proxy.chat("gemini-limited")
    assert limited.status_code == 429
    assert limited.json()["error"]["type"] == "throttling_error"
    assert "RESOURCE_EXHAUSTED" in limited.json()["error"]["message"]
    groq = proxy.chat("groq-mixtral")
    assert groq.status_code == 400
    assert groq.json()["error"]["type"] == "invalid_request_error"
    assert "model_decommissioned" in groq.json()["error"]["message"]
    gemini = proxy.chat("gemini-pro")
    assert gemini.status_code == 404
    assert gemini.json()["error"]["message"].startswith("litellm.NotFoundError: GeminiException")
    fake.write_knobs({})
