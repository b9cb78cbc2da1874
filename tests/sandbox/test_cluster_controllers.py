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
    store.create(
        "clusterroles",
        "",
        {
            "metadata": {"name": "monitoring"},
            "aggregationRule": {
                "clusterRoleSelectors": [{"matchLabels": {"example.com/aggregate-to-monitoring": "true"}}]
            },
        },
    )
    for name, rules in (("b-pods", [read_pods]), ("a-leases", [read_leases, read_pods]), ("other", [read_pods])):
        labels = {"example.com/aggregate-to-monitoring": "true"} if name != "other" else {}
        store.create("clusterroles", "", {"metadata": {"name": name, "labels": labels}, "rules": rules})
    controller = ClusterRoleAggregationController(store)
    controller.reconcile()
    assert store.get("clusterroles", "", "monitoring")["rules"] == [read_leases, read_pods]
    store.delete("clusterroles", "", "a-leases")
    controller.reconcile()
    assert store.get("clusterroles", "", "monitoring")["rules"] == [read_pods]


def test_default_strategy_rounds_surge_up_and_unavailability_down():
    """2 replicas, Kubernetes' default RollingUpdate 25 %/25 %: maxSurge ceil(0.5) = 1,
    maxUnavailable floor(0.5) = 0 (the deployment controller's ResolveFenceposts), so a
    rollout adds one new pod and removes no ready old pod until a new one is ready."""
    from sandbox.apiserver.resources import RESOURCES
    from sandbox.apiserver.validation import apply_defaults
    from sandbox.cluster.controllers import DeploymentController, ReplicaSetController, resolve_int_or_percent
    from sandbox.store import now_rfc3339

    assert [resolve_int_or_percent("25%", n, True) for n in (1, 2, 3, 4, 5)] == [1, 1, 1, 1, 2]
    assert [resolve_int_or_percent("25%", n, False) for n in (1, 2, 3, 4, 5)] == [0, 0, 0, 1, 1]
    store = Store()
    store.create("namespaces", "", {"metadata": {"name": "ml"}})
    deployment = {
        "metadata": {"name": "litellm"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "x"}},
            "template": {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}},
        },
    }
    apply_defaults(next(r for r in RESOURCES if r.plural == "deployments"), deployment)
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxUnavailable": "25%", "maxSurge": "25%"}
    store.create("deployments", "ml", deployment)
    ServiceAccountController(store).reconcile()  # pods need their ServiceAccount (admission)
    deployments, replicasets = DeploymentController(store), ReplicaSetController(store)

    def step():
        deployments.reconcile()
        replicasets.reconcile()

    def make_ready():
        for pod in store.list("pods", "ml"):
            if not pod.get("status", {}).get("conditions", [])[1:]:
                pod["status"] = {
                    "phase": "Running",
                    "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now_rfc3339()}],
                }
                store.update("pods", "ml", pod, subresource="status")

    step()
    make_ready()
    step()
    current = store.get("deployments", "ml", "litellm")
    current["spec"]["template"]["metadata"]["labels"]["rev"] = "2"
    current["spec"]["selector"]["matchLabels"] = {"app": "x"}
    store.update("deployments", "ml", current)
    step()
    by_revision = {
        rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: rs["spec"]["replicas"]
        for rs in store.list("replicasets", "ml")
    }
    assert by_revision == {"1": 2, "2": 1}  # one surge pod, no old pod gone yet
    step()
    assert {
        rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: rs["spec"]["replicas"]
        for rs in store.list("replicasets", "ml")
    } == {"1": 2, "2": 1}  # the new pod is not ready
