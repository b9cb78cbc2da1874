"""Key rotation and automatic rollback on the sandbox (the fake providers'
valid-keys.json decides which keys are valid).

After site.yml has set up the story: rotating to a valid key makes it the one
sent upstream; rotating to a key the provider rejects, or rolling out a config
LiteLLM will not start with, puts the previous state back while LiteLLM keeps
serving, and fails the play with a message that says so. Check mode changes
nothing; a rekeyed vault keeps working. No key value is ever printed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.litellm

REPO_ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = str(REPO_ROOT / ".venv/bin/ansible-playbook")
ANSIBLE_VAULT = str(REPO_ROOT / ".venv/bin/ansible-vault")
DEMO_PASSWORD = REPO_ROOT / "inventory/sandbox/vault-password.txt"


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def keys_in_vault(path: Path, password_file: Path = DEMO_PASSWORD) -> dict[str, str]:
    plain = subprocess.run([ANSIBLE_VAULT, "view", "--vault-id", f"sandbox@{password_file}", str(path)],
                           capture_output=True, text=True, check=True, cwd=REPO_ROOT).stdout
    return yaml.safe_load(plain)["vault_litellm_api_keys"]


def write_vault(path: Path, keys: dict[str, str], password_file: Path = DEMO_PASSWORD) -> Path:
    path.write_text(yaml.safe_dump({"vault_litellm_api_keys": keys}))
    subprocess.run([ANSIBLE_VAULT, "encrypt", "--vault-id", f"sandbox@{password_file}",
                    "--encrypt-vault-id", "sandbox", str(path)],
                   capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    return path


def playbook(sandbox, name: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = dict(os.environ, SANDBOX_DIR=str(sandbox.state_dir), ANSIBLE_NOCOLOR="1",
                       ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"), **(env or {}))
    return subprocess.run([ANSIBLE_PLAYBOOK, f"playbooks/{name}", *args], capture_output=True, text=True,
                          env=environment, cwd=REPO_ROOT, timeout=900)


def accept_keys(sandbox, provider: str, keys: list[str]) -> None:
    """What the provider's console does: decide which keys are valid."""
    path = sandbox.state_dir / "valid-keys.json"
    valid = json.loads(path.read_text())
    valid[provider] = keys
    path.write_text(json.dumps(valid))


def groq_keys_sent_since(sandbox, count_before: int) -> set[str]:
    return {r.get("key_sha256") for r in sandbox.provider_requests()[count_before:] if r["provider"] == "groq"}


@pytest.fixture(scope="module")
def story(sandbox):
    """The story's after state: site.yml has run once."""
    result = playbook(sandbox, "site.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    return keys_in_vault(REPO_ROOT / "inventory/sandbox/group_vars/all/vault.yml")


def assert_no_key(result: subprocess.CompletedProcess, *values: str) -> None:
    for value in values:
        assert value not in result.stdout + result.stderr


def test_check_mode_of_a_rotation_changes_nothing(sandbox, story, tmp_path):
    new_keys = dict(story, GROQ_API_KEY="gsk_checkModeKey0000000000000000000000000000000009")
    before = sandbox.get("secret", "litellm-secrets")["metadata"]["resourceVersion"]
    pods = {p["metadata"]["name"] for p in sandbox.pods()}
    result = playbook(sandbox, "rotate_keys.yml", "-e", f"@{write_vault(tmp_path / 'new.yml', new_keys)}",
                      "--check", "--diff", "-vvv")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "GROQ_API_KEY" in result.stdout
    assert_no_key(result, *new_keys.values())
    assert sandbox.get("secret", "litellm-secrets")["metadata"]["resourceVersion"] == before
    assert {p["metadata"]["name"] for p in sandbox.pods()} == pods


def test_rotate_to_a_valid_key(sandbox, story, tmp_path):
    new_key = "gsk_rotatedValidKey000000000000000000000000000000002"
    accept_keys(sandbox, "groq", [story["GROQ_API_KEY"], new_key])  # the provider issued a second key
    sent_before = len(sandbox.provider_requests())
    started = time.monotonic()
    result = playbook(sandbox, "rotate_keys.yml", "-e",
                      f"@{write_vault(tmp_path / 'new.yml', dict(story, GROQ_API_KEY=new_key))}", "-v")
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-3000:]
    assert_no_key(result, new_key, story["GROQ_API_KEY"])
    assert sandbox.secret_value("GROQ_API_KEY") == new_key
    # Rotation proved the rotated provider (both Groq models), and only it.
    # (LiteLLM itself lists /models of OpenAI-compatible upstreams at start-up: no model there.)
    smoked = {r["model"] for r in sandbox.provider_requests()[sent_before:] if r["model"]}
    assert smoked == {"llama-3.3-70b-versatile", "mixtral-8x7b-32768"}
    accept_keys(sandbox, "groq", [new_key])  # ... and revoked the old one
    sent_before = len(sandbox.provider_requests())
    status, answer = sandbox.chat("groq/llama-3.3-70b-versatile")
    assert status == 200, answer
    assert groq_keys_sent_since(sandbox, sent_before) == {sha(new_key)}, "the old key must no longer be sent"
    print(f"rotation to a valid key: {elapsed:.1f}s for rotate_keys.yml")
    accept_keys(sandbox, "groq", [story["GROQ_API_KEY"], new_key])  # later tests run the story's vault again


def test_rotate_to_a_rejected_key_rolls_back(sandbox, story, tmp_path, trickle):
    good = sandbox.secret_value("GROQ_API_KEY")
    bad = "gsk_keyTheProviderRejects0000000000000000000000000003"
    with trickle(interval=0.2) as load:
        started = time.monotonic()
        result = playbook(sandbox, "rotate_keys.yml", "-e",
                          f"@{write_vault(tmp_path / 'bad.yml', dict(story, GROQ_API_KEY=bad))}", "-vvvv")
        elapsed = time.monotonic() - started
    assert result.returncode != 0
    assert "routes, key rejected" in result.stdout
    assert "previous values of GROQ_API_KEY are back" in result.stdout
    assert_no_key(result, bad, good)
    assert sandbox.secret_value("GROQ_API_KEY") == good
    sent_before = len(sandbox.provider_requests())
    status, answer = sandbox.chat("groq/llama-3.3-70b-versatile")
    assert status == 200, answer
    assert groq_keys_sent_since(sandbox, sent_before) == {sha(good)}
    assert load.failures == [], "LiteLLM must keep serving the chain throughout"
    print(f"rejected key: rolled back in {elapsed:.1f}s; {load.ok} requests during it, 0 failed")


def test_config_litellm_will_not_start_with_rolls_back(sandbox, story, trickle):
    """A routing strategy LiteLLM 1.108.7 does not know makes it exit at start-up."""
    config_before = sandbox.get("configmap", "litellm-config")["data"]["config.yaml"]
    with trickle(interval=0.2) as load:
        started = time.monotonic()
        result = playbook(sandbox, "site.yml", "-e",
                          json.dumps({"litellm_router_settings": {"routing_strategy": "usage-based-routing-v9"}}))
        elapsed = time.monotonic() - started
    assert result.returncode != 0
    assert "CrashLoopBackOff" in result.stdout or "exit code" in result.stdout
    assert "Rolled back: ConfigMap ml/litellm-config" in result.stdout
    assert sandbox.get("configmap", "litellm-config")["data"]["config.yaml"] == config_before
    sandbox.rollout_status()
    assert load.failures == [], "the old pod must serve throughout (maxUnavailable 0)"
    assert load.ok > 10
    print(f"crashing config: rolled back in {elapsed:.1f}s; {load.ok} requests during it, 0 failed")


def test_playbooks_work_after_a_vault_rekey(sandbox, story, tmp_path):
    """ansible-vault rekey: the same keys under a new vault password."""
    inventory = tmp_path / "inventory"
    shutil.copytree(REPO_ROOT / "inventory/sandbox", inventory)
    new_password = tmp_path / "new-password.txt"
    new_password.write_text("a-new-vault-password-for-the-test\n")
    vault = inventory / "group_vars/all/vault.yml"
    subprocess.run([ANSIBLE_VAULT, "rekey", "--vault-id", f"sandbox@{DEMO_PASSWORD}",
                    "--new-vault-id", f"sandbox@{new_password}", str(vault)],
                   capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    assert keys_in_vault(vault, new_password) == story
    # The old password no longer opens it.
    old = subprocess.run([ANSIBLE_VAULT, "view", "--vault-id", f"sandbox@{DEMO_PASSWORD}", str(vault)],
                         capture_output=True, text=True, cwd=REPO_ROOT)
    assert old.returncode != 0
    env = {"ANSIBLE_VAULT_IDENTITY_LIST": f"sandbox@{new_password}"}
    for name in ("site.yml", "rotate_keys.yml"):
        result = playbook(sandbox, name, "-i", str(inventory), env=env)
        assert result.returncode == 0, result.stdout[-3000:]
