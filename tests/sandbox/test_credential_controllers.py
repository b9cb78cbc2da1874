"""The token controller and the root CA publisher (sandbox/cluster/tokens.py), driven on the bare
API server's store, checked with kubectl and raw requests with the token they hand out."""

from __future__ import annotations

import base64
import json
import uuid

from sandbox.cluster.tokens import DESCRIPTION, RootCAPublisher, TokenController


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def whoami(apiserver, token: str):
    return apiserver.request(
        "POST",
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        token=token,
        json={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
    )


def token_secret(name: str, account: str) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/service-account-token",
            "metadata": {
                "name": name,
                "namespace": "ml",
                "annotations": {"kubernetes.io/service-account.name": account},
            },
        }
    )


def test_a_service_account_token_secret_gets_a_token_that_authenticates_as_its_account(apiserver):
    controller = TokenController(apiserver.store, apiserver.server.authenticator.legacy_key, apiserver.ca_file)
    account, name = unique("builder"), unique("builder-token")
    apiserver.kubectl("create", "serviceaccount", account, "-n", "ml")
    apiserver.kubectl("apply", "-f", "-", input=token_secret(name, account))
    apiserver.call(controller.reconcile)

    secret = json.loads(apiserver.kubectl("get", "secret", name, "-n", "ml", "-o", "json").stdout)
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert sorted(data) == ["ca.crt", "namespace", "token"]
    assert data["namespace"] == "ml"
    assert data["ca.crt"] == apiserver.ca_file.read_text()
    uid = json.loads(apiserver.kubectl("get", "sa", account, "-n", "ml", "-o", "json").stdout)["metadata"]["uid"]
    assert secret["metadata"]["annotations"]["kubernetes.io/service-account.uid"] == uid
    review = whoami(apiserver, data["token"])
    assert review.status_code == 201, review.text
    assert review.json()["status"]["userInfo"]["username"] == f"system:serviceaccount:ml:{account}"
    # kubectl with that token is that account, too.
    can = apiserver.kubectl("auth", "can-i", "list", "secrets", "-n", "ml", "--token", data["token"], check=False)
    assert can.stdout.strip() == "no"

    apiserver.call(controller.reconcile)  # nothing to do: the same token stays
    again = json.loads(apiserver.kubectl("get", "secret", name, "-n", "ml", "-o", "json").stdout)
    assert again["metadata"]["resourceVersion"] == secret["metadata"]["resourceVersion"]

    apiserver.kubectl("delete", "serviceaccount", account, "-n", "ml")
    assert whoami(apiserver, data["token"]).status_code == 401
    apiserver.call(controller.reconcile)  # the account is gone: so is its token Secret
    assert apiserver.kubectl("get", "secret", name, "-n", "ml", check=False).returncode == 1


def test_a_token_secret_outlives_no_copy_of_its_token(apiserver):
    """The token is valid only while its Secret holds it: a forged or edited Secret proves nothing."""
    controller = TokenController(apiserver.store, apiserver.server.authenticator.legacy_key, apiserver.ca_file)
    account, name = unique("copier"), unique("copier-token")
    apiserver.kubectl("create", "serviceaccount", account, "-n", "ml")
    apiserver.kubectl("apply", "-f", "-", input=token_secret(name, account))
    apiserver.call(controller.reconcile)
    token = base64.b64decode(
        json.loads(apiserver.kubectl("get", "secret", name, "-n", "ml", "-o", "json").stdout)["data"]["token"]
    ).decode()
    apiserver.kubectl("delete", "secret", name, "-n", "ml")
    assert whoami(apiserver, token).status_code == 401
    header, claims, signature = token.split(".")
    assert whoami(apiserver, f"{header}.{claims}.{signature[::-1]}").status_code == 401


def test_a_token_secret_must_name_its_service_account(apiserver):
    body = json.loads(token_secret(unique("nameless"), "x"))
    del body["metadata"]["annotations"]
    refused = apiserver.kubectl("apply", "-f", "-", input=json.dumps(body), check=False)
    assert refused.returncode == 1
    assert "metadata.annotations[kubernetes.io/service-account.name]: Required value" in refused.stderr


def test_every_namespace_gets_the_root_ca_configmap(apiserver):
    publisher = RootCAPublisher(apiserver.store, apiserver.ca_file)
    namespace = unique("team")
    apiserver.kubectl("create", "namespace", namespace)
    apiserver.call(publisher.reconcile)

    def configmap() -> dict:
        return json.loads(
            apiserver.kubectl(
                "get", "cm", "kube-root-ca.crt", "-n", namespace, "-o", "json", "--show-managed-fields"
            ).stdout
        )

    first = configmap()
    assert first["data"] == {"ca.crt": apiserver.ca_file.read_text()}
    assert first["metadata"]["annotations"] == {"kubernetes.io/description": DESCRIPTION}
    assert [e["manager"] for e in first["metadata"]["managedFields"]] == ["kube-controller-manager"]
    apiserver.kubectl("patch", "cm", "kube-root-ca.crt", "-n", namespace, "-p", '{"data":{"ca.crt":"forged"}}')
    apiserver.call(publisher.reconcile)
    assert configmap()["data"] == first["data"]
    apiserver.kubectl("delete", "cm", "kube-root-ca.crt", "-n", namespace)
    apiserver.call(publisher.reconcile)
    assert configmap()["data"] == first["data"]
