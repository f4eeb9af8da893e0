"""Run records: what ``codecascade run`` did for each problem, one JSON line per problem.

The runtime appends one line per finished problem (a single ``write`` of the whole line,
flushed and fsynced), so a crash or Ctrl-C loses at most the problems in flight, and
``codecascade measure`` reads the same file back with :func:`read_records` to build a
profile of the user's own models.

Line format ``codecascade-record/1`` (field names are stable; new fields may be added)::

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
        "cost", "billed_cost", "latency_s", "generation_s", "sandbox_s", "sandbox_level"}],
     "answer": {"model", "stage", "text"} | null, "correct": true | false | null,
     "correct_verdict", "cost", "billed_cost", "latency_s", "started_at", "error"}

Meaning of the fields:

* ``solutions[i].text`` is the raw generated text, ``code`` the program extracted from it
  (markdown fences removed; for completion-style prompts the prompt plus the completion),
  ``""`` when nothing usable came back. ``error`` is ``null`` or one line saying why the
  generation failed (after retries); a failed generation still occupies its row.
* ``tests[j].lines`` are all non-empty code lines of test generation ``j`` in order and
  ``line_tokens`` their generated-token counts. The stage keeps the first ``l`` lines; of
  those, lines starting with ``assert`` are test lines. ``tokens_estimated`` is true when
  the endpoint reported only a request total and the runtime apportioned it over choices or
  lines by characters (exact per-token counts come from logprobs when the endpoint returns
  them).
* ``prompt_tokens`` is the request's prompt-token count, stored on the first generation of
  each request and 0 on the others (an ``n``-sample request pays its prompt once).
* ``test_columns`` names the columns of ``verdicts``: each executed test line as
  (stage index, test generation index, line index) into the ``tests`` of that stage; with
  ``share_tests`` the columns of earlier stages follow the stage's own lines.
* ``verdicts[i][c]`` is the sandbox verdict of solution ``i`` on column ``c`` (``"pass"``,
  ``"fail"``, ``"error:<Type>"``, ``"timeout"``, ...; ``"no_code"`` for a failed generation).
* ``chosen``/``score``/``scale`` come from the spec's scoring rule; the stage accepts iff
  ``score >= theta * scale``; ``decision`` is ``"accept"``, ``"escalate"``, ``"answer"``
  (the last stage, which always answers) or ``"error"`` (no usable solution, or every test
  generation failed before the last stage: escalate).
* ``cost`` is the method's cost in $ (method.md §1.6): generated tokens of the solutions plus
  the kept test lines' tokens, times the model's price, plus prompt tokens times the prompt
  price. ``billed_cost`` counts every generated token (whole test generations included).
* ``correct`` is the final answer's ground-truth verdict when the problem carries tests,
  else ``null``; ``correct_verdict`` is the raw sandbox verdict.
* ``latency_s`` of a problem is the serving time (its stages), without the ground-truth
  check; a stage's ``latency_s`` splits into ``generation_s`` (waiting for the endpoint),
  sandbox queueing and ``sandbox_s`` (executing).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import CodecascadeError

RECORD_FORMAT = "codecascade-record/1"


class RecordError(CodecascadeError, ValueError):
    """A records file or line is malformed; the message names the file and line."""


@dataclass(frozen=True)
class SolutionRecord:
    """One generated solution (see the module docstring)."""

    text: str
    code: str
    completion_tokens: int
    prompt_tokens: int
    greedy: bool
    error: str | None = None
    finish_reason: str | None = None
    tokens_estimated: bool = False
    attempts: int = 1


@dataclass(frozen=True)
class TestRecord:
    """One test generation: its lines and their token counts (see the module docstring)."""

    __test__ = False  # not a pytest class

    text: str
    lines: tuple[str, ...]
    line_tokens: tuple[int, ...]
    completion_tokens: int
    prompt_tokens: int
    greedy: bool
    error: str | None = None
    finish_reason: str | None = None
    tokens_estimated: bool = False
    attempts: int = 1

    def __post_init__(self) -> None:
        if len(self.lines) != len(self.line_tokens):
            raise RecordError("a test record needs one token count per line")


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
    decision: str
    cost: float
    billed_cost: float
    latency_s: float
    generation_s: float
    sandbox_s: float
    sandbox_level: str = ""


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
    format: str = field(default=RECORD_FORMAT)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def dumps(self) -> str:
        """One line of ASCII JSON (newlines and odd characters inside strings are escaped)."""
        return json.dumps(self.to_json(), ensure_ascii=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, obj: Any) -> ProblemRecord:
        if not isinstance(obj, dict):
            raise RecordError("a record line must be a JSON object")
        if obj.get("format") != RECORD_FORMAT:
            raise RecordError(f"unsupported record format {obj.get('format')!r}")
        try:
            stages = tuple(_stage_from_json(s) for s in obj["stages"])
            answer = obj.get("answer")
            return cls(
                task_id=str(obj["task_id"]),
                prompt=str(obj["prompt"]),
                entry_point=str(obj["entry_point"]),
                spec_hash=str(obj["spec_hash"]),
                stages=stages,
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
            )
        except RecordError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise RecordError(f"bad record field: {type(exc).__name__}: {exc}") from None


def _known(cls: type, obj: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in obj.items() if k in names}


def _stage_from_json(obj: dict[str, Any]) -> StageRecord:
    solutions = tuple(SolutionRecord(**_known(SolutionRecord, s)) for s in obj["solutions"])
    tests = tuple(
        TestRecord(**{**_known(TestRecord, t), "lines": tuple(t["lines"]),
                      "line_tokens": tuple(int(x) for x in t["line_tokens"])})
        for t in obj["tests"]
    )
    body = _known(StageRecord, obj)
    body.update(
        solutions=solutions,
        tests=tests,
        test_columns=tuple(tuple(int(x) for x in c) for c in obj.get("test_columns", ())),
        verdicts=tuple(tuple(str(v) for v in row) for row in obj["verdicts"]),
    )
    return StageRecord(**body)


def read_records(path: str | os.PathLike[str]) -> Iterator[ProblemRecord]:
    """Yield the records of a file in order.

    A final line without its newline is the problem that was in flight when a run was
    killed: it is skipped. Any other malformed line raises :class:`RecordError` naming it.
    """
    path = Path(path)
    try:
        fh = open(path, "rb")  # noqa: SIM115  (closed below; a generator holds it)
    except OSError as exc:
        raise RecordError(f"cannot read records {path}: {exc.strerror}") from None
    with fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.endswith(b"\n"):
                return
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise RecordError(f"{path}:{number}: not JSON ({exc})") from None
            try:
                yield ProblemRecord.from_json(obj)
            except RecordError as exc:
                raise RecordError(f"{path}:{number}: {exc}") from None


def drop_partial_tail(path: str | os.PathLike[str]) -> int:
    """Cut a trailing partial line (a crash mid-write) off ``path``; return bytes removed."""
    path = Path(path)
    with open(path, "rb+") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size == 0:
            return 0
        pos = size
        block = 1 << 16
        while pos > 0:
            start = max(0, pos - block)
            fh.seek(start)
            chunk = fh.read(pos - start)
            idx = chunk.rfind(b"\n")
            if idx >= 0:
                keep = start + idx + 1
                break
            pos = start
        else:
            keep = 0
        if keep < size:
            fh.truncate(keep)
        return size - keep


class RecordWriter:
    """Append records to a JSONL file, one durable line per problem.

    Each record is written with a single ``os.write`` of the whole line and fsynced, so a
    reader never sees half a record except possibly the very last line after a hard kill,
    which :func:`read_records` skips and :func:`drop_partial_tail` removes.
    """

    def __init__(self, path: str | os.PathLike[str], *, append: bool, fsync: bool = True):
        self.path = Path(path)
        self._fsync = fsync
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
        if append and self.path.exists():
            drop_partial_tail(self.path)
        try:
            self._fd: int | None = os.open(self.path, flags, 0o644)
        except OSError as exc:
            raise RecordError(f"cannot write records {self.path}: {exc.strerror}") from None

    def write(self, record: ProblemRecord) -> None:
        if self._fd is None:
            raise RecordError(f"records file {self.path} is closed")
        data = (record.dumps() + "\n").encode("ascii")
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        if self._fsync:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def finished_task_ids(path: str | os.PathLike[str]) -> set[str]:
    """Task ids already recorded in ``path`` (empty if the file does not exist)."""
    if not Path(path).exists():
        return set()
    return {r.task_id for r in read_records(path)}
