"""Per-problem a, g, h, c of a model's stage options (docs/method.md §3.2).

For one model and option o, per problem p: a = P(accept), g = P(accept and the chosen
solution is correct), h = P(chosen solution correct), c = E[cost], over which k recorded
samples and t recorded test generations the model would have produced:

* k = 0 and k = 1 use the greedy files and are exact. A source without greedy decoding
  (``greedy_solution == -1``) uses one recorded sample, averaged exactly over all of them.
* k >= 2 with random subsets: Monte Carlo over the draws of :mod:`planner.estimate.draws`,
  scored by the fast path (:mod:`planner.estimate.prefix`); the cost is exact (k × mean
  sample tokens + t × mean test tokens), and each option's Monte Carlo standard error of
  its mean accuracy is reported.
* k >= 2 with the paper's loops: the exact average over the loops.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .. import progress
from ..options import StageOption
from ..profile import Profile
from ..scoring import accepts
from ..testlines import counts_every_line
from ..vocabulary import SamplingMethod
from .costs import Prices, expected_sampled_cost, stage_cost
from .draws import counted_lines, draw_subsets, gather, pass_instances
from .prefix import sampled_scores
from .replicates import generic_replicates
from .sampling import EstimateError, Sampling

#: Target number of (problem, replicate) matrices scored at once (bounds peak memory).
BATCH = 1024


@dataclass(frozen=True)
class StageOutcomes:
    """Per-problem a, g, h, c of some options of one model ([O, P] each; c in $), the Monte
    Carlo SE of each option's mean h, and optionally the per-replicate outcomes [O, P, R]
    they average (accept, correct as bool, cost in $)."""

    accept: np.ndarray
    accept_correct: np.ndarray
    correct: np.ndarray
    cost: np.ndarray
    accuracy_se: np.ndarray
    replicate_accept: np.ndarray | None = None
    replicate_correct: np.ndarray | None = None
    replicate_cost: np.ndarray | None = None


def stage_outcomes(
    profile: Profile,
    model: int,
    options: Sequence[StageOption],
    problems: np.ndarray,
    *,
    sampling: Sampling | SamplingMethod | str = SamplingMethod.RANDOM,
    replicates: int | None = None,
    seed: int | None = None,
    keep_replicates: bool = False,
) -> StageOutcomes:
    """a, g, h, c of ``options`` (none sharing tests) for one model on ``problems``.

    ``sampling`` is a :class:`Sampling`, or its method with ``replicates`` and ``seed``.
    ``keep_replicates`` also returns the per-replicate outcomes (for whole-replicate
    simulation); greedy options then repeat their exact values across replicates.
    EstimateError if an option shares tests or the recordings cannot supply it.
    """
    sampling = Sampling.of(sampling, replicates, seed)
    if any(o.share_tests for o in options):
        raise EstimateError("options that share tests depend on earlier stages; "
                            "use simulate_plan")
    n_o, n_p = len(options), len(problems)
    accept = np.zeros((n_o, n_p))
    accept_correct = np.zeros((n_o, n_p))
    correct = np.zeros((n_o, n_p))
    cost = np.zeros((n_o, n_p))
    se_sum = np.zeros(n_o)
    greedy_rows = [i for i, o in enumerate(options) if o.k <= 1]
    sampled_rows = [i for i, o in enumerate(options) if o.k >= 2]
    if greedy_rows:
        a, g, h, c = greedy_outcomes(profile, model, [options[i] for i in greedy_rows],
                                     problems)
        accept[greedy_rows], accept_correct[greedy_rows] = a, g
        correct[greedy_rows], cost[greedy_rows] = h, c
    sampled = [options[i] for i in sampled_rows]
    n_r = 0
    rep_accept = rep_correct = rep_cost = None
    if sampled:
        n_r, rep = sampled_outcomes(profile, model, sampled, problems, sampling,
                                    keep_replicates)
        a, g, h, c, se2 = rep[:5]
        accept[sampled_rows], accept_correct[sampled_rows] = a, g
        correct[sampled_rows], cost[sampled_rows] = h, c
        se_sum[sampled_rows] = se2
        if keep_replicates:
            rep_accept = np.zeros((n_o, n_p, n_r), dtype=bool)
            rep_correct = np.zeros((n_o, n_p, n_r), dtype=bool)
            rep_cost = np.zeros((n_o, n_p, n_r))
            rep_accept[sampled_rows], rep_correct[sampled_rows], rep_cost[sampled_rows] = rep[5:]
    if keep_replicates:
        n_r = max(n_r, 1)
        if rep_accept is None:
            rep_accept = np.zeros((n_o, n_p, n_r), dtype=bool)
            rep_correct = np.zeros((n_o, n_p, n_r), dtype=bool)
            rep_cost = np.zeros((n_o, n_p, n_r))
        if greedy_rows:
            _greedy_replicates(profile, model, options, greedy_rows, problems, sampling.seed,
                               accept, correct, cost, rep_accept, rep_correct, rep_cost)
    return StageOutcomes(
        accept=accept, accept_correct=accept_correct, correct=correct, cost=cost,
        accuracy_se=np.sqrt(se_sum) / n_p,
        replicate_accept=rep_accept, replicate_correct=rep_correct, replicate_cost=rep_cost,
    )


def greedy_outcomes(profile: Profile, m: int, options: Sequence[StageOption],
                    problems: np.ndarray) -> tuple[np.ndarray, ...]:
    """Exact a, g, h, c [O, P] of k = 0 / k = 1 options: the greedy solution (or, where a
    source has none, each recorded sample with equal weight) and the greedy test lines.
    All options at once: k = 0 is the option with no test line (l = 0), which accepts at
    any θ as an empty test set does. On one solution the rules differ only in which lines
    they count (:func:`~planner.estimate.draws.counted_lines`)."""
    greedy = profile.greedy_solution[m][problems]
    samples = profile.sample_solution[m][problems]
    has_greedy = greedy >= 0
    # candidates [P, C]: the greedy solution, or all recorded samples when it is missing
    cand = np.where(has_greedy[:, None], greedy[:, None], samples)
    weight = np.where(has_greedy[:, None], np.arange(samples.shape[1]) == 0, samples >= 0)
    n_cand = weight.sum(axis=1)
    if (n_cand == 0).any():
        p = int(problems[np.flatnonzero(n_cand == 0)[0]])
        raise EstimateError(f"model {profile.models[m].name!r} has neither a greedy solution "
                            f"nor samples on problem {profile.problems[p]!r}")
    weight = weight / n_cand[:, None]
    cand = np.where(weight > 0, cand, 0)
    sol_tokens = np.where(has_greedy, profile.greedy_tokens[m][problems],
                          (profile.sample_tokens[m][problems] * weight).sum(axis=1))
    ok = profile.solution_correct[problems[:, None], cand]  # [P, C]
    lines = profile.greedy_test_line[m][problems]  # [P, L]
    first = np.zeros((len(problems), 1))
    line_tokens = np.concatenate(
        [first, profile.greedy_test_line_tokens[m][problems].astype(np.float64).cumsum(axis=1)],
        axis=1)
    # the line sets the options' rules count (counted_lines): variant 0 the raw assert lines
    # (the paper rule, and k = 0, which has none), variant 1 those the project's own rules
    # count; option o uses variant v_of[o]
    n_l = np.array([o.l if o.k else 0 for o in options])
    theta = np.array([o.theta for o in options])
    v_of = np.array([int(bool(o.k) and not counts_every_line(o.rule)) for o in options])
    variants = [lines]
    if v_of.any():
        own = next(o.rule for o, v in zip(options, v_of, strict=True) if v)
        variants.append(counted_lines(profile, problems, lines, own))
    # [V, P, L + 1]: over the first l lines (l = 0..L), counted test lines; [V, P, C, L + 1]
    # the lines each candidate passes
    n_lines = np.stack([np.concatenate([first, (v >= 0).cumsum(axis=1)], axis=1)
                        for v in variants])
    passes = np.stack([pass_instances(profile, problems, cand, v) for v in variants])
    score = np.concatenate([np.zeros((*passes.shape[:3], 1), dtype=np.int64),
                            passes.cumsum(axis=3)], axis=3)
    accept = accepts(score[v_of, :, :, n_l], n_lines[v_of, :, n_l][:, :, None],
                     theta[:, None, None])  # [O, P, C]
    pays = np.array([o.pays_tests for o in options])[:, None]
    cost = stage_cost(Prices.of(profile, m), sol_tokens, line_tokens[:, n_l].T,
                      profile.prompt_tokens[m][problems].astype(np.float64),
                      profile.test_prompt_tokens[m][problems].astype(np.float64), pays)
    correct = np.broadcast_to((ok * weight).sum(axis=1), accept.shape[:2])
    return ((accept * weight).sum(axis=2), ((accept & ok) * weight).sum(axis=2),
            correct.copy(), cost)


def sampled_outcomes(
    profile: Profile,
    model: int,
    options: Sequence[StageOption],
    problems: np.ndarray,
    sampling: Sampling,
    keep_replicates: bool,
) -> tuple[int, tuple[np.ndarray, ...]]:
    """a, g, h, c [O, P] and the squared MC SE sum [O] of sampled options (k >= 2), plus the
    per-replicate accept, correct, cost [O, P, R] when ``keep_replicates``.

    Work is per (rule, k, t, l) combination and per distinct θ, never per option: scores
    are computed once per combination and thresholded for every θ (θ never changes the
    choice), and h and its SE do not depend on θ at all.
    """
    n_o, n_p = len(options), len(problems)
    ks = sorted({o.k for o in options})
    ts = sorted({o.t for o in options})
    ls = sorted({o.l for o in options})
    rules = sorted({o.rule for o in options})
    thetas = sorted({o.theta for o in options})
    combos = sorted({(o.rule, o.k, o.t, o.l) for o in options})
    combo_pos = {c: i for i, c in enumerate(combos)}
    theta_pos = {th: i for i, th in enumerate(thetas)}
    combo_of = np.array([combo_pos[(o.rule, o.k, o.t, o.l)] for o in options])
    theta_of = np.array([theta_pos[o.theta] for o in options])
    c_rule = np.array([rules.index(c[0]) for c in combos])
    c_k = np.array([ks.index(c[1]) for c in combos])
    c_t = np.array([ts.index(c[2]) for c in combos])
    c_l = np.array([ls.index(c[3]) for c in combos])
    draws = draw_subsets(profile, model, problems, k_max=ks[-1], t_max=ts[-1],
                         sampling=sampling)
    n_r = draws.replicates
    n_c = len(combos)
    a_ct = np.zeros((len(thetas), n_c, n_p))
    g_ct = np.zeros((len(thetas), n_c, n_p))
    h_c = np.zeros((n_c, n_p))
    se2_c = np.zeros(n_c)
    cost_c = np.zeros((n_c, n_p))
    # per (k, t, l) combination: which one each option's replicate cost comes from
    klt = sorted({c[1:] for c in combos})
    klt_of = np.array([klt.index(c[1:]) for c in combos])
    klt_k, klt_t, klt_l = (np.array(x) for x in zip(*klt, strict=True))
    if sampling.is_random:
        cost_c = expected_sampled_cost(profile, model, klt, problems)[klt_of]
    rep = None
    if keep_replicates:
        rep = (np.zeros((n_o, n_p, n_r), dtype=bool), np.zeros((n_o, n_p, n_r), dtype=bool),
               np.zeros((n_o, n_p, n_r)))
    theta_arr = np.array(thetas)
    # every score and scale is an integer <= k t l: tabulate the acceptance test for all of
    # them once; θ ascending makes the accepted θ a prefix, so a count per (score, scale)
    # says which θ accept
    top = ks[-1] * ts[-1] * ls[-1]
    values = np.arange(top + 1, dtype=np.float64)
    accepted_count = accepts(values[:, None, None], values[None, :, None], theta_arr).sum(axis=2)
    n_bins = len(thetas) + 1
    prices = Prices.of(profile, model)

    def _sampled_chunk(rows: slice) -> None:
        """The outcomes of the problems in ``rows`` (in place)."""
        nonlocal se2_c
        n_rows = rows.stop - rows.start
        g = gather(profile, model, draws, rows, ls[-1])
        scored = {}
        # one stack of matrices per set of counted lines: the paper rule's raw assert lines,
        # and the project's own rules' informative ones (counted_lines)
        for group in ([r for r in rules if counts_every_line(r)],
                      [r for r in rules if not counts_every_line(r)]):
            if group:
                line = counted_lines(profile, g.problem, g.line, group[0])
                inst = pass_instances(profile, g.problem, g.solution, line)
                scored.update(sampled_scores(inst, line >= 0, g.correct, ks, ts, ls, group))
        score = np.stack([scored[r][0] for r in rules])[c_rule, :, c_k, c_t, c_l]  # [C, B]
        scale = np.stack([scored[r][1] for r in rules])[c_rule, :, c_k, c_t, c_l]
        ok = np.stack([scored[r][2] for r in rules])[c_rule, :, c_k, c_t, c_l]
        ok3 = ok.reshape(n_c, n_rows, n_r)
        h_c[:, rows] = ok3.mean(axis=2)
        if n_r > 1 and sampling.is_random:
            se2_c += ok3.var(axis=2, ddof=1).sum(axis=1) / n_r
        # how many θ (ascending) each replicate accepts; acceptance at θ_j is n_acc > j
        n_acc = accepted_count[score.astype(np.int64), scale.astype(np.int64)]
        key = ((np.arange(n_c)[:, None] * n_rows + np.repeat(np.arange(n_rows), n_r)) * n_bins
               + n_acc).ravel()
        size = n_c * n_rows * n_bins
        hist = np.bincount(key, minlength=size).reshape(n_c, n_rows, n_bins)
        hist_ok = np.bincount(key, weights=ok.ravel(), minlength=size).reshape(hist.shape)
        at_least = hist[..., ::-1].cumsum(axis=2)[..., ::-1]  # replicates with n_acc >= i
        at_least_ok = hist_ok[..., ::-1].cumsum(axis=2)[..., ::-1]
        a_ct[:, :, rows] = at_least[..., 1:].transpose(2, 0, 1) / n_r
        g_ct[:, :, rows] = at_least_ok[..., 1:].transpose(2, 0, 1) / n_r
        if keep_replicates or not sampling.is_random:
            # each replicate's actual subset: prefix sums over samples and over (generation,
            # line) give every (k, t, l) at once
            sol_tokens = g.tokens.cumsum(axis=1)[:, klt_k - 1].T  # [klt, B]
            test_tokens = g.line_tokens.cumsum(axis=2).cumsum(axis=1)[:, klt_t - 1,
                                                                      klt_l - 1].T
            rc = stage_cost(prices, sol_tokens, test_tokens,
                            profile.prompt_tokens[model][g.problem].astype(np.float64),
                            profile.test_prompt_tokens[model][g.problem].astype(np.float64),
                            True)[klt_of]
            rc3 = rc.reshape(n_c, n_rows, n_r)
            if not sampling.is_random:
                cost_c[:, rows] = rc3.mean(axis=2)
            if rep is not None:
                acc_o = accepts(score[combo_of], scale[combo_of], theta_arr[theta_of][:, None])
                rep[0][:, rows] = acc_o.reshape(n_o, n_rows, n_r)
                rep[1][:, rows] = ok3[combo_of]
                rep[2][:, rows] = rc3[combo_of]
    chunk = max(1, BATCH // n_r)
    with progress.task(profile.models[model].name, total=n_p, unit="problem") as step:
        for start in range(0, n_p, chunk):
            _sampled_chunk(slice(start, min(start + chunk, n_p)))
            step.advance(min(chunk, n_p - start))
    out = (a_ct[theta_of, combo_of], g_ct[theta_of, combo_of], h_c[combo_of],
           cost_c[combo_of], se2_c[combo_of])
    return n_r, out + (rep if rep is not None else ())


def _greedy_replicates(profile: Profile, model: int, options: Sequence[StageOption],
                       rows: list[int], problems: np.ndarray, seed: int, accept: np.ndarray,
                       correct: np.ndarray, cost: np.ndarray, rep_accept: np.ndarray,
                       rep_correct: np.ndarray, rep_cost: np.ndarray) -> None:
    """Fill per-replicate outcomes of greedy options. With a greedy solution they are
    deterministic; without one, replicate r uses one random recorded sample."""
    n_r = rep_accept.shape[2]
    has_greedy = profile.greedy_solution[model][problems] >= 0
    if has_greedy.all():
        rep_accept[rows] = (accept[rows] > 0.5)[:, :, None]
        rep_correct[rows] = (correct[rows] > 0.5)[:, :, None]
        rep_cost[rows] = cost[rows][:, :, None]
        return
    draws = draw_subsets(profile, model, problems, k_max=1, t_max=0,
                         sampling=Sampling(SamplingMethod.RANDOM, n_r, seed))
    outcome = generic_replicates(profile, model, [options[o] for o in rows], draws,
                                 extra_lines=None)
    rep_accept[rows], rep_correct[rows], rep_cost[rows] = outcome[:3]
