"""site.yml with litellm_apply_mode render and verify, on LiteLLM as the retired Helm chart installs it and Argo CD
syncs it (``sandbox up --shape helm``, plus Argo CD's tracking label on the chart's objects).

The round trip a GitOps operator makes: ``render`` writes the chart's values fragment and the list of Secret
keys under litellm_render_path and touches nothing in the cluster (every resourceVersion as it was); a
``verify`` before the sync fails saying what the cluster lacks and leaves it as it is; the test then does
by hand what Argo CD does after the commit -- the ConfigMap as the chart renders it from the committed
values (``toYaml`` of ``proxy_config``), the keys put into the Secret, a rollout -- and ``verify`` proves
LiteLLM and records the state, its only write; a second verify and a render after the sync change
nothing. A key the provider rejects renders no file.
"""

from __future__ import annotations

import json

import pytest
import yaml

from sandbox.helm import to_yaml
from tests.conftest import CURRENT_MODELS, STORY_CHAIN, issued_key, leaked, vault_keys, write_vault

pytestmark = pytest.mark.litellm

ARGO = {"argocd.argoproj.io/instance": "litellm"}
VALUES = "litellm-helm-values.yaml"
KEYS = "secret-keys.yaml"
PENDING = "the cluster does not yet have the models " + ", ".join(sorted(CURRENT_MODELS))
OBJECTS = (
    ("configmap", "litellm-config"),
    ("secret", "litellm-secrets"),
    ("secret", "litellm-masterkey"),
    ("deployment", "litellm"),
    ("secret", "litellm-known-good"),
    ("lease", "homelab-litellm-litellm"),
)


@pytest.fixture(scope="module")
def sandbox(helm_sandbox):
    """The helm shape, with Argo CD's tracking label on what the chart installed (an Argo CD application)."""
    for kind, name in (("configmap", "litellm-config"), ("deployment", "litellm"), ("secret", "litellm-masterkey")):
        helm_sandbox.kubectl("-n", "ml", "label", kind, name, "argocd.argoproj.io/instance=litellm")
    return helm_sandbox


def said(result) -> str:
    return " ".join((result.stdout + result.stderr).split())


def versions(sandbox) -> dict[str, str | None]:
    found = {}
    for kind, name in OBJECTS:
        listed = sandbox.kubectl("-n", "ml", "get", kind, name, "--ignore-not-found", "-o", "json").stdout
        found[f"{kind}/{name}"] = json.loads(listed)["metadata"]["resourceVersion"] if listed.strip() else None
    return found


def mode(sandbox, name, *args):
    return sandbox.playbook("site.yml", "-e", f"litellm_apply_mode={name}", *args)


def render(sandbox, path, *args):
    return mode(sandbox, "render", "-e", f"litellm_render_path={path}", "-e", "litellm_render_format=helm-old", *args)


def test_apply_refuses_and_points_at_render(sandbox):
    before = versions(sandbox)
    result = sandbox.playbook("site.yml", "-e", "litellm_foreign_owner=refuse")
    text = said(result)
    assert result.returncode != 0
    assert "is managed by Argo CD (application litellm)" in text, text[-3000:]
    assert "run with litellm_apply_mode: render (it writes the chart values or config.yaml to commit)" in text
    assert versions(sandbox) == before


def test_a_key_the_provider_rejects_renders_no_file(sandbox, tmp_path):
    bad = issued_key("groq")
    vault = write_vault(tmp_path / "bad.yml", dict(vault_keys(), GROQ_API_KEY=bad))
    before = versions(sandbox)
    result = render(sandbox, tmp_path / "repo", "-e", f"@{vault}")
    text = said(result)
    assert result.returncode != 0
    assert "Nothing was written. Groq rejected the key in GROQ_API_KEY" in text, text[-3000:]
    assert not (tmp_path / "repo").exists()
    assert versions(sandbox) == before
    assert leaked(text, dict(sandbox.secrets(), bad=bad)) == []


def test_round_trip_render_sync_by_hand_verify(sandbox, tmp_path):
    keys = vault_keys()
    repo = tmp_path / "repo"
    before = versions(sandbox)
    generation, pods = sandbox.generation(), sandbox.serving_pods()

    # render: the files, and nothing in the cluster
    result = render(sandbox, repo, "--diff")
    text = said(result)
    assert result.returncode == 0, text[-3000:]
    assert "changed=1" in text and f"+++ after: {repo / VALUES}" in text
    assert versions(sandbox) == before
    assert (sandbox.generation(), sandbox.serving_pods()) == (generation, pods)
    values = yaml.safe_load((repo / VALUES).read_text())
    assert [model["model_name"] for model in values["proxy_config"]["model_list"]] == STORY_CHAIN + CURRENT_MODELS
    assert values["proxy_config"]["general_settings"]["master_key"] == "os.environ/PROXY_MASTER_KEY"
    listed = yaml.safe_load((repo / KEYS).read_text())
    assert listed["secrets"] == [
        {"name": "litellm-secrets", "keys": [{"key": name, "env": name} for name in sorted(keys)]}
    ]
    assert listed["master_key"] == {"secret": "litellm-masterkey", "key": "masterkey"}
    secrets = dict(sandbox.secrets(), **keys)
    for name in (VALUES, KEYS):
        assert leaked((repo / name).read_text(), secrets) == []
        assert (repo / name).stat().st_mode & 0o777 == 0o644
    assert leaked(text, secrets) == []

    again = render(sandbox, repo)
    assert again.returncode == 0 and "changed=0" in said(again), said(again)[-2000:]

    # verify before the sync: fails, names what is missing, leaves the cluster as it is
    early = mode(sandbox, "verify")
    text = said(early)
    assert early.returncode != 0
    assert PENDING in text and "sync your GitOps app" in text and "Nothing was written" in text, text[-3000:]
    assert versions(sandbox) == before

    # What Argo CD does with the commit: the chart's ConfigMap from the values, the keys, a rollout.
    configmap = sandbox.get("configmap", "litellm-config")
    configmap["data"]["config.yaml"] = to_yaml(values["proxy_config"]) + "\n"
    for field in ("resourceVersion", "uid", "creationTimestamp", "managedFields"):
        configmap["metadata"].pop(field, None)
    sandbox.kubectl("-n", "ml", "apply", "--validate=false", "-f", "-", input=json.dumps(configmap))
    sandbox.kubectl(
        "-n", "ml", "patch", "secret", "litellm-secrets", "--type=merge", "-p", json.dumps({"stringData": keys})
    )
    sandbox.kubectl("-n", "ml", "rollout", "restart", "deployment/litellm")
    synced, synced_spec = versions(sandbox), sandbox.get("deployment", "litellm")["spec"]

    result = mode(sandbox, "verify")
    text = said(result)
    assert result.returncode == 0, text[-3000:]
    assert "changed=1" in text
    after = versions(sandbox)
    for name in [f"{kind}/{name}" for kind, name in OBJECTS[:3]]:
        assert after[name] == synced[name], f"verify wrote {name}"
    # The rollout verify waited for moves the Deployment's status (the controller's); its spec stays as synced.
    assert sandbox.get("deployment", "litellm")["spec"] == synced_spec
    assert after["secret/litellm-known-good"] != synced["secret/litellm-known-good"]
    record = sandbox.get("secret", "litellm-known-good")
    assert record["metadata"]["annotations"]["homelab.litellm/verified"] == "true"
    status, body = sandbox.http("GET", "/v1/models", key=sandbox.master_key)
    assert status == 200 and sorted(model["id"] for model in body["data"]) == sorted(STORY_CHAIN + CURRENT_MODELS)
    assert leaked(text, dict(sandbox.secrets(), **keys)) == []

    settled = mode(sandbox, "verify")
    assert settled.returncode == 0 and "changed=0" in said(settled), said(settled)[-2000:]
    assert versions(sandbox)["secret/litellm-known-good"] == after["secret/litellm-known-good"]

    # render, commit, sync, render: the committed file is what the synced cluster renders again
    cycle = render(sandbox, repo)
    assert cycle.returncode == 0 and "changed=0" in said(cycle), said(cycle)[-2000:]
