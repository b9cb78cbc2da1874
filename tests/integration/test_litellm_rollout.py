"""homelab.litellm.litellm_rollout against the sandbox's real LiteLLM pods.

Check mode first (nothing is patched), then the first roll (the sandbox's
Deployment carries no digest yet), then idempotency (no new ReplicaSet), then
what must and must not restart (config change, referenced and unreferenced
Secret keys, force), and a config that crashes LiteLLM: the module fails fast
with the pod's reason while the old pod keeps serving.
"""

from __future__ import annotations

import base64
import json
import secrets
import time

import pytest

pytestmark = pytest.mark.litellm

DIGEST = "homelab.litellm/config-digest"
BROKEN_CONFIG = """\
model_list:
  - model_name: broken
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
"""


def rollout_task(task_name="Roll", **options):
    return {"name": task_name, "homelab.litellm.litellm_rollout": {"namespace": "ml", **options}, "register": "rolled"}


def template_digest(sandbox):
    deployment = sandbox.get("deployment", "litellm")
    return deployment["metadata"]["generation"], (
        deployment["spec"]["template"]["metadata"].get("annotations") or {}
    ).get(DIGEST)


def replicasets(sandbox):
    items = json.loads(sandbox.kubectl("-n", "ml", "get", "replicasets", "-o", "json").stdout)["items"]
    return sorted(rs["metadata"]["name"] for rs in items)


def live_pods(sandbox):
    return sorted(p["metadata"]["name"] for p in sandbox.pods() if not p["metadata"].get("deletionTimestamp"))


def config_text(sandbox):
    return sandbox.get("configmap", "litellm-config")["data"]["config.yaml"]


def set_config(sandbox, text):
    sandbox.kubectl(
        "-n",
        "ml",
        "patch",
        "configmap",
        "litellm-config",
        "--type",
        "merge",
        "-p",
        json.dumps({"data": {"config.yaml": text}}),
    )


def set_secret_key(sandbox, key, value):
    sandbox.kubectl(
        "-n",
        "ml",
        "patch",
        "secret",
        "litellm-secrets",
        "--type",
        "merge",
        "-p",
        json.dumps({"data": {key: base64.b64encode(value.encode()).decode()}}),
    )


def assert_rolled(run, sandbox, pods_before, reason="config or keys changed"):
    assert run.rc == 0, run.output
    result = run["Roll"]
    assert (result["changed"], result["restarted"], result["reason"]) == (True, True, reason)
    assert result["rollout"]["state"] == "done"
    assert 0 < result["rollout_seconds"] < 120
    assert template_digest(sandbox)[1] == result["digest"]
    pods = live_pods(sandbox)
    assert len(pods) == 1 and not set(pods) & set(pods_before)
    assert sandbox.chat("vllm-qwen")[0] == 200
    return result


def test_check_mode_reports_a_restart_and_patches_nothing(sandbox, run_playbook):
    before = template_digest(sandbox)
    assert before[1] is None
    run = run_playbook([rollout_task()], check=True, diff=True)
    assert run.rc == 0, run.output
    result = run["Roll"]
    assert (result["changed"], result["restarted"]) == (True, False)
    assert result["previous_digest"] is None and len(result["digest"]) == 64
    assert result["diff"]["before"] == f"{DIGEST}: (none)\n"
    assert result["diff"]["after"] == f"{DIGEST}: {result['digest']}\n"
    assert result["env_vars"] == ["LITELLM_MASTER_KEY", "OPENAI_API_KEY"]
    assert template_digest(sandbox) == before


def test_first_run_rolls_and_waits_until_litellm_serves(sandbox, run_playbook):
    pods_before, rs_before = live_pods(sandbox), replicasets(sandbox)
    run = run_playbook([rollout_task()])
    result = assert_rolled(run, sandbox, pods_before)
    print(f"\nfirst roll: rollout_seconds={result['rollout_seconds']} ready_at={result['ready_at']}")
    assert result["previous_digest"] is None
    assert result["ready_at"]
    assert len(replicasets(sandbox)) == len(rs_before) + 1
    summary = result["deployment"]
    assert summary["observed_generation"] == summary["generation"]
    assert summary["updated_replicas"] == summary["available_replicas"] == summary["replicas"] == 1
    assert result["revision"] == summary["revision"] == "2"
    sandbox.rollout_status(timeout="5s")


def test_second_run_changes_nothing(sandbox, run_playbook):
    pods_before, rs_before, digest_before = live_pods(sandbox), replicasets(sandbox), template_digest(sandbox)
    started = time.monotonic()
    run = run_playbook([rollout_task()])
    assert run.rc == 0, run.output
    result = run["Roll"]
    assert (result["changed"], result["restarted"], result["reason"]) == (False, False, "unchanged")
    assert result["digest"] == result["previous_digest"] == digest_before[1]
    assert result["rollout"]["state"] == "done" and "rollout_seconds" not in result
    assert (live_pods(sandbox), replicasets(sandbox), template_digest(sandbox)) == (
        pods_before,
        rs_before,
        digest_before,
    )
    print(f"\nunchanged run: {time.monotonic() - started:.1f}s for the whole ansible-playbook")


def test_only_referenced_keys_count(sandbox, run_playbook):
    set_secret_key(sandbox, "UNUSED_KEY", secrets.token_hex(16))
    run = run_playbook([rollout_task()])
    assert run.rc == 0 and run["Roll"]["changed"] is False, run.output

    pods_before = live_pods(sandbox)
    set_secret_key(sandbox, "OPENAI_API_KEY", "sk-sandbox-" + secrets.token_hex(20))
    assert_rolled(run_playbook([rollout_task()]), sandbox, pods_before)


def test_config_change_rolls_and_the_new_config_serves(sandbox, run_playbook):
    pods_before = live_pods(sandbox)
    text = config_text(sandbox)
    vllm_entry = text[text.index("  - model_name: vllm-qwen") : text.index("  # Tier 2")]
    set_config(sandbox, text.replace("  # Tier 2", vllm_entry.replace("vllm-qwen", "vllm-qwen-b") + "  # Tier 2"))
    assert sandbox.chat("vllm-qwen-b")[0] != 200
    assert_rolled(run_playbook([rollout_task()]), sandbox, pods_before)
    assert sandbox.chat("vllm-qwen-b")[0] == 200


def test_force_rolls_with_an_unchanged_digest(sandbox, run_playbook):
    pods_before, (_, digest) = live_pods(sandbox), template_digest(sandbox)
    result = assert_rolled(run_playbook([rollout_task(force=True)]), sandbox, pods_before, reason="forced")
    assert result["digest"] == result["previous_digest"] == digest


def test_crashing_config_fails_fast_and_the_old_pod_keeps_serving(sandbox, run_playbook):
    good = config_text(sandbox)
    pods_before, rs_before = live_pods(sandbox), replicasets(sandbox)
    set_config(sandbox, BROKEN_CONFIG)
    started = time.monotonic()
    run = run_playbook([dict(rollout_task(timeout=240), ignore_errors=True)])
    elapsed = time.monotonic() - started
    result = run["Roll"]
    print(f"\ncrashing config: module failed after {elapsed:.1f}s (wait_seconds={result.get('wait_seconds')})")
    assert result["failed"] is True and result["restarted"] is True, result
    assert elapsed < 90, "should fail fast, long before the 600 s progress deadline"
    new_pod = result["failed_pod"]
    assert new_pod and new_pod not in pods_before
    assert f"pod {new_pod} container litellm: CrashLoopBackOff" in result["msg"]
    assert "exit code" in result["msg"]
    assert "KeyError: 'litellm_params'" in result["msg"]  # the log tail
    assert sandbox.master_key not in run.output
    # The old pod still serves the old config.
    assert pods_before[0] in live_pods(sandbox)
    assert sandbox.chat("vllm-qwen")[0] == 200

    # Restoring the good config rolls back to the existing ReplicaSet: no new one, same pod.
    set_config(sandbox, good)
    run = run_playbook([rollout_task()])
    assert run.rc == 0, run.output
    assert run["Roll"]["restarted"] is True and run["Roll"]["rollout"]["state"] == "done"
    assert replicasets(sandbox) == sorted(rs_before + [new_pod.rsplit("-", 1)[0]])
    assert live_pods(sandbox) == pods_before
    assert sandbox.chat("vllm-qwen")[0] == 200
