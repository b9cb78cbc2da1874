# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: the Deployments of one LiteLLM, and their HPAs.

One LiteLLM is the set of Deployments that read its config: the one the run is named after
(``litellm_deployment``, the one whose Service serves inference and is verified) and every other
Deployment in the namespace whose pod template mounts the same ConfigMap key (a ``configMap`` or
``projected`` volume with that key, or the whole map) -- the componentized chart's gateway and
backend, a worker. The run's lock and record keep the named Deployment's names, so a set of one is
what it always was.

Each member is restarted when something it reads changes: its own digest (the same one as on the
named Deployment: the config text and the values of the variables the config references, as that
member's own environment gets them) differs from the one on its pod template. A key only one member
loads restarts only that one. The order is the other members first (by name), the named one last:
while they roll the named Deployment keeps serving inference on its old pods; when its own rollout
ends every member already runs the new state, so the verification through its Service sees them
all; and when another member's rollout fails the named one was never touched.

A Deployment that loads a Secret the run writes but does not read the config is another LiteLLM
(or another program): it is not restarted -- its own run verifies it (its digest then differs, so
its own run restarts it) -- and a rollback never hands it a value its own record does not hold.
When a key it loads changes, the run says so.

HPAs (autoscaling/v2): the one whose ``scaleTargetRef`` names a member decides its replicas. The
rollout wait of that member ends only when the HPA's current replicas are all updated and available
(``status.currentReplicas``; without an HPA, the Deployment's ``spec.replicas``). Without the right
to list them the run says so and waits for ``spec.replicas``.
"""

from __future__ import annotations

import base64
import copy
from dataclasses import dataclass, field

from .. import _plan as pl
from .. import _rollout as rt
from .. import _wiring as wiring
from .._k8s import KubeError

HPA_KIND = "horizontalpodautoscalers"


@dataclass
class Member:
    """One Deployment of the run's LiteLLM."""

    name: str
    deployment: dict = field(repr=False)
    primary: bool = False
    restart: bool = False
    reason: str = ""
    changed: list = field(default_factory=list)  # what it reads that changed: "config", variable names
    digest_now: str = None
    digest_after: str = None
    hpa: dict = field(default=None, repr=False)
    secrets_read: list = field(default_factory=list)  # the Secrets its container reads (for the digest)


# -- what a pod template reads --------------------------------------------------------------------
def _pod_spec(deployment):
    return ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}


def _containers(deployment):
    spec = _pod_spec(deployment)
    return (spec.get("containers") or []) + (spec.get("initContainers") or [])


def _holds(source, key):
    """Whether a configMap/secret volume source (or projected source) exposes ``key``."""
    items = source.get("items")
    return not items or any(item.get("key") == key for item in items)


def config_volumes(deployment, configmap, key):
    """Names of the pod's volumes that expose ``configmap``'s ``key`` (the volume or a projected source)."""
    names = []
    for volume in _pod_spec(deployment).get("volumes") or []:
        sources = [volume["configMap"]] if volume.get("configMap") else []
        sources += [s["configMap"] for s in (volume.get("projected") or {}).get("sources") or [] if s.get("configMap")]
        if any(source.get("name") == configmap and _holds(source, key) for source in sources):
            names.append(volume.get("name"))
    return names


def reads_config(deployment, configmap, key):
    """Whether a container of the Deployment mounts a volume that holds the ConfigMap key."""
    volumes = set(config_volumes(deployment, configmap, key))
    return any(
        mount.get("name") in volumes
        for container in _containers(deployment)
        for mount in container.get("volumeMounts") or []
    )


def loads_key(deployment, secret, key):
    """Whether the Deployment's pods load ``secret``'s ``key`` (envFrom, secretKeyRef or a secret volume)."""
    for container in _containers(deployment):
        for entry in container.get("envFrom") or []:
            if (entry.get("secretRef") or {}).get("name") == secret:
                return True
        for entry in container.get("env") or []:
            ref = (entry.get("valueFrom") or {}).get("secretKeyRef") or {}
            if ref.get("name") == secret and ref.get("key") == key:
                return True
    for volume in _pod_spec(deployment).get("volumes") or []:
        source = volume.get("secret") or {}
        if source.get("secretName") == secret and _holds(source, key):
            return True
        for projected in (volume.get("projected") or {}).get("sources") or []:
            if (projected.get("secret") or {}).get("name") == secret and _holds(projected["secret"], key):
                return True
    return False


def config_container(deployment, configmap, key, name=None):
    """The container of a member that reads the config: the LiteLLM one when it can be told, else the
    first that mounts the config volume."""
    try:
        return wiring.litellm_container(deployment, name)
    except wiring.WiringError:
        volumes = set(config_volumes(deployment, configmap, key))
        for container in _pod_spec(deployment).get("containers") or []:
            if any(mount.get("name") in volumes for mount in container.get("volumeMounts") or []):
                return container
    return {}


# -- HPAs -----------------------------------------------------------------------------------------
def read_hpas(kube, namespace):
    """``(HPAs, warning or None)``: every autoscaling/v2 HPA of the namespace; none, said, when refused.

    An API server that does not serve autoscaling/v2 (404; Kubernetes serves it since 1.23) has no
    HPA of that version to read: nothing to say.
    """
    try:
        return kube.list(HPA_KIND, namespace), None
    except KubeError as err:
        if err.status == 404:
            return [], None
        if err.status != 403:
            raise
        return [], (
            "Could not list HorizontalPodAutoscalers in namespace %s (403 forbidden): rollouts wait for each "
            "Deployment's spec.replicas, and a limit not shared across an HPA's maxReplicas is not warned about. "
            "Grant list horizontalpodautoscalers (autoscaling), as playbooks/rbac.yml does." % namespace
        )


def hpa_of(hpas, name):
    """The HPA whose scaleTargetRef is Deployment ``name``, or None."""
    for hpa in hpas or []:
        ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        if ref.get("kind") == "Deployment" and ref.get("name") == name:
            return hpa
    return None


def expected_replicas(deployment, hpa):
    """The replicas a rollout must replace: the HPA's status.currentReplicas, else spec.replicas."""
    current = ((hpa or {}).get("status") or {}).get("currentReplicas")
    if isinstance(current, int) and current > 0:
        return current
    replicas = (deployment.get("spec") or {}).get("replicas", 1)
    return replicas if isinstance(replicas, int) else 1


def max_replicas(hpa):
    """The HPA's spec.maxReplicas, or None."""
    value = ((hpa or {}).get("spec") or {}).get("maxReplicas")
    return value if isinstance(value, int) else None


# -- the members and their digests ----------------------------------------------------------------
def _objects_after(objects, plan, api_keys):
    """The Secrets as they are once the run's keys are written."""
    after = dict(objects)
    for name, where in plan.target["key_targets"].items():
        change = plan.secrets.get(where["secret"]) or {}
        if where["key"] not in change.get("added", []) + change.get("updated", []) or name not in api_keys:
            continue
        found = copy.deepcopy(after.get((wiring.SECRET, where["secret"])) or {"data": {}})
        found["data"] = dict(found.get("data") or {})
        found["data"][where["key"]] = base64.b64encode(str(api_keys[name]).encode("utf-8")).decode("ascii")
        after[(wiring.SECRET, where["secret"])] = found
    return after


def member_digest(container, objects, config_text, names):
    """``(digest, {variable: base64 value})`` of a member reading ``config_text`` with ``objects``."""
    values, _env = pl.pod_env(container, objects, names)
    return rt.rollout_digest(config_text, values, names), values


def plan_member(kube, namespace, deployment, plan, observed, request, hpa):
    """A Member for another Deployment that reads the config: what it reads now and after the run."""
    container = config_container(deployment, plan.target["configmap"], plan.target["config_key"], request.container)
    objects = dict(observed.objects)
    for kind, name in pl.objects_to_read(container):
        if (kind, name) not in objects:
            objects[(kind, name)] = kube.get("secrets" if kind == wiring.SECRET else "configmaps", namespace, name)
    names = plan.rollout["digest_vars"]
    live_text = ((observed.configmap or {}).get("data") or {}).get(plan.target["config_key"]) or ""
    _digest_live, before = member_digest(container, objects, live_text, names)
    digest_after, after = member_digest(
        container, _objects_after(objects, plan, request.api_keys), plan.config_text, names
    )
    digest_now = rt.template_annotations(deployment).get(rt.DIGEST_ANNOTATION)
    changed = (["config"] if plan.config_text != live_text else []) + sorted(
        name for name in names if before.get(name) != after.get(name)
    )
    member = Member(
        deployment["metadata"]["name"],
        deployment,
        changed=changed,
        digest_now=digest_now,
        digest_after=digest_after,
        hpa=hpa,
    )
    member.secrets_read = sorted(
        name for (kind, name), found in objects.items() if kind == wiring.SECRET and found is not None
    )
    # A key this run removes stays in the environment of its running pods until they restart.
    removed = sorted(
        "%s (removed)" % key
        for secret, change in (plan.secrets or {}).items()
        for key in change.get("removed") or []
        if loads_key(deployment, secret, key)
    )
    changed += removed
    member.changed = changed
    member.restart = digest_after != digest_now or request.force or bool(removed)
    if changed:
        member.reason = "it reads what changed: %s" % ", ".join(changed)
    elif digest_now is None:
        member.reason = "its pod template has no digest yet (the run does not know what its pods run)"
    elif digest_now != digest_after:
        member.reason = "its pods run another config or other keys than the live ones"
    elif request.force:
        member.reason = "forced"
    return member


def plan_members(kube, namespace, plan, observed, request, hpas):
    """The run's Deployments in restart order: the others that read the config (by name), the named one last."""
    name = plan.target["deployment"]
    members = []
    for deployment in sorted(kube.list("deployments", namespace), key=lambda d: d["metadata"]["name"]):
        other = deployment["metadata"]["name"]
        if other == name or not reads_config(deployment, plan.target["configmap"], plan.target["config_key"]):
            continue
        members.append(plan_member(kube, namespace, deployment, plan, observed, request, hpa_of(hpas, other)))
    primary = Member(
        name,
        observed.deployment,
        primary=True,
        restart=plan.rollout["restart"],
        reason=plan.rollout["reason"],
        digest_now=plan.rollout["digest_now"],
        digest_after=plan.rollout["digest_after"],
        hpa=hpa_of(hpas, name),
    )
    return members + [primary]


def extend_plan(namespace, plan, members):
    """Add the other members' restarts to the plan's work and diffs (the named one's are there already),
    and the Secrets they read to the ones the run reads (the access check and rbac.yml ask for them)."""
    plan.target["secrets_read"] = sorted(
        set(plan.target["secrets_read"]).union(*(member.secrets_read for member in members))
    )
    others = [member for member in members if not member.primary and member.restart]
    if not others:
        return
    plan.work["rollout"] = plan.work["verify"] = plan.work["record"] = plan.work["any"] = True
    for member in others:
        header = "Deployment %s/%s pod template annotation" % (namespace, member.name)
        plan.diffs.append(
            {
                "before": "%s: %s\n" % (rt.DIGEST_ANNOTATION, member.digest_now or "(none)"),
                "after": "%s: %s\n" % (rt.DIGEST_ANNOTATION, member.digest_after),
                "before_header": header,
                "after_header": header,
            }
        )


def describe(members):
    """The result's ``deployments``: each member, whether it is restarted and why, its replicas and HPA."""
    return [
        {
            "name": member.name,
            "serves_verification": member.primary,
            "restart": bool(member.restart),
            "reason": member.reason,
            "replicas": expected_replicas(member.deployment, member.hpa),
            "hpa": (member.hpa or {}).get("metadata", {}).get("name"),
        }
        for member in members
    ]


def changed_keys(plan):
    """``[(secret, key, variable)]`` the run writes."""
    found = []
    for name, where in sorted(plan.target["key_targets"].items()):
        change = plan.secrets.get(where["secret"]) or {}
        if where["key"] in change.get("added", []) + change.get("updated", []):
            found.append((where["secret"], where["key"], name))
    return found


def other_reader_warnings(kube, namespace, plan, members, readers):
    """Warnings for the Deployments outside the set that load a key this run writes: not restarted."""
    names = {member.name for member in members}
    written = changed_keys(plan)
    if not written or not readers:
        return []
    by_name = {d["metadata"]["name"]: d for d in kube.list("deployments", namespace)}
    warnings = []
    for other in sorted(set(readers) - names):
        deployment = by_name.get(other)
        loaded = [variable for secret, key, variable in written if deployment and loads_key(deployment, secret, key)]
        if loaded:
            warnings.append(
                "Deployment %s also loads %s, which this run writes, but does not read this LiteLLM's config "
                "(ConfigMap %s key %s): it is not restarted, and its pods keep the old value until they restart "
                "(its own run does that, and verifies it)"
                % (other, ", ".join(loaded), plan.target["configmap"], plan.target["config_key"])
            )
    return warnings


def rollout_summary(restarted, waited):
    """The rollout step's words: which Deployments were restarted (in order) and why."""
    parts = ["restarted %s (%s)" % (member.name, member.reason or "restart") for member in restarted]
    parts += ["waited for the rollout of %s under way" % name for name in waited]
    return "; then ".join(parts) if parts else "nothing to restart"
