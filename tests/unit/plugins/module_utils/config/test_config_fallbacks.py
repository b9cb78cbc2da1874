# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/config/fallbacks.py: every way a parallel model would join a fallback."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils.config.document import parse_config
from ansible_collections.homelab.litellm.plugins.module_utils.config.fallbacks import find_fallback_leaks

STORY = (Path(__file__).parent.parent / "fixtures" / "story-config.yaml").read_text()
GROQ = "groq/llama-3.3-70b-versatile"


def leaks_for(yaml_text, names=(GROQ,)):
    return find_fallback_leaks(parse_config(yaml_text), names)


def test_the_story_chain_has_no_leak():
    assert leaks_for(STORY, [GROQ, "mistral/mistral-small-latest"]) == []


def test_no_names_no_leaks():
    assert leaks_for("router_settings:\n  fallbacks: [{'*': [a]}]\n", []) == []


@pytest.mark.parametrize(
    "yaml_text, fragments",
    [
        (
            'router_settings:\n  fallbacks: [{"groq/llama-3.3-70b-versatile": ["openai-gpt4o"]}]\n',
            [
                "router_settings.fallbacks[0]",
                "parallel model 'groq/llama-3.3-70b-versatile' is a fallback key",
                "401 too",
                "remove this entry",
            ],
        ),
        (
            'router_settings:\n  fallbacks: [{"vllm-qwen": ["groq/llama-3.3-70b-versatile"]}]\n',
            [
                "router_settings.fallbacks[0]",
                "'groq/llama-3.3-70b-versatile' is a fallback target of 'vllm-qwen'",
                "remove it from the targets",
            ],
        ),
        (
            'router_settings:\n  fallbacks: [{"vllm-qwen": [{"model": "groq/llama-3.3-70b-versatile"}]}]\n',
            ["is a fallback target of 'vllm-qwen'"],
        ),
        (
            'router_settings:\n  fallbacks: [{"vllm-qwen": "groq/llama-3.3-70b-versatile"}]\n',
            ["is a fallback target of 'vllm-qwen'"],
        ),
        (
            'router_settings:\n  fallbacks: [{"*": ["openai-gpt4o"]}]\n',
            [
                "router_settings.fallbacks[0]",
                "the key '*' makes every model fall back",
                "groq/llama-3.3-70b-versatile",
                "replace '*'",
            ],
        ),
        (
            'router_settings:\n  fallbacks: [{"llama-3.3-70b-versatile": ["openai-gpt4o"]}]\n',
            [
                "key 'llama-3.3-70b-versatile' matches parallel model 'groq/llama-3.3-70b-versatile'",
                "strips the provider prefix",
                "rename",
            ],
        ),
        (
            'router_settings:\n  fallbacks: ["openai-gpt4o"]\n',
            [
                "router_settings.fallbacks[0]",
                "bare entry 'openai-gpt4o' is a fallback for every model",
                "write it as a mapping",
            ],
        ),
        (
            'litellm_settings:\n  fallbacks: [{"groq/llama-3.3-70b-versatile": ["x"]}]\n',
            ["litellm_settings.fallbacks[0]", "is a fallback key"],
        ),
        (
            'router_settings:\n  context_window_fallbacks: [{"groq/llama-3.3-70b-versatile": ["x"]}]\n',
            ["router_settings.context_window_fallbacks[0]", "is a fallback key"],
        ),
        (
            'litellm_settings:\n  content_policy_fallbacks: [{"x": ["groq/llama-3.3-70b-versatile"]}]\n',
            ["litellm_settings.content_policy_fallbacks[0]", "fallback target of 'x'"],
        ),
        (
            'router_settings:\n  default_fallbacks: ["openai-gpt4o"]\n',
            [
                "router_settings.default_fallbacks: applies to every model",
                "groq/llama-3.3-70b-versatile",
                "replace it by fallbacks entries",
            ],
        ),
        (
            'litellm_settings:\n  default_fallbacks: ["groq/llama-3.3-70b-versatile"]\n',
            ["litellm_settings.default_fallbacks: parallel model 'groq/llama-3.3-70b-versatile' is a fallback target"],
        ),
        (
            'litellm_settings:\n  model_fallbacks: ["openai-gpt4o"]\n',
            ["litellm_settings.model_fallbacks: applies to every model", "router_settings.fallbacks entries"],
        ),
        (
            "model_list:\n  - model_name: groq/llama-3.3-70b-versatile\n    litellm_params:\n      model: groq/x\n",
            [
                "model_list: model_name 'groq/llama-3.3-70b-versatile' is also used by an entry homelab.litellm does "
                "not own",
                "load-balance",
                "another model_name",
            ],
        ),
        (
            "model_list:\n  - model_name: groq/llama-3.3-70b-versatile\n    litellm_params:\n      model: groq/x\n"
            "      fallbacks: [openai-gpt4o]\n    model_info:\n      managed_by: homelab.litellm\n",
            ["parallel model 'groq/llama-3.3-70b-versatile' has litellm_params.fallbacks", "remove it"],
        ),
    ],
)
def test_fallback_leaks(yaml_text, fragments):
    text = "\n".join(leaks_for(yaml_text))
    for fragment in fragments:
        assert fragment in text, "%r not in %r" % (fragment, text)


def test_prefixed_key_matches_unprefixed_parallel_name():
    leaks = leaks_for('router_settings:\n  fallbacks: [{"openai/gpt-4o-mini": ["x"]}]\n', ["gpt-4o-mini"])
    assert len(leaks) == 1
    assert "key 'openai/gpt-4o-mini' matches parallel model 'gpt-4o-mini'" in leaks[0]
    assert "adds the provider prefix" in leaks[0]


def test_every_leak_of_one_setting_is_listed():
    text = (
        'router_settings:\n  fallbacks: [{"groq/llama-3.3-70b-versatile": ["x"]}, '
        '{"y": ["groq/llama-3.3-70b-versatile"]}, "z"]\n'
    )
    leaks = leaks_for(text)
    assert [leak.split(":", 1)[0] for leak in leaks] == [
        "router_settings.fallbacks[0]",
        "router_settings.fallbacks[1]",
        "router_settings.fallbacks[2]",
    ]


def test_chain_without_parallel_models_is_no_leak():
    yaml_text = (
        'router_settings:\n  fallbacks: [{"vllm-qwen": ["ollama-qwen"]}]\n'
        'litellm_settings:\n  context_window_fallbacks: [{"ollama-qwen": ["openai-gpt4o"]}]\n'
        "  default_fallbacks: []\n"
    )
    assert leaks_for(yaml_text) == []


def test_a_managed_model_group_is_no_leak():
    entry = (
        "  - model_name: fast\n    litellm_params:\n      model: groq/x\n    model_info:\n"
        "      managed_by: homelab.litellm\n      deployment: %s\n"
    )
    assert leaks_for("model_list:\n" + entry % "a" + entry % "b", ["fast"]) == []


@pytest.mark.parametrize(
    "yaml_text, expected",
    [
        ("router_settings:\n  fallbacks: [1, null, {}]\n", 0),
        ("router_settings: [a]\nlitellm_settings: null\n", 0),
        ('router_settings:\n  fallbacks: "not a list"\n', 0),
    ],
)
def test_fallback_leaks_in_odd_shapes(yaml_text, expected):
    assert len(leaks_for(yaml_text)) == expected
