"""Today's chart with the operator's own ConfigMap (``--shape componentized-own-config``, issue 20).

The chart's values ``gateway.config.create: false`` and, for gateway and backend, ``volumes``,
``volumeMounts`` and ``extraEnv`` CONFIG_FILE_PATH mount ``litellm-config``, a ConfigMap the operator
made with ``kubectl apply`` (sandbox/componentized.py). No tool owns it, so site.yml merges the
models into it without the foreign-owner warning the chart's own ConfigMap draws, restarts the
backend and then the gateway, and both list every model through their Services. A second run
changes nothing. A ``helm upgrade`` -- simulated by applying the chart's objects as rendered with
these values, server-side under Helm's field manager, forcing conflicts -- renders no ConfigMap and
so keeps the models: the chart no longer owns the config.
"""

from __future__ import annotations

import json
import re
import ssl
import urllib.error
import urllib.request

import pytest
import yaml

from sandbox import componentized, seed
from tests.conftest import running_sandbox
from tests.integration.test_readers import newest_replicaset, report, rollout, site

pytestmark = pytest.mark.litellm

GATEWAY, BACKEND = componentized.NAMES["gateway"], componentized.NAMES["backend"]
BOTH = (BACKEND, GATEWAY)
CONFIGMAP = componentized.OWN_CONFIGMAP


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    yield from running_sandbox(tmp_path_factory, "--shape", "componentized-own-config")


def config_models(sandbox) -> list[str]:
    return sorted(m["model_name"] for m in yaml.safe_load(sandbox.config_text(CONFIGMAP))["model_list"])


def listed(sandbox, name: str) -> list[str]:
    """GET /v1/models of the component behind Service ``name``, through the API server's Service proxy."""
    port = componentized.PORTS["gateway" if name == GATEWAY else "backend"]
    url = f"{sandbox.api_url}/api/v1/namespaces/ml/services/{name}:{port}/proxy/v1/models"
    request = urllib.request.Request(url)
    request.add_header("Authorization", f"Bearer {sandbox.token}")
    request.add_header("x-litellm-api-key", f"Bearer {sandbox.master_key}")
    try:
        with urllib.request.urlopen(request, timeout=30, context=sandbox.api_ssl) as response:
            return sorted(entry["id"] for entry in json.loads(response.read().decode())["data"])
    except (urllib.error.HTTPError, ssl.SSLError) as err:  # pragma: no cover - the assertion shows it
        raise AssertionError(f"{name}: {err}") from err


def recap_changed(stdout: str) -> int:
    match = re.search(r"localhost\s*:\s*ok=\d+\s+changed=(\d+)", stdout)
    assert match, stdout[-2000:]
    return int(match.group(1))


@pytest.fixture(scope="module")
def first_run(sandbox, tmp_path_factory):
    before = sandbox.config_text(CONFIGMAP)
    result, seconds = site(sandbox, tmp_path_factory.mktemp("first"), {})
    assert result.returncode == 0, result.stdout[-3000:]
    return {"before": before, "result": result, "seconds": seconds}


def test_site_merges_into_the_operators_configmap_without_a_foreign_owner_warning(sandbox, first_run):
    result = first_run["result"]
    run = report(sandbox)
    assert "is managed by" not in result.stdout + result.stderr, "litellm-config has no Helm, Argo CD or Flux marker"
    assert not [w for w in run["warnings"] if "is managed by" in w or "helm upgrade" in w], run["warnings"]
    after = sandbox.config_text(CONFIGMAP)
    assert after != first_run["before"]
    added = [
        m["model_name"]
        for m in yaml.safe_load(after)["model_list"]
        if (m.get("model_info") or {}).get("managed_by") == "homelab.litellm"
    ]
    assert added, after
    assert "# Tier 1: GPU (3s timeout)" in after, "the operator's comments are kept"
    assert sandbox.kubectl("-n", "ml", "get", "configmap", componentized.CONFIGMAP, check=False).returncode == 1
    assert run["restarted_deployments"] == list(BOTH), "backend first, the gateway (named) last"
    assert (
        newest_replicaset(sandbox, BACKEND)["metadata"]["creationTimestamp"]
        <= newest_replicaset(sandbox, GATEWAY)["metadata"]["creationTimestamp"]
    )
    print(f"componentized-own-config: first site.yml in {first_run['seconds']:.1f}s, {len(added)} models added")


def test_gateway_and_backend_list_every_model_through_their_services(sandbox, first_run):
    models = config_models(sandbox)
    assert len(models) > 3
    for name in BOTH:
        assert listed(sandbox, name) == models, name


def test_a_second_run_changes_nothing(sandbox, first_run, tmp_path):
    resource_version = sandbox.resource_version("configmap", CONFIGMAP)
    generations = {name: sandbox.generation(name) for name in BOTH}
    result, _seconds = site(sandbox, tmp_path, {})
    assert result.returncode == 0, result.stdout[-3000:]
    assert recap_changed(result.stdout) == 0
    assert report(sandbox)["restarted_deployments"] == []
    assert sandbox.resource_version("configmap", CONFIGMAP) == resource_version
    assert {name: sandbox.generation(name) for name in BOTH} == generations


def test_a_helm_upgrade_keeps_the_models(sandbox, first_run, tmp_path):
    """The chart's objects as rendered with the own-config values, applied as Helm's field manager."""
    models = config_models(sandbox)
    resource_version = sandbox.resource_version("configmap", CONFIGMAP)
    story = yaml.safe_load(seed.before_config(sandbox.providers_url))
    rendered, _job, _manifest, _values = componentized.render(story, "ml", 1, ["litellm-secrets"], own_config=True)
    deployments = [obj for _, obj in rendered if obj["kind"] == "Deployment"]
    assert not [obj for _, obj in rendered if obj["kind"] == "ConfigMap"]
    applied = sandbox.kubectl(
        "-n",
        "ml",
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=helm",
        "-f",
        "-",
        input="".join(f"---\n{yaml.safe_dump(obj)}" for obj in deployments),
    )
    assert "serverside-applied" in applied.stdout, applied.stdout
    for name in (*BOTH, componentized.UI):
        rollout(sandbox, name)
    assert sandbox.resource_version("configmap", CONFIGMAP) == resource_version
    assert config_models(sandbox) == models
    for name in BOTH:
        assert listed(sandbox, name) == models, name
    # Restarting both (as any later rollout would) still serves every model: the config is the operator's.
    for name in BOTH:
        sandbox.kubectl("-n", "ml", "rollout", "restart", f"deployment/{name}")
        rollout(sandbox, name)
        assert listed(sandbox, name) == models, name
