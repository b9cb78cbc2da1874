"""homelab.litellm.litellm_secret against the sandbox, read back with kubectl.

Check mode first (nothing changes), then apply, then idempotency, then
rotation, removal and every kind of bad input (each must leave the Secret's
resourceVersion as it was). No value may ever show up in ansible's output, not
even at -vvvv with --diff.

The module reads the Deployment to find where each key reaches the pod: the
sandbox's Deployment loads Secret litellm-secrets whole with envFrom, so new
keys go there, unless an env entry names another Secret key. It writes only
those Secrets: no copy beside them (the last verified state is
litellm_known_good's record).
"""

from __future__ import annotations

import base64
import json

import pytest

from tests.conftest import issued_key

pytestmark = pytest.mark.litellm

GROQ = issued_key("groq")
MISTRAL = issued_key("mistral")
GROQ_ROTATED = issued_key("groq")
BEFORE_KEYS = ["DATABASE_URL", "LITELLM_MASTER_KEY", "OPENAI_API_KEY"]
HEADER = "Secret ml/litellm-secrets (key names only)"


def secret_task(task_name="Patch", **options):
    return {"name": task_name, "homelab.litellm.litellm_secret": {"namespace": "ml", **options}, "register": "patched"}


def secret_state(sandbox, name="litellm-secrets"):
    """(resourceVersion, {key: plain value}) of a Secret."""
    secret = sandbox.get("secret", name)
    return (
        secret["metadata"]["resourceVersion"],
        {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()},
    )


def secret_names(sandbox):
    listed = json.loads(sandbox.kubectl("-n", "ml", "get", "secrets", "-o", "json").stdout)["items"]
    return sorted(secret["metadata"]["name"] for secret in listed)


def in_litellm_secrets(*names):
    return {name: {"secret": "litellm-secrets", "key": name} for name in names}


def forms(value):
    return [value, base64.b64encode(value.encode()).decode()]


def test_check_mode_reports_the_change_and_writes_nothing(sandbox, run_playbook):
    before, names_before = secret_state(sandbox), secret_names(sandbox)
    run = run_playbook([secret_task(data={"GROQ_API_KEY": GROQ, "MISTRAL_API_KEY": MISTRAL})], check=True, diff=True)
    assert run.rc == 0, run.output
    result = run["Patch"]
    assert result["changed"] is True
    assert result["added"] == ["GROQ_API_KEY", "MISTRAL_API_KEY"]
    # The Deployment loads litellm-secrets with envFrom: that is where new keys reach the pod.
    assert result["targets"] == in_litellm_secrets("GROQ_API_KEY", "MISTRAL_API_KEY")
    assert result["secrets"] == {
        "litellm-secrets": {
            "keys": sorted(BEFORE_KEYS + ["GROQ_API_KEY", "MISTRAL_API_KEY"]),
            "changed": True,
            "resource_version": before[0],
        }
    }
    [diff] = result["diff"]
    assert (diff["before_header"], diff["after_header"]) == (HEADER, HEADER)
    assert diff["before"] == "".join(f"{k}: <unchanged>\n" for k in BEFORE_KEYS)
    assert "GROQ_API_KEY: <added>\n" in diff["after"] and "MISTRAL_API_KEY: <added>\n" in diff["after"]
    assert secret_state(sandbox) == before
    assert secret_names(sandbox) == names_before


def test_adds_keys_where_the_pod_reads_them_and_keeps_the_others(sandbox, run_playbook):
    (before_rv, before), names_before = secret_state(sandbox), secret_names(sandbox)
    run = run_playbook([secret_task(data={"GROQ_API_KEY": GROQ, "MISTRAL_API_KEY": MISTRAL})])
    assert run.rc == 0, run.output
    result = run["Patch"]
    assert result["changed"] is True
    assert (result["added"], result["updated"], result["removed"]) == (["GROQ_API_KEY", "MISTRAL_API_KEY"], [], [])
    assert result["targets"] == in_litellm_secrets("GROQ_API_KEY", "MISTRAL_API_KEY")
    after_rv, after = secret_state(sandbox)
    assert after_rv == result["secrets"]["litellm-secrets"]["resource_version"] != before_rv
    assert result["secrets"]["litellm-secrets"]["keys"] == sorted(after)
    assert after == dict(before, GROQ_API_KEY=GROQ, MISTRAL_API_KEY=MISTRAL)
    # Only litellm-secrets was written: no litellm-secrets-previous or other copy of the values.
    assert secret_names(sandbox) == names_before


def test_same_values_again_change_nothing(sandbox, run_playbook):
    before = secret_state(sandbox)
    run = run_playbook([secret_task(data={"GROQ_API_KEY": GROQ, "MISTRAL_API_KEY": MISTRAL})], diff=True)
    assert run.rc == 0, run.output
    result = run["Patch"]
    assert result["changed"] is False
    assert result["unchanged"] == ["GROQ_API_KEY", "MISTRAL_API_KEY"]
    assert (result["added"], result["updated"], result["removed"]) == ([], [], [])
    assert result["secrets"]["litellm-secrets"] == {
        "keys": sorted(before[1]),
        "changed": False,
        "resource_version": before[0],
    }
    [diff] = result["diff"]
    assert diff["before"] == diff["after"] == "".join(f"{k}: <unchanged>\n" for k in sorted(before[1]))
    assert secret_state(sandbox) == before


def test_rotation_updates_one_key_and_never_prints_a_value(sandbox, run_playbook):
    (_, before), names_before = secret_state(sandbox), secret_names(sandbox)
    run = run_playbook(
        [secret_task(data={"GROQ_API_KEY": GROQ_ROTATED, "MISTRAL_API_KEY": MISTRAL})],
        diff=True,
        verbosity=4,
        json_output=False,
    )
    assert run.rc == 0, run.output
    assert "changed: [localhost]" in run.output
    assert "-GROQ_API_KEY: <previous value>" in run.output and "+GROQ_API_KEY: <new value>" in run.output
    _, after = secret_state(sandbox)
    assert after == dict(before, GROQ_API_KEY=GROQ_ROTATED)
    # The value before the rotation is gone from the cluster, not kept in a copy ...
    assert secret_names(sandbox) == names_before
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
    before, names_before = secret_state(sandbox), secret_names(sandbox)
    tasks = [
        dict(secret_task(f"Bad {index}", data=data), ignore_errors=True) for index, (data, _) in enumerate(BAD_INPUTS)
    ]
    run = run_playbook(tasks)
    for index, (_, fragment) in enumerate(BAD_INPUTS):
        result = run[f"Bad {index}"]
        assert result["failed"] is True, result
        assert result["msg"].startswith("Nothing was written."), result["msg"]
        assert fragment in result["msg"], result["msg"]
        assert GROQ not in result["msg"]
    assert secret_state(sandbox) == before
    assert secret_names(sandbox) == names_before


def test_absent_removes_only_the_named_keys(sandbox, run_playbook):
    (_, before), names_before = secret_state(sandbox), secret_names(sandbox)
    task = secret_task(state="absent", keys=["MISTRAL_API_KEY", "NOT_THERE"])
    run = run_playbook([task], check=True)
    assert run.rc == 0 and run["Patch"]["changed"] is True, run.output
    assert secret_state(sandbox)[1] == before
    run = run_playbook([task], diff=True)
    assert run.rc == 0, run.output
    result = run["Patch"]
    assert (result["changed"], result["removed"], result["unchanged"]) == (True, ["MISTRAL_API_KEY"], ["NOT_THERE"])
    # NOT_THERE reaches the pod from nowhere: there is nothing to remove it from.
    assert result["targets"] == in_litellm_secrets("MISTRAL_API_KEY")
    [diff] = result["diff"]
    assert "MISTRAL_API_KEY: <removed>" in diff["before"] and "MISTRAL_API_KEY" not in diff["after"]
    rv, after = secret_state(sandbox)
    assert after == {k: v for k, v in before.items() if k != "MISTRAL_API_KEY"}
    assert secret_names(sandbox) == names_before
    again = run_playbook([task])
    assert again.rc == 0 and again["Patch"]["changed"] is False, again.output
    assert again["Patch"]["unchanged"] == ["MISTRAL_API_KEY", "NOT_THERE"]
    assert secret_state(sandbox)[0] == rv


def test_a_secret_the_pod_does_not_load_is_written_only_without_discovery(sandbox, run_playbook):
    def task(task_name, data=None, **options):
        return dict(
            secret_task(task_name, name="other-secrets", data=data or {"GROQ_API_KEY": GROQ}, **options),
            ignore_errors=True,
        )

    _, current = secret_state(sandbox)
    assert "GROQ_API_KEY" in current and "MISTRAL_API_KEY" not in current, "as the tests above leave it"
    run = run_playbook(
        [
            task("Unreachable", data={"GROQ_API_KEY": GROQ, "MISTRAL_API_KEY": MISTRAL}, create=True),
            task("Missing", discover=False),
            task("Create", discover=False, create=True),
            task("Again", discover=False, create=True),
        ]
    )
    # A key written there would never reach LiteLLM: refused, naming the Deployment field to add or
    # the Secret the pod really reads the variable from.
    unreachable = run["Unreachable"]["msg"]
    assert run["Unreachable"]["failed"] is True
    assert "MISTRAL_API_KEY would not reach LiteLLM" in unreachable
    assert "add {secretRef: {name: other-secrets}} to its envFrom" in unreachable
    assert "GROQ_API_KEY reaches LiteLLM from Secret litellm-secrets (key GROQ_API_KEY)" in unreachable
    assert "a key written there would never be used" in unreachable
    # Without discovery the named Secret is written, and created only when asked (so "Unreachable",
    # refused with create: true, created nothing).
    assert run["Missing"]["failed"] is True
    assert "Secret ml/other-secrets not found" in run["Missing"]["msg"]
    assert "create: true" in run["Missing"]["msg"]
    created = run["Create"]
    assert not created.get("failed"), created
    assert created["changed"] is True and created["added"] == ["GROQ_API_KEY"]
    assert created["targets"] == {"GROQ_API_KEY": {"secret": "other-secrets", "key": "GROQ_API_KEY"}}
    assert run["Again"]["changed"] is False and run["Again"]["unchanged"] == ["GROQ_API_KEY"]
    created = sandbox.get("secret", "other-secrets")
    assert created["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "homelab.litellm"
    assert sandbox.secret_value("GROQ_API_KEY", name="other-secrets") == GROQ
    for form in forms(GROQ):
        assert form not in run.output


def test_an_env_secret_key_ref_wins_over_env_from(sandbox, run_playbook):
    """A variable the pod gets from a secretKeyRef is written to that Secret's key, not to the envFrom Secret.

    The key is named as charts often name them (api-key): no variable name, which is fine, since the
    kubelet maps it to GROQ_API_KEY. Last in the file: the Deployment change rolls the sandbox's LiteLLM.
    """
    old_groq, new_groq = issued_key("groq"), issued_key("groq")
    sandbox.kubectl("-n", "ml", "create", "secret", "generic", "groq-keys", f"--from-literal=api-key={old_groq}")
    sandbox.kubectl(
        "-n",
        "ml",
        "patch",
        "deployment",
        "litellm",
        "--type=json",
        "-p",
        json.dumps(
            [
                {
                    "op": "add",
                    "path": "/spec/template/spec/containers/0/env",
                    "value": [
                        {"name": "GROQ_API_KEY", "valueFrom": {"secretKeyRef": {"name": "groq-keys", "key": "api-key"}}}
                    ],
                }
            ]
        ),
    )
    (_, before), names_before = secret_state(sandbox), secret_names(sandbox)
    run = run_playbook([secret_task(data={"GROQ_API_KEY": new_groq, "MISTRAL_API_KEY": MISTRAL})], diff=True)
    assert run.rc == 0, run.output
    result = run["Patch"]
    assert result["targets"] == {
        "GROQ_API_KEY": {"secret": "groq-keys", "key": "api-key"},
        **in_litellm_secrets("MISTRAL_API_KEY"),
    }
    assert (result["added"], result["updated"]) == (["MISTRAL_API_KEY"], ["GROQ_API_KEY"])
    assert sorted(result["secrets"]) == ["groq-keys", "litellm-secrets"]
    assert all(entry["changed"] for entry in result["secrets"].values())
    assert [diff["after"] for diff in result["diff"]] == [
        "api-key: <new value>\n",
        "".join(
            f"{k}: {'<added>' if k == 'MISTRAL_API_KEY' else '<unchanged>'}\n"
            for k in sorted({*before, "MISTRAL_API_KEY"})
        ),
    ]
    assert secret_state(sandbox, "groq-keys")[1] == {"api-key": new_groq}
    # litellm-secrets keeps its own GROQ_API_KEY, which the env entry hides from the pod.
    assert secret_state(sandbox)[1] == dict(before, MISTRAL_API_KEY=MISTRAL)
    assert secret_names(sandbox) == names_before
    for value in (old_groq, new_groq, MISTRAL, before["GROQ_API_KEY"]):
        for form in forms(value):
            assert form not in run.output
