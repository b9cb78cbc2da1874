"""The real kubectl (v1.32) against the sandbox API server."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid

import pytest
import yaml

NAME = f"kc-{uuid.uuid4().hex[:6]}"


def manifest(name: str = NAME, image: str = "litellm:1") -> str:
    return yaml.safe_dump_all(
        [
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": "ml", "labels": {"app": name}},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": {"app": name}},
                    "template": {
                        "metadata": {"labels": {"app": name}},
                        "spec": {
                            "containers": [
                                {
                                    "name": "litellm",
                                    "image": image,
                                    "ports": [{"containerPort": 4000}],
                                    "envFrom": [{"secretRef": {"name": name}}],
                                }
                            ]
                        },
                    },
                },
            },
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": "ml"},
                "data": {"config.yaml": "model_list: []\n"},
            },
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": name, "namespace": "ml"},
                "stringData": {"LITELLM_MASTER_KEY": "sk-sandbox"},
            },
        ]
    )


def get(apiserver, *args: str) -> dict:
    return json.loads(apiserver.kubectl("get", *args, "-o", "json").stdout)


@pytest.fixture(scope="module")
def applied(apiserver):
    """The module's objects, created by a client-side kubectl apply."""
    result = apiserver.kubectl("apply", "-f", "-", input=manifest())
    return result.stdout


def test_client_side_apply_creates_then_is_unchanged(apiserver, applied):
    assert f"deployment.apps/{NAME} created" in applied and f"configmap/{NAME} created" in applied
    again = apiserver.kubectl("apply", "-f", "-", input=manifest()).stdout
    assert f"deployment.apps/{NAME} unchanged" in again and f"configmap/{NAME} unchanged" in again
    changed = apiserver.kubectl("apply", "-f", "-", input=manifest(image="litellm:2")).stdout
    assert f"deployment.apps/{NAME} configured" in changed
    deployment = get(apiserver, "deploy", NAME)
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "litellm:2"
    assert deployment["metadata"]["generation"] == 2
    assert "kubectl.kubernetes.io/last-applied-configuration" in deployment["metadata"]["annotations"]
    secret = get(apiserver, "secret", NAME)
    assert secret["data"] == {"LITELLM_MASTER_KEY": "c2stc2FuZGJveA=="} and "stringData" not in secret


def test_get_prints_tables_and_filters(apiserver, applied):
    table = apiserver.kubectl("get", "deploy,cm,secret,pods", "-n", "ml").stdout
    assert "READY   UP-TO-DATE   AVAILABLE" in table and f"deployment.apps/{NAME}" in table
    assert f"configmap/{NAME}" in table and f"secret/{NAME}" in table and "Opaque" in table
    assert apiserver.kubectl("get", "deploy", "-l", f"app={NAME}", "-o", "name").stdout == f"deployment.apps/{NAME}\n"
    assert (
        apiserver.kubectl("get", "deploy", "-l", f"app in ({NAME},x),!absent", "-o", "name").stdout
        == f"deployment.apps/{NAME}\n"
    )
    by_field = apiserver.kubectl("get", "cm", "--field-selector", f"metadata.name={NAME}", "-o", "name")
    assert by_field.stdout == f"configmap/{NAME}\n"
    none = apiserver.kubectl("get", "cm", "--field-selector", "metadata.name=absent")
    assert "No resources found in ml namespace." in none.stderr
    namespaces = apiserver.kubectl("get", "ns").stdout.splitlines()
    assert ["ml", "Active"] in [line.split()[:2] for line in namespaces]


def test_server_side_apply_creates_and_updates(apiserver):
    name = f"ssa-{uuid.uuid4().hex[:6]}"
    first = apiserver.kubectl("apply", "--server-side", "-f", "-", input=manifest(name))
    assert f"deployment.apps/{name} serverside-applied" in first.stdout
    second = apiserver.kubectl(
        "apply", "--server-side", "--force-conflicts", "-f", "-", input=manifest(name, image="litellm:9")
    )
    assert f"configmap/{name} serverside-applied" in second.stdout
    deployment = get(apiserver, "deploy", name)
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "litellm:9"
    assert deployment["metadata"]["generation"] == 2


def test_patch_strategic_merge_and_json(apiserver, applied):
    env = {"spec": {"template": {"spec": {"containers": [{"name": "litellm", "env": [{"name": "A", "value": "1"}]}]}}}}
    apiserver.kubectl("patch", "deploy", NAME, "-p", json.dumps(env))
    apiserver.kubectl("patch", "deploy", NAME, "--type", "merge", "-p", '{"metadata":{"labels":{"tier":"ai"}}}')
    apiserver.kubectl(
        "patch",
        "deploy",
        NAME,
        "--type",
        "json",
        "-p",
        '[{"op":"add","path":"/metadata/annotations/note","value":"x"}]',
    )
    deployment = get(apiserver, "deploy", NAME)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["env"] == [{"name": "A", "value": "1"}] and container["envFrom"]  # merged, not replaced
    assert deployment["metadata"]["labels"]["tier"] == "ai"
    assert deployment["metadata"]["annotations"]["note"] == "x"


def test_rollout_restart_bumps_generation(apiserver, applied):
    before = get(apiserver, "deploy", NAME)["metadata"]["generation"]
    assert "restarted" in apiserver.kubectl("rollout", "restart", f"deploy/{NAME}").stdout
    after = get(apiserver, "deploy", NAME)
    assert after["metadata"]["generation"] == before + 1
    assert "kubectl.kubernetes.io/restartedAt" in after["spec"]["template"]["metadata"]["annotations"]


def test_scale(apiserver, applied):
    assert "scaled" in apiserver.kubectl("scale", f"deploy/{NAME}", "--replicas=3").stdout
    assert get(apiserver, "deploy", NAME)["spec"]["replicas"] == 3
    apiserver.kubectl("scale", f"deploy/{NAME}", "--replicas=1")


def _set_rolled_out(apiserver, name: str) -> None:
    """What the deployment controller reports once every replica is up to date."""
    deployment = apiserver.store.get("deployments", "ml", name)
    replicas = deployment["spec"]["replicas"]
    deployment["status"] = {
        "observedGeneration": deployment["metadata"]["generation"],
        "replicas": replicas,
        "updatedReplicas": replicas,
        "readyReplicas": replicas,
        "availableReplicas": replicas,
        "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
        ],
    }
    apiserver.store.update("deployments", "ml", deployment, subresource="status")


def test_wait_and_rollout_status_follow_the_status(apiserver, applied):
    timer = threading.Timer(1.0, apiserver.call, (_set_rolled_out, apiserver, NAME))
    timer.start()
    try:
        started = time.monotonic()
        waited = apiserver.kubectl("wait", f"deploy/{NAME}", "--for=condition=Available", "--timeout=15s")
        assert "condition met" in waited.stdout and time.monotonic() - started >= 0.8
    finally:
        timer.join()
    jsonpath = apiserver.kubectl("wait", f"deploy/{NAME}", "--for=jsonpath={.status.readyReplicas}=1", "--timeout=5s")
    assert "condition met" in jsonpath.stdout
    status = apiserver.kubectl("rollout", "status", f"deploy/{NAME}", "--timeout=5s")
    assert "successfully rolled out" in status.stdout


def test_get_watch_streams_changes(apiserver, applied):
    watcher = subprocess.Popen(
        apiserver.kubectl_command("get", "cm", "--watch", "-o", "name"),
        stdout=subprocess.PIPE,
        text=True,
        env=apiserver.env,
    )
    try:
        time.sleep(0.7)
        apiserver.kubectl("label", "cm", NAME, "watched=yes")
        apiserver.kubectl("create", "configmap", f"{NAME}-new", "--from-literal=a=b")
        time.sleep(0.7)
    finally:
        watcher.terminate()
    lines = watcher.communicate(timeout=5)[0].splitlines()
    assert lines.count(f"configmap/{NAME}") == 2  # listed, then modified
    assert f"configmap/{NAME}-new" in lines


def test_imperative_create_commands_send_protobuf(apiserver):
    name = f"imp-{uuid.uuid4().hex[:6]}"
    apiserver.kubectl("create", "secret", "generic", name, "--from-literal=GROQ_API_KEY=gsk_x")
    apiserver.kubectl("create", "configmap", name, "--from-literal=a=b")
    apiserver.kubectl("create", "namespace", name)
    assert get(apiserver, "secret", name)["data"] == {"GROQ_API_KEY": "Z3NrX3g="}
    assert get(apiserver, "secret", name)["type"] == "Opaque"
    assert get(apiserver, "cm", name)["data"] == {"a": "b"}
    assert get(apiserver, "ns", name)["status"]["phase"] == "Active"


def test_invalid_deployment_is_rejected(apiserver):
    bad = yaml.safe_load(manifest("bad-deploy").split("---")[0])
    del bad["spec"]["selector"]
    result = apiserver.kubectl("apply", "-f", "-", input=yaml.safe_dump(bad), check=False)
    assert result.returncode != 0
    assert 'The Deployment "bad-deploy" is invalid: spec.selector: Required value' in result.stderr


def test_delete(apiserver):
    name = f"del-{uuid.uuid4().hex[:6]}"
    apiserver.kubectl("apply", "-f", "-", input=manifest(name))
    assert f'deployment.apps "{name}" deleted' in apiserver.kubectl("delete", "deploy", name).stdout
    missing = apiserver.kubectl("get", "deploy", name, check=False)
    assert f'deployments.apps "{name}" not found' in missing.stderr


def test_wrong_token_is_unauthorized(apiserver, tmp_path):
    config = yaml.safe_load(apiserver.kubeconfig.read_text())
    config["users"][0]["user"]["token"] = "wrong"
    wrong = tmp_path / "kubeconfig"
    wrong.write_text(yaml.safe_dump(config))
    result = apiserver.kubectl("get", "cm", kubeconfig=wrong, check=False)
    assert result.returncode == 1
    assert "You must be logged in to the server (Unauthorized)" in result.stderr
