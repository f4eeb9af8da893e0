"""Cutting grid jobs into shards for many machines, and putting their results back together.

A problem's grid is one :class:`~planner.sandbox.grid.GridJob`; on a cluster its
de-duplicated rows (solutions) are cut into *shards* so that no single problem holds the
whole cluster at the end: every shard runs every test on a slice of the rows, and each
solution runs in its own sandbox process whichever shard it is in, so the verdicts do not
depend on the cut. Shards are ordered by estimated cost, the costliest first (longest
processing time first, Graham 1969), which bounds the idle tail by the last shards' cost.

The cost model is a line: a solution's process costs ``row_s`` and each (solution, test)
pair ``pair_s`` seconds of one CPU. The defaults are the bundled profile's build
(planner/data/README.md): 12.9 M pairs in 1,493 s on 2 CPUs is 2.3e-4 CPU seconds per pair,
timeouts included, and about 12 ms of CPU per solution's process. The model only ranks and
cuts work; it decides no verdict.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .grid import ExecutionError, GridJob, GridResult, dedupe


@dataclass(frozen=True)
class CostModel:
    """Expected seconds of one CPU for a grid: ``rows × row_s + rows × tests × pair_s``."""

    row_s: float = 0.012
    pair_s: float = 2.3e-4

    def __post_init__(self) -> None:
        for name in ("row_s", "pair_s"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise ExecutionError(f"{name} must be a non-negative number of seconds, got "
                                     f"{value!r}")
        if self.row_s == 0 and self.pair_s == 0:
            raise ExecutionError("a cost model needs a positive row_s or pair_s")

    def seconds(self, rows: int, tests: int) -> float:
        """Expected CPU seconds of ``rows`` solutions on ``tests`` tests."""
        return rows * (self.row_s + tests * self.pair_s)


#: The default cost model (the bundled profile's build).
DEFAULT_COST = CostModel()
#: Shards per CPU to aim for, and the least estimated CPU seconds of a shard: a task's own
#: sandbox start costs about 0.3 s (benchmarks/bench_ray.py); cost estimates miss slow
#: problems by up to 30x (HumanEval/83), so many small shards bound the tail.
WAVES = 16.0
MIN_SHARD_S = 1.0


@dataclass(frozen=True)
class Shard:
    """Rows ``start:stop`` of job ``job``'s de-duplicated grid (part ``part`` of ``parts``),
    with its estimated cost in CPU seconds."""

    job: int
    part: int
    parts: int
    start: int
    stop: int
    seconds: float

    @property
    def rows(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class ShardPlan:
    """The de-duplicated job of every input job (``None`` where nothing runs: no solution
    or no test), the rows and columns mapping each original solution and test into it, and
    the shards, costliest first."""

    unique: tuple[GridJob | None, ...]
    rows: tuple[np.ndarray, ...]
    cols: tuple[np.ndarray, ...]
    shards: tuple[Shard, ...]

    def shard_job(self, shard: Shard) -> GridJob:
        """The grid job a shard runs: its rows, every test."""
        job = self.unique[shard.job]
        assert job is not None
        return GridJob(job.solutions[shard.start:shard.stop], job.tests, job.preamble, job.check)

    @property
    def total_seconds(self) -> float:
        return float(sum(s.seconds for s in self.shards))


def plan_shards(jobs: Sequence[GridJob], cpus: int, cost: CostModel = DEFAULT_COST, *,
                waves: float = WAVES, min_shard_s: float = MIN_SHARD_S) -> ShardPlan:
    """De-duplicate ``jobs`` and cut them into shards for ``cpus`` CPUs.

    A shard's target cost is the larger of ``min_shard_s`` (so that a task's fixed
    overhead stays small against its work) and the total cost over ``cpus × waves`` (so
    that each CPU gets several shards and the costliest-first order can balance them); a
    job is cut into as many equal row slices as its cost needs, at most one per row.
    Shards are sorted by cost, costliest first (ties: job order, then part order).
    """
    if isinstance(cpus, bool) or not isinstance(cpus, int) or cpus < 1:
        raise ExecutionError(f"cpus must be a positive integer, got {cpus!r}")
    if not (waves > 0 and min_shard_s >= 0):
        raise ExecutionError(f"waves must be > 0 and min_shard_s >= 0, got {waves}, "
                             f"{min_shard_s}")
    unique: list[GridJob | None] = []
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    for job in jobs:
        if job.solutions and job.tests:
            small, r, c = dedupe(job)
            unique.append(small)
        else:
            small, r, c = None, np.zeros(0, np.int64), np.zeros(0, np.int64)
            unique.append(None)
        rows.append(r)
        cols.append(c)
    costs = [cost.seconds(len(j.solutions), len(j.tests)) if j is not None else 0.0
             for j in unique]
    target = max(min_shard_s, sum(costs) / (cpus * waves), 1e-9)
    shards: list[Shard] = []
    for index, job in enumerate(unique):
        if job is None:
            continue
        n_rows = len(job.solutions)
        parts = max(1, min(n_rows, math.ceil(costs[index] / target)))
        bounds = np.linspace(0, n_rows, parts + 1).round().astype(int)
        for part in range(parts):
            start, stop = int(bounds[part]), int(bounds[part + 1])
            shards.append(Shard(index, part, parts, start, stop,
                                cost.seconds(stop - start, len(job.tests))))
    shards.sort(key=lambda s: (-s.seconds, s.job, s.part))
    return ShardPlan(tuple(unique), tuple(rows), tuple(cols), tuple(shards))


def merge_parts(parts: Sequence[GridResult], seconds: float = 0.0) -> GridResult:
    """One result from the results of a job's shards, in row order: codes stacked, each
    part's verdict strings mapped into one vocabulary (first appearance order), the least
    isolated level of any part ("C" > "B" > "A")."""
    if not parts:
        raise ExecutionError("no shard results to merge")
    vocabulary: dict[str, int] = {}
    details = []
    for part in parts:
        lut = np.array([vocabulary.setdefault(v, len(vocabulary)) for v in part.vocabulary],
                       dtype=np.uint16)
        details.append(lut[part.detail] if part.detail.size else part.detail.astype(np.uint16))
    levels = [p.level for p in parts if p.level]
    return GridResult(np.concatenate([p.codes for p in parts], axis=0),
                      np.concatenate(details, axis=0), tuple(vocabulary),
                      max(levels) if levels else "", seconds)


def makespan(shard_seconds: Sequence[float], cpus: int, overhead_s: float = 0.0) -> float:
    """Wall seconds of shards (CPU seconds each) on ``cpus`` CPUs when each CPU takes the
    next shard in costliest-first order as soon as it is free, ``overhead_s`` added to each
    shard: the schedule :class:`~planner.sandbox.ray_executor.RayExecutor` follows (used for
    the benchmark's predictions)."""
    import heapq

    free = [0.0] * max(1, int(cpus))
    for seconds in sorted(shard_seconds, reverse=True):
        heapq.heapreplace(free, free[0] + float(seconds) + overhead_s)
    return max(free)
