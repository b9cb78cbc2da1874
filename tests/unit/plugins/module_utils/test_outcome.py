# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/_outcome.py: what a run did, in words and as a report."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _known_good as kg
from ansible_collections.homelab.litellm.plugins.module_utils import _lock, _run
from ansible_collections.homelab.litellm.plugins.module_utils import _outcome as outcome
from ansible_collections.homelab.litellm.plugins.module_utils._k8s import KubeError
from ansible_collections.homelab.litellm.plugins.module_utils.run.transaction import StepFailed, Stopped
from ansible_collections.homelab.litellm.tests.unit.fake_kube import b64

WORK_NONE = {"config": False, "secret": False, "rollout": False, "verify": False, "record": False, "any": False}
WORK_ALL = {"config": True, "secret": True, "rollout": True, "verify": True, "record": True, "any": True}
KEY_TARGETS = {
    "GROQ_API_KEY": {"secret": "litellm-secrets", "key": "GROQ_API_KEY"},
    "OPENAI_API_KEY": {"secret": "litellm-secrets", "key": "OPENAI_API_KEY"},
    "MISTRAL_API_KEY": {"secret": "provider-keys", "key": "MISTRAL"},
}


def plan(work=None, secrets=None, unverified_keys=(), managed=None):
    """The parts of a ``_plan.Plan`` the summaries read (``work`` WORK_ALL when not given)."""
    return SimpleNamespace(
        work=WORK_ALL if work is None else work,
        secrets=secrets or {},
        target={"key_targets": KEY_TARGETS},
        unverified={"keys": list(unverified_keys)},
        managed_keys=KEY_TARGETS if managed is None else managed,
    )


ROTATION = {
    "litellm-secrets": {"added": ["GROQ_API_KEY"], "updated": ["OPENAI_API_KEY"], "unchanged": []},
    "provider-keys": {"added": [], "updated": ["MISTRAL"], "unchanged": []},
}


# -- the steps in words ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "work, words",
    [
        (WORK_NONE, "nothing to do"),
        (WORK_ALL, "to do: config, secret, rollout, verify, record"),
        (dict(WORK_NONE, secret=True, verify=True, any=True), "to do: secret, verify"),
    ],
)
def test_plan_summary(work, words):
    assert outcome.plan_summary(plan(work)) == words


@pytest.mark.parametrize(
    "checked, words",
    [
        ([], "owners and rights checked"),
        ([{"provider": "groq"}, {"provider": "mistral"}, {"provider": "groq"}], "asked groq, mistral"),
        ([{"provider": None}], "asked ?"),
    ],
)
def test_preflight_summary(checked, words):
    assert outcome.preflight_summary(checked) == words


@pytest.mark.parametrize(
    "config, words",
    [
        ({"added": ["a"], "updated": [], "removed": []}, "added 1 model"),
        (
            {"added": ["a", "b"], "updated": ["c"], "removed": ["d", "e", "f"]},
            "added 2 models, updated 1 model, removed 3 models",
        ),
        ({"added": [], "updated": [], "removed": []}, "config rewritten"),
    ],
)
def test_config_summary(config, words):
    assert outcome.config_summary(config) == words


def test_written_variables_and_keys_summary_name_variables_not_secret_keys():
    rotated = plan(secrets=ROTATION)
    assert outcome.written_variables(rotated, "added") == ["GROQ_API_KEY"]
    assert outcome.written_variables(rotated, "updated") == ["MISTRAL_API_KEY", "OPENAI_API_KEY"]
    assert outcome.keys_summary(rotated) == "added GROQ_API_KEY, rotated MISTRAL_API_KEY, OPENAI_API_KEY"
    assert outcome.keys_summary(plan(secrets={"litellm-secrets": {"added": [], "updated": []}})) == ""


def test_verify_summary():
    assert outcome.verify_summary({"smoke": [{}, {}], "seconds": 0.34}) == "verified 2 models in 0.3 s"
    assert outcome.verify_summary({"smoke": [{}]}) == "verified 1 model in 0.0 s"


# -- run_summary -----------------------------------------------------------------------------------


def step(name, seconds=0.5, summary=""):
    return {"step": name, "seconds": seconds, "summary": summary}


def test_run_summary_of_a_run_with_work():
    result = {
        "steps": [
            step("plan", summary="to do: config"),
            step("lock"),
            step("config", summary="added 1 model"),
            step("keys", summary="rotated GROQ_API_KEY"),
            step("rollout", seconds=7.44),
            step("verify", summary="verified 2 models in 0.3 s"),
            step("record"),
        ],
        "restarted": True,
    }
    assert outcome.run_summary(result) == (
        "added 1 model, rotated GROQ_API_KEY, restarted in 7.4 s, verified 2 models in 0.3 s"
    )


def test_run_summary_of_a_wait_for_a_rollout_under_way():
    result = {"steps": [step("rollout", seconds=3.0)], "restarted": False}
    assert outcome.run_summary(result) == "waited for the rollout in 3.0 s"


def test_run_summary_of_a_run_without_work():
    result = {
        "steps": [step("plan"), step("preflight")],
        "would_change": False,
        "expected_models": ["a", "b", "c", "d", "e"],
        "managed_keys": {"A": {}, "B": {}, "C": {}},
    }
    assert outcome.run_summary(result) == "no change: 5 models, 3 keys as recorded"
    assert outcome.run_summary({"expected_models": ["a"], "managed_keys": {"A": {}}}) == (
        "no change: 1 model, 1 key as recorded"
    )


def test_run_summary_in_check_mode_says_what_it_would_do():
    result = {
        "steps": [step("plan")],
        "would_change": True,
        "config": {"added": ["groq/x"], "updated": [], "removed": ["old"]},
        "secrets": ROTATION,
        "rollout": {"restart": True},
    }
    assert outcome.run_summary(result) == (
        "check mode: would add groq/x, remove old, write GROQ_API_KEY, MISTRAL, OPENAI_API_KEY, restart LiteLLM"
    )
    assert outcome.plan_words({}) == "change nothing"


# -- adopted_keys ----------------------------------------------------------------------------------


def observed_with(values):
    """``Observed.objects`` with the Secrets holding ``values`` ``{(secret, key): value}``."""
    secrets = {}
    for (secret, key), value in values.items():
        secrets.setdefault(("Secret", secret), {"data": {}})["data"][key] = b64(value)
    return SimpleNamespace(objects=secrets)


def record_holding(*keys):
    """Another Deployment (as ``run.observe.other_readers`` finds it) whose record holds ``keys``."""
    record = kg.KnownGood("", "cm", "config.yaml", {k[1]: k for k in keys}, [], "true", None, None)
    return SimpleNamespace(secrets=sorted({k[0] for k in keys}), record=record)


def test_adopted_keys_are_the_differing_ones_no_neighbour_verified():
    observed = observed_with({("litellm-secrets", "GROQ_API_KEY"): "gsk-new", ("provider-keys", "MISTRAL"): "m-new"})
    unverified = plan(unverified_keys=["GROQ_API_KEY", "MISTRAL_API_KEY"])
    assert outcome.adopted_keys(unverified, observed, {}) == ["GROQ_API_KEY", "MISTRAL_API_KEY"]
    neighbours = {
        "litellm-canary": record_holding(("litellm-secrets", "GROQ_API_KEY", "gsk-new")),
        "litellm-batch": SimpleNamespace(secrets=["litellm-secrets"], record=None),
    }
    assert outcome.adopted_keys(unverified, observed, neighbours) == ["MISTRAL_API_KEY"], (
        "the canary's run verified that value of the shared Secret"
    )


def test_a_neighbour_holding_another_value_does_not_excuse_the_key():
    observed = observed_with({("litellm-secrets", "GROQ_API_KEY"): "gsk-new"})
    neighbours = {"litellm-canary": record_holding(("litellm-secrets", "GROQ_API_KEY", "gsk-old"))}
    assert outcome.adopted_keys(plan(unverified_keys=["GROQ_API_KEY"]), observed, neighbours) == ["GROQ_API_KEY"]


def test_a_deleted_key_is_adopted_unless_a_neighbour_recorded_it_absent():
    observed = observed_with({})
    unverified = plan(unverified_keys=["GROQ_API_KEY"])
    assert outcome.adopted_keys(unverified, observed, {}) == ["GROQ_API_KEY"]
    neighbours = {"other": record_holding(("litellm-secrets", "GROQ_API_KEY", None))}
    assert outcome.adopted_keys(unverified, observed, neighbours) == []


def test_an_unverified_key_that_is_not_managed_is_not_adopted():
    assert outcome.adopted_keys(plan(unverified_keys=["GONE_KEY"]), observed_with({}), {}) == []


# -- cause_of --------------------------------------------------------------------------------------

DONE = [step("plan"), step("lock"), step("config")]


@pytest.mark.parametrize(
    "err, stopping, steps, cause",
    [
        (
            Stopped("it got SIGINT"),
            "it got SIGINT",
            DONE,
            "The run was stopped: it got SIGINT (after: plan, lock, config)",
        ),
        (
            KeyboardInterrupt(),
            "the ansible-playbook that started it (pid 42) is gone",
            [],
            "The run was stopped: the ansible-playbook that started it (pid 42) is gone",
        ),
        (Stopped("it got SIGTERM"), None, DONE, "The run was stopped: it got SIGTERM (after: plan, lock, config)"),
        (KeyboardInterrupt(), None, DONE, "The run was interrupted (after: plan, lock, config)"),
        (
            KubeError(500, "Internal Server Error", "etcdserver: request timed out"),
            None,
            DONE,
            "Kubernetes API error 500 Internal Server Error: etcdserver: request timed out (after: plan, lock, config)",
        ),
        (KubeError(409, "Conflict", "modified"), None, [], "Kubernetes API error 409 Conflict: modified"),
        (
            StepFailed("LiteLLM verification failed: groq/x: key_rejected"),
            None,
            DONE,
            "LiteLLM verification failed: groq/x: key_rejected",
        ),
        (_run.RunFailure("refused"), None, DONE, "refused"),
        (_lock.LockError("This run no longer holds the lock"), None, DONE, "This run no longer holds the lock"),
        (ValueError("bad value"), None, DONE, "ValueError: bad value"),
        (RuntimeError(), None, [], "RuntimeError: RuntimeError"),
    ],
)
def test_cause_of(err, stopping, steps, cause):
    assert outcome.cause_of(err, stopping, steps) == cause


# -- failure_message -------------------------------------------------------------------------------

CAUSE = 'LiteLLM verification failed: groq/openai/gpt-oss-120b: key_rejected (Groq says "Invalid API Key")'
RECORDED = "the last verified state (recorded 2026-12-01T10:00:00Z)"
PUT_BACK = "Put back %s: ConfigMap ml/litellm-config, Secret ml/litellm-secrets" % RECORDED


def report(**fields):
    """A rollback report as ``rollback.Rollback.run`` makes it: this run wrote the config and a key."""
    base = {
        "restored": ["ConfigMap ml/litellm-config", "Secret ml/litellm-secrets"],
        "secret_keys": ["GROQ_API_KEY"],
        "left_alone": [],
        "recorded_at": "2026-12-01T10:00:00Z",
        "described": RECORDED,
        "restarted": True,
        "rollout_failed": None,
        "verify": {"passed": True, "models": ["vllm-qwen", "ollama-qwen", "openai-gpt4o"], "smoke": []},
        "wrote_anything": True,
        "had_restarted": True,
    }
    return dict(base, **fields)


@pytest.mark.parametrize(
    "rollback, expected",
    [
        (
            report(
                restored=[], secret_keys=[], wrote_anything=False, had_restarted=False, restarted=False, verify=None
            ),
            CAUSE + ". This run had written nothing and restarted nothing, so nothing was rolled back. LiteLLM was not "
            "restarted: it still runs what it ran before.",
        ),
        (
            report(verify=dict(report()["verify"], smoke=[{"model": "openai-gpt4o"}, {"model": "vllm-qwen"}])),
            CAUSE + ". " + PUT_BACK + " (the verified values of GROQ_API_KEY). LiteLLM runs it again and serves 3 "
            "models; a request to openai-gpt4o, vllm-qwen was answered.",
        ),
        (
            report(secret_keys=[]),
            CAUSE + ". " + PUT_BACK + ". LiteLLM runs it again and serves 3 models.",
        ),
        (
            report(
                restored=["ConfigMap ml/litellm-config"],
                secret_keys=[],
                left_alone=[
                    "Secret ml/litellm-secrets key GROQ_API_KEY was changed by someone else after this run "
                    "began: what is live there now stays."
                ],
            ),
            CAUSE + ". Put back %s: ConfigMap ml/litellm-config. Left alone: Secret ml/litellm-secrets key "
            "GROQ_API_KEY was changed by someone else after this run began: what is live there now stays. LiteLLM "
            "runs it again and serves 3 models." % RECORDED,
        ),
        (
            report(rollout_failed="Rollout of deployment ml/litellm failed: crash."),
            CAUSE + ". " + PUT_BACK + " (the verified values of GROQ_API_KEY). Rolling LiteLLM back failed too: "
            "Rollout of deployment ml/litellm failed: crash.",
        ),
        (
            report(verify={"passed": False, "summary": "LiteLLM not ready."}),
            CAUSE + ". " + PUT_BACK + " (the verified values of GROQ_API_KEY). LiteLLM was rolled back, but does not "
            "serve as before: LiteLLM not ready.",
        ),
        (
            report(verify=None),
            CAUSE + ". " + PUT_BACK + " (the verified values of GROQ_API_KEY). LiteLLM was rolled back onto it (not "
            "verified: litellm_verify is false).",
        ),
        (
            report(restored=[], secret_keys=[], restarted=False, verify=None),
            CAUSE + ". Nothing this run wrote differed from the last verified state. LiteLLM was not restarted: it "
            "still runs what it ran before.",
        ),
        (
            report(described=None, restarted=False, verify=None),
            CAUSE + ". Put back the last verified state: ConfigMap ml/litellm-config, Secret ml/litellm-secrets (the "
            "verified values of GROQ_API_KEY). LiteLLM was not restarted: it still runs what it ran before.",
        ),
        (
            report(
                restored=[],
                secret_keys=[],
                left_alone=["Secret ml/litellm-secrets key OPENAI_API_KEY is also loaded by Deployment canary"],
            ),
            CAUSE
            + ". Nothing was put back. Left alone: Secret ml/litellm-secrets key OPENAI_API_KEY is also loaded by "
            "Deployment canary. LiteLLM serves 3 models.",
        ),
        (
            {"lock_lost": "This run (alice@laptop run=t1) no longer holds the lock of LiteLLM"},
            CAUSE + ". This run lost its lock, so it wrote nothing more and restored nothing: another run may be "
            "changing LiteLLM.",
        ),
        ({"off": True}, CAUSE + ". Rollback is off (litellm_rollback: false): the cluster is left as it is."),
        (
            {"failed": "Kubernetes API error 500 Error: etcd is down. "},
            CAUSE + ". Rolling back failed too: Kubernetes API error 500 Error: etcd is down.",
        ),
        (
            report(
                invalid_record="The record of the last verified state (Secret ml/litellm-known-good) cannot be used: "
                "config.yaml does not parse. Nothing was restored from it and LiteLLM was not restarted onto it; fix "
                "or delete that Secret."
            ),
            CAUSE + ". The record of the last verified state (Secret ml/litellm-known-good) cannot be used: "
            "config.yaml does not parse. Nothing was restored from it and LiteLLM was not restarted onto it; fix or "
            "delete that Secret.",
        ),
    ],
    ids=[
        "nothing-written",
        "restored-with-keys-and-verified",
        "restored-without-keys",
        "left-alone",
        "rollout-failed",
        "verification-failed-after-rollback",
        "not-verified",
        "nothing-differed",
        "not-restarted",
        "everything-left-alone",
        "lock-lost",
        "rollback-off",
        "rollback-failed",
        "invalid-record",
    ],
)
def test_failure_message(rollback, expected):
    assert outcome.failure_message(CAUSE, rollback) == expected


@pytest.mark.parametrize(
    "rollback",
    [
        {"lock_lost": "lost"},
        {"off": True},
        {"failed": "conflict"},
        report(invalid_record="bad"),
        report(left_alone=["ConfigMap ml/litellm-config is gone"]),
        report(rollout_failed="crash"),
    ],
)
def test_the_original_cause_always_comes_first(rollback):
    assert outcome.failure_message(CAUSE, rollback).startswith(CAUSE + ". ")


@pytest.mark.parametrize(
    "cause, start", [(None, "A step failed."), ("", "A step failed."), ("boom. ", "boom."), ("boom", "boom.")]
)
def test_the_cause_ends_in_one_full_stop(cause, start):
    assert outcome.failure_message(cause, {"off": True}).startswith(start + " Rollback is off")


@pytest.mark.parametrize(
    "rollback, words",
    [
        ({"invalid_record": "x", "restored": []}, "record invalid: nothing restored"),
        ({"failed": "x"}, "failed"),
        ({"restored": ["ConfigMap ml/c", "Secret ml/s"]}, "restored ConfigMap ml/c, Secret ml/s"),
        ({"restored": []}, "nothing to restore"),
    ],
)
def test_rollback_summary(rollback, words):
    assert outcome.rollback_summary(rollback) == words


# -- run_report ------------------------------------------------------------------------------------

RESULT = {
    "summary": "added 1 model, added GROQ_API_KEY, restarted in 12.5 s, verified 1 model in 0.3 s",
    "steps": [step("plan"), step("config"), step("keys"), step("rollout", seconds=12.5), step("verify")],
    "target": {"namespace": "ml", "deployment": "litellm", "configmap": "litellm-config"},
    "config": {"added": ["groq/openai/gpt-oss-120b"], "updated": [], "removed": ["groq/old"]},
    "secrets": {
        "litellm-secrets": {"added": ["GROQ_API_KEY"], "updated": [], "unchanged": ["OPENAI_API_KEY"]},
        "provider-keys": {"added": [], "updated": ["MISTRAL"], "unchanged": []},
    },
    "expected_models": ["vllm-qwen", "groq/openai/gpt-oss-120b"],
    "unverified": {"config": False, "keys": [], "models": [], "recorded_at": None, "failing_rollout": None},
    "provider_check": [{"provider": "groq", "status": "ok"}],
    "warnings_list": ["a warning"],
    "restarted": True,
    "verify": {"ready": True, "models": ["vllm-qwen"], "smoke": [{"model": "m", "status": "ok"}]},
    "recorded": True,
}


def test_run_report_of_a_full_run():
    assert outcome.run_report(RESULT) == {
        "summary": RESULT["summary"],
        "steps": RESULT["steps"],
        "target": RESULT["target"],
        "models": RESULT["expected_models"],
        "added": ["groq/openai/gpt-oss-120b"],
        "updated": [],
        "removed": ["groq/old"],
        "config_changed": True,
        "keys_changed": ["GROQ_API_KEY", "MISTRAL"],
        "unverified": RESULT["unverified"],
        "provider_check": RESULT["provider_check"],
        "warnings": ["a warning"],
        "restarted": True,
        "restarted_deployments": [],
        "deployments": [],
        "rollout_seconds": 12.5,
        "ready": True,
        "served_models": ["vllm-qwen"],
        "smoke": [{"model": "m", "status": "ok"}],
        "recorded": True,
        "rollback": None,
        "failure": None,
    }


def test_run_report_of_a_run_that_did_nothing():
    report_ = outcome.run_report(dict(RESULT, steps=[step("plan")], restarted=False, verify=None, recorded=False))
    assert (
        report_["config_changed"],
        report_["keys_changed"],
        report_["restarted"],
        report_["rollout_seconds"],
        report_["ready"],
        report_["served_models"],
        report_["smoke"],
        report_["recorded"],
    ) == (False, [], False, None, None, [], [], False)


def test_run_report_of_a_failed_run():
    rollback = {"restored": ["ConfigMap ml/litellm-config"], "secret_keys": []}
    report_ = outcome.run_report({"steps": [step("plan")], "rollback": rollback}, failure="boom.")
    assert report_["failure"] == "boom." and report_["rollback"] == rollback
    assert report_["target"] == {} and report_["models"] == [] and report_["recorded"] is False


def test_run_report_never_holds_a_value():
    result = dict(RESULT, invocation={"module_args": {"api_keys": {"GROQ_API_KEY": "gsk_live_value"}}})
    assert "gsk_live_value" not in json.dumps(outcome.run_report(result))


def test_an_unusable_record_is_named_with_each_reason_once():
    assert outcome.unusable_record("ml", "litellm-known-good", ["config.yaml is not valid YAML.", "models: none"]) == (
        "The record of the last verified state (Secret ml/litellm-known-good) cannot be used: "
        "config.yaml is not valid YAML; models: none"
    )


def test_keys_put_back_without_a_restart_are_said_to_run_as_before_and_asked():
    report = {
        "restored": ["Secret ml/litellm-secrets"],
        "secret_keys": ["GROQ_API_KEY"],
        "wrote_anything": True,
        "restarted": False,
        "verify": {"passed": True, "smoke": [{"model": "groq/openai/gpt-oss-120b"}]},
    }
    assert outcome.failure_message(
        "Kubernetes API error 500 InternalError: writing Secret ml/other-secrets", report
    ) == (
        "Kubernetes API error 500 InternalError: writing Secret ml/other-secrets. Put back the last verified state: "
        "Secret ml/litellm-secrets (the verified values of GROQ_API_KEY). LiteLLM was not restarted: it still runs "
        "what it ran before; a request to groq/openai/gpt-oss-120b was answered."
    )
