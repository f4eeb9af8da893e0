"""Optional bearer-token authentication of the ``/v1`` routes.

With ``--api-key-env NAME`` the server reads the token from the environment variable
``NAME`` at start (never from the command line, where other users could see it) and every
``/v1`` request must send ``Authorization: Bearer <token>``, as OpenAI clients do with
their ``api_key``. ``/health`` and ``/metrics`` stay open for probes and scrapers. Tokens
are compared in constant time.
"""

from __future__ import annotations

import hmac
import os

from .config import ServeError
from .errors import APIError, ErrorType


def load_token(env_name: str | None) -> str | None:
    """The token from ``env_name`` (None: authentication off); ServeError when unset."""
    if env_name is None:
        return None
    token = os.environ.get(env_name, "")
    if not token.strip():
        raise ServeError(f"--api-key-env {env_name}: the environment variable is not set "
                         "or empty")
    return token


def check_bearer(header: str | None, token: str | None) -> None:
    """Raise APIError 401 unless ``header`` carries the token (or auth is off)."""
    if token is None:
        return
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(),
                                                              token.encode()):
        message = ("missing bearer token: send 'Authorization: Bearer <key>'" if not header
                   else "incorrect API key provided")
        raise APIError(401, message, ErrorType.INVALID_REQUEST, code="invalid_api_key",
                       headers={"WWW-Authenticate": "Bearer"})
