"""Test-sharing refinement on the real bundled default profile (skipped when it is not
bundled): on both grids and a budget sweep across the exact front, the refined plan fits
the budget and is never worse than the exact optimum, both re-simulated on the planning
problems with the same draws (the paper grid: its loops, an exact average)."""

from __future__ import annotations

import numpy as np
import pytest

from planner.estimate import simulate_plan
from planner.planning import planning_context, refine_result, run_search
from planner.search import Objective, exact_front


@pytest.mark.slow
@pytest.mark.parametrize("grid", ["paper", "default"])
def test_refined_plans_fit_and_are_never_worse(default_profile_path, grid):
    context = planning_context(default_profile_path, grid=grid, split="paper-seed3")
    front, _ = exact_front(context.planning)
    improved = 0
    for budget in np.quantile(front.cost, [0.3, 0.6, 0.9]):
        objective = Objective(budget=float(budget))
        result = run_search(context, objective, "exact")
        ref = refine_result(context, result, objective).refinement
        improved += ref.improved

        def simulated(plan):
            sim = simulate_plan(context.profile, plan, context.planning_problems,
                                context.replicates, context.seed, context.grid.sampling)
            return sim.correct.mean(), sim.cost.mean()

        acc, cost = simulated(ref.best.plan)
        base_acc, _ = simulated(context.stages_plan(result.stages))
        assert (acc, cost) == pytest.approx((ref.best.accuracy, ref.best.cost))
        assert acc >= base_acc - 1e-12
        if ref.improved:
            assert cost <= budget + 1e-9
    if grid == "default":
        assert improved >= 1
