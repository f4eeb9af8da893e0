"""Evaluation: plans chosen on some problems, scored on problems never seen
(``codecascade evaluate``, :func:`evaluate`)."""

from __future__ import annotations

from .budgets import Budgets, parse_budgets
from .evaluate import Evaluation, evaluate, evaluate_many
from .protocols import Protocol, protocol_splits
from .rows import EvaluationRow, PlanOutcome
from .summary import SingleFrontPoint, Spread, Summary, fronts_from_json, summarise

__all__ = [
    "Budgets",
    "Evaluation",
    "EvaluationRow",
    "PlanOutcome",
    "Protocol",
    "SingleFrontPoint",
    "Spread",
    "Summary",
    "evaluate",
    "evaluate_many",
    "fronts_from_json",
    "parse_budgets",
    "protocol_splits",
    "summarise",
]
