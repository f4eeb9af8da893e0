"""From a generation to its record row: the one place where ``run`` and ``collect`` turn what
an endpoint returned (:class:`~planner.runtime.client.Generation`) into the rows every
generations-carrying record holds (:mod:`planner.records.generation`).

A solution's program comes from :func:`~planner.runtime.extract.extract_code`; a test
generation's lines from :func:`~planner.runtime.extract.extract_lines`, with per-line
tokens from :func:`planner.tokens.line_tokens` (exact from logprobs tokens, else the
request's count apportioned by characters and flagged). A failed generation keeps its row
with the error, its failure kind and no code or lines.
"""

from __future__ import annotations

from ..problems import Problem
from ..records import SolutionRecord, TestRecord
from ..tokens import line_tokens
from .client import Generation
from .endpoints import Endpoint
from .extract import extract_code, extract_lines


def solution_record(g: Generation, problem: Problem, endpoint: Endpoint,
                    greedy: bool) -> SolutionRecord:
    """The row of one generated solution of ``problem`` from ``endpoint``."""
    code = "" if g.error else extract_code(g.text, problem.prompt, problem.entry_point,
                                           endpoint.style)
    return SolutionRecord(
        text=g.text, code=code, completion_tokens=g.completion_tokens,
        prompt_tokens=g.prompt_tokens, greedy=greedy, error=g.error,
        finish_reason=g.finish_reason, tokens_estimated=g.tokens_estimated,
        attempts=g.attempts, failure=_kind(g))


def test_record(g: Generation, endpoint: Endpoint, greedy: bool) -> TestRecord:
    """The row of one test generation from ``endpoint``: its lines and their tokens."""
    lines = [] if g.error else extract_lines(g.text, endpoint.style)
    counts, estimated = line_tokens([(ln.start, ln.end) for ln in lines], len(g.text),
                                    g.completion_tokens, g.token_starts)
    return TestRecord(
        text=g.text, lines=tuple(ln.text for ln in lines), line_tokens=tuple(counts),
        completion_tokens=g.completion_tokens, prompt_tokens=g.prompt_tokens,
        greedy=greedy, error=g.error, finish_reason=g.finish_reason,
        tokens_estimated=g.tokens_estimated or (estimated and bool(lines)),
        attempts=g.attempts, failure=_kind(g))


def _kind(g: Generation) -> str | None:
    """The failure kind as records store it (a FailureKind value), None when it came back."""
    return None if g.failure is None else str(g.failure)


test_record.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
