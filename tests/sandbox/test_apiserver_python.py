"""The kubernetes Python client (typed APIs and DynamicClient) against the sandbox API server."""

from __future__ import annotations

import copy
import uuid

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ConflictError, NotFoundError, UnprocessibleEntityError


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def deployment(name: str) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "litellm:1"}]},
            },
        },
    }


@pytest.fixture(scope="module")
def api_client(apiserver):
    return config.new_client_from_config(config_file=str(apiserver.kubeconfig))


@pytest.fixture(scope="module")
def dynamic(api_client):
    return DynamicClient(api_client)


def test_typed_clients_crud(api_client):
    core, apps = client.CoreV1Api(api_client), client.AppsV1Api(api_client)
    assert "ml" in [ns.metadata.name for ns in core.list_namespace().items]
    name = unique("typed")
    created = apps.create_namespaced_deployment("ml", deployment(name))
    assert created.metadata.generation == 1 and created.spec.strategy.type == "RollingUpdate"
    assert created.spec.template.spec.restart_policy == "Always"
    with pytest.raises(ApiException) as duplicate:
        apps.create_namespaced_deployment("ml", deployment(name))
    assert duplicate.value.status == 409

    created.spec.replicas = 2
    replaced = apps.replace_namespaced_deployment(name, "ml", created)
    assert replaced.spec.replicas == 2 and replaced.metadata.generation == 2
    # created still carries the first resourceVersion: optimistic concurrency says no.
    with pytest.raises(ApiException) as stale:
        apps.replace_namespaced_deployment(name, "ml", created)
    assert stale.value.status == 409

    patched = apps.patch_namespaced_deployment(name, "ml", {"metadata": {"labels": {"x": "y"}}})
    assert patched.metadata.labels == {"x": "y"}
    assert apps.read_namespaced_deployment_scale(name, "ml").spec.replicas == 2
    apps.patch_namespaced_deployment_scale(name, "ml", {"spec": {"replicas": 0}})
    assert apps.read_namespaced_deployment(name, "ml").spec.replicas == 0

    secret = core.create_namespaced_secret("ml", {"metadata": {"name": name}, "stringData": {"K": "v"}})
    assert secret.data == {"K": "dg=="} and secret.string_data is None
    assert core.list_namespaced_secret("ml", label_selector="absent").items == []
    apps.delete_namespaced_deployment(name, "ml")
    with pytest.raises(ApiException) as gone:
        apps.read_namespaced_deployment(name, "ml")
    assert gone.value.status == 404


def test_typed_watch_with_timeout(api_client):
    core = client.CoreV1Api(api_client)
    name = unique("watched")
    core.create_namespaced_config_map("ml", {"metadata": {"name": name}})
    events = list(
        watch.Watch().stream(
            core.list_namespaced_config_map, "ml", field_selector=f"metadata.name={name}", timeout_seconds=1
        )
    )
    assert [(e["type"], e["object"].metadata.name) for e in events] == [("ADDED", name)]


def test_dynamic_client_crud_and_watch(dynamic):
    configmaps = dynamic.resources.get(api_version="v1", kind="ConfigMap")
    name = unique("dyn")
    configmaps.create(
        body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "1"}}, namespace="ml"
    )
    assert configmaps.get(name=name, namespace="ml").data.a == "1"
    configmaps.patch(body={"data": {"b": "2"}}, name=name, namespace="ml", content_type="application/merge-patch+json")
    current = configmaps.get(name=name, namespace="ml").to_dict()
    assert current["data"] == {"a": "1", "b": "2"}
    current["data"] = {"c": "3"}
    assert configmaps.replace(body=current, namespace="ml").data.to_dict() == {"c": "3"}
    with pytest.raises(ConflictError):
        configmaps.replace(body=current, namespace="ml")

    listed = configmaps.get(namespace="ml")
    assert listed.kind == "ConfigMapList" and name in [i.metadata.name for i in listed.items]
    rv = listed.metadata.resourceVersion
    configmaps.delete(name=name, namespace="ml")
    events = list(
        dynamic.watch(
            configmaps, namespace="ml", resource_version=rv, timeout=1, field_selector=f"metadata.name={name}"
        )
    )
    assert [(e["type"], e["object"].metadata.name) for e in events] == [("DELETED", name)]
    with pytest.raises(NotFoundError):
        configmaps.get(name=name, namespace="ml")


def test_dynamic_client_server_side_apply(dynamic):
    secrets = dynamic.resources.get(api_version="v1", kind="Secret")
    name = unique("ssa")
    body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": {"K": "v"}}
    created = secrets.server_side_apply(body=body, name=name, namespace="ml", field_manager="tests")
    assert created.data.K == "dg=="
    body["stringData"] = {"K2": "w"}
    updated = secrets.server_side_apply(body=body, name=name, namespace="ml", field_manager="tests")
    assert updated.data.to_dict() == {"K": "dg==", "K2": "dw=="}


def test_invalid_deployment_is_422(dynamic):
    deployments = dynamic.resources.get(api_version="apps/v1", kind="Deployment")
    # The typed client refuses a Deployment without selector before sending it;
    # the DynamicClient sends it, so the server has to be the one saying no.
    body = copy.deepcopy(deployment(unique("invalid")))
    del body["spec"]["selector"]
    with pytest.raises(UnprocessibleEntityError) as err:
        deployments.create(body=body, namespace="ml")
    assert err.value.status == 422 and "spec.selector: Required value" in err.value.body
