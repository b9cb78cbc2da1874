"""RBAC authorization and access reviews, proven with kubectl and the Python client.

ServiceAccount ``ci`` in ``ml`` (the sandbox conftest's ``ci`` fixture) gets a Role that lets
it work with ConfigMaps (and a little more); everything else must be refused the way
kube-apiserver refuses it: 403 with the same Status body, before routing, for every verb the
RequestInfo rules derive. ``kubectl auth can-i`` and SelfSubjectAccessReview must agree with
what is actually allowed.
"""

from __future__ import annotations

import json

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from tests.sandbox.rbac_setup import (
    NS,
    RBAC,
    SA_USER,
    admin_create,
    as_ci,
    binding,
    kubectl_ci,
    role,
    unique,
)

# -- authorization: allowed, and refused with kube-apiserver's Status --------------------


def forbidden(message: str, kind: str, name: str = "", group: str = "") -> dict:
    details = {k: v for k, v in (("name", name), ("group", group), ("kind", kind)) if v}
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": "Forbidden",
        "details": details,
        "code": 403,
    }


def test_allowed_within_the_role_and_403_outside_it(apiserver, ci):
    name = unique("cm")
    created = as_ci(
        apiserver,
        ci,
        "POST",
        f"/api/v1/namespaces/{NS}/configmaps",
        json={"metadata": {"name": name}, "data": {"a": "1"}},
    )
    assert created.status_code == 201, created.text
    assert as_ci(apiserver, ci, "GET", f"/api/v1/namespaces/{NS}/configmaps/{name}").status_code == 200
    denied = as_ci(apiserver, ci, "GET", f"/api/v1/namespaces/{NS}/secrets/litellm-secrets")
    assert denied.status_code == 403
    assert denied.json() == forbidden(
        f'secrets "litellm-secrets" is forbidden: User "{SA_USER}" cannot get resource "secrets" '
        f'in API group "" in the namespace "ml"',
        "secrets",
        "litellm-secrets",
    )
    listing = as_ci(apiserver, ci, "GET", f"/apis/apps/v1/namespaces/{NS}/replicasets")
    assert listing.json() == forbidden(
        f'replicasets.apps is forbidden: User "{SA_USER}" cannot list resource "replicasets" '
        f'in API group "apps" in the namespace "ml"',
        "replicasets",
        group="apps",
    )
    cluster_wide = as_ci(apiserver, ci, "GET", "/api/v1/namespaces")
    assert cluster_wide.json()["message"] == (
        f'namespaces is forbidden: User "{SA_USER}" cannot list resource "namespaces" in API group "" '
        "at the cluster scope"
    )
    # Authorization comes before routing: an unknown resource is 403, not 404.
    unknown = as_ci(apiserver, ci, "GET", f"/apis/example.com/v1/namespaces/{NS}/widgets/w")
    assert unknown.status_code == 403
    assert unknown.json()["message"].startswith('widgets.example.com "w" is forbidden')
    non_resource = as_ci(apiserver, ci, "GET", "/sandbox/metrics")
    assert non_resource.json() == forbidden(f'forbidden: User "{SA_USER}" cannot get path "/sandbox/metrics"', "")
    assert non_resource.json()["details"] == {}


def test_kubectl_as_the_service_account(apiserver, ci):
    name = unique("kcm")
    assert kubectl_ci(apiserver, ci, "create", "configmap", name, "--from-literal=a=b").returncode == 0
    listed = kubectl_ci(apiserver, ci, "get", "configmaps")
    assert listed.returncode == 0 and name in listed.stdout
    assert kubectl_ci(apiserver, ci, "label", "cm", name, "x=y").returncode == 0
    denied = kubectl_ci(apiserver, ci, "get", "secrets")
    assert denied.returncode == 1
    assert denied.stderr.strip() == (
        f'Error from server (Forbidden): secrets is forbidden: User "{SA_USER}" cannot list resource '
        f'"secrets" in API group "" in the namespace "ml"'
    )
    kube_system = kubectl_ci(apiserver, ci, "get", "secrets", "-n", "kube-system")
    assert kube_system.returncode == 1 and 'in the namespace "kube-system"' in kube_system.stderr
    assert kubectl_ci(apiserver, ci, "delete", "cm", name).returncode == 0


def test_python_client_as_the_service_account(apiserver, ci, ci_client):
    core = client.CoreV1Api(ci_client)
    name = unique("pcm")
    core.create_namespaced_config_map(NS, {"metadata": {"name": name}, "data": {"k": "v"}})
    assert core.read_namespaced_config_map(name, NS).data == {"k": "v"}
    with pytest.raises(ApiException) as denied:
        core.list_namespaced_secret(NS)
    assert denied.value.status == 403
    assert json.loads(denied.value.body)["reason"] == "Forbidden"
    with pytest.raises(ApiException) as other_namespace:
        core.list_namespaced_config_map("kube-system")
    assert other_namespace.value.status == 403


def test_resource_names_restrict_only_named_requests_and_need_a_name(apiserver, ci):
    for secret in ("ci-allowed", "ci-other"):
        admin_create(apiserver, f"/api/v1/namespaces/{NS}/secrets", {"metadata": {"name": secret}})
    base = f"/api/v1/namespaces/{NS}/secrets"
    assert as_ci(apiserver, ci, "GET", f"{base}/ci-allowed").status_code == 200
    assert as_ci(apiserver, ci, "GET", f"{base}/ci-other").status_code == 403
    # A list carries no name, so a rule with resourceNames cannot allow it ...
    assert as_ci(apiserver, ci, "GET", base).status_code == 403
    # ... unless a metadata.name field selector names one the rule allows (get, not list, here).
    assert as_ci(apiserver, ci, "GET", base, params={"fieldSelector": "metadata.name=ci-allowed"}).status_code == 403
    assert kubectl_ci(apiserver, ci, "get", "secret", "ci-allowed").returncode == 0


def test_field_selector_name_authorizes_list_and_watch(apiserver, ci, ci_client):
    name = unique("fs")
    admin_create(
        apiserver,
        f"/apis/{RBAC}/v1/namespaces/{NS}/roles",
        role(
            name,
            [{"apiGroups": [""], "resources": ["services"], "verbs": ["list", "watch"], "resourceNames": ["litellm"]}],
        ),
    )
    admin_create(apiserver, f"/apis/{RBAC}/v1/namespaces/{NS}/rolebindings", binding(name, "Role", name))
    base = f"/api/v1/namespaces/{NS}/services"
    assert as_ci(apiserver, ci, "GET", base).status_code == 403
    assert as_ci(apiserver, ci, "GET", base, params={"fieldSelector": "metadata.name=litellm"}).status_code == 200
    assert as_ci(apiserver, ci, "GET", base, params={"fieldSelector": "metadata.name=other"}).status_code == 403
    assert as_ci(apiserver, ci, "GET", base, params={"fieldSelector": "metadata.name!=other"}).status_code == 403
    watched = as_ci(
        apiserver,
        ci,
        "GET",
        base,
        params={"fieldSelector": "metadata.name=litellm", "watch": "true", "timeoutSeconds": "1"},
    )
    assert watched.status_code == 200
    # A client-go style watch of one object: list and watch with that field selector.
    core = client.CoreV1Api(ci_client)
    assert core.list_namespaced_service(NS, field_selector="metadata.name=litellm").items == []
    events = watch.Watch().stream(
        core.list_namespaced_service, NS, field_selector="metadata.name=litellm", timeout_seconds=1
    )
    assert list(events) == []


def test_watch_needs_the_watch_verb(apiserver, ci, ci_client):
    pods = f"/api/v1/namespaces/{NS}/pods"
    assert as_ci(apiserver, ci, "GET", pods).status_code == 200  # list is in the Role
    refused = as_ci(apiserver, ci, "GET", pods, params={"watch": "1"})
    assert refused.json()["message"] == (
        f'pods is forbidden: User "{SA_USER}" cannot watch resource "pods" in API group "" in the namespace "ml"'
    )
    assert as_ci(apiserver, ci, "GET", pods, params={"watch": "false"}).status_code == 200  # a list
    stream = watch.Watch().stream(client.CoreV1Api(ci_client).list_namespaced_config_map, NS, timeout_seconds=1)
    assert isinstance(list(stream), list)  # configmaps may be watched
    with pytest.raises(ApiException) as denied:
        list(watch.Watch().stream(client.CoreV1Api(ci_client).list_namespaced_pod, NS, timeout_seconds=1))
    assert denied.value.status == 403


def test_subresources_are_authorized_on_their_own(apiserver, ci):
    deployment = unique("dep")
    admin_create(
        apiserver,
        f"/apis/apps/v1/namespaces/{NS}/deployments",
        {
            "metadata": {"name": deployment},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": deployment}},
                "template": {
                    "metadata": {"labels": {"app": deployment}},
                    "spec": {"containers": [{"name": "c", "image": "i:1"}]},
                },
            },
        },
    )
    admin_create(
        apiserver,
        f"/api/v1/namespaces/{NS}/pods",
        {"metadata": {"name": deployment}, "spec": {"containers": [{"name": "c", "image": "i:1"}]}},
    )
    # deployments/scale: get and patch allowed, update not.
    scale = f"/apis/apps/v1/namespaces/{NS}/deployments/{deployment}/scale"
    assert as_ci(apiserver, ci, "GET", scale).status_code == 200
    scaled = kubectl_ci(apiserver, ci, "scale", f"deploy/{deployment}", "--replicas=2")
    assert scaled.returncode == 0, scaled.stderr
    put = as_ci(apiserver, ci, "PUT", scale, json={"spec": {"replicas": 3}})
    assert put.json()["message"] == (
        f'deployments.apps "{deployment}" is forbidden: User "{SA_USER}" cannot update resource '
        f'"deployments/scale" in API group "apps" in the namespace "ml"'
    )
    assert put.json()["details"] == {"name": deployment, "group": "apps", "kind": "deployments"}
    # deployments/status is not deployments.
    status = as_ci(apiserver, ci, "GET", f"/apis/apps/v1/namespaces/{NS}/deployments/{deployment}/status")
    assert status.status_code == 403 and '"deployments/status"' in status.json()["message"]
    # pods/log is not pods: get pods is allowed, logs are not.
    assert as_ci(apiserver, ci, "GET", f"/api/v1/namespaces/{NS}/pods/{deployment}").status_code == 200
    logs = kubectl_ci(apiserver, ci, "logs", deployment)
    assert logs.returncode == 1 and 'cannot get resource "pods/log"' in logs.stderr
    # services/proxy: the verb comes from the HTTP method, the name is the URL's.
    proxy = f"/api/v1/namespaces/{NS}/services/litellm:4000/proxy/health"
    assert as_ci(apiserver, ci, "GET", proxy).status_code != 403  # allowed (the fixture has no endpoints)
    posted = as_ci(apiserver, ci, "POST", proxy, json={})
    assert posted.json()["message"] == (
        f'services "litellm:4000" is forbidden: User "{SA_USER}" cannot create resource "services/proxy" '
        f'in API group "" in the namespace "ml"'
    )
    other_port = as_ci(apiserver, ci, "GET", f"/api/v1/namespaces/{NS}/services/litellm:http/proxy/")
    assert other_port.status_code == 403


def test_cluster_role_through_a_role_binding_stays_in_the_namespace(apiserver, ci):
    name = unique("reader")
    admin_create(
        apiserver,
        f"/apis/{RBAC}/v1/clusterroles",
        role(name, [{"apiGroups": [""], "resources": ["endpoints"], "verbs": ["get", "list"]}], kind="ClusterRole"),
    )
    admin_create(apiserver, f"/apis/{RBAC}/v1/namespaces/{NS}/rolebindings", binding(name, "ClusterRole", name))
    assert as_ci(apiserver, ci, "GET", f"/api/v1/namespaces/{NS}/endpoints").status_code == 200
    assert as_ci(apiserver, ci, "GET", "/api/v1/namespaces/kube-system/endpoints").status_code == 403
    everywhere = as_ci(apiserver, ci, "GET", "/api/v1/endpoints")
    assert everywhere.json()["message"] == (
        f'endpoints is forbidden: User "{SA_USER}" cannot list resource "endpoints" in API group "" '
        "at the cluster scope"
    )
    # A ClusterRoleBinding grants it everywhere.
    admin_create(
        apiserver, f"/apis/{RBAC}/v1/clusterrolebindings", binding(name, "ClusterRole", name, kind="ClusterRoleBinding")
    )
    assert as_ci(apiserver, ci, "GET", "/api/v1/endpoints").status_code == 200
    assert apiserver.request("DELETE", f"/apis/{RBAC}/v1/clusterrolebindings/{name}").status_code == 200
    assert as_ci(apiserver, ci, "GET", "/api/v1/endpoints").status_code == 403


def test_a_binding_to_a_missing_role_grants_nothing_and_says_why(apiserver, ci):
    name = unique("dangling")
    admin_create(apiserver, f"/apis/{RBAC}/v1/namespaces/{NS}/rolebindings", binding(name, "Role", name))
    refused = as_ci(apiserver, ci, "GET", f"/api/v1/namespaces/{NS}/persistentvolumeclaims")
    assert refused.json()["message"].endswith(f': RBAC: role.{RBAC} "{name}" not found')
    apiserver.request("DELETE", f"/apis/{RBAC}/v1/namespaces/{NS}/rolebindings/{name}")


def test_the_admin_is_unaffected(apiserver, ci):
    for path in (
        "/api/v1/namespaces/kube-system/secrets",
        "/api/v1/namespaces",
        "/sandbox/metrics",
        f"/apis/{RBAC}/v1/clusterroles",
    ):
        assert apiserver.request("GET", path).status_code == 200
    assert apiserver.kubectl("auth", "can-i", "*", "*", "--all-namespaces").stdout.strip() == "yes"
    whoami = apiserver.kubectl("auth", "whoami", "-o", "json")
    assert json.loads(whoami.stdout)["status"]["userInfo"] == {
        "username": "sandbox-admin",
        "groups": ["system:masters", "system:authenticated"],
    }


def test_service_account_discovery_works_for_kubectl(apiserver, ci):
    # system:discovery and system:public-info-viewer are bound to system:authenticated.
    version = kubectl_ci(apiserver, ci, "version", "-o", "json")
    assert version.returncode == 0 and json.loads(version.stdout)["serverVersion"]["minor"] == "32"
    for path in ("/api", "/apis", "/api/v1", "/apis/apps/v1", "/openapi/v3", "/version", "/healthz"):
        assert as_ci(apiserver, ci, "GET", path).status_code == 200, path


# -- access reviews ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, path",
    [
        (("get", "configmaps"), f"/api/v1/namespaces/{NS}/configmaps/x"),
        (("list", "configmaps"), f"/api/v1/namespaces/{NS}/configmaps"),
        (("list", "secrets"), f"/api/v1/namespaces/{NS}/secrets"),
        (("get", "secrets/ci-allowed"), f"/api/v1/namespaces/{NS}/secrets/ci-allowed"),
        (("get", "secrets/ci-other"), f"/api/v1/namespaces/{NS}/secrets/ci-other"),
        (("watch", "pods"), f"/api/v1/namespaces/{NS}/pods?watch=1&timeoutSeconds=1"),
        (("get", "pods", "--subresource=log"), f"/api/v1/namespaces/{NS}/pods/x/log"),
        (("patch", "deployments", "--subresource=scale"), f"/apis/apps/v1/namespaces/{NS}/deployments/x/scale"),
        (("list", "configmaps", "-n", "kube-system"), "/api/v1/namespaces/kube-system/configmaps"),
        (("list", "namespaces"), "/api/v1/namespaces"),
        (("create", "leases.coordination.k8s.io"), f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases"),
        (("get", "/version"), "/version"),
        (("get", "/sandbox/metrics"), "/sandbox/metrics"),
    ],
)
def test_kubectl_auth_can_i_matches_actual_access(apiserver, ci, args, path):
    answer = kubectl_ci(apiserver, ci, "auth", "can-i", *args)
    method = "PATCH" if args[0] == "patch" else "POST" if args[0] == "create" else "GET"
    headers = {"Content-Type": "application/merge-patch+json"} if method == "PATCH" else {}
    actual = as_ci(apiserver, ci, method, path, data="{}", headers=headers)
    assert (answer.stdout.strip() == "yes") == (actual.status_code != 403), (answer.stdout, actual.text)
    assert answer.returncode == (0 if answer.stdout.strip() == "yes" else 1)


def test_self_subject_access_review_body(apiserver, ci):
    review = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
    allowed = as_ci(
        apiserver,
        ci,
        "POST",
        review,
        json={
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"namespace": NS, "verb": "get", "resource": "configmaps"}},
        },
    )
    assert allowed.status_code == 201
    assert allowed.json()["status"] == {
        "allowed": True,
        "reason": 'RBAC: allowed by RoleBinding "ci/ml" of Role "ci" to ServiceAccount "ci/ml"',
    }
    denied = as_ci(
        apiserver,
        ci,
        "POST",
        review,
        json={"spec": {"resourceAttributes": {"namespace": NS, "verb": "delete", "resource": "secrets"}}},
    )
    assert denied.json()["status"] == {"allowed": False}
    non_resource = as_ci(
        apiserver, ci, "POST", review, json={"spec": {"nonResourceAttributes": {"path": "/apis", "verb": "get"}}}
    ).json()
    assert non_resource["status"]["allowed"] is True
    assert "system:discovery" in non_resource["status"]["reason"]
    neither = as_ci(apiserver, ci, "POST", review, json={"spec": {}})
    assert neither.status_code == 422
    assert neither.json()["message"] == (
        'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: '
        '"null": exactly one of nonResourceAttributes or resourceAttributes must be specified'
    )


def test_kubectl_auth_can_i_list_and_whoami(apiserver, ci):
    listed = kubectl_ci(apiserver, ci, "auth", "can-i", "--list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["Resources", "Non-Resource", "URLs", "Resource", "Names", "Verbs"]
    assert any(line.split()[0] == "configmaps" for line in lines[1:])
    assert any("[ci-allowed]" in line and line.split()[0] == "secrets" for line in lines)
    assert any(line.split()[0] == "selfsubjectaccessreviews.authorization.k8s.io" for line in lines)
    whoami = kubectl_ci(apiserver, ci, "auth", "whoami")
    assert whoami.returncode == 0 and SA_USER in whoami.stdout
