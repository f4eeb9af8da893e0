"""Token accounting: the apportioner, line tokens from token offsets, the WizardCoder
per-line split, and the counters."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from planner.errors import CodecascadeError
from planner.runtime.replay_server import synthetic_tokens
from planner.tokens import (
    COUNTERS,
    LLAMA_COEFFICIENTS,
    TokenCountError,
    apportion,
    cl100k_count,
    codegen_approx_count,
    fit_llama_approx,
    line_tokens,
    llama_approx_count,
    split_line_tokens,
    token_counter,
)

line_text = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\n"),
                    max_size=60)


@given(lines=st.lists(line_text, min_size=0, max_size=8),
       t2=st.integers(0, 300), extra=st.integers(0, 300))
def test_split_keeps_the_recorded_prefix_sums_where_the_lines_exist(lines, t2, extra) -> None:
    t4 = t2 + extra
    split = split_line_tokens(lines, t2, t4)
    assert len(split.counts) == len(lines) and all(c >= 0 for c in split.counts)
    positions = split.positions(5)
    assert len(positions) == 5
    if len(lines) >= 3:
        assert sum(positions[:2]) == t2 and sum(positions[:4]) == t4
        assert split.unplaced == 0
    elif lines:
        assert sum(positions) == t2 and split.unplaced == t4 - t2
    else:
        assert positions == (0,) * 5 and split.unplaced == t4
    if len(lines) < 5:
        assert positions[4] == 0
    assert split.total == sum(split.counts) + split.unplaced


def test_split_follows_character_length_and_extrapolates_later_lines() -> None:
    lines = ["assert f(1) == 1", "assert f(100000) == 100000", "x", "yy", "assert " + "z" * 40,
             ""]
    counts = split_line_tokens(lines, 30, 40).counts
    assert counts[0] < counts[1]
    assert counts[2] <= counts[3]
    rate = 40 / sum(len(x) + 1 for x in lines[:4])
    assert counts[4] == round(rate * (len(lines[4]) + 1)) and counts[5] == 1


def test_a_one_line_generation_keeps_its_tokens_and_leaves_the_rest_unplaced() -> None:
    """The replay server once charged such a generation num_ids_4 (15) and the profile
    builder num_ids_2 (10): both now take this split."""
    split = split_line_tokens(["assert f(1) == 2"], 10, 15)
    assert split.counts == (10,) and split.unplaced == 5 and split.total == 15
    assert split.positions(5) == (10, 0, 0, 0, 0)


def test_split_rejects_inconsistent_counts() -> None:
    with pytest.raises(CodecascadeError, match="inconsistent"):
        split_line_tokens(["a"], 10, 5)
    with pytest.raises(TokenCountError, match="inconsistent"):
        split_line_tokens(["a"], -1, 5)


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
    with pytest.raises(TokenCountError, match="unknown token counter 'gpt-2'; known: cl100k"):
        token_counter("gpt-2")
    assert [token_counter(name)("x y") > 0 for name in COUNTERS] == [True] * 3


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


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10_000), st.lists(st.integers(0, 50), min_size=1, max_size=12))
def test_apportion_sums_exactly_and_is_proportional(total, weights):
    parts = apportion(total, weights)
    assert sum(parts) == total and all(p >= 0 for p in parts)
    if sum(weights):
        for p, w in zip(parts, weights, strict=True):
            assert abs(p - total * w / sum(weights)) < 1 + 1e-9
            if w == 0:
                assert p == 0
    else:
        assert max(parts) - min(parts) <= 1 and parts == sorted(parts, reverse=True)


def test_apportion_known_values_and_bad_input():
    assert apportion(10, [1, 1, 1]) == [4, 3, 3]
    assert apportion(5, [0, 0]) == [3, 2]
    assert apportion(7, []) == []
    assert apportion(3, [2, 1, 0]) == [2, 1, 0]
    with pytest.raises(ValueError, match="weights >= 0"):
        apportion(3, [1, -1])


def test_line_tokens_exact_from_token_starts_else_by_characters():
    spans = [(0, 10), (10, 20)]
    assert line_tokens(spans, 25, 99, [0, 3, 10, 12, 15, 21]) == ([2, 3], False)
    counts, estimated = line_tokens(spans, 30, 30, None)
    assert estimated and counts == [10, 10]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="ab =", max_size=30), min_size=1, max_size=8),
       st.integers(0, 60), st.integers(0, 60))
def test_synthetic_tokens_reproduce_the_split_line_by_line(lines, n2, extra):
    text = "\n".join(lines)
    counts = split_line_tokens(lines, n2, n2 + extra).counts
    # Synthetic tokens reproduce the counts line by line under the runtime's rule (a token
    # belongs to the line it starts in), except what no token can carry: a first line with
    # no tokens, and a final empty line.
    assume(counts[0] > 0)
    segments = [(line + ("\n" if i < len(lines) - 1 else ""), c)
                for i, (line, c) in enumerate(zip(lines, counts, strict=True))]
    tokens = synthetic_tokens(segments)
    assert "".join(tokens) == text
    starts, pos = [], 0
    for tok in tokens:
        starts.append(pos)
        pos += len(tok)
    spans, pos = [], 0
    for seg, _ in segments:
        spans.append((pos, pos + len(seg)))
        pos += len(seg)
    got, _ = line_tokens(spans, len(text), sum(counts), starts)
    last = len(lines) - 1 if lines[-1] == "" else len(lines)
    assert got[:last] == list(counts[:last])
