"""The summary `make demo` prints after site.yml: what a user should see at a glance.

It reads the role's run report (.sandbox/last-run.json) and checks the cluster
independently with kubectl: the models in the ConfigMap and the fallback chain
compared with the before state, and the models LiteLLM serves, asked with the
master key from where the sandbox's shape keeps it (sandbox.json: Secret
litellm-secrets/LITELLM_MASTER_KEY, the old chart's litellm-masterkey/masterkey, or
litellm-master-key-secret/master-key for today's chart, where the backend is asked too).
Exits non-zero when anything is off.
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from .seed import CONFIG_TEMPLATE, MASTER_KEY_LOCATION

KUBECTL = "/usr/bin/kubectl"


def kubectl(state: Path, *args: str) -> str:
    return subprocess.run(
        [KUBECTL, "--kubeconfig", str(state / "kubeconfig"), "-n", "ml", *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def sandbox_info(state: Path) -> dict:
    """What ``sandbox up`` wrote about itself (older state dirs: the default shape, no Redis)."""
    path = state / "sandbox.json"
    if path.exists():
        return json.loads(path.read_text())
    secret, key = MASTER_KEY_LOCATION["default"]
    return {"shape": "default", "redis": False, "replicas": 1, "master_key": {"secret": secret, "key": key}}


def served_models(state: Path, info: dict, url_file: str = "litellm-url") -> list[str]:
    """GET /v1/models through the service, with the master key read from the cluster."""
    where = info["master_key"]
    encoded = kubectl(state, "get", "secret", where["secret"], "-o", f"jsonpath={{.data.{where['key']}}}")
    master_key = base64.b64decode(encoded).decode()
    url = (state / url_file).read_text().strip() + "/v1/models"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {master_key}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return [m["id"] for m in json.loads(response.read())["data"]]


def chain_of(config: dict) -> list:
    return (config.get("router_settings") or {}).get("fallbacks") or []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", type=Path, default=Path(".sandbox"))
    args = parser.parse_args(argv)
    state = args.state_dir
    report = json.loads((state / "last-run.json").read_text())
    info = sandbox_info(state)
    configmap = info.get("configmap", "litellm-config")
    raw = kubectl(state, "get", "configmap", configmap, "-o", "jsonpath={.data.config\\.yaml}")
    config = yaml.safe_load(raw)
    before = yaml.safe_load(CONFIG_TEMPLATE.format(vllm="", ollama="", openai=""))
    problems = []

    in_config = [m["model_name"] for m in config["model_list"]]
    parallel = [
        m["model_name"]
        for m in config["model_list"]
        if (m.get("model_info") or {}).get("managed_by") == "homelab.litellm"
    ]
    served = report.get("served_models") or []
    shape = {
        "helm": "the litellm-helm 1.1.0 chart's objects",
        "componentized": "today's helm/litellm chart: gateway, backend, ui",
        "componentized-own-config": "today's helm/litellm chart, the operator's own ConfigMap",
    }.get(info["shape"], "the story's manifests")
    print(
        f"\nLiteLLM on the sandbox cluster ({shape}; {info['replicas']} replica(s)"
        f"{', Redis' if info.get('redis') else ''})"
    )
    print(f"  Models served ({len(served)}): {', '.join(m for m in served if m not in parallel)}")
    print(f"    + parallel:  {', '.join(parallel)}")
    if sorted(served) != sorted(in_config):
        problems.append(f"served models {sorted(served)} differ from the ConfigMap's {sorted(in_config)}")
    try:
        asked = served_models(state, info)
    except (OSError, urllib.error.URLError, subprocess.CalledProcessError, KeyError, ValueError) as err:
        problems.append(f"GET /v1/models with the master key from {info['master_key']['secret']} failed: {err}")
    else:
        print(f"  /v1/models with the master key from Secret {info['master_key']['secret']}: {len(asked)} models")
        if sorted(asked) != sorted(in_config):
            problems.append(f"LiteLLM serves {sorted(asked)}, the ConfigMap lists {sorted(in_config)}")
    for other in info.get("deployments", [])[1:]:
        if not other.endswith("-backend"):
            continue  # the ui serves no models
        # The backend reads the same ConfigMap: the run restarts it too (before the gateway).
        listed = served_models(state, info, f"{other}-url")
        print(f"  {other} (reads the same ConfigMap): {len(listed)} models")
        if sorted(listed) != sorted(in_config):
            problems.append(f"{other} serves {sorted(listed)}, the ConfigMap lists {sorted(in_config)}")
    router = config.get("router_settings") or {}
    if info.get("redis"):
        redis = json.loads((state / "redis.json").read_text())
        shared = router.get("redis_host") == redis["host"] and str(router.get("redis_port")) == str(redis["port"])
        print(
            f"  Redis {redis['host']}:{redis['port']}: rate-limit counters "
            f"{'shared by the replicas' if shared else 'NOT configured (each replica counts alone)'}"
        )

    chain = chain_of(config)
    unchanged = chain == chain_of(before)
    links = " -> ".join([next(iter(chain[0]))] + [next(iter(link.values()))[0] for link in chain]) if chain else "none"
    print(f"  Fallback chain: {links} ({'unchanged' if unchanged else 'CHANGED'})")
    if not unchanged:
        problems.append("the fallback chain changed")

    if report.get("restarted"):
        print(f"  Rollout: LiteLLM restarted and ready in {report['rollout_seconds']:.1f}s")
    else:
        print("  Rollout: nothing changed, no restart")

    print("  A request through LiteLLM to each new model:")
    for smoke in report.get("smoke") or []:
        mark = "ok " if smoke["status"] == "ok" else smoke["status"].upper()
        answer = (smoke.get("answer") or smoke.get("message") or "").replace("\n", " ")[:60]
        print(f"    {mark} {smoke['model']:<32} {smoke['latency']:.2f}s  {answer!r}")
        if smoke["status"] != "ok":
            problems.append(f"{smoke['model']}: {smoke['status']} {smoke.get('message', '')}")
    for warning in report.get("warnings") or []:
        print(f"  note: {warning}")

    kubeconfig = state / "kubeconfig"
    print("\nThe sandbox keeps running so you can explore it:")
    print(f"  kubectl --kubeconfig {kubeconfig} -n ml get deploy,pods,configmap,secret")
    print(f"  kubectl --kubeconfig {kubeconfig} -n ml get configmap {configmap} -o jsonpath='{{.data.config\\.yaml}}'")
    where = info["master_key"]
    print(
        f"  MASTER_KEY=$(kubectl --kubeconfig {kubeconfig} -n ml get secret {where['secret']} "
        f"-o jsonpath='{{.data.{where['key']}}}' | base64 -d)"
    )
    print(f'  curl -H "Authorization: Bearer $MASTER_KEY" $(cat {state / "litellm-url"})/v1/models')
    print("  Stop it with: make sandbox-down")
    if problems:
        print("\nDEMO FAILED:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
