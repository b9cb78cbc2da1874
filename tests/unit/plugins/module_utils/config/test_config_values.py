# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/config/values.py and where they apply: the values inside a model
entry (litellm_parallel_models) get the checks and the messages litellm_limits gets."""

from __future__ import annotations

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils.config import checks as config_checks
from ansible_collections.homelab.litellm.plugins.module_utils.config import document, presets, values
from ansible_collections.homelab.litellm.plugins.module_utils.config import plan as config_plan
from ansible_collections.homelab.litellm.tests.unit.plugins.module_utils.config.config_cases import STORY


def entry(name="groq/extra", **params):
    litellm_params = {"model": "groq/openai/gpt-oss-20b", "api_key": "os.environ/GROQ_API_KEY"}
    litellm_params.update(params)
    return {"model_name": name, "litellm_params": litellm_params}


@pytest.mark.parametrize("value", [0, -1, "abc", "1e9", 1e9, 2.5, True, "30"])
@pytest.mark.parametrize("key", ["rpm", "tpm", "itpm", "otpm"])
def test_a_bad_limit_in_a_parallel_model_is_refused_as_in_litellm_limits(key, value):
    errors, _warnings = config_checks.check_models([entry(**{key: value})])
    expected = "model 'groq/extra': limit %s must be a whole number >= 1 (or null to drop it), not %r" % (key, value)
    assert expected in errors
    # The same value in litellm_limits gets the same words.
    with pytest.raises(presets.PresetError) as err:
        presets.preset_models(
            {"groq": {"prefix": "groq/", "env_var": "G", "models": [{"id": "x"}]}},
            ["groq"],
            limits={"groq": {key: value}},
        )
    assert "limit %s must be a whole number >= 1 (or null to drop it), not %r" % (key, value) in str(err.value)


@pytest.mark.parametrize("value", [1, 30, 1000000, None])
def test_good_limits_pass(value):
    assert config_checks.check_models([entry(rpm=value, tpm=value)]) == ([], [])


@pytest.mark.parametrize(
    "name, shown",
    [
        ("groq/\U0001f680-fast", "U+1F680"),
        ("caf\u00e9", "U+00E9"),
        ("bad\r\nX-Injected: 1", "U+000D"),
        ("tab\there", "U+0009"),
    ],
)
def test_a_model_name_litellm_cannot_put_into_a_header_is_refused(name, shown):
    errors, _warnings = config_checks.check_models([entry(name=name)])
    assert any("model_name contains" in e and shown in e and "x-litellm-model-group" in e for e in errors), errors
    errors, _warnings = config_checks.check_models([entry(model="groq/\U0001f600")])
    assert any("litellm_params.model contains" in e and "U+1F600" in e for e in errors), errors


@pytest.mark.parametrize("name", ["groq/openai/gpt-oss-120b", "ollama/qwen2.5:7b", "vertex_ai/claude@2024", "My Model"])
def test_ordinary_model_names_pass(name):
    assert config_checks.check_models([entry(name=name)]) == ([], [])


def test_a_model_name_with_spaces_around_is_refused():
    errors, _warnings = config_checks.check_models([entry(name=" groq/extra")])
    assert any("starts or ends with a space" in e for e in errors), errors


@pytest.mark.parametrize(
    "api_base, fragment",
    [
        ("groq.example", "not an http(s) URL with a host"),
        ("ftp://gw.example/v1", "not an http(s) URL with a host"),
        ("http://", "not an http(s) URL with a host"),
        ("http://gw.example:99999/v1", "is not a valid URL"),
        ("http://gw.example/v 1", "contains a space"),
        ("http://gw.\U0001f600/v1", "U+1F600"),
        ("https://user:hunter2@gw.example/v1", "holds credentials"),
        (42, "is a int, not a URL"),
    ],
)
def test_a_bad_api_base_is_refused(api_base, fragment):
    errors, _warnings = config_checks.check_models([entry(api_base=api_base)])
    assert any(fragment in e for e in errors), errors
    assert not any("hunter2" in e for e in errors)


@pytest.mark.parametrize("api_base", ["http://127.0.0.1:8080/v1", "https://api.groq.com/openai/v1", "os.environ/GW"])
def test_good_api_bases_pass(api_base):
    assert values.api_base_error("x", api_base) is None
    assert config_checks.check_models([entry(api_base=api_base)]) == ([], [])


def test_a_bad_value_stops_the_plan_before_anything_is_planned():
    with pytest.raises(document.ConfigError) as err:
        config_plan.plan_config(STORY, [entry(rpm=0), entry(name="groq/\U0001f600")])
    assert len(err.value.errors) == 2, err.value.errors


def test_provider_api_base_is_checked_too():
    with pytest.raises(presets.PresetError, match="litellm_provider_api_base.groq: api_base 'gw' is not an http"):
        presets.preset_models(
            {"groq": {"prefix": "groq/", "env_var": "G", "models": [{"id": "x"}]}}, ["groq"], api_base={"groq": "gw"}
        )
