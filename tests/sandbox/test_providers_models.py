"""The fake providers' model catalogues, and the model names they refuse.

The lists each provider serves (its fields, Gemini's paging), one-model lookups, and retired or
unknown names refused the way each real API refuses them, also when a test retires a served
model or turns the catalogue check off. The tests talk to the fake directly, through the
``server`` fixture.
"""

from __future__ import annotations

from typing import Any

import pytest

from sandbox import provider_catalog as catalog
from sandbox import providers
from tests.sandbox.provider_server import (
    KEYS,
    MODELS,
    ProviderServer,
    _key,
)

# --- model lists -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "path", "listed"),
    [
        ("groq", "/models", lambda body: [m["id"] for m in body["data"]]),
        ("mistral", "/models", lambda body: [m["id"] for m in body["data"]]),
        ("openai", "/models", lambda body: [m["id"] for m in body["data"]]),
        ("vllm", "/models", lambda body: [m["id"] for m in body["data"]]),
        ("gemini", "/models", lambda body: [m["name"][len("models/") :] for m in body["models"]]),
        ("ollama", "/api/tags", lambda body: [m["name"] for m in body["models"]]),
    ],
)
def test_model_lists_are_the_dated_catalogue(server: ProviderServer, provider: str, path: str, listed: Any) -> None:
    response = server.get(provider, path)
    assert response.status_code == 200, response.text
    names = listed(response.json())
    assert names == list(catalog.MODELS[provider]) and MODELS[provider] in names
    assert not set(names) & set(catalog.RETIRED.get(provider, {}))


def test_groq_model_list_has_groq_fields(server: ProviderServer) -> None:
    body = server.get("groq", "/models").json()
    assert body["object"] == "list"
    entry = next(m for m in body["data"] if m["id"] == "openai/gpt-oss-120b")
    assert entry == {
        "id": "openai/gpt-oss-120b",
        "object": "model",
        "created": entry["created"],
        "owned_by": "OpenAI",
        "active": True,
        "context_window": 131072,
        "public_apps": None,
        "max_completion_tokens": 65536,
    }
    assert "llama-3.3-70b-versatile" not in {m["id"] for m in body["data"]}


def test_groq_and_mistral_get_one_model(server: ProviderServer) -> None:
    groq = server.get("groq", "/models/openai/gpt-oss-20b")
    assert groq.status_code == 200 and groq.json()["id"] == "openai/gpt-oss-20b"
    assert groq.json()["context_window"] == 131072
    gone = server.get("groq", "/models/llama-3.3-70b-versatile")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "model_not_found"
    mistral = server.get("mistral", "/models/mistral-small-latest")
    assert mistral.status_code == 200 and mistral.json()["name"] == "mistral-small-2603"
    unknown = server.get("mistral", "/models/open-mistral-nemo")
    assert unknown.status_code == 404 and unknown.json()["type"] == "invalid_model"


def test_mistral_model_list_has_mistral_fields(server: ProviderServer) -> None:
    data = server.get("mistral", "/models").json()["data"]
    small = next(m for m in data if m["id"] == "mistral-small-latest")
    assert small["owned_by"] == "mistralai" and small["type"] == "base"
    assert small["name"] == "mistral-small-2603" and small["aliases"] == ["mistral-small-latest"]
    assert small["capabilities"]["completion_chat"] is True
    assert small["max_context_length"] == 262144 and small["deprecation"] is None
    assert "limits" not in small and "reasoning" not in small


def test_gemini_model_entries(server: ProviderServer) -> None:
    models = server.get("gemini", "/models").json()["models"]
    flash = next(m for m in models if m["name"] == "models/gemini-3.8-flash")
    assert flash == {
        "name": "models/gemini-3.8-flash",
        "version": "3.0",
        "displayName": "Gemini 3.8 Flash",
        "description": "Gemini 3.8 Flash",
        "inputTokenLimit": 1048576,
        "outputTokenLimit": 65536,
        "supportedGenerationMethods": ["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"],
        "temperature": 1,
        "topP": 0.95,
        "topK": 64,
        "maxTemperature": 2,
        "thinking": True,
    }
    gemma = next(m for m in models if m["name"] == "models/gemma-4-31b-it")
    assert "thinking" not in gemma and "generateContent" in gemma["supportedGenerationMethods"]


def test_gemini_list_pages(server: ProviderServer) -> None:
    everything = server.get("gemini", "/models").json()
    assert "nextPageToken" not in everything  # the default page (50) holds the whole list
    names: list[str] = []
    params: dict[str, Any] = {"pageSize": 2}
    while True:
        page = server.get("gemini", "/models", params=params).json()
        assert len(page["models"]) <= 2
        names += [m["name"] for m in page["models"]]
        if "nextPageToken" not in page:
            break
        params = {"pageSize": 2, "pageToken": page["nextPageToken"]}
    assert names == [m["name"] for m in everything["models"]]
    assert len(names) == len(catalog.GEMINI_MODELS)


def test_gemini_page_size_defaults_and_cap(server: ProviderServer, monkeypatch) -> None:
    monkeypatch.setattr(providers.server, "GEMINI_DEFAULT_PAGE_SIZE", 3)
    monkeypatch.setattr(providers.server, "GEMINI_MAX_PAGE_SIZE", 4)
    assert len(server.get("gemini", "/models").json()["models"]) == 3
    assert len(server.get("gemini", "/models", params={"pageSize": 0}).json()["models"]) == 3
    capped = server.get("gemini", "/models", params={"pageSize": 999}).json()
    assert len(capped["models"]) == 4 and "nextPageToken" in capped


@pytest.mark.parametrize("params", [{"pageSize": -1}, {"pageToken": "not-a-token-we-gave"}])
def test_gemini_list_rejects_bad_paging(server: ProviderServer, params: dict[str, Any]) -> None:
    response = server.get("gemini", "/models", params=params)
    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_gemini_get_one_model(server: ProviderServer) -> None:
    response = server.get("gemini", "/models/gemini-3.5-flash-lite")
    assert response.status_code == 200
    assert response.json()["name"] == "models/gemini-3.5-flash-lite"
    missing = server.get("gemini", "/models/gemini-1.5-flash")
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {
            "code": 404,
            "status": "NOT_FOUND",
            "message": "Model is not found: models/gemini-1.5-flash for api version v1beta",
        }
    }


def test_model_lists_need_a_valid_key(server: ProviderServer) -> None:
    assert server.get("groq", "/models", key=_key("gsk_", "unlisted", 56)).status_code == 401
    assert server.get("gemini", "/models", key=_key("AQ.Ab", "unlisted", 53)).status_code == 400
    assert server.get("mistral", "/models", key=_key("", "unlisted", 32)).status_code == 401


# --- retired and unknown models ----------------------------------------------------------


def _groq_decommissioned(body: dict[str, Any]) -> bool:
    error = body["error"]
    return (
        error["code"] == "model_decommissioned"
        and error["type"] == "invalid_request_error"
        and error["param"] == ""
        and body["request_id"].startswith("req_")
        and "has been decommissioned and is no longer supported" in error["message"]
        and "https://console.groq.com/docs/deprecations" in error["message"]
    )


def _groq_not_found(model: str) -> Any:
    return lambda body: (
        body
        == {
            "error": {
                "message": f"The model `{model}` does not exist or you do not have access to it.",
                "type": "invalid_request_error",
                "code": "model_not_found",
            }
        }
    )


def _gemini_not_found(model: str) -> Any:
    return lambda body: (
        body
        == {
            "error": {
                "code": 404,
                "status": "NOT_FOUND",
                "message": (
                    f"models/{model} is not found for API version v1beta, or is not supported for "
                    "generateContent. Call ListModels to see the list of available models and their "
                    "supported methods."
                ),
            }
        }
    )


def _gemini_new_users(model: str) -> Any:
    return lambda body: (
        body["error"]["status"] == "NOT_FOUND"
        and body["error"]["message"].startswith(
            f"This model models/{model} is no longer available to new "
            "users. Please update your code to use a newer model"
        )
    )


def _mistral_invalid(model: str) -> Any:
    return lambda body: (
        body
        == {
            "object": "error",
            "message": f"Invalid model: {model}",
            "type": "invalid_model",
            "param": None,
            "code": "1500",
            "raw_status_code": 400,
        }
    )


@pytest.mark.parametrize(
    ("provider", "model", "status", "check"),
    [
        ("groq", "mixtral-8x7b-32768", 400, _groq_decommissioned),
        ("groq", "qwen/qwen3-32b", 400, _groq_decommissioned),
        ("groq", "llama-3.3-70b-versatile", 404, _groq_not_found("llama-3.3-70b-versatile")),
        ("groq", "llama-3.1-8b-instant", 404, _groq_not_found("llama-3.1-8b-instant")),
        ("groq", "gpt-oss-120b", 404, _groq_not_found("gpt-oss-120b")),  # prefix missing
        ("gemini", "gemini-1.5-flash", 404, _gemini_not_found("gemini-1.5-flash")),
        ("gemini", "gemini-1.5-pro", 404, _gemini_not_found("gemini-1.5-pro")),
        ("gemini", "gemini-2.0-flash", 404, _gemini_not_found("gemini-2.0-flash")),
        ("gemini", "gemini-2.5-flash", 404, _gemini_new_users("gemini-2.5-flash")),
        ("gemini", "gemini-2.5-pro", 404, _gemini_new_users("gemini-2.5-pro")),
        ("gemini", "gemini-9-ultra", 404, _gemini_not_found("gemini-9-ultra")),
        ("mistral", "open-mistral-nemo", 400, _mistral_invalid("open-mistral-nemo")),
        ("mistral", "mistral-small-lates", 400, _mistral_invalid("mistral-small-lates")),
        (
            "mistral",
            "mistral-large-latest",
            403,
            lambda b: (
                b
                == {
                    "object": "error",
                    "type": "tier_not_allowed",
                    "param": None,
                    "message": "This model is not available in your subscription tier",
                    "code": "1910",
                    "raw_status_code": 403,
                }
            ),
        ),
        ("openai", "gpt-4", 404, lambda b: b["error"]["code"] == "model_not_found"),
        ("vllm", "Qwen/Qwen3-8B", 404, lambda b: b["error"]["type"] == "NotFoundError"),
        ("ollama", "llama3:8b", 404, lambda b: b == {"error": 'model "llama3:8b" not found, try pulling it first'}),
    ],
)
def test_retired_and_unknown_models_answer_like_the_real_api(
    server: ProviderServer, provider: str, model: str, status: int, check: Any
) -> None:
    response = server.chat(provider, KEYS.get(provider), model)
    assert response.status_code == status, response.text
    assert check(response.json()), response.text
    assert server.log()[-1]["status"] == status


def test_groq_and_gemini_stream_requests_are_refused_the_same_way(server: ProviderServer) -> None:
    groq = server.chat("groq", KEYS["groq"], "mixtral-8x7b-32768", stream=True)
    assert groq.status_code == 400 and _groq_decommissioned(groq.json())
    gemini = server.chat("gemini", KEYS["gemini"], "gemini-2.5-flash", stream=True)
    assert gemini.status_code == 404 and _gemini_new_users("gemini-2.5-flash")(gemini.json())


def test_key_is_checked_before_the_model(server: ProviderServer) -> None:
    response = server.chat("groq", _key("gsk_", "unlisted", 56), "mixtral-8x7b-32768")
    assert response.status_code == 401


def test_retired_knob_retires_a_served_model(server: ProviderServer) -> None:
    assert server.chat("groq", KEYS["groq"], "openai/gpt-oss-20b").status_code == 200
    server.write_knobs(
        {
            "retired": [
                "groq/openai/gpt-oss-20b",
                "gemini/gemini-3.6-flash",
                "mistral/mistral-medium-latest",
                "ollama/qwen2.5:7b",
            ]
        }
    )
    assert _groq_decommissioned(server.chat("groq", KEYS["groq"], "openai/gpt-oss-20b").json())
    gemini = server.chat("gemini", KEYS["gemini"], "gemini-3.6-flash")
    assert gemini.status_code == 404 and _gemini_not_found("gemini-3.6-flash")(gemini.json())
    assert server.chat("mistral", KEYS["mistral"], "mistral-medium-latest").status_code == 400
    assert server.chat("ollama", model="qwen2.5:7b").status_code == 404
    names = [m["name"] for m in server.get("gemini", "/models").json()["models"]]
    assert "models/gemini-3.6-flash" not in names and "models/gemini-3.5-flash" in names
    assert "openai/gpt-oss-20b" not in [m["id"] for m in server.get("groq", "/models").json()["data"]]
    assert server.get("groq", "/models/openai/gpt-oss-20b").status_code == 404


def test_strict_models_can_be_turned_off_per_provider(server: ProviderServer) -> None:
    server.write_knobs({"strict": {"groq": {"models": False}}})
    assert server.chat("groq", KEYS["groq"], "llama-3.3-70b-versatile").status_code == 200
    assert server.chat("gemini", KEYS["gemini"], "gemini-1.5-flash").status_code == 404
    server.write_knobs({"strict": {"groq": {"models": False}}, "retired": ["groq/llama-3.3-70b-versatile"]})
    assert server.chat("groq", KEYS["groq"], "llama-3.3-70b-versatile").status_code == 400
