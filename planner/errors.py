"""The project's error base: every user-facing failure is one of these, with a one-line
message; the CLI prints it as ``error: <message>`` and exits with status 2."""

from __future__ import annotations

from collections.abc import Mapping

_UNSET = object()


class CodecascadeError(Exception):
    """A bad input or an impossible request, explained in one line."""


class FieldError(CodecascadeError, ValueError):
    """A bad value for a named field (a request's budget, a method's time limit, ...).

    ``template`` names the fields as ``{field}`` placeholders and ``got`` is the offending
    value; ``str()`` spells the fields as in Python (``budget``), :meth:`named` in another
    spelling, e.g. the command line's option names (``--budget``), so one check serves both.
    """

    def __init__(self, template: str, *fields: str, got: object = _UNSET) -> None:
        self.template = template
        self.fields = fields
        self.got = got
        super().__init__(self.named({}))

    def named(self, names: Mapping[str, str]) -> str:
        """The message with each field spelled as ``names`` says (else its own name)."""
        text = self.template.format_map({f: names.get(f, f) for f in self.fields})
        return text if self.got is _UNSET else f"{text}, got {self.got!r}"
