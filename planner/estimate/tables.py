"""Option tables: a, g, h, c of every option of a grid, for every model of a profile.

:func:`option_tables` is what the search methods consume (:class:`~planner.cascade.
OptionTable`, one per model in profile order); :func:`feasible_options` says which of a
grid's options a model's recordings can support.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import progress
from ..cascade import OptionTable
from ..errors import CodecascadeError
from ..options import Grid, StageOption
from ..profile import Profile
from ..vocabulary import SamplingMethod
from . import cache as disk_cache
from .outcomes import stage_outcomes
from .sampling import DEFAULT_REPLICATES, EstimateError, Sampling, problem_index


@dataclass(frozen=True)
class _Recorded:
    """What a model's recordings give every problem: samples and test generations (within
    one loop for the paper's loop subsets), line positions, greedy test lines."""

    samples: int
    test_generations: int
    line_positions: int
    greedy_tests: bool

    @classmethod
    def of(cls, profile: Profile, model: int, sampling: SamplingMethod) -> _Recorded:
        if sampling is SamplingMethod.PAPER_LOOPS:
            k_cap = t_cap = profile.models[model].samples_per_loop
        else:
            k_cap = int(profile.n_samples[model].min())
            t_cap = int(profile.n_test_generations[model].min())
        return cls(k_cap, t_cap, int(profile.test_line.shape[3]),
                   bool((profile.greedy_test_line[model] >= 0).any()))

    def lacks(self, option: StageOption) -> str | None:
        if option.k == 0:
            return None
        if option.l > self.line_positions:
            return (f"l={option.l} but the profile records {self.line_positions} line "
                    "positions per test generation")
        if option.k == 1:
            return None if self.greedy_tests else "k=1 but the profile has no greedy tests"
        if option.k > self.samples:
            return f"k={option.k} but the profile records {self.samples} samples"
        if option.t > self.test_generations:
            return (f"t={option.t} but the profile records {self.test_generations} test "
                    "generations")
        return None


def unsupported(profile: Profile, model: int, option: StageOption,
                sampling: SamplingMethod = SamplingMethod.RANDOM) -> str | None:
    """Why ``model``'s recordings cannot serve ``option`` on every problem (k or t beyond
    the recorded samples or test generations, l beyond the recorded line positions, k = 1
    without greedy test lines), or None when they can."""
    return _Recorded.of(profile, model, sampling).lacks(option)


def feasible_options(profile: Profile, model: int, grid: Grid) -> tuple[StageOption, ...]:
    """The grid's options that ``model``'s recordings can support on every problem
    (:func:`unsupported`). EstimateError if nothing is left."""
    info = profile.models[model]
    recorded = _Recorded.of(profile, model, grid.sampling)
    options = tuple(o for o in grid.options_for(info.name) if recorded.lacks(o) is None)
    if not options:
        raise EstimateError(f"model {info.name!r} supports no option of grid {grid.name!r} "
                            f"({recorded.samples} samples and {recorded.test_generations} "
                            "test generations recorded)")
    return options


def option_tables(
    profile: Profile,
    grid: Grid,
    problems: Sequence[int] | np.ndarray | None = None,
    replicates: int = DEFAULT_REPLICATES,
    seed: int = 0,
    *,
    cache: bool = True,
) -> list[OptionTable]:
    """One OptionTable per model (profile order) with every option of ``grid`` that the
    model's recordings support (:func:`feasible_options`), on ``problems`` (profile
    indices; all for None), drawn as ``grid.sampling`` says with R = ``replicates`` from
    ``seed``.

    Tables are cached on disk (:func:`~planner.estimate.cache.cache_dir`), keyed by the
    profile's fingerprint, the grid, the problems, R and the seed; pass ``cache=False`` to
    always recompute. EstimateError if a model supports no option of the grid.
    """
    sampling = Sampling(grid.sampling, replicates, seed)
    idx = problem_index(profile, problems)
    names = tuple(profile.problems[i] for i in idx)
    path = disk_cache.cache_path(profile, grid, idx, sampling)
    if cache and path.is_file():
        cached = _from_cache(path, profile, grid, names)
        if cached is not None:
            return cached
    tables = []
    with progress.task("option tables", total=profile.n_models, unit="model") as step:
        for m, info in enumerate(profile.models):
            options = feasible_options(profile, m, grid)
            out = stage_outcomes(profile, m, options, idx, sampling=sampling)
            tables.append(OptionTable(
                model=info.name, options=options, accept=out.accept,
                accept_correct=out.accept_correct, correct=out.correct, cost=out.cost,
                problems=names, accuracy_se=out.accuracy_se,
            ))
            step.advance()
    if cache:
        disk_cache.store(path, tables)
    return tables


def _from_cache(path: Path, profile: Profile, grid: Grid,
                names: tuple[str, ...]) -> list[OptionTable] | None:
    arrays = disk_cache.load_arrays(path, profile.n_models)
    if arrays is None:
        return None
    try:
        return [OptionTable(model=info.name, options=feasible_options(profile, m, grid),
                            problems=names, **arrays[m])
                for m, info in enumerate(profile.models)]
    except CodecascadeError:  # a stale or foreign file: recompute
        return None
