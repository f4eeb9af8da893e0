"""The cascade spec: JSON round trip, schema validation, atomic save, one-line errors."""

from __future__ import annotations

import dataclasses
import json

import pytest

from planner.options import Stage, StageOption
from planner.spec import (
    CascadeSpec,
    Prediction,
    Provenance,
    SolverInfo,
    SpecError,
    load_spec,
    save_spec,
    spec_schema,
    validate_spec_json,
)


def make_spec(**changes) -> CascadeSpec:
    fields = dict(
        stages=(
            Stage("small", StageOption(k=3, t=3, l=2, theta=0.9)),
            Stage("large", StageOption(k=0)),
        ),
        objective="max_accuracy",
        budget=0.01,
        target_accuracy=None,
        planning=Prediction("validation", 49, 0.7, (0.6, 0.8), 0.004, (0.003, 0.005)),
        heldout=Prediction("test", 115, 0.68, (0.6, 0.75), 0.0041, (0.0035, 0.0047)),
        solver=SolverInfo("exact", "optimal", 0.0, 1.5, "enumeration", 1000),
        provenance=Provenance(
            profile="wizardcoder-humaneval",
            profile_sha256="a" * 64,
            prices_per_1m={"small": 1.0, "large": 20.0},
            grid="paper",
            split="paper:3",
            seeds={"split": 3, "search": 0},
            version="0.1.0",
            created="2026-01-01T00:00:00Z",
        ),
    )
    fields.update(changes)
    return CascadeSpec(**fields)


def test_schema_is_a_valid_json_schema():
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(spec_schema())


def test_round_trip_through_file(tmp_path):
    spec = make_spec()
    path = save_spec(spec, tmp_path / "sub" / "spec.json")
    assert load_spec(path) == spec
    assert [p.name for p in path.parent.iterdir()] == ["spec.json"]
    obj = json.loads(path.read_text())
    assert obj["stages"][0]["theta"] == 0.9 and obj["stages"][1]["k"] == 0
    assert spec.models == ("small", "large")


def test_dual_objective_and_no_heldout_round_trip(tmp_path):
    spec = make_spec(objective="min_cost", budget=None, target_accuracy=0.7, heldout=None)
    assert load_spec(save_spec(spec, tmp_path / "s.json")) == spec


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda o: o["stages"].clear(), "stages"),
        (lambda o: o["stages"][0].update(theta=1.5), "stages/0/theta"),
        (lambda o: o["stages"][0].update(rule="vote"), "stages/0/rule"),
        (lambda o: o.update(budget_per_problem=-1.0), "budget_per_problem"),
        (lambda o: o.update(budget_per_problem=None), "budget_per_problem"),
        (lambda o: o["stages"][0].update(l=6), "stages/0/l"),
        (lambda o: o["provenance"]["seeds"].update(estimator=-1), "seeds/estimator"),
        (lambda o: o["predicted"].update(plan_sha256="x"), "plan_sha256"),
        (lambda o: o.update(format_version=3), "format_version must be one of 1, 2, got 3"),
        (lambda o: o["provenance"].update(profile_sha256="xyz"), "profile_sha256"),
        (lambda o: o["search"].update(status="great"), "search/status"),
        (lambda o: o.update(surprise=1), "top level"),
    ],
)
def test_schema_violations_are_one_line_errors(mutate, needle):
    obj = make_spec().to_json()
    mutate(obj)
    with pytest.raises(SpecError) as info:
        validate_spec_json(obj)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_plan_rules_are_checked_on_load(tmp_path):
    obj = make_spec().to_json()
    obj["stages"].reverse()  # k=0 first: nothing may follow it
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(obj))
    with pytest.raises(SpecError, match="k=0"):
        load_spec(path)


def test_unreadable_files_are_one_line_errors(tmp_path):
    with pytest.raises(SpecError, match="cannot read"):
        load_spec(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SpecError, match="not valid JSON"):
        load_spec(bad)


def test_failed_save_leaves_no_file(tmp_path):
    spec = make_spec(budget=-1.0)  # the schema rejects it before anything is written
    with pytest.raises(SpecError):
        save_spec(spec, tmp_path / "out.json")
    assert list(tmp_path.iterdir()) == []


def _format_1(spec: CascadeSpec) -> dict:
    """``spec`` as the format 1 JSON earlier versions wrote (prices in $ per token, no
    units in the names, no plan digest)."""
    obj = spec.to_json()
    obj["format_version"] = 1
    obj["budget"] = obj.pop("budget_per_problem")
    predicted = obj["predicted"]
    del predicted["plan_sha256"]
    for part in ("planning", "heldout"):
        if predicted[part] is not None:
            p = predicted[part]
            p["cost"], p["cost_ci"] = p.pop("cost_per_problem"), p.pop("cost_per_problem_ci")
    prov = obj["provenance"]
    prov["prices"] = {k: v / 1e6 for k, v in prov.pop("prices_per_1m_generated").items()}
    prov["extra"]["prompt_prices"] = {k: v / 1e6
                                      for k, v in prov.pop("prices_per_1m_prompt").items()}
    return obj


def test_format_1_specs_are_still_read(tmp_path):
    spec = make_spec(provenance=dataclasses.replace(
        make_spec().provenance, prompt_prices_per_1m={"small": 0.5, "large": 0.0}))
    path = tmp_path / "v1.json"
    path.write_text(json.dumps(_format_1(spec)))
    old = load_spec(path)
    assert old.stages == spec.stages and old.budget == spec.budget
    assert old.planning == spec.planning and old.heldout == spec.heldout
    assert old.provenance.prices_per_1m == pytest.approx({"small": 1.0, "large": 20.0})
    assert old.provenance.prompt_prices_per_1m == pytest.approx({"small": 0.5, "large": 0.0})
    assert old.provenance.format_version == 1
    # format 1 records no digest: an edit cannot be told, and is not claimed
    assert old.plan_sha256 == "" and not old.edited
    written = json.loads(old.dumps())
    assert written["format_version"] == 2 and written["budget_per_problem"] == 0.01
    assert written["provenance"]["prices_per_1m_generated"] == pytest.approx(
        {"small": 1.0, "large": 20.0})


def test_every_cost_and_price_field_names_its_unit():
    obj = make_spec().to_json()
    assert "budget_per_problem" in obj and "budget" not in obj
    for part in ("planning", "heldout"):
        keys = set(obj["predicted"][part])
        assert {"cost_per_problem", "cost_per_problem_ci"} <= keys and "cost" not in keys
    prov = obj["provenance"]
    assert "prices_per_1m_generated" in prov and "prices" not in prov


@pytest.mark.parametrize("edit", [
    lambda s: s["stages"][0].update(k=5),
    lambda s: s["stages"][0].update(t=2),
    lambda s: s["stages"][0].update(theta=0.5),
    lambda s: s["stages"][0].update(model="large") or s["stages"][1].update(model="small"),
])
def test_an_edited_spec_no_longer_matches_its_prediction(tmp_path, edit):
    obj = make_spec().to_json()
    assert not load_spec(_write(tmp_path / "a.json", obj)).edited
    edit(obj)
    assert load_spec(_write(tmp_path / "b.json", obj)).edited


def test_stage_lines_beyond_the_measured_positions_are_refused(tmp_path):
    """l > 5 is invalid for every consumer (run and replay read specs the same way)."""
    from planner.options import MAX_TEST_LINES, PlanError

    assert spec_schema()["$defs"]["stage"]["properties"]["l"]["maximum"] == MAX_TEST_LINES
    with pytest.raises(PlanError, match="at most 5"):
        StageOption(k=3, t=3, l=MAX_TEST_LINES + 1)
    obj = make_spec().to_json()
    obj["stages"][0]["l"] = 12
    with pytest.raises(SpecError, match="stages/0/l"):
        load_spec(_write(tmp_path / "l.json", obj))


def _write(path, obj):
    path.write_text(json.dumps(obj))
    return path
