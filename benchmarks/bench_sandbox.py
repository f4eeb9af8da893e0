"""Sandbox throughput: pairs per second of strict and fast mode against a naive baseline.

Cases (all in one run, so the ratios compare like with like on this machine's load):

* (a) 10 solutions x 20 trivial asserts (synthetic);
* (b) one real HumanEval problem of ``../shared/data/wizardcoder-python-humaneval``: one
  model's 100 sampled solutions x the distinct assert lines of its 100 test generations;
* (c) the measurement scale: the same problem's cross-model pool (distinct solutions of the
  7B, 13B and 34B models x their distinct assert lines, about 250 x 400), or a synthetic
  250 x 400 grid when the data is absent;
* (e) the executor's own overhead at that scale: synthetic 250 solutions x 400 trivial
  asserts (every pair takes microseconds, so only the executor's costs remain);
* (d) the measurement workload in miniature: ``--scale-problems`` evenly spaced problems'
  cross-model pools through one ``run_batches`` call in fast mode (overall pairs/s, the
  share of timeouts, the slowest problem), to size the full 164-problem run.

The baseline is what common harnesses do: one plain ``python3 -c <solution + assert>``
process per pair, ``workers`` at a time. Because the pairs are untrusted model output, the
baseline's processes are launched from a driver inside one level-A sandbox (paid once), so
only the per-pair process cost is measured and no model code runs on the host. The baseline
runs a random sample of each case's pairs (``--baseline-pairs``). A containment smoke check
(looping, forking, networking, file-writing solutions) runs with the same configuration.

Usage: ``python3 benchmarks/bench_sandbox.py [--strict-big]``; prints a table and writes
``benchmarks/results/bench_sandbox.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "wizardcoder-python-humaneval"
PREAMBLE = "import math\nfrom typing import List, Tuple"
MODELS = ("7B", "13B", "34B")

#: Runs inside the sandbox: reads programs (JSON list) on stdin, runs each as a plain
#: ``python3 -c`` process, ``workers`` at a time, and prints the wall time.
BASELINE_DRIVER = r"""
import json, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
programs, workers, timeout, python = json.load(sys.stdin)
def run(program):
    try:
        return subprocess.run([python, "-c", program], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        return -999
start = time.perf_counter()
with ThreadPoolExecutor(workers) as pool:
    codes = list(pool.map(run, programs))
print(json.dumps({"seconds": time.perf_counter() - start,
                  "passed": sum(c == 0 for c in codes)}))
"""


def _assert_lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if ln.strip().startswith("assert")]


def load_problem(problem: int, models: tuple[str, ...]) -> tuple[list[str], list[str], str]:
    """(solutions in sample order, distinct assert lines, task id) of ``models``."""
    solutions: list[str] = []
    lines: dict[str, None] = {}
    for model in models:
        for loop in range(10):
            for rec in json.loads((DATA / "answer" / model / f"{model}_p10_l{loop}.json")
                                  .read_text()):
                if int(rec["number"]) == problem:
                    solutions.append(rec["answer"])
            for rec in json.loads((DATA / "testcase" / model / f"{model}_p10_l{loop}.json")
                                  .read_text()):
                if int(rec["number"]) == problem:
                    lines.update(dict.fromkeys(_assert_lines(rec["answer"])))
    task = json.loads((DATA / "HumanEval.json").read_text())[problem]["task_id"]
    return solutions, list(lines), task


def synthetic(n_solutions: int, n_tests: int) -> tuple[list[str], list[str]]:
    solutions = [f"def f(x):\n    return x + {i % 3}\n" for i in range(n_solutions)]
    tests = [f"assert f({j}) == {j + 1}" for j in range(n_tests)]
    return solutions, tests


def run_sandbox(solutions, tests, mode: str, workers: int, timeout: float) -> dict:
    from planner.sandbox import BatchJob, Limits, run_batch

    job = BatchJob(preamble=PREAMBLE, solutions=tuple(solutions), tests=tuple(tests),
                   limits=Limits(test_timeout=timeout), mode=mode)
    start = time.perf_counter()
    res = run_batch(job, workers=workers)
    seconds = time.perf_counter() - start
    return {"pairs": job.n_pairs, "seconds": round(seconds, 3),
            "pairs_per_s": round(job.n_pairs / seconds, 1), "passed": int(res.passed.sum()),
            "level": res.level, "verdicts": res.counts()}


def run_baseline(solutions, tests, n_pairs: int, workers: int, timeout: float,
                 seed: int) -> dict:
    """One plain python process per sampled pair, inside one level-A sandbox."""
    from planner.sandbox import probe_isolation
    from planner.sandbox.probe import bwrap_argv, user_kwargs

    report = probe_isolation()
    if not report.bwrap:
        raise SystemExit("the baseline needs bubblewrap (level A) to keep model code off the "
                         "host")
    rng = random.Random(seed)
    pairs = [(rng.randrange(len(solutions)), rng.randrange(len(tests))) for _ in range(n_pairs)]
    programs = [f"{PREAMBLE}\n{solutions[s]}\n{tests[t]}" for s, t in pairs]
    with tempfile.TemporaryDirectory(prefix="codecascade-baseline-") as run_dir:
        os.chmod(run_dir, 0o755)
        driver = Path(run_dir) / "driver.py"
        driver.write_text(BASELINE_DRIVER)
        driver.chmod(0o644)
        argv = bwrap_argv(report.bwrap, report.interpreter_paths, run_dir, 64 << 20)
        argv += [report.interpreter, "-s", "-B", "/run/codecascade/driver.py"]
        uid = None if report.uid_base is None else report.uid_base + 31
        proc = subprocess.run(argv, input=json.dumps([programs, workers, timeout,
                                                      report.interpreter]),
                              capture_output=True, text=True, check=True, **user_kwargs(uid))
    out = json.loads(proc.stdout)
    return {"pairs": n_pairs, "seconds": round(out["seconds"], 3),
            "pairs_per_s": round(n_pairs / out["seconds"], 1), "passed": out["passed"]}


def run_scale(n_problems: int, workers: int, timeout: float) -> dict:
    """Case (d): many real problems through one run_batches call, fast mode."""
    from planner.sandbox import BatchJob, Limits, run_batches

    n_total = len(json.loads((DATA / "HumanEval.json").read_text()))
    problems = sorted({round(i * n_total / n_problems) for i in range(n_problems)})
    jobs = []
    for problem in problems:
        sols, tests, _ = load_problem(problem, MODELS)
        jobs.append(BatchJob(preamble=PREAMBLE, solutions=tuple(dict.fromkeys(sols)),
                             tests=tuple(tests), limits=Limits(test_timeout=timeout)))
    n_pairs = sum(job.n_pairs for job in jobs)
    counts: dict[str, int] = {}
    finished = {}
    start = time.perf_counter()
    for index, res in run_batches(jobs, workers=workers):
        finished[problems[index]] = round(time.perf_counter() - start, 1)
        for verdict, n in res.counts().items():
            key = verdict.split(":")[0]
            counts[key] = counts.get(key, 0) + n
    seconds = time.perf_counter() - start
    # every timed-out test holds a worker for at least the limit: a floor on the wall time
    # that no executor speed removes (a loaded machine makes it worse)
    timeout_floor = counts.get("timeout", 0) * timeout / workers
    return {"problems": problems, "pairs": n_pairs, "seconds": round(seconds, 1),
            "pairs_per_s": round(n_pairs / seconds, 1), "verdict_kinds": counts,
            "timeout_wall_floor_s": round(timeout_floor, 1),
            "finished_at_s": finished,
            "estimated_164_problem_minutes": round(seconds * n_total / len(problems) / 60, 1)}


def containment_smoke(workers: int) -> dict:
    """A few hostile solutions with the benchmark's configuration; True when contained."""
    from planner.sandbox import BatchJob, Limits, run_batch

    hostile = {
        "loop": ("def f():\n    while True:\n        pass\n", "timeout"),
        "fork": ("import os\ndef f():\n    os.fork()\n", "error:BlockingIOError"),
        "tcp": ("import socket\ndef f():\n    socket.create_connection(('127.0.0.1', 22))\n",
                "error:"),
        "write": (f"def f():\n    open({str(ROOT / 'pwned.txt')!r}, 'w').write('x')\n", "error:"),
        "exit": ("import os\ndef f():\n    os._exit(0)\n", "crash"),
    }
    job = BatchJob(solutions=tuple(src for src, _ in hostile.values()), tests=("f()",),
                   limits=Limits(test_timeout=0.5))
    res = run_batch(job, workers=workers)
    got = {name: str(v) for name, v in zip(hostile, res.verdicts[:, 0], strict=True)}
    ok = all(got[n].startswith(exp) for n, (_, exp) in hostile.items())
    return {"contained": ok and not (ROOT / "pwned.txt").exists(), "verdicts": got}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problem", type=int, default=0, help="HumanEval index (b, c)")
    parser.add_argument("--model", default="7B", choices=MODELS, help="model of case (b)")
    parser.add_argument("--baseline-pairs", type=int, default=300)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout", type=float, default=1.0, help="per-test seconds")
    parser.add_argument("--strict-big", action="store_true",
                        help="also run strict mode on cases (c) and (e) (several minutes)")
    parser.add_argument("--scale-problems", type=int, default=8,
                        help="problems in case (d); 0 skips it")
    parser.add_argument("--output", type=Path,
                        default=ROOT / "benchmarks" / "results" / "bench_sandbox.json")
    args = parser.parse_args()
    from planner.sandbox import probe_isolation

    started = time.perf_counter()
    report = probe_isolation()  # once per process; not part of any case's time
    probe_s = time.perf_counter() - started

    cases: dict[str, tuple[list[str], list[str], str]] = {}
    sols, tests = synthetic(10, 20)
    cases["a"] = (sols, tests, "synthetic 10 x 20 trivial asserts")
    if DATA.is_dir():
        sols, tests, task = load_problem(args.problem, (args.model,))
        cases["b"] = (sols, tests, f"{task} WizardCoder-{args.model}: 100 solutions x distinct "
                                   "asserts")
        sols, tests, task = load_problem(args.problem, MODELS)
        cases["c"] = (list(dict.fromkeys(sols)), tests,
                      f"{task} 7B+13B+34B pool: distinct solutions x distinct asserts")
    else:
        print(f"note: {DATA} absent; case (b) skipped, case (c) synthetic", file=sys.stderr)
        sols, tests = synthetic(250, 400)
        cases["c"] = (sols, tests, "synthetic 250 x 400")

    sols, tests = synthetic(250, 400)
    cases["e"] = (sols, tests, "synthetic 250 x 400 trivial asserts")

    rows = {}
    for name, (sols, tests, label) in cases.items():
        row = {"label": label, "n_solutions": len(sols), "n_tests": len(tests)}
        row["fast"] = run_sandbox(sols, tests, "fast", args.workers, args.timeout)
        if name not in ("c", "e") or args.strict_big:
            row["strict"] = run_sandbox(sols, tests, "strict", args.workers, args.timeout)
        row["baseline"] = run_baseline(sols, tests, min(args.baseline_pairs,
                                                        len(sols) * len(tests)),
                                       args.workers, args.timeout, seed=len(rows))
        base = row["baseline"]["pairs_per_s"]
        for mode in ("fast", "strict"):
            if mode in row:
                row[mode]["x_baseline"] = round(row[mode]["pairs_per_s"] / base, 1)
        rows[name] = row
        print(f"case {name} done", file=sys.stderr)
    scale = (run_scale(args.scale_problems, args.workers, args.timeout)
             if args.scale_problems and DATA.is_dir() else None)
    smoke = containment_smoke(args.workers)

    print(f"{'case':4} {'pairs':>7} {'baseline/s':>10} {'strict/s':>9} {'x':>6} "
          f"{'fast/s':>9} {'x':>6}  what")
    for name, row in rows.items():
        strict = row.get("strict", {})
        print(f"{name:4} {row['fast']['pairs']:>7} {row['baseline']['pairs_per_s']:>10.1f} "
              f"{strict.get('pairs_per_s', float('nan')):>9.1f} "
              f"{strict.get('x_baseline', float('nan')):>6.1f} "
              f"{row['fast']['pairs_per_s']:>9.1f} {row['fast']['x_baseline']:>6.1f}  "
              f"{row['label']}")
    if scale:
        print(f"d    {scale['pairs']:>7} fast {scale['pairs_per_s']:.0f} pairs/s over "
              f"{len(scale['problems'])} problems in {scale['seconds']} s "
              f"(verdicts {scale['verdict_kinds']}; timeouts alone hold the workers for "
              f">= {scale['timeout_wall_floor_s']} s); 164 problems ~ "
              f"{scale['estimated_164_problem_minutes']} min")
    print(f"sandbox level {report.level.value}, probe {probe_s:.2f} s (once per process)")
    print(f"hostile containment with this configuration: {smoke['contained']} "
          f"{smoke['verdicts']}")

    result = {
        "benchmark": "bench_sandbox", "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version()},
        "settings": {"workers": args.workers, "test_timeout_s": args.timeout,
                     "baseline_pairs": args.baseline_pairs, "problem": args.problem,
                     "model_b": args.model, "strict_big": args.strict_big,
                     "scale_problems": args.scale_problems},
        "provenance": "cases b and c execute solutions and assert lines of the seed paper's "
                      "WizardCoder-Python HumanEval release (arXiv 2405.15842) from "
                      "../shared/data; only timings and counts are stored",
        "sandbox": {"level": report.level.value, "layers": list(report.layers),
                    "interpreter": report.interpreter, "probe_s": round(probe_s, 3)},
        "cases": rows, "scale": scale, "containment": smoke,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.output.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp, args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
