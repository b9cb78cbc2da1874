# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A run after per-step modules were used on their own (issue 19, item 8).

litellm_config adds a model outside the role; its write marks the record as pending. The next run verifies
that model and records it; a failing run undoes only its own writes, back to the state it found, so the
operator's model stays.
"""

from __future__ import annotations

import json

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _known_good as kg
from ansible_collections.homelab.litellm.plugins.module_utils import _plan as pl
from ansible_collections.homelab.litellm.plugins.module_utils import _run
from ansible_collections.homelab.litellm.plugins.module_utils.run import transaction as tx
from ansible_collections.homelab.litellm.plugins.modules import litellm_config
from ansible_collections.homelab.litellm.tests.unit.fake_kube import (
    NAMESPACE,
    STORY_CONFIG,
    STORY_SECRETS,
    settled_story,
)

GROQ_KEY = "gsk_" + "P3nd" * 12
GROQ_MODEL = "groq/openai/gpt-oss-120b"
MINI = {
    "model_name": "gpt-mini",
    "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "os.environ/OPENAI_API_KEY"},
}
MODELS = ["vllm-qwen", "ollama-qwen", "openai-gpt4o", "gpt-mini", GROQ_MODEL]


class LiteLLM:
    """LiteLLM behind its Service: lists every model, answers a chat unless the model is rejected."""

    def __init__(self):
        self.rejected = set()
        self.chats = []

    def __call__(self, method, path, headers, body, port):
        if path == "/v1/models":
            return 200, json.dumps({"data": [{"id": name} for name in MODELS]}).encode()
        if path == "/v1/chat/completions":
            self.chats.append(body["model"])
            if body["model"] in self.rejected:
                return 401, json.dumps({"error": {"message": "Invalid API Key", "code": "401"}}).encode()
            return 200, json.dumps({"model": body["model"], "choices": [{"message": {"content": "Hi"}}]}).encode()
        return 200, b'{"status": "healthy"}'


@pytest.fixture(name="edited")
def fixture_edited(cluster, quick_rollouts, run_module):
    """The settled story, then the operator's litellm_config call that adds gpt-mini."""
    cluster.proxy = LiteLLM()
    settled_story(cluster, secret_values=STORY_SECRETS, managed=["OPENAI_API_KEY"])
    result = run_module(litellm_config, {"namespace": "ml", "models": [MINI]})
    assert result["changed"] is True and result["pending"] is True
    return cluster


def live_config(cluster):
    return cluster.get("configmaps", "litellm-config")["data"]["config.yaml"]


def transaction(cluster):
    request = pl.Request(
        models=[
            {"model_name": GROQ_MODEL, "litellm_params": {"model": GROQ_MODEL, "api_key": "os.environ/GROQ_API_KEY"}}
        ],
        api_keys={"GROQ_API_KEY": GROQ_KEY},
    )
    settings = tx.Settings(
        namespace=NAMESPACE, deployment="litellm", request=request, provider_check="off", lock_timeout=0
    )
    return tx.Transaction(cluster.kube(), settings, set())


def test_a_failing_run_keeps_the_operators_pending_change(edited):
    edited_text = live_config(edited)
    edited.proxy.rejected.add(GROQ_MODEL)
    run = transaction(edited)
    with pytest.raises(_run.RunFailure) as caught:
        run.run()
    message = str(caught.value)
    assert "The live state differs" not in " ".join(run.warnings)
    assert any("litellm_config at" in warning and "(models gpt-mini)" in warning for warning in run.warnings)
    assert "Put back the state this run found (with the changes of litellm_config at" in message, message
    assert live_config(edited) == edited_text, "the operator's model stays; only this run's own write is undone"
    assert "GROQ_API_KEY" not in edited.get("secrets", "litellm-secrets")["data"]
    assert "gpt-mini" in edited.proxy.chats, "the pending model was verified with a request"
    record = kg.read_record(edited.get("secrets", "litellm-known-good"))
    assert record.config_text == STORY_CONFIG and record.pending["models"] == ["gpt-mini"], "record left as it was"


def test_a_run_that_succeeds_records_the_pending_change_as_verified(edited):
    edited_text = live_config(edited)
    result = transaction(edited).run()
    assert result["changed"] is True
    record = kg.read_record(edited.get("secrets", "litellm-known-good"))
    assert record.pending is None and record.verified == "true"
    assert "gpt-mini" in record.config_text and GROQ_MODEL in record.config_text
    assert "gpt-mini" in edited.proxy.chats
    assert live_config(edited) != edited_text and "gpt-mini" in live_config(edited)
