"""Resource URLs (/api/v1/namespaces/ns/pods/name/log and friends) parsed into routes."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..store import Store, not_found
from .errors import not_served
from .resources import ResourceType, find_resource


@dataclass
class ApiRoute:
    """One parsed resource URL."""

    rtype: ResourceType
    namespace: str | None  # None: cluster-scoped resource, or a list across namespaces
    name: str | None = None
    subresource: str | None = None
    tail: list[str] = field(default_factory=list)  # what follows services/x/proxy/

    @property
    def store_namespace(self) -> str:
        return self.namespace or ""


def parse_route(group: str, version: str, rest: list[str]) -> ApiRoute:
    """The route of the URL segments after /api/<version> or /apis/<group>/<version>."""
    # namespaces/<ns>/<resource>/... unless <resource> is a subresource of a
    # namespace (namespaces/<ns>/status), which is the cluster-scoped form.
    if rest[0] == "namespaces" and len(rest) >= 3:
        rtype = find_resource(group, version, rest[2])
        if rtype is not None and rtype.namespaced:
            name = rest[3] if len(rest) > 3 else None
            sub = rest[4] if len(rest) > 4 else None
            if sub is not None and rtype.subresource(sub) is None:
                raise not_served()
            if sub != "proxy" and len(rest) > 5:
                raise not_served()
            return ApiRoute(rtype, rest[1], name, sub, rest[5:])
    rtype = find_resource(group, version, rest[0])
    if rtype is None or len(rest) > 3 or (rtype.namespaced and len(rest) > 1):
        raise not_served()
    sub = rest[2] if len(rest) > 2 else None
    if sub is not None and rtype.subresource(sub) is None:
        raise not_served()
    return ApiRoute(rtype, None, rest[1] if len(rest) > 1 else None, sub)


def current_object(store: Store, route: ApiRoute) -> dict:
    """The object a route names, or a NotFound naming the group as the real server words it."""
    obj = store.get(route.rtype.plural, route.store_namespace, route.name)
    if obj is None:
        raise not_found(route.rtype.plural, route.name, route.rtype.group)
    return obj
