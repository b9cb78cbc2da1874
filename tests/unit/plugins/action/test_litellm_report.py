# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The litellm_report action plugin: the report written on the controller, in-process."""

from __future__ import annotations

import json
import os
import stat
from types import SimpleNamespace

import pytest
from ansible.errors import AnsibleActionFail
from ansible_collections.homelab.litellm.plugins.action.litellm_report import ActionModule

CONTENT = {"target": {"namespace": "ml"}, "failure": None}


def action(args, check_mode=False):
    task = SimpleNamespace(args=args, check_mode=check_mode, async_val=0, action="homelab.litellm.litellm_report")
    connection = SimpleNamespace(_shell=SimpleNamespace(tmpdir=None))
    return ActionModule(task, connection, play_context=None, loader=None, templar=None)


def test_the_report_is_written_on_the_controller(tmp_path):
    path = tmp_path / "report.json"
    result = action({"path": str(path), "content": CONTENT}).run(task_vars={})
    assert (result["changed"], result["path"]) == (True, str(path))
    assert json.loads(path.read_text()) == CONTENT and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert action({"path": str(path), "content": CONTENT}).run(task_vars={})["changed"] is False


def test_check_mode_writes_nothing(tmp_path):
    path = tmp_path / "report.json"
    assert action({"path": str(path), "content": CONTENT}, check_mode=True).run(task_vars={})["changed"] is True
    assert not path.exists()


def test_a_mode_that_is_not_octal_is_refused(tmp_path):
    with pytest.raises(AnsibleActionFail, match="mode must be a file mode such as '0600', not 'rw'"):
        action({"path": str(tmp_path / "r.json"), "content": CONTENT, "mode": "rw"}).run(task_vars={})


def test_a_file_that_cannot_be_written_is_a_clear_failure(tmp_path):
    missing = tmp_path / "no-such-dir" / "report.json"
    with pytest.raises(AnsibleActionFail, match="could not write the report to %s" % missing):
        action({"path": str(missing), "content": CONTENT}).run(task_vars={})


def test_arguments_are_validated_like_the_modules(tmp_path):
    with pytest.raises(Exception) as caught:
        action({"content": CONTENT}).run(task_vars={})
    assert "path" in str(caught.value)


def test_a_mode_given_as_an_unquoted_yaml_octal(tmp_path):
    path = tmp_path / "report.json"
    action({"path": str(path), "content": CONTENT, "mode": 0o640}).run(task_vars={})
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
