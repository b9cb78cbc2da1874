# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/_role_vars.py: a typo'd role variable is named."""

from __future__ import annotations

import pathlib

import yaml
from ansible_collections.homelab.litellm.plugins.module_utils import _role_vars as role_vars

ROLE = pathlib.Path(__file__).resolve().parents[4] / "roles" / "litellm"
SPECS = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())


def test_a_typo_names_the_variable_meant():
    messages = role_vars.unknown_variable_messages(
        ["litellm_paralel_models", "litellm_providers", "vault_litellm_api_keys", "__litellm_models"],
        role_vars.spec_option_names(SPECS),
    )
    assert messages == [
        "litellm_paralel_models is not a variable of the homelab.litellm role and is ignored; did you mean "
        "litellm_parallel_models?"
    ]


def test_a_name_close_to_nothing_is_still_named():
    messages = role_vars.unknown_variable_messages(["litellm_banana"], role_vars.spec_option_names(SPECS))
    assert len(messages) == 1 and messages[0].startswith("litellm_banana is not a variable of the homelab.litellm")
    assert "did you mean" not in messages[0]


def test_names_read_elsewhere_count_as_known():
    names = ["litellm_rbac_kubeconfig_out"]
    assert role_vars.unknown_variable_messages(names, ["litellm_rbac_kubeconfig_out"]) == []
    assert len(role_vars.unknown_variable_messages(names, role_vars.spec_option_names(SPECS))) == 1


def test_every_default_of_the_role_is_in_its_argument_spec():
    # The spec is the list of known names: a default missing there would be warned about on every run.
    assert role_vars.unknown_variables(DEFAULTS, role_vars.spec_option_names(SPECS)) == []
