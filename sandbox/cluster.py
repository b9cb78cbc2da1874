"""Controllers of the sandbox cluster: deployments, replica sets, a kubelet whose
containers are real LiteLLM processes, and service endpoints.

Everything runs on the API server's event loop and talks to the shared Store
directly, the way kube-controller-manager and the kubelet would talk to the API
server. The behaviour follows the upstream controllers closely enough for the
clients this project uses (kubectl rollout status, kubernetes.core wait, the
collection's own rollout module):

* A Deployment owns ReplicaSets named ``<deployment>-<pod-template-hash>``; a
  template change creates a new one and rolls with maxSurge/maxUnavailable (so
  with 1 replica and maxUnavailable 0 the new pod is Ready before the old one
  stops).
* Deployment status carries observedGeneration, replicas, updated/ready/
  available/unavailable counts and the Progressing/Available conditions,
  including ProgressDeadlineExceeded when a new pod never becomes ready.
* A pod is a LiteLLM process bound to its own loopback IP (127.0.x.y) on the
  containerPort, started with the container's args, its ConfigMap volumes
  copied into the pod directory (subPath mounts are a copy in Kubernetes too, so
  a ConfigMap change needs a restart), env from envFrom/env. A process that
  exits is restarted with the kubelet's back-off and shows CrashLoopBackOff.
* Readiness comes from the container's readinessProbe (httpGet) against the
  real process; a pod leaves the service endpoints before it is stopped.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import json
import logging
import math
import os
import random
import signal
import socket
import string
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

from .store import ApiError, Store, now_rfc3339

log = logging.getLogger("sandbox.cluster")

# The sandbox has no PostgreSQL. LiteLLM, given DATABASE_URL, tries to download
# the Prisma toolchain at start-up and stalls offline, so the kubelet leaves it
# out of the process environment (and says so in the pod log).
DROPPED_ENV = ("DATABASE_URL",)

# Node-level environment every pod gets: without these LiteLLM start-up and
# token counting stall on blocked network calls (measured, see DESIGN.md).
NODE_ENV = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HUB_OFFLINE": "1"}

BACKOFF_INITIAL = 10.0  # kubelet's crash back-off starts at 10 s ...
BACKOFF_MAX = 300.0     # ... and doubles up to 5 min
TERMINATION_DRAIN = 1.0  # seconds between leaving the endpoints and SIGTERM
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
               "proxy-authorization", "proxy-authenticate", "host", "content-length"}


def _parse_time(value: str) -> float:
    return datetime.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def _random_suffix(length: int = 5) -> str:
    return "".join(random.choices(string.ascii_lowercase + string.digits, k=length))


def template_hash(template: dict) -> str:
    """The pod-template-hash label value: stable for an unchanged template."""
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


def resolve_int_or_percent(value, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        exact = total * int(value[:-1]) / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(value)


def labels_match(selector: dict, labels: dict) -> bool:
    """matchLabels / matchExpressions of a LabelSelector against a label set."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _owned_by(obj: dict, owner: dict) -> bool:
    return any(ref.get("uid") == owner["metadata"]["uid"]
               for ref in obj["metadata"].get("ownerReferences") or [])


def _owner_ref(owner: dict, kind: str, api_version: str) -> dict:
    return {"apiVersion": api_version, "kind": kind, "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def _condition(conditions: list[dict], type_: str) -> dict | None:
    return next((c for c in conditions if c.get("type") == type_), None)


def _pod_ready(pod: dict) -> bool:
    cond = _condition((pod.get("status") or {}).get("conditions") or [], "Ready")
    return bool(cond and cond.get("status") == "True")


def _pod_terminating(pod: dict) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp"))


@dataclass
class Container:
    """The kubelet's view of one pod's single container process."""

    namespace: str
    pod: str
    uid: str
    ip: str
    port: int
    workdir: Path
    process: asyncio.subprocess.Process | None = None
    restart_count: int = 0
    started_at: str | None = None
    last_terminated: dict | None = None
    waiting_reason: str | None = "ContainerCreating"
    waiting_message: str | None = None
    ready: bool = False
    stopping: bool = False
    tasks: list[asyncio.Task] = field(default_factory=list)


class Cluster:
    """Deployment/ReplicaSet controllers, kubelet and service endpoints."""

    def __init__(self, store: Store, state_dir: Path, litellm_bin: str,
                 pid_dir: Path | None = None) -> None:
        self.store = store
        self.state_dir = state_dir
        self.litellm_bin = litellm_bin
        self.pid_dir = pid_dir or state_dir / "pids"
        self.pid_dir.mkdir(parents=True, exist_ok=True)
        self.containers: dict[str, Container] = {}  # by pod uid
        self.service_listeners: dict[tuple[str, str, int], tuple[web.AppRunner, int]] = {}
        self._dirty = asyncio.Event()
        self._http: aiohttp.ClientSession | None = None
        self._rr = 0
        self._stopping = False

    # -- life cycle ------------------------------------------------------
    async def run(self) -> None:
        """Reconcile on every store change, and at least once a second (timers)."""
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=2))
        changes = self.store.changes()
        asyncio.get_running_loop().create_task(self._pump(changes))
        while not self._stopping:
            try:
                await asyncio.wait_for(self._dirty.wait(), timeout=1.0)
            except asyncio.TimeoutError:
                pass
            self._dirty.clear()
            try:
                await self.reconcile()
            except Exception:  # a controller bug must not stop the cluster
                log.exception("reconcile failed")

    async def _pump(self, changes) -> None:
        while True:
            event = await changes.queue.get()
            if event.resource in ("deployments", "replicasets", "pods", "services", "configmaps",
                                  "secrets"):
                self._dirty.set()

    async def shutdown(self) -> None:
        self._stopping = True
        await asyncio.gather(*(self._stop_container(c, grace=5.0) for c in list(self.containers.values())),
                             return_exceptions=True)
        for runner, _ in self.service_listeners.values():
            await runner.cleanup()
        if self._http:
            await self._http.close()

    def kick(self) -> None:
        self._dirty.set()

    async def reconcile(self) -> None:
        for deployment in self.store.list("deployments"):
            self.reconcile_deployment(deployment)
        for rs in self.store.list("replicasets"):
            self.reconcile_replicaset(rs)
        await self.reconcile_pods()
        self.reconcile_pod_status()
        for rs in self.store.list("replicasets"):
            self.update_replicaset_status(rs)
        for deployment in self.store.list("deployments"):
            self.update_deployment_status(deployment)
        await self.reconcile_services()

    # -- deployment controller -------------------------------------------
    def _owned_replicasets(self, deployment: dict) -> list[dict]:
        ns = deployment["metadata"]["namespace"]
        return [rs for rs in self.store.list("replicasets", ns) if _owned_by(rs, deployment)]

    def _new_replicaset(self, deployment: dict, owned: list[dict]) -> dict | None:
        wanted = template_hash(deployment["spec"]["template"])
        return next((rs for rs in owned
                     if rs["metadata"].get("labels", {}).get("pod-template-hash") == wanted), None)

    def reconcile_deployment(self, deployment: dict) -> None:
        spec = deployment["spec"]
        ns, name = deployment["metadata"]["namespace"], deployment["metadata"]["name"]
        desired = spec.get("replicas", 1)
        owned = self._owned_replicasets(deployment)
        new_rs = self._new_replicaset(deployment, owned)
        revisions = [int(rs["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision", 0))
                     for rs in owned]
        if new_rs is None:
            pod_hash = template_hash(spec["template"])
            template = json.loads(json.dumps(spec["template"]))
            template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = pod_hash
            selector = json.loads(json.dumps(spec["selector"]))
            selector.setdefault("matchLabels", {})["pod-template-hash"] = pod_hash
            revision = max(revisions, default=0) + 1
            new_rs = self.store.create("replicasets", ns, {
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": f"{name}-{pod_hash}", "namespace": ns,
                             "labels": dict(template["metadata"]["labels"]),
                             "annotations": {"deployment.kubernetes.io/revision": str(revision),
                                             "deployment.kubernetes.io/desired-replicas": str(desired)},
                             "ownerReferences": [_owner_ref(deployment, "Deployment", "apps/v1")]},
                "spec": {"replicas": 0 if owned else desired, "selector": selector,
                         "template": template},
            })
            self._annotate_revision(deployment, revision)
            self._mark_progress(deployment, "NewReplicaSetCreated",
                                f'Created new replica set "{new_rs["metadata"]["name"]}"')
            self.record_event(deployment, "ScalingReplicaSet",
                              f"Scaled up replica set {new_rs['metadata']['name']} to {new_rs['spec']['replicas']}")
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

    def _annotate_revision(self, deployment: dict, revision: int) -> None:
        current = self.store.get("deployments", deployment["metadata"]["namespace"],
                                 deployment["metadata"]["name"])
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
        current["metadata"].setdefault("annotations", {})[
            "deployment.kubernetes.io/desired-replicas"] = str(deployment["spec"].get("replicas", 1))
        self.store.update("replicasets", current["metadata"]["namespace"], current)
        rs["spec"]["replicas"] = replicas
        self.record_event(deployment, "ScalingReplicaSet",
                          f"Scaled {direction} replica set {rs['metadata']['name']} to {replicas}")
        self._mark_progress(deployment, "ReplicaSetUpdated",
                            f'ReplicaSet "{rs["metadata"]["name"]}" is progressing.')

    def _available_pods(self, rs: dict, min_ready: int) -> int:
        return sum(1 for pod in self._pods_of(rs) if self._pod_available(pod, min_ready))

    def _pod_available(self, pod: dict, min_ready: int) -> bool:
        if not _pod_ready(pod) or _pod_terminating(pod):
            return False
        cond = _condition(pod["status"]["conditions"], "Ready")
        return time.time() - _parse_time(cond["lastTransitionTime"]) >= min_ready

    def _pods_of(self, rs: dict) -> list[dict]:
        return [pod for pod in self.store.list("pods", rs["metadata"]["namespace"])
                if _owned_by(pod, rs) and not _pod_terminating(pod)]

    def _roll_rolling(self, deployment: dict, new_rs: dict, old: list[dict], desired: int,
                      rolling: dict) -> None:
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
        available = sum(self._available_pods(rs, min_ready) for rs in all_rs)
        can_scale_down = available - (desired - max_unavailable)
        # Old pods that are not ready can go at once: they serve nothing.
        for rs in sorted(old, key=lambda r: r["metadata"]["creationTimestamp"]):
            replicas = rs["spec"].get("replicas", 0)
            if replicas == 0:
                continue
            unhealthy = replicas - self._available_pods(rs, min_ready)
            step = min(replicas, max(unhealthy, 0) + max(can_scale_down, 0))
            if step > 0:
                self._scale(deployment, rs, replicas - step)
                can_scale_down -= max(step - unhealthy, 0)

    def _roll_recreate(self, deployment: dict, new_rs: dict, old: list[dict], desired: int) -> None:
        for rs in old:
            self._scale(deployment, rs, 0)
        if any(self._pods_of(rs) for rs in old):
            return
        self._scale(deployment, new_rs, desired)

    def _prune_history(self, deployment: dict, old: list[dict]) -> None:
        limit = deployment["spec"].get("revisionHistoryLimit", 10)
        idle = [rs for rs in old if rs["spec"].get("replicas", 0) == 0 and not self._pods_of(rs)]
        idle.sort(key=lambda r: int(r["metadata"].get("annotations", {}).get(
            "deployment.kubernetes.io/revision", 0)))
        for rs in idle[: max(len(idle) - limit, 0)]:
            self.store.delete("replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"])

    def _mark_progress(self, deployment: dict, reason: str, message: str) -> None:
        """Record progress in the Progressing condition (resets the deadline)."""
        current = self.store.get("deployments", deployment["metadata"]["namespace"],
                                 deployment["metadata"]["name"])
        status = current.setdefault("status", {})
        conditions = status.setdefault("conditions", [])
        now = now_rfc3339()
        cond = _condition(conditions, "Progressing")
        if cond is None:
            cond = {"type": "Progressing", "lastTransitionTime": now}
            conditions.append(cond)
        if cond.get("status") != "True":
            cond["lastTransitionTime"] = now
        cond.update(status="True", reason=reason, message=message, lastUpdateTime=now)
        self.store.update("deployments", current["metadata"]["namespace"], current, subresource="status")

    def update_deployment_status(self, deployment: dict) -> None:
        ns = deployment["metadata"]["namespace"]
        spec = deployment["spec"]
        desired = spec.get("replicas", 1)
        owned = self._owned_replicasets(deployment)
        new_rs = self._new_replicaset(deployment, owned)
        min_ready = spec.get("minReadySeconds", 0)
        pods = [p for rs in owned for p in self._pods_of(rs)]
        new_pods = self._pods_of(new_rs) if new_rs else []
        status = dict(deployment.get("status") or {})
        conditions = [dict(c) for c in status.get("conditions") or []]
        available = sum(1 for p in pods if self._pod_available(p, min_ready))
        new_status = {
            "observedGeneration": deployment["metadata"].get("generation", 1),
            "replicas": len(pods),
            "updatedReplicas": len(new_pods),
            "readyReplicas": sum(1 for p in pods if _pod_ready(p)),
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
            ((spec.get("strategy") or {}).get("rollingUpdate") or {}).get("maxUnavailable", "25%"),
            desired, False)
        now = now_rfc3339()
        self._set_condition(conditions, "Available",
                            "True" if available >= desired - max_unavailable else "False",
                            "MinimumReplicasAvailable" if available >= desired - max_unavailable
                            else "MinimumReplicasUnavailable",
                            "Deployment has minimum availability." if available >= desired - max_unavailable
                            else "Deployment does not have minimum availability.", now)
        complete = (new_rs is not None and len(new_pods) == desired and len(pods) == desired
                    and sum(1 for p in new_pods if self._pod_available(p, min_ready)) == desired)
        progressing = _condition(conditions, "Progressing")
        if complete:
            self._set_condition(conditions, "Progressing", "True", "NewReplicaSetAvailable",
                                f'ReplicaSet "{new_rs["metadata"]["name"]}" has successfully progressed.', now)
        elif progressing and progressing.get("reason") != "ProgressDeadlineExceeded":
            old_counts = {k: status.get(k, 0) for k in ("updatedReplicas", "readyReplicas",
                                                         "availableReplicas")}
            if any(new_status.get(k, 0) > v for k, v in old_counts.items()):
                progressing["lastUpdateTime"] = now
                progressing["reason"] = "ReplicaSetUpdated"
            deadline = spec.get("progressDeadlineSeconds", 600)
            if time.time() - _parse_time(progressing.get("lastUpdateTime", now)) > deadline:
                self._set_condition(conditions, "Progressing", "False", "ProgressDeadlineExceeded",
                                    f'ReplicaSet "{new_rs["metadata"]["name"]}" has timed out progressing.',
                                    now)
                self.record_event(deployment, "ProgressDeadlineExceeded",
                                  f"Deployment {deployment['metadata']['name']} has timed out progressing.",
                                  type_="Warning")
        new_status["conditions"] = conditions
        if new_status != status:
            current = self.store.get("deployments", ns, deployment["metadata"]["name"])
            current["status"] = new_status
            self.store.update("deployments", ns, current, subresource="status")

    @staticmethod
    def _set_condition(conditions: list[dict], type_: str, status: str, reason: str, message: str,
                       now: str) -> None:
        cond = _condition(conditions, type_)
        if cond is None:
            cond = {"type": type_, "lastTransitionTime": now, "lastUpdateTime": now}
            conditions.append(cond)
        if cond.get("status") != status:
            cond["lastTransitionTime"] = now
        if (cond.get("status"), cond.get("reason")) != (status, reason):
            cond["lastUpdateTime"] = now
        cond.update(status=status, reason=reason, message=message)

    # -- replica set controller ------------------------------------------
    def reconcile_replicaset(self, rs: dict) -> None:
        ns = rs["metadata"]["namespace"]
        pods = self._pods_of(rs)
        want = rs["spec"].get("replicas", 0)
        for _ in range(want - len(pods)):
            template = json.loads(json.dumps(rs["spec"]["template"]))
            meta = template.get("metadata", {})
            pod = self.store.create("pods", ns, {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": f"{rs['metadata']['name']}-{_random_suffix()}",
                             "labels": meta.get("labels", {}), "annotations": meta.get("annotations", {}),
                             "ownerReferences": [_owner_ref(rs, "ReplicaSet", "apps/v1")]},
                "spec": template["spec"],
                "status": {"phase": "Pending", "conditions": [
                    {"type": "PodScheduled", "status": "True", "lastTransitionTime": now_rfc3339()}]},
            })
            self.record_event(rs, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}")
        if len(pods) > want:
            # Upstream deletes the least useful pods first: not ready before ready,
            # then the youngest.
            pods.sort(key=lambda p: (_pod_ready(p), p["metadata"]["creationTimestamp"]), reverse=False)
            for pod in pods[: len(pods) - want]:
                self.terminate_pod(pod)
                self.record_event(rs, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}")

    def update_replicaset_status(self, rs: dict) -> None:
        pods = self._pods_of(rs)
        min_ready = 0
        status = {"replicas": len(pods),
                  "fullyLabeledReplicas": len(pods),
                  "readyReplicas": sum(1 for p in pods if _pod_ready(p)),
                  "availableReplicas": sum(1 for p in pods if self._pod_available(p, min_ready)),
                  "observedGeneration": rs["metadata"].get("generation", 1)}
        status = {k: v for k, v in status.items() if v or k in ("replicas", "observedGeneration")}
        if status != rs.get("status"):
            current = self.store.get("replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"])
            if current is None:
                return
            current["status"] = status
            self.store.update("replicasets", rs["metadata"]["namespace"], current, subresource="status")

    def terminate_pod(self, pod: dict) -> None:
        """Graceful deletion: mark terminating, leave the endpoints, then stop."""
        self.store.mark_deleting("pods", pod["metadata"]["namespace"], pod["metadata"]["name"],
                                 pod["spec"].get("terminationGracePeriodSeconds", 30))

    # -- kubelet ---------------------------------------------------------
    async def reconcile_pods(self) -> None:
        pods = {p["metadata"]["uid"]: p for p in self.store.list("pods")}
        for uid, container in list(self.containers.items()):
            pod = pods.get(uid)
            if pod is None or _pod_terminating(pod):
                if not container.stopping:
                    container.stopping = True
                    container.ready = False
                    asyncio.get_running_loop().create_task(self._finish_pod(container, pod))
        for uid, pod in pods.items():
            if uid not in self.containers and not _pod_terminating(pod):
                self._admit_pod(pod)

    def _admit_pod(self, pod: dict) -> None:
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        spec_container = pod["spec"]["containers"][0]
        port = next((p["containerPort"] for p in spec_container.get("ports") or []), 4000)
        workdir = self.state_dir / "pods" / ns / name
        workdir.mkdir(parents=True, exist_ok=True)
        container = Container(ns, name, pod["metadata"]["uid"], self._allocate_ip(port), port, workdir)
        self.containers[container.uid] = container
        container.tasks.append(asyncio.get_running_loop().create_task(self._run_container(container)))

    def _allocate_ip(self, port: int) -> str:
        """A free loopback address for the pod, like a pod IP on a node's bridge."""
        used = {c.ip for c in self.containers.values()}
        for _ in range(1000):
            ip = f"127.{random.randint(10, 250)}.{random.randint(0, 255)}.{random.randint(2, 254)}"
            if ip in used:
                continue
            with socket.socket() as probe:
                try:
                    probe.bind((ip, port))
                except OSError:
                    continue
            return ip
        raise RuntimeError("no free loopback address for a pod")

    def _materialize(self, container: Container, pod: dict) -> tuple[list[str], dict[str, str]]:
        """Volumes and env of the container, or ApiError-like reasons to wait."""
        spec = pod["spec"]
        c = spec["containers"][0]
        ns = container.namespace
        root = container.workdir / "root"
        volumes = {v["name"]: v for v in spec.get("volumes") or []}
        mount_map: dict[str, Path] = {}
        for mount in c.get("volumeMounts") or []:
            volume = volumes.get(mount["name"])
            if volume is None or "configMap" not in volume and "secret" not in volume:
                continue
            if "configMap" in volume:
                source = self.store.get("configmaps", ns, volume["configMap"]["name"])
                if source is None:
                    raise _ContainerConfigError(f'configmap "{volume["configMap"]["name"]}" not found')
                data = dict(source.get("data") or {})
            else:
                source = self.store.get("secrets", ns, volume["secret"]["secretName"])
                if source is None:
                    raise _ContainerConfigError(f'secret "{volume["secret"]["secretName"]}" not found')
                data = {k: base64.b64decode(v).decode() for k, v in (source.get("data") or {}).items()}
            target = root / mount["mountPath"].lstrip("/")
            if mount.get("subPath"):
                if mount["subPath"] not in data:
                    raise _ContainerConfigError(
                        f'key "{mount["subPath"]}" not found in volume "{mount["name"]}"')
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(data[mount["subPath"]])
            else:
                target.mkdir(parents=True, exist_ok=True)
                for key, value in data.items():
                    (target / key).write_text(value)
            mount_map[mount["mountPath"]] = target
        env: dict[str, str] = {}
        for source in c.get("envFrom") or []:
            prefix = source.get("prefix", "")
            if "secretRef" in source:
                secret = self.store.get("secrets", ns, source["secretRef"]["name"])
                if secret is None:
                    if source["secretRef"].get("optional"):
                        continue
                    raise _ContainerConfigError(f'secret "{source["secretRef"]["name"]}" not found')
                for key, value in (secret.get("data") or {}).items():
                    env[prefix + key] = base64.b64decode(value).decode()
            if "configMapRef" in source:
                cm = self.store.get("configmaps", ns, source["configMapRef"]["name"])
                if cm is None:
                    if source["configMapRef"].get("optional"):
                        continue
                    raise _ContainerConfigError(f'configmap "{source["configMapRef"]["name"]}" not found')
                env.update({prefix + k: v for k, v in (cm.get("data") or {}).items()})
        for item in c.get("env") or []:
            if "value" in item:
                env[item["name"]] = item["value"]
            elif "valueFrom" in item:
                ref = item["valueFrom"].get("secretKeyRef") or item["valueFrom"].get("configMapKeyRef")
                is_secret = "secretKeyRef" in item["valueFrom"]
                obj = self.store.get("secrets" if is_secret else "configmaps", ns, ref["name"])
                if obj is None or ref["key"] not in (obj.get("data") or {}):
                    if ref.get("optional"):
                        continue
                    raise _ContainerConfigError(
                        f'couldn\'t find key {ref["key"]} in {"Secret" if is_secret else "ConfigMap"} '
                        f'{ns}/{ref["name"]}')
                value = obj["data"][ref["key"]]
                env[item["name"]] = base64.b64decode(value).decode() if is_secret else value
        args = []
        for arg in list(c.get("command") or [])[1:] + list(c.get("args") or []):
            for mount_path, target in mount_map.items():
                if arg == mount_path or arg.startswith(mount_path.rstrip("/") + "/"):
                    arg = str(target) + arg[len(mount_path):]
            args.append(arg)
        return args, env

    async def _run_container(self, container: Container) -> None:
        """Start, watch and restart one container until its pod goes away."""
        backoff = BACKOFF_INITIAL
        while not container.stopping:
            pod = self.store.get("pods", container.namespace, container.pod)
            if pod is None:
                return
            try:
                args, env = self._materialize(container, pod)
            except _ContainerConfigError as err:
                container.waiting_reason, container.waiting_message = "CreateContainerConfigError", str(err)
                self.kick()
                await asyncio.sleep(2)
                continue
            started = time.monotonic()
            await self._start_process(container, args, env)
            probe = asyncio.get_running_loop().create_task(self._probe(container, pod))
            code = await container.process.wait()
            probe.cancel()
            container.ready = False
            self._forget_pid(container)
            finished = now_rfc3339()
            if container.stopping:
                return
            container.last_terminated = {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                                         "startedAt": container.started_at, "finishedAt": finished}
            container.restart_count += 1
            if time.monotonic() - started > 600:
                backoff = BACKOFF_INITIAL
            container.waiting_reason = "CrashLoopBackOff"
            container.waiting_message = (f"back-off {int(backoff)}s restarting failed container=litellm "
                                         f"pod={container.pod}_{container.namespace}")
            container.process = None
            self.record_event(pod, "BackOff", "Back-off restarting failed container", type_="Warning")
            self.kick()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)

    async def _start_process(self, container: Container, args: list[str], env: dict[str, str]) -> None:
        logfile = (container.workdir / "log").open("ab")
        dropped = [name for name in DROPPED_ENV if name in env]
        if dropped:
            logfile.write(f"[sandbox kubelet] not passing {', '.join(dropped)}: the sandbox has no "
                          "database\n".encode())
        process_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(container.workdir),
                       "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1", **NODE_ENV,
                       **{k: v for k, v in env.items() if k not in DROPPED_ENV}}
        # The container binds its pod IP on the containerPort, as in a pod network.
        command = [self.litellm_bin, *_strip_host_and_port(args), "--host", container.ip,
                   "--port", str(container.port)]
        container.process = await asyncio.create_subprocess_exec(
            *command, cwd=container.workdir, env=process_env, stdout=logfile, stderr=logfile,
            stdin=asyncio.subprocess.DEVNULL, start_new_session=True)
        logfile.close()
        (self.pid_dir / f"{container.process.pid}.pid").write_text(str(self.state_dir.resolve()))
        container.started_at = now_rfc3339()
        container.waiting_reason = container.waiting_message = None
        self.kick()

    def _forget_pid(self, container: Container) -> None:
        if container.process is not None:
            (self.pid_dir / f"{container.process.pid}.pid").unlink(missing_ok=True)

    async def _probe(self, container: Container, pod: dict) -> None:
        """readinessProbe (httpGet) against the real process."""
        c = pod["spec"]["containers"][0]
        probe = c.get("readinessProbe") or {}
        http_get = probe.get("httpGet")
        period = probe.get("periodSeconds", 10)
        failures_needed = probe.get("failureThreshold", 3)
        successes_needed = probe.get("successThreshold", 1)
        timeout = probe.get("timeoutSeconds", 1)
        await asyncio.sleep(probe.get("initialDelaySeconds", 0))
        successes = failures = 0
        while True:
            if http_get is None:
                ok = container.process is not None and container.process.returncode is None
            else:
                url = f"http://{container.ip}:{container.port}{http_get.get('path', '/')}"
                try:
                    async with self._http.get(url, timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
                        ok = 200 <= resp.status < 400
                except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
                    ok = False
            if ok:
                successes, failures = successes + 1, 0
                if successes >= successes_needed and not container.ready:
                    container.ready = True
                    self.kick()
            else:
                successes, failures = 0, failures + 1
                if failures >= failures_needed and container.ready:
                    container.ready = False
                    self.kick()
            # Probe quickly until the first success so that readiness is seen
            # without waiting a whole period (the kubelet's first probe is also
            # soon after start); then at the configured period.
            await asyncio.sleep(period if container.ready else min(period, 0.5))

    async def _finish_pod(self, container: Container, pod: dict | None) -> None:
        """Stop a terminating pod's process, then remove the pod object."""
        self.kick()  # endpoints first
        await asyncio.sleep(TERMINATION_DRAIN)
        grace = float((pod or {}).get("metadata", {}).get("deletionGracePeriodSeconds", 30))
        await self._stop_container(container, grace)
        self.containers.pop(container.uid, None)
        if pod is not None and self.store.get("pods", container.namespace, container.pod):
            self.store.delete("pods", container.namespace, container.pod)
        self.kick()

    async def _stop_container(self, container: Container, grace: float) -> None:
        container.stopping = True
        for task in container.tasks:
            if task is not asyncio.current_task():
                task.cancel()
        process = container.process
        if process is None or process.returncode is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            await asyncio.wait_for(process.wait(), timeout=grace)
        except asyncio.TimeoutError:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            await process.wait()
        self._forget_pid(container)

    def reconcile_pod_status(self) -> None:
        for container in self.containers.values():
            pod = self.store.get("pods", container.namespace, container.pod)
            if pod is None or _pod_terminating(pod):
                continue
            status = dict(pod.get("status") or {})
            conditions = [dict(c) for c in status.get("conditions") or []]
            now = now_rfc3339()
            running = container.process is not None and container.process.returncode is None
            if running:
                state = {"running": {"startedAt": container.started_at}}
            else:
                state = {"waiting": {"reason": container.waiting_reason or "ContainerCreating"}}
                if container.waiting_message:
                    state["waiting"]["message"] = container.waiting_message
            cstatus = {"name": pod["spec"]["containers"][0]["name"],
                       "image": pod["spec"]["containers"][0].get("image", ""),
                       "ready": container.ready, "started": running,
                       "restartCount": container.restart_count, "state": state}
            if container.last_terminated:
                cstatus["lastState"] = {"terminated": container.last_terminated}
            ready = "True" if container.ready else "False"
            for type_ in ("Initialized", "PodScheduled"):
                self._set_pod_condition(conditions, type_, "True", now)
            for type_ in ("ContainersReady", "Ready"):
                self._set_pod_condition(conditions, type_, ready, now)
            new_status = {
                "phase": "Running" if running or container.restart_count else "Pending",
                "conditions": conditions,
                "hostIP": "127.0.0.1",
                "podIP": container.ip,
                "podIPs": [{"ip": container.ip}],
                "startTime": status.get("startTime") or now,
                "containerStatuses": [cstatus],
                "qosClass": "BestEffort",
            }
            if new_status != status:
                pod["status"] = new_status
                self.store.update("pods", container.namespace, pod, subresource="status")

    @staticmethod
    def _set_pod_condition(conditions: list[dict], type_: str, status: str, now: str) -> None:
        cond = _condition(conditions, type_)
        if cond is None:
            conditions.append({"type": type_, "status": status, "lastProbeTime": None,
                               "lastTransitionTime": now})
        elif cond["status"] != status:
            cond.update(status=status, lastTransitionTime=now)

    def pod_log(self, namespace: str, pod: str, container: str | None, tail_lines: int | None) -> str | None:
        path = self.state_dir / "pods" / namespace / pod / "log"
        if not path.exists():
            return None
        lines = path.read_text(errors="replace").splitlines(keepends=True)
        return "".join(lines[-tail_lines:] if tail_lines else lines)

    # -- services --------------------------------------------------------
    def ready_endpoints(self, namespace: str, service: dict, port: dict) -> list[tuple[str, int]]:
        selector = service["spec"].get("selector") or {}
        target = port.get("targetPort", port["port"])
        endpoints = []
        for container in self.containers.values():
            pod = self.store.get("pods", container.namespace, container.pod)
            if (container.namespace == namespace and container.ready and not container.stopping
                    and pod is not None and not _pod_terminating(pod)
                    and all(pod["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())):
                if isinstance(target, str):
                    named = [p["containerPort"] for p in pod["spec"]["containers"][0].get("ports") or []
                             if p.get("name") == target]
                    endpoints.append((container.ip, named[0] if named else container.port))
                else:
                    endpoints.append((container.ip, int(target)))
        return endpoints

    async def reconcile_services(self) -> None:
        services = {(s["metadata"]["namespace"], s["metadata"]["name"]): s for s in self.store.list("services")}
        for key in list(self.service_listeners):
            if key[:2] not in services:
                runner, _ = self.service_listeners.pop(key)
                await runner.cleanup()
        for (ns, name), service in services.items():
            for port in service["spec"].get("ports") or []:
                key = (ns, name, port["port"])
                if key not in self.service_listeners:
                    await self._listen(ns, name, port["port"])
            self._write_endpoints(ns, service)

    def _write_endpoints(self, ns: str, service: dict) -> None:
        subsets = []
        for port in service["spec"].get("ports") or []:
            addresses = self.ready_endpoints(ns, service, port)
            if addresses:
                subsets.append({"addresses": [{"ip": ip} for ip, _ in addresses],
                                "ports": [{"name": port.get("name", ""), "port": addresses[0][1],
                                           "protocol": "TCP"}]})
        name = service["metadata"]["name"]
        current = self.store.get("endpoints", ns, name)
        body = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name, "namespace": ns},
                "subsets": subsets}
        if current is None:
            self.store.create("endpoints", ns, body)
        elif current.get("subsets", []) != subsets:
            current["subsets"] = subsets
            self.store.update("endpoints", ns, current)

    async def _listen(self, ns: str, name: str, port: int) -> None:
        """A stable local port per service port, forwarding to ready pods."""
        async def handler(request: web.Request) -> web.StreamResponse:
            try:
                return await self.forward(request, ns, name, str(port), request.match_info["path"])
            except ApiError as err:
                return web.json_response(err.status(), status=err.code)

        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        local_port = site._server.sockets[0].getsockname()[1]
        self.service_listeners[(ns, name, port)] = (runner, local_port)
        log.info("service %s/%s:%s listens on 127.0.0.1:%s", ns, name, port, local_port)

    def service_url(self, ns: str, name: str, port: int) -> str | None:
        entry = self.service_listeners.get((ns, name, port))
        return f"http://127.0.0.1:{entry[1]}" if entry else None

    async def forward(self, request: web.Request, ns: str, name: str, port: str, path: str,
                      strip_authorization: bool = False) -> web.StreamResponse:
        """Forward one HTTP request to a ready endpoint of a service (round robin).

        Like a proxy with connect-failure retries, a connection refused by a pod
        that is just going away is retried on the next endpoint before any byte
        of the request has reached a pod.
        """
        service = self.store.get("services", ns, name)
        if service is None:
            raise ApiError(404, "NotFound", f'services "{name}" not found')
        ports = service["spec"].get("ports") or []
        spec_port = next((p for p in ports if str(p["port"]) == port or p.get("name") == port),
                         ports[0] if ports and not port else None)
        if spec_port is None:
            raise ApiError(503, "ServiceUnavailable", f'no service port "{port}" on service "{name}"')
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        if strip_authorization:
            # The API server consumes the Kubernetes credentials and, like
            # kube-apiserver, does not pass them on to the proxied service.
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        endpoints = self.ready_endpoints(ns, service, spec_port)
        if not endpoints:
            raise ApiError(503, "ServiceUnavailable", f'no endpoints available for service "{name}"')
        self._rr += 1
        ordered = endpoints[self._rr % len(endpoints):] + endpoints[: self._rr % len(endpoints)]
        last_error: Exception | None = None
        for ip, target in ordered:
            url = f"http://{ip}:{target}/{path}"
            try:
                upstream = await self._http.request(request.method, url, params=request.query,
                                                    headers=headers, data=body, allow_redirects=False)
            except aiohttp.ClientConnectorError as err:
                last_error = err
                continue
            async with upstream:
                response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
                for key, value in upstream.headers.items():
                    if key.lower() not in HOP_HEADERS and key.lower() != "content-encoding":
                        response.headers.add(key, value)
                await response.prepare(request)
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
                await response.write_eof()
                return response
        raise ApiError(503, "ServiceUnavailable", f"no endpoint of service {name} answered: {last_error}")

    # -- events ----------------------------------------------------------
    def record_event(self, obj: dict, reason: str, message: str, type_: str = "Normal") -> None:
        meta = obj["metadata"]
        now = now_rfc3339()
        try:
            self.store.create("events", meta["namespace"], {
                "apiVersion": "v1", "kind": "Event",
                "metadata": {"name": f"{meta['name']}.{time.time_ns():x}"},
                "involvedObject": {"kind": obj.get("kind", ""), "name": meta["name"],
                                   "namespace": meta["namespace"], "uid": meta.get("uid"),
                                   "apiVersion": obj.get("apiVersion", "")},
                "reason": reason, "message": message, "type": type_, "count": 1,
                "firstTimestamp": now, "lastTimestamp": now,
                "source": {"component": "sandbox-controller"},
            })
        except ApiError:
            log.debug("event for %s not recorded", meta["name"])


class _ContainerConfigError(Exception):
    """The container cannot start until a referenced object exists."""


def _strip_host_and_port(args: list[str]) -> list[str]:
    """Drop --host/--port from the container args: the pod network decides them."""
    out, skip = [], False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg in ("--host", "--port"):
            skip = True
            continue
        if arg.startswith(("--host=", "--port=")):
            continue
        out.append(arg)
    return out
