"""In-memory object store of the sandbox cluster emulator.

The store is the single source of truth shared by the HTTP API server and the
in-process controllers (deployment controller, kubelet, service endpoints).
It implements the bits of Kubernetes object semantics that real clients rely
on: uid, creationTimestamp, a cluster-wide monotonically increasing
resourceVersion, metadata.generation bumped on spec changes only, optimistic
concurrency (409 on a stale resourceVersion), and a watch event log so that a
client can list at resourceVersion N and then watch from N without missing an
event.
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import uuid
from dataclasses import dataclass, field
from typing import Callable

# Resources whose spec changes bump metadata.generation (Kubernetes does this for
# every resource with a spec/status split; ConfigMaps and Secrets have neither).
GENERATION_RESOURCES = {"deployments", "replicasets", "horizontalpodautoscalers", "jobs"}

# The API group of each resource outside the core group. Errors name a resource
# as <plural>.<group>, like the real server's (k8s.io/apimachinery/pkg/api/errors
# words them with GroupResource.String()); the API server's registry must agree
# (tests/sandbox/test_apiserver_logic.py checks it).
API_GROUPS = {
    "deployments": "apps",
    "replicasets": "apps",
    "horizontalpodautoscalers": "autoscaling",
    "jobs": "batch",
    "leases": "coordination.k8s.io",
    "roles": "rbac.authorization.k8s.io",
    "rolebindings": "rbac.authorization.k8s.io",
    "clusterroles": "rbac.authorization.k8s.io",
    "clusterrolebindings": "rbac.authorization.k8s.io",
}

# How many events a watch can replay from an older resourceVersion before the
# client has to re-list (the real API server answers 410 Gone in that case).
EVENT_LOG_SIZE = 5000


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class ApiError(Exception):
    """An error that maps onto a Kubernetes Status response."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details  # None: no details at all; {} : an empty details object

    def status(self) -> dict:
        """The Status body, fields in metav1.Status order; empty details fields are
        left out as Go's omitempty leaves them out."""
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details is not None:
            body["details"] = {k: v for k, v in self.details.items() if v not in ("", None, [])}
        body["code"] = self.code
        return body


def qualified(resource: str, group: str | None = None) -> str:
    """``<plural>.<group>`` (just ``<plural>`` in the core group), as errors name a resource."""
    group = API_GROUPS.get(resource, "") if group is None else group
    return f"{resource}.{group}" if group else resource


def details(resource: str, name: str, group: str | None = None) -> dict:
    return {"name": name, "group": API_GROUPS.get(resource, "") if group is None else group, "kind": resource}


def not_found(resource: str, name: str, group: str | None = None) -> ApiError:
    return ApiError(404, "NotFound", f'{qualified(resource, group)} "{name}" not found', details(resource, name, group))


def already_exists(resource: str, name: str, group: str | None = None) -> ApiError:
    """The 409 a create of an existing name gets (apimachinery errors.NewAlreadyExists)."""
    return ApiError(
        409, "AlreadyExists", f'{qualified(resource, group)} "{name}" already exists', details(resource, name, group)
    )


# k8s.io/apiserver/pkg/storage/errors.go OptimisticLockErrorMsg: why a stale write is refused.
OPTIMISTIC_LOCK_MESSAGE = "the object has been modified; please apply your changes to the latest version and try again"


def conflict(resource: str, name: str, group: str | None = None, cause: str = OPTIMISTIC_LOCK_MESSAGE) -> ApiError:
    """The 409 a write gets that lost a race (errors.NewConflict); by default from a stale resourceVersion."""
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified(resource, group)} "{name}": {cause}',
        details(resource, name, group),
    )


@dataclass
class Event:
    resource_version: int
    type: str  # ADDED, MODIFIED, DELETED
    resource: str
    namespace: str
    obj: dict


@dataclass(eq=False)  # watchers are compared and hashed by identity
class Watcher:
    resource: str
    namespace: str | None
    predicate: Callable[[dict], bool]
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)


class Store:
    """Objects keyed by (resource, namespace, name); namespace is "" for cluster scope."""

    def __init__(self) -> None:
        self._objects: dict[tuple[str, str, str], dict] = {}
        self._rv = 0
        self._events: list[Event] = []
        self._watchers: list[Watcher] = []

    # -- reading ---------------------------------------------------------
    @property
    def resource_version(self) -> int:
        return self._rv

    def get(self, resource: str, namespace: str, name: str) -> dict | None:
        obj = self._objects.get((resource, namespace, name))
        return copy.deepcopy(obj) if obj is not None else None

    def list(
        self, resource: str, namespace: str | None = None, predicate: Callable[[dict], bool] | None = None
    ) -> list[dict]:
        items = [
            copy.deepcopy(obj)
            for (res, ns, _), obj in sorted(self._objects.items())
            if res == resource and (namespace is None or ns == namespace) and (predicate is None or predicate(obj))
        ]
        return items

    # -- writing ---------------------------------------------------------
    def _next_rv(self) -> int:
        self._rv += 1
        return self._rv

    def create(self, resource: str, namespace: str, obj: dict, dry_run: bool = False) -> dict:
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        name = meta.get("name")
        if not name and meta.get("generateName"):
            name = meta["generateName"] + uuid.uuid4().hex[:5]
            meta["name"] = name
        if not name:
            raise ApiError(
                422, "Invalid", f"{resource}: metadata.name: Required value: name or generateName is required"
            )
        key = (resource, namespace, name)
        if key in self._objects:
            raise already_exists(resource, name)
        if namespace:
            meta["namespace"] = namespace
            if ("namespaces", "", namespace) not in self._objects and resource != "namespaces":
                raise not_found("namespaces", namespace)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339()
        meta.pop("resourceVersion", None)
        meta.pop("deletionTimestamp", None)
        if resource in GENERATION_RESOURCES:
            meta["generation"] = 1
        if dry_run:
            meta["resourceVersion"] = str(self._rv)
            return obj
        meta["resourceVersion"] = str(self._next_rv())
        self._objects[key] = obj
        self._emit("ADDED", resource, namespace, obj)
        return copy.deepcopy(obj)

    def update(self, resource: str, namespace: str, obj: dict, *, subresource: str = "", dry_run: bool = False) -> dict:
        """Replace an object (PUT semantics).

        A resourceVersion in the new object must match the stored one (optimistic
        concurrency). The main resource keeps the stored status; the status
        subresource keeps the stored spec and metadata apart from annotations/labels.
        """
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        name = meta.get("name")
        key = (resource, namespace, name)
        current = self._objects.get(key)
        if current is None:
            raise not_found(resource, name)
        sent_rv = meta.get("resourceVersion")
        if sent_rv and sent_rv != current["metadata"]["resourceVersion"]:
            raise conflict(resource, name)
        if subresource == "status":
            new = copy.deepcopy(current)
            new["status"] = obj.get("status", {})
        else:
            new = obj
            for keep in ("uid", "creationTimestamp", "generation", "deletionTimestamp"):
                if keep in current["metadata"]:
                    new["metadata"][keep] = current["metadata"][keep]
                else:
                    new["metadata"].pop(keep, None)
            if "status" in current and resource in GENERATION_RESOURCES | {"pods"}:
                new["status"] = current["status"]
            if resource in GENERATION_RESOURCES and new.get("spec") != current.get("spec"):
                new["metadata"]["generation"] = current["metadata"].get("generation", 1) + 1
        if namespace:
            new["metadata"]["namespace"] = namespace
        else:
            new["metadata"].pop("namespace", None)
        if new == current:
            return copy.deepcopy(current)
        if dry_run:
            return new
        new["metadata"]["resourceVersion"] = str(self._next_rv())
        self._objects[key] = new
        self._emit("MODIFIED", resource, namespace, new)
        return copy.deepcopy(new)

    def mark_deleting(self, resource: str, namespace: str, name: str, grace_seconds: int) -> dict | None:
        """Graceful deletion: set deletionTimestamp; the kubelet removes the object later."""
        current = self._objects.get((resource, namespace, name))
        if current is None or current["metadata"].get("deletionTimestamp"):
            return copy.deepcopy(current) if current else None
        current["metadata"]["deletionTimestamp"] = now_rfc3339()
        current["metadata"]["deletionGracePeriodSeconds"] = grace_seconds
        current["metadata"]["resourceVersion"] = str(self._next_rv())
        self._emit("MODIFIED", resource, namespace, current)
        return copy.deepcopy(current)

    def delete(self, resource: str, namespace: str, name: str, dry_run: bool = False) -> dict:
        key = (resource, namespace, name)
        current = self._objects.get(key)
        if current is None:
            raise not_found(resource, name)
        if dry_run:
            return copy.deepcopy(current)
        del self._objects[key]
        current["metadata"]["resourceVersion"] = str(self._next_rv())
        self._emit("DELETED", resource, namespace, current)
        if resource == "namespaces":
            for other in [k for k in self._objects if k[1] == name]:
                self.delete(other[0], other[1], other[2])
        return copy.deepcopy(current)

    # -- watching --------------------------------------------------------
    def _emit(self, type_: str, resource: str, namespace: str, obj: dict) -> None:
        event = Event(int(obj["metadata"]["resourceVersion"]), type_, resource, namespace, copy.deepcopy(obj))
        self._events.append(event)
        if len(self._events) > EVENT_LOG_SIZE:
            del self._events[: len(self._events) - EVENT_LOG_SIZE]
        for watcher in list(self._watchers):
            if self._matches(watcher, event):
                watcher.queue.put_nowait(event)

    @staticmethod
    def _matches(watcher: Watcher, event: Event) -> bool:
        if watcher.resource == "*":
            return True
        return (
            event.resource == watcher.resource
            and (watcher.namespace is None or event.namespace == watcher.namespace)
            and watcher.predicate(event.obj)
        )

    def watch(
        self, resource: str, namespace: str | None, since: int | None, predicate: Callable[[dict], bool]
    ) -> Watcher:
        """Subscribe to events; replay those after resourceVersion ``since``.

        Raises 410 Gone when ``since`` is older than the event log, as the real
        API server does, so that clients re-list.
        """
        watcher = Watcher(resource, namespace, predicate)
        if since is not None and since < self._rv:
            if self._events and since < self._events[0].resource_version - 1:
                raise ApiError(410, "Expired", f"too old resource version: {since} ({self._rv})")
            for event in self._events:
                if event.resource_version > since and self._matches(watcher, event):
                    watcher.queue.put_nowait(event)
        self._watchers.append(watcher)
        return watcher

    def unwatch(self, watcher: Watcher) -> None:
        if watcher in self._watchers:
            self._watchers.remove(watcher)

    def changes(self) -> Watcher:
        """A watcher on every resource, for the in-process controllers."""
        watcher = Watcher("*", None, lambda obj: True)
        self._watchers.append(watcher)
        return watcher
