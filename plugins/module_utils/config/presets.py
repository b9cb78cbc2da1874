# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: provider presets -> LiteLLM model entries.

A preset is data (the role's ``litellm_provider_presets``)::

    groq:
      prefix: groq/              # LiteLLM's provider prefix
      env_var: GROQ_API_KEY      # the Secret key LiteLLM reads the API key from
      limits: {rpm: 30, tpm: 12000, rpd: 1000}     # provider default (free tier)
      models:
        - id: llama-3.3-70b-versatile
          limits: {rpm: 30, tpm: 12000, rpd: 1000} # per model, wins over the provider's

``rpm``, ``tpm`` (and ``itpm``/``otpm`` where a provider publishes input and output
tokens apart) become ``litellm_params``, which LiteLLM's ``enforce_model_rate_limits``
check enforces (``rate_limits``). ``rpd`` has no LiteLLM equivalent: it is kept in
``model_info.free_tier_rpd`` for the operator to read; the provider enforces it.
"""

from __future__ import annotations

import difflib

from .envvars import is_env_var_name
from .values import api_base_error, limit_error

LITELLM_LIMIT_KEYS = ("rpm", "tpm", "itpm", "otpm")
KNOWN_LIMITS = LITELLM_LIMIT_KEYS + ("rpd",)


class PresetError(ValueError):
    """A preset or an override that cannot produce a valid model entry."""


def plain_copy(value):
    """A copy of nested mappings and lists as plain dicts and lists.

    Not ``copy.deepcopy``: Ansible 2.19 hands a filter its variables as lazy containers, and their
    ``__deepcopy__`` copies the templar with every variable of the play, once per container; with the
    entries of ``litellm_parallel_models`` among those variables that is quadratic (measured: 100
    entries 7 s per templating, 500 several minutes).
    """
    if isinstance(value, dict):
        return {key: plain_copy(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_copy(item) for item in value]
    return value


def _limits(where, preset, model, overrides):
    limits = dict(preset.get("limits") or {})
    limits.update(model.get("limits") or {})
    limits.update(overrides or {})
    for key, value in limits.items():
        if key not in KNOWN_LIMITS:
            raise PresetError("%s: unknown limit %r (known: %s)" % (where, key, ", ".join(KNOWN_LIMITS)))
        error = limit_error(where, key, value)
        if error:
            raise PresetError(error)
    return {k: v for k, v in limits.items() if v is not None}


def _api_base_for(entry, prefixes, api_base):
    """``entry`` with its provider's ``api_base`` when it has none of its own (the provider known by the
    prefix of its ``litellm_params.model``); a copy only when something is added."""
    params = entry.get("litellm_params")
    model = params.get("model") if isinstance(params, dict) else None
    if not isinstance(model, str) or params.get("api_base") is not None:
        return entry
    for provider, prefix in prefixes:
        if api_base.get(provider) and model.startswith(prefix):
            return dict(entry, litellm_params=dict(params, api_base=api_base[provider]))
    return entry


def _excluded(presets, exclude):
    """The names of ``exclude`` as a set; raises PresetError for one no preset defines (a typo)."""
    if isinstance(exclude, (str, bytes)) or not isinstance(exclude, (list, tuple)):
        raise PresetError("litellm_exclude_models must be a list of preset model names, not %r" % (exclude,))
    known = {
        preset["prefix"] + model["id"]
        for preset in presets.values()
        if isinstance(preset, dict) and preset.get("prefix")
        for model in preset.get("models") or ()
        if isinstance(model, dict) and "id" in model
    }
    for name in exclude:
        if name not in known:
            close = difflib.get_close_matches(str(name), sorted(known), n=1, cutoff=0.6)
            raise PresetError(
                "litellm_exclude_models: %r is no preset model%s; preset models are named <prefix><id>, "
                "e.g. groq/openai/gpt-oss-20b" % (name, " (did you mean %r?)" % close[0] if close else "")
            )
    return set(exclude)


def preset_models(presets, providers, api_base=None, limits=None, extra_models=(), exclude=()):
    """LiteLLM-native ``model_list`` entries for the enabled providers, then ``extra_models``.

    ``api_base`` maps a provider name to an ``api_base`` for all its models: the preset ones and
    every extra entry whose ``litellm_params.model`` starts with the provider's prefix and gives no
    ``api_base`` of its own (a gateway, or the sandbox's fake providers). ``limits`` maps a provider
    name or a model name to limit overrides. ``exclude`` names preset models to leave out. An entry
    of ``extra_models`` with the ``model_name`` of a preset model replaces it in place; other extra
    entries are appended in order.
    """
    api_base = api_base or {}
    limits = limits or {}
    if isinstance(providers, (str, bytes)) or not isinstance(providers, (list, tuple)):
        raise PresetError(
            "litellm_providers must be a list of provider names, e.g. [groq, gemini] (got %r)" % (providers,)
        )
    if not isinstance(presets, dict):
        raise PresetError("litellm_provider_presets must be a mapping of provider name to preset")
    unknown = sorted(set(providers) - set(presets))
    if unknown:
        raise PresetError(
            "litellm_providers: no preset for %s (known: %s); add one to "
            "litellm_provider_presets or list its models in litellm_parallel_models"
            % (", ".join(unknown), ", ".join(sorted(presets)))
        )
    unknown_bases = sorted(set(api_base) - set(presets))
    if unknown_bases:
        raise PresetError(
            "litellm_provider_api_base: unknown provider %s (known: %s)"
            % (", ".join(unknown_bases), ", ".join(sorted(presets)))
        )
    for provider in sorted(api_base):
        error = api_base_error("litellm_provider_api_base.%s" % provider, api_base[provider] or None)
        if error:
            raise PresetError(error)
    excluded = _excluded(presets, exclude or [])
    entries = []
    for provider in providers:
        preset = presets[provider]
        for field in ("prefix", "env_var", "models"):
            if not preset.get(field):
                raise PresetError("litellm_provider_presets.%s.%s is required" % (provider, field))
        if not is_env_var_name(preset["env_var"]):
            raise PresetError(
                "litellm_provider_presets.%s.env_var %r is not a valid environment variable name "
                "([A-Za-z_][A-Za-z0-9_]*)" % (provider, preset["env_var"])
            )
        for model in preset["models"]:
            name = preset["prefix"] + model["id"]
            if name in excluded:
                continue
            model_limits = _limits(
                "model %s" % name, preset, model, dict(limits.get(provider) or {}, **(limits.get(name) or {}))
            )
            params = {"model": name, "api_key": "os.environ/" + preset["env_var"]}
            if api_base.get(provider):
                params["api_base"] = api_base[provider]
            params.update({k: model_limits[k] for k in LITELLM_LIMIT_KEYS if k in model_limits})
            entry = {"model_name": name, "litellm_params": params}
            if "rpd" in model_limits:
                entry["model_info"] = {"free_tier_rpd": model_limits["rpd"]}
            entries.append(entry)
    prefixes = [
        (provider, preset["prefix"])
        for provider, preset in sorted(presets.items())
        if provider in api_base and isinstance(preset, dict) and isinstance(preset.get("prefix"), str)
    ]
    by_name = {entry["model_name"]: index for index, entry in enumerate(entries)}
    for extra in extra_models:
        if not isinstance(extra, dict) or "model_name" not in extra:
            raise PresetError(
                "litellm_parallel_models: every entry needs a model_name (got %r)"
                % (extra if not isinstance(extra, dict) else sorted(extra))
            )
        entry = _api_base_for(plain_copy(extra), prefixes, api_base)
        if extra["model_name"] in by_name:
            entries[by_name[extra["model_name"]]] = entry
        else:
            by_name[extra["model_name"]] = len(entries)
            entries.append(entry)
    return entries
