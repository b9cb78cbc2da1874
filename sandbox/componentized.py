"""LiteLLM as today's chart installs it, componentized (``--shape componentized``).

What ``helm install litellm <BerriAI/litellm helm/litellm> -n ml -f values.yaml`` leaves on a
cluster, where values.yaml sets what the chart requires and what an operator who keeps their own
model list sets::

    database: {writer: {host: postgres.ml.svc, dbname: litellm}}   # required by the chart
    gateway:
      envSecrets: [litellm-secrets]          # provider keys, the operator's own Secret
      config: {proxy_config: <the story's config>}
    backend:
      envSecrets: [litellm-secrets]          # the backend loads the same config, so the same keys

and the Secrets the chart only references exist beforehand: ``litellm-master-key-secret``
(``masterKey.secretName``/``secretKey`` default ``master-key``), ``litellm-writer-secret``
(``database.writer.passwordSecret``: ``username``/``password``) and ``litellm-secrets``.
With Redis (``--redis``) the operator sets ``gateway.hpa.minReplicas: 2``. ``helm`` is not
installed here: the objects are rendered by hand from the chart's public templates (BerriAI/litellm,
``helm/litellm``), each file at the commit read:

* ``values.yaml`` @003ba05: the defaults -- three components, HPAs on for gateway (1..10, cpu 70 %,
  memory 80 %) and backend (1..4, cpu 70 %), *off* for the ui; probes with timeouts of 10 s; no
  ``strategy`` (Kubernetes' RollingUpdate 25 %/25 %); ``replicaCount`` unset; per-component
  ServiceAccounts not created (``default``; the ui's token not mounted); the migrations Job on;
* ``Chart.yaml`` @5cf956f: chart ``litellm`` 1.0.0, appVersion ``1.104.0`` (the image tag);
* ``templates/_helpers.tpl`` @07e8a9b: fullname ``<release>-litellm`` (no "release contains the
  chart name" shortcut, so ``litellm-litellm``), ``litellm.commonLabels`` (name, instance,
  managed-by, helm.sh/chart), per-component selector labels (name, instance, component), and
  ``litellm.serverEnv``: LITELLM_MASTER_KEY from the master-key Secret, LITELLM_LOG, the discrete
  DATABASE_HOST/PORT/USER/NAME/PASSWORD (the proxy assembles DATABASE_URL itself) and
  DISABLE_SCHEMA_UPDATE=true; ``litellm.envFrom`` (envConfigMaps, then envSecrets);
* ``templates/gateway/configmap.yaml`` @101bba0: ``<gateway>-config``, ``config.yaml`` is
  ``proxy_config | toYaml | indent 6`` (keys sorted, comments gone), no labels;
* ``templates/gateway/deployment.yaml`` @00e7401: container ``gateway`` on port 4000, *no args*:
  the config path reaches LiteLLM as env CONFIG_FILE_PATH=/app/config/config.yaml (LiteLLM reads
  it at start-up, proxy_server.py), the ConfigMap mounted there with subPath; NUM_WORKERS;
  ``checksum/config`` the sha256 of the rendered ConfigMap template;
* ``templates/backend/deployment.yaml`` @03f6ace: container ``backend`` on port 4001, the *gateway's*
  ConfigMap mounted at the same path with the same CONFIG_FILE_PATH and the same checksum
  annotation: gateway and backend read one config;
* ``templates/ui/deployment.yaml`` @003ba05: container ``ui`` on port 3000, no config, no keys;
* ``templates/{gateway,ui}/service.yaml`` @298fc7e / @18b6660 (the backend's has the same form),
  ``templates/{gateway,backend}/hpa.yaml`` @1b33c16 / @72cd6cf (autoscaling/v2);
* ``templates/migrations-job.yaml`` @28d31e3: ``<fullname>-migrations``, a Helm
  ``pre-install,pre-upgrade`` hook (``before-hook-creation``), ``backoffLimit: 4``,
  ``ttlSecondsAfterFinished: 120``, image ``litellm-migrations``, the same serverEnv.

``--shape componentized-own-config`` is the chart's other way to give the config, for an operator
who keeps their own model list (the issue's "operator's own ConfigMap mounted with
``gateway.volumes``/``volumeMounts``"): ``gateway.config.create: false`` and, for gateway *and*
backend, ``volumes: [{name: litellm-config, configMap: {name: litellm-config}}]``, ``volumeMounts:
[{name: litellm-config, mountPath: /app/config/config.yaml, subPath: config.yaml}]``, ``extraEnv:
[{name: CONFIG_FILE_PATH, value: /app/config/config.yaml}]`` (OWN_CONFIG_VALUES; values.yaml
@003ba05 declares ``extraEnv``, ``volumes`` and ``volumeMounts`` for gateway and backend). With create
false, configmap.yaml @101bba0 renders nothing, and both deployment templates (gateway @00e7401,
backend @03f6ace) drop the ``checksum/config`` annotation, their CONFIG_FILE_PATH and the
``gateway-config`` volume and mount: the backend template mounts the gateway's ConfigMap only
under ``gateway.config.create`` and has no reference to the gateway's ``volumes``, so the backend
needs the same three values of its own (``backend.volumes``/``volumeMounts`` from its template,
``backend.extraEnv`` through ``litellm.serverEnv``), or it starts without the config. The
ConfigMap ``litellm-config`` is the story's file, ``kubectl apply``'d by the operator (manager
kubectl-client-side-apply, comments kept, no Helm metadata): the chart neither renders nor owns it.

Helm adds its ownership metadata (``app.kubernetes.io/managed-by: Helm``, annotations
``meta.helm.sh/release-name``/``-namespace``) to every object of the release (see sandbox/helm.py);
hooks are not release objects and get none, so the Job carries only its template's labels. The
release record ``sh.helm.release.v1.litellm.v1`` keeps the manifest (hooks apart) and the values.

Where this differs from a real install, and why:

* No PostgreSQL. The chart cannot be installed without one (``database.writer.host`` is
  ``required``) and LiteLLM's Prisma client downloads its engines at start-up, which the offline
  sandbox cannot. The objects carry the DATABASE_* env exactly as rendered, and the sandbox's
  kubelet leaves those variables out of the process environment (sandbox/cluster/kubelet.py
  DROPPED_ENV), so gateway and backend run without a database: no virtual keys, spend or UI
  logins; the master key and the config's models work. ``/v1/models`` and the backend's
  ``/model/info`` need no database (measured: 200 from both; tests/sandbox/
  test_componentized_shape.py). In a real install the image's entrypoint assembles DATABASE_URL
  from these variables and both components use it from start-up (values.yaml: the migrations
  create "tables that gateway + backend assume exist at startup").
* The migrations Job is stored as the Job controller leaves it after a successful run
  (``succeeded: 1``, a ``Complete`` condition); no pod ran, and no TTL controller deletes it
  120 s later as a real cluster would.
* No HPA controller: each HPA's ``status`` says what one would, at rest, with the pods idle --
  current and desired replicas at ``minReplicas``, which is also each Deployment's
  ``spec.replicas`` (the chart renders none while its HPA is on; the API server defaults 1).
  Its ``currentMetrics`` and ``conditions`` (metrics-server readings) are not written.
* The ui image (an nginx serving the static dashboard) is stood in for by a process that answers
  200 on ``/``: the sandbox runs LiteLLM and nothing else of BerriAI's images.
* One image per component (``litellm-gateway``/``-backend``/``-ui``) as these template versions
  name them; the gateway and backend both run the sandbox's LiteLLM 1.108.7. The lens
  sub-chart's environment, which template @03f6ace adds to the backend (LENS_* variables), is
  left out: lens is an optional analytics service the sandbox does not run.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import time

import yaml

from . import helm

RELEASE = "litellm"
CHART = "litellm"
CHART_VERSION = "1.0.0"
APP_VERSION = "1.104.0"
FULLNAME = f"{RELEASE}-{CHART}"  # litellm.fullname: printf "%s-%s" .Release.Name .Chart.Name
GATEWAY = f"{FULLNAME}-gateway"
BACKEND = f"{FULLNAME}-backend"
UI = f"{FULLNAME}-ui"
CONFIGMAP = f"{GATEWAY}-config"
JOB = f"{FULLNAME}-migrations"
CONFIG_PATH = "/app/config/config.yaml"
# --shape componentized-own-config: the operator's ConfigMap (kubectl apply, no Helm metadata) and
# the values that mount it into both components with gateway.config.create false.
OWN_CONFIGMAP = "litellm-config"
OWN_CONFIG_ENV = {"name": "CONFIG_FILE_PATH", "value": CONFIG_PATH}
OWN_CONFIG_VALUES = {
    "volumes": [{"name": OWN_CONFIGMAP, "configMap": {"name": OWN_CONFIGMAP}}],
    "volumeMounts": [{"name": OWN_CONFIGMAP, "mountPath": CONFIG_PATH, "subPath": "config.yaml"}],
    "extraEnv": [OWN_CONFIG_ENV],
}

COMMON_LABELS = {
    "app.kubernetes.io/name": CHART,
    "app.kubernetes.io/instance": RELEASE,
    "app.kubernetes.io/managed-by": "Helm",
    "helm.sh/chart": f"{CHART}-{CHART_VERSION}",
}
MASTER_KEY_SECRET = "litellm-master-key-secret"  # values.yaml masterKey.secretName
MASTER_KEY_KEY = "master-key"  # masterKey.secretKey
WRITER_SECRET = "litellm-writer-secret"  # database.writer.passwordSecret.name
DATABASE_HOST = "postgres.ml.svc"
DATABASE_NAME = "litellm"
# The environment variables the chart's serverEnv gives LiteLLM for its database.
DATABASE_ENV = ("DATABASE_HOST", "DATABASE_PORT", "DATABASE_USER", "DATABASE_NAME", "DATABASE_PASSWORD")
PORTS = {"gateway": 4000, "backend": 4001, "ui": 3000}
NAMES = {"gateway": GATEWAY, "backend": BACKEND, "ui": UI}
# values.yaml's HPA defaults (the ui's is off).
HPA = {
    "gateway": {"minReplicas": 1, "maxReplicas": 10, "cpu": 70, "memory": 80},
    "backend": {"minReplicas": 1, "maxReplicas": 4, "cpu": 70},
}

_LITELLM_PROBES = {
    "livenessProbe": {
        "httpGet": {"path": "/health/liveliness", "port": "http"},
        "initialDelaySeconds": 10,
        "periodSeconds": 15,
        "timeoutSeconds": 10,
        "failureThreshold": 6,
    },
    "readinessProbe": {
        "httpGet": {"path": "/health/readiness", "port": "http"},
        "initialDelaySeconds": 5,
        "periodSeconds": 10,
        "timeoutSeconds": 10,
    },
}
_LITELLM_RESOURCES = {"requests": {"cpu": "1", "memory": "4Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}}


def selector_labels(component: str) -> dict:
    return {
        "app.kubernetes.io/name": CHART,
        "app.kubernetes.io/instance": RELEASE,
        "app.kubernetes.io/component": component,
    }


def labels(component: str) -> dict:
    return {**COMMON_LABELS, "app.kubernetes.io/component": component}


def configmap_text(proxy_config: dict) -> str:
    """templates/gateway/configmap.yaml as Helm renders it: the text ``checksum/config`` hashes.

    The template's first line ``{{- if ... }}`` leaves its own newline, ``{{- end }}`` keeps the last.
    """
    body = "\n".join(" " * 6 + line if line else line for line in helm.to_yaml(proxy_config).split("\n"))
    return f"\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {CONFIGMAP}\ndata:\n  config.yaml: |\n{body}\n"


def server_env(log_level: str | None = "INFO") -> list[dict]:
    """litellm.serverEnv with these values (no read replica, no Redis, no extraEnv)."""

    def from_secret(name: str, secret: str, key: str) -> dict:
        return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}

    env = [from_secret("LITELLM_MASTER_KEY", MASTER_KEY_SECRET, MASTER_KEY_KEY)]
    if log_level:
        env.append({"name": "LITELLM_LOG", "value": log_level})
    return [
        *env,
        {"name": "DATABASE_HOST", "value": DATABASE_HOST},
        {"name": "DATABASE_PORT", "value": "5432"},
        from_secret("DATABASE_USER", WRITER_SECRET, "username"),
        {"name": "DATABASE_NAME", "value": DATABASE_NAME},
        from_secret("DATABASE_PASSWORD", WRITER_SECRET, "password"),
        {"name": "DISABLE_SCHEMA_UPDATE", "value": "true"},
    ]


def _litellm_deployment(component: str, checksum: str | None, env_secrets: list[str], extra_env: list[dict]) -> dict:
    """gateway/deployment.yaml @00e7401 and backend/deployment.yaml @03f6ace: one form, two components.

    ``checksum`` None: ``gateway.config.create: false`` with the operator's own ConfigMap (the
    values in OWN_CONFIG_VALUES for both components). Both templates then render no
    ``checksum/config`` (the backend no ``annotations`` key at all, the gateway an empty one, which
    the API server stores as none), no CONFIG_FILE_PATH of their own and no ``gateway-config``
    volume; the component's ``extraEnv`` ends ``litellm.serverEnv`` (_helpers.tpl @07e8a9b), before
    the gateway's NUM_WORKERS, and its ``volumeMounts``/``volumes`` are the only ones rendered.
    """
    own = checksum is None
    config_env = OWN_CONFIG_ENV if own else {"name": "CONFIG_FILE_PATH", "value": CONFIG_PATH}
    container = {
        "name": component,
        "image": f"ghcr.io/berriai/litellm-{component}:{APP_VERSION}",
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": PORTS[component], "protocol": "TCP"}],
        "env": [*server_env(), copy.deepcopy(config_env), *extra_env],
    }
    if env_secrets:
        container["envFrom"] = [{"secretRef": {"name": name}} for name in env_secrets]
    if own:
        container["volumeMounts"] = copy.deepcopy(OWN_CONFIG_VALUES["volumeMounts"])
        volumes = copy.deepcopy(OWN_CONFIG_VALUES["volumes"])
    else:
        container["volumeMounts"] = [{"name": "gateway-config", "mountPath": CONFIG_PATH, "subPath": "config.yaml"}]
        volumes = [{"name": "gateway-config", "configMap": {"name": CONFIGMAP}}]
    container.update(copy.deepcopy(_LITELLM_PROBES))
    container["resources"] = copy.deepcopy(_LITELLM_RESOURCES)
    pod_metadata = {"labels": selector_labels(component)}
    if not own:
        pod_metadata = {"annotations": {"checksum/config": checksum}, **pod_metadata}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": NAMES[component], "labels": labels(component)},
        "spec": {
            # hpa.enabled: no replicas (the HPA owns the count); strategy {}: none.
            "selector": {"matchLabels": selector_labels(component)},
            "template": {
                "metadata": pod_metadata,
                "spec": {
                    "serviceAccountName": "default",
                    "automountServiceAccountToken": True,
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    }


def ui_deployment() -> dict:
    """ui/deployment.yaml @003ba05 with the defaults (hpa off, replicaCount unset: no replicas)."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": UI, "labels": labels("ui")},
        "spec": {
            "selector": {"matchLabels": selector_labels("ui")},
            "template": {
                "metadata": {"labels": selector_labels("ui")},
                "spec": {
                    "serviceAccountName": "default",
                    "automountServiceAccountToken": False,
                    "containers": [
                        {
                            "name": "ui",
                            "image": f"ghcr.io/berriai/litellm-ui:{APP_VERSION}",
                            "imagePullPolicy": "IfNotPresent",
                            "ports": [{"name": "http", "containerPort": 3000, "protocol": "TCP"}],
                            "env": [{"name": "LITELLM_LOG", "value": "INFO"}],
                            "livenessProbe": {
                                "httpGet": {"path": "/", "port": "http"},
                                "initialDelaySeconds": 5,
                                "periodSeconds": 20,
                            },
                            "readinessProbe": {
                                "httpGet": {"path": "/", "port": "http"},
                                "initialDelaySeconds": 2,
                                "periodSeconds": 10,
                            },
                            "resources": {
                                "requests": {"cpu": "500m", "memory": "500Mi"},
                                "limits": {"cpu": "1", "memory": "1Gi"},
                            },
                        }
                    ],
                },
            },
        },
    }


def service(component: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": NAMES[component], "labels": labels(component)},
        "spec": {
            "type": "ClusterIP",
            "ports": [{"port": PORTS[component], "targetPort": "http", "protocol": "TCP", "name": "http"}],
            "selector": selector_labels(component),
        },
    }


def hpa(component: str, min_replicas: int) -> dict:
    values = HPA[component]
    metrics = [
        {
            "type": "Resource",
            "resource": {"name": resource, "target": {"type": "Utilization", "averageUtilization": values[key]}},
        }
        for resource, key in (("cpu", "cpu"), ("memory", "memory"))
        if values.get(key)
    ]
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": NAMES[component], "labels": labels(component)},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": NAMES[component]},
            "minReplicas": min_replicas,
            "maxReplicas": values["maxReplicas"],
            "metrics": metrics,
        },
    }


def hpa_status(replicas: int) -> dict:
    """What the HPA controller writes with the pods at rest: it keeps minReplicas."""
    return {"observedGeneration": 1, "currentReplicas": replicas, "desiredReplicas": replicas}


def migrations_job() -> dict:
    """migrations-job.yaml @28d31e3: a Helm hook, so none of Helm's ownership annotations."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": JOB,
            "labels": labels("migrations"),
            "annotations": {
                "helm.sh/hook": "pre-install,pre-upgrade",
                "helm.sh/hook-delete-policy": "before-hook-creation",
                "helm.sh/hook-weight": "0",
            },
        },
        "spec": {
            "backoffLimit": 4,
            "ttlSecondsAfterFinished": 120,
            "template": {
                "metadata": {"labels": labels("migrations")},
                "spec": {
                    "restartPolicy": "Never",
                    "serviceAccountName": "default",
                    "containers": [
                        {
                            "name": "prisma-migrations",
                            "image": f"ghcr.io/berriai/litellm-migrations:{APP_VERSION}",
                            "imagePullPolicy": "IfNotPresent",
                            "env": server_env(log_level=None),  # migrationJob has no logLevel
                        }
                    ],
                },
            },
        },
    }


def job_succeeded(started: str, finished: str) -> dict:
    """The Job's status as the Job controller leaves it after one successful pod."""
    return {
        "startTime": started,
        "completionTime": finished,
        "succeeded": 1,
        "ready": 0,
        "terminating": 0,
        "uncountedTerminatedPods": {},
        "conditions": [
            {
                "type": "Complete",
                "status": "True",
                "lastProbeTime": finished,
                "lastTransitionTime": finished,
            }
        ],
    }


def user_values(story_config: dict | None, env_secrets: list[str], gateway_min_replicas: int) -> dict:
    """The operator's values.yaml; ``story_config`` None: their own ConfigMap (OWN_CONFIG_VALUES)."""
    if story_config is None:
        gateway = {"envSecrets": list(env_secrets), "config": {"create": False}, **copy.deepcopy(OWN_CONFIG_VALUES)}
        backend = {"envSecrets": list(env_secrets), **copy.deepcopy(OWN_CONFIG_VALUES)}
    else:
        gateway = {"envSecrets": list(env_secrets), "config": {"proxy_config": copy.deepcopy(story_config)}}
        backend = {"envSecrets": list(env_secrets)}
    values = {
        "database": {"writer": {"host": DATABASE_HOST, "dbname": DATABASE_NAME}},
        "gateway": gateway,
        "backend": backend,
    }
    if gateway_min_replicas != 1:
        values["gateway"]["hpa"] = {"minReplicas": gateway_min_replicas}
    return values


def render(
    story_config: dict, namespace: str, replicas: int, env_secrets: list[str], own_config: bool = False
) -> tuple[list[tuple[str, dict]], dict, str, dict]:
    """The release's objects in Helm's install order, the hook Job, the manifest text and the values.

    ``replicas`` is the gateway HPA's minReplicas: what its Deployment runs at rest. ``own_config``:
    ``gateway.config.create: false`` and OWN_CONFIG_VALUES, so no ConfigMap is rendered
    (templates/gateway/configmap.yaml is wrapped in ``if .Values.gateway.config.create``) and
    ``story_config`` is the operator's, not the chart's.
    """
    if own_config:
        checksum, head = None, []
    else:
        cm_text = configmap_text(story_config)
        checksum = hashlib.sha256(cm_text.encode()).hexdigest()
        head = [("templates/gateway/configmap.yaml", yaml.safe_load(cm_text))]
    rendered = [
        *head,
        ("templates/backend/service.yaml", service("backend")),
        ("templates/gateway/service.yaml", service("gateway")),
        ("templates/ui/service.yaml", service("ui")),
        ("templates/backend/deployment.yaml", _litellm_deployment("backend", checksum, env_secrets, [])),
        (
            "templates/gateway/deployment.yaml",
            _litellm_deployment("gateway", checksum, env_secrets, [{"name": "NUM_WORKERS", "value": "1"}]),
        ),
        ("templates/ui/deployment.yaml", ui_deployment()),
        ("templates/backend/hpa.yaml", hpa("backend", 1)),
        ("templates/gateway/hpa.yaml", hpa("gateway", replicas)),
    ]
    manifest = "".join(
        f"---\n# Source: {CHART}/{source}\n{yaml.safe_dump(obj, sort_keys=False)}" for source, obj in rendered
    )
    for _, obj in rendered:
        helm.own(obj, namespace)
    values = user_values(None if own_config else story_config, env_secrets, replicas)
    return rendered, migrations_job(), manifest, values


CHART_METADATA = {
    "name": CHART,
    "version": CHART_VERSION,
    "appVersion": APP_VERSION,
    "apiVersion": "v2",
    "type": "application",
    "description": "Deploys LiteLLM from one image, either componentized (gateway, UI backend, and UI as "
    "separate Deployments) or as a single monolith Deployment",
}


def b64(values: dict[str, str]) -> dict[str, str]:
    return {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}


def finished_times() -> tuple[str, str]:
    """When the hook Job ran: a few seconds before the release's objects were created."""
    now = time.time()
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    return time.strftime(stamp, time.gmtime(now - 8)), time.strftime(stamp, time.gmtime(now - 2))
