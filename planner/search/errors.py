"""The search's errors: one line each, exit status 2 on the command line."""

from __future__ import annotations

from ..errors import CodecascadeError, FieldError


class SearchError(CodecascadeError, ValueError):
    """The search cannot be run as asked (bad budget, empty space, ...); one line."""


class BudgetTooLowError(SearchError):
    """No plan fits the budget; the message names the cheapest possible plan's cost."""


class SearchFieldError(SearchError, FieldError):
    """A bad value for a named field of the search (an objective's budget, a method's
    option): a :class:`SearchError` whose message the CLI can re-spell with its option
    names (:class:`~planner.errors.FieldError`)."""
