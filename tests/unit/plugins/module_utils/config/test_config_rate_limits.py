"""Rate-limit settings for LiteLLM 1.108.7 (plugins/module_utils/config/rate_limits.py)."""

from __future__ import annotations

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils.config import rate_limits

LLAMA = {
    "model_name": "groq/llama-3.3-70b-versatile",
    "litellm_params": {
        "model": "groq/llama-3.3-70b-versatile",
        "api_key": "os.environ/GROQ_API_KEY",
        "rpm": 30,
        "tpm": 12000,
    },
    "model_info": {"free_tier_rpd": 1000},
}
MISTRAL = {
    "model_name": "mistral/mistral-small-latest",
    "litellm_params": {"model": "mistral/mistral-small-latest", "api_key": "os.environ/MISTRAL_API_KEY", "tpm": 500000},
}
MODELS = [LLAMA, MISTRAL]
NAMES = [LLAMA["model_name"], MISTRAL["model_name"]]


# --- rate_limit_router_settings ---------------------------------------------------------------


@pytest.mark.parametrize(
    "mode, retries, expected", [("throttle", 2, 2), ("throttle", 5, 5), ("reject", 2, 0), ("reject", 0, 0)]
)
def test_modes_switch_on_the_native_check_and_a_retry_policy_per_limited_model(mode, retries, expected):
    settings = rate_limits.rate_limit_router_settings(MODELS, mode, retries=retries)
    assert settings == {
        "optional_pre_call_checks": ["enforce_model_rate_limits"],
        "model_group_retry_policy": {name: {"RateLimitErrorRetries": expected} for name in NAMES},
    }
    assert "routing_strategy" not in settings  # the native check works under any strategy


def test_only_models_with_a_limit_get_a_retry_policy_and_none_gives_no_check():
    unlimited = {
        "model_name": "gemini/x",
        "litellm_params": {"model": "gemini/x", "api_key": "os.environ/K"},
        "model_info": {"free_tier_rpd": 20},
    }
    settings = rate_limits.rate_limit_router_settings([LLAMA, unlimited], "throttle")
    assert list(settings["model_group_retry_policy"]) == [LLAMA["model_name"]]
    assert rate_limits.rate_limit_router_settings([unlimited], "throttle") == {}


@pytest.mark.parametrize("off", ["off", False])
def test_off_passes_only_the_operators_settings(off):
    assert rate_limits.rate_limit_router_settings(MODELS, off, {"num_retries": 1}) == {"num_retries": 1}


def test_redis_settings_come_before_the_operators():
    redis = rate_limits.redis_settings("redis.ml.svc", 6380, "REDIS_PASSWORD")
    assert redis == {"redis_host": "redis.ml.svc", "redis_port": 6380, "redis_password": "os.environ/REDIS_PASSWORD"}
    settings = rate_limits.rate_limit_router_settings(MODELS, "throttle", {"redis_port": 7000}, redis=redis)
    assert settings["redis_host"] == "redis.ml.svc" and settings["redis_port"] == 7000
    assert settings["optional_pre_call_checks"] == ["enforce_model_rate_limits"]


@pytest.mark.parametrize(
    "args, message",
    [
        (dict(url="redis://:pw@r:6379", host=None), "as os.environ/NAME"),
        (dict(url="os.environ/REDIS_URL", host="r"), "not both"),
        (dict(host=None, password_env="REDIS_PASSWORD"), "needs litellm_redis_host"),
    ],
)
def test_redis_settings_refuse_what_would_leak_or_make_no_sense(args, message):
    with pytest.raises(rate_limits.RateLimitSettingsError, match=message):
        rate_limits.redis_settings(**args)


def test_redis_url_and_nothing():
    assert rate_limits.redis_settings(url="os.environ/REDIS_URL") == {"redis_url": "os.environ/REDIS_URL"}
    assert rate_limits.redis_settings() == {} and rate_limits.redis_settings(port=6379) == {}


@pytest.mark.parametrize(
    "user, expected",
    [
        ({"num_retries": 1}, {"num_retries": 1}),
        (
            {"model_group_retry_policy": {LLAMA["model_name"]: {"RateLimitErrorRetries": 5}}},
            {
                "model_group_retry_policy": {
                    LLAMA["model_name"]: {"RateLimitErrorRetries": 5},
                    MISTRAL["model_name"]: {"RateLimitErrorRetries": 2},
                }
            },
        ),
        ({"optional_pre_call_checks": ["prompt_caching"]}, {"optional_pre_call_checks": ["prompt_caching"]}),
    ],
)
def test_operator_settings_win_key_by_key(user, expected):
    settings = rate_limits.rate_limit_router_settings(MODELS, "throttle", user)
    for key, value in expected.items():
        assert settings[key] == value


def test_the_operators_retry_policy_is_the_base_of_each_group_policy():
    policy = {"TimeoutErrorRetries": 3, "RateLimitErrorRetries": 9}
    settings = rate_limits.rate_limit_router_settings(MODELS, "throttle", {"retry_policy": policy}, retries=2)
    assert settings["model_group_retry_policy"][LLAMA["model_name"]] == {
        "TimeoutErrorRetries": 3,
        "RateLimitErrorRetries": 2,
    }
    assert settings["retry_policy"] == policy


@pytest.mark.parametrize(
    "mode, retries, user, message",
    [
        ("throttle", 0, None, "whole number >= 1 in throttle mode"),
        ("throttle", True, None, "whole number >= 1 in throttle mode"),
        ("reject", -1, None, "whole number"),
        ("bounce", 2, None, "must be one of throttle, reject, off"),
        ("throttle", 2, ["not", "a", "mapping"], "litellm_router_settings must be a mapping"),
    ],
)
def test_router_settings_refuse_nonsense(mode, retries, user, message):
    with pytest.raises(rate_limits.RateLimitSettingsError, match=message):
        rate_limits.rate_limit_router_settings(MODELS, mode, user, retries=retries)


def test_deep_merge_replaces_lists_and_scalars_and_merges_mappings():
    base = {"a": {"x": 1, "y": [1]}, "b": 1}
    assert rate_limits.deep_merge(base, {"a": {"y": [2], "z": 3}, "b": {"c": 1}}) == {
        "a": {"x": 1, "y": [2], "z": 3},
        "b": {"c": 1},
    }
    assert base == {"a": {"x": 1, "y": [1]}, "b": 1}


@pytest.mark.parametrize(
    "mode, models, user, expected",
    [
        ("throttle", MODELS, {"routing_strategy": "usage-based-routing-v2"}, ["counts the limits a second time"]),
        ("throttle", MODELS, {"routing_strategy": "simple-shuffle"}, []),
        ("throttle", MODELS, {"optional_pre_call_checks": ["prompt_caching"]}, ["without enforce_model_rate_limits"]),
        (
            "throttle",
            MODELS,
            {"model_group_retry_policy": {LLAMA["model_name"]: {"RateLimitErrorRetries": 0}}},
            ["rejected with 429, not held"],
        ),
        (
            "reject",
            MODELS,
            {"model_group_retry_policy": {LLAMA["model_name"]: {"RateLimitErrorRetries": 3}}},
            ["held and retried, not rejected"],
        ),
        (
            "throttle",
            [dict(MISTRAL, litellm_params=dict(MISTRAL["litellm_params"], otpm=100))],
            {},
            ["reserves each request's max_tokens"],
        ),
        ("off", MODELS, {"routing_strategy": "usage-based-routing-v2"}, []),
    ],
)
def test_warnings_name_the_setting_that_defeats_the_mode(mode, models, user, expected):
    warnings = rate_limits.rate_limit_warnings(models, mode, user)
    assert len(warnings) == len(expected), warnings
    for warning, fragment in zip(warnings, expected):
        assert fragment in warning


# --- shared_counter_warnings ------------------------------------------------------------------


def deployment(replicas=1, args=("--config", "/app/config.yaml", "--port", "4000"), env=()):
    container = {"name": "litellm", "args": list(args), "env": [{"name": name, "value": "x"} for name in env]}
    return {"spec": {"replicas": replicas, "template": {"spec": {"containers": [container]}}}}


LIMITED = {
    "model_list": [{"model_name": "m", "litellm_params": {"model": "groq/m", "rpm": 31}}],
    "router_settings": {"optional_pre_call_checks": ["enforce_model_rate_limits"]},
}
BUDGETED = {"model_list": [{"model_name": "m", "litellm_params": {"model": "groq/m", "max_budget": 1}}]}


@pytest.mark.parametrize(
    "dep, config, env_names, processes",
    [
        (deployment(2), LIMITED, (), 2),
        (deployment(3), BUDGETED, (), 3),
        (deployment(1, args=("--num_workers", "4")), LIMITED, (), 4),
        (deployment(2, args=("--num_workers=2",)), LIMITED, (), 4),
        (deployment(1, env=("NUM_WORKERS",)), LIMITED, (), None),  # value "x" is not a number: 1 worker
        (deployment(1), LIMITED, (), None),
        (
            deployment(2),
            {"model_list": [{"model_name": "m", "litellm_params": {"model": "groq/m", "rpm": 31}}]},
            (),
            None,
        ),
        (deployment(2), dict(LIMITED, router_settings={"routing_strategy": "usage-based-routing-v2"}), (), 2),
        (
            deployment(2),
            dict(
                LIMITED,
                router_settings={
                    "optional_pre_call_checks": ["enforce_model_rate_limits"],
                    "redis_host": "redis",
                    "redis_port": 6379,
                },
            ),
            (),
            None,
        ),
        (
            deployment(2),
            dict(
                LIMITED,
                router_settings={"optional_pre_call_checks": ["enforce_model_rate_limits"], "redis_host": "redis"},
            ),
            (),
            2,
        ),
        (deployment(2), dict(LIMITED, litellm_settings={"cache": True, "cache_params": {"type": "redis"}}), (), None),
        (deployment(2), dict(LIMITED, general_settings={"coordination_redis": {"host": "r"}}), (), None),
        (deployment(2, env=("REDIS_HOST",)), LIMITED, (), None),
        (deployment(2), LIMITED, ("REDIS_URL", "GROQ_API_KEY"), None),
        (deployment(2), {"router_settings": {"provider_budget_config": {"groq": {"max_budget": 1}}}}, (), 2),
        ({}, LIMITED, (), None),
    ],
)
def test_per_process_counters_warn_only_for_several_processes_without_redis(dep, config, env_names, processes):
    warnings = rate_limits.shared_counter_warnings(dep, config, env_names)
    if processes is None:
        assert warnings == []
    else:
        assert len(warnings) == 1
        assert "runs as %d processes" % processes in warnings[0]
        assert "admit up to %d times every limit" % processes in warnings[0]
