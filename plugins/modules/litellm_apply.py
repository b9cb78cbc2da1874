#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: litellm_apply
short_description: Converge a LiteLLM proxy on Kubernetes in one transaction
version_added: 0.2.0
author:
  - homelab.litellm developers (@homelab-litellm)
description:
  - One run of the role, in one process. Reads the LiteLLM Deployment, the ConfigMap it mounts as
    its config, the Secrets its environment comes from, the record of the last verified state and
    the run lock once; plans the merge of the parallel models, the provider keys and the restart;
    asks the providers (O(provider_check)) and the API server (O(access_check)) before anything is
    written; takes the run lock, reads and plans again under it; then writes the config, writes the
    keys, restarts LiteLLM and waits for the rollout, verifies (readiness, every expected model
    listed, a request to each changed model within O(max_latency) seconds), records the verified
    state and frees the lock.
  - Every write is journalled as it happens. Any failure, SIGINT or SIGTERM, or the end of the
    ansible-playbook that started the module (noticed within 2 s, also after C(kill -9) of its
    process group) rolls back from that journal - the last verified state is put back over this
    run's own writes only, never over what somebody else changed since, and what was put back is
    verified with a request to each model whose entry or key came back. An invalid record is never
    written back. C(kill -9) of the module itself is repaired by the next run from the record.
  - The run lock is a C(coordination.k8s.io/v1) Lease held under a random token, renewed every
    5 seconds; a holder that dies frees it after O(lock_duration) seconds. Taking over an expired
    lock is said in the warnings. O(lock) is ignored; this module always takes the lock when it writes.
  - A key in a Secret that another Deployment also loads is written back by a rollback only when
    that Deployment's own record holds the same value.
  - The provider keys are arguments of this task, so the module refuses to run (its action plugin, before
    anything is sent) when Ansible would write them to a file on the target (pipelining off,
    C(ANSIBLE_KEEP_REMOTE_FILES)).
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - homelab.litellm.target
  - homelab.litellm.target.RUN
  - homelab.litellm.target.ACTION_GROUP
  - homelab.litellm.apply
  - homelab.litellm.apply.GITOPS
  - homelab.litellm.controller
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Reads, plans and asks the providers and the API server; takes no lock and writes nothing.
        C(changed) says whether the run would change the config, a key, or restart LiteLLM.
  diff_mode:
    support: full
    details: One diff per object that would change; a Secret as key names with markers only.
requirements:
  - kubernetes >= 24.2.0
  - ruamel.yaml >= 0.17
seealso:
  - module: homelab.litellm.litellm_plan
  - module: homelab.litellm.litellm_known_good
"""

EXAMPLES = r"""
- name: Add Groq as a parallel model, rotate its key, restart, verify, record - or roll back
  homelab.litellm.litellm_apply:
    namespace: ml
    models:
      - model_name: groq/openai/gpt-oss-120b
        litellm_params:
          model: groq/openai/gpt-oss-120b
          api_key: os.environ/GROQ_API_KEY
    api_keys:
      GROQ_API_KEY: "{{ vault_groq_api_key }}"
  vars:
    ansible_pipelining: true

- name: What a run would do, without the lock
  homelab.litellm.litellm_apply:
    namespace: ml
    models: "{{ my_models }}"
  check_mode: true
  diff: true
"""

RETURN = r"""
summary:
  description: The run in one line.
  returned: always
  type: str
  sample: added 1 model, rotated GROQ_API_KEY, restarted in 7.4 s, verified 2 models in 0.3 s
steps:
  description: Each step the run took, with its duration in seconds and a one-line summary.
  returned: always
  type: list
  elements: dict
  sample: [{step: plan, seconds: 0.12, summary: "to do: config, rollout, verify, record"}]
work:
  description: Which steps had work. C(any) is true when any had.
  returned: always
  type: dict
  sample: {config: true, secret: false, rollout: true, verify: true, record: true, any: true}
target:
  description: Where LiteLLM's config and keys are, as read from the Deployment (names only), and the Service.
  returned: always
  type: dict
  sample: {namespace: ml, deployment: litellm, configmap: litellm-config, config_key: config.yaml}
config:
  description: The config change (model names, notes, the resulting digest).
  returned: always
  type: dict
  sample: {changed: true, added: [groq/openai/gpt-oss-120b], updated: [], removed: []}
secrets:
  description: Per Secret, the key names added, updated or left (never a value).
  returned: always
  type: dict
  sample: {litellm-secrets: {added: [GROQ_API_KEY], updated: [], unchanged: []}}
rollout:
  description: Whether LiteLLM was (or would be) restarted, and the rollout found.
  returned: always
  type: dict
  sample: {restart: true, reason: config or keys changed, complete: true, failure: null}
restarted:
  description: Whether this run restarted LiteLLM (any of its Deployments).
  returned: when the run had work
  type: bool
  sample: true
restarted_deployments:
  description: The Deployments this run restarted, in the order it restarted them (the named one last).
  returned: when the run restarted or waited for a rollout
  type: list
  elements: str
  sample: [litellm-backend, litellm]
deployments:
  description:
    - Every Deployment of this LiteLLM, that is the named one and each other Deployment whose pods mount
      the same ConfigMap key, in restart order.
    - Per Deployment its name, whether the verification goes through its Service, whether it is (or
      would be) restarted and why, the replicas its rollout replaces (its HPA's current replicas, else
      spec.replicas) and the HPA's name.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: litellm-backend, serves_verification: false, restart: true, reason: "it reads what changed: config"}
    - {name: litellm, serves_verification: true, restart: true, reason: config or keys changed, replicas: 1}
unverified:
  description:
    - What differed from the last verified state when the run began (taken over and verified).
    - C(pending) - the changes per-step modules marked in the record (C(by), C(at), C(models), key names
      C(keys)) when they explain every difference; verified and recorded, never rolled back; else null.
  returned: always
  type: dict
  sample: {config: false, keys: [], models: [], recorded_at: "2026-12-01T10:00:00Z", failing_rollout: null,
           pending: null}
verify:
  description: The verification (readiness, served models, one result per smoke request).
  returned: when the run verified
  type: dict
  sample: {passed: true, ready: true, models: [vllm-qwen], smoke: [{model: vllm-qwen, status: ok, latency: 0.2}]}
expected_models:
  description: Every model name LiteLLM must list after the run.
  returned: always
  type: list
  elements: str
  sample: [vllm-qwen, ollama-qwen, openai-gpt4o, groq/openai/gpt-oss-120b]
managed_keys:
  description: The provider keys this collection manages, each with the Secret and key it lives in.
  returned: always
  type: dict
  sample: {GROQ_API_KEY: {secret: litellm-secrets, key: GROQ_API_KEY}}
provider_check:
  description: One entry per provider asked (its URL without key, status, missing models, seconds).
  returned: always
  type: list
  elements: dict
  sample: [{provider: groq, variable: GROQ_API_KEY, status: ok, missing: [], seconds: 0.21}]
known_good:
  description: The record of the last verified state as found (no values).
  returned: always
  type: dict
  sample: {name: litellm-known-good, exists: true, verified: "true", recorded_at: "2026-12-01T10:00:00Z"}
recorded:
  description: Whether the run recorded the verified state.
  returned: when the run had work
  type: bool
  sample: true
rollback:
  description: What a failed run put back (object names and key names only), what it left alone and why.
  returned: when the run failed after it took the lock
  type: dict
  sample: {restored: [ConfigMap ml/litellm-config], secret_keys: [], left_alone: [], restarted: true}
report:
  description: The run report (what the role writes to C(litellm_report_path)).
  returned: always
  type: dict
  sample: {summary: "no change: 8 models, 3 keys as recorded"}
mode:
  description: The mode of the run (O(mode)) when it is V(render) or V(verify).
  returned: when O(mode) is not V(apply)
  type: str
  sample: render
pending:
  description:
    - What the cluster does not hold yet of the planned state (names only), with O(mode=render) or O(mode=verify).
      A verify run fails while it is not empty.
  returned: when O(mode) is not V(apply)
  type: list
  elements: str
  sample: ["the models groq/openai/gpt-oss-120b in ConfigMap ml/litellm-config"]
rendered:
  description: The files O(mode=render) wrote on the controller (O(render_path)), each with whether it changed.
  returned: when O(mode=render)
  type: dict
  sample: {format: helm-new, path: /srv/gitops/litellm, files: [{name: litellm-values.yaml, changed: true}]}
pod_template:
  description:
    - What the Deployment's pod template loads (C(loads), names only), and what was C(added) or C(removed)
      since the last verified run (see O(pod_template_drift)).
  returned: always
  type: dict
  sample: {loads: ["envFrom secretRef litellm-secrets (container litellm)"], added: [], removed: []}
lock:
  description:
    - The run lock (its Lease's name), who held it as the run began (empty when nobody did), its last renewal
      and its C(duration) (C(leaseDurationSeconds), the seconds it stays valid after a renewal).
  returned: always
  type: dict
  sample: {name: homelab-litellm-litellm, holder: "", renewed: null, duration: null}
status:
  description:
    - What the collection manages on this LiteLLM (models, key names and the Secret and key each lives in),
      the record (its time and whether a run verified it), the lock holder and whether its Lease has expired
      (C(expired), C(renewed_ago) seconds; a holder that stopped renewing, a killed run, holds nothing and the
      next run takes the lock over), and what a run would change (C(pending)). Names only, never a value.
      C(playbooks/status.yml) prints RV(status_lines).
  returned: in check mode
  type: dict
  sample:
    models: {managed: [groq/openai/gpt-oss-120b], in_config: [vllm-qwen, groq/openai/gpt-oss-120b]}
    keys: {GROQ_API_KEY: {secret: litellm-secrets, key: GROQ_API_KEY}}
    record: {name: litellm-known-good, exists: true, verified: "true", recorded_at: "2026-12-01T10:00:00Z"}
    lock: {name: homelab-litellm-litellm, holder: null, renewed: null, duration: null, expired: null, renewed_ago: null}
    pending: []
status_lines:
  description: RV(status) as lines to read.
  returned: in check mode
  type: list
  elements: str
  sample: ["Lock: Lease homelab-litellm-litellm free", "A run would change nothing"]
warnings_list:
  description: The warnings of the run (also shown as Ansible warnings).
  returned: always
  type: list
  elements: str
  sample: []
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.homelab.litellm.plugins.module_utils import _k8s, _run
from ansible_collections.homelab.litellm.plugins.module_utils import _outcome as outcome
from ansible_collections.homelab.litellm.plugins.module_utils._args import argument_spec as shared_spec
from ansible_collections.homelab.litellm.plugins.module_utils.config import document as config_document
from ansible_collections.homelab.litellm.plugins.module_utils.run import apply as run_apply
from ansible_collections.homelab.litellm.plugins.module_utils.run import status as run_status


def argument_spec():
    return shared_spec(**run_apply.OPTIONS, **run_apply.GITOPS_OPTIONS)


def run(module, kube):
    settings, secrets = run_apply.settings_of(module.params, module.check_mode, module._diff)
    module.no_log_values.update(value for value in secrets if len(value) >= 4)
    transaction = run_apply.Transaction(kube, settings, secrets, controller=run_apply.find_controller())
    transaction.warnings += module.params["role_warnings"]
    try:
        result = transaction.run()
    except BaseException as err:
        # Values found in the cluster on the way (the Secrets' own) are masked too; short ones would garble words.
        module.no_log_values.update(value for value in secrets if len(value) >= 8)
        for warning in transaction.warnings:
            module.warn(warning)
        if isinstance(err, _run.EXPECTED) and not isinstance(getattr(err, "result", None), dict):
            err.result = {}
        if isinstance(getattr(err, "result", None), dict):
            err.result.setdefault("steps", transaction.steps)  # also a refusal's: how long it took
            err.result["report"] = outcome.run_report(dict(err.result, steps=transaction.steps), failure=str(err))
        raise
    module.no_log_values.update(value for value in secrets if len(value) >= 8)
    result["report"] = outcome.run_report(result)
    if module.check_mode:
        result["status"] = run_status.status_of(result)
        result["status_lines"] = run_status.status_lines(result["status"])
    return result, result["warnings_list"]


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if module.params["role_errors"]:
        module.fail_json(msg=" ".join(module.params["role_errors"]))
    if not config_document.HAS_RUAMEL:
        module.fail_json(msg=missing_required_lib("ruamel.yaml"), exception=config_document.RUAMEL_IMPORT_ERROR)
    _k8s.run_with_kube(module, run, expected=_run.EXPECTED)


if __name__ == "__main__":
    main()
