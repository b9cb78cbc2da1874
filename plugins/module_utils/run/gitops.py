# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: the run for installs a GitOps controller owns.

When Helm under Argo CD or Flux owns LiteLLM's ConfigMap, a write beside that controller is
reverted at its next sync. Two modes of ``litellm_apply`` leave every write to it:

* ``render``: read once (no lock, no write to the cluster), plan the merge as ``apply`` does, ask the
  providers about the keys and models as ``apply`` does, and hand back the files the operator's
  repository needs (``config.render``); litellm_apply's action plugin writes them on the controller.
* ``verify``: after the controller synced, check that the cluster holds what the same plan asks for
  (the config, and the vault's keys in the Secrets the pods load: compared in memory, never shown),
  take the lock, wait for the rollout under way, prove LiteLLM as ``apply`` does (readiness, every
  expected model listed, a request to the models not yet proved), and record the verified state.
  It writes nothing but that record, so a failure has nothing to roll back.
"""

from __future__ import annotations

from .. import _known_good as kg
from .. import _plan as pl
from .. import _rollout as rt
from .. import _run
from ..config import checks as config_checks
from ..config import render as rd
from . import preflight as pre
from . import rollout as ro

MODES = ("apply", "render", "verify")
REFUSED_HINT = (
    "litellm_foreign_owner is refuse. To keep the models in that tool's source instead, run with "
    "litellm_apply_mode: render (it writes the chart values or config.yaml to commit), and with "
    "litellm_apply_mode: verify once the sync is done"
)


def pending_changes(plan):
    """What the cluster does not hold yet of the planned state, as phrases (names only, never a value)."""
    config = plan.config
    parts = []
    if config["changed"]:
        words = []
        if config["added"]:
            words.append("the models %s" % ", ".join(config["added"]))
        if config["updated"]:
            words.append("the new entries of %s" % ", ".join(config["updated"]))
        if config["removed"]:
            words.append("the removal of %s" % ", ".join(config["removed"]))
        parts.append(
            "%s in ConfigMap %s/%s"
            % (" and ".join(words) or "the merged config.yaml", plan.target["namespace"], plan.target["configmap"])
        )
    for secret, change in sorted(plan.secrets.items()):
        where = "Secret %s/%s" % (plan.target["namespace"], secret)
        if change["added"]:
            parts.append("the keys %s in %s" % (", ".join(change["added"]), where))
        if change["updated"]:
            parts.append("the vault's values of %s in %s (they differ)" % (", ".join(change["updated"]), where))
    return parts


def pending_message(parts):
    return (
        "the cluster does not yet have %s; sync your GitOps app (commit what litellm_apply_mode: render wrote, "
        "put the keys into the Secret) and run litellm_apply_mode: verify again. Nothing was written" % "; ".join(parts)
    )


def verify_smoke_models(plan, request, record):
    """The models a verify run sends a request to: the explicit list, all the managed ones with scope
    ``all``, else those not proved since the last verified record (all of them without one)."""
    managed = plan.config["managed_models"]
    unproved = plan.unverified["models"] if record is not None and record.verified == "true" else managed
    return pl.smoke_selection(request.smoke_scope, request.smoke_models, [], [], unproved, managed)


def needs_record(plan, record):
    """Whether the record differs from what a passing verify proves (the live config, keys and models)."""
    if record is None or record.verified != "true":
        return True
    return bool(plan.unverified["config"] or plan.unverified["keys"] or list(record.models) != plan.expected_models)


def member_records(kube, namespace, members):
    """The records of the set's other Deployments (None for one missing or unreadable): every member's
    record holds the set's last verified state (``_run.record_set_state``)."""
    records = []
    for member in members:
        if member.primary:
            continue
        try:
            records.append(kg.read_record(kube.get("secrets", namespace, kg.record_name(member.name))))
        except kg.RecordError:
            records.append(None)
    return records


def run_mode(tx, plan, observed, lease, record_secret):
    """The result of ``tx`` (a Transaction) in mode render or verify, after its first read and plan."""
    tx.warnings += [warning for warning in plan.warnings if warning not in tx.warnings]
    tx.lease = lease
    if tx.s.mode == "render":
        return render(tx, plan, observed)
    return Verify(tx).run(plan, observed, record_secret)


def _result(tx, plan, observed, checked, mode):
    result = tx._result(plan, observed, checked)
    result.pop("diff", None)
    result.update(mode=mode, pending=pending_changes(plan))
    return result


def render(tx, plan, observed):
    s = tx.s
    started = tx.clock()
    errors, provider_warnings, checked = pre.check_providers(
        s.provider_check, s.provider_timeout, plan, s.request, observed, set()
    )
    if errors:
        raise pl.PlanError(errors)
    tx.warnings += provider_warnings
    tx._step("preflight", started, "providers: %d checked" % len(checked))
    secrets = set(tx.secrets) | config_checks.literal_credentials(plan.model_entries)
    target = dict(plan.target, key_targets=plan.managed_keys)
    try:
        files = rd.render_files(s.render_format, plan.config_text, target, secrets)
    except rd.RenderError as err:
        raise pl.PlanError([str(err)])
    result = _result(tx, plan, observed, checked, "render")
    result["rendered"] = {"format": s.render_format, "files": files}
    result["summary"] = "rendered %s for %s: %d models, %d keys (names only)%s" % (
        ", ".join(sorted(files)),
        s.render_format,
        len(plan.expected_models),
        len(plan.managed_keys),
        "; the cluster does not have them yet" if result["pending"] else "; the cluster already has them",
    )
    return result


class Verify:
    """``litellm_apply_mode: verify``: check, prove and record what a GitOps controller synced."""

    def __init__(self, tx):
        self.tx = tx
        self.s = tx.s

    def _fail(self, message):
        tx = self.tx
        return _run.RunFailure(message, {"steps": tx.steps, "warnings_list": tx.warnings, "mode": "verify"})

    def _check_synced(self, plan):
        pending = pending_changes(plan)
        if pending:
            raise self._fail(pending_message(pending))
        if plan.rollout["failure"]:
            raise self._fail(
                "LiteLLM's rollout is failing: %s. Nothing was written; fix it in your GitOps source"
                % plan.rollout["failure"]
            )

    def run(self, plan, observed, record_secret):
        tx, s = self.tx, self.s
        self._check_synced(plan)
        result = _result(tx, plan, observed, [], "verify")
        if s.check_mode:
            result["changed"] = needs_record(plan, observed.record)
            result["summary"] = "check mode: the cluster has the planned state; would verify and record it"
            return result
        return tx.locked(lambda: self._under_lock(result))

    def _under_lock(self, result):
        tx, s = self.tx, self.s
        started = tx.clock()
        observed, tx.lease, record_secret, plan = tx._observe_and_plan()
        if tx.lock.cover([member.name for member in tx.members], s.lock_timeout):
            observed, tx.lease, record_secret, plan = tx._observe_and_plan()  # a Deployment joined the set
        self._check_synced(plan)
        tx._step("observe", started, "read again under the lock")
        result.update(_result(tx, plan, observed, [], "verify"))
        tx.plan, tx.observed = plan, observed
        if not plan.rollout["complete"]:
            started = tx.clock()
            wait = ro.Wait(s.namespace, s.deployment, timeout=s.rollout_timeout)
            assessment, _deployment, _pods, _rs = ro.wait_for_rollout(tx.kube, wait, tx.clock() + wait.timeout)
            if assessment.state != rt.DONE:
                raise self._fail(ro.failure_of(tx.kube, wait, assessment, tx.secrets) + ". Nothing was written")
            tx._step("rollout", started, "waited for the rollout under way")
        verified = None
        if s.verify:
            started = tx.clock()
            smoke = verify_smoke_models(plan, s.request, observed.record) if s.smoke else []
            verified = tx._verify(plan.expected_models, smoke)
            result["verify"] = verified
            if not verified["passed"]:
                raise self._fail(
                    "LiteLLM verification failed: %s. Nothing was written and nothing rolled back (this mode "
                    "writes only the record)" % verified["summary"]
                )
            tx._step("verify", started, verified["summary"])
        recorded = needs_record(plan, observed.record) or any(
            needs_record(plan, record) for record in member_records(tx.kube, s.namespace, tx.members)
        )
        if recorded:
            started = tx.clock()
            _run.record_set_state(
                tx.kube,
                s.namespace,
                tx.members,
                plan,
                observed,
                tx.run_token,
                "true" if verified else "baseline",
                tx._fence,
            )
            tx._step("record", started, "recorded as the last verified state")
        result.update(changed=recorded, recorded=recorded, restarted=False)
        result["summary"] = "%s; %s" % (
            verified["summary"] if verified else "verification off",
            "recorded as the last verified state" if recorded else "the record already holds this state",
        )
        return result
