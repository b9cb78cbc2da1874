# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The record's pending part: what per-step modules wrote since the last verified state (issue 19, item 8).

A per-step write adds digests of what it wrote to the record (never a value); a run whose live state
differs from the record only as the pending part says takes it for the operator's change: it verifies
and records it, and does not take it over to roll it back.
"""

from __future__ import annotations

import json

from ansible_collections.homelab.litellm.plugins.module_utils import _known_good as kg
from ansible_collections.homelab.litellm.plugins.module_utils import _outcome as outcome
from ansible_collections.homelab.litellm.plugins.module_utils import _plan as pl
from ansible_collections.homelab.litellm.tests.unit.fake_kube import STORY_CONFIG, STORY_SECRETS, unb64
from ansible_collections.homelab.litellm.tests.unit.plugins.module_utils.test_plan import NOTHING, plan, settled

EDITED = STORY_CONFIG.replace("timeout: 120", "timeout: 60")
OPENAI = STORY_SECRETS["OPENAI_API_KEY"]
NEWER_OPENAI = "sk-proj-" + "4e" * 20
AT = "2026-12-02T08:00:00Z"


def recorded():
    keys = {"OPENAI_API_KEY": ("litellm-secrets", "OPENAI_API_KEY", OPENAI)}
    return kg.KnownGood(STORY_CONFIG, "litellm-config", "config.yaml", keys, ["vllm-qwen"], "true", "T0", "r0")


def test_a_per_step_write_adds_digests_and_names_never_a_value():
    record = kg.with_pending(recorded(), "litellm_config", AT, config_text=EDITED, models=["ollama-qwen"])
    record = kg.with_pending(
        record, "litellm_secret", AT, keys={"OPENAI_API_KEY": ("litellm-secrets", "OPENAI_API_KEY", NEWER_OPENAI)}
    )
    assert record.config_text == STORY_CONFIG and record.keys == recorded().keys, "the verified state stays"
    assert record.pending["by"] == ["litellm_config", "litellm_secret"]
    assert record.pending["config"] == kg.text_digest(EDITED) and record.pending["models"] == ["ollama-qwen"]
    body = kg.record_body("ml", "litellm", record)
    assert NEWER_OPENAI not in json.dumps(body) and NEWER_OPENAI not in unb64(body["data"]["state.json"])
    assert body["metadata"]["annotations"][kg.PENDING] == (
        "litellm_config and litellm_secret at %s (models ollama-qwen; keys OPENAI_API_KEY)" % AT
    )
    assert kg.read_record(body).pending == record.pending, "read back as written"


def test_a_record_written_without_pending_drops_the_annotation():
    marked = kg.record_body("ml", "litellm", kg.with_pending(recorded(), "litellm_config", AT, config_text=EDITED))
    again = kg.record_body("ml", "litellm", recorded(), existing=marked)
    assert kg.PENDING not in again["metadata"]["annotations"]
    assert kg.read_record(again).pending is None


def test_pending_explains_only_what_it_wrote():
    record = kg.with_pending(recorded(), "litellm_config", AT, config_text=EDITED)
    live_keys = {"OPENAI_API_KEY": ("litellm-secrets", "OPENAI_API_KEY", OPENAI)}
    assert kg.pending_explains(record, EDITED, live_keys)
    assert not kg.pending_explains(record, STORY_CONFIG, live_keys), "nothing differs: nothing to explain"
    assert not kg.pending_explains(record, EDITED + "# by hand\n", live_keys), "edited again since"
    rotated = {"OPENAI_API_KEY": ("litellm-secrets", "OPENAI_API_KEY", NEWER_OPENAI)}
    assert not kg.pending_explains(record, EDITED, rotated), "a key changed that no per-step write marked"
    record = kg.with_pending(record, "litellm_secret", AT, keys=rotated)
    assert kg.pending_explains(record, EDITED, rotated)
    assert not kg.pending_explains(recorded(), EDITED, live_keys), "no pending part"


def test_a_run_verifies_and_records_a_pending_change_without_taking_it_over():
    state = settled()
    state.configmap["data"]["config.yaml"] = EDITED
    state.record = kg.with_pending(state.record, "litellm_config", AT, config_text=EDITED, models=["ollama-qwen"])
    result = plan(state)
    assert result.unverified["config"] is False and result.unverified["keys"] == []
    assert result.unverified["pending"] == {"by": ["litellm_config"], "at": AT, "models": ["ollama-qwen"], "keys": []}
    assert result.unverified["models"] == ["ollama-qwen"] and result.smoke_models == ["ollama-qwen"]
    assert result.work == dict(NOTHING, rollout=True, verify=True, record=True, any=True)
    assert "they stay as written" in outcome.pending_note(result.unverified["pending"])


def test_a_hand_edit_over_a_pending_change_is_unverified_as_before():
    state = settled()
    state.configmap["data"]["config.yaml"] = EDITED + "# by hand\n"
    state.record = kg.with_pending(state.record, "litellm_config", AT, config_text=EDITED)
    result = plan(state)
    assert result.unverified["config"] is True and result.unverified["pending"] is None


def test_plan_run_reads_a_record_without_pending():
    assert pl.plan_run("ml", settled(), pl.Request()).unverified["pending"] is None
