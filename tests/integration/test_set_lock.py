"""One run at a time per LiteLLM *set*, whichever Deployment a run names (issue 20), on the default shape.

After site.yml has set up the models, litellm-backend joins as in test_readers.py (the story Deployment
copied under another name, same ConfigMap and Secret, its own Service). Then two ansible-playbook runs
start together: one names litellm and adds one model, the other names litellm-backend and adds
another. Each takes the Lease of every member of the set (homelab-litellm-litellm, then
homelab-litellm-litellm-backend), so they run one after the other: the Leases, sampled all along, never
have two different holders at once; the run that goes second plans from what the first left and keeps
its model; both succeed; both models are in the config and listed by both Deployments; both records hold
the same verified state; the Leases end free.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from tests.integration.test_readers import (
    BACKEND,
    LOAD_LIMITS,
    backend_from,
    backend_service,
    extra_model,
    listed,
    rollout,
)
from tests.integration.test_reliability import start_site as reliability_start_site

pytestmark = pytest.mark.litellm

LEASES = ["homelab-litellm-litellm", "homelab-litellm-litellm-backend"]
NAMED_GATEWAY = "groq/groq/compound-mini"
NAMED_BACKEND = "groq/groq/compound"


@pytest.fixture(scope="module")
def with_backend(sandbox):
    """site.yml has run once (litellm alone); then litellm-backend joins, running what litellm runs."""
    path = sandbox.state_dir / "set-lock-limits.yml"
    path.write_text(yaml.safe_dump(LOAD_LIMITS))
    result = sandbox.playbook("site.yml", "-e", f"@{path}")
    assert result.returncode == 0, result.stdout[-3000:]
    litellm = sandbox.get("deployment", "litellm")
    sandbox.kubectl("apply", "-f", "-", input=json.dumps(backend_from(litellm)))
    sandbox.kubectl("apply", "-f", "-", input=json.dumps(backend_service()))
    rollout(sandbox, BACKEND)
    return sandbox


def start_site(sandbox, tmp_path: Path, name: str, extra: dict) -> subprocess.Popen:
    """test_reliability's site.yml in the background, with its own report file."""
    return reliability_start_site(sandbox, tmp_path, dict(extra, litellm_report_path=str(tmp_path / f"{name}.json")))


def lease_holders(sandbox) -> dict:
    found = json.loads(sandbox.kubectl("-n", "ml", "get", "leases", "-o", "json").stdout)["items"]
    return {
        lease["metadata"]["name"]: (lease.get("spec") or {}).get("holderIdentity") or ""
        for lease in found
        if lease["metadata"]["name"] in LEASES
    }


class LeaseSampler(threading.Thread):
    """Samples the set's Leases until stopped: [(seconds since start, {lease: holder})]."""

    def __init__(self, sandbox):
        super().__init__(daemon=True)
        self.sandbox, self.samples, self.done = sandbox, [], threading.Event()
        self.started = time.monotonic()

    def run(self):
        while not self.done.is_set():
            self.samples.append((time.monotonic() - self.started, lease_holders(self.sandbox)))
            self.done.wait(0.2)


def digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def record_of(sandbox, deployment: str) -> dict:
    """The record's state (config, keys, models) and its run and verified annotations."""
    secret = sandbox.get("secret", f"{deployment}-known-good")
    state = json.loads(base64.b64decode(secret["data"]["state.json"]))
    annotations = secret["metadata"]["annotations"]
    return dict(state, verified=annotations["homelab.litellm/verified"], run=annotations["homelab.litellm/run"])


def test_two_runs_naming_different_members_run_one_after_the_other(with_backend, tmp_path):
    sandbox = with_backend
    sampler = LeaseSampler(sandbox)
    sampler.start()
    started = time.monotonic()
    runs = {
        "litellm": start_site(
            sandbox, tmp_path, "gateway", {"litellm_parallel_models": [extra_model(sandbox, NAMED_GATEWAY)]}
        ),
        BACKEND: start_site(
            sandbox,
            tmp_path,
            "backend",
            {"litellm_deployment": BACKEND, "litellm_parallel_models": [extra_model(sandbox, NAMED_BACKEND)]},
        ),
    }
    outputs, ended = {}, {}
    readers = {
        name: threading.Thread(target=lambda n=name: outputs.__setitem__(n, runs[n].stdout.read()), daemon=True)
        for name in runs
    }
    for reader in readers.values():
        reader.start()
    while len(ended) < len(runs):
        assert time.monotonic() - started < 1200, "the runs did not end"
        for name, process in runs.items():
            if name not in ended and process.poll() is not None:
                ended[name] = time.monotonic() - started
        time.sleep(0.2)
    for reader in readers.values():
        reader.join(30)
    sampler.done.set()
    sampler.join(10)
    for name, process in runs.items():
        assert process.returncode == 0, "%s: %s" % (name, outputs[name][-3000:])

    # Never two runs in the set at once: at no sample do the Leases have two different holders.
    overlaps = [(at, holders) for at, holders in sampler.samples if len({h for h in holders.values() if h}) > 1]
    assert overlaps == [], overlaps[:5]
    seen = [holders.get(LEASES[0]) for _at, holders in sampler.samples]
    holders_in_turn = [h for i, h in enumerate(seen) if h and (i == 0 or seen[i - 1] != h)]
    assert len(set(holders_in_turn)) == 2 and len(holders_in_turn) == 2, holders_in_turn
    both = [at for at, holders in sampler.samples if all(holders.get(name) for name in LEASES)]
    assert both, "a run held the Lease of every member"

    reports = {name: json.loads((tmp_path / f"{name}.json").read_text()) for name in ("gateway", "backend")}
    waited = {
        name: sum(step["seconds"] for step in report["steps"] if step["step"] == "lock")
        for name, report in reports.items()
    }
    config = yaml.safe_load(sandbox.get("configmap", "litellm-config")["data"]["config.yaml"])
    names = [entry["model_name"] for entry in config["model_list"]]
    assert NAMED_GATEWAY in names and NAMED_BACKEND in names, names
    for service in ("litellm", BACKEND):
        served = listed(sandbox, service)
        assert NAMED_GATEWAY in served and NAMED_BACKEND in served, (service, served)
    # The set's record: the same verified state in every member's record.
    gateway, backend = record_of(sandbox, "litellm"), record_of(sandbox, BACKEND)
    for field in ("config", "keys", "models", "run"):
        # Compared by digest: a failing assertion must not print the keys.
        assert digest(gateway[field]) == digest(backend[field]), field
    assert gateway["verified"] == backend["verified"] == "true"
    assert NAMED_GATEWAY in gateway["models"] and NAMED_BACKEND in gateway["models"]
    assert lease_holders(sandbox) == dict.fromkeys(LEASES, "")
    print(
        "two runs on one set: ended after %.1fs (litellm) and %.1fs (%s); lock steps %s; %d samples"
        % (ended["litellm"], ended[BACKEND], BACKEND, waited, len(sampler.samples))
    )
