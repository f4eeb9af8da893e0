"""Scoring rules: hand-computed cases and a literal reference for each rule."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from planner.scoring import ScoringError, accepts, select_batch, select_solution


def paper_reference(matrix: np.ndarray) -> tuple[int, float, float]:
    """The seed paper's find_max_product, loop for loop (strict > keeps the first max)."""
    best, row = -1, -1
    rows, cols = matrix.sum(axis=1), matrix.sum(axis=0)
    for a in range(matrix.shape[0]):
        for t in range(matrix.shape[1]):
            if matrix[a, t] and rows[a] * cols[t] > best:
                best, row = rows[a] * cols[t], a
    if row < 0:
        return matrix.shape[0] - 1, 0.0, float(matrix.size)
    return row, float(best), float(matrix.size)


def consensus_reference(matrix: np.ndarray) -> tuple[int, float, float]:
    """CodeT grouping by identical pass rows, written plainly."""
    groups: dict[tuple[bool, ...], list[int]] = {}
    for a, row in enumerate(matrix):
        groups.setdefault(tuple(bool(x) for x in row), []).append(a)
    best, chosen = 0, matrix.shape[0] - 1
    for a in range(matrix.shape[0]):
        members = groups[tuple(bool(x) for x in matrix[a])]
        score = len(members) * int(matrix[a].sum())
        if score > best:
            best, chosen = score, members[0]
    return chosen, float(best), float(matrix.size)


M = np.array([[1, 1, 0],
              [1, 0, 0],
              [1, 1, 1],
              [0, 1, 1]], dtype=bool)


def test_paper_rule_by_hand():
    # rowsums 2,1,3,2; colsums 3,3,2. Best cells: row 2 (3 x 3 = 9) at columns 0 and 1.
    assert select_solution(M, "paper") == (2, 9.0, 12.0)


def test_paper_tie_break_is_first_cell_in_row_major_order():
    tie = np.array([[1, 0], [0, 1]], dtype=bool)  # both cells score 1 x 1
    assert select_solution(tie, "paper") == (0, 1.0, 4.0)


def test_pass_fraction_by_hand():
    assert select_solution(M, "pass_fraction") == (2, 3.0, 3.0)
    assert select_solution(M[[0, 3]], "pass_fraction") == (0, 2.0, 3.0)  # first on ties


def test_consensus_by_hand():
    # rows 0 and 4 identical (pass 2 lines): group of 2 scores 4 > row 2's 1 x 3 = 3
    m = np.vstack([M, M[0]])
    assert select_solution(m, "consensus") == (0, 4.0, 15.0)
    assert select_solution(M, "consensus") == (2, 3.0, 12.0)


@pytest.mark.parametrize("rule", ["paper", "pass_fraction", "consensus"])
def test_no_passing_cell_picks_last_solution_with_score_zero(rule):
    index, score, scale = select_solution(np.zeros((3, 2), dtype=bool), rule)
    assert (index, score) == (2, 0.0)
    assert not accepts(score, scale, 0.1) and accepts(score, scale, 0.0)


@pytest.mark.parametrize("rule", ["paper", "pass_fraction", "consensus"])
def test_empty_test_set_accepts_at_any_theta(rule):
    index, score, scale = select_solution(np.zeros((3, 0), dtype=bool), rule)
    assert (index, score, scale) == (2, 0.0, 0.0)
    assert accepts(score, scale, 1.0)


def test_accept_threshold_uses_the_papers_float_arithmetic():
    # 3 >= 0.3 * 10 holds with the literal 0.3 (0.3 * 10 == 3.0)
    assert accepts(3.0, 10.0, 0.3)
    assert not accepts(3.0, 10.0, 0.30000000000000004)


def test_bad_inputs_raise_one_line_errors():
    with pytest.raises(ScoringError, match="unknown scoring rule"):
        select_solution(M, "majority")
    with pytest.raises(ScoringError, match="at least one solution"):
        select_solution(np.zeros((0, 3), dtype=bool), "paper")
    with pytest.raises(ScoringError, match="2-d"):
        select_solution(np.zeros(3, dtype=bool), "paper")


matrices = arrays(np.bool_, st.tuples(st.integers(1, 6), st.integers(0, 7)))


@settings(max_examples=300, deadline=None)
@given(matrices)
def test_paper_rule_matches_the_papers_loop(matrix):
    assert select_solution(matrix, "paper") == paper_reference(matrix)


@settings(max_examples=300, deadline=None)
@given(matrices)
def test_consensus_matches_plain_grouping(matrix):
    assert select_solution(matrix, "consensus") == consensus_reference(matrix)


@settings(max_examples=100, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(1, 5), st.integers(1, 4), st.integers(0, 6))),
       st.sampled_from(["paper", "pass_fraction", "consensus"]), st.data())
def test_batch_with_masked_columns_equals_single_matrices(stack, rule, data):
    mask = data.draw(arrays(np.bool_, (stack.shape[0], stack.shape[2])))
    index, score, scale = select_batch(stack & mask[:, None, :], mask, rule)
    for b in range(stack.shape[0]):
        single = select_solution(stack[b][:, mask[b]], rule)
        assert (int(index[b]), float(score[b]), float(scale[b])) == single
        assert 0.0 <= score[b] <= max(scale[b], 0.0) or scale[b] == 0.0
