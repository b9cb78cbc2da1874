"""kubernetes.core 6.x (k8s, k8s_info) against the sandbox API server.

Each test runs one small playbook and reads every task's result from ansible's
json callback: module start-up dominates ansible's cost, so the steps share a run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import yaml

# The venv that runs the tests has ansible and kubernetes.core.
ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))


def play(apiserver, tmp_path: Path, tasks: list[dict], extra_vars: dict) -> dict[str, dict]:
    """Run ``tasks`` on localhost; return each task's result by task name."""
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(
        yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], sort_keys=False)
    )
    variables = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable, **extra_vars}
    # The json callback (ansible.posix, shipped with the ansible package) reports
    # every task's result, so no extra task has to write them out.
    env = {**apiserver.env, "ANSIBLE_PIPELINING": "true", "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"}
    result = subprocess.run(
        [ANSIBLE_PLAYBOOK, "-i", "localhost,", str(playbook), "-e", json.dumps(variables)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return {task["task"]["name"]: task["hosts"]["localhost"] for task in json.loads(result.stdout)["plays"][0]["tasks"]}


CONFIGMAP = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "{{ name }}", "namespace": "ml", "labels": {"team": "{{ name }}"}},
    "data": {"a": "1"},
}
SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "{{ name }}", "namespace": "ml"},
    "stringData": {"GROQ_API_KEY": "gsk_x"},
}

CREATE_TASKS = """
- name: check_create
  kubernetes.core.k8s: {definition: "{{ configmap }}"}
  check_mode: true
- name: after_check
  kubernetes.core.k8s_info: {kind: ConfigMap, namespace: ml, name: "{{ name }}"}
- name: create
  kubernetes.core.k8s: {definition: "{{ configmap }}"}
- name: again
  kubernetes.core.k8s: {definition: "{{ configmap }}"}
- name: check_change
  kubernetes.core.k8s: {definition: "{{ configmap | combine({'data': {'a': '2'}}) }}"}
  check_mode: true
- name: labelled
  kubernetes.core.k8s_info: {kind: ConfigMap, namespace: ml, label_selectors: ["team={{ name }}"]}
- name: apply
  kubernetes.core.k8s: {definition: "{{ secret }}", apply: true}
- name: apply_again
  kubernetes.core.k8s: {definition: "{{ secret }}", apply: true}
"""


def test_k8s_create_idempotence_check_mode_and_label_selectors(apiserver, tmp_path):
    name = f"ans-{uuid.uuid4().hex[:6]}"
    results = play(
        apiserver, tmp_path, yaml.safe_load(CREATE_TASKS), {"name": name, "configmap": CONFIGMAP, "secret": SECRET}
    )
    assert results["check_create"]["changed"] is True
    assert results["after_check"]["resources"] == []  # check mode wrote nothing
    assert results["create"]["changed"] is True
    assert results["again"]["changed"] is False
    assert results["check_change"]["changed"] is True
    assert apiserver.call(apiserver.store.get, "configmaps", "ml", name)["data"] == {"a": "1"}
    assert [r["metadata"]["name"] for r in results["labelled"]["resources"]] == [name]
    assert (results["apply"]["changed"], results["apply_again"]["changed"]) == (True, False)
    assert apiserver.call(apiserver.store.get, "secrets", "ml", name)["data"] == {"GROQ_API_KEY": "Z3NrX3g="}


def _create_stale_deployment(apiserver, name: str) -> None:
    """A Deployment at generation 2 whose status still reports generation 1, otherwise ready."""
    store = apiserver.store
    store.create(
        "deployments",
        "ml",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": "app", "image": "litellm:1"}]},
                },
            },
        },
    )
    current = store.get("deployments", "ml", name)
    current["spec"]["template"]["spec"]["containers"][0]["image"] = "litellm:2"
    current = store.update("deployments", "ml", current)
    current["status"] = {
        "observedGeneration": 1,
        "replicas": 1,
        "updatedReplicas": 1,
        "readyReplicas": 1,
        "availableReplicas": 1,
        "conditions": [{"type": "Available", "status": "True"}],
    }
    store.update("deployments", "ml", current, subresource="status")


def _observe_generation(apiserver, name: str) -> None:
    current = apiserver.store.get("deployments", "ml", name)
    current["status"]["observedGeneration"] = current["metadata"]["generation"]
    apiserver.store.update("deployments", "ml", current, subresource="status")


def test_k8s_info_wait_needs_the_observed_generation(apiserver, tmp_path):
    name = f"wait-{uuid.uuid4().hex[:6]}"
    apiserver.call(_create_stale_deployment, apiserver, name)
    # The ConfigMap task tells the test's "controller" that the first wait is over.
    tasks = yaml.safe_load("""
- name: stale
  kubernetes.core.k8s_info: &wait
    {kind: Deployment, namespace: ml, name: "{{ name }}", wait: true, wait_sleep: 1, wait_timeout: 2}
  ignore_errors: true
- name: signal
  kubernetes.core.k8s:
    definition: {apiVersion: v1, kind: ConfigMap, metadata: {name: "{{ name }}-go", namespace: ml}}
- name: observed
  kubernetes.core.k8s_info: {<<: *wait, wait_timeout: 30}
""")

    def controller_catches_up() -> None:
        """Once the playbook signals that the first wait is over, report the generation."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if apiserver.call(apiserver.store.get, "configmaps", "ml", f"{name}-go"):
                time.sleep(1)
                apiserver.call(_observe_generation, apiserver, name)
                return
            time.sleep(0.1)

    controller = threading.Thread(target=controller_catches_up, daemon=True)
    controller.start()
    results = play(apiserver, tmp_path, tasks, {"name": name})
    controller.join(timeout=5)
    assert results["stale"]["failed"] is True
    assert "Failed to gather information about Deployment" in results["stale"]["msg"]
    deployment = results["observed"]["resources"][0]
    assert deployment["metadata"]["generation"] == deployment["status"]["observedGeneration"] == 2


def test_k8s_modules_as_a_least_privilege_service_account(apiserver, tmp_path):
    """The CI story: kubernetes.core with a ServiceAccount token holds a Lease and is refused the rest."""
    name = f"ans-{uuid.uuid4().hex[:6]}"
    rbac = "/apis/rbac.authorization.k8s.io/v1/namespaces/ml"
    for path, body in (
        ("/api/v1/namespaces/ml/serviceaccounts", {"metadata": {"name": name}}),
        (
            f"{rbac}/roles",
            {
                "metadata": {"name": name},
                "rules": [
                    {
                        "apiGroups": ["coordination.k8s.io"],
                        "resources": ["leases"],
                        "verbs": ["get", "create", "patch"],
                    },
                    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]},
                ],
            },
        ),
        (
            f"{rbac}/rolebindings",
            {
                "metadata": {"name": name},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                "subjects": [{"kind": "ServiceAccount", "name": name}],
            },
        ),
    ):
        assert apiserver.request("POST", path, json=body).status_code == 201
    token = apiserver.request("POST", f"/api/v1/namespaces/ml/serviceaccounts/{name}/token", json={"spec": {}}).json()[
        "status"
    ]["token"]
    kubeconfig = yaml.safe_load(apiserver.kubeconfig.read_text())
    kubeconfig["users"][0]["user"] = {"token": token}
    (tmp_path / "ci-kubeconfig").write_text(yaml.safe_dump(kubeconfig))
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
    lease = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, "namespace": "ml"},
        "spec": {"holderIdentity": "ci-1", "leaseDurationSeconds": 300, "acquireTime": now, "renewTime": now},
    }
    tasks = yaml.safe_load("""
- name: lock
  kubernetes.core.k8s: {kubeconfig: "{{ kc }}", definition: "{{ lease }}"}
- name: lock_again
  kubernetes.core.k8s: {kubeconfig: "{{ kc }}", definition: "{{ lease }}"}
- name: configmaps
  kubernetes.core.k8s_info: {kubeconfig: "{{ kc }}", kind: ConfigMap, namespace: ml}
- name: secrets
  kubernetes.core.k8s_info: {kubeconfig: "{{ kc }}", kind: Secret, namespace: kube-system}
  ignore_errors: true
""")
    results = play(apiserver, tmp_path, tasks, {"kc": str(tmp_path / "ci-kubeconfig"), "lease": lease})
    assert results["lock"]["changed"] is True and results["lock_again"]["changed"] is False
    assert results["lock"]["result"]["spec"]["holderIdentity"] == "ci-1"
    assert results["configmaps"]["resources"] is not None
    assert results["secrets"]["failed"] is True
    message = results["secrets"]["msg"]  # the Status body, JSON-escaped inside the exception text
    assert "Reason: Forbidden" in message
    assert (
        f'secrets is forbidden: User \\"system:serviceaccount:ml:{name}\\" cannot list resource '
        '\\"secrets\\" in API group \\"\\" in the namespace \\"kube-system\\"'
    ) in message
