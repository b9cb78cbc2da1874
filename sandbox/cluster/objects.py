"""Object helpers the controllers and the kubelet share: ownership, pod state, events."""

from __future__ import annotations

import datetime
import logging
import time

from ..store import ApiError, Store, now_rfc3339

log = logging.getLogger("sandbox.cluster")


def parse_time(value: str) -> float:
    return datetime.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()


def owned_by(obj: dict, owner: dict) -> bool:
    return any(ref.get("uid") == owner["metadata"]["uid"] for ref in obj["metadata"].get("ownerReferences") or [])


def owner_ref(owner: dict, kind: str, api_version: str) -> dict:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def condition(conditions: list[dict], type_: str) -> dict | None:
    return next((c for c in conditions if c.get("type") == type_), None)


def pod_ready(pod: dict) -> bool:
    cond = condition((pod.get("status") or {}).get("conditions") or [], "Ready")
    return bool(cond and cond.get("status") == "True")


def pod_terminating(pod: dict) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp"))


def pod_available(pod: dict, min_ready: int) -> bool:
    """Ready for at least minReadySeconds, and not going away."""
    if not pod_ready(pod) or pod_terminating(pod):
        return False
    cond = condition(pod["status"]["conditions"], "Ready")
    return time.time() - parse_time(cond["lastTransitionTime"]) >= min_ready


def pods_of(store: Store, rs: dict) -> list[dict]:
    """The pods a ReplicaSet owns that are not terminating."""
    return [
        pod for pod in store.list("pods", rs["metadata"]["namespace"]) if owned_by(pod, rs) and not pod_terminating(pod)
    ]


def available_pods(store: Store, rs: dict, min_ready: int) -> int:
    return sum(1 for pod in pods_of(store, rs) if pod_available(pod, min_ready))


def record_event(store: Store, obj: dict, reason: str, message: str, type_: str = "Normal") -> None:
    """A core/v1 Event about ``obj``, as the controllers and the kubelet write them."""
    meta = obj["metadata"]
    now = now_rfc3339()
    try:
        store.create(
            "events",
            meta["namespace"],
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": f"{meta['name']}.{time.time_ns():x}"},
                "involvedObject": {
                    "kind": obj.get("kind", ""),
                    "name": meta["name"],
                    "namespace": meta["namespace"],
                    "uid": meta.get("uid"),
                    "apiVersion": obj.get("apiVersion", ""),
                },
                "reason": reason,
                "message": message,
                "type": type_,
                "count": 1,
                "firstTimestamp": now,
                "lastTimestamp": now,
                "source": {"component": "sandbox-controller"},
            },
        )
    except ApiError:
        log.debug("event for %s not recorded", meta["name"])
