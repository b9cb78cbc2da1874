"""Authorization: request attributes and the RBAC authorizer, as kube-apiserver has them.

* :func:`request_attributes` derives verb, API group, resource, subresource,
  namespace and name from a request the way k8s.io/apiserver's
  RequestInfoFactory does (endpoints/request/requestinfo.go): GET on a
  collection is ``list`` or ``watch`` (``?watch=`` anything but 0/false), and
  a list/watch with ``fieldSelector=metadata.name=X`` is authorized as a
  request for the name X; DELETE on a collection is ``deletecollection``;
  ``namespaces/<ns>`` itself counts as in namespace <ns>; paths other than
  /api/<v>/... and /apis/<g>/<v>/... are non-resource requests (verb = the
  lower-case HTTP method).
* :class:`RBACAuthorizer` evaluates them like plugin/pkg/auth/authorizer/rbac:
  members of ``system:masters`` are allowed before RBAC is asked (the
  privileged-group authorizer); otherwise every ClusterRoleBinding and, for a
  namespaced request, every RoleBinding of that namespace whose subjects
  include the user grants its role's rules. A rule matches on verbs, API
  groups, resources (``*``, ``<resource>/<subresource>``, ``*/<subresource>``),
  resourceNames (a rule with names never matches a request without one:
  create, or a list without a name field selector) or nonResourceURLs (exact,
  or a ``*`` suffix). A binding to a missing role grants nothing, and the
  denial says so ("RBAC: role.rbac.authorization.k8s.io "x" not found").
* :func:`forbidden` words the 403 like responsewriters.Forbidden and
  apierrors.NewForbidden do.
* :func:`ensure_bootstrap_policy` creates the ClusterRoles and
  ClusterRoleBindings every cluster starts with that matter here
  (bootstrappolicy/policy.go): cluster-admin for system:masters, and
  system:discovery, system:basic-user and system:public-info-viewer for every
  authenticated user, so that discovery, ``kubectl auth can-i`` and
  ``kubectl auth whoami`` work for any ServiceAccount.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterator, Mapping

from ..store import ApiError, Store, not_found
from .authn import UserInfo, service_account_user
from .selectors import parse_field_selector, parse_label_selector

RBAC_GROUP = "rbac.authorization.k8s.io"

_API_PREFIXES = ("api", "apis")
_SPECIAL_VERBS = ("proxy", "watch")  # the deprecated /api/v1/watch/... and /proxy/... paths
_NAMESPACE_SUBRESOURCES = ("status", "finalize")
_METHOD_VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


@dataclass(frozen=True)
class Attributes:
    """authorizer.Attributes: what a request (or an access review) asks to do."""

    user: UserInfo
    verb: str
    resource_request: bool
    path: str = ""
    api_group: str = ""
    api_version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""


def request_attributes(user: UserInfo, method: str, path: str, query: Mapping[str, str]) -> Attributes:
    """The attributes kube-apiserver authorizes a request by."""
    parts = path.strip("/").split("/") if path.strip("/") else []
    non_resource = Attributes(user, method.lower(), False, path=path)
    if len(parts) < 3 or parts[0] not in _API_PREFIXES:
        return non_resource
    prefix, parts = parts[0], parts[1:]
    group = ""
    if prefix == "apis":
        if len(parts) < 3:
            return non_resource
        group, parts = parts[0], parts[1:]
    version, parts = parts[0], parts[1:]
    if parts[0] in _SPECIAL_VERBS:
        if len(parts) < 2:
            return Attributes(user, method.lower(), True, path=path, api_group=group, api_version=version)
        verb, parts = parts[0], parts[1:]
    else:
        verb = _METHOD_VERBS.get(method, "")
    namespace = ""
    if parts[0] == "namespaces" and len(parts) > 1:
        namespace = parts[1]
        if len(parts) > 2 and parts[2] not in _NAMESPACE_SUBRESOURCES:
            parts = parts[2:]
    resource = parts[0]
    name = parts[1] if len(parts) > 1 else ""
    subresource = parts[2] if len(parts) > 2 and verb != "proxy" else ""
    if not name and verb == "get":
        verb = "watch" if is_watch(query) else "list"
        name = _name_from_field_selector(query)
    if not name and verb == "delete":
        verb = "deletecollection"
    return Attributes(
        user,
        verb,
        True,
        path=path,
        api_group=group,
        api_version=version,
        namespace=namespace,
        resource=resource,
        subresource=subresource,
        name=name,
    )


def is_watch(query: Mapping[str, str]) -> bool:
    """``?watch=`` as ListOptions decodes it: anything but absent, 0 or false is true."""
    watch = query.get("watch")
    return watch is not None and watch.lower() not in ("false", "0")


def _name_from_field_selector(query: Mapping[str, str]) -> str:
    """The name a list/watch is for: a ``metadata.name=`` term of its field selector.

    Only when the list options decode at all, and only a name that could be a
    path segment, as in RequestInfoFactory.
    """
    try:
        parse_label_selector(query.get("labelSelector", ""))
        terms = parse_field_selector(query.get("fieldSelector", ""))
        for key in ("limit", "timeoutSeconds"):
            if key in query:
                int(query[key])
    except (ApiError, ValueError):
        return ""
    for path, negated, value in terms:
        if path == "metadata.name" and not negated:
            return value if _valid_path_segment(value) else ""
    return ""


def _valid_path_segment(name: str) -> bool:
    return name not in (".", "..") and "/" not in name and "%" not in name


# -- rules ------------------------------------------------------------------


def rule_allows(attrs: Attributes, rule: Mapping) -> bool:
    verbs = rule.get("verbs") or []
    if "*" not in verbs and attrs.verb not in verbs:
        return False
    if not attrs.resource_request:
        return any(
            url == "*" or url == attrs.path or (url.endswith("*") and attrs.path.startswith(url.rstrip("*")))
            for url in rule.get("nonResourceURLs") or []
        )
    groups = rule.get("apiGroups") or []
    if "*" not in groups and attrs.api_group not in groups:
        return False
    combined = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    if not any(
        r == "*" or r == combined or (attrs.subresource and r == f"*/{attrs.subresource}")
        for r in rule.get("resources") or []
    ):
        return False
    names = rule.get("resourceNames") or []
    return not names or attrs.name in names


def _subject_applies(user: UserInfo, subject: Mapping, binding_namespace: str) -> bool:
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return user.name == name
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return bool(namespace) and user.name == service_account_user(namespace, name or "")
    return False


def _describe_subject(subject: Mapping, binding_namespace: str) -> str:
    if subject.get("kind") == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return f"ServiceAccount {go_quote(subject.get('name', '') + '/' + namespace)}"
    return f"{subject.get('kind')} {go_quote(subject.get('name', ''))}"


def go_quote(text: str) -> str:
    """Go's %q for the strings these messages carry."""
    return json.dumps(text, ensure_ascii=False)


@dataclass
class RuleSource:
    """Where a rule comes from, worded as the RBAC authorizer's allow reasons word it."""

    binding: dict
    subject: dict

    def __str__(self) -> str:
        meta, ref = self.binding["metadata"], self.binding.get("roleRef") or {}
        namespace = meta.get("namespace", "")
        if namespace:
            return (
                f"RoleBinding {go_quote(meta['name'] + '/' + namespace)} of {ref.get('kind')} "
                f"{go_quote(ref.get('name', ''))} to {_describe_subject(self.subject, namespace)}"
            )
        return (
            f"ClusterRoleBinding {go_quote(meta['name'])} of {ref.get('kind')} "
            f"{go_quote(ref.get('name', ''))} to {_describe_subject(self.subject, '')}"
        )


# What the privileged-group authorizer lists for system:masters.
MASTER_RULES = [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}, {"verbs": ["*"], "nonResourceURLs": ["*"]}]


class RBACAuthorizer:
    """Reads Roles, ClusterRoles and their bindings from the store on every decision."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def authorize(self, attrs: Attributes) -> tuple[bool, str]:
        """(allowed, reason), the reason as an access review reports it."""
        if attrs.user.is_master:
            return True, ""
        errors: list[str] = []
        for source, rule in self.visit_rules(attrs.user, attrs.namespace, errors):
            if rule_allows(attrs, rule):
                return True, f"RBAC: allowed by {source}"
        return False, f"RBAC: {aggregate(errors)}" if errors else ""

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[dict], list[str]]:
        """Every rule that applies to ``user`` in ``namespace``, and the resolution errors."""
        errors: list[str] = []
        rules = [rule for _, rule in self.visit_rules(user, namespace, errors)]
        return (MASTER_RULES + rules if user.is_master else rules), errors

    def visit_rules(self, user: UserInfo, namespace: str, errors: list[str]) -> Iterator[tuple[RuleSource, dict]]:
        """ClusterRoleBindings first, then the RoleBindings of ``namespace``."""
        bindings = [(b, "") for b in self.store.list("clusterrolebindings")]
        if namespace:
            bindings += [(b, namespace) for b in self.store.list("rolebindings", namespace)]
        for binding, binding_namespace in bindings:
            subject = next(
                (s for s in binding.get("subjects") or [] if _subject_applies(user, s, binding_namespace)), None
            )
            if subject is None:
                continue
            rules = self._role_rules(binding.get("roleRef") or {}, binding_namespace, errors)
            for rule in rules or []:
                yield RuleSource(binding, subject), rule

    def _role_rules(self, ref: Mapping, namespace: str, errors: list[str]) -> list[dict] | None:
        kind, name = ref.get("kind"), ref.get("name", "")
        if kind == "Role":
            role = self.store.get("roles", namespace, name)
            singular = "role"
        elif kind == "ClusterRole":
            role = self.store.get("clusterroles", "", name)
            singular = "clusterrole"
        else:
            errors.append(f"unsupported role reference kind: {go_quote(str(kind))}")
            return None
        if role is None:
            # The informer listers' NotFound names the resource in the singular.
            errors.append(f"{singular}.{RBAC_GROUP} {go_quote(name)} not found")
            return None
        return role.get("rules") or []


def aggregate(errors: list[str]) -> str:
    """utilerrors.NewAggregate(...).Error(): one message, or [a, b] without repeats."""
    unique = list(dict.fromkeys(errors))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


def forbidden(attrs: Attributes, reason: str = "") -> ApiError:
    """The 403 kube-apiserver answers a denied request with."""
    message = _forbidden_message(attrs)
    # responsewriters escapes what could pass for HTML; quotes stay.
    message = message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if reason:
        message = f"{message}: {reason}"
    if not attrs.resource_request or not attrs.resource:
        return ApiError(403, "Forbidden", f"forbidden: {message}", {})
    qualified = f"{attrs.resource}.{attrs.api_group}" if attrs.api_group else attrs.resource
    subject = f"{qualified} {go_quote(attrs.name)}" if attrs.name else qualified
    return ApiError(
        403,
        "Forbidden",
        f"{subject} is forbidden: {message}",
        {"name": attrs.name, "group": attrs.api_group, "kind": attrs.resource},
    )


def _forbidden_message(attrs: Attributes) -> str:
    user = go_quote(attrs.user.name)
    if not attrs.resource_request:
        return f"User {user} cannot {attrs.verb} path {go_quote(attrs.path)}"
    resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    where = f"in the namespace {go_quote(attrs.namespace)}" if attrs.namespace else "at the cluster scope"
    return (
        f"User {user} cannot {attrs.verb} resource {go_quote(resource)} in API group "
        f"{go_quote(attrs.api_group)} {where}"
    )


# -- bootstrap policy -------------------------------------------------------------

_BOOTSTRAP_META = {
    "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
    "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"},
}
_DISCOVERY_URLS = [
    "/api",
    "/api/*",
    "/apis",
    "/apis/*",
    "/healthz",
    "/livez",
    "/openapi",
    "/openapi/*",
    "/readyz",
    "/version",
    "/version/",
]
_PUBLIC_INFO_URLS = ["/healthz", "/livez", "/readyz", "/version", "/version/"]

BOOTSTRAP_CLUSTER_ROLES = {
    "cluster-admin": [
        {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
        {"nonResourceURLs": ["*"], "verbs": ["*"]},
    ],
    "system:discovery": [{"nonResourceURLs": _DISCOVERY_URLS, "verbs": ["get"]}],
    "system:basic-user": [
        {
            "apiGroups": ["authorization.k8s.io"],
            "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
            "verbs": ["create"],
        },
        {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"], "verbs": ["create"]},
    ],
    "system:public-info-viewer": [{"nonResourceURLs": _PUBLIC_INFO_URLS, "verbs": ["get"]}],
}
BOOTSTRAP_CLUSTER_ROLE_BINDINGS = {
    "cluster-admin": ["system:masters"],
    "system:discovery": ["system:authenticated"],
    "system:basic-user": ["system:authenticated"],
    "system:public-info-viewer": ["system:authenticated", "system:unauthenticated"],
}


def ensure_bootstrap_policy(store: Store) -> None:
    """Create the bootstrap ClusterRoles and ClusterRoleBindings that are missing.

    Like kube-apiserver's rbac/bootstrap-roles post-start hook, which adds what
    is missing and leaves what exists alone.
    """
    for name, rules in BOOTSTRAP_CLUSTER_ROLES.items():
        if store.get("clusterroles", "", name) is None:
            store.create(
                "clusterroles",
                "",
                {
                    "apiVersion": f"{RBAC_GROUP}/v1",
                    "kind": "ClusterRole",
                    "metadata": {"name": name, **json.loads(json.dumps(_BOOTSTRAP_META))},
                    "rules": rules,
                },
            )
    for name, groups in BOOTSTRAP_CLUSTER_ROLE_BINDINGS.items():
        if store.get("clusterrolebindings", "", name) is None:
            store.create(
                "clusterrolebindings",
                "",
                {
                    "apiVersion": f"{RBAC_GROUP}/v1",
                    "kind": "ClusterRoleBinding",
                    "metadata": {"name": name, **json.loads(json.dumps(_BOOTSTRAP_META))},
                    "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": name},
                    "subjects": [{"apiGroup": RBAC_GROUP, "kind": "Group", "name": g} for g in groups],
                },
            )


# -- escalation prevention -----------------------------------------------------------


def check_escalation(
    authorizer: RBACAuthorizer, user: UserInfo, plural: str, namespace: str, obj: dict, current: dict | None
) -> None:
    """Refuse a Role or binding that would grant more than its writer holds (403).

    As registry/rbac's policy-based storage does: a Role or ClusterRole only with
    the ``escalate`` verb on it, or when every rule is covered by the writer's own
    rules in that namespace (an aggregating ClusterRole needs everything); a
    binding only with ``bind`` on the role it refers to, or when the writer holds
    every rule of that role. system:masters may do anything; an update that
    changes nothing but ownerReferences and finalizers is not checked.
    """
    if user.is_master or plural not in ("roles", "clusterroles", "rolebindings", "clusterrolebindings"):
        return
    name = (obj.get("metadata") or {}).get("name", "")
    if current is not None and _without_gc_fields(obj) == _without_gc_fields(current):
        return
    if plural in ("roles", "clusterroles"):
        escalate = Attributes(
            user,
            "escalate",
            True,
            api_group=RBAC_GROUP,
            api_version="*",
            namespace=namespace,
            resource=plural,
            name=name,
        )
        if authorizer.authorize(escalate)[0]:
            return
        rules = MASTER_RULES if obj.get("aggregationRule") else obj.get("rules") or []
    else:
        ref = obj.get("roleRef") or {}
        role_plural = "roles" if ref.get("kind") == "Role" else "clusterroles"
        bind = Attributes(
            user,
            "bind",
            True,
            api_group=ref.get("apiGroup", ""),
            api_version="*",
            namespace=namespace,
            resource=role_plural,
            name=ref.get("name", ""),
        )
        if authorizer.authorize(bind)[0]:
            return
        role = authorizer.store.get(role_plural, namespace if role_plural == "roles" else "", ref.get("name", ""))
        if role is None:
            raise not_found(role_plural, ref.get("name", ""))
        rules = role.get("rules") or []
    owner_rules, errors = authorizer.rules_for(user, namespace)
    missing = [
        r
        for r in (sub for rule in rules for sub in _breakdown(rule))
        if not any(_covers(owner, r) for owner in owner_rules)
    ]
    if not missing:
        return
    descriptions = sorted({_compact_string(rule) for rule in _compact(missing)})
    message = (
        f"user {go_quote(user.name)} (groups={_go_quoted_list(user.groups)}) is attempting to grant "
        f"RBAC permissions not currently held:\n" + "\n".join(descriptions)
    )
    if errors:
        message += f"; resolution errors: [{' '.join(errors)}]"
    qualified = f"{plural}.{RBAC_GROUP}"
    raise ApiError(
        403,
        "Forbidden",
        f"{qualified} {go_quote(name)} is forbidden: {message}",
        {"name": name, "group": RBAC_GROUP, "kind": plural},
    )


# What an update may change without an escalation check (rbac's IsOnlyMutatingGCFields),
# plus what the server keeps itself whatever a client sends.
_GC_AND_SERVER_FIELDS = (
    "ownerReferences",
    "finalizers",
    "resourceVersion",
    "managedFields",
    "uid",
    "creationTimestamp",
    "generation",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)


def _without_gc_fields(obj: dict) -> dict:
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _GC_AND_SERVER_FIELDS}
    return {**{k: v for k, v in obj.items() if k not in ("metadata", "kind", "apiVersion")}, "metadata": meta}


def _breakdown(rule: Mapping) -> list[dict]:
    """One rule per group, resource, verb (and name), or per URL and verb."""
    out = []
    names = rule.get("resourceNames") or [None]
    for group in rule.get("apiGroups") or []:
        for resource in rule.get("resources") or []:
            for verb in rule.get("verbs") or []:
                for name in names:
                    sub = {"apiGroups": [group], "resources": [resource], "verbs": [verb]}
                    if name is not None:
                        sub["resourceNames"] = [name]
                    out.append(sub)
    for url in rule.get("nonResourceURLs") or []:
        for verb in rule.get("verbs") or []:
            out.append({"nonResourceURLs": [url], "verbs": [verb]})
    return out


def _covers(owner: Mapping, sub: Mapping) -> bool:
    """Does the owner's rule cover a broken-down rule (validation.ruleCovers)?"""

    def has_all(values: list, wanted: list) -> bool:
        return "*" in values or all(w in values for w in wanted)

    owner_resources = owner.get("resources") or []

    def resource_covered(resource: str) -> bool:
        if "*" in owner_resources or resource in owner_resources:
            return True
        return "/" in resource and f"*/{resource.split('/', 1)[1]}" in owner_resources

    def url_covered(url: str) -> bool:
        return any(
            o == url or (o.endswith("*") and url.startswith(o.rstrip("*"))) for o in owner.get("nonResourceURLs") or []
        )

    owner_names, sub_names = owner.get("resourceNames") or [], sub.get("resourceNames") or []
    names_ok = not owner_names if not sub_names else (not owner_names or all(n in owner_names for n in sub_names))
    return (
        has_all(owner.get("verbs") or [], sub.get("verbs") or [])
        and (not sub.get("apiGroups") or has_all(owner.get("apiGroups") or [], sub["apiGroups"]))
        and all(resource_covered(r) for r in sub.get("resources") or [])
        and all(url_covered(u) for u in sub.get("nonResourceURLs") or [])
        and names_ok
    )


def _compact(rules: list[dict]) -> list[dict]:
    """Merge the verbs of simple rules (one group, one resource, at most one name)."""
    out: list[dict] = []
    simple: dict[tuple, dict] = {}
    for rule in rules:
        if rule.get("nonResourceURLs") or len(rule.get("resourceNames") or []) > 1:
            out.append(rule)
            continue
        key = (rule["apiGroups"][0], rule["resources"][0], tuple(rule.get("resourceNames") or ()))
        if key in simple:
            simple[key]["verbs"] = simple[key]["verbs"] + rule["verbs"]
        else:
            simple[key] = {k: list(v) for k, v in rule.items()}
    return out + list(simple.values())


def _go_quoted_list(values) -> str:
    """A []string as Go's %q prints it: ["a" "b"]."""
    return "[" + " ".join(go_quote(v) for v in values) + "]"


def _compact_string(rule: Mapping) -> str:
    """rbac/v1 helpers CompactString: {APIGroups:["apps"], Resources:["deployments"], Verbs:["get"]}."""
    parts = [
        f"{label}:{_go_quoted_list(rule[key])}"
        for label, key in (
            ("APIGroups", "apiGroups"),
            ("Resources", "resources"),
            ("NonResourceURLs", "nonResourceURLs"),
            ("ResourceNames", "resourceNames"),
            ("Verbs", "verbs"),
        )
        if rule.get(key)
    ]
    return "{" + ", ".join(parts) + "}"
