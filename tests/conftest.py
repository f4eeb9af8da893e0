"""Shared fixtures: the real data folder (skip cleanly when absent) and small profiles."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or a skip naming why the real-data tests cannot run."""
    if not (SHARED_DATA / "wizardcoder-python-humaneval").is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture(scope="session")
def default_profile_path() -> Path:
    """The bundled default profile, or a skip naming the missing file."""
    from planner.profile import ProfileError, resolve_profile_path

    try:
        return resolve_profile_path(None)
    except ProfileError:
        pytest.skip("the bundled default profile planner/data/wizardcoder-humaneval.npz is absent")


@pytest.fixture(scope="session")
def small_profile():
    from planner.synthetic import synthetic_profile

    return synthetic_profile(n_models=3, n_problems=30, n_samples=20, n_tests=20, seed=1)
