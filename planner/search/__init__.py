"""Search methods behind one interface (:class:`SearchMethod`) plus a registry.

:data:`METHODS` maps a method name to its registry entry (what it is, its options and their
defaults); :func:`get_method` builds one by name with options. All methods search a
:class:`SearchSpace` (option tables in model order) for an :class:`Objective` and return a
:class:`SearchResult` re-scored with the exact formula.
"""

from __future__ import annotations

from .errors import BudgetTooLowError, SearchError, SearchFieldError
from .exact import ExactSearch, exact_front
from .heuristic import HeuristicSearch
from .ilp import IntegerProgram
from .method import SearchMethod
from .objective import Objective
from .optuna_search import OptunaSearch
from .pareto import ParetoFront
from .registry import METHODS, MethodEntry, MethodOption, get_method, method_entry
from .result import SearchOutcome, SearchResult
from .space import SearchSpace

__all__ = [
    "METHODS",
    "BudgetTooLowError",
    "ExactSearch",
    "HeuristicSearch",
    "IntegerProgram",
    "MethodEntry",
    "MethodOption",
    "Objective",
    "OptunaSearch",
    "ParetoFront",
    "SearchError",
    "SearchFieldError",
    "SearchMethod",
    "SearchOutcome",
    "SearchResult",
    "SearchSpace",
    "exact_front",
    "get_method",
    "method_entry",
]
