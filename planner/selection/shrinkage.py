"""Shrinkage of per-problem estimates: rank plans by estimates that trust each planning
problem's idiosyncrasies less.

A cascade's accuracy on the planning problems is the mean over problems of products such
as (1 − a₁(p))·g₂(p): it rewards plans whose early stages happen to accept exactly the
planning problems a later stage would get wrong. With 49 planning problems those
covariances are mostly noise, and a search over ~10^8 plans finds the plans that exploit
it best (the optimizer's curse, Smith & Winkler 2006). This selector shrinks every
option's per-problem a, g and h toward the option's mean over the planning problems,

    x̃(p) = keep · x(p) + (1 − keep) · mean_q x(q),

(James & Stein's move: pull many noisy estimates toward their common mean), builds the
exact front of the shrunk tables, and takes the most accurate plan *by the shrunk
estimate* among those whose cost — computed with the true, unshrunk numbers — fits the
budget. ``keep = 1`` is today's rule; ``keep = 0`` ranks cascades as if every stage's
outcome were independent of the problem. Costs are never shrunk, so the budget holds as
computed. Single-model plans are unaffected (a mean does not move under shrinkage toward
itself).

For a target accuracy it takes the cheapest plan whose shrunk accuracy reaches the target.

``tune=True`` chooses ``keep`` from (0, 0.25, 0.5, 1) by inner cross-validation over the
planning problems (each inner training part shrinks toward its own means).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..cascade import OptionTable
from ..search.objective import TOLERANCE, Objective
from ..search.space import SearchSpace
from .base import SelectionError, SelectionTask
from .candidate_selector import CandidateSelector
from .candidates import CandidateSet, CandidateSource, family_candidates


def shrunk_space(space: SearchSpace, keep: float) -> SearchSpace:
    """``space`` with every option's per-problem a, g, h shrunk toward its mean over the
    problems by ``keep`` (costs unchanged)."""

    def shrink(x: np.ndarray) -> np.ndarray:
        return keep * x + (1.0 - keep) * x.mean(axis=1, keepdims=True)

    tables = tuple(OptionTable(model=t.model, options=t.options, accept=shrink(t.accept),
                               accept_correct=shrink(t.accept_correct),
                               correct=shrink(t.correct), cost=t.cost, problems=t.problems,
                               accuracy_se=t.accuracy_se)
                   for t in space.tables)
    return SearchSpace(tables, space.shared_theta)


@dataclass(frozen=True)
class Shrinkage(CandidateSelector):
    """The most accurate plan by shrunk per-problem estimates whose true cost fits."""

    name = "shrinkage"
    summary = "best plan by per-problem estimates shrunk toward each option's mean"
    knob = "keep"
    knob_grid = (0.0, 0.25, 0.5, 1.0)
    supports_target_accuracy = True
    keep: float = 0.25

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.keep <= 1.0:
            raise SelectionError(f"keep must be in [0, 1], got {self.keep}")

    def candidates(self, task: SelectionTask, objectives: Sequence[Objective]
                   ) -> CandidateSet:
        keep = float(self.knob_value())
        if keep == 1.0:
            return super().candidates(task, objectives)
        if task.source is CandidateSource.FRONT:
            return task.memo(("shrunk", keep), lambda: family_candidates(
                task.planning, task.family, scored_on=shrunk_space(task.planning, keep),
                deadline=task.deadline))
        shrunk = task.memo(("shrunk-task", keep), lambda: replace(
            task, planning=shrunk_space(task.planning, keep), _inner={}, _memo={}))
        return self.searched(task, shrunk, objectives)

    def pick(self, task: SelectionTask, candidates: CandidateSet, objective: Objective,
             feasible: np.ndarray) -> tuple[int, dict[str, Any]]:
        if not objective.is_budget:
            return self._cheapest_reaching(task, candidates, objective)
        score = np.where(feasible, candidates.ranking_accuracy, -np.inf)
        near = score >= score.max() - TOLERANCE
        j = int(np.flatnonzero(near)[np.argmin(candidates.mean_cost[near])])
        return j, {"shrunk_accuracy": float(candidates.ranking_accuracy[j])}

    def _cheapest_reaching(self, task: SelectionTask, candidates: CandidateSet,
                           objective: Objective) -> tuple[int, dict[str, Any]]:
        """For a target accuracy: the cheapest plan whose shrunk accuracy reaches it
        (ties: the more accurate); SelectionError when none does (an inner resample
        falls back to the plan with the highest shrunk accuracy)."""
        score = candidates.ranking_accuracy
        ok = score >= objective.target_accuracy - TOLERANCE
        if not ok.any():
            if not self.resampled:
                raise SelectionError(
                    f"no plan reaches accuracy {objective.target_accuracy:g} by the "
                    f"shrunk estimate (keep={self.knob_value():g}; the best is "
                    f"{score.max():.4f}); lower the target or use naive")
            ok = score >= score.max() - TOLERANCE
        low = candidates.mean_cost[ok].min()
        near = ok & (candidates.mean_cost <= low + TOLERANCE)
        j = int(np.flatnonzero(near)[np.argmax(score[near])])
        return j, {"shrunk_accuracy": float(score[j])}
