"""Stage options and cascade plans: what one model does in a cascade, and in what order.

A :class:`StageOption` says how one model runs for a problem: ``k`` solutions (0 = the
greedy solution alone, 1 = the greedy solution plus the greedy test generation, >= 2 =
``k`` sampled solutions), ``t`` test generations of which the first ``l`` lines are kept
(only ``assert`` lines count as test lines), a threshold ``theta`` and a named scoring
rule. ``share_tests`` lets the stage also run its solutions on the test lines that earlier
stages paid for. A :class:`CascadePlan` is the ordered tuple of (model, option) stages;
skipped models simply do not appear.

The closed vocabularies of an option are :class:`~planner.vocabulary.ScoringRule` and
:class:`~planner.vocabulary.SamplingMethod` (``StrEnum``: each member is its JSON string).
They are parsed once, here, when a :class:`StageOption` or :class:`Grid` is made;
everything downstream holds the members.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from .errors import CodecascadeError
from .testlines import LINE_POSITIONS
from .vocabulary import SamplingMethod, ScoringRule, parse

#: Scoring rules known to the estimator (see planner.scoring), in vocabulary order.
SCORING_RULES: tuple[ScoringRule, ...] = tuple(ScoringRule)

#: θ from 0.0 to 1.0 in steps of 0.1, as the same floats as the literals 0.1, 0.2, ... that
#: the seed paper's code compares with (0.3 * 10 == 3.0, unlike 0.30000000000000004 * 10).
THETA_STEPS: tuple[float, ...] = tuple(round(i / 10, 1) for i in range(11))

#: Most lines a stage keeps per test generation: the line positions a profile records
#: (planner.testlines.LINE_POSITIONS). A spec with a larger l is invalid for ``run`` and
#: ``replay`` alike (the spec schema bounds it too).
MAX_TEST_LINES = LINE_POSITIONS

#: How option tables draw a stage's samples (see :class:`SamplingMethod`).
SAMPLINGS: tuple[SamplingMethod, ...] = tuple(SamplingMethod)


class PlanError(CodecascadeError, ValueError):
    """A stage option or a plan breaks a validity rule; the message is one line."""




@dataclass(frozen=True, order=True)
class StageOption:
    """How one model runs in a cascade (see the module docstring)."""

    k: int
    t: int = 0
    l: int = 0  # noqa: E741  (the method's own name for lines per test generation)
    theta: float = 1.0
    rule: ScoringRule = ScoringRule.PAPER
    share_tests: bool = False

    def __post_init__(self) -> None:
        if self.k < 0 or self.t < 0 or self.l < 0:
            raise PlanError(f"k, t and l must be >= 0, got k={self.k} t={self.t} l={self.l}")
        if self.l > MAX_TEST_LINES:
            raise PlanError(f"l (lines kept per test generation) must be at most "
                            f"{MAX_TEST_LINES}, the line positions the method measures; "
                            f"got l={self.l}")
        object.__setattr__(self, "rule", parse(ScoringRule, self.rule, "scoring rule", PlanError))
        if not 0.0 <= self.theta <= 1.0:
            raise PlanError(f"theta must be in [0, 1], got {self.theta}")
        if self.k == 0 and (self.t or self.l or self.share_tests):
            raise PlanError("k=0 (greedy alone) takes no tests: t, l must be 0")
        if self.k == 1 and self.t != 1:
            raise PlanError("k=1 (greedy + greedy tests) has exactly one test generation, t=1")
        if self.k >= 1 and (self.t == 0 or self.l == 0):
            # as the paper's is_bad_combo: a stage with k >= 1 but no test lines would
            # accept every answer, which is k = 0 at a higher price
            raise PlanError(f"k={self.k} needs test lines: t and l must be >= 1")

    @property
    def is_greedy(self) -> bool:
        return self.k <= 1

    @property
    def pays_tests(self) -> bool:
        """Whether the stage pays for test generations (and their prompt): every k >= 1,
        which always has t, l >= 1."""
        return self.k >= 1

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
                "rule": self.rule.value, "share_tests": self.share_tests}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> StageOption:
        try:
            return cls(k=int(obj["k"]), t=int(obj.get("t", 0)), l=int(obj.get("l", 0)),
                       theta=float(obj.get("theta", 1.0)), rule=obj.get("rule", "paper"),
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
    """Raise PlanError if the plan breaks a rule of docs/method.md §1.5."""
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


@dataclass(frozen=True)
class Grid:
    """The stage options a search may use for each model, and how they are estimated.

    Sampled options are the product ``ks`` × ``ts`` × ``ls`` × ``thetas`` × ``rules``
    (``ts`` = None ties t to k, as in the paper). ``greedy`` adds k = 0; ``greedy_tests``
    adds k = 1 with every l in ``greedy_ls`` and θ (rule ``paper``: on one solution the rules
    choose alike and differ only in which lines they count, the paper rule every assert
    line). ``shared_theta``: a plan uses one θ for all its stages (the paper's search).
    ``sampling`` names how tables draw subsets (:class:`SamplingMethod`). Every model gets
    the same options.
    """

    name: str
    ks: tuple[int, ...]
    ts: tuple[int, ...] | None
    ls: tuple[int, ...]
    thetas: tuple[float, ...] = THETA_STEPS
    rules: tuple[ScoringRule, ...] = (ScoringRule.PAPER,)
    greedy: bool = True
    greedy_tests: bool = True
    greedy_ls: tuple[int, ...] = (1, 2, 3, 4, 5)
    shared_theta: bool = False
    sampling: SamplingMethod = SamplingMethod.RANDOM

    def __post_init__(self) -> None:
        if not self.rules:
            raise PlanError(f"grid {self.name!r} has no scoring rule")
        object.__setattr__(self, "rules", tuple(
            parse(ScoringRule, r, f"scoring rule of grid {self.name!r}", PlanError)
            for r in self.rules))
        object.__setattr__(self, "sampling", parse(
            SamplingMethod, self.sampling, f"sampling of grid {self.name!r}", PlanError))
        if any(k < 2 for k in self.ks):
            raise PlanError(f"grid {self.name!r}: sampled k must be >= 2, got {self.ks}")
        if self.ts is not None and any(t < 1 for t in self.ts):
            raise PlanError(f"grid {self.name!r}: t must be >= 1, got {self.ts}")
        if any(not 1 <= line <= MAX_TEST_LINES for line in (*self.ls, *self.greedy_ls)):
            raise PlanError(f"grid {self.name!r}: l must be in 1..{MAX_TEST_LINES}")
        if not self.thetas or any(not 0.0 <= th <= 1.0 for th in self.thetas):
            raise PlanError(f"grid {self.name!r}: every θ must be in [0, 1]")
        if not (self.ks or self.greedy or self.greedy_tests):
            raise PlanError(f"grid {self.name!r} has no options")

    def options(self) -> tuple[StageOption, ...]:
        """All options of one model: k = 0, then k = 1, then sampled, in a fixed order."""
        out: list[StageOption] = []
        if self.greedy:
            out.append(StageOption(k=0))
        if self.greedy_tests:
            out += [StageOption(k=1, t=1, l=line, theta=th)
                    for line, th in itertools.product(self.greedy_ls, self.thetas)]
        for k in self.ks:
            ts = (k,) if self.ts is None else self.ts
            out += [StageOption(k=k, t=t, l=line, theta=th, rule=rule)
                    for rule, t, line, th in itertools.product(self.rules, ts, self.ls,
                                                               self.thetas)]
        return tuple(out)

    def options_for(self, model: str) -> tuple[StageOption, ...]:
        """The options of ``model`` (the same for every model)."""
        del model
        return self.options()

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ks": list(self.ks),
                "ts": None if self.ts is None else list(self.ts), "ls": list(self.ls),
                "thetas": list(self.thetas), "rules": [r.value for r in self.rules],
                "greedy": self.greedy, "greedy_tests": self.greedy_tests,
                "greedy_ls": list(self.greedy_ls), "shared_theta": self.shared_theta,
                "sampling": self.sampling.value}


def paper_grid() -> Grid:
    """The seed paper's grid: k in {skip, 0, 1, 3, 5, 10} with t = k, l in {2, 4} for
    k >= 1 (its ``is_bad_combo`` forbids l = 0 with k >= 1 and l > 0 with k = 0), one θ in
    0.0..1.0 shared by all stages, the paper rule, and its loop subsets."""
    return Grid(name="paper", ks=(3, 5, 10), ts=None, ls=(2, 4), greedy_ls=(2, 4),
                shared_theta=True, sampling=SamplingMethod.PAPER_LOOPS)


def default_grid() -> Grid:
    """The grid ``plan`` searches by default: k in {0, 1, 2, 3, 5, 10}, t in
    {1, 2, 3, 5, 10} independent of k, l in 1..5, θ per stage in 0.0..1.0, paper rule."""
    return Grid(name="default", ks=(2, 3, 5, 10), ts=(1, 2, 3, 5, 10), ls=(1, 2, 3, 4, 5))


def generalised_grid(rules: tuple[ScoringRule, ...] = SCORING_RULES) -> Grid:
    """Everything: k in 0..10, t in 1..10, l in 1..5, θ per stage in 0.0..1.0, all rules."""
    return Grid(name="generalised" if rules == SCORING_RULES else "generalised-" + "+".join(rules),
                ks=tuple(range(2, 11)), ts=tuple(range(1, 11)), ls=(1, 2, 3, 4, 5),
                rules=rules)


def grid_by_name(name: str) -> Grid:
    """A named grid (paper, default, generalised); PlanError naming the known ones."""
    grids = {"paper": paper_grid, "default": default_grid, "generalised": generalised_grid}
    if name not in grids:
        raise PlanError(f"unknown grid {name!r}; known: {', '.join(grids)}")
    return grids[name]()
