# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: when to roll LiteLLM, and how a rollout is going.

Pure functions, no ansible import and no I/O. LiteLLM reads its config file and
its environment only at start-up, so a changed ConfigMap or Secret needs new
pods. The digest of both goes into a pod-template annotation: changing it makes
the Deployment controller roll, and an equal digest means nothing to do.
``assess_rollout`` reads a Deployment, its ReplicaSets and pods the way
``kubectl rollout status`` does, and also fails fast on a crashing new pod
instead of waiting for the progress deadline (600 s by default).
"""

from __future__ import annotations

import hashlib

from ._secret_plan import keys_digest, scrub
from ._wiring import master_key_var
from .config.document import config_digest, load_lenient
from .config.envvars import referenced_env_vars

DIGEST_ANNOTATION = "homelab.litellm/config-digest"
RESTARTED_AT_ANNOTATION = "homelab.litellm/restarted-at"
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
POD_TEMPLATE_HASH = "pod-template-hash"

REASON_CHANGED = "config or keys changed"
REASON_FORCED = "forced"
REASON_UNCHANGED = "unchanged"

DONE, PROGRESSING, FAILED = "done", "progressing", "failed"

# Waiting reasons of a container that do not heal by waiting longer.
FAILED_WAITING_REASONS = (
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "RunContainerError",
)


# -- what to roll --------------------------------------------------------------
def config_env_vars(config_text):
    """The variables whose values go into the digest: those referenced as ``os.environ/NAME`` in a
    config text, and the one LiteLLM takes its master key from; [] when LiteLLM could not load it.

    A config that does not load makes LiteLLM exit anyway; its text still goes into the digest, so
    a rollout (that will fail visibly) still happens.
    """
    doc = load_lenient(config_text)
    if not isinstance(doc, dict):
        return []
    master = master_key_var(doc)
    return sorted(set(referenced_env_vars(doc)) | ({master} if master else set()))


def rollout_digest(config_text, secret_data_b64, env_vars):
    """The value of the pod-template annotation: SHA-256 (hex) over the config and its keys.

    It is ``sha256("config=" + sha256(config_text) + "\\nkeys=" + keys_digest(secret_data_b64, env_vars) + "\\n")``:
    the config text byte for byte, and the values of the Secret keys named in
    ``env_vars`` (a missing key is distinct from an empty one). Keys that are not
    named do not count, so rotating a key the config does not use restarts nothing.
    """
    canonical = "config=%s\nkeys=%s\n" % (
        config_digest(config_text or ""),
        keys_digest(secret_data_b64 or {}, env_vars),
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def plan_restart(previous_digest, digest, force=False):
    """(restart?, reason) for a Deployment whose template carries ``previous_digest``."""
    if previous_digest != digest:
        return True, REASON_CHANGED
    if force:
        return True, REASON_FORCED
    return False, REASON_UNCHANGED


def restart_patch(digest, restarted_at=None):
    """Merge patch that sets the digest (and, to force a roll with an equal digest, a time stamp)."""
    annotations = {DIGEST_ANNOTATION: digest}
    if restarted_at:
        annotations[RESTARTED_AT_ANNOTATION] = restarted_at
    return {"spec": {"template": {"metadata": {"annotations": annotations}}}}


def template_annotations(deployment):
    """The pod template's annotations (a dict, possibly empty)."""
    template = (deployment.get("spec") or {}).get("template") or {}
    return dict((template.get("metadata") or {}).get("annotations") or {})


def selector_string(deployment):
    """The Deployment's ``matchLabels`` as a label selector string ('' when there are none)."""
    labels = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return ",".join("%s=%s" % item for item in sorted(labels.items()))


# -- how the rollout goes ------------------------------------------------------
class Assessment(tuple):
    """``(state, message)``, unpackable as a pair; ``pod`` names the failing pod, if any."""

    def __new__(cls, state, message, pod=None):
        self = super().__new__(cls, (state, message))
        self.pod = pod
        return self

    @property
    def state(self):
        return self[0]

    @property
    def message(self):
        return self[1]


def _condition(status, type_):
    return next((c for c in status.get("conditions") or [] if c.get("type") == type_), None)


def _revision(obj):
    try:
        return int(((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION_ANNOTATION, 0))
    except (TypeError, ValueError):
        return 0


def _owned_by(obj, owner):
    uid = (owner.get("metadata") or {}).get("uid")
    return any(ref.get("uid") == uid for ref in (obj.get("metadata") or {}).get("ownerReferences") or [])


def _without_hash(template):
    metadata = dict(template.get("metadata") or {})
    labels = dict(metadata.get("labels") or {})
    labels.pop(POD_TEMPLATE_HASH, None)
    metadata["labels"] = labels
    return dict(template, metadata=metadata)


def newest_replicaset(deployment, replicasets):
    """The Deployment's current ReplicaSet, or None when the controller has not made it yet.

    Like the controller: the owned ReplicaSet whose pod template equals the
    Deployment's (ignoring the pod-template-hash label); failing that, the one
    with the highest revision.
    """
    owned = [rs for rs in replicasets or [] if _owned_by(rs, deployment)]
    wanted = _without_hash((deployment.get("spec") or {}).get("template") or {})
    for rs in owned:
        if _without_hash((rs.get("spec") or {}).get("template") or {}) == wanted:
            return rs
    return max(owned, key=_revision, default=None)


def _pod_hash(obj):
    return ((obj.get("metadata") or {}).get("labels") or {}).get(POD_TEMPLATE_HASH)


def _name(obj):
    return (obj.get("metadata") or {}).get("name", "?")


def pod_failure(pod, max_restarts):
    """Why a new pod will not become ready by waiting, or None.

    ``max_restarts`` <= 0 switches the restart-count check off.
    """
    status = pod.get("status") or {}
    if status.get("phase") == "Failed":
        return "pod %s failed: %s" % (_name(pod), status.get("reason") or status.get("message") or "phase Failed")
    for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        state = cs.get("state") or {}
        waiting = state.get("waiting") or {}
        terminated = state.get("terminated") or (cs.get("lastState") or {}).get("terminated") or {}
        restarts = cs.get("restartCount") or 0
        crashing = waiting.get("reason") in FAILED_WAITING_REASONS
        if not crashing and not (max_restarts > 0 and restarts >= max_restarts):
            continue
        parts = [
            "pod %s container %s: %s"
            % (_name(pod), cs.get("name", "?"), waiting.get("reason") or "restarted %d times" % restarts)
        ]
        if terminated:
            parts.append("last exit code %s (%s)" % (terminated.get("exitCode"), terminated.get("reason") or "?"))
        parts.append("%d restart%s" % (restarts, "" if restarts == 1 else "s"))
        if waiting.get("message"):
            parts.append(waiting["message"])
        return ", ".join(parts)
    return None


def status_complete(deployment):
    """Whether the Deployment's own status says the rollout is complete (pods not yet checked)."""
    meta, spec, status = (deployment.get(k) or {} for k in ("metadata", "spec", "status"))
    desired = spec.get("replicas", 1)
    return (
        status.get("observedGeneration", 0) >= meta.get("generation", 0)
        and status.get("updatedReplicas", 0)
        == status.get("replicas", 0)
        == status.get("availableReplicas", 0)
        == desired
    )


def assess_rollout(deployment, pods, replicasets, max_restarts=2):
    """``(state, message)`` of a Deployment's rollout: ``done``, ``progressing`` or ``failed``.

    Done: the controller observed the current generation, updated == replicas ==
    available == spec.replicas, and every pod of an older ReplicaSet is gone or
    terminating (as for ``kubectl rollout status``: a terminating pod has left the
    Service's endpoints, so no new request reaches it; waiting for its grace period
    would only delay the verification). Failed: the Progressing condition says
    ProgressDeadlineExceeded, the Deployment is paused, or a new pod crashes
    (``pod_failure``). ``pods``/``replicasets`` None means not looked at: pod
    checks are skipped and the result is never ``done``. The result also has
    ``.pod``, the name of the failing pod.
    """
    meta, spec, status = (deployment.get(k) or {} for k in ("metadata", "spec", "status"))
    name = meta.get("name", "?")
    generation, observed = meta.get("generation", 0), status.get("observedGeneration", 0)
    if spec.get("paused"):
        return Assessment(
            FAILED,
            "Deployment %s is paused, it will not roll; resume it (kubectl rollout "
            "resume deployment/%s) and run again" % (name, name),
        )
    if observed < generation:
        return Assessment(
            PROGRESSING,
            "waiting for the Deployment controller to observe generation %d (observed %d)" % (generation, observed),
        )
    failing = None
    old_pods = []
    if pods is not None and replicasets is not None:
        owned_rs = [rs for rs in replicasets if _owned_by(rs, deployment)]
        ours = [p for p in pods if any(_owned_by(p, rs) for rs in owned_rs)]
        newest = newest_replicaset(deployment, owned_rs)
        new_hash = _pod_hash(newest) if newest else None
        new_pods = sorted((p for p in ours if new_hash and _pod_hash(p) == new_hash), key=_name)
        old_pods = sorted(
            (p for p in ours if p not in new_pods and not (p.get("metadata") or {}).get("deletionTimestamp")), key=_name
        )
        for pod in new_pods:
            if (pod.get("metadata") or {}).get("deletionTimestamp"):
                continue
            reason = pod_failure(pod, max_restarts)
            if reason:
                failing = (_name(pod), reason)
                break
    progressing = _condition(status, "Progressing") or {}
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        message = "Deployment %s exceeded its progress deadline: %s" % (name, progressing.get("message", ""))
        if failing:
            message += "; " + failing[1]
        return Assessment(FAILED, message, failing[0] if failing else None)
    if failing:
        return Assessment(FAILED, failing[1], failing[0])

    desired = spec.get("replicas", 1)
    updated, replicas, available = (status.get(k, 0) for k in ("updatedReplicas", "replicas", "availableReplicas"))
    if updated < desired:
        return Assessment(PROGRESSING, "%d of %d new replicas have been updated" % (updated, desired))
    if replicas > updated:
        return Assessment(PROGRESSING, "%d old replicas are pending termination" % (replicas - updated))
    if available < updated:
        return Assessment(PROGRESSING, "%d of %d updated replicas are available" % (available, updated))
    if pods is None or replicasets is None:
        return Assessment(PROGRESSING, "status complete, pods not checked yet")
    if old_pods:
        return Assessment(PROGRESSING, "old pods still running: %s" % ", ".join(_name(p) for p in old_pods))
    return Assessment(DONE, "deployment %s successfully rolled out" % name)


def ready_at(deployment, pods, replicasets):
    """When the last new pod became Ready (its condition's lastTransitionTime), or None."""
    newest = newest_replicaset(deployment, replicasets or [])
    if newest is None:
        return None
    times = []
    for pod in pods or []:
        if _pod_hash(pod) != _pod_hash(newest) or not _owned_by(pod, newest):
            continue
        ready = _condition(pod.get("status") or {}, "Ready") or {}
        if ready.get("status") != "True" or not ready.get("lastTransitionTime"):
            return None
        times.append(ready["lastTransitionTime"])
    return max(times) if times else None


def deployment_summary(deployment):
    """Generation, replica counts and conditions of a Deployment, for the module's result."""
    meta, spec, status = (deployment.get(k) or {} for k in ("metadata", "spec", "status"))
    return {
        "name": meta.get("name"),
        "generation": meta.get("generation"),
        "observed_generation": status.get("observedGeneration"),
        "revision": str(_revision(deployment) or "") or None,
        "replicas": spec.get("replicas", 1),
        "status_replicas": status.get("replicas", 0),
        "updated_replicas": status.get("updatedReplicas", 0),
        "ready_replicas": status.get("readyReplicas", 0),
        "available_replicas": status.get("availableReplicas", 0),
        "unavailable_replicas": status.get("unavailableReplicas", 0),
        "conditions": [
            {k: c.get(k) for k in ("type", "status", "reason", "message")} for c in status.get("conditions") or []
        ],
    }


def failure_message(namespace, deployment_name, assessment, log_text, secret_values):
    """The module's message for a failed rollout: what failed, the log tail, what to do.

    Every value of ``secret_values`` in the log is replaced by ``***``.
    """
    lines = ["Rollout of deployment %s/%s failed: %s." % (namespace, deployment_name, assessment.message)]
    if assessment.pod and log_text:
        lines.append("Last lines of the log of pod %s:" % assessment.pod)
        lines.extend("  " + line for line in scrub(log_text, secret_values).rstrip("\n").splitlines())
    lines.append(
        "Pods of the previous ReplicaSet keep running as long as the update strategy allows "
        "(maxUnavailable). Fix the config or keys and run again, or put the last verified state back "
        "(homelab.litellm.litellm_known_good state=restored) and run again."
    )
    return "\n".join(lines)
