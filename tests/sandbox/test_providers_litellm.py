"""The real LiteLLM proxy in front of the fake providers (marker ``litellm``).

LiteLLM reaches every provider through ``api_base()``, streams from them, and reports their
answers (a reasoning model out of budget, retired and unknown models, rejected keys, a rate
limit) the way PROVIDERS.md says. One proxy serves the whole module.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from sandbox import providers
from tests.sandbox.provider_server import (
    KEYS,
    LITELLM_BIN,
    PROMPT,
    ProviderServer,
    _key,
)

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
