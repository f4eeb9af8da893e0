"""Bootstrap selection: the plan most often best when the planning problems are resampled.

Draw ``resamples`` bootstrap samples of the planning problems (one matrix of counts);
on each, the best candidate plan is the most accurate one whose resampled mean cost fits
the budget (among the plans the cost rule admits on all problems). The rule takes the plan
that wins most often (ties: the cheaper) — bagging's majority vote (Breiman 1996) applied to
the choice itself: a plan that wins only on the exact planning sample, by a few lucky
problems, wins on few resamples; a plan that is good on most problem mixes wins often.
All resampled means are one matrix product on the candidates' per-problem vectors.

``prediction="632plus"`` states the .632+ bootstrap estimate (Efron & Tibshirani 1997) of
the rule's accuracy: the out-of-bag accuracy of each resample's winner, Acc(1), is
pessimistic (a resample holds about 63.2 % of the distinct problems) and the in-sample
accuracy optimistic; .632+ weighs them by w = .632 / (1 − .368 R), with the relative
overfitting rate R = (in-sample − Acc(1)) / (in-sample − γ) and the no-information
accuracy γ = the mean accuracy of the plans that fit (a choice made without information).
The candidates are the front of all planning problems, so the out-of-bag problems took part
in building them: the estimate is computed on the candidates, not on re-run searches, and
the evaluation (``codecascade evaluate``) measures how honest it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..search.objective import TOLERANCE, Objective
from .base import Choice, SelectionError, SelectionTask
from .candidate_selector import CandidateSelector
from .candidates import CandidateSet
from .honest import PredictionMethod
from .predict import interval_estimate
from .resampling import bootstrap_counts

PLUS632 = PredictionMethod.PLUS632.value
PLUS632_METHOD = (".632+ bootstrap estimate ({n} resamples) of the rule's accuracy on the "
                  "candidate plans (Efron & Tibshirani 1997); cost in sample")


@dataclass(frozen=True)
class BootstrapSelector(CandidateSelector):
    """The plan most often best over bootstrap resamples of the planning problems."""

    name = "bootstrap"
    summary = "the plan most often best over bootstrap resamples (majority vote)"
    resamples: int = 500

    predictions = (*CandidateSelector.predictions, PredictionMethod.PLUS632)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.resamples < 10:
            raise SelectionError(f"resamples must be >= 10, got {self.resamples}")

    def _resampled(self, task: SelectionTask, candidates: CandidateSet
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(counts [B, P], accuracy means [B, J], cost means [B, J]), once per task."""
        def compute():
            counts = bootstrap_counts(candidates.n_problems, self.resamples, task.seed)
            n = candidates.n_problems
            return counts, counts @ candidates.accuracy.T / n, counts @ candidates.cost.T / n

        return task.memo(("bootstrap", id(candidates), self.resamples), compute)

    def _winners(self, task: SelectionTask, candidates: CandidateSet, objective: Objective,
                 feasible: np.ndarray) -> np.ndarray:
        """[B] index of each resample's best feasible plan (-1 where none fits)."""
        _, acc, cost = self._resampled(task, candidates)
        ok = feasible[None, :] & (cost <= objective.budget + TOLERANCE)
        score = np.where(ok, acc, -np.inf)
        winners = np.argmax(score, axis=1)
        winners[~ok.any(axis=1)] = -1
        return winners

    def pick(self, task: SelectionTask, candidates: CandidateSet, objective: Objective,
             feasible: np.ndarray) -> tuple[int, dict[str, Any]]:
        winners = self._winners(task, candidates, objective, feasible)
        won = winners[winners >= 0]
        if won.size == 0:
            j = int(np.flatnonzero(feasible)[np.argmin(candidates.mean_cost[feasible])])
            return j, {"wins": 0}
        votes = np.bincount(won, minlength=len(candidates))
        top = np.flatnonzero(votes == votes.max())
        j = int(top[np.argmin(candidates.mean_cost[top])])
        return j, {"wins": int(votes[j]), "resamples": self.resamples}

    def select(self, task: SelectionTask, objectives: Sequence[Objective]) -> list[Choice]:
        if self.prediction != PLUS632:
            return super().select(task, objectives)
        choices = replace(self, prediction="in-sample").choose(task, objectives)
        candidates = self.candidates(task)
        counts, _, _ = self._resampled(task, candidates)
        oob = counts == 0
        out = []
        for objective, choice in zip(objectives, choices, strict=True):
            feasible, _ = self.feasible(task, candidates, objective)
            winners = self._winners(task, candidates, objective, feasible)
            rows = np.flatnonzero((winners >= 0) & oob.any(axis=1))
            j = candidates.stages.index(choice.stages)
            apparent = candidates.accuracy[j]
            if rows.size == 0:
                shift = 0.0
            else:
                acc1 = float(np.mean([candidates.accuracy[winners[b], oob[b]].mean()
                                      for b in rows]))
                gamma = float(candidates.mean_accuracy[feasible].mean())
                top = apparent.mean()
                r = 0.0
                if top - gamma > TOLERANCE and acc1 < top:
                    r = min(1.0, max(0.0, (top - acc1) / (top - gamma)))
                w = 0.632 / (1.0 - 0.368 * r)
                shift = (1.0 - w) * top + w * min(acc1, top) - top
            estimate = interval_estimate(apparent, candidates.cost[j], task.seed,
                                         PLUS632_METHOD.format(n=self.resamples),
                                         shift=(shift, 0.0))
            out.append(replace(choice, predicted=estimate))
        return out
