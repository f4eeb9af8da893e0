"""The default selection under a deadline (``--time-limit``, or a first Ctrl-C: the stop
request the command line installs): it chooses among the candidates found by then, says so
in the spec and on stderr, states the in-sample statement when the inner cross-validation
was cut short, never stores a front cut short in the disk cache, and a second Ctrl-C
abandons the command with nothing written. Ctrl-C is simulated by setting the stop request
(or sending SIGINT to this process); no test measures the wall clock."""

from __future__ import annotations

import json
import os
import signal
import time

import numpy as np
import pytest
from cli_support import cli

import planner.selection.candidates as candidates
from planner import progress
from planner.planning import compare_methods, frontier, plan, planning_context
from planner.planning.refinement import refine_result
from planner.profile import save_profile
from planner.search.deadline import Deadline
from planner.search.errors import BudgetTooLowError
from planner.search.objective import Objective
from planner.search.result import SearchResult
from planner.search.stopping import StopRequest, stop_requests
from planner.selection.candidates import PlanFamily, family_candidates
from planner.selection.front_cache import space_key
from planner.selection.honest import cost_bounds
from planner.synthetic import synthetic_profile
from planner.vocabulary import SolverStatus

KW = {"replicates": 8, "grid": "paper"}
BUDGET = 0.002

pytestmark = pytest.mark.usefixtures("private_cache")


@pytest.fixture(scope="module")
def profile():
    return synthetic_profile(n_models=3, n_problems=40, n_samples=20, n_tests=20, seed=4)


@pytest.fixture()
def profile_path(profile, tmp_path):
    path = tmp_path / "syn.npz"
    save_profile(profile, path)
    return str(path)


def _fronts(cache) -> list:
    return sorted(cache.glob("fronts-*.npz"))


class StopWhen:
    """A reporter that sets ``request`` (Ctrl-C) when a task named ``label`` opens."""

    def __init__(self, request: StopRequest, label: str) -> None:
        self.request, self.label = request, label
        self.labels: list[str] = []

    def open(self, label, total, unit, depth):
        self.labels.append(label)
        if label == self.label:
            self.request.set()
        return progress.SILENT

    def close(self, step):
        pass


def _assert_valid(spec, budget=BUDGET):
    """A plan within the budget (its planning cost; the 0.95 bound is the selection's)."""
    assert spec.planning.cost <= budget + 1e-9
    assert spec.budget == budget and spec.stages


def test_the_selection_reports_its_fronts_and_inner_folds(profile):
    """What the progress bar shows (with an ETA) for the default selection: each exact
    front, and the inner folds of its statement (one step per fold)."""
    steps: list[dict] = []

    class Recorder:
        def open(self, label, total, unit, depth):
            task = {"label": label, "total": total, "done": 0, "depth": depth}
            steps.append(task)

            class Step:
                def advance(self, n=1):
                    task["done"] += n

                def set_total(self, total):
                    task["total"] = total

                def note(self, text):
                    pass

            return Step()

        def close(self, step):
            pass

    with progress.reporting(Recorder()):
        plan(profile, BUDGET, **KW)
    folds = [t for t in steps if t["label"] == "inner folds"]
    assert len(folds) == 1 and folds[0]["total"] == folds[0]["done"] == 5
    fronts = [t for t in steps if t["label"] == "exact front"]
    assert len(fronts) == 6  # all problems, then one per fold, nested in the folds' task
    assert [t["depth"] for t in fronts] == [0] + [1] * 5


def test_a_stop_before_the_selection_keeps_a_valid_plan_and_caches_no_cut_front(
        profile, private_cache):
    request = StopRequest()
    request.set()  # Ctrl-C already given: every front stops at its first check
    with stop_requests(request):
        spec = plan(profile, BUDGET, **KW)
    _assert_valid(spec)
    record = spec.provenance.extra["selection"]
    assert record == {"stopped_early": True, "candidates_complete": False,
                      "statement_complete": False}
    assert "stopped early" in spec.solver.solver
    assert "not corrected for selection" in spec.new_problems.method
    assert _fronts(private_cache) == []  # nothing cut short was stored
    # a later run without a limit enumerates the whole fronts, stores them, and states
    # the corrected statement
    full = plan(profile, BUDGET, **KW)
    assert full.provenance.extra["selection"]["stopped_early"] is False
    assert "cross-validation" in full.new_problems.method
    assert len(_fronts(private_cache)) == 6  # the shrunk front on all problems + 5 folds


def test_a_ctrl_c_during_the_inner_folds_keeps_the_choice_and_states_in_sample(
        profile, private_cache):
    full = plan(profile, BUDGET, **KW)
    for path in _fronts(private_cache):
        path.unlink()
    request = StopRequest()
    reporter = StopWhen(request, "inner folds")
    with stop_requests(request), progress.reporting(reporter):
        spec = plan(profile, BUDGET, **KW)
    assert "inner folds" in reporter.labels
    # the candidates on all problems were complete: the same plan as without a stop
    assert spec.stages == full.stages
    assert spec.provenance.extra["selection"] == {
        "stopped_early": True, "candidates_complete": True, "statement_complete": False}
    assert spec.new_problems.accuracy == pytest.approx(spec.planning.accuracy)
    assert "not corrected for selection" in spec.new_problems.method
    # only the complete front (all problems) is cached; the fold cut short is not
    assert len(_fronts(private_cache)) == 1


def test_the_front_cache_stores_and_reads_only_complete_fronts(profile, private_cache,
                                                               monkeypatch):
    space = planning_context(profile, split="all", **KW).planning
    request = StopRequest()
    request.set()
    cut = family_candidates(space, PlanFamily.CASCADE,
                            deadline=Deadline(np.inf, stop=request))
    assert not cut.complete and _fronts(private_cache) == []
    full = family_candidates(space, PlanFamily.CASCADE)
    assert full.complete and len(full) > len(cut)
    (path,) = _fronts(private_cache)
    assert path.name == f"fronts-{space_key(space)}.npz"
    with np.load(path) as npz:
        codes = npz["codes"]
    calls = []
    real = candidates.exact_front

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(candidates, "exact_front", counted)
    assert family_candidates(space, PlanFamily.CASCADE).stages == full.stages
    assert calls == []  # the complete front is read
    # a file that does not say it is complete (older, or written by hand) is not read
    for marker in ({}, {"complete": np.False_}):
        np.savez(path.with_suffix(""), codes=codes[:1], **marker)
        again = family_candidates(space, PlanFamily.CASCADE)
        assert again.stages == full.stages and again.complete
    assert len(calls) == 2


def test_no_plan_fitting_among_the_plans_found_is_a_one_line_error(profile):
    """A budget just above the cheapest plan's mean cost (below its 0.95 bound), with the
    selection stopped before any cascade was seen: no candidate fits, and the error says
    the candidates were cut short."""
    space = planning_context(profile, split="all", **KW).planning
    single = family_candidates(space, PlanFamily.SINGLE)
    cheapest = float(single.mean_cost.min())
    assert float(cost_bounds(single, 0.95, 0).min()) > cheapest * (1 + 1e-6)
    request = StopRequest()
    request.set()
    with stop_requests(request), pytest.raises(BudgetTooLowError,
                                               match="no plan found before the time limit"):
        plan(profile, cheapest * (1 + 1e-9), **KW)


def _interrupting(times: int, monkeypatch):
    """Send SIGINT ``times`` times as the first front of a selection starts."""
    real = candidates.exact_front
    sent = []

    def interrupted(*args, **kwargs):
        if not sent:
            sent.append(1)
            for _ in range(times):
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.05)
        return real(*args, **kwargs)

    monkeypatch.setattr(candidates, "exact_front", interrupted)


def test_plan_on_a_first_ctrl_c_writes_the_best_plan_and_says_so(profile_path, tmp_path,
                                                                 capsys, monkeypatch,
                                                                 private_cache):
    _interrupting(1, monkeypatch)
    out = tmp_path / "spec.json"
    assert cli("plan", "--budget", str(BUDGET), "--profile", profile_path, "--grid", "paper",
               "--replicates", "8", "-o", str(out)) == 0
    err = capsys.readouterr().err
    line = next(x for x in err.splitlines() if x.startswith("interrupted:"))
    assert "the best plan so far" in line and "statement for new problems" in line
    spec = json.loads(out.read_text())
    assert spec["provenance"]["extra"]["selection"]["stopped_early"] is True
    assert spec["predicted"]["planning"]["cost_per_problem"] <= BUDGET + 1e-9
    assert _fronts(private_cache) == []


def test_a_second_ctrl_c_abandons_the_plan_with_nothing_written(profile_path, tmp_path,
                                                                capsys, monkeypatch):
    _interrupting(2, monkeypatch)
    out = tmp_path / "spec.json"
    assert cli("plan", "--budget", str(BUDGET), "--profile", profile_path, "--grid", "paper",
               "--replicates", "8", "-o", str(out)) == 130
    assert "nothing written" in capsys.readouterr().err
    assert not out.exists() and list(tmp_path.glob("*.json*")) == []


def test_plan_time_limit_is_said_on_stderr_and_in_the_spec(profile_path, tmp_path, capsys,
                                                           private_cache):
    """A limit that passes at once (1e-9 s): the candidates are the front's first level;
    one line on stderr, exit 0, a valid plan."""
    assert cli("plan", "--budget", str(BUDGET), "--profile", profile_path, "--grid", "paper",
               "--replicates", "8", "--time-limit", "1e-9") == 0
    captured = capsys.readouterr()
    spec = json.loads(captured.out)
    lines = [x for x in captured.err.splitlines() if x.startswith("time limit:")]
    assert len(lines) == 1 and "chosen among the candidate plans found by then" in lines[0]
    assert spec["provenance"]["extra"]["selection"]["candidates_complete"] is False
    assert spec["search"]["status"] == "feasible" and spec["search"]["gap"] is None
    assert spec["predicted"]["planning"]["cost_per_problem"] <= BUDGET + 1e-9
    assert _fronts(private_cache) == []


def test_frontier_says_when_the_selection_was_cut_short(profile, private_cache,
                                                       monkeypatch):
    full = frontier(profile, budget=BUDGET, **KW)
    assert full.complete and full.selection_complete and full.selected
    for path in _fronts(private_cache):
        path.unlink()
    # Ctrl-C as the selection's first front starts (the cascade front is already done)
    request = StopRequest()
    real = candidates.exact_front

    def stopping(*args, **kwargs):
        request.set()
        return real(*args, **kwargs)

    monkeypatch.setattr(candidates, "exact_front", stopping)
    with stop_requests(request):
        stopped = frontier(profile, budget=BUDGET, **KW)
    assert stopped.complete and not stopped.selection_complete
    assert stopped.cascade == full.cascade
    assert stopped.chosen is not None and stopped.chosen.cost <= BUDGET + 1e-9
    assert _fronts(private_cache) == []


def test_sharing_past_the_deadline_is_not_started_and_the_spec_says_so(profile):
    context = planning_context(profile, split="all", share_tests=True, **KW)
    objective = Objective(budget=BUDGET)
    stages = ((0, 0),)
    result = SearchResult("exact", stages, 0.5, 0.001, SolverStatus.FEASIBLE, 0.1, 1.0)
    request = StopRequest()
    request.set()
    shared = refine_result(context, result, objective, Deadline(np.inf, stop=request))
    assert shared.refinement is None and not shared.improved
    spec = plan(profile, BUDGET, share_tests=True, selection="naive",
                method_options={"exact": {"time_limit": 1e-9}}, **KW)
    sharing = spec.provenance.extra["sharing"]
    assert sharing["stopped_early"] is True and sharing["variants_evaluated"] == 0
    assert spec.solver.method == "exact+sharing"
    assert spec.planning.cost <= BUDGET + 1e-9


def test_compare_says_when_its_selection_row_was_stopped_early(profile):
    context = planning_context(profile, budget=BUDGET, **KW)
    request = StopRequest()
    request.set()
    with stop_requests(request):
        rows = compare_methods(context, Objective(budget=BUDGET), ["exact"])
    row = rows[-1]
    assert row.method.startswith("selection shrinkage") and row.method.endswith(
        "(stopped early)")
    assert row.result is not None and row.cost <= BUDGET + 1e-9
    assert compare_methods(context, Objective(budget=BUDGET), ["exact"])[-1].method == (
        "selection " + context.request.selector().label())


def test_a_selection_from_searches_stops_at_the_deadline_too(profile):
    """With another method the candidates come from its searches (one per budget, each
    given what is left of the deadline); stopped, they are the searches run by then."""
    request = StopRequest()
    request.set()
    with stop_requests(request):
        spec = plan(profile, BUDGET, method="heuristic", **KW)
    _assert_valid(spec)
    assert spec.provenance.extra["selection"] == {
        "stopped_early": True, "candidates_complete": False, "statement_complete": False}
    full = plan(profile, BUDGET, method="heuristic", **KW)
    assert full.provenance.extra["selection"]["stopped_early"] is False
