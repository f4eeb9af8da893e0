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
    with pytest.raises(ProfileError, match="profile not found") as caught:
        load_profile(tmp_path / "nope.npz")
    assert "bundled profiles: humaneval-extra, wizardcoder-humaneval" in str(caught.value)


def test_a_directory_or_an_empty_name_is_said_so(tmp_path):
    """Before, both read 'profile not found: <path>' (for '': 'profile not found: ')."""
    with pytest.raises(ProfileError, match=f"^the profile {tmp_path} is a directory"):
        load_profile(tmp_path)
    for empty in ("", "  "):
        with pytest.raises(ProfileError, match=r"^the profile name is empty$"):
            load_profile(empty)


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


def test_the_fingerprint_leaves_out_only_the_record_of_the_build_run():
    import dataclasses

    from planner.profile import RUN_KEY, load_profile

    p = synthetic_profile(n_problems=5, seed=2)

    def with_provenance(**extra):
        return dataclasses.replace(p, provenance={**p.provenance, **extra})

    base = with_provenance(tool="x")
    later = with_provenance(tool="x", **{RUN_KEY: {"created": "2030-01-01", "seconds": 9.0,
                                                   "transport": {"executor": "ray"}}})
    assert later.fingerprint() == base.fingerprint()
    assert with_provenance(tool="y").fingerprint() != base.fingerprint()
    assert later.provenance[RUN_KEY]["seconds"] == 9.0  # kept, only not fingerprinted
    # the bundled profiles were built before the run record: their build date stays where
    # it was (fingerprinted); their run record holds only when the line mask was added
    bundled = load_profile()
    assert set(bundled.provenance[RUN_KEY]) == {"line_mask_added"}
    assert "created" in bundled.provenance


def test_the_line_mask_round_trips_and_an_older_file_loads_without_it(tmp_path):
    """A profile written before ``line_informative`` existed (no such array in the file)
    loads with None (unknown) and keeps its fingerprint; a mask round-trips and enters the
    fingerprint."""
    import dataclasses

    masked = synthetic_profile(n_problems=3, seed=2)
    masked = dataclasses.replace(masked, line_informative=masked.line_informative.copy())
    masked.line_informative[1, 3] = False
    old = dataclasses.replace(masked, line_informative=None)
    save_profile(masked, tmp_path / "new.npz")
    save_profile(old, tmp_path / "old.npz")
    with np.load(tmp_path / "old.npz") as npz:
        assert "line_informative" not in npz.files
    assert load_profile(tmp_path / "old.npz").line_informative is None
    assert load_profile(tmp_path / "old.npz").fingerprint() == old.fingerprint()
    loaded = load_profile(tmp_path / "new.npz")
    np.testing.assert_array_equal(loaded.line_informative, masked.line_informative)
    assert loaded.fingerprint() == masked.fingerprint() != old.fingerprint()


def test_a_bad_line_mask_is_a_clear_error():
    import dataclasses

    profile = synthetic_profile(n_problems=3, seed=2)
    with pytest.raises(ProfileError, match=r"line_informative.*axis Q"):
        dataclasses.replace(profile, line_informative=np.ones((3, 2), dtype=bool))
    with pytest.raises(ProfileError, match="'line_informative' must be boolean"):
        dataclasses.replace(profile, line_informative=np.ones((3, 30), dtype=np.int8))
    padded = dataclasses.replace(profile, n_lines=np.full(3, 20, dtype=np.int32),
                                 line_informative=None,
                                 test_line=np.where(profile.test_line < 20,
                                                    profile.test_line, -1),
                                 greedy_test_line=np.where(profile.greedy_test_line < 20,
                                                           profile.greedy_test_line, -1),
                                 pass_matrix=np.zeros_like(profile.pass_matrix),
                                 line_holds_reference=np.zeros_like(
                                     profile.line_holds_reference))
    with pytest.raises(ProfileError, match="padding of line_informative"):
        dataclasses.replace(padded, line_informative=np.ones((3, 30), dtype=bool))
    mask = np.arange(30)[None, :].repeat(3, axis=0) < 20
    assert dataclasses.replace(padded, line_informative=mask).line_informative is mask
