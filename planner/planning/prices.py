"""Prices from the command line: ``MODEL=DOLLARS`` text, $ per million generated tokens."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..errors import CodecascadeError
from ..units import PRICE_UNIT


def parse_prices(pairs: Sequence[str]) -> dict[str, float]:
    """``MODEL=DOLLARS`` strings -> {model: $ per million generated tokens} (the unit
    providers publish; planner.units).

    Raises :class:`~planner.errors.CodecascadeError` (one line) for a pair without ``=``,
    a name that is empty, a model given twice, or a price that is not a finite number >= 0.
    """
    prices: dict[str, float] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        try:
            price = float(value)
        except ValueError:
            price = float("nan")
        if not sep or not name or not math.isfinite(price) or price < 0:
            raise CodecascadeError(
                f"--price must be MODEL=DOLLARS with a number >= 0 ({PRICE_UNIT}), "
                f"got {pair!r}")
        if name in prices:
            raise CodecascadeError(f"--price gives {name!r} twice")
        prices[name] = price
    return prices
