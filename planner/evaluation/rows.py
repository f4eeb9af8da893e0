"""One row of an evaluation: a (split, budget) with the cascade plan and the single-model
plan chosen for it, as they did on the planning part, on the held-out part, and as the
selector predicted for new problems (accuracy as a fraction, cost in $ per problem)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


def cost(obj: Mapping[str, Any], name: str) -> float:
    """A cost ($ per problem) read from JSON as ``<name>_per_problem``, or as ``<name>``
    (how evaluations written before the units were named spelled it)."""
    key = f"{name}_per_problem"
    return float(obj[key] if key in obj else obj[name])


@dataclass(frozen=True)
class PlanOutcome:
    """One chosen plan of a row: label, planning-part and held-out accuracy (fraction) and
    cost ($ per problem), and the selector's prediction for new problems."""

    plan: str
    planning_accuracy: float
    planning_cost: float
    heldout_accuracy: float
    heldout_cost: float
    predicted_accuracy: float
    predicted_cost: float

    def to_json(self) -> dict[str, Any]:
        """Costs named with their unit (``planning_cost_per_problem``, ...)."""
        return {"plan": self.plan, "planning_accuracy": self.planning_accuracy,
                "planning_cost_per_problem": self.planning_cost,
                "heldout_accuracy": self.heldout_accuracy,
                "heldout_cost_per_problem": self.heldout_cost,
                "predicted_accuracy": self.predicted_accuracy,
                "predicted_cost_per_problem": self.predicted_cost}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> PlanOutcome:
        """From :meth:`to_json` (or the earlier names without the unit)."""
        return cls(plan=str(obj["plan"]), **{k: float(obj[k]) for k in (
            "planning_accuracy", "heldout_accuracy", "predicted_accuracy")},
                   **{k: cost(obj, k) for k in ("planning_cost", "heldout_cost",
                                                "predicted_cost")})


@dataclass(frozen=True)
class EvaluationRow:
    """One (split, budget): the cascade plan and the single-model plan."""

    split: str
    budget: float
    cascade: PlanOutcome
    single: PlanOutcome

    def to_json(self) -> dict[str, Any]:
        return {"split": self.split, "budget_per_problem": self.budget,
                "cascade": self.cascade.to_json(), "single": self.single.to_json()}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> EvaluationRow:
        return cls(split=str(obj["split"]), budget=cost(obj, "budget"),
                   cascade=PlanOutcome.from_json(obj["cascade"]),
                   single=PlanOutcome.from_json(obj["single"]))
