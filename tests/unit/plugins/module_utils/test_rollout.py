# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/_rollout.py (pure logic, no cluster)."""

from __future__ import annotations

import base64
import copy
import hashlib
from pathlib import Path

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _rollout as rt
from ansible_collections.homelab.litellm.plugins.module_utils import _secret_plan as sp

STORY = (Path(__file__).parent / "fixtures" / "story-config.yaml").read_text()


def b64(text):
    return base64.b64encode(text.encode()).decode()


SECRET = {
    "LITELLM_MASTER_KEY": b64("sk-" + "a1" * 24),
    "OPENAI_API_KEY": b64("sk-openai-real-0123456789"),
    "DATABASE_URL": b64("postgresql://u:p4ss@db:5432/x"),
}


# -- digest ------------------------------------------------------------------------
def test_story_config_references():
    assert rt.config_env_vars(STORY) == ["DATABASE_URL", "LITELLM_MASTER_KEY", "OPENAI_API_KEY"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("model_list: [}", []),
        ("", []),
        ("- a list\n", []),
        ("# api_key: os.environ/COMMENTED_OUT\nmodel_list: []\n", ["LITELLM_MASTER_KEY"]),
        ("model_list:\n- litellm_params: {api_key: os.environ/GROQ_API_KEY}\n", ["GROQ_API_KEY", "LITELLM_MASTER_KEY"]),
        ("general_settings:\n  master_key: os.environ/PROXY_KEY\n", ["PROXY_KEY"]),
        ("general_settings:\n  master_key: sk-written-literally\n", []),
    ],
)
def test_config_env_vars_reads_yaml_values_and_the_master_key_variable(text, expected):
    """The master key's variable counts even when the config does not name it: LiteLLM reads
    LITELLM_MASTER_KEY by default, and a rotated master key must restart LiteLLM too."""
    assert rt.config_env_vars(text) == expected


def test_rollout_digest_definition():
    keys = sp.keys_digest(SECRET, ["LITELLM_MASTER_KEY", "OPENAI_API_KEY"])
    config = hashlib.sha256(STORY.encode()).hexdigest()
    expected = hashlib.sha256(("config=%s\nkeys=%s\n" % (config, keys)).encode()).hexdigest()
    assert rt.rollout_digest(STORY, SECRET, ["OPENAI_API_KEY", "LITELLM_MASTER_KEY"]) == expected


def test_rollout_digest_changes_with_config_and_referenced_keys_only():
    names = ["LITELLM_MASTER_KEY", "OPENAI_API_KEY"]
    base = rt.rollout_digest(STORY, SECRET, names)
    assert rt.rollout_digest(STORY + "\n", SECRET, names) != base
    assert rt.rollout_digest(STORY, dict(SECRET, OPENAI_API_KEY=b64("sk-rotated-0000000000")), names) != base
    assert rt.rollout_digest(STORY, dict(SECRET, DATABASE_URL=b64("postgresql://other")), names) == base
    assert rt.rollout_digest(STORY, dict(SECRET, GROQ_API_KEY=b64("gsk_new")), names) == base
    assert rt.rollout_digest(STORY, SECRET, names + ["GROQ_API_KEY"]) != base


@pytest.mark.parametrize(
    "previous, force, expected",
    [
        (None, False, (True, rt.REASON_CHANGED)),
        ("old", False, (True, rt.REASON_CHANGED)),
        ("old", True, (True, rt.REASON_CHANGED)),
        ("new", True, (True, rt.REASON_FORCED)),
        ("new", False, (False, rt.REASON_UNCHANGED)),
    ],
)
def test_plan_restart(previous, force, expected):
    assert rt.plan_restart(previous, "new", force) == expected


def test_restart_patch():
    assert rt.restart_patch("d1") == {"spec": {"template": {"metadata": {"annotations": {rt.DIGEST_ANNOTATION: "d1"}}}}}
    forced = rt.restart_patch("d1", "2026-11-26T12:00:00Z")
    assert forced["spec"]["template"]["metadata"]["annotations"][rt.RESTARTED_AT_ANNOTATION] == "2026-11-26T12:00:00Z"


# -- fixtures: a Deployment in the middle of a rollout ----------------------------
TEMPLATE = {
    "metadata": {"labels": {"app": "litellm"}, "annotations": {rt.DIGEST_ANNOTATION: "new"}},
    "spec": {
        "containers": [
            {
                "name": "litellm",
                "image": "litellm",
                "envFrom": [{"secretRef": {"name": "litellm-secrets"}}],
                "env": [{"name": "EXTRA_KEY", "value": "x"}],
            }
        ]
    },
}


def deployment(
    generation=2,
    observed=2,
    replicas=1,
    updated=1,
    available=1,
    status_replicas=None,
    progressing="NewReplicaSetAvailable",
    paused=False,
):
    status = {
        "observedGeneration": observed,
        "replicas": replicas if status_replicas is None else status_replicas,
        "updatedReplicas": updated,
        "availableReplicas": available,
        "readyReplicas": available,
        "conditions": [
            {
                "type": "Available",
                "status": "True",
                "reason": "MinimumReplicasAvailable",
                "message": "Deployment has minimum availability.",
            },
            {
                "type": "Progressing",
                "status": "False" if progressing == "ProgressDeadlineExceeded" else "True",
                "reason": progressing,
                "message": 'ReplicaSet "litellm-new" has timed out progressing.'
                if progressing == "ProgressDeadlineExceeded"
                else "progressing",
            },
        ],
    }
    spec = {"replicas": replicas, "selector": {"matchLabels": {"app": "litellm"}}, "template": copy.deepcopy(TEMPLATE)}
    if paused:
        spec["paused"] = True
    return {
        "metadata": {
            "name": "litellm",
            "namespace": "ml",
            "uid": "dep-uid",
            "generation": generation,
            "annotations": {rt.REVISION_ANNOTATION: "2"},
        },
        "spec": spec,
        "status": status,
    }


def replicaset(hash_, revision, digest):
    template = copy.deepcopy(TEMPLATE)
    template["metadata"]["labels"]["pod-template-hash"] = hash_
    template["metadata"]["annotations"] = {rt.DIGEST_ANNOTATION: digest}
    return {
        "metadata": {
            "name": "litellm-" + hash_,
            "uid": "rs-" + hash_,
            "labels": {"app": "litellm", "pod-template-hash": hash_},
            "annotations": {rt.REVISION_ANNOTATION: str(revision)},
            "ownerReferences": [{"kind": "Deployment", "uid": "dep-uid"}],
        },
        "spec": {"replicas": 1, "template": template},
    }


OLD_RS, NEW_RS = replicaset("old", 1, "old"), replicaset("new", 2, "new")


def pod(hash_, suffix="abcde", ready=True, restarts=0, waiting=None, exit_code=None, terminating=False):
    cstatus = {
        "name": "litellm",
        "ready": ready,
        "restartCount": restarts,
        "state": {"waiting": {"reason": waiting, "message": "back-off 10s restarting failed container"}}
        if waiting
        else {"running": {"startedAt": "2026-11-26T12:00:00Z"}},
    }
    if exit_code is not None:
        cstatus["lastState"] = {"terminated": {"exitCode": exit_code, "reason": "Error"}}
    meta = {
        "name": "litellm-%s-%s" % (hash_, suffix),
        "labels": {"app": "litellm", "pod-template-hash": hash_},
        "ownerReferences": [{"kind": "ReplicaSet", "uid": "rs-" + hash_}],
    }
    if terminating:
        meta["deletionTimestamp"] = "2026-11-26T12:00:05Z"
    return {
        "metadata": meta,
        "status": {
            "phase": "Running",
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True" if ready else "False",
                    "lastTransitionTime": "2026-11-26T12:00:%02dZ" % (len(suffix) + 10),
                }
            ],
            "containerStatuses": [cstatus],
        },
    }


# -- assess_rollout ----------------------------------------------------------------
def test_done():
    state, message = rt.assess_rollout(deployment(), [pod("new")], [OLD_RS, NEW_RS])
    assert state == rt.DONE and "successfully rolled out" in message


def test_result_unpacks_as_a_pair_and_has_the_pod():
    result = rt.assess_rollout(deployment(), [pod("new")], [OLD_RS, NEW_RS])
    assert len(result) == 2 and result.state == rt.DONE and result.pod is None


@pytest.mark.parametrize(
    "dep, pods, fragment",
    [
        (deployment(generation=3, observed=2), [pod("new")], "observe generation 3"),
        (deployment(updated=0, available=1), [pod("old")], "0 of 1 new replicas"),
        (
            deployment(status_replicas=2, updated=1, available=1),
            [pod("old"), pod("new", ready=False)],
            "1 old replicas are pending termination",
        ),
        (deployment(available=0), [pod("new", ready=False)], "0 of 1 updated replicas are available"),
        (deployment(), [pod("new"), pod("old")], "old pods still running: litellm-old-abcde"),
    ],
)
def test_progressing(dep, pods, fragment):
    state, message = rt.assess_rollout(dep, pods, [OLD_RS, NEW_RS])
    assert state == rt.PROGRESSING and fragment in message


def test_a_terminating_old_pod_does_not_hold_the_rollout():
    """It has left the endpoints (kubectl rollout status does not wait for it either)."""
    state, _message = rt.assess_rollout(deployment(), [pod("new"), pod("old", terminating=True)], [OLD_RS, NEW_RS])
    assert state == rt.DONE


def test_without_pods_never_done():
    state, message = rt.assess_rollout(deployment(), None, None)
    assert state == rt.PROGRESSING and "pods not checked" in message


@pytest.mark.parametrize(
    "new_pod, fragments",
    [
        (
            pod("new", ready=False, restarts=1, waiting="CrashLoopBackOff", exit_code=1),
            ["litellm-new-abcde", "CrashLoopBackOff", "last exit code 1", "1 restart,"],
        ),
        (pod("new", ready=False, restarts=2, exit_code=3), ["restarted 2 times", "last exit code 3"]),
        (pod("new", ready=False, waiting="CreateContainerConfigError"), ["CreateContainerConfigError"]),
        (pod("new", ready=False, waiting="ImagePullBackOff"), ["ImagePullBackOff"]),
        (pod("new", ready=False, waiting="ErrImagePull"), ["ErrImagePull"]),
    ],
)
def test_failed_new_pod(new_pod, fragments):
    dep = deployment(status_replicas=2, updated=1, available=1)
    result = rt.assess_rollout(dep, [pod("old"), new_pod], [OLD_RS, NEW_RS])
    assert result.state == rt.FAILED
    assert result.pod == "litellm-new-abcde"
    for fragment in fragments:
        assert fragment in result.message


def test_restart_count_threshold_and_switch():
    dep = deployment(status_replicas=2, updated=1, available=1)
    one_restart = pod("new", ready=False, restarts=1, exit_code=1)
    assert rt.assess_rollout(dep, [pod("old"), one_restart], [OLD_RS, NEW_RS])[0] == rt.PROGRESSING
    assert rt.assess_rollout(dep, [pod("old"), one_restart], [OLD_RS, NEW_RS], max_restarts=1)[0] == rt.FAILED
    many = pod("new", ready=False, restarts=9, exit_code=1)
    assert rt.assess_rollout(dep, [pod("old"), many], [OLD_RS, NEW_RS], max_restarts=0)[0] == rt.PROGRESSING


def test_a_crashing_old_pod_is_not_the_rollouts_failure():
    dep = deployment(status_replicas=2, updated=1, available=0)
    old = pod("old", ready=False, restarts=5, waiting="CrashLoopBackOff", exit_code=1)
    assert rt.assess_rollout(dep, [old, pod("new", ready=False)], [OLD_RS, NEW_RS])[0] == rt.PROGRESSING


def test_pods_of_other_owners_are_ignored():
    stranger = pod("new", suffix="zzzzz", ready=False, restarts=7, waiting="CrashLoopBackOff")
    stranger["metadata"]["ownerReferences"] = [{"kind": "ReplicaSet", "uid": "someone-else"}]
    assert rt.assess_rollout(deployment(), [pod("new"), stranger], [OLD_RS, NEW_RS])[0] == rt.DONE


def test_progress_deadline_exceeded():
    dep = deployment(status_replicas=2, updated=1, available=1, progressing="ProgressDeadlineExceeded")
    state, message = rt.assess_rollout(dep, [pod("old"), pod("new", ready=False)], [OLD_RS, NEW_RS])
    assert state == rt.FAILED and "progress deadline" in message and "timed out progressing" in message
    # also visible without pods
    assert rt.assess_rollout(dep, None, None)[0] == rt.FAILED


def test_paused():
    assert rt.assess_rollout(deployment(paused=True), [pod("new")], [OLD_RS, NEW_RS])[0] == rt.FAILED


def test_newest_replicaset_by_template_then_revision():
    assert rt.newest_replicaset(deployment(), [OLD_RS, NEW_RS]) is NEW_RS
    dep = deployment()
    dep["spec"]["template"]["metadata"]["annotations"][rt.DIGEST_ANNOTATION] = "not-yet-created"
    assert rt.newest_replicaset(dep, [NEW_RS, OLD_RS]) is NEW_RS  # highest revision
    assert rt.newest_replicaset(dep, []) is None


def test_rollback_to_an_older_template_uses_its_replicaset():
    dep = deployment()
    dep["spec"]["template"]["metadata"]["annotations"][rt.DIGEST_ANNOTATION] = "old"
    assert rt.newest_replicaset(dep, [OLD_RS, NEW_RS]) is OLD_RS
    state, _message = rt.assess_rollout(dep, [pod("old")], [OLD_RS, NEW_RS])
    assert state == rt.DONE


def test_status_complete():
    assert rt.status_complete(deployment())
    assert not rt.status_complete(deployment(generation=3, observed=2))
    assert not rt.status_complete(deployment(status_replicas=2))


# -- helpers -----------------------------------------------------------------------
def test_ready_at_and_summary():
    assert rt.ready_at(deployment(), [pod("new"), pod("old", suffix="x")], [OLD_RS, NEW_RS]) == "2026-11-26T12:00:15Z"
    assert rt.ready_at(deployment(), [pod("new", ready=False)], [OLD_RS, NEW_RS]) is None
    summary = rt.deployment_summary(deployment())
    assert summary["revision"] == "2" and summary["observed_generation"] == 2
    assert summary["updated_replicas"] == summary["available_replicas"] == summary["replicas"] == 1
    assert [c["type"] for c in summary["conditions"]] == ["Available", "Progressing"]


def test_selector_and_template_annotations():
    dep = deployment()
    dep["spec"]["selector"]["matchLabels"]["tier"] = "proxy"
    assert rt.selector_string(dep) == "app=litellm,tier=proxy"
    assert rt.selector_string({"spec": {}}) == ""
    assert rt.template_annotations(dep) == {rt.DIGEST_ANNOTATION: "new"}
    assert rt.template_annotations({}) == {}


def test_failure_message_scrubs_the_log():
    result = rt.Assessment(rt.FAILED, "pod litellm-new-abcde container litellm: CrashLoopBackOff", "litellm-new-abcde")
    log = "starting\nconnecting with sk-openai-real-0123456789\nValueError: bad config\n"
    message = rt.failure_message("ml", "litellm", result, log, sp.secret_values(data_b64=SECRET))
    assert "sk-openai-real-0123456789" not in message
    assert "connecting with ***" in message
    assert "ValueError: bad config" in message and "litellm-new-abcde" in message
    assert message.startswith("Rollout of deployment ml/litellm failed: pod litellm-new-abcde")
