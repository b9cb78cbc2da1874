# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: validate and plan the merge of parallel models.

Nothing here does I/O or imports Ansible: a module reads the ConfigMap, calls ``plan_config`` and
writes ``plan.after`` back only when ``plan.changed``. Only the ``model_list`` entries this
collection owns (``schema.is_managed``) are ever changed or removed; any result with a
fallback leak (``fallbacks``) is refused.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field

from .checks import check_models, group_label, missing_api_key_warnings, router_settings_errors
from .document import (
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
from .envvars import referenced_env_vars
from .fallbacks import find_fallback_leaks
from .lifecycle import left_behind_warnings, left_over_warnings, lifecycle_warnings
from .schema import MANAGED_BY, is_managed, model_id_for


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
    labels = [group_label(entry) for entry in entries]
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
    return entry["model_name"], group_label(entry)


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
        index = next((i for i in positions.get(name, []) if group_label(model_list[i]) == label), None)
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


def _absent_removal_warnings(current, remove_names):
    """A warning for each name to remove that is not in the config (a typo, or removed already)."""
    model_list = current.get("model_list") if isinstance(current, Mapping) else None
    present = [entry.get("model_name") for entry in model_list or () if isinstance(entry, Mapping)]
    present = [name for name in present if isinstance(name, str)]
    warnings = []
    for name in remove_names:
        if name in present:
            continue
        close = difflib.get_close_matches(name, sorted(set(present)), n=1, cutoff=0.75)
        hint = "did you mean %r?" % close[0] if close else "removed already, or never added; drop it from the list"
        warnings.append(
            "litellm_remove_models names %r, which is not in the config: nothing to remove (%s)" % (name, hint)
        )
    return warnings


def plan_config(
    current_text, models=(), *, purge=False, remove=(), router_settings=None, strict=False, left_behind=True
):
    """Plan the merge of parallel ``models`` into config.yaml ``current_text``.

    Each entry is upserted by ``model_name`` (new ones appended after the operator's entries in
    input order, changed ones updated in place); entries sharing a ``model_name`` on purpose form a
    model group, each naming its ``model_info.deployment``. ``remove`` names owned models to take
    out; ``purge=True`` takes out every owned entry not in ``models``. A removed model's
    ``model_group_retry_policy`` entry goes with it. ``router_settings`` is merged into
    ``router_settings`` (mappings key by key, ``optional_pre_call_checks`` item by item, other
    values replaced). Settings homelab.litellm 0.1.0 wrote to enforce limits are migrated away.
    Entries the operator wrote are never changed or removed. Raises ``ConfigError`` for a broken
    config, invalid input, an ownership conflict or any fallback leak in the result. Warns about a
    name in ``remove`` that is not there and, with ``left_behind``, about owned models no longer
    requested that stay.
    """
    current, ends = load_plain_with_ends(current_text)
    errors, warnings = check_models(models, strict=strict)
    names = [model["model_name"] for model in models] if not errors else []
    remove_names, remove_errors = _requested_names(remove)
    errors += remove_errors
    errors += [
        "model %r is both requested and to be removed; drop it from one of the two lists (a preset model: "
        "add it to litellm_exclude_models)" % name
        for name in sorted(set(names) & set(remove_names))
    ]
    if router_settings is not None:
        errors += router_settings_errors(router_settings)
    if errors:
        raise ConfigError(errors)
    warnings = warnings + _absent_removal_warnings(current, remove_names)

    quick = _quick_plan(current_text, current, ends, models, purge, remove_names, router_settings)
    if quick is not None:
        changes, final, managed, after, router_settings_changed = quick
        return _result(
            current_text, after, changes, final, managed, models, warnings, [], router_settings_changed, left_behind
        )

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
        left_behind,
    )


def _result(
    current_text, after, changes, document, managed, models, warnings, notes, router_settings_changed, left_behind
):
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
        + (left_behind_warnings(final_list, models) if left_behind else [])
        + missing_api_key_warnings(models),
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
