"""ServiceAccount tokens, RBAC and access reviews, proven with kubectl and the Python client.

A ServiceAccount ``ci`` in ``ml`` gets a token from the TokenRequest API and a
Role that lets it work with ConfigMaps (and a little more); everything else
must be refused the way kube-apiserver refuses it: 403 with the same Status
body, before routing, for every verb the RequestInfo rules derive.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
import yaml
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ConflictError, ForbiddenError

from sandbox.apiserver.authn import API_AUDIENCE

NS = "ml"
RBAC = "rbac.authorization.k8s.io"
SA_USER = f"system:serviceaccount:{NS}:ci"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def admin_create(apiserver, path: str, body: dict) -> dict:
    response = apiserver.request("POST", path, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def token_for(apiserver, namespace: str, name: str, **spec) -> str:
    response = apiserver.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
        json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec},
    )
    assert response.status_code == 201, response.text
    return response.json()["status"]["token"]


def kubeconfig_for(apiserver, token: str, path: Path) -> Path:
    """The admin kubeconfig with the ServiceAccount's token in place of the admin's."""
    kubeconfig = yaml.safe_load(apiserver.kubeconfig.read_text())
    kubeconfig["users"] = [{"name": "ci", "user": {"token": token}}]
    kubeconfig["contexts"][0]["context"]["user"] = "ci"
    path.write_text(yaml.safe_dump(kubeconfig))
    return path


def role(name: str, rules: list[dict], kind: str = "Role") -> dict:
    return {"apiVersion": f"{RBAC}/v1", "kind": kind, "metadata": {"name": name}, "rules": rules}


def binding(
    name: str, role_kind: str, role_name: str, subjects: list[dict] | None = None, kind: str = "RoleBinding"
) -> dict:
    return {
        "apiVersion": f"{RBAC}/v1",
        "kind": kind,
        "metadata": {"name": name},
        "roleRef": {"apiGroup": RBAC, "kind": role_kind, "name": role_name},
        "subjects": subjects or [{"kind": "ServiceAccount", "name": "ci", "namespace": NS}],
    }


@pytest.fixture(scope="module")
def ci(apiserver, tmp_path_factory):
    """ServiceAccount ml/ci with Role ci (below), its token and a kubeconfig for it."""
    admin_create(
        apiserver,
        f"/api/v1/namespaces/{NS}/serviceaccounts",
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "ci"}},
    )
    admin_create(
        apiserver,
        f"/apis/{RBAC}/v1/namespaces/{NS}/roles",
        role(
            "ci",
            [
                {
                    "apiGroups": [""],
                    "resources": ["configmaps"],
                    "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
                },
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": ["ci-allowed"]},
                {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]},
                {"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["get", "patch"]},
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
                {
                    "apiGroups": [""],
                    "resources": ["services/proxy"],
                    "verbs": ["get"],
                    "resourceNames": ["litellm:4000"],
                },
                {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["*"]},
            ],
        ),
    )
    admin_create(apiserver, f"/apis/{RBAC}/v1/namespaces/{NS}/rolebindings", binding("ci", "Role", "ci"))
    token = token_for(apiserver, NS, "ci")
    kubeconfig = kubeconfig_for(apiserver, token, tmp_path_factory.mktemp("ci") / "kubeconfig")
    return {"token": token, "kubeconfig": kubeconfig}


@pytest.fixture(scope="module")
def ci_client(ci):
    return config.new_client_from_config(config_file=str(ci["kubeconfig"]))


def as_ci(apiserver, ci, method: str, path: str, **kwargs):
    return apiserver.request(method, path, token=ci["token"], **kwargs)


def kubectl_ci(apiserver, ci, *args: str, check: bool = False, input: str | None = None):
    return apiserver.kubectl(*args, kubeconfig=ci["kubeconfig"], check=check, input=input)


# -- TokenRequest and authentication ------------------------------------------------


def test_token_request_defaults_and_expiry(apiserver, ci):
    response = apiserver.request(
        "POST",
        f"/api/v1/namespaces/{NS}/serviceaccounts/ci/token",
        json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "TokenRequest" and body["apiVersion"] == "authentication.k8s.io/v1"
    assert body["spec"]["expirationSeconds"] == 3600
    assert body["spec"]["audiences"] == [API_AUDIENCE]
    expires = time.mktime(time.strptime(body["status"]["expirationTimestamp"], "%Y-%m-%dT%H:%M:%SZ"))
    assert 3500 < expires - time.mktime(time.gmtime()) <= 3600
    whoami = apiserver.request(
        "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", token=body["status"]["token"], json={}
    ).json()
    assert whoami["status"]["userInfo"]["username"] == SA_USER
    assert whoami["status"]["userInfo"]["groups"] == [
        "system:serviceaccounts",
        "system:serviceaccounts:ml",
        "system:authenticated",
    ]


def test_token_request_shorter_than_ten_minutes_is_invalid(apiserver, ci):
    response = apiserver.request(
        "POST", f"/api/v1/namespaces/{NS}/serviceaccounts/ci/token", json={"spec": {"expirationSeconds": 599}}
    )
    assert response.status_code == 422
    assert response.json()["message"] == (
        'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 599: '
        "may not specify a duration less than 10 minutes"
    )
    missing = apiserver.request("POST", f"/api/v1/namespaces/{NS}/serviceaccounts/nobody/token", json={})
    assert (missing.status_code, missing.json()["message"]) == (404, 'serviceaccounts "nobody" not found')


def test_kubectl_create_token(apiserver, ci):
    token = apiserver.kubectl("-n", NS, "create", "token", "ci", "--duration=15m").stdout.strip()
    assert as_ci(apiserver, {"token": token}, "GET", f"/api/v1/namespaces/{NS}/configmaps").status_code == 200
    short = apiserver.kubectl("-n", NS, "create", "token", "ci", "--duration=1m", check=False)
    assert short.returncode != 0 and "may not specify a duration less than 10 minutes" in short.stderr


UNAUTHORIZED = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Failure",
    "message": "Unauthorized",
    "reason": "Unauthorized",
    "code": 401,
}


def test_expired_token_is_unauthorized(apiserver, ci):
    token = token_for(apiserver, NS, "ci", expirationSeconds=600)
    assert as_ci(apiserver, {"token": token}, "GET", f"/api/v1/namespaces/{NS}/configmaps").status_code == 200
    apiserver.server.authenticator.tokens[token].expires = time.time() - 1
    response = as_ci(apiserver, {"token": token}, "GET", f"/api/v1/namespaces/{NS}/configmaps")
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


def test_token_of_a_deleted_or_recreated_service_account_is_unauthorized(apiserver, ci, tmp_path):
    name = unique("gone")
    path = f"/api/v1/namespaces/{NS}/serviceaccounts"
    admin_create(apiserver, path, {"metadata": {"name": name}})
    token = token_for(apiserver, NS, name)
    whoami = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
    assert apiserver.request("POST", whoami, token=token, json={}).status_code == 201
    assert apiserver.request("DELETE", f"{path}/{name}").status_code == 200
    response = apiserver.request("POST", whoami, token=token, json={})
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)
    admin_create(apiserver, path, {"metadata": {"name": name}})  # same name, new uid
    assert apiserver.request("POST", whoami, token=token, json={}).status_code == 401
    kubectl = apiserver.kubectl("get", "cm", kubeconfig=kubeconfig_for(apiserver, token, tmp_path / "kc"), check=False)
    assert kubectl.returncode == 1 and "You must be logged in to the server" in kubectl.stderr


def test_a_token_for_another_audience_is_not_for_the_api_server(apiserver, ci):
    token = token_for(apiserver, NS, "ci", audiences=["vault"])
    assert as_ci(apiserver, {"token": token}, "GET", f"/api/v1/namespaces/{NS}/configmaps").status_code == 401


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


# -- discovery ------------------------------------------------------------------------------


def test_discovery_lists_the_new_groups(apiserver, ci):
    groups = {g["name"] for g in as_ci(apiserver, ci, "GET", "/apis").json()["groups"]}
    assert {"coordination.k8s.io", RBAC, "authorization.k8s.io", "authentication.k8s.io"} <= groups
    rbac = {r["name"]: r for r in as_ci(apiserver, ci, "GET", f"/apis/{RBAC}/v1").json()["resources"]}
    assert {n: (r["namespaced"], r["kind"]) for n, r in rbac.items()} == {
        "roles": (True, "Role"),
        "rolebindings": (True, "RoleBinding"),
        "clusterroles": (False, "ClusterRole"),
        "clusterrolebindings": (False, "ClusterRoleBinding"),
    }
    assert all(
        r["verbs"] == ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
        for r in rbac.values()
    )
    authz = as_ci(apiserver, ci, "GET", "/apis/authorization.k8s.io/v1").json()["resources"]
    assert {r["name"]: r["verbs"] for r in authz} == {
        "selfsubjectaccessreviews": ["create"],
        "selfsubjectrulesreviews": ["create"],
    }
    core = {r["name"]: r for r in as_ci(apiserver, ci, "GET", "/api/v1").json()["resources"]}
    assert core["serviceaccounts"]["shortNames"] == ["sa"]
    assert core["serviceaccounts/token"] == {
        "name": "serviceaccounts/token",
        "singularName": "",
        "namespaced": True,
        "kind": "TokenRequest",
        "verbs": ["create"],
        "group": "authentication.k8s.io",
        "version": "v1",
    }
    resources = kubectl_ci(apiserver, ci, "api-resources", "-o", "name")
    assert resources.returncode == 0, resources.stderr
    names = resources.stdout.split()
    for name in (
        "leases.coordination.k8s.io",
        f"roles.{RBAC}",
        f"clusterrolebindings.{RBAC}",
        "serviceaccounts",
        "selfsubjectaccessreviews.authorization.k8s.io",
    ):
        assert name in names
    wide = apiserver.kubectl("api-resources", "--api-group", RBAC).stdout
    assert "rolebindings" in wide and "RoleBinding" in wide


# -- RBAC objects themselves -----------------------------------------------------------------


def test_role_binding_role_ref_is_immutable_and_validated(apiserver, ci):
    name = unique("rb")
    path = f"/apis/{RBAC}/v1/namespaces/{NS}/rolebindings"
    created = admin_create(apiserver, path, binding(name, "Role", "ci"))
    created["roleRef"]["name"] = "other"
    changed = apiserver.request("PUT", f"{path}/{name}", json=created)
    assert changed.status_code == 422
    assert changed.json()["message"] == (
        f'RoleBinding.{RBAC} "{name}" is invalid: roleRef: Invalid value: rbac.RoleRef{{APIGroup:"{RBAC}", '
        'Kind:"Role", Name:"other"}: cannot change roleRef'
    )
    patched = apiserver.kubectl(
        "-n", NS, "patch", "rolebinding", name, "--type=merge", "-p", '{"roleRef":{"kind":"ClusterRole"}}', check=False
    )
    assert patched.returncode == 1 and "cannot change roleRef" in patched.stderr
    bad = binding(unique("rb"), "Group", "x", subjects=[{"kind": "Robot", "name": "r"}])
    invalid = apiserver.request("POST", path, json=bad)
    assert invalid.status_code == 422
    assert [c["field"] for c in invalid.json()["details"]["causes"]] == ["roleRef.kind", "subjects[0].kind"]
    assert invalid.json()["details"]["causes"][0]["message"] == (
        'Unsupported value: "Group": supported values: "Role", "ClusterRole"'
    )
    cluster = binding(
        unique("crb"), "Role", "x", kind="ClusterRoleBinding", subjects=[{"kind": "ServiceAccount", "name": "ci"}]
    )
    refused = apiserver.request("POST", f"/apis/{RBAC}/v1/clusterrolebindings", json=cluster)
    assert [c["field"] for c in refused.json()["details"]["causes"]] == ["roleRef.kind", "subjects[0].namespace"]


def test_rules_are_validated_and_names_may_have_colons(apiserver):
    path = f"/apis/{RBAC}/v1/namespaces/{NS}/roles"
    ok = apiserver.request(
        "POST", path, json=role("app:reader", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}])
    )
    assert ok.status_code == 201, ok.text
    bad = apiserver.request(
        "POST",
        path,
        json=role(
            unique("bad"),
            [{"apiGroups": [""], "resources": ["pods"]}, {"nonResourceURLs": ["/healthz"], "verbs": ["get"]}],
        ),
    )
    assert bad.status_code == 422
    assert [(c["field"], c["message"]) for c in bad.json()["details"]["causes"]] == [
        ("rules[0].verbs", "Required value: verbs must contain at least one value"),
        (
            "rules[1].nonResourceURLs",
            'Invalid value: []string{"/healthz"}: namespaced rules cannot apply to non-resource URLs',
        ),
    ]
    wrong_type = apiserver.request("POST", path, json=role(unique("bad"), [{"verbs": "get"}]))
    assert (wrong_type.status_code, wrong_type.json()["reason"]) == (400, "BadRequest")
    assert wrong_type.json()["message"] == (
        'Role in version "v1" cannot be handled as a Role: json: cannot unmarshal string into Go struct field '
        "PolicyRule.rules.verbs of type []string"
    )


def test_kubectl_tables_for_rbac_and_service_accounts(apiserver, ci):
    bindings = apiserver.kubectl("-n", NS, "get", "rolebindings", "ci", "-o", "wide").stdout.splitlines()
    assert bindings[0].split() == ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"]
    assert bindings[1].split()[:2] == ["ci", "Role/ci"] and bindings[1].split()[-1] == "ml/ci"
    roles = apiserver.kubectl("-n", NS, "get", "roles", "ci").stdout.splitlines()
    assert roles[0].split() == ["NAME", "CREATED", "AT"]
    assert roles[1].split()[0] == "ci" and roles[1].split()[1].endswith("Z")
    cluster_roles = apiserver.kubectl("get", "clusterroles").stdout
    for name in ("cluster-admin", "system:discovery", "system:basic-user", "system:public-info-viewer"):
        assert name in cluster_roles
    crbs = apiserver.kubectl("get", "clusterrolebinding", "system:basic-user", "-o", "wide").stdout.splitlines()
    assert crbs[1].split()[:2] == ["system:basic-user", "ClusterRole/system:basic-user"]
    assert "system:authenticated" in crbs[1]
    accounts = apiserver.kubectl("-n", NS, "get", "sa", "ci").stdout.splitlines()
    assert accounts[0].split() == ["NAME", "SECRETS", "AGE"] and accounts[1].split()[:2] == ["ci", "0"]


def test_service_accounts_and_rbac_objects_answer_409_on_a_second_create(apiserver, ci):
    again = apiserver.request("POST", f"/apis/{RBAC}/v1/namespaces/{NS}/roles", json=role("ci", []))
    assert again.status_code == 409
    assert again.json()["message"] == f'roles.{RBAC} "ci" already exists'
    assert again.json()["details"] == {"name": "ci", "group": RBAC, "kind": "roles"}
    sa = apiserver.request("POST", f"/api/v1/namespaces/{NS}/serviceaccounts", json={"metadata": {"name": "ci"}})
    assert (sa.status_code, sa.json()["message"]) == (409, 'serviceaccounts "ci" already exists')


def test_unauthenticated_requests_stay_401(apiserver):
    for token in ("", "not-a-token", "eyJhbGciOiJIUzI1NiJ9.e30.x"):
        response = apiserver.request("GET", "/apis", token=token)
        assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


def test_service_account_discovery_works_for_kubectl(apiserver, ci):
    # system:discovery and system:public-info-viewer are bound to system:authenticated.
    version = kubectl_ci(apiserver, ci, "version", "-o", "json")
    assert version.returncode == 0 and json.loads(version.stdout)["serverVersion"]["minor"] == "32"
    for path in ("/api", "/apis", "/api/v1", "/apis/apps/v1", "/openapi/v3", "/version", "/healthz"):
        assert as_ci(apiserver, ci, "GET", path).status_code == 200, path


# -- escalation prevention ---------------------------------------------------------------------


def test_roles_and_bindings_cannot_grant_more_than_their_writer_holds(apiserver, ci):
    name = unique("delegate")
    user = f"system:serviceaccount:{NS}:{name}"
    admin_create(apiserver, f"/api/v1/namespaces/{NS}/serviceaccounts", {"metadata": {"name": name}})
    admin_create(
        apiserver,
        f"/apis/{RBAC}/v1/namespaces/{NS}/roles",
        role(
            name,
            [
                {"apiGroups": [RBAC], "resources": ["roles", "rolebindings"], "verbs": ["create", "update", "get"]},
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]},
            ],
        ),
    )
    admin_create(
        apiserver,
        f"/apis/{RBAC}/v1/namespaces/{NS}/rolebindings",
        binding(name, "Role", name, [{"kind": "ServiceAccount", "name": name}]),
    )
    token = token_for(apiserver, NS, name)
    roles = f"/apis/{RBAC}/v1/namespaces/{NS}/roles"
    held = apiserver.request(
        "POST",
        roles,
        token=token,
        json=role(unique("sub"), [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]),
    )
    assert held.status_code == 201, held.text
    more = apiserver.request(
        "POST",
        roles,
        token=token,
        json=role("more", [{"apiGroups": [""], "resources": ["configmaps", "secrets"], "verbs": ["get", "delete"]}]),
    )
    assert more.status_code == 403
    assert more.json()["message"] == (
        f'roles.{RBAC} "more" is forbidden: user "{user}" (groups=["system:serviceaccounts" '
        f'"system:serviceaccounts:ml" "system:authenticated"]) is attempting to grant RBAC permissions not '
        'currently held:\n{APIGroups:[""], Resources:["configmaps"], Verbs:["delete"]}\n'
        '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "delete"]}'
    )
    bind_ci = apiserver.request(
        "POST",
        f"/apis/{RBAC}/v1/namespaces/{NS}/rolebindings",
        token=token,
        json=binding(unique("b"), "Role", "ci", [{"kind": "User", "name": "someone"}]),
    )
    assert bind_ci.status_code == 403 and "is attempting to grant RBAC permissions" in bind_ci.json()["message"]
    # Even a label on a Role that grants more than its writer holds is an escalation; the
    # writer's own Role may be relabelled.
    ci_role = apiserver.request("GET", f"{roles}/ci").json()
    ci_role["metadata"].setdefault("labels", {})["touched"] = "yes"
    assert apiserver.request("PUT", f"{roles}/ci", token=token, json=ci_role).status_code == 403
    own = apiserver.request("GET", f"{roles}/{name}", token=token).json()
    own["metadata"]["labels"] = {"touched": "yes"}
    assert apiserver.request("PUT", f"{roles}/{name}", token=token, json=own).status_code == 200
    # The bind verb on that very role, or escalate on roles, lifts the check.
    admin_create(
        apiserver,
        f"/apis/{RBAC}/v1/namespaces/{NS}/roles",
        role(
            f"{name}-more",
            [
                {"apiGroups": [RBAC], "resources": ["roles"], "verbs": ["bind"], "resourceNames": ["ci"]},
                {"apiGroups": [RBAC], "resources": ["roles"], "verbs": ["escalate"]},
            ],
        ),
    )
    admin_create(
        apiserver,
        f"/apis/{RBAC}/v1/namespaces/{NS}/rolebindings",
        binding(f"{name}-more", "Role", f"{name}-more", [{"kind": "ServiceAccount", "name": name}]),
    )
    bound = apiserver.request(
        "POST",
        f"/apis/{RBAC}/v1/namespaces/{NS}/rolebindings",
        token=token,
        json=binding(unique("b"), "Role", "ci", [{"kind": "User", "name": "x"}]),
    )
    assert bound.status_code == 201
    assert (
        apiserver.request(
            "POST",
            roles,
            token=token,
            json=role("more", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "delete"]}]),
        ).status_code
        == 201
    )


# -- impersonation (kubectl --as) ---------------------------------------------------------------


def test_impersonation_needs_the_impersonate_verb(apiserver, ci):
    as_ci_user = apiserver.kubectl("--as", SA_USER, "auth", "can-i", "list", "secrets", check=False)
    assert as_ci_user.stdout.strip() == "no"  # the admin, acting as ml/ci, has ml/ci's rights
    assert apiserver.kubectl("--as", SA_USER, "get", "cm").returncode == 0
    whoami = json.loads(apiserver.kubectl("--as", SA_USER, "auth", "whoami", "-o", "json").stdout)
    assert whoami["status"]["userInfo"]["groups"] == [
        "system:serviceaccounts",
        "system:serviceaccounts:ml",
        "system:authenticated",
    ]
    refused = kubectl_ci(apiserver, ci, "--as", "bob", "get", "cm")
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        f'Error from server (Forbidden): users "bob" is forbidden: User "{SA_USER}" cannot impersonate resource '
        '"users" in API group "" at the cluster scope'
    )
    as_group = apiserver.request(
        "GET",
        f"/api/v1/namespaces/{NS}/configmaps",
        headers={"Impersonate-User": "bob", "Impersonate-Group": "viewers"},
    )
    assert as_group.status_code == 403 and 'User "bob" cannot list' in as_group.json()["message"]


def test_dynamic_client_as_the_service_account_holds_a_lease_lock(apiserver, ci, ci_client):
    """What kubernetes.core does as the CI ServiceAccount: discovery, then a Lease as a run lock."""
    dynamic = DynamicClient(ci_client)
    leases = dynamic.resources.get(api_version="coordination.k8s.io/v1", kind="Lease")
    name = unique("run-lock")
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
    body = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name},
        "spec": {"holderIdentity": "ci-1", "leaseDurationSeconds": 300, "acquireTime": now, "renewTime": now},
    }
    assert leases.create(body=body, namespace=NS).spec.holderIdentity == "ci-1"
    with pytest.raises(ConflictError):
        leases.create(body=dict(body, spec=dict(body["spec"], holderIdentity="ci-2")), namespace=NS)
    secrets = dynamic.resources.get(api_version="v1", kind="Secret")
    with pytest.raises(ForbiddenError):
        secrets.get(namespace="kube-system")
    leases.delete(name=name, namespace=NS)


def test_kubectl_create_commands_for_rbac(apiserver, tmp_path):
    """kubectl's generators send protobuf; the usual CI set-up must work with them."""
    name = unique("gen")
    for args in (
        ("create", "serviceaccount", name),
        ("create", "role", name, "--verb=get,list", "--resource=configmaps,deployments.apps"),
        ("create", "rolebinding", name, f"--role={name}", f"--serviceaccount={NS}:{name}", "--user=bob"),
        ("create", "clusterrole", name, "--verb=get", "--non-resource-url=/metrics"),
        ("create", "clusterrolebinding", name, f"--clusterrole={name}", f"--serviceaccount={NS}:{name}"),
    ):
        apiserver.kubectl("-n", NS, *args)
    created = json.loads(apiserver.kubectl("-n", NS, "get", "role", name, "-o", "json").stdout)
    assert created["rules"] == [
        {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["configmaps"]},
        {"verbs": ["get", "list"], "apiGroups": ["apps"], "resources": ["deployments"]},
    ]
    rolebinding = json.loads(apiserver.kubectl("-n", NS, "get", "rolebinding", name, "-o", "json").stdout)
    assert rolebinding["subjects"] == [
        {"kind": "User", "apiGroup": RBAC, "name": "bob"},
        {"kind": "ServiceAccount", "name": name, "namespace": NS},
    ]
    token = apiserver.kubectl("-n", NS, "create", "token", name).stdout.strip()
    kubeconfig = kubeconfig_for(apiserver, token, tmp_path / "kubeconfig")
    assert apiserver.kubectl("-n", NS, "get", "cm,deploy", kubeconfig=kubeconfig).returncode == 0
    assert apiserver.kubectl("auth", "can-i", "get", "/metrics", kubeconfig=kubeconfig).stdout.strip() == "yes"
    raw = apiserver.kubectl("get", "--raw", "/metrics", kubeconfig=kubeconfig, check=False)
    assert raw.returncode == 1 and "NotFound" in raw.stderr  # allowed, and not served here
