"""Where an evaluation places its budgets ($ per problem).

``Budgets(count=20)`` (the default) places ``count`` budgets log-spaced over the cost range
of each split's planning-part single-model front: from its cheapest to its dearest plan,
so every budget has a single-model plan and the range is where a cascade competes with one.
``Budgets(values=(...))`` uses the same explicit budgets on every split, so grids and
selectors compare at fixed budgets. :func:`parse_budgets` reads ``--budgets``: a count
(``20``), a comma-separated list (``0.001,0.01``) or a log-spaced range ``LOW:HIGH:N``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import CodecascadeError

DEFAULT_COUNT = 20


@dataclass(frozen=True)
class Budgets:
    """A count per split (placed over the split's single-model front) or fixed values."""

    count: int | None = DEFAULT_COUNT
    values: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if (self.count is None) == (self.values is None):
            raise CodecascadeError("give either a budget count or budget values")
        if self.count is not None and self.count < 1:
            raise CodecascadeError(f"budget count must be >= 1, got {self.count}")
        if self.values is not None:
            if not self.values:
                raise CodecascadeError("the budget list is empty")
            for v in self.values:
                if not (math.isfinite(v) and v > 0):
                    raise CodecascadeError(f"a budget must be a positive number, got {v!r}")

    def for_split(self, single_front_costs: np.ndarray) -> np.ndarray:
        """The budgets of one split, given its planning-part single-model front's costs."""
        if self.values is not None:
            return np.array(self.values, dtype=float)
        costs = np.asarray(single_front_costs, dtype=float)
        low, high = float(costs.min()), float(costs.max())
        if self.count == 1 or high <= low:
            return np.array([high] * (self.count or 1))
        return np.geomspace(low, high, self.count)

    def to_json(self) -> dict[str, object]:
        if self.values is not None:
            return {"placement": "fixed", "values": list(self.values)}
        return {"placement": "log-spaced over each split's planning-part single-model "
                             "front cost range", "count": self.count}


def parse_budgets(text: str) -> Budgets:
    """``--budgets``: a count, a comma-separated list, or ``LOW:HIGH:N`` (log-spaced)."""
    text = text.strip()
    what = (f"--budgets must be a count (20), a list of $ per problem (0.001,0.01) or "
            f"LOW:HIGH:N, got {text!r}")
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise CodecascadeError(what)
        try:
            low, high, n = float(parts[0]), float(parts[1]), int(parts[2])
        except ValueError:
            raise CodecascadeError(what) from None
        if not (math.isfinite(low) and math.isfinite(high) and 0 < low <= high and n >= 1):
            raise CodecascadeError(f"--budgets {text!r}: need 0 < LOW <= HIGH and N >= 1")
        return _budgets(text, count=None,
                        values=tuple(float(v) for v in np.geomspace(low, high, n)))
    if "," not in text and "." not in text and "e" not in text.lower():
        try:
            count = int(text)
        except ValueError:
            raise CodecascadeError(what) from None
        return _budgets(text, count=count)
    values = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            raise CodecascadeError(f"--budgets {text!r}: an empty item in the list")
        try:
            values.append(float(part))
        except ValueError:
            raise CodecascadeError(what) from None
    return _budgets(text, count=None, values=tuple(values))


def _budgets(text: str, **fields) -> Budgets:
    """:class:`Budgets` whose errors name the option and what was given."""
    try:
        return Budgets(**fields)
    except CodecascadeError as exc:
        raise CodecascadeError(f"--budgets {text!r}: {exc}") from None
