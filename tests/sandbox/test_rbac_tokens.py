"""ServiceAccount tokens and authentication, proven with kubectl and raw requests.

The TokenRequest API (defaults, expiry, the ten-minute minimum, ``kubectl create token``) and
the tokens it issues, refused with kube-apiserver's 401 Status once expired, when their
ServiceAccount was deleted or recreated, or when meant for another audience; so is a token the
API server never issued.
"""

from __future__ import annotations

import time

from sandbox.apiserver.authn import API_AUDIENCE
from tests.sandbox.rbac_setup import (
    NS,
    SA_USER,
    admin_create,
    as_ci,
    kubeconfig_for,
    token_for,
    unique,
)


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


def test_unauthenticated_requests_stay_401(apiserver):
    for token in ("", "not-a-token", "eyJhbGciOiJIUzI1NiJ9.e30.x"):
        response = apiserver.request("GET", "/apis", token=token)
        assert (response.status_code, response.json()) == (401, UNAUTHORIZED)
