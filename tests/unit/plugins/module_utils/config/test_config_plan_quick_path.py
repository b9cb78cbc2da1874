# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/config/plan.py's quick path: deciding on plain data, appending by
splicing, never writing anything unlike the round trip.

(test_config_plan.py holds the rest of plan_config's tests.)
"""

from __future__ import annotations

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils.config import plan as config_plan
from ansible_collections.homelab.litellm.plugins.module_utils.config.document import parse_config
from ansible_collections.homelab.litellm.tests.unit.plugins.module_utils.config.config_cases import FIXTURES, STORY


def _round_trip_append(text, models):
    """What the round trip writes for appended models: the reference the splice must equal."""
    from ansible_collections.homelab.litellm.plugins.module_utils.config.document import guess_yaml_style, render_config

    doc = parse_config(text)
    config_plan._append_entries(doc, [config_plan._desired_entry(model) for model in models])
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
    monkeypatch.setattr(config_plan, "parse_config", lambda _text: pytest.fail("the round trip was used"))
    plan = config_plan.plan_config(text, QUICK_NEW)
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
    real = config_plan.parse_config
    monkeypatch.setattr(config_plan, "parse_config", lambda text: used.append(1) or real(text))
    assert config_plan.plan_config(text, QUICK_NEW[:1]).after == expected
    assert bool(used) is not quick


def test_nothing_to_do_never_touches_the_round_trip(monkeypatch):
    text = config_plan.plan_config(STORY, QUICK_NEW).after
    monkeypatch.setattr(config_plan, "parse_config", lambda _text: pytest.fail("the round trip was used"))
    plan = config_plan.plan_config(text, QUICK_NEW)
    assert not plan.changed and plan.after == text and plan.unchanged == sorted(m["model_name"] for m in QUICK_NEW)


@pytest.mark.parametrize("change", ["update", "remove", "router_settings"])
def test_anything_but_an_append_takes_the_round_trip(change, monkeypatch):
    text = config_plan.plan_config(STORY, QUICK_NEW).after
    models, kwargs = list(QUICK_NEW), {}
    if change == "update":
        models[0] = dict(models[0], litellm_params=dict(models[0]["litellm_params"], rpm=10))
    elif change == "remove":
        kwargs["remove"] = [models.pop()["model_name"]]
    else:
        kwargs["router_settings"] = {"num_retries": 2}
    used = []
    real = config_plan.parse_config
    monkeypatch.setattr(config_plan, "parse_config", lambda text: used.append(1) or real(text))
    plan = config_plan.plan_config(text, models, **kwargs)
    assert used and plan.changed
    assert all(line in plan.after.splitlines() for line in STORY.splitlines() if line.lstrip().startswith("#"))


def _policies(models, retries=2):
    return {"model_group_retry_policy": {m["model_name"]: {"RateLimitErrorRetries": retries} for m in models}}


def _round_trip_plan(text, models, **kwargs):
    """plan_config with the quick path switched off: the reference for what the splice must write."""
    original = config_plan._quick_plan
    config_plan._quick_plan = lambda *args: None
    try:
        return config_plan.plan_config(text, models, **kwargs)
    finally:
        config_plan._quick_plan = original


@pytest.mark.parametrize("fixture", ["story-config.yaml", "mixed-config.yaml"])
def test_a_model_and_its_retry_policy_are_spliced_as_the_round_trip_writes_them(fixture, monkeypatch):
    """The role adds a model with its model_group_retry_policy entry: no round trip for that."""
    text = config_plan.plan_config(
        (FIXTURES / fixture).read_text(), QUICK_NEW[:1], router_settings=_policies(QUICK_NEW[:1])
    ).after
    new = {
        "model_name": "groq/openai/gpt-oss-20b",
        "litellm_params": {"model": "groq/openai/gpt-oss-20b", "api_key": "os.environ/GROQ_API_KEY", "rpm": 30},
    }
    models = [QUICK_NEW[0], new]
    expected = _round_trip_plan(text, models, router_settings=_policies(models))
    monkeypatch.setattr(config_plan, "parse_config", lambda _text: pytest.fail("the round trip was used"))
    plan = config_plan.plan_config(text, models, router_settings=_policies(models))
    assert plan.after == expected.after
    assert plan.added == ["groq/openai/gpt-oss-20b"] and plan.router_settings_changed
    assert parse_config(plan.after)["router_settings"]["model_group_retry_policy"]["groq/openai/gpt-oss-20b"] == {
        "RateLimitErrorRetries": 2
    }


def test_a_changed_retry_policy_takes_the_round_trip(monkeypatch):
    text = config_plan.plan_config(STORY, QUICK_NEW[:1], router_settings=_policies(QUICK_NEW[:1])).after
    used = []
    real = config_plan.parse_config
    monkeypatch.setattr(config_plan, "parse_config", lambda text: used.append(1) or real(text))
    plan = config_plan.plan_config(text, QUICK_NEW[:1], router_settings=_policies(QUICK_NEW[:1], retries=0))
    assert used and plan.changed


def test_a_retry_policy_mapping_in_flow_style_takes_the_round_trip(monkeypatch):
    text = (
        "model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/a\n\n"
        "router_settings:\n  model_group_retry_policy: {a: {RateLimitErrorRetries: 1}}\n"
    )
    used = []
    real = config_plan.parse_config
    monkeypatch.setattr(config_plan, "parse_config", lambda text: used.append(1) or real(text))
    plan = config_plan.plan_config(text, QUICK_NEW[:1], router_settings=_policies(QUICK_NEW[:1]))
    assert used and parse_config(plan.after)["router_settings"]["model_group_retry_policy"] == {
        "a": {"RateLimitErrorRetries": 1},
        "groq/openai/gpt-oss-120b": {"RateLimitErrorRetries": 2},
    }
