"""Token accounting: splitting a reported total over choices or lines.

Endpoints report generated tokens per request. Per-line counts are exact when the endpoint
returns the tokens themselves (logprobs): a token belongs to the line in which it starts.
Otherwise the generation's total is apportioned over its lines by characters, and the
record says so (``tokens_estimated``).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence


def apportion(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder)."""
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

    With ``token_starts`` (sorted offsets) the count is exact. Otherwise ``total`` is split
    over the lines and the rest of the text by characters.
    """
    if token_starts is not None:
        return [bisect_left(token_starts, end) - bisect_left(token_starts, start)
                for start, end in spans], False
    covered = sum(end - start for start, end in spans)
    shares = apportion(total, [end - start for start, end in spans]
                       + [max(0, text_length - covered)])
    return shares[:-1], True
