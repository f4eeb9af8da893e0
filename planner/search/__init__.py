"""Search methods behind one interface (:class:`SearchMethod`) plus a registry.

``METHODS`` maps a method name to its class; :func:`get_method` builds one by name. All
methods search a :class:`SearchSpace` (option tables in model order) for an
:class:`Objective` and return a :class:`SearchResult` re-scored with the exact formula.
"""

from __future__ import annotations

from .base import (
    BudgetTooLowError,
    Objective,
    SearchError,
    SearchMethod,
    SearchResult,
    SearchSpace,
)
from .exact import ExactSearch, exact_front
from .heuristic import HeuristicSearch
from .ilp import IntegerProgram
from .optuna_search import OptunaSearch
from .pareto import ParetoFront

METHODS: dict[str, type[SearchMethod]] = {
    "exact": ExactSearch,
    "ilp": IntegerProgram,
    "heuristic": HeuristicSearch,
    "optuna": OptunaSearch,
}


def get_method(name: str) -> SearchMethod:
    """A search method by name; SearchError naming the known ones otherwise."""
    try:
        return METHODS[name]()
    except KeyError:
        raise SearchError(f"unknown search method {name!r}; known: {', '.join(METHODS)}") from None


__all__ = [
    "METHODS",
    "BudgetTooLowError",
    "ExactSearch",
    "HeuristicSearch",
    "IntegerProgram",
    "Objective",
    "OptunaSearch",
    "ParetoFront",
    "SearchError",
    "SearchMethod",
    "SearchResult",
    "SearchSpace",
    "exact_front",
    "get_method",
]
