"""Benchmark: does ``codecascade evaluate`` (or a search) pay on Ray? Measured, not assumed.

``evaluate`` runs no sandbox: per split it tabulates the planning part, chooses plans at
every budget and scores them on the held-out part, all numpy on the profile. Its splits are
independent, so they could be Ray tasks. This script measures, on the bundled default
profile with the command's defaults (paper protocol, 5 splits, 20 budgets, naive
selection, exact search):

* locally: the whole evaluation (wall and CPU seconds), and each split on its own (the unit
  a Ray task would run);
* on a local Ray instance (2 CPUs): its start, the profile's size and ``ray.put`` time, the
  round trip of an empty task, and the same five splits as Ray tasks (wall, first call and
  a second call on warm workers), checked to give the local rows;
* one Optuna search at one budget (300 trials, TPE): CPU seconds per trial, against the
  empty task's round trip (Optuna's TPE is sequential: a trial could only be a task).

Prints a table and writes ``benchmarks/results/bench_ray_evaluate.json``.

    nice -n 10 python3 benchmarks/bench_ray_evaluate.py      # about 2-5 minutes idle
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import pickle
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULT = ROOT / "benchmarks" / "results" / "bench_ray_evaluate.json"


def _cpu() -> float:
    """CPU seconds of this process and its reaped children (user + system)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def split_rows(request: Any, split: str) -> list[tuple[float, str, str]]:
    """One split of ``evaluate``'s loop (planner/evaluation/evaluate.py, naive selection,
    20 budgets): (budget, cascade plan, single plan) per budget. Runs in a Ray task too."""
    from planner.evaluation.budgets import Budgets
    from planner.evaluation.evaluate import _outcome, _prepare
    from planner.search.objective import Objective
    from planner.selection import get_selector

    part = _prepare(request, split, Budgets(count=20), "planning")
    selector = get_selector("naive")
    objectives = [Objective(budget=float(b)) for b in part.budgets]
    cascade = selector.select(part.cascade, objectives)
    single = selector.select(part.single, objectives)
    return [(float(b), _outcome(part, c).plan, _outcome(part, s).plan)
            for b, c, s in zip(part.budgets, cascade, single, strict=True)]


def _task_rows(profile: Any, split: str) -> tuple[list[tuple[float, str, str]], float]:
    """A Ray task: one split of the profile (shipped once with ``ray.put``), and its CPU s."""
    from planner.planning import PlanRequest

    t0 = time.process_time()
    return split_rows(PlanRequest(profile=profile), split), time.process_time() - t0


def _noop() -> int:
    return 0


def main() -> None:
    import numpy as np

    from planner.evaluation import evaluate
    from planner.planning import PlanRequest
    from planner.profile import load_profile
    from planner.splits import paper_splits

    load_start = os.getloadavg()
    profile = load_profile(None)
    request = PlanRequest(profile=profile)
    splits = [s.name for s in paper_splits(profile.n_problems)]

    # locally: the command's evaluation, then each split alone
    c0, t0 = _cpu(), time.perf_counter()
    whole = evaluate(request, selection="naive")  # the loop split_rows times
    local_whole = {"wall_s": round(time.perf_counter() - t0, 2), "cpu_s": round(_cpu() - c0, 2),
                   "rows": len(whole.rows)}
    local_rows: dict[str, Any] = {}
    per_split: dict[str, dict[str, float]] = {}
    for name in splits:
        c0, t0 = _cpu(), time.perf_counter()
        local_rows[name] = split_rows(request, name)
        per_split[name] = {"wall_s": round(time.perf_counter() - t0, 2),
                           "cpu_s": round(_cpu() - c0, 2)}
    want = [(r.budget, r.cascade.plan, r.single.plan) for r in whole.rows]
    assert want == [row for name in splits for row in local_rows[name]], "split rows differ"
    print(f"local evaluate: {local_whole['wall_s']} s wall, {local_whole['cpu_s']} s CPU; "
          f"per split {[v['cpu_s'] for v in per_split.values()]} s CPU", flush=True)

    # one Optuna search, one budget
    from planner import plan as make_plan

    c0, t0 = _cpu(), time.perf_counter()
    make_plan(dataclasses.replace(request, budget=0.005, method="optuna"))
    optuna = {"trials": 300, "wall_s": round(time.perf_counter() - t0, 2),
              "cpu_s": round(_cpu() - c0, 2)}
    optuna["cpu_ms_per_trial"] = round(1000 * optuna["cpu_s"] / optuna["trials"], 1)

    # on a local Ray instance
    import ray

    root = Path(tempfile.mkdtemp(prefix="re", dir="/tmp"))
    os.environ["RAY_TMPDIR"] = str(root)
    t0 = time.perf_counter()
    package = str(ROOT / "planner")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="warning", log_to_driver=False,
             runtime_env={"py_modules": [package],
                          "excludes": ["__pycache__", "*.npz", ".codecascade-cells"]})
    on_ray: dict[str, Any] = {"start_s": round(time.perf_counter() - t0, 2)}
    try:
        noop = ray.remote(num_cpus=1)(_noop)
        ray.get([noop.remote() for _ in range(4)])  # workers up
        t0 = time.perf_counter()
        for _ in range(20):
            ray.get(noop.remote())
        on_ray["empty_task_round_trip_s"] = round((time.perf_counter() - t0) / 20, 4)
        on_ray["profile_pickle_mb"] = round(len(pickle.dumps(profile)) / 1e6, 1)
        t0 = time.perf_counter()
        ref = ray.put(profile)
        on_ray["put_s"] = round(time.perf_counter() - t0, 2)
        task = ray.remote(num_cpus=1)(_task_rows)
        for label in ("first_call", "warm_workers"):
            t0 = time.perf_counter()
            got = ray.get([task.remote(ref, name) for name in splits])
            on_ray[f"splits_{label}_wall_s"] = round(time.perf_counter() - t0, 2)
            on_ray[f"splits_{label}_task_cpu_s"] = [round(c, 2) for _, c in got]
            assert [row for rows, _ in got for row in rows] == want, "Ray rows differ"
    finally:
        ray.shutdown()
        shutil.rmtree(root, ignore_errors=True)

    split_cpu = [v["cpu_s"] for v in per_split.values()]
    mean_split = float(np.mean(split_cpu))
    result = {
        "benchmark": "bench_ray_evaluate",
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "nice": os.nice(0),
                    "load_average_at_start": [round(x, 2) for x in load_start],
                    "load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
        "settings": {"profile": "wizardcoder-humaneval (bundled default)",
                     "protocol": "paper (5 splits)", "budgets_per_split": 20,
                     "selection": "naive", "method": "exact", "grid": "default"},
        "evaluate_local": local_whole, "evaluate_split_local": per_split,
        "evaluate_split_cpu_s_mean": round(mean_split, 2),
        "ray_local_2_cpus": on_ray, "optuna_one_budget": optuna,
        "identical_rows": True,
        "break_even": {
            "splits_per_task_overhead": round(mean_split / on_ray["empty_task_round_trip_s"], 1),
            "optuna_trial_vs_task_round_trip": round(
                optuna["cpu_ms_per_trial"] / 1000 / on_ray["empty_task_round_trip_s"], 3),
            "ray_start_in_splits": round(on_ray["start_s"] / mean_split, 1)},
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=1) + "\n")
    print(f"\n{'what':<46} {'wall s':>8} {'CPU s':>7}")
    print(f"{'evaluate, local (5 splits x 20 budgets)':<46} {local_whole['wall_s']:>8.1f} "
          f"{local_whole['cpu_s']:>7.1f}")
    print(f"{'one split, local (mean)':<46} {'':>8} {mean_split:>7.2f}")
    print(f"{'Ray: start a local instance (2 CPUs)':<46} {on_ray['start_s']:>8.1f}")
    print(f"{'Ray: put the profile (' + str(on_ray['profile_pickle_mb']) + ' MB)':<46} "
          f"{on_ray['put_s']:>8.2f}")
    print(f"{'Ray: empty task round trip':<46} {on_ray['empty_task_round_trip_s']:>8.4f}")
    print(f"{'Ray: 5 splits as tasks, first call':<46} "
          f"{on_ray['splits_first_call_wall_s']:>8.1f}")
    print(f"{'Ray: 5 splits as tasks, warm workers':<46} "
          f"{on_ray['splits_warm_workers_wall_s']:>8.1f}")
    print(f"{'Optuna, one budget, 300 trials':<46} {optuna['wall_s']:>8.1f} "
          f"{optuna['cpu_s']:>7.1f}  ({optuna['cpu_ms_per_trial']} ms CPU per trial)")
    print(f"wrote {RESULT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
