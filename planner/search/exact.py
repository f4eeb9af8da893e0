"""Exact search: vectorised enumeration of every valid cascade (docs/method.md §4.2).

Depth-first over models in order, carrying a *batch* of prefixes (the mid stages chosen so
far): their per-problem reach vectors R [n, P] and their accuracy and cost so far. At each
model, every prefix is finished with every last-stage option at once by two matrix
products (R @ H.T, R @ C.T), and extended with every mid-stage option into the next batch,
in chunks of at most ``CHUNK`` prefixes and ``CHUNK_ELEMENTS`` (prefix, option) pairs, so
memory stays bounded whatever the grid size and no block of work between two deadline
checks takes long.
Nothing holds all plans: a consumer reduces each chunk (best under a budget, cheapest for a
target accuracy, or a running Pareto front).

Pruning is exact: cost only grows as stages are added, and a prefix can add at most
R · U where U(p) is the best per-problem "correct if it answers" probability of any later
option (max of h and g/a: a cascade's tail is a mixture of such answers). A prefix whose
cost already breaks the budget, or whose accuracy bound cannot beat the incumbent (or is
dominated by the running front), is dropped with all its extensions.

**Time limit.** With a deadline (a time limit, or Ctrl-C on the command line) the
enumeration stops between chunks; every batch left unexplored is bounded by the same
rule (its prefixes' accuracy so far plus R · U, or their cost so far), so the search
returns its incumbent with a proven relative gap, as the integer program does. Progress
is reported per first-stage subtree, weighted by its prefixes × later options.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .. import progress
from ..vocabulary import SolverStatus
from .blas import single_threaded_blas
from .deadline import Anytime, Clock, Deadline
from .errors import BudgetTooLowError, SearchError
from .method import SearchMethod
from .objective import TOLERANCE, Objective
from .pareto import ParetoFront
from .result import SearchOutcome, SearchResult
from .space import SearchSpace
from .stages import score_stages, stages_from_codes
from .stopping import listening

#: Most prefixes (rows of a reach batch) processed at once.
CHUNK = 8192
#: Most (prefix, option) pairs scored at once: a batch that later meets a model with many
#: options is smaller (the generalised grid has about 15,000 per model), so the time
#: between deadline checks stays well under a second.
CHUNK_ELEMENTS = 1 << 21
#: Most of a time limit a warm start that can stop early may take.
WARM_START_SHARE = 0.25


@dataclass(frozen=True)
class _ModelArrays:
    """One model's candidate rows as dense arrays pre-scaled by 1/P (means become sums)."""

    last_rows: np.ndarray
    last_correct: np.ndarray  # [L, P] / P
    last_cost: np.ndarray
    mid_rows: np.ndarray
    mid_accept_correct: np.ndarray  # [O, P] / P
    mid_cost: np.ndarray
    mid_pass_on: np.ndarray  # 1 - accept, [O, P]


def _model_arrays(space: SearchSpace, i: int, mid_rows: np.ndarray) -> _ModelArrays:
    table = space.tables[i]
    scale = 1.0 / space.n_problems
    last = space.last[i].rows
    return _ModelArrays(
        last_rows=last,
        last_correct=table.correct[last] * scale,
        last_cost=table.cost[last] * scale,
        mid_rows=mid_rows,
        mid_accept_correct=table.accept_correct[mid_rows] * scale,
        mid_cost=table.cost[mid_rows] * scale,
        mid_pass_on=1.0 - table.accept[mid_rows],
    )


def _answer_bounds(space: SearchSpace) -> np.ndarray:
    """U[i, p]: best probability that any option of models >= i answers problem p correctly
    given that it answers (h for a last stage, g/a for a mid stage), pre-scaled by 1/P."""
    per_model = []
    for i, table in enumerate(space.tables):
        best = np.zeros(space.n_problems)
        if space.last[i].rows.size:
            best = table.correct[space.last[i].rows].max(axis=0)
        rows = space.mid[i].rows
        if rows.size:
            a = table.accept[rows]
            ratio = np.divide(table.accept_correct[rows], a, out=np.zeros_like(a), where=a > 0)
            best = np.maximum(best, ratio.max(axis=0))
        per_model.append(np.minimum(best, 1.0))
    bounds = np.maximum.accumulate(np.array(per_model)[::-1], axis=0)[::-1]
    # a little slack so that rounding never prunes a plan that ties the incumbent
    return bounds / space.n_problems + 1e-12


class _Consumer:
    """Receives scored chunks; decides which prefixes are still worth extending."""

    evaluated = 0
    #: whether the enumeration stopped at a deadline with batches left unexplored
    cut = False

    def keep(self, acc_bound: np.ndarray, cost: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def unexplored(self, acc_bound: np.ndarray, cost: np.ndarray) -> None:
        """Prefixes (accuracy bound, cost so far) whose extensions were never explored
        because the deadline passed."""
        self.cut = True

    def offer(self, codes: np.ndarray, model: int, rows: np.ndarray,
              acc: np.ndarray, cost: np.ndarray) -> None:
        raise NotImplementedError


class _BestConsumer(_Consumer):
    """Keeps the single best plan for an objective."""

    def __init__(self, objective: Objective, n_models: int) -> None:
        self.objective = objective
        self.best_acc = -np.inf
        self.best_cost = np.inf
        self.best_codes: np.ndarray | None = None
        self.n_models = n_models
        # the best any unexplored plan could do: accuracy (budget), cost (target)
        self.open_acc = -np.inf
        self.open_cost = np.inf

    def unexplored(self, acc_bound: np.ndarray, cost: np.ndarray) -> None:
        super().unexplored(acc_bound, cost)
        obj = self.objective
        if obj.is_budget:
            fits = cost <= obj.budget + TOLERANCE
            if fits.any():
                self.open_acc = max(self.open_acc, float(acc_bound[fits].max()))
        else:
            reaches = acc_bound >= obj.target_accuracy - TOLERANCE
            if reaches.any():
                self.open_cost = min(self.open_cost, float(cost[reaches].min()))

    def gap(self) -> float:
        """Relative gap between the incumbent and the best unexplored bound (0 if the
        enumeration finished): (bound − accuracy) / accuracy, or (cost − bound) / cost. An
        accuracy bound is a fraction: a looser one is taken as 1."""
        if self.objective.is_budget:
            bound = min(self.open_acc, 1.0)
            return max(0.0, bound - self.best_acc) / max(abs(self.best_acc), 1e-12)
        return max(0.0, self.best_cost - self.open_cost) / max(abs(self.best_cost), 1e-12)

    def keep(self, acc_bound: np.ndarray, cost: np.ndarray) -> np.ndarray:
        if self.objective.is_budget:
            return (cost <= self.objective.budget + TOLERANCE) & (
                acc_bound > self.best_acc + TOLERANCE
            )
        return (acc_bound >= self.objective.target_accuracy - TOLERANCE) & (
            cost < self.best_cost - TOLERANCE
        )

    def offer(self, codes, model, rows, acc, cost) -> None:
        self.evaluated += acc.size
        if self.objective.is_budget:
            ok = cost <= self.objective.budget + TOLERANCE
            key_primary = np.where(ok, acc, -np.inf)
            top = key_primary.max()
            if top == -np.inf:
                return
            near = key_primary >= top - TOLERANCE
            flat = int(np.argmin(np.where(near, cost, np.inf)))
        else:
            ok = acc >= self.objective.target_accuracy - TOLERANCE
            key_primary = np.where(ok, cost, np.inf)
            top = key_primary.min()
            if top == np.inf:
                return
            near = key_primary <= top + TOLERANCE
            flat = int(np.argmax(np.where(near, acc, -np.inf)))
        p, j = np.unravel_index(flat, acc.shape)
        a, c = float(acc[p, j]), float(cost[p, j])
        if self.best_codes is None or self.objective.better(a, c, self.best_acc, self.best_cost):
            self.best_acc, self.best_cost = a, c
            best = codes[p].copy()
            best[model] = rows[j]
            self.best_codes = best


class _FrontConsumer(_Consumer):
    """Keeps the running Pareto front of all plans offered."""

    def __init__(self, n_models: int) -> None:
        self.front = ParetoFront(n_models)

    def keep(self, acc_bound: np.ndarray, cost: np.ndarray) -> np.ndarray:
        return acc_bound > self.front.best_accuracy_within(cost) + TOLERANCE

    def offer(self, codes, model, rows, acc, cost) -> None:
        self.evaluated += acc.size
        acc_flat, cost_flat = acc.ravel(), cost.ravel()
        useful = np.flatnonzero(acc_flat > self.front.best_accuracy_within(cost_flat))
        if useful.size == 0:
            return
        p, j = np.unravel_index(useful, acc.shape)
        new_codes = codes[p].copy()
        new_codes[:, model] = rows[j]
        self.front.add(acc_flat[useful], cost_flat[useful], new_codes)


def _mid_row_sets(space: SearchSpace) -> Iterator[list[np.ndarray]]:
    """Per-model mid-stage rows, once per shared θ value when θ is shared."""
    if not space.shared_theta:
        yield [c.rows for c in space.mid]
        return
    thetas = space.thetas()
    if thetas.size == 0:
        yield [c.rows for c in space.mid]
    for value in thetas:
        yield [c.rows[c.theta == value] for c in space.mid]


class _Meter:
    """Progress of an enumeration: each (θ set, first-stage model) subtree weighs its
    prefixes × the later models' options; within a subtree, the share of its second-stage
    chunks done."""

    def __init__(self, space: SearchSpace, n_sets: int, step: progress.Step) -> None:
        sizes = np.array([c.rows.size for c in space.mid], dtype=float) + 1.0
        later = np.cumsum(sizes[::-1])[::-1] - sizes  # options of the models after each
        self.weights = np.maximum(sizes * later, 1.0)
        self.step = step
        self.done = 0.0
        self.base = 0.0
        step.set_total(float(self.weights.sum()) * n_sets)

    def to(self, position: float) -> None:
        if position > self.done:
            self.step.advance(position - self.done)
            self.done = position

    def within(self, model: int, share: float) -> None:
        self.to(self.base + float(self.weights[:model].sum())
                + float(self.weights[model]) * min(1.0, share))

    def finish_set(self) -> None:
        self.base += float(self.weights.sum())
        self.to(self.base)


def _enumerate(space: SearchSpace, consumer: _Consumer, deadline: Deadline | None = None,
               label: str = "exact search") -> None:
    """Depth-first enumeration (see the module docstring); stops at ``deadline``, telling
    ``consumer`` what it left unexplored."""
    bounds = _answer_bounds(space)
    n_models, n_problems = space.n_models, space.n_problems
    sets = list(_mid_row_sets(space))
    expired = deadline.expired if deadline is not None else (lambda: False)
    with progress.task(label, unit="subtree") as step:
        meter = _Meter(space, len(sets), step)
        for mid_rows in sets:
            arrays = [_model_arrays(space, i, mid_rows[i]) for i in range(n_models)]
            later = [sum(int(mid_rows[j].size) for j in range(i + 1, n_models))
                     for i in range(n_models)]
            widest = [max(max(int(a.last_rows.size), int(a.mid_rows.size)) for a in arrays[i:])
                      for i in range(n_models)] + [1]
            rows_cap = [max(1, min(CHUNK, CHUNK_ELEMENTS // max(1, w))) for w in widest]

            def visit(codes, reach, acc0, cost0, start, depth, first, arrays=arrays,
                      later=later, rows_cap=rows_cap):
                for i in range(start, n_models):
                    # past the deadline the first level still offers every model's
                    # single-stage plans (cheap), so that a plan exists
                    if depth and expired():
                        consumer.unexplored(acc0 + reach @ bounds[i], cost0)
                        return
                    keep = consumer.keep(acc0 + reach @ bounds[i], cost0)
                    if not keep.all():
                        if not keep.any():
                            return
                        codes, reach = codes[keep], reach[keep]
                        acc0, cost0 = acc0[keep], cost0[keep]
                    m = arrays[i]
                    if m.last_rows.size:
                        consumer.offer(codes, i, m.last_rows,
                                       acc0[:, None] + reach @ m.last_correct.T,
                                       cost0[:, None] + reach @ m.last_cost.T)
                    if i == n_models - 1 or m.mid_rows.size == 0:
                        continue
                    if expired():
                        consumer.unexplored(acc0 + reach @ bounds[i], cost0)
                        continue
                    acc_mid = acc0[:, None] + reach @ m.mid_accept_correct.T
                    cost_mid = cost0[:, None] + reach @ m.mid_cost.T
                    n = reach.shape[0]
                    step_rows = max(1, rows_cap[i + 1] // n)
                    for lo in range(0, m.mid_rows.size, step_rows):
                        sl = slice(lo, lo + step_rows)
                        if expired():
                            # every extension of these prefixes by model i's remaining
                            # options, and the prefixes without model i
                            consumer.unexplored(
                                (acc_mid[:, lo:] + (reach @ bounds[i + 1])[:, None]).ravel(),
                                cost_mid[:, lo:].ravel())
                            consumer.unexplored(acc0 + reach @ bounds[i + 1], cost0)
                            if depth:
                                return
                            break
                        width = m.mid_pass_on[sl].shape[0]
                        new_reach = (reach[:, None, :] * m.mid_pass_on[sl][None]).reshape(
                            -1, n_problems)
                        new_codes = np.repeat(codes, width, axis=0)
                        new_codes[:, i] = np.tile(m.mid_rows[sl], n)
                        visit(new_codes, new_reach, acc_mid[:, sl].ravel(),
                              cost_mid[:, sl].ravel(), i + 1, depth + 1,
                              i if depth == 0 else first)
                        if depth == 1 and later[first]:
                            done = sum(int(arrays[j].mid_rows.size)
                                       for j in range(first + 1, i)) + min(
                                lo + step_rows, m.mid_rows.size)
                            meter.within(first, done / later[first])
                    if depth == 0:
                        meter.within(i, 1.0)

            visit(np.full((1, n_models), -1, dtype=np.int64), np.ones((1, n_problems)),
                  np.zeros(1), np.zeros(1), 0, 0, 0)
            meter.finish_set()
            if expired():
                break


def best_plan_codes(space: SearchSpace, objective: Objective) -> tuple[np.ndarray | None, int]:
    """Per-model codes of the exact optimum (None when nothing meets the objective) and the
    number of plans scored."""
    consumer = _BestConsumer(objective, space.n_models)
    _enumerate(space, consumer)
    return consumer.best_codes, consumer.evaluated


def _best_within(space: SearchSpace, objective: Objective, deadline: Deadline,
                 incumbent: SearchResult | None = None) -> _BestConsumer:
    consumer = _BestConsumer(objective, space.n_models)
    if incumbent is not None:
        codes = np.full(space.n_models, -1, dtype=np.int64)
        for i, row in incumbent.stages:
            codes[i] = row
        consumer.best_acc, consumer.best_cost = incumbent.accuracy, incumbent.cost
        consumer.best_codes = codes
    _enumerate(space, consumer, deadline)
    return consumer


def cheapest_plan(space: SearchSpace) -> tuple[float, float]:
    """(accuracy, cost) of the cheapest plan (fast: everything pricier is pruned)."""
    codes, _ = best_plan_codes(space, Objective(target_accuracy=0.0))
    assert codes is not None
    return score_stages(space, stages_from_codes(codes))


def most_accurate_plan(space: SearchSpace) -> tuple[float, float]:
    """(accuracy, cost) of the most accurate plan whatever its cost."""
    ceiling = float(sum(t.cost.max() for t in space.tables)) + 1.0
    codes, _ = best_plan_codes(space, Objective(budget=ceiling))
    assert codes is not None
    return score_stages(space, stages_from_codes(codes))


def exact_front(space: SearchSpace, deadline: Deadline | None = None
                ) -> tuple[ParetoFront, int]:
    """The exact Pareto front (accuracy up, cost down) of every plan, and plans scored.
    With a ``deadline`` that passes first (or Ctrl-C on the command line): the front of
    the plans enumerated by then, with ``complete`` False."""
    consumer = _FrontConsumer(space.n_models)
    with single_threaded_blas(), listening():
        _enumerate(space, consumer, deadline, label="exact front")
    consumer.front.complete = not consumer.cut
    return consumer.front, consumer.evaluated


def unreachable(space: SearchSpace, objective: Objective, method: str = "") -> SearchError:
    """The error for an objective a method met with no plan: it names the cheapest plan's
    cost (or the best reachable accuracy), and says so when a plan does exist."""
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


class ExactSearch(SearchMethod):
    """Enumerates every valid cascade with exact pruning: the ground truth.

    ``time_limit`` (seconds, None for none) or ``deadline`` (an absolute one, handed on by
    a caller: :meth:`until`) stops the enumeration with its incumbent, status "feasible"
    and the proven relative gap to the best unexplored bound; ``clock`` is the seconds
    clock both are measured on. ``warm_start`` (a collaborator, e.g. the heuristic; given
    at most :data:`WARM_START_SHARE` of a time limit) supplies the first incumbent, which
    prunes from the start and is what a search stopped early returns at the least.
    SearchError if the deadline passes before any plan meets the objective.
    """

    name = "exact"

    def __init__(self, *, time_limit: float | None = None, deadline: Deadline | None = None,
                 clock: Clock = time.perf_counter, warm_start: SearchMethod | None = None
                 ) -> None:
        self.time_limit = time_limit
        self.deadline = deadline
        self.clock = clock
        self.warm_start = warm_start

    def until(self, deadline: Deadline) -> ExactSearch:
        """This search, stopping at ``deadline`` at the latest (:class:`Anytime`)."""
        return ExactSearch(time_limit=self.time_limit, deadline=deadline, clock=self.clock,
                           warm_start=self.warm_start)

    def _incumbent(self, space: SearchSpace, objective: Objective, seed: int,
                   deadline: Deadline) -> SearchResult | None:
        """The warm start's plan (None without one, or when it finds none)."""
        method = self.warm_start
        if method is None:
            return None
        if isinstance(method, Anytime):
            method = method.until(deadline.within(WARM_START_SHARE * max(
                0.0, deadline.remaining())))
        try:
            return method.search(space, objective, seed)
        except SearchError:
            return None

    def _search(self, space: SearchSpace, objective: Objective, seed: int) -> SearchOutcome:
        deadline = Deadline.after(self.time_limit, self.clock)
        if self.deadline is not None and self.deadline.at < deadline.at:
            deadline = self.deadline
        incumbent = self._incumbent(space, objective, seed, deadline)
        consumer = _best_within(space, objective, deadline, incumbent)
        if consumer.best_codes is None:
            if consumer.cut:
                raise SearchError(
                    f"{self.name} found no plan meeting the objective before its time "
                    "limit; give it more time")
            raise unreachable(space, objective, self.name)
        stages = stages_from_codes(consumer.best_codes)
        if consumer.cut:
            return SearchOutcome(stages, SolverStatus.FEASIBLE, consumer.gap(),
                                 "enumeration (stopped at the time limit)", consumer.evaluated)
        return SearchOutcome(stages, SolverStatus.OPTIMAL, 0.0, "enumeration",
                             consumer.evaluated)
