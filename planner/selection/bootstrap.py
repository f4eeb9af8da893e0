"""Bootstrap selection: the plan most often best when the planning problems are resampled.

Draw ``resamples`` bootstrap samples of the planning problems (one matrix of counts);
on each, the best candidate plan is the most accurate one whose resampled mean cost fits
the budget (among the plans the cost rule admits on all problems). The rule takes the plan
that wins most often (ties: the cheaper) — bagging's majority vote (Breiman 1996) applied to
the choice itself: a plan that wins only on the exact planning sample, by a few lucky
problems, wins on few resamples; a plan that is good on most problem mixes wins often.
All resampled means are one matrix product on the candidates' per-problem vectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..search.objective import TOLERANCE, Objective
from .base import SelectionError, SelectionTask
from .candidate_selector import CandidateSelector
from .candidates import CandidateSet
from .resampling import bootstrap_counts


@dataclass(frozen=True)
class BootstrapSelector(CandidateSelector):
    """The plan most often best over bootstrap resamples of the planning problems."""

    name = "bootstrap"
    summary = "the plan most often best over bootstrap resamples (majority vote)"
    resamples: int = 500

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.resamples < 10:
            raise SelectionError(f"resamples must be >= 10, got {self.resamples}")

    def _resampled(self, task: SelectionTask, candidates: CandidateSet
                   ) -> tuple[np.ndarray, np.ndarray]:
        """(accuracy means [B, J], cost means [B, J]) over the resamples, once per task."""
        def compute():
            counts = bootstrap_counts(candidates.n_problems, self.resamples, task.seed)
            n = candidates.n_problems
            return counts @ candidates.accuracy.T / n, counts @ candidates.cost.T / n

        return task.memo(("bootstrap", id(candidates), self.resamples), compute)

    def pick(self, task: SelectionTask, candidates: CandidateSet, objective: Objective,
             feasible: np.ndarray) -> tuple[int, dict[str, Any]]:
        acc, cost = self._resampled(task, candidates)
        ok = feasible[None, :] & (cost <= objective.budget + TOLERANCE)
        winners = np.argmax(np.where(ok, acc, -np.inf), axis=1)[ok.any(axis=1)]
        if winners.size == 0:
            j = int(np.flatnonzero(feasible)[np.argmin(candidates.mean_cost[feasible])])
            return j, {"wins": 0}
        votes = np.bincount(winners, minlength=len(candidates))
        top = np.flatnonzero(votes == votes.max())
        j = int(top[np.argmin(candidates.mean_cost[top])])
        return j, {"wins": int(votes[j]), "resamples": self.resamples}
