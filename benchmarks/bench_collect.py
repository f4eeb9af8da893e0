"""Profiling your own models: ``codecascade collect`` throughput, and incremental measurement
against a full rebuild.

1. Collect throughput (generations per second) against the loopback replay server of the
   real recorded generations (WizardCoder-Python 7B and 34B), each response delayed by
   ``--delay`` seconds plus ``--per-token`` seconds per token of its longest choice
   (defaults 0.25 s + 10 ms/token, a hosted endpoint decoding ~100 tokens/s per sequence),
   at concurrency 1 and 16, with ``n`` honoured and (as llama.cpp and Ollama do) ignored.
   10 samples + 10 test generations + the greedy pair per (model, problem).
2. Incremental measurement: the default profile (WizardCoder-Python 7B/13B/34B) plus one
   more model (CodeGen-Mono-16B) built on top of the default profile's cells, against the
   same four-model profile built from an empty cell cache; pairs executed and seconds, and
   whether the two profiles are identical array by array. The real sandbox, the builder's
   settings (0.25 s / 1 s of CPU time). A full rebuild of 164 problems takes ~25 min on a
   quiet 2-core machine, so this runs on the first ``--problems`` problems and extrapolates
   to 164 by the pair counts of the full grids (computed without executing anything).

Run it under ``nice -n 10`` on a shared machine; the load average is recorded.
Usage: ``python3 benchmarks/bench_collect.py [--problems 12] [--collect-problems 8 32]
[--skip-measure] [--skip-collect]``; prints tables and writes
``benchmarks/results/bench_collect.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
WIZARD = SHARED / "wizardcoder-python-humaneval"
CODET = SHARED / "codet"
RESULT = ROOT / "benchmarks" / "results" / "bench_collect.json"
MODELS = {"WizardCoder-Python-7B": 1.91, "WizardCoder-Python-34B": 20.24}


def load() -> dict:
    return {"load_average": [round(x, 2) for x in os.getloadavg()]}


def collect_once(data, n_problems: int, concurrency: int, honour_n: bool, delay: float,
                 per_token: float) -> dict:
    from planner.collect import CollectOptions, Want, collect
    from planner.runtime.replay_server import Faults, ReplayServer

    with ReplayServer(data, Faults(delay_s=delay, delay_per_token_s=per_token),
                      honour_n=honour_n) as server, tempfile.TemporaryDirectory() as tmp:
        endpoints = Path(tmp) / "endpoints.toml"
        endpoints.write_text(
            f'[defaults]\nbase_url = "{server.base_url}"\nlogprobs = true\n'
            'max_parallel_requests = 64\n'
            + "".join(f'[models."{m}"]\nmodel = "{m}"\nprice_per_1m_generated = {p}\n'
                      for m, p in MODELS.items()))
        before = load()
        started = time.perf_counter()
        result = collect(endpoints, "humaneval", Path(tmp) / "g.jsonl", limit=n_problems,
                         options=CollectOptions(want=Want(10, 10), concurrency=concurrency))
        wall = time.perf_counter() - started
    s = result.stats
    return {"concurrency": concurrency, "n_honoured": honour_n,
            "batches": s.batches, "generations": s.generations, "failed": s.failures,
            "requests": s.requests, "retries": s.retries, "wall_s": round(wall, 1),
            "generations_per_s": round(s.generations / wall, 2),
            "load_before": before["load_average"], "load_after": load()["load_average"]}


def grid_cells(pools) -> int:
    """Cells of the pools' grids: (solutions + reference) × (lines + ground truth)."""
    return sum((len(p.solutions) + p.has_reference) * (len(p.lines) + 1) for p in pools)


def measure_part(n_problems: int) -> dict:
    from planner.measure import MeasureSources, build_profile
    from planner.measure.build import build_pools
    from planner.problems import load_problems
    from planner.profile import ARRAY_SPECS

    default = MeasureSources(wizardcoder=WIZARD)
    plus = MeasureSources(wizardcoder=WIZARD, codet=CODET)
    problems = load_problems(default.default_problems())
    full = {name: grid_cells(build_pools(problems, sources.read(problems)))
            for name, sources in (("default", default), ("plus_codegen", plus))}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)

        def build(name, sources, cache):
            before = load()
            started = time.perf_counter()
            result = build_profile(tmp / f"{name}.npz", sources, limit=n_problems,
                                   cache=tmp / cache, overwrite=True)
            row = {"build": name, "pairs_run": result.pairs_run,
                   "pairs_reused": result.pairs_reused,
                   "seconds": round(time.perf_counter() - started, 1),
                   "load_before": before["load_average"], "load_after": load()["load_average"]}
            rows.append(row)
            print(f"  {name}: {row}", flush=True)
            return result

        build("default (3 models)", default, "cells")
        incremental = build("default + CodeGen-16B, reusing the default's cells", plus, "cells")
        scratch = build("default + CodeGen-16B from an empty cache", plus, "fresh")
    a, b = incremental.profile, scratch.profile
    differing = {name: int((getattr(a, name) != getattr(b, name)).sum())
                 for name in ARRAY_SPECS if getattr(a, name).shape == getattr(b, name).shape}
    shapes_equal = all(getattr(a, n).shape == getattr(b, n).shape for n in ARRAY_SPECS)
    inc, scr = rows[1], rows[2]
    subset = {name: grid_cells(build_pools(problems[:n_problems], sources.read(problems)))
              for name, sources in (("default", default), ("plus_codegen", plus))}
    return {
        "problems": n_problems, "rows": rows,
        "identical": shapes_equal and not any(differing.values()),
        "differing_cells": differing,
        "grid_cells": {"subset": subset, "all_164": full},
        "extrapolated_to_164": {
            "incremental_pairs": full["plus_codegen"] - full["default"],
            "full_rebuild_pairs": full["plus_codegen"],
            "incremental_s": round(inc["seconds"] / max(1, inc["pairs_run"])
                                   * (full["plus_codegen"] - full["default"])),
            "full_rebuild_s": round(scr["seconds"] / max(1, scr["pairs_run"])
                                    * full["plus_codegen"], 0),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", type=int, default=12,
                        help="problems of the incremental-measurement part")
    parser.add_argument("--collect-problems", type=int, nargs=2, default=(8, 32),
                        metavar=("AT_1", "AT_16"),
                        help="problems collected at concurrency 1 and at 16")
    parser.add_argument("--delay", type=float, default=0.25)
    parser.add_argument("--per-token", type=float, default=0.01)
    parser.add_argument("--skip-measure", action="store_true")
    parser.add_argument("--skip-collect", action="store_true")
    args = parser.parse_args()
    if not WIZARD.is_dir() or not CODET.is_dir():
        raise SystemExit(f"error: the replay data in {SHARED} is absent")
    result = {"benchmark": "bench_collect",
              "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "platform": platform.platform(), "nice": os.nice(0)},
              "settings": {"delay_s": args.delay, "per_token_s": args.per_token,
                           "samples": 10, "test_generations": 10,
                           "models": list(MODELS)}}
    if RESULT.is_file():
        previous = json.loads(RESULT.read_text())
        result.update({k: previous[k] for k in ("collect", "measure") if k in previous})
    if not args.skip_collect:
        from planner.runtime.replay_data import ReplayData

        data = ReplayData(WIZARD, sizes=("7B", "34B"))
        rows = []
        for concurrency, n in ((1, args.collect_problems[0]), (16, args.collect_problems[1])):
            for honour_n in (True, False):
                row = collect_once(data, n, concurrency, honour_n, args.delay, args.per_token)
                rows.append(row)
                print(f"  collect: {row}", flush=True)
        result["collect"] = rows
        print(f"{'concurrency':>11} {'n':>6} {'batches':>7} {'gens':>6} {'requests':>8} "
              f"{'wall_s':>7} {'gens/s':>7}")
        for r in rows:
            print(f"{r['concurrency']:>11} {'yes' if r['n_honoured'] else 'no':>6} "
                  f"{r['batches']:>7} {r['generations']:>6} {r['requests']:>8} "
                  f"{r['wall_s']:>7} {r['generations_per_s']:>7}")
    if not args.skip_measure:
        measured = measure_part(args.problems)
        result["measure"] = measured
        print(f"{'build':<55} {'pairs run':>10} {'reused':>10} {'seconds':>8}")
        for r in measured["rows"]:
            print(f"{r['build']:<55} {r['pairs_run']:>10} {r['pairs_reused']:>10} "
                  f"{r['seconds']:>8}")
        ext = measured["extrapolated_to_164"]
        print(f"identical to the rebuild: {measured['identical']} "
              f"(differing cells: {measured['differing_cells']})")
        print(f"extrapolated to 164 problems: incremental {ext['incremental_pairs']} pairs, "
              f"~{ext['incremental_s']:.0f} s; full rebuild {ext['full_rebuild_pairs']} pairs, "
              f"~{ext['full_rebuild_s']:.0f} s")
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULT.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2, default=_plain) + "\n")
    os.replace(tmp, RESULT)
    print(f"wrote {RESULT}")


def _plain(value):
    if isinstance(value, np.integer | np.floating):
        return value.item()
    raise TypeError(type(value))


if __name__ == "__main__":
    main()
