# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/_config_plan.py: validate and plan the merge of parallel models."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _config_plan as cp
from ansible_collections.homelab.litellm.plugins.module_utils._config_schema import is_managed, model_id_for
from ansible_collections.homelab.litellm.plugins.module_utils._config_yaml import ConfigError, parse_config, plain
from ansible_collections.homelab.litellm.plugins.module_utils._fallbacks import find_fallback_leaks

FIXTURES = Path(__file__).parent / "fixtures"
STORY = (FIXTURES / "story-config.yaml").read_text()
MIXED = (FIXTURES / "mixed-config.yaml").read_text()
FALLBACKS_LINE = '  fallbacks: [{"vllm-qwen": ["ollama-qwen"]}, {"ollama-qwen": ["openai-gpt4o"]}]\n'
GROQ = "groq/llama-3.3-70b-versatile"

STORY_MODELS = [
    ("groq/llama-3.3-70b-versatile", "GROQ_API_KEY"),
    ("groq/mixtral-8x7b-32768", "GROQ_API_KEY"),
    ("gemini/gemini-1.5-flash", "GEMINI_API_KEY"),
    ("gemini/gemini-1.5-pro", "GEMINI_API_KEY"),
    ("mistral/mistral-small-latest", "MISTRAL_API_KEY"),
]
STORY_NAMES = [name for name, _env in STORY_MODELS]


def model(name, env="GROQ_API_KEY", **params):
    """A requested entry whose model_name is its LiteLLM model string, as in the story."""
    return {"model_name": name, "litellm_params": dict({"model": name, "api_key": "os.environ/" + env}, **params)}


def story_models():
    return [model(name, env) for name, env in STORY_MODELS]


def comment_lines(text):
    return [line.strip() for line in text.splitlines() if line.strip().startswith("#")]


def plan_errors(*args, **kwargs):
    """The errors of a plan_config call that must be refused."""
    with pytest.raises(ConfigError) as caught:
        cp.plan_config(*args, **kwargs)
    return caught.value.errors


def assert_fragments(messages, fragments):
    text = "\n".join(messages)
    for fragment in fragments:
        assert fragment in text, "%r not in %r" % (fragment, text)


# ---------------------------------------------------------------------------------------------
# check_models
# ---------------------------------------------------------------------------------------------


def test_story_models_are_valid():
    assert cp.check_models(story_models()) == ([], [])


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
    errors, _warnings = cp.check_models(models)
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
    errors, _warnings = cp.check_models([entry])
    assert len(errors) == 1
    assert (
        "%s %r is a wildcard" % ("model_name" if field == "model_name" else "litellm_params.model", value) in errors[0]
    )
    assert "list each model explicitly" in errors[0]


def test_an_unknown_key_with_no_close_match_is_a_warning_unless_strict():
    entry = model("ollama_chat/qwen2.5:7b", num_ctx=8192)
    errors, warnings = cp.check_models([entry])
    assert errors == []
    assert warnings == [
        "model 'ollama_chat/qwen2.5:7b': litellm_params.num_ctx is not a LiteLLM 1.108.7 parameter; "
        "LiteLLM forwards unknown keys to the provider as they are (fine if the provider or a newer "
        "LiteLLM takes it)"
    ]
    errors, warnings = cp.check_models([entry], strict=True)
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
    errors, warnings = cp.check_models([model("groq/x", **{key: 1})])
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
    errors, _warnings = cp.check_models([{"model_name": "m", "litellm_params": params}])
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
    errors, _warnings = cp.check_models([model("groq/x", env="gsk_live-SECRET-123")])
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
    assert cp.check_models([{"model_name": "m", "litellm_params": params}]) == ([], [])


def test_check_models_collects_every_error():
    errors, _warnings = cp.check_models([model("a", api_bse="x"), {"model_name": "b"}])
    assert len(errors) == 2


def test_a_model_group_is_accepted_when_every_entry_names_its_deployment():
    group = [
        dict(model("fast"), model_info={"deployment": "key-a"}),
        dict(model("fast", "GROQ_API_KEY_B"), model_info={"deployment": "key-b"}),
    ]
    assert cp.check_models([group[0], dict(model("fast", "GROQ_API_KEY_B"))])[0], (
        "an entry without model_info.deployment makes it an accidental duplicate"
    )
    assert cp.check_models(group) == ([], [])


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
    assert cp.literal_credentials(models) == expected


@pytest.mark.parametrize(
    "model_string, provider", [("groq/openai/gpt-oss-120b", "groq"), ("gpt-4o", ""), (None, ""), ("gemini/x", "gemini")]
)
def test_provider_of(model_string, provider):
    assert cp.provider_of(model_string) == provider


# ---------------------------------------------------------------------------------------------
# lifecycle
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "entry, expected",
    [
        (
            model("groq/mixtral-8x7b-32768"),
            "groq/mixtral-8x7b-32768 was shut down by Groq on 2025-03-20 (it answers 400 model_decommissioned); "
            "use groq/openai/gpt-oss-120b instead",
        ),
        (
            model("groq/llama-3.3-70b-versatile"),
            "groq/llama-3.3-70b-versatile was shut down by Groq on 2026-08-16 for free and developer tiers (it answers "
            "404 model_not_found); use groq/openai/gpt-oss-120b instead",
        ),
        (
            model("gemini/gemini-1.5-pro", "GEMINI_API_KEY"),
            "gemini/gemini-1.5-pro was shut down by Google on 2025-09-24 (it answers 404 NOT_FOUND); "
            "use gemini/gemini-3.8-flash instead",
        ),
        (
            model("gemini/gemini-2.5-flash-lite", "GEMINI_API_KEY"),
            "gemini/gemini-2.5-flash-lite was shut down by Google in 2026 for accounts not already using it",
        ),
        (
            model("mistral/mistral-large-latest", "MISTRAL_API_KEY"),
            "Mistral refuses mistral/mistral-large-latest on the free tier (403 tier_not_allowed, reported "
            "2026-08-30); "
            "use mistral/mistral-medium-latest instead",
        ),
        (
            {"model_name": "fast", "litellm_params": {"model": "groq/mixtral-8x7b-32768"}},
            "model 'fast': groq/mixtral-8x7b-32768 was shut down by Groq on 2025-03-20",
        ),
    ],
)
def test_lifecycle_warnings(entry, expected):
    warnings = cp.lifecycle_warnings([entry])
    assert len(warnings) == 1
    assert warnings[0].startswith(expected), warnings[0]


def test_lifecycle_warnings_skip_current_models_and_duplicates():
    assert cp.lifecycle_warnings([model("mistral/mistral-small-latest"), "not-an-entry", {"model_name": "x"}]) == []
    assert len(cp.lifecycle_warnings([model("groq/mixtral-8x7b-32768"), model("groq/mixtral-8x7b-32768")])) == 1


@pytest.mark.parametrize(
    "fact, expected",
    [
        (
            {"provider": "Groq", "status": "shut_down", "date": "2025", "replacement": "groq/y", "answer": "404"},
            "groq/x was shut down by Groq in 2025 (it answers 404); use groq/y instead",
        ),
        (
            {"provider": "Groq", "status": "deprecated", "date": "2027-01-31", "replacement": "groq/y"},
            "groq/x is deprecated by Groq and shuts down on 2027-01-31; use groq/y instead",
        ),
        (
            {
                "provider": "Groq",
                "status": "restricted",
                "date": "2026-01-02",
                "replacement": "groq/y",
                "answer": "403",
            },
            "Groq refuses groq/x on some plans (403, reported 2026-01-02); use groq/y instead",
        ),
    ],
)
def test_lifecycle_message_per_status(fact, expected):
    assert cp.lifecycle_message("groq/x", fact) == expected
    assert cp.lifecycle_warnings([model("groq/x")], {"groq/x": fact}) == [expected]


# ---------------------------------------------------------------------------------------------
# plan_config: the story
# ---------------------------------------------------------------------------------------------


@pytest.fixture(name="story_plan")
def fixture_story_plan():
    return cp.plan_config(STORY, story_models())


def test_story_adds_five_parallel_models(story_plan):
    assert story_plan.changed is True
    assert story_plan.before == STORY
    assert story_plan.added == sorted(STORY_NAMES)
    assert story_plan.updated == story_plan.removed == story_plan.unchanged == []
    assert story_plan.model_names == ["vllm-qwen", "ollama-qwen", "openai-gpt4o"] + STORY_NAMES
    assert story_plan.managed_models == story_plan.added
    assert [entry["model_name"] for entry in story_plan.entries] == story_plan.model_names
    assert story_plan.document == plain(parse_config(story_plan.after))


def test_story_keeps_fallbacks_and_comments(story_plan):
    assert FALLBACKS_LINE in story_plan.after
    assert comment_lines(story_plan.after) == comment_lines(STORY)
    head, tail = STORY.split("\n\nrouter_settings:", 1)
    assert story_plan.after.startswith(head + "\n  - model_name: groq/llama-3.3-70b-versatile\n")
    assert story_plan.after.endswith("\n\nrouter_settings:" + tail)


def test_story_new_entries_are_marked(story_plan):
    doc = parse_config(story_plan.after)
    assert plain(doc["model_list"][3]) == {
        "model_name": "groq/llama-3.3-70b-versatile",
        "litellm_params": {"model": "groq/llama-3.3-70b-versatile", "api_key": "os.environ/GROQ_API_KEY"},
        "model_info": {"id": "homelab-litellm-0cbd33a8b1e2", "managed_by": "homelab.litellm"},
    }
    assert [is_managed(entry) for entry in doc["model_list"]] == [False] * 3 + [True] * 5


def test_story_result_has_no_leak(story_plan):
    assert find_fallback_leaks(parse_config(story_plan.after), STORY_NAMES) == []


def test_story_env_vars_digest_and_warnings(story_plan):
    assert story_plan.env_vars == [
        "DATABASE_URL",
        "GEMINI_API_KEY",
        "GROQ_API_KEY",
        "LITELLM_MASTER_KEY",
        "MISTRAL_API_KEY",
        "OPENAI_API_KEY",
    ]
    assert story_plan.digest == hashlib.sha256(story_plan.after.encode()).hexdigest()
    assert story_plan.router_settings_changed is False
    warned = [warning.split(" ", 1)[0] for warning in story_plan.warnings]
    assert warned == [
        "groq/llama-3.3-70b-versatile",
        "groq/mixtral-8x7b-32768",
        "gemini/gemini-1.5-flash",
        "gemini/gemini-1.5-pro",
    ]
    assert story_plan.notes == []


def test_story_second_run_is_a_no_op(story_plan):
    again = cp.plan_config(story_plan.after, story_models())
    assert again.changed is False
    assert again.after == again.before == story_plan.after
    assert again.unchanged == story_plan.added
    assert again.added == again.updated == again.removed == []
    assert again.digest == story_plan.digest


def test_plan_is_deterministic_and_frozen(story_plan):
    assert cp.plan_config(STORY, story_models()) == story_plan
    with pytest.raises(dataclasses.FrozenInstanceError):
        story_plan.changed = False


def test_unchanged_config_keeps_odd_formatting_byte_for_byte():
    text = (
        "model_list:\n- model_name:   groq/llama-3.3-70b-versatile   # spaced\n  litellm_params:\n"
        "        model: 'groq/llama-3.3-70b-versatile'\n        api_key: \"os.environ/GROQ_API_KEY\"\n"
        "  model_info: {id: homelab-litellm-0cbd33a8b1e2, managed_by: homelab.litellm}\n"
    )
    plan = cp.plan_config(text, [model(GROQ)])
    assert plan.changed is False
    assert plan.after == text
    assert plan.unchanged == [GROQ]


def test_an_empty_request_changes_nothing():
    plan = cp.plan_config(STORY)
    assert (plan.changed, plan.after, plan.managed_models) == (False, STORY, [])
    assert plan.model_names == ["vllm-qwen", "ollama-qwen", "openai-gpt4o"]


# ---------------------------------------------------------------------------------------------
# plan_config: update, remove, purge, ownership
# ---------------------------------------------------------------------------------------------


def test_update_in_place_keeps_position_and_comments():
    plan = cp.plan_config(MIXED, [model(GROQ, timeout=20, rpm=30)])
    assert plan.updated == [GROQ]
    assert plan.added == plan.removed == []
    assert (
        "      api_key: os.environ/GROQ_API_KEY  # rotated by ansible\n      timeout: 20\n      rpm: 30\n" in plan.after
    )
    assert comment_lines(plan.after) == comment_lines(MIXED)
    doc = parse_config(plan.after)
    assert [entry["model_name"] for entry in doc["model_list"]] == [GROQ, "local-qwen", "mistral/mistral-small-latest"]
    assert plain(doc["model_list"][0]["model_info"]) == {"id": model_id_for(GROQ), "managed_by": "homelab.litellm"}


def test_update_removes_params_no_longer_requested():
    plan = cp.plan_config(MIXED, [model(GROQ)])
    assert plan.updated == [GROQ]
    assert "timeout" not in parse_config(plan.after)["model_list"][0]["litellm_params"]
    assert comment_lines(plan.after) == comment_lines(MIXED)


def test_requested_model_info_is_kept_beside_the_marker():
    plan = cp.plan_config(STORY, [dict(model(GROQ), model_info={"free_tier_rpd": 1000})])
    assert plan.entries[-1]["model_info"] == {
        "id": model_id_for(GROQ),
        "managed_by": "homelab.litellm",
        "free_tier_rpd": 1000,
    }


def test_update_of_operator_entry_is_refused():
    mine = {
        "model_name": "vllm-qwen",
        "litellm_params": {"model": "groq/llama-3.3-70b-versatile", "api_key": "os.environ/GROQ_API_KEY"},
    }
    assert_fragments(
        plan_errors(STORY, [mine]),
        [
            "cannot write model 'vllm-qwen'",
            "homelab.litellm does not own",
            "the operator owns it",
            "choose another model_name",
        ],
    )


def test_remove_takes_out_an_owned_entry_and_keeps_operator_comments():
    plan = cp.plan_config(MIXED, remove=[GROQ])
    assert plan.removed == [GROQ]
    assert plan.changed is True
    assert comment_lines(plan.after) == comment_lines(MIXED)
    assert plan.after.startswith(
        "# An operator config after an earlier run: owned and operator entries mixed, "
        "with comments.\nmodel_list:\n  # Operator: local model, keep this comment\n"
        "  - model_name: local-qwen\n"
    )
    assert plan.managed_models == ["mistral/mistral-small-latest"]


def test_remove_accepts_entries_with_a_model_name():
    plan = cp.plan_config(MIXED, remove=[model("mistral/mistral-small-latest"), "groq/not-there"])
    assert plan.removed == ["mistral/mistral-small-latest"]
    assert plan.after.endswith(
        "      api_base: http://ollama.ml.svc.cluster.local:11434\n\n"
        "  # Operator: the owned Mistral entry follows\n\n"
        "# Settings below are the operator's\nrouter_settings:\n"
        '  fallbacks: [{"local-qwen": ["mistral-large"]}]\n'
    )


def test_remove_of_a_missing_model_changes_nothing():
    plan = cp.plan_config(STORY, remove=["groq/not-there"])
    assert plan.changed is False
    assert plan.after == STORY
    assert plan.removed == []


def test_remove_of_a_missing_model_is_reported_unchanged():
    assert cp.plan_config(STORY, remove=["groq/not-there"]).unchanged == ["groq/not-there"]


def test_remove_of_operator_entry_is_refused():
    assert_fragments(
        plan_errors(STORY, remove=["vllm-qwen"]), ["cannot remove model 'vllm-qwen'", "the operator owns it"]
    )


@pytest.mark.parametrize(
    "remove, fragment",
    [
        ([7], "remove[0]: give a model_name"),
        ([{"litellm_params": {}}], "remove[0]: give a model_name"),
        (["ok", ""], "remove[1]: give a model_name"),
        ("vllm-qwen", "remove must be a list of model names, not a string"),
    ],
)
def test_remove_needs_names(remove, fragment):
    assert_fragments(plan_errors(STORY, remove=remove), [fragment])


def test_a_model_both_requested_and_removed_is_refused():
    assert_fragments(
        plan_errors(MIXED, [model(GROQ)], remove=[GROQ]),
        ["model 'groq/llama-3.3-70b-versatile' is both requested and to be removed"],
    )


def test_purge_removes_only_owned_entries_not_listed():
    plan = cp.plan_config(MIXED, [model("mistral/mistral-small-latest", "MISTRAL_API_KEY")], purge=True)
    assert plan.removed == [GROQ]
    assert plan.unchanged == ["mistral/mistral-small-latest"]
    assert plan.model_names == ["local-qwen", "mistral/mistral-small-latest"]


def test_purge_of_story_result_back_to_story():
    added = cp.plan_config(STORY, story_models()).after
    plan = cp.plan_config(added, [], purge=True)
    assert sorted(plan.removed) == sorted(STORY_NAMES)
    assert plan.after == STORY


def test_purge_never_touches_operator_entries():
    plan = cp.plan_config(STORY, [], purge=True)
    assert plan.changed is False
    assert plan.after == STORY


def test_duplicate_owned_entries_are_refused():
    text = MIXED.replace("mistral/mistral-small-latest", GROQ)
    assert_fragments(
        plan_errors(text, [model(GROQ)]), ["has 2 entries with this model_name", "remove the extra ones by hand"]
    )


GROUP = (
    "model_list:\n  - model_name: vllm-qwen\n    litellm_params:\n      model: hosted_vllm/q\n"
    "  - model_name: fast\n    litellm_params:\n      model: groq/openai/gpt-oss-20b\n"
    "      api_key: os.environ/GROQ_API_KEY\n    model_info:\n      id: %s\n      managed_by: homelab.litellm\n"
    "      deployment: key-a\n"
    "  - model_name: fast\n    litellm_params:\n      model: groq/openai/gpt-oss-20b\n"
    "      api_key: os.environ/GROQ_API_KEY_B\n    model_info:\n      id: %s\n      managed_by: homelab.litellm\n"
    "      deployment: key-b\n"
) % (model_id_for("fast"), model_id_for("fast"))


def group_member(label, env):
    return {
        "model_name": "fast",
        "litellm_params": {"model": "groq/openai/gpt-oss-20b", "api_key": "os.environ/" + env},
        "model_info": {"deployment": label},
    }


def test_a_model_group_member_is_upserted_by_its_deployment_label():
    plan = cp.plan_config(GROUP, [group_member("key-b", "GROQ_API_KEY_C")])
    assert plan.updated == ["fast"]
    assert [entry["litellm_params"]["api_key"] for entry in plan.entries if entry["model_name"] == "fast"] == [
        "os.environ/GROQ_API_KEY",
        "os.environ/GROQ_API_KEY_C",
    ]


def test_purge_drops_group_members_no_longer_requested():
    plan = cp.plan_config(GROUP, [group_member("key-a", "GROQ_API_KEY")], purge=True)
    assert plan.updated == ["fast"] and plan.removed == []
    assert [entry["model_info"]["deployment"] for entry in plan.entries if entry["model_name"] == "fast"] == ["key-a"]


def test_removing_a_model_group_removes_every_member():
    plan = cp.plan_config(GROUP, remove=["fast"])
    assert plan.removed == ["fast"]
    assert plan.model_names == ["vllm-qwen"]


def test_owned_duplicates_without_deployment_labels_are_refused():
    text = GROUP.replace("      deployment: key-b\n", "")
    assert_fragments(
        plan_errors(text, [group_member("key-a", "GROQ_API_KEY")]), ["cannot write model 'fast'", "not one model group"]
    )


def test_plan_reports_invalid_input_and_broken_config():
    assert_fragments(
        plan_errors(STORY, [model("groq/x", api_bse="x"), {"model_name": "b"}]),
        ["litellm_params.api_bse", "model 'b' has no litellm_params"],
    )
    assert_fragments(plan_errors("", story_models()), ["config.yaml is empty"])


def test_plan_refuses_existing_leak():
    text = STORY.replace(
        '{"ollama-qwen": ["openai-gpt4o"]}]', '{"ollama-qwen": ["openai-gpt4o"]}, {"*": ["openai-gpt4o"]}]'
    )
    assert_fragments(plan_errors(text, story_models()), ["router_settings.fallbacks[2]", "the key '*'"])


def test_plan_refuses_stripped_name_clash():
    text = STORY.replace('"vllm-qwen": ["ollama-qwen"]', '"llama-3.3-70b-versatile": ["ollama-qwen"]')
    assert_fragments(plan_errors(text, [model(GROQ)]), ["strips the provider prefix"])


def test_plan_creates_missing_model_list():
    plan = cp.plan_config("general_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n", [model(GROQ)])
    assert plan.after.startswith("model_list:\n  - model_name: groq/llama-3.3-70b-versatile\n")
    assert plan.after.endswith("general_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n")
    assert plan.env_vars == ["GROQ_API_KEY", "LITELLM_MASTER_KEY"]


def test_plan_fills_null_model_list():
    plan = cp.plan_config("model_list:\n\n# settings\ngeneral_settings: {}\n", [model(GROQ)])
    assert plan.added == [GROQ]
    assert plan.after.startswith("model_list:\n  - model_name: groq/llama-3.3-70b-versatile\n")
    assert "managed_by: homelab.litellm\n\n# settings\ngeneral_settings: {}\n" in plan.after


def test_missing_api_key_is_warned():
    plan = cp.plan_config(STORY, [{"model_name": "g", "litellm_params": {"model": "gemini/gemini-3.5-flash"}}])
    assert plan.warnings == [
        "model 'g' has no litellm_params.api_key, so LiteLLM picks the provider's default environment variable "
        "(for gemini/ GOOGLE_API_KEY wins over GEMINI_API_KEY); write api_key: os.environ/GEMINI_API_KEY to make "
        "the reference explicit"
    ]


def test_unknown_keys_are_warned_in_the_plan():
    plan = cp.plan_config(STORY, [model("groq/openai/gpt-oss-120b", num_ctx=1)])
    assert plan.changed and any("litellm_params.num_ctx" in warning for warning in plan.warnings)
    assert_fragments(
        plan_errors(STORY, [model("groq/openai/gpt-oss-120b", num_ctx=1)], strict=True), ["strict: true refuses it"]
    )


def test_removed_param_hands_its_following_comment_to_the_previous_key():
    text = (
        "model_list:\n  - model_name: groq/llama-3.3-70b-versatile\n    litellm_params:\n"
        "      model: groq/llama-3.3-70b-versatile\n      api_key: os.environ/GROQ_API_KEY\n      timeout: 10\n"
        "      # keep me\n      rpm: 5\n    model_info:\n      id: homelab-litellm-0cbd33a8b1e2\n"
        "      managed_by: homelab.litellm\n"
    )
    plan = cp.plan_config(text, [model(GROQ, rpm=5)])
    assert plan.updated == [GROQ]
    assert plan.after == text.replace("      timeout: 10\n", "")


def test_removing_the_only_entries_keeps_the_comment_before_the_next_key():
    text = (
        "model_list:\n  - model_name: groq/llama-3.3-70b-versatile\n    litellm_params:\n"
        "      model: groq/llama-3.3-70b-versatile\n    model_info:\n      managed_by: homelab.litellm\n\n"
        "# settings\ngeneral_settings: {}\n"
    )
    plan = cp.plan_config(text, [], purge=True)
    assert plan.removed == [GROQ]
    assert plan.after == "model_list: []\n\n# settings\ngeneral_settings: {}\n"


def test_removing_an_entry_without_following_comment():
    owned = (
        "  - model_name: groq/llama-3.3-70b-versatile\n    litellm_params:\n"
        "      model: groq/llama-3.3-70b-versatile\n    model_info:\n      managed_by: homelab.litellm\n"
    )
    local = "  - model_name: local\n    litellm_params:\n      model: ollama_chat/qwen2.5:7b\n"
    plan = cp.plan_config("model_list:\n" + local + owned + local.replace("local", "other"), remove=[GROQ])
    assert plan.after == "model_list:\n" + local + local.replace("local", "other")


# ---------------------------------------------------------------------------------------------
# plan_config: router_settings
# ---------------------------------------------------------------------------------------------


def test_router_settings_merge_keeps_fallbacks_and_other_keys():
    settings = {"enable_pre_call_checks": True, "num_retries": 1}
    plan = cp.plan_config(STORY, story_models(), router_settings=settings)
    assert plan.router_settings_changed is True
    assert FALLBACKS_LINE + "  num_retries: 1\n  enable_pre_call_checks: true\n\nlitellm_settings:\n" in plan.after
    assert comment_lines(plan.after) == comment_lines(STORY)
    again = cp.plan_config(plan.after, story_models(), router_settings=settings)
    assert again.changed is False
    assert again.after == plan.after


def test_router_settings_deep_merge_and_replace():
    text = "router_settings:\n  routing_strategy_args:\n    ttl: 60  # seconds\n    lowest: 1\n  num_retries: 1\n"
    plan = cp.plan_config(text, [], router_settings={"routing_strategy_args": {"ttl": 30}, "num_retries": 2})
    assert (
        plan.after == "router_settings:\n  routing_strategy_args:\n    ttl: 30  # seconds\n    lowest: 1\n"
        "  num_retries: 2\n"
    )


def test_router_settings_created_when_missing():
    plan = cp.plan_config("model_list: []\n", [], router_settings={"enable_pre_call_checks": True})
    assert plan.after == "model_list: []\nrouter_settings:\n  enable_pre_call_checks: true\n"


def test_router_settings_fill_a_null_section():
    plan = cp.plan_config("router_settings:\ngeneral_settings: {}\n", [], router_settings={"num_retries": 2})
    assert plan.after == "router_settings:\n  num_retries: 2\ngeneral_settings: {}\n"


def test_router_settings_same_values_change_nothing():
    plan = cp.plan_config(STORY, [], router_settings={"num_retries": 1})
    assert plan.changed is False
    assert plan.after == STORY


def test_router_settings_must_not_add_parallel_models_to_the_chain():
    chain = [{"vllm-qwen": ["ollama-qwen"]}, {"ollama-qwen": ["openai-gpt4o", GROQ]}]
    assert_fragments(
        plan_errors(STORY, story_models(), router_settings={"fallbacks": chain}),
        ["router_settings.fallbacks[1]", "'groq/llama-3.3-70b-versatile' is a fallback target of 'ollama-qwen'"],
    )


@pytest.mark.parametrize(
    "settings, fragments",
    [
        (
            {"enable_pre_call_check": True},
            [
                "router_settings.enable_pre_call_check is not a LiteLLM 1.108.7 Router setting",
                "ignore it",
                "did you mean 'enable_pre_call_checks'?",
            ],
        ),
        ({"qqqzzz": 1}, ["router_settings.qqqzzz is not a LiteLLM 1.108.7 Router setting", "remove it"]),
        (
            {"redis_password": "hunter2"},
            ["router_settings.redis_password is written literally", "redis_password: os.environ/REDIS_PASSWORD"],
        ),
        (
            {"redis_password": "os.environ/hunter2-pw"},
            ["router_settings.redis_password references an invalid environment variable name (value not shown)"],
        ),
        ({"redis_host": "os.environ/redis-host"}, ["router_settings.redis_host references 'os.environ/redis-host'"]),
        (["fallbacks"], ["router_settings must be a mapping"]),
    ],
)
def test_router_settings_errors(settings, fragments):
    errors = plan_errors(STORY, [], router_settings=settings)
    assert_fragments(errors, fragments)
    assert not any("hunter2" in error for error in errors)


def test_router_settings_section_of_wrong_type_is_refused():
    assert_fragments(
        plan_errors("router_settings: [a]\n", [], router_settings={"num_retries": 1}),
        ["router_settings in config.yaml is a list", "make it a mapping by hand"],
    )


def test_optional_pre_call_checks_are_merged_item_by_item():
    text = "router_settings:\n  optional_pre_call_checks:\n    - prompt_caching  # the operator's\n"
    settings = {"optional_pre_call_checks": ["enforce_model_rate_limits", "prompt_caching"]}
    plan = cp.plan_config(text, [], router_settings=settings)
    assert plan.document["router_settings"]["optional_pre_call_checks"] == [
        "prompt_caching",
        "enforce_model_rate_limits",
    ]
    assert cp.plan_config(plan.after, [], router_settings=settings).changed is False


def test_merging_optional_pre_call_checks_keeps_the_operators_comments():
    text = "router_settings:\n  optional_pre_call_checks:\n    - prompt_caching  # the operator's\n"
    plan = cp.plan_config(text, [], router_settings={"optional_pre_call_checks": ["enforce_model_rate_limits"]})
    assert "# the operator's" in plan.after


def test_other_lists_are_replaced_not_merged():
    text = "router_settings:\n  background_health_check_model_groups: [a, b]\n"
    plan = cp.plan_config(text, [], router_settings={"background_health_check_model_groups": ["c"]})
    assert plan.document["router_settings"]["background_health_check_model_groups"] == ["c"]


RETRY = (
    "model_list:\n  - model_name: vllm-qwen\n    litellm_params:\n      model: hosted_vllm/q\n"
    "  - model_name: groq/openai/gpt-oss-120b\n    litellm_params:\n      model: groq/openai/gpt-oss-120b\n"
    "      api_key: os.environ/GROQ_API_KEY\n    model_info:\n      id: "
    + model_id_for("groq/openai/gpt-oss-120b")
    + "\n      managed_by: homelab.litellm\n"
    "router_settings:\n  routing_strategy: %s\n  model_group_retry_policy:\n"
    "    vllm-qwen: {RateLimitErrorRetries: 2}\n"
    "    groq/openai/gpt-oss-120b: {RateLimitErrorRetries: 0}\n"
)


def test_removing_a_model_drops_its_retry_policy_entry():
    plan = cp.plan_config(RETRY % "simple-shuffle", remove=["groq/openai/gpt-oss-120b"])
    assert plan.removed == ["groq/openai/gpt-oss-120b"]
    assert plan.document["router_settings"]["model_group_retry_policy"] == {"vllm-qwen": {"RateLimitErrorRetries": 2}}
    assert plan.notes == ["router_settings.model_group_retry_policy['groq/openai/gpt-oss-120b']"]
    assert plan.document["router_settings"]["routing_strategy"] == "simple-shuffle"


def test_a_removed_model_without_retry_policy_has_no_note():
    text = RETRY.replace("    groq/openai/gpt-oss-120b: {RateLimitErrorRetries: 0}\n", "") % "simple-shuffle"
    plan = cp.plan_config(text, remove=["groq/openai/gpt-oss-120b"])
    assert plan.notes == [] and plan.removed == ["groq/openai/gpt-oss-120b"]


def test_the_legacy_routing_strategy_of_managed_models_is_migrated_away():
    groq = model("groq/openai/gpt-oss-120b")
    plan = cp.plan_config(RETRY % "usage-based-routing-v2", [groq])
    assert "routing_strategy" not in plan.document["router_settings"]
    assert plan.changed is True
    assert len(plan.notes) == 1 and "removed router_settings.routing_strategy: usage-based-routing-v2" in plan.notes[0]
    assert "litellm_router_settings.routing_strategy to keep it" in plan.notes[0]


def test_the_legacy_routing_strategy_stays_when_router_settings_ask_for_it():
    plan = cp.plan_config(
        RETRY % "usage-based-routing-v2",
        [model("groq/openai/gpt-oss-120b")],
        router_settings={"routing_strategy": "usage-based-routing-v2"},
    )
    assert plan.document["router_settings"]["routing_strategy"] == "usage-based-routing-v2"
    assert plan.notes == []


def test_the_operators_routing_strategy_without_our_retry_policies_stays():
    text = RETRY.replace("    groq/openai/gpt-oss-120b: {RateLimitErrorRetries: 0}\n", "") % "usage-based-routing-v2"
    plan = cp.plan_config(text, [model("groq/openai/gpt-oss-120b")])
    assert plan.document["router_settings"]["routing_strategy"] == "usage-based-routing-v2"
    assert plan.notes == [] and plan.changed is False


def test_a_removed_managed_models_retry_policy_also_migrates_the_strategy():
    plan = cp.plan_config(RETRY % "usage-based-routing-v2", remove=["groq/openai/gpt-oss-120b"])
    assert "routing_strategy" not in plan.document["router_settings"]
    assert len(plan.notes) == 2


# ---------------------------------------------------------------------------------------------
# changed_model_names / read_config
# ---------------------------------------------------------------------------------------------


def test_changed_model_names():
    old = plain(parse_config(MIXED))
    new = plain(parse_config(cp.plan_config(MIXED, [model(GROQ, timeout=20), model("groq/new")]).after))
    assert cp.changed_model_names(old, new) == [GROQ, "groq/new"]
    assert cp.changed_model_names(old, old) == []
    assert cp.changed_model_names(None, old) == [GROQ, "local-qwen", "mistral/mistral-small-latest"]
    assert cp.changed_model_names(old, {"model_list": None}) == []


def test_read_config():
    doc, errors = cp.read_config(STORY)
    assert errors is None and doc["model_list"][0]["model_name"] == "vllm-qwen"
    assert doc["router_settings"].__class__ is dict, "plain data, not ruamel's CommentedMap"
    doc, errors = cp.read_config("model_list: [}")
    assert doc is None and "not valid YAML" in errors[0]


# ---------------------------------------------------------------------------------------------
# The quick path: deciding on plain data, appending by splicing, never unlike the round trip
# ---------------------------------------------------------------------------------------------


def _round_trip_append(text, models):
    """What the round trip writes for appended models: the reference the splice must equal."""
    from ansible_collections.homelab.litellm.plugins.module_utils._config_yaml import guess_yaml_style, render_config

    doc = parse_config(text)
    cp._append_entries(doc, [cp._desired_entry(model) for model in models])
    return render_config(doc, guess_yaml_style(text))


QUICK_NEW = [
    {
        "model_name": "groq/openai/gpt-oss-120b",
        "litellm_params": {"model": "groq/openai/gpt-oss-120b", "api_key": "os.environ/GROQ_API_KEY", "rpm": 30},
    },
    {
        "model_name": "gemini/gemini-3.8-flash",
        "litellm_params": {"model": "gemini/gemini-3.8-flash", "api_key": "os.environ/GEMINI_API_KEY"},
        "model_info": {"free_tier_rpd": 20},
    },
]


@pytest.mark.parametrize("fixture", ["story-config.yaml", "mixed-config.yaml"])
def test_an_append_is_spliced_exactly_as_the_round_trip_writes_it(fixture, monkeypatch):
    text = (FIXTURES / fixture).read_text()
    expected = _round_trip_append(text, QUICK_NEW)
    # The quick path must not need the round trip at all.
    monkeypatch.setattr(cp, "parse_config", lambda _text: pytest.fail("the round trip was used"))
    plan = cp.plan_config(text, QUICK_NEW)
    assert plan.after == expected
    assert plan.added == sorted(model["model_name"] for model in QUICK_NEW)
    assert plan.changed


@pytest.mark.parametrize(
    "last_value, quick",
    [
        ("      timeout: 30\n", True),
        ("      tags: [a, b]\n", True),
        ("      extra_body: |\n        line one\n        line two\n", False),  # the round trip decides
    ],
)
def test_an_append_after_the_last_items_last_value_and_a_trailing_comment(last_value, quick, monkeypatch):
    text = (
        "model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/a\n"
        + last_value
        + "  # the end of the list\n\nrouter_settings:\n  num_retries: 0\n"
    )
    expected = _round_trip_append(text, QUICK_NEW[:1])
    used = []
    real = cp.parse_config
    monkeypatch.setattr(cp, "parse_config", lambda text: used.append(1) or real(text))
    assert cp.plan_config(text, QUICK_NEW[:1]).after == expected
    assert bool(used) is not quick


def test_nothing_to_do_never_touches_the_round_trip(monkeypatch):
    text = cp.plan_config(STORY, QUICK_NEW).after
    monkeypatch.setattr(cp, "parse_config", lambda _text: pytest.fail("the round trip was used"))
    plan = cp.plan_config(text, QUICK_NEW)
    assert not plan.changed and plan.after == text and plan.unchanged == sorted(m["model_name"] for m in QUICK_NEW)


@pytest.mark.parametrize("change", ["update", "remove", "router_settings"])
def test_anything_but_an_append_takes_the_round_trip(change, monkeypatch):
    text = cp.plan_config(STORY, QUICK_NEW).after
    models, kwargs = list(QUICK_NEW), {}
    if change == "update":
        models[0] = dict(models[0], litellm_params=dict(models[0]["litellm_params"], rpm=10))
    elif change == "remove":
        kwargs["remove"] = [models.pop()["model_name"]]
    else:
        kwargs["router_settings"] = {"num_retries": 2}
    used = []
    real = cp.parse_config
    monkeypatch.setattr(cp, "parse_config", lambda text: used.append(1) or real(text))
    plan = cp.plan_config(text, models, **kwargs)
    assert used and plan.changed
    assert all(line in plan.after.splitlines() for line in STORY.splitlines() if line.lstrip().startswith("#"))


def test_entries_of_an_earlier_run_for_retired_models_are_named_until_removed():
    """After an upgrade the story's retired models are still in the config, added by 0.1.0."""
    earlier = cp.plan_config(STORY, story_models()).after
    current = [
        {
            "model_name": "groq/openai/gpt-oss-120b",
            "litellm_params": {"model": "groq/openai/gpt-oss-120b", "api_key": "os.environ/GROQ_API_KEY"},
        }
    ]
    plan = cp.plan_config(earlier, current)
    left_over = [w for w in plan.warnings if "added by an earlier run and no longer listed" in w]
    assert len(left_over) == 4, plan.warnings
    assert any(
        w.startswith(
            "groq/mixtral-8x7b-32768, added by an earlier run and no longer listed, is still in the config: "
            "groq/mixtral-8x7b-32768 was shut down by Groq on 2025-03-20"
        )
        and w.endswith("Remove it with litellm_remove_models: [groq/mixtral-8x7b-32768] (or litellm_purge: true)")
        for w in left_over
    )
    # mistral-small-latest is served: no word about it.
    assert not any("mistral-small-latest" in w for w in plan.warnings)
    removed = cp.plan_config(earlier, current, purge=True)
    assert not any("added by an earlier run" in w for w in removed.warnings)


def _policies(models, retries=2):
    return {"model_group_retry_policy": {m["model_name"]: {"RateLimitErrorRetries": retries} for m in models}}


def _round_trip_plan(text, models, **kwargs):
    """plan_config with the quick path switched off: the reference for what the splice must write."""
    original = cp._quick_plan
    cp._quick_plan = lambda *args: None
    try:
        return cp.plan_config(text, models, **kwargs)
    finally:
        cp._quick_plan = original


@pytest.mark.parametrize("fixture", ["story-config.yaml", "mixed-config.yaml"])
def test_a_model_and_its_retry_policy_are_spliced_as_the_round_trip_writes_them(fixture, monkeypatch):
    """The role adds a model with its model_group_retry_policy entry: no round trip for that."""
    text = cp.plan_config(
        (FIXTURES / fixture).read_text(), QUICK_NEW[:1], router_settings=_policies(QUICK_NEW[:1])
    ).after
    new = {
        "model_name": "groq/openai/gpt-oss-20b",
        "litellm_params": {"model": "groq/openai/gpt-oss-20b", "api_key": "os.environ/GROQ_API_KEY", "rpm": 30},
    }
    models = [QUICK_NEW[0], new]
    expected = _round_trip_plan(text, models, router_settings=_policies(models))
    monkeypatch.setattr(cp, "parse_config", lambda _text: pytest.fail("the round trip was used"))
    plan = cp.plan_config(text, models, router_settings=_policies(models))
    assert plan.after == expected.after
    assert plan.added == ["groq/openai/gpt-oss-20b"] and plan.router_settings_changed
    assert parse_config(plan.after)["router_settings"]["model_group_retry_policy"]["groq/openai/gpt-oss-20b"] == {
        "RateLimitErrorRetries": 2
    }


def test_a_changed_retry_policy_takes_the_round_trip(monkeypatch):
    text = cp.plan_config(STORY, QUICK_NEW[:1], router_settings=_policies(QUICK_NEW[:1])).after
    used = []
    real = cp.parse_config
    monkeypatch.setattr(cp, "parse_config", lambda text: used.append(1) or real(text))
    plan = cp.plan_config(text, QUICK_NEW[:1], router_settings=_policies(QUICK_NEW[:1], retries=0))
    assert used and plan.changed


def test_a_retry_policy_mapping_in_flow_style_takes_the_round_trip(monkeypatch):
    text = (
        "model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/a\n\n"
        "router_settings:\n  model_group_retry_policy: {a: {RateLimitErrorRetries: 1}}\n"
    )
    used = []
    real = cp.parse_config
    monkeypatch.setattr(cp, "parse_config", lambda text: used.append(1) or real(text))
    plan = cp.plan_config(text, QUICK_NEW[:1], router_settings=_policies(QUICK_NEW[:1]))
    assert used and parse_config(plan.after)["router_settings"]["model_group_retry_policy"] == {
        "a": {"RateLimitErrorRetries": 1},
        "groq/openai/gpt-oss-120b": {"RateLimitErrorRetries": 2},
    }
