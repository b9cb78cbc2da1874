# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/_provider_check.py: ask each provider before LiteLLM is changed.

The error bodies are the shapes PROVIDERS.md documents for each provider (OpenAI-style for Groq,
Google's for Gemini, Mistral's ``detail``/``message``).
"""

from __future__ import annotations

import json
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _provider_check as pc

GROQ_KEY = "gsk_" + "k" * 48
GEMINI_KEY = "AIza" + "g" * 35
MISTRAL_KEY = "M" * 32
KEYS = {"GROQ_API_KEY": GROQ_KEY, "GEMINI_API_KEY": GEMINI_KEY, "MISTRAL_API_KEY": MISTRAL_KEY}


def entry(name, model=None, variable="GROQ_API_KEY", **params):
    return {
        "model_name": name,
        "litellm_params": dict({"model": model or name, "api_key": "os.environ/" + variable}, **params),
    }


def check(provider="groq", models=("groq/openai/gpt-oss-120b",), variable="GROQ_API_KEY", base=None):
    return pc.Check(provider, base or pc.PROVIDERS[provider].default_base, variable, tuple(models))


def openai_list(*ids):
    return json.dumps({"object": "list", "data": [{"id": model_id, "object": "model"} for model_id in ids]}).encode()


def gemini_list(*ids, token=None):
    body = {"models": [{"name": "models/" + model_id} for model_id in ids]}
    if token:
        body["nextPageToken"] = token
    return json.dumps(body).encode()


# -- URLs ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "provider, api_base, base",
    [
        ("groq", None, "https://api.groq.com/openai/v1"),
        ("groq", "https://proxy.example/openai/v1/", "https://proxy.example/openai/v1"),
        ("mistral", None, "https://api.mistral.ai/v1"),
        ("mistral", "https://eu.mistral.example", "https://eu.mistral.example/v1"),
        ("mistral", "https://eu.mistral.example/", "https://eu.mistral.example/v1"),
        ("mistral", "https://eu.mistral.example/v1", "https://eu.mistral.example/v1"),
        ("gemini", None, "https://generativelanguage.googleapis.com/v1beta"),
        ("gemini", "http://fake:8080/v1beta", "http://fake:8080/v1beta"),
    ],
)
def test_list_base(provider, api_base, base):
    assert pc.list_base(provider, api_base) == base


# -- which checks ----------------------------------------------------------------------------------


def test_plan_checks_groups_per_provider_base_and_key():
    entries = [
        entry("groq/openai/gpt-oss-120b"),
        entry("fast", "groq/openai/gpt-oss-20b"),
        entry("groq-b", "groq/openai/gpt-oss-20b", "GROQ_API_KEY_B"),
        entry("groq-eu", "groq/openai/gpt-oss-20b", api_base="https://eu.groq.example/openai/v1"),
        entry("gemini/gemini-3.5-flash", variable="GEMINI_API_KEY"),
        entry("mistral/mistral-small-latest", variable="MISTRAL_API_KEY"),
    ]
    names = {e["model_name"] for e in entries}
    checks, skipped = pc.plan_checks(entries, names, set(KEYS) | {"GROQ_API_KEY_B"})
    assert skipped == []
    assert checks == [
        pc.Check(
            "gemini", "https://generativelanguage.googleapis.com/v1beta", "GEMINI_API_KEY", ("gemini/gemini-3.5-flash",)
        ),
        pc.Check(
            "groq",
            "https://api.groq.com/openai/v1",
            "GROQ_API_KEY",
            ("groq/openai/gpt-oss-120b", "groq/openai/gpt-oss-20b"),
        ),
        pc.Check("groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY_B", ("groq/openai/gpt-oss-20b",)),
        pc.Check("groq", "https://eu.groq.example/openai/v1", "GROQ_API_KEY", ("groq/openai/gpt-oss-20b",)),
        pc.Check("mistral", "https://api.mistral.ai/v1", "MISTRAL_API_KEY", ("mistral/mistral-small-latest",)),
    ]


def test_plan_checks_skips_what_it_cannot_ask():
    entries = [
        entry("openai-gpt4o", "openai/gpt-4o", "OPENAI_API_KEY"),
        {"model_name": "literal", "litellm_params": {"model": "groq/x", "api_key": "gsk_literal"}},
        {"model_name": "implicit", "litellm_params": {"model": "groq/x"}},
        entry("no-key-given", "groq/y", "UNKNOWN_VARIABLE"),
        {"model_name": "no-prefix", "litellm_params": {"model": "gpt-4o", "api_key": "os.environ/GROQ_API_KEY"}},
        entry("not-requested", "groq/z"),
        {"model_name": "broken", "litellm_params": None},
    ]
    names = {e["model_name"] for e in entries} - {"not-requested"}
    checks, skipped = pc.plan_checks(entries, names, set(KEYS) | {"OPENAI_API_KEY"})
    assert checks == []
    assert skipped == ["broken", "implicit", "literal", "no-key-given", "no-prefix", "openai-gpt4o"]


def test_plan_checks_of_nothing():
    assert pc.plan_checks([entry("groq/x")], set(), set(KEYS)) == ([], [])


# -- requests --------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider, variable", [("groq", "GROQ_API_KEY"), ("mistral", "MISTRAL_API_KEY")])
def test_request_for_a_bearer_provider(provider, variable):
    url, headers = pc.request_for(check(provider, variable=variable), KEYS[variable])
    assert url == pc.PROVIDERS[provider].default_base + "/models"
    assert headers == {"Accept": "application/json", "Authorization": "Bearer " + KEYS[variable]}


def test_request_for_gemini_puts_the_key_in_a_header_and_pages():
    url, headers = pc.request_for(check("gemini", variable="GEMINI_API_KEY"), GEMINI_KEY, page_token="next/1")
    parts = urlsplit(url)
    assert parts.path == "/v1beta/models"
    assert parse_qs(parts.query) == {"pageSize": ["1000"], "pageToken": ["next/1"]}
    assert headers == {"Accept": "application/json", "x-goog-api-key": GEMINI_KEY}
    assert "pageToken" not in pc.request_for(check("gemini"), GEMINI_KEY)[0]


@pytest.mark.parametrize(
    "provider, variable", [("groq", "GROQ_API_KEY"), ("mistral", "MISTRAL_API_KEY"), ("gemini", "GEMINI_API_KEY")]
)
def test_the_key_is_never_in_the_url(provider, variable):
    """Gemini accepts ?key= as well; a URL ends up in logs and results, so the header is used for every provider."""
    url, _headers = pc.request_for(check(provider, variable=variable), KEYS[variable], page_token="t")
    assert KEYS[variable] not in url and "key=" not in url


# -- answers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "provider, body, listed",
    [
        (
            "groq",
            openai_list("openai/gpt-oss-120b", "openai/gpt-oss-20b"),
            (["openai/gpt-oss-120b", "openai/gpt-oss-20b"], None),
        ),
        (
            "mistral",
            b'{"object": "list", "data": [{"id": "mistral-small-latest"}, "junk", {"name": "x"}]}',
            (["mistral-small-latest", "None"], None),
        ),
        ("groq", b"", ([], None)),
        ("groq", b'{"data": null}', ([], None)),
        (
            "gemini",
            gemini_list("gemini-3.5-flash", "embedding-001", token="p2"),
            (["gemini-3.5-flash", "embedding-001"], "p2"),
        ),
        ("gemini", gemini_list("gemini-3.8-flash"), (["gemini-3.8-flash"], None)),
        ("gemini", b'{"models": [{"name": "no-prefix"}, 7], "nextPageToken": ""}', (["no-prefix"], None)),
    ],
)
def test_listed_models(provider, body, listed):
    assert pc.listed_models(provider, body) == listed


def test_listed_models_of_a_body_that_is_not_json():
    with pytest.raises(ValueError):
        pc.listed_models("groq", b"<html>captive portal</html>")


@pytest.mark.parametrize(
    "body, message",
    [
        (
            b'{"error": {"message": "Invalid API Key", "type": "invalid_request_error", "code": "invalid_api_key"}}',
            "Invalid API Key",
        ),
        (
            b'{"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": '
            b'"INVALID_ARGUMENT", "details": [{"reason": "API_KEY_INVALID"}]}}',
            "API key not valid. Please pass a valid API key.",
        ),
        (b'{"detail": "Unauthorized"}', "Unauthorized"),
        (b'{"message": "Unauthorized", "request_id": "abc"}', "Unauthorized"),
        (b'{"error": "model_not_found"}', "model_not_found"),
        (b'{"error": {"code": 500}}', ""),
        (b'["a"]', ""),
        (b"null", ""),
        (b"", ""),
        (None, ""),
        (b"<html>\n  <body>502   Bad Gateway</body>\n</html>", "<html> <body>502 Bad Gateway</body> </html>"),
        (b"x" * 500, "x" * 200),
    ],
)
def test_provider_message(body, message):
    assert pc.provider_message(body) == message


# -- judging ---------------------------------------------------------------------------------------


def outcome_of(status, served=(), http_status=200, error=None, the_check=None):
    return pc.Outcome(
        the_check or check(models=("groq/openai/gpt-oss-120b", "groq/openai/gpt-oss-20b")),
        status,
        http_status,
        list(served),
        error,
        0.12345,
    )


@pytest.mark.parametrize("mode", ["auto", "required"])
def test_a_rejected_key_is_an_error_in_every_mode(mode):
    errors, warnings, results = pc.judge([outcome_of(pc.REJECTED, http_status=401, error="Invalid API Key")], mode)
    assert errors == [
        "Groq rejected the key in GROQ_API_KEY (HTTP 401: Invalid API Key); put the right key in the vault"
    ]
    assert warnings == []
    assert results[0]["status"] == pc.REJECTED


def test_an_unreachable_provider_warns_in_auto_and_stops_in_required():
    unreachable = outcome_of(pc.UNREACHABLE, http_status=None, error="URLError: timed out")
    errors, warnings, _results = pc.judge([unreachable], "auto")
    assert errors == []
    assert warnings == [
        "Groq could not be asked about groq/openai/gpt-oss-120b, groq/openai/gpt-oss-20b (URLError: "
        "timed out); going on without the check (litellm_provider_check: auto): the smoke request "
        "after the rollout is the remaining safety net"
    ]
    errors, warnings, _results = pc.judge([unreachable], "required")
    assert warnings == []
    assert errors == [
        "Groq could not be asked about groq/openai/gpt-oss-120b, groq/openai/gpt-oss-20b (URLError: "
        "timed out); litellm_provider_check: required stops here"
    ]


def test_every_model_served_is_no_error():
    errors, warnings, results = pc.judge(
        [outcome_of(pc.OK, ["openai/gpt-oss-120b", "openai/gpt-oss-20b", "x"])], "auto"
    )
    assert (errors, warnings) == ([], [])
    assert results == [
        {
            "provider": "groq",
            "variable": "GROQ_API_KEY",
            "url": "https://api.groq.com/openai/v1/models",
            "status": "ok",
            "http_status": 200,
            "models": ["groq/openai/gpt-oss-120b", "groq/openai/gpt-oss-20b"],
            "missing": [],
            "seconds": 0.123,
        }
    ]


def test_a_missing_model_names_the_lifecycle_replacement():
    gone = check(models=("groq/llama-3.3-70b-versatile",))
    errors, _warnings, results = pc.judge([outcome_of(pc.OK, ["openai/gpt-oss-120b"], the_check=gone)], "auto")
    assert results[0]["missing"] == ["groq/llama-3.3-70b-versatile"]
    assert len(errors) == 1
    assert errors[0].startswith(
        "Groq does not serve groq/llama-3.3-70b-versatile: groq/llama-3.3-70b-versatile was "
        "shut down by Groq on 2026-08-16"
    )
    assert "use groq/openai/gpt-oss-120b instead (source: https://console.groq.com/docs/deprecations" in errors[0]
    assert errors[0].endswith("read 2026-12-01)")


def test_a_missing_unknown_model_names_close_ones():
    errors, _warnings, _results = pc.judge(
        [
            outcome_of(
                pc.OK, ["openai/gpt-oss-120b", "qwen/qwen3.8-27b"], the_check=check(models=("groq/openai/gpt-oss-12b",))
            )
        ],
        "auto",
    )
    assert errors == [
        "Groq does not serve groq/openai/gpt-oss-12b: it is not among the 2 models Groq lists for this "
        "key; close: openai/gpt-oss-120b"
    ]


def test_a_missing_model_without_close_ones():
    errors, _warnings, _results = pc.judge([outcome_of(pc.OK, [], the_check=check(models=("groq/zzz",)))], "auto")
    assert errors == ["Groq does not serve groq/zzz: it is not among the 0 models Groq lists for this key"]


def test_key_values_are_scrubbed_from_every_message():
    echoed = outcome_of(pc.REJECTED, http_status=401, error="Invalid API Key " + GROQ_KEY)
    unreachable = outcome_of(pc.UNREACHABLE, http_status=None, error="ConnectionError: https://x/?key=" + GEMINI_KEY)
    errors, warnings, results = pc.judge([echoed, unreachable], "auto", secrets={GROQ_KEY, GEMINI_KEY})
    text = json.dumps([errors, warnings, results])
    assert GROQ_KEY not in text and GEMINI_KEY not in text
    assert "Invalid API Key ***" in errors[0] and "?key=***" in warnings[0]


def test_judge_labels_each_provider():
    outcomes = [
        pc.Outcome(check("gemini", ("gemini/x",), "GEMINI_API_KEY"), pc.REJECTED, 400, [], "", 0.0),
        pc.Outcome(check("mistral", ("mistral/x",), "MISTRAL_API_KEY"), pc.REJECTED, 401, [], "", 0.0),
    ]
    errors, _warnings, _results = pc.judge(outcomes, "auto")
    assert errors[0].startswith("Google AI Studio rejected the key in GEMINI_API_KEY (HTTP 400: no message)")
    assert errors[1].startswith("Mistral rejected the key in MISTRAL_API_KEY (HTTP 401")


# -- asking ----------------------------------------------------------------------------------------


class FakeFetch:
    """fetch(url, headers, timeout): answers per URL prefix, records every call."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []
        self.lock = threading.Lock()

    def __call__(self, url, headers, timeout):
        with self.lock:
            self.calls.append((url, dict(headers), timeout))
        for prefix, answer in self.answers.items():
            if url.startswith(prefix):
                return answer(url, headers) if callable(answer) else answer
        raise AssertionError("unexpected request to " + url)


GROQ_BASE = pc.PROVIDERS["groq"].default_base
GEMINI_BASE = pc.PROVIDERS["gemini"].default_base
MISTRAL_BASE = pc.PROVIDERS["mistral"].default_base


def test_run_checks_asks_every_provider_at_once():
    both_asking = threading.Barrier(2, timeout=2)

    def answer(body):
        def respond(_url, _headers):
            both_asking.wait()  # each answer waits for the other request: only parallel requests pass
            return 200, body

        return respond

    fetch = FakeFetch(
        {
            GROQ_BASE: answer(openai_list("openai/gpt-oss-120b")),
            MISTRAL_BASE: answer(openai_list("mistral-small-latest")),
        }
    )
    checks = [check(), check("mistral", ("mistral/mistral-small-latest",), "MISTRAL_API_KEY")]
    outcomes = pc.run_checks(checks, KEYS, fetch, timeout=2)
    assert [(o.check, o.status, o.served) for o in outcomes] == [
        (checks[0], pc.OK, ["openai/gpt-oss-120b"]),
        (checks[1], pc.OK, ["mistral-small-latest"]),
    ]
    assert sorted(headers["Authorization"] for _url, headers, _t in fetch.calls) == sorted(
        ["Bearer " + GROQ_KEY, "Bearer " + MISTRAL_KEY]
    )


def test_run_checks_follows_geminis_pages():
    def pages(url, _headers):
        token = parse_qs(urlsplit(url).query).get("pageToken")
        if not token:
            return 200, gemini_list("gemini-3.5-flash", token="p2")
        if token == ["p2"]:
            return 200, gemini_list("gemini-3.8-flash", token="p3")
        return 200, gemini_list("gemini-3.1-flash-lite")

    fetch = FakeFetch({GEMINI_BASE: pages})
    [outcome] = pc.run_checks([check("gemini", ("gemini/gemini-3.8-flash",), "GEMINI_API_KEY")], KEYS, fetch)
    assert outcome.status == pc.OK
    assert outcome.served == ["gemini-3.5-flash", "gemini-3.8-flash", "gemini-3.1-flash-lite"]
    assert len(fetch.calls) == 3 and all(h["x-goog-api-key"] == GEMINI_KEY for _u, h, _t in fetch.calls)


def test_run_checks_stops_after_max_pages():
    fetch = FakeFetch({GEMINI_BASE: (200, gemini_list("gemini-x", token="again"))})
    [outcome] = pc.run_checks([check("gemini", ("gemini/gemini-x",), "GEMINI_API_KEY")], KEYS, fetch)
    assert len(fetch.calls) == pc.MAX_PAGES and outcome.status == pc.OK


@pytest.mark.parametrize(
    "provider, status, body, result, error",
    [
        ("groq", 401, b'{"error": {"message": "Invalid API Key"}}', pc.REJECTED, "Invalid API Key"),
        ("mistral", 403, b'{"detail": "Forbidden"}', pc.REJECTED, "Forbidden"),
        (
            "gemini",
            400,
            b'{"error": {"code": 400, "message": "API key not valid.", "details": [{"reason": "API_KEY_INVALID"}]}}',
            pc.REJECTED,
            "API key not valid.",
        ),
        (
            "gemini",
            400,
            b'{"error": {"code": 400, "message": "pageSize too large"}}',
            pc.UNREACHABLE,
            "HTTP 400: pageSize too large",
        ),
        ("groq", 429, b'{"error": {"message": "Rate limit reached"}}', pc.UNREACHABLE, "HTTP 429: Rate limit reached"),
        ("groq", 503, b"upstream connect error", pc.UNREACHABLE, "HTTP 503: upstream connect error"),
        ("groq", 200, b"<html>captive portal</html>", pc.UNREACHABLE, "the answer is not the provider's model list"),
    ],
)
def test_run_checks_classifies_answers(provider, status, body, result, error):
    variable = {"groq": "GROQ_API_KEY", "mistral": "MISTRAL_API_KEY", "gemini": "GEMINI_API_KEY"}[provider]
    fetch = FakeFetch({pc.PROVIDERS[provider].default_base: (status, body)})
    [outcome] = pc.run_checks([check(provider, (provider + "/m",), variable)], KEYS, fetch)
    assert (outcome.status, outcome.http_status, outcome.error) == (result, status, error)
    assert outcome.served == []


def test_a_transport_exception_is_unreachable():
    def refuse(_url, _headers):
        raise ConnectionRefusedError("[Errno 111] Connection refused")

    [outcome] = pc.run_checks([check()], KEYS, FakeFetch({GROQ_BASE: refuse}))
    assert (outcome.status, outcome.http_status) == (pc.UNREACHABLE, None)
    assert outcome.error == "ConnectionRefusedError: [Errno 111] Connection refused"


def test_a_provider_that_never_answers_is_unreachable():
    release = threading.Event()

    def hang(_url, _headers):
        release.wait(5)
        return 200, openai_list()

    try:
        [outcome] = pc.run_checks([check()], KEYS, FakeFetch({GROQ_BASE: hang}), timeout=0.001)
    finally:
        release.set()
    assert (outcome.status, outcome.error) == (pc.UNREACHABLE, "no answer in time")


def test_run_checks_passes_the_timeout_and_keeps_the_order():
    fetch = FakeFetch({GROQ_BASE: (200, openai_list("a")), GEMINI_BASE: (200, gemini_list("b"))})
    checks = [check("gemini", ("gemini/b",), "GEMINI_API_KEY"), check(models=("groq/a",))]
    outcomes = pc.run_checks(checks, KEYS, fetch, timeout=3.5)
    assert [o.check.provider for o in outcomes] == ["gemini", "groq"]
    assert {timeout for _u, _h, timeout in fetch.calls} == {3.5}
