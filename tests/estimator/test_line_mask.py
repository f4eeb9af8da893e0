"""Test lines that cannot fail: the estimator leaves them out under the project's own
scoring rules (pass_fraction, consensus) and counts them under the paper rule, exactly as
``codecascade run`` does, from the profile's ``line_informative`` mask."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from planner.estimate import EstimateError, estimate_plan, stage_outcomes
from planner.estimate.draws import counted_lines
from planner.measure import sources
from planner.measure.build import ProblemPool, generation_arrays, line_informative
from planner.measure.sources import LINE_POSITIONS, ModelGenerations, ProblemGenerations, Sample
from planner.options import SCORING_RULES, CascadePlan, Stage, StageOption
from planner.problems import Problem
from planner.profile import ModelInfo, Profile
from planner.records import TestRecord
from planner.runtime.runner import _own_columns
from planner.testlines import counts_every_line
from planner.vocabulary import ScoringRule

from .tiny import tiny_profile


def _always_true_profile(informative: np.ndarray | None) -> Profile:
    """Model "small": one wrong solution (pool id 1); every test generation's two lines
    are line 0, which the wrong solution fails, and line 1, an always-true line
    (``assert (isinstance(x, list), lambda x: len(x))``) that every solution passes.
    Model "big": the correct solution (pool id 0)."""
    two = lambda a, b: np.array([a, b], dtype=np.int32)  # noqa: E731
    return Profile(
        models=(ModelInfo("small", 1e-6), ModelInfo("big", 1e-5)),
        problems=("p",),
        sample_solution=np.stack([np.full((1, 2), 1), np.full((1, 2), 0)]).astype(np.int32),
        sample_tokens=np.full((2, 1, 2), 10, dtype=np.int32),
        greedy_solution=two([1], [0]).reshape(2, 1),
        greedy_tokens=np.full((2, 1), 10, dtype=np.int32),
        test_line=np.broadcast_to(two(0, 1), (2, 1, 2, LINE_POSITIONS - 3)).copy(),
        test_line_tokens=np.full((2, 1, 2, LINE_POSITIONS - 3), 5, dtype=np.int32),
        greedy_test_line=np.broadcast_to(two(0, 1), (2, 1, 2)).copy(),
        greedy_test_line_tokens=np.full((2, 1, 2), 5, dtype=np.int32),
        prompt_tokens=np.zeros((2, 1), dtype=np.int32),
        test_prompt_tokens=np.zeros((2, 1), dtype=np.int32),
        n_solutions=np.array([2], dtype=np.int32),
        n_lines=np.array([2], dtype=np.int32),
        solution_correct=np.array([[True, False]]),
        line_holds_reference=np.array([[True, True]]),
        pass_matrix=np.array([[[True, True], [False, True]]]),
        line_informative=informative,
    )


@pytest.mark.parametrize("k", [1, 2])
@pytest.mark.parametrize("share", [False, True])
def test_an_always_true_line_changes_pass_fraction_not_paper(k, share):
    """θ = 0.5: counting the always-true line, the wrong solution passes 1 of 2 lines and
    the small model accepts it (accuracy 0); leaving it out, it passes 0 of 1 and the big
    model answers (accuracy 1). The paper rule counts the line either way. Greedy (k = 1),
    sampled (k = 2) and whole-replicate simulation (a later stage sharing tests) alike."""
    masked = _always_true_profile(np.array([[True, False]]))
    unmasked = _always_true_profile(np.array([[True, True]]))
    for rule in SCORING_RULES:
        plan = CascadePlan((Stage("small", StageOption(k=k, t=1, l=2, theta=0.5, rule=rule)),
                            Stage("big", StageOption(k=2, t=1, l=2, theta=0.0, rule=rule,
                                                     share_tests=share))))
        got = {name: estimate_plan(p, plan, replicates=8, seed=0).accuracy
               for name, p in (("masked", masked), ("unmasked", unmasked))}
        assert got["unmasked"] == 0.0
        assert got["masked"] == (0.0 if counts_every_line(rule) else 1.0), rule


def test_the_mask_leaves_costs_alone():
    """A line left out is still a line position the model generated: its tokens are paid."""
    option = StageOption(k=2, t=1, l=2, theta=0.5, rule="pass_fraction")
    costs = [stage_outcomes(_always_true_profile(np.array([[True, m]])), 0, [option],
                            np.arange(1), replicates=4).cost for m in (False, True)]
    np.testing.assert_array_equal(*costs)


def test_a_profile_without_the_mask_refuses_the_projects_rules_only():
    old = _always_true_profile(None)
    plan = lambda rule: CascadePlan((Stage("small", StageOption(  # noqa: E731
        k=2, t=1, l=2, theta=0.5, rule=rule)),))
    assert estimate_plan(old, plan("paper"), replicates=4).accuracy == 0.0
    for rule in ("pass_fraction", "consensus"):
        with pytest.raises(EstimateError) as info:
            estimate_plan(old, plan(rule), replicates=4)
        message = str(info.value)
        assert "\n" not in message and "--line-mask-of" in message and rule in message


def test_greedy_options_by_hand_with_a_mask():
    profile = tiny_profile(11, p_informative=0.5)
    for rule in SCORING_RULES:
        option = StageOption(k=1, t=1, l=2, theta=0.5, rule=rule)
        out = stage_outcomes(profile, 0, [option], np.arange(2))
        for p in range(2):
            lines = profile.greedy_test_line[0, p, :2]
            lines = lines[lines >= 0]
            if not counts_every_line(rule):
                lines = lines[profile.line_informative[p, lines]]
            passed = profile.pass_matrix[p, profile.greedy_solution[0, p], lines].sum()
            assert out.accept[0, p] == float(passed >= 0.5 * len(lines))


# Real test lines of one problem (entry point ``has_close_elements``), five positions each.
GENERATIONS = (
    ("assert has_close_elements([1.0, 2.0], 0.5) == False",
     "assert (isinstance(numbers, list), lambda x: len(x))",  # a real small model's line
     "assert True",
     "# an edge case",
     "assert has_close_elements([], 1.0) is False"),
    ("assert 1 + 1 == 2",
     "assert has_close_elements([1.0, 1.1], 0.2)",
     "result = has_close_elements([1.0], 0.5)",
     "assert not has_close_elements([1.0, 3.0], 1.0)",
     "assert False"),
    ("  assert   has_close_elements([0.0], 1.0) == False  ",
     "assert lambda: has_close_elements([], 1.0)",
     "assert (has_close_elements([1.0, 2.0],",  # a multi-line assert split into raw lines
     "    0.5) == False)",
     "assert [has_close_elements([1.0], 0.5)]"),
)


def test_estimator_and_runner_count_the_same_lines():
    """The profile builder's pools and mask (measure), the estimator's counted lines and
    the runtime's test columns name the same line positions under every rule."""
    problem = Problem(task_id="HumanEval/0", prompt="def has_close_elements(numbers, "
                      "threshold):\n", entry_point="has_close_elements",
                      asserts=("assert has_close_elements([], 1.0) is False",))
    tests = tuple(sources.TestGeneration(lines, (3,) * LINE_POSITIONS) for lines in GENERATIONS)
    model = ModelGenerations("m", {problem.task_id: ProblemGenerations(
        samples=(Sample("def has_close_elements(n, t):\n    return False\n", 9),),
        tests=tests)})
    lines = dict.fromkeys(line.strip() for gen in GENERATIONS for line in gen
                          if line.strip().startswith("assert"))
    pool = ProblemPool(problem, ("def has_close_elements(n, t):\n    return False\n",),
                       tuple(lines))
    arrays = generation_arrays([pool], [model])
    profile = Profile(models=(ModelInfo("m", 1e-6),), problems=(problem.task_id,),
                      **arrays, solution_correct=np.ones((1, 1), bool),
                      line_holds_reference=np.ones((1, len(lines)), bool),
                      pass_matrix=np.ones((1, 1, len(lines)), bool),
                      line_informative=line_informative([pool]))
    records = tuple(TestRecord(text="\n".join(g), lines=g, line_tokens=(3,) * len(g),
                               completion_tokens=15, prompt_tokens=0, greedy=False)
                    for g in GENERATIONS)
    expected = {
        ScoringRule.PAPER: {(0, 0), (0, 1), (0, 2), (0, 4), (1, 0), (1, 1), (1, 3), (1, 4),
                            (2, 0), (2, 1), (2, 2), (2, 4)},
        ScoringRule.PASS_FRACTION: {(0, 0), (0, 4), (1, 1), (1, 3), (2, 0), (2, 2)},
    }
    expected[ScoringRule.CONSENSUS] = expected[ScoringRule.PASS_FRACTION]
    for rule in SCORING_RULES:
        runner = {(g, i) for _, g, i in _own_columns(
            0, records, LINE_POSITIONS,
            None if counts_every_line(rule) else problem.entry_point)}
        ids = counted_lines(profile, np.array([0]), profile.test_line[0], rule)
        estimator = {(int(g), int(i)) for g, i in zip(*np.nonzero(ids[0] >= 0), strict=True)}
        assert runner == estimator == expected[rule], rule


def test_the_mask_is_part_of_the_fingerprint_and_survives_a_subset():
    profile = _always_true_profile(np.array([[True, False]]))
    assert profile.fingerprint() != _always_true_profile(np.array([[True, True]])).fingerprint()
    assert profile.fingerprint() != _always_true_profile(None).fingerprint()
    np.testing.assert_array_equal(profile.subset_problems([0]).line_informative,
                                  profile.line_informative)
    assert dataclasses.replace(profile, line_informative=None).line_informative is None
