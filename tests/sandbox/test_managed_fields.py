"""metadata.managedFields and server-side apply conflicts, with kubectl and the kubernetes Python client.

What kube-apiserver does (sandbox/apiserver/managedfields.py cites the sources): every write records
its field manager and the fields it set; an apply that changes a field another manager owns is a
409 naming that manager and field unless forced; an apply by a new manager changes no value but is
recorded; a field the applier stops applying goes unless someone else owns it. The ConfigMap steps
are those of kubernetes.core 6.2.0's own integration target (k8s_apply, "Server Side Apply").
"""

from __future__ import annotations

import json
import uuid

import pytest
from kubernetes import client, config
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ConflictError


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def configmap(name: str, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "ml"}, "data": data}


def managers(obj: dict) -> list[tuple[str, str]]:
    return [(e["manager"], e["operation"]) for e in obj["metadata"].get("managedFields") or []]


def fields_of(obj: dict, manager: str) -> dict:
    return next(e["fieldsV1"] for e in obj["metadata"]["managedFields"] if e["manager"] == manager)


def kubectl_get(apiserver, kind: str, name: str) -> dict:
    return json.loads(apiserver.kubectl("get", kind, name, "-n", "ml", "-o", "json", "--show-managed-fields").stdout)


@pytest.fixture(scope="module")
def dynamic(apiserver):
    return DynamicClient(config.new_client_from_config(config_file=str(apiserver.kubeconfig)))


def test_kubectl_commands_record_their_own_field_managers(apiserver):
    """kubectl names itself per command (kubectl-create, kubectl-client-side-apply, kubectl-label;
    kubectl for server-side apply); the server records what each one set."""
    name = unique("mf")
    apiserver.kubectl("create", "configmap", name, "-n", "ml", "--from-literal=a=1")
    created = kubectl_get(apiserver, "cm", name)
    assert managers(created) == [("kubectl-create", "Update")]
    assert fields_of(created, "kubectl-create") == {"f:data": {".": {}, "f:a": {}}}
    assert created["metadata"]["managedFields"][0]["apiVersion"] == "v1"

    apiserver.kubectl("label", "cm", name, "-n", "ml", "tier=x")
    apiserver.kubectl("apply", "--server-side", "-f", "-", input=json.dumps(configmap(name, b="2")))
    cm = kubectl_get(apiserver, "cm", name)
    # Apply entries come first (sortEncodedManagedFields), then the updates in time order.
    assert managers(cm)[0] == ("kubectl", "Apply")
    assert sorted(managers(cm)[1:]) == [("kubectl-create", "Update"), ("kubectl-label", "Update")]
    assert fields_of(cm, "kubectl") == {"f:data": {"f:b": {}}}
    assert fields_of(cm, "kubectl-label") == {"f:metadata": {"f:labels": {".": {}, "f:tier": {}}}}

    other = unique("mf")
    apiserver.kubectl("apply", "-f", "-", input=json.dumps(configmap(other, a="1")))
    assert managers(kubectl_get(apiserver, "cm", other)) == [("kubectl-client-side-apply", "Update")]


def test_python_client_without_field_manager_is_named_after_its_user_agent(apiserver):
    api = client.CoreV1Api(config.new_client_from_config(config_file=str(apiserver.kubeconfig)))
    name = unique("mf")
    created = api.create_namespaced_config_map("ml", configmap(name, a="1"))
    # User-Agent "OpenAPI-Generator/37.0.2/python": the part before the first "/".
    assert [(e.manager, e.operation) for e in created.metadata.managed_fields] == [("OpenAPI-Generator", "Update")]
    named = api.patch_namespaced_config_map(name, "ml", {"data": {"b": "2"}}, field_manager="mine")
    assert sorted(e.manager for e in named.metadata.managed_fields) == ["OpenAPI-Generator", "mine"]
    unchanged = api.patch_namespaced_config_map(name, "ml", {"data": {"b": "2"}}, field_manager="third")
    assert unchanged.metadata.resource_version == named.metadata.resource_version  # took nothing: no entry
    assert "third" not in [e.manager for e in unchanged.metadata.managed_fields]


def test_kubernetes_core_server_side_apply_steps(dynamic):
    """The steps of kubernetes.core 6.2.0 tests/integration/targets/k8s_apply (server side apply)."""
    api = dynamic.resources.get(api_version="v1", kind="ConfigMap")
    name = unique("server-side-cm")

    def apply(manager: str, value: str, force: bool = False):
        return dynamic.server_side_apply(
            api, body=configmap(name, key=value), namespace="ml", field_manager=manager, force_conflicts=force
        )

    created = apply("manager-00", "value-0").to_dict()
    assert managers(created) == [("manager-00", "Apply")]
    again = apply("manager-00", "value-0").to_dict()
    assert again == created  # nothing changed: same resourceVersion, same times

    second = apply("manager-01", "value-0").to_dict()
    # No value changed, yet the object did: the new manager is recorded (kubernetes.core: changed).
    assert second["data"] == created["data"]
    assert second["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]
    assert sorted(managers(second)) == [("manager-00", "Apply"), ("manager-01", "Apply")]
    assert "time" not in next(e for e in second["metadata"]["managedFields"] if e["manager"] == "manager-01")

    with pytest.raises(ConflictError) as conflict:
        apply("manager-02", "value-1")
    status = json.loads(conflict.value.body)
    assert status["reason"] == "Conflict" and status["code"] == 409
    assert status["message"] == (
        'Apply failed with 2 conflicts: conflicts with "manager-00":\n- .data.key\n'
        'conflicts with "manager-01":\n- .data.key'
    )
    assert sorted(c["message"] for c in status["details"]["causes"]) == [
        'conflict with "manager-00"',
        'conflict with "manager-01"',
    ]
    assert {c["field"] for c in status["details"]["causes"]} == {".data.key"}
    assert {c["reason"] for c in status["details"]["causes"]} == {"FieldManagerConflict"}
    unchanged = api.get(name=name, namespace="ml").to_dict()
    assert unchanged["data"] == {"key": "value-0"}

    forced = apply("manager-02", "value-1", force=True).to_dict()
    assert managers(forced) == [("manager-02", "Apply")]
    assert forced["data"] == {"key": "value-1"}


def test_kubectl_conflict_names_an_update_manager_with_its_api_version(apiserver):
    name = unique("mf")
    apiserver.kubectl("apply", "-f", "-", input=json.dumps(configmap(name, key="one")))
    refused = apiserver.kubectl(
        "apply", "--server-side", "-f", "-", input=json.dumps(configmap(name, key="two")), check=False
    )
    assert refused.returncode == 1
    assert (
        'error: Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using v1: .data.key'
        in refused.stderr
    )
    assert kubectl_get(apiserver, "cm", name)["data"] == {"key": "one"}
    apiserver.kubectl(
        "apply", "--server-side", "--force-conflicts", "-f", "-", input=json.dumps(configmap(name, key="two"))
    )
    cm = kubectl_get(apiserver, "cm", name)
    assert cm["data"] == {"key": "two"}
    assert fields_of(cm, "kubectl") == {"f:data": {"f:key": {}}}
    # kubectl then moves what kubectl-client-side-apply owned to its own entries (csaupgrade, a JSON
    # patch of managedFields, and an apply of the annotation as kubectl-last-applied).
    assert sorted(managers(cm)) == [("kubectl", "Apply"), ("kubectl-last-applied", "Apply")]


def test_a_field_left_out_of_the_applied_config_goes_unless_someone_else_owns_it(apiserver):
    name = unique("mf")
    apply = ("apply", "--server-side", "--field-manager=gitops", "-f", "-")
    apiserver.kubectl(*apply, input=json.dumps(configmap(name, a="1", b="2", c="3")))
    apiserver.kubectl(
        "apply", "--server-side", "--field-manager=other", "-f", "-", input=json.dumps(configmap(name, c="3"))
    )
    apiserver.kubectl(*apply, input=json.dumps(configmap(name, a="1")))
    cm = kubectl_get(apiserver, "cm", name)
    assert cm["data"] == {"a": "1", "c": "3"}  # b went; c stays, "other" owns it
    assert fields_of(cm, "gitops") == {"f:data": {"f:a": {}}}
    assert fields_of(cm, "other") == {"f:data": {"f:c": {}}}


def test_deployment_fields_are_owned_per_container_and_port(apiserver):
    name = unique("mf")
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "ml"},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "litellm", "image": "litellm:1", "ports": [{"containerPort": 4000}]}]},
            },
        },
    }
    apiserver.kubectl(
        "apply", "--server-side", "--field-manager=argocd-controller", "-f", "-", input=json.dumps(deployment)
    )
    apiserver.kubectl("scale", "deploy", name, "-n", "ml", "--replicas=1")  # no change: no entry
    deployment["spec"]["template"]["spec"]["containers"][0]["image"] = "litellm:2"
    refused = apiserver.kubectl(
        "apply", "--server-side", "--field-manager=someone", "-f", "-", input=json.dumps(deployment), check=False
    )
    assert refused.returncode == 1
    assert 'conflict with "argocd-controller": .spec.template.spec.containers[name="litellm"].image' in refused.stderr
    live = kubectl_get(apiserver, "deploy", name)
    spec = fields_of(live, "argocd-controller")["f:spec"]
    assert spec["f:selector"] == {}  # a LabelSelector is atomic
    container = spec["f:template"]["f:spec"]["f:containers"]['k:{"name":"litellm"}']
    assert container["."] == {} and "f:image" in container
    assert 'k:{"containerPort":4000,"protocol":"TCP"}' in container["f:ports"]
    assert "f:replicas" not in spec  # defaulted by the server, applied by nobody


def test_apply_options_are_checked_like_kube_apiserver(apiserver):
    name = unique("mf")
    path = f"/api/v1/namespaces/ml/configmaps/{name}"
    body = json.dumps(configmap(name, a="1"))
    headers = {"Content-Type": "application/apply-patch+yaml"}
    missing = apiserver.request("PATCH", path, data=body, headers=headers)
    assert missing.status_code == 422
    assert missing.json()["message"] == (
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch'
    )
    with_fields = configmap(name, a="1")
    with_fields["metadata"]["managedFields"] = [{"manager": "x", "operation": "Apply"}]
    refused = apiserver.request(
        "PATCH", path, params={"fieldManager": "x"}, data=json.dumps(with_fields), headers=headers
    )
    assert (refused.status_code, refused.json()["message"]) == (400, "metadata.managedFields must be nil")
    forced_merge = apiserver.request(
        "PATCH",
        path,
        params={"force": "true"},
        data="{}",
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert forced_merge.status_code == 422
    assert "force: Forbidden: may not be specified for non-apply patch" in forced_merge.json()["message"]


def test_a_write_sending_an_empty_entry_clears_the_record(apiserver):
    """The documented way to strip managedFields: a patch setting them to [{}]."""
    name = unique("mf")
    apiserver.kubectl("create", "configmap", name, "-n", "ml", "--from-literal=a=1")
    apiserver.kubectl("patch", "cm", name, "-n", "ml", "--type=merge", "-p", '{"metadata":{"managedFields":[{}]}}')
    assert "managedFields" not in kubectl_get(apiserver, "cm", name)["metadata"]


def test_kubectl_scale_owns_replicas_through_the_scale_subresource(apiserver):
    """A GitOps applier that owns spec.replicas, someone scales by hand: the next apply conflicts."""
    name = unique("mf")
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "ml"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "i"}]}},
        },
    }
    apply = ("apply", "--server-side", "--field-manager=argocd-controller", "-f", "-")
    apiserver.kubectl(*apply, input=json.dumps(deployment))
    apiserver.kubectl("scale", "deploy", name, "-n", "ml", "--replicas=3")
    live = kubectl_get(apiserver, "deploy", name)
    scale_entry = next(e for e in live["metadata"]["managedFields"] if e.get("subresource") == "scale")
    # kubectl scale sends no fieldManager: the server names it after the User-Agent "kubectl/v1.32...".
    assert (scale_entry["manager"], scale_entry["operation"], scale_entry["apiVersion"]) == (
        "kubectl",
        "Update",
        "apps/v1",
    )
    assert scale_entry["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" not in fields_of(live, "argocd-controller")["f:spec"]
    refused = apiserver.kubectl(*apply, input=json.dumps(deployment), check=False)
    assert (
        'Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps/v1: '
        ".spec.replicas" in refused.stderr
    )
