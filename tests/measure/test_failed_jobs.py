"""A build some of whose problems get no result: the problems are named in one line, no
profile is written, the others' cells are cached and the next run measures only the
missing ones (fake executors, no sandbox)."""

from __future__ import annotations

import pytest
from measure_fakes import FakeExecutor

from planner.measure import MeasureSources, build_profile
from planner.measure.build import MeasureError
from planner.sandbox.grid import JobsFailed


class _LosesSomeJobs(FakeExecutor):
    """Runs every job except those whose solutions contain ``marker``, then says so."""

    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker = marker

    def run(self, jobs):
        failures = {}
        for index, job in enumerate(jobs):
            if any(self.marker in s for s in job.solutions):
                failures[index] = "WorkerCrashedError: the worker died (after up to 3 retries)"
                continue
            yield from ((index, result) for _, result in super().run([job]))
        if failures:
            raise JobsFailed(failures)


def test_missing_problems_are_named_and_measured_on_the_next_run(wizard_dir, price_file,
                                                                 tmp_path) -> None:
    sources = MeasureSources(wizardcoder=wizard_dir, wizardcoder_models=("7B", "13B"))
    out = tmp_path / "p.npz"
    lossy = _LosesSomeJobs("return 999")  # only HumanEval/2 has that solution
    with pytest.raises(MeasureError) as failed:
        build_profile(out, sources, prices=price_file, executor=lossy)
    assert str(failed.value).startswith(
        "1 of 3 problems could not be measured, no profile written (missing: HumanEval/2): "
        "HumanEval/2: WorkerCrashedError: the worker died (after up to 3 retries). The cells "
        "of every other problem are cached")
    assert not out.exists()
    again = FakeExecutor()
    result = build_profile(out, sources, prices=price_file, executor=again)
    assert result.profile.n_problems == 3
    assert len(again.jobs) == 1 and any("return 999" in s for s in again.jobs[0].solutions)
    fresh = FakeExecutor()
    whole = build_profile(tmp_path / "f.npz", sources, prices=price_file, executor=fresh,
                          cache=tmp_path / "fresh-cells")
    assert whole.profile.fingerprint() == result.profile.fingerprint()


def test_many_missing_problems_are_all_named_with_three_reasons() -> None:
    from planner.measure.build import _missing_problems

    tasks = [f"T/{i}" for i in range(6)] + ["T/0"]  # T/0 has two jobs (two blocks)
    error = _missing_problems(JobsFailed({i: f"reason {i}" for i in (0, 2, 3, 4, 6)}),
                              tasks, n_problems=6)
    text = str(error)
    assert text.startswith("4 of 6 problems could not be measured, no profile written "
                           "(missing: T/0, T/2, T/3, T/4): T/0: reason 0; T/2: reason 2; "
                           "T/3: reason 3; and 1 more.")
