"""Defaulting and validation the way the real API server does it for the fields clients rely on."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any, Callable

from ..store import ApiError
from .decoding import check_decodable
from .resources import RBAC, ResourceType
from .selectors import labels_match, selector_requirements

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Namespaces and Services become DNS labels (<svc>.<ns>.svc); the rest may be subdomains.
_LABEL_NAMED = {"namespaces", "services"}
_RFC1123_NAME = (
    "a lowercase RFC 1123 name must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character"
)
_RFC1123_SUBDOMAIN = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)


class Invalid:
    """Collects field errors into one 422 Invalid Status, as the real server reports them."""

    def __init__(self, rtype: ResourceType, name: str) -> None:
        self.rtype, self.name = rtype, name
        self.causes: list[dict] = []

    def required(self, path: str, detail: str = "") -> None:
        message = "Required value" + (f": {detail}" if detail else "")
        self.causes.append({"reason": "FieldValueRequired", "message": message, "field": path})

    def invalid(self, path: str, value: Any, detail: str, shown: str | None = None) -> None:
        """``shown``: the value as Go prints it when JSON would not (structs, slices)."""
        if shown is None:
            shown = json.dumps(value) if not isinstance(value, str) else f'"{value}"'
        self.causes.append(
            {"reason": "FieldValueInvalid", "message": f"Invalid value: {shown}: {detail}", "field": path}
        )

    def not_supported(self, path: str, value: Any, supported: list[str]) -> None:
        listed = ", ".join(json.dumps(v) for v in supported)
        self.causes.append(
            {
                "reason": "FieldValueNotSupported",
                "message": f"Unsupported value: {json.dumps(value)}: supported values: {listed}",
                "field": path,
            }
        )

    def raise_if_any(self) -> None:
        if self.causes:
            raise self.error()

    def error(self) -> ApiError:
        """The 422 of the causes collected so far (errors.NewInvalid)."""
        errors = [f"{c['field']}: {c['message']}" for c in self.causes]
        listed = errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"
        kind = f"{self.rtype.kind}.{self.rtype.group}" if self.rtype.group else self.rtype.kind
        return ApiError(
            422,
            "Invalid",
            f'{kind} "{self.name}" is invalid: {listed}',
            {"name": self.name, "group": self.rtype.group, "kind": self.rtype.kind, "causes": self.causes},
        )


def fold_string_data(obj: dict) -> None:
    """Secret.stringData is write-only: it is merged into data, base64-encoded."""
    string_data = obj.pop("stringData", None)
    if not isinstance(string_data, dict):
        return
    data = obj.get("data") or {}
    for key, value in string_data.items():
        data[key] = base64.b64encode(value.encode()).decode() if isinstance(value, str) else value
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
        for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
            _default_probe(container.get(kind))
    for volume in spec.get("volumes") or []:
        # SetDefaults_ConfigMapVolumeSource / SetDefaults_SecretVolumeSource: mode 0644.
        for kind in ("configMap", "secret"):
            if isinstance(volume, dict) and isinstance(volume.get(kind), dict):
                volume[kind].setdefault("defaultMode", 420)


def _default_probe(probe: Any) -> None:
    """SetDefaults_Probe and SetDefaults_HTTPGetAction (k8s.io/kubernetes pkg/apis/core/v1/defaults.go)."""
    if not isinstance(probe, dict):
        return
    probe.setdefault("timeoutSeconds", 1)
    probe.setdefault("periodSeconds", 10)
    probe.setdefault("successThreshold", 1)
    probe.setdefault("failureThreshold", 3)
    http_get = probe.get("httpGet")
    if isinstance(http_get, dict):
        http_get.setdefault("path", "/")
        http_get.setdefault("scheme", "HTTP")


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
    elif rtype.plural in ("rolebindings", "clusterrolebindings"):
        # SetDefaults_RoleBinding/_Subject: the RBAC group for roleRef, User and Group.
        if isinstance(obj.get("roleRef"), dict) and not obj["roleRef"].get("apiGroup"):
            obj["roleRef"]["apiGroup"] = RBAC
        for subject in obj.get("subjects") or []:
            if isinstance(subject, dict) and not subject.get("apiGroup") and subject.get("kind") in ("User", "Group"):
                subject["apiGroup"] = RBAC
    elif rtype.plural == "jobs" and isinstance(spec, dict):
        # batch/v1 SetDefaults_Job (the selector and its controller-uid labels are left out).
        for field, value in (("parallelism", 1), ("completions", 1), ("backoffLimit", 6)):
            spec.setdefault(field, value)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        template_spec = (spec.get("template") or {}).get("spec")
        if isinstance(template_spec, dict):
            _default_pod_spec(template_spec)
    elif rtype.plural == "horizontalpodautoscalers" and isinstance(spec, dict):
        spec.setdefault("minReplicas", 1)  # autoscaling/v2 SetDefaults_HorizontalPodAutoscaler
    elif rtype.plural == "leases" and isinstance(spec, dict):
        # strategy and preferredHolder belong to the CoordinatedLeaderElection feature,
        # alpha and off in 1.32: the server drops them (dropDisabledFields).
        spec.pop("strategy", None)
        spec.pop("preferredHolder", None)


def reset_status_on_create(rtype: ResourceType, obj: dict) -> None:
    """A client cannot create an object with a status; the system writes it."""
    if rtype.plural in ("deployments", "replicasets", "jobs"):
        obj["status"] = {}
    elif rtype.plural == "horizontalpodautoscalers":
        # autoscaling/v2 HorizontalPodAutoscalerStatus: desiredReplicas has no omitempty, so the
        # real server answers it as 0 (and the Python client requires it).
        obj["status"] = {"desiredReplicas": 0}
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
    elif meta.get("name") and rtype.group == RBAC:
        for problem in path_segment_problems(meta["name"]):
            errors.invalid("metadata.name", meta["name"], problem)
    elif meta.get("name"):
        pattern = _DNS_LABEL if rtype.plural in _LABEL_NAMED else _DNS_SUBDOMAIN
        if len(meta["name"]) > 253 or not pattern.match(meta["name"]):
            errors.invalid("metadata.name", meta["name"], _RFC1123_NAME)
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
    elif rtype.plural == "leases":
        _validate_lease(obj.get("spec") or {}, errors)
    elif rtype.plural in ("roles", "clusterroles"):
        for i, rule in enumerate(obj.get("rules") or []):
            _validate_policy_rule(rule or {}, rtype.namespaced, f"rules[{i}]", errors)
        aggregation = obj.get("aggregationRule")
        if aggregation is not None and not (aggregation or {}).get("clusterRoleSelectors"):
            errors.required(
                "aggregationRule.clusterRoleSelectors",
                "at least one clusterRoleSelector required if aggregationRule is non-nil",
            )
    elif rtype.plural in ("rolebindings", "clusterrolebindings"):
        _validate_binding(obj, rtype, current, errors)
    errors.raise_if_any()


def path_segment_problems(name: str) -> list[str]:
    """path.IsValidPathSegmentName: what RBAC object names (e.g. system:basic-user) must meet."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


def _validate_lease(spec: dict, errors: Invalid) -> None:
    """coordination/validation: durations positive, transitions not negative."""
    duration, transitions = spec.get("leaseDurationSeconds"), spec.get("leaseTransitions")
    if duration is not None and duration <= 0:
        errors.invalid("spec.leaseDurationSeconds", duration, "must be greater than 0")
    if transitions is not None and transitions < 0:
        errors.invalid("spec.leaseTransitions", transitions, "must be greater than or equal to 0")


def _go_strings(values: list) -> str:
    return "[]string{" + ", ".join(json.dumps(v) for v in values) + "}"


def _validate_policy_rule(rule: dict, namespaced: bool, path: str, errors: Invalid) -> None:
    """rbac/validation ValidatePolicyRule."""
    if not rule.get("verbs"):
        errors.required(f"{path}.verbs", "verbs must contain at least one value")
    urls = rule.get("nonResourceURLs") or []
    if urls:
        if namespaced:
            errors.invalid(
                f"{path}.nonResourceURLs", urls, "namespaced rules cannot apply to non-resource URLs", _go_strings(urls)
            )
        if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
            errors.invalid(
                f"{path}.nonResourceURLs",
                urls,
                "rules cannot apply to both regular resources and non-resource URLs",
                _go_strings(urls),
            )
        return
    if not rule.get("apiGroups"):
        errors.required(f"{path}.apiGroups", "resource rules must supply at least one api group")
    if not rule.get("resources"):
        errors.required(f"{path}.resources", "resource rules must supply at least one resource")


def _role_ref_repr(ref: dict) -> str:
    """The internal rbac.RoleRef as Go's %#v prints it in "cannot change roleRef"."""
    return (
        f"rbac.RoleRef{{APIGroup:{json.dumps(ref.get('apiGroup', ''))}, Kind:{json.dumps(ref.get('kind', ''))}, "
        f"Name:{json.dumps(ref.get('name', ''))}}}"
    )


def _validate_binding(obj: dict, rtype: ResourceType, current: dict | None, errors: Invalid) -> None:
    """rbac/validation ValidateRoleBinding / ValidateClusterRoleBinding (+ their Update)."""
    ref = obj.get("roleRef") or {}
    if ref.get("apiGroup") != RBAC:
        errors.not_supported("roleRef.apiGroup", ref.get("apiGroup", ""), [RBAC])
    kinds = ["Role", "ClusterRole"] if rtype.namespaced else ["ClusterRole"]
    if ref.get("kind") not in kinds:
        errors.not_supported("roleRef.kind", ref.get("kind", ""), kinds)
    if not ref.get("name"):
        errors.required("roleRef.name")
    else:
        for problem in path_segment_problems(ref["name"]):
            errors.invalid("roleRef.name", ref["name"], problem)
    for i, subject in enumerate(obj.get("subjects") or []):
        _validate_subject(subject or {}, rtype.namespaced, f"subjects[{i}]", errors)
    if current is not None and (current.get("roleRef") or {}) != ref:
        errors.invalid("roleRef", ref, "cannot change roleRef", _role_ref_repr(ref))


def _validate_subject(subject: dict, namespaced: bool, path: str, errors: Invalid) -> None:
    name, kind, group = subject.get("name", ""), subject.get("kind", ""), subject.get("apiGroup", "")
    if not name:
        errors.required(f"{path}.name")
    if kind == "ServiceAccount":
        if name and (len(name) > 253 or not _DNS_SUBDOMAIN.match(name)):
            errors.invalid(f"{path}.name", name, _RFC1123_SUBDOMAIN)
        if group:
            errors.not_supported(f"{path}.apiGroup", group, [""])
        if not namespaced and not subject.get("namespace"):
            errors.required(f"{path}.namespace")
    elif kind in ("User", "Group"):
        if group != RBAC:
            errors.not_supported(f"{path}.apiGroup", group, [RBAC])
    else:
        errors.not_supported(f"{path}.kind", kind, ["ServiceAccount", "User", "Group"])


def _validate_data(obj: dict, rtype: ResourceType, errors: Invalid) -> None:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if obj.get("type") == "kubernetes.io/service-account-token" and not annotations.get(
        "kubernetes.io/service-account.name"
    ):
        # core/validation ValidateSecret: the token controller needs to know whose token it is.
        errors.required("metadata.annotations[kubernetes.io/service-account.name]")
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
        errors.invalid("spec.replicas", replicas, "must be greater than or equal to 0")
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
        errors.invalid("spec.template.metadata.labels", labels, "`selector` does not match template `labels`")
    if current is not None and selector != (current.get("spec") or {}).get("selector"):
        errors.invalid("spec.selector", selector, "field is immutable")
    template_spec = template.get("spec") if isinstance(template.get("spec"), dict) else {}
    if template_spec.get("restartPolicy", "Always") != "Always":
        errors.invalid("spec.template.spec.restartPolicy", template_spec["restartPolicy"], 'supported values: "Always"')
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


def prepare(rtype: ResourceType, obj: dict, current: dict | None, admit: Callable[[dict], None] | None = None) -> dict:
    """What every write does to an object before storing it: decode, fold, default,
    admit (``admit``, e.g. the RBAC escalation check, which the real server runs
    before validation), validate.

    Raises DecodeError (the caller words it: 400 for a body, 422 for a patch)
    for what the real server could not even decode.
    """
    check_decodable(rtype, obj)
    if rtype.plural == "secrets":
        fold_string_data(obj)
    apply_defaults(rtype, obj)
    if admit is not None:
        admit(obj)
    validate(rtype, obj, current)
    return obj
