# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/config/lifecycle.py: dated, sourced facts, complete and usable, and
the warnings about the models they name."""

from __future__ import annotations

import re

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils.config.lifecycle import (
    MODEL_LIFECYCLE,
    lifecycle_message,
    lifecycle_warnings,
)
from ansible_collections.homelab.litellm.tests.unit.plugins.module_utils.config.config_cases import model

REQUIRED = {"provider", "status", "date", "replacement", "answer", "source", "read"}


@pytest.mark.parametrize("model_string", sorted(MODEL_LIFECYCLE))
def test_lifecycle_data_is_complete(model_string):
    fact = MODEL_LIFECYCLE[model_string]
    assert REQUIRED <= set(fact) <= REQUIRED | {"scope"}
    assert fact["status"] in ("shut_down", "deprecated", "restricted")
    assert re.fullmatch(r"\d{4}(-\d{2}-\d{2})?", fact["date"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", fact["read"])
    assert fact["source"].startswith("https://")
    if fact["status"] != "deprecated":  # a deprecated model is still served: no refusal to describe
        assert re.match(r"\d{3} ", fact["answer"])
    if fact["status"] == "restricted":
        assert fact.get("scope"), "a restriction says whom it applies to"
    assert model_string.split("/", 1)[0] == fact["replacement"].split("/", 1)[0], "same provider, same key"


@pytest.mark.parametrize("model_string", sorted(MODEL_LIFECYCLE))
def test_a_replacement_is_not_gone_itself(model_string):
    assert MODEL_LIFECYCLE[model_string]["replacement"] not in MODEL_LIFECYCLE


@pytest.mark.parametrize("model_string", sorted(MODEL_LIFECYCLE))
def test_every_fact_makes_a_message_naming_the_replacement(model_string):
    fact = MODEL_LIFECYCLE[model_string]
    message = lifecycle_message(model_string, fact)
    assert model_string in message and fact["provider"] in message
    assert message.endswith("use %s instead" % fact["replacement"])


@pytest.mark.parametrize(
    "entry, expected",
    [
        (
            model("groq/mixtral-8x7b-32768"),
            "groq/mixtral-8x7b-32768 was shut down by Groq on 2025-03-20 (it answers 400 model_decommissioned); "
            "use groq/openai/gpt-oss-120b instead",
        ),
        (
            model("groq/llama-3.3-70b-versatile"),
            "groq/llama-3.3-70b-versatile was shut down by Groq on 2026-08-16 for free and developer tiers (it answers "
            "404 model_not_found); use groq/openai/gpt-oss-120b instead",
        ),
        (
            model("gemini/gemini-1.5-pro", "GEMINI_API_KEY"),
            "gemini/gemini-1.5-pro was shut down by Google on 2025-09-24 (it answers 404 NOT_FOUND); "
            "use gemini/gemini-3.8-flash instead",
        ),
        (
            model("gemini/gemini-2.5-flash-lite", "GEMINI_API_KEY"),
            "gemini/gemini-2.5-flash-lite was shut down by Google in 2026 for accounts not already using it",
        ),
        (
            model("mistral/mistral-large-latest", "MISTRAL_API_KEY"),
            "Mistral refuses mistral/mistral-large-latest on the free tier (403 tier_not_allowed, reported "
            "2026-08-30); "
            "use mistral/mistral-medium-latest instead",
        ),
        (
            {"model_name": "fast", "litellm_params": {"model": "groq/mixtral-8x7b-32768"}},
            "model 'fast': groq/mixtral-8x7b-32768 was shut down by Groq on 2025-03-20",
        ),
    ],
)
def test_lifecycle_warnings(entry, expected):
    warnings = lifecycle_warnings([entry])
    assert len(warnings) == 1
    assert warnings[0].startswith(expected), warnings[0]


def test_lifecycle_warnings_skip_current_models_and_duplicates():
    assert lifecycle_warnings([model("mistral/mistral-small-latest"), "not-an-entry", {"model_name": "x"}]) == []
    assert len(lifecycle_warnings([model("groq/mixtral-8x7b-32768"), model("groq/mixtral-8x7b-32768")])) == 1


@pytest.mark.parametrize(
    "fact, expected",
    [
        (
            {"provider": "Groq", "status": "shut_down", "date": "2025", "replacement": "groq/y", "answer": "404"},
            "groq/x was shut down by Groq in 2025 (it answers 404); use groq/y instead",
        ),
        (
            {"provider": "Groq", "status": "deprecated", "date": "2027-01-31", "replacement": "groq/y"},
            "groq/x is deprecated by Groq and shuts down on 2027-01-31; use groq/y instead",
        ),
        (
            {
                "provider": "Groq",
                "status": "restricted",
                "date": "2026-01-02",
                "replacement": "groq/y",
                "answer": "403",
            },
            "Groq refuses groq/x on some plans (403, reported 2026-01-02); use groq/y instead",
        ),
    ],
)
def test_lifecycle_message_per_status(fact, expected):
    assert lifecycle_message("groq/x", fact) == expected
    assert lifecycle_warnings([model("groq/x")], {"groq/x": fact}) == [expected]
