# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The litellm_apply action plugin with ``mode: render``: the files the module rendered are written on the
controller, atomically, mode 0644, only when they change; check mode writes nothing; diff mode shows them.

``_execute_module`` is a mock answering what the module answers in render mode.
"""

from __future__ import annotations

import os
from types import SimpleNamespace
from unittest.mock import MagicMock

import pytest
from ansible import constants as C
from ansible.errors import AnsibleActionFail
from ansible_collections.homelab.litellm.plugins.action.litellm_apply import ActionModule
from ansible_collections.homelab.litellm.tests.unit.plugins.action.test_litellm_apply import Connection

FILES = {"config.yaml": "model_list: []  # the operator's comment\n", "secret-keys.yaml": "secrets: []\n"}


@pytest.fixture(autouse=True)
def keep_remote_files_off(monkeypatch):
    monkeypatch.setattr(C, "DEFAULT_KEEP_REMOTE_FILES", False)


def run(path, files=None, check_mode=False, diff=False, answer=None):
    task = SimpleNamespace(
        args={"namespace": "ml", "mode": "render", "render_path": str(path)},
        async_val=0,
        check_mode=check_mode,
        diff=diff,
        action="homelab.litellm.litellm_apply",
    )
    plugin = ActionModule(task, Connection(), play_context=None, loader=None, templar=None)
    plugin._execute_module = MagicMock(
        return_value=answer or {"changed": False, "rendered": {"format": "configmap", "files": dict(files or FILES)}}
    )
    return plugin.run(task_vars={})


def test_the_files_are_written_once_with_mode_0644_and_then_left_alone(tmp_path):
    target = tmp_path / "apps" / "litellm"
    result = run(target, diff=True)
    assert result["changed"] is True
    for name, text in FILES.items():
        assert (target / name).read_text() == text
        assert os.stat(target / name).st_mode & 0o777 == 0o644
    assert [entry["name"] for entry in result["rendered"]["files"]] == ["config.yaml", "secret-keys.yaml"]
    assert "files" not in result["rendered"]["files"][0] and "after" not in result["rendered"]["files"][0]
    assert [d["after_header"] for d in result["diff"]] == [str(target / name) for name in sorted(FILES)]
    assert result["diff"][0]["before_header"].endswith("(new file)")

    again = run(target, diff=True)
    assert again["changed"] is False and again["diff"] == []
    assert sorted(os.listdir(target)) == sorted(FILES), "no temporary file is left behind"


def test_a_changed_file_is_replaced_and_its_diff_shown(tmp_path):
    run(tmp_path)
    result = run(tmp_path, files=dict(FILES, **{"config.yaml": "model_list: [a]\n"}), diff=True)
    assert result["changed"] is True
    [diff] = result["diff"]
    assert (diff["before"], diff["after"]) == (FILES["config.yaml"], "model_list: [a]\n")


def test_a_wrong_mode_on_an_unchanged_file_is_a_change(tmp_path):
    run(tmp_path)
    os.chmod(tmp_path / "config.yaml", 0o600)
    assert run(tmp_path)["changed"] is True
    assert os.stat(tmp_path / "config.yaml").st_mode & 0o777 == 0o644


def test_check_mode_writes_nothing_and_says_what_would_change(tmp_path):
    result = run(tmp_path / "new", check_mode=True, diff=True)
    assert result["changed"] is True and len(result["diff"]) == 2
    assert not (tmp_path / "new").exists()


def test_a_failed_module_writes_no_file(tmp_path):
    result = run(tmp_path, answer={"failed": True, "msg": "Nothing was written. Groq rejected the key"})
    assert result["failed"] is True and os.listdir(tmp_path) == []


def test_a_path_that_is_a_file_fails_naming_it(tmp_path):
    (tmp_path / "taken").write_text("")
    with pytest.raises(AnsibleActionFail, match="is not a directory"):
        run(tmp_path / "taken")
