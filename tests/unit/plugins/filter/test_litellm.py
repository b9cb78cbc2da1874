# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filter plugin: the role's decisions from module_utils, their errors as AnsibleFilterError."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.homelab.litellm.plugins.filter.litellm import FilterModule

FILTERS = FilterModule().filters()


def test_the_filters_the_role_uses():
    assert sorted(FILTERS) == [
        "preset_models",
        "rate_limit_router_settings",
        "rate_limit_warnings",
        "redis_router_settings",
        "unknown_role_variables",
    ]


def test_a_preset_error_becomes_a_filter_error_with_its_message():
    with pytest.raises(AnsibleFilterError) as caught:
        FILTERS["preset_models"]({"mistral": {}}, ["groq"])
    assert str(caught.value).startswith("litellm_providers: no preset for groq (known: mistral)")


def test_a_rate_limit_error_becomes_a_filter_error():
    with pytest.raises(AnsibleFilterError, match="litellm_rate_limit_mode must be one of .*, not 'sometimes'"):
        FILTERS["rate_limit_router_settings"]([], "sometimes")


def test_wrapped_filters_pass_their_results_through():
    presets = {"groq": {"prefix": "groq/", "env_var": "GROQ_API_KEY", "models": [{"id": "openai/gpt-oss-20b"}]}}
    assert [entry["model_name"] for entry in FILTERS["preset_models"](presets, ["groq"])] == ["groq/openai/gpt-oss-20b"]


def test_unknown_role_variables_reads_the_names_from_the_parsed_argument_spec():
    specs = {"argument_specs": {"main": {"options": {"litellm_parallel_models": {}, "litellm_providers": {}}}}}
    names = ["litellm_paralel_models", "litellm_providers", "litellm_rbac_kubeconfig_out"]
    messages = FILTERS["unknown_role_variables"](names, specs, ["litellm_rbac_kubeconfig_out"])
    assert messages == [
        "litellm_paralel_models is not a variable of the homelab.litellm role and is ignored; did you mean "
        "litellm_parallel_models?"
    ]
