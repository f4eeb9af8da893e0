"""Test lines whose verdict does not depend on the solution (lines that cannot fail, lines
that never call the function under test): each example with its right value."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner.testlines import MAX_ANALYSED_CHARS, solution_independent


@pytest.mark.parametrize("line, expected", [
    # what a real small model wrote: a tuple, always true (Python warns so)
    ("assert (isinstance(numbers, list), lambda x: len(x))", True),
    ("assert True", True),
    ("assert 1", True),
    ("assert 'x'", True),
    ("assert [has_close_elements([1.0], 0.5)]", True),  # a non-empty list is true
    ("assert lambda: has_close_elements([], 1.0)", True),
    ("assert 1 + 1 == 2", True),  # never names the function under test at all
    ("assert isinstance([], list)", True),
    ("assert has_close_elements([1.0, 2.0], 0.5) == False", False),
    ("assert not has_close_elements([], 1.0)", False),
    ("assert Solution().has_close_elements([1.0], 0.5) is False", False),
    ("assert (has_close_elements([1.0], 0.5) ==", False),  # a multi-line assert, split
    ("assert False", True),  # fails for every solution alike
    ("assert 0", True),
    ("assert ()", True),
    ("has_close_elements([1.0], 0.5)", False),  # not a test line at all
    ("# assert True", False),
    # named but never called: true for every solution that defines the function
    ("assert has_close_elements", True),
    ("assert has_close_elements is not None", True),
    ("assert has_close_elements != None", True),
    ("assert not has_close_elements is None", True),
    ("assert has_close_elements == has_close_elements", True),
    ("assert has_close_elements.__name__ == 'has_close_elements'", True),
    ("assert Solution().has_close_elements", True),  # Solution() is a call, not of it
    ("assert has_close_elements and len([1]) == 1", True),
    # called, or passed to a call that may call it: kept
    ("assert all(map(has_close_elements, [[1.0]], [0.5]))", False),
    ("assert sorted([[1.0]], key=has_close_elements) == [[1.0]]", False),
    ("assert functools.reduce(has_close_elements, [[1.0]], 0.5) is False", False),
    ("assert all(f([1.0], 0.5) is False for f in [has_close_elements])", False),
    ("assert (lambda: has_close_elements([1.0], 0.5))() is False", False),
    ("assert has_close_elements.__call__([1.0], 0.5) is False", False),
    ("assert has_close_elements is not None and has_close_elements([], 1.0) is False", False),
    # conservative: any mention inside a call counts as calling
    ("assert callable(has_close_elements)", False),
    ("assert has_close_elements.__name__.startswith('has')", False),
])
def test_lines_that_solution_independent(line, expected):
    assert solution_independent(line, "has_close_elements") is expected


def test_a_keyword_or_a_longer_name_is_not_the_function_under_test():
    assert solution_independent("assert g(add=1) == 2", "add")
    assert solution_independent("assert add_one(1) == 2", "add")
    assert not solution_independent("assert add(1, 2) == 3", "add")


def test_overlong_or_deeply_nested_lines_are_kept_and_parsing_runs_nothing():
    assert not solution_independent("assert " + "(" * 500 + "1" + ")" * 500, "f")
    assert not solution_independent("assert 1 or " + "1 + " * MAX_ANALYSED_CHARS + "1", "f")
    assert solution_independent("assert 2 ** 10 ** 10 ** 10 or True", "f")  # parsed, not evaluated
    nested = "assert " + "g(" * 90 + "f" + ")" * 90  # nested calls: one pass, no recursion
    assert not solution_independent(nested, "f")
    assert solution_independent(nested.replace("(f)", "(x)"), "f")


#: Operands that mention ``f`` (or not) without calling it, and operands that call it.
_NOT_CALLING = ["f", "f.__name__", "f.__doc__", "None", "0", "'f'", "g(x)", "len(xs)", "obj.f"]
_CALLING = ["f(1)", "map(f, xs)", "sorted(xs, key=f)", "functools.reduce(f, xs)",
            "Solution().f(2)", "all(h(1) for h in [f])", "g(f)"]
_COMBINE = ["({}) == ({})", "({}) is not ({})", "({}) != ({})", "({}) and ({})",
            "({}) or ({})", "not ({}) is ({})"]


@st.composite
def _tests(draw, depth=3):
    """An assert's test combined from operands, and whether some operand calls ``f``."""
    if depth == 0 or draw(st.booleans()):
        calls = draw(st.booleans())
        return draw(st.sampled_from(_CALLING if calls else _NOT_CALLING)), calls
    left, left_calls = draw(_tests(depth=depth - 1))
    right, right_calls = draw(_tests(depth=depth - 1))
    return draw(st.sampled_from(_COMBINE)).format(left, right), left_calls or right_calls


@given(_tests(), st.sampled_from(_COMBINE))
def test_a_line_is_kept_exactly_when_some_operand_calls_the_function(drawn, top):
    test, calls = drawn
    line = "assert " + top.format(test, "None")  # a comparison on top: never always true
    assert solution_independent(line, "f") is (not calls)
