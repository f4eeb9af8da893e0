"""What a search optimises: the most accurate plan within a budget, or the cheapest plan
reaching a target accuracy."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from .. import fields
from ..vocabulary import ObjectiveKind
from .errors import SearchFieldError

#: Absolute tolerance on mean accuracy and cost when comparing plans and budgets.
TOLERANCE = 1e-9


def _amount(value: object, field: str, *, upper: float | None = None) -> float | None:
    """``value`` as a finite number >= 0 (and <= ``upper``), or None; numeric text is
    read as a number. SearchFieldError naming ``field`` otherwise."""
    if value is None:
        return None
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = float(value)
    return fields.number(value, field, least=0.0, most=upper, error=SearchFieldError)


@dataclass(frozen=True)
class Objective:
    """Maximise accuracy with mean cost <= ``budget`` ($ per problem), or
    (``target_accuracy`` set, a fraction) minimise cost with mean accuracy >= it.

    Exactly one of the two is given; numeric text is accepted and stored as a float.
    Raises :class:`~planner.search.errors.SearchFieldError` (one line, naming the field) for
    a missing, non-numeric, negative, non-finite or (target accuracy) above-1 value.
    """

    budget: float | None = None
    target_accuracy: float | None = None

    def __post_init__(self) -> None:
        budget = _amount(self.budget, "budget")
        target = _amount(self.target_accuracy, "target_accuracy", upper=1.0)
        if (budget is None) == (target is None):
            raise SearchFieldError("give exactly one of {budget} or {target_accuracy}",
                                   "budget", "target_accuracy")
        object.__setattr__(self, "budget", budget)
        object.__setattr__(self, "target_accuracy", target)

    @property
    def is_budget(self) -> bool:
        return self.budget is not None

    @property
    def kind(self) -> ObjectiveKind:
        return ObjectiveKind.MAX_ACCURACY if self.is_budget else ObjectiveKind.MIN_COST

    def better(self, acc: float, cost: float, best_acc: float, best_cost: float) -> bool:
        """Is (acc, cost) strictly better than the incumbent under this objective?"""
        if self.is_budget:
            return acc > best_acc + TOLERANCE or (
                abs(acc - best_acc) <= TOLERANCE and cost < best_cost - TOLERANCE
            )
        return cost < best_cost - TOLERANCE or (
            abs(cost - best_cost) <= TOLERANCE and acc > best_acc + TOLERANCE
        )

    def feasible(self, acc: float, cost: float) -> bool:
        if self.is_budget:
            return cost <= self.budget + TOLERANCE
        return acc >= self.target_accuracy - TOLERANCE
