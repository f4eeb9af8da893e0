"""The names this module used to define, re-exported from their homes for code that
imports them from here. New code imports them from where they live:

- :mod:`.space`: :class:`SearchSpace`, :class:`Candidates`
- :mod:`.objective`: :class:`Objective`, ``TOLERANCE``
- :mod:`.result`: :class:`SearchOutcome`, :class:`SearchResult`
- :mod:`.method`: :class:`SearchMethod`
- :mod:`.stages`: ``score_stages``, ``score_stages_per_problem``, ``stages_from_codes``,
  ``normalise_stages``
- :mod:`.errors`: :class:`SearchError`, :class:`BudgetTooLowError`
- :mod:`.blas`: ``single_threaded_blas``; :mod:`.exact`: ``unreachable``
"""

from __future__ import annotations

from .blas import single_threaded_blas
from .errors import BudgetTooLowError, SearchError
from .exact import unreachable
from .method import SearchMethod
from .objective import TOLERANCE, Objective
from .result import SearchOutcome, SearchResult
from .space import Candidates, SearchSpace
from .stages import normalise_stages, score_stages, score_stages_per_problem, stages_from_codes

__all__ = [
    "TOLERANCE",
    "BudgetTooLowError",
    "Candidates",
    "Objective",
    "SearchError",
    "SearchMethod",
    "SearchOutcome",
    "SearchResult",
    "SearchSpace",
    "normalise_stages",
    "score_stages",
    "score_stages_per_problem",
    "single_threaded_blas",
    "stages_from_codes",
    "unreachable",
]
