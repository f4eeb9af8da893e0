"""Long work reports its progress (shown on stderr only on a terminal, never with
--no-progress), and Ctrl-C says what was kept: a running search ends with its best plan
so far; otherwise the command stops at once and says that nothing was written."""

from __future__ import annotations

import io
import json
import os
import signal
import time

import pytest
import typer
from cli_support import cli

from planner import progress
from planner.cli import run_command
from planner.cli.running import long_work
from planner.planning import plan
from planner.profile import save_profile
from planner.search import ExactSearch
from planner.search.registry import METHODS, MethodEntry
from planner.search.stopping import listening
from planner.synthetic import synthetic_profile
from planner.vocabulary import MethodName

pytestmark = pytest.mark.usefixtures("private_cache")


@pytest.fixture(scope="module")
def profile():
    return synthetic_profile(n_models=3, n_problems=30, n_samples=20, n_tests=20, seed=5)


class Recorder:
    """A reporter that remembers every task: label, total, depth and steps advanced."""

    def __init__(self) -> None:
        self.tasks: list[dict] = []

    def open(self, label, total, unit, depth):
        task = {"label": label, "total": total, "unit": unit, "depth": depth, "done": 0.0,
                "closed": False}
        self.tasks.append(task)

        class Step:
            def advance(self, n=1):
                task["done"] += n

            def set_total(self, total):
                task["total"] = total

        step = Step()
        step.task = task
        return step

    def close(self, step):
        step.task["closed"] = True


def test_planning_reports_its_long_parts(profile):
    recorder = Recorder()
    with progress.reporting(recorder):
        # today's rule runs the exact search (the default selection builds exact fronts)
        plan(profile, 0.003, replicates=8, share_tests=True, selection="naive")
    labels = [t["label"] for t in recorder.tasks]
    assert {"option tables", "exact search", "test sharing"} <= set(labels)
    tables = next(t for t in recorder.tasks if t["label"] == "option tables")
    assert tables["total"] == 3 and tables["done"] == 3 and tables["depth"] == 0
    # each model's problems, nested in the tables
    assert [t["depth"] for t in recorder.tasks if t["label"].startswith("model-")] == [1] * 3
    search = next(t for t in recorder.tasks if t["label"] == "exact search")
    assert search["done"] == pytest.approx(search["total"])
    assert all(t["closed"] for t in recorder.tasks)
    # no reporter installed: nothing is shown, and nothing breaks
    plan(profile, 0.003, replicates=8)


class FakeTerminal(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_bars_only_on_a_terminal_and_never_when_turned_off():
    assert isinstance(progress.reporter_for(True, FakeTerminal(True)), progress.BarReporter)
    assert progress.reporter_for(True, FakeTerminal(False)) is progress.SILENT
    assert progress.reporter_for(False, FakeTerminal(True)) is progress.SILENT
    stream = FakeTerminal(True)
    with progress.reporting(progress.BarReporter(stream, min_seconds=0)), \
            progress.task("option tables", total=4, unit="model") as step:
        for _ in range(4):
            step.advance()
    assert "option tables" in stream.getvalue()


def test_fractional_steps_are_shown_as_whole_counts():
    """The exact front advances by weighted subtrees: its bar read
    ``6127.092077087795/5473237.0``."""
    stream = FakeTerminal(True)
    with progress.reporting(progress.BarReporter(stream, min_seconds=0)), \
            progress.task("exact front", unit="subtree") as step:
        step.set_total(5473236.4)
        for _ in range(3):
            time.sleep(0.3)  # bars redraw at most every 0.25 s
            step.advance(2042.364025695)
    shown = stream.getvalue()
    assert "6127/5473237" in shown and "6127.09" not in shown and ".0 [" not in shown


def test_a_terminal_that_reports_no_size_still_gets_a_bar_with_an_eta():
    """A bare pseudo-terminal reports 0 x 0; tqdm then hid every bar (nrows 0)."""
    master, slave = os.openpty()
    try:
        with open(slave, "w", closefd=False) as stream:
            assert os.get_terminal_size(slave) == (0, 0) and progress.wanted(True, stream)
            with progress.reporting(progress.BarReporter(stream, min_seconds=0)), \
                    progress.task("option tables", total=4, unit="model") as step:
                for _ in range(4):
                    time.sleep(0.3)
                    step.advance()
            stream.flush()
        os.set_blocking(master, False)
        shown = os.read(master, 1 << 16).decode()
    finally:
        os.close(master)
        os.close(slave)
    assert "option tables" in shown and "/4 [00:" in shown and "<00:" in shown


def test_ctrl_c_during_a_search_stops_it_and_outside_one_interrupts():
    with long_work(True, stop_searches=True) as request:
        with listening():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            assert request.is_set()  # the search will stop at its next deadline check
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


class _InterruptedExact(ExactSearch):
    """Exact search that receives Ctrl-C as it starts."""

    def _search(self, space, objective, seed):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
        return super()._search(space, objective, seed)



def test_plan_interrupted_during_the_search_keeps_its_best_plan(profile, tmp_path, capsys,
                                                                monkeypatch):
    path = tmp_path / "p.npz"
    save_profile(profile, path)
    entry = METHODS[MethodName.EXACT]
    monkeypatch.setitem(METHODS, MethodName.EXACT, MethodEntry(
        entry.name, entry.summary, _InterruptedExact, entry.options))
    out = tmp_path / "spec.json"
    assert cli("plan", "--budget", "0.003", "--profile", str(path), "--replicates", "8",
               "-o", str(out), "--selection", "naive") == 0
    err = capsys.readouterr().err
    assert "interrupted: the best plan so far (exact: feasible" in err
    spec = json.loads(out.read_text())
    assert spec["search"]["status"] == "feasible" and spec["search"]["gap"] is not None
    assert spec["predicted"]["planning"]["cost_per_problem"] <= 0.003 + 1e-9


def test_ctrl_c_elsewhere_says_nothing_was_written(capsys):
    interrupted = typer.Typer()

    @interrupted.command()
    def work() -> None:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1.0)

    assert run_command(typer.main.get_command(interrupted), [], "x") == 130
    err = capsys.readouterr().err.strip()
    assert err.startswith("interrupted after ") and err.endswith(" s: nothing written")
