"""The one-standard-error rule on paired, problem-level differences.

Among the plans that fit the budget, take the most accurate one on the planning problems
(the naive choice, b). For every other fitting plan j the per-problem difference
d_j(p) = acc_b(p) − acc_j(p) is paired (the same problems), so its standard error
se_j = sd_p(d_j) / sqrt(P) measures how well the problems tell the two plans apart. Every
plan whose mean difference is within ``multiplier`` standard errors of the best is
statistically indistinguishable from it; of those the rule takes the cheapest (the
"simplest model within one standard error of the best" of Breiman et al. 1984 and Hastie,
Tibshirani & Friedman, The Elements of Statistical Learning, §7.10), which pays less for
accuracy the planning problems cannot confirm.

``tune=True`` chooses ``multiplier`` from (0, 0.5, 1, 1.5, 2) by inner cross-validation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..search.objective import Objective
from .base import SelectionError, SelectionTask
from .candidate_selector import CandidateSelector
from .candidates import CandidateSet
from .naive import best_on_front


@dataclass(frozen=True)
class OneStandardError(CandidateSelector):
    """The cheapest plan within ``multiplier`` paired standard errors of the best."""

    name = "one-se"
    summary = "cheapest plan within k paired standard errors of the best (Breiman et al.)"
    knob = "multiplier"
    knob_grid = (0.0, 0.5, 1.0, 1.5, 2.0)
    multiplier: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not (np.isfinite(self.multiplier) and self.multiplier >= 0):
            raise SelectionError(f"multiplier must be >= 0, got {self.multiplier}")

    def pick(self, task: SelectionTask, candidates: CandidateSet, objective: Objective,
             feasible: np.ndarray) -> tuple[int, dict[str, Any]]:
        best = best_on_front(candidates, objective, feasible)
        if best is None:
            best = int(np.flatnonzero(feasible)[np.argmax(candidates.mean_accuracy[feasible])])
        rows = np.flatnonzero(feasible)
        diff = candidates.accuracy[best] - candidates.accuracy[rows]
        n = candidates.n_problems
        se = diff.std(axis=1, ddof=1) / np.sqrt(n) if n > 1 else np.zeros(rows.size)
        within = rows[diff.mean(axis=1) <= self.knob_value() * se + 1e-12]
        cost = candidates.mean_cost[within]
        j = int(within[np.argmin(cost)])
        return j, {"within_se": int(within.size), "best": candidates.stages[best]}
