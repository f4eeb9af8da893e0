"""The cell store: lookups after merges, the covering of unknown cells, atomic files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.measure.store import CellStore, CellTable, _unknown_blocks, verdict_transitions

keys = st.lists(st.sampled_from([f"{i:016x}" for i in range(12)]), min_size=1, max_size=6,
                unique=True)


@settings(max_examples=60, deadline=None)
@given(blocks=st.lists(st.tuples(keys, keys, st.integers(1, 5)), min_size=1, max_size=5))
def test_lookup_returns_the_last_written_code(blocks) -> None:
    table = CellTable.empty()
    truth: dict[tuple[str, str], int] = {}
    for rows, cols, code in blocks:
        table = table.merged(rows, cols, np.full((len(rows), len(cols)), code, np.uint8), "A")
        truth.update({(r, c): code for r in rows for c in cols})
    all_rows = sorted({r for r, _ in truth} | {"ffffffffffffffff"})
    all_cols = sorted({c for _, c in truth})
    got = table.lookup(all_rows, all_cols)
    for i, r in enumerate(all_rows):
        for j, c in enumerate(all_cols):
            assert got[i, j] == truth.get((r, c), 0)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 7), st.integers(1, 7))
def test_unknown_blocks_cover_every_unknown_cell(seed, n_rows, n_cols) -> None:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 3, size=(n_rows, n_cols)).astype(np.uint8)
    codes[rng.random(n_rows) < 0.3] = 0
    covered = np.zeros(codes.shape, dtype=bool)
    blocks = _unknown_blocks(codes)
    assert len(blocks) <= 2
    for rows, cols in blocks:
        covered[np.ix_(rows, cols)] = True
    assert covered[codes == 0].all()


def test_store_round_trip_and_settings_isolation(tmp_path: Path) -> None:
    store = CellStore(tmp_path, {"mode": "fast"})
    table = CellTable.empty().merged(["a" * 16], ["b" * 16, "c" * 16],
                                     np.array([[1, 2]], np.uint8), "A")
    store.save("HumanEval/0", table)
    loaded = store.load("HumanEval/0")
    assert loaded.solution_keys == table.solution_keys and loaded.levels == {"A"}
    assert (loaded.codes == table.codes).all()
    assert CellStore(tmp_path, {"mode": "strict"}).load("HumanEval/0").codes.size == 0
    assert not list(store.folder.glob("*.tmp"))


def test_concurrent_writers_keep_each_other_s_cells(tmp_path: Path) -> None:
    """Two measurements that loaded the same (empty) table and then write different blocks:
    the second write must not drop the first one's cells."""
    first, second = CellStore(tmp_path, {"m": 1}), CellStore(tmp_path, {"m": 1})
    first.update("t", ["a" * 16], ["b" * 16], np.array([[1]], np.uint8), "A")
    second.update("t", ["c" * 16], ["d" * 16], np.array([[2]], np.uint8), "A")
    table = first.load("t")
    assert table.lookup(["a" * 16, "c" * 16], ["b" * 16, "d" * 16]).tolist() == [[1, 0], [0, 2]]


def test_verdict_transitions_count_shared_cells_by_kind(tmp_path: Path) -> None:
    old, new = CellStore(tmp_path, {"t": 1}), CellStore(tmp_path, {"t": 2})
    old.update("P", ["s1", "s2"], ["gt", "l1", "l2"],
               np.array([[1, 1, 2], [2, 4, 4]], np.uint8), "A")
    new.update("P", ["s2", "s1", "s3"], ["l1", "gt"],
               np.array([[2, 2], [1, 1], [1, 1]], np.uint8), "A")
    new.update("Q", ["s1"], ["gt"], np.ones((1, 1), np.uint8), "A")  # not in old: skipped
    moved = verdict_transitions(old, new, {"P": "gt", "Q": "gt"})
    assert moved["check"].sum() == 2 and moved["check"][1, 1] == 1 and moved["check"][2, 2] == 1
    assert moved["lines"].sum() == 2 and moved["lines"][1, 1] == 1 and moved["lines"][4, 2] == 1
