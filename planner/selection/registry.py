"""The selectors by name, and ``--selection`` strings (``NAME[:KEY=VALUE,...]``).

Every entry is a frozen dataclass whose fields are its options, so ``one-se:multiplier=0.5``
builds ``OneStandardError(multiplier=0.5)``; an unknown name or option, or a value of the
wrong type, is a one-line :class:`~planner.selection.base.SelectionError`.
"""

from __future__ import annotations

import dataclasses
import math
import typing

from .base import SelectionError, Selector, options

#: The selection ``plan``, ``frontier`` and ``compare`` use unless told otherwise: the
#: winner of benchmarks/bench_heldout.py (README, docs/selection.md): per-problem
#: estimates shrunk all the way toward a one-factor problem-difficulty model (keep=0,
#: rank=1: stages stay correlated on hard problems), a cost rule that holds with
#: probability 0.85 on new problems (5 % of the benchmark's budgets overrun on held-out
#: problems; 0.9 2 %, 0.8 11 %), and the .632 statement for new problems from 5-fold
#: inner cross-validation.
DEFAULT_SELECTION = "shrinkage:budget_confidence=0.85,prediction=632,keep=0.0,rank=1"


def _selectors() -> dict[str, type[Selector]]:
    from .bootstrap import BootstrapSelector
    from .naive import Naive
    from .one_se import OneStandardError
    from .shrinkage import Shrinkage

    return {cls.name: cls for cls in (Naive, OneStandardError, BootstrapSelector, Shrinkage)}


def selector_names() -> list[str]:
    return list(_selectors())


def _convert(cls: type[Selector], field: dataclasses.Field, text: str) -> object:
    hints = typing.get_type_hints(cls)
    kind = hints.get(field.name, str)
    options = typing.get_args(kind) or (kind,)
    if text.lower() in ("none", "") and type(None) in options:
        return None
    for option in options:
        if option is bool:
            if text.lower() in ("true", "yes", "1"):
                return True
            if text.lower() in ("false", "no", "0"):
                return False
        elif option is int:
            try:
                return int(text)
            except ValueError:
                continue
        elif option is float:
            try:
                value = float(text)
            except ValueError:
                continue
            if math.isfinite(value):
                return value
        elif option is str:
            return text
    raise SelectionError(f"selection {cls.name!r}: option {field.name} cannot be {text!r}")


def with_budget_confidence(selector: Selector, confidence: float | None) -> Selector:
    """``selector`` with its cost rule's confidence set to ``confidence`` (None: unchanged);
    SelectionError if the selector has no cost rule or the value is out of range."""
    if confidence is None:
        return selector
    if "budget_confidence" not in {f.name for f in options(selector)}:
        raise SelectionError(f"selection {selector.name!r} has no budget confidence")
    try:
        return dataclasses.replace(selector, budget_confidence=float(confidence))
    except (TypeError, ValueError) as exc:
        raise SelectionError(str(exc)) from None


def get_selector(text: str | Selector) -> Selector:
    """A selector from ``NAME[:KEY=VALUE,...]`` (or a selector, returned as it is)."""
    if isinstance(text, Selector):
        return text
    name, _, rest = text.strip().partition(":")
    known = _selectors()
    if name not in known:
        raise SelectionError(f"unknown selection {name!r}; known: {', '.join(known)}")
    cls = known[name]
    fields = {f.name: f for f in options(cls)}
    kwargs: dict[str, object] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, sep, value = part.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in fields:
            known_opts = ", ".join(fields) or "none"
            raise SelectionError(f"selection {name!r}: bad option {part!r} (options: "
                                 f"{known_opts}; write KEY=VALUE)")
        kwargs[key] = _convert(cls, fields[key], value.strip())
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        prefix = f"selection {name!r}"
        message = str(exc)
        raise SelectionError(message if message.startswith(prefix)
                             else f"{prefix}: {message}") from None
