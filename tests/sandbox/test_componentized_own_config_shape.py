"""``--shape componentized-own-config``: today's chart with the operator's own ConfigMap (issue 20).

What ``helm template`` renders from BerriAI/litellm ``helm/litellm`` (gateway/deployment.yaml
@00e7401, backend/deployment.yaml @03f6ace, gateway/configmap.yaml @101bba0, _helpers.tpl @07e8a9b)
with ``gateway.config.create: false`` and ``volumes``/``volumeMounts``/``extraEnv`` for gateway and
backend (sandbox/componentized.py), and the before state the sandbox seeds from it: the operator's
``litellm-config`` made by ``kubectl apply``, with no marker of Helm, so the collection sees no
foreign owner (plugins/module_utils/_owners.py). These need no running process: the objects are
checked as rendered and as stored; tests/integration/test_componentized_own_config.py runs them.
"""

from __future__ import annotations

import base64
import gzip
import json
import sys
from pathlib import Path

import yaml

from sandbox import componentized, seed
from sandbox.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".collections"))

from ansible_collections.homelab.litellm.plugins.module_utils._owners import owners

PROVIDERS = "http://127.0.0.1:9"
SHAPE = "componentized-own-config"
OWN_VOLUME = {"name": "litellm-config", "configMap": {"name": "litellm-config"}}
OWN_MOUNT = {"name": "litellm-config", "mountPath": "/app/config/config.yaml", "subPath": "config.yaml"}
CONFIG_ENV = {"name": "CONFIG_FILE_PATH", "value": "/app/config/config.yaml"}


def rendered(own_config: bool) -> tuple[dict[str, dict], str, dict]:
    story = yaml.safe_load(seed.before_config(PROVIDERS))
    objects, _job, manifest, values = componentized.render(story, "ml", 1, ["litellm-secrets"], own_config=own_config)
    return {f"{obj['kind']}/{obj['metadata']['name']}": obj for _, obj in objects}, manifest, values


def test_the_chart_renders_no_configmap_and_no_checksum():
    objects, manifest, _values = rendered(own_config=True)
    assert not [key for key in objects if key.startswith("ConfigMap/")], objects.keys()
    assert "templates/gateway/configmap.yaml" not in manifest
    assert "checksum/config" not in manifest and "gateway-config" not in manifest
    # The default (config.create true) renders all three, so the difference is the values'.
    default, default_manifest, _ = rendered(own_config=False)
    assert f"ConfigMap/{componentized.CONFIGMAP}" in default and "checksum/config" in default_manifest


def test_gateway_and_backend_mount_the_operators_configmap_through_their_own_values():
    objects, _manifest, _values = rendered(own_config=True)
    for name, component in ((componentized.GATEWAY, "gateway"), (componentized.BACKEND, "backend")):
        pod = objects[f"Deployment/{name}"]["spec"]["template"]
        assert pod["metadata"] == {"labels": componentized.selector_labels(component)}, "no annotations"
        container = pod["spec"]["containers"][0]
        names = [entry["name"] for entry in container["env"]]
        # extraEnv ends litellm.serverEnv (after DISABLE_SCHEMA_UPDATE); the gateway's NUM_WORKERS follows.
        after = names[names.index("DISABLE_SCHEMA_UPDATE") + 1 :]
        assert after == (["CONFIG_FILE_PATH", "NUM_WORKERS"] if component == "gateway" else ["CONFIG_FILE_PATH"])
        assert [e for e in container["env"] if e["name"] == "CONFIG_FILE_PATH"] == [CONFIG_ENV], "once"
        assert container["volumeMounts"] == [OWN_MOUNT], name
        assert pod["spec"]["volumes"] == [OWN_VOLUME], name
        assert container["envFrom"] == [{"secretRef": {"name": "litellm-secrets"}}]


def test_the_values_are_the_ones_the_readme_gives():
    _objects, _manifest, values = rendered(own_config=True)
    own = {"volumes": [OWN_VOLUME], "volumeMounts": [OWN_MOUNT], "extraEnv": [CONFIG_ENV]}
    assert values["gateway"] == {"envSecrets": ["litellm-secrets"], "config": {"create": False}, **own}
    assert values["backend"] == {"envSecrets": ["litellm-secrets"], **own}
    assert "proxy_config" not in json.dumps(values)
    readme = (Path(__file__).resolve().parents[2] / "docs" / "install-shapes.md").read_text()
    section = readme.split("(today's `helm/litellm` chart,", 1)[1]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    documented = yaml.safe_load(block)
    assert documented == {"gateway": values["gateway"], "backend": values["backend"]}


def release_values(store: Store) -> dict:
    record = store.get("secrets", "ml", "sh.helm.release.v1.litellm.v1")
    release = json.loads(gzip.decompress(base64.b64decode(base64.b64decode(record["data"]["release"]))))
    assert "templates/gateway/configmap.yaml" not in release["manifest"]
    return release["config"]


def test_the_seeded_configmap_is_the_operators_and_no_tool_owns_it():
    store = Store()
    seed.seed(store, PROVIDERS, shape=SHAPE)
    assert store.get("configmaps", "ml", componentized.CONFIGMAP) is None, "the chart renders none"
    configmap = store.get("configmaps", "ml", "litellm-config")
    meta = configmap["metadata"]
    assert "labels" not in meta and "annotations" not in meta
    assert [(e["manager"], e["operation"]) for e in meta["managedFields"]] == [("kubectl-client-side-apply", "Update")]
    assert configmap["data"]["config.yaml"] == seed.before_config(PROVIDERS), "the operator's file, comments kept"
    assert owners(configmap) == []
    for name in (componentized.GATEWAY, componentized.BACKEND):
        deployment = store.get("deployments", "ml", name)
        assert owners(deployment)[0].tool == "Helm", "the chart still owns its Deployments"
        assert deployment["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"] == "litellm-config"
    assert release_values(store)["gateway"]["config"] == {"create": False}
    # The default componentized shape's ConfigMap is Helm's: the warning this variant avoids.
    default = Store()
    seed.seed(default, PROVIDERS, shape="componentized")
    assert [o.tool for o in owners(default.get("configmaps", "ml", componentized.CONFIGMAP))] == ["Helm"]


def test_the_shape_serves_and_points_where_the_componentized_one_does():
    assert seed.SERVING[SHAPE] == seed.SERVING["componentized"]
    assert seed.CONFIGMAP[SHAPE] == "litellm-config"
    assert seed.MASTER_KEY_LOCATION[SHAPE] == seed.MASTER_KEY_LOCATION["componentized"]
