"""PlanRequest: every value checked once, on construction (or against the profile when it
is loaded), with a one-line error naming the field; the command line names its option."""

from __future__ import annotations

import dataclasses

import pytest

from planner.errors import CodecascadeError, FieldError
from planner.estimate import sampling as sampling_module
from planner.planning import PlanRequest, as_request, plan, planning_context
from planner.profile import ProfileError
from planner.search import Objective, SearchError
from planner.synthetic import synthetic_profile
from planner.vocabulary import GridName, IlpSolver, MethodName

pytestmark = pytest.mark.usefixtures("private_cache")


@pytest.fixture(scope="module")
def profile():
    return synthetic_profile(n_models=3, n_problems=30, n_samples=20, n_tests=20, seed=1)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"seed": -1}, "seed must be a whole number >= 0, got -1"),
        ({"seed": 1.5}, "seed must be a whole number >= 0, got 1.5"),
        ({"seed": True}, "seed must be a whole number >= 0, got True"),
        ({"replicates": 0}, "replicates must be a whole number >= 1, got 0"),
        ({"models": []}, "models names no model (leave it out for every model), got []"),
        ({"models": ""}, "models names no model (leave it out for every model), got ''"),
        ({"models": ","}, "models names no model (leave it out for every model), got ','"),
        ({"models": " , "}, "models names no model"),
        ({"models": [3]}, "models must be model names, got [3]"),
        ({"budget": "abc"}, "budget must be a number >= 0, got 'abc'"),
        ({"budget": [0.01]}, "budget must be a number >= 0, got [0.01]"),
        ({"budget": -0.5}, "budget must be a number >= 0, got -0.5"),
        ({"budget": float("nan")}, "budget must be a number >= 0, got nan"),
        ({"budget": float("inf")}, "budget must be a number >= 0, got inf"),
        ({"target_accuracy": 1.5}, "target_accuracy must be a number in [0, 1], got 1.5"),
        ({"budget": 0.01, "target_accuracy": 0.8},
         "give exactly one of budget or target_accuracy"),
        ({"method": "simplex"},
         "method must be one of exact, ilp, heuristic, optuna, got 'simplex'"),
        ({"grid": "huge"}, "grid must be one of default, paper, generalised, got 'huge'"),
        ({"split": ""}, "split must be a split name, got ''"),
        ({"prices": {"m": -1.0}}, "prices must be a number >= 0, got -1.0"),
        ({"share_tests": "yes"}, "share_tests must be True or False, got 'yes'"),
        ({"profile": 3}, "profile must be a Profile, a file or a bundled profile's name"),
        ({"method_options": {"ilp": {"time_limit": 0}}},
         "time_limit must be a number > 0, got 0"),
        ({"method_options": {"exact": {"time_limit": -1}}},
         "time_limit must be a number > 0, got -1"),
        ({"method_options": {"ilp": {"solver": "gurobi"}}},
         "solver must be one of auto, highs, cbc, got 'gurobi'"),
        ({"method_options": {"exact": {"trials": 3}}},
         "search method exact has no option 'trials' (its options: time_limit)"),
        ({"method_options": {"optuna": {"trials": 0}}},
         "trials must be a whole number >= 1, got 0"),
        ({"method_options": {"simplex": {}}}, "method must be one of"),
    ],
)
def test_bad_values_are_one_line_field_errors(fields, message):
    with pytest.raises(FieldError) as info:
        PlanRequest(**fields)
    text = str(info.value)
    assert text.startswith(message) and "\n" not in text
    assert isinstance(info.value, CodecascadeError | ValueError)


def test_plan_from_python_with_a_text_budget_is_the_projects_error():
    """plan(budget='abc') fails with the project's one-line error before any work (not a
    TypeError from numpy)."""
    with pytest.raises(SearchError, match=r"^budget must be a number >= 0, got 'abc'$"):
        plan(budget="abc")
    with pytest.raises(FieldError, match="give exactly one of budget or target_accuracy"):
        plan()


def test_values_are_normalised(profile):
    request = PlanRequest(profile, budget="0.01", method="ilp", grid="paper",
                          models="model-0, model-2,model-0",
                          method_options={"ilp": {"time_limit": 5, "solver": "cbc"},
                                          "optuna": {"trials": 7}})
    assert request.budget == 0.01 and request.objective == Objective(budget=0.01)
    assert request.method is MethodName.ILP and request.grid is GridName.PAPER
    assert request.models == ("model-0", "model-2")
    assert request.options_for("ilp") == {"time_limit": 5.0, "solver": IlpSolver.CBC}
    assert request.options_for(MethodName.OPTUNA) == {"trials": 7}
    assert request.options_for("exact") == {}
    assert request.objective.kind == "max_accuracy"
    assert PlanRequest(target_accuracy=0.7).objective.kind == "min_cost"
    assert PlanRequest().objective is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.seed = 3  # type: ignore[misc]
    with pytest.raises(TypeError, match="not both"):
        as_request(request, seed=2)


def test_cli_spelling_of_field_errors():
    with pytest.raises(FieldError) as info:
        PlanRequest(budget=0.01, target_accuracy=0.5)
    names = {"budget": "--budget", "target_accuracy": "--target-accuracy"}
    assert info.value.named(names) == "give exactly one of --budget or --target-accuracy"
    with pytest.raises(FieldError) as info:
        PlanRequest(seed=-4)
    assert info.value.named({"seed": "--seed"}) == "--seed must be a whole number >= 0, got -4"


def test_profile_checks_names_and_the_memory_replicates_need(profile, monkeypatch):
    with pytest.raises(ProfileError, match="unknown model 'gpt-9'"):
        planning_context(profile, models=["model-0", "gpt-9"])
    with pytest.raises(ProfileError, match="unknown model 'gpt-9'"):
        planning_context(profile, prices={"gpt-9": 1e-6})
    # the estimator's draws: 16 bytes x 30 problems x (20 samples + 20 test generations)
    per_replicate = 16 * 30 * 40
    monkeypatch.setattr(sampling_module, "physical_memory", lambda: 1000 * per_replicate)
    with pytest.raises(FieldError) as info:
        planning_context(profile, replicates=1001)
    assert info.value.fields == ("replicates",)
    assert "replicates = 1001 would need about" in str(info.value)
    assert str(info.value).endswith(
        "in all, which would hold at most 1,000 replicates with nothing else running")
    PlanRequest(profile, replicates=1000).check_profile(profile)
    monkeypatch.undo()
    with pytest.raises(FieldError, match="replicates = 1000000000 would need"):
        planning_context(profile, replicates=10**9)


def test_request_and_keywords_give_the_same_spec(profile):
    by_request = plan(PlanRequest(profile, budget=0.002, replicates=16))
    by_keywords = plan(profile, 0.002, replicates=16)
    assert by_request.stages == by_keywords.stages
    assert by_request.planning == by_keywords.planning
    assert by_request.heldout == by_keywords.heldout
