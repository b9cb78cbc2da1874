"""The deployment and replica set controllers where kube-controller-manager is easy to get wrong:
revisions on a rollback, the paused condition, pods refused by the ServiceAccount admission plugin.
Driven directly on a Store (no processes), as the other controller tests are; the admission refusal
of a pod created through the API is checked with kubectl."""

from __future__ import annotations

import json
import uuid

from sandbox.apiserver.resources import RESOURCES
from sandbox.apiserver.validation import apply_defaults
from sandbox.cluster.controllers import DeploymentController, ReplicaSetController, ServiceAccountController
from sandbox.store import Store

REVISION = "deployment.kubernetes.io/revision"


def cluster(template_spec: dict | None = None) -> tuple[Store, DeploymentController, ReplicaSetController]:
    store = Store()
    store.create("namespaces", "", {"metadata": {"name": "ml"}})
    ServiceAccountController(store).reconcile()
    deployment = {
        "metadata": {"name": "litellm"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "x"}},
            "template": {
                "metadata": {"labels": {"app": "x"}},
                "spec": template_spec or {"containers": [{"name": "c", "image": "i:1"}]},
            },
        },
    }
    apply_defaults(next(r for r in RESOURCES if r.plural == "deployments"), deployment)
    store.create("deployments", "ml", deployment)
    return store, DeploymentController(store), ReplicaSetController(store)


def step(store: Store, deployments: DeploymentController, replicasets: ReplicaSetController) -> None:
    deployments.reconcile()
    replicasets.reconcile()
    replicasets.update_statuses()
    deployments.update_statuses()


def set_image(store: Store, image: str) -> None:
    current = store.get("deployments", "ml", "litellm")
    current["spec"]["template"]["spec"]["containers"][0]["image"] = image
    store.update("deployments", "ml", current)


def revisions(store: Store) -> dict[str, str]:
    return {
        rs["spec"]["template"]["spec"]["containers"][0]["image"]: rs["metadata"]["annotations"][REVISION]
        for rs in store.list("replicasets", "ml")
    }


def test_a_rollback_onto_an_old_replicaset_gives_it_the_next_revision():
    store, deployments, replicasets = cluster()
    step(store, deployments, replicasets)
    set_image(store, "i:2")
    step(store, deployments, replicasets)
    assert revisions(store) == {"i:1": "1", "i:2": "2"}
    set_image(store, "i:1")  # back to the first template: its ReplicaSet is the new one again
    step(store, deployments, replicasets)
    assert revisions(store) == {"i:1": "3", "i:2": "2"}  # no revision appears twice
    first = next(rs for rs in store.list("replicasets", "ml") if rs["metadata"]["annotations"][REVISION] == "3")
    assert first["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
    assert store.get("deployments", "ml", "litellm")["metadata"]["annotations"][REVISION] == "3"
    set_image(store, "i:2")
    step(store, deployments, replicasets)
    assert revisions(store) == {"i:1": "3", "i:2": "4"}
    step(store, deployments, replicasets)  # stable once renumbered
    assert revisions(store) == {"i:1": "3", "i:2": "4"}


def test_a_paused_deployment_says_so_in_its_progressing_condition():
    store, deployments, replicasets = cluster()
    step(store, deployments, replicasets)
    current = store.get("deployments", "ml", "litellm")
    current["spec"]["paused"] = True
    store.update("deployments", "ml", current)
    set_image(store, "i:2")
    step(store, deployments, replicasets)
    conditions = store.get("deployments", "ml", "litellm")["status"]["conditions"]
    # kubernetes.core's k8s_waiter target reads it as conditions[1]: a changed condition goes last.
    assert [c["type"] for c in conditions] == ["Available", "Progressing"]
    assert {k: conditions[1][k] for k in ("status", "reason", "message")} == {
        "status": "Unknown",
        "reason": "DeploymentPaused",
        "message": "Deployment is paused",
    }
    assert len(store.list("replicasets", "ml")) == 1  # paused: no new ReplicaSet for the new template

    current = store.get("deployments", "ml", "litellm")
    current["spec"]["paused"] = False
    store.update("deployments", "ml", current)
    deployments.update_statuses()
    progressing = store.get("deployments", "ml", "litellm")["status"]["conditions"][-1]
    assert (progressing["status"], progressing["reason"], progressing["message"]) == (
        "Unknown",
        "DeploymentResumed",
        "Deployment is resumed",
    )
    step(store, deployments, replicasets)
    assert revisions(store) == {"i:1": "1", "i:2": "2"}  # the rollout goes on
    progressing = store.get("deployments", "ml", "litellm")["status"]["conditions"][-1]
    assert (progressing["status"], progressing["reason"]) == ("True", "ReplicaSetUpdated")


def test_pods_naming_a_missing_service_account_are_refused_and_recorded():
    store, deployments, replicasets = cluster(
        {"serviceAccountName": "missing", "containers": [{"name": "c", "image": "i"}]}
    )
    step(store, deployments, replicasets)
    step(store, deployments, replicasets)
    assert store.list("pods", "ml") == []
    rs = store.list("replicasets", "ml")[0]
    name = rs["metadata"]["name"]
    refusal = (
        f'pods "{name}-" is forbidden: error looking up service account ml/missing: serviceaccount "missing" not found'
    )
    events = [e for e in store.list("events", "ml") if e["reason"] == "FailedCreate"]
    assert [(e["type"], e["message"], e["involvedObject"]["name"]) for e in events] == [
        ("Warning", f"Error creating: {refusal}", name)
    ]  # once, however often the controller retries
    failure = rs["status"]["conditions"][0]
    assert (failure["type"], failure["status"], failure["reason"], failure["message"]) == (
        "ReplicaFailure",
        "True",
        "FailedCreate",
        refusal,
    )
    deployment_failure = next(
        c for c in store.get("deployments", "ml", "litellm")["status"]["conditions"] if c["type"] == "ReplicaFailure"
    )
    assert deployment_failure["message"] == refusal

    store.create("serviceaccounts", "ml", {"metadata": {"name": "missing"}})
    step(store, deployments, replicasets)
    step(store, deployments, replicasets)
    assert [p["spec"]["serviceAccountName"] for p in store.list("pods", "ml")] == ["missing"]
    assert "conditions" not in store.list("replicasets", "ml")[0]["status"]
    assert "ReplicaFailure" not in [
        c["type"] for c in store.get("deployments", "ml", "litellm")["status"]["conditions"]
    ]


def test_the_api_server_refuses_a_pod_of_a_missing_service_account(apiserver):
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "orphan", "namespace": "ml"},
        "spec": {"serviceAccountName": "nobody", "containers": [{"name": "c", "image": "i"}]},
    }
    refused = apiserver.kubectl("create", "-f", "-", input=json.dumps(pod), check=False)
    assert refused.returncode == 1
    assert (
        'Error from server (Forbidden): error when creating "STDIN": pods "orphan" is forbidden: '
        'error looking up service account ml/nobody: serviceaccount "nobody" not found'
    ) in refused.stderr
    apiserver.kubectl("create", "serviceaccount", "nobody", "-n", "ml")
    apiserver.kubectl("create", "-f", "-", input=json.dumps(pod))
    # Without serviceAccountName: "default", which a namespace has once its controller made it.
    namespace = f"bare-{uuid.uuid4().hex[:6]}"
    apiserver.kubectl("create", "namespace", namespace)  # no controllers here: no "default" account yet
    del pod["spec"]["serviceAccountName"]
    pod["metadata"] = {"name": "defaulted", "namespace": namespace}
    refused = apiserver.kubectl("create", "-f", "-", input=json.dumps(pod), check=False)
    assert f'error looking up service account {namespace}/default: serviceaccount "default" not found' in refused.stderr
    apiserver.kubectl("create", "serviceaccount", "default", "-n", namespace)
    created = json.loads(apiserver.kubectl("create", "-f", "-", "-o", "json", input=json.dumps(pod)).stdout)
    assert (created["spec"]["serviceAccountName"], created["spec"]["serviceAccount"]) == ("default", "default")


def test_kubectl_rollout_undo_renumbers_and_history_shows_it(apiserver):
    """kubectl rollout undo --to-revision=1, then rollout history: revisions 2 and 3, no repeat."""
    name = f"undo-{uuid.uuid4().hex[:6]}"
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "ml"},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "i:1"}]},
            },
        },
    }
    apiserver.kubectl("apply", "-f", "-", input=json.dumps(deployment))
    controller = DeploymentController(apiserver.store)

    def sync() -> None:  # this Deployment only: the bare API server's store is shared by the session
        apiserver.call(lambda: controller.reconcile_deployment(apiserver.store.get("deployments", "ml", name)))

    sync()
    apiserver.kubectl("set", "image", f"deploy/{name}", "c=i:2", "-n", "ml")
    sync()
    apiserver.kubectl("rollout", "undo", f"deploy/{name}", "--to-revision=1", "-n", "ml")
    sync()
    history = apiserver.kubectl("rollout", "history", f"deploy/{name}", "-n", "ml").stdout
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["2", "3"]
    third = apiserver.kubectl("rollout", "history", f"deploy/{name}", "-n", "ml", "--revision=3").stdout
    assert "i:1" in third and "i:2" not in third  # revision 3 is the first template
    live = json.loads(apiserver.kubectl("get", "deploy", name, "-n", "ml", "-o", "json").stdout)
    assert live["metadata"]["annotations"][REVISION] == "3"
