"""homelab.litellm.litellm_secret against the sandbox, read back with kubectl.

Check mode first (nothing changes), then apply, then idempotency, then
rotation, removal and every kind of bad input (each must leave the Secret's
resourceVersion as it was). No value may ever show up in ansible's output, not
even at -vvvv with --diff.
"""

from __future__ import annotations

import base64
import secrets

import pytest

pytestmark = pytest.mark.litellm

GROQ = "gsk_" + secrets.token_urlsafe(36)
MISTRAL = secrets.token_hex(16)
GROQ_ROTATED = "gsk_" + secrets.token_urlsafe(36)
BEFORE_KEYS = ["DATABASE_URL", "LITELLM_MASTER_KEY", "OPENAI_API_KEY"]


def secret_task(task_name="Patch", **options):
    return {"name": task_name, "homelab.litellm.litellm_secret": {"namespace": "ml", **options},
            "register": "patched"}


def secret_state(sandbox, name="litellm-secrets"):
    """(resourceVersion, {key: plain value}) of a Secret."""
    secret = sandbox.get("secret", name)
    return (secret["metadata"]["resourceVersion"],
            {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()})


def forms(value):
    return [value, base64.b64encode(value.encode()).decode()]


def test_check_mode_reports_the_change_and_writes_nothing(sandbox, run_playbook):
    before = secret_state(sandbox)
    run = run_playbook([secret_task(data={"GROQ_API_KEY": GROQ, "MISTRAL_API_KEY": MISTRAL})],
                       check=True, diff=True)
    assert run.rc == 0, run.output
    result = run["Patch"]
    assert result["changed"] is True
    assert result["added"] == ["GROQ_API_KEY", "MISTRAL_API_KEY"]
    assert result["keys"] == sorted(BEFORE_KEYS + ["GROQ_API_KEY", "MISTRAL_API_KEY"])
    assert result["diff"]["before"] == "".join(f"{k}: <unchanged>\n" for k in BEFORE_KEYS)
    assert "GROQ_API_KEY: <added>\n" in result["diff"]["after"]
    assert secret_state(sandbox) == before
    assert sandbox.kubectl("-n", "ml", "get", "secret", "litellm-secrets-previous", check=False).returncode != 0


def test_adds_keys_keeps_the_others_and_backs_up(sandbox, run_playbook):
    before_rv, before = secret_state(sandbox)
    run = run_playbook([secret_task(data={"GROQ_API_KEY": GROQ, "MISTRAL_API_KEY": MISTRAL})])
    assert run.rc == 0, run.output
    result = run["Patch"]
    assert result["changed"] is True
    assert (result["added"], result["updated"], result["removed"]) == (["GROQ_API_KEY", "MISTRAL_API_KEY"], [], [])
    assert result["previous"] == "litellm-secrets-previous"
    after_rv, after = secret_state(sandbox)
    assert after_rv == result["resource_version"] != before_rv
    assert after == dict(before, GROQ_API_KEY=GROQ, MISTRAL_API_KEY=MISTRAL)
    backup = sandbox.get("secret", "litellm-secrets-previous")
    assert backup["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "homelab.litellm"
    assert secret_state(sandbox, "litellm-secrets-previous")[1] == before


def test_same_values_again_change_nothing(sandbox, run_playbook):
    before = secret_state(sandbox)
    run = run_playbook([secret_task(data={"GROQ_API_KEY": GROQ, "MISTRAL_API_KEY": MISTRAL})], diff=True)
    assert run.rc == 0, run.output
    result = run["Patch"]
    assert result["changed"] is False
    assert result["unchanged"] == ["GROQ_API_KEY", "MISTRAL_API_KEY"]
    assert "previous" not in result
    assert secret_state(sandbox) == before


def test_rotation_updates_one_key_and_never_prints_a_value(sandbox, run_playbook):
    _, before = secret_state(sandbox)
    run = run_playbook([secret_task(data={"GROQ_API_KEY": GROQ_ROTATED, "MISTRAL_API_KEY": MISTRAL})],
                       diff=True, verbosity=4, json_output=False)
    assert run.rc == 0, run.output
    assert "changed: [localhost]" in run.output
    assert "-GROQ_API_KEY: <previous value>" in run.output and "+GROQ_API_KEY: <new value>" in run.output
    _, after = secret_state(sandbox)
    assert after == dict(before, GROQ_API_KEY=GROQ_ROTATED)
    # The backup holds the values before the rotation (in the cluster only) ...
    assert secret_state(sandbox, "litellm-secrets-previous")[1] == before
    # ... and no value, old or new, plain or base64, ever reaches the output.
    for value in list(before.values()) + [GROQ_ROTATED]:
        for form in forms(value):
            assert form not in run.output
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in run.output  # the invocation's data, masked


def test_the_result_holds_no_value(sandbox, run_playbook):
    run = run_playbook([secret_task(data={"GROQ_API_KEY": GROQ_ROTATED})], diff=True)
    assert run.rc == 0, run.output
    result = run["Patch"]
    assert result["changed"] is False
    assert result["invocation"]["module_args"]["data"] == {"GROQ_API_KEY": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}
    _, current = secret_state(sandbox)
    for value in current.values():
        for form in forms(value):
            assert form not in run.output


# Each refused input: the error names the key and the fix; the Secret stays as it was.
BAD_INPUTS = [
    ({"GROQ_API_KEY": ""}, "GROQ_API_KEY: the value is empty"),
    ({"GROQ_API_KEY": "   "}, "GROQ_API_KEY: the value is only whitespace"),
    ({"GROQ_API_KEY": GROQ + "\n"}, "GROQ_API_KEY: the value has leading or trailing whitespace"),
    ({"GROQ_API_KEY": "sk-placeholder-groq"}, "GROQ_API_KEY: the value looks like a placeholder"),
    ({"MISTRAL_API_KEY": "CHANGEME"}, "MISTRAL_API_KEY: the value looks like 'changeme'"),
    ({"MISTRAL_API_KEY": "<your-mistral-key>"}, "MISTRAL_API_KEY: the value looks like an '<...>'"),
    ({"MISTRAL_API_KEY": "xxxxxxxxxxxx"}, "MISTRAL_API_KEY: the value looks like 'xxx...'"),
    ({"GEMINI_API_KEY": "{{ '{{ vault_gemini_api_key }}' }}"}, "unrendered Jinja2 template"),
    ({"GROQ-API-KEY": GROQ}, "key 'GROQ-API-KEY' is not a valid environment variable name"),
    # One bad value spoils the whole write, good keys included. (A value equal to a word of the
    # message, such as a bare "TODO", is masked in it by ansible's no_log: hence "todo: ...".)
    ({"GROQ_API_KEY": GROQ, "MISTRAL_API_KEY": "todo: ask Bob"}, "MISTRAL_API_KEY: the value looks like 'TODO'"),
]


def test_bad_input_is_refused_and_nothing_changes(sandbox, run_playbook):
    before = secret_state(sandbox)
    backup_before = secret_state(sandbox, "litellm-secrets-previous")
    tasks = [dict(secret_task(f"Bad {index}", data=data), ignore_errors=True)
             for index, (data, _) in enumerate(BAD_INPUTS)]
    run = run_playbook(tasks)
    for index, (data, fragment) in enumerate(BAD_INPUTS):
        result = run[f"Bad {index}"]
        assert result["failed"] is True, result
        assert result["msg"].startswith("Nothing was written."), result["msg"]
        assert fragment in result["msg"], result["msg"]
        assert GROQ not in result["msg"]
    assert secret_state(sandbox) == before
    assert secret_state(sandbox, "litellm-secrets-previous") == backup_before


def test_absent_removes_only_the_named_keys(sandbox, run_playbook):
    _, before = secret_state(sandbox)
    task = secret_task(state="absent", keys=["MISTRAL_API_KEY", "NOT_THERE"])
    run = run_playbook([task], check=True)
    assert run.rc == 0 and run["Patch"]["changed"] is True, run.output
    assert secret_state(sandbox)[1] == before
    run = run_playbook([task], diff=True)
    assert run.rc == 0, run.output
    result = run["Patch"]
    assert (result["changed"], result["removed"], result["unchanged"]) == (True, ["MISTRAL_API_KEY"], ["NOT_THERE"])
    assert "MISTRAL_API_KEY: <removed>" in result["diff"]["before"]
    rv, after = secret_state(sandbox)
    assert after == {k: v for k, v in before.items() if k != "MISTRAL_API_KEY"}
    assert secret_state(sandbox, "litellm-secrets-previous")[1] == before
    again = run_playbook([task])
    assert again.rc == 0 and again["Patch"]["changed"] is False, again.output
    assert secret_state(sandbox)[0] == rv


def test_missing_secret_is_an_error_unless_create(sandbox, run_playbook):
    run = run_playbook([dict(secret_task("Missing", name="other-secrets", data={"GROQ_API_KEY": GROQ}),
                             ignore_errors=True),
                        secret_task("Create", name="other-secrets", data={"GROQ_API_KEY": GROQ}, create=True),
                        secret_task("Again", name="other-secrets", data={"GROQ_API_KEY": GROQ}, create=True)])
    assert run.rc == 0, run.output
    assert run["Missing"]["failed"] is True
    assert "Secret ml/other-secrets not found" in run["Missing"]["msg"]
    assert "create: true" in run["Missing"]["msg"]
    assert run["Create"]["changed"] is True and run["Create"]["added"] == ["GROQ_API_KEY"]
    assert "previous" not in run["Create"]
    assert run["Again"]["changed"] is False
    created = sandbox.get("secret", "other-secrets")
    assert created["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "homelab.litellm"
    assert sandbox.secret_value("GROQ_API_KEY", name="other-secrets") == GROQ


def test_digest_tracks_the_requested_values(sandbox, run_playbook):
    run = run_playbook([secret_task("Current", data={"GROQ_API_KEY": GROQ_ROTATED}),
                        secret_task("Other", data={"GROQ_API_KEY": GROQ}, name="other-secrets")])
    assert run.rc == 0, run.output
    assert run["Current"]["digest"] != run["Other"]["digest"]
    assert len(run["Current"]["digest"]) == 64
