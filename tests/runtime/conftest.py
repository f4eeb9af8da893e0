"""Fixtures of the runtime tests: the recorded WizardCoder generations and a loopback
OpenAI-compatible server replaying them (planner.runtime.replay_server)."""

from __future__ import annotations

import numpy as np
import pytest

from planner.runtime.execute import Execution


@pytest.fixture(scope="session")
def wizard_data(shared_data):
    from planner.runtime.replay_server import WizardCoderData

    return WizardCoderData(shared_data / "wizardcoder-python-humaneval")


@pytest.fixture
def replay_server(wizard_data):
    """A factory: ``replay_server(faults)`` starts a fresh server (stopped after the test)."""
    from planner.runtime.replay_server import Faults, ReplayServer

    servers = []

    def start(faults: Faults | None = None) -> ReplayServer:
        server = ReplayServer(wizard_data, faults or Faults()).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


class TableExecutor:
    """A stand-in executor that runs nothing: a test line passes a solution iff ``rule``
    says so. For the cascade logic tests; real verdicts come from planner.sandbox."""

    def __init__(self, rule=lambda solution, test: True, level: str = "stand-in"):
        self.rule = rule
        self.level = level
        self.calls = []

    def __call__(self, preamble, solutions, tests, test_timeout):
        self.calls.append((tuple(solutions), tuple(tests)))
        passed = np.array([[bool(self.rule(s, t)) for t in tests] for s in solutions],
                          dtype=bool).reshape(len(solutions), len(tests))
        verdicts = tuple(tuple("pass" if p else "fail" for p in row) for row in passed)
        return Execution(passed, verdicts, self.level, 0.0)


def sandbox_available() -> bool:
    try:
        from planner.sandbox import run_batch  # noqa: F401
    except ImportError:
        return False
    return True
