# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""litellm_report through main(): the run report written atomically where the module runs."""

from __future__ import annotations

import json
import os
import stat

from ansible_collections.homelab.litellm.plugins.modules import litellm_report

CONTENT = {"target": {"namespace": "ml"}, "restarted": True, "keys_changed": ["GROQ_API_KEY"]}


def test_the_report_is_written_once(tmp_path, run_module):
    path = tmp_path / "litellm-report.json"
    result = run_module(litellm_report, {"path": str(path), "content": CONTENT})
    assert (result.rc, result["changed"], result["path"]) == (0, True, str(path))
    assert json.loads(path.read_text()) == CONTENT
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert run_module(litellm_report, {"path": str(path), "content": CONTENT})["changed"] is False


def test_check_mode_writes_nothing(tmp_path, run_module):
    path = tmp_path / "litellm-report.json"
    assert run_module(litellm_report, {"path": str(path), "content": CONTENT}, check_mode=True)["changed"] is True
    assert not path.exists()


def test_a_mode_given_as_octal_text(tmp_path, run_module):
    path = tmp_path / "r.json"
    run_module(litellm_report, {"path": str(path), "content": CONTENT, "mode": "0640"})
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


def test_a_mode_given_as_an_unquoted_yaml_octal(tmp_path, run_module):
    path = tmp_path / "r.json"
    run_module(litellm_report, {"path": str(path), "content": CONTENT, "mode": 0o640})
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


def test_path_and_content_are_required(run_module):
    result = run_module(litellm_report, {"content": CONTENT})
    assert result.failed and "path" in result["msg"]
