"""Each provider's own error bodies, and the exception that carries one out of a gate."""

from __future__ import annotations

import datetime
import http
import uuid
from typing import Any

from aiohttp import web


class _Refusal(Exception):
    """Raised by a gate: the request gets ``response`` instead of an answer."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


# google.rpc status names for the HTTP statuses the fake can produce.
_GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def _error(
    provider: str,
    status: int,
    message: str,
    kind: str,
    code: str | None = None,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """An error response in ``provider``'s own JSON shape.

    ``kind`` is the OpenAI-style ``type`` (Groq, OpenAI, vLLM, Mistral); Google's shape takes
    its ``status`` name from the HTTP status instead, Ollama's carries only the message.
    """
    if provider == "gemini":
        body: dict[str, Any] = {
            "error": {
                "code": status,
                "message": message,
                "status": _GOOGLE_STATUS.get(status, "UNKNOWN"),
            }
        }
        if details:
            body["error"]["details"] = details
    elif provider == "ollama":
        body = {"error": message}
    elif provider == "mistral":
        # Mistral's error objects carry the HTTP status again as raw_status_code since 2026
        # (mistralai/mistral-vibe#617, jordymeow/ai-engine#11).
        body = {
            "object": "error",
            "message": message,
            "type": kind,
            "param": None,
            "code": code,
            "raw_status_code": status,
        }
    elif provider == "vllm":
        body = {"error": {"message": message, "type": kind, "param": None, "code": status}}
    elif provider == "openai":
        body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    else:
        body = {"error": {"message": message, "type": kind, "code": code}}
    return web.json_response(body, status=status, headers=headers)


_GEMINI_KEY_INVALID = "API key not valid. Please pass a valid API key."


def _auth_error(provider: str, key: str | None) -> web.Response:
    """What each provider really answers for a missing or wrong key (any wrong key alike)."""
    if provider == "gemini":
        if key is None:
            return _error(
                provider,
                403,
                "Method doesn't allow unregistered callers (callers without established "
                "identity). Please use API Key or other form of API consumer identity to call "
                "this API.",
                "",
            )
        # LiteLLM maps a Gemini error to AuthenticationError only on this exact message text.
        details = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            },
            {
                "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                "locale": "en-US",
                "message": _GEMINI_KEY_INVALID,
            },
        ]
        return _error(provider, 400, _GEMINI_KEY_INVALID, "", details=details)
    if provider == "mistral":
        # Mistral's gateway answers auth failures outside its usual error object.
        return web.json_response({"detail": "Unauthorized"}, status=401)
    if provider == "openai":
        if key is None:
            message = (
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
            return _error(provider, 401, message, "invalid_request_error")
        # OpenAI echoes the key masked down to its last four characters.
        message = f"Incorrect API key provided: {'*' * 8}{key[-4:]}."
        return _error(provider, 401, message, "invalid_request_error", "invalid_api_key")
    return _error(provider, 401, "Invalid API Key", "invalid_request_error", "invalid_api_key")


def _gemini_query_key_error() -> web.Response:
    """An auth key sent as ?key=: Google answers 404 (lingarr-translate/lingarr#532).

    The status is reported; the body text is not, so this one is Google's generic NOT_FOUND.
    """
    return _error("gemini", 404, "Requested entity was not found.", "")


def _model_refusal(provider: str, model: str, refusal: str) -> web.Response:
    """How ``provider`` refuses ``model``: ``refusal`` names the provider's way (catalogue)."""
    if provider == "groq":
        if refusal == "decommissioned":
            # Groq's 2026 envelope adds request_id and created_at (RightNow-AI/openfang#60).
            message = (
                f"The model `{model}` has been decommissioned and is no longer supported. "
                "Please refer to https://console.groq.com/docs/deprecations for a "
                "recommendation on which model to use instead."
            )
            body = {
                "request_id": f"req_{uuid.uuid4().hex[:26]}",
                "created_at": datetime.datetime.now(datetime.UTC)
                .isoformat(timespec="milliseconds")
                .replace("+00:00", "Z"),
                "error": {
                    "message": message,
                    "type": "invalid_request_error",
                    "param": "",
                    "code": "model_decommissioned",
                },
            }
            return web.json_response(body, status=400)
        message = f"The model `{model}` does not exist or you do not have access to it."
        return _error(provider, 404, message, "invalid_request_error", "model_not_found")
    if provider == "gemini":
        if refusal == "new_users":
            message = (
                f"This model models/{model} is no longer available to new users. Please update "
                "your code to use a newer model for the latest features and improvements. We "
                "recommend you to use the Interactions API "
                "(https://ai.google.dev/gemini-api/docs/migrate-to-interactions)."
            )
        else:
            message = (
                f"models/{model} is not found for API version v1beta, or is not supported for "
                "generateContent. Call ListModels to see the list of available models and their "
                "supported methods."
            )
        return _error(provider, 404, message, "")
    if provider == "mistral":
        if refusal == "tier":
            return _error(
                provider, 403, "This model is not available in your subscription tier", "tier_not_allowed", "1910"
            )
        return _error(provider, 400, f"Invalid model: {model}", "invalid_model", "1500")
    if provider == "ollama":
        return _error(provider, 404, f'model "{model}" not found, try pulling it first', "")
    if provider == "vllm":
        return _error(provider, 404, f"The model `{model}` does not exist.", "NotFoundError")
    message = f"The model `{model}` does not exist or you do not have access to it."
    return _error(provider, 404, message, "invalid_request_error", "model_not_found")


# How each provider refuses a name the ``retired`` knob lists, and a name it never served.
_KNOB_REFUSAL = {"groq": "decommissioned", "gemini": "not_found", "mistral": "invalid_model"}
_UNKNOWN_REFUSAL = {"groq": "not_found", "gemini": "not_found", "mistral": "invalid_model"}


def _model_lookup_error(provider: str, model: str) -> web.Response:
    """GET of one model the provider does not serve."""
    if provider == "gemini":
        # Redacted provider probe of 2026-10-03 (GET .../v1beta/models/invalid-model).
        return _error(provider, 404, f"Model is not found: models/{model} for api version v1beta", "")
    if provider == "mistral":
        # Not verified: Mistral's answer to GET of an unknown model was not found; its
        # invalid-model object is used with 404.
        return _error(provider, 404, f"Invalid model: {model}", "invalid_model", "1500")
    # Not verified for GET: Groq's chat answer for a model it does not serve.
    return _model_refusal(provider, model, "not_found")


def _rate_limit_error(
    provider: str, model: str, unit: str, limit: int, used: int, wanted: int, retry_after: int
) -> web.Response:
    """A 429 in the provider's shape; ``unit`` is ``"rpm"``, ``"tpm"`` or ``"rpd"``."""
    headers = {"retry-after": str(retry_after)}
    what = {"rpm": "requests per minute (RPM)", "tpm": "tokens per minute (TPM)", "rpd": "requests per day (RPD)"}[unit]
    detail = f"Limit {limit}, Used {used}, Requested {wanted}. Please try again in {retry_after}s."
    if provider == "gemini":
        quota_id = {
            "rpm": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
            "tpm": "GenerateContentInputTokensPerModelPerMinute-FreeTier",
            "rpd": "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
        }[unit]
        details = [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                        "quotaId": quota_id,
                        "quotaDimensions": {"location": "global", "model": model},
                        "quotaValue": str(limit),
                    }
                ],
            },
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_after}s"},
        ]
        message = "You exceeded your current quota, please check your plan and billing details."
        return _error(provider, 429, message, "", details=details, headers=headers)
    if provider == "mistral":
        return _error(provider, 429, "Rate limit exceeded", "rate_limited", "1300", headers=headers)
    if provider == "ollama":
        return _error(provider, 429, "too many requests", "", headers=headers)
    if provider == "groq":
        message = (
            f"Rate limit reached for model `{model}` in organization `org_sandbox` service tier "
            f"`on_demand` on {what}: {detail}"
        )
    else:
        message = f"Rate limit reached for {model} on {what}: {detail}"
    kind = "tokens" if unit == "tpm" else "requests"
    return _error(provider, 429, message, kind, "rate_limit_exceeded", headers=headers)


def _outage_error(provider: str, status: int) -> web.Response:
    """The ``fail`` knob's answer: ``status`` with its standard phrase, in provider shape."""
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return _error(provider, status, phrase, kind, str(status))
