"""The controllers of kube-controller-manager the sandbox needs.

* A Deployment owns ReplicaSets named ``<deployment>-<pod-template-hash>``; a
  template change creates a new one and rolls with maxSurge/maxUnavailable (so
  with 1 replica and maxUnavailable 0 the new pod is Ready before the old one
  stops).
* Deployment status carries observedGeneration, replicas, updated/ready/
  available/unavailable counts and the Progressing/Available conditions,
  including ProgressDeadlineExceeded when a new pod never becomes ready.
* A ReplicaSet creates and deletes pods to match its replicas; its scale-downs
  are graceful (the kubelet stops the process, then removes the pod).
* A rollback onto an older ReplicaSet renumbers it to the highest revision + 1
  and keeps its earlier numbers in ``deployment.kubernetes.io/revision-history``
  (sync.go getNewReplicaSet, util SetNewReplicaSetAnnotations).
* A paused Deployment gets no new ReplicaSet and the Progressing condition
  Unknown/DeploymentPaused; resuming sets Unknown/DeploymentResumed (sync.go
  checkPausedConditions). A condition that changes moves to the end of the list
  (util SetDeploymentCondition filters it out and appends it).
* Pods go through the ServiceAccount admission plugin; a refusal is a
  FailedCreate event and a ReplicaFailure condition on the ReplicaSet (and its
  Deployment), as replica_set.go and pod_control.go record it.
* Every namespace gets a ServiceAccount named ``default``.
* A ClusterRole with an aggregationRule gets the rules of the ClusterRoles its
  selectors match.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import string
import time

from ..apiserver.admission import service_account_refusal
from ..apiserver.selectors import labels_match, selector_requirements
from ..store import Store, now_rfc3339
from .objects import (
    available_pods,
    condition,
    owned_by,
    owner_ref,
    parse_time,
    pod_available,
    pod_ready,
    pods_of,
    record_event,
)


def template_hash(template: dict) -> str:
    """The pod-template-hash label value: stable for an unchanged template.

    The real controller hashes the Go struct, where a null field and a missing one are the same
    zero value (kubectl rollout undo sends ``metadata.creationTimestamp: null``), so nulls go first.
    """
    return hashlib.sha256(json.dumps(_without_nulls(template), sort_keys=True).encode()).hexdigest()[:10]


def _without_nulls(value):
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def resolve_int_or_percent(value, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        exact = total * int(value[:-1]) / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(value)


REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"


def revision_of(rs: dict) -> int:
    return int((rs["metadata"].get("annotations") or {}).get(REVISION, 0) or 0)


def random_suffix() -> str:
    return "".join(random.choices(string.ascii_lowercase + string.digits, k=5))


class DeploymentController:
    """Deployments -> ReplicaSets: rollouts, history, status."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def reconcile(self) -> None:
        for deployment in self.store.list("deployments"):
            self.reconcile_deployment(deployment)

    def update_statuses(self) -> None:
        for deployment in self.store.list("deployments"):
            self.update_deployment_status(deployment)

    def _owned_replicasets(self, deployment: dict) -> list[dict]:
        ns = deployment["metadata"]["namespace"]
        return [rs for rs in self.store.list("replicasets", ns) if owned_by(rs, deployment)]

    def _new_replicaset(self, deployment: dict, owned: list[dict]) -> dict | None:
        wanted = template_hash(deployment["spec"]["template"])
        return next((rs for rs in owned if rs["metadata"].get("labels", {}).get("pod-template-hash") == wanted), None)

    def reconcile_deployment(self, deployment: dict) -> None:
        spec = deployment["spec"]
        ns, name = deployment["metadata"]["namespace"], deployment["metadata"]["name"]
        desired = spec.get("replicas", 1)
        owned = self._owned_replicasets(deployment)
        new_rs = self._new_replicaset(deployment, owned)
        revisions = [revision_of(rs) for rs in owned]
        if new_rs is None and spec.get("paused"):
            return  # sync.go: a paused Deployment syncs without creating the new ReplicaSet
        if new_rs is not None:
            new_rs = self._renumber(deployment, new_rs, owned)
        if new_rs is None:
            pod_hash = template_hash(spec["template"])
            template = json.loads(json.dumps(spec["template"]))
            template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = pod_hash
            selector = json.loads(json.dumps(spec["selector"]))
            selector.setdefault("matchLabels", {})["pod-template-hash"] = pod_hash
            revision = max(revisions, default=0) + 1
            new_rs = self.store.create(
                "replicasets",
                ns,
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": {
                        "name": f"{name}-{pod_hash}",
                        "namespace": ns,
                        "labels": dict(template["metadata"]["labels"]),
                        "annotations": {
                            "deployment.kubernetes.io/revision": str(revision),
                            "deployment.kubernetes.io/desired-replicas": str(desired),
                        },
                        "ownerReferences": [owner_ref(deployment, "Deployment", "apps/v1")],
                    },
                    "spec": {"replicas": 0 if owned else desired, "selector": selector, "template": template},
                },
            )
            self._annotate_revision(deployment, revision)
            self._mark_progress(
                deployment, "NewReplicaSetCreated", f'Created new replica set "{new_rs["metadata"]["name"]}"'
            )
            record_event(
                self.store,
                deployment,
                "ScalingReplicaSet",
                f"Scaled up replica set {new_rs['metadata']['name']} to {new_rs['spec']['replicas']}",
            )
            owned.append(new_rs)
        old = [rs for rs in owned if rs["metadata"]["uid"] != new_rs["metadata"]["uid"]]
        if spec.get("paused"):
            return
        strategy = spec.get("strategy") or {}
        if strategy.get("type") == "Recreate":
            self._roll_recreate(deployment, new_rs, old, desired)
        else:
            self._roll_rolling(deployment, new_rs, old, desired, strategy.get("rollingUpdate") or {})
        self._prune_history(deployment, old)

    def _renumber(self, deployment: dict, new_rs: dict, owned: list[dict]) -> dict:
        """Rolled back onto an old ReplicaSet: it becomes the newest revision (highest old + 1),
        its earlier number kept in revision-history; the Deployment's revision follows."""
        highest_old = max(
            (revision_of(rs) for rs in owned if rs["metadata"]["uid"] != new_rs["metadata"]["uid"]), default=0
        )
        old_revision = revision_of(new_rs)
        if old_revision < highest_old + 1:
            current = self.store.get("replicasets", new_rs["metadata"]["namespace"], new_rs["metadata"]["name"])
            annotations = current["metadata"].setdefault("annotations", {})
            if old_revision:
                history = annotations.get(REVISION_HISTORY)
                annotations[REVISION_HISTORY] = f"{history},{old_revision}" if history else str(old_revision)
            annotations[REVISION] = str(highest_old + 1)
            new_rs = self.store.update("replicasets", current["metadata"]["namespace"], current)
        self._annotate_revision(deployment, revision_of(new_rs))
        return new_rs

    def _annotate_revision(self, deployment: dict, revision: int) -> None:
        current = self.store.get("deployments", deployment["metadata"]["namespace"], deployment["metadata"]["name"])
        annotations = current["metadata"].setdefault("annotations", {})
        if annotations.get("deployment.kubernetes.io/revision") != str(revision):
            annotations["deployment.kubernetes.io/revision"] = str(revision)
            self.store.update("deployments", current["metadata"]["namespace"], current)

    def _scale(self, deployment: dict, rs: dict, replicas: int) -> None:
        if rs["spec"].get("replicas", 0) == replicas:
            return
        current = self.store.get("replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"])
        direction = "up" if replicas > current["spec"].get("replicas", 0) else "down"
        current["spec"]["replicas"] = replicas
        current["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/desired-replicas"] = str(
            deployment["spec"].get("replicas", 1)
        )
        self.store.update("replicasets", current["metadata"]["namespace"], current)
        rs["spec"]["replicas"] = replicas
        record_event(
            self.store,
            deployment,
            "ScalingReplicaSet",
            f"Scaled {direction} replica set {rs['metadata']['name']} to {replicas}",
        )
        self._mark_progress(deployment, "ReplicaSetUpdated", f'ReplicaSet "{rs["metadata"]["name"]}" is progressing.')

    def _roll_rolling(self, deployment: dict, new_rs: dict, old: list[dict], desired: int, rolling: dict) -> None:
        # The arithmetic of the upstream deployment controller (rolling.go):
        # surge rounds up, unavailability rounds down, and both zero is not allowed.
        max_surge = resolve_int_or_percent(rolling.get("maxSurge", "25%"), desired, True)
        max_unavailable = resolve_int_or_percent(rolling.get("maxUnavailable", "25%"), desired, False)
        if max_surge == 0 and max_unavailable == 0:
            max_unavailable = 1
        min_ready = deployment["spec"].get("minReadySeconds", 0)
        all_rs = [new_rs] + old
        total = sum(rs["spec"].get("replicas", 0) for rs in all_rs)
        scale_up = min(desired + max_surge - total, desired - new_rs["spec"].get("replicas", 0))
        if new_rs["spec"].get("replicas", 0) > desired:
            self._scale(deployment, new_rs, desired)
        elif scale_up > 0:
            self._scale(deployment, new_rs, new_rs["spec"].get("replicas", 0) + scale_up)
        available = sum(available_pods(self.store, rs, min_ready) for rs in all_rs)
        can_scale_down = available - (desired - max_unavailable)
        # Old pods that are not ready can go at once: they serve nothing.
        for rs in sorted(old, key=lambda r: r["metadata"]["creationTimestamp"]):
            replicas = rs["spec"].get("replicas", 0)
            if replicas == 0:
                continue
            unhealthy = replicas - available_pods(self.store, rs, min_ready)
            step = min(replicas, max(unhealthy, 0) + max(can_scale_down, 0))
            if step > 0:
                self._scale(deployment, rs, replicas - step)
                can_scale_down -= max(step - unhealthy, 0)

    def _roll_recreate(self, deployment: dict, new_rs: dict, old: list[dict], desired: int) -> None:
        for rs in old:
            self._scale(deployment, rs, 0)
        if any(pods_of(self.store, rs) for rs in old):
            return
        self._scale(deployment, new_rs, desired)

    def _prune_history(self, deployment: dict, old: list[dict]) -> None:
        limit = deployment["spec"].get("revisionHistoryLimit", 10)
        idle = [rs for rs in old if rs["spec"].get("replicas", 0) == 0 and not pods_of(self.store, rs)]
        idle.sort(key=lambda r: int(r["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision", 0)))
        for rs in idle[: max(len(idle) - limit, 0)]:
            self.store.delete("replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"])

    def _mark_progress(self, deployment: dict, reason: str, message: str) -> None:
        """Record progress in the Progressing condition (resets the deadline)."""
        current = self.store.get("deployments", deployment["metadata"]["namespace"], deployment["metadata"]["name"])
        status = current.setdefault("status", {})
        conditions = status.setdefault("conditions", [])
        now = now_rfc3339()
        cond = condition(conditions, "Progressing")
        if cond is None:
            cond = {"type": "Progressing", "lastTransitionTime": now}
        else:
            conditions.remove(cond)
        conditions.append(cond)  # RemoveDeploymentCondition + SetDeploymentCondition: to the end
        if cond.get("status") != "True":
            cond["lastTransitionTime"] = now
        cond.update(status="True", reason=reason, message=message, lastUpdateTime=now)
        self.store.update("deployments", current["metadata"]["namespace"], current, subresource="status")

    def update_deployment_status(self, deployment: dict) -> None:
        spec = deployment["spec"]
        desired = spec.get("replicas", 1)
        owned = self._owned_replicasets(deployment)
        new_rs = self._new_replicaset(deployment, owned)
        min_ready = spec.get("minReadySeconds", 0)
        pods = [p for rs in owned for p in pods_of(self.store, rs)]
        new_pods = pods_of(self.store, new_rs) if new_rs else []
        status = dict(deployment.get("status") or {})
        conditions = [dict(c) for c in status.get("conditions") or []]
        available = sum(1 for p in pods if pod_available(p, min_ready))
        new_status = {
            "observedGeneration": deployment["metadata"].get("generation", 1),
            "replicas": len(pods),
            "updatedReplicas": len(new_pods),
            "readyReplicas": sum(1 for p in pods if pod_ready(p)),
            "availableReplicas": available,
        }
        unavailable = max(len(pods), desired) - available
        if unavailable > 0:
            new_status["unavailableReplicas"] = unavailable
        for key in ("readyReplicas", "availableReplicas", "updatedReplicas", "replicas"):
            if not new_status[key]:
                del new_status[key]
        if new_rs and new_rs.get("status", {}).get("collisionCount"):
            new_status["collisionCount"] = new_rs["status"]["collisionCount"]
        max_unavailable = resolve_int_or_percent(
            ((spec.get("strategy") or {}).get("rollingUpdate") or {}).get("maxUnavailable", "25%"), desired, False
        )
        now = now_rfc3339()
        self._set_condition(
            conditions,
            "Available",
            "True" if available >= desired - max_unavailable else "False",
            "MinimumReplicasAvailable" if available >= desired - max_unavailable else "MinimumReplicasUnavailable",
            "Deployment has minimum availability."
            if available >= desired - max_unavailable
            else "Deployment does not have minimum availability.",
            now,
        )
        self._replica_failure(conditions, new_rs)
        if self._paused_condition(conditions, spec, now):
            new_status["conditions"] = conditions
            self._write_status(deployment, status, new_status)
            return
        complete = (
            new_rs is not None
            and len(new_pods) == desired
            and len(pods) == desired
            and sum(1 for p in new_pods if pod_available(p, min_ready)) == desired
        )
        progressing = condition(conditions, "Progressing")
        if complete:
            self._set_condition(
                conditions,
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                f'ReplicaSet "{new_rs["metadata"]["name"]}" has successfully progressed.',
                now,
            )
        elif progressing and progressing.get("reason") != "ProgressDeadlineExceeded":
            old_counts = {k: status.get(k, 0) for k in ("updatedReplicas", "readyReplicas", "availableReplicas")}
            if any(new_status.get(k, 0) > v for k, v in old_counts.items()):
                progressing["lastUpdateTime"] = now
                progressing["reason"] = "ReplicaSetUpdated"
            deadline = spec.get("progressDeadlineSeconds", 600)
            if time.time() - parse_time(progressing.get("lastUpdateTime", now)) > deadline:
                self._set_condition(
                    conditions,
                    "Progressing",
                    "False",
                    "ProgressDeadlineExceeded",
                    f'ReplicaSet "{new_rs["metadata"]["name"]}" has timed out progressing.',
                    now,
                )
                record_event(
                    self.store,
                    deployment,
                    "ProgressDeadlineExceeded",
                    f"Deployment {deployment['metadata']['name']} has timed out progressing.",
                    type_="Warning",
                )
        new_status["conditions"] = conditions
        self._write_status(deployment, status, new_status)

    def _write_status(self, deployment: dict, status: dict, new_status: dict) -> None:
        if new_status != status:
            ns = deployment["metadata"]["namespace"]
            current = self.store.get("deployments", ns, deployment["metadata"]["name"])
            current["status"] = new_status
            self.store.update("deployments", ns, current, subresource="status")

    def _paused_condition(self, conditions: list[dict], spec: dict, now: str) -> bool:
        """sync.go checkPausedConditions; True while paused (no rollout progress is judged then)."""
        cond = condition(conditions, "Progressing")
        if cond is not None and cond.get("reason") == "ProgressDeadlineExceeded":
            return bool(spec.get("paused"))
        paused_before = cond is not None and cond.get("reason") == "DeploymentPaused"
        if spec.get("paused") and not paused_before:
            self._set_condition(conditions, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", now)
        elif not spec.get("paused") and paused_before:
            self._set_condition(conditions, "Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed", now)
        return bool(spec.get("paused"))

    @staticmethod
    def _replica_failure(conditions: list[dict], new_rs: dict | None) -> None:
        """calculateStatus: the new ReplicaSet's ReplicaFailure condition, copied (or dropped)."""
        failure = condition(((new_rs or {}).get("status") or {}).get("conditions") or [], "ReplicaFailure")
        current = condition(conditions, "ReplicaFailure")
        if failure is None and current is not None:
            conditions.remove(current)
        elif failure is not None and (current is None or current.get("message") != failure.get("message")):
            if current is not None:
                conditions.remove(current)
            conditions.append(
                {**failure, "lastUpdateTime": failure.get("lastTransitionTime"), "type": "ReplicaFailure"}
            )

    @staticmethod
    def _set_condition(conditions: list[dict], type_: str, status: str, reason: str, message: str, now: str) -> None:
        cond = condition(conditions, type_)
        if cond is None:
            cond = {"type": type_, "lastTransitionTime": now, "lastUpdateTime": now}
            conditions.append(cond)
        if cond.get("status") != status:
            cond["lastTransitionTime"] = now
        if (cond.get("status"), cond.get("reason")) != (status, reason):
            cond["lastUpdateTime"] = now
            conditions.remove(cond)  # SetDeploymentCondition: a changed condition goes to the end
            conditions.append(cond)
        cond.update(status=status, reason=reason, message=message)


class ReplicaSetController:
    """ReplicaSets -> Pods: create and delete pods to match replicas; status."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._failures: dict[str, tuple[str, str]] = {}  # ReplicaSet uid -> (message, since)

    def reconcile(self) -> None:
        for rs in self.store.list("replicasets"):
            self.reconcile_replicaset(rs)

    def update_statuses(self) -> None:
        for rs in self.store.list("replicasets"):
            self.update_replicaset_status(rs)

    def reconcile_replicaset(self, rs: dict) -> None:
        ns = rs["metadata"]["namespace"]
        pods = pods_of(self.store, rs)
        want = rs["spec"].get("replicas", 0)
        for _ in range(want - len(pods)):
            template = json.loads(json.dumps(rs["spec"]["template"]))
            meta = template.get("metadata", {})
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "generateName": f"{rs['metadata']['name']}-",
                    "labels": meta.get("labels", {}),
                    "annotations": meta.get("annotations", {}),
                    "ownerReferences": [owner_ref(rs, "ReplicaSet", "apps/v1")],
                },
                "spec": template["spec"],
                "status": {
                    "phase": "Pending",
                    "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": now_rfc3339()}],
                },
            }
            refusal = service_account_refusal(self.store, ns, pod)
            if refusal is not None:
                self._failed(rs, f"Error creating: {refusal.message}")
                return
            pod["metadata"]["name"] = f"{rs['metadata']['name']}-{random_suffix()}"
            del pod["metadata"]["generateName"]
            pod = self.store.create("pods", ns, pod)
            self._failures.pop(rs["metadata"]["uid"], None)
            record_event(self.store, rs, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}")
        if len(pods) > want:
            # Upstream deletes the least useful pods first: not ready before ready,
            # then the youngest.
            pods.sort(key=lambda p: (pod_ready(p), p["metadata"]["creationTimestamp"]), reverse=False)
            for pod in pods[: len(pods) - want]:
                self.terminate_pod(pod)
                record_event(self.store, rs, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}")

    def _failed(self, rs: dict, message: str) -> None:
        """pod_control.go: a Warning FailedCreate event (once per distinct refusal here: the real
        recorder aggregates the repeats into a count)."""
        uid = rs["metadata"]["uid"]
        if self._failures.get(uid, ("", ""))[0] != message:
            self._failures[uid] = (message, now_rfc3339())
            record_event(self.store, rs, "FailedCreate", message, type_="Warning")

    def update_replicaset_status(self, rs: dict) -> None:
        pods = pods_of(self.store, rs)
        min_ready = 0
        status = {
            "replicas": len(pods),
            "fullyLabeledReplicas": len(pods),
            "readyReplicas": sum(1 for p in pods if pod_ready(p)),
            "availableReplicas": sum(1 for p in pods if pod_available(p, min_ready)),
            "observedGeneration": rs["metadata"].get("generation", 1),
        }
        status = {k: v for k, v in status.items() if v or k in ("replicas", "observedGeneration")}
        failure = self._failures.get(rs["metadata"]["uid"])
        if failure is not None:
            # replica_set_utils.go calculateStatus: ReplicaFailure while pods cannot be created.
            status["conditions"] = [
                {
                    "type": "ReplicaFailure",
                    "status": "True",
                    "lastTransitionTime": failure[1],
                    "reason": "FailedCreate",
                    "message": failure[0].removeprefix("Error creating: "),
                }
            ]
        if status != rs.get("status"):
            current = self.store.get("replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"])
            if current is None:
                return
            current["status"] = status
            self.store.update("replicasets", rs["metadata"]["namespace"], current, subresource="status")

    def terminate_pod(self, pod: dict) -> None:
        """Graceful deletion: mark terminating, leave the endpoints, then stop."""
        self.store.mark_deleting(
            "pods",
            pod["metadata"]["namespace"],
            pod["metadata"]["name"],
            pod["spec"].get("terminationGracePeriodSeconds", 30),
        )


class ServiceAccountController:
    """Every namespace has a ServiceAccount ``default`` (the serviceaccount controller)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def reconcile(self) -> None:
        for namespace in self.store.list("namespaces"):
            name = namespace["metadata"]["name"]
            if (
                not namespace["metadata"].get("deletionTimestamp")
                and self.store.get("serviceaccounts", name, "default") is None
            ):
                self.store.create(
                    "serviceaccounts",
                    name,
                    {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}},
                )


class ClusterRoleAggregationController:
    """Aggregated ClusterRoles (the clusterrole-aggregation controller).

    The rules of every ClusterRole matched by one of the aggregationRule's
    clusterRoleSelectors, in name order, each rule once.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def reconcile(self) -> None:
        roles = self.store.list("clusterroles")
        for role in roles:
            selectors = (role.get("aggregationRule") or {}).get("clusterRoleSelectors") or []
            if not selectors:
                continue
            rules: list[dict] = []
            for selector in selectors:
                requirements = selector_requirements(selector)
                for other in sorted(roles, key=lambda r: r["metadata"]["name"]):
                    if other["metadata"]["name"] != role["metadata"]["name"] and labels_match(
                        requirements, other["metadata"].get("labels") or {}
                    ):
                        rules += [rule for rule in other.get("rules") or [] if rule not in rules]
            if rules != (role.get("rules") or []):
                role["rules"] = rules
                self.store.update("clusterroles", "", role)
