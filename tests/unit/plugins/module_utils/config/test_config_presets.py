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


def test_excluded_preset_models_are_left_out_by_name():
    entries = presets.preset_models(PRESETS, ["groq", "mistral"], exclude=["groq/mixtral-8x7b-32768"])
    assert [e["model_name"] for e in entries] == ["groq/llama-3.3-70b-versatile", "mistral/mistral-small-latest"]
    # A model of a provider that is not enabled may be excluded too (it is a preset model).
    assert len(presets.preset_models(PRESETS, ["groq"], exclude=["mistral/mistral-small-latest"])) == 2


@pytest.mark.parametrize(
    "exclude, message",
    [
        (["groq/mixtral-8x7b"], "'groq/mixtral-8x7b' is no preset model (did you mean 'groq/mixtral-8x7b-32768'?)"),
        (["nothing-like-it"], "'nothing-like-it' is no preset model; preset models are named"),
        ("groq/mixtral-8x7b-32768", "must be a list of preset model names"),
    ],
)
def test_an_exclusion_that_names_no_preset_model_is_refused(exclude, message):
    with pytest.raises(presets.PresetError) as err:
        presets.preset_models(PRESETS, ["groq"], exclude=exclude)
    assert message in str(err.value)


def test_provider_api_base_applies_to_the_users_entries_of_that_provider():
    extra = [
        {"model_name": "my-groq", "litellm_params": {"model": "groq/qwen3-32b", "api_key": "os.environ/GROQ_API_KEY"}},
        {"model_name": "own-base", "litellm_params": {"model": "groq/x", "api_base": "http://own/v1"}},
        {"model_name": "other", "litellm_params": {"model": "openai/gpt-4o-mini"}},
    ]
    entries = presets.preset_models(PRESETS, ["mistral"], api_base={"groq": "http://gw/openai/v1"}, extra_models=extra)
    by_name = {e["model_name"]: e["litellm_params"] for e in entries}
    assert by_name["my-groq"]["api_base"] == "http://gw/openai/v1"
    assert by_name["own-base"]["api_base"] == "http://own/v1"  # the entry's own wins
    assert "api_base" not in by_name["other"]
    assert "api_base" not in by_name["mistral/mistral-small-latest"]
    assert "api_base" not in extra[0]["litellm_params"]  # the input is not changed
