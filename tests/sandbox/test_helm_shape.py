"""The Helm-shaped sandbox (``sandbox up --shape helm``): what the official chart installs, running.

The expectations are the chart's templates (BerriAI/litellm deploy/charts/litellm-helm,
see sandbox/helm.py for the versions) and Helm's ownership metadata
(helm/helm pkg/action/validate.go, setMetadataVisitor).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import time

import pytest
import yaml

from sandbox import helm, seed

pytestmark = pytest.mark.litellm

CHART_LABELS = {
    "helm.sh/chart": "litellm-helm-1.1.0",
    "app.kubernetes.io/name": "litellm",
    "app.kubernetes.io/instance": "litellm",
    "app.kubernetes.io/version": "v1.80.12",
    "app.kubernetes.io/managed-by": "Helm",
}
OWNERSHIP = {"meta.helm.sh/release-name": "litellm", "meta.helm.sh/release-namespace": "ml"}


@pytest.fixture(scope="module")
def helm_shape():
    saved = {name: os.environ.get(name) for name in ("SANDBOX_SHAPE", "SANDBOX_REDIS")}
    os.environ["SANDBOX_SHAPE"], os.environ["SANDBOX_REDIS"] = "helm", ""
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="module")
def sandbox(helm_shape, sandbox):  # the shared fixture, started with SANDBOX_SHAPE=helm
    return sandbox


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def master_key(sandbox) -> str:
    return sandbox.secret_value("masterkey", name="litellm-masterkey")


def test_the_chart_objects_with_helm_ownership(sandbox):
    print(f"helm-shaped sandbox ready in {sandbox.start_seconds:.1f}s")
    assert (sandbox.state_dir / "shape").read_text().strip() == "helm"
    for kind, name in (("deployment", "litellm"), ("service", "litellm")):
        meta = sandbox.get(kind, name)["metadata"]
        assert meta["labels"] == CHART_LABELS, kind
        assert OWNERSHIP.items() <= meta["annotations"].items(), kind
    # Templates without labels still get Helm's managed-by label and annotations.
    for kind, name in (("configmap", "litellm-config"), ("secret", "litellm-masterkey")):
        meta = sandbox.get(kind, name)["metadata"]
        assert meta["labels"] == {"app.kubernetes.io/managed-by": "Helm"}, kind
        assert meta["annotations"] == OWNERSHIP, kind
    # The operator's own Secret is not Helm's.
    operators = sandbox.get("secret", "litellm-secrets")
    assert "labels" not in operators["metadata"] and "annotations" not in operators["metadata"]
    assert sorted(operators["data"]) == ["DATABASE_URL", "OPENAI_API_KEY"]
    # The release record: base64(gzip(JSON)) in a helm.sh/release.v1 Secret.
    record = sandbox.get("secret", "sh.helm.release.v1.litellm.v1")
    assert record["type"] == "helm.sh/release.v1"
    assert {k: record["metadata"]["labels"][k] for k in ("name", "owner", "status", "version")} == {
        "name": "litellm",
        "owner": "helm",
        "status": "deployed",
        "version": "1",
    }
    release = json.loads(gzip.decompress(base64.b64decode(base64.b64decode(record["data"]["release"]))))
    assert release["info"]["status"] == "deployed" and release["version"] == 1
    assert "# Source: litellm-helm/templates/deployment.yaml" in release["manifest"]
    assert release["config"]["environmentSecrets"] == ["litellm-secrets"]


def test_config_is_to_yaml_of_proxy_config_with_the_chart_master_key(sandbox):
    text = sandbox.get("configmap", "litellm-config")["data"]["config.yaml"]
    assert "#" not in text, "toYaml drops the operator's comments"
    top_level = [line.split(":")[0] for line in text.splitlines() if line and not line.startswith((" ", "-"))]
    assert top_level == sorted(top_level) == ["general_settings", "litellm_settings", "model_list", "router_settings"]
    config = yaml.safe_load(text)
    assert config["general_settings"] == {"master_key": "os.environ/PROXY_MASTER_KEY"}
    assert [m["model_name"] for m in config["model_list"]] == ["vllm-qwen", "ollama-qwen", "openai-gpt4o"]
    story = yaml.safe_load(seed.before_config(sandbox.providers_url))
    assert config["router_settings"] == story["router_settings"]
    # checksum/config is the sha256 of the rendered template, as the chart computes it.
    pod_annotations = sandbox.get("deployment", "litellm")["spec"]["template"]["metadata"]["annotations"]
    assert (
        pod_annotations["checksum/config"]
        == hashlib.sha256(helm.configmap_text(helm.proxy_config(story)).encode()).hexdigest()
    )


def test_deployment_as_the_chart_renders_it_with_kubernetes_defaults(sandbox):
    spec = sandbox.get("deployment", "litellm")["spec"]
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
    assert spec["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "litellm",
        "app.kubernetes.io/instance": "litellm",
    }
    pod = spec["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == 90
    container = pod["containers"][0]
    assert container["args"] == ["--config", "/etc/litellm/config.yaml"]
    assert container["env"][2] == {
        "name": "PROXY_MASTER_KEY",
        "valueFrom": {"secretKeyRef": {"name": "litellm-masterkey", "key": "masterkey"}},
    }
    assert container["envFrom"] == [{"secretRef": {"name": "litellm-secrets"}}]
    assert container["startupProbe"] == {
        "httpGet": {"path": "/health/readiness", "port": "http", "scheme": "HTTP"},
        "failureThreshold": 30,
        "periodSeconds": 10,
        "timeoutSeconds": 1,
        "successThreshold": 1,
    }
    assert container["livenessProbe"]["timeoutSeconds"] == 1  # Kubernetes' default: the chart sets none
    assert container["volumeMounts"] == [
        {"name": "litellm-config", "mountPath": "/etc/litellm/config.yaml", "subPath": "config.yaml"}
    ]
    assert pod["volumes"][0]["configMap"]["items"] == [{"key": "config.yaml", "path": "config.yaml"}]


def test_litellm_serves_with_the_master_key_from_the_chart_secret(sandbox):
    key = master_key(sandbox)
    assert len(key) > 30
    status, models = sandbox.http("GET", "/v1/models", key=key)
    assert status == 200, models
    assert sorted(m["id"] for m in models["data"]) == ["ollama-qwen", "openai-gpt4o", "vllm-qwen"]
    status, answer = sandbox.chat("openai-gpt4o", key=key)
    assert status == 200 and "fake openai" in answer["choices"][0]["message"]["content"]
    pod = sandbox.pods()[0]
    container = pod["status"]["containerStatuses"][0]
    assert container["started"] and container["ready"] and container["restartCount"] == 0
    # The startupProbe runs every 10 s and LiteLLM needs more than 0 s: the pod
    # cannot be ready before the second startup probe.
    assert sandbox.start_seconds >= 10


def test_a_missing_secret_key_blocks_the_container(sandbox):
    """PROXY_MASTER_KEY from a key the Secret lacks: CreateContainerConfigError, as the kubelet says it."""
    deployment = sandbox.get("deployment", "litellm")
    template = deployment["spec"]["template"]
    template["spec"]["containers"][0]["env"][2]["valueFrom"]["secretKeyRef"]["key"] = "absent"
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "missing-key", "labels": {"test": "x"}},
        "spec": template["spec"],
    }
    sandbox.kubectl("-n", "ml", "apply", "-f", "-", input=json.dumps(pod))
    try:

        def waiting():
            statuses = sandbox.get("pod", "missing-key")["status"].get("containerStatuses") or []
            return (
                statuses
                and statuses[0]["state"].get("waiting", {}).get("reason") == "CreateContainerConfigError"
                and statuses[0]["state"]["waiting"]
            )

        state = wait_for(waiting, timeout=30, what="CreateContainerConfigError")
        assert state["message"] == "couldn't find key absent in Secret ml/litellm-masterkey"
    finally:
        sandbox.kubectl("-n", "ml", "delete", "pod", "missing-key", "--wait=false")
