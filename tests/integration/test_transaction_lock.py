"""One run is one transaction: the run lock, and what is left when a run is killed.

A run of site.yml is one litellm_apply process that holds the Lease homelab-litellm-litellm while
it writes. The Lease, ConfigMaps, Secrets and the Deployment are followed through watch streams
(resourceVersion order, arrival times), so the order of writes is known, not guessed by polling.
Every process of a run carries HOMELAB_TEST_RUN=<mark> in its environment: that finds them in
/proc, also those that outlive a killed ansible-playbook (its worker calls setsid()).

Checked: no run takes a lock another one renews, whatever PID namespace or host name it runs
under; a run whose ansible-playbook is killed (alone or with its group) or interrupted notices
within NOTICE seconds, undoes its writes, frees the Lease and exits (the time that takes is printed), and
a run from another host started right after succeeds; a run killed while it waits for the lock
never takes it; tags select all of a run or none; a run is one module process. A steady load on
the chain gets no failed request; no key shows up in any output, cluster object or ~/.ansible/tmp.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import json
import os
import signal
import subprocess
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conftest import (
    REPO_ROOT,
    VAULT_ARGS,
    Keys,
    ansible_tmp_leaks,
    decoded_base64,
    issued_key,
    leaked,
    vault_keys,
)
from tests.integration.test_reliability import assert_verified_and_settled

pytestmark = pytest.mark.litellm

LEASE = "homelab-litellm-litellm"
RECORD = "litellm-known-good"
# The module polls for its ansible-playbook every 0.5 s; its first rollback write follows at once.
NOTICE = 2.0
PLAYBOOK = REPO_ROOT / ".venv/bin/ansible-playbook"
PYTHON = REPO_ROOT / ".venv/bin/python"
ENV_OF = {"groq": "GROQ_API_KEY", "gemini": "GEMINI_API_KEY", "mistral": "MISTRAL_API_KEY"}
# The load below sends Groq more than its free-tier rate; these tests are about the lock, not limits.
# Some fakes below answer slowly on purpose, to hold a run in its verification.
RUN_VARS = {"litellm_limits": {"groq": {"rpm": 1200, "tpm": 1000000}}, "litellm_verify_max_latency": 30}
SLOW_MS = 3000
WATCHED = {
    "leases": "/apis/coordination.k8s.io/v1/namespaces/ml/leases",
    "configmaps": "/api/v1/namespaces/ml/configmaps",
    "secrets": "/api/v1/namespaces/ml/secrets",
    "deployments": "/apis/apps/v1/namespaces/ml/deployments",
}


@dataclass
class Event:
    rv: int
    at: float  # time.monotonic() when it arrived here
    kind: str
    type: str
    obj: dict

    @property
    def name(self) -> str:
        return self.obj["metadata"]["name"]


def holder(lease: dict | None) -> str:
    return ((lease or {}).get("spec") or {}).get("holderIdentity") or ""


def lease_time(lease: dict, field: str) -> float:
    when = datetime.datetime.strptime(lease["spec"][field], "%Y-%m-%dT%H:%M:%S.%fZ")
    return when.replace(tzinfo=datetime.timezone.utc).timestamp()


def rollout_complete(deployment: dict) -> bool:
    status, replicas = deployment.get("status") or {}, deployment["spec"].get("replicas", 1)
    return (
        status.get("observedGeneration") == deployment["metadata"]["generation"]
        and status.get("updatedReplicas") == status.get("availableReplicas") == status.get("replicas") == replicas
    )


class History:
    """Every change to the watched objects in namespace ml since it started (watch streams)."""

    def __init__(self, sandbox) -> None:
        self.sandbox = sandbox
        self.events: list[Event] = []
        self.arrived = threading.Condition()
        self._seen: set[tuple[str, int]] = set()
        self._stop = threading.Event()
        self._ready = {kind: threading.Event() for kind in WATCHED}

    def __enter__(self) -> History:
        for kind in WATCHED:
            threading.Thread(target=self._follow, args=(kind,), daemon=True).start()
        for kind, ready in self._ready.items():
            assert ready.wait(60), f"no watch of {kind}"
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()

    def _follow(self, kind: str) -> None:
        since = None
        while not self._stop.is_set():
            # Short watches, resumed from the last version seen: nothing is missed, and the thread ends.
            query = "watch=1&timeoutSeconds=2&allowWatchBookmarks=true&"
            query += f"resourceVersion={since}" if since else "sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
            request = urllib.request.Request(
                f"{self.sandbox.api_url}{WATCHED[kind]}?{query}",
                headers={"Authorization": f"Bearer {self.sandbox.token}"},
            )
            try:
                with urllib.request.urlopen(request, context=self.sandbox.api_ssl, timeout=30) as stream:
                    for line in stream:
                        event = json.loads(line)
                        if event["type"] == "ERROR":  # too old: start over from the objects as they are
                            since = None
                            break
                        since = event["object"]["metadata"]["resourceVersion"]
                        if event["type"] == "BOOKMARK":
                            self._ready[kind].set()
                            continue
                        self._add(Event(int(since), time.monotonic(), kind, event["type"], event["object"]))
            except (OSError, ValueError):
                time.sleep(0.1)

    def _add(self, event: Event) -> None:
        with self.arrived:
            if (event.kind, event.rv) not in self._seen:
                self._seen.add((event.kind, event.rv))
                self.events.append(event)
                self.arrived.notify_all()

    def mark(self) -> int:
        with self.arrived:
            return len(self.events)

    def wait(self, predicate, what: str, since: int = 0, timeout: float = 300) -> Event:
        """The first event (in arrival order, from index ``since``) for which ``predicate`` holds."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                for event in self.events[since:]:
                    if predicate(event):
                        return event
                since = len(self.events)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"waited {timeout:.0f}s for {what}")
                self.arrived.wait(left)

    def ordered(self, kind: str, name: str, since: int = 0) -> list[Event]:
        with self.arrived:
            found = [e for e in self.events[since:] if e.kind == kind and e.name == name]
        return sorted(found, key=lambda e: e.rv)

    def state(self, rv: int | None = None) -> dict[tuple[str, str], dict | None]:
        """Each object as it was at resourceVersion ``rv`` (now, without one)."""
        with self.arrived:
            events = sorted(self.events, key=lambda e: e.rv)
        state = {}
        for event in events:
            if rv is None or event.rv <= rv:
                state[(event.kind, event.name)] = None if event.type == "DELETED" else event.obj
        return state


def in_namespaces(pid_namespace: bool = False, hostname: str | None = None) -> tuple[str, ...]:
    """The command prefix that starts a run in a new PID namespace and/or under another host name."""
    command = ["unshare"]
    if pid_namespace:
        command += ["--pid", "--fork", "--mount-proc"]
    if hostname:
        command += ["--uts", "sh", "-c", 'hostname "$0" && exec "$@"', hostname]
    return tuple(command) if len(command) > 1 else ()


class Run:
    """ansible-playbook playbooks/site.yml in its own session, its output in a file."""

    def __init__(self, sandbox, tmp_path: Path, extra: dict, *args: str, wrap: tuple[str, ...] = ()) -> None:
        self.mark = uuid.uuid4().hex
        extra_file = tmp_path / f"extra-{self.mark}.yml"
        extra_file.write_text(yaml.safe_dump({**RUN_VARS, **extra}))
        self.log = tmp_path / f"run-{self.mark}.log"
        environment = dict(
            os.environ,
            SANDBOX_DIR=str(sandbox.state_dir),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"),
            HOMELAB_TEST_RUN=self.mark,
        )
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [*wrap, str(PLAYBOOK), "playbooks/site.yml", *VAULT_ARGS, "-e", f"@{extra_file}", *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=environment,
                cwd=REPO_ROOT,
                start_new_session=True,
            )
        self.ended: float | None = None
        self._reaper = threading.Thread(target=self._reap, daemon=True)
        self._reaper.start()

    def _reap(self) -> None:
        self.process.wait()
        self.ended = time.monotonic()

    def finish(self, timeout: float = 600) -> Run:
        self._reaper.join(timeout)
        assert self.ended is not None, f"the run is still there after {timeout:.0f}s"
        return self

    @property
    def rc(self) -> int | None:
        return self.process.returncode

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def processes(self) -> list[int]:
        """Every process of this run, wherever it is now (its environment carries the run's mark)."""
        needle, found = f"HOMELAB_TEST_RUN={self.mark}".encode(), []
        for proc in Path("/proc").iterdir():
            with contextlib.suppress(OSError):
                if proc.name.isdigit() and needle in (proc / "environ").read_bytes().split(b"\0"):
                    found.append(int(proc.name))
        return found

    def kill(self, sig: signal.Signals, group: bool = True) -> float:
        (os.killpg if group else os.kill)(self.process.pid, sig)
        return time.monotonic()


def seconds_until(condition, since: float, what: str, timeout: float = 300) -> float:
    while not condition():
        if time.monotonic() - since > timeout:
            raise AssertionError(f"waited {timeout:.0f}s for {what}")
        time.sleep(0.05)
    return time.monotonic() - since


@pytest.fixture
def start(sandbox, tmp_path):
    """Start runs; any still there at the end is killed and waited for, so the next test starts clean."""
    runs = []

    def start_run(extra: dict, *args: str, wrap: tuple[str, ...] = ()) -> Run:
        runs.append(Run(sandbox, tmp_path, extra, *args, wrap=wrap))
        return runs[-1]

    yield start_run
    for run in runs:
        if run.ended is None:
            with contextlib.suppress(ProcessLookupError):
                run.kill(signal.SIGKILL)
    for run in runs:
        with contextlib.suppress(AssertionError):
            seconds_until(lambda run=run: not run.processes(), time.monotonic(), "the run's processes", 120)


@pytest.fixture
def knobs(sandbox):
    """Set the fake providers' knobs (providers.json) for one test."""
    path = sandbox.state_dir / "providers.json"
    yield lambda settings: path.write_text(json.dumps(settings))
    path.write_text("{}")


@pytest.fixture(scope="module")
def story(sandbox):
    """site.yml has run once: the current models are in, their state recorded; the keys, as they are now."""
    result = sandbox.playbook("site.yml", "-e", json.dumps(RUN_VARS))
    assert result.returncode == 0, result.stdout[-3000:]
    return Keys(vault_keys())


def parallel_model(sandbox, name: str) -> dict:
    provider = name.split("/", 1)[0]
    bases = json.loads((sandbox.state_dir / "provider-api-bases.json").read_text())
    return {
        "model_name": name,
        "litellm_params": {"model": name, "api_key": f"os.environ/{ENV_OF[provider]}", "api_base": bases[provider]},
    }


def model_names(config_text: str) -> list[str]:
    return [entry["model_name"] for entry in yaml.safe_load(config_text)["model_list"]]


def record_state(record: dict) -> dict:
    return json.loads(base64.b64decode(record["data"]["state.json"]))


def differing_keys(one: dict | None, other: dict | None) -> list[str]:
    """Names of the data keys whose values differ (never the values: they are keys)."""
    one, other = (one or {}).get("data") or {}, (other or {}).get("data") or {}
    return sorted(key for key in set(one) | set(other) if one.get(key) != other.get(key))


def record_differs_from_live(state: dict) -> list[str]:
    """What the record in ``state`` holds that the live ConfigMap and Secrets do not (names only)."""
    recorded = record_state(state[("secrets", RECORD)])
    found = []
    config = recorded["config"]
    if (state[("configmaps", config["configmap"])]["data"] or {}).get(config["key"]) != config["text"]:
        found.append(f"ConfigMap {config['configmap']}")
    for name, where in recorded["keys"].items():
        data = (state[("secrets", where["secret"])] or {}).get("data") or {}
        live = base64.b64decode(data[where["key"]]).decode() if where["key"] in data else None
        if live != where["value"]:
            found.append(name)
    return found


def lease_holders(history: History, since: int) -> list[str]:
    """The Lease's holders from event ``since`` on, in order, each change once ('' = free)."""
    holders = []
    for event in history.ordered("leases", LEASE, since):
        if not holders or holders[-1] != holder(event.obj):
            holders.append(holder(event.obj))
    return holders


def key_leaks(sandbox, outputs: list[str], secrets: Keys) -> list[str]:
    """Where a key shows up: in a run's output, a cluster object other than a Secret, or ~/.ansible/tmp (names)."""
    found = [f"output {index}: {name}" for index, text in enumerate(outputs) for name in leaked(text, secrets)]
    objects = sandbox.kubectl("get", "configmaps,leases,deployments,replicasets,pods,events", "-A", "-o", "json").stdout
    found += [f"cluster: {name}" for name in leaked(objects + decoded_base64(objects), secrets)]
    # Ansible's own temporary directories only: a molecule scenario keeps its sandbox's keys under ~/.ansible/tmp.
    return found + [leak for leak in ansible_tmp_leaks(secrets) if "/.ansible/tmp/ansible-" in leak]


def generation_bumps(history: History, since: int) -> list[Event]:
    """The Deployment events from event ``since`` on that changed its generation (a new pod template)."""
    recent = {event.rv for event in history.events[since:]}
    bumps, generation = [], None
    for event in history.ordered("deployments", "litellm"):
        if generation is not None and event.obj["metadata"]["generation"] != generation and event.rv in recent:
            bumps.append(event)
        generation = event.obj["metadata"]["generation"]
    return bumps


def innermost_pids(pids: list[int]) -> set[str]:
    """Each process's pid in its own PID namespace (the last NSpid field)."""
    found = set()
    for pid in pids:
        with contextlib.suppress(OSError, IndexError):
            found.add(Path(f"/proc/{pid}/status").read_text().split("NSpid:")[1].split("\n")[0].split()[-1])
    return found


def test_a_run_is_one_module_process(sandbox, story, tmp_path, start):
    """Counted by the interpreter itself: a wrapper that logs each start (the role pipelines the module)."""
    calls = tmp_path / "interpreter-starts"
    wrapper = tmp_path / "python"
    wrapper.write_text(f'#!/bin/sh\necho "$$" >> {calls}\nexec {PYTHON} "$@"\n')
    wrapper.chmod(0o755)
    change = {"litellm_api_keys": story, "litellm_parallel_models": [parallel_model(sandbox, "gemini/gemma-4-31b-it")]}
    for what, changed in (("with work", "changed=1"), ("with nothing to do", "changed=0")):
        calls.write_text("")
        run = start(change, "-e", f"ansible_python_interpreter={wrapper}").finish()
        assert run.rc == 0 and changed in run.output, run.output[-3000:]
        starts = calls.read_text().split()
        assert len(starts) == 1, f"a run {what} started the module interpreter {len(starts)} times"
        print(f"a run {what}: {len(starts)} module process")


def versions(sandbox) -> list:
    objects = (("cm", "litellm-config"), ("secret", "litellm-secrets"), ("secret", RECORD))
    return [sandbox.resource_version(kind, name) for kind, name in objects] + [sandbox.generation()]


def test_tags_select_the_whole_run_or_none_of_it(sandbox, story, tmp_path, start):
    model = "gemini/gemini-3.1-flash-lite"
    change = {"litellm_api_keys": story, "litellm_parallel_models": [parallel_model(sandbox, model)]}
    with History(sandbox) as history:
        since, before = history.mark(), versions(sandbox)
        nothing = start(change, "--tags", "litellm_config").finish()
        written = [f"{e.kind}/{e.name}" for e in history.events[since:] if e.kind != "deployments"]
        assert written == [], f"--tags litellm_config wrote {written}:\n{nothing.output[-2000:]}"
        assert generation_bumps(history, since) == []
    assert versions(sandbox) == before
    assert model not in model_names(sandbox.config_text())

    whole = start(change, "--tags", "litellm").finish()
    assert whole.rc == 0, whole.output[-3000:]
    assert model in model_names(sandbox.config_text())
    assert sandbox.generation() > before[-1], "written but not restarted"
    recorded = sandbox.get("secret", RECORD)
    assert recorded["metadata"]["annotations"]["homelab.litellm/verified"] == "true"
    assert model in model_names(record_state(recorded)["config"]["text"]), "written but not recorded"


HIJACK = {
    "same-host": (None, "gemini/gemini-3.6-flash", "mistral/mistral-medium-3-5"),
    "other-host": ("ctl-a", "gemini/gemini-3.5-flash", "mistral/mistral-medium-latest"),
}


@pytest.mark.parametrize("case", list(HIJACK))
def test_a_run_in_another_pid_namespace_keeps_its_lock(sandbox, story, tmp_path, trickle, start, case):
    """Run A in its own PID namespace (where the host cannot see its pids), B on the host during A's rollout."""
    hostname, model_a, model_b = HIJACK[case]
    secrets = Keys(sandbox.secrets())
    with History(sandbox) as history, trickle(interval=0.2) as load:
        since, generation = history.mark(), sandbox.generation()
        a = start(
            {"litellm_api_keys": story, "litellm_parallel_models": [parallel_model(sandbox, model_a)]},
            wrap=in_namespaces(pid_namespace=True, hostname=hostname),
        )
        taken = history.wait(lambda e: e.kind == "leases" and holder(e.obj), "run A to take the lock", since)
        history.wait(
            lambda e: e.kind == "deployments" and e.obj["metadata"]["generation"] > generation, "A's restart", since
        )
        assert "1" in innermost_pids(a.processes()), "run A is not in a PID namespace of its own"
        seen = len(sandbox.provider_requests())
        b = start({"litellm_api_keys": story, "litellm_parallel_models": [parallel_model(sandbox, model_b)]})
        a.finish()
        b.finish()
    assert a.rc == 0, a.output[-3000:]
    assert b.rc == 0, b.output[-3000:]
    assert b.ended > a.ended
    holder_a = holder(taken.obj)
    if hostname:
        assert f"@{hostname} run=" in holder_a
    holders = lease_holders(history, since)
    assert len(holders) == 4 and holders == [holder_a, "", holders[2], ""], holders
    holder_b = holders[2]
    assert holder_b not in ("", holder_a)
    leases = history.ordered("leases", LEASE, since)
    released = next(e for e in leases if e.rv > taken.rv and not holder(e.obj))
    took = next(e for e in leases if holder(e.obj) == holder_b)
    assert lease_time(took.obj, "acquireTime") > lease_time(released.obj, "renewTime")
    # B was waiting for the lock while A held it: its provider check (its last step before the lock) came first.
    check = next(r for r in sandbox.provider_requests()[seen:] if r["provider"] == "mistral" and r["method"] == "GET")
    assert datetime.datetime.fromisoformat(check["time"]).timestamp() < lease_time(released.obj, "renewTime")
    # Each restart under its own run's lock, B's only after A's rollout was complete.
    bumps = generation_bumps(history, since)
    assert len(bumps) == 2 and taken.rv < bumps[0].rv < released.rv < took.rv < bumps[1].rv, [e.rv for e in bumps]
    complete = [e for e in history.ordered("deployments", "litellm") if bumps[0].rv <= e.rv < bumps[1].rv]
    assert any(rollout_complete(e.obj) for e in complete), "B restarted LiteLLM before A's rollout was complete"
    live = sandbox.config_text()
    recorded = record_state(sandbox.get("secret", RECORD))["config"]["text"]
    for model in (model_a, model_b):
        assert model in model_names(live) and model in model_names(recorded)
        status, answer = sandbox.chat(model)
        assert status == 200, answer
    assert load.failures == [], load.failures[:5]
    assert key_leaks(sandbox, [a.output, b.output], secrets) == []
    print(f"{case}: A held the lock {released.at - taken.at:.1f}s; B took it {took.at - released.at:.1f}s later")


# Where each run is cut: (what the test waits for, the signal, to the whole process group?).
KILLS = {
    "config-written-KILL-group": ("config written", signal.SIGKILL, True, "groq/groq/compound"),
    "rollout-KILL-group": ("rollout", signal.SIGKILL, True, "groq/groq/compound-mini"),
    "verify-KILL-group": ("verify", signal.SIGKILL, True, "mistral/mistral-small-2603"),
    "rollout-KILL-playbook-only": ("rollout", signal.SIGKILL, False, "groq/qwen/qwen3.8-27b"),
    "rollout-INT-group": ("rollout", signal.SIGINT, True, "gemini/gemma-4-26b-a4b-it"),
}


def arrived(sandbox, condition, what: str, seen: int) -> None:
    """Wait until a fake provider has answered a request (it logs each once answered) that meets ``condition``."""
    seconds_until(lambda: any(condition(r) for r in sandbox.provider_requests()[seen:]), time.monotonic(), what)


def wait_for_cut(history: History, since: int, generation: int, before: dict, step: str, model: str, seen) -> None:
    if step == "config written":
        config = before[("configmaps", "litellm-config")]["metadata"]["resourceVersion"]
        history.wait(
            lambda e: (
                e.kind == "configmaps" and e.name == "litellm-config" and e.obj["metadata"]["resourceVersion"] != config
            ),
            "the config write",
            since,
        )
    elif step == "rollout":
        history.wait(
            lambda e: e.kind == "deployments" and e.obj["metadata"]["generation"] > generation, "the restart", since
        )
    else:  # verify: the new model answered its smoke request; the rotated Groq models' are still to come (slow)
        model_id = model.split("/", 1)[1]
        arrived(history.sandbox, lambda r: r["method"] == "POST" and r["model"] == model_id, "its smoke request", seen)


def first_undo(before: dict):
    """Whether an event is a cut run's first undo: its config written back, or its lock freed."""
    config = before[("configmaps", "litellm-config")]["data"]
    return lambda e: (
        (e.kind, e.name, e.obj.get("data")) == ("configmaps", "litellm-config", config)
        or (e.kind == "leases" and not holder(e.obj))
    )


@pytest.mark.parametrize("case", list(KILLS))
def test_killed_run_is_undone_and_the_lock_freed(sandbox, story, tmp_path, trickle, start, knobs, case):
    step, sent, group, model = KILLS[case]
    key = issued_key("groq")
    sandbox.accept_keys("groq", [story["GROQ_API_KEY"], key])
    change = {
        "litellm_api_keys": Keys(story, GROQ_API_KEY=key),
        "litellm_parallel_models": [parallel_model(sandbox, model)],
    }
    knobs({"latency_ms": {"groq/openai/gpt-oss-120b": SLOW_MS}} if step == "verify" else {})
    secrets = Keys(sandbox.secrets(), new_groq_key=key)
    with History(sandbox) as history, trickle(interval=0.2) as load:
        since, generation, before = history.mark(), sandbox.generation(), history.state()
        seen = len(sandbox.provider_requests())
        cut = start(change, "-vvv")
        wait_for_cut(history, since, generation, before, step, model, seen)
        at_kill = history.mark()
        killed = cut.kill(sent, group)
        follow = start(change, wrap=in_namespaces(hostname="ctl-b"))
        noticed = history.wait(first_undo(before), "the cut run's first undo (or its end)", at_kill, 120).at - killed
        knobs({})  # only now: the slow answer held the cut run in its verification until it noticed
        gone = seconds_until(lambda: not cut.processes(), killed, "the cut run's processes to end", 120)
        cut.finish(60)
        follow.finish()
    assert cut.rc != 0, "the run was not cut: " + cut.output[-2000:]
    leases = history.ordered("leases", LEASE, since)
    holder_cut = next(holder(e.obj) for e in leases if holder(e.obj))
    assert "@ctl-b run=" not in holder_cut
    freed = next((e for e in leases if e.at > killed and holder(e.obj) != holder_cut), None)
    assert freed is not None, f"the cut run's lock was never freed: {lease_holders(history, since)}"
    last_renewal = [e for e in leases if holder(e.obj) == holder_cut][-1]
    free = min(freed.at, last_renewal.at + last_renewal.obj["spec"]["leaseDurationSeconds"]) - killed
    after = history.state(freed.rv)
    recorded = (
        after[("secrets", RECORD)]["metadata"]["resourceVersion"]
        != before[("secrets", RECORD)]["metadata"]["resourceVersion"]
    )
    print(
        f"{case} ({'recorded before' if recorded else 'undone after'} the cut): noticed {noticed:.1f}s, processes "
        f"gone {gone:.1f}s, Lease free {free:.1f}s, run from ctl-b succeeded {follow.ended - killed:.1f}s after the cut"
    )
    if not recorded:
        assert differing_keys(after[("configmaps", "litellm-config")], before[("configmaps", "litellm-config")]) == []
        assert differing_keys(after[("secrets", "litellm-secrets")], before[("secrets", "litellm-secrets")]) == []
    else:  # the cut landed after the record: then the record is what is live
        assert record_differs_from_live(after) == []
    # The promise is the notice; how long the rollback then takes (a rollout back, a verification) is
    # LiteLLM's and the machine's time, printed above for the release note, bounded only by the waits.
    assert noticed <= NOTICE
    assert follow.rc == 0, follow.output[-4000:]
    assert load.failures == [], load.failures[:5]
    rotated = sandbox.secret_value("GROQ_API_KEY") == key  # not in the assert: pytest would print both values
    assert rotated, "the Secret does not hold the run's new Groq key"
    assert key_leaks(sandbox, [cut.output, follow.output], secrets) == []
    story["GROQ_API_KEY"] = key
    assert_verified_and_settled(sandbox, tmp_path, change, [model])


def test_run_killed_while_waiting_for_the_lock_never_takes_it(sandbox, story, tmp_path, trickle, start, knobs):
    """X holds the lock (its new model answers slowly, so its verification lasts); Y from host ctl-y waits."""
    model_x, model_y = "gemini/gemini-3.7-flash", "mistral/codestral-latest"
    knobs({"latency_ms": {model_x: 8000}})
    change_x = {"litellm_api_keys": story, "litellm_parallel_models": [parallel_model(sandbox, model_x)]}
    change_y = {"litellm_api_keys": story, "litellm_parallel_models": [parallel_model(sandbox, model_y)]}
    secrets = Keys(sandbox.secrets())
    with History(sandbox) as history, trickle(interval=0.2) as load:
        since = history.mark()
        x = start(change_x)
        taken = history.wait(lambda e: e.kind == "leases" and holder(e.obj), "run X to take the lock", since)
        seen = len(sandbox.provider_requests())
        y = start(change_y, wrap=in_namespaces(hostname="ctl-y"))
        check = "run Y's provider check (its last step before the lock)"
        arrived(sandbox, lambda r: r["provider"] == "mistral" and r["method"] == "GET", check, seen)
        time.sleep(2)  # from its provider check to its first look at the Lease is a few milliseconds
        assert holder(history.ordered("leases", LEASE)[-1].obj) == holder(taken.obj), "X no longer held the lock"
        killed = y.kill(signal.SIGKILL)
        follow = start(change_y, wrap=in_namespaces(hostname="ctl-b"))
        gone = seconds_until(lambda: not y.processes(), killed, "the waiting run's processes to end", 120)
        x.finish()
        follow.finish()
    holders = lease_holders(history, since)
    assert not [h for h in holders if "@ctl-y run=" in h], holders
    assert len(holders) == 4 and holders == [holder(taken.obj), "", holders[2], ""], holders
    assert "@ctl-b run=" in holders[2]
    released = next(e for e in history.ordered("leases", LEASE, since) if e.rv > taken.rv and not holder(e.obj))
    print(
        f"killed while waiting: processes gone {gone:.1f}s; X freed the Lease {released.at - killed:.1f}s and the "
        f"run from ctl-b succeeded {follow.ended - killed:.1f}s after the kill"
    )
    # It held nothing to undo: noticing is all it has to do before it exits.
    assert gone <= 2 * NOTICE
    assert x.rc == 0, x.output[-3000:]
    assert follow.rc == 0, follow.output[-3000:]
    live = model_names(sandbox.config_text())
    assert model_x in live and model_y in live
    assert load.failures == [], load.failures[:5]
    assert key_leaks(sandbox, [x.output, y.output, follow.output], secrets) == []
