"""The whole sandbox, with a real LiteLLM pod, proven with real clients.

kubectl (rollout status/restart, wait, patch, logs), plain HTTP to the service
endpoint and the API server's service proxy, and kubernetes.core through
ansible. These tests are what make the demo, the integration tests and molecule
worth trusting: if the emulator lied about readiness or rollouts, every product
test above it would pass for the wrong reason.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.litellm

REPO_ROOT = Path(__file__).resolve().parents[2]
KUBECTL = os.environ.get("KUBECTL", "/usr/bin/kubectl")
BAD_CONFIG = """\
model_list:
  - model_name: broken
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
"""


def wait_for(predicate, timeout: float, interval: float = 0.5, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_before_state_is_the_story(sandbox):
    print(f"sandbox start to LiteLLM ready: {sandbox.start_seconds:.1f}s")
    sandbox.rollout_status()
    config = sandbox.get("configmap", "litellm-config")["data"]["config.yaml"]
    assert "# Tier 1: GPU (3s timeout)" in config
    parsed = yaml.safe_load(config)
    assert [m["model_name"] for m in parsed["model_list"]] == ["vllm-qwen", "ollama-qwen", "openai-gpt4o"]
    assert parsed["router_settings"]["fallbacks"] == [{"vllm-qwen": ["ollama-qwen"]}, {"ollama-qwen": ["openai-gpt4o"]}]
    secret = sandbox.get("secret", "litellm-secrets")
    assert sorted(secret["data"]) == ["DATABASE_URL", "LITELLM_MASTER_KEY", "OPENAI_API_KEY"]
    assert len(sandbox.master_key) > 30 and sandbox.master_key != "sk-1234"
    deployment = sandbox.get("deployment", "litellm")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["envFrom"] == [{"secretRef": {"name": "litellm-secrets"}}]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/readiness"
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert deployment["status"]["observedGeneration"] == deployment["metadata"]["generation"]
    assert deployment["status"]["availableReplicas"] == 1


def test_litellm_answers_through_the_service(sandbox):
    with urllib.request.urlopen(sandbox.url + "/health/readiness", timeout=10) as response:
        assert response.status == 200
        assert json.loads(response.read())["status"] == "healthy"
    status, models = sandbox.http("GET", "/v1/models", key=sandbox.master_key)
    assert status == 200
    assert sorted(m["id"] for m in models["data"]) == ["ollama-qwen", "openai-gpt4o", "vllm-qwen"]
    # Without a database LiteLLM cannot look up virtual keys, so a wrong key is
    # refused with 400 "No connected db." rather than 401; refused all the same.
    status, body = sandbox.http("GET", "/v1/models", key="sk-wrong-key-000000000000000000")
    assert status in (400, 401), body
    for model, provider in (("vllm-qwen", "vllm"), ("ollama-qwen", "ollama"), ("openai-gpt4o", "openai")):
        status, answer = sandbox.chat(model)
        assert status == 200, answer
        assert f"fake {provider}" in answer["choices"][0]["message"]["content"]


def test_service_proxy_of_the_api_server(sandbox):
    url = f"{sandbox.api_url}/api/v1/namespaces/ml/services/litellm:4000/proxy/health/readiness"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {sandbox.token}"})
    with urllib.request.urlopen(request, timeout=10, context=sandbox.api_ssl) as response:
        assert response.status == 200
    with pytest.raises(urllib.error.HTTPError) as denied:
        urllib.request.urlopen(url, timeout=10, context=sandbox.api_ssl)
    assert denied.value.code == 401
    raw = sandbox.kubectl("get", "--raw", "/api/v1/namespaces/ml/services/litellm:http/proxy/health/liveliness")
    assert "alive" in raw.stdout.lower()


def test_a_least_privilege_service_account_works_the_real_sandbox(sandbox, tmp_path):
    """What CI will do: a ServiceAccount token from kubectl create token, a Role, and nothing else."""
    sandbox.kubectl("get", "namespace", "kube-system")
    wait_for(
        lambda: sandbox.kubectl("-n", "ml", "get", "sa", "default", check=False).returncode == 0,
        timeout=10,
        what="the default ServiceAccount",
    )
    rbac = "rbac.authorization.k8s.io/v1"
    sandbox.kubectl(
        "apply",
        "-f",
        "-",
        input=yaml.safe_dump_all(
            [
                {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "deployer", "namespace": "ml"}},
                {
                    "apiVersion": rbac,
                    "kind": "Role",
                    "metadata": {"name": "deployer", "namespace": "ml"},
                    "rules": [
                        {
                            "apiGroups": ["apps"],
                            "resources": ["deployments", "replicasets"],
                            "verbs": ["get", "list", "watch"],
                        },
                        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
                        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
                        {
                            "apiGroups": [""],
                            "resources": ["services/proxy"],
                            "verbs": ["get"],
                            "resourceNames": ["litellm:4000"],
                        },
                    ],
                },
                {
                    "apiVersion": rbac,
                    "kind": "RoleBinding",
                    "metadata": {"name": "deployer", "namespace": "ml"},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "deployer"},
                    "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": "ml"}],
                },
            ]
        ),
    )
    token = sandbox.kubectl("-n", "ml", "create", "token", "deployer").stdout.strip()
    kubeconfig = yaml.safe_load(sandbox.kubeconfig.read_text())
    kubeconfig["users"][0]["user"] = {"token": token}
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(kubeconfig))

    def kubectl(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [KUBECTL, "--kubeconfig", str(tmp_path / "kubeconfig"), *args], capture_output=True, text=True, timeout=120
        )

    assert kubectl("-n", "ml", "rollout", "status", "deployment/litellm", "--timeout=60s").returncode == 0
    logs = kubectl("-n", "ml", "logs", "deployment/litellm", "--tail=5")
    assert logs.returncode == 0, logs.stderr
    health = kubectl("get", "--raw", "/api/v1/namespaces/ml/services/litellm:4000/proxy/health/readiness")
    assert health.returncode == 0 and "healthy" in health.stdout
    secrets = kubectl("-n", "kube-system", "get", "secrets")
    assert secrets.returncode == 1
    assert secrets.stderr.strip() == (
        'Error from server (Forbidden): secrets is forbidden: User "system:serviceaccount:ml:deployer" cannot list '
        'resource "secrets" in API group "" in the namespace "kube-system"'
    )
    assert kubectl("-n", "ml", "auth", "can-i", "get", "secrets").stdout.strip() == "no"
    assert kubectl("-n", "ml", "delete", "pod", "--all").returncode == 1


def test_pod_is_a_real_litellm_process(sandbox):
    pods = sandbox.pods()
    assert len(pods) == 1
    pod = pods[0]
    assert pod["status"]["phase"] == "Running"
    ip = pod["status"]["podIP"]
    with urllib.request.urlopen(f"http://{ip}:4000/health/readiness", timeout=10) as response:
        assert response.status == 200
    logs = sandbox.kubectl("-n", "ml", "logs", pod["metadata"]["name"]).stdout
    assert "not passing DATABASE_URL" in logs
    sandbox.kubectl("-n", "ml", "wait", "--for=condition=Ready", f"pod/{pod['metadata']['name']}", "--timeout=10s")


def test_rollout_restart_replaces_the_pod_with_no_failed_request(sandbox, trickle):
    before = {p["metadata"]["name"] for p in sandbox.pods()}
    with trickle() as load:
        time.sleep(1)
        started = time.monotonic()
        sandbox.kubectl("-n", "ml", "rollout", "restart", "deployment/litellm")
        sandbox.rollout_status(timeout="180s")
        duration = time.monotonic() - started
        time.sleep(2)
    after = {p["metadata"]["name"] for p in sandbox.pods()}
    print(f"rollout took {duration:.1f}s; {load.ok} requests answered, {len(load.failures)} failed")
    assert not before & after, "the old pod must be gone"
    assert len(after) == 1
    assert load.failures == []
    assert load.ok > 20
    deployment = sandbox.get("deployment", "litellm")
    assert deployment["status"]["updatedReplicas"] == 1
    assert deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"


def test_config_that_crashes_litellm_never_takes_over(sandbox, trickle):
    """A bad config: the new pod crash-loops, the rollout times out, the old pod serves on."""
    good = sandbox.get("configmap", "litellm-config")
    sandbox.kubectl(
        "-n", "ml", "patch", "deployment/litellm", "--type=merge", "-p", '{"spec": {"progressDeadlineSeconds": 25}}'
    )
    old_pods = {p["metadata"]["name"] for p in sandbox.pods()}
    bad = {"data": {"config.yaml": BAD_CONFIG}}
    sandbox.kubectl("-n", "ml", "patch", "configmap/litellm-config", "--type=merge", "-p", json.dumps(bad))
    with trickle(interval=0.25) as load:
        sandbox.kubectl("-n", "ml", "rollout", "restart", "deployment/litellm")

        def crashed_pod():
            for pod in sandbox.pods():
                statuses = pod["status"].get("containerStatuses") or []
                if pod["metadata"]["name"] not in old_pods and statuses and statuses[0]["restartCount"] >= 1:
                    return pod
            return None

        pod = wait_for(crashed_pod, timeout=90, what="the new pod to restart")
        state = pod["status"]["containerStatuses"][0]
        assert state["lastState"]["terminated"]["exitCode"] != 0
        assert state["state"].get("waiting", {}).get("reason") == "CrashLoopBackOff"
        result = sandbox.rollout_status(timeout="120s", check=False)
        assert result.returncode != 0
        assert "exceeded its progress deadline" in result.stderr
    deployment = sandbox.get("deployment", "litellm")
    progressing = next(c for c in deployment["status"]["conditions"] if c["type"] == "Progressing")
    assert progressing["reason"] == "ProgressDeadlineExceeded"
    assert progressing["status"] == "False"
    assert load.failures == [], "the old pod must keep serving"
    assert load.ok > 10
    assert old_pods <= {p["metadata"]["name"] for p in sandbox.pods()}

    # Putting the good config back and rolling again recovers.
    restore = {"data": {"config.yaml": good["data"]["config.yaml"]}}
    sandbox.kubectl("-n", "ml", "patch", "configmap/litellm-config", "--type=merge", "-p", json.dumps(restore))
    sandbox.kubectl("-n", "ml", "rollout", "restart", "deployment/litellm")
    sandbox.rollout_status(timeout="180s")
    status, _ = sandbox.chat("vllm-qwen")
    assert status == 200


def test_kubernetes_core_waits_for_the_real_rollout(sandbox):
    """kubernetes.core.k8s with wait: true returns only once the new pod serves."""
    playbook = sandbox.state_dir / "wait.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "name": "Change the pod template and wait",
                            "kubernetes.core.k8s": {
                                "kind": "Deployment",
                                "name": "litellm",
                                "namespace": "ml",
                                "state": "patched",
                                "definition": {
                                    "spec": {"template": {"metadata": {"annotations": {"test/restart": "1"}}}}
                                },
                                "wait": True,
                                "wait_timeout": 180,
                                "wait_sleep": 1,
                            },
                            "register": "patched",
                        },
                        {
                            "name": "Read it back with a label selector",
                            "kubernetes.core.k8s_info": {
                                "kind": "Pod",
                                "namespace": "ml",
                                "label_selectors": ["app=litellm"],
                            },
                            "register": "pods",
                        },
                        {
                            "name": "The rollout is complete",
                            "ansible.builtin.assert": {
                                "that": [
                                    "patched.changed",
                                    "patched.result.status.updatedReplicas == 1",
                                    "patched.result.status.availableReplicas == 1",
                                    # The old pod may still be terminating, as on a real cluster.
                                    "pods.resources | rejectattr('metadata.deletionTimestamp', 'defined') | list | "
                                    "length == 1",
                                ]
                            },
                        },
                    ],
                }
            ]
        )
    )
    env = dict(
        os.environ,
        K8S_AUTH_KUBECONFIG=str(sandbox.kubeconfig),
        ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"),
        ANSIBLE_PYTHON_INTERPRETER=str(REPO_ROOT / ".venv/bin/python"),
    )
    result = subprocess.run(
        [str(REPO_ROOT / ".venv/bin/ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    status, _ = sandbox.chat("vllm-qwen")
    assert status == 200


def test_down_leaves_no_process(tmp_path, sandbox_cli):
    sandbox_command = sandbox_cli
    state_dir = tmp_path / "box"
    assert sandbox_command("up", state_dir).returncode == 0
    pids = [int(p.stem) for p in (state_dir / "pids").glob("*.pid")]
    serve_pid = int((state_dir / "serve.pid").read_text())
    assert pids
    result = sandbox_command("down", state_dir)
    assert result.returncode == 0
    for pid in pids + [serve_pid]:
        assert not Path(f"/proc/{pid}").exists(), f"process {pid} survived sandbox down"
    assert sandbox_command("down", state_dir).returncode == 0  # nothing running is fine too


def test_the_running_cluster_hands_out_credentials(sandbox):
    """The serving sandbox runs the token controller (whose tokens its API server accepts) and the
    root CA publisher (kube-root-ca.crt, with the sandbox's own CA)."""
    ca = (sandbox.state_dir / "pki" / "ca.crt").read_text()

    def root_ca():
        found = sandbox.kubectl("get", "cm", "kube-root-ca.crt", "-n", "ml", "-o", "json", check=False)
        return json.loads(found.stdout) if found.returncode == 0 else None

    assert wait_for(root_ca, 15, what="kube-root-ca.crt")["data"] == {"ca.crt": ca}
    sandbox.kubectl("create", "serviceaccount", "realism-probe", "-n", "ml")
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/service-account-token",
        "metadata": {
            "name": "realism-probe-token",
            "namespace": "ml",
            "annotations": {"kubernetes.io/service-account.name": "realism-probe"},
        },
    }
    sandbox.kubectl("apply", "-f", "-", input=json.dumps(secret))
    try:
        data = wait_for(lambda: sandbox.get("secret", "realism-probe-token").get("data"), 15, what="the token")
        token = base64.b64decode(data["token"]).decode()
        assert base64.b64decode(data["ca.crt"]).decode() == ca
        whoami = sandbox.kubectl("auth", "whoami", "--token", token, "-o", "json")
        assert json.loads(whoami.stdout)["status"]["userInfo"]["username"] == "system:serviceaccount:ml:realism-probe"
    finally:
        sandbox.kubectl("delete", "serviceaccount", "realism-probe", "-n", "ml", check=False)
