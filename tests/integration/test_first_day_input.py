"""An operator's first day (issue 19, items 4-7 and 9) on the sandbox: what the role's input says is
what happens, or the run stops before it writes anything.

In order, on one sandbox that starts from the story's *before* state:

* bad values inside litellm_parallel_models (rpm 0, -1, "abc", 1e9, an emoji name, a bad api_base)
  are refused by litellm_apply before any write, with litellm_limits' message, in well under a
  second of module time (the module process is timed from main() to its exit);
* a typo'd role variable fails under litellm_strict_vars, cluster untouched; a key no model reads
  (GROK_API_KEY) is refused naming GROQ_API_KEY, cluster untouched;
* the first site.yml run warns about the typo naming the variable meant, leaves out the excluded
  preset model, gives the user's own Groq entry the provider's api_base (its smoke request reaches
  the fake Groq) and writes an extra key allowed by litellm_extra_keys;
* litellm_remove_keys takes that key out again (restart, record), leaving the ConfigMap alone; the
  master key and a key the collection did not write are refused with every resourceVersion unchanged;
* dropping a provider names the models it leaves behind; litellm_remove_models then removes an
  excluded preset model and warns about a name that is not there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from tests.conftest import REPO_ROOT, vault_keys

pytestmark = pytest.mark.litellm

OBJECTS = (
    ("configmap", "litellm-config"),
    ("secret", "litellm-secrets"),
    ("deployment", "litellm"),
)
EXCLUDED = "groq/openai/gpt-oss-20b"
OWN_GROQ = {
    "model_name": "my-groq",
    "litellm_params": {"model": "groq/openai/gpt-oss-120b", "api_key": "os.environ/GROQ_API_KEY"},
}
BASE_VARS = {"litellm_exclude_models": [EXCLUDED], "litellm_parallel_models": [OWN_GROQ]}
"""What the first run asks for: the later runs ask for the same models, so their config stays."""
EXTRA_KEY = "OPENROUTER_API_KEY"
EXTRA_VALUE = "sk-or-v1-" + "5eb2" * 16
MODULE_RUNNER = """
import sys, time
from ansible_collections.homelab.litellm.plugins.modules import litellm_apply
started = time.monotonic()
try:
    litellm_apply.main()
finally:
    sys.stderr.write("MODULE_SECONDS=%.3f\\n" % (time.monotonic() - started))
"""


def versions(sandbox) -> dict:
    """resourceVersion of every object a run may write (None: absent)."""
    found = {}
    for kind, name in OBJECTS + (("secret", "litellm-known-good"), ("lease", "homelab-litellm-litellm")):
        result = sandbox.kubectl("-n", "ml", "get", kind, name, "-o", "json", check=False)
        found[(kind, name)] = (
            json.loads(result.stdout)["metadata"]["resourceVersion"] if result.returncode == 0 else None
        )
    return found


def site(sandbox, extra_vars: dict, *args: str):
    result = sandbox.playbook("site.yml", "-e", json.dumps(extra_vars), *args)
    return result, result.stdout + result.stderr


def run_module(sandbox, **params) -> tuple[dict, float]:
    """litellm_apply as Ansible runs it (its arguments on stdin), outside a playbook: (result, seconds in main())."""
    args = dict(namespace="ml", deployment="litellm", kubeconfig=str(sandbox.kubeconfig), provider_check="off")
    args.update(params)
    completed = subprocess.run(
        [sys.executable, "-c", MODULE_RUNNER],
        input=json.dumps({"ANSIBLE_MODULE_ARGS": args}),
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO_ROOT / ".collections")),
        cwd=REPO_ROOT,
        timeout=120,
    )
    seconds = float(completed.stderr.rsplit("MODULE_SECONDS=", 1)[1].split()[0])
    return json.loads(completed.stdout[completed.stdout.index("{") :]), seconds


def entry(name="bad-one", **params):
    litellm_params = {"model": "groq/openai/gpt-oss-120b", "api_key": "os.environ/GROQ_API_KEY"}
    litellm_params.update(params)
    return {"model_name": name, "litellm_params": litellm_params}


@pytest.mark.parametrize(
    "bad, message",
    [
        (entry(rpm=0), "model 'bad-one': limit rpm must be a whole number >= 1 (or null to drop it), not 0"),
        (entry(rpm=-1), "model 'bad-one': limit rpm must be a whole number >= 1 (or null to drop it), not -1"),
        (entry(tpm="abc"), "model 'bad-one': limit tpm must be a whole number >= 1 (or null to drop it), not 'abc'"),
        (
            entry(rpm=1e9),
            "model 'bad-one': limit rpm must be a whole number >= 1 (or null to drop it), not 1000000000.0",
        ),
        (entry(name="groq-\U0001f680"), "model_name contains '\U0001f680' (U+1F680), which LiteLLM cannot send back"),
        (entry(api_base="groq.example/v1"), "api_base 'groq.example/v1' is not an http(s) URL with a host"),
    ],
)
def test_bad_values_in_parallel_models_are_refused_at_once_with_nothing_written(sandbox, bad, message):
    before = versions(sandbox)
    result, seconds = run_module(sandbox, models=[bad], api_keys={"GROQ_API_KEY": vault_keys()["GROQ_API_KEY"]})
    assert result.get("failed") is True, result
    assert result["msg"].startswith("Nothing was written. ") and message in result["msg"], result["msg"]
    assert versions(sandbox) == before
    print("module time for %r: %.3f s" % (message[:40], seconds))
    assert seconds < 1.0, seconds


def test_the_role_refuses_a_bad_rpm_in_parallel_models_as_it_refuses_one_in_limits(sandbox):
    before = versions(sandbox)
    result, output = site(sandbox, {"litellm_parallel_models": [entry(rpm=0)]})
    assert result.returncode != 0
    assert "limit rpm must be a whole number >= 1 (or null to drop it), not 0" in output
    result, output = site(sandbox, {"litellm_limits": {"groq": {"rpm": 0}}})
    assert result.returncode != 0
    assert "limit rpm must be a whole number >= 1 (or null to drop it), not 0" in output
    assert versions(sandbox) == before


def test_a_typod_variable_fails_under_strict_vars_with_nothing_written(sandbox):
    before = versions(sandbox)
    result, output = site(sandbox, {"litellm_paralel_models": [OWN_GROQ], "litellm_strict_vars": True})
    assert result.returncode != 0, output[-3000:]
    assert "Nothing was written (litellm_strict_vars is true). litellm_paralel_models is not a variable" in output
    assert "did you mean litellm_parallel_models?" in output
    assert versions(sandbox) == before


def test_a_key_no_model_reads_is_refused_with_nothing_written(sandbox):
    before = versions(sandbox)
    keys = dict(vault_keys(), GROK_API_KEY=vault_keys()["GROQ_API_KEY"])
    result, output = site(sandbox, {"litellm_api_keys": keys})
    assert result.returncode != 0, output[-3000:]
    assert "GROK_API_KEY: no model reads it; did you mean GROQ_API_KEY?" in output
    assert versions(sandbox) == before


def test_first_run_excludes_a_preset_model_and_gives_the_users_groq_entry_the_api_base(sandbox):
    keys = dict(vault_keys(), **{EXTRA_KEY: EXTRA_VALUE})
    result, output = site(
        sandbox,
        dict(BASE_VARS, litellm_paralel_models=[], litellm_api_keys=keys, litellm_extra_keys=[EXTRA_KEY]),
    )
    assert result.returncode == 0, output[-5000:]
    assert "litellm_paralel_models is not a variable of the homelab.litellm role" in output
    assert "did you mean litellm_parallel_models?" in output
    config = yaml.safe_load(sandbox.config_text())
    by_name = {model["model_name"]: model["litellm_params"] for model in config["model_list"]}
    assert EXCLUDED not in by_name and "groq/openai/gpt-oss-120b" in by_name
    bases = json.loads((sandbox.state_dir / "provider-api-bases.json").read_text())
    assert by_name["my-groq"]["api_base"] == bases["groq"]
    report = json.loads((sandbox.state_dir / "last-run.json").read_text())
    assert {smoke["model"]: smoke["status"] for smoke in report["smoke"]}["my-groq"] == "ok"
    assert sandbox.secret_value(EXTRA_KEY) == EXTRA_VALUE


def test_remove_keys_takes_out_a_key_this_collection_wrote(sandbox):
    before = versions(sandbox)
    generation = sandbox.generation()
    result, output = site(sandbox, dict(BASE_VARS, litellm_remove_keys=[EXTRA_KEY]))
    assert result.returncode == 0, output[-5000:]
    secret = json.loads(sandbox.kubectl("-n", "ml", "get", "secret", "litellm-secrets", "-o", "json").stdout)
    assert EXTRA_KEY not in secret["data"]
    after = versions(sandbox)
    assert after[("configmap", "litellm-config")] == before[("configmap", "litellm-config")]  # untouched
    assert after[("secret", "litellm-secrets")] != before[("secret", "litellm-secrets")]
    assert sandbox.generation() > generation  # the pods no longer carry it in their environment
    record = json.loads(sandbox.kubectl("-n", "ml", "get", "secret", "litellm-known-good", "-o", "json").stdout)
    assert EXTRA_KEY not in record["metadata"]["annotations"]["homelab.litellm/keys"].split(",")
    assert EXTRA_VALUE not in output
    # Left in the inventory, the next run says there is nothing to remove and changes nothing.
    settled = versions(sandbox)
    result, output = site(sandbox, dict(BASE_VARS, litellm_remove_keys=[EXTRA_KEY]))
    assert result.returncode == 0, output[-5000:]
    assert "%s is in no Secret LiteLLM loads: nothing to remove" % EXTRA_KEY in output
    assert versions(sandbox) == settled


@pytest.mark.parametrize(
    "name, message",
    [
        ("LITELLM_MASTER_KEY", "LITELLM_MASTER_KEY is LiteLLM's master key: homelab.litellm never removes it"),
        ("DATABASE_URL", "DATABASE_URL was not written by homelab.litellm"),
        ("GROQ_API_KEY", "GROQ_API_KEY is in litellm_api_keys and in litellm_remove_keys"),
    ],
)
def test_a_refused_key_removal_leaves_every_resource_version(sandbox, name, message):
    before = versions(sandbox)
    result, output = site(sandbox, dict(BASE_VARS, litellm_remove_keys=[name]))
    assert result.returncode != 0, output[-3000:]
    assert message in output and "Nothing was written" in output
    assert versions(sandbox) == before


def test_dropping_a_provider_names_the_models_it_leaves_behind(sandbox):
    before = versions(sandbox)
    result, output = site(
        sandbox,
        dict(BASE_VARS, litellm_providers=["groq", "gemini"]),
    )
    assert result.returncode == 0, output[-5000:]
    assert "Models added by an earlier run are no longer requested" in output
    assert "mistral: mistral/mistral-small-latest" in output
    assert "litellm_remove_models: [mistral/mistral-small-latest]" in output
    assert versions(sandbox)[("configmap", "litellm-config")] == before[("configmap", "litellm-config")]


def test_remove_models_takes_out_an_excluded_preset_model_and_warns_about_an_absent_one(sandbox):
    removed = "groq/openai/gpt-oss-120b"
    result, output = site(
        sandbox,
        {
            "litellm_exclude_models": [EXCLUDED, removed],
            "litellm_parallel_models": [OWN_GROQ],
            "litellm_remove_models": [removed, "groq/not-there"],
        },
    )
    assert result.returncode == 0, output[-5000:]
    names = [model["model_name"] for model in yaml.safe_load(sandbox.config_text())["model_list"]]
    assert removed not in names and "my-groq" in names
    assert "litellm_remove_models names 'groq/not-there', which is not in the config: nothing to remove" in output
