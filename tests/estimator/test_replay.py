"""Paper replay and the replay command."""

from __future__ import annotations

import json

import numpy as np
import pytest

from planner.cli import main
from planner.estimate import estimate_plan
from planner.options import CascadePlan, Stage, StageOption
from planner.profile import ModelInfo, _replace, save_profile
from planner.replay import paper_configurations, paper_replay
from planner.spec import CascadeSpec, Prediction, Provenance, SolverInfo, save_spec
from planner.synthetic import synthetic_profile

SIZES = ("7B", "13B", "34B")


@pytest.fixture(scope="module")
def paper_like():
    profile = synthetic_profile(n_models=3, n_problems=24, n_samples=100, n_tests=100,
                                samples_per_loop=10, seed=11)
    models = tuple(ModelInfo(f"WizardCoder-Python-{s}-V1.0", m.price_generated, 0.0, 10, "x")
                   for s, m in zip(SIZES, profile.models, strict=True))
    return _replace(profile, models=models)


def run_cli(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    out = capsys.readouterr()
    return exit_info.value.code, out.out, out.err


def test_paper_configurations_follow_the_papers_validity_rules():
    configs = paper_configurations(("a", "b", "c"))
    # 1 stage: 7 endings x 3; 2 stages: 8 x 7 x 3; 3 stages: 8 x 8 x 7
    assert len(configs) == 21 + 168 + 448
    for combo, plan in configs:
        used = [k for k, _ in combo if k >= 0]
        assert used and used[-1] != 1 and 0 not in used[:-1]
        for k, line in combo:
            assert (line == 0) == (k <= 0) and line in (0, 2, 4)
        assert len(plan.stages) == len(used)


def test_replay_rows_match_the_estimator_in_paper_loops_mode(paper_like):
    replay = paper_replay(paper_like, theta=0.9, n_boot=200)
    assert len(replay.rows) == 637 and replay.n_problems == 24
    for choices in (((3, 2), (-1, 0), (0, 0)), ((1, 4), (5, 2), (10, 4)),
                    ((-1, 0), (-1, 0), (10, 4))):
        row = replay.row(choices)
        est = estimate_plan(paper_like, row.plan, sampling="paper_loops")
        assert row.accuracy == pytest.approx(est.accuracy)
        assert row.cost == pytest.approx(est.cost)
        assert row.accuracy_ci[0] <= row.accuracy <= row.accuracy_ci[1]
        assert row.cost_ci[0] <= row.cost <= row.cost_ci[1]
    assert [c.label for c in replay.self_checks[:5]] == [
        "7B greedy", "13B greedy", "34B greedy", "7B k=3 l=2 alone", "34B k=10 l=4 alone"]
    assert len(replay.self_checks) == 5  # published cascades apply at θ = 1.0 only


def test_replay_is_the_per_loop_cascade_averaged_over_loops(paper_like):
    replay = paper_replay(paper_like, theta=1.0, n_boot=100)
    row = replay.row(((3, 4), (-1, 0), (0, 0)))
    # by hand: loop L uses 7B's samples 10L..10L+2; the 34B greedy answers what 7B rejects
    from planner.estimate import stage_outcomes

    first = stage_outcomes(paper_like, 0, [StageOption(k=3, t=3, l=4, theta=1.0)],
                           np.arange(24), sampling="paper_loops", keep_replicates=True)
    greedy = stage_outcomes(paper_like, 2, [StageOption(k=0)], np.arange(24))
    a = first.replicate_accept[0]
    ok = a & first.replicate_correct[0] | ~a & (greedy.correct[0][:, None] > 0.5)
    cost = first.replicate_cost[0] + ~a * greedy.cost[0][:, None]
    assert row.accuracy == pytest.approx(ok.mean())
    assert row.cost == pytest.approx(cost.mean())


def test_replay_paper_command_prints_every_configuration(paper_like, tmp_path, capsys):
    path = save_profile(paper_like, tmp_path / "p.npz")
    code, out, _ = run_cli(["replay", "--paper", "--theta", "1.0", "--json", "--profile",
                            str(path)], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["theta"] == 1.0 and len(data["configurations"]) == 637
    first = data["configurations"][0]
    assert {"k", "l", "accuracy_pct", "accuracy_ci_pct", "cost_per_1k_problems",
            "cost_per_1k_problems_ci"} <= set(first)
    assert len(data["self_check"]) == 14
    code, out, _ = run_cli(["replay", "--paper", "--profile", str(path)], capsys)
    assert code == 0 and "self-check" in out and out.count("\n") > 637


@pytest.mark.parametrize("argv, message", [
    (["replay"], "give a SPEC"),
    (["replay", "--paper", "--theta", "1.5"], "--theta must be a number in [0, 1], got 1.5"),
    (["replay", "--paper", "--confidence", "1"],
     "--confidence must be a number in (0, 1), got 1.0"),
    (["replay", "--paper", "--price", "a=1"], "--price applies to a spec replay"),
    (["replay", "x.json", "--paper"], "not both"),
    (["replay", "missing.json"], "cannot read spec"),
])
def test_replay_command_errors_are_one_line(argv, message, capsys):
    code, out, err = run_cli(argv, capsys)
    assert code == 2 and message in err and err.count("\n") == 1 and out == ""


def _spec(profile, path, split_name: str, plan: CascadePlan):
    pred = Prediction("validation", 10, 0.5, (0.4, 0.6), 0.01, (0.009, 0.011))
    spec = CascadeSpec(
        stages=plan.stages, objective="max_accuracy", budget=0.02, target_accuracy=None,
        planning=pred, heldout=None,
        solver=SolverInfo(method="exact", status="optimal", gap=0.0, seconds=0.1),
        provenance=Provenance(profile=str(path), profile_sha256=profile.fingerprint(),
                              prices_per_1m={m.name: 1e6 * m.price_generated
                                             for m in profile.models},
                              grid="default", split=split_name, seeds={"estimator": 0},
                              version="0.1.0", created="2026-01-01T00:00:00Z"),
    )
    return spec


def test_replay_spec_scores_the_held_out_part(paper_like, tmp_path, capsys):
    profile_path = save_profile(paper_like, tmp_path / "p.npz")
    plan = CascadePlan((Stage(paper_like.model_names[0], StageOption(k=3, t=2, l=2,
                                                                      theta=0.8)),
                        Stage(paper_like.model_names[2], StageOption(k=0))))
    spec_path = save_spec(_spec(paper_like, profile_path, "kfold3-seed0-fold1", plan),
                          tmp_path / "spec.json")
    code, out, err = run_cli(["replay", str(spec_path), "--split", "test", "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    from planner.splits import split_by_name

    test_idx = split_by_name("kfold3-seed0-fold1", 24).test
    est = estimate_plan(paper_like, plan, test_idx, seed=0)
    assert data["replayed"]["accuracy"] == pytest.approx(est.accuracy)
    assert data["replayed"]["n_problems"] == len(test_idx)
    assert data["predicted"] is None and data["notes"] == []
    code, out, _ = run_cli(["replay", str(spec_path), "--split", "validation"], capsys)
    assert code == 0 and "predicted" in out and "replayed" in out
    code, _, err = run_cli(["replay", str(spec_path), "--split", "train"], capsys)
    assert code == 2 and "--split must be one of validation, test, all, got 'train'" in err
