# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the pod-template part of a run (run/transaction.py with _pod_sources): a Secret added to
LiteLLM's pod template since the last verified run is named, or refused with nothing written."""

from __future__ import annotations

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _known_good as kg
from ansible_collections.homelab.litellm.plugins.module_utils import _plan as pl
from ansible_collections.homelab.litellm.tests.unit.fake_kube import (
    NAMESPACE,
    STORY_CONFIG,
    secret_object,
    settled_story,
)
from ansible_collections.homelab.litellm.tests.unit.plugins.module_utils.run.test_transaction import (
    FakeLiteLLM,
    add_groq,
    own_writes,
    transaction,
)

STORY_SOURCES = [
    "envFrom secretRef litellm-secrets (container litellm)",
    "volume config configMap litellm-config",
]
ADDED = "envFrom secretRef other-app-secret (container litellm) was added since the last verified run on T0"
OTHER_PASSWORD = "other-app-password-" + "7a" * 8


@pytest.fixture(name="recorded")
def fixture_recorded(cluster, quick_rollouts):
    """The settled story, its record listing what the pod template loads (``pod_template`` of the record)."""
    cluster.proxy = FakeLiteLLM()
    settled_story(cluster, record=False)
    record = kg.KnownGood(STORY_CONFIG, "litellm-config", "config.yaml", {}, ["vllm-qwen"], "true", "T0", "r0")
    cluster.add("secrets", kg.record_body(NAMESPACE, "litellm", record._replace(pod_template=STORY_SOURCES)))
    cluster.add("secrets", secret_object({"PASSWORD": OTHER_PASSWORD}, name="other-app-secret"))
    return cluster


def rolled_out(cluster, change):
    """``change`` the Deployment's pod template, and the controller rolls it out (its status follows)."""
    cluster.edit("deployments", "litellm", change)
    cluster.edit(
        "deployments",
        "litellm",
        lambda d: d["status"].update(observedGeneration=d["metadata"]["generation"]),
    )


def inject(cluster):
    """What a holder of ``patch`` on the Deployment does: load another app's Secret into LiteLLM."""
    rolled_out(
        cluster,
        lambda d: d["spec"]["template"]["spec"]["containers"][0]["envFrom"].append(
            {"secretRef": {"name": "other-app-secret"}}
        ),
    )


def test_an_unchanged_template_says_nothing(recorded):
    result = transaction(recorded, pl.Request()).run()
    assert not [w for w in result["warnings_list"] if "pod template" in w]
    assert result["pod_template"] == {"loads": STORY_SOURCES, "added": [], "removed": [], "recorded_at": "T0"}


@pytest.mark.parametrize("check_mode", [False, True])
def test_an_added_secret_is_named_by_the_next_run(recorded, check_mode):
    inject(recorded)
    result = transaction(recorded, pl.Request(), check_mode=check_mode).run()
    warnings = [w for w in result["warnings_list"] if "pod template" in w]
    assert len(warnings) == 1 and ADDED in warnings[0], result["warnings_list"]
    assert OTHER_PASSWORD not in repr(result)
    assert result["pod_template"]["added"] == ["envFrom secretRef other-app-secret (container litellm)"]
    assert recorded.writes() == []


def test_a_removed_volume_is_named(recorded):
    rolled_out(
        recorded,
        lambda d: d["spec"]["template"]["spec"]["volumes"].append({"name": "tls", "secret": {"secretName": "t"}}),
    )
    record = kg.read_record(recorded.get("secrets", "litellm-known-good"))
    recorded.add(
        "secrets",
        kg.record_body(NAMESPACE, "litellm", record._replace(pod_template=STORY_SOURCES + ["volume old secret gone"])),
    )
    result = transaction(recorded, pl.Request()).run()
    (warning,) = [w for w in result["warnings_list"] if "pod template" in w]
    assert "volume old secret gone was removed since the last verified run on T0" in warning
    assert "volume tls secret t was added" in warning


def test_fail_refuses_before_anything_is_written(recorded):
    inject(recorded)
    with pytest.raises(pl.PlanError) as caught:
        transaction(recorded, add_groq(), pod_template_drift="fail").run()
    assert str(caught.value).startswith("Nothing was written.")
    assert ADDED in str(caught.value) and "litellm_pod_template_drift is fail" in str(caught.value)
    assert recorded.writes() == []


def test_fail_refuses_a_change_made_while_the_run_waited_for_the_lock(recorded):
    observed = []

    def inject_at_the_lock(cluster, request):
        if request.resource == "leases" and not observed:
            observed.append(request)
            inject(cluster)
        return bool(observed)

    recorded.on_write(inject_at_the_lock)
    with pytest.raises(pl.PlanError):
        transaction(recorded, add_groq(), pod_template_drift="fail").run()
    assert own_writes(recorded) == []


def test_a_run_that_writes_records_the_template_so_the_next_one_is_quiet(recorded):
    inject(recorded)
    result = transaction(recorded, add_groq()).run()
    assert result["recorded"] and [w for w in result["warnings_list"] if "pod template" in w]
    record = kg.read_record(recorded.get("secrets", "litellm-known-good"))
    assert "envFrom secretRef other-app-secret (container litellm)" in record.pod_template
    again = transaction(recorded, add_groq()).run()
    assert not [w for w in again["warnings_list"] if "pod template" in w]


def test_an_older_record_without_the_field_warns_nothing_and_gets_it_on_the_next_record(recorded):
    record = kg.read_record(recorded.get("secrets", "litellm-known-good"))
    recorded.add("secrets", kg.record_body(NAMESPACE, "litellm", record._replace(pod_template=None)))
    inject(recorded)
    result = transaction(recorded, add_groq()).run()
    assert not [w for w in result["warnings_list"] if "pod template" in w]
    assert kg.read_record(recorded.get("secrets", "litellm-known-good")).pod_template == sorted(
        STORY_SOURCES + ["envFrom secretRef other-app-secret (container litellm)"]
    )


def test_the_first_run_records_the_template_in_its_baseline(cluster, quick_rollouts):
    cluster.proxy = FakeLiteLLM()
    settled_story(cluster, record=False)
    transaction(cluster, add_groq()).run()
    assert kg.read_record(cluster.get("secrets", "litellm-known-good")).pod_template == STORY_SOURCES
