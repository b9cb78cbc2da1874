# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: one run at a time per LiteLLM, with a Lease.

A run that will write takes a ``coordination.k8s.io/v1`` Lease in LiteLLM's namespace and holds
it until it has verified (or rolled back) what it wrote. The holder is known by renewal only, as
client-go's leader election does it: a random identity per run, a short lease, renewed often by a
keeper thread and before every write (a fence: a run that lost its lock writes nothing more). No
PID or host test ever decides that a holder is gone: a process in another PID namespace, container
or host looks dead from here while it is alive. A runner that dies stops renewing; the Lease is
free ``leaseDurationSeconds`` after its last renewal, and the next run takes it over and says so.
Check mode takes no lock.

``acquire_step`` decides what to do with the Lease as read (pure); ``RunLock`` does it through a
``_k8s.Kube``-like object (``get``/``create``/``replace``), with an injectable clock for tests.
"""

from __future__ import annotations

import datetime
import threading
import time

from ._k8s import KubeError

LEASE_PREFIX = "homelab-litellm-"
LABELS = {"app.kubernetes.io/managed-by": "homelab.litellm"}
RUN_ANNOTATION = "homelab.litellm/run"

CREATE, RENEW, TAKE, WAIT = "create", "renew", "take", "wait"


class LockError(Exception):
    """The run cannot have, or no longer has, the lock; the message says who has it and what to do."""


def lease_name(deployment):
    """The Lease guarding the LiteLLM Deployment ``deployment`` (a DNS subdomain, at most 253 chars)."""
    return (LEASE_PREFIX + deployment)[:253]


def micro_time(epoch):
    """Kubernetes MicroTime (RFC 3339 with microseconds, UTC) of a POSIX time."""
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text):
    """POSIX time of a Kubernetes Time or MicroTime string; None when it is missing or malformed."""
    if not isinstance(text, str) or not text:
        return None
    for layout in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.datetime.strptime(text, layout).replace(tzinfo=datetime.timezone.utc).timestamp()
        except ValueError:
            continue
    return None


def lease_holder(lease):
    """(holder, acquired, renewed, duration) of a Lease as read; holder '' when nobody holds it."""
    spec = (lease or {}).get("spec") or {}
    return (
        spec.get("holderIdentity") or "",
        parse_time(spec.get("acquireTime")),
        parse_time(spec.get("renewTime")),
        spec.get("leaseDurationSeconds") or 0,
    )


def expired(lease, now):
    """Whether nobody holds the Lease any more: no holder, or no renewal within its duration.

    Lease times are the holder's clock; the controller's must agree to within a few seconds
    (the duration is a minute by default, so ordinary NTP drift does not matter).
    """
    holder, _acquired, renewed, duration = lease_holder(lease)
    return not holder or renewed is None or now > renewed + duration


def acquire_step(lease, holder, now, duration):
    """What to do to hold the Lease as ``holder``: ``(action, spec)``.

    ``create`` when there is no Lease, ``renew`` when ``holder`` has it, ``take`` when it is free or
    expired (the transitions count goes up), ``wait`` while somebody else holds it (spec None).
    """
    current_holder = lease_holder(lease)[0] if lease else ""
    stamp = micro_time(now)
    if lease is None:
        return CREATE, {
            "holderIdentity": holder,
            "leaseDurationSeconds": duration,
            "acquireTime": stamp,
            "renewTime": stamp,
            "leaseTransitions": 0,
        }
    spec = dict(lease.get("spec") or {})
    if current_holder == holder:
        spec.update(renewTime=stamp, leaseDurationSeconds=duration)
        return RENEW, spec
    if expired(lease, now):
        spec.update(
            holderIdentity=holder,
            leaseDurationSeconds=duration,
            acquireTime=stamp,
            renewTime=stamp,
            leaseTransitions=(spec.get("leaseTransitions") or 0) + 1,
        )
        return TAKE, spec
    return WAIT, None


def lease_body(namespace, name, spec, lease=None, run=""):
    """The Lease to write: ``lease`` as read (kept resourceVersion) with ``spec``, or a new one."""
    if lease is None:
        metadata = {"name": name, "namespace": namespace, "labels": dict(LABELS)}
    else:
        metadata = dict(lease.get("metadata") or {})
    metadata["annotations"] = dict(metadata.get("annotations") or {}, **{RUN_ANNOTATION: run})
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": metadata, "spec": spec}


def busy_message(target, lease, now, waited):
    """Why the run could not start: who holds the lock, since when, what to do."""
    holder, acquired, renewed, duration = lease_holder(lease)
    since = micro_time(acquired)[:19] + "Z" if acquired else "an unknown time"
    renewed_ago = "%d s ago" % max(now - renewed, 0) if renewed else "never"
    return (
        "Another run is changing LiteLLM %s: %s holds its lock (Lease %s) since %s, last renewed %s. Waited "
        "%d s (litellm_lock_timeout); nothing was changed. Run again when it has finished; if that run was "
        "killed, its lock is free %d s after its last renewal."
        % (target, holder, (lease.get("metadata") or {}).get("name"), since, renewed_ago, waited, duration)
    )


def takeover_message(lease, now):
    """What taking over an expired Lease means, in words (its last holder and how long it was silent)."""
    holder, _acquired, renewed, duration = lease_holder(lease)
    if not holder:
        return None
    silent = "%d s" % max(now - renewed, 0) if renewed else "ever"
    return (
        "Took over the run lock from %s, which had not renewed it for %s (lease %d s): that run was killed "
        "or cut off. This run checks what it left behind against the last verified state." % (holder, silent, duration)
    )


class Aborted(LockError):
    """The wait for the lock was given up (the run is being stopped); the lock was not taken."""


class RunLock:
    """The Lease of one LiteLLM, held by ``holder`` (``user@host run=<random token>``).

    ``abort`` (a ``threading.Event``) ends a wait for the lock at once: a run that is being
    stopped while it waits never takes the lock afterwards. ``took_over`` says, after
    ``acquire``, whose expired lock this run took (None when it was free).
    """

    DEFAULT_DURATION = 15
    RENEW_EVERY = 5.0

    def __init__(
        self, kube, namespace, name, holder, duration=DEFAULT_DURATION, run="", clock=time.time, sleep=None, abort=None
    ):
        self.kube, self.namespace, self.name = kube, namespace, name
        self.holder, self.duration, self.run = holder, duration, run
        self.clock = clock
        self.abort = abort or threading.Event()
        self.sleep = sleep or self.abort.wait
        self.took_over = None
        self.held = False
        self._keeper = None
        self._lost = None
        self._guard = threading.Lock()

    def _write(self, action, spec, lease):
        body = lease_body(self.namespace, self.name, spec, lease, self.run)
        if action == CREATE:
            return self.kube.create("leases", self.namespace, body)
        return self.kube.replace("leases", self.namespace, body)

    def _check_abort(self):
        if self.abort.is_set():
            raise Aborted("The run was stopped while it waited for the run lock; it never took it and changed nothing.")

    def acquire(self, timeout, poll=1.0):
        """Hold the Lease, waiting up to ``timeout`` seconds for another holder; raises LockError."""
        started = self.clock()
        while True:
            self._check_abort()
            lease = self.kube.get("leases", self.namespace, self.name)
            now = self.clock()
            action, spec = acquire_step(lease, self.holder, now, self.duration)
            if action != WAIT:
                self._check_abort()
                try:
                    written = self._write(action, spec, lease)
                except KubeError as err:
                    if err.status != 409:
                        raise
                else:
                    self.held = True
                    if action == TAKE:
                        self.took_over = takeover_message(lease, now)
                    return written
                # Somebody else wrote the Lease in between: look again, unless the time is up.
                if now - started >= timeout:
                    raise LockError(
                        "the Lease %s/%s kept changing under this run for %d s; nothing was changed"
                        % (self.namespace, self.name, now - started)
                    )
                self.sleep(min(poll, 0.2))
                continue
            if now - started >= timeout:
                raise LockError(
                    busy_message("%s/%s" % (self.namespace, self.name[len(LEASE_PREFIX) :]), lease, now, now - started)
                )
            self.sleep(min(poll, max(timeout - (now - started), 0.05)))

    def renew(self):
        """Renew the Lease, or raise LockError when this run no longer holds it (the write fence)."""
        with self._guard:
            return self._renew()

    def _renew(self):
        if self._lost:
            raise LockError(self._lost)
        lease = self.kube.get("leases", self.namespace, self.name)
        now = self.clock()
        holder, _acquired, renewed, duration = lease_holder(lease) if lease else ("", None, None, 0)
        if holder != self.holder or (renewed is not None and now > renewed + duration):
            self.held = False
            self._lost = (
                "This run (%s) no longer holds the lock of LiteLLM: %s. Did the run pause for longer "
                "than %d s? Nothing more was written by it; run again."
                % (
                    self.holder,
                    ("%s holds it now" % holder)
                    if holder and holder != self.holder
                    else "it expired before it was renewed"
                    if holder
                    else "the Lease was released or deleted",
                    self.duration,
                )
            )
            raise LockError(self._lost)
        _action, spec = acquire_step(lease, self.holder, now, self.duration)
        try:
            return self._write(RENEW, spec, lease)
        except KubeError as err:
            if err.status != 409:
                raise
        # Written by someone else in between (taken, or deleted and made again): look once more.
        lease = self.kube.get("leases", self.namespace, self.name)
        if lease is None or lease_holder(lease)[0] != self.holder:
            return self._renew()
        return lease

    def release(self):
        """Free the Lease if this run holds it (holder emptied, history kept); True when released."""
        self.stop_keeping()
        with self._guard:
            for _attempt in range(5):
                lease = self.kube.get("leases", self.namespace, self.name)
                if lease is None or lease_holder(lease)[0] != self.holder:
                    self.held = False
                    return False
                spec = dict(
                    lease.get("spec") or {},
                    holderIdentity=None,
                    leaseDurationSeconds=1,
                    renewTime=micro_time(self.clock()),
                )
                try:
                    self._write(RENEW, spec, lease)
                except KubeError as err:
                    if err.status != 409:
                        raise
                    continue
                self.held = False
                return True
        return False

    def keep(self):
        """Renew in the background every ``RENEW_EVERY`` seconds (at most a third of the duration)."""
        stop = threading.Event()
        interval = max(min(self.RENEW_EVERY, self.duration / 3.0), 0.5)

        def run():
            while not stop.wait(interval):
                try:
                    self.renew()
                except LockError:
                    return
                except Exception:
                    continue

        self._keeper = (stop, threading.Thread(target=run, name="lease-keeper", daemon=True))
        self._keeper[1].start()
        return self

    def stop_keeping(self):
        if self._keeper:
            self._keeper[0].set()
            self._keeper = None

    @property
    def lost(self):
        """Why this run no longer holds the lock (None while it does)."""
        return self._lost


def set_lease_names(deployments):
    """The Leases guarding the LiteLLM made of ``deployments``, in the order they are taken (sorted)."""
    return [lease_name(name) for name in sorted(set(deployments))]


class SetLock:
    """The run lock of one LiteLLM made of several Deployments: the Lease of every member, taken in
    sorted name order (two runs never hold one each and wait for the other's), renewed and released
    together, with the waiting, aborting and takeover behaviour of ``RunLock``.

    A set of one is the named Deployment's own Lease, as it always was. A run of an older collection
    (which takes only the Lease of the Deployment it names) is excluded too: whichever member it names,
    a run holding the set holds that member's Lease.
    """

    def __init__(
        self,
        kube,
        namespace,
        deployments,
        holder,
        duration=RunLock.DEFAULT_DURATION,
        run="",
        clock=time.time,
        sleep=None,
    ):
        self.kube, self.namespace, self.holder, self.duration, self.run = kube, namespace, holder, duration, run
        self.clock, self.sleep = clock, sleep
        self.abort = threading.Event()
        self.locks = []
        self.took_over = None
        self._names = []
        self._add(deployments)

    def _add(self, deployments):
        self._names = sorted(set(self._names) | set(deployments))
        self.locks = [
            RunLock(
                self.kube,
                self.namespace,
                lease_name(name),
                self.holder,
                duration=self.duration,
                run=self.run,
                clock=self.clock,
                sleep=self.sleep,
                abort=self.abort,
            )
            for name in self._names
        ]

    @property
    def names(self):
        """The Leases of the set, in the order they are taken."""
        return [lock.name for lock in self.locks]

    @property
    def held(self):
        return bool(self.locks) and all(lock.held for lock in self.locks)

    @property
    def lost(self):
        """Why this run no longer holds the lock of the set (None while it holds every Lease)."""
        return next((lock.lost for lock in self.locks if lock.lost), None)

    def acquire(self, timeout, poll=1.0):
        """Hold every Lease of the set, in sorted order, within ``timeout`` seconds in all; on a failure
        (busy, aborted) the Leases already taken are released before the LockError goes up."""
        started = self.clock()
        taken, took_over = [], []
        try:
            for lock in self.locks:
                lock.acquire(max(timeout - (self.clock() - started), 0), poll)
                taken.append(lock)
                if lock.took_over:
                    took_over.append(lock.took_over)
        except BaseException:
            for lock in reversed(taken):
                lock.release()
            raise
        self.took_over = " ".join(took_over) or None

    def cover(self, deployments, timeout, poll=1.0):
        """Under the lock: hold the Leases of ``deployments`` too (a Deployment joined the set since the
        run took it). Nothing was written yet, so the run lets go of every Lease and takes the larger set
        again in sorted order (taking only the new one, out of order, could deadlock with a run that
        waits in order). Returns whether the set grew."""
        if {lease_name(name) for name in deployments} <= set(self.names):
            return False
        self.release()
        self._add(deployments)
        self.acquire(timeout, poll)
        self.keep()
        return True

    def renew(self):
        """Renew every Lease, or raise LockError when this run lost one (the write fence)."""
        for lock in self.locks:
            lock.renew()

    def keep(self):
        for lock in self.locks:
            lock.keep()
        return self

    def stop_keeping(self):
        for lock in self.locks:
            lock.stop_keeping()

    def release(self):
        """Free every Lease this run holds (in reverse order); True when any was released."""
        released = False
        for lock in reversed(self.locks):
            released = lock.release() or released
        return released
