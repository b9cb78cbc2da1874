"""Every Deployment that reads LiteLLM's config is part of the run (issue 20), on the default sandbox shape.

After site.yml has set up the models, the test adds Deployment litellm-backend: the story Deployment
copied with kubectl under another name and labels (so the Service litellm does not select it), with its
own Service. It mounts the same ConfigMap and loads the same Secret, and the sandbox's kubelet runs real
LiteLLM for it as for litellm. Then: a model added is listed by both (each through its own Service); a
rotation of a key both load restarts both, the backend first, under a steady load on litellm with no
failed request; a key the provider rejects rolls both back; a key only litellm loads (the backend loads
only the master key) restarts only litellm.
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.conftest import issued_key, leaked, vault_keys

pytestmark = pytest.mark.litellm

BACKEND = "litellm-backend"
BACKEND_LABELS = {"app.kubernetes.io/name": BACKEND, "app": BACKEND}
GROQ_MODEL = "groq/openai/gpt-oss-120b"
# The steady load sends Groq more than its free-tier 30 requests a minute: these tests are not about that.
LOAD_LIMITS = {"litellm_limits": {"groq": {"rpm": 1200, "tpm": 1000000}}}
ADDED_ALONE = "groq/groq/compound-mini"
ADDED_WITH_BACKEND = "groq/groq/compound"


def site(sandbox, tmp_path: Path, extra: dict, *args: str):
    """site.yml with ``extra`` (a file: keys must not be on the command line); (result, seconds)."""
    path = tmp_path / f"extra-{time.monotonic_ns()}.yml"
    path.write_text(yaml.safe_dump(dict(LOAD_LIMITS, **extra)))
    started = time.monotonic()
    result = sandbox.playbook("site.yml", "-e", f"@{path}", *args)
    return result, time.monotonic() - started


def report(sandbox) -> dict:
    return json.loads((sandbox.state_dir / "last-run.json").read_text())


def extra_model(sandbox, name: str) -> dict:
    bases = json.loads((sandbox.state_dir / "provider-api-bases.json").read_text())
    return {
        "model_name": name,
        "litellm_params": {"model": name, "api_key": "os.environ/GROQ_API_KEY", "api_base": bases["groq"]},
    }


def backend_from(litellm: dict) -> dict:
    """The story Deployment as kubectl gets it, made into litellm-backend (same ConfigMap, same Secret)."""
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": BACKEND, "namespace": "ml", "labels": dict(BACKEND_LABELS)},
        "spec": json.loads(json.dumps(litellm["spec"])),
    }
    body["spec"]["selector"] = {"matchLabels": {"app": BACKEND}}
    body["spec"]["template"]["metadata"]["labels"] = dict(BACKEND_LABELS)
    return body


def backend_service() -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": BACKEND, "namespace": "ml", "labels": dict(BACKEND_LABELS)},
        "spec": {"selector": {"app": BACKEND}, "ports": [{"name": "http", "port": 4000, "targetPort": "http"}]},
    }


def through_service(sandbox, service: str, path: str) -> tuple[int, dict | str]:
    """GET ``path`` of LiteLLM behind ``service``, through the API server's Service proxy."""
    url = f"{sandbox.api_url}/api/v1/namespaces/ml/services/{service}:4000/proxy{path}"
    request = urllib.request.Request(url)
    request.add_header("Authorization", f"Bearer {sandbox.token}")
    request.add_header("x-litellm-api-key", f"Bearer {sandbox.master_key}")
    try:
        with urllib.request.urlopen(request, timeout=30, context=sandbox.api_ssl) as response:
            return response.status, json.loads(response.read().decode())
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()
    except ssl.SSLError as err:  # pragma: no cover - a sandbox without its CA
        return 0, str(err)


def listed(sandbox, service: str) -> list[str]:
    status, body = through_service(sandbox, service, "/v1/models")
    assert status == 200, body
    return [entry["id"] for entry in body["data"]]


def rollout(sandbox, name: str) -> None:
    sandbox.kubectl("-n", "ml", "rollout", "status", f"deployment/{name}", "--timeout=240s", timeout=300)


def newest_replicaset(sandbox, name: str) -> dict:
    """The Deployment's newest ReplicaSet (highest revision)."""
    items = json.loads(sandbox.kubectl("-n", "ml", "get", "replicasets", "-o", "json").stdout)["items"]
    owned = [rs for rs in items if any(ref["name"] == name for ref in rs["metadata"].get("ownerReferences") or [])]
    return max(owned, key=lambda rs: int(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]))


@pytest.fixture(scope="module")
def story(sandbox):
    """site.yml has run once: the models are in, their state recorded; litellm is the only Deployment."""
    path = sandbox.state_dir / "readers-limits.yml"
    path.write_text(yaml.safe_dump(LOAD_LIMITS))
    result = sandbox.playbook("site.yml", "-e", f"@{path}")
    assert result.returncode == 0, result.stdout[-3000:]
    return {"keys": vault_keys(), "seconds": {}}


@pytest.fixture(scope="module")
def with_backend(sandbox, story):
    """A model was added with litellm alone (timed); then litellm-backend joins, running what litellm runs."""
    result, seconds = site(
        sandbox, Path(sandbox.state_dir), {"litellm_parallel_models": [extra_model(sandbox, ADDED_ALONE)]}
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert report(sandbox)["restarted_deployments"] == ["litellm"]
    story["seconds"]["one"] = seconds
    litellm = sandbox.get("deployment", "litellm")
    sandbox.kubectl("apply", "-f", "-", input=json.dumps(backend_from(litellm)))
    sandbox.kubectl("apply", "-f", "-", input=json.dumps(backend_service()))
    rollout(sandbox, BACKEND)
    return story


def test_a_model_added_is_listed_by_both(sandbox, with_backend, tmp_path):
    extra = {"litellm_parallel_models": [extra_model(sandbox, ADDED_ALONE), extra_model(sandbox, ADDED_WITH_BACKEND)]}
    generations = {name: sandbox.generation(name) for name in ("litellm", BACKEND)}
    result, seconds = site(sandbox, tmp_path, extra)
    assert result.returncode == 0, result.stdout[-3000:]
    run = report(sandbox)
    assert run["restarted_deployments"] == [BACKEND, "litellm"]
    assert [(d["name"], d["restart"]) for d in run["deployments"]] == [(BACKEND, True), ("litellm", True)]
    for name in ("litellm", BACKEND):
        assert sandbox.generation(name) == generations[name] + 1
    assert ADDED_WITH_BACKEND in listed(sandbox, "litellm")
    assert ADDED_WITH_BACKEND in listed(sandbox, BACKEND)
    assert (
        newest_replicaset(sandbox, BACKEND)["metadata"]["creationTimestamp"]
        <= (newest_replicaset(sandbox, "litellm")["metadata"]["creationTimestamp"])
    ), "the backend is restarted first"
    again, _seconds = site(sandbox, tmp_path, extra)
    assert again.returncode == 0 and report(sandbox)["restarted_deployments"] == [], "a second run restarts nothing"
    with_backend["seconds"]["two"] = seconds
    steps = ", ".join(f"{step['step']} {step['seconds']}s" for step in run["steps"])
    print(
        f"add one model: {with_backend['seconds']['one']:.1f}s with one Deployment, {seconds:.1f}s with two "
        f"(litellm and {BACKEND}; {steps})"
    )


def test_a_key_both_load_restarts_both_in_order_under_load(sandbox, with_backend, tmp_path, trickle):
    keys = with_backend["keys"]
    new_key = issued_key("groq")
    sandbox.accept_keys("groq", [keys["GROQ_API_KEY"], new_key])
    generations = {name: sandbox.generation(name) for name in ("litellm", BACKEND)}
    with trickle(interval=0.2, models=("vllm-qwen", GROQ_MODEL)) as load:
        result, seconds = site(sandbox, tmp_path, {"litellm_api_keys": dict(keys, GROQ_API_KEY=new_key)}, "-v")
    assert result.returncode == 0, result.stdout[-3000:]
    assert leaked(result.stdout + result.stderr, dict(sandbox.secrets(), new=new_key)) == []
    run = report(sandbox)
    assert run["restarted_deployments"] == [BACKEND, "litellm"]
    rollout_step = next(step for step in run["steps"] if step["step"] == "rollout")
    assert rollout_step["summary"].startswith(f"restarted {BACKEND} (it reads what changed: GROQ_API_KEY); then")
    for name in ("litellm", BACKEND):
        assert sandbox.generation(name) == generations[name] + 1
    assert load.failures == [], load.failures[:5]
    assert load.answered[GROQ_MODEL] > 0
    keys["GROQ_API_KEY"] = new_key
    print(f"rotation of a key both load: {seconds:.1f}s, {load.ok} requests answered meanwhile, 0 failed")


def test_a_rejected_key_rolls_both_back(sandbox, with_backend, tmp_path, trickle):
    keys = with_backend["keys"]
    good = sandbox.secret_value("GROQ_API_KEY")
    bad = issued_key("groq")  # never accepted by the fake Groq
    generations = {name: sandbox.generation(name) for name in ("litellm", BACKEND)}
    with trickle(interval=0.2, models=("vllm-qwen",)) as load:
        result, seconds = site(
            sandbox, tmp_path, {"litellm_api_keys": dict(keys, GROQ_API_KEY=bad), "litellm_provider_check": "off"}
        )
    assert result.returncode != 0
    assert "Put back the last verified state" in result.stdout
    assert leaked(result.stdout + result.stderr, dict(sandbox.secrets(), bad=bad)) == []
    assert sandbox.secret_value("GROQ_API_KEY") == good
    rollback = report(sandbox)["rollback"]
    assert rollback["restarted_deployments"] == [BACKEND, "litellm"]
    for name in ("litellm", BACKEND):
        assert sandbox.generation(name) == generations[name] + 2, "restarted onto the bad key, then back"
    assert load.failures == [], load.failures[:5]
    print(f"rejected key, both rolled back: {seconds:.1f}s, {load.ok} chain requests answered, 0 failed")


def test_a_key_only_litellm_loads_restarts_only_litellm(sandbox, with_backend, tmp_path):
    keys = with_backend["keys"]
    master = json.loads((sandbox.state_dir / "sandbox.json").read_text())["master_key"]
    only_master = [
        {"name": "LITELLM_MASTER_KEY", "valueFrom": {"secretKeyRef": {"name": master["secret"], "key": master["key"]}}}
    ]
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "litellm", "envFrom": None, "env": only_master}]}}}}
    sandbox.kubectl("-n", "ml", "patch", "deployment", BACKEND, "--type", "strategic", "-p", json.dumps(patch))
    rollout(sandbox, BACKEND)
    # The backend's digest no longer matches what it loads: a run without changes restamps it.
    settle, _seconds = site(sandbox, tmp_path, {"litellm_api_keys": keys})
    assert settle.returncode == 0, settle.stdout[-3000:]
    assert report(sandbox)["restarted_deployments"] == [BACKEND]
    new_key = issued_key("groq")
    sandbox.accept_keys("groq", [keys["GROQ_API_KEY"], new_key])
    generations = {name: sandbox.generation(name) for name in ("litellm", BACKEND)}
    result, _seconds = site(sandbox, tmp_path, {"litellm_api_keys": dict(keys, GROQ_API_KEY=new_key)})
    assert result.returncode == 0, result.stdout[-3000:]
    run = report(sandbox)
    assert run["restarted_deployments"] == ["litellm"]
    assert [(d["name"], d["restart"]) for d in run["deployments"]] == [(BACKEND, False), ("litellm", True)]
    assert sandbox.generation("litellm") == generations["litellm"] + 1
    assert sandbox.generation(BACKEND) == generations[BACKEND]
    keys["GROQ_API_KEY"] = new_key
