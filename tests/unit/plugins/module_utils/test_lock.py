# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/_lock.py: one run at a time per LiteLLM, with a Lease.

``RunLock`` runs against the in-memory API server (real resourceVersion conflicts) with a clock and a
sleep of its own, so waiting and expiry take no real time; the keeper's waits are recorded and cut to a
millisecond.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _lock
from ansible_collections.homelab.litellm.plugins.module_utils._k8s import KubeError

T0 = 1796000000.0  # 2026-11-29T...Z
LEASE = "homelab-litellm-litellm"
ME, OTHER = "alice@laptop run=5f0c2a9e1b7d4c38", "bob@desk run=0d1e2f3a4b5c6d7e"


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


@pytest.mark.parametrize("obj", [lease(OTHER, renewed=T0 - 61), lease(None)])
def test_acquire_step_takes_a_free_or_expired_lease(obj):
    action, spec = _lock.acquire_step(obj, ME, T0, 60)
    assert action == _lock.TAKE
    assert spec["holderIdentity"] == ME and spec["leaseTransitions"] == 3
    assert spec["acquireTime"] == spec["renewTime"] == _lock.micro_time(T0)


def test_acquire_step_waits_for_a_live_holder():
    assert _lock.acquire_step(lease(OTHER, renewed=T0 - 59), ME, T0, 60) == (_lock.WAIT, None)


def test_acquire_step_never_judges_a_holder_by_anything_but_its_renewals():
    """A holder on this very host with a pid that no longer runs is still waited for while it renews."""
    assert _lock.acquire_step(lease("alice@laptop pid=999999 run=x", renewed=T0), ME, T0, 60) == (_lock.WAIT, None)


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
        "killed, its lock is free 60 s after its last renewal." % (OTHER, LEASE, _lock.micro_time(T0 - 30)[:19] + "Z")
    )


def test_takeover_message_names_the_silent_holder():
    assert _lock.takeover_message(lease(OTHER, renewed=T0 - 70), T0) == (
        "Took over the run lock from %s, which had not renewed it for 70 s (lease 60 s): that run was killed "
        "or cut off. This run checks what it left behind against the last verified state." % OTHER
    )
    assert "had not renewed it for ever" in _lock.takeover_message(lease(OTHER, renewed=None), T0)
    assert _lock.takeover_message(lease(None), T0) is None, "a released lock is taken over from nobody"


def test_busy_message_of_a_lease_without_times():
    message = _lock.busy_message("ml/litellm", {"metadata": {"name": LEASE}, "spec": {"holderIdentity": OTHER}}, T0, 0)
    assert "since an unknown time, last renewed never" in message


# -- RunLock against the API server ----------------------------------------------------------------


@pytest.fixture(name="clock")
def fixture_clock():
    return Clock()


def run_lock(cluster, clock, holder=ME, duration=60):
    return _lock.RunLock(
        cluster.kube(), "ml", LEASE, holder, duration=duration, run=holder[-2:], clock=clock, sleep=clock.sleep
    )


def stored(cluster):
    return cluster.get("leases", LEASE)


def test_acquire_creates_the_lease(cluster, clock):
    lock = run_lock(cluster, clock)
    lock.acquire(timeout=5)
    assert lock.held is True and lock.took_over is None
    held = stored(cluster)
    assert held["spec"]["holderIdentity"] == ME and held["spec"]["leaseTransitions"] == 0
    assert held["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "homelab.litellm"}
    assert held["metadata"]["annotations"] == {"homelab.litellm/run": "38"}
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
    lock = run_lock(cluster, clock)
    lock.acquire(timeout=300, poll=10)
    assert clock.slept == [10] * 5, "renewed at T0 - 20 for 60 s: free after T0 + 40"
    held = stored(cluster)["spec"]
    assert held["holderIdentity"] == ME and held["leaseTransitions"] == 3
    assert held["acquireTime"] == _lock.micro_time(T0 + 50)
    assert lock.took_over.startswith("Took over the run lock from %s, which had not renewed it for 70 s" % OTHER)


def test_acquire_waits_as_long_as_the_holder_renews(cluster, clock):
    """Its lease is 15 s, the wait 60 s: a holder that keeps renewing is never taken over."""
    cluster.add("leases", lease(OTHER, renewed=T0, duration=15))

    def other_renews(seconds):
        clock.sleep(seconds)
        cluster.edit("leases", LEASE, lambda obj: obj["spec"].update(renewTime=_lock.micro_time(clock.now)))

    lock = run_lock(cluster, clock, duration=15)
    lock.sleep = other_renews
    with pytest.raises(_lock.LockError, match="Waited 60 s"):
        lock.acquire(timeout=60, poll=5)
    assert clock.now == T0 + 60 and stored(cluster)["spec"]["holderIdentity"] == OTHER
    assert cluster.writes() == [] and lock.held is False and lock.took_over is None


def test_abort_during_the_wait_gives_up_and_never_writes_the_lease(cluster, clock):
    cluster.add("leases", lease(OTHER, renewed=T0 - 59))
    lock = run_lock(cluster, clock)

    def stopped_while_waiting(seconds):
        clock.sleep(seconds)  # the lease expires meanwhile: without the abort, the next look would take it
        lock.abort.set()

    lock.sleep = stopped_while_waiting
    with pytest.raises(_lock.Aborted) as caught:
        lock.acquire(timeout=300, poll=10)
    assert isinstance(caught.value, _lock.LockError)
    assert str(caught.value) == (
        "The run was stopped while it waited for the run lock; it never took it and changed nothing."
    )
    assert cluster.writes() == [] and lock.held is False
    assert stored(cluster)["spec"]["holderIdentity"] == OTHER


def test_an_abort_ends_the_default_wait_at_once(cluster):
    """Without an injected sleep the wait is on ``abort``: setting it from another thread (a signal
    handler, the controller watch) ends a 30 s wait at once."""
    cluster.add("leases", lease(OTHER, renewed=time.time(), duration=3600))
    lock = _lock.RunLock(cluster.kube(), "ml", LEASE, ME, duration=60)
    threading.Timer(0.02, lock.abort.set).start()
    started = time.monotonic()
    with pytest.raises(_lock.Aborted):
        lock.acquire(timeout=300, poll=30)
    assert time.monotonic() - started < 2 and cluster.writes() == []


def test_an_abort_before_the_first_look_asks_nothing(cluster, clock):
    lock = run_lock(cluster, clock)
    lock.abort.set()
    with pytest.raises(_lock.Aborted):
        lock.acquire(timeout=5)
    assert cluster.requests == []


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
    assert lock.took_over is None, "a released lock is no takeover"


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
    assert lock.lost == str(caught.value) and lock.held is False
    assert len(cluster.writes()) == writes
    requests = len(cluster.requests)
    with pytest.raises(_lock.LockError):
        lock.renew()
    assert len(cluster.requests) == requests, "once lost, the fence refuses without asking again"


def test_renew_of_a_lease_that_expired_before_it_was_renewed(cluster, clock):
    """Nobody took it yet, but another run could have: a paused run writes nothing more."""
    lock = run_lock(cluster, clock, duration=15)
    lock.acquire(timeout=0)
    clock.now += 16
    with pytest.raises(
        _lock.LockError, match="it expired before it was renewed. Did the run pause for longer than 15 s"
    ):
        lock.renew()
    assert [r.method for r in cluster.writes("leases")] == ["POST"] and lock.lost


def test_lost_is_none_while_held(cluster, clock):
    lock = run_lock(cluster, clock)
    lock.acquire(timeout=0)
    lock.renew()
    assert lock.lost is None and lock.held is True


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
    lock = run_lock(cluster, clock)
    assert lock.release() is True and lock.held is False
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


class KeeperWaits:
    """Stands in for ``threading`` in ``_lock``: every ``Event.wait(t)`` is recorded, moves the test clock by
    ``t`` and returns after a millisecond, so the keeper renews at once in its clock's terms."""

    Thread = threading.Thread
    Lock = threading.Lock

    def __init__(self, clock):
        self.waits = []
        waits = self.waits

        class Event(threading.Event):
            def wait(self, timeout=None):
                if timeout is None:
                    return super().wait()
                waits.append(timeout)
                clock.now += timeout
                return super().wait(0.001)

        self.Event = Event


@pytest.fixture(name="keeper_waits")
def fixture_keeper_waits(monkeypatch, clock):
    waits = KeeperWaits(clock)
    monkeypatch.setattr(_lock, "threading", waits)
    return waits


def wait_until(condition, seconds=2.0):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)
    return condition()


@pytest.mark.parametrize("duration, every", [(15, 5.0), (60, 5.0), (6, 2.0), (1, 0.5)])
def test_keep_renews_every_renew_every_seconds_at_most_a_third_of_the_lease(
    cluster, clock, keeper_waits, duration, every
):
    lock = run_lock(cluster, clock, duration=duration)
    lock.acquire(timeout=0)
    lock.keep()
    try:
        assert wait_until(lambda: len(cluster.writes("leases")) >= 4)
    finally:
        lock.stop_keeping()
    assert _lock.RunLock.RENEW_EVERY == 5.0
    assert set(keeper_waits.waits) == {every}
    renewed = _lock.parse_time(stored(cluster)["spec"]["renewTime"])
    assert renewed > T0 and (renewed - T0) % every == 0, "each renewal is one interval after the last"


def test_keep_renews_in_the_background_until_stopped(cluster, clock, keeper_waits):
    lock = run_lock(cluster, clock)
    lock.acquire(timeout=0)
    lock.keep()
    assert wait_until(lambda: stored(cluster)["spec"]["renewTime"] != _lock.micro_time(T0))
    lock.stop_keeping()
    time.sleep(0.03)
    writes = len(cluster.writes())
    time.sleep(0.05)
    assert len(cluster.writes()) == writes


def test_keep_stops_when_the_lock_is_lost(cluster, clock, keeper_waits):
    lock = run_lock(cluster, clock)
    lock.acquire(timeout=0)
    cluster.edit("leases", LEASE, lambda obj: obj["spec"].update(holderIdentity=OTHER))
    lock.keep()
    assert wait_until(lambda: lock.lost is not None)
    assert "%s holds it now" % OTHER in lock.lost
    requests = len(cluster.requests)
    time.sleep(0.05)
    assert len(cluster.requests) == requests
    assert stored(cluster)["spec"]["holderIdentity"] == OTHER
    lock.stop_keeping()


def test_release_stops_the_keeper_and_empties_the_holder(cluster, clock, keeper_waits):
    lock = run_lock(cluster, clock)
    lock.acquire(timeout=0)
    lock.keep()
    assert lock.release() is True
    time.sleep(0.03)
    writes = len(cluster.writes())
    time.sleep(0.05)
    assert len(cluster.writes()) == writes, "nothing renews a released lock"
    assert stored(cluster)["spec"]["holderIdentity"] is None


# -- the lock of a set of Deployments (one LiteLLM made of several) --------------------------------
BACKEND_LEASE = "homelab-litellm-litellm-backend"


def set_lock(cluster, clock, members=("litellm-backend", "litellm"), holder=ME, duration=60):
    return _lock.SetLock(
        cluster.kube(), "ml", list(members), holder, duration=duration, run=holder[-2:], clock=clock, sleep=clock.sleep
    )


def lease_writes(cluster):
    """(method, Lease name, holder written) of every write of a Lease, in order."""
    found = []
    for request in cluster.writes("leases"):
        body = json.loads(request.body) if isinstance(request.body, (str, bytes)) else request.body
        found.append((request.method, body["metadata"]["name"], body["spec"]["holderIdentity"]))
    return found


def holder_of(cluster, name):
    found = cluster.get("leases", name)
    return found and found["spec"]["holderIdentity"]


def test_set_lease_names_are_sorted_and_a_set_of_one_is_the_named_lease():
    assert _lock.set_lease_names(["litellm-backend", "litellm", "litellm"]) == [LEASE, BACKEND_LEASE]
    assert _lock.set_lease_names(["litellm"]) == [LEASE]


def test_a_set_lock_takes_every_lease_in_sorted_order_and_releases_them_all(cluster, clock):
    lock = set_lock(cluster, clock)
    lock.acquire(timeout=5)
    assert lock.held is True and lock.names == [LEASE, BACKEND_LEASE]
    assert lease_writes(cluster) == [("POST", LEASE, ME), ("POST", BACKEND_LEASE, ME)]
    assert holder_of(cluster, LEASE) == holder_of(cluster, BACKEND_LEASE) == ME
    lock.renew()
    assert lock.release() is True
    assert holder_of(cluster, LEASE) is None and holder_of(cluster, BACKEND_LEASE) is None


def test_a_set_of_one_takes_only_the_named_deployments_lease(cluster, clock):
    lock = set_lock(cluster, clock, members=["litellm"])
    lock.acquire(timeout=5)
    assert lease_writes(cluster) == [("POST", LEASE, ME)]


def test_a_run_naming_the_other_member_waits_for_the_set_then_fails_having_kept_nothing(cluster, clock):
    first = set_lock(cluster, clock, members=["litellm", "litellm-backend"])
    first.acquire(timeout=5)
    second = set_lock(cluster, clock, members=["litellm-backend", "litellm"], holder=OTHER)
    with pytest.raises(_lock.LockError, match="%s holds its lock \\(Lease %s\\)" % (ME, LEASE)):
        second.acquire(timeout=3)
    assert clock.now - T0 >= 3, "it waited for the lock"
    assert holder_of(cluster, LEASE) == holder_of(cluster, BACKEND_LEASE) == ME
    first.release()
    second.acquire(timeout=0)
    assert holder_of(cluster, LEASE) == holder_of(cluster, BACKEND_LEASE) == OTHER


def test_an_older_run_holding_one_members_lease_keeps_the_set_out_and_the_leases_taken_are_freed(cluster, clock):
    # An older collection's run names the backend: it holds that Deployment's Lease only.
    cluster.add("leases", dict(lease(OTHER), metadata={"name": BACKEND_LEASE, "namespace": "ml"}))
    lock = set_lock(cluster, clock)
    with pytest.raises(_lock.LockError, match="%s holds its lock \\(Lease %s\\)" % (OTHER, BACKEND_LEASE)):
        lock.acquire(timeout=2)
    assert holder_of(cluster, LEASE) is None, "the Lease it took first is given back"
    assert lock.held is False


def test_a_member_lease_whose_holder_stopped_renewing_is_taken_over_and_said(cluster, clock):
    cluster.add("leases", dict(lease(OTHER, renewed=T0 - 120), metadata={"name": BACKEND_LEASE, "namespace": "ml"}))
    lock = set_lock(cluster, clock)
    lock.acquire(timeout=0)
    assert lock.took_over.startswith("Took over the run lock from " + OTHER)
    assert holder_of(cluster, BACKEND_LEASE) == ME


def test_an_abort_ends_the_wait_for_any_member(cluster, clock):
    cluster.add("leases", dict(lease(OTHER), metadata={"name": BACKEND_LEASE, "namespace": "ml"}))
    lock = set_lock(cluster, clock)
    clock_sleep = clock.sleep

    def sleep(seconds):
        lock.abort.set()
        clock_sleep(seconds)

    for member in lock.locks:
        member.sleep = sleep
    with pytest.raises(_lock.Aborted):
        lock.acquire(timeout=30)
    assert holder_of(cluster, LEASE) is None and holder_of(cluster, BACKEND_LEASE) == OTHER


def test_losing_one_members_lease_fails_the_fence(cluster, clock):
    lock = set_lock(cluster, clock)
    lock.acquire(timeout=0)
    cluster.edit("leases", BACKEND_LEASE, lambda taken: taken["spec"].update(holderIdentity=OTHER))
    with pytest.raises(_lock.LockError, match="%s holds it now" % OTHER):
        lock.renew()
    assert lock.lost and lock.held is False


def test_cover_takes_a_member_that_joined_by_taking_the_grown_set_again_in_order(cluster, clock):
    lock = set_lock(cluster, clock, members=["litellm-backend"])
    lock.acquire(timeout=0)
    assert lock.cover(["litellm-backend"], timeout=0) is False
    before = len(lease_writes(cluster))
    assert lock.cover(["litellm-backend", "litellm"], timeout=0) is True
    lock.stop_keeping()
    # Let go of the backend's, then take litellm's and the backend's again, in sorted order.
    assert lease_writes(cluster)[before:] == [
        ("PUT", BACKEND_LEASE, None),
        ("POST", LEASE, ME),
        ("PUT", BACKEND_LEASE, ME),
    ]
    assert lock.names == [LEASE, BACKEND_LEASE] and holder_of(cluster, LEASE) == holder_of(cluster, BACKEND_LEASE) == ME
