"""Fixtures for the sandbox tests.

``apiserver`` runs the sandbox API server alone (a Store with namespaces ``ml``
and ``kube-system`` and their ServiceAccounts ``default``, and ``build_app``; no controller) on a free 127.0.0.1
port, in a background thread with its own event loop, so that real clients
(kubectl, the kubernetes Python client, ansible) can talk to it from the test
process.

``server`` runs the fake LLM providers alone (``provider_server.ProviderServer``, every
provider's test key valid) on a free port, in a state directory of its own, for one test.

``ci`` is ServiceAccount ``ml/ci`` on ``apiserver``, with the Role the RBAC tests check, its
token and a kubeconfig; ``ci_client`` a kubernetes Python client using it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import secrets
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest
import requests
import yaml
from aiohttp import web
from kubernetes import config

from sandbox.__main__ import kubeconfig as kubeconfig_for
from sandbox.apiserver import API_SERVER, build_app
from sandbox.apiserver.server import ApiServer
from sandbox.store import Store
from sandbox.tls import make_server_tls

# The helper modules check what they read with assert: rewrite those as pytest does a test's.
pytest.register_assert_rewrite("tests.sandbox.provider_server", "tests.sandbox.rbac_setup")

from tests.sandbox.provider_server import KEYS, ProviderServer  # noqa: E402
from tests.sandbox.rbac_setup import NS, RBAC, admin_create, binding, role, token_for  # noqa: E402
from tests.sandbox.rbac_setup import kubeconfig_for as token_kubeconfig  # noqa: E402

KUBECTL = os.environ.get("KUBECTL", "/usr/bin/kubectl")


@dataclass
class RunningApiServer:
    """Where the API server listens, and helpers to drive it from tests."""

    url: str
    token: str
    kubeconfig: Path
    store: Store
    loop: asyncio.AbstractEventLoop
    ca_file: Path
    server: ApiServer
    env: dict[str, str] = field(default_factory=dict)

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn`` on the server's event loop and return its result.

        The Store is not thread-safe and wakes watchers through asyncio queues,
        so tests must change it from the loop's thread, as the controller does.
        """

        async def run() -> Any:
            return fn(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=10)

    def request(self, method: str, path: str, *, token: str | None = None, **kwargs: Any) -> requests.Response:
        """One raw HTTP request, authenticated with the server's token unless told otherwise."""
        headers = {"Authorization": f"Bearer {self.token if token is None else token}", **kwargs.pop("headers", {})}
        return requests.request(
            method,
            self.url + path,
            headers=headers,
            verify=str(self.ca_file),
            timeout=kwargs.pop("timeout", 10),
            **kwargs,
        )

    def kubectl_command(self, *args: str, kubeconfig: Path | None = None) -> list[str]:
        return [KUBECTL, "--kubeconfig", str(kubeconfig or self.kubeconfig), *args]

    def kubectl(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        kubeconfig: Path | None = None,
        timeout: float = 30,
    ) -> subprocess.CompletedProcess:
        """Run the real kubectl against this server; output is text."""
        result = subprocess.run(
            self.kubectl_command(*args, kubeconfig=kubeconfig),
            input=input,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
            )
        return result


@pytest.fixture(scope="session")
def apiserver(tmp_path_factory) -> RunningApiServer:
    """The API server alone, seeded with namespace ``ml``; shared by the session."""
    workdir = tmp_path_factory.mktemp("apiserver")
    store = Store()
    for namespace in ("ml", "kube-system"):
        store.create(
            "namespaces",
            "",
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}, "status": {"phase": "Active"}},
        )
        # What the ServiceAccount controller would have made: pods need it (the ServiceAccount admission).
        store.create(
            "serviceaccounts",
            namespace,
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}},
        )
    token = secrets.token_hex(16)
    ssl_context, ca_pem = make_server_tls(workdir / "pki")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]

    loop = asyncio.new_event_loop()
    app = build_app(store, token)
    runner = web.AppRunner(app, access_log=None)
    started: concurrent.futures.Future = concurrent.futures.Future()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.SockSite(runner, sock, ssl_context=ssl_context).start())
        except BaseException as err:  # report start-up failures to the test thread
            started.set_exception(err)
            return
        started.set_result(None)
        loop.run_forever()

    thread = threading.Thread(target=serve, name="sandbox-apiserver", daemon=True)
    thread.start()
    started.result(timeout=10)

    url = f"https://127.0.0.1:{port}"
    kubeconfig = workdir / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(kubeconfig_for(url, token, ca_pem)))
    env = {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "K8S_AUTH_KUBECONFIG": str(kubeconfig),
        # kubectl's discovery cache would otherwise collect under ~/.kube/cache.
        "KUBECACHEDIR": str(workdir / "kube-cache"),
    }
    yield RunningApiServer(url, token, kubeconfig, store, loop, workdir / "pki" / "ca.crt", app[API_SERVER], env)

    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ProviderServer]:
    running = ProviderServer(tmp_path)
    running.write_keys({provider: [key] for provider, key in KEYS.items()})
    yield running
    running.stop()


# Session-scoped, as ``apiserver`` is: the test_rbac_* files share ServiceAccount ci, which can be
# created only once on the one API server.
@pytest.fixture(scope="session")
def ci(apiserver, tmp_path_factory):
    """ServiceAccount ml/ci with Role ci (below), its token and a kubeconfig for it."""
    admin_create(
        apiserver,
        f"/api/v1/namespaces/{NS}/serviceaccounts",
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "ci"}},
    )
    admin_create(
        apiserver,
        f"/apis/{RBAC}/v1/namespaces/{NS}/roles",
        role(
            "ci",
            [
                {
                    "apiGroups": [""],
                    "resources": ["configmaps"],
                    "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
                },
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": ["ci-allowed"]},
                {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]},
                {"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["get", "patch"]},
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
                {
                    "apiGroups": [""],
                    "resources": ["services/proxy"],
                    "verbs": ["get"],
                    "resourceNames": ["litellm:4000"],
                },
                {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["*"]},
            ],
        ),
    )
    admin_create(apiserver, f"/apis/{RBAC}/v1/namespaces/{NS}/rolebindings", binding("ci", "Role", "ci"))
    token = token_for(apiserver, NS, "ci")
    kubeconfig = token_kubeconfig(apiserver, token, tmp_path_factory.mktemp("ci") / "kubeconfig")
    return {"token": token, "kubeconfig": kubeconfig}


@pytest.fixture(scope="session")
def ci_client(ci):
    return config.new_client_from_config(config_file=str(ci["kubeconfig"]))
