"""The run summary's prediction is for exactly the problems run, where the profile has them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from planner.run_prediction import predict_for_run


@pytest.fixture(scope="module")
def spec():
    from planner import plan

    return plan(budget=0.01)


def test_the_prediction_is_for_exactly_the_problems_run(spec):
    from planner import estimate_plan, load_profile

    profile = load_profile(spec.provenance.profile)
    run = ["HumanEval/3", "HumanEval/10", "HumanEval/32", "HumanEval/129", "HumanEval/151"]
    got = predict_for_run(spec, run)
    assert got.exact and got.n_run == got.n_covered == 5
    index = np.array([profile.problems.index(t) for t in run])
    want = estimate_plan(profile, spec.plan, index, seed=0)
    assert got.prediction.accuracy == pytest.approx(want.accuracy)
    assert got.prediction.cost == pytest.approx(want.cost)
    assert got.prediction.split == "problems run" and got.prediction.n_problems == 5
    low, high = got.prediction.cost_ci
    assert 0.0 <= low <= got.prediction.cost <= high  # the support of a cost: never below 0


def test_problems_outside_the_profile_are_named_not_predicted(spec):
    partly = predict_for_run(spec, ["HumanEval/0", "elsewhere/1", "HumanEval/1"])
    assert not partly.exact and (partly.n_run, partly.n_covered) == (3, 2)
    assert partly.prediction.split == "problems run in the profile"
    none = predict_for_run(spec, ["elsewhere/1"])
    assert none.prediction is None and none.why == (
        f"none of the problems run is in the spec's profile {spec.provenance.profile!r}")
    changed = replace(spec, provenance=replace(spec.provenance, profile_sha256="0" * 64))
    assert "differs from the one the spec was planned on" in predict_for_run(
        changed, ["HumanEval/0"]).why
    gone = replace(spec, provenance=replace(spec.provenance, profile="/nonexistent/p.npz"))
    assert predict_for_run(gone, ["HumanEval/0"]).why == (
        "the spec's profile '/nonexistent/p.npz' is not available here")
    assert predict_for_run(spec, []).why == "no problem finished"
