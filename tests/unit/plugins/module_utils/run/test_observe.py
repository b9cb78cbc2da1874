# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/run/observe.py: one read of everything a run decides from."""

from __future__ import annotations

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _known_good as kg
from ansible_collections.homelab.litellm.plugins.module_utils import _plan as pl
from ansible_collections.homelab.litellm.plugins.module_utils import _wiring as wiring
from ansible_collections.homelab.litellm.plugins.module_utils.run import observe as obs
from ansible_collections.homelab.litellm.tests.unit.fake_kube import (
    NAMESPACE,
    STORY_CONFIG,
    litellm_deployment,
    service_object,
    settled_story,
)


def test_find_service(story):
    deployment = story.get("deployments", "litellm")
    container = wiring.litellm_container(deployment)
    kube = story.kube()
    assert obs.find_service(kube, "ml", deployment, container, None, None) == ("litellm", 4000)
    assert obs.find_service(kube, "ml", deployment, container, "given", 8080) == ("given", 8080)
    assert obs.find_service(kube, "ml", deployment, container, "litellm", None) == ("litellm", 4000)
    assert obs.find_service(kube, "ml", deployment, container, None, 9999) == ("litellm", 9999)


def test_find_service_picks_the_port_that_reaches_the_container(cluster):
    other = service_object("other")
    other["spec"]["selector"] = {"app": "something-else"}
    multi = service_object("litellm-multi")
    multi["spec"]["ports"] = [
        {"name": "metrics", "port": 9090, "targetPort": 9090},
        {"name": "api", "port": 80, "targetPort": "http"},
    ]
    for service in (other, multi):
        cluster.add("services", service)
    deployment = litellm_deployment()
    container = wiring.litellm_container(deployment)
    assert obs.find_service(cluster.kube(), "ml", deployment, container, None, None) == ("litellm-multi", 80)


def test_find_service_falls_back_to_the_deployment_name(cluster):
    deployment = litellm_deployment()
    container = wiring.litellm_container(deployment)
    assert obs.find_service(cluster.kube(), "ml", deployment, container, None, None) == ("litellm", 4000)


def test_observe_reads_everything_once(cluster):
    settled_story(cluster, managed=["OPENAI_API_KEY"])
    observed, lease, record_secret = obs.observe(cluster.kube(), "ml", "litellm", pl.Request())
    assert observed.configmap["data"]["config.yaml"] == STORY_CONFIG
    assert sorted(observed.objects) == [(wiring.SECRET, "litellm-secrets")]
    assert observed.record.keys["OPENAI_API_KEY"][:2] == ("litellm-secrets", "OPENAI_API_KEY")
    assert record_secret["metadata"]["name"] == "litellm-known-good" and lease is None
    assert observed.pods is None, "a complete rollout needs no look at its pods"
    assert cluster.writes() == []


def test_observe_of_a_missing_deployment_is_a_plan_error(cluster):
    with pytest.raises(pl.PlanError, match="Deployment ml/litellm not found"):
        obs.observe(cluster.kube(), "ml", "litellm", pl.Request())


def test_secrets_loaded_from_env_envfrom_and_volumes():
    deployment = litellm_deployment()
    spec = deployment["spec"]["template"]["spec"]
    spec["containers"][0]["env"] = [
        {"name": "GROQ_API_KEY", "valueFrom": {"secretKeyRef": {"name": "provider-keys", "key": "groq"}}},
        {"name": "PLAIN", "value": "x"},
    ]
    spec["initContainers"] = [{"name": "init", "envFrom": [{"secretRef": {"name": "init-secret"}}]}]
    spec["volumes"].append({"name": "tls", "secret": {"secretName": "litellm-tls"}})
    spec["volumes"].append({"name": "all", "projected": {"sources": [{"secret": {"name": "projected-one"}}]}})
    assert obs.secrets_loaded(deployment) == {
        "litellm-secrets",
        "provider-keys",
        "init-secret",
        "litellm-tls",
        "projected-one",
    }


def test_other_readers_with_their_own_records(story):
    story.add("deployments", litellm_deployment("litellm-canary"))
    loner = litellm_deployment("litellm-loner")
    loner["spec"]["template"]["spec"]["containers"][0]["envFrom"] = [{"secretRef": {"name": "loner-secrets"}}]
    story.add("deployments", loner)
    story.add("deployments", litellm_deployment("litellm-batch"))
    record = kg.KnownGood("", "c", "k", {"K": ("litellm-secrets", "K", "v")}, [], "true", "2026-12-01T10:00:00Z", "r0")
    story.add("secrets", kg.record_body(NAMESPACE, "litellm-canary", record))
    readers = obs.other_readers(story.kube(), "ml", "litellm", {"litellm-secrets"})
    assert readers == {
        "litellm-canary": obs.Reader(["litellm-secrets"], record),
        "litellm-batch": obs.Reader(["litellm-secrets"], None),
    }
    assert obs.other_readers(story.kube(), "ml", "litellm", set()) == {}
