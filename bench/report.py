"""The issue's targets and the bench's table: each figure's median, min-max and verdict."""

from __future__ import annotations

import statistics

from bench.harness import task_time

# The targets; a miss is reported, it does not fail the bench.
NOOP_OVER_FLOOR = 1.3  # ours / floor, at most
NOOP_OVER_PEER = 0.6  # ours / peer, below
NOOP_MODULES = 1  # module invocations of a no-op, at most
ADD_OVER_FLOOR = 3.0  # seconds over the restart-to-ready floor, at most
PLAN_MS = 300.0  # plan_config on 1,000 models, at most


def summary(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def by_verb(run: dict) -> str:
    return " ".join("%s=%d" % kv for kv in run["requests"]["by_verb"].items())


def module_names(run: dict) -> str:
    return ", ".join("%s x%d" % (name.split(".")[-1], count) for name, count in run["module_counts"].items())


def build_summary(data: dict) -> list[dict]:
    rows = []

    def section(title):
        rows.append({"section": title})

    def add(metric, unit, values, target=None, passes=None, note=""):
        stats = summary(values)
        if stats:
            verdict = ("PASS" if passes(stats["median"]) else "MISS") if passes else ""
            rows.append(dict(stats, metric=metric, unit=unit, target=target or "", verdict=verdict, note=note))

    noop = data.get("noop")
    if noop:
        floor, peer, ours = noop["floor"], noop["peer"], noop["ours"]
        section("No-op run, nothing to change (%d round(s): floor, peer, ours)" % len(ours))
        add("floor: one k8s_info task", "s", [r["wall"] for r in floor])
        add("peer: bench/peer.yml", "s", [r["wall"] for r in peer])
        add("ours: site.yml", "s", [r["wall"] for r in ours])
        add(
            "ours / floor",
            "x",
            [o["wall"] / f["wall"] for o, f in zip(ours, floor)],
            "<= %.1fx" % NOOP_OVER_FLOOR,
            lambda v: v <= NOOP_OVER_FLOOR,
        )
        add(
            "ours / peer",
            "x",
            [o["wall"] / p["wall"] for o, p in zip(ours, peer)],
            "< %.1fx" % NOOP_OVER_PEER,
            lambda v: v < NOOP_OVER_PEER,
        )
        add("peer / floor", "x", [p["wall"] / f["wall"] for p, f in zip(peer, floor)])
        for who, runs in (("floor", floor), ("peer", peer)):
            add(
                "%s: module invocations" % who,
                "n",
                [r["module_invocations"] for r in runs],
                note=module_names(runs[-1]),
            )
        add(
            "ours: module invocations",
            "n",
            [r["module_invocations"] for r in ours],
            "<= %d" % NOOP_MODULES,
            lambda v: v <= NOOP_MODULES,
            note=module_names(ours[-1]),
        )
        add("ours: tasks run (with controller-only ones)", "n", [r["tasks_run"] for r in ours])
        for who, runs in (("floor", floor), ("peer", peer), ("ours", ours)):
            add("%s: API requests" % who, "n", [r["requests"]["total"] for r in runs], note=by_verb(runs[-1]))
        add("floor: ansible-playbook start-up", "s", [r["startup"] for r in floor], note="process start -> first task")
        add("ours: litellm_apply task", "s", [task_time(r, "litellm_apply") for r in ours])
    roll = data.get("rollouts")
    if roll:
        floor, peer, ours = roll["floor"], roll["peer"], roll["ours"]
        section("Adding one model, under a steady request load (%d round(s): floor, peer, ours)" % len(ours))
        add("floor: kubectl rollout restart + status", "s", [r["wall"] for r in floor])
        add("peer: bench/peer.yml adding one model", "s", [r["wall"] for r in peer])
        add("ours: site.yml adding one model", "s", [r["wall"] for r in ours])
        add(
            "ours - floor",
            "s",
            [o["wall"] - f["wall"] for o, f in zip(ours, floor)],
            "<= +%.0f s" % ADD_OVER_FLOOR,
            lambda v: v <= ADD_OVER_FLOOR,
        )
        add("ours / peer", "x", [o["wall"] / p["wall"] for o, p in zip(ours, peer)])
        add("peer - floor", "s", [p["wall"] - f["wall"] for p, f in zip(peer, floor)])
        for who, runs in (("floor", floor), ("peer", peer)):
            add(
                "%s: failed requests" % who,
                "n",
                [r["load_failed"] for r in runs],
                note="of %d" % sum(r["load_ok"] + r["load_failed"] for r in runs),
            )
        add(
            "ours: failed requests",
            "n",
            [r["load_failed"] for r in ours],
            "0",
            lambda v: v == 0,
            note="of %d" % sum(r["load_ok"] + r["load_failed"] for r in ours),
        )
        for who, runs in (("floor", floor), ("peer", peer), ("ours", ours)):
            add("%s: Ready flip -> rollout step returned" % who, "s", [r["lag"].get("ready_to_return") for r in runs])
        for who, runs in (("floor", floor), ("peer", peer), ("ours", ours)):
            add("%s: new pod start -> Ready" % who, "s", [r["lag"].get("pod_start_to_ready") for r in runs])
        add("ours: Ready -> Deployment status complete", "s", [r["lag"].get("ready_to_status_complete") for r in ours])
        add("ours: Ready -> old pod gone", "s", [r["lag"].get("ready_to_old_pod_gone") for r in ours])
        add("ours: rollout returned -> run end", "s", [r.get("rollout_to_end") for r in ours], note="verify, record")
        add("ours: litellm_apply task", "s", [task_time(r, "litellm_apply") for r in ours])
        for who, runs in (("peer", peer), ("ours", ours)):
            add(
                "%s: module invocations" % who,
                "n",
                [r["module_invocations"] for r in runs],
                note=module_names(runs[-1]),
            )
        for who, runs in (("floor", floor), ("peer", peer), ("ours", ours)):
            add("%s: API requests" % who, "n", [r["requests"]["total"] for r in runs], note=by_verb(runs[-1]))
    plan = data.get("plan")
    if plan:
        section(
            "Planning a %d-model config (plan_config, %d KiB)" % (plan["config_models"], plan["config_bytes"] // 1024)
        )
        for case, label in (("add_one", "add one model"), ("unchanged", "unchanged")):
            add(
                "plan_config: %s" % label,
                "ms",
                [s * 1000 for s in plan[case]["seconds"]],
                "<= %.0f ms" % PLAN_MS,
                lambda v: v <= PLAN_MS,
            )
            add("plan_config: %s, peak memory" % label, "MiB", [plan[case]["peak_bytes"] / 2**20])
    first = data.get("first_run")
    if first:
        section("Other")
        add("ours: first run (story applied)", "s", [first["wall"]], note=by_verb(first))
        add("ours: first run, discovery requests", "n", [first["requests"]["by_verb"].get("discovery", 0)])
        warm = data.get("warm_up") or {}
        if warm.get("peer"):
            add("peer: first run (rewrites, rolls)", "s", [warm["peer"]["wall"]], note=module_names(warm["peer"]))
    answers = data.get("provider_answers")
    if answers is not None:
        add(
            "fake providers: answers 429",
            "n",
            [answers.get("429", 0)],
            "0",
            lambda v: v == 0,
            note=" ".join("%s=%d" % kv for kv in answers.items()),
        )
    return rows


def format_table(rows: list[dict]) -> str:
    def number(value, unit):
        if unit == "n":
            return "%g" % value
        return "%.2f" % value if unit in ("s", "x", "MiB") else "%.1f" % value

    header = "%-44s %8s %-3s  %-13s %2s  %-10s %-5s  %s" % (
        "metric",
        "median",
        "",
        "min-max",
        "n",
        "target",
        "",
        "note",
    )
    lines = [header, "-" * 110]
    for row in rows:
        if "section" in row:
            lines += ["", "== %s" % row["section"]]
            continue
        spread = "%s-%s" % (number(row["min"], row["unit"]), number(row["max"], row["unit"]))
        lines.append(
            "%-44s %8s %-3s  %-13s %2d  %-10s %-5s  %s"
            % (
                row["metric"],
                number(row["median"], row["unit"]),
                row["unit"],
                spread,
                row["n"],
                row["target"],
                row["verdict"],
                row["note"],
            )
        )
    return "\n".join(lines)
