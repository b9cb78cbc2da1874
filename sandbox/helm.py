"""The before state as the official LiteLLM Helm chart installs it (``--shape helm``).

What ``helm install litellm <chart> -n ml --set masterkey=<random strong key>
--set environmentSecrets={litellm-secrets} --set db.deployStandalone=false
--set migrationJob.enabled=false -f values.yaml`` leaves on a cluster, where
values.yaml sets ``proxy_config`` to the story's configuration (and, with Redis,
``replicaCount: 2``). ``helm`` itself is not installed here: the objects are
rendered by hand from the chart's templates, which are public (BerriAI/litellm,
``deploy/charts/litellm-helm``):

* ``Chart.yaml`` @56fab12: chart ``litellm-helm`` 1.1.0, appVersion ``v1.80.12``;
* ``values.yaml`` @00eb60c: the defaults (``proxy_config.general_settings.master_key:
  os.environ/PROXY_MASTER_KEY``, ``terminationGracePeriodSeconds: 90``, ...);
* ``templates/_helpers.tpl`` @3723017: fullname = release name ``litellm`` (the
  release name contains the chart name), the five ``litellm.labels``, selector
  labels ``app.kubernetes.io/name`` + ``app.kubernetes.io/instance``;
* ``templates/configmap-litellm.yaml`` @52f43c8: ``config.yaml`` is ``proxy_config |
  toYaml | indent 6`` -- keys sorted, no comments -- and the template sets no labels;
* ``templates/secret-masterkey.yaml`` @57a634d, ``templates/service.yaml`` @e92db58;
* ``templates/deployment.yaml`` @f77fbefc, the newest version of that template whose
  text could be read. It renders fixed probes: liveness and readiness with only
  ``path`` and ``port: "http"`` (Kubernetes' defaults do the rest: period 10 s,
  timeout 1 s, 3 failures), a startupProbe with ``failureThreshold: 30`` and
  ``periodSeconds: 10``; no ``strategy`` (so Kubernetes' RollingUpdate 25 %/25 %);
  no ``revisionHistoryLimit``. Newer chart versions (their helm-unittest suite
  ``tests/deployment_tests.yaml`` @03ce249) render the probe values of values.yaml
  (timeouts 5 s), ``revisionHistoryLimit: 10`` and ``LITELLM_LOG``; the older
  template is kept because its text is known and its 1 s timeouts are the stricter.

Helm's user values are coalesced into the chart's defaults: maps merge, lists are
replaced. So the story's ``model_list`` replaces the example models and, the
operator having dropped their own ``master_key`` line (the key now comes from the
chart's Secret), the default ``master_key: os.environ/PROXY_MASTER_KEY`` stays.

Helm 3 (and 4) adds its ownership metadata to *every* object it installs, whether
its template has labels or not (helm/helm ``pkg/action/validate.go``,
``setMetadataVisitor``, applied by ``install.go`` to all rendered resources): the
label ``app.kubernetes.io/managed-by: Helm`` and the annotations
``meta.helm.sh/release-name`` / ``meta.helm.sh/release-namespace``. So the
ConfigMap, whose template has no labels, carries that one label. Helm also records
the release as a Secret ``sh.helm.release.v1.litellm.v1`` (type
``helm.sh/release.v1``, labels name/owner/status/version/createdAt/modifiedAt,
``pkg/storage/driver/secrets.go``); its ``release`` value is base64 of the gzipped
release JSON. The sandbox writes one with the rendered manifest and the user
values; the chart's own files are left out of it (a real record carries them).
"""

from __future__ import annotations

import base64
import copy
import gzip
import hashlib
import json
import time

import yaml

RELEASE = "litellm"
CHART = "litellm-helm"
CHART_VERSION = "1.1.0"
APP_VERSION = "v1.80.12"
FULLNAME = RELEASE  # litellm.fullname: the release name contains the chart's name "litellm"

SELECTOR_LABELS = {"app.kubernetes.io/name": "litellm", "app.kubernetes.io/instance": RELEASE}
LABELS = {
    "helm.sh/chart": f"{CHART}-{CHART_VERSION}",
    **SELECTOR_LABELS,
    "app.kubernetes.io/version": APP_VERSION,
    "app.kubernetes.io/managed-by": "Helm",
}
MASTER_KEY_SECRET = f"{FULLNAME}-masterkey"
MASTER_KEY_KEY = "masterkey"
CONFIGMAP = f"{FULLNAME}-config"
# values.yaml's proxy_config: two example models and the master key from PROXY_MASTER_KEY.
CHART_DEFAULT_PROXY_CONFIG = {
    "model_list": [
        {"model_name": "gpt-3.5-turbo", "litellm_params": {"model": "gpt-3.5-turbo", "api_key": "eXaMpLeOnLy"}},
        {
            "model_name": "fake-openai-endpoint",
            "litellm_params": {
                "model": "openai/fake",
                "api_key": "fake-key",
                "api_base": "https://exampleopenaiendpoint-production.up.railway.app/",
            },
        },
    ],
    "general_settings": {"master_key": "os.environ/PROXY_MASTER_KEY"},
}


def user_proxy_config(story_config: dict) -> dict:
    """The operator's ``proxy_config`` value: the story's config without its own master_key line."""
    config = copy.deepcopy(story_config)
    general = config.get("general_settings") or {}
    general.pop("master_key", None)
    if not general:
        config.pop("general_settings", None)
    return config


def proxy_config(story_config: dict) -> dict:
    """``proxy_config`` after Helm coalesced the operator's values into the chart's defaults.

    Maps merge key by key (the user's value wins), lists are replaced whole.
    """

    def coalesce(user, default):
        if isinstance(user, dict) and isinstance(default, dict):
            merged = copy.deepcopy(default)
            for key, value in user.items():
                merged[key] = coalesce(value, default.get(key))
            return merged
        return copy.deepcopy(user)

    return coalesce(user_proxy_config(story_config), CHART_DEFAULT_PROXY_CONFIG)


def to_yaml(value) -> str:
    """Helm's ``toYaml``: sigs.k8s.io/yaml (keys sorted, lists not indented), trailing newline trimmed."""
    return yaml.safe_dump(value, sort_keys=True, default_flow_style=False).rstrip("\n")


def configmap_text(config: dict) -> str:
    """templates/configmap-litellm.yaml as Helm renders it (the text ``checksum/config`` hashes)."""
    body = "\n".join(" " * 6 + line if line else line for line in to_yaml(config).split("\n"))
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {CONFIGMAP}\ndata:\n  config.yaml: |\n{body}"


def deployment(replicas: int, checksum: str, env_secrets: list[str]) -> dict:
    """templates/deployment.yaml @f77fbefc with the install's values."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": FULLNAME, "labels": dict(LABELS)},  # deploymentAnnotations: {}
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(SELECTOR_LABELS)},
            "template": {
                "metadata": {"annotations": {"checksum/config": checksum}, "labels": dict(LABELS)},
                "spec": {
                    "serviceAccountName": "default",
                    "securityContext": {},
                    "containers": [
                        {
                            "name": "litellm",
                            "securityContext": {},
                            "image": f"ghcr.io/berriai/litellm-database:main-{APP_VERSION}",
                            "imagePullPolicy": "Always",
                            "env": [
                                {"name": "HOST", "value": "0.0.0.0"},
                                {"name": "PORT", "value": "4000"},
                                {
                                    "name": "PROXY_MASTER_KEY",
                                    "valueFrom": {"secretKeyRef": {"name": MASTER_KEY_SECRET, "key": MASTER_KEY_KEY}},
                                },
                            ],
                            "envFrom": [{"secretRef": {"name": name}} for name in env_secrets],
                            "args": ["--config", "/etc/litellm/config.yaml"],
                            "ports": [{"name": "http", "containerPort": 4000, "protocol": "TCP"}],
                            "livenessProbe": {"httpGet": {"path": "/health/liveliness", "port": "http"}},
                            "readinessProbe": {"httpGet": {"path": "/health/readiness", "port": "http"}},
                            "startupProbe": {
                                "httpGet": {"path": "/health/readiness", "port": "http"},
                                "failureThreshold": 30,
                                "periodSeconds": 10,
                            },
                            "resources": {},
                            "volumeMounts": [
                                {
                                    "name": "litellm-config",
                                    "mountPath": "/etc/litellm/config.yaml",
                                    "subPath": "config.yaml",
                                }
                            ],
                        }
                    ],
                    "volumes": [
                        {
                            "name": "litellm-config",
                            "configMap": {"name": CONFIGMAP, "items": [{"key": "config.yaml", "path": "config.yaml"}]},
                        }
                    ],
                    "terminationGracePeriodSeconds": 90,
                },
            },
        },
    }


def render(
    story_config: dict, master_key: str, namespace: str, replicas: int, env_secrets: list[str]
) -> tuple[list[tuple[str, dict]], str, dict]:
    """The chart's objects in Helm's install order, the manifest text, and the user values."""
    config = proxy_config(story_config)
    cm_text = configmap_text(config)
    checksum = hashlib.sha256(cm_text.encode()).hexdigest()
    rendered = [
        (
            "templates/secret-masterkey.yaml",
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": MASTER_KEY_SECRET},
                "data": {MASTER_KEY_KEY: base64.b64encode(master_key.encode()).decode()},
                "type": "Opaque",
            },
        ),
        # Helm appends "\n" to each template's text when it assembles the manifest.
        ("templates/configmap-litellm.yaml", yaml.safe_load(cm_text + "\n")),
        (
            "templates/service.yaml",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": FULLNAME, "labels": dict(LABELS)},
                "spec": {
                    "type": "ClusterIP",
                    "ports": [{"port": 4000, "targetPort": "http", "protocol": "TCP", "name": "http"}],
                    "selector": dict(SELECTOR_LABELS),
                },
            },
        ),
        ("templates/deployment.yaml", deployment(replicas, checksum, env_secrets)),
    ]
    manifest = "".join(
        f"---\n# Source: {CHART}/{source}\n{yaml.safe_dump(obj, sort_keys=False)}" for source, obj in rendered
    )
    user_values = {
        "masterkey": master_key,
        "environmentSecrets": env_secrets,
        "db": {"deployStandalone": False},
        "migrationJob": {"enabled": False},
        "proxy_config": user_proxy_config(story_config),
    }
    if replicas != 1:
        user_values["replicaCount"] = replicas
    for _, obj in rendered:
        own(obj, namespace)
    return rendered, manifest, user_values


def own(obj: dict, namespace: str) -> None:
    """Helm's ownership metadata (setMetadataVisitor): on every installed object."""
    meta = obj.setdefault("metadata", {})
    meta["labels"] = {**(meta.get("labels") or {}), "app.kubernetes.io/managed-by": "Helm"}
    meta["annotations"] = {
        **(meta.get("annotations") or {}),
        "meta.helm.sh/release-name": RELEASE,
        "meta.helm.sh/release-namespace": namespace,
    }


def release_secret(
    manifest: str, user_values: dict, namespace: str, chart: dict | None = None, hooks: list[dict] | None = None
) -> dict:
    """The release record Helm's secrets storage driver keeps (revision 1, deployed).

    ``chart``: the chart's metadata (default: litellm-helm's); ``hooks``: the release's hooks.
    """
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime())
    release = {
        "name": RELEASE,
        "namespace": namespace,
        "version": 1,
        "manifest": manifest,
        "config": user_values,
        "info": {
            "first_deployed": now,
            "last_deployed": now,
            "deleted": "",
            "status": "deployed",
            "description": "Install complete",
        },
        "chart": {
            "metadata": chart
            or {
                "name": CHART,
                "version": CHART_VERSION,
                "appVersion": APP_VERSION,
                "apiVersion": "v2",
                "type": "application",
                "description": "Call all LLM APIs using the OpenAI format",
            }
        },
    }
    if hooks:
        release["hooks"] = hooks
    encoded = base64.b64encode(gzip.compress(json.dumps(release).encode())).decode()
    stamp = str(int(time.time()))
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "helm.sh/release.v1",
        "metadata": {
            "name": f"sh.helm.release.v1.{RELEASE}.v1",
            "labels": {
                "name": RELEASE,
                "owner": "helm",
                "status": "deployed",
                "version": "1",
                "createdAt": stamp,
                "modifiedAt": stamp,
            },
        },
        "data": {"release": base64.b64encode(encoded.encode()).decode()},
    }
