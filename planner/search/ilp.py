"""Integer program: the exact linearisation of method.md §4, solved with PuLP.

Variables, for model i, candidate option o in role ρ (mid or last) and problem p:

* x[i,o,ρ] ∈ {0,1}: model i runs option o in role ρ (no x at 1: model i is skipped);
* w[i,o,ρ,p] ∈ [0,1]: x[i,o,ρ] · r_i(p), the share of problem p that reaches model i and
  is handled by that option; s[i,p] ∈ [0,1]: the share that passes model i skipped.

The reach entering model i is r_0(p) = 1 and r_{i+1}(p) = s[i,p] + Σ_o w[i,o,mid,p]·(1-a_o(p))
(a last stage answers everything it receives). The product x·r is linearised in its
multiple-choice form: Σ_{o,ρ} w[i,o,ρ,p] + s[i,p] = r_i(p), w ≤ x, s ≤ 1 − Σ x. With at most
one x of model i at 1 this forces w = r_i on the chosen option and 0 elsewhere, so it admits
exactly the integer points of the four McCormick inequalities of method.md (w ≤ x, w ≤ r,
w ≥ r − (1 − x), w ≥ 0) with fewer rows and a tighter relaxation. Exactly one last stage;
a mid stage needs a last stage after it (so nothing follows the last one). Accuracy is
Σ w·g (mid) + w·h (last) over problems, cost Σ w·c; both are means over problems.

Shared θ (the paper's grid) is solved by decomposition: one program per θ value, each
with only that θ's mid options (branching on θ first, which is exact and much smaller than
θ binaries in one program). Every program is warm-started with the best plan known (the
heuristic's, then the best so far). HiGHS (through ``pulp.HiGHS``) is used when highspy is
installed, else PuLP's bundled CBC.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence

import numpy as np

from .base import (
    TOLERANCE,
    Objective,
    SearchError,
    SearchMethod,
    SearchResult,
    SearchSpace,
    score_stages,
    unreachable,
)

#: Relative MIP gap asked of the solver: small enough that the optimum matches enumeration.
MIP_REL_GAP = 1e-7
#: Wall-clock limit of one search, seconds; on expiry the best plan found is returned with
#: status "feasible" and the solver's gap.
TIME_LIMIT = 60.0


def _solver_classes():
    import pulp

    class WarmHiGHS(pulp.HiGHS):
        """pulp.HiGHS plus a MIP start from the variables' initial values."""

        def callSolver(self, lp):
            import highspy

            values = [float(v.varValue or 0.0) for v in lp.variables()]
            if any(values):
                start = highspy.HighsSolution()
                start.col_value = values
                lp.solverModel.setSolution(start)
            lp.solverModel.run()

    return pulp, WarmHiGHS


def _make_solver(time_limit: float):
    pulp, warm_highs = _solver_classes()
    limit = max(1.0, time_limit)
    if "HiGHS" in pulp.listSolvers(onlyAvailable=True):
        return warm_highs(msg=False, gapRel=MIP_REL_GAP, gapAbs=1e-10, timeLimit=limit,
                          threads=1), "HiGHS"
    return pulp.PULP_CBC_CMD(msg=False, gapRel=MIP_REL_GAP, timeLimit=limit,
                             warmStart=True), "CBC"


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


def _variable(prob, name: str, low: float, up: float, cat: str = "Continuous"):
    """A variable of ``prob`` (PuLP >= 3.3 attaches it to the model; older PuLP has only
    the free-standing constructor)."""
    import pulp

    if hasattr(prob, "add_variable"):
        return prob.add_variable(name, low, up, cat=cat)
    return pulp.LpVariable(name, lowBound=low, upBound=up, cat=cat)


class _Program:
    """One linearised program over given mid rows per model (see the module docstring)."""

    def __init__(self, space: SearchSpace, objective: Objective,
                 mid_rows: Sequence[np.ndarray]) -> None:
        import pulp

        self.space = space
        n_models, n_problems = space.n_models, space.n_problems
        # costs in units of the priciest option's mean cost keep coefficients near 1
        self.cost_unit = max(float(t.cost.mean(axis=1).max()) for t in space.tables) or 1.0
        scale = 1.0 / n_problems
        sense = pulp.LpMaximize if objective.is_budget else pulp.LpMinimize
        prob = pulp.LpProblem("cascade", sense)
        accuracy_terms, cost_terms = [], []
        self.choices: list[list[tuple[object, int, str]]] = []
        self.w: dict[tuple[int, int, str], list[object]] = {}
        self.s: list[list[object]] = []
        reach_in = None
        last_x, mid_x = [], []
        for i, table in enumerate(space.tables):
            roles = [("last", space.last[i].rows)]
            if i < n_models - 1:
                roles.append(("mid", mid_rows[i]))
            passed_on = defaultdict(list)
            handled = defaultdict(list)
            model_choices = []
            xs_last, xs_mid = [], []
            for role, rows in roles:
                for row in rows:
                    row = int(row)
                    x = _variable(prob, f"x_{i}_{row}_{role}", 0, 1, "Binary")
                    model_choices.append((x, row, role))
                    (xs_last if role == "last" else xs_mid).append(x)
                    gain = table.correct[row] if role == "last" else table.accept_correct[row]
                    cost = table.cost[row] / self.cost_unit
                    stay = 1.0 - table.accept[row]
                    ws = []
                    for p in range(n_problems):
                        w = _variable(prob, f"w_{i}_{row}_{role}_{p}", 0, 1)
                        ws.append(w)
                        prob += w <= x
                        handled[p].append((w, 1.0))
                        if gain[p]:
                            accuracy_terms.append((w, float(gain[p]) * scale))
                        if cost[p]:
                            cost_terms.append((w, float(cost[p]) * scale))
                        if role == "mid" and stay[p]:
                            passed_on[p].append((w, float(stay[p])))
                    self.w[(i, row, role)] = ws
            xs_all = [c[0] for c in model_choices]
            next_reach, skips = [], []
            for p in range(n_problems):
                s = _variable(prob, f"s_{i}_{p}", 0, 1)
                skips.append(s)
                prob += s + pulp.lpSum(xs_all) <= 1
                incoming = 1.0 if reach_in is None else reach_in[p]
                prob += pulp.LpAffineExpression([*handled[p], (s, 1.0)]) == incoming
                next_reach.append(pulp.LpAffineExpression([*passed_on[p], (s, 1.0)]))
            reach_in = next_reach
            self.s.append(skips)
            self.choices.append(model_choices)
            last_x.append(xs_last)
            mid_x.append(xs_mid)
        prob += pulp.lpSum(x for xs in last_x for x in xs) == 1
        for i in range(n_models - 1):
            if mid_x[i]:
                prob += pulp.lpSum(mid_x[i]) <= pulp.lpSum(x for xs in last_x[i + 1:] for x in xs)
        accuracy = pulp.LpAffineExpression(accuracy_terms)
        cost = pulp.LpAffineExpression(cost_terms)
        if objective.is_budget:
            prob += accuracy
            prob += cost <= objective.budget / self.cost_unit
        else:
            prob += cost
            prob += accuracy >= objective.target_accuracy
        self.prob = prob

    def warm_start(self, stages: Sequence[tuple[int, int]]) -> bool:
        """Give the solver ``stages`` as its first incumbent (if the plan fits this program)."""
        space = self.space
        index = {(i, row, role): x for i, cs in enumerate(self.choices) for x, row, role in cs}
        wanted = {}
        for pos, (i, row) in enumerate(stages):
            role = "last" if pos == len(stages) - 1 else "mid"
            row = self._representative(i, row, role)
            if (i, row, role) not in index:
                return False
            wanted[i] = (row, role)
        reach = np.ones(space.n_problems)
        for i, model_choices in enumerate(self.choices):
            for x, row, role in model_choices:
                chosen = wanted.get(i) == (row, role)
                x.setInitialValue(1.0 if chosen else 0.0)
                for p, w in enumerate(self.w[(i, row, role)]):
                    w.setInitialValue(float(reach[p]) if chosen else 0.0)
            for p, s in enumerate(self.s[i]):
                s.setInitialValue(0.0 if i in wanted else float(reach[p]))
            if i in wanted:
                row, role = wanted[i]
                reach = reach * (0.0 if role == "last" else 1.0 - space.tables[i].accept[row])
        return True

    def _representative(self, i: int, row: int, role: str) -> int:
        """The candidate row that stands for ``row`` (identical numbers in that role)."""
        table = self.space.tables[i]
        if role == "last":
            rows, arrays = self.space.last[i].rows, (table.correct, table.cost)
        else:
            rows, arrays = self.space.mid[i].rows, (table.accept, table.accept_correct,
                                                    table.cost)
        if row in rows:
            return row
        for other in rows:
            if all(np.array_equal(a[other], a[row]) for a in arrays):
                return int(other)
        return row

    def solve(self, time_limit: float):
        """(stages or None, status, gap, solver name)."""
        import pulp

        solver, name = _make_solver(time_limit)
        with _quiet_stdout():
            self.prob.solve(solver)
        if self.prob.sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
            if self.prob.status == pulp.LpStatusInfeasible:
                return None, "infeasible", None, name
            return None, "unsolved", None, name
        stages = [(i, row) for i, model_choices in enumerate(self.choices)
                  for x, row, _ in model_choices if (x.value() or 0.0) > 0.5]
        optimal = self.prob.sol_status == pulp.LpSolutionOptimal
        gap = _mip_gap(self.prob, name)
        if optimal and gap is None:
            gap = 0.0
        return tuple(stages), "optimal" if optimal else "feasible", gap, name


def _mip_gap(prob, solver_name: str) -> float | None:
    """The relative gap the solver reports (HiGHS); None where it reports none."""
    if solver_name != "HiGHS":
        return None
    gap = float(prob.solverModel.getInfo().mip_gap)
    return gap if np.isfinite(gap) and gap >= 0 else None


class IntegerProgram(SearchMethod):
    """Solves the linearised cascade program to optimality (or to the time limit)."""

    name = "ilp"

    def __init__(self, time_limit: float = TIME_LIMIT) -> None:
        self.time_limit = time_limit

    def _search(self, space: SearchSpace, objective: Objective, seed: int) -> SearchResult:
        from .heuristic import HeuristicSearch

        deadline = time.perf_counter() + self.time_limit
        try:
            incumbent = HeuristicSearch().search(space, objective, seed)
        except SearchError:
            incumbent = None
        groups = self._groups(space, incumbent)
        best: tuple[tuple[tuple[int, int], ...], float, float] | None = None
        if incumbent is not None:
            best = (incumbent.stages, incumbent.accuracy, incumbent.cost)
        statuses, gaps, solver = [], [], ""
        for mid_rows in groups:
            stages, status, gap, solver = self._solve_group(
                space, objective, mid_rows, best, deadline)
            statuses.append(status)
            gaps.append(gap)
            if stages is None:
                continue
            acc, cost = score_stages(space, stages)
            if best is None or objective.better(acc, cost, best[1], best[2]):
                best = (stages, acc, cost)
        if best is None:
            if all(s == "infeasible" for s in statuses):
                raise unreachable(space, objective, self.name)
            raise SearchError(f"{solver} found no plan within {self.time_limit:g} s")
        proven = all(s in ("optimal", "infeasible") for s in statuses)
        known = [g for g in gaps if g is not None]
        gap = 0.0 if proven else (max(known) if known else None)
        return SearchResult(self.name, best[0], best[1], best[2],
                            "optimal" if proven else "feasible", gap, 0.0, solver,
                            len(groups))

    @staticmethod
    def _groups(space: SearchSpace, incumbent: SearchResult | None) -> list[list[np.ndarray]]:
        """Mid rows per model for each program: one program, or one per shared θ value
        (the incumbent's θ first, so later programs start from a strong plan)."""
        if not space.shared_theta or space.thetas().size == 0:
            return [[c.rows for c in space.mid]]
        thetas = list(space.thetas())
        if incumbent is not None:
            used = [space.tables[i].options[r].theta for i, r in incumbent.stages[:-1]]
            if used:
                thetas.sort(key=lambda v: v != used[0])
        return [[c.rows[c.theta == v] for c in space.mid] for v in thetas]

    def _solve_group(self, space, objective, mid_rows, best, deadline):
        """Solve one program, tightening the limit if solver tolerance lets the plan
        overshoot it by a hair (at most a few times)."""
        request = objective
        for _ in range(4):
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return None, "unsolved", None, ""
            program = _Program(space, request, mid_rows)
            if best is not None:
                program.warm_start(best[0])
            stages, status, gap, solver = program.solve(remaining)
            if stages is None:
                return None, status, gap, solver
            acc, cost = score_stages(space, stages)
            if objective.feasible(acc, cost):
                return stages, status, gap, solver
            if objective.is_budget:
                request = Objective(budget=max(
                    0.0, request.budget - 2 * (cost - objective.budget) - TOLERANCE))
            else:
                request = Objective(target_accuracy=min(1.0, request.target_accuracy + 2 * (
                    objective.target_accuracy - acc) + TOLERANCE))
        return None, "unsolved", None, solver
