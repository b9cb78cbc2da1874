#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: litellm_rollout
short_description: Restart a LiteLLM Deployment when its config or keys changed, and wait for it
version_added: 0.1.0
author:
  - homelab.litellm developers (@homelab-litellm)
description:
  - LiteLLM reads its C(config.yaml) and its environment only at start-up. This module computes a
    digest of the config and of the values of the variables it references (read where the pod gets
    them, see the target options), and puts it on the Deployment's pod template (annotation
    C(homelab.litellm/config-digest)). The Deployment controller rolls only when the digest changed
    (or with O(force=true)). When it restarts, the module takes the run lock of the Deployment
    (O(lock)), decides again under it and holds it while it patches and waits, so it never restarts
    LiteLLM during a run of the role; without a restart it leaves the lock alone.
  - Then it waits until the rollout is complete (every replica updated and available, every old pod
    gone or terminating, as C(kubectl rollout status) decides, since a terminating pod gets no new requests)
    and fails fast when a new pod crashes (CrashLoopBackOff, too many restarts, a missing
    Secret or ConfigMap, an image that cannot be pulled) instead of waiting for the progress
    deadline. The failure message names the pod, the reason, the exit code and the last lines of
    its log, with every value of the Secrets it loads replaced by C(***).
  - With O(wait=true) the rollout state is checked also when nothing was restarted, so a broken
    earlier rollout is reported, not hidden behind C(changed=false).
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
    details: Reports C(changed=true) when a restart would happen; patches nothing and does not wait.
  diff_mode:
    support: full
    details: The digest annotation before and after.
options:
  deployment:
    aliases: [name]
  env_vars:
    description:
      - Names of the environment variables whose values go into the digest, wherever the pod gets
        them from (a Secret key, a ConfigMap key, a literal in the Deployment).
      - By default every name the config references as C(os.environ/NAME) and the variable LiteLLM
        takes its master key from. Variables LiteLLM reads without a reference (for example
        C(LITELLM_SALT_KEY)) count only when listed here.
    type: list
    elements: str
  force:
    description: Restart even when the digest is unchanged.
    type: bool
    default: false
  wait:
    description: Wait until the rollout is complete, or failed.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for the rollout.
    type: int
    default: 300
  poll_interval:
    description:
      - Longest time in seconds between two looks at the Deployment (one GET each) while waiting.
        The module also watches the Deployment and its pods and looks as soon as either changes, so
        a finished rollout or a crashing pod is seen at once; this interval is the fallback when
        the API server does not stream watch events.
      - Pods and ReplicaSets are listed when a pod changed, when the Deployment's status looks
        complete, and every few seconds while a new pod starts, to see it crash.
    type: float
    default: 1.0
  max_restarts:
    description:
      - Fail as soon as a container of a new pod has restarted this many times. V(0) switches this
        check off (a waiting reason such as C(CrashLoopBackOff) still fails the rollout).
    type: int
    default: 2
requirements:
  - kubernetes >= 24.2.0
notes:
  - The module does not roll back. With the usual C(maxUnavailable=0) the pods of the previous
    ReplicaSet keep serving while a new one crashes; put the last verified state back with
    M(homelab.litellm.litellm_known_good) and run this module again, which rolls back onto it.
seealso:
  - module: homelab.litellm.litellm_config
  - module: homelab.litellm.litellm_secret
  - module: homelab.litellm.litellm_verify
"""

EXAMPLES = r"""
- name: Restart LiteLLM when its config or keys changed, and wait for it
  homelab.litellm.litellm_rollout:
    namespace: ml

- name: Restart anyway, wait at most 10 minutes
  homelab.litellm.litellm_rollout:
    namespace: ml
    force: true
    timeout: 600

- name: Also restart when LITELLM_SALT_KEY (read without a reference in the config) changes
  homelab.litellm.litellm_rollout:
    namespace: ml
    env_vars: [LITELLM_MASTER_KEY, LITELLM_SALT_KEY, OPENAI_API_KEY, GROQ_API_KEY]
"""

RETURN = r"""
restarted:
  description: Whether the pod template was patched (a new rollout started).
  returned: always
  type: bool
  sample: true
reason:
  description: Why, one of V(config or keys changed), V(forced), V(unchanged).
  returned: always
  type: str
  sample: config or keys changed
digest:
  description:
    - The digest of the config and its keys, C(sha256("config=" + sha256(config.yaml) + "\nkeys=" +
      keys_digest + "\n")) where keys_digest is the SHA-256 over the sorted (name, value) pairs of
      the referenced Secret keys.
  returned: always
  type: str
  sample: 9c1185a5c5e9fc54612808977ee8f548b2258d31f0e5d0d0b6f4e0c1c2b3a4d5
previous_digest:
  description: The digest on the pod template before the run (null when there was none).
  returned: always
  type: str
  sample: null
env_vars:
  description: Names of the Secret keys that went into the digest.
  returned: always
  type: list
  elements: str
  sample: [LITELLM_MASTER_KEY, OPENAI_API_KEY]
rollout_seconds:
  description: Seconds from the patch until the rollout was complete.
  returned: when restarted and O(wait=true) and the rollout completed
  type: float
  sample: 17.4
ready_at:
  description: When the last new pod became Ready (its Ready condition's lastTransitionTime).
  returned: when O(wait=true) and the rollout completed
  type: str
  sample: "2026-11-26T12:40:03Z"
revision:
  description: The Deployment's revision (annotation C(deployment.kubernetes.io/revision)) after the run.
  returned: always
  type: str
  sample: "2"
deployment:
  description: Summary of the Deployment's status after the run.
  returned: always
  type: dict
  sample:
    name: litellm
    generation: 2
    observed_generation: 2
    revision: "2"
    replicas: 1
    status_replicas: 1
    updated_replicas: 1
    ready_replicas: 1
    available_replicas: 1
    unavailable_replicas: 0
    conditions:
      - {type: Available, status: "True", reason: MinimumReplicasAvailable, message: ...}
      - {type: Progressing, status: "True", reason: NewReplicaSetAvailable, message: ...}
rollout:
  description: The last assessment of the rollout, V(done), V(progressing) or V(failed), and its message.
  returned: when O(wait=true) and not in check mode
  type: dict
  sample: {state: done, message: deployment litellm successfully rolled out}
failed_pod:
  description: Name of the new pod that failed (null when the failure is not a pod's).
  returned: when the rollout failed
  type: str
  sample: litellm-7d9f8b6c5-x2k4q
wait_seconds:
  description: Seconds from the start of the wait until the failure was seen.
  returned: when the rollout failed
  type: float
  sample: 14.2
"""

import datetime
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.homelab.litellm.plugins.module_utils import _k8s, _run
from ansible_collections.homelab.litellm.plugins.module_utils import _plan as pl
from ansible_collections.homelab.litellm.plugins.module_utils import _rollout as rt
from ansible_collections.homelab.litellm.plugins.module_utils import _wiring as wiring
from ansible_collections.homelab.litellm.plugins.module_utils._args import argument_spec as shared_spec
from ansible_collections.homelab.litellm.plugins.module_utils.run import rollout as ro


def argument_spec():
    return shared_spec(
        deployment=dict(aliases=["name"]),
        env_vars=dict(type="list", elements="str"),
        force=dict(type="bool", default=False),
        wait=dict(type="bool", default=True),
        timeout=dict(type="int", default=300),
        poll_interval=dict(type="float", default=1.0),
        max_restarts=dict(type="int", default=2),
    )


def read_inputs(kube, params):
    """The Deployment, its LiteLLM container, the config text and the objects its env comes from."""
    namespace = params["namespace"]
    deployment = kube.get("deployments", namespace, params["deployment"])
    if deployment is None:
        raise _run.RunFailure(
            "Deployment %s/%s not found; check namespace and name." % (namespace, params["deployment"])
        )
    container = wiring.litellm_container(deployment, params["container"])
    configmap_name, key = _run.config_target(kube, params)
    configmap = kube.get("configmaps", namespace, configmap_name)
    data = (configmap or {}).get("data") or {}
    if key not in data:
        raise _run.RunFailure(
            "ConfigMap %s/%s %s; set configmap and config_key to the ones LiteLLM reads."
            % (namespace, configmap_name, "has no key %r" % key if configmap else "not found")
        )
    objects = {}
    for kind, name in pl.objects_to_read(container):
        objects[(kind, name)] = kube.get("secrets" if kind == wiring.SECRET else "configmaps", namespace, name)
    return deployment, container, data[key], objects


def decide(module, kube):
    """What a look at the cluster says: (deployment, digest, restart, reason, warnings, Secret values, result)."""
    params = module.params
    namespace, name = params["namespace"], params["deployment"]
    deployment, container, config_text, objects = read_inputs(kube, params)
    warnings = []
    env_vars = sorted(set(params["env_vars"])) if params["env_vars"] is not None else rt.config_env_vars(config_text)
    env_b64, env = pl.pod_env(container, objects, env_vars)
    missing = [variable for variable in env_vars if variable not in env]
    if missing:
        warnings.append(
            "The config references %s, which container %s does not get from anywhere: LiteLLM sends "
            "those requests without a key (401). Add them with homelab.litellm.litellm_secret."
            % (", ".join(missing), container.get("name"))
        )
    secret_values = _run.secret_values_of(objects)

    digest = rt.rollout_digest(config_text, env_b64, env_vars)
    previous = rt.template_annotations(deployment).get(rt.DIGEST_ANNOTATION)
    restart, reason = rt.plan_restart(previous, digest, params["force"])
    result = dict(
        changed=restart,
        restarted=False,
        reason=reason,
        digest=digest,
        previous_digest=previous,
        env_vars=env_vars,
        deployment=rt.deployment_summary(deployment),
        revision=rt.deployment_summary(deployment)["revision"],
    )
    if module._diff:
        header = "%s/%s pod template annotation" % (namespace, name)
        result["diff"] = dict(
            before="%s: %s\n" % (rt.DIGEST_ANNOTATION, previous or "(none)"),
            after="%s: %s\n" % (rt.DIGEST_ANNOTATION, digest),
            before_header=header,
            after_header=header,
        )
    return deployment, digest, restart, reason, warnings, secret_values, result


def run(module, kube):
    params = module.params
    namespace, name = params["namespace"], params["deployment"]
    deployment, digest, restart, reason, warnings, secret_values, result = decide(module, kube)
    if module.check_mode:
        return result, warnings

    wait = ro.Wait(namespace, name, params["timeout"], params["poll_interval"], params["max_restarts"])
    with _run.lock_of(params, kube, take=restart) as fence:
        if fence is not None:
            # Decided without the lock; looked at again under it (a run of the role may have restarted LiteLLM
            # onto this very state meanwhile), and only then patched.
            deployment, digest, restart, reason, warnings, secret_values, result = decide(module, kube)
        if restart:
            restarted_at = None
            if reason == rt.REASON_FORCED:
                restarted_at = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            if not params["wait"]:
                fence and fence()
                deployment = kube.patch("deployments", namespace, name, rt.restart_patch(digest, restarted_at))
                result.update(restarted=True, deployment=rt.deployment_summary(deployment))
                return result, warnings
            assessment, deployment, pods, replicasets, seconds = ro.restart_and_wait(
                kube, wait, digest, restarted_at, fence=fence
            )
            result["restarted"] = True
        elif not params["wait"]:
            return result, warnings
        else:
            started = time.monotonic()
            assessment, deployment, pods, replicasets = ro.wait_for_rollout(
                kube, wait, started + params["timeout"], deployment=deployment
            )
            seconds = round(time.monotonic() - started, 2)
    if deployment:
        result["deployment"] = rt.deployment_summary(deployment)
        result["revision"] = result["deployment"]["revision"]
    result["rollout"] = dict(state=assessment.state, message=assessment.message)
    if assessment.state == rt.DONE:
        if restart:
            result["rollout_seconds"] = seconds
        result["ready_at"] = rt.ready_at(deployment, pods, replicasets)
        return result, warnings
    for warning in warnings:
        module.warn(warning)
    result["failed_pod"] = assessment.pod
    result["wait_seconds"] = seconds
    module.fail_json(msg=ro.failure_of(kube, wait, assessment, secret_values), **result)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    _k8s.run_with_kube(module, run, expected=_run.EXPECTED)


if __name__ == "__main__":
    main()
