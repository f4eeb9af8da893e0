"""The solution × test grid: one problem's batch, run de-duplicated in the sandbox.

Both the runtime (a stage's solutions on its test lines; an answer on the ground truth) and
the profile builder (every pooled solution on the ground truth and on every pooled assert
line) hand over :class:`GridJob` s, one per problem, to an :class:`Executor` they are given,
and get back one :class:`GridResult` per job as it completes: compact arrays, verdict codes
(:class:`Verdict`) and the sandbox's exact verdict strings. One :class:`GridConfig` holds
every setting that decides a verdict (limits, mode, clock).

:class:`SandboxExecutor` is the real executor: pre-process (identical solution texts and
identical tests run once: :func:`dedupe`), execute (:func:`planner.sandbox.run_batches`,
one batch per job), post-process (verdicts expanded back to every duplicate:
:func:`expand`). An executor that runs the same batches elsewhere (other machines) only
needs the same three steps; :class:`planner.sandbox.fake.RuleExecutor` decides verdicts
from a rule without running anything, for tests.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from .. import fields
from ..errors import FieldError
from .jobs import Limits, SandboxBrokenError, SandboxError
from .modes import Clock, SandboxMode


class ExecutionError(SandboxError):
    """The executor cannot run as configured, or the sandbox answered out of shape."""


class ExecutionFieldError(ExecutionError, FieldError):
    """A bad execution setting (a time limit), naming its field."""


class JobsFailed(ExecutionError):
    """Some jobs got no result (their executions failed, retries included); raised by an
    executor after it has yielded every result it has. ``failures`` maps the index of each
    failed job to a one-line reason; the caller, who knows what the jobs are, names them."""

    def __init__(self, failures: dict[int, str]) -> None:
        self.failures = dict(sorted(failures.items()))
        first = next(iter(self.failures.items()), (None, ""))
        super().__init__(f"{len(self.failures)} jobs failed, e.g. job {first[0]}: {first[1]}")


class Verdict(enum.IntEnum):
    """The kind of a cell's verdict, as stored (uint8) in profiles' cell caches.

    ``PASS`` is the sandbox's acknowledged pass; ``FAIL`` an ``AssertionError``; ``ERROR``
    any other exception (``error:<Type>``, ``error(load):<Type>``); ``TIMEOUT`` every
    timeout (``timeout``, ``timeout(load)``, ``timeout(skipped)``); ``CRASH`` everything
    else (``crash``, ``memory``, ``tampered``, ``harness_error``). ``UNKNOWN`` (0) marks a
    cell not measured yet.
    """

    UNKNOWN = 0
    PASS = 1
    FAIL = 2
    ERROR = 3
    TIMEOUT = 4
    CRASH = 5


#: Verdict code -> name, for the measured kinds (counts in a profile's provenance).
VERDICT_NAMES = {int(v): v.name.lower() for v in Verdict if v is not Verdict.UNKNOWN}


def verdict_codes(verdicts: np.ndarray, passed: np.ndarray) -> np.ndarray:
    """:class:`Verdict` codes (uint8, the shape of ``passed``) of the sandbox's verdict
    strings; ``passed`` is authoritative for ``PASS``."""
    text = np.asarray(verdicts).astype(str)
    codes = np.full(text.shape, Verdict.CRASH, dtype=np.uint8)
    codes[text == "fail"] = Verdict.FAIL
    codes[np.char.startswith(text, "error")] = Verdict.ERROR
    codes[np.char.startswith(text, "timeout")] = Verdict.TIMEOUT
    codes = codes.reshape(np.shape(passed))
    codes[np.asarray(passed, dtype=bool)] = Verdict.PASS
    return codes


@dataclass(frozen=True)
class GridConfig:
    """Every setting that decides a verdict.

    ``test_timeout`` is the limit per test line and ``check_timeout`` the limit of a
    ground-truth check (a whole ``check`` function, so usually longer), both in seconds on
    ``clock``; ``mode`` is the sandbox's fork mode. The defaults are the runtime's; the
    profile builder uses :data:`planner.measure.MEASURE_CONFIG`.
    """

    test_timeout: float = 1.0
    check_timeout: float = 10.0
    mode: SandboxMode = SandboxMode.FAST
    clock: Clock = Clock.WALL

    def __post_init__(self) -> None:
        for name in ("test_timeout", "check_timeout"):
            object.__setattr__(self, name, fields.positive(getattr(self, name), name,
                                                           error=ExecutionFieldError))
        for name, kind in (("mode", SandboxMode), ("clock", Clock)):
            try:
                object.__setattr__(self, name, kind(getattr(self, name)))
            except ValueError:
                raise ExecutionError(f"{name} must be one of {', '.join(kind)}, got "
                                     f"{getattr(self, name)!r}") from None

    def to_json(self) -> dict[str, Any]:
        """The settings as plain JSON (what names a profile's cell-cache folder)."""
        return {"mode": str(self.mode), "clock": str(self.clock),
                "test_timeout_s": self.test_timeout, "check_timeout_s": self.check_timeout,
                "check_runs": "first, in the solution's process"}

    def limits(self, check: bool = False) -> Limits:
        """The sandbox limits of a test line (``check=False``) or of a check."""
        return Limits(test_timeout=self.check_timeout if check else self.test_timeout,
                      clock=self.clock)


@dataclass(frozen=True)
class GridJob:
    """One problem's batch: every program of ``solutions`` runs (after ``preamble``) with
    every snippet of ``tests``. ``check`` says that ``tests[0]`` is the ground-truth check:
    it runs first in each solution's process, under the check limit, the other tests under
    the line limit."""

    solutions: tuple[str, ...]
    tests: tuple[str, ...]
    preamble: str = ""
    check: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "solutions", tuple(self.solutions))
        object.__setattr__(self, "tests", tuple(self.tests))
        if self.check and not self.tests:
            raise ExecutionError("a check job needs the check as its first test")

    @property
    def n_pairs(self) -> int:
        return len(self.solutions) * len(self.tests)


@dataclass(frozen=True, eq=False)
class GridResult:
    """The verdicts of one job: ``codes`` uint8 [solutions, tests] (:class:`Verdict`),
    ``detail`` uint16 [solutions, tests] indexing ``vocabulary`` (the sandbox's exact verdict
    strings, e.g. ``error:NameError``), the isolation ``level`` ("A", "B", "C"; "" when
    nothing ran), the wall ``seconds`` from the executor's call to this result, and the
    sandbox's own ``errors`` while running it (a sandbox that died, and why)."""

    codes: np.ndarray
    detail: np.ndarray
    vocabulary: tuple[str, ...]
    level: str
    seconds: float = 0.0
    errors: tuple[str, ...] = ()

    @classmethod
    def empty(cls, n_solutions: int, n_tests: int) -> GridResult:
        """The result of a job with no solution or no test: nothing runs."""
        shape = (n_solutions, n_tests)
        return cls(np.zeros(shape, np.uint8), np.zeros(shape, np.uint16), (), "", 0.0)

    @property
    def shape(self) -> tuple[int, int]:
        return self.codes.shape  # type: ignore[return-value]

    @property
    def passed(self) -> np.ndarray:
        """bool [solutions, tests]."""
        return self.codes == Verdict.PASS

    @property
    def verdicts(self) -> np.ndarray:
        """The sandbox's verdict strings [solutions, tests]."""
        if not self.codes.size:
            return np.empty(self.codes.shape, dtype="<U1")
        return np.asarray(self.vocabulary, dtype=str)[self.detail]


class Executor(Protocol):
    """Runs grid jobs and yields ``(job index, GridResult)`` as each completes (any order).

    ``description`` is every setting that decides a verdict, as plain JSON: measured cells
    are cached under it, so two executors with the same description must give the same
    verdicts.
    """

    config: GridConfig
    description: dict[str, Any]

    def run(self, jobs: Sequence[GridJob]) -> Iterator[tuple[int, GridResult]]: ...


#: The verdict of a cell the sandbox could not run (its sandbox died twice).
HARNESS_ERROR = "harness_error"


def broken_cause(job: GridJob, result: GridResult) -> str | None:
    """Why the sandbox, not the code, decided ``result`` (one line), or None when it did
    not: every cell is ``harness_error`` (:attr:`planner.sandbox.BatchResult.broken`, for
    any executor), or ``job`` is a check job and every solution's ground-truth check is
    ``harness_error``. Such verdicts say nothing about the solutions, so no consumer may
    record them; executors raise :class:`SandboxBrokenError` instead."""
    if not result.codes.size:
        return None
    harness = result.verdicts == HARNESS_ERROR
    if not (harness.all() or (job.check and harness[:, 0].all())):
        return None
    cause = result.errors[-1] if result.errors else "every sandbox of the batch died"
    what = "" if harness.all() else "every ground-truth check of a batch failed to run: "
    return f"sandbox level {result.level or '?'} stopped working: {what}{cause}"


def run_one(executor: Executor, job: GridJob) -> GridResult:
    """Run a single job and return its result (blocking; the runtime calls this in a
    worker thread)."""
    results = executor.run([job])
    try:
        return next(iter(results))[1]
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()


def dedupe(job: GridJob) -> tuple[GridJob, np.ndarray, np.ndarray]:
    """The job with each distinct solution and test once (first appearance order; the check
    stays first), and the row and column of every original solution and test in it."""
    solutions, rows = _unique(job.solutions)
    tests, cols = _unique(job.tests)
    return GridJob(tuple(solutions), tuple(tests), job.preamble, job.check), rows, cols


def expand(result: GridResult, rows: np.ndarray, cols: np.ndarray) -> GridResult:
    """The result of the original job from the result of its :func:`dedupe` d job."""
    index = np.ix_(rows, cols)
    return GridResult(result.codes[index], result.detail[index], result.vocabulary,
                      result.level, result.seconds, result.errors)


def _unique(items: Sequence[str]) -> tuple[list[str], np.ndarray]:
    index: dict[str, int] = {}
    positions = [index.setdefault(item, len(index)) for item in items]
    return list(index), np.asarray(positions, dtype=np.int64)


class SandboxExecutor:
    """The project's sandbox (:func:`planner.sandbox.run_batches`) behind :class:`Executor`.

    ``workers`` sandbox processes serve the jobs of one :meth:`run` call (default: one per
    CPU). The runtime, which runs several problems' batches at once from threads, gives each
    call one worker. ``allow_unsafe`` lets the sandbox run at level C (no isolation layer at
    all). ``description`` names the executor and its :class:`GridConfig`; ``limits`` holds
    the sandbox limits of a line and of a check (for provenance). A batch the sandbox could
    not run (:func:`broken_cause`) raises :class:`SandboxBrokenError`: a sandbox that stops
    working mid-run stops ``run`` and ``measure``, never becomes verdicts.
    """

    def __init__(self, config: GridConfig | None = None, *, workers: int | None = None,
                 allow_unsafe: bool = False):
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                    or workers < 1):
            raise ExecutionError(f"workers must be a positive integer, got {workers!r}")
        self.config = config or GridConfig()
        self.workers = workers
        self.allow_unsafe = allow_unsafe
        self.description: dict[str, Any] = {"executor": "planner.sandbox",
                                            **self.config.to_json()}
        self.limits: dict[str, Any] = {"lines": self.config.limits(False).to_json(),
                                       "check": self.config.limits(True).to_json()}

    def _batch(self, job: GridJob):  # -> planner.sandbox.BatchJob
        from .jobs import BatchJob

        config = self.config
        timeouts = ((config.check_timeout,) + (config.test_timeout,) * (len(job.tests) - 1)
                    if job.check else ())
        return BatchJob(solutions=job.solutions, tests=job.tests, preamble=job.preamble,
                        limits=config.limits(False), mode=config.mode, test_timeouts=timeouts)

    def run(self, jobs: Sequence[GridJob]) -> Iterator[tuple[int, GridResult]]:
        from .executor import run_batches

        started = time.perf_counter()
        pending: list[int] = []
        shrunk: list[tuple[GridJob, np.ndarray, np.ndarray]] = []
        for index, job in enumerate(jobs):
            if job.solutions and job.tests:
                pending.append(index)
                shrunk.append(dedupe(job))
            else:
                yield index, GridResult.empty(len(job.solutions), len(job.tests))
        if not pending:
            return
        results = run_batches([self._batch(job) for job, _, _ in shrunk], workers=self.workers,
                              allow_unsafe=self.allow_unsafe)
        try:
            for k, batch in results:
                job, rows, cols = shrunk[k]
                passed = np.asarray(batch.passed, dtype=bool)
                if passed.shape != (len(job.solutions), len(job.tests)):
                    raise ExecutionError(f"sandbox returned a {passed.shape} result for a "
                                         f"{(len(job.solutions), len(job.tests))} job")
                batch.raise_if_broken()
                result = GridResult(verdict_codes(batch.verdicts, passed),
                                    np.asarray(batch.codes, dtype=np.uint16),
                                    tuple(batch.vocabulary), str(batch.level),
                                    time.perf_counter() - started,
                                    tuple(str(e) for e in batch.meta.get("sandbox_errors", ())))
                cause = broken_cause(job, result)
                if cause is not None:
                    raise SandboxBrokenError(cause)
                yield pending[k], expand(result, rows, cols)
        finally:
            results.close()
