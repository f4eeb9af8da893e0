"""The integer program's time limit holds: bounding, reduction, the warm start and the
solvers all watch one deadline on an injected clock, and a search cut short returns its
incumbent with a gap. (Wall-clock times are measured in benchmarks/bench_search.py.)"""

from __future__ import annotations

import math

import numpy as np
import pytest

from planner.search import (
    ExactSearch,
    HeuristicSearch,
    IntegerProgram,
    Objective,
    SearchError,
    SearchMethod,
    SearchSpace,
    exact_front,
)
from planner.search.deadline import Anytime, Deadline, OutOfTime
from planner.search.ilp import bounds
from planner.search.ilp.bounds import bound_chain, reduce_chain
from planner.search.ilp.chains import StageBank, chains
from planner.search.ilp.goal import Goal, Incumbent, cost_unit
from planner.vocabulary import IlpSolver

from .tables import random_tables


class CountingClock:
    """A clock that counts its reads; from read ``expire_after`` on it says the time is
    infinitely late (None: never)."""

    def __init__(self, expire_after: int | None = None) -> None:
        self.reads = 0
        self.expire_after = expire_after

    def __call__(self) -> float:
        self.reads += 1
        if self.expire_after is not None and self.reads > self.expire_after:
            return math.inf
        return 0.0


class VirtualClock:
    """Every read advances time by ``step`` seconds; remembers when each read happened."""

    def __init__(self, step: float) -> None:
        self.step = step
        self.now = 0.0
        self.reads: list[float] = []

    def __call__(self) -> float:
        self.now += self.step
        self.reads.append(self.now)
        return self.now


def _space(seed: int, n_models: int = 4, n_problems: int = 12) -> SearchSpace:
    return SearchSpace(tuple(random_tables(seed, n_models, n_problems, (0.5, 0.9, 1.0))),
                       False)


def _longest_chain_and_incumbent(space: SearchSpace, budget: float):
    """The four-model chain and an incumbent of accuracy 0, which nothing fails to beat:
    the reduction then does all of its work (pair, triple and option bounds)."""
    objective = Objective(budget=budget)
    goal = Goal.of(objective, cost_unit(space))
    stages = max(chains(StageBank(space, goal)), key=len)
    chain = bound_chain(stages, goal, Deadline(math.inf))
    return chain, goal, Incumbent((), 0.0, 0.0)


def _mid_budget(space: SearchSpace, quantile: float = 0.6) -> float:
    front, _ = exact_front(space)
    return float(np.quantile(front.cost, quantile))


def test_the_reduction_reads_the_clock_between_blocks_and_stops_at_the_first_late_read(
        monkeypatch):
    space = _space(3)
    chain, goal, incumbent = _longest_chain_and_incumbent(space, _mid_budget(space))
    assert len(chain.stages) == 4
    clock = CountingClock()
    reduce_chain(chain, incumbent, goal, Deadline(1.0, clock))
    # at least once per multiplier of the pair, triple and option bounds it computes
    assert clock.reads >= len(chain.multipliers) + len(bounds.MULTIPLIERS)
    full = clock.reads
    # smaller blocks: more reads (the per-problem relaxation checks between blocks)
    monkeypatch.setattr(bounds, "CHUNK_ELEMENTS", 7)
    clock = CountingClock()
    reduce_chain(chain, incumbent, goal, Deadline(1.0, clock))
    assert clock.reads > full
    # a deadline that passes at any read stops the reduction at that very read
    for expire_after in sorted({0, 1, 2, full // 3, full // 2, full - 1}):
        clock = CountingClock(expire_after)
        with pytest.raises(OutOfTime):
            reduce_chain(chain, incumbent, goal, Deadline(1.0, clock))
        assert clock.reads == expire_after + 1


def test_chain_bounds_stop_at_the_deadline():
    space = _space(4)
    goal = Goal.of(Objective(budget=_mid_budget(space)), cost_unit(space))
    stages = max(chains(StageBank(space, goal)), key=len)
    clock = CountingClock(expire_after=5)
    with pytest.raises(OutOfTime):
        bound_chain(stages, goal, Deadline(1.0, clock))
    assert clock.reads == 6


@pytest.mark.parametrize("seed", range(3))
def test_a_search_cut_short_returns_its_incumbent_and_gap_right_after_the_deadline(seed):
    """Virtual time: every clock read is 20 ms, the limit 0.5 s. The search returns a
    feasible plan with its gap, reading the clock only a few times after the deadline."""
    space = _space(seed, n_models=5, n_problems=20)
    budget = _mid_budget(space, 0.7)
    clock = VirtualClock(step=0.02)
    result = IntegerProgram(time_limit=0.5, clock=clock).search(space, Objective(budget=budget))
    late = [t for t in clock.reads if t > 0.02 + 0.5]
    assert len(late) <= 3
    assert result.cost <= budget + 1e-9
    assert result.status in ("optimal", "feasible")
    assert result.gap is not None and result.gap >= 0.0
    if result.status == "feasible":
        assert result.gap > 0
    exact = ExactSearch().search(space, Objective(budget=budget))
    assert result.accuracy <= exact.accuracy + 1e-9


def test_a_deadline_before_any_chain_still_gives_the_warm_start_and_a_valid_gap():
    space = _space(2, n_models=4, n_problems=15)
    budget = _mid_budget(space)
    exact = ExactSearch().search(space, Objective(budget=budget))
    clock = VirtualClock(step=0.0)
    program = IntegerProgram(time_limit=1.0, clock=clock,
                             warm_start=_Slow(HeuristicSearch(), clock, seconds=5.0))
    result = program.search(space, Objective(budget=budget))
    assert result.status == "feasible"
    # the gap is measured against a bound on every plan, so it covers the optimum
    assert result.accuracy * (1 + result.gap) >= exact.accuracy - 1e-9


class _Slow(SearchMethod):
    """A warm start that takes ``seconds`` of the clock and cannot stop early."""

    name = "slow"

    def __init__(self, inner: SearchMethod, clock: VirtualClock, seconds: float) -> None:
        self.inner, self.clock, self.seconds = inner, clock, seconds

    def _search(self, space, objective, seed):
        self.clock.now += self.seconds
        return self.inner._search(space, objective, seed)


class _Spy(SearchMethod):
    """A warm start that records the deadline it was handed."""

    name = "spy"

    def __init__(self) -> None:
        self.deadlines: list[Deadline] = []

    def until(self, deadline: Deadline) -> SearchMethod:
        self.deadlines.append(deadline)
        return self

    def _search(self, space, objective, seed):
        return HeuristicSearch()._search(space, objective, seed)


def test_the_warm_start_is_passed_in_and_gets_part_of_the_time_limit():
    space = _space(1, n_models=3, n_problems=8)
    budget = _mid_budget(space)
    spy = _Spy()
    assert isinstance(spy, Anytime)
    clock = VirtualClock(step=0.0)
    result = IntegerProgram(time_limit=4.0, warm_start=spy, clock=clock).search(
        space, Objective(budget=budget))
    assert [d.at for d in spy.deadlines] == [pytest.approx(2.0)]
    assert result.status == "optimal"
    assert isinstance(IntegerProgram().warm_start, HeuristicSearch)


def test_the_heuristic_stops_at_its_deadline_with_a_feasible_plan():
    space = _space(5, n_models=4, n_problems=12)
    budget = _mid_budget(space)
    for expire_after in (0, 1, 3, 10):
        clock = CountingClock(expire_after)
        result = HeuristicSearch(time_limit=1.0, clock=clock).search(
            space, Objective(budget=budget))
        assert result.cost <= budget + 1e-9
    bounded = HeuristicSearch().until(Deadline(5.0))
    assert bounded.deadline == Deadline(5.0)


def test_time_limits_and_solvers_are_checked_once():
    assert IntegerProgram(solver="cbc").solver is IlpSolver.CBC
    assert IntegerProgram().time_limit == 60.0
    for bad in (0, -1.0, float("nan"), "2", True):
        with pytest.raises(SearchError, match="time_limit must be a number > 0"):
            IntegerProgram(time_limit=bad)
    with pytest.raises(SearchError, match="time_limit must be a number > 0"):
        HeuristicSearch(time_limit=0)
    with pytest.raises(SearchError, match="unknown ILP solver 'gurobi'; known: auto, highs, cbc"):
        IntegerProgram(solver="gurobi")


@pytest.mark.parametrize("seed", range(4))
def test_the_space_bound_covers_every_plan(seed):
    """The bound that stands for chains never bounded: above the best accuracy within a
    budget, below the least cost reaching a target."""
    from planner.search.ilp.bounds import space_bound

    space = _space(seed, n_models=4, n_problems=10)
    front, _ = exact_front(space)
    unit = cost_unit(space)
    for quantile in (0.2, 0.6, 0.9):
        budget = Objective(budget=float(np.quantile(front.cost, quantile)))
        best = ExactSearch().search(space, budget)
        assert space_bound(StageBank(space, Goal.of(budget, unit)),
                           Deadline(math.inf)) >= best.accuracy - 1e-12
        target = Objective(target_accuracy=float(np.quantile(front.accuracy, quantile)))
        cheapest = ExactSearch().search(space, target)
        assert space_bound(StageBank(space, Goal.of(target, unit)),
                           Deadline(math.inf)) <= cheapest.cost / unit + 1e-12


def test_the_objectives_direction_lives_in_the_goal():
    most = Goal.of(Objective(budget=0.02), unit=0.01)
    cheapest = Goal.of(Objective(target_accuracy=0.7), unit=0.01)
    incumbent = Incumbent(((0, 1),), accuracy=0.6, cost=0.02)
    assert most.maximise and not cheapest.maximise
    assert most.value(incumbent) == 0.6 and cheapest.value(incumbent) == pytest.approx(2.0)
    assert most.loosest([0.5, 0.7]) == 0.7 and cheapest.loosest([2.5, 1.5]) == 1.5
    assert most.tightest(np.array(0.7), np.array(0.65)) == 0.65
    assert cheapest.tightest(np.array(1.5), np.array(1.8)) == 1.8
    assert most.may_beat(0.6, incumbent) and not most.may_beat(0.59, incumbent)
    assert cheapest.may_beat(2.0, incumbent) and not cheapest.may_beat(2.01, incumbent)
    assert most.gap(incumbent, [0.66]) == pytest.approx(0.1)
    assert cheapest.gap(incumbent, [1.8]) == pytest.approx(0.1)
    assert most.gap(incumbent, []) == 0.0
    assert most.first_stage_fits(np.array([1.9, 2.1])).tolist() == [True, False]
    assert cheapest.first_stage_fits(np.array([1.9, 2.1])).tolist() == [True, True]
    assert most.order("acc", "cost") == ("acc", "cost")
    assert cheapest.order("acc", "cost") == ("cost", "acc")


def test_pair_bounds_come_in_blocks_with_the_deadline_read_between_them(monkeypatch):
    """One multiplier's pair bounds were one product (9 s on the generalised grid, past a
    5 s limit); in blocks they are the same numbers, and a deadline stops them between
    blocks."""
    space = _space(5)
    chain, goal, _ = _longest_chain_and_incumbent(space, _mid_budget(space))
    whole = bounds.pair_bounds(chain.stages, goal, bounds.MULTIPLIERS, Deadline(math.inf))
    n_second = chain.stages[1].rows.size
    monkeypatch.setattr(bounds, "CHUNK_ELEMENTS", n_second)  # one first-stage row a block
    clock = CountingClock()
    blocked = bounds.pair_bounds(chain.stages, goal, bounds.MULTIPLIERS, Deadline(1.0, clock))
    np.testing.assert_allclose(blocked, whole, rtol=0, atol=1e-12)
    assert clock.reads == len(bounds.MULTIPLIERS) * chain.stages[0].rows.size
    clock = CountingClock(expire_after=1)  # passes at the second block of the first one
    with pytest.raises(OutOfTime):
        bounds.pair_bounds(chain.stages, goal, bounds.MULTIPLIERS, Deadline(1.0, clock))
    assert clock.reads == 2
