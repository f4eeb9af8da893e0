"""The generic path: any option scored on each replicate's explicit pass matrix.

One option of one model on every replicate of some draws: the replicate's solutions are
run on its own test lines (plus, for a stage that shares tests, the lines the earlier
stages paid for in that replicate), the matrix is scored with :mod:`planner.scoring`, and
θ is applied afterwards (:meth:`ScoredStage.accept`), so one scoring serves every θ. Whole
replicate simulation (:mod:`planner.estimate.simulate`) is built on it; the fast path
(:mod:`planner.estimate.prefix`) must agree with it replicate by replicate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..options import StageOption
from ..profile import Profile
from ..scoring import accepts, select_batch
from .costs import Prices, stage_cost
from .draws import Draws, counted_lines, pass_instances


@dataclass(frozen=True)
class ScoredStage:
    """One option's per-replicate outcome before its threshold: the chosen solution's
    ``score`` and ``scale`` (k = 0 is 1 and 0, so it always accepts), whether it is
    correct, the cost ($), and the stage's own test-line ids; [P, R] each ([P, R, n] for
    the lines)."""

    score: np.ndarray
    scale: np.ndarray
    correct: np.ndarray
    cost: np.ndarray
    own_lines: np.ndarray

    def accept(self, theta: float) -> np.ndarray:
        """[P, R] whether the stage accepts at threshold θ."""
        return accepts(self.score, self.scale, theta)


def replicate_scores(profile: Profile, model: int, opt: StageOption, draws: Draws,
                     extra_lines: np.ndarray | None) -> ScoredStage:
    """:class:`ScoredStage` of one option on every replicate of ``draws``.

    ``extra_lines`` [P, R, n] are earlier stages' line ids, appended for an option with
    ``share_tests``; the rule counts the lines :func:`~planner.estimate.draws.counted_lines`
    says (the stage's own and the shared ones alike, as the runtime does). k <= 1 uses the
    greedy solution and test generation (the first drawn sample where the greedy solution
    is missing). θ plays no part.
    """
    m = model
    p_idx = draws.problems
    n_p, n_r = draws.samples.shape[:2]
    prompt = np.repeat(profile.prompt_tokens[m][p_idx], n_r).astype(np.float64)
    test_prompt = np.repeat(profile.test_prompt_tokens[m][p_idx], n_r).astype(np.float64)
    pb = np.repeat(p_idx, n_r)
    samples = draws.samples.reshape(n_p * n_r, -1)
    tests = draws.tests.reshape(n_p * n_r, -1)
    if opt.k <= 1:
        greedy = profile.greedy_solution[m][pb]
        sol_tokens = profile.greedy_tokens[m][pb].astype(np.float64)
        if samples.shape[1]:  # a drawn sample stands in where greedy is missing
            drawn = profile.sample_solution[m][pb, samples[:, 0]]
            sol_tokens = np.where(greedy >= 0, sol_tokens,
                                  profile.sample_tokens[m][pb, samples[:, 0]])
            greedy = np.where(greedy >= 0, greedy, drawn)
        sol = greedy[:, None]
        lines = profile.greedy_test_line[m][pb][:, : opt.l]
        line_tokens = profile.greedy_test_line_tokens[m][pb][:, : opt.l].sum(axis=1)
    else:
        sol = profile.sample_solution[m][pb[:, None], samples[:, : opt.k]]
        sol_tokens = profile.sample_tokens[m][pb[:, None], samples[:, : opt.k]].sum(axis=1)
        gens = tests[:, : opt.t]
        lines = profile.test_line[m][pb[:, None], gens][:, :, : opt.l].reshape(len(pb), -1)
        line_tokens = profile.test_line_tokens[m][pb[:, None], gens][:, :, : opt.l]
        line_tokens = line_tokens.reshape(len(pb), -1).sum(axis=1)
    all_lines = lines
    if opt.share_tests and extra_lines is not None:
        all_lines = np.concatenate([lines, extra_lines.reshape(n_p * n_r, -1)], axis=1)
    if opt.k == 0:
        score = np.ones(len(pb))
        scale = np.zeros(len(pb))
        index = np.zeros(len(pb), dtype=np.int64)
    else:
        counted = counted_lines(profile, pb, all_lines, opt.rule)
        matrix = pass_instances(profile, pb, sol, counted)
        index, score, scale = select_batch(matrix, counted >= 0, opt.rule)
    chosen = sol[np.arange(len(pb)), index]
    cost = stage_cost(Prices.of(profile, m), sol_tokens, line_tokens, prompt, test_prompt,
                      opt.pays_tests)
    return ScoredStage(
        score=np.asarray(score, dtype=np.float64).reshape(n_p, n_r),
        scale=np.asarray(scale, dtype=np.float64).reshape(n_p, n_r),
        correct=profile.solution_correct[pb, chosen].reshape(n_p, n_r),
        cost=cost.reshape(n_p, n_r),
        own_lines=lines.reshape(n_p, n_r, -1),
    )


def generic_replicates(
    profile: Profile,
    model: int,
    options: Sequence[StageOption],
    draws: Draws,
    extra_lines: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """Per-replicate accept, correct, cost [O, P, R] and own test-line ids ([P, R, n] each)
    of options, each scored by :func:`replicate_scores`."""
    n_p, n_r = draws.samples.shape[:2]
    out_a = np.zeros((len(options), n_p, n_r), dtype=bool)
    out_c = np.zeros_like(out_a)
    out_cost = np.zeros(out_a.shape)
    own_lines: list[np.ndarray] = []
    for o, opt in enumerate(options):
        scored = replicate_scores(profile, model, opt, draws, extra_lines)
        out_a[o] = scored.accept(opt.theta)
        out_c[o] = scored.correct
        out_cost[o] = scored.cost
        own_lines.append(scored.own_lines)
    return out_a, out_c, out_cost, own_lines
