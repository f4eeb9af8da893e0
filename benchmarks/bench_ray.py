"""Benchmark: building a profile on Ray against building it locally, and what a cluster buys.

On this machine: the same build (WizardCoder-Python 7B/13B/34B, the first ``--limit``
HumanEval problems, the measurement settings of ``MEASURE_CONFIG``, an empty cell cache each
time) locally (the sandbox, 2 workers) and on a local Ray instance with 2 and with 1 CPU
(strong scaling), checked identical (fingerprint); Ray's overhead per task from many
one-pair tasks; the bytes a task sends and returns. Every shard's CPU time (the sandbox
processes' user + system time) is recorded on the node.

On paper, from those numbers and from ``bench_measure.json`` (the full default profile's
build), the predicted wall time of the full default profile and of a six-model MBPP profile
on 8, 32 and 128 nodes of 16 cores: each task's CPU seconds plus the measured per-task
overhead, scheduled costliest first (:func:`planner.sandbox.shards.makespan`), one task per
problem or in row shards. Prints a table and writes ``benchmarks/results/bench_ray.json``.

    nice -n 10 python3 benchmarks/bench_ray.py             # 10 problems (about 15-30 min)
    nice -n 10 python3 benchmarks/bench_ray.py --limit 3   # a quick look
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pickle
import platform
import resource
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "wizardcoder-python-humaneval"
RESULT = ROOT / "benchmarks" / "results" / "bench_ray.json"
MEASURE = ROOT / "benchmarks" / "results" / "bench_measure.json"
NODES = (8, 32, 128)
CORES_PER_NODE = 16


class CpuTimed:
    """Node-side executor factory: the sandbox, with each task's result ``seconds`` set to
    the CPU time (user + system) of the sandbox processes it ran (they are this worker's
    children, reaped when the task's sandbox pool closes)."""

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers

    def __call__(self, config: Any, allow_unsafe: bool) -> Any:
        from planner.sandbox import SandboxExecutor

        class _Timed(SandboxExecutor):
            def run(self, jobs):
                import dataclasses

                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                results = list(super().run(jobs))
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                for index, result in results:
                    yield index, dataclasses.replace(result, seconds=cpu)

        return _Timed(config, workers=self.workers, allow_unsafe=allow_unsafe)


def _sample_load(loads: list[float], stop: threading.Event) -> None:
    while True:
        loads.append(round(os.getloadavg()[0], 2))
        if stop.wait(15):
            return


def _build(name: str, executor: Any, chosen, models, prices) -> dict[str, Any]:
    """One build from an empty cell cache through ``measure_profile`` (the command's path)."""
    from planner.measure import measure_profile

    loads: list[float] = []
    stop = threading.Event()
    sampler = threading.Thread(target=_sample_load, args=(loads, stop), daemon=True)
    sampler.start()
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as cache:
        t0 = time.perf_counter()
        profile = measure_profile(chosen, models, prices, executor, cache)
        wall = time.perf_counter() - t0
    stop.set()
    sampler.join()
    run = profile.provenance["run"]
    print(f"  {name}: {wall:.1f} s, load average {np.mean(loads):.1f}", flush=True)
    return {"name": name, "wall_s": round(wall, 2), "pairs": int(run["pairs_executed"]),
            "pairs_per_s": round(run["pairs_executed"] / wall, 1),
            "fingerprint": profile.fingerprint(), "transport": run["transport"],
            "load_average_1min": {"mean": round(float(np.mean(loads)), 2),
                                  "max": float(np.max(loads))}}


def _ray(num_cpus: int, root: Path):
    from planner.measure import MEASURE_CONFIG
    from planner.sandbox.ray_executor import RayExecutor

    os.environ["RAY_TMPDIR"] = str(root)
    executor = RayExecutor(MEASURE_CONFIG, address="local", num_cpus=num_cpus,
                           node_executor=CpuTimed())
    t0 = time.perf_counter()
    executor.connect()
    return executor, time.perf_counter() - t0


def _per_task_overhead(executor: Any, n: int = 40) -> dict[str, float]:
    """Seconds per one-pair task on Ray (1 CPU) and per one-pair job in one local sandbox
    pool (1 worker): the difference is what a task costs beyond its work."""
    from planner.sandbox import GridJob, SandboxExecutor

    jobs = [GridJob((f"def f():\n    return {k}\n",), (f"assert f() == {k}",)) for k in range(n)]
    list(executor.run(jobs[:4]))  # warm: workers started, code shipped, probe cached
    t0 = time.perf_counter()
    list(executor.run(jobs))
    ray_s = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    list(SandboxExecutor(executor.config, workers=1).run(jobs))
    local_s = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    for job in jobs[:10]:  # the local cost of a task's own sandbox start, for comparison
        list(SandboxExecutor(executor.config, workers=1).run([job]))
    pool_s = (time.perf_counter() - t0) / 10
    return {"ray_s_per_task": round(ray_s, 4), "local_s_per_job_one_pool": round(local_s, 4),
            "local_s_per_job_own_pool": round(pool_s, 4),
            "overhead_s_per_task": round(ray_s - local_s, 4)}


def _transfer(pools, jobs_of) -> dict[str, Any]:
    """Bytes a task sends (its solutions, the problem's tests once per problem) and returns
    (codes uint8 + detail uint16 + vocabulary), per problem as one task."""
    sent, back, pairs = 0, 0, 0
    for pool in pools:
        job = jobs_of(pool)
        sent += len(pickle.dumps((job.solutions, (job.tests, job.preamble, job.check))))
        n = len(set(job.solutions)) * len(set(job.tests))
        back += 3 * n + 200
        pairs += job.n_pairs
    return {"problems": len(pools), "bytes_sent": sent, "bytes_returned": back,
            "bytes_per_pair": round((sent + back) / max(pairs, 1), 2)}


def _predict(costs: dict[str, tuple[float, int, int]], floor_row_s: float,
             overhead_s: float) -> dict[str, Any]:
    """Predicted wall seconds on 8/32/128 nodes of 16 cores for problems of given CPU cost
    (seconds, rows, tests): one task per problem, and row shards (as RayExecutor cuts them,
    cost spread evenly over a problem's rows but no shard cheaper than ``floor_row_s`` per
    row of the costliest problem)."""
    from planner.sandbox import GridJob
    from planner.sandbox.shards import CostModel, makespan, plan_shards

    total = sum(c for c, _, _ in costs.values())
    names = list(costs)
    out: dict[str, Any] = {"cpu_s": round(total, 1), "longest_problem_cpu_s":
                           round(max(c for c, _, _ in costs.values()), 1)}
    for nodes in NODES:
        cpus = nodes * CORES_PER_NODE
        whole = makespan([c for c, _, _ in costs.values()], cpus, overhead_s)
        jobs = [GridJob(tuple(f"s{i}" for i in range(r)), tuple(f"t{j}" for j in range(t)))
                for _, r, t in costs.values()]
        plan = plan_shards(jobs, cpus, CostModel())
        actual = []
        for shard in plan.shards:
            cpu, rows, _ = costs[names[shard.job]]
            actual.append(max(cpu * shard.rows / rows, 0.0))
        sharded = makespan(actual, cpus, overhead_s)
        out[f"{nodes}x{CORES_PER_NODE}"] = {
            "one_task_per_problem_s": round(whole, 1),
            "row_shards_s": round(max(sharded, floor_row_s), 1),
            "row_shards": len(plan.shards),
            "ideal_s": round(total / cpus, 1)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=10, help="first N problems")
    parser.add_argument("--data", type=Path, default=DATA, help="WizardCoder release folder")
    args = parser.parse_args()

    from planner.measure import (
        MEASURE_CONFIG,
        SandboxExecutor,
        build_pools,
        load_prices,
        read_problems,
        read_wizardcoder,
    )
    from planner.profile import data_dir

    started_load = os.getloadavg()
    problems = read_problems(args.data / "HumanEval.json")
    models = [read_wizardcoder(args.data, size, problems) for size in ("7B", "13B", "34B")]
    all_pools = build_pools(problems, models)
    chosen = problems[:args.limit]
    pools = all_pools[:args.limit]
    prices = load_prices(data_dir() / "prices.json")

    def full_job(pool):
        return pool.job(np.arange(len(pool.solution_keys)), np.arange(len(pool.test_keys)))

    pairs = sum(full_job(p).n_pairs for p in pools)
    print(f"{len(pools)} problems, {pairs:,} pairs; load average {started_load[0]:.1f}",
          flush=True)
    runs = [_build("local sandbox, 2 workers", SandboxExecutor(MEASURE_CONFIG), chosen,
                   models, prices)]
    ray_runs: dict[int, dict[str, Any]] = {}
    overhead: dict[str, float] = {}
    for cpus in (2, 1):
        root = Path(tempfile.mkdtemp(prefix="rb", dir="/tmp"))
        executor, init_s = _ray(cpus, root)
        try:
            run = _build(f"Ray, {cpus} CPU{'s' * (cpus > 1)}", executor, chosen, models, prices)
            run["ray_start_s"] = round(init_s, 1)
            shard_cpu = [t[5] for t in executor.timings]
            run["shard_cpu_s"] = {"sum": round(sum(shard_cpu), 1),
                                  "max": round(max(shard_cpu), 1), "n": len(shard_cpu)}
            per_problem: dict[str, float] = {}
            for job, _, _, _, _, cpu in executor.timings:
                task = pools[job].problem.task_id
                per_problem[task] = round(per_problem.get(task, 0.0) + cpu, 2)
            run["problem_cpu_s"] = per_problem
            if cpus == 1:
                overhead = _per_task_overhead(executor)
            ray_runs[cpus] = run
            runs.append(run)
        finally:
            executor.close()
            shutil.rmtree(root, ignore_errors=True)
    local = runs[0]
    same = all(r["fingerprint"] == local["fingerprint"] for r in runs)
    tasks2 = ray_runs[2]["transport"]["shards"]
    build_overhead = ray_runs[2]["wall_s"] - local["wall_s"]
    transfer = _transfer(all_pools, full_job)

    # the full default profile, from bench_measure.json: its measured wall time on 2 CPUs,
    # the slowest problems measured there, the rest spread in proportion to their pairs
    measured = json.loads(MEASURE.read_text())
    cpu_total = 2 * measured["build_s"]
    slow = {k: 2 * v for k, v in measured["slowest_problems_s"].items()}
    rest = [p for p in all_pools if p.problem.task_id not in slow]
    rest_pairs = sum(full_job(p).n_pairs for p in rest)
    rest_cpu = cpu_total - sum(slow.values())
    default_costs: dict[str, tuple[float, int, int]] = {}
    for pool in all_pools:
        job = full_job(pool)
        rows, tests = len(set(job.solutions)), len(set(job.tests))
        cpu = slow.get(pool.problem.task_id, rest_cpu * job.n_pairs / rest_pairs)
        default_costs[pool.problem.task_id] = (cpu, rows, tests)
    row_floor = 13.0  # HumanEval/83: 4 brute-force rows took 11-13 s each (data README)
    per_task = max(overhead.get("overhead_s_per_task", 0.0), 0.0) + 0.05  # + transfer, driver
    default_prediction = _predict(default_costs, row_floor, per_task)

    # six models on MBPP (427 problems): per problem twice the distinct solutions and twice
    # the distinct assert lines of the three-model HumanEval pool (4x the pairs), the same
    # CPU per pair, and the same shape of slow problems (HumanEval's, 4x the cost)
    scale = 427 / len(all_pools)
    mbpp_costs: dict[str, tuple[float, int, int]] = {}
    humaneval = list(default_costs.values())
    for k in range(427):
        cpu, rows, tests = humaneval[int(k / scale)]
        mbpp_costs[f"MBPP/{k}"] = (4 * cpu, 2 * rows, 2 * tests)
    mbpp_prediction = _predict(mbpp_costs, 2 * row_floor, per_task)

    result = {
        "benchmark": "bench_ray",
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "nice": os.nice(0),
                    "load_average_at_start": [round(x, 2) for x in started_load]},
        "settings": SandboxExecutor(MEASURE_CONFIG).description,
        "problems": [p.problem.task_id for p in pools], "pairs": pairs,
        "runs": runs, "identical_fingerprints": same,
        "ray_overhead": {
            **overhead,
            "build_difference_s": round(build_overhead, 1),
            "build_tasks": tasks2,
            "per_task_from_build_s": round(build_overhead / tasks2, 3),
            "per_pair_from_build_us": round(1e6 * build_overhead / pairs, 2),
        },
        "strong_scaling": {
            "ray_1_cpu_s": ray_runs[1]["wall_s"], "ray_2_cpus_s": ray_runs[2]["wall_s"],
            "speedup": round(ray_runs[1]["wall_s"] / ray_runs[2]["wall_s"], 2)},
        "transfer_default_profile": transfer,
        "prediction_assumptions": {
            "cores_per_node": CORES_PER_NODE,
            "default_profile_cpu_s": "2 x bench_measure.json build_s (2 CPUs busy); its 10 "
                                     "slowest problems at 2 x their measured wall seconds, "
                                     "the rest in proportion to pairs",
            "per_task_overhead_s": round(per_task, 3),
            "row_floor_s": f"{row_floor} s (default), {2 * row_floor} s (MBPP): the costliest "
                           "single solution row (HumanEval/83's brute-force rows)",
            "mbpp": "427 problems, 6 models: 2x distinct solutions and 2x assert lines per "
                    "problem (4x pairs), HumanEval's CPU per pair and slow-problem shape",
            "cost_within_a_problem": "spread evenly over its rows",
            "transfer": "about 3 bytes back per pair and the texts once per task: "
                        f"{transfer['bytes_per_pair']} bytes per pair, under 1 s per node "
                        "at 1 Gbit/s for the whole default profile",
            "not_included": "Ray start (seconds on a running cluster), reading and pooling "
                            "the sources on the driver (about 6 s), writing the profile"},
        "prediction_default_profile": default_prediction,
        "prediction_mbpp_6_models": mbpp_prediction,
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=1) + "\n")

    print(f"\n{'run':<26} {'wall s':>8} {'pairs/s':>9} {'tasks':>6} {'load':>5}  same profile")
    for run in runs:
        tasks = run["transport"].get("shards", "-")
        print(f"{run['name']:<26} {run['wall_s']:>8.1f} {run['pairs_per_s']:>9,.0f} "
              f"{tasks!s:>6} {run['load_average_1min']['mean']:>5.1f}  "
              f"{run['fingerprint'] == local['fingerprint']}")
    print(f"Ray start (local instance): {ray_runs[2]['ray_start_s']} s; per-task overhead "
          f"{overhead.get('overhead_s_per_task')} s; on the build "
          f"{result['ray_overhead']['per_task_from_build_s']} s per task, "
          f"{result['ray_overhead']['per_pair_from_build_us']} us per pair")
    print(f"strong scaling 1 -> 2 CPUs: {result['strong_scaling']['speedup']}x")
    print(f"\n{'predicted wall s':<28}" + "".join(f"{n:>4}x16: whole / shards  " for n in NODES))
    for label, pred in (("default profile", default_prediction),
                        ("MBPP, 6 models", mbpp_prediction)):
        cells = "".join(f"{pred[f'{n}x16']['one_task_per_problem_s']:>13.0f} / "
                        f"{pred[f'{n}x16']['row_shards_s']:<8.0f}" for n in NODES)
        print(f"{label + ' (' + str(round(pred['cpu_s'])) + ' CPU s)':<28}{cells}")
    print(f"wrote {RESULT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
