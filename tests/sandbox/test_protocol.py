"""The split between the solution's process and the test's keeps the semantics of running a
test right after the solution in one process: values, identity-free comparisons, objects
that are not plain values (generators, custom classes, views), exceptions, callbacks into
the test, module state shared by a solution's tests (fast mode), and the time limits, on
both evaluation paths (a simple ``assert f(<literals>) == <literal>`` line decided by the
runner, and any other snippet run by a judge process)."""

from __future__ import annotations

import pytest

from planner.sandbox import BatchJob, Limits, run_batch

from .conftest import FAST_LIMITS

SOLUTION = '''
import math
from fractions import Fraction

class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y
    def __eq__(self, other):
        return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)
    def __repr__(self):
        return f"Point({self.x}, {self.y})"
    def norm(self):
        return math.hypot(self.x, self.y)

class Oops(Exception):
    pass

calls = []
SCALE = 3

def ident(x):
    return x

def count():
    calls.append(1)
    return len(calls)

def gen(n):
    yield from range(n)

def keys(d):
    return d.keys()

def boom(kind):
    if kind == "value":
        raise ValueError("bad value")
    if kind == "assert":
        assert False, "inside"
    raise Oops("custom")

def apply(g, *args):
    return g(*args)

def big(n):
    return list(range(n))

def point(x, y):
    return Point(x, y)

def scaled(x):
    return x * SCALE

def fraction():
    return Fraction(1, 3)
'''

# (test, expected verdict): simple lines first, then judged snippets
CASES = [
    ("assert ident(0.1 + 0.2) == 0.30000000000000004", "pass"),  # judged (arithmetic)
    ("assert ident(0.30000000000000004) == 0.30000000000000004", "pass"),
    ("assert ident([1, 2]) == (1, 2)", "fail"),
    ("assert ident((1, 2)) == (1, 2)", "pass"),
    ("assert ident({(1, 2): {3, 4}, 'k': frozenset({5})}) == {'k': frozenset({5}), "
     "(1, 2): {4, 3}}", "pass"),
    ("assert ident(b'\\x00\\xff') == b'\\x00\\xff'", "pass"),
    ("assert ident(1267650600228229401496703205376) == 1267650600228229401496703205376",
     "pass"),
    ("assert ident(-2j) == -2j", "pass"),
    ("assert ident(True) == 1", "pass"),
    ("assert ident(None) is None", "pass"),
    ("assert ident(0) is not False", "pass"),
    ("assert not ident('')", "pass"),
    ("assert ident('\\udcff é') == '\\udcff é'", "pass"),
    ("assert ident(x=5) == 5", "pass"),
    ("assert gen(3) == [0, 1, 2]", "fail"),            # a generator is not a list
    ("assert list(gen(3)) == [0, 1, 2]", "pass"),      # judged: iterates the remote generator
    ("assert keys({1: 0, 2: 0}) == {1, 2}", "pass"),   # a view compares like a set
    ("assert point(1, 2) == point(1, 2)", "pass"),
    ("assert point(3, 4).norm() == 5.0", "pass"),
    ("assert repr(point(1, 2)) == 'Point(1, 2)'", "pass"),
    ("assert isinstance(point(1, 2), Point)", "pass"),
    ("assert fraction() == Fraction(1, 3)", "pass"),
    ("assert scaled(2) == 6", "pass"),
    ("assert scaled(SCALE) == 9", "pass"),              # judged: a global read by value
    ("assert boom('value')", "error:ValueError"),
    ("assert boom('assert')", "fail"),                  # AssertionError inside the solution
    ("assert boom('custom')", "error:Oops"),
    ("try:\n    boom('value')\nexcept ValueError as e:\n    assert str(e) == 'bad value'\n"
     "else:\n    assert False", "pass"),
    ("try:\n    boom('custom')\nexcept Oops:\n    pass", "pass"),
    ("try:\n    boom('custom')\nexcept Exception as e:\n    assert type(e).__name__ == 'Oops'",
     "pass"),
    ("assert apply(lambda a, b: a * b, 6, 7) == 42", "pass"),  # the solution calls the test
    ("assert apply(sorted, [3, 1, 2]) == [1, 2, 3]", "pass"),
    ("assert undefined_name(1) == 1", "error:NameError"),
    ("assert len(big(10**6)) == 10**6", "pass"),
    ("assert big(10**6) == [1, 2]", "fail"),          # larger than any equal literal
    ("assert big(10**6) != [1, 2]", "pass"),
    ("assert big(10**6)", "pass"),
    ("assert count() == 1", "pass"),                  # fast mode: module state is shared
    ("assert count() == 2", "pass"),
    ("assert count() == 3 and True", "pass"),         # judged, same process state
    ("assert count() == 4", "pass"),
    ("assert True", "pass"),
    ("assert 1 == 2", "fail"),
]


@pytest.mark.parametrize("mode", ["fast", "strict"])
def test_both_paths_keep_one_process_semantics(level_a, mode):
    tests = tuple(t for t, _ in CASES)
    res = run_batch(BatchJob(solutions=(SOLUTION,), tests=tests,
                             limits=Limits(test_timeout=3.0, load_timeout=2.0),
                             preamble="from fractions import Fraction", mode=mode),
                    isolation=level_a)
    expected = [v for _, v in CASES]
    if mode == "strict":  # a fresh process per test: the counter starts again every time
        expected[-6:-2] = ["pass", "fail", "fail", "fail"]
    got = res.verdicts[0].tolist()
    wrong = [(t, g, e) for t, g, e in zip(tests, got, expected, strict=True) if g != e]
    assert not wrong, wrong
    assert not res.tampered.any()


def test_opaque_comparison_is_reported(level_a):
    """A pass decided by a non-plain result's own ``==`` is flagged, not blocked."""
    res = run_batch(BatchJob(solutions=(SOLUTION, "def keys(d):\n    return set(d)\n"),
                             tests=("assert keys({1: 0}) == {1}",), limits=FAST_LIMITS),
                    isolation=level_a)
    assert res.verdicts.tolist() == [["pass"], ["pass"]]
    assert "opaque_compare" in res.suspicious[0] and res.suspicious[1] == ()


@pytest.mark.parametrize("clock", ["cpu", "wall"])
def test_time_spent_in_the_solution_counts_for_a_judged_test(level_a, clock):
    """A judged check whose work happens in the solution's process is stopped at the
    check's limit on either clock; sleeping costs no CPU time."""
    solution = ("import time\n\ndef spin(t):\n    end = time.process_time() + t\n"
                "    while time.process_time() < end:\n        pass\n    return t\n\n"
                "def nap(t):\n    time.sleep(t)\n    return t\n")
    check = "def check(c):\n    for _ in range(4):\n        c(0.2)\n\ncheck({})"
    tests = (check.format("spin"), check.format("nap"), "assert spin(0.01) == 0.01")
    res = run_batch(BatchJob(solutions=(solution,), tests=tests,
                             limits=Limits(test_timeout=0.5, kill_grace=0.5, clock=clock)),
                    isolation=level_a)
    nap = "pass" if clock == "cpu" else "timeout"
    assert res.verdicts[0].tolist() == ["timeout", nap, "pass"]


def test_nested_calls_and_literal_arithmetic_stay_on_the_simple_path(level_a):
    """``f(g(x)) == y`` and arithmetic on literals are decided without a judge, with the
    same verdicts as one process (objects flow between the nested calls unchanged)."""
    solution = ("def enc(s):\n    return s[1:] + s[:1]\n\ndef dec(s):\n    return s[-1:] + s[:-1]\n"
                "\ndef wrap(x):\n    return [x]\n\ndef first(xs):\n    return xs[0]\n\n"
                "def same(a, b):\n    return a is b\n\nSENTINEL = object()\n\n"
                "def sentinel():\n    return SENTINEL\n")
    tests = ("assert dec(enc('racecar')) == 'racecar'", "assert first(wrap(7 * 6)) == 42",
             "assert same(sentinel(), sentinel())", "assert dec('ab' * 3) == 'b' + 'abab' + 'a'",
             "assert wrap(2 ** 70) == [1180591620717411303424]", "assert enc('x') == 1 / 0",
             "assert wrap(1) == [10 ** 10 ** 10]")
    res = run_batch(BatchJob(solutions=(solution,), tests=tests, limits=FAST_LIMITS),
                    isolation=level_a)
    # the last two are judged: a ZeroDivisionError and a number too large to fold (it
    # times out in the judge, as in one process)
    assert res.verdicts[0].tolist() == ["pass", "pass", "pass", "pass", "pass",
                                        "error:ZeroDivisionError", "timeout"]
