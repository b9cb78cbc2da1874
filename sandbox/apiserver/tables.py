"""Server-side Table output (``meta.k8s.io/v1`` Table), what ``kubectl get`` prints."""

from __future__ import annotations

import datetime
from typing import Any, Callable

from aiohttp import web

from .resources import ResourceType
from .selectors import selector_string


def human_duration(seconds: float) -> str:
    """kubectl's age format (k8s.io/apimachinery duration.HumanDuration)."""
    s = int(seconds)
    if s < 0:
        return "<invalid>"
    minutes, hours, days = s // 60, s // 3600, s // 86400
    if s < 120:
        return f"{s}s"
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 192:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 730:
        return f"{days}d"
    return f"{days // 365}y{days % 365}d" if days < 2920 else f"{days // 365}y"


def _age(timestamp: str | None) -> str:
    try:
        then = datetime.datetime.fromisoformat(timestamp or "")
    except ValueError:
        return "<unknown>"
    return human_duration((datetime.datetime.now(datetime.timezone.utc) - then).total_seconds())


def _pod_status_reason(pod: dict) -> str:
    """The STATUS column of kubectl get pods: a waiting/terminated reason beats the phase."""
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Unknown"
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        waiting, terminated = state.get("waiting"), state.get("terminated")
        if waiting and waiting.get("reason"):
            reason = waiting["reason"]
        elif terminated:
            reason = terminated.get("reason") or f"ExitCode:{terminated.get('exitCode')}"
    if pod["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    return reason


def _containers(obj: dict) -> list[dict]:
    return ((obj.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []


def _service_ports(service: dict) -> str:
    ports = [f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in (service.get("spec") or {}).get("ports") or []]
    return ",".join(ports) or "<none>"


def _endpoint_addresses(endpoints: dict) -> str:
    pairs = [
        f"{a.get('ip')}:{p.get('port')}"
        for subset in endpoints.get("subsets") or []
        for a in subset.get("addresses") or []
        for p in subset.get("ports") or []
    ]
    return ",".join(pairs) or "<none>"


_NAME = ("Name", 0, lambda o: o["metadata"]["name"])
_AGE = ("Age", 0, lambda o: _age(o["metadata"].get("creationTimestamp")))


def _workload_columns(extra: list[tuple[str, Callable[[dict], Any]]]) -> list:
    return [
        _NAME,
        *((name, 0, cell) for name, cell in extra),
        _AGE,
        ("Containers", 1, lambda o: ",".join(c.get("name", "") for c in _containers(o))),
        ("Images", 1, lambda o: ",".join(c.get("image", "") for c in _containers(o))),
        ("Selector", 1, lambda o: selector_string((o.get("spec") or {}).get("selector") or {})),
    ]


def _status_field(name: str) -> Callable[[dict], int]:
    return lambda o: (o.get("status") or {}).get(name, 0)


def _subjects(kind: str) -> Callable[[dict], str]:
    """One kind of a binding's subjects, as rbac.SubjectsStrings lists them."""

    def cell(binding: dict) -> str:
        return ", ".join(
            f"{s.get('namespace', '')}/{s.get('name', '')}" if kind == "ServiceAccount" else s.get("name", "")
            for s in binding.get("subjects") or []
            if s.get("kind") == kind
        )

    return cell


def _hpa_targets(hpa: dict) -> str:
    """TARGETS of kubectl get hpa (printers.go formatHPAMetrics): current/target per metric; no
    HPA controller writes currentMetrics here, so the current value is <unknown>."""
    cells = []
    for metric in (hpa.get("spec") or {}).get("metrics") or []:
        resource = metric.get("resource") or metric.get("containerResource")
        if resource:
            target = resource.get("target") or {}
            wanted = (
                f"{target['averageUtilization']}%" if "averageUtilization" in target else target.get("averageValue")
            )
            cells.append(f"{resource.get('name')}: <unknown>/{wanted}")
        else:
            cells.append(f"<unknown>/{((metric.get('pods') or {}).get('target') or {}).get('averageValue', '')}")
    if len(cells) > 2:
        return ", ".join(cells[:2]) + f" + {len(cells) - 2} more..."
    return ", ".join(cells) or "<none>"


def _job_status(job: dict) -> str:
    """STATUS of kubectl get jobs (1.30+): the first true terminal condition, else Running."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("status") == "True" and condition.get("type") in ("Complete", "Failed", "Suspended"):
            return condition["type"]
    return "Running"


def _job_duration(job: dict) -> str:
    status = job.get("status") or {}
    try:
        start = datetime.datetime.fromisoformat(status["startTime"])
        end = datetime.datetime.fromisoformat(status["completionTime"]) if status.get("completionTime") else None
    except (KeyError, ValueError):
        return ""
    return human_duration(((end or datetime.datetime.now(datetime.timezone.utc)) - start).total_seconds())


_HPA_COLUMNS = [
    _NAME,
    (
        "Reference",
        0,
        lambda o: "{kind}/{name}".format(
            **{"kind": "", "name": "", **((o.get("spec") or {}).get("scaleTargetRef") or {})}
        ),
    ),
    ("Targets", 0, _hpa_targets),
    ("MinPods", 0, lambda o: (o.get("spec") or {}).get("minReplicas", 1)),
    ("MaxPods", 0, lambda o: (o.get("spec") or {}).get("maxReplicas", 0)),
    ("Replicas", 0, _status_field("currentReplicas")),
    _AGE,
]
_JOB_COLUMNS = _workload_columns(
    [
        ("Status", _job_status),
        (
            "Completions",
            lambda o: "{}/{}".format(_status_field("succeeded")(o), (o.get("spec") or {}).get("completions", 1)),
        ),
        ("Duration", _job_duration),
    ]
)

# Roles have no printer of their own: the server's default table convertor
# prints the name and the creation time.
_CREATED_AT = ("Created At", 0, lambda o: o["metadata"].get("creationTimestamp", ""))
_BINDING_COLUMNS = [
    _NAME,
    (
        "Role",
        0,
        lambda o: "{}/{}".format((o.get("roleRef") or {}).get("kind", ""), (o.get("roleRef") or {}).get("name", "")),
    ),
    _AGE,
    ("Users", 1, _subjects("User")),
    ("Groups", 1, _subjects("Group")),
    ("ServiceAccounts", 1, _subjects("ServiceAccount")),
]

# Columns (title, priority, cell) as the real server prints them; priority 1
# columns only show with -o wide. Unlisted resources get Name and Age.
TABLE_COLUMNS: dict[str, list[tuple[str, int, Callable[[dict], Any]]]] = {
    "namespaces": [_NAME, ("Status", 0, lambda o: (o.get("status") or {}).get("phase", "")), _AGE],
    "configmaps": [_NAME, ("Data", 0, lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {})), _AGE],
    "secrets": [_NAME, ("Type", 0, lambda o: o.get("type", "")), ("Data", 0, lambda o: len(o.get("data") or {})), _AGE],
    "pods": [
        _NAME,
        (
            "Ready",
            0,
            lambda o: "{}/{}".format(
                sum(1 for c in (o.get("status") or {}).get("containerStatuses") or [] if c.get("ready")),
                len((o.get("spec") or {}).get("containers") or []),
            ),
        ),
        ("Status", 0, _pod_status_reason),
        (
            "Restarts",
            0,
            lambda o: sum(c.get("restartCount", 0) for c in (o.get("status") or {}).get("containerStatuses") or []),
        ),
        _AGE,
        ("IP", 1, lambda o: (o.get("status") or {}).get("podIP") or "<none>"),
        ("Node", 1, lambda o: (o.get("spec") or {}).get("nodeName") or "<none>"),
    ],
    "services": [
        _NAME,
        ("Type", 0, lambda o: (o.get("spec") or {}).get("type", "")),
        ("Cluster-IP", 0, lambda o: (o.get("spec") or {}).get("clusterIP") or "<none>"),
        ("External-IP", 0, lambda o: "<none>"),
        ("Port(s)", 0, _service_ports),
        _AGE,
        (
            "Selector",
            1,
            lambda o: (
                ",".join(f"{k}={v}" for k, v in sorted(((o.get("spec") or {}).get("selector") or {}).items()))
                or "<none>"
            ),
        ),
    ],
    "endpoints": [_NAME, ("Endpoints", 0, _endpoint_addresses), _AGE],
    "events": [
        (
            "Last Seen",
            0,
            lambda o: _age(o.get("lastTimestamp") or o.get("eventTime") or o["metadata"].get("creationTimestamp")),
        ),
        ("Type", 0, lambda o: o.get("type", "")),
        ("Reason", 0, lambda o: o.get("reason", "")),
        (
            "Object",
            0,
            lambda o: "{}/{}".format(
                (o.get("involvedObject") or {}).get("kind", "").lower(), (o.get("involvedObject") or {}).get("name", "")
            ),
        ),
        ("Message", 0, lambda o: o.get("message", "")),
        ("Name", 1, lambda o: o["metadata"]["name"]),
    ],
    "deployments": _workload_columns(
        [
            (
                "Ready",
                lambda o: "{}/{}".format(
                    (o.get("status") or {}).get("readyReplicas", 0), (o.get("spec") or {}).get("replicas", 0)
                ),
            ),
            ("Up-to-date", _status_field("updatedReplicas")),
            ("Available", _status_field("availableReplicas")),
        ]
    ),
    "replicasets": _workload_columns(
        [
            ("Desired", lambda o: (o.get("spec") or {}).get("replicas", 0)),
            ("Current", _status_field("replicas")),
            ("Ready", _status_field("readyReplicas")),
        ]
    ),
    "horizontalpodautoscalers": _HPA_COLUMNS,
    "jobs": _JOB_COLUMNS,
    "serviceaccounts": [_NAME, ("Secrets", 0, lambda o: len(o.get("secrets") or [])), _AGE],
    "leases": [_NAME, ("Holder", 0, lambda o: (o.get("spec") or {}).get("holderIdentity") or ""), _AGE],
    "roles": [_NAME, _CREATED_AT],
    "clusterroles": [_NAME, _CREATED_AT],
    "rolebindings": _BINDING_COLUMNS,
    "clusterrolebindings": _BINDING_COLUMNS,
}


def to_table(rtype: ResourceType, objects: list[dict], include_object: str, resource_version: str) -> dict:
    """A meta.k8s.io/v1 Table, what ``kubectl get`` asks for to print columns."""
    columns = TABLE_COLUMNS.get(rtype.plural, [_NAME, _AGE])
    definitions = [
        {
            "name": title,
            "type": "date" if title == "Created At" else "string",
            "format": "name" if title == "Name" else "",
            "description": title,
            "priority": priority,
        }
        for title, priority, _ in columns
    ]
    rows = []
    for obj in objects:
        if include_object == "Object":
            row_object: dict | None = obj
        elif include_object == "None":
            row_object = None
        else:
            row_object = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}
        rows.append({"cells": [cell(obj) for _, _, cell in columns], "object": row_object})
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": definitions,
        "rows": rows,
    }


def wants_table(request: web.Request) -> bool:
    """Content negotiation: the first media range this server can produce wins.

    kubectl get asks for ``application/json;as=Table;g=meta.k8s.io;v=v1`` first
    and plain JSON as the fallback. Other ``as=`` forms (PartialObjectMetadata,
    aggregated discovery) are not produced here, so they are skipped and the
    client falls back to the plain JSON it also accepts.
    """
    for media_range in request.headers.get("Accept", "").split(","):
        media_type, *raw_params = (p.strip() for p in media_range.split(";"))
        params = dict(p.split("=", 1) for p in raw_params if "=" in p)
        if media_type not in ("application/json", "*/*", ""):
            continue
        if "as" not in params:
            return False
        if params["as"] == "Table" and params.get("g") == "meta.k8s.io" and params.get("v") == "v1":
            return True
    return False
