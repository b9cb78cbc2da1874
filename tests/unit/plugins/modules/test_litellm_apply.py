# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""litellm_apply through main(): the whole run in one module, against the in-memory API server and a fake
LiteLLM behind its Service. The transaction's failure paths are tested in
module_utils/run/test_transaction.py; here what the module makes of them."""

from __future__ import annotations

import json

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _known_good as kg
from ansible_collections.homelab.litellm.plugins.module_utils import _lock
from ansible_collections.homelab.litellm.plugins.module_utils.run import apply as run_apply
from ansible_collections.homelab.litellm.plugins.module_utils.run import preflight
from ansible_collections.homelab.litellm.plugins.modules import litellm_apply, litellm_plan
from ansible_collections.homelab.litellm.tests.unit.fake_kube import (
    OTHER_HOLDER,
    STORY_CONFIG,
    STORY_SECRETS,
    b64,
    holder_of,
    litellm_deployment,
    secret_object,
    settled_story,
)

GROQ_KEY = "gsk_" + "Appl" * 12
GPT_OSS = {
    "model_name": "groq/openai/gpt-oss-120b",
    "litellm_params": {"model": "groq/openai/gpt-oss-120b", "api_key": "os.environ/GROQ_API_KEY"},
}
ADD_GROQ = {"namespace": "ml", "models": [GPT_OSS], "api_keys": {"GROQ_API_KEY": GROQ_KEY}, "provider_check": "off"}
LEASE = "homelab-litellm-litellm"
SERVED = ("vllm-qwen", "ollama-qwen", "openai-gpt4o", "groq/openai/gpt-oss-120b")


def values_in(text):
    """The secret values (plain and base64) found in ``text``."""
    values = set(STORY_SECRETS.values()) | {GROQ_KEY}
    return sorted(value for value in values | {b64(v) for v in values} if value in text)


class FakeLiteLLM:
    def __init__(self):
        self.rejected = set()

    def __call__(self, method, path, headers, body, port):
        if path == "/v1/models":
            return 200, json.dumps({"data": [{"id": name} for name in SERVED]}).encode()
        if path == "/v1/chat/completions":
            if body["model"] in self.rejected:
                return 401, json.dumps(
                    {"error": {"message": "GroqException - Invalid API Key", "code": "401"}}
                ).encode()
            return 200, json.dumps({"model": body["model"], "choices": [{"message": {"content": "Hello"}}]}).encode()
        return 200, b'{"status": "healthy"}'


@pytest.fixture(name="litellm")
def fixture_litellm(cluster):
    cluster.proxy = FakeLiteLLM()
    return cluster.proxy


@pytest.fixture(autouse=True)
def no_controller(monkeypatch):
    """The module watches the ansible-playbook it runs under; under pytest there is none to watch."""
    monkeypatch.setattr(run_apply, "find_controller", lambda: None)


def own_writes(cluster):
    return [(r.method, r.resource) for r in cluster.writes() if r.resource != "leases"]


def record_of(cluster):
    return kg.read_record(cluster.get("secrets", "litellm-known-good"))


# -- a whole run -----------------------------------------------------------------------------------


def test_a_whole_run_leaves_nothing_to_do(story, litellm, run_module, quick_rollouts):
    holders = []
    story.on_write(
        lambda cluster, request: (
            request.resource == "configmaps"
            and not holders.append(cluster.get("leases", LEASE)["spec"]["holderIdentity"])
        )
    )
    result = run_module(litellm_apply, ADD_GROQ)
    assert result.rc == 0 and result["changed"] is True, result.get("msg")
    assert result["summary"].startswith("added 1 model, added GROQ_API_KEY, restarted in ")
    assert result["recorded"] is True and result["restarted"] is True and result["verify"]["passed"] is True
    assert result["report"]["summary"] == result["summary"] and result["report"]["failure"] is None
    assert result["report"]["keys_changed"] == ["GROQ_API_KEY"] and result["report"]["config_changed"] is True
    assert holders == [holder_of("t1")], "the lock is held by this run's token while it writes"
    assert story.get("leases", LEASE)["spec"]["holderIdentity"] is None
    assert record_of(story).verified == "true" and record_of(story).run == "t1"
    assert values_in(result.output) == []
    assert result["invocation"]["module_args"]["api_keys"] == {"GROQ_API_KEY": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}
    again = run_module(litellm_plan, ADD_GROQ)
    assert again["work"]["any"] is False and again["unverified"]["keys"] == []
    assert again["summary"] == "no change: 4 models, 1 key as recorded"
    writes = len(story.writes())
    assert run_module(litellm_apply, ADD_GROQ)["changed"] is False and len(story.writes()) == writes


def test_the_first_healthy_state_is_recorded_as_the_baseline_before_the_first_write(
    story, litellm, run_module, quick_rollouts
):
    """The story's LiteLLM has no record and no digest yet, but its rollout is complete."""
    result = run_module(litellm_apply, ADD_GROQ)
    assert result.rc == 0
    assert own_writes(story)[:2] == [("POST", "secrets"), ("PUT", "configmaps")]
    assert any(text.startswith("There was no record of a verified state yet") for text in result["warnings_list"])
    assert result["known_good"]["exists"] is False, "as found when the run began"


def test_no_baseline_is_recorded_for_a_config_litellm_does_not_run(cluster, litellm, run_module, quick_rollouts):
    settled_story(cluster, record=False)
    cluster.edit(
        "configmaps",
        "litellm-config",
        lambda obj: obj["data"].update({"config.yaml": STORY_CONFIG.replace("timeout: 120", "timeout: 60")}),
    )
    result = run_module(litellm_apply, ADD_GROQ)
    assert result.rc == 0
    assert own_writes(cluster)[0] == ("PUT", "configmaps") and own_writes(cluster)[-1] == ("POST", "secrets")
    assert not any(text.startswith("There was no record") for text in result["warnings_list"])


def test_check_mode_takes_no_lock_and_diffs_key_names(story, litellm, run_module):
    result = run_module(litellm_apply, ADD_GROQ, check_mode=True, diff=True)
    assert result.rc == 0 and result["changed"] is True and story.writes() == []
    assert [diff["after_header"] for diff in result["diff"]] == [
        "ConfigMap ml/litellm-config config.yaml",
        "Secret ml/litellm-secrets (key names only)",
        "Deployment ml/litellm pod template annotation",
    ]
    assert values_in(result.output) == []


def test_check_mode_returns_the_status_and_a_real_run_does_not(story, litellm, run_module, quick_rollouts):
    result = run_module(litellm_apply, ADD_GROQ, check_mode=True)
    assert result["status"]["pending"] == [
        "add groq/openai/gpt-oss-120b, write GROQ_API_KEY, restart LiteLLM",
        "record the state LiteLLM runs now (there is no record yet)",
    ]
    assert "A run would: add groq/openai/gpt-oss-120b, write GROQ_API_KEY, restart LiteLLM" in result["status_lines"]
    assert values_in(result.output) == []
    ran = run_module(litellm_apply, ADD_GROQ)
    assert ran.rc == 0 and "status" not in ran
    after = run_module(litellm_apply, ADD_GROQ, check_mode=True)
    assert after["status"]["keys"] == {"GROQ_API_KEY": {"secret": "litellm-secrets", "key": "GROQ_API_KEY"}}
    assert after["status"]["models"]["managed"] == ["groq/openai/gpt-oss-120b"]
    assert after["status_lines"][-1] == "A run would change nothing" and values_in(after.output) == []


def test_the_role_warnings_are_shown_with_the_runs_own(story, litellm, run_module):
    said = "litellm_router_settings.routing_strategy defeats litellm_rate_limit_mode"
    result = run_module(litellm_apply, dict(ADD_GROQ, role_warnings=[said]), check_mode=True)
    assert result.rc == 0 and said in result.warning_texts and said in result["warnings_list"]


def test_role_errors_fail_the_run_before_it_sends_a_request(story, litellm, run_module):
    said = "Nothing was written (litellm_strict_vars is true). litellm_paralel_models is not a variable"
    result = run_module(litellm_apply, dict(ADD_GROQ, role_errors=[said]))
    assert result.rc != 0 and result["msg"] == said
    assert story.requests == []  # not even a read: the role's own input is wrong


def test_the_provider_is_asked_once_also_when_the_plan_is_made_again_under_the_lock(
    story, litellm, run_module, monkeypatch, quick_rollouts
):
    calls = []

    def groq_serves(url, headers, timeout):
        calls.append(url)
        return 200, json.dumps({"data": [{"id": "openai/gpt-oss-120b"}]}).encode()

    monkeypatch.setattr(preflight, "http_fetch", groq_serves)
    result = run_module(litellm_apply, dict(ADD_GROQ, provider_check="auto"))
    assert result.rc == 0 and calls == ["https://api.groq.com/openai/v1/models"]
    assert [(entry["provider"], entry["status"]) for entry in result["provider_check"]] == [("groq", "ok")]


# -- the lock --------------------------------------------------------------------------------------


def test_a_lock_another_run_holds_fails_after_the_timeout(story, litellm, run_module):
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
    result = run_module(litellm_apply, dict(ADD_GROQ, lock_timeout=0))
    assert result.failed and OTHER_HOLDER in result["msg"] and "nothing was changed" in result["msg"]
    assert story.writes() == []


def test_the_lock_is_released_when_the_plan_under_it_fails(story, litellm, run_module):
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
    result = run_module(litellm_apply, ADD_GROQ)
    assert (
        result.failed
        and "The live config (ConfigMap ml/litellm-config key config.yaml) cannot be used" in result["msg"]
    )
    assert story.get("leases", LEASE)["spec"]["holderIdentity"] is None
    assert [(r.method, r.resource) for r in story.writes()] == [("POST", "leases"), ("PUT", "leases")]


# -- a failed run ----------------------------------------------------------------------------------


def test_a_failed_run_reports_the_rollback_and_shows_no_key(cluster, litellm, run_module, quick_rollouts):
    settled_story(cluster, managed=["OPENAI_API_KEY"])
    litellm.rejected.add("groq/openai/gpt-oss-120b")
    result = run_module(litellm_apply, ADD_GROQ)
    assert result.failed and result.rc == 1
    assert result["msg"].startswith("LiteLLM verification failed: groq/openai/gpt-oss-120b: key_rejected")
    assert (
        "Put back the last verified state (recorded 2026-12-01T10:00:00Z): ConfigMap ml/litellm-config"
        in (result["msg"])
    )
    assert result["rollback"]["restored"] == ["ConfigMap ml/litellm-config", "Secret ml/litellm-secrets"]
    assert result["report"]["failure"] == result["msg"] and result["report"]["rollback"] == result["rollback"]
    assert [step["step"] for step in result["steps"]][-1] == "rollback"
    assert cluster.get("configmaps", "litellm-config")["data"]["config.yaml"] == STORY_CONFIG
    assert cluster.get("leases", LEASE)["spec"]["holderIdentity"] is None
    assert values_in(result.output) == []


def test_the_module_answers_to_the_controller_it_finds(story, litellm, run_module, monkeypatch):
    seen = []

    class Transaction:
        def __init__(self, kube, settings, secrets, controller=None):
            seen.append((settings.namespace, settings.check_mode, controller))
            self.warnings = []

        def run(self):
            return {"changed": False, "summary": "no change", "warnings_list": []}

    monkeypatch.setattr(run_apply, "find_controller", lambda: (4242, 99))
    monkeypatch.setattr(run_apply, "Transaction", Transaction)
    result = run_module(litellm_apply, ADD_GROQ)
    assert seen == [("ml", False, (4242, 99))] and result["report"]["summary"] == "no change"


# -- the rights the access check asks for ----------------------------------------------------------


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


def uncovered_requests(cluster):
    """The rights the run used that its access reviews did not ask for (a review without a name covers
    every name)."""
    checked = {(r["verb"], r["group"], r["resource"], r.get("subresource"), r.get("name")) for r in cluster.reviews}
    used = {right_of(request) for request in cluster.requests if request.resource is not None}
    return sorted((right for right in used if right not in checked and right[:4] + (None,) not in checked), key=str)


@pytest.mark.parametrize("target", [{"service": "litellm", "port": 4000}, {}], ids=["service-given", "service-found"])
def test_the_rights_checked_ahead_cover_every_request_of_the_run(story, litellm, run_module, target):
    """The access check promises that a restricted identity fails at the start, never half-way with a 403.
    The rollout is waited for with watches here, as in a real run."""
    result = run_module(litellm_apply, dict(ADD_GROQ, **target))
    assert result.rc == 0, result.get("msg")
    uncovered = uncovered_requests(story)
    assert uncovered == [], uncovered
    assert any(right_of(request)[0] == "watch" for request in story.requests if request.resource)


def test_the_rights_checked_ahead_cover_a_second_deployment_and_the_hpas(story, litellm, run_module):
    """A backend on the same config that also reads a Secret of its own, and an HPA for each: the access check
    asks for every request of the run (the backend's Secret, its restart and watch, the HPA listing)."""
    backend = litellm_deployment("litellm-backend")
    backend["spec"]["selector"] = {"matchLabels": {"app": "backend"}}
    backend["spec"]["template"]["metadata"]["labels"] = {"app": "backend"}
    backend["spec"]["template"]["spec"]["containers"][0]["envFrom"].append({"secretRef": {"name": "backend-only"}})
    story.add("deployments", backend)
    story.add("secrets", secret_object({"UI_TOKEN": "not-a-provider-key"}, name="backend-only"))
    for name in ("litellm", "litellm-backend"):
        story.add(
            "horizontalpodautoscalers",
            {
                "metadata": {"name": name},
                "spec": {"scaleTargetRef": {"kind": "Deployment", "name": name}, "minReplicas": 1, "maxReplicas": 3},
                "status": {"currentReplicas": 1},
            },
        )
    result = run_module(litellm_apply, ADD_GROQ)
    assert result.rc == 0, result.get("msg")
    assert result["restarted_deployments"] == ["litellm-backend", "litellm"]
    assert "backend-only" in result["target"]["secrets_read"]
    uncovered = uncovered_requests(story)
    assert uncovered == [], uncovered


def test_a_whole_run_finds_the_service_itself(story, litellm, run_module, quick_rollouts):
    result = run_module(litellm_apply, ADD_GROQ)
    assert (result["target"]["service"], result["target"]["port"]) == ("litellm", 4000)
    assert [r.path for r in story.requests if r.sub and r.sub.startswith("proxy")][0] == (
        "/api/v1/namespaces/ml/services/litellm:4000/proxy/health/readiness"
    )


# -- modes render and verify -----------------------------------------------------------------------


def test_render_without_a_path_is_refused_naming_the_variable(story, run_module):
    result = run_module(litellm_apply, dict(ADD_GROQ, mode="render"))
    assert result.failed
    assert result["msg"].startswith("Nothing was written. litellm_render_path (render_path) is empty")
    assert story.writes() == []


def test_render_answers_the_files_and_writes_nothing(story, run_module):
    result = run_module(
        litellm_apply, dict(ADD_GROQ, mode="render", render_path="/srv/gitops", render_format="helm-old")
    )
    assert result.rc == 0 and story.writes() == []
    assert result["mode"] == "render" and result["changed"] is False
    assert sorted(result["rendered"]["files"]) == ["litellm-helm-values.yaml", "secret-keys.yaml"]
    assert "proxy_config:\n" in result["rendered"]["files"]["litellm-helm-values.yaml"]
    assert values_in(result.output) == []


def test_litellm_plan_has_no_mode(story, run_module):
    result = run_module(litellm_plan, dict(ADD_GROQ, mode="render"))
    assert result.failed and "Unsupported parameters" in result["msg"] and "mode" in result["msg"]
