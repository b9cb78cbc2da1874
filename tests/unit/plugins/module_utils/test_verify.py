# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/_verify.py (pure logic, no cluster).

The response bodies are what LiteLLM 1.108.7 really answered in the sandbox (a
real proxy in front of the fake providers, recorded with curl), unless a comment
says the body is built from LiteLLM's source because the sandbox cannot provoke it.
"""

from __future__ import annotations

import json

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _secret_plan as sp
from ansible_collections.homelab.litellm.plugins.module_utils import _verify as v

MASTER_KEY = "sk-" + "3f9a" * 12

# Real answers of LiteLLM 1.108.7 to POST /v1/chat/completions, by situation.
SAMPLES = {
    "groq_key_rejected": (
        401,
        (
            b'{"error":{"message":"litellm.BadRequestError: GroqException - {\\"error\\": {\\"message\\": \\"'
            b'Invalid API Key\\", \\"type\\": \\"invalid_request_error\\", \\"code\\": \\"invalid_api_key\\"}}\\n\\'
            b"nLiteLLM: model group 'groq/llama-3.3-70b-versatile' failed with the error above and no fa"
            b"llback model group was found for it, so the request was not retried on another model. Fall"
            b"backs are configured for: vllm-qwen, ollama-qwen. Add a fallbacks entry for that model gro"
            b'up (Router fallbacks or proxy router_settings.fallbacks) to retry on another model.","type'
            b'":"authentication_error","param":null,"code":"401"}}'
        ),
    ),
    "groq_key_missing_env": (
        401,
        (
            b'{"error":{"message":"litellm.BadRequestError: GroqException - {\\"error\\": {\\"message\\": \\"'
            b'Invalid API Key\\", \\"type\\": \\"invalid_request_error\\", \\"code\\": \\"invalid_api_key\\"}}\\n\\'
            b"nLiteLLM: model group 'groq-noenv' failed with the error above and no fallback model group"
            b" was found for it, so the request was not retried on another model. Fallbacks are configur"
            b"ed for: vllm-qwen, ollama-qwen. Add a fallbacks entry for that model group (Router fallbac"
            b'ks or proxy router_settings.fallbacks) to retry on another model.","type":"authentication_'
            b'error","param":null,"code":"401"}}'
        ),
    ),
    "gemini_key_rejected": (
        401,
        (
            b'{"error":{"message":"litellm.AuthenticationError: GeminiException - {\\"error\\": {\\"code\\":'
            b' 400, \\"message\\": \\"API key not valid. Please pass a valid API key.\\", \\"status\\": \\"INVA'
            b'LID_ARGUMENT\\", \\"details\\": [{\\"@type\\": \\"type.googleapis.com/google.rpc.ErrorInfo\\", \\"'
            b'reason\\": \\"API_KEY_INVALID\\", \\"domain\\": \\"googleapis.com\\", \\"metadata\\": {\\"service\\":'
            b' \\"generativelanguage.googleapis.com\\"}}, {\\"@type\\": \\"type.googleapis.com/google.rpc.Loc'
            b'alizedMessage\\", \\"locale\\": \\"en-US\\", \\"message\\": \\"API key not valid. Please pass a va'
            b"lid API key.\\\"}]}}\\n\\nLiteLLM: model group 'gemini/gemini-2.0-flash' failed with the error"
            b" above and no fallback model group was found for it, so the request was not retried on ano"
            b"ther model. Fallbacks are configured for: vllm-qwen, ollama-qwen. Add a fallbacks entry fo"
            b"r that model group (Router fallbacks or proxy router_settings.fallbacks) to retry on anoth"
            b'er model.","type":"authentication_error","param":null,"code":"401"}}'
        ),
    ),
    "mistral_key_rejected": (
        401,
        (
            b'{"error":{"message":"litellm.AuthenticationError: AuthenticationError: MistralException - '
            b'{\\"detail\\": \\"Unauthorized\\"}\\n\\nLiteLLM: model group \'mistral/mistral-small-latest\' fail'
            b"ed with the error above and no fallback model group was found for it, so the request was n"
            b"ot retried on another model. Fallbacks are configured for: vllm-qwen, ollama-qwen. Add a f"
            b"allbacks entry for that model group (Router fallbacks or proxy router_settings.fallbacks) "
            b'to retry on another model.","type":"authentication_error","param":null,"code":"401"}}'
        ),
    ),
    "openai_key_rejected": (
        401,
        (
            b'{"error":{"message":"litellm.AuthenticationError: AuthenticationError: OpenAIException - I'
            b"ncorrect API key provided: ********0000.\\n\\nLiteLLM: model group 'openai-wrongkey' failed "
            b"with the error above and no fallback model group was found for it, so the request was not "
            b"retried on another model. Fallbacks are configured for: vllm-qwen, ollama-qwen. Add a fall"
            b"backs entry for that model group (Router fallbacks or proxy router_settings.fallbacks) to "
            b'retry on another model.","type":"authentication_error","param":null,"code":"401"}}'
        ),
    ),
    "groq_rate_limited": (
        429,
        (
            b'{"error":{"message":"litellm.RateLimitError: RateLimitError: GroqException - {\\"error\\": {'
            b'\\"message\\": \\"Rate limit reached for model `llama-3.1-8b-instant` in organization `org_sa'
            b"ndbox` service tier `on_demand` on requests per minute (RPM): Limit 1, Used 1, Requested 1"
            b'. Please try again in 60s.\\", \\"type\\": \\"requests\\", \\"code\\": \\"rate_limit_exceeded\\"}}\\'
            b"n\\nLiteLLM: model group 'groq-ratelimited' failed with the error above and no fallback mod"
            b"el group was found for it, so the request was not retried on another model. Fallbacks are "
            b"configured for: vllm-qwen, ollama-qwen. Add a fallbacks entry for that model group (Router"
            b' fallbacks or proxy router_settings.fallbacks) to retry on another model.","type":"throttl'
            b'ing_error","param":null,"code":"429"}}'
        ),
    ),
    "gemini_rate_limited": (
        429,
        (
            b'{"error":{"message":"litellm.RateLimitError: litellm.RateLimitError: GeminiException - {\\"'
            b'error\\": {\\"code\\": 429, \\"message\\": \\"You exceeded your current quota, please check your'
            b' plan and billing details.\\", \\"status\\": \\"RESOURCE_EXHAUSTED\\", \\"details\\": [{\\"@type\\"'
            b': \\"type.googleapis.com/google.rpc.QuotaFailure\\", \\"violations\\": [{\\"quotaMetric\\": \\"ge'
            b'nerativelanguage.googleapis.com/generate_content_free_tier_requests\\", \\"quotaId\\": \\"Gene'
            b'rateRequestsPerMinutePerProjectPerModel-FreeTier\\", \\"quotaDimensions\\": {\\"location\\": \\"'
            b'global\\", \\"model\\": \\"gemini-2.5-flash\\"}, \\"quotaValue\\": \\"1\\"}]}, {\\"@type\\": \\"type.g'
            b'oogleapis.com/google.rpc.RetryInfo\\", \\"retryDelay\\": \\"60s\\"}]}}\\n\\nLiteLLM: model group '
            b"'gemini-ratelimited' failed with the error above and no fallback model group was found for"
            b" it, so the request was not retried on another model. Fallbacks are configured for: vllm-q"
            b"wen, ollama-qwen. Add a fallbacks entry for that model group (Router fallbacks or proxy ro"
            b'uter_settings.fallbacks) to retry on another model.","type":"throttling_error","param":nul'
            b'l,"code":"429"}}'
        ),
    ),
    "mistral_unavailable": (
        503,
        (
            b'{"error":{"message":"litellm.ServiceUnavailableError: ServiceUnavailableError: MistralExce'
            b'ption - {\\"object\\": \\"error\\", \\"message\\": \\"Service Unavailable\\", \\"type\\": \\"server_e'
            b'rror\\", \\"param\\": null, \\"code\\": \\"503\\"}\\n\\nLiteLLM: model group \'mistral-down\' failed '
            b"with the error above and no fallback model group was found for it, so the request was not "
            b"retried on another model. Fallbacks are configured for: vllm-qwen, ollama-qwen. Add a fall"
            b"backs entry for that model group (Router fallbacks or proxy router_settings.fallbacks) to "
            b'retry on another model.","type":"internal_server_error","param":null,"code":"503"}}'
        ),
    ),
    "groq_decommissioned": (
        400,
        (
            b'{"error":{"message":"litellm.BadRequestError: GroqException - {\\"error\\": {\\"message\\": \\"'
            b"The model `mixtral-8x7b-32768` has been decommissioned and is no longer supported. Please "
            b'refer to the Groq deprecations page for a recommendation on which model to use instead.\\",'
            b' \\"type\\": \\"invalid_request_error\\", \\"code\\": \\"model_decommissioned\\"}}\\n\\nLiteLLM: mod'
            b"el group 'groq-retired' failed with the error above and no fallback model group was found "
            b"for it, so the request was not retried on another model. Fallbacks are configured for: vll"
            b"m-qwen, ollama-qwen. Add a fallbacks entry for that model group (Router fallbacks or proxy"
            b' router_settings.fallbacks) to retry on another model.","type":"invalid_request_error","pa'
            b'ram":null,"code":"400"}}'
        ),
    ),
    "upstream_connect_failed": (
        500,
        (
            b'{"error":{"message":"litellm.InternalServerError: InternalServerError: Hosted_vllmExceptio'
            b"n - Cannot connect to host REDACTED:9 ssl:<ssl.SSLContext object at 0x7f237adc48c0> [Conne"
            b"ct call failed ('REDACTED', 9)]\\n\\nLiteLLM: model group 'vllm-noconn' failed with the erro"
            b"r above and no fallback model group was found for it, so the request was not retried on an"
            b"other model. Fallbacks are configured for: vllm-qwen, ollama-qwen. Add a fallbacks entry f"
            b"or that model group (Router fallbacks or proxy router_settings.fallbacks) to retry on anot"
            b'her model.","type":"internal_server_error","param":null,"code":"500"}}'
        ),
    ),
    "upstream_crashed": (
        500,
        (
            b'{"error":{"message":"litellm.InternalServerError: InternalServerError: GroqException - 500'
            b" Internal Server Error\\n\\nServer got itself in trouble\\n\\nLiteLLM: model group 'groq-ratel"
            b"imited' failed with the error above and no fallback model group was found for it, so the r"
            b"equest was not retried on another model. Fallbacks are configured for: vllm-qwen, ollama-q"
            b"wen. Add a fallbacks entry for that model group (Router fallbacks or proxy router_settings"
            b'.fallbacks) to retry on another model.","type":"internal_server_error","param":null,"code"'
            b':"500"}}'
        ),
    ),
    "invalid_model_name": (
        400,
        (
            b'{"error":{"message":"/chat/completions: Invalid model name passed in model=groq/llama-3.3-'
            b'70b-versatile. Call `/v1/models` to view available models for your key.","type":"invalid_r'
            b'equest_error","param":null,"code":"400","provider_specific_fields":{"error":"/chat/complet'
            b"ions: Invalid model name passed in model=groq/llama-3.3-70b-versatile. Call `/v1/models` t"
            b'o view available models for your key."}}}'
        ),
    ),
    "groq_ok": (
        200,
        (
            b'{"id":"chatcmpl-562db7c7d462437eb5a557ed2a0373e2","created":1795695842,"model":"groq-good"'
            b',"object":"chat.completion","system_fingerprint":"fp_sandbox","choices":[{"finish_reason":'
            b'"stop","index":0,"message":{"content":"Hello from fake groq (llama-3.3-70b-versatile)","ro'
            b'le":"assistant"}}],"usage":{"completion_tokens":12,"prompt_tokens":3,"total_tokens":15,"qu'
            b'eue_time":0.0002,"prompt_time":0.001,"completion_time":0.002,"total_time":0.003},"x_groq":'
            b'{"id":"req_ee251d45d85449f8b16ee19c47"},"service_tier":"auto"}'
        ),
    ),
    "gemini_ok": (
        200,
        (
            b'{"id":"ad757506c8de4fdf8d8253","created":1795695852,"model":"gemini-ratelimited","object":'
            b'"chat.completion","choices":[{"finish_reason":"stop","index":0,"message":{"content":"Hello'
            b' from fake gemini (gemini-2.5-flash)","role":"assistant","images":[],"thinking_blocks":[]}'
            b',"provider_specific_fields":{"native_finish_reason":"STOP"}}],"usage":{"completion_tokens"'
            b':11,"prompt_tokens":3,"total_tokens":14,"completion_tokens_details":{"text_tokens":11},"pr'
            b'ompt_tokens_details":{"text_tokens":3}},"vertex_ai_grounding_metadata":[],"vertex_ai_url_c'
            b'ontext_metadata":[],"vertex_ai_safety_results":[],"vertex_ai_citation_metadata":[]}'
        ),
    ),
    # LiteLLM's own answers (no provider involved).
    "master_key_wrong_no_db": (
        400,
        b'{"error":{"message":"No connected db.","type":"no_db_connection","param":null,"code":"400"}}',
    ),
    "master_key_missing": (
        401,
        b'{"error":{"message":"Authentication Error, No api key passed in.",'
        b'"type":"auth_error","param":"None","code":"401"}}',
    ),
    # Built from litellm/proxy/auth (a wrong key when a database is connected).
    "master_key_wrong_with_db": (
        401,
        b'{"error":{"message":"Authentication Error, Invalid proxy server token '
        b'passed. valid_token=None.","type":"auth_error","param":"None","code":"401"}}',
    ),
    # Built from litellm/router.py RouterErrors (no deployment left / all cooling down).
    "no_healthy_deployments": (
        400,
        b'{"error":{"message":"You passed in model=groq/x. There are no healthy '
        b'deployments for this model","type":"invalid_request_error","param":null,'
        b'"code":"400"}}',
    ),
    # Real: the same request again within 5 s of the provider's 401 (the deployment is in cooldown).
    "in_cooldown": (
        429,
        b'{"error":{"message":"No deployments available for selected model, Try again in 5 seconds. '
        b"All deployments for selected model are in cooldown. Passed model=groq/llama-3.3-70b-"
        b"versatile. pre-call-checks=False, cooldown_list=['1ad02e80fe18fde115f74d313b13e2f3ffadf"
        b'79d5fbc6937e6a723d6790403be\']","type":"all_deployments_in_cooldown","param":null,'
        b'"code":"429"}}',
    ),
    # The API server's service proxy: real sandbox answer, and the real kube-apiserver's wording.
    "kube_service_not_found": (
        404,
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        b'"message":"services \\"nosuch\\" not found","reason":"NotFound","code":404,'
        b'"details":{"name":"nosuch","group":"","kind":"services"}}',
    ),
    "kube_no_endpoints": (
        503,
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        b'"message":"no endpoints available for service \\"litellm\\"",'
        b'"reason":"ServiceUnavailable","code":503}',
    ),
    # Something in front of LiteLLM (an ingress) answering instead of it.
    "ingress_bad_gateway": (502, b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"),
}

VLLM_OK = (
    b'{"id":"chatcmpl-2db298e94c464f1f82986ead65f823a0","created":1795695679,"model":"vllm-qwen",'
    b'"object":"chat.completion","choices":[{"finish_reason":"stop","index":0,"message":{"content":'
    b'"Hello from fake vllm (Qwen/Qwen2.5-7B-Instruct)","role":"assistant"},"provider_specific_fields":{},'
    b'"logprobs":null}],"usage":{"completion_tokens":12,"prompt_tokens":3,"total_tokens":15}}'
)
# vllm-qwen failed upstream and its fallback ollama-qwen answered: LiteLLM names the upstream model.
FALLBACK_OK = (
    b'{"id":"chatcmpl-99e781ec-1e7a-4d3b-8309-536c9795d62c","created":1795695868,'
    b'"model":"ollama_chat/qwen2.5:7b","object":"chat.completion","choices":[{"finish_reason":"stop",'
    b'"index":0,"message":{"content":"Hello from fake ollama (qwen2.5:7b)","role":"assistant"}}],'
    b'"usage":{"completion_tokens":9,"prompt_tokens":3,"total_tokens":12}}'
)
MODELS_OK = (
    b'{"data":[{"id":"vllm-qwen","object":"model","created":1677610602,"owned_by":"openai"},'
    b'{"id":"ollama-qwen","object":"model","created":1677610602,"owned_by":"openai"},'
    b'{"id":"openai-gpt4o","object":"model","created":1677610602,"owned_by":"openai","mode":"chat",'
    b'"max_input_tokens":128000,"max_output_tokens":16384}],"object":"list"}'
)


def reply(name, seconds=0.05):
    status, body = SAMPLES[name]
    return v.Reply(status, body, seconds, None)


# --- the request plan ---------------------------------------------------------------------


def test_plan_requests_only_readiness_models_and_one_chat_per_smoke_model():
    plan = v.plan_requests(["groq/llama-3.3-70b-versatile", "vllm-qwen"])
    assert [(r.purpose, r.method, r.path, r.model) for r in plan] == [
        ("readiness", "GET", "/health/readiness", None),
        ("models", "GET", "/v1/models", None),
        ("smoke", "POST", "/v1/chat/completions", "groq/llama-3.3-70b-versatile"),
        ("smoke", "POST", "/v1/chat/completions", "vllm-qwen"),
    ]
    assert {r.path for r in plan} <= set(v.ALLOWED_PATHS)
    assert "/health" not in {r.path for r in plan}


@pytest.mark.parametrize("smoke_models", [[], ["a"], ["a", "b", "c", "a"]])
def test_plan_never_contains_health(smoke_models):
    """/health calls every upstream model and spends free-tier quota: never planned."""
    plan = v.plan_requests(smoke_models)
    assert all(r.path in ("/health/readiness", "/v1/models", "/v1/chat/completions") for r in plan)
    assert len(plan) == 2 + len(smoke_models)


def test_readiness_needs_no_key_and_the_rest_do():
    readiness, models, smoke = v.plan_requests(["m"])
    assert not readiness.authenticated and models.authenticated and smoke.authenticated


def test_smoke_body_is_tiny():
    assert v.smoke_body("groq/llama-3.3-70b-versatile") == {
        "model": "groq/llama-3.3-70b-versatile",
        "messages": [{"role": "user", "content": "Say hello"}],
        "max_tokens": 16,
    }


def test_master_key_header_per_transport():
    assert v.auth_headers(MASTER_KEY, v.VIA_URL) == {"Authorization": "Bearer " + MASTER_KEY}
    # The API server consumes Authorization for the Kubernetes credential.
    assert v.auth_headers(MASTER_KEY, v.VIA_SERVICE_PROXY) == {"x-litellm-api-key": "Bearer " + MASTER_KEY}


# --- classification -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, status, message",
    [
        ("groq_key_rejected", v.KEY_REJECTED, 'routes, key rejected: Groq says "Invalid API Key"'),
        ("groq_key_missing_env", v.KEY_REJECTED, 'routes, key rejected: Groq says "Invalid API Key"'),
        (
            "gemini_key_rejected",
            v.KEY_REJECTED,
            'routes, key rejected: Gemini says "API key not valid. Please pass a valid API key."',
        ),
        ("mistral_key_rejected", v.KEY_REJECTED, 'routes, key rejected: Mistral says "Unauthorized"'),
        (
            "openai_key_rejected",
            v.KEY_REJECTED,
            'routes, key rejected: OpenAI says "Incorrect API key provided: ********0000."',
        ),
        (
            "groq_rate_limited",
            v.RATE_LIMITED,
            'rate limited (HTTP 429): Groq says "Rate limit reached for model `llama-3.1-8b-instant`',
        ),
        (
            "gemini_rate_limited",
            v.RATE_LIMITED,
            'rate limited (HTTP 429): Gemini says "You exceeded your current quota',
        ),
        (
            "in_cooldown",
            v.RATE_LIMITED,
            "in cooldown: LiteLLM sends nothing to this model for a while after recent "
            "failures, cause unknown (No deployments available for selected model, Try "
            "again in 5 seconds. All deployments for selected model are in cooldown.)",
        ),
        ("mistral_unavailable", v.PROVIDER_ERROR, 'provider error (HTTP 503): Mistral says "Service Unavailable"'),
        (
            "groq_decommissioned",
            v.PROVIDER_ERROR,
            'provider error (HTTP 400): Groq says "The model `mixtral-8x7b-32768` has been decommissioned',
        ),
        (
            "upstream_connect_failed",
            v.PROVIDER_ERROR,
            "provider error (HTTP 500): LiteLLM got no answer from Hosted_vllm (its own HTTP client failed: Cannot "
            "connect "
            "to host",
        ),
        (
            "invalid_model_name",
            v.NOT_ROUTED,
            "not routed: /chat/completions: Invalid model name passed in model=groq/llama-3.3-70b-versatile.",
        ),
        ("no_healthy_deployments", v.NOT_ROUTED, "not routed: You passed in model=groq/x. There are no healthy"),
        ("master_key_wrong_no_db", v.UNREACHABLE, "LiteLLM rejected the master key (HTTP 400): No connected db."),
        (
            "master_key_missing",
            v.UNREACHABLE,
            "LiteLLM rejected the master key (HTTP 401): Authentication Error, No api key passed in.",
        ),
        (
            "master_key_wrong_with_db",
            v.UNREACHABLE,
            "LiteLLM rejected the master key (HTTP 401): Authentication Error, Invalid proxy server token",
        ),
        (
            "kube_service_not_found",
            v.UNREACHABLE,
            'Kubernetes API server answered 404, not LiteLLM: services "nosuch" not found',
        ),
        (
            "kube_no_endpoints",
            v.UNREACHABLE,
            'Kubernetes API server answered 503, not LiteLLM: no endpoints available for service "litellm"',
        ),
        ("ingress_bad_gateway", v.UNREACHABLE, "HTTP 502 that is not LiteLLM's answer: <html>"),
    ],
)
def test_classify_real_litellm_answers(name, status, message):
    result = v.classify_smoke("m", reply(name), max_latency=5.0)
    assert result["status"] == status
    assert result["message"].startswith(message), result["message"]
    assert result["http_status"] == SAMPLES[name][0]
    assert result["answer"] == ""
    # LiteLLM's fallback advice is noise in a report.
    assert "LiteLLM: model group" not in result["message"]
    assert len(result["message"]) <= v.MESSAGE_LIMIT


def test_key_rejected_is_told_apart_from_not_routed_for_the_same_model():
    rejected = v.classify_smoke("groq/llama-3.3-70b-versatile", reply("groq_key_rejected"), 5.0)
    unknown = v.classify_smoke("groq/llama-3.3-70b-versatile", reply("invalid_model_name"), 5.0)
    assert (rejected["status"], unknown["status"]) == (v.KEY_REJECTED, v.NOT_ROUTED)
    assert "routes, key rejected" in rejected["message"]
    assert "routes" not in unknown["message"].replace("not routed", "")


def test_nothing_answered_is_unreachable():
    result = v.classify_smoke("m", v.Reply(None, b"", 30.0, "timeout: timed out"), 5.0)
    assert result["status"] == v.UNREACHABLE
    assert result["http_status"] is None
    assert result["message"] == "LiteLLM not answering: timeout: timed out"


@pytest.mark.parametrize(
    "seconds, status", [(0.024, v.OK), (4.999, v.OK), (5.0, v.OK), (5.001, v.SLOW), (6.02, v.SLOW)]
)
def test_latency_threshold(seconds, status):
    result = v.classify_smoke("groq-good", reply("groq_ok", seconds), max_latency=5.0)
    assert result["status"] == status
    assert result["latency"] == round(seconds, 3)
    assert result["answer"] == "Hello from fake groq (llama-3.3-70b-versatile)"
    if status == v.SLOW:
        assert result["message"] == "answered in %.2fs, over the 5.00s limit" % seconds


def test_ok_answer_of_gemini_shape():
    result = v.classify_smoke("gemini-ratelimited", reply("gemini_ok", 0.03), 5.0)
    assert (result["status"], result["served_by"]) == (v.OK, "gemini-ratelimited")
    assert result["answer"] == "Hello from fake gemini (gemini-2.5-flash)"
    assert result["message"] == "answered in 0.03s"


def test_fallback_answer_is_ok_but_says_who_answered():
    result = v.classify_smoke("vllm-qwen", v.Reply(200, FALLBACK_OK, 0.3, None), 5.0)
    assert result["status"] == v.OK
    assert result["served_by"] == "ollama_chat/qwen2.5:7b"
    assert "answered by ollama_chat/qwen2.5:7b (a fallback, not vllm-qwen itself)" in result["message"]


def test_direct_answer_names_the_model_group():
    result = v.classify_smoke("vllm-qwen", v.Reply(200, VLLM_OK, 0.8, None), 5.0)
    assert (result["status"], result["served_by"], result["message"]) == (v.OK, "vllm-qwen", "answered in 0.80s")


def test_a_providers_text_answer_is_not_told_as_no_answer():
    result = v.classify_smoke("groq-x", reply("upstream_crashed"), 5.0)
    assert result["status"] == v.PROVIDER_ERROR
    assert "got no answer" not in result["message"] and "HTTP client failed" not in result["message"]


def test_a_failure_of_litellms_own_http_client_does_not_say_the_provider_spoke():
    result = v.classify_smoke("vllm-noconn", reply("upstream_connect_failed"), 5.0)
    assert " says " not in result["message"]
    assert "LiteLLM got no answer from Hosted_vllm" in result["message"]


@pytest.mark.parametrize("content", ["", "   ", None])
def test_an_empty_answer_is_served_with_a_note(content):
    """A reasoning model spends a small max_tokens on reasoning and answers 200 without content: it is served."""
    body = json.loads(VLLM_OK)
    body["choices"][0]["message"]["content"] = content
    result = v.classify_smoke("vllm-qwen", v.Reply(200, json.dumps(body).encode(), 0.1, None), 5.0)
    assert result["status"] == v.OK
    assert result["answer"] == ""
    assert result["message"] == (
        "answered in 0.10s with empty content (a reasoning model spends a small max_tokens on reasoning)"
    )


def test_an_empty_slow_answer_is_slow_with_the_note():
    body = json.loads(VLLM_OK)
    body["choices"][0]["message"]["content"] = ""
    result = v.classify_smoke("vllm-qwen", v.Reply(200, json.dumps(body).encode(), 9.0, None), 5.0)
    assert result["status"] == v.SLOW and result["message"].endswith(
        "with empty content (a reasoning model spends a small max_tokens on reasoning)"
    )


@pytest.mark.parametrize("body", [b'{"choices": []}', b'{"choices": [null]}', b"[]", b"not json"])
def test_a_200_without_choices_is_served_with_the_note(body):
    result = v.classify_smoke("m", v.Reply(200, body, 0.1, None), 5.0)
    assert result["status"] == v.OK and "with empty content" in result["message"]


def test_answer_is_cut_to_200_characters():
    body = json.loads(VLLM_OK)
    body["choices"][0]["message"]["content"] = "word " * 100
    result = v.classify_smoke("vllm-qwen", v.Reply(200, json.dumps(body).encode(), 0.1, None), 5.0)
    assert len(result["answer"]) == v.ANSWER_LIMIT
    assert result["answer"].endswith("...")


@pytest.mark.parametrize(
    "name, seconds", [("in_cooldown", 5.0), ("groq_rate_limited", None), ("groq_key_rejected", None), ("groq_ok", None)]
)
def test_cooldown_seconds(name, seconds):
    assert v.cooldown_seconds(reply(name)) == seconds


def test_cooldown_wait_is_noted():
    result = v.classify_smoke("groq/x", reply("groq_key_rejected"), 5.0, cooldown_waited=5.0)
    assert result["message"] == (
        'routes, key rejected: Groq says "Invalid API Key" (asked again after waiting 5s for LiteLLM\'s cooldown)'
    )


def test_after_slow_retry_the_second_answer_decides_and_both_times_are_told():
    first = v.classify_smoke("groq-good", reply("groq_ok", 6.2), max_latency=5.0)
    second = v.classify_smoke("groq-good", reply("groq_ok", 0.4), max_latency=5.0)
    result = v.after_slow_retry(first, second)
    assert (result["status"], result["latency"], result["first_latency"]) == (v.OK, 0.4, 6.2)
    assert result["message"] == "answered in 0.40s (asked again: the first answer took 6.20s)"
    assert first["status"] == v.SLOW and "first_latency" not in second, "the inputs are not changed"


def test_after_slow_retry_slow_twice_stays_slow():
    first = v.classify_smoke("groq-good", reply("groq_ok", 6.2), max_latency=5.0)
    result = v.after_slow_retry(first, v.classify_smoke("groq-good", reply("groq_ok", 7.5), max_latency=5.0))
    assert result["status"] == v.SLOW
    assert result["message"] == "answered in 7.50s, over the 5.00s limit (asked again: the first answer took 6.20s)"


def test_after_slow_retry_an_error_the_second_time_is_that_error():
    first = v.classify_smoke("groq/x", reply("groq_ok", 6.2), max_latency=5.0)
    result = v.after_slow_retry(first, v.classify_smoke("groq/x", reply("groq_key_rejected"), max_latency=5.0))
    assert result["status"] == v.KEY_REJECTED and result["message"].endswith(
        "(asked again: the first answer took 6.20s)"
    )


def test_not_tried():
    assert v.not_tried("m", "LiteLLM is not ready") == dict(
        model="m",
        status=v.UNREACHABLE,
        http_status=None,
        latency=None,
        message="not tried: LiteLLM is not ready",
        answer="",
        served_by=None,
    )


@pytest.mark.parametrize(
    "message, expected",
    [
        (
            'litellm.BadRequestError: GroqException - {"error": {"message": "Invalid API Key"}}\n\nLiteLLM: model '
            "group 'x' failed",
            ("Groq", "Invalid API Key", True),
        ),
        (
            'litellm.AuthenticationError: AuthenticationError: MistralException - {"detail": "Unauthorized"}',
            ("Mistral", "Unauthorized", True),
        ),
        (
            'litellm.BadRequestError: GeminiException - {"error": {"code": 400}}',
            ("Gemini", '{"error": {"code": 400}}', True),
        ),
        ('litellm.BadRequestError: GroqException - {"message": "Over quota"}', ("Groq", "Over quota", True)),
        (
            "litellm.AuthenticationError: AuthenticationError: OpenAIException - Incorrect API key provided: ****1234.",
            ("OpenAI", "Incorrect API key provided: ****1234.", True),
        ),
        (
            "litellm.APIConnectionError: GroqException - Illegal header value b'Bearer gsk_x\\n'",
            ("Groq", "Illegal header value b'Bearer gsk_x\\n'", False),
        ),
        ('litellm.BadRequestError: GroqException - ["a", "list"]', ("Groq", '["a", "list"]', True)),
        (
            "litellm.RateLimitError: No deployments available for selected model",
            (None, "No deployments available for selected model", False),
        ),
        ("", (None, "", False)),
        (None, (None, "", False)),
    ],
)
def test_provider_detail(message, expected):
    assert v.provider_detail(message) == expected


# --- models --------------------------------------------------------------------------------


def test_served_models_in_litellm_order():
    assert v.served_models(v.Reply(200, MODELS_OK, 0.01, None)) == ["vllm-qwen", "ollama-qwen", "openai-gpt4o"]


@pytest.mark.parametrize(
    "name", ["master_key_wrong_no_db", "master_key_missing", "kube_no_endpoints", "ingress_bad_gateway"]
)
def test_served_models_of_a_failure_is_none(name):
    assert v.served_models(reply(name)) is None


def test_served_models_of_a_non_list_is_none():
    assert v.served_models(v.Reply(200, b'{"data": "nope"}', 0.01, None)) is None
    assert v.served_models(v.Reply(200, b"not json", 0.01, None)) is None


@pytest.mark.parametrize(
    "served, expected, missing, extra",
    [
        (["vllm-qwen", "ollama-qwen", "openai-gpt4o"], ["vllm-qwen", "ollama-qwen", "openai-gpt4o"], [], []),
        (
            ["vllm-qwen", "ollama-qwen", "openai-gpt4o"],
            ["vllm-qwen", "groq/llama-3.3-70b-versatile"],
            ["groq/llama-3.3-70b-versatile"],
            ["ollama-qwen", "openai-gpt4o"],
        ),
        ([], ["a", "b", "a"], ["a", "b"], []),
        (["a", "b"], [], [], ["a", "b"]),
        # Names are exact: LiteLLM does not match a prefix-stripped name in /v1/models.
        (
            ["groq/llama-3.3-70b-versatile"],
            ["llama-3.3-70b-versatile"],
            ["llama-3.3-70b-versatile"],
            ["groq/llama-3.3-70b-versatile"],
        ),
    ],
)
def test_compare_models(served, expected, missing, extra):
    assert v.compare_models(served, expected) == (missing, extra)


def test_is_ready():
    assert v.is_ready(v.Reply(200, b'{"status":"healthy","db":"Not connected"}', 0.005, None))
    assert not v.is_ready(reply("kube_no_endpoints"))
    assert not v.is_ready(v.Reply(None, b"", 1.0, "refused"))


# --- scrubbing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, secrets, expected",
    [
        ("key " + MASTER_KEY + " leaked", {MASTER_KEY}, "key *** leaked"),
        ("Authorization: Bearer abc.def-ghi_jkl", (), "Authorization: Bearer ***"),
        ("x-litellm-api-key: bearer s3cr3tT0ken", (), "x-litellm-api-key: bearer ***"),
        ("groq key gsk_WRONGwrongWRONG0000000000000000 refused", (), "groq key *** refused"),
        ("openai sk-sandbox-fad451b2bb9523c0daf0 refused", (), "openai *** refused"),
        ("gemini AIzaWRONGkey0000000000000000000000000 refused", (), "gemini *** refused"),
        (
            "GET /v1beta/models/x:generateContent?key=AIzaSy12&alt=sse",
            (),
            "GET /v1beta/models/x:generateContent?key=***&alt=sse",
        ),
        (
            "value c2VjcmV0LXZhbHVlLTE= in base64",
            sp.secret_values(plain={"K": "secret-value-1"}),
            "value *** in base64",
        ),
        ("multi\n\nline   text", (), "multi line text"),
        ("", {MASTER_KEY}, ""),
        (None, (), ""),
    ],
)
def test_scrub_text(text, secrets, expected):
    assert v.scrub_text(text, secrets) == expected


def test_scrub_text_keeps_model_names_and_masked_keys():
    text = 'Groq says "Invalid API Key" for groq/llama-3.3-70b-versatile; OpenAI: ********0000.'
    assert v.scrub_text(text) == text


def test_scrub_text_cuts_long_text():
    assert v.scrub_text("x" * 1000, limit=50) == "x" * 47 + "..."


def test_a_provider_echoing_the_key_is_scrubbed():
    wrong_key = "gsk_WRONGwrongWRONG00000000000000000000000000000000000"
    body = json.dumps(
        {
            "error": {
                "message": 'litellm.AuthenticationError: GroqException - {"error": {"message": '
                '"Invalid API Key ' + wrong_key + '"}}',
                "type": "authentication_error",
                "code": "401",
            }
        }
    ).encode()
    result = v.classify_smoke("groq/x", v.Reply(401, body, 0.1, None), 5.0, secrets={wrong_key, MASTER_KEY})
    assert result["status"] == v.KEY_REJECTED
    assert wrong_key not in json.dumps(result)
    assert result["message"] == 'routes, key rejected: Groq says "Invalid API Key ***"'


def test_failure_messages_are_scrubbed():
    status, message = v.classify_failure(
        v.Reply(None, b"", 1.0, "refused, sent Bearer " + MASTER_KEY), secrets={MASTER_KEY}
    )
    assert MASTER_KEY not in message and status == v.UNREACHABLE


# --- summary -------------------------------------------------------------------------------


def test_summary_none_when_everything_passed():
    smoke = [v.classify_smoke("vllm-qwen", v.Reply(200, VLLM_OK, 0.8, None), 5.0)]
    assert v.summarize(True, None, [], None, smoke) is None


def test_summary_names_each_failing_model_and_its_class():
    smoke = [
        v.classify_smoke("vllm-qwen", v.Reply(200, VLLM_OK, 0.8, None), 5.0),
        v.classify_smoke("groq/llama-3.3-70b-versatile", reply("groq_key_rejected"), 5.0),
        v.classify_smoke("nope", reply("invalid_model_name"), 5.0),
        v.classify_smoke("groq-good", reply("groq_ok", 7.5), 5.0),
    ]
    summary = v.summarize(True, None, ["mistral/mistral-small-latest"], None, smoke)
    assert summary.startswith("missing models: mistral/mistral-small-latest; ")
    assert 'groq/llama-3.3-70b-versatile: key_rejected (routes, key rejected: Groq says "Invalid API Key")' in summary
    assert "nope: not_routed (not routed: " in summary
    assert "groq-good: slow (answered in 7.50s, over the 5.00s limit)" in summary
    assert "vllm-qwen" not in summary


def test_summary_when_not_ready():
    summary = v.summarize(False, "LiteLLM not answering: refused", ["a"], None, [v.not_tried("m", "x")])
    assert summary == "LiteLLM not ready: LiteLLM not answering: refused; missing models: a; smoke not tried: m"


def test_summary_when_models_cannot_be_listed():
    summary = v.summarize(True, None, ["a"], "LiteLLM rejected the master key (HTTP 400): No connected db.", [])
    assert summary == (
        "/v1/models failed: LiteLLM rejected the master key (HTTP 400): No connected db.; missing models: a"
    )


def test_a_key_no_http_header_can_carry_is_litellms_client_failing_not_the_provider_speaking():
    body = json.dumps(
        {
            "error": {
                "message": "litellm.APIConnectionError: APIConnectionError: GroqException - Illegal "
                "header value b'Bearer gsk_abc'",
                "type": None,
                "code": "500",
            }
        }
    ).encode()
    status, message = v.classify_failure(v.Reply(500, body, 0.1, None), secrets={"gsk_abc"})
    assert status == v.PROVIDER_ERROR
    assert message == (
        "provider error (HTTP 500): LiteLLM got no answer from Groq (its own HTTP client failed: "
        "Illegal header value b'Bearer ***')"
    )
    assert "Groq says" not in message
