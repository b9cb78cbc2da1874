# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/_model_lifecycle.py: dated, sourced facts, complete and usable."""

from __future__ import annotations

import re

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils._config_plan import lifecycle_message
from ansible_collections.homelab.litellm.plugins.module_utils._model_lifecycle import MODEL_LIFECYCLE

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
