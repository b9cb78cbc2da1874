#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: litellm_secret
short_description: Patch provider keys into the Secret a LiteLLM proxy really loads
version_added: 0.1.0
author:
  - homelab.litellm developers (@homelab-litellm)
description:
  - Writes the keys of O(data) (environment variable name to value) where the LiteLLM pod reads
    them, and leaves every other key alone. With O(state=absent), removes the keys named in O(keys).
  - Where a key goes is read from the Deployment (see O(secret)) - a variable the pod already gets
    from a Secret key is written there, a new one into the Secret the container loads with
    C(envFrom) (with that source's C(prefix) taken off). A key that would not reach the pod is
    refused, naming the Deployment field to add.
  - Idempotent, value by value. Values never appear in the result, the diff, warnings or error
    messages; the diff lists key names with C(<added>), C(<new value>), C(<removed>) or
    C(<unchanged>).
  - Refuses, before anything is sent to the cluster, empty or whitespace-only values, values with
    surrounding whitespace, control characters or non-ASCII characters, obvious placeholders
    (C(changeme), C(sk-placeholder...), C(xxx...), C(<your-key>), C(TODO), an unrendered
    C({{ ... }}), ...), and key names that are not valid environment variable names. The errors
    name the key, never the value.
  - Writes use the read resourceVersion; on a conflict the module reads again and plans again. When it
    writes, it takes the run lock of the LiteLLM Deployment (O(lock)) and reads again under it, so it
    never writes during a run of the role; a call that changes nothing leaves the lock alone.
  - A write is added to the record of the last verified state (Secret C(<deployment>-known-good)) as
    pending - a digest of each key it wrote, never a value - while the verified values in the record
    stay. The next run of the role verifies the models using those keys and records them instead of
    rolling the keys back; if that run fails, it undoes only its own writes. A key the role's
    C(litellm_api_keys) also sets is still written as the role has it. Without a record nothing is
    marked.
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
    details: Key names only, one line C(KEY <marker>) per key and Secret; never a value or a hash of one.
options:
  secret:
    aliases: [name]
  data:
    description:
      - Environment variable names and plain (not base64) values to write, for example
        C(GROQ_API_KEY) from the vault. Required with O(state=present).
    type: dict
  keys:
    description: Names of the variables to remove. Required with O(state=absent).
    type: list
    elements: str
  state:
    description:
      - V(present) adds or updates the keys of O(data).
      - V(absent) removes the keys named in O(keys); other keys are kept.
    type: str
    choices: [present, absent]
    default: present
  create:
    description:
      - Create the Secret O(secret) when it does not exist. By default a missing Secret is an error,
        since this module patches the Secret of a running LiteLLM. Needs O(secret).
    type: bool
    default: false
  discover:
    description:
      - Read the Deployment to find where each key reaches the pod. V(false) writes the keys as
        named into O(secret) without looking at the Deployment.
    type: bool
    default: true
requirements:
  - kubernetes >= 24.2.0
notes:
  - A task that gives this module O(data) runs only pipelined (C(ansible_pipelining=true), no
    C(keep_remote_files)); otherwise Ansible would write its arguments into a file under C(~/.ansible/tmp),
    and the module's action plugin refuses it before anything is sent.
  - LiteLLM reads its environment at start-up only; roll the Deployment after a change with
    M(homelab.litellm.litellm_rollout).
  - The module's O(data) in C(invocation) is masked by Ansible (C(no_log)).
seealso:
  - module: homelab.litellm.litellm_plan
  - module: homelab.litellm.litellm_rollout"""

EXAMPLES = r"""
- name: Put the provider keys from the vault where LiteLLM reads them
  homelab.litellm.litellm_secret:
    namespace: ml
    data:
      GROQ_API_KEY: "{{ vault_groq_api_key }}"
      GEMINI_API_KEY: "{{ vault_gemini_api_key }}"
      MISTRAL_API_KEY: "{{ vault_mistral_api_key }}"

- name: Preview which keys would change (names only)
  homelab.litellm.litellm_secret:
    namespace: ml
    data: "{{ litellm_provider_keys }}"
  check_mode: true
  diff: true

- name: Write into a Secret that no Deployment reads yet (it is created if missing)
  homelab.litellm.litellm_secret:
    namespace: ml
    secret: litellm-provider-keys
    discover: false
    create: true
    data:
      GROQ_API_KEY: "{{ vault_groq_api_key }}"

- name: Remove a key that is no longer used
  homelab.litellm.litellm_secret:
    namespace: ml
    state: absent
    keys:
      - MISTRAL_API_KEY
"""

RETURN = r"""
added:
  description: Names of the variables added.
  returned: always
  type: list
  elements: str
  sample: [GROQ_API_KEY]
updated:
  description: Names of the variables whose value changed.
  returned: always
  type: list
  elements: str
  sample: []
removed:
  description: Names of the variables removed.
  returned: always
  type: list
  elements: str
  sample: []
unchanged:
  description: Names of the requested variables that were already as requested (equal value, or already absent).
  returned: always
  type: list
  elements: str
  sample: [MISTRAL_API_KEY]
secrets:
  description: Per Secret written to, its key names after the run and its resourceVersion (null when it does not exist).
  returned: always
  type: dict
  sample: {litellm-secrets: {keys: [DATABASE_URL, GROQ_API_KEY, LITELLM_MASTER_KEY], resource_version: "4712",
           changed: true}}
targets:
  description: Where each variable was written (Secret and key).
  returned: always
  type: dict
  sample: {GROQ_API_KEY: {secret: litellm-secrets, key: GROQ_API_KEY}}
pending:
  description:
    - Whether the keys written were added to the record of the last verified state as pending (not
      verified yet; digests only, never a value), so that the next run of the role verifies and
      records them instead of rolling them back.
    - False when nothing was written, or there is no record yet.
  returned: always
  type: bool
  sample: true
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.homelab.litellm.plugins.module_utils import _k8s, _run
from ansible_collections.homelab.litellm.plugins.module_utils import _owners as owners
from ansible_collections.homelab.litellm.plugins.module_utils import _plan as pl
from ansible_collections.homelab.litellm.plugins.module_utils import _secret_plan as sp
from ansible_collections.homelab.litellm.plugins.module_utils import _wiring as wiring
from ansible_collections.homelab.litellm.plugins.module_utils._args import argument_spec as shared_spec

MANAGED_BY = {"app.kubernetes.io/managed-by": "homelab.litellm"}


def argument_spec():
    return shared_spec(
        secret=dict(aliases=["name"]),
        data=dict(type="dict", no_log=True),
        keys=dict(type="list", elements="str", no_log=False),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        create=dict(type="bool", default=False),
        discover=dict(type="bool", default=True),
    )


def targets_of(kube, params, names):
    """{variable: (secret, key)}: where each variable reaches the pod, or into ``secret`` as named."""
    if not params["discover"]:
        if not params["secret"]:
            raise _run.RunFailure("discover: false needs secret: the Secret to write the keys into")
        return {name: (params["secret"], name) for name in names}
    namespace = params["namespace"]
    deployment = kube.get("deployments", namespace, params["deployment"])
    if deployment is None:
        raise _run.RunFailure(
            "Deployment %s/%s not found: it tells where LiteLLM reads each key from; name it with "
            "deployment, or give secret with discover: false" % (namespace, params["deployment"])
        )
    container = wiring.litellm_container(deployment, params["container"])
    objects = {}
    for kind, name in pl.objects_to_read(container, params["secret"]):
        objects[(kind, name)] = kube.get("secrets" if kind == wiring.SECRET else "configmaps", namespace, name)
    env = wiring.resolve_env(
        container, {key: sorted((obj or {}).get("data") or {}) if obj else None for key, obj in objects.items()}
    )
    if params["state"] == "absent":
        return {
            name: (env[name].name, env[name].key) for name in names if name in env and env[name].kind == wiring.SECRET
        }
    return wiring.where_keys_go(names, env, container, params["secret"])


def planner(module, namespace, secret_name, wanted, outcome, values, write):
    """plan(current) for Kube.guarded_update of one Secret; ``wanted`` maps its keys to variables.

    Every value of the Secret as read goes into ``values``, to be kept out of any message.
    """
    params = module.params

    def plan(secret):
        if secret is None and not (params["create"] and params["state"] == "present"):
            raise _run.RunFailure(
                "Secret %s/%s not found. This module patches the Secret of a running LiteLLM; "
                "check namespace and name, or set create: true to create it." % (namespace, secret_name)
            )
        current = None if secret is None else (secret.get("data") or {})
        writes = (
            {key: params["data"][variable] for key, variable in wanted.items()}
            if params["state"] == "present"
            else None
        )
        try:
            # The variable names were checked in main(); a key here is the Secret key the Deployment maps
            # to the variable, and a secretKeyRef may name one that is no variable name (api-key).
            secret_plan = sp.plan_secret_patch(
                current, data=writes, remove=list(wanted), state=params["state"], env_var_keys=False
            )
        except sp.SecretDataError as err:
            raise _run.RunFailure("Nothing was written. " + "; ".join(err.errors), {"errors": list(err.errors)})
        changed = secret_plan.changed or secret is None
        # Planned again after a 409: this attempt's plan replaces the last one.
        header = "Secret %s/%s (key names only)" % (namespace, secret_name)
        outcome[secret_name] = {
            "added": [wanted[key] for key in secret_plan.added],
            "updated": [wanted[key] for key in secret_plan.updated],
            "removed": [wanted[key] for key in secret_plan.removed],
            "unchanged": [wanted[key] for key in secret_plan.unchanged],
            "secret": {
                "keys": list(secret_plan.keys),
                "changed": changed,
                "resource_version": (secret or {}).get("metadata", {}).get("resourceVersion"),
            },
            "diff": dict(
                before=secret_plan.diff_before if secret else "",
                after=secret_plan.diff_after,
                before_header=header,
                after_header=header,
            ),
        }
        values.update(sp.secret_values(data_b64=current))
        if not changed or not write:
            return None, changed
        if secret is None:
            return {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "Opaque",
                "metadata": {"name": secret_name, "namespace": namespace, "labels": dict(MANAGED_BY)},
                "data": secret_plan.data,
            }, changed
        if secret.get("immutable"):
            raise _run.RunFailure(
                "Secret %s/%s is immutable; Kubernetes refuses any change of its data. Nothing "
                "was written. Delete and recreate it, or load the keys from a mutable Secret."
                % (namespace, secret_name)
            )
        return dict(secret, data=secret_plan.data), changed

    return plan


def write_secrets(module, kube, by_secret, outcome, values, warnings, fence, write):
    """Plan each Secret and, with ``write``, write it (read, plan, write; again after a 409)."""
    namespace = module.params["namespace"]
    for secret, wanted in sorted(by_secret.items()):
        # The API server may echo a request body: every form of every value stays out of messages.
        try:
            changed, written = kube.guarded_update(
                "secrets",
                namespace,
                secret,
                planner(module, namespace, secret, wanted, outcome, values, write),
                fence=fence,
            )
        except _k8s.KubeError as err:
            raise _k8s.KubeError(err.status, err.reason, sp.scrub(err.message, values)) from None
        if changed and write and written is not None:
            outcome[secret]["secret"]["resource_version"] = written["metadata"]["resourceVersion"]
            warnings += owners.owner_messages("Secret", namespace, secret, written)


def run(module, kube):
    params = module.params
    names = sorted(params["data"] or {}) if params["state"] == "present" else sorted(set(params["keys"]))
    values = sp.secret_values(plain=params["data"])
    warnings = []

    def step(write, fence):
        # Under the lock, where each key goes is read again too: the Deployment may have changed meanwhile.
        targets = targets_of(kube, params, names)
        by_secret = {}
        for variable, (secret, key) in targets.items():
            by_secret.setdefault(secret, {})[key] = variable
        outcome = {}
        write_secrets(module, kube, by_secret, outcome, values, warnings, fence, write)
        changed = any(entry["secret"]["changed"] for entry in outcome.values())
        written = {
            variable: targets[variable]
            + ((params["data"] or {}).get(variable) if params["state"] == "present" else None,)
            for entry in outcome.values()
            for variable in entry["added"] + entry["updated"] + entry["removed"]
            if variable in targets
        }
        pending = bool(write and written) and _run.mark_pending(
            kube, params["namespace"], params["deployment"], "litellm_secret", fence, keys=written
        )
        if pending is None:
            warnings.append(_run.unmarked_warning(params["namespace"], params["deployment"]))
        return (targets, outcome, bool(pending)), changed

    targets, outcome, pending = _run.write_when_needed(params, kube, module.check_mode, step)
    lists = {
        marker: sorted(name for entry in outcome.values() for name in entry[marker])
        for marker in ("added", "updated", "removed", "unchanged")
    }
    if params["state"] == "absent":
        lists["unchanged"] = sorted(lists["unchanged"] + [name for name in names if name not in targets])
    result = dict(
        changed=any(entry["secret"]["changed"] for entry in outcome.values()),
        secrets={secret: entry["secret"] for secret, entry in sorted(outcome.items())},
        targets={name: {"secret": secret, "key": key} for name, (secret, key) in sorted(targets.items())},
        pending=pending,
        **lists,
    )
    if module._diff:
        result["diff"] = [entry["diff"] for _secret, entry in sorted(outcome.items())]
    return result, warnings


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        required_if=[("state", "present", ("data",)), ("state", "absent", ("keys",))],
    )
    if module.params["state"] == "present":
        # Refuse bad input before a client is even built: nothing may reach the cluster.
        errors = sp.validate_secret_data(module.params["data"])
        if errors:
            module.fail_json(msg="Nothing was written. " + "; ".join(errors), errors=errors)
    _k8s.run_with_kube(module, run, expected=_run.EXPECTED)


if __name__ == "__main__":
    main()
