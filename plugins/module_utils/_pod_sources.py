# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: what LiteLLM's pod template loads, and how that drifted.

Pure functions, no ansible import and no I/O. Kubernetes grants no right narrower than ``patch`` on
a Deployment, and whoever holds it can add ``envFrom: [{secretRef: {name: other-app-secret}}]`` to
LiteLLM's pod template: the pod then carries every value of that Secret, and a model entry with
``api_key: os.environ/NAME`` sends it to any ``api_base``. The config and the keys come back at the
next run; the pod template is not this collection's to restore. So the record of the last verified
state also lists what the pod template loads, by name only (the Secrets and ConfigMaps behind
``envFrom``, ``env[].valueFrom`` and volumes, never a value), and a run names what was added or
removed since.
"""

from __future__ import annotations

DRIFT_POLICIES = ("warn", "fail")
"""``litellm_pod_template_drift``: warn and go on, or refuse before anything is written."""


def _containers(spec):
    for kind, label in (("initContainers", "init container"), ("containers", "container")):
        for container in spec.get(kind) or []:
            yield "%s %s" % (label, container.get("name") or "?"), container


def pod_template_sources(deployment):
    """Every source of data the Deployment's pod template loads, as sorted, readable names.

    ``envFrom secretRef NAME (container C)``, ``env VAR from secretKeyRef NAME key KEY (container C)``,
    ``volume V secret NAME``, ``volume V projected configMap NAME``; literal ``env[].value`` is left
    out (it is a value, and loads nothing from elsewhere).
    """
    spec = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}
    found = set()
    for where, container in _containers(spec):
        for entry in container.get("envFrom") or []:
            for ref in ("secretRef", "configMapRef"):
                if isinstance(entry.get(ref), dict):
                    found.add("envFrom %s %s (%s)" % (ref, entry[ref].get("name") or "?", where))
        for entry in container.get("env") or []:
            value_from = entry.get("valueFrom") or {}
            for ref in ("secretKeyRef", "configMapKeyRef"):
                if isinstance(value_from.get(ref), dict):
                    found.add(
                        "env %s from %s %s key %s (%s)"
                        % (
                            entry.get("name") or "?",
                            ref,
                            value_from[ref].get("name") or "?",
                            value_from[ref].get("key") or "?",
                            where,
                        )
                    )
    for volume in spec.get("volumes") or []:
        name = volume.get("name") or "?"
        if isinstance(volume.get("secret"), dict):
            found.add("volume %s secret %s" % (name, volume["secret"].get("secretName") or "?"))
        if isinstance(volume.get("configMap"), dict):
            found.add("volume %s configMap %s" % (name, volume["configMap"].get("name") or "?"))
        for source in (volume.get("projected") or {}).get("sources") or []:
            for kind in ("secret", "configMap"):
                if isinstance(source.get(kind), dict):
                    found.add("volume %s projected %s %s" % (name, kind, source[kind].get("name") or "?"))
    return sorted(found)


def template_drift(recorded, live):
    """``(added, removed)``: the sources in ``live`` and not in ``recorded``, and the other way round.

    ``recorded`` None (a record older than this field, or none) compares as no drift.
    """
    if recorded is None:
        return [], []
    return sorted(set(live) - set(recorded)), sorted(set(recorded) - set(live))


def drift_message(namespace, deployment, added, removed, recorded_at):
    """What a run says when the pod template loads other sources than at the last verified run."""
    since = "since the last verified run on %s" % (recorded_at or "(unknown time)")
    changes = ["%s was added %s" % (source, since) for source in added]
    changes += ["%s was removed %s" % (source, since) for source in removed]
    return (
        "The pod template of Deployment %s/%s loads other Secrets or ConfigMaps than when LiteLLM was last "
        "verified: %s. Whoever may patch the Deployment can make LiteLLM read any Secret in the namespace; if "
        "you did not make this change, undo it and find out who did; if you did, a run with "
        "litellm_rollout_force: true restarts, verifies and records it (so does any run that writes). "
        "litellm_pod_template_drift: fail refuses to run while it differs" % (namespace, deployment, "; ".join(changes))
    )


def record_drift(record, deployment):
    """``{"loads": [...], "added": [...], "removed": [...], "recorded_at": ...}``: what the pod template of
    ``deployment`` loads now, and how that differs from ``record`` (a ``KnownGood`` or None)."""
    loads = pod_template_sources(deployment)
    added, removed = template_drift(record.pod_template if record is not None else None, loads)
    return {
        "loads": loads,
        "added": added,
        "removed": removed,
        "recorded_at": record.recorded_at if record is not None else None,
    }
