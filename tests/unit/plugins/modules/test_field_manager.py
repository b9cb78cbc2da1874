# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every object the collection writes is written under its own field manager, ``homelab.litellm``.

The API server records the fields of a write in ``metadata.managedFields`` under the ``fieldManager``
query parameter, else under the client's User-Agent up to its first '/' (``OpenAPI-Generator`` for the
kubernetes Python client): a GitOps controller's server-side apply over a field the collection wrote
then answers 409 naming that manager. These tests look at every write request of a whole run, of a run
that rolls back, and of each per-step module that writes.
"""

from __future__ import annotations

import json

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _k8s
from ansible_collections.homelab.litellm.plugins.module_utils.run import apply as run_apply
from ansible_collections.homelab.litellm.plugins.modules import (
    litellm_apply,
    litellm_config,
    litellm_known_good,
    litellm_rollout,
    litellm_secret,
)
from ansible_collections.homelab.litellm.tests.unit.fake_kube import STORY_CONFIG, STORY_SECRETS, settled_story

GROQ_KEY = "gsk_" + "F1ld" * 12
GROQ = {
    "model_name": "groq/openai/gpt-oss-120b",
    "litellm_params": {"model": "groq/openai/gpt-oss-120b", "api_key": "os.environ/GROQ_API_KEY"},
}
ADD_GROQ = {"namespace": "ml", "models": [GROQ], "api_keys": {"GROQ_API_KEY": GROQ_KEY}, "provider_check": "off"}
SERVED = ("vllm-qwen", "ollama-qwen", "openai-gpt4o", GROQ["model_name"])


class LiteLLM:
    """LiteLLM behind the Service: it serves the models, and answers 401 for a model in ``rejected``."""

    def __init__(self):
        self.rejected = set()

    def __call__(self, method, path, headers, body, port):
        if path == "/v1/models":
            return 200, json.dumps({"data": [{"id": name} for name in SERVED]}).encode()
        if path == "/v1/chat/completions":
            if body["model"] in self.rejected:
                return 401, b'{"error": {"message": "Invalid API Key", "code": "401"}}'
            return 200, json.dumps({"model": body["model"], "choices": [{"message": {"content": "Hi"}}]}).encode()
        return 200, b'{"status": "healthy"}'


@pytest.fixture(autouse=True)
def no_controller(monkeypatch):
    monkeypatch.setattr(run_apply, "find_controller", lambda: None)


def managers(cluster):
    """(method, resource, name, fieldManager) of every write request that does not name homelab.litellm."""
    return [
        (r.method, r.resource, r.name, r.query.get("fieldManager"))
        for r in cluster.writes()
        if r.query.get("fieldManager") != _k8s.FIELD_MANAGER
    ]


def written(cluster):
    return {(r.method, r.resource) for r in cluster.writes()}


def test_the_field_manager_is_the_collections_name():
    assert _k8s.FIELD_MANAGER == "homelab.litellm"


def test_every_write_of_a_whole_run_names_the_field_manager(story, run_module, quick_rollouts):
    story.proxy = LiteLLM()
    result = run_module(litellm_apply, ADD_GROQ)
    assert result.rc == 0 and result["changed"] is True, result.get("msg")
    assert written(story) >= {
        ("PUT", "configmaps"),  # the config
        ("PUT", "secrets"),  # the keys
        ("POST", "secrets"),  # the record, created by the first verified run
        ("PATCH", "deployments"),  # the restart
        ("POST", "leases"),  # the lock, taken
        ("PUT", "leases"),  # and released
    }, written(story)
    assert managers(story) == []


def test_every_write_of_a_run_that_rolls_back_names_the_field_manager(cluster, run_module, quick_rollouts):
    settled_story(cluster, managed=["OPENAI_API_KEY"])
    cluster.proxy = LiteLLM()
    cluster.proxy.rejected.add(GROQ["model_name"])
    result = run_module(litellm_apply, ADD_GROQ)
    assert result.failed and result["rollback"]["restored"] == [
        "ConfigMap ml/litellm-config",
        "Secret ml/litellm-secrets",
    ]
    assert cluster.get("configmaps", "litellm-config")["data"]["config.yaml"] == STORY_CONFIG
    assert [r.method for r in cluster.writes("configmaps")] == ["PUT", "PUT"], "written, then put back"
    assert managers(cluster) == []


SECRETS = dict(STORY_SECRETS, GROQ_API_KEY=GROQ_KEY)
CALLS = {
    "config": (litellm_config, {"models": [GROQ]}, {("PUT", "configmaps"), ("PUT", "secrets")}),
    "secret": (litellm_secret, {"data": {"GROQ_API_KEY": GROQ_KEY + "x"}}, {("PUT", "secrets")}),
    "rollout": (litellm_rollout, {"wait": False, "force": True}, {("PATCH", "deployments")}),
    "restored": (litellm_known_good, {"state": "restored"}, {("PUT", "configmaps")}),
}


def expected_versions(cluster, name):
    """For the restore: a config this run wrote (by its version), which it may put back."""
    if name != "restored":
        return {}
    edited = STORY_CONFIG.replace("timeout: 120", "timeout: 60")
    cluster.edit("configmaps", "litellm-config", lambda obj: obj["data"].update({"config.yaml": edited}))
    version = cluster.get("configmaps", "litellm-config")["metadata"]["resourceVersion"]
    return {"expected": {"configmaps": {"litellm-config": version}}}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_every_write_of_a_per_step_module_names_the_field_manager(cluster, run_module, name):
    settled_story(cluster, secret_values=SECRETS, managed=["GROQ_API_KEY"])
    module, args, expected = CALLS[name]
    result = run_module(module, dict(args, namespace="ml", **expected_versions(cluster, name)))
    assert result.rc == 0, result.output
    assert written(cluster) >= expected, written(cluster)
    assert managers(cluster) == []
