"""Per-step modules used on their own, as their EXAMPLES show, then a run of the role (issue 19, item 8).

An operator adds a model with litellm_config and restarts LiteLLM with litellm_rollout, outside the
role. Those writes take the run lock and mark themselves in the record of the last verified state as
pending (written by a per-step module, not verified yet). The next run of the role does not call them
"the live state differs from the last verified one": it verifies them with a request and records them
when it succeeds. A run of the role that fails for its own reason undoes only its own writes, back to
the state it found, so the operator's model stays, served all along; a later run records it.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import Keys, vault_keys
from tests.integration.test_reliability import api_bases, extra_model
from tests.integration.test_transaction_rollback import (
    FAILING_MODEL,
    failing_run,
    leaks,
    model_names,
    provider_failing,
    record_state,
    said,
    site,
)

pytestmark = pytest.mark.litellm

USER_MODEL = "gemini/gemma-4-31b-it"  # added by no preset
LEASE = "homelab-litellm-litellm"
DIFFERS = "The live state differs from the last verified one"


@pytest.fixture(scope="module")
def story(sandbox, tmp_path_factory):
    """site.yml has run once: the current models are in, their state recorded; the keys, shown by name only."""
    result = site(sandbox, tmp_path_factory.mktemp("story"), {})
    assert result.returncode == 0, result.stdout[-3000:]
    return Keys(vault_keys())


def per_step_edit(sandbox, run_playbook):
    """The operator's own playbook: litellm_config's first example (with the sandbox's api_base), then
    litellm_rollout's first example."""
    tasks = [
        {
            "name": "Add a parallel model",
            "homelab.litellm.litellm_config": {
                "namespace": "ml",
                "models": [extra_model(USER_MODEL, api_bases(sandbox))],
            },
        },
        {
            "name": "Restart LiteLLM when its config or keys changed, and wait for it",
            "homelab.litellm.litellm_rollout": {"namespace": "ml"},
        },
    ]
    return run_playbook(tasks)


def test_a_per_step_edit_is_kept_by_a_failing_role_run_and_recorded_by_the_next(
    sandbox, story, run_playbook, tmp_path, trickle
):
    lease_before = sandbox.resource_version("lease", LEASE)
    edit = per_step_edit(sandbox, run_playbook)
    assert edit.rc == 0, edit.output[-3000:]
    assert edit["Add a parallel model"]["changed"] is True
    assert sandbox.resource_version("lease", LEASE) != lease_before, "the per-step writes took the run lock"
    secret, state = record_state(sandbox)
    assert "litellm_config" in secret["metadata"]["annotations"]["homelab.litellm/pending"]
    assert USER_MODEL not in state["config"]["text"], "the record keeps the last verified config"
    assert state["pending"]["models"] == [USER_MODEL]
    status, answer = sandbox.chat(USER_MODEL)
    assert status == 200, answer

    with provider_failing(sandbox, FAILING_MODEL), trickle(interval=0.2, models=("vllm-qwen", USER_MODEL)) as load:
        failed = site(sandbox, tmp_path, failing_run(sandbox, story))
    message = said(failed)
    assert failed.returncode != 0, message[-3000:]
    assert "LiteLLM verification failed" in message and FAILING_MODEL in message, message[-3000:]
    assert DIFFERS not in message, message[-3000:]
    assert f"litellm_config at {state['pending']['at']} (models {USER_MODEL})" in message, message[-3000:]
    assert "they stay as written" in message, message[-3000:]
    live = model_names(sandbox.config_text())
    assert USER_MODEL in live and FAILING_MODEL not in live, live
    assert sandbox.crashlooping_replicasets() == []
    status, answer = sandbox.chat(USER_MODEL)
    assert status == 200, answer
    assert load.failures == [] and load.ok > 0, load.failures[:3]

    settled = site(sandbox, tmp_path, {"litellm_api_keys": story})
    settled_message = said(settled)
    assert settled.returncode == 0, settled_message[-3000:]
    assert DIFFERS not in settled_message, settled_message[-3000:]
    assert USER_MODEL in settled_message, "the run verified the operator's model with a request"
    secret, state = record_state(sandbox)
    assert secret["metadata"]["annotations"]["homelab.litellm/verified"] == "true"
    assert "homelab.litellm/pending" not in secret["metadata"]["annotations"]
    assert "pending" not in state and USER_MODEL in model_names(state["config"]["text"])
    report = json.loads((sandbox.state_dir / "last-run.json").read_text())
    assert USER_MODEL in [entry["model"] for entry in report["smoke"]], report["smoke"]
    output = "".join(run.stdout + run.stderr for run in (failed, settled)) + edit.output
    assert leaks(sandbox, output) == []
