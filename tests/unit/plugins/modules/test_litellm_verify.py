# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""litellm_verify through main(): readiness, the model list and a request per smoke model, through the
API server's service proxy to a fake LiteLLM (only /health/readiness, /v1/models and chat answered)."""

from __future__ import annotations

import functools
import json

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _lock
from ansible_collections.homelab.litellm.plugins.module_utils.run import verify as vf
from ansible_collections.homelab.litellm.plugins.modules import litellm_verify
from ansible_collections.homelab.litellm.tests.unit.fake_kube import (
    OTHER_HOLDER,
    STORY_CONFIG,
    STORY_SECRETS,
    TOKEN,
    b64,
)

MASTER_KEY = STORY_SECRETS["LITELLM_MASTER_KEY"]
SERVED = ["vllm-qwen", "ollama-qwen", "openai-gpt4o", "groq/openai/gpt-oss-120b"]
ARGS = {"namespace": "ml", "expected_models": SERVED, "smoke_models": ["groq/openai/gpt-oss-120b"]}


def chat_ok(model, content="Hello!"):
    return 200, json.dumps(
        {"model": model, "choices": [{"message": {"role": "assistant", "content": content}}]}
    ).encode()


def error(status, message, kind):
    return status, json.dumps({"error": {"message": message, "type": kind, "code": str(status)}}).encode()


class FakeLiteLLM:
    """LiteLLM behind its Service: the requests it got, answers per path and model."""

    def __init__(self, ready=True, models=None, chat=None):
        self.ready, self.models, self.chat = ready, list(SERVED if models is None else models), dict(chat or {})
        self.requests = []

    def __call__(self, method, path, headers, body, port):
        self.requests.append((method, path, dict(headers), body, port))
        if path == "/health/readiness":
            return (200, b'{"status": "healthy", "db": "Not connected"}') if self.ready else (503, b'{"status": "x"}')
        if headers.get("x-litellm-api-key") != "Bearer " + MASTER_KEY:
            return error(401, "Authentication Error, Invalid proxy server token passed.", "auth_error")
        if path == "/v1/models":
            return 200, json.dumps({"data": [{"id": name} for name in self.models]}).encode()
        if path == "/v1/chat/completions":
            answers = self.chat.get(body["model"]) or [chat_ok(body["model"])]
            return answers.pop(0) if len(answers) > 1 else answers[0]
        return 404, b'{"detail": "Not Found"}'


@pytest.fixture(name="litellm")
def fixture_litellm(story):
    litellm = FakeLiteLLM()
    story.proxy = litellm
    return litellm


def test_a_serving_litellm_passes(story, litellm, run_module):
    result = run_module(litellm_verify, ARGS)
    assert result.rc == 0 and result["passed"] is True and result["changed"] is False
    assert (result["via"], result["ready"], result["models"]) == ("service_proxy", True, SERVED)
    assert result["missing_models"] == [] and result["extra_models"] == []
    [smoke] = result["smoke"]
    assert (smoke["model"], smoke["status"], smoke["answer"], smoke["served_by"]) == (
        "groq/openai/gpt-oss-120b",
        "ok",
        "Hello!",
        "groq/openai/gpt-oss-120b",
    )
    assert result["summary"] == "LiteLLM ready; 4 models served, 4 expected present; 1 smoke models ok"
    assert [(method, path) for method, path, _h, _b, _p in litellm.requests] == [
        ("GET", "/health/readiness"),
        ("GET", "/v1/models"),
        ("POST", "/v1/chat/completions"),
    ]


def test_the_master_key_travels_in_litellms_own_header_and_is_never_shown(story, litellm, run_module):
    result = run_module(litellm_verify, ARGS)
    readiness, models, chat = litellm.requests
    assert "x-litellm-api-key" not in readiness[2], "readiness needs no key"
    assert models[2]["x-litellm-api-key"] == "Bearer " + MASTER_KEY
    assert chat[3] == {
        "model": "groq/openai/gpt-oss-120b",
        "messages": [{"role": "user", "content": "Say hello"}],
        "max_tokens": 16,
    }
    proxied = [r for r in story.requests if r.sub and r.sub.startswith("proxy")]
    assert {r.headers["authorization"] for r in proxied} == {"Bearer " + TOKEN}, "Authorization is the kube token"
    assert proxied[0].path == "/api/v1/namespaces/ml/services/litellm:4000/proxy/health/readiness"
    assert MASTER_KEY not in result.output and b64(MASTER_KEY) not in result.output


def test_a_missing_model_fails_and_fail_on_error_false_reports_it(story, litellm, run_module):
    litellm.models = SERVED[:3] + ["stranger"]
    result = run_module(litellm_verify, ARGS)
    assert result.failed and result["msg"] == ("LiteLLM verification failed: missing models: groq/openai/gpt-oss-120b")
    assert result["extra_models"] == ["stranger"]
    result = run_module(litellm_verify, dict(ARGS, fail_on_error=False))
    assert result.rc == 0 and result["passed"] is False and result["missing_models"] == ["groq/openai/gpt-oss-120b"]


def test_a_rejected_provider_key_is_named(story, litellm, run_module):
    litellm.chat["groq/openai/gpt-oss-120b"] = [
        error(
            401,
            'litellm.AuthenticationError: GroqException - {"error": {"message": "Invalid API Key"}}\n\nLiteLLM: '
            "model group 'groq/openai/gpt-oss-120b' failed",
            "authentication_error",
        )
    ]
    result = run_module(litellm_verify, ARGS)
    assert result.failed and result["msg"] == (
        "LiteLLM verification failed: groq/openai/gpt-oss-120b: key_rejected "
        '(routes, key rejected: Groq says "Invalid API Key")'
    )


def test_a_model_in_cooldown_is_asked_once_more_after_the_wait(story, litellm, run_module, monkeypatch):
    waits = []
    monkeypatch.setattr(vf, "verify", functools.partial(vf.verify, sleep=waits.append))
    litellm.chat["groq/openai/gpt-oss-120b"] = [
        error(
            429,
            "No deployments available for selected model, Try again in 2 seconds. Passed model=x",
            "all_deployments_in_cooldown",
        ),
        chat_ok("groq/openai/gpt-oss-120b"),
    ]
    result = run_module(litellm_verify, ARGS)
    assert result["passed"] is True and waits == [2.5]
    assert result["smoke"][0]["message"].endswith("(asked again after waiting 2s for LiteLLM's cooldown)")


def test_a_litellm_that_is_not_ready_is_not_smoked(story, litellm, run_module):
    litellm.ready = False
    result = run_module(litellm_verify, dict(ARGS, readiness_timeout=0))
    assert result.failed and result["ready"] is False
    assert result["smoke"][0]["message"] == "not tried: LiteLLM is not ready"
    assert [path for _m, path, _h, _b, _p in litellm.requests] == ["/health/readiness"]


def test_no_endpoint_behind_the_service_is_the_api_servers_answer(story, run_module):
    result = run_module(litellm_verify, dict(ARGS, readiness_timeout=0))
    assert result.failed
    assert result["msg"].startswith(
        "LiteLLM verification failed: LiteLLM not ready: Kubernetes API server answered "
        '503, not LiteLLM: no endpoints available for service "litellm"'
    )


def test_the_master_key_can_be_named_or_given(story, litellm, run_module):
    story.edit("secrets", "litellm-secrets", lambda obj: obj["data"].update(PROXY_KEY=b64(MASTER_KEY)))
    named = run_module(litellm_verify, dict(ARGS, master_key_secret="litellm-secrets", master_key_name="PROXY_KEY"))
    assert named["passed"] is True
    given = run_module(litellm_verify, dict(ARGS, master_key=MASTER_KEY))
    assert given["passed"] is True and MASTER_KEY not in given.output


def test_a_master_key_written_literally_in_the_config_is_refused(story, run_module):
    story.edit(
        "configmaps",
        "litellm-config",
        lambda obj: obj["data"].update(
            {
                "config.yaml": STORY_CONFIG.replace(
                    "master_key: os.environ/LITELLM_MASTER_KEY", "master_key: sk-literal-master-1234"
                )
            }
        ),
    )
    result = run_module(litellm_verify, ARGS)
    assert result.failed and result["msg"].startswith("config.yaml holds the master key literally")
    assert "sk-literal-master-1234" not in result["msg"]


def test_a_secret_without_the_master_key_is_named(story, run_module):
    result = run_module(litellm_verify, dict(ARGS, master_key_secret="litellm-secrets", master_key_name="NOPE"))
    assert result.failed and result["msg"] == (
        "Secret ml/litellm-secrets has no key NOPE (keys: DATABASE_URL, "
        "LITELLM_MASTER_KEY, OPENAI_API_KEY): set master_key_name."
    )


def test_an_api_error_while_reading_the_master_key(story, run_module):
    story.fail("GET", "secrets", 403, 'secrets "litellm-secrets" is forbidden')
    result = run_module(litellm_verify, ARGS)
    assert result.failed and result["msg"] == (
        'Kubernetes API error 403 Error while reading the master key: secrets "litellm-secrets" is forbidden'
    )


def test_verifying_writes_nothing_and_needs_no_lock(story, litellm, run_module):
    """It only reads: a run of the role holding the lock does not stop it."""
    story.add(
        "leases",
        {
            "metadata": {"name": "homelab-litellm-litellm"},
            "spec": {
                "holderIdentity": OTHER_HOLDER,
                "leaseDurationSeconds": 15,
                "renewTime": _lock.micro_time(9999999999),
            },
        },
    )
    assert run_module(litellm_verify, ARGS)["passed"] is True
    assert run_module(litellm_verify, ARGS, check_mode=True)["passed"] is True
    assert story.writes() == []


def test_a_url_and_a_master_key_need_no_cluster(cluster, run_module, monkeypatch):
    litellm = FakeLiteLLM()
    seen = []

    def url_sender(base_url, validate_certs, ca_path):
        seen.append((base_url, validate_certs, ca_path))

        def send(method, path, body, headers, timeout):
            headers = {"x-litellm-api-key": headers["Authorization"]} if "Authorization" in headers else {}
            status, data = litellm(method, path, headers, body, 4000)
            return litellm_verify.v.Reply(status, data, 0.01, None)

        return send

    monkeypatch.setattr(vf, "url_sender", url_sender)
    result = run_module(litellm_verify, dict(ARGS, url="https://litellm.example", master_key=MASTER_KEY))
    assert result["passed"] is True and result["via"] == "url"
    assert seen == [("https://litellm.example", True, None)]
    assert cluster.requests == []
