# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-step modules take the run lock (a Lease) only when they will write, and mark what they wrote in the record.

Each decides read-only first: a call that changes nothing never touches the Lease (no request that
writes it, its resourceVersion as it was), also while a run of the role holds it. A call that writes
takes the Lease, looks at the cluster again under it, writes, and frees it; while another holder
renews it, the call fails as before and writes nothing.
"""

from __future__ import annotations

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _known_good as kg
from ansible_collections.homelab.litellm.plugins.module_utils import _lock
from ansible_collections.homelab.litellm.plugins.modules import (
    litellm_config,
    litellm_known_good,
    litellm_rollout,
    litellm_secret,
)
from ansible_collections.homelab.litellm.tests.unit.fake_kube import (
    OTHER_HOLDER,
    STORY_CONFIG,
    STORY_SECRETS,
    settled_story,
    unb64,
)

LEASE = "homelab-litellm-litellm"
GROQ_KEY = "gsk_" + "L0ck" * 12
GROQ = {
    "model_name": "groq/openai/gpt-oss-120b",
    "litellm_params": {"model": "groq/openai/gpt-oss-120b", "api_key": "os.environ/GROQ_API_KEY"},
}
SECRETS = dict(STORY_SECRETS, GROQ_API_KEY=GROQ_KEY)
CHANGED_CONFIG = STORY_CONFIG.replace("timeout: 120", "timeout: 60")
OPERATOR_COMMENT = "# edited by the operator\n"
# What each call that writes writes (the config and the keys also mark the record as pending).
WRITES = {
    "config": [("configmaps", "litellm-config"), ("secrets", "litellm-known-good")],
    "secret": [("secrets", "litellm-secrets"), ("secrets", "litellm-known-good")],
    "restored": [("configmaps", "litellm-config")],
    "rollout": [("deployments", "litellm")],
}

# (module, arguments of a call that changes nothing on the settled story, arguments of one that writes)
CALLS = {
    "config": (litellm_config, {"models": []}, {"models": [GROQ]}),
    "secret": (litellm_secret, {"data": {"GROQ_API_KEY": GROQ_KEY}}, {"data": {"GROQ_API_KEY": GROQ_KEY + "x"}}),
    "restored": (
        litellm_known_good,
        {"state": "restored", "expected": {}},
        {"state": "restored"},  # expected: what edited_for_restore left
    ),
    "rollout": (litellm_rollout, {"wait": False}, {"wait": False, "force": True}),
}


def lease(cluster, who=None, renewed=1000000000):
    """The Lease as a run leaves it (released: no holder), or held by ``who`` and renewed at ``renewed``."""
    cluster.add(
        "leases",
        {
            "metadata": {"name": LEASE},
            "spec": {"holderIdentity": who, "leaseDurationSeconds": 15, "renewTime": _lock.micro_time(renewed)},
        },
    )
    return cluster.get("leases", LEASE)["metadata"]["resourceVersion"]


def settled(cluster):
    """A verified state: config, keys and record as LiteLLM runs them."""
    settled_story(cluster, secret_values=SECRETS, managed=["GROQ_API_KEY"])
    return cluster


def call(run_module, name, writes, **extra):
    module, noop, change = CALLS[name]
    return run_module(module, dict(change if writes else noop, namespace="ml", **extra))


def prepared(cluster, name):
    """Extra arguments of the call that writes: for the restore, a config this run wrote (by its version)."""
    if name != "restored":
        return {}
    cluster.edit("configmaps", "litellm-config", lambda obj: obj["data"].update({"config.yaml": CHANGED_CONFIG}))
    return {
        "expected": {
            "configmaps": {"litellm-config": cluster.get("configmaps", "litellm-config")["metadata"]["resourceVersion"]}
        }
    }


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_call_that_changes_nothing_leaves_the_lease_untouched(cluster, run_module, name):
    settled(cluster)
    version = lease(cluster)
    result = call(run_module, name, writes=False)
    assert result.rc == 0 and result["changed"] is False, result.output
    assert cluster.writes() == [], "nothing written, the Lease neither created nor updated"
    assert cluster.get("leases", LEASE)["metadata"]["resourceVersion"] == version


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_call_that_changes_nothing_does_not_wait_for_a_run_holding_the_lock(cluster, run_module, name):
    settled(cluster)
    version = lease(cluster, OTHER_HOLDER, renewed=9999999999)
    result = call(run_module, name, writes=False, lock_timeout=0)
    assert result.rc == 0 and result["changed"] is False, result.output
    assert cluster.writes() == [] and cluster.get("leases", LEASE)["metadata"]["resourceVersion"] == version


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_call_that_writes_takes_the_lease_and_frees_it(cluster, run_module, name):
    settled(cluster)
    extra = prepared(cluster, name)
    lease(cluster)
    result = call(run_module, name, writes=True, **extra)
    assert result.rc == 0 and result["changed"] is True, result.output
    methods = [(r.method, r.resource) for r in cluster.writes()]
    assert methods[0] == ("PUT", "leases") and methods[-1] == ("PUT", "leases"), methods
    assert [(r.resource, r.name) for r in cluster.writes() if r.resource != "leases"] == WRITES[name]
    assert cluster.get("leases", LEASE)["spec"]["holderIdentity"] is None


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_call_that_writes_while_another_run_holds_the_lock_fails_and_writes_nothing(cluster, run_module, name):
    settled(cluster)
    extra = prepared(cluster, name)
    lease(cluster, OTHER_HOLDER, renewed=9999999999)
    result = call(run_module, name, writes=True, lock_timeout=0, **extra)
    assert result.failed and "%s holds its lock" % OTHER_HOLDER in result["msg"], result.output
    assert cluster.writes() == []


def test_the_write_is_planned_from_what_is_live_under_the_lock(cluster, run_module):
    """Between the read-only look and the lock, an operator edits the config: the write keeps the edit and
    is planned once more under the lock, so it meets no conflict."""
    settled(cluster)

    def operator_edit(cluster_, request):
        if request.resource != "leases":
            return False
        cluster_.edit(
            "configmaps",
            "litellm-config",
            lambda obj: obj["data"].update({"config.yaml": OPERATOR_COMMENT + obj["data"]["config.yaml"]}),
        )
        return True

    cluster.on_write(operator_edit)
    result = call(run_module, "config", writes=True)
    assert result["changed"] is True
    text = cluster.get("configmaps", "litellm-config")["data"]["config.yaml"]
    assert text.startswith(OPERATOR_COMMENT) and GROQ["model_name"] in text
    assert [r.method for r in cluster.writes("configmaps")] == ["PUT"], "read again under the lock: no 409"


def test_a_key_write_marks_the_record_pending_by_digest_only(cluster, run_module):
    settled(cluster)
    result = call(run_module, "secret", writes=True)
    assert result["pending"] is True
    record_secret = cluster.get("secrets", "litellm-known-good")
    record = kg.read_record(record_secret)
    assert record.keys["GROQ_API_KEY"][2] == GROQ_KEY, "the verified value stays"
    assert record.pending["by"] == ["litellm_secret"] and list(record.pending["keys"]) == ["GROQ_API_KEY"]
    assert record.pending["keys"]["GROQ_API_KEY"] == kg.key_digest("litellm-secrets", "GROQ_API_KEY", GROQ_KEY + "x")
    assert GROQ_KEY + "x" not in unb64(record_secret["data"]["state.json"])
    assert "GROQ_API_KEY" in record_secret["metadata"]["annotations"][kg.PENDING]


def test_without_a_record_nothing_is_marked(cluster, run_module):
    settled_story(cluster, secret_values=SECRETS, record=False)
    result = call(run_module, "config", writes=True)
    assert result["changed"] is True and result["pending"] is False
    assert cluster.get("secrets", "litellm-known-good") is None


def test_a_write_this_identity_may_not_mark_is_kept_and_said(cluster, run_module):
    settled(cluster)
    cluster.fail("PUT", "secrets", 403, "secrets is forbidden", name="litellm-known-good")
    result = call(run_module, "config", writes=True)
    assert result.rc == 0 and result["changed"] is True and result["pending"] is False
    assert GROQ["model_name"] in cluster.get("configmaps", "litellm-config")["data"]["config.yaml"]
    assert any("may not update the record Secret ml/litellm-known-good" in text for text in result.warning_texts)
    assert kg.read_record(cluster.get("secrets", "litellm-known-good")).pending is None
