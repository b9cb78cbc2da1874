# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""litellm_plan through main(): one read of the cluster, the plan, the checks before anything is written.

litellm_plan is litellm_apply's transaction stopped before the lock: it never writes, with work or without.
The whole run (lock, writes, record) is tested in test_litellm_apply.py."""

from __future__ import annotations

import json

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _lock
from ansible_collections.homelab.litellm.plugins.module_utils.run import preflight
from ansible_collections.homelab.litellm.plugins.modules import litellm_plan
from ansible_collections.homelab.litellm.tests.unit.fake_kube import (
    OTHER_HOLDER,
    STORY_CONFIG,
    STORY_SECRETS,
    b64,
    litellm_deployment,
    seed_story,
    settled_story,
)

GROQ_KEY = "gsk_" + "Pl4n" * 12
GPT_OSS = {
    "model_name": "groq/openai/gpt-oss-120b",
    "litellm_params": {"model": "groq/openai/gpt-oss-120b", "api_key": "os.environ/GROQ_API_KEY"},
}
ADD_GROQ = {"namespace": "ml", "models": [GPT_OSS], "api_keys": {"GROQ_API_KEY": GROQ_KEY}, "provider_check": "off"}
LEASE = "homelab-litellm-litellm"


def values_in(text):
    """The secret values (plain and base64) found in ``text``."""
    values = set(STORY_SECRETS.values()) | {GROQ_KEY}
    return sorted(value for value in values | {b64(v) for v in values} if value in text)


def test_a_settled_litellm_has_no_work_and_takes_no_lock(cluster, run_module):
    settled_story(cluster)
    result = run_module(litellm_plan, {"namespace": "ml", "provider_check": "off"})
    assert result.rc == 0 and result["changed"] is False
    assert result["work"] == {
        "config": False,
        "secret": False,
        "rollout": False,
        "verify": False,
        "record": False,
        "any": False,
    }
    assert result["lock"] == {"name": LEASE, "holder": "", "renewed": None, "duration": None}
    assert result["known_good"] == {
        "name": "litellm-known-good",
        "exists": True,
        "verified": "true",
        "recorded_at": "2026-12-01T10:00:00Z",
    }
    assert result["summary"] == "no change: 3 models, 0 keys as recorded"
    assert cluster.writes() == [] and cluster.reviews == []


def test_work_is_planned_and_nothing_written_not_even_the_lock(story, run_module):
    result = run_module(litellm_plan, ADD_GROQ)
    assert result.rc == 0 and result["changed"] is False
    assert result["work"] == {
        "config": True,
        "secret": True,
        "rollout": True,
        "verify": True,
        "record": True,
        "any": True,
    }
    assert result["target"]["service"] == "litellm" and result["target"]["port"] == 4000
    assert result["config"]["added"] == ["groq/openai/gpt-oss-120b"]
    assert result["secrets"]["litellm-secrets"]["added"] == ["GROQ_API_KEY"]
    assert result["smoke_models"] == ["groq/openai/gpt-oss-120b"]
    assert result["lock"]["holder"] == "" and result["would_change"] is True
    assert [step["step"] for step in result["steps"]] == ["plan", "preflight"]
    assert story.writes() == []
    # No Lease and no record yet: the rights to create them are asked too.
    assert {"verb": "create", "group": "coordination.k8s.io", "resource": "leases", "namespace": "ml"} in story.reviews
    assert {"verb": "create", "group": "", "resource": "secrets", "namespace": "ml"} in story.reviews
    assert {
        "verb": "update",
        "group": "",
        "resource": "secrets",
        "namespace": "ml",
        "name": "litellm-secrets",
    } in story.reviews


def test_check_mode_says_changed_diffs_key_names_and_takes_no_lock(story, run_module):
    result = run_module(litellm_plan, ADD_GROQ, check_mode=True, diff=True)
    assert result["changed"] is True
    config_diff, secret_diff, digest_diff = result["diff"]
    assert config_diff["before"] == STORY_CONFIG and "groq/openai/gpt-oss-120b" in config_diff["after"]
    assert secret_diff["after"] == (
        "DATABASE_URL: <unchanged>\nGROQ_API_KEY: <added>\nLITELLM_MASTER_KEY: "
        "<unchanged>\nOPENAI_API_KEY: <unchanged>\n"
    )
    assert digest_diff["before"] == "homelab.litellm/config-digest: (none)\n"
    assert story.writes() == [] and result["lock"]["holder"] == ""
    assert result["summary"] == "check mode: would add groq/openai/gpt-oss-120b, write GROQ_API_KEY, restart LiteLLM"
    assert values_in(result.output) == []


def test_check_mode_of_a_settled_litellm_is_unchanged(cluster, run_module):
    settled_story(cluster)
    result = run_module(litellm_plan, {"namespace": "ml", "provider_check": "off"}, check_mode=True, diff=True)
    assert result["changed"] is False and "diff" not in result


def test_no_output_holds_a_key_value(story, run_module):
    result = run_module(litellm_plan, ADD_GROQ, diff=True)
    assert values_in(result.output) == []
    assert result["invocation"]["module_args"]["api_keys"] == {"GROQ_API_KEY": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}


def test_a_literal_key_in_the_models_is_masked_in_the_refusal(story, run_module):
    pasted = "gsk_pasted_into_the_model_by_mistake_0123"
    model = {"model_name": "groq/x", "litellm_params": {"model": "groq/x", "api_key": pasted}}
    result = run_module(litellm_plan, {"namespace": "ml", "models": [model], "provider_check": "off"})
    assert result.failed and "litellm_params.api_key is written literally (value not shown)" in result["msg"]
    assert pasted not in result.output
    assert (
        result["invocation"]["module_args"]["models"][0]["litellm_params"]["api_key"]
        == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    )
    assert story.writes() == []


def test_a_deployment_this_collection_cannot_manage_is_refused(cluster, run_module):
    deployment = litellm_deployment()
    deployment["spec"]["template"]["spec"]["volumes"] = [{"name": "config", "emptyDir": {}}]
    seed_story(cluster, STORY_CONFIG, STORY_SECRETS, deployment)
    result = run_module(litellm_plan, ADD_GROQ)
    assert result.failed
    assert result["msg"].startswith(
        "Nothing was written. the config file /app/config.yaml of Deployment ml/litellm "
        "comes from a emptyDir volume 'config', not from a ConfigMap"
    )
    assert cluster.writes() == []


def test_a_missing_deployment_is_refused(cluster, run_module):
    result = run_module(litellm_plan, ADD_GROQ)
    assert result.failed and result["msg"] == (
        "Nothing was written. Deployment ml/litellm not found; check litellm_namespace and litellm_deployment"
    )
    assert result["errors"] == ["Deployment ml/litellm not found; check litellm_namespace and litellm_deployment"]


# -- provider check --------------------------------------------------------------------------------


def groq_answers(status, body, calls):
    def fetch(url, headers, timeout):
        calls.append((url, headers))
        return status, body

    return fetch


def test_a_key_the_provider_rejects_fails_before_anything_is_written(story, run_module, monkeypatch):
    calls = []
    monkeypatch.setattr(
        preflight,
        "http_fetch",
        groq_answers(401, json.dumps({"error": {"message": "Invalid API Key " + GROQ_KEY}}).encode(), calls),
    )
    result = run_module(litellm_plan, dict(ADD_GROQ, provider_check="auto"))
    assert result.failed
    assert result["msg"].startswith(
        "Nothing was written. Groq rejected the key in GROQ_API_KEY (HTTP 401: Invalid API Key ***)"
    )
    assert calls == [
        ("https://api.groq.com/openai/v1/models", {"Accept": "application/json", "Authorization": "Bearer " + GROQ_KEY})
    ]
    assert story.writes() == [] and values_in(result.output) == []


def test_served_models_pass_and_are_reported(story, run_module, monkeypatch):
    calls = []
    monkeypatch.setattr(
        preflight,
        "http_fetch",
        groq_answers(200, json.dumps({"data": [{"id": "openai/gpt-oss-120b"}]}).encode(), calls),
    )
    result = run_module(litellm_plan, dict(ADD_GROQ, provider_check="required"))
    assert result.rc == 0
    [checked] = result["provider_check"]
    assert (checked["provider"], checked["status"], checked["missing"]) == ("groq", "ok", [])
    assert len(calls) == 1


def test_an_unreachable_provider_warns_in_auto_mode(story, run_module, monkeypatch):
    def unreachable(url, headers, timeout):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(preflight, "http_fetch", unreachable)
    result = run_module(litellm_plan, dict(ADD_GROQ, provider_check="auto", provider_timeout=0.5))
    assert result.rc == 0
    assert any(
        "Groq could not be asked about groq/openai/gpt-oss-120b (OSError: Network is unreachable)" in warning
        for warning in result["warnings_list"]
    )
    result = run_module(litellm_plan, dict(ADD_GROQ, provider_check="required"))
    assert result.failed and "litellm_provider_check: required stops here" in result["msg"]


def test_a_model_the_provider_does_not_serve_names_its_replacement(story, run_module, monkeypatch):
    retired = {
        "model_name": "groq/llama-3.3-70b-versatile",
        "litellm_params": {"model": "groq/llama-3.3-70b-versatile", "api_key": "os.environ/GROQ_API_KEY"},
    }
    monkeypatch.setattr(
        preflight,
        "http_fetch",
        groq_answers(200, json.dumps({"data": [{"id": "openai/gpt-oss-120b"}]}).encode(), []),
    )
    result = run_module(litellm_plan, dict(ADD_GROQ, models=[retired], provider_check="auto"))
    assert result.failed and "use groq/openai/gpt-oss-120b instead" in result["msg"]


# -- access, owners, the lock ----------------------------------------------------------------------


def test_a_missing_right_fails_naming_it_and_the_rule(story, run_module):
    story.deny("patch", "deployments", name="litellm", group="apps")
    result = run_module(litellm_plan, ADD_GROQ)
    assert result.failed
    lines = result["msg"].splitlines()
    assert lines[0].startswith(
        "Nothing was written. The Kubernetes identity of this run may not do everything "
        "the run needs in namespace ml. Missing:"
    )
    assert lines[1:-1] == [
        '  patch deployments (apps) "litellm" - needed to restart LiteLLM on a change; rule: '
        '{apiGroups: ["apps"], resources: [deployments], resourceNames: [litellm], verbs: [patch]}'
    ]
    assert story.writes() == []


FORBIDDEN_CONFIGMAP = (
    'configmaps "litellm-config" is forbidden: User "system:serviceaccount:ml:ci" cannot get '
    'resource "configmaps" in API group "" in the namespace "ml"'
)


def test_a_forbidden_read_names_every_right_of_the_missing_rule(story, run_module):
    # The Role lost its configmaps rule: the read of the config is refused before any access review.
    story.fail("GET", "configmaps", 403, FORBIDDEN_CONFIGMAP, name="litellm-config")
    story.deny("get", "configmaps", name="litellm-config")
    story.deny("update", "configmaps", name="litellm-config")
    result = run_module(litellm_plan, ADD_GROQ)
    assert result.failed
    lines = result["msg"].splitlines()
    assert lines[0].startswith("Nothing was written. The Kubernetes identity of this run may not do everything")
    assert lines[1:-1] == [
        '  get configmaps "litellm-config" - needed to read LiteLLM\'s config; rule: {apiGroups: [""], '
        "resources: [configmaps], resourceNames: [litellm-config], verbs: [get]}",
        '  update configmaps "litellm-config" - needed to merge the models (or put them back); rule: '
        '{apiGroups: [""], resources: [configmaps], resourceNames: [litellm-config], verbs: [update]}',
    ]
    assert story.writes() == []


def test_a_forbidden_read_the_reviews_do_not_explain_is_named_from_the_api_servers_words(story, run_module):
    story.fail(
        "GET",
        "deployments",
        403,
        'deployments.apps "litellm" is forbidden: User "u" cannot get resource '
        '"deployments" in API group "apps" in the namespace "ml"',
        name="litellm",
    )
    result = run_module(litellm_plan, ADD_GROQ)
    assert result.failed and result["msg"].startswith("Nothing was written.")
    assert (
        'get deployments (apps) "litellm" - needed to read what the plan is made from; rule: {apiGroups: '
        '["apps"], resources: [deployments], resourceNames: [litellm], verbs: [get]}'
    ) in result["msg"]
    assert story.writes() == []


def test_a_forbidden_read_without_the_access_check_is_the_api_servers_error(story, run_module):
    story.fail("GET", "configmaps", 403, FORBIDDEN_CONFIGMAP, name="litellm-config")
    result = run_module(litellm_plan, dict(ADD_GROQ, access_check=False))
    assert result.failed and "is forbidden" in result["msg"] and "Missing:" not in result["msg"]


def test_with_a_verify_url_no_service_is_looked_up_or_needed(story, run_module):
    story.deny("list", "services")
    result = run_module(litellm_plan, dict(ADD_GROQ, verify_url="https://litellm.example.org"))
    assert result.rc == 0, result.get("msg")
    assert result["target"]["service"] is None and result["target"]["discover_service"] is False
    assert not any(r.resource == "services" for r in story.requests if r.method == "GET")


def test_without_access_reviews_the_rights_are_not_checked_ahead(story, run_module):
    story.access_review_status = 404
    result = run_module(litellm_plan, ADD_GROQ)
    assert result.rc == 0
    assert (
        "the API server does not answer SelfSubjectAccessReview (404); rights were not checked ahead"
        in result["warnings_list"]
    )


def test_access_check_off_asks_nothing(story, run_module):
    story.deny("patch", "deployments", name="litellm", group="apps")
    assert run_module(litellm_plan, dict(ADD_GROQ, access_check=False)).rc == 0
    assert story.reviews == []


@pytest.mark.parametrize("policy, failed", [("warn", False), ("refuse", True), ("allow", False)])
def test_a_configmap_helm_manages(story, run_module, policy, failed):
    story.edit(
        "configmaps",
        "litellm-config",
        lambda obj: obj["metadata"].update(
            labels={"app.kubernetes.io/managed-by": "Helm"}, annotations={"meta.helm.sh/release-name": "llm"}
        ),
    )
    result = run_module(litellm_plan, dict(ADD_GROQ, foreign_owner=policy))
    assert result.failed is failed
    text = result["msg"] if failed else " ".join(result["warnings_list"])
    assert ("ConfigMap ml/litellm-config is managed by Helm (release llm)" in text) is (policy != "allow")
    if failed:
        assert text.startswith("Nothing was written.")
        assert text.endswith(
            "litellm_foreign_owner is refuse. To keep the models in that tool's source instead, run with "
            "litellm_apply_mode: render (it writes the chart values or config.yaml to commit), and with "
            "litellm_apply_mode: verify once the sync is done"
        )


def test_a_lock_another_run_holds_is_reported_and_does_not_stop_the_plan(story, run_module):
    story.add(
        "leases",
        {
            "metadata": {"name": LEASE},
            "spec": {
                "holderIdentity": OTHER_HOLDER,
                "leaseDurationSeconds": 15,
                "renewTime": _lock.micro_time(9999999999),
                "acquireTime": _lock.micro_time(9999999999),
            },
        },
    )
    result = run_module(litellm_plan, dict(ADD_GROQ, lock_timeout=0))
    assert result.rc == 0 and result["lock"] == {
        "name": LEASE,
        "holder": OTHER_HOLDER,
        "renewed": _lock.micro_time(9999999999),
        "duration": 15,
    }
    assert story.writes() == []


def test_an_unverified_state_is_warned(cluster, run_module):
    settled_story(cluster, managed=["OPENAI_API_KEY"])
    cluster.edit("secrets", "litellm-secrets", lambda obj: obj["data"].update(OPENAI_API_KEY=b64("sk-set-by-hand-01")))
    result = run_module(litellm_plan, {"namespace": "ml", "provider_check": "off"})
    assert result["unverified"]["keys"] == ["OPENAI_API_KEY"]
    assert result["smoke_models"] == ["openai-gpt4o"]
    assert any(
        warning.startswith(
            "The live state differs from the last verified one (recorded 2026-12-01T10:00:00Z): keys OPENAI_API_KEY."
        )
        for warning in result["warnings_list"]
    )
    assert "sk-set-by-hand-01" not in result.output


def test_the_fetch_follows_no_redirect_and_returns_error_answers(local_server, real_http_fetch):
    """A redirect would carry the provider key to wherever it points."""
    elsewhere = local_server({"/openai/v1/models": (200, {}, b'{"data": []}')})
    provider = local_server(
        {
            "/openai/v1/models": (302, {"Location": elsewhere.url + "/openai/v1/models"}, b""),
            "/rejecting/models": (401, {}, b'{"error": {"message": "Invalid API Key"}}'),
        }
    )
    status, _body = real_http_fetch(provider.url + "/openai/v1/models", {"Authorization": "Bearer " + GROQ_KEY}, 5)
    assert status == 302 and elsewhere.seen == []
    assert provider.seen[0][2]["Authorization"] == "Bearer " + GROQ_KEY
    assert real_http_fetch(provider.url + "/rejecting/models", {}, 5) == (
        401,
        b'{"error": {"message": "Invalid API Key"}}',
    )


def test_a_fetch_that_reaches_nobody_raises_for_run_checks_to_report(real_http_fetch):
    with pytest.raises(OSError):
        real_http_fetch("http://127.0.0.1:9/models", {}, 2)


def test_a_record_that_is_no_record_fails_the_plan_before_anything_is_written(cluster, run_module):
    settled_story(cluster)
    cluster.edit("secrets", "litellm-known-good", lambda obj: obj["data"].update({"state.json": b64("[]")}))
    result = run_module(litellm_plan, ADD_GROQ)
    assert result.failed and result["errors"] == [
        "The last verified state (Secret ml/litellm-known-good key state.json) is not a record homelab.litellm "
        "wrote (a JSON object with config, keys and models): refused, so it is neither compared nor restored; "
        "delete the Secret, and a run while LiteLLM is healthy records what it finds"
    ]
    assert result["msg"].startswith("Nothing was written. The last verified state")
    assert cluster.writes() == []
