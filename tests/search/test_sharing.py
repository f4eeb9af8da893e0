"""Test sharing as a searchable option (planner.search.sharing) on small synthetic profiles:
the variants stay on the grid, the refinement is never worse than its input and stays in
budget, it is the identity when sharing is off, the merged front is a front, and a sharing
plan's spec is scored identically by simulation and by replay."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from cli_support import cli, saved_profile

from planner.estimate import PlanSimulator, simulate_plan
from planner.options import CascadePlan, Stage, StageOption, default_grid, paper_grid
from planner.planning import (
    pareto_front,
    plan,
    planning_context,
    refine_result,
    run_search,
    spec_from_result,
)
from planner.replay import replay_spec
from planner.search import Objective
from planner.search.sharing import refine_with_sharing, sharing_variants, simulate_point
from planner.spec import Prediction, load_spec, save_spec, validate_spec_json
from planner.synthetic import synthetic_profile

REPLICATES = 16


pytestmark = pytest.mark.usefixtures("private_cache")


@pytest.fixture(scope="module")
def profile():
    return synthetic_profile(n_models=3, n_problems=40, n_samples=20, n_tests=20, seed=2)


@pytest.fixture(scope="module")
def profile_path(tmp_path_factory, profile):
    return saved_profile(tmp_path_factory, profile)


@pytest.fixture(scope="module")
def context(profile):
    return planning_context(profile, grid="default", split="paper-seed3",
                            replicates=REPLICATES)


def three_stage(names) -> CascadePlan:
    return CascadePlan((
        Stage(names[0], StageOption(k=3, t=5, l=2, theta=0.5)),
        Stage(names[1], StageOption(k=2, t=3, l=1, theta=0.8)),
        Stage(names[2], StageOption(k=5, t=2, l=2, theta=0.0)),
    ))


def test_variants_stay_on_the_grid(profile):
    base = three_stage(profile.model_names)
    grid = default_grid()
    variants = list(sharing_variants(base, grid))
    # stage 1: any of the 5 t of the grid; stage 2: as is, or sharing with t' in {1, 2, 3}
    # and any of 11 θ; stage 3: as is, or sharing with t' in {1, 2} (θ of the last stage
    # is kept); minus the 5 combinations in which nothing shares
    assert len(variants) == 5 * (1 + 3 * 11) * (1 + 2) - 5
    assert len(set(variants)) == len(variants) and base not in variants
    for v in variants:
        assert any(s.option.share_tests for s in v.stages)
        first = v.stages[0]
        assert not first.option.share_tests and first.model == base.stages[0].model
        assert first.option == dataclasses.replace(base.stages[0].option, t=first.option.t)
        assert first.option.t in grid.ts
        for new, old in zip(v.stages[1:], base.stages[1:], strict=True):
            o, b = new.option, old.option
            assert (o.k, o.l, o.rule) == (b.k, b.l, b.rule)
            if not o.share_tests:
                assert o == b
                continue
            assert o.t <= b.t and o.t in grid.ts and o.theta in grid.thetas
        assert v.stages[2].option.theta == base.stages[2].option.theta
    fixed_first = list(sharing_variants(base, grid, vary_first=False))
    assert len(fixed_first) == (1 + 3 * 11) * (1 + 2) - 1
    assert set(fixed_first) <= set(variants)
    assert all(v.stages[0] == base.stages[0] for v in fixed_first)
    # the paper's grid ties t to k and shares one θ: only the flags change
    paper_variants = list(sharing_variants(base, paper_grid()))
    assert len(paper_variants) == 3
    assert all((s.option.t, s.option.theta) == (b.option.t, b.option.theta)
               for v in paper_variants for s, b in zip(v.stages, base.stages, strict=True))
    # nothing to share: one stage, or a greedy k = 0 last stage after the first
    names = profile.model_names
    assert not list(sharing_variants(CascadePlan((Stage(names[0], StageOption(k=0)),)), grid))
    assert not list(sharing_variants(CascadePlan((
        Stage(names[0], StageOption(k=3, t=3, l=2)), Stage(names[1], StageOption(k=0)))),
        grid))


def test_cached_simulator_matches_fresh_simulations(profile):
    """Many plans through one small-cache simulator give exactly simulate_plan's numbers."""
    problems = np.arange(5, 25)
    simulator = PlanSimulator(profile, problems, REPLICATES, 4, max_cached=2)
    for variant in list(sharing_variants(three_stage(profile.model_names), default_grid()))[::7]:
        cached = simulator.simulate(variant)
        fresh = simulate_plan(profile, variant, problems, REPLICATES, 4)
        assert np.array_equal(cached.correct, fresh.correct)
        assert np.array_equal(cached.cost, fresh.cost)
        assert np.array_equal(cached.answered_by, fresh.answered_by)


@pytest.mark.parametrize("budget", [0.0012, 0.0016, 0.002, 0.003, 0.012])
def test_refinement_is_never_worse_and_fits_the_budget(context, budget):
    objective = Objective(budget=budget)
    result = run_search(context, objective, "exact")
    shared = refine_result(context, result, objective)
    ref = shared.refinement
    base_plan = context.stages_plan(result.stages)
    assert ref.base.plan == base_plan
    # re-simulate both independently of the refinement's own simulator
    chosen = simulate_plan(context.profile, ref.best.plan, context.planning_problems,
                           REPLICATES, context.seed)
    base = simulate_plan(context.profile, base_plan, context.planning_problems, REPLICATES,
                         context.seed)
    assert chosen.correct.mean() == pytest.approx(ref.best.accuracy)
    assert chosen.correct.mean() >= base.correct.mean() - 1e-12
    if ref.improved:
        assert any(s.option.share_tests for s in ref.best.plan.stages)
        assert chosen.cost.mean() <= budget + 1e-9
        assert (chosen.correct.mean() > base.correct.mean()
                or chosen.cost.mean() < base.cost.mean())


def test_refinement_improves_somewhere_on_the_synthetic_profile(context):
    """Shared test lines pay off on some budget (otherwise the tests above prove little)."""
    improved = [refine_result(context, run_search(context, Objective(budget=b)),
                              Objective(budget=b)).refinement.improved
                for b in (0.0016, 0.002)]
    assert any(improved)


@pytest.mark.parametrize("target", [0.6, 0.7])
def test_refinement_for_a_target_accuracy_is_never_dearer(context, target):
    objective = Objective(target_accuracy=target)
    ref = refine_result(context, run_search(context, objective), objective).refinement
    assert ref.best.cost <= ref.base.cost + 1e-12
    if ref.improved:
        assert ref.best.accuracy >= target - 1e-9


def test_without_sharing_it_is_the_identity(context, profile):
    objective = Objective(budget=0.002)
    result = run_search(context, objective, "exact")
    spec = plan(profile, 0.002, split="paper-seed3", selection="naive", replicates=REPLICATES)
    expected = spec_from_result(context, result, objective)
    assert spec.stages == expected.stages
    assert spec.planning == expected.planning and spec.heldout == expected.heldout
    assert spec.solver.method == "exact" and "sharing" not in spec.provenance.extra
    front = pareto_front(context)
    assert not any(p.simulated for p in front)
    assert not any(s.option.share_tests for p in front for s in p.plan.stages)
    # a plan with nothing to share is returned as it is, with no variant scored
    single = CascadePlan((Stage(profile.model_names[2], StageOption(k=5, t=2, l=2)),))
    ref = refine_with_sharing(context.simulator(), single, objective, context.grid)
    assert ref.best.plan == single and not ref.improved and ref.variants_evaluated == 0


def test_merged_front_is_a_front_that_keeps_only_undominated_plans(context):
    exact = pareto_front(context)
    merged = pareto_front(context, share_tests=True)
    cost = np.array([p.cost for p in merged])
    acc = np.array([p.accuracy for p in merged])
    assert (np.diff(cost) >= 0).all() and (np.diff(acc) > 0).all()
    assert any(p.simulated for p in merged)
    for p in merged:
        assert p.simulated == any(s.option.share_tests for s in p.plan.stages)
        assert p.heldout_accuracy is not None and p.heldout_cost is not None
        if p.simulated:  # its numbers are the simulated ones on both parts
            for problems, a, c in ((context.planning_problems, p.accuracy, p.cost),
                                   (context.heldout_problems, p.heldout_accuracy,
                                    p.heldout_cost)):
                sim = PlanSimulator(context.profile, problems, REPLICATES, context.seed)
                point = simulate_point(sim, p.plan)
                assert (point.accuracy, point.cost) == pytest.approx((a, c))
    kept = {p.label for p in merged}
    for p in exact:  # an exact front plan left out is dominated by the merged front
        if p.label not in kept:
            assert any(q.cost <= p.cost + 1e-12 and q.accuracy >= p.accuracy for q in merged)


def test_sharing_spec_replays_identically(profile_path, tmp_path):
    """The spec's planning prediction of a sharing plan is what simulate_plan and replay
    (planner.replay.replay_spec) give on the same problems and draws."""
    spec = plan(profile_path, 0.002, split="paper-seed3", selection="naive", replicates=REPLICATES,
                share_tests=True)
    assert any(s.option.share_tests for s in spec.stages)
    assert spec.solver.method == "exact+sharing" and spec.solver.status == "feasible"
    assert spec.solver.gap is None
    extra = spec.provenance.extra
    assert extra["sharing"]["improved"] and "simulation" in extra["prediction"]
    assert spec.planning.cost <= 0.002 + 1e-9
    assert spec.planning.accuracy >= extra["sharing"]["base_simulated"]["accuracy"]
    assert spec.planning.accuracy_mc_se > 0 and spec.heldout.cost_mc_se > 0
    path = save_spec(spec, tmp_path / "spec.json")
    assert load_spec(path) == spec
    replayed = replay_spec(path, part="validation", replicates=REPLICATES)["replayed"]
    assert replayed["accuracy"] == pytest.approx(spec.planning.accuracy, abs=1e-12)
    assert replayed["cost_per_problem"] == pytest.approx(spec.planning.cost, rel=1e-12)
    assert replayed["accuracy_mc_se"] == pytest.approx(spec.planning.accuracy_mc_se)
    context = planning_context(profile_path, split="paper-seed3", selection="naive",
                               replicates=REPLICATES)
    sim = simulate_plan(context.profile, spec.plan, context.planning_problems, REPLICATES, 0)
    assert sim.correct.mean() == pytest.approx(spec.planning.accuracy, abs=1e-12)
    heldout = replay_spec(path, part="test", replicates=REPLICATES)["replayed"]
    assert heldout["accuracy"] == pytest.approx(spec.heldout.accuracy, abs=1e-12)


def test_prediction_monte_carlo_errors_round_trip():
    p = Prediction("validation", 49, 0.8, (0.7, 0.9), 0.01, (0.009, 0.011),
                   accuracy_mc_se=0.004, cost_mc_se=1e-4)
    assert Prediction.from_json(p.to_json()) == p
    plain = Prediction("validation", 49, 0.8, (0.7, 0.9), 0.01, (0.009, 0.011))
    assert "accuracy_mc_se" not in plain.to_json()
    assert Prediction.from_json(plain.to_json()) == plain



def test_cli_share_tests_on_plan_and_frontier(profile_path, tmp_path, capsys):
    assert cli("plan", "--budget", "0.002", "--profile", profile_path, "--replicates",
               str(REPLICATES), "--share-tests", "--selection", "naive", "--split",
               "paper-seed3") == 0
    obj = json.loads(capsys.readouterr().out)
    validate_spec_json(obj)
    assert obj["search"]["method"] == "exact+sharing"
    assert any(s["share_tests"] for s in obj["stages"])
    assert obj["predicted"]["planning"]["cost_per_problem"] <= 0.002 + 1e-9
    assert cli("frontier", "--profile", profile_path, "--replicates", str(REPLICATES),
               "--share-tests", "--budget", "0.002", "--json", "--selection", "naive",
               "--split", "paper-seed3", "--plot",
               str(tmp_path / "front.png")) == 0
    front = json.loads(capsys.readouterr().out)
    assert front["share_tests"] is True
    assert front["chosen"]["plan"] == " -> ".join(
        f"{s['model']}[{s['label']}]" for s in obj["stages"])
    assert {p["estimator"] for p in front["cascade_front"]} == {"exact", "simulation"}
    assert (tmp_path / "front.png").stat().st_size > 0


@pytest.mark.parametrize("method", ["heuristic", "ilp"])
def test_other_methods_refine_their_own_plan(profile, method):
    spec = plan(profile, 0.002, method=method, split="paper-seed3", selection="naive",
                replicates=REPLICATES, share_tests=True)
    assert spec.solver.method == f"{method}+sharing"
    assert spec.planning.cost <= 0.002 + 1e-9
    sharing = spec.provenance.extra["sharing"]
    assert sharing["chosen_simulated"]["accuracy"] >= sharing["base_simulated"]["accuracy"]
    assert json.loads(spec.dumps())["search"]["method"] == f"{method}+sharing"  # validated
