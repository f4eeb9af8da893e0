"""Honest statements for new problems: selection-corrected predictions and budget bounds.

**Predictions** (:class:`PredictionMethod`). The in-sample mean of the chosen plan is
optimistic, because the plan was chosen for being good on those very problems (Smith &
Winkler 2006). Two corrections, both from inner cross-validation over the planning
problems (``folds`` × ``repeats``; the whole selection, search included, is re-run on each
inner training part):

* ``nested`` — the mean, over planning problems, of the accuracy and cost that the plan
  chosen *without* a problem has on it (each problem is out of fold once per repeat):
  nested cross-validation's estimate of the selection procedure (Varma & Simon 2006;
  Cawley & Talbot 2010). Its training parts are (k−1)/k of the planning problems, so it
  is slightly pessimistic.
* ``corrected`` — the chosen plan's in-sample mean minus the optimism measured on the
  inner folds (in-fold minus out-of-fold mean of each inner choice), in the spirit of
  Tibshirani & Tibshirani (2009) and Efron's optimism bootstrap.
* ``632`` and ``632plus`` — Efron's .632 weighting and Efron & Tibshirani's (1997) .632+
  weighting of the optimistic in-sample numbers and the pessimistic out-of-sample ones
  (here the nested out-of-fold numbers): w = .632, or w = .632 / (1 − .368 R) with the
  relative overfitting rate
  R = (in-sample − out-of-fold) / (in-sample − γ) clipped to [0, 1] and the no-information
  accuracy γ = the mean accuracy of the front plans that fit the budget (a choice made
  without information); the statement is the mean of (1 − w)·in-sample + w·out-of-fold per
  problem, for accuracy and cost alike.

Either interval is the percentile bootstrap interval over planning problems of the
per-problem numbers the point estimate is the mean of, shifted with it.

**Budget confidence.** :func:`cost_bounds` gives every candidate plan the
``confidence``-quantile of its mean cost over bootstrap resamples of the planning problems
(a one-sided upper bound); a plan is within budget "with confidence P" when that bound is
at most the budget.

**Deadlines.** Under a task's deadline (:class:`~.base.SelectionTask`) the inner
cross-validation raises :class:`~planner.search.deadline.OutOfTime` when the deadline
passes before its last fold (or an inner fold's candidates were cut short): a statement
made of some folds only would not be the one asked for, so the caller falls back to the
in-sample statement and says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from .. import progress
from ..cascade import cascade_per_problem
from ..search.deadline import OutOfTime
from ..search.objective import TOLERANCE, Objective
from .base import Choice, NewProblemEstimate, SelectionTask, Selector
from .candidates import CandidateSet
from .predict import in_sample_estimate, interval_estimate
from .resampling import bootstrap_counts, inner_folds

#: Bootstrap resamples behind a cost bound.
COST_BOOTSTRAP = 2000

NESTED = ("nested cross-validation over the planning problems ({folds}x{repeats}): "
          "out-of-fold accuracy and cost of the plans chosen without each problem")
CORRECTED = ("in-sample mean minus the optimism of the choices on inner folds "
             "({folds}x{repeats}, Tibshirani & Tibshirani 2009)")
PLUS632 = ("{name} weighting (w = {w:.3f}, Efron & Tibshirani 1997) of the in-sample numbers "
           "and the nested cross-validation ({folds}x{repeats}) out-of-fold numbers")


class PredictionMethod(StrEnum):
    IN_SAMPLE = "in-sample"
    NESTED = "nested"
    CORRECTED = "corrected"
    P632 = "632"
    PLUS632 = "632plus"


def cost_bounds(candidates: CandidateSet, confidence: float, seed: int) -> np.ndarray:
    """[plans] upper ``confidence``-quantile of each plan's mean cost over bootstrap
    resamples of the problems ($ per problem)."""
    counts = bootstrap_counts(candidates.n_problems, COST_BOOTSTRAP, seed)
    means = counts @ candidates.cost.T / candidates.n_problems
    return np.quantile(means, confidence, axis=0)


@dataclass(frozen=True)
class NestedOutcome:
    """What inner cross-validation saw, per objective: the out-of-fold per-problem accuracy
    and cost ([objectives, problems], averaged over repeats), and the mean in-fold minus
    out-of-fold accuracy and cost of the inner choices (the optimism, [objectives])."""

    accuracy: np.ndarray
    cost: np.ndarray
    accuracy_optimism: np.ndarray
    cost_optimism: np.ndarray


def nested_outcome(selector: Selector, task: SelectionTask, objectives: Sequence[Objective],
                   folds: int, repeats: int) -> NestedOutcome:
    """Run ``selector`` (in-sample, no nesting of its own) on every inner training part of
    ``task`` and score its choices on the inner test part (see the module docstring).
    OutOfTime when the task's deadline passes before every fold is done."""
    n, m = task.n_problems, len(objectives)
    acc = np.zeros((m, n))
    cost = np.zeros((m, n))
    acc_gap = np.zeros(m)
    cost_gap = np.zeros(m)
    splits = inner_folds(n, folds, repeats, task.seed)
    tables = task.planning.tables
    with progress.task("inner folds", total=len(splits), unit="fold") as step:
        for i, (train, test) in enumerate(splits):
            if task.expired():
                raise OutOfTime
            sub = task.restrict(train, key=("cv", folds, repeats, i))
            choices = selector.select(sub, objectives)
            if not all(c.complete for c in choices):
                raise OutOfTime
            for o, choice in enumerate(choices):
                a, c = cascade_per_problem([(tables[t], r) for t, r in choice.stages])
                a, c = a[test], c[test]
                acc[o, test] += a / repeats
                cost[o, test] += c / repeats
                acc_gap[o] += (choice.planning_accuracy - a.mean()) / len(splits)
                cost_gap[o] += (choice.planning_cost - c.mean()) / len(splits)
            step.advance()
    return NestedOutcome(acc, cost, acc_gap, cost_gap)


def honest_estimates(method: PredictionMethod, selector: Selector, task: SelectionTask,
                     objectives: Sequence[Objective], choices: Sequence[Choice], *,
                     folds: int, repeats: int, plans: Callable[[], CandidateSet]
                     ) -> list[NewProblemEstimate]:
    """The statement for new problems of each choice by ``method``; ``selector`` must be
    the in-sample version of the selector that made ``choices``; ``plans()`` gives the
    candidates the no-information accuracy of ``632plus`` averages over (computed only
    for ``632plus``). OutOfTime when the task's deadline cuts the work short."""
    if method is PredictionMethod.IN_SAMPLE:
        return [in_sample_estimate(task, c.stages)[2] for c in choices]
    inner = nested_outcome(selector, task, objectives, folds, repeats)
    out = []
    for o, (objective, choice) in enumerate(zip(objectives, choices, strict=True)):
        if method is PredictionMethod.NESTED:
            out.append(interval_estimate(inner.accuracy[o], inner.cost[o], task.seed,
                                         NESTED.format(folds=folds, repeats=repeats)))
            continue
        a, c = cascade_per_problem([(task.planning.tables[t], r) for t, r in choice.stages])
        if method is PredictionMethod.CORRECTED:
            out.append(interval_estimate(a, c, task.seed,
                                         CORRECTED.format(folds=folds, repeats=repeats),
                                         shift=(-inner.accuracy_optimism[o],
                                                -inner.cost_optimism[o])))
            continue
        w = 0.632
        if method is PredictionMethod.PLUS632:
            front = plans()
            if not front.complete:
                raise OutOfTime
            w = plus632_weight(float(a.mean()), float(inner.accuracy[o].mean()),
                               no_information_accuracy(front, objective))
        name = "." + method.value.replace("plus", "+")
        out.append(interval_estimate((1 - w) * a + w * inner.accuracy[o],
                                     (1 - w) * c + w * inner.cost[o], task.seed,
                                     PLUS632.format(name=name, w=w, folds=folds,
                                                    repeats=repeats)))
    return out


def no_information_accuracy(front: CandidateSet, objective: Objective) -> float:
    """γ of the .632+ rule: the mean accuracy of the candidate plans that fit the objective
    (a plan picked without information among those that qualify)."""
    if objective.is_budget:
        fits = front.mean_cost <= objective.budget + TOLERANCE
    else:
        fits = front.mean_accuracy >= objective.target_accuracy - TOLERANCE
    if not fits.any():
        fits = front.mean_cost <= front.mean_cost.min() + TOLERANCE
    return float(front.mean_accuracy[fits].mean())


def plus632_weight(apparent: float, out_of_sample: float, gamma: float) -> float:
    """Weight of the out-of-sample accuracy in the .632+ estimate (Efron & Tibshirani 1997,
    with accuracies instead of error rates): .632 / (1 − .368 R)."""
    r = 0.0
    if apparent - gamma > TOLERANCE and out_of_sample < apparent:
        r = min(1.0, max(0.0, (apparent - out_of_sample) / (apparent - gamma)))
    return 0.632 / (1.0 - 0.368 * r)
