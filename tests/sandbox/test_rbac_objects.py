"""The RBAC API itself: its discovery, its objects and escalation prevention.

Roles and bindings are validated as kube-apiserver validates them (an immutable roleRef, rules
that make sense), shown in kubectl's tables, refused with 409 on a second create; and a writer
may grant only what it holds, unless it may ``bind`` that role or ``escalate``.
"""

from __future__ import annotations

from tests.sandbox.rbac_setup import (
    NS,
    RBAC,
    admin_create,
    as_ci,
    binding,
    kubectl_ci,
    role,
    token_for,
    unique,
)

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
