"""Benchmark: does every method return within its time limit, with its incumbent and gap?

For each hard instance (a profile and grid whose full search takes longer than the limits;
``--instances``) at a mid-range budget (the median single-model plan's cost), and each time
limit (``--limits``): the wall time of

- each search method's ``search`` call (exact, heuristic, ilp, optuna) with ``time_limit``;
- ``plan --share-tests`` after the option tables: the exact search, then the sharing
  refinement in what is left of the same limit;
- ``frontier --time-limit`` after the option tables: the exact front (and the chosen plan);
- ``compare``: every method with the limit, one after the other (each within its own);

against the limit (target: within the limit plus well under a second), with the status,
the gap (None where the method has no bound) and whether the work was cut short. Option
tables are built once per instance first and are not timed (they are cached work, with
their own progress bar).

Run: nice -n 10 python3 benchmarks/bench_time_limits.py [--instances P:G,...] [--limits 1,5]
Writes benchmarks/results/bench_time_limits.json (the load average is recorded: the machine
is shared, so wall times include waiting for a CPU).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import time
from pathlib import Path

from planner.output import atomic_write
from planner.planning import (
    PlanRequest,
    compare_methods,
    frontier_in,
    planning_context,
    refine_result,
    run_search,
    single_model_front,
)
from planner.report import format_table
from planner.search.deadline import Deadline
from planner.search.objective import Objective
from planner.synthetic import synthetic_profile
from planner.vocabulary import MethodName

RESULTS = Path(__file__).resolve().parent / "results" / "bench_time_limits.json"


def instance(spec: str):
    """``PROFILE:GRID`` -> (profile or name, grid, label); ``synthetic<M>`` is a synthetic
    M-model profile (164 problems, 100 samples and test generations)."""
    name, _, grid = spec.partition(":")
    if name.startswith("synthetic"):
        m = int(name.removeprefix("synthetic"))
        return synthetic_profile(n_models=m, n_problems=164, n_samples=100, n_tests=100,
                                 seed=m), grid or "default", name
    return name, grid or "default", name


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def bench_instance(spec: str, limits: list[float], rows: list, sharing: bool) -> list[dict]:
    profile, grid, label = instance(spec)
    base = PlanRequest(profile=profile, grid=grid)
    context = planning_context(base)  # option tables: built (or read from the cache) once
    single = single_model_front(context)
    budget = float(single[len(single) // 2].cost)
    objective = Objective(budget=budget)
    out = []

    def record(what: str, limit: float, wall: float, status, gap, cut: bool | None,
               note: str = "") -> None:
        entry = {"instance": f"{label}:{grid}", "what": what, "limit_seconds": limit,
                 "wall_seconds": wall, "over_limit_seconds": wall - limit,
                 "status": None if status is None else str(status), "gap": gap,
                 "cut_short": cut, "budget_per_problem": budget, "note": note,
                 "load_average_1min": os.getloadavg()[0]}
        out.append(entry)
        rows.append([f"{label}:{grid}", what, limit, round(wall, 2), round(wall - limit, 2),
                     entry["status"], None if gap is None else round(gap, 4), cut, note])

    for limit in limits:
        for method in MethodName:
            result, wall = timed(lambda method=method, limit=limit: run_search(
                context, objective, method, time_limit=limit))
            record(str(method), limit, wall, result.status, result.gap,
                   result.status != "optimal" if method in ("exact", "ilp") else None,
                   f"{result.plans_evaluated} plans/programs, acc {result.accuracy:.4f}")
        if sharing:
            def shared(limit=limit):
                result = run_search(context, objective, MethodName.EXACT, time_limit=limit)
                left = max(0.0, limit - result.seconds)
                return result, refine_result(context, result, objective,
                                             Deadline.after(left))
            (result, refined), wall = timed(shared)
            record("exact + sharing", limit, wall, result.status, result.gap,
                   refined.refinement.stopped,
                   f"{refined.refinement.variants_evaluated} variants")
        request = dataclasses.replace(
            base, budget=budget,
            method_options={MethodName.EXACT: {"time_limit": limit}})
        front_context = dataclasses.replace(context, request=request)
        fronts, wall = timed(lambda front_context=front_context: frontier_in(front_context))
        record("frontier", limit, wall, None, None, not fronts.complete,
               f"{len(fronts.cascade)} plans on the front")
        compared = dataclasses.replace(base, budget=budget, method_options={
            m: {"time_limit": limit} for m in MethodName})
        compare_context = dataclasses.replace(context, request=compared)
        comparison, wall = timed(lambda compare_context=compare_context: compare_methods(
            compare_context, objective, list(MethodName)))
        record("compare (4 methods)", 4 * limit, wall, None, None, None,
               ", ".join(f"{r.method} {r.seconds:.2f} s" for r in comparison))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", default="humaneval-extra:default,synthetic6:default",
                        help="PROFILE:GRID pairs (synthetic<M>: a synthetic M-model profile)")
    parser.add_argument("--limits", default="1,5")
    parser.add_argument("--no-sharing", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    load_start = os.getloadavg()[0]
    limits = [float(x) for x in args.limits.split(",") if x]
    rows: list[list[object]] = []
    entries = []
    for spec in [x for x in args.instances.split(",") if x]:
        entries += bench_instance(spec, limits, rows, not args.no_sharing)
    print(format_table(["instance", "what", "limit s", "wall s", "over s", "status", "gap",
                        "cut short", "note"], rows))
    worst = max((e["over_limit_seconds"] for e in entries), default=float("nan"))
    print(f"\nworst overrun: {worst:+.2f} s (load average {load_start:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end)")
    report = {"benchmark": "time limits of every method", "machine": platform.platform(),
              "cpus": os.cpu_count(), "load_average_1min_start": load_start,
              "load_average_1min_end": os.getloadavg()[0], "limits": limits,
              "worst_overrun_seconds": worst, "runs": entries}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(args.out, "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=1)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
