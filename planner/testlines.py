"""Test lines: which lines of a model's test generation count as tests.

The method (method.md §1) keeps the first l lines of each test generation and counts as
test lines those that start with the ``assert`` keyword; every other kept line (a comment, a
blank line, a call without an assertion) is a line position but not a test. Lines are raw
lines (:func:`raw_lines`): blank lines count as positions, the empty piece after a final
newline does not. The runtime's stages, the profile builder's line pools, every reader and
the replay server use these rules.
"""

from __future__ import annotations

import re

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
