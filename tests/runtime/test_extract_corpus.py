"""Extraction on real replies: every recorded WizardCoder-Python answer (../shared/data).

The recorded answers are whole functions; 51 / 251 / 170 of the 16,400 sampled answers of
the 7B / 13B / 34B model end with a lone closing fence (and 3 / 11 / 0 more have text
after such a fence). Wherever an answer's code (the answer without its fence lines)
compiles, the extracted program compiles too, and no answer with code extracts to nothing.
Compiling model output happens in a child process, never in the test's own.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from planner.runtime.extract import extract_code
from planner.runtime.fences import parse_blocks

pytestmark = pytest.mark.slow


def compiles(sources: list[str]) -> list[bool]:
    """benchmarks/count_test_lines.py's child-process compile check (one home for it)."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "count_test_lines.py"
    spec = importlib.util.spec_from_file_location("count_test_lines", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.compiles(sources, timeout=600)


def without_fence_lines(text: str) -> str:
    return "\n".join(line for line in text.split("\n")
                     if not line.strip().startswith(("```", "~~~")))


@pytest.mark.parametrize("size, ending_in_fence, text_after_fence",
                         [("7B", 51, 3), ("13B", 251, 11), ("34B", 170, 0)])
def test_every_recorded_wizardcoder_answer_extracts_to_code_that_compiles_where_it_does(
        shared_data, size, ending_in_fence, text_after_fence):
    from planner.measure.wizardcoder import load_release
    from planner.problems import load_problems

    root = shared_data / "wizardcoder-python-humaneval"
    problems = load_problems(str(root / "HumanEval.json"))
    release = load_release(root, size, len(problems))
    answers: dict[tuple[int, str], bool] = {}  # distinct (problem, text) -> sampled?
    for number in range(len(problems)):
        for sample in release.samples.get(number, ()):
            answers[(number, sample.text)] = True
        greedy = release.greedy.get(number)
        if greedy is not None:
            answers.setdefault((number, greedy.text), False)
    sampled = [text for number in range(len(problems))
               for text in (s.text for s in release.samples.get(number, ()))]
    assert len(sampled) == 16_400
    ends = [t for t in sampled if "```" in t and not t.rstrip().split("\n")[-1].strip("` ")
            and not t.lstrip().startswith("```")]
    lone = [t for t in sampled if "```" in t and not t.lstrip().startswith("```")
            and parse_blocks(t) and parse_blocks(t)[0].start == 0]
    assert len(ends) == ending_in_fence
    assert len(lone) == ending_in_fence + text_after_fence

    keys = list(answers)
    extracted = [extract_code(text, problems[number].prompt, problems[number].entry_point,
                              "chat") for number, text in keys]
    code = [without_fence_lines(text) for _, text in keys]
    empty = [key for key, out, raw in zip(keys, extracted, code, strict=True)
             if raw.strip() and not out.strip()]
    assert not empty, empty[:3]
    # An answer extracted to itself compiles exactly where it does: compile the others.
    differ = [i for i, (out, raw) in enumerate(zip(extracted, code, strict=True))
              if out.rstrip() != raw.rstrip()]
    assert len(differ) < len(keys) // 10
    raw_ok = compiles([code[i] for i in differ])
    out_ok = compiles([extracted[i] for i in differ])
    broken = [keys[i] for i, r, o in zip(differ, raw_ok, out_ok, strict=True) if r and not o]
    assert not broken, broken[:3]
