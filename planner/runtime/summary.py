"""What a records file says about a spec: the summary ``codecascade run`` prints.

The summary reads the last record of each task (:func:`planner.records.latest_records`).
Only *finished* problems measure the cascade: accuracy (with ground truth; a Wilson
interval), mean cost in $ per problem (a percentile bootstrap interval over problems,
which stays inside the support: never below $0), billed cost, and how many problems each
stage reached and answered. Unfinished problems (an endpoint failed: not the models'
doing) are counted apart with their causes, and so are degraded answers.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..intervals import bootstrap_ci, wilson_interval
from ..records import latest_records


@dataclass(frozen=True)
class RunSummary:
    """The summary of a records file (see the module docstring). Costs are $ per problem;
    ``task_ids`` are the finished problems the accuracy and cost are about;
    ``unfinished_causes`` the distinct causes of the unfinished ones, most frequent first,
    with their counts."""

    n_problems: int
    n_finished: int
    n_answered: int
    n_with_truth: int
    n_correct: int
    accuracy: float | None
    accuracy_ci: tuple[float, float] | None
    cost: float
    cost_ci: tuple[float, float]
    billed_cost: float
    stage_reached: tuple[int, ...]
    stage_answered: tuple[int, ...]
    generation_errors: int
    latency_s: float
    n_degraded: int = 0
    task_ids: tuple[str, ...] = ()
    unfinished_causes: tuple[tuple[str, int], ...] = ()

    @property
    def n_unfinished(self) -> int:
        return self.n_problems - self.n_finished


def summarize(path: str | os.PathLike[str], n_stages: int, confidence: float = 0.95
              ) -> RunSummary:
    """Summary of the last record of every task in a records file."""
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + confidence / 2))
    latest = list(latest_records(path).values())
    records = [r for r in latest if r.finished]
    n = len(records)
    truth = [r.correct for r in records if r.correct is not None]
    n_correct = sum(truth)
    costs = np.array([r.cost for r in records], dtype=np.float64)
    if n:
        low, high = bootstrap_ci(costs, confidence=confidence)
        cost_ci = (max(0.0, float(low)), max(0.0, float(high)))
    else:
        cost_ci = (0.0, 0.0)
    reached = [0] * n_stages
    answered = [0] * n_stages
    errors = 0
    for r in latest:
        for s in r.stages[:n_stages]:
            errors += sum(x.failed for x in (*s.solutions, *s.tests))
    for r in records:
        for i in range(min(len(r.stages), n_stages)):
            reached[i] += 1
        if r.answer is not None and r.answer.stage < n_stages:
            answered[r.answer.stage] += 1
    causes = Counter(str(r.failure) for r in latest if not r.finished)
    return RunSummary(
        n_problems=len(latest),
        n_finished=n,
        n_answered=sum(r.answer is not None for r in records),
        n_with_truth=len(truth),
        n_correct=n_correct,
        accuracy=n_correct / len(truth) if truth else None,
        accuracy_ci=wilson_interval(n_correct, len(truth), z) if truth else None,
        cost=float(costs.mean()) if n else 0.0,
        cost_ci=cost_ci,
        billed_cost=float(np.mean([r.billed_cost for r in records])) if n else 0.0,
        stage_reached=tuple(reached),
        stage_answered=tuple(answered),
        generation_errors=errors,
        latency_s=float(np.mean([r.latency_s for r in records])) if n else 0.0,
        n_degraded=sum(r.degraded for r in latest),
        task_ids=tuple(r.task_id for r in records),
        unfinished_causes=tuple(causes.most_common()),
    )

