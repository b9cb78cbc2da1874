# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/_secret_plan.py (pure logic, no cluster)."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _secret_plan as sp

REAL_GROQ = "gsk_4f9aQ2mZx7LbT1cV8nR3kW6yHs0dJeUp5oIgBtNq1rEa2"
REAL_GEMINI = "AIzaSyD3x9Qm1-Zb7LtVc4kR8nW2hYs6JdUe0oP"


def b64(text):
    return base64.b64encode(text.encode()).decode()


CURRENT = {
    "LITELLM_MASTER_KEY": b64("sk-" + "a1" * 24),
    "OPENAI_API_KEY": b64("sk-openai-real-0123456789"),
    "DATABASE_URL": b64("postgresql://u:p4ss@db:5432/x"),
}


# -- validation ------------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [
        "sk-placeholder",
        "sk-placeholder-groq-0000",
        "PLACEHOLDER",
        "changeme",
        "CHANGE-ME",
        "change_me_later",
        "your-key",
        "your_api_key_here",
        "YOUR_GROQ_API_KEY",
        "xxx",
        "sk-xxxxxxxxxxxxxxxx",
        "gsk_XXXX-XXXX",
        "<your key>",
        "<GROQ_API_KEY>",
        "TODO",
        "todo: ask Bob",
        "REPLACE_ME",
        "replace-with-real-key",
        "dummy",
        "dummy-key-1",
        "{{ vault_groq_api_key }}",
        "prefix-{{ undefined }}",
        "{% if x %}",
        "${GROQ_API_KEY}",
        "$GROQ_API_KEY",
        "os.environ/GROQ_API_KEY",
        "********",
        "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER",
        "sk-1234",
        "gsk_abc...",
        "none",
        "null",
        "test",
        "secret",
        "api_key",
    ],
)
def test_placeholders_are_recognised(value):
    assert sp.placeholder_kind(value)
    errors = sp.validate_secret_data({"GROQ_API_KEY": value})
    assert len(errors) == 1
    assert errors[0].startswith("GROQ_API_KEY: ")
    assert "vault" in errors[0]


@pytest.mark.parametrize(
    "value",
    [
        REAL_GROQ,
        REAL_GEMINI,
        "sk-" + "a1" * 24,
        "sandboxDemoMistralKey0000000000001",
        "gsk_sandboxDemoKey0000000000000000000000000000000001",
        "AIzaSandboxDemoKey000000000000000000001",
        "postgresql://litellm:s3cr3t@postgres.ml.svc:5432/litellm",
        "12345678901234567890",
        "sk-proj-xXx9aB",
    ],
)
def test_real_looking_values_pass(value):
    assert sp.placeholder_kind(value) is None
    assert sp.validate_secret_data({"GROQ_API_KEY": value}) == []


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("", "is empty"),
        ("   ", "only whitespace"),
        ("\n", "only whitespace"),
        (REAL_GROQ + "\n", "trailing whitespace"),
        (" " + REAL_GROQ, "leading or trailing whitespace"),
        (None, "missing value"),
        (True, "a bool"),
        (["a"], "a list"),
    ],
)
def test_bad_values_are_refused_with_key_and_fix(value, fragment):
    errors = sp.validate_secret_data({"MISTRAL_API_KEY": value})
    assert len(errors) == 1
    assert errors[0].startswith("MISTRAL_API_KEY: ") and fragment in errors[0]


def test_numbers_are_accepted_as_text():
    assert sp.validate_secret_data({"PORT_LIKE_KEY": 8123456789012}) == []
    assert sp.encode_value(8123456789012) == b64("8123456789012")


@pytest.mark.parametrize(
    "name, suggestion",
    [
        ("GROQ-API-KEY", "GROQ_API_KEY"),
        ("groq.key", "GROQ_KEY"),
        ("1KEY", "_1KEY"),
        ("", "NAME"),
        ("WITH SPACE", "WITH_SPACE"),
        ("\u00c4PI_KEY", "_PI_KEY"),
    ],
)
def test_key_names_must_be_env_var_names(name, suggestion):
    errors = sp.validate_secret_data({name: REAL_GROQ})
    assert errors == [
        "key %r is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*); LiteLLM reads the "
        "Secret through its environment, so rename it (for example %r)" % (name, suggestion)
    ]


def test_secret_keys_a_deployment_maps_itself_need_no_variable_name():
    assert sp.validate_secret_data({"api-key": REAL_GROQ}, env_var_keys=False) == []
    assert sp.validate_secret_data({"api-key": "changeme"}, env_var_keys=False) == [
        "api-key: the value looks like 'changeme', not a real credential; put the real key in the vault "
        "(ansible-vault edit) and run again"
    ]
    plan = sp.plan_secret_patch({"api-key": b64("gsk_old")}, {"api-key": REAL_GROQ}, env_var_keys=False)
    assert plan.updated == ("api-key",) and plan.data == {"api-key": b64(REAL_GROQ)}


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("gsk_abc\tdef0123456789", "control character"),
        ("gsk_abc\x00def0123456789", "control character"),
        ("gsk_abc\x7fdef0123456789", "control character"),
        ("gsk_abc\ndef0123456789", "control character"),
        ("gsk_\u201cquoted\u201d0123456789", "non-ASCII"),
        ("gsk_dash\u20140123456789", "non-ASCII"),
    ],
)
def test_values_no_http_header_can_carry_are_refused_naming_the_key_only(value, fragment):
    errors = sp.validate_secret_data({"GROQ_API_KEY": value})
    assert len(errors) == 1
    assert errors[0].startswith("GROQ_API_KEY: the value contains ") and fragment in errors[0]
    assert "0123456789" not in errors[0] and value not in errors[0]


def test_errors_never_contain_the_value():
    data = {
        "A_KEY": "changeme-" + "q" * 20,
        "B_KEY": "  " + REAL_GROQ,
        "bad-name": REAL_GEMINI,
        "C_KEY": "{{ vault_c }}",
    }
    errors = sp.validate_secret_data(data)
    assert len(errors) == 4
    for error in errors:
        for value in data.values():
            assert value.strip() not in error


def test_placeholder_patterns_are_data():
    labels = [label for label, _pattern in sp.PLACEHOLDER_PATTERNS]
    assert len(labels) == len(set(labels))


def test_empty_data_is_refused():
    assert sp.validate_secret_data({}) and sp.validate_secret_data(None)


# -- keys_digest -------------------------------------------------------------------
def test_keys_digest_definition():
    data = {"B": b64("two"), "A": b64("one"), "C": b64("three")}
    expected = hashlib.sha256(
        json.dumps([["A", b64("one")], ["B", b64("two")]], separators=(",", ":")).encode()
    ).hexdigest()
    assert sp.keys_digest(data, ["B", "A"]) == expected
    assert sp.keys_digest(data, ["A", "B", "A"]) == expected


@pytest.mark.parametrize(
    "changed",
    [
        {"A": b64("ONE")},  # a value changed
        {"A": b64("")},  # empty is not missing ...
        {"A": None},  # ... and missing is neither
    ],
)
def test_keys_digest_changes_with_the_values(changed):
    data = {"A": b64("one"), "B": b64("two")}
    after = {k: v for k, v in dict(data, **changed).items() if v is not None}
    assert sp.keys_digest(after, ["A", "B"]) != sp.keys_digest(data, ["A", "B"])


def test_keys_digest_ignores_other_keys_and_spelling():
    data = {"A": b64("one"), "B": b64("two")}
    assert sp.keys_digest(dict(data, B=b64("other")), ["A"]) == sp.keys_digest(data, ["A"])
    unpadded = {"A": "b25l"}  # "one" without the trailing padding is the same value
    assert sp.keys_digest(unpadded, ["A"]) == sp.keys_digest(data, ["A"])
    assert sp.keys_digest({}, []) == sp.keys_digest(None, [])


def test_missing_and_empty_key_differ():
    assert sp.keys_digest({}, ["A"]) != sp.keys_digest({"A": ""}, ["A"])


# -- plan_secret_patch -------------------------------------------------------------
def test_add_update_keep():
    plan = sp.plan_secret_patch(
        CURRENT,
        {
            "GROQ_API_KEY": REAL_GROQ,
            "OPENAI_API_KEY": "sk-openai-rotated-987654321",
            "LITELLM_MASTER_KEY": "sk-" + "a1" * 24,
        },
    )
    assert plan.changed
    assert plan.added == ("GROQ_API_KEY",)
    assert plan.updated == ("OPENAI_API_KEY",)
    assert plan.unchanged == ("LITELLM_MASTER_KEY",)
    assert plan.removed == ()
    assert plan.keys == ("DATABASE_URL", "GROQ_API_KEY", "LITELLM_MASTER_KEY", "OPENAI_API_KEY")
    assert plan.data["DATABASE_URL"] == CURRENT["DATABASE_URL"]
    assert plan.data["GROQ_API_KEY"] == b64(REAL_GROQ)
    assert plan.data["OPENAI_API_KEY"] == b64("sk-openai-rotated-987654321")


def test_equal_values_are_no_change():
    plan = sp.plan_secret_patch(CURRENT, {"OPENAI_API_KEY": "sk-openai-real-0123456789"})
    assert not plan.changed
    assert plan.unchanged == ("OPENAI_API_KEY",)
    assert plan.data == CURRENT


def test_current_is_not_modified():
    before = dict(CURRENT)
    sp.plan_secret_patch(CURRENT, {"GROQ_API_KEY": REAL_GROQ})
    sp.plan_secret_patch(CURRENT, remove=["OPENAI_API_KEY"], state="absent")
    assert before == CURRENT


def test_remove_only_named_keys():
    plan = sp.plan_secret_patch(CURRENT, remove=["OPENAI_API_KEY", "GROQ_API_KEY", "OPENAI_API_KEY"], state="absent")
    assert plan.changed
    assert plan.removed == ("OPENAI_API_KEY",)
    assert plan.unchanged == ("GROQ_API_KEY",)
    assert plan.keys == ("DATABASE_URL", "LITELLM_MASTER_KEY")
    assert plan.data == {k: v for k, v in CURRENT.items() if k != "OPENAI_API_KEY"}


def test_remove_absent_keys_is_no_change():
    plan = sp.plan_secret_patch(CURRENT, remove=["GROQ_API_KEY"], state="absent")
    assert not plan.changed and plan.unchanged == ("GROQ_API_KEY",)


def test_missing_secret_is_planned_as_new():
    plan = sp.plan_secret_patch(None, {"GROQ_API_KEY": REAL_GROQ})
    assert plan.changed and plan.added == ("GROQ_API_KEY",) and plan.keys == ("GROQ_API_KEY",)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(data={"GROQ_API_KEY": "changeme"}),
        dict(data={}),
        dict(remove=[], state="absent"),
        dict(data={"A": REAL_GROQ}, state="latest"),
    ],
)
def test_bad_input_raises(kwargs):
    with pytest.raises(sp.SecretDataError) as caught:
        sp.plan_secret_patch(CURRENT, **kwargs)
    assert caught.value.errors


def test_diff_has_names_and_markers_only():
    new_values = {"GROQ_API_KEY": REAL_GROQ, "OPENAI_API_KEY": "sk-openai-rotated-987654321"}
    plan = sp.plan_secret_patch(CURRENT, new_values)
    assert plan.diff_before == (
        "DATABASE_URL: <unchanged>\nLITELLM_MASTER_KEY: <unchanged>\nOPENAI_API_KEY: <previous value>\n"
    )
    assert plan.diff_after == (
        "DATABASE_URL: <unchanged>\n"
        "GROQ_API_KEY: <added>\n"
        "LITELLM_MASTER_KEY: <unchanged>\n"
        "OPENAI_API_KEY: <new value>\n"
    )
    removal = sp.plan_secret_patch(CURRENT, remove=["DATABASE_URL"], state="absent")
    assert "DATABASE_URL: <removed>\n" in removal.diff_before
    assert "DATABASE_URL" not in removal.diff_after


def test_plan_repr_holds_no_value():
    plan = sp.plan_secret_patch(CURRENT, {"GROQ_API_KEY": REAL_GROQ})
    text = repr(plan)
    assert REAL_GROQ not in text and b64(REAL_GROQ) not in text


# -- scrubbing ---------------------------------------------------------------------
def test_scrub_replaces_every_value_longest_first():
    text = "key=%s url=%s again %s" % (REAL_GROQ, "http://x/" + REAL_GROQ + "/y", REAL_GROQ)
    assert sp.scrub(text, {REAL_GROQ, REAL_GROQ[:10], ""}) == "key=*** url=http://x/***/y again ***"
    assert sp.scrub("", {REAL_GROQ}) == ""
    assert sp.scrub(None, {REAL_GROQ}) is None


def test_secret_values_cover_plain_and_base64():
    values = sp.secret_values(data_b64={"A": b64(REAL_GROQ)}, plain={"B": REAL_GEMINI})
    assert {REAL_GROQ, b64(REAL_GROQ), REAL_GEMINI, b64(REAL_GEMINI)} <= values
