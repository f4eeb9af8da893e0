"""Tiny random profiles and brute-force references for the estimator tests."""

from __future__ import annotations

import itertools

import numpy as np

from planner.options import StageOption
from planner.profile import ModelInfo, Profile
from planner.scoring import select_solution


def tiny_profile(seed: int, n_problems: int = 2, n_samples: int = 4, n_tests: int = 3,
                 n_positions: int = 2, n_pool: int = 4, n_lines: int = 4,
                 greedy: bool = True, p_pass: float = 0.6,
                 p_informative: float = 1.0) -> Profile:
    """One model with a handful of samples and test generations per problem; each pooled
    line is informative (its verdict depends on the solution) with ``p_informative``."""
    rng = np.random.default_rng(seed)
    P, N, T, L, S, Q = n_problems, n_samples, n_tests, n_positions, n_pool, n_lines
    sample_solution = rng.integers(0, S, size=(1, P, N)).astype(np.int32)
    test_line = rng.integers(-1, Q, size=(1, P, T, L)).astype(np.int32)
    greedy_test_line = rng.integers(-1, Q, size=(1, P, L)).astype(np.int32)
    return Profile(
        models=(ModelInfo("m", price_generated=1e-3, price_prompt=1e-4, samples_per_loop=2),),
        problems=tuple(f"p{i}" for i in range(P)),
        sample_solution=sample_solution,
        sample_tokens=rng.integers(1, 50, size=(1, P, N)).astype(np.int32),
        greedy_solution=(rng.integers(0, S, size=(1, P)) if greedy
                         else np.full((1, P), -1)).astype(np.int32),
        greedy_tokens=rng.integers(1, 50, size=(1, P)).astype(np.int32),
        test_line=test_line,
        test_line_tokens=rng.integers(1, 9, size=(1, P, T, L)).astype(np.int32),
        greedy_test_line=greedy_test_line,
        greedy_test_line_tokens=rng.integers(1, 9, size=(1, P, L)).astype(np.int32),
        prompt_tokens=rng.integers(10, 20, size=(1, P)).astype(np.int32),
        test_prompt_tokens=rng.integers(10, 20, size=(1, P)).astype(np.int32),
        n_solutions=np.full(P, S, dtype=np.int32),
        n_lines=np.full(P, Q, dtype=np.int32),
        solution_correct=rng.random((P, S)) < 0.5,
        line_holds_reference=rng.random((P, Q)) < 0.7,
        pass_matrix=rng.random((P, S, Q)) < p_pass,
        line_informative=rng.random((P, Q)) < p_informative,
    )


def enumerate_option(profile: Profile, option: StageOption, problem: int
                     ) -> tuple[float, float, float, float]:
    """Exact a, g, h, c of a sampled option on one problem by enumerating every ordered
    choice of k samples and t test generations (uniform, without replacement)."""
    m, p = 0, problem
    info = profile.models[0]
    n_s = profile.sample_solution.shape[2]
    n_t = profile.test_line.shape[2]
    totals = np.zeros(4)
    count = 0
    for sols in itertools.permutations(range(n_s), option.k):
        for gens in itertools.permutations(range(n_t), option.t):
            ids = profile.sample_solution[m, p, list(sols)]
            lines = profile.test_line[m, p, list(gens), : option.l].ravel()
            lines = lines[lines >= 0]
            if option.rule != "paper":  # the project's own rules count informative lines
                lines = lines[profile.line_informative[p, lines]]
            matrix = profile.pass_matrix[p][np.ix_(ids, lines)]
            index, score, scale = select_solution(matrix, option.rule)
            accept = score >= option.theta * scale
            ok = bool(profile.solution_correct[p, ids[index]])
            tokens = (profile.sample_tokens[m, p, list(sols)].sum()
                      + profile.test_line_tokens[m, p, list(gens), : option.l].sum())
            cost = info.price_generated * tokens + info.price_prompt * (
                profile.prompt_tokens[m, p] + profile.test_prompt_tokens[m, p])
            totals += (accept, accept and ok, ok, cost)
            count += 1
    return tuple(totals / count)
