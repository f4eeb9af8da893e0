"""Today's rule: the plan that is best on the planning problems.

For a budget, the most accurate plan whose mean planning cost fits (ties: the cheaper);
for a target accuracy, the cheapest plan reaching it. With the plain cost rule and no
inner resampling, cascades are found by the task's search method through
:meth:`SelectionTask.search` (the request's method and options from the search
registry), exactly as ``plan`` finds them; otherwise (single-model
plans, a budget confidence, inner folds) the same rule is read off the exact front, which
holds the same optimum. By default the stated prediction is the in-sample mean with its
bootstrap interval (the spec's ``predicted.planning``), which the optimizer's curse makes
optimistic (docs/selection.md); ``prediction=nested|corrected`` corrects it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..search.objective import TOLERANCE, Objective
from .base import Choice, SelectionTask
from .candidate_selector import CandidateSelector
from .candidates import CandidateSet, PlanFamily
from .predict import in_sample_estimate


def best_on_front(candidates: CandidateSet, objective: Objective,
                  feasible: np.ndarray | None = None) -> int | None:
    """Index of today's choice among ``candidates``: for a budget the most accurate plan
    whose mean cost fits (ties: the cheapest), for a target accuracy the cheapest plan
    reaching it (ties: the most accurate); ``feasible`` restricts the plans further. None
    when no plan qualifies."""
    acc, cost = candidates.mean_accuracy, candidates.mean_cost
    ok = np.ones(len(candidates), dtype=bool) if feasible is None else feasible.copy()
    if objective.is_budget:
        ok &= cost <= objective.budget + TOLERANCE
        if not ok.any():
            return None
        top = acc[ok].max()
        near = ok & (acc >= top - TOLERANCE)
        return int(np.flatnonzero(near)[np.argmin(cost[near])])
    ok &= acc >= objective.target_accuracy - TOLERANCE
    if not ok.any():
        return None
    low = cost[ok].min()
    near = ok & (cost <= low + TOLERANCE)
    return int(np.flatnonzero(near)[np.argmax(acc[near])])


@dataclass(frozen=True)
class Naive(CandidateSelector):
    """The most accurate plan within budget on the planning problems (today's ``plan``)."""

    name = "naive"
    summary = "the best plan on the planning problems (today's rule)"
    supports_target_accuracy = True
    #: internal: find cascades with the task's search method (False: read the front)
    search: bool = field(default=True, metadata={"internal": True})

    def pick(self, task: SelectionTask, candidates: CandidateSet, objective: Objective,
             feasible: np.ndarray) -> tuple[int, dict[str, Any]]:
        j = best_on_front(candidates, objective, feasible)
        if j is None:
            # a budget confidence can leave only plans whose mean cost is above the budget
            j = int(np.flatnonzero(feasible)[np.argmax(candidates.mean_accuracy[feasible])])
        return j, {}

    def in_sample(self) -> Naive:
        return replace(self, prediction="in-sample", resampled=True, search=False)

    def choose(self, task: SelectionTask, objectives: Sequence[Objective]) -> list[Choice]:
        if not (self.search and task.family is PlanFamily.CASCADE
                and self.budget_confidence is None):
            return super().choose(task, objectives)
        out = []
        for objective in objectives:
            stages = task.search(objective)
            acc, cost, predicted = in_sample_estimate(task, stages)
            out.append(Choice(objective, stages, acc, cost, predicted, self.name))
        return out
