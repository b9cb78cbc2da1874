# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: plan a patch of named keys in a Secret.

Pure functions, no ansible import and no I/O. The Secret's ``data`` is handled
as Kubernetes returns it (base64 strings); values given by the user are plain
strings. Nothing here ever puts a value into a message, a diff or a result: the
errors name the key and the fix, the diff shows key names with markers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass, field

from .config.envvars import is_env_var_name, suggested_env_var_name

# Values that are obviously not a real credential: (what it looks like, pattern).
# Matched case-insensitively against the whole value with surrounding
# whitespace removed. Kept as data: add a line, not code.
PLACEHOLDER_PATTERNS = (
    ("a placeholder", r".*placeholder.*"),
    ("'changeme'", r"change[-_ ]?me.*"),
    ("'your key'", r"(enter[-_ ]?)?your[-_ ].*"),
    ("'replace me'", r"replace[-_ ]?(me|with|this).*"),
    ("'TODO'", r"(todo|tbd|fixme)\b.*"),
    ("a dummy value", r"dummy.*"),
    ("a generic word", r"(none|null|nil|undefined|n/?a|test|example|secret|password|key|token|api[-_ ]?key)"),
    ("'xxx...'", r"([a-z0-9]{1,6}[-_])?x{3,}[-_.x]*"),
    ("a truncated example ending in '...'", r".*(\.\.\.|\u2026)"),
    ("an '<...>' placeholder", r"<.*>"),
    ("an unrendered Jinja2 template '{{ ... }}' (an undefined variable?)", r".*(\{\{.*\}\}|\{%.*%\}).*"),
    ("an unexpanded shell variable", r"\$(\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)"),
    ("a LiteLLM reference 'os.environ/NAME' instead of the value", r"os\.environ/.*"),
    ("a masked value", r"\*+|value_specified_in_no_log_parameter"),
    ("LiteLLM's example master key 'sk-1234', which it refuses", r"sk-1234"),
)
_PLACEHOLDERS = tuple(
    (label, re.compile(pattern, re.IGNORECASE | re.DOTALL)) for label, pattern in PLACEHOLDER_PATTERNS
)

MARK_UNCHANGED = "<unchanged>"
MARK_ADDED = "<added>"
MARK_REMOVED = "<removed>"
MARK_OLD = "<previous value>"
MARK_NEW = "<new value>"


class SecretDataError(ValueError):
    """Input that must not reach the cluster. ``errors`` holds one line per problem."""

    def __init__(self, errors):
        self.errors = tuple(errors)
        super().__init__("; ".join(self.errors))


@dataclass(frozen=True)
class SecretPlan:
    """What a patch of a Secret does. Holds base64 data, never shows it in messages."""

    changed: bool
    added: tuple = ()
    updated: tuple = ()
    removed: tuple = ()
    unchanged: tuple = ()
    keys: tuple = ()
    data: dict = field(default_factory=dict, repr=False)
    diff_before: str = ""
    diff_after: str = ""


def placeholder_kind(value):
    """What kind of placeholder ``value`` looks like, or None for a plausible credential."""
    stripped = value.strip()
    for label, pattern in _PLACEHOLDERS:
        if pattern.fullmatch(stripped):
            return label
    return None


def _as_text(value):
    """A value as the string that will be stored, or None when its type makes no sense."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value
    return None


def validate_secret_data(data, env_var_keys=True):
    """Check names and values that are to be written; return the list of errors (empty = fine).

    Each error names the key and how to fix it, never the value. With ``env_var_keys=False`` the
    keys are Secret keys that a Deployment maps to variables itself (``secretKeyRef``), which may
    be any key Kubernetes takes (``api-key``): only the values are checked then.
    """
    errors = []
    if not data:
        errors.append("data is empty: give at least one KEY: value to write")
        return errors
    for name in sorted(data, key=str):
        value = data[name]
        if env_var_keys and not is_env_var_name(name):
            # LiteLLM reads the Secret through the environment: Kubernetes would take "." and "-"
            # in a Secret key, but no process could read such a variable back.
            errors.append(
                "key %r is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*); "
                "LiteLLM reads the Secret through its environment, so rename it (for example %r)"
                % (name, suggested_env_var_name(name))
            )
            continue
        text = _as_text(value)
        if text is None:
            errors.append(
                "%s: the value is a %s, not a string; give the credential as a string"
                % (name, "missing value" if value is None else type(value).__name__)
            )
        elif not text:
            errors.append(
                "%s: the value is empty; set the vault variable for it (ansible-vault edit) or leave the key out" % name
            )
        elif not text.strip():
            errors.append("%s: the value is only whitespace; set the real credential in the vault" % name)
        elif text != text.strip():
            errors.append(
                "%s: the value has leading or trailing whitespace (a newline from a file "
                "lookup?); strip it, for example with '| trim'" % name
            )
        elif any(ord(char) < 0x20 or ord(char) == 0x7F for char in text):
            # An HTTP header cannot carry it: LiteLLM's HTTP client would fail before reaching the
            # provider, and the failure would look like the provider's.
            errors.append(
                "%s: the value contains a control character (a line break or tab inside it?); "
                "provider keys are printable ASCII; put the key in the vault exactly as issued" % name
            )
        elif not text.isascii():
            errors.append(
                "%s: the value contains non-ASCII characters (a typographic quote or dash pasted "
                "with it?); provider keys are printable ASCII; put the key in the vault exactly as "
                "issued" % name
            )
        else:
            kind = placeholder_kind(text)
            if kind:
                errors.append(
                    "%s: the value looks like %s, not a real credential; put the real key in "
                    "the vault (ansible-vault edit) and run again" % (name, kind)
                )
    return errors


def encode_value(value):
    """The base64 text Kubernetes stores in ``data`` for a plain value."""
    return base64.b64encode(_as_text(value).encode("utf-8")).decode("ascii")


def _decode(b64):
    try:
        return base64.b64decode(b64 or "", validate=False)
    except (binascii.Error, ValueError):
        return None


def keys_digest(secret_data_b64, names):
    """SHA-256 (hex) over the sorted ``(name, value)`` pairs of ``names`` in a Secret's data.

    Values are compared as decoded bytes, so two base64 spellings of one value
    give one digest. A name missing from the Secret counts as missing (distinct
    from an empty value), so adding the key changes the digest. Duplicate names
    count once. The digest of no names is the digest of an empty list.
    """
    secret_data_b64 = secret_data_b64 or {}
    pairs = []
    for name in sorted(set(names)):
        if name in secret_data_b64:
            raw = _decode(secret_data_b64[name])
            value = base64.b64encode(raw).decode("ascii") if raw is not None else "!" + secret_data_b64[name]
        else:
            value = None
        pairs.append([name, value])
    canonical = json.dumps(pairs, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _diff_lines(pairs):
    return "".join("%s: %s\n" % pair for pair in pairs)


def plan_secret_patch(current_b64, data=None, remove=(), state="present", env_var_keys=True):
    """Plan writing ``data`` (plain values) into, or removing ``remove`` from, a Secret's data.

    ``current_b64`` is the Secret's current ``data`` (base64 values) or None when
    the Secret does not exist yet. Keys not named are kept as they are. Raises
    SecretDataError for input that must not be written (see validate_secret_data,
    which gets ``env_var_keys``).
    The diff is text with one ``KEY: <marker>`` line per key; it never holds a value.
    """
    current = dict(current_b64 or {})
    after = dict(current)
    added, updated, removed, unchanged = [], [], [], []
    if state == "present":
        errors = validate_secret_data(data, env_var_keys=env_var_keys)
        if errors:
            raise SecretDataError(errors)
        for name in sorted(data):
            encoded = encode_value(data[name])
            if name not in current:
                added.append(name)
            elif _decode(current[name]) == _decode(encoded):
                unchanged.append(name)
                continue
            else:
                updated.append(name)
            after[name] = encoded
    elif state == "absent":
        if not remove:
            raise SecretDataError(["keys is empty: name the keys to remove"])
        for name in sorted(set(remove)):
            if name in after:
                del after[name]
                removed.append(name)
            else:
                unchanged.append(name)
    else:
        raise SecretDataError(["state must be present or absent, not %r" % (state,)])

    before_marks = [
        (name, MARK_OLD if name in updated else MARK_REMOVED if name in removed else MARK_UNCHANGED)
        for name in sorted(current)
    ]
    after_marks = [
        (name, MARK_NEW if name in updated else MARK_ADDED if name in added else MARK_UNCHANGED)
        for name in sorted(after)
    ]
    return SecretPlan(
        changed=bool(added or updated or removed),
        added=tuple(added),
        updated=tuple(updated),
        removed=tuple(removed),
        unchanged=tuple(unchanged),
        keys=tuple(sorted(after)),
        data=after,
        diff_before=_diff_lines(before_marks),
        diff_after=_diff_lines(after_marks),
    )


def scrub(text, secret_values):
    """``text`` with every non-empty value of ``secret_values`` replaced by ``***``.

    Longer values go first, so a value that contains another one is replaced whole.
    """
    if not text:
        return text
    for value in sorted({v for v in secret_values if v}, key=len, reverse=True):
        text = text.replace(value, "***")
    return text


def secret_values(data_b64=None, plain=None):
    """Every form in which a value could show up in a message: plain and base64.

    ``data_b64`` is a Secret's data, ``plain`` a dict of values as given by the user.
    """
    values = set()
    for b64 in (data_b64 or {}).values():
        if b64:
            values.add(b64)
            raw = _decode(b64)
            if raw:
                values.add(raw.decode("utf-8", "replace"))
    for value in (plain or {}).values():
        text = _as_text(value)
        if text:
            values.add(text)
            values.add(encode_value(text))
    return values
