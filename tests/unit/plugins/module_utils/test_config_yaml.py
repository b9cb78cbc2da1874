# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/_config_yaml.py: config.yaml text <-> round-trip document."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _config_yaml as cy

FIXTURES = Path(__file__).parent / "fixtures"
STORY = (FIXTURES / "story-config.yaml").read_text()
MIXED = (FIXTURES / "mixed-config.yaml").read_text()


def parse_errors(text):
    with pytest.raises(cy.ConfigError) as caught:
        cy.parse_config(text)
    assert caught.value.errors == caught.value.messages
    return caught.value.errors


# -- parse and render ----------------------------------------------------------------------------


def test_story_round_trip_is_byte_identical():
    assert cy.render_config(cy.parse_config(STORY)) == STORY


def test_parse_keeps_structure_and_flow_style():
    doc = cy.parse_config(STORY)
    assert [entry["model_name"] for entry in doc["model_list"]] == ["vllm-qwen", "ollama-qwen", "openai-gpt4o"]
    assert list(doc) == ["model_list", "router_settings", "litellm_settings", "general_settings"]
    assert doc["router_settings"]["fallbacks"].fa.flow_style() is True


@pytest.mark.parametrize(
    "text, expected",
    [
        (STORY, cy.YamlStyle(mapping=2, sequence=4, offset=2, explicit_start=False)),
        ("model_list:\n- model_name: a\n  litellm_params:\n    model: b\n", cy.YamlStyle(2, 2, 0, False)),
        (
            "---\nmodel_list:\n    -   model_name: a\n        litellm_params:\n            model: b\n",
            cy.YamlStyle(4, 8, 4, True),
        ),
        ("general_settings:\n    master_key: x\n", cy.YamlStyle(4, 4, 2, False)),
        ("# only comments first\n\nkey: value\n", cy.YamlStyle(2, 4, 2, False)),
    ],
)
def test_guess_yaml_style(text, expected):
    assert cy.guess_yaml_style(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        STORY,
        MIXED,
        "model_list:\n- model_name: a\n  litellm_params:\n    model: openai/b\n",
        "---\n# head\nmodel_list:\n    - model_name: a\n      litellm_params:\n          model: openai/b\n",
    ],
)
def test_round_trip_with_guessed_style(text):
    assert cy.render_config(cy.parse_config(text), cy.guess_yaml_style(text)) == text


def test_render_is_deterministic():
    doc = cy.parse_config(STORY)
    assert cy.render_config(doc) == cy.render_config(doc) == cy.render_config(cy.parse_config(STORY))


@pytest.mark.parametrize(
    "text, fragments",
    [
        (
            "model_list:\n  - model_name: a\n   bad: [\n",
            ["not valid YAML", "line ", "CrashLoopBackOff", "fix the YAML"],
        ),
        ("", ["config.yaml is empty", "CrashLoopBackOff", "restore the config"]),
        ("   \n", ["config.yaml is empty"]),
        ("# only a comment\n", ["holds only comments", "CrashLoopBackOff"]),
        ("- a\n- b\n", ["mapping at the top level", "not a list"]),
        ("just text\n", ["mapping at the top level", "not a string"]),
        ("model_list:\n  model_name: a\n", ["model_list is a mapping, not a list", "'- model_name: ...'"]),
        (
            "model_list:\n  - just-a-name\n",
            ["model_list[0] is a string, not a mapping", "CrashLoopBackOff", "remove it"],
        ),
        (
            "model_list:\n  - litellm_params:\n      model: openai/x\n",
            ["model_list[0] has no model_name", "add model_name"],
        ),
        (
            "model_list:\n  - model_name: 42\n    litellm_params:\n      model: openai/x\n",
            ["model_list[0]: model_name 42 is a int", "quote it"],
        ),
        (
            "model_list:\n  - model_name: a\n",
            ["model_list[0] (model_name 'a') has no litellm_params", "CrashLoopBackOff", "add litellm_params"],
        ),
        (
            "model_list:\n  - model_name: a\n    litellm_params:\n      api_base: http://x\n",
            ["(model_name 'a') has no litellm_params.model", "CrashLoopBackOff", "LiteLLM model string"],
        ),
    ],
)
def test_parse_config_errors(text, fragments):
    text_of_errors = "; ".join(parse_errors(text))
    for fragment in fragments:
        assert fragment in text_of_errors


@pytest.mark.parametrize(
    "text, key, lines",
    [
        ("model_list:\n  - model_name: a\n    model_name: b\n", "model_name", "lines 2 and 3"),
        (
            "general_settings:\n  master_key: x\ngeneral_settings:\n  master_key: y\n",
            "general_settings",
            "lines 1 and 3",
        ),
    ],
)
def test_a_duplicate_key_is_told_truthfully(text, key, lines):
    """PyYAML (what LiteLLM loads with) keeps the last of two keys silently: LiteLLM starts, it does not exit."""
    errors = parse_errors(text)
    assert errors == [
        "config.yaml has the key %r twice in one mapping (%s); LiteLLM reads it with PyYAML, which "
        "silently keeps only the last one; merge the two by hand" % (key, lines)
    ]
    assert "CrashLoopBackOff" not in errors[0] and "exits" not in errors[0]


def test_parse_config_reports_every_broken_entry():
    errors = parse_errors("model_list:\n  - model_name: a\n  - model_name: b\n    litellm_params: {}\n")
    assert len(errors) == 2
    assert errors[0].startswith("model_list[0]") and errors[1].startswith("model_list[1]")


def test_null_model_list_is_accepted():
    assert cy.parse_config("model_list:\ngeneral_settings: {}\n")["model_list"] is None


def test_config_digest():
    assert cy.config_digest("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert cy.config_digest(STORY) == hashlib.sha256(STORY.encode("utf-8")).hexdigest()
    assert cy.config_digest(STORY) != cy.config_digest(STORY + "\n")


@pytest.mark.parametrize(
    "value, expected",
    [
        ({}, "mapping"),
        ([], "list"),
        ((), "list"),
        ("x", "string"),
        (None, "null"),
        (1, "int"),
        (1.5, "float"),
        (True, "bool"),
    ],
)
def test_yaml_type(value, expected):
    assert cy.yaml_type(value) == expected


# -- plain data, comparison, in-place sync ----------------------------------------------------------


def test_plain_values_and_strict_comparison():
    doc = cy.parse_config("a: &flag true\nb: *flag\nc: 1.5\nd: 'x'\ne: [1, {f: null}]\n")
    assert cy.plain(doc) == {"a": True, "b": True, "c": 1.5, "d": "x", "e": [1, {"f": None}]}
    assert cy.plain(doc)["a"] is True
    assert cy.plain(doc)["d"].__class__ is str, "plain str, not ruamel's quoted scalar"


@pytest.mark.parametrize(
    "left, right, equal",
    [
        ({"a": [1, 2]}, {"a": [1, 2]}, True),
        ((1, 2), [1, 2], True),
        (True, 1, False),
        (1, True, False),
        (False, False, True),
        ({"a": 1}, {"a": 1, "b": 2}, False),
        ([1], 1, False),
        ([1, 2], [1], False),
        ({"a": {"b": True}}, {"a": {"b": 1}}, False),
        ("x", "x", True),
    ],
)
def test_same(left, right, equal):
    assert cy.same(left, right) is equal


def test_sync_mapping_keeps_comments_and_order():
    doc = cy.parse_config("settings:\n  a: 1  # one\n  b: 2\n  # before c\n  c: 3\n")
    cy.sync_mapping(doc["settings"], {"a": 7, "c": 3, "d": 4}, delete_missing=False)
    assert cy.render_config(doc) == "settings:\n  a: 7  # one\n  b: 2\n  # before c\n  c: 3\n  d: 4\n"


def test_sync_mapping_deletes_missing_keys_only_when_asked():
    doc = cy.parse_config("settings:\n  a: 1\n  b: 2  # keep\n  c: 3\n")
    cy.sync_mapping(doc["settings"], {"a": 1, "b": 2}, delete_missing=True)
    assert cy.render_config(doc) == "settings:\n  a: 1\n  b: 2  # keep\n"


def test_sync_mapping_updates_nested_mappings_key_by_key():
    doc = cy.parse_config("s:\n  args:\n    ttl: 60  # seconds\n    lowest: 1\n")
    cy.sync_mapping(doc["s"], {"args": {"ttl": 30}}, delete_missing=False)
    assert cy.render_config(doc) == "s:\n  args:\n    ttl: 30  # seconds\n    lowest: 1\n"


def test_removed_list_item_leaves_the_comment_lines_at_its_position():
    doc = cy.parse_config("items:\n  - a\n  - b\n  # about c\n  - c\n")
    cy.remove_list_item(doc, "items", 1)
    assert cy.render_config(doc) == "items:\n  - a\n  # about c\n  - c\n"
    doc = cy.parse_config("items:\n  - a\n  # about b\n  - b\n")
    cy.remove_list_item(doc, "items", 0)
    assert cy.render_config(doc) == "items:\n  # about b\n  - b\n"


def test_to_node_is_block_style():
    doc = cy.parse_config("a: 1\n")
    cy.append_to_mapping(doc, "b", {"c": [1, {"d": 2}]})
    assert cy.render_config(doc) == "a: 1\nb:\n  c:\n    - 1\n    - d: 2\n"
