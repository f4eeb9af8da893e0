"""The interface every search method implements (:class:`SearchMethod`)."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod

from .blas import single_threaded_blas
from .errors import SearchError
from .objective import Objective
from .result import SearchOutcome, SearchResult
from .space import SearchSpace
from .stages import normalise_stages, score_stages
from .stopping import listening


class SearchMethod(ABC):
    """One search method; subclasses implement :meth:`_search`.

    A method's options (time limit, trials, ...) are constructor arguments, declared with
    their defaults in its registry entry (planner.search.registry); collaborators such as a
    warm start are passed in, not built inside.
    """

    name: str = ""

    def search(self, space: SearchSpace, objective: Objective, seed: int = 0) -> SearchResult:
        """Best plan for ``objective``, re-scored exactly and timed.

        Raises :class:`~planner.search.errors.BudgetTooLowError` when no plan fits the
        budget and :class:`~planner.search.errors.SearchError` when the method finds none.
        While it runs, a stop request (Ctrl-C on the command line) ends it as its time
        limit would (planner.search.deadline).
        """
        start = time.perf_counter()
        with single_threaded_blas(), listening():
            outcome = self._search(space, objective, seed)
        seconds = time.perf_counter() - start
        stages = normalise_stages(space, outcome.stages)
        accuracy, cost = score_stages(space, stages)
        if not objective.feasible(accuracy, cost):
            raise SearchError(
                f"{self.name} returned an infeasible plan (accuracy {accuracy:.4f}, "
                f"cost {cost:.6g}); this is a bug"
            )
        return SearchResult(
            method=self.name, stages=stages, accuracy=accuracy, cost=cost,
            status=outcome.status, gap=outcome.gap, seconds=seconds, solver=outcome.solver,
            plans_evaluated=outcome.plans_evaluated,
        )

    @abstractmethod
    def _search(self, space: SearchSpace, objective: Objective, seed: int) -> SearchOutcome:
        """The method itself; returns an outcome whose stages are feasible."""
