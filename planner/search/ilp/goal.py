"""The objective's direction, in one place: what the programs optimise and what they limit.

With a budget the integer program maximises accuracy with mean cost <= budget; with a
target accuracy it minimises cost with mean accuracy >= target (docs/ilp.md §1). Every
difference between the two — which quantity is the objective and which the limit, which
bound is tighter, when a bound may beat the incumbent, the Lagrangian weights, the cutoff
and restart targets, the gap — is a method of :class:`Goal`, implemented once for each
direction. Costs are in *cost units* (``unit`` $ per problem, the priciest option's mean
cost) so that coefficients stay near 1; accuracies are fractions.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, TypeVar

import numpy as np

from ..objective import TOLERANCE, Objective
from ..space import SearchSpace

_T = TypeVar("_T")

#: Slack on bounds when pruning against the incumbent, so rounding never drops a tie.
BOUND_SLACK = 1e-9
#: Restarts stop HiGHS at the first plan that beats the incumbent by this much.
RESTART_GAIN = 1e-6


@dataclass(frozen=True)
class Incumbent:
    """The best plan found so far: (model index, table row) stages in cascade order, its
    mean accuracy (fraction) and mean cost ($ per problem)."""

    stages: tuple[tuple[int, int], ...]
    accuracy: float
    cost: float


def cost_unit(space: SearchSpace) -> float:
    """Costs in units of the priciest option's mean cost keep coefficients near 1."""
    return max(float(t.cost.mean(axis=1).max()) for t in space.tables) or 1.0


@dataclass(frozen=True)
class Goal(ABC):
    """One direction of the search; ``objective`` is what the programs are asked (it may be
    tighter than the user's objective after a plan overshot it by solver tolerance)."""

    objective: Objective
    unit: float

    #: Whether the programs maximise (accuracy) or minimise (cost).
    maximise: ClassVar[bool]

    @staticmethod
    def of(objective: Objective, unit: float) -> Goal:
        return MostAccurate(objective, unit) if objective.is_budget else Cheapest(objective, unit)

    @abstractmethod
    def value(self, incumbent: Incumbent) -> float:
        """The incumbent's objective value: accuracy, or cost in cost units."""

    @abstractmethod
    def weights(self, s: float) -> tuple[float, float]:
        """(α, β) of the Lagrangian α·accuracy − β·cost for multiplier ``s``."""

    @abstractmethod
    def as_bound(self, alpha: float, beta: float, value: np.ndarray) -> np.ndarray:
        """A relaxed maximum of α·acc − β·cost turned into a bound on the objective."""

    @abstractmethod
    def tightest(self, a: np.ndarray | None, b: np.ndarray) -> np.ndarray:
        """The tighter of two bounds (``a`` may be None)."""

    @abstractmethod
    def tightest_index(self, stacked: np.ndarray) -> np.ndarray:
        """Per column of ``stacked`` bounds, the row of the tightest."""

    @abstractmethod
    def promise(self, bound: float) -> float:
        """Larger for a bound further in the objective's favour (a sort key)."""

    @abstractmethod
    def may_beat(self, bound, incumbent: Incumbent):
        """Can a plan with this bound (or array of bounds) beat or tie the incumbent?"""

    @abstractmethod
    def cutoff_row(self, incumbent: Incumbent) -> tuple[float, float]:
        """(low, high) of the objective row: a plan must beat or tie the incumbent."""

    @abstractmethod
    def limit_row(self) -> tuple[float, float]:
        """(low, high) of the row that holds the limit (cost, or accuracy)."""

    @abstractmethod
    def restart_target(self, incumbent: Incumbent) -> float:
        """HiGHS's objective target: the first plan better than the incumbent by a hair."""

    @abstractmethod
    def unbounded(self) -> float:
        """A bound that holds for every plan."""

    @abstractmethod
    def order(self, accuracy: _T, cost: _T) -> tuple[_T, _T]:
        """(objective, limit) of anything given for accuracy and for cost."""

    @abstractmethod
    def tightened(self, original: Objective, accuracy: float, cost: float) -> Goal:
        """The goal asked again after a plan of this accuracy and cost ($ per problem)
        missed the ``original`` limit by solver tolerance: twice the miss tighter."""

    def first_stage_fits(self, mean_cost: np.ndarray) -> np.ndarray:
        """Which first-stage options (mean cost in cost units) a plan may start with."""
        return np.ones(mean_cost.shape, dtype=bool)

    @abstractmethod
    def loosest(self, bounds: Sequence[float] | np.ndarray) -> float:
        """The bound furthest in the objective's favour (what an open search may reach)."""

    def gap(self, incumbent: Incumbent, open_bounds: Sequence[float]) -> float:
        """Relative gap between the incumbent and the loosest open bound (0 if none)."""
        if not open_bounds:
            return 0.0
        value = self.value(incumbent)
        worst = self.loosest(open_bounds)
        return max(0.0, self.promise(worst) - self.promise(value)) / max(abs(value), 1e-12)


@dataclass(frozen=True)
class MostAccurate(Goal):
    """Maximise accuracy with mean cost <= budget."""

    maximise: ClassVar[bool] = True

    @property
    def budget(self) -> float:
        """The budget in cost units."""
        return self.objective.budget / self.unit

    def value(self, incumbent: Incumbent) -> float:
        return incumbent.accuracy

    def weights(self, s: float) -> tuple[float, float]:
        budget = self.budget
        return 1.0, (s / budget if budget > 0 else s)

    def as_bound(self, alpha: float, beta: float, value: np.ndarray) -> np.ndarray:
        """Every plan within the budget has accuracy <= (acc − β·cost) + β·budget."""
        return value + beta * self.objective.budget / self.unit

    def tightest(self, a: np.ndarray | None, b: np.ndarray) -> np.ndarray:
        return b if a is None else np.minimum(a, b)

    def tightest_index(self, stacked: np.ndarray) -> np.ndarray:
        return stacked.argmin(axis=0)

    def promise(self, bound: float) -> float:
        return bound

    def loosest(self, bounds: Sequence[float] | np.ndarray) -> float:
        return float(np.max(bounds))

    def may_beat(self, bound, incumbent: Incumbent):
        return bound >= incumbent.accuracy - BOUND_SLACK

    def cutoff_row(self, incumbent: Incumbent) -> tuple[float, float]:
        return incumbent.accuracy - BOUND_SLACK, np.inf

    def limit_row(self) -> tuple[float, float]:
        return -np.inf, self.budget

    def restart_target(self, incumbent: Incumbent) -> float:
        return incumbent.accuracy + RESTART_GAIN

    def unbounded(self) -> float:
        return 1.0

    def order(self, accuracy: _T, cost: _T) -> tuple[_T, _T]:
        return accuracy, cost

    def tightened(self, original: Objective, accuracy: float, cost: float) -> Goal:
        del accuracy
        return MostAccurate(Objective(budget=max(
            0.0, self.objective.budget - 2 * (cost - original.budget) - TOLERANCE)), self.unit)

    def first_stage_fits(self, mean_cost: np.ndarray) -> np.ndarray:
        """The first stage sees reach 1 and costs never go negative: an option over the
        budget cannot start a plan within it."""
        return mean_cost <= self.budget + TOLERANCE


@dataclass(frozen=True)
class Cheapest(Goal):
    """Minimise cost with mean accuracy >= target."""

    maximise: ClassVar[bool] = False

    def value(self, incumbent: Incumbent) -> float:
        return incumbent.cost / self.unit

    def weights(self, s: float) -> tuple[float, float]:
        return s * 100.0, 1.0

    def as_bound(self, alpha: float, beta: float, value: np.ndarray) -> np.ndarray:
        """Every plan reaching the target costs >= α·target − (α·acc − cost)."""
        return alpha * self.objective.target_accuracy - value

    def tightest(self, a: np.ndarray | None, b: np.ndarray) -> np.ndarray:
        return b if a is None else np.maximum(a, b)

    def tightest_index(self, stacked: np.ndarray) -> np.ndarray:
        return stacked.argmax(axis=0)

    def promise(self, bound: float) -> float:
        return -bound

    def loosest(self, bounds: Sequence[float] | np.ndarray) -> float:
        return float(np.min(bounds))

    def may_beat(self, bound, incumbent: Incumbent):
        return bound <= incumbent.cost / self.unit + BOUND_SLACK

    def cutoff_row(self, incumbent: Incumbent) -> tuple[float, float]:
        return -np.inf, incumbent.cost / self.unit + BOUND_SLACK

    def limit_row(self) -> tuple[float, float]:
        return self.objective.target_accuracy, np.inf

    def restart_target(self, incumbent: Incumbent) -> float:
        return incumbent.cost / self.unit * (1.0 - RESTART_GAIN)

    def unbounded(self) -> float:
        return 0.0

    def order(self, accuracy: _T, cost: _T) -> tuple[_T, _T]:
        return cost, accuracy

    def tightened(self, original: Objective, accuracy: float, cost: float) -> Goal:
        del cost
        return Cheapest(Objective(target_accuracy=min(1.0, self.objective.target_accuracy + 2 * (
            original.target_accuracy - accuracy) + TOLERANCE)), self.unit)
