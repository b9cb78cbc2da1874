"""The story's *before* state: what a homelab cluster runs before this collection.

Namespaces ``default`` and ``kube-system``, as on every cluster, and namespace
``ml`` with the LiteLLM ConfigMap (three fallback-chain models, the
operator's comments), the Secret without provider keys, the Deployment and its
Service. Model ``api_base`` values point at the sandbox's fake providers.
"""

from __future__ import annotations

import base64
import secrets

from . import providers
from .store import Store

NAMESPACE = "ml"
LABELS = {"app.kubernetes.io/name": "litellm", "app": "litellm"}

# Keys the fake providers accept from the start, random strings in each provider's current
# key format (sandbox/provider_catalog.py KEY_FORMAT). They are demo values, not secrets of
# anybody's; inventory/sandbox's vault carries the same ones (tests/sandbox checks both).
DEMO_PROVIDER_KEYS = {
    "groq": "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",
    "gemini": "AQ.AbOjNv2oaSBdHFWUxTUQhVo89N3QZZ0lhtEXE0WvP6VtOOWOtv",
    "mistral": "8JyMkuBSzARnPhAiIcvRQOSnf5NYvSJm",
}

CONFIG_TEMPLATE = """\
# LiteLLM proxy configuration (homelab, namespace ml).
# Managed in git; external providers are added as parallel models.
model_list:
  # Tier 1: GPU (3s timeout)
  - model_name: vllm-qwen
    litellm_params:
      model: hosted_vllm/Qwen/Qwen2.5-7B-Instruct
      api_base: {vllm}
      timeout: 3
  # Tier 2: CPU (120s timeout)
  - model_name: ollama-qwen
    litellm_params:
      model: ollama_chat/qwen2.5:7b
      api_base: {ollama}
      timeout: 120
  # Tier 3: Cloud (30s timeout)
  - model_name: openai-gpt4o
    litellm_params:
      model: openai/gpt-4o
      api_base: {openai}
      api_key: os.environ/OPENAI_API_KEY
      timeout: 30

router_settings:
  # Fallback chain: vllm-qwen -> ollama-qwen -> openai-gpt4o
  fallbacks: [{{"vllm-qwen": ["ollama-qwen"]}}, {{"ollama-qwen": ["openai-gpt4o"]}}]
  num_retries: 0

litellm_settings:
  drop_params: true
  request_timeout: 600

general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
"""


def before_config(providers_url: str) -> str:
    """The story's three-model config.yaml, pointing at the fake providers."""
    return CONFIG_TEMPLATE.format(
        vllm=providers.api_base(providers_url, "vllm"),
        ollama=providers.api_base(providers_url, "ollama"),
        openai=providers.api_base(providers_url, "openai"),
    )


def seed(store: Store, providers_url: str) -> dict[str, str]:
    """Create the before state; return the generated secrets the sandbox must know."""
    generated = {
        "LITELLM_MASTER_KEY": "sk-" + secrets.token_hex(24),
        "DATABASE_URL": f"postgresql://litellm:{secrets.token_hex(12)}@postgres.{NAMESPACE}.svc:5432/litellm",
        "OPENAI_API_KEY": "sk-sandbox-" + secrets.token_hex(20),
    }
    # The namespaces every cluster has from the start (kube-apiserver creates them).
    for system_namespace in ("default", "kube-system"):
        store.create("namespaces", "", {"apiVersion": "v1", "kind": "Namespace",
                                        "metadata": {"name": system_namespace}})
    store.create("namespaces", "", {"apiVersion": "v1", "kind": "Namespace",
                                    "metadata": {"name": NAMESPACE}})
    store.create("configmaps", NAMESPACE, {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "litellm-config", "labels": dict(LABELS)},
        "data": {"config.yaml": before_config(providers_url)},
    })
    store.create("secrets", NAMESPACE, {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": "litellm-secrets", "labels": dict(LABELS)},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in generated.items()},
    })
    store.create("services", NAMESPACE, {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "litellm", "labels": dict(LABELS)},
        "spec": {"type": "ClusterIP", "selector": {"app": "litellm"},
                 "ports": [{"name": "http", "port": 4000, "targetPort": "http", "protocol": "TCP"}]},
    })
    store.create("deployments", NAMESPACE, deployment())
    return generated


def deployment() -> dict:
    """Deployment litellm: 1 replica, envFrom the Secret, config from the ConfigMap."""
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "litellm", "labels": dict(LABELS)},
        "spec": {
            "replicas": 1,
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
            "selector": {"matchLabels": {"app": "litellm"}},
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": dict(LABELS)},
                "spec": {
                    "restartPolicy": "Always",
                    "terminationGracePeriodSeconds": 30,
                    "containers": [{
                        "name": "litellm",
                        "image": "ghcr.io/berriai/litellm:main-v1.108.7",
                        "args": ["--config", "/app/config.yaml", "--port", "4000", "--num_workers", "1"],
                        "ports": [{"name": "http", "containerPort": 4000, "protocol": "TCP"}],
                        "envFrom": [{"secretRef": {"name": "litellm-secrets"}}],
                        "volumeMounts": [{"name": "config", "mountPath": "/app/config.yaml",
                                          "subPath": "config.yaml", "readOnly": True}],
                        "readinessProbe": {"httpGet": {"path": "/health/readiness", "port": 4000},
                                           "periodSeconds": 5, "timeoutSeconds": 3,
                                           "failureThreshold": 3},
                        "livenessProbe": {"httpGet": {"path": "/health/liveliness", "port": 4000},
                                          "initialDelaySeconds": 60, "periodSeconds": 15},
                        "resources": {"requests": {"cpu": "250m", "memory": "512Mi"},
                                      "limits": {"memory": "1Gi"}},
                    }],
                    "volumes": [{"name": "config", "configMap": {"name": "litellm-config"}}],
                },
            },
        },
    }
