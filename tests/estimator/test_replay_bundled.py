"""The hardening examples on the bundled profile, with their right values: a spec planned
with --price overrides replays at its own prices (it replayed at the profile's: predicted
$0.01098, replayed $0.01290, "the profile differs"), an edited spec is flagged, and run and
replay refuse the same invalid specs with the same line."""

from __future__ import annotations

import json

import pytest

from planner.cli import main

pytestmark = pytest.mark.usefixtures("private_cache")


def run_cli(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


@pytest.fixture(scope="module")
def priced_spec(tmp_path_factory):
    path = tmp_path_factory.mktemp("specs") / "priced.json"
    with pytest.raises(SystemExit) as info:
        main(["plan", "--budget", "0.01", "--price", "WizardCoder-Python-34B=15", "-o",
              str(path), "--no-progress", "--selection", "naive", "--split", "paper-seed3"])
    assert info.value.code == 0
    return path


def test_a_spec_planned_with_price_replays_at_its_prices(priced_spec, capsys):
    spec = json.loads(priced_spec.read_text())
    assert spec["provenance"]["prices_per_1m_generated"] == {
        "WizardCoder-Python-7B": 1.91, "WizardCoder-Python-13B": 6.65,
        "WizardCoder-Python-34B": 15.0}
    code, out, err = run_cli(["replay", str(priced_spec), "--json", "--no-progress"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["prices_per_1m_generated"]["WizardCoder-Python-34B"] == 15.0
    predicted, replayed = result["predicted"], result["replayed"]
    assert replayed["cost_per_problem"] == pytest.approx(predicted["cost_per_problem"],
                                                         rel=1e-9)
    assert replayed["accuracy"] == pytest.approx(predicted["accuracy"], rel=1e-9)
    assert result["prediction_matches_stages"] is True
    # told otherwise (the profile's $20.24 for the 34B model), the plan costs more
    code, out, _ = run_cli(["replay", str(priced_spec), "--json", "--no-progress", "--price",
                            "WizardCoder-Python-34B=20.24"], capsys)
    dearer = json.loads(out)
    assert code == 0 and dearer["replayed"]["cost_per_problem"] > replayed["cost_per_problem"]


@pytest.mark.parametrize("edit", [
    lambda s: s["stages"][0].update(k=3),
    lambda s: s["stages"][0].update(t=1),
    lambda s: s["stages"].__setitem__(slice(0, 2), s["stages"][1::-1]),
])
def test_an_edited_spec_is_flagged(priced_spec, tmp_path, edit, capsys):
    spec = json.loads(priced_spec.read_text())
    edit(spec)
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(spec))
    code, out, err = run_cli(["replay", str(edited), "--no-progress"], capsys)
    assert code == 0, err
    assert "predicted!" in out and "the spec's stages were edited after planning" in out


@pytest.mark.parametrize(("edit", "line"), [
    (lambda s: s["stages"][0].update(l=6),
     "spec does not match the schema at stages/0/l: 6 is greater than the maximum of 5"),
    (lambda s: s["provenance"]["seeds"].update(estimator=-1),
     "at provenance/seeds/estimator: -1 is less than the minimum of 0"),
])
def test_run_and_replay_refuse_the_same_specs(priced_spec, tmp_path, edit, line, capsys):
    spec = json.loads(priced_spec.read_text())
    edit(spec)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(spec))
    endpoints = tmp_path / "endpoints.toml"
    endpoints.write_text("".join(
        f'[models."{m}"]\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\n'
        for m in ("WizardCoder-Python-7B", "WizardCoder-Python-13B", "WizardCoder-Python-34B")))
    records = tmp_path / "records.jsonl"
    for argv in (["replay", str(bad), "--no-progress"],
                 ["run", str(bad), "-e", str(endpoints), "-p", "humaneval", "-o",
                  str(records), "--no-progress"]):
        code, _, err = run_cli(argv, capsys)
        assert code == 2 and line in err and err.strip().count("\n") == 0, (argv, err)
    assert not records.exists()
