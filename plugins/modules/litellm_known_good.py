#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: litellm_known_good
short_description: Record the last verified state of a LiteLLM proxy, or put it back
version_added: 0.2.0
author:
  - homelab.litellm developers (@homelab-litellm)
description:
  - With O(state=recorded), records what LiteLLM runs with now as its last verified state - the
    config text and the values of the provider keys this collection manages (O(managed_keys)),
    each with the Secret and key it lives in. Never the master key, C(DATABASE_URL) or any other
    key. It refuses to record when the Deployment does not run the live state (its digest
    annotation differs), since that state was not what was verified. A new record has no pending
    part - what M(homelab.litellm.litellm_config) and M(homelab.litellm.litellm_secret) marked as
    pending is then part of the verified state.
  - The record is one Secret, C(<deployment>-known-good), written in one request (data
    C(state.json)); its annotations say, without values, when it was recorded, by which run, and
    which keys and models it holds.
  - When the record already holds the same state (config, keys, models and what the pod template
    loads, verified by a run, nothing pending), O(state=recorded) writes nothing, takes no lock and
    reports C(changed=false), unless O(refresh_time) asks to renew the recorded time.
  - With O(state=restored), puts the record back, but only over what O(expected) says this run
    wrote (or took over as unverified), compared by resourceVersion. An object somebody else
    changed since is left alone and reported, and the module fails; nothing is clobbered.
  - The record is input like any other; before anything is restored from it, it is checked as a live
    config is (it parses, no key twice, the same schema). An invalid record is never written back.
  - Run M(homelab.litellm.litellm_rollout) afterwards so that LiteLLM runs the restored state.
  - Writes take the run lock of the Deployment (O(lock)); O(state=restored) decides without it first, so
    a restore with nothing to put back leaves the lock alone, and one that writes reads again under it.
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
    details: Reports what would be recorded or restored; writes nothing and leaves the lock alone.
  diff_mode:
    support: full
    details: The config text, and the names of the keys that change; never a value.
options:
  state:
    description: V(recorded) records the live state; V(restored) puts the record back.
    type: str
    choices: [recorded, restored]
    default: recorded
  managed_keys:
    description:
      - The keys this collection manages, variable name to C({secret, key})
        (RV(homelab.litellm.litellm_plan#module:managed_keys)).
        Only these go into the record.
    type: dict
    default: {}
  models:
    description: The model names of the verified state, kept in the record's annotations.
    type: list
    elements: str
    default: []
  expected:
    description:
      - For O(state=restored), the objects this run wrote or took over, with the resourceVersion it
        left them at. C(configmaps) and C(secrets), each name to resourceVersion.
    type: dict
    default: {}
  refresh_time:
    description:
      - For O(state=recorded), write the record even when it already holds the same state, so that its
        recorded time (annotation C(homelab.litellm/recorded-at)) becomes now. Without it such a record
        is left as it is - no write, no lock, C(changed=false).
    type: bool
    default: false
requirements:
  - kubernetes >= 24.2.0
seealso:
  - module: homelab.litellm.litellm_plan
  - module: homelab.litellm.litellm_rollout"""

EXAMPLES = r"""
- name: Record what was just verified
  homelab.litellm.litellm_known_good:
    namespace: ml
    managed_keys: "{{ plan.managed_keys }}"
    models: "{{ plan.expected_models }}"

- name: Record it again although nothing differs, to renew the recorded time
  homelab.litellm.litellm_known_good:
    namespace: ml
    managed_keys: "{{ plan.managed_keys }}"
    models: "{{ plan.expected_models }}"
    refresh_time: true

- name: Put the last verified state back over what this run wrote
  homelab.litellm.litellm_known_good:
    namespace: ml
    state: restored
    expected:
      configmaps: {litellm-config: "{{ config_result.resource_version }}"}
"""

RETURN = r"""
record:
  description: Name of the Secret holding the record.
  returned: always
  type: str
  sample: litellm-known-good
recorded_at:
  description: When the record that is now in place was made (null when there is none).
  returned: always
  type: str
  sample: "2026-12-01T10:00:00Z"
differences:
  description:
    - For O(state=recorded), what the live state changes in the record, names only (never a value) - for
      example C(the config), C(keys GROQ_API_KEY), C(the models); empty when the record already holds it.
  returned: when O(state=recorded)
  type: list
  elements: str
  sample: [the models, keys GROQ_API_KEY]
restored:
  description: The objects whose data was (or in check mode would be) put back.
  returned: always
  type: list
  elements: str
  sample: [ConfigMap ml/litellm-config, Secret ml/litellm-secrets]
secret_keys:
  description: Names of the keys put back.
  returned: always
  type: list
  elements: str
  sample: [GROQ_API_KEY]
left_alone:
  description: Objects differing from the record that this run did not write (or somebody changed since), with why.
  returned: always
  type: list
  elements: str
  sample: []
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.homelab.litellm.plugins.module_utils import _k8s, _run
from ansible_collections.homelab.litellm.plugins.module_utils import _known_good as kg
from ansible_collections.homelab.litellm.plugins.module_utils import _plan as pl
from ansible_collections.homelab.litellm.plugins.module_utils import _rollout as rt
from ansible_collections.homelab.litellm.plugins.module_utils import _wiring as wiring
from ansible_collections.homelab.litellm.plugins.module_utils._args import argument_spec as shared_spec
from ansible_collections.homelab.litellm.plugins.module_utils._pod_sources import pod_template_sources


def argument_spec():
    return shared_spec(
        state=dict(type="str", choices=["recorded", "restored"], default="recorded"),
        managed_keys=dict(type="dict", default={}, no_log=False),
        models=dict(type="list", elements="str", default=[]),
        expected=dict(type="dict", default={}),
        refresh_time=dict(type="bool", default=False),
    )


def record(module, kube, fence, write):
    """Record the live state; writes only with ``write`` and only when it differs from the record (or
    ``refresh_time`` asks to renew the time). Returns ``(result, whether it writes or would write)``."""
    params = module.params
    namespace, name = params["namespace"], params["deployment"]
    configmap, key = _run.config_target(kube, params)
    deployment = kube.get("deployments", namespace, name)
    if deployment is None:
        raise _run.RunFailure("Deployment %s/%s not found; nothing was recorded" % (namespace, name))
    text, keys = _run.live_state(kube, namespace, name, params["managed_keys"], configmap, key)
    container = wiring.litellm_container(deployment, params["container"])
    objects = {
        ref: kube.get("secrets" if ref[0] == wiring.SECRET else "configmaps", namespace, ref[1])
        for ref in pl.objects_to_read(container)
    }
    names = rt.config_env_vars(text or "")
    env_b64, _env = pl.pod_env(container, objects, names)
    running = rt.template_annotations(deployment).get(rt.DIGEST_ANNOTATION)
    if running != rt.rollout_digest(text or "", env_b64, names):
        raise _run.RunFailure(
            "Not recorded: the live config or keys changed after LiteLLM was rolled out onto them "
            "(the Deployment's digest differs), so they are not what was verified. Run again."
        )
    loads = pod_template_sources(deployment)
    new = kg.KnownGood(
        text or "", configmap, key, keys, list(params["models"]), "true", _run.now_text(), None, pod_template=loads
    )
    existing = kube.get("secrets", namespace, kg.record_name(name))
    previous = kg.read_record(existing)
    differences = kg.record_differences(previous, new)
    writes = bool(differences) or params["refresh_time"]
    result = dict(
        changed=writes,
        record=kg.record_name(name),
        recorded_at=new.recorded_at if write and writes else (previous.recorded_at if previous else None),
        differences=differences,
        restored=[],
        secret_keys=sorted(keys),
        left_alone=[],
    )
    if module._diff:
        result["diff"] = dict(
            before=previous.config_text if previous else "",
            after=text or "",
            before_header="last verified config",
            after_header="config recorded now",
        )
    if write and writes:
        fence and fence()
        kube.write("secrets", namespace, kg.record_body(namespace, name, new, existing=existing))
    return result, writes


def restore(module, kube, fence, write):
    """Put the record back over what ``expected`` names; writes only with ``write`` (else: what it would do)."""
    params = module.params
    namespace, name = params["namespace"], params["deployment"]
    existing = kube.get("secrets", namespace, kg.record_name(name))
    saved = kg.read_record(existing)
    result = dict(
        changed=False,
        record=kg.record_name(name),
        recorded_at=saved.recorded_at if saved else None,
        restored=[],
        secret_keys=[],
        left_alone=[],
    )
    if saved is None:
        result["left_alone"].append(
            "there is no last verified state (Secret %s/%s) to go back to" % (namespace, kg.record_name(name))
        )
        return result
    errors = kg.record_errors(saved)
    if errors:
        raise _run.RunFailure(
            "The record of the last verified state (Secret %s/%s) cannot be used: %s. Nothing was restored; fix "
            "or delete that Secret" % (namespace, kg.record_name(name), "; ".join(errors)),
            result,
        )
    expected = params["expected"] or {}
    configmap = kube.get("configmaps", namespace, saved.configmap)
    live_text = ((configmap or {}).get("data") or {}).get(saved.config_key)
    secrets = {secret: kube.get("secrets", namespace, secret) for secret, _key, _value in saved.keys.values()}
    config_text, secret_values = kg.restore_writes(saved, live_text, secrets)
    diff_before, diff_after, conflicts = [], [], []

    def owned(kind, obj_name, obj):
        wanted = (expected.get(kind) or {}).get(obj_name)
        label = "%s %s/%s" % ("ConfigMap" if kind == "configmaps" else "Secret", namespace, obj_name)
        if obj is None:
            result["left_alone"].append("%s is gone" % label)
            return None
        if wanted is None:
            result["left_alone"].append(
                "%s differs from the last verified state, but this run did not write it" % label
            )
            return None
        live = obj["metadata"]["resourceVersion"]
        if str(live) != str(wanted):
            conflicts.append(
                "%s was changed by someone else after this run wrote it (resourceVersion %s, this run "
                "left %s): not restored; what is live there now stays" % (label, live, wanted)
            )
            return None
        return label

    if config_text is not None:
        label = owned("configmaps", saved.configmap, configmap)
        if label:
            result["restored"].append(label)
            diff_before.append(live_text or "")
            diff_after.append(config_text)
            if write:
                fence and fence()
                kube.replace(
                    "configmaps",
                    namespace,
                    dict(configmap, data=dict(configmap.get("data") or {}, **{saved.config_key: config_text})),
                )
    for secret, values in sorted(secret_values.items()):
        label = owned("secrets", secret, secrets.get(secret))
        if not label:
            continue
        result["restored"].append(label)
        result["secret_keys"] += sorted(name for name, (s, k, _v) in saved.keys.items() if s == secret and k in values)
        diff_before.append("# %s\n" % label + "".join("%s: <live value>\n" % key for key in sorted(values)))
        diff_after.append(
            "# %s\n" % label
            + "".join(
                "%s: %s\n" % (key, "<verified value>" if value is not None else "<absent>")
                for key, value in sorted(values.items())
            )
        )
        if write:
            fence and fence()
            kube.replace("secrets", namespace, kg.apply_key_values(secrets[secret], values))
    result["changed"] = bool(result["restored"])
    if module._diff:
        result["diff"] = dict(before="\n".join(diff_before), after="\n".join(diff_after))
    if conflicts:
        raise _run.RunFailure("; ".join(conflicts), result)
    return result


def run(module, kube):
    params = module.params
    if params["state"] == "recorded":
        return _run.write_when_needed(
            params, kube, module.check_mode, lambda write, fence: record(module, kube, fence, write)
        )

    def step(write, fence):
        try:
            result = restore(module, kube, fence, write)
        except _run.RunFailure as err:
            if write or not err.result.get("restored"):
                raise
            return err.result, True  # the rest is restored under the lock, then the conflicts fail the task
        return result, result["changed"]

    return _run.write_when_needed(params, kube, module.check_mode, step)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    _k8s.run_with_kube(module, run, expected=_run.EXPECTED)


if __name__ == "__main__":
    main()
