"""Profile building with a fake executor: pooling, the cross-model grid, correctness,
resumption after a kill, reuse of measured cells, and the assembled arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from measure_fakes import FakeExecutor

from planner.measure import (
    SandboxExecutor,
    build_pools,
    load_prices,
    measure_profile,
    read_api_runs,
    read_problems,
    read_wizardcoder,
)
from planner.measure.build import MeasureError
from planner.measure.prices import PriceError
from planner.profile import load_profile, save_profile
from planner.sandbox.grid import ExecutionError, GridConfig


def _models(wizard_dir: Path, api_file: Path | None = None):
    problems = read_problems(wizard_dir / "HumanEval.json")
    models = [read_wizardcoder(wizard_dir, s, problems) for s in ("7B", "13B")]
    if api_file is not None:
        models += [read_api_runs(api_file, m, problems) for m in ("gpt-3.5-turbo", "gpt-4")]
    return problems, models


def test_pools_deduplicate_and_keep_first_appearance_order(wizard_dir: Path) -> None:
    problems, models = _models(wizard_dir)
    pools = build_pools(problems, models)
    for pool in pools:
        assert len(set(pool.solutions)) == len(pool.solutions)
        assert len(set(pool.lines)) == len(pool.lines)
        first = models[0].problems[pool.problem.task_id].samples[0].program
        assert pool.solutions[0] == first
        assert all(line.startswith("assert") for line in pool.lines)
    # samples repeat texts, so the pool is much smaller than the samples
    assert len(pools[0].solutions) < 2 * 20 + 2


def test_profile_matches_the_fake_verdicts(wizard_dir, api_file, price_file, tmp_path) -> None:
    problems, models = _models(wizard_dir, api_file)
    executor = FakeExecutor()
    profile = measure_profile(problems, models, load_prices(price_file), executor,
                              tmp_path / "cells")
    pools = build_pools(problems, models)
    assert profile.model_names == ("WizardCoder-Python-7B", "WizardCoder-Python-13B",
                                   "gpt-3.5-turbo", "gpt-4")
    for p, pool in enumerate(pools):
        truth = pool.problem.ground_truth_test
        for s, program in enumerate(pool.solutions):
            assert profile.solution_correct[p, s] == (FakeExecutor.verdict(program, truth) == 1)
            for q, line in enumerate(pool.lines):
                assert profile.pass_matrix[p, s, q] == (FakeExecutor.verdict(program, line) == 1)
        for q, line in enumerate(pool.lines):
            expected = FakeExecutor.verdict(pool.problem.reference_program, line) == 1
            assert profile.line_holds_reference[p, q] == expected
    # every sample maps back to its own text, in the original order (loop * 10 + pass)
    for m, model in enumerate(models):
        for p, pool in enumerate(pools):
            gen = model.problems[pool.problem.task_id]
            ids = profile.sample_solution[m, p, :len(gen.samples)]
            assert [pool.solutions[i] for i in ids] == [s.program for s in gen.samples]
            assert (profile.sample_solution[m, p, len(gen.samples):] == -1).all()
    # API runs have no greedy output and no tests; WizardCoder has both
    assert (profile.greedy_solution[2:] == -1).all() and (profile.greedy_solution[:2] >= 0).all()
    assert (profile.test_line[2:] == -1).all() and (profile.test_line_tokens[2:] == 0).all()
    # line positions: the third line is a comment (-1) but its tokens count; sums are exact
    assert (profile.test_line[:2, :, :, 2] == -1).all()
    assert (profile.test_line_tokens[:2, :, :20, :2].sum(axis=-1) == 20).all()
    assert (profile.test_line_tokens[:2, :, :20, :4].sum(axis=-1) == 41).all()
    # $/1k in the table -> $/token in the profile
    assert profile.models[0].price_generated == pytest.approx(0.001)
    assert profile.provenance["verdicts"]["timeout"] > 0
    assert profile.provenance["reference_fails_ground_truth"] == []
    assert profile.provenance["sandbox_levels"] == ["A"]
    # every cell of the grid ran exactly once
    grid = sum((len(p.solutions) + 1) * (len(p.lines) + 1) for p in pools)
    assert executor.pairs == grid


def test_ground_truth_runs_first_in_every_job(wizard_dir, price_file, tmp_path) -> None:
    """One job per problem: reference + pooled programs × (ground truth, pooled lines); the
    job is marked so the executor runs its first test under the check limit."""
    problems, models = _models(wizard_dir)
    executor = FakeExecutor()
    measure_profile(problems, models, load_prices(price_file), executor, tmp_path / "c")
    pools = build_pools(problems, models)
    for job, pool in zip(executor.jobs, pools, strict=True):
        assert job.check and job.tests == (pool.problem.ground_truth_test, *pool.lines)
        assert job.solutions == (pool.problem.reference_program, *pool.solutions)


def test_a_job_without_the_ground_truth_is_no_check_job(wizard_dir) -> None:
    problems, models = _models(wizard_dir)
    pool = build_pools(problems, models)[0]
    assert not pool.job(np.array([0, 1]), np.array([1, 2])).check
    assert pool.job(np.array([1]), np.array([0])).tests == (pool.problem.ground_truth_test,)


def test_killed_build_resumes_without_rerunning(wizard_dir, price_file, tmp_path) -> None:
    problems, models = _models(wizard_dir)
    prices = load_prices(price_file)
    killed = FakeExecutor(fail_after=2)
    with pytest.raises(KeyboardInterrupt):
        measure_profile(problems, models, prices, killed, tmp_path / "c")
    resumed = FakeExecutor()
    profile = measure_profile(problems, models, prices, resumed, tmp_path / "c")
    assert len(resumed.jobs) == len(problems) - 2
    fresh = measure_profile(problems, models, prices, FakeExecutor(), tmp_path / "other")
    assert profile.fingerprint() != "" and np.array_equal(profile.pass_matrix, fresh.pass_matrix)
    again = FakeExecutor()
    measure_profile(problems, models, prices, again, tmp_path / "c")
    assert again.jobs == []


def test_adding_models_runs_only_the_new_cells(wizard_dir, api_file, price_file,
                                               tmp_path) -> None:
    problems, models = _models(wizard_dir, api_file)
    prices = load_prices(price_file)
    measure_profile(problems, models[:1], prices, FakeExecutor(), tmp_path / "c")
    first_pools = build_pools(problems, models[:1])
    more = FakeExecutor()
    profile = measure_profile(problems, models, prices, more, tmp_path / "c")
    all_pools = build_pools(problems, models)
    expected = sum((len(b.solutions) + 1) * (len(b.lines) + 1)
                   - (len(a.solutions) + 1) * (len(a.lines) + 1)
                   for a, b in zip(first_pools, all_pools, strict=True))
    assert more.pairs >= expected and more.pairs < sum(
        (len(b.solutions) + 1) * (len(b.lines) + 1) for b in all_pools)
    full = measure_profile(problems, models, prices, FakeExecutor(), tmp_path / "fresh")
    assert np.array_equal(profile.pass_matrix, full.pass_matrix)
    assert np.array_equal(profile.solution_correct, full.solution_correct)


def test_corrupt_cache_file_is_remeasured(wizard_dir, price_file, tmp_path) -> None:
    problems, models = _models(wizard_dir)
    prices = load_prices(price_file)
    measure_profile(problems, models, prices, FakeExecutor(), tmp_path / "c")
    victim = sorted((tmp_path / "c").glob("*/*.npz"))[0]
    victim.write_bytes(victim.read_bytes()[:50])
    again = FakeExecutor()
    measure_profile(problems, models, prices, again, tmp_path / "c")
    assert len(again.jobs) == 1


def test_profile_round_trips_through_save_and_load(wizard_dir, price_file, tmp_path) -> None:
    problems, models = _models(wizard_dir)
    profile = measure_profile(problems, models, load_prices(price_file), FakeExecutor(),
                              tmp_path / "c")
    path = save_profile(profile, tmp_path / "p.npz")
    loaded = load_profile(path)
    assert loaded.fingerprint() == profile.fingerprint()
    files = loaded.provenance["models"]["WizardCoder-Python-7B"]["input_files"]
    assert "answer/7B/7B_p10_l0.json" in files and "testcase/7B/7B_p10_l0.json" in files
    assert len(files) == 6 and len(next(iter(files.values()))) == 64


def test_missing_price_is_a_clear_error(wizard_dir, api_file, price_file, tmp_path) -> None:
    problems, models = _models(wizard_dir, api_file)
    prices = load_prices(price_file)
    del prices["gpt-4"]
    with pytest.raises(PriceError, match=r"no price for model.*gpt-4"):
        measure_profile(problems, models, prices, FakeExecutor(), tmp_path / "c")


def test_no_overlapping_problems_is_a_clear_error(wizard_dir, price_file, tmp_path) -> None:
    problems, models = _models(wizard_dir)
    with pytest.raises(MeasureError, match="no model has generations"):
        measure_profile(problems[:0], models, load_prices(price_file), FakeExecutor(),
                        tmp_path / "c")


def test_sandbox_executor_limits_per_job_kind() -> None:
    executor = SandboxExecutor(GridConfig(test_timeout=0.2, check_timeout=1.5, clock="cpu"))
    assert executor.description == {"executor": "planner.sandbox", "mode": "fast",
                                     "clock": "cpu", "test_timeout_s": 0.2,
                                     "check_timeout_s": 1.5,
                                     "check_runs": "first, in the solution's process"}
    assert executor.limits["lines"]["test_timeout"] == 0.2
    assert executor.limits["check"]["test_timeout"] == 1.5
    assert executor.limits["check"]["clock"] == executor.limits["lines"]["clock"] == "cpu"
    with pytest.raises(ExecutionError, match="test_timeout must be a number > 0"):
        GridConfig(test_timeout=0)


def test_problems_without_ground_truth_are_skipped_and_named(wizard_dir, price_file,
                                                             tmp_path) -> None:
    from dataclasses import replace

    problems, models = _models(wizard_dir)
    bare = [replace(problems[0], test=None), *problems[1:]]
    executor = FakeExecutor()
    profile = measure_profile(bare, models, load_prices(price_file), executor, tmp_path / "c")
    assert profile.problems == tuple(p.task_id for p in problems[1:])
    assert profile.provenance["problems_without_ground_truth"] == [problems[0].task_id]
    assert len(executor.jobs) == len(problems) - 1
    with pytest.raises(MeasureError, match=r"none of the 3 problems has ground truth.*HumanEval/0"):
        measure_profile([replace(p, test=None) for p in problems], models,
                        load_prices(price_file), FakeExecutor(), tmp_path / "c")
