"""An evaluation for people: the per-budget table, the summary table and the plot of held-out
accuracy against budget (matplotlib, Agg backend; PNG, SVG or PDF by the file's extension,
written atomically by planner.report.save_figure)."""

from __future__ import annotations

import os
import textwrap
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..report import figure, format_table, log_cost_axis, save_figure
from ..units import TABLE_COST_COLUMN, TABLE_COST_UNIT, per_1k_problems
from .evaluate import Evaluation

#: Rows of the summary table: measure, label, unit scale.
_SUMMARY_ROWS = (
    ("heldout_accuracy", "held-out accuracy, cascade (%)", 100.0),
    ("single_heldout_accuracy", "held-out accuracy, single model (%)", 100.0),
    ("gain_pp", "gain over the single-model plan (pp)", 1.0),
    ("saving", "held-out cost saving at >= accuracy (%)", 100.0),
    ("paper_saving", "paper's measure: saving per single-model front plan (%)", 100.0),
    ("optimism_pp", "optimism: predicted - held-out accuracy (pp)", 1.0),
    ("single_optimism_pp", "optimism of the single-model plan (pp)", 1.0),
    ("in_sample_optimism_pp", "planning-part - held-out accuracy (pp)", 1.0),
    ("cost_error", "held-out cost / predicted cost - 1 (%)", 100.0),
    ("overrun_rate", "budgets overrun on held-out problems (%)", 100.0),
    ("single_overrun_rate", "budgets overrun by the single-model plan (%)", 100.0),
)


def _by_budget(evaluation: Evaluation) -> list[list[object]]:
    """Rows grouped by budget position (the i-th budget of every split), averaged over
    splits; with fixed budgets the position is the budget itself."""
    groups: dict[int, list] = defaultdict(list)
    counters: dict[str, int] = defaultdict(int)
    for row in evaluation.rows:
        groups[counters[row.split]].append(row)
        counters[row.split] += 1
    table = []
    for i in sorted(groups):
        rows = groups[i]

        def mean(values) -> float:
            return float(np.mean(list(values)))

        budget = float(np.exp(np.mean([np.log(r.budget) for r in rows])))
        table.append([
            i + 1, round(per_1k_problems(budget), 4),
            round(100 * mean(r.cascade.heldout_accuracy for r in rows), 2),
            round(100 * mean(r.single.heldout_accuracy for r in rows), 2),
            round(100 * mean(r.cascade.heldout_accuracy - r.single.heldout_accuracy
                             for r in rows), 2),
            round(per_1k_problems(mean(r.cascade.heldout_cost for r in rows)), 4),
            round(per_1k_problems(mean(r.single.heldout_cost for r in rows)), 4),
            round(100 * mean(r.cascade.predicted_accuracy for r in rows), 2),
            round(100 * mean(r.cascade.predicted_accuracy - r.cascade.heldout_accuracy
                             for r in rows), 2),
            f"{sum(r.cascade.heldout_cost > r.budget * (1 + 1e-9) for r in rows)}/{len(rows)}",
        ])
    return table


def budget_table(evaluation: Evaluation) -> str:
    headers = ["#", f"budget {TABLE_COST_COLUMN}", "cascade acc %", "single acc %",
               "gain pp", f"cascade {TABLE_COST_COLUMN}", f"single {TABLE_COST_COLUMN}",
               "predicted %", "optimism pp", "overrun"]
    return format_table(headers, _by_budget(evaluation))


def summary_table(evaluation: Evaluation) -> str:
    s = evaluation.summary
    rows = []
    for name, label, scale in _SUMMARY_ROWS:
        spread = s[name]

        def r(v: float, scale=scale) -> float | None:
            return None if not np.isfinite(v) else round(scale * v, 2)

        rows.append([label, r(spread.mean), r(spread.sd), r(spread.low), r(spread.high)])
    text = format_table(["measure (over splits)", "mean", "sd", "min", "max"], rows)
    over = ("-" if not np.isfinite(s.mean_overrun)
            else f"{100 * s.mean_overrun:.1f} % over budget")
    return (f"{text}\nsaving: {s.saving_unmatched} budget(s) with no single-model plan as "
            f"accurate held-out (left out); paper's measure: {s.paper_unmatched} single-model "
            f"plan(s) no cascade matched (counted as 0)\nmean overrun where a budget was "
            f"overrun: {over}")


def evaluation_plot(path: str | os.PathLike[str], evaluation: Evaluation,
                    title: str = "") -> Path:
    """Held-out accuracy against budget for the cascade and the single-model plans: one
    thin line per split, and the mean over splits by budget position (log budget axis)."""
    by_split: dict[str, list] = defaultdict(list)
    for row in evaluation.rows:
        by_split[row.split].append(row)
    with figure((7.5, 5.0)) as (fig, ax):
        for rows in by_split.values():
            b = [per_1k_problems(r.budget) for r in rows]
            ax.plot(b, [100 * r.cascade.heldout_accuracy for r in rows], color="tab:blue",
                    alpha=0.25, linewidth=0.8)
            ax.plot(b, [100 * r.single.heldout_accuracy for r in rows], color="tab:orange",
                    alpha=0.25, linewidth=0.8)
        table = _by_budget(evaluation)
        xs = [row[1] for row in table]
        ax.plot(xs, [row[2] for row in table], "-o", color="tab:blue", markersize=3,
                label="cascade plan, mean over splits")
        ax.plot(xs, [row[3] for row in table], "-s", color="tab:orange", markersize=3,
                label="single-model plan, mean over splits")
        ax.plot(xs, [row[7] for row in table], ":", color="tab:blue",
                label="cascade plan, predicted for new problems")
        log_cost_axis(ax, f"budget, {TABLE_COST_UNIT} (log scale)")
        ax.set_ylabel("held-out accuracy, %")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
        if title:
            ax.set_title("\n".join(textwrap.wrap(title, 90)), fontsize=10)
        fig.tight_layout()
        return save_figure(fig, path)
