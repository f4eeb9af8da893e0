"""OpenAI-style error answers: ``{"error": {"message", "type", "param", "code"}}``.

The status codes and types clients (the ``openai`` package, LiteLLM, IDE plugins) branch on:
400 ``invalid_request_error``, 401 ``invalid_request_error``/``invalid_api_key``, 429
``rate_limit_error`` (with ``Retry-After``), 500 ``server_error``, 502 ``upstream_error``,
503 ``server_error`` (shutting down, sandbox unusable), 504 ``timeout_error``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorType(StrEnum):
    INVALID_REQUEST = "invalid_request_error"
    RATE_LIMIT = "rate_limit_error"
    SERVER = "server_error"
    UPSTREAM = "upstream_error"
    TIMEOUT = "timeout_error"


class APIError(Exception):
    """An error answer: HTTP ``status``, OpenAI ``type``, one-line ``message``, the request
    field at fault (``param``), a machine-readable ``code`` and extra response headers."""

    def __init__(self, status: int, message: str, type: ErrorType = ErrorType.INVALID_REQUEST,
                 *, code: str | None = None, param: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = dict(headers or {})

    def __str__(self) -> str:
        return f"HTTP {self.status} {self.type}: {self.message}"

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": str(self.type),
                          "param": self.param, "code": self.code}}


def bad_request(message: str, param: str | None = None, code: str | None = None) -> APIError:
    """A 400 naming the request field at fault."""
    return APIError(400, message, ErrorType.INVALID_REQUEST, code=code, param=param)
