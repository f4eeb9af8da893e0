"""The planner on the real bundled default profile (skipped when it is not bundled): exact
search and the integer program agree on a budget sweep, plans stay within budget on the
planning split, the heuristic is feasible and close, and `plan --budget 0.01` works."""

from __future__ import annotations

import json

import numpy as np
import pytest

from planner.options import Grid
from planner.search import ExactSearch, HeuristicSearch, IntegerProgram, Objective, exact_front
from planner.search.api import planning_context


def _paper_grid_high_theta() -> Grid:
    """The paper's grid with θ in {0.9, 1.0} only (its rule of thumb) so the integer
    program's sweep stays short."""
    return Grid(name="paper-high-theta", ks=(3, 5, 10), ts=None, ls=(2, 4),
                thetas=(0.9, 1.0), greedy_ls=(2, 4), shared_theta=True,
                sampling="paper_loops")


@pytest.mark.slow
def test_exact_and_ilp_agree_on_a_budget_sweep(default_profile_path):
    context = planning_context(default_profile_path, grid=_paper_grid_high_theta(),
                               split="paper-seed3")
    space = context.planning
    front, _ = exact_front(space)
    for budget in np.quantile(front.cost, [0.0, 0.25, 0.5, 0.75, 1.0]):
        objective = Objective(budget=float(budget))
        exact = ExactSearch().search(space, objective)
        ilp = IntegerProgram(time_limit=120).search(space, objective)
        assert ilp.status == "optimal"
        assert ilp.accuracy == pytest.approx(exact.accuracy, abs=1e-6)
        assert exact.cost <= budget + 1e-12 and ilp.cost <= budget + 1e-9


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
    assert spec["predicted"]["planning"]["cost"] <= 0.01
    assert spec["provenance"]["profile"] == "wizardcoder-humaneval"
