# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/_access.py: the Kubernetes rights a run needs, step by step."""

from __future__ import annotations

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _access as access

TARGET = {
    "deployment": "litellm",
    "configmap": "litellm-config",
    "secrets_read": ["litellm-secrets", "provider-keys"],
    "secrets_written": ["litellm-secrets"],
    "record": "litellm-known-good",
    "lease": "homelab-litellm-litellm",
    "service": "litellm",
    "port": 4000,
}
NO_WORK = {"config": False, "secret": False, "rollout": False, "verify": False, "record": False}
ALL_WORK = {"config": True, "secret": True, "rollout": True, "verify": True, "record": True}


def described(rights):
    return [access.describe(right) for right in rights]


def test_a_run_without_work_only_reads():
    assert described(access.rights_needed(TARGET, NO_WORK)) == [
        'get deployments (apps) "litellm"',
        'get configmaps "litellm-config"',
        "list deployments (apps)",
        "list horizontalpodautoscalers (autoscaling)",
        'get secrets "litellm-secrets"',
        'get secrets "provider-keys"',
        'get secrets "litellm-known-good"',
        'get leases (coordination.k8s.io) "homelab-litellm-litellm"',
    ]


def test_every_deployment_of_the_litellm_may_be_restarted_and_followed():
    target = dict(TARGET, deployments=["litellm-backend", "litellm"])
    rights = described(access.rights_needed(target, ALL_WORK))
    for needed in ('patch deployments (apps) "litellm-backend"', 'watch deployments (apps) "litellm-backend"'):
        assert needed in rights
    assert 'patch deployments (apps) "litellm-backend"' not in described(access.rights_needed(TARGET, ALL_WORK))
    assert ("list", "autoscaling", "horizontalpodautoscalers", None, None) in access.OPTIONAL


@pytest.mark.parametrize("step", sorted(NO_WORK))
def test_any_step_needs_the_lock_the_record_and_the_rollback_rights(step):
    rights = described(access.rights_needed(TARGET, dict(NO_WORK, **{step: True})))
    for needed in (
        'update leases (coordination.k8s.io) "homelab-litellm-litellm"',
        'update secrets "litellm-known-good"',
        'update configmaps "litellm-config"',
        'update secrets "litellm-secrets"',
        'patch deployments (apps) "litellm"',
        'watch deployments (apps) "litellm"',
        "list replicasets (apps)",
        "list pods",
        "watch pods",
        "get pods/log",
        'get services/proxy "litellm:4000"',
        'create services/proxy "litellm:4000"',
    ):
        assert needed in rights
    assert 'update secrets "provider-keys"' not in rights, "a Secret only read is not written"


def test_create_rights_only_when_the_lease_or_record_is_missing():
    present = described(access.rights_needed(TARGET, ALL_WORK))
    assert "create leases (coordination.k8s.io)" not in present and "create secrets" not in present
    missing = described(access.rights_needed(TARGET, ALL_WORK, lease_exists=False, record_exists=False))
    assert "create leases (coordination.k8s.io)" in missing and "create secrets" in missing


def test_verification_through_a_url_needs_no_service_proxy():
    rights = described(access.rights_needed(dict(TARGET, service=None), ALL_WORK))
    assert not [right for right in rights if "services/proxy" in right]


def test_no_right_is_asked_twice():
    target = dict(
        TARGET,
        secrets_read=["litellm-secrets", "litellm-known-good", "litellm-secrets"],
        secrets_written=["litellm-secrets", "litellm-known-good"],
    )
    rights = access.rights_needed(target, ALL_WORK)
    keys = [right[:5] for right in rights]
    assert len(keys) == len(set(keys))
    assert described(rights).count('get secrets "litellm-known-good"') == 1
    assert described(rights).count('update secrets "litellm-known-good"') == 1


def test_every_right_says_why():
    assert all(right.why for right in access.rights_needed(TARGET, ALL_WORK, False, False))


@pytest.mark.parametrize(
    "right, text, rule",
    [
        (
            access.Right("update", "", "configmaps", None, "litellm-config", "x"),
            'update configmaps "litellm-config"',
            '{apiGroups: [""], resources: [configmaps], resourceNames: [litellm-config], verbs: [update]}',
        ),
        (
            access.Right("get", "", "pods", "log", None, "x"),
            "get pods/log",
            '{apiGroups: [""], resources: [pods/log], verbs: [get]}',
        ),
        (
            access.Right("create", "coordination.k8s.io", "leases", None, None, "x"),
            "create leases (coordination.k8s.io)",
            '{apiGroups: ["coordination.k8s.io"], resources: [leases], verbs: [create]}',
        ),
    ],
)
def test_describe_and_rule_for(right, text, rule):
    assert access.describe(right) == text
    assert access.rule_for(right) == rule


def test_missing_message_lists_each_right_why_and_rule():
    missing = [
        access.Right("patch", "apps", "deployments", None, "litellm", "restart LiteLLM on a change"),
        access.Right("get", "", "pods", "log", None, "show why a new pod crashed"),
    ]
    message = access.missing_message(missing, "ml")
    lines = message.splitlines()
    assert lines[0].startswith(
        "The Kubernetes identity of this run may not do everything the run needs in namespace ml. Missing:"
    )
    assert lines[1] == (
        '  patch deployments (apps) "litellm" - needed to restart LiteLLM on a change; rule: '
        '{apiGroups: ["apps"], resources: [deployments], resourceNames: [litellm], verbs: [patch]}'
    )
    assert lines[2].startswith("  get pods/log - needed to show why a new pod crashed; rule: ")
    assert lines[3].startswith("Grant them in its Role")


@pytest.mark.parametrize(
    "message, right",
    [
        (
            'deployments.apps "litellm" is forbidden: User "system:serviceaccount:ml:ci" cannot get resource '
            '"deployments" '
            'in API group "apps" in the namespace "ml"',
            ("get", "apps", "deployments", None, "litellm"),
        ),
        (
            'pods is forbidden: User "u" cannot list resource "pods" in API group "" in the namespace "ml"',
            ("list", "", "pods", None, None),
        ),
        (
            'pods "litellm-1" is forbidden: User "u" cannot get resource "pods/log" in API group "" in the namespace '
            '"ml"',
            ("get", "", "pods", "log", "litellm-1"),
        ),
    ],
)
def test_the_right_a_403_names(message, right):
    assert tuple(access.right_from_forbidden(message)[:5]) == right


def test_a_403_in_other_words_names_no_right():
    assert access.right_from_forbidden("Forbidden") is None and access.right_from_forbidden(None) is None


def test_rights_before_the_plan_leave_out_what_only_the_wiring_names():
    target = {
        "deployment": "litellm",
        "configmap": None,
        "secrets_read": [],
        "secrets_written": [],
        "record": "litellm-known-good",
        "lease": "homelab-litellm-litellm",
        "service": None,
        "port": None,
        "discover_service": True,
    }
    rights = access.rights_before_the_plan(target)
    assert not any(r.resource == "configmaps" for r in rights)
    assert ("update", "", "secrets", None, "litellm-known-good") in [tuple(r[:5]) for r in rights]
    assert ("list", "", "services", None, None) in [tuple(r[:5]) for r in rights]
