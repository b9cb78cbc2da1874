"""Two LiteLLMs from one ansible-playbook run of site.yml (issue 19, "Multiple LiteLLM instances").

Two namespaces: inventory/example-two-instances/hosts.yml as it is (ml/litellm and team/litellm, a
copy of the story's LiteLLM made with kubectl), with the sandbox's group_vars. Both end verified,
each with its own record and its own Lease; then one run rotates the Groq key of ml and gives team a
key Groq rejects: team is rolled back, ml keeps its new key, verified and recorded.

Two Deployments in one namespace sharing a Secret (ml/litellm and ml/litellm2, both loading
litellm-secrets): one run rotates the shared key for both; both end verified, each with its own
record and Lease, the key written once.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import CURRENT_MODELS, REPO_ROOT, issued_key, leaked, vault_keys

pytestmark = pytest.mark.litellm

EXAMPLE = REPO_ROOT / "inventory" / "example-two-instances" / "hosts.yml"
SANDBOX_VARS = REPO_ROOT / "inventory" / "sandbox" / "group_vars" / "all" / "main.yml"
COPIED = ("configmap", "secret", "service", "deployment")


def said(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


def plain(obj: dict) -> dict:
    """An object as a manifest: what the API server added taken away."""
    metadata = {key: obj["metadata"][key] for key in ("name", "labels", "annotations") if key in obj["metadata"]}
    body = {key: value for key, value in obj.items() if key not in ("metadata", "status")}
    if body.get("kind") == "Service":
        body["spec"] = {key: body["spec"][key] for key in ("selector", "ports", "type") if key in body["spec"]}
    return dict(body, metadata=metadata)


def copy_litellm(sandbox, seed: dict, namespace: str) -> None:
    """The story's LiteLLM (its objects as the sandbox seeded them) in another namespace, made with kubectl."""
    if sandbox.kubectl("get", "namespace", namespace, check=False).returncode != 0:
        sandbox.kubectl("create", "namespace", namespace)
    for kind in COPIED:
        sandbox.kubectl("-n", namespace, "create", "-f", "-", input=json.dumps(plain(seed[kind])))
    rollout(sandbox, namespace, "litellm")


def second_litellm(sandbox, seed: dict, name: str) -> None:
    """Deployment ``name`` in ml: the story's spec with its own labels, ConfigMap and Service; the same Secret."""
    config = plain(seed["configmap"])
    config["metadata"] = {"name": f"{name}-config"}
    sandbox.kubectl("-n", "ml", "create", "-f", "-", input=json.dumps(config))
    deployment = plain(seed["deployment"])
    deployment["metadata"] = {"name": name}
    spec = deployment["spec"]
    spec["selector"] = {"matchLabels": {"app": name}}
    spec["template"]["metadata"] = {"labels": {"app": name}}
    for volume in spec["template"]["spec"]["volumes"]:
        if (volume.get("configMap") or {}).get("name") == "litellm-config":
            volume["configMap"]["name"] = f"{name}-config"
    service = plain(seed["service"])
    service["metadata"] = {"name": name}
    service["spec"]["selector"] = {"app": name}
    sandbox.kubectl("-n", "ml", "create", "-f", "-", input=json.dumps(deployment))
    sandbox.kubectl("-n", "ml", "create", "-f", "-", input=json.dumps(service))
    rollout(sandbox, "ml", name)


def rollout(sandbox, namespace: str, name: str) -> None:
    sandbox.kubectl("-n", namespace, "rollout", "status", f"deployment/{name}", "--timeout=180s", timeout=240)


def inventory(tmp_path: Path, hosts: dict, host_vars: dict | None = None) -> Path:
    """An inventory directory: ``hosts`` (an inventory document), the sandbox's group_vars, ``host_vars``."""
    root = tmp_path / f"inventory-{len(list(tmp_path.iterdir()))}"
    (root / "group_vars" / "all").mkdir(parents=True)
    (root / "hosts.yml").write_text(yaml.safe_dump(hosts))
    shutil.copy(SANDBOX_VARS, root / "group_vars" / "all" / "main.yml")
    (root / "host_vars").mkdir()
    for host, values in (host_vars or {}).items():
        (root / "host_vars" / f"{host}.yml").write_text(yaml.safe_dump(values))
    return root


def site(sandbox, root: Path, keys: dict[str, str]) -> subprocess.CompletedProcess:
    """One ansible-playbook run of site.yml over every host of ``root`` (keys as a vars file, never argv)."""
    keys_file = root / "keys.yml"
    keys_file.write_text(yaml.safe_dump({"vault_litellm_api_keys": keys}))
    return sandbox.playbook("site.yml", "-i", str(root), "-e", f"@{keys_file}", timeout=1200)


def record(sandbox, namespace: str, deployment: str) -> tuple[dict, dict]:
    secret = sandbox.get("secret", f"{deployment}-known-good", namespace=namespace)
    return secret["metadata"]["annotations"], json.loads(base64.b64decode(secret["data"]["state.json"]))


def key_in(sandbox, namespace: str, key: str) -> str:
    return base64.b64decode(sandbox.get("secret", "litellm-secrets", namespace=namespace)["data"][key]).decode()


def lease_holder(sandbox, namespace: str, deployment: str) -> str | None:
    lease = sandbox.get("lease", f"homelab-litellm-{deployment}", namespace=namespace)
    return lease["spec"].get("holderIdentity")


def settled(sandbox, namespace: str, name: str) -> bool:
    deployment = sandbox.get("deployment", name, namespace=namespace)
    status = deployment.get("status") or {}
    return (
        status.get("observedGeneration") == deployment["metadata"]["generation"]
        and status.get("updatedReplicas") == status.get("availableReplicas") == deployment["spec"]["replicas"]
    )


@pytest.fixture(scope="module")
def seed(sandbox) -> dict:
    """The story's LiteLLM objects as the sandbox seeded them, before any run."""
    names = {"configmap": "litellm-config", "secret": "litellm-secrets", "service": "litellm", "deployment": "litellm"}
    return {kind: sandbox.get(kind, name) for kind, name in names.items()}


def test_two_namespaces_from_the_example_inventory(sandbox, seed, tmp_path):
    copy_litellm(sandbox, seed, "team")
    hosts = yaml.safe_load(EXAMPLE.read_text())
    assert {
        host: (v["litellm_namespace"], v["litellm_deployment"]) for host, v in hosts["litellm"]["hosts"].items()
    } == {
        "litellm-ml": ("ml", "litellm"),
        "litellm-team": ("team", "litellm"),
    }
    keys = vault_keys()
    first = site(sandbox, inventory(tmp_path, hosts), keys)
    assert first.returncode == 0, said(first)[-4000:]
    assert "litellm-ml" in first.stdout and "litellm-team" in first.stdout
    for namespace in ("ml", "team"):
        annotations, state = record(sandbox, namespace, "litellm")
        assert annotations["homelab.litellm/verified"] == "true", namespace
        assert set(CURRENT_MODELS) <= set(state["models"]), namespace
        assert state["keys"]["GROQ_API_KEY"]["value"] == keys["GROQ_API_KEY"]
        assert lease_holder(sandbox, namespace, "litellm") is None, "each run frees its own lock"
        assert settled(sandbox, namespace, "litellm")
    team_record = record(sandbox, "team", "litellm")

    # One run: ml rotates its Groq key; team gets a key Groq rejects (no provider check, so it is written,
    # LiteLLM restarts on it and the smoke request fails): team is rolled back, ml is not.
    rotated, rejected = issued_key("groq"), issued_key("groq")
    sandbox.accept_keys("groq", [keys["GROQ_API_KEY"], rotated])
    root = inventory(
        tmp_path,
        hosts,
        {
            "litellm-ml": {"litellm_api_keys": dict(keys, GROQ_API_KEY=rotated)},
            "litellm-team": {"litellm_api_keys": dict(keys, GROQ_API_KEY=rejected), "litellm_provider_check": "off"},
        },
    )
    second = site(sandbox, root, keys)
    out = said(second)
    assert second.returncode != 0, out[-4000:]
    assert "litellm-team" in out and "Put back the last verified state" in out, out[-4000:]
    assert key_in(sandbox, "ml", "GROQ_API_KEY") == rotated
    annotations, state = record(sandbox, "ml", "litellm")
    assert annotations["homelab.litellm/verified"] == "true" and state["keys"]["GROQ_API_KEY"]["value"] == rotated
    assert key_in(sandbox, "team", "GROQ_API_KEY") == keys["GROQ_API_KEY"], "team's rejected key was put back"
    assert record(sandbox, "team", "litellm") == team_record, "team's record is the one before the failed run"
    for namespace in ("ml", "team"):
        assert lease_holder(sandbox, namespace, "litellm") is None
        assert settled(sandbox, namespace, "litellm")
    assert leaked(out, dict(sandbox.secrets(), rejected=rejected)) == []
    sandbox.kubectl("delete", "namespace", "team", "--wait=false")


def test_two_deployments_in_one_namespace_share_a_secret(sandbox, seed, tmp_path):
    second_litellm(sandbox, seed, "litellm2")
    keys = dict(vault_keys(), GROQ_API_KEY=key_in(sandbox, "ml", "GROQ_API_KEY"))
    shared = issued_key("groq")
    sandbox.accept_keys("groq", [keys["GROQ_API_KEY"], shared])
    local = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    hosts = {
        "litellm": {
            "hosts": {
                "litellm-ml": dict(local, litellm_namespace="ml", litellm_deployment="litellm"),
                "litellm-ml2": dict(local, litellm_namespace="ml", litellm_deployment="litellm2"),
            }
        }
    }
    before = sandbox.resource_version("secret", "litellm-secrets")
    result = site(sandbox, inventory(tmp_path, hosts), dict(keys, GROQ_API_KEY=shared))
    out = said(result)
    assert result.returncode == 0, out[-4000:]
    assert key_in(sandbox, "ml", "GROQ_API_KEY") == shared
    assert sandbox.resource_version("secret", "litellm-secrets") != before
    for name in ("litellm", "litellm2"):
        annotations, state = record(sandbox, "ml", name)
        assert annotations["homelab.litellm/verified"] == "true", name
        assert state["keys"]["GROQ_API_KEY"] == {"secret": "litellm-secrets", "key": "GROQ_API_KEY", "value": shared}
        assert set(CURRENT_MODELS) <= set(state["models"]), name
        assert lease_holder(sandbox, "ml", name) is None, name
        assert settled(sandbox, "ml", name), name
    for configmap in ("litellm-config", "litellm2-config"):
        served = {entry["model_name"] for entry in yaml.safe_load(sandbox.config_text(configmap))["model_list"]}
        assert set(CURRENT_MODELS) <= served, configmap
    assert leaked(out, sandbox.secrets()) == []
