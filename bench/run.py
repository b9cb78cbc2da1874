"""Benchmarks of homelab.litellm on one sandbox, side by side with a plain kubernetes.core peer.

    .venv/bin/python bench/run.py [--runs 5] [--rollouts 3] [--out bench/results.json]

A benchmark, not a test: it measures and reports, and fails only when a playbook or the sandbox
fails (a no-op run that changes something counts as failing), never because a target was missed
or the machine was slow. Three contenders run on the same sandbox, interleaved in every round
(floor, peer, ours), so that a machine that gets slower or faster during the bench shifts all
three:

- floor: the least any tool can do. For a no-op, an ``ansible-playbook`` with one
  ``kubernetes.core.k8s_info`` task; for a change, ``kubectl rollout restart`` + ``rollout
  status`` (LiteLLM's own restart-to-ready, nothing else);
- peer: ``bench/peer.yml``, the same job written by hand with kubernetes.core (read the
  ConfigMap, merge, write it, patch the Secret, restart on change, wait), given the same model
  entries and router settings as ours wrote on its first run, so both converge on one config;
- ours: ``playbooks/site.yml`` (the homelab.litellm role) with the sandbox inventory.

Figures, each as median and min-max over the runs, with the issue's targets (PASS/MISS):

1. no-op (nothing to change): wall time of each; ours/floor (target at most 1.3x) and
   ours/peer (target below 0.6x); module invocations (ours: one) and API requests
   (the sandbox's ``/sandbox/metrics`` before/after) of each;
2. adding one model: wall time of each, under a steady request load; ours minus the restart
   floor (target at most 3 s); failed requests of that load (goal 0); readiness lag, from the
   new pod's Ready flip (seen on a watch) to the rollout step returning (a callback plugin
   writes each task's end; ours is one task, whose report times each of its steps);
3. planning: ``plan_config`` on a config with 1,000 models, adding one and unchanged (target
   at most 300 ms each), and its peak memory (tracemalloc).

Module invocations are counted by a logging interpreter wrapper (``ansible_python_interpreter``
for every run): it reads the module's name from the AnsiballZ payload, whether Ansible passes
it as a file or, with pipelining (the role, the peer and the floor all use it), on stdin,
which the wrapper hands on through an in-memory file. Action plugins that run on the
controller (set_fact, debug, litellm_report) start no module and are not counted.

The bench sets no role variables beyond the sandbox inventory: the presets' free-tier limits
are safe for its own requests. A no-op run sends no smoke request (smoke scope "changed"),
the first run one per preset model, each add-model run one to its new model (which has no
limit); the load goes to the chain model vllm-qwen, which has none; and the fake providers
enforce no limit unless providers.json says so (the sandbox the bench starts has none). The
table reports the providers' 429 answers, so a limit that was hit shows.

bench/results.json holds every sample, the commit and a digest of the uncommitted changes it
measured. Before/after a change of the modules: ``bench/run.py --modules-at REF --out
/tmp/before.json`` measures plugins/modules and plugins/module_utils as they are at git REF,
everything else (roles, filters, the bench) as in the working tree; then ``make bench``. The
sandbox runs in a temporary directory and is stopped at the end, also on error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The bench is the package bench of the repository root, which `python bench/run.py` does not
# put on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cluster import Watcher
from bench.harness import MODULE_DIRS, PYTHON, REPO, Bench, collection_with_modules_at, log, tree_state
from bench.measure import bench_noop, bench_plan, bench_rollouts, provider_answers, warm_up
from bench.report import (
    ADD_OVER_FLOOR,
    NOOP_MODULES,
    NOOP_OVER_FLOOR,
    NOOP_OVER_PEER,
    PLAN_MS,
    build_summary,
    format_table,
)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="no-op rounds (floor, peer, ours)")
    parser.add_argument("--rollouts", type=int, default=3, help="add-model rounds (restart floor, peer, ours)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results.json")
    parser.add_argument(
        "--only", choices=["noop", "rollouts", "plan"], action="append", help="run only these parts (default: all)"
    )
    parser.add_argument("--keep-sandbox", action="store_true", help="leave the sandbox running (debugging)")
    parser.add_argument(
        "--modules-at",
        metavar="GIT_REF",
        help="measure %s as they are at this git ref, everything else as in the working tree "
        "(the 'before' of a change of the modules)" % " and ".join(MODULE_DIRS),
    )
    args = parser.parse_args(argv)
    parts = args.only or ["noop", "rollouts", "plan"]
    # SIGTERM (a killed make) unwinds like Ctrl-C, so the sandbox is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    started = time.monotonic()
    data = {
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "loadavg_start": os.getloadavg(),
        },
        "parameters": {"runs": args.runs, "rollouts": args.rollouts, "parts": parts},
        "targets": {
            "noop_over_floor": NOOP_OVER_FLOOR,
            "noop_over_peer": NOOP_OVER_PEER,
            "noop_modules": NOOP_MODULES,
            "add_over_floor_seconds": ADD_OVER_FLOOR,
            "plan_ms": PLAN_MS,
        },
        "tree": tree_state(),
    }
    if "plan" in parts:
        log("planning: plan_config on 1,000 models")
        data["plan"] = bench_plan()
    work = Path(tempfile.mkdtemp(prefix="litellm-bench-"))
    state_dir = work / "sandbox"
    # kubectl caches API discovery by server address; the bench's own cache leaves ~/.kube alone.
    os.environ["KUBECACHEDIR"] = str(work / "kube-cache")
    bench = None
    try:
        if args.modules_at:
            data["modules_at"] = args.modules_at
        if {"noop", "rollouts"} & set(parts):
            collections_path = collection_with_modules_at(args.modules_at, work) if args.modules_at else None
            log("starting the sandbox in %s" % state_dir)
            up = subprocess.run(
                [str(PYTHON), "-m", "sandbox", "up", "--state-dir", str(state_dir)],
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=400,
            )
            if up.returncode != 0:
                print(up.stdout + up.stderr, file=sys.stderr)
                return 1
            bench = Bench(state_dir, work, collections_path)
            bench.watcher = Watcher(bench.api).start()
            before_text = bench.api.config_text()
            log("first site.yml run (applies the story; discovery on first contact)")
            data["first_run"] = bench.site("first-run")
            data["peer_vars"] = bench.give_peer_what_ours_wrote(before_text, bench.api.config_text())
            bench.watcher.wait_settled()
            data["warm_up"] = warm_up(bench)
            if "noop" in parts:
                data["noop"] = bench_noop(bench, args.runs)
            if "rollouts" in parts:
                bench.watcher.wait_settled()
                data["rollouts"] = bench_rollouts(bench, args.rollouts)
            data["provider_answers"] = provider_answers(state_dir)
    finally:
        if bench and bench.watcher:
            bench.watcher.stop()
        if not args.keep_sandbox:
            subprocess.run(
                [str(PYTHON), "-m", "sandbox", "down", "--state-dir", str(state_dir)],
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=120,
            )
            shutil.rmtree(work, ignore_errors=True)
    data["seconds"] = time.monotonic() - started
    data["machine"]["loadavg_end"] = os.getloadavg()
    data["failures"] = bench.failures if bench else []
    data["summary"] = build_summary(data)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1, default=str) + "\n")
    print()
    print(format_table(data["summary"]))
    print(
        "\n%d CPUs, load average %.2f at start, %.2f at end; bench took %.0f s; raw samples in %s"
        % (
            os.cpu_count(),
            data["machine"]["loadavg_start"][0],
            data["machine"]["loadavg_end"][0],
            data["seconds"],
            args.out,
        )
    )
    if data["failures"]:
        print("FAILED runs (a product failure, not slowness):\n  " + "\n  ".join(data["failures"]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
