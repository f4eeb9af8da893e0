"""``measure --records generations.jsonl``: the profile from collected generations (a
stand-in executor decides verdicts from the texts), refusals of mixed inputs, and
incremental measurement (only new pairs run; the result equals a build from scratch)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from collect_helpers import (
    ENDPOINTS,
    EXPECTED,
    TextExecutor,
    line,
    problem_rows,
    standard_lines,
    write_endpoints,
    write_lines,
    write_problems,
)

from planner.measure import MeasureSources, build_profile
from planner.measure.sources import SourceError
from planner.problems import load_problems
from planner.profile import ARRAY_SPECS
from planner.records import read_collected, validate_record


def build(tmp_path: Path, records, problems, *, name="p.npz", cache="cells", warnings=None,
          **sources):
    executor = TextExecutor()
    result = build_profile(tmp_path / name, MeasureSources(records=tuple(records), **sources),
                           problems=problems, executor=executor,
                           cache=tmp_path / cache, overwrite=True,
                           warn=(warnings.append if warnings is not None else None))
    return result, executor


def same_profile(a, b) -> None:
    assert a.model_names == b.model_names and a.problems == b.problems
    assert [m.to_json() for m in a.models] == [m.to_json() for m in b.models]
    for name in ARRAY_SPECS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.shape == y.shape and x.dtype == y.dtype and np.array_equal(x, y), name


def test_every_line_matches_the_committed_schema(tmp_path, problems_file):
    path = write_lines(tmp_path / "g.jsonl", standard_lines(problems_file, failed=1))
    for text in path.read_text().splitlines():
        validate_record(json.loads(text))
    broken = json.loads(path.read_text().splitlines()[0])
    broken["endpoint"]["top_p"] = 2
    with pytest.raises(Exception, match="endpoint/top_p"):
        validate_record(broken)
    del broken["endpoint"]
    with pytest.raises(Exception, match="endpoint"):
        validate_record(broken)
    records = [r for _, r in read_collected(path)]
    assert records == standard_lines(problems_file, failed=1)


def test_profile_from_generations_is_cross_model_with_usage_tokens_prices_and_provenance(
        tmp_path, problems_file):
    gens = write_lines(tmp_path / "g.jsonl", standard_lines(problems_file, failed=1))
    result, executor = build(tmp_path, [gens], problems_file)
    profile = result.profile
    assert profile.model_names == ("small", "large")
    assert profile.problems == tuple(f"T/{i}" for i in range(4))
    assert result.pairs_run == executor.pairs > 0 and result.pairs_reused == 0
    # Infrastructure failures are not samples: 4 samples each, not 5.
    assert (profile.n_samples == 4).all() and (profile.n_test_generations == 3).all()
    # Tokens are the reported usage: 10 + value per solution, 3, 4, 5 per test line.
    small = profile.model_index("small")
    expected = EXPECTED[0]
    assert list(profile.sample_tokens[small, 0]) == [10 + expected, 15 + expected] * 2
    assert list(profile.test_line_tokens[small, 0, 0]) == [3, 4, 5, 0, 0]
    assert profile.prompt_tokens[small, 0] == 40 and profile.test_prompt_tokens[small, 0] == 50
    # Prices are the endpoints file's, carried by the lines ($ per token).
    assert profile.models[small].price_generated == pytest.approx(1e-6)
    assert profile.models[small].price_prompt == pytest.approx(0.5e-6)
    assert profile.models[1].price_generated == pytest.approx(10e-6)
    # Cross-model: the small model's right answer passes the large model's right line.
    p = 0
    right = profile.sample_solution[small, p, 0]
    large_line = profile.test_line[1, p, 0, 0]
    assert profile.solution_correct[p, right] and profile.pass_matrix[p, right, large_line]
    wrong = profile.sample_solution[small, p, 1]
    assert not profile.solution_correct[p, wrong]
    assert not profile.pass_matrix[p, wrong, large_line]
    info = profile.provenance["models"]["small"]
    assert info["served_model"] == "org/small-7b" and info["base_url"].startswith("http://")
    assert info["sampling"]["temperature"] == 0.8 and info["sampling"]["max_tokens"] == 1024
    assert info["collected"]["first"].startswith("2025-01-02")
    assert info["collected"]["infrastructure_failures_skipped"] == 4
    assert info["price"]["date"] == "2025-01-02"


def test_endpoints_file_prices_and_orders_the_models(tmp_path, problems_file):
    gens = write_lines(tmp_path / "g.jsonl", standard_lines(problems_file))
    repriced = json.loads(json.dumps(ENDPOINTS))
    repriced["models"] = {"large": {**repriced["models"]["large"],
                                    "price_per_1m_generated": 20.0},
                          "small": repriced["models"]["small"]}
    eps = write_endpoints(tmp_path / "new.toml", repriced)
    result, _ = build(tmp_path, [gens], problems_file, endpoints=eps)
    assert result.profile.model_names == ("large", "small")
    assert result.profile.models[0].price_generated == pytest.approx(20e-6)


@pytest.mark.parametrize("change, message", [
    ({"temperature": 0.2}, "temperature 0.2 vs 0.8"),
    ({"model": "org/other"}, "model 'org/other' vs 'org/small-7b'"),
    ({"base_url": "http://10.0.0.1:8000/v1"}, "base_url"),
    ({"style": "completion"}, "style 'completion' vs 'chat'"),
    ({"max_tokens": 300}, "max_tokens 300 vs 1024"),
    ({"system_prompt": "Be brief."}, "prompt templates differ"),
])
def test_generations_from_other_endpoints_or_samplings_are_refused(tmp_path, problems_file,
                                                                   change, message):
    other = json.loads(json.dumps(ENDPOINTS))
    other["models"]["small"].update(change)
    problems = load_problems(problems_file)
    first = standard_lines(problems_file)
    gens = write_lines(tmp_path / "g.jsonl", first)
    extra = write_lines(tmp_path / "h.jsonl",
                        [line("small", problems[0], [1, 1], [[1]], endpoints=other)])
    # Two files with the same model asked differently.
    with pytest.raises(SourceError, match=f"h.jsonl:1: 'small' was collected differently.*"
                                          f"{message}.*--allow-mixed"):
        build(tmp_path, [gens, extra], problems_file)
    warnings: list[str] = []
    result, _ = build(tmp_path, [gens, extra], problems_file, allow_mixed=True,
                      warnings=warnings)
    assert any("--allow-mixed" in w for w in warnings) and result.profile.n_problems == 4
    # The endpoints file now says something else than what was collected.
    eps = write_endpoints(tmp_path / "other.toml", other)
    with pytest.raises(SourceError, match=r"collected differently from what .*other\.toml"):
        build(tmp_path, [gens], problems_file, endpoints=eps)
    # A model the endpoints file does not know.
    only_large = {"defaults": ENDPOINTS["defaults"],
                  "models": {"large": ENDPOINTS["models"]["large"]}}
    with pytest.raises(SourceError, match=r"'small' is not in .*only\.toml"):
        build(tmp_path, [gens], problems_file,
              endpoints=write_endpoints(tmp_path / "only.toml", only_large))


def test_a_different_prompt_is_refused(tmp_path, problems_file):
    gens = write_lines(tmp_path / "g.jsonl", standard_lines(problems_file))
    rows = problem_rows()
    rows[2]["prompt"] += "    # edited\n"
    edited = write_problems(tmp_path / "edited.jsonl", rows)
    with pytest.raises(SourceError, match=r"g\.jsonl:3: 'T/2' was collected for a "
                                          "different prompt"):
        build(tmp_path, [gens], edited)
    with pytest.raises(SourceError, match="not in the problems"):
        build(tmp_path, [gens], write_problems(tmp_path / "two.jsonl", problem_rows()[:2]))


def test_a_truncated_last_line_is_ignored_with_a_warning(tmp_path, problems_file):
    gens = write_lines(tmp_path / "g.jsonl", standard_lines(problems_file))
    whole = gens.read_text()
    gens.write_text(whole + whole.splitlines()[0][:200])
    warnings: list[str] = []
    result, _ = build(tmp_path, [gens], problems_file, warnings=warnings)
    assert warnings == [f"{gens}:9: the last line is incomplete (a collection killed "
                        "mid-write); ignoring it"]
    assert result.profile.n_problems == 4 and result.profile.n_models == 2


def test_problems_without_tests_are_named_and_skipped(tmp_path, problems_file):
    gens = write_lines(tmp_path / "g.jsonl", standard_lines(problems_file))
    rows = problem_rows()
    del rows[1]["test"], rows[3]["test"]
    partial = write_problems(tmp_path / "partial.jsonl", rows)
    result, _ = build(tmp_path, [gens], partial)
    assert result.without_ground_truth == ("T/1", "T/3")
    assert result.profile.problems == ("T/0", "T/2")


def test_incomplete_pairs_are_reported(tmp_path, problems_file):
    records = standard_lines(problems_file)
    problems = load_problems(problems_file)
    records[1] = line("small", problems[1], [2, 2], [[2], [2], [2]], greedy=2,
                      greedy_test=[2])
    warnings: list[str] = []
    result, _ = build(tmp_path, [write_lines(tmp_path / "g.jsonl", records)], problems_file,
                      warnings=warnings)
    assert any("1 (model, problem) pairs hold fewer generations" in w and "small on T/1" in w
               for w in warnings)
    assert result.profile.n_samples[0, 1] == 2


THREE = {"defaults": ENDPOINTS["defaults"],
         "models": {**ENDPOINTS["models"],
                    "medium": {"model": "org/medium-13b", "price_per_1m_generated": 3.0}}}


def _grow(kind: str, problems_file: Path, tmp_path: Path):
    """(lines before, lines after) for one kind of growth of a collection."""
    if kind == "a model":
        return (standard_lines(problems_file, ("small", "large"), endpoints=THREE),
                standard_lines(problems_file, ("small", "large", "medium"), endpoints=THREE))
    if kind == "more samples":
        before = standard_lines(problems_file, n_samples=2, n_tests=2)
        problems = load_problems(problems_file)
        more = [line(r.model, problems[int(r.task_id[2:])], [20, 30], [[40, 50]])
                for r in before]
        return before, before + more
    bigger = write_problems(tmp_path / "problems.jsonl", problem_rows((*EXPECTED, 5, 6)))
    after = standard_lines(bigger)
    return [r for r in after if r.task_id in ("T/0", "T/1", "T/2", "T/3")], after


@pytest.mark.parametrize("kind", ["a model", "more samples", "more problems"])
def test_growth_runs_only_the_new_pairs_and_equals_a_build_from_scratch(tmp_path,
                                                                        problems_file, kind):
    before_lines, after_lines = _grow(kind, problems_file, tmp_path)
    before, first = build(tmp_path, [write_lines(tmp_path / "a.jsonl", before_lines)],
                          problems_file)
    grown = write_lines(tmp_path / "b.jsonl", after_lines)
    after, second = build(tmp_path, [grown], problems_file, name="q.npz")
    scratch, fresh = build(tmp_path, [grown], problems_file, name="r.npz", cache="fresh")
    same_profile(after.profile, scratch.profile)
    assert after.profile.n_problems >= before.profile.n_problems
    # Every verdict measured before is reused, and the cells executed now plus those reused
    # are exactly the cells of a build from scratch: no cell ran twice.
    assert after.pairs_reused == before.pairs_run == first.pairs
    assert after.pairs_run == second.pairs > 0
    assert after.pairs_run + after.pairs_reused == scratch.pairs_run == fresh.pairs
