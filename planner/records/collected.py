"""Collected generations: what ``codecascade collect`` asked one model for one problem, one
JSON line per (model, problem) batch.

``codecascade collect`` appends one line when every request of a (model, problem) batch
has come back (:class:`CollectedWriter`, durable as every records file:
:mod:`planner.records.jsonl`), so a crash or Ctrl-C loses at most the batches in flight, and
``codecascade measure --records`` reads the file back with :func:`read_collected` to build
a profile. A resumed or topped-up collection appends further lines for the same
(model, problem); a reader joins them in file order.

Line format ``codecascade-generations/1`` (field names are stable; new fields may be added;
the JSON Schema is ``records.schema.json`` beside this module, definition
``generations_record``)::

    {"format": "codecascade-generations/1", "model", "task_id", "prompt_sha256",
     "endpoint": {"base_url", "model", "style", "temperature", "top_p", "max_tokens",
                  "test_max_tokens", "test_lines", "prompts_sha256"},
     "price_per_1m_generated", "price_per_1m_prompt", "models",
     "solutions": [{"text", "code", "completion_tokens", "prompt_tokens", "greedy", "error",
                    "finish_reason", "tokens_estimated", "attempts"}],
     "tests": [{"text", "lines": [...], "line_tokens": [...], "completion_tokens",
                "prompt_tokens", "greedy", "error", "finish_reason", "tokens_estimated",
                "attempts"}],
     "cost", "generation_s", "started_at", "finished_at"}

Meaning of the fields (the rows' own fields: :mod:`planner.records.generation`):

* ``model`` is the model's name in the endpoints file (the name a profile and a spec give
  it); ``endpoint`` is how it was reached and asked (:class:`EndpointInfo`): the served
  model name and base URL, the prompt style, the sampling settings of sampled requests
  (greedy requests use temperature 0), the token limits, the test lines asked for and a
  sha256 of the prompt templates. Two lines of one model describe the same sampling only
  when their ``endpoint`` objects are equal; ``codecascade measure`` refuses a mix unless
  told otherwise.
* ``prompt_sha256`` is the sha256 of the problem's prompt, so a generations file is never
  measured against a different version of a benchmark.
* ``models`` lists the models of the collection that wrote the line, in the order the user
  gave them (the order a profile lists them in).
* ``solutions`` and ``tests`` hold the greedy generation (``greedy`` true) and the sampled
  ones (false) in the order they were returned. A row with an ``error`` is an
  infrastructure failure (the endpoint did not answer after retries): it is not a
  generation of the model, no reader counts it, and ``collect --resume`` asks again. A row
  without an error whose ``code`` is empty is the model's own failure (nothing usable in
  its reply) and counts as a failing solution.
* ``cost`` is what the line's requests cost in $: every generated token (whole test
  generations included) times ``price_per_1m_generated`` / 1e6 plus every prompt token
  times ``price_per_1m_prompt`` / 1e6, from the endpoint's reported usage.
* ``generation_s`` is the wall time of the batch's requests; ``started_at`` and
  ``finished_at`` are UTC ISO-8601 times.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .generation import SolutionRecord, TestRecord, known_fields
from .jsonl import JsonlWriter, RecordError, read_jsonl

GENERATIONS_FORMAT = "codecascade-generations/1"


@dataclass(frozen=True)
class EndpointInfo:
    """How a model's generations were asked for: what must be equal for two lines of one
    model to describe the same sampling (see the module docstring)."""

    base_url: str
    model: str
    style: str
    temperature: float
    top_p: float
    max_tokens: int
    test_max_tokens: int
    test_lines: int
    prompts_sha256: str

    def differences(self, other: EndpointInfo) -> list[str]:
        """``"field: mine vs theirs"`` for every field that differs from ``other``."""
        out = []
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if mine != theirs:
                if f.name == "prompts_sha256":
                    out.append("prompt templates differ")
                else:
                    out.append(f"{f.name} {mine!r} vs {theirs!r}")
        return out

    @classmethod
    def from_json(cls, obj: Any) -> EndpointInfo:
        if not isinstance(obj, dict):
            raise RecordError("'endpoint' must be an object")
        try:
            return cls(base_url=str(obj["base_url"]), model=str(obj["model"]),
                       style=str(obj["style"]), temperature=float(obj["temperature"]),
                       top_p=float(obj["top_p"]), max_tokens=int(obj["max_tokens"]),
                       test_max_tokens=int(obj["test_max_tokens"]),
                       test_lines=int(obj["test_lines"]),
                       prompts_sha256=str(obj["prompts_sha256"]))
        except KeyError as exc:
            raise RecordError(f"'endpoint' lacks {exc}") from None
        except (TypeError, ValueError) as exc:
            raise RecordError(f"bad 'endpoint' field: {exc}") from None


@dataclass(frozen=True)
class Have:
    """The usable generations (no infrastructure error) of some lines, by kind."""

    greedy_solution: int = 0
    greedy_test: int = 0
    samples: int = 0
    tests: int = 0

    def __add__(self, other: Have) -> Have:
        return Have(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @property
    def total(self) -> int:
        return self.greedy_solution + self.greedy_test + self.samples + self.tests


@dataclass(frozen=True)
class CollectedRecord:
    """One (model, problem) batch of ``codecascade collect``; one JSON line."""

    model: str
    task_id: str
    prompt_sha256: str
    endpoint: EndpointInfo
    price_per_1m_generated: float
    price_per_1m_prompt: float
    models: tuple[str, ...]
    solutions: tuple[SolutionRecord, ...]
    tests: tuple[TestRecord, ...]
    cost: float
    generation_s: float
    started_at: str
    finished_at: str
    format: str = field(default=GENERATIONS_FORMAT)

    def __post_init__(self) -> None:
        for name in ("models", "solutions", "tests"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    @property
    def have(self) -> Have:
        """What this line holds that counts (rows without an infrastructure error)."""
        ok_s = [s for s in self.solutions if s.error is None]
        ok_t = [t for t in self.tests if t.error is None]
        return Have(greedy_solution=sum(s.greedy for s in ok_s),
                    greedy_test=sum(t.greedy for t in ok_t),
                    samples=sum(not s.greedy for s in ok_s),
                    tests=sum(not t.greedy for t in ok_t))

    @property
    def failures(self) -> list[str]:
        """The errors of the rows that failed (infrastructure), in row order."""
        return [r.error for r in (*self.solutions, *self.tests) if r.error is not None]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, obj: Any) -> CollectedRecord:
        if not isinstance(obj, dict):
            raise RecordError("a generations line must be a JSON object")
        if obj.get("format") != GENERATIONS_FORMAT:
            raise RecordError(f"unsupported generations format {obj.get('format')!r}")
        try:
            body = known_fields(cls, obj)
            body.update(
                endpoint=EndpointInfo.from_json(obj["endpoint"]),
                models=tuple(str(m) for m in obj["models"]),
                solutions=tuple(SolutionRecord.from_json(s) for s in obj["solutions"]),
                tests=tuple(TestRecord.from_json(t) for t in obj["tests"]),
                price_per_1m_generated=float(obj["price_per_1m_generated"]),
                price_per_1m_prompt=float(obj["price_per_1m_prompt"]),
                cost=float(obj["cost"]), generation_s=float(obj["generation_s"]),
                model=str(obj["model"]), task_id=str(obj["task_id"]),
            )
            record = cls(**body)
        except RecordError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise RecordError(f"bad generations field: {type(exc).__name__}: {exc}") from None
        for name in ("price_per_1m_generated", "price_per_1m_prompt", "cost"):
            value = getattr(record, name)
            if not math.isfinite(value) or value < 0:
                raise RecordError(f"{name} must be a non-negative number, got {value!r}")
        return record


def read_collected(path: str | os.PathLike[str],
                   on_partial: Callable[[int], None] | None = None
                   ) -> Iterator[tuple[int, CollectedRecord]]:
    """Yield ``(line number, record)`` for every line of a generations file, in order.

    A final line without its newline (a collection killed mid-write) is skipped and
    reported to ``on_partial(line number)``. Any other malformed line raises
    :class:`RecordError` naming the file and line.
    """
    for number, obj in read_jsonl(path, what="generations", on_partial=on_partial):
        try:
            yield number, CollectedRecord.from_json(obj)
        except RecordError as exc:
            raise RecordError(f"{path}:{number}: {exc}") from None


class CollectedWriter(JsonlWriter):
    """Append :class:`CollectedRecord` lines to a generations file, one durable line per
    (model, problem) batch."""

    def __init__(self, path: str | os.PathLike[str], *, append: bool, fsync: bool = True):
        super().__init__(path, append=append, fsync=fsync, what="generations")
