# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: what a run asks before it writes anything.

Whether the providers accept the keys and serve the models this run changes (their own model
lists), whether this Kubernetes identity has every right the planned steps need
(SelfSubjectAccessReview), and which other tool (Helm, Argo CD, Flux) owns an object the run would
write. Each failure here means that nothing was written.
"""

from __future__ import annotations

from urllib.error import HTTPError

from .. import _access as access
from .. import _k8s, _lock, _run
from .. import _known_good as kg
from .. import _owners as owners
from .. import _plan as pl
from .. import _provider_check as pc
from .. import _wiring as wiring


def check_providers(mode, timeout, plan, request, observed, known):
    """Ask the providers whose key or models change; (errors, warnings, results)."""
    if mode == "off":
        return [], [], []
    rotated = set()
    for secret, change in plan.secrets.items():
        for key in change["added"] + change["updated"]:
            rotated.update(
                name for name, where in plan.target["key_targets"].items() if where == {"secret": secret, "key": key}
            )
    names = set(plan.config["added"]) | set(plan.config["updated"]) | set(plan.unverified["models"])
    names |= set(pl.models_using(plan.model_entries, rotated))
    keys = _run.key_values(request.api_keys, plan, observed)
    checks, _skipped = pc.plan_checks(plan.model_entries, names, set(keys))
    checks = [check for check in checks if check not in known]
    if not checks:
        return [], [], []
    outcomes = pc.run_checks(checks, keys, http_fetch, timeout)
    known.update(checks)
    return pc.judge(outcomes, mode, secrets=set(keys.values()))


def http_fetch(url, headers, timeout):
    """GET url: (status, body); HTTP error statuses are returned, transport failures raised."""
    from ansible.module_utils.urls import Request

    try:
        response = Request(follow_redirects="none").open("GET", url, headers=headers, timeout=timeout)
        return response.getcode(), response.read()
    except HTTPError as err:
        return err.code, err.read() if err.fp else b""


def discovers_service(params):
    """Whether the run looks for the Service in front of LiteLLM (it needs none with a verify URL)."""
    return not params["verify_url"] and not (params["service"] and params["port"])


def _all_exist(kube, kind, namespace, names):
    """Whether every one of ``names`` exists (one this identity may not read counts as existing: the
    missing get right is what the check then names)."""
    for name in names:
        try:
            if kube.get(kind, namespace, name) is None:
                return False
        except _k8s.KubeError as err:
            if err.status != 403:
                raise
    return True


def check_access(kube, plan, lease, record_secret, service, params, deployments=()):
    others = [name for name in deployments if name != plan.target["deployment"]]
    namespace = plan.target["namespace"]
    if others:
        # The set's lock and record are every member's (_lock.SetLock, _run.record_set_state).
        lease = lease if lease is None else _all_exist(kube, "leases", namespace, map(_lock.lease_name, others))
        record_secret = (
            record_secret
            if record_secret is None
            else _all_exist(kube, "secrets", namespace, map(kg.record_name, others))
        )
    target = dict(
        plan.target,
        deployments=list(deployments),
        records=[kg.record_name(name) for name in deployments],
        leases=_lock.set_lease_names(deployments),
        record=kg.record_name(plan.target["deployment"]),
        lease=_lock.lease_name(plan.target["deployment"]),
        service=service[0],
        port=service[1],
        secrets_written=plan.target["secrets"],
        discover_service=discovers_service(params),
    )
    rights = access.rights_needed(
        target, plan.work, lease_exists=lease not in (None, False), record_exists=record_secret not in (None, False)
    )
    skipped, missing = ask_for(kube, rights, plan.target["namespace"])
    optional = [right for right in missing if tuple(right[:5]) in access.OPTIONAL]
    skipped += [
        "This identity may not %s (to %s): the run does without it" % (access.describe(right), right.why)
        for right in optional
    ]
    return skipped, [right for right in missing if right not in optional]


def forbidden_read_message(kube, err, params, request, deployment=None):
    """Why reading the cluster was refused: the refused right and every other right the run will lack
    that can be known without the plan. With the Deployment read, its wiring names the ConfigMap and
    the Secrets (keys go to the one named, else the last one the container loads with envFrom)."""
    namespace, name = params["namespace"], params["deployment"]
    configmap, secrets_read = params["configmap"], []
    written = [params["secret"]] if params["secret"] else []
    if deployment:
        try:
            container, configmap, _key, _path, _warnings = pl.resolve_target(deployment, request)
        except wiring.WiringError:
            container = None
        if container:
            secrets_read = [
                obj for kind, obj in pl.objects_to_read(container, params["secret"]) if kind == wiring.SECRET
            ]
            loaded = [obj for kind, obj in wiring.envfrom_objects(container) if kind == wiring.SECRET]
            written = written or loaded[-1:]
    target = {
        "deployment": name,
        "configmap": configmap,
        "secrets_read": secrets_read,
        "secrets_written": written,
        "record": kg.record_name(name),
        "lease": _lock.lease_name(name),
        "service": None if params["verify_url"] else params["service"],
        "port": params["port"],
        "discover_service": discovers_service(params),
    }
    refused = access.right_from_forbidden(err.message)
    try:
        _skipped, missing = ask_for(kube, access.rights_before_the_plan(target), namespace)
    except _k8s.KubeError:
        missing = []
    if refused and refused[:5] not in {right[:5] for right in missing}:
        missing.insert(0, refused)
    if not missing:
        return "The API server refused a read of the plan: %s" % err.message
    return access.missing_message(missing, namespace) + (
        "" if refused else "\nThe API server refused a read of the plan: %s" % err.message
    )


def ask_for(kube, rights, namespace):
    """([warning when the API server cannot be asked], [the rights it denies]) by SelfSubjectAccessReview."""
    missing = []
    for right in rights:
        try:
            allowed, _reason = kube.can_i(
                right.verb, right.resource, namespace, right.name, right.group, right.subresource
            )
        except _k8s.KubeError as err:
            if err.status in (404, 405):
                return [
                    "the API server does not answer SelfSubjectAccessReview (%s); rights were not checked "
                    "ahead" % err.status
                ], []
            raise
        if not allowed:
            missing.append(right)
    return [], missing


def owner_problems(plan, observed, policy):
    """Messages about foreign owners of the objects this run would write."""
    if policy == "allow":
        return []
    namespace = plan.target["namespace"]
    messages = []
    if plan.work["config"]:
        messages += owners.owner_messages("ConfigMap", namespace, plan.target["configmap"], observed.configmap)
    for secret, change in plan.secrets.items():
        if change["added"] or change["updated"]:
            messages += owners.owner_messages(
                "Secret", namespace, secret, observed.objects.get((wiring.SECRET, secret))
            )
    return messages
