"""An executor that runs nothing: for tests of the pipelines that execute code.

:class:`RuleExecutor` implements :class:`planner.sandbox.grid.Executor` and decides every
cell with a rule on the (solution, test) texts, so the runtime's cascade logic and the
profile builder's pooling, caching and assembly can be tested without a sandbox. Real
verdicts only ever come from :class:`planner.sandbox.grid.SandboxExecutor`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from .grid import GridConfig, GridJob, GridResult, Verdict

#: A rule: the verdict of one solution on one test (True/False mean PASS/FAIL).
Rule = Callable[[str, str], "Verdict | bool"]


class RuleExecutor:
    """Decides each cell with ``rule(solution, test)``; records every job it ran in
    :attr:`jobs`. ``level`` is reported as the isolation level; ``description`` defaults to
    the fake's name and the config (so a fake never shares cached cells with the sandbox).
    """

    def __init__(self, rule: Rule = lambda solution, test: True, *, level: str = "fake",
                 config: GridConfig | None = None,
                 description: dict[str, Any] | None = None) -> None:
        self.rule = rule
        self.level = level
        self.config = config or GridConfig()
        self.description = (description if description is not None
                            else {"executor": "fake", **self.config.to_json()})
        self.jobs: list[GridJob] = []

    def verdict(self, solution: str, test: str) -> Verdict:
        value = self.rule(solution, test)
        if isinstance(value, bool | np.bool_):
            return Verdict.PASS if value else Verdict.FAIL
        return Verdict(value)

    def run(self, jobs: Sequence[GridJob]) -> Iterator[tuple[int, GridResult]]:
        vocabulary = tuple(v.name.lower() for v in Verdict)
        for index, job in enumerate(jobs):
            self.jobs.append(job)
            codes = np.array([[self.verdict(s, t) for t in job.tests] for s in job.solutions],
                             dtype=np.uint8).reshape(len(job.solutions), len(job.tests))
            yield index, GridResult(codes, codes.astype(np.uint16), vocabulary, self.level)

    @property
    def pairs(self) -> int:
        """Cells run so far."""
        return sum(job.n_pairs for job in self.jobs)
