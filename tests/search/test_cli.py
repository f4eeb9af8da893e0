"""plan / frontier / compare end to end on a small synthetic profile: valid specs within
budget, a front with its plot, the method table, and one-line errors with exit status 2."""

from __future__ import annotations

import json

import pytest
from cli_support import cli, saved_profile

from planner.cli import plan_main
from planner.spec import load_spec, validate_spec_json

pytestmark = pytest.mark.usefixtures("private_cache")


@pytest.fixture(scope="module")
def profile_path(tmp_path_factory):
    return saved_profile(tmp_path_factory)


#: Today's rule on the paper's first split: these tests check the search methods' path.
NAIVE = ("--selection", "naive", "--split", "paper-seed3")



def test_plan_prints_a_valid_spec_within_budget(profile_path, capsys):
    assert cli("plan", "--budget", "0.002", "--profile", profile_path, *NAIVE) == 0
    obj = json.loads(capsys.readouterr().out)
    validate_spec_json(obj)
    assert obj["predicted"]["planning"]["cost_per_problem"] <= 0.002 + 1e-12
    assert obj["predicted"]["heldout"]["n_problems"] == 40 - obj["predicted"]["planning"][
        "n_problems"]
    assert obj["search"]["status"] == "optimal" and obj["search"]["method"] == "exact"
    assert obj["provenance"]["split"] == "paper-seed3"
    assert set(obj["provenance"]["prices_per_1m_generated"]) == {"model-0", "model-1",
                                                              "model-2"}


@pytest.mark.parametrize("method", ["heuristic", "ilp", "optuna"])
def test_every_method_gives_a_feasible_spec(profile_path, tmp_path, method, capsys):
    out = tmp_path / "spec.json"
    args = ("plan", "--budget", "0.002", "--profile", profile_path, "--grid", "paper",
            "--method", method, "-o", str(out), *NAIVE)
    assert cli(*args) == 0
    spec = load_spec(out)
    assert spec.planning.cost <= 0.002 + 1e-12
    assert spec.solver.method == method
    thetas = {s.option.theta for s in spec.stages[:-1]}
    assert len(thetas) <= 1  # the paper grid shares one θ


def test_plan_console_script_and_target_accuracy(profile_path, capsys):
    with pytest.raises(SystemExit) as info:
        plan_main(["--target-accuracy", "0.5", "--profile", profile_path, "--split", "all",
                   "--selection", "naive"])
    assert info.value.code == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["objective"] == "min_cost" and obj["budget_per_problem"] is None
    assert obj["predicted"]["planning"]["accuracy"] >= 0.5 - 1e-9
    assert obj["predicted"]["heldout"] is None


def test_frontier_json_and_plot(profile_path, tmp_path, capsys):
    png = tmp_path / "front.png"
    assert cli("frontier", "--profile", profile_path, "--budget", "0.002", "--plot", str(png),
               "--json", *NAIVE) == 0
    obj = json.loads(capsys.readouterr().out)
    front = obj["cascade_front"]
    costs = [p["cost_per_problem"] for p in front]
    accs = [p["accuracy"] for p in front]
    assert costs == sorted(costs) and accs == sorted(accs) and len(set(accs)) == len(accs)
    assert obj["chosen"]["cost_per_problem"] <= 0.002 + 1e-12 and obj["complete"]
    # the cascade front is at least as good as the single-model front everywhere
    for p in obj["single_model_front"]:
        best = max(a for a, c in zip(accs, costs, strict=True)
                   if c <= p["cost_per_problem"] + 1e-12)
        assert best >= p["accuracy"] - 1e-12
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compare_table_has_every_method(profile_path, capsys):
    assert cli("compare", "--budget", "0.002", "--profile", profile_path, "--grid", "paper",
               "--json", *NAIVE) == 0
    rows = {r["method"]: r for r in json.loads(capsys.readouterr().out)["methods"]}
    assert set(rows) == {"exact", "ilp", "heuristic", "optuna"}
    assert rows["exact"]["gap_to_exact"] == 0.0
    assert rows["exact"]["gap_unit"] == "percentage points of accuracy"
    assert rows["ilp"]["gap_to_exact"] == pytest.approx(0.0, abs=1e-4)
    assert all(r["gap_to_exact"] >= -1e-6 and r["cost_per_problem"] <= 0.002 + 1e-12
               for r in rows.values())
    assert cli("compare", "--budget", "0.002", "--profile", profile_path, "--grid", "paper",
               "--methods", "exact,heuristic", *NAIVE) == 0
    text = capsys.readouterr().out
    assert "heuristic" in text and "gap pp" in text


def test_compare_with_test_sharing_refines_every_plan(profile_path, capsys):
    """--share-tests: each method's plan refined as `plan --share-tests` refines it, never
    worse than the plain plan, within the budget, and the exact row is that plan."""
    args = ("--budget", "0.002", "--profile", profile_path, "--methods", "exact,heuristic",
            *NAIVE)
    assert cli("compare", *args, "--json") == 0
    plain = {r["method"]: r for r in json.loads(capsys.readouterr().out)["methods"]}
    assert cli("compare", *args, "--json", "--share-tests") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["share_tests"] is True
    shared = {r["method"]: r for r in report["methods"]}
    for name, row in shared.items():
        assert row["accuracy"] >= plain[name]["accuracy"] - 1e-9
        assert row["cost_per_problem"] <= 0.002 + 1e-9
    assert shared["exact"]["gap_to_exact"] == 0.0
    assert cli("plan", "--budget", "0.002", "--profile", profile_path, "--share-tests",
               *NAIVE) == 0
    spec = json.loads(capsys.readouterr().out)
    labels = [f"{s['model']}[{s['label']}]" for s in spec["stages"]]
    assert shared["exact"]["plan"] == " -> ".join(labels)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--budget", "abc"), "--budget must be a number, got 'abc'"),
        (("--budget", "-0.5"), "--budget must be a number >= 0, got -0.5"),
        (("--budget", "nan"), "--budget must be a number >= 0, got nan"),
        (("--budget", "0.0000001"), "cheapest possible plan, which costs $"),
        (("--budget", "0.01", "--models", "model-0,gpt-9"), "unknown model 'gpt-9'"),
        (("--budget", "0.01", "--method", "simplex"),
         "--method must be one of exact, ilp, heuristic, optuna, got 'simplex'"),
        (("--budget", "0.01", "--grid", "huge"),
         "--grid must be one of default, paper, generalised, got 'huge'"),
        (("--budget", "0.01", "--price", "model-0"),
         "--price must be MODEL=DOLLARS with a number >= 0 ($ per million tokens), got "
         "'model-0'"),
        (("--budget", "0.01", "--time-limit", "0"), "--time-limit must be a number > 0, got 0"),
        (("--budget", "0.01", "--method", "exact", "--time-limit", "-2"),
         "--time-limit must be a number > 0, got -2"),
        (("--budget", "0.01", "--method", "ilp", "--ilp-solver", "gurobi"),
         "--ilp-solver must be one of auto, highs, cbc, got 'gurobi'"),
        (("--target-accuracy", "1.5"), "--target-accuracy must be a number in [0, 1], got 1.5"),
        (("--budget", "0.01", "--seed", "-1"), "--seed must be a whole number >= 0, got -1"),
        (("--budget", "0.01", "--seed", "x"), "--seed must be a whole number, got 'x'"),
        (("--budget", "0.01", "--replicates", "0"),
         "--replicates must be a whole number >= 1, got 0"),
        (("--budget", "0.01", "--replicates", "100000000"),
         "--replicates = 100000000 would need about"),
        (("--budget", "0.01", "--replicates", "1000000"),
         "--replicates = 1000000 would need about"),
        (("--budget", "0.01", "--models", ""), "--models names no model"),
        (("--budget", "0.01", "--models", ","), "--models names no model"),
        ((), "exactly one of --budget or --target-accuracy"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(profile_path, args, needle, capsys):
    assert cli("plan", "--profile", profile_path, *args) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and err.startswith("error: ")


def test_ilp_solver_choice_gives_the_same_optimum(profile_path, capsys):
    """--ilp-solver cbc (PuLP's bundled CBC) and highs prove the optimum exact search finds,
    and the spec names the solver that ran; compare takes the option too."""
    accuracy = {}
    for method, extra in [("exact", ()), ("ilp", ("--ilp-solver", "cbc")),
                          ("ilp", ("--ilp-solver", "highs"))]:
        assert cli("plan", "--budget", "0.002", "--profile", profile_path, "--method",
                   method, *extra, *NAIVE) == 0
        spec = json.loads(capsys.readouterr().out)
        accuracy[extra] = spec["predicted"]["planning"]["accuracy"]
        if method == "ilp":
            assert spec["search"]["status"] == "optimal"
            assert spec["search"]["solver"] in ({"CBC", "bounds"} if "cbc" in extra
                                                else {"HiGHS", "bounds"})
    assert accuracy[("--ilp-solver", "cbc")] == pytest.approx(accuracy[()], abs=1e-9)
    assert accuracy[("--ilp-solver", "highs")] == pytest.approx(accuracy[()], abs=1e-9)
    assert cli("compare", "--budget", "0.002", "--profile", profile_path, "--methods", "ilp",
               "--ilp-solver", "cbc", "--json", *NAIVE) == 0
    row = json.loads(capsys.readouterr().out)["methods"][0]
    assert row["gap_to_exact"] == pytest.approx(0.0, abs=1e-6)


def test_malformed_profile_and_failed_output(tmp_path, profile_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a profile")
    assert cli("plan", "--budget", "0.01", "--profile", str(bad)) == 2
    assert "not a readable profile" in capsys.readouterr().err
    out = tmp_path / "spec.json"
    assert cli("plan", "--budget", "1e-9", "--profile", profile_path, "-o", str(out)) == 2
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]


@pytest.mark.parametrize("command", ["frontier", "compare"])
@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--seed", "-1"), "--seed must be a whole number >= 0, got -1"),
        (("--replicates", "1000000"), "--replicates = 1000000 would need about"),
        (("--models", ","), "--models names no model"),
        (("--models", ""), "--models names no model"),
        (("--time-limit", "0"), "--time-limit must be a number > 0, got 0"),
    ],
)
def test_every_planning_command_checks_the_same_knobs(profile_path, command, args, needle,
                                                        capsys):
    assert cli(command, "--profile", profile_path, "--budget", "0.002", *args) == 2
    err = capsys.readouterr().err
    assert err == f"error: {needle}" + err[len(needle) + 7:] and err.count("\n") == 1


def test_compare_refuses_an_empty_method_list(profile_path, capsys):
    for methods in ("", ","):
        assert cli("compare", "--profile", profile_path, "--budget", "0.002", "--methods",
                   methods) == 2
        assert "--methods names no method" in capsys.readouterr().err


def test_frontier_time_limit_gives_a_partial_front(profile_path, capsys):
    """At its time limit the enumeration stops; the front of the plans seen so far is
    shown and marked partial (the limit is a deadline on the clock: a tiny one passes at
    the first check)."""
    assert cli("frontier", "--profile", profile_path, "--budget", "0.002", "--json",
               "--time-limit", "1e-9") == 0
    captured = capsys.readouterr()
    obj = json.loads(captured.out)
    assert obj["complete"] is False and "stopped early" in captured.err
    assert cli("frontier", "--profile", profile_path, "--json") == 0
    full = json.loads(capsys.readouterr().out)
    assert full["complete"] is True
    assert len(obj["cascade_front"]) <= len(full["cascade_front"])
