"""The kubelet: pods are real LiteLLM processes.

* A pod is a LiteLLM process bound to its own loopback IP (127.x.y.z) on the
  containerPort, started with the container's args, its ConfigMap/Secret volumes
  (with ``items``) copied into the pod directory (subPath mounts are a copy in
  Kubernetes too, so a ConfigMap change needs a restart), env from envFrom/env
  with ``$(VAR)`` expansion (see ``podspec``). A process that exits is restarted
  with the kubelet's back-off and shows CrashLoopBackOff.
* Probes run against the real process as the kubelet runs them: the
  startupProbe first (liveness and readiness wait for it; too many failures kill
  the container), then readinessProbe (endpoints) and livenessProbe (too many
  failures kill the container, which is restarted). Ports may be named. Pod
  status (phase, conditions, container state, restarts) is written back.
* A terminating pod leaves the service endpoints before its process gets
  SIGTERM, and SIGKILL after the grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import aiohttp

from ..store import Store, now_rfc3339
from . import podspec
from .objects import condition, pod_terminating, record_event

# The sandbox has no PostgreSQL. LiteLLM, given DATABASE_URL, tries to download
# the Prisma toolchain at start-up and stalls offline, so the kubelet leaves it
# out of the process environment (and says so in the pod log). Today's chart passes
# DATABASE_HOST/PORT/USER/NAME/PASSWORD instead (sandbox/componentized.py), from which its
# image's entrypoint assembles DATABASE_URL (litellm/proxy/db/db_url_settings.py); they are
# left out too. (LiteLLM 1.108.7's CLI alone would assemble it only with DATABASE_USERNAME,
# proxy/utils.py construct_database_url_from_env_vars; measured: with the chart's variables
# it starts without a database either way.)
DROPPED_ENV = (
    "DATABASE_URL",
    "DATABASE_HOST",
    "DATABASE_PORT",
    "DATABASE_USER",
    "DATABASE_NAME",
    "DATABASE_PASSWORD",
)

# Images that are not LiteLLM's proxy: the chart's ui (an nginx serving the static dashboard)
# runs as a process that answers 200 on / (sandbox/componentized.py).
STATIC_IMAGES = ("ghcr.io/berriai/litellm-ui",)

# Node-level environment every pod gets: without these LiteLLM start-up and
# token counting stall on blocked network calls (measured, see DESIGN.md).
NODE_ENV = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HUB_OFFLINE": "1"}

BACKOFF_INITIAL = 10.0  # kubelet's crash back-off starts at 10 s ...
BACKOFF_MAX = 300.0  # ... and doubles up to 5 min
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
    started: bool = False  # the startupProbe succeeded (or there is none)
    stopping: bool = False
    killing: str | None = None  # why the kubelet is stopping a running process (a failed probe)
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
        await asyncio.gather(
            *(self._stop_container(c, grace=5.0) for c in list(self.containers.values())), return_exceptions=True
        )
        if self._http:
            await self._http.close()

    async def reconcile(self) -> None:
        await self.reconcile_pods()
        self.reconcile_pod_status()

    async def reconcile_pods(self) -> None:
        pods = {p["metadata"]["uid"]: p for p in self.store.list("pods")}
        for uid, container in list(self.containers.items()):
            pod = pods.get(uid)
            if (pod is None or pod_terminating(pod)) and not container.stopping:
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
        """Volumes, env and args of the container; podspec.ConfigError while it cannot start."""
        spec = pod["spec"]
        c = spec["containers"][0]
        root = container.workdir / "root"
        volumes = {v["name"]: v for v in spec.get("volumes") or []}
        mount_map: dict[str, Path] = {}
        for volume_mount in c.get("volumeMounts") or []:
            volume = volumes.get(volume_mount["name"])
            if volume is None:
                continue
            files = podspec.volume_files(self.store, container.namespace, volume)
            if files is None:  # emptyDir and the like: an empty directory
                files = {}
            target = root / volume_mount["mountPath"].lstrip("/")
            for relative, content in podspec.mount(files, volume_mount).items():
                path = target / relative if relative else target
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content)
            if not files and not volume_mount.get("subPath"):
                target.mkdir(parents=True, exist_ok=True)
            mount_map[volume_mount["mountPath"]] = target
        env = podspec.container_env(self.store, pod, c)
        command, args = podspec.command_and_args(c, env)

        def in_pod(value: str) -> str:
            """A path inside the container, as the process sees it in the pod directory."""
            for mount_path, target in mount_map.items():
                if value == mount_path or value.startswith(mount_path.rstrip("/") + "/"):
                    return str(target) + value[len(mount_path) :]
            return value

        # Paths reach the process in args (--config) and in env (CONFIG_FILE_PATH, today's chart).
        return [in_pod(arg) for arg in command[1:] + args], {name: in_pod(value) for name, value in env.items()}

    async def _run_container(self, container: Container) -> None:
        """Start, watch and restart one container until its pod goes away."""
        backoff = BACKOFF_INITIAL
        while not container.stopping:
            pod = self.store.get("pods", container.namespace, container.pod)
            if pod is None:
                return
            try:
                args, env = self._materialize(container, pod)
            except podspec.ConfigError as err:
                if (container.waiting_reason, container.waiting_message) != (err.reason, str(err)):
                    record_event(self.store, pod, err.event, str(err), type_="Warning")
                container.waiting_reason = err.reason
                container.waiting_message = str(err) if err.reason != "ContainerCreating" else None
                self.kick()
                await asyncio.sleep(2)
                continue
            env.setdefault("HOSTNAME", container.pod)  # the container runtime sets it to the pod's hostname
            started = time.monotonic()
            image = str(pod["spec"]["containers"][0].get("image", ""))
            await self._start_process(container, args, env, static=image.startswith(STATIC_IMAGES))
            probe = asyncio.get_running_loop().create_task(self._probe(container, pod))
            code = await container.process.wait()
            probe.cancel()
            container.ready = container.started = False
            self._forget_pid(container)
            finished = now_rfc3339()
            if container.stopping:
                return
            if code < 0:  # killed by a signal: the runtime reports 128 + the signal number
                code = 128 - code
            container.last_terminated = {
                "exitCode": code,
                "reason": "Completed" if code == 0 else "Error",
                "startedAt": container.started_at,
                "finishedAt": finished,
            }
            container.killing = None
            container.restart_count += 1
            if time.monotonic() - started > 600:
                backoff = BACKOFF_INITIAL
            container.waiting_reason = "CrashLoopBackOff"
            container.waiting_message = (
                f"back-off {int(backoff)}s restarting failed container=litellm "
                f"pod={container.pod}_{container.namespace}"
            )
            container.process = None
            record_event(self.store, pod, "BackOff", "Back-off restarting failed container", type_="Warning")
            self.kick()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)

    async def _start_process(
        self, container: Container, args: list[str], env: dict[str, str], static: bool = False
    ) -> None:
        logfile = (container.workdir / "log").open("ab")
        dropped = [name for name in DROPPED_ENV if name in env]
        if dropped:
            logfile.write(f"[sandbox kubelet] not passing {', '.join(dropped)}: the sandbox has no database\n".encode())
        process_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(container.workdir),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            **NODE_ENV,
            **{k: v for k, v in env.items() if k not in DROPPED_ENV},
        }
        # The container binds its pod IP on the containerPort, as in a pod network.
        command = [self.litellm_bin, *_strip_host_and_port(args), "--host", container.ip, "--port", str(container.port)]
        if static:
            site = container.workdir / "site"
            site.mkdir(exist_ok=True)
            (site / "index.html").write_text("<!doctype html><title>LiteLLM UI (sandbox stand-in)</title>\n")
            # The pod directory's path names the pod, so `sandbox down` still knows it for one of ours.
            command = [sys.executable, "-m", "http.server", str(container.port), "--bind", container.ip]
            command += ["--directory", str(site)]
        container.process = await asyncio.create_subprocess_exec(
            *command,
            cwd=container.workdir,
            env=process_env,
            stdout=logfile,
            stderr=logfile,
            stdin=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )
        logfile.close()
        (self.pid_dir / f"{container.process.pid}.pid").write_text(str(self.state_dir.resolve()))
        container.started_at = now_rfc3339()
        container.waiting_reason = container.waiting_message = None
        self.kick()

    def _forget_pid(self, container: Container) -> None:
        if container.process is not None:
            (self.pid_dir / f"{container.process.pid}.pid").unlink(missing_ok=True)

    async def _check(self, container: Container, spec: dict, probe: dict) -> tuple[bool, str]:
        """One probe run against the real process: (success, what failed)."""
        timeout = probe.get("timeoutSeconds", 1)
        if "httpGet" in probe:
            http_get = probe["httpGet"]
            try:
                port = podspec.probe_port(spec, http_get.get("port"))
            except ValueError as err:
                return False, str(err)
            scheme = http_get.get("scheme", "HTTP").lower()
            host = http_get.get("host") or container.ip
            url = f"{scheme}://{host}:{port}{http_get.get('path', '/')}"
            headers = {"User-Agent": "kube-probe/1.32", "Accept": "*/*"}
            headers.update({h["name"]: h["value"] for h in http_get.get("httpHeaders") or []})
            try:
                async with self._http.get(
                    url, headers=headers, ssl=False, allow_redirects=False, timeout=aiohttp.ClientTimeout(total=timeout)
                ) as resp:
                    if 200 <= resp.status < 400:
                        return True, ""
                    return False, f"HTTP probe failed with statuscode: {resp.status}"
            except asyncio.TimeoutError:
                return False, (
                    f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)'
                )
            except (aiohttp.ClientError, OSError) as err:
                return False, f'Get "{url}": {err}'
        if "tcpSocket" in probe:
            try:
                port = podspec.probe_port(spec, probe["tcpSocket"].get("port"))
                _, writer = await asyncio.wait_for(
                    asyncio.open_connection(probe["tcpSocket"].get("host") or container.ip, port), timeout
                )
                writer.close()
                return True, ""
            except (ValueError, OSError, asyncio.TimeoutError) as err:
                return False, f"dial tcp {container.ip}: {err}"
        # exec (and gRPC) probes cannot run without a container image: the
        # process being alive is all the sandbox can tell.
        return container.process is not None and container.process.returncode is None, "process exited"

    async def _probe(self, container: Container, pod: dict) -> None:
        """The container's probes, as the kubelet's prober runs them.

        The startupProbe runs first, every periodSeconds from initialDelaySeconds
        (no faster: nothing triggers it early); while it has not succeeded the
        container is not started and the other probes do not run. failureThreshold
        failures in a row kill the container. Then readiness and liveness run side
        by side.
        """
        spec = pod["spec"]["containers"][0]
        startup = spec.get("startupProbe")
        if startup:
            await asyncio.sleep(startup.get("initialDelaySeconds", 0))
            failures = 0
            while True:
                ok, why = await self._check(container, spec, startup)
                if ok:
                    break
                failures += 1
                if failures >= startup.get("failureThreshold", 3):
                    await self._kill_for_probe(container, pod, "Startup", why, startup)
                    return
                await asyncio.sleep(startup.get("periodSeconds", 10))
        container.started = True
        self.kick()
        tasks = [asyncio.get_running_loop().create_task(self._readiness(container, spec))]
        if spec.get("livenessProbe"):
            tasks.append(
                asyncio.get_running_loop().create_task(self._liveness(container, pod, spec, spec["livenessProbe"]))
            )
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()

    async def _readiness(self, container: Container, spec: dict) -> None:
        probe = spec.get("readinessProbe")
        if not probe:  # no readinessProbe: ready once started
            container.ready = True
            self.kick()
            return
        period = probe.get("periodSeconds", 10)
        await asyncio.sleep(probe.get("initialDelaySeconds", 0))
        successes = failures = 0
        while True:
            ok, _ = await self._check(container, spec, probe)
            if ok:
                successes, failures = successes + 1, 0
                if successes >= probe.get("successThreshold", 1) and not container.ready:
                    container.ready = True
                    self.kick()
            else:
                successes, failures = 0, failures + 1
                if failures >= probe.get("failureThreshold", 3) and container.ready:
                    container.ready = False
                    self.kick()
            # Until the first success the kubelet re-runs the readiness probe on
            # every pod status sync (prober_manager.UpdatePodStatus triggers it),
            # so readiness shows without waiting a whole period; then at the period.
            await asyncio.sleep(period if container.ready else min(period, 0.5))

    async def _liveness(self, container: Container, pod: dict, spec: dict, probe: dict) -> None:
        await asyncio.sleep(probe.get("initialDelaySeconds", 0))
        failures = 0
        while True:
            ok, why = await self._check(container, spec, probe)
            failures = 0 if ok else failures + 1
            if failures >= probe.get("failureThreshold", 3):
                await self._kill_for_probe(container, pod, "Liveness", why, probe)
                return
            await asyncio.sleep(probe.get("periodSeconds", 10))

    async def _kill_for_probe(self, container: Container, pod: dict, kind: str, why: str, probe: dict) -> None:
        """A failed startup or liveness probe: SIGTERM, SIGKILL after the grace period; then a restart."""
        name = pod["spec"]["containers"][0]["name"]
        record_event(self.store, pod, "Unhealthy", f"{kind} probe failed: {why}", type_="Warning")
        record_event(self.store, pod, "Killing", f"Container {name} failed {kind.lower()} probe, will be restarted")
        container.ready = False
        container.killing = kind
        self.kick()
        process = container.process
        if process is None or process.returncode is not None:
            return
        grace = float(
            probe.get("terminationGracePeriodSeconds") or pod["spec"].get("terminationGracePeriodSeconds", 30)
        )
        try:
            os.killpg(process.pid, signal.SIGTERM)
            await asyncio.wait_for(asyncio.shield(process.wait()), timeout=grace)
        except ProcessLookupError:
            return
        except asyncio.TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

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
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
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
            cstatus = {
                "name": pod["spec"]["containers"][0]["name"],
                "image": pod["spec"]["containers"][0].get("image", ""),
                "ready": container.ready,
                "started": running and container.started,
                "restartCount": container.restart_count,
                "state": state,
            }
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
            conditions.append({"type": type_, "status": status, "lastProbeTime": None, "lastTransitionTime": now})
        elif cond["status"] != status:
            cond.update(status=status, lastTransitionTime=now)

    def pod_log(self, namespace: str, pod: str, container: str | None, tail_lines: int | None) -> str | None:
        path = self.state_dir / "pods" / namespace / pod / "log"
        if not path.exists():
            return None
        lines = path.read_text(errors="replace").splitlines(keepends=True)
        return "".join(lines[-tail_lines:] if tail_lines else lines)


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
