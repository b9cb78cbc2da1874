# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: role variables nobody reads (a typo'd name).

Pure, no I/O. Ansible ignores a variable no task reads, so ``litellm_paralel_models`` would add
nothing and say nothing; the role hands the names of the host's ``litellm_*`` variables and the
names its argument spec declares to ``unknown_variable_messages``, warns with each message, and
fails with them when ``litellm_strict_vars`` is true.
"""

from __future__ import annotations

import difflib

PREFIX = "litellm_"
CUTOFF = 0.75
"""How close (difflib ratio) an unknown name must be to a known one to be named as what was meant."""


def unknown_variables(names, known, prefix=PREFIX):
    """``[(name, closest known name or None)]`` for each name in ``names`` that starts with ``prefix``
    and is not in ``known``, sorted by name."""
    known = sorted(set(known))
    found = []
    for name in sorted(set(names)):
        if not isinstance(name, str) or not name.startswith(prefix) or name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=CUTOFF)
        found.append((name, close[0] if close else None))
    return found


def unknown_variable_messages(names, known, prefix=PREFIX):
    """One message per unknown ``prefix`` variable: its name, the known name it is closest to, the fix."""
    messages = []
    for name, close in unknown_variables(names, known, prefix):
        if close:
            messages.append(
                "%s is not a variable of the homelab.litellm role and is ignored; did you mean %s?" % (name, close)
            )
        else:
            messages.append(
                "%s is not a variable of the homelab.litellm role and is ignored (the known ones are in the "
                "role's meta/argument_specs.yml)" % name
            )
    return messages


def spec_option_names(argument_specs, entry_point="main"):
    """The option names of ``entry_point`` in a role's parsed ``meta/argument_specs.yml``."""
    specs = (argument_specs or {}).get("argument_specs") or {}
    return sorted(((specs.get(entry_point) or {}).get("options") or {}).keys())
