"""Profile format: round trip, validation, clear errors on bad files."""

from __future__ import annotations

import numpy as np
import pytest

from planner.profile import ProfileError, load_profile, save_profile
from planner.synthetic import synthetic_profile


def test_round_trip_keeps_every_array(tmp_path):
    p = synthetic_profile(n_problems=7, seed=3)
    path = save_profile(p, tmp_path / "p.npz")
    q = load_profile(path)
    assert q.fingerprint() == p.fingerprint()
    assert np.array_equal(q.pass_matrix, p.pass_matrix)
    assert q.models == p.models and q.problems == p.problems


def test_truncated_file_is_a_clear_error(tmp_path):
    path = save_profile(synthetic_profile(n_problems=5), tmp_path / "p.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ProfileError, match="not a readable profile"):
        load_profile(path)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ProfileError, match="profile not found"):
        load_profile(tmp_path / "nope.npz")


def test_out_of_pool_ids_are_rejected():
    p = synthetic_profile(n_problems=4)
    bad = p.sample_solution.copy()
    bad[0, 0, 0] = 10_000
    with pytest.raises(ProfileError, match="sample_solution"):
        type(p)(**{**p.__dict__, "sample_solution": bad})


def test_subset_and_prices():
    p = synthetic_profile(n_problems=6)
    s = p.subset_problems([4, 1])
    assert s.problems == (p.problems[4], p.problems[1])
    assert np.array_equal(s.pass_matrix[0], p.pass_matrix[4])
    q = p.with_prices({"model-0": 1e-3})
    assert q.models[0].price_generated == 1e-3
    with pytest.raises(ProfileError, match="unknown model"):
        p.with_prices({"nope": 1.0})
