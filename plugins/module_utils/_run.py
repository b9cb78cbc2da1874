# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: what the modules of one run share.

Who holds the run lock (a random token per run), the lock of a module used on its own, recording
the verified state, and the failures the modules explain themselves. The
decisions are in the pure modules (``_lock``, ``_known_good``, ``_plan``); this glues them to a
``_k8s.Kube``.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import getpass
import os
import secrets
import socket

from . import _k8s, _lock
from . import _known_good as kg
from . import _wiring as wiring
from ._plan import PlanError
from ._pod_sources import pod_template_sources
from .config.document import ConfigError


class RunFailure(Exception):
    """A refusal or failure the module explains itself; ``result`` holds extra return values."""

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result or {}


EXPECTED = (RunFailure, PlanError, ConfigError, wiring.WiringError, _lock.LockError, kg.RecordError)
"""Failures a module reports with their own message (``_k8s.run_with_kube(expected=...)``)."""


def new_run_token():
    """A random token that names one run (the lock holder is known by it, never by a pid)."""
    return secrets.token_hex(8)


def holder_identity(token):
    """``user@host run=TOKEN``: who holds the lock, readable in ``kubectl get lease``; only the token decides."""
    try:
        user = getpass.getuser()
    except Exception:
        user = str(os.getuid())
    return "%s@%s run=%s" % (user, socket.gethostname(), token)


@contextlib.contextmanager
def module_lock(kube, namespace, deployment, take=True, timeout=300, duration=_lock.RunLock.DEFAULT_DURATION):
    """The run lock for the duration of one module used on its own: yields the fence for its writes
    (None with ``take`` false: the caller coordinates the writes itself)."""
    if not take:
        yield None
        return
    lock = _lock.RunLock(
        kube, namespace, _lock.lease_name(deployment), holder_identity(new_run_token()), duration=duration
    )
    lock.acquire(timeout)
    lock.keep()
    try:
        yield lock.renew
    finally:
        lock.release()


def lock_of(params, kube, take=True):
    """``module_lock`` as a module's options ask for it (``lock``, ``lock_timeout``, ``lock_duration``)."""
    return module_lock(
        kube,
        params["namespace"],
        params["deployment"],
        take=params["lock"] and take,
        timeout=params["lock_timeout"],
        duration=params["lock_duration"],
    )


def write_when_needed(params, kube, check_mode, step):
    """A per-step module's write: decided read-only first, the run lock taken only to write.

    ``step(write, fence)`` reads what it needs, plans, and writes only when ``write`` is true; it returns
    ``(result, changes)``, ``changes`` telling whether it wrote (with ``write`` false: would write). Without
    a change, or in check mode, the read-only pass is the answer and the Lease is never touched. With a
    change the lock is taken and ``step`` runs again under it: it observes again, so what it writes is
    planned from what is live while no run of the role can change it (``fence`` renews the lock before
    each write). With ``lock: false`` the one pass writes at once, unlocked.
    """
    if not params["lock"]:
        return step(not check_mode, None)[0]
    result, changes = step(False, None)
    if not changes or check_mode:
        return result
    with lock_of(params, kube) as fence:
        return step(True, fence)[0]


def mark_pending(kube, namespace, deployment, by, fence=None, config=None, keys=None, models=()):
    """Add what the per-step module ``by`` wrote to the record's pending part (``_known_good.with_pending``).

    ``config``: ``(configmap, key, text)`` it wrote, counted only when the record keeps that ConfigMap and
    key; ``keys``: ``{variable: (secret, key, value or None)}``. Without a record (or with one this
    collection cannot read) nothing is marked: a run then finds no verified state to compare with.
    Returns whether the record was marked; None when this identity may not update the record (403).
    """

    def plan(secret):
        try:
            record = kg.read_record(secret)
        except kg.RecordError:
            return None, False
        if record is None:
            return None, False
        text = None
        if config is not None and (record.configmap, record.config_key) == tuple(config[:2]):
            text = config[2]
        if text is None and not keys:
            return None, False
        updated = kg.with_pending(record, by, now_text(), config_text=text, keys=keys, models=models)
        return kg.record_body(namespace, deployment, updated, existing=secret), True

    try:
        marked, _record = kube.guarded_update("secrets", namespace, kg.record_name(deployment), plan, fence=fence)
    except _k8s.KubeError as err:
        if err.status != 403:
            raise
        return None  # the caller warns: the write stands, unmarked
    return marked


def unmarked_warning(namespace, deployment):
    """The warning of a per-step write that this identity may not mark in the record (``mark_pending`` None)."""
    return (
        "The write was made, but this identity may not update the record Secret %s/%s to mark it as pending: the "
        "next run of the role will call it unverified and roll it back if that run fails. Grant update on that "
        "Secret (playbooks/rbac.yml does), or record the verified state with litellm_known_good"
        % (namespace, kg.record_name(deployment))
    )


def now_text():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _plain(b64):
    return base64.b64decode(b64 or "").decode("utf-8", "replace")


def secret_values_of(objects):
    """Every value (plain and base64, 8 characters or more) of the Secrets among ``objects``."""
    values = set()
    for (kind, _name), obj in objects.items():
        if kind != wiring.SECRET or not obj:
            continue
        for b64 in (obj.get("data") or {}).values():
            for value in (b64, _plain(b64)):
                if value and len(value) >= 8:
                    values.add(value)
    return values


def key_values(api_keys, plan, observed):
    """The plain value of every key variable this run would use: the vault's, else the pod's."""
    values = {name: str(value) for name, value in (api_keys or {}).items()}
    container = wiring.litellm_container(observed.deployment, plan.target.get("container"))
    env = wiring.resolve_env(
        container,
        {key: sorted((obj or {}).get("data") or {}) if obj else None for key, obj in observed.objects.items()},
    )
    for name, source in env.items():
        if name in values or source.kind != wiring.SECRET:
            continue
        data = (observed.objects.get((wiring.SECRET, source.name)) or {}).get("data") or {}
        if source.key in data:
            values[name] = _plain(data[source.key])
    return values


def live_state(kube, namespace, deployment, managed_keys, configmap, config_key):
    """(config text, {variable: (secret, key, value or None)}) as they are in the cluster now."""
    live_configmap = kube.get("configmaps", namespace, configmap) or {}
    text = (live_configmap.get("data") or {}).get(config_key)
    secrets = {}
    for where in managed_keys.values():
        if where["secret"] not in secrets:
            secrets[where["secret"]] = kube.get("secrets", namespace, where["secret"])
    locations = {name: (where["secret"], where["key"]) for name, where in managed_keys.items()}
    return text, kg.live_key_values(secrets, locations)


def record_state(kube, namespace, deployment, plan, observed, record_secret, run_id, verified, template=None):
    """Record the live state as the last verified one (``verified``: "true", or "baseline"), with what
    the pod template of ``template`` (default ``observed.deployment``) loads."""
    text, keys = live_state(
        kube, namespace, deployment, plan.managed_keys, plan.target["configmap"], plan.target["config_key"]
    )
    record = kg.KnownGood(
        text,
        plan.target["configmap"],
        plan.target["config_key"],
        keys,
        list(plan.expected_models),
        verified,
        now_text(),
        run_id,
        pod_template=pod_template_sources(template or observed.deployment),
    )
    body = kg.record_body(namespace, deployment, record, existing=record_secret)
    kube.write("secrets", namespace, body)
    return record


def record_set_state(kube, namespace, members, plan, observed, run_id, verified, fence=None):
    """Record the live state in the record of every Deployment of the set (``members``: objects with
    ``name``, ``deployment`` and ``primary``), each with what its own pod template loads: a later run
    naming any member compares with, and rolls back to, the same state. The named one's record last;
    it is returned. ``fence`` is called before each write."""
    named = None
    for member in sorted(members, key=lambda m: (m.primary, m.name)):
        if fence is not None:
            fence()
        record = record_state(
            kube,
            namespace,
            member.name,
            plan,
            observed,
            kube.get("secrets", namespace, kg.record_name(member.name)),
            run_id,
            verified,
            template=member.deployment,
        )
        named = record if member.primary else named
    return named


def describe_unverified(unverified):
    parts = []
    if unverified.get("config"):
        parts.append(
            "config.yaml" + (" (models %s)" % ", ".join(unverified["models"]) if unverified.get("models") else "")
        )
    if unverified.get("keys"):
        parts.append("keys %s" % ", ".join(unverified["keys"]))
    return " and ".join(parts) or "nothing"


def config_target(kube, params):
    """(configmap, key) of LiteLLM's config: the options given, else what the Deployment mounts."""
    if params.get("configmap") and params.get("config_key"):
        return params["configmap"], params["config_key"]
    deployment = kube.get("deployments", params["namespace"], params["deployment"])
    if deployment is None:
        raise RunFailure(
            "Deployment %s/%s not found, and configmap/config_key are not given: name the ConfigMap, "
            "or the Deployment whose config it is" % (params["namespace"], params["deployment"])
        )
    container = wiring.litellm_container(deployment, params.get("container"))
    source = wiring.config_source(deployment, container)
    return params.get("configmap") or source.configmap, params.get("config_key") or source.key
