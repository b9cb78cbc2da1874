# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/_report.py: write a run report file, atomically."""

from __future__ import annotations

import datetime
import json
import os
import stat

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _report

CONTENT = {"target": {"namespace": "ml"}, "models": ["b", "a"], "restarted": True}


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_report_text_is_sorted_indented_json_with_a_newline():
    text = _report.report_text({"b": 1, "a": datetime.date(2026, 12, 1)})
    assert text == '{\n  "a": "2026-12-01",\n  "b": 1\n}\n'


def test_write_creates_the_file_with_the_mode(tmp_path):
    path = tmp_path / "report.json"
    assert _report.write_report(str(path), CONTENT) is True
    assert json.loads(path.read_text()) == CONTENT
    assert mode_of(path) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"], "no temporary file is left"


def test_an_unchanged_file_is_not_written_again(tmp_path):
    path = tmp_path / "report.json"
    _report.write_report(str(path), CONTENT)
    inode = os.stat(path).st_ino
    assert _report.write_report(str(path), dict(CONTENT)) is False
    assert os.stat(path).st_ino == inode


@pytest.mark.parametrize(
    "change",
    [
        lambda path: path.write_text("{}\n"),
        lambda path: os.chmod(path, 0o644),
    ],
)
def test_a_file_with_other_content_or_mode_is_replaced(tmp_path, change):
    path = tmp_path / "report.json"
    _report.write_report(str(path), CONTENT)
    change(path)
    inode = os.stat(path).st_ino
    assert _report.write_report(str(path), CONTENT) is True
    assert json.loads(path.read_text()) == CONTENT and mode_of(path) == 0o600
    assert os.stat(path).st_ino != inode, "replaced by a rename, never rewritten in place"


def test_mode(tmp_path):
    path = tmp_path / "report.json"
    assert _report.write_report(str(path), CONTENT, mode=0o640) is True
    assert mode_of(path) == 0o640
    assert _report.write_report(str(path), CONTENT, mode=0o600) is True
    assert mode_of(path) == 0o600


def test_check_mode_says_changed_and_writes_nothing(tmp_path):
    path = tmp_path / "report.json"
    assert _report.write_report(str(path), CONTENT, check_mode=True) is True
    assert not path.exists()
    _report.write_report(str(path), CONTENT)
    assert _report.write_report(str(path), CONTENT, check_mode=True) is False
    assert _report.write_report(str(path), {"other": 1}, check_mode=True) is True
    assert json.loads(path.read_text()) == CONTENT


def test_a_failed_write_leaves_no_temporary_file_and_the_old_report(tmp_path, monkeypatch):
    path = tmp_path / "report.json"
    _report.write_report(str(path), CONTENT)

    def refuse(*_args):
        raise OSError("disk full")

    monkeypatch.setattr(_report.os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        _report.write_report(str(path), {"new": True})
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
    assert json.loads(path.read_text()) == CONTENT


def test_a_missing_directory_fails(tmp_path):
    with pytest.raises(OSError):
        _report.write_report(str(tmp_path / "missing" / "report.json"), CONTENT)
