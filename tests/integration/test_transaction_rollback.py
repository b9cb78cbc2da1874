"""What a failed litellm_apply run puts back, and what it must leave alone (one run is one transaction).

Most tests make a run fail after it wrote: it adds a model whose provider the fake answers 503 for
(``providers.json``), with the provider check off so that the run gets as far as its verification;
one has the API server fail the second of two Secret writes (``Sandbox.api_faults``). The rollback
restores the record of the last verified state over this run's own writes. The tests make that
record, or its neighbours, the hard part: a record whose config is not valid YAML (never restored,
LiteLLM never restarted onto it); a record key the provider no longer accepts (restored, then proved
with a request and reported as not serving); a Secret that a second LiteLLM Deployment also loads,
rotated and verified by that Deployment's run (its value stays, also over this run's own write); a
write to a second Secret that fails (the first one's undone, LiteLLM never restarted). A steady load
runs on the models whose keys or entries come back, and no key value may show up in the output, in
the cluster outside Secrets, or under ~/.ansible/tmp.
"""

from __future__ import annotations

import base64
import contextlib
import json
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.conftest import (
    Trickle,
    ansible_tmp_leaks,
    decoded_base64,
    issued_key,
    leaked,
    vault_keys,
)
from tests.integration.test_reliability import LOAD_LIMITS, api_bases, extra_model

pytestmark = pytest.mark.litellm

GROQ_MODELS = ("groq/openai/gpt-oss-120b", "groq/openai/gpt-oss-20b")
MISTRAL_MODEL = "mistral/mistral-small-latest"
# Served by the strict fake, added by no preset: the model each failing run adds.
FAILING_MODEL = "mistral/mistral-medium-latest"
RECORD = "litellm-known-good"
NON_SECRET_KINDS = "configmaps,deployments,replicasets,pods,services,endpoints,events,leases"


def said(result: subprocess.CompletedProcess) -> str:
    """Everything a run printed, as one line (Ansible wraps long warnings and messages)."""
    return " ".join((result.stdout + result.stderr).split())


def site(sandbox, tmp_path: Path, extra: dict, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """site.yml with ``extra`` as a vars file (keys never go on a command line)."""
    path = tmp_path / f"vars-{time.monotonic_ns()}.yml"
    path.write_text(yaml.safe_dump(dict(LOAD_LIMITS, **extra)))
    return sandbox.playbook("site.yml", "-e", f"@{path}", *args, env=env)


def failing_run(sandbox, keys: dict) -> dict:
    """Vars of a run that writes, restarts and then fails its verification: it adds FAILING_MODEL."""
    return {
        "litellm_api_keys": keys,
        "litellm_provider_check": "off",
        "litellm_parallel_models": [extra_model(FAILING_MODEL, api_bases(sandbox))],
    }


@contextlib.contextmanager
def provider_failing(sandbox, model: str, status: int = 503):
    """The fake provider answers ``status`` to every request for ``model`` (an outage of one model)."""
    knobs = sandbox.state_dir / "providers.json"
    knobs.write_text(json.dumps({"fail": {model: status}}))
    try:
        yield
    finally:
        knobs.write_text("{}")


def record_state(sandbox, deployment: str = "litellm") -> tuple[dict, dict]:
    """(the record Secret, its state.json decoded)."""
    secret = sandbox.get("secret", f"{deployment}-known-good")
    return secret, json.loads(base64.b64decode(secret["data"]["state.json"]))


def edit_record(sandbox, change) -> None:
    """What a hand edit of the record does: ``change(state)`` on state.json, the Secret's shape kept."""
    secret, state = record_state(sandbox)
    change(state)
    secret["data"]["state.json"] = base64.b64encode(json.dumps(state).encode()).decode()
    sandbox.kubectl("replace", "-f", "-", input=json.dumps(secret))


def model_names(config_text: str) -> list[str]:
    return [entry["model_name"] for entry in yaml.safe_load(config_text)["model_list"]]


def leaks(sandbox, output: str, *values: str) -> list[str]:
    """Where a key value shows up: the output, the cluster outside Secrets, or a file under ~/.ansible/tmp."""
    secrets = dict(sandbox.secrets(), **{f"value {index}": value for index, value in enumerate(values)})
    cluster = sandbox.kubectl("get", NON_SECRET_KINDS, "-A", "-o", "json").stdout
    found = [f"output: {name}" for name in leaked(output + decoded_base64(output), secrets)]
    found += [f"cluster: {name}" for name in leaked(cluster + decoded_base64(cluster), secrets)]
    return found + ansible_tmp_leaks(secrets)


def report(sandbox) -> dict:
    return json.loads((sandbox.state_dir / "last-run.json").read_text())


@pytest.fixture(scope="module")
def story(sandbox, tmp_path_factory):
    """site.yml has run once: the current models and their keys are in, and recorded."""
    result = site(sandbox, tmp_path_factory.mktemp("story"), {})
    assert result.returncode == 0, result.stdout[-3000:]
    return vault_keys()


def test_an_invalid_record_is_never_restored_and_the_next_run_says_so(sandbox, story, tmp_path, trickle):
    edit_record(
        sandbox,
        lambda state: state["config"].update(text=state["config"]["text"].replace("model_list:", "model_list: [", 1)),
    )
    record_version = sandbox.resource_version("secret", RECORD)
    generation = sandbox.generation()
    with provider_failing(sandbox, FAILING_MODEL), trickle(interval=0.2, models=("vllm-qwen", MISTRAL_MODEL)) as load:
        failed = site(sandbox, tmp_path, failing_run(sandbox, story))
        left = sandbox.config_text()
        generation_left = sandbox.generation()
        again = site(sandbox, tmp_path, failing_run(sandbox, story))
    message = said(failed)
    assert failed.returncode != 0, message[-3000:]
    assert "LiteLLM verification failed" in message and FAILING_MODEL in message, message[-3000:]
    assert f"The record of the last verified state (Secret ml/{RECORD}) cannot be used" in message, message[-3000:]
    assert "not valid YAML" in message and "Nothing was restored from it" in message, message[-3000:]
    assert "Put back" not in message and "runs it again" not in message
    # Nothing came back from the record: the failed change is what is live, and what LiteLLM runs.
    assert FAILING_MODEL in model_names(left)
    assert generation_left == generation + 1, "restarted once, onto the run's own change, never onto the record"
    assert sandbox.crashlooping_replicasets() == []
    assert sandbox.resource_version("secret", RECORD) == record_version, "a failed run never rewrites the record"
    assert load.failures == [], load.failures[:5]
    assert load.answered[MISTRAL_MODEL] > 0
    # The next run says where the trouble is and what to do, and promises no rollback it cannot make.
    next_message = said(again)
    assert again.returncode != 0
    assert f"(Secret ml/{RECORD}) cannot be used" in next_message, next_message[-3000:]
    assert "fix or delete that Secret" in next_message
    assert "rolls it back to that state" not in next_message, next_message[-3000:]
    assert leaks(sandbox, failed.stdout + failed.stderr + again.stdout + again.stderr) == []
    # Following that advice works: without the record, a run that takes the model out is verified and recorded.
    sandbox.kubectl("-n", "ml", "delete", "secret", RECORD)
    fixed = site(sandbox, tmp_path, {"litellm_api_keys": story, "litellm_remove_models": [FAILING_MODEL]})
    assert fixed.returncode == 0, said(fixed)[-3000:]
    assert FAILING_MODEL not in model_names(sandbox.config_text())
    secret, state = record_state(sandbox)
    assert secret["metadata"]["annotations"]["homelab.litellm/verified"] == "true"
    assert yaml.safe_load(state["config"]["text"])["model_list"]
    assert sandbox.crashlooping_replicasets() == []


def test_a_restored_key_is_proved_with_a_request_to_each_of_its_models(sandbox, story, tmp_path, trickle):
    """The record holds a Groq key Groq no longer accepts: the rollback puts it back, asks, and says so."""
    revoked = issued_key("groq")
    edit_record(sandbox, lambda state: state["keys"]["GROQ_API_KEY"].update(value=revoked))
    new = issued_key("groq")
    sandbox.accept_keys("groq", [story["GROQ_API_KEY"], new])
    loaded, quiet = GROQ_MODELS
    with provider_failing(sandbox, FAILING_MODEL), trickle(interval=0.2, models=("vllm-qwen", loaded)) as load:
        started = time.monotonic()
        result = site(sandbox, tmp_path, failing_run(sandbox, dict(story, GROQ_API_KEY=new)))
        elapsed = time.monotonic() - started
    message = said(result)
    assert result.returncode != 0
    assert "Put back the last verified state" in message and "(the verified values of GROQ_API_KEY)" in message
    assert "LiteLLM was rolled back, but does not serve as before" in message, message[-3000:]
    assert "runs it again" not in message
    smoke = {
        entry["model"]: (entry["status"], entry["http_status"])
        for entry in report(sandbox)["rollback"]["verify"]["smoke"]
    }
    # Each Groq model got a request. The one without load meets Groq's 401; the loaded one may be held
    # in LiteLLM's cooldown by the load's own 401s (a 429, cause unknown to anyone asking through LiteLLM).
    assert sorted(smoke) == sorted(GROQ_MODELS), smoke
    assert smoke[quiet] == ("key_rejected", 401), smoke
    assert smoke[loaded] in {("key_rejected", 401), ("rate_limited", 429)}, smoke
    assert f'{quiet}: key_rejected (routes, key rejected: Groq says "Invalid API Key")' in message, message[-3000:]
    assert sandbox.secret_value("GROQ_API_KEY") == revoked, "the record's value is what came back"
    assert FAILING_MODEL not in model_names(sandbox.config_text())
    assert sandbox.crashlooping_replicasets() == []
    # Groq answered during the run; once the revoked key was back its requests got 401, and LiteLLM's
    # cooldown after those 401s (429) - nothing else failed.
    assert load.answered[loaded] > 0, load.answered
    assert [failure for failure in load.failures if not failure.startswith("groq/")] == []
    refused = [failure for failure in load.failures if ": 401: " not in failure and "in cooldown" not in failure]
    assert refused == [], refused[:5]
    assert leaks(sandbox, result.stdout + result.stderr, revoked, new) == []
    print(
        f"restored a revoked key: failed and rolled back in {elapsed:.1f}s; {load.ok} answered, "
        f"{len(load.failures)} refused (401, then cooldown) after the rollback"
    )
    fixed = site(sandbox, tmp_path, {"litellm_api_keys": story})
    assert fixed.returncode == 0, said(fixed)[-3000:]
    status, answer = sandbox.chat(GROQ_MODELS[0])
    assert status == 200, answer


class ThroughServiceProxy:
    """LiteLLM behind another Service, reached as the module reaches it: the API server's service proxy."""

    def __init__(self, sandbox, service: str, port: int = 4000) -> None:
        self.sandbox = sandbox
        self.master_key = sandbox.master_key
        self.url = f"{sandbox.api_url}/api/v1/namespaces/ml/services/{service}:{port}/proxy"
        self.ssl = ssl.create_default_context(cafile=str(sandbox.state_dir / "pki" / "ca.crt"))

    def chat(self, model: str, key: str | None = None, timeout: float = 30) -> tuple[int, dict | str]:
        body = {"model": model, "messages": [{"role": "user", "content": "Say hello"}]}
        request = urllib.request.Request(
            self.url + "/v1/chat/completions", data=json.dumps(body).encode(), method="POST"
        )
        request.add_header("Content-Type", "application/json")
        request.add_header("Authorization", f"Bearer {self.sandbox.token}")
        request.add_header("x-litellm-api-key", f"Bearer {key or self.master_key}")
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=self.ssl) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode(errors="replace")


def second_litellm(sandbox, name: str) -> None:
    """Deployment ``name``: litellm's spec with its own labels and ConfigMap (a copy), the same Secret; a Service."""
    config = sandbox.get("configmap", "litellm-config")
    sandbox.kubectl(
        "create",
        "-f",
        "-",
        input=json.dumps(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"{name}-config", "namespace": "ml"},
                "data": config["data"],
            }
        ),
    )
    spec = sandbox.get("deployment", "litellm")["spec"]
    spec["selector"] = {"matchLabels": {"app": name}}
    spec["template"]["metadata"] = {"labels": {"app": name}}
    for volume in spec["template"]["spec"]["volumes"]:
        if volume.get("configMap", {}).get("name") == "litellm-config":
            volume["configMap"]["name"] = f"{name}-config"
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "ml"},
        "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 4000, "targetPort": "http"}]},
    }
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "ml"}}
    sandbox.kubectl("create", "-f", "-", input=json.dumps(dict(deployment, spec=spec)))
    sandbox.kubectl("create", "-f", "-", input=json.dumps(service))
    sandbox.kubectl("-n", "ml", "rollout", "status", f"deployment/{name}", "--timeout=120s", timeout=180)


def test_a_shared_secret_keeps_the_key_another_deployment_verified(sandbox, story, tmp_path):
    """litellm2 rotates the Groq key of the Secret it shares with litellm; litellm's failed runs leave that key:
    one that rotates nothing, and one that rotates it again (its own write is undone to litellm2's value)."""
    second_litellm(sandbox, "litellm2")
    neighbour = ThroughServiceProxy(sandbox, "litellm2")
    old, new, newer = story["GROQ_API_KEY"], issued_key("groq"), issued_key("groq")
    assert sandbox.secret_value("GROQ_API_KEY") == old
    sandbox.accept_keys("groq", [old, new])
    here, there = Trickle(sandbox, 0.2, GROQ_MODELS[:1]), Trickle(neighbour, 0.2, GROQ_MODELS[:1])
    try:
        with here, there:
            rotated = site(
                sandbox,
                tmp_path,
                {"litellm_api_keys": dict(story, GROQ_API_KEY=new)},
                "-e",
                "litellm_deployment=litellm2",
            )
            assert rotated.returncode == 0, said(rotated)[-3000:]
            assert record_state(sandbox, "litellm2")[1]["keys"]["GROQ_API_KEY"]["value"] == new
            # litellm loads the same Secret: restarted by its operator, it runs the new key too.
            sandbox.kubectl("-n", "ml", "rollout", "restart", "deployment/litellm")
            sandbox.rollout_status()
            sandbox.accept_keys("groq", [new, newer])  # ... Groq revoked the old one (and issued one more)
            assert record_state(sandbox)[1]["keys"]["GROQ_API_KEY"]["value"] == old, "litellm's record is older"
            with provider_failing(sandbox, FAILING_MODEL):
                failed = site(sandbox, tmp_path, failing_run(sandbox, dict(story, GROQ_API_KEY=new)))
                after_failed = sandbox.secret_value("GROQ_API_KEY")
                failed_rotation = site(sandbox, tmp_path, failing_run(sandbox, dict(story, GROQ_API_KEY=newer)))
        message = said(failed)
        assert failed.returncode != 0
        assert "Put back the last verified state" in message and "ConfigMap ml/litellm-config" in message, message
        assert after_failed == new, "the revoked key must not go back into the shared Secret"
        assert "Left alone: Secret ml/litellm-secrets key GROQ_API_KEY" in message, message[-3000:]
        assert "Deployment litellm2, which loads it too, verified since" in message, message[-3000:]
        assert "(the verified values of GROQ_API_KEY)" not in message
        rotation_message = said(failed_rotation)
        assert failed_rotation.returncode != 0
        assert "Put back GROQ_API_KEY as this run found it" in rotation_message, rotation_message[-3000:]
        assert sandbox.secret_value("GROQ_API_KEY") == new, "this run's own write is undone, to litellm2's value"
        assert FAILING_MODEL not in model_names(sandbox.config_text())
        assert sandbox.crashlooping_replicasets() == []
        assert here.failures == [] and there.failures == [], (here.failures[:3], there.failures[:3])
        assert here.ok > 0 and there.ok > 0
        status, answer = neighbour.chat(GROQ_MODELS[0])
        assert status == 200, answer
        output = "".join(run.stdout + run.stderr for run in (rotated, failed, failed_rotation))
        assert leaks(sandbox, output, old, new, newer) == []
        print(f"shared Secret: {here.ok} requests to litellm, {there.ok} to litellm2, 0 failed")
    finally:
        for kind in ("deployment", "service", "configmap"):
            sandbox.kubectl(
                "-n", "ml", "delete", kind, "litellm2-config" if kind == "configmap" else "litellm2", check=False
            )
        sandbox.kubectl("-n", "ml", "delete", "secret", "litellm2-known-good", check=False)
    # litellm's own run records the key its neighbour rotated to.
    story["GROQ_API_KEY"] = new
    settled = site(sandbox, tmp_path, {"litellm_api_keys": story})
    assert settled.returncode == 0, said(settled)[-3000:]
    assert record_state(sandbox)[1]["keys"]["GROQ_API_KEY"]["value"] == new


def key_from_other_secret(sandbox, variable: str, secret: str) -> None:
    """The Deployment reads ``variable`` from Secret ``secret`` (an env entry, secretKeyRef), the value unchanged."""
    value = sandbox.secret_value(variable)
    sandbox.kubectl("-n", "ml", "create", "secret", "generic", secret, f"--from-literal={variable}={value}")
    entry = {"name": variable, "valueFrom": {"secretKeyRef": {"name": secret, "key": variable}}}
    patch = [{"op": "add", "path": "/spec/template/spec/containers/0/env", "value": [entry]}]
    sandbox.kubectl("-n", "ml", "patch", "deployment", "litellm", "--type=json", "-p", json.dumps(patch))
    sandbox.rollout_status()


def test_a_partial_write_to_two_secrets_is_undone(sandbox, story, tmp_path, trickle):
    """GROQ_API_KEY goes to litellm-secrets, MISTRAL_API_KEY to other-secrets, whose write the API server fails."""
    key_from_other_secret(sandbox, "MISTRAL_API_KEY", "other-secrets")
    settled = site(sandbox, tmp_path, {"litellm_api_keys": story})
    assert settled.returncode == 0, said(settled)[-3000:]
    assert record_state(sandbox)[1]["keys"]["MISTRAL_API_KEY"]["secret"] == "other-secrets"
    groq, mistral = issued_key("groq"), issued_key("mistral")
    sandbox.accept_keys("groq", [story["GROQ_API_KEY"], groq])
    sandbox.accept_keys("mistral", [story["MISTRAL_API_KEY"], mistral])
    generation, pods = sandbox.generation(), sorted(pod["metadata"]["name"] for pod in sandbox.pods())
    other_version = sandbox.resource_version("secret", "other-secrets")
    fault = {"method": "PUT", "resource": "secrets", "name": "other-secrets", "action": "fail", "status": 500}
    keys = dict(story, GROQ_API_KEY=groq, MISTRAL_API_KEY=mistral)
    with sandbox.api_faults([dict(fault, times=1, message="etcdserver: leader changed")]):
        with trickle(interval=0.2, models=(GROQ_MODELS[0], MISTRAL_MODEL)) as load:
            result = site(sandbox, tmp_path, {"litellm_api_keys": keys})
        assert sandbox.api_faults_applied() == [1], "the write of other-secrets was the one that failed"
    message = said(result)
    assert result.returncode != 0
    assert "500" in message and "etcdserver: leader changed" in message, message[-3000:]
    assert "Secret ml/other-secrets" in message, "the message names the write that failed: " + message[-3000:]
    assert "Put back the last verified state" in message, message[-3000:]
    assert "Secret ml/litellm-secrets (the verified values of GROQ_API_KEY)" in message, message[-3000:]
    assert "LiteLLM was not restarted: it still runs what it ran before" in message, message[-3000:]
    assert sandbox.secret_value("GROQ_API_KEY") == story["GROQ_API_KEY"], "the first Secret's write is undone"
    assert sandbox.secret_value("MISTRAL_API_KEY", name="other-secrets") == story["MISTRAL_API_KEY"]
    assert sandbox.resource_version("secret", "other-secrets") == other_version
    # LiteLLM never ran half the change: never restarted, the same pods serve the recorded keys.
    assert sandbox.generation() == generation
    assert sorted(pod["metadata"]["name"] for pod in sandbox.pods()) == pods
    assert load.failures == [], load.failures[:5]
    assert load.answered[GROQ_MODELS[0]] > 0 and load.answered[MISTRAL_MODEL] > 0
    assert leaks(sandbox, result.stdout + result.stderr, groq, mistral) == []
