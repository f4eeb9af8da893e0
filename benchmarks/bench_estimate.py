"""Benchmark: time to compute a, g, h, c for whole option grids, and the Monte Carlo SE.

For the generalised grid (k 0..10, t 1..10, l 1..5, θ 0.0..1.0 step 0.1, three rules:
14,906 options per model) and the default grid (1,156 options per model) on every problem
of the profile, with R replicates: seconds for one model and for all models, the largest
Monte Carlo SE of any option's mean accuracy, peak memory. Uses the bundled default
profile when it exists, else a synthetic profile of the same shape (164 problems, 100
samples, 100 test generations, 5 line positions). Target (issue 4): the whole three-model
generalised grid in under 60 s with every SE under 0.5 percentage points. CPU seconds are
reported beside wall seconds: on the shared machine they are comparable across loads.

Run: python3 benchmarks/bench_estimate.py [--replicates 64] [--profile NAME_OR_PATH]
Writes benchmarks/results/bench_estimate.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from pathlib import Path

import numpy as np

from planner.estimate import option_tables
from planner.options import default_grid, generalised_grid, paper_grid
from planner.profile import ProfileError, load_profile, resolve_profile_path
from planner.synthetic import synthetic_profile

RESULTS = Path(__file__).resolve().parent / "results" / "bench_estimate.json"


def load(profile_name: str | None):
    try:
        path = resolve_profile_path(profile_name)
        return load_profile(path), str(path)
    except ProfileError:
        if profile_name is not None:
            raise
        prof = synthetic_profile(n_models=3, n_problems=164, n_samples=100, n_tests=100,
                                 n_line_positions=5, seed=0)
        return prof, "synthetic(164 problems, 100 samples, 100 test generations)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=64)
    parser.add_argument("--profile", default=None)
    args = parser.parse_args()
    profile, source = load(args.profile)
    rows = []
    for grid in (generalised_grid(), default_grid(), paper_grid()):
        per_model = []
        cpu_per_model = []
        tables = []
        for m in range(profile.n_models):
            one = _single_model(profile, m)
            start, cpu = time.perf_counter(), time.process_time()
            tables += option_tables(one, grid, replicates=args.replicates, cache=False)
            per_model.append(time.perf_counter() - start)
            cpu_per_model.append(time.process_time() - cpu)
        se = max(float(t.accuracy_se.max()) for t in tables)
        rows.append({
            "grid": grid.name,
            "options_per_model": tables[0].n_options,
            "problems": profile.n_problems,
            "replicates": args.replicates if grid.sampling == "random" else 0,
            "seconds_per_model": per_model,
            "seconds_all_models": float(sum(per_model)),
            "cpu_seconds_per_model": cpu_per_model,
            "cpu_seconds_all_models": float(sum(cpu_per_model)),
            "max_accuracy_se_pp": 100 * se,
        })
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    header = (f"{'grid':12} {'options':>8} {'R':>4} {'s/model (each)':>26} {'all':>7} "
              f"{'CPU s':>7} {'max SE pp':>9}")
    print(f"profile: {source}; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs")
    print(header)
    for r in rows:
        each = ", ".join(f"{s:.1f}" for s in r["seconds_per_model"])
        print(f"{r['grid']:12} {r['options_per_model']:>8} {r['replicates']:>4} {each:>26} "
              f"{r['seconds_all_models']:>7.1f} {r['cpu_seconds_all_models']:>7.1f} "
              f"{r['max_accuracy_se_pp']:>9.3f}")
    print(f"peak memory: {peak_mib:.0f} MiB")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    out = {"benchmark": "bench_estimate", "profile": source,
           "profile_sha256": profile.fingerprint(), "rows": rows, "peak_rss_mib": peak_mib,
           "load_average_1min": os.getloadavg()[0], "cpus": os.cpu_count(),
           "python": platform.python_version(), "numpy": np.__version__,
           "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    tmp = RESULTS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, RESULTS)


def _single_model(profile, m: int):
    """The profile with only model ``m`` (so each model is timed alone)."""
    from planner.profile import ARRAY_SPECS, Profile

    arrays = {name: (getattr(profile, name)[m: m + 1] if axes[0] == "M"
                     else getattr(profile, name))
              for name, (_, axes) in ARRAY_SPECS.items()}
    return Profile(models=(profile.models[m],), problems=profile.problems,
                   provenance=profile.provenance, **arrays)


if __name__ == "__main__":
    main()
