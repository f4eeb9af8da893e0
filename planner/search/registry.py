"""The registry of search methods: each entry names a method, says what it does, declares
its own options with their defaults, and builds it (RouteLLM's registry style).

    get_method("exact")
    get_method("ilp", time_limit=10, solver="highs")
    get_method("optuna", trials=100, seed=3)

An option not declared by the method, or a value of the wrong kind, is a one-line
:class:`~planner.search.errors.SearchFieldError` naming the option. Collaborators are
passed in by the entry, not built inside a method.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .. import fields
from ..vocabulary import IlpSolver, MethodName, choices
from .errors import SearchFieldError
from .exact import ExactSearch
from .heuristic import HeuristicSearch
from .ilp import TIME_LIMIT, IntegerProgram
from .method import SearchMethod
from .optuna_search import N_TRIALS, OptunaSearch


@dataclass(frozen=True)
class MethodOption:
    """One option of a method: its name, default and meaning, and the values it takes.

    ``kind`` is ``float``, ``int`` or a ``StrEnum``; numbers are >= 0, or > 0 (``int``:
    >= 1) when ``positive``; ``optional`` options may also be None.
    """

    name: str
    default: Any
    help: str
    kind: type = float
    positive: bool = False
    optional: bool = False

    def check(self, value: Any) -> Any:
        """``value`` in the option's own type; SearchFieldError naming the option."""
        field = "{" + self.name + "}"
        if value is None:
            if self.optional:
                return None
            raise SearchFieldError(f"{field} cannot be None", self.name)
        if issubclass(self.kind, StrEnum):
            try:
                return self.kind(value)
            except ValueError:
                raise SearchFieldError(f"{field} must be one of {choices(self.kind)}",
                                       self.name, got=value) from None
        if self.kind is int:
            return fields.whole(value, self.name, least=1 if self.positive else 0,
                                error=SearchFieldError)
        if self.positive:
            return fields.positive(value, self.name, error=SearchFieldError)
        return fields.number(value, self.name, error=SearchFieldError)


@dataclass(frozen=True)
class MethodEntry:
    """A registered method: ``build(**options)`` makes it from its checked options."""

    name: MethodName
    summary: str
    build: Callable[..., SearchMethod]
    options: tuple[MethodOption, ...] = ()

    def defaults(self) -> dict[str, Any]:
        return {o.name: o.default for o in self.options}

    def check(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """Every option of the method, checked: the given ones, the defaults for the rest.
        SearchFieldError for an option the method does not take or a bad value."""
        known = {o.name: o for o in self.options}
        for name in options:
            if name not in known:
                takes = ", ".join(known) or "none"
                raise SearchFieldError(f"search method {self.name} has no option "
                                       f"{name!r} (its options: {takes})")
        return {name: option.check(options.get(name, option.default))
                for name, option in known.items()}

    def create(self, **options: Any) -> SearchMethod:
        return self.build(**self.check(options))


def _integer_program(*, time_limit: float, solver: IlpSolver) -> SearchMethod:
    return IntegerProgram(time_limit=time_limit, solver=solver, warm_start=HeuristicSearch())


def _exact(*, time_limit: float | None) -> SearchMethod:
    return ExactSearch(time_limit=time_limit, warm_start=HeuristicSearch())


def _time_limit(default: float | None = None) -> MethodOption:
    """Every method's time limit: at it, the method returns its best plan so far (with a
    gap where it bounds one)."""
    return MethodOption("time_limit", default, "seconds before it returns its best plan so "
                        "far", float, positive=True, optional=default is None)


#: Every search method by name, in the order help texts list them.
METHODS: dict[MethodName, MethodEntry] = {
    entry.name: entry for entry in (
        MethodEntry(MethodName.EXACT, "exact enumeration with pruning, from the heuristic's "
                    "plan: optimal, the default (at a time limit: its incumbent and proven "
                    "gap)", _exact, (_time_limit(),)),
        MethodEntry(MethodName.ILP, "integer program, one per model chain: optimal or a gap "
                    "at its time limit", _integer_program, (
                        _time_limit(TIME_LIMIT),
                        MethodOption("solver", IlpSolver.AUTO, "the solver back-end",
                                     IlpSolver),
                    )),
        MethodEntry(MethodName.HEURISTIC, "short list + exact coordinate descent: "
                    "milliseconds, no proof", HeuristicSearch, (_time_limit(),)),
        MethodEntry(MethodName.OPTUNA, "Optuna TPE with the objective as a constraint: a "
                    "seeded baseline", OptunaSearch, (
                        MethodOption("trials", N_TRIALS, "trials per search", int,
                                     positive=True),
                        MethodOption("seed", None, "the sampler's seed (none: the planning "
                                     "seed)", int, optional=True),
                        _time_limit(),
                    )),
    )
}


def method_entry(name: MethodName | str) -> MethodEntry:
    """The registry entry of a method; SearchFieldError naming the known ones."""
    try:
        return METHODS[MethodName(name)]
    except ValueError:
        raise SearchFieldError(f"{{method}} must be one of {choices(MethodName)}", "method",
                               got=name) from None


def get_method(name: MethodName | str, **options: Any) -> SearchMethod:
    """A search method by name, built with ``options`` (the rest at their defaults)."""
    return method_entry(name).create(**options)
