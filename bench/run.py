"""Benchmarks of homelab.litellm against one sandbox: how close each run is to its floor.

    .venv/bin/python bench/run.py [--runs 5] [--rollouts 3] [--out bench/results.json]

A benchmark, not a test: it measures and reports, and fails only when a playbook
or the sandbox itself fails, never because the machine was slow. Every figure
is compared with a floor measured in the same run, on the same sandbox:

1. no-op ``site.yml`` (nothing to change) against an ``ansible-playbook`` with a
   single ``kubernetes.core.k8s_info`` task; with the module invocations
   (AnsiballZ runs, counted by a logging interpreter wrapper) and the API
   requests (the sandbox's ``/sandbox/metrics`` before/after) of each;
2. a run that adds one model against ``kubectl rollout restart`` + ``rollout
   status`` (the unavoidable LiteLLM restart-to-ready);
3. readiness detection lag: from the new pod's Ready flip (seen on a watch) to
   ``litellm_rollout`` returning (a callback plugin writes each task's end);
4. failed requests under a steady request load during those rollouts;
5. the pure merge: ``plan_config`` on a config with 1,000 models (time, and
   peak memory with tracemalloc).

Runs are interleaved (floor, then the measured run) so that a machine that gets
slower or faster during the bench shifts both. The table shows median and
spread (min-max); bench/results.json holds every sample, the commit and a
digest of the uncommitted changes it measured.

Before/after a change of the modules: ``bench/run.py --modules-at HEAD --out
/tmp/before.json`` measures the module files of the performance work as they
are at HEAD (everything else as in the working tree), then ``make bench``.

Every site.yml run gets BENCH_VARS (high rpm/tpm limits): the presets'
free-tier limits (gemini-1.5-pro: 2 requests a minute) would otherwise be
exceeded by the bench's own smoke requests. The sandbox runs in a temporary
directory and is stopped at the end, also on error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = REPO / ".venv" / "bin" / "python"
ANSIBLE_PLAYBOOK = REPO / ".venv" / "bin" / "ansible-playbook"
KUBECTL = os.environ.get("KUBECTL", "/usr/bin/kubectl")
NAMESPACE = "ml"
DEPLOYMENT = "litellm"

sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / ".collections"))

from tests.conftest import Sandbox, Trickle  # noqa: E402  (the tests' own helpers)

# Actions that run on the controller only (no AnsiballZ module on the target).
CONTROLLER_ACTIONS = {"ansible.builtin.set_fact", "ansible.builtin.assert", "ansible.builtin.fail",
                      "ansible.builtin.debug", "ansible.builtin.validate_argument_spec",
                      "ansible.builtin.include_tasks", "ansible.builtin.import_tasks", "set_fact",
                      "assert", "fail", "debug", "validate_argument_spec", "meta", "ansible.builtin.meta"}

FLOOR_PLAYBOOK = """\
# The floor of a no-op run: one kubernetes.core module invocation against the same API.
- name: Floor
  hosts: litellm
  gather_facts: false
  tasks:
    - name: Read the LiteLLM ConfigMap
      kubernetes.core.k8s_info:
        kubeconfig: "{{ litellm_kubeconfig }}"
        kind: ConfigMap
        namespace: ml
        name: litellm-config
"""

# Every site.yml run of the bench gets these: the presets' free-tier limits (gemini-1.5-pro: 2
# requests a minute) would otherwise be exceeded by the bench's own smoke requests, ~10 per model
# in a few minutes. The same for every run, so a no-op run stays a no-op.
BENCH_VARS = {"litellm_limits": {provider: {"rpm": 100000, "tpm": 100000000, "rpd": 10000000}
                                 for provider in ("groq", "gemini", "mistral")}}

INTERPRETER_WRAPPER = """\
#!/bin/sh
# bench: log each module invocation (the AnsiballZ file it runs), then run it.
echo "${1##*/}" >> "$BENCH_MODULE_LOG"
exec %s "$@"
"""


def tree_state() -> dict:
    """Which code was measured: the commit and a digest of the uncommitted changes (read-only git)."""
    import hashlib

    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            return ""

    status = git("status", "--porcelain")
    return {"commit": git("rev-parse", "HEAD").strip(),
            "dirty_files": [line[3:] for line in status.splitlines()],
            "diff_sha256": hashlib.sha256(git("diff").encode()).hexdigest()[:16]}


# The files of the performance work: --modules-at REF measures them as they are at REF, with
# everything else (roles, other plugins) as in the working tree, for a before/after comparison.
PERF_FILES = ("plugins/module_utils/_k8s.py", "plugins/modules/litellm_rollout.py",
              "plugins/module_utils/_rollout.py", "plugins/modules/litellm_verify.py",
              "plugins/module_utils/_verify.py")


def collection_with_modules_at(ref: str, work: Path) -> str:
    """A copy of the collection in `work` with PERF_FILES from git `ref` (read-only git)."""
    root = work / "collections"
    tree = root / "ansible_collections" / "homelab" / "litellm"
    tree.mkdir(parents=True)
    for name in ("plugins", "roles", "meta"):
        shutil.copytree(REPO / name, tree / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "galaxy.yml", tree / "galaxy.yml")
    for path in PERF_FILES:
        shown = subprocess.run(["git", "show", "%s:%s" % (ref, path)], cwd=REPO, capture_output=True, text=True)
        if shown.returncode != 0:
            raise SystemExit("git show %s:%s failed: %s" % (ref, path, shown.stderr.strip()))
        (tree / path).write_text(shown.stdout)
    return str(root)


def log(message: str) -> None:
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), message), flush=True)


def parse_time(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


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
        self._threads = [threading.Thread(target=self._run, args=(kind,), daemon=True)
                         for kind in ("pods", "deployments")]

    def start(self) -> "Watcher":
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
            except Exception:  # noqa: BLE001 - a dropped stream is reopened
                if self._stop.is_set():
                    return
                time.sleep(0.2)

    def _pod_event(self, now: float, type_: str, pod: dict) -> None:
        meta = pod.get("metadata") or {}
        name = meta.get("name")
        if not name:
            return
        with self.lock:
            record = self.pods.setdefault(name, {"name": name, "seen": now,
                                                 "created": parse_time(meta.get("creationTimestamp")),
                                                 "hash": (meta.get("labels") or {}).get("pod-template-hash"),
                                                 "ready": None, "ready_transition": None,
                                                 "deleting": None, "gone": None})
            ready = next((c for c in (pod.get("status") or {}).get("conditions") or []
                          if c.get("type") == "Ready"), {})
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
        complete = (status.get("observedGeneration", 0) >= meta.get("generation", 0)
                    and status.get("updatedReplicas", 0) == status.get("replicas", 0)
                    == status.get("availableReplicas", 0) == desired)
        with self.lock:
            if complete and (not self.deployment_complete
                             or self.deployment_complete[-1][1] != meta.get("generation")):
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
        self.wrapper.write_text(INTERPRETER_WRAPPER % PYTHON)
        self.wrapper.chmod(0o755)
        self.floor_playbook = work / "floor.yml"
        self.floor_playbook.write_text(FLOOR_PLAYBOOK)
        self.vars_file = work / "bench-vars.json"
        self.vars_file.write_text(json.dumps(BENCH_VARS))
        self.failures: list[str] = []
        self.watcher: Watcher | None = None

    def env(self, timing_file: Path) -> dict:
        env = dict(os.environ, SANDBOX_DIR=str(self.state_dir), ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
                   ANSIBLE_NOCOLOR="1", ANSIBLE_CALLBACK_PLUGINS=str(REPO / "bench" / "callback_plugins"),
                   ANSIBLE_CALLBACKS_ENABLED="bench_timing", BENCH_TIMING_FILE=str(timing_file),
                   BENCH_MODULE_LOG=str(self.module_log))
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
        before = self.api.metrics()
        started = time.monotonic()
        wall_started = time.time()
        completed = subprocess.run([str(ANSIBLE_PLAYBOOK), playbook, "-e",
                                    "ansible_python_interpreter=%s" % self.wrapper, *args],
                                   capture_output=True, text=True, env=self.env(timing_file), cwd=REPO,
                                   timeout=900)
        wall = time.monotonic() - started
        after = self.api.metrics()
        own_watches = (self.watcher.opened if self.watcher else 0) - own_watches
        modules = [line for line in self.module_log.read_text().splitlines() if line.strip()]
        tasks = []
        if timing_file.exists():
            tasks = [json.loads(line) for line in timing_file.read_text().splitlines() if line.strip()]
        results = [t for t in tasks if t.get("event") == "result"]
        playbook_start = next((t["time"] for t in tasks if t.get("event") == "playbook_start"), None)
        run = {"label": label, "rc": completed.returncode, "wall": wall,
               "startup": playbook_start - wall_started if playbook_start else None,
               "module_invocations": len(modules),
               "modules": sorted(set(m.replace("AnsiballZ_", "").replace(".py", "") for m in modules)),
               "module_counts": {m: modules.count(m) for m in sorted(set(modules))},
               "tasks_run": sum(1 for t in results if t["status"] != "skipped"),
               "controller_tasks": sum(1 for t in results
                                       if t["status"] != "skipped" and t["action"] in CONTROLLER_ACTIONS),
               "requests": metrics_delta(before, after, own_watches),
               "tasks": results}
        if completed.returncode != 0:
            self.failures.append("%s: ansible-playbook exited %d" % (label, completed.returncode))
            log("%s FAILED (rc %d):\n%s\n%s" % (label, completed.returncode, completed.stdout[-3000:],
                                                completed.stderr[-2000:]))
        return run

    def site(self, label: str, *args: str) -> dict:
        return self.playbook(label, "playbooks/site.yml", "-e", "@%s" % self.vars_file, *args)

    def floor(self, label: str = "floor") -> dict:
        return self.playbook(label, str(self.floor_playbook))

    def kubectl(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return self.box.kubectl("-n", NAMESPACE, *args, timeout=timeout)


def task_time(run: dict, action_suffix: str, field: str = "duration") -> float | None:
    for task in run["tasks"]:
        if task["action"].endswith(action_suffix) and task["status"] != "skipped":
            return task["end"] - task["start"] if field == "duration" else task.get(field)
    return None


# -- the measurements --------------------------------------------------------------------------
def bench_noop(bench: Bench, runs: int) -> dict:
    """No-op site.yml (default, and without smoke requests) against the k8s_info floor, interleaved."""
    floors, noops, quiet = [], [], []
    bench.floor("warm-up")  # kubernetes.core's discovery cache for this API, the page cache
    for index in range(runs):
        floors.append(bench.floor())
        noops.append(bench.site("noop"))
        # JSON: a bare -e litellm_verify_smoke=false is the string "false", which the role reads as true.
        quiet.append(bench.site("noop-nosmoke", "-e", '{"litellm_verify_smoke": false}'))
        log("no-op %d/%d: floor %.2fs, site.yml %.2fs (%d modules, %d requests), without smoke %.2fs"
            % (index + 1, runs, floors[-1]["wall"], noops[-1]["wall"], noops[-1]["module_invocations"],
               noops[-1]["requests"]["total"], quiet[-1]["wall"]))
    for run in noops + quiet:
        if any(t["changed"] for t in run["tasks"]):
            bench.failures.append("%s: a no-op run reported a change" % run["label"])
    return {"floor": floors, "noop": noops, "noop_nosmoke": quiet}


def restart_floor(bench: Bench) -> dict:
    """kubectl rollout restart + rollout status: LiteLLM's restart-to-ready, nothing else."""
    before, _live = bench.watcher.snapshot()
    started = time.monotonic()
    wall_start = time.time()
    bench.kubectl("rollout", "restart", "deployment/" + DEPLOYMENT)
    bench.kubectl("rollout", "status", "deployment/" + DEPLOYMENT, "--timeout=240s", timeout=300)
    wall = time.monotonic() - started
    new = bench.watcher.new_pods(before)
    pod = new[0] if new else {}
    result = {"wall": wall, "pod": pod.get("name"),
              "pod_start_to_ready": (pod["ready"] - pod["seen"]) if pod.get("ready") else None,
              "command_to_ready": (pod["ready"] - wall_start) if pod.get("ready") else None}
    bench.watcher.wait_settled()
    return result


def add_model_run(bench: Bench, index: int, api_base: str) -> dict:
    """site.yml adding one model, under a steady request load; readiness lag from the watch."""
    model = "bench/model-%d-%d" % (index, int(time.time()))
    extra = {"litellm_parallel_models": [{
        "model_name": model,
        "litellm_params": {"model": "groq/llama-3.3-70b-versatile", "api_base": api_base,
                           "api_key": "os.environ/GROQ_API_KEY"}}]}
    before, live = bench.watcher.snapshot()
    with Trickle(bench.box, interval=0.1) as load:
        run = bench.site("add-model", "-e", json.dumps(extra))
        # Keep the load on until the old pod is gone: its shutdown is part of the rollout.
        bench.watcher.wait_settled()
    run["load_ok"] = load.ok
    run["load_failed"] = len(load.failures)
    run["load_failures"] = load.failures[:5]
    new = bench.watcher.new_pods(before)
    rollout = next((t for t in run["tasks"] if t["action"].endswith("litellm_rollout")), None)
    new_pod = next((p for p in new if p.get("ready")), None)
    old = [bench.watcher.pod(name) for name in live]
    run["model"] = model
    lag = {}
    if rollout and new_pod:
        returned = rollout["end"]
        lag = {
            "ready_to_rollout_return": returned - new_pod["ready"],
            "ready_transition_to_rollout_return": (returned - new_pod["ready_transition"]
                                                   if new_pod.get("ready_transition") else None),
            "pod_start_to_ready": new_pod["ready"] - new_pod["seen"],
            "rollout_task": rollout["end"] - rollout["start"],
            "rollout_seconds": rollout.get("rollout_seconds"),
        }
        gone = [p["gone"] for p in old if p.get("gone")]
        if gone:
            lag["ready_to_old_pod_gone"] = max(gone) - new_pod["ready"]
            lag["old_pod_gone_to_rollout_return"] = returned - max(gone)
        complete = [t for t, _gen in bench.watcher.deployment_complete if t >= new_pod["ready"] - 0.5]
        if complete:
            lag["ready_to_status_complete"] = complete[0] - new_pod["ready"]
    else:
        bench.failures.append("add-model %d: no rollout task or no new Ready pod seen" % index)
    run["lag"] = lag
    run["after_rollout"] = (run["tasks"][-1]["end"] - rollout["end"]) if rollout and run["tasks"] else None
    verify = task_time(run, "litellm_verify")
    run["verify_task"] = verify
    return run


def bench_rollouts(bench: Bench, rollouts: int) -> dict:
    api_base = json.loads((bench.state_dir / "provider-api-bases.json").read_text())["groq"]
    floors, adds = [], []
    for index in range(rollouts):
        floors.append(restart_floor(bench))
        adds.append(add_model_run(bench, index, api_base))
        log("rollout %d/%d: kubectl restart-to-ready %.2fs, site.yml adding a model %.2fs, "
            "Ready->rollout returned %.2fs, failed requests %d/%d"
            % (index + 1, rollouts, floors[-1]["wall"], adds[-1]["wall"],
               adds[-1]["lag"].get("ready_to_rollout_return", float("nan")), adds[-1]["load_failed"],
               adds[-1]["load_ok"] + adds[-1]["load_failed"]))
    return {"restart_floor": floors, "add_model": adds}


def bench_merge(repeats: int = 3, models: int = 1000) -> dict:
    """plan_config on a config with `models` models (the story's three plus managed parallel ones).

    "add one": the role's call when one model is added (every parallel model, plus the new one);
    "unchanged": the same call on a no-op run.
    """
    from ansible_collections.homelab.litellm.plugins.module_utils import _litellm_config as lc
    from sandbox import seed

    base = seed.before_config("http://127.0.0.1:9")
    parallel = [{"model_name": "groq/bench-%04d" % i,
                 "litellm_params": {"model": "groq/bench-%04d" % i, "api_base": "http://127.0.0.1:9/groq",
                                    "api_key": "os.environ/GROQ_API_KEY", "rpm": 30, "tpm": 6000},
                 "model_info": {"free_tier_rpd": 1000}}
                for i in range(models - 3)]
    current = lc.plan_config(base, parallel).after  # the story's 3 + models - 3 parallel ones
    wanted = parallel + [{"model_name": "groq/bench-new",
                          "litellm_params": {"model": "groq/bench-new", "api_base": "http://127.0.0.1:9/groq",
                                             "api_key": "os.environ/GROQ_API_KEY"}}]
    entries = len(lc.parse_config(current)["model_list"])

    def timed(desired):
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            plan = lc.plan_config(current, desired)
            times.append(time.perf_counter() - started)
        tracemalloc.start()
        lc.plan_config(current, desired)
        _size, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return {"seconds": times, "peak_bytes": peak, "changed": plan.changed, "added": plan.added}

    return {"config_models": entries, "config_bytes": len(current.encode()),
            "add_one": timed(wanted), "unchanged": timed(parallel)}


# -- report -----------------------------------------------------------------------------------
def summary(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def build_summary(data: dict) -> list[dict]:
    rows = []

    def add(name, unit, values, note=""):
        stats = summary(values)
        if stats:
            rows.append(dict(stats, metric=name, unit=unit, note=note))

    noop = data.get("noop")
    if noop:
        floors = [r["wall"] for r in noop["floor"]]
        add("floor: k8s_info playbook", "s", floors)
        add("no-op site.yml", "s", [r["wall"] for r in noop["noop"]])
        add("no-op site.yml / floor", "x", [r["wall"] / f for r, f in zip(noop["noop"], floors)])
        add("no-op site.yml, smoke off", "s", [r["wall"] for r in noop["noop_nosmoke"]])
        add("no-op site.yml, smoke off / floor", "x",
            [r["wall"] / f for r, f in zip(noop["noop_nosmoke"], floors)])
        add("no-op module invocations (floor 1)", "n", [r["module_invocations"] for r in noop["noop"]],
            note=", ".join("%s x%d" % (m.replace("AnsiballZ_", "").replace(".py", ""), c)
                           for m, c in noop["noop"][-1]["module_counts"].items()))
        add("no-op controller-only tasks", "n", [r["controller_tasks"] for r in noop["noop"]])
        add("no-op API requests", "n", [r["requests"]["total"] for r in noop["noop"]],
            note=" ".join("%s=%d" % kv for kv in noop["noop"][-1]["requests"]["by_verb"].items()))
        add("no-op API requests, smoke off", "n", [r["requests"]["total"] for r in noop["noop_nosmoke"]],
            note=" ".join("%s=%d" % kv for kv in noop["noop_nosmoke"][-1]["requests"]["by_verb"].items()))
        add("floor API requests", "n", [r["requests"]["total"] for r in noop["floor"]],
            note=" ".join("%s=%d" % kv for kv in noop["floor"][-1]["requests"]["by_verb"].items()))
        add("floor: ansible-playbook start-up", "s", [r["startup"] for r in noop["floor"]],
            note="process start -> first task")
        add("floor task k8s_info", "s", [task_time(r, "k8s_info") for r in noop["floor"]])
        add("no-op: controller-only tasks, total", "s", [
            sum(t["end"] - t["start"] for t in r["tasks"] if t["action"] in CONTROLLER_ACTIONS)
            for r in noop["noop"]])
        for action in ("litellm_config", "k8s_info", "litellm_secret", "litellm_rollout", "litellm_verify",
                       "copy"):
            add("no-op task %s" % action, "s", [task_time(r, action) for r in noop["noop"]])
    first = data.get("first_run")
    if first:
        add("first run (story applied)", "s", [first["wall"]],
            note="requests: " + " ".join("%s=%d" % kv for kv in first["requests"]["by_verb"].items()))
        add("first run: discovery requests (first contact)", "n",
            [first["requests"]["by_verb"].get("discovery", 0)])
    roll = data.get("rollouts")
    if roll:
        restart = [r["wall"] for r in roll["restart_floor"]]
        adds = roll["add_model"]
        add("floor: kubectl rollout restart+status", "s", restart)
        add("floor: pod start -> Ready (kubectl restart)", "s",
            [r["pod_start_to_ready"] for r in roll["restart_floor"]])
        add("site.yml adding one model", "s", [r["wall"] for r in adds])
        add("adding one model / restart floor", "x", [r["wall"] / f for r, f in zip(adds, restart)])
        add("  litellm_rollout task", "s", [r["lag"].get("rollout_task") for r in adds])
        add("  litellm_verify task (after rollout)", "s", [r["verify_task"] for r in adds])
        add("  verify: waited for readiness", "s", [task_time(r, "litellm_verify", "readiness_seconds")
                                                     for r in adds])
        add("  pod start -> Ready (site.yml)", "s", [r["lag"].get("pod_start_to_ready") for r in adds])
        add("Ready flip -> litellm_rollout returned", "s", [r["lag"].get("ready_to_rollout_return") for r in adds])
        add("  Ready -> Deployment status complete", "s",
            [r["lag"].get("ready_to_status_complete") for r in adds])
        add("  Ready -> old pod gone", "s", [r["lag"].get("ready_to_old_pod_gone") for r in adds])
        add("  old pod gone -> rollout returned", "s",
            [r["lag"].get("old_pod_gone_to_rollout_return") for r in adds])
        add("add-model API requests", "n", [r["requests"]["total"] for r in adds],
            note=" ".join("%s=%d" % kv for kv in adds[-1]["requests"]["by_verb"].items()))
        add("add-model module invocations", "n", [r["module_invocations"] for r in adds])
        add("failed requests during rollout (goal 0)", "n", [r["load_failed"] for r in adds],
            note="of %d requests" % sum(r["load_ok"] + r["load_failed"] for r in adds))
    merge = data.get("merge")
    if merge:
        add("plan_config, %d models, add one" % merge["config_models"], "ms",
            [s * 1000 for s in merge["add_one"]["seconds"]])
        add("plan_config, %d models, add one: peak memory" % merge["config_models"], "MiB",
            [merge["add_one"]["peak_bytes"] / 2**20])
        add("plan_config, %d models, unchanged" % merge["config_models"], "ms",
            [s * 1000 for s in merge["unchanged"]["seconds"]])
        add("plan_config, %d models, unchanged: peak memory" % merge["config_models"], "MiB",
            [merge["unchanged"]["peak_bytes"] / 2**20])
    return rows


def format_table(rows: list[dict]) -> str:
    def number(value, unit):
        if unit == "n":
            return "%g" % value
        return "%.2f" % value if unit in ("s", "x", "MiB") else "%.1f" % value

    lines = ["%-46s %9s  %-19s %3s  %s" % ("metric", "median", "spread (min-max)", "n", "note"),
             "-" * 100]
    for row in rows:
        spread = "%s-%s" % (number(row["min"], row["unit"]), number(row["max"], row["unit"]))
        lines.append("%-46s %7s %-1s  %-19s %3d  %s" % (
            row["metric"], number(row["median"], row["unit"]), row["unit"], spread, row["n"], row["note"]))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="no-op runs (each with its floor run)")
    parser.add_argument("--rollouts", type=int, default=3, help="add-model runs (each with its restart floor)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results.json")
    parser.add_argument("--only", choices=["noop", "rollouts", "merge"], action="append",
                        help="run only these parts (default: all)")
    parser.add_argument("--keep-sandbox", action="store_true", help="leave the sandbox running (debugging)")
    parser.add_argument("--modules-at", metavar="GIT_REF",
                        help="measure the module files of the performance work (%s) as they are at this git "
                             "ref, everything else as in the working tree (the 'before' of a change)"
                             % ", ".join(Path(p).name for p in PERF_FILES))
    args = parser.parse_args(argv)
    parts = args.only or ["noop", "rollouts", "merge"]
    # SIGTERM (a killed make) unwinds like Ctrl-C, so the sandbox is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    started = time.monotonic()
    data = {"started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine": {"platform": platform.platform(), "python": platform.python_version(),
                        "cpus": os.cpu_count(), "loadavg_start": os.getloadavg()},
            "parameters": {"runs": args.runs, "rollouts": args.rollouts, "parts": parts,
                           "bench_vars": BENCH_VARS},
            "tree": tree_state()}
    if "merge" in parts:
        log("merge: plan_config on 1,000 models")
        data["merge"] = bench_merge()
    work = Path(tempfile.mkdtemp(prefix="litellm-bench-"))
    state_dir = work / "sandbox"
    bench = None
    collections_path = None
    try:
        if args.modules_at:
            collections_path = collection_with_modules_at(args.modules_at, work)
            data["modules_at"] = args.modules_at
        if {"noop", "rollouts"} & set(parts):
            log("starting the sandbox in %s" % state_dir)
            up = subprocess.run([str(PYTHON), "-m", "sandbox", "up", "--state-dir", str(state_dir)],
                                cwd=REPO, capture_output=True, text=True, timeout=400)
            if up.returncode != 0:
                print(up.stdout + up.stderr, file=sys.stderr)
                return 1
            bench = Bench(state_dir, work, collections_path)
            bench.watcher = Watcher(bench.api).start()
            log("first site.yml run (applies the story; discovery on first contact)")
            data["first_run"] = bench.site("first-run")
            if "noop" in parts:
                data["noop"] = bench_noop(bench, args.runs)
            if "rollouts" in parts:
                bench.watcher.wait_settled()
                data["rollouts"] = bench_rollouts(bench, args.rollouts)
    finally:
        if bench and bench.watcher:
            bench.watcher.stop()
        if not args.keep_sandbox:
            subprocess.run([str(PYTHON), "-m", "sandbox", "down", "--state-dir", str(state_dir)],
                           cwd=REPO, capture_output=True, text=True, timeout=120)
            shutil.rmtree(work, ignore_errors=True)
    data["seconds"] = time.monotonic() - started
    data["machine"]["loadavg_end"] = os.getloadavg()
    data["failures"] = bench.failures if bench else []
    data["summary"] = build_summary(data)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1, default=str) + "\n")
    print()
    print(format_table(data["summary"]))
    print("\n%d CPUs, load average %.2f at start, %.2f at end; bench took %.0f s; raw samples in %s"
          % (os.cpu_count(), data["machine"]["loadavg_start"][0], data["machine"]["loadavg_end"][0],
             data["seconds"], args.out))
    if data["failures"]:
        print("FAILED runs (a product failure, not slowness):\n  " + "\n  ".join(data["failures"]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
