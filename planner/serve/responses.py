"""OpenAI response bodies for an answer, and the ``codecascade`` extension.

A chat answer is ``choices[0].message.content`` (the chosen program in a ```` ```python ````
block); a completion answer is ``choices[0].text`` (what continues the prompt, see
:mod:`planner.serve.continuation`). ``usage`` sums every upstream request of the cascade:
prompt tokens of every request and completion tokens of every generation (whole test
generations included: what the endpoints bill). The extension object ``codecascade``
carries the stages tried with their decisions and scores, the answering stage and the cost
in $ (the method's cost, and the billed cost); the same facts go in ``X-Codecascade-*``
response headers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..records import ProblemRecord
from .continuation import continuation
from .requests import Kind, ParsedRequest


@dataclass(frozen=True)
class Usage:
    """Tokens of all upstream requests behind one answer."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    def to_json(self) -> dict[str, int]:
        return {"prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "total_tokens": self.prompt_tokens + self.completion_tokens}


@dataclass(frozen=True)
class Answer:
    """What one request is answered with (``text`` as the client should see it)."""

    text: str
    finish_reason: str
    usage: Usage
    extension: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def record_usage(record: ProblemRecord) -> Usage:
    generations = [x for s in record.stages for x in (*s.solutions, *s.tests)]
    return Usage(sum(x.prompt_tokens for x in generations),
                 sum(x.completion_tokens for x in generations))


def record_extension(record: ProblemRecord) -> dict[str, Any]:
    """The ``codecascade`` object of a cascade run (answered or not)."""
    stages = []
    for i, s in enumerate(record.stages):
        stages.append({
            "stage": i, "model": s.model, "k": s.k, "t": s.t, "l": s.l, "theta": s.theta,
            "rule": s.rule, "share_tests": s.share_tests, "decision": s.decision,
            "score": s.score, "scale": s.scale, "accepted": s.accepted,
            "solutions": len(s.solutions), "test_lines": len(s.test_columns),
            "generation_errors": sum(x.error is not None for x in (*s.solutions, *s.tests)),
            "cost": s.cost, "billed_cost": s.billed_cost, "latency_s": s.latency_s,
            "generation_s": s.generation_s, "sandbox_s": s.sandbox_s,
            "sandbox_level": s.sandbox_level, "failure": s.failure,
        })
    answer = record.answer
    return {
        "task_id": record.task_id,
        "entry_point": record.entry_point,
        "spec_hash": record.spec_hash,
        "stages": stages,
        "answered_by": None if answer is None else {"stage": answer.stage,
                                                    "model": answer.model},
        "cost": record.cost,
        "billed_cost": record.billed_cost,
        "latency_s": record.latency_s,
        "generation_s": math.fsum(s.generation_s for s in record.stages),
        "sandbox_s": math.fsum(s.sandbox_s for s in record.stages),
        "fallback": None,
        "error": record.error,
        "degraded": record.degraded,
        "failure": record.failure,
    }


def record_headers(record: ProblemRecord) -> dict[str, str]:
    headers = {
        "X-Codecascade-Stages": ",".join(s.model for s in record.stages),
        "X-Codecascade-Decisions": ",".join(s.decision for s in record.stages),
        "X-Codecascade-Scores": ",".join(f"{s.score:g}" for s in record.stages),
        "X-Codecascade-Cost": f"{record.cost:.8g}",
        "X-Codecascade-Task-Id": record.task_id,
    }
    if record.answer is not None:
        headers["X-Codecascade-Stage"] = str(record.answer.stage)
        headers["X-Codecascade-Model"] = record.answer.model
    if record.degraded:
        headers["X-Codecascade-Degraded"] = "true"
    return headers


def cascade_answer(request: ParsedRequest, record: ProblemRecord) -> Answer:
    """The answer of a cascade run that chose a program."""
    assert record.answer is not None and request.problem is not None
    code = record.answer.text
    stage = record.stages[record.answer.stage]
    chosen = stage.solutions[stage.chosen] if stage.solutions else None
    finish = "length" if chosen is not None and chosen.finish_reason == "length" else "stop"
    if request.kind is Kind.CHAT:
        text = f"```python\n{code.rstrip()}\n```"
    else:
        text = continuation(request.prompt, code, request.problem.entry_point)
    return Answer(text, finish, record_usage(record), record_extension(record),
                  record_headers(record))


def response_body(kind: Kind, request_id: str, model: str, created: int,
                  answer: Answer) -> dict[str, Any]:
    """The whole (non-streamed) response."""
    if kind is Kind.CHAT:
        choice: dict[str, Any] = {
            "index": 0,
            "message": {"role": "assistant", "content": answer.text, "refusal": None},
            "logprobs": None, "finish_reason": answer.finish_reason}
        obj = "chat.completion"
    else:
        choice = {"index": 0, "text": answer.text, "logprobs": None,
                  "finish_reason": answer.finish_reason}
        obj = "text_completion"
    return {"id": request_id, "object": obj, "created": created, "model": model,
            "system_fingerprint": None, "choices": [choice], "usage": answer.usage.to_json(),
            "codecascade": answer.extension}
