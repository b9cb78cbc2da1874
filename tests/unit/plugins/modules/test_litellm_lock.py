# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""litellm_lock through main(): take and release the run lock of a LiteLLM."""

from __future__ import annotations

from ansible_collections.homelab.litellm.plugins.module_utils import _lock
from ansible_collections.homelab.litellm.plugins.modules import litellm_lock
from ansible_collections.homelab.litellm.tests.unit.fake_kube import OTHER_HOLDER
from ansible_collections.homelab.litellm.tests.unit.fake_kube import holder_of as holder

LEASE = "homelab-litellm-litellm"
ARGS = {"namespace": "ml", "run_id": "r1"}


def lease(spec_holder, renewed):
    return {
        "metadata": {"name": LEASE},
        "spec": {
            "holderIdentity": spec_holder,
            "leaseDurationSeconds": 60,
            "acquireTime": _lock.micro_time(renewed),
            "renewTime": _lock.micro_time(renewed),
            "leaseTransitions": 4,
        },
    }


def test_acquire_creates_the_lease_and_a_second_acquire_changes_nothing(cluster, run_module):
    result = run_module(litellm_lock, ARGS)
    assert (result.rc, result["changed"], result["lease"], result["holder"]) == (0, True, LEASE, holder("r1"))
    stored = cluster.get("leases", LEASE)
    assert stored["spec"]["holderIdentity"] == holder("r1") and stored["spec"]["leaseDurationSeconds"] == 60
    assert stored["metadata"]["annotations"]["homelab.litellm/run"] == "r1"
    again = run_module(litellm_lock, dict(ARGS, lock_duration=90))
    assert (again["changed"], again["holder"]) == (False, holder("r1"))
    assert cluster.get("leases", LEASE)["spec"]["leaseDurationSeconds"] == 90


def test_check_mode_predicts_and_writes_nothing(cluster, run_module):
    assert run_module(litellm_lock, ARGS, check_mode=True)["changed"] is True
    assert run_module(litellm_lock, dict(ARGS, state="released"), check_mode=True)["changed"] is False
    assert cluster.writes() == []
    run_module(litellm_lock, ARGS)
    assert run_module(litellm_lock, dict(ARGS, state="released"), check_mode=True)["changed"] is True
    assert run_module(litellm_lock, ARGS, check_mode=True)["changed"] is False
    assert [r.method for r in cluster.writes()] == ["POST"]


def test_release(cluster, run_module):
    run_module(litellm_lock, ARGS)
    result = run_module(litellm_lock, dict(ARGS, state="released"))
    assert (result["changed"], result["holder"]) == (True, "")
    assert cluster.get("leases", LEASE)["spec"]["holderIdentity"] is None
    assert run_module(litellm_lock, dict(ARGS, state="released"))["changed"] is False


def test_release_of_another_runs_lock_changes_nothing(cluster, run_module):
    cluster.add("leases", lease(OTHER_HOLDER, 9999999999))
    result = run_module(litellm_lock, dict(ARGS, state="released"))
    assert (result.rc, result["changed"], result["holder"]) == (0, False, OTHER_HOLDER)
    assert cluster.writes() == []


def test_acquire_while_another_run_holds_it_fails_naming_it(cluster, run_module):
    cluster.add("leases", lease(OTHER_HOLDER, 9999999999))
    result = run_module(litellm_lock, dict(ARGS, lock_timeout=0))
    assert result.rc == 1 and result.failed
    assert result["msg"].startswith("Another run is changing LiteLLM ml/litellm: %s holds its lock" % OTHER_HOLDER)
    assert cluster.writes() == []


def test_an_expired_lock_is_taken_over(cluster, run_module):
    cluster.add("leases", lease(OTHER_HOLDER, 1000000000))
    result = run_module(litellm_lock, dict(ARGS, lock_timeout=0))
    assert (result["changed"], result["holder"]) == (True, holder("r1"))
    assert cluster.get("leases", LEASE)["spec"]["leaseTransitions"] == 5


def test_run_id_is_required(run_module):
    result = run_module(litellm_lock, {"namespace": "ml"})
    assert result.failed and "run_id" in result["msg"]


def test_an_api_error_is_reported(cluster, run_module):
    cluster.fail("POST", "leases", 403, 'leases.coordination.k8s.io is forbidden: User "alice" cannot create')
    result = run_module(litellm_lock, ARGS)
    assert result.failed and result["msg"] == (
        'Kubernetes API error 403 Error: leases.coordination.k8s.io is forbidden: User "alice" cannot create'
    )
