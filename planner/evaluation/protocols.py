"""Resampling protocols: which (planning, held-out) splits an evaluation runs over.

* ``paper`` — the seed paper's five 30 % / 70 % splits (seeds 3, 7, 9, 13, 15;
  planner.splits.paper_splits): plans are chosen on 49 of HumanEval's 164 problems and
  scored on the other 115.
* ``kfold`` — repeated k-fold cross-validation over all problems (planner.splits.kfold_splits):
  ``folds`` folds, reshuffled ``repeats`` times with seeds ``seed``, ``seed + 1``, ...; every
  problem is held out once per repeat.

Splits keep the names ``plan --split`` understands (``paper-seed7``, ``kfold5-seed1-fold2``),
so a row of an evaluation can be re-planned by hand.
"""

from __future__ import annotations

from enum import StrEnum

from .. import fields
from ..errors import CodecascadeError
from ..splits import Split, kfold_splits, paper_splits


class Protocol(StrEnum):
    PAPER = "paper"
    KFOLD = "kfold"


def protocol_splits(protocol: Protocol | str, n_problems: int, *, folds: int = 5,
                    repeats: int = 2, seed: int = 0) -> list[Split]:
    """The splits of ``protocol`` for ``n_problems`` problems (see the module docstring);
    CodecascadeError (one line) for an unknown protocol or impossible fold counts
    (FieldError naming ``folds`` or ``repeats``)."""
    try:
        protocol = Protocol(protocol)
    except ValueError:
        known = ", ".join(p.value for p in Protocol)
        raise CodecascadeError(f"unknown protocol {protocol!r}; known: {known}") from None
    folds = fields.whole(folds, "folds", least=2)
    repeats = fields.whole(repeats, "repeats", least=1)
    if protocol is Protocol.PAPER:
        return paper_splits(n_problems)
    return [s for r in range(repeats) for s in kfold_splits(n_problems, folds, seed + r)]
