# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: what a run did, in words and as a report.

Pure functions, no ansible import and no I/O (``cause_of`` only looks at an exception's type):

* the one-line summary of each step and of the run (``run_summary``), printed on every run;
* ``adopted_keys``: which keys differing from the record a run takes over as unverified;
* ``failure_message``: the message of a failed run, the original cause first, then what the
  rollback did, and whether that failed too;
* ``run_report``: the JSON report of a run (the ``litellm_report`` file).
"""

from __future__ import annotations

import base64

from . import _known_good as kg
from ._wiring import SECRET


def _get(result, *path, default=None):
    for key in path:
        if not isinstance(result, dict) or key not in result:
            return default
        result = result[key]
    return result


def _names(items):
    return ", ".join(items)


def _count(number, word):
    return "%d %s%s" % (number, word, "" if number == 1 else "s")


def plan_summary(plan):
    """What the plan found to do, in a few words."""
    work = plan.work
    if not work["any"]:
        return "nothing to do"
    return "to do: " + ", ".join(step for step in ("config", "secret", "rollout", "verify", "record") if work[step])


def preflight_summary(checked):
    if not checked:
        return "owners and rights checked"
    return "asked %s" % _names(sorted({entry.get("provider") or "?" for entry in checked}))


def config_summary(config):
    parts = []
    for marker in ("added", "updated", "removed"):
        if config.get(marker):
            parts.append("%s %s" % (marker, _count(len(config[marker]), "model")))
    return ", ".join(parts) or "config rewritten"


def written_variables(plan, marker):
    """The key variables this plan writes as ``marker`` (``added`` or ``updated``: rotated), by name."""
    written = set()
    for secret, change in plan.secrets.items():
        for name, where in plan.target["key_targets"].items():
            if where["secret"] == secret and where["key"] in change[marker]:
                written.add(name)
    return sorted(written)


def keys_summary(plan):
    parts = []
    for marker, verb in (("added", "added"), ("updated", "rotated")):
        names = written_variables(plan, marker)
        if names:
            parts.append("%s %s" % (verb, _names(names)))
    removed = sorted(key for change in plan.secrets.values() for key in change.get("removed", []))
    if removed:
        parts.append("removed %s" % _names(removed))
    return ", ".join(parts)


def verify_summary(verified):
    return "verified %s in %.1f s" % (_count(len(verified.get("smoke") or []), "model"), verified.get("seconds") or 0)


def adopted_keys(plan, observed, readers):
    """The keys found differing from this Deployment's record that this run takes over as unverified.

    A live value that another Deployment loading the same Secret has in its own record was verified
    by that Deployment's run (a shared Secret rotated there): it is not this run's to roll back.
    """
    held = set()
    for reader in readers.values():
        for secret, key, value in (reader.record.keys if reader.record else {}).values():
            held.add((secret, key, value))
    adopted = []
    for name in plan.unverified["keys"]:
        where = plan.managed_keys.get(name)
        if not where:
            continue
        data = (observed.objects.get((SECRET, where["secret"])) or {}).get("data") or {}
        live = data.get(where["key"])
        value = base64.b64decode(live).decode("utf-8", "replace") if live is not None else None
        if (where["secret"], where["key"], value) not in held:
            adopted.append(name)
    return adopted


def run_summary(result):
    """The one line a run prints, e.g. ``added 1 model, rotated GROQ_API_KEY, restarted in 7.4 s, verified
    2 models in 0.3 s`` or ``no change: 5 models, 3 keys as recorded``."""
    steps = {step["step"]: step for step in result.get("steps") or []}
    parts = []
    if "config" in steps:
        parts.append(steps["config"]["summary"])
    if "keys" in steps:
        parts.append(steps["keys"]["summary"])
    if "rollout" in steps:
        restarted = result.get("restarted_deployments") or []
        if len(restarted) > 1:
            done = "restarted %s" % " then ".join(restarted)
        else:
            done = "restarted" if result.get("restarted") else "waited for the rollout"
        parts.append("%s in %.1f s" % (done, steps["rollout"]["seconds"]))
    if "verify" in steps:
        parts.append(steps["verify"]["summary"])
    if parts:
        return ", ".join(parts)
    models, keys = len(result.get("expected_models") or []), len(result.get("managed_keys") or {})
    if result.get("would_change"):
        return "check mode: would %s" % plan_words(result)
    return "no change: %s, %s as recorded" % (_count(models, "model"), _count(keys, "key"))


def plan_words(result):
    config = result.get("config") or {}
    verbs = {"added": "add", "updated": "update", "removed": "remove"}
    words = ["%s %s" % (verbs[marker], _names(config[marker])) for marker in verbs if config.get(marker)]
    rotated = [key for change in (result.get("secrets") or {}).values() for key in change["added"] + change["updated"]]
    if rotated:
        words.append("write %s" % _names(sorted(rotated)))
    removed = [key for change in (result.get("secrets") or {}).values() for key in change.get("removed", [])]
    if removed:
        words.append("remove %s from the Secret" % _names(sorted(removed)))
    if (result.get("rollout") or {}).get("restart"):
        words.append("restart LiteLLM")
    return ", ".join(words) or "change nothing"


def cause_of(err, stopping, steps):
    """The original cause of a failed run, in one sentence."""
    from ._k8s import KubeError

    done = [step["step"] for step in steps]
    after = " (after: %s)" % ", ".join(done) if done else ""
    if not stopping and type(err).__name__ == "Stopped":
        stopping = str(err)
    if stopping:
        return "The run was stopped: %s%s" % (stopping, after)
    if isinstance(err, KeyboardInterrupt):
        return "The run was interrupted%s" % after
    if isinstance(err, KubeError):
        return "Kubernetes API error %s %s: %s%s" % (err.status, err.reason, err.message, after)
    text = str(err) or type(err).__name__
    return (
        text
        if type(err).__name__ in ("StepFailed", "RunFailure", "LockError")
        else "%s: %s"
        % (
            type(err).__name__,
            text,
        )
    )


def unusable_record(namespace, name, errors):
    """The sentence that says why the record Secret ``name`` cannot be restored (``errors`` from ``record_errors``)."""
    return "The record of the last verified state (Secret %s/%s) cannot be used: %s" % (
        namespace,
        name,
        "; ".join(error.rstrip(". ") for error in errors),
    )


def pending_note(pending):
    """What a run says when the live state holds per-step modules' changes not verified yet (record's pending)."""
    return (
        "Changes made by per-step modules since the last verified state are live but not verified: %s. This run "
        "verifies and records them; if it fails, they stay as written and only this run's own writes are undone."
        % kg.describe_pending(pending)
    )


def rollback_summary(report):
    if report.get("invalid_record"):
        return "record invalid: nothing restored"
    if report.get("failed"):
        return "failed"
    restored = report.get("restored") or []
    return ("restored " + _names(restored)) if restored else "nothing to restore"


def failure_message(cause, report):
    """The message of a failed run: the original cause first, then what the rollback did (never instead)."""
    cause = (cause or "A step failed").rstrip(". ") + "."
    if report.get("lock_lost"):
        lost = " This run lost its lock, so it wrote nothing more and restored nothing: another run may be changing"
        return cause + lost + " LiteLLM."
    if report.get("off"):
        return cause + " Rollback is off (litellm_rollback: false): the cluster is left as it is."
    if report.get("failed"):
        return cause + " Rolling back failed too: %s." % report["failed"].rstrip(". ")
    if report.get("invalid_record"):
        return "%s %s." % (cause, report["invalid_record"].rstrip(". "))
    parts = [cause]
    restored = report.get("restored") or []
    if not report.get("wrote_anything") and not report.get("had_restarted") and not restored:
        parts.append("This run had written nothing and restarted nothing, so nothing was rolled back.")
    elif restored:
        keys = report.get("secret_keys") or []
        parts.append(
            "Put back %s: %s%s."
            % (
                report.get("described") or "the last verified state",
                ", ".join(restored),
                " (the verified values of %s)" % ", ".join(keys) if keys else "",
            )
        )
        if report.get("found_keys"):
            parts.append(
                "Put back %s as this run found %s: the value another Deployment loading the same Secret verified."
                % (", ".join(report["found_keys"]), "it" if len(report["found_keys"]) == 1 else "them")
            )
    elif report.get("left_alone"):
        parts.append("Nothing was put back.")
    else:
        parts.append("Nothing this run wrote differed from the last verified state.")
    for note in report.get("left_alone") or []:
        parts.append("Left alone: %s." % note.rstrip(". "))
    if report.get("restarted"):
        verified = report.get("verify")
        if report.get("rollout_failed"):
            parts.append("Rolling LiteLLM back failed too: %s." % report["rollout_failed"].rstrip(". "))
        elif verified is not None and not verified.get("passed"):
            parts.append(
                "LiteLLM was rolled back, but does not serve as before: %s." % verified["summary"].rstrip(". ")
            )
        elif verified is not None:
            asked = [entry["model"] for entry in verified.get("smoke") or []]
            parts.append(
                "LiteLLM %s %d models%s."
                % (
                    "runs it again and serves" if restored else "serves",
                    len(verified.get("models") or []),
                    "; a request to %s was answered" % _names(asked) if asked else "",
                )
            )
        else:
            parts.append("LiteLLM was rolled back onto it (not verified: litellm_verify is false).")
    else:
        verified = report.get("verify")
        if verified is not None and not verified.get("passed"):
            parts.append(
                "LiteLLM was not restarted, but does not serve as before: %s." % verified["summary"].rstrip(". ")
            )
        else:
            asked = [entry["model"] for entry in (verified or {}).get("smoke") or []]
            parts.append(
                "LiteLLM was not restarted: it still runs what it ran before%s."
                % ("; a request to %s was answered" % _names(asked) if asked else "")
            )
    return " ".join(parts)


def run_report(result, failure=None):
    """The run report (JSON-ready) of an apply result: what was planned, done and proved; names only."""
    steps = {step["step"]: step for step in _get(result, "steps", default=[]) or []}
    verified = _get(result, "verify", default={}) or {}
    return {
        "summary": _get(result, "summary"),
        "steps": _get(result, "steps", default=[]),
        "target": _get(result, "target", default={}),
        "models": _get(result, "expected_models", default=[]),
        "added": _get(result, "config", "added", default=[]),
        "updated": _get(result, "config", "updated", default=[]),
        "removed": _get(result, "config", "removed", default=[]),
        "config_changed": "config" in steps,
        "keys_changed": sorted(
            key
            for change in (_get(result, "secrets", default={}) or {}).values()
            for key in change["added"] + change["updated"]
        )
        if "keys" in steps
        else [],
        "unverified": _get(result, "unverified", default={}),
        "provider_check": _get(result, "provider_check", default=[]),
        "warnings": _get(result, "warnings_list", default=[]),
        "restarted": bool(_get(result, "restarted", default=False)),
        "restarted_deployments": _get(result, "restarted_deployments", default=[]) or [],
        "deployments": _get(result, "deployments", default=[]) or [],
        "rollout_seconds": steps["rollout"]["seconds"] if "rollout" in steps else None,
        "ready": verified.get("ready"),
        "served_models": verified.get("models", []),
        "smoke": verified.get("smoke", []),
        "recorded": bool(_get(result, "recorded", default=False)),
        "rollback": _get(result, "rollback"),
        "failure": failure,
    }
