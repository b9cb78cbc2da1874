# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/_lock.py: one run at a time per LiteLLM, with a Lease.

``RunLock`` runs against the in-memory API server (real resourceVersion conflicts) with a clock and a
sleep of its own, so waiting and expiry take no real time.
"""

from __future__ import annotations

import threading
import time
import types

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _lock
from ansible_collections.homelab.litellm.plugins.module_utils._k8s import KubeError

T0 = 1796000000.0  # 2026-11-29T...Z
LEASE = "homelab-litellm-litellm"
ME, OTHER = "alice@laptop pid=41 run=r1", "bob@desk pid=77 run=r2"


class Clock:
    """A clock that only moves when slept on."""

    def __init__(self, now=T0):
        self.now = now
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def lease(holder, renewed=T0, acquired=T0 - 30, duration=60, transitions=2):
    spec = {"holderIdentity": holder, "leaseDurationSeconds": duration, "leaseTransitions": transitions}
    if renewed is not None:
        spec["renewTime"] = _lock.micro_time(renewed)
    if acquired is not None:
        spec["acquireTime"] = _lock.micro_time(acquired)
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": LEASE, "namespace": "ml"},
        "spec": spec,
    }


# -- pure parts ------------------------------------------------------------------------------------


@pytest.mark.parametrize("deployment, name", [("litellm", LEASE), ("x" * 300, ("homelab-litellm-" + "x" * 300)[:253])])
def test_lease_name(deployment, name):
    assert _lock.lease_name(deployment) == name
    assert len(_lock.lease_name(deployment)) <= 253


def test_micro_time_round_trips():
    assert _lock.micro_time(0) == "1970-01-01T00:00:00.000000Z"
    assert _lock.parse_time(_lock.micro_time(T0 + 0.25)) == T0 + 0.25
    assert _lock.parse_time("2026-12-01T10:00:00Z") == 1796119200.0


@pytest.mark.parametrize("text", [None, "", "yesterday", "2026-12-01 10:00:00", 17])
def test_parse_time_of_missing_or_malformed(text):
    assert _lock.parse_time(text) is None


def test_lease_holder():
    assert _lock.lease_holder(lease(OTHER)) == (OTHER, T0 - 30, T0, 60)
    assert _lock.lease_holder(None) == ("", None, None, 0)
    assert _lock.lease_holder({"spec": {"holderIdentity": None}}) == ("", None, None, 0)


@pytest.mark.parametrize(
    "obj, now, gone",
    [
        (lease(OTHER), T0, False),
        (lease(OTHER), T0 + 60, False),  # exactly at the end of its duration: still held
        (lease(OTHER), T0 + 60.001, True),
        (lease(OTHER, duration=10), T0 + 11, True),
        (lease(None), T0, True),  # released
        (lease(""), T0, True),
        (lease(OTHER, renewed=None), T0, True),  # never renewed
        ({"spec": {"holderIdentity": OTHER, "renewTime": "garbage", "leaseDurationSeconds": 60}}, T0, True),
        (lease(OTHER, renewed=T0 + 5), T0, False),  # the holder's clock a little ahead of ours
    ],
)
def test_expired(obj, now, gone):
    assert _lock.expired(obj, now) is gone


def test_acquire_step_creates_a_missing_lease():
    action, spec = _lock.acquire_step(None, ME, T0, 60)
    stamp = _lock.micro_time(T0)
    assert action == _lock.CREATE
    assert spec == {
        "holderIdentity": ME,
        "leaseDurationSeconds": 60,
        "acquireTime": stamp,
        "renewTime": stamp,
        "leaseTransitions": 0,
    }


def test_acquire_step_renews_its_own_lease():
    action, spec = _lock.acquire_step(lease(ME, renewed=T0 - 10), ME, T0, 90)
    assert action == _lock.RENEW
    assert spec["renewTime"] == _lock.micro_time(T0) and spec["leaseDurationSeconds"] == 90
    assert spec["acquireTime"] == _lock.micro_time(T0 - 30) and spec["leaseTransitions"] == 2


@pytest.mark.parametrize(
    "obj, now, gone",
    [
        (lease(OTHER, renewed=T0 - 61), T0, False),
        (lease(None), T0, False),
        (lease(OTHER), T0, True),
    ],
)
def test_acquire_step_takes_a_free_expired_or_abandoned_lease(obj, now, gone):
    action, spec = _lock.acquire_step(obj, ME, now, 60, holder_gone=gone)
    assert action == _lock.TAKE
    assert spec["holderIdentity"] == ME and spec["leaseTransitions"] == 3
    assert spec["acquireTime"] == spec["renewTime"] == _lock.micro_time(now)


def test_acquire_step_waits_for_a_live_holder():
    assert _lock.acquire_step(lease(OTHER, renewed=T0 - 59), ME, T0, 60) == (_lock.WAIT, None)


def test_lease_body_of_a_new_and_of_a_read_lease():
    new = _lock.lease_body("ml", LEASE, {"holderIdentity": ME}, run="r1")
    assert new["metadata"] == {
        "name": LEASE,
        "namespace": "ml",
        "labels": {"app.kubernetes.io/managed-by": "homelab.litellm"},
        "annotations": {"homelab.litellm/run": "r1"},
    }
    read = dict(lease(OTHER), metadata={"name": LEASE, "resourceVersion": "17", "annotations": {"x": "y"}})
    body = _lock.lease_body("ml", LEASE, {"holderIdentity": ME}, read, run="r1")
    assert body["metadata"]["resourceVersion"] == "17"
    assert body["metadata"]["annotations"] == {"x": "y", "homelab.litellm/run": "r1"}
    assert read["metadata"]["annotations"] == {"x": "y"}, "the lease as read is not changed"


def test_busy_message_says_who_since_when_and_what_to_do():
    message = _lock.busy_message("ml/litellm", dict(lease(OTHER, renewed=T0 - 12), metadata={"name": LEASE}), T0, 300)
    assert message == (
        "Another run is changing LiteLLM ml/litellm: %s holds its lock (Lease %s) since %s, last renewed 12 s ago. "
        "Waited 300 s (litellm_lock_timeout); nothing was changed. Run again when it has finished; if that run was "
        "killed, its lock expires 60 s after its last renewal." % (OTHER, LEASE, _lock.micro_time(T0 - 30)[:19] + "Z")
    )


def test_busy_message_of_a_lease_without_times():
    message = _lock.busy_message("ml/litellm", {"metadata": {"name": LEASE}, "spec": {"holderIdentity": OTHER}}, T0, 0)
    assert "since an unknown time, last renewed never" in message


# -- RunLock against the API server ----------------------------------------------------------------


@pytest.fixture(name="clock")
def fixture_clock():
    return Clock()


def run_lock(cluster, clock, holder=ME, gone=None, duration=60):
    return _lock.RunLock(
        cluster.kube(),
        "ml",
        LEASE,
        holder,
        duration=duration,
        run=holder[-2:],
        clock=clock,
        sleep=clock.sleep,
        holder_gone=gone,
    )


def stored(cluster):
    return cluster.get("leases", LEASE)


def test_acquire_creates_the_lease(cluster, clock):
    run_lock(cluster, clock).acquire(timeout=5)
    held = stored(cluster)
    assert held["spec"]["holderIdentity"] == ME and held["spec"]["leaseTransitions"] == 0
    assert held["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "homelab.litellm"}
    assert held["metadata"]["annotations"] == {"homelab.litellm/run": "r1"}
    assert [r.method for r in cluster.writes("leases")] == ["POST"]
    assert clock.slept == []


def test_acquire_by_the_holder_renews(cluster, clock):
    cluster.add("leases", lease(ME, renewed=T0 - 20))
    run_lock(cluster, clock).acquire(timeout=5)
    held = stored(cluster)
    assert held["spec"]["renewTime"] == _lock.micro_time(T0) and held["spec"]["leaseTransitions"] == 2
    assert [r.method for r in cluster.writes("leases")] == ["PUT"]


def test_waiting_then_timeout_names_the_holder_and_changes_nothing(cluster, clock):
    cluster.add("leases", lease(OTHER, renewed=T0))
    before = stored(cluster)
    with pytest.raises(_lock.LockError) as caught:
        run_lock(cluster, clock).acquire(timeout=5, poll=2)
    message = str(caught.value)
    assert OTHER in message and "Lease %s" % LEASE in message and "Waited 5 s" in message
    assert "ml/litellm" in message and "nothing was changed" in message
    assert clock.slept == [2, 2, 1]
    assert stored(cluster) == before and cluster.writes() == []


def test_a_zero_timeout_does_not_wait(cluster, clock):
    cluster.add("leases", lease(OTHER, renewed=T0))
    with pytest.raises(_lock.LockError):
        run_lock(cluster, clock).acquire(timeout=0)
    assert clock.slept == []


def test_the_last_wait_is_cut_to_the_timeout(cluster, clock):
    cluster.add("leases", lease(OTHER, renewed=T0 + 100))
    with pytest.raises(_lock.LockError):
        run_lock(cluster, clock).acquire(timeout=2.5, poll=1)
    assert clock.slept == [1, 1, 0.5]


def test_takeover_after_expiry(cluster, clock):
    cluster.add("leases", lease(OTHER, renewed=T0 - 20))
    run_lock(cluster, clock).acquire(timeout=300, poll=10)
    assert clock.slept == [10] * 5, "renewed at T0 - 20 for 60 s: free after T0 + 40"
    held = stored(cluster)["spec"]
    assert held["holderIdentity"] == ME and held["leaseTransitions"] == 3
    assert held["acquireTime"] == _lock.micro_time(T0 + 50)


def test_takeover_when_the_holders_run_is_gone(cluster, clock):
    cluster.add("leases", lease(OTHER, renewed=T0))
    asked = []
    run_lock(cluster, clock, gone=lambda holder: asked.append(holder) or True).acquire(timeout=0)
    assert asked == [OTHER]
    assert stored(cluster)["spec"]["holderIdentity"] == ME


def test_a_lease_released_while_waiting_is_taken(cluster, clock):
    cluster.add("leases", lease(OTHER, renewed=T0))
    sleep = clock.sleep

    def other_finishes(seconds):
        sleep(seconds)
        cluster.edit("leases", LEASE, lambda obj: obj["spec"].update(holderIdentity=None))

    lock = run_lock(cluster, clock)
    lock.sleep = other_finishes
    lock.acquire(timeout=60)
    assert stored(cluster)["spec"]["holderIdentity"] == ME and len(clock.slept) == 1


def test_a_conflict_while_taking_over_reads_the_lease_again(cluster, clock):
    """Two runs see the expired Lease at once; the other one writes first: this one waits for it."""
    cluster.add("leases", lease("carol@host pid=1 run=r0", renewed=T0 - 100))
    cluster.interfere(
        "leases", LEASE, lambda obj: obj["spec"].update(holderIdentity=OTHER, renewTime=_lock.micro_time(T0))
    )
    with pytest.raises(_lock.LockError) as caught:
        run_lock(cluster, clock).acquire(timeout=1)
    assert OTHER in str(caught.value)
    assert stored(cluster)["spec"]["holderIdentity"] == OTHER


def test_a_conflict_while_creating_reads_the_lease_again(cluster, clock):
    def other_creates_first(cluster_, request):
        cluster_.add("leases", lease(OTHER, renewed=T0))
        return True

    cluster.on_write(other_creates_first)
    with pytest.raises(_lock.LockError):
        run_lock(cluster, clock).acquire(timeout=0)
    assert stored(cluster)["spec"]["holderIdentity"] == OTHER


def test_other_api_errors_are_raised(cluster, clock):
    cluster.fail("POST", "leases", 403, "leases.coordination.k8s.io is forbidden")
    with pytest.raises(KubeError) as caught:
        run_lock(cluster, clock).acquire(timeout=5)
    assert caught.value.status == 403


def test_renew_moves_the_renew_time(cluster, clock):
    lock = run_lock(cluster, clock)
    lock.acquire(timeout=0)
    clock.now += 25
    lock.renew()
    assert stored(cluster)["spec"]["renewTime"] == _lock.micro_time(T0 + 25)


@pytest.mark.parametrize(
    "change, fragment",
    [
        (lambda obj: obj["spec"].update(holderIdentity=OTHER), "%s holds it now" % OTHER),
        (lambda obj: obj["spec"].update(holderIdentity=None), "the Lease was released or deleted"),
    ],
)
def test_renew_when_lost_raises_and_writes_nothing(cluster, clock, change, fragment):
    lock = run_lock(cluster, clock)
    lock.acquire(timeout=0)
    cluster.edit("leases", LEASE, change)
    writes = len(cluster.writes())
    with pytest.raises(_lock.LockError) as caught:
        lock.renew()
    assert fragment in str(caught.value) and ME in str(caught.value)
    assert "Nothing more was written by it" in str(caught.value) and "60 s" in str(caught.value)
    assert len(cluster.writes()) == writes
    requests = len(cluster.requests)
    with pytest.raises(_lock.LockError):
        lock.renew()
    assert len(cluster.requests) == requests, "once lost, the fence refuses without asking again"


def test_renew_when_the_lease_was_deleted(cluster, clock):
    lock = run_lock(cluster, clock)
    lock.acquire(timeout=0)
    cluster.delete("leases", LEASE)
    with pytest.raises(_lock.LockError, match="released or deleted"):
        lock.renew()


def test_renew_after_a_conflict_with_its_own_keeper(cluster, clock):
    lock = run_lock(cluster, clock)
    lock.acquire(timeout=0)
    cluster.interfere("leases", LEASE, lambda obj: obj["spec"].update(renewTime=_lock.micro_time(T0 + 1)))
    renewed = lock.renew()
    assert renewed["spec"]["holderIdentity"] == ME
    assert stored(cluster)["spec"]["renewTime"] == _lock.micro_time(T0 + 1)


def test_renew_after_a_conflict_with_a_takeover_raises(cluster, clock):
    lock = run_lock(cluster, clock)
    lock.acquire(timeout=0)
    cluster.interfere("leases", LEASE, lambda obj: obj["spec"].update(holderIdentity=OTHER))
    with pytest.raises(_lock.LockError, match="holds it now"):
        lock.renew()


def test_release_by_the_holder_keeps_the_history(cluster, clock):
    cluster.add("leases", lease(ME))
    assert run_lock(cluster, clock).release() is True
    spec = stored(cluster)["spec"]
    assert spec["holderIdentity"] is None and spec["leaseDurationSeconds"] == 1
    assert spec["leaseTransitions"] == 2 and spec["acquireTime"] == _lock.micro_time(T0 - 30)
    assert _lock.expired(stored(cluster), T0)


@pytest.mark.parametrize("existing", [lease(OTHER), lease(None), None])
def test_release_only_by_the_holder(cluster, clock, existing):
    if existing:
        cluster.add("leases", existing)
    assert run_lock(cluster, clock).release() is False
    assert cluster.writes() == []


def test_release_after_a_conflict_with_its_keeper(cluster, clock):
    cluster.add("leases", lease(ME))
    cluster.interfere("leases", LEASE, lambda obj: obj["spec"].update(renewTime=_lock.micro_time(T0 + 1)))
    assert run_lock(cluster, clock).release() is True
    assert stored(cluster)["spec"]["holderIdentity"] is None


class QuickEvent(threading.Event):
    """Waits a hundredth of a second where the keeper would wait a third of the lease's duration."""

    def wait(self, timeout=None):
        return super().wait(0.01 if timeout else timeout)


@pytest.fixture(name="quick_keeper")
def fixture_quick_keeper(monkeypatch):
    monkeypatch.setattr(_lock, "threading", types.SimpleNamespace(Event=QuickEvent, Thread=threading.Thread))


def wait_until(condition, seconds=2.0):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)
    return condition()


def test_keep_renews_in_the_background_until_stopped(cluster, clock, quick_keeper):
    lock = run_lock(cluster, clock)
    lock.acquire(timeout=0)
    clock.now += 5
    lock.keep()
    assert wait_until(lambda: stored(cluster)["spec"]["renewTime"] == _lock.micro_time(T0 + 5))
    lock.stop_keeping()
    time.sleep(0.03)
    writes = len(cluster.writes())
    time.sleep(0.05)
    assert len(cluster.writes()) == writes


def test_keep_stops_when_the_lock_is_lost(cluster, clock, quick_keeper):
    lock = run_lock(cluster, clock)
    lock.acquire(timeout=0)
    cluster.edit("leases", LEASE, lambda obj: obj["spec"].update(holderIdentity=OTHER))
    lock.keep()
    assert wait_until(lambda: lock._lost is not None)
    requests = len(cluster.requests)
    time.sleep(0.05)
    assert len(cluster.requests) == requests
    assert stored(cluster)["spec"]["holderIdentity"] == OTHER
    lock.stop_keeping()
