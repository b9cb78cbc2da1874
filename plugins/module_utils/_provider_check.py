# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: ask each provider before LiteLLM is changed.

A key the provider rejects, or a model it does not serve (any more), must never reach LiteLLM: a
restart onto it costs failed client requests until a rollback. So before anything is written the
run asks the provider's own model list, with the key from the vault, for every provider whose key
or models it changes. Only the list endpoints are used: they cost no tokens and no request quota
that matters (Groq and Mistral count them as requests, Gemini does not count them).

The endpoints, as LiteLLM 1.108.7 builds its own URLs from ``api_base`` (litellm/main.py,
llms/mistral/chat/transformation.py, llms/vertex_ai/vertex_llm_base.py ``_check_custom_proxy``):

* groq/: ``{api_base or https://api.groq.com/openai/v1}/models``, ``Authorization: Bearer``;
* mistral/: ``{api_base (+ /v1 if it does not end so) or https://api.mistral.ai/v1}/models``,
  ``Authorization: Bearer``;
* gemini/: ``{api_base or https://generativelanguage.googleapis.com/v1beta}/models``, key in
  ``x-goog-api-key``, paged with ``pageSize``/``pageToken``/``nextPageToken``.

``plan_checks`` and ``judge`` are pure; ``run_checks`` does the HTTP, providers in parallel.
"""

from __future__ import annotations

import difflib
import json
import threading
import time
from collections import namedtuple
from urllib.parse import urlencode

from ._secret_plan import scrub
from .config.lifecycle import MODEL_LIFECYCLE, lifecycle_message

MODES = ("auto", "required", "off")
GEMINI_PAGE_SIZE = 1000
MAX_PAGES = 20

Provider = namedtuple("Provider", "label default_base auth")
PROVIDERS = {
    "groq": Provider("Groq", "https://api.groq.com/openai/v1", "bearer"),
    "mistral": Provider("Mistral", "https://api.mistral.ai/v1", "bearer"),
    "gemini": Provider("Google AI Studio", "https://generativelanguage.googleapis.com/v1beta", "goog"),
}

Check = namedtuple("Check", "provider base variable models")
Check.__doc__ = """One model-list request: ``provider`` prefix, the list's ``base`` URL, the ``variable``
holding the key, and the LiteLLM model strings (``groq/openai/gpt-oss-120b``) to find in the list."""

Outcome = namedtuple("Outcome", "check status http_status served error seconds")
Outcome.__doc__ = """What a provider answered: ``status`` ok, rejected (the key), unreachable (no answer,
a timeout, 5xx, 429); ``served`` the model ids listed; ``error`` the provider's message (scrubbed)."""

OK, REJECTED, UNREACHABLE = "ok", "rejected", "unreachable"


def list_base(provider, api_base):
    """The base URL the provider's model list hangs under, as LiteLLM would build it."""
    base = (api_base or PROVIDERS[provider].default_base).rstrip("/")
    if provider == "mistral" and api_base and not base.endswith("/v1"):
        base += "/v1"
    return base


def plan_checks(entries, names, key_variables):
    """The Checks for the model entries named in ``names``: one per provider, base URL and key.

    Entries of unknown providers, or without an ``os.environ/`` api_key among ``key_variables``,
    are left out (returned second, as model names).
    """
    groups, skipped = {}, []
    for entry in entries:
        if entry.get("model_name") not in names:
            continue
        params = entry.get("litellm_params") or {}
        model = params.get("model") or ""
        provider = model.split("/", 1)[0] if "/" in model else ""
        api_key = params.get("api_key")
        variable = (
            api_key[len("os.environ/") :] if isinstance(api_key, str) and api_key.startswith("os.environ/") else None
        )
        if provider not in PROVIDERS or variable not in key_variables:
            skipped.append(entry["model_name"])
            continue
        key = (provider, list_base(provider, params.get("api_base")), variable)
        groups.setdefault(key, []).append(model)
    checks = [
        Check(provider, base, variable, tuple(sorted(set(models))))
        for (provider, base, variable), models in sorted(groups.items())
    ]
    return checks, sorted(set(skipped))


def request_for(check, key, page_token=None):
    """(url, headers) of one list request."""
    headers = {"Accept": "application/json"}
    url = check.base + "/models"
    if PROVIDERS[check.provider].auth == "goog":
        headers["x-goog-api-key"] = key
        query = {"pageSize": GEMINI_PAGE_SIZE}
        if page_token:
            query["pageToken"] = page_token
        url += "?" + urlencode(query)
    else:
        headers["Authorization"] = "Bearer " + key
    return url, headers


def listed_models(provider, body):
    """(model ids, next page token) of a 200 list answer; ids without ``models/`` for Gemini."""
    data = json.loads(body or b"{}")
    if provider == "gemini":
        ids = [
            str(item.get("name", "")).split("/", 1)[-1] for item in data.get("models") or [] if isinstance(item, dict)
        ]
        return ids, data.get("nextPageToken") or None
    return [str(item.get("id")) for item in data.get("data") or [] if isinstance(item, dict)], None


def provider_message(body):
    """The message a provider put in its error body (OpenAI, Google or Mistral shape), or ''."""
    try:
        data = json.loads(body or b"null")
    except ValueError:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
        return " ".join(text.split())[:200]
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
        for field in ("message", "detail"):
            if isinstance(data.get(field), str):
                return data[field]
    return ""


def _replacement(model):
    fact = MODEL_LIFECYCLE.get(model)
    return (fact, fact.get("replacement")) if fact else (None, None)


def judge(outcomes, mode, secrets=()):
    """(errors, warnings, results) of the outcomes under ``mode`` (auto or required).

    A rejected key or a model missing from a list the provider answered is an error in every mode;
    an unanswered provider is a warning in auto mode and an error in required mode.
    """
    errors, warnings, results = [], [], []
    for outcome in outcomes:
        check = outcome.check
        label = PROVIDERS[check.provider].label
        said = scrub(outcome.error or "", secrets)
        entry = {
            "provider": check.provider,
            "variable": check.variable,
            "url": check.base + "/models",
            "status": outcome.status,
            "http_status": outcome.http_status,
            "models": list(check.models),
            "missing": [],
            "seconds": round(outcome.seconds, 3),
        }
        if outcome.status == REJECTED:
            errors.append(
                "%s rejected the key in %s (HTTP %s: %s); put the right key in the vault"
                % (label, check.variable, outcome.http_status, said or "no message")
            )
        elif outcome.status == UNREACHABLE:
            text = "%s could not be asked about %s (%s)" % (label, ", ".join(check.models), said or "no answer")
            if mode == "required":
                errors.append(text + "; litellm_provider_check: required stops here")
            else:
                warnings.append(
                    text + "; going on without the check (litellm_provider_check: auto): the smoke "
                    "request after the rollout is the remaining safety net"
                )
        else:
            served = set(outcome.served)
            for model in check.models:
                model_id = model.split("/", 1)[1]
                if model_id in served:
                    continue
                entry["missing"].append(model)
                fact, replacement = _replacement(model)
                if fact:
                    why = "%s (source: %s, read %s)" % (lifecycle_message(model, fact), fact["source"], fact["read"])
                else:
                    close = difflib.get_close_matches(model_id, sorted(served), n=3, cutoff=0.5)
                    why = "it is not among the %d models %s lists for this key%s" % (
                        len(served),
                        label,
                        "; close: %s" % ", ".join(close) if close else "",
                    )
                errors.append("%s does not serve %s: %s" % (label, model, why))
        results.append(entry)
    return errors, warnings, results


def _fetch_list(check, key, fetch, timeout):
    """Ask one provider (following Gemini's pages); an Outcome."""
    started = time.monotonic()
    served, token = [], None
    for _page in range(MAX_PAGES):
        url, headers = request_for(check, key, token)
        try:
            status, body = fetch(url, headers, timeout)
        except Exception as exc:
            return Outcome(
                check, UNREACHABLE, None, [], "%s: %s" % (type(exc).__name__, exc), time.monotonic() - started
            )
        if status in (401, 403) or (status == 400 and check.provider == "gemini" and b"API_KEY" in (body or b"")):
            return Outcome(check, REJECTED, status, [], provider_message(body), time.monotonic() - started)
        if status != 200:
            return Outcome(
                check,
                UNREACHABLE,
                status,
                [],
                "HTTP %s: %s" % (status, provider_message(body)),
                time.monotonic() - started,
            )
        try:
            ids, token = listed_models(check.provider, body)
        except ValueError:
            return Outcome(
                check,
                UNREACHABLE,
                status,
                [],
                "the answer is not the provider's model list",
                time.monotonic() - started,
            )
        served += ids
        if not token:
            break
    return Outcome(check, OK, 200, served, None, time.monotonic() - started)


def run_checks(checks, keys, fetch, timeout=5.0):
    """Ask every provider at once (one thread each); the Outcomes in the order of ``checks``."""
    outcomes = [None] * len(checks)

    def ask(index, check):
        outcomes[index] = _fetch_list(check, keys[check.variable], fetch, timeout)

    threads = [threading.Thread(target=ask, args=(index, check), daemon=True) for index, check in enumerate(checks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout * MAX_PAGES + 1)
    return [
        outcome or Outcome(check, UNREACHABLE, None, [], "no answer in time", timeout)
        for outcome, check in zip(outcomes, checks)
    ]
