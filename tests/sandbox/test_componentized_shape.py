"""The componentized sandbox (``sandbox up --shape componentized``): today's chart's objects, running.

The expectations are the chart's templates (BerriAI/litellm helm/litellm, the commits are in
sandbox/componentized.py), Helm's ownership metadata, and what kubectl and the kubernetes Python
client see of the two kinds the chart adds: autoscaling/v2 HorizontalPodAutoscalers and the
batch/v1 migrations Job.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import threading
import urllib.error
import urllib.request
import uuid

import pytest
import yaml
from kubernetes import client, config, watch

from sandbox import componentized, seed
from tests.conftest import running_sandbox

GATEWAY, BACKEND, UI = componentized.GATEWAY, componentized.BACKEND, componentized.UI
CHART_LABELS = {
    "app.kubernetes.io/name": "litellm",
    "app.kubernetes.io/instance": "litellm",
    "app.kubernetes.io/managed-by": "Helm",
    "helm.sh/chart": "litellm-1.0.0",
}
OWNERSHIP = {"meta.helm.sh/release-name": "litellm", "meta.helm.sh/release-namespace": "ml"}
STORY_MODELS = ["ollama-qwen", "openai-gpt4o", "vllm-qwen"]


# --- the API server alone: the two kinds, as kubectl and the Python client use them -------------


def hpa_body(name: str, min_replicas: int = 1) -> dict:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": min_replicas,
            "maxReplicas": 5,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
                }
            ],
        },
    }


def job_body(name: str) -> dict:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "template": {
                "spec": {"restartPolicy": "Never", "containers": [{"name": "migrate", "image": "migrations:1"}]}
            }
        },
    }


def test_discovery_lists_hpas_and_jobs(apiserver):
    resources = apiserver.kubectl("api-resources", "-o", "wide").stdout
    hpa_line = next(line for line in resources.splitlines() if line.startswith("horizontalpodautoscalers"))
    assert hpa_line.split()[1:5] == ["hpa", "autoscaling/v2", "true", "HorizontalPodAutoscaler"], hpa_line
    job_line = next(line for line in resources.splitlines() if line.startswith("jobs "))
    assert job_line.split()[1:4] == ["batch/v1", "true", "Job"], job_line
    for verb in ("create", "delete", "get", "list", "patch", "update", "watch"):
        assert verb in hpa_line and verb in job_line, verb
    groups = apiserver.request("GET", "/apis").json()["groups"]
    assert {"name": "autoscaling", "versions": [{"groupVersion": "autoscaling/v2", "version": "v2"}]}.items() <= {
        g["name"]: g for g in groups
    }["autoscaling"].items()


def test_kubectl_creates_patches_and_deletes_an_hpa_and_a_job(apiserver):
    name = f"hpa-{uuid.uuid4().hex[:6]}"
    apiserver.kubectl("-n", "ml", "apply", "-f", "-", input=json.dumps(hpa_body(name)))
    created = json.loads(apiserver.kubectl("-n", "ml", "get", "hpa", name, "-o", "json").stdout)
    assert created["metadata"]["generation"] == 1 and created["status"] == {"desiredReplicas": 0}
    apiserver.kubectl("-n", "ml", "patch", "hpa", name, "--type=merge", "-p", '{"spec":{"minReplicas":2}}')
    patched = json.loads(apiserver.kubectl("-n", "ml", "get", "hpa", name, "-o", "json").stdout)
    assert patched["spec"]["minReplicas"] == 2 and patched["metadata"]["generation"] == 2
    table = apiserver.kubectl("-n", "ml", "get", "hpa", name).stdout.splitlines()
    assert table[0].split() == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]
    assert table[1].split()[:7] == [name, f"Deployment/{name}", "cpu:", "<unknown>/70%", "2", "5", "0"]
    apiserver.kubectl("-n", "ml", "delete", "hpa", name)
    assert apiserver.kubectl("-n", "ml", "get", "hpa", name, check=False).returncode == 1

    job = f"job-{uuid.uuid4().hex[:6]}"
    apiserver.kubectl("-n", "ml", "apply", "-f", "-", input=json.dumps(job_body(job)))
    spec = json.loads(apiserver.kubectl("-n", "ml", "get", "job", job, "-o", "json").stdout)["spec"]
    # batch/v1 SetDefaults_Job
    assert (spec["parallelism"], spec["completions"], spec["backoffLimit"]) == (1, 1, 6)
    assert spec["completionMode"] == "NonIndexed" and spec["suspend"] is False
    apiserver.kubectl("-n", "ml", "delete", "job", job)


def test_python_client_lists_watches_and_replaces_hpas(apiserver):
    api = client.AutoscalingV2Api(config.new_client_from_config(config_file=str(apiserver.kubeconfig)))
    name = f"watched-{uuid.uuid4().hex[:6]}"
    seen: list[tuple[str, str]] = []
    start_rv = api.list_namespaced_horizontal_pod_autoscaler("ml").metadata.resource_version

    def follow() -> None:
        for event in watch.Watch().stream(
            api.list_namespaced_horizontal_pod_autoscaler, "ml", resource_version=start_rv, timeout_seconds=10
        ):
            if event["object"].metadata.name == name:
                seen.append((event["type"], event["object"].spec.min_replicas))
                if event["type"] == "DELETED":
                    return

    follower = threading.Thread(target=follow)
    follower.start()
    created = api.create_namespaced_horizontal_pod_autoscaler("ml", hpa_body(name))
    created.spec.min_replicas = 3
    replaced = api.replace_namespaced_horizontal_pod_autoscaler(name, "ml", created)
    assert replaced.spec.min_replicas == 3 and replaced.metadata.generation == 2
    api.delete_namespaced_horizontal_pod_autoscaler(name, "ml")
    follower.join(timeout=15)
    assert seen == [("ADDED", 1), ("MODIFIED", 3), ("DELETED", 3)]


# --- the componentized shape: the chart's objects and the running components --------------------


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    yield from running_sandbox(tmp_path_factory, "--shape", "componentized")


def component_url(sandbox, name: str) -> str:
    return (sandbox.state_dir / f"{name}-url").read_text().strip()


def get(url: str, key: str | None = None) -> tuple[int, object]:
    request = urllib.request.Request(url)
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw = response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read().decode()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw


@pytest.mark.litellm
def test_the_chart_objects_with_helm_ownership(sandbox):
    print(f"componentized sandbox ready in {sandbox.start_seconds:.1f}s")
    info = json.loads((sandbox.state_dir / "sandbox.json").read_text())
    assert info["shape"] == "componentized" and info["deployment"] == GATEWAY
    assert info["deployments"] == [GATEWAY, BACKEND, UI]
    for kind, name, component in (
        ("deployment", GATEWAY, "gateway"),
        ("deployment", BACKEND, "backend"),
        ("deployment", UI, "ui"),
        ("service", GATEWAY, "gateway"),
        ("service", BACKEND, "backend"),
        ("service", UI, "ui"),
        ("hpa", GATEWAY, "gateway"),
        ("hpa", BACKEND, "backend"),
    ):
        meta = sandbox.get(kind, name)["metadata"]
        assert meta["labels"] == {**CHART_LABELS, "app.kubernetes.io/component": component}, (kind, name)
        revision = {"deployment.kubernetes.io/revision": "1"} if kind == "deployment" else {}  # the controller's
        assert meta["annotations"] == {**OWNERSHIP, **revision}, (kind, name)
    # The ui's HPA is off in values.yaml; the ConfigMap's template has no labels (Helm adds its one).
    assert sandbox.kubectl("-n", "ml", "get", "hpa", UI, check=False).returncode == 1
    configmap = sandbox.get("configmap", componentized.CONFIGMAP)["metadata"]
    assert configmap["labels"] == {"app.kubernetes.io/managed-by": "Helm"} and configmap["annotations"] == OWNERSHIP
    # The Secrets the chart only references are the operator's.
    for name, keys in (
        ("litellm-master-key-secret", ["master-key"]),
        ("litellm-writer-secret", ["password", "username"]),
        ("litellm-secrets", ["OPENAI_API_KEY"]),
    ):
        secret = sandbox.get("secret", name)
        assert "labels" not in secret["metadata"] and "annotations" not in secret["metadata"], name
        assert sorted(secret["data"]) == keys, name
    record = sandbox.get("secret", "sh.helm.release.v1.litellm.v1")
    release = json.loads(gzip.decompress(base64.b64decode(base64.b64decode(record["data"]["release"]))))
    assert release["chart"]["metadata"]["name"] == "litellm" and release["chart"]["metadata"]["version"] == "1.0.0"
    assert "# Source: litellm/templates/gateway/deployment.yaml" in release["manifest"]
    assert "migrations-job" not in release["manifest"], "hooks are kept apart from the manifest"
    assert [hook["events"] for hook in release["hooks"]] == [["pre-install", "pre-upgrade"]]
    assert release["config"]["gateway"]["envSecrets"] == ["litellm-secrets"]


@pytest.mark.litellm
def test_gateway_and_backend_read_one_config_through_config_file_path(sandbox):
    text = sandbox.get("configmap", componentized.CONFIGMAP)["data"]["config.yaml"]
    assert "#" not in text, "toYaml drops the operator's comments"
    story = yaml.safe_load(seed.before_config(sandbox.providers_url))
    assert yaml.safe_load(text) == story
    checksum = hashlib.sha256(componentized.configmap_text(story).encode()).hexdigest()
    for name, component, port in ((GATEWAY, "gateway", 4000), (BACKEND, "backend", 4001)):
        pod = sandbox.get("deployment", name)["spec"]["template"]
        assert pod["metadata"]["annotations"] == {"checksum/config": checksum}, name
        container = pod["spec"]["containers"][0]
        assert container["name"] == component and "args" not in container and "command" not in container
        assert container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
        env = {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}
        assert env["CONFIG_FILE_PATH"] == "/app/config/config.yaml"
        assert env["LITELLM_MASTER_KEY"] == {"secretKeyRef": {"name": "litellm-master-key-secret", "key": "master-key"}}
        assert env["DATABASE_HOST"] == "postgres.ml.svc" and env["DISABLE_SCHEMA_UPDATE"] == "true"
        assert env["DATABASE_PASSWORD"] == {"secretKeyRef": {"name": "litellm-writer-secret", "key": "password"}}
        assert container["envFrom"] == [{"secretRef": {"name": "litellm-secrets"}}]
        assert container["volumeMounts"] == [
            {"name": "gateway-config", "mountPath": "/app/config/config.yaml", "subPath": "config.yaml"}
        ]
        assert pod["spec"]["volumes"] == [
            {"name": "gateway-config", "configMap": {"name": componentized.CONFIGMAP, "defaultMode": 420}}
        ]
        assert container["readinessProbe"]["timeoutSeconds"] == 10
    ui = sandbox.get("deployment", UI)["spec"]["template"]["spec"]
    assert ui["automountServiceAccountToken"] is False and "volumes" not in ui
    assert "envFrom" not in ui["containers"][0]


@pytest.mark.litellm
def test_kubectl_get_hpa_and_jobs_as_an_hpa_and_the_job_controller_leave_them(sandbox):
    hpas = sandbox.kubectl("-n", "ml", "get", "hpa").stdout.splitlines()
    rows = {line.split()[0]: line.split() for line in hpas[1:]}
    assert rows[GATEWAY][1:8] == [
        f"Deployment/{GATEWAY}",
        "cpu:",
        "<unknown>/70%,",
        "memory:",
        "<unknown>/80%",
        "1",
        "10",
    ]
    assert rows[BACKEND][1:6] == [f"Deployment/{BACKEND}", "cpu:", "<unknown>/70%", "1", "4"]
    for name in (GATEWAY, BACKEND):
        hpa = sandbox.get("hpa", name)
        deployment = sandbox.get("deployment", name)
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        replicas = hpa["spec"]["minReplicas"]
        assert deployment["spec"]["replicas"] == replicas == deployment["status"]["readyReplicas"], name
        assert hpa["status"]["currentReplicas"] == hpa["status"]["desiredReplicas"] == replicas, name
    jobs = sandbox.kubectl("-n", "ml", "get", "jobs").stdout.splitlines()
    assert jobs[0].split()[:4] == ["NAME", "STATUS", "COMPLETIONS", "DURATION"]
    assert jobs[1].split()[:3] == [componentized.JOB, "Complete", "1/1"]
    job = sandbox.get("job", componentized.JOB)
    assert job["status"]["succeeded"] == 1
    assert [(c["type"], c["status"]) for c in job["status"]["conditions"]] == [("Complete", "True")]
    # A Helm hook, not a release object: its template's labels, none of Helm's annotations.
    assert job["metadata"]["labels"] == {**CHART_LABELS, "app.kubernetes.io/component": "migrations"}
    assert job["metadata"]["annotations"] == {
        "helm.sh/hook": "pre-install,pre-upgrade",
        "helm.sh/hook-delete-policy": "before-hook-creation",
        "helm.sh/hook-weight": "0",
    }
    assert (job["spec"]["backoffLimit"], job["spec"]["ttlSecondsAfterFinished"]) == (4, 120)
    autoscaling = client.AutoscalingV2Api(config.new_client_from_config(config_file=str(sandbox.kubeconfig)))
    listed = autoscaling.list_namespaced_horizontal_pod_autoscaler("ml").items
    assert sorted(h.metadata.name for h in listed) == [BACKEND, GATEWAY]
    batch = client.BatchV1Api(config.new_client_from_config(config_file=str(sandbox.kubeconfig)))
    assert batch.read_namespaced_job(componentized.JOB, "ml").status.succeeded == 1


@pytest.mark.litellm
def test_gateway_and_backend_serve_the_models_through_their_services_without_a_database(sandbox):
    key = sandbox.master_key
    assert key == sandbox.secret_value("master-key", name="litellm-master-key-secret")
    for name in (GATEWAY, BACKEND):
        base = sandbox.url if name == GATEWAY else component_url(sandbox, name)
        status, models = get(base + "/v1/models", key)
        assert status == 200, (name, models)
        assert sorted(m["id"] for m in models["data"]) == STORY_MODELS, name
        status, _ = get(base + "/v1/models")
        assert status == 401, name  # the master key from the chart's env is enforced
    # The management route the chart's ingress sends to the backend lists the same models.
    status, info = get(component_url(sandbox, BACKEND) + "/model/info", key)
    assert status == 200 and sorted(m["model_name"] for m in info["data"]) == STORY_MODELS
    status, answer = sandbox.chat("openai-gpt4o", key=key)
    assert status == 200 and "fake openai" in answer["choices"][0]["message"]["content"]
    # No PostgreSQL: the kubelet kept the chart's DATABASE_* variables from the processes.
    for pod in sandbox.pods():
        if pod["metadata"]["labels"]["app.kubernetes.io/component"] in ("gateway", "backend"):
            log = (sandbox.state_dir / "pods" / "ml" / pod["metadata"]["name"] / "log").read_text()
            assert "not passing DATABASE_HOST, DATABASE_PORT, DATABASE_USER, DATABASE_NAME, DATABASE_PASSWORD" in log


@pytest.mark.litellm
def test_the_ui_answers_on_its_service(sandbox):
    status, _ = get(component_url(sandbox, UI) + "/")
    assert status == 200
    pod = next(p for p in sandbox.pods() if p["metadata"]["labels"]["app.kubernetes.io/component"] == "ui")
    assert pod["status"]["containerStatuses"][0]["ready"] is True
