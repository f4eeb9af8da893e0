"""One row of an evaluation: a (split, budget) with the cascade plan and the single-model
plan chosen for it, as they did on the planning part, on the held-out part, and as the
selector predicted for new problems (accuracy as a fraction, cost in $ per problem)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
        return {"plan": self.plan, "planning_accuracy": self.planning_accuracy,
                "planning_cost": self.planning_cost, "heldout_accuracy": self.heldout_accuracy,
                "heldout_cost": self.heldout_cost,
                "predicted_accuracy": self.predicted_accuracy,
                "predicted_cost": self.predicted_cost}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> PlanOutcome:
        return cls(plan=str(obj["plan"]), **{k: float(obj[k]) for k in (
            "planning_accuracy", "planning_cost", "heldout_accuracy", "heldout_cost",
            "predicted_accuracy", "predicted_cost")})


@dataclass(frozen=True)
class EvaluationRow:
    """One (split, budget): the cascade plan and the single-model plan."""

    split: str
    budget: float
    cascade: PlanOutcome
    single: PlanOutcome

    def to_json(self) -> dict[str, Any]:
        return {"split": self.split, "budget": self.budget, "cascade": self.cascade.to_json(),
                "single": self.single.to_json()}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> EvaluationRow:
        return cls(split=str(obj["split"]), budget=float(obj["budget"]),
                   cascade=PlanOutcome.from_json(obj["cascade"]),
                   single=PlanOutcome.from_json(obj["single"]))
