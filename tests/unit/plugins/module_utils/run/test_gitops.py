# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/run/gitops.py: litellm_apply's modes render and verify, through a
Transaction against the in-memory API server and a fake LiteLLM behind its Service.

The cluster starts settled on the story's state with a record of it; the run adds Groq. ``render``
writes nothing to the cluster; ``verify`` fails, writing nothing, until the change is synced by hand
(as a GitOps controller would), then proves it and writes the record, and only that.
"""

from __future__ import annotations

import json

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _known_good as kg
from ansible_collections.homelab.litellm.plugins.module_utils import _plan as pl
from ansible_collections.homelab.litellm.plugins.module_utils import _run
from ansible_collections.homelab.litellm.plugins.module_utils.run import gitops
from ansible_collections.homelab.litellm.plugins.module_utils.run import preflight as pre
from ansible_collections.homelab.litellm.tests.unit.fake_kube import (
    NAMESPACE,
    STORY_SECRETS,
    b64,
    unb64,
)
from ansible_collections.homelab.litellm.tests.unit.plugins.module_utils.run.test_transaction import (  # noqa: F401  # pylint: disable=unused-import
    GROQ_KEY,
    GROQ_MODEL,
    STORY_MODELS,
    FakeLiteLLM,
    fixture_litellm,
    fixture_settled,
    live_config,
    own_writes,
    transaction,
)

PENDING = (
    "the cluster does not yet have the models groq/openai/gpt-oss-120b in ConfigMap ml/litellm-config; the keys "
    "GROQ_API_KEY in Secret ml/litellm-secrets; sync your GitOps app (commit what litellm_apply_mode: render wrote, "
    "put the keys into the Secret) and run litellm_apply_mode: verify again. Nothing was written"
)


def sync_by_hand(cluster, config_text, keys):
    """What Argo CD or Flux does once the rendered files are committed (and the keys put into the Secret)."""
    cluster.edit("configmaps", "litellm-config", lambda obj: obj["data"].update({"config.yaml": config_text}))
    cluster.edit("secrets", "litellm-secrets", lambda obj: obj["data"].update({k: b64(v) for k, v in keys.items()}))


def rendered(cluster, **settings):
    return transaction(cluster, mode="render", **settings).run()


def test_render_plans_the_merge_and_writes_nothing_to_the_cluster(settled, litellm):
    before = live_config(settled)
    result = rendered(settled, render_format="helm-new", diff=True)
    assert settled.writes() == [] and litellm.chats == []
    assert not [r for r in settled.requests if r.resource == "leases" and r.method != "GET"], "no lock"
    assert live_config(settled) == before
    files = result["rendered"]["files"]
    assert sorted(files) == ["litellm-values.yaml", "secret-keys.yaml"]
    assert (
        GROQ_MODEL in files["litellm-values.yaml"]
        and "gateway:\n  config:\n    proxy_config:\n" in (files["litellm-values.yaml"])
    )
    assert '{key: "GROQ_API_KEY", env: "GROQ_API_KEY"}' in files["secret-keys.yaml"]
    assert result["pending"] == [
        "the models %s in ConfigMap ml/litellm-config" % GROQ_MODEL,
        "the keys GROQ_API_KEY in Secret ml/litellm-secrets",
    ]
    assert "diff" not in result, "the cluster's diff is not what render changes"
    assert (result["changed"], result["mode"]) == (False, "render")
    assert GROQ_KEY not in json.dumps(result) and STORY_SECRETS["OPENAI_API_KEY"] not in json.dumps(result)
    assert [step["step"] for step in result["steps"]] == ["plan", "preflight"]


def test_render_asks_the_provider_and_a_rejected_key_renders_nothing(settled, litellm, monkeypatch):
    asked = []

    def groq_rejects(url, headers, timeout):
        asked.append(url)
        return 401, json.dumps({"error": {"message": "Invalid API Key"}}).encode()

    monkeypatch.setattr(pre, "http_fetch", groq_rejects)
    with pytest.raises(pl.PlanError) as caught:
        rendered(settled, provider_check="auto")
    assert str(caught.value).startswith("Nothing was written. Groq rejected the key in GROQ_API_KEY")
    assert asked == ["https://api.groq.com/openai/v1/models"] and settled.writes() == []


def test_render_refuses_a_config_that_would_carry_a_secret_value(settled, litellm):
    leaking = live_config(settled).replace("os.environ/OPENAI_API_KEY", STORY_SECRETS["OPENAI_API_KEY"])
    settled.edit("configmaps", "litellm-config", lambda obj: obj["data"].update({"config.yaml": leaking}))
    with pytest.raises(pl.PlanError) as caught:
        rendered(settled)
    assert "the rendered files would hold 1 secret value" in str(caught.value)
    assert STORY_SECRETS["OPENAI_API_KEY"] not in str(caught.value)


def test_verify_before_the_sync_fails_naming_what_is_missing_and_writes_nothing(settled, litellm):
    failure = pytest.raises(_run.RunFailure, transaction(settled, mode="verify").run).value
    assert str(failure) == PENDING
    assert settled.writes() == [] and litellm.chats == []


def test_verify_after_the_sync_proves_and_records_and_writes_only_the_record(settled, litellm):
    files = rendered(settled)["rendered"]["files"]
    sync_by_hand(settled, files["config.yaml"], {"GROQ_API_KEY": GROQ_KEY})
    settled.requests.clear()
    run = transaction(settled, mode="verify")
    result = run.run()
    assert own_writes(settled) == [("PUT", "secrets", "litellm-known-good")]
    assert litellm.chats == [GROQ_MODEL], "the model not proved since the record gets a request"
    record = kg.read_record(settled.get("secrets", "litellm-known-good"))
    assert (record.verified, record.config_text, record.models) == (
        "true",
        files["config.yaml"],
        STORY_MODELS + [GROQ_MODEL],
    )
    assert record.keys["GROQ_API_KEY"] == ("litellm-secrets", "GROQ_API_KEY", GROQ_KEY)
    assert settled.get("leases", "homelab-litellm-litellm")["spec"]["holderIdentity"] is None, "released"
    assert (result["changed"], result["recorded"], result["restarted"]) == (True, True, False)
    assert [step["step"] for step in result["steps"]] == ["plan", "lock", "observe", "verify", "record"]

    settled.requests.clear()
    again = transaction(settled, mode="verify").run()
    assert own_writes(settled) == [] and (again["changed"], again["recorded"]) == (False, False)
    assert again["summary"].endswith("the record already holds this state")


def test_a_key_value_that_differs_from_the_vault_is_pending_by_name_only(settled, litellm):
    files = rendered(settled)["rendered"]["files"]
    stale = "gsk_" + "Old0" * 12
    sync_by_hand(settled, files["config.yaml"], {"GROQ_API_KEY": stale})
    failure = pytest.raises(_run.RunFailure, transaction(settled, mode="verify").run).value
    assert "the vault's values of GROQ_API_KEY in Secret ml/litellm-secrets (they differ)" in str(failure)
    assert stale not in str(failure) and GROQ_KEY not in str(failure)
    assert settled.writes() == []


def test_a_failed_verification_rolls_nothing_back_and_leaves_the_record(settled, litellm):
    files = rendered(settled)["rendered"]["files"]
    sync_by_hand(settled, files["config.yaml"], {"GROQ_API_KEY": GROQ_KEY})
    record_before = settled.get("secrets", "litellm-known-good")
    litellm.rejected.add(GROQ_MODEL)
    settled.requests.clear()
    failure = pytest.raises(_run.RunFailure, transaction(settled, mode="verify").run).value
    assert str(failure).startswith("LiteLLM verification failed: ")
    assert str(failure).endswith("Nothing was written and nothing rolled back (this mode writes only the record)")
    assert own_writes(settled) == []
    assert settled.get("secrets", "litellm-known-good") == record_before
    assert unb64(settled.get("secrets", "litellm-secrets")["data"]["GROQ_API_KEY"]) == GROQ_KEY, "left as synced"


def test_verify_in_check_mode_takes_no_lock_and_says_whether_it_would_record(settled, litellm):
    files = rendered(settled)["rendered"]["files"]
    sync_by_hand(settled, files["config.yaml"], {"GROQ_API_KEY": GROQ_KEY})
    settled.requests.clear()
    result = transaction(settled, mode="verify", check_mode=True).run()
    assert settled.writes() == [] and litellm.chats == [] and result["changed"] is True


def test_pending_changes_name_updated_and_removed_models():
    plan = pl.RunPlan(
        target={"namespace": NAMESPACE, "configmap": "cm"},
        config={"changed": True, "added": [], "updated": ["a"], "removed": ["b"]},
        secrets={},
        rollout={},
        unverified={},
        work={},
        smoke_models=[],
        expected_models=[],
        managed_keys={},
    )
    assert gitops.pending_changes(plan) == ["the new entries of a and the removal of b in ConfigMap ml/cm"]
    plan.config.update(updated=[], removed=[])
    assert gitops.pending_changes(plan) == ["the merged config.yaml in ConfigMap ml/cm"]
