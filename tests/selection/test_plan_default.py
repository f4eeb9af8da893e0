"""``plan``'s default selection: the spec states a prediction for new problems (corrected
for selection, with intervals) that survives the spec file, ``--selection naive --split
paper-seed3`` is today's plan, ``--budget-confidence`` refuses a budget no plan meets with
that confidence, a target accuracy is reached by the shrunk estimate, and ``replay`` checks
the statement on problems the plan was not chosen on."""

from __future__ import annotations

import json

import pytest
from cli_support import cli, saved_profile

from planner.planning import PlanRequest, plan, planning_context, run_search
from planner.replay import replay_spec
from planner.search.errors import BudgetTooLowError
from planner.selection import DEFAULT_SELECTION, SelectionError
from planner.selection.candidates import candidate_set
from planner.selection.honest import cost_bounds
from planner.spec import CascadeSpec, load_spec, save_spec

REPLICATES = 16
#: The paper grid keeps the fronts (and so the inner cross-validation) small.
GRID = "paper"
KW = {"replicates": REPLICATES, "grid": GRID}


pytestmark = pytest.mark.usefixtures("private_cache")


@pytest.fixture(scope="module")
def profile_path(tmp_path_factory):
    return saved_profile(tmp_path_factory, seed=4)



def test_the_default_plans_on_every_problem_and_states_new_problems(profile_path,
                                                                     tmp_path):
    spec = plan(profile_path, 0.002, **KW)
    assert spec.provenance.split == "all" and spec.heldout is None
    assert spec.planning.n_problems == 40
    new = spec.new_problems
    assert new.selection == DEFAULT_SELECTION
    assert new.accuracy_ci[0] <= new.accuracy <= new.accuracy_ci[1]
    assert new.cost_ci[0] <= new.cost <= new.cost_ci[1]
    assert "cross-validation" in new.method
    # the statement is not the in-sample mean (it is corrected for selection)
    assert new.accuracy != pytest.approx(spec.planning.accuracy, abs=1e-9)
    path = save_spec(spec, tmp_path / "spec.json")
    assert load_spec(path) == spec
    assert CascadeSpec.from_json(json.loads(spec.dumps())) == spec


def test_naive_on_the_papers_split_is_todays_plan(profile_path, capsys):
    request = PlanRequest(profile_path, budget=0.002, **KW, split="paper-seed3",
                          selection="naive")
    spec = plan(request)
    result = run_search(planning_context(request), request.objective)
    assert spec.solver.method == "exact" and spec.solver.status == result.status
    assert [(s.model, s.option) for s in spec.stages] == [
        (s.model, s.option) for s in planning_context(request).stages_plan(
            result.stages).stages]
    assert spec.planning.accuracy == result.accuracy and spec.new_problems is None
    assert cli("plan", "--profile", profile_path, "--replicates", str(REPLICATES), "--grid",
               GRID, "--budget", "0.002", "--split", "paper-seed3", "--selection",
               "naive") == 0
    printed = json.loads(capsys.readouterr().out)
    assert [s["label"] for s in printed["stages"]] == [s.option.label() for s in spec.stages]
    assert "new_problems" not in printed["predicted"]


def test_budget_confidence_refuses_a_budget_no_plan_meets(profile_path, capsys):
    low = plan(profile_path, **KW, selection="naive",
               target_accuracy=0.0).planning.cost  # the cheapest plan's mean cost
    # the cheapest plan's mean cost fits its own cost as a budget, its upper bound does not
    with pytest.raises(BudgetTooLowError, match=r"with confidence 0\.99"):
        plan(profile_path, low, **KW, budget_confidence=0.99)
    assert plan(profile_path, low, **KW, selection="naive").budget == low
    code = cli("plan", "--profile", profile_path, "--replicates", str(REPLICATES), "--grid",
               GRID, "--budget", repr(low), "--budget-confidence", "0.99")
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "confidence 0.99" in err
    code = cli("plan", "--profile", profile_path, "--budget", "0.01", "--grid", GRID,
               "--budget-confidence", "0.2")
    err = capsys.readouterr().err
    assert code == 2 and "--budget-confidence" in err and err.count("\n") == 1
    code = cli("plan", "--profile", profile_path, "--budget", "0.01", "--grid", GRID,
               "--selection", "nope")
    err = capsys.readouterr().err
    assert code == 2 and "--selection" in err and err.count("\n") == 1


@pytest.mark.parametrize("confidence", [0.5, 0.9, 0.99])
def test_the_plans_cost_bound_fits_the_budget(profile_path, confidence):
    """With confidence P the chosen plan's P-upper bootstrap bound of its mean cost over
    the planning problems is within the budget."""
    request = PlanRequest(profile_path, budget=0.002, **KW,
                          budget_confidence=confidence)
    spec = plan(request)
    context = planning_context(request)
    stages = [(context.profile.model_index(s.model),
               context.planning.tables[context.profile.model_index(s.model)].options.index(
                   s.option)) for s in spec.stages]
    bound = cost_bounds(candidate_set(context.planning, [tuple(stages)]), confidence, 0)[0]
    assert bound <= 0.002 + 1e-12
    assert spec.new_problems.selection.startswith(f"shrinkage:budget_confidence={confidence}")


def test_target_accuracy_by_the_shrunk_estimate(profile_path):
    spec = plan(profile_path, **KW, target_accuracy=0.5)
    shrunk = spec.new_problems  # the statement is there for a target too
    assert shrunk is not None and spec.target_accuracy == 0.5
    with pytest.raises(SelectionError, match="no plan reaches accuracy"):
        plan(profile_path, **KW, target_accuracy=0.999)
    with pytest.raises(SelectionError, match="budget only"):
        plan(profile_path, **KW, target_accuracy=0.5, selection="one-se")


def test_replay_checks_the_statement_on_heldout_problems(profile_path, tmp_path):
    spec = plan(profile_path, 0.002, **KW, split="paper-seed3")
    path = save_spec(spec, tmp_path / "spec.json")
    out = replay_spec(path, part="test", replicates=REPLICATES)
    check = out["new_problems"]
    assert check["unseen_problems"] is True
    assert check["accuracy_error_pp"] == pytest.approx(
        100 * (spec.new_problems.accuracy - out["replayed"]["accuracy"]))
    assert check["stated"] == spec.new_problems.to_json()
    # replaying the planning part does not check the statement, and says so
    assert replay_spec(path, part="validation", replicates=REPLICATES)[
        "new_problems"]["unseen_problems"] is False
    everything = save_spec(plan(profile_path, 0.002, **KW),
                           tmp_path / "all.json")
    out = replay_spec(everything, part="test", replicates=REPLICATES)
    assert out["new_problems"]["unseen_problems"] is False
    assert any("no held-out part" in n for n in out["notes"])


def test_the_help_names_the_default_selection():
    """The command line leaves the default to the request (no heavy import at start-up);
    its help names the registry's default selection and each of its options."""
    import typing

    from planner.cli.evaluate_cmd import evaluate
    from planner.cli.plan_cmd import SelectionOpt

    name, _, options = DEFAULT_SELECTION.partition(":")
    selection = typing.get_type_hints(evaluate, include_extras=True)["selection"]
    for annotated in (SelectionOpt, selection):
        text = typing.get_args(annotated)[1].help
        assert name in text and all(o in text for o in options.split(",")), text
