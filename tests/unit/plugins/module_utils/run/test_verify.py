# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/run/verify.py: the requests that prove LiteLLM serves, and the two
ways they travel (the API server's service proxy, or straight to a URL)."""

from __future__ import annotations

import json

from ansible_collections.homelab.litellm.plugins.module_utils import _verify as v
from ansible_collections.homelab.litellm.plugins.module_utils.run import verify as vf
from ansible_collections.homelab.litellm.tests.unit.fake_kube import b64

MASTER_KEY = "sk-" + "3f9a" * 12
REQUEST = v.plan_requests(["groq/openai/gpt-oss-120b"])[2]


def chat(seconds, status=200, body=None):
    if body is None:
        body = {"model": "groq/openai/gpt-oss-120b", "choices": [{"message": {"content": "Hello!"}}]}
    return v.Reply(status, json.dumps(body).encode(), seconds, None)


KEY_REJECTED = chat(
    0.3,
    401,
    {"error": {"message": "litellm.AuthenticationError: GroqException - Invalid API Key", "code": "401"}},
)
IN_COOLDOWN = chat(
    0.01,
    429,
    {
        "error": {
            "message": "No deployments available for selected model, Try again in 2 seconds. Passed model=x",
            "type": "all_deployments_in_cooldown",
            "code": "429",
        }
    },
)


class Answers:
    """``send_planned`` answering from a list, the requests it got counted."""

    def __init__(self, *replies):
        self.replies = list(replies)
        self.asked = []

    def __call__(self, request):
        self.asked.append(request.model)
        return self.replies.pop(0)


def test_a_timely_answer_is_asked_once():
    send = Answers(chat(0.4))
    result = vf.smoke_one(send, REQUEST, 5.0, set(), sleep=None)
    assert result["status"] == v.OK and send.asked == ["groq/openai/gpt-oss-120b"]


def test_a_slow_success_is_asked_again_once_and_both_times_are_reported():
    send = Answers(chat(6.2), chat(0.4))
    result = vf.smoke_one(send, REQUEST, 5.0, set(), sleep=None)
    assert len(send.asked) == 2
    assert (result["status"], result["latency"], result["first_latency"]) == (v.OK, 0.4, 6.2)
    assert result["message"] == "answered in 0.40s (asked again: the first answer took 6.20s)"


def test_slow_twice_is_slow_and_not_asked_a_third_time():
    send = Answers(chat(6.2), chat(7.0), chat(0.1))
    result = vf.smoke_one(send, REQUEST, 5.0, set(), sleep=None)
    assert result["status"] == v.SLOW and len(send.asked) == 2


def test_an_error_answer_is_not_asked_again():
    send = Answers(KEY_REJECTED, chat(0.1))
    result = vf.smoke_one(send, REQUEST, 5.0, set(), sleep=None)
    assert result["status"] == v.KEY_REJECTED and len(send.asked) == 1
    assert "first_latency" not in result


def test_a_cooldown_is_waited_out_once():
    waits = []
    send = Answers(IN_COOLDOWN, chat(0.2))
    result = vf.smoke_one(send, REQUEST, 5.0, set(), sleep=waits.append)
    assert waits == [2.5] and result["status"] == v.OK and len(send.asked) == 2
    assert result["message"].endswith("(asked again after waiting 2s for LiteLLM's cooldown)")


def test_a_long_cooldown_is_reported_not_waited_out():
    long_cooldown = chat(
        0.01,
        429,
        {"error": {"message": "Try again in 60 seconds.", "type": "all_deployments_in_cooldown", "code": "429"}},
    )
    assert v.cooldown_seconds(long_cooldown) == 60.0
    send = Answers(long_cooldown)
    result = vf.smoke_one(send, REQUEST, 5.0, set(), sleep=lambda seconds: 1 / 0)
    assert result["status"] == v.RATE_LIMITED and len(send.asked) == 1


def test_verify_smokes_each_model_once_a_slow_one_twice():
    asked = []

    def send(method, path, body, headers, timeout):
        asked.append((path, (body or {}).get("model")))
        if path == v.READINESS_PATH:
            return v.Reply(200, b'{"status": "healthy"}', 0.01, None)
        if path == v.MODELS_PATH:
            return v.Reply(200, json.dumps({"data": [{"id": "a"}, {"id": "b"}]}).encode(), 0.01, None)
        seconds = 9.0 if body["model"] == "b" and ("/v1/chat/completions", "b") not in asked[:-1] else 0.1
        return chat(seconds, body={"model": body["model"], "choices": [{"message": {"content": "hi"}}]})

    checks = vf.Checks(expected_models=["a", "b"], smoke_models=["a", "b"], max_latency=5.0)
    result = vf.verify(checks, send, MASTER_KEY, v.VIA_URL, set(), sleep=None)
    assert result["passed"] is True, result["summary"]
    assert [entry["model"] for entry in result["smoke"]] == ["a", "b"]
    assert result["smoke"][1]["first_latency"] == 9.0
    assert [model for path, model in asked if path == v.CHAT_PATH] == ["a", "b", "b"]


# -- the two transports ----------------------------------------------------------------------------


def test_the_url_sender_sends_the_key_as_authorization_and_returns_http_errors(local_server):
    litellm = local_server(
        {
            "/v1/models": (401, {}, b'{"error": {"message": "Authentication Error"}}'),
            "/v1/chat/completions": (200, {}, b'{"choices": []}'),
        }
    )
    send = vf.url_sender(litellm.url + "/", True, None)
    reply = send("GET", "/v1/models", None, {"Authorization": "Bearer " + MASTER_KEY}, 5)
    assert (reply.status, reply.error) == (401, None) and b"Authentication Error" in reply.body
    reply = send("POST", "/v1/chat/completions", {"model": "m"}, {}, 5)
    assert reply.status == 200
    method, path, headers, body = litellm.seen[1]
    assert (method, path, headers["Content-Type"], json.loads(body)) == (
        "POST",
        "/v1/chat/completions",
        "application/json",
        {"model": "m"},
    )
    assert litellm.seen[0][2]["Authorization"] == "Bearer " + MASTER_KEY


def test_the_url_sender_follows_no_redirect(local_server):
    """A redirect would carry the master key to wherever it points."""
    elsewhere = local_server({"/v1/models": (200, {}, b'{"data": []}')})
    litellm = local_server({"/v1/models": (302, {"Location": elsewhere.url + "/v1/models"}, b"")})
    reply = vf.url_sender(litellm.url, True, None)(
        "GET", "/v1/models", None, {"Authorization": "Bearer " + MASTER_KEY}, 5
    )
    assert reply.status == 302 and elsewhere.seen == []


def test_the_url_sender_reports_a_refused_connection():
    reply = vf.url_sender("http://127.0.0.1:9", True, None)("GET", "/health/readiness", None, {}, 2)
    assert reply.status is None and reply.error


def test_the_service_proxy_sender_turns_a_transport_failure_into_no_answer():
    class Broken:
        def service_proxy(self, *args, **kwargs):
            raise TimeoutError("read timed out")

    reply = vf.service_proxy_sender(Broken(), "ml", "litellm", 4000)("GET", "/x", None, {}, 1)
    assert (reply.status, reply.error) == (None, "Kubernetes API server: TimeoutError: read timed out")


def test_master_key_from_a_secret_and_the_values_to_hide():
    secret = {"data": {"LITELLM_MASTER_KEY": b64(MASTER_KEY + "\n"), "DATABASE_URL": b64("postgresql://x:pw@db/x")}}
    key, values = vf.master_key_from(secret, "ml", "litellm-secrets", "LITELLM_MASTER_KEY")
    assert key == MASTER_KEY and {MASTER_KEY, "postgresql://x:pw@db/x"} <= values
