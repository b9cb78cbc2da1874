"""site.yml under what operators meet: Ctrl-C, kill -9, two runs at once, hand edits.

Each interruption hits a run that adds a model and rotates the Groq key, at a chosen step. The run
is one module process, so the step is seen from outside, in the cluster, as an operator would see
it: the ConfigMap's or the Secret's resourceVersion moving, the Deployment's generation moving (the
restart), the fake provider getting the smoke request (the verification). The signal then goes to
ansible-playbook's process group, as a terminal's Ctrl-C does (the module runs in the worker's own
session, so it learns of it by its controller going away). A plain re-run must end in a verified
state (the record equals what is live, a further run has nothing to do), no ReplicaSet with a
crash-looping pod may keep replicas, and a steady load on the chain and on the rotated provider's
model must get no failed request. No secret may show up in the output or be left in ~/.ansible/tmp.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT, VAULT_ARGS, Keys, ansible_tmp_leaks, issued_key, leaked, vault_keys

pytestmark = pytest.mark.litellm

GROQ_MODEL = "groq/openai/gpt-oss-120b"
# What each step looks like from the cluster, and how long after it was seen the signal goes.
STEPS = {
    "config written": ("configmap", 0),
    "secret written": ("secret", 0),
    "during the rollout": ("generation", 3.0),
    "during verify": ("smoke request", 0),
}
# Models the strict fakes serve that the presets do not add: one per interruption case.
EXTRA_MODELS = [
    "groq/groq/compound",
    "groq/groq/compound-mini",
    "groq/qwen/qwen3.8-27b",
    "gemini/gemini-3.7-flash",
    "gemini/gemini-3.6-flash",
    "gemini/gemini-3.5-flash",
    "gemini/gemini-3.1-flash-lite",
    "mistral/codestral-latest",
]
ENV_OF = {"groq": "GROQ_API_KEY", "gemini": "GEMINI_API_KEY", "mistral": "MISTRAL_API_KEY"}
# The steady load below sends Groq more than its free-tier 30 requests a minute; LiteLLM would
# (rightly) hold the excess. These tests are about interruptions, not rate limits.
LOAD_LIMITS = {"litellm_limits": {"groq": {"rpm": 1200, "tpm": 1000000}}}


def extra_model(name: str, api_bases: dict) -> dict:
    provider = name.split("/", 1)[0]
    return {
        "model_name": name,
        "litellm_params": {"model": name, "api_key": f"os.environ/{ENV_OF[provider]}", "api_base": api_bases[provider]},
    }


def step_seen(sandbox, what: str, model: str | None = None):
    """A function that is true once the run has reached ``what`` (see STEPS), from the cluster's side."""
    if what == "configmap":
        before = sandbox.resource_version("configmap", "litellm-config")
        return lambda: sandbox.resource_version("configmap", "litellm-config") != before
    if what == "secret":
        before = sandbox.resource_version("secret", "litellm-secrets")
        return lambda: sandbox.resource_version("secret", "litellm-secrets") != before
    if what == "generation":
        before = sandbox.generation()
        return lambda: sandbox.generation() != before
    sent = len(sandbox.provider_requests())
    wanted = (model or "").split("/", 1)[-1]
    return lambda: any(wanted and wanted in json.dumps(r) for r in sandbox.provider_requests()[sent:])


def run_site(sandbox, tmp_path: Path, extra: dict, *args: str, interrupt=None) -> subprocess.CompletedProcess:
    """site.yml with ``extra`` vars (a file: keys must not be on the command line), maybe interrupted.

    ``interrupt`` is (step seen, delay, signal name): the signal goes to the run's process group
    ``delay`` seconds after the step was seen. An interrupted run that is still there a minute later
    gets what an operator would give it: Ctrl-C again, then kill -9.
    """
    extra_file = tmp_path / f"extra-{time.monotonic_ns()}.yml"
    extra_file.write_text(yaml.safe_dump(dict(LOAD_LIMITS, **extra)))
    if not interrupt:
        return sandbox.playbook("site.yml", "-e", f"@{extra_file}", *args)
    seen, delay, sent = interrupt
    environment = dict(
        os.environ,
        SANDBOX_DIR=str(sandbox.state_dir),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"),
    )
    process = subprocess.Popen(
        [
            str(REPO_ROOT / ".venv/bin/ansible-playbook"),
            "playbooks/site.yml",
            *VAULT_ARGS,
            "-e",
            f"@{extra_file}",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        cwd=REPO_ROOT,
        start_new_session=True,
    )

    def watch() -> None:
        deadline = time.monotonic() + 240
        while process.poll() is None and time.monotonic() < deadline:
            if seen():
                time.sleep(delay)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, getattr(signal, "SIG" + sent))
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    for escalation in (None, signal.SIGINT, signal.SIGKILL):
        if escalation is not None:
            print(f"interrupted run still there: sending {escalation.name}")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, escalation)
        try:
            stdout, stderr = process.communicate(timeout=300 if escalation is None else 20)
            break
        except subprocess.TimeoutExpired:
            continue
    watcher.join(timeout=5)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def api_bases(sandbox) -> dict:
    return json.loads((sandbox.state_dir / "provider-api-bases.json").read_text())


def assert_verified_and_settled(sandbox, tmp_path: Path, extra: dict, models: list[str]) -> None:
    """The record equals the live state, and a further identical run has nothing to do."""
    record = sandbox.get("secret", "litellm-known-good")
    assert record["metadata"]["annotations"]["homelab.litellm/verified"] == "true"
    assert sandbox.crashlooping_replicasets() == []
    generation = sandbox.generation()
    again = run_site(sandbox, tmp_path, extra)
    assert again.returncode == 0, again.stdout[-3000:]
    assert "changed=0" in again.stdout, again.stdout[-2000:]
    assert sandbox.generation() == generation
    report = json.loads((sandbox.state_dir / "last-run.json").read_text())
    assert report["unverified"]["config"] is False and report["unverified"]["keys"] == [], report["unverified"]
    served = yaml.safe_load(sandbox.config_text())
    names = [entry["model_name"] for entry in served["model_list"]]
    for model in models:
        assert model in names
        status, answer = sandbox.chat(model)
        assert status == 200, answer


@pytest.fixture(scope="module")
def story(sandbox):
    """site.yml has run once: the current models are in, their state recorded; the keys, shown by name only."""
    result = sandbox.playbook("site.yml", "-e", json.dumps(LOAD_LIMITS))
    assert result.returncode == 0, result.stdout[-3000:]
    return Keys(vault_keys())


CASES = [(step, signal) for signal in ("INT", "KILL") for step in STEPS]


@pytest.mark.parametrize("step,signal", CASES, ids=[f"{s}-{g}" for s, g in CASES])
def test_interrupted_run_then_plain_rerun_ends_verified(sandbox, story, tmp_path, trickle, step, signal):
    model = EXTRA_MODELS[CASES.index((step, signal))]
    key = issued_key("groq")
    sandbox.accept_keys("groq", [sandbox.secret_value("GROQ_API_KEY"), key])
    extra = {
        "litellm_api_keys": Keys(story, GROQ_API_KEY=key),
        "litellm_parallel_models": [extra_model(model, api_bases(sandbox))],
    }
    secrets = dict(sandbox.secrets(), new_groq_key=key)
    what, delay = STEPS[step]
    with trickle(interval=0.2, models=("vllm-qwen", GROQ_MODEL)) as load:
        started = time.monotonic()
        cut = run_site(sandbox, tmp_path, extra, "-vvv", interrupt=(step_seen(sandbox, what, model), delay, signal))
        assert cut.returncode != 0, "the run was not interrupted: " + cut.stdout[-2000:]
        assert leaked(cut.stdout + cut.stderr, secrets) == []
        assert ansible_tmp_leaks(secrets) == []
        rerun = run_site(sandbox, tmp_path, extra)
        converged = time.monotonic() - started
    assert rerun.returncode == 0, rerun.stdout[-4000:]
    assert load.failures == [], load.failures[:5]
    assert load.answered[GROQ_MODEL] > 0
    assert sandbox.secret_value("GROQ_API_KEY") == key
    assert_verified_and_settled(sandbox, tmp_path, extra, [model, GROQ_MODEL])
    print(f"{signal} {step}: converged in {converged:.1f}s, {load.ok} requests answered, 0 failed")
    story["GROQ_API_KEY"] = key


def test_interrupted_crashing_config_is_rolled_back_by_the_rerun(sandbox, story, tmp_path, trickle):
    """Ctrl-C right after a config LiteLLM exits on was written; the same run again restores."""
    before = sandbox.config_text()
    extra = {"litellm_api_keys": story, "litellm_router_settings": {"routing_strategy": "nonsense"}}
    with trickle(interval=0.2) as load:
        started = time.monotonic()
        cut = run_site(sandbox, tmp_path, extra, interrupt=(step_seen(sandbox, "configmap"), 0, "INT"))
        assert cut.returncode != 0
        # The interrupted run undoes its own write before it lets go of the lock.
        wait_for_no_holder(sandbox)
        assert sandbox.config_text() == before
        rerun = run_site(sandbox, tmp_path, extra)
        converged = time.monotonic() - started
    output = rerun.stdout + rerun.stderr
    assert rerun.returncode != 0
    assert "CrashLoopBackOff" in output or "exit code" in output, output[-3000:]
    assert "Put back the last verified state" in output, output[-3000:]
    assert sandbox.config_text() == before
    assert sandbox.crashlooping_replicasets() == []
    assert load.failures == [], load.failures[:5]
    assert_verified_and_settled(sandbox, tmp_path, {"litellm_api_keys": story}, [GROQ_MODEL])
    print(f"crashing config after Ctrl-C: converged in {converged:.1f}s, 0 failed of {load.ok}")


def start_site(sandbox, tmp_path: Path, extra: dict) -> subprocess.Popen:
    extra_file = tmp_path / f"extra-{time.monotonic_ns()}.yml"
    extra_file.write_text(yaml.safe_dump(dict(LOAD_LIMITS, **extra)))
    environment = dict(
        os.environ,
        SANDBOX_DIR=str(sandbox.state_dir),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"),
    )
    return subprocess.Popen(
        [str(REPO_ROOT / ".venv/bin/ansible-playbook"), "playbooks/site.yml", *VAULT_ARGS, "-e", f"@{extra_file}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
        cwd=REPO_ROOT,
    )


def lease_holder(sandbox) -> str:
    found = sandbox.kubectl("-n", "ml", "get", "lease", "homelab-litellm-litellm", "-o", "json", check=False)
    return (json.loads(found.stdout)["spec"].get("holderIdentity") or "") if found.returncode == 0 else ""


def wait_for_no_holder(sandbox, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while lease_holder(sandbox):
        assert time.monotonic() < deadline, "the interrupted run never let go of the lock"
        time.sleep(0.2)


def wait_for_holder(sandbox, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sandbox.kubectl("-n", "ml", "get", "lease", "homelab-litellm-litellm", "-o", "json", check=False)
        if found.returncode == 0:
            holder = json.loads(found.stdout)["spec"].get("holderIdentity")
            if holder:
                return holder
        time.sleep(0.1)
    raise AssertionError("no run took the lock")


@pytest.mark.parametrize("failing_first", [True, False], ids=["failing-first", "good-first"])
def test_two_runs_at_once_one_failing(sandbox, story, tmp_path, failing_first):
    """A run whose new model fails verification and a good run, concurrently, in both orders."""
    bases = api_bases(sandbox)
    # Models no earlier test added, so that each run has work.
    bad_model, good_model = (
        ("mistral/mistral-medium-latest", "gemini/gemma-4-31b-it")
        if failing_first
        else ("mistral/mistral-small-2603", "gemini/gemma-4-26b-a4b-it")
    )
    knobs = sandbox.state_dir / "providers.json"
    knobs.write_text(json.dumps({"fail": {bad_model: 503}}))
    try:
        bad = {"litellm_api_keys": story, "litellm_parallel_models": [extra_model(bad_model, bases)]}
        good = {"litellm_api_keys": story, "litellm_parallel_models": [extra_model(good_model, bases)]}
        first, second = (bad, good) if failing_first else (good, bad)
        one = start_site(sandbox, tmp_path, first)
        try:
            holder = wait_for_holder(sandbox)
        except AssertionError:
            one.kill()
            raise AssertionError("the first run never held the lock:\n" + one.communicate()[0][-3000:])
        two = start_site(sandbox, tmp_path, second)
        out_one, _ = one.communicate(timeout=600)
        out_two, _ = two.communicate(timeout=600)
    finally:
        knobs.write_text("{}")
    bad_out, bad_rc = (out_one, one.returncode) if failing_first else (out_two, two.returncode)
    good_out, good_rc = (out_two, two.returncode) if failing_first else (out_one, one.returncode)
    assert good_rc == 0, good_out[-4000:]
    assert bad_rc != 0, bad_out[-4000:]
    assert "Put back the last verified state" in bad_out, bad_out[-3000:]
    names = [entry["model_name"] for entry in yaml.safe_load(sandbox.config_text())["model_list"]]
    assert good_model in names and bad_model not in names
    record = yaml.safe_load(
        json.loads(base64.b64decode(sandbox.get("secret", "litellm-known-good")["data"]["state.json"]))["config"][
            "text"
        ]
    )
    assert good_model in [entry["model_name"] for entry in record["model_list"]]
    assert holder and sandbox.crashlooping_replicasets() == []
    status, answer = sandbox.chat(good_model)
    assert status == 200, answer


def test_hand_edited_invalid_yaml_is_refused_without_a_restart(sandbox, story, tmp_path):
    good = sandbox.config_text()
    cm = sandbox.get("configmap", "litellm-config")
    cm["data"]["config.yaml"] = good.replace("model_list:", "model_list: [", 1)
    sandbox.kubectl("replace", "-f", "-", input=json.dumps(cm))
    generation = sandbox.generation()
    try:
        result = run_site(sandbox, tmp_path, {"litellm_api_keys": story})
        assert result.returncode != 0
        assert "not valid YAML" in result.stdout and "LiteLLM was not restarted" in result.stdout, result.stdout
        assert sandbox.generation() == generation
    finally:
        cm = sandbox.get("configmap", "litellm-config")
        cm["data"]["config.yaml"] = good
        sandbox.kubectl("replace", "-f", "-", input=json.dumps(cm))


def test_hand_edited_duplicate_key_is_refused_truthfully(sandbox, story, tmp_path):
    good = sandbox.config_text()
    cm = sandbox.get("configmap", "litellm-config")
    cm["data"]["config.yaml"] = good + "router_settings:\n  num_retries: 3\n"
    sandbox.kubectl("replace", "-f", "-", input=json.dumps(cm))
    generation = sandbox.generation()
    try:
        result = run_site(sandbox, tmp_path, {"litellm_api_keys": story})
        assert result.returncode != 0
        assert "'router_settings' twice" in result.stdout and "PyYAML" in result.stdout, result.stdout[-2000:]
        assert "exits at start-up" not in result.stdout
        assert sandbox.generation() == generation
    finally:
        cm = sandbox.get("configmap", "litellm-config")
        cm["data"]["config.yaml"] = good
        sandbox.kubectl("replace", "-f", "-", input=json.dumps(cm))


def test_hand_deleted_managed_entry_is_repaired_and_proved(sandbox, story, tmp_path):
    config = yaml.safe_load(sandbox.config_text())
    config["model_list"] = [entry for entry in config["model_list"] if entry["model_name"] != GROQ_MODEL]
    cm = sandbox.get("configmap", "litellm-config")
    cm["data"]["config.yaml"] = yaml.safe_dump(config, sort_keys=False)
    sandbox.kubectl("replace", "-f", "-", input=json.dumps(cm))
    result = run_site(sandbox, tmp_path, {"litellm_api_keys": story})
    assert result.returncode == 0, result.stdout[-3000:]
    report = json.loads((sandbox.state_dir / "last-run.json").read_text())
    assert GROQ_MODEL in [smoke["model"] for smoke in report["smoke"]]
    assert_verified_and_settled(sandbox, tmp_path, {"litellm_api_keys": story}, [GROQ_MODEL])


@pytest.mark.parametrize(
    "extra,expected",
    [
        ({"litellm_secret": "nope"}, "(litellm_secret) nope"),
        ({"litellm_namespace": "nope"}, "Deployment nope/litellm not found"),
    ],
    ids=["secret-not-loaded", "no-such-namespace"],
)
def test_refused_before_any_write_and_never_restarted(sandbox, story, tmp_path, extra, expected):
    generation = sandbox.generation()
    versions = {
        kind: sandbox.resource_version(kind, name)
        for kind, name in (("configmap", "litellm-config"), ("secret", "litellm-secrets"))
    }
    result = run_site(sandbox, tmp_path, dict(extra, litellm_api_keys=Keys(story, GROQ_API_KEY=issued_key("groq"))))
    assert result.returncode != 0
    assert expected in result.stdout, result.stdout[-3000:]
    assert "Nothing was written" in result.stdout
    assert "Put back" not in result.stdout and "rolled back" not in result.stdout.lower()
    assert sandbox.generation() == generation
    assert {
        kind: sandbox.resource_version(kind, name)
        for kind, name in (("configmap", "litellm-config"), ("secret", "litellm-secrets"))
    } == versions


def test_literal_key_in_a_model_entry_is_refused_and_never_printed(sandbox, story, tmp_path):
    literal = issued_key("groq")
    bases = api_bases(sandbox)
    model = dict(extra_model("groq/groq/compound-mini", bases))
    model["litellm_params"] = dict(model["litellm_params"], api_key=literal)
    result = run_site(sandbox, tmp_path, {"litellm_api_keys": story, "litellm_parallel_models": [model]}, "-vvvv")
    assert result.returncode != 0
    assert "written literally" in result.stdout
    assert literal not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "value,what",
    [("gsk_" + "a" * 20 + "\n" + "b" * 31, "control character"), ("gsk_" + "a" * 51 + "\u2013", "non-ASCII")],
)
def test_bad_key_characters_are_refused_naming_the_key(sandbox, story, tmp_path, value, what):
    generation = sandbox.generation()
    result = run_site(sandbox, tmp_path, {"litellm_api_keys": Keys(story, GROQ_API_KEY=value)}, "-vvv")
    assert result.returncode != 0
    assert f"GROQ_API_KEY: the value contains {'a ' if what.startswith('c') else ''}{what}" in result.stdout
    assert value not in result.stdout and value.strip() not in result.stdout
    assert sandbox.generation() == generation
