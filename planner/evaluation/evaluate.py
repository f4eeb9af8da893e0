"""``planner.evaluate``: how plans chosen on some problems do on problems never seen.

For a profile, a grid and a selection method, under a protocol (:mod:`.protocols`), at
each budget of each split (:mod:`.budgets`): the cascade plan is chosen on the split's
planning part by the selector (planner.selection; for ``naive`` exactly as ``plan`` does,
through the same search), the best single-model self-testing plan is chosen the same way
among one-stage plans, and both are scored on the held-out part with the exact cascade
formula. Each row records, for both plans, the planning-part and held-out accuracy
(fraction) and cost ($ per problem) and what the selector states for new problems
(``predicted_*``). :mod:`.summary` turns the rows into the headline measures.

``chosen_on="heldout"`` chooses the plans on the held-out part itself: the ceiling no
selector can reach (it reads the problems it is scored on), for reference only; a budget
below the held-out part's cheapest plan then takes that plan.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import progress
from ..errors import CodecascadeError
from ..planning import PlanRequest
from ..profile import Profile, load_profile
from ..search.objective import Objective
from ..search.stages import score_stages
from ..selection import Choice, PlanFamily, SelectionTask, Selector, get_selector
from ..selection.candidate_selector import CandidateSelector
from .budgets import Budgets, parse_budgets
from .protocols import Protocol, protocol_splits
from .rows import EvaluationRow, PlanOutcome
from .summary import SingleFrontPoint, Summary, summarise

CHOSEN_ON = ("planning", "heldout")


@dataclass(frozen=True)
class Evaluation:
    """Rows and their summary (the summary also holds the settings and the per-split
    single-model fronts it was computed with)."""

    rows: tuple[EvaluationRow, ...]
    summary: Summary
    settings: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"rows": [r.to_json() for r in self.rows],
                "summary": {**self.summary.to_json(), "settings": self.settings}}


@dataclass(frozen=True)
class _Split:
    """What one split contributes: its context, tasks and single-model front."""

    name: str
    context: Any
    cascade: SelectionTask
    single: SelectionTask
    front: tuple[SingleFrontPoint, ...]
    budgets: np.ndarray


#: Runs a picklable ``work(split name)`` on every split name and returns the results in
#: the names' order: the built-in ``map`` (one split after another, here) or a parallel
#: one, e.g. :meth:`planner.sandbox.RayExecutor.map` (each split a Ray task).
SplitMap = Callable[[Callable[[str], Any], Sequence[str]], Iterable[Any]]


@dataclass(frozen=True)
class _SplitOutcome:
    """What one split gives back: its single-model front, its rows per selector, and what
    the settings record (the profile's fingerprint after re-pricing, the grid, the models)."""

    front: tuple[SingleFrontPoint, ...]
    rows: tuple[tuple[EvaluationRow, ...], ...]
    fingerprint: str
    grid: str
    models: tuple[str, ...]


def _plain(value: Any) -> Any:
    """Mappings (the request's read-only ones included) as dicts, recursively: picklable."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class _SplitWork:
    """One split's share of :func:`evaluate_many`, as a picklable callable (the request is
    kept as its fields and rebuilt where the work runs)."""

    request: dict[str, Any]
    budgets: Budgets
    chosen_on: str
    selectors: tuple[Selector, ...]

    @classmethod
    def of(cls, request: PlanRequest, budgets: Budgets, chosen_on: str,
           selectors: Sequence[Selector]) -> _SplitWork:
        fields_ = {f.name: _plain(getattr(request, f.name))
                   for f in dataclasses.fields(request) if f.init}
        return cls(fields_, budgets, chosen_on, tuple(selectors))

    def __call__(self, split_name: str) -> _SplitOutcome:
        part = _prepare(PlanRequest(**self.request), split_name, self.budgets, self.chosen_on)
        objectives = [Objective(budget=float(b)) for b in part.budgets]
        rows = []
        for selector in self.selectors:
            cascade = selector.select(part.cascade, objectives)
            single = selector.select(part.single, objectives)
            rows.append(tuple(
                EvaluationRow(split_name, float(b), _outcome(part, c), _outcome(part, s))
                for b, c, s in zip(part.budgets, cascade, single, strict=True)))
        context = part.context
        return _SplitOutcome(part.front, tuple(rows), context.profile.fingerprint(),
                             context.grid.name, tuple(t.model for t in context.planning.tables))


def _budgets(budgets: int | str | Budgets | Sequence[float]) -> Budgets:
    if isinstance(budgets, Budgets):
        return budgets
    if isinstance(budgets, str):
        return parse_budgets(budgets)
    if isinstance(budgets, int | np.integer):
        return Budgets(count=int(budgets))
    return Budgets(count=None, values=tuple(float(b) for b in budgets))


def _prepare(request: PlanRequest, split_name: str, budgets: Budgets,
             chosen_on: str) -> _Split:
    from ..planning import planning_context

    context = planning_context(dataclasses.replace(request, split=split_name))
    if context.heldout is None:
        raise CodecascadeError(f"split {split_name!r} has no held-out part")
    if chosen_on == "planning":
        cascade = SelectionTask.from_context(context, PlanFamily.CASCADE)
        single = SelectionTask.from_context(context, PlanFamily.SINGLE)
    else:
        cascade, single = (
            dataclasses.replace(SelectionTask.from_context(context, family),
                                planning=context.heldout)
            for family in (PlanFamily.CASCADE, PlanFamily.SINGLE))
    reference = SelectionTask.from_context(context, PlanFamily.SINGLE).candidates
    front = tuple(
        SingleFrontPoint(context.stages_plan(st).label(), float(a), float(c),
                         *score_stages(context.heldout, st))
        for st, a, c in zip(reference.stages, reference.mean_accuracy, reference.mean_cost,
                            strict=True))
    return _Split(split_name, context, cascade, single, front,
                  budgets.for_split(reference.mean_cost))


def _outcome(part: _Split, choice: Choice) -> PlanOutcome:
    h_acc, h_cost = score_stages(part.context.heldout, choice.stages)
    return PlanOutcome(
        plan=part.context.stages_plan(choice.stages).label(),
        planning_accuracy=choice.planning_accuracy, planning_cost=choice.planning_cost,
        heldout_accuracy=h_acc, heldout_cost=h_cost,
        predicted_accuracy=choice.predicted.accuracy, predicted_cost=choice.predicted.cost)


def evaluate_many(
    request: PlanRequest | Profile | str | os.PathLike[str] | None = None,
    *,
    selections: Sequence[str | Selector | None] = (None,),
    protocol: Protocol | str = Protocol.PAPER,
    budgets: int | str | Budgets | Sequence[float] = 20,
    folds: int = 5,
    repeats: int = 2,
    chosen_on: str = "planning",
    map_splits: SplitMap = map,
    **fields: Any,
) -> list[Evaluation]:
    """:func:`evaluate` for several selections on the same splits and budgets, sharing the
    option tables, candidate plans and inner resampling between them (None: the
    request's selection and budget confidence, as ``plan`` uses them). ``map_splits`` runs
    the splits (:data:`SplitMap`; default one after another here); the rows do not depend
    on it."""
    from ..planning import as_request

    if chosen_on not in CHOSEN_ON:
        raise CodecascadeError(f"chosen_on must be one of {', '.join(CHOSEN_ON)}, "
                               f"got {chosen_on!r}")
    request = as_request(request, **fields)
    if request.objective is not None:
        raise CodecascadeError("evaluate places its own budgets (budgets=...); the request "
                               "must not carry a budget or a target accuracy")
    selectors = [request.selector() if s is None else get_selector(s) for s in selections]
    if not selectors:
        raise CodecascadeError("no selection to evaluate")
    if chosen_on == "heldout":
        # the ceiling: a budget below the held-out part's cheapest plan takes that plan
        selectors = [s.in_sample() if isinstance(s, CandidateSelector) else s
                     for s in selectors]
    the_budgets = _budgets(budgets)
    label = request.profile_label
    profile = request.profile
    if not isinstance(profile, Profile):
        profile = load_profile(profile)
    request = dataclasses.replace(request, profile=profile)
    splits = protocol_splits(protocol, profile.n_problems, folds=folds, repeats=repeats,
                             seed=request.seed)
    start = time.perf_counter()
    work = _SplitWork.of(request, the_budgets, chosen_on, selectors)
    names = [split.name for split in splits]
    outcomes: list[_SplitOutcome] = []
    with progress.task("evaluate", total=len(splits), unit="split") as step:
        for outcome in map_splits(work, names):
            outcomes.append(outcome)
            step.advance()
    if len(outcomes) != len(names):
        raise CodecascadeError(f"{len(outcomes)} of {len(names)} splits came back")
    rows = [[row for outcome in outcomes for row in outcome.rows[k]]
            for k in range(len(selectors))]
    fronts = {name: outcome.front for name, outcome in zip(names, outcomes, strict=True)}
    seconds = time.perf_counter() - start
    last = outcomes[-1]
    kfold = Protocol(protocol) is Protocol.KFOLD
    out = []
    for selector, selector_rows in zip(selectors, rows, strict=True):
        settings = {
            "profile": label, "profile_sha256": last.fingerprint,
            "protocol": Protocol(protocol).value, "splits": [s.name for s in splits],
            "folds": folds if kfold else None, "repeats": repeats if kfold else None,
            "grid": last.grid, "selection": selector.label(),
            "budgets": the_budgets.to_json(), "seed": request.seed,
            "replicates": request.replicates, "method": str(request.method),
            "chosen_on": chosen_on,
            "models": list(last.models),
            "seconds": seconds if len(selectors) == 1 else None,
        }
        out.append(Evaluation(tuple(selector_rows), summarise(selector_rows, fronts),
                              settings))
    return out


def evaluate(
    request: PlanRequest | Profile | str | os.PathLike[str] | None = None,
    *,
    selection: str | Selector | None = None,
    protocol: Protocol | str = Protocol.PAPER,
    budgets: int | str | Budgets | Sequence[float] = 20,
    folds: int = 5,
    repeats: int = 2,
    chosen_on: str = "planning",
    map_splits: SplitMap = map,
    **fields: Any,
) -> Evaluation:
    """Choose plans on each split's planning part with ``selection`` (default: the
    request's, i.e. ``plan``'s default) and score them on its held-out part (see the module
    docstring).

    ``request`` is a :class:`~planner.planning.PlanRequest` or the profile with the
    request's fields as keywords (grid, seed, replicates, models, prices, method,
    method_options); its split is replaced by the protocol's splits, and it must carry no
    budget. ``budgets``: a count per split (log-spaced over the split's planning-part
    single-model front), explicit $ per problem, or a
    :class:`~planner.evaluation.budgets.Budgets`. ``folds``/``repeats`` apply to the
    ``kfold`` protocol. ``map_splits`` runs the splits (default: one after another here;
    :meth:`planner.sandbox.RayExecutor.map` runs each as a Ray task). Raises
    CodecascadeError (one line) on bad input."""
    return evaluate_many(request, selections=[selection], protocol=protocol,
                         budgets=budgets, folds=folds, repeats=repeats, chosen_on=chosen_on,
                         map_splits=map_splits, **fields)[0]
