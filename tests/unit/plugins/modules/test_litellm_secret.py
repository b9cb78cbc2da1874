# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""litellm_secret through main(): provider keys written where they reach the pod, never shown."""

from __future__ import annotations

import json

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _lock
from ansible_collections.homelab.litellm.plugins.modules import litellm_secret
from ansible_collections.homelab.litellm.tests.unit.fake_kube import (
    OTHER_HOLDER,
    STORY_CONFIG,
    STORY_SECRETS,
    b64,
    litellm_deployment,
    secret_object,
    seed_story,
    unb64,
)

GROQ_KEY = "gsk_" + "S3cr" * 12
MISTRAL_KEY = "M1str" * 6 + "al"
ARGS = {"namespace": "ml", "data": {"GROQ_API_KEY": GROQ_KEY}}
LEASE = "homelab-litellm-litellm"


def stored(cluster, name="litellm-secrets"):
    secret = cluster.get("secrets", name)
    return None if secret is None else {key: unb64(value) for key, value in secret["data"].items()}


def values_in(text):
    values = set(STORY_SECRETS.values()) | {GROQ_KEY, MISTRAL_KEY}
    return sorted(value for value in values | {b64(v) for v in values} if value in text)


def test_a_new_key_goes_to_the_secret_the_deployment_loads(story, run_module):
    result = run_module(litellm_secret, ARGS)
    assert result.rc == 0 and result["changed"] is True
    assert (result["added"], result["updated"], result["unchanged"]) == (["GROQ_API_KEY"], [], [])
    assert result["targets"] == {"GROQ_API_KEY": {"secret": "litellm-secrets", "key": "GROQ_API_KEY"}}
    assert result["secrets"] == {
        "litellm-secrets": {
            "keys": ["DATABASE_URL", "GROQ_API_KEY", "LITELLM_MASTER_KEY", "OPENAI_API_KEY"],
            "changed": True,
            "resource_version": story.get("secrets", "litellm-secrets")["metadata"]["resourceVersion"],
        }
    }
    assert stored(story) == dict(STORY_SECRETS, GROQ_API_KEY=GROQ_KEY)
    assert values_in(result.output) == []


def test_an_equal_key_is_not_written(story, run_module):
    run_module(litellm_secret, ARGS)
    result = run_module(litellm_secret, ARGS)
    assert result["changed"] is False and result["unchanged"] == ["GROQ_API_KEY"]
    assert len(story.writes("secrets")) == 1


def test_a_key_is_written_where_the_pod_already_gets_it(cluster, run_module):
    deployment = litellm_deployment()
    deployment["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "MISTRAL_API_KEY", "valueFrom": {"secretKeyRef": {"name": "provider-keys", "key": "mistral"}}}
    ]
    seed_story(cluster, STORY_CONFIG, STORY_SECRETS, deployment)
    cluster.add("secrets", secret_object({"mistral": "old-mistral-key-000"}, name="provider-keys"))
    result = run_module(
        litellm_secret, {"namespace": "ml", "data": {"MISTRAL_API_KEY": MISTRAL_KEY, "GROQ_API_KEY": GROQ_KEY}}
    )
    assert result["targets"] == {
        "GROQ_API_KEY": {"secret": "litellm-secrets", "key": "GROQ_API_KEY"},
        "MISTRAL_API_KEY": {"secret": "provider-keys", "key": "mistral"},
    }
    assert (result["added"], result["updated"]) == (["GROQ_API_KEY"], ["MISTRAL_API_KEY"])
    assert stored(cluster, "provider-keys") == {"mistral": MISTRAL_KEY}
    assert sorted(result["secrets"]) == ["litellm-secrets", "provider-keys"]


def test_a_secret_key_ref_may_name_a_key_that_is_no_variable_name(cluster, run_module):
    # The kubelet maps secretKeyRef {key: api-key} to GROQ_API_KEY: only the variable must be a valid name.
    deployment = litellm_deployment()
    deployment["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "GROQ_API_KEY", "valueFrom": {"secretKeyRef": {"name": "groq-keys", "key": "api-key"}}}
    ]
    seed_story(cluster, STORY_CONFIG, STORY_SECRETS, deployment)
    cluster.add("secrets", secret_object({"api-key": "gsk_" + "0ld" * 17 + "x"}, name="groq-keys"))
    result = run_module(litellm_secret, ARGS)
    assert result.rc == 0, result["msg"]
    assert result["targets"] == {"GROQ_API_KEY": {"secret": "groq-keys", "key": "api-key"}}
    assert result["updated"] == ["GROQ_API_KEY"]
    assert stored(cluster, "groq-keys") == {"api-key": GROQ_KEY}


def test_an_explicit_secret_the_pod_does_not_load_is_refused(story, run_module):
    result = run_module(litellm_secret, dict(ARGS, secret="provider-keys"))
    assert result.failed and "{secretRef: {name: provider-keys}}" in result["msg"]
    assert story.writes() == []


def test_without_discovery_the_named_secret_is_written_and_created_on_request(cluster, run_module):
    result = run_module(litellm_secret, dict(ARGS, secret="provider-keys", discover=False))
    assert result.failed and result["msg"].startswith("Secret ml/provider-keys not found.")
    result = run_module(litellm_secret, dict(ARGS, secret="provider-keys", discover=False, create=True))
    assert result["changed"] is True and result["added"] == ["GROQ_API_KEY"]
    created = cluster.get("secrets", "provider-keys")
    assert created["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "homelab.litellm"}
    assert stored(cluster, "provider-keys") == {"GROQ_API_KEY": GROQ_KEY}
    assert not [r for r in cluster.requests if r.resource == "deployments"]


def test_discover_false_needs_a_secret(cluster, run_module):
    result = run_module(litellm_secret, dict(ARGS, discover=False))
    assert result.failed and result["msg"] == "discover: false needs secret: the Secret to write the keys into"


def test_check_mode_and_diff_show_key_names_only(story, run_module):
    run_module(litellm_secret, {"namespace": "ml", "data": {"MISTRAL_API_KEY": "old-mistral-key-000"}})
    result = run_module(
        litellm_secret,
        {"namespace": "ml", "data": {"GROQ_API_KEY": GROQ_KEY, "MISTRAL_API_KEY": MISTRAL_KEY}},
        check_mode=True,
        diff=True,
    )
    assert result["changed"] is True
    assert (result["added"], result["updated"]) == (["GROQ_API_KEY"], ["MISTRAL_API_KEY"])
    assert result["diff"] == [
        {
            "before": "DATABASE_URL: <unchanged>\nLITELLM_MASTER_KEY: <unchanged>\nMISTRAL_API_KEY: <previous value>\n"
            "OPENAI_API_KEY: <unchanged>\n",
            "after": "DATABASE_URL: <unchanged>\nGROQ_API_KEY: <added>\nLITELLM_MASTER_KEY: <unchanged>\n"
            "MISTRAL_API_KEY: <new value>\nOPENAI_API_KEY: <unchanged>\n",
            "before_header": "Secret ml/litellm-secrets (key names only)",
            "after_header": "Secret ml/litellm-secrets (key names only)",
        }
    ]
    assert len(story.writes("secrets")) == 1, "check mode wrote nothing"
    assert values_in(result.output) == []


def test_an_error_that_echoes_the_request_body_is_scrubbed(story, run_module):
    story.fail("PUT", "secrets", 422, 'Secret "litellm-secrets" is invalid', echo_body=True)
    result = run_module(litellm_secret, ARGS)
    assert result.failed
    assert result["msg"].startswith('Kubernetes API error 422 Invalid: Secret "litellm-secrets" is invalid: {')
    assert "***" in result["msg"]
    assert GROQ_KEY not in result.output and b64(GROQ_KEY) not in result.output


def test_an_error_that_echoes_the_request_body_shows_no_value_of_the_secret(story, run_module):
    story.fail("PUT", "secrets", 422, 'Secret "litellm-secrets" is invalid', echo_body=True)
    assert values_in(run_module(litellm_secret, ARGS).output) == []


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("changeme", "not a real credential"),
        ("gsk_abc\ndef-0123456789", "control character"),
        ("gsk_\u201cquoted\u201d-0123456789", "non-ASCII"),
        ("", "the value is empty"),
    ],
)
def test_bad_values_are_refused_before_the_cluster_is_asked(story, run_module, value, fragment):
    result = run_module(litellm_secret, {"namespace": "ml", "data": {"GROQ_API_KEY": value}})
    assert result.failed and result["msg"].startswith("Nothing was written. GROQ_API_KEY: ")
    assert fragment in result["msg"] and result["errors"]
    assert story.requests == []
    if value:
        assert value not in json.dumps({k: v for k, v in result.items() if k != "invocation"})


def test_state_absent_removes_keys_where_the_pod_gets_them(story, run_module):
    run_module(litellm_secret, ARGS)
    result = run_module(litellm_secret, {"namespace": "ml", "state": "absent", "keys": ["GROQ_API_KEY", "NOT_THERE"]})
    assert result["changed"] is True
    assert (result["removed"], result["unchanged"]) == (["GROQ_API_KEY"], ["NOT_THERE"])
    assert stored(story) == STORY_SECRETS


def test_an_immutable_secret_is_refused(story, run_module):
    story.edit("secrets", "litellm-secrets", lambda obj: obj.update(immutable=True))
    result = run_module(litellm_secret, ARGS)
    assert result.failed and result["msg"].startswith("Secret ml/litellm-secrets is immutable")
    assert story.writes("secrets") == []


def test_a_conflict_is_planned_again(story, run_module):
    story.interfere("secrets", "litellm-secrets", lambda obj: obj["data"].update(OTHER=b64("someone-elses-0001")))
    result = run_module(litellm_secret, ARGS)
    assert result["changed"] is True
    assert stored(story) == dict(STORY_SECRETS, GROQ_API_KEY=GROQ_KEY, OTHER="someone-elses-0001")


def test_a_conflict_reports_each_key_once(story, run_module):
    story.interfere("secrets", "litellm-secrets", lambda obj: obj["data"].update(OTHER=b64("someone-elses-0001")))
    result = run_module(litellm_secret, ARGS, diff=True)
    assert result["added"] == ["GROQ_API_KEY"] and len(result["diff"]) == 1


def hold(cluster, who):
    cluster.add(
        "leases",
        {
            "metadata": {"name": LEASE},
            "spec": {"holderIdentity": who, "leaseDurationSeconds": 15, "renewTime": _lock.micro_time(9999999999)},
        },
    )


def test_a_module_whose_lock_a_run_of_the_role_holds_writes_no_key(story, run_module):
    hold(story, OTHER_HOLDER)
    result = run_module(litellm_secret, dict(ARGS, lock_timeout=0))
    assert result.failed and "%s holds its lock" % OTHER_HOLDER in result["msg"]
    assert story.writes() == [] and stored(story) == STORY_SECRETS


def test_the_keys_are_written_under_the_lock_and_it_is_released(story, run_module):
    assert run_module(litellm_secret, ARGS)["changed"] is True
    assert [(r.method, r.resource) for r in story.writes()] == [
        ("POST", "leases"),
        ("PUT", "leases"),
        ("PUT", "secrets"),
        ("PUT", "leases"),
    ]
    assert story.get("leases", LEASE)["spec"]["holderIdentity"] is None


def test_check_mode_and_lock_false_take_no_lock(story, run_module):
    hold(story, OTHER_HOLDER)
    assert run_module(litellm_secret, ARGS, check_mode=True)["changed"] is True
    assert run_module(litellm_secret, dict(ARGS, lock=False))["changed"] is True
    assert [(r.method, r.resource) for r in story.writes()] == [("PUT", "secrets")]


def test_a_secret_helm_manages_is_warned_after_the_write(story, run_module):
    story.edit(
        "secrets",
        "litellm-secrets",
        lambda obj: obj["metadata"].update(labels={"app.kubernetes.io/managed-by": "Helm"}),
    )
    result = run_module(litellm_secret, ARGS)
    assert result["changed"] is True
    assert any(text.startswith("Secret ml/litellm-secrets is managed by Helm") for text in result.warning_texts)
