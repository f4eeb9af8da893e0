"""Getting programs and ``assert`` lines out of generated text.

Chat and instruction models answer in Markdown (its code blocks are read by
:mod:`planner.runtime.fences`, a CommonMark parser); completion models continue code. Both
extractors also return character spans into the raw text, so that token counts known per
token (logprobs) can be attributed to the lines that were kept. Programs and lines have
``\n`` line ends and no byte-order mark, whatever the reply had.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .fences import CodeBlock, line_starts, parse_blocks
from .prompts import COMPLETION_STOPS


@dataclass(frozen=True)
class Line:
    """One kept line: its text (stripped) and its span [start, end) in the raw text."""

    text: str
    start: int
    end: int


def _truncate_at_stops(text: str) -> str:
    cut = len(text)
    for stop in COMPLETION_STOPS:
        idx = text.find(stop)
        if idx >= 0:
            cut = min(cut, idx)
    return text[:cut]


def extract_code(text: str, prompt: str, entry_point: str, style: str) -> str:
    """The program to run for a generated solution ("" when there is none).

    Completion style: the prompt plus the completion, cut where top-level code starts.
    Otherwise: the first Python (or untagged) code block that defines ``entry_point`` (else
    the first such block, else the whole text); a body without the ``def`` line gets the
    problem's prompt in front.
    """
    text = _normalized(text)
    if style == "completion":
        body = _truncate_at_stops(text)
        return (prompt + body).rstrip() + "\n" if body.strip() else ""
    definition = re.compile(rf"^\s*(async\s+)?def\s+{re.escape(entry_point)}\s*\(", re.MULTILINE)
    blocks = [b.content for b in parse_blocks(text) if b.python]
    candidates = [b for b in blocks if definition.search(b)]
    if candidates:
        code = candidates[0]
    elif blocks:
        code = blocks[0]
    else:
        code = text
    if not code.strip():
        return ""
    if not definition.search(code):
        code = prompt.rstrip("\n") + "\n" + code
    return code.rstrip() + "\n"


def extract_lines(text: str, style: str) -> list[Line]:
    """The code lines of a test generation in order, stripped, with their raw spans.

    Blank lines are kept as lines (the paper's "first l lines" counts raw lines, and so do
    profiles), except a trailing empty piece after the last newline. Completion style
    continues a prompt ending in ``assert ``: the first line gets it back. Otherwise lines
    come from the Python (or untagged) code blocks that contain an ``assert`` (else all
    of them), or from the whole text, fence lines left out, when it has none. A line of a
    block inside a list item or a block quote is its content without that prefix; its span
    is the raw line.
    """
    if style == "completion":
        lines = _whole_text_lines(text)
        if lines:
            first = lines[0]
            lines[0] = Line("assert " + first.text, first.start, first.end)
        return lines
    blocks = [b for b in parse_blocks(text) if b.python]
    with_asserts = [b for b in blocks if re.search(r"^\s*assert\b", b.content, re.M)]
    chosen = with_asserts or blocks
    if not chosen:
        return _whole_text_lines(text)
    return [line for block in chosen for line in _block_lines(block)]


def _normalized(text: str) -> str:
    """``text`` without a leading byte-order mark and with ``\n`` line ends."""
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _block_lines(block: CodeBlock) -> list[Line]:
    contents = block.content.split("\n")
    return [Line(content.strip(), start, end)
            for content, (start, end) in zip(contents, block.line_spans, strict=False)]


def _whole_text_lines(text: str) -> list[Line]:
    starts = line_starts(text)
    lines = []
    for i in range(len(starts) - 1):
        stripped = text[starts[i]:starts[i + 1]].strip().lstrip("\ufeff")
        if not stripped.startswith(("```", "~~~")):
            lines.append(Line(stripped, starts[i], starts[i + 1]))
    return lines
