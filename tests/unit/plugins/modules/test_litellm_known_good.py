# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""litellm_known_good through main(): record the verified state, put it back over this run's writes only.

The module takes the run lock (a Lease) for its own duration; ``own_writes`` are its writes without the Lease's."""

from __future__ import annotations

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _known_good as kg
from ansible_collections.homelab.litellm.plugins.module_utils import _lock
from ansible_collections.homelab.litellm.plugins.modules import litellm_known_good
from ansible_collections.homelab.litellm.tests.unit.fake_kube import (
    OTHER_HOLDER,
    STORY_CONFIG,
    STORY_SECRETS,
    b64,
    settled_story,
    unb64,
)

GROQ_KEY = "gsk_" + "V3r1" * 12
ROTATED = "gsk_" + "N3w0" * 12
MANAGED = {"GROQ_API_KEY": {"secret": "litellm-secrets", "key": "GROQ_API_KEY"}}
SECRETS = dict(STORY_SECRETS, GROQ_API_KEY=GROQ_KEY)
CHANGED_CONFIG = STORY_CONFIG.replace("timeout: 120", "timeout: 60")
RECORD = {"namespace": "ml", "managed_keys": MANAGED, "models": ["vllm-qwen", "ollama-qwen", "openai-gpt4o"]}
LEASE = "homelab-litellm-litellm"


def record_of(cluster):
    return kg.read_record(cluster.get("secrets", "litellm-known-good"))


def version(cluster, resource, name):
    return cluster.get(resource, name)["metadata"]["resourceVersion"]


def hold(cluster, who, renewed=9999999999):
    cluster.add(
        "leases",
        {
            "metadata": {"name": LEASE},
            "spec": {"holderIdentity": who, "leaseDurationSeconds": 15, "renewTime": _lock.micro_time(renewed)},
        },
    )


def own_writes(cluster):
    return [(r.method, r.resource) for r in cluster.writes() if r.resource != "leases"]


def values_in(text):
    values = set(SECRETS.values()) | {ROTATED}
    return sorted(value for value in values | {b64(v) for v in values} if value in text)


# -- recorded --------------------------------------------------------------------------------------


def test_the_verified_live_state_is_recorded(cluster, run_module):
    settled_story(cluster, secret_values=SECRETS, record=False)
    result = run_module(litellm_known_good, RECORD, diff=True)
    assert result.rc == 0 and result["changed"] is True
    assert (result["record"], result["secret_keys"], result["restored"]) == ("litellm-known-good", ["GROQ_API_KEY"], [])
    assert result["diff"]["before"] == "" and result["diff"]["after"] == STORY_CONFIG
    record = record_of(cluster)
    assert (record.config_text, record.verified) == (STORY_CONFIG, "true")
    assert record.keys == {"GROQ_API_KEY": ("litellm-secrets", "GROQ_API_KEY", GROQ_KEY)}
    assert record.models == RECORD["models"] and record.recorded_at == result["recorded_at"]
    assert values_in(result.output) == []


def recorded_once(cluster, run_module):
    """The settled story recorded by this module: the record holds what is live, at a time of its own."""
    settled_story(cluster, secret_values=SECRETS, record=False)
    assert run_module(litellm_known_good, RECORD).rc == 0
    record = record_of(cluster)
    cluster.edit(
        "secrets",
        "litellm-known-good",
        lambda obj: obj["metadata"]["annotations"].update({kg.RECORDED_AT: "2026-12-01T10:00:00Z"}),
    )
    cluster.requests.clear()
    return record


def test_recording_the_same_state_again_writes_nothing_and_leaves_the_lock_alone(cluster, run_module):
    recorded_once(cluster, run_module)
    secret, lease = cluster.get("secrets", "litellm-known-good"), cluster.get("leases", LEASE)
    result = run_module(litellm_known_good, dict(RECORD, models=list(reversed(RECORD["models"]))), diff=True)
    assert result.rc == 0 and result["changed"] is False and result["differences"] == []
    assert cluster.writes() == [] and cluster.get("leases", LEASE) == lease, "no write, no lock"
    assert cluster.get("secrets", "litellm-known-good") == secret
    assert result["recorded_at"] == record_of(cluster).recorded_at == "2026-12-01T10:00:00Z"
    assert result["diff"]["before"] == result["diff"]["after"] == STORY_CONFIG
    assert values_in(result.output) == []


def test_check_mode_of_the_same_state_is_no_change(cluster, run_module):
    recorded_once(cluster, run_module)
    result = run_module(litellm_known_good, RECORD, check_mode=True, diff=True)
    assert (result["changed"], result["differences"], result["recorded_at"]) == (False, [], "2026-12-01T10:00:00Z")
    assert cluster.writes() == []


def test_refresh_time_records_the_same_state_again_under_the_lock(cluster, run_module):
    recorded_once(cluster, run_module)
    checked = run_module(litellm_known_good, dict(RECORD, refresh_time=True), check_mode=True)
    assert checked["changed"] is True and checked["recorded_at"] == "2026-12-01T10:00:00Z"
    assert cluster.writes() == []
    result = run_module(litellm_known_good, dict(RECORD, refresh_time=True))
    assert result["changed"] is True and result["differences"] == []
    assert [(r.method, r.resource) for r in cluster.writes()] == [
        ("PUT", "leases"),
        ("PUT", "leases"),
        ("PUT", "secrets"),
        ("PUT", "leases"),
    ]
    assert record_of(cluster).recorded_at == result["recorded_at"] != "2026-12-01T10:00:00Z"


def baseline(record):
    return record._replace(verified="baseline")


def pending(record):
    return kg.with_pending(record, "litellm_config", "2026-12-02T10:00:00Z", config_text=STORY_CONFIG)


@pytest.mark.parametrize(
    "change, difference",
    [
        (lambda record: record._replace(models=["vllm-qwen"]), "the models"),
        (lambda record: record._replace(pod_template=None), "what the pod template loads"),
        (lambda record: record._replace(pod_template=["volume old-secret"]), "what the pod template loads"),
        (lambda record: record._replace(keys={}), "keys GROQ_API_KEY"),
        (lambda record: record._replace(config_text=CHANGED_CONFIG), "the config"),
        (baseline, "verified (baseline, now true)"),
        (pending, "the pending part (litellm_config at 2026-12-02T10:00:00Z)"),
    ],
    ids=["models", "old-record", "pod-template", "keys", "config", "baseline", "pending"],
)
def test_a_record_that_differs_is_written_again(cluster, run_module, change, difference):
    record = recorded_once(cluster, run_module)
    cluster.add("secrets", kg.record_body("ml", "litellm", change(record)))
    cluster.requests.clear()
    result = run_module(litellm_known_good, RECORD)
    assert result["changed"] is True and result["differences"] == [difference]
    assert ("PUT", "secrets") in [(r.method, r.resource) for r in cluster.writes()]
    assert record_of(cluster)._replace(recorded_at=None) == record._replace(recorded_at=None)
    assert values_in(result.output) == []


def test_a_state_changed_after_the_rollout_is_not_recorded(cluster, run_module):
    settled_story(cluster, secret_values=SECRETS, record=False)
    cluster.edit("secrets", "litellm-secrets", lambda obj: obj["data"].update(OPENAI_API_KEY=b64("sk-rotated-0000")))
    result = run_module(litellm_known_good, RECORD)
    assert result.failed and result["msg"].startswith(
        "Not recorded: the live config or keys changed after LiteLLM was rolled out onto them"
    )
    assert cluster.writes() == [] and record_of(cluster) is None


def test_check_mode_records_nothing(cluster, run_module):
    settled_story(cluster, secret_values=SECRETS, record=False)
    result = run_module(litellm_known_good, RECORD, check_mode=True)
    assert result["changed"] is True and result["recorded_at"] is None
    assert cluster.writes() == []


def test_a_module_whose_lock_a_run_of_the_role_holds_records_nothing(cluster, run_module):
    settled_story(cluster, secret_values=SECRETS, record=False)
    hold(cluster, OTHER_HOLDER)
    result = run_module(litellm_known_good, dict(RECORD, lock_timeout=0))
    assert result.failed and "%s holds its lock" % OTHER_HOLDER in result["msg"]
    assert cluster.writes() == [] and record_of(cluster) is None


def test_the_record_is_written_under_the_lock_and_the_lock_freed(cluster, run_module):
    settled_story(cluster, secret_values=SECRETS, record=False)
    assert run_module(litellm_known_good, RECORD).rc == 0
    assert [(r.method, r.resource) for r in cluster.writes()] == [
        ("POST", "leases"),
        ("PUT", "leases"),
        ("POST", "secrets"),
        ("PUT", "leases"),
    ]
    assert cluster.get("leases", LEASE)["spec"]["holderIdentity"] is None


def test_lock_false_records_without_the_lock(cluster, run_module):
    settled_story(cluster, secret_values=SECRETS, record=False)
    hold(cluster, OTHER_HOLDER)
    assert run_module(litellm_known_good, dict(RECORD, lock=False)).rc == 0
    assert [(r.method, r.resource) for r in cluster.writes()] == [("POST", "secrets")]


# -- restored --------------------------------------------------------------------------------------


def run_wrote_both(cluster):
    """This run wrote a changed config and a rotated key; returns the versions it left them at."""
    cluster.edit("configmaps", "litellm-config", lambda obj: obj["data"].update({"config.yaml": CHANGED_CONFIG}))
    cluster.edit("secrets", "litellm-secrets", lambda obj: obj["data"].update(GROQ_API_KEY=b64(ROTATED)))
    return {
        "configmaps": {"litellm-config": version(cluster, "configmaps", "litellm-config")},
        "secrets": {"litellm-secrets": version(cluster, "secrets", "litellm-secrets")},
    }


def test_what_this_run_wrote_is_put_back(cluster, run_module):
    settled_story(cluster, secret_values=SECRETS, managed=["GROQ_API_KEY"])
    expected = run_wrote_both(cluster)
    result = run_module(litellm_known_good, {"namespace": "ml", "state": "restored", "expected": expected})
    assert result.rc == 0 and result["changed"] is True
    assert result["restored"] == ["ConfigMap ml/litellm-config", "Secret ml/litellm-secrets"]
    assert (result["secret_keys"], result["left_alone"]) == (["GROQ_API_KEY"], [])
    assert result["recorded_at"] == "2026-12-01T10:00:00Z"
    assert cluster.get("configmaps", "litellm-config")["data"]["config.yaml"] == STORY_CONFIG
    assert unb64(cluster.get("secrets", "litellm-secrets")["data"]["GROQ_API_KEY"]) == GROQ_KEY
    assert values_in(result.output) == []


def test_a_key_the_record_lacks_is_removed(cluster, run_module):
    settled_story(cluster, managed=["GROQ_API_KEY"])  # recorded without GROQ_API_KEY
    cluster.edit("secrets", "litellm-secrets", lambda obj: obj["data"].update(GROQ_API_KEY=b64(ROTATED)))
    expected = {"secrets": {"litellm-secrets": version(cluster, "secrets", "litellm-secrets")}}
    result = run_module(litellm_known_good, {"namespace": "ml", "state": "restored", "expected": expected})
    assert result["restored"] == ["Secret ml/litellm-secrets"]
    assert "GROQ_API_KEY" not in cluster.get("secrets", "litellm-secrets")["data"]


def test_an_object_changed_by_someone_else_after_this_run_is_not_restored(cluster, run_module):
    settled_story(cluster, secret_values=SECRETS, managed=["GROQ_API_KEY"])
    expected = run_wrote_both(cluster)
    cluster.edit("secrets", "litellm-secrets", lambda obj: obj["data"].update(GROQ_API_KEY=b64("gsk_" + "o" * 40)))
    result = run_module(litellm_known_good, {"namespace": "ml", "state": "restored", "expected": expected})
    assert result.failed
    assert result["msg"] == (
        "Secret ml/litellm-secrets was changed by someone else after this run wrote it "
        "(resourceVersion %s, this run left %s): not restored; what is live there now stays"
        % (version(cluster, "secrets", "litellm-secrets"), expected["secrets"]["litellm-secrets"])
    )
    assert result["restored"] == ["ConfigMap ml/litellm-config"], "the rest is still put back"
    assert unb64(cluster.get("secrets", "litellm-secrets")["data"]["GROQ_API_KEY"]) == "gsk_" + "o" * 40
    assert cluster.get("configmaps", "litellm-config")["data"]["config.yaml"] == STORY_CONFIG


def test_what_this_run_did_not_write_is_left_alone(cluster, run_module):
    settled_story(cluster, secret_values=SECRETS, managed=["GROQ_API_KEY"])
    expected = run_wrote_both(cluster)
    result = run_module(
        litellm_known_good, {"namespace": "ml", "state": "restored", "expected": {"configmaps": expected["configmaps"]}}
    )
    assert result.rc == 0 and result["restored"] == ["ConfigMap ml/litellm-config"]
    assert result["left_alone"] == [
        "Secret ml/litellm-secrets differs from the last verified state, but this run did not write it"
    ]
    assert unb64(cluster.get("secrets", "litellm-secrets")["data"]["GROQ_API_KEY"]) == ROTATED
    assert own_writes(cluster) == [("PUT", "configmaps")]


def test_nothing_differs_nothing_is_written(cluster, run_module):
    settled_story(cluster, secret_values=SECRETS, managed=["GROQ_API_KEY"])
    result = run_module(
        litellm_known_good,
        {
            "namespace": "ml",
            "state": "restored",
            "expected": {"configmaps": {"litellm-config": "1"}, "secrets": {"litellm-secrets": "1"}},
        },
    )
    assert (result["changed"], result["restored"], result["left_alone"]) == (False, [], [])
    assert own_writes(cluster) == []


def test_without_a_record_there_is_nothing_to_go_back_to(story, run_module):
    result = run_module(litellm_known_good, {"namespace": "ml", "state": "restored"})
    assert result.rc == 0 and result["changed"] is False
    assert result["left_alone"] == ["there is no last verified state (Secret ml/litellm-known-good) to go back to"]


def test_a_deleted_object_is_left_alone(cluster, run_module):
    settled_story(cluster, secret_values=SECRETS, managed=["GROQ_API_KEY"])
    cluster.delete("configmaps", "litellm-config")
    result = run_module(
        litellm_known_good,
        {"namespace": "ml", "state": "restored", "expected": {"configmaps": {"litellm-config": "5"}}},
    )
    assert result["left_alone"] == ["ConfigMap ml/litellm-config is gone"] and own_writes(cluster) == []


def test_check_mode_shows_what_would_be_put_back_without_values(cluster, run_module):
    settled_story(cluster, secret_values=SECRETS, managed=["GROQ_API_KEY"])
    expected = run_wrote_both(cluster)
    result = run_module(
        litellm_known_good, {"namespace": "ml", "state": "restored", "expected": expected}, check_mode=True, diff=True
    )
    assert result["changed"] is True and cluster.writes() == []
    assert result["diff"]["before"] == (CHANGED_CONFIG + "\n# Secret ml/litellm-secrets\nGROQ_API_KEY: <live value>\n")
    assert result["diff"]["after"] == (STORY_CONFIG + "\n# Secret ml/litellm-secrets\nGROQ_API_KEY: <verified value>\n")
    assert values_in(result.output) == []


def test_restoring_waits_for_a_run_of_the_role(cluster, run_module):
    settled_story(cluster, secret_values=SECRETS, managed=["GROQ_API_KEY"])
    expected = run_wrote_both(cluster)
    hold(cluster, OTHER_HOLDER)
    result = run_module(
        litellm_known_good, {"namespace": "ml", "state": "restored", "expected": expected, "lock_timeout": 0}
    )
    assert result.failed and "%s holds its lock" % OTHER_HOLDER in result["msg"]
    assert cluster.writes() == []


def bloat_the_record(cluster):
    """A state.json one byte larger than any Secret the API server would store."""
    cluster.edit(
        "secrets",
        "litellm-known-good",
        lambda obj: obj["data"].update({"state.json": b64('{"config": {"text": "%s"}}' % ("#" * kg.MAX_RECORD_BYTES))}),
    )


def test_a_record_no_secret_can_hold_is_neither_restored_nor_overwritten(cluster, run_module):
    settled_story(cluster, secret_values=SECRETS, managed=["GROQ_API_KEY"])
    bloat_the_record(cluster)
    recorded = run_module(litellm_known_good, RECORD)
    expected = run_wrote_both(cluster)
    restored = run_module(litellm_known_good, {"namespace": "ml", "state": "restored", "expected": expected})
    for result in (recorded, restored):
        assert result.failed and result["msg"].startswith(
            "The last verified state (Secret ml/litellm-known-good key state.json) is 1048600 bytes (1024.0 KiB), "
            "more than Kubernetes lets a Secret hold (1048576 bytes, 1 MiB): refused before it is read"
        )
    assert own_writes(cluster) == []


def test_restoring_is_fenced(cluster, run_module):
    """Another run takes the lock over while this one restores: what is left is not written."""
    settled_story(cluster, secret_values=SECRETS, managed=["GROQ_API_KEY"])
    expected = run_wrote_both(cluster)

    def taken_after_the_config(cluster_, request):
        if request.resource == "configmaps":
            cluster_.edit("leases", LEASE, lambda obj: obj["spec"].update(holderIdentity=OTHER_HOLDER))
            return True
        return False

    cluster.on_write(taken_after_the_config)
    result = run_module(litellm_known_good, {"namespace": "ml", "state": "restored", "expected": expected})
    assert result.failed and "%s holds it now" % OTHER_HOLDER in result["msg"]
    assert own_writes(cluster) == [("PUT", "configmaps")]
    assert unb64(cluster.get("secrets", "litellm-secrets")["data"]["GROQ_API_KEY"]) == ROTATED
