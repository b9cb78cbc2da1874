"""Names, object builders and requests shared by the RBAC tests (test_rbac_*.py).

The tests act as the admin (``admin_create``) or as ServiceAccount ``ml/ci`` (``as_ci``,
``kubectl_ci``), whose Role and token the sandbox conftest's ``ci`` fixture sets up.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import yaml

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


def as_ci(apiserver, ci, method: str, path: str, **kwargs):
    return apiserver.request(method, path, token=ci["token"], **kwargs)


def kubectl_ci(apiserver, ci, *args: str, check: bool = False, input: str | None = None):
    return apiserver.kubectl(*args, kubeconfig=ci["kubeconfig"], check=check, input=input)
