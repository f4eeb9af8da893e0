"""Count the kept test lines of real test generations that do not compile alone, and those
whose verdict does not depend on the solution.

    python3 benchmarks/count_test_lines.py   # needs ../shared/data

The method keeps the first 5 raw lines of each test generation and counts those starting
with ``assert`` as test lines (planner.testlines). A multi-line ``assert`` statement is
split into raw lines as the paper's first-l-lines protocol does, so its first line does not
compile alone (and every solution fails it). For CodeGen-Mono-16B (CodeT's HumanEval
test generations) and WizardCoder-Python 7B/13B/34B (the seed paper's release) this counts
kept test lines, those that do not compile alone (compiled in a child process, never run),
those of them that open a bracket they do not close (a statement split over lines), and
the lines planner.testlines.solution_independent finds (always true, or never calling the
function under test). Prints a table and writes benchmarks/results/count_test_lines.json.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
RESULT = ROOT / "benchmarks" / "results" / "count_test_lines.json"

#: Compiles each source of a JSON list read from stdin; writes a JSON list of bools.
_COMPILER = """
import json, sys, warnings
warnings.simplefilter("ignore")
def ok(source):
    try:
        compile(source, "<source>", "exec")
        return True
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
json.dump([ok(s) for s in json.load(sys.stdin)], sys.stdout)
"""


def compiles(sources: list[str], timeout: float = 3600.0) -> list[bool]:
    """Whether each model-written source compiles, decided in a child interpreter (a
    pathological text can crash the compiler; model output never runs in this process).
    Also used by tests/runtime/test_extract_corpus.py."""
    done = subprocess.run([sys.executable, "-I", "-c", _COMPILER], input=json.dumps(sources),
                          capture_output=True, text=True, timeout=timeout, check=True)
    return json.loads(done.stdout)


def opens_more_than_it_closes(line: str) -> bool:
    depth = 0
    for char in line:
        depth += char in "([{"
        depth -= char in ")]}"
    return depth > 0 or line.rstrip().endswith("\\")


def count(name: str, kept: list[tuple[str, str]]) -> dict:
    """kept: (line, entry point) of every kept test line."""
    from planner.testlines import solution_independent

    ok = compiles([line for line, _ in kept])
    broken = [line for (line, _), good in zip(kept, ok, strict=True) if not good]
    split = [line for line in broken if opens_more_than_it_closes(line)]
    independent = sum(solution_independent(line, entry) for line, entry in kept)
    return {"model": name, "kept_test_lines": len(kept), "not_compiling": len(broken),
            "split_statements": len(split), "solution_independent": independent,
            "examples_not_compiling": [line[:120] for line in broken[:3]]}


def main() -> None:
    from planner.measure import read_problems
    from planner.measure.sources import read_codet
    from planner.measure.wizardcoder import read_wizardcoder
    from planner.testlines import is_test_line

    wizard = DATA / "wizardcoder-python-humaneval"
    problems = read_problems(wizard / "HumanEval.json")
    entry = {p.task_id: p.entry_point for p in problems}
    models = [read_codet(DATA / "codet", problems)]
    models += [read_wizardcoder(wizard, size, problems) for size in ("7B", "13B", "34B")]
    rows = []
    for model in models:
        kept = [(line, entry[task]) for task, gen in model.problems.items()
                for test in (*gen.tests, *((gen.greedy_test,) if gen.greedy_test else ()))
                for line in test.lines if is_test_line(line)]
        rows.append(count(model.name, kept))
    print(f"{'model':<26} {'kept test lines':>15} {'not compiling':>14} {'split stmts':>12} "
          f"{'independent':>12}")
    for r in rows:
        share = r["not_compiling"] / r["kept_test_lines"]
        print(f"{r['model']:<26} {r['kept_test_lines']:>15,} {r['not_compiling']:>8,} "
              f"({100 * share:4.1f}%) {r['split_statements']:>12,} "
              f"{r['solution_independent']:>12,}")
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps({
        "benchmark": "count_test_lines", "date": dt.date.today().isoformat(),
        "python": platform.python_version(), "line_positions": 5, "rows": rows},
        indent=2) + "\n")
    print(f"wrote {RESULT}")


if __name__ == "__main__":
    main()
