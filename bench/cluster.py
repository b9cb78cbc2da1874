"""What the bench reads from the sandbox's API server, with its own token.

``Api`` reads the request counts (``/sandbox/metrics``, compared with ``metrics_delta``) and the
ConfigMap; ``Watcher`` watches pods and the Deployment, so that a rollout can be timed from the
new pod's Ready flip.
"""

from __future__ import annotations

import datetime
import json
import threading
import time
import urllib.request

from tests.conftest import Sandbox

NAMESPACE = "ml"
DEPLOYMENT = "litellm"
CONFIGMAP = "litellm-config"
CONFIG_KEY = "config.yaml"


def parse_time(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()


class Api:
    """The sandbox API server, read with the bench's own token (its requests are counted)."""

    def __init__(self, box: Sandbox) -> None:
        self.url = box.api_url
        self.token = box.token
        self.ssl = box.api_ssl

    def open(self, path: str, timeout: float = 30):
        request = urllib.request.Request(self.url + path, headers={"Authorization": "Bearer " + self.token})
        return urllib.request.urlopen(request, context=self.ssl, timeout=timeout)

    def json(self, path: str) -> dict:
        with self.open(path) as response:
            return json.loads(response.read())

    def metrics(self) -> dict:
        return self.json("/sandbox/metrics")

    def config_text(self) -> str:
        return self.json("/api/v1/namespaces/%s/configmaps/%s" % (NAMESPACE, CONFIGMAP))["data"][CONFIG_KEY]


def metrics_delta(before: dict, after: dict, own_watches: int = 0) -> dict:
    verbs = set(before["requests"]) | set(after["requests"])
    delta = {verb: after["requests"].get(verb, 0) - before["requests"].get(verb, 0) for verb in verbs}
    if own_watches and delta.get("watch"):
        delta["watch"] -= own_watches
    delta = {verb: count for verb, count in sorted(delta.items()) if count}
    return {"total": sum(delta.values()), "by_verb": delta}


class Watcher:
    """Watches pods and the Deployment; records when each pod turned Ready, was deleted, went away.

    Times are time.time() on receipt of the event (the API server pushes events
    as they happen), so they compare with the callback's task end times.
    """

    def __init__(self, api: Api) -> None:
        self.api = api
        self.lock = threading.Lock()
        self.pods: dict[str, dict] = {}
        self.deployment_complete: list[tuple[float, int]] = []  # (time, generation) status turned complete
        self.opened = 0
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(kind,), daemon=True) for kind in ("pods", "deployments")
        ]

    def start(self) -> Watcher:
        for thread in self._threads:
            thread.start()
        deadline = time.monotonic() + 10
        while self.opened < len(self._threads) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # the initial events, so that the first run's requests are its own
        return self

    def stop(self) -> None:
        # The streams end when the sandbox stops (closing one here would block on the
        # reading thread's buffer lock); the threads are daemons.
        self._stop.set()

    def _run(self, kind: str) -> None:
        group = "/apis/apps/v1" if kind == "deployments" else "/api/v1"
        version = ""
        while not self._stop.is_set():
            path = "%s/namespaces/%s/%s?watch=true&timeoutSeconds=1800" % (group, NAMESPACE, kind)
            if version:
                path += "&resourceVersion=" + version
            try:
                self.opened += 1
                response = self.api.open(path, timeout=1900)
                while not self._stop.is_set():
                    line = response.readline()
                    if not line:
                        break
                    now = time.time()
                    event = json.loads(line)
                    obj = event.get("object") or {}
                    version = (obj.get("metadata") or {}).get("resourceVersion") or version
                    if kind == "pods":
                        self._pod_event(now, event["type"], obj)
                    else:
                        self._deployment_event(now, obj)
            except Exception:  # a dropped stream is reopened
                if self._stop.is_set():
                    return
                time.sleep(0.2)

    def _pod_event(self, now: float, type_: str, pod: dict) -> None:
        meta = pod.get("metadata") or {}
        name = meta.get("name")
        if not name:
            return
        with self.lock:
            record = self.pods.setdefault(
                name,
                {
                    "name": name,
                    "seen": now,
                    "created": parse_time(meta.get("creationTimestamp")),
                    "hash": (meta.get("labels") or {}).get("pod-template-hash"),
                    "ready": None,
                    "ready_transition": None,
                    "deleting": None,
                    "gone": None,
                },
            )
            ready = next((c for c in (pod.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), {})
            if ready.get("status") == "True" and record["ready"] is None:
                record["ready"] = now
                record["ready_transition"] = parse_time(ready.get("lastTransitionTime"))
            if meta.get("deletionTimestamp") and record["deleting"] is None:
                record["deleting"] = now
            if type_ == "DELETED":
                record["gone"] = now

    def _deployment_event(self, now: float, deployment: dict) -> None:
        if (deployment.get("metadata") or {}).get("name") != DEPLOYMENT:
            return
        meta, spec, status = (deployment.get(k) or {} for k in ("metadata", "spec", "status"))
        desired = spec.get("replicas", 1)
        complete = (
            status.get("observedGeneration", 0) >= meta.get("generation", 0)
            and status.get("updatedReplicas", 0)
            == status.get("replicas", 0)
            == status.get("availableReplicas", 0)
            == desired
        )
        with self.lock:
            if complete and (not self.deployment_complete or self.deployment_complete[-1][1] != meta.get("generation")):
                self.deployment_complete.append((now, meta.get("generation")))

    def snapshot(self) -> tuple[set[str], set[str]]:
        """(every pod seen so far, the live ones among them)."""
        with self.lock:
            return set(self.pods), {name for name, pod in self.pods.items() if pod["gone"] is None}

    def new_pods(self, before: set[str]) -> list[dict]:
        with self.lock:
            return [dict(pod) for name, pod in self.pods.items() if name not in before]

    def pod(self, name: str) -> dict:
        with self.lock:
            return dict(self.pods[name])

    def wait_settled(self, timeout: float = 120) -> bool:
        """Until exactly one pod is left, Ready and not terminating."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                live = [pod for pod in self.pods.values() if pod["gone"] is None]
                if len(live) == 1 and live[0]["ready"] and not live[0]["deleting"]:
                    return True
            time.sleep(0.1)
        return False
