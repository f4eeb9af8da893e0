"""Fixtures of the runtime tests: the recorded WizardCoder generations and a loopback
OpenAI-compatible server replaying them (planner.runtime.replay_server)."""

from __future__ import annotations

import pytest


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


def sandbox_available() -> bool:
    try:
        from planner.sandbox import run_batch  # noqa: F401
    except ImportError:
        return False
    return True
