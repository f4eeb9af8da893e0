"""Predictions for new problems: in sample, or corrected for selection.

:func:`in_sample_estimate` is today's statement: the chosen plan's mean on the planning
problems with a percentile-bootstrap interval (planner.intervals, the spec's
``predicted.planning``). Because the plan was chosen *for* being good on those problems,
it is optimistic (the winner's curse). The corrected statements live in
:mod:`.honest`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..cascade import cascade_per_problem
from ..intervals import bootstrap_ci
from .base import NewProblemEstimate, SelectionTask

#: Confidence of every stated interval (as the spec's).
CONFIDENCE = 0.95

IN_SAMPLE = "in-sample mean on the planning problems, percentile bootstrap over problems"


def _clip(value: float) -> float:
    """Accuracy within [0, 1] (the mean of probabilities can leave it by float noise)."""
    return float(min(1.0, max(0.0, value)))


def interval_estimate(accuracy: np.ndarray, cost: np.ndarray, seed: int, method: str,
                      shift: tuple[float, float] = (0.0, 0.0)) -> NewProblemEstimate:
    """Mean of per-problem ``accuracy`` and ``cost`` ([problems] each) plus ``shift``
    (a selection correction), with the percentile-bootstrap interval of the means shifted
    alike."""
    low, high = bootstrap_ci(np.stack([accuracy, cost], axis=1), confidence=CONFIDENCE,
                             seed=seed)
    da, dc = shift
    return NewProblemEstimate(
        accuracy=_clip(accuracy.mean() + da),
        accuracy_ci=(_clip(low[0] + da), _clip(high[0] + da)),
        cost=float(max(0.0, cost.mean() + dc)),
        cost_ci=(float(max(0.0, low[1] + dc)), float(max(0.0, high[1] + dc))),
        method=method, confidence=CONFIDENCE,
    )


def in_sample_estimate(task: SelectionTask, stages: Sequence[tuple[int, int]]
                       ) -> tuple[float, float, NewProblemEstimate]:
    """(planning accuracy, planning cost, the in-sample statement) of a plan."""
    acc, cost = cascade_per_problem([(task.planning.tables[i], r) for i, r in stages])
    estimate = interval_estimate(acc, cost, task.seed, IN_SAMPLE)
    return float(acc.mean()), float(cost.mean()), estimate
