"""The server's one configuration object, checked before anything starts."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

from .. import fields
from ..errors import CodecascadeError, FieldError
from ..keys import key_variable_problem

#: ``--fallback`` value that answers requests without a function with a 400.
REJECT = "reject"
#: ``--fallback`` default: the last stage's model.
LAST_STAGE = "last"



class ServeError(CodecascadeError, ValueError):
    """The server cannot start as asked (bad option, file, key variable, sandbox); one line."""


class ServeFieldError(ServeError, FieldError):
    """A bad value of one of :class:`ServeOptions`' numbers, naming the field."""


@dataclass(frozen=True)
class ServeOptions:
    """How ``codecascade serve`` runs.

    Times are seconds. ``max_concurrency`` bounds the requests in flight (cascade runs and
    fallbacks); more get HTTP 429 with ``Retry-After``. ``deadline_s`` bounds one request
    from admission to answer (then 504). ``keepalive_s`` is the interval of SSE comment
    lines while a streamed request's cascade runs. ``grace_s`` is how long SIGTERM waits for
    requests in flight before answering them 503. ``fallback`` is a spec model, ``"last"``
    (the last stage's model) or ``"reject"``. ``api_key_env`` names the environment variable
    holding the bearer token clients must send (None: no authentication).
    ``drift_min_requests`` is how many decided requests a stage needs before its live
    acceptance rate is compared with the prediction.
    """

    spec: Path
    endpoints: Path
    records: Path = Path("served.jsonl")
    host: str = "127.0.0.1"
    port: int = 8000
    model_name: str | None = None
    max_concurrency: int = 16
    deadline_s: float = 300.0
    keepalive_s: float = 15.0
    grace_s: float = 30.0
    fallback: str = LAST_STAGE
    api_key_env: str | None = None
    unsafe_no_sandbox: bool = False
    strict_sandbox: bool = False
    test_timeout: float = 1.0
    sandbox_workers: int = 0
    drift_min_requests: int = 20
    log_level: str = "info"

    def __post_init__(self) -> None:
        put = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        for name, least, most in (("port", 0, 65535), ("max_concurrency", 1, None),
                                  ("sandbox_workers", 0, None), ("drift_min_requests", 1, None)):
            put(name, fields.whole(getattr(self, name), name, least=least, most=most,
                                   error=ServeFieldError))
        for name in ("deadline_s", "keepalive_s", "test_timeout"):
            put(name, fields.positive(getattr(self, name), name, error=ServeFieldError))
        put("grace_s", fields.number(self.grace_s, "grace_s", error=ServeFieldError))
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            if not re.fullmatch(r"[A-Za-z0-9.-]+", self.host):
                raise ServeError(f"--host must be an IP address or a host name, got "
                                 f"{self.host!r}") from None
        problem = None if self.api_key_env is None else key_variable_problem(self.api_key_env)
        if problem is not None:
            raise ServeError(f"--api-key-env {problem}")
        if self.model_name is not None and not self.model_name.strip():
            raise ServeError("--model-name is empty")
        if self.log_level not in ("critical", "error", "warning", "info", "debug"):
            raise ServeError(f"--log-level must be critical, error, warning, info or debug, "
                             f"got {self.log_level!r}")
