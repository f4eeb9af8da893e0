"""The package as a user installs it: a wheel built from this tree, installed on its own
(no repository beside it), runs ``plan --budget 0.01``, ``codecascade profile`` and
``codecascade --version`` from its bundled data.

The wheel's dependencies come from the test environment (``.ci/run`` makes that a fresh
virtualenv with only the declared dependencies), the wheel itself from a folder that holds
nothing else, and the commands run outside the repository, so a file the wheel lacks or an
import it does not declare fails here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import planner

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The wheel built from this tree, installed into a folder of its own."""
    out = tmp_path_factory.mktemp("wheel")
    source = out / "source"  # a copy, so the build leaves nothing in the working tree
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "planner", source / "planner",
                    ignore=shutil.ignore_patterns("__pycache__", ".codecascade-cells"))
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(out / "dist"), str(source)],
        capture_output=True, text=True, timeout=600, check=False)
    assert build.returncode == 0, build.stderr[-2000:]
    wheels = list((out / "dist").glob("codecascade-*.whl"))
    assert len(wheels) == 1, wheels
    target = out / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target",
         str(target), str(wheels[0])],
        capture_output=True, text=True, timeout=600, check=False)
    assert install.returncode == 0, install.stderr[-2000:]
    return target


def _run(site: Path, cwd: Path, code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "CODECASCADE_DATA"}}
    env["PYTHONPATH"] = str(site)
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_wheel_declares_both_commands_and_bundles_the_profiles(installed):
    dist = next(installed.glob("codecascade-*.dist-info"))
    entry_points = (dist / "entry_points.txt").read_text()
    assert "codecascade = planner.cli:main" in entry_points
    assert "plan = planner.cli:plan_main" in entry_points
    data = installed / "planner" / "data"
    assert {p.name for p in data.glob("*.npz")} >= {"wizardcoder-humaneval.npz",
                                                     "humaneval-extra.npz"}
    assert (data / "prices.json").is_file()
    assert (installed / "planner" / "spec.schema.json").is_file()
    assert (installed / "planner" / "records" / "records.schema.json").is_file()


def test_installed_wheel_plans_outside_the_repository(installed, tmp_path):
    probe = _run(installed, tmp_path, "import planner; print(planner.__file__)")
    assert probe.returncode == 0 and probe.stdout.startswith(str(installed)), probe
    done = _run(installed, tmp_path,
                "import sys; from planner.cli import plan_main; plan_main(sys.argv[1:])",
                "--budget", "0.01")
    assert done.returncode == 0, done.stderr[-2000:]
    spec = json.loads(done.stdout)
    assert spec["budget_per_problem"] == pytest.approx(0.01) and spec["stages"]


def test_installed_wheel_profile_and_version(installed, tmp_path):
    main = "import sys; from planner.cli import main; main(sys.argv[1:])"
    profile = _run(installed, tmp_path, main, "profile")
    assert profile.returncode == 0, profile.stderr[-2000:]
    assert "WizardCoder-Python-34B" in profile.stdout
    version = _run(installed, tmp_path, main, "--version")
    assert version.returncode == 0
    assert version.stdout.strip() == f"codecascade {planner.__version__}"


def test_every_bundled_file_is_in_the_wheel(installed):
    bundled = {p.name for p in (ROOT / "planner" / "data").iterdir()
               if p.is_file() and not p.name.startswith(".")}
    assert bundled <= {p.name for p in (installed / "planner" / "data").iterdir()}
