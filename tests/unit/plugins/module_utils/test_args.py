# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/_args.py: the options every module shares, defined once."""

from __future__ import annotations

from ansible_collections.homelab.litellm.plugins.module_utils import _args
from ansible_collections.homelab.litellm.plugins.module_utils._k8s import AUTH_ARG_SPEC


def test_every_module_gets_auth_target_and_run_options():
    spec = _args.argument_spec()
    assert set(AUTH_ARG_SPEC) | set(_args.TARGET_ARG_SPEC) | set(_args.RUN_ARG_SPEC) == set(spec)
    assert spec["namespace"] == {"type": "str", "required": True}
    assert spec["deployment"] == {"type": "str", "default": "litellm"}
    assert spec["lock"] == {"type": "bool", "default": True}
    assert spec["lock_timeout"] == {"type": "int", "default": 300}
    assert spec["lock_duration"] == {"type": "int", "default": 15}
    assert "run_id" not in spec, "the lock holder is a random token per run, never an option"


def test_a_module_adds_its_own_options_and_refines_shared_ones():
    spec = _args.argument_spec(
        configmap={"aliases": ["name"]}, models={"type": "list", "elements": "dict"}, lock_duration={"default": 30}
    )
    assert spec["configmap"] == {"type": "str", "aliases": ["name"]}
    assert spec["models"] == {"type": "list", "elements": "dict"}
    assert spec["lock_duration"] == {"type": "int", "default": 30}
    assert _args.TARGET_ARG_SPEC["configmap"] == {"type": "str"}, "the shared spec is not changed"
    assert _args.RUN_ARG_SPEC["lock_duration"] == {"type": "int", "default": 15}
    assert "aliases" not in _args.argument_spec()["configmap"]
