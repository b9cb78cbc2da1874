"""homelab.litellm.litellm_config against the sandbox, read back with kubectl.

Check mode first (nothing changes), then apply, then idempotency, then every
kind of bad input, each of which must leave the ConfigMap byte-identical.

The models are the story's own request. Four of them have been shut down by
their providers since; the module has no provider access, so it writes them as
asked and warns about each with the replacement (plugins/module_utils/config/lifecycle.py).
The module writes only the ConfigMap it merges into: the last verified state is
litellm_known_good's record, not a copy kept beside the ConfigMap.
"""

from __future__ import annotations

import json

import pytest
import yaml

from tests.conftest import STORY_CHAIN

pytestmark = pytest.mark.litellm

STORY_MODELS = [
    ("groq/llama-3.3-70b-versatile", "GROQ_API_KEY"),
    ("groq/mixtral-8x7b-32768", "GROQ_API_KEY"),
    ("gemini/gemini-1.5-flash", "GEMINI_API_KEY"),
    ("gemini/gemini-1.5-pro", "GEMINI_API_KEY"),
    ("mistral/mistral-small-latest", "MISTRAL_API_KEY"),
]
# What the module warns about each retired story model: (provider, replacement).
RETIRED = {
    "groq/llama-3.3-70b-versatile": ("Groq", "groq/openai/gpt-oss-120b"),
    "groq/mixtral-8x7b-32768": ("Groq", "groq/openai/gpt-oss-120b"),
    "gemini/gemini-1.5-flash": ("Google", "gemini/gemini-3.5-flash-lite"),
    "gemini/gemini-1.5-pro": ("Google", "gemini/gemini-3.8-flash"),
}
CHAIN = STORY_CHAIN
FALLBACKS_LINE = '  fallbacks: [{"vllm-qwen": ["ollama-qwen"]}, {"ollama-qwen": ["openai-gpt4o"]}]'


def story_models():
    return [
        {"model_name": name, "litellm_params": {"model": name, "api_key": f"os.environ/{env}"}}
        for name, env in STORY_MODELS
    ]


def config_task(models, task_name="Merge", **options):
    return {
        "name": task_name,
        "homelab.litellm.litellm_config": {"namespace": "ml", "models": models, **options},
        "register": "merged",
    }


def configmap(sandbox):
    cm = sandbox.get("configmap", "litellm-config")
    return cm["metadata"]["resourceVersion"], cm["data"]["config.yaml"]


def configmap_names(sandbox):
    listed = json.loads(sandbox.kubectl("-n", "ml", "get", "configmaps", "-o", "json").stdout)["items"]
    return sorted(cm["metadata"]["name"] for cm in listed)


def test_check_mode_reports_the_change_and_writes_nothing(sandbox, run_playbook):
    before, names_before = configmap(sandbox), configmap_names(sandbox)
    run = run_playbook([config_task(story_models())], check=True, diff=True)
    assert run.rc == 0, run.output
    result = run["Merge"]
    assert result["changed"] is True
    assert result["added"] == sorted(name for name, _ in STORY_MODELS)
    assert "groq/llama-3.3-70b-versatile" in result["diff"]["after"]
    assert result["diff"]["before"] == before[1]
    assert configmap(sandbox) == before
    assert configmap_names(sandbox) == names_before


def test_adds_the_story_models_keeping_chain_and_comments(sandbox, run_playbook):
    before_rv, before_text = configmap(sandbox)
    names_before = configmap_names(sandbox)
    run = run_playbook([config_task(story_models())])
    assert run.rc == 0, run.output
    result = run["Merge"]
    assert result["changed"] is True
    assert result["env_vars"] == sorted(
        {"GROQ_API_KEY", "GEMINI_API_KEY", "MISTRAL_API_KEY", "OPENAI_API_KEY", "LITELLM_MASTER_KEY"}
    )
    rv, text = configmap(sandbox)
    assert rv != before_rv
    config = yaml.safe_load(text)
    names = [m["model_name"] for m in config["model_list"]]
    assert names == CHAIN + [name for name, _ in STORY_MODELS]
    assert config["router_settings"]["fallbacks"] == [{"vllm-qwen": ["ollama-qwen"]}, {"ollama-qwen": ["openai-gpt4o"]}]
    assert FALLBACKS_LINE in text, "the operator's flow-style fallbacks line is untouched"
    for line in before_text.splitlines():
        if line.strip().startswith("#"):
            assert line in text, f"comment lost: {line}"
    for entry in config["model_list"][3:]:
        assert entry["model_info"]["managed_by"] == "homelab.litellm"
    # No copy beside the ConfigMap (no litellm-config-previous): a rollback restores litellm_known_good's record.
    assert configmap_names(sandbox) == names_before
    # Retired models are written as asked (the module cannot ask the provider), each with one warning,
    # shown as an Ansible warning too, that names the shutdown and the replacement.
    for model, (provider, replacement) in RETIRED.items():
        warned = [w for w in result["warnings_list"] if w.startswith(f"{model} was shut down by {provider} on ")]
        assert len(warned) == 1, result["warnings_list"]
        assert warned[0].endswith(f"; use {replacement} instead")
        assert any(warned[0] in shown for shown in result["warnings"]), result["warnings"]
    assert len(result["warnings_list"]) == len(RETIRED), "mistral/mistral-small-latest is current: no warning"


def test_second_run_changes_nothing(sandbox, run_playbook):
    before = configmap(sandbox)
    run = run_playbook([config_task(story_models())])
    assert run.rc == 0, run.output
    assert run["Merge"]["changed"] is False
    assert run["Merge"]["unchanged"] == sorted(name for name, _ in STORY_MODELS)
    assert configmap(sandbox) == before


BAD_INPUTS = {
    "fallback key": (
        [
            {
                "model_name": "groq/openai/gpt-oss-120b",
                "litellm_params": {"model": "groq/openai/gpt-oss-120b", "api_key": "os.environ/GROQ_API_KEY"},
            }
        ],
        {"router_settings": {"fallbacks": [{"groq/openai/gpt-oss-120b": ["vllm-qwen"]}]}},
        "parallel model 'groq/openai/gpt-oss-120b' is a fallback key",
    ),
    # A wildcard is a leak only with parallel models in the config: the story's are there by now.
    "wildcard fallback": (
        [],
        {"router_settings": {"fallbacks": [{"*": ["openai-gpt4o"]}]}},
        "the key '*' makes every model fall back",
    ),
    "literal secret": (
        [{"model_name": "groq/x", "litellm_params": {"model": "groq/x", "api_key": "gsk_literal_secret_value"}}],
        {},
        "litellm_params.api_key is written literally",
    ),
    "unknown litellm_params key": (
        [
            {
                "model_name": "groq/x",
                "litellm_params": {"model": "groq/x", "api_key": "os.environ/GROQ_API_KEY", "rpm_limit": 30},
            }
        ],
        {},
        "litellm_params.rpm_limit is not a LiteLLM parameter; did you mean 'rpm'?",
    ),
    "duplicate names": (
        [
            {"model_name": "groq/x", "litellm_params": {"model": "groq/x", "api_key": "os.environ/GROQ_API_KEY"}},
            {"model_name": "groq/x", "litellm_params": {"model": "groq/y", "api_key": "os.environ/GROQ_API_KEY"}},
        ],
        {},
        "model_name 'groq/x' is given 2 times",
    ),
    "name of a chain model": (
        [{"model_name": "vllm-qwen", "litellm_params": {"model": "groq/x", "api_key": "os.environ/GROQ_API_KEY"}}],
        {},
        "cannot write model 'vllm-qwen': model_list already has an entry with this model_name that "
        "homelab.litellm does not own",
    ),
    "entry without litellm_params.model": (
        [{"model_name": "groq/x", "litellm_params": {"api_key": "os.environ/GROQ_API_KEY"}}],
        {},
        "model 'groq/x': litellm_params.model is missing",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_fails_clearly_and_writes_nothing(sandbox, run_playbook, case):
    models, options, expected = BAD_INPUTS[case]
    before = configmap(sandbox)
    run = run_playbook([config_task(models, **options)])
    assert run.rc != 0
    result = run["Merge"]
    assert result["failed"] is True
    assert expected in result["msg"], result["msg"]
    assert "Nothing was written" in result["msg"]
    assert "gsk_literal_secret_value" not in run.output
    assert configmap(sandbox) == before


def test_malformed_existing_config_is_refused(sandbox, run_playbook):
    rv, good = configmap(sandbox)
    broken = good.replace("model_list:", "model_list: {not: [a list", 1)
    sandbox.kubectl(
        "-n",
        "ml",
        "patch",
        "configmap/litellm-config",
        "--type=merge",
        "-p",
        json.dumps({"data": {"config.yaml": broken}}),
    )
    try:
        before = configmap(sandbox)
        run = run_playbook([config_task(story_models())])
        assert run.rc != 0
        assert "YAML" in run["Merge"]["msg"] or "yaml" in run["Merge"]["msg"]
        assert configmap(sandbox) == before
    finally:
        sandbox.kubectl(
            "-n",
            "ml",
            "patch",
            "configmap/litellm-config",
            "--type=merge",
            "-p",
            json.dumps({"data": {"config.yaml": good}}),
        )


def test_absent_and_purge_touch_only_owned_entries(sandbox, run_playbook):
    run = run_playbook([config_task([{"model_name": "groq/mixtral-8x7b-32768"}], state="absent")])
    assert run.rc == 0, run.output
    assert run["Merge"]["removed"] == ["groq/mixtral-8x7b-32768"]
    names = [m["model_name"] for m in yaml.safe_load(configmap(sandbox)[1])["model_list"]]
    assert "groq/mixtral-8x7b-32768" not in names and names[:3] == CHAIN

    # Removing an operator's model is refused.
    run = run_playbook([config_task([{"model_name": "vllm-qwen"}], state="absent")])
    assert run.rc != 0 and "vllm-qwen" in run["Merge"]["msg"]

    keep = [m for m in story_models() if m["model_name"] == "mistral/mistral-small-latest"]
    run = run_playbook([config_task(keep, purge=True)])
    assert run.rc == 0, run.output
    names = [m["model_name"] for m in yaml.safe_load(configmap(sandbox)[1])["model_list"]]
    assert names == CHAIN + ["mistral/mistral-small-latest"]


def test_router_settings_merge_keeps_the_chain(sandbox, run_playbook):
    # Not usage-based-routing-v2: the module treats that one as homelab.litellm 0.1.0's leftover.
    run = run_playbook([config_task([], router_settings={"routing_strategy": "latency-based-routing"})])
    assert run.rc == 0, run.output
    assert run["Merge"]["changed"] is True
    text = configmap(sandbox)[1]
    assert FALLBACKS_LINE in text
    settings = yaml.safe_load(text)["router_settings"]
    assert settings["routing_strategy"] == "latency-based-routing"
    assert settings["num_retries"] == 0


def test_helm_managed_configmap_is_warned_about(sandbox, run_playbook):
    sandbox.kubectl("-n", "ml", "label", "configmap/litellm-config", "app.kubernetes.io/managed-by=Helm")
    try:
        run = run_playbook([config_task(story_models())])
        assert run.rc == 0, run.output
        assert any("helm upgrade" in w for w in run["Merge"]["warnings_list"])
    finally:
        sandbox.kubectl("-n", "ml", "label", "configmap/litellm-config", "app.kubernetes.io/managed-by-")


def test_missing_configmap_fails_clearly(sandbox, run_playbook):
    run = run_playbook([config_task(story_models(), name="no-such-config")])
    assert run.rc != 0
    assert "ml/no-such-config not found" in run["Merge"]["msg"]
