"""The disk cache of exact cascade fronts, the candidates of a selection.

``plan`` with a selection other than ``naive`` builds the exact Pareto front of the
planning problems, and its statement for new problems builds one more per inner fold
(planner.selection.honest): about 1 s of CPU each on the bundled profile's 164 problems.
The fronts do not depend on the budget, so they are stored once per option tables: one
``fronts-<key>.npz`` file (the front's per-model option rows) per hash of the tables' a, g,
h and cost arrays, options and shared θ, beside the estimator's option tables
(:func:`~planner.estimate.cache.cache_dir`), written atomically; the
:data:`FRONT_ENTRIES` most recently written are kept. A file that cannot be read is
recomputed, and an unwritable cache only costs time.

Only complete fronts are stored: a front a deadline (``--time-limit``, or Ctrl-C) cut
short is the front of the plans enumerated by then, and a later run, with or without a
limit, must not take it for the whole front. Each file says it is complete
(``complete``), and a file that does not is not read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import numpy as np

from ..estimate.cache import ESTIMATOR_VERSION, cache_dir
from ..output import atomic_write
from ..search.space import SearchSpace

#: Bump when the exact front's enumeration changes what it returns.
FRONT_VERSION = 1
#: How many front files the cache keeps (the oldest are removed first).
FRONT_ENTRIES = 256
#: The per-option arrays that decide a front.
ARRAYS = ("accept", "accept_correct", "correct", "cost")


def space_key(space: SearchSpace) -> str:
    """32 hex digits naming ``space``'s option tables (their numbers and options)."""
    digest = hashlib.sha256(json.dumps(
        {"front": FRONT_VERSION, "estimator": ESTIMATOR_VERSION,
         "shared_theta": space.shared_theta}).encode())
    for table in space.tables:
        digest.update(json.dumps([table.model, [o.to_json() for o in table.options]]
                                 ).encode())
        for name in ARRAYS:
            array = np.ascontiguousarray(getattr(table, name), dtype=np.float64)
            digest.update(repr(array.shape).encode())
            digest.update(array.tobytes())
    return digest.hexdigest()[:32]


def cached_front_codes(space: SearchSpace,
                       compute: Callable[[], tuple[np.ndarray, bool]]
                       ) -> tuple[np.ndarray, bool]:
    """([plans, models] option rows (-1: model skipped) of ``space``'s exact front,
    whether it is complete): from the cache, else ``compute()`` (the same pair), stored
    for next time only when complete."""
    path = cache_dir() / f"fronts-{space_key(space)}.npz"
    try:
        with np.load(path, allow_pickle=False) as npz:
            codes, complete = npz["codes"], bool(npz["complete"])
        if complete and codes.ndim == 2 and codes.shape[1] == space.n_models:
            return codes.astype(np.int64), True
    except (OSError, KeyError, ValueError):
        pass
    codes, complete = compute()
    codes = np.asarray(codes, dtype=np.int64)
    if not complete:
        return codes, False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as fh:
            np.savez(fh, codes=codes, complete=np.True_)
    except OSError:
        return codes, True  # an unwritable cache only costs time
    entries = sorted(path.parent.glob("fronts-*.npz"), key=_mtime)
    for old in entries[:-FRONT_ENTRIES]:
        old.unlink(missing_ok=True)
    return codes, True


def _mtime(path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
