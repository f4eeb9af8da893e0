"""What a batch asks for and what it gets back: limits, jobs, results, verdict names."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from ..errors import CodecascadeError
from .modes import Clock, SandboxMode

MODES = tuple(SandboxMode)
CLOCKS = tuple(Clock)

#: Every verdict a cell can get, besides ``error:<Type>`` and ``error(load):<Type>``.
VERDICTS = ("pass", "fail", "timeout", "timeout(load)", "timeout(skipped)", "crash", "memory",
            "tampered", "harness_error")


class SandboxError(CodecascadeError):
    """The sandbox refuses (level C without the unsafe flag, CI below level A, host limits
    too low) or a job is malformed; the message is one line naming the problem."""


class SandboxBrokenError(SandboxError):
    """The sandbox stopped working: a batch came back with every cell ``harness_error`` (its
    sandboxes died, twice for every solution). An infrastructure failure, never the model's;
    the message is one line naming the cause (see :meth:`BatchResult.raise_if_broken`)."""


@dataclass(frozen=True)
class Limits:
    """Per-execution limits (defaults follow the sandbox research, section 4.5).

    ``test_timeout`` is the soft per-test limit (an in-process timer) on the ``clock``:
    "wall" (wall-clock time, as the paper's harness) or "cpu" (the process's CPU time, so
    verdicts do not depend on machine load). The runner kills the child's process group
    ``kill_grace`` seconds after the limit if the timer did not stop it (with "cpu", after
    4x the limit in wall time, so sleeping or starved tests end too).
    ``load_timeout`` bounds loading one solution (preamble + source). After
    ``max_timeouts`` timeouts of one solution its remaining tests are ``timeout(skipped)``.
    ``memory_mb`` is the address-space budget on top of the interpreter's own size.
    ``max_processes`` is RLIMIT_NPROC when the sandbox runs as a dedicated uid (children
    cannot start processes at all; this bounds threads). Solutions longer than
    ``max_source_chars`` are not sent to the sandbox: ``error(load):SourceTooLarge``.
    """

    test_timeout: float = 1.0
    load_timeout: float = 2.0
    kill_grace: float = 0.5
    max_timeouts: int = 3
    memory_mb: int = 1024
    max_processes: int = 64
    max_open_files: int = 256
    max_file_mb: int = 16
    tmpfs_mb: int = 64
    max_source_chars: int = 2_000_000
    clock: Clock = Clock.WALL

    def __post_init__(self) -> None:
        if self.clock not in CLOCKS:
            raise SandboxError(f"unknown clock {self.clock!r}; known: {', '.join(CLOCKS)}")
        object.__setattr__(self, "clock", Clock(self.clock))
        for f in fields(self):
            if f.name == "clock":
                continue
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise SandboxError(f"limit {f.name} must be a number, got {value!r}")
            if not math.isfinite(value) or value <= 0:
                raise SandboxError(f"limit {f.name} must be a positive number, got {value!r}")
            if f.type == "int" and not float(value).is_integer():
                raise SandboxError(f"limit {f.name} must be a whole number, got {value!r}")

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class BatchJob:
    """One problem's execution request: every solution is run with every test.

    ``preamble`` (imports) runs before each solution; a test runs after the solution (the
    paper's "solution, newline, assert line"); a ground-truth test is a snippet such as
    ``<HumanEval test code>\\ncheck(<entry_point>)``. ``mode`` is "fast" (one process per
    solution, tests share its module state) or "strict" (one process per pair).
    ``test_timeouts`` (one per test, or empty) overrides ``limits.test_timeout`` per test,
    e.g. a longer limit for a ground-truth check run in the same process as short lines.
    """

    solutions: tuple[str, ...]
    tests: tuple[str, ...]
    preamble: str = ""
    limits: Limits = field(default_factory=Limits)
    mode: SandboxMode = SandboxMode.FAST
    test_timeouts: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        for name in ("solutions", "tests"):
            value = getattr(self, name)
            if isinstance(value, str) or not hasattr(value, "__iter__"):
                raise SandboxError(f"BatchJob.{name} must be a sequence of strings")
            value = tuple(value)
            bad = [i for i, text in enumerate(value) if not isinstance(text, str)]
            if bad:
                raise SandboxError(f"BatchJob.{name}[{bad[0]}] is not a string")
            object.__setattr__(self, name, value)
        if not isinstance(self.preamble, str):
            raise SandboxError("BatchJob.preamble must be a string")
        if not isinstance(self.limits, Limits):
            raise SandboxError("BatchJob.limits must be a planner.sandbox.Limits")
        if self.mode not in MODES:
            raise SandboxError(f"unknown mode {self.mode!r}; known: {', '.join(MODES)}")
        object.__setattr__(self, "mode", SandboxMode(self.mode))
        if isinstance(self.test_timeouts, str) or not hasattr(self.test_timeouts, "__iter__"):
            raise SandboxError("BatchJob.test_timeouts must be a sequence of numbers")
        timeouts = tuple(self.test_timeouts)
        if timeouts and len(timeouts) != len(self.tests):
            raise SandboxError(f"BatchJob.test_timeouts has {len(timeouts)} entries for "
                               f"{len(self.tests)} tests")
        for t in timeouts:
            if isinstance(t, bool) or not isinstance(t, int | float) or not (
                    math.isfinite(t) and t > 0):
                raise SandboxError(f"BatchJob.test_timeouts must be positive numbers, got {t!r}")
        object.__setattr__(self, "test_timeouts", tuple(float(t) for t in timeouts))

    @property
    def n_pairs(self) -> int:
        return len(self.solutions) * len(self.tests)


@dataclass(frozen=True, eq=False)
class BatchResult:
    """Verdicts of one job. ``passed`` and ``verdicts`` are [n_solutions, n_tests];
    ``codes`` indexes ``vocabulary`` (compact form of ``verdicts``); ``tampered`` marks
    solutions with a ``tampered`` cell (their process answered in a way an honest one never
    does); ``suspicious`` lists, per solution, constructs an AST scan found (``frame_access``,
    ``always_equal``, ...) and ``opaque_compare`` (a pass decided by a non-plain result's own
    comparison): logged, not blocked; ``level`` is the isolation level ("A", "B", "C"), also
    in ``meta`` with the limits (requested and ``limits_effective``), interpreter, mode and
    timings."""

    passed: np.ndarray
    verdicts: np.ndarray
    codes: np.ndarray
    vocabulary: tuple[str, ...]
    tampered: np.ndarray
    suspicious: tuple[tuple[str, ...], ...]
    level: str
    meta: dict[str, Any]

    @property
    def shape(self) -> tuple[int, int]:
        return self.passed.shape  # type: ignore[return-value]

    def counts(self) -> dict[str, int]:
        """How many cells got each verdict."""
        ids, n = np.unique(self.codes, return_counts=True)
        return {self.vocabulary[i]: int(c) for i, c in zip(ids, n, strict=True)}

    @property
    def broken(self) -> bool:
        """True when the sandbox, not the code, decided this batch: it has cells and every
        one is ``harness_error``. Its verdicts say nothing about the solutions."""
        return bool(self.codes.size) and bool(
            (self.codes == VERDICTS.index("harness_error")).all())

    @property
    def broken_cause(self) -> str:
        """One line: why the sandbox failed (its last recorded error), "" if not broken."""
        if not self.broken:
            return ""
        errors = self.meta.get("sandbox_errors") or ["every sandbox of the batch died"]
        return f"sandbox level {self.level} stopped working: {errors[-1]}"

    def raise_if_broken(self) -> None:
        """Raise :class:`SandboxBrokenError` when :attr:`broken`."""
        if self.broken:
            raise SandboxBrokenError(self.broken_cause)
