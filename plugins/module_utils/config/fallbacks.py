# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: every way LiteLLM would pull a model into a fallback.

Pure functions, no ansible import and no I/O. A parallel model must never take part in a fallback
chain; ``find_fallback_leaks`` follows LiteLLM 1.108.7's own matching and the config merge refuses
any result that has a leak.
"""

from __future__ import annotations

from collections.abc import Mapping

from .schema import CHAIN_SETTINGS, DEPLOYMENT_FALLBACK_PARAMS, SETTINGS_SECTIONS, is_managed

# ---------------------------------------------------------------------------------------------
# Fallback leaks
# ---------------------------------------------------------------------------------------------


def _fallback_targets(targets):
    """Model groups named by a fallback list; an item may be a name or a mapping with "model"
    (litellm/router_utils/fallback_event_handlers.py _get_fallback_target_model_group)."""
    if isinstance(targets, str):
        return [targets]
    names = []
    if isinstance(targets, (list, tuple)):
        for target in targets:
            if isinstance(target, str):
                names.append(target)
            elif isinstance(target, Mapping) and isinstance(target.get("model"), str):
                names.append(target["model"])
    return names


def _key_matches(key, name):
    """How LiteLLM would match fallback ``key`` for requests to model group ``name``, or None.

    Mirrors get_fallback_model_group (litellm/router_utils/fallback_event_handlers.py, 1.108.7):
    exact name; the name with its provider prefix stripped (_check_stripped_model_group); a key that is
    the name with a provider prefix added (_provider_prefixed_model_group). LiteLLM strips only known
    provider prefixes and adds only the inferred one; this check treats any prefix as one, so it errs
    on the side of refusing.
    """
    if key == name:
        return "exact"
    if "/" in name and name.split("/", 1)[1] == key:
        return "stripped"
    if "/" not in name and key.endswith("/" + name):
        return "prefixed"
    return None


def _matching_names(key, names, by_stripped, unprefixed):
    """(match, name) for each parallel model ``key`` matches (see ``_key_matches``), in a fixed order.

    Indexed lookups instead of a scan of every name: a config may hold a thousand models.
    """
    found = []
    if key in names:
        found.append(("exact", key))
    found += [("stripped", name) for name in by_stripped.get(key, ())]
    # key = <prefix>/<name>: LiteLLM adds a provider prefix only to a name that has none.
    if "/" in key and key.rsplit("/", 1)[1] in unprefixed:
        found.append(("prefixed", key.rsplit("/", 1)[1]))
    return found


def _chain_leaks(path, chain, names):
    leaks = []
    everyone = ", ".join(repr(name) for name in names)
    name_set = set(names)
    by_stripped = {}
    for name in names:
        if "/" in name:
            by_stripped.setdefault(name.split("/", 1)[1], []).append(name)
    unprefixed = {name for name in names if "/" not in name}
    for index, item in enumerate(chain):
        where = "%s[%d]" % (path, index)
        if isinstance(item, str):
            # get_fallback_model_group: a bare string item is a fallback for every model group.
            leaks.append(
                "%s: the bare entry %r is a fallback for every model, so the parallel models %s would fall back "
                'to it on any error; write it as a mapping {"<chain model>": [%r]}' % (where, item, everyone, item)
            )
            continue
        if not isinstance(item, Mapping):
            continue
        for key, targets in item.items():
            key = str(key)
            if key == "*":
                leaks.append(
                    "%s: the key '*' makes every model fall back, the parallel models %s too; replace '*' by "
                    "one entry per chain model" % (where, everyone)
                )
            for match, name in _matching_names(key, name_set, by_stripped, unprefixed):
                if match == "exact":
                    leaks.append(
                        "%s: parallel model %r is a fallback key, so it would fall back into the chain on any "
                        "error (401 too); remove this entry" % (where, name)
                    )
                elif match == "stripped":
                    leaks.append(
                        "%s: key %r matches parallel model %r once LiteLLM strips the provider prefix, so that "
                        "model would fall back into the chain; rename the chain model or the parallel model so "
                        "the names differ" % (where, key, name)
                    )
                else:
                    leaks.append(
                        "%s: key %r matches parallel model %r once LiteLLM adds the provider prefix, so that "
                        "model would fall back into the chain; rename the chain model or the parallel model so "
                        "the names differ" % (where, key, name)
                    )
            for target in _fallback_targets(targets):
                if target in name_set:
                    leaks.append(
                        "%s: parallel model %r is a fallback target of %r, so the chain would send traffic to it; "
                        "remove it from the targets" % (where, target, key)
                    )
    return leaks


def find_fallback_leaks(doc, parallel_names):
    """Every way a model named in ``parallel_names`` would take part in LiteLLM fallbacks.

    Checks ``fallbacks``, ``context_window_fallbacks``, ``content_policy_fallbacks`` and
    ``default_fallbacks`` in both ``router_settings`` and ``litellm_settings`` (plus the deprecated
    ``litellm_settings.model_fallbacks``), a model_name shared with an entry this collection does not
    own, and fallback keys inside the parallel entries' own ``litellm_params``. Returns one message per
    leak, naming the setting path, the model and the fix; an empty list means none.
    """
    names = list(dict.fromkeys(parallel_names))
    if not names:
        return []
    everyone = ", ".join(repr(name) for name in names)
    leaks = []
    for section in SETTINGS_SECTIONS:
        settings = doc.get(section)
        if not isinstance(settings, Mapping):
            continue
        for setting in CHAIN_SETTINGS:
            chain = settings.get(setting)
            if isinstance(chain, (list, tuple)):
                leaks += _chain_leaks("%s.%s" % (section, setting), chain, names)
        defaults = settings.get("default_fallbacks")
        if isinstance(defaults, (list, tuple)) and defaults:
            # Router.__init__ appends {"*": default_fallbacks} to the fallbacks.
            leaks.append(
                "%s.default_fallbacks: applies to every model, so the parallel models %s would fall back to %s on "
                "any error; replace it by fallbacks entries for the chain models" % (section, everyone, list(defaults))
            )
            for target in _fallback_targets(defaults):
                if target in names:
                    leaks.append(
                        "%s.default_fallbacks: parallel model %r is a fallback target; remove it" % (section, target)
                    )
    litellm_settings = doc.get("litellm_settings")
    if isinstance(litellm_settings, Mapping) and litellm_settings.get("model_fallbacks"):
        # litellm.main.completion/acompletion use litellm.model_fallbacks for every call.
        leaks.append(
            "litellm_settings.model_fallbacks: applies to every model, so the parallel models %s would fall back "
            "on any error; replace it by router_settings.fallbacks entries for the chain models" % everyone
        )
    model_list = doc.get("model_list") if isinstance(doc.get("model_list"), list) else []
    by_name = {}
    for entry in model_list:
        if isinstance(entry, Mapping):
            by_name.setdefault(entry.get("model_name"), []).append(entry)
    for name in names:
        entries = by_name.get(name, [])
        if any(not is_managed(entry) for entry in entries):
            leaks.append(
                "model_list: model_name %r is also used by an entry homelab.litellm does not own; LiteLLM would "
                "load-balance between them and the parallel model would share that entry's fallbacks; give the "
                "parallel model another model_name" % name
            )
        for entry in entries:
            params = entry.get("litellm_params")
            if is_managed(entry) and isinstance(params, Mapping):
                for key in sorted(DEPLOYMENT_FALLBACK_PARAMS & set(params)):
                    leaks.append(
                        "model_list: parallel model %r has litellm_params.%s, its own fallbacks; remove it"
                        % (name, key)
                    )
    return leaks
