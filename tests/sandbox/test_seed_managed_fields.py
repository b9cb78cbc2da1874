"""The seeded before state carries the managedFields a real install leaves (sandbox/seed.py).

Each object is owned by the tool that made it, as the API server records a create: the story's
manifests by ``kubectl-client-side-apply`` (kubectl apply), the Secrets a chart only references by
``kubectl-create``, a Helm 3 release's objects (the release record and the hook Job too) by ``helm``.
So a GitOps controller's server-side apply over a field the install set meets the 409 it meets on a
real cluster, naming that manager (the API server's own managedfields logic decides it here).
"""

from __future__ import annotations

import copy

import pytest

from sandbox import componentized, seed
from sandbox.apiserver import managedfields
from sandbox.store import ApiError, Store

PROVIDERS = "http://127.0.0.1:9"


def seeded(shape: str) -> Store:
    store = Store()
    seed.seed(store, PROVIDERS, shape=shape)
    return store


def owners(obj: dict) -> list[tuple[str, str]]:
    return [(e["manager"], e["operation"]) for e in obj["metadata"].get("managedFields", [])]


def owned(obj: dict, manager: str) -> set[str]:
    """The fields ``manager`` owns, as paths (``.data.config.yaml``)."""
    entry = next(e for e in obj["metadata"]["managedFields"] if e["manager"] == manager)
    return {managedfields.path_string(p) for p in managedfields.from_fields_v1(entry["fieldsV1"])}


STORY = {
    ("configmaps", "litellm-config"): seed.STORY_MANAGER,
    ("secrets", "litellm-secrets"): seed.STORY_MANAGER,
    ("services", "litellm"): seed.STORY_MANAGER,
    ("deployments", "litellm"): seed.STORY_MANAGER,
}
COMPONENTIZED = {
    ("configmaps", componentized.CONFIGMAP): seed.HELM_MANAGER,
    ("deployments", componentized.GATEWAY): seed.HELM_MANAGER,
    ("deployments", componentized.BACKEND): seed.HELM_MANAGER,
    ("horizontalpodautoscalers", componentized.GATEWAY): seed.HELM_MANAGER,
    ("jobs", f"{componentized.FULLNAME}-migrations"): seed.HELM_MANAGER,
    ("secrets", "sh.helm.release.v1.litellm.v1"): seed.HELM_MANAGER,
    ("secrets", "litellm-secrets"): seed.OPERATOR_SECRET_MANAGER,
    ("secrets", componentized.MASTER_KEY_SECRET): seed.OPERATOR_SECRET_MANAGER,
}


@pytest.mark.parametrize("shape, expected", [("default", STORY), ("componentized", COMPONENTIZED)])
def test_each_seeded_object_is_owned_by_the_tool_that_made_it(shape, expected):
    store = seeded(shape)
    for (resource, name), manager in expected.items():
        obj = store.get(resource, "ml", name)
        assert owners(obj) == [(manager, "Update")], (resource, name, owners(obj))
        entry = obj["metadata"]["managedFields"][0]
        assert entry["fieldsType"] == "FieldsV1" and entry["time"]


def test_helm_shape_objects_are_helms_and_the_operators_secret_is_kubectl_create():
    store = seeded("helm")
    configmap = store.get("configmaps", "ml", "litellm-config")
    assert owners(configmap) == [("helm", "Update")]
    assert ".data.config.yaml" in owned(configmap, "helm")
    assert ".metadata.annotations.meta.helm.sh/release-name" in owned(configmap, "helm")
    assert owners(store.get("secrets", "ml", "litellm-secrets")) == [("kubectl-create", "Update")]


def test_the_creator_owns_the_defaults_the_api_server_filled_in():
    deployment = seeded("default").get("deployments", "ml", "litellm")
    fields = owned(deployment, seed.STORY_MANAGER)
    assert ".spec.replicas" in fields and '.spec.template.spec.containers[name="litellm"].image' in fields
    assert ".spec.template.spec.dnsPolicy" in fields, "defaulted at create, owned by the creator"
    assert not any(field.startswith(".status") for field in fields)


def test_a_gitops_apply_over_a_field_helm_set_is_a_conflict_naming_helm():
    live = seeded("componentized").get("configmaps", "ml", componentized.CONFIGMAP)
    applied = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": componentized.CONFIGMAP, "namespace": "ml"},
        "data": {"config.yaml": "model_list: []\n"},
    }
    merged = copy.deepcopy(live)
    merged["data"] = dict(applied["data"])
    with pytest.raises(ApiError) as caught:
        managedfields.server_side_apply("configmaps", live, applied, merged, "argocd-controller", "v1", False)
    assert caught.value.code == 409
    assert 'conflict with "helm" using v1: .data.config.yaml' in str(caught.value)
    forced = managedfields.server_side_apply("configmaps", live, applied, merged, "argocd-controller", "v1", True)
    assert ".data.config.yaml" in owned(forced, "argocd-controller")
    assert ".data.config.yaml" not in owned(forced, "helm")
