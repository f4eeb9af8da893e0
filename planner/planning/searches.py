"""Running a search method on a context's planning part, with the request's options."""

from __future__ import annotations

from typing import Any

from ..search.objective import Objective
from ..search.registry import get_method
from ..search.result import SearchResult
from ..vocabulary import MethodName
from .context import PlanningContext


def run_search(context: PlanningContext, objective: Objective,
               method: MethodName | str | None = None, **options: Any) -> SearchResult:
    """``method``'s plan (default: the request's) on the planning part of ``context``,
    built by the registry with the options the request gives for it; ``options`` given
    here override those (e.g. ``run_search(context, objective, "ilp", time_limit=5)``)."""
    name = context.request.method if method is None else method
    searcher = get_method(name, **{**context.request.options_for(name), **options})
    return searcher.search(context.planning, objective, seed=context.seed)
