"""Server-sent events in OpenAI's chunk format, for ``stream: true``.

The cascade must decide before anything can be said, so the answer is streamed after the
decision: a first chunk with the role (chat), one chunk per line of the answer, a last
chunk with an empty delta, ``finish_reason`` and the ``codecascade`` extension object, then
(with ``stream_options.include_usage``) a chunk with no choices and the ``usage``, and
``data: [DONE]``. While the stages run, an SSE comment line (``: keep-alive``) goes out
every few seconds, which clients ignore and proxies count as traffic. An error after the
stream has started is one ``data: {"error": {...}}`` event (the ``openai`` client raises
it as an APIError) followed by ``[DONE]``.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import APIError
from .requests import Kind
from .responses import Answer

KEEPALIVE = ": keep-alive\n\n"
DONE = "data: [DONE]\n\n"


def event(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, separators=(',', ':'))}\n\n"


def error_event(error: APIError) -> str:
    return event(error.body())


def answer_events(kind: Kind, request_id: str, model: str, created: int, answer: Answer,
                  include_usage: bool) -> list[str]:
    """Every event of a streamed answer, ``[DONE]`` included."""
    chat = kind is Kind.CHAT
    base: dict[str, Any] = {"id": request_id,
                            "object": "chat.completion.chunk" if chat else "text_completion",
                            "created": created, "model": model, "system_fingerprint": None}
    if include_usage:
        base["usage"] = None

    def chunk(piece: str | None, finish: str | None, role: bool = False,
              **extra: Any) -> str:
        if chat:
            delta: dict[str, Any] = {}
            if role:
                delta["role"] = "assistant"
            if piece is not None:
                delta["content"] = piece
            choice: dict[str, Any] = {"index": 0, "delta": delta, "logprobs": None,
                                      "finish_reason": finish}
        else:
            choice = {"index": 0, "text": piece or "", "logprobs": None,
                      "finish_reason": finish}
        return event({**base, "choices": [choice], **extra})

    events = [chunk("", None, role=True)] if chat else []
    events += [chunk(line, None) for line in answer.text.splitlines(keepends=True)]
    events.append(chunk(None, answer.finish_reason, codecascade=answer.extension))
    if include_usage:
        events.append(event({**base, "choices": [], "usage": answer.usage.to_json()}))
    events.append(DONE)
    return events
