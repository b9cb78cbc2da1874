# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: restart a LiteLLM Deployment and follow its rollout.

The restart is a patch of the pod template's digest annotation (``_rollout.restart_patch``), so a
pending restart survives a failed run. The wait reads the Deployment, its ReplicaSets and pods, and
wakes up on a watch of them instead of a fixed sleep; a new pod that crash-loops ends the wait at
once with its exit reason and a scrubbed log tail.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .. import _k8s
from .. import _rollout as rt

# While the Deployment's status is not complete, look at the pods this often to see a crash.
POD_CHECK_SECONDS = 3.0
LOG_LINES = 20


@dataclass
class Wait:
    """How to wait for one Deployment's rollout."""

    namespace: str
    name: str
    timeout: float = 300
    poll_interval: float = 1.0
    max_restarts: int = 2
    watch: bool = True
    hpa: str = None  # the HorizontalPodAutoscaler that decides its replicas, if any


def hpa_shortfall(kube, wait, deployment):
    """Why a rollout complete for spec.replicas is not done for the HPA's current replicas, or None.

    The HPA is read again here (listed: the right the run asks for, as rbac.yml grants it): it may
    have scaled since the run began. An HPA that cannot be read any more (deleted, or the right
    withdrawn) leaves spec.replicas as the measure.
    """
    if not wait.hpa:
        return None
    try:
        found = kube.list("horizontalpodautoscalers", wait.namespace)
    except _k8s.KubeError as err:
        if err.status in (403, 404):
            return None
        raise
    hpa = next((item for item in found if (item.get("metadata") or {}).get("name") == wait.hpa), None)
    current = ((hpa or {}).get("status") or {}).get("currentReplicas")
    if not isinstance(current, int) or current <= 0:
        return None
    status = deployment.get("status") or {}
    ready = min(status.get("updatedReplicas", 0), status.get("availableReplicas", 0))
    if ready >= current:
        return None
    return "%d of the %d replicas of HPA %s are updated and available" % (ready, current, wait.hpa)


def wait_for_rollout(kube, wait, deadline, clock=time.monotonic, sleep=time.sleep, deployment=None):
    """Poll until done or failed or the deadline; ``(assessment, deployment, pods, replicasets)``.

    ``deployment``, when given, is a fresh copy to assess first (no GET). Between two looks this
    waits for a change seen on a watch of the Deployment and its pods, at most ``poll_interval``
    seconds (only that, with ``wait.watch`` false).
    """
    namespace, name = wait.namespace, wait.name
    last_pod_check = None
    pods = replicasets = pods_version = None
    pods_changed = False
    changes = None
    try:
        while True:
            if deployment is None:
                deployment = kube.get("deployments", namespace, name)
            if deployment is None:
                return rt.Assessment(rt.FAILED, "the Deployment was deleted while waiting"), {}, None, None
            now = clock()
            selector = rt.selector_string(deployment)
            if (
                rt.status_complete(deployment)
                or pods_changed
                or last_pod_check is None
                or now - last_pod_check >= POD_CHECK_SECONDS
            ):
                pods, pods_version = kube.list_with_version("pods", namespace, label_selector=selector)
                replicasets = kube.list("replicasets", namespace, label_selector=selector)
                last_pod_check = now
                assessment = rt.assess_rollout(deployment, pods, replicasets, wait.max_restarts)
            else:
                assessment = rt.assess_rollout(deployment, None, None, wait.max_restarts)
            if assessment.state == rt.DONE:
                shortfall = hpa_shortfall(kube, wait, deployment)
                if shortfall:
                    assessment = rt.Assessment(rt.PROGRESSING, shortfall)
            if assessment.state != rt.PROGRESSING:
                return assessment, deployment, pods, replicasets
            if clock() >= deadline:
                return (
                    rt.Assessment(
                        rt.FAILED, "not complete after %d s; last seen: %s" % (wait.timeout, assessment.message)
                    ),
                    deployment,
                    pods,
                    replicasets,
                )
            interval = min(max(wait.poll_interval, 0.05), max(deadline - clock(), 0.05))
            if wait.watch and changes is None:
                # From the versions just read, so that no change in between is missed.
                changes = _k8s.Changes(kube)
                changes.watch(
                    "deployment",
                    "deployments",
                    namespace,
                    (deployment.get("metadata") or {}).get("resourceVersion"),
                    timeout_seconds=wait.timeout,
                    field_selector="metadata.name=" + name,
                )
                changes.watch(
                    "pods",
                    "pods",
                    namespace,
                    pods_version,
                    timeout_seconds=wait.timeout,
                    label_selector=selector or None,
                )
            if changes is not None:
                pods_changed = "pods" in changes.wait(interval)
            else:
                sleep(interval)
            deployment = None
    finally:
        if changes is not None:
            changes.stop()


def pod_log_tail(kube, namespace, pod):
    """The last lines of a failed pod's log: a crashed container's are in its previous run's log."""
    return kube.pod_log(namespace, pod, tail_lines=LOG_LINES, previous=True) or kube.pod_log(
        namespace, pod, tail_lines=LOG_LINES
    )


def restart_and_wait(kube, wait, digest, restarted_at=None, fence=None, clock=time.monotonic, sleep=time.sleep):
    """Patch the digest annotation (a new rollout) and wait for it.

    ``(assessment, deployment, pods, replicasets, seconds)``; ``fence()`` runs right before the
    patch and raises when the run may no longer write.
    """
    started = clock()
    if fence is not None:
        fence()
    deployment = kube.patch("deployments", wait.namespace, wait.name, rt.restart_patch(digest, restarted_at))
    assessment, deployment, pods, replicasets = wait_for_rollout(
        kube, wait, started + wait.timeout, clock, sleep, deployment=deployment
    )
    return assessment, deployment, pods, replicasets, round(clock() - started, 2)


def failure_of(kube, wait, assessment, secret_values):
    """The message of a failed rollout: what failed, the pod's exit reason and log tail, no secret."""
    log_text = pod_log_tail(kube, wait.namespace, assessment.pod) if assessment.pod else ""
    return rt.failure_message(wait.namespace, wait.name, assessment, log_text, secret_values)
