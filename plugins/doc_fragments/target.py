# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where LiteLLM is: the options every homelab.litellm module takes (module_utils/_args.py TARGET_ARG_SPEC)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  namespace:
    description: Namespace of the LiteLLM Deployment and of the objects it uses.
    type: str
    required: true
  deployment:
    description: Name of the LiteLLM Deployment.
    type: str
    default: litellm
  container:
    description:
      - Name of the LiteLLM container in the Deployment.
      - By default the container started with C(--config), else the one named C(litellm), else the only one.
    type: str
  configmap:
    description:
      - Name of the ConfigMap holding LiteLLM's C(config.yaml).
      - By default the ConfigMap the Deployment mounts at the path it passes to LiteLLM as C(--config).
        A name given here wins over that, with a warning when they differ.
    type: str
  config_key:
    description:
      - Key of the ConfigMap whose value is LiteLLM's C(config.yaml).
      - By default the key that the mount turns into the C(--config) file.
    type: str
  secret:
    description:
      - Name of the Secret new provider keys are written to.
      - By default a key goes where the pod already reads it from (an C(env) C(secretKeyRef) or an
        C(envFrom) Secret), and a new key to the Secret the container loads with C(envFrom). A name
        given here must be one the container loads; a key that would not reach the pod is refused.
    type: str
  service:
    description:
      - Name of the Service in front of LiteLLM, used to reach it through the API server's service proxy.
      - By default the Service whose selector matches the Deployment's pods.
    type: str
  port:
    description:
      - Port of that Service. By default its port that targets the LiteLLM container's port.
    type: int
"""

    RUN = r"""
options:
  lock:
    description:
      - Take the run lock of this LiteLLM (the Lease C(homelab-litellm-<deployment>)) when the module
        writes, so that it never writes while a run of the role (or another module) is changing LiteLLM.
        It waits up to O(lock_timeout) seconds for it.
      - The module decides without the lock first. A call that changes nothing (and check mode) never
        touches the Lease, also while another run holds it. A call that writes takes the lock, reads
        the cluster again under it, writes what that read asks for, and frees the lock.
      - V(false) only where the playbook coordinates the writes itself.
    type: bool
    default: true
  lock_timeout:
    description: Seconds to wait for the run lock when another run holds it.
    type: int
    default: 300
  lock_duration:
    description:
      - Seconds the run lock stays valid after each renewal (the Lease's C(leaseDurationSeconds)). It is
        renewed every 5 seconds (a third of it, when shorter) while held, so a holder that dies frees it
        within this time; no process or host test decides that a holder is gone.
    type: int
    default: 15
"""

    ACTION_GROUP = r"""
attributes:
  action_group:
    description: Action is part of action_group(s), for convenient setting of module_defaults.
    support: full
    membership:
      - homelab.litellm.litellm
"""
