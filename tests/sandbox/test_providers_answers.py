"""The fake providers' answers, each provider in its native protocol.

Where LiteLLM reaches each provider (``api_base``, model prefix); chat bodies and streams in
the provider's own shape; reasoning models that spend their output budget thinking first. The
tests talk to the fake directly, through the ``server`` fixture.
"""

from __future__ import annotations

import json

import pytest
import requests

from sandbox import provider_catalog as catalog
from sandbox import providers
from tests.sandbox.provider_server import (
    KEYS,
    MODELS,
    PROMPT,
    ProviderServer,
    answer_text,
    streamed_text,
)

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
