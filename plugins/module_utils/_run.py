# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: what the modules of one run share.

The run lock of this run (who holds it, when its holder is gone), the fence every write goes
through, recording the verified state, and the failures the modules explain themselves. The
decisions are in the pure modules (``_lock``, ``_known_good``, ``_plan``); this glues them to a
``_k8s.Kube``.
"""

from __future__ import annotations

import base64
import datetime
import getpass
import os
import re
import socket

from . import _known_good as kg
from . import _lock
from . import _wiring as wiring
from ._config_plan import ConfigError
from ._plan import PlanError

PLAYBOOK = "ansible-playbook"
_HOLDER = re.compile(r"^(?P<user>[^@\s]*)@(?P<host>\S+) pid=(?P<pid>\d+) run=(?P<run>\S+)$")


class RunFailure(Exception):
    """A refusal or failure the module explains itself; ``result`` holds extra return values."""

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result or {}


EXPECTED = (RunFailure, PlanError, ConfigError, wiring.WiringError, _lock.LockError, kg.RecordError)
"""Failures a module reports with their own message (``_k8s.run_with_kube(expected=...)``)."""


def _runs_playbook(pid, proc):
    try:
        with open("%s/%d/cmdline" % (proc, pid), "rb") as handle:
            words = handle.read().split(b"\0")
    except OSError:
        return False
    return any(os.path.basename(word.decode("utf-8", "replace")) == PLAYBOOK for word in words[:2])


def _parent(pid, proc):
    try:
        with open("%s/%d/stat" % (proc, pid)) as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def playbook_pid(start=None, proc="/proc"):
    """The pid of the ansible-playbook process this module runs under, or 0 when it cannot be told.

    Walks up the parents (Linux /proc) to the outermost process running ansible-playbook: its
    task workers are forks of it with the same command line, and each task has another one.
    """
    pid, found = start or os.getpid(), 0
    for _depth in range(64):
        if _runs_playbook(pid, proc):
            found = pid
        elif found:
            return found
        pid = _parent(pid, proc)
        if pid <= 1:
            return found
    return found


def holder_identity(run_id, pid=None):
    """``user@host pid=N run=ID``: who holds the lock, readable in ``kubectl get lease``."""
    try:
        user = getpass.getuser()
    except Exception:
        user = str(os.getuid())
    return "%s@%s pid=%d run=%s" % (user, socket.gethostname(), playbook_pid() if pid is None else pid, run_id)


def holder_gone(holder, proc="/proc"):
    """True when ``holder`` ran on this host and its ansible-playbook process is gone (Ctrl-C, kill).

    Another host's run cannot be seen from here: its lock expires on its own.
    """
    found = _HOLDER.match(holder or "")
    if not found or found.group("host") != socket.gethostname() or found.group("pid") == "0":
        return False
    return not _runs_playbook(int(found.group("pid")), proc)


def run_lock(kube, namespace, deployment, params):
    """The run lock of this run (``run_id`` of the module's parameters)."""
    return _lock.RunLock(
        kube,
        namespace,
        _lock.lease_name(deployment),
        holder_identity(params["run_id"]),
        duration=params["lock_duration"],
        run=params["run_id"],
        holder_gone=holder_gone,
    )


def fence_for(kube, params):
    """``fence()`` for ``Kube.guarded_update``: renew the run lock, or raise when the run lost it.

    Without a ``run_id`` (a module used on its own) there is no lock and no fence.
    """
    if not params.get("run_id"):
        return None
    lock = run_lock(kube, params["namespace"], params["deployment"], params)
    return lock.renew


def keep_lock(kube, params):
    """The run lock, renewed in the background while a long step waits (None without a run_id)."""
    if not params.get("run_id"):
        return None
    lock = run_lock(kube, params["namespace"], params["deployment"], params)
    lock.renew()
    return lock.keep()


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


def record_state(kube, namespace, deployment, plan, observed, record_secret, run_id, verified):
    """Record the live state as the last verified one (``verified``: "true", or "baseline")."""
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
    )
    body = kg.record_body(namespace, deployment, record, existing=record_secret)
    kube.write("secrets", namespace, body)
    return record


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


def find_service(kube, namespace, deployment, container, service, port):
    """(service, port) that reaches the container: the given ones, else the Service selecting its pods."""
    if service and port:
        return service, port
    labels = (((deployment.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
    ports = container.get("ports") or []
    for candidate in kube.list("services", namespace):
        spec = candidate.get("spec") or {}
        selector = spec.get("selector") or {}
        if service and candidate["metadata"]["name"] != service:
            continue
        if not selector or any(labels.get(k) != v for k, v in selector.items()):
            continue
        for entry in spec.get("ports") or []:
            target = entry.get("targetPort", entry.get("port"))
            if port and entry.get("port") != port:
                continue
            if any(target in (p.get("containerPort"), p.get("name")) for p in ports) or len(spec.get("ports")) == 1:
                return candidate["metadata"]["name"], entry.get("port")
    return service or deployment["metadata"]["name"], port or 4000
