"""Two controllers of kube-controller-manager that hand out the cluster's credentials.

* The token controller (k8s.io/kubernetes pkg/controller/serviceaccount/tokens_controller.go):
  a Secret of type ``kubernetes.io/service-account-token`` naming a ServiceAccount in its
  annotation ``kubernetes.io/service-account.name`` gets ``token`` (signed for that account,
  accepted by the API server as long as the Secret holds it and the account has the same uid),
  ``ca.crt`` and ``namespace``, and the annotation ``kubernetes.io/service-account.uid``; a
  Secret whose account does not exist (or has another uid) is deleted.
* The root CA publisher (pkg/controller/certificates/rootcacertpublisher/publisher.go): every
  namespace has a ConfigMap ``kube-root-ca.crt`` holding the cluster's CA under ``ca.crt``, put
  back when deleted or changed.

Both write as ``kube-controller-manager`` in managedFields, as they do on a cluster.
"""

from __future__ import annotations

import base64
import contextlib
import copy
from pathlib import Path

from ..apiserver.authn import sign_legacy_token
from ..apiserver.managedfields import record_update
from ..store import ApiError, Store

TOKEN_TYPE = "kubernetes.io/service-account-token"
NAME_ANNOTATION = "kubernetes.io/service-account.name"
UID_ANNOTATION = "kubernetes.io/service-account.uid"
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
DESCRIPTION_ANNOTATION = "kubernetes.io/description"
DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints "
    "such as the internal service IP or kubernetes.default.svc. "
    "No other usage is guaranteed across distributions of Kubernetes clusters."
)
MANAGER = "kube-controller-manager"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class TokenController:
    """Fills service-account-token Secrets, deletes those of missing accounts."""

    def __init__(self, store: Store, key: bytes, ca_file: Path) -> None:
        self.store = store
        self.key = key
        self.ca_file = ca_file

    def reconcile(self) -> None:
        for secret in self.store.list("secrets", None, lambda s: s.get("type") == TOKEN_TYPE):
            self.sync(secret)

    def sync(self, secret: dict) -> None:
        meta = secret["metadata"]
        namespace, annotations = meta["namespace"], meta.get("annotations") or {}
        account = self.store.get("serviceaccounts", namespace, annotations.get(NAME_ANNOTATION, ""))
        wanted_uid = annotations.get(UID_ANNOTATION)
        if account is None or (wanted_uid and account["metadata"]["uid"] != wanted_uid):
            # tokens_controller.go syncSecret: the account no longer exists, delete the token.
            with contextlib.suppress(ApiError):
                self.store.delete("secrets", namespace, meta["name"])
            return
        data = secret.get("data") or {}
        ca = self.ca_file.read_text() if self.ca_file.exists() else ""
        wanted = {"namespace": _b64(namespace)}
        if ca:
            wanted["ca.crt"] = _b64(ca)
        if not data.get("token"):
            wanted["token"] = _b64(sign_legacy_token(self.key, secret, account))
        if all(data.get(k) == v for k, v in wanted.items()) and wanted_uid == account["metadata"]["uid"]:
            return
        live = copy.deepcopy(secret)
        secret = copy.deepcopy(secret)
        secret["data"] = {**data, **wanted}
        secret["metadata"].setdefault("annotations", {})[UID_ANNOTATION] = account["metadata"]["uid"]
        record_update("secrets", live, secret, MANAGER, "v1")
        self.store.update("secrets", namespace, secret)


class RootCAPublisher:
    """ConfigMap kube-root-ca.crt in every namespace, with the cluster's CA."""

    def __init__(self, store: Store, ca_file: Path) -> None:
        self.store = store
        self.ca_file = ca_file

    def reconcile(self) -> None:
        if not self.ca_file.exists():
            return
        ca = self.ca_file.read_text()
        for namespace in self.store.list("namespaces"):
            name = namespace["metadata"]["name"]
            if namespace["metadata"].get("deletionTimestamp"):
                continue
            current = self.store.get("configmaps", name, ROOT_CA_CONFIGMAP)
            if current is None:
                configmap = {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {
                        "name": ROOT_CA_CONFIGMAP,
                        "annotations": {DESCRIPTION_ANNOTATION: DESCRIPTION},
                    },
                    "data": {"ca.crt": ca},
                }
                record_update("configmaps", None, configmap, MANAGER, "v1")
                self.store.create("configmaps", name, configmap)
            elif (current.get("data") or {}) != {"ca.crt": ca} or (current["metadata"].get("annotations") or {}).get(
                DESCRIPTION_ANNOTATION
            ) != DESCRIPTION:
                # publisher.go syncNamespace: the data is replaced, the annotation set again.
                updated = copy.deepcopy(current)
                updated["data"] = {"ca.crt": ca}
                updated["metadata"].setdefault("annotations", {})[DESCRIPTION_ANNOTATION] = DESCRIPTION
                record_update("configmaps", current, updated, MANAGER, "v1")
                self.store.update("configmaps", name, updated)
