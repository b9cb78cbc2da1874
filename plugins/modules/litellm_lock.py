#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: litellm_lock
short_description: Take or free the run lock of a LiteLLM proxy
version_added: 0.2.0
author:
  - homelab.litellm developers (@homelab-litellm)
description:
  - One run at a time may change a LiteLLM. The lock is the C(coordination.k8s.io/v1) Lease
    C(homelab-litellm-<deployment>) in its namespace, held by C(user@host pid=<ansible-playbook pid>
    run=<run_id>). M(homelab.litellm.litellm_plan) takes it when a run has work; the writing modules
    renew it and refuse to write without it; M(homelab.litellm.litellm_known_good) frees it at the
    end. This module takes or frees it explicitly, for playbooks of your own and for the end of a
    failed run.
  - O(state=acquired) waits up to O(lock_timeout) seconds while another run holds it, then fails
    naming that run and since when. A lock whose holder stopped renewing it for O(lock_duration)
    seconds, or whose ansible-playbook process on this host is gone (Ctrl-C), is taken over.
  - O(state=released) frees it if this run (O(run_id)) holds it, and does nothing otherwise.
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
    details: Says whether the lock is free; takes and frees nothing.
  diff_mode:
    support: none
    details: A lock has no content to diff.
options:
  state:
    description: V(acquired) or V(released).
    type: str
    choices: [acquired, released]
    default: acquired
  lock_timeout:
    description: Seconds to wait for another run's lock.
    type: int
    default: 300
  run_id:
    description:
      - Id of the run that takes or frees the lock; part of the holder identity written to the Lease.
    type: str
    required: true
requirements:
  - kubernetes >= 24.2.0
seealso:
  - module: homelab.litellm.litellm_plan
"""

EXAMPLES = r"""
- name: Hold the lock around changes of your own
  homelab.litellm.litellm_lock:
    namespace: ml
    run_id: "{{ run_id }}"

- name: Free it
  homelab.litellm.litellm_lock:
    namespace: ml
    run_id: "{{ run_id }}"
    state: released
"""

RETURN = r"""
lease:
  description: Name of the Lease.
  returned: always
  type: str
  sample: homelab-litellm-litellm
holder:
  description: Who holds the lock after the module ran ('' when nobody).
  returned: always
  type: str
  sample: "alice@laptop pid=4242 run=7f3a9c"
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.homelab.litellm.plugins.module_utils import _k8s, _lock, _run
from ansible_collections.homelab.litellm.plugins.module_utils._args import argument_spec as shared_spec


def argument_spec():
    return shared_spec(
        state=dict(type="str", choices=["acquired", "released"], default="acquired"),
        lock_timeout=dict(type="int", default=300),
        run_id=dict(type="str", required=True),
    )


def run(module, kube):
    params = module.params
    lock = _run.run_lock(kube, params["namespace"], params["deployment"], params)
    lease = kube.get("leases", params["namespace"], lock.name)
    holder = _lock.lease_holder(lease)[0] if lease and not _lock.expired(lease, lock.clock()) else ""
    result = dict(changed=False, lease=lock.name, holder=holder)
    if module.check_mode:
        result["changed"] = (holder != lock.holder) if params["state"] == "acquired" else holder == lock.holder
        return result
    if params["state"] == "acquired":
        lock.acquire(params["lock_timeout"])
        result.update(changed=holder != lock.holder, holder=lock.holder)
    elif lock.release():
        result.update(changed=True, holder="")
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    _k8s.run_with_kube(module, run, expected=_run.EXPECTED)


if __name__ == "__main__":
    main()
