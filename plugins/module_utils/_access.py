# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: the Kubernetes rights a run needs, step by step.

Pure functions, no ansible import and no I/O. Before a run writes anything it asks the API server
(SelfSubjectAccessReview) for each right its planned steps will use, so that a restricted identity
fails at the start, naming the missing right, instead of half-way with a 403. The same list is
what ``playbooks/rbac.yml`` grants, rule for rule (a unit test keeps the two equal).
"""

from __future__ import annotations

import re
from collections import namedtuple

Right = namedtuple("Right", "verb group resource subresource name why")
Right.__doc__ = """One request the run makes: ``verb`` on ``group``/``resource`` (``subresource``), on the
object ``name`` (None: any, as for create, list and watch), and ``why`` in words."""

APPS, COORDINATION, AUTOSCALING = "apps", "coordination.k8s.io", "autoscaling"

OPTIONAL = {("list", AUTOSCALING, "horizontalpodautoscalers", None, None)}
"""Rights a run does without, saying so: without its HPAs it waits for each Deployment's spec.replicas."""


def rights_needed(target, work, lease_exists=True, record_exists=True):
    """The rights of a run with this ``work`` (a dict of step -> bool) on ``target``.

    ``target`` has ``deployment``, ``configmap``, ``secrets_read`` (every Secret the plan reads),
    ``secrets_written`` (those keys go to), ``record``, ``lease`` (and ``records``, ``leases``: those of
    every member, the set's lock and record), ``service`` and ``port``
    (service None when verification goes to a URL), and ``deployments``: every Deployment of this
    LiteLLM (those that read its config; the named one when absent).
    """
    members = [name for name in target.get("deployments") or [] if name != target["deployment"]]
    rights = [
        Right("get", APPS, "deployments", None, target["deployment"], "read how LiteLLM is wired and rolled"),
        Right("get", "", "configmaps", None, target["configmap"], "read LiteLLM's config"),
        Right("list", APPS, "deployments", None, None, "find every Deployment that reads LiteLLM's config"),
        Right(
            "list",
            AUTOSCALING,
            "horizontalpodautoscalers",
            None,
            None,
            "wait for the replicas each Deployment's HPA runs (optional)",
        ),
    ]
    rights += [
        Right("get", "", "secrets", None, name, "read the keys LiteLLM loads") for name in target["secrets_read"]
    ]
    # The set's lock and record are those of every member (``records``/``leases``; the named one's alone when absent).
    records = sorted(set(target.get("records") or []) | {target["record"]})
    leases = sorted(set(target.get("leases") or []) | {target["lease"]})
    rights += [Right("get", "", "secrets", None, name, "read the last verified state") for name in records]
    rights += [Right("get", COORDINATION, "leases", None, name, "see whether another run is active") for name in leases]
    if target.get("discover_service"):
        rights.append(Right("list", "", "services", None, None, "find the Service in front of LiteLLM"))
    if not any(work.get(step) for step in ("config", "secret", "rollout", "verify", "record")):
        return _unique(rights)
    rights += [Right("update", COORDINATION, "leases", None, name, "hold the run lock") for name in leases]
    if not lease_exists:
        rights.append(Right("create", COORDINATION, "leases", None, None, "create the run lock"))
    rights += [Right("update", "", "secrets", None, name, "record the verified state") for name in records]
    if not record_exists:
        rights.append(Right("create", "", "secrets", None, None, "create the record of the verified state"))
    # A rollback may write the config and keys back even when this run meant to change only one of them.
    rights.append(Right("update", "", "configmaps", None, target["configmap"], "merge the models (or put them back)"))
    rights += [
        Right("update", "", "secrets", None, name, "write the provider keys (or put them back)")
        for name in target["secrets_written"]
    ]
    rights += [
        Right("patch", APPS, "deployments", None, target["deployment"], "restart LiteLLM on a change"),
        Right("watch", APPS, "deployments", None, target["deployment"], "follow the rollout"),
    ]
    for name in members:
        rights += [
            Right("get", APPS, "deployments", None, name, "follow the rollout of a Deployment that reads the config"),
            Right("patch", APPS, "deployments", None, name, "restart a Deployment that reads what changed"),
            Right("watch", APPS, "deployments", None, name, "follow its rollout"),
        ]
    rights += [
        Right("list", APPS, "replicasets", None, None, "tell new pods from old ones"),
        Right("list", "", "pods", None, None, "see the new pods start or crash"),
        Right("watch", "", "pods", None, None, "see the new pods start or crash at once"),
        Right("get", "", "pods", "log", None, "show why a new pod crashed"),
    ]
    if target.get("service"):
        proxy_name = "%s:%s" % (target["service"], target["port"])
        rights += [
            Right("get", "", "services", "proxy", proxy_name, "ask LiteLLM for readiness and its models"),
            Right("create", "", "services", "proxy", proxy_name, "send a request to each changed model"),
        ]
    return _unique(rights)


def rights_before_the_plan(target):
    """The rights of a run with every step to do that are known before the cluster was read.

    When a read of the plan itself is forbidden there is no plan yet: the ConfigMap and the Secrets
    are only known when named in ``target`` (``configmap`` may be None, ``secrets_read`` and
    ``secrets_written`` empty). Asking for these still names every rule the identity lacks that does
    not depend on how LiteLLM is wired.
    """
    every_step = dict.fromkeys(("config", "secret", "rollout", "verify", "record"), True)
    return [right for right in rights_needed(target, every_step) if right.resource != "configmaps" or right.name]


# kube-apiserver's words for a refused request (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/
# responsewriters/errors.go, forbiddenMessage): '<resource>[.<group>] "<name>" is forbidden: User "<user>"
# cannot <verb> resource "<resource>[/<subresource>]" in API group "<group>" in the namespace "<ns>"'.
_FORBIDDEN = re.compile(
    r'^\S+(?: "(?P<name>[^"]*)")? is forbidden: User "[^"]*" cannot (?P<verb>[a-z]+) '
    r'resource "(?P<resource>[^"/]+)(?:/(?P<subresource>[^"]+))?" in API group "(?P<group>[^"]*)"'
)


def right_from_forbidden(message, why="read what the plan is made from"):
    """The Right a 403's message names, or None when the message is not kube-apiserver's."""
    found = _FORBIDDEN.match(message or "")
    if not found:
        return None
    return Right(
        found.group("verb"),
        found.group("group"),
        found.group("resource"),
        found.group("subresource"),
        found.group("name") or None,
        why,
    )


def _unique(rights):
    seen, unique = set(), []
    for right in rights:
        key = right[:5]
        if key not in seen:
            seen.add(key)
            unique.append(right)
    return unique


def describe(right):
    """``update configmaps "litellm-config"``, ``get pods/log``, ``create leases``."""
    resource = right.resource + ("/" + right.subresource if right.subresource else "")
    group = " (%s)" % right.group if right.group else ""
    named = ' "%s"' % right.name if right.name else ""
    return "%s %s%s%s" % (right.verb, resource, group, named)


def rule_for(right):
    """The Role rule that grants ``right``, as YAML flow text."""
    resource = right.resource + ("/" + right.subresource if right.subresource else "")
    names = ", resourceNames: [%s]" % right.name if right.name else ""
    return '{apiGroups: ["%s"], resources: [%s]%s, verbs: [%s]}' % (right.group, resource, names, right.verb)


def missing_message(missing, namespace):
    """The failure when the identity lacks rights: each right, why it is needed, the rule to add."""
    lines = [
        "The Kubernetes identity of this run may not do everything the run needs in namespace %s. Missing:" % namespace
    ]
    lines += ["  %s - needed to %s; rule: %s" % (describe(right), right.why, rule_for(right)) for right in missing]
    lines.append(
        "Grant them in its Role (playbooks/rbac.yml creates one with exactly these rules), or run with "
        "an identity that has them."
    )
    return "\n".join(lines)
