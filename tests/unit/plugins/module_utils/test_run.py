# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/_run.py: what the modules of one run share.

``playbook_pid`` and ``holder_gone`` read a process tree laid out like Linux /proc in tmp_path.
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
    litellm_deployment,
    secret_object,
    service_object,
)

HOST = socket.gethostname()
PLAYBOOK = ["/usr/bin/python3.11", "/home/alice/.venv/bin/ansible-playbook", "playbooks/site.yml"]
PROCESSES = {
    1: ("init", 0, ["/sbin/init"]),
    100: ("bash", 1, ["-bash"]),
    200: ("ansible-playboo", 100, PLAYBOOK),
    300: ("ansible-playboo", 200, PLAYBOOK),  # the task worker, a fork
    350: ("sh", 300, ["/bin/sh", "-c", "python3 AnsiballZ_litellm_plan.py"]),
    400: ("python3", 350, ["python3", "/home/alice/.ansible/tmp/AnsiballZ_litellm_plan.py"]),
    500: ("python3 (odd) name", 1, ["python3", "-m", "pytest"]),
    600: ("ansible-playbook", 1, ["ansible-playbook", "x.yml"]),  # started directly, no interpreter word
}


@pytest.fixture(name="proc")
def fixture_proc(tmp_path):
    for pid, (comm, parent, words) in PROCESSES.items():
        directory = tmp_path / str(pid)
        directory.mkdir()
        (directory / "cmdline").write_bytes(b"\0".join(word.encode() for word in words) + b"\0")
        (directory / "stat").write_text("%d (%s) S %d %d 0 0 -1 4194560 ...\n" % (pid, comm, parent, pid))
    return str(tmp_path)


@pytest.mark.parametrize(
    "start, found",
    [
        (400, 200),  # the module, under sh under the worker under the playbook
        (300, 200),
        (200, 200),
        (600, 600),
        (500, 0),  # not run by ansible-playbook
        (100, 0),
        (9999, 0),  # no such process
    ],
)
def test_playbook_pid(proc, start, found):
    assert _run.playbook_pid(start, proc) == found


def test_playbook_pid_of_a_broken_stat(proc, tmp_path):
    (tmp_path / "400" / "stat").write_text("garbage")
    assert _run.playbook_pid(400, proc) == 0


@pytest.mark.parametrize(
    "holder, gone",
    [
        ("alice@%s pid=200 run=r1" % HOST, False),  # its playbook still runs
        ("alice@%s pid=9999 run=r1" % HOST, True),  # no such process any more
        ("alice@%s pid=500 run=r1" % HOST, True),  # the pid now runs something else
        ("alice@%s pid=0 run=r1" % HOST, False),  # no pid was known: only expiry frees it
        ("alice@another-host pid=9999 run=r1", False),
        ("@%s pid=9999 run=r1" % HOST, True),
        ("not a holder of ours", False),
        ("", False),
        (None, False),
    ],
)
def test_holder_gone(proc, holder, gone):
    assert _run.holder_gone(holder, proc) is gone


def test_holder_identity(monkeypatch):
    monkeypatch.setattr(_run.getpass, "getuser", lambda: "alice")
    assert _run.holder_identity("r1", pid=42) == "alice@%s pid=42 run=r1" % HOST


def test_holder_identity_without_a_user_name(monkeypatch):
    def no_user():
        raise KeyError("getpwuid(): uid not found: 1000")

    monkeypatch.setattr(_run.getpass, "getuser", no_user)
    monkeypatch.setattr(_run.os, "getuid", lambda: 1000)
    assert _run.holder_identity("r1", pid=7) == "1000@%s pid=7 run=r1" % HOST


def test_holder_identity_is_what_holder_gone_reads(proc, monkeypatch):
    monkeypatch.setattr(_run.getpass, "getuser", lambda: "alice")
    assert _run.holder_gone(_run.holder_identity("r1", pid=9999), proc) is True
    assert _run.holder_gone(_run.holder_identity("r1", pid=200), proc) is False


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
    "run_id": None,
    "lock_duration": 60,
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


def test_find_service(story):
    deployment = story.get("deployments", "litellm")
    container = wiring.litellm_container(deployment)
    kube = story.kube()
    assert _run.find_service(kube, "ml", deployment, container, None, None) == ("litellm", 4000)
    assert _run.find_service(kube, "ml", deployment, container, "given", 8080) == ("given", 8080)
    assert _run.find_service(kube, "ml", deployment, container, "litellm", None) == ("litellm", 4000)
    assert _run.find_service(kube, "ml", deployment, container, None, 9999) == ("litellm", 9999)


def test_find_service_picks_the_port_that_reaches_the_container(cluster):
    other = service_object("other")
    other["spec"]["selector"] = {"app": "something-else"}
    multi = service_object("litellm-multi")
    multi["spec"]["ports"] = [
        {"name": "metrics", "port": 9090, "targetPort": 9090},
        {"name": "api", "port": 80, "targetPort": "http"},
    ]
    for service in (other, multi):
        cluster.add("services", service)
    deployment = litellm_deployment()
    container = wiring.litellm_container(deployment)
    assert _run.find_service(cluster.kube(), "ml", deployment, container, None, None) == ("litellm-multi", 80)


def test_find_service_falls_back_to_the_deployment_name(cluster):
    deployment = litellm_deployment()
    container = wiring.litellm_container(deployment)
    assert _run.find_service(cluster.kube(), "ml", deployment, container, None, None) == ("litellm", 4000)


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


def test_without_a_run_id_there_is_no_fence_and_no_keeper(cluster):
    assert _run.fence_for(cluster.kube(), PARAMS) is None
    assert _run.keep_lock(cluster.kube(), PARAMS) is None
    assert cluster.requests == []


def test_the_fence_of_a_run_that_lost_its_lock_refuses(cluster):
    cluster.add(
        "leases",
        {
            "metadata": {"name": "homelab-litellm-litellm"},
            "spec": {
                "holderIdentity": "bob@elsewhere pid=1 run=r9",
                "leaseDurationSeconds": 60,
                "renewTime": _lock.micro_time(9999999999),
            },
        },
    )
    fence = _run.fence_for(cluster.kube(), dict(PARAMS, run_id="r1"))
    with pytest.raises(_lock.LockError, match="bob@elsewhere pid=1 run=r9 holds it now"):
        fence()
    assert cluster.writes() == []


def test_the_fence_of_the_holder_renews(cluster, monkeypatch):
    monkeypatch.setattr(_run, "playbook_pid", lambda: 0)
    holder = _run.holder_identity("r1")
    cluster.add(
        "leases",
        {
            "metadata": {"name": "homelab-litellm-litellm"},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": 60, "renewTime": "2026-01-01T00:00:00.000000Z"},
        },
    )
    _run.fence_for(cluster.kube(), dict(PARAMS, run_id="r1"))()
    assert cluster.get("leases", "homelab-litellm-litellm")["spec"]["renewTime"] != "2026-01-01T00:00:00.000000Z"
    lock = _run.keep_lock(cluster.kube(), dict(PARAMS, run_id="r1"))
    lock.stop_keeping()
    assert len(cluster.writes("leases")) == 2


def test_expected_failures():
    assert _run.RunFailure("x", {"a": 1}).result == {"a": 1}
    assert _run.RunFailure("x").result == {}
    for error in (_run.RunFailure("x"), pl.PlanError(["x"]), wiring.WiringError("x"), _lock.LockError("x")):
        assert isinstance(error, _run.EXPECTED)
