"""The estimator: per-problem a, g, h, c of stage options, and accuracy and cost of plans.

method.md §3. For one model and option o, per problem p: a = P(accept), g = P(accept and the
chosen solution is correct), h = P(chosen solution correct), c = E[cost]. The probability is
over which k recorded samples and t recorded test generations the model would have
produced:

* k = 0 and k = 1 use the greedy files and are exact (deterministic). A source without
  greedy decoding (``greedy_solution == -1``) uses one recorded sample, averaged exactly over
  all of them.
* k >= 2, ``sampling="random"``: Monte Carlo with R replicates. Common random numbers: one
  random permutation of the samples and one of the test generations per (model, problem,
  replicate); option (k, t, l) uses the first k and first t, so options compare with low
  variance and prefix sums run across k, t and l at once (see ``_sampled_scores``). The
  cost is exact (k × mean sample tokens + t × mean test tokens), and the Monte Carlo
  standard error of every option's mean accuracy is reported.
* ``sampling="paper_loops"``: the seed paper's own subsets, "loop L's first k solutions and
  first k test generations", as an exact average over the loops.

A plan of independent stages is scored by the exact cascade formula (planner.cascade); a
plan that shares test lines between stages, and the paper's own loop protocol (one loop
index for all models), by simulating whole replicates (:func:`simulate_plan`). Every plan
estimate carries percentile-bootstrap intervals over problems (planner.intervals).
"""

from __future__ import annotations

import hashlib
import json
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cascade import OptionTable
from .errors import CodecascadeError
from .options import SAMPLINGS, CascadePlan, Grid, StageOption
from .output import atomic_write
from .profile import Profile
from .scoring import select_batch

#: Bump when the estimator's numbers change, so cached option tables are not reused.
ESTIMATOR_VERSION = 1

#: Default Monte Carlo replicates: the SE of a mean over 164 problems is then <= 0.49 pp.
DEFAULT_REPLICATES = 64

#: How many option-table files the cache keeps (the oldest are removed first).
CACHE_ENTRIES = 24

#: Target number of (problem, replicate) matrices scored at once (bounds peak memory).
_BATCH = 1024


class EstimateError(CodecascadeError, ValueError):
    """An estimate cannot be computed as asked (too few samples, bad problems, ...)."""


# ---- draws ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Draws:
    """Which recorded samples and test generations each replicate of one model uses.

    ``samples`` [P, R, K] and ``tests`` [P, R, T] are positions into the model's recorded
    samples / test generations, for the problems ``problems`` (profile indices).
    """

    problems: np.ndarray
    samples: np.ndarray
    tests: np.ndarray
    sampling: str

    @property
    def replicates(self) -> int:
        return int(self.samples.shape[1])


def _model_rng(seed: int, model: str) -> np.random.Generator:
    return np.random.default_rng([int(seed), zlib.crc32(model.encode("utf-8"))])


def _present_tests(profile: Profile, m: int) -> np.ndarray:
    """[P, T] which test generations of model m were recorded."""
    return ((profile.test_line[m] >= 0) | (profile.test_line_tokens[m] > 0)).any(axis=2)


def draw_subsets(
    profile: Profile,
    model: int,
    problems: np.ndarray,
    *,
    k_max: int,
    t_max: int,
    replicates: int,
    seed: int,
    sampling: str,
) -> Draws:
    """The sample and test-generation positions of every replicate (see the module doc).

    Random draws are made for all problems of the profile and then subset, so a problem's
    draws do not depend on which other problems are estimated.
    """
    name = profile.models[model].name
    valid_s = profile.sample_solution[model] >= 0
    valid_t = _present_tests(profile, model)
    n_s = valid_s[problems].sum(axis=1)
    n_t = valid_t[problems].sum(axis=1)
    if sampling == "paper_loops":
        per_loop = profile.models[model].samples_per_loop
        if per_loop <= 0:
            raise EstimateError(f"model {name!r} records no loop structure (samples_per_loop "
                                "is 0), so the paper's loop subsets do not exist")
        if max(k_max, t_max) > per_loop:
            raise EstimateError(f"model {name!r}: k or t up to {max(k_max, t_max)} exceeds "
                                f"the {per_loop} samples of one loop")
        loops = int(min(n_s.min(), n_t.min())) // per_loop
        if loops < 1:
            raise EstimateError(f"model {name!r} has no complete loop of {per_loop} samples "
                                f"and {per_loop} test generations on every problem")
        start = per_loop * np.arange(loops)
        samples = np.broadcast_to(start[:, None] + np.arange(k_max), (len(problems), loops, k_max))
        tests = np.broadcast_to(start[:, None] + np.arange(t_max), (len(problems), loops, t_max))
        return Draws(problems, samples, tests, sampling)
    if sampling != "random":
        raise EstimateError(f"unknown sampling {sampling!r}; known: {SAMPLINGS}")
    if replicates < 1:
        raise EstimateError(f"replicates must be >= 1, got {replicates}")
    for need, have, what in ((k_max, n_s, "samples"), (t_max, n_t, "test generations")):
        short = np.flatnonzero(have < need)
        if short.size:
            p = int(problems[short[0]])
            raise EstimateError(f"model {name!r} has only {int(have[short[0]])} recorded {what} "
                                f"on problem {profile.problems[p]!r}; the option needs {need}")
    rng = _model_rng(seed, name)
    keys_s = rng.random((profile.n_problems, replicates, valid_s.shape[1]))
    keys_t = rng.random((profile.n_problems, replicates, valid_t.shape[1]))
    keys_s = np.where(valid_s[:, None, :], keys_s, 2.0)[problems]
    keys_t = np.where(valid_t[:, None, :], keys_t, 2.0)[problems]
    samples = np.argsort(keys_s, axis=2)[:, :, :k_max]
    tests = np.argsort(keys_t, axis=2)[:, :, :t_max]
    return Draws(problems, samples, tests, sampling)


@dataclass(frozen=True)
class _Gathered:
    """A model's drawn subsets for a chunk of problems, flattened to B = problems × R."""

    solution: np.ndarray  # [B, K] pooled solution ids
    correct: np.ndarray  # [B, K]
    tokens: np.ndarray  # [B, K]
    line: np.ndarray  # [B, T, L] pooled line ids (-1 = not an assert)
    line_tokens: np.ndarray  # [B, T, L]
    problem: np.ndarray  # [B] profile problem index


def _gather(profile: Profile, m: int, draws: Draws, rows: slice, n_l: int) -> _Gathered:
    p = draws.problems[rows]
    s = draws.samples[rows]
    t = draws.tests[rows]
    r = s.shape[1]
    pb = np.repeat(p, r)
    s = s.reshape(len(p) * r, -1)
    t = t.reshape(len(p) * r, -1)
    sol = profile.sample_solution[m][pb[:, None], s]
    line = profile.test_line[m][pb[:, None], t][:, :, :n_l]
    return _Gathered(
        solution=sol,
        correct=profile.solution_correct[pb[:, None], sol],
        tokens=profile.sample_tokens[m][pb[:, None], s].astype(np.float64),
        line=line,
        line_tokens=profile.test_line_tokens[m][pb[:, None], t][:, :, :n_l].astype(np.float64),
        problem=pb,
    )


def _instances(profile: Profile, problem: np.ndarray, solution: np.ndarray,
               line: np.ndarray) -> np.ndarray:
    """Pass matrix instances [B, n_sol, *line.shape[1:]] gathered from the pooled matrix."""
    extra = (1,) * (line.ndim - 1)
    cells = profile.pass_matrix[
        problem.reshape((-1, 1, *extra)),
        solution.reshape(solution.shape + extra),
        np.maximum(line, 0)[:, None],
    ]
    return cells & (line >= 0)[:, None]


# ---- the fast path: all (k, t, l, rule) of a grid at once -----------------------------


def _sampled_scores(
    inst: np.ndarray,
    line_valid: np.ndarray,
    correct: np.ndarray,
    ks: Sequence[int],
    ts: Sequence[int],
    ls: Sequence[int],
    rules: Sequence[str],
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Score every (k, t, l) for each rule from one stack of full matrices.

    ``inst`` [B, K, T, L]: solution a of the replicate on line j of test generation g;
    option (k, t, l) is the sub-matrix a < k, g < t, j < l (columns in (g, j) order).
    Returns rule -> (score, scale, chosen-is-correct), each [B, len(ks), len(ts), len(ls)].
    Prefix sums make this one pass per solution instead of one per option: a row's pass
    count is a 2-d prefix sum over (g, j); in the paper rule a row's best cell is rowsum ×
    the largest column sum among its passing cells, a running maximum over (g, j); the
    chosen row is a running first-maximum over solutions (so the first row wins ties).
    """
    ti = np.asarray(ts) - 1
    li = np.asarray(ls) - 1
    n_b, n_k = inst.shape[:2]
    k_top = max(ks)
    if k_top > n_k:
        raise EstimateError(f"internal: k={k_top} exceeds the {n_k} drawn samples")
    by_row = np.ascontiguousarray(inst.transpose(1, 0, 2, 3))  # [K, B, T, L]
    mi = by_row.astype(np.int16)

    def prefix(x: np.ndarray, op: np.ufunc) -> np.ndarray:
        """op-accumulate over (g, j) of [..., T, L] and keep the (t, l) of the grid."""
        x = op.accumulate(op.accumulate(x, axis=-1), axis=-2)
        return x[..., ti, :][..., li]

    rowsum = prefix(mi, np.add)  # [K, B, nt, nl]
    scale_lines = prefix(line_valid.astype(np.int16), np.add).astype(np.float64)
    shape = (n_b, len(ks), len(ts), len(ls))
    out = {rule: (np.zeros(shape), np.zeros(shape), np.zeros(shape, dtype=bool))
           for rule in rules}

    def record(rule: str, k: int, score: np.ndarray, index: np.ndarray) -> None:
        ki = ks.index(k)
        index = np.where(score > 0, index, k - 1)
        chosen_ok = np.take_along_axis(correct, index.reshape(n_b, -1), axis=1)
        out_score, out_scale, out_ok = out[rule]
        out_score[:, ki] = score
        out_scale[:, ki] = scale_lines if rule == "pass_fraction" else k * scale_lines
        out_ok[:, ki] = chosen_ok.reshape(index.shape)

    def first_max(row_scores) -> tuple[np.ndarray, np.ndarray]:
        best, index = None, None
        for a, row in enumerate(row_scores):
            if best is None:
                best, index = row, np.zeros(row.shape, dtype=np.int64)
                continue
            better = row > best
            best = np.where(better, row, best)
            index = np.where(better, a, index)
        return best, index

    if "pass_fraction" in rules:
        best, index = rowsum[0], np.zeros(rowsum.shape[1:], dtype=np.int64)
        for a in range(k_top):
            if a:
                better = rowsum[a] > best
                best = np.where(better, rowsum[a], best)
                index = np.where(better, a, index)
            if a + 1 in ks:
                record("pass_fraction", a + 1, best, index)
    if "paper" in rules:
        colsum = mi.cumsum(axis=0)
        for k in ks:
            best_cells = (prefix(np.where(by_row[a], colsum[k - 1], 0), np.maximum)
                          for a in range(k))
            record("paper", k, *first_max(rowsum[a] * cell
                                          for a, cell in enumerate(best_cells)))
    if "consensus" in rules:
        group = np.zeros(rowsum.shape, dtype=np.int16)  # same-pattern rows among the first k
        for k in range(1, k_top + 1):
            new = k - 1
            group[new] = 1
            for a in range(new):
                same = ~prefix(by_row[a] != by_row[new], np.logical_or)
                group[a] += same
                group[new] += same
            if k in ks:
                record("consensus", k, *first_max(group[a] * rowsum[a] for a in range(k)))
    return out


@dataclass(frozen=True)
class StageOutcomes:
    """Per-problem a, g, h, c of some options of one model ([O, P] each), the Monte Carlo SE
    of each option's mean h, and optionally the per-replicate outcomes [O, P, R] they
    average (accept, correct as bool, cost in $)."""

    accept: np.ndarray
    accept_correct: np.ndarray
    correct: np.ndarray
    cost: np.ndarray
    accuracy_se: np.ndarray
    replicate_accept: np.ndarray | None = None
    replicate_correct: np.ndarray | None = None
    replicate_cost: np.ndarray | None = None


def _prices(profile: Profile, m: int) -> tuple[float, float]:
    info = profile.models[m]
    return info.price_generated, info.price_prompt


def _greedy_outcomes(profile: Profile, m: int, options: Sequence[StageOption],
                     problems: np.ndarray) -> tuple[np.ndarray, ...]:
    """Exact a, g, h, c [O, P] of k = 0 / k = 1 options: the greedy solution (or, where a
    source has none, each recorded sample with equal weight) and the greedy test lines."""
    price, price_prompt = _prices(profile, m)
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
    line_tokens = profile.greedy_test_line_tokens[m][problems].astype(np.float64)
    prompt = profile.prompt_tokens[m][problems].astype(np.float64)
    test_prompt = profile.test_prompt_tokens[m][problems].astype(np.float64)
    passes = _instances(profile, problems, cand, lines)  # [P, C, L]
    out = [np.zeros((len(options), len(problems))) for _ in range(4)]
    for o, opt in enumerate(options):
        if opt.k == 0:
            accept = np.ones_like(ok, dtype=bool)
            cost = price * sol_tokens + price_prompt * prompt
        else:
            n_lines = (lines[:, : opt.l] >= 0).sum(axis=1)
            score = passes[:, :, : opt.l].sum(axis=2)
            accept = score >= opt.theta * n_lines[:, None].astype(np.float64)
            cost = (price * (sol_tokens + line_tokens[:, : opt.l].sum(axis=1))
                    + price_prompt * (prompt + (test_prompt if opt.l else 0.0)))
        out[0][o] = (accept * weight).sum(axis=1)
        out[1][o] = ((accept & ok) * weight).sum(axis=1)
        out[2][o] = (ok * weight).sum(axis=1)
        out[3][o] = cost
    return tuple(out)


def _expected_sampled_cost(profile: Profile, m: int, klt: Sequence[tuple[int, int, int]],
                           problems: np.ndarray) -> np.ndarray:
    """Exact E[cost] [len(klt), P] of sampled (k, t, l) under random subsets without
    replacement: k × the mean sample's tokens + t × the mean test generation's tokens in
    its first l lines (+ both prompts once)."""
    price, price_prompt = _prices(profile, m)
    valid_s = profile.sample_solution[m][problems] >= 0
    mean_sol = (profile.sample_tokens[m][problems] * valid_s).sum(1) / valid_s.sum(1)
    present = _present_tests(profile, m)[problems]
    per_gen = profile.test_line_tokens[m][problems].astype(np.float64).cumsum(axis=2)
    mean_test = (per_gen * present[:, :, None]).sum(axis=1) / np.maximum(
        present.sum(axis=1), 1)[:, None]  # [P, L]: mean tokens of a generation's first l lines
    k, t, n_l = (np.array(x)[:, None] for x in zip(*klt, strict=True))
    prompts = (profile.prompt_tokens[m][problems] + profile.test_prompt_tokens[m][problems])
    return (price * (k * mean_sol + t * mean_test[:, n_l[:, 0] - 1].T)
            + price_prompt * prompts.astype(np.float64))


def _replicate_cost(price: float, price_prompt: float, g: _Gathered, k: int, t: int, n_l: int,
                    prompt: np.ndarray, test_prompt: np.ndarray) -> np.ndarray:
    """[B] cost of one replicate's actual subset."""
    tokens = g.tokens[:, :k].sum(axis=1) + g.line_tokens[:, :t, :n_l].sum(axis=(1, 2))
    tests_paid = t >= 1 and n_l >= 1
    return price * tokens + price_prompt * (prompt + (test_prompt if tests_paid else 0.0))


def stage_outcomes(
    profile: Profile,
    model: int,
    options: Sequence[StageOption],
    problems: np.ndarray,
    *,
    replicates: int = DEFAULT_REPLICATES,
    seed: int = 0,
    sampling: str = "random",
    keep_replicates: bool = False,
) -> StageOutcomes:
    """a, g, h, c of ``options`` (none sharing tests) for one model on ``problems``.

    ``keep_replicates`` also returns the per-replicate outcomes (for whole-replicate
    simulation); greedy options then repeat their exact values across replicates.
    """
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
        a, g, h, c = _greedy_outcomes(profile, model, [options[i] for i in greedy_rows],
                                      problems)
        accept[greedy_rows], accept_correct[greedy_rows] = a, g
        correct[greedy_rows], cost[greedy_rows] = h, c
    sampled = [options[i] for i in sampled_rows]
    n_r = 0
    rep_accept = rep_correct = rep_cost = None
    if sampled:
        n_r, rep = _sampled_outcomes(profile, model, sampled, problems, replicates, seed,
                                     sampling, keep_replicates)
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
            _greedy_replicates(profile, model, options, greedy_rows, problems, seed, accept,
                               correct, cost, rep_accept, rep_correct, rep_cost)
    return StageOutcomes(
        accept=accept, accept_correct=accept_correct, correct=correct, cost=cost,
        accuracy_se=np.sqrt(se_sum) / n_p,
        replicate_accept=rep_accept, replicate_correct=rep_correct, replicate_cost=rep_cost,
    )


def _sampled_outcomes(
    profile: Profile,
    model: int,
    options: Sequence[StageOption],
    problems: np.ndarray,
    replicates: int,
    seed: int,
    sampling: str,
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
                         replicates=replicates, seed=seed, sampling=sampling)
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
    if sampling == "random":
        cost_c = _expected_sampled_cost(profile, model, klt, problems)[klt_of]
    rep = None
    if keep_replicates:
        rep = (np.zeros((n_o, n_p, n_r), dtype=bool), np.zeros((n_o, n_p, n_r), dtype=bool),
               np.zeros((n_o, n_p, n_r)))
    theta_arr = np.array(thetas)
    # every score and scale is an integer <= k t l: tabulate score >= θ * scale for all of
    # them once (the exact float comparison of method.md §1.4); θ ascending makes the
    # accepted θ a prefix, so a count per (score, scale) says which θ accept
    top = ks[-1] * ts[-1] * ls[-1]
    values = np.arange(top + 1, dtype=np.float64)
    accepted_count = (values[:, None, None] >= theta_arr * values[None, :, None]).sum(axis=2)
    n_bins = len(thetas) + 1
    price, price_prompt = _prices(profile, model)
    chunk = max(1, _BATCH // n_r)
    for start in range(0, n_p, chunk):
        rows = slice(start, min(start + chunk, n_p))
        n_rows = rows.stop - rows.start
        g = _gather(profile, model, draws, rows, ls[-1])
        inst = _instances(profile, g.problem, g.solution, g.line)
        scored = _sampled_scores(inst, g.line >= 0, g.correct, ks, ts, ls, rules)
        score = np.stack([scored[r][0] for r in rules])[c_rule, :, c_k, c_t, c_l]  # [C, B]
        scale = np.stack([scored[r][1] for r in rules])[c_rule, :, c_k, c_t, c_l]
        ok = np.stack([scored[r][2] for r in rules])[c_rule, :, c_k, c_t, c_l]
        ok3 = ok.reshape(n_c, n_rows, n_r)
        h_c[:, rows] = ok3.mean(axis=2)
        if n_r > 1 and sampling == "random":
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
        if keep_replicates or sampling != "random":
            prompt = profile.prompt_tokens[model][g.problem].astype(np.float64)
            test_prompt = profile.test_prompt_tokens[model][g.problem].astype(np.float64)
            rc = np.stack([_replicate_cost(price, price_prompt, g, k, t, n_l, prompt,
                                           test_prompt) for k, t, n_l in klt])[klt_of]
            rc3 = rc.reshape(n_c, n_rows, n_r)
            if sampling != "random":
                cost_c[:, rows] = rc3.mean(axis=2)
            if rep is not None:
                acc_o = score[combo_of] >= theta_arr[theta_of][:, None] * scale[combo_of]
                rep[0][:, rows] = acc_o.reshape(n_o, n_rows, n_r)
                rep[1][:, rows] = ok3[combo_of]
                rep[2][:, rows] = rc3[combo_of]
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
        for o in rows:
            rep_accept[o] = (accept[o] > 0.5)[:, None]
            rep_correct[o] = (correct[o] > 0.5)[:, None]
            rep_cost[o] = cost[o][:, None]
        return
    draws = draw_subsets(profile, model, problems, k_max=1, t_max=0, replicates=n_r,
                         seed=seed, sampling="random")
    plan_rows = [options[o] for o in rows]
    outcome = _generic_replicates(profile, model, plan_rows, draws, extra_lines=None)
    for j, o in enumerate(rows):
        rep_accept[o], rep_correct[o], rep_cost[o] = (x[j] for x in outcome[:3])


# ---- the generic path: any option on explicit matrices ---------------------------------


def _generic_replicates(
    profile: Profile,
    model: int,
    options: Sequence[StageOption],
    draws: Draws,
    extra_lines: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """Per-replicate accept, correct, cost [O, P, R] and own test-line ids ([P, R, n] each)
    of options, scoring each replicate's explicit pass matrix with planner.scoring.

    ``extra_lines`` [P, R, n] are earlier stages' line ids, appended for options with
    ``share_tests``. k <= 1 uses the greedy solution and test generation (a drawn sample
    where the greedy solution is missing).
    """
    n_p, n_r = draws.samples.shape[:2]
    out_a = np.zeros((len(options), n_p, n_r), dtype=bool)
    out_c = np.zeros_like(out_a)
    out_cost = np.zeros(out_a.shape)
    own_lines: list[np.ndarray] = []
    for o, opt in enumerate(options):
        scored = _replicate_scores(profile, model, opt, draws, extra_lines)
        out_a[o] = scored.accept(opt.theta)
        out_c[o] = scored.correct
        out_cost[o] = scored.cost
        own_lines.append(scored.own_lines)
    return out_a, out_c, out_cost, own_lines


@dataclass(frozen=True)
class _Scored:
    """One option's per-replicate outcome before its threshold: the chosen solution's
    ``score`` and ``scale`` (accept iff score >= θ × scale; k = 0 is 1 and 0, so it always
    accepts), whether it is correct, the cost, and the stage's own test-line ids; [P, R]
    each ([P, R, n] for the lines)."""

    score: np.ndarray
    scale: np.ndarray
    correct: np.ndarray
    cost: np.ndarray
    own_lines: np.ndarray

    def accept(self, theta: float) -> np.ndarray:
        return self.score >= theta * self.scale


def _replicate_scores(profile: Profile, model: int, opt: StageOption, draws: Draws,
                      extra_lines: np.ndarray | None) -> _Scored:
    """:class:`_Scored` of one option on every replicate of ``draws`` (see
    :func:`_generic_replicates`); θ plays no part, so one call serves every θ."""
    m = model
    p_idx = draws.problems
    n_p, n_r = draws.samples.shape[:2]
    price, price_prompt = _prices(profile, m)
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
        matrix = _instances(profile, pb, sol, all_lines)
        index, score, scale = select_batch(matrix, all_lines >= 0, opt.rule)
    chosen = sol[np.arange(len(pb)), index]
    tests_paid = opt.k >= 1 and (opt.k == 1 or opt.t >= 1) and opt.l >= 1
    cost = (price * (sol_tokens + line_tokens)
            + price_prompt * (prompt + (test_prompt if tests_paid else 0.0)))
    return _Scored(
        score=np.asarray(score, dtype=np.float64).reshape(n_p, n_r),
        scale=np.asarray(scale, dtype=np.float64).reshape(n_p, n_r),
        correct=profile.solution_correct[pb, chosen].reshape(n_p, n_r),
        cost=cost.reshape(n_p, n_r),
        own_lines=lines.reshape(n_p, n_r, -1),
    )


# ---- option tables -------------------------------------------------------------------


def problem_index(profile: Profile, problems: Sequence[int] | np.ndarray | None) -> np.ndarray:
    if problems is None:
        return np.arange(profile.n_problems)
    idx = np.asarray(problems)
    if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
        raise EstimateError("problems must be a non-empty list of problem indices")
    if idx.min() < 0 or idx.max() >= profile.n_problems:
        raise EstimateError(f"problem indices must be in 0..{profile.n_problems - 1}")
    return idx.astype(np.int64)


def cache_dir() -> Path:
    """Where option tables are cached: ``$CODECASCADE_CACHE``, else
    ``$XDG_CACHE_HOME/codecascade``, else ``~/.cache/codecascade``."""
    env = os.environ.get("CODECASCADE_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "codecascade"


def _cache_key(profile: Profile, grid: Grid, problems: np.ndarray, replicates: int,
               seed: int) -> str:
    key = {
        "version": ESTIMATOR_VERSION,
        "profile": profile.fingerprint(),
        "grid": grid.to_json(),
        "problems": problems.tolist(),
        "replicates": replicates if grid.sampling == "random" else 0,
        "seed": seed if grid.sampling == "random" else 0,
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]


def _load_cached(path: Path, profile: Profile, grid: Grid,
                 problems: np.ndarray) -> list[OptionTable] | None:
    try:
        with np.load(path, allow_pickle=False) as npz:
            tables = []
            for m, info in enumerate(profile.models):
                options = feasible_options(profile, m, grid)
                arrays = {n: npz[f"{m}_{n}"] for n in ("accept", "accept_correct", "correct",
                                                       "cost", "accuracy_se")}
                tables.append(OptionTable(model=info.name, options=options,
                                          problems=tuple(profile.problems[i] for i in problems),
                                          **arrays))
            return tables
    except (OSError, KeyError, ValueError, CodecascadeError):
        return None


def _store_cached(path: Path, tables: Sequence[OptionTable]) -> None:
    arrays = {}
    for m, table in enumerate(tables):
        for name in ("accept", "accept_correct", "correct", "cost", "accuracy_se"):
            arrays[f"{m}_{name}"] = getattr(table, name)
    try:
        with atomic_write(path) as fh:
            np.savez(fh, **arrays)
    except OSError:
        return  # an unwritable cache only costs time
    # keep the cache bounded: drop the least recently written entries
    entries = sorted(path.parent.glob("tables-*.npz"), key=_mtime)
    for old in entries[:-CACHE_ENTRIES]:
        old.unlink(missing_ok=True)


def feasible_options(profile: Profile, model: int, grid: Grid) -> tuple[StageOption, ...]:
    """The grid's options that ``model``'s recordings can support on every problem: k and
    t within the recorded samples and test generations (within one loop for the paper's
    loop subsets), and k = 1 only if the model has greedy test lines. EstimateError if
    nothing is left."""
    info = profile.models[model]
    if grid.sampling == "paper_loops":
        k_cap = t_cap = info.samples_per_loop
    else:
        k_cap = int(profile.n_samples[model].min())
        t_cap = int(profile.n_test_generations[model].min())
    has_greedy_tests = bool((profile.greedy_test_line[model] >= 0).any())
    options = tuple(
        o for o in grid.options_for(info.name)
        if o.k == 0 or (o.k == 1 and has_greedy_tests) or (2 <= o.k <= k_cap and o.t <= t_cap)
    )
    if not options:
        raise EstimateError(f"model {info.name!r} supports no option of grid {grid.name!r} "
                            f"({k_cap} samples and {t_cap} test generations recorded)")
    return options


def _mtime(path: Path) -> float:
    """Modification time, or 0 for a file another process just removed."""
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


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
    model's recordings support (:func:`feasible_options`).

    Tables are cached on disk (:func:`cache_dir`), keyed by the profile's fingerprint, the
    grid, the problems, R and the seed; pass ``cache=False`` to always recompute.
    """
    idx = problem_index(profile, problems)
    path = cache_dir() / f"tables-{_cache_key(profile, grid, idx, replicates, seed)}.npz"
    if cache and path.is_file():
        cached = _load_cached(path, profile, grid, idx)
        if cached is not None:
            return cached
    tables = []
    for m, info in enumerate(profile.models):
        options = feasible_options(profile, m, grid)
        out = stage_outcomes(profile, m, options, idx, replicates=replicates, seed=seed,
                             sampling=grid.sampling)
        tables.append(OptionTable(
            model=info.name, options=options, accept=out.accept,
            accept_correct=out.accept_correct, correct=out.correct, cost=out.cost,
            problems=tuple(profile.problems[i] for i in idx), accuracy_se=out.accuracy_se,
        ))
    if cache:
        _store_cached(path, tables)
    return tables


# ---- plans ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Simulation:
    """Whole-replicate outcomes of a plan: per problem and replicate, accuracy (0/1) and
    cost ($), and which stage answered; [P, R] each."""

    correct: np.ndarray
    cost: np.ndarray
    answered_by: np.ndarray
    problems: np.ndarray


class PlanSimulator:
    """Whole-replicate simulation of many plans on the same problems and replicates.

    Each replicate r uses model m's replicate-r subsets (the same draws as
    :func:`option_tables`); a stage with ``share_tests`` also runs its solutions on the
    test lines the earlier stages paid for in that replicate; the first stage that accepts
    answers (the last always does). ``paper_loops``: replicate r is loop r for every model,
    the paper's own protocol. Draws and each stage's scored outcome are cached (a bounded
    number of them) and θ is applied afterwards, so plans that differ in one stage or in a
    threshold cost little more than one. :func:`simulate_plan` is one call of it.
    """

    def __init__(self, profile: Profile, problems: Sequence[int] | np.ndarray | None = None,
                 replicates: int = DEFAULT_REPLICATES, seed: int = 0,
                 sampling: str = "random", *, max_cached: int = 256) -> None:
        self.profile = profile
        self.problems = problem_index(profile, problems)
        self.replicates = replicates
        self.seed = seed
        self.sampling = sampling
        self.max_cached = max(1, max_cached)
        self._draws: dict[tuple[int, int, int], Draws] = {}
        self._scored: dict[tuple, _Scored] = {}
        self._lines: dict[tuple[int, int, int, int], np.ndarray] = {}

    def _stage_draws(self, m: int, opt: StageOption) -> Draws:
        greedy_missing = bool((self.profile.greedy_solution[m][self.problems] < 0).any())
        key = (m, opt.k if opt.k >= 2 else int(greedy_missing), opt.t if opt.k >= 2 else 0)
        if key not in self._draws:
            self._draws[key] = draw_subsets(
                self.profile, m, self.problems, k_max=key[1], t_max=key[2],
                replicates=self.replicates, seed=self.seed, sampling=self.sampling)
        return self._draws[key]

    def _stage(self, m: int, opt: StageOption, earlier: tuple) -> _Scored:
        """The scored stage; ``earlier`` = (model, k, t, l) of the stages before it, which
        fixes the test lines a sharing stage sees."""
        key = (m, opt.k, opt.t, opt.l, opt.rule, opt.share_tests,
               earlier if opt.share_tests else ())
        hit = self._scored.pop(key, None)
        if hit is None:
            extra = None
            if opt.share_tests and earlier:
                extra = np.concatenate([self._own_lines(*e) for e in earlier], axis=2)
            hit = _replicate_scores(self.profile, m, opt, self._stage_draws(m, opt), extra)
            _bounded_put(self._lines, (m, opt.k, opt.t, opt.l), hit.own_lines,
                         self.max_cached)
        _bounded_put(self._scored, key, hit, self.max_cached)
        return hit

    def _own_lines(self, m: int, k: int, t: int, n_l: int) -> np.ndarray:
        """The test-line ids [P, R, n] a stage (model m, k, t, l) paid for."""
        lines = self._lines.get((m, k, t, n_l))
        if lines is None:
            lines = self._stage(m, StageOption(k=k, t=t, l=n_l), ()).own_lines
        return lines

    def simulate(self, plan: CascadePlan) -> Simulation:
        """Per problem and replicate: correct, cost and which stage answered."""
        per_stage = []
        earlier: list[tuple[int, int, int, int]] = []
        for stage in plan.stages:
            m = self.profile.model_index(stage.model)
            opt = stage.option
            per_stage.append((self._stage(m, opt, tuple(earlier)), opt.theta))
            earlier.append((m, opt.k, opt.t, opt.l))
        shapes = {scored.score.shape for scored, _ in per_stage}
        if len(shapes) != 1:
            raise EstimateError("the models of this plan have different numbers of loops")
        shape = shapes.pop()
        open_ = np.ones(shape, dtype=bool)
        correct = np.zeros(shape, dtype=bool)
        cost = np.zeros(shape)
        answered = np.full(shape, -1, dtype=np.int64)
        last = len(per_stage) - 1
        for i, (scored, theta) in enumerate(per_stage):
            cost += np.where(open_, scored.cost, 0.0)
            take = open_ if i == last else open_ & scored.accept(theta)
            correct |= take & scored.correct
            answered[take] = i
            open_ &= ~take
        return Simulation(correct=correct, cost=cost, answered_by=answered,
                          problems=self.problems)


def _bounded_put(cache: dict, key: object, value: object, limit: int) -> None:
    """Insert as most recently used; drop the least recently used beyond ``limit``."""
    cache.pop(key, None)
    if len(cache) >= limit:
        cache.pop(next(iter(cache)))
    cache[key] = value


def simulate_plan(
    profile: Profile,
    plan: CascadePlan,
    problems: Sequence[int] | np.ndarray | None = None,
    replicates: int = DEFAULT_REPLICATES,
    seed: int = 0,
    sampling: str = "random",
) -> Simulation:
    """Run ``plan`` on every replicate (see :class:`PlanSimulator`)."""
    return PlanSimulator(profile, problems, replicates, seed, sampling).simulate(plan)


@dataclass(frozen=True)
class PlanEstimate:
    """A plan's estimated mean accuracy (fraction) and cost ($ per problem) on some
    problems, with confidence intervals from resampling problems (``interval`` names the
    kind), Monte Carlo standard errors, per-problem values and each stage's reach (share
    of problems that get to it)."""

    plan: CascadePlan
    accuracy: float
    cost: float
    accuracy_ci: tuple[float, float]
    cost_ci: tuple[float, float]
    accuracy_mc_se: float
    cost_mc_se: float
    per_problem_accuracy: np.ndarray
    per_problem_cost: np.ndarray
    stage_reach: tuple[float, ...]
    problems: tuple[str, ...]
    method: str
    interval: str
    confidence: float
    replicates: int
    seed: int

    def to_json(self) -> dict[str, object]:
        return {
            "plan": self.plan.label(),
            "accuracy": self.accuracy,
            "accuracy_ci": list(self.accuracy_ci),
            "accuracy_mc_se": self.accuracy_mc_se,
            "cost": self.cost,
            "cost_ci": list(self.cost_ci),
            "cost_mc_se": self.cost_mc_se,
            "stage_reach": list(self.stage_reach),
            "n_problems": len(self.problems),
            "method": self.method,
            "interval": self.interval,
            "confidence": self.confidence,
            "replicates": self.replicates,
            "seed": self.seed,
        }


def estimate_plan(
    profile: Profile,
    plan: CascadePlan,
    problems: Sequence[int] | np.ndarray | None = None,
    replicates: int = DEFAULT_REPLICATES,
    seed: int = 0,
    sampling: str = "random",
    *,
    confidence: float = 0.95,
    n_boot: int = 2000,
) -> PlanEstimate:
    """Accuracy and cost of ``plan`` with intervals (see the module docstring).

    Independent stages under random sampling: the exact cascade formula on the stages'
    a, g, h, c (the numbers :func:`option_tables` gives); its Monte Carlo SE is estimated
    from the replicate-matched cascade (conservative). Test sharing or ``paper_loops``:
    whole-replicate simulation, averaged (for paper loops this is exact, SE 0).
    """
    from .intervals import INTERVAL_KIND, bootstrap_ci

    if sampling not in SAMPLINGS:
        raise EstimateError(f"unknown sampling {sampling!r}; known: {SAMPLINGS}")
    idx = problem_index(profile, problems)
    for stage in plan.stages:
        profile.model_index(stage.model)
    sharing = any(s.option.share_tests for s in plan.stages)
    if sharing or sampling == "paper_loops":
        sim = simulate_plan(profile, plan, idx, replicates, seed, sampling)
        acc_p = sim.correct.mean(axis=1)
        cost_p = sim.cost.mean(axis=1)
        n_r = sim.correct.shape[1]
        reach = tuple(float((sim.answered_by >= i).mean()) for i in range(len(plan.stages)))
        if sampling == "paper_loops":
            acc_se = cost_se = 0.0
            method = "paper loops: per-loop cascade, averaged over loops"
        else:
            acc_se = _replicate_se(sim.correct.mean(axis=0))
            cost_se = _replicate_se(sim.cost.mean(axis=0))
            method = "whole-replicate simulation (test sharing)"
    else:
        outcomes = []
        for stage in plan.stages:
            m = profile.model_index(stage.model)
            outcomes.append(stage_outcomes(profile, m, [stage.option], idx,
                                           replicates=replicates, seed=seed,
                                           keep_replicates=True))
        acc_p, cost_p, reach_p = cascade_arrays(
            [(o.accept[0], o.accept_correct[0], o.correct[0], o.cost[0]) for o in outcomes])
        reach = tuple(float(r.mean()) for r in reach_p)
        rep = [(o.replicate_accept[0], o.replicate_accept[0] & o.replicate_correct[0],
                o.replicate_correct[0], o.replicate_cost[0]) for o in outcomes]
        n_r = max(o.replicate_accept.shape[2] for o in outcomes)
        if n_r > 1 and any(s.option.k >= 2 for s in plan.stages):
            rep_acc, rep_cost, _ = cascade_arrays(rep)
            acc_se = _replicate_se(rep_acc.mean(axis=0))
            cost_se = _replicate_se(rep_cost.mean(axis=0))
        else:
            acc_se = cost_se = 0.0
        method = "exact cascade formula (independent stages)"
    both = np.stack([acc_p, cost_p], axis=1)
    lo, hi = bootstrap_ci(both, confidence=confidence, n_boot=n_boot, seed=seed)
    return PlanEstimate(
        plan=plan, accuracy=float(acc_p.mean()), cost=float(cost_p.mean()),
        accuracy_ci=(float(lo[0]), float(hi[0])), cost_ci=(float(lo[1]), float(hi[1])),
        accuracy_mc_se=float(acc_se), cost_mc_se=float(cost_se),
        per_problem_accuracy=acc_p, per_problem_cost=cost_p, stage_reach=reach,
        problems=tuple(profile.problems[i] for i in idx), method=method,
        interval=INTERVAL_KIND, confidence=confidence, replicates=n_r, seed=seed,
    )


def cascade_arrays(
    stages: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Cascade formula on (a, g, h, c) arrays of any equal shape; also each stage's reach."""
    reach = np.ones_like(stages[0][0], dtype=np.float64)
    accuracy = np.zeros_like(reach)
    cost = np.zeros_like(reach)
    reaches = []
    for i, (a, g, h, c) in enumerate(stages):
        reaches.append(reach.copy())
        cost = cost + reach * c
        if i == len(stages) - 1:
            accuracy = accuracy + reach * h
        else:
            accuracy = accuracy + reach * g
            reach = reach * (1.0 - a)
    return accuracy, cost, reaches


def _replicate_se(per_replicate_means: np.ndarray) -> float:
    """SE of the mean of replicate-level means."""
    n = per_replicate_means.size
    return float(per_replicate_means.std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0
