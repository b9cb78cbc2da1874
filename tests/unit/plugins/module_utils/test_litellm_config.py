# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for plugins/module_utils/_litellm_config.py (pure logic, no cluster)."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path

import pytest

try:
    from ansible_collections.homelab.litellm.plugins.module_utils import _litellm_config as lc
    from ansible_collections.homelab.litellm.plugins.module_utils._model_lifecycle import MODEL_LIFECYCLE
except ImportError:
    from plugins.module_utils import _litellm_config as lc
    from plugins.module_utils._model_lifecycle import MODEL_LIFECYCLE

FIXTURES = Path(__file__).parent / "fixtures"
STORY = (FIXTURES / "story-config.yaml").read_text()
MIXED = (FIXTURES / "mixed-config.yaml").read_text()
FALLBACKS_LINE = '  fallbacks: [{"vllm-qwen": ["ollama-qwen"]}, {"ollama-qwen": ["openai-gpt4o"]}]\n'

STORY_MODELS = [
    ("groq/llama-3.3-70b-versatile", "GROQ_API_KEY"),
    ("groq/mixtral-8x7b-32768", "GROQ_API_KEY"),
    ("gemini/gemini-1.5-flash", "GEMINI_API_KEY"),
    ("gemini/gemini-1.5-pro", "GEMINI_API_KEY"),
    ("mistral/mistral-small-latest", "MISTRAL_API_KEY"),
]


def model(name, env="GROQ_API_KEY", **params):
    """A requested entry whose model_name is its LiteLLM model string, as in the story."""
    return {"model_name": name, "litellm_params": dict({"model": name, "api_key": "os.environ/" + env}, **params)}


def story_models():
    return [model(name, env) for name, env in STORY_MODELS]


def comment_lines(text):
    return [line.strip() for line in text.splitlines() if line.strip().startswith("#")]


def assert_error(call, *fragments):
    """``call`` raises ConfigError whose text holds every fragment; return the error list."""
    with pytest.raises(lc.ConfigError) as caught:
        call()
    text = str(caught.value)
    for fragment in fragments:
        assert fragment in text, "%r not in %r" % (fragment, text)
    assert caught.value.errors == caught.value.messages
    return caught.value.errors


# ---------------------------------------------------------------------------------------------
# parse_config / render_config / guess_yaml_style
# ---------------------------------------------------------------------------------------------

def test_story_round_trip_is_byte_identical():
    assert lc.render_config(lc.parse_config(STORY)) == STORY


def test_parse_keeps_structure_and_flow_style():
    doc = lc.parse_config(STORY)
    assert [entry["model_name"] for entry in doc["model_list"]] == ["vllm-qwen", "ollama-qwen", "openai-gpt4o"]
    assert list(doc) == ["model_list", "router_settings", "litellm_settings", "general_settings"]
    assert doc["router_settings"]["fallbacks"].fa.flow_style() is True


@pytest.mark.parametrize("text, expected", [
    (STORY, lc.YamlStyle(mapping=2, sequence=4, offset=2, explicit_start=False)),
    ("model_list:\n- model_name: a\n  litellm_params:\n    model: b\n", lc.YamlStyle(2, 2, 0, False)),
    ("---\nmodel_list:\n    -   model_name: a\n        litellm_params:\n            model: b\n",
     lc.YamlStyle(4, 8, 4, True)),
    ("general_settings:\n    master_key: x\n", lc.YamlStyle(4, 4, 2, False)),
])
def test_guess_yaml_style(text, expected):
    assert lc.guess_yaml_style(text) == expected


@pytest.mark.parametrize("text", [
    STORY,
    MIXED,
    "model_list:\n- model_name: a\n  litellm_params:\n    model: openai/b\n",
    "---\n# head\nmodel_list:\n    - model_name: a\n      litellm_params:\n          model: openai/b\n",
])
def test_round_trip_with_guessed_style(text):
    assert lc.render_config(lc.parse_config(text), lc.guess_yaml_style(text)) == text


@pytest.mark.parametrize("text, fragments", [
    ("model_list:\n  - model_name: a\n   bad: [\n", ["not valid YAML", "line ", "CrashLoopBackOff", "fix the YAML"]),
    ("model_list:\n  - model_name: a\n    model_name: b\n", ["not valid YAML", "line 3", "duplicate key"]),
    ("", ["config.yaml is empty", "CrashLoopBackOff", "restore the config"]),
    ("   \n", ["config.yaml is empty"]),
    ("# only a comment\n", ["holds only comments", "CrashLoopBackOff"]),
    ("- a\n- b\n", ["mapping at the top level", "not a list"]),
    ("model_list:\n  model_name: a\n", ["model_list is a mapping, not a list", "'- model_name: ...'"]),
    ("model_list:\n  - just-a-name\n", ["model_list[0] is a string, not a mapping", "CrashLoopBackOff", "remove it"]),
    ("model_list:\n  - litellm_params:\n      model: openai/x\n",
     ["model_list[0] has no model_name", "add model_name"]),
    ("model_list:\n  - model_name: 42\n    litellm_params:\n      model: openai/x\n",
     ["model_list[0]: model_name 42 is a int", "quote it"]),
    ("model_list:\n  - model_name: a\n", ["model_list[0] (model_name 'a') has no litellm_params", "CrashLoopBackOff",
                                          "add litellm_params"]),
    ("model_list:\n  - model_name: a\n    litellm_params:\n      api_base: http://x\n",
     ["(model_name 'a') has no litellm_params.model", "CrashLoopBackOff", "LiteLLM model string"]),
])
def test_parse_config_errors(text, fragments):
    assert_error(lambda: lc.parse_config(text), *fragments)


def test_parse_config_reports_every_broken_entry():
    text = "model_list:\n  - model_name: a\n  - model_name: b\n    litellm_params: {}\n"
    errors = assert_error(lambda: lc.parse_config(text), "model_list[0]", "model_list[1]")
    assert len(errors) == 2


def test_null_model_list_is_accepted():
    assert lc.parse_config("model_list:\ngeneral_settings: {}\n")["model_list"] is None


def test_render_is_deterministic():
    doc = lc.parse_config(STORY)
    assert lc.render_config(doc) == lc.render_config(doc) == lc.render_config(lc.parse_config(STORY))


def test_config_digest():
    assert lc.config_digest("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert lc.config_digest(STORY) == hashlib.sha256(STORY.encode("utf-8")).hexdigest()
    assert lc.config_digest(STORY) != lc.config_digest(STORY + "\n")


# ---------------------------------------------------------------------------------------------
# Ownership
# ---------------------------------------------------------------------------------------------

def test_model_id_is_stable_and_distinct():
    first = lc.model_id_for("groq/llama-3.3-70b-versatile")
    assert first == lc.model_id_for("groq/llama-3.3-70b-versatile") == "homelab-litellm-0cbd33a8b1e2"
    assert re.fullmatch(r"homelab-litellm-[0-9a-f]{12}", first)
    assert first != lc.model_id_for("groq/mixtral-8x7b-32768")


@pytest.mark.parametrize("entry, managed", [
    ({"model_name": "a", "model_info": {"managed_by": "homelab.litellm"}}, True),
    ({"model_name": "a", "model_info": {"managed_by": "someone-else"}}, False),
    ({"model_name": "a", "model_info": {"id": lc.model_id_for("a")}}, False),
    ({"model_name": "a"}, False),
    ({"model_name": "a", "model_info": None}, False),
    ("a", False),
])
def test_is_managed(entry, managed):
    assert lc.is_managed(entry) is managed


# ---------------------------------------------------------------------------------------------
# validate_models
# ---------------------------------------------------------------------------------------------

def test_story_models_are_valid():
    assert lc.validate_models(story_models()) is None


@pytest.mark.parametrize("key", ["api_base", "rpm", "tpm", "timeout", "temperature", "max_tokens", "extra_headers",
                                 "input_cost_per_token", "max_budget", "budget_duration", "tags", "weight", "order"])
def test_allowed_params_hold_litellm_keys(key):
    assert key in lc.ALLOWED_LITELLM_PARAMS


@pytest.mark.parametrize("key", ["fallbacks", "rpm_limit", "api_bse", "messages", "self"])
def test_allowed_params_exclude_unknown_and_fallback_keys(key):
    assert key not in lc.ALLOWED_LITELLM_PARAMS


@pytest.mark.parametrize("models, fragments", [
    ({"model_name": "x"}, ["models must be a list", "not a mapping"]),
    (None, ["models must be a list of model entries", "not a null"]),
    (5, ["models must be a list of model entries", "not a int"]),
    (["groq/x"], ["models[0] is a string", "give a mapping with model_name and litellm_params"]),
    ([{"litellm_params": {"model": "groq/x"}}], ["models[0]: model_name is missing", "set it to the name clients"]),
    ([{"model_name": 7, "litellm_params": {"model": "groq/x"}}], ["models[0]: model_name is missing or not a string"]),
    ([{"model_name": "groq/x"}], ["model 'groq/x' has no litellm_params", "CrashLoopBackOff",
                                  "add litellm_params with at least 'model"]),
    ([{"model_name": "groq/x", "litellm_params": "groq/x"}],
     ["model 'groq/x': litellm_params is a string", "make it a mapping"]),
    ([{"model_name": "groq/x", "litellm_params": {"api_key": "os.environ/GROQ_API_KEY"}}],
     ["model 'groq/x': litellm_params.model is missing", "CrashLoopBackOff", "LiteLLM model string"]),
    ([model("groq/x"), model("groq/x")], ["model_name 'groq/x' is given 2 times", "load-balance",
                                          "keep one entry per model_name"]),
    ([model("groq/x", api_bse="http://x")], ["model 'groq/x': litellm_params.api_bse is not a LiteLLM 1.108.7",
                                             "forward it to the provider", "did you mean 'api_base'?"]),
    ([model("groq/x", rpm_limit=30)], ["litellm_params.rpm_limit", "did you mean 'rpm'?"]),
    ([model("groq/x", zzzqqq=1)], ["litellm_params.zzzqqq", "remove it", "extra_params"]),
    ([model("groq/x", fallbacks=["openai-gpt4o"])],
     ["model 'groq/x': litellm_params.fallbacks", "its own fallbacks", "remove it"]),
    ([model("groq/x", context_window_fallback_dict={"a": "b"})], ["litellm_params.context_window_fallback_dict"]),
    ([{"model_name": "groq/x", "litellm_param": {"model": "groq/x"}}],
     ["model 'groq/x': unknown key 'litellm_param'", "did you mean 'litellm_params'?", "has no litellm_params"]),
    ([dict(model("groq/x"), model_info="free")], ["model 'groq/x': model_info is a string", "make it a mapping"]),
    ([dict(model("groq/x"), model_info={"id": "mine"})], ["model 'groq/x': model_info.id is written by homelab.litellm",
                                                          "remove model_info.id"]),
    ([dict(model("groq/x"), model_info={"managed_by": "me"})], ["model_info.managed_by is written by homelab.litellm"]),
    ([model("groq/x", env="groq-key")], ["model 'groq/x': litellm_params.api_key references an invalid environment "
                                         "variable name (value not shown)", "os.environ/GROQ_API_KEY"]),
    ([model("groq/x", api_base="os.environ/groq-base")],
     ["litellm_params.api_base references 'os.environ/groq-base', which is not a valid environment variable name"]),
    ([model("groq/x", extra_headers={"X-Key": "os.environ/HEADER_KEY"})],
     ["litellm_params.extra_headers.X-Key", "only in top-level litellm_params values", "literally"]),
])
def test_validate_models_errors(models, fragments):
    assert_error(lambda: lc.validate_models(models), *fragments)


@pytest.mark.parametrize("params, field_name, env_name", [
    ({"model": "groq/x", "api_key": "gsk_live_SECRET123"}, "api_key", "GROQ_API_KEY"),
    ({"model": "gemini/gemini-2.5-flash", "api_key": "AIzaSECRET123"}, "api_key", "GEMINI_API_KEY"),
    ({"model": "mistral/mistral-small-latest", "api_key": "SECRET123"}, "api_key", "MISTRAL_API_KEY"),
    ({"model": "somecloud/x", "api_key": "SECRET123"}, "api_key", "SOMECLOUD_API_KEY"),
    ({"model": "bedrock/x", "aws_access_key_id": "os.environ/AWS_ACCESS_KEY_ID",
      "aws_secret_access_key": "SECRET123"}, "aws_secret_access_key", "AWS_SECRET_ACCESS_KEY"),
    ({"model": "vertex_ai/x", "vertex_credentials": {"private_key": "SECRET123"}}, "vertex_credentials",
     "VERTEX_CREDENTIALS"),
])
def test_literal_secrets_are_refused_without_echoing_them(params, field_name, env_name):
    errors = assert_error(lambda: lc.validate_models([{"model_name": "m", "litellm_params": params}]),
                          "model 'm': litellm_params.%s is written literally" % field_name, "vault",
                          "%s: os.environ/%s" % (field_name, env_name))
    assert len(errors) == 1
    assert not any("SECRET123" in error for error in errors)


@pytest.mark.parametrize("params", [
    {"model": "vertex_ai/x", "vertex_credentials": "/var/run/secrets/vertex.json"},
    {"model": "vertex_ai/x", "vertex_credentials": "os.environ/VERTEX_CREDENTIALS"},
    {"model": "groq/x", "api_key": None},
    {"model": "ollama_chat/qwen2.5:7b", "api_base": "http://ollama:11434", "timeout": 120, "rpm": 30},
])
def test_accepted_params(params):
    assert lc.validate_models([{"model_name": "m", "litellm_params": params}]) is None


def test_extra_params_allow_provider_fields():
    entry = model("ollama_chat/qwen2.5:7b", num_ctx=8192)
    assert_error(lambda: lc.validate_models([entry]), "litellm_params.num_ctx")
    assert lc.validate_models([entry], extra_params=["num_ctx"]) is None


def test_validate_models_collects_every_error():
    errors = assert_error(lambda: lc.validate_models([model("a", api_bse="x"), {"model_name": "b"}]))
    assert len(errors) == 2


# ---------------------------------------------------------------------------------------------
# find_fallback_leaks
# ---------------------------------------------------------------------------------------------

GROQ = "groq/llama-3.3-70b-versatile"


def leaks_for(yaml_text, names=(GROQ,)):
    return lc.find_fallback_leaks(lc.parse_config(yaml_text), names)


def test_story_with_parallel_models_has_no_leak():
    plan = lc.plan_config(STORY, story_models())
    names = [name for name, _env in STORY_MODELS]
    assert lc.find_fallback_leaks(lc.parse_config(plan.after), names) == []


def test_no_names_no_leaks():
    assert lc.find_fallback_leaks(lc.parse_config("router_settings:\n  fallbacks: [{'*': [a]}]\n"), []) == []


@pytest.mark.parametrize("yaml_text, fragments", [
    ('router_settings:\n  fallbacks: [{"groq/llama-3.3-70b-versatile": ["openai-gpt4o"]}]\n',
     ["router_settings.fallbacks[0]", "parallel model 'groq/llama-3.3-70b-versatile' is a fallback key",
      "401 too", "remove this entry"]),
    ('router_settings:\n  fallbacks: [{"vllm-qwen": ["groq/llama-3.3-70b-versatile"]}]\n',
     ["router_settings.fallbacks[0]", "'groq/llama-3.3-70b-versatile' is a fallback target of 'vllm-qwen'",
      "remove it from the targets"]),
    ('router_settings:\n  fallbacks: [{"vllm-qwen": [{"model": "groq/llama-3.3-70b-versatile"}]}]\n',
     ["is a fallback target of 'vllm-qwen'"]),
    ('router_settings:\n  fallbacks: [{"*": ["openai-gpt4o"]}]\n',
     ["router_settings.fallbacks[0]", "the key '*' makes every model fall back", "groq/llama-3.3-70b-versatile",
      "replace '*'"]),
    ('router_settings:\n  fallbacks: [{"llama-3.3-70b-versatile": ["openai-gpt4o"]}]\n',
     ["key 'llama-3.3-70b-versatile' matches parallel model 'groq/llama-3.3-70b-versatile'",
      "strips the provider prefix", "rename"]),
    ('router_settings:\n  fallbacks: ["openai-gpt4o"]\n',
     ["router_settings.fallbacks[0]", "bare entry 'openai-gpt4o' is a fallback for every model",
      "write it as a mapping"]),
    ('litellm_settings:\n  fallbacks: [{"groq/llama-3.3-70b-versatile": ["x"]}]\n',
     ["litellm_settings.fallbacks[0]", "is a fallback key"]),
    ('router_settings:\n  context_window_fallbacks: [{"groq/llama-3.3-70b-versatile": ["x"]}]\n',
     ["router_settings.context_window_fallbacks[0]", "is a fallback key"]),
    ('litellm_settings:\n  content_policy_fallbacks: [{"x": ["groq/llama-3.3-70b-versatile"]}]\n',
     ["litellm_settings.content_policy_fallbacks[0]", "fallback target of 'x'"]),
    ('router_settings:\n  default_fallbacks: ["openai-gpt4o"]\n',
     ["router_settings.default_fallbacks: applies to every model", "groq/llama-3.3-70b-versatile",
      "replace it by fallbacks entries"]),
    ('litellm_settings:\n  default_fallbacks: ["groq/llama-3.3-70b-versatile"]\n',
     ["litellm_settings.default_fallbacks: parallel model 'groq/llama-3.3-70b-versatile' is a fallback target"]),
    ('litellm_settings:\n  model_fallbacks: ["openai-gpt4o"]\n',
     ["litellm_settings.model_fallbacks: applies to every model", "router_settings.fallbacks entries"]),
    ("model_list:\n  - model_name: groq/llama-3.3-70b-versatile\n    litellm_params:\n      model: groq/x\n",
     ["model_list: model_name 'groq/llama-3.3-70b-versatile' is also used by an entry homelab.litellm does not own",
      "load-balance", "another model_name"]),
    ("model_list:\n  - model_name: groq/llama-3.3-70b-versatile\n    litellm_params:\n      model: groq/x\n"
     "      fallbacks: [openai-gpt4o]\n    model_info:\n      managed_by: homelab.litellm\n",
     ["parallel model 'groq/llama-3.3-70b-versatile' has litellm_params.fallbacks", "remove it"]),
])
def test_fallback_leaks(yaml_text, fragments):
    text = "\n".join(leaks_for(yaml_text))
    for fragment in fragments:
        assert fragment in text, "%r not in %r" % (fragment, text)


def test_prefixed_key_matches_unprefixed_parallel_name():
    leaks = leaks_for('router_settings:\n  fallbacks: [{"openai/gpt-4o-mini": ["x"]}]\n', ["gpt-4o-mini"])
    assert len(leaks) == 1
    assert "key 'openai/gpt-4o-mini' matches parallel model 'gpt-4o-mini'" in leaks[0]
    assert "adds the provider prefix" in leaks[0]


def test_chain_without_parallel_models_is_no_leak():
    yaml_text = ('router_settings:\n  fallbacks: [{"vllm-qwen": ["ollama-qwen"]}]\n'
                 'litellm_settings:\n  context_window_fallbacks: [{"ollama-qwen": ["openai-gpt4o"]}]\n'
                 '  default_fallbacks: []\n')
    assert leaks_for(yaml_text) == []


# ---------------------------------------------------------------------------------------------
# referenced_env_vars / lifecycle_warnings
# ---------------------------------------------------------------------------------------------

def test_referenced_env_vars():
    assert lc.referenced_env_vars(lc.parse_config(STORY)) == ["DATABASE_URL", "LITELLM_MASTER_KEY", "OPENAI_API_KEY"]
    nested = {"a": [{"b": "os.environ/B"}, "os.environ/A"], "c": "os.environ/A", "d": "plain"}
    assert lc.referenced_env_vars(nested) == ["A", "B"]


@pytest.mark.parametrize("entry, expected", [
    (model("groq/mixtral-8x7b-32768"),
     "groq/mixtral-8x7b-32768 was shut down by Groq on 2025-03-20; requests will fail; "
     "use groq/openai/gpt-oss-120b instead"),
    (model("gemini/gemini-1.5-flash", "GEMINI_API_KEY"),
     "gemini/gemini-1.5-flash was shut down by Google on 2025-09-24; requests will fail; "
     "use gemini/gemini-3.5-flash instead"),
    (model("gemini/gemini-1.5-pro", "GEMINI_API_KEY"),
     "gemini/gemini-1.5-pro was shut down by Google on 2025-09-24; requests will fail; "
     "use gemini/gemini-3.8-flash instead"),
    (model("gemini/gemini-2.5-flash", "GEMINI_API_KEY"),
     "gemini/gemini-2.5-flash is deprecated by Google and shuts down on 2026-12-01; "
     "use gemini/gemini-3.5-flash-lite instead"),
    ({"model_name": "fast", "litellm_params": {"model": "groq/mixtral-8x7b-32768"}},
     "model 'fast': groq/mixtral-8x7b-32768 was shut down by Groq on 2025-03-20"),
])
def test_lifecycle_warnings(entry, expected):
    warnings = lc.lifecycle_warnings([entry])
    assert len(warnings) == 1
    assert warnings[0].startswith(expected)


def test_lifecycle_warnings_skip_current_models_and_duplicates():
    assert lc.lifecycle_warnings([model("mistral/mistral-small-latest"), "not-an-entry", {"model_name": "x"}]) == []
    assert len(lc.lifecycle_warnings([model("groq/mixtral-8x7b-32768"), model("groq/mixtral-8x7b-32768")])) == 1


def test_lifecycle_year_only_date():
    lifecycle = {"groq/x": {"provider": "Groq", "status": "shut_down", "date": "2025", "replacement": "groq/y"}}
    assert lc.lifecycle_warnings([model("groq/x")], lifecycle) == [
        "groq/x was shut down by Groq in 2025; requests will fail; use groq/y instead"
    ]


@pytest.mark.parametrize("model_string", sorted(MODEL_LIFECYCLE))
def test_lifecycle_data_is_complete(model_string):
    fact = MODEL_LIFECYCLE[model_string]
    assert set(fact) == {"provider", "status", "date", "replacement", "source"}
    assert fact["status"] in ("shut_down", "deprecated")
    assert re.fullmatch(r"\d{4}(-\d{2}-\d{2})?", fact["date"])
    assert "/" in model_string and "/" in fact["replacement"]
    # A suggested replacement must not be a retired model itself.
    assert fact["replacement"] not in MODEL_LIFECYCLE


# ---------------------------------------------------------------------------------------------
# plan_config: the story
# ---------------------------------------------------------------------------------------------

@pytest.fixture(name="story_plan")
def fixture_story_plan():
    return lc.plan_config(STORY, story_models())


def test_story_adds_five_parallel_models(story_plan):
    assert story_plan.changed is True
    assert story_plan.before == STORY
    assert story_plan.added == sorted(name for name, _env in STORY_MODELS)
    assert story_plan.updated == story_plan.removed == story_plan.unchanged == []
    assert len(story_plan.model_names) == 8
    assert story_plan.managed_models == story_plan.added
    doc = lc.parse_config(story_plan.after)
    assert [entry["model_name"] for entry in doc["model_list"]] == (
        ["vllm-qwen", "ollama-qwen", "openai-gpt4o"] + [name for name, _env in STORY_MODELS])


def test_story_keeps_fallbacks_and_comments(story_plan):
    assert FALLBACKS_LINE in story_plan.after
    assert comment_lines(story_plan.after) == comment_lines(STORY)
    # The operator's part is untouched: everything up to the last chain entry, and everything after model_list.
    head, tail = STORY.split("\n\nrouter_settings:", 1)
    assert story_plan.after.startswith(head + "\n  - model_name: groq/llama-3.3-70b-versatile\n")
    assert story_plan.after.endswith("\n\nrouter_settings:" + tail)
    doc = lc.parse_config(story_plan.after)
    assert doc["router_settings"]["fallbacks"] == [{"vllm-qwen": ["ollama-qwen"]}, {"ollama-qwen": ["openai-gpt4o"]}]


def test_story_new_entries_are_marked(story_plan):
    doc = lc.parse_config(story_plan.after)
    groq = doc["model_list"][3]
    assert lc._plain(groq) == {
        "model_name": "groq/llama-3.3-70b-versatile",
        "litellm_params": {"model": "groq/llama-3.3-70b-versatile", "api_key": "os.environ/GROQ_API_KEY"},
        "model_info": {"id": "homelab-litellm-0cbd33a8b1e2", "managed_by": "homelab.litellm"},
    }
    assert [lc.is_managed(entry) for entry in doc["model_list"]] == [False] * 3 + [True] * 5


def test_story_env_vars_digest_and_warnings(story_plan):
    assert story_plan.env_vars == ["DATABASE_URL", "GEMINI_API_KEY", "GROQ_API_KEY", "LITELLM_MASTER_KEY",
                                   "MISTRAL_API_KEY", "OPENAI_API_KEY"]
    assert story_plan.digest == hashlib.sha256(story_plan.after.encode()).hexdigest()
    assert story_plan.router_settings_changed is False
    warned = [warning.split(" ", 1)[0] for warning in story_plan.warnings]
    assert warned == ["groq/llama-3.3-70b-versatile", "groq/mixtral-8x7b-32768", "gemini/gemini-1.5-flash",
                      "gemini/gemini-1.5-pro"]
    assert "shut down by Groq on 2025-03-20" in story_plan.warnings[1]


def test_story_second_run_is_a_no_op(story_plan):
    again = lc.plan_config(story_plan.after, story_models())
    assert again.changed is False
    assert again.after == again.before == story_plan.after
    assert again.unchanged == story_plan.added
    assert again.added == again.updated == again.removed == []
    assert again.digest == story_plan.digest


def test_plan_is_deterministic_and_frozen(story_plan):
    assert lc.plan_config(STORY, story_models()) == story_plan
    with pytest.raises(dataclasses.FrozenInstanceError):
        story_plan.changed = False


def test_unchanged_config_keeps_odd_formatting_byte_for_byte():
    text = ("model_list:\n- model_name:   groq/llama-3.3-70b-versatile   # spaced\n  litellm_params:\n"
            "        model: 'groq/llama-3.3-70b-versatile'\n        api_key: \"os.environ/GROQ_API_KEY\"\n"
            "  model_info: {id: homelab-litellm-0cbd33a8b1e2, managed_by: homelab.litellm}\n")
    plan = lc.plan_config(text, [model(GROQ)])
    assert plan.changed is False
    assert plan.after == text
    assert plan.unchanged == [GROQ]


# ---------------------------------------------------------------------------------------------
# plan_config: update, absent, purge, ownership
# ---------------------------------------------------------------------------------------------

def test_update_in_place_keeps_position_and_comments():
    changed = model(GROQ, timeout=20, rpm=30)
    plan = lc.plan_config(MIXED, [changed])
    assert plan.updated == [GROQ]
    assert plan.added == plan.removed == []
    assert ("      api_key: os.environ/GROQ_API_KEY  # rotated by ansible\n      timeout: 20\n      rpm: 30\n"
            in plan.after)
    assert comment_lines(plan.after) == comment_lines(MIXED)
    doc = lc.parse_config(plan.after)
    assert [entry["model_name"] for entry in doc["model_list"]] == [GROQ, "local-qwen", "mistral/mistral-small-latest"]
    assert lc._plain(doc["model_list"][0]["model_info"]) == {"id": lc.model_id_for(GROQ),
                                                             "managed_by": "homelab.litellm"}


def test_update_removes_params_no_longer_requested():
    plan = lc.plan_config(MIXED, [model(GROQ)])
    assert plan.updated == [GROQ]
    doc = lc.parse_config(plan.after)
    assert "timeout" not in doc["model_list"][0]["litellm_params"]
    assert comment_lines(plan.after) == comment_lines(MIXED)


def test_update_of_operator_entry_is_refused():
    mine = {"model_name": "vllm-qwen",
            "litellm_params": {"model": "groq/llama-3.3-70b-versatile", "api_key": "os.environ/GROQ_API_KEY"}}
    assert_error(lambda: lc.plan_config(STORY, [mine]), "cannot write model 'vllm-qwen'",
                 "homelab.litellm does not own", "the operator owns it", "choose another model_name")


def test_absent_removes_owned_entry_and_keeps_operator_comments():
    plan = lc.plan_config(MIXED, [GROQ], state="absent")
    assert plan.removed == [GROQ]
    assert plan.changed is True
    assert comment_lines(plan.after) == comment_lines(MIXED)
    assert plan.after.startswith("# An operator config after an earlier run: owned and operator entries mixed, "
                                 "with comments.\nmodel_list:\n  # Operator: local model, keep this comment\n"
                                 "  - model_name: local-qwen\n")
    assert plan.managed_models == ["mistral/mistral-small-latest"]


def test_absent_accepts_entries_and_reports_missing_as_unchanged():
    plan = lc.plan_config(MIXED, [model("mistral/mistral-small-latest"), "groq/not-there"], state="absent")
    assert plan.removed == ["mistral/mistral-small-latest"]
    assert plan.unchanged == ["groq/not-there"]
    assert plan.after.endswith("      api_base: http://ollama.ml.svc.cluster.local:11434\n\n"
                               "  # Operator: the owned Mistral entry follows\n\n"
                               "# Settings below are the operator's\nrouter_settings:\n"
                               "  fallbacks: [{\"local-qwen\": [\"mistral-large\"]}]\n")


def test_absent_of_missing_model_changes_nothing():
    plan = lc.plan_config(STORY, ["groq/not-there"], state="absent")
    assert plan.changed is False
    assert plan.after == STORY
    assert plan.unchanged == ["groq/not-there"]


def test_absent_of_operator_entry_is_refused():
    assert_error(lambda: lc.plan_config(STORY, ["vllm-qwen"], state="absent"), "cannot remove model 'vllm-qwen'",
                 "the operator owns it")


@pytest.mark.parametrize("models", [[7], [{"litellm_params": {}}], "vllm-qwen"])
def test_absent_needs_names(models):
    assert_error(lambda: lc.plan_config(STORY, models, state="absent"), "models")


def test_purge_removes_only_owned_entries_not_listed():
    plan = lc.plan_config(MIXED, [model("mistral/mistral-small-latest", "MISTRAL_API_KEY")], purge=True)
    assert plan.removed == [GROQ]
    assert plan.unchanged == ["mistral/mistral-small-latest"]
    doc = lc.parse_config(plan.after)
    assert [entry["model_name"] for entry in doc["model_list"]] == ["local-qwen", "mistral/mistral-small-latest"]


def test_purge_of_story_result_back_to_story():
    added = lc.plan_config(STORY, story_models()).after
    plan = lc.plan_config(added, [], purge=True)
    assert sorted(plan.removed) == sorted(name for name, _env in STORY_MODELS)
    assert plan.after == STORY


def test_purge_never_touches_operator_entries():
    plan = lc.plan_config(STORY, [], purge=True)
    assert plan.changed is False
    assert plan.after == STORY


def test_duplicate_owned_entries_are_refused():
    text = MIXED.replace("mistral/mistral-small-latest", GROQ)
    assert_error(lambda: lc.plan_config(text, [model(GROQ)]), "has 2 entries with this model_name",
                 "remove the extra ones by hand")


@pytest.mark.parametrize("kwargs, fragment", [
    ({"state": "gone"}, "state must be 'present' or 'absent'"),
    ({"state": "absent", "purge": True}, "purge only works with state=present"),
])
def test_plan_argument_errors(kwargs, fragment):
    assert_error(lambda: lc.plan_config(STORY, [], **kwargs), fragment)


def test_plan_reports_invalid_input_and_broken_config():
    assert_error(lambda: lc.plan_config(STORY, [model("groq/x", api_bse="x"), {"model_name": "b"}]),
                 "litellm_params.api_bse", "model 'b' has no litellm_params")
    assert_error(lambda: lc.plan_config("", story_models()), "config.yaml is empty")


def test_plan_refuses_existing_leak():
    text = STORY.replace('{"ollama-qwen": ["openai-gpt4o"]}]',
                         '{"ollama-qwen": ["openai-gpt4o"]}, {"*": ["openai-gpt4o"]}]')
    assert_error(lambda: lc.plan_config(text, story_models()), "router_settings.fallbacks[2]", "the key '*'")


def test_plan_refuses_stripped_name_clash():
    text = STORY.replace('"vllm-qwen": ["ollama-qwen"]', '"llama-3.3-70b-versatile": ["ollama-qwen"]')
    assert_error(lambda: lc.plan_config(text, [model(GROQ)]), "strips the provider prefix")


def test_plan_creates_missing_model_list():
    plan = lc.plan_config("general_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n", [model(GROQ)])
    assert plan.after.startswith("model_list:\n  - model_name: groq/llama-3.3-70b-versatile\n")
    assert plan.after.endswith("general_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n")
    assert plan.env_vars == ["GROQ_API_KEY", "LITELLM_MASTER_KEY"]


def test_plan_fills_null_model_list():
    plan = lc.plan_config("model_list:\n\n# settings\ngeneral_settings: {}\n", [model(GROQ)])
    assert plan.added == [GROQ]
    assert plan.after.startswith("model_list:\n  - model_name: groq/llama-3.3-70b-versatile\n")
    assert "managed_by: homelab.litellm\n\n# settings\ngeneral_settings: {}\n" in plan.after


def test_missing_api_key_is_warned():
    plan = lc.plan_config(STORY, [{"model_name": "g", "litellm_params": {"model": "gemini/gemini-3.5-flash"}}])
    assert plan.warnings == [
        "model 'g' has no litellm_params.api_key, so LiteLLM picks the provider's default environment variable "
        "(for gemini/ GOOGLE_API_KEY wins over GEMINI_API_KEY); write api_key: os.environ/GEMINI_API_KEY to make "
        "the reference explicit"
    ]


# ---------------------------------------------------------------------------------------------
# plan_config: router_settings
# ---------------------------------------------------------------------------------------------

def test_router_settings_merge_keeps_fallbacks_and_other_keys():
    settings = {"routing_strategy": "usage-based-routing-v2", "enable_pre_call_checks": True}
    plan = lc.plan_config(STORY, story_models(), router_settings=settings)
    assert plan.router_settings_changed is True
    assert FALLBACKS_LINE + "  num_retries: 1\n  routing_strategy: usage-based-routing-v2\n" \
                            "  enable_pre_call_checks: true\n\nlitellm_settings:\n" in plan.after
    assert comment_lines(plan.after) == comment_lines(STORY)
    again = lc.plan_config(plan.after, story_models(), router_settings=settings)
    assert again.changed is False
    assert again.after == plan.after


def test_router_settings_deep_merge_and_replace():
    text = "router_settings:\n  routing_strategy_args:\n    ttl: 60  # seconds\n    lowest: 1\n  num_retries: 1\n"
    plan = lc.plan_config(text, [], router_settings={"routing_strategy_args": {"ttl": 30}, "num_retries": 2})
    assert plan.after == "router_settings:\n  routing_strategy_args:\n    ttl: 30  # seconds\n    lowest: 1\n" \
                         "  num_retries: 2\n"


def test_router_settings_created_when_missing():
    plan = lc.plan_config("model_list: []\n", [], router_settings={"enable_pre_call_checks": True})
    assert plan.after == "model_list: []\nrouter_settings:\n  enable_pre_call_checks: true\n"


def test_router_settings_same_values_change_nothing():
    plan = lc.plan_config(STORY, [], router_settings={"num_retries": 1})
    assert plan.changed is False
    assert plan.after == STORY


def test_router_settings_must_not_add_parallel_models_to_the_chain():
    chain = [{"vllm-qwen": ["ollama-qwen"]}, {"ollama-qwen": ["openai-gpt4o", GROQ]}]
    assert_error(lambda: lc.plan_config(STORY, story_models(), router_settings={"fallbacks": chain}),
                 "router_settings.fallbacks[1]", "'groq/llama-3.3-70b-versatile' is a fallback target of 'ollama-qwen'")


@pytest.mark.parametrize("settings, fragments", [
    ({"enable_pre_call_check": True}, ["router_settings.enable_pre_call_check is not a LiteLLM 1.108.7 Router setting",
                                       "ignore it", "did you mean 'enable_pre_call_checks'?"]),
    ({"redis_password": "hunter2"}, ["router_settings.redis_password is written literally",
                                     "redis_password: os.environ/REDIS_PASSWORD"]),
    ({"redis_password": "os.environ/hunter2"}, ["router_settings.redis_password references an invalid environment "
                                                "variable name (value not shown)"]),
    ({"redis_host": "os.environ/redis-host"}, ["router_settings.redis_host references 'os.environ/redis-host'"]),
    (["fallbacks"], ["router_settings must be a mapping"]),
])
def test_router_settings_errors(settings, fragments):
    errors = assert_error(lambda: lc.plan_config(STORY, [], router_settings=settings), *fragments)
    assert not any("hunter2" in error for error in errors)


def test_router_settings_section_of_wrong_type_is_refused():
    assert_error(lambda: lc.plan_config("router_settings: [a]\n", [], router_settings={"num_retries": 1}),
                 "router_settings in config.yaml is a list", "make it a mapping by hand")


def test_removed_param_hands_its_following_comment_to_the_previous_key():
    text = ("model_list:\n  - model_name: groq/llama-3.3-70b-versatile\n    litellm_params:\n"
            "      model: groq/llama-3.3-70b-versatile\n      api_key: os.environ/GROQ_API_KEY\n      timeout: 10\n"
            "      # keep me\n      rpm: 5\n    model_info:\n      id: homelab-litellm-0cbd33a8b1e2\n"
            "      managed_by: homelab.litellm\n")
    plan = lc.plan_config(text, [model(GROQ, rpm=5)])
    assert plan.updated == [GROQ]
    assert plan.after == text.replace("      timeout: 10\n", "")


def test_removing_the_only_entries_keeps_the_comment_before_the_next_key():
    text = ("model_list:\n  - model_name: groq/llama-3.3-70b-versatile\n    litellm_params:\n"
            "      model: groq/llama-3.3-70b-versatile\n    model_info:\n      managed_by: homelab.litellm\n\n"
            "# settings\ngeneral_settings: {}\n")
    plan = lc.plan_config(text, [], purge=True)
    assert plan.removed == [GROQ]
    assert plan.after == "model_list: []\n\n# settings\ngeneral_settings: {}\n"
    assert lc.parse_config(plan.after)["model_list"] == []


def test_removing_an_entry_without_following_comment():
    owned = ("  - model_name: groq/llama-3.3-70b-versatile\n    litellm_params:\n"
             "      model: groq/llama-3.3-70b-versatile\n    model_info:\n      managed_by: homelab.litellm\n")
    local = "  - model_name: local\n    litellm_params:\n      model: ollama_chat/qwen2.5:7b\n"
    plan = lc.plan_config("model_list:\n" + local + owned + local.replace("local", "other"), [GROQ], state="absent")
    assert plan.after == "model_list:\n" + local + local.replace("local", "other")


def test_router_settings_fill_a_null_section():
    plan = lc.plan_config("router_settings:\ngeneral_settings: {}\n", [], router_settings={"num_retries": 2})
    assert plan.after == "router_settings:\n  num_retries: 2\ngeneral_settings: {}\n"


def test_plain_values_and_strict_comparison():
    doc = lc.parse_config("a: &flag true\nb: *flag\nc: 1.5\nd: 'x'\ne: [1, {f: null}]\n")
    assert lc._plain(doc) == {"a": True, "b": True, "c": 1.5, "d": "x", "e": [1, {"f": None}]}
    assert lc._plain(doc)["a"] is True
    assert lc._same({"a": [1, 2]}, {"a": [1, 2]})
    assert not lc._same(True, 1)
    assert not lc._same({"a": 1}, {"a": 1, "b": 2})
    assert not lc._same([1], 1)


@pytest.mark.parametrize("yaml_text, expected", [
    ('router_settings:\n  fallbacks: [{"vllm-qwen": "groq/llama-3.3-70b-versatile"}]\n', 1),
    ('router_settings:\n  fallbacks: [1, null, {}]\n', 0),
    ('router_settings: [a]\nlitellm_settings: null\n', 0),
])
def test_fallback_leaks_in_odd_shapes(yaml_text, expected):
    assert len(leaks_for(yaml_text)) == expected
