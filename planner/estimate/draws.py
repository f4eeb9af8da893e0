"""Draws: which recorded samples and test generations each replicate of a model uses.

Random subsets (docs/method.md §3.2) use common random numbers: one random permutation of a
model's samples and one of its test generations per (problem, replicate), drawn for every
problem of the profile from a generator seeded by (seed, model name), so that option
(k, t, l) takes the first k and first t of the same permutation as every other option, and
a problem's draws do not depend on which other problems are estimated. The paper's loops
are fixed positions. :func:`gather` then looks the drawn positions up in the profile,
:func:`counted_lines` says which of their lines a scoring rule counts and
:func:`pass_instances` builds their pass matrices.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from ..profile import Profile
from ..testlines import counts_every_line
from ..vocabulary import SamplingMethod, ScoringRule
from .sampling import EstimateError, Sampling


@dataclass(frozen=True)
class Draws:
    """Which recorded samples and test generations each replicate of one model uses.

    ``samples`` [P, R, K] and ``tests`` [P, R, T] are positions into the model's recorded
    samples / test generations, for the problems ``problems`` (profile indices), drawn as
    ``sampling`` says (R is the number of loops for the paper's loops).
    """

    problems: np.ndarray
    samples: np.ndarray
    tests: np.ndarray
    sampling: Sampling

    @property
    def replicates(self) -> int:
        return int(self.samples.shape[1])


def _model_rng(seed: int, model: str) -> np.random.Generator:
    return np.random.default_rng([int(seed), zlib.crc32(model.encode("utf-8"))])


def present_tests(profile: Profile, m: int) -> np.ndarray:
    """[P, T] which test generations of model m were recorded."""
    return ((profile.test_line[m] >= 0) | (profile.test_line_tokens[m] > 0)).any(axis=2)


def draw_subsets(
    profile: Profile,
    model: int,
    problems: np.ndarray,
    *,
    k_max: int,
    t_max: int,
    sampling: Sampling | SamplingMethod | str = SamplingMethod.RANDOM,
    replicates: int | None = None,
    seed: int | None = None,
) -> Draws:
    """The sample and test-generation positions of every replicate (see the module doc).

    ``sampling`` is a :class:`Sampling`, or its method with ``replicates`` and ``seed``.
    EstimateError if the model's recordings cannot supply k_max samples or t_max test
    generations on some problem (or, for the paper's loops, no complete loop).
    """
    sampling = Sampling.of(sampling, replicates, seed)
    name = profile.models[model].name
    valid_s = profile.sample_solution[model] >= 0
    valid_t = present_tests(profile, model)
    n_s = valid_s[problems].sum(axis=1)
    n_t = valid_t[problems].sum(axis=1)
    if not sampling.is_random:
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
    for need, have, what in ((k_max, n_s, "samples"), (t_max, n_t, "test generations")):
        short = np.flatnonzero(have < need)
        if short.size:
            p = int(problems[short[0]])
            raise EstimateError(f"model {name!r} has only {int(have[short[0]])} recorded {what} "
                                f"on problem {profile.problems[p]!r}; the option needs {need}")
    sampling.check_memory(profile)
    rng = _model_rng(sampling.seed, name)
    keys_s = rng.random((profile.n_problems, sampling.replicates, valid_s.shape[1]))
    keys_t = rng.random((profile.n_problems, sampling.replicates, valid_t.shape[1]))
    keys_s = np.where(valid_s[:, None, :], keys_s, 2.0)[problems]
    keys_t = np.where(valid_t[:, None, :], keys_t, 2.0)[problems]
    samples = np.argsort(keys_s, axis=2)[:, :, :k_max]
    tests = np.argsort(keys_t, axis=2)[:, :, :t_max]
    return Draws(problems, samples, tests, sampling)


@dataclass(frozen=True)
class Gathered:
    """A model's drawn subsets for a chunk of problems, flattened to B = problems × R."""

    solution: np.ndarray  # [B, K] pooled solution ids
    correct: np.ndarray  # [B, K]
    tokens: np.ndarray  # [B, K]
    line: np.ndarray  # [B, T, L] pooled line ids (-1 = not an assert)
    line_tokens: np.ndarray  # [B, T, L]
    problem: np.ndarray  # [B] profile problem index


def gather(profile: Profile, m: int, draws: Draws, rows: slice, n_l: int) -> Gathered:
    """The drawn samples and the first ``n_l`` lines of the drawn test generations of the
    problems ``rows`` of ``draws`` (model m)."""
    p = draws.problems[rows]
    s = draws.samples[rows]
    t = draws.tests[rows]
    r = s.shape[1]
    pb = np.repeat(p, r)
    s = s.reshape(len(p) * r, -1)
    t = t.reshape(len(p) * r, -1)
    sol = profile.sample_solution[m][pb[:, None], s]
    line = profile.test_line[m][pb[:, None], t][:, :, :n_l]
    return Gathered(
        solution=sol,
        correct=profile.solution_correct[pb[:, None], sol],
        tokens=profile.sample_tokens[m][pb[:, None], s].astype(np.float64),
        line=line,
        line_tokens=profile.test_line_tokens[m][pb[:, None], t][:, :, :n_l].astype(np.float64),
        problem=pb,
    )


def pass_instances(profile: Profile, problem: np.ndarray, solution: np.ndarray,
                   line: np.ndarray) -> np.ndarray:
    """Pass matrix instances [B, n_sol, *line.shape[1:]] gathered from the pooled matrix
    (False where the line id is -1, not an assert)."""
    extra = (1,) * (line.ndim - 1)
    cells = profile.pass_matrix[
        problem.reshape((-1, 1, *extra)),
        solution.reshape(solution.shape + extra),
        np.maximum(line, 0)[:, None],
    ]
    return cells & (line >= 0)[:, None]


def counted_lines(profile: Profile, problem: np.ndarray, line: np.ndarray,
                  rule: ScoringRule) -> np.ndarray:
    """The pooled line ids [B, ...] of ``line`` (problems ``problem`` [B]) that ``rule``
    counts as test lines, -1 elsewhere: every assert line under the ``paper`` rule; under
    the project's own rules (``pass_fraction``, ``consensus``) the profile's
    ``line_informative`` mask leaves solution-independent lines out, as ``codecascade
    run`` does (:func:`planner.testlines.counts_every_line`). A line left out is still a
    line position whose tokens are paid. EstimateError when the rule needs the mask and
    the profile has none (a profile written before it existed)."""
    if counts_every_line(rule):
        return line
    mask = profile.line_informative
    if mask is None:
        raise EstimateError(
            f"the {rule} rule leaves out test lines that cannot fail, and this profile does "
            "not say which they are (it was built before codecascade recorded it): add the "
            "mask with `codecascade measure OUTPUT --line-mask-of PROFILE` and the profile's "
            "sources, or use the paper rule")
    extra = (1,) * (line.ndim - 1)
    keep = mask[problem.reshape((-1, *extra)), np.maximum(line, 0)]
    return np.where(keep, line, -1)
