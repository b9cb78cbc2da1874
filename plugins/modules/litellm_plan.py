#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: litellm_plan
short_description: Plan a change of a LiteLLM proxy on Kubernetes from one read of the cluster
version_added: 0.2.0
author:
  - homelab.litellm developers (@homelab-litellm)
description:
  - Reads the LiteLLM Deployment, the ConfigMap it mounts as its config, every Secret and ConfigMap
    its environment comes from, the record of the last verified state and the run lock, once, and
    plans the whole run from them. RV(work) says which later steps have something to do
    (M(homelab.litellm.litellm_config), M(homelab.litellm.litellm_secret),
    M(homelab.litellm.litellm_rollout), M(homelab.litellm.litellm_verify),
    M(homelab.litellm.litellm_known_good)); a run with no work needs none of them.
  - Where LiteLLM's config and keys come from is read from the Deployment the way the kubelet
    resolves it (see the target options), so a LiteLLM installed by hand, by the official Helm
    chart or by GitOps works alike. A provider key that would not reach the pod, an explicit name
    that disagrees with the Deployment, a live config that does not parse or has a key twice, and
    any fallback leak of a parallel model are refused before anything is written.
  - What differs from the last verified state (the live config or a managed key) was written by a
    run that did not finish, or by hand. It is reported in RV(unverified) and its models are added
    to RV(smoke_models), so that the run proves it or rolls it back.
  - Before anything is written, asks the provider's own model list, with the key this run would
    write, whether the key is accepted and the changed models are served (O(provider_check)); asks
    the API server (SelfSubjectAccessReview) whether this identity has every right the planned steps
    need (O(access_check)); and says which other tool (Helm, Argo CD, Flux) owns the ConfigMap or a
    Secret it would write (O(foreign_owner)).
  - When there is work, O(run_id) is given and not in check mode, takes the run lock (a
    C(coordination.k8s.io/v1) Lease), waiting up to O(lock_timeout) seconds for another run, then
    reads and plans again under the lock. On the first run it records the state found as the
    baseline last-known-good when LiteLLM is healthy.
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - homelab.litellm.target
  - homelab.litellm.target.RUN
  - homelab.litellm.target.ACTION_GROUP
  - homelab.litellm.controller
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Takes no lock and records nothing. C(changed) then says whether the run would change the
        config, a key, or restart LiteLLM (the later steps are skipped in check mode), and the diff
        shows all three.
  diff_mode:
    support: full
    details: One diff per object that would change, the Secret as key names with markers only.
options:
  models:
    description:
      - The parallel models, as LiteLLM C(model_list) entries (C(model_name), C(litellm_params),
        optional C(model_info)). See M(homelab.litellm.litellm_config).
    type: list
    elements: dict
    default: []
  purge:
    description: Also remove the models this collection added earlier that are not in O(models).
    type: bool
    default: false
  remove:
    description: Names of models this collection added earlier to remove.
    type: list
    elements: str
    default: []
  router_settings:
    description: Settings merged into C(router_settings); see M(homelab.litellm.litellm_config).
    type: dict
  strict:
    description: Refuse C(litellm_params) keys LiteLLM 1.108.7 does not know (by default only near misses).
    type: bool
    default: false
  manage_config:
    description: Plan the config merge. V(false) plans keys, rollout and verification only.
    type: bool
    default: true
  api_keys:
    description:
      - Provider keys to write, environment variable name to value (from the vault). Never shown.
    type: dict
    default: {}
  force:
    description: Plan a restart even when nothing changed.
    type: bool
    default: false
  smoke_scope:
    description:
      - Which models get a request after the rollout when O(smoke_models) is empty. V(changed) the
        models this run adds or changes or rotates a key of; V(all) every parallel model; V(rotated)
        only those whose key changes. Models found unverified are always added.
    type: str
    choices: [changed, all, rotated]
    default: changed
  smoke_models:
    description: The models to send a request to, instead of O(smoke_scope).
    type: list
    elements: str
    default: []
  provider_check:
    description:
      - Ask each provider whose key or models change for its model list before anything is written.
        A rejected key or a model it does not serve fails the run.
      - V(auto) goes on with a warning when a provider cannot be reached from here; V(required) fails
        then; V(off) asks nobody.
    type: str
    choices: [auto, required, "off"]
    default: auto
  provider_timeout:
    description: Seconds to wait for each provider's answer.
    type: float
    default: 5.0
  access_check:
    description: Ask the API server whether this identity may do everything the planned steps need.
    type: bool
    default: true
  foreign_owner:
    description:
      - What to do when Helm, Argo CD or Flux manages the ConfigMap or a Secret this run would write
        (they revert the change at their next upgrade or sync). V(warn), V(refuse) or V(allow) silently.
    type: str
    choices: [warn, refuse, allow]
    default: warn
  lock_timeout:
    description: Seconds to wait for the run lock when another run holds it.
    type: int
    default: 300
  verify_url:
    description:
      - The URL the verification will reach LiteLLM at (role variable C(litellm_verify_url)). Given, the run
        looks for no Service and needs no right on one; only whether it is set matters here.
    type: str
requirements:
  - kubernetes >= 24.2.0
  - ruamel.yaml >= 0.17
seealso:
  - module: homelab.litellm.litellm_config
  - module: homelab.litellm.litellm_secret
  - module: homelab.litellm.litellm_rollout
  - module: homelab.litellm.litellm_verify
  - module: homelab.litellm.litellm_known_good
"""

EXAMPLES = r"""
- name: Plan adding Groq as a parallel model, and take the run lock if there is work
  homelab.litellm.litellm_plan:
    namespace: ml
    run_id: "{{ 999999999 | random }}"
    models:
      - model_name: groq/openai/gpt-oss-120b
        litellm_params:
          model: groq/openai/gpt-oss-120b
          api_key: os.environ/GROQ_API_KEY
    api_keys:
      GROQ_API_KEY: "{{ vault_groq_api_key }}"
  register: plan

- name: Show what would change, without the lock
  homelab.litellm.litellm_plan:
    namespace: ml
    models: "{{ my_models }}"
  check_mode: true
  diff: true
"""

RETURN = r"""
work:
  description: Which steps have work. C(any) is true when any has.
  returned: always
  type: dict
  sample: {config: true, secret: false, rollout: true, verify: true, record: true, any: true}
target:
  description:
    - Where LiteLLM's config and keys are, as read from the Deployment (names only); the Service the
      verification goes through (C(service) null with O(verify_url)), and C(discover_service), whether the
      run looks that Service up.
  returned: always
  type: dict
  sample:
    namespace: ml
    deployment: litellm
    container: litellm
    configmap: litellm-config
    config_key: config.yaml
    config_path: /app/config.yaml
    master_key: {secret: litellm-secrets, key: LITELLM_MASTER_KEY}
    master_key_var: LITELLM_MASTER_KEY
    key_targets: {GROQ_API_KEY: {secret: litellm-secrets, key: GROQ_API_KEY}}
    secrets: [litellm-secrets]
    service: litellm
    port: 4000
    discover_service: true
config:
  description: The planned config change (model names, notes on migrated settings, the resulting digest).
  returned: always
  type: dict
  sample: {changed: true, added: [groq/openai/gpt-oss-120b], updated: [], removed: [], notes: []}
secrets:
  description: Per Secret, the key names to add, update or leave (never a value).
  returned: always
  type: dict
  sample: {litellm-secrets: {added: [GROQ_API_KEY], updated: [], unchanged: []}}
rollout:
  description: Whether LiteLLM restarts, and the state of its current rollout.
  returned: always
  type: dict
  sample: {restart: true, reason: config or keys changed, complete: true, failure: null}
unverified:
  description: What differs from the last verified state (config, key names, models), and a failing rollout.
  returned: always
  type: dict
  sample: {config: false, keys: [], models: [], recorded_at: "2026-12-01T10:00:00Z", failing_rollout: null}
smoke_models:
  description: The models the run must send a request to after the rollout.
  returned: always
  type: list
  elements: str
  sample: [groq/openai/gpt-oss-120b]
expected_models:
  description: Every model name LiteLLM must list after the run.
  returned: always
  type: list
  elements: str
  sample: [vllm-qwen, ollama-qwen, openai-gpt4o, groq/openai/gpt-oss-120b]
provider_check:
  description: One entry per provider asked (its URL without key, status, missing models, seconds).
  returned: always
  type: list
  elements: dict
  sample: [{provider: groq, variable: GROQ_API_KEY, status: ok, missing: [], seconds: 0.21}]
lock:
  description: The run lock; C(held) when this run holds it now.
  returned: always
  type: dict
  sample: {name: homelab-litellm-litellm, held: true, holder: "alice@laptop pid=4242 run=7f3a"}
known_good:
  description: The record of the last verified state (no values), and whether this run recorded a baseline.
  returned: always
  type: dict
  sample: {name: litellm-known-good, exists: true, verified: true, recorded_at: "2026-12-01T10:00:00Z"}
managed_keys:
  description: The provider keys this collection manages, each with the Secret and key it lives in.
  returned: always
  type: dict
  sample: {GROQ_API_KEY: {secret: litellm-secrets, key: GROQ_API_KEY}}
resource_versions:
  description: The resourceVersion of each ConfigMap and Secret read, as planned against.
  returned: always
  type: dict
  sample: {configmaps: {litellm-config: "4711"}, secrets: {litellm-secrets: "4712"}}
warnings_list:
  description: The warnings of the plan (also shown as Ansible warnings).
  returned: always
  type: list
  elements: str
  sample: []
"""

from urllib.error import HTTPError

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.homelab.litellm.plugins.module_utils import _access as access
from ansible_collections.homelab.litellm.plugins.module_utils import _config_plan as cp
from ansible_collections.homelab.litellm.plugins.module_utils import _config_yaml as cy
from ansible_collections.homelab.litellm.plugins.module_utils import _k8s, _lock, _run
from ansible_collections.homelab.litellm.plugins.module_utils import _known_good as kg
from ansible_collections.homelab.litellm.plugins.module_utils import _owners as owners
from ansible_collections.homelab.litellm.plugins.module_utils import _plan as pl
from ansible_collections.homelab.litellm.plugins.module_utils import _provider_check as pc
from ansible_collections.homelab.litellm.plugins.module_utils import _rollout as rt
from ansible_collections.homelab.litellm.plugins.module_utils import _wiring as wiring
from ansible_collections.homelab.litellm.plugins.module_utils._args import argument_spec as shared_spec


def argument_spec():
    return shared_spec(
        models=dict(type="list", elements="dict", default=[]),
        purge=dict(type="bool", default=False),
        remove=dict(type="list", elements="str", default=[]),
        router_settings=dict(type="dict"),
        strict=dict(type="bool", default=False),
        manage_config=dict(type="bool", default=True),
        api_keys=dict(type="dict", default={}, no_log=True),
        force=dict(type="bool", default=False),
        smoke_scope=dict(type="str", choices=list(pl.SMOKE_SCOPES), default="changed"),
        smoke_models=dict(type="list", elements="str", default=[]),
        provider_check=dict(type="str", choices=list(pc.MODES), default="auto"),
        provider_timeout=dict(type="float", default=5.0),
        access_check=dict(type="bool", default=True),
        foreign_owner=dict(type="str", choices=list(owners.POLICIES), default="warn"),
        lock_timeout=dict(type="int", default=300),
        verify_url=dict(type="str"),
    )


def request_of(params):
    return pl.Request(
        models=params["models"],
        purge=params["purge"],
        remove=params["remove"],
        router_settings=params["router_settings"],
        strict=params["strict"],
        manage_config=params["manage_config"],
        api_keys=params["api_keys"] or {},
        force=params["force"],
        smoke_scope=params["smoke_scope"],
        smoke_models=params["smoke_models"],
        container=params["container"],
        configmap=params["configmap"],
        config_key=params["config_key"],
        secret=params["secret"],
    )


def observe(kube, namespace, name, request, deployment=None):
    """One read of everything the plan needs (the Deployment when not given); (Observed, lease, record Secret)."""
    if deployment is None:
        deployment = kube.get("deployments", namespace, name)
    if deployment is None:
        raise pl.PlanError(
            ["Deployment %s/%s not found; check litellm_namespace and litellm_deployment" % (namespace, name)]
        )
    try:
        container, configmap_name, _key, _path, _warnings = pl.resolve_target(deployment, request)
    except wiring.WiringError as err:
        raise pl.PlanError([str(err)])
    objects = {}
    for kind, object_name in pl.objects_to_read(container, request.secret):
        objects[(kind, object_name)] = kube.get(
            "secrets" if kind == wiring.SECRET else "configmaps", namespace, object_name
        )
    record_secret = kube.get("secrets", namespace, kg.record_name(name))
    try:
        record = kg.read_record(record_secret)
    except kg.RecordError as err:
        raise pl.PlanError([str(err)])
    pods = replicasets = None
    if not rt.status_complete(deployment):
        selector = rt.selector_string(deployment)
        pods = kube.list("pods", namespace, label_selector=selector)
        replicasets = kube.list("replicasets", namespace, label_selector=selector)
    observed = pl.Observed(
        deployment=deployment,
        configmap=kube.get("configmaps", namespace, configmap_name),
        objects=objects,
        record=record,
        pods=pods,
        replicasets=replicasets,
    )
    lease = kube.get("leases", namespace, _lock.lease_name(name))
    return observed, lease, record_secret


def check_providers(module, plan, request, observed, known):
    """Ask the providers whose key or models change; (errors, warnings, results)."""
    mode = module.params["provider_check"]
    if mode == "off":
        return [], [], []
    rotated = set()
    for secret, change in plan.secrets.items():
        for key in change["added"] + change["updated"]:
            rotated.update(
                name for name, where in plan.target["key_targets"].items() if where == {"secret": secret, "key": key}
            )
    names = set(plan.config["added"]) | set(plan.config["updated"]) | set(plan.unverified["models"])
    names |= set(pl.models_using(plan.model_entries, rotated))
    keys = _run.key_values(request.api_keys, plan, observed)
    checks, _skipped = pc.plan_checks(plan.model_entries, names, set(keys))
    checks = [check for check in checks if check not in known]
    if not checks:
        return [], [], []
    outcomes = pc.run_checks(checks, keys, http_fetch, module.params["provider_timeout"])
    known.update(checks)
    return pc.judge(outcomes, mode, secrets=set(keys.values()))


def http_fetch(url, headers, timeout):
    """GET url: (status, body); HTTP error statuses are returned, transport failures raised."""
    from ansible.module_utils.urls import Request

    try:
        response = Request(follow_redirects="none").open("GET", url, headers=headers, timeout=timeout)
        return response.getcode(), response.read()
    except HTTPError as err:
        return err.code, err.read() if err.fp else b""


def discovers_service(params):
    """Whether the run looks for the Service in front of LiteLLM (it needs none with a verify URL)."""
    return not params["verify_url"] and not (params["service"] and params["port"])


def check_access(kube, plan, lease, record_secret, service, params):
    target = dict(
        plan.target,
        record=kg.record_name(plan.target["deployment"]),
        lease=_lock.lease_name(plan.target["deployment"]),
        service=service[0],
        port=service[1],
        secrets_written=plan.target["secrets"],
        discover_service=discovers_service(params),
    )
    rights = access.rights_needed(
        target, plan.work, lease_exists=lease is not None, record_exists=record_secret is not None
    )
    return ask_for(kube, rights, plan.target["namespace"])


def forbidden_read_message(kube, err, params, request, deployment=None):
    """Why reading the cluster was refused: the refused right and every other right the run will lack
    that can be known without the plan. With the Deployment read, its wiring names the ConfigMap and
    the Secrets (keys go to the one named, else the last one the container loads with envFrom)."""
    namespace, name = params["namespace"], params["deployment"]
    configmap, secrets_read = params["configmap"], []
    written = [params["secret"]] if params["secret"] else []
    if deployment:
        try:
            container, configmap, _key, _path, _warnings = pl.resolve_target(deployment, request)
        except wiring.WiringError:
            container = None
        if container:
            secrets_read = [
                obj for kind, obj in pl.objects_to_read(container, params["secret"]) if kind == wiring.SECRET
            ]
            loaded = [obj for kind, obj in wiring.envfrom_objects(container) if kind == wiring.SECRET]
            written = written or loaded[-1:]
    target = {
        "deployment": name,
        "configmap": configmap,
        "secrets_read": secrets_read,
        "secrets_written": written,
        "record": kg.record_name(name),
        "lease": _lock.lease_name(name),
        "service": None if params["verify_url"] else params["service"],
        "port": params["port"],
        "discover_service": discovers_service(params),
    }
    refused = access.right_from_forbidden(err.message)
    try:
        _skipped, missing = ask_for(kube, access.rights_before_the_plan(target), namespace)
    except _k8s.KubeError:
        missing = []
    if refused and refused[:5] not in {right[:5] for right in missing}:
        missing.insert(0, refused)
    if not missing:
        return "The API server refused a read of the plan: %s" % err.message
    return access.missing_message(missing, namespace) + (
        "" if refused else "\nThe API server refused a read of the plan: %s" % err.message
    )


def ask_for(kube, rights, namespace):
    """([warning when the API server cannot be asked], [the rights it denies]) by SelfSubjectAccessReview."""
    missing = []
    for right in rights:
        try:
            allowed, _reason = kube.can_i(
                right.verb, right.resource, namespace, right.name, right.group, right.subresource
            )
        except _k8s.KubeError as err:
            if err.status in (404, 405):
                return [
                    "the API server does not answer SelfSubjectAccessReview (%s); rights were not checked "
                    "ahead" % err.status
                ], []
            raise
        if not allowed:
            missing.append(right)
    return [], missing


def owner_problems(plan, observed, policy):
    """Messages about foreign owners of the objects this run would write."""
    if policy == "allow":
        return []
    namespace = plan.target["namespace"]
    messages = []
    if plan.work["config"]:
        messages += owners.owner_messages("ConfigMap", namespace, plan.target["configmap"], observed.configmap)
    for secret, change in plan.secrets.items():
        if change["added"] or change["updated"]:
            messages += owners.owner_messages(
                "Secret", namespace, secret, observed.objects.get((wiring.SECRET, secret))
            )
    return messages


def run(module, kube):
    params = module.params
    namespace, name = params["namespace"], params["deployment"]
    request = request_of(params)
    module.no_log_values.update(value for value in cp.literal_credentials(request.models) if len(value) >= 4)
    deployment = None
    try:
        deployment = kube.get("deployments", namespace, name)
        observed, lease, record_secret = observe(kube, namespace, name, request, deployment)
        module.no_log_values.update(_run.secret_values_of(observed.objects))
        plan = pl.plan_run(namespace, observed, request)
        container = wiring.litellm_container(observed.deployment, request.container)
        service = (
            (None, None)
            if params["verify_url"]
            else _run.find_service(kube, namespace, observed.deployment, container, params["service"], params["port"])
        )
    except _k8s.KubeError as err:
        if err.status == 403 and params["access_check"]:
            raise pl.PlanError([forbidden_read_message(kube, err, params, request, deployment)])
        raise
    warnings = list(plan.warnings)

    problems = owner_problems(plan, observed, params["foreign_owner"])
    if problems and params["foreign_owner"] == "refuse":
        raise pl.PlanError(problems + ["litellm_foreign_owner is refuse"])
    warnings += problems
    work = plan.work["any"]
    if work and params["access_check"]:
        skipped, missing = check_access(kube, plan, lease, record_secret, service, params)
        warnings += skipped
        if missing:
            raise pl.PlanError([access.missing_message(missing, namespace)])
    known_checks = set()
    errors, provider_warnings, checked = check_providers(module, plan, request, observed, known_checks)
    if errors:
        raise pl.PlanError(errors)
    warnings += provider_warnings

    lock = {"name": _lock.lease_name(name), "held": False, "holder": _lock.lease_holder(lease)[0] if lease else ""}
    baseline = False
    if work and params["run_id"] and not module.check_mode:
        run_lock = _run.run_lock(kube, namespace, name, params)
        run_lock.acquire(params["lock_timeout"])
        lock.update(held=True, holder=run_lock.holder)
        try:
            # Under the lock: what another run did meanwhile counts.
            observed, lease, record_secret = observe(kube, namespace, name, request)
            module.no_log_values.update(_run.secret_values_of(observed.objects))
            plan = pl.plan_run(namespace, observed, request)
            errors, more_warnings, more_checked = check_providers(module, plan, request, observed, known_checks)
            checked += more_checked
            if errors:
                raise pl.PlanError(errors)
            warnings += more_warnings
            # A baseline only of what LiteLLM demonstrably runs: a rollout complete, and a pod template
            # whose digest (when it has one) is that of the live config and keys.
            runs_live = plan.rollout["digest_now"] in (None, plan.rollout["digest_live"])
            if observed.record is None and plan.rollout["complete"] and runs_live:
                _run.record_state(
                    kube, namespace, name, plan, observed, record_secret, params["run_id"], verified="baseline"
                )
                baseline = True
        except BaseException:
            run_lock.release()  # nothing was written by this run: nobody needs to wait for it
            raise
    if plan.unverified["config"] or plan.unverified["keys"]:
        warnings.append(
            "The live state differs from the last verified one (recorded %s): %s. This run verifies it "
            "and rolls it back to that state if it fails."
            % (plan.unverified["recorded_at"], _run.describe_unverified(plan.unverified))
        )
    if plan.unverified["failing_rollout"]:
        warnings.append("LiteLLM's current rollout is failing: %s" % plan.unverified["failing_rollout"])

    would_change = plan.work["config"] or plan.work["secret"] or plan.rollout["restart"]
    target = dict(plan.target, service=service[0], port=service[1], discover_service=discovers_service(params))
    result = dict(
        changed=bool(module.check_mode and would_change),
        work=plan.work,
        target=target,
        config=plan.config,
        secrets=plan.secrets,
        rollout=plan.rollout,
        unverified=plan.unverified,
        smoke_models=plan.smoke_models,
        expected_models=plan.expected_models,
        managed_keys=plan.managed_keys,
        resource_versions=plan.resource_versions,
        provider_check=checked,
        lock=lock,
        known_good={
            "name": kg.record_name(name),
            "exists": observed.record is not None or baseline,
            "verified": observed.record.verified if observed.record else None,
            "recorded_at": observed.record.recorded_at if observed.record else None,
            "baseline_recorded": baseline,
        },
        warnings_list=warnings,
    )
    if module._diff and plan.diffs:
        result["diff"] = plan.diffs
    return result, warnings


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not cy.HAS_RUAMEL:
        module.fail_json(msg=missing_required_lib("ruamel.yaml"), exception=cy.RUAMEL_IMPORT_ERROR)
    _k8s.run_with_kube(module, run, expected=_run.EXPECTED)


if __name__ == "__main__":
    main()
