"""The cascade spec: JSON round trip, schema validation, atomic save, one-line errors."""

from __future__ import annotations

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
            prices={"small": 1e-6, "large": 2e-5},
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
        (lambda o: o.update(budget=-1.0), "budget"),
        (lambda o: o.update(budget=None), "budget"),
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
