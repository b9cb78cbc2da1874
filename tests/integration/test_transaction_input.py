"""Input litellm_apply must refuse before it writes, fast and in little memory; keys never on disk.

A YAML alias bomb in the live ConfigMap (1 KB of text that expands to 387 million nodes) and a
model list too large for any ConfigMap are refused before anything is written; 500 parallel
models plan in a few seconds and apply. A run that Ansible would make write the task's arguments,
the provider keys among them, into ~/.ansible/tmp (keep_remote_files, pipelining off) is refused
before anything is sent. Timings come from the JSON callback (each task's start and end, the
module's own step timings); memory from /usr/bin/time -v, the largest process of the run.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT, VAULT_ARGS, issued_key, vault_keys
from tests.integration.test_reliability import LOAD_LIMITS
from tests.integration.test_transaction_rollback import GROQ_MODELS, RECORD, leaks, said, site

pytestmark = pytest.mark.litellm

APPLY_TASK = "Merge the models, write the keys, restart, verify and record, in one transaction"
TIME = Path("/usr/bin/time")
# Nine lists of nine aliases of the one before: 9**9 = 387,420,489 nodes once expanded.
ALIAS_BOMB = "laughs:\n  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"  l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 9)}]\n" for level in range(1, 9)
)
# The run's processes get at most this address space: a refusal that builds the bomb fails
# with MemoryError here instead of taking the machine's memory from the other tests.
ADDRESS_SPACE_LIMIT = 3 << 30


@pytest.fixture(scope="module")
def story(sandbox, tmp_path_factory):
    result = site(sandbox, tmp_path_factory.mktemp("story"), {})
    assert result.returncode == 0, result.stdout[-3000:]
    return vault_keys()


def written_state(sandbox) -> dict:
    """Every version a write would change: the ConfigMap, the Secret, the record, the Lease, the Deployment."""
    versions = {
        f"{kind}/{name}": sandbox.resource_version(kind, name)
        for kind, name in (("configmap", "litellm-config"), ("secret", "litellm-secrets"), ("secret", RECORD))
    }
    lease = sandbox.kubectl("-n", "ml", "get", "lease", "homelab-litellm-litellm", "-o", "json", check=False)
    versions["lease"] = json.loads(lease.stdout)["metadata"]["resourceVersion"] if lease.returncode == 0 else None
    versions["generation"] = sandbox.generation()
    return versions


def steps(run) -> str:
    return ", ".join(f"{step['step']} {step['seconds']}s" for step in run.result.get("steps") or [])


def bulk_models(sandbox, count: int) -> list[dict]:
    """``count`` parallel models on the fake vLLM, each with a description of the length catalogues copy in."""
    base = sandbox.providers_url + "/vllm/v1"
    return [
        {
            "model_name": f"bulk-{index:04d}",
            "litellm_params": {"model": "hosted_vllm/Qwen/Qwen2.5-7B-Instruct", "api_base": base},
            "model_info": {"description": f"Bulk model {index:04d}: " + "a general chat model for tests. " * 10},
        }
        for index in range(count)
    ]


class MeasuredRun:
    """One site.yml run under /usr/bin/time -v with the JSON callback: the apply task's result and timings."""

    def __init__(self, sandbox, tmp_path: Path, extra: dict, *args: str, env: dict | None = None) -> None:
        path = tmp_path / f"vars-{time.monotonic_ns()}.yml"
        path.write_text(yaml.safe_dump(dict(LOAD_LIMITS, **extra)))
        command = [
            str(REPO_ROOT / ".venv/bin/ansible-playbook"),
            "playbooks/site.yml",
            *VAULT_ARGS,
            "-e",
            f"@{path}",
            *args,
        ]
        environment = dict(
            os.environ,
            SANDBOX_DIR=str(sandbox.state_dir),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"),
            ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
            **(env or {}),
        )
        started = time.monotonic()
        completed = subprocess.run(
            ([str(TIME), "-v"] if TIME.exists() else []) + command,
            capture_output=True,
            text=True,
            env=environment,
            cwd=REPO_ROOT,
            timeout=900,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT)),
        )
        self.seconds = time.monotonic() - started
        self.rc, self.stdout, self.stderr = completed.returncode, completed.stdout, completed.stderr
        peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", self.stderr)
        self.peak_mib = int(peak.group(1)) / 1024 if peak else None
        report = json.loads(self.stdout[self.stdout.index("{") :])
        tasks = [task for play in report["plays"] for task in play["tasks"]]
        (task,) = [task for task in tasks if task["task"]["name"].endswith(APPLY_TASK)]
        self.result = task["hosts"]["localhost"]
        span = task["task"]["duration"]
        self.task_seconds = (
            datetime.fromisoformat(span["end"].rstrip("Z")) - datetime.fromisoformat(span["start"].rstrip("Z"))
        ).total_seconds()
        self.module_seconds = sum(step["seconds"] for step in self.result.get("steps") or [])

    @property
    def msg(self) -> str:
        return " ".join(str(self.result.get("msg", "")).split())

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.mark.parametrize(
    "args,env,why",
    [
        ((), {"ANSIBLE_KEEP_REMOTE_FILES": "1"}, "ANSIBLE_KEEP_REMOTE_FILES / keep_remote_files is on"),
        (("-e", "ansible_pipelining=false"), {}, "pipelining is off for this host"),
    ],
    ids=["keep-remote-files", "pipelining-off-in-extra-vars"],
)
def test_a_run_that_would_put_the_keys_on_disk_is_refused_before_anything_is_sent(
    sandbox, story, tmp_path, trickle, args, env, why
):
    new = issued_key("groq")
    sandbox.accept_keys("groq", [story["GROQ_API_KEY"], new])
    before, sent = written_state(sandbox), len(sandbox.provider_requests())
    with trickle(interval=0.2, models=("vllm-qwen", GROQ_MODELS[0])) as load:
        result = site(sandbox, tmp_path, {"litellm_api_keys": dict(story, GROQ_API_KEY=new)}, *args, "-vvv", env=env)
    message = said(result)
    assert result.returncode != 0
    assert "Nothing was sent and nothing was written" in message and why in message, message[-3000:]
    assert "provider keys" in message and "~/.ansible/tmp" in message
    assert written_state(sandbox) == before
    asked = [request for request in sandbox.provider_requests()[sent:] if request["path"].endswith("/models")]
    assert asked == [], "the provider check must not have run"
    assert leaks(sandbox, result.stdout + result.stderr, new) == []
    assert load.failures == [], load.failures[:5]
    assert sandbox.secret_value("GROQ_API_KEY") == story["GROQ_API_KEY"]


def test_an_alias_bomb_in_the_live_config_is_refused_at_once(sandbox, story, tmp_path, trickle):
    good = sandbox.config_text()
    configmap = sandbox.get("configmap", "litellm-config")
    configmap["data"]["config.yaml"] = good + ALIAS_BOMB
    assert len(ALIAS_BOMB) < 1100
    sandbox.kubectl("replace", "-f", "-", input=json.dumps(configmap))
    try:
        before = written_state(sandbox)
        with trickle(interval=0.2, models=("vllm-qwen", GROQ_MODELS[0])) as load:
            run = MeasuredRun(sandbox, tmp_path, {"litellm_api_keys": story})
        assert run.rc != 0
        assert "ConfigMap ml/litellm-config" in run.msg and "alias" in run.msg, run.msg or run.output[-3000:]
        assert written_state(sandbox) == before
        assert load.failures == [], load.failures[:5]
        print(
            f"alias bomb: refused in {run.module_seconds:.2f}s by the module ({steps(run)}), task with the "
            f"module's start-up {run.task_seconds:.2f}s, the whole ansible-playbook {run.seconds:.2f}s, "
            f"peak RSS {run.peak_mib or 0:.0f} MiB"
        )
        assert [step["step"] for step in run.result["steps"]] == ["plan"], "refused while planning, before the lock"
        assert run.module_seconds < 1.0
        assert run.seconds < 5.0
        if run.peak_mib is None:
            print("no /usr/bin/time -v here: peak memory not measured")
        else:
            assert run.peak_mib < 300
    finally:
        configmap = sandbox.get("configmap", "litellm-config")
        configmap["data"]["config.yaml"] = good
        sandbox.kubectl("replace", "-f", "-", input=json.dumps(configmap))


def test_2000_models_are_refused_for_size_before_any_write(sandbox, story, tmp_path):
    before = written_state(sandbox)
    run = MeasuredRun(
        sandbox, tmp_path, {"litellm_api_keys": story, "litellm_parallel_models": bulk_models(sandbox, 2000)}
    )
    assert run.rc != 0
    assert "1 MiB" in run.msg and "config.yaml" in run.msg, run.msg or run.output[-3000:]
    assert written_state(sandbox) == before
    assert [step["step"] for step in run.result["steps"]] == ["plan"], "refused while planning, before the lock"
    print(
        f"2,000 models: refused for size in {run.module_seconds:.2f}s by the module, task {run.task_seconds:.2f}s, "
        f"{run.seconds:.1f}s in all"
    )


def test_500_models_plan_in_seconds_and_apply(sandbox, story, tmp_path, trickle):
    extra = {"litellm_api_keys": story, "litellm_parallel_models": bulk_models(sandbox, 500)}
    before = written_state(sandbox)
    check = MeasuredRun(sandbox, tmp_path, extra, "--check")
    assert check.rc == 0, check.output[-3000:]
    assert check.result["changed"] is True and len(check.result["config"]["added"]) == 500
    assert written_state(sandbox) == before
    print(
        f"500 models, check mode: module steps {check.module_seconds:.2f}s ({steps(check)}), "
        f"task {check.task_seconds:.2f}s, ansible-playbook {check.seconds:.1f}s"
    )
    assert check.module_seconds < 2.0
    with trickle(interval=0.2, models=("vllm-qwen", GROQ_MODELS[0])) as load:
        applied = MeasuredRun(sandbox, tmp_path, extra)
    assert applied.rc == 0, applied.msg or applied.output[-3000:]
    assert load.failures == [], load.failures[:5]
    names = [entry["model_name"] for entry in yaml.safe_load(sandbox.config_text())["model_list"]]
    assert sum(name.startswith("bulk-") for name in names) == 500
    status, answer = sandbox.chat("bulk-0499")
    assert status == 200, answer
    assert leaks(sandbox, applied.output) == []
    print(
        f"500 models applied in {applied.seconds:.1f}s (ansible-playbook), task {applied.task_seconds:.1f}s: "
        f"{steps(applied)}"
    )
