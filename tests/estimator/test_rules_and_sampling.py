"""Closed vocabularies and value objects of the estimator: parsed once, serialised as the
same strings as before, and the one stage-cost rule."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from planner.estimate import EstimateError, Sampling, stage_outcomes
from planner.estimate.cache import ESTIMATOR_VERSION, cache_key
from planner.estimate.costs import Prices, stage_cost
from planner.options import (
    Grid,
    PlanError,
    StageOption,
    default_grid,
    generalised_grid,
    paper_grid,
)
from planner.scoring import ScoringError, select_solution
from planner.synthetic import synthetic_profile
from planner.vocabulary import SamplingMethod, ScoringRule


def test_rules_and_sampling_are_parsed_once_into_members():
    option = StageOption(k=3, t=2, l=1, rule="consensus")
    assert option.rule is ScoringRule.CONSENSUS
    assert StageOption.from_json(option.to_json()) == option
    grid = Grid(name="g", ks=(2,), ts=None, ls=(1,), rules=("paper", "pass_fraction"),
                sampling="paper_loops")
    assert grid.rules == (ScoringRule.PAPER, ScoringRule.PASS_FRACTION)
    assert grid.sampling is SamplingMethod.PAPER_LOOPS
    assert all(o.rule in grid.rules for o in grid.options())


@pytest.mark.parametrize(("make", "message"), [
    (lambda: StageOption(k=2, t=1, l=1, rule="codet"),
     "unknown scoring rule 'codet'; known: paper, pass_fraction, consensus"),
    (lambda: Grid(name="g", ks=(2,), ts=None, ls=(1,), rules=("paper", "best")),
     "unknown scoring rule of grid 'g' 'best'"),
    (lambda: Grid(name="g", ks=(2,), ts=None, ls=(1,), rules=()),
     "grid 'g' has no scoring rule"),
    (lambda: Grid(name="g", ks=(2,), ts=None, ls=(1,), sampling="loops"),
     "unknown sampling of grid 'g' 'loops'; known: random, paper_loops"),
])
def test_unknown_vocabulary_is_a_one_line_plan_error(make, message):
    with pytest.raises(PlanError, match=message) as info:
        make()
    assert "\n" not in str(info.value)


def test_the_scoring_functions_take_members_or_strings():
    matrix = np.array([[True, False], [True, True]])
    assert select_solution(matrix, "paper") == select_solution(matrix, ScoringRule.PAPER)
    with pytest.raises(ScoringError, match="unknown scoring rule 'codet'"):
        select_solution(matrix, "codet")


@pytest.mark.parametrize("grid", [default_grid(), paper_grid(), generalised_grid()],
                         ids=lambda g: g.name)
def test_specs_and_cache_keys_keep_the_same_strings(grid):
    """Members serialise to exactly the strings the JSON formats used before, so specs read
    the same and cached option tables keep their keys."""
    option = grid.options()[-1]
    assert json.dumps(option.to_json()) == json.dumps(
        {"k": option.k, "t": option.t, "l": option.l, "theta": option.theta,
         "rule": str(option.rule.value), "share_tests": False})
    assert all(type(r) is str for r in grid.to_json()["rules"])
    assert type(grid.to_json()["sampling"]) is str
    profile = synthetic_profile(n_models=2, n_problems=5, seed=1)
    problems = np.arange(5)
    random = grid.sampling == "random"
    literal = {"version": ESTIMATOR_VERSION, "profile": profile.fingerprint(),
               "grid": json.loads(json.dumps(grid.to_json())), "problems": [0, 1, 2, 3, 4],
               "replicates": 16 if random else 0, "seed": 3 if random else 0}
    expected = hashlib.sha256(json.dumps(literal, sort_keys=True).encode()).hexdigest()[:32]
    assert cache_key(profile, grid, problems, Sampling(grid.sampling, 16, 3)) == expected


def test_sampling_is_validated_once():
    assert Sampling() == Sampling("random", 64, 0)
    assert Sampling.of("paper_loops", 8, 2).method is SamplingMethod.PAPER_LOOPS
    assert Sampling("paper_loops", 8, 2).key() == {"replicates": 0, "seed": 0}
    assert Sampling("random", 8, 2).key() == {"replicates": 8, "seed": 2}
    for bad, message in [(dict(replicates=0), "replicates must be a whole number >= 1"),
                         (dict(replicates=2.5), "replicates must be a whole number >= 1"),
                         (dict(seed=-1), "seed must be a whole number >= 0"),
                         (dict(method="bootstrap"), "unknown sampling 'bootstrap'")]:
        with pytest.raises(EstimateError, match=message):
            Sampling(**bad)
    with pytest.raises(EstimateError, match="inside the Sampling"):
        Sampling.of(Sampling(), replicates=8)


def test_a_sampling_object_and_its_fields_give_the_same_outcomes():
    profile = synthetic_profile(n_models=1, n_problems=6, seed=2)
    options = [StageOption(k=0), StageOption(k=3, t=2, l=2, theta=0.5)]
    loose = stage_outcomes(profile, 0, options, np.arange(6), replicates=8, seed=4)
    whole = stage_outcomes(profile, 0, options, np.arange(6), sampling=Sampling("random", 8, 4))
    for name in ("accept", "accept_correct", "correct", "cost", "accuracy_se"):
        np.testing.assert_array_equal(getattr(loose, name), getattr(whole, name))


def test_stage_cost_pays_the_test_prompt_only_with_tests():
    prices = Prices(generated=2e-6, prompt=1e-6)
    prompt, test_prompt = np.array([100.0]), np.array([40.0])
    greedy = stage_cost(prices, np.array([50.0]), 0.0, prompt, test_prompt, False)
    tested = stage_cost(prices, np.array([50.0]), np.array([30.0]), prompt, test_prompt, True)
    assert greedy[0] == pytest.approx(2e-6 * 50 + 1e-6 * 100)
    assert tested[0] == pytest.approx(2e-6 * 80 + 1e-6 * 140)
    both = stage_cost(prices, np.array([50.0]), np.array([[0.0], [30.0]]), prompt,
                      test_prompt, np.array([[False], [True]]))
    np.testing.assert_array_equal(both[:, 0], [greedy[0], tested[0]])
