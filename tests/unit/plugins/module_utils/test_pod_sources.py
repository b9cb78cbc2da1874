# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/_pod_sources.py: what the pod template loads, by name only."""

from __future__ import annotations

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _known_good as kg
from ansible_collections.homelab.litellm.plugins.module_utils import _pod_sources as pods
from ansible_collections.homelab.litellm.tests.unit.fake_kube import litellm_deployment

STORY_SOURCES = [
    "envFrom secretRef litellm-secrets (container litellm)",
    "volume config configMap litellm-config",
]


def with_spec(change):
    deployment = litellm_deployment()
    change(deployment["spec"]["template"]["spec"])
    return deployment


def test_the_story_deployment_loads_its_secret_and_its_config():
    assert pods.pod_template_sources(litellm_deployment()) == STORY_SOURCES


@pytest.mark.parametrize(
    "change, source",
    [
        (
            lambda spec: spec["containers"][0]["envFrom"].append({"secretRef": {"name": "other-app-secret"}}),
            "envFrom secretRef other-app-secret (container litellm)",
        ),
        (
            lambda spec: spec["containers"][0]["envFrom"].append({"configMapRef": {"name": "flags"}}),
            "envFrom configMapRef flags (container litellm)",
        ),
        (
            lambda spec: (
                spec["containers"][0]
                .setdefault("env", [])
                .append({"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}})
            ),
            "env PASSWORD from secretKeyRef db key password (container litellm)",
        ),
        (
            lambda spec: (
                spec["containers"][0]
                .setdefault("env", [])
                .append({"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "flags", "key": "mode"}}})
            ),
            "env MODE from configMapKeyRef flags key mode (container litellm)",
        ),
        (
            lambda spec: spec["volumes"].append({"name": "tls", "secret": {"secretName": "ingress-tls"}}),
            "volume tls secret ingress-tls",
        ),
        (
            lambda spec: spec["volumes"].append(
                {"name": "all", "projected": {"sources": [{"secret": {"name": "s"}}, {"serviceAccountToken": {}}]}}
            ),
            "volume all projected secret s",
        ),
        (
            lambda spec: spec.setdefault("initContainers", []).append(
                {"name": "init", "envFrom": [{"secretRef": {"name": "other-app-secret"}}]}
            ),
            "envFrom secretRef other-app-secret (init container init)",
        ),
    ],
)
def test_each_kind_of_source_is_named(change, source):
    assert pods.pod_template_sources(with_spec(change)) == sorted(STORY_SOURCES + [source])


def test_literal_env_values_are_not_listed():
    secret_looking = "sk-" + "f00d" * 10
    deployment = with_spec(lambda spec: spec["containers"][0].setdefault("env", []).append(
        {"name": "TOKEN", "value": secret_looking}
    ))  # fmt: skip
    assert pods.pod_template_sources(deployment) == STORY_SOURCES
    assert secret_looking not in repr(pods.record_drift(None, deployment))


@pytest.mark.parametrize(
    "recorded, live, drift",
    [
        (None, ["a"], ([], [])),
        (["a"], ["a"], ([], [])),
        (["a"], ["a", "b"], (["b"], [])),
        (["a", "b"], ["b"], ([], ["a"])),
        ([], ["c", "a"], (["a", "c"], [])),
    ],
)
def test_template_drift(recorded, live, drift):
    assert pods.template_drift(recorded, live) == drift


def test_the_message_names_each_change_and_the_time_of_the_verified_run():
    message = pods.drift_message(
        "ml", "litellm", ["envFrom secretRef other-app-secret (container litellm)"], ["volume x secret y"], "T0"
    )
    assert (
        "envFrom secretRef other-app-secret (container litellm) was added since the last verified run on T0" in message
    )
    assert "volume x secret y was removed since the last verified run on T0" in message
    assert "Deployment ml/litellm" in message and "litellm_pod_template_drift: fail" in message


def test_the_record_keeps_the_sources_and_an_older_record_has_none():
    record = kg.KnownGood("a: 1\n", "cm", "config.yaml", {}, [], "true", "T0", "r0", pod_template=STORY_SOURCES)
    assert kg.read_record(kg.record_body("ml", "litellm", record)).pod_template == STORY_SOURCES
    older = record._replace(pod_template=None)
    body = kg.record_body("ml", "litellm", older)
    assert kg.read_record(body).pod_template is None
    drift = pods.record_drift(kg.read_record(body), litellm_deployment())
    assert (drift["added"], drift["removed"], drift["loads"]) == ([], [], STORY_SOURCES)


def test_a_record_whose_sources_are_not_names_is_refused():
    record = kg.KnownGood("a: 1\n", "cm", "config.yaml", {}, [], "true", "T0", "r0", pod_template=STORY_SOURCES)
    body = kg.record_body("ml", "litellm", record)
    state = kg.json.loads(kg.decoded(body["data"][kg.DATA_KEY]))
    state["pod_template"] = {"not": "a list"}
    body["data"][kg.DATA_KEY] = kg._encode(kg.json.dumps(state))
    with pytest.raises(kg.RecordError):
        kg.read_record(body)
