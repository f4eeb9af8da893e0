"""The planning API end to end on a small synthetic profile: the CLI prints what plan()
returns, frontier() and compare_methods() use the request (method options, test sharing),
and the planning API's old home still serves its names."""

from __future__ import annotations

import json

import pytest
from cli_support import cli, saved_profile

from planner.planning import (
    PlanRequest,
    compare_methods,
    frontier,
    plan,
    planning_context,
    run_search,
)
from planner.vocabulary import MethodName, ObjectiveKind, SolverStatus

REPLICATES = 16


pytestmark = pytest.mark.usefixtures("private_cache")


@pytest.fixture(scope="module")
def profile_path(tmp_path_factory):
    return saved_profile(tmp_path_factory)



def _untimed(obj):
    obj = json.loads(json.dumps(obj))
    obj["search"].pop("seconds")
    obj["provenance"].pop("created")
    return obj


@pytest.mark.parametrize("args", [("--budget", "0.002"),
                                  ("--target-accuracy", "0.6", "--method", "heuristic"),
                                  ("--budget", "0.002", "--share-tests")])
def test_cli_prints_the_spec_plan_returns(profile_path, capsys, args):
    assert cli("plan", "--profile", profile_path, "--replicates", str(REPLICATES), *args) == 0
    printed = json.loads(capsys.readouterr().out)
    fields = {"budget": None, "target_accuracy": None, "method": "exact", "share_tests": False}
    for i, arg in enumerate(args):
        if arg.startswith("--") and arg != "--share-tests":
            fields[arg[2:].replace("-", "_")] = args[i + 1]
    fields["share_tests"] = "--share-tests" in args
    spec = plan(PlanRequest(profile_path, replicates=REPLICATES, **fields))
    assert _untimed(printed) == _untimed(spec.to_json())


def test_method_options_reach_the_method(profile_path):
    request = PlanRequest(profile_path, budget=0.002, replicates=REPLICATES,
                          method_options={"optuna": {"trials": 7}})
    context = planning_context(request)
    assert context.request is request and context.seed == 0
    result = run_search(context, request.objective, "optuna")
    assert result.plans_evaluated == 7 and result.status is SolverStatus.HEURISTIC
    assert run_search(context, request.objective, "optuna", trials=4).plans_evaluated == 4
    spec = plan(PlanRequest(profile_path, budget=0.002, replicates=REPLICATES,
                            method="optuna", method_options={"optuna": {"trials": 7}},
                            selection="naive"))
    assert spec.solver.plans_evaluated == 7 and spec.objective is ObjectiveKind.MAX_ACCURACY
    # the default selection finds its candidates with the requested method too
    spec = plan(PlanRequest(profile_path, budget=0.002, replicates=REPLICATES,
                            method="optuna", method_options={"optuna": {"trials": 7}}))
    assert spec.solver.method.startswith("optuna+shrinkage")


def test_frontier_chooses_what_plan_chooses(profile_path):
    for share in (False, True):
        request = PlanRequest(profile_path, budget=0.002, replicates=REPLICATES,
                              share_tests=share)
        fronts = frontier(request)
        spec = plan(request)
        assert fronts.chosen.label == spec.plan.label()
        assert fronts.chosen.accuracy == pytest.approx(spec.planning.accuracy, abs=1e-12)
        assert fronts.chosen.simulated == any(s.option.share_tests for s in spec.stages)
        assert fronts.context.request is request
        assert [p.cost for p in fronts.cascade] == sorted(p.cost for p in fronts.cascade)
    assert frontier(profile_path, replicates=REPLICATES).chosen is None


def test_compare_uses_each_methods_options(profile_path):
    request = PlanRequest(profile_path, budget=0.002, replicates=REPLICATES,
                          method_options={"optuna": {"trials": 9}, "ilp": {"solver": "cbc"}})
    rows = compare_methods(planning_context(request), request.objective,
                           ["optuna", "ilp", "exact"])
    by_name = {r.method: r for r in rows}
    assert list(by_name)[:3] == [MethodName.OPTUNA, MethodName.ILP, MethodName.EXACT]
    assert by_name["optuna"].result.plans_evaluated == 9
    assert by_name["ilp"].result.solver in {"CBC", "bounds"}
    assert by_name["exact"].gap_pp == 0.0
    assert by_name["ilp"].gap_pp == pytest.approx(0.0, abs=1e-6)
    # the last row is plan's default selection: within budget, no better than the optimum
    selected = rows[-1]
    assert list(by_name)[-1] == f"selection {request.selector().label()}"
    assert selected.cost <= 0.002 + 1e-12 and selected.gap_pp >= -1e-9
    assert selected.label == plan(request).plan.label()
    naive = PlanRequest(profile_path, budget=0.002, replicates=REPLICATES, selection="naive")
    assert len(compare_methods(planning_context(naive), naive.objective, ["exact"])) == 1


def test_the_old_home_serves_the_same_names():
    import planner
    import planner.planning as planning
    import planner.search.api as old

    for name in ("plan", "planning_context", "pareto_front", "compare_methods",
                 "single_model_front", "refine_result", "run_search", "spec_from_result",
                 "parse_prices", "PlanningContext", "FrontPoint", "Comparison"):
        assert getattr(old, name) is getattr(planning, name)
    assert planner.plan is planning.plan and planner.PlanRequest is PlanRequest
