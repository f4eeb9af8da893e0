"""Benchmark: search time and quality of every method (issue 5's targets).

1. **Default three-model profile** (validation part of paper-seed3, 49 problems), on the
   default grid (per-stage θ, t independent of k) and on the paper grid (one θ): the exact
   front; then for budgets spread evenly along that front (one per front point, evenly
   spaced, ``--budgets`` of them): exact time, heuristic time and accuracy gap to the exact
   optimum, the integer program's time (wall and CPU), status and gap on a subset
   (``--ilp-budgets``) with a time limit, and Optuna on a few. Targets: exact <= 60 s,
   ILP <= 60 s, heuristic <= 50 ms with a mean gap <= 0.5 percentage points over 20 budgets.
2. **Scale** on profiles with more models (``PROFILE:GRID`` pairs; ``synthetic<M>`` is a
   synthetic M-model profile): plans in the space, the integer program's time, status and
   gap at a mid-range budget, the pruned exact search's time (in a child process, stopped
   after ``--scale-exact-limit`` seconds), and what plain enumeration would take at the
   scoring rate exact search reaches on the default three-model grid.
3. **Time limits** (``--limit-profiles``, ``--limits``): the integer program at the same
   mid-range budget with each time limit, its wall time against the limit (the target:
   within the limit plus well under a second), status and gap.

Run: python3 benchmarks/bench_search.py [--profile NAME] [--scale PROFILE:GRID,...]
Writes benchmarks/results/bench_search.json (the load average is recorded: times on the
shared 2-core machine are only comparable at a low load).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import time
from pathlib import Path

import numpy as np

from planner.errors import CodecascadeError
from planner.output import atomic_write
from planner.planning import planning_context, single_model_front
from planner.report import format_table
from planner.search import (
    ExactSearch,
    HeuristicSearch,
    IntegerProgram,
    Objective,
    OptunaSearch,
    exact_front,
)
from planner.synthetic import synthetic_profile

RESULTS = Path(__file__).resolve().parent / "results" / "bench_search.json"


def spread_budgets(front_costs: np.ndarray, n: int) -> list[float]:
    """n budgets at front points evenly spaced along the front (by rank)."""
    idx = np.unique(np.linspace(0, front_costs.size - 1, n).round().astype(int))
    return [float(front_costs[i]) for i in idx]


def cpu_seconds() -> float:
    """CPU time of this process and its waited-for children (the ILP's guarded solvers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def bench_grid(profile, grid, n_budgets, ilp_budgets, optuna_budgets, ilp_limit, rows):
    context, t_ctx = timed(lambda: planning_context(profile, grid=grid, split="paper-seed3"))
    space = context.planning
    (front, evaluated), t_front = timed(lambda: exact_front(space))
    budgets = spread_budgets(front.cost, n_budgets)
    per_budget = []
    for j, budget in enumerate(budgets):
        objective = Objective(budget=budget)
        exact = ExactSearch().search(space, objective)
        heur = HeuristicSearch().search(space, objective)
        entry = {"budget": budget, "exact_accuracy": exact.accuracy,
                 "exact_seconds": exact.seconds, "exact_plans_scored": exact.plans_evaluated,
                 "heuristic_accuracy": heur.accuracy, "heuristic_seconds": heur.seconds,
                 "heuristic_gap_pp": 100 * (exact.accuracy - heur.accuracy)}
        spaced = max(1, len(budgets) // max(1, ilp_budgets))
        if ilp_budgets and j % spaced == 0 and j // spaced < ilp_budgets:
            cpu = cpu_seconds()
            ilp = IntegerProgram(time_limit=ilp_limit).search(space, objective)
            entry.update(ilp_accuracy=ilp.accuracy, ilp_seconds=ilp.seconds,
                         ilp_cpu_seconds=cpu_seconds() - cpu,
                         ilp_status=ilp.status, ilp_gap=ilp.gap,
                         ilp_programs=ilp.plans_evaluated,
                         ilp_gap_pp=100 * (exact.accuracy - ilp.accuracy))
        spaced = max(1, len(budgets) // max(1, optuna_budgets))
        if optuna_budgets and j % spaced == 0 and j // spaced < optuna_budgets:
            try:
                opt = OptunaSearch().search(space, objective, seed=0)
                entry.update(optuna_accuracy=opt.accuracy, optuna_seconds=opt.seconds,
                             optuna_gap_pp=100 * (exact.accuracy - opt.accuracy))
            except CodecascadeError as exc:
                entry.update(optuna_error=str(exc))
        per_budget.append(entry)

    def stats(key, scale=1.0):
        values = [e[key] * scale for e in per_budget if key in e]
        return (float(np.mean(values)), float(np.max(values)), len(values)) if values else (
            None, None, 0)

    summary = {
        "grid": grid, "profile": context.profile_label,
        "planning_problems": space.n_problems,
        "options_per_model": [t.n_options for t in space.tables],
        "plans_in_space": space.count_plans(),
        "context_seconds": t_ctx,
        "exact_front_seconds": t_front, "exact_front_points": len(front),
        "exact_front_plans_scored": evaluated,
        "budgets": per_budget,
    }
    for key, label, scale in [("exact_seconds", "exact (per budget)", 1.0),
                              ("heuristic_seconds", "heuristic", 1.0),
                              ("ilp_seconds", "integer program", 1.0),
                              ("optuna_seconds", "optuna TPE", 1.0)]:
        mean_t, max_t, n = stats(key, scale)
        gap_key = {"exact_seconds": None, "heuristic_seconds": "heuristic_gap_pp",
                   "ilp_seconds": "ilp_gap_pp", "optuna_seconds": "optuna_gap_pp"}[key]
        mean_gap, max_gap, _ = stats(gap_key) if gap_key else (0.0, 0.0, n)
        extra = ""
        if key == "ilp_seconds" and n:
            statuses = [e["ilp_status"] for e in per_budget if "ilp_status" in e]
            within = sum(1 for e in per_budget
                         if e.get("ilp_status") == "optimal" and e["ilp_seconds"] <= 60.0)
            extra = (f"{statuses.count('optimal')}/{n} proven optimal, {within}/{n} "
                     "proven within 60 s")
        summary[key.replace("_seconds", "")] = {"mean_seconds": mean_t, "max_seconds": max_t,
                                                "budgets": n, "mean_gap_pp": mean_gap,
                                                "max_gap_pp": max_gap, "note": extra}
        if n:
            rows.append([grid, label, n, round(mean_t, 4), round(max_t, 4),
                         None if mean_gap is None else round(mean_gap, 3),
                         None if max_gap is None else round(max_gap, 3), extra])
    rows.append([grid, "exact whole front", 1, round(t_front, 4), round(t_front, 4), 0.0, 0.0,
                 f"{len(front)} points, {evaluated:,} of {space.count_plans():,} plans scored"])
    return summary


def scale_profile(name: str):
    """A bundled profile by name, or ``synthetic<M>``: a synthetic profile of M models on
    164 problems (for more models than any bundled profile has)."""
    if name.startswith("synthetic"):
        n_models = int(name.removeprefix("synthetic"))
        profile = synthetic_profile(n_models=n_models, n_problems=164, n_samples=20,
                                    n_tests=20, seed=0)
        return profile, name
    return name, name


def _exact_child(space, objective, queue) -> None:
    result = ExactSearch().search(space, objective)
    queue.put((result.accuracy, result.seconds, result.plans_evaluated))


def exact_with_limit(space, objective, limit: float):
    """(accuracy, seconds, plans scored) of exact search in a child process, or None if it
    has not finished after ``limit`` seconds (it is then stopped)."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_exact_child, args=(space, objective, queue))
    child.start()
    child.join(limit)
    if child.is_alive():
        child.terminate()
        child.join()
        return None
    return queue.get() if not queue.empty() else None


def bench_scale(name, grid, ilp_limit, exact_limit, rate, rows):
    """One scale run; ``rate`` is the measured plans scored per second of exact search."""
    profile, label = scale_profile(name)
    context = planning_context(profile, grid=grid, split="paper-seed3")
    space = context.planning
    single = single_model_front(context)
    budget = float(single[len(single) // 2].cost)  # mid-range: the median single-model plan
    objective = Objective(budget=budget)
    cpu = cpu_seconds()
    ilp = IntegerProgram(time_limit=ilp_limit).search(space, objective)
    ilp_cpu = cpu_seconds() - cpu
    exact = exact_with_limit(space, objective, exact_limit)
    plans = space.count_plans()
    unpruned_hours = plans / rate / 3600
    exact_note = (f"pruned exact {exact[1]:.1f} s" if exact is not None
                  else f"pruned exact unfinished after {exact_limit:g} s")
    rows.append([f"{label}/{grid}", f"{space.n_models} models: integer program", 1,
                 round(ilp.seconds, 2), round(ilp.seconds, 2),
                 None if exact is None else round(100 * (exact[0] - ilp.accuracy), 3), None,
                 f"{ilp.status}, gap {ilp.gap:.3g}; {plans:.3g} plans, {exact_note}, "
                 f"unpruned ~{unpruned_hours:.3g} h"])
    return {"grid": grid, "profile": label,
            "models": [t.model for t in space.tables], "planning_problems": space.n_problems,
            "options_per_model": [t.n_options for t in space.tables], "plans_in_space": plans,
            "budget": budget,
            "ilp_seconds": ilp.seconds, "ilp_cpu_seconds": ilp_cpu, "ilp_status": ilp.status,
            "ilp_gap": ilp.gap, "ilp_accuracy": ilp.accuracy,
            "ilp_programs_solved": ilp.plans_evaluated,
            "exact_limit_seconds": exact_limit,
            "exact_finished": exact is not None,
            "exact_accuracy": None if exact is None else exact[0],
            "exact_seconds": None if exact is None else exact[1],
            "exact_plans_scored": None if exact is None else exact[2],
            "plans_scored_per_second": rate,
            "unpruned_enumeration_hours": unpruned_hours}


def bench_time_limits(pairs, limits, rows) -> list[dict]:
    """For each PROFILE:GRID and time limit: the integer program's wall time (the whole
    ``search`` call) against its limit at the scale runs' mid-range budget."""
    out = []
    for pair in pairs:
        name, _, grid = pair.partition(":")
        grid = grid or "default"
        profile, label = scale_profile(name)
        context = planning_context(profile, grid=grid, split="paper-seed3")
        single = single_model_front(context)
        budget = float(single[len(single) // 2].cost)
        for limit in limits:
            cpu = cpu_seconds()
            start = time.perf_counter()
            ilp = IntegerProgram(time_limit=limit).search(context.planning,
                                                          Objective(budget=budget))
            wall = time.perf_counter() - start
            entry = {"profile": label, "grid": grid, "budget": budget, "limit_seconds": limit,
                     "wall_seconds": wall, "over_limit_seconds": wall - limit,
                     "cpu_seconds": cpu_seconds() - cpu, "status": ilp.status,
                     "gap": ilp.gap, "accuracy": ilp.accuracy,
                     "programs_solved": ilp.plans_evaluated,
                     "load_average_1min": os.getloadavg()[0]}
            out.append(entry)
            rows.append([f"{label}/{grid}", f"ILP, limit {limit:g} s", 1, round(wall, 2),
                         round(wall, 2), None, None,
                         f"{ilp.status}, gap {ilp.gap:.3g}; {wall - limit:+.2f} s vs limit, "
                         f"{ilp.plans_evaluated} programs"])
    return out


def scoring_rate(grids) -> float:
    """Plans scored per second by exact search: the default grid's whole-front run (or a
    fresh one when that grid was not benchmarked)."""
    for g in grids:
        if g["grid"] == "default":
            return g["exact_front_plans_scored"] / g["exact_front_seconds"]
    space = planning_context(None, grid="default", split="paper-seed3").planning
    (_, evaluated), seconds = timed(lambda: exact_front(space))
    return evaluated / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default=None, help="default: the bundled default")
    parser.add_argument("--scale", default="humaneval-extra:default,synthetic5:default,"
                        "synthetic6:default,synthetic7:default,synthetic6:paper",
                        help="PROFILE:GRID pairs for the scale runs "
                        "(synthetic<M>: a synthetic M-model profile)")
    parser.add_argument("--grids", default="default,paper")
    parser.add_argument("--budgets", type=int, default=20)
    parser.add_argument("--ilp-budgets", type=int, default=5)
    parser.add_argument("--optuna-budgets", type=int, default=5)
    parser.add_argument("--ilp-time-limit", type=float, default=60.0)
    parser.add_argument("--scale-ilp-time-limit", type=float, default=120.0)
    parser.add_argument("--scale-exact-limit", type=float, default=300.0,
                        help="seconds after which the scale runs' exact search is stopped")
    parser.add_argument("--limit-profiles", default="synthetic5:generalised,"
                        "synthetic6:generalised,synthetic7:generalised",
                        help="PROFILE:GRID pairs for the time-limit runs ('' to skip)")
    parser.add_argument("--limits", default="1,2,5,10",
                        help="comma-separated ILP time limits (seconds) for those runs")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    load_start = os.getloadavg()[0]
    rows: list[list[object]] = []
    grids = [bench_grid(args.profile, g, args.budgets, args.ilp_budgets, args.optuna_budgets,
                        args.ilp_time_limit, rows) for g in args.grids.split(",") if g]
    scale = []
    pairs = [x for x in args.scale.split(",") if x]
    rate = scoring_rate(grids) if pairs else float("nan")
    for pair in pairs:
        name, _, g = pair.partition(":")
        try:
            scale.append(bench_scale(name, g or "default", args.scale_ilp_time_limit,
                                     args.scale_exact_limit, rate, rows))
        except CodecascadeError as exc:  # a grid the scale profile cannot support
            scale.append({"profile": name, "grid": g, "error": str(exc)})
            rows.append([f"{name}/{g}", "error", 0, None, None, None, None, str(exc)])
    limits = [float(x) for x in args.limits.split(",") if x]
    time_limits = bench_time_limits([x for x in args.limit_profiles.split(",") if x], limits,
                                    rows)
    print(format_table(["grid", "method", "budgets", "mean s", "max s", "mean gap pp",
                        "max gap pp", "note"], rows))
    report = {"benchmark": "search methods", "machine": platform.platform(),
              "cpus": os.cpu_count(), "load_average_1min_start": load_start,
              "load_average_1min": os.getloadavg()[0], "grids": grids, "scale": scale,
              "time_limits": time_limits}
    with atomic_write(args.out, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
