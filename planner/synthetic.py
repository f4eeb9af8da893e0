"""Small random profiles with realistic structure, for tests and benchmarks.

Each problem has a difficulty, each model a skill; a sample is correct with a probability
that grows with skill and falls with difficulty. Identical texts are shared by drawing
samples from a small pool of distinct "programs" per problem. A test line holds for the
reference with probability ``p_valid``; a correct solution passes exactly the valid lines,
a wrong one passes each line with a probability of its own (some wrong programs agree with
many tests, as real ones do). Every line's verdict depends on the solution
(``line_informative`` is all True).
"""

from __future__ import annotations

import numpy as np

from .profile import ModelInfo, Profile


def synthetic_profile(
    n_models: int = 3,
    n_problems: int = 40,
    n_samples: int = 20,
    n_tests: int = 20,
    n_line_positions: int = 5,
    samples_per_loop: int = 10,
    p_valid: float = 0.8,
    seed: int = 0,
) -> Profile:
    """A random profile with ``n_models`` models of increasing skill and price."""
    rng = np.random.default_rng(seed)
    M, P, N, T, L = n_models, n_problems, n_samples, n_tests, n_line_positions
    skills = np.linspace(-0.5, 1.5, M) if M > 1 else np.array([0.5])
    difficulty = rng.normal(0.0, 1.5, size=P)

    # Per problem: a pool of distinct programs, one correct "family" plus wrong variants.
    n_programs = 6 + M * 4
    n_distinct_lines = 12 + M * 6
    S = n_programs
    Q = n_distinct_lines
    solution_correct = np.zeros((P, S), dtype=bool)
    line_holds = rng.random((P, Q)) < p_valid
    pass_matrix = np.zeros((P, S, Q), dtype=bool)
    n_correct_programs = 2
    solution_correct[:, :n_correct_programs] = True
    pass_matrix[:, :n_correct_programs, :] = line_holds[:, None, :]
    wrong_rate = rng.beta(2.0, 2.0, size=(P, S - n_correct_programs))
    pass_matrix[:, n_correct_programs:, :] = (
        rng.random((P, S - n_correct_programs, Q)) < wrong_rate[:, :, None]
    )
    # A wrong program can still pass an invalid line, and a few wrong ones pass nothing.
    pass_matrix[:, -1, :] = False

    sample_solution = np.full((M, P, N), -1, dtype=np.int32)
    sample_tokens = np.zeros((M, P, N), dtype=np.int32)
    greedy_solution = np.zeros((M, P), dtype=np.int32)
    greedy_tokens = np.zeros((M, P), dtype=np.int32)
    test_line = np.full((M, P, T, L), -1, dtype=np.int32)
    test_line_tokens = np.zeros((M, P, T, L), dtype=np.int32)
    greedy_test_line = np.full((M, P, L), -1, dtype=np.int32)
    greedy_test_line_tokens = np.zeros((M, P, L), dtype=np.int32)
    base_tokens = rng.integers(60, 300, size=P)
    line_tok = rng.integers(15, 45, size=(P, Q))
    for m in range(M):
        p_correct = 1.0 / (1.0 + np.exp(-(skills[m] - difficulty)))
        is_correct = rng.random((P, N)) < p_correct[:, None]
        right = rng.integers(0, n_correct_programs, size=(P, N))
        wrong = rng.integers(n_correct_programs, S, size=(P, N))
        sample_solution[m] = np.where(is_correct, right, wrong)
        sample_tokens[m] = base_tokens[:, None] + rng.integers(-20, 40, size=(P, N))
        greedy_correct = p_correct > 0.5
        greedy_solution[m] = np.where(greedy_correct, 0, n_correct_programs)
        greedy_tokens[m] = base_tokens
        # Stronger models write more valid lines: favour lines that hold for the reference.
        weights = np.where(line_holds, 1.0 + skills[m] + 1.0, 1.0)
        weights = weights / weights.sum(axis=1, keepdims=True)
        for p in range(P):
            ids = rng.choice(Q, size=(T + 1, L), p=weights[p])
            not_assert = rng.random((T + 1, L)) < 0.05
            ids = np.where(not_assert, -1, ids)
            toks = np.where(ids >= 0, line_tok[p][np.maximum(ids, 0)], 8)
            test_line[m, p] = ids[:T]
            test_line_tokens[m, p] = toks[:T]
            greedy_test_line[m, p] = ids[T]
            greedy_test_line_tokens[m, p] = toks[T]

    models = tuple(
        ModelInfo(
            name=f"model-{m}",
            price_generated=float(2e-6 * (3.5**m)),
            samples_per_loop=samples_per_loop,
            source="synthetic",
        )
        for m in range(M)
    )
    return Profile(
        models=models,
        problems=tuple(f"synthetic/{p}" for p in range(P)),
        sample_solution=sample_solution,
        sample_tokens=sample_tokens,
        greedy_solution=greedy_solution,
        greedy_tokens=greedy_tokens,
        test_line=test_line,
        test_line_tokens=test_line_tokens,
        greedy_test_line=greedy_test_line,
        greedy_test_line_tokens=greedy_test_line_tokens,
        prompt_tokens=np.full((M, P), 150, dtype=np.int32),
        test_prompt_tokens=np.full((M, P), 170, dtype=np.int32),
        n_solutions=np.full(P, S, dtype=np.int32),
        n_lines=np.full(P, Q, dtype=np.int32),
        solution_correct=solution_correct,
        line_holds_reference=line_holds,
        pass_matrix=pass_matrix,
        provenance={"source": "synthetic", "seed": seed},
        line_informative=np.ones((P, Q), dtype=bool),
    )
