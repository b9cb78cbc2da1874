"""Defaulting and validation the way the real API server does it for the fields clients rely on."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from ..store import ApiError
from .resources import ResourceType
from .selectors import labels_match, selector_requirements

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Namespaces and Services become DNS labels (<svc>.<ns>.svc); the rest may be subdomains.
_LABEL_NAMED = {"namespaces", "services"}


class Invalid:
    """Collects field errors into one 422 Invalid Status, as the real server reports them."""

    def __init__(self, rtype: ResourceType, name: str) -> None:
        self.rtype, self.name = rtype, name
        self.causes: list[dict] = []

    def required(self, path: str, detail: str = "") -> None:
        message = "Required value" + (f": {detail}" if detail else "")
        self.causes.append({"reason": "FieldValueRequired", "message": message, "field": path})

    def invalid(self, path: str, value: Any, detail: str) -> None:
        shown = json.dumps(value) if not isinstance(value, str) else f'"{value}"'
        self.causes.append({"reason": "FieldValueInvalid",
                            "message": f"Invalid value: {shown}: {detail}", "field": path})

    def raise_if_any(self) -> None:
        if not self.causes:
            return
        errors = [f"{c['field']}: {c['message']}" for c in self.causes]
        listed = errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"
        kind = f"{self.rtype.kind}.{self.rtype.group}" if self.rtype.group else self.rtype.kind
        raise ApiError(422, "Invalid", f'{kind} "{self.name}" is invalid: {listed}',
                       {"name": self.name, "group": self.rtype.group, "kind": self.rtype.kind,
                        "causes": self.causes})


def fold_string_data(obj: dict) -> None:
    """Secret.stringData is write-only: it is merged into data, base64-encoded."""
    string_data = obj.pop("stringData", None)
    if not isinstance(string_data, dict):
        return
    data = obj.get("data") or {}
    for key, value in string_data.items():
        data[key] = (base64.b64encode(value.encode()).decode()
                     if isinstance(value, str) else value)
    obj["data"] = data


def _default_pod_spec(spec: dict) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    for container in spec.get("containers") or []:
        if not isinstance(container, dict):
            continue
        image = str(container.get("image", ""))
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        # Kubernetes pulls ":latest" and untagged images always, others if absent.
        container.setdefault("imagePullPolicy", "Always" if tag in ("", "latest") else "IfNotPresent")
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("resources", {})
        for port in container.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")


def apply_defaults(rtype: ResourceType, obj: dict) -> None:
    """Defaults the real API server fills in on every write of these fields."""
    spec = obj.get("spec")
    if rtype.plural in ("deployments", "replicasets") and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        if rtype.plural == "deployments":
            spec.setdefault("progressDeadlineSeconds", 600)
            strategy = spec.setdefault("strategy", {})
            strategy.setdefault("type", "RollingUpdate")
            if strategy["type"] == "RollingUpdate":
                rolling = strategy.setdefault("rollingUpdate", {})
                rolling.setdefault("maxUnavailable", "25%")
                rolling.setdefault("maxSurge", "25%")
        template_spec = (spec.get("template") or {}).get("spec")
        if isinstance(template_spec, dict):
            _default_pod_spec(template_spec)
    elif rtype.plural == "pods" and isinstance(spec, dict):
        _default_pod_spec(spec)
    elif rtype.plural == "services" and isinstance(spec, dict):
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        for port in spec.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")
                port.setdefault("targetPort", port.get("port"))
    elif rtype.plural == "secrets" and not obj.get("type"):
        obj["type"] = "Opaque"  # also when a protobuf body carries the empty string


def reset_status_on_create(rtype: ResourceType, obj: dict) -> None:
    """A client cannot create an object with a status; the system writes it."""
    if rtype.plural in ("deployments", "replicasets"):
        obj["status"] = {}
    elif rtype.plural == "pods":
        obj["status"] = {"phase": "Pending"}
    elif rtype.plural == "namespaces":
        obj["status"] = {"phase": "Active"}
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])


def validate(rtype: ResourceType, obj: dict, current: dict | None = None) -> None:
    """Reject what the real API server rejects for the fields clients rely on (422)."""
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    name = meta.get("name") or meta.get("generateName") or ""
    errors = Invalid(rtype, name)
    if not meta.get("name") and not meta.get("generateName"):
        errors.required("metadata.name", "name or generateName is required")
    elif meta.get("name"):
        pattern = _DNS_LABEL if rtype.plural in _LABEL_NAMED else _DNS_SUBDOMAIN
        if len(meta["name"]) > 253 or not pattern.match(meta["name"]):
            errors.invalid("metadata.name", meta["name"],
                           "a lowercase RFC 1123 name must consist of lower case alphanumeric "
                           "characters, '-' or '.', and must start and end with an alphanumeric "
                           "character")
    for key in ("labels", "annotations"):
        for label, value in (meta.get(key) or {}).items():
            if not isinstance(value, str):
                errors.invalid(f"metadata.{key}.{label}", value, "must be a string")
    if rtype.plural in ("configmaps", "secrets"):
        _validate_data(obj, rtype, errors)
    elif rtype.plural in ("deployments", "replicasets"):
        _validate_workload(obj, current, errors)
    elif rtype.plural == "pods":
        _validate_containers((obj.get("spec") or {}).get("containers"), "spec.containers", errors)
    elif rtype.plural == "services":
        for i, port in enumerate((obj.get("spec") or {}).get("ports") or []):
            if not isinstance(port, dict) or not isinstance(port.get("port"), int):
                errors.required(f"spec.ports[{i}].port")
    errors.raise_if_any()


def _validate_data(obj: dict, rtype: ResourceType, errors: Invalid) -> None:
    for section in ("data", "binaryData"):
        for key, value in (obj.get(section) or {}).items():
            if not isinstance(value, str):
                errors.invalid(f"{section}[{key}]", value, "must be a string")
            elif rtype.plural == "secrets" or section == "binaryData":
                try:
                    base64.b64decode(value, validate=True)
                except binascii.Error:
                    errors.invalid(f"{section}[{key}]", "<value omitted>", "illegal base64 data")


def _validate_workload(obj: dict, current: dict | None, errors: Invalid) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        errors.required("spec")
        return
    replicas = spec.get("replicas")
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        errors.invalid("spec.replicas", replicas,
                       "must be greater than or equal to 0")
    selector = spec.get("selector")
    template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    labels = (template.get("metadata") or {}).get("labels")
    if not isinstance(selector, dict):
        errors.required("spec.selector")
    elif not selector.get("matchLabels") and not selector.get("matchExpressions"):
        errors.invalid("spec.selector", selector, "empty selector is invalid for deployment")
    if not labels:
        errors.required("spec.template.metadata.labels")
    elif isinstance(selector, dict) and not labels_match(selector_requirements(selector), labels):
        errors.invalid("spec.template.metadata.labels", labels,
                       "`selector` does not match template `labels`")
    if current is not None and selector != (current.get("spec") or {}).get("selector"):
        errors.invalid("spec.selector", selector, "field is immutable")
    template_spec = template.get("spec") if isinstance(template.get("spec"), dict) else {}
    if template_spec.get("restartPolicy", "Always") != "Always":
        errors.invalid("spec.template.spec.restartPolicy", template_spec["restartPolicy"],
                       'supported values: "Always"')
    _validate_containers(template_spec.get("containers"), "spec.template.spec.containers", errors)


def _validate_containers(containers: Any, path: str, errors: Invalid) -> None:
    if not isinstance(containers, list) or not containers:
        errors.required(path)
        return
    for i, container in enumerate(containers):
        if not isinstance(container, dict):
            errors.invalid(f"{path}[{i}]", container, "must be an object")
            continue
        if not container.get("name"):
            errors.required(f"{path}[{i}].name")
        if not container.get("image"):
            errors.required(f"{path}[{i}].image")


def prepare(rtype: ResourceType, obj: dict, current: dict | None) -> dict:
    """What every write does to an object before storing it: fold, default, validate."""
    if rtype.plural == "secrets":
        fold_string_data(obj)
    apply_defaults(rtype, obj)
    validate(rtype, obj, current)
    return obj
