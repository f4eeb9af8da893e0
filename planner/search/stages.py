"""Plans as (model index, table row) stages: scoring them exactly, reading them from a
per-model code vector, and writing a shared-θ plan with one θ throughout."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..cascade import cascade_mean, cascade_per_problem
from .space import SearchSpace


def score_stages(space: SearchSpace, stages: Sequence[tuple[int, int]]) -> tuple[float, float]:
    """Exact mean accuracy (fraction) and cost ($ per problem) of a plan given as
    (model index, row) stages, over the space's problems."""
    return cascade_mean([(space.tables[i], r) for i, r in stages])


def score_stages_per_problem(
    space: SearchSpace, stages: Sequence[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray]:
    """Per-problem accuracy and cost, each [problems], of a plan given as stages."""
    return cascade_per_problem([(space.tables[i], r) for i, r in stages])


def stages_from_codes(codes: np.ndarray) -> tuple[tuple[int, int], ...]:
    """(model, row) stages from a per-model code vector (-1 = skipped)."""
    return tuple((int(i), int(codes[i])) for i in np.flatnonzero(codes >= 0))


def normalise_stages(
    space: SearchSpace, stages: Sequence[tuple[int, int]]
) -> tuple[tuple[int, int], ...]:
    """Give the last stage (whose θ does not matter) the plan's shared θ where an identical
    row with that θ exists, so a shared-θ plan reads as one θ throughout."""
    if len(stages) < 2:
        return tuple(stages)
    mids = [space.tables[i].options[r] for i, r in stages[:-1]]
    thetas = {o.theta for o in mids if o.k >= 1}
    i, r = stages[-1]
    table = space.tables[i]
    option = table.options[r]
    if len(thetas) != 1 or option.k == 0:
        return tuple(stages)
    theta = thetas.pop()
    for row, other in enumerate(table.options):
        if (other.theta == theta and other.k == option.k and other.t == option.t
                and other.l == option.l and other.rule == option.rule
                and other.share_tests == option.share_tests
                and np.array_equal(table.correct[row], table.correct[r])
                and np.array_equal(table.cost[row], table.cost[r])):
            return (*tuple(stages[:-1]), (i, row))
    return tuple(stages)
