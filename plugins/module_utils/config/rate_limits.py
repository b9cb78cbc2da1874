# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: make LiteLLM 1.108.7 enforce the free-tier limits itself.

What LiteLLM does (read in its source, measured with the real proxy; litellm/router_utils/
pre_call_checks/model_rate_limit_check.py, router.py):

* ``router_settings.optional_pre_call_checks: [enforce_model_rate_limits]`` checks each deployment's
  ``rpm``/``tpm`` (and ``itpm``/``otpm``) from its ``litellm_params`` before a call, under any
  routing strategy, counting per deployment (``model_info.id``) and fixed UTC minute. Over a limit
  it raises a 429 ``RateLimitError`` with ``retry-after: 60`` and ``num_retries=0``: an immediate
  429 to the client (``reject``).
* A ``model_group_retry_policy`` entry ``{RateLimitErrorRetries: N}`` for the model makes the router
  retry it anyway: it sleeps the retry-after (60-60.75 s), which lands in the next minute, up to N
  times (``throttle``). With several deployments under one name the retry goes to a sibling at once.
  A group policy replaces the global ``retry_policy`` for that group only, so the fallback chain's
  models keep theirs.
* rpm is exact per UTC minute; tpm is counted after each answer (one answer can overshoot, requests
  in flight do not see each other); ``otpm`` reserves a request's ``max_tokens`` before the call, or
  the model's whole output limit when the request has none.
* Counters live in each LiteLLM process unless the router has Redis (``redis_host``/``redis_port``/
  ``redis_password``, or ``redis_url``): then every process counts in Redis, exactly per minute.
* There is no per-model requests-per-day limit. ``rpd`` stays in the presets as documentation
  (``model_info.free_tier_rpd``); the provider enforces its own daily quota and its 429 reaches
  the client.

``usage-based-routing-v2``, which homelab.litellm 0.1.0 used, is not written any more: LiteLLM's
docs advise against it in production, it changes routing for every model, and together with the
pre-call check it admits fewer requests than the limit (``plan`` migrates it away).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping

MODES = ("throttle", "reject", "off")
"""``litellm_rate_limit_mode`` values: hold over-limit requests, reject them with 429, or write nothing."""

PRE_CALL_CHECK = "enforce_model_rate_limits"
LIMIT_KEYS = ("rpm", "tpm", "itpm", "otpm")
"""The per-deployment limits the pre-call check enforces, in ``litellm_params``."""

V2_STRATEGY = "usage-based-routing-v2"

REDIS_ENV_VARS = ("REDIS_HOST", "REDIS_URL", "REDIS_CLUSTER_NODES", "REDIS_SENTINEL_NODES")
"""Environment variables from which the LiteLLM proxy builds the Redis its router counters share
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


def deep_merge(base, override):
    """``base`` with ``override`` merged in: mappings merged key by key, any other value replaced."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def limited_models(models):
    """Names of the entries with any of ``LIMIT_KEYS`` in their ``litellm_params``, in order, once."""
    names = []
    for entry in models:
        params = entry.get("litellm_params") if isinstance(entry, Mapping) else None
        if isinstance(params, Mapping) and any(params.get(key) is not None for key in LIMIT_KEYS):
            names.append(entry["model_name"])
    return list(dict.fromkeys(names))


def redis_settings(host=None, port=None, password_env=None, url=None):
    """The router settings that make every LiteLLM process count in one Redis ({} when none given).

    The password is never written: ``redis_password: os.environ/<password_env>``, its value goes
    into the Secret like a provider key.
    """
    if url and host:
        raise RateLimitSettingsError("give litellm_redis_url or litellm_redis_host, not both")
    if url:
        if not str(url).startswith("os.environ/"):
            raise RateLimitSettingsError(
                "litellm_redis_url may hold a password: give it as os.environ/NAME and put "
                "the URL into litellm_api_keys under NAME"
            )
        return {"redis_url": url}
    if not host:
        if password_env:
            raise RateLimitSettingsError("litellm_redis_password_env needs litellm_redis_host (or litellm_redis_url)")
        return {}
    settings = {"redis_host": host, "redis_port": int(port or 6379)}
    if password_env:
        settings["redis_password"] = "os.environ/" + password_env
    return settings


def rate_limit_router_settings(models, mode, user_settings=None, retries=2, redis=None):
    """What the role passes as ``router_settings``: the mode's settings, then Redis, then the operator's.

    ``throttle``/``reject`` add ``enforce_model_rate_limits`` to ``optional_pre_call_checks`` (merged
    item by item into the operator's list by the config merge) and a ``model_group_retry_policy``
    per limited parallel model (``RateLimitErrorRetries``: ``retries`` or 0), based on the
    operator's ``retry_policy``. ``off`` adds nothing. The operator's ``litellm_router_settings``
    win key by key (``rate_limit_warnings`` says when that defeats the mode).
    """
    mode = _check_mode(mode)
    user_settings = user_settings or {}
    if not isinstance(user_settings, Mapping):
        raise RateLimitSettingsError("litellm_router_settings must be a mapping, not %r" % (user_settings,))
    settings = {}
    if mode != "off":
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < (1 if mode == "throttle" else 0):
            raise RateLimitSettingsError(
                "litellm_rate_limit_retries must be a whole number >= 1 in throttle mode, not %r" % (retries,)
            )
        names = limited_models(models)
        if names:
            base = user_settings.get("retry_policy")
            policy = dict(
                base if isinstance(base, Mapping) else {}, RateLimitErrorRetries=retries if mode == "throttle" else 0
            )
            settings = {
                "optional_pre_call_checks": [PRE_CALL_CHECK],
                "model_group_retry_policy": {name: dict(policy) for name in names},
            }
    settings = deep_merge(settings, redis or {})
    return deep_merge(settings, user_settings)


def rate_limit_warnings(models, mode, user_settings=None):
    """Where the operator's ``litellm_router_settings`` or a model's limits defeat the mode, one message each."""
    mode = _check_mode(mode)
    user_settings = user_settings if isinstance(user_settings, Mapping) else {}
    warnings = []
    if mode != "off":
        if user_settings.get("routing_strategy") == V2_STRATEGY:
            warnings.append(
                "litellm_router_settings.routing_strategy usage-based-routing-v2 counts the limits a second "
                "time next to enforce_model_rate_limits: LiteLLM then admits fewer requests than rpm "
                "(measured: rpm 3 admits 1 a minute); leave routing_strategy out"
            )
        checks = user_settings.get("optional_pre_call_checks")
        if isinstance(checks, list) and PRE_CALL_CHECK not in checks and limited_models(models):
            warnings.append(
                "litellm_router_settings.optional_pre_call_checks replaces the list without "
                "enforce_model_rate_limits: LiteLLM will not enforce rpm/tpm; add it to the list"
            )
    group_policies = user_settings.get("model_group_retry_policy")
    for entry in models:
        name = entry.get("model_name") if isinstance(entry, Mapping) else None
        params = entry.get("litellm_params") if isinstance(entry, Mapping) else None
        if isinstance(params, Mapping) and params.get("otpm") is not None and mode != "off":
            warnings.append(
                "model %r has otpm: LiteLLM reserves each request's max_tokens before the call, and the "
                "model's whole output limit when a request sets none, so requests without max_tokens "
                "may all be refused; prefer tpm" % name
            )
        policy = group_policies.get(name) if isinstance(group_policies, Mapping) else None
        retries = policy.get("RateLimitErrorRetries") if isinstance(policy, Mapping) else None
        if mode == "throttle" and retries == 0:
            warnings.append(
                "litellm_router_settings.model_group_retry_policy[%r].RateLimitErrorRetries is 0: "
                "requests over its limits are rejected with 429, not held (throttle mode)" % name
            )
        elif mode == "reject" and retries:
            warnings.append(
                "litellm_router_settings.model_group_retry_policy[%r].RateLimitErrorRetries is %s: "
                "requests over its limits are held and retried, not rejected (reject mode)" % (name, retries)
            )
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
    if router.get("redis_url") or (router.get("redis_host") and router.get("redis_port")):
        return True
    litellm_settings = config.get("litellm_settings") if isinstance(config.get("litellm_settings"), Mapping) else {}
    cache_params = litellm_settings.get("cache_params")
    if (
        litellm_settings.get("cache")
        and isinstance(cache_params, Mapping)
        and str(cache_params.get("type", "")).startswith("redis")
    ):
        return True
    general = config.get("general_settings") if isinstance(config.get("general_settings"), Mapping) else {}
    return bool(general.get("coordination_redis"))


def _counts_limits(config):
    """Whether LiteLLM counts anything per process: rpm/tpm under the pre-call check (or v2), or a budget."""
    router = config.get("router_settings") if isinstance(config.get("router_settings"), Mapping) else {}
    if router.get("provider_budget_config"):
        return True
    enforced = (
        PRE_CALL_CHECK in (router.get("optional_pre_call_checks") or [])
        or router.get("routing_strategy") == V2_STRATEGY
    )
    for entry in config.get("model_list") or []:
        params = entry.get("litellm_params") if isinstance(entry, Mapping) else None
        if not isinstance(params, Mapping):
            continue
        if params.get("max_budget") is not None:
            return True
        if enforced and any(params.get(key) for key in LIMIT_KEYS):
            return True
    return False


def shared_counter_warnings(deployment, config, env_names=(), max_replicas=None):
    """Warnings when LiteLLM's rate-limit counters are split over several processes.

    ``deployment`` is the LiteLLM Deployment as the API returns it, ``config`` the parsed config.yaml,
    ``env_names`` the environment variables known to reach the pod besides the Deployment's own ``env``
    (from envFrom Secrets, say), ``max_replicas`` the maxReplicas of the HPA that scales it, if any.
    Without Redis each process counts alone: N replicas times W workers admit up to N*W times every
    limit, N being what the HPA may scale to when there is one.
    """
    if not isinstance(config, Mapping) or not _counts_limits(config):
        return []
    spec = (deployment or {}).get("spec") or {}
    replicas = spec.get("replicas", 1)
    replicas = replicas if isinstance(replicas, int) else 1
    scaled = isinstance(max_replicas, int) and max_replicas > replicas
    replicas = max_replicas if scaled else replicas
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    workers = max([_num_workers(container) for container in containers] or [1])
    processes = replicas * workers
    names = set(env_names)
    for container in containers:
        names.update(item.get("name") for item in container.get("env") or [] if isinstance(item, Mapping))
    if processes <= 1 or _config_has_redis(config) or names & set(REDIS_ENV_VARS):
        return []
    if scaled:
        return [
            "LiteLLM may run as up to %d processes (its HorizontalPodAutoscaler's maxReplicas %d x %d workers) "
            "without Redis: each counts rpm and tpm on its own, so together they admit up to %d times every limit. "
            "Set litellm_redis_host (and litellm_redis_password_env), or cap the HPA at one replica with one worker."
            % (processes, replicas, workers, processes)
        ]
    return [
        "LiteLLM runs as %d processes (%d replicas x %d workers) without Redis: each counts rpm and tpm on its "
        "own, so together they admit up to %d times every limit. Set litellm_redis_host (and "
        "litellm_redis_password_env), or run one replica with one worker." % (processes, replicas, workers, processes)
    ]
