"""Compare two cell-cache folders cell by cell: how verdicts moved between two execution
settings (e.g. the first build's 1 s wall-clock limit and the current limits).

    python3 benchmarks/compare_cells.py CELLS/OLD CELLS/NEW  # in planner/data/.codecascade-cells

Every cell measured in both folders counts, split into the ground-truth check column and
the assert-line columns (HumanEval problems of the WizardCoder release). Prints a table and
writes ``benchmarks/results/compare_cells.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = ROOT.parent / "shared" / "data" / "wizardcoder-python-humaneval" / "HumanEval.json"
RESULT = ROOT / "benchmarks" / "results" / "compare_cells.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path, help="cell folder of the old settings")
    parser.add_argument("new", type=Path, help="cell folder of the new settings")
    parser.add_argument("--problems", type=Path, default=PROBLEMS, help="HumanEval.json")
    parser.add_argument("--output", type=Path, default=RESULT,
                        help="JSON file to write (default benchmarks/results/compare_cells.json)")
    args = parser.parse_args()

    from planner.measure import read_problems
    from planner.measure.store import CellStore, verdict_transitions
    from planner.profile import text_hash
    from planner.sandbox.grid import VERDICT_NAMES

    stores = []
    for folder in (args.old, args.new):
        settings_file = folder / "settings.json"
        if not settings_file.is_file():
            raise SystemExit(f"error: {folder} is not a cell folder (no settings.json)")
        settings = json.loads(settings_file.read_text())
        store = CellStore(folder.parent, settings)
        if store.folder.resolve() != folder.resolve():
            raise SystemExit(f"error: {folder} does not match its settings.json")
        stores.append((store, settings))
    problems = read_problems(args.problems)
    moved = verdict_transitions(stores[0][0], stores[1][0],
                                {p.task_id: text_hash(p.ground_truth_test) for p in problems})
    result: dict[str, object] = {
        "benchmark": "compare_cells",
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "old_settings": stores[0][1], "new_settings": stores[1][1]}
    rows = []
    for kind, counts in moved.items():
        total = int(counts.sum())
        changed = total - int(counts.trace())
        pass_bit = int(counts[1, 2:].sum() + counts[2:, 1].sum())
        flips = {f"{VERDICT_NAMES[i]} -> {VERDICT_NAMES[j]}": int(counts[i, j])
                 for i in VERDICT_NAMES for j in VERDICT_NAMES if i != j and counts[i, j]}
        flips = dict(sorted(flips.items(), key=lambda kv: -kv[1]))
        result[kind] = {"cells": total, "changed": changed, "pass_bit_changed": pass_bit,
                        "changes": flips}
        share = 100 * changed / max(total, 1)
        rows.append((kind, f"{total:,}", f"{changed:,} ({share:.3f} %)", f"{pass_bit:,}",
                     ", ".join(f"{k} {v:,}" for k, v in flips.items())))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1) + "\n")
    header = ("cells", "compared", "changed", "pass bit changed", "changes (old -> new)")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    for r in [header, *rows]:
        print("  ".join(f"{c:<{w}}" for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4])
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
