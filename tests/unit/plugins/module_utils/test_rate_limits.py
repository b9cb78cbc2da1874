"""Rate-limit settings for LiteLLM 1.108.7 (plugins/module_utils/_rate_limits.py)."""

from __future__ import annotations

import pytest

from ansible_collections.homelab.litellm.plugins.module_utils import _rate_limits as rl

LLAMA = {"model_name": "groq/llama-3.3-70b-versatile",
         "litellm_params": {"model": "groq/llama-3.3-70b-versatile", "api_key": "os.environ/GROQ_API_KEY",
                            "rpm": 30, "tpm": 12000},
         "model_info": {"free_tier_rpd": 1000}}
MISTRAL = {"model_name": "mistral/mistral-small-latest",
           "litellm_params": {"model": "mistral/mistral-small-latest", "api_key": "os.environ/MISTRAL_API_KEY",
                              "tpm": 500000}}
MODELS = [LLAMA, MISTRAL]
NAMES = [LLAMA["model_name"], MISTRAL["model_name"]]


# --- rate_limited_models ----------------------------------------------------------------------

@pytest.mark.parametrize("mode, rpm", [("throttle", 31), ("reject", 31), ("off", 30)])
def test_rpm_is_compensated_only_where_usage_based_routing_v2_counts_it(mode, rpm):
    llama, mistral = rl.rate_limited_models(MODELS, mode)
    assert llama["litellm_params"]["rpm"] == rpm
    assert llama["litellm_params"]["tpm"] == 12000
    assert "rpm" not in mistral["litellm_params"]


def test_the_input_entries_are_not_changed():
    rl.rate_limited_models(MODELS, "throttle", daily_budget_tokens=1000)
    assert LLAMA["litellm_params"]["rpm"] == 30 and "max_budget" not in LLAMA["litellm_params"]


def test_daily_budget_only_for_models_with_an_rpd():
    llama, mistral = rl.rate_limited_models(MODELS, "off", daily_budget_tokens=1000)
    assert llama["litellm_params"]["budget_duration"] == "1d"
    assert llama["litellm_params"]["max_budget"] == pytest.approx(0.9995)
    assert llama["litellm_params"]["input_cost_per_token"] == llama["litellm_params"]["output_cost_per_token"] == 1e-06
    assert mistral == MISTRAL


def test_no_daily_budget_without_tokens_per_request():
    llama = rl.rate_limited_models(MODELS, "throttle", daily_budget_tokens=0)[0]
    assert not set(rl.BUDGET_PARAMS) & set(llama["litellm_params"])


@pytest.mark.parametrize("own", [{"max_budget": 5}, {"budget_duration": "7d"}, {"input_cost_per_token": 2e-7},
                                 {"output_cost_per_token": 0}])
def test_an_entry_with_its_own_budget_or_prices_keeps_them(own):
    entry = dict(LLAMA, litellm_params=dict(LLAMA["litellm_params"], **own))
    params = rl.rate_limited_models([entry], "off", daily_budget_tokens=1000)[0]["litellm_params"]
    assert params == entry["litellm_params"]


@pytest.mark.parametrize("entry", [{"model_name": "x"}, {"model_name": "x", "litellm_params": "nonsense"}])
def test_entries_without_params_pass_through(entry):
    assert rl.rate_limited_models([entry], "throttle", daily_budget_tokens=10) == [entry]


# --- daily_budget_params --------------------------------------------------------------------

@pytest.mark.parametrize("rpd, tokens", [(1, 1), (3, 14), (50, 1000), (1000, 1000), (14400, 250)])
def test_budget_lets_exactly_rpd_requests_of_the_assumed_size_through(rpd, tokens):
    """LiteLLM admits a request while spend < max_budget and adds its cost afterwards."""
    params = rl.daily_budget_params(rpd, tokens)
    spend, admitted = 0.0, 0
    while spend < params["max_budget"]:
        spend += tokens * params["input_cost_per_token"]
        admitted += 1
    assert admitted == rpd


@pytest.mark.parametrize("rpd, tokens, message", [
    (0, 1000, "rpd must be a whole number"),
    (1.5, 1000, "rpd must be a whole number"),
    (True, 1000, "rpd must be a whole number"),
    (10, 0, "litellm_daily_budget_tokens_per_request must be"),
    (10, "1000", "litellm_daily_budget_tokens_per_request must be"),
])
def test_budget_refuses_nonsense(rpd, tokens, message):
    with pytest.raises(rl.RateLimitSettingsError, match=message):
        rl.daily_budget_params(rpd, tokens)


def test_a_bad_rpd_names_the_model():
    entry = dict(LLAMA, model_info={"free_tier_rpd": "many"})
    with pytest.raises(rl.RateLimitSettingsError, match="model 'groq/llama-3.3-70b-versatile': rpd"):
        rl.rate_limited_models([entry], "throttle", daily_budget_tokens=1000)


# --- router settings --------------------------------------------------------------------------

@pytest.mark.parametrize("mode, retries, expected", [
    ("throttle", 2, 2),
    ("throttle", 5, 5),
    ("reject", 2, 0),
    ("reject", 0, 0),
])
def test_modes_route_with_v2_and_set_a_retry_policy_per_parallel_model(mode, retries, expected):
    settings = rl.rate_limit_router_settings(MODELS, mode, retries=retries)
    assert settings == {
        "routing_strategy": "usage-based-routing-v2",
        "model_group_retry_policy": {name: {"RateLimitErrorRetries": expected} for name in NAMES},
    }


@pytest.mark.parametrize("off", ["off", False])  # YAML 1.1 reads an unquoted off as false
def test_off_passes_only_the_operators_settings(off):
    assert rl.rate_limit_router_settings(MODELS, off) == {}
    assert rl.rate_limit_router_settings(MODELS, off, {"num_retries": 1}) == {"num_retries": 1}
    assert rl.rate_limited_models(MODELS, off)[0]["litellm_params"]["rpm"] == 30
    assert rl.rate_limit_warnings(MODELS, off, {"routing_strategy": "simple-shuffle"}) == []


@pytest.mark.parametrize("user, expected", [
    ({"routing_strategy": "latency-based-routing"}, {"routing_strategy": "latency-based-routing"}),
    ({"num_retries": 0, "fallbacks": [{"a": ["b"]}]}, {"num_retries": 0, "fallbacks": [{"a": ["b"]}]}),
    ({"model_group_retry_policy": {"groq/llama-3.3-70b-versatile": {"RateLimitErrorRetries": 7}}},
     {"model_group_retry_policy": {"groq/llama-3.3-70b-versatile": {"RateLimitErrorRetries": 7},
                                   "mistral/mistral-small-latest": {"RateLimitErrorRetries": 2}}}),
    ({"model_group_retry_policy": {"vllm-qwen": {"TimeoutErrorRetries": 1}}},
     {"model_group_retry_policy": {"groq/llama-3.3-70b-versatile": {"RateLimitErrorRetries": 2},
                                   "mistral/mistral-small-latest": {"RateLimitErrorRetries": 2},
                                   "vllm-qwen": {"TimeoutErrorRetries": 1}}}),
])
def test_operator_settings_win_key_by_key(user, expected):
    settings = rl.rate_limit_router_settings(MODELS, "throttle", user, retries=2)
    base = {"routing_strategy": "usage-based-routing-v2",
            "model_group_retry_policy": {name: {"RateLimitErrorRetries": 2} for name in NAMES}}
    assert settings == dict(base, **expected)


def test_the_operators_retry_policy_is_the_base_of_each_group_policy():
    """LiteLLM uses a model group's policy instead of retry_policy, so the group policy carries it."""
    user = {"retry_policy": {"TimeoutErrorRetries": 3, "RateLimitErrorRetries": 9}}
    settings = rl.rate_limit_router_settings(MODELS, "reject", user)
    assert settings["retry_policy"] == user["retry_policy"]
    for name in NAMES:
        assert settings["model_group_retry_policy"][name] == {"TimeoutErrorRetries": 3, "RateLimitErrorRetries": 0}


@pytest.mark.parametrize("mode, retries, user, message", [
    ("fast", 2, None, "litellm_rate_limit_mode must be one of throttle, reject, off"),
    ("throttle", 0, None, "litellm_rate_limit_retries must be a whole number >= 1"),
    ("throttle", "2", None, "litellm_rate_limit_retries must be a whole number >= 1"),
    ("throttle", 2, ["routing_strategy"], "litellm_router_settings must be a mapping"),
])
def test_router_settings_refuse_nonsense(mode, retries, user, message):
    with pytest.raises(rl.RateLimitSettingsError, match=message):
        rl.rate_limit_router_settings(MODELS, mode, user, retries=retries)


def test_deep_merge_replaces_lists_and_scalars_and_merges_mappings():
    base = {"a": {"x": 1, "y": {"z": 2}}, "l": [1], "s": 1}
    merged = rl.deep_merge(base, {"a": {"y": {"w": 3}}, "l": [2], "s": {"k": 1}})
    assert merged == {"a": {"x": 1, "y": {"z": 2, "w": 3}}, "l": [2], "s": {"k": 1}}
    assert base == {"a": {"x": 1, "y": {"z": 2}}, "l": [1], "s": 1}


# --- rate_limit_warnings ----------------------------------------------------------------------

@pytest.mark.parametrize("mode, user, expected", [
    ("throttle", {}, []),
    ("throttle", {"routing_strategy": "usage-based-routing-v2", "num_retries": 3}, []),
    ("throttle", {"routing_strategy": "simple-shuffle"}, ["routing_strategy 'simple-shuffle' wins"]),
    ("reject", {"routing_strategy": "least-busy"}, ["routing_strategy 'least-busy' wins"]),
    ("off", {"routing_strategy": "simple-shuffle"}, []),
    ("throttle", {"model_group_retry_policy": {"groq/llama-3.3-70b-versatile": {"RateLimitErrorRetries": 0}}},
     ["['groq/llama-3.3-70b-versatile'].RateLimitErrorRetries is 0: requests over its limits are rejected"]),
    ("reject", {"model_group_retry_policy": {"mistral/mistral-small-latest": {"RateLimitErrorRetries": 1}}},
     ["['mistral/mistral-small-latest'].RateLimitErrorRetries is 1: requests over its limits are held"]),
    ("reject", {"model_group_retry_policy": {"vllm-qwen": {"RateLimitErrorRetries": 1}}}, []),
])
def test_warnings_name_the_setting_that_defeats_the_mode(mode, user, expected):
    warnings = rl.rate_limit_warnings(MODELS, mode, user)
    assert len(warnings) == len(expected)
    for warning, fragment in zip(warnings, expected):
        assert fragment in warning


# --- shared_counter_warnings ------------------------------------------------------------------

def deployment(replicas=1, args=("--config", "/app/config.yaml", "--port", "4000"), env=()):
    container = {"name": "litellm", "args": list(args), "env": [{"name": name, "value": "x"} for name in env]}
    return {"spec": {"replicas": replicas, "template": {"spec": {"containers": [container]}}}}


LIMITED = {"model_list": [{"model_name": "m", "litellm_params": {"model": "groq/m", "rpm": 31}}],
           "router_settings": {"routing_strategy": "usage-based-routing-v2"}}
BUDGETED = {"model_list": [{"model_name": "m", "litellm_params": {"model": "groq/m", "max_budget": 1}}]}


@pytest.mark.parametrize("dep, config, env_names, processes", [
    (deployment(2), LIMITED, (), 2),
    (deployment(3), BUDGETED, (), 3),
    (deployment(1, args=("--num_workers", "4")), LIMITED, (), 4),
    (deployment(2, args=("--num_workers=2",)), LIMITED, (), 4),
    (deployment(1, env=("NUM_WORKERS",)), LIMITED, (), None),  # value "x" is not a number: 1 worker
    (deployment(1), LIMITED, (), None),
    (deployment(2), {"model_list": [{"model_name": "m", "litellm_params": {"model": "groq/m", "rpm": 31}}]}, (), None),
    (deployment(2), dict(LIMITED, router_settings={"routing_strategy": "usage-based-routing-v2",
                                                   "redis_host": "redis", "redis_port": 6379}), (), None),
    (deployment(2), dict(LIMITED, litellm_settings={"cache": True, "cache_params": {"type": "redis"}}), (), None),
    (deployment(2), dict(LIMITED, general_settings={"coordination_redis": {"host": "r"}}), (), None),
    (deployment(2, env=("REDIS_HOST",)), LIMITED, (), None),
    (deployment(2), LIMITED, ("REDIS_URL", "GROQ_API_KEY"), None),
    (deployment(2), {"router_settings": {"provider_budget_config": {"groq": {"max_budget": 1}}}}, (), 2),
    ({}, LIMITED, (), None),
])
def test_per_process_counters_warn_only_for_several_processes_without_redis(dep, config, env_names, processes):
    warnings = rl.shared_counter_warnings(dep, config, env_names)
    if processes is None:
        assert warnings == []
    else:
        assert len(warnings) == 1
        assert "runs as %d processes" % processes in warnings[0]
        assert "admit up to %d times every limit" % processes in warnings[0]
