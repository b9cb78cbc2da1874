"""litellm_config's run(): optimistic concurrency, backup, check mode, masking.

The Kubernetes side is a small in-memory fake with real resourceVersion
semantics (a stale write gets 409), so the retry path is exercised for real.
"""

from __future__ import annotations

import copy

import pytest

from ansible_collections.homelab.litellm.plugins.module_utils import _k8s
from ansible_collections.homelab.litellm.plugins.modules import litellm_config

STORY = """\
model_list:
  # Tier 1: GPU (3s timeout)
  - model_name: vllm-qwen
    litellm_params:
      model: hosted_vllm/Qwen/Qwen2.5-7B-Instruct
router_settings:
  fallbacks: [{"vllm-qwen": ["openai-gpt4o"]}]
"""
GROQ = {"model_name": "groq/llama-3.3-70b-versatile",
        "litellm_params": {"model": "groq/llama-3.3-70b-versatile", "api_key": "os.environ/GROQ_API_KEY"}}


class Failed(Exception):
    """fail_json was called."""


class FakeModule:
    def __init__(self, check_mode=False, diff=False, **params):
        self.params = dict(namespace="ml", name="litellm-config", key="config.yaml", models=[], state="present",
                           purge=False, router_settings=None, backup=True)
        self.params.update(params)
        self.check_mode = check_mode
        self._diff = diff
        self.no_log_values = set()

    def fail_json(self, **kwargs):
        raise Failed(kwargs)


class FakeKube:
    """ConfigMaps with resourceVersions; ``interfere`` edits the object right before our writes."""

    def __init__(self, text, interfere=0):
        self.objects = {"litellm-config": {"metadata": {"name": "litellm-config", "resourceVersion": "1"},
                                           "data": {"config.yaml": text}}}
        self.interfere = interfere
        self.writes = 0

    def get(self, kind, namespace, name):
        return copy.deepcopy(self.objects.get(name))

    def _bump(self, obj):
        obj["metadata"]["resourceVersion"] = str(int(obj["metadata"]["resourceVersion"]) + 1)

    def replace(self, kind, namespace, body):
        stored = self.objects[body["metadata"]["name"]]
        if self.interfere:
            self.interfere -= 1
            # Another tool writes first: the operator adds a comment of their own.
            stored["data"]["config.yaml"] = "# edited by the operator\n" + stored["data"]["config.yaml"]
            self._bump(stored)
        if body["metadata"]["resourceVersion"] != stored["metadata"]["resourceVersion"]:
            raise _k8s.KubeError(409, "Conflict", "the object has been modified")
        self.writes += 1
        self.objects[body["metadata"]["name"]] = copy.deepcopy(body)
        self._bump(self.objects[body["metadata"]["name"]])
        return copy.deepcopy(self.objects[body["metadata"]["name"]])

    def upsert(self, kind, namespace, body):
        body = copy.deepcopy(body)
        body["metadata"]["resourceVersion"] = "1"
        self.objects[body["metadata"]["name"]] = body
        return body


def test_a_conflict_is_replanned_on_the_fresh_object():
    kube = FakeKube(STORY, interfere=1)
    result, _warnings = litellm_config.run(FakeModule(models=[GROQ]), kube)
    text = kube.objects["litellm-config"]["data"]["config.yaml"]
    assert result["changed"] is True
    assert text.startswith("# edited by the operator\n"), "the other writer's change survives"
    assert "groq/llama-3.3-70b-versatile" in text
    assert kube.writes == 1
    assert result["resource_version"] == kube.objects["litellm-config"]["metadata"]["resourceVersion"]


def test_endless_conflicts_fail_without_writing():
    kube = FakeKube(STORY, interfere=litellm_config.MAX_CONFLICT_RETRIES)
    with pytest.raises(Failed) as failed:
        litellm_config.run(FakeModule(models=[GROQ]), kube)
    assert "kept changing under us" in failed.value.args[0]["msg"]
    assert kube.writes == 0


def test_backup_keeps_the_content_before_the_change():
    kube = FakeKube(STORY)
    result, _warnings = litellm_config.run(FakeModule(models=[GROQ]), kube)
    assert result["previous"] == "litellm-config-previous"
    assert kube.objects["litellm-config-previous"]["data"]["config.yaml"] == STORY
    annotations = kube.objects["litellm-config-previous"]["metadata"]["annotations"]
    assert annotations["homelab.litellm/source-resource-version"] == "1"


def test_check_mode_writes_nothing_and_diffs_the_text():
    kube = FakeKube(STORY)
    result, _warnings = litellm_config.run(FakeModule(check_mode=True, diff=True, models=[GROQ]), kube)
    assert result["changed"] is True
    assert kube.writes == 0 and "litellm-config-previous" not in kube.objects
    assert result["diff"]["before"] == STORY
    assert "groq/llama-3.3-70b-versatile" in result["diff"]["after"]


def test_unchanged_config_is_not_written():
    kube = FakeKube(STORY)
    litellm_config.run(FakeModule(models=[GROQ]), kube)
    writes = kube.writes
    result, _warnings = litellm_config.run(FakeModule(models=[GROQ]), kube)
    assert result["changed"] is False
    assert kube.writes == writes


def test_a_literal_key_in_models_is_masked_before_the_refusal():
    module = FakeModule(models=[{"model_name": "groq/x",
                                 "litellm_params": {"model": "groq/x", "api_key": "gsk_pasted_by_mistake"}}])
    with pytest.raises(Failed) as failed:
        litellm_config.run(module, FakeKube(STORY))
    assert "gsk_pasted_by_mistake" in module.no_log_values
    assert "gsk_pasted_by_mistake" not in failed.value.args[0]["msg"]
