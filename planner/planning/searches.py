"""Running a search method on a context's planning part, with the request's options."""

from __future__ import annotations

from ..search.objective import Objective
from ..search.registry import get_method
from ..search.result import SearchResult
from ..vocabulary import MethodName
from .context import PlanningContext


def run_search(context: PlanningContext, objective: Objective,
               method: MethodName | str | None = None) -> SearchResult:
    """``method``'s plan (default: the request's) on the planning part of ``context``,
    built by the registry with the options the request gives for it."""
    name = context.request.method if method is None else method
    searcher = get_method(name, **context.request.options_for(name))
    return searcher.search(context.planning, objective, seed=context.seed)
