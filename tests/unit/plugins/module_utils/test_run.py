# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/_run.py: what the modules of one run share.

``module_lock`` and the record run against the in-memory API server.
"""

from __future__ import annotations

import socket

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _lock, _run
from ansible_collections.homelab.litellm.plugins.module_utils import _plan as pl
from ansible_collections.homelab.litellm.plugins.module_utils import _wiring as wiring
from ansible_collections.homelab.litellm.tests.unit.fake_kube import (
    STORY_CONFIG,
    STORY_SECRETS,
    b64,
    secret_object,
)

HOST = socket.gethostname()


def test_new_run_token_is_random_and_readable():
    tokens = {_run.new_run_token() for _run_number in range(50)}
    assert len(tokens) == 50
    assert all(len(token) == 16 and int(token, 16) >= 0 for token in tokens)


def test_holder_identity(monkeypatch):
    monkeypatch.setattr(_run.getpass, "getuser", lambda: "alice")
    assert _run.holder_identity("5f0c2a9e1b7d4c38") == "alice@%s run=5f0c2a9e1b7d4c38" % HOST


def test_holder_identity_without_a_user_name(monkeypatch):
    def no_user():
        raise KeyError("getpwuid(): uid not found: 1000")

    monkeypatch.setattr(_run.getpass, "getuser", no_user)
    monkeypatch.setattr(_run.os, "getuid", lambda: 1000)
    assert _run.holder_identity("r1") == "1000@%s run=r1" % HOST


def test_secret_values_of():
    objects = {
        (wiring.SECRET, "litellm-secrets"): secret_object({"LONG": "a-long-value", "SHORT": "short"}),
        (wiring.SECRET, "missing"): None,
        (wiring.CONFIGMAP, "settings"): {"data": {"PLAIN": "not-a-secret-value"}},
    }
    assert _run.secret_values_of(objects) == {"a-long-value", b64("a-long-value"), b64("short")}


def test_describe_unverified():
    assert (
        _run.describe_unverified({"config": True, "models": ["a", "b"], "keys": ["K"]})
        == "config.yaml (models a, b) and keys K"
    )
    assert _run.describe_unverified({"config": True, "models": [], "keys": []}) == "config.yaml"
    assert _run.describe_unverified({"config": False, "keys": ["K", "L"]}) == "keys K, L"
    assert _run.describe_unverified({}) == "nothing"


def test_now_text_is_utc_seconds():
    assert _lock.parse_time(_run.now_text()) is not None and _run.now_text().endswith("Z")


# -- glue to the API server ------------------------------------------------------------------------

PARAMS = {
    "namespace": "ml",
    "deployment": "litellm",
    "container": None,
    "configmap": None,
    "config_key": None,
}


def test_config_target_given(cluster):
    assert _run.config_target(cluster.kube(), dict(PARAMS, configmap="cm", config_key="k")) == ("cm", "k")
    assert cluster.requests == []


def test_config_target_read_from_the_deployment(story):
    assert _run.config_target(story.kube(), PARAMS) == ("litellm-config", "config.yaml")
    assert _run.config_target(story.kube(), dict(PARAMS, config_key="other.yaml")) == ("litellm-config", "other.yaml")


def test_config_target_without_deployment(cluster):
    with pytest.raises(
        _run.RunFailure, match="Deployment ml/litellm not found, and configmap/config_key are not given"
    ):
        _run.config_target(cluster.kube(), PARAMS)


def test_live_state(story):
    story.add("secrets", secret_object({"MISTRAL": "m-value"}, name="provider-keys"))
    managed = {
        "OPENAI_API_KEY": {"secret": "litellm-secrets", "key": "OPENAI_API_KEY"},
        "MISTRAL_API_KEY": {"secret": "provider-keys", "key": "MISTRAL"},
        "GROQ_API_KEY": {"secret": "litellm-secrets", "key": "GROQ_API_KEY"},
    }
    text, keys = _run.live_state(story.kube(), "ml", "litellm", managed, "litellm-config", "config.yaml")
    assert text == STORY_CONFIG
    assert keys == {
        "OPENAI_API_KEY": ("litellm-secrets", "OPENAI_API_KEY", STORY_SECRETS["OPENAI_API_KEY"]),
        "MISTRAL_API_KEY": ("provider-keys", "MISTRAL", "m-value"),
        "GROQ_API_KEY": ("litellm-secrets", "GROQ_API_KEY", None),
    }
    assert [r.name for r in story.requests if r.resource == "secrets"] == ["litellm-secrets", "provider-keys"]


def story_plan(cluster, api_keys=None):
    deployment = cluster.get("deployments", "litellm")
    observed = pl.Observed(
        deployment=deployment,
        configmap=cluster.get("configmaps", "litellm-config"),
        objects={(wiring.SECRET, "litellm-secrets"): cluster.get("secrets", "litellm-secrets")},
    )
    return pl.plan_run("ml", observed, pl.Request(api_keys=api_keys or {})), observed


def test_key_values_prefer_the_vault_and_read_the_rest_from_the_pods_secret(story):
    plan, observed = story_plan(story, {"OPENAI_API_KEY": "sk-from-the-vault-123"})
    values = _run.key_values({"OPENAI_API_KEY": "sk-from-the-vault-123"}, plan, observed)
    assert values == {
        "OPENAI_API_KEY": "sk-from-the-vault-123",
        "LITELLM_MASTER_KEY": STORY_SECRETS["LITELLM_MASTER_KEY"],
        "DATABASE_URL": STORY_SECRETS["DATABASE_URL"],
    }


def test_record_state_holds_only_the_managed_keys(story):
    plan, observed = story_plan(story)
    record = _run.record_state(story.kube(), "ml", "litellm", plan, observed, None, "r1", verified="baseline")
    assert record.keys == {}, "the operator's own keys are never recorded"


def test_record_state_writes_the_live_state_as_verified(story):
    plan, observed = story_plan(story, {"OPENAI_API_KEY": STORY_SECRETS["OPENAI_API_KEY"]})
    record = _run.record_state(story.kube(), "ml", "litellm", plan, observed, None, "r1", verified="baseline")
    assert record.config_text == STORY_CONFIG and record.verified == "baseline" and record.run == "r1"
    assert record.keys == {"OPENAI_API_KEY": ("litellm-secrets", "OPENAI_API_KEY", STORY_SECRETS["OPENAI_API_KEY"])}
    stored = story.get("secrets", "litellm-known-good")
    assert stored["metadata"]["annotations"]["homelab.litellm/verified"] == "baseline"
    assert [r.method for r in story.writes("secrets")] == ["POST"]
    again = _run.record_state(story.kube(), "ml", "litellm", plan, observed, stored, "r2", verified="true")
    assert again.run == "r2" and [r.method for r in story.writes("secrets")] == ["POST", "PUT"]


LEASE = "homelab-litellm-litellm"


def test_module_lock_without_take_asks_nothing_and_gives_no_fence(cluster):
    with _run.module_lock(cluster.kube(), "ml", "litellm", take=False) as fence:
        assert fence is None
    assert cluster.requests == []


def test_module_lock_holds_the_lease_while_the_module_writes_and_frees_it(cluster, monkeypatch):
    monkeypatch.setattr(_run, "new_run_token", lambda: "t1")
    monkeypatch.setattr(_run.getpass, "getuser", lambda: "alice")
    with _run.module_lock(cluster.kube(), "ml", "litellm", timeout=0, duration=20) as fence:
        held = cluster.get("leases", LEASE)["spec"]
        assert held["holderIdentity"] == "alice@%s run=t1" % HOST and held["leaseDurationSeconds"] == 20
        fence()
    assert cluster.get("leases", LEASE)["spec"]["holderIdentity"] is None
    assert [r.method for r in cluster.writes("leases")] == ["POST", "PUT", "PUT"], "take, the fence, release"


def test_module_lock_is_freed_when_the_module_fails(cluster):
    with pytest.raises(ValueError), _run.module_lock(cluster.kube(), "ml", "litellm", timeout=0):
        raise ValueError("the write failed")
    assert cluster.get("leases", LEASE)["spec"]["holderIdentity"] is None


def test_module_lock_waits_for_a_run_of_the_role_and_writes_nothing(cluster):
    cluster.add(
        "leases",
        {
            "metadata": {"name": LEASE},
            "spec": {
                "holderIdentity": "bob@elsewhere run=r9",
                "leaseDurationSeconds": 15,
                "renewTime": _lock.micro_time(9999999999),
            },
        },
    )
    with pytest.raises(_lock.LockError, match="bob@elsewhere run=r9 holds its lock"), _run.module_lock(
        cluster.kube(), "ml", "litellm", timeout=0
    ):
        raise AssertionError("the body never runs without the lock")
    assert cluster.writes() == []


def test_the_fence_of_a_module_that_lost_its_lock_refuses(cluster):
    with _run.module_lock(cluster.kube(), "ml", "litellm", timeout=0) as fence:
        cluster.edit("leases", LEASE, lambda obj: obj["spec"].update(holderIdentity="bob@elsewhere run=r9"))
        writes = len(cluster.writes())
        with pytest.raises(_lock.LockError, match="bob@elsewhere run=r9 holds it now"):
            fence()
        assert len(cluster.writes()) == writes
    assert cluster.get("leases", LEASE)["spec"]["holderIdentity"] == "bob@elsewhere run=r9", "not released"


def test_expected_failures():
    assert _run.RunFailure("x", {"a": 1}).result == {"a": 1}
    assert _run.RunFailure("x").result == {}
    for error in (_run.RunFailure("x"), pl.PlanError(["x"]), wiring.WiringError("x"), _lock.LockError("x")):
        assert isinstance(error, _run.EXPECTED)
