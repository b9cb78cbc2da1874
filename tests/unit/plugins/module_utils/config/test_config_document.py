# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/config/document.py: config.yaml text <-> round-trip document."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible_collections.homelab.litellm.plugins.module_utils.config import document as config_document

FIXTURES = Path(__file__).parent.parent / "fixtures"
STORY = (FIXTURES / "story-config.yaml").read_text()
MIXED = (FIXTURES / "mixed-config.yaml").read_text()


def parse_errors(text):
    with pytest.raises(config_document.ConfigError) as caught:
        config_document.parse_config(text)
    assert caught.value.errors == caught.value.messages
    return caught.value.errors


# -- parse and render ----------------------------------------------------------------------------


def test_story_round_trip_is_byte_identical():
    assert config_document.render_config(config_document.parse_config(STORY)) == STORY


def test_parse_keeps_structure_and_flow_style():
    doc = config_document.parse_config(STORY)
    assert [entry["model_name"] for entry in doc["model_list"]] == ["vllm-qwen", "ollama-qwen", "openai-gpt4o"]
    assert list(doc) == ["model_list", "router_settings", "litellm_settings", "general_settings"]
    assert doc["router_settings"]["fallbacks"].fa.flow_style() is True


@pytest.mark.parametrize(
    "text, expected",
    [
        (STORY, config_document.YamlStyle(mapping=2, sequence=4, offset=2, explicit_start=False)),
        ("model_list:\n- model_name: a\n  litellm_params:\n    model: b\n", config_document.YamlStyle(2, 2, 0, False)),
        (
            "---\nmodel_list:\n    -   model_name: a\n        litellm_params:\n            model: b\n",
            config_document.YamlStyle(4, 8, 4, True),
        ),
        ("general_settings:\n    master_key: x\n", config_document.YamlStyle(4, 4, 2, False)),
        ("# only comments first\n\nkey: value\n", config_document.YamlStyle(2, 4, 2, False)),
    ],
)
def test_guess_yaml_style(text, expected):
    assert config_document.guess_yaml_style(text) == expected


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
    assert (
        config_document.render_config(config_document.parse_config(text), config_document.guess_yaml_style(text))
        == text
    )


def test_render_is_deterministic():
    doc = config_document.parse_config(STORY)
    assert (
        config_document.render_config(doc)
        == config_document.render_config(doc)
        == config_document.render_config(config_document.parse_config(STORY))
    )


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
    assert config_document.parse_config("model_list:\ngeneral_settings: {}\n")["model_list"] is None


def test_config_digest():
    assert config_document.config_digest("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert config_document.config_digest(STORY) == hashlib.sha256(STORY.encode("utf-8")).hexdigest()
    assert config_document.config_digest(STORY) != config_document.config_digest(STORY + "\n")


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
    assert config_document.yaml_type(value) == expected


# -- bounds: size and alias expansion -------------------------------------------------------------


def alias_bomb(levels=9, width=9):
    """The YAML "billion laughs" (321 bytes here): each level an anchored list of ``width`` aliases to
    the level before, the last one inside a model entry that is otherwise valid."""
    lines = ["l0: &l0 [%s]" % ", ".join(["lol"] * width)]
    lines += [
        "l%d: &l%d [%s]" % (level, level, ", ".join(["*l%d" % (level - 1)] * width)) for level in range(1, levels)
    ]
    entry = "model_list:\n  - model_name: a\n    litellm_params:\n      model: groq/a\n      tags: *l%d\n"
    return "\n".join(lines) + "\n" + entry % (levels - 1)


def padded(size):
    """A valid config of exactly ``size`` bytes (UTF-8), padded with a comment of two-byte characters,
    so that a bound counting characters instead of bytes would let it through."""
    head = "model_list: []\n# "
    filler = size - len(head.encode("utf-8")) - 1
    return head + "\u00e9" * (filler // 2) + "x" * (filler % 2) + "\n"


def round_trip_root(text):
    return config_document._yaml(config_document.YamlStyle()).compose(text)


def pyyaml_root(text):
    return yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@pytest.mark.parametrize("compose", [pyyaml_root, round_trip_root], ids=["pyyaml", "ruamel"])
@pytest.mark.parametrize(
    "text, size",
    [
        ("just text\n", 1),
        ("a: 1\n", 3),
        ("a: &x [1, 2]\nb: *x\n", 9),
        ("a: &x [1, 2]\nb: *x\nc: [*x, *x]\n", 17),
        ("a: &x {k: v}\nb: {<<: *x, z: 1}\n", 13),
        ("a: &a [*a]\n", 1001),
        ("a: &a {b: [c, *a]}\n", 1001),
        (alias_bomb(), 1001),
    ],
)
def test_expanded_size_counts_each_alias_as_what_it_expands_to(compose, text, size):
    assert config_document.expanded_size(compose(text), 1000) == size


def shared_list(copies):
    """A config whose aliases expand to 4 + 1000 * (copies + 1) nodes: an anchored list of 999
    scalars (1,000 nodes) and a list of ``copies`` aliases to it."""
    return "a: &x [%s]\nb: [%s]\n" % (", ".join(["s"] * 999), ", ".join(["*x"] * copies))


@pytest.mark.parametrize("read", [config_document.load_plain, config_document.parse_config, config_document.read_back])
def test_aliases_are_read_up_to_the_bound_and_refused_past_it(read):
    assert config_document.MAX_EXPANDED_NODES == 1000000
    assert len(read(shared_list(998))["b"]) == 998  # 999,004 nodes
    with pytest.raises(config_document.ConfigError) as caught:
        read(shared_list(999))  # 1,000,004 nodes
    assert caught.value.errors == [
        "config.yaml expands to more than 1000000 nodes through YAML aliases (an alias bomb?): refused before it "
        "is read, since building or walking it takes gigabytes of memory; aliases for shared parts such as "
        "litellm_params are fine, nested ones that multiply are not; rewrite those by hand"
    ]


SHARED_PARAMS = (
    "x-groq: &groq {model: groq/b, api_key: os.environ/GROQ_API_KEY, timeout: 30}\nmodel_list:\n"
    "  - model_name: a\n    litellm_params:\n      <<: *groq\n      model: groq/a\n"
    "  - model_name: b\n    litellm_params: *groq\n"
)


@pytest.mark.parametrize(
    "read",
    [
        config_document.load_plain,
        config_document.load_lenient,
        config_document.read_back,
        lambda text: config_document.plain(config_document.parse_config(text)),
    ],
    ids=["load_plain", "load_lenient", "read_back", "parse_config"],
)
def test_shared_litellm_params_are_read_as_litellm_reads_them(read):
    """An alias, and a merge key whose keys the entry's own override (PyYAML's safe_load, LiteLLM's reader)."""
    assert [entry["litellm_params"] for entry in read(SHARED_PARAMS)["model_list"]] == [
        {"model": "groq/a", "api_key": "os.environ/GROQ_API_KEY", "timeout": 30},
        {"model": "groq/b", "api_key": "os.environ/GROQ_API_KEY", "timeout": 30},
    ]


def test_a_key_given_twice_beside_a_merge_key_is_still_refused():
    with pytest.raises(config_document.ConfigError) as caught:
        config_document.load_plain("x: &x {a: 1}\ny:\n  <<: *x\n  b: 2\n  b: 3\n")
    assert caught.value.errors[0].startswith("config.yaml has the key 'b' twice in one mapping (lines 4 and 5)")


@pytest.mark.parametrize(
    "read", [config_document.load_plain, config_document.load_plain_with_ends, config_document.parse_config]
)
def test_a_text_no_configmap_can_hold_is_refused_before_it_is_read(read):
    assert config_document.MAX_CONFIG_BYTES == 1048576
    read(padded(config_document.MAX_CONFIG_BYTES))
    text = padded(config_document.MAX_CONFIG_BYTES + 1)
    assert len(text) < config_document.MAX_CONFIG_BYTES, "the bound counts bytes, not characters"
    with pytest.raises(config_document.ConfigError) as caught:
        read(text)
    assert caught.value.errors == [
        "config.yaml is 1048577 bytes (1024.0 KiB), more than Kubernetes lets a ConfigMap hold (1048576 bytes, "
        "1 MiB): refused before it is read; restore the config by hand"
    ]


def test_load_lenient_reads_nothing_past_the_bounds():
    assert config_document.load_lenient(padded(config_document.MAX_CONFIG_BYTES)) == {"model_list": []}
    assert config_document.load_lenient(padded(config_document.MAX_CONFIG_BYTES + 1)) is None
    assert config_document.load_lenient(shared_list(998))["b"][0][0] == "s"
    assert config_document.load_lenient(shared_list(999)) is None
    assert config_document.load_lenient(alias_bomb()) is None


def test_config_size_errors_name_the_size_and_the_limit():
    assert config_document.config_size_errors(padded(config_document.MAX_CONFIG_BYTES)) == []
    assert config_document.config_size_errors(padded(config_document.MAX_CONFIG_BYTES + 1536)) == [
        "config.yaml after the merge would be 1050112 bytes (1025.5 KiB), more than Kubernetes lets a ConfigMap "
        "hold (1048576 bytes, 1 MiB), so the API server would refuse the write; request fewer models or shorten "
        "the rest of the config"
    ]


def test_read_back_of_a_text_that_does_not_parse_is_none():
    assert config_document.read_back("a: [\n") is None


# The alias bomb, read by each entry point in a process of its own: its memory is the process's
# (ru_maxrss), and limits there stop a regression at 1 GiB more or 20 s of CPU instead of the
# 5.86 GB the planning process reached in 89 s before the bound. One line per entry point read.
BOMB_CHILD = """
import json, resource, sys, time
from ansible_collections.homelab.litellm.plugins.module_utils.config import document as config_document
from ansible_collections.homelab.litellm.plugins.module_utils.config import plan as config_plan

ENTRY_POINTS = {
    "read_config": lambda text: "; ".join(config_plan.read_config(text)[1] or ["read"]),
    "load_lenient": config_document.load_lenient,
    "parse_config": config_document.parse_config,
    "plan_config": lambda text: config_plan.plan_config(text, []),
}
bomb = sys.stdin.read()
for read in ENTRY_POINTS.values():  # imports and first-use caches are not the bomb's
    read("model_list: []\\n")
cpu = resource.getrusage(resource.RUSAGE_SELF).ru_utime
resource.setrlimit(resource.RLIMIT_CPU, (int(cpu) + 20, resource.getrlimit(resource.RLIMIT_CPU)[1]))
try:
    with open("/proc/self/statm") as statm:
        address_space = int(statm.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (address_space + 2**30, resource.getrlimit(resource.RLIMIT_AS)[1]))
except (OSError, ValueError):
    pass
for name, read in ENTRY_POINTS.items():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    try:
        outcome = read(bomb)
        outcome = outcome if isinstance(outcome, str) else type(outcome).__name__
    except config_document.ConfigError as err:
        outcome = "; ".join(err.errors)
    except MemoryError:
        outcome = "MemoryError"
    seconds = time.perf_counter() - started
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    print(json.dumps({"name": name, "seconds": seconds, "grown_kib": grown, "outcome": outcome}), flush=True)
"""


@pytest.fixture(scope="module")
def bomb_reads():
    """{entry point: its read of the bomb}, and the child's stderr (why the missing ones are missing)."""
    # The directory that holds ansible_collections/homelab/litellm/plugins/module_utils/config/document.py
    root = Path(config_document.__file__).parents[6]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root)] + sys.path))
    # check=False: the child's exit status is judged below, entry point by entry point.
    done = subprocess.run(
        [sys.executable, "-c", BOMB_CHILD],
        input=alias_bomb(),
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    reads = {read["name"]: read for read in map(json.loads, done.stdout.splitlines())}
    return reads, done.stderr[-2000:]


@pytest.mark.parametrize("entry_point", ["read_config", "load_lenient", "parse_config", "plan_config"])
def test_the_alias_bomb_is_refused_in_a_second_with_little_memory(bomb_reads, entry_point):
    reads, stderr = bomb_reads
    assert entry_point in reads, "the child process died on the bomb: %s" % stderr
    read = reads[entry_point]
    expected = "None" if entry_point == "load_lenient" else "config.yaml expands to more than 1000000 nodes"
    assert read["outcome"].startswith(expected), read
    assert read["seconds"] < 1.0, read
    assert read["grown_kib"] < 50 * 1024, read


# -- plain data, comparison, in-place sync ----------------------------------------------------------


def test_plain_values_and_strict_comparison():
    doc = config_document.parse_config("a: &flag true\nb: *flag\nc: 1.5\nd: 'x'\ne: [1, {f: null}]\n")
    assert config_document.plain(doc) == {"a": True, "b": True, "c": 1.5, "d": "x", "e": [1, {"f": None}]}
    assert config_document.plain(doc)["a"] is True
    assert config_document.plain(doc)["d"].__class__ is str, "plain str, not ruamel's quoted scalar"


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
    assert config_document.same(left, right) is equal


def test_sync_mapping_keeps_comments_and_order():
    doc = config_document.parse_config("settings:\n  a: 1  # one\n  b: 2\n  # before c\n  c: 3\n")
    config_document.sync_mapping(doc["settings"], {"a": 7, "c": 3, "d": 4}, delete_missing=False)
    assert config_document.render_config(doc) == "settings:\n  a: 7  # one\n  b: 2\n  # before c\n  c: 3\n  d: 4\n"


def test_sync_mapping_deletes_missing_keys_only_when_asked():
    doc = config_document.parse_config("settings:\n  a: 1\n  b: 2  # keep\n  c: 3\n")
    config_document.sync_mapping(doc["settings"], {"a": 1, "b": 2}, delete_missing=True)
    assert config_document.render_config(doc) == "settings:\n  a: 1\n  b: 2  # keep\n"


def test_sync_mapping_updates_nested_mappings_key_by_key():
    doc = config_document.parse_config("s:\n  args:\n    ttl: 60  # seconds\n    lowest: 1\n")
    config_document.sync_mapping(doc["s"], {"args": {"ttl": 30}}, delete_missing=False)
    assert config_document.render_config(doc) == "s:\n  args:\n    ttl: 30  # seconds\n    lowest: 1\n"


def test_removed_list_item_leaves_the_comment_lines_at_its_position():
    doc = config_document.parse_config("items:\n  - a\n  - b\n  # about c\n  - c\n")
    config_document.remove_list_item(doc, "items", 1)
    assert config_document.render_config(doc) == "items:\n  - a\n  # about c\n  - c\n"
    doc = config_document.parse_config("items:\n  - a\n  # about b\n  - b\n")
    config_document.remove_list_item(doc, "items", 0)
    assert config_document.render_config(doc) == "items:\n  # about b\n  - b\n"


def test_to_node_is_block_style():
    doc = config_document.parse_config("a: 1\n")
    config_document.append_to_mapping(doc, "b", {"c": [1, {"d": 2}]})
    assert config_document.render_config(doc) == "a: 1\nb:\n  c:\n    - 1\n    - d: 2\n"


@pytest.mark.parametrize("depth", [900, 5000])
def test_nesting_deeper_than_the_reader_goes_is_refused_not_a_crash(depth):
    deep = "model_list:\n  - model_name: a\n    litellm_params: {model: x}\nx: " + "[" * depth + "]" * depth + "\n"
    with pytest.raises(config_document.ConfigError, match="deeper than a YAML reader goes|YAML"):
        config_document.parse_config(deep)
