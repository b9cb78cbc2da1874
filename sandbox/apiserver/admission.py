"""Admission plugins beyond RBAC's escalation check: ServiceAccount.

plugin/pkg/admission/serviceaccount/admission.go (k8s.io/kubernetes): a pod without
``serviceAccountName`` gets ``default``; a pod naming an account that does not exist is refused
with 403, ``pods "<name>" is forbidden: error looking up service account <ns>/<sa>:
serviceaccount "<sa>" not found`` (admission.NewForbidden names a pod not yet named by its
generateName). The ReplicaSet controller meets the same refusal when it creates pods. Not done:
mounting the token as the ``kube-api-access-*`` projected volume (the kubelet here has no use for it).
"""

from __future__ import annotations

from ..store import ApiError, Store
from .errors import forbidden_by


def service_account_refusal(store: Store, namespace: str, pod: dict) -> ApiError | None:
    """Default the pod's ServiceAccount; the 403 when that account does not exist, else None."""
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return None
    account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    spec["serviceAccountName"] = account
    spec["serviceAccount"] = account  # the deprecated field, kept equal by the v1 conversion
    if store.get("serviceaccounts", namespace, account) is not None:
        return None
    meta = pod.get("metadata") or {}
    name = meta.get("name") or meta.get("generateName") or "Unknown"
    return forbidden_by(
        "pods",
        "",
        name,
        f'error looking up service account {namespace}/{account}: serviceaccount "{account}" not found',
    )
