"""The bench's harness: where things are, and one measured ansible-playbook run.

``Bench.playbook`` runs a contender's playbook (``site``, ``peer``, ``floor``) and measures it:
wall time, module invocations (through ``INTERPRETER_WRAPPER``, a logging interpreter), API
requests (``/sandbox/metrics``), new pods and each task's times (the ``bench_timing`` callback).
``tree_state`` and ``collection_with_modules_at`` say and choose which code is measured.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import yaml

from bench.cluster import NAMESPACE, Api, Watcher, metrics_delta
from tests.conftest import Sandbox

REPO = Path(__file__).resolve().parent.parent
PYTHON = REPO / ".venv" / "bin" / "python"
ANSIBLE_PLAYBOOK = REPO / ".venv" / "bin" / "ansible-playbook"
# The sandbox inventory's vault, opened by its vault id (the repository sets no project-wide password).
VAULT_ARGS = ("--vault-id", "sandbox@%s" % (REPO / "inventory" / "sandbox" / "vault-password.txt"))
KUBECTL = os.environ.get("KUBECTL", "/usr/bin/kubectl")
SITE_PLAYBOOK = "playbooks/site.yml"
PEER_PLAYBOOK = "bench/peer.yml"
# The peer's last task restarts on change and waits for the rollout.
PEER_RESTART_TASK = "Restart LiteLLM"

# The collection's own module_utils, imported where they are used (ansible_collections.homelab.litellm).
sys.path.insert(0, str(REPO / ".collections"))

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
            [str(ANSIBLE_PLAYBOOK), playbook, *VAULT_ARGS, "-e", "ansible_python_interpreter=%s" % self.wrapper, *args],
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
        from ansible_collections.homelab.litellm.plugins.module_utils.config.schema import is_managed

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
