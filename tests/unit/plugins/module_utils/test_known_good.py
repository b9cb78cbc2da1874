# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/_known_good.py: the last state of LiteLLM proven to work."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _known_good as kg
from ansible_collections.homelab.litellm.tests.unit.fake_kube import b64, secret_object, unb64

CONFIG = "model_list:\n  - model_name: groq/openai/gpt-oss-120b\n"
GROQ_KEY = "gsk_" + "Q" * 48
RECORD = kg.KnownGood(
    CONFIG,
    "litellm-config",
    "config.yaml",
    {
        "GROQ_API_KEY": ("litellm-secrets", "GROQ_API_KEY", GROQ_KEY),
        "MISTRAL_API_KEY": ("provider-keys", "MISTRAL", None),
    },
    ["vllm-qwen", "groq/openai/gpt-oss-120b"],
    "true",
    "2026-12-01T10:00:00Z",
    "run-7",
)


def test_record_name():
    assert kg.record_name("litellm") == "litellm-known-good"
    assert len(kg.record_name("x" * 300)) == 253


def test_record_body_of_a_new_record():
    body = kg.record_body("ml", "litellm", RECORD)
    assert body["metadata"] == {
        "name": "litellm-known-good",
        "namespace": "ml",
        "labels": {"app.kubernetes.io/managed-by": "homelab.litellm", "homelab.litellm/known-good-of": "litellm"},
        "annotations": {
            "homelab.litellm/verified": "true",
            "homelab.litellm/recorded-at": "2026-12-01T10:00:00Z",
            "homelab.litellm/run": "run-7",
            "homelab.litellm/keys": "GROQ_API_KEY,MISTRAL_API_KEY",
            "homelab.litellm/models": "vllm-qwen,groq/openai/gpt-oss-120b",
            "homelab.litellm/config-digest": hashlib.sha256(CONFIG.encode()).hexdigest(),
        },
    }
    assert (body["kind"], body["type"], list(body["data"])) == ("Secret", "Opaque", ["state.json"])
    state = json.loads(unb64(body["data"]["state.json"]))
    assert state == {
        "version": 1,
        "config": {"configmap": "litellm-config", "key": "config.yaml", "text": CONFIG},
        "keys": {
            "GROQ_API_KEY": {"secret": "litellm-secrets", "key": "GROQ_API_KEY", "value": GROQ_KEY},
            "MISTRAL_API_KEY": {"secret": "provider-keys", "key": "MISTRAL", "value": None},
        },
        "models": ["vllm-qwen", "groq/openai/gpt-oss-120b"],
    }


def test_annotations_hold_no_value():
    body = kg.record_body("ml", "litellm", RECORD)
    assert GROQ_KEY not in json.dumps(body["metadata"])


def test_record_body_over_an_existing_secret_keeps_its_metadata():
    existing = {
        "metadata": {
            "name": "litellm-known-good",
            "namespace": "ml",
            "resourceVersion": "42",
            "uid": "u1",
            "labels": {"team": "ml"},
            "annotations": {"note": "by hand", "homelab.litellm/run": "old"},
        },
        "data": {"state.json": b64("{}")},
    }
    body = kg.record_body("ml", "litellm", RECORD, existing=existing)
    assert body["metadata"]["resourceVersion"] == "42" and body["metadata"]["uid"] == "u1"
    assert body["metadata"]["labels"] == {
        "team": "ml",
        "app.kubernetes.io/managed-by": "homelab.litellm",
        "homelab.litellm/known-good-of": "litellm",
    }
    assert body["metadata"]["annotations"]["note"] == "by hand"
    assert body["metadata"]["annotations"]["homelab.litellm/run"] == "run-7"
    assert existing["metadata"]["annotations"]["homelab.litellm/run"] == "old", "the Secret as read is not changed"


def test_round_trip():
    assert kg.read_record(kg.record_body("ml", "litellm", RECORD)) == RECORD


def test_round_trip_of_a_baseline_without_run():
    baseline = RECORD._replace(verified="baseline", run=None, keys={}, models=[])
    read = kg.read_record(kg.record_body("ml", "litellm", baseline))
    assert read == baseline._replace(run="")


@pytest.mark.parametrize(
    "secret",
    [
        None,
        {},
        {"metadata": {"name": "litellm-known-good"}},
        {"data": {}},
        {"data": {"state.json": ""}},
        {"data": {"other": b64("{}")}},
        {"data": {"state.json": b64("not json")}},
        {"data": {"state.json": "%%% not base64"}},
        {"data": {"state.json": base64.b64encode(b"\xff\xfe").decode()}},
    ],
)
def test_no_record_in_an_empty_or_placeholder_secret(secret):
    assert kg.read_record(secret) is None


def test_a_record_without_annotations_counts_as_a_baseline():
    record = kg.read_record({"data": {"state.json": b64(json.dumps({"config": {"text": "a: 1\n"}}))}})
    assert record == kg.KnownGood("a: 1\n", None, None, {}, [], "baseline", None, None)


def test_live_key_values():
    secrets = {"litellm-secrets": secret_object({"GROQ_API_KEY": GROQ_KEY, "OTHER": "x"}), "gone": None}
    locations = {
        "GROQ_API_KEY": ("litellm-secrets", "GROQ_API_KEY"),
        "A": ("litellm-secrets", "A"),
        "B": ("gone", "B"),
        "C": ("unread", "C"),
    }
    assert kg.live_key_values(secrets, locations) == {
        "GROQ_API_KEY": ("litellm-secrets", "GROQ_API_KEY", GROQ_KEY),
        "A": ("litellm-secrets", "A", None),
        "B": ("gone", "B", None),
        "C": ("unread", "C", None),
    }


@pytest.mark.parametrize(
    "live, differing",
    [
        (
            {
                "GROQ_API_KEY": ("litellm-secrets", "GROQ_API_KEY", GROQ_KEY),
                "MISTRAL_API_KEY": ("provider-keys", "MISTRAL", None),
            },
            [],
        ),
        (
            {
                "GROQ_API_KEY": ("litellm-secrets", "GROQ_API_KEY", "gsk_rotated"),
                "MISTRAL_API_KEY": ("provider-keys", "MISTRAL", None),
            },
            ["GROQ_API_KEY"],
        ),
        (
            {
                "GROQ_API_KEY": ("litellm-secrets", "GROQ_API_KEY", None),
                "MISTRAL_API_KEY": ("provider-keys", "MISTRAL", "added by hand"),
            },
            ["GROQ_API_KEY", "MISTRAL_API_KEY"],
        ),
        (
            {
                "GROQ_API_KEY": ("other-secret", "GROQ_API_KEY", GROQ_KEY),
                "MISTRAL_API_KEY": ("provider-keys", "MISTRAL", None),
            },
            ["GROQ_API_KEY"],
        ),
        ({}, ["GROQ_API_KEY", "MISTRAL_API_KEY"]),
        (
            {
                "UNRECORDED": ("s", "k", "v"),
                "GROQ_API_KEY": ("litellm-secrets", "GROQ_API_KEY", GROQ_KEY),
                "MISTRAL_API_KEY": ("provider-keys", "MISTRAL", None),
            },
            [],
        ),
    ],
)
def test_differing_keys(live, differing):
    assert kg.differing_keys(RECORD, live) == differing


def test_restore_writes_nothing_when_live_equals_the_record():
    secrets = {
        "litellm-secrets": secret_object({"GROQ_API_KEY": GROQ_KEY}),
        "provider-keys": secret_object({"OTHER": "x"}),
    }
    assert kg.restore_writes(RECORD, CONFIG, secrets) == (None, {})


def test_restore_writes_only_what_differs_and_removes_keys_the_record_lacks():
    secrets = {
        "litellm-secrets": secret_object({"GROQ_API_KEY": "gsk_rotated", "LITELLM_MASTER_KEY": "sk-m"}),
        "provider-keys": secret_object({"MISTRAL": "added later"}),
    }
    config, values = kg.restore_writes(RECORD, CONFIG + "# edited\n", secrets)
    assert config == CONFIG
    assert values == {"litellm-secrets": {"GROQ_API_KEY": GROQ_KEY}, "provider-keys": {"MISTRAL": None}}


def test_restore_writes_into_a_missing_secret_or_config():
    config, values = kg.restore_writes(RECORD, None, {})
    assert config == CONFIG and values == {"litellm-secrets": {"GROQ_API_KEY": GROQ_KEY}}


def test_apply_key_values_sets_and_removes_without_changing_the_input():
    secret = secret_object({"GROQ_API_KEY": "old", "MISTRAL": "m", "KEEP": "k"})
    applied = kg.apply_key_values(secret, {"GROQ_API_KEY": GROQ_KEY, "MISTRAL": None, "ABSENT": None, "NEW": "n"})
    plain_values = {key: unb64(value) for key, value in applied["data"].items()}
    assert plain_values == {"GROQ_API_KEY": GROQ_KEY, "KEEP": "k", "NEW": "n"}
    assert applied["metadata"] == secret["metadata"]
    assert unb64(secret["data"]["GROQ_API_KEY"]) == "old" and "MISTRAL" in secret["data"]


def test_apply_key_values_to_a_secret_without_data():
    assert kg.apply_key_values({"metadata": {"name": "s"}}, {"A": "a"})["data"] == {"A": b64("a")}


# -- bounds and fitness ----------------------------------------------------------------------------

VALID_CONFIG = "model_list:\n  - model_name: a\n    litellm_params:\n      model: groq/a\n"
FIT = RECORD._replace(config_text=VALID_CONFIG)
# The "billion laughs" of YAML: 9 levels of 9 aliases each, 387 million nodes in 321 bytes.
ALIAS_BOMB = "l0: &l0 [%s]\n" % ", ".join(["lol"] * 9) + "".join(
    "l%d: &l%d [%s]\n" % (level, level, ", ".join(["*l%d" % (level - 1)] * 9)) for level in range(1, 9)
)


def record_secret_of(state_text):
    return {"metadata": {"name": "litellm-known-good", "namespace": "ml"}, "data": {"state.json": b64(state_text)}}


def state_of_size(size):
    """state.json of FIT, its config text padded with a comment to make it ``size`` bytes."""
    state = unb64(kg.record_body("ml", "litellm", FIT)["data"]["state.json"])
    padding = size - len(state.encode("utf-8"))
    padded = FIT._replace(config_text=VALID_CONFIG + "#" * padding)
    state = unb64(kg.record_body("ml", "litellm", padded)["data"]["state.json"])
    assert len(state.encode("utf-8")) == size
    return state


def test_a_record_larger_than_a_secret_can_hold_is_refused_before_it_is_read():
    assert kg.read_record(record_secret_of(state_of_size(kg.MAX_RECORD_BYTES))).config_text.startswith(VALID_CONFIG)
    with pytest.raises(kg.RecordError) as caught:
        kg.read_record(record_secret_of(state_of_size(kg.MAX_RECORD_BYTES + 1)))
    assert str(caught.value) == (
        "The last verified state (Secret ml/litellm-known-good key state.json) is 1048577 bytes (1024.0 KiB), more "
        "than Kubernetes lets a Secret hold (1048576 bytes, 1 MiB): refused before it is read, so it is neither "
        "compared nor restored; homelab.litellm did not write it; delete the Secret, and a run while LiteLLM is "
        "healthy records what it finds"
    )


@pytest.mark.parametrize(
    "state",
    [
        [],
        "text",
        {"config": "model_list: []\n"},
        {"keys": ["GROQ_API_KEY"]},
        {"keys": {"GROQ_API_KEY": GROQ_KEY}},
        {"models": "vllm-qwen"},
    ],
)
def test_a_state_that_is_no_record_is_refused(state):
    with pytest.raises(kg.RecordError) as caught:
        kg.read_record(record_secret_of(json.dumps(state)))
    assert str(caught.value).startswith(
        "The last verified state (Secret ml/litellm-known-good key state.json) is not a record homelab.litellm wrote"
    )
    assert GROQ_KEY not in str(caught.value)


def test_a_state_nested_deeper_than_json_reads_is_no_record():
    assert kg.read_record(record_secret_of("[" * 100000 + "]" * 100000)) is None


def test_a_record_as_written_is_fit():
    assert kg.record_errors(FIT) == []
    assert kg.record_errors(kg.read_record(kg.record_body("ml", "litellm", FIT))) == []


@pytest.mark.parametrize(
    "change, errors",
    [
        (
            {"config_text": ALIAS_BOMB},
            [
                "the last verified config cannot be used: config.yaml expands to more than 1000000 nodes through "
                "YAML aliases (an alias bomb?): refused before it is read, since building or walking it takes "
                "gigabytes of memory; aliases for shared parts such as litellm_params are fine, nested ones that "
                "multiply are not; rewrite those by hand"
            ],
        ),
        (
            {"config_text": VALID_CONFIG + "#" * (1024 * 1024) + "\n"},
            [
                "the last verified config cannot be used: config.yaml is 1048647 bytes (1024.1 KiB), more than "
                "Kubernetes lets a ConfigMap hold (1048576 bytes, 1 MiB): refused before it is read; restore the "
                "config by hand"
            ],
        ),
        (
            {"config_text": "model_list:\n  - model_name: a\n"},
            [
                "the last verified config cannot be used: model_list[0] (model_name 'a') has no litellm_params "
                "mapping; LiteLLM exits at start-up on it and the pod goes into CrashLoopBackOff; add "
                "litellm_params with at least 'model: <provider>/<model>' or remove the entry"
            ],
        ),
        ({"config_text": 7}, ["the last verified config is a int, not a text"]),
        (
            {"configmap": None},
            ["the last verified state names ConfigMap None key 'config.yaml', which are not two names"],
        ),
        (
            {"config_key": ""},
            ["the last verified state names ConfigMap 'litellm-config' key '', which are not two names"],
        ),
        (
            {"keys": {"GROQ_API_KEY": (None, "GROQ_API_KEY", GROQ_KEY)}},
            [
                "the last verified state has variable 'GROQ_API_KEY' in Secret None key 'GROQ_API_KEY', which are "
                "not three names"
            ],
        ),
        (
            {"keys": {"": ("litellm-secrets", "GROQ_API_KEY", GROQ_KEY)}},
            [
                "the last verified state has variable '' in Secret 'litellm-secrets' key 'GROQ_API_KEY', which are "
                "not three names"
            ],
        ),
        (
            {"keys": {"GROQ_API_KEY": ("litellm-secrets", "GROQ_API_KEY", [GROQ_KEY])}},
            ["the last verified value of GROQ_API_KEY is a list, not a text (value not shown)"],
        ),
        ({"models": ["vllm-qwen", 3]}, ["the last verified state lists models that are not names"]),
    ],
)
def test_record_errors(change, errors):
    assert kg.record_errors(FIT._replace(**change)) == errors


def test_record_errors_of_a_record_read_from_a_secret_written_by_hand():
    state = {
        "config": {"configmap": "litellm-config", "key": "config.yaml", "text": ALIAS_BOMB},
        "keys": {"GROQ_API_KEY": {"secret": {"value": GROQ_KEY}, "key": 5, "value": GROQ_KEY}},
    }
    errors = kg.record_errors(kg.read_record(record_secret_of(json.dumps(state))))
    assert errors[0].startswith("the last verified config cannot be used: config.yaml expands")
    assert errors[1:] == [
        "the last verified state has variable 'GROQ_API_KEY' in Secret a dict key a int, which are not three names"
    ]
    assert GROQ_KEY not in " ".join(errors)


def test_record_differences_of_the_same_state_is_empty():
    recorded = RECORD._replace(pod_template=["envFrom secretRef litellm-secrets (container litellm)"])
    again = recorded._replace(models=list(reversed(recorded.models)), recorded_at="2026-12-09T00:00:00Z", run="r9")
    assert kg.record_differences(recorded, again) == []
    assert kg.record_differences(None, again) == ["there is no record yet"]


def test_record_differences_name_what_differs_without_a_value():
    recorded = RECORD._replace(pod_template=[])
    moved = recorded._replace(configmap="other-config", config_text="x: 1\n")
    assert kg.record_differences(recorded, moved) == [
        "the config lives in ConfigMap other-config key config.yaml, not litellm-config key config.yaml"
    ]
    rotated = {name: (secret, key, "sk-rotated-0000000000") for name, (secret, key, _v) in recorded.keys.items()}
    differences = kg.record_differences(recorded, recorded._replace(keys=dict(rotated, NEW_API_KEY=("s", "k", None))))
    assert differences == ["keys %s" % ", ".join(sorted(list(recorded.keys) + ["NEW_API_KEY"]))]
    assert "sk-rotated" not in repr(differences)
