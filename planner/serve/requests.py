"""Parsing and checking a request body of ``/v1/chat/completions`` or ``/v1/completions``.

Every violation is an :class:`~planner.serve.errors.APIError` 400 naming the field, in
OpenAI's error shape. What the cascade cannot honour is refused rather than silently
ignored: ``n`` > 1 (and ``best_of`` > 1), ``logprobs``, ``echo``, ``suffix``, tools and
function calls, a JSON response format, token-id prompts and batches of prompts. Sampling
fields (``temperature``, ``top_p``, ``max_tokens``, ``stop``, ``seed``, penalties) are
accepted; the cascade samples as its spec and endpoints file say, and only a fallback
request uses ``temperature`` (0: greedy) and ``max_tokens``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .errors import bad_request
from .problem import CodeProblem, problem_in_completion, problem_in_messages

#: Chat roles whose messages are read; others (tool, function) are refused.
ROLES = ("system", "developer", "user", "assistant")


class Kind(StrEnum):
    """Which OpenAI endpoint a request came to."""

    CHAT = "chat"
    COMPLETION = "completion"


@dataclass(frozen=True)
class ParsedRequest:
    """A checked request: the messages (role, text) or prompt, the problem found in it
    (None: the fallback answers), and the fields the server honours."""

    kind: Kind
    model: str
    messages: tuple[tuple[str, str], ...]
    prompt: str
    problem: CodeProblem | None
    stream: bool
    include_usage: bool
    temperature: float | None
    max_tokens: int | None


def parse_body(raw: bytes, kind: Kind, served_model: str) -> ParsedRequest:
    """Check a request body; raises APIError 400 naming the first problem."""
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise bad_request(f"the request body is not valid JSON ({exc})") from None
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request("you must provide a model parameter", "model")
    if model != served_model:
        raise bad_request(f"the model {model!r} does not exist; this server serves "
                          f"{served_model!r}", "model", "model_not_found")
    for name in ("n", "best_of"):
        value = body.get(name)
        if value is None:
            continue
        if not _is_int(value) or value < 1:
            raise bad_request(f"{name} must be a positive integer", name)
        if value > 1:
            raise bad_request(f"{name} > 1 is not supported: the cascade gives one answer "
                              "per request", name)
    refused = {"logprobs": "logprobs are not available for a cascade's answer",
               "top_logprobs": "logprobs are not available for a cascade's answer",
               "echo": "echo is not supported", "suffix": "suffix (insertion) is not "
               "supported", "tools": "tools are not supported", "functions": "function "
               "calling is not supported", "tool_choice": "tools are not supported",
               "function_call": "function calling is not supported"}
    for name, why in refused.items():
        if body.get(name) not in (None, False, [], "none", 0):
            raise bad_request(why, name)
    fmt = body.get("response_format")
    if fmt is not None and not (isinstance(fmt, dict) and fmt.get("type") == "text"):
        raise bad_request("only the text response format is supported", "response_format")
    stream = body.get("stream", False)
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        raise bad_request("stream must be true or false", "stream")
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise bad_request("stream_options must be an object", "stream_options")
    include_usage = bool(options and options.get("include_usage"))
    temperature = body.get("temperature")
    if temperature is not None and (not _is_number(temperature)
                                    or not 0 <= temperature <= 2):
        raise bad_request("temperature must be a number between 0 and 2", "temperature")
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None and (not _is_int(max_tokens) or max_tokens < 1):
        raise bad_request("max_tokens must be a positive integer", "max_tokens")
    if kind is Kind.CHAT:
        messages = _messages(body.get("messages"))
        prompt = ""
        problem = problem_in_messages(messages)
    else:
        messages = ()
        prompt = _prompt(body.get("prompt"))
        problem = problem_in_completion(prompt)
    return ParsedRequest(kind=kind, model=model, messages=messages, prompt=prompt,
                         problem=problem, stream=stream, include_usage=include_usage,
                         temperature=None if temperature is None else float(temperature),
                         max_tokens=max_tokens)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def _messages(value: Any) -> tuple[tuple[str, str], ...]:
    if value is None:
        raise bad_request("messages is required", "messages")
    if not isinstance(value, list) or not value:
        raise bad_request("messages must be a non-empty array", "messages")
    out = []
    for i, message in enumerate(value):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise bad_request(f"{where} must be an object", where)
        role = message.get("role")
        if role not in ROLES:
            raise bad_request(f"{where}.role must be one of {', '.join(ROLES)}, got "
                              f"{role!r}", f"{where}.role")
        out.append((role, _content(message.get("content"), f"{where}.content")))
    if not any(role == "user" for role, _ in out):
        raise bad_request("messages must include at least one user message", "messages")
    return tuple(out)


def _content(value: Any, where: str) -> str:
    """A message's text: a string, or an array of parts of which only text parts count."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, list):
        texts = []
        for j, part in enumerate(value):
            if not isinstance(part, dict) or part.get("type") != "text" \
                    or not isinstance(part.get("text"), str):
                raise bad_request(f"{where}[{j}] must be a text part "
                                  '({"type": "text", "text": ...})', f"{where}[{j}]")
            texts.append(part["text"])
        return "\n".join(texts)
    raise bad_request(f"{where} must be a string or an array of text parts", where)


def _prompt(value: Any) -> str:
    if value is None:
        raise bad_request("prompt is required", "prompt")
    if isinstance(value, list):
        if len(value) == 1 and isinstance(value[0], str):
            return value[0]
        if value and all(isinstance(v, str) for v in value):
            raise bad_request("a batch of prompts is not supported: send one prompt per "
                              "request", "prompt")
        raise bad_request("token-id prompts are not supported: send the prompt as text",
                          "prompt")
    if not isinstance(value, str):
        raise bad_request("prompt must be a string", "prompt")
    if not value.strip():
        raise bad_request("prompt is empty", "prompt")
    return value
