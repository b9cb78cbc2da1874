# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: one run of the role, as one transaction in one process.

observe -> plan -> preflight -> lock -> observe again under it -> write config -> write keys ->
restart and wait -> verify -> record -> release. Every write is appended to this run's journal as
soon as the API server has answered it; any failure, SIGINT/SIGTERM, or the end of the
ansible-playbook that started the run goes to ``rollback``, which puts the last verified state back
over this run's own writes only (and over the unverified state it took over), never over what
somebody else changed since, checks the record first as it checks a live config, restarts only
when this run restarted or restored something, and verifies what it restored with a request to
each model whose entry or key came back. ``kubernetes.core.helm`` with ``atomic: true`` is the
precedent; unlike an interrupted helm upgrade, nothing is left locked: the lock is a Lease that
expires, and the next run repairs from the record what a killed one left.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass, field

from .. import _k8s, _lock, _run
from .. import _known_good as kg
from .. import _outcome as outcome
from .. import _plan as pl
from .. import _pod_sources as pods
from .. import _rollout as rt
from .. import _wiring as wiring
from . import controller as ctl
from . import gitops
from . import observe as obs
from . import preflight as pre
from . import readers as rd
from . import rollout as ro
from . import verify as vf

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
MAX_PLAN_ATTEMPTS = 3
OBJECT_KINDS = {"configmaps": "ConfigMap", "secrets": "Secret"}


class Stopped(BaseException):
    """The run was told to stop (a signal, or its ansible-playbook is gone); a BaseException like
    KeyboardInterrupt, so that no ``except Exception`` on the way swallows it."""


class StepFailed(Exception):
    """A step failed after the run began writing; the message says what failed."""


@dataclass
class Settings:
    """A run as the role (or the module's options) asks for it."""

    namespace: str
    deployment: str
    request: pl.Request
    provider_check: str = "auto"
    provider_timeout: float = 5.0
    access_check: bool = True
    foreign_owner: str = "warn"
    lock_timeout: int = 300
    lock_duration: int = _lock.RunLock.DEFAULT_DURATION
    rollback: bool = True
    rollout_timeout: int = 300
    verify: bool = True
    smoke: bool = True
    checks: vf.Checks = field(default_factory=vf.Checks)
    verify_url: str = None
    verify_master_key: str = field(default=None, repr=False)
    validate_certs: bool = True
    ca_cert: str = None
    service: str = None
    port: int = None
    pod_template_drift: str = "warn"
    check_mode: bool = False
    diff: bool = False
    mode: str = "apply"  # or render, verify (run/gitops.py)
    render_format: str = "configmap"


@dataclass
class Write:
    """One write of this run, journalled when the API server answered it."""

    kind: str  # configmaps, secrets or deployments
    name: str
    resource_version: str  # what this run left the object at
    keys: dict = field(default_factory=dict, repr=False)  # secrets: {key: value this run wrote}


class Transaction:
    """One run; ``run()`` returns the result dict or raises ``_run.RunFailure`` with it."""

    def __init__(self, kube, settings, secrets, clock=time.monotonic, controller=None):
        self.kube = kube
        self.s = settings
        self.secrets = secrets  # a set: every value found is added, for Ansible to mask
        self.clock = clock
        self.steps = []
        self.journal = []
        self.warnings = []
        self.members = []  # the Deployments of this LiteLLM, in restart order (run/readers.py)
        self.lock = None
        self.stopping = None  # why the run was told to stop
        self.rolling_back = False
        self.watch = ctl.ControllerWatch(controller, self._controller_gone) if controller else None
        self._previous_handlers = {}

    # -- stop requests ------------------------------------------------------
    def _on_signal(self, signum, _frame):
        why = self.stopping or "it got %s" % signal.Signals(signum).name
        self.stopping = why
        if self.lock is not None:
            self.lock.abort.set()
        if not self.rolling_back:
            raise Stopped(why)

    def _controller_gone(self):
        self.stopping = "the ansible-playbook that started it (pid %d) is gone" % self.watch.identity[0]
        if self.lock is not None:
            self.lock.abort.set()
        ctl.interrupt_main_thread()

    def _install_handlers(self):
        for signum in SIGNALS:
            try:
                self._previous_handlers[signum] = signal.signal(signum, self._on_signal)
            except (ValueError, OSError):  # not the main thread (a unit test's worker)
                continue
        if self.watch is not None:
            self.watch.start()

    def _restore_handlers(self):
        if self.watch is not None:
            self.watch.stop()
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)

    # -- bookkeeping --------------------------------------------------------
    def _step(self, name, started, summary):
        self.steps.append({"step": name, "seconds": round(self.clock() - started, 2), "summary": summary})

    def _fence(self):
        if self.stopping and not self.rolling_back:
            raise Stopped(self.stopping)
        self.lock.renew()

    # -- the run ------------------------------------------------------------
    def run(self):
        self._install_handlers()
        try:
            return self._run()
        except (Stopped, KeyboardInterrupt) as err:
            if self.journal:
                raise
            # Stopped before its first write (after it, ``_fail`` answers): a message, not a traceback.
            report = {"wrote_anything": False, "had_restarted": False, "restored": []}
            raise _run.RunFailure(
                outcome.failure_message(outcome.cause_of(err, self.stopping, self.steps), report),
                {"steps": self.steps, "rollback": report, "warnings_list": self.warnings},
            )
        finally:
            self._restore_handlers()

    def _observe_and_plan(self, deployment=None):
        s = self.s
        observed, lease, record_secret = obs.observe(self.kube, s.namespace, s.deployment, s.request, deployment)
        self.secrets.update(_run.secret_values_of(observed.objects))
        hpas, hpa_warning = rd.read_hpas(self.kube, s.namespace)
        observed.hpa = rd.hpa_of(hpas, s.deployment)
        plan = pl.plan_run(s.namespace, observed, s.request)
        # Every Deployment that reads the config is part of the run (run/readers.py).
        self.members = rd.plan_members(self.kube, s.namespace, plan, observed, s.request, hpas)
        rd.extend_plan(s.namespace, plan, self.members)
        plan.warnings += [hpa_warning] if hpa_warning else []
        return observed, lease, record_secret, plan

    def _run(self):
        s = self.s
        started = self.clock()
        deployment = None
        try:
            # The Deployment first: when a later read is refused, its wiring names the rights the run needs.
            deployment = self.kube.get("deployments", s.namespace, s.deployment)
            observed, lease, record_secret, plan = self._observe_and_plan(deployment)
            container = wiring.litellm_container(observed.deployment, s.request.container)
            service = (
                (None, None)
                if s.verify_url
                else obs.find_service(self.kube, s.namespace, observed.deployment, container, s.service, s.port)
            )
        except _k8s.KubeError as err:
            self._step("plan", started, "refused")
            if err.status == 403 and s.access_check:
                raise pl.PlanError([pre.forbidden_read_message(self.kube, err, self._params(), s.request, deployment)])
            raise
        except Exception:
            # A refused config (an alias bomb, a text no ConfigMap holds) says how long the refusal took.
            self._step("plan", started, "refused")
            raise
        self.service = service
        self._step("plan", started, outcome.plan_summary(plan))
        if s.mode != "apply":
            return gitops.run_mode(self, plan, observed, lease, record_secret)
        self.warnings += plan.warnings
        record_problems = kg.record_errors(observed.record) if observed.record is not None else []
        if record_problems:
            # Not "rolls it back": a failure of this run finds nothing it may restore.
            self.warnings.append(
                "%s. If this run fails, nothing can be put back from it; fix or delete that Secret (a run that "
                "succeeds records a new one)."
                % outcome.unusable_record(s.namespace, kg.record_name(s.deployment), record_problems)
            )
        elif plan.unverified["config"] or plan.unverified["keys"]:
            self.warnings.append(
                "The live state differs from the last verified one (recorded %s): %s. This run verifies it "
                "and rolls it back to that state if it fails."
                % (plan.unverified["recorded_at"], _run.describe_unverified(plan.unverified))
            )
        elif plan.unverified["pending"]:
            self.warnings.append(outcome.pending_note(plan.unverified["pending"]))
        if plan.unverified["failing_rollout"]:
            self.warnings.append("LiteLLM's current rollout is failing: %s" % plan.unverified["failing_rollout"])
        self.warnings += self._pod_template_drift(observed)
        self.lease = lease
        checked = self._preflight(plan, observed, lease, record_secret, service)
        result = self._result(plan, observed, checked)
        if not plan.work["any"] or s.check_mode:
            result["changed"] = bool(s.check_mode and result["would_change"])
            result["summary"] = outcome.run_summary(result)
            return result

        return self.locked(lambda: self._under_lock(result, checked))

    def locked(self, work):
        """``work()`` under the run lock, freed whatever comes: one run at a time per LiteLLM, the Lease
        of every Deployment of the set (_lock.SetLock). Also the lock of a verify run (run/gitops.py)."""
        s = self.s
        started = self.clock()
        self.lock = _lock.SetLock(
            self.kube,
            s.namespace,
            [member.name for member in self.members],
            _run.holder_identity(_run.new_run_token()),
            duration=s.lock_duration,
        )
        self.run_token = self.lock.holder.rsplit("run=", 1)[1]
        if self.stopping:
            self.lock.abort.set()
        try:
            self.lock.acquire(s.lock_timeout)
            self.lock.keep()
            if self.lock.took_over:
                self.warnings.append(self.lock.took_over)
            self._step("lock", started, "took over an expired lock" if self.lock.took_over else "lock taken")
            return work()
        finally:
            # From here on a signal is noted, not raised: the lock is freed whatever comes.
            self.rolling_back = True
            self.lock.release()

    def _preflight(self, plan, observed, lease, record_secret, service, known=None):
        s = self.s
        started = self.clock()
        problems = pre.owner_problems(plan, observed, s.foreign_owner)
        if problems and s.foreign_owner == "refuse":
            raise pl.PlanError(problems + [gitops.REFUSED_HINT])
        self.warnings += [problem for problem in problems if problem not in self.warnings]
        if plan.work["any"] and s.access_check and known is None:
            skipped, missing = pre.check_access(
                self.kube, plan, lease, record_secret, service, self._params(), [m.name for m in self.members]
            )
            self.warnings += skipped
            if missing:
                raise pl.PlanError([pre.access.missing_message(missing, s.namespace)])
        self._known_checks = self._known_checks if known is not None else set()
        errors, provider_warnings, checked = pre.check_providers(
            s.provider_check, s.provider_timeout, plan, s.request, observed, self._known_checks
        )
        if errors:
            raise pl.PlanError(errors)
        self.warnings += provider_warnings
        if checked or known is None:
            self._step("preflight", started, outcome.preflight_summary(checked))
        return checked

    def _pod_template_drift(self, observed):
        """[the warning] when the pod template loads other sources than the record says (refused with
        ``pod_template_drift`` fail: nothing is written), else []."""
        s = self.s
        drift = pods.record_drift(observed.record, observed.deployment)
        if not (drift["added"] or drift["removed"]):
            return []
        message = pods.drift_message(s.namespace, s.deployment, drift["added"], drift["removed"], drift["recorded_at"])
        if s.pod_template_drift == "fail":
            raise pl.PlanError([message + " (litellm_pod_template_drift is fail)"])
        return [message]

    def _params(self):
        s = self.s
        return {
            "namespace": s.namespace,
            "deployment": s.deployment,
            "container": s.request.container,
            "configmap": s.request.configmap,
            "secret": s.request.secret,
            "service": s.service,
            "port": s.port,
            "verify_url": s.verify_url,
        }

    def _result(self, plan, observed, checked):
        would_change = plan.work["config"] or plan.work["secret"] or any(member.restart for member in self.members)
        target = dict(
            plan.target,
            service=self.service[0],
            port=self.service[1],
            discover_service=pre.discovers_service(self._params()),
            deployments=[member.name for member in self.members],
            # The set's lock and record: every member's (the named one's alone for a set of one).
            leases=_lock.set_lease_names(member.name for member in self.members),
            records=sorted(kg.record_name(member.name) for member in self.members),
        )
        result = dict(
            changed=False,
            would_change=bool(would_change),
            work=plan.work,
            target=target,
            config=plan.config,
            secrets=plan.secrets,
            rollout=plan.rollout,
            unverified=plan.unverified,
            smoke_models=plan.smoke_models,
            expected_models=plan.expected_models,
            managed_keys=plan.managed_keys,
            provider_check=checked,
            resource_versions=plan.resource_versions,
            lock={
                "name": _lock.lease_name(self.s.deployment),
                "holder": _lock.lease_holder(self.lease)[0] if self.lease else "",
                "renewed": ((self.lease or {}).get("spec") or {}).get("renewTime"),
                "duration": ((self.lease or {}).get("spec") or {}).get("leaseDurationSeconds"),
            },
            known_good={
                "name": kg.record_name(self.s.deployment),
                "exists": observed.record is not None,
                "verified": observed.record.verified if observed.record else None,
                "recorded_at": observed.record.recorded_at if observed.record else None,
            },
            deployments=rd.describe(self.members),
            pod_template=pods.record_drift(observed.record, observed.deployment),
            steps=self.steps,
            warnings_list=self.warnings,
        )
        if self.s.diff and plan.diffs:
            result["diff"] = plan.diffs
        return result

    def _under_lock(self, result, checked):
        s = self.s
        for _attempt in range(MAX_PLAN_ATTEMPTS):
            # Under the lock: what another run did meanwhile counts.
            started = self.clock()
            observed, self.lease, record_secret, plan = self._observe_and_plan()
            if self.lock.cover([member.name for member in self.members], s.lock_timeout):
                # A Deployment joined the set before this run held it: read again under its Lease too.
                self._step("lock", started, "the set grew: took the Leases of %s" % ", ".join(self.lock.names))
                continue
            self._pod_template_drift(observed)
            checked = checked + self._preflight(plan, observed, None, None, self.service, known=self._known_checks)
            # The Deployments of this LiteLLM are no neighbours: their keys are restored with the set's record.
            readers = obs.other_readers(
                self.kube,
                s.namespace,
                s.deployment,
                set(plan.target["secrets"]) | self._managed_secrets(plan),
                exclude={member.name for member in self.members},
            )
            self.warnings += [
                warning
                for warning in rd.other_reader_warnings(self.kube, s.namespace, plan, self.members, readers)
                if warning not in self.warnings
            ]
            adopted_keys = outcome.adopted_keys(plan, observed, readers)
            self._step("observe", started, "read again under the lock")
            result.update(self._result(plan, observed, checked))
            result["unverified"] = dict(plan.unverified, keys=adopted_keys)
            if not plan.work["any"]:
                result["summary"] = outcome.run_summary(result)
                return result
            self.plan, self.observed, self.readers = plan, observed, readers
            self.record = observed.record
            self.adopted = {
                "config": plan.unverified["config"] or bool(plan.unverified["failing_rollout"]),
                "keys": adopted_keys if not plan.unverified["failing_rollout"] else sorted(plan.managed_keys),
                "config_version": plan.config["resource_version"],
                "secret_versions": dict(plan.resource_versions["secrets"]),
            }
            if observed.record is None:
                self._record_baseline(plan, observed, record_secret)
            try:
                return self._apply(result)
            except _k8s.KubeError as err:
                if err.status != 409 or self.journal:
                    raise self._fail(err)
                # Someone wrote between the read under the lock and this run's first write: plan again.
            except BaseException as err:
                raise self._fail(err)
        raise self._fail(StepFailed("the config kept changing under this run (%d conflicts)" % MAX_PLAN_ATTEMPTS))

    def _managed_secrets(self, plan):
        return {where["secret"] for where in plan.managed_keys.values()}

    def _record_baseline(self, plan, observed, record_secret):
        # A baseline only of what LiteLLM demonstrably runs: a rollout complete, and a pod template
        # whose digest (when it has one) is that of the live config and keys.
        runs_live = plan.rollout["digest_now"] in (None, plan.rollout["digest_live"])
        if plan.rollout["complete"] and runs_live:
            self.record = _run.record_set_state(
                self.kube, self.s.namespace, self.members, plan, observed, self.run_token, "baseline", self._fence
            )
            self.warnings.append(
                "There was no record of a verified state yet: recorded the state LiteLLM runs now as the baseline."
            )

    def _apply(self, result):
        s, plan = self.s, self.plan
        if plan.work["config"]:
            started = self.clock()
            self._write_config()
            self._step("config", started, outcome.config_summary(plan.config))
        if plan.work["secret"]:
            started = self.clock()
            for secret in sorted(plan.secrets):
                self._write_keys(secret)
            self._step("keys", started, outcome.keys_summary(plan))
        restarted = False
        if plan.work["rollout"]:
            started = self.clock()
            restarted, summary = self._restart_members()
            self._step("rollout", started, summary)
            result["restarted_deployments"] = restarted
        result["restarted"] = bool(restarted)
        verified = None
        if s.verify:
            started = self.clock()
            verified = self._verify(plan.expected_models, plan.smoke_models if s.smoke else [])
            result["verify"] = verified
            if not verified["passed"]:
                raise StepFailed("LiteLLM verification failed: " + verified["summary"])
            self._step("verify", started, outcome.verify_summary(verified))
        started = self.clock()
        _run.record_set_state(
            self.kube,
            s.namespace,
            self.members,
            plan,
            self.observed,
            self.run_token,
            "true" if verified else "baseline",
            self._fence,
        )
        self._step("record", started, "recorded as the last verified state")
        result["changed"] = bool(self.journal)
        result["recorded"] = True
        result["summary"] = outcome.run_summary(result)
        return result

    # -- writes ---------------------------------------------------------------
    def _journal_write(self, kind, name, written, keys=None):
        self.journal.append(Write(kind, name, written["metadata"]["resourceVersion"], dict(keys or {})))

    def _write_config(self):
        plan = self.plan
        configmap = dict(self.observed.configmap)
        configmap["data"] = dict(configmap.get("data") or {}, **{plan.target["config_key"]: plan.config_text})
        self._fence()
        written = self._put("configmaps", configmap)
        self._journal_write("configmaps", plan.target["configmap"], written)

    def _write_keys(self, secret):
        change = self.plan.secrets[secret]
        values = {
            where["key"]: str(self.s.request.api_keys[name])
            for name, where in self.plan.target["key_targets"].items()
            if where["secret"] == secret and where["key"] in change["added"] + change["updated"]
        }
        values.update(dict.fromkeys(change.get("removed", [])))  # litellm_remove_keys
        if not values:
            return
        current = self.observed.objects[(wiring.SECRET, secret)]
        for _attempt in range(_k8s.MAX_CONFLICT_RETRIES):
            if current.get("immutable"):
                raise StepFailed(
                    "Secret %s/%s is immutable; Kubernetes refuses any change of its data. Delete and "
                    "recreate it, or load the keys from a mutable Secret." % (self.s.namespace, secret)
                )
            self._fence()
            try:
                written = self._put("secrets", kg.apply_key_values(current, values))
            except _k8s.KubeError as err:
                if not err.conflict:
                    raise
                # Another writer changed other keys of this Secret: this run's keys go onto its version.
                current = self.kube.get("secrets", self.s.namespace, secret)
                if current is None:
                    raise StepFailed("Secret %s/%s was deleted while this run wrote it" % (self.s.namespace, secret))
                self.secrets.update(_run.secret_values_of({(wiring.SECRET, secret): current}))
                continue
            self._journal_write("secrets", secret, written, values)
            return
        raise _k8s.ConflictError("Secret", self.s.namespace, secret, _k8s.MAX_CONFLICT_RETRIES)

    def _put(self, kind, body):
        """PUT with the version read; on an answer that leaves the outcome open (a timeout, a 5xx
        after the write may have reached etcd) read back whether the object now holds the body."""
        name = body["metadata"]["name"]
        try:
            return self.kube.replace(kind, self.s.namespace, body)
        except _k8s.KubeError as err:
            if err.conflict:
                raise  # the callers read again and retry
            if err.status not in (400, 403, 404, 422):
                live = self.kube.get(kind, self.s.namespace, name)
                if live is not None and live.get("data") == body.get("data"):
                    return live
            # The API server's message does not say which of this run's writes it refused.
            raise _k8s.KubeError(
                err.status,
                err.reason,
                "writing %s %s/%s: %s" % (OBJECT_KINDS[kind], self.s.namespace, name, err.message),
            )

    def _restart_members(self):
        """Restart each Deployment of the set that reads something that changed, in the set's order
        (the named one last), waiting for each; ``([names restarted], step summary)``."""
        restarted, waited = [], []
        for member in self.members:
            if (
                member.primary
                and not member.restart
                and self.plan.work["rollout"]
                and not self.plan.rollout["complete"]
            ):
                self._restart(member, False)
                waited.append(member.name)
            elif member.restart:
                self._restart(member, True)
                restarted.append(member)
        return [member.name for member in restarted], rd.rollout_summary(restarted, waited)

    def _restart(self, member, restart):
        s = self.s
        wait = ro.Wait(
            s.namespace, member.name, timeout=s.rollout_timeout, hpa=(member.hpa or {}).get("metadata", {}).get("name")
        )
        if restart:
            # An equal digest (a removed key, force) rolls only with a new time stamp on the template.
            restarted_at = _run.now_text() if member.digest_after == member.digest_now else None
            assessment, deployment, _pods, _rs, _seconds = ro.restart_and_wait(
                self.kube,
                wait,
                member.digest_after,
                restarted_at,
                fence=lambda: self._fence_and_journal_restart(member.name),
            )
        else:
            assessment, deployment, _pods, _rs = ro.wait_for_rollout(self.kube, wait, self.clock() + wait.timeout)
        if assessment.state != rt.DONE:
            raise StepFailed(ro.failure_of(self.kube, wait, assessment, self.secrets))
        return restart

    def _fence_and_journal_restart(self, name):
        self._fence()
        # Journalled before the patch: a restart whose answer is lost still counts as this run's.
        self.journal.append(Write("deployments", name, None))

    def _verify(self, expected, smoke):
        s = self.s
        checks = vf.Checks(
            expected_models=list(expected),
            smoke_models=list(smoke),
            max_tokens=s.checks.max_tokens,
            max_latency=s.checks.max_latency,
            readiness_timeout=s.checks.readiness_timeout,
            request_timeout=s.checks.request_timeout,
        )
        if s.verify_url:
            send, via = vf.url_sender(s.verify_url, s.validate_certs, s.ca_cert), vf.v.VIA_URL
        else:
            send, via = vf.service_proxy_sender(self.kube, s.namespace, *self.service), vf.v.VIA_SERVICE_PROXY
        master_key, values = self._master_key()
        self.secrets.update(values)
        return vf.verify(checks, send, master_key, via, self.secrets)

    def _master_key(self):
        s = self.s
        if s.verify_master_key:
            return s.verify_master_key, {s.verify_master_key}
        where = self.plan.target["master_key"]
        if where is None:
            raise StepFailed(
                "LiteLLM's master key is not in a Secret the run can read (%s); give it as litellm_verify_master_key"
                % (self.plan.target.get("master_key_var") or "written literally in config.yaml")
            )
        secret = self.kube.get("secrets", s.namespace, where["secret"])
        return vf.master_key_from(secret, s.namespace, where["secret"], where["key"])

    # -- failure --------------------------------------------------------------
    def _fail(self, err):
        """The run failed after it took the lock: roll back, and the failure to raise."""
        self.rolling_back = True
        cause = outcome.cause_of(err, self.stopping, self.steps)
        if isinstance(err, _lock.LockError):
            report = {"lock_lost": str(err)}
        elif not self.s.rollback:
            report = {"off": True}
        else:
            started = self.clock()
            try:
                report = self.rollback()
            except BaseException as rollback_err:  # noqa: B036 - a rollback failure is reported, not raised
                report = {"failed": outcome.cause_of(rollback_err, None, [])}
            self._step("rollback", started, outcome.rollback_summary(report))
        message = outcome.failure_message(cause, report)
        return _run.RunFailure(message, {"steps": self.steps, "rollback": report, "warnings_list": self.warnings})

    def rollback(self):
        """Put the last verified state back over this run's writes and what it took over; verify it."""
        from . import rollback as rb

        return rb.Rollback(self).run()
