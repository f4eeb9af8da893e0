"""What a stage costs (docs/method.md §1.6 and §2.4): the one stage-cost function.

A stage pays its model's price per generated token for the solutions' tokens and the kept
test lines' tokens, and its price per prompt token for the solution prompt and, when it
asks for tests (k >= 1), the test prompt. Every cost the estimator computes — greedy
stages, the exact expectation of sampled stages, one replicate's actual subset — is
:func:`stage_cost` on the matching token counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..profile import Profile
from .draws import present_tests


@dataclass(frozen=True)
class Prices:
    """A model's prices in $ per token: generated tokens and prompt tokens."""

    generated: float
    prompt: float

    @classmethod
    def of(cls, profile: Profile, m: int) -> Prices:
        info = profile.models[m]
        return cls(info.price_generated, info.price_prompt)


def stage_cost(prices: Prices, solution_tokens: np.ndarray | float,
               test_tokens: np.ndarray | float, prompt_tokens: np.ndarray,
               test_prompt_tokens: np.ndarray, pays_tests: bool | np.ndarray) -> np.ndarray:
    """Cost in $ of a stage: ``generated × (solution_tokens + test_tokens) + prompt ×
    (prompt_tokens + test_prompt_tokens where pays_tests)``; token counts (float64) and
    ``pays_tests`` (whether the stage asks for tests: k >= 1) in broadcastable shapes."""
    prompts = prompt_tokens + np.where(pays_tests, test_prompt_tokens, 0.0)
    return prices.generated * (solution_tokens + test_tokens) + prices.prompt * prompts


def expected_sampled_cost(profile: Profile, m: int, klt: Sequence[tuple[int, int, int]],
                          problems: np.ndarray) -> np.ndarray:
    """Exact E[cost] [len(klt), P] of sampled (k, t, l) under random subsets without
    replacement: k × the mean sample's tokens + t × the mean test generation's tokens in
    its first l lines (+ both prompts once)."""
    valid_s = profile.sample_solution[m][problems] >= 0
    mean_sol = (profile.sample_tokens[m][problems] * valid_s).sum(1) / valid_s.sum(1)
    present = present_tests(profile, m)[problems]
    per_gen = profile.test_line_tokens[m][problems].astype(np.float64).cumsum(axis=2)
    mean_test = (per_gen * present[:, :, None]).sum(axis=1) / np.maximum(
        present.sum(axis=1), 1)[:, None]  # [P, L]: mean tokens of a generation's first l lines
    k, t, n_l = (np.array(x)[:, None] for x in zip(*klt, strict=True))
    return stage_cost(Prices.of(profile, m), k * mean_sol, t * mean_test[:, n_l[:, 0] - 1].T,
                      profile.prompt_tokens[m][problems].astype(np.float64),
                      profile.test_prompt_tokens[m][problems].astype(np.float64), True)
