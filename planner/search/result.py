"""What a search returns: a method's outcome, and the result re-scored exactly.

A method reports only what it knows (:class:`SearchOutcome`: the plan, its status and,
where the method bounds it, the gap); :meth:`~planner.search.method.SearchMethod.search`
scores the plan with the exact formula and times the search (:class:`SearchResult`).
Neither holds placeholders: a gap the method does not bound is ``None``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..options import CascadePlan, Stage
from ..vocabulary import SolverStatus
from .space import SearchSpace


def _checked_status(status: SolverStatus | str, gap: float | None) -> tuple[SolverStatus,
                                                                           float | None]:
    """The status as a :class:`SolverStatus` and a gap that agrees with it: a proven
    optimum has gap 0, a heuristic none, a feasible plan a gap >= 0 or none."""
    status = SolverStatus(status)
    if gap is not None and not (math.isfinite(gap) and gap >= 0):
        raise ValueError(f"a search gap is a finite number >= 0 or None, got {gap!r}")
    if status is SolverStatus.OPTIMAL:
        if gap not in (None, 0.0):
            raise ValueError(f"a proven optimum has gap 0, got {gap!r}")
        gap = 0.0
    elif status is SolverStatus.HEURISTIC and gap is not None:
        raise ValueError(f"a heuristic plan has no gap, got {gap!r}")
    return status, gap


@dataclass(frozen=True)
class SearchOutcome:
    """What a method found: ``stages`` (model index, table row) in cascade order, feasible
    for the objective; ``status``; ``gap``, the relative optimality gap where the method
    bounds it (0 for a proven optimum, None for a heuristic); the solver that ran and how
    many plans (or programs) it scored."""

    stages: tuple[tuple[int, int], ...]
    status: SolverStatus
    gap: float | None = None
    solver: str = ""
    plans_evaluated: int = 0

    def __post_init__(self) -> None:
        status, gap = _checked_status(self.status, self.gap)
        object.__setattr__(self, "status", status)
        object.__setattr__(self, "gap", gap)


@dataclass(frozen=True)
class SearchResult:
    """A method's plan, scored with the exact formula on the search's problems.

    ``accuracy`` is a fraction and ``cost`` $ per problem (means over the problems);
    ``seconds`` is the search's wall-clock time. The other fields are the method's
    :class:`SearchOutcome`.
    """

    method: str
    stages: tuple[tuple[int, int], ...]
    accuracy: float
    cost: float
    status: SolverStatus
    gap: float | None
    seconds: float
    solver: str = ""
    plans_evaluated: int = 0

    def __post_init__(self) -> None:
        status, gap = _checked_status(self.status, self.gap)
        object.__setattr__(self, "status", status)
        object.__setattr__(self, "gap", gap)

    def plan(self, space: SearchSpace) -> CascadePlan:
        return CascadePlan(
            tuple(Stage(space.tables[i].model, space.tables[i].options[r])
                  for i, r in self.stages)
        )
