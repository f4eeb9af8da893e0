"""Token counters and the per-line split of the WizardCoder test token counts."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner.errors import CodecascadeError
from planner.measure.tokens import (
    LLAMA_COEFFICIENTS,
    TokenCountError,
    cl100k_count,
    codegen_approx_count,
    fit_llama_approx,
    llama_approx_count,
    split_line_tokens,
    token_counter,
)

line_text = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\n"),
                    max_size=60)


@given(lines=st.lists(line_text, min_size=0, max_size=8),
       t2=st.integers(0, 300), extra=st.integers(0, 300))
def test_split_keeps_the_recorded_prefix_sums_exactly(lines, t2, extra) -> None:
    t4 = t2 + extra
    counts = split_line_tokens(lines, t2, t4)
    assert len(counts) == 5 and all(c >= 0 for c in counts)
    assert sum(counts[:2]) == t2
    assert sum(counts[:4]) == t4
    if len(lines) < 5:
        assert counts[4] == 0


def test_split_follows_character_length_and_extrapolates_position_five() -> None:
    lines = ["assert f(1) == 1", "assert f(100000) == 100000", "x", "yy", "assert " + "z" * 40]
    counts = split_line_tokens(lines, 30, 40)
    assert counts[0] < counts[1]
    assert counts[2] <= counts[3]
    rate = 40 / sum(len(x) + 1 for x in lines[:4])
    assert counts[4] == round(rate * (len(lines[4]) + 1))


def test_split_rejects_inconsistent_counts() -> None:
    with pytest.raises(CodecascadeError, match="inconsistent"):
        split_line_tokens(["a"], 10, 5)


def test_cl100k_is_the_real_vocabulary() -> None:
    assert cl100k_count("hello world") == 2
    assert cl100k_count("") == 0
    assert cl100k_count("def f(x):\n    return x + 1\n") == 11


def test_codegen_counts_whitespace_runs_as_single_tokens() -> None:
    text = "if x:\n" + " " * 8 + "return y"
    assert codegen_approx_count(text) == cl100k_count("if x:\n") + 1 + cl100k_count("return y")
    assert codegen_approx_count(" " * 40) == 2  # 31 + 9 spaces


def test_llama_approximation_is_monotone_enough_and_never_negative() -> None:
    assert llama_approx_count("") == 0
    assert llama_approx_count("x") >= 1
    short, long = "return x", "return x\n" * 20
    assert llama_approx_count(long) > 10 * llama_approx_count(short) / 2


def test_unknown_counter_is_a_clear_error() -> None:
    with pytest.raises(TokenCountError, match="unknown token counter"):
        token_counter("gpt-2")


def test_llama_approximation_error_on_the_true_counts(shared_data) -> None:
    """Fit on WizardCoder 7B+13B (loops 0-2), measure the error on 34B (held out), and the
    error of the shipped coefficients (fitted on all samples) on 34B loops 3-5."""
    root = shared_data / "wizardcoder-python-humaneval" / "answer"

    def read(size: str, loops: range) -> tuple[list[str], np.ndarray]:
        recs = [r for loop in loops
                for r in json.loads((root / size / f"{size}_p10_l{loop}.json").read_text())]
        return [r["answer"] for r in recs], np.array([r["num_ids"] - 1 for r in recs])

    texts_7, true_7 = read("7B", range(3))
    texts_13, true_13 = read("13B", range(3))
    coefficients = fit_llama_approx(texts_7 + texts_13, np.concatenate([true_7, true_13]))
    for coef, loops in ((coefficients, range(3)), (LLAMA_COEFFICIENTS, range(3, 6))):
        texts, true = read("34B", loops)
        pred = np.array([llama_approx_count(t, coef) for t in texts])
        assert np.abs(pred - true).mean() / true.mean() < 0.06
        assert (np.abs(pred - true) / true).mean() < 0.06
        assert abs(pred.sum() / true.sum() - 1) < 0.03
