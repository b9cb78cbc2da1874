# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""litellm_rollout through main(): restart on a changed digest, follow the rollout, explain a crash.

The in-memory API server plays the Deployment controller (a new ReplicaSet and pod at the next read
after a template change); the restart's wait gets a clock that moves a second per look and a sleep of its
own. The module takes the run lock (a Lease) only when it restarts.
"""

from __future__ import annotations

import functools

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _lock
from ansible_collections.homelab.litellm.plugins.module_utils import _rollout as rt
from ansible_collections.homelab.litellm.plugins.module_utils.run import rollout as ro
from ansible_collections.homelab.litellm.plugins.modules import litellm_rollout
from ansible_collections.homelab.litellm.tests.unit.fake_kube import (
    OTHER_HOLDER,
    STORY_CONFIG,
    STORY_SECRETS,
    running_digest,
    settled_story,
)

ARGS = {"namespace": "ml", "poll_interval": 0.05}
DIGEST = running_digest(STORY_CONFIG, STORY_SECRETS)
LEASE = "homelab-litellm-litellm"


class Clock:
    def __init__(self):
        self.now = 1000.0
        self.slept = []

    def __call__(self):
        self.now += 1.0
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)


@pytest.fixture(name="clock")
def fixture_clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(ro, "restart_and_wait", functools.partial(ro.restart_and_wait, clock=clock, sleep=clock.sleep))
    return clock


def template_annotations(cluster):
    return rt.template_annotations(cluster.get("deployments", "litellm"))


def test_check_mode_predicts_the_restart_and_writes_nothing(story, run_module, clock):
    result = run_module(litellm_rollout, ARGS, check_mode=True, diff=True)
    assert result.rc == 0
    assert (result["changed"], result["restarted"], result["reason"]) == (True, False, "config or keys changed")
    assert (result["digest"], result["previous_digest"]) == (DIGEST, None)
    assert result["env_vars"] == ["DATABASE_URL", "LITELLM_MASTER_KEY", "OPENAI_API_KEY"]
    assert result["diff"] == {
        "before": "homelab.litellm/config-digest: (none)\n",
        "after": "homelab.litellm/config-digest: %s\n" % DIGEST,
        "before_header": "ml/litellm pod template annotation",
        "after_header": "ml/litellm pod template annotation",
    }
    assert story.writes() == [] and not [r for r in story.requests if r.resource == "pods"]


def test_a_changed_digest_restarts_and_waits_for_the_new_pods(story, run_module, clock):
    result = run_module(litellm_rollout, ARGS)
    assert result.rc == 0 and (result["changed"], result["restarted"]) == (True, True)
    assert result["rollout"] == {"state": "done", "message": "deployment litellm successfully rolled out"}
    assert result["rollout_seconds"] > 0 and result["ready_at"] == "2026-12-01T10:00:40Z"
    assert template_annotations(story) == {rt.DIGEST_ANNOTATION: DIGEST}
    assert result["deployment"]["generation"] == 2 and result["revision"] == "2"
    [patch] = story.writes("deployments")
    assert patch.method == "PATCH"
    assert patch.headers["Content-Type"] == "application/merge-patch+json"
    assert patch.body == rt.restart_patch(DIGEST)


def test_an_unchanged_digest_restarts_nothing(cluster, run_module, clock):
    settled_story(cluster)
    result = run_module(litellm_rollout, ARGS)
    assert (result["changed"], result["restarted"], result["reason"]) == (False, False, "unchanged")
    assert result["rollout"]["state"] == "done" and "rollout_seconds" not in result
    assert cluster.writes() == []


def test_force_restarts_with_a_time_stamp(cluster, run_module, clock):
    settled_story(cluster)
    result = run_module(litellm_rollout, dict(ARGS, force=True))
    assert (result["changed"], result["restarted"], result["reason"]) == (True, True, "forced")
    annotations = template_annotations(cluster)
    assert annotations[rt.DIGEST_ANNOTATION] == DIGEST
    assert _lock.parse_time(annotations[rt.RESTARTED_AT_ANNOTATION]) is not None


def test_wait_false_returns_after_the_patch(story, run_module, clock):
    result = run_module(litellm_rollout, dict(ARGS, wait=False))
    assert result["restarted"] is True and "rollout" not in result
    assert not [r for r in story.requests if r.resource == "pods"]
    assert [(r.method, r.resource) for r in story.writes()] == [
        ("POST", "leases"),
        ("PUT", "leases"),
        ("PATCH", "deployments"),
        ("PUT", "leases"),
    ]


def test_a_crashing_new_pod_fails_fast_with_its_scrubbed_log(story, run_module, clock):
    story.rollout = "crash"
    leaked = STORY_SECRETS["OPENAI_API_KEY"]
    story.logs[("*", True)] = "loading config\nusing key %s\nValueError: bad model\n" % leaked
    result = run_module(litellm_rollout, ARGS)
    assert result.failed and result.rc == 1
    assert result["msg"].startswith("Rollout of deployment ml/litellm failed: pod litellm-")
    assert "CrashLoopBackOff, last exit code 1 (Error), 3 restarts" in result["msg"]
    assert "ValueError: bad model" in result["msg"] and "using key ***" in result["msg"]
    assert leaked not in result.output
    assert result["failed_pod"].endswith("-x1") and result["rollout"]["state"] == "failed"
    assert "homelab.litellm.litellm_known_good state=restored" in result["msg"]


def test_a_rollout_that_never_completes_times_out(story, run_module, clock):
    story.rollout = None
    result = run_module(litellm_rollout, dict(ARGS, timeout=5))
    assert result.failed
    assert result["msg"].startswith(
        "Rollout of deployment ml/litellm failed: not complete after 5 s; last seen: "
        "waiting for the Deployment controller to observe generation 2 (observed 1)."
    )
    assert result["wait_seconds"] >= 5


def hold(cluster, who):
    cluster.add(
        "leases",
        {
            "metadata": {"name": LEASE},
            "spec": {"holderIdentity": who, "leaseDurationSeconds": 15, "renewTime": _lock.micro_time(9999999999)},
        },
    )


def test_a_restart_waits_for_a_run_of_the_role_and_patches_nothing(story, run_module, clock):
    hold(story, OTHER_HOLDER)
    result = run_module(litellm_rollout, dict(ARGS, lock_timeout=0))
    assert result.failed and "%s holds its lock" % OTHER_HOLDER in result["msg"]
    assert story.writes() == [] and template_annotations(story) == {}


def test_the_lock_is_renewed_before_the_patch_and_freed_after_the_wait(story, run_module, clock):
    result = run_module(litellm_rollout, ARGS)
    assert result["restarted"] is True
    assert [(r.method, r.resource) for r in story.writes()] == [
        ("POST", "leases"),
        ("PUT", "leases"),
        ("PATCH", "deployments"),
        ("PUT", "leases"),
    ]
    assert story.get("leases", LEASE)["spec"]["holderIdentity"] is None


def test_a_wait_without_a_restart_takes_no_lock(cluster, run_module, clock):
    settled_story(cluster)
    hold(cluster, OTHER_HOLDER)
    result = run_module(litellm_rollout, ARGS)
    assert result["restarted"] is False and result["rollout"]["state"] == "done"
    assert cluster.writes() == []


def test_the_lock_is_freed_when_the_rollout_fails(story, run_module, clock):
    story.rollout = "crash"
    result = run_module(litellm_rollout, ARGS)
    assert result.failed and story.get("leases", LEASE)["spec"]["holderIdentity"] is None


def test_a_referenced_variable_the_pod_does_not_get_is_warned(story, run_module, clock):
    story.edit(
        "configmaps",
        "litellm-config",
        lambda obj: obj["data"].update({"config.yaml": STORY_CONFIG.replace("OPENAI_API_KEY", "GROQ_API_KEY")}),
    )
    result = run_module(litellm_rollout, ARGS, check_mode=True)
    assert result.warning_texts == [
        "The config references GROQ_API_KEY, which container litellm does not get from "
        "anywhere: LiteLLM sends those requests without a key (401). Add them with "
        "homelab.litellm.litellm_secret."
    ]


def test_env_vars_given_replace_the_references(story, run_module, clock):
    result = run_module(litellm_rollout, dict(ARGS, env_vars=["OPENAI_API_KEY", "OPENAI_API_KEY"]), check_mode=True)
    assert result["env_vars"] == ["OPENAI_API_KEY"]
    data = story.get("secrets", "litellm-secrets")["data"]
    assert result["digest"] == rt.rollout_digest(STORY_CONFIG, data, ["OPENAI_API_KEY"])


def test_a_missing_deployment_or_config_is_named(cluster, run_module, clock):
    result = run_module(litellm_rollout, ARGS)
    assert result.failed and result["msg"] == "Deployment ml/litellm not found; check namespace and name."
    settled_story(cluster)
    result = run_module(litellm_rollout, dict(ARGS, config_key="other.yaml"))
    assert result.failed and result["msg"] == (
        "ConfigMap ml/litellm-config has no key 'other.yaml'; set configmap and config_key to the ones LiteLLM reads."
    )
