# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: what a run did, in words and as a report.

Pure functions, no ansible import and no I/O; the role's filters. They take the registered results
of the role's steps (plain dicts; a skipped step is a dict without the fields) and decide:

* ``own_writes``: which objects a rollback may put back, with the resourceVersion this run left
  them at (what it wrote, and the unverified state it took over);
* ``failure_report``: the message of a failed run, the original cause first, then what the
  rollback did, and whether that failed too;
* ``run_report``: the JSON report of a run.
"""

from __future__ import annotations


def _get(result, *path, default=None):
    for key in path:
        if not isinstance(result, dict) or key not in result:
            return default
        result = result[key]
    return result


def own_writes(plan, config_result=None, secret_result=None):
    """``{"configmaps": {name: rv}, "secrets": {name: rv}}``: what this run wrote or took over.

    A rollback puts the last verified state back only over these, and only while they still
    have the resourceVersion this run left them at.
    """
    expected = {"configmaps": {}, "secrets": {}}
    configmap = _get(plan, "target", "configmap")
    if _get(config_result, "changed") and _get(config_result, "resource_version"):
        expected["configmaps"][configmap] = config_result["resource_version"]
    elif _get(plan, "unverified", "config") or _get(plan, "unverified", "failing_rollout"):
        expected["configmaps"][configmap] = _get(plan, "resource_versions", "configmaps", configmap)
    read = _get(plan, "resource_versions", "secrets", default={}) or {}
    adopted = {_get(plan, "managed_keys", name, "secret") for name in _get(plan, "unverified", "keys", default=[])}
    if _get(plan, "unverified", "failing_rollout"):
        adopted |= {where.get("secret") for where in (_get(plan, "managed_keys", default={}) or {}).values()}
    for secret in sorted(name for name in adopted if name in read):
        expected["secrets"][secret] = read[secret]
    for secret, info in sorted((_get(secret_result, "secrets", default={}) or {}).items()):
        if info.get("changed") and info.get("resource_version"):
            expected["secrets"][secret] = info["resource_version"]
    return expected


def _step_failed(result):
    return isinstance(result, dict) and bool(result.get("failed"))


def failure_report(cause, rollback=True, restore=None, rollout=None, verify=None):
    """The message of a failed run: the original cause, then the rollback's outcome (never instead).

    ``restore``/``rollout``/``verify`` are the registered results of the rollback steps (skipped
    or missing when they did not run).
    """
    cause = (cause or "A step failed").rstrip(". ") + "."
    if not rollback:
        return cause + " Rollback is off (litellm_rollback: false): the cluster is left as it is."
    if not isinstance(restore, dict) or restore.get("skipped") or not restore:
        return cause + " This run had written nothing and restarted nothing, so nothing was rolled back."
    parts = [cause]
    restored = restore.get("restored") or []
    if _step_failed(restore):
        parts.append("Rolling back failed too: %s." % (restore.get("msg") or "no message").rstrip(". "))
    elif restored:
        keys = restore.get("secret_keys") or []
        parts.append(
            "Put back the last verified state (recorded %s): %s%s."
            % (
                restore.get("recorded_at") or "?",
                ", ".join(restored),
                " (the verified values of %s)" % ", ".join(keys) if keys else "",
            )
        )
    else:
        parts.append("Nothing this run wrote differed from the last verified state.")
    for note in restore.get("left_alone") or []:
        parts.append("Left alone: %s." % note.rstrip(". "))
    if isinstance(rollout, dict) and not rollout.get("skipped") and rollout:
        if _step_failed(rollout):
            parts.append("Rolling LiteLLM back failed too: %s." % (rollout.get("msg") or "no message").rstrip(". "))
        elif isinstance(verify, dict) and _step_failed(verify):
            parts.append(
                "LiteLLM was rolled back, but does not serve as before: %s."
                % (verify.get("msg") or "no message").rstrip(". ")
            )
        elif isinstance(verify, dict) and not verify.get("skipped") and verify:
            parts.append("LiteLLM runs it again and serves %d models." % len(verify.get("models") or []))
        else:
            parts.append("LiteLLM was rolled back onto it.")
    elif not _step_failed(restore):
        parts.append("LiteLLM was not restarted: it still runs what it ran before.")
    return " ".join(parts)


def run_report(plan, config=None, secret=None, rollout=None, verify=None, record=None, failure=None):
    """The run report (JSON-ready): what was planned, done and proved; names only, never a value."""
    return {
        "target": _get(plan, "target", default={}),
        "models": _get(plan, "expected_models", default=[]),
        "added": _get(plan, "config", "added", default=[]),
        "updated": _get(plan, "config", "updated", default=[]),
        "removed": _get(plan, "config", "removed", default=[]),
        "config_changed": bool(_get(config, "changed", default=False)),
        "keys_changed": sorted(set(_get(secret, "added", default=[]) + _get(secret, "updated", default=[]))),
        "unverified": _get(plan, "unverified", default={}),
        "provider_check": _get(plan, "provider_check", default=[]),
        "warnings": _get(plan, "warnings_list", default=[]),
        "restarted": bool(_get(rollout, "restarted", default=False)),
        "rollout_seconds": _get(rollout, "rollout_seconds"),
        "ready": _get(verify, "ready"),
        "served_models": _get(verify, "models", default=[]),
        "smoke": _get(verify, "smoke", default=[]),
        "recorded": bool(_get(record, "changed", default=False)) or bool(_get(record, "recorded_at")),
        "failure": failure,
    }
