"""playbooks/site.yml end to end on the sandbox, as a user runs it.

Check mode first (nothing changes, the restart is predicted), then the first run: the current
free-tier models added next to the chain, keys where the pod reads them, one rollout, each new
model answering from its (strict) fake provider with the vault's key, the verified state
recorded. Second run: no change, no restart, at most two module invocations. And not one secret
anywhere but in the Secrets: not at -vvvv with --diff, not in check mode, not in the ConfigMap,
the record's annotations, the Lease, the report, the logs or ~/.ansible/tmp.
"""

from __future__ import annotations

import hashlib
import json

import pytest
import yaml

from tests.conftest import CURRENT_MODELS, STORY_CHAIN, ansible_tmp_leaks, leaked, vault_keys

pytestmark = pytest.mark.litellm

CHAIN, PARALLEL = STORY_CHAIN, CURRENT_MODELS


def replicasets(sandbox) -> list[str]:
    return sorted(
        rs["metadata"]["name"]
        for rs in json.loads(sandbox.kubectl("-n", "ml", "get", "rs", "-o", "json").stdout)["items"]
    )


def versions(sandbox) -> dict[str, str]:
    return {
        kind: sandbox.resource_version(kind, name)
        for kind, name in (("configmap", "litellm-config"), ("secret", "litellm-secrets"), ("deployment", "litellm"))
    }


def test_check_mode_predicts_the_change_and_changes_nothing(sandbox):
    secrets = sandbox.secrets()
    before = versions(sandbox)
    result = sandbox.playbook("site.yml", "--check", "--diff", "-vvvv")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert leaked(output, secrets) == []
    assert "GROQ_API_KEY: <added>" in output  # names are shown, values are not
    assert "groq/openai/gpt-oss-120b" in output  # the config diff
    assert "homelab.litellm/config-digest" in output  # the restart is predicted
    assert "changed=1" in output
    assert versions(sandbox) == before
    assert sandbox.kubectl("-n", "ml", "get", "lease", check=False).stdout.strip() == ""


def test_first_run_adds_current_models_and_proves_them(sandbox):
    keys = vault_keys()
    result = sandbox.playbook("site.yml", "--diff", "-vvvv")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    assert leaked(output, sandbox.secrets()) == []

    config = yaml.safe_load(sandbox.config_text())
    assert [m["model_name"] for m in config["model_list"]] == CHAIN + PARALLEL
    assert config["router_settings"]["fallbacks"] == [{"vllm-qwen": ["ollama-qwen"]}, {"ollama-qwen": ["openai-gpt4o"]}]
    for name, value in keys.items():
        assert sandbox.secret_value(name) == value
    assert sandbox.secret_value("OPENAI_API_KEY").startswith("sk-sandbox-")  # left alone

    report = json.loads((sandbox.state_dir / "last-run.json").read_text())
    assert report["restarted"] is True
    assert sorted(report["served_models"]) == sorted(CHAIN + PARALLEL)
    assert {check["provider"]: check["status"] for check in report["provider_check"]} == {
        "groq": "ok",
        "gemini": "ok",
        "mistral": "ok",
    }
    assert sorted(smoke["model"] for smoke in report["smoke"]) == sorted(PARALLEL)
    for smoke in report["smoke"]:
        assert smoke["status"] == "ok", smoke
        assert smoke["latency"] < 5.0
    # Each new model answers from its own provider, with the vault's key (by hash in the log).
    for model in PARALLEL:
        status, answer = sandbox.chat(model)
        assert status == 200, answer
    sent = {(r["provider"], r.get("key_sha256")) for r in sandbox.provider_requests()}
    for provider, env in (("groq", "GROQ_API_KEY"), ("gemini", "GEMINI_API_KEY"), ("mistral", "MISTRAL_API_KEY")):
        assert (provider, hashlib.sha256(keys[env].encode()).hexdigest()) in sent
    # The verified state is recorded, and the run lock was freed.
    record = sandbox.get("secret", "litellm-known-good")
    assert record["metadata"]["annotations"]["homelab.litellm/verified"] == "true"
    assert record["metadata"]["annotations"]["homelab.litellm/keys"] == "GEMINI_API_KEY,GROQ_API_KEY,MISTRAL_API_KEY"
    lease = sandbox.get("lease", "homelab-litellm-litellm")
    assert not lease["spec"].get("holderIdentity")


def test_second_run_changes_nothing_with_two_module_invocations(sandbox):
    pods = sandbox.serving_pods()
    sets = replicasets(sandbox)
    before = versions(sandbox)
    result = sandbox.playbook("site.yml", env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"})
    assert result.returncode == 0, result.stdout[-3000:]
    tasks = [task for play in json.loads(result.stdout[result.stdout.index("{") :])["plays"] for task in play["tasks"]]
    assert not any(task["hosts"]["localhost"].get("changed") for task in tasks)
    ran = [
        task["task"]["name"]
        for task in tasks
        if not task["hosts"]["localhost"].get("skipped") and task["hosts"]["localhost"].get("invocation")
    ]
    assert len(ran) <= 2, ran
    assert sandbox.serving_pods() == pods
    assert replicasets(sandbox) == sets
    assert versions(sandbox) == before
    report = json.loads((sandbox.state_dir / "last-run.json").read_text())
    assert report["restarted"] is False


def test_no_secret_outside_the_secrets(sandbox):
    """ConfigMaps, the record's metadata, the Lease, the Deployment, every sandbox file and ~/.ansible/tmp."""
    secrets = sandbox.secrets()
    assert leaked(sandbox.kubectl("get", "configmaps", "-A", "-o", "json").stdout, secrets) == []
    for kind, name in (("deployment", "litellm"), ("lease", "homelab-litellm-litellm")):
        assert leaked(json.dumps(sandbox.get(kind, name)), secrets) == [], kind
    assert leaked(json.dumps(sandbox.get("secret", "litellm-known-good")["metadata"]), secrets) == []
    for path in sandbox.state_dir.rglob("*"):
        if (
            path.is_file()
            and path.suffix not in (".crt", ".key")
            and path.name not in ("valid-keys.json", "kubeconfig")
        ):
            assert leaked(path.read_text(errors="replace"), secrets) == [], path
    assert ansible_tmp_leaks(secrets) == []
