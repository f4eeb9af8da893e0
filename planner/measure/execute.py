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
    """Run every program of ``solutions`` with every snippet of ``tests``; ``check`` says
    that ``tests[0]`` is the ground-truth check (run under the executor's check limit, the
    other tests under its per-line limit)."""

    solutions: tuple[str, ...]
    tests: tuple[str, ...]
    check: bool = False

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
    the paper's harness); ``"strict"`` forks per pair. ``test_timeout`` is the limit per
    model-written assert line, ``check_timeout`` the limit of the ground-truth check
    (HumanEval's whole ``check`` function, so it gets more), which runs first in each
    solution's process (one fork per solution, not two); both on ``clock``: "cpu" (the
    process's CPU time: verdicts do not depend on the machine's load) or "wall".
    """

    def __init__(self, test_timeout: float = 0.25, check_timeout: float = 1.0,
                 mode: str = "fast", clock: str = "cpu") -> None:
        for name, value in (("test", test_timeout), ("check", check_timeout)):
            if not value > 0:
                raise ExecutionError(f"{name} timeout must be positive, got {value}")
        if mode not in ("fast", "strict"):
            raise ExecutionError(f"sandbox mode must be 'fast' or 'strict', got {mode!r}")
        if clock not in ("cpu", "wall"):
            raise ExecutionError(f"clock must be 'cpu' or 'wall', got {clock!r}")
        self.test_timeout = float(test_timeout)
        self.check_timeout = float(check_timeout)
        self.mode = mode
        self.clock = clock
        self.description: dict[str, object] = {
            "executor": "planner.sandbox", "mode": mode, "clock": clock,
            "test_timeout_s": self.test_timeout, "check_timeout_s": self.check_timeout,
            "check_runs": "first, in the solution's process"}
        try:
            self.limits: dict[str, object] = {
                "lines": self._limits(False).to_json(), "check": self._limits(True).to_json()}
        except ImportError:
            self.limits = {}

    def _limits(self, check: bool):  # -> planner.sandbox.Limits
        from ..sandbox import Limits

        timeout = self.check_timeout if check else self.test_timeout
        return Limits(test_timeout=timeout, clock=self.clock)

    def run(self, jobs: Sequence[ExecutionJob]) -> Iterator[tuple[int, ExecutionResult]]:
        try:
            from ..sandbox import BatchJob, run_batches
        except ImportError as exc:
            raise ExecutionError(f"the sandbox (planner.sandbox) is not available: {exc}"
                                 ) from None
        limits = self._limits(False)
        batch = [BatchJob(preamble="", solutions=job.solutions, tests=job.tests,
                          limits=limits, mode=self.mode,
                          test_timeouts=((self.check_timeout,) + (self.test_timeout,) * (
                              len(job.tests) - 1) if job.check and job.tests else ()))
                 for job in jobs]
        for index, result in run_batches(batch):
            passed = np.asarray(result.passed, dtype=bool)
            expected = (len(jobs[index].solutions), len(jobs[index].tests))
            if passed.shape != expected:
                raise ExecutionError(f"sandbox returned a {passed.shape} result for a "
                                     f"{expected} job")
            yield index, ExecutionResult(verdict_codes(result.verdicts, passed),
                                         str(result.level))
