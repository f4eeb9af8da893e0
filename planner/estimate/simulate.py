"""Whole-replicate simulation of plans (docs/method.md §3.4).

A plan whose stages share test lines has dependent stages, and the paper's own protocol
uses one loop index for all its models; neither is the independent-stage cascade formula.
Such plans are evaluated by running them on every replicate: each stage scored on its
replicate's draws (the same draws as the option tables), the first stage that accepts
answering.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..options import CascadePlan, StageOption
from ..profile import Profile
from ..vocabulary import SamplingMethod
from .draws import Draws, draw_subsets
from .replicates import ScoredStage, replicate_scores
from .sampling import EstimateError, Sampling, problem_index


@dataclass(frozen=True)
class Simulation:
    """Whole-replicate outcomes of a plan: per problem and replicate, accuracy (0/1) and
    cost ($), and which stage answered; [P, R] each."""

    correct: np.ndarray
    cost: np.ndarray
    answered_by: np.ndarray
    problems: np.ndarray


class PlanSimulator:
    """Whole-replicate simulation of many plans on the same problems and replicates.

    Each replicate r uses model m's replicate-r subsets (the same draws as
    :func:`~planner.estimate.option_tables`); a stage with ``share_tests`` also runs its
    solutions on the test lines the earlier stages paid for in that replicate; the first
    stage that accepts answers (the last always does). Paper loops: replicate r is loop r
    for every model, the paper's own protocol. Draws and each stage's scored outcome are
    cached (a bounded number of them) and θ is applied afterwards, so plans that differ in
    one stage or in a threshold cost little more than one. ``sampling`` is a
    :class:`Sampling`, or its method with ``replicates`` and ``seed``;
    :func:`simulate_plan` is one call of it.
    """

    def __init__(self, profile: Profile, problems: Sequence[int] | np.ndarray | None = None,
                 replicates: int | None = None, seed: int | None = None,
                 sampling: Sampling | SamplingMethod | str = SamplingMethod.RANDOM, *,
                 max_cached: int = 256) -> None:
        self.profile = profile
        self.problems = problem_index(profile, problems)
        self.sampling = Sampling.of(sampling, replicates, seed)
        self.max_cached = max(1, max_cached)
        self._draws: dict[tuple[int, int, int], Draws] = {}
        self._scored: dict[tuple, ScoredStage] = {}
        self._lines: dict[tuple[int, int, int, int], np.ndarray] = {}

    def _stage_draws(self, m: int, opt: StageOption) -> Draws:
        greedy_missing = bool((self.profile.greedy_solution[m][self.problems] < 0).any())
        key = (m, opt.k if opt.k >= 2 else int(greedy_missing), opt.t if opt.k >= 2 else 0)
        if key not in self._draws:
            self._draws[key] = draw_subsets(self.profile, m, self.problems, k_max=key[1],
                                            t_max=key[2], sampling=self.sampling)
        return self._draws[key]

    def _stage(self, m: int, opt: StageOption, earlier: tuple) -> ScoredStage:
        """The scored stage; ``earlier`` = (model, k, t, l) of the stages before it, which
        fixes the test lines a sharing stage sees."""
        key = (m, opt.k, opt.t, opt.l, opt.rule, opt.share_tests,
               earlier if opt.share_tests else ())
        hit = self._scored.pop(key, None)
        if hit is None:
            extra = None
            if opt.share_tests and earlier:
                extra = np.concatenate([self._own_lines(*e) for e in earlier], axis=2)
            hit = replicate_scores(self.profile, m, opt, self._stage_draws(m, opt), extra)
            _bounded_put(self._lines, (m, opt.k, opt.t, opt.l), hit.own_lines,
                         self.max_cached)
        _bounded_put(self._scored, key, hit, self.max_cached)
        return hit

    def _own_lines(self, m: int, k: int, t: int, n_l: int) -> np.ndarray:
        """The test-line ids [P, R, n] a stage (model m, k, t, l) paid for."""
        lines = self._lines.get((m, k, t, n_l))
        if lines is None:
            lines = self._stage(m, StageOption(k=k, t=t, l=n_l), ()).own_lines
        return lines

    def simulate(self, plan: CascadePlan) -> Simulation:
        """Per problem and replicate: correct, cost and which stage answered.
        EstimateError if the plan's models have different numbers of loops."""
        per_stage = []
        earlier: list[tuple[int, int, int, int]] = []
        for stage in plan.stages:
            m = self.profile.model_index(stage.model)
            opt = stage.option
            per_stage.append((self._stage(m, opt, tuple(earlier)), opt.theta))
            earlier.append((m, opt.k, opt.t, opt.l))
        shapes = {scored.score.shape for scored, _ in per_stage}
        if len(shapes) != 1:
            raise EstimateError("the models of this plan have different numbers of loops")
        shape = shapes.pop()
        open_ = np.ones(shape, dtype=bool)
        correct = np.zeros(shape, dtype=bool)
        cost = np.zeros(shape)
        answered = np.full(shape, -1, dtype=np.int64)
        last = len(per_stage) - 1
        for i, (scored, theta) in enumerate(per_stage):
            cost += np.where(open_, scored.cost, 0.0)
            take = open_ if i == last else open_ & scored.accept(theta)
            correct |= take & scored.correct
            answered[take] = i
            open_ &= ~take
        return Simulation(correct=correct, cost=cost, answered_by=answered,
                          problems=self.problems)


def _bounded_put(cache: dict, key: object, value: object, limit: int) -> None:
    """Insert as most recently used; drop the least recently used beyond ``limit``."""
    cache.pop(key, None)
    if len(cache) >= limit:
        cache.pop(next(iter(cache)))
    cache[key] = value


def simulate_plan(
    profile: Profile,
    plan: CascadePlan,
    problems: Sequence[int] | np.ndarray | None = None,
    replicates: int | None = None,
    seed: int | None = None,
    sampling: Sampling | SamplingMethod | str = SamplingMethod.RANDOM,
) -> Simulation:
    """Run ``plan`` on every replicate (see :class:`PlanSimulator`)."""
    return PlanSimulator(profile, problems, replicates, seed, sampling).simulate(plan)
