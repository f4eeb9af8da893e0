"""Plan selection: which plan ``plan`` returns for an objective, chosen on the planning
problems only, and what it states for new problems (docs/selection.md).

One :class:`Selector` interface, one small module per selector, a registry by name
(:func:`get_selector` reads ``NAME[:KEY=VALUE,...]``). A selector sees a
:class:`SelectionTask` (the planning part's option tables, never a held-out part) and
returns one :class:`Choice` per objective.
"""

from __future__ import annotations

from .base import Choice, NewProblemEstimate, SelectionError, SelectionTask, Selector
from .candidate_selector import CONFIDENCE_RANGE
from .candidates import PlanFamily
from .registry import DEFAULT_SELECTION, get_selector, selector_names, with_budget_confidence

__all__ = [
    "CONFIDENCE_RANGE",
    "DEFAULT_SELECTION",
    "Choice",
    "NewProblemEstimate",
    "PlanFamily",
    "SelectionError",
    "SelectionTask",
    "Selector",
    "get_selector",
    "selector_names",
    "with_budget_confidence",
]
