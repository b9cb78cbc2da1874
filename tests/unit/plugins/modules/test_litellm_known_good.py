# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""litellm_known_good through main(): record the verified state, put it back over this run's writes only."""

from __future__ import annotations

from ansible_collections.homelab.litellm.plugins.module_utils import _known_good as kg
from ansible_collections.homelab.litellm.plugins.module_utils import _lock
from ansible_collections.homelab.litellm.plugins.modules import litellm_known_good
from ansible_collections.homelab.litellm.tests.unit.fake_kube import (
    OTHER_HOLDER,
    STORY_CONFIG,
    STORY_SECRETS,
    b64,
    holder_of,
    settled_story,
    unb64,
)

GROQ_KEY = "gsk_" + "V3r1" * 12
ROTATED = "gsk_" + "N3w0" * 12
MANAGED = {"GROQ_API_KEY": {"secret": "litellm-secrets", "key": "GROQ_API_KEY"}}
SECRETS = dict(STORY_SECRETS, GROQ_API_KEY=GROQ_KEY)
CHANGED_CONFIG = STORY_CONFIG.replace("timeout: 120", "timeout: 60")
RECORD = {"namespace": "ml", "managed_keys": MANAGED, "models": ["vllm-qwen", "ollama-qwen", "openai-gpt4o"]}


def record_of(cluster):
    return kg.read_record(cluster.get("secrets", "litellm-known-good"))


def version(cluster, resource, name):
    return cluster.get(resource, name)["metadata"]["resourceVersion"]


def hold(cluster, who, renewed=1796000000):
    cluster.add(
        "leases",
        {
            "metadata": {"name": "homelab-litellm-litellm"},
            "spec": {"holderIdentity": who, "leaseDurationSeconds": 60, "renewTime": _lock.micro_time(renewed)},
        },
    )


def values_in(text):
    values = set(SECRETS.values()) | {ROTATED}
    return sorted(value for value in values | {b64(v) for v in values} if value in text)


# -- recorded --------------------------------------------------------------------------------------


def test_the_verified_live_state_is_recorded(cluster, run_module):
    settled_story(cluster, secret_values=SECRETS, record=False)
    hold(cluster, holder_of("r1"))
    result = run_module(litellm_known_good, dict(RECORD, run_id="r1"), diff=True)
    assert result.rc == 0 and result["changed"] is True
    assert (result["record"], result["secret_keys"], result["restored"]) == ("litellm-known-good", ["GROQ_API_KEY"], [])
    assert result["diff"]["before"] == "" and result["diff"]["after"] == STORY_CONFIG
    record = record_of(cluster)
    assert (record.config_text, record.verified, record.run) == (STORY_CONFIG, "true", "r1")
    assert record.keys == {"GROQ_API_KEY": ("litellm-secrets", "GROQ_API_KEY", GROQ_KEY)}
    assert record.models == RECORD["models"] and record.recorded_at == result["recorded_at"]
    assert values_in(result.output) == []


def test_recording_the_same_state_again_is_no_change(cluster, run_module):
    settled_story(cluster, secret_values=SECRETS, managed=["GROQ_API_KEY"])
    hold(cluster, holder_of("r2"))
    result = run_module(litellm_known_good, dict(RECORD, run_id="r2"))
    assert result["changed"] is False
    assert record_of(cluster).run == "r2", "the record still says which run proved it last"


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


def test_a_run_that_lost_its_lock_records_nothing(cluster, run_module):
    settled_story(cluster, secret_values=SECRETS, record=False)
    hold(cluster, OTHER_HOLDER, renewed=9999999999)
    result = run_module(litellm_known_good, dict(RECORD, run_id="r1", release_lock=True))
    assert result.failed and "no longer holds the lock" in result["msg"]
    assert cluster.writes() == []


def test_the_lock_is_released_when_asked(cluster, run_module):
    settled_story(cluster, secret_values=SECRETS, record=False)
    hold(cluster, holder_of("r1"))
    result = run_module(litellm_known_good, dict(RECORD, run_id="r1", release_lock=True))
    assert result["lock_released"] is True
    assert cluster.get("leases", "homelab-litellm-litellm")["spec"]["holderIdentity"] is None
    again = run_module(
        litellm_known_good, {"namespace": "ml", "state": "restored", "run_id": "r1", "release_lock": True}
    )
    assert again.rc == 0 and again["lock_released"] is False, "only a lock this run holds is released"
    hold_check = run_module(litellm_known_good, dict(RECORD, run_id="r1", release_lock=True), check_mode=True)
    assert hold_check["lock_released"] is False


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
    assert [r.resource for r in cluster.writes()] == ["configmaps"]


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
    assert cluster.writes() == []


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
    assert result["left_alone"] == ["ConfigMap ml/litellm-config is gone"] and cluster.writes() == []


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


def test_restoring_is_fenced(cluster, run_module):
    settled_story(cluster, secret_values=SECRETS, managed=["GROQ_API_KEY"])
    expected = run_wrote_both(cluster)
    hold(cluster, OTHER_HOLDER, renewed=9999999999)
    result = run_module(
        litellm_known_good, {"namespace": "ml", "state": "restored", "expected": expected, "run_id": "r1"}
    )
    assert result.failed and "no longer holds the lock" in result["msg"]
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
    assert cluster.writes() == []
