"""The measurements: the warm-up, no-op rounds, add-model rounds under load, and planning.

Every round runs the floor, the peer and ours in turn on the same sandbox (``bench_noop``,
``bench_rollouts``); ``bench_plan`` times ``plan_config`` alone on a large config.
"""

from __future__ import annotations

import json
import time
import tracemalloc
from pathlib import Path

import yaml

from bench.cluster import DEPLOYMENT, metrics_delta
from bench.harness import PEER_RESTART_TASK, Bench, log, task_end
from tests.conftest import Trickle


def warm_up(bench: Bench) -> dict:
    """One run of each before anything is measured: caches, and the peer's first write.

    The peer rewrites config.yaml in its own format (comments dropped) and adds its digest
    annotation, so its first run rolls LiteLLM; ours then sees a config it did not verify and
    verifies (and rolls) once. After that both are no-ops on the same config.
    """
    bench.kubectl("get", "deployment", DEPLOYMENT)  # kubectl's discovery cache, for the restart floor
    runs = {"floor": bench.floor("warm-up-floor"), "peer": bench.peer("warm-up-peer")}
    bench.watcher.wait_settled()
    runs["ours"] = bench.site("warm-up-ours")
    bench.watcher.wait_settled()
    log(
        "warm-up: floor %.2fs, peer %.2fs (changed: %s), ours %.2fs (changed: %s)"
        % (
            runs["floor"]["wall"],
            runs["peer"]["wall"],
            ", ".join(runs["peer"]["changed"]) or "nothing",
            runs["ours"]["wall"],
            ", ".join(runs["ours"]["changed"]) or "nothing",
        )
    )
    return runs


def bench_noop(bench: Bench, runs: int) -> dict:
    """No-op runs of the floor, the peer and ours, interleaved."""
    samples = {"floor": [], "peer": [], "ours": []}
    for index in range(runs):
        samples["floor"].append(bench.floor("noop-floor"))
        samples["peer"].append(bench.peer("noop-peer"))
        samples["ours"].append(bench.site("noop-ours"))
        log(
            "no-op %d/%d: floor %.2fs, peer %.2fs (%d modules), ours %.2fs (%d modules, %d requests)"
            % (
                index + 1,
                runs,
                samples["floor"][-1]["wall"],
                samples["peer"][-1]["wall"],
                samples["peer"][-1]["module_invocations"],
                samples["ours"][-1]["wall"],
                samples["ours"][-1]["module_invocations"],
                samples["ours"][-1]["requests"]["total"],
            )
        )
    for run in samples["peer"] + samples["ours"]:
        if run["changed"] or run["new_pods"]:
            bench.failures.append(
                "%s: a no-op run changed something (tasks: %s; new pods: %s)"
                % (run["label"], ", ".join(run["changed"]) or "none", ", ".join(run["new_pods"]) or "none")
            )
    return samples


def rollout_sample(bench: Bench, label: str, action, *args) -> dict:
    """One rollout under a steady request load: `action(bench, *args)` returns (run, when its rollout step returned)."""
    before, live = bench.watcher.snapshot()
    with Trickle(bench.box, interval=0.1) as load:
        run, returned = action(bench, *args)
        # Keep the load on until the old pod is gone: its shutdown is part of the rollout.
        bench.watcher.wait_settled()
    run.update(label=label, load_ok=load.ok, load_failed=len(load.failures), load_failures=load.failures[:5])
    new_pod = next((p for p in bench.watcher.new_pods(before) if p.get("ready")), None)
    lag = {}
    if new_pod and returned:
        lag = {
            "ready_to_return": returned - new_pod["ready"],
            "pod_start_to_ready": new_pod["ready"] - new_pod["seen"],
        }
        gone = [pod["gone"] for pod in (bench.watcher.pod(name) for name in live) if pod.get("gone")]
        if gone:
            lag["ready_to_old_pod_gone"] = max(gone) - new_pod["ready"]
        complete = [t for t, _gen in bench.watcher.deployment_complete if t >= new_pod["ready"] - 0.5]
        if complete:
            lag["ready_to_status_complete"] = complete[0] - new_pod["ready"]
    else:
        bench.failures.append("%s: no rollout step returned or no new Ready pod seen" % label)
    run["lag"] = lag
    run["returned"] = returned
    return run


def restart_floor(bench: Bench) -> tuple[dict, float]:
    """kubectl rollout restart + rollout status: LiteLLM's restart-to-ready, nothing else."""
    before = bench.api.metrics()
    started = time.monotonic()
    bench.kubectl("rollout", "restart", "deployment/" + DEPLOYMENT)
    bench.kubectl("rollout", "status", "deployment/" + DEPLOYMENT, "--timeout=240s", timeout=300)
    returned = time.time()
    wall = time.monotonic() - started
    return {"wall": wall, "requests": metrics_delta(before, bench.api.metrics())}, returned


def peer_add_model(bench: Bench, name: str) -> tuple[dict, float | None]:
    models = [*bench.peer_models, bench.new_model(name)]
    run = bench.peer("add-peer", "-e", json.dumps({"peer_models": models}))
    restart = task_end(run, lambda t: t["task"].startswith(PEER_RESTART_TASK))
    return run, restart["end"] if restart else None


def ours_add_model(bench: Bench, name: str) -> tuple[dict, float | None]:
    run = bench.site("add-ours", "-e", json.dumps({"litellm_parallel_models": [bench.new_model(name)]}))
    apply = task_end(run, lambda t: t["action"].endswith("litellm_apply"))
    if not apply:
        return run, None
    # One task does the whole run: its report times each step, so the rollout step returned when the
    # steps after it (verify, record) began.
    steps = json.loads((bench.box.state_dir / "last-run.json").read_text()).get("steps") or []
    names = [step["step"] for step in steps]
    if "rollout" not in names:
        return run, None
    after = sum(step["seconds"] for step in steps[names.index("rollout") + 1 :])
    returned = apply["end"] - after
    run["rollout_to_end"] = run["tasks"][-1]["end"] - returned
    run["steps"] = steps
    return run, returned


def bench_rollouts(bench: Bench, rollouts: int) -> dict:
    """Each round: the restart floor, the peer adding one model, ours adding one model."""
    samples = {"floor": [], "peer": [], "ours": []}
    for index in range(rollouts):
        stamp = int(time.time())
        samples["floor"].append(rollout_sample(bench, "restart-floor", restart_floor))
        samples["peer"].append(rollout_sample(bench, "add-peer", peer_add_model, "bench/peer-%d-%d" % (index, stamp)))
        samples["ours"].append(rollout_sample(bench, "add-ours", ours_add_model, "bench/ours-%d-%d" % (index, stamp)))
        log(
            "rollout %d/%d: floor %.2fs, peer %.2fs, ours %.2fs; failed requests %d / %d / %d"
            % (
                index + 1,
                rollouts,
                *(samples[who][-1]["wall"] for who in ("floor", "peer", "ours")),
                *(samples[who][-1]["load_failed"] for who in ("floor", "peer", "ours")),
            )
        )
    return samples


def bench_plan(repeats: int = 3, models: int = 1000) -> dict:
    """plan_config on a config with `models` models, called as the role calls it.

    The story's three chain models plus managed parallel ones with limits, and the router settings
    the default rate-limit mode asks for (a retry policy per limited model). "add one": every
    parallel model plus a new one; "unchanged": the call of a no-op run.
    """
    from ansible_collections.homelab.litellm.plugins.module_utils.config import plan as config_plan
    from ansible_collections.homelab.litellm.plugins.module_utils.config import rate_limits

    from sandbox import seed

    def entry(name, limits):
        params = {"model": name, "api_base": "http://127.0.0.1:9/groq/openai/v1", "api_key": "os.environ/GROQ_API_KEY"}
        return {"model_name": name, "litellm_params": dict(params, **limits), "model_info": {"free_tier_rpd": 1000}}

    parallel = [entry("groq/bench-%04d" % i, {"rpm": 30, "tpm": 8000}) for i in range(models - 3)]
    wanted = [*parallel, entry("groq/bench-new", {})]
    settings = rate_limits.rate_limit_router_settings(parallel, "throttle")
    current = config_plan.plan_config(
        seed.before_config("http://127.0.0.1:9"), parallel, router_settings=settings
    ).after

    def timed(desired):
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            plan = config_plan.plan_config(current, desired, router_settings=settings)
            times.append(time.perf_counter() - started)
        tracemalloc.start()
        config_plan.plan_config(current, desired, router_settings=settings)
        _size, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return {"seconds": times, "peak_bytes": peak, "changed": plan.changed, "added": plan.added}

    return {
        "config_models": len(yaml.safe_load(current)["model_list"]),
        "config_bytes": len(current.encode()),
        "add_one": timed(wanted),
        "unchanged": timed(parallel),
    }


def provider_answers(state_dir: Path) -> dict:
    """The fake providers' answers by HTTP status, over the whole bench (provider-requests.jsonl)."""
    path = state_dir / "provider-requests.jsonl"
    statuses: dict[str, int] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                status = str(json.loads(line).get("status"))
                statuses[status] = statuses.get(status, 0) + 1
    return dict(sorted(statuses.items()))
