"""Key rotation and automatic rollback on the sandbox (the fake providers' valid-keys.json decides
which keys are valid).

After site.yml has set up the models: rotating to a valid key under a steady load on the chain and
on the rotated provider's model fails no request and makes it the only key sent upstream; a key the
provider rejects is refused by the provider check (test_provider_check.py) and, with that check
switched off, is caught by the verification after the rollout and rolled back; a config LiteLLM
will not start with is rolled back while the old pod serves. Check mode changes nothing; a rekeyed
vault keeps working. No key value is ever printed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time

import pytest

from tests.conftest import REPO_ROOT, VAULT_PASSWORD, issued_key, leaked, vault_keys, write_vault

pytestmark = pytest.mark.litellm

ANSIBLE_VAULT = str(REPO_ROOT / ".venv/bin/ansible-vault")
DEMO_PASSWORD = VAULT_PASSWORD
GROQ_MODELS = ("groq/openai/gpt-oss-120b", "groq/openai/gpt-oss-20b")
# The steady load sends Groq more than its free-tier 30 requests a minute; these tests are about
# rotation, not rate limits.
LOAD_LIMITS = json.dumps({"litellm_limits": {"groq": {"rpm": 1200, "tpm": 1000000}}})


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def groq_keys_sent_since(sandbox, count_before: int) -> set[str]:
    return {r.get("key_sha256") for r in sandbox.provider_requests()[count_before:] if r["provider"] == "groq"}


@pytest.fixture(scope="module")
def story(sandbox):
    """site.yml has run once."""
    result = sandbox.playbook("site.yml", "-e", LOAD_LIMITS)
    assert result.returncode == 0, result.stdout[-3000:]
    return vault_keys()


def rotate(sandbox, keys: dict, path, *args: str):
    return sandbox.playbook("rotate_keys.yml", "-e", LOAD_LIMITS, "-e", f"@{write_vault(path, keys)}", *args)


def test_check_mode_of_a_rotation_changes_nothing(sandbox, story, tmp_path):
    new_keys = dict(story, GROQ_API_KEY=issued_key("groq"))
    sandbox.accept_keys("groq", [story["GROQ_API_KEY"], new_keys["GROQ_API_KEY"]])
    before = sandbox.resource_version("secret", "litellm-secrets")
    generation = sandbox.generation()
    result = rotate(sandbox, new_keys, tmp_path / "new.yml", "--check", "--diff", "-vvv")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "GROQ_API_KEY: <new value>" in result.stdout
    assert leaked(result.stdout + result.stderr, dict(sandbox.secrets(), new=new_keys["GROQ_API_KEY"])) == []
    assert sandbox.resource_version("secret", "litellm-secrets") == before
    assert sandbox.generation() == generation


def test_rotate_to_a_valid_key_under_load(sandbox, story, tmp_path, trickle):
    new_key = issued_key("groq")
    sandbox.accept_keys("groq", [story["GROQ_API_KEY"], new_key])  # the provider issued a second key
    sent_before = len(sandbox.provider_requests())
    with trickle(interval=0.2, models=("vllm-qwen",) + GROQ_MODELS) as load:
        started = time.monotonic()
        result = rotate(sandbox, dict(story, GROQ_API_KEY=new_key), tmp_path / "new.yml", "-v")
        elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-3000:]
    assert leaked(result.stdout + result.stderr, dict(sandbox.secrets(), new=new_key)) == []
    assert load.failures == [], load.failures[:5]
    assert all(load.answered[model] > 0 for model in GROQ_MODELS), load.answered
    assert sandbox.secret_value("GROQ_API_KEY") == new_key
    report = json.loads((sandbox.state_dir / "last-run.json").read_text())
    assert sorted(smoke["model"] for smoke in report["smoke"]) == sorted(GROQ_MODELS)  # the rotated provider only
    assert [check["provider"] for check in report["provider_check"]] == ["groq"]
    sandbox.accept_keys("groq", [new_key])  # ... and revoked the old one
    sent_before = len(sandbox.provider_requests())
    status, answer = sandbox.chat(GROQ_MODELS[0])
    assert status == 200, answer
    assert groq_keys_sent_since(sandbox, sent_before) == {sha(new_key)}, "the old key must no longer be sent"
    print(f"rotation to a valid key: {elapsed:.1f}s; {load.ok} requests meanwhile, 0 failed")
    story["GROQ_API_KEY"] = new_key
    # Later tests run the sandbox inventory's vault again: its key stays issued too.
    sandbox.accept_keys("groq", [vault_keys()["GROQ_API_KEY"], new_key])


def test_without_the_provider_check_a_rejected_key_is_rolled_back(sandbox, story, tmp_path, trickle):
    """The net when the provider cannot be asked from the controller: verify after the rollout."""
    good = sandbox.secret_value("GROQ_API_KEY")
    bad = issued_key("groq")
    with trickle(interval=0.2, models=("vllm-qwen", GROQ_MODELS[0])) as load:
        started = time.monotonic()
        result = sandbox.playbook(
            "rotate_keys.yml",
            "-e",
            LOAD_LIMITS,
            "-e",
            f"@{write_vault(tmp_path / 'bad.yml', dict(story, GROQ_API_KEY=bad))}",
            "-e",
            "litellm_provider_check=off",
            "-vvvv",
        )
        elapsed = time.monotonic() - started
    assert result.returncode != 0
    assert "routes, key rejected" in result.stdout and 'Groq says "Invalid API Key"' in result.stdout
    assert "Put back the last verified state" in result.stdout and "GROQ_API_KEY" in result.stdout
    assert leaked(result.stdout + result.stderr, dict(sandbox.secrets(), bad=bad)) == []
    assert sandbox.secret_value("GROQ_API_KEY") == good
    sent_before = len(sandbox.provider_requests())
    status, answer = sandbox.chat(GROQ_MODELS[0])
    assert status == 200, answer
    assert groq_keys_sent_since(sandbox, sent_before) == {sha(good)}
    chain_failures = [failure for failure in load.failures if failure.startswith("vllm-qwen")]
    assert chain_failures == [], "LiteLLM must keep serving the chain throughout"
    print(
        f"rejected key without the provider check: rolled back in {elapsed:.1f}s; {load.ok} requests answered, "
        f"{len(load.failures)} failed (all {GROQ_MODELS[0]}: {sorted({f.split(': ')[1] for f in load.failures})})"
    )


def test_config_litellm_will_not_start_with_rolls_back(sandbox, story, trickle):
    """A routing strategy LiteLLM 1.108.7 does not know makes it exit at start-up."""
    config_before = sandbox.config_text()
    generation = sandbox.generation()
    with trickle(interval=0.2) as load:
        started = time.monotonic()
        result = sandbox.playbook(
            "site.yml",
            "-e",
            LOAD_LIMITS,
            "-e",
            json.dumps({"litellm_router_settings": {"routing_strategy": "usage-based-routing-v9"}}),
        )
        elapsed = time.monotonic() - started
    assert result.returncode != 0
    assert "CrashLoopBackOff" in result.stdout or "exit code" in result.stdout
    assert "Put back the last verified state" in result.stdout and "ConfigMap ml/litellm-config" in result.stdout
    assert sandbox.config_text() == config_before
    sandbox.rollout_status()
    assert sandbox.generation() > generation and sandbox.crashlooping_replicasets() == []
    assert load.failures == [], "the old pod must serve throughout (maxUnavailable 0)"
    assert load.ok > 10
    print(f"crashing config: rolled back in {elapsed:.1f}s; {load.ok} requests during it, 0 failed")


def test_playbooks_work_after_a_vault_rekey(sandbox, story, tmp_path):
    """ansible-vault rekey: the same keys under a new vault password."""
    sandbox.accept_keys("groq", [vault_keys()["GROQ_API_KEY"], sandbox.secret_value("GROQ_API_KEY")])
    inventory = tmp_path / "inventory"
    shutil.copytree(REPO_ROOT / "inventory/sandbox", inventory)
    new_password = tmp_path / "new-password.txt"
    new_password.write_text("a-new-vault-password-for-the-test\n")
    vault = inventory / "group_vars/all/vault.yml"
    subprocess.run(
        [
            ANSIBLE_VAULT,
            "rekey",
            "--vault-id",
            f"sandbox@{DEMO_PASSWORD}",
            "--new-vault-id",
            f"sandbox@{new_password}",
            str(vault),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    )
    assert vault_keys(vault, new_password) == vault_keys()
    # The old password no longer opens it.
    old = subprocess.run(
        [ANSIBLE_VAULT, "view", "--vault-id", f"sandbox@{DEMO_PASSWORD}", str(vault)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )
    assert old.returncode != 0
    env = {"ANSIBLE_VAULT_IDENTITY_LIST": f"sandbox@{new_password}"}
    for name in ("site.yml", "rotate_keys.yml"):
        result = sandbox.playbook(name, "-i", str(inventory), "-e", LOAD_LIMITS, env=env, vault=False)
        assert result.returncode == 0, result.stdout[-3000:]
