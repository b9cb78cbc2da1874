# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: the one rule for environment variable names.

LiteLLM reads credentials from its environment through ``os.environ/NAME`` references in
config.yaml; Kubernetes puts a Secret's keys into that environment with ``envFrom``. Every part
of the collection (presets, the Secret patch, the config merge, the rollout digest, the wiring
check) asks this module what a valid name is and which names a config references.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

ENV_REFERENCE_PREFIX = "os.environ/"
"""LiteLLM replaces a value ``os.environ/NAME`` by the environment variable NAME."""

ENV_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
"""A portable environment variable name (POSIX): what a shell, Kubernetes' envFrom and LiteLLM all
accept. Kubernetes would also take '.' and '-', which no shell can read back."""


def is_env_var_name(name):
    """True for a string that is a valid environment variable name."""
    return isinstance(name, str) and bool(ENV_VAR_NAME.match(name))


def suggested_env_var_name(name):
    """A valid name close to ``name``: invalid characters become '_', upper case."""
    text = re.sub(r"[^A-Za-z0-9_]", "_", str(name)).upper() or "NAME"
    return "_" + text if text[0].isdigit() else text


def env_reference(value):
    """The NAME of a value ``os.environ/NAME`` (whatever NAME is), else None."""
    if isinstance(value, str) and value.startswith(ENV_REFERENCE_PREFIX):
        return value[len(ENV_REFERENCE_PREFIX) :]
    return None


def referenced_env_vars(node):
    """Sorted names referenced as ``os.environ/NAME`` anywhere in plain or YAML data ``node``.

    Walks mappings and lists at any depth: a config, a list of model entries or one entry.
    """
    found = set()

    def walk(item):
        if isinstance(item, Mapping):
            for value in item.values():
                walk(value)
        elif isinstance(item, (list, tuple)):
            for value in item:
                walk(value)
        else:
            name = env_reference(item)
            if name:
                found.add(str(name))

    walk(node)
    return sorted(found)
