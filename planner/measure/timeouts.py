"""The sandbox's timeout budget, applied along a grid's column order, so that a verdict never
depends on which cells happened to be executed together.

The sandbox stops running a solution after ``max_timeouts`` timeouts (the ground-truth
check included) and reports its remaining tests as ``timeout(skipped)``. So a cell's verdict
depends on the cells run before it in the same process: in a profile built from scratch
each solution runs every column of its problem's grid in order (the check first, then the
pooled assert lines), but a build that reuses cached cells runs only the new ones, in a new
process with a fresh budget. To make both give the same profile, the cell store keeps a
skipped cell as :data:`SKIPPED` (not measured), not as a timeout, and the budget is applied
when the profile is assembled, along the grid's column order (:func:`final_codes`): after a
row's ``max_timeouts``-th timeout every later cell is a timeout, as the sandbox would have
made it. A cell is executed only when that walk needs its verdict (:func:`needed`): it is
unknown or was skipped, and its row has not used up its budget before it. A job runs a
row's needed cells in column order, so any cell the sandbox skips in it lies after the
row's budget is used up in the walk as well; one pass measures everything needed.

Timeouts themselves depend on time and can differ between two runs near the limit; apart
from that, a build that reuses cells and a build from scratch give the same verdicts.
"""

from __future__ import annotations

import numpy as np

from ..sandbox.grid import GridResult, Verdict

#: Cell-store code of a cell the sandbox skipped (``timeout(skipped)``): not measured.
SKIPPED = 6

#: The sandbox's verdict string of a skipped cell.
SKIPPED_VERDICT = "timeout(skipped)"


def stored_codes(result: GridResult) -> np.ndarray:
    """The codes of a job's result as the cell store keeps them: skipped cells
    :data:`SKIPPED`, every other cell its :class:`~planner.sandbox.grid.Verdict` code."""
    codes = np.array(result.codes, dtype=np.uint8, copy=True)
    if codes.size and SKIPPED_VERDICT in result.vocabulary:
        codes[result.detail == result.vocabulary.index(SKIPPED_VERDICT)] = SKIPPED
    return codes


def _timeouts_before(codes: np.ndarray) -> np.ndarray:
    """Timeouts of each row strictly before each cell, in column order."""
    timeouts = (codes == Verdict.TIMEOUT).astype(np.int32)
    before = np.zeros_like(timeouts)
    if codes.shape[1] > 1:
        np.cumsum(timeouts[:, :-1], axis=1, out=before[:, 1:])
    return before


def needed(codes: np.ndarray, max_timeouts: int) -> np.ndarray:
    """bool [rows, cols]: the cells whose verdict the budget walk needs and the store lacks
    (unknown or skipped, before their row has used up its budget)."""
    missing = (codes == Verdict.UNKNOWN) | (codes == SKIPPED)
    return missing & (_timeouts_before(codes) < max_timeouts)


def final_codes(codes: np.ndarray, max_timeouts: int) -> np.ndarray:
    """The grid's verdict codes with the budget applied along its column order: every cell
    after a row's ``max_timeouts``-th timeout is a timeout. Raises ValueError when a cell
    the walk needs was not measured."""
    if needed(codes, max_timeouts).any():
        raise ValueError("cells needed by the timeout budget were not measured")
    out = np.array(codes, dtype=np.uint8, copy=True)
    out[(_timeouts_before(codes) >= max_timeouts) | (out == SKIPPED)] = Verdict.TIMEOUT
    return out
