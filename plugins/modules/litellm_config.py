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
  - Validates the existing configuration and the input first (malformed YAML, entries LiteLLM
    would crash on, unknown C(litellm_params) keys, duplicate names, literal secrets). On any
    error nothing is written.
  - Before a change, the current content is copied to the ConfigMap C(<name>-previous) so that a
    later rollback loses nothing. Writes use the read resourceVersion; on a conflict the module
    reads again and plans again.
  - Warns about retired or deprecated upstream models, with the suggested replacement.
  - The module does not restart LiteLLM; see M(homelab.litellm.litellm_rollout).
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - homelab.litellm.controller
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The diff is the text of C(config.yaml) before and after.
options:
  namespace:
    description: Namespace of the ConfigMap.
    type: str
    required: true
  name:
    description: Name of the ConfigMap holding the LiteLLM configuration.
    type: str
    default: litellm-config
  key:
    description: Key of the ConfigMap whose value is LiteLLM's C(config.yaml).
    type: str
    default: config.yaml
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
      - V(absent) removes the O(models) this collection added.
    type: str
    choices: [present, absent]
    default: present
  purge:
    description:
      - With O(state=present), also remove entries this collection added earlier that are not in
        O(models). Entries the operator wrote are never removed.
    type: bool
    default: false
  router_settings:
    description:
      - Settings deep-merged into C(router_settings), for example the rate-limit routing strategy.
        Keys not given are kept.
      - Fallback settings that would include a parallel model are refused.
    type: dict
  backup:
    description: Copy the current content to the ConfigMap C(<name>-previous) before a change.
    type: bool
    default: true
requirements:
  - kubernetes >= 24.2.0
  - ruamel.yaml >= 0.17
notes:
  - LiteLLM reads its configuration at start-up only; roll the Deployment after a change.
  - A ConfigMap labelled C(app.kubernetes.io/managed-by=Helm) is still merged, with a warning
    that the next C(helm upgrade) overwrites the merged models.
seealso:
  - module: homelab.litellm.litellm_secret
  - module: homelab.litellm.litellm_rollout
  - module: homelab.litellm.litellm_verify
"""

EXAMPLES = r"""
- name: Add Groq and Mistral as parallel models
  homelab.litellm.litellm_config:
    namespace: ml
    models:
      - model_name: groq/llama-3.3-70b-versatile
        litellm_params:
          model: groq/llama-3.3-70b-versatile
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

- name: Remove a parallel model
  homelab.litellm.litellm_config:
    namespace: ml
    state: absent
    models:
      - model_name: groq/mixtral-8x7b-32768
"""

RETURN = r"""
added:
  description: Names of the models added.
  returned: always
  type: list
  elements: str
  sample: [groq/llama-3.3-70b-versatile]
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
  sample: [vllm-qwen, ollama-qwen, openai-gpt4o, groq/llama-3.3-70b-versatile]
warnings_list:
  description: Lifecycle and ownership warnings (also shown as Ansible warnings).
  returned: always
  type: list
  elements: str
  sample: ["groq/mixtral-8x7b-32768: shut down by Groq on 2025-03-20 ..."]
previous:
  description: Name of the ConfigMap holding the content before this change, when one was written.
  returned: when changed and O(backup=true) and not in check mode
  type: str
  sample: litellm-config-previous
resource_version:
  description: resourceVersion of the ConfigMap after the run.
  returned: always
  type: str
  sample: "4711"
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.homelab.litellm.plugins.module_utils import _k8s
from ansible_collections.homelab.litellm.plugins.module_utils import _litellm_config as lc

MAX_CONFLICT_RETRIES = 5
PREVIOUS_SUFFIX = "-previous"
HELM_LABEL = "app.kubernetes.io/managed-by"


def argument_spec():
    spec = _k8s.k8s_auth_argument_spec()
    spec.update(
        namespace=dict(type="str", required=True),
        name=dict(type="str", default="litellm-config"),
        key=dict(type="str", default="config.yaml", no_log=False),
        models=dict(type="list", elements="dict", default=[]),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        purge=dict(type="bool", default=False),
        router_settings=dict(type="dict"),
        backup=dict(type="bool", default=True),
    )
    return spec


def save_previous(kube, namespace, configmap, key):
    """Keep the content before a change in <name>-previous, for a later rollback."""
    meta = configmap["metadata"]
    name = meta["name"] + PREVIOUS_SUFFIX
    kube.upsert("configmaps", namespace, {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace,
                     "labels": {"app.kubernetes.io/managed-by": "homelab.litellm",
                                "homelab.litellm/previous-of": meta["name"]},
                     "annotations": {"homelab.litellm/source-resource-version": meta["resourceVersion"],
                                     "homelab.litellm/source-digest":
                                         lc.config_digest((configmap.get("data") or {}).get(key, ""))}},
        "data": dict(configmap.get("data") or {}),
    })
    return name


def mask_literal_credentials(module):
    """Keep a key pasted into ``models`` by mistake out of every output.

    The plan refuses such a model; this makes sure the refusal (and the
    invocation Ansible echoes back) shows ******** instead of the value.
    """
    for entry in module.params["models"]:
        params = entry.get("litellm_params") if isinstance(entry, dict) else None
        for key, value in (params.items() if isinstance(params, dict) else ()):
            if key in lc.CREDENTIAL_PARAMS and isinstance(value, str) and value \
                    and not value.startswith("os.environ/"):
                module.no_log_values.add(value)


def run(module, kube):
    mask_literal_credentials(module)
    params = module.params
    namespace, name, key = params["namespace"], params["name"], params["key"]
    for _attempt in range(MAX_CONFLICT_RETRIES):
        configmap = kube.get("configmaps", namespace, name)
        if configmap is None:
            module.fail_json(msg="ConfigMap %s/%s not found. This module merges models into the "
                                 "configuration of a running LiteLLM; check namespace and name."
                                 % (namespace, name))
        data = configmap.get("data") or {}
        if key not in data:
            keys = ", ".join(sorted(data)) or "none"
            module.fail_json(msg="ConfigMap %s/%s has no key %r (keys: %s). Set key to the one LiteLLM "
                                 "reads as its config.yaml." % (namespace, name, key, keys))
        try:
            plan = lc.plan_config(data[key], params["models"], state=params["state"],
                                  purge=params["purge"], router_settings=params["router_settings"])
        except lc.ConfigError as err:
            module.fail_json(msg="Nothing was written. " + str(err), errors=list(err.errors))
        warnings = list(plan.warnings)
        if (configmap["metadata"].get("labels") or {}).get(HELM_LABEL) == "Helm":
            warnings.append("ConfigMap %s/%s is managed by Helm: the next helm upgrade will overwrite the "
                            "merged models. Put them in the chart's values, or run this again after "
                            "every upgrade." % (namespace, name))
        result = dict(changed=plan.changed, added=list(plan.added), updated=list(plan.updated),
                      removed=list(plan.removed), unchanged=list(plan.unchanged),
                      env_vars=list(plan.env_vars), digest=plan.digest, config=plan.after,
                      models=list(plan.model_names), warnings_list=warnings,
                      resource_version=configmap["metadata"]["resourceVersion"])
        if module._diff:
            header = "%s/%s %s" % (namespace, name, key)
            result["diff"] = dict(before=plan.before, after=plan.after, before_header=header,
                                  after_header=header)
        if not plan.changed or module.check_mode:
            return result, warnings
        if params["backup"]:
            result["previous"] = save_previous(kube, namespace, configmap, key)
        configmap["data"] = dict(data, **{key: plan.after})
        try:
            written = kube.replace("configmaps", namespace, configmap)
        except _k8s.KubeError as err:
            if err.conflict:
                continue  # somebody else wrote in between: read again, plan again
            raise
        result["resource_version"] = written["metadata"]["resourceVersion"]
        return result, warnings
    module.fail_json(msg="ConfigMap %s/%s kept changing under us (%d conflicts in a row); nothing was "
                         "written. Retry when no other tool is writing it."
                         % (namespace, name, MAX_CONFLICT_RETRIES))


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not lc.HAS_RUAMEL:
        module.fail_json(msg=missing_required_lib("ruamel.yaml"), exception=lc.RUAMEL_IMPORT_ERROR)
    _k8s.run_with_kube(module, run)


if __name__ == "__main__":
    main()
