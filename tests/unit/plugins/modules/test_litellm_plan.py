# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""litellm_plan through main(): one read of the cluster, the plan, the checks before anything is written."""

from __future__ import annotations

import functools
import itertools
import json

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _lock
from ansible_collections.homelab.litellm.plugins.modules import (
    litellm_config,
    litellm_known_good,
    litellm_plan,
    litellm_rollout,
    litellm_secret,
    litellm_verify,
)
from ansible_collections.homelab.litellm.tests.unit.fake_kube import (
    OTHER_HOLDER,
    STORY_CONFIG,
    STORY_SECRETS,
    b64,
    holder_of,
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
    result = run_module(litellm_plan, {"namespace": "ml", "run_id": "r1", "provider_check": "off"})
    assert result.rc == 0 and result["changed"] is False
    assert result["work"] == {
        "config": False,
        "secret": False,
        "rollout": False,
        "verify": False,
        "record": False,
        "any": False,
    }
    assert result["lock"] == {"name": LEASE, "held": False, "holder": ""}
    assert result["known_good"] == {
        "name": "litellm-known-good",
        "exists": True,
        "verified": "true",
        "recorded_at": "2026-12-01T10:00:00Z",
        "baseline_recorded": False,
    }
    assert cluster.writes() == [] and cluster.reviews == []


def test_work_without_run_id_plans_and_writes_nothing(story, run_module):
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
    assert result["lock"]["held"] is False
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


def test_with_a_run_id_the_lock_is_taken_and_the_first_healthy_state_recorded(story, run_module):
    result = run_module(litellm_plan, dict(ADD_GROQ, run_id="r1"))
    assert result.rc == 0
    assert result["lock"] == {"name": LEASE, "held": True, "holder": holder_of("r1")}
    assert story.get("leases", LEASE)["spec"]["holderIdentity"] == holder_of("r1")
    assert result["known_good"]["baseline_recorded"] is True and result["known_good"]["exists"] is True
    record = story.get("secrets", "litellm-known-good")
    assert record["metadata"]["annotations"]["homelab.litellm/verified"] == "baseline"
    assert record["metadata"]["annotations"]["homelab.litellm/run"] == "r1"
    assert [(r.method, r.resource) for r in story.writes()] == [("POST", "leases"), ("POST", "secrets")]
    assert story.get("configmaps", "litellm-config")["data"]["config.yaml"] == STORY_CONFIG


def test_no_baseline_is_recorded_for_a_config_litellm_does_not_run(cluster, run_module):
    settled_story(cluster, record=False)
    cluster.edit(
        "configmaps",
        "litellm-config",
        lambda obj: obj["data"].update({"config.yaml": STORY_CONFIG.replace("timeout: 120", "timeout: 60")}),
    )
    result = run_module(litellm_plan, dict(ADD_GROQ, run_id="r1"))
    assert result.rc == 0 and result["known_good"]["baseline_recorded"] is False
    assert cluster.get("secrets", "litellm-known-good") is None


def test_the_baseline_is_recorded_when_litellm_runs_the_live_state(cluster, run_module):
    settled_story(cluster, record=False)
    result = run_module(litellm_plan, dict(ADD_GROQ, run_id="r1"))
    assert result["known_good"]["baseline_recorded"] is True
    record = cluster.get("secrets", "litellm-known-good")
    assert record["metadata"]["annotations"]["homelab.litellm/verified"] == "baseline"


def test_check_mode_says_changed_diffs_key_names_and_takes_no_lock(story, run_module):
    result = run_module(litellm_plan, dict(ADD_GROQ, run_id="r1"), check_mode=True, diff=True)
    assert result["changed"] is True
    config_diff, secret_diff, digest_diff = result["diff"]
    assert config_diff["before"] == STORY_CONFIG and "groq/openai/gpt-oss-120b" in config_diff["after"]
    assert secret_diff["after"] == (
        "DATABASE_URL: <unchanged>\nGROQ_API_KEY: <added>\nLITELLM_MASTER_KEY: "
        "<unchanged>\nOPENAI_API_KEY: <unchanged>\n"
    )
    assert digest_diff["before"] == "homelab.litellm/config-digest: (none)\n"
    assert story.writes() == [] and result["lock"]["held"] is False
    assert values_in(result.output) == []


def test_check_mode_of_a_settled_litellm_is_unchanged(cluster, run_module):
    settled_story(cluster)
    result = run_module(litellm_plan, {"namespace": "ml", "provider_check": "off"}, check_mode=True, diff=True)
    assert result["changed"] is False and "diff" not in result


def test_no_output_holds_a_key_value(story, run_module):
    result = run_module(litellm_plan, dict(ADD_GROQ, run_id="r1"), diff=True)
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
    result = run_module(litellm_plan, dict(ADD_GROQ, run_id="r1"))
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
        litellm_plan,
        "http_fetch",
        groq_answers(401, json.dumps({"error": {"message": "Invalid API Key " + GROQ_KEY}}).encode(), calls),
    )
    result = run_module(litellm_plan, dict(ADD_GROQ, run_id="r1", provider_check="auto"))
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
        litellm_plan,
        "http_fetch",
        groq_answers(200, json.dumps({"data": [{"id": "openai/gpt-oss-120b"}]}).encode(), calls),
    )
    result = run_module(litellm_plan, dict(ADD_GROQ, provider_check="required"))
    assert result.rc == 0
    [checked] = result["provider_check"]
    assert (checked["provider"], checked["status"], checked["missing"]) == ("groq", "ok", [])
    assert len(calls) == 1


def test_the_provider_is_asked_once_also_when_the_plan_is_made_again_under_the_lock(story, run_module, monkeypatch):
    calls = []
    monkeypatch.setattr(
        litellm_plan,
        "http_fetch",
        groq_answers(200, json.dumps({"data": [{"id": "openai/gpt-oss-120b"}]}).encode(), calls),
    )
    result = run_module(litellm_plan, dict(ADD_GROQ, run_id="r1", provider_check="auto"))
    assert result["lock"]["held"] is True and len(calls) == 1


def test_an_unreachable_provider_warns_in_auto_mode(story, run_module, monkeypatch):
    def unreachable(url, headers, timeout):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(litellm_plan, "http_fetch", unreachable)
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
        litellm_plan,
        "http_fetch",
        groq_answers(200, json.dumps({"data": [{"id": "openai/gpt-oss-120b"}]}).encode(), []),
    )
    result = run_module(litellm_plan, dict(ADD_GROQ, models=[retired], provider_check="auto"))
    assert result.failed and "use groq/openai/gpt-oss-120b instead" in result["msg"]


# -- access, owners, the lock ----------------------------------------------------------------------


def test_a_missing_right_fails_naming_it_and_the_rule(story, run_module):
    story.deny("patch", "deployments", name="litellm", group="apps")
    result = run_module(litellm_plan, dict(ADD_GROQ, run_id="r1"))
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
    result = run_module(litellm_plan, dict(ADD_GROQ, run_id="r1"))
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
    result = run_module(litellm_plan, dict(ADD_GROQ, run_id="r1"))
    assert result.failed and result["msg"].startswith("Nothing was written.")
    assert (
        'get deployments (apps) "litellm" - needed to read what the plan is made from; rule: {apiGroups: '
        '["apps"], resources: [deployments], resourceNames: [litellm], verbs: [get]}'
    ) in result["msg"]
    assert story.writes() == []


def test_a_forbidden_read_without_the_access_check_is_the_api_servers_error(story, run_module):
    story.fail("GET", "configmaps", 403, FORBIDDEN_CONFIGMAP, name="litellm-config")
    result = run_module(litellm_plan, dict(ADD_GROQ, run_id="r1", access_check=False))
    assert result.failed and "is forbidden" in result["msg"] and "Missing:" not in result["msg"]


def test_with_a_verify_url_no_service_is_looked_up_or_needed(story, run_module):
    story.deny("list", "services")
    result = run_module(litellm_plan, dict(ADD_GROQ, run_id="r1", verify_url="https://litellm.example.org"))
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
        assert text.startswith("Nothing was written.") and text.endswith("litellm_foreign_owner is refuse")


def test_a_lock_another_run_holds_fails_after_the_timeout(story, run_module):
    story.add(
        "leases",
        {
            "metadata": {"name": LEASE},
            "spec": {
                "holderIdentity": OTHER_HOLDER,
                "leaseDurationSeconds": 60,
                "renewTime": _lock.micro_time(9999999999),
                "acquireTime": _lock.micro_time(9999999999),
            },
        },
    )
    result = run_module(litellm_plan, dict(ADD_GROQ, run_id="r1", lock_timeout=0))
    assert result.failed and OTHER_HOLDER in result["msg"] and "nothing was changed" in result["msg"]
    assert story.writes() == []


def test_the_lock_is_released_when_the_plan_under_it_fails(story, run_module):
    """Between the first plan and taking the lock, the config was broken by hand: the plan under the lock
    refuses, and the lock is given back at once."""

    def break_the_config(cluster, request):
        if request.resource == "leases" and request.method == "POST":
            cluster.edit(
                "configmaps", "litellm-config", lambda obj: obj["data"].update({"config.yaml": "model_list: [}"})
            )
            return True
        return False

    story.on_write(break_the_config)
    result = run_module(litellm_plan, dict(ADD_GROQ, run_id="r1"))
    assert (
        result.failed
        and "The live config (ConfigMap ml/litellm-config key config.yaml) cannot be used" in result["msg"]
    )
    lease = story.get("leases", LEASE)
    assert lease["spec"]["holderIdentity"] is None
    assert [(r.method, r.resource) for r in story.writes()] == [("POST", "leases"), ("PUT", "leases")]


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


# -- a whole run, module by module -----------------------------------------------------------------


def right_of(request):
    """(verb, group, resource, subresource, name) that RBAC checks for a request to the API server."""
    group = request.path.split("/")[2] if request.path.startswith("/apis/") else ""
    if request.sub == "log":
        return "get", "", "pods", "log", request.name
    if request.sub and request.sub.startswith("proxy"):
        return {"GET": "get", "POST": "create"}[request.method], "", "services", "proxy", request.name
    if request.method == "GET" and request.query.get("watch") == "true":
        # A watch of one object (fieldSelector metadata.name) is authorized for that name.
        name = (request.query.get("fieldSelector") or "").replace("metadata.name=", "") or None
        return "watch", group, request.resource, None, name
    if request.method == "GET":
        return "get" if request.name else "list", group, request.resource, None, request.name
    verb = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}[request.method]
    return verb, group, request.resource, None, None if request.method == "POST" else request.name


SERVED = ("vllm-qwen", "ollama-qwen", "openai-gpt4o", "groq/openai/gpt-oss-120b")


def fake_litellm(method, path, headers, body, port):
    if path == "/v1/models":
        return 200, json.dumps({"data": [{"id": name} for name in SERVED]}).encode()
    if path == "/v1/chat/completions":
        return 200, json.dumps({"model": body["model"], "choices": [{"message": {"content": "Hello"}}]}).encode()
    return 200, b'{"status": "healthy"}'


def whole_run(cluster, run_module, monkeypatch, target):
    """What the role does for one change: plan, config, secret, rollout, verify, record; the plan's result."""
    cluster.proxy = fake_litellm
    clock = itertools.count(1000).__next__
    monkeypatch.setattr(
        litellm_rollout, "run", functools.partial(litellm_rollout.run, clock=clock, sleep=lambda seconds: None)
    )
    common = dict(target, namespace="ml", run_id="r1")
    plan = run_module(litellm_plan, dict(ADD_GROQ, **common))
    assert plan.rc == 0 and plan["lock"]["held"] is True
    steps = [
        (litellm_config, {"models": [GPT_OSS]}),
        (litellm_secret, {"data": ADD_GROQ["api_keys"]}),
        (litellm_rollout, {"poll_interval": 0.05}),
        (litellm_verify, {"expected_models": plan["expected_models"], "smoke_models": plan["smoke_models"]}),
        (
            litellm_known_good,
            {"managed_keys": plan["managed_keys"], "models": plan["expected_models"], "release_lock": True},
        ),
    ]
    for module, args in steps:
        result = run_module(module, dict(args, **common))
        assert result.rc == 0, (module.__name__, result.get("msg"))
    return plan


def test_a_whole_run_leaves_nothing_to_do(story, run_module, monkeypatch):
    whole_run(story, run_module, monkeypatch, {"service": "litellm", "port": 4000})
    assert story.get("leases", LEASE)["spec"]["holderIdentity"] is None
    assert story.get("secrets", "litellm-known-good")["metadata"]["annotations"]["homelab.litellm/verified"] == "true"
    again = run_module(
        litellm_plan,
        {
            "namespace": "ml",
            "models": [GPT_OSS],
            "api_keys": ADD_GROQ["api_keys"],
            "provider_check": "off",
            "run_id": "r2",
        },
    )
    assert again["work"]["any"] is False and again["unverified"]["keys"] == []
    assert values_in(again.output) == []


def uncovered_requests(cluster):
    """The rights the run used that litellm_plan's access reviews did not ask for (a review without a name
    covers every name)."""
    checked = {(r["verb"], r["group"], r["resource"], r.get("subresource"), r.get("name")) for r in cluster.reviews}
    used = {right_of(request) for request in cluster.requests if request.resource is not None}
    return sorted((right for right in used if right not in checked and right[:4] + (None,) not in checked), key=str)


def test_the_rights_checked_ahead_cover_every_request_of_the_run(story, run_module, monkeypatch):
    """The access check promises that a restricted identity fails at the start, never half-way with a 403."""
    whole_run(story, run_module, monkeypatch, {"service": "litellm", "port": 4000})
    assert uncovered_requests(story) == []


def test_the_rights_checked_ahead_cover_the_service_lookup(story, run_module, monkeypatch):
    whole_run(story, run_module, monkeypatch, {})
    assert uncovered_requests(story) == []


def test_a_whole_run_finds_the_service_itself(story, run_module, monkeypatch):
    plan = whole_run(story, run_module, monkeypatch, {})
    assert (plan["target"]["service"], plan["target"]["port"]) == ("litellm", 4000)
    assert [r.path for r in story.requests if r.sub and r.sub.startswith("proxy")][
        0
    ] == "/api/v1/namespaces/ml/services/litellm:4000/proxy/health/readiness"


def test_a_record_that_is_no_record_fails_the_plan_before_anything_is_written(cluster, run_module):
    settled_story(cluster)
    cluster.edit("secrets", "litellm-known-good", lambda obj: obj["data"].update({"state.json": b64("[]")}))
    result = run_module(litellm_plan, dict(ADD_GROQ, run_id="r1"))
    assert result.failed and result["errors"] == [
        "The last verified state (Secret ml/litellm-known-good key state.json) is not a record homelab.litellm "
        "wrote (a JSON object with config, keys and models): refused, so it is neither compared nor restored; "
        "delete the Secret, and a run while LiteLLM is healthy records what it finds"
    ]
    assert result["msg"].startswith("Nothing was written. The last verified state")
    assert cluster.writes() == []
