"""RBAC as CI set-ups meet it through real clients.

Impersonation (``kubectl --as``) needs the ``impersonate`` verb; kubernetes.core's
DynamicClient holds a Lease as ServiceAccount ``ci``; kubectl's create generators (protobuf
bodies) set up a whole ServiceAccount with its roles. The generators' test binds user ``bob``,
whom the impersonation test expects to hold nothing, so it runs after it, in this file.
"""

from __future__ import annotations

import json
import time

import pytest
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ConflictError, ForbiddenError

from tests.sandbox.rbac_setup import (
    NS,
    RBAC,
    SA_USER,
    kubeconfig_for,
    kubectl_ci,
    unique,
)


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
