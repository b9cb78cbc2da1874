"""What the kubelet reads out of a pod spec (sandbox.cluster.podspec), on a Store, without processes.

The expected values are the kubelet's (Kubernetes 1.32): expansion.Expand's cases,
makeEnvironmentVariables' order, configMap volume ``items`` and ``subPath``.
"""

from __future__ import annotations

import base64

import pytest

from sandbox.cluster import podspec
from sandbox.store import Store


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def store() -> Store:
    store = Store()
    store.create("namespaces", "", {"metadata": {"name": "ml"}})
    store.create("secrets", "ml", {"metadata": {"name": "litellm-masterkey"}, "data": {"masterkey": b64("sk-mk")}})
    store.create(
        "secrets",
        "ml",
        {"metadata": {"name": "env"}, "data": {"DATABASE_USERNAME": b64("litellm"), "HOST": b64("from-secret")}},
    )
    store.create(
        "configmaps",
        "ml",
        {"metadata": {"name": "litellm-config"}, "data": {"config.yaml": "model_list: []\n", "other": "x"}},
    )
    return store


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$(A)", "a"),
        ("x-$(A)-$(B)-y", "x-a-b-y"),
        ("$(MISSING)", "$(MISSING)"),  # unknown references stay as written
        ("$$(A)", "$(A)"),  # $$ escapes
        ("$$$(A)", "$a"),
        ("$(A", "$(A"),  # incomplete reference
        ("$A", "$A"),  # not a reference
        ("cost $", "cost $"),  # a trailing $
        ("$()", "$()"),  # empty name: mapping("") is unknown
    ],
)
def test_expand_follows_the_kubelet(text, expected):
    assert podspec.expand(text, {"A": "a", "B": "b"}.get) == expected


def test_env_order_secret_key_refs_and_references(store):
    pod = {
        "metadata": {"name": "p", "namespace": "ml", "labels": {"app": "litellm"}},
        "spec": {"serviceAccountName": "default"},
        "status": {"podIP": "127.1.2.3"},
    }
    container = {
        "envFrom": [{"secretRef": {"name": "env"}}, {"secretRef": {"name": "absent", "optional": True}}],
        "env": [
            {"name": "HOST", "value": "0.0.0.0"},  # env wins over envFrom
            {
                "name": "PROXY_MASTER_KEY",
                "valueFrom": {"secretKeyRef": {"name": "litellm-masterkey", "key": "masterkey"}},
            },
            {"name": "DATABASE_URL", "value": "postgresql://$(DATABASE_USERNAME):$(DATABASE_PASSWORD)@db"},
            {"name": "DATABASE_PASSWORD", "value": "later"},  # defined after its use: not expanded above
            {"name": "LATER", "value": "$(DATABASE_PASSWORD)"},
            {"name": "RAW", "valueFrom": {"secretKeyRef": {"name": "env", "key": "HOST"}}},
            {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            {"name": "EMPTY"},
        ],
        "args": ["--config", "/etc/litellm/config.yaml", "--key", "$(PROXY_MASTER_KEY)", "$$(HOST)"],
    }
    env = podspec.container_env(store, pod, container)
    assert env["HOST"] == "0.0.0.0"
    assert env["PROXY_MASTER_KEY"] == "sk-mk"
    assert env["DATABASE_URL"] == "postgresql://litellm:$(DATABASE_PASSWORD)@db"
    assert env["LATER"] == "later"
    assert env["RAW"] == "from-secret"
    assert (env["POD"], env["IP"], env["APP"], env["EMPTY"]) == ("p", "127.1.2.3", "litellm", "")
    _, args = podspec.command_and_args(container, env)
    assert args == ["--config", "/etc/litellm/config.yaml", "--key", "sk-mk", "$(HOST)"]


def test_missing_references_block_the_container(store):
    pod = {"metadata": {"name": "p", "namespace": "ml"}}
    with pytest.raises(podspec.ConfigError, match="couldn't find key nope in Secret ml/litellm-masterkey") as err:
        podspec.container_env(
            store,
            pod,
            {"env": [{"name": "K", "valueFrom": {"secretKeyRef": {"name": "litellm-masterkey", "key": "nope"}}}]},
        )
    assert err.value.reason == "CreateContainerConfigError"
    with pytest.raises(podspec.ConfigError, match='secret "absent" not found'):
        podspec.container_env(store, pod, {"envFrom": [{"secretRef": {"name": "absent"}}]})
    assert (
        podspec.container_env(
            store,
            pod,
            {"env": [{"name": "K", "valueFrom": {"secretKeyRef": {"name": "absent", "key": "k", "optional": True}}}]},
        )
        == {}
    )


def test_items_and_sub_path_as_the_helm_chart_mounts_the_config(store):
    volume = {
        "name": "litellm-config",
        "configMap": {"name": "litellm-config", "items": [{"key": "config.yaml", "path": "config.yaml"}]},
    }
    files = podspec.volume_files(store, "ml", volume)
    assert files == {"config.yaml": "model_list: []\n"}  # only the listed key
    mount = {"name": "litellm-config", "mountPath": "/etc/litellm/config.yaml", "subPath": "config.yaml"}
    assert podspec.mount(files, mount) == {"": "model_list: []\n"}
    # items rename: subPath names the path inside the volume, not the ConfigMap key.
    renamed = {
        "name": "v",
        "configMap": {"name": "litellm-config", "items": [{"key": "config.yaml", "path": "proxy.yaml"}]},
    }
    files = podspec.volume_files(store, "ml", renamed)
    with pytest.raises(podspec.ConfigError, match="failed to prepare subPath"):
        podspec.mount(files, {"name": "v", "mountPath": "/c", "subPath": "config.yaml"})
    assert podspec.mount(files, {"name": "v", "mountPath": "/c", "subPath": "proxy.yaml"}) == {"": "model_list: []\n"}
    # A listed key the ConfigMap lacks fails the mount (FailedMount, the pod stays ContainerCreating).
    missing = {"name": "v", "configMap": {"name": "litellm-config", "items": [{"key": "nope", "path": "x"}]}}
    with pytest.raises(podspec.ConfigError, match="non-existent config key: nope") as err:
        podspec.volume_files(store, "ml", missing)
    assert (err.value.reason, err.value.event) == ("ContainerCreating", "FailedMount")
    with pytest.raises(podspec.ConfigError, match='configmap "gone" not found'):
        podspec.volume_files(store, "ml", {"name": "v", "configMap": {"name": "gone"}})
    # Without items, every key is a file.
    assert podspec.volume_files(store, "ml", {"name": "v", "configMap": {"name": "litellm-config"}}) == {
        "config.yaml": "model_list: []\n",
        "other": "x",
    }


def test_probe_ports_may_be_named():
    container = {"name": "litellm", "ports": [{"name": "http", "containerPort": 4000}]}
    assert podspec.probe_port(container, "http") == 4000
    assert podspec.probe_port(container, 8081) == 8081
    with pytest.raises(ValueError, match='"health" is not a named port'):
        podspec.probe_port(container, "health")
