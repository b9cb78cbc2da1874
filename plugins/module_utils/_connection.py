# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: what a failed connection to Kubernetes says.

Every message names the kubeconfig and the context the client tried (a path and a context name
are not secrets), where each came from, the role variable to fix and whether anything was written.
The client resolves them the way kubernetes.core does: the module options, then K8S_AUTH_KUBECONFIG
and K8S_AUTH_CONTEXT, then (when neither is set) the in-cluster service account and after it
$KUBECONFIG or ~/.kube/config with its current-context.
"""

from __future__ import annotations

import os

KUBECONFIG_VARIABLE = "litellm_kubeconfig"
CONTEXT_VARIABLE = "litellm_context"
NOTHING_WRITTEN = "Nothing was written."
SOMETHING_WRITTEN = (
    "This module had sent %d write request(s) before the connection failed: run it again once the "
    "connection works (the next run of the role verifies or puts back what is live)."
)


def target_of(auth, environ=None):
    """Where the client looks for its cluster, as a dict of kubeconfig/context and where each came from.

    ``auth`` holds the module's kubernetes.core auth options (None where unset); ``environ`` is the
    process environment (os.environ by default). A kubeconfig given as a dict (in memory) is named as
    such, never shown: it may hold a token.
    """
    environ = os.environ if environ is None else environ
    kubeconfig, kubeconfig_from = auth.get("kubeconfig"), "%s, the module option kubeconfig" % KUBECONFIG_VARIABLE
    if not kubeconfig and environ.get("K8S_AUTH_KUBECONFIG"):
        kubeconfig, kubeconfig_from = environ["K8S_AUTH_KUBECONFIG"], "K8S_AUTH_KUBECONFIG"
    context, context_from = auth.get("context"), "%s, the module option context" % CONTEXT_VARIABLE
    if not context and environ.get("K8S_AUTH_CONTEXT"):
        context, context_from = environ["K8S_AUTH_CONTEXT"], "K8S_AUTH_CONTEXT"
    host = auth.get("host") or environ.get("K8S_AUTH_HOST")
    default = not kubeconfig and not context and not host
    if not kubeconfig:
        if environ.get("KUBECONFIG"):
            kubeconfig, kubeconfig_from = environ["KUBECONFIG"], "KUBECONFIG, as %s is empty" % KUBECONFIG_VARIABLE
        else:
            kubeconfig = os.path.join(environ.get("HOME") or "~", ".kube", "config")
            kubeconfig_from = "the default, as %s and KUBECONFIG are empty" % KUBECONFIG_VARIABLE
    return {
        "kubeconfig": None if isinstance(kubeconfig, dict) else str(kubeconfig),
        "in_memory": isinstance(kubeconfig, dict),
        "kubeconfig_from": kubeconfig_from,
        "context": context or None,
        "context_from": context_from,
        "host": host or None,
        "in_cluster_first": default,
    }


def kubeconfig_paths(target):
    """The files a kubeconfig setting names (KUBECONFIG may list several, separated by ':')."""
    if target["in_memory"]:
        return []
    return [os.path.expanduser(path) for path in target["kubeconfig"].split(os.pathsep) if path]


def read_contexts(paths, load=None):
    """(context names, current-context) of the kubeconfig files, or ([], None) when unreadable."""
    if load is None:
        import yaml

        def load(path):
            with open(path) as handle:
                return yaml.safe_load(handle)

    names, current = [], None
    for path in paths:
        try:
            document = load(path) or {}
        except Exception:  # unreadable or not YAML: the client's own error says so
            continue
        if not isinstance(document, dict):
            continue
        for entry in document.get("contexts") or []:
            if isinstance(entry, dict) and entry.get("name") and entry["name"] not in names:
                names.append(str(entry["name"]))
        current = current or document.get("current-context") or None
    return names, current


def describe(target, current=None):
    """'kubeconfig /x (from ...) and context y (from ...)', as the messages say it."""
    if target["context"]:
        context = "context %s (from %s)" % (target["context"], target["context_from"])
    elif current:
        context = "its current-context %s (%s is empty)" % (current, CONTEXT_VARIABLE)
    else:
        context = "its current-context (%s is empty)" % CONTEXT_VARIABLE
    kubeconfig = "an in-memory kubeconfig" if target["in_memory"] else "kubeconfig %s" % target["kubeconfig"]
    where = "%s (from %s) and %s" % (kubeconfig, target["kubeconfig_from"], context)
    if target["host"]:
        where += ", host %s" % target["host"]
    return where


def config_error_message(target, error, exists=os.path.exists, load=None):
    """The message for a kubeconfig the client could not load (missing file, unknown context, ...)."""
    paths = kubeconfig_paths(target)
    missing = [path for path in paths if not exists(path)]
    names, current = read_contexts([path for path in paths if path not in missing], load)
    where = describe(target, current)
    if paths and len(missing) == len(paths):
        fix = "No kubeconfig file is there: set %s to the path of your kubeconfig (or K8S_AUTH_KUBECONFIG)." % (
            KUBECONFIG_VARIABLE
        )
        if target["in_cluster_first"]:
            fix += " (Nor does this run inside a pod with a service account.)"
    elif target["context"] and names and target["context"] not in names:
        fix = (
            "That kubeconfig has no context %s; its contexts: %s. Set %s to one of them, or leave it empty for %s."
            % (
                target["context"],
                ", ".join(names),
                CONTEXT_VARIABLE,
                "its current-context %s" % current if current else "its current-context",
            )
        )
    else:
        fix = "Check %s and %s (or K8S_AUTH_KUBECONFIG and K8S_AUTH_CONTEXT)." % (KUBECONFIG_VARIABLE, CONTEXT_VARIABLE)
    return "Could not connect to Kubernetes with %s: %s. %s %s" % (where, _sentence(error), fix, NOTHING_WRITTEN)


def unreachable_message(target, server, error, writes=0, load=None):
    """The message for an API server that did not answer (refused, TLS, timeout)."""
    current = read_contexts(kubeconfig_paths(target), load)[1]
    return (
        "Could not reach the Kubernetes API server %s (%s): %s. Check that the cluster runs and that %s and %s "
        "select it. %s"
        % (
            server or "(no server)",
            describe(target, current),
            _sentence(error),
            KUBECONFIG_VARIABLE,
            CONTEXT_VARIABLE,
            NOTHING_WRITTEN if not writes else SOMETHING_WRITTEN % writes,
        )
    )


def unauthorized_message(target, server, error, writes=0, load=None):
    """The message for credentials the API server refused (401): an expired or revoked token, say."""
    current = read_contexts(kubeconfig_paths(target), load)[1]
    return (
        "The Kubernetes API server %s refused the credentials of %s: %s. Renew them (for the ServiceAccount "
        "of playbooks/rbac.yml: run it again), or point %s and %s at valid ones. %s"
        % (
            server or "(no server)",
            describe(target, current),
            _sentence(error),
            KUBECONFIG_VARIABLE,
            CONTEXT_VARIABLE,
            NOTHING_WRITTEN if not writes else SOMETHING_WRITTEN % writes,
        )
    )


def _sentence(error):
    return str(error).strip().rstrip(".") or type(error).__name__
