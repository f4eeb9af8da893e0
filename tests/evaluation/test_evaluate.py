"""``evaluate``: rows and summary agree, budgets and protocols are placed as documented, the
CLI prints tables, JSON and a PNG, and bad input is one line with exit status 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_support import cli, saved_profile

from planner.errors import CodecascadeError
from planner.evaluation import (
    Budgets,
    EvaluationRow,
    evaluate,
    evaluate_many,
    fronts_from_json,
    parse_budgets,
    protocol_splits,
    summarise,
)
from planner.synthetic import synthetic_profile

pytestmark = pytest.mark.usefixtures("private_cache")


@pytest.fixture(scope="module")
def profile():
    return synthetic_profile(n_models=3, n_problems=40, n_samples=20, n_tests=20, seed=2)


@pytest.fixture(scope="module")
def profile_path(tmp_path_factory, profile):
    return saved_profile(tmp_path_factory, profile)



def _recomputed(obj):
    rows = [EvaluationRow.from_json(r) for r in obj["rows"]]
    return summarise(rows, fronts_from_json(obj["summary"]))


@pytest.mark.parametrize("selection", ["naive", "shrinkage:budget_confidence=0.9"])
def test_json_rows_reproduce_the_summary(profile, selection):
    result = evaluate(profile, selection=selection, grid="paper", budgets=5)
    obj = json.loads(json.dumps(result.to_json()))
    again = _recomputed(obj).to_json()
    assert again == {k: v for k, v in obj["summary"].items() if k != "settings"}
    assert set(obj) == {"rows", "summary"}
    keys = {"plan", "planning_accuracy", "planning_cost", "heldout_accuracy", "heldout_cost",
            "predicted_accuracy", "predicted_cost"}
    for row in obj["rows"]:
        assert set(row) == {"split", "budget", "cascade", "single"}
        assert set(row["cascade"]) == keys and set(row["single"]) == keys


def test_summary_measures_by_hand(profile):
    """The headline measures from the rows, computed the long way."""
    result = evaluate(profile, selection="naive", grid="paper", budgets=4)
    s = result.summary
    per_split = {}
    for row in result.rows:
        per_split.setdefault(row.split, []).append(row)
    acc = [np.mean([r.cascade.heldout_accuracy for r in rows]) for rows in per_split.values()]
    gain = [100 * np.mean([r.cascade.heldout_accuracy - r.single.heldout_accuracy
                           for r in rows]) for rows in per_split.values()]
    over = [np.mean([r.cascade.heldout_cost > r.budget for r in rows])
            for rows in per_split.values()]
    assert s["heldout_accuracy"].mean == pytest.approx(np.mean(acc))
    assert s["heldout_accuracy"].sd == pytest.approx(np.std(acc, ddof=1))
    assert s["gain_pp"].mean == pytest.approx(np.mean(gain))
    assert s["overrun_rate"].mean == pytest.approx(np.mean(over))
    savings = []
    for name, rows in per_split.items():
        front = s.single_fronts[name]
        values = []
        for r in rows:
            costs = [p.heldout_cost for p in front
                     if p.heldout_accuracy >= r.cascade.heldout_accuracy]
            if costs:
                values.append(1 - r.cascade.heldout_cost / min(costs))
        savings.append(np.mean(values) if values else np.nan)
    assert s["saving"].mean == pytest.approx(np.nanmean(savings))
    assert s["optimism_pp"].mean == pytest.approx(s["in_sample_optimism_pp"].mean)


def test_budgets_span_each_splits_single_model_front(profile):
    result = evaluate(profile, selection="naive", grid="paper", budgets=6)
    for name, front in result.summary.single_fronts.items():
        budgets = [r.budget for r in result.rows if r.split == name]
        costs = [p.planning_cost for p in front]
        assert len(budgets) == 6
        assert budgets[0] == pytest.approx(min(costs)) and budgets[-1] == pytest.approx(
            max(costs))
        ratios = np.diff(np.log(budgets))
        assert np.allclose(ratios, ratios[0])
        rows = [r for r in result.rows if r.split == name]
        assert all(r.single.planning_cost <= r.budget + 1e-12 for r in rows)
        assert all(r.cascade.planning_cost <= r.budget + 1e-12 for r in rows)


def test_fixed_budgets_and_kfold_protocol(profile):
    result = evaluate(profile, selection="naive", grid="paper", protocol="kfold", folds=4,
                      repeats=2, budgets=[0.001, 0.002])
    names = sorted({r.split for r in result.rows})
    assert len(names) == 8 and all(n.startswith("kfold4-seed") for n in names)
    assert {r.budget for r in result.rows} == {0.001, 0.002}
    assert result.settings["protocol"] == "kfold" and result.settings["repeats"] == 2


def test_evaluate_many_equals_evaluate(profile):
    one = evaluate(profile, selection="one-se", grid="paper", budgets=3)
    both = evaluate_many(profile, selections=["naive", "one-se"], grid="paper", budgets=3)
    assert [r.to_json() for r in both[1].rows] == [r.to_json() for r in one.rows]


def test_the_ceiling_is_chosen_on_the_heldout_part(profile):
    result = evaluate(profile, selection="naive", grid="paper", budgets=3, chosen_on="heldout")
    for row in result.rows:
        assert row.cascade.planning_accuracy == pytest.approx(row.cascade.heldout_accuracy)


def test_the_default_selection_is_plans(profile):
    """Without a selection, evaluate chooses as plan does by default: the request's
    selection, budget confidence included."""
    from planner.selection import DEFAULT_SELECTION, get_selector, with_budget_confidence

    result = evaluate(profile, grid="paper", budgets=[0.002], budget_confidence=0.8)
    default = with_budget_confidence(get_selector(DEFAULT_SELECTION), 0.8).label()
    assert result.settings["selection"] == default and "budget_confidence=0.8" in default


def test_protocols_and_budget_parsing():
    assert protocol_splits("paper", 164)[0].name == "paper-seed3"
    assert len(protocol_splits("kfold", 50, folds=5, repeats=3)) == 15
    assert parse_budgets("20") == Budgets(count=20)
    assert parse_budgets("0.001, 0.01").values == (0.001, 0.01)
    assert parse_budgets("1e-3").values == (0.001,)
    spaced = parse_budgets("0.0005:0.06:20").values
    assert len(spaced) == 20 and spaced[0] == pytest.approx(0.0005)
    assert spaced[-1] == pytest.approx(0.06)
    for bad in ("abc", "0", "-1,2", "0.1:0.01:3", "1:2", "0.1,x"):
        with pytest.raises(CodecascadeError):
            parse_budgets(bad)


@pytest.mark.parametrize(("text", "message"), [
    ("0.01,,0.02", "--budgets '0.01,,0.02': an empty item in the list"),
    ("0.01,", "--budgets '0.01,': an empty item in the list"),
    ("-1", "--budgets '-1': budget count must be >= 1, got -1"),
    ("0.01,-2", "--budgets '0.01,-2': a budget must be a positive number, got -2.0"),
])
def test_bad_budgets_name_the_option_and_what_was_given(text, message):
    with pytest.raises(CodecascadeError) as info:
        parse_budgets(text)
    assert str(info.value) == message


def test_cli_prints_tables_json_and_a_plot(profile_path, tmp_path, capsys):
    png = tmp_path / "eval.png"
    assert cli("evaluate", "--profile", profile_path, "--grid", "paper", "--budgets", "4",
               "--plot", str(png)) == 0
    out = capsys.readouterr().out
    assert "held-out accuracy, cascade (%)" in out and "budget $/1k" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert cli("evaluate", "--profile", profile_path, "--grid", "paper", "--budgets",
               "0.001,0.003", "--selection", "one-se", "--json") == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["summary"]["settings"]["selection"] == "one-se"
    assert len(obj["rows"]) == 10


@pytest.mark.parametrize(("args", "message"), [
    (["--protocol", "bogus"], "unknown protocol 'bogus'"),
    (["--budgets", "abc"], "--budgets must be"),
    (["--budgets", "0"], "budget count must be >= 1"),
    (["--budgets", "0.0000001"], "below the cheapest"),
    (["--selection", "nope"], "unknown selection 'nope'"),
    (["--selection", "one-se:foo=1"], "bad option"),
    (["--folds", "1", "--protocol", "kfold"], "--folds must be a whole number >= 2, got 1"),
    (["--repeats", "0", "--protocol", "kfold"],
     "--repeats must be a whole number >= 1, got 0"),
    (["--seed", "-3"], "--seed must be a whole number >= 0, got -3"),
    (["--models", ","], "--models names no model"),
    (["--grid", "default", "--replicates", "1000000"],
     "--replicates = 1000000 would need about"),
    (["--grid", "huge"], "--grid must be one of default, paper, generalised, got 'huge'"),
    (["--plot", "out.txt"], "must end in .png"),
    (["--method", "magic"], "--method must be one of exact, ilp, heuristic, optuna, got "
                            "'magic'"),
])
def test_cli_bad_input_is_one_line_and_exit_2(profile_path, tmp_path, capsys, args, message):
    assert cli("evaluate", "--profile", profile_path, "--grid", "paper", *args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert not (tmp_path / "out.txt").exists()


def test_cli_refuses_to_replace_a_plot_without_overwrite(profile_path, tmp_path, capsys):
    png = tmp_path / "eval.png"
    png.write_bytes(b"keep me")
    assert cli("evaluate", "--profile", profile_path, "--grid", "paper", "--plot",
               str(png)) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert png.read_bytes() == b"keep me"
