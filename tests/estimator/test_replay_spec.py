"""Replaying a spec as it was planned: its own prices (overrides included) unless told
otherwise, a one-line error for a spec the profile cannot serve, and an edited spec
flagged as no longer matching its own prediction."""

from __future__ import annotations

import json

import pytest
from cli_support import saved_profile

from planner.cli import main
from planner.planning import plan
from planner.replay import replay_spec
from planner.spec import save_spec

REPLICATES = 16


pytestmark = pytest.mark.usefixtures("private_cache")


@pytest.fixture(scope="module")
def profile_path(tmp_path_factory):
    return saved_profile(tmp_path_factory, seed=3)


@pytest.fixture(scope="module")
def repriced_spec(profile_path, tmp_path_factory):
    """A spec planned with model-1 at $5 per million generated tokens (--price)."""
    spec = plan(str(profile_path), 0.004, replicates=REPLICATES, prices={"model-1": 5.0},
                split="paper-seed3", selection="naive")
    # the override is in the plan (or the test proves nothing), among several stages
    assert "model-1" in spec.models and len(spec.stages) > 1
    return save_spec(spec, tmp_path_factory.mktemp("specs") / "priced.json"), spec


def run_cli(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def test_a_repriced_spec_replays_at_its_own_prices(repriced_spec):
    path, spec = repriced_spec
    assert spec.provenance.prices_per_1m["model-1"] == pytest.approx(5.0)
    out = replay_spec(path, part="validation", replicates=REPLICATES)
    # the planning part, the spec's seed and prices: the prediction, reproduced
    assert out["replayed"]["cost_per_problem"] == pytest.approx(spec.planning.cost,
                                                                rel=1e-12)
    assert out["replayed"]["accuracy"] == pytest.approx(spec.planning.accuracy, abs=1e-12)
    assert out["prices_per_1m_generated"]["model-1"] == pytest.approx(5.0)
    assert out["notes"] == [] and out["prediction_matches_stages"] is True


def test_replay_price_overrides_the_specs(repriced_spec, capsys):
    path, _ = repriced_spec
    base = replay_spec(path, part="validation", replicates=REPLICATES)
    dearer = replay_spec(path, part="validation", replicates=REPLICATES,
                         prices={"model-1": 50.0})
    assert dearer["replayed"]["cost_per_problem"] > base["replayed"]["cost_per_problem"]
    assert dearer["prices_per_1m_generated"]["model-1"] == pytest.approx(50.0)
    assert any("prices overridden" in n for n in dearer["notes"])
    assert not any("profile differs" in n for n in dearer["notes"])
    code, out, err = run_cli(["replay", str(path), "--split", "validation", "--replicates",
                              str(REPLICATES), "--price", "model-1=50", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["replayed"] == dearer["replayed"]


def _swap_models(stages: list[dict]) -> None:
    """The first and last stages' models swapped (the stage order changed)."""
    stages[0]["model"], stages[-1]["model"] = stages[-1]["model"], stages[0]["model"]


@pytest.mark.parametrize("edit", [
    lambda stages: stages[0].update(theta=0.0 if stages[0]["theta"] else 1.0),
    _swap_models,
])
def test_an_edited_spec_is_flagged(repriced_spec, tmp_path, edit, capsys):
    path, _ = repriced_spec
    obj = json.loads(path.read_text())
    edit(obj["stages"])
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(obj))
    out = replay_spec(edited, part="validation", replicates=REPLICATES)
    assert out["prediction_matches_stages"] is False
    assert any("edited after planning" in n for n in out["notes"])
    code, text, _ = run_cli(["replay", str(edited), "--replicates", str(REPLICATES)], capsys)
    assert code == 0 and "predicted!" in text and "edited after planning" in text


def test_a_spec_the_profile_cannot_serve_is_one_line(repriced_spec, tmp_path, capsys):
    path, _ = repriced_spec
    obj = json.loads(path.read_text())
    sampled = next(i for i, s in enumerate(obj["stages"]) if s["k"] >= 2)
    obj["stages"][sampled].update(k=500)
    big_k = tmp_path / "k.json"
    big_k.write_text(json.dumps(obj))
    code, out, err = run_cli(["replay", str(big_k)], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert f"cannot replay stage {sampled + 1}" in err and "k=500" in err
    obj["stages"][sampled].update(k=3, l=12)
    big_l = tmp_path / "l.json"
    big_l.write_text(json.dumps(obj))
    code, _, err = run_cli(["replay", str(big_l)], capsys)
    assert code == 2 and "stages/" in err and "/l" in err and err.count("\n") == 1
    # run reads specs the same way: the same spec is refused before anything else
    code, _, run_err = run_cli(["run", str(big_l), "-e", str(tmp_path / "none.toml"), "-p",
                                "humaneval", "-o", str(tmp_path / "r.jsonl")], capsys)
    assert code == 2 and run_err == err


@pytest.mark.parametrize(("argv", "message"), [
    (["--seed", "-1"], "--seed must be a whole number >= 0, got -1"),
    (["--replicates", "0"], "--replicates must be a whole number >= 1, got 0"),
    (["--replicates", "1000000000"], "--replicates = 1000000000 would need about"),
    (["--confidence", "0"], "--confidence must be a number in (0, 1), got 0.0"),
    (["--price", "model-1"], "--price must be MODEL=DOLLARS"),
    (["--price", "gpt-9=1"], "unknown model 'gpt-9'"),
])
def test_replay_knobs_are_one_line_errors(repriced_spec, argv, message, capsys):
    path, _ = repriced_spec
    code, out, err = run_cli(["replay", str(path), *argv], capsys)
    assert code == 2 and out == "" and err.startswith(f"error: {message}")
    assert err.count("\n") == 1


def test_a_negative_seed_inside_a_spec_is_refused(repriced_spec, tmp_path, capsys):
    path, _ = repriced_spec
    obj = json.loads(path.read_text())
    obj["provenance"]["seeds"]["estimator"] = -1
    bad = tmp_path / "seed.json"
    bad.write_text(json.dumps(obj))
    code, _, err = run_cli(["replay", str(bad)], capsys)
    assert code == 2 and "provenance/seeds/estimator" in err and err.count("\n") == 1
