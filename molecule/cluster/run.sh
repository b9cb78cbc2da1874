#!/usr/bin/env bash
# `make molecule-cluster`: the cluster scenario, or "skipped" (exit 0) when no
# cluster is reachable. Only a cluster named explicitly counts: KUBECONFIG or
# K8S_AUTH_KUBECONFIG must be set (~/.kube/config alone is not used here).
# Default: `molecule check -s cluster` (check mode, changes nothing).
# LITELLM_MOLECULE_APPLY=true: `molecule test -s cluster [ARGS]` (changes the cluster).
set -euo pipefail
cd "$(dirname "$0")/../.."
python="${PYTHON:-.venv/bin/python}"

if [ -z "${K8S_AUTH_KUBECONFIG:-}${KUBECONFIG:-}" ]; then
    echo "molecule-cluster: skipped: no cluster reachable (neither KUBECONFIG nor K8S_AUTH_KUBECONFIG is set)"
    exit 0
fi

# Reachable means the API server answers /version within 5 s; an HTTP error
# (401, 403) is an answer: prepare.yml then says what is wrong.
if ! where=$("$python" - <<'PY' 2>&1
import os
import sys

from kubernetes import client, config
from kubernetes.client.rest import ApiException

try:
    config.load_kube_config(config_file=os.environ.get("K8S_AUTH_KUBECONFIG") or None,
                            context=os.environ.get("K8S_AUTH_CONTEXT") or None)
    host = client.Configuration.get_default_copy().host
    try:
        version = client.VersionApi().get_code(_request_timeout=5).git_version
    except ApiException as exc:
        version = f"answers HTTP {exc.status}"
except Exception as exc:  # unreadable kubeconfig, refused, timed out, TLS ...
    print(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}")
    sys.exit(1)
print(f"{host} ({version})")
PY
); then
    echo "molecule-cluster: skipped: no cluster reachable ($where)"
    exit 0
fi

echo "molecule-cluster: cluster at $where, namespace ${LITELLM_NAMESPACE:-ml}"
if [ "${LITELLM_MOLECULE_APPLY:-}" = "true" ]; then
    exec molecule test -s cluster "$@"
fi
echo "molecule-cluster: check mode (a preview that changes nothing); LITELLM_MOLECULE_APPLY=true applies"
exec molecule check -s cluster
