# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/_plan.py: plan a whole run from one read of the cluster.

The observed state is the story's: its config.yaml (fixtures/story-config.yaml), the Secret with
the master key, DATABASE_URL and the OpenAI key, and the Deployment as the sandbox seeds it.
"""

from __future__ import annotations

import copy
import json

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _known_good as kg
from ansible_collections.homelab.litellm.plugins.module_utils import _plan as pl
from ansible_collections.homelab.litellm.plugins.module_utils import _rollout as rt
from ansible_collections.homelab.litellm.plugins.module_utils import _wiring as wiring
from ansible_collections.homelab.litellm.plugins.module_utils.config.document import ConfigError
from ansible_collections.homelab.litellm.tests.unit.fake_kube import (
    STORY_CONFIG,
    STORY_SECRETS,
    b64,
    configmap_object,
    litellm_deployment,
    pod_object,
    rollout_status,
    secret_object,
)

S, CM = wiring.SECRET, wiring.CONFIGMAP
GROQ_KEY = "gsk_" + "R7" * 24
NEW_OPENAI_KEY = "sk-proj-" + "9d" * 20
GPT_OSS = {
    "model_name": "groq/openai/gpt-oss-120b",
    "litellm_params": {"model": "groq/openai/gpt-oss-120b", "api_key": "os.environ/GROQ_API_KEY"},
}
MINI = {
    "model_name": "gpt-mini",
    "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "os.environ/OPENAI_API_KEY"},
}
SECRET_VALUES = set(STORY_SECRETS.values()) | {GROQ_KEY, NEW_OPENAI_KEY}
# The "billion laughs" of YAML: 9 levels of 9 aliases each, 387 million nodes in 321 bytes.
ALIAS_BOMB = "l0: &l0 [%s]\n" % ", ".join(["lol"] * 9) + "".join(
    "l%d: &l%d [%s]\n" % (level, level, ", ".join(["*l%d" % (level - 1)] * 9)) for level in range(1, 9)
)


def with_version(obj, version):
    obj = copy.deepcopy(obj)
    obj["metadata"]["resourceVersion"] = version
    return obj


def observed(
    config=STORY_CONFIG, secrets=None, deployment=None, record=None, pods=None, replicasets=None, objects=None
):
    secret = with_version(secret_object(STORY_SECRETS if secrets is None else secrets), "12")
    return pl.Observed(
        deployment=deployment or litellm_deployment(),
        configmap=None if config is None else with_version(configmap_object(config), "11"),
        objects={(S, "litellm-secrets"): secret, **(objects or {})},
        record=record,
        pods=pods,
        replicasets=replicasets,
    )


def settled(record=True, config=STORY_CONFIG, secrets=None):
    """The state after a verified run: the Deployment carries the live digest, the record equals the live state."""
    state = observed(config=config, secrets=secrets)
    digest = pl.plan_run("ml", state, pl.Request()).rollout["digest_live"]
    state.deployment = litellm_deployment(annotations={rt.DIGEST_ANNOTATION: digest})
    if record:
        values = STORY_SECRETS if secrets is None else secrets
        keys = {name: ("litellm-secrets", name, values.get(name)) for name in ("OPENAI_API_KEY",)}
        state.record = kg.KnownGood(
            config, "litellm-config", "config.yaml", keys, ["vllm-qwen"], "true", "2026-12-01T10:00:00Z", "r0"
        )
    return state


def plan(state=None, **request):
    return pl.plan_run("ml", state or settled(), pl.Request(**request))


def plan_errors(state=None, **request):
    with pytest.raises(pl.PlanError) as caught:
        plan(state, **request)
    assert str(caught.value).startswith("Nothing was written. ")
    assert caught.value.result == {"errors": caught.value.errors}
    return caught.value.errors


NOTHING = {"config": False, "secret": False, "rollout": False, "verify": False, "record": False, "any": False}


# -- work ------------------------------------------------------------------------------------------


def test_a_settled_state_without_a_request_is_a_no_op():
    result = plan()
    assert result.work == NOTHING
    assert result.smoke_models == [] and result.diffs == []
    assert result.rollout["restart"] is False and result.rollout["reason"] == rt.REASON_UNCHANGED
    assert result.unverified == {
        "config": False,
        "keys": [],
        "models": [],
        "recorded_at": "2026-12-01T10:00:00Z",
        "failing_rollout": None,
        "pending": None,
    }


def test_the_second_run_of_the_same_request_is_a_no_op():
    first = plan(models=[GPT_OSS], api_keys={"GROQ_API_KEY": GROQ_KEY})
    secrets = dict(STORY_SECRETS, GROQ_API_KEY=GROQ_KEY)
    state = observed(
        config=first.config_text,
        secrets=secrets,
        deployment=litellm_deployment(annotations={rt.DIGEST_ANNOTATION: first.rollout["digest_after"]}),
    )
    state.record = kg.KnownGood(
        first.config_text,
        "litellm-config",
        "config.yaml",
        {name: ("litellm-secrets", name, secrets[name]) for name in ("GROQ_API_KEY",)},
        first.expected_models,
        "true",
        "2026-12-01T11:00:00Z",
        "r1",
    )
    assert plan(state, models=[GPT_OSS], api_keys={"GROQ_API_KEY": GROQ_KEY}).work == NOTHING


def test_adding_a_model_with_its_key_is_every_step():
    result = plan(models=[GPT_OSS], api_keys={"GROQ_API_KEY": GROQ_KEY})
    assert result.work == {"config": True, "secret": True, "rollout": True, "verify": True, "record": True, "any": True}
    assert result.config["added"] == ["groq/openai/gpt-oss-120b"]
    assert result.secrets == {
        "litellm-secrets": {
            "added": ["GROQ_API_KEY"],
            "updated": [],
            "unchanged": [],
            "removed": [],
            "resource_version": "12",
        }
    }
    assert result.rollout["reason"] == rt.REASON_CHANGED
    assert result.smoke_models == ["groq/openai/gpt-oss-120b"]
    assert result.expected_models == ["vllm-qwen", "ollama-qwen", "openai-gpt4o", "groq/openai/gpt-oss-120b"]
    assert result.managed_keys == {
        "GROQ_API_KEY": {"secret": "litellm-secrets", "key": "GROQ_API_KEY"},
        "OPENAI_API_KEY": {"secret": "litellm-secrets", "key": "OPENAI_API_KEY"},
    }


def test_a_config_change_alone_writes_no_key():
    result = plan(models=[MINI])
    assert result.work == dict(NOTHING, config=True, rollout=True, verify=True, record=True, any=True)
    assert result.secrets == {} and result.smoke_models == ["gpt-mini"]


def test_a_key_rotation_alone_restarts_and_proves_the_models_using_it():
    result = plan(api_keys={"OPENAI_API_KEY": NEW_OPENAI_KEY})
    assert result.work == dict(NOTHING, secret=True, rollout=True, verify=True, record=True, any=True)
    assert result.secrets["litellm-secrets"]["updated"] == ["OPENAI_API_KEY"]
    assert result.smoke_models == ["openai-gpt4o"]


def test_an_equal_key_is_no_work():
    result = plan(api_keys={"OPENAI_API_KEY": STORY_SECRETS["OPENAI_API_KEY"]})
    assert result.work == NOTHING
    assert result.secrets["litellm-secrets"]["unchanged"] == ["OPENAI_API_KEY"]


def test_a_key_the_config_does_not_use_is_written_without_a_restart():
    result = plan(api_keys={"SPARE_API_KEY": GROQ_KEY}, extra_keys=["SPARE_API_KEY"])
    assert result.work == dict(NOTHING, secret=True, verify=True, record=True, any=True)
    assert result.smoke_models == []


def test_force_restarts_an_unchanged_litellm():
    result = plan(force=True)
    assert result.work == dict(NOTHING, rollout=True, verify=True, record=True, any=True)
    assert result.rollout["reason"] == rt.REASON_FORCED


def test_without_a_record_the_run_records_one():
    result = plan(settled(record=False))
    assert result.work == dict(NOTHING, record=True, any=True)
    assert result.unverified["recorded_at"] is None


def test_the_first_run_on_a_deployment_without_digest_restarts():
    result = plan(observed())
    assert result.rollout["digest_now"] is None and result.rollout["restart"] is True


def test_an_unverified_config_is_verified_and_its_models_smoked():
    state = settled()
    state.record = state.record._replace(config_text=STORY_CONFIG.replace("timeout: 120", "timeout: 60"))
    result = plan(state)
    assert result.unverified["config"] is True and result.unverified["models"] == ["ollama-qwen"]
    assert result.work == dict(NOTHING, verify=True, record=True, any=True)
    assert result.smoke_models == ["ollama-qwen"]


def test_unverified_keys_are_verified_with_the_models_using_them():
    state = settled()
    state.record = state.record._replace(keys={"OPENAI_API_KEY": ("litellm-secrets", "OPENAI_API_KEY", "sk-older")})
    result = plan(state)
    assert result.unverified["keys"] == ["OPENAI_API_KEY"] and result.unverified["models"] == ["openai-gpt4o"]
    assert result.work == dict(NOTHING, verify=True, record=True, any=True)
    assert result.smoke_models == ["openai-gpt4o"]


def failing_state():
    state = settled()
    deployment = state.deployment
    deployment["metadata"]["uid"] = "dep"
    deployment["status"] = rollout_status(1, 1, updated=1, available=1, total=2)
    labels = {"app": "litellm", "pod-template-hash": "new"}
    replicaset = {
        "metadata": {
            "name": "litellm-new",
            "uid": "rs",
            "labels": labels,
            "annotations": {rt.REVISION_ANNOTATION: "2"},
            "ownerReferences": [{"uid": "dep"}],
        },
        "spec": {"template": copy.deepcopy(deployment["spec"]["template"])},
    }
    state.replicasets = [replicaset]
    state.pods = [pod_object("litellm-new-x1", labels, replicaset, crash=True)]
    return state


def test_a_failing_rollout_is_unverified_and_rolled():
    result = plan(failing_state())
    assert "litellm-new-x1" in result.unverified["failing_rollout"]
    assert "CrashLoopBackOff" in result.rollout["failure"]
    assert result.rollout["complete"] is False
    assert result.work == dict(NOTHING, rollout=True, verify=True, record=True, any=True)


def test_a_rollout_under_way_is_waited_for_but_not_unverified():
    state = settled()
    state.deployment["status"] = rollout_status(1, 1, updated=0)
    result = plan(state)
    assert result.rollout["complete"] is False and result.rollout["failure"] is None
    assert result.work["rollout"] is True and result.unverified["failing_rollout"] is None


def test_an_unhealthy_litellm_without_record_is_warned():
    state = failing_state()
    state.record = None
    assert any("no last verified state" in warning for warning in plan(state).warnings)


def test_manage_config_false_ignores_the_models():
    result = plan(models=[GPT_OSS], manage_config=False)
    assert result.work == NOTHING and result.config["changed"] is False


# -- refusals --------------------------------------------------------------------------------------


def test_an_unreachable_reference_is_refused():
    errors = plan_errors(models=[GPT_OSS])
    assert errors == [
        "config.yaml references GROQ_API_KEY, which container litellm of Deployment litellm does not get "
        "from anywhere (LiteLLM would call without a key): give the key in litellm_api_keys, or add it "
        "to a Secret the container loads"
    ]


def test_a_required_source_that_does_not_exist_is_refused():
    deployment = litellm_deployment()
    deployment["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "GROQ_API_KEY", "valueFrom": {"secretKeyRef": {"name": "groq", "key": "key"}}}
    ]
    state = observed(deployment=deployment, objects={(S, "groq"): None})
    assert plan_errors(state, models=[GPT_OSS]) == [
        "GROQ_API_KEY comes from Secret groq, which does not exist: the pod cannot start; create it"
    ]


def test_an_optional_source_that_does_not_exist_is_accepted():
    deployment = litellm_deployment()
    deployment["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "GROQ_API_KEY", "valueFrom": {"secretKeyRef": {"name": "groq", "key": "key", "optional": True}}}
    ]
    assert plan(observed(deployment=deployment, objects={(S, "groq"): None}), models=[GPT_OSS]).work["config"]


def test_a_missing_secret_to_write_into_is_refused():
    config = "model_list: []\ngeneral_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n"
    state = observed(config=config)
    state.objects[(S, "litellm-secrets")] = None
    assert plan_errors(state, api_keys={"LITELLM_MASTER_KEY": "sk-" + "1" * 40}) == [
        "Secret ml/litellm-secrets does not exist; create it (the Deployment already loads it) and run again"
    ]


@pytest.mark.parametrize(
    "state, fragment",
    [
        (observed(config=None), "ConfigMap ml/litellm-config not found"),
        (
            pl.Observed(deployment=litellm_deployment(), configmap=configmap_object(STORY_CONFIG, key="other.yaml")),
            "ConfigMap ml/litellm-config has no key 'config.yaml' (keys: other.yaml)",
        ),
        (
            observed(config="model_list: [}"),
            "The live config (ConfigMap ml/litellm-config key config.yaml) cannot be used",
        ),
        (observed(config=STORY_CONFIG + "router_settings: {}\n"), "has the key 'router_settings' twice"),
        (
            observed(config=ALIAS_BOMB),
            "The live config (ConfigMap ml/litellm-config key config.yaml) cannot be used: config.yaml expands to "
            "more than 1000000 nodes through YAML aliases (an alias bomb?): refused before it is read",
        ),
        (
            observed(config=STORY_CONFIG + "#" * (1024 * 1024)),
            "The live config (ConfigMap ml/litellm-config key config.yaml) cannot be used: config.yaml is 1049583 "
            "bytes (1025.0 KiB), more than Kubernetes lets a ConfigMap hold (1048576 bytes, 1 MiB): refused before "
            "it is read",
        ),
    ],
)
def test_a_live_config_that_cannot_be_used_is_refused(state, fragment):
    errors = plan_errors(state)
    assert len(errors) == 1 and fragment in errors[0]


def test_request_errors_are_all_named_and_values_never():
    placeholder = "changeme-" + "z" * 10
    errors = plan_errors(smoke_scope="some", api_keys={"GROQ_API_KEY": placeholder, "bad-name": GROQ_KEY})
    assert errors[0] == "smoke_scope must be one of changed, all, rotated, not 'some'"
    assert len(errors) == 3
    assert placeholder not in " ".join(errors) and GROQ_KEY not in " ".join(errors)


def test_a_refused_model_request_is_a_plan_error():
    errors = plan_errors(models=[dict(GPT_OSS, litellm_params=dict(GPT_OSS["litellm_params"], rpm_limit=3))])
    assert errors == [
        "model 'groq/openai/gpt-oss-120b': litellm_params.rpm_limit is not a LiteLLM parameter; did you "
        "mean 'rpm'? LiteLLM would forward it to the provider and not apply it"
    ]
    assert not isinstance(pl.PlanError(errors), ConfigError)


def test_a_wiring_error_refuses_the_run_before_any_write():
    deployment = litellm_deployment()
    deployment["spec"]["template"]["spec"]["containers"][0]["args"] = ["--port", "4000"]
    with pytest.raises(pl.PlanError, match="Nothing was written. container litellm .* is not started with --config"):
        plan(observed(deployment=deployment))


def test_explicit_names_stand_in_for_a_config_that_is_not_mounted():
    deployment = litellm_deployment()
    deployment["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = []
    state = observed(deployment=deployment)
    result = plan(state, configmap="litellm-config", config_key="config.yaml")
    assert result.target["configmap"] == "litellm-config"
    assert any(
        "nothing is mounted at /app/config.yaml" in warning
        and "using litellm_configmap litellm-config key config.yaml as given" in warning
        for warning in result.warnings
    )


def test_explicit_names_that_disagree_with_the_mount_are_warned():
    container, configmap, key, _path, warnings = pl.resolve_target(
        litellm_deployment(), pl.Request(configmap="other-config", config_key="proxy.yaml")
    )
    assert (container["name"], configmap, key) == ("litellm", "other-config", "proxy.yaml")
    assert warnings == [
        "Deployment litellm mounts ConfigMap litellm-config as LiteLLM's config, but litellm_configmap is "
        "other-config: using other-config as given, which LiteLLM may not read",
        "LiteLLM reads key config.yaml of ConfigMap other-config, but litellm_config_key is proxy.yaml: using "
        "proxy.yaml as given",
    ]


# -- target, smoke, digest, diffs ------------------------------------------------------------------


def test_the_target_is_read_from_the_deployment():
    result = plan(models=[GPT_OSS], api_keys={"GROQ_API_KEY": GROQ_KEY})
    assert result.target == {
        "namespace": "ml",
        "deployment": "litellm",
        "container": "litellm",
        "configmap": "litellm-config",
        "config_key": "config.yaml",
        "config_path": "/app/config.yaml",
        "master_key": {"secret": "litellm-secrets", "key": "LITELLM_MASTER_KEY"},
        "master_key_var": "LITELLM_MASTER_KEY",
        "key_targets": {"GROQ_API_KEY": {"secret": "litellm-secrets", "key": "GROQ_API_KEY"}},
        "secrets": ["litellm-secrets"],
        "secrets_read": ["litellm-secrets"],
    }
    assert result.resource_versions == {"configmaps": {"litellm-config": "11"}, "secrets": {"litellm-secrets": "12"}}


def test_a_literal_master_key_is_warned():
    config = STORY_CONFIG.replace("master_key: os.environ/LITELLM_MASTER_KEY", "master_key: sk-literal-1234567890")
    result = plan(settled(config=config))
    assert result.target["master_key"] is None and result.target["master_key_var"] is None
    assert any("written literally in config.yaml" in warning for warning in result.warnings)


@pytest.mark.parametrize(
    "request_fields, smoke",
    [
        ({}, ["groq/openai/gpt-oss-120b", "openai-gpt4o"]),
        ({"smoke_scope": "rotated"}, ["openai-gpt4o"]),
        ({"smoke_scope": "all"}, ["groq/openai/gpt-oss-120b"]),
        ({"smoke_models": ["vllm-qwen"]}, ["vllm-qwen"]),
    ],
)
def test_smoke_selection_by_scope(request_fields, smoke):
    """A new model with a key already there, and a rotated key of an operator's model."""
    state = settled(secrets=dict(STORY_SECRETS, GROQ_API_KEY=GROQ_KEY))
    result = plan(
        state, models=[GPT_OSS], api_keys={"GROQ_API_KEY": GROQ_KEY, "OPENAI_API_KEY": NEW_OPENAI_KEY}, **request_fields
    )
    assert result.smoke_models == smoke


@pytest.mark.parametrize(
    "scope, explicit, smoke",
    [
        ("changed", [], ["a", "r", "u"]),
        ("rotated", [], ["r", "u"]),
        ("all", [], ["p1", "p2", "u"]),
        ("all", ["x", "u"], ["x", "u"]),
    ],
)
def test_smoke_selection_always_adds_the_unverified_models(scope, explicit, smoke):
    assert pl.smoke_selection(scope, explicit, ["a"], ["r"], ["u"], ["p1", "p2"]) == smoke


def test_digest_after_is_what_the_rollout_computes_once_everything_is_written():
    result = plan(models=[GPT_OSS], api_keys={"GROQ_API_KEY": GROQ_KEY, "OPENAI_API_KEY": NEW_OPENAI_KEY})
    written = secret_object(dict(STORY_SECRETS, GROQ_API_KEY=GROQ_KEY, OPENAI_API_KEY=NEW_OPENAI_KEY))["data"]
    names = rt.config_env_vars(result.config_text)
    assert result.rollout["digest_vars"] == names
    assert result.rollout["digest_after"] == rt.rollout_digest(result.config_text, written, names)
    assert result.config["digest"] != result.rollout["digest_after"]


def test_digest_live_of_an_unchanged_config_is_what_the_rollout_computes_for_it():
    result = plan(api_keys={"OPENAI_API_KEY": NEW_OPENAI_KEY})
    assert result.rollout["digest_live"] == rt.rollout_digest(
        STORY_CONFIG, secret_object(STORY_SECRETS)["data"], rt.config_env_vars(STORY_CONFIG)
    )


def test_digest_live_is_the_digest_of_the_live_state():
    result = plan(models=[GPT_OSS], api_keys={"GROQ_API_KEY": GROQ_KEY})
    assert result.rollout["digest_live"] == rt.rollout_digest(
        STORY_CONFIG, secret_object(STORY_SECRETS)["data"], rt.config_env_vars(STORY_CONFIG)
    )


def test_diffs_name_keys_never_values():
    result = plan(models=[GPT_OSS], api_keys={"GROQ_API_KEY": GROQ_KEY, "OPENAI_API_KEY": NEW_OPENAI_KEY}, force=True)
    text = json.dumps(result.diffs)
    for value in SECRET_VALUES:
        assert value not in text and b64(value) not in text
    config_diff, secret_diff, digest_diff = result.diffs
    assert config_diff["before"] == STORY_CONFIG and "groq/openai/gpt-oss-120b" in config_diff["after"]
    assert secret_diff == {
        "before": "DATABASE_URL: <unchanged>\nLITELLM_MASTER_KEY: <unchanged>\nOPENAI_API_KEY: <previous value>\n",
        "after": "DATABASE_URL: <unchanged>\nGROQ_API_KEY: <added>\nLITELLM_MASTER_KEY: <unchanged>\n"
        "OPENAI_API_KEY: <new value>\n",
        "before_header": "Secret ml/litellm-secrets (key names only)",
        "after_header": "Secret ml/litellm-secrets (key names only)",
    }
    assert digest_diff["after"] == "%s: %s\n" % (rt.DIGEST_ANNOTATION, result.rollout["digest_after"])
    assert GROQ_KEY not in repr(result)


# -- helpers ---------------------------------------------------------------------------------------


def test_objects_to_read():
    container = {
        "envFrom": [{"secretRef": {"name": "a"}}, {"configMapRef": {"name": "settings"}}],
        "env": [
            {"name": "X", "valueFrom": {"secretKeyRef": {"name": "b", "key": "k"}}},
            {"name": "Y", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "k"}}},
            {"name": "Z", "valueFrom": {"secretKeyRef": {"name": "a", "key": "k"}}},
            {"name": "W", "value": "literal"},
        ],
    }
    assert pl.objects_to_read(container) == [(S, "a"), (CM, "settings"), (S, "b")]
    assert pl.objects_to_read(container, "extra") == [(S, "a"), (CM, "settings"), (S, "b"), (S, "extra")]
    assert pl.objects_to_read(container, "b") == [(S, "a"), (CM, "settings"), (S, "b")]


def test_pod_env_values_of_every_kind_of_source():
    container = {
        "envFrom": [{"secretRef": {"name": "keys"}}, {"configMapRef": {"name": "settings"}}],
        "env": [
            {"name": "LITERAL", "value": "text"},
            {"name": "EMPTY"},
            {"name": "FIELD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        ],
    }
    objects = {(S, "keys"): {"data": {"A": b64("a-value")}}, (CM, "settings"): {"data": {"B": "b-value"}}}
    values, env = pl.pod_env(container, objects, ["A", "B", "LITERAL", "EMPTY", "FIELD", "ABSENT"])
    assert values == {"A": b64("a-value"), "B": b64("b-value"), "LITERAL": b64("text"), "EMPTY": b64("")}
    assert set(env) == {"A", "B", "LITERAL", "EMPTY", "FIELD"}


def test_rollout_state():
    assert pl.rollout_state(litellm_deployment(), None, None) == (True, None)
    paused = litellm_deployment()
    paused["spec"]["paused"] = True
    paused["status"] = rollout_status(1, 1, updated=0)
    complete, failure = pl.rollout_state(paused, None, None)
    assert complete is False and "is paused" in failure
