"""Test lines: which lines of a model's test generation count as tests.

The method (method.md §1) keeps the first l lines of each test generation and counts as
test lines those that start with the ``assert`` keyword; every other kept line (a comment, a
blank line, a call without an assertion) is a line position but not a test. Lines are raw
lines (:func:`raw_lines`): blank lines count as positions, the empty piece after a final
newline does not. The runtime's stages, the profile builder's line pools, every reader and
the replay server use these rules.
"""

from __future__ import annotations

import ast
import re
import warnings

from .vocabulary import ScoringRule

#: Line positions of a test generation that a profile keeps (the seed paper asked its models
#: for 5 assert lines; ``collect`` asks for as many).
LINE_POSITIONS = 5

_ASSERT = re.compile(r"assert\b")


def is_test_line(line: str) -> bool:
    """True when ``line``, leading and trailing whitespace removed, starts with the
    ``assert`` keyword (``assert_x = 1`` and ``asserted(...)`` are not test lines)."""
    return _ASSERT.match(line.strip()) is not None


def raw_lines(text: str) -> list[str]:
    """The lines of a generated text as line positions count them: the text split on
    newlines, without the empty piece after a final newline (``"a\\n"`` is one line,
    ``""`` none)."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


#: Longest line :func:`solution_independent` parses (a test generation's line is far
#: shorter; a longer one is left to the sandbox, which decides it like any other).
MAX_ANALYSED_CHARS = 2000

#: Expression kinds whose truth value is fixed: displays with elements, lambdas,
#: generator expressions, comprehensions are objects (a non-empty tuple is always true).
_ALWAYS_TRUE_DISPLAYS = (ast.Tuple, ast.List, ast.Set, ast.Dict)


def solution_independent(line: str, entry_point: str) -> bool:
    """True when the verdict of the assert ``line`` does not depend on the solution: a
    line that cannot fail (its test is always true: ``assert True``, ``assert 1``, a
    non-empty tuple such as ``assert (isinstance(x, list), "msg")``, which Python warns
    about, a lambda) or whose test never calls the function under test ``entry_point``.

    "Calls" means that the name ``entry_point`` (or an attribute of that name, as in
    ``Solution().f(x)``) occurs anywhere inside a call expression: as its callee
    (``f(x)``, ``(lambda: f(1))()``, ``f.__call__(1)``) or anywhere in its arguments
    (``map(f, xs)``, ``sorted(xs, key=f)``, ``reduce(f, xs)``, ``all(g(1) for g in [f])``),
    since a higher-order function may call it. Everything else does not call it and is
    solution-independent: no mention at all (``assert 1 + 1 == 2``, ``assert False``) and
    a bare reference to the function object (``assert f``, ``assert f is not None``,
    ``assert f != None``, ``assert not f is None``, ``assert f.__name__ == "f"``), which
    holds for every solution that defines ``f`` (a solution that does not define it
    fails every line alike). The rule is conservative: any mention inside a call counts
    as calling, so ``assert callable(f)`` and ``assert f.__name__.startswith("f")`` are
    kept though they cannot tell two definitions apart.

    Such a line says nothing about a solution. The project's own scoring rules
    (``pass_fraction``, ``consensus``) leave it out of the pass matrix; the ``paper`` rule
    keeps it, because the paper counts raw lines. The line is only parsed (no code object,
    no constant folding, nothing run); lines that do not parse alone (a multi-line
    ``assert`` split into raw lines) or are longer than :data:`MAX_ANALYSED_CHARS` are
    kept."""
    text = line.strip()
    if not is_test_line(text) or len(text) > MAX_ANALYSED_CHARS:
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Assert):
        return False
    test = tree.body[0].test
    if _always_true(test):
        return True
    return not _calls(test, entry_point)


def counts_every_line(rule: ScoringRule) -> bool:
    """True when ``rule`` counts every kept assert line, solution-independent ones
    included: the ``paper`` rule, which counts raw lines as the paper does. The project's
    own rules (``pass_fraction``, ``consensus``) leave out the lines
    :func:`solution_independent` finds. The one place this choice is written: the runtime
    (:mod:`planner.runtime.runner`) and the estimator (:mod:`planner.estimate.draws`, on a
    profile's ``line_informative`` mask) both ask it."""
    return rule is ScoringRule.PAPER


def _calls(test: ast.expr, entry_point: str) -> bool:
    """True when ``entry_point`` is named (a name or an attribute) inside a call in
    ``test``: one pass over the tree, each node with whether a call encloses it."""
    stack: list[tuple[ast.AST, bool]] = [(test, False)]
    while stack:
        node, in_call = stack.pop()
        in_call = in_call or isinstance(node, ast.Call)
        if in_call and ((isinstance(node, ast.Name) and node.id == entry_point)
                        or (isinstance(node, ast.Attribute) and node.attr == entry_point)):
            return True
        stack.extend((child, in_call) for child in ast.iter_child_nodes(node))
    return False


def _always_true(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return bool(node.value)
    if isinstance(node, _ALWAYS_TRUE_DISPLAYS):
        return bool(node.keys if isinstance(node, ast.Dict) else node.elts)
    return isinstance(node, ast.Lambda | ast.GeneratorExp)
