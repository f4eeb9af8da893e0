"""Records: the JSON-lines files the project writes as it works, one home for every format.

``jsonl`` makes every records file durable (one write and an fsync per line; a partial last
line after a kill is skipped and cut off); ``generation`` holds the rows every format that
carries generations shares (a solution, a test generation, with usage and errors); ``run``
is ``codecascade-record/1``, what ``codecascade run`` did per problem; ``collected`` is
``codecascade-generations/1``, what ``codecascade collect`` asked each model for each problem
(samples, test generations, usage, infrastructure errors), built from the same rows;
``schema`` checks a line against ``records.schema.json``, which defines every format.
"""

from __future__ import annotations

from .collected import (
    GENERATIONS_FORMAT,
    CollectedRecord,
    CollectedWriter,
    EndpointInfo,
    Have,
    read_collected,
)
from .generation import SolutionRecord, TestRecord
from .jsonl import JsonlWriter, RecordError, drop_partial_tail, read_jsonl
from .run import (
    RECORD_FORMAT,
    AnswerRecord,
    Decision,
    ProblemRecord,
    RecordWriter,
    StageRecord,
    finished_task_ids,
    latest_records,
    read_records,
)
from .schema import record_schema, validate_record

__all__ = [
    "GENERATIONS_FORMAT",
    "RECORD_FORMAT",
    "AnswerRecord",
    "CollectedRecord",
    "CollectedWriter",
    "Decision",
    "EndpointInfo",
    "Have",
    "JsonlWriter",
    "ProblemRecord",
    "RecordError",
    "RecordWriter",
    "SolutionRecord",
    "StageRecord",
    "TestRecord",
    "drop_partial_tail",
    "finished_task_ids",
    "latest_records",
    "read_collected",
    "read_jsonl",
    "read_records",
    "record_schema",
    "validate_record",
]
