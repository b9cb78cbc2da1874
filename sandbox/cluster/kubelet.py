"""The kubelet: pods are real LiteLLM processes.

* A pod is a LiteLLM process bound to its own loopback IP (127.x.y.z) on the
  containerPort, started with the container's args, its ConfigMap volumes
  copied into the pod directory (subPath mounts are a copy in Kubernetes too, so
  a ConfigMap change needs a restart), env from envFrom/env. A process that
  exits is restarted with the kubelet's back-off and shows CrashLoopBackOff.
* Readiness comes from the container's readinessProbe (httpGet) against the
  real process; pod status (phase, conditions, container state, restarts) is
  written back to the store.
* A terminating pod leaves the service endpoints before its process gets
  SIGTERM, and SIGKILL after the grace period.
"""

from __future__ import annotations

import asyncio
import base64
import os
import random
import signal
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import aiohttp

from ..store import Store, now_rfc3339
from .objects import condition, pod_terminating, record_event

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


class Kubelet:
    """Runs, probes, restarts and stops the pods' containers; writes pod status."""

    def __init__(self, store: Store, state_dir: Path, litellm_bin: str, kick: Callable[[], None]) -> None:
        self.store = store
        self.state_dir = state_dir
        self.litellm_bin = litellm_bin
        self.kick = kick  # ask the cluster for another reconcile pass
        self.pid_dir = state_dir / "pids"
        self.pid_dir.mkdir(parents=True, exist_ok=True)
        self.containers: dict[str, Container] = {}  # by pod uid
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=2))

    async def shutdown(self) -> None:
        await asyncio.gather(*(self._stop_container(c, grace=5.0) for c in list(self.containers.values())),
                             return_exceptions=True)
        if self._http:
            await self._http.close()

    async def reconcile(self) -> None:
        await self.reconcile_pods()
        self.reconcile_pod_status()

    async def reconcile_pods(self) -> None:
        pods = {p["metadata"]["uid"]: p for p in self.store.list("pods")}
        for uid, container in list(self.containers.items()):
            pod = pods.get(uid)
            if pod is None or pod_terminating(pod):
                if not container.stopping:
                    container.stopping = True
                    container.ready = False
                    asyncio.get_running_loop().create_task(self._finish_pod(container, pod))
        for uid, pod in pods.items():
            if uid not in self.containers and not pod_terminating(pod):
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
            record_event(self.store, pod, "BackOff", "Back-off restarting failed container", type_="Warning")
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
                except (aiohttp.ClientError, OSError):  # TimeoutError is an OSError
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
            if pod is None or pod_terminating(pod):
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
        cond = condition(conditions, type_)
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
