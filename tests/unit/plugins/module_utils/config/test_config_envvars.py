# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/config/envvars.py: the one rule for environment variable names."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils.config import envvars
from ansible_collections.homelab.litellm.plugins.module_utils.config.document import parse_config

STORY = (Path(__file__).parent.parent / "fixtures" / "story-config.yaml").read_text()


@pytest.mark.parametrize("name", ["GROQ_API_KEY", "_PRIVATE", "a", "A1", "lower_case_ok", "X" * 200])
def test_valid_names(name):
    assert envvars.is_env_var_name(name) is True


@pytest.mark.parametrize(
    "name",
    ["", "1KEY", "GROQ-API-KEY", "groq.key", "WITH SPACE", "\u00c4PI_KEY", "KEY\n", "KEY=1", None, 7, b"KEY", ["KEY"]],
)
def test_invalid_names(name):
    assert envvars.is_env_var_name(name) is False


@pytest.mark.parametrize(
    "name, suggested",
    [
        ("groq-key", "GROQ_KEY"),
        ("groq.api.key", "GROQ_API_KEY"),
        ("1KEY", "_1KEY"),
        ("", "NAME"),
        ("with space", "WITH_SPACE"),
        (42, "_42"),
    ],
)
def test_suggested_names_are_valid(name, suggested):
    assert envvars.suggested_env_var_name(name) == suggested
    assert envvars.is_env_var_name(suggested)


@pytest.mark.parametrize(
    "value, name",
    [
        ("os.environ/GROQ_API_KEY", "GROQ_API_KEY"),
        ("os.environ/groq-key", "groq-key"),
        ("os.environ/", ""),
        ("OS.ENVIRON/X", None),
        ("GROQ_API_KEY", None),
        (None, None),
        (5, None),
    ],
)
def test_env_reference(value, name):
    assert envvars.env_reference(value) == name


def test_referenced_env_vars_of_the_story():
    assert envvars.referenced_env_vars(parse_config(STORY)) == ["DATABASE_URL", "LITELLM_MASTER_KEY", "OPENAI_API_KEY"]


def test_referenced_env_vars_walks_every_depth_and_counts_once():
    nested = {
        "a": [{"b": "os.environ/B"}, "os.environ/A"],
        "c": "os.environ/A",
        "d": "plain",
        "e": ("os.environ/C",),
        "f": 1,
        "g": None,
    }
    assert envvars.referenced_env_vars(nested) == ["A", "B", "C"]


def test_referenced_env_vars_of_a_list_of_entries_and_a_scalar():
    assert envvars.referenced_env_vars([{"litellm_params": {"api_key": "os.environ/K"}}]) == ["K"]
    assert envvars.referenced_env_vars("os.environ/ONE") == ["ONE"]
    assert envvars.referenced_env_vars("plain") == []
    assert envvars.referenced_env_vars(None) == []
