# -*- coding: utf-8 -*-
# Internal to homelab.litellm, not a public API: it may change in any release without notice.
#
# Copyright: (c) 2026, homelab.litellm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure logic that makes LiteLLM 1.108.7 enforce the free-tier limits of the parallel models.

What LiteLLM does with them (read in its source, measured with the real proxy):

* ``litellm_params.rpm``/``tpm`` are ignored by the default router (``simple-shuffle``).
* ``routing_strategy: usage-based-routing-v2`` (router_strategy/lowest_tpm_rpm_v2.py) counts requests
  and tokens per deployment per fixed UTC minute (cache keys ``<id>:<model>:rpm:HH-MM``). A request that
  would go over answers ``RateLimitError`` 429 with ``retry-after: 60``. It admits ``rpm - 1`` requests
  a minute (``count + 1 >= rpm`` excludes the deployment) and a request while ``tokens used this minute
  + the prompt's tokens <= tpm`` (the answer's tokens count only afterwards).
* That 429 is retried like any rate-limit error: ``Router.async_function_with_retries`` sleeps the
  ``retry-after`` (60 s plus up to 0.75 s jitter) and routes again, in the next minute. How often is
  ``num_retries``, or ``RateLimitErrorRetries`` of the model group's ``model_group_retry_policy``, which
  wins for that group only. So the same 429 is a 60-s hold per retry (throttle) or an immediate
  rejection (no retry).
* ``max_budget`` + ``budget_duration`` in ``litellm_params`` switch on RouterBudgetLimiting: once a
  deployment's spend (USD, from token counts times the per-token prices) in the window reaches
  ``max_budget``, requests answer 429 ``No deployments available - crossed budget`` until the window,
  which opens at the first spend, ends.
* All counters live in each LiteLLM process's memory unless Redis is configured.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping

MODES = ("throttle", "reject", "off")
"""``litellm_rate_limit_mode`` values: hold over-limit requests, reject them with 429, or leave
router_settings as they are."""

ROUTING_STRATEGY = "usage-based-routing-v2"
"""The only LiteLLM 1.108.7 routing strategy that enforces both rpm and tpm."""

RPM_COMPENSATION = 1
"""usage-based-routing-v2 admits ``rpm - 1`` requests a minute; writing ``rpm + 1`` admits ``rpm``."""

TOKEN_PRICE_USD = 1e-06
"""The price per input and output token written on models with a daily budget: 1 USD per million
tokens, so that LiteLLM's spend (USD) counts tokens."""

BUDGET_DURATION = "1d"

BUDGET_PARAMS = ("max_budget", "budget_duration", "input_cost_per_token", "output_cost_per_token")
"""``litellm_params`` keys a daily budget writes; an entry that sets any of them itself keeps its own."""

REDIS_ENV_VARS = ("REDIS_HOST", "REDIS_URL", "REDIS_CLUSTER_NODES", "REDIS_SENTINEL_NODES")
"""Environment variables from which LiteLLM 1.108.7 builds the Redis its router counters share
(proxy_server.py ``_init_coordination_redis_env_fallback``)."""

_NUM_WORKERS_ARG = re.compile(r"^--num_workers(?:=(\d+))?$")


class RateLimitSettingsError(ValueError):
    """Rate-limit input that cannot produce a valid configuration."""


def _check_mode(mode):
    """The mode, with YAML 1.1's reading of an unquoted ``off`` (false) taken as ``"off"``."""
    if mode is False:
        return "off"
    if mode not in MODES:
        raise RateLimitSettingsError("litellm_rate_limit_mode must be one of %s, not %r" % (", ".join(MODES), mode))
    return mode


def daily_budget_params(rpd, tokens_per_request):
    """``litellm_params`` for a daily budget that runs out after ``rpd`` requests of ``tokens_per_request``.

    LiteLLM has no request quota; it blocks a deployment once its spend reaches ``max_budget``. With
    every token priced ``TOKEN_PRICE_USD``, spend counts tokens, and a budget of ``rpd - 0.5`` requests'
    worth lets exactly ``rpd`` such requests through (spend is checked before each request) without
    depending on float rounding.
    """
    if isinstance(rpd, bool) or not isinstance(rpd, int) or rpd < 1:
        raise RateLimitSettingsError("rpd must be a whole number of requests >= 1, not %r" % (rpd,))
    if isinstance(tokens_per_request, bool) or not isinstance(tokens_per_request, int) or tokens_per_request < 1:
        raise RateLimitSettingsError("litellm_daily_budget_tokens_per_request must be a whole number >= 1, not %r"
                                     % (tokens_per_request,))
    return {
        "max_budget": round((rpd - 0.5) * tokens_per_request * TOKEN_PRICE_USD, 12),
        "budget_duration": BUDGET_DURATION,
        "input_cost_per_token": TOKEN_PRICE_USD,
        "output_cost_per_token": TOKEN_PRICE_USD,
    }


def rate_limited_models(models, mode, daily_budget_tokens=0):
    """Copies of the ``models`` entries with what makes LiteLLM enforce their limits.

    In the ``throttle`` and ``reject`` modes (usage-based-routing-v2) ``litellm_params.rpm`` becomes
    ``rpm + RPM_COMPENSATION`` so that LiteLLM admits the given number. With ``daily_budget_tokens``
    (tokens a request is assumed to use), an entry with ``model_info.free_tier_rpd`` gets the
    ``daily_budget_params``, unless it sets any of ``BUDGET_PARAMS`` itself.
    """
    mode = _check_mode(mode)
    entries = []
    for entry in models:
        entry = copy.deepcopy(entry)
        params = entry.get("litellm_params") if isinstance(entry, dict) else None
        if isinstance(params, dict):
            rpm = params.get("rpm")
            if mode != "off" and isinstance(rpm, int) and not isinstance(rpm, bool):
                params["rpm"] = rpm + RPM_COMPENSATION
            rpd = (entry.get("model_info") or {}).get("free_tier_rpd")
            if daily_budget_tokens and rpd is not None and not set(BUDGET_PARAMS) & set(params):
                try:
                    params.update(daily_budget_params(rpd, daily_budget_tokens))
                except RateLimitSettingsError as err:
                    raise RateLimitSettingsError("model %r: %s" % (entry.get("model_name"), err))
        entries.append(entry)
    return entries


def deep_merge(base, override):
    """``base`` with ``override`` merged in: mappings merged key by key, any other value replaced."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def mode_router_settings(mode, model_names, retries, retry_policy=None):
    """The ``router_settings`` a mode needs for the parallel ``model_names``; ``{}`` for ``off``.

    Both modes route with usage-based-routing-v2. Each parallel model group gets a
    ``model_group_retry_policy`` whose ``RateLimitErrorRetries`` is ``retries`` (throttle: hold and
    try again after LiteLLM's 60-s retry-after) or 0 (reject), so the operator's ``num_retries`` and
    the fallback chain's models keep their behaviour. A group policy replaces the global
    ``retry_policy`` for that group in LiteLLM, so ``retry_policy`` (the operator's) is its base.
    """
    mode = _check_mode(mode)
    if mode == "off":
        return {}
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < (1 if mode == "throttle" else 0):
        raise RateLimitSettingsError("litellm_rate_limit_retries must be a whole number >= 1 in throttle mode, "
                                     "not %r" % (retries,))
    group_policy = dict(retry_policy or {}, RateLimitErrorRetries=retries if mode == "throttle" else 0)
    return {
        "routing_strategy": ROUTING_STRATEGY,
        "model_group_retry_policy": {name: dict(group_policy) for name in model_names},
    }


def rate_limit_router_settings(models, mode, user_settings=None, retries=2):
    """What the role passes as ``router_settings``: the mode's settings, then the operator's on top.

    The operator's ``litellm_router_settings`` win key by key (``rate_limit_warnings`` says when that
    defeats the mode). ``models`` are the parallel model entries.
    """
    user_settings = user_settings or {}
    if not isinstance(user_settings, Mapping):
        raise RateLimitSettingsError("litellm_router_settings must be a mapping, not %r" % (user_settings,))
    names = [entry["model_name"] for entry in models if isinstance(entry, Mapping) and "model_name" in entry]
    retry_policy = user_settings.get("retry_policy")
    settings = mode_router_settings(mode, names, retries,
                                    retry_policy if isinstance(retry_policy, Mapping) else None)
    return deep_merge(settings, user_settings)


def rate_limit_warnings(models, mode, user_settings=None):
    """Where the operator's ``litellm_router_settings`` defeat the chosen mode, one message each."""
    mode = _check_mode(mode)
    user_settings = user_settings or {}
    if mode == "off" or not isinstance(user_settings, Mapping):
        return []
    warnings = []
    strategy = user_settings.get("routing_strategy")
    if strategy is not None and strategy != ROUTING_STRATEGY:
        warnings.append(
            "litellm_router_settings.routing_strategy %r wins over litellm_rate_limit_mode %s, which needs %s: "
            "LiteLLM will not hold back or reject requests over rpm/tpm (the default simple-shuffle ignores "
            "them)" % (strategy, mode, ROUTING_STRATEGY))
    group_policies = user_settings.get("model_group_retry_policy")
    for entry in models:
        name = entry.get("model_name") if isinstance(entry, Mapping) else None
        policy = group_policies.get(name) if isinstance(group_policies, Mapping) else None
        retries = policy.get("RateLimitErrorRetries") if isinstance(policy, Mapping) else None
        if mode == "throttle" and retries == 0:
            warnings.append("litellm_router_settings.model_group_retry_policy[%r].RateLimitErrorRetries is 0: "
                            "requests over its limits are rejected with 429, not held (throttle mode)" % name)
        elif mode == "reject" and retries:
            warnings.append("litellm_router_settings.model_group_retry_policy[%r].RateLimitErrorRetries is %s: "
                            "requests over its limits are held and retried, not rejected (reject mode)"
                            % (name, retries))
    return warnings


def _num_workers(container):
    """Worker processes of a LiteLLM container: ``--num_workers`` in command/args, else NUM_WORKERS, else 1."""
    words = [str(word) for word in (container.get("command") or []) + (container.get("args") or [])]
    for index, word in enumerate(words):
        match = _NUM_WORKERS_ARG.match(word)
        if match:
            value = match.group(1) or (words[index + 1] if index + 1 < len(words) else "")
            return int(value) if value.isdigit() else 1
    for item in container.get("env") or []:
        if isinstance(item, Mapping) and item.get("name") == "NUM_WORKERS" and str(item.get("value", "")).isdigit():
            return int(item["value"])
    return 1


def _config_has_redis(config):
    router = config.get("router_settings") if isinstance(config.get("router_settings"), Mapping) else {}
    if router.get("redis_host") or router.get("redis_url"):
        return True
    litellm_settings = config.get("litellm_settings") if isinstance(config.get("litellm_settings"), Mapping) else {}
    cache_params = litellm_settings.get("cache_params")
    if litellm_settings.get("cache") and isinstance(cache_params, Mapping) and \
            str(cache_params.get("type", "")).startswith("redis"):
        return True
    general = config.get("general_settings") if isinstance(config.get("general_settings"), Mapping) else {}
    return bool(general.get("coordination_redis"))


def _counts_limits(config):
    """Whether the config has anything LiteLLM counts per process: rpm/tpm under usage-based-routing-v2,
    or a budget."""
    router = config.get("router_settings") if isinstance(config.get("router_settings"), Mapping) else {}
    if router.get("provider_budget_config"):
        return True
    for entry in config.get("model_list") or []:
        params = entry.get("litellm_params") if isinstance(entry, Mapping) else None
        if not isinstance(params, Mapping):
            continue
        if params.get("max_budget") is not None:
            return True
        if router.get("routing_strategy") == ROUTING_STRATEGY and (params.get("rpm") or params.get("tpm")):
            return True
    return False


def shared_counter_warnings(deployment, config, env_names=()):
    """Warnings when LiteLLM's rate-limit and budget counters are split over several processes.

    ``deployment`` is the LiteLLM Deployment as the API returns it, ``config`` the parsed config.yaml,
    ``env_names`` the names of environment variables known to reach the pod (besides the
    Deployment's own ``env``). Without Redis each process counts alone: N replicas times W workers
    admit up to N*W times every limit.
    """
    if not isinstance(config, Mapping) or not _counts_limits(config):
        return []
    spec = (deployment or {}).get("spec") or {}
    replicas = spec.get("replicas", 1)
    replicas = replicas if isinstance(replicas, int) else 1
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    workers = max([_num_workers(container) for container in containers] or [1])
    processes = replicas * workers
    if processes <= 1:
        return []
    names = set(env_names)
    for container in containers:
        names.update(item.get("name") for item in container.get("env") or [] if isinstance(item, Mapping))
    if _config_has_redis(config) or names.intersection(REDIS_ENV_VARS):
        return []
    return ["LiteLLM runs as %d processes (%d replicas x %d workers) without Redis: each counts rpm, tpm and "
            "daily budgets on its own, so together they admit up to %d times every limit. Set "
            "router_settings.redis_host/redis_port (litellm_router_settings, password as "
            "os.environ/REDIS_PASSWORD) or REDIS_HOST in litellm_api_keys, or run one replica with one worker."
            % (processes, replicas, workers, processes)]
