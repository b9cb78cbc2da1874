"""playbooks/site.yml end to end on the sandbox, as a user runs it.

First run: 8 models, fallbacks unchanged, keys in the Secret, one rollout, each
new model answering from its fake provider with the vault's key. Second run:
no change and no restart. And not one key value anywhere but in the Secret,
at -vvvv with --diff, in check mode, in results, ConfigMaps or logs.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.litellm

REPO_ROOT = Path(__file__).resolve().parents[2]
VAULT_PASSWORD = REPO_ROOT / "inventory" / "sandbox" / "vault-password.txt"
PARALLEL = ["groq/llama-3.3-70b-versatile", "groq/mixtral-8x7b-32768", "gemini/gemini-1.5-flash",
            "gemini/gemini-1.5-pro", "mistral/mistral-small-latest"]


def vault_keys() -> dict[str, str]:
    """The keys in the sandbox inventory's vault, decrypted the way a user would."""
    plain = subprocess.run([str(REPO_ROOT / ".venv/bin/ansible-vault"), "view", "--vault-id",
                            f"sandbox@{VAULT_PASSWORD}", "inventory/sandbox/group_vars/all/vault.yml"],
                           capture_output=True, text=True, check=True, cwd=REPO_ROOT).stdout
    return yaml.safe_load(plain)["vault_litellm_api_keys"]


def site(sandbox, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, SANDBOX_DIR=str(sandbox.state_dir), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"))
    return subprocess.run([str(REPO_ROOT / ".venv/bin/ansible-playbook"), "playbooks/site.yml", *args],
                          capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=900)


def replicasets(sandbox) -> list[str]:
    return sorted(rs["metadata"]["name"] for rs in json.loads(
        sandbox.kubectl("-n", "ml", "get", "rs", "-o", "json").stdout)["items"])


def assert_no_key_in(text: str, keys: dict[str, str], where: str) -> None:
    for name, value in keys.items():
        assert value not in text, f"{name}'s value leaked into {where}"


def test_check_mode_changes_nothing_and_shows_no_key(sandbox):
    keys = vault_keys()
    before = {kind: sandbox.get(kind, name)["metadata"]["resourceVersion"]
              for kind, name in (("configmap", "litellm-config"), ("secret", "litellm-secrets"),
                                 ("deployment", "litellm"))}
    result = site(sandbox, "--check", "--diff", "-vvvv")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert_no_key_in(result.stdout + result.stderr, keys, "check-mode output")
    assert "GROQ_API_KEY" in result.stdout  # names are shown, values are not
    after = {kind: sandbox.get(kind, name)["metadata"]["resourceVersion"]
             for kind, name in (("configmap", "litellm-config"), ("secret", "litellm-secrets"),
                                ("deployment", "litellm"))}
    assert after == before


def test_first_run_delivers_the_story(sandbox):
    keys = vault_keys()
    result = site(sandbox, "--diff", "-vvvv")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    assert_no_key_in(output, keys, "the -vvvv --diff output of site.yml")

    config = yaml.safe_load(sandbox.get("configmap", "litellm-config")["data"]["config.yaml"])
    assert [m["model_name"] for m in config["model_list"]] == ["vllm-qwen", "ollama-qwen", "openai-gpt4o",
                                                               *PARALLEL]
    assert config["router_settings"]["fallbacks"] == [{"vllm-qwen": ["ollama-qwen"]},
                                                      {"ollama-qwen": ["openai-gpt4o"]}]
    for name, value in keys.items():
        assert sandbox.secret_value(name) == value
    assert sandbox.secret_value("OPENAI_API_KEY").startswith("sk-sandbox-")  # left alone

    report = json.loads((sandbox.state_dir / "last-run.json").read_text())
    assert report["restarted"] is True
    assert sorted(report["served_models"]) == sorted(["vllm-qwen", "ollama-qwen", "openai-gpt4o", *PARALLEL])
    for smoke in report["smoke"]:
        assert smoke["status"] == "ok", smoke
        assert smoke["latency"] < 5.0
    # Each new model answered from its own provider, with the vault's key (by hash in the log).
    for model in PARALLEL:
        status, answer = sandbox.chat(model)
        provider, model_id = model.split("/", 1)
        assert status == 200, answer
        assert answer["choices"][0]["message"]["content"] == f"Hello from fake {provider} ({model_id})"
    sent = {(r["provider"], r.get("key_sha256")) for r in sandbox.provider_requests()}
    for provider, env in (("groq", "GROQ_API_KEY"), ("gemini", "GEMINI_API_KEY"), ("mistral", "MISTRAL_API_KEY")):
        assert (provider, hashlib.sha256(keys[env].encode()).hexdigest()) in sent


def test_second_run_changes_nothing_and_does_not_restart(sandbox):
    pods = sorted(p["metadata"]["name"] for p in sandbox.pods())
    sets = replicasets(sandbox)
    result = site(sandbox)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "changed=0" in result.stdout
    assert sorted(p["metadata"]["name"] for p in sandbox.pods()) == pods
    assert replicasets(sandbox) == sets
    report = json.loads((sandbox.state_dir / "last-run.json").read_text())
    assert report["restarted"] is False


def test_no_key_outside_the_secret(sandbox):
    """ConfigMaps (live and -previous), the report, and every sandbox log hold no key value."""
    keys = vault_keys()
    for name in ("litellm-config", "litellm-config-previous"):
        assert_no_key_in(json.dumps(sandbox.get("configmap", name)), keys, f"ConfigMap {name}")
    deployment = json.dumps(sandbox.get("deployment", "litellm"))
    assert_no_key_in(deployment, keys, "the Deployment")
    for path in sandbox.state_dir.rglob("*"):
        if path.is_file() and path.suffix not in (".crt", ".key") and path.name != "valid-keys.json":
            assert_no_key_in(path.read_text(errors="replace"), keys, str(path))
