"""The summary `make demo` prints after site.yml: what a user should see at a glance.

It reads the role's run report (.sandbox/last-run.json) and checks the cluster
independently with kubectl: the models in the ConfigMap and the fallback chain
compared with the before state. Exits non-zero when anything is off.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import yaml

from .seed import CONFIG_TEMPLATE

KUBECTL = "/usr/bin/kubectl"


def chain_of(config: dict) -> list:
    return (config.get("router_settings") or {}).get("fallbacks") or []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", type=Path, default=Path(".sandbox"))
    args = parser.parse_args(argv)
    state = args.state_dir
    report = json.loads((state / "last-run.json").read_text())
    raw = subprocess.run([KUBECTL, "--kubeconfig", str(state / "kubeconfig"), "-n", "ml", "get", "configmap",
                          "litellm-config", "-o", "jsonpath={.data.config\\.yaml}"],
                         capture_output=True, text=True, check=True).stdout
    config = yaml.safe_load(raw)
    before = yaml.safe_load(CONFIG_TEMPLATE.format(vllm="", ollama="", openai=""))
    problems = []

    in_config = [m["model_name"] for m in config["model_list"]]
    parallel = [m["model_name"] for m in config["model_list"]
                if (m.get("model_info") or {}).get("managed_by") == "homelab.litellm"]
    served = report.get("served_models") or []
    print("\nLiteLLM on the sandbox cluster")
    print(f"  Models served ({len(served)}): {', '.join(m for m in served if m not in parallel)}")
    print(f"    + parallel:  {', '.join(parallel)}")
    if sorted(served) != sorted(in_config):
        problems.append(f"served models {sorted(served)} differ from the ConfigMap's {sorted(in_config)}")

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
    print(f"  kubectl --kubeconfig {kubeconfig} -n ml get configmap litellm-config -o jsonpath='{{.data.config\\.yaml}}'")
    print(f"  curl $(cat {state / 'litellm-url'})/health/readiness")
    print("  Stop it with: make sandbox-down")
    if problems:
        print("\nDEMO FAILED:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
