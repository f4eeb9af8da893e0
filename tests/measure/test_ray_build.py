"""Profiles built on a local Ray instance (2 CPUs) with the real sandbox: identical to a
local build; a problem whose task always fails is named and no profile is written; an
interrupted build resumes on Ray from a local start and locally from a Ray start;
``codecascade measure --ray`` starts and stops its own Ray instance."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ray", reason="Ray is not installed (pip install 'codecascade[ray]')")

from ray_faults import FailingOn, attempts
from ray_support import ray_tmpdir

from planner.measure import MEASURE_CONFIG, MeasureSources, build_profile
from planner.measure.build import MeasureError
from planner.profile import load_profile
from planner.sandbox import SandboxExecutor
from planner.sandbox.ray_executor import RayExecutor

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]  # a Ray test never hangs CI
ROOT = Path(__file__).resolve().parents[2]


def _same_profile(a, b) -> None:
    assert a.fingerprint() == b.fingerprint()
    assert np.array_equal(a.pass_matrix, b.pass_matrix)
    assert np.array_equal(a.solution_correct, b.solution_correct)
    assert np.array_equal(a.line_holds_reference, b.line_holds_reference)


def _sources(wizard_dir: Path) -> MeasureSources:
    return MeasureSources(wizardcoder=wizard_dir, wizardcoder_models=("7B", "13B"))


def test_a_ray_build_is_the_local_build(ray_local, wizard_dir, price_file, tmp_path) -> None:
    local = build_profile(tmp_path / "local.npz", _sources(wizard_dir), prices=price_file,
                          cache=tmp_path / "cells-local")
    executor = RayExecutor(MEASURE_CONFIG, min_shard_s=0.0, waves=1e6)  # one shard per row
    on_ray = build_profile(tmp_path / "ray.npz", _sources(wizard_dir), prices=price_file,
                           executor=executor, cache=tmp_path / "cells-ray")
    _same_profile(local.profile, on_ray.profile)
    _same_profile(load_profile(tmp_path / "local.npz"), load_profile(tmp_path / "ray.npz"))
    assert on_ray.pairs_run == local.pairs_run > 0
    run = on_ray.profile.provenance["run"]["transport"]
    assert run["executor"] == "ray" and run["shards"] > on_ray.profile.n_problems
    assert local.profile.provenance["run"]["transport"] == {"executor": "local"}
    assert on_ray.profile.provenance["execution"] == local.profile.provenance["execution"]


def test_a_failing_problem_is_named_and_the_rest_resumes_locally(ray_local, wizard_dir,
                                                                 price_file, tmp_path) -> None:
    # HumanEval/2 is the only problem with a `return 999` solution
    faults = tmp_path / "attempts"
    faults.mkdir()
    executor = RayExecutor(MEASURE_CONFIG, max_retries=1,
                           node_executor=FailingOn(faults, "return 999"))
    out = tmp_path / "p.npz"
    with pytest.raises(MeasureError) as failed:
        build_profile(out, _sources(wizard_dir), prices=price_file, executor=executor)
    message = str(failed.value)
    assert "1 of 3 problems could not be measured" in message
    assert "missing: HumanEval/2" in message and "injected fault" in message
    assert "\n" not in message and not out.exists()
    assert sum("-raise-" in a for a in attempts(faults)) == 2  # 1 + max_retries
    resumed = build_profile(out, _sources(wizard_dir), prices=price_file)
    fresh = build_profile(tmp_path / "fresh.npz", _sources(wizard_dir), prices=price_file,
                          cache=tmp_path / "cells-fresh")
    _same_profile(resumed.profile, fresh.profile)
    assert 0 < resumed.pairs_run < fresh.pairs_run  # only HumanEval/2 ran again


class _StopAfterOne:
    """The local sandbox, interrupted (as by Ctrl-C) after its first finished problem."""

    def __init__(self) -> None:
        self.inner = SandboxExecutor(MEASURE_CONFIG)
        self.config, self.description = self.inner.config, self.inner.description

    def run(self, jobs):
        for index, result in self.inner.run(jobs):
            yield index, result
            raise KeyboardInterrupt


def test_a_local_build_interrupted_resumes_on_ray(ray_local, wizard_dir, price_file,
                                                  tmp_path) -> None:
    out = tmp_path / "p.npz"
    with pytest.raises(KeyboardInterrupt):
        build_profile(out, _sources(wizard_dir), prices=price_file, executor=_StopAfterOne())
    resumed = build_profile(out, _sources(wizard_dir), prices=price_file,
                            executor=RayExecutor(MEASURE_CONFIG))
    fresh = build_profile(tmp_path / "fresh.npz", _sources(wizard_dir), prices=price_file,
                          cache=tmp_path / "cells-fresh")
    _same_profile(resumed.profile, fresh.profile)
    assert 0 < resumed.pairs_run < fresh.pairs_run


def test_real_problems_on_ray_are_the_local_build(ray_local, shared_data, tmp_path) -> None:
    sources = MeasureSources(wizardcoder=shared_data / "wizardcoder-python-humaneval")
    local = build_profile(tmp_path / "local.npz", sources, limit=1,
                          cache=tmp_path / "cells-local")
    on_ray = build_profile(tmp_path / "ray.npz", sources, limit=1,
                           executor=RayExecutor(MEASURE_CONFIG, min_shard_s=0.5),
                           cache=tmp_path / "cells-ray")
    assert on_ray.profile.provenance["run"]["transport"]["shards"] > 1
    _same_profile(local.profile, on_ray.profile)


def test_measure_with_ray_starts_and_stops_its_own_instance(wizard_dir, price_file,
                                                            tmp_path) -> None:
    argv = [sys.executable, "-m", "planner", "measure", "--wizardcoder", str(wizard_dir),
            "--wizardcoder-models", "7B,13B", "--prices", str(price_file), "--no-progress"]
    with ray_tmpdir("rt"):  # the command's own instance: checked gone afterwards
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.run([*argv[:4], "--ray", str(tmp_path / "ray.npz"), *argv[4:]],
                              env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "on Ray: 1 nodes" in proc.stdout
    local = build_profile(tmp_path / "local.npz", _sources(wizard_dir), prices=price_file,
                          cache=tmp_path / "cells-local")
    _same_profile(local.profile, load_profile(tmp_path / "ray.npz"))
