"""Scoring rules: pick a solution from a pass matrix and say how sure the stage is.

A stage's pass matrix has one row per solution instance and one column per test-line
instance (duplicates kept), True where the solution passes the line. A rule returns the
chosen row, a score and a scale; the stage accepts iff ``score >= theta * scale``
(:func:`accepts`, the one place that test is written).

Rules (docs/method.md §1.3–1.4 and §2.2):

* ``paper`` — dual agreement as in the seed paper's ``select.py``
  (BoyuanJackChen/code_cascading_shared, ``find_max_product``): every passing cell scores
  rowsum × colsum; the chosen solution is the row of the first maximal cell in row-major
  order (the paper updates only on a strictly larger product); if no cell passes the last
  solution is chosen with score 0. Scale = solutions × test lines, so an empty test set
  accepts at any θ (0 >= 0), as ``confidence >= total_product * threshold`` does there.
* ``pass_fraction`` — the solution passing the most test lines (first on ties); score =
  lines it passes, scale = test lines: it accepts when its pass fraction reaches θ.
* ``consensus`` — CodeT-style: solutions passing exactly the same set of lines form a
  group; a group scores (its size) × (lines it passes); the chosen solution is the first
  member of the first best group; scale = solutions × test lines.

All rules share the paper's convention for "no cell passes": the last solution, score 0.
:func:`select_solution` works on one matrix (the runtime uses it on live results); the
``*_batch`` functions work on stacks of equally shaped matrices with a mask of which
columns exist, which is what the estimator needs.
"""

from __future__ import annotations

import numpy as np

from .errors import CodecascadeError
from .vocabulary import ScoringRule, parse


class ScoringError(CodecascadeError, ValueError):
    """A pass matrix or rule name is unusable; one line."""


def select_solution(matrix: np.ndarray, rule: ScoringRule | str) -> tuple[int, float, float]:
    """(chosen row, score, scale) of one pass matrix [n_sol, n_lines]; accept iff
    :func:`accepts`. ScoringError on a matrix without solutions or an unknown rule."""
    rule = parse(ScoringRule, rule, "scoring rule", ScoringError)
    m = np.asarray(matrix)
    if m.ndim != 2:
        raise ScoringError(f"a pass matrix must be 2-d (solutions x test lines), got {m.ndim}-d")
    if m.shape[0] == 0:
        raise ScoringError("a pass matrix needs at least one solution")
    m = m.astype(bool)
    index, score, scale = select_batch(m[None], np.ones((1, m.shape[1]), dtype=bool), rule)
    return int(index[0]), float(score[0]), float(scale[0])


def select_batch(
    matrices: np.ndarray, line_mask: np.ndarray, rule: ScoringRule | str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised :func:`select_solution` over a stack [B, n_sol, n_cols].

    ``line_mask`` [B, n_cols] says which columns are real test lines (others are padding and
    must be False in ``matrices``). Returns chosen row [B] int, score [B] and scale [B]
    (float64, so that :func:`accepts` compares exactly like the paper's Python).
    """
    rule = parse(ScoringRule, rule, "scoring rule", ScoringError)
    m = np.asarray(matrices, dtype=bool) & np.asarray(line_mask, dtype=bool)[:, None, :]
    n_batch, n_sol, _ = m.shape
    if n_sol == 0:
        raise ScoringError("a pass matrix needs at least one solution")
    n_lines = line_mask.sum(axis=1).astype(np.float64)
    rowsum = m.sum(axis=2)
    if rule is ScoringRule.PAPER:
        colsum = m.sum(axis=1)
        best_cell = np.where(m, colsum[:, None, :], 0).max(axis=2, initial=0)
        row_score = rowsum * best_cell
        scale = n_sol * n_lines
    elif rule is ScoringRule.PASS_FRACTION:
        row_score = rowsum
        scale = n_lines
    else:
        row_score = consensus_group_size(m) * rowsum
        scale = n_sol * n_lines
    index = row_score.argmax(axis=1)
    score = row_score[np.arange(n_batch), index].astype(np.float64)
    index = np.where(score > 0, index, n_sol - 1)
    return index, score, scale


def consensus_group_size(m: np.ndarray) -> np.ndarray:
    """[B, n_sol] number of solutions of the same matrix with an identical pass row."""
    mi = m.astype(np.int16)
    agree = mi @ mi.transpose(0, 2, 1) + (1 - mi) @ (1 - mi).transpose(0, 2, 1)
    return (agree == m.shape[2]).sum(axis=2)


def accepts(score: np.ndarray | float, scale: np.ndarray | float,
            theta: np.ndarray | float) -> np.ndarray:
    """The acceptance test of docs/method.md §1.4, the one place it is written: a stage
    accepts iff ``score >= θ × scale``, in float64 as the seed paper's Python compares it
    (``confidence >= total_product * threshold``). Any broadcastable shapes; bool array."""
    return np.asarray(score) >= theta * np.asarray(scale, dtype=np.float64)
