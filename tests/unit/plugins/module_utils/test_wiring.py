# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/_wiring.py: how a LiteLLM Deployment is wired, read as the kubelet does."""

from __future__ import annotations

import copy

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _wiring as wiring
from ansible_collections.homelab.litellm.tests.unit.fake_kube import litellm_deployment

S, CM = wiring.SECRET, wiring.CONFIGMAP


def deployment(containers=None, volumes=None):
    """The sandbox-shaped Deployment, with other containers or volumes when given."""
    dep = litellm_deployment()
    spec = dep["spec"]["template"]["spec"]
    if containers is not None:
        spec["containers"] = containers
    if volumes is not None:
        spec["volumes"] = volumes
    return dep


def litellm(**fields):
    container = copy.deepcopy(litellm_deployment()["spec"]["template"]["spec"]["containers"][0])
    container.update(fields)
    return container


def wiring_error(call, *fragments):
    with pytest.raises(wiring.WiringError) as caught:
        call()
    for fragment in fragments:
        assert fragment in str(caught.value), "%r not in %r" % (fragment, str(caught.value))
    return str(caught.value)


# -- --config --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "container, path",
    [
        ({"args": ["--config", "/app/config.yaml", "--port", "4000"]}, "/app/config.yaml"),
        ({"command": ["litellm"], "args": ["-c", "/etc/litellm.yaml"]}, "/etc/litellm.yaml"),
        ({"command": ["litellm", "--config=/app/c.yaml"]}, "/app/c.yaml"),
        ({"args": ["-c=/app/c.yaml"]}, "/app/c.yaml"),
        ({"args": ["--port", "4000", "--config", "/app/config.yaml"]}, "/app/config.yaml"),
        ({"args": ["litellm --config /app/config.yaml --port 4000"]}, "/app/config.yaml"),
        ({"args": ["litellm --config='/app/my config.yaml'"]}, "/app/my config.yaml"),
        ({"args": ["--config"]}, None),
        ({"args": ["--port", "4000"]}, None),
        ({}, None),
        # Today's chart: no arguments, the path in CONFIG_FILE_PATH, which LiteLLM prefers to --config.
        ({"env": [{"name": "CONFIG_FILE_PATH", "value": "/app/config/config.yaml"}]}, "/app/config/config.yaml"),
        (
            {"args": ["--config", "/app/other.yaml"], "env": [{"name": "CONFIG_FILE_PATH", "value": "/app/c.yaml"}]},
            "/app/c.yaml",
        ),
        ({"env": [{"name": "CONFIG_FILE_PATH", "valueFrom": {"configMapKeyRef": {"name": "x", "key": "y"}}}]}, None),
        ({"env": [{"name": "CONFIG_FILE_PATH", "value": ""}], "args": ["--config", "/app/a.yaml"]}, "/app/a.yaml"),
    ],
)
def test_config_path_of(container, path):
    assert wiring.config_path_of(container) == path


def test_config_path_of_a_shell_one_liner_in_its_own_argument():
    container = {"command": ["/bin/sh", "-c", "litellm --config /app/config.yaml --port 4000"]}
    assert wiring.config_path_of(container) == "/app/config.yaml"


# -- which container -------------------------------------------------------------------------------

SIDECAR = {"name": "proxy", "image": "envoy", "args": ["--port", "8080"]}


@pytest.mark.parametrize(
    "containers, name, chosen",
    [
        ([litellm()], None, "litellm"),
        ([SIDECAR, litellm(name="llm")], None, "llm"),
        ([SIDECAR, dict(SIDECAR, name="litellm")], None, "litellm"),
        ([dict(SIDECAR, name="only")], None, "only"),
        ([litellm(), litellm(name="second")], None, "litellm"),
        ([SIDECAR, litellm()], "proxy", "proxy"),
    ],
)
def test_litellm_container(containers, name, chosen):
    assert wiring.litellm_container(deployment(containers), name)["name"] == chosen


def test_a_named_container_that_does_not_exist_is_refused():
    wiring_error(
        lambda: wiring.litellm_container(deployment([SIDECAR, litellm()]), "llm"),
        "Deployment ml/litellm has no container 'llm'",
        "containers: proxy, litellm",
        "litellm_container",
    )


def test_no_clear_litellm_container_is_refused():
    wiring_error(
        lambda: wiring.litellm_container(deployment([SIDECAR, dict(SIDECAR, name="other")])),
        "has 2 containers (proxy, other)",
        "none is clearly LiteLLM",
        "set litellm_container",
    )


# -- the config file's ConfigMap key ---------------------------------------------------------------


def source_of(container, volumes):
    dep = deployment([container], volumes)
    return wiring.config_source(dep, wiring.litellm_container(dep))


CONFIG_VOLUME = [{"name": "config", "configMap": {"name": "litellm-config"}}]


def test_the_sandbox_shape_subpath_mount():
    dep = litellm_deployment()
    assert wiring.config_source(dep, wiring.litellm_container(dep)) == wiring.ConfigSource(
        "litellm-config", "config.yaml", "/app/config.yaml", "litellm", "config"
    )


@pytest.mark.parametrize(
    "args, mounts, volumes, key",
    [
        # the whole ConfigMap as a directory
        (
            ["--config", "/app/conf/proxy.yaml"],
            [{"name": "config", "mountPath": "/app/conf"}],
            CONFIG_VOLUME,
            "proxy.yaml",
        ),
        (
            ["--config", "/app/conf/proxy.yaml"],
            [{"name": "config", "mountPath": "/app/conf/"}],
            CONFIG_VOLUME,
            "proxy.yaml",
        ),
        # items map a key to another file name
        (
            ["--config", "/etc/litellm/config.yaml"],
            [{"name": "config", "mountPath": "/etc/litellm"}],
            [
                {
                    "name": "config",
                    "configMap": {
                        "name": "litellm-config",
                        "items": [
                            {"key": "other", "path": "other.yaml"},
                            {"key": "proxy-config", "path": "config.yaml"},
                        ],
                    },
                }
            ],
            "proxy-config",
        ),
        # subPath of a file, with a path that normalizes to the mount path
        (
            ["--config", "/app/./config.yaml"],
            [{"name": "config", "mountPath": "/app/config.yaml", "subPath": "proxy.yaml"}],
            CONFIG_VOLUME,
            "proxy.yaml",
        ),
        # subPath naming an items path
        (
            ["--config", "/app/config.yaml"],
            [{"name": "config", "mountPath": "/app/config.yaml", "subPath": "config.yaml"}],
            [
                {
                    "name": "config",
                    "configMap": {"name": "litellm-config", "items": [{"key": "proxy", "path": "config.yaml"}]},
                }
            ],
            "proxy",
        ),
        # the longest mount path wins
        (
            ["--config", "/app/config/config.yaml"],
            [{"name": "empty", "mountPath": "/app"}, {"name": "config", "mountPath": "/app/config"}],
            [{"name": "empty", "emptyDir": {}}] + CONFIG_VOLUME,
            "config.yaml",
        ),
        # a projected volume with a ConfigMap among its sources
        (
            ["--config", "/cfg/config.yaml"],
            [{"name": "all", "mountPath": "/cfg"}],
            [
                {
                    "name": "all",
                    "projected": {"sources": [{"secret": {"name": "s"}}, {"configMap": {"name": "litellm-config"}}]},
                }
            ],
            "config.yaml",
        ),
    ],
)
def test_config_source(args, mounts, volumes, key):
    source = source_of(litellm(args=args, volumeMounts=mounts), volumes)
    assert (source.key, source.configmap) == (key, "litellm-config")


def test_a_projected_volume_names_its_configmap():
    other = {"configMap": {"name": "other", "items": [{"key": "x", "path": "x.yaml"}]}}
    volumes = [{"name": "all", "projected": {"sources": [other, {"configMap": {"name": "litellm-config"}}]}}]
    source = source_of(
        litellm(args=["--config", "/cfg/config.yaml"], volumeMounts=[{"name": "all", "mountPath": "/cfg"}]), volumes
    )
    assert (source.configmap, source.key, source.mount) == ("litellm-config", "config.yaml", "all")


@pytest.mark.parametrize(
    "volume, kind",
    [
        ({"name": "config", "secret": {"secretName": "litellm-config"}}, "secret"),
        ({"name": "config", "emptyDir": {}}, "emptyDir"),
        ({"name": "config", "persistentVolumeClaim": {"claimName": "c"}}, "persistentVolumeClaim"),
        ({"name": "config", "projected": {"sources": [{"secret": {"name": "s"}}]}}, "projected"),
    ],
)
def test_a_config_file_that_is_not_from_a_configmap_is_refused(volume, kind):
    wiring_error(
        lambda: source_of(litellm(), [volume]),
        "comes from a %s volume 'config', not from a ConfigMap" % kind,
        "/app/config.yaml",
    )


def test_a_mount_of_the_whole_volume_at_the_config_path_is_a_directory():
    wiring_error(
        lambda: source_of(litellm(volumeMounts=[{"name": "config", "mountPath": "/app/config.yaml"}]), CONFIG_VOLUME),
        "mounted at the config path /app/config.yaml itself without subPath",
        "--config <dir>/<key>",
    )


def test_nothing_mounted_at_the_config_path_is_refused():
    wiring_error(
        lambda: source_of(litellm(volumeMounts=[{"name": "config", "mountPath": "/data"}]), CONFIG_VOLUME),
        "nothing is mounted at /app/config.yaml",
        "baked into its image",
    )


@pytest.mark.parametrize(
    "mounts, volumes",
    [
        (
            [{"name": "config", "mountPath": "/app"}],
            [{"name": "config", "configMap": {"name": "c", "items": [{"key": "k", "path": "other.yaml"}]}}],
        ),
        ([{"name": "config", "mountPath": "/"}], CONFIG_VOLUME),
    ],
)
def test_no_key_of_the_volume_is_the_config_file(mounts, volumes):
    wiring_error(
        lambda: source_of(litellm(volumeMounts=mounts), volumes),
        "no key of the ConfigMap volume 'config'",
        "items and the mount's subPath",
    )


def test_a_container_without_config_is_refused():
    wiring_error(
        lambda: source_of(litellm(args=["--port", "4000"]), CONFIG_VOLUME),
        "container litellm of Deployment ml/litellm is not started with --config",
        "args: [--config, /app/config.yaml]",
    )


# -- environment -----------------------------------------------------------------------------------


def test_envfrom_objects_in_order():
    container = litellm(
        envFrom=[
            {"secretRef": {"name": "a"}},
            {"configMapRef": {"name": "b"}},
            {"prefix": "X_"},
            {"secretRef": {"name": "c"}},
        ]
    )
    assert wiring.envfrom_objects(container) == [(S, "a"), (CM, "b"), (S, "c")]


def test_env_wins_over_envfrom_and_a_later_envfrom_over_an_earlier():
    container = litellm(
        envFrom=[
            {"secretRef": {"name": "first"}},
            {"configMapRef": {"name": "settings"}},
            {"secretRef": {"name": "second", "optional": True}},
        ],
        env=[{"name": "OPENAI_API_KEY", "valueFrom": {"secretKeyRef": {"name": "openai", "key": "k"}}}],
    )
    env = wiring.resolve_env(
        container,
        {
            (S, "first"): ["GROQ_API_KEY", "OPENAI_API_KEY", "ONLY_FIRST"],
            (CM, "settings"): ["GROQ_API_KEY", "LOG_LEVEL"],
            (S, "second"): ["GROQ_API_KEY"],
        },
    )
    assert env == {
        "GROQ_API_KEY": wiring.Source(S, "second", "GROQ_API_KEY", True, 2),
        "OPENAI_API_KEY": wiring.Source(S, "openai", "k", False),
        "ONLY_FIRST": wiring.Source(S, "first", "ONLY_FIRST", False, 0),
        "LOG_LEVEL": wiring.Source(CM, "settings", "LOG_LEVEL", False, 1),
    }


def test_prefixes_and_invalid_names():
    container = litellm(
        envFrom=[{"secretRef": {"name": "keys"}, "prefix": "LLM_"}, {"secretRef": {"name": "odd"}, "prefix": "1"}]
    )
    env = wiring.resolve_env(container, {(S, "keys"): ["GROQ_API_KEY", "groq-key", "b.c"], (S, "odd"): ["A", "_B"]})
    assert env == {"LLM_GROQ_API_KEY": wiring.Source(S, "keys", "GROQ_API_KEY", False, 0)}


@pytest.mark.parametrize(
    "entry, source",
    [
        (
            {"name": "K", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k", "optional": True}}},
            wiring.Source(S, "s", "k", True),
        ),
        (
            {"name": "K", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}},
            wiring.Source(CM, "c", "k", False),
        ),
        (
            {"name": "K", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            wiring.Source(wiring.FIELD, None, None, False),
        ),
        (
            {"name": "K", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
            wiring.Source(wiring.FIELD, None, None, False),
        ),
        ({"name": "K", "value": "literal"}, wiring.Source(wiring.LITERAL, None, None, False)),
        ({"name": "K"}, wiring.Source(wiring.LITERAL, None, None, False)),
    ],
)
def test_env_entry_sources(entry, source):
    assert wiring.resolve_env(litellm(envFrom=[], env=[entry]), {}) == {"K": source}


def test_a_missing_envfrom_object_adds_nothing():
    assert wiring.resolve_env(litellm(), {(S, "litellm-secrets"): None}) == {}
    assert wiring.resolve_env(litellm(), {}) == {}


# -- where the provider keys go --------------------------------------------------------------------


def keys_go(names, container, objects, secret=None):
    return wiring.where_keys_go(names, wiring.resolve_env(container, objects), container, secret)


SANDBOX = {(S, "litellm-secrets"): ["LITELLM_MASTER_KEY", "OPENAI_API_KEY"]}


def test_a_new_key_goes_to_the_secret_loaded_with_envfrom():
    assert keys_go(["GROQ_API_KEY"], litellm(), SANDBOX) == {"GROQ_API_KEY": ("litellm-secrets", "GROQ_API_KEY")}


def test_an_existing_key_is_written_where_the_pod_gets_it():
    container = litellm(env=[{"name": "GROQ_API_KEY", "valueFrom": {"secretKeyRef": {"name": "groq", "key": "key"}}}])
    assert keys_go(["GROQ_API_KEY", "OPENAI_API_KEY"], container, SANDBOX) == {
        "GROQ_API_KEY": ("groq", "key"),
        "OPENAI_API_KEY": ("litellm-secrets", "OPENAI_API_KEY"),
    }


def test_a_new_key_goes_to_the_last_loaded_secret_and_loses_its_prefix():
    container = litellm(
        envFrom=[
            {"secretRef": {"name": "a"}},
            {"secretRef": {"name": "b"}, "prefix": "LLM_"},
            {"secretRef": {"name": "c"}},
        ]
    )
    objects = {(S, "a"): [], (S, "b"): [], (S, "c"): []}
    assert keys_go(["GROQ_API_KEY"], container, objects) == {"GROQ_API_KEY": ("c", "GROQ_API_KEY")}
    assert keys_go(["LLM_GROQ"], container, objects) == {"LLM_GROQ": ("c", "LLM_GROQ")}
    only_prefixed = litellm(envFrom=[{"secretRef": {"name": "b"}, "prefix": "LLM_"}])
    assert keys_go(["LLM_GROQ"], only_prefixed, objects) == {"LLM_GROQ": ("b", "GROQ")}


def test_an_explicit_secret_wins_over_the_last_loaded_one():
    container = litellm(envFrom=[{"secretRef": {"name": "keys"}}, {"secretRef": {"name": "litellm-secrets"}}])
    objects = {**SANDBOX, (S, "keys"): []}
    assert keys_go(["GROQ_API_KEY"], container, objects, "keys") == {"GROQ_API_KEY": ("keys", "GROQ_API_KEY")}


def test_an_explicit_secret_the_pod_does_not_load_is_refused_naming_the_field():
    message = wiring_error(
        lambda: keys_go(["GROQ_API_KEY"], litellm(), SANDBOX, "provider-keys"),
        "GROQ_API_KEY would not reach LiteLLM",
        "loads no Secret provider-keys with envFrom",
        "{secretRef: {name: provider-keys}}",
        "spec.template.spec.containers[].envFrom",
        "environmentSecrets: [provider-keys]",
    )
    assert "or set the secret option" not in message


def test_no_loaded_secret_at_all_is_refused_once_for_every_key():
    message = wiring_error(
        lambda: keys_go(["GROQ_API_KEY", "MISTRAL_API_KEY"], litellm(envFrom=[]), {}),
        "GROQ_API_KEY, MISTRAL_API_KEY would not reach LiteLLM: container litellm loads no Secret "
        "with envFrom that they could come from",
        "{secretRef: {name: litellm-secrets}}",
    )
    # Naming another Secret cannot help a container that loads none.
    assert message.count("{secretRef:") == 1 and "secret option" not in message


def test_a_key_wired_elsewhere_than_the_explicit_secret_is_refused():
    container = litellm(env=[{"name": "GROQ_API_KEY", "valueFrom": {"secretKeyRef": {"name": "groq", "key": "k"}}}])
    wiring_error(
        lambda: keys_go(["GROQ_API_KEY"], container, SANDBOX, "litellm-secrets"),
        "GROQ_API_KEY reaches LiteLLM from Secret groq (key k), not from the secret option (litellm_secret) "
        "litellm-secrets",
        "would never be used",
        "set it to groq",
    )


@pytest.mark.parametrize(
    "value_from, what",
    [
        (None, "literal value"),
        ({"configMapKeyRef": {"name": "c", "key": "k"}}, "ConfigMap key"),
        ({"fieldRef": {"fieldPath": "metadata.name"}}, "field reference"),
    ],
)
def test_a_key_set_by_another_env_entry_is_refused(value_from, what):
    if value_from is None:
        entry = {"name": "GROQ_API_KEY", "value": "x"}
    else:
        entry = {"name": "GROQ_API_KEY", "valueFrom": value_from}
    wiring_error(
        lambda: keys_go(["GROQ_API_KEY"], litellm(env=[entry]), SANDBOX),
        "GROQ_API_KEY is set in container litellm from a %s" % what,
        "wins over any Secret loaded with envFrom",
        "remove that env entry or make it a secretKeyRef",
    )


def test_every_problem_is_named_at_once():
    container = litellm(envFrom=[], env=[{"name": "A_KEY", "value": "x"}])
    message = wiring_error(lambda: keys_go(["A_KEY", "B_KEY"], container, {}))
    assert message.count("; ") >= 1 and "A_KEY is set" in message and "B_KEY would not reach" in message


def test_no_names_go_nowhere():
    assert keys_go([], litellm(envFrom=[]), {}) == {}


def test_a_key_an_earlier_envfrom_configmap_sets_goes_to_the_later_secret():
    container = litellm(envFrom=[{"configMapRef": {"name": "settings"}}, {"secretRef": {"name": "litellm-secrets"}}])
    objects = {**SANDBOX, (CM, "settings"): ["GROQ_API_KEY"]}
    assert keys_go(["GROQ_API_KEY"], container, objects) == {"GROQ_API_KEY": ("litellm-secrets", "GROQ_API_KEY")}


def test_a_key_a_later_envfrom_configmap_sets_is_refused_naming_that_configmap():
    container = litellm(envFrom=[{"secretRef": {"name": "litellm-secrets"}}, {"configMapRef": {"name": "settings"}}])
    objects = {**SANDBOX, (CM, "settings"): ["GROQ_API_KEY"]}
    message = wiring_error(lambda: keys_go(["GROQ_API_KEY"], container, objects), "GROQ_API_KEY")
    assert "settings" in message and "envFrom" in message and "env entry" not in message, message
    assert "take GROQ_API_KEY out of it, or load the Secret for the keys after it" in message


# -- the master key --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config, variable",
    [
        ({"general_settings": {"master_key": "os.environ/PROXY_MASTER_KEY"}}, "PROXY_MASTER_KEY"),
        ({"general_settings": {"database_url": "x"}}, "LITELLM_MASTER_KEY"),
        ({}, "LITELLM_MASTER_KEY"),
        ({"general_settings": None}, "LITELLM_MASTER_KEY"),
        (None, "LITELLM_MASTER_KEY"),
        ({"general_settings": {"master_key": "sk-literal-in-the-config"}}, None),
        ({"general_settings": {"master_key": 1234}}, None),
    ],
)
def test_master_key_var(config, variable):
    assert wiring.master_key_var(config) == variable
