"""The fake providers' request log and the knobs of providers.json.

Every request is logged with its key only as hashes, a wrong URL too; the rate-limit, outage
and latency knobs answer as each provider does, re-read on every request. The tests talk to the
fake directly, through the ``server`` fixture.
"""

from __future__ import annotations

import time

import pytest
import requests

from sandbox import providers
from tests.sandbox.provider_server import (
    KEYS,
    MODELS,
    ProviderServer,
)

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
