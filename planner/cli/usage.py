"""The command-line library's own errors in the project's phrasing, one line each.

A value the domain refuses reads ``--seed must be a whole number >= 0, got -1``
(:mod:`planner.fields`). Typer parses text into types before the domain sees it, and
phrases its refusals its own way (``Invalid value for '--seed': Input should be a valid
integer, unable to parse string as an integer``); :func:`usage_line` says the same thing
the project's way: ``--seed must be a whole number, got 'x'``. Errors about the shape of
the command line (an unknown option, a missing argument) keep their wording and point to
``--help``.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import typer

#: What a value must be, by the parse error's kind (pydantic's error types, which Typer
#: reports).
_EXPECTED = {
    "int_parsing": "a whole number", "int_from_float": "a whole number",
    "int_type": "a whole number", "float_parsing": "a number", "float_type": "a number",
    "finite_number": "a finite number", "bool_parsing": "true or false",
    "bool_type": "true or false",
}
_BOUNDS = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=",
           "less_than": "<"}


def _hint(exc: Any) -> str:
    """How the offending parameter is spelled on the command line."""
    hint = getattr(exc, "param_hint", None)
    if isinstance(hint, str):
        return hint.strip("'\"")
    param = getattr(exc, "param", None)
    if param is None:
        return "a value"
    if getattr(param, "param_type_name", "") == "argument":
        return str(param.metavar or param.name).upper()
    opts = [o for o in getattr(param, "opts", []) if o.startswith("--")] or list(param.opts)
    return max(opts, key=len) if opts else str(param.name)


def _choices(exc: Any) -> str | None:
    param = getattr(exc, "param", None)
    descriptor = getattr(param, "type_descriptor", None)
    values = getattr(descriptor, "choices", None) if descriptor is not None else None
    if not values:
        return None
    return ", ".join(str(v.value if isinstance(v, Enum) else v) for v in values)


def value_message(exc: Any) -> str | None:
    """A bad value's message in the project's phrasing, or None if ``exc`` is not about
    one value."""
    cause = exc.__cause__
    errors = getattr(cause, "errors", None)
    if not callable(errors) or not isinstance(exc, typer.BadParameter):
        return None
    try:
        first = errors()[0]
    except (IndexError, TypeError):
        return None
    kind, got = first.get("type", ""), first.get("input")
    choices = _choices(exc)
    if choices is not None:
        what = f"one of {choices}"
    elif kind in _EXPECTED:
        what = _EXPECTED[kind]
    elif kind in _BOUNDS:
        bound = next(iter(first.get("ctx", {}).values()), "")
        what = f"a number {_BOUNDS[kind]} {bound:g}" if isinstance(bound, int | float) \
            else f"a number {_BOUNDS[kind]} {bound}"
    else:
        message = str(first.get("msg", "")).removeprefix("Value error, ").rstrip(".")
        return f"{_hint(exc)}: {message[:1].lower()}{message[1:]}"
    return f"{_hint(exc)} must be {what}, got {got!r}"


def usage_line(exc: typer.TyperException, prog_name: str) -> str:
    """A usage error as one line (see the module docstring)."""
    value = value_message(exc)
    if value is not None:
        return f"error: {value}"
    message = " ".join(str(exc.format_message()).split()).rstrip(".")  # type: ignore[attr-defined]
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else prog_name
    return f"error: {message} (see '{command} --help')"
