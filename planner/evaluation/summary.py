"""The headline measures of an evaluation, computed from its rows alone.

Per split, over that split's budgets (then the mean over splits, with the standard
deviation, minimum and maximum over splits as the spread):

* ``heldout_accuracy`` — the cascade plan's mean held-out accuracy (``single_heldout_accuracy``
  the single-model plan's);
* ``gain_pp`` — cascade minus single-model held-out accuracy at the same budget, in points;
* ``saving`` — 1 − (held-out cost of the cascade plan) / (held-out cost of the cheapest plan
  of the split's planning-part single-model front whose held-out accuracy is at least the
  cascade plan's); budgets with no such single-model plan are left out and counted
  (``saving_unmatched``);
* ``paper_saving`` — the seed paper's measure: for every plan of the planning-part
  single-model front, 1 − (held-out cost of the cheapest cascade plan of the rows at
  least as accurate held-out) / (its held-out cost), 0 where none is (a single model is
  itself a one-stage cascade; counted in ``paper_unmatched``);
* ``optimism_pp`` — the stated prediction for new problems minus the held-out accuracy of
  the cascade plan (``single_optimism_pp`` likewise; ``in_sample_optimism_pp`` the
  planning-part accuracy minus the held-out one);
* ``cost_error`` — held-out cost / predicted cost − 1 of the cascade plan;
* ``overrun_rate`` — the share of budgets whose cascade plan costs more than the budget on
  the held-out problems; ``mean_overrun`` — by how much (held-out cost / budget − 1) on
  those budgets (pooled over splits; NaN when none overran).

Everything is recomputable from the JSON (:meth:`Summary.to_json` holds the single-model
fronts): ``summarise(rows_from_json(...), fronts_from_json(...))`` gives the same summary.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .rows import EvaluationRow

#: Relative slack before a held-out cost counts as over the budget (float noise).
OVERRUN_SLACK = 1e-9

MEASURES = ("heldout_accuracy", "single_heldout_accuracy", "gain_pp", "saving",
            "paper_saving", "optimism_pp", "single_optimism_pp", "in_sample_optimism_pp",
            "cost_error", "overrun_rate", "single_overrun_rate")


@dataclass(frozen=True)
class SingleFrontPoint:
    """A plan of a split's planning-part single-model front, with its held-out numbers."""

    plan: str
    planning_accuracy: float
    planning_cost: float
    heldout_accuracy: float
    heldout_cost: float

    def to_json(self) -> dict[str, Any]:
        return {"plan": self.plan, "planning_accuracy": self.planning_accuracy,
                "planning_cost": self.planning_cost, "heldout_accuracy": self.heldout_accuracy,
                "heldout_cost": self.heldout_cost}


@dataclass(frozen=True)
class Spread:
    """A measure's mean over splits, its standard deviation, range and per-split values."""

    mean: float
    sd: float
    low: float
    high: float
    per_split: dict[str, float]

    @classmethod
    def of(cls, per_split: Mapping[str, float]) -> Spread:
        values = np.array([v for v in per_split.values() if np.isfinite(v)])
        if values.size == 0:
            nan = float("nan")
            return cls(nan, nan, nan, nan, dict(per_split))
        sd = float(values.std(ddof=1)) if values.size > 1 else 0.0
        return cls(float(values.mean()), sd, float(values.min()), float(values.max()),
                   dict(per_split))

    def to_json(self) -> dict[str, Any]:
        def num(v: float) -> float | None:
            return None if not np.isfinite(v) else v

        return {"mean": num(self.mean), "sd": num(self.sd), "min": num(self.low),
                "max": num(self.high),
                "per_split": {k: num(v) for k, v in self.per_split.items()}}


@dataclass(frozen=True)
class Summary:
    """The measures of the module docstring."""

    measures: dict[str, Spread]
    saving_unmatched: int
    paper_unmatched: int
    mean_overrun: float
    n_rows: int
    single_fronts: dict[str, tuple[SingleFrontPoint, ...]]

    def __getitem__(self, name: str) -> Spread:
        return self.measures[name]

    def to_json(self) -> dict[str, Any]:
        return {
            "measures": {k: v.to_json() for k, v in self.measures.items()},
            "saving_unmatched": self.saving_unmatched,
            "paper_unmatched": self.paper_unmatched,
            "mean_overrun": None if not np.isfinite(self.mean_overrun) else self.mean_overrun,
            "n_rows": self.n_rows,
            "single_fronts": {k: [p.to_json() for p in v]
                              for k, v in self.single_fronts.items()},
        }


def fronts_from_json(obj: Mapping[str, Any]) -> dict[str, tuple[SingleFrontPoint, ...]]:
    """The single-model fronts of a summary's JSON."""
    return {k: tuple(SingleFrontPoint(str(p["plan"]), float(p["planning_accuracy"]),
                                      float(p["planning_cost"]), float(p["heldout_accuracy"]),
                                      float(p["heldout_cost"])) for p in v)
            for k, v in obj["single_fronts"].items()}


def _saving(acc: float, cost: float, front: Sequence[SingleFrontPoint]) -> float:
    costs = [p.heldout_cost for p in front if p.heldout_accuracy >= acc]
    if not costs or min(costs) <= 0:
        return float("nan")
    return 1.0 - cost / min(costs)


def _paper_saving(cascade: Sequence[tuple[float, float]],
                  front: Sequence[SingleFrontPoint]) -> tuple[list[float], int]:
    out, unmatched = [], 0
    for p in front:
        costs = [c for a, c in cascade if a >= p.heldout_accuracy]
        if not costs or p.heldout_cost <= 0:
            out.append(0.0)
            unmatched += 1
            continue
        out.append(max(0.0, 1.0 - min(costs) / p.heldout_cost))
    return out, unmatched


def _nanmean(values: Sequence[float]) -> float:
    arr = np.array(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    return float(arr.mean()) if arr.size else float("nan")


def summarise(rows: Sequence[EvaluationRow],
              fronts: Mapping[str, Sequence[SingleFrontPoint]]) -> Summary:
    """The :class:`Summary` of ``rows`` given each split's single-model front."""
    by_split: dict[str, list[EvaluationRow]] = {}
    for row in rows:
        by_split.setdefault(row.split, []).append(row)
    per: dict[str, dict[str, float]] = {m: {} for m in MEASURES}
    saving_unmatched = paper_unmatched = 0
    overruns: list[float] = []
    for name, split_rows in by_split.items():
        front = fronts[name]
        cas = [r.cascade for r in split_rows]
        sin = [r.single for r in split_rows]
        budget = np.array([r.budget for r in split_rows])
        h_acc = np.array([c.heldout_accuracy for c in cas])
        h_cost = np.array([c.heldout_cost for c in cas])
        s_acc = np.array([s.heldout_accuracy for s in sin])
        s_cost = np.array([s.heldout_cost for s in sin])
        savings = [_saving(a, c, front) for a, c in zip(h_acc, h_cost, strict=True)]
        saving_unmatched += int(np.isnan(savings).sum())
        paper, unmatched = _paper_saving(list(zip(h_acc, h_cost, strict=True)), front)
        paper_unmatched += unmatched
        over = h_cost > budget * (1.0 + OVERRUN_SLACK)
        overruns += list(h_cost[over] / budget[over] - 1.0)
        values = {
            "heldout_accuracy": h_acc.mean(),
            "single_heldout_accuracy": s_acc.mean(),
            "gain_pp": 100.0 * (h_acc - s_acc).mean(),
            "saving": _nanmean(savings),
            "paper_saving": float(np.mean(paper)) if paper else float("nan"),
            "optimism_pp": 100.0 * np.mean([c.predicted_accuracy for c in cas] - h_acc),
            "single_optimism_pp": 100.0 * np.mean([s.predicted_accuracy for s in sin] - s_acc),
            "in_sample_optimism_pp": 100.0 * np.mean([c.planning_accuracy for c in cas]
                                                     - h_acc),
            "cost_error": _nanmean([hc / c.predicted_cost - 1.0 if c.predicted_cost > 0
                                    else float("nan") for hc, c in zip(h_cost, cas,
                                                                        strict=True)]),
            "overrun_rate": float(over.mean()),
            "single_overrun_rate": float((s_cost > budget * (1.0 + OVERRUN_SLACK)).mean()),
        }
        for measure, value in values.items():
            per[measure][name] = float(value)
    return Summary(
        measures={m: Spread.of(per[m]) for m in MEASURES},
        saving_unmatched=saving_unmatched, paper_unmatched=paper_unmatched,
        mean_overrun=_nanmean(overruns), n_rows=len(rows),
        single_fronts={k: tuple(v) for k, v in fronts.items()},
    )
