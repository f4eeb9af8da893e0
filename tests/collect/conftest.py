"""Fixtures of the collect tests: tiny problems and generations files (helpers in
collect_helpers.py), and a loopback replay server of the real recorded generations."""

from __future__ import annotations

from pathlib import Path

import pytest
from collect_helpers import problem_rows, write_endpoints, write_problems


@pytest.fixture()
def problems_file(tmp_path: Path) -> Path:
    return write_problems(tmp_path / "problems.jsonl", problem_rows())


@pytest.fixture()
def endpoints_file(tmp_path: Path) -> Path:
    return write_endpoints(tmp_path / "endpoints.toml")


@pytest.fixture(scope="session")
def replay_data(shared_data):
    """WizardCoder-Python 7B/13B/34B and CodeGen-Mono-16B, as the replay server serves them."""
    from planner.runtime.replay_data import ReplayData

    return ReplayData(shared_data / "wizardcoder-python-humaneval", codet=shared_data / "codet")


@pytest.fixture
def replay_server(replay_data):
    """A factory: ``replay_server(faults, honour_n=True)`` starts a fresh server."""
    from planner.runtime.replay_server import Faults, ReplayServer

    servers = []

    def start(faults: Faults | None = None, honour_n: bool = True) -> ReplayServer:
        server = ReplayServer(replay_data, faults or Faults(), honour_n=honour_n).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
