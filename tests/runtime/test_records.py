"""Records: round trip, partial last line after a crash, malformed lines, resume helpers."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.measure.records import (
    AnswerRecord,
    ProblemRecord,
    RecordError,
    RecordWriter,
    SolutionRecord,
    StageRecord,
    TestRecord,
    drop_partial_tail,
    finished_task_ids,
    read_records,
)


def make_record(task_id: str = "HumanEval/0", text: str = "def f():\n    return 1\n"
                ) -> ProblemRecord:
    stage = StageRecord(
        model="m", k=2, t=1, l=2, theta=0.5, rule="paper", share_tests=False,
        solutions=(SolutionRecord(text, text, 12, 30, False),
                   SolutionRecord("", "", 0, 0, False, error="HTTP 500")),
        tests=(TestRecord("assert f() == 1\nx = 1", ("assert f() == 1", "x = 1"), (6, 3), 9,
                          25, False, tokens_estimated=True),),
        test_columns=((0, 0, 0),),
        verdicts=(("pass",), ("no_code",)),
        chosen=0, score=1.0, scale=2.0, accepted=True, decision="accept",
        cost=0.001, billed_cost=0.002, latency_s=1.5, generation_s=1.0, sandbox_s=0.4,
        sandbox_level="A",
    )
    return ProblemRecord(task_id=task_id, prompt="def f():\n", entry_point="f", spec_hash="abc",
                         stages=(stage,), answer=AnswerRecord("m", 0, text), correct=True,
                         cost=0.001, latency_s=1.6, billed_cost=0.002)


def test_round_trip_keeps_every_field(tmp_path):
    path = tmp_path / "r.jsonl"
    records = [make_record("a"), make_record("b")]
    with RecordWriter(path, append=False) as writer:
        for r in records:
            writer.write(r)
    assert list(read_records(path)) == records
    line = json.loads(path.read_text().splitlines()[0])
    assert line["format"] == "codecascade-record/1"
    for name in ("task_id", "prompt", "entry_point", "spec_hash", "stages", "answer",
                 "correct", "cost", "latency_s"):
        assert name in line
    stage = line["stages"][0]
    for name in ("model", "k", "t", "l", "theta", "rule", "share_tests", "solutions", "tests",
                 "verdicts", "chosen", "score", "scale", "accepted", "cost", "latency_s",
                 "sandbox_s"):
        assert name in stage


@settings(max_examples=50, deadline=None)
@given(st.text())
def test_any_generated_text_survives_one_line(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("h") / "r.jsonl"
    with RecordWriter(path, append=False, fsync=False) as writer:
        writer.write(make_record(text=text))
    assert path.read_bytes().count(b"\n") == 1
    assert next(read_records(path)).stages[0].solutions[0].text == text


def test_partial_last_line_is_skipped_and_dropped_on_append(tmp_path):
    path = tmp_path / "r.jsonl"
    with RecordWriter(path, append=False) as writer:
        writer.write(make_record("a"))
    with open(path, "a") as fh:
        fh.write('{"format": "codecascade-record/1", "task_id": "b", "pro')
    assert [r.task_id for r in read_records(path)] == ["a"]
    assert finished_task_ids(path) == {"a"}
    with RecordWriter(path, append=True) as writer:
        writer.write(make_record("c"))
    assert [r.task_id for r in read_records(path)] == ["a", "c"]
    assert drop_partial_tail(path) == 0


def test_malformed_complete_line_names_the_line(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(make_record("a").dumps() + "\nnot json\n")
    with pytest.raises(RecordError, match=r"r.jsonl:2: not JSON"):
        list(read_records(path))
    path.write_text(json.dumps({"format": "other"}) + "\n")
    with pytest.raises(RecordError, match="unsupported record format"):
        list(read_records(path))
    path.write_text(json.dumps({"format": "codecascade-record/1"}) + "\n")
    with pytest.raises(RecordError, match=r":1: bad record field"):
        list(read_records(path))


def test_missing_file_is_a_record_error(tmp_path):
    with pytest.raises(RecordError, match="cannot read records"):
        list(read_records(tmp_path / "absent.jsonl"))
    assert finished_task_ids(tmp_path / "absent.jsonl") == set()
