"""The story's *before* state: what a homelab cluster runs before this collection.

Namespaces ``default`` and ``kube-system``, as on every cluster, and namespace
``ml`` with LiteLLM in one of two shapes:

* ``default`` -- the story's own manifests: the ConfigMap (three fallback-chain
  models, the operator's comments), the Secret without provider keys (with
  LITELLM_MASTER_KEY), the Deployment and its Service;
* ``helm`` -- the same configuration installed with the official Helm chart
  (``sandbox/helm.py``): ConfigMap ``litellm-config`` as ``toYaml`` renders it,
  the master key in Secret ``litellm-masterkey`` (env PROXY_MASTER_KEY), the
  operator's own Secret ``litellm-secrets`` (DATABASE_URL, OPENAI_API_KEY; no
  master key) through ``environmentSecrets``, the chart's Service and Deployment;
* ``componentized`` -- the same configuration installed with today's chart, helm/litellm
  (``sandbox/componentized.py``): gateway, backend and ui Deployments, a Service each, HPAs for
  gateway and backend, ConfigMap ``litellm-litellm-gateway-config`` that gateway and backend
  both read, the master key in the operator's ``litellm-master-key-secret``, provider keys in
  ``litellm-secrets`` (``gateway.envSecrets`` and ``backend.envSecrets``), the database
  credentials in ``litellm-writer-secret``, and the completed migrations Job;
* ``componentized-own-config`` -- today's chart with ``gateway.config.create: false``: the operator
  keeps the story's ConfigMap ``litellm-config`` (kubectl apply, comments and all, no Helm
  metadata) and mounts it into gateway and backend with ``gateway``/``backend`` ``volumes``,
  ``volumeMounts`` and ``extraEnv`` CONFIG_FILE_PATH (componentized.OWN_CONFIG_VALUES); the chart
  renders no ConfigMap.

With Redis (``--redis``) the Deployment runs 2 replicas and ``litellm-secrets``
holds REDIS_PASSWORD; ``router_settings`` stay the operator's (the collection
writes the redis_* settings). Model ``api_base`` values point at the fake providers.
Every object goes through the API server's defaulting, as if it had been applied.
"""

from __future__ import annotations

import base64
import secrets

import yaml

from . import componentized, helm, providers
from .apiserver import managedfields
from .apiserver.resources import RESOURCES
from .apiserver.validation import apply_defaults
from .store import Store

SHAPES = ("default", "helm", "componentized", "componentized-own-config")
# Where each shape keeps LiteLLM's master key: (Secret, key).
MASTER_KEY_LOCATION = {
    "default": ("litellm-secrets", "LITELLM_MASTER_KEY"),
    "helm": (helm.MASTER_KEY_SECRET, helm.MASTER_KEY_KEY),
    "componentized": (componentized.MASTER_KEY_SECRET, componentized.MASTER_KEY_KEY),
    "componentized-own-config": (componentized.MASTER_KEY_SECRET, componentized.MASTER_KEY_KEY),
}
# The ConfigMap LiteLLM reads its config from, per shape.
CONFIGMAP = {
    "default": "litellm-config",
    "helm": helm.CONFIGMAP,
    "componentized": componentized.CONFIGMAP,
    "componentized-own-config": componentized.OWN_CONFIGMAP,
}
# The Deployments of each shape that serve, as (Deployment, Service, port); the first serves
# inference (the LiteLLM the collection manages), the sandbox is up when all of them are ready.
SERVING = {
    "default": [("litellm", "litellm", 4000)],
    "helm": [("litellm", "litellm", 4000)],
    "componentized": [
        (componentized.NAMES[c], componentized.NAMES[c], componentized.PORTS[c]) for c in ("gateway", "backend", "ui")
    ],
}
SERVING["componentized-own-config"] = SERVING["componentized"]
REDIS_PASSWORD_ENV = "REDIS_PASSWORD"

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


# The field managers of the tools that made the before state, as the API server records them (the
# ``fieldManager`` each sends on its create; the creator owns every field it set, defaults included):
# * ``kubectl apply`` (client-side, the story's manifests): "kubectl-client-side-apply", kubectl's
#   FieldManagerClientSideApply (k8s.io/kubectl pkg/cmd/apply/apply.go). The
#   kubectl.kubernetes.io/last-applied-configuration annotation it also writes is left out.
# * ``kubectl create secret`` (the Secrets the charts only reference): "kubectl-create"
#   (k8s.io/kubectl pkg/cmd/create/create_secret.go, its FieldManager default).
# * ``helm install`` (Helm 3): client-side creates with getManagedFieldsManager() as the manager --
#   kube.ManagedFieldsManager when set, else filepath.Base(os.Args[0]), "helm" for the CLI
#   (helm/helm pkg/kube/client.go, createResource: WithFieldManager(getManagedFieldsManager())).
#   Helm 4 applies server-side under the same name instead (client.go Create, serverSideApply true).
STORY_MANAGER = "kubectl-client-side-apply"
OPERATOR_SECRET_MANAGER = "kubectl-create"
HELM_MANAGER = "helm"


def _create(store: Store, resource: str, namespace: str, obj: dict, manager: str | None = None) -> dict:
    """Create ``obj`` with the defaults the API server would fill in, its fields owned by ``manager``
    (managedfields.record_update, as the API server's create handler records them); None: by nobody
    (the objects the API server makes itself)."""
    rtype = next(r for r in RESOURCES if r.plural == resource)
    apply_defaults(rtype, obj)
    if manager is not None:
        managedfields.record_update(resource, None, obj, manager, rtype.api_version)
    return store.create(resource, namespace, obj)


def _b64(values: dict[str, str]) -> dict[str, str]:
    return {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}


def seed(
    store: Store, providers_url: str, shape: str = "default", replicas: int = 1, redis_password: str | None = None
) -> dict[str, str]:
    """Create the before state; return the generated secrets the sandbox must know.

    The result has the env values of ``litellm-secrets`` and, under ``master_key``,
    LiteLLM's master key (wherever the shape keeps it).
    """
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r} (known: {', '.join(SHAPES)})")
    master_key = "sk-" + secrets.token_hex(24)
    env = {
        "DATABASE_URL": f"postgresql://litellm:{secrets.token_hex(12)}@postgres.{NAMESPACE}.svc:5432/litellm",
        "OPENAI_API_KEY": "sk-sandbox-" + secrets.token_hex(20),
    }
    if shape == "default":
        env = {"LITELLM_MASTER_KEY": master_key, **env}
    if redis_password is not None:
        env[REDIS_PASSWORD_ENV] = redis_password
    # The namespaces every cluster has from the start (kube-apiserver creates them).
    for system_namespace in ("default", "kube-system"):
        _create(
            store, "namespaces", "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": system_namespace}}
        )
    _create(store, "namespaces", "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    if shape == "helm":
        _seed_helm(store, providers_url, master_key, env, replicas)
    elif shape.startswith("componentized"):
        env.pop("DATABASE_URL")  # the new chart passes DATABASE_HOST/USER/... (litellm-writer-secret)
        _seed_componentized(
            store, providers_url, master_key, env, replicas, own_config=shape == "componentized-own-config"
        )
    else:
        _seed_default(store, providers_url, env, replicas)
    return {**env, "master_key": master_key}


def _seed_default(store: Store, providers_url: str, env: dict[str, str], replicas: int) -> None:
    _create(
        store,
        "configmaps",
        NAMESPACE,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "litellm-config", "labels": dict(LABELS)},
            "data": {"config.yaml": before_config(providers_url)},
        },
        manager=STORY_MANAGER,
    )
    _create(
        store,
        "secrets",
        NAMESPACE,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {"name": "litellm-secrets", "labels": dict(LABELS)},
            "data": _b64(env),
        },
        manager=STORY_MANAGER,
    )
    _create(
        store,
        "services",
        NAMESPACE,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "litellm", "labels": dict(LABELS)},
            "spec": {
                "type": "ClusterIP",
                "selector": {"app": "litellm"},
                "ports": [{"name": "http", "port": 4000, "targetPort": "http", "protocol": "TCP"}],
            },
        },
        manager=STORY_MANAGER,
    )
    body = deployment()
    body["spec"]["replicas"] = replicas
    _create(store, "deployments", NAMESPACE, body, manager=STORY_MANAGER)


def _seed_helm(store: Store, providers_url: str, master_key: str, env: dict[str, str], replicas: int) -> None:
    # The operator's own Secret, created before `helm install` (the chart only
    # references it through environmentSecrets): no labels, not Helm's.
    _create(
        store,
        "secrets",
        NAMESPACE,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {"name": "litellm-secrets"},
            "data": _b64(env),
        },
        manager=OPERATOR_SECRET_MANAGER,
    )
    story = yaml.safe_load(before_config(providers_url))
    rendered, manifest, values = helm.render(story, master_key, NAMESPACE, replicas, ["litellm-secrets"])
    plural = {"Secret": "secrets", "ConfigMap": "configmaps", "Service": "services", "Deployment": "deployments"}
    # Helm records the release first (pending-install), installs in its InstallOrder, then marks it deployed.
    _create(store, "secrets", NAMESPACE, helm.release_secret(manifest, values, NAMESPACE), manager=HELM_MANAGER)
    for _, obj in rendered:
        _create(store, plural[obj["kind"]], NAMESPACE, obj, manager=HELM_MANAGER)


def _seed_componentized(
    store: Store, providers_url: str, master_key: str, env: dict[str, str], replicas: int, own_config: bool = False
) -> None:
    # The Secrets the chart only references, created by the operator beforehand: not Helm's.
    for name, data in (
        (componentized.MASTER_KEY_SECRET, {componentized.MASTER_KEY_KEY: master_key}),
        (componentized.WRITER_SECRET, {"username": "litellm", "password": secrets.token_hex(12)}),
        ("litellm-secrets", env),
    ):
        _create(
            store,
            "secrets",
            NAMESPACE,
            {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": name}, "data": _b64(data)},
            manager=OPERATOR_SECRET_MANAGER,
        )
    if own_config:
        # The operator's own config, `kubectl apply -f litellm-config.yaml` before `helm install`.
        _create(
            store,
            "configmaps",
            NAMESPACE,
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": componentized.OWN_CONFIGMAP},
                "data": {"config.yaml": before_config(providers_url)},
            },
            manager=STORY_MANAGER,
        )
    story = yaml.safe_load(before_config(providers_url))
    rendered, job, manifest, values = componentized.render(
        story, NAMESPACE, replicas, ["litellm-secrets"], own_config=own_config
    )
    started, finished = componentized.finished_times()
    hooks = [
        {
            "name": job["metadata"]["name"],
            "kind": "Job",
            "path": f"{componentized.CHART}/templates/migrations-job.yaml",
            "manifest": yaml.safe_dump(job, sort_keys=False),
            "events": ["pre-install", "pre-upgrade"],
            "last_run": {"started_at": started, "completed_at": finished, "phase": "Succeeded"},
            "weight": 0,
            "delete_policies": ["before-hook-creation"],
        }
    ]
    release = helm.release_secret(manifest, values, NAMESPACE, chart=componentized.CHART_METADATA, hooks=hooks)
    _create(store, "secrets", NAMESPACE, release, manager=HELM_MANAGER)
    # The pre-install hook ran first: the Job as the Job controller left it.
    created = _create(store, "jobs", NAMESPACE, job, manager=HELM_MANAGER)
    created["status"] = componentized.job_succeeded(started, finished)
    store.update("jobs", NAMESPACE, created, subresource="status")
    plural = {
        "ConfigMap": "configmaps",
        "Service": "services",
        "Deployment": "deployments",
        "HorizontalPodAutoscaler": "horizontalpodautoscalers",
    }
    min_replicas = {}
    for _, obj in rendered:
        if obj["kind"] == "HorizontalPodAutoscaler":
            min_replicas[obj["spec"]["scaleTargetRef"]["name"]] = obj["spec"]["minReplicas"]
    for _, obj in rendered:
        if obj["kind"] == "Deployment" and obj["metadata"]["name"] in min_replicas:
            # What the HPA leaves: it scales its target to minReplicas at once (the chart sets none).
            obj["spec"]["replicas"] = min_replicas[obj["metadata"]["name"]]
        created = _create(store, plural[obj["kind"]], NAMESPACE, obj, manager=HELM_MANAGER)
        if obj["kind"] == "HorizontalPodAutoscaler":
            created["status"] = componentized.hpa_status(obj["spec"]["minReplicas"])
            store.update("horizontalpodautoscalers", NAMESPACE, created, subresource="status")


def deployment() -> dict:
    """Deployment litellm: 1 replica, envFrom the Secret, config from the ConfigMap."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "litellm", "labels": dict(LABELS)},
        "spec": {
            "replicas": 1,
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
            "selector": {"matchLabels": {"app": "litellm"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": dict(LABELS)},
                "spec": {
                    "restartPolicy": "Always",
                    "terminationGracePeriodSeconds": 30,
                    "containers": [
                        {
                            "name": "litellm",
                            "image": "ghcr.io/berriai/litellm:main-v1.108.7",
                            "args": ["--config", "/app/config.yaml", "--port", "4000", "--num_workers", "1"],
                            "ports": [{"name": "http", "containerPort": 4000, "protocol": "TCP"}],
                            "envFrom": [{"secretRef": {"name": "litellm-secrets"}}],
                            "volumeMounts": [
                                {
                                    "name": "config",
                                    "mountPath": "/app/config.yaml",
                                    "subPath": "config.yaml",
                                    "readOnly": True,
                                }
                            ],
                            "readinessProbe": {
                                "httpGet": {"path": "/health/readiness", "port": 4000},
                                "periodSeconds": 5,
                                "timeoutSeconds": 3,
                                "failureThreshold": 3,
                            },
                            "livenessProbe": {
                                "httpGet": {"path": "/health/liveliness", "port": 4000},
                                "initialDelaySeconds": 60,
                                "periodSeconds": 15,
                            },
                            "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
                        }
                    ],
                    "volumes": [{"name": "config", "configMap": {"name": "litellm-config"}}],
                },
            },
        },
    }
