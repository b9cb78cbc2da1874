"""Keys at the fake providers.

Wrong and missing keys refused in each provider's shape, keys the provider never issues refused
like wrong ones (and the knob that turns that check off), the sandbox's demo keys, OpenAI's
masking, keyless local providers, and valid-keys.json re-read on every request. The tests talk
to the fake directly, through the ``server`` fixture.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from sandbox import provider_catalog as catalog
from sandbox import providers, seed
from tests.sandbox.provider_server import (
    KEYS,
    PROMPT,
    REPO_ROOT,
    ProviderServer,
    _key,
)


@pytest.mark.parametrize(
    ("provider", "key", "status", "check"),
    [
        (
            "groq",
            _key("gsk_", "unlisted", 56),
            401,
            lambda b: (
                b
                == {"error": {"message": "Invalid API Key", "type": "invalid_request_error", "code": "invalid_api_key"}}
            ),
        ),
        ("groq", None, 401, lambda b: b["error"]["message"] == "Invalid API Key"),
        ("openai", "sk-wrong-key", 401, lambda b: b["error"]["code"] == "invalid_api_key"),
        ("openai", None, 401, lambda b: "didn't provide an API key" in b["error"]["message"]),
        ("mistral", _key("", "unlisted", 32), 401, lambda b: b == {"detail": "Unauthorized"}),
        ("mistral", None, 401, lambda b: b == {"detail": "Unauthorized"}),
        (
            "gemini",
            _key("AQ.Ab", "unlisted", 53),
            400,
            lambda b: (
                b["error"]["status"] == "INVALID_ARGUMENT"
                and b["error"]["message"] == "API key not valid. Please pass a valid API key."
                and b["error"]["details"][0]["reason"] == "API_KEY_INVALID"
            ),
        ),
        ("gemini", None, 403, lambda b: b["error"]["status"] == "PERMISSION_DENIED"),
    ],
)
def test_wrong_or_missing_key_is_rejected_in_provider_shape(
    server: ProviderServer, provider: str, key: str | None, status: int, check: Any
) -> None:
    response = server.chat(provider, key)
    assert response.status_code == status
    assert check(response.json()), response.text


# Keys the provider would never issue; each is listed as valid, so only the format check
# can refuse it.
BAD_FORMAT_KEYS = [
    ("groq", _key("gsk_", "tooShort", 40)),
    ("groq", _key("gsk_", "tooLong", 60)),
    ("groq", _key("sk-", "noGroqPrefix", 56)),
    ("groq", _key("gsk_", "has-a-dash", 56)),
    ("gemini", _key("AIza", "legacyStandardKey", 39)),  # rejected since September 2026
    ("gemini", _key("AQ.Ab", "tooShort", 50)),
    ("gemini", _key("AQ:Ab", "wrongSeparator", 53)),
    ("mistral", _key("", "tooShort", 31)),
    ("mistral", _key("", "underscore_", 32)),
    ("mistral", _key("gsk_", "prefixed", 36)),
]


@pytest.mark.parametrize(("provider", "key"), BAD_FORMAT_KEYS)
def test_keys_the_provider_never_issues_are_rejected_like_wrong_keys(
    server: ProviderServer, provider: str, key: str
) -> None:
    server.write_keys({provider: [key]})
    response = server.chat(provider, key)
    wrong = server.chat(
        provider,
        _key(
            *{"groq": ("gsk_", "wrong", 56), "gemini": ("AQ.Ab", "wrong", 53), "mistral": ("", "wrong", 32)}[provider]
        ),
    )
    assert response.status_code == wrong.status_code and response.status_code in (400, 401)
    assert response.json() == wrong.json()
    assert server.get(provider, "/models", key=key).status_code == response.status_code


def test_key_format_check_can_be_turned_off_per_provider(server: ProviderServer) -> None:
    legacy = _key("AIza", "legacyStandardKey", 39)
    server.write_keys({"gemini": [legacy], "groq": ["gsk_short"]})
    server.write_knobs({"strict": {"gemini": {"keys": False}}})
    assert server.chat("gemini", legacy).status_code == 200
    assert server.chat("groq", "gsk_short").status_code == 401
    server.write_knobs({"strict": {"groq": False}})
    assert server.chat("groq", "gsk_short", "llama-3.3-70b-versatile").status_code == 200


@pytest.mark.parametrize("provider", ["groq", "gemini", "mistral"])
def test_sandbox_demo_keys_have_the_provider_format(provider: str) -> None:
    key = seed.DEMO_PROVIDER_KEYS[provider]
    assert catalog.key_has_provider_format(provider, key)
    assert catalog.KEY_FORMAT[provider].fullmatch(key)
    # Random-looking, so the collection's placeholder check does not refuse them.
    assert len(set(key)) > 15


def test_sandbox_vault_carries_the_demo_keys() -> None:
    vault = REPO_ROOT / "inventory" / "sandbox" / "group_vars" / "all" / "vault.yml"
    password = REPO_ROOT / "inventory" / "sandbox" / "vault-password.txt"
    assert vault.read_text().startswith("$ANSIBLE_VAULT;")
    plain = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-vault"),
            "view",
            "--vault-password-file",
            str(password),
            str(vault),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    keys = yaml.safe_load(plain)["vault_litellm_api_keys"]
    assert keys == {
        "GROQ_API_KEY": seed.DEMO_PROVIDER_KEYS["groq"],
        "GEMINI_API_KEY": seed.DEMO_PROVIDER_KEYS["gemini"],
        "MISTRAL_API_KEY": seed.DEMO_PROVIDER_KEYS["mistral"],
    }


def test_openai_masks_the_rejected_key(server: ProviderServer) -> None:
    response = server.chat("openai", "sk-wrong-but-secret-9876")
    assert "secret" not in response.text and "****9876" in response.text


@pytest.mark.parametrize("provider", ["vllm", "ollama"])
def test_local_providers_need_no_key(server: ProviderServer, provider: str) -> None:
    server.write_keys({})
    assert server.chat(provider).status_code == 200
    assert server.chat(provider, "anything").status_code == 200


ROTATED = {
    "groq": _key("gsk_", "rotated2", 56),
    "gemini": _key("AQ.Ab", "rotated2", 53),
    "mistral": _key("", "rotated2", 32),
    "openai": "sk-rotated-key-0002",
}


@pytest.mark.parametrize("provider", providers.KEYED_PROVIDERS)
def test_key_list_is_reread_on_every_request(server: ProviderServer, provider: str) -> None:
    assert server.chat(provider, KEYS[provider]).status_code == 200
    server.write_keys({provider: [ROTATED[provider]]})
    assert server.chat(provider, KEYS[provider]).status_code in (400, 401)
    assert server.chat(provider, ROTATED[provider]).status_code == 200
    (server.state_dir / providers.VALID_KEYS_FILE).unlink()
    assert server.chat(provider, ROTATED[provider]).status_code in (400, 401)


def test_gemini_auth_key_as_query_parameter_is_not_found(server: ProviderServer) -> None:
    url = providers.api_base(server.url, "gemini") + "/models/gemini-3.5-flash:generateContent"
    body = {"contents": [{"parts": [{"text": PROMPT}]}]}
    response = requests.post(url, params={"key": KEYS["gemini"]}, json=body, timeout=10)
    assert response.status_code == 404 and response.json()["error"]["status"] == "NOT_FOUND"
    assert server.log()[-1]["path"] == "/gemini/v1beta/models/gemini-3.5-flash:generateContent"
    server.write_knobs({"strict": {"gemini": {"keys": False}}})
    assert requests.post(url, params={"key": KEYS["gemini"]}, json=body, timeout=10).status_code == 200
