"""What a model generated for one request choice: a solution or a test generation, with its
token usage and the error that ended it, if any.

These are the rows shared by every record format that holds generations: a run record's
stages (:mod:`planner.records.run`) hold them per stage, and a record of collected
generations (per model and problem) holds the same rows.

Fields of a :class:`SolutionRecord`: ``text`` is the raw generated text, ``code`` the
program extracted from it (markdown fences removed; for completion-style prompts the prompt
plus the completion), ``""`` when nothing usable came back. ``error`` is ``None`` or one line
saying why the generation failed (after retries), and ``failure`` the kind of that failure
(a :class:`planner.runtime.failures.FailureKind` value: ``connection``, ``timeout``,
``rate_limit``, ``server_error``, ``bad_response``, ``refused``, ``auth``, ``not_found``,
``circuit_open``; ``None`` in records written before kinds were recorded). A failed
generation still occupies its row, and is never a sample of the model: the endpoint failed,
not the model (:attr:`SolutionRecord.failed`). ``prompt_tokens`` is the request's
prompt-token count, stored on the first generation of each request and 0 on the others (an
``n``-sample request pays its prompt once).
``tokens_estimated`` is true when the endpoint reported only a request total and the split
over choices or lines was apportioned by characters (exact per-token counts come from
logprobs when the endpoint returns them). ``attempts`` counts the requests made (retries
included).

A :class:`TestRecord` has the same fields with ``lines`` (all code lines of the test
generation in order, stripped) and ``line_tokens`` (their generated-token counts) instead of
``code``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from .jsonl import RecordError


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
    failure: str | None = None

    @property
    def failed(self) -> bool:
        """True when no text came back (an infrastructure failure, not the model's)."""
        return self.error is not None

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> SolutionRecord:
        return cls(**known_fields(cls, obj))


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
    failure: str | None = None

    @property
    def failed(self) -> bool:
        """True when no text came back (an infrastructure failure, not the model's)."""
        return self.error is not None

    def __post_init__(self) -> None:
        if len(self.lines) != len(self.line_tokens):
            raise RecordError("a test record needs one token count per line")

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> TestRecord:
        return cls(**{**known_fields(cls, obj), "lines": tuple(obj["lines"]),
                      "line_tokens": tuple(int(x) for x in obj["line_tokens"])})


def known_fields(cls: type, obj: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``obj`` that are fields of the dataclass ``cls`` (a newer writer may
    have added others)."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in obj.items() if k in names}
