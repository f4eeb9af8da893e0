"""Stage options and cascade plans: what one model does in a cascade, and in what order.

A :class:`StageOption` says how one model runs for a problem: ``k`` solutions (0 = the
greedy solution alone, 1 = the greedy solution plus the greedy test generation, >= 2 =
``k`` sampled solutions), ``t`` test generations of which the first ``l`` lines are kept
(only ``assert`` lines count as test lines), a threshold ``theta`` and a named scoring
rule. ``share_tests`` lets the stage also run its solutions on the test lines that earlier
stages paid for. A :class:`CascadePlan` is the ordered tuple of (model, option) stages;
skipped models simply do not appear.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import CodecascadeError

#: Scoring rules known to the estimator (see planner.scoring).
SCORING_RULES = ("paper", "pass_fraction", "consensus")


class PlanError(CodecascadeError, ValueError):
    """A stage option or a plan breaks a validity rule; the message is one line."""


@dataclass(frozen=True, order=True)
class StageOption:
    """How one model runs in a cascade (see the module docstring)."""

    k: int
    t: int = 0
    l: int = 0  # noqa: E741  (the method's own name for lines per test generation)
    theta: float = 1.0
    rule: str = "paper"
    share_tests: bool = False

    def __post_init__(self) -> None:
        if self.k < 0 or self.t < 0 or self.l < 0:
            raise PlanError(f"k, t and l must be >= 0, got k={self.k} t={self.t} l={self.l}")
        if self.rule not in SCORING_RULES:
            raise PlanError(f"unknown scoring rule {self.rule!r}; known: {SCORING_RULES}")
        if not 0.0 <= self.theta <= 1.0:
            raise PlanError(f"theta must be in [0, 1], got {self.theta}")
        if self.k == 0 and (self.t or self.l or self.share_tests):
            raise PlanError("k=0 (greedy alone) takes no tests: t, l must be 0")
        if self.k == 1 and self.t != 1:
            raise PlanError("k=1 (greedy + greedy tests) has exactly one test generation, t=1")

    @property
    def is_greedy(self) -> bool:
        return self.k <= 1

    @property
    def can_be_last(self) -> bool:
        """k=1 tests only decide escalation, so it never ends a cascade."""
        return self.k != 1

    @property
    def can_have_successor(self) -> bool:
        """k=0 always answers, so no model may follow it."""
        return self.k != 0

    def label(self) -> str:
        if self.k == 0:
            return "k=0"
        extra = "+share" if self.share_tests else ""
        return f"k={self.k} t={self.t} l={self.l} θ={self.theta:g} {self.rule}{extra}"

    def to_json(self) -> dict[str, Any]:
        return {"k": self.k, "t": self.t, "l": self.l, "theta": self.theta,
                "rule": self.rule, "share_tests": self.share_tests}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> StageOption:
        try:
            return cls(k=int(obj["k"]), t=int(obj.get("t", 0)), l=int(obj.get("l", 0)),
                       theta=float(obj.get("theta", 1.0)), rule=str(obj.get("rule", "paper")),
                       share_tests=bool(obj.get("share_tests", False)))
        except (KeyError, TypeError, ValueError) as exc:
            raise PlanError(f"bad stage option {obj!r}: {exc}") from None


@dataclass(frozen=True)
class Stage:
    """One stage of a cascade: a model and how it runs."""

    model: str
    option: StageOption


@dataclass(frozen=True)
class CascadePlan:
    """Ordered stages; the last one always answers."""

    stages: tuple[Stage, ...]

    def __post_init__(self) -> None:
        validate_plan(self)

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(s.model for s in self.stages)

    def label(self) -> str:
        return " -> ".join(f"{s.model}[{s.option.label()}]" for s in self.stages)


def validate_plan(plan: CascadePlan) -> None:
    """Raise PlanError if the plan breaks a rule of method.md §1.5."""
    if not plan.stages:
        raise PlanError("a cascade needs at least one stage")
    models = [s.model for s in plan.stages]
    if len(set(models)) != len(models):
        raise PlanError(f"a model may appear only once in a cascade: {models}")
    for i, stage in enumerate(plan.stages):
        last = i == len(plan.stages) - 1
        if last and not stage.option.can_be_last:
            raise PlanError(f"stage {i + 1} ({stage.model}) has k=1, which cannot be last")
        if not last and not stage.option.can_have_successor:
            raise PlanError(f"stage {i + 1} ({stage.model}) has k=0, so no stage may follow")
        if i == 0 and stage.option.share_tests:
            raise PlanError("the first stage has no earlier test lines to share")
