"""The timeout budget applied along the column order (planner.measure.timeouts): a build
that reuses cached cells and runs only the new ones gives the verdicts of a build from
scratch, whatever was measured before, with an executor that skips a solution's remaining
tests after three timeouts exactly as the sandbox does."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.measure.build import ProblemPool, measure_cells
from planner.measure.store import CellStore
from planner.measure.timeouts import SKIPPED, final_codes, needed, stored_codes
from planner.problems import Problem
from planner.sandbox.grid import GridConfig, GridJob, GridResult, Verdict

VOCABULARY = ("unknown", "pass", "fail", "error", "timeout", "crash", "timeout(skipped)")


class BudgetExecutor:
    """Verdicts from a table, with the sandbox's rule: after 3 timeouts of a solution in a
    job, its remaining tests are ``timeout(skipped)``."""

    def __init__(self, raw: dict[tuple[str, str], int]) -> None:
        self.raw = raw
        self.config = GridConfig()
        self.description = {"executor": "budget-table"}
        self.pairs = 0

    def run(self, jobs: Sequence[GridJob]) -> Iterator[tuple[int, GridResult]]:
        for index, job in enumerate(jobs):
            detail = np.zeros((len(job.solutions), len(job.tests)), np.uint16)
            for i, solution in enumerate(job.solutions):
                timeouts = 0
                for j, test in enumerate(job.tests):
                    if timeouts >= 3:
                        detail[i, j] = 6
                        continue
                    detail[i, j] = self.raw[solution, test]
                    timeouts += detail[i, j] == Verdict.TIMEOUT
            self.pairs += job.n_pairs
            codes = np.where(detail == 6, Verdict.TIMEOUT, detail).astype(np.uint8)
            yield index, GridResult(codes, detail, VOCABULARY, "A")


PROBLEM = Problem("T/0", "def f():\n", "f", test="def check(candidate):\n    pass\n",
                  canonical_solution="    return 1\n")


def _codes(pool, store, executor) -> np.ndarray:
    tables, _, _ = measure_cells([pool], executor, store)
    looked_up = tables["T/0"].lookup(pool.solution_keys, pool.test_keys)
    return final_codes(looked_up, 3)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_build_reusing_cells_equals_a_build_from_scratch(tmp_path_factory, data):
    n_sol = data.draw(st.integers(1, 5))
    n_lines = data.draw(st.integers(1, 8))
    solutions = tuple(f"def f():\n    return {i}\n" for i in range(n_sol))
    lines = tuple(f"assert f() == {j}" for j in range(n_lines))
    pool = ProblemPool(PROBLEM, solutions, lines)
    rows, cols = pool._rows(), pool._cols()
    verdicts = st.sampled_from([Verdict.PASS, Verdict.FAIL, Verdict.TIMEOUT, Verdict.ERROR])
    raw = {(s, t): int(data.draw(verdicts)) for s in rows for t in cols}
    # What was measured before: any subsequence of the solutions and of the lines.
    old_solutions = tuple(s for s in solutions if data.draw(st.booleans()))
    old_lines = tuple(t for t in lines if data.draw(st.booleans()))
    folder = tmp_path_factory.mktemp("cells")
    scratch = _codes(pool, CellStore(folder / "a", {}), BudgetExecutor(raw))
    store = CellStore(folder / "b", {})
    executor = BudgetExecutor(raw)
    if old_solutions:
        _codes(ProblemPool(PROBLEM, old_solutions, old_lines), store, executor)
    first = executor.pairs
    grown = _codes(pool, store, executor)
    assert np.array_equal(grown, scratch)
    # Nothing measured twice beyond the cells the budget walk needed.
    assert executor.pairs - first <= len(rows) * len(cols)


def test_needed_and_final_codes_follow_the_column_order():
    t, p, s, u = Verdict.TIMEOUT, Verdict.PASS, SKIPPED, Verdict.UNKNOWN
    codes = np.array([[t, p, t, t, s, s],
                      [p, u, t, s, p, u],
                      [t, t, t, u, u, u]], dtype=np.uint8)
    assert needed(codes, 3).tolist() == [[False] * 6,
                                         [False, True, False, True, False, True],
                                         [False] * 6]
    codes[1] = [p, p, t, p, p, t]
    final = final_codes(codes, 3)
    assert final[0].tolist() == [t, p, t, t, t, t]
    assert final[1].tolist() == [p, p, t, p, p, t]
    assert final[2].tolist() == [t, t, t, t, t, t]


def test_skipped_cells_are_stored_as_not_measured():
    detail = np.array([[1, 4, 6]], dtype=np.uint16)
    result = GridResult(np.array([[1, 4, 4]], np.uint8), detail, VOCABULARY, "A")
    assert stored_codes(result).tolist() == [[Verdict.PASS, Verdict.TIMEOUT, SKIPPED]]
