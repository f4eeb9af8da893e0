"""Resampling the planning problems: bootstrap weights and inner cross-validation folds.

Both work on positions 0..n-1 of a task's planning problems and are seeded, so the same
task and seed always resample alike (and every selector run on one task sees the same
resamples: common random numbers). A bootstrap resample is a vector of counts (how often
each problem was drawn), so the means of every candidate plan on every resample are one
matrix product: ``counts @ per_problem.T / n``.
"""

from __future__ import annotations

import numpy as np

from .base import SelectionError

#: Salt that keeps the selection's random streams apart from the estimator's (same seed).
_SALT = 0x5E1EC7


def bootstrap_counts(n_problems: int, n_boot: int, seed: int) -> np.ndarray:
    """[n_boot, n_problems] multinomial counts of ``n_boot`` bootstrap resamples."""
    if n_problems < 1 or n_boot < 1:
        raise SelectionError("bootstrap needs at least one problem and one resample")
    rng = np.random.default_rng([_SALT, int(seed), 1])
    return rng.multinomial(n_problems, np.full(n_problems, 1.0 / n_problems),
                           size=n_boot).astype(np.float64)


def inner_folds(n_problems: int, folds: int, repeats: int, seed: int
                ) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) positions of ``repeats`` × ``folds``-fold cross-validation; every
    problem is in exactly one test fold per repeat. SelectionError if a fold would be
    empty."""
    if folds < 2:
        raise SelectionError(f"inner cross-validation needs at least 2 folds, got {folds}")
    if repeats < 1:
        raise SelectionError(f"inner cross-validation needs repeats >= 1, got {repeats}")
    if n_problems < folds:
        raise SelectionError(f"cannot cut {n_problems} planning problems into {folds} folds")
    out = []
    for r in range(repeats):
        order = np.random.default_rng([_SALT, int(seed), 2, r]).permutation(n_problems)
        for test in np.array_split(order, folds):
            test = np.sort(test)
            out.append((np.setdiff1d(np.arange(n_problems), test), test))
    return out


def oob_mask(counts: np.ndarray) -> np.ndarray:
    """[n_boot, n_problems] True where a problem was not drawn (out of bag)."""
    return counts == 0
