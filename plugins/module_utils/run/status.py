# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: what the collection manages on one LiteLLM, and what
a run would change there (``playbooks/status.yml``).

Pure: built from the result of a run in check mode (``transaction.Transaction`` with ``check_mode``),
which read the Deployment, the config, the Secrets, the record and the Lease once and wrote nothing.
Names only: key names and the Secret and key each lives in, never a value.
"""

from __future__ import annotations

import time

from .. import _lock, _run
from .. import _outcome as outcome


def status_of(result, now=None):
    """The status of one LiteLLM as a dict: ``target``, ``models``, ``keys``, ``record``, ``lock``, ``pending``.

    ``now`` (POSIX time, the clock the Lease's holder writes its renewals with) judges whether the lock
    has expired; the current time when None.
    """
    config = result.get("config") or {}
    target = result.get("target") or {}
    record = result.get("known_good") or {}
    lock = result.get("lock") or {}
    return {
        "target": {
            "namespace": target.get("namespace"),
            "deployment": target.get("deployment"),
            "configmap": target.get("configmap"),
            "config_key": target.get("config_key"),
        },
        "models": {"managed": _live(config, "managed_models"), "in_config": _live(config, "models")},
        "keys": {name: dict(where) for name, where in sorted((result.get("managed_keys") or {}).items())},
        "record": {
            "name": record.get("name"),
            "exists": bool(record.get("exists")),
            "verified": record.get("verified"),
            "recorded_at": record.get("recorded_at"),
        },
        "lock": lock_of(lock, time.time() if now is None else now),
        "pending": pending_of(result),
    }


def lock_of(lock, now):
    """The run lock as read (``name``, ``holder``, ``renewed``, ``duration``), with ``expired`` judged as a run
    judges it (``_lock.expired``: no renewal within ``leaseDurationSeconds``) and ``renewed_ago`` in seconds.

    A holder that stopped renewing (a killed run) holds nothing: the next run takes the lock over.
    ``expired`` and ``renewed_ago`` are None when nobody holds the lock (or it was never renewed).
    """
    holder = lock.get("holder") or None
    renewed = _lock.parse_time(lock.get("renewed"))
    duration = lock.get("duration")
    lease = {"spec": {"holderIdentity": holder, "renewTime": lock.get("renewed"), "leaseDurationSeconds": duration}}
    return {
        "name": lock.get("name"),
        "holder": holder,
        "renewed": lock.get("renewed"),
        "duration": duration,
        "expired": _lock.expired(lease, now) if holder else None,
        "renewed_ago": int(max(now - renewed, 0)) if holder and renewed is not None else None,
    }


def lock_line(lock):
    """The lock in words: free, held (and renewed how long ago), or expired (and since when)."""
    if not lock["holder"]:
        return "Lock: Lease %s free" % lock["name"]
    if lock["renewed_ago"] is None:
        return "Lock: Lease %s held by %s but never renewed: expired (the next run takes it over)" % (
            lock["name"],
            lock["holder"],
        )
    if lock["expired"]:
        return (
            "Lock: Lease %s expired %d s ago (the next run takes it over): %s stopped renewing it %d s ago, "
            "lease %d s (a run that was killed or cut off)"
            % (
                lock["name"],
                max(lock["renewed_ago"] - (lock["duration"] or 0), 0),
                lock["holder"],
                lock["renewed_ago"],
                lock["duration"] or 0,
            )
        )
    return "Lock: Lease %s held by %s, renewed %d s ago (last renewed %s; lease %d s)" % (
        lock["name"],
        lock["holder"],
        lock["renewed_ago"],
        lock["renewed"],
        lock["duration"] or 0,
    )


def _live(config, field):
    """The model names of ``config[field]`` (the config a run would write) as the live config has them:
    without those the run would add, with those it would remove (a run removes only models it manages)."""
    after = set(config.get(field) or [])
    return sorted((after - set(config.get("added") or [])) | set(config.get("removed") or []))


def pending_of(result):
    """What a run would change or take over, one phrase each; [] when a run would do nothing."""
    pending = []
    if result.get("would_change"):
        pending.append(outcome.plan_words(result))
    unverified = result.get("unverified") or {}
    if unverified.get("config") or unverified.get("keys"):
        pending.append(
            "verify %s (not as last verified; put back if that fails)" % _run.describe_unverified(unverified)
        )
    if unverified.get("failing_rollout"):
        pending.append("take over the failing rollout: %s" % unverified["failing_rollout"])
    drift = result.get("pod_template") or {}
    for source in drift.get("added") or []:
        pending.append("pod template: %s was added since the last verified run" % source)
    for source in drift.get("removed") or []:
        pending.append("pod template: %s was removed since the last verified run" % source)
    if not (result.get("known_good") or {}).get("exists"):
        pending.append("record the state LiteLLM runs now (there is no record yet)")
    return pending


def status_lines(status):
    """The status as lines a person reads (what ``playbooks/status.yml`` prints)."""
    target, record, lock = status["target"], status["record"], status["lock"]
    lines = [
        "LiteLLM: Deployment %s/%s, config ConfigMap %s key %s"
        % (target["namespace"], target["deployment"], target["configmap"], target["config_key"]),
        "Models managed by homelab.litellm (%d): %s"
        % (len(status["models"]["managed"]), ", ".join(status["models"]["managed"]) or "none"),
        "Models in the config (%d): %s"
        % (len(status["models"]["in_config"]), ", ".join(status["models"]["in_config"]) or "none"),
    ]
    if status["keys"]:
        lines.append(
            "Keys (names only): %s"
            % ", ".join(
                "%s in Secret %s key %s" % (name, where["secret"], where["key"])
                for name, where in status["keys"].items()
            )
        )
    else:
        lines.append("Keys: none managed")
    if record["exists"]:
        lines.append(
            "Last verified state: Secret %s, recorded %s, %s"
            % (
                record["name"],
                record["recorded_at"] or "(time unknown)",
                "verified by a run"
                if record["verified"] == "true"
                else "a baseline (%s), not verified" % record["verified"],
            )
        )
    else:
        lines.append("Last verified state: none yet (Secret %s does not exist)" % record["name"])
    lines.append(lock_line(lock))
    if status["pending"]:
        lines += ["A run would: %s" % item for item in status["pending"]]
    else:
        lines.append("A run would change nothing")
    return lines
