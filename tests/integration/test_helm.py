"""site.yml and rotate_keys.yml on LiteLLM as the official Helm chart installs it (``sandbox up --shape helm``).

The chart's ConfigMap (``toYaml``, no comments) and its master key Secret ``litellm-masterkey``
(``os.environ/PROXY_MASTER_KEY``) carry Helm's ownership metadata; the operator's own
``litellm-secrets`` is loaded with envFrom (``environmentSecrets``). Read back with kubectl: with the
default policy the run warns that Helm owns the ConfigMap and goes on, writes the keys where the pod
reads them (never into Helm's Secret) and proves every model; ``refuse`` stops before any write;
a rotation restarts LiteLLM on the new key; a key the provider rejects is rolled back without
leaving its value anywhere; a Deployment that loads no Secret with envFrom is refused before any
write, with the fix named.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json

import pytest
import yaml

from tests.conftest import (
    CURRENT_MODELS,
    STORY_CHAIN,
    ansible_tmp_leaks,
    decoded_base64,
    issued_key,
    leaked,
    vault_keys,
    write_vault,
)

pytestmark = pytest.mark.litellm

CHAIN, PARALLEL = STORY_CHAIN, CURRENT_MODELS
GROQ_MODEL = "groq/openai/gpt-oss-20b"
HELM_WARNING = (
    "ConfigMap ml/litellm-config is managed by Helm (release litellm): the next helm upgrade renders it from the "
    "chart's values again, without what this collection merged in."
)
OWNERSHIP = {"meta.helm.sh/release-name": "litellm", "meta.helm.sh/release-namespace": "ml"}
NON_SECRET_KINDS = "configmaps,deployments,replicasets,pods,services,endpoints,events,leases,serviceaccounts"


@pytest.fixture(scope="module")
def sandbox(helm_sandbox):
    return helm_sandbox


@pytest.fixture(scope="module")
def keys():
    """The provider keys LiteLLM should have now (the vault's, then what a test rotated to)."""
    return vault_keys()


def said(result) -> str:
    """Everything the run printed, as one line (warnings go to stderr and are wrapped)."""
    return " ".join((result.stdout + result.stderr).split())


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def versions(sandbox) -> dict[str, str]:
    """resourceVersions of every object a run could write, the chart's and the collection's."""
    found = {}
    for kind, name in (
        ("configmap", "litellm-config"),
        ("secret", "litellm-secrets"),
        ("secret", "litellm-masterkey"),
        ("deployment", "litellm"),
        ("secret", "litellm-known-good"),
        ("lease", "homelab-litellm-litellm"),
    ):
        listed = sandbox.kubectl("-n", "ml", "get", kind, name, "--ignore-not-found", "-o", "json").stdout
        found[f"{kind}/{name}"] = json.loads(listed)["metadata"]["resourceVersion"] if listed.strip() else None
    return found


def served_models(sandbox) -> list[str]:
    status, body = sandbox.http("GET", "/v1/models", key=sandbox.master_key)
    assert status == 200, body
    return sorted(model["id"] for model in body["data"])


def groq_keys_sent_since(sandbox, count_before: int) -> set[str]:
    return {r.get("key_sha256") for r in sandbox.provider_requests()[count_before:] if r["provider"] == "groq"}


def pod_names(sandbox) -> list[str]:
    return sandbox.serving_pods()


def test_refuse_stops_before_any_write_naming_helm(sandbox):
    before = versions(sandbox)
    result = sandbox.playbook("site.yml", "-e", "litellm_foreign_owner=refuse")
    text = said(result)
    assert result.returncode != 0
    assert f"Nothing was written. {HELM_WARNING}" in text, text[-3000:]
    assert "litellm_foreign_owner is refuse" in text
    assert "Secret ml/litellm-secrets is managed" not in text, "the operator's own Secret is not Helm's"
    assert versions(sandbox) == before
    assert leaked(text, sandbox.secrets()) == []


def test_first_run_warns_about_helm_and_serves_every_model(sandbox, keys):
    masterkey_before = sandbox.get("secret", "litellm-masterkey")
    result = sandbox.playbook("site.yml")
    text = said(result)
    assert result.returncode == 0, text[-3000:]
    assert f"[WARNING]: {HELM_WARNING}" in text
    assert leaked(text, sandbox.secrets()) == []

    # The keys are in the Secret the pod loads with envFrom; Helm's master key Secret is untouched.
    for name, value in keys.items():
        assert sandbox.secret_value(name) == value
    assert sandbox.get("secret", "litellm-masterkey") == masterkey_before
    configmap = sandbox.get("configmap", "litellm-config")
    assert configmap["metadata"]["annotations"] == OWNERSHIP, "Helm's ownership stays as it was"
    config = yaml.safe_load(configmap["data"]["config.yaml"])
    assert [model["model_name"] for model in config["model_list"]] == CHAIN + PARALLEL
    assert config["general_settings"]["master_key"] == "os.environ/PROXY_MASTER_KEY"

    assert served_models(sandbox) == sorted(CHAIN + PARALLEL)
    sent_before = len(sandbox.provider_requests())
    for model in PARALLEL:
        status, answer = sandbox.chat(model)
        assert status == 200, (model, answer)
    sent = {(r["provider"], r.get("key_sha256")) for r in sandbox.provider_requests()[sent_before:]}
    for provider, env in (("groq", "GROQ_API_KEY"), ("gemini", "GEMINI_API_KEY"), ("mistral", "MISTRAL_API_KEY")):
        assert (provider, sha(keys[env])) in sent


def test_second_run_changes_nothing_and_does_not_restart(sandbox):
    before, generation, pods = versions(sandbox), sandbox.generation(), pod_names(sandbox)
    result = sandbox.playbook("site.yml")
    text = said(result)
    assert result.returncode == 0, text[-3000:]
    assert "changed=0" in text
    assert HELM_WARNING not in text, "nothing is written, so there is nothing Helm would overwrite"
    assert sandbox.generation() == generation
    assert pod_names(sandbox) == pods
    assert versions(sandbox) == before


def test_rotation_restarts_litellm_on_the_new_key(sandbox, keys, tmp_path):
    new_key = issued_key("groq")
    sandbox.accept_keys("groq", [keys["GROQ_API_KEY"], new_key])
    generation, pods = sandbox.generation(), pod_names(sandbox)
    result = sandbox.playbook(
        "rotate_keys.yml", "-e", f"@{write_vault(tmp_path / 'new.yml', dict(keys, GROQ_API_KEY=new_key))}"
    )
    text = said(result)
    assert result.returncode == 0, text[-3000:]
    assert leaked(text, dict(sandbox.secrets(), new=new_key)) == []
    assert sandbox.secret_value("GROQ_API_KEY") == new_key
    assert sandbox.generation() > generation
    assert not set(pod_names(sandbox)) & set(pods), "LiteLLM runs in new pods"
    sandbox.accept_keys("groq", [new_key])  # the old key is revoked: only the new one can answer
    sent_before = len(sandbox.provider_requests())
    status, answer = sandbox.chat(GROQ_MODEL)
    assert status == 200, answer
    assert groq_keys_sent_since(sandbox, sent_before) == {sha(new_key)}
    keys["GROQ_API_KEY"] = new_key


def test_a_rejected_key_is_rolled_back_and_leaves_no_trace(sandbox, keys, tmp_path):
    good = sandbox.secret_value("GROQ_API_KEY")
    bad = issued_key("groq")
    result = sandbox.playbook(
        "rotate_keys.yml",
        "-e",
        f"@{write_vault(tmp_path / 'bad.yml', dict(keys, GROQ_API_KEY=bad))}",
        "-e",
        "litellm_provider_check=off",
        "-vvvv",
    )
    text = said(result)
    assert result.returncode != 0
    assert "routes, key rejected" in text and 'Groq says "Invalid API Key"' in text, text[-3000:]
    assert "Put back the last verified state" in text

    assert sandbox.secret_value("GROQ_API_KEY") == good
    sandbox.rollout_status()
    assert served_models(sandbox) == sorted(CHAIN + PARALLEL)
    sent_before = len(sandbox.provider_requests())
    status, answer = sandbox.chat(GROQ_MODEL)
    assert status == 200, answer
    assert groq_keys_sent_since(sandbox, sent_before) == {sha(good)}

    secrets = dict(sandbox.secrets(), bad=bad)
    assert leaked(text, secrets) == []
    assert leaked(decoded_base64(text), secrets) == []
    others = sandbox.kubectl("get", NON_SECRET_KINDS, "-A", "-o", "json").stdout
    assert leaked(others, secrets) == [] and leaked(decoded_base64(others), secrets) == []
    record = sandbox.get("secret", "litellm-known-good")
    assert leaked(json.dumps(record["metadata"]), secrets) == []
    # Helm's release record holds the chart's rendered manifest, its master key Secret included, but no
    # provider key: the collection never writes to it.
    release = sandbox.get("secret", "sh.helm.release.v1.litellm.v1")["data"]["release"]
    manifest = gzip.decompress(base64.b64decode(base64.b64decode(release))).decode()
    assert leaked(manifest, dict(keys, bad=bad, good=good)) == []
    assert ansible_tmp_leaks(secrets) == []


@pytest.fixture
def without_envfrom(sandbox):
    """The Deployment with its envFrom removed (LiteLLM loads no Secret whole), put back afterwards."""
    envfrom = sandbox.get("deployment", "litellm")["spec"]["template"]["spec"]["containers"][0]["envFrom"]
    path = "/spec/template/spec/containers/0/envFrom"
    sandbox.kubectl(
        "-n", "ml", "patch", "deployment", "litellm", "--type=json", "-p", json.dumps([{"op": "remove", "path": path}])
    )
    sandbox.rollout_status()
    yield
    sandbox.kubectl(
        "-n",
        "ml",
        "patch",
        "deployment",
        "litellm",
        "--type=json",
        "-p",
        json.dumps([{"op": "add", "path": path, "value": envfrom}]),
    )
    sandbox.rollout_status()


def test_keys_with_nowhere_to_go_are_refused_naming_the_fix(sandbox, without_envfrom):
    before, generation = versions(sandbox), sandbox.generation()
    result = sandbox.playbook("site.yml")
    text = said(result)
    assert result.returncode != 0
    assert "Nothing was written." in text, text[-3000:]
    # One sentence for all the keys, naming the fix once.
    assert (
        "GEMINI_API_KEY, GROQ_API_KEY, MISTRAL_API_KEY would not reach LiteLLM: container litellm loads no Secret "
        "with envFrom that they could come from; add {secretRef: {name: litellm-secrets}} to its envFrom "
        "(spec.template.spec.containers[].envFrom; with the Helm chart: environmentSecrets: [litellm-secrets])"
    ) in text
    assert versions(sandbox) == before
    assert sandbox.generation() == generation
    assert leaked(text, sandbox.secrets()) == []
