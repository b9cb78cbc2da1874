"""Benchmarks of homelab.litellm on one sandbox, side by side with a plain kubernetes.core peer.

    .venv/bin/python bench/run.py [--runs 5] [--rollouts 3] [--out bench/results.json]

A benchmark, not a test: it measures and reports, and fails only when a playbook or the sandbox
fails (a no-op run that changes something counts as failing), never because a target was missed
or the machine was slow. Three contenders run on the same sandbox, interleaved in every round
(floor, peer, ours), so that a machine that gets slower or faster during the bench shifts all
three:

- floor: the least any tool can do. For a no-op, an ``ansible-playbook`` with one
  ``kubernetes.core.k8s_info`` task; for a change, ``kubectl rollout restart`` + ``rollout
  status`` (LiteLLM's own restart-to-ready, nothing else);
- peer: ``bench/peer.yml``, the same job written by hand with kubernetes.core (read the
  ConfigMap, merge, write it, patch the Secret, restart on change, wait), given the same model
  entries and router settings as ours wrote on its first run, so both converge on one config;
- ours: ``playbooks/site.yml`` (the homelab.litellm role) with the sandbox inventory.

Figures, each as median and min-max over the runs, with the issue's targets (PASS/MISS):

1. no-op (nothing to change): wall time of each; ours/floor (target at most 1.3x) and
   ours/peer (target below 0.6x); module invocations (ours: one) and API requests
   (the sandbox's ``/sandbox/metrics`` before/after) of each;
2. adding one model: wall time of each, under a steady request load; ours minus the restart
   floor (target at most 3 s); failed requests of that load (goal 0); readiness lag, from the
   new pod's Ready flip (seen on a watch) to the rollout step returning (a callback plugin
   writes each task's end; ours is one task, whose report times each of its steps);
3. planning: ``plan_config`` on a config with 1,000 models, adding one and unchanged (target
   at most 300 ms each), and its peak memory (tracemalloc).

Module invocations are counted by a logging interpreter wrapper (``ansible_python_interpreter``
for every run): it reads the module's name from the AnsiballZ payload, whether Ansible passes
it as a file or, with pipelining (the role, the peer and the floor all use it), on stdin,
which the wrapper hands on through an in-memory file. Action plugins that run on the
controller (set_fact, debug, litellm_report) start no module and are not counted.

The bench sets no role variables beyond the sandbox inventory: the presets' free-tier limits
are safe for its own requests. A no-op run sends no smoke request (smoke scope "changed"),
the first run one per preset model, each add-model run one to its new model (which has no
limit); the load goes to the chain model vllm-qwen, which has none; and the fake providers
enforce no limit unless providers.json says so (the sandbox the bench starts has none). The
table reports the providers' 429 answers, so a limit that was hit shows.

bench/results.json holds every sample, the commit and a digest of the uncommitted changes it
measured. Before/after a change of the modules: ``bench/run.py --modules-at REF --out
/tmp/before.json`` measures plugins/modules and plugins/module_utils as they are at git REF,
everything else (roles, filters, the bench) as in the working tree; then ``make bench``. The
sandbox runs in a temporary directory and is stopped at the end, also on error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import io
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import tracemalloc
import urllib.request
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
PYTHON = REPO / ".venv" / "bin" / "python"
ANSIBLE_PLAYBOOK = REPO / ".venv" / "bin" / "ansible-playbook"
KUBECTL = os.environ.get("KUBECTL", "/usr/bin/kubectl")
NAMESPACE = "ml"
DEPLOYMENT = "litellm"
CONFIGMAP = "litellm-config"
CONFIG_KEY = "config.yaml"
SITE_PLAYBOOK = "playbooks/site.yml"
PEER_PLAYBOOK = "bench/peer.yml"
# The peer's last task restarts on change and waits for the rollout.
PEER_RESTART_TASK = "Restart LiteLLM"

sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / ".collections"))

from tests.conftest import Sandbox, Trickle  # noqa: E402  (the tests' own helpers)

# The targets; a miss is reported, it does not fail the bench.
NOOP_OVER_FLOOR = 1.3  # ours / floor, at most
NOOP_OVER_PEER = 0.6  # ours / peer, below
NOOP_MODULES = 1  # module invocations of a no-op, at most
ADD_OVER_FLOOR = 3.0  # seconds over the restart-to-ready floor, at most
PLAN_MS = 300.0  # plan_config on 1,000 models, at most

FLOOR_PLAYBOOK = """\
# The floor of a no-op run: one kubernetes.core module invocation against the same API.
- name: Floor
  hosts: litellm
  gather_facts: false
  vars:
    ansible_pipelining: true
  tasks:
    - name: Read the LiteLLM ConfigMap
      kubernetes.core.k8s_info:
        kubeconfig: "{{ litellm_kubeconfig }}"
        kind: ConfigMap
        namespace: ml
        name: litellm-config
"""

INTERPRETER_WRAPPER = '''\
#!%(python)s -IS
"""bench: log each module invocation (its name, from the AnsiballZ payload), then run it.

Without pipelining Ansible runs `python .../AnsiballZ_NAME.py`; with pipelining it runs
`python` with the payload on stdin, which is handed on in an in-memory file (the module's
arguments, keys included, never touch the disk).
"""
import os
import re
import sys

PYTHON = %(python)r
if len(sys.argv) > 1:
    with open(sys.argv[1], "rb") as handle:
        payload = handle.read()
    mode, args = "file", [PYTHON, *sys.argv[1:]]
else:
    payload = sys.stdin.buffer.read()
    memory = os.memfd_create("ansiballz")
    view = memoryview(payload)
    while view:
        view = view[os.write(memory, view):]
    os.lseek(memory, 0, os.SEEK_SET)
    os.dup2(memory, 0)
    os.close(memory)
    mode, args = "pipelined", [PYTHON]
found = re.search(rb"module_fqn='([^']+)'", payload)
name = found.group(1).decode() if found else "unknown"
name = name.replace("ansible_collections.", "").replace(".plugins.modules.", ".").replace("ansible.modules.",
                                                                                          "ansible.builtin.")
with open(os.environ["BENCH_MODULE_LOG"], "a") as log:
    log.write("%%s %%s\\n" %% (mode, name))
os.execv(PYTHON, args)
'''


def tree_state() -> dict:
    """Which code was measured: the commit and a digest of the uncommitted changes (read-only git)."""

    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            return ""

    status = git("status", "--porcelain")
    return {
        "commit": git("rev-parse", "HEAD").strip(),
        "dirty_files": [line[3:] for line in status.splitlines()],
        "diff_sha256": hashlib.sha256(git("diff").encode()).hexdigest()[:16],
    }


# The module code: --modules-at REF measures it as it is at REF, everything else as in the working
# tree, for a before/after comparison of a change of the modules.
MODULE_DIRS = ("plugins/modules", "plugins/module_utils")


def collection_with_modules_at(ref: str, work: Path) -> str:
    """A copy of the collection in `work` with MODULE_DIRS from git `ref` (read-only git)."""
    root = work / "collections"
    tree = root / "ansible_collections" / "homelab" / "litellm"
    tree.mkdir(parents=True)
    for name in ("plugins", "roles", "meta"):
        shutil.copytree(REPO / name, tree / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "galaxy.yml", tree / "galaxy.yml")
    archive = subprocess.run(["git", "archive", "--format=tar", ref, *MODULE_DIRS], cwd=REPO, capture_output=True)
    if archive.returncode != 0:
        raise SystemExit("git archive %s failed: %s" % (ref, archive.stderr.decode().strip()))
    for path in MODULE_DIRS:
        shutil.rmtree(tree / path)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(tree, filter="data")
    return str(root)


def log(message: str) -> None:
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), message), flush=True)


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


class Bench:
    def __init__(self, state_dir: Path, work: Path, collections_path: str | None = None) -> None:
        self.collections_path = collections_path
        self.tmpdir = work / "tmp"
        self.tmpdir.mkdir(exist_ok=True)
        self.state_dir = state_dir
        self.work = work
        self.box = Sandbox(state_dir)
        self.api = Api(self.box)
        self.module_log = work / "modules.log"
        self.wrapper = work / "python"
        self.wrapper.write_text(INTERPRETER_WRAPPER % {"python": str(PYTHON)})
        self.wrapper.chmod(0o755)
        self.floor_playbook = work / "floor.yml"
        self.floor_playbook.write_text(FLOOR_PLAYBOOK)
        self.peer_vars_file = work / "peer-vars.json"
        self.peer_models: list[dict] = []
        self.groq_api_base = json.loads((state_dir / "provider-api-bases.json").read_text())["groq"]
        self.failures: list[str] = []
        self.watcher: Watcher | None = None

    def env(self, timing_file: Path) -> dict:
        env = dict(
            os.environ,
            SANDBOX_DIR=str(self.state_dir),
            ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_CALLBACK_PLUGINS=str(REPO / "bench" / "callback_plugins"),
            ANSIBLE_CALLBACKS_ENABLED="bench_timing",
            BENCH_TIMING_FILE=str(timing_file),
            BENCH_MODULE_LOG=str(self.module_log),
        )
        if self.collections_path:
            env["ANSIBLE_COLLECTIONS_PATH"] = self.collections_path
        # kubernetes.core caches API discovery in the temp directory (k8srcp-*.json, by server):
        # a fresh one per bench makes the first run a real first contact, and leaves /tmp alone.
        env["TMPDIR"] = str(self.tmpdir)
        return env

    def playbook(self, label: str, playbook: str, *args: str) -> dict:
        """One ansible-playbook run: wall time, module invocations, API requests, per-task times."""
        timing_file = self.work / ("timing-%s-%d.jsonl" % (label, time.monotonic_ns()))
        self.module_log.write_text("")
        own_watches = self.watcher.opened if self.watcher else 0
        pods_before, _live = self.watcher.snapshot() if self.watcher else (set(), set())
        before = self.api.metrics()
        started = time.monotonic()
        wall_started = time.time()
        completed = subprocess.run(
            [str(ANSIBLE_PLAYBOOK), playbook, "-e", "ansible_python_interpreter=%s" % self.wrapper, *args],
            capture_output=True,
            text=True,
            env=self.env(timing_file),
            cwd=REPO,
            timeout=900,
        )
        wall = time.monotonic() - started
        after = self.api.metrics()
        own_watches = (self.watcher.opened if self.watcher else 0) - own_watches
        invocations = [line.split(" ", 1) for line in self.module_log.read_text().splitlines() if line.strip()]
        modules = [name for _mode, name in invocations]
        tasks = []
        if timing_file.exists():
            tasks = [json.loads(line) for line in timing_file.read_text().splitlines() if line.strip()]
        results = [t for t in tasks if t.get("event") == "result"]
        playbook_start = next((t["time"] for t in tasks if t.get("event") == "playbook_start"), None)
        run = {
            "label": label,
            "rc": completed.returncode,
            "wall": wall,
            "started_at": wall_started,
            "startup": playbook_start - wall_started if playbook_start else None,
            "module_invocations": len(modules),
            "pipelined_invocations": sum(1 for mode, _name in invocations if mode == "pipelined"),
            "module_counts": {name: modules.count(name) for name in sorted(set(modules))},
            "tasks_run": sum(1 for t in results if t["status"] != "skipped"),
            "changed": [t["task"] for t in results if t["changed"]],
            "new_pods": sorted(pod["name"] for pod in self.watcher.new_pods(pods_before)) if self.watcher else [],
            "requests": metrics_delta(before, after, own_watches),
            "tasks": results,
        }
        if completed.returncode != 0:
            self.failures.append("%s: ansible-playbook exited %d" % (label, completed.returncode))
            log(
                "%s FAILED (rc %d):\n%s\n%s"
                % (label, completed.returncode, completed.stdout[-3000:], completed.stderr[-2000:])
            )
        return run

    def site(self, label: str, *args: str) -> dict:
        return self.playbook(label, SITE_PLAYBOOK, *args)

    def peer(self, label: str, *args: str) -> dict:
        return self.playbook(label, PEER_PLAYBOOK, "-e", "@%s" % self.peer_vars_file, *args)

    def floor(self, label: str) -> dict:
        return self.playbook(label, str(self.floor_playbook))

    def kubectl(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return self.box.kubectl("-n", NAMESPACE, *args, timeout=timeout)

    def give_peer_what_ours_wrote(self, before_text: str, after_text: str) -> dict:
        """The peer's desired state: the model entries and router settings ours' first run wrote."""
        from ansible_collections.homelab.litellm.plugins.module_utils._config_schema import is_managed

        before, after = yaml.safe_load(before_text), yaml.safe_load(after_text)
        self.peer_models = [entry for entry in after.get("model_list") or [] if is_managed(entry)]
        settings_before = before.get("router_settings") or {}
        router = {k: v for k, v in (after.get("router_settings") or {}).items() if settings_before.get(k) != v}
        peer_vars = {"peer_models": self.peer_models, "peer_router_settings": router}
        self.peer_vars_file.write_text(json.dumps(peer_vars))
        return peer_vars

    def new_model(self, name: str) -> dict:
        """A model entry on a model the fake Groq serves, without limits (its smoke request is its only one)."""
        return {
            "model_name": name,
            "litellm_params": {
                "model": "groq/openai/gpt-oss-120b",
                "api_base": self.groq_api_base,
                "api_key": "os.environ/GROQ_API_KEY",
            },
        }


def task_end(run: dict, match) -> dict | None:
    return next((t for t in run["tasks"] if match(t) and t["status"] != "skipped"), None)


def task_time(run: dict, action_suffix: str, field: str = "duration") -> float | None:
    task = task_end(run, lambda t: t["action"].endswith(action_suffix))
    if task is None:
        return None
    return task["end"] - task["start"] if field == "duration" else task.get(field)


# -- the measurements --------------------------------------------------------------------------
def warm_up(bench: Bench) -> dict:
    """One run of each before anything is measured: caches, and the peer's first write.

    The peer rewrites config.yaml in its own format (comments dropped) and adds its digest
    annotation, so its first run rolls LiteLLM; ours then sees a config it did not verify and
    verifies (and rolls) once. After that both are no-ops on the same config.
    """
    bench.kubectl("get", "deployment", DEPLOYMENT)  # kubectl's discovery cache, for the restart floor
    runs = {"floor": bench.floor("warm-up-floor"), "peer": bench.peer("warm-up-peer")}
    bench.watcher.wait_settled()
    runs["ours"] = bench.site("warm-up-ours")
    bench.watcher.wait_settled()
    log(
        "warm-up: floor %.2fs, peer %.2fs (changed: %s), ours %.2fs (changed: %s)"
        % (
            runs["floor"]["wall"],
            runs["peer"]["wall"],
            ", ".join(runs["peer"]["changed"]) or "nothing",
            runs["ours"]["wall"],
            ", ".join(runs["ours"]["changed"]) or "nothing",
        )
    )
    return runs


def bench_noop(bench: Bench, runs: int) -> dict:
    """No-op runs of the floor, the peer and ours, interleaved."""
    samples = {"floor": [], "peer": [], "ours": []}
    for index in range(runs):
        samples["floor"].append(bench.floor("noop-floor"))
        samples["peer"].append(bench.peer("noop-peer"))
        samples["ours"].append(bench.site("noop-ours"))
        log(
            "no-op %d/%d: floor %.2fs, peer %.2fs (%d modules), ours %.2fs (%d modules, %d requests)"
            % (
                index + 1,
                runs,
                samples["floor"][-1]["wall"],
                samples["peer"][-1]["wall"],
                samples["peer"][-1]["module_invocations"],
                samples["ours"][-1]["wall"],
                samples["ours"][-1]["module_invocations"],
                samples["ours"][-1]["requests"]["total"],
            )
        )
    for run in samples["peer"] + samples["ours"]:
        if run["changed"] or run["new_pods"]:
            bench.failures.append(
                "%s: a no-op run changed something (tasks: %s; new pods: %s)"
                % (run["label"], ", ".join(run["changed"]) or "none", ", ".join(run["new_pods"]) or "none")
            )
    return samples


def rollout_sample(bench: Bench, label: str, action, *args) -> dict:
    """One rollout under a steady request load: `action(bench, *args)` returns (run, when its rollout step returned)."""
    before, live = bench.watcher.snapshot()
    with Trickle(bench.box, interval=0.1) as load:
        run, returned = action(bench, *args)
        # Keep the load on until the old pod is gone: its shutdown is part of the rollout.
        bench.watcher.wait_settled()
    run.update(label=label, load_ok=load.ok, load_failed=len(load.failures), load_failures=load.failures[:5])
    new_pod = next((p for p in bench.watcher.new_pods(before) if p.get("ready")), None)
    lag = {}
    if new_pod and returned:
        lag = {
            "ready_to_return": returned - new_pod["ready"],
            "pod_start_to_ready": new_pod["ready"] - new_pod["seen"],
        }
        gone = [pod["gone"] for pod in (bench.watcher.pod(name) for name in live) if pod.get("gone")]
        if gone:
            lag["ready_to_old_pod_gone"] = max(gone) - new_pod["ready"]
        complete = [t for t, _gen in bench.watcher.deployment_complete if t >= new_pod["ready"] - 0.5]
        if complete:
            lag["ready_to_status_complete"] = complete[0] - new_pod["ready"]
    else:
        bench.failures.append("%s: no rollout step returned or no new Ready pod seen" % label)
    run["lag"] = lag
    run["returned"] = returned
    return run


def restart_floor(bench: Bench) -> tuple[dict, float]:
    """kubectl rollout restart + rollout status: LiteLLM's restart-to-ready, nothing else."""
    before = bench.api.metrics()
    started = time.monotonic()
    bench.kubectl("rollout", "restart", "deployment/" + DEPLOYMENT)
    bench.kubectl("rollout", "status", "deployment/" + DEPLOYMENT, "--timeout=240s", timeout=300)
    returned = time.time()
    wall = time.monotonic() - started
    return {"wall": wall, "requests": metrics_delta(before, bench.api.metrics())}, returned


def peer_add_model(bench: Bench, name: str) -> tuple[dict, float | None]:
    models = [*bench.peer_models, bench.new_model(name)]
    run = bench.peer("add-peer", "-e", json.dumps({"peer_models": models}))
    restart = task_end(run, lambda t: t["task"].startswith(PEER_RESTART_TASK))
    return run, restart["end"] if restart else None


def ours_add_model(bench: Bench, name: str) -> tuple[dict, float | None]:
    run = bench.site("add-ours", "-e", json.dumps({"litellm_parallel_models": [bench.new_model(name)]}))
    apply = task_end(run, lambda t: t["action"].endswith("litellm_apply"))
    if not apply:
        return run, None
    # One task does the whole run: its report times each step, so the rollout step returned when the
    # steps after it (verify, record) began.
    steps = json.loads((bench.box.state_dir / "last-run.json").read_text()).get("steps") or []
    names = [step["step"] for step in steps]
    if "rollout" not in names:
        return run, None
    after = sum(step["seconds"] for step in steps[names.index("rollout") + 1 :])
    returned = apply["end"] - after
    run["rollout_to_end"] = run["tasks"][-1]["end"] - returned
    run["steps"] = steps
    return run, returned


def bench_rollouts(bench: Bench, rollouts: int) -> dict:
    """Each round: the restart floor, the peer adding one model, ours adding one model."""
    samples = {"floor": [], "peer": [], "ours": []}
    for index in range(rollouts):
        stamp = int(time.time())
        samples["floor"].append(rollout_sample(bench, "restart-floor", restart_floor))
        samples["peer"].append(rollout_sample(bench, "add-peer", peer_add_model, "bench/peer-%d-%d" % (index, stamp)))
        samples["ours"].append(rollout_sample(bench, "add-ours", ours_add_model, "bench/ours-%d-%d" % (index, stamp)))
        log(
            "rollout %d/%d: floor %.2fs, peer %.2fs, ours %.2fs; failed requests %d / %d / %d"
            % (
                index + 1,
                rollouts,
                *(samples[who][-1]["wall"] for who in ("floor", "peer", "ours")),
                *(samples[who][-1]["load_failed"] for who in ("floor", "peer", "ours")),
            )
        )
    return samples


def bench_plan(repeats: int = 3, models: int = 1000) -> dict:
    """plan_config on a config with `models` models, called as the role calls it.

    The story's three chain models plus managed parallel ones with limits, and the router settings
    the default rate-limit mode asks for (a retry policy per limited model). "add one": every
    parallel model plus a new one; "unchanged": the call of a no-op run.
    """
    from ansible_collections.homelab.litellm.plugins.module_utils import _config_plan as cp
    from ansible_collections.homelab.litellm.plugins.module_utils import _rate_limits as rl

    from sandbox import seed

    def entry(name, limits):
        params = {"model": name, "api_base": "http://127.0.0.1:9/groq/openai/v1", "api_key": "os.environ/GROQ_API_KEY"}
        return {"model_name": name, "litellm_params": dict(params, **limits), "model_info": {"free_tier_rpd": 1000}}

    parallel = [entry("groq/bench-%04d" % i, {"rpm": 30, "tpm": 8000}) for i in range(models - 3)]
    wanted = [*parallel, entry("groq/bench-new", {})]
    settings = rl.rate_limit_router_settings(parallel, "throttle")
    current = cp.plan_config(seed.before_config("http://127.0.0.1:9"), parallel, router_settings=settings).after

    def timed(desired):
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            plan = cp.plan_config(current, desired, router_settings=settings)
            times.append(time.perf_counter() - started)
        tracemalloc.start()
        cp.plan_config(current, desired, router_settings=settings)
        _size, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return {"seconds": times, "peak_bytes": peak, "changed": plan.changed, "added": plan.added}

    return {
        "config_models": len(yaml.safe_load(current)["model_list"]),
        "config_bytes": len(current.encode()),
        "add_one": timed(wanted),
        "unchanged": timed(parallel),
    }


def provider_answers(state_dir: Path) -> dict:
    """The fake providers' answers by HTTP status, over the whole bench (provider-requests.jsonl)."""
    path = state_dir / "provider-requests.jsonl"
    statuses: dict[str, int] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                status = str(json.loads(line).get("status"))
                statuses[status] = statuses.get(status, 0) + 1
    return dict(sorted(statuses.items()))


# -- report -----------------------------------------------------------------------------------
def summary(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def by_verb(run: dict) -> str:
    return " ".join("%s=%d" % kv for kv in run["requests"]["by_verb"].items())


def module_names(run: dict) -> str:
    return ", ".join("%s x%d" % (name.split(".")[-1], count) for name, count in run["module_counts"].items())


def build_summary(data: dict) -> list[dict]:
    rows = []

    def section(title):
        rows.append({"section": title})

    def add(metric, unit, values, target=None, passes=None, note=""):
        stats = summary(values)
        if stats:
            verdict = ("PASS" if passes(stats["median"]) else "MISS") if passes else ""
            rows.append(dict(stats, metric=metric, unit=unit, target=target or "", verdict=verdict, note=note))

    noop = data.get("noop")
    if noop:
        floor, peer, ours = noop["floor"], noop["peer"], noop["ours"]
        section("No-op run, nothing to change (%d round(s): floor, peer, ours)" % len(ours))
        add("floor: one k8s_info task", "s", [r["wall"] for r in floor])
        add("peer: bench/peer.yml", "s", [r["wall"] for r in peer])
        add("ours: site.yml", "s", [r["wall"] for r in ours])
        add(
            "ours / floor",
            "x",
            [o["wall"] / f["wall"] for o, f in zip(ours, floor)],
            "<= %.1fx" % NOOP_OVER_FLOOR,
            lambda v: v <= NOOP_OVER_FLOOR,
        )
        add(
            "ours / peer",
            "x",
            [o["wall"] / p["wall"] for o, p in zip(ours, peer)],
            "< %.1fx" % NOOP_OVER_PEER,
            lambda v: v < NOOP_OVER_PEER,
        )
        add("peer / floor", "x", [p["wall"] / f["wall"] for p, f in zip(peer, floor)])
        for who, runs in (("floor", floor), ("peer", peer)):
            add(
                "%s: module invocations" % who,
                "n",
                [r["module_invocations"] for r in runs],
                note=module_names(runs[-1]),
            )
        add(
            "ours: module invocations",
            "n",
            [r["module_invocations"] for r in ours],
            "<= %d" % NOOP_MODULES,
            lambda v: v <= NOOP_MODULES,
            note=module_names(ours[-1]),
        )
        add("ours: tasks run (with controller-only ones)", "n", [r["tasks_run"] for r in ours])
        for who, runs in (("floor", floor), ("peer", peer), ("ours", ours)):
            add("%s: API requests" % who, "n", [r["requests"]["total"] for r in runs], note=by_verb(runs[-1]))
        add("floor: ansible-playbook start-up", "s", [r["startup"] for r in floor], note="process start -> first task")
        add("ours: litellm_apply task", "s", [task_time(r, "litellm_apply") for r in ours])
    roll = data.get("rollouts")
    if roll:
        floor, peer, ours = roll["floor"], roll["peer"], roll["ours"]
        section("Adding one model, under a steady request load (%d round(s): floor, peer, ours)" % len(ours))
        add("floor: kubectl rollout restart + status", "s", [r["wall"] for r in floor])
        add("peer: bench/peer.yml adding one model", "s", [r["wall"] for r in peer])
        add("ours: site.yml adding one model", "s", [r["wall"] for r in ours])
        add(
            "ours - floor",
            "s",
            [o["wall"] - f["wall"] for o, f in zip(ours, floor)],
            "<= +%.0f s" % ADD_OVER_FLOOR,
            lambda v: v <= ADD_OVER_FLOOR,
        )
        add("ours / peer", "x", [o["wall"] / p["wall"] for o, p in zip(ours, peer)])
        add("peer - floor", "s", [p["wall"] - f["wall"] for p, f in zip(peer, floor)])
        for who, runs in (("floor", floor), ("peer", peer)):
            add(
                "%s: failed requests" % who,
                "n",
                [r["load_failed"] for r in runs],
                note="of %d" % sum(r["load_ok"] + r["load_failed"] for r in runs),
            )
        add(
            "ours: failed requests",
            "n",
            [r["load_failed"] for r in ours],
            "0",
            lambda v: v == 0,
            note="of %d" % sum(r["load_ok"] + r["load_failed"] for r in ours),
        )
        for who, runs in (("floor", floor), ("peer", peer), ("ours", ours)):
            add("%s: Ready flip -> rollout step returned" % who, "s", [r["lag"].get("ready_to_return") for r in runs])
        for who, runs in (("floor", floor), ("peer", peer), ("ours", ours)):
            add("%s: new pod start -> Ready" % who, "s", [r["lag"].get("pod_start_to_ready") for r in runs])
        add("ours: Ready -> Deployment status complete", "s", [r["lag"].get("ready_to_status_complete") for r in ours])
        add("ours: Ready -> old pod gone", "s", [r["lag"].get("ready_to_old_pod_gone") for r in ours])
        add("ours: rollout returned -> run end", "s", [r.get("rollout_to_end") for r in ours], note="verify, record")
        add("ours: litellm_apply task", "s", [task_time(r, "litellm_apply") for r in ours])
        for who, runs in (("peer", peer), ("ours", ours)):
            add(
                "%s: module invocations" % who,
                "n",
                [r["module_invocations"] for r in runs],
                note=module_names(runs[-1]),
            )
        for who, runs in (("floor", floor), ("peer", peer), ("ours", ours)):
            add("%s: API requests" % who, "n", [r["requests"]["total"] for r in runs], note=by_verb(runs[-1]))
    plan = data.get("plan")
    if plan:
        section(
            "Planning a %d-model config (plan_config, %d KiB)" % (plan["config_models"], plan["config_bytes"] // 1024)
        )
        for case, label in (("add_one", "add one model"), ("unchanged", "unchanged")):
            add(
                "plan_config: %s" % label,
                "ms",
                [s * 1000 for s in plan[case]["seconds"]],
                "<= %.0f ms" % PLAN_MS,
                lambda v: v <= PLAN_MS,
            )
            add("plan_config: %s, peak memory" % label, "MiB", [plan[case]["peak_bytes"] / 2**20])
    first = data.get("first_run")
    if first:
        section("Other")
        add("ours: first run (story applied)", "s", [first["wall"]], note=by_verb(first))
        add("ours: first run, discovery requests", "n", [first["requests"]["by_verb"].get("discovery", 0)])
        warm = data.get("warm_up") or {}
        if warm.get("peer"):
            add("peer: first run (rewrites, rolls)", "s", [warm["peer"]["wall"]], note=module_names(warm["peer"]))
    answers = data.get("provider_answers")
    if answers is not None:
        add(
            "fake providers: answers 429",
            "n",
            [answers.get("429", 0)],
            "0",
            lambda v: v == 0,
            note=" ".join("%s=%d" % kv for kv in answers.items()),
        )
    return rows


def format_table(rows: list[dict]) -> str:
    def number(value, unit):
        if unit == "n":
            return "%g" % value
        return "%.2f" % value if unit in ("s", "x", "MiB") else "%.1f" % value

    header = "%-44s %8s %-3s  %-13s %2s  %-10s %-5s  %s" % (
        "metric",
        "median",
        "",
        "min-max",
        "n",
        "target",
        "",
        "note",
    )
    lines = [header, "-" * 110]
    for row in rows:
        if "section" in row:
            lines += ["", "== %s" % row["section"]]
            continue
        spread = "%s-%s" % (number(row["min"], row["unit"]), number(row["max"], row["unit"]))
        lines.append(
            "%-44s %8s %-3s  %-13s %2d  %-10s %-5s  %s"
            % (
                row["metric"],
                number(row["median"], row["unit"]),
                row["unit"],
                spread,
                row["n"],
                row["target"],
                row["verdict"],
                row["note"],
            )
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="no-op rounds (floor, peer, ours)")
    parser.add_argument("--rollouts", type=int, default=3, help="add-model rounds (restart floor, peer, ours)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results.json")
    parser.add_argument(
        "--only", choices=["noop", "rollouts", "plan"], action="append", help="run only these parts (default: all)"
    )
    parser.add_argument("--keep-sandbox", action="store_true", help="leave the sandbox running (debugging)")
    parser.add_argument(
        "--modules-at",
        metavar="GIT_REF",
        help="measure %s as they are at this git ref, everything else as in the working tree "
        "(the 'before' of a change of the modules)" % " and ".join(MODULE_DIRS),
    )
    args = parser.parse_args(argv)
    parts = args.only or ["noop", "rollouts", "plan"]
    # SIGTERM (a killed make) unwinds like Ctrl-C, so the sandbox is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    started = time.monotonic()
    data = {
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "loadavg_start": os.getloadavg(),
        },
        "parameters": {"runs": args.runs, "rollouts": args.rollouts, "parts": parts},
        "targets": {
            "noop_over_floor": NOOP_OVER_FLOOR,
            "noop_over_peer": NOOP_OVER_PEER,
            "noop_modules": NOOP_MODULES,
            "add_over_floor_seconds": ADD_OVER_FLOOR,
            "plan_ms": PLAN_MS,
        },
        "tree": tree_state(),
    }
    if "plan" in parts:
        log("planning: plan_config on 1,000 models")
        data["plan"] = bench_plan()
    work = Path(tempfile.mkdtemp(prefix="litellm-bench-"))
    state_dir = work / "sandbox"
    # kubectl caches API discovery by server address; the bench's own cache leaves ~/.kube alone.
    os.environ["KUBECACHEDIR"] = str(work / "kube-cache")
    bench = None
    try:
        if args.modules_at:
            data["modules_at"] = args.modules_at
        if {"noop", "rollouts"} & set(parts):
            collections_path = collection_with_modules_at(args.modules_at, work) if args.modules_at else None
            log("starting the sandbox in %s" % state_dir)
            up = subprocess.run(
                [str(PYTHON), "-m", "sandbox", "up", "--state-dir", str(state_dir)],
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=400,
            )
            if up.returncode != 0:
                print(up.stdout + up.stderr, file=sys.stderr)
                return 1
            bench = Bench(state_dir, work, collections_path)
            bench.watcher = Watcher(bench.api).start()
            before_text = bench.api.config_text()
            log("first site.yml run (applies the story; discovery on first contact)")
            data["first_run"] = bench.site("first-run")
            data["peer_vars"] = bench.give_peer_what_ours_wrote(before_text, bench.api.config_text())
            bench.watcher.wait_settled()
            data["warm_up"] = warm_up(bench)
            if "noop" in parts:
                data["noop"] = bench_noop(bench, args.runs)
            if "rollouts" in parts:
                bench.watcher.wait_settled()
                data["rollouts"] = bench_rollouts(bench, args.rollouts)
            data["provider_answers"] = provider_answers(state_dir)
    finally:
        if bench and bench.watcher:
            bench.watcher.stop()
        if not args.keep_sandbox:
            subprocess.run(
                [str(PYTHON), "-m", "sandbox", "down", "--state-dir", str(state_dir)],
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=120,
            )
            shutil.rmtree(work, ignore_errors=True)
    data["seconds"] = time.monotonic() - started
    data["machine"]["loadavg_end"] = os.getloadavg()
    data["failures"] = bench.failures if bench else []
    data["summary"] = build_summary(data)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1, default=str) + "\n")
    print()
    print(format_table(data["summary"]))
    print(
        "\n%d CPUs, load average %.2f at start, %.2f at end; bench took %.0f s; raw samples in %s"
        % (
            os.cpu_count(),
            data["machine"]["loadavg_start"][0],
            data["machine"]["loadavg_end"][0],
            data["seconds"],
            args.out,
        )
    )
    if data["failures"]:
        print("FAILED runs (a product failure, not slowness):\n  " + "\n  ".join(data["failures"]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
