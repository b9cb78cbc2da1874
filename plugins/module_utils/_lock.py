# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: one run at a time per LiteLLM, with a Lease.

A run that will write takes a ``coordination.k8s.io/v1`` Lease in LiteLLM's namespace and holds
it until it has verified (or rolled back) what it wrote. Every module of the run renews it before
it writes (a fence: a run that lost its lock writes nothing more) and while it waits. A runner that
dies stops renewing; the Lease expires ``leaseDurationSeconds`` after its last renewal and the next
run takes it over. Check mode takes no lock.

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


def acquire_step(lease, holder, now, duration, holder_gone=False):
    """What to do to hold the Lease as ``holder``: ``(action, spec)``.

    ``create`` when there is no Lease, ``renew`` when ``holder`` has it, ``take`` when it is free,
    expired or ``holder_gone`` (its run is known to be dead; the transitions count goes up),
    ``wait`` while somebody else holds it (spec None).
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
    if expired(lease, now) or holder_gone:
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
        "killed, its lock expires %d s after its last renewal."
        % (target, holder, (lease.get("metadata") or {}).get("name"), since, renewed_ago, waited, duration)
    )


class RunLock:
    """The Lease of one LiteLLM, held by ``holder`` (``user@host run <id>``)."""

    def __init__(
        self, kube, namespace, name, holder, duration=60, run="", clock=time.time, sleep=time.sleep, holder_gone=None
    ):
        self.kube, self.namespace, self.name = kube, namespace, name
        self.holder, self.duration, self.run = holder, duration, run
        self.clock, self.sleep = clock, sleep
        self.holder_gone = holder_gone or (lambda holder: False)
        self._keeper = None
        self._lost = None

    def _write(self, action, spec, lease):
        body = lease_body(self.namespace, self.name, spec, lease, self.run)
        if action == CREATE:
            return self.kube.create("leases", self.namespace, body)
        return self.kube.replace("leases", self.namespace, body)

    def acquire(self, timeout, poll=1.0):
        """Hold the Lease, waiting up to ``timeout`` seconds for another holder; raises LockError."""
        started = self.clock()
        while True:
            lease = self.kube.get("leases", self.namespace, self.name)
            now = self.clock()
            current = lease_holder(lease)[0] if lease else ""
            gone = bool(current) and current != self.holder and self.holder_gone(current)
            action, spec = acquire_step(lease, self.holder, now, self.duration, gone)
            if action != WAIT:
                try:
                    return self._write(action, spec, lease)
                except KubeError as err:
                    if err.status != 409:
                        raise
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
        if self._lost:
            raise LockError(self._lost)
        lease = self.kube.get("leases", self.namespace, self.name)
        now = self.clock()
        holder = lease_holder(lease)[0] if lease else ""
        if holder != self.holder:
            self._lost = (
                "This run (%s) no longer holds the lock of LiteLLM: %s. Did the run pause for longer "
                "than %d s? Nothing more was written by it; run again."
                % (
                    self.holder,
                    ("%s holds it now" % holder) if holder else "the Lease was released or deleted",
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
        # Renewed by this run's own keeper thread in between, or taken: look once more.
        lease = self.kube.get("leases", self.namespace, self.name)
        if lease is None or lease_holder(lease)[0] != self.holder:
            return self.renew()
        return lease

    def release(self):
        """Free the Lease if this run holds it (holder emptied, history kept); True when released."""
        lease = self.kube.get("leases", self.namespace, self.name)
        if lease is None or lease_holder(lease)[0] != self.holder:
            return False
        spec = dict(
            lease.get("spec") or {}, holderIdentity=None, leaseDurationSeconds=1, renewTime=micro_time(self.clock())
        )
        try:
            self._write(RENEW, spec, lease)
        except KubeError as err:
            if err.status != 409:
                raise
            return self.release()  # our keeper renewed it in between: read it again
        return True

    def keep(self):
        """Renew in the background every third of the duration until ``stop_keeping``."""
        stop = threading.Event()

        def run():
            while not stop.wait(max(self.duration / 3.0, 1.0)):
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
