# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/_owners.py: which other tool owns an object, and what it will do."""

from __future__ import annotations

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _owners as owners


def obj(labels=None, annotations=None):
    return {"metadata": {"name": "litellm-config", "labels": labels or {}, "annotations": annotations or {}}}


HELM_LABELS = {"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": "litellm"}
HELM_ANNOTATIONS = {"meta.helm.sh/release-name": "litellm", "meta.helm.sh/release-namespace": "ml"}


@pytest.mark.parametrize(
    "thing, found",
    [
        (obj(HELM_LABELS, HELM_ANNOTATIONS), [("Helm", "release litellm")]),
        (obj(HELM_LABELS), [("Helm", "release litellm")]),
        (obj({"app.kubernetes.io/managed-by": "Helm"}), [("Helm", "release ?")]),
        (obj(annotations={"meta.helm.sh/release-name": "proxy"}), [("Helm", "release proxy")]),
        (obj({"argocd.argoproj.io/instance": "llm-stack"}), [("Argo CD", "application llm-stack")]),
        (
            obj(annotations={"argocd.argoproj.io/tracking-id": "llm-stack:/ConfigMap:ml/litellm-config"}),
            [("Argo CD", "application llm-stack")],
        ),
        (
            obj({"kustomize.toolkit.fluxcd.io/name": "apps", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}),
            [("Flux", "Kustomization flux-system/apps")],
        ),
        (obj({"helm.toolkit.fluxcd.io/name": "litellm"}), [("Flux", "HelmRelease ?/litellm")]),
        (
            obj(
                dict(
                    HELM_LABELS, **{"helm.toolkit.fluxcd.io/name": "litellm", "helm.toolkit.fluxcd.io/namespace": "ml"}
                ),
                HELM_ANNOTATIONS,
            ),
            [("Helm", "release litellm"), ("Flux", "HelmRelease ml/litellm")],
        ),
        # A Helm chart sets app.kubernetes.io/instance itself: alone it is no sign of Argo CD.
        (obj({"app.kubernetes.io/instance": "litellm"}), []),
        (obj({"app.kubernetes.io/managed-by": "homelab.litellm"}), []),
        (obj(), []),
        ({}, []),
        (None, []),
    ],
)
def test_owners(thing, found):
    assert [(owner.tool, owner.name) for owner in owners.owners(thing)] == found


@pytest.mark.parametrize(
    "labels, annotations, effect",
    [
        (HELM_LABELS, HELM_ANNOTATIONS, "next helm upgrade"),
        ({"argocd.argoproj.io/instance": "a"}, None, "OutOfSync"),
        ({"kustomize.toolkit.fluxcd.io/name": "a"}, None, "next reconciliation"),
    ],
)
def test_owner_messages_name_tool_object_effect_and_fix(labels, annotations, effect):
    messages = owners.owner_messages("ConfigMap", "ml", "litellm-config", obj(labels, annotations))
    assert len(messages) == 1
    assert messages[0].startswith("ConfigMap ml/litellm-config is managed by ")
    assert effect in messages[0]
    assert "Put the models and keys into that tool's source" in messages[0]


def test_no_owner_no_message():
    assert owners.owner_messages("Secret", "ml", "litellm-secrets", obj({"app": "litellm"})) == []


def test_policies():
    assert owners.POLICIES == ("warn", "refuse", "allow")
