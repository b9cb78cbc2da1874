# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The litellm_apply action plugin: the task, provider keys and all, is sent only when Ansible pipelines it.

The connection below decides with ansible-core's own ``ConnectionBase.is_pipelining_enabled`` over the
settings a test gives it; ``_execute_module`` (what would send the module) is a mock.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from unittest.mock import MagicMock

import pytest
from ansible import constants as C
from ansible.errors import AnsibleActionFail
from ansible.plugins.connection import ConnectionBase
from ansible_collections.homelab.litellm.plugins.action.litellm_apply import ActionModule

GROQ_KEY = "gsk_" + "Act1" * 12
ARGS = {"namespace": "ml", "api_keys": {"GROQ_API_KEY": GROQ_KEY}}
NOTHING_SENT = "Nothing was sent and nothing was written: Ansible would write this task's arguments"


class Connection:
    """The parts of a connection plugin the action plugin asks about."""

    has_pipelining = True
    always_pipeline_modules = False
    has_native_async = False
    is_pipelining_enabled = ConnectionBase.is_pipelining_enabled

    def __init__(self, pipelining=True, become=None):
        self.pipelining = pipelining
        self.become = become
        self._shell = SimpleNamespace(tmpdir=None)
        self._play_context = None

    def get_option(self, name):
        return {"pipelining": self.pipelining}[name]


def action(connection, async_val=0, check_mode=False):
    task = SimpleNamespace(
        args=dict(ARGS), async_val=async_val, check_mode=check_mode, action="homelab.litellm.litellm_apply"
    )
    plugin = ActionModule(task, connection, play_context=None, loader=None, templar=None)
    plugin._execute_module = MagicMock(return_value={"changed": True, "summary": "added 1 model"})
    return plugin


@pytest.fixture(autouse=True)
def keep_remote_files_off(monkeypatch):
    monkeypatch.setattr(C, "DEFAULT_KEEP_REMOTE_FILES", False)


def test_a_pipelined_task_is_sent_and_its_result_returned():
    plugin = action(Connection())
    result = plugin.run(task_vars={"inventory_hostname": "ml-cluster"})
    assert result == {"changed": True, "summary": "added 1 model"}
    plugin._execute_module.assert_called_once_with(task_vars={"inventory_hostname": "ml-cluster"}, wrap_async=False)


def test_pipelining_off_is_refused_before_anything_is_sent():
    plugin = action(Connection(pipelining=False))
    result = plugin.run(task_vars={"inventory_hostname": "ml-cluster"})
    assert result["failed"] is True and result["changed"] is False
    assert result["msg"].startswith(NOTHING_SENT + ", the provider keys among them, into a file under ~/.ansible/tmp")
    assert (
        "on ml-cluster (pipelining is off for this host (ansible_pipelining / [connection] pipelining))"
        in (result["msg"])
    )
    assert "ansible_pipelining: true" in result["msg"]
    plugin._execute_module.assert_not_called()
    assert GROQ_KEY not in json.dumps(result)


def test_keep_remote_files_is_refused_also_with_pipelining_on(monkeypatch):
    monkeypatch.setattr(C, "DEFAULT_KEEP_REMOTE_FILES", True)
    plugin = action(Connection())
    result = plugin.run(task_vars={})
    assert result["failed"] is True and result["msg"].startswith(NOTHING_SENT)
    assert (
        "on the target (ANSIBLE_KEEP_REMOTE_FILES / keep_remote_files is on, which turns pipelining off)"
        in (result["msg"])
    )
    plugin._execute_module.assert_not_called()


def test_a_become_method_that_cannot_pipeline_is_named():
    plugin = action(Connection(become=SimpleNamespace(pipelining=False, name="su")))
    result = plugin.run(task_vars={"inventory_hostname": "ml-cluster"})
    assert result["failed"] is True and "(become method su cannot pipeline)" in result["msg"]
    plugin._execute_module.assert_not_called()


def test_an_async_task_is_refused_before_anything_is_sent():
    plugin = action(Connection(), async_val=600)
    with pytest.raises(AnsibleActionFail, match="does not support async"):
        plugin.run(task_vars={})
    plugin._execute_module.assert_not_called()
    assert plugin._why_not_pipelined(wrap_async=True) == "async tasks are never pipelined"


def test_check_mode_is_sent_like_any_run():
    plugin = action(Connection(), check_mode=True)
    assert plugin.run(task_vars={})["summary"] == "added 1 model"
    plugin._execute_module.assert_called_once()
