"""Run records: what ``codecascade run`` did for each problem, one JSON line per problem.

The runtime appends one line per finished problem (:class:`RecordWriter`, durable as every
records file: :mod:`planner.records.jsonl`), so a crash or Ctrl-C loses at most the
problems in flight, and ``codecascade measure`` reads the same file back with
:func:`read_records` to build a profile of the user's own models.

Line format ``codecascade-record/1`` (field names are stable; new fields may be added; the
JSON Schema is ``records.schema.json`` beside this module, definition ``run_record``)::

    {"format": "codecascade-record/1", "task_id", "prompt", "entry_point", "spec_hash",
     "stages": [{
        "model", "k", "t", "l", "theta", "rule", "share_tests",
        "solutions": [{"text", "code", "completion_tokens", "prompt_tokens", "greedy",
                       "error", "finish_reason", "tokens_estimated", "attempts"}],
        "tests": [{"text", "lines": [...], "line_tokens": [...], "completion_tokens",
                   "prompt_tokens", "greedy", "error", "finish_reason", "tokens_estimated",
                   "attempts"}],
        "test_columns": [[stage, generation, line], ...],
        "verdicts": [[...]], "chosen", "score", "scale", "accepted", "decision",
        "cost", "billed_cost", "latency_s", "generation_s", "sandbox_s", "sandbox_level",
        "failure"}],
     "answer": {"model", "stage", "text"} | null, "correct": true | false | null,
     "correct_verdict", "cost", "billed_cost", "latency_s", "started_at", "error",
     "failure", "degraded"}

Meaning of the fields (the generations' own fields: :mod:`planner.records.generation`):

* A stage keeps the first ``l`` lines of each test generation; of those, test lines
  (:func:`planner.testlines.is_test_line`) are run.
* ``test_columns`` names the columns of ``verdicts``: each executed test line as
  (stage index, test generation index, line index) into the ``tests`` of that stage; with
  ``share_tests`` the columns of earlier stages follow the stage's own lines.
* ``verdicts[i][c]`` is the sandbox verdict of solution ``i`` on column ``c`` (``"pass"``,
  ``"fail"``, ``"error:<Type>"``, ``"timeout"``, ...; ``"no_code"`` for a failed generation).
* ``chosen``/``score``/``scale`` come from the spec's scoring rule; the stage accepts iff
  ``score >= theta * scale``; ``decision`` (:class:`Decision`) is ``"accept"``,
  ``"escalate"``, ``"answer"`` (the last stage, which always answers), ``"error"`` (the
  model wrote no usable solution: escalate) or ``"failed"`` (an endpoint failed: the
  stage did not decide; its ``failure`` says why in one line and ``failure_kind`` is the
  :class:`planner.runtime.failures.FailureKind` value).
* A problem is *unfinished* when an infrastructure failure (an endpoint's, never the
  model's) kept its cascade from running as planned: ``failure`` names it in one line. Its
  verdicts say nothing about the models: ``codecascade run --resume`` asks it again and
  appends a new record for the task, which supersedes the earlier one (every reader takes
  the last record of each task: :func:`latest_records`). ``degraded`` is true when the
  answer is the chosen solution of an earlier stage than the cascade would have answered
  from, because a later stage failed.
* ``cost`` is the method's cost in $ (method.md §1.6): generated tokens of the solutions plus
  the kept test lines' tokens, times the model's price, plus prompt tokens times the prompt
  price. ``billed_cost`` counts every generated token (whole test generations included).
* ``correct`` is the final answer's ground-truth verdict when the problem carries ground
  truth, else ``null``; ``correct_verdict`` is the raw sandbox verdict.
* ``latency_s`` of a problem is the serving time (its stages), without the ground-truth
  check; a stage's ``latency_s`` splits into ``generation_s`` (waiting for the endpoint),
  sandbox queueing and ``sandbox_s`` (executing).
"""

from __future__ import annotations

import enum
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .generation import SolutionRecord, TestRecord, known_fields
from .jsonl import JsonlWriter, RecordError, dumps_line, read_jsonl

RECORD_FORMAT = "codecascade-record/1"


class Decision(enum.StrEnum):
    """What a stage did with its chosen solution."""

    ACCEPT = "accept"
    ESCALATE = "escalate"
    ANSWER = "answer"
    ERROR = "error"
    FAILED = "failed"

    @property
    def answers(self) -> bool:
        """True when the problem's answer comes from this stage."""
        return self in (Decision.ACCEPT, Decision.ANSWER)


@dataclass(frozen=True)
class StageRecord:
    """What one stage did for one problem."""

    model: str
    k: int
    t: int
    l: int  # noqa: E741  (the method's own name)
    theta: float
    rule: str
    share_tests: bool
    solutions: tuple[SolutionRecord, ...]
    tests: tuple[TestRecord, ...]
    test_columns: tuple[tuple[int, int, int], ...]
    verdicts: tuple[tuple[str, ...], ...]
    chosen: int
    score: float
    scale: float
    accepted: bool
    decision: Decision
    cost: float
    billed_cost: float
    latency_s: float
    generation_s: float
    sandbox_s: float
    sandbox_level: str = ""
    failure: str | None = None
    failure_kind: str | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "decision", Decision(self.decision))
        except ValueError:
            raise RecordError(f"unknown stage decision {self.decision!r}; known: "
                              f"{', '.join(Decision)}") from None

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> StageRecord:
        body = known_fields(cls, obj)
        body.update(
            solutions=tuple(SolutionRecord.from_json(s) for s in obj["solutions"]),
            tests=tuple(TestRecord.from_json(t) for t in obj["tests"]),
            test_columns=tuple(tuple(int(x) for x in c) for c in obj.get("test_columns", ())),
            verdicts=tuple(tuple(str(v) for v in row) for row in obj["verdicts"]),
        )
        return cls(**body)


@dataclass(frozen=True)
class AnswerRecord:
    """The final answer of a problem: which model (stage index) gave which program."""

    model: str
    stage: int
    text: str


@dataclass(frozen=True)
class ProblemRecord:
    """Everything the runtime did for one problem; one JSON line in a records file."""

    task_id: str
    prompt: str
    entry_point: str
    spec_hash: str
    stages: tuple[StageRecord, ...]
    answer: AnswerRecord | None
    correct: bool | None
    cost: float
    latency_s: float
    billed_cost: float = 0.0
    correct_verdict: str | None = None
    started_at: str = ""
    error: str | None = None
    failure: str | None = None
    degraded: bool = False
    format: str = field(default=RECORD_FORMAT)

    @property
    def finished(self) -> bool:
        """False when an infrastructure failure kept the cascade from running as planned
        (``--resume`` redoes the problem)."""
        return self.failure is None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def dumps(self) -> str:
        """One line of ASCII JSON (newlines and odd characters inside strings are escaped)."""
        return dumps_line(self.to_json())

    @classmethod
    def from_json(cls, obj: Any) -> ProblemRecord:
        if not isinstance(obj, dict):
            raise RecordError("a record line must be a JSON object")
        if obj.get("format") != RECORD_FORMAT:
            raise RecordError(f"unsupported record format {obj.get('format')!r}")
        try:
            answer = obj.get("answer")
            return cls(
                task_id=str(obj["task_id"]),
                prompt=str(obj["prompt"]),
                entry_point=str(obj["entry_point"]),
                spec_hash=str(obj["spec_hash"]),
                stages=tuple(StageRecord.from_json(s) for s in obj["stages"]),
                answer=None if answer is None else AnswerRecord(
                    model=str(answer["model"]), stage=int(answer["stage"]),
                    text=str(answer["text"])),
                correct=None if obj.get("correct") is None else bool(obj["correct"]),
                cost=float(obj["cost"]),
                latency_s=float(obj["latency_s"]),
                billed_cost=float(obj.get("billed_cost", 0.0)),
                correct_verdict=obj.get("correct_verdict"),
                started_at=str(obj.get("started_at", "")),
                error=obj.get("error"),
                failure=obj.get("failure"),
                degraded=bool(obj.get("degraded", False)),
            )
        except RecordError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise RecordError(f"bad record field: {type(exc).__name__}: {exc}") from None


def read_records(path: str | os.PathLike[str]) -> Iterator[ProblemRecord]:
    """Yield the run records of a file in order.

    A final line without its newline is the problem that was in flight when a run was
    killed: it is skipped. Any other malformed line raises :class:`RecordError` naming it.
    """
    for number, obj in read_jsonl(path, what="records"):
        try:
            yield ProblemRecord.from_json(obj)
        except RecordError as exc:
            raise RecordError(f"{path}:{number}: {exc}") from None


class RecordWriter(JsonlWriter):
    """Append run records (:class:`ProblemRecord`) to a JSONL file, one durable line per
    problem."""


def latest_records(path: str | os.PathLike[str]) -> dict[str, ProblemRecord]:
    """The last record of each task in ``path``, in the order tasks first appear (a record
    appended by ``--resume`` supersedes the unfinished one before it)."""
    latest: dict[str, ProblemRecord] = {}
    for record in read_records(path):
        latest[record.task_id] = record
    return latest


def finished_task_ids(path: str | os.PathLike[str]) -> set[str]:
    """Task ids whose last record in ``path`` is finished (empty if the file does not
    exist): what ``--resume`` skips."""
    if not Path(path).exists():
        return set()
    return {task for task, r in latest_records(path).items() if r.finished}
