"""Executing solution × test grids: the executor interface and its sandbox implementation.

The measurement code talks to an :class:`Executor`: it hands over rectangular jobs (each
solution program run with each test snippet) and gets back one verdict code per cell. The
real one is :class:`SandboxExecutor` over :mod:`planner.sandbox`; tests inject a fake that
decides from a lookup table, so the pipeline is tested without executing anything.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..errors import CodecascadeError

#: Verdict codes stored per cell (0 = not measured).
UNKNOWN, PASS, FAIL, ERROR, TIMEOUT, CRASH = 0, 1, 2, 3, 4, 5
VERDICT_NAMES = {PASS: "pass", FAIL: "fail", ERROR: "error", TIMEOUT: "timeout", CRASH: "crash"}


class ExecutionError(CodecascadeError):
    """The executor cannot run (no sandbox, a refused isolation level, a failed batch)."""


@dataclass(frozen=True)
class ExecutionJob:
    """Run every program of ``solutions`` with every snippet of ``tests``."""

    solutions: tuple[str, ...]
    tests: tuple[str, ...]

    @property
    def n_pairs(self) -> int:
        return len(self.solutions) * len(self.tests)


@dataclass(frozen=True)
class ExecutionResult:
    """Verdict codes [solutions, tests] (uint8, see the module constants) and the sandbox
    isolation level that produced them."""

    codes: np.ndarray
    level: str


class Executor(Protocol):
    """Something that runs jobs and yields ``(job index, result)`` as they complete."""

    description: dict[str, object]

    def run(self, jobs: Sequence[ExecutionJob]) -> Iterator[tuple[int, ExecutionResult]]: ...


def verdict_codes(verdicts: np.ndarray, passed: np.ndarray) -> np.ndarray:
    """Map the sandbox's verdict strings to codes; ``passed`` is authoritative for PASS."""
    text = np.asarray(verdicts).astype(str)
    codes = np.full(text.shape, CRASH, dtype=np.uint8)
    codes[text == "fail"] = FAIL
    codes[np.char.startswith(text, "error")] = ERROR
    codes[np.char.startswith(text, "timeout")] = TIMEOUT
    codes = codes.reshape(np.shape(passed))
    codes[np.asarray(passed, dtype=bool)] = PASS
    return codes


class SandboxExecutor:
    """Runs jobs with :func:`planner.sandbox.run_batches` (imported on first use).

    ``mode="fast"`` forks once per solution (tests share its module state, as in CodeT and
    the paper's harness); ``"strict"`` forks per pair. ``test_timeout`` is per test line.
    """

    def __init__(self, test_timeout: float = 1.0, mode: str = "fast") -> None:
        if not test_timeout > 0:
            raise ExecutionError(f"test timeout must be positive, got {test_timeout}")
        if mode not in ("fast", "strict"):
            raise ExecutionError(f"sandbox mode must be 'fast' or 'strict', got {mode!r}")
        self.test_timeout = float(test_timeout)
        self.mode = mode
        self.description: dict[str, object] = {
            "executor": "planner.sandbox", "mode": mode, "test_timeout_s": self.test_timeout}
        try:
            from ..sandbox import Limits
        except ImportError:
            self.limits: dict[str, object] = {}
        else:
            self.limits = Limits(test_timeout=self.test_timeout).to_json()

    def run(self, jobs: Sequence[ExecutionJob]) -> Iterator[tuple[int, ExecutionResult]]:
        try:
            from ..sandbox import BatchJob, Limits, run_batches
        except ImportError as exc:
            raise ExecutionError(f"the sandbox (planner.sandbox) is not available: {exc}"
                                 ) from None
        limits = Limits(test_timeout=self.test_timeout)
        batch = [BatchJob(preamble="", solutions=job.solutions, tests=job.tests,
                          limits=limits, mode=self.mode) for job in jobs]
        for index, result in run_batches(batch):
            passed = np.asarray(result.passed, dtype=bool)
            expected = (len(jobs[index].solutions), len(jobs[index].tests))
            if passed.shape != expected:
                raise ExecutionError(f"sandbox returned a {passed.shape} result for a "
                                     f"{expected} job")
            yield index, ExecutionResult(verdict_codes(result.verdicts, passed),
                                         str(result.level))
