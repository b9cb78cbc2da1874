# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: which keys a run may write, and which it may remove.

Pure, no I/O. A key nothing reads is most likely a typo (``GROK_API_KEY`` for ``GROQ_API_KEY``):
written, it sits in the Secret and the record while the model that was meant calls without a key.
So every key of ``litellm_api_keys`` must be read by the merged config (an ``os.environ/NAME``
reference anywhere in it: a model, a fallback chain entry, a setting), by LiteLLM itself (the
provider's default variable of an entry without ``api_key``, the proxy's own variables), or be
named in ``litellm_extra_keys``.

``litellm_remove_keys`` takes keys out of their Secret again, but only keys this collection wrote
(its record of the last verified state holds them, with the value that is still live), never the
master key, and none the config still reads.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from .config.checks import provider_of
from .config.envvars import referenced_env_vars
from .config.schema import PROVIDER_KEY_ENV

PROXY_ENV_VARS = frozenset(
    (
        "DATABASE_URL",
        "LITELLM_MASTER_KEY",
        "LITELLM_SALT_KEY",
        "LITELLM_LICENSE",
        "REDIS_HOST",
        "REDIS_PORT",
        "REDIS_USERNAME",
        "REDIS_PASSWORD",
        "REDIS_URL",
        "REDIS_CLUSTER_NODES",
        "REDIS_SENTINEL_NODES",
        "OPENID_CLIENT_ID",
        "OPENID_CLIENT_SECRET",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_TENANT_ID",
    )
)
"""Variables the LiteLLM 1.108.7 proxy reads from its environment by itself, without a reference in
config.yaml (``os.getenv``/``get_secret`` calls in litellm/proxy/proxy_server.py and litellm/_redis.py)."""

DEFAULT_KEY_VARS = {"gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
"""Providers whose entries without ``api_key`` read more than one variable (Gemini: GOOGLE_API_KEY wins)."""


def read_variables(document, master_var=None):
    """``{variable: [what reads it]}``: every variable the config makes LiteLLM read.

    References (``os.environ/NAME``) anywhere in the document count, with the models whose entries
    hold them named; so do the provider defaults of entries without ``api_key`` and the master key.
    """
    readers = {}
    entries = document.get("model_list") if isinstance(document, Mapping) else None
    for entry in entries or ():
        if not isinstance(entry, Mapping):
            continue
        name = entry.get("model_name")
        params = entry.get("litellm_params")
        for variable in referenced_env_vars(params or {}):
            readers.setdefault(variable, []).append("model %s" % name)
        if isinstance(params, Mapping) and "api_key" not in params:
            provider = provider_of(params.get("model"))
            defaults = DEFAULT_KEY_VARS.get(provider) or (
                (PROVIDER_KEY_ENV[provider],) if provider in PROVIDER_KEY_ENV else ()
            )
            for variable in defaults:
                readers.setdefault(variable, []).append("model %s (no api_key: LiteLLM's default)" % name)
    rest = {key: value for key, value in (document or {}).items() if key != "model_list"}
    for variable in referenced_env_vars(rest):
        readers.setdefault(variable, []).append("the config's settings")
    if master_var:
        readers.setdefault(master_var, []).append("LiteLLM's master key")
    return {variable: list(dict.fromkeys(names)) for variable, names in readers.items()}


def unread_key_errors(api_keys, read, extra_keys=()):
    """One error per key of ``api_keys`` that nothing in ``read`` (``read_variables``) reads, unless it is
    a variable the proxy reads by itself or in ``extra_keys``; each names the closest key that is read."""
    errors = []
    allowed = set(read) | PROXY_ENV_VARS | set(extra_keys or ())
    for name in sorted(api_keys):
        if name in allowed:
            continue
        close = difflib.get_close_matches(name, sorted(read), n=1, cutoff=0.75)
        errors.append(
            "%s: no model reads it; %s A key config.yaml does not reference (as os.environ/%s) only sits in the "
            "Secret: fix the name, or list it in litellm_extra_keys to write it anyway"
            % (name, "did you mean %s?" % close[0] if close else "no fallback or setting references it either.", name)
        )
    return errors


def plan_key_removal(remove, api_keys, read, master, record, live_keys, record_name, present=()):
    """``({variable: (secret, key)}, errors, warnings)``: the keys to remove and why others are refused.

    ``master`` is ``(variable, secret, key)`` of the master key (any part None when unknown), ``record``
    the KnownGood (or None), ``live_keys`` ``{variable: (secret, key, value or None)}`` at the places the
    record names, ``record_name`` the record's Secret, for the messages, ``present`` the variables the pod
    gets now. A name the record does not hold and the pod does not get is gone already (a removal left in
    the inventory after its run): a warning, not a refusal. Values are never shown.
    """
    removal, errors, warnings = {}, [], []
    master_var, master_secret, master_key = master
    for name in dict.fromkeys(remove or ()):
        held = record.keys.get(name) if record is not None else None
        if name in (api_keys or {}):
            errors.append("%s is in litellm_api_keys and in litellm_remove_keys; drop it from one of the two" % name)
        elif name == master_var or (held is not None and held[:2] == (master_secret, master_key)):
            errors.append("%s is LiteLLM's master key: homelab.litellm never removes it; drop it from the list" % name)
        elif (held is None or held[2] is None) and name not in present:
            warnings.append(
                "%s is in no Secret LiteLLM loads: nothing to remove (removed already?); drop it from "
                "litellm_remove_keys" % name
            )
        elif held is None or held[2] is None:
            errors.append(
                "%s was not written by homelab.litellm (the record of the last verified state, Secret %s, does not "
                "hold it), so it is not removed; drop it from litellm_remove_keys, or remove it by hand"
                % (name, record_name)
            )
        elif name in read:
            errors.append(
                "%s is still read by %s: removing it would leave LiteLLM calling without a key; remove those "
                "models first (litellm_remove_models, or leave the provider out), in this run or an earlier one"
                % (name, ", ".join(read[name]))
            )
        elif live_keys.get(name, held)[2] is None:
            warnings.append("%s is not in Secret %s any more: nothing to remove" % (name, held[0]))
            removal[name] = held[:2]
        elif live_keys.get(name) != held:
            errors.append(
                "%s in Secret %s was changed after the last verified run, not by homelab.litellm: it is not removed; "
                "run once without it in litellm_remove_keys (the run verifies the live value), or remove it by hand"
                % (name, held[0])
            )
        else:
            removal[name] = held[:2]
    return removal, errors, warnings
