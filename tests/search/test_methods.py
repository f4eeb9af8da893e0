"""Search methods on random option tables: exact = brute force, ILP = exact, heuristic
feasible, budgets respected, shared θ honoured, one-line errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.search import (
    BudgetTooLowError,
    ExactSearch,
    HeuristicSearch,
    IntegerProgram,
    Objective,
    SearchError,
    SearchMethod,
    SearchSpace,
    exact_front,
)

from .tables import all_plans, brute_force_best, brute_force_front, random_tables


def _space(seed, n_models=3, n_problems=10, shared=False, thetas=(0.5, 0.9, 1.0)):
    return SearchSpace(tuple(random_tables(seed, n_models, n_problems, thetas)), shared)


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_exact_front_and_budgets_match_brute_force(seed, shared):
    space = _space(seed, shared=shared)
    tables = list(space.tables)
    expected = brute_force_front(tables, shared)
    front, _ = exact_front(space)
    assert np.allclose(front.accuracy, [a for a, _ in expected])
    assert np.allclose(front.cost, [c for _, c in expected])
    assert space.count_plans() == sum(1 for _ in all_plans(tables, shared))
    for budget in np.quantile(front.cost, [0.0, 0.2, 0.5, 0.8, 1.0]):
        result = ExactSearch().search(space, Objective(budget=float(budget)))
        best = brute_force_best(tables, float(budget), shared)
        assert result.accuracy == pytest.approx(best[1], abs=1e-12)
        assert result.cost <= budget + 1e-12
        assert result.status == "optimal" and result.gap == 0.0


def _shared_theta_holds(space, result):
    thetas = {space.tables[i].options[r].theta for i, r in result.stages[:-1]}
    return len(thetas) <= 1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_models=st.integers(1, 4),
       quantile=st.floats(0.0, 1.0), shared=st.booleans())
def test_ilp_matches_exact_on_random_spaces(seed, n_models, quantile, shared):
    space = _space(seed, n_models=n_models, n_problems=6, shared=shared, thetas=(0.5, 1.0))
    front, _ = exact_front(space)
    budget = float(np.quantile(front.cost, quantile))
    exact = ExactSearch().search(space, Objective(budget=budget))
    ilp = IntegerProgram(time_limit=60).search(space, Objective(budget=budget))
    assert ilp.accuracy == pytest.approx(exact.accuracy, abs=1e-6)
    assert ilp.cost <= budget + 1e-9
    assert ilp.status == "optimal"
    if shared:
        assert _shared_theta_holds(space, ilp)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_models=st.integers(3, 4), quantile=st.floats(0.0, 1.0))
def test_ilp_matches_exact_on_the_dual_problem(seed, n_models, quantile):
    """Cheapest plan reaching a target accuracy: the same cost from both (chains of three
    and four stages exercise the pair and third-option bounds of the dual objective)."""
    space = _space(seed, n_models=n_models, n_problems=6, thetas=(0.5, 1.0))
    front, _ = exact_front(space)
    # a target some front plan reaches exactly (a target within the solver's feasibility
    # tolerance above a plan's accuracy is the known case below)
    target = float(np.quantile(front.accuracy, quantile, method="lower"))
    exact = ExactSearch().search(space, Objective(target_accuracy=target))
    ilp = IntegerProgram(time_limit=60).search(space, Objective(target_accuracy=target))
    assert ilp.cost == pytest.approx(exact.cost, rel=1e-6, abs=1e-12)
    assert ilp.accuracy >= target - 1e-9
    assert ilp.status == "optimal"


@pytest.mark.xfail(strict=True, reason="known: a target 1.6e-9 above the cheapest plan's "
                   "accuracy is within HiGHS's feasibility tolerance, so the solver's bound "
                   "is that plan's cost, which the exact check rejects; the right plan is "
                   "returned but called feasible (gap 0.61), not optimal")
def test_ilp_proves_a_target_a_hair_above_a_plans_accuracy():
    space = _space(0, n_models=3, n_problems=6, thetas=(0.5, 1.0))
    front, _ = exact_front(space)
    target = float(np.quantile(front.accuracy, 1e-9))
    exact = ExactSearch().search(space, Objective(target_accuracy=target))
    ilp = IntegerProgram(time_limit=60).search(space, Objective(target_accuracy=target))
    assert ilp.cost == pytest.approx(exact.cost, rel=1e-6, abs=1e-12)
    assert ilp.status == "optimal"


@pytest.mark.parametrize(("seed", "quantile"), [(29, 0.3), (45, 0.6)])
def test_ilp_finds_the_cheapest_plan_where_a_chain_bound_once_cut_it(seed, quantile):
    """The dual objective bounds a chain by its *smallest* first-stage cost bound; with the
    largest these chains were skipped and a dearer plan was called optimal."""
    space = _space(seed, n_models=3, n_problems=6, thetas=(0.5, 1.0))
    front, _ = exact_front(space)
    target = float(np.quantile(front.accuracy, quantile))
    exact = ExactSearch().search(space, Objective(target_accuracy=target))
    ilp = IntegerProgram(time_limit=60).search(space, Objective(target_accuracy=target))
    assert ilp.cost == pytest.approx(exact.cost, rel=1e-9)
    assert ilp.status == "optimal"


@pytest.mark.parametrize("seed", range(3))
def test_ilp_bounds_in_small_blocks_match_exact(seed, monkeypatch):
    """The per-problem relaxation and the pair × third-option bounds work in blocks of
    at most CHUNK_ELEMENTS; tiny blocks give the same optimum."""
    from planner.search.ilp import bounds

    monkeypatch.setattr(bounds, "CHUNK_ELEMENTS", 7)
    space = _space(seed, n_models=4, n_problems=6, thetas=(0.5, 1.0))
    front, _ = exact_front(space)
    for quantile in (0.3, 0.8):
        budget = float(np.quantile(front.cost, quantile))
        exact = ExactSearch().search(space, Objective(budget=budget))
        result = IntegerProgram(time_limit=60).search(space, Objective(budget=budget))
        assert result.accuracy == pytest.approx(exact.accuracy, abs=1e-6)
        assert result.status == "optimal"


@pytest.mark.parametrize("seed", range(3))
def test_ilp_with_cbc_matches_exact(seed):
    """The CBC path (no highspy) solves the same chain programs to the same optimum."""
    space = _space(seed, n_models=3, n_problems=5, shared=seed == 1, thetas=(0.5, 1.0))
    front, _ = exact_front(space)
    for quantile in (0.1, 0.6):
        budget = float(np.quantile(front.cost, quantile))
        exact = ExactSearch().search(space, Objective(budget=budget))
        ilp = IntegerProgram(time_limit=60, solver="cbc").search(space, Objective(budget=budget))
        assert ilp.accuracy == pytest.approx(exact.accuracy, abs=1e-6)
        assert ilp.status == "optimal" and ilp.cost <= budget + 1e-9


class _NoPlan(SearchMethod):
    """A warm start that finds nothing."""

    name = "none"

    def _search(self, space, objective, seed):
        raise SearchError("no plan")


def test_ilp_without_an_incumbent_still_finds_the_optimum():
    """The bound-based pruning needs the warm start's plan; without it every chain is
    solved and the answer is the same."""
    space = _space(7, n_models=3, n_problems=6)
    front, _ = exact_front(space)
    budget = float(np.quantile(front.cost, 0.5))
    exact = ExactSearch().search(space, Objective(budget=budget))
    ilp = IntegerProgram(time_limit=60, warm_start=_NoPlan()).search(space,
                                                                      Objective(budget=budget))
    assert ilp.accuracy == pytest.approx(exact.accuracy, abs=1e-6)
    assert ilp.status == "optimal"


@pytest.mark.parametrize("seed", range(2))
def test_ilp_in_the_guarded_child_matches_exact(seed, monkeypatch):
    """Large programs are solved in a forked child (killed at the deadline); forcing every
    program through it gives the same optimum."""
    from planner.search.ilp import solvers

    monkeypatch.setattr(solvers, "GUARD_MIN_NONZEROS", 0)
    space = _space(seed, n_models=3, n_problems=6, thetas=(0.5, 1.0))
    front, _ = exact_front(space)
    budget = float(np.quantile(front.cost, 0.5))
    exact = ExactSearch().search(space, Objective(budget=budget))
    result = IntegerProgram(time_limit=60).search(space, Objective(budget=budget))
    assert result.accuracy == pytest.approx(exact.accuracy, abs=1e-6)
    assert result.status == "optimal"


def _hung_solver(program, start, deadline, target):
    import time

    time.sleep(3600)


def test_a_solver_that_ignores_its_limit_is_killed_and_the_plan_kept(monkeypatch):
    """A solver phase that never checks its time limit (HiGHS's presolve on a large
    program) cannot hold the search: the guard kills it, the heuristic's plan is kept, and
    the status says the optimum is not proven."""
    from planner.search.ilp import solvers

    monkeypatch.setattr(solvers, "GUARD_MIN_NONZEROS", 0)
    monkeypatch.setattr(solvers, "solve_highs", _hung_solver)
    space = _space(0, n_models=3, n_problems=6, thetas=(0.5, 1.0))
    front, _ = exact_front(space)
    budget = float(np.quantile(front.cost, 0.7))  # a budget where bounds alone cannot decide
    heuristic = HeuristicSearch().search(space, Objective(budget=budget))
    result = IntegerProgram(time_limit=1.5, solver="highs").search(space,
                                                                   Objective(budget=budget))
    assert result.stages == heuristic.stages
    assert result.status == "feasible" and result.gap > 0


def test_unknown_ilp_solver_is_an_error():
    with pytest.raises(SearchError, match="unknown ILP solver"):
        IntegerProgram(solver="gurobi")


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), quantile=st.floats(0.0, 1.0), shared=st.booleans())
def test_heuristic_plan_is_feasible_and_never_beats_exact(seed, quantile, shared):
    space = _space(seed, n_models=3, n_problems=12, shared=shared)
    front, _ = exact_front(space)
    budget = float(np.quantile(front.cost, quantile))
    exact = ExactSearch().search(space, Objective(budget=budget))
    heuristic = HeuristicSearch().search(space, Objective(budget=budget))
    assert heuristic.cost <= budget + 1e-9
    assert heuristic.accuracy <= exact.accuracy + 1e-9
    heuristic.plan(space)  # a valid CascadePlan
    if shared:
        assert _shared_theta_holds(space, heuristic)


@pytest.mark.parametrize("method", [ExactSearch(), IntegerProgram(time_limit=60)])
def test_target_accuracy_is_the_dual(method):
    space = _space(3, shared=True)
    front, _ = exact_front(space)
    target = float(front.accuracy[len(front) // 2])
    result = method.search(space, Objective(target_accuracy=target))
    assert result.accuracy >= target - 1e-9
    assert result.cost == pytest.approx(front.cost[len(front) // 2], rel=1e-6)


@pytest.mark.parametrize("method", [ExactSearch(), HeuristicSearch(),
                                    IntegerProgram(time_limit=60)])
def test_budget_below_the_cheapest_plan_names_its_cost(method):
    space = _space(5)
    front, _ = exact_front(space)
    cheapest = float(front.cost[0])
    with pytest.raises(BudgetTooLowError) as info:
        method.search(space, Objective(budget=cheapest * 0.5))
    assert f"{cheapest:.6g}" in str(info.value)


def test_bad_objectives_are_errors():
    with pytest.raises(SearchError, match=r"budget must be a number >= 0, got -1\.0"):
        Objective(budget=-1.0)
    with pytest.raises(SearchError, match="exactly one"):
        Objective()
    with pytest.raises(SearchError, match=r"\[0, 1\]"):
        Objective(target_accuracy=1.5)
