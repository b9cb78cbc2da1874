# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """The options of a run (litellm_apply, and litellm_plan which plans the same run): ``run/apply.py OPTIONS``."""

    DOCUMENTATION = r"""
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
    description: Names of models this collection added earlier to remove; one that is not in the config is warned about.
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
    description: Merge the models. V(false) manages keys, rollout and verification only (key rotation).
    type: bool
    default: true
  api_keys:
    description:
      - Provider keys to write, environment variable name to value (from the vault). Never shown.
      - A key that no model, fallback entry or setting of the merged config reads (and that the LiteLLM proxy
        does not read by itself, such as C(DATABASE_URL)) is refused before anything is written, naming the
        closest key that is read, unless it is in O(extra_keys).
    type: dict
    default: {}
  extra_keys:
    description: Names in O(api_keys) to write although the config does not read them.
    type: list
    elements: str
    default: []
  remove_keys:
    description:
      - Key names to remove from the Secret they are in, as one change of the run (restart, verification,
        record; a failure puts them back).
      - Only keys this collection wrote (the record of the last verified state holds them with the live value);
        never the master key, nor a key the config still reads. Anything else is refused before anything is written,
        except a name in no Secret LiteLLM loads (removed already), which is warned about.
    type: list
    elements: str
    default: []
  force:
    description: Restart LiteLLM even when nothing changed.
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
  smoke:
    description: Send the smoke requests (V(false) checks readiness and the model list only).
    type: bool
    default: true
  provider_check:
    description:
      - Ask each provider whose key or models change for its model list before anything is written.
        V(auto) goes on with a warning when a provider cannot be reached; V(required) fails then; V(off) asks nobody.
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
    description: What to do when Helm, Argo CD or Flux manages an object this run would write.
    type: str
    choices: [warn, refuse, allow]
    default: warn
  role_warnings:
    description:
      - Warnings the caller found in its own input before the run (the role's checks an argument spec cannot
        express), shown with the run's own warnings, so that no task of their own is needed (or skipped).
    type: list
    elements: str
    default: []
  role_errors:
    description:
      - Errors the caller found in its own input before the run (the role's unknown variables under
        C(litellm_strict_vars)). When any is given the module fails with them before it reads or writes the
        cluster.
    type: list
    elements: str
    default: []
  pod_template_drift:
    description:
      - What to do when the Deployment's pod template loads other Secrets or ConfigMaps (C(envFrom),
        C(env[].valueFrom), volumes) than when LiteLLM was last verified. Whoever may patch the Deployment
        can make LiteLLM read any Secret of its namespace this way.
      - V(warn) names each source added or removed and goes on; V(fail) refuses before anything is written.
      - The record of the last verified state lists the sources by name (never a value); a record written
        before it did compares as unchanged, and the next run that records adds them.
    type: str
    choices: [warn, fail]
    default: warn
  rollback:
    description:
      - Put the last verified state back when the run fails. V(false) leaves the cluster as the failure left it.
    type: bool
    default: true
  rollout_timeout:
    description: Seconds to wait for a rollout (also for the rollback's).
    type: int
    default: 300
  verify:
    description: Verify after the rollout (and after a rollback). V(false) records without proof.
    type: bool
    default: true
  verify_url:
    description: Reach LiteLLM at this URL instead of through the API server's service proxy.
    type: str
  verify_master_key:
    description: LiteLLM's master key, when it is not in a Secret the run can read. Never shown.
    type: str
  max_latency:
    description:
      - Seconds within which each smoke request must be answered. A successful answer that comes later is
        asked once more before the run fails; both times are reported. An error answer fails at once.
    type: float
    default: 5.0
  max_tokens:
    description: C(max_tokens) of each smoke request (reasoning models may answer 200 with empty content).
    type: int
    default: 16
"""

    GITOPS = r"""
options:
  mode:
    description:
      - V(apply) converges the cluster (the description above).
      - V(render) is for an install a GitOps controller (Argo CD, Flux) owns. It reads the cluster once (no lock, no
        write), plans the merge as V(apply) does, asks the providers about the keys and models as V(apply) does, and
        writes under O(render_path) on the controller the merged config in O(render_format) and C(secret-keys.yaml),
        the Secret keys the pods must load (names only). No key value is ever written to a file. C(changed) is true
        when a file changed; diff mode shows the files' diff.
      - V(verify) is for after the GitOps controller synced. It fails, writing nothing, when the cluster does not yet
        hold the planned config or the vault's keys (compared in memory, never shown); else it takes the lock, waits
        for the rollout under way, verifies LiteLLM as V(apply) does and records the verified state. It writes
        nothing but that record, so there is nothing to roll back.
    type: str
    choices: [apply, render, verify]
    default: apply
  render_path:
    description:
      - The directory on the controller the rendered files go to (created when missing), for example the
        application's directory in a Git checkout. Required with O(mode=render).
    type: path
  render_format:
    description:
      - V(configmap) writes C(config.yaml), the ConfigMap key's text with the operator's comments.
      - V(helm-old) writes C(litellm-helm-values.yaml) with C(proxy_config) for the retired C(litellm-helm) chart.
      - V(helm-new) writes C(litellm-values.yaml) with C(gateway.config.proxy_config) for the C(helm/litellm) chart.
    type: str
    choices: [configmap, helm-old, helm-new]
    default: configmap
"""
