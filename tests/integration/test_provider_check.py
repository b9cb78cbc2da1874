"""The provider check: each provider is asked, with the key from the vault, before anything is written.

A rejected key, a model the provider does not serve (the story's retired ones among them) or, with
litellm_provider_check: required, a provider the controller cannot reach fail the run before any
write: the ConfigMap's and the Secret's resourceVersions and the Deployment's generation stay as
they were, and no client of that provider gets a failed request. An unreachable provider in auto
mode is a warning; the verification after the rollout is then the net.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import issued_key, leaked, vault_keys

pytestmark = pytest.mark.litellm

GROQ_MODEL = "groq/openai/gpt-oss-120b"


def state(sandbox) -> dict:
    return {
        "configmap": sandbox.resource_version("configmap", "litellm-config"),
        "secret": sandbox.resource_version("secret", "litellm-secrets"),
        "generation": sandbox.generation(),
    }


def site(sandbox, tmp_path, extra: dict, *args: str, env: dict | None = None):
    extra_file = tmp_path / "extra.json"
    extra_file.write_text(json.dumps(extra))
    return sandbox.playbook("site.yml", "-e", f"@{extra_file}", *args, env=env)


@pytest.fixture(scope="module")
def story(sandbox):
    result = sandbox.playbook("site.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    return vault_keys()


def test_a_rejected_key_is_refused_before_any_write(sandbox, story, tmp_path, trickle):
    bad = issued_key("groq")  # right shape, never accepted
    before = state(sandbox)
    with trickle(interval=0.3, models=("vllm-qwen", GROQ_MODEL)) as load:
        result = site(sandbox, tmp_path, {"litellm_api_keys": dict(story, GROQ_API_KEY=bad)}, "-vvv")
    assert result.returncode != 0
    assert "Groq rejected the key in GROQ_API_KEY (HTTP 401: Invalid API Key)" in result.stdout, result.stdout[-3000:]
    assert "Nothing was written" in result.stdout
    assert leaked(result.stdout + result.stderr, dict(sandbox.secrets(), bad=bad)) == []
    assert state(sandbox) == before
    assert load.failures == [] and load.answered[GROQ_MODEL] > 0, load.failures[:3]
    print(f"rotation to a rejected key: {load.ok} requests answered meanwhile, 0 failed, nothing written")


def test_the_storys_retired_models_are_refused_with_the_replacement(sandbox, story, tmp_path):
    before = state(sandbox)
    result = site(sandbox, tmp_path, {"litellm_api_keys": story, "litellm_preset_set": "story"})
    assert result.returncode != 0
    output = result.stdout
    for model, replacement in (
        ("groq/llama-3.3-70b-versatile", "groq/openai/gpt-oss-120b"),
        ("groq/mixtral-8x7b-32768", "groq/openai/gpt-oss-120b"),
        ("gemini/gemini-1.5-flash", "gemini/gemini-3.5-flash-lite"),
        ("gemini/gemini-1.5-pro", "gemini/gemini-3.8-flash"),
    ):
        assert f"does not serve {model}" in output and f"use {replacement} instead" in output, (model, output[-3000:])
    assert "does not serve mistral/mistral-small-latest" not in output  # the story's fifth model is still served
    assert state(sandbox) == before


def test_an_unknown_model_is_refused_naming_close_ones(sandbox, story, tmp_path):
    bases = json.loads((sandbox.state_dir / "provider-api-bases.json").read_text())
    model = {
        "model_name": "groq/openai/gpt-oss-200b",
        "litellm_params": {
            "model": "groq/openai/gpt-oss-200b",
            "api_key": "os.environ/GROQ_API_KEY",
            "api_base": bases["groq"],
        },
    }
    before = state(sandbox)
    result = site(sandbox, tmp_path, {"litellm_api_keys": story, "litellm_parallel_models": [model]})
    assert result.returncode != 0
    assert "Groq does not serve groq/openai/gpt-oss-200b" in result.stdout, result.stdout[-3000:]
    assert "close: openai/gpt-oss-20b" in result.stdout, result.stdout[-3000:]
    assert state(sandbox) == before


@pytest.mark.parametrize("mode", ["auto", "required"])
def test_an_unreachable_provider(sandbox, story, tmp_path, mode):
    """The controller cannot reach the providers (a dead proxy); LiteLLM in the cluster still can."""
    bases = json.loads((sandbox.state_dir / "provider-api-bases.json").read_text())
    model = {
        "model_name": "groq/groq/compound" if mode == "auto" else "groq/groq/compound-mini",
        "litellm_params": {"api_key": "os.environ/GROQ_API_KEY", "api_base": bases["groq"]},
    }
    model["litellm_params"]["model"] = model["model_name"]
    before = state(sandbox)
    result = site(
        sandbox,
        tmp_path,
        {
            "litellm_api_keys": story,
            "litellm_parallel_models": [model],
            "litellm_provider_check": mode,
            "litellm_provider_timeout": 2,
        },
        env={"http_proxy": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "no_proxy": "", "NO_PROXY": ""},
    )
    output = " ".join((result.stdout + result.stderr).split())  # warnings go to stderr, wrapped
    if mode == "auto":
        assert result.returncode == 0, result.stdout[-3000:]
        assert "could not be asked" in output and "going on without the check" in output
        report = json.loads((sandbox.state_dir / "last-run.json").read_text())
        assert [s["status"] for s in report["smoke"] if s["model"] == model["model_name"]] == ["ok"]
    else:
        assert result.returncode != 0
        assert "could not be asked" in output and "required stops here" in output, result.stdout[-3000:]
        assert "Nothing was written" in output
        assert state(sandbox) == before
