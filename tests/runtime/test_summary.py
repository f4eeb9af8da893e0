"""The run summary: accuracy with a Wilson interval over finished problems, mean cost with
an interval that stays inside the support, reach, and unfinished/degraded problems apart."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from record_samples import make_record

from planner.intervals import bootstrap_ci, wilson_interval
from planner.records import AnswerRecord, ProblemRecord, RecordWriter
from planner.runtime.summary import summarize


def test_wilson_interval_known_values():
    assert wilson_interval(3, 4) == pytest.approx((0.30064, 0.95442), abs=1e-4)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.27754), abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)


@given(st.integers(0, 500), st.integers(1, 500))
def test_wilson_interval_contains_the_estimate(successes, n):
    successes = min(successes, n)
    lo, hi = wilson_interval(successes, n)
    assert 0.0 <= lo <= successes / n <= hi <= 1.0


def write(path, records):
    with RecordWriter(path, append=False) as writer:
        for r in records:
            writer.write(r)
    return path


def test_summary_of_a_records_file(tmp_path):
    base = make_record()
    stage = base.stages[0]
    records = [
        ProblemRecord("a", "p", "f", "h", (stage,), AnswerRecord("m", 0, "x"), True, 1.0, 2.0),
        ProblemRecord("b", "p", "f", "h", (stage, stage), AnswerRecord("m", 1, "x"), False,
                      3.0, 4.0),
        ProblemRecord("c", "p", "f", "h", (stage, stage), None, None, 2.0, 1.0),
    ]
    s = summarize(write(tmp_path / "r.jsonl", records), n_stages=2)
    assert (s.n_problems, s.n_answered, s.n_with_truth, s.n_correct) == (3, 2, 2, 1)
    assert s.accuracy == 0.5 and s.accuracy_ci == pytest.approx(wilson_interval(1, 2))
    assert s.cost == pytest.approx(2.0)
    low, high = bootstrap_ci(np.array([1.0, 3.0, 2.0]))
    assert s.cost_ci == pytest.approx((float(low), float(high)))
    assert s.stage_reached == (3, 2) and s.stage_answered == (1, 1)
    assert s.generation_errors == 5  # one failed solution per stage record
    assert s.n_unfinished == 0 and s.task_ids == ("a", "b", "c")


def test_the_cost_interval_of_a_short_run_is_never_negative(tmp_path):
    """Five problems, one expensive: a normal interval would reach below $0 (the issue's
    [-0.0029, 0.026]); the bootstrap stays in [min, max] of the costs."""
    stage = make_record().stages[0]
    costs = [0.0005, 0.0004, 0.0006, 0.0005, 0.055]
    records = [ProblemRecord(f"t{i}", "p", "f", "h", (stage,), AnswerRecord("m", 0, "x"),
                             True, c, 1.0) for i, c in enumerate(costs)]
    s = summarize(write(tmp_path / "r.jsonl", records), n_stages=1)
    mean, sd = np.mean(costs), np.std(costs, ddof=1)
    assert mean - 1.96 * sd / np.sqrt(5) < 0  # what the normal interval said
    assert 0 < min(costs) <= s.cost_ci[0] <= s.cost <= s.cost_ci[1] <= max(costs)


def test_unfinished_problems_are_counted_apart_and_superseded_by_a_resumed_record(tmp_path):
    stage = make_record().stages[0]
    ok = ProblemRecord("a", "p", "f", "h", (stage,), AnswerRecord("m", 0, "x"), True, 1.0, 1.0)
    down = ProblemRecord("b", "p", "f", "h", (stage,), AnswerRecord("m", 0, "x"), False, 5.0,
                         1.0, failure="m2: connection error", degraded=True)
    also_down = dataclasses.replace(down, task_id="c", answer=None, degraded=False)
    path = write(tmp_path / "r.jsonl", [ok, down, also_down])
    s = summarize(path, n_stages=2)
    assert (s.n_problems, s.n_finished, s.n_unfinished, s.n_degraded) == (3, 1, 2, 1)
    assert s.accuracy == 1.0 and s.cost == 1.0 and s.task_ids == ("a",)
    assert s.unfinished_causes == (("m2: connection error", 2),)
    # --resume appends a finished record for b: it supersedes the unfinished one
    redone = dataclasses.replace(down, failure=None, degraded=False, correct=True, cost=2.0)
    with RecordWriter(path, append=True) as writer:
        writer.write(redone)
    s = summarize(path, n_stages=2)
    assert (s.n_problems, s.n_finished, s.n_unfinished) == (3, 2, 1)
    assert s.cost == pytest.approx(1.5) and s.task_ids == ("a", "b")
