"""The resumable cell store: measured verdicts per problem, keyed by text hashes.

For each problem, one ``.npz`` file holds the verdict code of every (solution program,
test snippet) cell measured so far, with the texts' hashes as row and column keys. Files
are written atomically after every finished job (read-merge-write under a lock), so a killed
measurement resumes where it stopped, concurrent measurements sharing the store keep each
other's cells, and a later measurement with more models reuses every cell it already has.
Verdicts depend on the execution settings, so each settings combination has its own
sub-folder (named by a hash of the settings and of :data:`CELL_FORMAT`, which are also
written beside it). Codes are :class:`~planner.sandbox.grid.Verdict` codes, plus
:data:`planner.measure.timeouts.SKIPPED` for a cell the sandbox skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..output import atomic_write
from ..sandbox.grid import ExecutionError, Verdict

#: What the stored codes mean; part of the folder name, so a store written under other
#: rules is never read (2: skipped cells are kept as SKIPPED, not as timeouts).
CELL_FORMAT = 2


@dataclass(frozen=True)
class CellTable:
    """Verdict codes of one problem: ``codes[i, j]`` for solution key i and test key j."""

    solution_keys: tuple[str, ...]
    test_keys: tuple[str, ...]
    codes: np.ndarray
    levels: frozenset[str] = frozenset()

    @classmethod
    def empty(cls) -> CellTable:
        return cls((), (), np.zeros((0, 0), dtype=np.uint8))

    def lookup(self, solution_keys: Sequence[str], test_keys: Sequence[str]) -> np.ndarray:
        """Codes for the given keys, [len(solution_keys), len(test_keys)]; 0 where unknown."""
        rows = _positions(self.solution_keys, solution_keys)
        cols = _positions(self.test_keys, test_keys)
        out = np.zeros((len(rows), len(cols)), dtype=np.uint8)
        r_ok, c_ok = rows >= 0, cols >= 0
        out[np.ix_(r_ok, c_ok)] = self.codes[np.ix_(rows[r_ok], cols[c_ok])]
        return out

    def merged(self, solution_keys: Sequence[str], test_keys: Sequence[str],
               codes: np.ndarray, level: str) -> CellTable:
        """A table that also holds the block ``codes`` [solution_keys × test_keys]."""
        have_sol, have_tst = set(self.solution_keys), set(self.test_keys)
        sol = list(self.solution_keys)
        sol += [k for k in dict.fromkeys(solution_keys) if k not in have_sol]
        tst = list(self.test_keys)
        tst += [k for k in dict.fromkeys(test_keys) if k not in have_tst]
        grown = np.zeros((len(sol), len(tst)), dtype=np.uint8)
        grown[:self.codes.shape[0], :self.codes.shape[1]] = self.codes
        rows = _positions(tuple(sol), solution_keys)
        cols = _positions(tuple(tst), test_keys)
        grown[np.ix_(rows, cols)] = codes
        return CellTable(tuple(sol), tuple(tst), grown, self.levels | {level})


def _positions(keys: tuple[str, ...], wanted: Sequence[str]) -> np.ndarray:
    index = {k: i for i, k in enumerate(keys)}
    return np.array([index.get(k, -1) for k in wanted], dtype=np.int64)


class CellStore:
    """A folder of per-problem :class:`CellTable` files for one execution setting."""

    def __init__(self, root: str | os.PathLike[str], settings: Mapping[str, object]) -> None:
        settings = {**dict(settings), "cell_format": CELL_FORMAT}
        digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
        self.folder = Path(root) / digest[:16]
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            settings_file = self.folder / "settings.json"
            if not settings_file.exists():
                settings_file.write_text(json.dumps(settings, sort_keys=True, indent=1))
        except OSError as exc:
            raise ExecutionError(f"cannot use the cache folder {self.folder}: {exc}") from None

    def _path(self, task_id: str) -> Path:
        return self.folder / f"{hashlib.sha256(task_id.encode()).hexdigest()[:20]}.npz"

    def load(self, task_id: str) -> CellTable:
        """The stored table of ``task_id``; empty if none or if the file is unreadable (an
        unreadable file is only possible from outside interference, and is re-measured)."""
        path = self._path(task_id)
        if not path.is_file():
            return CellTable.empty()
        try:
            with np.load(path, allow_pickle=False) as npz:
                sol = tuple(str(k) for k in npz["solution_keys"])
                tst = tuple(str(k) for k in npz["test_keys"])
                codes = np.asarray(npz["codes"], dtype=np.uint8)
                levels = frozenset(str(x) for x in npz["levels"])
                stored_id = str(npz["task_id"])
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
            return CellTable.empty()
        if stored_id != task_id or codes.shape != (len(sol), len(tst)):
            return CellTable.empty()
        return CellTable(sol, tst, codes, levels)

    def save(self, task_id: str, table: CellTable) -> None:
        """Write the table atomically (temporary file in the same folder, then rename)."""
        path = self._path(task_id)
        with atomic_write(path) as fh:
            np.savez_compressed(
                fh, task_id=np.array(task_id),
                solution_keys=np.array(table.solution_keys, dtype="<U16").reshape(-1),
                test_keys=np.array(table.test_keys, dtype="<U16").reshape(-1),
                codes=table.codes, levels=np.array(sorted(table.levels), dtype=str))

    def update(self, task_id: str, solution_keys: Sequence[str], test_keys: Sequence[str],
               codes: np.ndarray, level: str) -> CellTable:
        """Merge a measured block into the stored table and write it, under an exclusive
        lock and re-reading the file first, so that several measurements sharing the store
        (e.g. two profiles built at once) never overwrite each other's cells."""
        import fcntl

        with open(self.folder / ".lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                table = self.load(task_id).merged(solution_keys, test_keys, codes, level)
                self.save(task_id, table)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return table


def verdict_transitions(old: CellStore, new: CellStore, check_keys: Mapping[str, str]
                        ) -> dict[str, np.ndarray]:
    """How the verdicts of the cells measured in both stores moved from ``old`` to ``new``
    (e.g. two execution settings): for the problems of ``check_keys`` (task id -> key of
    its ground-truth test), ``{"check": counts, "lines": counts}``, each a [7, 7] array of
    cell counts indexed by stored code (row: old, column: new)."""
    out = {kind: np.zeros((7, 7), dtype=np.int64) for kind in ("check", "lines")}
    for task, check_key in check_keys.items():
        a, b = old.load(task), new.load(task)
        new_rows, new_cols = set(b.solution_keys), set(b.test_keys)
        rows = [k for k in a.solution_keys if k in new_rows]
        cols = [k for k in a.test_keys if k in new_cols]
        if not rows or not cols:
            continue
        was, now = a.lookup(rows, cols), b.lookup(rows, cols)
        known = (was != Verdict.UNKNOWN) & (now != Verdict.UNKNOWN)
        is_check = np.array([k == check_key for k in cols])
        for kind, sel in (("check", is_check), ("lines", ~is_check)):
            pick = known & sel[None, :]
            np.add.at(out[kind], (was[pick], now[pick]), 1)
    return out


def _unknown_blocks(codes: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cover the unknown cells of ``codes`` with at most two rectangles (:func:`blocks`)."""
    return blocks(codes == Verdict.UNKNOWN)


def blocks(wanted: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cover the True cells of ``wanted`` [rows, cols] with at most two rectangles (row
    idx, col idx, both ascending): rows wanted whole × every column, then the other rows
    with wanted cells × the columns those have."""
    if not wanted.any():
        return []
    out = []
    whole = wanted.all(axis=1) if wanted.shape[1] else np.ones(wanted.shape[0], bool)
    if whole.any():
        out.append((np.flatnonzero(whole), np.arange(wanted.shape[1])))
    rest = wanted & ~whole[:, None]
    if rest.any():
        out.append((np.flatnonzero(rest.any(axis=1)), np.flatnonzero(rest.any(axis=0))))
    return out
