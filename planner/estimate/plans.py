"""A plan's estimated accuracy and cost, with intervals (docs/method.md §3.3–3.5).

A plan of independent stages under random subsets is scored by the exact cascade formula
(:func:`planner.cascade.cascade_arrays`) on its stages' a, g, h, c; a plan that shares test
lines between stages, and the paper's own loop protocol (one loop index for all models),
by whole-replicate simulation (:mod:`planner.estimate.simulate`). Every estimate carries
percentile-bootstrap intervals over problems (:mod:`planner.intervals`) and the Monte
Carlo standard errors beside them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..cascade import cascade_arrays
from ..intervals import INTERVAL_KIND, bootstrap_ci
from ..options import CascadePlan
from ..profile import Profile
from ..vocabulary import SamplingMethod
from .outcomes import stage_outcomes
from .sampling import Sampling, problem_index
from .simulate import simulate_plan


@dataclass(frozen=True)
class PlanEstimate:
    """A plan's estimated mean accuracy (fraction) and cost ($ per problem) on some
    problems, with confidence intervals from resampling problems (``interval`` names the
    kind), Monte Carlo standard errors, per-problem values and each stage's reach (share
    of problems that get to it)."""

    plan: CascadePlan
    accuracy: float
    cost: float
    accuracy_ci: tuple[float, float]
    cost_ci: tuple[float, float]
    accuracy_mc_se: float
    cost_mc_se: float
    per_problem_accuracy: np.ndarray
    per_problem_cost: np.ndarray
    stage_reach: tuple[float, ...]
    problems: tuple[str, ...]
    method: str
    interval: str
    confidence: float
    replicates: int
    seed: int

    def to_json(self) -> dict[str, object]:
        return {
            "plan": self.plan.label(),
            "accuracy": self.accuracy,
            "accuracy_ci": list(self.accuracy_ci),
            "accuracy_mc_se": self.accuracy_mc_se,
            "cost_per_problem": self.cost,
            "cost_per_problem_ci": list(self.cost_ci),
            "cost_per_problem_mc_se": self.cost_mc_se,
            "stage_reach": list(self.stage_reach),
            "n_problems": len(self.problems),
            "method": self.method,
            "interval": self.interval,
            "confidence": self.confidence,
            "replicates": self.replicates,
            "seed": self.seed,
        }


def estimate_plan(
    profile: Profile,
    plan: CascadePlan,
    problems: Sequence[int] | np.ndarray | None = None,
    replicates: int | None = None,
    seed: int | None = None,
    sampling: Sampling | SamplingMethod | str = SamplingMethod.RANDOM,
    *,
    confidence: float = 0.95,
    n_boot: int = 2000,
) -> PlanEstimate:
    """Accuracy and cost of ``plan`` on ``problems`` (profile indices; all for None) with
    intervals (see the module docstring); ``sampling`` is a :class:`Sampling`, or its
    method with ``replicates`` and ``seed``.

    Independent stages under random sampling: the exact cascade formula on the stages'
    a, g, h, c (the numbers :func:`~planner.estimate.option_tables` gives); its Monte Carlo
    SE is estimated from the replicate-matched cascade (conservative). Test sharing or the
    paper's loops: whole-replicate simulation, averaged (for the loops this is exact, SE
    0). EstimateError or ProfileError on bad problems, models or recordings.
    """
    sampling = Sampling.of(sampling, replicates, seed)
    idx = problem_index(profile, problems)
    for stage in plan.stages:
        profile.model_index(stage.model)
    sharing = any(s.option.share_tests for s in plan.stages)
    if sharing or not sampling.is_random:
        sim = simulate_plan(profile, plan, idx, sampling=sampling)
        acc_p = sim.correct.mean(axis=1)
        cost_p = sim.cost.mean(axis=1)
        n_r = sim.correct.shape[1]
        reach = tuple(float((sim.answered_by >= i).mean()) for i in range(len(plan.stages)))
        if not sampling.is_random:
            acc_se = cost_se = 0.0
            method = "paper loops: per-loop cascade, averaged over loops"
        else:
            acc_se = _replicate_se(sim.correct.mean(axis=0))
            cost_se = _replicate_se(sim.cost.mean(axis=0))
            method = "whole-replicate simulation (test sharing)"
    else:
        outcomes = [stage_outcomes(profile, profile.model_index(stage.model), [stage.option],
                                   idx, sampling=sampling, keep_replicates=True)
                    for stage in plan.stages]
        acc_p, cost_p, reach_p = cascade_arrays(
            [(o.accept[0], o.accept_correct[0], o.correct[0], o.cost[0]) for o in outcomes])
        reach = tuple(float(r.mean()) for r in reach_p)
        rep = [(o.replicate_accept[0], o.replicate_accept[0] & o.replicate_correct[0],
                o.replicate_correct[0], o.replicate_cost[0]) for o in outcomes]
        n_r = max(o.replicate_accept.shape[2] for o in outcomes)
        if n_r > 1 and any(s.option.k >= 2 for s in plan.stages):
            rep_acc, rep_cost, _ = cascade_arrays(rep)
            acc_se = _replicate_se(rep_acc.mean(axis=0))
            cost_se = _replicate_se(rep_cost.mean(axis=0))
        else:
            acc_se = cost_se = 0.0
        method = "exact cascade formula (independent stages)"
    both = np.stack([acc_p, cost_p], axis=1)
    lo, hi = bootstrap_ci(both, confidence=confidence, n_boot=n_boot, seed=sampling.seed)
    return PlanEstimate(
        plan=plan, accuracy=float(acc_p.mean()), cost=float(cost_p.mean()),
        accuracy_ci=(float(lo[0]), float(hi[0])), cost_ci=(float(lo[1]), float(hi[1])),
        accuracy_mc_se=float(acc_se), cost_mc_se=float(cost_se),
        per_problem_accuracy=acc_p, per_problem_cost=cost_p, stage_reach=reach,
        problems=tuple(profile.problems[i] for i in idx), method=method,
        interval=INTERVAL_KIND, confidence=confidence, replicates=n_r, seed=sampling.seed,
    )


def _replicate_se(per_replicate_means: np.ndarray) -> float:
    """SE of the mean of replicate-level means."""
    n = per_replicate_means.size
    return float(per_replicate_means.std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0
