# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/config/schema.py: what LiteLLM 1.108.7 accepts, and ownership."""

from __future__ import annotations

import re

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils.config import schema as config_schema
from ansible_collections.homelab.litellm.plugins.module_utils.config.envvars import is_env_var_name


def test_model_id_is_stable_and_distinct():
    first = config_schema.model_id_for("groq/llama-3.3-70b-versatile")
    assert first == config_schema.model_id_for("groq/llama-3.3-70b-versatile") == "homelab-litellm-0cbd33a8b1e2"
    assert re.fullmatch(r"homelab-litellm-[0-9a-f]{12}", first)
    assert first != config_schema.model_id_for("groq/mixtral-8x7b-32768")


@pytest.mark.parametrize(
    "entry, managed",
    [
        ({"model_name": "a", "model_info": {"managed_by": "homelab.litellm"}}, True),
        ({"model_name": "a", "model_info": {"managed_by": "someone-else"}}, False),
        ({"model_name": "a", "model_info": {"id": config_schema.model_id_for("a")}}, False),
        ({"model_name": "a"}, False),
        ({"model_name": "a", "model_info": None}, False),
        ({"model_name": "a", "model_info": "homelab.litellm"}, False),
        ("a", False),
    ],
)
def test_is_managed(entry, managed):
    assert config_schema.is_managed(entry) is managed


@pytest.mark.parametrize(
    "key",
    [
        "api_base",
        "api_key",
        "rpm",
        "tpm",
        "timeout",
        "temperature",
        "max_tokens",
        "extra_headers",
        "input_cost_per_token",
        "max_budget",
        "budget_duration",
        "tags",
        "weight",
        "order",
        "model",
        "vertex_credentials",
        "stream_timeout",
    ],
)
def test_allowed_params_hold_litellm_keys(key):
    assert key in config_schema.ALLOWED_LITELLM_PARAMS


@pytest.mark.parametrize(
    "key", ["fallbacks", "context_window_fallback_dict", "rpm_limit", "api_bse", "messages", "self", "model_fallbacks"]
)
def test_allowed_params_exclude_unknown_and_fallback_keys(key):
    assert key not in config_schema.ALLOWED_LITELLM_PARAMS


def test_fallback_params_are_never_allowed():
    assert not config_schema.DEPLOYMENT_FALLBACK_PARAMS & config_schema.ALLOWED_LITELLM_PARAMS


@pytest.mark.parametrize("param", sorted(config_schema.CREDENTIAL_PARAMS))
def test_credential_params_are_litellm_params(param):
    assert param in config_schema.ALLOWED_LITELLM_PARAMS


@pytest.mark.parametrize("slip, meant", sorted(config_schema.KNOWN_MISSPELLINGS.items()))
def test_known_misspellings_point_at_allowed_params(slip, meant):
    """A slip is only looked up for keys LiteLLM does not know: one that it knows would never get its hint."""
    assert slip not in config_schema.ALLOWED_LITELLM_PARAMS
    assert meant in config_schema.ALLOWED_LITELLM_PARAMS


@pytest.mark.parametrize("provider, variable", sorted(config_schema.PROVIDER_KEY_ENV.items()))
def test_provider_key_variables_are_valid_names(provider, variable):
    assert is_env_var_name(variable) and variable.endswith("_API_KEY")


@pytest.mark.parametrize(
    "key",
    [
        "fallbacks",
        "num_retries",
        "routing_strategy",
        "model_group_retry_policy",
        "optional_pre_call_checks",
        "redis_password",
        "enable_pre_call_checks",
    ],
)
def test_router_settings_keys(key):
    assert key in config_schema.ROUTER_SETTINGS_KEYS


def test_router_credential_settings_are_router_settings():
    assert config_schema.ROUTER_CREDENTIAL_SETTINGS <= config_schema.ROUTER_SETTINGS_KEYS


def test_chain_settings_are_router_settings():
    assert set(config_schema.CHAIN_SETTINGS) <= config_schema.ROUTER_SETTINGS_KEYS
