"""Provider presets -> LiteLLM model entries (plugins/module_utils/config/presets.py)."""

from __future__ import annotations

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils.config import presets

PRESETS = {
    "groq": {
        "prefix": "groq/",
        "env_var": "GROQ_API_KEY",
        "limits": {"rpm": 30, "tpm": 6000, "rpd": 1000},
        "models": [{"id": "llama-3.3-70b-versatile", "limits": {"tpm": 12000}}, {"id": "mixtral-8x7b-32768"}],
    },
    "mistral": {"prefix": "mistral/", "env_var": "MISTRAL_API_KEY", "models": [{"id": "mistral-small-latest"}]},
}


def test_entries_follow_provider_order_with_key_references_and_limits():
    entries = presets.preset_models(PRESETS, ["mistral", "groq"])
    assert [e["model_name"] for e in entries] == [
        "mistral/mistral-small-latest",
        "groq/llama-3.3-70b-versatile",
        "groq/mixtral-8x7b-32768",
    ]
    llama = entries[1]
    assert llama["litellm_params"] == {
        "model": "groq/llama-3.3-70b-versatile",
        "api_key": "os.environ/GROQ_API_KEY",
        "rpm": 30,
        "tpm": 12000,
    }
    assert llama["model_info"] == {"free_tier_rpd": 1000}
    assert "model_info" not in entries[0] and "rpm" not in entries[0]["litellm_params"]


@pytest.mark.parametrize(
    "limits, expected",
    [
        ({"groq": {"rpm": 10}}, {"rpm": 10, "tpm": 12000}),
        ({"groq/llama-3.3-70b-versatile": {"rpm": 5}}, {"rpm": 5, "tpm": 12000}),
        ({"groq": {"rpm": 10}, "groq/llama-3.3-70b-versatile": {"rpm": 5}}, {"rpm": 5, "tpm": 12000}),
    ],
)
def test_limit_overrides_model_beats_provider(limits, expected):
    llama = presets.preset_models(PRESETS, ["groq"], limits=limits)[0]
    assert {k: llama["litellm_params"][k] for k in ("rpm", "tpm")} == expected


def test_api_base_override_applies_to_every_model_of_the_provider():
    entries = presets.preset_models(PRESETS, ["groq", "mistral"], api_base={"groq": "http://gw/groq/v1"})
    assert [e["litellm_params"].get("api_base") for e in entries] == ["http://gw/groq/v1", "http://gw/groq/v1", None]


def test_extra_models_replace_presets_by_name_and_append_others():
    own = {
        "model_name": "groq/mixtral-8x7b-32768",
        "litellm_params": {"model": "groq/openai/gpt-oss-120b", "api_key": "os.environ/GROQ_API_KEY"},
    }
    extra = {"model_name": "local/other", "litellm_params": {"model": "openai/x", "api_key": "os.environ/OTHER"}}
    entries = presets.preset_models(PRESETS, ["groq"], extra_models=[own, extra])
    assert [e["model_name"] for e in entries] == [
        "groq/llama-3.3-70b-versatile",
        "groq/mixtral-8x7b-32768",
        "local/other",
    ]
    assert entries[1] == own and entries[1] is not own


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"providers": ["cohere"]}, "litellm_providers: no preset for cohere"),
        ({"providers": "groq"}, "litellm_providers must be a list"),
        ({"providers": 5}, "litellm_providers must be a list"),
        ({"providers": ["groq"], "api_base": {"grok": "x"}}, "litellm_provider_api_base: unknown provider grok"),
        ({"providers": ["groq"], "extra_models": [{"litellm_params": {}}]}, "every entry needs a model_name"),
    ],
)
def test_bad_input_names_the_variable(kwargs, message):
    with pytest.raises(presets.PresetError, match=message):
        presets.preset_models(PRESETS, **kwargs)


def test_incomplete_preset_names_the_field():
    with pytest.raises(presets.PresetError, match=r"litellm_provider_presets\.bad\.env_var is required"):
        presets.preset_models({"bad": {"prefix": "x/", "models": [{"id": "m"}]}}, ["bad"])


@pytest.mark.parametrize(
    "limits, message",
    [
        ({"groq": {"rpd_limit": 5}}, "unknown limit 'rpd_limit'"),
        ({"groq": {"rpm": 0}}, "limit rpm must be a whole number >= 1"),
        ({"groq": {"tpm": "lots"}}, "limit tpm must be a whole number >= 1"),
        ({"groq": {"rpm": True}}, "limit rpm must be a whole number >= 1"),
    ],
)
def test_bad_limits_name_the_model_and_the_limit(limits, message):
    with pytest.raises(presets.PresetError, match="model groq/llama-3.3-70b-versatile: " + message):
        presets.preset_models(PRESETS, ["groq"], limits=limits)


def test_a_null_limit_drops_it_and_io_limits_are_written():
    llama = presets.preset_models(
        PRESETS, ["groq"], limits={"groq": {"tpm": None, "rpd": None, "itpm": 900, "otpm": 100}}
    )[0]
    assert llama["litellm_params"] == {
        "model": "groq/llama-3.3-70b-versatile",
        "api_key": "os.environ/GROQ_API_KEY",
        "rpm": 30,
        "itpm": 900,
        "otpm": 100,
    }
    assert "model_info" not in llama


def test_an_env_var_the_environment_cannot_hold_is_refused():
    bad = {"groq": dict(PRESETS["groq"], env_var="groq-key")}
    with pytest.raises(presets.PresetError, match=r"litellm_provider_presets\.groq\.env_var 'groq-key' is not a valid"):
        presets.preset_models(bad, ["groq"])


def test_extra_models_are_plain_copies_sharing_nothing_with_the_input():
    extra = {"model_name": "x", "litellm_params": {"model": "groq/x", "tags": ("a", "b")}}
    entry = presets.preset_models(PRESETS, [], extra_models=[extra])[0]
    assert entry == {"model_name": "x", "litellm_params": {"model": "groq/x", "tags": ["a", "b"]}}
    entry["litellm_params"]["model"] = "changed"
    assert extra["litellm_params"]["model"] == "groq/x"
