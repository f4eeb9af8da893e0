"""Lagrangian bounds on a chain's plans, and the exact reductions they allow (docs/ilp.md §4).

For a multiplier μ >= 0, every plan within budget B has accuracy <= acc − μ·(cost − B)
(and with a target accuracy A every plan reaching it costs >= λ·A − (λ·acc − cost)).
Relaxing the stages after the fixed ones to the best option *for each problem* enlarges
the set of plans, so its maximum of α·acc − β·cost — a backward pass over per-problem
tails — bounds every plan; the tightest bound over a grid of multipliers is kept. An
option (pair, triple) whose bound cannot beat or tie the incumbent is in no better plan
and is dropped (:func:`reduce_chain`).

Every loop here checks the deadline between blocks of work (one multiplier, or one block
of at most :data:`CHUNK_ELEMENTS` elements), so a reduction stops within a fraction of a
second of it (:class:`~planner.search.deadline.OutOfTime`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..deadline import Deadline, OutOfTime
from .chains import Chain, ChainStage, StageBank
from .goal import Goal, Incumbent

#: Multipliers of the Lagrangian bounds, in units of the budget's (or cost's) scale.
MULTIPLIERS = np.concatenate([[0.0], np.logspace(-3, 1.5, 19)])
#: Multipliers kept for the costlier bounds of later stages (those that bound most
#: first-stage options).
LATER_MULTIPLIERS = 4
#: Passes of the stage-by-stage option reduction (a later pass bounds each stage over the
#: others' reduced options).
REDUCTION_SWEEPS = 2
#: Largest temporary array (elements) of the per-problem relaxation.
CHUNK_ELEMENTS = 4_000_000


def _values(stages: Sequence[ChainStage], alpha: float, beta: float) -> list[np.ndarray]:
    """Per stage [O, P]: α·gain − β·cost."""
    return [alpha * s.gain - beta * s.cost for s in stages]


def _best_through(value: np.ndarray, pass_on: np.ndarray, after: np.ndarray,
                  deadline: Deadline) -> np.ndarray:
    """Per problem and row o of ``after``: max over options o' of value[o'] +
    pass_on[o']·after[o] (a stage chosen per problem in front of a fixed option)."""
    out = np.empty_like(after)
    step = max(1, CHUNK_ELEMENTS // max(1, value.size))
    for lo in range(0, after.shape[0], step):
        deadline.check()
        block = after[lo:lo + step, None, :]
        out[lo:lo + step] = (value[None] + pass_on[None] * block).max(axis=1)
    return out


def _from_stage(stages: Sequence[ChainStage], values: Sequence[np.ndarray],
                j: int) -> np.ndarray:
    """[O_j, P]: each option's value at stage j plus the share it passes on times the best
    per-problem value of the later stages (each chosen per problem)."""
    tail = None
    for k in range(len(stages) - 1, j, -1):
        v = values[k] if tail is None else values[k] + stages[k].pass_on * tail[None, :]
        tail = v.max(axis=0)
    return values[j] if tail is None else values[j] + stages[j].pass_on * tail[None, :]


def _relaxed_values(stages: Sequence[ChainStage], j: int, alpha: float, beta: float,
                    deadline: Deadline) -> np.ndarray:
    """For every option o of stage j: an upper bound on Σ α·gain − β·cost (reach weighted)
    over the chain's plans with o at stage j. Stage 1 is exact; the stages after j, and
    those between 1 and j, are chosen per problem (more plans, so a larger maximum)."""
    values = _values(stages, alpha, beta)
    scored = _from_stage(stages, values, j)
    if j == 0:
        return scored.sum(axis=1)
    for k in range(j - 1, 0, -1):
        scored = _best_through(values[k], stages[k].pass_on, scored, deadline)
    first = stages[0]
    return (values[0].sum(axis=1)[None, :] + scored @ first.pass_on.T).max(axis=1)


def option_bounds(stages: Sequence[ChainStage], j: int, goal: Goal, deadline: Deadline,
                  multipliers: np.ndarray = MULTIPLIERS) -> tuple[np.ndarray, np.ndarray]:
    """Per option of stage j: a bound on the objective of any plan of the chain with it
    (accuracy upper bound, or cost lower bound in cost units), and for each multiplier the
    number of options whose bound it gave."""
    bounds = []
    for s in multipliers:
        deadline.check()
        alpha, beta = goal.weights(s)
        bounds.append(goal.as_bound(alpha, beta,
                                    _relaxed_values(stages, j, alpha, beta, deadline)))
    stacked = np.array(bounds)
    pick = goal.tightest_index(stacked)
    best = stacked[pick, np.arange(stacked.shape[1])]
    return best, np.bincount(pick, minlength=len(multipliers))


def bound_chain(stages: tuple[ChainStage, ...], goal: Goal, deadline: Deadline) -> Chain:
    """The chain with its first stage's option bounds and the multipliers that gave the
    most of them (kept for the costlier bounds of its later stages)."""
    bounds, used = option_bounds(stages, 0, goal, deadline)
    top = np.argsort(-used, kind="stable")[:LATER_MULTIPLIERS]
    return Chain(stages, bounds, MULTIPLIERS[np.sort(top)])


def space_bound(bank: StageBank, deadline: Deadline) -> float:
    """A bound on every plan of the space: each problem takes its own best cascade (models
    and options chosen per problem, a superset of the plans), by a backward pass over the
    models, the tightest over :data:`MULTIPLIERS` — cheap (models × options × problems per
    multiplier) and weaker than the chain bounds, it stands for the chains the deadline
    came before. At the deadline the tightest so far (the bound every plan satisfies if
    none)."""
    space, goal = bank.space, bank.goal
    best = None
    try:
        for s in MULTIPLIERS:
            deadline.check()
            alpha, beta = goal.weights(s)
            later = np.full(space.n_problems, -np.inf)  # best tail starting after model i
            for i in reversed(range(space.n_models)):
                tail = np.full(space.n_problems, -np.inf)
                last = bank.stage(i, True)
                if last.rows.size:
                    tail = (alpha * last.gain - beta * last.cost).max(axis=0)
                mid = bank.stage(i, False)
                if mid.rows.size and np.isfinite(later).all():
                    through = (alpha * mid.gain - beta * mid.cost
                               + mid.pass_on * later[None, :]).max(axis=0)
                    tail = np.maximum(tail, through)
                later = np.maximum(later, tail)
            best = goal.tightest(best, goal.as_bound(alpha, beta, later.sum()))
    except OutOfTime:
        pass
    return goal.unbounded() if best is None else float(best)


def pair_bounds(stages: Sequence[ChainStage], goal: Goal, multipliers: np.ndarray,
                deadline: Deadline) -> np.ndarray:
    """[O1, O2]: for each pair of first- and second-stage options, a bound on the objective
    of the chain's plans with that pair (the pair exact, later stages per problem), the
    best multiplier taken per pair: tighter than the per-option bounds, which take one
    multiplier for all pairs of an option. Computed in blocks of first-stage options of at
    most ``CHUNK_ELEMENTS`` pairs, the deadline checked between them (on the generalised
    grid one multiplier's [O1, O2] product is 15,000 x 15,000 x problems: 9 s)."""
    first = stages[0]
    best: np.ndarray | None = None
    for s in multipliers:
        deadline.check()
        alpha, beta = goal.weights(s)
        values = _values(stages, alpha, beta)
        head = values[0].sum(axis=1)
        later = _from_stage(stages, values, 1).T
        rows = max(1, CHUNK_ELEMENTS // max(1, later.shape[1]))
        fresh = best is None
        if best is None:
            best = np.empty((head.size, later.shape[1]))
        for lo in range(0, head.size, rows):
            if lo:
                deadline.check()
            block = slice(lo, lo + rows)
            bound = goal.as_bound(alpha, beta, head[block, None] + first.pass_on[block] @ later)
            best[block] = bound if fresh else goal.tightest(best[block], bound)
    assert best is not None
    return best


def third_stage_survivors(stages: Sequence[ChainStage], pairs: np.ndarray, goal: Goal,
                          multipliers: np.ndarray, survives: Callable[[np.ndarray], np.ndarray],
                          deadline: Deadline) -> tuple[np.ndarray, np.ndarray]:
    """The allowed first/second-stage pairs and third-stage options that survive bounds
    with the third stage exact as well (stages after it per problem): for each surviving
    pair and third option, the best multiplier's bound, one matrix product per multiplier
    and block of pairs. Far tighter than the pair bounds, where the third stage is chosen
    per problem: on the default grid at the highest budgets it leaves a handful of the
    52 k pairs. ``survives`` maps bounds to may-beat flags."""
    first, second, third = stages[0], stages[1], stages[2]
    o1, o2 = np.nonzero(pairs)
    per_multiplier = []
    for s in multipliers:
        deadline.check()
        alpha, beta = goal.weights(s)
        values = _values(stages, alpha, beta)
        per_multiplier.append((alpha, beta, values[0].sum(axis=1), values[1],
                               _from_stage(stages, values, 2)))
    keep_pairs = np.zeros(o1.size, dtype=bool)
    keep_third = np.zeros(third.rows.size, dtype=bool)
    step = max(1, CHUNK_ELEMENTS // max(third.rows.size, first.pass_on.shape[1]))
    for lo in range(0, o1.size, step):
        a, b = o1[lo:lo + step], o2[lo:lo + step]
        pass_a = first.pass_on[a]
        pass_ab = pass_a * second.pass_on[b]
        best = None
        for alpha, beta, first_value, second_value, after in per_multiplier:
            deadline.check()
            value = (first_value[a] + (pass_a * second_value[b]).sum(axis=1))[:, None] \
                + pass_ab @ after.T
            best = goal.tightest(best, goal.as_bound(alpha, beta, value))
        ok = survives(best)
        keep_pairs[lo:lo + step] = ok.any(axis=1)
        keep_third |= ok.any(axis=0)
    refined = np.zeros_like(pairs)
    refined[o1[keep_pairs], o2[keep_pairs]] = True
    return refined, keep_third


@dataclass(frozen=True)
class ReducedChain:
    """A chain's stages without the options that cannot beat or tie the incumbent, and for
    chains of three or more stages the [O1, O2] mask of first/second-stage pairs that
    still may (None otherwise)."""

    stages: tuple[ChainStage, ...]
    pairs: np.ndarray | None


def reduce_chain(chain: Chain, incumbent: Incumbent | None, goal: Goal,
                 deadline: Deadline) -> ReducedChain | None:
    """The chain reduced against ``incumbent``, stage by stage and twice over (each stage
    bounded over the already reduced other stages: they still hold every plan that could
    beat it); in chains of three or more stages the first two stages by pairs, then the
    pairs by triples with the third stage. None if a stage empties (no plan of the chain
    can beat or tie the incumbent). OutOfTime at the deadline."""
    stages = list(chain.stages)
    pairs = None
    if incumbent is None:
        return ReducedChain(tuple(stages), pairs)

    def may_beat(bound: np.ndarray) -> np.ndarray:
        return goal.may_beat(bound, incumbent)

    for sweep in range(REDUCTION_SWEEPS):
        before = sum(s.rows.size for s in stages)
        for j in range(len(stages)):
            if len(stages) >= 3 and j <= 1:
                if j == 0:
                    pairs = may_beat(pair_bounds(stages, goal, chain.multipliers, deadline))
                keep = pairs.any(axis=1 - j)
                if not keep.any():
                    return None
                pairs = pairs[keep] if j == 0 else pairs[:, keep]
                stages[j] = stages[j].take(keep)
                if j == 1:
                    pairs, third = third_stage_survivors(stages, pairs, goal, MULTIPLIERS,
                                                         may_beat, deadline)
                    if not third.any():
                        return None
                    first, second = pairs.any(axis=1), pairs.any(axis=0)
                    pairs = pairs[first][:, second]
                    stages[:3] = [stages[0].take(first), stages[1].take(second),
                                  stages[2].take(third)]
                continue
            if sweep == 0 and j == 0:
                bound = chain.first_bounds
            else:
                bound = option_bounds(stages, j, goal, deadline,
                                      MULTIPLIERS if j == 0 else chain.multipliers)[0]
            keep = may_beat(bound)
            if not keep.any():
                return None
            stages[j] = stages[j].take(keep)
        if sum(s.rows.size for s in stages) == before or len(stages) == 1:
            break
    return ReducedChain(tuple(stages), pairs)
