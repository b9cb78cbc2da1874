# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: the last state of LiteLLM that was proven to work.

Pure functions, no ansible import and no I/O. After a run has verified LiteLLM (ready, every
model listed, a request to each changed model answered), it records what LiteLLM then runs with:
the config text and the values of the keys this collection manages, each with the Secret and key
it lives in. Never the master key, DATABASE_URL or any other key the operator keeps there.

The record is one Secret (``<deployment>-known-good``, data ``state.json``), written in one
request, so it is never half old and half new. Its annotations say, without any value, when it
was verified, by which run, and which keys and models it holds.

A run compares the live state with the record: what differs was written by a run that did not
finish (Ctrl-C, a killed runner) or by hand, so it is unverified and gets verified; a rollback
puts the record back.

A per-step module used on its own (litellm_config, litellm_secret) leaves the verified state as it
is and adds what it wrote to the record as *pending*: the digest of the config text, of each key it
wrote, and the models it changed, with its name and time. A run that finds the live state differing
only as the pending part says takes it for the operator's own change: it verifies and records it,
and a failure of that run undoes only its own writes, back to the state it found.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import namedtuple

from .config.document import MAX_CONFIG_BYTES
from .config.plan import read_config

SUFFIX = "-known-good"
DATA_KEY = "state.json"
MANAGED_BY = {"app.kubernetes.io/managed-by": "homelab.litellm"}
OF_LABEL = "homelab.litellm/known-good-of"
VERIFIED = "homelab.litellm/verified"
RECORDED_AT = "homelab.litellm/recorded-at"
RUN = "homelab.litellm/run"
KEYS = "homelab.litellm/keys"
MODELS = "homelab.litellm/models"
CONFIG_DIGEST = "homelab.litellm/config-digest"
PENDING = "homelab.litellm/pending"

MAX_RECORD_BYTES = MAX_CONFIG_BYTES
"""The most ``state.json`` may hold, in bytes: Kubernetes refuses a Secret whose data is larger (1 MiB)."""

KnownGood = namedtuple(
    "KnownGood",
    "config_text configmap config_key keys models verified recorded_at run pending pod_template",
    defaults=(None, None),
)
KnownGood.__doc__ = """A record: the config text and where it lives, ``keys`` as ``{variable: (secret, key,
value or None)}`` (None: the key was absent), the model names, how it was verified (``true``: a run
proved it; ``baseline``: the state a first run found while LiteLLM was healthy), when and by which run;
``pending``: what per-step modules wrote since, not verified (``with_pending``), or None; and what the pod
template then loaded (``_pod_sources.pod_template_sources``; None in a record older than that field)."""


class RecordError(Exception):
    """A record Secret this collection refuses to read: larger than a Secret can be, or not of the
    shape ``record_body`` writes."""


def record_name(deployment):
    """Name of the Secret holding the record for the LiteLLM Deployment ``deployment``."""
    return (deployment + SUFFIX)[:253]


def _decode(b64):
    return base64.b64decode(b64 or "").decode("utf-8")


def _encode(text):
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _where(secret):
    metadata = secret.get("metadata") or {}
    return "Secret %s/%s key %s" % (metadata.get("namespace") or "?", metadata.get("name") or "?", DATA_KEY)


def read_record(secret):
    """The record in a Secret as read, or None when there is none yet (no Secret, or an empty one).

    Raises ``RecordError`` for a ``state.json`` larger than ``MAX_RECORD_BYTES``, before it is
    parsed, and for one that is no record (not a JSON object of the shape ``record_body`` writes);
    ``record_errors`` checks what a record holds.
    """
    data = (secret or {}).get("data") or {}
    if not data.get(DATA_KEY):
        return None
    try:
        raw = base64.b64decode(data[DATA_KEY])
    except ValueError:
        return None
    if len(raw) > MAX_RECORD_BYTES:
        raise RecordError(
            "The last verified state (%s) is %d bytes (%.1f KiB), more than Kubernetes lets a Secret hold "
            "(%d bytes, 1 MiB): refused before it is read, so it is neither compared nor restored; "
            "homelab.litellm did not write it; delete the Secret, and a run while LiteLLM is healthy records "
            "what it finds" % (_where(secret), len(raw), len(raw) / 1024.0, MAX_RECORD_BYTES)
        )
    try:
        state = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the decoder goes
        return None
    shaped = isinstance(state, dict)
    if shaped:
        config, keys, models = state.get("config") or {}, state.get("keys") or {}, state.get("models") or []
        shaped = (
            isinstance(config, dict)
            and isinstance(keys, dict)
            and all(isinstance(item, dict) for item in keys.values())
            and isinstance(models, list)
            and _names_or_none(state.get("pod_template"))
        )
    if not shaped:
        raise RecordError(
            "The last verified state (%s) is not a record homelab.litellm wrote (a JSON object with config, "
            "keys and models): refused, so it is neither compared nor restored; delete the Secret, and a run "
            "while LiteLLM is healthy records what it finds" % _where(secret)
        )
    annotations = (secret.get("metadata") or {}).get("annotations") or {}
    keys = {name: (item.get("secret"), item.get("key"), item.get("value")) for name, item in keys.items()}
    pending = state.get("pending")
    return KnownGood(
        config.get("text") or "",
        config.get("configmap"),
        config.get("key"),
        keys,
        list(models),
        annotations.get(VERIFIED) or "baseline",
        annotations.get(RECORDED_AT),
        annotations.get(RUN),
        _pending_of(pending),
        list(state["pod_template"]) if state.get("pod_template") is not None else None,
    )


def _pending_of(pending):
    """The pending part as read (a dict of the shape ``with_pending`` writes), or None for anything else."""
    if not isinstance(pending, dict):
        return None
    by, keys, models = pending.get("by"), pending.get("keys") or {}, pending.get("models") or []
    if not (isinstance(by, list) and isinstance(keys, dict) and isinstance(models, list)):
        return None
    if not all(isinstance(digest, str) for digest in keys.values()):
        return None
    config = pending.get("config")
    return {
        "by": [str(name) for name in by],
        "at": str(pending.get("at") or ""),
        "config": config if isinstance(config, str) else None,
        "keys": dict(keys),
        "models": [str(name) for name in models],
    }


def text_digest(text):
    """SHA-256 of a config text, as the pending part of a record holds it."""
    return hashlib.sha256((text or "").encode("utf-8")).hexdigest()


def key_digest(secret, key, value):
    """SHA-256 of one key's place and value (None: absent): the pending part never holds a value."""
    return hashlib.sha256(json.dumps([secret, key, value]).encode("utf-8")).hexdigest()


def with_pending(record, by, at, config_text=None, keys=None, models=()):
    """``record`` with what a per-step module ``by`` wrote at ``at`` added to its pending part.

    ``config_text``: the config it wrote (None: it wrote none); ``keys``: ``{variable: (secret, key,
    value or None)}`` it wrote. What was pending before and is not written again stays pending.
    """
    pending = dict(record.pending or {"by": [], "at": at, "config": None, "keys": {}, "models": []})
    pending["by"] = list(dict.fromkeys(list(pending["by"]) + [by]))
    pending["at"] = at
    if config_text is not None:
        pending["config"] = text_digest(config_text)
    pending["keys"] = dict(pending["keys"])
    for name, (secret, key, value) in sorted((keys or {}).items()):
        pending["keys"][name] = key_digest(secret, key, value)
    pending["models"] = list(dict.fromkeys(list(pending["models"]) + list(models)))
    return record._replace(pending=pending)


def pending_explains(record, live_text, live_keys):
    """Whether every way the live state differs from ``record`` is what its pending part says was written.

    ``live_keys``: ``{variable: (secret, key, value or None)}`` as live. False without a pending part or
    without any difference (then there is nothing to explain).
    """
    pending = record.pending
    if not pending:
        return False
    config_differs = live_text != record.config_text
    if config_differs and pending["config"] != text_digest(live_text):
        return False
    differing = differing_keys(record, live_keys)
    for name in differing:
        live = live_keys.get(name)
        if live is None or pending["keys"].get(name) != key_digest(*live):
            return False
    return config_differs or bool(differing)


def describe_pending(pending):
    """``litellm_config at T (models a, b)``: who wrote the pending part, when, and what; no value."""
    what = []
    if pending.get("models"):
        what.append("models %s" % ", ".join(pending["models"]))
    if pending.get("keys"):
        what.append("keys %s" % ", ".join(sorted(pending["keys"])))
    return "%s at %s%s" % (" and ".join(pending["by"]), pending["at"], " (%s)" % "; ".join(what) if what else "")


def record_differences(previous, new):
    """What recording ``new`` would change in the record ``previous`` (None: there is none), as phrases
    with names only; [] when ``previous`` already holds the same state and only the recorded time (and
    run) would differ.

    The same state: the config text and where it lives, every key's Secret, key and value, the models
    (in any order), what the pod template loads, verified by a run (a baseline is not), and no pending
    part (a new record has none). A record older than the pod template field differs from one with it.
    """
    if previous is None:
        return ["there is no record yet"]
    differences = []
    if (previous.configmap, previous.config_key) != (new.configmap, new.config_key):
        differences.append(
            "the config lives in ConfigMap %s key %s, not %s key %s"
            % (new.configmap, new.config_key, previous.configmap, previous.config_key)
        )
    elif previous.config_text != new.config_text:
        differences.append("the config")
    keys = sorted(name for name in set(previous.keys) | set(new.keys) if previous.keys.get(name) != new.keys.get(name))
    if keys:
        differences.append("keys %s" % ", ".join(keys))
    if sorted(previous.models) != sorted(new.models):
        differences.append("the models")
    if previous.pod_template is None or sorted(previous.pod_template) != sorted(new.pod_template or []):
        differences.append("what the pod template loads")
    if previous.verified != new.verified:
        differences.append("verified (%s, now %s)" % (previous.verified, new.verified))
    if previous.pending:
        differences.append("the pending part (%s)" % describe_pending(previous.pending))
    return differences


def record_errors(record):
    """What makes a record (a KnownGood) unfit to be restored, as messages; [] when it is fit.

    Its config text is checked as a live config is (``read_config``: size, aliases, whatever makes
    LiteLLM exit); the ConfigMap and its key, every variable, Secret and key name must be non-empty
    strings and each value a string or None (None: the key was absent), so that a restore writes
    only what a run could have verified. Values are never shown.
    """
    if isinstance(record.config_text, str):
        _doc, config_errors = read_config(record.config_text)
        errors = ["the last verified config cannot be used: %s" % message for message in config_errors or ()]
    else:
        errors = ["the last verified config is a %s, not a text" % type(record.config_text).__name__]
    if not _names(record.configmap, record.config_key):
        errors.append(
            "the last verified state names ConfigMap %s key %s, which are not two names"
            % (_shown(record.configmap), _shown(record.config_key))
        )
    for name, (secret, key, value) in record.keys.items():
        if not _names(name, secret, key):
            errors.append(
                "the last verified state has variable %s in Secret %s key %s, which are not three names"
                % (_shown(name), _shown(secret), _shown(key))
            )
        if value is not None and not isinstance(value, str):
            errors.append(
                "the last verified value of %s is a %s, not a text (value not shown)" % (name, type(value).__name__)
            )
    if not _names(*record.models):
        errors.append("the last verified state lists models that are not names")
    return errors


def _names_or_none(values):
    return values is None or (isinstance(values, list) and all(isinstance(value, str) for value in values))


def _names(*values):
    return all(isinstance(value, str) and value for value in values)


def _shown(name):
    """A name as quoted text; anything else only by its type, as it could be a value put in its place."""
    return repr(name) if name is None or isinstance(name, str) else "a %s" % type(name).__name__


def record_body(namespace, deployment, record, existing=None):
    """The Secret that stores ``record`` (a KnownGood); keeps ``existing``'s metadata and version."""
    state = {
        "version": 1,
        "config": {"configmap": record.configmap, "key": record.config_key, "text": record.config_text},
        "keys": {
            name: {"secret": secret, "key": key, "value": value}
            for name, (secret, key, value) in sorted(record.keys.items())
        },
        "models": list(record.models),
    }
    if record.pending:
        state["pending"] = record.pending
    if record.pod_template is not None:
        state["pod_template"] = sorted(record.pod_template)
    annotations = {
        VERIFIED: record.verified,
        RECORDED_AT: record.recorded_at or "",
        RUN: record.run or "",
        KEYS: ",".join(sorted(record.keys)),
        MODELS: ",".join(record.models),
        CONFIG_DIGEST: hashlib.sha256(record.config_text.encode("utf-8")).hexdigest(),
    }
    if record.pending:
        annotations[PENDING] = describe_pending(record.pending)
    if existing is not None:
        metadata = dict(existing.get("metadata") or {})
        metadata["annotations"] = dict(metadata.get("annotations") or {}, **annotations)
        if not record.pending:
            metadata["annotations"].pop(PENDING, None)
        metadata["labels"] = dict(metadata.get("labels") or {}, **MANAGED_BY)
        metadata["labels"][OF_LABEL] = deployment
    else:
        metadata = {
            "name": record_name(deployment),
            "namespace": namespace,
            "annotations": annotations,
            "labels": dict(MANAGED_BY, **{OF_LABEL: deployment}),
        }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": metadata,
        "data": {DATA_KEY: _encode(json.dumps(state, sort_keys=True))},
    }


def live_key_values(secrets, locations):
    """``{variable: (secret, key, value or None)}`` for ``locations`` ``{variable: (secret, key)}``,
    read from ``secrets`` ``{name: Secret object or None}``."""
    values = {}
    for name, (secret, key) in locations.items():
        data = (secrets.get(secret) or {}).get("data") or {}
        values[name] = (secret, key, _decode(data[key]) if key in data else None)
    return values


def differing_keys(record, live_keys):
    """Names of the recorded keys whose live value (or place) differs from the record's."""
    return sorted(name for name in record.keys if record.keys[name] != live_keys.get(name))


def restore_writes(record, live_config_text, live_secrets):
    """What putting the record back takes: ``(config text or None, {secret: {key: value or None}})``.

    Only what differs is listed; a value None removes the key.
    """
    config = record.config_text if record.config_text != live_config_text else None
    secrets = {}
    for _name, (secret, key, value) in sorted(record.keys.items()):
        data = (live_secrets.get(secret) or {}).get("data") or {}
        live = _decode(data[key]) if key in data else None
        if live != value:
            secrets.setdefault(secret, {})[key] = value
    return config, secrets


def apply_key_values(secret, values):
    """A copy of a Secret object with ``values`` ``{key: plain value or None}`` set (None removes)."""
    data = dict(secret.get("data") or {})
    for key, value in values.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = _encode(value)
    return dict(secret, data=data)


def decoded(b64):
    """The plain value of a Secret's base64 data value; None for None (an absent key)."""
    return None if b64 is None else _decode(b64)
