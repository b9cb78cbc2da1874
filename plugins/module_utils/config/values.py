# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: the values of a model entry LiteLLM would choke on.

Pure, no I/O. One rule per kind of value, shared by ``litellm_limits`` (``presets``), the provider
``api_base`` and every entry of ``litellm_parallel_models`` (``checks.check_models``), so the same
bad value gets the same message wherever it is given, before anything is written:

* limits (``rpm``, ``tpm``, ``itpm``, ``otpm``, ``rpd``): whole numbers >= 1; a string ("abc", or
  "1e9", which is how YAML reads an exponent without a dot), a float (1e9 from JSON), a bool, 0 or
  a negative number make LiteLLM's router fail or admit nothing;
* model names: printable ASCII. LiteLLM 1.108.7 sends the ``model_name`` back in the response
  header ``x-litellm-model-group`` (litellm/router.py, ``additional_headers["x-litellm-model-group"]
  = model_group``) and the deployment's ``litellm_params.model`` in ``x-litellm-model-name``
  (litellm/proxy/common_request_processing.py ``get_custom_headers``); Starlette 1.10.0 encodes
  every header value as Latin-1 (starlette/responses.py ``init_headers``: ``v.encode("latin-1")``),
  so an emoji makes every answer of that model a 500, and a control character (CR, LF) is no
  valid header value at all. Clients also name the model in URLs (``/v1/models/{model}``);
* ``api_base``: an absolute http(s) URL with a host (or an ``os.environ/NAME`` reference, which
  LiteLLM resolves), without credentials in it: the ConfigMap is readable by more people than a
  Secret is.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from .envvars import env_reference

PARAM_LIMIT_KEYS = ("rpm", "tpm", "itpm", "otpm")
"""The limits a model entry gives in its ``litellm_params`` (what LiteLLM's pre-call check enforces)."""


def limit_error(where, key, value):
    """The message for a limit value that is not a whole number >= 1 (None: it is fine, or null)."""
    if value is None or (not isinstance(value, bool) and isinstance(value, int) and value >= 1):
        return None
    return "%s: limit %s must be a whole number >= 1 (or null to drop it), not %r" % (where, key, value)


def _bad_characters(text):
    """The characters of ``text`` that are not printable ASCII, once each, in order."""
    return list(dict.fromkeys(char for char in text if not " " <= char <= "~"))


def _shown_characters(chars):
    return ", ".join("%r (U+%04X)" % (char, ord(char)) for char in chars[:5])


def model_name_error(where, field, name):
    """The message for a model name LiteLLM cannot put into a response header, or None."""
    if not isinstance(name, str):
        return None  # a missing or non-string name has its own message
    bad = _bad_characters(name)
    if bad:
        return (
            "%s: %s contains %s, which LiteLLM cannot send back: it puts the model name into a response header "
            "(x-litellm-model-group, x-litellm-model-name), and HTTP headers carry Latin-1 text without control "
            "characters (an emoji makes every answer a 500); use printable ASCII, e.g. letters, digits and "
            "- _ . : / @" % (where, field, _shown_characters(bad))
        )
    if name != name.strip():
        return "%s: %s %r starts or ends with a space; clients would have to send it exactly so; remove it" % (
            where,
            field,
            name,
        )
    return None


def api_base_error(where, value):
    """The message for an ``api_base`` that is no absolute http(s) URL LiteLLM can call, or None."""
    if value is None or env_reference(value) is not None:
        return None
    hint = "give an absolute http(s) URL, e.g. https://api.groq.com/openai/v1"
    if not isinstance(value, str):
        return "%s: api_base is a %s, not a URL; %s" % (where, type(value).__name__, hint)
    bad = _bad_characters(value)
    if bad or " " in value:
        return "%s: api_base %r contains %s; %s (percent-encode anything else)" % (
            where,
            value,
            _shown_characters(bad) if bad else "a space",
            hint,
        )
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - reading it raises ValueError for a port that is no number or out of range
    except ValueError as err:
        return "%s: api_base %r is not a valid URL (%s); %s" % (where, value, err, hint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "%s: api_base %r is not an http(s) URL with a host; %s" % (where, value, hint)
    if parts.username is not None or parts.password is not None:
        return (
            "%s: api_base holds credentials (user or password before the host; value not shown); a ConfigMap "
            "is no place for them: give the key as api_key: os.environ/NAME and the bare URL as api_base" % where
        )
    return None


def entry_value_errors(label, name, params):
    """Errors for the values of one model entry: its names, its limits and its ``api_base``."""
    errors = [model_name_error(label, "model_name", name)]
    if isinstance(params, Mapping):
        errors.append(model_name_error(label, "litellm_params.model", params.get("model")))
        for key in PARAM_LIMIT_KEYS:
            if key in params:
                errors.append(limit_error(label, key, params[key]))
        if "api_base" in params:
            errors.append(api_base_error(label, params["api_base"]))
    return [error for error in errors if error]
