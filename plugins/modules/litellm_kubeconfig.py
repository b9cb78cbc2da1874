#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: litellm_kubeconfig
short_description: Write a kubeconfig for a ServiceAccount, with a token from the TokenRequest API
version_added: 0.2.0
author:
  - homelab.litellm developers (@homelab-litellm)
description:
  - Asks the API server for a token of the ServiceAccount O(service_account) (TokenRequest, the
    C(serviceaccounts/token) subresource, valid O(expiration_seconds)) and writes a kubeconfig for it
    to O(path), with the API server and CA of the credentials this module runs with. Mode C(0600).
  - Used by C(playbooks/rbac.yml) to hand a CI job the least-privilege identity the litellm role
    needs. The token never appears in the result, the diff or a log.
  - Idempotent within half the token's lifetime - an existing file younger than that, for the same
    ServiceAccount and server, is left alone (O(force=true) renews it).
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
    details: Says whether a new token would be requested; requests and writes nothing.
  diff_mode:
    support: none
    details: The file holds a credential; it is never diffed.
options:
  service_account:
    description: Name of the ServiceAccount, in O(namespace).
    type: str
    required: true
  path:
    description: Where to write the kubeconfig.
    type: path
    required: true
  expiration_seconds:
    description: Lifetime of the token (the API server may shorten it; at least 600).
    type: int
    default: 86400
  force:
    description: Request a new token even when the file is still young.
    type: bool
    default: false
requirements:
  - kubernetes >= 24.2.0
seealso:
  - module: homelab.litellm.litellm_plan"""

EXAMPLES = r"""
- name: A kubeconfig for CI, valid one day
  homelab.litellm.litellm_kubeconfig:
    namespace: ml
    service_account: litellm-ansible
    path: /secure/ci/litellm-kubeconfig
"""

RETURN = r"""
path:
  description: The kubeconfig written.
  returned: always
  type: str
  sample: /secure/ci/litellm-kubeconfig
expires:
  description: When the token expires (as the API server says), or null when no token was requested.
  returned: always
  type: str
  sample: "2026-12-02T10:00:00Z"
user:
  description: The identity the kubeconfig authenticates as.
  returned: always
  type: str
  sample: system:serviceaccount:ml:litellm-ansible
"""

import base64
import os
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.homelab.litellm.plugins.module_utils import _k8s, _run
from ansible_collections.homelab.litellm.plugins.module_utils._args import argument_spec as shared_spec

try:
    import yaml
except ImportError:  # kubernetes depends on PyYAML; check_libraries reports a missing kubernetes
    yaml = None


def argument_spec():
    return shared_spec(
        service_account=dict(type="str", required=True),
        path=dict(type="path", required=True),
        expiration_seconds=dict(type="int", default=86400),
        force=dict(type="bool", default=False),
    )


def still_young(path, lifetime, user, server):
    """Whether the kubeconfig at ``path`` is for ``user`` on ``server`` and younger than half ``lifetime``."""
    try:
        age = time.time() - os.stat(path).st_mtime
        with open(path) as handle:
            existing = yaml.safe_load(handle) or {}
    except (OSError, ValueError, AttributeError):
        return False
    contexts = existing.get("contexts") or [{}]
    clusters = existing.get("clusters") or [{}]
    return (
        age < lifetime / 2
        and (contexts[0].get("context") or {}).get("user") == user
        and (clusters[0].get("cluster") or {}).get("server") == server
    )


def kubeconfig(server, ca_pem, verify, user, token, namespace):
    cluster = {"server": server}
    if ca_pem:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode("ascii")
    elif not verify:
        cluster["insecure-skip-tls-verify"] = True
    name = user.rsplit(":", 1)[-1]
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": name,
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": user, "namespace": namespace}}],
    }


def write_private(path, text):
    directory = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(prefix=".kubeconfig-", dir=directory)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def run(module, kube):
    params = module.params
    namespace, account = params["namespace"], params["service_account"]
    user = "system:serviceaccount:%s:%s" % (namespace, account)
    configuration = kube.configuration
    server = configuration.host
    result = dict(changed=False, path=params["path"], expires=None, user=user)
    if not params["force"] and still_young(params["path"], params["expiration_seconds"], user, server):
        return result
    result["changed"] = True
    if module.check_mode:
        return result
    if kube.get("serviceaccounts", namespace, account) is None:
        raise _run.RunFailure(
            "ServiceAccount %s/%s not found; create it first (playbooks/rbac.yml does)" % (namespace, account)
        )
    answer = kube.json(
        "POST",
        kube.path("serviceaccounts", namespace, account, "token"),
        body={
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": params["expiration_seconds"]},
        },
    )
    token = (answer.get("status") or {}).get("token")
    if not token:
        raise _run.RunFailure("the API server answered the TokenRequest without a token")
    module.no_log_values.add(token)
    ca_pem = None
    if configuration.ssl_ca_cert:
        with open(configuration.ssl_ca_cert, "rb") as handle:
            ca_pem = handle.read()
    write_private(
        params["path"],
        yaml.safe_dump(kubeconfig(server, ca_pem, configuration.verify_ssl, user, token, namespace), sort_keys=False),
    )
    result["expires"] = (answer.get("status") or {}).get("expirationTimestamp")
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    _k8s.run_with_kube(module, run, expected=_run.EXPECTED)


if __name__ == "__main__":
    main()
