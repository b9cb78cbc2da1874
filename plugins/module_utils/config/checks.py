# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: check the requested model entries and router settings.

Pure, no I/O: ``check_models`` refuses what LiteLLM 1.108.7 would crash on, silently ignore or send
to the wrong provider (near-miss keys, wildcards, literal secrets, os.environ/ references it would
not resolve) and warns about what it merely does not know; ``literal_credentials`` gives a module
the pasted secrets to mask. ``plan.plan_config`` runs these checks before it plans anything.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from .document import CRASH, yaml_type
from .envvars import env_reference, is_env_var_name, suggested_env_var_name
from .schema import (
    ALLOWED_LITELLM_PARAMS,
    CREDENTIAL_PARAMS,
    DEPLOYMENT_FALLBACK_PARAMS,
    ENTRY_KEYS,
    KNOWN_MISSPELLINGS,
    PROVIDER_KEY_ENV,
    ROUTER_CREDENTIAL_SETTINGS,
    ROUTER_SETTINGS_KEYS,
)
from .values import entry_value_errors


def _closest(word, candidates):
    """The known name ``word`` is most likely a slip of, or None."""
    if word in KNOWN_MISSPELLINGS and KNOWN_MISSPELLINGS[word] in candidates:
        return KNOWN_MISSPELLINGS[word]
    matches = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=NEAR_MISS_CUTOFF)
    return matches[0] if matches else None


def provider_of(model_string):
    """The provider prefix of a LiteLLM model string (``groq`` of ``groq/openai/gpt-oss-120b``), or ''."""
    return model_string.split("/", 1)[0] if isinstance(model_string, str) and "/" in model_string else ""


def _suggested_env_name(model_string, param):
    if param == "api_key":
        provider = provider_of(model_string)
        if provider in PROVIDER_KEY_ENV:
            return PROVIDER_KEY_ENV[provider]
        return suggested_env_var_name(provider or "PROVIDER") + "_API_KEY"
    return suggested_env_var_name(param)


def _env_reference_errors(where, value, secret=False):
    """Errors for an ``os.environ/`` reference with an invalid name. For a ``secret`` field the value is
    not shown: a key pasted after the prefix would otherwise end up in the logs."""
    name = env_reference(value)
    if name is None or is_env_var_name(name):
        return []
    shown = (
        "an invalid environment variable name (value not shown)"
        if secret
        else ("%r, which is not a valid environment variable name" % value)
    )
    return [
        "%s references %s; use letters, digits and underscores, not starting with a digit, e.g. "
        "os.environ/GROQ_API_KEY" % (where, shown)
    ]


def _nested_env_reference_errors(where, value):
    """LiteLLM resolves os.environ/ only in top-level litellm_params values (Router.set_model_list)."""
    errors = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            errors += _nested_env_reference_errors("%s.%s" % (where, key), item)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            errors += _nested_env_reference_errors("%s[%d]" % (where, index), item)
    elif env_reference(value) is not None:
        errors.append(
            "%s is %r, but LiteLLM resolves os.environ/ only in top-level litellm_params values, so it would "
            "send this text literally; move the value to a top-level litellm_params key" % (where, value)
        )
    return errors


def literal_credentials(models):
    """Every literal value of a credential field (``CREDENTIAL_PARAMS``) in model entries.

    A module adds them to its no_log values, so a key pasted into a model entry is masked in
    every output, also when the entry is refused. The part after ``os.environ/`` counts too when it
    is no valid variable name (a key pasted after the prefix).
    """
    values = set()
    for model in models if isinstance(models, (list, tuple)) else ():
        params = model.get("litellm_params") if isinstance(model, Mapping) else None
        if not isinstance(params, Mapping):
            continue
        for param in CREDENTIAL_PARAMS & set(params):
            value = params[param]
            if not isinstance(value, str) or not value:
                continue
            name = env_reference(value)
            if name is None:
                values.add(value)
            elif not is_env_var_name(name):
                values.add(name)
    return values


def _credential_errors(label, model_string, params):
    errors = []
    for param in sorted(CREDENTIAL_PARAMS & set(params)):
        value = params[param]
        if value is None or env_reference(value) is not None:
            continue
        # vertex_credentials may also name a mounted service-account file, which is no secret.
        if param == "vertex_credentials" and isinstance(value, str) and value.startswith("/"):
            continue
        errors.append(
            "%s: litellm_params.%s is written literally (value not shown); put the secret in the vault, let "
            "homelab.litellm store it in the Secret and write %s: os.environ/%s"
            % (label, param, param, _suggested_env_name(model_string, param))
        )
    return errors


def _wildcard_errors(label, name, model_string):
    errors = []
    for what, value in (("model_name", name), ("litellm_params.model", model_string)):
        if isinstance(value, str) and "*" in value:
            errors.append(
                "%s: %s %r is a wildcard; LiteLLM would send requests for any model name that matches it to this "
                "entry, with this entry's key, to whatever provider the requested name implies (a 'model: \"*\"' "
                "entry sent a request carrying GROQ_API_KEY to OpenAI); list each model explicitly"
                % (label, what, value)
            )
    return errors


def _litellm_params_errors(label, params, strict):
    """(errors, warnings) for one entry's litellm_params."""
    errors, warnings = [], []
    model_string = params.get("model")
    if not isinstance(model_string, str) or not model_string.strip():
        errors.append(
            "%s: litellm_params.model is missing; %s; set it to the LiteLLM model string, e.g. "
            "'groq/openai/gpt-oss-120b'" % (label, CRASH)
        )
    for key in params:
        key_text = str(key)
        if key_text in DEPLOYMENT_FALLBACK_PARAMS:
            errors.append(
                "%s: litellm_params.%s would give this parallel model its own fallbacks; remove it "
                "(parallel models never fall back)" % (label, key_text)
            )
        elif key_text not in ALLOWED_LITELLM_PARAMS:
            suggestion = _closest(key_text, ALLOWED_LITELLM_PARAMS)
            if suggestion:
                # A slip of a known key (rpm_limit for rpm) would silently not do what it says.
                errors.append(
                    "%s: litellm_params.%s is not a LiteLLM parameter; did you mean %r? LiteLLM would forward "
                    "it to the provider and not apply it" % (label, key_text, suggestion)
                )
            elif strict:
                errors.append(
                    "%s: litellm_params.%s is not a LiteLLM 1.108.7 parameter (strict: true refuses it); remove "
                    "it, or set strict: false if the provider or a newer LiteLLM takes it" % (label, key_text)
                )
            else:
                warnings.append(
                    "%s: litellm_params.%s is not a LiteLLM 1.108.7 parameter; LiteLLM forwards unknown keys to "
                    "the provider as they are (fine if the provider or a newer LiteLLM takes it)" % (label, key_text)
                )
    errors += _credential_errors(label, model_string, params)
    for key, value in params.items():
        errors += _env_reference_errors("%s: litellm_params.%s" % (label, key), value, key in CREDENTIAL_PARAMS)
        if isinstance(value, (Mapping, list, tuple)):
            errors += _nested_env_reference_errors("%s: litellm_params.%s" % (label, key), value)
    return errors, warnings


NEAR_MISS_CUTOFF = 0.75
"""How close (difflib ratio) an unknown key must be to a known one to count as a slip of it."""


def check_models(models, strict=False):
    """Check requested ``model_list`` entries: ``(errors, warnings)``, each a list of messages.

    Errors: each entry needs a string ``model_name`` and ``litellm_params.model``, no wildcard in
    either; names must be unique; a ``litellm_params`` key that is a near miss of a known LiteLLM
    1.108.7 parameter (``rpm_limit``) is refused, since it would silently not apply; secrets
    (``CREDENTIAL_PARAMS``) must be ``os.environ/NAME`` references with a valid NAME; a parallel
    model must not carry its own fallbacks; ``model_info.id``/``managed_by`` are reserved for the
    ownership marker. Warnings: keys LiteLLM 1.108.7 does not know and nothing known is close to
    (a newer LiteLLM or the provider may take them); with ``strict`` these are errors too.
    """
    if not isinstance(models, (list, tuple)):
        return [
            "models must be a list of model entries (model_name, litellm_params, model_info), not a %s"
            % yaml_type(models)
        ], []
    errors, warnings = [], []
    counts = {}
    for index, model in enumerate(models):
        label = "models[%d]" % index
        if not isinstance(model, Mapping):
            errors.append("%s is a %s; give a mapping with model_name and litellm_params" % (label, yaml_type(model)))
            continue
        name = model.get("model_name")
        if not isinstance(name, str) or not name.strip():
            errors.append(
                "%s: model_name is missing or not a string; set it to the name clients will request, e.g. "
                "'groq/openai/gpt-oss-120b'" % label
            )
        else:
            label = "model %r" % name
            counts[name] = counts.get(name, 0) + 1
        for key in model:
            if key not in ENTRY_KEYS:
                suggestion = _closest(str(key), ENTRY_KEYS)
                hint = "did you mean %r?" % suggestion if suggestion else "remove it"
                errors.append(
                    "%s: unknown key %r (an entry has model_name, litellm_params and model_info); %s"
                    % (label, key, hint)
                )
        params = model.get("litellm_params")
        if params is None:
            errors.append(
                "%s has no litellm_params; %s; add litellm_params with at least 'model: <provider>/<model>'"
                % (label, CRASH)
            )
        elif not isinstance(params, Mapping):
            errors.append(
                "%s: litellm_params is a %s; make it a mapping with at least 'model'" % (label, yaml_type(params))
            )
        else:
            entry_errors, entry_warnings = _litellm_params_errors(label, params, strict)
            errors += _wildcard_errors(label, name, params.get("model")) + entry_errors
            warnings += entry_warnings
        errors += entry_value_errors(label, name, params if isinstance(params, Mapping) else None)
        model_info = model.get("model_info")
        if model_info is not None and not isinstance(model_info, Mapping):
            errors.append("%s: model_info is a %s; make it a mapping or leave it out" % (label, yaml_type(model_info)))
        elif isinstance(model_info, Mapping):
            for reserved in ("id", "managed_by"):
                if reserved in model_info:
                    errors.append(
                        "%s: model_info.%s is written by homelab.litellm (it marks the entries this collection "
                        "owns); remove model_info.%s from the request" % (label, reserved, reserved)
                    )
    for name, count in counts.items():
        if count < 2:
            continue
        labels = [
            group_label(model) for model in models if isinstance(model, Mapping) and model.get("model_name") == name
        ]
        if None in labels:
            errors.append(
                "model_name %r is given %d times; LiteLLM would silently load-balance between the entries; keep one "
                "entry per model_name, or make them one model group on purpose by giving each its own "
                "model_info.deployment" % (name, count)
            )
        elif len(set(labels)) != len(labels):
            errors.append(
                "model %r: model_info.deployment must differ between the entries of the group (given: %s)"
                % (name, ", ".join(sorted(labels)))
            )
    return errors, warnings


def router_settings_errors(router_settings):
    if not isinstance(router_settings, Mapping):
        return ["router_settings must be a mapping of Router settings, not a %s" % yaml_type(router_settings)]
    errors = []
    for key, value in router_settings.items():
        if key not in ROUTER_SETTINGS_KEYS:
            suggestion = _closest(str(key), ROUTER_SETTINGS_KEYS)
            hint = "did you mean %r?" % suggestion if suggestion else "remove it"
            errors.append(
                "router_settings.%s is not a LiteLLM 1.108.7 Router setting and LiteLLM would ignore it; %s"
                % (key, hint)
            )
        if key in ROUTER_CREDENTIAL_SETTINGS and value is not None and env_reference(value) is None:
            errors.append(
                "router_settings.%s is written literally (value not shown); put it in the vault and write "
                "%s: os.environ/%s" % (key, key, key.upper())
            )
        errors += _env_reference_errors("router_settings.%s" % key, value, key in ROUTER_CREDENTIAL_SETTINGS)
    return errors


def group_label(entry):
    """The deployment label of an entry in a model group, or None for a lone model."""
    model_info = entry.get("model_info") if isinstance(entry, Mapping) else None
    label = model_info.get("deployment") if isinstance(model_info, Mapping) else None
    return str(label) if label is not None else None


def missing_api_key_warnings(models):
    warnings = []
    for model in models:
        params = model["litellm_params"]
        provider = provider_of(params.get("model"))
        if provider in PROVIDER_KEY_ENV and "api_key" not in params:
            hint = " (for gemini/ GOOGLE_API_KEY wins over GEMINI_API_KEY)" if provider == "gemini" else ""
            warnings.append(
                "model %r has no litellm_params.api_key, so LiteLLM picks the provider's default environment "
                "variable%s; write api_key: os.environ/%s to make the reference explicit"
                % (model["model_name"], hint, PROVIDER_KEY_ENV[provider])
            )
    return warnings
