"""Shared fixtures: the real data folder (skip cleanly when absent) and small profiles."""

from __future__ import annotations

from pathlib import Path

import pytest
from ray_support import ray_tmpdir

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


@pytest.fixture(scope="module")
def ray_local():
    """A local Ray instance with 2 CPUs for one test module (skipped without Ray or without
    sandbox level A), shut down afterwards with every one of its processes checked gone.
    Yields the :class:`~planner.sandbox.ray_executor.RayExecutor` that started it; other
    executors made with ``address=None`` in the module use the same instance."""
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'codecascade[ray]')")
    from planner.sandbox import IsolationLevel, probe_isolation
    from planner.sandbox.ray_executor import RayExecutor

    report = probe_isolation()
    if report.level is not IsolationLevel.A:
        pytest.skip(f"needs sandbox level A: {'; '.join(report.missing)}")
    with ray_tmpdir("rt"):
        executor = RayExecutor(address="local", num_cpus=2)
        try:
            executor.connect()
            yield executor
        finally:
            executor.close()


@pytest.fixture
def private_cache(tmp_path_factory, monkeypatch) -> Path:
    """A fresh CODECASCADE_CACHE for one test (option tables and fronts are not shared with
    other tests or with the machine's cache)."""
    path = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("CODECASCADE_CACHE", str(path))
    return path
