"""Property: the pass matrix is exactly the outer comparison of what each solution returns
with what each test expects, in both modes, whatever the mix of values, duplicates and
broken lines."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.sandbox import BatchJob, run_batch

from .conftest import FAST_LIMITS

values = st.integers(min_value=-3, max_value=3)


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(returns=st.lists(values, min_size=1, max_size=6),
       expects=st.lists(st.one_of(values, st.none()), min_size=1, max_size=8),
       mode=st.sampled_from(["fast", "strict"]))
def test_pass_matrix_is_the_outer_comparison(level_a, returns, expects, mode):
    solutions = tuple(f"def f():\n    return {r}\n" for r in returns)
    # None stands for a broken test line: it must fail for every solution
    tests = tuple(f"assert f() == {e}" if e is not None else "assert f() ==" for e in expects)
    res = run_batch(BatchJob(solutions=solutions, tests=tests, limits=FAST_LIMITS, mode=mode),
                    isolation=level_a)
    expected = np.array([[e is not None and r == e for e in expects] for r in returns])
    np.testing.assert_array_equal(res.passed, expected)
    broken = [j for j, e in enumerate(expects) if e is None]
    assert (res.verdicts[:, broken] == "error:SyntaxError").all()
    assert set(np.unique(res.verdicts)) <= {"pass", "fail", "error:SyntaxError"}
