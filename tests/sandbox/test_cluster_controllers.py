"""The small controllers, driven directly on a Store (no processes): ServiceAccounts, aggregation."""

from __future__ import annotations

from sandbox.cluster.controllers import ClusterRoleAggregationController, ServiceAccountController
from sandbox.store import Store

RBAC = "rbac.authorization.k8s.io"


def test_every_namespace_gets_a_default_service_account():
    store = Store()
    for name in ("ml", "kube-system"):
        store.create("namespaces", "", {"metadata": {"name": name}})
    controller = ServiceAccountController(store)
    controller.reconcile()
    assert [sa["metadata"]["namespace"] for sa in store.list("serviceaccounts")] == ["kube-system", "ml"]
    uid = store.get("serviceaccounts", "ml", "default")["metadata"]["uid"]
    controller.reconcile()  # idempotent
    assert store.get("serviceaccounts", "ml", "default")["metadata"]["uid"] == uid
    store.delete("serviceaccounts", "ml", "default")
    controller.reconcile()  # and back, as a new account
    assert store.get("serviceaccounts", "ml", "default")["metadata"]["uid"] != uid


def test_aggregated_cluster_roles_collect_the_rules_of_the_roles_they_select():
    store = Store()
    read_pods = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}
    read_leases = {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get"]}
    store.create("clusterroles", "", {"metadata": {"name": "monitoring"}, "aggregationRule": {
        "clusterRoleSelectors": [{"matchLabels": {"example.com/aggregate-to-monitoring": "true"}}]}})
    for name, rules in (("b-pods", [read_pods]), ("a-leases", [read_leases, read_pods]), ("other", [read_pods])):
        labels = {"example.com/aggregate-to-monitoring": "true"} if name != "other" else {}
        store.create("clusterroles", "", {"metadata": {"name": name, "labels": labels}, "rules": rules})
    controller = ClusterRoleAggregationController(store)
    controller.reconcile()
    assert store.get("clusterroles", "", "monitoring")["rules"] == [read_leases, read_pods]
    store.delete("clusterroles", "", "a-leases")
    controller.reconcile()
    assert store.get("clusterroles", "", "monitoring")["rules"] == [read_pods]
