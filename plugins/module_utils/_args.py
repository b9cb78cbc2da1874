# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: the options every module shares, defined once.

Each spec has its doc fragment (plugins/doc_fragments/target.py, run.py). Every module of the
collection takes all of them, so the role can set them once in ``module_defaults`` for the action
group ``homelab.litellm.litellm``; a module ignores the target options it does not use.
"""

from __future__ import annotations

from ._k8s import k8s_auth_argument_spec

TARGET_ARG_SPEC = {
    "namespace": {"type": "str", "required": True},
    "deployment": {"type": "str", "default": "litellm"},
    "container": {"type": "str"},
    "configmap": {"type": "str"},
    "config_key": {"type": "str", "no_log": False},
    "secret": {"type": "str", "no_log": False},
    "service": {"type": "str"},
    "port": {"type": "int"},
}
"""Where LiteLLM is: the Deployment, and optionally the names discovery would otherwise read from it."""

RUN_ARG_SPEC = {
    "lock": {"type": "bool", "default": True},
    "lock_timeout": {"type": "int", "default": 300},
    "lock_duration": {"type": "int", "default": 15},
}
"""The run lock: a module that writes takes it for its own duration (a Lease renewed while it is held)."""


def argument_spec(**specific):
    """kubernetes.core's auth options, the target and run options, then the module's own ``specific`` ones.

    ``specific`` may redefine a shared option (an alias such as ``name``, or another default).
    """
    spec = k8s_auth_argument_spec()
    for name, option in list(TARGET_ARG_SPEC.items()) + list(RUN_ARG_SPEC.items()):
        spec[name] = dict(option)
    for name, option in specific.items():
        spec[name] = dict(spec.get(name) or {}, **option)
    return spec
