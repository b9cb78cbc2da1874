# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for litellm_remove_keys through run/transaction.py: a removal is one change of the run
(journal, restart, verification, record), and a failure puts the key back. The fixtures ``litellm`` and
``settled`` are test_transaction's, imported (pytest finds them by their names)."""

from __future__ import annotations

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _known_good as kg
from ansible_collections.homelab.litellm.plugins.module_utils import _plan as pl
from ansible_collections.homelab.litellm.plugins.module_utils import _rollout as rt
from ansible_collections.homelab.litellm.tests.unit.plugins.module_utils.run.test_transaction import (  # pylint: disable=unused-import
    GROQ_KEY,
    GROQ_MODEL,
    failure_of,
    fixture_litellm,  # noqa: F401
    fixture_settled,  # noqa: F401
    live_key,
    own_writes,
    transaction,
)


@pytest.fixture(name="groq_added")
def fixture_groq_added(settled, litellm):
    """A verified run added GROQ_MODEL and wrote GROQ_API_KEY (so the record holds it)."""
    transaction(settled).run()
    settled.requests.clear()
    litellm.chats.clear()
    return settled


def record_of(cluster):
    return kg.read_record(cluster.get("secrets", "litellm-known-good"))


def test_removing_the_model_and_its_key_writes_restarts_verifies_and_records(groq_added):
    result = transaction(groq_added, pl.Request(remove=[GROQ_MODEL], remove_keys=["GROQ_API_KEY"])).run()
    assert live_key(groq_added, "GROQ_API_KEY") is None
    assert own_writes(groq_added) == [
        ("PUT", "configmaps", "litellm-config"),
        ("PUT", "secrets", "litellm-secrets"),
        ("PATCH", "deployments", "litellm"),
        ("PUT", "secrets", "litellm-known-good"),
    ]
    assert "GROQ_API_KEY" not in record_of(groq_added).keys
    assert "removed GROQ_API_KEY" in result["summary"]
    assert result["secrets"]["litellm-secrets"]["removed"] == ["GROQ_API_KEY"]


def test_a_removal_alone_rolls_the_pods_with_a_time_stamp(groq_added, litellm):
    transaction(groq_added, pl.Request(remove=[GROQ_MODEL])).run()
    digest = rt.template_annotations(groq_added.get("deployments", "litellm"))[rt.DIGEST_ANNOTATION]
    groq_added.requests.clear()
    result = transaction(groq_added, pl.Request(remove_keys=["GROQ_API_KEY"])).run()
    annotations = rt.template_annotations(groq_added.get("deployments", "litellm"))
    assert annotations[rt.DIGEST_ANNOTATION] == digest and annotations.get(rt.RESTARTED_AT_ANNOTATION)
    assert result["restarted"] is True and live_key(groq_added, "GROQ_API_KEY") is None
    # The next run has nothing to do: the record matches what is live.
    groq_added.requests.clear()
    again = transaction(groq_added, pl.Request()).run()
    assert again["changed"] is False and own_writes(groq_added) == []


def test_a_failed_verification_puts_the_removed_key_back(groq_added, litellm):
    litellm.rejected.add("vllm-qwen")
    request = pl.Request(remove=[GROQ_MODEL], remove_keys=["GROQ_API_KEY"], smoke_models=["vllm-qwen"])
    failure = failure_of(transaction(groq_added, request))
    assert "GROQ_API_KEY" in failure.result["rollback"]["secret_keys"]
    assert live_key(groq_added, "GROQ_API_KEY") == GROQ_KEY
    assert record_of(groq_added).keys["GROQ_API_KEY"][2] == GROQ_KEY
    assert GROQ_KEY not in str(failure) and GROQ_KEY not in str(failure.result)


def test_a_refused_removal_writes_nothing(groq_added):
    with pytest.raises(pl.PlanError, match="LITELLM_MASTER_KEY is LiteLLM's master key"):
        transaction(groq_added, pl.Request(remove_keys=["LITELLM_MASTER_KEY"])).run()
    assert groq_added.writes() == []


def test_check_mode_says_the_key_would_be_removed_and_writes_nothing(groq_added):
    request = pl.Request(remove=[GROQ_MODEL], remove_keys=["GROQ_API_KEY"])
    result = transaction(groq_added, request, check_mode=True, diff=True).run()
    assert result["summary"] == (
        "check mode: would remove %s, remove GROQ_API_KEY from the Secret, restart LiteLLM" % GROQ_MODEL
    )
    assert groq_added.writes() == [] and live_key(groq_added, "GROQ_API_KEY") == GROQ_KEY
    assert GROQ_KEY not in str(result["diff"])
