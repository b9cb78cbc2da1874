# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: which other tool owns an object, and what it will do.

Pure functions, no ansible import and no I/O. A ConfigMap or Secret rendered by Helm, or kept in
sync by Argo CD or Flux, is rewritten by that tool: the models and keys this collection merged in
disappear at its next upgrade or sync. The markers are the ones each tool writes itself:

* Helm 3: label ``app.kubernetes.io/managed-by: Helm`` and annotations ``meta.helm.sh/release-name``,
  ``meta.helm.sh/release-namespace`` (helm.sh/docs, "Helm adopts resources with these").
* Argo CD: label ``app.kubernetes.io/instance`` (its default tracking), the label
  ``argocd.argoproj.io/instance`` or the annotation ``argocd.argoproj.io/tracking-id``
  (argo-cd docs, "Resource Tracking").
* Flux: labels ``kustomize.toolkit.fluxcd.io/name``/``namespace`` (Kustomization) and
  ``helm.toolkit.fluxcd.io/name``/``namespace`` (HelmRelease).
"""

from __future__ import annotations

from collections import namedtuple

POLICIES = ("warn", "refuse", "allow")

Owner = namedtuple("Owner", "tool name effect")
Owner.__doc__ = """``tool`` (Helm, Argo CD, Flux), the ``name`` of what owns it there, and the ``effect`` that
tool will have on a change made beside it."""


def _meta(obj):
    metadata = (obj or {}).get("metadata") or {}
    return metadata.get("labels") or {}, metadata.get("annotations") or {}


def owners(obj):
    """The tools that manage ``obj``, each with what it will do to a change made by this collection.

    A Flux-driven Helm release carries both Helm's and Flux's markers: both are listed. Argo CD's
    default tracking label ``app.kubernetes.io/instance`` is also set by Helm charts themselves, so
    it counts as Argo CD only together with Argo's own annotation or label.
    """
    labels, annotations = _meta(obj)
    found = []
    release = annotations.get("meta.helm.sh/release-name")
    if labels.get("app.kubernetes.io/managed-by") == "Helm" or release:
        found.append(
            Owner(
                "Helm",
                "release %s" % (release or labels.get("app.kubernetes.io/instance") or "?"),
                "the next helm upgrade renders it from the chart's values again, without what this "
                "collection merged in",
            )
        )
    argo = labels.get("argocd.argoproj.io/instance") or annotations.get("argocd.argoproj.io/tracking-id")
    if argo:
        app = argo.split(":", 1)[0]
        found.append(
            Owner(
                "Argo CD",
                "application %s" % app,
                "Argo CD shows the application OutOfSync and, with automated sync and self-heal, "
                "reverts the change within minutes",
            )
        )
    for group, kind in (("kustomize.toolkit.fluxcd.io", "Kustomization"), ("helm.toolkit.fluxcd.io", "HelmRelease")):
        name = labels.get(group + "/name")
        if name:
            found.append(
                Owner(
                    "Flux",
                    "%s %s/%s" % (kind, labels.get(group + "/namespace", "?"), name),
                    "Flux reverts drift at its next reconciliation (its interval, minutes by default)",
                )
            )
    return found


def owner_messages(kind, namespace, name, obj):
    """One message per foreign owner of the object, naming the tool, its object and the effect."""
    return [
        "%s %s/%s is managed by %s (%s): %s. Put the models and keys into that tool's source (e.g. the "
        "chart's values), or run this playbook after every sync."
        % (kind, namespace, name, owner.tool, owner.name, owner.effect)
        for owner in owners(obj)
    ]
