# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: validate and plan the merge of parallel models.

Nothing here does I/O or imports Ansible: a module reads the ConfigMap, calls ``plan_config`` and
writes ``plan.after`` back only when ``plan.changed``. Only the ``model_list`` entries this
collection owns (``_config_schema.is_managed``) are ever changed or removed; any result with a
fallback leak (``_fallbacks``) is refused.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field

from ._config_schema import (
    ALLOWED_LITELLM_PARAMS,
    CREDENTIAL_PARAMS,
    DEPLOYMENT_FALLBACK_PARAMS,
    ENTRY_KEYS,
    KNOWN_MISSPELLINGS,
    MANAGED_BY,
    PROVIDER_KEY_ENV,
    ROUTER_CREDENTIAL_SETTINGS,
    ROUTER_SETTINGS_KEYS,
    is_managed,
    model_id_for,
)
from ._config_yaml import (
    CRASH,
    CommentedMap,
    CommentedSeq,
    ConfigError,
    append_to_mapping,
    config_digest,
    config_size_errors,
    give_trailing_comment,
    guess_yaml_style,
    load_plain,
    load_plain_with_ends,
    parse_config,
    plain,
    read_back,
    remove_list_item,
    remove_mapping_key,
    render_config,
    replace_value,
    same,
    sync_mapping,
    take_trailing_comment,
    to_node,
    yaml_type,
)
from ._envvars import env_reference, is_env_var_name, referenced_env_vars, suggested_env_var_name
from ._fallbacks import find_fallback_leaks
from ._model_lifecycle import MODEL_LIFECYCLE


@dataclass(frozen=True)
class ConfigPlan:
    """What ``plan_config`` would do to config.yaml. Write ``after`` only when ``changed``.

    ``added``/``updated``/``removed``/``unchanged`` are sorted model names (for state=absent,
    ``unchanged`` lists the requested names that were not there); ``env_vars`` the variables the
    resulting config references as ``os.environ/NAME``; ``digest`` the sha256 of ``after``;
    ``model_names`` every model_name of the resulting config, ``managed_models`` those this
    collection owns.
    """

    changed: bool
    before: str
    after: str
    added: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    removed: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)
    env_vars: list = field(default_factory=list)
    digest: str = ""
    warnings: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    router_settings_changed: bool = False
    model_names: list = field(default_factory=list)
    managed_models: list = field(default_factory=list)
    entries: list = field(default_factory=list, repr=False)
    document: dict = field(default_factory=dict, repr=False)


def _desired_entry(model):
    name = model["model_name"]
    label = (model.get("model_info") or {}).get("deployment")
    # Each deployment needs its own id: LiteLLM counts rate limits per model_info.id, and silently
    # shares counters between deployments with one id.
    model_info = {"id": model_id_for(name if label is None else "%s#%s" % (name, label)), "managed_by": MANAGED_BY}
    model_info.update(plain(model.get("model_info") or {}))
    return {"model_name": name, "litellm_params": plain(model["litellm_params"]), "model_info": model_info}


# ---------------------------------------------------------------------------------------------
# Validation of the requested models
# ---------------------------------------------------------------------------------------------


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
            _group_label(model) for model in models if isinstance(model, Mapping) and model.get("model_name") == name
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


def _router_settings_errors(router_settings):
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


def lifecycle_message(model_string, fact):
    """What to tell about a model the lifecycle data knows, with the replacement."""
    date = fact["date"]
    when = ("on " if len(date) == 10 else "in ") + date
    scope = " for %s" % fact["scope"] if fact.get("scope") else ""
    if fact["status"] == "shut_down":
        return "%s was shut down by %s %s%s (it answers %s); use %s instead" % (
            model_string,
            fact["provider"],
            when,
            scope,
            fact["answer"],
            fact["replacement"],
        )
    if fact["status"] == "restricted":
        return "%s refuses %s on %s (%s, reported %s); use %s instead" % (
            fact["provider"],
            model_string,
            fact.get("scope", "some plans"),
            fact["answer"],
            date,
            fact["replacement"],
        )
    return "%s is deprecated by %s and shuts down %s; use %s instead" % (
        model_string,
        fact["provider"],
        when,
        fact["replacement"],
    )


def lifecycle_warnings(models, lifecycle=MODEL_LIFECYCLE):
    """Warnings for requested models whose ``litellm_params.model`` is shut down, restricted or deprecated."""
    warnings = []
    seen = set()
    for model in models:
        if not isinstance(model, Mapping) or not isinstance(model.get("litellm_params"), Mapping):
            continue
        model_string = model["litellm_params"].get("model")
        fact = lifecycle.get(model_string) if isinstance(model_string, str) else None
        if fact is None or model_string in seen:
            continue
        seen.add(model_string)
        name = model.get("model_name")
        prefix = "model %r: " % name if name != model_string else ""
        warnings.append(prefix + lifecycle_message(model_string, fact))
    return warnings


def left_over_warnings(entries, models, lifecycle=MODEL_LIFECYCLE):
    """Warnings for entries this collection added earlier that are no longer requested and whose model
    the lifecycle data knows (e.g. the story's models after an upgrade): they stay until removed."""
    requested = {model.get("model_name") for model in models if isinstance(model, Mapping)}
    warnings = []
    for entry in entries:
        params = entry.get("litellm_params")
        model_string = params.get("model") if isinstance(params, Mapping) else None
        fact = lifecycle.get(model_string) if isinstance(model_string, str) else None
        name = entry.get("model_name")
        if fact is None or name in requested or not is_managed(entry):
            continue
        warnings.append(
            "%s, added by an earlier run and no longer listed, is still in the config: %s. Remove it with "
            "litellm_remove_models: [%s] (or litellm_purge: true)" % (name, lifecycle_message(model_string, fact), name)
        )
    return warnings


def _missing_api_key_warnings(models):
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


# ---------------------------------------------------------------------------------------------
# Planning
# ---------------------------------------------------------------------------------------------

LIST_UNION_SETTINGS = frozenset(("optional_pre_call_checks",))
"""router_settings lists merged item by item (the operator's items stay), not replaced."""

MODEL_KEYED_SETTINGS = ("model_group_retry_policy",)
"""router_settings mappings keyed by model group; an owned model's entry goes when the model goes."""

LEGACY_ROUTING_STRATEGY = "usage-based-routing-v2"
"""What homelab.litellm 0.1.0 wrote to enforce rpm/tpm; native pre-call checks do it now."""


def _requested_names(names):
    """Model names to remove: strings or entries with a model_name; (names, errors)."""
    if not isinstance(names, (list, tuple)):
        return [], ["remove must be a list of model names, not a %s" % yaml_type(names)]
    found, errors = [], []
    for index, item in enumerate(names):
        name = item.get("model_name") if isinstance(item, Mapping) else item
        if not isinstance(name, str) or not name.strip():
            errors.append("remove[%d]: give a model_name (a string, or an entry with model_name)" % index)
        else:
            found.append(name)
    return list(dict.fromkeys(found)), errors


def _group_label(entry):
    """The deployment label of an entry in a model group, or None for a lone model."""
    model_info = entry.get("model_info") if isinstance(entry, Mapping) else None
    label = model_info.get("deployment") if isinstance(model_info, Mapping) else None
    return str(label) if label is not None else None


def _positions_by_name(model_list):
    positions = {}
    for index, entry in enumerate(model_list):
        positions.setdefault(entry["model_name"], []).append(index)
    return positions


def _ownership_errors(name, entries, verb):
    if any(not is_managed(entry) for entry in entries):
        return [
            "cannot %s model %r: model_list already has an entry with this model_name that homelab.litellm does "
            "not own (no model_info.managed_by: %s); the operator owns it, so choose another model_name or "
            "change that entry by hand" % (verb, name, MANAGED_BY)
        ]
    labels = [_group_label(entry) for entry in entries]
    if len(entries) > 1 and (None in labels or len(set(labels)) != len(labels)):
        return [
            "cannot %s model %r: model_list has %d entries with this model_name marked managed_by: %s that are "
            "not one model group (each with its own model_info.deployment); remove the extra ones by hand"
            % (verb, name, len(entries), MANAGED_BY)
        ]
    return []


def _append_entries(doc, entries):
    model_list = doc.get("model_list")
    if isinstance(model_list, CommentedSeq) and len(model_list):
        lines = take_trailing_comment(model_list)
        model_list.extend(to_node(entry) for entry in entries)
        give_trailing_comment(model_list, lines)
    elif "model_list" in doc:
        replace_value(doc, "model_list", entries)
    else:
        doc.insert(0, "model_list", to_node(entries))


def _extend_in_place(sequence, items):
    """Append the ``items`` a YAML list lacks to it, keeping its own items and their comments."""
    missing = [item for item in items if not any(same(plain(item), plain(existing)) for existing in sequence)]
    if not missing:
        return
    lines = take_trailing_comment(sequence)
    sequence.extend(to_node(item) for item in missing)
    give_trailing_comment(sequence, lines)


def _merge_router_settings(doc, router_settings):
    current = doc.get("router_settings")
    if current is None:
        if "router_settings" in doc:
            replace_value(doc, "router_settings", router_settings)
        else:
            append_to_mapping(doc, "router_settings", router_settings)
        return []
    if not isinstance(current, CommentedMap):
        return [
            "router_settings in config.yaml is a %s, which LiteLLM ignores; make it a mapping by hand first"
            % yaml_type(current)
        ]
    wanted = plain(router_settings)
    for key in LIST_UNION_SETTINGS & set(wanted):
        # The operator's own items (and comments on them) stay; ours are added after them.
        if isinstance(current.get(key), CommentedSeq) and isinstance(wanted[key], list):
            _extend_in_place(current[key], wanted.pop(key))
    sync_mapping(current, wanted, delete_missing=False)
    return []


def _drop_router_entries(doc, names):
    """Remove the MODEL_KEYED_SETTINGS entries of removed models; the names whose entries went."""
    settings = doc.get("router_settings")
    dropped = []
    if not isinstance(settings, CommentedMap):
        return dropped
    for key in MODEL_KEYED_SETTINGS:
        mapping = settings.get(key)
        if not isinstance(mapping, CommentedMap):
            continue
        for name in names:
            if name in mapping:
                remove_mapping_key(mapping, name)
                dropped.append("router_settings.%s[%r]" % (key, name))
    return dropped


def _legacy_strategy(settings, managed_names, router_settings):
    """Whether ``settings`` hold the usage-based-routing-v2 strategy homelab.litellm 0.1.0 wrote."""
    if not isinstance(settings, Mapping) or settings.get("routing_strategy") != LEGACY_ROUTING_STRATEGY:
        return False
    if "routing_strategy" in (router_settings or {}):
        return False
    policies = settings.get("model_group_retry_policy")
    return isinstance(policies, Mapping) and bool(set(policies) & set(managed_names))


def _migrate_legacy_settings(doc, managed_names, router_settings):
    """Undo what homelab.litellm 0.1.0 added to enforce limits; return a note per change.

    0.1.0 wrote ``routing_strategy: usage-based-routing-v2`` together with a
    ``model_group_retry_policy`` entry per parallel model. Where both are there, the strategy is
    ours and goes, unless the operator asks for it in ``router_settings`` (the role's
    ``litellm_router_settings``); a strategy without our retry policies is the operator's and stays.
    """
    settings = doc.get("router_settings")
    if not isinstance(settings, CommentedMap) or not _legacy_strategy(settings, managed_names, router_settings):
        return []
    remove_mapping_key(settings, "routing_strategy")
    return [
        "removed router_settings.routing_strategy: %s, which homelab.litellm 0.1.0 wrote to enforce rate "
        "limits (LiteLLM's native enforce_model_rate_limits check does it now); set "
        "litellm_router_settings.routing_strategy to keep it" % LEGACY_ROUTING_STRATEGY
    ]


@dataclass
class _PlannedChanges:
    added: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    removed: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)
    new_entries: list = field(default_factory=list)
    remove_indexes: list = field(default_factory=list)


def _entry_key(entry):
    return entry["model_name"], _group_label(entry)


def _decide_entries(model_list, positions, models, purge, remove, normalize=plain):
    """What happens to the entries, without changing any: ``(changes, updates)``.

    ``updates`` are the owned entries to rewrite in place, as ``(index, desired entry)``. A model
    name counts once: added (new name), updated (any of its entries written, added or removed),
    removed (every entry gone) or unchanged.
    """
    changes = _PlannedChanges()
    updates = []
    touched = set()
    requested = {_entry_key(model) for model in models}
    for model in models:
        name, label = _entry_key(model)
        desired = _desired_entry(model)
        index = next((i for i in positions.get(name, []) if _group_label(model_list[i]) == label), None)
        if index is None:
            changes.new_entries.append(desired)
            touched.add(name)
        elif not same(normalize(model_list[index]), desired):
            updates.append((index, desired))
            touched.add(name)
    for name, indexes in positions.items():
        if not (purge or name in remove) or not all(is_managed(model_list[i]) for i in indexes):
            continue
        stale = [i for i in indexes if _entry_key(model_list[i]) not in requested]
        changes.remove_indexes += stale
        if stale and len(stale) == len(indexes):
            changes.removed.append(name)
        elif stale:
            touched.add(name)
    changes.unchanged += [name for name in remove if name not in positions]
    for name in dict.fromkeys(model["model_name"] for model in models):
        if name not in positions:
            changes.added.append(name)
        elif name in touched:
            changes.updated.append(name)
        else:
            changes.unchanged.append(name)
    return changes, updates


def _as_is(entry):
    return entry


def _merged(current, wanted, top=True):
    """Plain ``current`` with ``wanted`` merged as the round trip merges router_settings (sync_mapping)."""
    merged = dict(current)
    for key, value in wanted.items():
        existing = merged.get(key)
        if top and key in LIST_UNION_SETTINGS and isinstance(existing, list) and isinstance(value, list):
            merged[key] = existing + [item for item in value if not any(same(item, have) for have in existing)]
        elif isinstance(existing, Mapping) and isinstance(value, Mapping):
            merged[key] = _merged(existing, value, top=False)
        else:
            merged[key] = value
    return merged


def _insert_lines(lines, at, rendered):
    """``lines`` with ``rendered`` inserted before line ``at``; None when ``at`` is past the end."""
    if at > len(lines):
        return None
    if at and not lines[at - 1].endswith("\n"):
        lines[at - 1] += "\n"
    return lines[:at] + rendered + lines[at:]


def _spliced(text, ends, entries, policies):
    """``text`` with ``entries`` appended to its model_list and ``policies`` (name -> policy) to
    ``router_settings.model_group_retry_policy``, written as the round trip writes them; None when
    the text has no place for one of them (``ends`` from ``load_plain_with_ends``)."""
    style = guess_yaml_style(text)
    inserts = []
    if entries:
        if ends["model_list"] is None:
            return None
        inserts.append((ends["model_list"], render_config({"model_list": entries}, style).splitlines(True)[1:]))
    if policies:
        if ends["model_group_retry_policy"] is None:
            return None
        line, column = ends["model_group_retry_policy"]
        rendered = render_config(dict(policies), style).splitlines(True)
        inserts.append((line, [" " * column + item if item.strip() else item for item in rendered]))
    lines = text.splitlines(True)
    for at, rendered in sorted(inserts, key=lambda insert: insert[0], reverse=True):
        lines = _insert_lines(lines, at, rendered)
        if lines is None:
            return None
    return "".join(lines)


def _new_policies(settings, merged):
    """The keys ``merged`` adds to ``router_settings.model_group_retry_policy`` and nothing else, as
    {name: policy}; None when the merge changes anything else (the round trip decides then)."""
    before = settings.get("model_group_retry_policy")
    after = merged.get("model_group_retry_policy")
    rest_same = same(
        {k: v for k, v in merged.items() if k != "model_group_retry_policy"},
        {k: v for k, v in settings.items() if k != "model_group_retry_policy"},
    )
    if not rest_same or not isinstance(before, Mapping) or not isinstance(after, Mapping):
        return None
    if any(not same(after.get(key), value) for key, value in before.items()):
        return None
    return {key: value for key, value in after.items() if key not in before}


def _quick_plan(current_text, doc, ends, models, purge, remove_names, router_settings):
    """The plan from the plain document alone, when nothing changes or entries are only appended.

    The round trip (which keeps comments) costs seconds on a config with a thousand models; most
    runs change nothing, or add a model (and its retry policy). None when the round trip is
    needed: an entry to rewrite or remove, other router_settings to change, settings to migrate,
    or an append that would not read back as planned. ``doc`` and ``ends`` are ``current_text``
    read with ``load_plain_with_ends``.
    """
    model_list = doc.get("model_list") or []
    positions = _positions_by_name(model_list)
    for name in dict.fromkeys([model["model_name"] for model in models] + list(remove_names)):
        if _ownership_errors(name, [model_list[index] for index in positions.get(name, [])], "write"):
            return None
    changes, updates = _decide_entries(model_list, positions, models, purge, set(remove_names), normalize=_as_is)
    if updates or changes.remove_indexes:
        return None
    settings = doc.get("router_settings")
    policies = {}
    if router_settings is not None:
        if settings is None or not isinstance(settings, Mapping):
            return None
        merged = _merged(settings, plain(router_settings))
        if not same(merged, settings):
            policies = _new_policies(settings, merged)
            if not policies:
                return None
            settings = merged
    final = dict(doc, model_list=list(model_list) + changes.new_entries) if changes.new_entries else doc
    if policies:
        final = dict(final, router_settings=settings)
    managed = list(dict.fromkeys(entry["model_name"] for entry in final.get("model_list") or [] if is_managed(entry)))
    if _legacy_strategy(settings, managed, router_settings):
        return None
    leaks = find_fallback_leaks(final, managed)
    if leaks:
        raise ConfigError(leaks)
    after = current_text
    if changes.new_entries or policies:
        after = _spliced(current_text, ends, changes.new_entries, policies)
        # The splice must read back exactly as planned; a key it could add twice is a new key of a
        # mapping that had no such key, so a plain read (without the duplicate check) decides.
        if after is None or not same(read_back(after), final):
            return None
    return changes, final, managed, after, bool(policies)


def plan_config(current_text, models=(), *, purge=False, remove=(), router_settings=None, strict=False):
    """Plan the merge of parallel ``models`` into config.yaml ``current_text``.

    Each entry is upserted by ``model_name`` (new ones appended after the operator's entries in
    input order, changed ones updated in place); entries sharing a ``model_name`` on purpose form a
    model group, each naming its ``model_info.deployment``. ``remove`` names owned models to take
    out; ``purge=True`` takes out every owned entry not in ``models``. A removed model's
    ``model_group_retry_policy`` entry goes with it. ``router_settings`` is merged into
    ``router_settings`` (mappings key by key, ``optional_pre_call_checks`` item by item, other
    values replaced). Settings homelab.litellm 0.1.0 wrote to enforce limits are migrated away.
    Entries the operator wrote are never changed or removed. Raises ``ConfigError`` for a broken
    config, invalid input, an ownership conflict or any fallback leak in the result.
    """
    current, ends = load_plain_with_ends(current_text)
    errors, warnings = check_models(models, strict=strict)
    names = [model["model_name"] for model in models] if not errors else []
    remove_names, remove_errors = _requested_names(remove)
    errors += remove_errors
    errors += [
        "model %r is both requested and to be removed; drop it from one of the two lists" % name
        for name in sorted(set(names) & set(remove_names))
    ]
    if router_settings is not None:
        errors += _router_settings_errors(router_settings)
    if errors:
        raise ConfigError(errors)

    quick = _quick_plan(current_text, current, ends, models, purge, remove_names, router_settings)
    if quick is not None:
        changes, final, managed, after, router_settings_changed = quick
        return _result(current_text, after, changes, final, managed, models, warnings, [], router_settings_changed)

    doc = parse_config(current_text)
    before = plain(doc)
    model_list = doc.get("model_list") or []
    positions = _positions_by_name(model_list)
    for name in dict.fromkeys(names):
        errors += _ownership_errors(name, [model_list[index] for index in positions.get(name, [])], "write")
    for name in remove_names:
        errors += _ownership_errors(name, [model_list[index] for index in positions.get(name, [])], "remove")
    if errors:
        raise ConfigError(errors)

    changes, updates = _decide_entries(model_list, positions, models, purge, set(remove_names))
    for index, desired in updates:
        sync_mapping(model_list[index], desired, delete_missing=True)
    for index in sorted(changes.remove_indexes, reverse=True):
        remove_list_item(doc, "model_list", index)
    if changes.new_entries:
        _append_entries(doc, changes.new_entries)
    final_list = doc.get("model_list") or []
    managed = list(dict.fromkeys(entry["model_name"] for entry in final_list if is_managed(entry)))
    # Before the removed models' router entries go: they are part of the evidence of what 0.1.0 wrote.
    notes = _migrate_legacy_settings(doc, managed + changes.removed, router_settings)
    notes += _drop_router_entries(doc, changes.removed)
    if router_settings is not None:
        errors += _merge_router_settings(doc, router_settings)
    if errors:
        raise ConfigError(errors)

    leaks = find_fallback_leaks(doc, managed)
    if leaks:
        raise ConfigError(leaks)

    after_plain = plain(doc)
    if same(after_plain, before):
        after = current_text  # nothing changed in meaning: keep the operator's bytes
    else:
        after = render_config(doc, guess_yaml_style(current_text))
    return _result(
        current_text,
        after,
        changes,
        after_plain,
        managed,
        models,
        warnings,
        notes,
        not same(after_plain.get("router_settings"), before.get("router_settings")),
    )


def _result(current_text, after, changes, document, managed, models, warnings, notes, router_settings_changed):
    # Both ways of planning end here; the API server would refuse to store a larger text.
    size_errors = config_size_errors(after)
    if size_errors:
        raise ConfigError(size_errors)
    final_list = [entry for entry in document.get("model_list") or [] if isinstance(entry, dict)]
    return ConfigPlan(
        changed=after != current_text,
        before=current_text,
        after=after,
        added=sorted(changes.added),
        updated=sorted(set(changes.updated)),
        removed=sorted(changes.removed),
        unchanged=sorted(changes.unchanged),
        env_vars=referenced_env_vars(document),
        digest=config_digest(after),
        warnings=warnings
        + lifecycle_warnings(models)
        + left_over_warnings(final_list, models)
        + _missing_api_key_warnings(models),
        notes=notes,
        router_settings_changed=router_settings_changed,
        model_names=list(dict.fromkeys(entry["model_name"] for entry in final_list)),
        managed_models=sorted(managed),
        entries=final_list,
        document=document,
    )


def changed_model_names(old_doc, new_doc):
    """Model names whose entries in ``new_doc`` are new or differ from ``old_doc`` (plain configs)."""

    def entries(doc):
        found = {}
        for entry in (doc or {}).get("model_list") or []:
            if isinstance(entry, Mapping) and isinstance(entry.get("model_name"), str):
                found.setdefault(entry["model_name"], []).append(entry)
        return found

    old, new = entries(old_doc), entries(new_doc)
    return [name for name in new if not same(new[name], old.get(name, []))]


def read_config(text):
    """(plain document, None) of a config text, or (None, the error messages) when it cannot be used."""
    try:
        return load_plain(text), None
    except ConfigError as err:
        return None, list(err.errors)
