"""Benchmark: does every method return within its time limit, with its incumbent and gap?

For each hard instance (a profile and grid whose full search takes longer than the limits;
``--instances``) at a mid-range budget (the median single-model plan's cost), and each time
limit (``--limits``): the wall time of

- each search method's ``search`` call (exact, heuristic, ilp, optuna) with ``time_limit``;
- ``plan --share-tests`` after the option tables: the exact search, then the sharing
  refinement in what is left of the same limit;
- ``plan`` with its default selection (planner.selection.DEFAULT_SELECTION: exact fronts
  on all problems and on each of 5 inner folds) after the option tables, from an empty
  front cache, then again (the complete fronts of the first run are cached; a front cut
  short never is);
- ``frontier --time-limit`` after the option tables, default selection, empty front
  cache: the exact front, then the selection's chosen plan and plans per budget;
- ``compare``: every method with the limit, one after the other (each within its own),
  then the default selection's row within the limit (empty front cache: 5 limits in all);

against the limit (target: within the limit plus well under a second), with the status,
the gap (None where the method has no bound) and whether the work was cut short. Option
tables are built once per instance first and are not timed (they are cached work, with
their own progress bar). The benchmark uses a private cache folder (the option tables
copied from the machine's cache when it has them) so that it can empty its front cache.

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
import shutil
import tempfile
import time
from pathlib import Path

from planner.estimate.cache import cache_dir
from planner.output import atomic_write
from planner.planning import (
    PlanRequest,
    compare_methods,
    frontier_in,
    plan_in,
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
            ref = refined.refinement
            record("exact + sharing", limit, wall, result.status, result.gap,
                   ref is None or ref.stopped,
                   "not started: no time left" if ref is None
                   else f"{ref.variants_evaluated} variants")
        request = dataclasses.replace(
            base, budget=budget,
            method_options={MethodName.EXACT: {"time_limit": limit}})
        limited = dataclasses.replace(context, request=request)
        empty_front_cache()
        for run in ("empty front cache", "second run"):
            spec, wall = timed(lambda limited=limited: plan_in(limited))
            chosen = spec.provenance.extra["selection"]
            record(f"plan, default selection ({run})", limit, wall, spec.solver.status, None,
                   chosen["stopped_early"],
                   f"candidates complete {chosen['candidates_complete']}, statement "
                   f"complete {chosen['statement_complete']}, cost "
                   f"{spec.planning.cost:.6g}")
        empty_front_cache()
        fronts, wall = timed(lambda limited=limited: frontier_in(limited))
        record("frontier, default selection", limit, wall, None, None,
               not (fronts.complete and fronts.selection_complete),
               f"{len(fronts.cascade)} plans on the front, front complete "
               f"{fronts.complete}, selection complete {fronts.selection_complete}")
        compared = dataclasses.replace(base, budget=budget, method_options={
            m: {"time_limit": limit} for m in MethodName})
        compare_context = dataclasses.replace(context, request=compared)
        empty_front_cache()
        comparison, wall = timed(lambda compare_context=compare_context: compare_methods(
            compare_context, objective, list(MethodName)))
        record("compare (4 methods + selection)", 5 * limit, wall, None, None, None,
               ", ".join(f"{r.method} {r.seconds:.2f} s" for r in comparison
                         if r.seconds is not None))
    return out


def private_cache() -> Path:
    """A fresh cache folder for this run (``CODECASCADE_CACHE``), holding copies of the
    machine cache's option tables, so the benchmark can empty its own front cache."""
    source = cache_dir()
    folder = Path(tempfile.mkdtemp(prefix="bench-time-limits-"))
    for tables in source.glob("tables-*.npz"):
        shutil.copy2(tables, folder / tables.name)
    os.environ["CODECASCADE_CACHE"] = str(folder)
    return folder


def empty_front_cache() -> None:
    for front in cache_dir().glob("fronts-*.npz"):
        front.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", default="wizardcoder-humaneval:default,"
                        "humaneval-extra:default,wizardcoder-humaneval:generalised",
                        help="PROFILE:GRID pairs (synthetic<M>: a synthetic M-model profile)")
    parser.add_argument("--limits", default="1,5")
    parser.add_argument("--no-sharing", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    folder = private_cache()
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
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
