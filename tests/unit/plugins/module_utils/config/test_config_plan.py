# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/config/plan.py: plan the merge of parallel models.

(test_config_checks.py tests the checks of the requested entries, test_config_plan_quick_path.py the
quick path, test_config_plan_bounds.py the size bounds.)
"""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils.config import plan as config_plan
from ansible_collections.homelab.litellm.plugins.module_utils.config.document import ConfigError, parse_config, plain
from ansible_collections.homelab.litellm.plugins.module_utils.config.fallbacks import find_fallback_leaks
from ansible_collections.homelab.litellm.plugins.module_utils.config.schema import is_managed, model_id_for
from ansible_collections.homelab.litellm.tests.unit.plugins.module_utils.config.config_cases import (
    GROQ,
    MIXED,
    STORY,
    STORY_NAMES,
    assert_fragments,
    model,
    story_models,
)

FALLBACKS_LINE = '  fallbacks: [{"vllm-qwen": ["ollama-qwen"]}, {"ollama-qwen": ["openai-gpt4o"]}]\n'


def comment_lines(text):
    return [line.strip() for line in text.splitlines() if line.strip().startswith("#")]


def plan_errors(*args, **kwargs):
    """The errors of a plan_config call that must be refused."""
    with pytest.raises(ConfigError) as caught:
        config_plan.plan_config(*args, **kwargs)
    return caught.value.errors


# ---------------------------------------------------------------------------------------------
# plan_config: the story
# ---------------------------------------------------------------------------------------------


@pytest.fixture(name="story_plan")
def fixture_story_plan():
    return config_plan.plan_config(STORY, story_models())


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
    again = config_plan.plan_config(story_plan.after, story_models())
    assert again.changed is False
    assert again.after == again.before == story_plan.after
    assert again.unchanged == story_plan.added
    assert again.added == again.updated == again.removed == []
    assert again.digest == story_plan.digest


def test_plan_is_deterministic_and_frozen(story_plan):
    assert config_plan.plan_config(STORY, story_models()) == story_plan
    with pytest.raises(dataclasses.FrozenInstanceError):
        story_plan.changed = False


def test_unchanged_config_keeps_odd_formatting_byte_for_byte():
    text = (
        "model_list:\n- model_name:   groq/llama-3.3-70b-versatile   # spaced\n  litellm_params:\n"
        "        model: 'groq/llama-3.3-70b-versatile'\n        api_key: \"os.environ/GROQ_API_KEY\"\n"
        "  model_info: {id: homelab-litellm-0cbd33a8b1e2, managed_by: homelab.litellm}\n"
    )
    plan = config_plan.plan_config(text, [model(GROQ)])
    assert plan.changed is False
    assert plan.after == text
    assert plan.unchanged == [GROQ]


def test_an_empty_request_changes_nothing():
    plan = config_plan.plan_config(STORY)
    assert (plan.changed, plan.after, plan.managed_models) == (False, STORY, [])
    assert plan.model_names == ["vllm-qwen", "ollama-qwen", "openai-gpt4o"]


# ---------------------------------------------------------------------------------------------
# plan_config: update, remove, purge, ownership
# ---------------------------------------------------------------------------------------------


def test_update_in_place_keeps_position_and_comments():
    plan = config_plan.plan_config(MIXED, [model(GROQ, timeout=20, rpm=30)])
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
    plan = config_plan.plan_config(MIXED, [model(GROQ)])
    assert plan.updated == [GROQ]
    assert "timeout" not in parse_config(plan.after)["model_list"][0]["litellm_params"]
    assert comment_lines(plan.after) == comment_lines(MIXED)


def test_requested_model_info_is_kept_beside_the_marker():
    plan = config_plan.plan_config(STORY, [dict(model(GROQ), model_info={"free_tier_rpd": 1000})])
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
    plan = config_plan.plan_config(MIXED, remove=[GROQ])
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
    plan = config_plan.plan_config(MIXED, remove=[model("mistral/mistral-small-latest"), "groq/not-there"])
    assert plan.removed == ["mistral/mistral-small-latest"]
    assert plan.after.endswith(
        "      api_base: http://ollama.ml.svc.cluster.local:11434\n\n"
        "  # Operator: the owned Mistral entry follows\n\n"
        "# Settings below are the operator's\nrouter_settings:\n"
        '  fallbacks: [{"local-qwen": ["mistral-large"]}]\n'
    )


def test_remove_of_a_missing_model_changes_nothing():
    plan = config_plan.plan_config(STORY, remove=["groq/not-there"])
    assert plan.changed is False
    assert plan.after == STORY
    assert plan.removed == []


def test_remove_of_a_missing_model_is_reported_unchanged():
    assert config_plan.plan_config(STORY, remove=["groq/not-there"]).unchanged == ["groq/not-there"]


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
    plan = config_plan.plan_config(MIXED, [model("mistral/mistral-small-latest", "MISTRAL_API_KEY")], purge=True)
    assert plan.removed == [GROQ]
    assert plan.unchanged == ["mistral/mistral-small-latest"]
    assert plan.model_names == ["local-qwen", "mistral/mistral-small-latest"]


def test_purge_of_story_result_back_to_story():
    added = config_plan.plan_config(STORY, story_models()).after
    plan = config_plan.plan_config(added, [], purge=True)
    assert sorted(plan.removed) == sorted(STORY_NAMES)
    assert plan.after == STORY


def test_purge_never_touches_operator_entries():
    plan = config_plan.plan_config(STORY, [], purge=True)
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
    plan = config_plan.plan_config(GROUP, [group_member("key-b", "GROQ_API_KEY_C")])
    assert plan.updated == ["fast"]
    assert [entry["litellm_params"]["api_key"] for entry in plan.entries if entry["model_name"] == "fast"] == [
        "os.environ/GROQ_API_KEY",
        "os.environ/GROQ_API_KEY_C",
    ]


def test_purge_drops_group_members_no_longer_requested():
    plan = config_plan.plan_config(GROUP, [group_member("key-a", "GROQ_API_KEY")], purge=True)
    assert plan.updated == ["fast"] and plan.removed == []
    assert [entry["model_info"]["deployment"] for entry in plan.entries if entry["model_name"] == "fast"] == ["key-a"]


def test_removing_a_model_group_removes_every_member():
    plan = config_plan.plan_config(GROUP, remove=["fast"])
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
    plan = config_plan.plan_config("general_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n", [model(GROQ)])
    assert plan.after.startswith("model_list:\n  - model_name: groq/llama-3.3-70b-versatile\n")
    assert plan.after.endswith("general_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n")
    assert plan.env_vars == ["GROQ_API_KEY", "LITELLM_MASTER_KEY"]


def test_plan_fills_null_model_list():
    plan = config_plan.plan_config("model_list:\n\n# settings\ngeneral_settings: {}\n", [model(GROQ)])
    assert plan.added == [GROQ]
    assert plan.after.startswith("model_list:\n  - model_name: groq/llama-3.3-70b-versatile\n")
    assert "managed_by: homelab.litellm\n\n# settings\ngeneral_settings: {}\n" in plan.after


def test_missing_api_key_is_warned():
    plan = config_plan.plan_config(STORY, [{"model_name": "g", "litellm_params": {"model": "gemini/gemini-3.5-flash"}}])
    assert plan.warnings == [
        "model 'g' has no litellm_params.api_key, so LiteLLM picks the provider's default environment variable "
        "(for gemini/ GOOGLE_API_KEY wins over GEMINI_API_KEY); write api_key: os.environ/GEMINI_API_KEY to make "
        "the reference explicit"
    ]


def test_unknown_keys_are_warned_in_the_plan():
    plan = config_plan.plan_config(STORY, [model("groq/openai/gpt-oss-120b", num_ctx=1)])
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
    plan = config_plan.plan_config(text, [model(GROQ, rpm=5)])
    assert plan.updated == [GROQ]
    assert plan.after == text.replace("      timeout: 10\n", "")


def test_removing_the_only_entries_keeps_the_comment_before_the_next_key():
    text = (
        "model_list:\n  - model_name: groq/llama-3.3-70b-versatile\n    litellm_params:\n"
        "      model: groq/llama-3.3-70b-versatile\n    model_info:\n      managed_by: homelab.litellm\n\n"
        "# settings\ngeneral_settings: {}\n"
    )
    plan = config_plan.plan_config(text, [], purge=True)
    assert plan.removed == [GROQ]
    assert plan.after == "model_list: []\n\n# settings\ngeneral_settings: {}\n"


def test_removing_an_entry_without_following_comment():
    owned = (
        "  - model_name: groq/llama-3.3-70b-versatile\n    litellm_params:\n"
        "      model: groq/llama-3.3-70b-versatile\n    model_info:\n      managed_by: homelab.litellm\n"
    )
    local = "  - model_name: local\n    litellm_params:\n      model: ollama_chat/qwen2.5:7b\n"
    plan = config_plan.plan_config("model_list:\n" + local + owned + local.replace("local", "other"), remove=[GROQ])
    assert plan.after == "model_list:\n" + local + local.replace("local", "other")


# ---------------------------------------------------------------------------------------------
# plan_config: router_settings
# ---------------------------------------------------------------------------------------------


def test_router_settings_merge_keeps_fallbacks_and_other_keys():
    settings = {"enable_pre_call_checks": True, "num_retries": 1}
    plan = config_plan.plan_config(STORY, story_models(), router_settings=settings)
    assert plan.router_settings_changed is True
    assert FALLBACKS_LINE + "  num_retries: 1\n  enable_pre_call_checks: true\n\nlitellm_settings:\n" in plan.after
    assert comment_lines(plan.after) == comment_lines(STORY)
    again = config_plan.plan_config(plan.after, story_models(), router_settings=settings)
    assert again.changed is False
    assert again.after == plan.after


def test_router_settings_deep_merge_and_replace():
    text = "router_settings:\n  routing_strategy_args:\n    ttl: 60  # seconds\n    lowest: 1\n  num_retries: 1\n"
    plan = config_plan.plan_config(text, [], router_settings={"routing_strategy_args": {"ttl": 30}, "num_retries": 2})
    assert (
        plan.after == "router_settings:\n  routing_strategy_args:\n    ttl: 30  # seconds\n    lowest: 1\n"
        "  num_retries: 2\n"
    )


def test_router_settings_created_when_missing():
    plan = config_plan.plan_config("model_list: []\n", [], router_settings={"enable_pre_call_checks": True})
    assert plan.after == "model_list: []\nrouter_settings:\n  enable_pre_call_checks: true\n"


def test_router_settings_fill_a_null_section():
    plan = config_plan.plan_config("router_settings:\ngeneral_settings: {}\n", [], router_settings={"num_retries": 2})
    assert plan.after == "router_settings:\n  num_retries: 2\ngeneral_settings: {}\n"


def test_router_settings_same_values_change_nothing():
    plan = config_plan.plan_config(STORY, [], router_settings={"num_retries": 1})
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
    plan = config_plan.plan_config(text, [], router_settings=settings)
    assert plan.document["router_settings"]["optional_pre_call_checks"] == [
        "prompt_caching",
        "enforce_model_rate_limits",
    ]
    assert config_plan.plan_config(plan.after, [], router_settings=settings).changed is False


def test_merging_optional_pre_call_checks_keeps_the_operators_comments():
    text = "router_settings:\n  optional_pre_call_checks:\n    - prompt_caching  # the operator's\n"
    plan = config_plan.plan_config(
        text, [], router_settings={"optional_pre_call_checks": ["enforce_model_rate_limits"]}
    )
    assert "# the operator's" in plan.after


def test_other_lists_are_replaced_not_merged():
    text = "router_settings:\n  background_health_check_model_groups: [a, b]\n"
    plan = config_plan.plan_config(text, [], router_settings={"background_health_check_model_groups": ["c"]})
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
    plan = config_plan.plan_config(RETRY % "simple-shuffle", remove=["groq/openai/gpt-oss-120b"])
    assert plan.removed == ["groq/openai/gpt-oss-120b"]
    assert plan.document["router_settings"]["model_group_retry_policy"] == {"vllm-qwen": {"RateLimitErrorRetries": 2}}
    assert plan.notes == ["router_settings.model_group_retry_policy['groq/openai/gpt-oss-120b']"]
    assert plan.document["router_settings"]["routing_strategy"] == "simple-shuffle"


def test_a_removed_model_without_retry_policy_has_no_note():
    text = RETRY.replace("    groq/openai/gpt-oss-120b: {RateLimitErrorRetries: 0}\n", "") % "simple-shuffle"
    plan = config_plan.plan_config(text, remove=["groq/openai/gpt-oss-120b"])
    assert plan.notes == [] and plan.removed == ["groq/openai/gpt-oss-120b"]


def test_the_legacy_routing_strategy_of_managed_models_is_migrated_away():
    groq = model("groq/openai/gpt-oss-120b")
    plan = config_plan.plan_config(RETRY % "usage-based-routing-v2", [groq])
    assert "routing_strategy" not in plan.document["router_settings"]
    assert plan.changed is True
    assert len(plan.notes) == 1 and "removed router_settings.routing_strategy: usage-based-routing-v2" in plan.notes[0]
    assert "litellm_router_settings.routing_strategy to keep it" in plan.notes[0]


def test_the_legacy_routing_strategy_stays_when_router_settings_ask_for_it():
    plan = config_plan.plan_config(
        RETRY % "usage-based-routing-v2",
        [model("groq/openai/gpt-oss-120b")],
        router_settings={"routing_strategy": "usage-based-routing-v2"},
    )
    assert plan.document["router_settings"]["routing_strategy"] == "usage-based-routing-v2"
    assert plan.notes == []


def test_the_operators_routing_strategy_without_our_retry_policies_stays():
    text = RETRY.replace("    groq/openai/gpt-oss-120b: {RateLimitErrorRetries: 0}\n", "") % "usage-based-routing-v2"
    plan = config_plan.plan_config(text, [model("groq/openai/gpt-oss-120b")])
    assert plan.document["router_settings"]["routing_strategy"] == "usage-based-routing-v2"
    assert plan.notes == [] and plan.changed is False


def test_a_removed_managed_models_retry_policy_also_migrates_the_strategy():
    plan = config_plan.plan_config(RETRY % "usage-based-routing-v2", remove=["groq/openai/gpt-oss-120b"])
    assert "routing_strategy" not in plan.document["router_settings"]
    assert len(plan.notes) == 2


# ---------------------------------------------------------------------------------------------
# changed_model_names / read_config
# ---------------------------------------------------------------------------------------------


def test_changed_model_names():
    old = plain(parse_config(MIXED))
    new = plain(parse_config(config_plan.plan_config(MIXED, [model(GROQ, timeout=20), model("groq/new")]).after))
    assert config_plan.changed_model_names(old, new) == [GROQ, "groq/new"]
    assert config_plan.changed_model_names(old, old) == []
    assert config_plan.changed_model_names(None, old) == [GROQ, "local-qwen", "mistral/mistral-small-latest"]
    assert config_plan.changed_model_names(old, {"model_list": None}) == []


def test_read_config():
    doc, errors = config_plan.read_config(STORY)
    assert errors is None and doc["model_list"][0]["model_name"] == "vllm-qwen"
    assert doc["router_settings"].__class__ is dict, "plain data, not ruamel's CommentedMap"
    doc, errors = config_plan.read_config("model_list: [}")
    assert doc is None and "not valid YAML" in errors[0]


def test_entries_of_an_earlier_run_for_retired_models_are_named_until_removed():
    """After an upgrade the story's retired models are still in the config, added by 0.1.0."""
    earlier = config_plan.plan_config(STORY, story_models()).after
    current = [
        {
            "model_name": "groq/openai/gpt-oss-120b",
            "litellm_params": {"model": "groq/openai/gpt-oss-120b", "api_key": "os.environ/GROQ_API_KEY"},
        }
    ]
    plan = config_plan.plan_config(earlier, current)
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
    # mistral-small-latest is served: not named as retired, only as left behind (one warning for all such).
    assert not any("mistral-small-latest" in w for w in left_over)
    left_behind = [w for w in plan.warnings if w.startswith("Models added by an earlier run are no longer requested")]
    assert len(left_behind) == 1 and "mistral: mistral/mistral-small-latest" in left_behind[0], plan.warnings
    assert "litellm_remove_models: [mistral/mistral-small-latest]" in left_behind[0]
    removed = config_plan.plan_config(earlier, current, purge=True)
    assert not any("added by an earlier run" in w for w in removed.warnings)


def test_models_left_behind_by_a_dropped_provider_are_named_with_how_to_remove_them():
    earlier = config_plan.plan_config(STORY, story_models()).after
    groq_only = [model for model in story_models() if model["model_name"].startswith("groq/")]
    plan = config_plan.plan_config(earlier, groq_only)
    left_behind = [w for w in plan.warnings if w.startswith("Models added by an earlier run are no longer requested")]
    assert len(left_behind) == 1, plan.warnings
    assert "mistral: mistral/mistral-small-latest" in left_behind[0]
    assert "litellm_remove_models: [mistral/mistral-small-latest]" in left_behind[0]
    assert not plan.changed  # reported, not removed
    # Without asking for models (keys only) or once removed, nothing is said.
    assert not any("no longer requested" in w for w in config_plan.plan_config(earlier, [], left_behind=False).warnings)
    gone = config_plan.plan_config(earlier, groq_only, remove=["mistral/mistral-small-latest"])
    assert gone.removed == ["mistral/mistral-small-latest"]
    assert not any("mistral" in w for w in gone.warnings if "no longer requested" in w)


def test_removing_a_model_that_is_not_there_warns():
    plan = config_plan.plan_config(STORY, [], remove=["groq/llama-3.3-70b-versatil", "nothing-like-it"])
    assert not plan.changed
    assert any(
        "litellm_remove_models names 'nothing-like-it', which is not in the config: nothing to remove (removed "
        "already" in w
        for w in plan.warnings
    ), plan.warnings
    earlier = config_plan.plan_config(STORY, story_models()).after
    typo = config_plan.plan_config(earlier, [], remove=["groq/llama-3.3-70b-versatil"])
    assert any("did you mean 'groq/llama-3.3-70b-versatile'?" in w for w in typo.warnings), typo.warnings


def test_removing_a_requested_preset_model_says_how_to_exclude_it():
    with pytest.raises(ConfigError, match="add it to litellm_exclude_models"):
        config_plan.plan_config(STORY, story_models(), remove=[story_models()[0]["model_name"]])
