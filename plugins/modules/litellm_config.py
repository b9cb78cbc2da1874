#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: litellm_config
short_description: Merge parallel models into a LiteLLM proxy's ConfigMap
version_added: 0.1.0
author:
  - homelab.litellm developers (@homelab-litellm)
description:
  - Merges LiteLLM C(model_list) entries into the C(config.yaml) key of the ConfigMap a LiteLLM
    proxy on Kubernetes reads, keeping the operator's own entries, settings, order and comments.
  - The models are I(parallel) models. They are selectable by name and never take part in the
    fallback chain. Any configuration through which LiteLLM would route a parallel model into a
    fallback is refused before anything is written.
  - Entries written by this module are marked in C(model_info) (C(managed_by) and a stable C(id)).
    O(state=absent) and O(purge=true) only ever touch marked entries.
  - Validates the existing configuration and the input first (malformed YAML, a key given twice,
    entries LiteLLM would crash on, a misspelt C(litellm_params) key, wildcards, duplicate names,
    literal secrets). On any error nothing is written. A C(litellm_params) key LiteLLM 1.108.7 does
    not know and nothing known is close to is only a warning (a newer LiteLLM or the provider may
    take it); O(strict=true) refuses it too.
  - Several entries may share a C(model_name) on purpose, as one model group LiteLLM load-balances
    (two keys, or two providers of one model) - each names its deployment in
    C(model_info.deployment). Any other repeated name is refused.
  - Writes use the read resourceVersion; on a conflict the module reads again and plans again. When it
    writes, it takes the run lock of the LiteLLM Deployment (O(lock)) and reads again under it, so it
    never writes during a run of the role; a call that changes nothing leaves the lock alone.
  - A write is added to the record of the last verified state (Secret C(<deployment>-known-good)) as
    pending - the digest of the config it wrote and the models it changed, by name and time - while
    the verified state in the record stays as it was. The next run of the role then takes the change
    for the operator's own, not for a run that died half-way - it verifies the models with a request
    and records them, and if that run fails, it undoes only its own writes and the change stays.
    Without a record (no run of the role yet) nothing is marked. To record at once, run
    M(homelab.litellm.litellm_rollout), M(homelab.litellm.litellm_verify), then
    M(homelab.litellm.litellm_known_good).
  - Warns about retired or deprecated upstream models, with the suggested replacement.
  - The module does not restart LiteLLM; see M(homelab.litellm.litellm_rollout).
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
  diff_mode:
    support: full
    details: The diff is the text of C(config.yaml) before and after.
options:
  configmap:
    aliases: [name]
  config_key:
    aliases: [key]
  models:
    description:
      - LiteLLM-native C(model_list) entries (C(model_name), C(litellm_params), optional
        C(model_info)). Entries are matched by C(model_name).
      - "Credentials must be references such as C(api_key: os.environ/GROQ_API_KEY); put the value
        in the Secret with M(homelab.litellm.litellm_secret)."
      - With O(state=absent), only C(model_name) is needed.
    type: list
    elements: dict
    default: []
  state:
    description:
      - V(present) adds or updates the O(models).
      - V(absent) removes the O(models) this collection added (only their names are needed).
    type: str
    choices: [present, absent]
    default: present
  purge:
    description:
      - With O(state=present), also remove entries this collection added earlier that are not in
        O(models). Entries the operator wrote are never removed.
    type: bool
    default: false
  remove:
    description:
      - Names of models this collection added earlier to remove, together with O(models).
      - A removed model's C(router_settings.model_group_retry_policy) entry goes with it.
    type: list
    elements: str
    default: []
  router_settings:
    description:
      - Settings merged into C(router_settings) - mappings key by key, C(optional_pre_call_checks)
        item by item (the operator's stay), other values replaced. Keys not given are kept.
      - Fallback settings that would include a parallel model are refused.
    type: dict
  strict:
    description: Refuse every C(litellm_params) key LiteLLM 1.108.7 does not know, not only near misses.
    type: bool
    default: false
requirements:
  - kubernetes >= 24.2.0
  - ruamel.yaml >= 0.17
notes:
  - LiteLLM reads its configuration at start-up only; roll the Deployment after a change.
  - A ConfigMap managed by Helm, Argo CD or Flux is still merged, with a warning naming the tool and
    what it will do to the merged models.
seealso:
  - module: homelab.litellm.litellm_secret
  - module: homelab.litellm.litellm_rollout
  - module: homelab.litellm.litellm_verify"""

EXAMPLES = r"""
- name: Add Groq and Mistral as parallel models
  homelab.litellm.litellm_config:
    namespace: ml
    models:
      - model_name: groq/openai/gpt-oss-120b
        litellm_params:
          model: groq/openai/gpt-oss-120b
          api_key: os.environ/GROQ_API_KEY
          rpm: 30
      - model_name: mistral/mistral-small-latest
        litellm_params:
          model: mistral/mistral-small-latest
          api_key: os.environ/MISTRAL_API_KEY

- name: Preview the change of config.yaml without writing
  homelab.litellm.litellm_config:
    namespace: ml
    models: "{{ litellm_models }}"
  check_mode: true
  diff: true

- name: Keep exactly these parallel models (remove other ones this collection added)
  homelab.litellm.litellm_config:
    namespace: ml
    models: "{{ litellm_models }}"
    purge: true

- name: Remove a parallel model an earlier run added (a model its provider shut down)
  homelab.litellm.litellm_config:
    namespace: ml
    state: absent
    models:
      - model_name: groq/mixtral-8x7b-32768

- name: One model name served by two Groq keys, load-balanced by LiteLLM
  homelab.litellm.litellm_config:
    namespace: ml
    models:
      - model_name: fast
        litellm_params: {model: groq/openai/gpt-oss-20b, api_key: os.environ/GROQ_API_KEY, rpm: 30}
        model_info: {deployment: key-a}
      - model_name: fast
        litellm_params: {model: groq/openai/gpt-oss-20b, api_key: os.environ/GROQ_API_KEY_B, rpm: 30}
        model_info: {deployment: key-b}
"""

RETURN = r"""
added:
  description: Names of the models added.
  returned: always
  type: list
  elements: str
  sample: [groq/openai/gpt-oss-120b]
updated:
  description: Names of the models whose entry changed.
  returned: always
  type: list
  elements: str
  sample: []
removed:
  description: Names of the models removed.
  returned: always
  type: list
  elements: str
  sample: []
unchanged:
  description: Names of the requested models that were already as requested.
  returned: always
  type: list
  elements: str
  sample: [mistral/mistral-small-latest]
env_vars:
  description: Names of the environment variables the resulting configuration references
    (C(os.environ/NAME)). These must exist in the LiteLLM pod, usually through its Secret.
  returned: always
  type: list
  elements: str
  sample: [GROQ_API_KEY, LITELLM_MASTER_KEY, OPENAI_API_KEY]
digest:
  description: SHA-256 of the resulting C(config.yaml) text.
  returned: always
  type: str
  sample: 3f1c0b3f5b2e4c0f9b8f3e1e2d7c6a5b4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c
config:
  description: The resulting C(config.yaml) text (it holds no secret values, only references).
  returned: always
  type: str
  sample: "model_list:\n  - model_name: vllm-qwen\n"
models:
  description: Names of all models in the resulting configuration, in order.
  returned: always
  type: list
  elements: str
  sample: [vllm-qwen, ollama-qwen, openai-gpt4o, groq/openai/gpt-oss-120b]
warnings_list:
  description: Lifecycle and ownership warnings (also shown as Ansible warnings).
  returned: always
  type: list
  elements: str
  sample: ["groq/mixtral-8x7b-32768 was shut down by Groq on 2025-03-20; ..."]
notes:
  description: Settings migrated away or router entries removed with their model.
  returned: always
  type: list
  elements: str
  sample: []
configmap:
  description: The ConfigMap and key that were planned against.
  returned: always
  type: dict
  sample: {name: litellm-config, key: config.yaml}
pending:
  description:
    - Whether the change was added to the record of the last verified state as pending (not verified
      yet), so that the next run of the role verifies and records it instead of rolling it back.
    - False when nothing was written, or there is no record yet.
  returned: always
  type: bool
  sample: true
resource_version:
  description: resourceVersion of the ConfigMap after the run.
  returned: always
  type: str
  sample: "4711"
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.homelab.litellm.plugins.module_utils import _k8s, _run
from ansible_collections.homelab.litellm.plugins.module_utils import _owners as owners
from ansible_collections.homelab.litellm.plugins.module_utils._args import argument_spec as shared_spec
from ansible_collections.homelab.litellm.plugins.module_utils.config import checks as config_checks
from ansible_collections.homelab.litellm.plugins.module_utils.config import document as config_document
from ansible_collections.homelab.litellm.plugins.module_utils.config import plan as config_plan


def argument_spec():
    return shared_spec(
        configmap=dict(aliases=["name"]),
        config_key=dict(aliases=["key"]),
        models=dict(type="list", elements="dict", default=[]),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        purge=dict(type="bool", default=False),
        remove=dict(type="list", elements="str", default=[]),
        router_settings=dict(type="dict"),
        strict=dict(type="bool", default=False),
    )


def planner(module, namespace, name, key, write):
    """plan(current) for Kube.guarded_update: (ConfigMap to write or None, result); None unless ``write``."""
    params = module.params

    def plan(configmap):
        if configmap is None:
            raise _run.RunFailure(
                "ConfigMap %s/%s not found. This module merges models into the configuration of "
                "a running LiteLLM; check namespace and name." % (namespace, name)
            )
        data = configmap.get("data") or {}
        if key not in data:
            raise _run.RunFailure(
                "ConfigMap %s/%s has no key %r (keys: %s). Set config_key to the one LiteLLM "
                "reads as its config.yaml." % (namespace, name, key, ", ".join(sorted(data)) or "none")
            )
        if params["state"] == "absent":
            models, remove = [], list(params["models"]) + list(params["remove"])
        else:
            models, remove = params["models"], params["remove"]
        try:
            plan = config_plan.plan_config(
                data[key],
                models,
                purge=params["purge"],
                remove=remove,
                router_settings=params["router_settings"],
                strict=params["strict"],
                left_behind=params["state"] == "present",
            )
        except config_document.ConfigError as err:
            raise _run.RunFailure("Nothing was written. " + str(err), {"errors": list(err.errors)})
        warnings = list(plan.warnings) + owners.owner_messages("ConfigMap", namespace, name, configmap)
        result = dict(
            changed=plan.changed,
            added=plan.added,
            updated=plan.updated,
            removed=plan.removed,
            unchanged=plan.unchanged,
            notes=plan.notes,
            env_vars=plan.env_vars,
            digest=plan.digest,
            config=plan.after,
            models=plan.model_names,
            warnings_list=warnings,
            configmap={"name": name, "key": key},
            resource_version=configmap["metadata"]["resourceVersion"],
        )
        if module._diff:
            header = "%s/%s %s" % (namespace, name, key)
            result["diff"] = dict(before=plan.before, after=plan.after, before_header=header, after_header=header)
        if not plan.changed or not write:
            return None, result
        return dict(configmap, data=dict(data, **{key: plan.after})), result

    return plan


def run(module, kube):
    params = module.params
    # A key pasted into a model entry is masked wherever it might show up, also when refused.
    module.no_log_values.update(
        value for value in config_checks.literal_credentials(params["models"]) if len(value) >= 4
    )
    namespace = params["namespace"]
    name, key = _run.config_target(kube, params)

    def step(write, fence):
        result, written = kube.guarded_update(
            "configmaps", namespace, name, planner(module, namespace, name, key, write), fence=fence
        )
        if written is not None:
            result["resource_version"] = written["metadata"]["resourceVersion"]
        result["pending"] = bool(write and result["changed"]) and _run.mark_pending(
            kube,
            namespace,
            params["deployment"],
            "litellm_config",
            fence,
            config=(name, key, result["config"]),
            models=result["added"] + result["updated"] + result["removed"],
        )
        if result["pending"] is None:
            result["warnings_list"].append(_run.unmarked_warning(namespace, params["deployment"]))
            result["pending"] = False
        return result, result["changed"]

    result = _run.write_when_needed(params, kube, module.check_mode, step)
    return result, result["warnings_list"]


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not config_document.HAS_RUAMEL:
        module.fail_json(msg=missing_required_lib("ruamel.yaml"), exception=config_document.RUAMEL_IMPORT_ERROR)
    _k8s.run_with_kube(module, run, expected=_run.EXPECTED)


if __name__ == "__main__":
    main()
