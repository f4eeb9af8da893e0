"""The method registry (per-method options with defaults) and the search's result types
(no placeholders: honest statuses and gaps)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from planner.search import (
    METHODS,
    ExactSearch,
    IntegerProgram,
    Objective,
    OptunaSearch,
    SearchFieldError,
    SearchOutcome,
    SearchResult,
    SearchSpace,
    get_method,
    method_entry,
)
from planner.search.ilp import TIME_LIMIT
from planner.search.optuna_search import N_TRIALS
from planner.vocabulary import IlpSolver, MethodName, SolverStatus

from .tables import random_tables


def test_every_method_is_registered_with_checked_defaults():
    assert list(METHODS) == list(MethodName)
    for name, entry in METHODS.items():
        assert entry.name is name and entry.summary
        assert entry.check({}) == entry.defaults()
        method = get_method(name)
        assert method.name == name
    assert METHODS[MethodName.ILP].defaults() == {"time_limit": TIME_LIMIT,
                                                  "solver": IlpSolver.AUTO}
    assert METHODS[MethodName.OPTUNA].defaults() == {"trials": N_TRIALS, "seed": None,
                                                     "time_limit": None}
    # every method takes a time limit (none by default but the integer program's)
    for name in (MethodName.EXACT, MethodName.HEURISTIC):
        assert METHODS[name].defaults() == {"time_limit": None}


def test_options_reach_the_method():
    ilp = get_method("ilp", time_limit=7, solver="cbc")
    assert isinstance(ilp, IntegerProgram)
    assert ilp.time_limit == 7.0 and ilp.solver == "cbc"
    optuna = get_method(MethodName.OPTUNA, trials=12, seed=5)
    assert isinstance(optuna, OptunaSearch) and (optuna.trials, optuna.seed) == (12, 5)
    assert isinstance(get_method("exact"), ExactSearch)
    assert get_method("exact", time_limit=3).time_limit == 3.0
    assert get_method("optuna", time_limit=2).time_limit == 2.0
    assert get_method("heuristic", time_limit=1).time_limit == 1.0
    assert method_entry("heuristic").name is MethodName.HEURISTIC


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("simplex", {}, "method must be one of exact, ilp, heuristic, optuna, got 'simplex'"),
        ("exact", {"trials": 3}, "search method exact has no option 'trials'"),
        ("exact", {"time_limit": 0}, "time_limit must be a number > 0, got 0"),
        ("ilp", {"time_limit": -1}, "time_limit must be a number > 0, got -1"),
        ("ilp", {"time_limit": float("inf")}, "time_limit must be a number > 0, got inf"),
        ("ilp", {"time_limit": "10"}, "time_limit must be a number > 0, got '10'"),
        ("ilp", {"time_limit": None}, "time_limit cannot be None"),
        ("ilp", {"solver": "gurobi"}, "solver must be one of auto, highs, cbc, got 'gurobi'"),
        ("optuna", {"trials": 2.5}, "trials must be a whole number >= 1, got 2.5"),
        ("optuna", {"seed": -2}, "seed must be a whole number >= 0, got -2"),
        ("optuna", {"sampler": "tpe"},
         "search method optuna has no option 'sampler' (its options: trials, seed, "
         "time_limit)"),
    ],
)
def test_bad_options_are_one_line_errors(name, options, message):
    with pytest.raises(SearchFieldError) as info:
        get_method(name, **options)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_optuna_seed_option_overrides_the_search_seed():
    space = SearchSpace(tuple(random_tables(3, 3, 8, (0.5, 1.0))), False)
    objective = Objective(budget=float(np.mean([t.cost.max() for t in space.tables])))
    pinned = get_method("optuna", trials=20, seed=11)
    assert (pinned.search(space, objective, seed=0).stages
            == pinned.search(space, objective, seed=99).stages
            == get_method("optuna", trials=20).search(space, objective, seed=11).stages)


def test_outcomes_and_results_hold_no_placeholders():
    assert SearchOutcome(((0, 1),), "optimal").gap == 0.0
    assert SearchOutcome(((0, 1),), "heuristic").status is SolverStatus.HEURISTIC
    assert SearchOutcome(((0, 1),), SolverStatus.FEASIBLE, 0.25).gap == 0.25
    for status, gap in (("optimal", 0.1), ("heuristic", 0.0), ("feasible", -1.0),
                        ("feasible", float("nan"))):
        with pytest.raises(ValueError, match="gap"):
            SearchOutcome(((0, 1),), status, gap)
    with pytest.raises(ValueError):
        SearchOutcome(((0, 1),), "great")
    space = SearchSpace(tuple(random_tables(1, 3, 8, (0.5, 1.0))), False)
    objective = Objective(budget=float(np.mean([t.cost.max() for t in space.tables])))
    for name in MethodName:
        result = get_method(name, **({"trials": 30} if name == "optuna" else {})).search(
            space, objective)
        assert isinstance(result, SearchResult) and result.method == name
        assert math.isfinite(result.accuracy) and math.isfinite(result.cost)
        assert result.seconds > 0 and result.plans_evaluated > 0
        assert isinstance(result.status, SolverStatus)
        if result.status is SolverStatus.HEURISTIC:
            assert result.gap is None
        else:
            assert result.gap is not None and result.gap >= 0
