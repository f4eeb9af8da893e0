"""Fixtures for the sandbox tests: the probed isolation and a fast-limits helper."""

from __future__ import annotations

import pytest

from planner.sandbox import IsolationLevel, Limits, probe_isolation

#: Short limits keep the hostile cases fast; verdicts, not timings, are asserted.
FAST_LIMITS = Limits(test_timeout=0.5, load_timeout=1.0, kill_grace=0.3, max_timeouts=2)


@pytest.fixture(scope="session")
def isolation():
    """The best isolation this machine offers (level B/C allowed: tests say what they need)."""
    return probe_isolation()


@pytest.fixture(scope="session")
def level_a(isolation):
    """The level-A report, or a skip naming what is missing."""
    if isolation.level is not IsolationLevel.A:
        pytest.skip(f"needs sandbox level A: {'; '.join(isolation.missing)}")
    return isolation
