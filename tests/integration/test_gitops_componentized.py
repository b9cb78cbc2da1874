"""site.yml with litellm_apply_mode render and verify on today's chart (``sandbox up --shape componentized``),
and the field manager a GitOps controller meets where the collection wrote.

The round trip as on the retired chart (test_gitops.py), with ``litellm_render_format: helm-new``: ``render``
writes ``gateway.config.proxy_config`` and the Secret keys and touches nothing; a ``verify`` before the sync
fails naming what the cluster lacks and writes nothing; the test then does by hand what Argo CD does with
the commit -- the gateway ConfigMap as templates/gateway/configmap.yaml renders it from the committed values,
applied server-side by ``argocd-controller`` with force (as Argo CD and Flux apply), the keys put into the
Secret, and the new ``checksum/config`` on the gateway's and the backend's pod templates (the chart hashes
the rendered ConfigMap, so both roll) -- and ``verify`` proves LiteLLM through the gateway and records.

Then a run in apply mode writes the ConfigMap and the Secret under the field manager ``homelab.litellm``; the
same server-side apply without --force-conflicts answers 409 naming it, which is what an Argo CD
application with server-side apply and no force shows its user.
"""

from __future__ import annotations

import hashlib
import json
import urllib.request

import pytest
import yaml

from sandbox import componentized
from tests.conftest import CURRENT_MODELS, STORY_CHAIN, issued_key, leaked, running_sandbox, vault_keys
from tests.integration.test_readers import extra_model, report, rollout, site

pytestmark = pytest.mark.litellm

GATEWAY, BACKEND, CONFIGMAP = componentized.GATEWAY, componentized.BACKEND, componentized.CONFIGMAP
VALUES = "litellm-values.yaml"
KEYS = "secret-keys.yaml"
PENDING = "the cluster does not yet have the models " + ", ".join(sorted(CURRENT_MODELS))
ADDED = "groq/groq/compound"
ARGO_APPLY = ("apply", "--server-side", "--field-manager=argocd-controller", "--validate=false", "-f", "-")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    yield from running_sandbox(tmp_path_factory, "--shape", "componentized")


def said(result) -> str:
    return " ".join((result.stdout + result.stderr).split())


def versions(sandbox) -> dict[str, str]:
    """resourceVersion of every ConfigMap, Secret, Deployment, HPA and Lease in the namespace."""
    listed = sandbox.kubectl("-n", "ml", "get", "configmaps,secrets,deployments,hpa,leases", "-o", "json").stdout
    return {
        f"{item['kind']}/{item['metadata']['name']}": item["metadata"]["resourceVersion"]
        for item in json.loads(listed)["items"]
    }


def mode(sandbox, name, *args):
    return sandbox.playbook("site.yml", "-e", f"litellm_apply_mode={name}", *args)


def render(sandbox, path, *args):
    return mode(sandbox, "render", "-e", f"litellm_render_path={path}", "-e", "litellm_render_format=helm-new", *args)


def chart_configmap(proxy_config: dict) -> tuple[dict, str]:
    """The gateway ConfigMap as templates/gateway/configmap.yaml renders the values, and its checksum/config."""
    text = componentized.configmap_text(proxy_config)
    configmap = yaml.safe_load(text)
    configmap["metadata"]["namespace"] = "ml"
    return configmap, hashlib.sha256(text.encode()).hexdigest()


def with_managed_fields(sandbox, kind: str, name: str) -> dict:
    """The object as kubectl gets it with its managedFields (kubectl get leaves them out unless asked)."""
    return json.loads(sandbox.kubectl("-n", "ml", "get", kind, name, "-o", "json", "--show-managed-fields").stdout)


def owned_by(obj: dict, manager: str) -> dict:
    """The fieldsV1 of ``manager``'s entries, merged (empty when it owns nothing)."""
    fields: dict = {}
    for entry in obj["metadata"].get("managedFields") or []:
        if entry["manager"] == manager:
            for key, value in entry["fieldsV1"].items():
                fields.setdefault(key, {}).update(value)
    return fields


def backend_models(sandbox) -> list[str]:
    """/v1/models of the backend, through its own Service."""
    url = (sandbox.state_dir / f"{BACKEND}-url").read_text().strip()
    request = urllib.request.Request(url + "/v1/models", headers={"Authorization": f"Bearer {sandbox.master_key}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return [entry["id"] for entry in json.loads(response.read().decode())["data"]]


def test_round_trip_render_sync_by_hand_verify(sandbox, tmp_path_factory):
    repo = tmp_path_factory.mktemp("gitops") / "repo"
    keys = vault_keys()
    before = versions(sandbox)
    generations = {name: sandbox.generation(name) for name in (GATEWAY, BACKEND)}

    # render: the files, and nothing in the cluster
    result = render(sandbox, repo, "--diff")
    text = said(result)
    assert result.returncode == 0, text[-3000:]
    assert "changed=1" in text and f"+++ after: {repo / VALUES}" in text
    assert versions(sandbox) == before
    values = yaml.safe_load((repo / VALUES).read_text())
    proxy_config = values["gateway"]["config"]["proxy_config"]
    assert list(values) == ["gateway"] and list(values["gateway"]["config"]) == ["proxy_config"]
    assert [model["model_name"] for model in proxy_config["model_list"]] == STORY_CHAIN + CURRENT_MODELS
    listed = yaml.safe_load((repo / KEYS).read_text())
    assert listed["secrets"] == [
        {"name": "litellm-secrets", "keys": [{"key": name, "env": name} for name in sorted(keys)]}
    ]
    assert listed["master_key"] == {"secret": componentized.MASTER_KEY_SECRET, "key": componentized.MASTER_KEY_KEY}
    assert 'gateway.envSecrets: ["litellm-secrets"]' in (repo / KEYS).read_text()
    secrets = dict(sandbox.secrets(), **keys)
    for name in (VALUES, KEYS):
        assert leaked((repo / name).read_text(), secrets) == []
    assert leaked(text, secrets) == []

    # verify before the sync: fails, names what is missing, writes nothing
    early = mode(sandbox, "verify")
    text = said(early)
    assert early.returncode != 0
    assert PENDING in text and "sync your GitOps app" in text and "Nothing was written" in text, text[-3000:]
    assert versions(sandbox) == before

    # What Argo CD does with the commit: the chart's ConfigMap (server-side, forced), the keys, the new checksum.
    configmap, checksum = chart_configmap(proxy_config)
    sandbox.kubectl("-n", "ml", *ARGO_APPLY[:3], "--force-conflicts", *ARGO_APPLY[3:], input=json.dumps(configmap))
    synced_configmap = with_managed_fields(sandbox, "configmap", CONFIGMAP)
    assert owned_by(synced_configmap, "argocd-controller")["f:data"] == {"f:config.yaml": {}}
    sandbox.kubectl(
        "-n", "ml", "patch", "secret", "litellm-secrets", "--type=merge", "-p", json.dumps({"stringData": keys})
    )
    template = {"spec": {"template": {"metadata": {"annotations": {"checksum/config": checksum}}}}}
    for name in (BACKEND, GATEWAY):
        sandbox.kubectl("-n", "ml", "patch", "deployment", name, "--type=merge", "-p", json.dumps(template))
    for name in (BACKEND, GATEWAY):
        rollout(sandbox, name)
        assert sandbox.generation(name) == generations[name] + 1
    synced = versions(sandbox)
    specs = {name: sandbox.get("deployment", name)["spec"] for name in (GATEWAY, BACKEND)}

    result = mode(sandbox, "verify")
    text = said(result)
    assert result.returncode == 0, text[-3000:]
    assert "changed=1" in text
    after = versions(sandbox)
    # Its only writes: the record of each Deployment of the set (gateway and backend read one config, so
    # the same state is recorded for both), and the run locks it records under (a Deployment's status is
    # its controller's).
    written = sorted(
        name for name in after if after[name] != synced.get(name) and not name.startswith(("Deployment/", "Lease/"))
    )
    assert written == sorted("Secret/%s-known-good" % name for name in (GATEWAY, BACKEND)), written
    assert {name: sandbox.get("deployment", name)["spec"] for name in (GATEWAY, BACKEND)} == specs
    for record in written:
        annotations = sandbox.get("secret", record.split("/", 1)[1])["metadata"]["annotations"]
        assert annotations["homelab.litellm/verified"] == "true"
    status, body = sandbox.http("GET", "/v1/models", key=sandbox.master_key)
    assert status == 200 and sorted(model["id"] for model in body["data"]) == sorted(STORY_CHAIN + CURRENT_MODELS)
    assert sorted(backend_models(sandbox)) == sorted(STORY_CHAIN + CURRENT_MODELS)
    assert leaked(text, secrets) == []

    settled = mode(sandbox, "verify")
    assert settled.returncode == 0 and "changed=0" in said(settled), said(settled)[-2000:]
    cycle = render(sandbox, repo)
    assert cycle.returncode == 0 and "changed=0" in said(cycle), said(cycle)[-2000:]


def test_the_collections_writes_carry_its_field_manager_and_a_gitops_apply_conflicts(sandbox, tmp_path):
    committed = yaml.safe_load(sandbox.get("configmap", CONFIGMAP)["data"]["config.yaml"])
    keys = vault_keys()
    new_key = issued_key("groq")
    sandbox.accept_keys("groq", [keys["GROQ_API_KEY"], new_key])
    extra = {
        "litellm_api_keys": dict(keys, GROQ_API_KEY=new_key),
        "litellm_parallel_models": [extra_model(sandbox, ADDED)],
    }
    result, _seconds = site(sandbox, tmp_path, extra)
    assert result.returncode == 0, result.stdout[-3000:]
    assert report(sandbox)["config_changed"] is True and "GROQ_API_KEY" in report(sandbox)["keys_changed"]

    configmap = with_managed_fields(sandbox, "configmap", CONFIGMAP)
    assert owned_by(configmap, "homelab.litellm")["f:data"] == {"f:config.yaml": {}}
    assert "f:data" not in owned_by(configmap, "argocd-controller")
    secret = with_managed_fields(sandbox, "secret", "litellm-secrets")
    assert "f:GROQ_API_KEY" in owned_by(secret, "homelab.litellm")["f:data"]
    entries = configmap["metadata"]["managedFields"] + secret["metadata"]["managedFields"]
    assert [e["operation"] for e in entries if e["manager"] == "homelab.litellm"] == ["Update", "Update"]
    assert not any(e["manager"] == "OpenAPI-Generator" for e in entries)

    # Argo CD syncs the commit again, server-side, without force: the API server refuses and names the writer.
    body, _checksum = chart_configmap(committed)
    refused = sandbox.kubectl("-n", "ml", *ARGO_APPLY, input=json.dumps(body), check=False)
    assert refused.returncode != 0
    assert 'Apply failed with 1 conflict: conflict with "homelab.litellm" using v1: .data.config.yaml' in (
        refused.stderr
    ), refused.stderr
    assert ADDED in sandbox.config_text(CONFIGMAP), "the refused apply changed nothing"
