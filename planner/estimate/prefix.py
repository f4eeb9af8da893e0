"""The fast path: scores of every (k, t, l, rule) of a grid from one stack of full matrices.

Options of one model share their draws (common random numbers), so option (k, t, l) is the
top-left sub-matrix of the replicate's full pass matrix. Prefix sums over solutions, test
generations and lines score all of them in one pass per solution instead of one per
option; :mod:`planner.scoring` states the rules and the generic path
(:mod:`planner.estimate.replicates`) scores each matrix explicitly, which the tests
compare replicate by replicate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..vocabulary import ScoringRule
from .sampling import EstimateError


def sampled_scores(
    inst: np.ndarray,
    line_valid: np.ndarray,
    correct: np.ndarray,
    ks: Sequence[int],
    ts: Sequence[int],
    ls: Sequence[int],
    rules: Sequence[ScoringRule],
) -> dict[ScoringRule, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Score every (k, t, l) for each rule from one stack of full matrices.

    ``inst`` [B, K, T, L]: solution a of the replicate on line j of test generation g;
    option (k, t, l) is the sub-matrix a < k, g < t, j < l (columns in (g, j) order).
    Returns rule -> (score, scale, chosen-is-correct), each [B, len(ks), len(ts), len(ls)].
    Prefix sums make this one pass per solution instead of one per option: a row's pass
    count is a 2-d prefix sum over (g, j); in the paper rule a row's best cell is rowsum ×
    the largest column sum among its passing cells, a running maximum over (g, j); the
    chosen row is a running first-maximum over solutions (so the first row wins ties).
    """
    ti = np.asarray(ts) - 1
    li = np.asarray(ls) - 1
    n_b, n_k = inst.shape[:2]
    k_top = max(ks)
    if k_top > n_k:
        raise EstimateError(f"internal: k={k_top} exceeds the {n_k} drawn samples")
    by_row = np.ascontiguousarray(inst.transpose(1, 0, 2, 3))  # [K, B, T, L]
    mi = by_row.astype(np.int16)

    def prefix(x: np.ndarray, op: np.ufunc) -> np.ndarray:
        """op-accumulate over (g, j) of [..., T, L] and keep the (t, l) of the grid."""
        x = op.accumulate(op.accumulate(x, axis=-1), axis=-2)
        return x[..., ti, :][..., li]

    rowsum = prefix(mi, np.add)  # [K, B, nt, nl]
    scale_lines = prefix(line_valid.astype(np.int16), np.add).astype(np.float64)
    shape = (n_b, len(ks), len(ts), len(ls))
    out = {rule: (np.zeros(shape), np.zeros(shape), np.zeros(shape, dtype=bool))
           for rule in rules}

    def record(rule: ScoringRule, k: int, score: np.ndarray, index: np.ndarray) -> None:
        ki = ks.index(k)
        index = np.where(score > 0, index, k - 1)
        chosen_ok = np.take_along_axis(correct, index.reshape(n_b, -1), axis=1)
        out_score, out_scale, out_ok = out[rule]
        out_score[:, ki] = score
        out_scale[:, ki] = scale_lines if rule is ScoringRule.PASS_FRACTION else k * scale_lines
        out_ok[:, ki] = chosen_ok.reshape(index.shape)

    def first_max(row_scores) -> tuple[np.ndarray, np.ndarray]:
        best, index = None, None
        for a, row in enumerate(row_scores):
            if best is None:
                best, index = row, np.zeros(row.shape, dtype=np.int64)
                continue
            better = row > best
            best = np.where(better, row, best)
            index = np.where(better, a, index)
        return best, index

    if ScoringRule.PASS_FRACTION in rules:
        best, index = rowsum[0], np.zeros(rowsum.shape[1:], dtype=np.int64)
        for a in range(k_top):
            if a:
                better = rowsum[a] > best
                best = np.where(better, rowsum[a], best)
                index = np.where(better, a, index)
            if a + 1 in ks:
                record(ScoringRule.PASS_FRACTION, a + 1, best, index)
    if ScoringRule.PAPER in rules:
        colsum = mi.cumsum(axis=0)
        for k in ks:
            best_cells = (prefix(np.where(by_row[a], colsum[k - 1], 0), np.maximum)
                          for a in range(k))
            record(ScoringRule.PAPER, k,
                   *first_max(rowsum[a] * cell for a, cell in enumerate(best_cells)))
    if ScoringRule.CONSENSUS in rules:
        group = np.zeros(rowsum.shape, dtype=np.int16)  # same-pattern rows among the first k
        for k in range(1, k_top + 1):
            new = k - 1
            group[new] = 1
            for a in range(new):
                same = ~prefix(by_row[a] != by_row[new], np.logical_or)
                group[a] += same
                group[new] += same
            if k in ks:
                record(ScoringRule.CONSENSUS, k,
                       *first_max(group[a] * rowsum[a] for a in range(k)))
    return out
