# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/_outcome.py: what a run did, in words and as a report."""

from __future__ import annotations

import json

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _outcome as outcome

SKIPPED = {"changed": False, "skipped": True, "skip_reason": "Conditional result was False"}
PLAN = {
    "target": {"namespace": "ml", "deployment": "litellm", "configmap": "litellm-config"},
    "config": {"added": ["groq/openai/gpt-oss-120b"], "updated": [], "removed": ["groq/old"]},
    "expected_models": ["vllm-qwen", "groq/openai/gpt-oss-120b"],
    "managed_keys": {
        "GROQ_API_KEY": {"secret": "litellm-secrets", "key": "GROQ_API_KEY"},
        "MISTRAL_API_KEY": {"secret": "provider-keys", "key": "MISTRAL_API_KEY"},
    },
    "resource_versions": {
        "configmaps": {"litellm-config": "100"},
        "secrets": {"litellm-secrets": "200", "provider-keys": "300", "other": "400"},
    },
    "unverified": {"config": False, "keys": [], "models": [], "recorded_at": None, "failing_rollout": None},
    "provider_check": [{"provider": "groq", "status": "ok"}],
    "warnings_list": ["a warning"],
}


def plan_with(**unverified):
    return dict(PLAN, unverified=dict(PLAN["unverified"], **unverified))


# -- own_writes ------------------------------------------------------------------------------------


def test_nothing_written_nothing_taken_over():
    assert outcome.own_writes(PLAN) == {"configmaps": {}, "secrets": {}}
    assert outcome.own_writes(PLAN, SKIPPED, SKIPPED) == {"configmaps": {}, "secrets": {}}


def test_what_this_run_wrote_at_the_version_it_left():
    config = {"changed": True, "resource_version": "101"}
    secret = {
        "changed": True,
        "secrets": {
            "litellm-secrets": {"changed": True, "resource_version": "201"},
            "provider-keys": {"changed": False, "resource_version": "300"},
        },
    }
    assert outcome.own_writes(PLAN, config, secret) == {
        "configmaps": {"litellm-config": "101"},
        "secrets": {"litellm-secrets": "201"},
    }


def test_an_unchanged_config_is_not_this_runs():
    assert outcome.own_writes(PLAN, {"changed": False, "resource_version": "100"}) == {"configmaps": {}, "secrets": {}}


def test_an_unverified_config_is_taken_over_at_the_version_read():
    assert outcome.own_writes(plan_with(config=True)) == {"configmaps": {"litellm-config": "100"}, "secrets": {}}


def test_unverified_keys_take_over_their_secrets_only():
    assert outcome.own_writes(plan_with(keys=["MISTRAL_API_KEY"])) == {
        "configmaps": {},
        "secrets": {"provider-keys": "300"},
    }


def test_a_failing_rollout_takes_over_the_config_and_every_managed_secret():
    assert outcome.own_writes(plan_with(failing_rollout="pod crashes")) == {
        "configmaps": {"litellm-config": "100"},
        "secrets": {"litellm-secrets": "200", "provider-keys": "300"},
    }


def test_a_write_after_a_takeover_wins():
    secret = {"secrets": {"provider-keys": {"changed": True, "resource_version": "301"}}}
    assert outcome.own_writes(plan_with(keys=["MISTRAL_API_KEY"]), None, secret)["secrets"] == {"provider-keys": "301"}


def test_a_secret_that_was_not_read_is_not_taken_over():
    plan = dict(plan_with(keys=["GROQ_API_KEY"]), resource_versions={"configmaps": {}, "secrets": {}})
    assert outcome.own_writes(plan)["secrets"] == {}


# -- failure_report --------------------------------------------------------------------------------

CAUSE = 'LiteLLM verification failed: groq/openai/gpt-oss-120b: key_rejected (Groq says "Invalid API Key")'
RESTORED = {
    "changed": True,
    "restored": ["ConfigMap ml/litellm-config", "Secret ml/litellm-secrets"],
    "secret_keys": ["GROQ_API_KEY"],
    "recorded_at": "2026-12-01T10:00:00Z",
    "left_alone": [],
}
ROLLED = {"changed": True, "restarted": True}
SERVED = {"passed": True, "models": ["vllm-qwen", "ollama-qwen", "openai-gpt4o"]}


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        (dict(rollback=False), CAUSE + ". Rollback is off (litellm_rollback: false): the cluster is left as it is."),
        (
            dict(restore=SKIPPED),
            CAUSE + ". This run had written nothing and restarted nothing, so nothing was rolled back.",
        ),
        (
            dict(restore=None),
            CAUSE + ". This run had written nothing and restarted nothing, so nothing was rolled back.",
        ),
        (dict(restore={}), CAUSE + ". This run had written nothing and restarted nothing, so nothing was rolled back."),
        (
            dict(restore=RESTORED, rollout=ROLLED, verify=SERVED),
            CAUSE + ". Put back the last verified state (recorded 2026-12-01T10:00:00Z): ConfigMap ml/litellm-config, "
            "Secret ml/litellm-secrets (the verified values of GROQ_API_KEY). LiteLLM runs it again and serves 3 "
            "models.",
        ),
        (
            dict(restore=dict(RESTORED, secret_keys=[]), rollout=ROLLED, verify=SKIPPED),
            CAUSE + ". Put back the last verified state (recorded 2026-12-01T10:00:00Z): ConfigMap ml/litellm-config, "
            "Secret ml/litellm-secrets. LiteLLM was rolled back onto it.",
        ),
        (
            dict(restore=RESTORED, rollout={"failed": True, "msg": "Rollout of deployment ml/litellm failed: crash."}),
            CAUSE + ". Put back the last verified state (recorded 2026-12-01T10:00:00Z): ConfigMap ml/litellm-config, "
            "Secret ml/litellm-secrets (the verified values of GROQ_API_KEY). Rolling LiteLLM back failed too: "
            "Rollout of deployment ml/litellm failed: crash.",
        ),
        (
            dict(restore=RESTORED, rollout=ROLLED, verify={"failed": True, "msg": "LiteLLM not ready"}),
            CAUSE + ". Put back the last verified state (recorded 2026-12-01T10:00:00Z): ConfigMap ml/litellm-config, "
            "Secret ml/litellm-secrets (the verified values of GROQ_API_KEY). LiteLLM was rolled back, but does not "
            "serve as before: LiteLLM not ready.",
        ),
        (
            dict(restore={"changed": False, "restored": [], "left_alone": []}, rollout=SKIPPED),
            CAUSE
            + ". Nothing this run wrote differed from the last verified state. LiteLLM was not restarted: it still "
            "runs what it ran before.",
        ),
        (
            dict(
                restore={
                    "failed": True,
                    "msg": "Secret ml/litellm-secrets was changed by someone else. ",
                    "restored": [],
                    "left_alone": [],
                }
            ),
            CAUSE + ". Rolling back failed too: Secret ml/litellm-secrets was changed by someone else.",
        ),
        (dict(restore={"failed": True, "restored": []}), CAUSE + ". Rolling back failed too: no message."),
    ],
)
def test_failure_report(kwargs, expected):
    assert outcome.failure_report(CAUSE, **kwargs) == expected


def test_the_original_cause_always_comes_first():
    restore = {"failed": True, "msg": "conflict", "left_alone": ["ConfigMap ml/litellm-config is gone"]}
    for kwargs in (dict(rollback=False), dict(restore=restore), dict(restore=RESTORED, rollout={"failed": True})):
        assert outcome.failure_report(CAUSE, **kwargs).startswith(CAUSE + ". ")


def test_left_alone_notes_follow_the_rollback():
    restore = dict(
        RESTORED,
        left_alone=["Secret ml/provider-keys differs from the last verified state, but this run did not write it."],
    )
    report = outcome.failure_report(CAUSE, restore=restore, rollout=SKIPPED)
    assert (
        "Left alone: Secret ml/provider-keys differs from the last verified state, but this run did not write "
        "it. LiteLLM was not restarted" in report
    )


@pytest.mark.parametrize(
    "cause, start", [(None, "A step failed."), ("", "A step failed."), ("boom. ", "boom."), ("boom", "boom.")]
)
def test_the_cause_ends_in_one_full_stop(cause, start):
    assert outcome.failure_report(cause, rollback=False).startswith(start + " Rollback is off")


# -- run_report ------------------------------------------------------------------------------------


def test_run_report_of_a_full_run():
    secret = {"added": ["GROQ_API_KEY"], "updated": ["MISTRAL_API_KEY", "GROQ_API_KEY"]}
    rollout = {"restarted": True, "rollout_seconds": 12.5}
    verify = {"ready": True, "models": ["vllm-qwen"], "smoke": [{"model": "m", "status": "ok"}]}
    report = outcome.run_report(PLAN, {"changed": True}, secret, rollout, verify, {"changed": True})
    assert report == {
        "target": PLAN["target"],
        "models": PLAN["expected_models"],
        "added": ["groq/openai/gpt-oss-120b"],
        "updated": [],
        "removed": ["groq/old"],
        "config_changed": True,
        "keys_changed": ["GROQ_API_KEY", "MISTRAL_API_KEY"],
        "unverified": PLAN["unverified"],
        "provider_check": PLAN["provider_check"],
        "warnings": ["a warning"],
        "restarted": True,
        "rollout_seconds": 12.5,
        "ready": True,
        "served_models": ["vllm-qwen"],
        "smoke": [{"model": "m", "status": "ok"}],
        "recorded": True,
        "failure": None,
    }


def test_run_report_of_a_run_that_did_nothing():
    report = outcome.run_report(PLAN, SKIPPED, SKIPPED, SKIPPED, SKIPPED, SKIPPED)
    assert (
        report["config_changed"],
        report["keys_changed"],
        report["restarted"],
        report["rollout_seconds"],
        report["ready"],
        report["served_models"],
        report["smoke"],
        report["recorded"],
    ) == (False, [], False, None, None, [], [], False)


def test_run_report_recorded_by_a_baseline_and_with_a_failure():
    report = outcome.run_report({}, record={"changed": False, "recorded_at": "2026-12-01T10:00:00Z"}, failure="boom.")
    assert report["recorded"] is True and report["failure"] == "boom."
    assert report["target"] == {} and report["models"] == []


def test_run_report_never_holds_a_value():
    secret = {
        "added": ["GROQ_API_KEY"],
        "updated": [],
        "secrets": {"litellm-secrets": {"keys": ["GROQ_API_KEY"]}},
        "invocation": {"module_args": {"data": {"GROQ_API_KEY": "gsk_live_value"}}},
    }
    assert "gsk_live_value" not in json.dumps(outcome.run_report(PLAN, secret=secret))
