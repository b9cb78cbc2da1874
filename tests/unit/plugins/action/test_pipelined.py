# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module that may be given a secret as an argument is sent only pipelined when it is given one.

Without pipelining Ansible writes AnsiballZ_<module>.py, the arguments inside, into ~/.ansible/tmp
(found by test_reliability's scan: playbooks/rbac.yml's litellm_plan task carried the vault's keys).
"""

from __future__ import annotations

import importlib
import json
from unittest.mock import MagicMock

import pytest
from ansible import constants as C
from ansible_collections.homelab.litellm.tests.unit.plugins.action.test_litellm_apply import Connection

SECRET = "gsk_" + "Pipe" * 12
NOTHING_SENT = "Nothing was sent and nothing was written: Ansible would write this task's arguments, "

# module -> (arguments carrying a secret, arguments carrying none)
CASES = {
    "litellm_plan": ({"api_keys": {"GROQ_API_KEY": SECRET}}, {"api_keys": {}}),
    "litellm_secret": ({"data": {"GROQ_API_KEY": SECRET}}, {"keys": ["GROQ_API_KEY"]}),
    "litellm_verify": ({"master_key": SECRET}, {"expected_models": ["vllm-qwen"]}),
    "litellm_config": ({"api_key": SECRET}, {"models": []}),
    "litellm_rollout": ({"password": SECRET}, {"force": True}),
    "litellm_known_good": ({"kubeconfig": {"users": [{"user": {"token": SECRET}}]}}, {"kubeconfig": "/kube"}),
    "litellm_kubeconfig": ({"api_key": SECRET}, {"service_account": "ci"}),
}


def action(module, args, pipelining):
    plugin_class = importlib.import_module("ansible_collections.homelab.litellm.plugins.action." + module).ActionModule
    task = MagicMock(args=dict(namespace="ml", **args), async_val=0, check_mode=False)
    plugin = plugin_class(task, Connection(pipelining=pipelining), play_context=None, loader=None, templar=None)
    plugin._execute_module = MagicMock(return_value={"changed": False})
    return plugin


@pytest.fixture(autouse=True)
def keep_remote_files_off(monkeypatch):
    monkeypatch.setattr(C, "DEFAULT_KEEP_REMOTE_FILES", False)


@pytest.mark.parametrize("module", sorted(CASES))
def test_a_secret_argument_without_pipelining_is_refused_before_anything_is_sent(module):
    plugin = action(module, CASES[module][0], pipelining=False)
    result = plugin.run(task_vars={"inventory_hostname": "ml-cluster"})
    assert result["failed"] is True and result["msg"].startswith(NOTHING_SENT)
    plugin._execute_module.assert_not_called()
    assert SECRET not in json.dumps(result)


@pytest.mark.parametrize("module", sorted(CASES))
def test_a_secret_argument_is_sent_pipelined(module):
    plugin = action(module, CASES[module][0], pipelining=True)
    assert plugin.run(task_vars={}) == {"changed": False}
    plugin._execute_module.assert_called_once()


@pytest.mark.parametrize("module", sorted(CASES))
def test_a_task_without_a_secret_is_sent_also_without_pipelining(module):
    plugin = action(module, CASES[module][1], pipelining=False)
    assert plugin.run(task_vars={}) == {"changed": False}
    plugin._execute_module.assert_called_once()


@pytest.mark.parametrize("module", sorted(CASES))
def test_keep_remote_files_is_refused_with_a_secret(module, monkeypatch):
    monkeypatch.setattr(C, "DEFAULT_KEEP_REMOTE_FILES", True)
    plugin = action(module, CASES[module][0], pipelining=True)
    result = plugin.run(task_vars={"inventory_hostname": "ml-cluster"})
    assert result["failed"] is True and "keep_remote_files is on" in result["msg"]
    plugin._execute_module.assert_not_called()
