"""Records: round trip, partial last line after a crash, malformed lines, resume helpers,
and the committed JSON Schema."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from record_samples import make_record

from planner.records import (
    Decision,
    ProblemRecord,
    RecordError,
    RecordWriter,
    SolutionRecord,
    StageRecord,
    TestRecord,
    drop_partial_tail,
    finished_task_ids,
    read_jsonl,
    read_records,
    record_schema,
    validate_record,
)


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


def test_a_partial_last_line_is_reported(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"a": 1}\n\n{"b"')
    seen = []
    assert list(read_jsonl(path, on_partial=seen.append)) == [(1, {"a": 1})]
    assert seen == [3]


def test_written_records_match_the_committed_schema(tmp_path):
    path = tmp_path / "r.jsonl"
    with RecordWriter(path, append=False) as writer:
        writer.write(make_record("a"))
        writer.write(make_record("b", text="x"))
    for line in path.read_text().splitlines():
        validate_record(json.loads(line))
    assert make_record().stages[0].decision is Decision.ACCEPT


@pytest.mark.parametrize(("change", "message"), [
    (lambda r: r.pop("stages"), "at \\(top level\\): 'stages' is a required property"),
    (lambda r: r["stages"][0].update(decision="maybe"), "at stages/0/decision"),
    (lambda r: r["stages"][0]["solutions"][1].update(extra=1), "stages/0/solutions/1"),
    (lambda r: r["stages"][0]["tests"][0].update(line_tokens=[-1, 3]),
     "stages/0/tests/0/line_tokens/0"),
    (lambda r: r.update(answer={"model": "m"}), "at answer"),
])
def test_schema_violations_name_their_place(change, message):
    obj = make_record().to_json()
    obj = json.loads(json.dumps(obj))
    change(obj)
    with pytest.raises(RecordError, match=message):
        validate_record(obj)


def test_unknown_formats_have_no_schema():
    with pytest.raises(RecordError, match="unknown record format 'other/1'"):
        validate_record({"format": "other/1"})


def test_the_schema_lists_exactly_the_record_fields():
    from dataclasses import fields

    defs = record_schema("codecascade-record/1")["$defs"]
    for name, cls in (("solution", SolutionRecord), ("test_generation", TestRecord),
                      ("stage", StageRecord), ("run_record", ProblemRecord)):
        names = {f.name for f in fields(cls)}
        assert set(defs[name]["required"]) == names == set(defs[name]["properties"]), name
    assert defs["stage"]["properties"]["decision"]["enum"] == [str(d) for d in Decision]


def test_an_unknown_decision_is_a_record_error():
    obj = json.loads(make_record().dumps())
    obj["stages"][0]["decision"] = "maybe"
    with pytest.raises(RecordError, match="unknown stage decision 'maybe'"):
        ProblemRecord.from_json(obj)
