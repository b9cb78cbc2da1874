# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""meta/runtime.yml's action group holds exactly the modules that talk to the cluster (README: Modules)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml

COLLECTION = Path(__file__).resolve().parents[4]
MODULES = sorted(path.stem for path in (COLLECTION / "plugins" / "modules").glob("litellm_*.py"))


def action_group():
    return yaml.safe_load((COLLECTION / "meta" / "runtime.yml").read_text())["action_groups"]["litellm"]


def takes_connection_options(name):
    module = importlib.import_module("ansible_collections.homelab.litellm.plugins.modules." + name)
    return {"kubeconfig", "context", "host", "api_key"} <= set(module.argument_spec())


@pytest.mark.parametrize("name", MODULES)
def test_a_module_is_in_the_action_group_exactly_when_it_talks_to_the_cluster(name):
    assert (name in action_group()) is takes_connection_options(name)


def test_the_action_group_lists_only_modules_that_exist():
    assert sorted(action_group()) == sorted(name for name in MODULES if takes_connection_options(name))
    assert "litellm_report" not in action_group()  # it writes a file on the controller (README says so)
