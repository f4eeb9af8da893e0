"""Invariants of the resampling and statement helpers, for any input (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.selection.honest import plus632_weight
from planner.selection.resampling import bootstrap_counts, inner_folds
from planner.selection.shrinkage import difficulty_target

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


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 6), st.integers(2, 12), st.integers(0, 10**6))
def test_a_rank_one_difficulty_target_keeps_a_difficulty_matrix(n_options, n_problems, seed):
    """Per-problem values that are an option mean plus a loading times a problem's
    difficulty are their own rank-1 target (shrinking toward it changes nothing), while
    the rank-0 target is every option's mean."""
    rng = np.random.default_rng(seed)
    mean = rng.uniform(0.3, 0.7, size=(n_options, 1))
    loading = rng.uniform(0.0, 0.25, size=(n_options, 1))
    difficulty = rng.uniform(-1.0, 1.0, size=(1, n_problems))
    values = mean + loading * (difficulty - difficulty.mean())
    split = [values[: n_options // 2 + 1], values[n_options // 2 + 1:]]
    split = [s for s in split if s.shape[0]]
    target = difficulty_target(split, 1)
    assert np.allclose(np.vstack(target), values)
    flat = difficulty_target(split, 0)
    assert np.allclose(np.vstack(flat), np.broadcast_to(values.mean(axis=1, keepdims=True),
                                                        values.shape))
