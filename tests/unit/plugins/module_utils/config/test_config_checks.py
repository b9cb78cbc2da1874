# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/config/checks.py: the requested model entries, before any plan."""

from __future__ import annotations

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils.config import checks as config_checks
from ansible_collections.homelab.litellm.tests.unit.plugins.module_utils.config.config_cases import (
    assert_fragments,
    model,
    story_models,
)


def test_story_models_are_valid():
    assert config_checks.check_models(story_models()) == ([], [])


@pytest.mark.parametrize(
    "models, fragments",
    [
        ({"model_name": "x"}, ["models must be a list", "not a mapping"]),
        (None, ["models must be a list of model entries", "not a null"]),
        (5, ["models must be a list of model entries", "not a int"]),
        (["groq/x"], ["models[0] is a string", "give a mapping with model_name and litellm_params"]),
        ([{"litellm_params": {"model": "groq/x"}}], ["models[0]: model_name is missing", "set it to the name clients"]),
        (
            [{"model_name": 7, "litellm_params": {"model": "groq/x"}}],
            ["models[0]: model_name is missing or not a string"],
        ),
        ([{"model_name": "  ", "litellm_params": {"model": "groq/x"}}], ["models[0]: model_name is missing"]),
        (
            [{"model_name": "groq/x"}],
            ["model 'groq/x' has no litellm_params", "CrashLoopBackOff", "add litellm_params with at least 'model"],
        ),
        (
            [{"model_name": "groq/x", "litellm_params": "groq/x"}],
            ["model 'groq/x': litellm_params is a string", "make it a mapping"],
        ),
        (
            [{"model_name": "groq/x", "litellm_params": {"api_key": "os.environ/GROQ_API_KEY"}}],
            ["model 'groq/x': litellm_params.model is missing", "CrashLoopBackOff", "LiteLLM model string"],
        ),
        (
            [model("groq/x"), model("groq/x")],
            ["model_name 'groq/x' is given 2 times", "load-balance", "keep one entry per model_name"],
        ),
        (
            [model("groq/x", api_bse="http://x")],
            [
                "model 'groq/x': litellm_params.api_bse is not a LiteLLM parameter",
                "did you mean 'api_base'?",
                "forward it to the provider and not apply it",
            ],
        ),
        ([model("groq/x", rpm_limit=30)], ["litellm_params.rpm_limit", "did you mean 'rpm'?"]),
        ([model("groq/x", tpm_limit=30)], ["litellm_params.tpm_limit", "did you mean 'tpm'?"]),
        ([model("groq/x", key="os.environ/GROQ_API_KEY")], ["litellm_params.key", "did you mean 'api_key'?"]),
        ([model("groq/x", timeuot=3)], ["litellm_params.timeuot", "did you mean 'timeout'?"]),
        (
            [model("groq/x", fallbacks=["openai-gpt4o"])],
            ["model 'groq/x': litellm_params.fallbacks", "its own fallbacks", "remove it"],
        ),
        ([model("groq/x", context_window_fallback_dict={"a": "b"})], ["litellm_params.context_window_fallback_dict"]),
        (
            [{"model_name": "groq/x", "litellm_param": {"model": "groq/x"}}],
            ["model 'groq/x': unknown key 'litellm_param'", "did you mean 'litellm_params'?", "has no litellm_params"],
        ),
        ([dict(model("groq/x"), extra=1)], ["model 'groq/x': unknown key 'extra'", "remove it"]),
        ([dict(model("groq/x"), model_info="free")], ["model 'groq/x': model_info is a string", "make it a mapping"]),
        (
            [dict(model("groq/x"), model_info={"id": "mine"})],
            ["model 'groq/x': model_info.id is written by homelab.litellm", "remove model_info.id"],
        ),
        (
            [dict(model("groq/x"), model_info={"managed_by": "me"})],
            ["model_info.managed_by is written by homelab.litellm"],
        ),
        (
            [model("groq/x", env="groq-key")],
            [
                "model 'groq/x': litellm_params.api_key references an invalid environment "
                "variable name (value not shown)",
                "os.environ/GROQ_API_KEY",
            ],
        ),
        (
            [model("groq/x", api_base="os.environ/groq-base")],
            [
                "litellm_params.api_base references 'os.environ/groq-base', which is not a valid environment "
                "variable name"
            ],
        ),
        (
            [model("groq/x", extra_headers={"X-Key": "os.environ/HEADER_KEY"})],
            ["litellm_params.extra_headers.X-Key", "only in top-level litellm_params values", "literally"],
        ),
        ([model("groq/x", tags=["a", "os.environ/TAG"])], ["litellm_params.tags[1]", "only in top-level"]),
    ],
)
def test_check_models_errors(models, fragments):
    errors, _warnings = config_checks.check_models(models)
    assert errors
    assert_fragments(errors, fragments)


@pytest.mark.parametrize(
    "field, value", [("model_name", "groq/*"), ("model", "groq/*"), ("model_name", "*"), ("model", "*")]
)
def test_wildcards_are_refused(field, value):
    entry = model("groq/x")
    if field == "model_name":
        entry["model_name"] = value
    else:
        entry["litellm_params"]["model"] = value
    errors, _warnings = config_checks.check_models([entry])
    assert len(errors) == 1
    assert (
        "%s %r is a wildcard" % ("model_name" if field == "model_name" else "litellm_params.model", value) in errors[0]
    )
    assert "list each model explicitly" in errors[0]


def test_an_unknown_key_with_no_close_match_is_a_warning_unless_strict():
    entry = model("ollama_chat/qwen2.5:7b", num_ctx=8192)
    errors, warnings = config_checks.check_models([entry])
    assert errors == []
    assert warnings == [
        "model 'ollama_chat/qwen2.5:7b': litellm_params.num_ctx is not a LiteLLM 1.108.7 parameter; "
        "LiteLLM forwards unknown keys to the provider as they are (fine if the provider or a newer "
        "LiteLLM takes it)"
    ]
    errors, warnings = config_checks.check_models([entry], strict=True)
    assert warnings == []
    assert_fragments(errors, ["litellm_params.num_ctx", "strict: true refuses it"])


@pytest.mark.parametrize(
    "key, close",
    [
        ("api_bse", True),
        ("rpm_limit", True),
        ("timeoutt", True),
        ("zzzqqq", False),
        ("num_ctx", False),
        ("keep_alive", False),
    ],
)
def test_near_miss_cutoff(key, close):
    """Only a key close to a known one (difflib ratio 0.75, or a known slip) is an error by default."""
    errors, warnings = config_checks.check_models([model("groq/x", **{key: 1})])
    assert (bool(errors), bool(warnings)) == (close, not close)


@pytest.mark.parametrize(
    "params, field_name, env_name",
    [
        ({"model": "groq/x", "api_key": "gsk_live_SECRET123"}, "api_key", "GROQ_API_KEY"),
        ({"model": "gemini/gemini-2.5-flash", "api_key": "AIzaSECRET123"}, "api_key", "GEMINI_API_KEY"),
        ({"model": "mistral/mistral-small-latest", "api_key": "SECRET123"}, "api_key", "MISTRAL_API_KEY"),
        ({"model": "somecloud/x", "api_key": "SECRET123"}, "api_key", "SOMECLOUD_API_KEY"),
        (
            {
                "model": "bedrock/x",
                "aws_access_key_id": "os.environ/AWS_ACCESS_KEY_ID",
                "aws_secret_access_key": "SECRET123",
            },
            "aws_secret_access_key",
            "AWS_SECRET_ACCESS_KEY",
        ),
        (
            {"model": "vertex_ai/x", "vertex_credentials": {"private_key": "SECRET123"}},
            "vertex_credentials",
            "VERTEX_CREDENTIALS",
        ),
    ],
)
def test_literal_secrets_are_refused_without_echoing_them(params, field_name, env_name):
    errors, _warnings = config_checks.check_models([{"model_name": "m", "litellm_params": params}])
    assert len(errors) == 1
    assert_fragments(
        errors,
        [
            "model 'm': litellm_params.%s is written literally" % field_name,
            "vault",
            "%s: os.environ/%s" % (field_name, env_name),
        ],
    )
    assert "SECRET123" not in errors[0]


def test_a_key_pasted_after_the_prefix_is_not_shown():
    errors, _warnings = config_checks.check_models([model("groq/x", env="gsk_live-SECRET-123")])
    assert len(errors) == 1 and "value not shown" in errors[0]
    assert "SECRET" not in errors[0]


@pytest.mark.parametrize(
    "params",
    [
        {"model": "vertex_ai/x", "vertex_credentials": "/var/run/secrets/vertex.json"},
        {"model": "vertex_ai/x", "vertex_credentials": "os.environ/VERTEX_CREDENTIALS"},
        {"model": "groq/x", "api_key": None},
        {"model": "ollama_chat/qwen2.5:7b", "api_base": "http://ollama:11434", "timeout": 120, "rpm": 30},
    ],
)
def test_accepted_params(params):
    assert config_checks.check_models([{"model_name": "m", "litellm_params": params}]) == ([], [])


def test_check_models_collects_every_error():
    errors, _warnings = config_checks.check_models([model("a", api_bse="x"), {"model_name": "b"}])
    assert len(errors) == 2


def test_a_model_group_is_accepted_when_every_entry_names_its_deployment():
    group = [
        dict(model("fast"), model_info={"deployment": "key-a"}),
        dict(model("fast", "GROQ_API_KEY_B"), model_info={"deployment": "key-b"}),
    ]
    assert config_checks.check_models([group[0], dict(model("fast", "GROQ_API_KEY_B"))])[0], (
        "an entry without model_info.deployment makes it an accidental duplicate"
    )
    assert config_checks.check_models(group) == ([], [])


@pytest.mark.parametrize(
    "models, expected",
    [
        ([model("groq/x", "GROQ_API_KEY")], set()),
        ([model("groq/x", api_key="gsk_pasted")], {"gsk_pasted"}),
        (
            [{"model_name": "m", "litellm_params": {"model": "groq/x", "api_key": "os.environ/gsk-pasted-after"}}],
            {"gsk-pasted-after"},
        ),
        (
            [
                {
                    "model_name": "m",
                    "litellm_params": {
                        "model": "b/x",
                        "aws_secret_access_key": "AWSSECRET",
                        "api_base": "http://not-a-secret",
                    },
                }
            ],
            {"AWSSECRET"},
        ),
        ([{"model_name": "m", "litellm_params": {"model": "g/x", "api_key": ""}}], set()),
        ("not a list", set()),
        ([None, {"litellm_params": "x"}], set()),
    ],
)
def test_literal_credentials(models, expected):
    assert config_checks.literal_credentials(models) == expected


@pytest.mark.parametrize(
    "model_string, provider", [("groq/openai/gpt-oss-120b", "groq"), ("gpt-4o", ""), (None, ""), ("gemini/x", "gemini")]
)
def test_provider_of(model_string, provider):
    assert config_checks.provider_of(model_string) == provider
