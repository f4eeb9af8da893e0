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

The target need not be the option mean. With ``rank = r > 0`` each quantity is shrunk
toward the option's mean plus the best rank-r approximation of all options' centred
per-problem values (a factor model of problem difficulty, each option with its own
loading; :func:`difficulty_target`). Toward the mean, a problem that every model finds
hard looks average to every stage, so a cascade's stages seem to fail on unrelated
problems and the cascade is overrated against a strong single model; toward a
difficulty factor, a problem hard for one model stays hard for the others and only the
noise around that shared structure is shrunk away. ``keep=0, rank=1`` is ``plan``'s
default (benchmarks/bench_heldout.py: it loses less to the single-model plan at high
budgets; docs/selection.md).

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
from ..search.blas import single_threaded_blas
from ..search.objective import TOLERANCE, Objective
from ..search.space import SearchSpace
from .base import SelectionError, SelectionTask
from .candidate_selector import CandidateSelector
from .candidates import CandidateSet, CandidateSource, family_candidates


def difficulty_target(arrays: list[np.ndarray], rank: int) -> list[np.ndarray]:
    """The shrinkage target of one quantity (a, g or h) of every option table: each
    option's mean over the problems plus the best rank-``rank`` approximation (truncated
    SVD, Eckart–Young) of the options' centred per-problem values stacked over all models
    ([options, problems] per table in, the same shapes out, clipped to [0, 1]). ``rank=0``
    is each option's mean; ``rank=1`` keeps one problem-difficulty factor with a loading
    per option, so a problem hard for one model stays hard for the others."""
    stacked = np.vstack(arrays)
    mean = stacked.mean(axis=1, keepdims=True)
    target = np.broadcast_to(mean, stacked.shape).copy()
    if rank > 0:
        centred = stacked - mean
        with single_threaded_blas():  # small products: threads only contend
            # the top right singular vectors are the top eigenvectors of the
            # [problems, problems] Gram matrix; projecting on them is the truncated SVD
            _, vectors = np.linalg.eigh(centred.T @ centred)
            top = vectors[:, ::-1][:, :min(rank, centred.shape[1])]
            target += (centred @ top) @ top.T
    np.clip(target, 0.0, 1.0, out=target)
    bounds = np.cumsum([a.shape[0] for a in arrays])[:-1]
    return np.split(target, bounds)


def shrunk_space(space: SearchSpace, keep: float, rank: int = 0) -> SearchSpace:
    """``space`` with every option's per-problem a, g, h shrunk by ``keep`` toward
    :func:`difficulty_target` of rank ``rank`` (costs unchanged); g stays at most a and h."""
    tables = space.tables

    def shrunk(name: str) -> list[np.ndarray]:
        values = [getattr(t, name) for t in tables]
        return [keep * x + (1.0 - keep) * t
                for x, t in zip(values, difficulty_target(values, rank), strict=True)]

    accept, correct, both = shrunk("accept"), shrunk("correct"), shrunk("accept_correct")
    out = tuple(OptionTable(model=t.model, options=t.options, accept=a,
                            accept_correct=np.minimum(g, np.minimum(a, h)), correct=h,
                            cost=t.cost, problems=t.problems, accuracy_se=t.accuracy_se)
                for t, a, g, h in zip(tables, accept, both, correct, strict=True))
    return SearchSpace(out, space.shared_theta)


@dataclass(frozen=True)
class Shrinkage(CandidateSelector):
    """The most accurate plan by shrunk per-problem estimates whose true cost fits."""

    name = "shrinkage"
    summary = ("best plan by per-problem estimates shrunk toward each option's mean, or "
               "toward a problem-difficulty model (rank)")
    knob = "keep"
    knob_grid = (0.0, 0.25, 0.5, 1.0)
    supports_target_accuracy = True
    keep: float = 0.25
    rank: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.keep <= 1.0:
            raise SelectionError(f"keep must be in [0, 1], got {self.keep}")
        if self.rank < 0:
            raise SelectionError(f"rank must be >= 0, got {self.rank}")

    def candidates(self, task: SelectionTask, objectives: Sequence[Objective]
                   ) -> CandidateSet:
        keep = float(self.knob_value())
        if keep == 1.0:
            return super().candidates(task, objectives)
        space = task.memo(("shrunk-space", keep, self.rank),
                          lambda: shrunk_space(task.planning, keep, self.rank))
        if task.source is CandidateSource.FRONT:
            return task.memo(("shrunk", keep, self.rank), lambda: family_candidates(
                task.planning, task.family, scored_on=space, deadline=task.deadline))
        shrunk = task.memo(("shrunk-task", keep, self.rank), lambda: replace(
            task, planning=space, _inner={}, _memo={}))
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
