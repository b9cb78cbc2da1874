"""The run's Deployments and HPAs on the sandbox's componentized shape (today's helm/litellm chart, issue 20).

The chart's gateway (litellm-litellm-gateway, named by the sandbox inventory) and backend
(litellm-litellm-backend) mount the same ConfigMap (litellm-litellm-gateway-config, through
CONFIG_FILE_PATH) and load the same Secret (gateway.envSecrets / backend.envSecrets), each has an
autoscaling/v2 HPA (sandbox/componentized.py). A run restarts the backend first and the gateway last,
verifies through the gateway's Service, and the rollout of a gateway scaled to 3 by its HPA replaces
all 3 pods.
"""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from sandbox import componentized
from tests.conftest import issued_key, leaked, running_sandbox, vault_keys
from tests.integration.test_readers import (
    GROQ_MODEL,
    extra_model,
    newest_replicaset,
    report,
    rollout,
    site,
)

pytestmark = pytest.mark.litellm

GATEWAY, BACKEND = componentized.NAMES["gateway"], componentized.NAMES["backend"]
BOTH = (BACKEND, GATEWAY)
MODEL = "groq/groq/compound"
THIRD_MODEL = "groq/groq/compound-mini"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """A sandbox with LiteLLM as today's chart installs it (``--shape componentized``)."""
    yield from running_sandbox(tmp_path_factory, "--shape", "componentized")


@pytest.fixture(scope="module")
def story(sandbox, tmp_path_factory):
    """site.yml has run once: it stamps both Deployments' digests (restarting both) and records the state."""
    result, seconds = site(sandbox, tmp_path_factory.mktemp("story"), {})
    assert result.returncode == 0, result.stdout[-3000:]
    run = report(sandbox)
    assert run["restarted_deployments"] == list(BOTH), "the chart's pods carry no digest yet: both are stamped"
    assert [(d["name"], d["hpa"]) for d in run["deployments"]] == [(BACKEND, BACKEND), (GATEWAY, GATEWAY)]
    assert any("HorizontalPodAutoscaler's maxReplicas 10" in warning for warning in run["warnings"]), run["warnings"]
    return {"keys": vault_keys(), "first_run": seconds}


def backend_models(sandbox) -> list[str]:
    """/v1/models of the backend, through its own Service (the URL the sandbox gives it)."""
    url = (sandbox.state_dir / f"{BACKEND}-url").read_text().strip()
    request = urllib.request.Request(url + "/v1/models", headers={"Authorization": f"Bearer {sandbox.master_key}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return [entry["id"] for entry in json.loads(response.read().decode())["data"]]


def test_a_model_added_is_listed_by_the_gateway_and_the_backend(sandbox, story, tmp_path):
    generations = {name: sandbox.generation(name) for name in BOTH}
    result, seconds = site(sandbox, tmp_path, {"litellm_parallel_models": [extra_model(sandbox, MODEL)]})
    assert result.returncode == 0, result.stdout[-3000:]
    run = report(sandbox)
    assert run["restarted_deployments"] == list(BOTH)
    for name in BOTH:
        assert sandbox.generation(name) == generations[name] + 1
    status, models = sandbox.http("GET", "/v1/models", key=sandbox.master_key)
    assert status == 200 and MODEL in [entry["id"] for entry in models["data"]], models
    assert MODEL in backend_models(sandbox)
    assert (
        newest_replicaset(sandbox, BACKEND)["metadata"]["creationTimestamp"]
        <= (newest_replicaset(sandbox, GATEWAY)["metadata"]["creationTimestamp"])
    )
    print(f"componentized: add one model in {seconds:.1f}s (gateway and backend restarted)")


def test_a_key_both_load_restarts_both_in_order_under_load(sandbox, story, tmp_path, trickle):
    keys = story["keys"]
    new_key = issued_key("groq")
    sandbox.accept_keys("groq", [keys["GROQ_API_KEY"], new_key])
    extra = {
        "litellm_api_keys": dict(keys, GROQ_API_KEY=new_key),
        "litellm_parallel_models": [extra_model(sandbox, MODEL)],
    }
    with trickle(interval=0.2, models=("vllm-qwen", GROQ_MODEL)) as load:
        result, seconds = site(sandbox, tmp_path, extra)
    assert result.returncode == 0, result.stdout[-3000:]
    assert leaked(result.stdout + result.stderr, dict(sandbox.secrets(), new=new_key)) == []
    run = report(sandbox)
    assert run["restarted_deployments"] == list(BOTH)
    assert load.failures == [], load.failures[:5]
    assert load.answered[GROQ_MODEL] > 0
    keys["GROQ_API_KEY"] = new_key
    print(f"componentized: rotation of a key both load in {seconds:.1f}s, {load.ok} requests answered, 0 failed")


def test_a_rejected_key_rolls_back_both(sandbox, story, tmp_path, trickle):
    keys = story["keys"]
    good = sandbox.secret_value("GROQ_API_KEY")
    bad = issued_key("groq")
    extra = {
        "litellm_api_keys": dict(keys, GROQ_API_KEY=bad),
        "litellm_provider_check": "off",
        "litellm_parallel_models": [extra_model(sandbox, MODEL)],
    }
    with trickle(interval=0.2, models=("vllm-qwen",)) as load:
        result, _seconds = site(sandbox, tmp_path, extra)
    assert result.returncode != 0
    assert "Put back the last verified state" in result.stdout
    assert sandbox.secret_value("GROQ_API_KEY") == good
    assert report(sandbox)["rollback"]["restarted_deployments"] == list(BOTH)
    assert load.failures == [], load.failures[:5]


def test_an_hpa_with_3_replicas_has_all_3_replaced(sandbox, story, tmp_path, trickle):
    """The HPA scaled the gateway to 3 (set as its controller would: status and the Deployment's replicas)."""
    status = {"status": {"currentReplicas": 3, "desiredReplicas": 3}}
    sandbox.kubectl(
        "-n", "ml", "patch", "hpa", GATEWAY, "--type", "merge", "-p", json.dumps({"spec": {"minReplicas": 3}})
    )
    sandbox.kubectl(
        "-n", "ml", "patch", "hpa", GATEWAY, "--subresource=status", "--type", "merge", "-p", json.dumps(status)
    )
    sandbox.kubectl("-n", "ml", "scale", "deployment", GATEWAY, "--replicas=3")
    rollout(sandbox, GATEWAY)
    extra = {
        "litellm_api_keys": story["keys"],
        "litellm_parallel_models": [extra_model(sandbox, MODEL), extra_model(sandbox, THIRD_MODEL)],
    }
    with trickle(interval=0.2, models=("vllm-qwen",)) as load:
        started = time.monotonic()
        result, _seconds = site(sandbox, tmp_path, extra)
        seconds = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-3000:]
    run = report(sandbox)
    assert run["restarted_deployments"] == list(BOTH)
    assert [(d["name"], d["replicas"]) for d in run["deployments"]] == [(BACKEND, 1), (GATEWAY, 3)]
    newest = newest_replicaset(sandbox, GATEWAY)
    new_hash = newest["metadata"]["labels"]["pod-template-hash"]
    gateway_pods = [
        pod
        for pod in sandbox.pods()
        if pod["metadata"]["labels"].get("app.kubernetes.io/component") == "gateway"
        and not pod["metadata"].get("deletionTimestamp")
    ]
    assert len(gateway_pods) == 3 and all(
        p["metadata"]["labels"]["pod-template-hash"] == new_hash for p in gateway_pods
    )
    assert run["ready"] is True and THIRD_MODEL in run["served_models"]
    assert load.failures == [], load.failures[:5]
    print(f"componentized, gateway HPA at 3 replicas: add one model in {seconds:.1f}s, {load.ok} requests, 0 failed")


def test_a_key_only_the_gateway_loads_restarts_only_the_gateway(sandbox, story, tmp_path):
    """backend.envSecrets emptied: the backend keeps the chart's server env (the master key), no provider key."""
    keys = story["keys"]
    backend = sandbox.get("deployment", BACKEND)
    container = backend["spec"]["template"]["spec"]["containers"][0]
    patch = [{"op": "remove", "path": "/spec/template/spec/containers/0/envFrom"}]
    assert container.get("envFrom"), container
    sandbox.kubectl("-n", "ml", "patch", "deployment", BACKEND, "--type", "json", "-p", json.dumps(patch))
    rollout(sandbox, BACKEND)
    extra = {
        "litellm_api_keys": keys,
        "litellm_parallel_models": [extra_model(sandbox, MODEL), extra_model(sandbox, THIRD_MODEL)],
    }
    settle, _seconds = site(sandbox, tmp_path, extra)
    assert settle.returncode == 0, settle.stdout[-3000:]
    assert report(sandbox)["restarted_deployments"] == [BACKEND], "its digest no longer matches what it loads"
    new_key = issued_key("groq")
    sandbox.accept_keys("groq", [keys["GROQ_API_KEY"], new_key])
    generations = {name: sandbox.generation(name) for name in BOTH}
    result, _seconds = site(sandbox, tmp_path, dict(extra, litellm_api_keys=dict(keys, GROQ_API_KEY=new_key)))
    assert result.returncode == 0, result.stdout[-3000:]
    assert report(sandbox)["restarted_deployments"] == [GATEWAY]
    assert sandbox.generation(GATEWAY) == generations[GATEWAY] + 1
    assert sandbox.generation(BACKEND) == generations[BACKEND]
    keys["GROQ_API_KEY"] = new_key


def test_a_second_run_changes_nothing(sandbox, story, tmp_path):
    extra = {
        "litellm_api_keys": story["keys"],
        "litellm_parallel_models": [extra_model(sandbox, MODEL), extra_model(sandbox, THIRD_MODEL)],
    }
    result, _seconds = site(sandbox, tmp_path, extra)
    assert result.returncode == 0, result.stdout[-3000:]
    run = report(sandbox)
    assert run["restarted_deployments"] == [] and "no change" in run["summary"], run["summary"]
