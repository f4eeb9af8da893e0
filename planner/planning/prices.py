"""Prices from the command line: ``MODEL=DOLLARS_PER_1K_TOKENS`` text to $ per token."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..errors import CodecascadeError


def parse_prices(pairs: Sequence[str]) -> dict[str, float]:
    """``NAME=DOLLARS_PER_1K_TOKENS`` strings -> {name: $ per generated token}.

    Raises :class:`~planner.errors.CodecascadeError` (one line) for a pair without ``=``,
    a name that is empty, or a price that is not a finite number >= 0.
    """
    prices = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        try:
            price = float(value)
        except ValueError:
            price = float("nan")
        if not sep or not name or not math.isfinite(price) or price < 0:
            raise CodecascadeError(
                f"bad price {pair!r}: expected MODEL=DOLLARS_PER_1K_TOKENS with a number >= 0"
            )
        prices[name] = price / 1000.0
    return prices
