"""The shared work of every planning command, done once: a :class:`PlanningContext`.

:func:`planning_context` loads the request's profile (re-priced and restricted to the
chosen models), computes the option tables of the grid on all problems (the estimator
caches them), and cuts them into the planning part and the held-out part of the split.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..cascade import OptionTable
from ..options import CascadePlan, Grid, Stage
from ..profile import Profile, ProfileError, load_profile
from ..search.errors import SearchError
from ..search.space import SearchSpace
from ..spec import Prediction
from ..units import per_token
from ..vocabulary import SplitPart
from .predictions import exact_prediction, simulated_prediction
from .request import PlanRequest, as_request


@dataclass(frozen=True, eq=False)
class PlanningContext:
    """A request's profile, grid and split, tabulated: ``planning`` is the search space on
    the planning part (the split's validation problems, or all of them for the ``all``
    split), ``heldout`` the same on the held-out part (None for ``all``); problem indices
    beside each."""

    request: PlanRequest
    profile: Profile
    profile_label: str
    grid: Grid
    split_name: str
    split_seed: int
    planning: SearchSpace
    heldout: SearchSpace | None
    planning_problems: np.ndarray
    heldout_problems: np.ndarray | None
    seed: int
    replicates: int
    #: fingerprint of the profile as loaded, before the request's price overrides
    profile_sha256: str = ""

    @property
    def planning_part(self) -> SplitPart:
        """What the planning part is called in predictions."""
        return SplitPart.ALL if self.heldout is None else SplitPart.VALIDATION

    def stages_plan(self, stages: Sequence[tuple[int, int]]) -> CascadePlan:
        """The cascade plan of (model index, table row) stages."""
        tables = self.planning.tables
        return CascadePlan(tuple(Stage(tables[i].model, tables[i].options[r])
                                 for i, r in stages))

    def simulator(self, heldout: bool = False):
        """A :class:`~planner.estimate.PlanSimulator` on the planning (or held-out)
        problems with the tables' replicates, seed and sampling (common random numbers)."""
        from ..estimate import PlanSimulator

        problems = self.heldout_problems if heldout else self.planning_problems
        if problems is None:
            raise SearchError("this split has no held-out part")
        return PlanSimulator(self.profile, problems, self.replicates, self.seed,
                             self.grid.sampling)

    def predict(self, stages: Sequence[tuple[int, int]]) -> tuple[Prediction,
                                                                    Prediction | None]:
        """Predicted accuracy and cost with bootstrap intervals on both parts, by the exact
        formula (a plan of the option tables)."""
        planning = exact_prediction(self.planning, stages, self.planning_part, self.seed)
        heldout = None
        if self.heldout is not None:
            heldout = exact_prediction(self.heldout, stages, SplitPart.TEST, self.seed)
        return planning, heldout

    def predict_plan(self, plan: CascadePlan) -> tuple[Prediction, Prediction | None]:
        """Predictions of any plan, sharing ones included, by simulation
        (:func:`~planner.estimate.estimate_plan`: the same draws as the tables)."""
        def on(problems: np.ndarray, part: SplitPart) -> Prediction:
            return simulated_prediction(self.profile, plan, problems, part,
                                        replicates=self.replicates, seed=self.seed,
                                        sampling=self.grid.sampling)

        planning = on(self.planning_problems, self.planning_part)
        heldout = None
        if self.heldout_problems is not None:
            heldout = on(self.heldout_problems, SplitPart.TEST)
        return planning, heldout


def planning_context(request: PlanRequest | Profile | str | os.PathLike[str] | None = None,
                     **fields: Any) -> PlanningContext:
    """Load, re-price, restrict, tabulate and split (see the module docstring).

    ``request`` is a :class:`PlanRequest`, or the profile with the request's other fields
    as keywords. Raises ProfileError (unreadable profile, unknown model), SplitError,
    FieldError (replicates that do not fit in memory) and SearchError (a model with no
    option on the grid).
    """
    from ..estimate import option_tables
    from ..splits import split_by_name

    request = as_request(request, **fields)
    profile = request.profile
    if not isinstance(profile, Profile):
        profile = load_profile(profile)
    request.check_profile(profile)
    loaded_sha256 = profile.fingerprint()
    if request.prices:
        profile = profile.with_prices({name: per_token(price)
                                       for name, price in request.prices.items()})
    grid = request.grid_spec()
    chosen = list(range(profile.n_models))
    if request.models:
        chosen = sorted({profile.model_index(name) for name in request.models})
    the_split = split_by_name(request.split, profile.n_problems)
    tables = option_tables(profile, grid, replicates=request.replicates, seed=request.seed)
    tables = [tables[i] for i in chosen]
    _check_tables(tables)
    everything = the_split.name == "all"
    planning_idx = np.arange(profile.n_problems) if everything else the_split.validation
    planning = SearchSpace(tuple(t.columns(planning_idx) for t in tables), grid.shared_theta)
    heldout = None
    heldout_idx = None
    if not everything:
        heldout_idx = the_split.test
        heldout = SearchSpace(tuple(t.columns(heldout_idx) for t in tables), grid.shared_theta)
    return PlanningContext(
        request=request, profile=profile, profile_label=request.profile_label, grid=grid,
        split_name=the_split.name, split_seed=the_split.seed, planning=planning,
        heldout=heldout, planning_problems=planning_idx, heldout_problems=heldout_idx,
        seed=request.seed, replicates=request.replicates, profile_sha256=loaded_sha256,
    )


def _check_tables(tables: Sequence[OptionTable]) -> None:
    if not tables:
        raise ProfileError("no models to plan with")
    for table in tables:
        if table.n_options == 0:
            raise SearchError(f"model {table.model!r} has no option on this grid")
