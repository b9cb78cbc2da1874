#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: litellm_secret
short_description: Patch named keys into the Secret a LiteLLM proxy reads
version_added: 0.1.0
author:
  - homelab.litellm developers (@homelab-litellm)
description:
  - Writes the keys of O(data) into an existing Secret (the one LiteLLM loads with C(envFrom)) and
    leaves every other key alone. With O(state=absent), removes the keys named in O(keys).
  - Idempotent, value by value. Values never appear in the result, the diff, warnings or error
    messages; the diff lists key names with C(<added>), C(<new value>), C(<removed>) or
    C(<unchanged>).
  - Refuses, before anything is sent to the cluster, empty or whitespace-only values, values with
    leading or trailing whitespace, obvious placeholders (C(changeme), C(sk-placeholder...),
    C(xxx...), C(<your-key>), C(TODO), an unrendered C({{ ... }}), ...), and key names that are not
    valid environment variable names.
  - Before a change, the whole current Secret is copied to the Secret C(<name>-previous) so that a
    later rollback loses nothing. Writes use the read resourceVersion; on a conflict the module
    reads again and plans again.
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
    details: Key names only, one line C(KEY <marker>) per key; never a value or a hash of one.
options:
  namespace:
    description: Namespace of the Secret.
    type: str
    required: true
  name:
    description: Name of the Secret.
    type: str
    default: litellm-secrets
  data:
    description:
      - Keys and plain (not base64) values to write, for example C(GROQ_API_KEY) from the vault.
      - Required with O(state=present).
    type: dict
  keys:
    description:
      - Names of the keys to remove. Required with O(state=absent).
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
      - Create the Secret when it does not exist. By default a missing Secret is an error, since
        this module patches the Secret of a running LiteLLM.
    type: bool
    default: false
  backup:
    description:
      - Copy the whole current Secret to the Secret C(<name>-previous) before a change (labelled
        C(app.kubernetes.io/managed-by=homelab.litellm)). The copy holds the previous values, in
        the cluster only.
    type: bool
    default: true
requirements:
  - kubernetes >= 24.2.0
notes:
  - LiteLLM reads its environment at start-up only; roll the Deployment after a change with
    M(homelab.litellm.litellm_rollout).
  - The result's O(data) in C(invocation) is masked by Ansible (C(no_log)).
seealso:
  - module: homelab.litellm.litellm_config
  - module: homelab.litellm.litellm_rollout
"""

EXAMPLES = r"""
- name: Put the provider keys from the vault into the LiteLLM Secret
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

- name: Remove a key that is no longer used
  homelab.litellm.litellm_secret:
    namespace: ml
    state: absent
    keys:
      - MISTRAL_API_KEY
"""

RETURN = r"""
added:
  description: Names of the keys added.
  returned: always
  type: list
  elements: str
  sample: [GROQ_API_KEY]
updated:
  description: Names of the keys whose value changed.
  returned: always
  type: list
  elements: str
  sample: []
removed:
  description: Names of the keys removed.
  returned: always
  type: list
  elements: str
  sample: []
unchanged:
  description: Names of the requested keys that were already as requested (equal value, or
    already absent).
  returned: always
  type: list
  elements: str
  sample: [MISTRAL_API_KEY]
keys:
  description: Names of all keys in the Secret after the run.
  returned: always
  type: list
  elements: str
  sample: [DATABASE_URL, GROQ_API_KEY, LITELLM_MASTER_KEY, OPENAI_API_KEY]
digest:
  description:
    - SHA-256 (hex) over the sorted (name, value) pairs of the requested keys after the run (a
      missing key counts as missing). It changes when any of their values changes.
  returned: always
  type: str
  sample: 0b6f0c3f4a5e8d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a69788796a5b4c3d2e1f0
previous:
  description: Name of the Secret holding the content before this change, when one was written.
  returned: when changed and O(backup=true) and not in check mode and the Secret existed
  type: str
  sample: litellm-secrets-previous
resource_version:
  description: resourceVersion of the Secret after the run (null when it does not exist).
  returned: always
  type: str
  sample: "4712"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.homelab.litellm.plugins.module_utils import _k8s
from ansible_collections.homelab.litellm.plugins.module_utils import _secret_plan as sp

MAX_CONFLICT_RETRIES = 5
PREVIOUS_SUFFIX = "-previous"
MANAGED_BY = {"app.kubernetes.io/managed-by": "homelab.litellm"}


def argument_spec():
    spec = _k8s.k8s_auth_argument_spec()
    spec.update(
        namespace=dict(type="str", required=True),
        name=dict(type="str", default="litellm-secrets"),
        data=dict(type="dict", no_log=True),
        keys=dict(type="list", elements="str", no_log=False),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        create=dict(type="bool", default=False),
        backup=dict(type="bool", default=True),
    )
    return spec


def save_previous(kube, namespace, secret):
    """Keep the whole Secret before a change in <name>-previous, for a later rollback."""
    meta = secret["metadata"]
    name = meta["name"] + PREVIOUS_SUFFIX
    body = {
        "apiVersion": "v1", "kind": "Secret", "type": secret.get("type") or "Opaque",
        "metadata": {"name": name, "namespace": namespace,
                     "labels": dict(MANAGED_BY, **{"homelab.litellm/previous-of": meta["name"]}),
                     "annotations": {"homelab.litellm/source-resource-version": meta["resourceVersion"]}},
        "data": dict(secret.get("data") or {}),
    }
    kube.upsert("secrets", namespace, body)
    return name


def new_secret(namespace, name, data):
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(MANAGED_BY)},
            "data": data}


def plan(module, current):
    params = module.params
    try:
        return sp.plan_secret_patch(current, data=params["data"], remove=params["keys"] or (),
                                    state=params["state"])
    except sp.SecretDataError as err:
        module.fail_json(msg="Nothing was written. " + "; ".join(err.errors), errors=list(err.errors))


def run(module, kube):
    """Plan and write; KubeError messages come out with every value seen replaced by ***."""
    values = sp.secret_values(plain=module.params["data"])
    try:
        return _run(module, kube, values)
    except _k8s.KubeError as err:
        # The API server may echo a request body: keep every form of every value out of the message.
        raise _k8s.KubeError(err.status, err.reason, sp.scrub(err.message, values)) from None


def _run(module, kube, values):
    params = module.params
    namespace, name = params["namespace"], params["name"]
    requested = sorted(params["data"] or {}) if params["state"] == "present" else sorted(set(params["keys"]))
    for _attempt in range(MAX_CONFLICT_RETRIES):
        secret = kube.get("secrets", namespace, name)
        if secret is not None:
            values.update(sp.secret_values(data_b64=secret.get("data")))
        if secret is None and not params["create"]:
            module.fail_json(msg="Secret %s/%s not found. This module patches the Secret of a running "
                                 "LiteLLM; check namespace and name, or set create: true to create it."
                                 % (namespace, name))
        current = None if secret is None else (secret.get("data") or {})
        secret_plan = plan(module, current)
        exists = secret is not None
        changed = secret_plan.changed or (not exists and params["state"] == "present")
        result = dict(changed=changed, added=list(secret_plan.added), updated=list(secret_plan.updated),
                      removed=list(secret_plan.removed), unchanged=list(secret_plan.unchanged),
                      keys=list(secret_plan.keys), digest=sp.keys_digest(secret_plan.data, requested),
                      resource_version=secret["metadata"]["resourceVersion"] if exists else None)
        if module._diff:
            header = "%s/%s (key names only)" % (namespace, name)
            result["diff"] = dict(before=secret_plan.diff_before if exists else "",
                                  after=secret_plan.diff_after, before_header=header, after_header=header)
        if not changed or module.check_mode:
            return result
        if not exists:
            try:
                written = kube.create("secrets", namespace, new_secret(namespace, name, secret_plan.data))
            except _k8s.KubeError as err:
                if err.conflict:
                    continue  # created by somebody else in between: read it, plan again
                raise
            result["resource_version"] = written["metadata"]["resourceVersion"]
            return result
        if secret.get("immutable"):
            module.fail_json(msg="Secret %s/%s is immutable; Kubernetes refuses any change of its data. "
                                 "Nothing was written. Delete and recreate it, or point name at a mutable "
                                 "Secret." % (namespace, name))
        if params["backup"]:
            result["previous"] = save_previous(kube, namespace, secret)
        secret["data"] = secret_plan.data
        try:
            written = kube.replace("secrets", namespace, secret)
        except _k8s.KubeError as err:
            if err.conflict:
                continue  # somebody else wrote in between: read again, plan again
            raise
        result["resource_version"] = written["metadata"]["resourceVersion"]
        return result
    module.fail_json(msg="Secret %s/%s kept changing under us (%d conflicts in a row); nothing was "
                         "written. Retry when no other tool is writing it."
                         % (namespace, name, MAX_CONFLICT_RETRIES))


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_if=[("state", "present", ("data",)), ("state", "absent", ("keys",))])
    if module.params["state"] == "present":
        # Refuse bad input before a client is even built: nothing may reach the cluster.
        errors = sp.validate_secret_data(module.params["data"])
        if errors:
            module.fail_json(msg="Nothing was written. " + "; ".join(errors), errors=errors)
    _k8s.run_with_kube(module, run)


if __name__ == "__main__":
    main()
