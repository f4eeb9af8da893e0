"""Every method stops at its time limit with its incumbent (and a gap where it bounds one),
and reads the clock only a few times after the limit: the deterministic proxy for
"returns within its limit plus well under a second" (wall-clock times are measured in
benchmarks/bench_time_limits.py). Ctrl-C on the command line is the same deadline, set by
a stop request."""

from __future__ import annotations

import numpy as np
import pytest

from planner.search import (
    ExactSearch,
    HeuristicSearch,
    Objective,
    OptunaSearch,
    SearchSpace,
    exact_front,
    get_method,
)
from planner.search.deadline import Anytime, Deadline
from planner.search.stopping import StopRequest, listening, stop_requests
from planner.vocabulary import SolverStatus

from .tables import random_tables
from .test_deadline import CountingClock, VirtualClock


def _space(seed: int, n_models: int = 5, n_problems: int = 20) -> SearchSpace:
    return SearchSpace(tuple(random_tables(seed, n_models, n_problems, (0.5, 0.9, 1.0))),
                       False)


def _budget(space: SearchSpace, quantile: float = 0.7) -> float:
    front, _ = exact_front(space)
    return float(np.quantile(front.cost, quantile))


@pytest.mark.parametrize("seed", range(3))
def test_exact_search_cut_short_returns_its_incumbent_with_a_proven_gap(seed):
    """Virtual time, 1 ms per clock read, limit 5 ms: the enumeration stops at the first
    read after the limit in each open frame (and offers the first level's single-stage
    plans), and the gap bounds the true optimum."""
    space = _space(seed)
    objective = Objective(budget=_budget(space))
    optimum = ExactSearch().search(space, objective)
    assert optimum.status is SolverStatus.OPTIMAL and optimum.gap == 0.0
    clock = VirtualClock(step=0.001)
    cut = ExactSearch(time_limit=0.005, clock=clock).search(space, objective)
    late = [t for t in clock.reads if t > 0.001 + 0.005]
    assert len(late) <= 2 * space.n_models
    assert cut.cost <= objective.budget + 1e-9
    assert cut.status is SolverStatus.FEASIBLE and cut.gap is not None
    assert cut.accuracy <= optimum.accuracy + 1e-12
    assert cut.accuracy * (1 + cut.gap) >= optimum.accuracy - 1e-9
    assert cut.accuracy * (1 + cut.gap) <= 1 + 1e-9  # an accuracy bound never passes 100 %


def test_exact_search_for_a_target_accuracy_bounds_the_cost():
    space = _space(7)
    front, _ = exact_front(space)
    objective = Objective(target_accuracy=float(np.quantile(front.accuracy, 0.6)))
    optimum = ExactSearch().search(space, objective)
    cut = ExactSearch(time_limit=0.005, clock=VirtualClock(step=0.001)).search(space,
                                                                              objective)
    assert cut.accuracy >= objective.target_accuracy - 1e-9
    assert cut.cost >= optimum.cost - 1e-12
    assert cut.cost * (1 - cut.gap) <= optimum.cost + 1e-9


def test_exact_search_past_its_limit_still_has_the_single_stage_plans():
    space = _space(1)
    objective = Objective(budget=_budget(space))
    result = ExactSearch(time_limit=1.0, clock=CountingClock(expire_after=0)).search(
        space, objective)
    assert len(result.stages) == 1 and result.cost <= objective.budget + 1e-9
    assert result.status is SolverStatus.FEASIBLE
    # a target no single-stage plan reaches: nothing before the limit, and it says so
    front, _ = exact_front(space)
    single = max(float(t.correct[r].mean()) for i, t in enumerate(space.tables)
                 for r in space.last[i].rows)
    if front.accuracy.max() > single + 1e-9:
        with pytest.raises(Exception, match="before its time limit; give it more time"):
            ExactSearch(time_limit=1.0, clock=CountingClock(expire_after=0)).search(
                space, Objective(target_accuracy=float(front.accuracy.max())))


def test_an_exact_front_cut_short_is_marked_partial_and_lies_below_the_full_one():
    space = _space(2)
    full, _ = exact_front(space)
    assert full.complete
    cut, _ = exact_front(space, Deadline(0.02, VirtualClock(step=0.001)))
    assert not cut.complete and 0 < len(cut) <= len(full)
    assert np.all(cut.accuracy <= full.best_accuracy_within(cut.cost) + 1e-12)


def test_optuna_stops_between_trials_with_its_best_plan():
    space = _space(3, n_models=3, n_problems=12)
    objective = Objective(budget=_budget(space))
    clock = VirtualClock(step=0.01)
    result = OptunaSearch(trials=200, time_limit=0.5, clock=clock).search(space, objective)
    assert result.cost <= objective.budget + 1e-9
    # a read per trial: it stopped at the first trial after the limit, long before 200
    assert 3 <= result.plans_evaluated < 200
    assert sum(t > 0.01 + 0.5 for t in clock.reads) == 1
    # the enqueued single-model trials run even when the limit has already passed
    late = OptunaSearch(trials=50, time_limit=1.0, clock=CountingClock(0)).search(
        space, objective)
    assert late.plans_evaluated == space.n_models


@pytest.mark.parametrize("name", ["exact", "heuristic", "optuna"])
def test_every_method_is_anytime_and_takes_a_time_limit(name):
    method = get_method(name, time_limit=2.5)
    assert isinstance(method, Anytime) and method.time_limit == 2.5
    assert method.until(Deadline(1.0)).deadline == Deadline(1.0)


@pytest.mark.parametrize("name", ["exact", "ilp", "heuristic", "optuna"])
def test_a_stop_request_ends_a_running_search_with_a_feasible_plan(name):
    """Ctrl-C on the command line sets the stop request: every deadline made inside
    passes, so the search ends as at its time limit."""
    space = _space(4, n_models=4, n_problems=15)
    objective = Objective(budget=_budget(space))
    request = StopRequest()
    request.set()
    with stop_requests(request):
        assert Deadline.after(100.0).expired() and Deadline.after(None).expired()
        result = get_method(name).search(space, objective)
    assert result.cost <= objective.budget + 1e-9
    assert request.listeners == 0
    if name == "exact":
        assert result.status is SolverStatus.FEASIBLE


def test_searches_listen_for_stop_requests_only_while_they_run():
    request = StopRequest()
    seen = []

    class Spy(HeuristicSearch):
        def _search(self, space, objective, seed):
            seen.append(request.listeners)
            return super()._search(space, objective, seed)

    space = _space(5, n_models=3, n_problems=10)
    with stop_requests(request):
        Spy().search(space, Objective(budget=_budget(space)))
        with listening():
            assert request.listeners == 1
    assert seen == [1] and request.listeners == 0
    assert not Deadline.after(None).expired()  # outside the block: no request in force


def test_ctrl_c_while_highs_runs_stops_it_and_reaches_the_command_line_after():
    """A KeyboardInterrupt raised inside a HiGHS callback was swallowed by HiGHS: compare
    went on for 20 s, printed its table and then said it had been interrupted."""
    import signal

    from planner.search.ilp.solvers import _ctrl_c_after_run

    seen = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: seen.append(signum))
    try:
        with _ctrl_c_after_run() as ctrl_c:
            assert not ctrl_c()
            signal.raise_signal(signal.SIGINT)
            assert ctrl_c() and seen == []  # inside: only noted, HiGHS is told to stop
        assert seen == [signal.SIGINT]  # after: the command line's handler gets it
        signal.signal(signal.SIGINT, signal.default_int_handler)
        with pytest.raises(KeyboardInterrupt), _ctrl_c_after_run():
            signal.raise_signal(signal.SIGINT)
    finally:
        signal.signal(signal.SIGINT, previous)
