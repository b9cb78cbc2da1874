# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/run/status.py: the status of one LiteLLM, from a run in check mode
against the in-memory API server (the settled story; its record holds OPENAI_API_KEY)."""

from __future__ import annotations

from ansible_collections.homelab.litellm.plugins.module_utils import _known_good as kg
from ansible_collections.homelab.litellm.plugins.module_utils import _lock
from ansible_collections.homelab.litellm.plugins.module_utils import _plan as pl
from ansible_collections.homelab.litellm.plugins.module_utils.run import status as st
from ansible_collections.homelab.litellm.tests.unit.fake_kube import (
    NAMESPACE,
    OTHER_HOLDER,
    STORY_SECRETS,
    b64,
    settled_story,
)
from ansible_collections.homelab.litellm.tests.unit.plugins.module_utils.run.test_transaction import (  # noqa: F401  # pylint: disable=unused-import
    GROQ_KEY,
    GROQ_MODEL,
    LEASE,
    STORY_MODELS,
    add_groq,
    fixture_litellm,
    fixture_settled,
    transaction,
)


def status_in_check_mode(cluster, request=None, now=None):
    before = len(cluster.writes())
    result = transaction(cluster, request or pl.Request(), check_mode=True).run()
    assert len(cluster.writes()) == before, "a status writes nothing"
    return st.status_of(result, now=now), result


def no_value_in(text):
    values = [GROQ_KEY] + [value for value in STORY_SECRETS.values() if len(value) >= 8]
    return [value for value in values if value in text or b64(value) in text]


def test_a_settled_litellm_has_nothing_pending(settled):
    status, _result = status_in_check_mode(settled)
    assert status["target"] == {
        "namespace": "ml",
        "deployment": "litellm",
        "configmap": "litellm-config",
        "config_key": "config.yaml",
    }
    assert status["models"] == {"managed": [], "in_config": sorted(STORY_MODELS)}
    assert status["keys"] == {"OPENAI_API_KEY": {"secret": "litellm-secrets", "key": "OPENAI_API_KEY"}}
    assert status["record"] == {
        "name": "litellm-known-good",
        "exists": True,
        "verified": "true",
        "recorded_at": "2026-12-01T10:00:00Z",
    }
    assert status["lock"] == {
        "name": LEASE,
        "holder": None,
        "renewed": None,
        "duration": None,
        "expired": None,
        "renewed_ago": None,
    }
    assert status["pending"] == []
    lines = st.status_lines(status)
    assert "Keys (names only): OPENAI_API_KEY in Secret litellm-secrets key OPENAI_API_KEY" in lines
    assert "Last verified state: Secret litellm-known-good, recorded 2026-12-01T10:00:00Z, verified by a run" in lines
    assert "Lock: Lease %s free" % LEASE in lines and lines[-1] == "A run would change nothing"
    assert no_value_in(repr(status) + "\n".join(lines)) == []


def test_after_a_run_the_managed_models_and_keys_are_listed(settled):
    transaction(settled, add_groq()).run()
    status, _result = status_in_check_mode(settled, add_groq())
    assert status["models"]["managed"] == [GROQ_MODEL]
    assert GROQ_MODEL in status["models"]["in_config"]
    assert status["keys"]["GROQ_API_KEY"] == {"secret": "litellm-secrets", "key": "GROQ_API_KEY"}
    assert status["pending"] == [] and status["record"]["verified"] == "true"
    assert no_value_in(repr(status) + "\n".join(st.status_lines(status))) == []


def test_what_a_run_would_change_is_pending_and_not_yet_managed(settled):
    status, _result = status_in_check_mode(settled, add_groq())
    assert status["models"]["managed"] == [] and GROQ_MODEL not in status["models"]["in_config"]
    assert status["pending"] == ["add %s, write GROQ_API_KEY, restart LiteLLM" % GROQ_MODEL]
    assert "A run would: add %s, write GROQ_API_KEY, restart LiteLLM" % GROQ_MODEL in st.status_lines(status)
    assert no_value_in(repr(status) + "\n".join(st.status_lines(status))) == []


def test_a_model_a_run_would_remove_is_still_listed_as_managed(settled):
    transaction(settled, add_groq()).run()
    # Its key stays in the Secret (no model reads it after the removal, so it is not given again).
    status, _result = status_in_check_mode(settled, pl.Request(remove=[GROQ_MODEL]))
    assert status["models"]["managed"] == [GROQ_MODEL] and GROQ_MODEL in status["models"]["in_config"]
    assert status["pending"][0].startswith("remove %s" % GROQ_MODEL)


def test_a_key_changed_by_hand_is_pending_verification(settled):
    settled.edit("secrets", "litellm-secrets", lambda s: s["data"].update(OPENAI_API_KEY=b64("sk-by-hand-" + "0" * 20)))
    status, _result = status_in_check_mode(settled)
    assert any(item.startswith("verify keys OPENAI_API_KEY") for item in status["pending"]), status["pending"]


def lease_renewed_at(cluster, renewed, holder=OTHER_HOLDER, duration=15):
    cluster.add(
        "leases",
        {
            "metadata": {"name": LEASE},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": duration, "renewTime": renewed},
        },
    )


def test_the_lock_holder_is_shown_with_its_last_renewal(settled):
    renewed = _lock.micro_time(1_800_000_000)
    lease_renewed_at(settled, renewed)
    status, _result = status_in_check_mode(settled, now=1_800_000_004.5)
    assert status["lock"] == {
        "name": LEASE,
        "holder": OTHER_HOLDER,
        "renewed": renewed,
        "duration": 15,
        "expired": False,
        "renewed_ago": 4,
    }
    assert "Lock: Lease %s held by %s, renewed 4 s ago (last renewed %s; lease 15 s)" % (
        LEASE,
        OTHER_HOLDER,
        renewed,
    ) in st.status_lines(status)


def test_a_lock_its_holder_stopped_renewing_is_said_to_be_expired(settled):
    # A killed run: its Lease still names it, but it has not renewed for longer than the lease.
    renewed = _lock.micro_time(1_800_000_000)
    lease_renewed_at(settled, renewed)
    status, _result = status_in_check_mode(settled, now=1_800_000_100)
    assert status["lock"]["expired"] is True and status["lock"]["renewed_ago"] == 100
    assert (
        "Lock: Lease %s expired 85 s ago (the next run takes it over): %s stopped renewing it 100 s ago, "
        "lease 15 s (a run that was killed or cut off)" % (LEASE, OTHER_HOLDER)
    ) in st.status_lines(status)
    assert not any("held by" in line for line in st.status_lines(status))


def test_the_lock_is_judged_expired_as_a_run_judges_it(settled):
    # The boundary is _lock.expired's: still held at renewal + duration, free just after it.
    renewed = _lock.micro_time(1_800_000_000)
    lease_renewed_at(settled, renewed, duration=60)
    lease = settled.get("leases", LEASE)
    for now in (1_800_000_060, 1_800_000_060.5):
        status, _result = status_in_check_mode(settled, now=now)
        assert status["lock"]["expired"] is _lock.expired(lease, now)
    assert st.status_of(_result, now=1_800_000_060)["lock"]["expired"] is False
    assert st.status_of(_result, now=1_800_000_061)["lock"]["expired"] is True
    assert "expired 1 s ago" in st.lock_line(st.status_of(_result, now=1_800_000_061)["lock"])


def test_a_lock_never_renewed_is_expired(settled):
    lease_renewed_at(settled, None)
    status, _result = status_in_check_mode(settled, now=1_800_000_000)
    assert status["lock"]["expired"] is True
    assert "Lock: Lease %s held by %s but never renewed: expired (the next run takes it over)" % (
        LEASE,
        OTHER_HOLDER,
    ) in st.status_lines(status)


def test_a_baseline_record_is_said_to_be_unverified(settled):
    record = kg.read_record(settled.get("secrets", "litellm-known-good"))
    settled.add("secrets", kg.record_body(NAMESPACE, "litellm", record._replace(verified="baseline")))
    status, _result = status_in_check_mode(settled)
    assert status["record"]["verified"] == "baseline"
    assert (
        "Last verified state: Secret litellm-known-good, recorded 2026-12-01T10:00:00Z, a baseline (baseline), "
        "not verified" in st.status_lines(status)
    )


def test_no_record_is_said_and_pending(cluster, quick_rollouts):
    settled_story(cluster, record=False)
    cluster.proxy = None
    status, _result = status_in_check_mode(cluster)
    assert status["record"]["exists"] is False
    assert status["pending"] == ["record the state LiteLLM runs now (there is no record yet)"]
    assert "Last verified state: none yet (Secret litellm-known-good does not exist)" in st.status_lines(status)


def test_pod_template_drift_is_pending(settled):
    record = kg.read_record(settled.get("secrets", "litellm-known-good"))
    settled.add(
        "secrets", kg.record_body(NAMESPACE, "litellm", record._replace(pod_template=["volume old secret gone"]))
    )
    status, _result = status_in_check_mode(settled)
    assert "pod template: volume old secret gone was removed since the last verified run" in status["pending"]
    assert (
        "pod template: envFrom secretRef litellm-secrets (container litellm) was added since the last verified run"
        in (status["pending"])
    )
