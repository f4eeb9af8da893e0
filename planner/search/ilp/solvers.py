"""Solvers behind one protocol: HiGHS through highspy, CBC through PuLP (docs/ilp.md §6).

A :class:`Solver` takes a :class:`~.program.Program`, optional start values, a deadline and
an optional objective target, and returns a :class:`SolverOutcome`. HiGHS is stopped at
the deadline by interrupt callbacks (its own time limit is checked only between phases);
large programs skip its presolve (which ignores the limit) and run in a forked child that
is killed at the deadline. PuLP runs CBC as its own process under its own time limit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ...vocabulary import IlpSolver, parse
from ..deadline import Deadline
from ..errors import SearchError
from .program import Program

#: Relative MIP gap asked of the solver: small enough that the optimum matches enumeration.
MIP_REL_GAP = 1e-7
#: Programs with more nonzeros are solved without HiGHS's presolve, which does not watch
#: the time limit: on a 54 k-column chain of the seven-model profile (0.9 M nonzeros) it
#: took 450 s before the first LP (67 s with every optional rule off), the root LP 22 s.
PRESOLVE_MAX_NONZEROS = 200_000
#: Programs with more nonzeros are solved in a forked child that is killed at the deadline,
#: so no solver phase that ignores its time limit can overrun the search's.
GUARD_MIN_NONZEROS = 50_000
#: Seconds between a guarded solver's own time limit and its kill (time to report).
GUARD_GRACE = 1.0
#: Rows PuLP's model is built in between deadline checks.
CBC_ROWS_PER_CHECK = 2_000


#: The solver choices (planner.vocabulary.IlpSolver), as the CLI lists them.
SOLVERS: tuple[IlpSolver, ...] = tuple(IlpSolver)


@dataclass(frozen=True)
class SolverOutcome:
    """A program's answer: the option index per stage (None without a plan), whether it is
    proven optimal (or the program infeasible), the solver's bound on the objective (None
    if it has none), the solver's name, and whether it stopped at the objective target."""

    chosen: tuple[int, ...] | None
    proven: bool
    bound: float | None
    solver: str
    at_target: bool = False


class Solver(Protocol):
    """Solves one program by a deadline; ``target`` asks it to stop at the first plan whose
    objective reaches it (solvers without that option ignore it)."""

    name: str

    def solve(self, program: Program, start: np.ndarray | None, deadline: Deadline,
              target: float | None) -> SolverOutcome: ...


def solver_for(choice: IlpSolver | str) -> Solver:
    """The solver for a choice (auto: HiGHS when highspy is installed, else CBC);
    SearchError naming the choices otherwise."""
    choice = parse(IlpSolver, choice, "ILP solver", SearchError)
    if choice is IlpSolver.HIGHS or (choice is IlpSolver.AUTO and _have_highs()):
        return HighsSolver()
    return CbcSolver()


class HighsSolver:
    """HiGHS through highspy; large programs in a guarded child process."""

    name = "HiGHS"

    def solve(self, program: Program, start: np.ndarray | None, deadline: Deadline,
              target: float | None) -> SolverOutcome:
        """:func:`solve_highs`; for large programs in a forked child (a fork costs
        milliseconds) whose solver stops ``GUARD_GRACE`` seconds before the deadline and
        which is killed at it. A killed or failed child yields no plan and no proof."""
        if program.matrix.nnz < GUARD_MIN_NONZEROS:
            return solve_highs(program, start, deadline, target)
        import multiprocessing

        time_limit = deadline.remaining()
        inner = deadline.within(max(0.1, time_limit - GUARD_GRACE))
        ctx = multiprocessing.get_context("fork")
        receive, send = ctx.Pipe(duplex=False)
        child = ctx.Process(target=_guarded_child, args=(send, program, start, inner, target),
                            daemon=True)
        child.start()
        send.close()
        try:
            if receive.poll(max(0.1, time_limit - GUARD_GRACE) + GUARD_GRACE):
                return receive.recv()
            return SolverOutcome(None, False, None, self.name)
        except EOFError:  # the child died without an answer
            return SolverOutcome(None, False, None, self.name)
        finally:
            receive.close()
            if child.is_alive():
                child.kill()
            child.join()


def _guarded_child(send, program, start, deadline, target) -> None:
    """Body of the guarded solver's child: solve and send the outcome back."""
    send.send(solve_highs(program, start, deadline, target))
    send.close()


@contextmanager
def _ctrl_c_after_run() -> Iterator[Callable[[], bool]]:
    """While HiGHS runs, Ctrl-C only stops it (the yielded function says whether it came);
    once it returned, the handler that was in force gets the signal. (A KeyboardInterrupt
    raised inside a HiGHS callback is swallowed by HiGHS: the command went on.)"""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    got: list[tuple[int, Any]] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: got.append((signum, frame)))
    try:
        yield lambda: bool(got)
    finally:
        signal.signal(signal.SIGINT, previous)
    if got:
        if callable(previous):
            previous(*got[0])
        elif previous == signal.SIG_DFL:
            signal.raise_signal(signal.SIGINT)


def solve_highs(program: Program, start: np.ndarray | None, deadline: Deadline,
                target: float | None) -> SolverOutcome:
    """Solve with HiGHS in this process; with ``target`` it stops at the first plan that
    reaches it."""
    import highspy

    with _quiet_stdout():
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("time_limit", max(0.1, deadline.remaining()))
    if program.matrix.nnz > PRESOLVE_MAX_NONZEROS:
        h.setOptionValue("presolve", "off")
    h.setOptionValue("mip_rel_gap", MIP_REL_GAP)
    h.setOptionValue("mip_abs_gap", 1e-10)
    if target is not None:
        h.setOptionValue("objective_target", float(target))
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = program.cost.size, program.row_lo.size
    lp.sense_ = highspy.ObjSense.kMaximize if program.maximise else highspy.ObjSense.kMinimize
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = program.cost, program.col_lo, program.col_hi
    lp.row_lower_, lp.row_upper_ = program.row_lo, program.row_hi
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = program.matrix.indptr
    lp.a_matrix_.index_ = program.matrix.indices
    lp.a_matrix_.value_ = program.matrix.data
    lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                       for i in program.integer]
    h.passModel(lp)
    if start is not None:
        solution = highspy.HighsSolution()
        solution.col_value = list(start)
        h.setSolution(solution)
    stop = deadline.within(max(0.1, deadline.remaining()))

    with _ctrl_c_after_run() as ctrl_c:
        def stop_at_deadline(event) -> None:
            """HiGHS checks ``time_limit`` only between phases (a cut round of a large
            program ran 37 s past it); these callbacks stop the LP and the search on time,
            and at Ctrl-C."""
            if ctrl_c() or stop.expired():
                event.interrupt()

        h.cbSimplexInterrupt += stop_at_deadline
        h.cbMipInterrupt += stop_at_deadline
        with _quiet_stdout():
            h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    if status in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kModelEmpty):
        return SolverOutcome(None, True, None, HighsSolver.name)
    bound = float(info.mip_dual_bound)
    bound = bound if np.isfinite(bound) else None
    proven = status == highspy.HighsModelStatus.kOptimal
    chosen = None
    if info.primal_solution_status == 2:
        chosen = program.chosen(np.asarray(h.getSolution().col_value))
    return SolverOutcome(chosen, proven, bound, HighsSolver.name,
                         status == highspy.HighsModelStatus.kObjectiveTarget)


class CbcSolver:
    """PuLP's bundled CBC, built from the same arrays (``target`` is not supported there
    and is ignored)."""

    name = "CBC"

    def solve(self, program: Program, start: np.ndarray | None, deadline: Deadline,
              target: float | None) -> SolverOutcome:
        import pulp

        del target
        prob = pulp.LpProblem("chain", pulp.LpMaximize if program.maximise else pulp.LpMinimize)
        variables = [pulp.LpVariable(f"v{k}", lowBound=lo, upBound=up,
                                     cat="Binary" if i else "Continuous")
                     for k, (lo, up, i) in enumerate(zip(program.col_lo, program.col_hi,
                                                         program.integer, strict=True))]
        prob += pulp.LpAffineExpression([(variables[k], float(program.cost[k]))
                                         for k in np.flatnonzero(program.cost)])
        rows = program.matrix.tocsr()
        for r in range(rows.shape[0]):
            if r % CBC_ROWS_PER_CHECK == 0 and deadline.expired():
                return SolverOutcome(None, False, None, self.name)
            lo, up = program.row_lo[r], program.row_hi[r]
            sl = slice(rows.indptr[r], rows.indptr[r + 1])
            expr = pulp.LpAffineExpression([(variables[c], float(v))
                                            for c, v in zip(rows.indices[sl], rows.data[sl],
                                                            strict=True)])
            if lo == up:
                prob += expr == float(lo)
            else:
                if np.isfinite(lo):
                    prob += expr >= float(lo)
                if np.isfinite(up):
                    prob += expr <= float(up)
        if start is not None:
            for var, value in zip(variables, start, strict=True):
                var.setInitialValue(float(value))
        solver = pulp.PULP_CBC_CMD(msg=False, gapRel=MIP_REL_GAP,
                                   timeLimit=max(1.0, deadline.remaining()),
                                   warmStart=start is not None)
        with _quiet_stdout():
            prob.solve(solver)
        if prob.status == pulp.LpStatusInfeasible:
            return SolverOutcome(None, True, None, self.name)
        if prob.sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
            return SolverOutcome(None, False, None, self.name)
        values = np.array([v.value() or 0.0 for v in variables])
        return SolverOutcome(program.chosen(values), prob.sol_status == pulp.LpSolutionOptimal,
                             None, self.name)


def _have_highs() -> bool:
    try:
        import highspy  # noqa: F401
    except ImportError:
        return False
    return True


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence the solver's own banner, which HiGHS prints from C++ to file descriptor 1
    even with output off; ``plan`` prints its JSON spec on stdout."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
