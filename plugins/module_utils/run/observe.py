# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: one read of everything a run decides from.

The Deployment, the ConfigMap it mounts as LiteLLM's config, every Secret and ConfigMap its
environment comes from, the record of the last verified state, the run lock, and (while a rollout
is under way) its pods and ReplicaSets; then the Service in front of LiteLLM and the other
Deployments that load a Secret this run may write.
"""

from __future__ import annotations

from collections import namedtuple

from .. import _known_good as kg
from .. import _lock
from .. import _plan as pl
from .. import _rollout as rt
from .. import _wiring as wiring
from .._k8s import KubeError


def observe(kube, namespace, name, request, deployment=None):
    """``(Observed, lease, record Secret)`` from one read (the Deployment too when not given)."""
    if deployment is None:
        deployment = kube.get("deployments", namespace, name)
    if deployment is None:
        raise pl.PlanError(
            ["Deployment %s/%s not found; check litellm_namespace and litellm_deployment" % (namespace, name)]
        )
    try:
        container, configmap_name, _key, _path, _warnings = pl.resolve_target(deployment, request)
    except wiring.WiringError as err:
        raise pl.PlanError([str(err)])
    objects = {}
    for kind, object_name in pl.objects_to_read(container, request.secret):
        objects[(kind, object_name)] = kube.get(
            "secrets" if kind == wiring.SECRET else "configmaps", namespace, object_name
        )
    record_secret = kube.get("secrets", namespace, kg.record_name(name))
    pods = replicasets = None
    if not rt.status_complete(deployment):
        selector = rt.selector_string(deployment)
        pods = kube.list("pods", namespace, label_selector=selector)
        replicasets = kube.list("replicasets", namespace, label_selector=selector)
    try:
        record = kg.read_record(record_secret)
    except kg.RecordError as err:
        raise pl.PlanError([str(err)])
    observed = pl.Observed(
        deployment=deployment,
        configmap=kube.get("configmaps", namespace, configmap_name),
        objects=objects,
        record=record,
        pods=pods,
        replicasets=replicasets,
    )
    lease = kube.get("leases", namespace, _lock.lease_name(name))
    return observed, lease, record_secret


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


def secrets_loaded(deployment):
    """Names of every Secret any container (or volume) of the Deployment's pods reads."""
    spec = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}
    names = set()
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        for entry in container.get("envFrom") or []:
            if (entry.get("secretRef") or {}).get("name"):
                names.add(entry["secretRef"]["name"])
        for entry in container.get("env") or []:
            ref = (entry.get("valueFrom") or {}).get("secretKeyRef") or {}
            if ref.get("name"):
                names.add(ref["name"])
    for volume in spec.get("volumes") or []:
        if (volume.get("secret") or {}).get("secretName"):
            names.add(volume["secret"]["secretName"])
        for source in (volume.get("projected") or {}).get("sources") or []:
            if (source.get("secret") or {}).get("name"):
                names.add(source["secret"]["name"])
    return names


Reader = namedtuple("Reader", "secrets record")
Reader.__doc__ = """Another Deployment loading a Secret this run may write: the ``secrets`` it loads, and the last
verified state its own runs recorded (a ``KnownGood``; None when it has none or it cannot be read)."""


def other_readers(kube, namespace, name, secrets, exclude=()):
    """``{deployment: Reader}``: the other Deployments in the namespace that load one of ``secrets``
    (not those in ``exclude``: the run's own Deployments)."""
    if not secrets:
        return {}
    readers = {}
    for deployment in kube.list("deployments", namespace):
        other = deployment["metadata"]["name"]
        loaded = secrets_loaded(deployment) & set(secrets)
        if other == name or other in exclude or not loaded:
            continue
        try:
            record = kg.read_record(kube.get("secrets", namespace, kg.record_name(other)))
        except kg.RecordError:
            record = None
        except KubeError as err:
            if err.status != 403:
                raise
            record = None  # not readable with this identity: as good as unknown, so nothing shared is restored
        readers[other] = Reader(sorted(loaded), record)
    return readers
