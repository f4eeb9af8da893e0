"""Test lines whose verdict does not depend on the solution (lines that cannot fail, lines
that never name the function under test): each example with its right value."""

from __future__ import annotations

import pytest

from planner.testlines import MAX_ANALYSED_CHARS, solution_independent


@pytest.mark.parametrize("line, expected", [
    # what a real small model wrote: a tuple, always true (Python warns so)
    ("assert (isinstance(numbers, list), lambda x: len(x))", True),
    ("assert True", True),
    ("assert 1", True),
    ("assert 'x'", True),
    ("assert [has_close_elements([1.0], 0.5)]", True),  # a non-empty list is true
    ("assert lambda: has_close_elements([], 1.0)", True),
    ("assert 1 + 1 == 2", True),  # never names the function under test
    ("assert isinstance([], list)", True),
    ("assert has_close_elements([1.0, 2.0], 0.5) == False", False),
    ("assert not has_close_elements([], 1.0)", False),
    ("assert all(map(has_close_elements, [[1.0]], [0.5]))", False),  # named, not called
    ("assert Solution().has_close_elements([1.0], 0.5) is False", False),
    ("assert (has_close_elements([1.0], 0.5) ==", False),  # a multi-line assert, split
    ("assert False", True),  # fails for every solution alike
    ("assert 0", True),
    ("assert ()", True),
    ("has_close_elements([1.0], 0.5)", False),  # not a test line at all
    ("# assert True", False),
])
def test_lines_that_solution_independent(line, expected):
    assert solution_independent(line, "has_close_elements") is expected


def test_overlong_or_deeply_nested_lines_are_kept_and_parsing_runs_nothing():
    assert not solution_independent("assert " + "(" * 500 + "1" + ")" * 500, "f")
    assert not solution_independent("assert 1 or " + "1 + " * MAX_ANALYSED_CHARS + "1", "f")
    assert solution_independent("assert 2 ** 10 ** 10 ** 10 or True", "f")  # parsed, not evaluated
