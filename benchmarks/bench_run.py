"""Runtime throughput: problems per minute of ``codecascade run`` against the loopback
replay server with realistic response delays, at concurrency 1 and 8, and where the time
goes (waiting for generations vs executing in the sandbox vs queueing for the sandbox).

The server replays the real WizardCoder-Python generations (../shared/data) and delays each
response by ``--delay`` seconds plus ``--per-token`` seconds per token of its longest
choice (defaults: 0.25 s + 10 ms/token, i.e. a hosted endpoint decoding ~100 tokens/s per
sequence). The plan is a three-stage cascade (7B k=1 -> 13B k=3 t=3 l=4 shared tests ->
34B k=5 t=2 l=2), executed in the real sandbox. Times per problem are summed over problems
(they overlap when problems run concurrently).

Usage: ``python3 benchmarks/bench_run.py [--problems 16] [--concurrency 1 8]``; prints a
table and writes ``benchmarks/results/bench_run.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "wizardcoder-python-humaneval"
RESULT = ROOT / "benchmarks" / "results" / "bench_run.json"
PRICES = {"7B": 1.91, "13B": 6.65, "34B": 20.24}


def plan():
    from planner.options import CascadePlan, Stage, StageOption

    return CascadePlan((
        Stage("7B", StageOption(k=1, t=1, l=2, theta=1.0)),
        Stage("13B", StageOption(k=3, t=3, l=4, theta=0.8, share_tests=True)),
        Stage("34B", StageOption(k=5, t=2, l=2, theta=0.5)),
    ))


def run_once(data, problems, concurrency: int, delay: float, per_token: float) -> dict:
    from planner.records import RecordWriter, read_records
    from planner.runtime.endpoints import parse_endpoints
    from planner.runtime.replay_server import Faults, ReplayServer
    from planner.runtime.runner import CascadeRunner, RunOptions
    from planner.sandbox import GridConfig, SandboxExecutor

    with ReplayServer(data, Faults(delay_s=delay, delay_per_token_s=per_token)) as server:
        endpoints = parse_endpoints({
            "defaults": {"base_url": server.base_url, "logprobs": True},
            "models": {m: {"model": f"WizardCoder-Python-{m}", "price_per_1m_generated": p}
                       for m, p in PRICES.items()}})
        runner = CascadeRunner(plan(), endpoints, SandboxExecutor(GridConfig(), workers=1),
                               spec_hash="bench",
                               options=RunOptions(concurrency=concurrency))
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "records.jsonl"
            with RecordWriter(path, append=False, fsync=True) as writer:
                started = time.perf_counter()
                stats = asyncio.run(runner.run(problems, writer))
                wall = time.perf_counter() - started
            records = list(read_records(path))
    latency = sum(r.latency_s for r in records)
    stages = [s for r in records for s in r.stages]
    return {
        "concurrency": concurrency,
        "problems": len(records),
        "wall_s": round(wall, 2),
        "problems_per_min": round(60 * len(records) / wall, 2),
        "mean_latency_s": round(latency / len(records), 2),
        "generation_wait_s": round(sum(s.generation_s for s in stages), 2),
        "sandbox_exec_s": round(stats.sandbox_s, 2),
        "sandbox_queue_s": round(stats.sandbox_queue_s, 2),
        "generation_share": round(sum(s.generation_s for s in stages) / latency, 3),
        "sandbox_share": round((stats.sandbox_s + stats.sandbox_queue_s) / latency, 3),
        "stages_run": len(stages),
        "requests": stats.requests,
        "accuracy": round(sum(bool(r.correct) for r in records) / len(records), 3),
        "cost_per_problem": sum(r.cost for r in records) / len(records),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=16)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--delay", type=float, default=0.25)
    parser.add_argument("--per-token", type=float, default=0.01)
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"error: the replay data {DATA} is absent")

    from planner.problems import load_problems
    from planner.runtime.replay_server import WizardCoderData

    data = WizardCoderData(DATA)
    problems = load_problems("humaneval", limit=args.problems)
    rows = [run_once(data, problems, c, args.delay, args.per_token)
            for c in args.concurrency]
    columns = ["concurrency", "problems", "wall_s", "problems_per_min", "mean_latency_s",
               "generation_wait_s", "sandbox_exec_s", "sandbox_queue_s", "generation_share",
               "sandbox_share", "requests"]
    widths = [max(len(c), 8) for c in columns]
    print("  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True)))
    for row in rows:
        print("  ".join(str(row[c]).rjust(w) for c, w in zip(columns, widths, strict=True)))
    result = {
        "benchmark": "bench_run",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "settings": {"problems": args.problems, "delay_s": args.delay,
                     "per_token_s": args.per_token, "plan": plan().label(),
                     "data": "wizardcoder-python-humaneval (Chen et al., arXiv 2405.15842)"},
        "rows": rows,
        "speedup": round(rows[-1]["problems_per_min"] / rows[0]["problems_per_min"], 2),
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULT.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp, RESULT)
    print(f"speed-up {rows[0]['concurrency']} -> {rows[-1]['concurrency']}: "
          f"{result['speedup']}x; wrote {RESULT}")


if __name__ == "__main__":
    main()
