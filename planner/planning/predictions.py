"""Predicted accuracy and cost of a plan on one part of a split, with intervals.

Two estimators, one output (:class:`~planner.spec.Prediction`):

- :func:`exact_prediction`: the exact cascade formula on the option tables' per-problem
  numbers, a percentile bootstrap over problems for the intervals;
- :func:`simulated_prediction`: whole-replicate simulation
  (:func:`~planner.estimate.estimate_plan`, the option tables' draws), for plans the exact
  formula does not cover (test sharing), with the Monte Carlo standard errors beside.

Accuracy is a fraction in [0, 1], cost $ per problem >= 0 (float noise at the edges is
clipped).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..options import CascadePlan
from ..profile import Profile
from ..search.space import SearchSpace
from ..search.stages import score_stages_per_problem
from ..spec import Prediction
from ..vocabulary import SplitPart

#: Confidence level of every predicted interval.
CONFIDENCE = 0.95


def _fraction(value: float) -> float:
    return float(min(1.0, max(0.0, value)))


def _cost(value: float) -> float:
    return float(max(0.0, value))


def exact_prediction(space: SearchSpace, stages: Sequence[tuple[int, int]], part: SplitPart,
                     seed: int) -> Prediction:
    """The exact formula's prediction of a plan given as (model, row) stages on the
    space's problems; accuracy and cost intervals from the same bootstrap resamples."""
    from ..intervals import bootstrap_ci

    acc, cost = score_stages_per_problem(space, stages)
    low, high = bootstrap_ci(np.stack([acc, cost], axis=1), confidence=CONFIDENCE, seed=seed)
    return Prediction(
        split=part, n_problems=int(acc.size), accuracy=_fraction(acc.mean()),
        accuracy_ci=(_fraction(low[0]), _fraction(high[0])), cost=_cost(cost.mean()),
        cost_ci=(_cost(low[1]), _cost(high[1])), confidence=CONFIDENCE,
    )


def simulated_prediction(profile: Profile, plan: CascadePlan, problems: np.ndarray,
                         part: SplitPart, *, replicates: int, seed: int,
                         sampling: str) -> Prediction:
    """The simulation's prediction of any plan (sharing ones included) on ``problems``,
    with the Monte Carlo standard errors of its means."""
    from ..estimate import estimate_plan

    est = estimate_plan(profile, plan, problems, replicates, seed, sampling,
                        confidence=CONFIDENCE)
    return Prediction(
        split=part, n_problems=len(est.problems), accuracy=_fraction(est.accuracy),
        accuracy_ci=(_fraction(est.accuracy_ci[0]), _fraction(est.accuracy_ci[1])),
        cost=_cost(est.cost), cost_ci=(_cost(est.cost_ci[0]), _cost(est.cost_ci[1])),
        confidence=CONFIDENCE, accuracy_mc_se=est.accuracy_mc_se, cost_mc_se=est.cost_mc_se,
    )
