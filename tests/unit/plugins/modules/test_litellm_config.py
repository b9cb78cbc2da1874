# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""litellm_config through main(): the merge written with optimistic concurrency, check mode, the run lock.

The module takes the run lock (a Lease) for its own duration: ``story.writes("configmaps")`` are its writes
of the config, the Lease's are counted apart."""

from __future__ import annotations

from ansible_collections.homelab.litellm.plugins.module_utils import _k8s, _lock
from ansible_collections.homelab.litellm.plugins.modules import litellm_config
from ansible_collections.homelab.litellm.tests.unit.fake_kube import OTHER_HOLDER, STORY_CONFIG

GROQ = {
    "model_name": "groq/openai/gpt-oss-120b",
    "litellm_params": {"model": "groq/openai/gpt-oss-120b", "api_key": "os.environ/GROQ_API_KEY"},
}
ARGS = {"namespace": "ml", "models": [GROQ]}
OPERATOR_COMMENT = "# edited by the operator\n"
LEASE = "homelab-litellm-litellm"


def live(cluster):
    return cluster.get("configmaps", "litellm-config")["data"]["config.yaml"]


def test_the_merge_is_written_to_the_configmap_the_deployment_mounts(story, run_module):
    result = run_module(litellm_config, ARGS)
    assert result.rc == 0 and result["changed"] is True
    assert result["added"] == ["groq/openai/gpt-oss-120b"]
    assert result["configmap"] == {"name": "litellm-config", "key": "config.yaml"}
    assert result["config"] == live(story) and "groq/openai/gpt-oss-120b" in live(story)
    assert result["resource_version"] == story.get("configmaps", "litellm-config")["metadata"]["resourceVersion"]
    assert result["env_vars"] == ["DATABASE_URL", "GROQ_API_KEY", "LITELLM_MASTER_KEY", "OPENAI_API_KEY"]
    assert [r.method for r in story.writes("configmaps")] == ["PUT"]


def test_a_second_run_changes_nothing(story, run_module):
    run_module(litellm_config, ARGS)
    version = story.get("configmaps", "litellm-config")["metadata"]["resourceVersion"]
    result = run_module(litellm_config, ARGS)
    assert result["changed"] is False and result["unchanged"] == ["groq/openai/gpt-oss-120b"]
    assert result["resource_version"] == version and len(story.writes("configmaps")) == 1


def test_a_conflict_is_planned_again_on_the_fresh_object(story, run_module):
    story.interfere(
        "configmaps",
        "litellm-config",
        lambda obj: obj["data"].update({"config.yaml": OPERATOR_COMMENT + obj["data"]["config.yaml"]}),
    )
    result = run_module(litellm_config, ARGS)
    text = live(story)
    assert result["changed"] is True
    assert text.startswith(OPERATOR_COMMENT), "the other writer's change survives"
    assert "groq/openai/gpt-oss-120b" in text
    assert [r.method for r in story.writes("configmaps")] == ["PUT", "PUT"], "one refused with 409, one written"
    assert result["resource_version"] == story.get("configmaps", "litellm-config")["metadata"]["resourceVersion"]


def test_endless_conflicts_fail_without_writing(story, run_module):
    story.interfere(
        "configmaps",
        "litellm-config",
        lambda obj: obj["metadata"].update(labels={"n": "x"}),
        times=_k8s.MAX_CONFLICT_RETRIES,
    )
    result = run_module(litellm_config, ARGS)
    assert result.failed and "kept changing under us (5 conflicts in a row); nothing was written" in result["msg"]
    assert live(story) == STORY_CONFIG


def test_check_mode_writes_nothing_and_diffs_the_text(story, run_module):
    result = run_module(litellm_config, ARGS, check_mode=True, diff=True)
    assert result["changed"] is True
    assert result["diff"]["before"] == STORY_CONFIG and "groq/openai/gpt-oss-120b" in result["diff"]["after"]
    assert result["diff"]["before_header"] == "ml/litellm-config config.yaml"
    assert story.writes() == [] and live(story) == STORY_CONFIG


def test_explicit_names_are_used_without_reading_the_deployment(story, run_module):
    result = run_module(litellm_config, dict(ARGS, name="litellm-config", key="config.yaml"))
    assert result["changed"] is True
    assert not [r for r in story.requests if r.resource == "deployments"]


def test_state_absent_removes_the_named_models(story, run_module):
    run_module(litellm_config, ARGS)
    result = run_module(
        litellm_config, {"namespace": "ml", "state": "absent", "models": [{"model_name": "groq/openai/gpt-oss-120b"}]}
    )
    assert result["removed"] == ["groq/openai/gpt-oss-120b"] and live(story) == STORY_CONFIG


def test_a_literal_key_in_models_is_masked_in_the_refusal(story, run_module):
    pasted = "gsk_pasted_by_mistake_00000000"
    result = run_module(
        litellm_config,
        {
            "namespace": "ml",
            "models": [{"model_name": "groq/x", "litellm_params": {"model": "groq/x", "api_key": pasted}}],
        },
    )
    assert result.failed and result["msg"].startswith(
        "Nothing was written. model 'groq/x': litellm_params.api_key is written literally"
    )
    assert result["errors"] and pasted not in result.output
    assert story.writes("configmaps") == []


def test_a_missing_configmap_or_key_is_named(story, run_module):
    result = run_module(litellm_config, dict(ARGS, name="other", key="config.yaml"))
    assert result.failed and result["msg"].startswith("ConfigMap ml/other not found.")
    result = run_module(litellm_config, dict(ARGS, key="proxy.yaml"))
    assert result.failed and result["msg"] == (
        "ConfigMap ml/litellm-config has no key 'proxy.yaml' (keys: "
        "config.yaml). Set config_key to the one LiteLLM reads as its "
        "config.yaml."
    )
    assert story.writes("configmaps") == []


def test_a_foreign_owner_is_warned(story, run_module):
    story.edit(
        "configmaps",
        "litellm-config",
        lambda obj: obj["metadata"].update(labels={"argocd.argoproj.io/instance": "llm-stack"}),
    )
    result = run_module(litellm_config, ARGS)
    assert result["changed"] is True
    assert any("managed by Argo CD (application llm-stack)" in warning for warning in result.warning_texts)
    assert result.warning_texts == result["warnings_list"]


def hold(cluster, who, renewed=9999999999):
    cluster.add(
        "leases",
        {
            "metadata": {"name": LEASE},
            "spec": {"holderIdentity": who, "leaseDurationSeconds": 15, "renewTime": _lock.micro_time(renewed)},
        },
    )


def test_a_module_whose_lock_a_run_of_the_role_holds_writes_nothing(story, run_module):
    hold(story, OTHER_HOLDER)
    result = run_module(litellm_config, dict(ARGS, lock_timeout=0))
    assert result.failed
    assert result["msg"].startswith(
        "Another run is changing LiteLLM ml/litellm: %s holds its lock (Lease %s)" % (OTHER_HOLDER, LEASE)
    )
    assert story.writes() == [] and live(story) == STORY_CONFIG


def test_the_lock_is_taken_renewed_before_the_write_and_released(story, run_module):
    result = run_module(litellm_config, ARGS)
    assert result["changed"] is True
    assert [(r.method, r.resource) for r in story.writes()] == [
        ("POST", "leases"),
        ("PUT", "leases"),
        ("PUT", "configmaps"),
        ("PUT", "leases"),
    ]
    assert story.get("leases", LEASE)["spec"]["holderIdentity"] is None


def test_the_lock_is_taken_over_from_a_silent_holder(story, run_module):
    hold(story, OTHER_HOLDER, renewed=1000000000)
    assert run_module(litellm_config, ARGS)["changed"] is True
    assert story.get("leases", LEASE)["spec"]["leaseTransitions"] == 1


def test_lock_false_takes_no_lock(story, run_module):
    hold(story, OTHER_HOLDER)
    result = run_module(litellm_config, dict(ARGS, lock=False))
    assert result["changed"] is True
    assert [(r.method, r.resource) for r in story.writes()] == [("PUT", "configmaps")]
