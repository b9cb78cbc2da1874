#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: litellm_restore
short_description: Put back the LiteLLM ConfigMap and Secret from their in-cluster copies
version_added: 0.1.0
author:
  - homelab.litellm developers (@homelab-litellm)
description:
  - Restores the data of the LiteLLM ConfigMap and/or Secret from the C(<name>-previous) copies that
    M(homelab.litellm.litellm_config) and M(homelab.litellm.litellm_secret) write before every change.
  - This is the rollback step of the M(homelab.litellm.litellm) role. Run
    M(homelab.litellm.litellm_rollout) afterwards so that LiteLLM serves the restored state.
  - Only the data is restored; labels and annotations of the live objects are kept.
  - Secret values never appear in the result or the diff, only key names.
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - homelab.litellm.controller
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The ConfigMap's text and the names of the Secret keys that change.
options:
  namespace:
    description: Namespace of the objects.
    type: str
    required: true
  configmap:
    description: Name of the ConfigMap to restore from C(<configmap>-previous). Omit to leave it alone.
    type: str
  secret:
    description: Name of the Secret to restore from C(<secret>-previous). Omit to leave it alone.
    type: str
requirements:
  - kubernetes >= 24.2.0
seealso:
  - module: homelab.litellm.litellm_config
  - module: homelab.litellm.litellm_secret
  - module: homelab.litellm.litellm_rollout
"""

EXAMPLES = r"""
- name: Roll back config and keys after a failed rollout
  homelab.litellm.litellm_restore:
    namespace: ml
    configmap: litellm-config
    secret: litellm-secrets

- name: Roll LiteLLM onto the restored state
  homelab.litellm.litellm_rollout:
    namespace: ml
"""

RETURN = r"""
restored:
  description: The objects whose data was (or in check mode would be) put back.
  returned: always
  type: list
  elements: str
  sample: [ConfigMap ml/litellm-config, Secret ml/litellm-secrets]
secret_keys:
  description: Names of the Secret keys that changed back (added, removed or with another value).
  returned: always
  type: list
  elements: str
  sample: [GROQ_API_KEY]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.homelab.litellm.plugins.module_utils import _k8s

PREVIOUS_SUFFIX = "-previous"


def argument_spec():
    spec = _k8s.k8s_auth_argument_spec()
    spec.update(
        namespace=dict(type="str", required=True),
        configmap=dict(type="str"),
        secret=dict(type="str", no_log=False),
    )
    return spec


def changed_keys(current, previous):
    """Names of keys added, removed or with another value between two data dicts."""
    return sorted(name for name in set(current) | set(previous) if current.get(name) != previous.get(name))


def restore(module, kube, kind, name):
    """Put back one object's data; return (label, changed keys) or None when nothing changes."""
    namespace = module.params["namespace"]
    label = "%s %s/%s" % ("ConfigMap" if kind == "configmaps" else "Secret", namespace, name)
    current = kube.get(kind, namespace, name)
    previous = kube.get(kind, namespace, name + PREVIOUS_SUFFIX)
    if current is None:
        module.fail_json(msg="%s not found; nothing to restore." % label)
    if previous is None:
        module.fail_json(msg="%s has no copy %s%s to restore from: it was never changed by this "
                             "collection, so there is nothing to roll back." % (label, name, PREVIOUS_SUFFIX))
    before, after = current.get("data") or {}, previous.get("data") or {}
    keys = changed_keys(before, after)
    if not keys:
        return None
    if not module.check_mode:
        current["data"] = after
        kube.replace(kind, namespace, current)
    return label, keys, before, after


def run(module, kube):
    restored, secret_keys, diff_before, diff_after = [], [], [], []
    if module.params["configmap"]:
        outcome = restore(module, kube, "configmaps", module.params["configmap"])
        if outcome:
            label, keys, before, after = outcome
            restored.append(label)
            diff_before += ["# %s %s\n%s" % (label, key, before.get(key, "")) for key in keys]
            diff_after += ["# %s %s\n%s" % (label, key, after.get(key, "")) for key in keys]
    if module.params["secret"]:
        outcome = restore(module, kube, "secrets", module.params["secret"])
        if outcome:
            label, keys, before, after = outcome
            restored.append(label)
            secret_keys = keys
            diff_before.append("# %s\n" % label + "".join(
                "%s: %s\n" % (key, "<present>" if key in before else "<absent>") for key in keys))
            diff_after.append("# %s\n" % label + "".join(
                "%s: %s\n" % (key, "<previous value>" if key in after else "<absent>") for key in keys))
    result = dict(changed=bool(restored), restored=restored, secret_keys=secret_keys)
    if module._diff:
        result["diff"] = dict(before="\n".join(diff_before), after="\n".join(diff_after))
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    _k8s.run_with_kube(module, run)


if __name__ == "__main__":
    main()
