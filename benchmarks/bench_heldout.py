"""Benchmark: the held-out value of cascades, the seed paper's headline measured our way.

For each of the paper's five splits (30 % validation / 70 % test, seeds 3, 7, 9, 13, 15)
and each grid: the exact cascade front and the best single-model self-testing front are
built on the validation part; every plan of both fronts is then scored on the test part.
For every single-model plan s (test accuracy A_s, test cost C_s) the cascade answer is the
cheapest cascade-front plan whose *test* accuracy is >= A_s; its cost reduction is
1 - C_cascade / C_s (0 when no cascade plan reaches A_s on test: the single model itself is
a cascade of one stage, so a planner never has to do worse). Reported: the mean reduction
over single-model plans, per split and over the five splits, plus the largest one, and how
many single-model plans no cascade plan matched. Beside it, the same reduction *in sample*
(both fronts scored on the problems they were chosen on: each validation part, and all
164 problems with ``split="all"``): the gap between the two is what choosing on 49
validation problems overfits.

The paper reports a 26 % average reduction (up to 70 %) on its grid (one shared θ).

A grid named ``GRID+sharing`` also searches test sharing: the exact front is merged with
the sharing variants of its plans (planner.search.sharing.sharing_front), each scored by
whole-replicate simulation on the validation part, and a sharing plan that makes the
merged front is then scored by simulation on the test part (the same draws as the tables).
The single-model front is the same as without sharing (one stage has nothing to share).

Run: python3 benchmarks/bench_heldout.py [--profile NAME]
     [--grids paper,default,paper+sharing,default+sharing]
Writes benchmarks/results/bench_heldout.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from planner.output import atomic_write
from planner.planning import pareto_front, planning_context, single_model_front
from planner.report import format_table
from planner.splits import PAPER_SEEDS

RESULTS = Path(__file__).resolve().parent / "results" / "bench_heldout.json"


def reductions(cascade: Sequence[tuple[float, float]],
               single: Sequence[tuple[float, float]]) -> tuple[list[float], int]:
    """Per single-model plan (accuracy, cost), the cost reduction of the cheapest cascade
    plan at least as accurate (see the module docstring), all numbers on one part of the
    problems; and how many had no match."""
    out, unmatched = [], 0
    for s_acc, s_cost in single:
        costs = [c for a, c in cascade if a >= s_acc]
        if not costs or s_cost <= 0:
            out.append(0.0)
            unmatched += 1
            continue
        out.append(max(0.0, 1.0 - min(costs) / s_cost))
    return out, unmatched


def on_test(plans) -> list[tuple[float, float]]:
    return [(p.heldout_accuracy, p.heldout_cost) for p in plans]


def in_sample(plans) -> list[tuple[float, float]]:
    """The numbers on the problems the plans were chosen on."""
    return [(p.accuracy, p.cost) for p in plans]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default=None, help="profile (default: bundled default)")
    parser.add_argument("--grids", default="paper,default,paper+sharing,default+sharing")
    parser.add_argument("--replicates", type=int, default=64)
    args = parser.parse_args()

    rows, results = [], []
    for grid in args.grids.split(","):
        base_grid, _, suffix = grid.partition("+")
        if suffix not in ("", "sharing"):
            parser.error(f"unknown grid suffix in {grid!r}: only +sharing is known")
        share = suffix == "sharing"
        per_split = []
        for seed in PAPER_SEEDS:
            start = time.perf_counter()
            context = planning_context(args.profile, grid=base_grid,
                                       split=f"paper-seed{seed}", replicates=args.replicates)
            cascade = pareto_front(context, share_tests=share)
            single = single_model_front(context)
            red, unmatched = reductions(on_test(cascade), on_test(single))
            fitted, _ = reductions(in_sample(cascade), in_sample(single))
            seconds = time.perf_counter() - start
            entry = {
                "grid": grid, "split": context.split_name,
                "validation_problems": context.planning.n_problems,
                "test_problems": context.heldout.n_problems,
                "cascade_front_plans": len(cascade), "single_front_plans": len(single),
                "sharing_front_plans": sum(p.simulated for p in cascade),
                "mean_cost_reduction": float(np.mean(red)),
                "max_cost_reduction": float(np.max(red)),
                "unmatched_single_plans": unmatched,
                "validation_in_sample_mean_cost_reduction": float(np.mean(fitted)),
                "seconds": seconds,
            }
            per_split.append(entry)
            rows.append([grid, context.split_name, len(cascade),
                         entry["sharing_front_plans"], len(single),
                         round(100 * entry["mean_cost_reduction"], 1),
                         round(100 * entry["max_cost_reduction"], 1), unmatched,
                         round(100 * entry["validation_in_sample_mean_cost_reduction"], 1),
                         round(seconds, 1)])
        mean = float(np.mean([e["mean_cost_reduction"] for e in per_split]))
        best = float(np.max([e["max_cost_reduction"] for e in per_split]))
        fitted_mean = float(np.mean([e["validation_in_sample_mean_cost_reduction"]
                                     for e in per_split]))
        rows.append([grid, "MEAN of 5", None, None, None, round(100 * mean, 1),
                     round(100 * best, 1), None, round(100 * fitted_mean, 1), None])
        start = time.perf_counter()
        everything = planning_context(args.profile, grid=base_grid, split="all",
                                      replicates=args.replicates)
        all_red, _ = reductions(in_sample(pareto_front(everything, share_tests=share)),
                                in_sample(single_model_front(everything)))
        all_mean = float(np.mean(all_red))
        rows.append([grid, "all 164, in-sample", None, None, None, None, None, None,
                     round(100 * all_mean, 1), round(time.perf_counter() - start, 1)])
        results.append({"grid": grid, "mean_cost_reduction": mean, "max_cost_reduction": best,
                        "validation_in_sample_mean_cost_reduction": fitted_mean,
                        "all_problems_in_sample_mean_cost_reduction": all_mean,
                        "splits": per_split})
        context_label = context.profile_label
    print(format_table(["grid", "split", "cascade plans", "sharing", "single plans",
                        "mean red. %", "max red. %", "unmatched", "in-sample red. %",
                        "seconds"], rows))
    text = json.dumps({
        "benchmark": "held-out cost reduction at equal or better accuracy vs the best "
                     "single-model self-testing front",
        "profile": context_label,
        "profile_sha256": context.profile.fingerprint(),
        "replicates": args.replicates,
        "paper_reference": {"mean_cost_reduction": 0.26, "max_cost_reduction": 0.70},
        "machine": platform.platform(),
        "results": results,
    }, indent=1) + "\n"
    with atomic_write(RESULTS, "w", encoding="utf-8") as fh:
        fh.write(text)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
