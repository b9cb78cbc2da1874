"""The sandbox cluster: controllers, a kubelet whose containers are real LiteLLM
processes, and service endpoints.

Everything runs on the API server's event loop and talks to the shared Store
directly, the way kube-controller-manager and the kubelet would talk to the API
server. The behaviour follows the upstream components closely enough for the
clients this project uses (kubectl rollout status, kubernetes.core wait, the
collection's own rollout module):

* ``controllers`` -- Deployment -> ReplicaSets -> Pods, rollouts and status;
  a ``default`` ServiceAccount per namespace; aggregated ClusterRoles;
* ``tokens`` -- the token controller (service-account-token Secrets) and the
  root CA publisher (``kube-root-ca.crt`` in every namespace);
* ``kubelet`` -- pods as LiteLLM processes: config and env, readiness probes,
  logs, crash restarts with back-off, graceful termination;
* ``services`` -- Endpoints, a local listener per service port, forwarding;
* ``objects`` -- ownership, pod-state and event helpers they share.

:class:`Cluster` composes them into one reconcile loop and answers the API
server's :class:`sandbox.apiserver.Hooks` (service proxy, pod logs).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from pathlib import Path

from aiohttp import web

from ..store import Store
from .controllers import (
    ClusterRoleAggregationController,
    DeploymentController,
    ReplicaSetController,
    ServiceAccountController,
)
from .kubelet import Kubelet
from .services import Services
from .tokens import RootCAPublisher, TokenController

log = logging.getLogger("sandbox.cluster")

# Changes to these resources can need a reconcile pass.
WATCHED = (
    "deployments",
    "replicasets",
    "pods",
    "services",
    "configmaps",
    "secrets",
    "namespaces",
    "serviceaccounts",
    "clusterroles",
)


class Cluster:
    """One reconcile loop over the controllers, the kubelet and the services."""

    def __init__(self, store: Store, state_dir: Path, litellm_bin: str) -> None:
        self.store = store
        self.deployments = DeploymentController(store)
        self.replicasets = ReplicaSetController(store)
        self.serviceaccounts = ServiceAccountController(store)
        self.clusterroles = ClusterRoleAggregationController(store)
        # The API server reads this key (its Hooks) to accept the tokens the token controller signs.
        self.service_account_key = secrets.token_bytes(32)
        ca_file = state_dir / "pki" / "ca.crt"
        self.tokens = TokenController(store, self.service_account_key, ca_file)
        self.root_ca = RootCAPublisher(store, ca_file)
        self.kubelet = Kubelet(store, state_dir, litellm_bin, kick=self.kick)
        self.services = Services(store, self.kubelet)
        self._dirty = asyncio.Event()
        self._stopping = False

    async def run(self) -> None:
        """Reconcile on every store change, and at least once a second (timers)."""
        await self.kubelet.start()
        await self.services.start()
        changes = self.store.changes()
        asyncio.get_running_loop().create_task(self._pump(changes))
        while not self._stopping:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._dirty.wait(), timeout=1.0)
            self._dirty.clear()
            try:
                await self.reconcile()
            except Exception:  # a controller bug must not stop the cluster
                log.exception("reconcile failed")

    async def _pump(self, changes) -> None:
        while True:
            event = await changes.queue.get()
            if event.resource in WATCHED:
                self._dirty.set()

    async def shutdown(self) -> None:
        self._stopping = True
        await self.kubelet.shutdown()
        await self.services.shutdown()

    def kick(self) -> None:
        self._dirty.set()

    async def reconcile(self) -> None:
        self.serviceaccounts.reconcile()
        self.root_ca.reconcile()
        self.tokens.reconcile()
        self.clusterroles.reconcile()
        self.deployments.reconcile()
        self.replicasets.reconcile()
        await self.kubelet.reconcile()
        self.replicasets.update_statuses()
        self.deployments.update_statuses()
        await self.services.reconcile()

    # -- what the API server asks of the cluster (sandbox.apiserver.Hooks) --
    async def service_proxy(
        self, request: web.Request, namespace: str, service: str, port: str, path: str
    ) -> web.StreamResponse:
        return await self.services.forward(request, namespace, service, port, path, strip_authorization=True)

    def pod_log(self, namespace: str, pod: str, container: str | None, tail_lines: int | None) -> str | None:
        return self.kubelet.pod_log(namespace, pod, container, tail_lines)
