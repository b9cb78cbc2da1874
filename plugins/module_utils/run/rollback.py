# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: undo a failed run's own writes, and prove it.

The target is the record of the last verified state (or, when there is none, what the run found
before it wrote). The record is input like any other: it is checked as a live config is before
anything is restored from it, and an invalid record is never written. Only objects in this run's
journal, or the unverified state it took over, are restored, and only while they are as the run
left them: a key or config changed by somebody else since stays. A key value in a Secret that
another LiteLLM Deployment loads is written back only when that Deployment's own record holds it,
so a rollback never hands a revoked key to a neighbour. A key this run added that the record does
not know goes back to what the run found (removed), unless the live config still uses it. What was
restored is verified like a change: readiness, every recorded model listed, a request to each model
whose entry or key came back.
"""

from __future__ import annotations

from .. import _known_good as kg
from .. import _outcome as outcome
from .. import _plan as pl
from .. import _rollout as rt
from .. import _wiring as wiring
from ..config.envvars import referenced_env_vars
from ..config.plan import changed_model_names, read_config
from . import observe as obs
from . import readers as rd
from . import rollout as ro


class Rollback:
    def __init__(self, transaction):
        self.tx = transaction
        self.s = transaction.s
        self.kube = transaction.kube
        self.used_by_live_config = None
        self.deployments = None
        self.report = {
            "restored": [],
            "secret_keys": [],
            "found_keys": [],  # put back as this run found them, not as recorded (another Deployment's)
            "left_alone": [],
            "recorded_at": None,
            "restarted": False,
            "rollout_failed": None,
            "verify": None,
            "wrote_anything": any(w.kind != "deployments" for w in transaction.journal),
            "had_restarted": any(w.kind == "deployments" for w in transaction.journal),
        }

    # -- what to go back to -------------------------------------------------
    def target(self):
        """The record to restore, or (without one) what this run found before it wrote."""
        tx = self.tx
        if tx.record is not None and not tx.plan.unverified.get("pending"):
            return tx.record, "the last verified state (recorded %s)" % tx.record.recorded_at
        plan, observed = tx.plan, tx.observed
        text = ((observed.configmap or {}).get("data") or {}).get(plan.target["config_key"])
        secrets = {name: obj for (kind, name), obj in observed.objects.items() if kind == wiring.SECRET}
        locations = {name: (where["secret"], where["key"]) for name, where in plan.managed_keys.items()}
        doc, _errors = read_config(text or "")
        models = [entry.get("model_name") for entry in (doc or {}).get("model_list") or []]
        before = kg.KnownGood(
            text or "",
            plan.target["configmap"],
            plan.target["config_key"],
            kg.live_key_values(secrets, locations),
            models,
            "before",
            None,
            None,
        )
        if tx.record is not None:
            # The operator's own change by per-step modules (the record's pending part) is not this run's to undo.
            return before, "the state this run found (with the changes of %s, which stay)" % (
                kg.describe_pending(tx.plan.unverified["pending"])
            )
        return before, "the state this run found (there was no verified state to go back to)"

    def run(self):
        record, described = self.target()
        self.report["described"] = described
        self.report["recorded_at"] = record.recorded_at
        errors = kg.record_errors(record)
        if errors:
            self.report["invalid_record"] = (
                "%s. Nothing was restored from it and LiteLLM was not restarted onto it; fix or delete that Secret"
                % outcome.unusable_record(self.s.namespace, kg.record_name(self.s.deployment), errors)
            )
            return self.report
        restored_config = self.restore_config(record)
        restored_keys = self.restore_keys(record)
        self.note_keys_verified_elsewhere(record)
        adopted_failing = bool(self.tx.plan.unverified["failing_rollout"])
        if not (restored_config or restored_keys or self.report["had_restarted"] or adopted_failing):
            return self.report
        if not self.restart(restored_config, adopted_failing):
            return self.report
        self.verify(record, restored_config, restored_keys)
        return self.report

    # -- config ---------------------------------------------------------------
    def _owned_version(self, kind, name, adopted_version):
        """The resourceVersion this run left ``name`` at (its last write, else the one it took over)."""
        for write in reversed(self.tx.journal):
            if (write.kind, write.name) == (kind, name):
                return write.resource_version
        return adopted_version

    def restore_config(self, record):
        tx, namespace = self.tx, self.s.namespace
        label = "ConfigMap %s/%s" % (namespace, record.configmap)
        live = self.kube.get("configmaps", namespace, record.configmap)
        if live is None:
            self.report["left_alone"].append("%s is gone" % label)
            return False
        live_text = (live.get("data") or {}).get(record.config_key)
        if live_text == record.config_text:
            return False
        adopted = tx.adopted["config_version"] if tx.adopted["config"] else None
        owned = self._owned_version("configmaps", record.configmap, adopted)
        if owned is None:
            self.report["left_alone"].append(
                "%s differs from %s, but this run did not write it" % (label, "the record")
            )
            return False
        if str(live["metadata"]["resourceVersion"]) != str(owned):
            self.report["left_alone"].append(
                "%s was changed by someone else after this run wrote it (resourceVersion %s, this run left %s): "
                "what is live there now stays" % (label, live["metadata"]["resourceVersion"], owned)
            )
            return False
        tx._fence()
        body = dict(live, data=dict(live.get("data") or {}, **{record.config_key: record.config_text}))
        self.kube.replace("configmaps", namespace, body)
        self.report["restored"].append(label)
        self.failed_text = live_text
        return True

    # -- keys -----------------------------------------------------------------
    def _wanted_keys(self, record):
        """``{secret: {key: (variable, value to restore)}}`` of the keys this run may restore (None: remove),
        and ``{secret: {key: value this run wrote}}``."""
        tx = self.tx
        written = {}
        for write in tx.journal:
            if write.kind == "secrets":
                written.setdefault(write.name, {}).update(write.keys)
        adopted = {
            tuple(tx.plan.managed_keys[name].values()): name
            for name in tx.adopted["keys"]
            if name in tx.plan.managed_keys
        }
        wanted = {}
        for variable, (secret, key, value) in sorted(record.keys.items()):
            if key in written.get(secret, {}) or (secret, key) in adopted:
                wanted.setdefault(secret, {})[key] = (variable, value)
        # A key the record does not know (a provider added after it was recorded) goes back to what this
        # run found before it wrote it: usually absent, so it is removed again.
        recorded = {(secret, key) for secret, key, _value in record.keys.values()}
        variables = {(where["secret"], where["key"]): name for name, where in tx.plan.target["key_targets"].items()}
        for secret, keys in sorted(written.items()):
            found = (tx.observed.objects.get((wiring.SECRET, secret)) or {}).get("data") or {}
            for key in sorted(keys):
                if (secret, key) not in recorded:
                    wanted.setdefault(secret, {})[key] = (variables.get((secret, key), key), kg.decoded(found.get(key)))
        return wanted, written

    def _neighbour_objection(self, secret, key, value):
        """Why ``value`` may not go back into ``secret``/``key`` (another Deployment loads it), or None."""
        for reader, found in sorted(self.tx.readers.items()):
            if secret not in found.secrets:
                continue
            held = None
            if found.record is not None:
                held = {(s, k): v for s, k, v in found.record.keys.values()}.get((secret, key), "<not recorded>")
            if held != value:
                return (
                    "Secret %s/%s key %s is also loaded by Deployment %s, whose last verified state does not hold the "
                    "value this rollback would write back: what is live there stays"
                    % (self.s.namespace, secret, key, reader)
                )
        return None

    def _used_by_live_config(self, record):
        """The variables the live config references (read once, after the config was restored or left)."""
        if self.used_by_live_config is None:
            live = self.kube.get("configmaps", self.s.namespace, record.configmap) or {}
            doc, _errors = read_config(((live.get("data") or {}).get(record.config_key)) or "")
            self.used_by_live_config = set(referenced_env_vars(doc or {}))
        return self.used_by_live_config

    def restore_keys(self, record):
        tx, namespace = self.tx, self.s.namespace
        self.restored_pairs = set()
        wanted, written = self._wanted_keys(record)
        restored_any = False
        for secret, keys in sorted(wanted.items()):
            label = "Secret %s/%s" % (namespace, secret)
            for _attempt in range(5):
                live = self.kube.get("secrets", namespace, secret)
                if live is None:
                    self.report["left_alone"].append("%s is gone" % label)
                    break
                data = live.get("data") or {}
                values, variables, found_instead = {}, [], []
                for key, (variable, value) in sorted(keys.items()):
                    current = kg.decoded(data[key]) if key in data else None
                    if current == value:
                        continue
                    found = kg.decoded(
                        ((tx.observed.objects.get((wiring.SECRET, secret)) or {}).get("data") or {}).get(key)
                    )
                    # Written by this run (None: removed): it must be as written; taken over, not written: as the
                    # run found it.
                    expected = written[secret][key] if key in written.get(secret, {}) else found
                    if current != expected:
                        self.report["left_alone"].append(
                            "%s key %s was changed by someone else after this run began: what is live there now stays"
                            % (label, key)
                        )
                        continue
                    if value is None and variable in self._used_by_live_config(record):
                        self.report["left_alone"].append(
                            "%s key %s stays: the live config still uses %s" % (label, key, variable)
                        )
                        continue
                    objection = self._neighbour_objection(secret, key, value)
                    # This run's own write must not stay: the value it replaced goes back when every other
                    # Deployment loading the Secret verified that one (it rotated the key since this record).
                    if (
                        objection
                        and key in written.get(secret, {})
                        and self._neighbour_objection(secret, key, found) is None
                    ):
                        values[key] = found
                        found_instead.append(variable)
                        continue
                    if objection:
                        self.report["left_alone"].append(objection)
                        continue
                    values[key] = value
                    variables.append(variable)
                if not values:
                    break
                tx._fence()
                try:
                    self.kube.replace("secrets", namespace, kg.apply_key_values(live, values))
                except Exception as err:
                    if getattr(err, "status", None) == 409:
                        continue  # another key of it changed meanwhile: look again
                    raise
                self.report["restored"].append(label)
                self.report["secret_keys"] += sorted(variables)
                self.report["found_keys"] += sorted(found_instead)
                self.restored_pairs |= {(secret, key) for key in values}
                restored_any = True
                break
        self.restored_variables = set(self.report["secret_keys"]) | set(self.report["found_keys"])
        return restored_any

    def note_keys_verified_elsewhere(self, record):
        """Name the recorded keys that differ from what is live, were not this run's to restore, because
        another Deployment loading the same Secret verified their live value (``outcome.adopted_keys``)."""
        tx = self.tx
        written = {(write.name, key) for write in tx.journal if write.kind == "secrets" for key in write.keys}
        for variable in tx.plan.unverified["keys"]:
            if variable in tx.adopted["keys"] or variable not in record.keys:
                continue
            secret, key, _value = record.keys[variable]
            if (secret, key) in written:
                continue  # restore_keys decided about it
            found = ((tx.observed.objects.get((wiring.SECRET, secret)) or {}).get("data") or {}).get(key)
            holders = [
                reader
                for reader, found_there in sorted(tx.readers.items())
                if found_there.record is not None
                and (secret, key, kg.decoded(found)) in found_there.record.keys.values()
            ]
            if holders:
                self.report["left_alone"].append(
                    "Secret %s/%s key %s differs from the last verified state of Deployment %s, but holds the value "
                    "that Deployment %s, which loads it too, verified since: what is live there stays"
                    % (self.s.namespace, secret, key, self.s.deployment, ", ".join(holders))
                )

    # -- restart and verify ---------------------------------------------------
    def restart(self, restored_config, adopted_failing):
        """Restart, in the set's order, exactly the Deployments that read what was restored (or that this
        run restarted, or whose failing rollout it took over); False when a rollout failed."""
        tx, s = self.tx, self.s
        request = pl.Request(
            manage_config=False,
            container=s.request.container,
            configmap=s.request.configmap,
            config_key=s.request.config_key,
            secret=s.request.secret,
        )
        observed, _lease, _record = obs.observe(self.kube, s.namespace, s.deployment, request)
        hpas, _warning = rd.read_hpas(self.kube, s.namespace)
        plan = pl.plan_run(s.namespace, observed, request)
        members = rd.plan_members(self.kube, s.namespace, plan, observed, request, hpas)
        restarted_by_run = {w.name for w in tx.journal if w.kind == "deployments"}
        names = {m.name for m in getattr(tx, "members", None) or []} or {s.deployment}
        self.report["restarted_deployments"] = []
        self.report["rollout_seconds"] = 0
        for member in members:
            if member.name not in names:
                continue  # it began to read the config after the run planned: not this run's to restart
            reads_restored = restored_config or any(
                rd.loads_key(member.deployment, secret, key) for secret, key in self.restored_pairs
            )
            # What its pods run already (its digest is that of the restored state, and this run did not
            # restart it) needs no restart: an untouched Deployment keeps serving.
            runs_restored = member.digest_now == member.digest_after
            if not (
                (reads_restored and not runs_restored)
                or member.name in restarted_by_run
                or (member.primary and adopted_failing)
            ):
                continue
            wait = ro.Wait(
                s.namespace,
                member.name,
                timeout=s.rollout_timeout,
                hpa=(member.hpa or {}).get("metadata", {}).get("name"),
            )
            assessment, _deployment, _pods, _rs, seconds = ro.restart_and_wait(
                self.kube, wait, member.digest_after, fence=tx._fence
            )
            self.report["restarted"] = True
            self.report["restarted_deployments"].append(member.name)
            self.report["rollout_seconds"] = round(self.report["rollout_seconds"] + seconds, 2)
            if assessment.state != rt.DONE:
                self.report["rollout_failed"] = ro.failure_of(self.kube, wait, assessment, tx.secrets)
                return False
        return True

    def verify(self, record, restored_config, restored_keys):
        tx = self.tx
        if not self.s.verify:
            return
        smoke = []
        if restored_config:
            failed_doc, _errors = read_config(getattr(self, "failed_text", "") or "")
            record_doc, _errors = read_config(record.config_text)
            smoke += changed_model_names(failed_doc or {}, record_doc or {})
        if restored_keys:
            record_doc, _errors = read_config(record.config_text)
            entries = [e for e in (record_doc or {}).get("model_list") or [] if isinstance(e, dict)]
            smoke += pl.models_using(entries, self.restored_variables)
        smoke = [name for name in dict.fromkeys(smoke) if name in record.models]
        self.report["verify"] = tx._verify(record.models, smoke if self.s.smoke else [])
