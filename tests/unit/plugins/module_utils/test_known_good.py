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


USABLE = RECORD._replace(config_text=CONFIG + "    litellm_params: {model: groq/openai/gpt-oss-120b}\n")


def test_record_errors_of_a_usable_record():
    assert kg.record_errors(USABLE) == []


@pytest.mark.parametrize(
    "change,expected",
    [
        ({"config_text": "model_list: [\n"}, "config.yaml is not valid YAML"),
        ({"config_text": ""}, "config.yaml is empty"),
        ({"config_text": USABLE.config_text + "model_list: []\n"}, "config.yaml has the key 'model_list' twice"),
        ({"config_text": "model_list:\n  - litellm_params: {model: groq/x}\n"}, "model_list[0] has no model_name"),
        ({"configmap": None}, "it does not name the ConfigMap and key its config belongs in"),
        ({"keys": {"GROQ_API_KEY": (None, "GROQ_API_KEY", GROQ_KEY)}}, "GROQ_API_KEY does not name the Secret"),
    ],
    ids=["bad-yaml", "empty", "key-twice", "entry-without-name", "no-configmap", "key-without-secret"],
)
def test_record_errors_refuse_what_a_live_config_would_be_refused_for(change, expected):
    errors = kg.record_errors(USABLE._replace(**change))
    assert len(errors) == 1 and errors[0].startswith(expected), errors
