# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/run/readers.py and how a run uses it: every Deployment that reads
LiteLLM's config is part of the run (discovery, which ones restart, the order, the rollback), and each
one's HPA decides how many replicas its rollout must replace.

The cluster starts settled as in test_transaction.py, plus Deployment litellm-backend: a second LiteLLM
process on the same ConfigMap (the componentized chart's backend), with its own labels.
"""

from __future__ import annotations

import copy

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _plan as pl
from ansible_collections.homelab.litellm.plugins.module_utils import _rollout as rt
from ansible_collections.homelab.litellm.plugins.module_utils.config.rate_limits import shared_counter_warnings
from ansible_collections.homelab.litellm.plugins.module_utils.run import readers as rd
from ansible_collections.homelab.litellm.plugins.module_utils.run import rollout as ro
from ansible_collections.homelab.litellm.tests.unit.fake_kube import (
    NAMESPACE,
    STORY_SECRETS,
    litellm_deployment,
    running_digest,
    secret_object,
    unb64,
)

from .test_transaction import (  # noqa: F401  # pylint: disable=unused-import
    GROQ_KEY,
    GROQ_MODEL,
    OPENAI_NEW,
    STORY_CONFIG,
    STORY_MODELS,
    FakeLiteLLM,
    add_groq,
    failure_of,
    fixture_litellm,
    fixture_settled,
    live_config,
    transaction,
)

BACKEND_LABELS = {"app.kubernetes.io/name": "litellm", "app.kubernetes.io/component": "backend", "app": "backend"}


def backend_deployment(name="litellm-backend", env=None, annotations=None, volume=None):
    """litellm's pod template under another name and labels; ``env`` replaces its envFrom (None: the same
    Secret), ``volume`` its config volume."""
    deployment = litellm_deployment(name, annotations=annotations)
    deployment["metadata"]["labels"] = dict(BACKEND_LABELS)
    deployment["spec"]["selector"] = {"matchLabels": {"app": "backend"}}
    template = deployment["spec"]["template"]
    template["metadata"]["labels"] = dict(BACKEND_LABELS)
    container = template["spec"]["containers"][0]
    if env is not None:
        del container["envFrom"]
        container["env"] = env
    if volume is not None:
        template["spec"]["volumes"] = [volume]
    return deployment


def master_key_only():
    return [
        {
            "name": "LITELLM_MASTER_KEY",
            "valueFrom": {"secretKeyRef": {"name": "litellm-secrets", "key": "LITELLM_MASTER_KEY"}},
        }
    ]


def add_backend(cluster, **kwargs):
    """The backend, settled on the live config and the keys it loads (their digest on its pod template)."""
    values = (
        dict(STORY_SECRETS)
        if kwargs.get("env") is None
        else {"LITELLM_MASTER_KEY": STORY_SECRETS["LITELLM_MASTER_KEY"]}
    )
    digest = rt.rollout_digest(
        STORY_CONFIG,
        {k: secret_object(values)["data"][k] for k in values},
        rt.config_env_vars(STORY_CONFIG),
    )
    if kwargs.get("env") is None:
        assert digest == running_digest(STORY_CONFIG, STORY_SECRETS)
    cluster.add("deployments", backend_deployment(annotations={rt.DIGEST_ANNOTATION: digest}, **kwargs))


def patched(cluster):
    """The Deployments the run patched (restarted), in order."""
    return [r.name for r in cluster.writes("deployments") if r.method == "PATCH"]


# -- discovery --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "volume, reads",
    [
        ({"name": "config", "configMap": {"name": "litellm-config"}}, True),
        (
            {"name": "config", "configMap": {"name": "litellm-config", "items": [{"key": "config.yaml", "path": "c"}]}},
            True,
        ),
        (
            {"name": "config", "configMap": {"name": "litellm-config", "items": [{"key": "other.yaml", "path": "c"}]}},
            False,
        ),
        ({"name": "config", "projected": {"sources": [{"configMap": {"name": "litellm-config"}}]}}, True),
        ({"name": "config", "configMap": {"name": "another-config"}}, False),
    ],
    ids=["whole-map", "key-as-item", "other-key", "projected", "other-map"],
)
def test_a_deployment_reads_the_config_when_it_mounts_the_key(volume, reads):
    assert rd.reads_config(backend_deployment(volume=volume), "litellm-config", "config.yaml") is reads


def test_a_volume_no_container_mounts_is_not_read():
    deployment = backend_deployment()
    deployment["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = []
    assert rd.reads_config(deployment, "litellm-config", "config.yaml") is False


def test_which_secret_keys_a_deployment_loads():
    whole = backend_deployment()
    one_key = backend_deployment(env=master_key_only())
    assert rd.loads_key(whole, "litellm-secrets", "GROQ_API_KEY")
    assert rd.loads_key(one_key, "litellm-secrets", "LITELLM_MASTER_KEY")
    assert not rd.loads_key(one_key, "litellm-secrets", "OPENAI_API_KEY")
    mounted = backend_deployment(env=[])
    mounted["spec"]["template"]["spec"]["volumes"].append(
        {"name": "keys", "secret": {"secretName": "litellm-secrets", "items": [{"key": "OPENAI_API_KEY", "path": "k"}]}}
    )
    assert rd.loads_key(mounted, "litellm-secrets", "OPENAI_API_KEY")
    assert not rd.loads_key(mounted, "litellm-secrets", "GROQ_API_KEY")


# -- which ones restart, in which order -------------------------------------------------------------
def test_a_model_added_restarts_every_deployment_reading_the_config_the_named_one_last(settled, litellm):
    add_backend(settled)
    run = transaction(settled)
    result = run.run()
    assert patched(settled) == ["litellm-backend", "litellm"]
    assert [(w.kind, w.name) for w in run.journal if w.kind == "deployments"] == [
        ("deployments", "litellm-backend"),
        ("deployments", "litellm"),
    ]
    after = running_digest(live_config(settled), dict(STORY_SECRETS, GROQ_API_KEY=GROQ_KEY))
    for name in ("litellm-backend", "litellm"):
        assert rt.template_annotations(settled.get("deployments", name))[rt.DIGEST_ANNOTATION] == after
    assert result["restarted_deployments"] == ["litellm-backend", "litellm"]
    assert [(d["name"], d["restart"], d["serves_verification"]) for d in result["deployments"]] == [
        ("litellm-backend", True, False),
        ("litellm", True, True),
    ]
    rollout = next(step for step in result["steps"] if step["step"] == "rollout")
    assert rollout["summary"].startswith(
        "restarted litellm-backend (it reads what changed: config, GROQ_API_KEY); then restarted litellm ("
    )
    assert "restarted litellm-backend then litellm in" in result["summary"]
    assert result["target"]["deployments"] == ["litellm-backend", "litellm"]
    assert transaction(settled).run()["changed"] is False, "the second run finds both digests as they are"


def test_check_mode_names_the_other_deployment_and_its_diff(settled, litellm):
    add_backend(settled)
    result = transaction(settled, check_mode=True, diff=True).run()
    assert patched(settled) == []
    assert [d["restart"] for d in result["deployments"]] == [True, True]
    headers = [d["before_header"] for d in result["diff"]]
    assert "Deployment ml/litellm-backend pod template annotation" in headers


def test_a_key_only_the_named_one_loads_restarts_only_it(settled, litellm):
    add_backend(settled, env=master_key_only())
    result = transaction(settled, pl.Request(api_keys={"OPENAI_API_KEY": OPENAI_NEW})).run()
    assert patched(settled) == ["litellm"]
    assert [(d["name"], d["restart"]) for d in result["deployments"]] == [("litellm-backend", False), ("litellm", True)]


def test_a_deployment_outside_the_set_that_loads_a_written_key_is_warned_about_not_restarted(settled, litellm):
    worker = backend_deployment("key-worker", volume={"name": "config", "configMap": {"name": "worker-config"}})
    settled.add("deployments", worker)
    run = transaction(settled, pl.Request(api_keys={"OPENAI_API_KEY": OPENAI_NEW}))
    result = run.run()
    assert patched(settled) == ["litellm"]
    assert [d["name"] for d in result["deployments"]] == ["litellm"]
    assert any(
        w.startswith("Deployment key-worker also loads OPENAI_API_KEY, which this run writes, but does not read")
        for w in result["warnings_list"]
    )


# -- rollback ---------------------------------------------------------------------------------------
def test_a_rejected_key_both_load_rolls_back_and_restarts_both(settled, litellm):
    add_backend(settled)
    litellm.rejected.add("openai-gpt4o")
    failure = failure_of(transaction(settled, pl.Request(api_keys={"OPENAI_API_KEY": OPENAI_NEW})))
    assert unb64(settled.get("secrets", "litellm-secrets")["data"]["OPENAI_API_KEY"]) == STORY_SECRETS["OPENAI_API_KEY"]
    assert patched(settled) == ["litellm-backend", "litellm", "litellm-backend", "litellm"]
    assert failure.result["rollback"]["restarted_deployments"] == ["litellm-backend", "litellm"]
    before = running_digest(STORY_CONFIG, STORY_SECRETS)
    for name in ("litellm-backend", "litellm"):
        assert rt.template_annotations(settled.get("deployments", name))[rt.DIGEST_ANNOTATION] == before


def test_a_rollback_restarts_only_the_deployments_that_read_what_it_restored(settled, litellm):
    add_backend(settled, env=master_key_only())
    litellm.rejected.add("openai-gpt4o")
    failure = failure_of(transaction(settled, pl.Request(api_keys={"OPENAI_API_KEY": OPENAI_NEW})))
    assert patched(settled) == ["litellm", "litellm"]
    assert failure.result["rollback"]["restarted_deployments"] == ["litellm"]


def test_a_failing_rollout_of_the_other_deployment_leaves_the_named_one_untouched(settled, litellm):
    add_backend(settled)
    patches = []

    def crash_backend_once(cluster, request):
        if request.method == "PATCH" and request.resource == "deployments":
            patches.append(request.name)
            cluster.rollout = "crash" if len(patches) == 1 else "complete"
        return False

    settled.on_write(crash_backend_once)
    failure = failure_of(transaction(settled, add_groq()))
    assert "litellm-backend" in str(failure) and "CrashLoopBackOff" in str(failure)
    assert patched(settled) == ["litellm-backend", "litellm-backend"], "the named one was never restarted"
    assert failure.result["rollback"]["restarted_deployments"] == ["litellm-backend"]
    assert GROQ_MODEL not in live_config(settled)


# -- HPAs -------------------------------------------------------------------------------------------
def hpa(name, target, current=None, maximum=5):
    body = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "minReplicas": 1,
            "maxReplicas": maximum,
        },
    }
    if current is not None:
        body["status"] = {"currentReplicas": current, "desiredReplicas": current}
    return body


def test_the_hpa_of_a_deployment_and_its_replicas():
    hpas = [hpa("other", "x", 2), hpa("gw", "litellm", 3)]
    deployment = litellm_deployment()
    assert rd.hpa_of(hpas, "litellm")["metadata"]["name"] == "gw"
    assert rd.expected_replicas(deployment, rd.hpa_of(hpas, "litellm")) == 3
    assert rd.expected_replicas(deployment, hpa("gw", "litellm")) == 1, "no status yet: spec.replicas"
    assert rd.expected_replicas(deployment, None) == 1
    assert (
        rd.hpa_of(
            [dict(hpa("s", "litellm"), spec={"scaleTargetRef": {"kind": "StatefulSet", "name": "litellm"}})], "litellm"
        )
        is None
    )


def test_a_rollout_waits_for_the_hpas_current_replicas(cluster, quick_rollouts):
    deployment = cluster.add("deployments", litellm_deployment())
    cluster.add("horizontalpodautoscalers", hpa("litellm", "litellm", current=3))
    ticks = iter(range(1000))
    wait = ro.Wait(NAMESPACE, "litellm", timeout=5, hpa="litellm")
    assessment, *_rest, _seconds = ro.restart_and_wait(
        cluster.kube(), wait, "d1", clock=lambda: next(ticks) * 0.01, sleep=lambda _s: None
    )
    assert assessment.state == rt.FAILED
    assert "1 of the 3 replicas of HPA litellm are updated and available" in assessment.message
    assert deployment["spec"]["replicas"] == 1


def test_a_rollout_is_done_once_the_hpas_replicas_are_all_replaced(cluster, quick_rollouts):
    deployment = litellm_deployment()
    deployment["spec"]["replicas"] = 3
    cluster.add("deployments", deployment)
    cluster.add("horizontalpodautoscalers", hpa("litellm", "litellm", current=3))
    wait = ro.Wait(NAMESPACE, "litellm", timeout=5, hpa="litellm")
    assessment, live, *_rest = ro.restart_and_wait(cluster.kube(), wait, "d1")
    assert assessment.state == rt.DONE and live["status"]["updatedReplicas"] == 3


def test_a_run_waits_with_the_hpa_and_reports_it(settled, litellm):
    deployment = settled.get("deployments", "litellm")
    settled.edit("deployments", "litellm", lambda d: d["spec"].update(replicas=3))
    settled.edit(
        "deployments",
        "litellm",
        lambda d: d.update(status=dict(deployment["status"], replicas=3, updatedReplicas=3, availableReplicas=3)),
    )
    settled.add("horizontalpodautoscalers", hpa("litellm-gateway", "litellm", current=3))
    result = transaction(settled).run()
    assert [(d["name"], d["replicas"], d["hpa"]) for d in result["deployments"]] == [("litellm", 3, "litellm-gateway")]
    patch = next(i for i, r in enumerate(settled.requests) if r.method == "PATCH" and r.resource == "deployments")
    assert any(r.resource == "horizontalpodautoscalers" for r in settled.requests[patch:]), "read again at the end"


def test_without_the_right_to_list_hpas_the_run_says_so_and_goes_on(settled, litellm):
    settled.fail("GET", "horizontalpodautoscalers", 403, "forbidden", times=10)
    result = transaction(settled).run()
    assert result["changed"] is True
    assert any(
        w.startswith("Could not list HorizontalPodAutoscalers in namespace ml (403 forbidden)")
        for w in result["warnings_list"]
    )


def test_an_api_server_without_autoscaling_v2_has_no_hpa_to_warn_about(settled, litellm):
    settled.fail("GET", "horizontalpodautoscalers", 404, "the server could not find the requested resource", times=10)
    result = transaction(settled).run()
    assert result["changed"] is True
    assert not any("HorizontalPodAutoscaler" in w for w in result["warnings_list"])


def test_an_unreadable_hpa_right_is_a_warning_of_the_access_check_not_a_refusal(settled, litellm):
    settled.deny("list", "horizontalpodautoscalers", group="autoscaling")
    result = transaction(settled, access_check=True).run()
    assert result["changed"] is True
    assert any("list horizontalpodautoscalers (autoscaling)" in w for w in result["warnings_list"])


RATE_LIMITED = {
    "model_list": [{"model_name": "m", "litellm_params": {"model": "openai/x", "rpm": 10}}],
    "router_settings": {"optional_pre_call_checks": ["enforce_model_rate_limits"]},
}


def test_an_hpa_that_may_scale_past_one_replica_splits_the_limits_without_redis():
    deployment = litellm_deployment()
    assert shared_counter_warnings(deployment, copy.deepcopy(RATE_LIMITED)) == []
    warnings = shared_counter_warnings(deployment, copy.deepcopy(RATE_LIMITED), max_replicas=4)
    assert warnings and warnings[0].startswith(
        "LiteLLM may run as up to 4 processes (its HorizontalPodAutoscaler's maxReplicas 4 x 1 workers) without Redis"
    )
    assert shared_counter_warnings(deployment, copy.deepcopy(RATE_LIMITED), ("REDIS_HOST",), max_replicas=4) == []
    assert shared_counter_warnings(deployment, copy.deepcopy(RATE_LIMITED), max_replicas=1) == []
