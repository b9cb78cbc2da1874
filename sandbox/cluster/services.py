"""Services: Endpoints from the ready pods, and a local listener per service port.

Each service port gets a stable 127.0.0.1 port that forwards to the ready pods
(round robin); the API server's service proxy uses the same forwarder.
"""

from __future__ import annotations

import logging

import aiohttp
from aiohttp import web

from ..store import ApiError, Store
from .kubelet import Kubelet
from .objects import pod_terminating

log = logging.getLogger("sandbox.cluster")

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
               "proxy-authorization", "proxy-authenticate", "host", "content-length"}


class Services:
    """Endpoints objects, service listeners and the forwarder behind them."""

    def __init__(self, store: Store, kubelet: Kubelet) -> None:
        self.store = store
        self.kubelet = kubelet  # whose containers' readiness decides the endpoints
        self.service_listeners: dict[tuple[str, str, int], tuple[web.AppRunner, int]] = {}
        self._http: aiohttp.ClientSession | None = None
        self._rr = 0

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=2))

    async def shutdown(self) -> None:
        for runner, _ in self.service_listeners.values():
            await runner.cleanup()
        if self._http:
            await self._http.close()

    def ready_endpoints(self, namespace: str, service: dict, port: dict) -> list[tuple[str, int]]:
        selector = service["spec"].get("selector") or {}
        target = port.get("targetPort", port["port"])
        endpoints = []
        for container in self.kubelet.containers.values():
            pod = self.store.get("pods", container.namespace, container.pod)
            if (container.namespace == namespace and container.ready and not container.stopping
                    and pod is not None and not pod_terminating(pod)
                    and all(pod["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())):
                if isinstance(target, str):
                    named = [p["containerPort"] for p in pod["spec"]["containers"][0].get("ports") or []
                             if p.get("name") == target]
                    endpoints.append((container.ip, named[0] if named else container.port))
                else:
                    endpoints.append((container.ip, int(target)))
        return endpoints

    async def reconcile(self) -> None:
        services = {(s["metadata"]["namespace"], s["metadata"]["name"]): s for s in self.store.list("services")}
        for key in list(self.service_listeners):
            if key[:2] not in services:
                runner, _ = self.service_listeners.pop(key)
                await runner.cleanup()
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
                subsets.append({"addresses": [{"ip": ip} for ip, _ in addresses],
                                "ports": [{"name": port.get("name", ""), "port": addresses[0][1],
                                           "protocol": "TCP"}]})
        name = service["metadata"]["name"]
        current = self.store.get("endpoints", ns, name)
        body = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name, "namespace": ns},
                "subsets": subsets}
        if current is None:
            self.store.create("endpoints", ns, body)
        elif current.get("subsets", []) != subsets:
            current["subsets"] = subsets
            self.store.update("endpoints", ns, current)

    async def _listen(self, ns: str, name: str, port: int) -> None:
        """A stable local port per service port, forwarding to ready pods."""
        async def handler(request: web.Request) -> web.StreamResponse:
            try:
                return await self.forward(request, ns, name, str(port), request.match_info["path"])
            except ApiError as err:
                return web.json_response(err.status(), status=err.code)

        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        local_port = site._server.sockets[0].getsockname()[1]
        self.service_listeners[(ns, name, port)] = (runner, local_port)
        log.info("service %s/%s:%s listens on 127.0.0.1:%s", ns, name, port, local_port)

    def service_url(self, ns: str, name: str, port: int) -> str | None:
        entry = self.service_listeners.get((ns, name, port))
        return f"http://127.0.0.1:{entry[1]}" if entry else None

    async def forward(self, request: web.Request, ns: str, name: str, port: str, path: str,
                      strip_authorization: bool = False) -> web.StreamResponse:
        """Forward one HTTP request to a ready endpoint of a service (round robin).

        Like a proxy with connect-failure retries, a connection refused by a pod
        that is just going away is retried on the next endpoint before any byte
        of the request has reached a pod.
        """
        service = self.store.get("services", ns, name)
        if service is None:
            raise ApiError(404, "NotFound", f'services "{name}" not found')
        ports = service["spec"].get("ports") or []
        spec_port = next((p for p in ports if str(p["port"]) == port or p.get("name") == port),
                         ports[0] if ports and not port else None)
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
        self._rr += 1
        ordered = endpoints[self._rr % len(endpoints):] + endpoints[: self._rr % len(endpoints)]
        last_error: Exception | None = None
        for ip, target in ordered:
            url = f"http://{ip}:{target}/{path}"
            try:
                upstream = await self._http.request(request.method, url, params=request.query,
                                                    headers=headers, data=body, allow_redirects=False)
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
