"""Invariants of the resampling and statement helpers, for any input (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.selection.honest import plus632_weight
from planner.selection.resampling import bootstrap_counts, inner_folds

fractions = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(fractions, fractions, fractions)
def test_632plus_weight_lies_between_632_and_1(apparent, out_of_sample, gamma):
    w = plus632_weight(apparent, out_of_sample, gamma)
    assert 0.632 - 1e-12 <= w <= 1.0 + 1e-12
    # more overfitting (a lower out-of-sample accuracy) never lowers the weight
    assert plus632_weight(apparent, out_of_sample / 2, gamma) >= w - 1e-12


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 60), st.integers(2, 8), st.integers(1, 3), st.integers(0, 10**6))
def test_inner_folds_partition_every_repeat(n, folds, repeats, seed):
    if n < folds:
        return
    splits = inner_folds(n, folds, repeats, seed)
    assert len(splits) == folds * repeats
    for r in range(repeats):
        tests = np.concatenate([t for _, t in splits[r * folds:(r + 1) * folds]])
        assert sorted(tests.tolist()) == list(range(n))
    for train, test in splits:
        assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(n))
    assert all(np.array_equal(a[1], b[1]) for a, b in
               zip(splits, inner_folds(n, folds, repeats, seed), strict=True))


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 80), st.integers(1, 40), st.integers(0, 10**6))
def test_bootstrap_counts_are_resamples(n, n_boot, seed):
    counts = bootstrap_counts(n, n_boot, seed)
    assert counts.shape == (n_boot, n)
    assert (counts >= 0).all() and (counts.sum(axis=1) == n).all()
