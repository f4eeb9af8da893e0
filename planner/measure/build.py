"""Building a profile: pool the generations, execute the cross-model grid, assemble arrays.

Per problem, the distinct solution programs of all models form one pool and the distinct
assert lines of all models another (first appearance order: models in the given order,
each model's samples, then its greedy output). One grid per problem runs every pooled
program, plus the reference program, with every pooled assert line (under the executor's
per-line limit), plus the ground-truth test (run first, under the executor's check limit).
So the pass matrix is cross-model: any model's solutions are scored on any model's lines.
Results go to a
:class:`~planner.measure.store.CellStore` after every job, so the build resumes after a
kill and later builds reuse every measured cell.
"""

from __future__ import annotations

import datetime as _dt
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import progress
from ..errors import CodecascadeError
from ..problems import Problem, without_ground_truth
from ..profile import RUN_KEY, ModelInfo, Profile, file_sha256, text_hash
from ..sandbox.grid import VERDICT_NAMES, Executor, GridConfig, GridJob, JobsFailed, Verdict
from ..sandbox.modes import Clock
from ..testlines import is_test_line, solution_independent
from .prices import ModelPrice, PriceError
from .sources import LINE_POSITIONS, ModelGenerations, TestGeneration
from .store import CellStore, CellTable, blocks
from .timeouts import final_codes, needed, stored_codes

#: The profile builder's execution settings: 0.25 s of CPU time per assert line (CodeT uses
#: 0.1 s), 1 s for the ground-truth check, one process per solution (planner/data/README.md).
MEASURE_CONFIG = GridConfig(test_timeout=0.25, check_timeout=1.0, clock=Clock.CPU)


class MeasureError(CodecascadeError):
    """A measurement cannot be assembled (no problems, a model without a price …)."""


@dataclass(frozen=True)
class ProblemPool:
    """The distinct solution programs and assert lines of one problem, over all models."""

    problem: Problem
    solutions: tuple[str, ...]
    lines: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.problem.has_ground_truth:
            raise MeasureError(f"{self.problem.task_id}: no ground truth to measure against")

    @property
    def has_reference(self) -> bool:
        return self.problem.reference_program is not None

    def _rows(self) -> list[str]:
        """Grid rows: the reference program first (if any), then the pooled programs."""
        reference = self.problem.reference_program
        return [*([reference] if reference is not None else []), *self.solutions]

    def _cols(self) -> list[str]:
        """Grid columns: the ground-truth test first (so that a solution stopped after
        repeated timeouts on generated lines is still judged), then the pooled lines."""
        return [self.problem.ground_truth_test or "", *self.lines]

    @property
    def solution_keys(self) -> list[str]:
        return [text_hash(s) for s in self._rows()]

    @property
    def test_keys(self) -> list[str]:
        return [text_hash(t) for t in self._cols()]

    def job(self, rows: np.ndarray, cols: np.ndarray) -> GridJob:
        """The execution job of the given grid rows and (ascending) columns; column 0, the
        ground truth, comes first and runs under the check limit."""
        sol, tests = self._rows(), self._cols()
        return GridJob(tuple(sol[i] for i in rows), tuple(tests[j] for j in cols),
                       check=bool(len(cols)) and int(cols[0]) == 0)


def _assert_lines(gen: TestGeneration) -> list[str]:
    return [line.strip() for line in gen.lines if is_test_line(line)]


def build_pools(problems: Sequence[Problem], models: Sequence[ModelGenerations]
                ) -> list[ProblemPool]:
    """Pools of the problems with ground truth that at least one model has generations
    for (problem order); problems without ground truth are left out
    (:func:`planner.problems.without_ground_truth` names them)."""
    pools = []
    for problem in problems:
        if not problem.has_ground_truth:
            continue
        gens = [m.problems[problem.task_id] for m in models if problem.task_id in m.problems]
        if not gens:
            continue
        solutions: dict[str, None] = {}
        lines: dict[str, None] = {}
        for g in gens:
            solutions.update(dict.fromkeys(s.program for s in g.samples))
            if g.greedy is not None:
                solutions.setdefault(g.greedy.program)
            for t in (*g.tests, *([g.greedy_test] if g.greedy_test else [])):
                lines.update(dict.fromkeys(_assert_lines(t)))
        pools.append(ProblemPool(problem, tuple(solutions), tuple(lines)))
    if not pools:
        lacking = without_ground_truth(problems)
        if lacking and len(lacking) == len(problems):
            raise MeasureError(f"none of the {len(problems)} problems has ground truth (a test "
                               f"or assert lines), e.g. {', '.join(lacking[:3])}")
        raise MeasureError("no model has generations for any of the problems")
    return pools


def max_timeouts(executor: Executor) -> int:
    """Timeouts after which the executor's sandbox skips a solution's remaining tests."""
    return int(executor.config.limits().max_timeouts)


def measure_cells(pools: Sequence[ProblemPool], executor: Executor,
                  store: CellStore) -> tuple[dict[str, CellTable], int, int]:
    """Execute every cell of every pool's grid whose verdict is needed and that ``store``
    does not hold yet (:func:`planner.measure.timeouts.needed`); return the tables, the
    number of pairs executed and the number of the grids' cells taken from the store
    (reused).

    Reports its progress over pairs (planner.progress; the command line shows the ETA);
    each finished job is saved at once.
    """
    tables = {p.problem.task_id: store.load(p.problem.task_id) for p in pools}
    budget = max_timeouts(executor)
    jobs: list[GridJob] = []
    owners: list[tuple[ProblemPool, list[str], list[str]]] = []
    reused = 0
    for pool in pools:
        rows, cols = pool.solution_keys, pool.test_keys
        codes = tables[pool.problem.task_id].lookup(rows, cols)
        wanted = needed(codes, budget)
        reused += int(((codes != Verdict.UNKNOWN) & ~wanted).sum())
        for r, c in blocks(wanted):
            jobs.append(pool.job(r, c))
            owners.append((pool, [rows[i] for i in r], [cols[j] for j in c]))
    total = sum(j.n_pairs for j in jobs)
    if not jobs:
        return tables, 0, reused
    try:
        with progress.task(f"measuring {len(jobs)} grids", total=total, unit="pair") as step:
            for index, result in executor.run(jobs):
                pool, row_keys, col_keys = owners[index]
                task = pool.problem.task_id
                tables[task] = store.update(task, row_keys, col_keys, stored_codes(result),
                                            result.level)
                step.advance(jobs[index].n_pairs)
    except JobsFailed as exc:
        raise _missing_problems(exc, [owner[0].problem.task_id for owner in owners],
                                len(pools)) from None
    return tables, total, reused


def _missing_problems(exc: JobsFailed, tasks: Sequence[str], n_problems: int) -> MeasureError:
    """The one-line error of a build some of whose problems could not be measured."""
    failed: dict[str, str] = {}  # problem -> the first reason of its failed jobs
    for index, why in exc.failures.items():
        failed.setdefault(tasks[index], why)
    reasons = "; ".join(f"{task}: {why}" for task, why in list(failed.items())[:3])
    more = f"; and {len(failed) - 3} more" if len(failed) > 3 else ""
    return MeasureError(
        f"{len(failed)} of {n_problems} problems could not be measured, no profile written "
        f"(missing: {', '.join(failed)}): {reasons}{more}. The cells of every other problem "
        "are cached: run the same command again to measure only the missing ones")


def generation_arrays(pools: Sequence[ProblemPool], models: Sequence[ModelGenerations]
                      ) -> dict[str, np.ndarray]:
    """The profile arrays that come from the generations alone, nothing executed: which
    pooled solution each sample and greedy output is, which pooled assert line each line
    position is (-1: not an assert), their token counts, the prompt tokens and the pool
    sizes (:data:`planner.profile.ARRAY_SPECS` names)."""
    M, P, L = len(models), len(pools), LINE_POSITIONS
    N = max((len(g.samples) for m in models for g in m.problems.values()), default=0)
    T = max((len(g.tests) for m in models for g in m.problems.values()), default=0)
    out = {
        "sample_solution": np.full((M, P, N), -1, np.int32),
        "sample_tokens": np.zeros((M, P, N), np.int32),
        "greedy_solution": np.full((M, P), -1, np.int32),
        "greedy_tokens": np.zeros((M, P), np.int32),
        "test_line": np.full((M, P, T, L), -1, np.int32),
        "test_line_tokens": np.zeros((M, P, T, L), np.int32),
        "greedy_test_line": np.full((M, P, L), -1, np.int32),
        "greedy_test_line_tokens": np.zeros((M, P, L), np.int32),
        "prompt_tokens": np.zeros((M, P), np.int32),
        "test_prompt_tokens": np.zeros((M, P), np.int32),
        "n_solutions": np.array([len(p.solutions) for p in pools], np.int32),
        "n_lines": np.array([len(p.lines) for p in pools], np.int32),
    }

    def line_ids(gen: TestGeneration, line_index: dict[str, int]) -> tuple[list[int], list[int]]:
        ids = [line_index[line.strip()] if is_test_line(line) else -1 for line in gen.lines]
        return ids + [-1] * (L - len(ids)), list(gen.line_tokens)

    for p, pool in enumerate(pools):
        task = pool.problem.task_id
        sol_index = {s: i for i, s in enumerate(pool.solutions)}
        line_index = {t: i for i, t in enumerate(pool.lines)}
        for m, model in enumerate(models):
            g = model.problems.get(task)
            if g is None:
                continue
            n = len(g.samples)
            out["sample_solution"][m, p, :n] = [sol_index[s.program] for s in g.samples]
            out["sample_tokens"][m, p, :n] = [s.tokens for s in g.samples]
            if g.greedy is not None:
                out["greedy_solution"][m, p] = sol_index[g.greedy.program]
                out["greedy_tokens"][m, p] = g.greedy.tokens
            for t, gen in enumerate(g.tests):
                out["test_line"][m, p, t], out["test_line_tokens"][m, p, t] = line_ids(
                    gen, line_index)
            if g.greedy_test is not None:
                out["greedy_test_line"][m, p], out["greedy_test_line_tokens"][m, p] = line_ids(
                    g.greedy_test, line_index)
            out["prompt_tokens"][m, p] = g.prompt_tokens
            out["test_prompt_tokens"][m, p] = g.test_prompt_tokens
    return out


def line_informative(pools: Sequence[ProblemPool]) -> np.ndarray:
    """[P, Q] the profile's ``line_informative`` mask: True where a pooled assert line's
    verdict can depend on the solution (not :func:`planner.testlines.solution_independent`
    for the problem's entry point), False for the others and the padding. Only parsed,
    never run."""
    Q = max((len(p.lines) for p in pools), default=0)
    mask = np.zeros((len(pools), Q), bool)
    for p, pool in enumerate(pools):
        entry = pool.problem.entry_point
        mask[p, :len(pool.lines)] = [not solution_independent(line, entry)
                                     for line in pool.lines]
    return mask


def assemble_profile(pools: Sequence[ProblemPool], models: Sequence[ModelGenerations],
                     tables: Mapping[str, CellTable], model_infos: Sequence[ModelInfo],
                     provenance: dict[str, Any], timeout_budget: int = 3) -> Profile:
    """The profile arrays from pools, generations and measured cells (the sandbox's budget
    of ``timeout_budget`` timeouts per solution applied along each grid's column order:
    :func:`planner.measure.timeouts.final_codes`), and the ``line_informative`` mask of
    the pooled lines (:func:`line_informative`)."""
    P = len(pools)
    S = max(len(p.solutions) for p in pools)
    Q = max(len(p.lines) for p in pools)
    solution_correct = np.zeros((P, S), bool)
    line_holds_reference = np.zeros((P, Q), bool)
    pass_matrix = np.zeros((P, S, Q), bool)
    verdict_counts = np.zeros(max(VERDICT_NAMES) + 1, np.int64)
    reference_fails: list[str] = []
    for p, pool in enumerate(pools):
        task = pool.problem.task_id
        looked_up = tables[task].lookup(pool.solution_keys, pool.test_keys)
        missing = int(needed(looked_up, timeout_budget).sum())
        if missing:
            raise MeasureError(f"{task}: {missing} cells were not measured")
        codes = final_codes(looked_up, timeout_budget)
        verdict_counts += np.bincount(codes.ravel(), minlength=verdict_counts.size)
        s, q = len(pool.solutions), len(pool.lines)
        passed = codes == Verdict.PASS
        first = 1 if pool.has_reference else 0
        pass_matrix[p, :s, :q] = passed[first:, 1:]
        solution_correct[p, :s] = passed[first:, 0]
        if pool.has_reference:
            line_holds_reference[p, :q] = passed[0, 1:]
            if not passed[0, 0]:
                reference_fails.append(task)
    mask = line_informative(pools)
    provenance = dict(provenance)
    provenance["verdicts"] = {VERDICT_NAMES[c]: int(verdict_counts[c]) for c in VERDICT_NAMES}
    provenance["reference_fails_ground_truth"] = reference_fails
    provenance["sandbox_levels"] = sorted(set().union(*(tables[p.problem.task_id].levels
                                                          for p in pools)))
    provenance[LINE_MASK_KEY] = line_mask_record(mask, [len(p.lines) for p in pools],
                                                  "computed from the pooled lines during "
                                                  "the build")
    return Profile(
        models=tuple(model_infos), problems=tuple(p.problem.task_id for p in pools),
        **generation_arrays(pools, models), solution_correct=solution_correct,
        line_holds_reference=line_holds_reference, pass_matrix=pass_matrix,
        provenance=provenance, line_informative=mask,
    )


#: The provenance entry that says how a profile's ``line_informative`` mask was made.
LINE_MASK_KEY = "line_informative"


def line_mask_record(mask: np.ndarray, n_lines: Sequence[int], how: str) -> dict[str, Any]:
    """The provenance entry of a ``line_informative`` mask [P, Q] (``n_lines`` pooled lines
    per problem): the rule that made it, how it was added, and how many of the pooled
    lines it leaves out."""
    real = np.arange(mask.shape[1])[None, :] < np.asarray(n_lines)[:, None]
    return {"rule": "planner.testlines.solution_independent (False: the line cannot fail or "
                    "never calls the function under test, i.e. names it inside no call; "
                    "left out by the pass_fraction and consensus rules, counted by the "
                    "paper rule)",
            "how": how, "pooled_lines": int(real.sum()),
            "solution_independent_pooled_lines": int((real & ~mask).sum())}


def model_infos(models: Sequence[ModelGenerations], prices: Mapping[str, ModelPrice]
                ) -> list[ModelInfo]:
    """ModelInfo ($ per token) for each model; every model needs a price entry."""
    missing = [m.name for m in models if m.name not in prices]
    if missing:
        raise PriceError(f"no price for model(s) {', '.join(missing)} in the price table")
    return [ModelInfo(m.name, prices[m.name].generated_per_token, prices[m.name].prompt_per_token,
                      m.samples_per_loop, m.source) for m in models]


def relative_sha256(paths: Sequence[str]) -> dict[str, str]:
    """sha256 of each input file, keyed by its path relative to the files' common folder."""
    if not paths:
        return {}
    root = Path(os.path.commonpath([str(Path(p).resolve()) for p in paths]))
    if len(paths) == 1:
        root = root.parent
    return {str(Path(p).resolve().relative_to(root)): file_sha256(p) for p in paths}


def measure_profile(problems: Sequence[Problem], models: Sequence[ModelGenerations],
                    prices: Mapping[str, ModelPrice], executor: Executor,
                    cache_dir: str | os.PathLike[str], *,
                    provenance: Mapping[str, Any] | None = None) -> Profile:
    """Measure ``models`` on ``problems`` and return the validated profile (not saved).

    ``provenance`` entries are added to the profile's own (sources, input file hashes,
    execution settings, token counting, tool version, date). Problems without ground truth
    are skipped and named in ``provenance["problems_without_ground_truth"]``.
    """
    from .. import __version__

    names = [m.name for m in models]
    if not models:
        raise MeasureError("no models to measure")
    if len(set(names)) != len(names):
        raise MeasureError(f"model names must be unique, got {names}")
    infos = model_infos(models, prices)
    pools = build_pools(problems, models)
    store = CellStore(cache_dir, executor.description)
    started = time.perf_counter()
    tables, pairs_run, pairs_reused = measure_cells(pools, executor, store)
    elapsed = time.perf_counter() - started
    record: dict[str, Any] = {
        "tool": "codecascade measure",
        "tool_version": __version__,
        "execution": {**executor.description,
                      "limits": dict(getattr(executor, "limits", {}) or {})},
        RUN_KEY: {"created": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "pairs_executed": pairs_run, "pairs_reused": pairs_reused,
                  "seconds": round(elapsed, 1),
                  "transport": dict(getattr(executor, "transport", None)
                                    or {"executor": "local"})},
        "line_positions": LINE_POSITIONS,
        "models": {
            m.name: {
                "source": m.source,
                "token_counting": m.token_counting,
                "samples_per_loop": m.samples_per_loop,
                "input_files": relative_sha256(m.input_files),
                **m.details,
                "price": prices[m.name].to_json(),
            } for m in models
        },
    }
    lacking = without_ground_truth(problems)
    if lacking:
        record["problems_without_ground_truth"] = lacking
    record.update(provenance or {})
    return assemble_profile(pools, models, tables, infos, record, max_timeouts(executor))
