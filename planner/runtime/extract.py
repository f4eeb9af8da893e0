"""Getting programs and ``assert`` lines out of generated text.

Chat and instruction models answer in markdown; completion models continue code. Both
extractors also return character spans into the raw text, so that token counts known per
token (logprobs) can be attributed to the lines that were kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .prompts import COMPLETION_STOPS

_FENCE_OPEN = re.compile(r"^[ \t]*```[ \t]*([A-Za-z0-9_+-]*)[ \t]*$", re.MULTILINE)
_FENCE_CLOSE = re.compile(r"^[ \t]*```[ \t]*$", re.MULTILINE)
_CODE_LANGS = {"", "python", "py", "python3", "py3"}


@dataclass(frozen=True)
class Line:
    """One kept line: its text (stripped) and its span [start, end) in the raw text."""

    text: str
    start: int
    end: int


def code_blocks(text: str) -> list[tuple[int, int]]:
    """Spans of the contents of markdown code blocks (Python or untagged). An unclosed last
    block (a generation cut off by max_tokens) runs to the end of the text."""
    spans = []
    pos = 0
    while True:
        opening = _FENCE_OPEN.search(text, pos)
        if opening is None:
            break
        start = opening.end() + 1 if opening.end() < len(text) else opening.end()
        closing = _FENCE_CLOSE.search(text, start)
        end = closing.start() if closing else len(text)
        if opening.group(1).lower() in _CODE_LANGS:
            spans.append((start, max(start, end)))
        if closing is None:
            break
        pos = closing.end()
    return spans


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
    Otherwise: the first code block that defines ``entry_point`` (else the first block,
    else the whole text); a body without the ``def`` line gets the problem's prompt in front.
    """
    if style == "completion":
        body = _truncate_at_stops(text)
        return (prompt + body).rstrip() + "\n" if body.strip() else ""
    definition = re.compile(rf"^\s*(async\s+)?def\s+{re.escape(entry_point)}\s*\(", re.MULTILINE)
    blocks = [text[a:b] for a, b in code_blocks(text)]
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
    come from the code blocks that contain an ``assert`` (else all blocks), or from the
    whole text when it has no blocks.
    """
    if style == "completion":
        lines = _lines_in(text, 0, len(text))
        if lines:
            first = lines[0]
            lines[0] = Line("assert " + first.text, first.start, first.end)
        return lines
    spans = code_blocks(text)
    with_asserts = [(a, b) for a, b in spans if re.search(r"^\s*assert\b", text[a:b], re.M)]
    spans = with_asserts or spans or [(0, len(text))]
    result: list[Line] = []
    for start, end in spans:
        result.extend(_lines_in(text, start, end))
    return result


def _lines_in(text: str, start: int, end: int) -> list[Line]:
    lines = []
    pos = start
    while pos < end:
        nl = text.find("\n", pos, end)
        stop = end if nl < 0 else nl + 1
        stripped = text[pos:stop].strip()
        if not stripped.startswith("```"):
            lines.append(Line(stripped, pos, stop))
        pos = stop
    return lines
