"""What every search method shares: the search space, the result type and the registry.

The search space is a list of :class:`~planner.cascade.OptionTable` in the profile's model
order (cheapest first). A plan picks, per model, either nothing (skip) or one option row;
the chosen models form the cascade in that order. Mid stages (all but the last) need an
option that can have a successor (k != 0), the last stage an option that can end a cascade
(k != 1). With ``shared_theta`` (the paper's grid), every mid stage with k >= 1 uses one and
the same θ (the last stage's θ has no effect on its answer).

:class:`SearchSpace` precomputes what all methods need: for every model the mid-stage and
last-stage candidate rows, with rows whose per-problem quantities are identical collapsed
to one (an exact reduction: identical rows give identical cascades).
"""

from __future__ import annotations

import contextlib
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..cascade import OptionTable, cascade_mean, cascade_per_problem
from ..errors import CodecascadeError
from ..options import CascadePlan, Stage

#: Absolute tolerance on mean accuracy and cost when comparing plans and budgets.
TOLERANCE = 1e-9


class SearchError(CodecascadeError, ValueError):
    """The search cannot be run as asked (bad budget, empty space, ...); one line."""


class BudgetTooLowError(SearchError):
    """No plan fits the budget; the message names the cheapest possible plan's cost."""


@dataclass(frozen=True)
class Candidates:
    """Rows of one model's table usable in one role, with identical rows collapsed.

    ``rows`` are representative table rows; ``theta`` is each row's θ (NaN where θ has no
    effect: k = 0). For the last role only ``correct`` and ``cost`` matter; for the mid role
    ``accept``, ``accept_correct`` and ``cost``.
    """

    rows: np.ndarray
    theta: np.ndarray


def _unique_rows(arrays: Sequence[np.ndarray], rows: np.ndarray) -> np.ndarray:
    """The first row of every group of rows that are identical in all ``arrays``."""
    if rows.size == 0:
        return rows
    stacked = np.concatenate([a[rows] for a in arrays], axis=1)
    stacked = np.ascontiguousarray(stacked)
    view = stacked.view(np.dtype((np.void, stacked.dtype.itemsize * stacked.shape[1])))
    _, first = np.unique(view.ravel(), return_index=True)
    return rows[np.sort(first)]


@dataclass(frozen=True, eq=False)
class SearchSpace:
    """The option tables of a search plus the per-model candidate rows of each role."""

    tables: tuple[OptionTable, ...]
    shared_theta: bool
    mid: tuple[Candidates, ...] = field(init=False)
    last: tuple[Candidates, ...] = field(init=False)

    def __post_init__(self) -> None:
        if not self.tables:
            raise SearchError("no option tables to search")
        n = self.tables[0].n_problems
        if n == 0:
            raise SearchError("the option tables cover no problems")
        names = [t.model for t in self.tables]
        if len(set(names)) != len(names):
            raise SearchError(f"duplicate models in the search space: {names}")
        mid, last = [], []
        for table in self.tables:
            if table.n_problems != n:
                raise SearchError("option tables must cover the same problems")
            for name in ("accept", "accept_correct", "correct", "cost"):
                arr = getattr(table, name)
                if not np.isfinite(arr).all():
                    raise SearchError(f"option table {table.model!r}: {name} is not finite")
            if (table.cost < 0).any():
                raise SearchError(f"option table {table.model!r} has negative costs")
            k = np.array([o.k for o in table.options], dtype=np.int64)
            theta = np.array([np.nan if o.k == 0 else o.theta for o in table.options])
            mid_rows = np.flatnonzero(k != 0)
            if self.shared_theta:
                # collapse only within one θ so that every θ keeps its own rows
                groups = [mid_rows[theta[mid_rows] == v] for v in np.unique(theta[mid_rows])]
            else:
                groups = [mid_rows]
            mid_rows = np.concatenate(
                [_unique_rows((table.accept, table.accept_correct, table.cost), g)
                 for g in groups] or [np.zeros(0, dtype=np.int64)]
            )
            mid_rows = np.sort(mid_rows)
            last_rows = _unique_rows((table.correct, table.cost), np.flatnonzero(k != 1))
            mid.append(Candidates(mid_rows, theta[mid_rows]))
            last.append(Candidates(last_rows, theta[last_rows]))
        if not any(c.rows.size for c in last):
            raise SearchError("no option can end a cascade (every option has k=1)")
        object.__setattr__(self, "mid", tuple(mid))
        object.__setattr__(self, "last", tuple(last))

    @property
    def n_models(self) -> int:
        return len(self.tables)

    @property
    def n_problems(self) -> int:
        return self.tables[0].n_problems

    def thetas(self) -> np.ndarray:
        """The distinct θ values of mid-stage candidates (for the shared-θ constraint)."""
        values = [c.theta[~np.isnan(c.theta)] for c in self.mid]
        return np.unique(np.concatenate(values)) if values else np.zeros(0)

    def count_plans(self) -> int:
        """How many distinct plans the (collapsed) space holds, by a small DP over models."""
        if self.shared_theta:
            thetas = self.thetas()
            groups = [[int((c.theta == v).sum()) for c in self.mid] for v in thetas] or [
                [0] * self.n_models
            ]
        else:
            groups = [[c.rows.size for c in self.mid]]
        total = 0
        n_last = [c.rows.size for c in self.last]
        for n_mid in groups:
            prefixes = 1  # ways to choose mid stages among the models seen so far
            for i in range(self.n_models):
                total += prefixes * n_last[i]
                prefixes += prefixes * n_mid[i]
        if self.shared_theta:
            # plans without any θ-bearing mid stage were counted once per θ
            total -= (len(groups) - 1) * sum(n_last) if groups else 0
        return total


@dataclass(frozen=True)
class SearchResult:
    """A plan found by a method, scored with the exact formula on the search's problems.

    ``stages`` are (model index, table row) in cascade order. ``status``: "optimal" (proven),
    "feasible" (no proof) or "heuristic"; ``gap`` is the relative optimality gap where the
    method bounds it.
    """

    method: str
    stages: tuple[tuple[int, int], ...]
    accuracy: float
    cost: float
    status: str
    gap: float | None
    seconds: float
    solver: str = ""
    plans_evaluated: int = 0

    def plan(self, space: SearchSpace) -> CascadePlan:
        return CascadePlan(
            tuple(Stage(space.tables[i].model, space.tables[i].options[r])
                  for i, r in self.stages)
        )


@dataclass(frozen=True)
class Objective:
    """Maximise accuracy with mean cost <= ``budget``, or (``target_accuracy`` set)
    minimise cost with mean accuracy >= ``target_accuracy``."""

    budget: float | None = None
    target_accuracy: float | None = None

    def __post_init__(self) -> None:
        if (self.budget is None) == (self.target_accuracy is None):
            raise SearchError("give exactly one of a budget or a target accuracy")
        if self.budget is not None and not (np.isfinite(self.budget) and self.budget >= 0):
            raise SearchError(f"budget must be a non-negative number, got {self.budget!r}")
        if self.target_accuracy is not None and not 0.0 <= self.target_accuracy <= 1.0:
            raise SearchError(
                f"target accuracy must be in [0, 1], got {self.target_accuracy!r}"
            )

    @property
    def is_budget(self) -> bool:
        return self.budget is not None

    def better(self, acc: float, cost: float, best_acc: float, best_cost: float) -> bool:
        """Is (acc, cost) strictly better than the incumbent under this objective?"""
        if self.is_budget:
            return acc > best_acc + TOLERANCE or (
                abs(acc - best_acc) <= TOLERANCE and cost < best_cost - TOLERANCE
            )
        return cost < best_cost - TOLERANCE or (
            abs(cost - best_cost) <= TOLERANCE and acc > best_acc + TOLERANCE
        )

    def feasible(self, acc: float, cost: float) -> bool:
        if self.is_budget:
            return cost <= self.budget + TOLERANCE
        return acc >= self.target_accuracy - TOLERANCE


def score_stages(space: SearchSpace, stages: Sequence[tuple[int, int]]) -> tuple[float, float]:
    """Exact mean accuracy and cost of a plan given as (model index, row) stages."""
    return cascade_mean([(space.tables[i], r) for i, r in stages])


def score_stages_per_problem(
    space: SearchSpace, stages: Sequence[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray]:
    return cascade_per_problem([(space.tables[i], r) for i, r in stages])


def stages_from_codes(codes: np.ndarray) -> tuple[tuple[int, int], ...]:
    """(model, row) stages from a per-model code vector (-1 = skipped)."""
    return tuple((int(i), int(codes[i])) for i in np.flatnonzero(codes >= 0))


def normalise_stages(
    space: SearchSpace, stages: Sequence[tuple[int, int]]
) -> tuple[tuple[int, int], ...]:
    """Give the last stage (whose θ does not matter) the plan's shared θ where an identical
    row with that θ exists, so a shared-θ plan reads as one θ throughout."""
    if len(stages) < 2:
        return tuple(stages)
    mids = [space.tables[i].options[r] for i, r in stages[:-1]]
    thetas = {o.theta for o in mids if o.k >= 1}
    i, r = stages[-1]
    table = space.tables[i]
    option = table.options[r]
    if len(thetas) != 1 or option.k == 0:
        return tuple(stages)
    theta = thetas.pop()
    for row, other in enumerate(table.options):
        if (other.theta == theta and other.k == option.k and other.t == option.t
                and other.l == option.l and other.rule == option.rule
                and other.share_tests == option.share_tests
                and np.array_equal(table.correct[row], table.correct[r])
                and np.array_equal(table.cost[row], table.cost[r])):
            return (*tuple(stages[:-1]), (i, row))
    return tuple(stages)


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run numpy's BLAS on one thread: the search multiplies many small matrices, where
    BLAS threads cost more than they give (5x slower on a loaded 2-core machine)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


class SearchMethod(ABC):
    """One search method; subclasses implement :meth:`_search`."""

    name: str = ""

    def search(self, space: SearchSpace, objective: Objective, seed: int = 0) -> SearchResult:
        """Best plan for ``objective``, re-scored exactly; BudgetTooLowError if none fits."""
        start = time.perf_counter()
        with single_threaded_blas():
            result = self._search(space, objective, seed)
        seconds = time.perf_counter() - start
        stages = normalise_stages(space, result.stages)
        accuracy, cost = score_stages(space, stages)
        if not objective.feasible(accuracy, cost):
            raise SearchError(
                f"{self.name} returned an infeasible plan (accuracy {accuracy:.4f}, "
                f"cost {cost:.6g}); this is a bug"
            )
        return SearchResult(
            method=self.name, stages=stages, accuracy=accuracy, cost=cost,
            status=result.status, gap=result.gap, seconds=seconds, solver=result.solver,
            plans_evaluated=result.plans_evaluated,
        )

    @abstractmethod
    def _search(self, space: SearchSpace, objective: Objective, seed: int) -> SearchResult:
        """The method itself; returns a result whose stages are feasible."""


def unreachable(space: SearchSpace, objective: Objective, method: str = "") -> SearchError:
    """The error for an objective a method met with no plan: it names the cheapest plan's
    cost (or the best reachable accuracy), and says so when a plan does exist."""
    from .exact import cheapest_plan, most_accurate_plan

    if objective.is_budget:
        cheapest = cheapest_plan(space)
        if objective.budget < cheapest[1] - TOLERANCE:
            return BudgetTooLowError(
                f"budget ${objective.budget:.6g} per problem is below the cheapest possible "
                f"plan, which costs ${cheapest[1]:.6g} per problem"
            )
        return SearchError(
            f"{method or 'the search'} found no plan within budget ${objective.budget:.6g} "
            f"(the cheapest plan costs ${cheapest[1]:.6g}); try another method"
        )
    most_accurate = most_accurate_plan(space)
    if objective.target_accuracy > most_accurate[0] + TOLERANCE:
        return SearchError(
            f"target accuracy {objective.target_accuracy:.4f} is above the best reachable "
            f"accuracy {most_accurate[0]:.4f}"
        )
    return SearchError(
        f"{method or 'the search'} found no plan reaching accuracy "
        f"{objective.target_accuracy:.4f}; try another method"
    )
