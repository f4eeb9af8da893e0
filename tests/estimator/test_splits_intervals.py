"""Splits (the paper's protocol, k-fold, names) and bootstrap intervals."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.intervals import bootstrap_ci
from planner.splits import SplitError, kfold_splits, paper_splits, split_by_name


def test_paper_splits_are_the_papers_samples():
    splits = paper_splits()
    assert [s.seed for s in splits] == [3, 7, 9, 13, 15]
    for s in splits:
        random.seed(s.seed)  # exactly what check_combinations.py does
        expected = sorted(random.sample(range(0, 164), 49))
        assert s.validation.tolist() == expected
        assert len(s.test) == 115
        assert np.intersect1d(s.validation, s.test).size == 0
        assert s.part("all").tolist() == list(range(164))


@settings(max_examples=50, deadline=None)
@given(n=st.integers(2, 300), k=st.integers(2, 10), seed=st.integers(0, 99))
def test_kfold_partitions_the_problems(n, k, seed):
    if n < k:
        with pytest.raises(SplitError):
            kfold_splits(n, k, seed)
        return
    splits = kfold_splits(n, k, seed)
    held_out = np.concatenate([s.test for s in splits])
    assert sorted(held_out.tolist()) == list(range(n))
    for s in splits:
        assert np.intersect1d(s.validation, s.test).size == 0
        assert len(s.validation) + len(s.test) == n
        again = split_by_name(s.name, n)
        np.testing.assert_array_equal(again.validation, s.validation)
        np.testing.assert_array_equal(again.test, s.test)


def test_split_names_round_trip_and_errors():
    s = split_by_name("paper-seed7", 164)
    np.testing.assert_array_equal(s.validation, paper_splits(seeds=(7,))[0].validation)
    assert split_by_name("all", 5).part("test").tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(SplitError, match="unknown split name"):
        split_by_name("random", 164)
    with pytest.raises(SplitError, match="fold 5 does not exist"):
        split_by_name("kfold5-seed0-fold5", 164)
    with pytest.raises(SplitError, match="unknown split part"):
        s.part("train")


def test_bootstrap_interval_contains_the_mean_and_shrinks_with_more_problems():
    rng = np.random.default_rng(0)
    small = rng.random(30) < 0.6
    large = rng.random(3000) < 0.6
    lo_s, hi_s = bootstrap_ci(small)
    lo_l, hi_l = bootstrap_ci(large)
    assert lo_s <= small.mean() <= hi_s and lo_l <= large.mean() <= hi_l
    assert hi_l - lo_l < (hi_s - lo_s) / 4
    # a Bernoulli mean's 95% interval is about ±1.96 sd
    assert hi_l - lo_l == pytest.approx(2 * 1.96 * np.sqrt(0.24 / 3000), rel=0.15)


def test_bootstrap_joint_columns_and_degenerate_values():
    x = np.stack([np.full(20, 0.25), np.arange(20.0)], axis=1)
    lo, hi = bootstrap_ci(x, confidence=0.9, n_boot=500, seed=1)
    assert lo.shape == (2,) and lo[0] == hi[0] == 0.25
    assert lo[1] < 9.5 < hi[1]
    with pytest.raises(Exception, match="confidence"):
        bootstrap_ci(x, confidence=1.5)
    with pytest.raises(Exception, match="non-empty"):
        bootstrap_ci(np.zeros(0))
