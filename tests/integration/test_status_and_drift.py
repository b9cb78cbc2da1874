"""playbooks/status.yml, the output of a no-op run, and a Secret injected into LiteLLM's pod template.

After site.yml: a second site.yml (nothing to do) prints its summary once and no run of "skipping"
lines; status.yml shows the models, the key names and their Secret, the record's time and that a run
verified it, the lock, and that a run would change nothing, with no key value anywhere and nothing
written. Then a holder of ``patch`` on the Deployment adds ``envFrom: other-app-secret`` with kubectl
(what issue 19 found left in place): status.yml and the next site.yml name it; with
``litellm_pod_template_drift=fail`` the run fails and no resourceVersion changes.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import CURRENT_MODELS, leaked

pytestmark = pytest.mark.litellm

ADDED = "envFrom secretRef other-app-secret (container litellm) was added since the last verified run on"
OTHER_PASSWORD = "other-app-password-d41d8cd98f00b204"
KINDS = ("configmaps", "secrets", "deployments", "leases", "replicasets")


def versions(sandbox) -> dict[str, str]:
    """Every object of namespace ml with its resourceVersion."""
    found = {}
    for kind in KINDS:
        for item in json.loads(sandbox.kubectl("-n", "ml", "get", kind, "-o", "json").stdout)["items"]:
            found[f"{kind}/{item['metadata']['name']}"] = item["metadata"]["resourceVersion"]
    return found


def said(result) -> str:
    """What a run printed, with every run of white space made one space: the YAML callback wraps long lines."""
    return " ".join((result.stdout + result.stderr).split())


def secrets_of(sandbox) -> dict[str, str]:
    return dict(sandbox.secrets(), other_app_password=OTHER_PASSWORD)


@pytest.fixture(scope="module")
def converged(sandbox):
    first = sandbox.playbook("site.yml")
    assert first.returncode == 0, said(first)[-3000:]
    return sandbox


def test_a_no_op_run_prints_one_summary_line_and_no_run_of_skipped_tasks(converged):
    result = converged.playbook("site.yml")
    assert result.returncode == 0, said(result)[-3000:]
    summaries = re.findall(r"no change: \d+ models?, \d+ keys? as recorded", result.stdout)
    assert len(summaries) == 1, result.stdout
    # The sandbox inventory sets litellm_report_path, so every task of the role runs: none is skipped.
    assert result.stdout.count("skipping:") == 0, result.stdout
    assert "changed=0" in result.stdout


def test_status_shows_models_keys_record_lock_and_nothing_pending(converged):
    before = versions(converged)
    result = converged.playbook("status.yml")
    assert result.returncode == 0, said(result)[-3000:]
    out = said(result)
    assert versions(converged) == before, "status.yml wrote something"
    managed = re.search(r"Models managed by homelab\.litellm \((\d+)\): ([^'\"]*)'", out)
    assert managed and managed.group(2).split(", ") == sorted(CURRENT_MODELS), out
    for key in ("GEMINI_API_KEY", "GROQ_API_KEY", "MISTRAL_API_KEY"):
        assert f"{key} in Secret litellm-secrets key {key}" in out
    assert re.search(r"Last verified state: Secret litellm-known-good, recorded \S+Z, verified by a run", out), out
    assert "Lock: Lease homelab-litellm-litellm free" in out
    assert "A run would change nothing" in out
    assert leaked(out, secrets_of(converged)) == []


def inject_other_app_secret(sandbox) -> None:
    """What issue 19 did with patch rights on the Deployment: load another app's Secret into LiteLLM."""
    sandbox.kubectl(
        "-n", "ml", "create", "secret", "generic", "other-app-secret", f"--from-literal=PASSWORD={OTHER_PASSWORD}"
    )
    patch = [
        {
            "op": "add",
            "path": "/spec/template/spec/containers/0/envFrom/-",
            "value": {"secretRef": {"name": "other-app-secret"}},
        }
    ]
    sandbox.kubectl("-n", "ml", "patch", "deployment", "litellm", "--type", "json", "-p", json.dumps(patch))
    sandbox.rollout_status(timeout="180s")


def test_an_injected_envfrom_is_named_and_fail_refuses_with_nothing_written(converged):
    inject_other_app_secret(converged)

    status = converged.playbook("status.yml")
    assert status.returncode == 0, said(status)[-3000:]
    assert "pod template: envFrom secretRef other-app-secret (container litellm) was added" in said(status)

    before = versions(converged)
    refused = converged.playbook("site.yml", "-e", "litellm_pod_template_drift=fail")
    out = said(refused)
    assert refused.returncode != 0, out[-3000:]
    assert ADDED in out and "Nothing was written" in out and "litellm_pod_template_drift is fail" in out, out[-3000:]
    assert versions(converged) == before, "a refused run wrote something"

    warned = converged.playbook("site.yml")
    out = said(warned)
    assert warned.returncode == 0, out[-3000:]
    assert ADDED in out, out[-3000:]
    for output in (said(status), said(refused), out):
        assert leaked(output, secrets_of(converged)) == []
