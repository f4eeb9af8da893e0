"""The disk cache of exact fronts: a second selection on the same option tables reads the
front instead of enumerating it, gets the same candidates, and a broken cache file or other
numbers mean a fresh enumeration."""

from __future__ import annotations

import numpy as np
import pytest

import planner.selection.candidates as candidates
from planner.planning import planning_context
from planner.selection.candidates import PlanFamily, family_candidates
from planner.selection.front_cache import space_key
from planner.selection.shrinkage import shrunk_space
from planner.synthetic import synthetic_profile


@pytest.fixture()
def space(tmp_path, monkeypatch):
    monkeypatch.setenv("CODECASCADE_CACHE", str(tmp_path))
    profile = synthetic_profile(n_models=3, n_problems=30, n_samples=10, n_tests=10, seed=5)
    return planning_context(profile, grid="paper", split="all", replicates=8).planning


def _same(a, b):
    assert a.stages == b.stages
    assert np.array_equal(a.accuracy, b.accuracy) and np.array_equal(a.cost, b.cost)


def test_the_second_front_comes_from_the_cache(space, tmp_path, monkeypatch):
    first = family_candidates(space, PlanFamily.CASCADE)
    files = list(tmp_path.glob("fronts-*.npz"))
    assert len(files) == 1

    def no_enumeration(*args, **kwargs):
        raise AssertionError("the front was enumerated again")

    monkeypatch.setattr(candidates, "exact_front", no_enumeration)
    _same(family_candidates(space, PlanFamily.CASCADE), first)
    # other numbers (shrunk tables) are another key, so they are enumerated
    assert space_key(shrunk_space(space, 0.25)) != space_key(space)
    with pytest.raises(AssertionError, match="enumerated again"):
        family_candidates(space, PlanFamily.CASCADE, scored_on=shrunk_space(space, 0.25))


def test_a_broken_cache_file_is_recomputed(space, tmp_path):
    first = family_candidates(space, PlanFamily.CASCADE)
    (path,) = tmp_path.glob("fronts-*.npz")
    path.write_bytes(b"not a front")
    _same(family_candidates(space, PlanFamily.CASCADE), first)
    with np.load(path) as npz:
        assert npz["codes"].shape[1] == space.n_models
