"""The project's error base: every user-facing failure is one of these, with a one-line
message; the CLI prints it as ``error: <message>`` and exits with status 2."""

from __future__ import annotations


class CodecascadeError(Exception):
    """A bad input or an impossible request, explained in one line."""
