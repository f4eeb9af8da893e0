"""Running solutions on test lines: the runtime's thin door to ``planner.sandbox``.

Identical solution texts and identical test lines are executed once and the verdicts
expanded back to every instance, so duplicates (common with sampled generations) cost
nothing. The sandbox call is synchronous and is run in a worker thread by the runtime.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Execution:
    """Verdicts of solutions × tests: ``passed`` bool [n_sol, n_tests], ``verdicts`` the
    sandbox's verdict strings, ``level`` the isolation level used, ``seconds`` the time."""

    passed: np.ndarray
    verdicts: tuple[tuple[str, ...], ...]
    level: str
    seconds: float


class Executor(Protocol):
    """Runs every solution with every test (after ``preamble``) in isolation."""

    def __call__(self, preamble: str, solutions: Sequence[str], tests: Sequence[str],
                 test_timeout: float) -> Execution: ...


class SandboxExecutor:
    """The project's sandbox (``planner.sandbox.run_batch``) with duplicate removal.

    Each call uses one sandbox worker: the runtime already runs several problems' batches
    at once (``RunOptions.sandbox_workers``), so more per call would oversubscribe the CPUs.
    ``allow_unsafe`` lets the sandbox run at level C (no isolation layer at all).
    """

    def __init__(self, mode: str = "fast", *, allow_unsafe: bool = False):
        self.mode = mode
        self.allow_unsafe = allow_unsafe

    def __call__(self, preamble: str, solutions: Sequence[str], tests: Sequence[str],
                 test_timeout: float) -> Execution:
        from ..sandbox import BatchJob, Limits, run_batch

        started = time.perf_counter()
        if not solutions or not tests:
            return Execution(np.zeros((len(solutions), len(tests)), dtype=bool),
                             tuple(() for _ in solutions), "", 0.0)
        uniq_sol, sol_idx = _unique(solutions)
        uniq_test, test_idx = _unique(tests)
        job = BatchJob(solutions=tuple(uniq_sol), tests=tuple(uniq_test), preamble=preamble,
                       limits=Limits(test_timeout=test_timeout), mode=self.mode)
        result = run_batch(job, workers=1, allow_unsafe=self.allow_unsafe)
        passed = np.asarray(result.passed, dtype=bool)[np.ix_(sol_idx, test_idx)]
        verdicts = np.asarray(result.verdicts, dtype=object)[np.ix_(sol_idx, test_idx)]
        return Execution(passed, tuple(tuple(str(v) for v in row) for row in verdicts),
                         str(result.level), time.perf_counter() - started)


def _unique(items: Sequence[str]) -> tuple[list[str], np.ndarray]:
    index: dict[str, int] = {}
    positions = [index.setdefault(item, len(index)) for item in items]
    return list(index), np.asarray(positions, dtype=np.int64)
