# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: plan a whole run from one read of the cluster.

Pure functions, no ansible import and no I/O. ``litellm_plan`` reads the Deployment, the ConfigMap,
the Secrets the pod loads, the record of the last verified state and the run lock once, and
``plan_run`` decides from them what every later step has to do:

* config: the merge of the parallel models (``config.plan``);
* secret: which provider keys change, in the Secret and key that really reach the pod (``_wiring``);
* rollout: whether the digest of config and referenced keys on the pod template changes, or a
  rollout is still under way or failing;
* verify: the models to prove with a request (changed by this run, or found unverified);
* record: whether the verified state must be recorded afterwards.

A run whose plan has no work makes no further step. What differs from the record was written by a
run that did not finish, or by hand: it is unverified, and this run takes it over (verifies it,
and puts the record back if it fails).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from . import _key_plan as key_plan
from . import _rollout as rt
from . import _wiring as wiring
from ._known_good import differing_keys, live_key_values, pending_explains, record_name
from ._secret_plan import MARK_ADDED, MARK_NEW, MARK_UNCHANGED, encode_value, validate_secret_data
from .config.document import ConfigError
from .config.envvars import referenced_env_vars
from .config.plan import changed_model_names, plan_config, read_config
from .config.rate_limits import shared_counter_warnings

SMOKE_SCOPES = ("changed", "all", "rotated")


class PlanError(Exception):
    """The run cannot go on; ``errors`` says what and how to fix each, nothing was written."""

    def __init__(self, errors):
        self.errors = list(errors)
        self.result = {"errors": self.errors}
        super().__init__("Nothing was written. " + "; ".join(self.errors))


@dataclass
class Request:
    """What the operator asks for (the role's variables, or a module's options)."""

    models: list = field(default_factory=list)
    purge: bool = False
    remove: list = field(default_factory=list)
    router_settings: dict = None
    strict: bool = False
    manage_config: bool = True
    api_keys: dict = field(default_factory=dict, repr=False)
    extra_keys: list = field(default_factory=list)
    remove_keys: list = field(default_factory=list)
    force: bool = False
    smoke_scope: str = "changed"
    smoke_models: list = field(default_factory=list)
    container: str = None
    configmap: str = None
    config_key: str = None
    secret: str = None


@dataclass
class Observed:
    """What ``litellm_plan`` read from the cluster."""

    deployment: dict
    configmap: dict = None
    objects: dict = field(default_factory=dict, repr=False)  # (kind, name) -> object or None
    record: object = None  # _known_good.KnownGood or None
    pods: list = None
    replicasets: list = None
    hpa: dict = None  # the HorizontalPodAutoscaler that scales the Deployment, if any (and readable)


@dataclass
class RunPlan:
    """The plan of a run; ``work`` says which steps run."""

    target: dict
    config: dict
    secrets: dict
    rollout: dict
    unverified: dict
    work: dict
    smoke_models: list
    expected_models: list
    managed_keys: dict
    resource_versions: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    diffs: list = field(default_factory=list)
    model_entries: list = field(default_factory=list, repr=False)
    config_text: str = field(default="", repr=False)


def objects_to_read(container, preferred_secret=None):
    """(kind, name) of every Secret and ConfigMap the container's environment comes from."""
    wanted = list(wiring.envfrom_objects(container))
    for entry in container.get("env") or []:
        value_from = entry.get("valueFrom") or {}
        for kind, ref_key in ((wiring.SECRET, "secretKeyRef"), (wiring.CONFIGMAP, "configMapKeyRef")):
            if value_from.get(ref_key):
                wanted.append((kind, value_from[ref_key].get("name")))
    if preferred_secret:
        wanted.append((wiring.SECRET, preferred_secret))
    return list(dict.fromkeys(wanted))


def _decode(b64):
    return base64.b64decode(b64 or "").decode("utf-8", "replace")


def _object_keys(objects):
    keys = {}
    for (kind, name), obj in objects.items():
        if obj is None:
            keys[(kind, name)] = None
        elif kind == wiring.SECRET:
            keys[(kind, name)] = sorted(obj.get("data") or {})
        else:
            keys[(kind, name)] = sorted(obj.get("data") or {})
    return keys


def env_values(env, objects, names, container):
    """``{variable: base64 value}`` of ``names`` as the pod would get them (absent ones left out)."""
    literals = {
        entry.get("name"): entry.get("value") or "" for entry in container.get("env") or [] if "valueFrom" not in entry
    }
    values = {}
    for name in names:
        source = env.get(name)
        if source is None:
            continue
        if source.kind == wiring.LITERAL:
            values[name] = encode_value(literals.get(name, ""))
        elif source.kind in (wiring.SECRET, wiring.CONFIGMAP):
            data = (objects.get((source.kind, source.name)) or {}).get("data") or {}
            if source.key in data:
                raw = data[source.key]
                values[name] = raw if source.kind == wiring.SECRET else encode_value(raw)
    return values


def pod_env(container, objects, names):
    """(base64 values of ``names`` as the pod gets them, the resolved env) for the rollout digest."""
    env = wiring.resolve_env(container, _object_keys(objects))
    return env_values(env, objects, names, container), env


def resolve_target(deployment, request):
    """The container, the config's ConfigMap and key (explicit names win over what is mounted)."""
    container = wiring.litellm_container(deployment, request.container)
    warnings = []
    try:
        source = wiring.config_source(deployment, container)
        configmap, config_key, path = source.configmap, source.key, source.path
    except wiring.WiringError as err:
        if not (request.configmap and request.config_key):
            raise
        warnings.append("%s; using litellm_configmap %s key %s as given" % (err, request.configmap, request.config_key))
        configmap, config_key, path = request.configmap, request.config_key, wiring.config_path_of(container)
    if request.configmap and request.configmap != configmap:
        warnings.append(
            "Deployment %s mounts ConfigMap %s as LiteLLM's config, but litellm_configmap is %s: "
            "using %s as given, which LiteLLM may not read"
            % (deployment["metadata"]["name"], configmap, request.configmap, request.configmap)
        )
        configmap = request.configmap
    if request.config_key and request.config_key != config_key:
        warnings.append(
            "LiteLLM reads key %s of ConfigMap %s, but litellm_config_key is %s: using %s as given"
            % (config_key, configmap, request.config_key, request.config_key)
        )
        config_key = request.config_key
    return container, configmap, config_key, path, warnings


def _new_change():
    return {"data": {}, "added": [], "updated": [], "unchanged": [], "removed": [], "variables": {}}


def _secret_changes(api_keys, targets, objects, removal=None):
    """Per Secret: the keys to write and their plan (names only)."""
    by_secret = {}
    for name in sorted(api_keys):
        secret, key = targets[name]
        data = (objects.get((wiring.SECRET, secret)) or {}).get("data") or {}
        entry = by_secret.setdefault(secret, _new_change())
        entry["data"][key] = api_keys[name]
        entry["variables"][key] = name
        if key not in data:
            entry["added"].append(key)
        elif _decode(data[key]) != str(api_keys[name]):
            entry["updated"].append(key)
        else:
            entry["unchanged"].append(key)
    for name, (secret, key) in sorted((removal or {}).items()):
        if key in ((objects.get((wiring.SECRET, secret)) or {}).get("data") or {}):
            entry = by_secret.setdefault(secret, _new_change())
            entry["removed"].append(key)
            entry["variables"][key] = name
    return by_secret


def _secret_diff(namespace, secret, change, objects):
    data = (objects.get((wiring.SECRET, secret)) or {}).get("data") or {}
    before = "".join(
        "%s: %s\n" % (key, MARK_UNCHANGED if key not in change["updated"] + change["removed"] else "<previous value>")
        for key in sorted(data)
    )
    after_keys = sorted((set(data) | set(change["data"])) - set(change["removed"]))
    after = "".join(
        "%s: %s\n"
        % (key, MARK_ADDED if key in change["added"] else MARK_NEW if key in change["updated"] else MARK_UNCHANGED)
        for key in after_keys
    )
    header = "Secret %s/%s (key names only)" % (namespace, secret)
    return {"before": before, "after": after, "before_header": header, "after_header": header}


def _after_values(env_b64, targets, api_keys, names):
    """The base64 values of ``names`` once the provider keys are written."""
    after = dict(env_b64)
    for name in names:
        if name in api_keys and name in targets:
            after[name] = encode_value(api_keys[name])
    return after


def rollout_state(deployment, pods, replicasets):
    """(complete, failure message or None) of the Deployment's current rollout."""
    if rt.status_complete(deployment) and pods is None:
        return True, None
    assessment = rt.assess_rollout(deployment, pods, replicasets)
    if assessment.state == rt.FAILED:
        return False, assessment.message
    return assessment.state == rt.DONE, None


def smoke_selection(scope, explicit, changed, rotated, unverified, parallel):
    """Which models get a request: the explicit list, else by scope (unverified ones always)."""
    if explicit:
        chosen = list(explicit)
    elif scope == "all":
        chosen = list(parallel)
    elif scope == "rotated":
        chosen = list(rotated)
    else:
        chosen = list(changed) + list(rotated)
    return list(dict.fromkeys(chosen + list(unverified)))


def plan_run(namespace, observed, request):
    """The RunPlan of a run; raises PlanError when nothing may be written (bad input, bad wiring)."""
    try:
        return _plan_run(namespace, observed, request)
    except wiring.WiringError as err:
        raise PlanError([str(err)])


def _plan_run(namespace, observed, request):
    errors = []
    if request.smoke_scope not in SMOKE_SCOPES:
        errors.append("smoke_scope must be one of %s, not %r" % (", ".join(SMOKE_SCOPES), request.smoke_scope))
    key_errors = validate_secret_data(request.api_keys) if request.api_keys else []
    if key_errors:
        errors += key_errors
    if errors:
        raise PlanError(errors)
    deployment = observed.deployment
    container, configmap_name, config_key, config_path, warnings = resolve_target(deployment, request)
    configmap = observed.configmap
    if configmap is None:
        raise PlanError(
            [
                "ConfigMap %s/%s not found: it is what Deployment %s gives LiteLLM as its config; check "
                "litellm_configmap" % (namespace, configmap_name, deployment["metadata"]["name"])
            ]
        )
    data = configmap.get("data") or {}
    if config_key not in data:
        raise PlanError(
            [
                "ConfigMap %s/%s has no key %r (keys: %s); set litellm_config_key to the one LiteLLM reads"
                % (namespace, configmap_name, config_key, ", ".join(sorted(data)) or "none")
            ]
        )
    live_text = data[config_key]
    live_doc, live_errors = read_config(live_text)
    if live_errors:
        raise PlanError(
            [
                "The live config (ConfigMap %s/%s key %s) cannot be used: %s. Nothing was written and "
                "LiteLLM was not restarted; fix it by hand (the last verified config is in Secret %s)"
                % (namespace, configmap_name, config_key, "; ".join(live_errors), "the known-good record")
            ]
        )
    try:
        if request.manage_config:
            cplan = plan_config(
                live_text,
                request.models,
                purge=request.purge,
                remove=request.remove,
                router_settings=request.router_settings,
                strict=request.strict,
            )
        else:
            cplan = plan_config(live_text, [], left_behind=False)
    except ConfigError as err:
        raise PlanError(err.errors)
    warnings += cplan.warnings + cplan.notes
    desired_doc = cplan.document

    object_keys = _object_keys(observed.objects)
    env = wiring.resolve_env(container, object_keys)
    referenced = referenced_env_vars(desired_doc)
    master_var = wiring.master_key_var(desired_doc)
    targets = wiring.where_keys_go(sorted(request.api_keys), env, container, request.secret)
    provided = set(env) | set(targets)
    unreachable = [name for name in referenced if name not in provided]
    if unreachable:
        raise PlanError(
            [
                "config.yaml references %s, which container %s of Deployment %s does not get from anywhere "
                "(LiteLLM would call without a key): give the key in litellm_api_keys, or add it to a Secret "
                "the container loads" % (", ".join(unreachable), container.get("name"), deployment["metadata"]["name"])
            ]
        )
    read = key_plan.read_variables(desired_doc, master_var)
    errors += key_plan.unread_key_errors(request.api_keys, read, request.extra_keys)
    for name, source in env.items():
        if (
            source.kind in (wiring.SECRET, wiring.CONFIGMAP)
            and not source.optional
            and observed.objects.get((source.kind, source.name)) is None
            and name in referenced
        ):
            errors.append(
                "%s comes from %s %s, which does not exist: the pod cannot start; create it"
                % (name, source.kind, source.name)
            )
    if errors:
        raise PlanError(errors)

    hpa_max = ((observed.hpa or {}).get("spec") or {}).get("maxReplicas")
    warnings += shared_counter_warnings(deployment, desired_doc, set(env) | set(targets), hpa_max)
    removal = _key_removal(namespace, deployment, observed, request, read, master_var, env, warnings)
    changes = _secret_changes(request.api_keys, targets, observed.objects, removal)
    missing_secrets = [secret for secret in changes if observed.objects.get((wiring.SECRET, secret)) is None]
    if missing_secrets:
        raise PlanError(
            [
                "Secret %s/%s does not exist; create it (the Deployment already loads it) and run again"
                % (namespace, secret)
                for secret in missing_secrets
            ]
        )
    rotated_vars = sorted(
        changes[secret]["variables"][key]
        for secret in changes
        for key in changes[secret]["added"] + changes[secret]["updated"]
    )

    digest_names = sorted(set(referenced) | ({master_var} if master_var else set()))
    env_b64 = env_values(env, observed.objects, digest_names, container)
    digest_now = rt.template_annotations(deployment).get(rt.DIGEST_ANNOTATION)
    removes = any(change["removed"] for change in changes.values())
    live_master = wiring.master_key_var(live_doc)
    live_names = sorted(set(referenced_env_vars(live_doc)) | ({live_master} if live_master else set()))
    digest_live = rt.rollout_digest(live_text, env_values(env, observed.objects, live_names, container), live_names)
    digest_after = rt.rollout_digest(
        cplan.after, _after_values(env_b64, targets, request.api_keys, digest_names), digest_names
    )
    complete, failure = rollout_state(deployment, observed.pods, observed.replicasets)

    record = observed.record
    managed_names = sorted(set(request.api_keys) | set(record.keys if record else ()))
    locations = dict(targets)
    for name in managed_names:
        if name not in locations:
            locations[name] = record.keys[name][:2] if record and name in record.keys else None
    locations = {name: where for name, where in locations.items() if where}
    secrets_by_name = {name: obj for (kind, name), obj in observed.objects.items() if kind == wiring.SECRET}
    live_keys = live_key_values(secrets_by_name, locations)
    unverified = {
        "config": False,
        "keys": [],
        "models": [],
        "recorded_at": record.recorded_at if record else None,
        "failing_rollout": failure,
        "pending": None,
    }
    if record is not None:
        record_doc, _errors = read_config(record.config_text)
        if record.config_text != live_text:
            unverified["config"] = True
            unverified["models"] = changed_model_names(record_doc or {}, live_doc)
        unverified["keys"] = differing_keys(record, live_keys)
    key_models = models_using(cplan.entries, set(unverified["keys"]))
    unverified["models"] = list(dict.fromkeys(unverified["models"] + key_models))
    if record is not None and pending_explains(record, live_text, live_keys):
        # What differs is what per-step modules wrote and marked: the operator's change, verified (its
        # models get a request) and recorded by this run, never taken over to be rolled back.
        pending = {name: record.pending[name] for name in ("by", "at", "models")}
        unverified.update(config=False, keys=[], pending=dict(pending, keys=sorted(record.pending["keys"])))

    rotated_models = models_using(cplan.entries, set(rotated_vars))
    changed_models = list(cplan.added) + list(cplan.updated)
    # A removed key stays in the environment of the running pods until they restart.
    restart = digest_after != digest_now or request.force or removes
    work = {
        "config": cplan.changed,
        "secret": any(change["added"] or change["updated"] or change["removed"] for change in changes.values()),
        "rollout": restart or not complete,
    }
    unverified_any = (
        unverified["config"] or bool(unverified["keys"]) or failure is not None or bool(unverified["pending"])
    )
    work["verify"] = work["config"] or work["secret"] or work["rollout"] or unverified_any
    work["record"] = work["verify"] or record is None
    work["any"] = any(work.values())
    smoke = (
        smoke_selection(
            request.smoke_scope,
            request.smoke_models,
            changed_models,
            rotated_models,
            unverified["models"],
            cplan.managed_models,
        )
        if work["verify"]
        else []
    )
    if record is None and not complete:
        warnings.append(
            "LiteLLM (Deployment %s/%s) is not healthy now and there is no last verified state: if this "
            "run fails, there is nothing to roll back to" % (namespace, deployment["metadata"]["name"])
        )

    diffs = []
    if cplan.changed:
        header = "ConfigMap %s/%s %s" % (namespace, configmap_name, config_key)
        diffs.append({"before": cplan.before, "after": cplan.after, "before_header": header, "after_header": header})
    for secret in sorted(changes):
        if changes[secret]["added"] or changes[secret]["updated"] or changes[secret]["removed"]:
            diffs.append(_secret_diff(namespace, secret, changes[secret], observed.objects))
    if restart:
        header = "Deployment %s/%s pod template annotation" % (namespace, deployment["metadata"]["name"])
        diffs.append(
            {
                "before": "%s: %s\n" % (rt.DIGEST_ANNOTATION, digest_now or "(none)"),
                "after": "%s: %s\n" % (rt.DIGEST_ANNOTATION, digest_after),
                "before_header": header,
                "after_header": header,
            }
        )

    master_source = env.get(master_var) if master_var else None
    target = {
        "namespace": namespace,
        "deployment": deployment["metadata"]["name"],
        "container": container.get("name"),
        "configmap": configmap_name,
        "config_key": config_key,
        "config_path": config_path,
        "master_key": (
            {"secret": master_source.name, "key": master_source.key}
            if master_source and master_source.kind == wiring.SECRET
            else None
        ),
        "master_key_var": master_var,
        "key_targets": {name: {"secret": secret, "key": key} for name, (secret, key) in sorted(targets.items())},
        "secrets": sorted(
            {secret for secret, _key in targets.values()} | {name for name in changes if changes[name]["removed"]}
        ),
        "secrets_read": sorted(
            name for (kind, name), obj in observed.objects.items() if kind == wiring.SECRET and obj is not None
        ),
    }
    if master_var is None:
        warnings.append(
            "general_settings.master_key is written literally in config.yaml: verification needs it "
            "given as litellm_verify_master_key (better: move it to a Secret)"
        )
    return RunPlan(
        target=target,
        config={
            "changed": cplan.changed,
            "added": cplan.added,
            "updated": cplan.updated,
            "removed": cplan.removed,
            "unchanged": cplan.unchanged,
            "notes": cplan.notes,
            "digest": cplan.digest,
            "env_vars": referenced,
            "models": cplan.model_names,
            "managed_models": cplan.managed_models,
            "resource_version": (configmap.get("metadata") or {}).get("resourceVersion"),
        },
        secrets={
            secret: {
                "added": change["added"],
                "updated": change["updated"],
                "unchanged": change["unchanged"],
                "removed": change["removed"],
                "resource_version": ((observed.objects.get((wiring.SECRET, secret)) or {}).get("metadata") or {}).get(
                    "resourceVersion"
                ),
            }
            for secret, change in sorted(changes.items())
        },
        rollout={
            "restart": restart,
            "reason": (
                rt.plan_restart(digest_now, digest_after, request.force)[1]
                if digest_after != digest_now or not removes
                else "a key was removed from the Secret"
            ),
            "digest_now": digest_now,
            "digest_live": digest_live,
            "digest_after": digest_after,
            "digest_vars": digest_names,
            "complete": complete,
            "failure": failure,
            "generation": (deployment.get("metadata") or {}).get("generation"),
        },
        unverified=unverified,
        work=work,
        smoke_models=smoke,
        expected_models=cplan.model_names,
        managed_keys={
            name: {"secret": where[0], "key": where[1]}
            for name, where in sorted(locations.items())
            if name not in removal
        },
        resource_versions={
            "configmaps": {configmap_name: (configmap.get("metadata") or {}).get("resourceVersion")},
            "secrets": {
                name: (obj.get("metadata") or {}).get("resourceVersion")
                for (kind, name), obj in sorted(observed.objects.items())
                if kind == wiring.SECRET and obj
            },
        },
        warnings=warnings,
        diffs=diffs,
        model_entries=cplan.entries,
        config_text=cplan.after,
    )


def _key_removal(namespace, deployment, observed, request, read, master_var, env, warnings):
    """``{variable: (secret, key)}`` of the keys ``request.remove_keys`` takes out; PlanError for one it may not."""
    if not request.remove_keys:
        return {}
    record = observed.record
    held = {name: record.keys[name][:2] for name in request.remove_keys if record and name in record.keys}
    secrets = {name: obj for (kind, name), obj in observed.objects.items() if kind == wiring.SECRET}
    source = env.get(master_var) if master_var else None
    master = (
        (master_var, source.name, source.key)
        if source is not None and source.kind == wiring.SECRET
        else (master_var or wiring.DEFAULT_MASTER_KEY_VAR, None, None)
    )
    removal, errors, removal_warnings = key_plan.plan_key_removal(
        request.remove_keys,
        request.api_keys,
        read,
        master,
        record,
        live_key_values(secrets, held),
        "%s/%s" % (namespace, record_name(deployment["metadata"]["name"])),
        present=set(env),
    )
    if errors:
        raise PlanError(errors)
    warnings += removal_warnings
    return removal


def models_using(entries, names):
    """Model names whose litellm_params reference any of ``names``, in order."""
    if not names:
        return []
    found = []
    for entry in entries:
        if set(referenced_env_vars(entry.get("litellm_params") or {})) & names:
            found.append(entry["model_name"])
    return list(dict.fromkeys(found))
