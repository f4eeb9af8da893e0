"""What a user asks the planner for, as one frozen value object checked once.

:class:`PlanRequest` carries everything ``plan``, ``frontier`` and ``compare`` take: the
profile, the objective (a budget or a target accuracy), the search method and every
method's options, the option grid, the split, the seeds and replicates of the estimator,
the models and prices to plan with, and whether to search test sharing. Every value is
checked when the request is built (one-line :class:`~planner.errors.FieldError` naming the
field, so the command line can name its option instead); what can only be checked against
the profile (model names, the split's size, the memory the replicates need) is checked by
:meth:`PlanRequest.check_profile` when the profile is loaded.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .. import fields
from ..errors import FieldError
from ..estimate.sampling import Sampling
from ..options import Grid
from ..profile import DEFAULT_PROFILE_NAME, Profile
from ..search.objective import Objective
from ..search.registry import method_entry
from ..selection import (
    CONFIDENCE_RANGE,
    DEFAULT_SELECTION,
    SelectionError,
    Selector,
    get_selector,
    with_budget_confidence,
)
from ..units import PRICE_UNIT
from ..vocabulary import GridName, MethodName, choices

#: The method ``plan`` uses unless told otherwise: exact enumeration with pruning is both
#: optimal and fast on the bundled grids.
DEFAULT_METHOD = MethodName.EXACT
DEFAULT_GRID = GridName.DEFAULT
#: Plan on every problem of the profile; the statement for new problems comes from
#: cross-validation inside them (the selection's ``prediction``). The paper's splits
#: (``paper-seed<S>``) stay available for comparison with the paper.
DEFAULT_SPLIT = "all"
DEFAULT_REPLICATES = 64
def _prices(prices: Mapping[str, float] | None) -> Mapping[str, float]:
    """Generated-token prices ($ per million tokens) by model name, each a finite number
    >= 0."""
    if prices is None:
        return MappingProxyType({})
    if not isinstance(prices, Mapping):
        raise FieldError(f"{{prices}} must map model names to {PRICE_UNIT}", "prices",
                         got=prices)
    return MappingProxyType({str(name): fields.number(price, "prices")
                             for name, price in prices.items()})


def _method_options(options: Mapping[str, Mapping[str, Any]] | None
                    ) -> Mapping[MethodName, Mapping[str, Any]]:
    """Options per method, each checked by the method's registry entry."""
    if options is None:
        return MappingProxyType({})
    if not isinstance(options, Mapping):
        raise FieldError("{method_options} must map method names to their options",
                         "method_options", got=options)
    out = {}
    for name, given in options.items():
        entry = method_entry(name)
        if not isinstance(given, Mapping):
            raise FieldError(f"{{method_options}} of {entry.name} must map option names to "
                             "values", "method_options", got=given)
        checked = entry.check(given)
        out[entry.name] = MappingProxyType({k: checked[k] for k in given})
    return MappingProxyType(out)


@dataclass(frozen=True)
class PlanRequest:
    """One planning request (see the module docstring).

    - ``profile``: a :class:`~planner.profile.Profile`, a profile file, a bundled profile's
      name, or None for the bundled default.
    - ``budget`` ($ per problem) or ``target_accuracy`` (a fraction): at most one; ``plan``
      and ``compare`` need one, ``frontier`` marks the plan chosen for it.
    - ``method`` (:class:`~planner.vocabulary.MethodName`) and ``method_options``:
      ``{method: {option: value}}`` for any registered method (e.g.
      ``{"ilp": {"time_limit": 10, "solver": "highs"}}``), checked by the registry.
    - ``grid``: a :class:`~planner.vocabulary.GridName` or a :class:`~planner.options.Grid`.
    - ``split``: ``paper-seed<S>``, ``kfold<K>-seed<S>-fold<I>`` or ``all``.
    - ``seed`` (>= 0) of the estimator, search and bootstrap; ``replicates`` (>= 1) of the
      estimator's Monte Carlo draws.
    - ``models``: the models to plan with (names, or ``"A,B"``); None for all, in profile
      order. ``prices``: generated-token prices overriding the profile's, $ per million
      tokens (planner.units), e.g. ``{"gpt-4": 60.0}``.
    - ``share_tests``: also search test sharing (planner.search.sharing).
    - ``selection``: how the plan is chosen among those that fit (``NAME[:KEY=VALUE,...]``,
      planner.selection; default :data:`~planner.selection.DEFAULT_SELECTION`; ``naive``
      is the plan best on the planning problems, the paper's rule).
      ``budget_confidence`` (in [0.5, 0.999], or None for the selection's own): the
      probability that the plan's mean cost on new problems stays within the budget
      (an upper bootstrap bound of the planning cost must fit).

    Raises :class:`~planner.errors.FieldError` (one line, naming the field) for any bad
    value: a negative seed, replicates < 1, an empty model list, a non-numeric budget ...
    """

    profile: Profile | str | os.PathLike[str] | None = None
    budget: float | None = None
    target_accuracy: float | None = None
    method: MethodName = DEFAULT_METHOD
    method_options: Mapping[MethodName, Mapping[str, Any]] = field(
        default_factory=lambda: MappingProxyType({}))
    grid: GridName | Grid = DEFAULT_GRID
    split: str = DEFAULT_SPLIT
    seed: int = 0
    replicates: int = DEFAULT_REPLICATES
    models: tuple[str, ...] | None = None
    prices: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    share_tests: bool = False
    selection: str = DEFAULT_SELECTION
    budget_confidence: float | None = None
    objective: Objective | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        put = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        if not (self.profile is None or isinstance(self.profile, Profile | str | os.PathLike)):
            raise FieldError("{profile} must be a Profile, a file or a bundled profile's "
                             "name", "profile", got=self.profile)
        objective = None
        if self.budget is not None or self.target_accuracy is not None:
            objective = Objective(budget=self.budget, target_accuracy=self.target_accuracy)
            put("budget", objective.budget)
            put("target_accuracy", objective.target_accuracy)
        put("objective", objective)
        put("method", method_entry(self.method).name)
        put("method_options", _method_options(self.method_options))
        if not isinstance(self.grid, Grid):
            try:
                put("grid", GridName(self.grid))
            except ValueError:
                raise FieldError(f"{{grid}} must be one of {choices(GridName)}", "grid",
                                 got=self.grid) from None
        if not isinstance(self.split, str) or not self.split:
            raise FieldError("{split} must be a split name", "split", got=self.split)
        put("seed", fields.whole(self.seed, "seed", least=0))
        put("replicates", fields.whole(self.replicates, "replicates", least=1))
        put("models", fields.names(self.models, "models"))
        put("prices", _prices(self.prices))
        if not isinstance(self.share_tests, bool):
            raise FieldError("{share_tests} must be True or False", "share_tests",
                             got=self.share_tests)
        if not isinstance(self.selection, str):
            raise FieldError("{selection} must be a selection such as 'naive' or "
                             f"{DEFAULT_SELECTION!r}", "selection", got=self.selection)
        try:
            get_selector(self.selection)
        except SelectionError as exc:
            raise FieldError(f"{{selection}}: {exc}", "selection") from None
        if self.budget_confidence is not None:
            low, high = CONFIDENCE_RANGE
            value = self.budget_confidence
            if isinstance(value, bool) or not isinstance(value, int | float) or not (
                    low <= value <= high):
                raise FieldError(f"{{budget_confidence}} must be a probability in "
                                 f"[{low}, {high}]", "budget_confidence", got=value)
            put("budget_confidence", float(value))
            try:
                with_budget_confidence(get_selector(self.selection), value)
            except SelectionError as exc:
                raise FieldError(f"{{budget_confidence}}: {exc}", "budget_confidence") \
                    from None

    @property
    def profile_label(self) -> str:
        """How specs and tables name the profile."""
        if isinstance(self.profile, Profile):
            return str(self.profile.provenance.get("name", "in-memory profile"))
        return DEFAULT_PROFILE_NAME if self.profile is None else str(self.profile)

    def selector(self) -> Selector:
        """The selector of ``selection`` with ``budget_confidence`` applied."""
        return with_budget_confidence(get_selector(self.selection), self.budget_confidence)

    def require_objective(self) -> Objective:
        """The objective; FieldError if the request has neither a budget nor a target."""
        if self.objective is None:
            raise FieldError("give exactly one of {budget} or {target_accuracy}",
                             "budget", "target_accuracy")
        return self.objective

    def options_for(self, method: MethodName | str) -> dict[str, Any]:
        """The options given for ``method`` (the registry supplies the rest)."""
        return dict(self.method_options.get(method_entry(method).name, {}))

    def time_limit(self, method: MethodName | str | None = None) -> float | None:
        """The time limit of ``method`` (default: the request's): the one given, else the
        method's default (None: no limit), seconds."""
        entry = method_entry(self.method if method is None else method)
        return entry.check(self.options_for(entry.name)).get("time_limit")

    def grid_spec(self) -> Grid:
        """The option grid itself."""
        from ..options import grid_by_name

        return self.grid if isinstance(self.grid, Grid) else grid_by_name(self.grid)

    def check_profile(self, profile: Profile) -> None:
        """What needs the profile: the models and priced models exist (ProfileError), and
        the estimator's draws for ``replicates`` fit in this machine's memory
        (FieldError naming the replicates, the memory they need and what fits)."""
        for name in (*(self.models or ()), *self.prices):
            profile.model_index(name)
        Sampling(self.grid_spec().sampling, self.replicates, self.seed).check_memory(profile)


def as_request(request: PlanRequest | Profile | str | os.PathLike[str] | None = None,
               **fields: Any) -> PlanRequest:
    """``request`` itself, or a :class:`PlanRequest` of the profile ``request`` and
    ``fields`` (so ``plan(budget=0.01)`` and ``plan(PlanRequest(budget=0.01))`` agree)."""
    if isinstance(request, PlanRequest):
        if fields:
            raise TypeError("give a PlanRequest or its fields, not both "
                            f"(got {', '.join(fields)})")
        return request
    return PlanRequest(profile=request, **fields)

