"""The planner on the real bundled default profile (skipped when it is not bundled): exact
search and the integer program agree on a budget sweep, plans stay within budget on the
planning split, the heuristic is feasible and close, and `plan --budget 0.01` works."""

from __future__ import annotations

import json

import numpy as np
import pytest

from planner.planning import planning_context
from planner.search import ExactSearch, HeuristicSearch, IntegerProgram, Objective, exact_front


@pytest.mark.slow
@pytest.mark.parametrize("grid", ["default", "paper"])
def test_exact_and_ilp_agree_on_a_budget_sweep(default_profile_path, grid):
    """Both grids, budgets along the whole exact front: the integer program proves the
    same optimum as enumeration."""
    context = planning_context(default_profile_path, grid=grid, split="paper-seed3")
    space = context.planning
    front, _ = exact_front(space)
    for budget in np.quantile(front.cost, np.linspace(0, 1, 7)):
        objective = Objective(budget=float(budget))
        exact = ExactSearch().search(space, objective)
        ilp = IntegerProgram(time_limit=300).search(space, objective)
        assert ilp.status == "optimal", budget
        assert ilp.accuracy == pytest.approx(exact.accuracy, abs=1e-6), budget
        assert exact.cost <= budget + 1e-12 and ilp.cost <= budget + 1e-9


@pytest.mark.slow
def test_exact_and_ilp_agree_on_the_dual_problem(default_profile_path):
    """The cheapest plan reaching a target accuracy: at 0.75 the integer program once
    reported a plan 9.5 % dearer than the optimum as optimal (it bounded each chain by its
    largest first-stage cost bound instead of its smallest)."""
    space = planning_context(default_profile_path, split="paper-seed3").planning
    for target in (0.6, 0.75, 0.8):
        objective = Objective(target_accuracy=target)
        exact = ExactSearch().search(space, objective)
        ilp = IntegerProgram(time_limit=300).search(space, objective)
        assert ilp.status == "optimal", target
        assert ilp.cost == pytest.approx(exact.cost, rel=1e-6), target
        assert ilp.accuracy >= target - 1e-9


@pytest.mark.slow
def test_ilp_proves_the_exact_optimum_on_the_seven_model_profile():
    """The second bundled profile (seven models, 2.5e12 plans on the default grid): at
    budgets below, at and above the median single-model plan the integer program proves
    the optimum that pruned enumeration finds."""
    from planner.planning import single_model_front

    context = planning_context("humaneval-extra", split="paper-seed3")
    space = context.planning
    single = single_model_front(context)
    for budget in (single[len(single) // 4].cost, single[len(single) // 2].cost,
                   single[3 * len(single) // 4].cost):
        objective = Objective(budget=float(budget))
        exact = ExactSearch().search(space, objective)
        ilp = IntegerProgram(time_limit=300).search(space, objective)
        assert ilp.status == "optimal", budget
        assert ilp.accuracy == pytest.approx(exact.accuracy, abs=1e-6), budget
        assert ilp.cost <= budget + 1e-9


def test_default_grid_plans_fit_and_heuristic_is_close(default_profile_path):
    context = planning_context(default_profile_path, split="paper-seed3")
    space = context.planning
    front, _ = exact_front(space)
    gaps = []
    for budget in np.quantile(front.cost, np.linspace(0, 1, 8)):
        objective = Objective(budget=float(budget))
        exact = ExactSearch().search(space, objective)
        heuristic = HeuristicSearch().search(space, objective)
        assert exact.cost <= budget + 1e-12 and heuristic.cost <= budget + 1e-12
        assert heuristic.accuracy <= exact.accuracy + 1e-12
        gaps.append(exact.accuracy - heuristic.accuracy)
    assert np.mean(gaps) <= 0.01


def test_plan_budget_001_on_the_default_profile(default_profile_path, capsys):
    from planner.cli import plan_main

    with pytest.raises(SystemExit) as info:
        plan_main(["--budget", "0.01"])
    assert info.value.code == 0
    spec = json.loads(capsys.readouterr().out)
    assert spec["predicted"]["planning"]["cost_per_problem"] <= 0.01
    assert spec["provenance"]["profile"] == "wizardcoder-humaneval"
