"""Checking one named value: the rules every knob of the API shares.

A knob (a seed, a count of replicates, a time limit, a fraction) is checked once, in the
domain object that holds it, with these helpers, so a bad value is refused with the same
one-line message wherever it enters (Python or the command line)::

    seed must be a whole number >= 0, got -1
    time_limit must be a number > 0, got 0
    confidence must be a number in (0, 1), got 1.5

Each helper raises a :class:`~planner.errors.FieldError` (or the subclass passed as
``error``) naming the field in braces, so the command line can re-spell it with its
option's name (``--seed must be ...``). Numeric text ("0.01") is not a number here:
the command line parses text, Python callers pass numbers.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Sequence

from .errors import FieldError


def _range(least: float | None, most: float | None, open_low: bool, open_high: bool) -> str:
    """``>= 0``, ``> 0``, ``in [0, 1]``, ``in (0, 1)`` ..."""
    if most is None:
        return "" if least is None else f" {'>' if open_low else '>='} {least:g}"
    if least is None:
        return f" {'<' if open_high else '<='} {most:g}"
    return f" in {'(' if open_low else '['}{least:g}, {most:g}{')' if open_high else ']'}"


def whole(value: object, field: str, *, least: int | None = 0, most: int | None = None,
          error: type[FieldError] = FieldError) -> int:
    """``value`` as an int in [``least``, ``most``] (bounds None: open); a bool, a float
    or text is refused."""
    try:
        number = None if isinstance(value, bool) else operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        number = None
    if (number is None or (least is not None and number < least)
            or (most is not None and number > most)):
        raise error(f"{{{field}}} must be a whole number{_range(least, most, False, False)}",
                    field, got=value)
    return number


def number(value: object, field: str, *, least: float | None = 0.0,
           most: float | None = None, open_low: bool = False, open_high: bool = False,
           error: type[FieldError] = FieldError) -> float:
    """``value`` as a finite float within the bounds (``open_low``/``open_high``: the
    bound itself is excluded); a bool, NaN, infinity or text is refused."""
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real)
    result = float(value) if ok else math.nan  # type: ignore[arg-type]
    if ok and math.isfinite(result):
        ok = ((least is None or (result > least if open_low else result >= least))
              and (most is None or (result < most if open_high else result <= most)))
    else:
        ok = False
    if not ok:
        raise error(f"{{{field}}} must be a number{_range(least, most, open_low, open_high)}",
                    field, got=value)
    return result


def positive(value: object, field: str, *, error: type[FieldError] = FieldError) -> float:
    """A finite number > 0 (a time limit, a timeout, a deadline)."""
    return number(value, field, least=0.0, open_low=True, error=error)


def fraction(value: object, field: str, *, open_interval: bool = False,
             error: type[FieldError] = FieldError) -> float:
    """A number in [0, 1] (``open_interval``: in (0, 1), e.g. a confidence level)."""
    return number(value, field, least=0.0, most=1.0, open_low=open_interval,
                  open_high=open_interval, error=error)


def names(value: str | Sequence[str] | None, field: str, *, what: str = "model",
          error: type[FieldError] = FieldError) -> tuple[str, ...] | None:
    """Names from ``"A,B"`` or a sequence of strings, stripped and without repeats, in
    order; None stays None (meaning "all"). An empty choice (``""``, ``","``, ``[]``) is
    refused: it would otherwise silently mean every one."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, Sequence) or not all(isinstance(n, str) for n in items):
        raise error(f"{{{field}}} must be {what} names", field, got=value)
    kept = [n.strip() for n in items if n.strip()]
    if not kept:
        raise error(f"{{{field}}} names no {what} (leave it out for every {what})", field,
                    got=value)
    return tuple(dict.fromkeys(kept))
