"""Extraction of programs and assert lines, and prompts in the three styles."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.runtime.endpoints import EndpointError, parse_endpoints
from planner.runtime.extract import extract_code, extract_lines
from planner.runtime.fences import code_blocks
from planner.runtime.prompts import solution_prompt, test_prompt
from planner.testlines import is_test_line

PROMPT = 'def add(a, b):\n    """Add two numbers."""\n'


def endpoint(**extra):
    table = {"base_url": "http://127.0.0.1:1/v1", "model": "m", **extra}
    return parse_endpoints({"models": {"m": table}})["m"]


def test_code_from_chat_answer_prefers_block_defining_the_entry_point():
    text = ("Sure!\n```python\nimport math\n```\nHere it is:\n```python\n"
            "def add(a, b):\n    return a + b\n```\nDone.")
    assert extract_code(text, PROMPT, "add", "chat") == "def add(a, b):\n    return a + b\n"


def test_unclosed_fence_of_a_cut_off_generation_runs_to_the_end():
    text = "```python\ndef add(a, b):\n    return a +"
    assert code_blocks(text) == [(10, len(text))]
    assert extract_code(text, PROMPT, "add", "chat").startswith("def add(a, b):")


def test_body_without_def_gets_the_prompt_in_front():
    code = extract_code("```python\n    return a + b\n```", PROMPT, "add", "instruction")
    assert code == PROMPT + "    return a + b\n"


def test_plain_answer_without_fences_is_the_program():
    text = "def add(a, b):\n    return a + b\n"
    assert extract_code(text, PROMPT, "add", "instruction") == text


def test_completion_style_continues_the_prompt_and_stops_at_top_level_code():
    code = extract_code("    return a + b\n\n\ndef other():\n    pass\n", PROMPT, "add",
                        "completion")
    assert code == PROMPT + "    return a + b\n"
    assert extract_code("   ", PROMPT, "add", "completion") == ""


def test_non_python_blocks_are_ignored():
    text = "```bash\nrm -rf /\n```\n```python\ndef add(a, b):\n    return 3\n```"
    assert "rm" not in extract_code(text, PROMPT, "add", "chat")


def test_test_lines_come_from_the_block_with_asserts_blank_lines_keep_positions():
    text = ("```python\ndef add(a, b):\n    return a + b\n```\n```python\n"
            "assert add(1, 2) == 3\n\n  assert add(0, 0) == 0\nprint('x')\n```")
    lines = extract_lines(text, "chat")
    assert [ln.text for ln in lines] == ["assert add(1, 2) == 3", "",
                                         "assert add(0, 0) == 0", "print('x')"]
    assert [is_test_line(ln.text) for ln in lines] == [True, False, True, False]
    assert not is_test_line("asserting()")


def test_completion_test_lines_get_assert_back():
    lines = extract_lines("add(1, 2) == 3\nassert add(2, 2) == 4\n", "completion")
    assert [ln.text for ln in lines] == ["assert add(1, 2) == 3", "assert add(2, 2) == 4"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", " ", "\n", "\r\n", "\r", "`", "```", "~", "python",
                                  "> ", "- ", "def ", "assert ", "\ufeff"]),
                max_size=30).map("".join))
def test_line_spans_point_at_their_text(text):
    for style in ("chat", "completion"):
        for line in extract_lines(text, style):
            raw = text[line.start:line.end]
            assert line.text.removeprefix("assert ") in raw
            assert "\n" not in line.text and "\r" not in line.text
            assert 0 <= line.start <= line.end <= len(text)


# ---- reply shapes seen in real data: each example with its right value -----------------

FUNCTION = "def add(a, b):\n    return a + b\n"


@pytest.mark.parametrize("reply", [
    FUNCTION + "```",  # a lone closing fence (51 / 251 / 170 recorded WizardCoder answers)
    FUNCTION + "``` ",
    FUNCTION + "```\n\nLet's test the function:\n\n```python\nprint(add(1, 2))",
    FUNCTION + "```\nThis adds a and b.\n",
    "```python title=\"add.py\"\n" + FUNCTION + "```\n",  # info string after the language
    "```py {linenos=true}\n" + FUNCTION + "```",
    "\ufeff```python\n" + FUNCTION + "```\n",  # byte-order mark before the fence
    "\ufeff" + FUNCTION + "```",
    "Here it is:\r\n```python\r\n" + FUNCTION.replace("\n", "\r\n") + "```\r\nDone.\r\n",
    "Here it is:\r```python\r" + FUNCTION.replace("\n", "\r") + "```\rDone.",  # CR only
    "Here it is:\n~~~python\n" + FUNCTION + "~~~\nDone.",
    "1. Write it:\n\n   ```python\n   def add(a, b):\n       return a + b\n   ```\n",
    "> ```python\n> def add(a, b):\n>     return a + b\n> ```\n",
    "````python\n" + FUNCTION + "```\n````\n",  # a longer fence holds a shorter one
])
def test_replies_as_models_write_them_extract_to_the_function(reply):
    assert extract_code(reply, PROMPT, "add", "chat") == FUNCTION + (
        "```\n" if reply.startswith("````") else "")


def test_code_before_a_lone_closing_fence_is_kept_whole():
    reply = "from typing import List\n\n\n" + FUNCTION + "```\n"
    assert extract_code(reply, PROMPT, "add", "chat") == reply.removesuffix("```\n")


def test_a_lone_closing_fence_after_prose_is_an_unclosed_block_and_indented_fences_are_code():
    # prose, then a fence: a block cut off by max_tokens (no code before the fence)
    assert extract_code("Sure, here:\n```\n" + FUNCTION, PROMPT, "add", "chat") == FUNCTION
    # backticks indented as code are part of the program, not a fence
    text = 'def add(a, b):\n    """\n    ```\n    add(1, 2)\n    ```\n    """\n    return 3\n'
    assert extract_code(text, PROMPT, "add", "chat") == text
    assert code_blocks(text) == []


def test_test_lines_with_crlf_or_a_lone_closing_fence_are_the_asserts_not_the_prose():
    crlf = ("Here are the tests:\r\n```python\r\nassert add(1, 2) == 3\r\n"
            "assert add(0, 0) == 0\r\n```\r\nThey check small numbers.\r\n")
    lines = extract_lines(crlf, "chat")
    assert [ln.text for ln in lines] == ["assert add(1, 2) == 3", "assert add(0, 0) == 0"]
    assert crlf[lines[0].start:lines[0].end] == "assert add(1, 2) == 3\r\n"
    lone = "assert add(1, 2) == 3\nassert add(2, 2) == 4\n```\nThese tests check add.\n"
    assert [ln.text for ln in extract_lines(lone, "chat")] == [
        "assert add(1, 2) == 3", "assert add(2, 2) == 4"]
    bom = "\ufeffassert add(1, 2) == 3\n"
    assert [ln.text for ln in extract_lines(bom, "chat")] == ["assert add(1, 2) == 3"]


def test_prompts_in_each_style():
    chat = solution_prompt(endpoint(style="chat", system_prompt="be brief"), PROMPT, "add")
    assert chat.is_chat and chat.messages[0]["role"] == "system"
    assert PROMPT.rstrip() in chat.messages[-1]["content"]
    instr = test_prompt(endpoint(style="instruction"), PROMPT, "add", 4)
    assert instr.text.startswith("Below is an instruction")
    assert "Write 4 test cases" in instr.text and "assert" in instr.text
    comp = test_prompt(endpoint(style="completion"), PROMPT, "add", 2)
    assert comp.text.startswith(PROMPT.rstrip()) and comp.text.endswith("assert ")
    assert solution_prompt(endpoint(style="completion"), PROMPT, "add").stop
    custom = solution_prompt(endpoint(solution_template="Do {entry_point}: {prompt}"),
                             PROMPT, "add")
    assert custom.messages[-1]["content"].startswith("Do add: def add")
    with pytest.raises(EndpointError, match="bad prompt template"):
        solution_prompt(endpoint(solution_template="{nope}"), PROMPT, "add")
