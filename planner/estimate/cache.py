"""The disk cache of option tables.

Tables are stored as one ``.npz`` file per (profile fingerprint, grid, problems, sampling)
in :func:`cache_dir`, written atomically; the :data:`CACHE_ENTRIES` most recently written
are kept. A file that cannot be read is recomputed, and an unwritable cache only costs
time. :data:`ESTIMATOR_VERSION` is part of every key.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..cascade import OptionTable
from ..options import Grid
from ..output import atomic_write
from ..profile import Profile
from .sampling import Sampling

#: Bump when the estimator's numbers change, so cached option tables are not reused.
ESTIMATOR_VERSION = 2

#: How many option-table files the cache keeps (the oldest are removed first).
CACHE_ENTRIES = 24

#: The per-model arrays a cache file holds, as ``f"{model}_{name}"``.
ARRAYS = ("accept", "accept_correct", "correct", "cost", "accuracy_se")


def cache_dir() -> Path:
    """Where option tables are cached: ``$CODECASCADE_CACHE``, else
    ``$XDG_CACHE_HOME/codecascade``, else ``~/.cache/codecascade``."""
    env = os.environ.get("CODECASCADE_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "codecascade"


def cache_key(profile: Profile, grid: Grid, problems: np.ndarray, sampling: Sampling) -> str:
    """32 hex digits naming the tables of ``grid`` on ``problems`` drawn by ``sampling``."""
    key = {
        "version": ESTIMATOR_VERSION,
        "profile": profile.fingerprint(),
        "grid": grid.to_json(),
        "problems": problems.tolist(),
        **sampling.key(),
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]


def cache_path(profile: Profile, grid: Grid, problems: np.ndarray, sampling: Sampling) -> Path:
    return cache_dir() / f"tables-{cache_key(profile, grid, problems, sampling)}.npz"


def load_arrays(path: Path, n_models: int) -> list[dict[str, np.ndarray]] | None:
    """Each model's :data:`ARRAYS` from a cache file, or None if it cannot be read."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            return [{name: npz[f"{m}_{name}"] for name in ARRAYS} for m in range(n_models)]
    except (OSError, KeyError, ValueError):
        return None


def store(path: Path, tables: Sequence[OptionTable]) -> None:
    """Write ``tables`` to ``path`` atomically and drop the oldest entries beyond
    :data:`CACHE_ENTRIES`; an unwritable cache is skipped silently."""
    arrays = {f"{m}_{name}": getattr(table, name)
              for m, table in enumerate(tables) for name in ARRAYS}
    try:
        with atomic_write(path) as fh:
            np.savez(fh, **arrays)
    except OSError:
        return  # an unwritable cache only costs time
    # keep the cache bounded: drop the least recently written entries
    entries = sorted(path.parent.glob("tables-*.npz"), key=_mtime)
    for old in entries[:-CACHE_ENTRIES]:
        old.unlink(missing_ok=True)


def _mtime(path: Path) -> float:
    """Modification time, or 0 for a file another process just removed."""
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
