"""Cutting grid jobs into shards and merging them back (no Ray, no sandbox needed)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.sandbox.fake import RuleExecutor
from planner.sandbox.grid import ExecutionError, GridJob, GridResult, Verdict, expand, run_one
from planner.sandbox.shards import CostModel, makespan, merge_parts, plan_shards


def _rule(solution: str, test: str) -> Verdict:
    """A verdict that depends on both texts, so a misplaced row or column shows."""
    return Verdict(1 + (len(solution) * 7 + len(test) * 3) % 5)


def _named(solution: str, test: str) -> str:
    return f"error:{solution[:1]}{test[:1]}"


class _NamedExecutor(RuleExecutor):
    """A fake whose verdict strings differ per shard (a vocabulary to merge)."""

    def run(self, jobs):
        for index, job in enumerate(jobs):
            names = sorted({_named(s, t) for s in job.solutions for t in job.tests})
            lut = {n: k for k, n in enumerate(names)}
            detail = np.array([[lut[_named(s, t)] for t in job.tests] for s in job.solutions],
                              dtype=np.uint16).reshape(len(job.solutions), len(job.tests))
            codes = np.full(detail.shape, Verdict.ERROR, np.uint8)
            yield index, GridResult(codes, detail, tuple(names), "A")


texts = st.text(alphabet="abcde", min_size=1, max_size=4)

@st.composite
def _job(draw) -> GridJob:
    tests = tuple(draw(st.lists(texts, max_size=6)))
    return GridJob(tuple(draw(st.lists(texts, max_size=9))), tests,
                   check=bool(tests) and draw(st.booleans()))


jobs_strategy = st.lists(_job(), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(jobs=jobs_strategy, cpus=st.integers(1, 64), min_shard=st.sampled_from([0.0, 1e-4, 5.0]))
def test_shards_cover_each_row_once_costliest_first_and_merge_to_the_whole(jobs, cpus, min_shard):
    plan = plan_shards(jobs, cpus, CostModel(row_s=1e-3, pair_s=1e-4), min_shard_s=min_shard)
    seconds = [s.seconds for s in plan.shards]
    assert seconds == sorted(seconds, reverse=True)
    rule = RuleExecutor(_rule)
    for index, job in enumerate(jobs):
        unique = plan.unique[index]
        if not (job.solutions and job.tests):
            assert unique is None and not any(s.job == index for s in plan.shards)
            continue
        mine = sorted((s for s in plan.shards if s.job == index), key=lambda s: s.part)
        assert [s.part for s in mine] == list(range(mine[0].parts)) and len(mine) == mine[0].parts
        assert mine[0].start == 0 and mine[-1].stop == len(unique.solutions)
        assert all(a.stop == b.start and a.rows > 0 for a, b in itertools.pairwise(mine))
        parts = [run_one(rule, plan.shard_job(s)) for s in mine]
        whole = run_one(rule, job)
        merged = expand(merge_parts(parts), plan.rows[index], plan.cols[index])
        assert np.array_equal(merged.codes, whole.codes)
        assert np.array_equal(merged.verdicts, whole.verdicts)


def test_a_costly_job_is_cut_and_small_ones_stay_whole() -> None:
    big = GridJob(tuple(f"s{i}" for i in range(100)), tuple(f"t{j}" for j in range(50)))
    small = GridJob(("a", "b"), ("x",))
    plan = plan_shards([small, big], cpus=4, cost=CostModel(row_s=0.0, pair_s=0.01),
                       waves=2, min_shard_s=1.0)
    # big: 50 s; target max(1, 50.02 / 8) = 6.25 s: 8 shards of 12-13 rows, first
    assert [s.job for s in plan.shards] == [1] * 8 + [0]
    assert sorted(s.rows for s in plan.shards[:8]) == [12, 12, 12, 12, 13, 13, 13, 13]


def test_merging_maps_each_parts_vocabulary_into_one() -> None:
    job = GridJob(("ab", "cd", "ef", "gh"), ("x", "y"))
    executor = _NamedExecutor()
    parts = [run_one(executor, GridJob(job.solutions[:1], job.tests)),
             run_one(executor, GridJob(job.solutions[1:], job.tests))]
    merged = merge_parts(parts)
    want = [[_named(s, t) for t in job.tests] for s in job.solutions]
    assert merged.verdicts.tolist() == want
    assert len(merged.vocabulary) == len(set(merged.vocabulary)) == 8
    assert merged.level == "A"


def test_the_least_isolated_level_wins() -> None:
    a = GridResult(np.ones((1, 1), np.uint8), np.zeros((1, 1), np.uint16), ("pass",), "A")
    b = GridResult(np.ones((1, 1), np.uint8), np.zeros((1, 1), np.uint16), ("pass",), "B")
    assert merge_parts([a, b]).level == merge_parts([b, a]).level == "B"


def test_makespan_is_greedy_costliest_first() -> None:
    assert makespan([3, 3, 2, 2, 2], cpus=2) == pytest.approx(7.0)  # 3+2+2 | 3+2
    assert makespan([10, 1, 1], cpus=8) == pytest.approx(10.0)       # the longest is the floor
    assert makespan([1.0] * 4, cpus=2, overhead_s=0.5) == pytest.approx(3.0)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"row_s": -1.0}, "row_s"), ({"pair_s": float("nan")}, "pair_s"),
    ({"row_s": 0.0, "pair_s": 0.0}, "positive"),
])
def test_bad_cost_models_are_one_line_errors(kwargs, match) -> None:
    with pytest.raises(ExecutionError, match=match):
        CostModel(**kwargs)


def test_bad_cpus_are_refused() -> None:
    with pytest.raises(ExecutionError, match="cpus"):
        plan_shards([GridJob(("a",), ("b",))], cpus=0)
