"""Fixtures for the measurement tests (helpers live in measure_fakes.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from measure_fakes import FakeExecutor, write_api_runs, write_wizardcoder


@pytest.fixture()
def fake_executor() -> FakeExecutor:
    return FakeExecutor()


@pytest.fixture()
def wizard_dir(tmp_path: Path) -> Path:
    return write_wizardcoder(tmp_path / "wizard")


@pytest.fixture()
def api_file(tmp_path: Path) -> Path:
    return write_api_runs(tmp_path / "runs.jsonl")


@pytest.fixture()
def price_file(tmp_path: Path) -> Path:
    entry = {"generated_per_1k": 1.0, "prompt_per_1k": 0.5, "source": "test", "date": "2024"}
    names = ["WizardCoder-Python-7B", "WizardCoder-Python-13B", "gpt-3.5-turbo", "gpt-4"]
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"models": {n: entry for n in names}}))
    return path
