"""The estimator on the real default profile (WizardCoder-Python 7B/13B/34B on HumanEval,
measured from ../shared/data by this project): the paper replay reproduces the published
numbers, and the default grid's tables are sound. Skips when the profile is absent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from planner.estimate import estimate_plan, option_tables
from planner.options import CascadePlan, Stage, StageOption, default_grid
from planner.profile import load_profile
from planner.replay import paper_replay
from planner.splits import paper_splits

PROFILE = Path(__file__).resolve().parents[2] / "planner" / "data" / "wizardcoder-humaneval.npz"


@pytest.fixture(scope="module")
def real_profile():
    if not PROFILE.is_file():
        pytest.skip(f"the default profile {PROFILE} has not been measured yet")
    return load_profile(PROFILE)


@pytest.fixture(scope="module")
def replay(real_profile):
    return paper_replay(real_profile, theta=1.0, n_boot=200)


def test_paper_replay_reproduces_the_published_self_checks(replay):
    assert replay.n_problems == 164 and len(replay.rows) == 637
    checks = {c.label: c for c in replay.self_checks}
    assert len(checks) == 14
    for check in checks.values():
        # at most one HumanEval problem (0.61 pp) apart: re-execution flips 34B greedy on
        # one problem (the data README measures 73.2 % against the paper's 72.6 %)
        assert abs(check.accuracy_pct - check.published_accuracy_pct) <= 100 / 164 + 0.01, check
        assert check.cost_per_1k_problems == pytest.approx(check.published_cost_per_1k_problems,
                                                    rel=0.005), check


#: The paper's own per-problem selection for 7B, k = 3, l = 2, loop 0 (its released
#: ``code/selected/7B/7B_p3_t2_l0.json``, commit f13952b), problems 0..18: (problem,
#: tests passed by the chosen solution, solutions passing the chosen test, solutions ×
#: test lines, generated tokens, chosen solution correct).
PAPER_SELECTED_7B_K3_L2_LOOP0 = (
    (0, 6, 3, 18, 704, 1), (1, 6, 1, 18, 1085, 1), (2, 3, 3, 18, 407, 1),
    (3, 6, 3, 18, 448, 1), (4, 4, 3, 15, 678, 1), (5, 6, 3, 18, 644, 1),
    (6, 4, 1, 18, 918, 1), (7, 6, 3, 18, 532, 1), (8, 6, 3, 18, 626, 1),
    (9, 5, 2, 18, 811, 1), (10, 3, 3, 18, 923, 0), (11, 6, 3, 18, 614, 1),
    (12, 6, 3, 18, 567, 1), (13, 6, 2, 18, 598, 1), (14, 6, 3, 18, 389, 1),
    (15, 6, 3, 18, 470, 1), (16, 6, 3, 18, 597, 1), (17, 3, 1, 15, 1295, 1),
    (18, 6, 3, 18, 538, 0),
)


def test_loop_zero_selection_matches_the_papers_own_file(real_profile):
    from planner.scoring import select_solution

    for problem, rows, cols, total, tokens, correct in PAPER_SELECTED_7B_K3_L2_LOOP0:
        ids = real_profile.sample_solution[0, problem, :3]
        lines = real_profile.test_line[0, problem, :3, :2].ravel()
        lines = lines[lines >= 0]
        index, score, scale = select_solution(
            real_profile.pass_matrix[problem][np.ix_(ids, lines)], "paper")
        ours = (real_profile.sample_tokens[0, problem, :3].sum()
                + real_profile.test_line_tokens[0, problem, :3, :2].sum())
        assert (score, scale, ours) == (rows * cols, total, tokens), problem
        assert real_profile.solution_correct[problem, ids[index]] == bool(correct), problem


def test_paper_replay_intervals_bracket_the_means(replay):
    for row in replay.rows:
        assert row.accuracy_ci[0] <= row.accuracy <= row.accuracy_ci[1]
        assert row.cost_ci[0] <= row.cost <= row.cost_ci[1]


def test_default_grid_tables_meet_the_monte_carlo_target(real_profile, tmp_path,
                                                         monkeypatch):
    monkeypatch.setenv("CODECASCADE_CACHE", str(tmp_path))
    tables = option_tables(real_profile, default_grid(), replicates=64)
    assert [t.model for t in tables] == list(real_profile.model_names)
    for table in tables:
        assert table.n_problems == 164
        for arr in (table.accept, table.accept_correct, table.correct):
            assert ((arr >= 0) & (arr <= 1)).all()
        assert table.accuracy_se.max() < 0.005
        assert (table.cost > 0).all()


def test_a_plan_chosen_on_validation_is_scored_on_the_test_part(real_profile):
    split = paper_splits(seeds=(7,))[0]
    names = real_profile.model_names
    plan = CascadePlan((Stage(names[0], StageOption(k=3, t=3, l=2, theta=1.0)),
                        Stage(names[2], StageOption(k=0))))
    val = estimate_plan(real_profile, plan, split.validation, sampling="paper_loops")
    test = estimate_plan(real_profile, plan, split.test, sampling="paper_loops")
    full = estimate_plan(real_profile, plan, sampling="paper_loops")
    weighted = (49 * val.accuracy + 115 * test.accuracy) / 164
    assert weighted == pytest.approx(full.accuracy)
    assert len(val.problems) == 49 and len(test.problems) == 115
    assert np.isfinite([val.cost, test.cost]).all()
