"""Chains: the space of plans split into one program per chain of models (docs/ilp.md §2).

A plan is a chain of models s_1 < … < s_m (profile order), each with one option: a mid
option (k != 0) on all but the last, a last option (k != 1) on the last. The space is the
disjoint union of its chains, so the optimum is the best chain optimum. Shared θ (the
paper's grid) adds one chain per θ value for chains with two or more mid stages (one mid
stage always satisfies it).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..space import SearchSpace
from .goal import Goal


@dataclass(frozen=True)
class ChainStage:
    """One stage of a chain: candidate table rows and their per-problem numbers, already
    divided by the number of problems P (so sums over problems are means): ``gain`` g
    (mid) or h (last), ``cost`` in cost units, ``pass_on`` 1 − a (zeros for a last
    stage); [O, P] each. ``model`` is the profile index (-1 for merged stages)."""

    model: int
    rows: np.ndarray
    gain: np.ndarray
    cost: np.ndarray
    pass_on: np.ndarray

    def take(self, keep: np.ndarray) -> ChainStage:
        return ChainStage(self.model, self.rows[keep], self.gain[keep], self.cost[keep],
                          self.pass_on[keep])


@dataclass(frozen=True)
class Chain:
    """A chain's stages (after the budget cut of its first stage), its first stage's
    option bounds and the multipliers that gave them most often."""

    stages: tuple[ChainStage, ...]
    first_bounds: np.ndarray
    multipliers: np.ndarray

    def bound(self, goal: Goal) -> float:
        """A bound on every plan of the chain: its loosest first-stage bound."""
        return goal.loosest(self.first_bounds)


class StageBank:
    """Each model's stage arrays per role (mid or last) and θ, made once and shared by
    every chain they appear in."""

    def __init__(self, space: SearchSpace, goal: Goal) -> None:
        self.space = space
        self.goal = goal
        self._made: dict[tuple, ChainStage] = {}

    def stage(self, i: int, last: bool, theta: float | None = None) -> ChainStage:
        """Model i's candidates in one role (mid stages of shared-θ chains: at θ)."""
        key = (i, last, None if last else theta)
        if key not in self._made:
            space = self.space
            table = space.tables[i]
            n_problems = space.n_problems
            cand = space.last[i] if last else space.mid[i]
            rows = cand.rows if theta is None or last else cand.rows[cand.theta == theta]
            gain = (table.correct if last else table.accept_correct)[rows] / n_problems
            pass_on = (np.zeros((rows.size, n_problems)) if last
                       else 1.0 - table.accept[rows])
            self._made[key] = ChainStage(i, rows, gain,
                                         table.cost[rows] / (self.goal.unit * n_problems),
                                         pass_on)
        return self._made[key]

    def first_stage(self, i: int, last: bool, theta: float | None = None) -> ChainStage:
        """The stage as a first stage: without the options no plan may start with."""
        key = (i, last, None if last else theta, "first")
        if key not in self._made:
            full = self.stage(i, last, theta)
            mean_cost = self.space.tables[i].cost[full.rows].mean(axis=1) / self.goal.unit
            fits = self.goal.first_stage_fits(mean_cost)
            self._made[key] = full if fits.all() else full.take(fits)
        return self._made[key]


def chains(bank: StageBank) -> Iterator[tuple[ChainStage, ...]]:
    """Every chain (and shared-θ value) as its stages, shortest first; chains with an empty
    stage are left out."""
    space = bank.space
    thetas = space.thetas()
    for size in range(1, space.n_models + 1):
        for models in itertools.combinations(range(space.n_models), size):
            per_theta: list[float | None] = [None]
            if space.shared_theta and size >= 3 and thetas.size:
                per_theta = list(thetas)
            for theta in per_theta:
                stages = [bank.first_stage(models[0], size == 1, theta)]
                stages += [bank.stage(i, j == size - 1, theta) for j, i in enumerate(models) if j]
                if all(s.rows.size for s in stages):
                    yield tuple(stages)
