"""The run summary: accuracy with a Wilson interval, mean cost with an interval, reach."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from record_samples import make_record

from planner.records import AnswerRecord, ProblemRecord, RecordWriter
from planner.runtime.runner import summarize, wilson_interval


def test_wilson_interval_known_values():
    assert wilson_interval(3, 4) == pytest.approx((0.30064, 0.95442), abs=1e-4)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.27754), abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)


@given(st.integers(0, 500), st.integers(1, 500))
def test_wilson_interval_contains_the_estimate(successes, n):
    successes = min(successes, n)
    lo, hi = wilson_interval(successes, n)
    assert 0.0 <= lo <= successes / n <= hi <= 1.0


def test_summary_of_a_records_file(tmp_path):
    path = tmp_path / "r.jsonl"
    base = make_record()
    stage = base.stages[0]
    records = [
        ProblemRecord("a", "p", "f", "h", (stage,), AnswerRecord("m", 0, "x"), True, 1.0, 2.0),
        ProblemRecord("b", "p", "f", "h", (stage, stage), AnswerRecord("m", 1, "x"), False,
                      3.0, 4.0),
        ProblemRecord("c", "p", "f", "h", (stage, stage), None, None, 2.0, 1.0),
    ]
    with RecordWriter(path, append=False) as writer:
        for r in records:
            writer.write(r)
    s = summarize(path, n_stages=2)
    assert (s.n_problems, s.n_answered, s.n_with_truth, s.n_correct) == (3, 2, 2, 1)
    assert s.accuracy == 0.5 and s.accuracy_ci == pytest.approx(wilson_interval(1, 2))
    assert s.cost == pytest.approx(2.0)
    assert s.cost_ci == pytest.approx((2.0 - 1.959964 / 3 ** 0.5, 2.0 + 1.959964 / 3 ** 0.5),
                                      rel=1e-5)
    assert s.stage_reached == (3, 2) and s.stage_answered == (1, 1)
    assert s.generation_errors == 5  # one failed solution per stage record
