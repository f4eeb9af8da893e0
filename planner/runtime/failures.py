"""What went wrong when an endpoint was asked: infrastructure failures, typed.

A request to an endpoint that does not come back with a completion failed for a reason
outside the model: the server was unreachable or too slow, answered an HTTP error, or sent
a body that is not a completion. None of these says anything about the model, so none may
be recorded as the model's failure: a problem one of them touched is *unfinished*
(:mod:`planner.records.run`), and ``--resume`` asks again. What the model wrote (a reply
without code, a wrong program, a cut-off generation) is never a :class:`Failure`.

:class:`FailureKind` is the closed vocabulary, :class:`Failure` one failure with the
HTTP status when there was one, and :func:`classify` turns what the ``openai`` client
raised into a :class:`Failure`. :class:`EndpointDown` is the error that stops a run
because of an endpoint (one line naming the endpoint and the cause); the circuit breaker
(:mod:`planner.runtime.breaker`) and the pre-flight check (:mod:`planner.runtime.preflight`)
raise it.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass
from typing import Any

from .endpoints import Endpoint, EndpointError


class FailureKind(enum.StrEnum):
    """Why a request brought back no completion."""

    CONNECTION = "connection"  # refused, reset, name not resolved, body cut off
    TIMEOUT = "timeout"  # no answer within the endpoint's timeout
    RATE_LIMIT = "rate_limit"  # HTTP 429
    SERVER_ERROR = "server_error"  # HTTP 5xx and 408
    BAD_RESPONSE = "bad_response"  # not JSON, no choices, a choice without text, too few
    REFUSED = "refused"  # another HTTP 4xx: the server refused this request (400, 422, ...)
    AUTH = "auth"  # HTTP 401/403: the key
    NOT_FOUND = "not_found"  # HTTP 404: the URL or the model name
    CIRCUIT_OPEN = "circuit_open"  # not sent: the endpoint's circuit breaker is open

    @property
    def retryable(self) -> bool:
        """True when another attempt may succeed (the server may recover)."""
        return self in _RETRYABLE

    @property
    def misconfiguration(self) -> bool:
        """True when the endpoints file is wrong (key, URL, model): nothing will work."""
        return self in (FailureKind.AUTH, FailureKind.NOT_FOUND)


_RETRYABLE = frozenset({FailureKind.CONNECTION, FailureKind.TIMEOUT, FailureKind.RATE_LIMIT,
                        FailureKind.SERVER_ERROR, FailureKind.BAD_RESPONSE})


@dataclass(frozen=True)
class Failure:
    """One failed request: its kind, one line of detail, the HTTP status (if any) and the
    delay the server asked for (``Retry-After``, seconds)."""

    kind: FailureKind
    message: str
    status: int | None = None
    retry_after: float | None = None

    @property
    def cause(self) -> tuple[FailureKind, int | None]:
        """What makes two failures "the same cause" (the circuit breaker compares these)."""
        return (self.kind, self.status)

    def __str__(self) -> str:
        return self.message


class EndpointDown(EndpointError):
    """An endpoint cannot serve the run (misconfigured, or failing every request the same
    way); the message is one line naming the endpoint and the cause. ``failure`` is the
    last failure seen."""

    def __init__(self, endpoint: Endpoint, failure: Failure, what: str):
        self.endpoint = endpoint.name
        self.failure = failure
        super().__init__(f"endpoint {endpoint.name!r} ({endpoint.base_url}, model "
                         f"{endpoint.model!r}) {what}: {failure.message}"
                         + (f"; check {endpoint.api_key_env}"
                            if failure.kind is FailureKind.AUTH and endpoint.api_key_env
                            else ""))


#: What servers say when they refuse ``n > 1`` (llama.cpp: "Only one completion choice is
#: allowed", answered with 400 or, in some versions, 500).
N_REFUSAL = re.compile(
    r"only one (completion )?choice|one choice is (allowed|supported)"
    r"|\bn\b['\"`]?\s*(must|should) be (1|one|equal to 1|<= ?1)"
    r"|\bn\b['\"`]?\s*(>|greater than) ?1 (is )?not supported"
    r"|(parameter|param|value|field)[: ]+['\"`]?n['\"`]?\b.{0,40}(not supported|unsupported)",
    re.IGNORECASE)


def refuses_n(failure: Failure) -> bool:
    """True when the failure says in words that the server serves one choice per request."""
    return failure.status is not None and N_REFUSAL.search(failure.message) is not None


def one_line(text: object, limit: int = 200) -> str:
    """``text`` on one line, at most ``limit`` characters."""
    return " ".join(str(text).split())[:limit]


def classify(exc: BaseException, endpoint: Endpoint) -> Failure | None:
    """The :class:`Failure` an exception of the ``openai`` client (or of decoding its
    answer) stands for; None for any other exception."""
    import openai as oa

    if isinstance(exc, oa.APITimeoutError):
        return Failure(FailureKind.TIMEOUT, f"timeout after {endpoint.timeout_s:g} s")
    if isinstance(exc, oa.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        detail = f" ({type(cause).__name__}: {one_line(cause)})" if cause else ""
        return Failure(FailureKind.CONNECTION, f"connection error{detail}")
    if isinstance(exc, oa.APIStatusError):
        status = int(exc.status_code)
        message = f"HTTP {status} {_status_message(exc)}".rstrip()
        kind = (FailureKind.AUTH if status in (401, 403) else
                FailureKind.NOT_FOUND if status == 404 else
                FailureKind.RATE_LIMIT if status == 429 else
                FailureKind.SERVER_ERROR if status >= 500 or status == 408 else
                FailureKind.REFUSED)
        return Failure(kind, message, status, _retry_after(exc))
    if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError):
        return Failure(FailureKind.BAD_RESPONSE,
                       f"malformed response body (not JSON): {one_line(exc)}")
    if isinstance(exc, oa.APIResponseValidationError):
        return Failure(FailureKind.BAD_RESPONSE, f"malformed response: {one_line(exc)}")
    return None


def _status_message(exc: Any) -> str:
    """The server's own message of an HTTP error: the body's ``message`` (the client hands
    over the body's ``error`` object), or its ``error`` / ``detail`` (FastAPI, LiteLLM)
    as text or as an object with a message; else the client's summary."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        for key in ("message", "error", "detail"):
            value = body.get(key)
            if isinstance(value, dict):
                value = value.get("message") or value.get("error") or value.get("detail")
            if isinstance(value, str) and value.strip():
                return one_line(value)
    if isinstance(body, str) and body.strip():
        return one_line(body)
    return one_line(getattr(exc, "message", "") or "")


def _retry_after(exc: Any) -> float | None:
    try:
        value = exc.response.headers.get("retry-after")
        return float(value) if value is not None else None
    except (AttributeError, TypeError, ValueError):
        return None
