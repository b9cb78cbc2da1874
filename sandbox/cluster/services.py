"""Services: Endpoints from the ready pods, and a local listener per service port.

Each service port gets a stable 127.0.0.1 port that stands for the ClusterIP:
like kube-proxy in its default iptables mode (and in nftables mode), it picks a
ready endpoint at random for each new TCP *connection* (iptables' ``statistic
--mode random`` rules), and every request on that connection goes to the same
pod. A client that keeps its connection alive therefore talks to one pod only,
as on a cluster. With no ready endpoint the connection is reset (kube-proxy
rejects it).

The API server's service proxy (``.../services/NAME:PORT/proxy/``) is an HTTP
proxy: like kube-apiserver's (ResourceLocation in pkg/registry/core/service/
storage/rest.go) it picks a random ready endpoint for each request.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import struct

import aiohttp
from aiohttp import web

from ..store import ApiError, Store
from .kubelet import Kubelet
from .objects import pod_terminating

log = logging.getLogger("sandbox.cluster")

HOP_HEADERS = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-authorization",
    "proxy-authenticate",
    "host",
    "content-length",
}


class Services:
    """Endpoints objects, service listeners and the forwarder behind them."""

    def __init__(self, store: Store, kubelet: Kubelet) -> None:
        self.store = store
        self.kubelet = kubelet  # whose containers' readiness decides the endpoints
        self.service_listeners: dict[tuple[str, str, int], tuple[asyncio.AbstractServer, int]] = {}
        self._http: aiohttp.ClientSession | None = None
        self._connections: set[asyncio.Task] = set()
        # Connections per endpoint ip:port since start (what the listener chose).
        self.connections_per_endpoint: dict[str, int] = {}

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=2))

    async def shutdown(self) -> None:
        for server, _ in self.service_listeners.values():
            server.close()
        for task in list(self._connections):
            task.cancel()
        if self._http:
            await self._http.close()

    def ready_endpoints(self, namespace: str, service: dict, port: dict) -> list[tuple[str, int]]:
        selector = service["spec"].get("selector") or {}
        target = port.get("targetPort", port["port"])
        endpoints = []
        for container in self.kubelet.containers.values():
            pod = self.store.get("pods", container.namespace, container.pod)
            if (
                container.namespace == namespace
                and container.ready
                and not container.stopping
                and pod is not None
                and not pod_terminating(pod)
                and all(pod["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())
            ):
                if isinstance(target, str):
                    named = [
                        p["containerPort"]
                        for p in pod["spec"]["containers"][0].get("ports") or []
                        if p.get("name") == target
                    ]
                    endpoints.append((container.ip, named[0] if named else container.port))
                else:
                    endpoints.append((container.ip, int(target)))
        return endpoints

    async def reconcile(self) -> None:
        services = {(s["metadata"]["namespace"], s["metadata"]["name"]): s for s in self.store.list("services")}
        for key in list(self.service_listeners):
            if key[:2] not in services:
                server, _ = self.service_listeners.pop(key)
                server.close()
        for (ns, name), service in services.items():
            for port in service["spec"].get("ports") or []:
                key = (ns, name, port["port"])
                if key not in self.service_listeners:
                    await self._listen(ns, name, port["port"])
            self._write_endpoints(ns, service)

    def _write_endpoints(self, ns: str, service: dict) -> None:
        subsets = []
        for port in service["spec"].get("ports") or []:
            addresses = self.ready_endpoints(ns, service, port)
            if addresses:
                subsets.append(
                    {
                        "addresses": [{"ip": ip} for ip, _ in addresses],
                        "ports": [{"name": port.get("name", ""), "port": addresses[0][1], "protocol": "TCP"}],
                    }
                )
        name = service["metadata"]["name"]
        current = self.store.get("endpoints", ns, name)
        body = {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": name, "namespace": ns},
            "subsets": subsets,
        }
        if current is None:
            self.store.create("endpoints", ns, body)
        elif current.get("subsets", []) != subsets:
            current["subsets"] = subsets
            self.store.update("endpoints", ns, current)

    async def _listen(self, ns: str, name: str, port: int) -> None:
        """A stable local port per service port: a TCP forwarder to a random ready pod."""

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            self._connections.add(task)
            try:
                await self._forward_connection(reader, writer, ns, name, port)
            finally:
                self._connections.discard(task)

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        local_port = server.sockets[0].getsockname()[1]
        self.service_listeners[(ns, name, port)] = (server, local_port)
        log.info("service %s/%s:%s listens on 127.0.0.1:%s", ns, name, port, local_port)

    async def _forward_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, ns: str, name: str, port: int
    ) -> None:
        service = self.store.get("services", ns, name)
        spec_port = next((p for p in (service or {}).get("spec", {}).get("ports") or [] if p["port"] == port), None)
        endpoints = self.ready_endpoints(ns, service, spec_port) if spec_port else []
        random.shuffle(endpoints)
        upstream = None
        # A connection refused by a pod that is just going away is tried on the
        # next endpoint (a deliberate difference, see sandbox/README.md).
        for ip, target in endpoints:
            try:
                upstream = await asyncio.open_connection(ip, target)
            except OSError:
                continue
            key = f"{ip}:{target}"
            self.connections_per_endpoint[key] = self.connections_per_endpoint.get(key, 0) + 1
            break
        if upstream is None:
            # kube-proxy rejects connections to a service without endpoints: a reset here.
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.close()
            return
        up_reader, up_writer = upstream

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while True:
                    chunk = await source.read(65536)
                    if not chunk:
                        break
                    sink.write(chunk)
                    await sink.drain()
                if sink.can_write_eof():
                    sink.write_eof()
            except (ConnectionError, OSError):
                pass

        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            for w in (writer, up_writer):
                w.close()

    def service_url(self, ns: str, name: str, port: int) -> str | None:
        entry = self.service_listeners.get((ns, name, port))
        return f"http://127.0.0.1:{entry[1]}" if entry else None

    async def forward(
        self, request: web.Request, ns: str, name: str, port: str, path: str, strip_authorization: bool = False
    ) -> web.StreamResponse:
        """Forward one HTTP request to a random ready endpoint of a service.

        Like a proxy with connect-failure retries, a connection refused by a pod
        that is just going away is retried on the next endpoint before any byte
        of the request has reached a pod.
        """
        service = self.store.get("services", ns, name)
        if service is None:
            raise ApiError(404, "NotFound", f'services "{name}" not found')
        ports = service["spec"].get("ports") or []
        spec_port = next(
            (p for p in ports if str(p["port"]) == port or p.get("name") == port),
            ports[0] if ports and not port else None,
        )
        if spec_port is None:
            raise ApiError(503, "ServiceUnavailable", f'no service port "{port}" on service "{name}"')
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        if strip_authorization:
            # The API server consumes the Kubernetes credentials and, like
            # kube-apiserver, does not pass them on to the proxied service.
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        endpoints = self.ready_endpoints(ns, service, spec_port)
        if not endpoints:
            raise ApiError(503, "ServiceUnavailable", f'no endpoints available for service "{name}"')
        ordered = random.sample(endpoints, len(endpoints))
        last_error: Exception | None = None
        for ip, target in ordered:
            url = f"http://{ip}:{target}/{path}"
            try:
                upstream = await self._http.request(
                    request.method, url, params=request.query, headers=headers, data=body, allow_redirects=False
                )
            except aiohttp.ClientConnectorError as err:
                last_error = err
                continue
            async with upstream:
                response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
                for key, value in upstream.headers.items():
                    if key.lower() not in HOP_HEADERS and key.lower() != "content-encoding":
                        response.headers.add(key, value)
                await response.prepare(request)
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
                await response.write_eof()
                return response
        raise ApiError(503, "ServiceUnavailable", f"no endpoint of service {name} answered: {last_error}")
