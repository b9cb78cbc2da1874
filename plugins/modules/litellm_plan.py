#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: litellm_plan
short_description: Plan a run of litellm_apply from one read of the cluster, without writing
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
  - It only reads; it takes no lock and writes nothing (M(homelab.litellm.litellm_apply) does the
    whole run, planned the same way). C(playbooks/rbac.yml) uses it to know which objects to grant.
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - homelab.litellm.target
  - homelab.litellm.target.RUN
  - homelab.litellm.target.ACTION_GROUP
  - homelab.litellm.apply
  - homelab.litellm.controller
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Takes no lock and records nothing, in check mode or not. C(changed) is true in check mode when the
        run would change the config, a key, or restart LiteLLM, and the diff shows all three.
  diff_mode:
    support: full
    details: One diff per object that would change, the Secret as key names with markers only.
requirements:
  - kubernetes >= 24.2.0
  - ruamel.yaml >= 0.17
notes:
  - A task that gives this module O(api_keys) runs only pipelined (C(ansible_pipelining=true), no
    C(keep_remote_files)); otherwise Ansible would write its arguments into a file under C(~/.ansible/tmp),
    and the module's action plugin refuses it before anything is sent.
seealso:
  - module: homelab.litellm.litellm_config
  - module: homelab.litellm.litellm_secret
  - module: homelab.litellm.litellm_rollout
  - module: homelab.litellm.litellm_verify
  - module: homelab.litellm.litellm_known_good
"""

EXAMPLES = r"""
- name: Plan adding Groq as a parallel model
  homelab.litellm.litellm_plan:
    namespace: ml
    models:
      - model_name: groq/openai/gpt-oss-120b
        litellm_params:
          model: groq/openai/gpt-oss-120b
          api_key: os.environ/GROQ_API_KEY
    api_keys:
      GROQ_API_KEY: "{{ vault_groq_api_key }}"
  register: plan

- name: Show what would change
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
      verification goes through (C(service) null with O(verify_url)), C(discover_service), whether the
      run looks that Service up, and C(deployments), every Deployment of this LiteLLM (those whose pods
      mount the same ConfigMap key; C(playbooks/rbac.yml) grants restarting each).
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
    deployments: [litellm]
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
deployments:
  description:
    - Every Deployment of this LiteLLM in restart order (the named one last), each with whether it would
      be restarted and why, the replicas its rollout replaces (its HPA's current replicas, else
      spec.replicas) and the HPA's name.
  returned: always
  type: list
  elements: dict
  sample: [{name: litellm, serves_verification: true, restart: false, reason: unchanged, replicas: 1, hpa: null}]
rollout:
  description: Whether LiteLLM restarts, and the state of its current rollout.
  returned: always
  type: dict
  sample: {restart: true, reason: config or keys changed, complete: true, failure: null}
unverified:
  description:
    - What differs from the last verified state (config, key names, models), and a failing rollout.
    - C(pending) - the changes per-step modules marked in the record (C(by), C(at), C(models), key names
      C(keys)) when they explain every difference (then C(config) and C(keys) are empty); else null.
  returned: always
  type: dict
  sample: {config: false, keys: [], models: [], recorded_at: "2026-12-01T10:00:00Z", failing_rollout: null,
           pending: null}
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
  description:
    - The run lock (its Lease's name), who holds it now (empty when nobody does), its last renewal and its
      C(duration) (C(leaseDurationSeconds); a holder that has not renewed it for that long holds nothing).
  returned: always
  type: dict
  sample:
    name: homelab-litellm-litellm
    holder: "alice@laptop run=5f0c2a9e1b7d4c38"
    renewed: "2026-12-01T10:00:05Z"
    duration: 15
known_good:
  description: The record of the last verified state (no values).
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
summary:
  description: What the run would do, in one line.
  returned: always
  type: str
  sample: "no change: 8 models, 3 keys as recorded"
would_change:
  description: Whether the run would change the config, a key, or restart LiteLLM.
  returned: always
  type: bool
  sample: false
warnings_list:
  description: The warnings of the plan (also shown as Ansible warnings).
  returned: always
  type: list
  elements: str
  sample: []
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.homelab.litellm.plugins.module_utils import _k8s, _run
from ansible_collections.homelab.litellm.plugins.module_utils._args import argument_spec as shared_spec
from ansible_collections.homelab.litellm.plugins.module_utils.config import document as config_document
from ansible_collections.homelab.litellm.plugins.module_utils.run import apply as run_apply


def argument_spec():
    return shared_spec(**run_apply.OPTIONS)


def run(module, kube):
    # The same run litellm_apply makes, stopped before the lock: it never writes.
    settings, secrets = run_apply.settings_of(module.params, check_mode=True, diff=module._diff)
    module.no_log_values.update(value for value in secrets if len(value) >= 4)
    transaction = run_apply.Transaction(kube, settings, secrets)
    try:
        result = transaction.run()
    finally:
        module.no_log_values.update(value for value in secrets if len(value) >= 8)
    result["changed"] = bool(module.check_mode and result["would_change"])
    return result, result["warnings_list"]


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not config_document.HAS_RUAMEL:
        module.fail_json(msg=missing_required_lib("ruamel.yaml"), exception=config_document.RUAMEL_IMPORT_ERROR)
    _k8s.run_with_kube(module, run, expected=_run.EXPECTED)


if __name__ == "__main__":
    main()
