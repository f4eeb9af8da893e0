"""Benchmark: how plans chosen on planning problems do on held-out ones, per selection.

Runs ``planner.evaluate`` (the same code path as ``codecascade evaluate``) for groups of
configurations and prints one table per group plus the target check of plan's default
selection. Every configuration is evaluated twice on the same splits: at the issue's 20
fixed budgets ($0.0005-$0.06 per problem, log-spaced; the "accuracy @ fixed budgets"
column) and at 20 budgets log-spaced over each split's planning-part single-model front
(every other column). Measures (planner/evaluation/summary.py): mean held-out accuracy of
the cascade plan, gain over the single-model plan chosen the same way (and over the naive
default-grid single-model plan, the fixed baseline), held-out cost saving at equal or better
accuracy, the paper's per-single-plan saving, optimism of the stated prediction for new
problems, and the share of budgets overrun on held-out problems; means over splits.

Groups (``--groups``):

* ``issue`` — the issue's table: paper grid and default grid with today's selection, and
  the default grid's ceiling (plans chosen on the held-out part itself).
* ``selectors`` — every selector and statement on the default grid, paper protocol.
* ``candidates`` — the candidates for ``plan``'s default (``--candidates``, ';'-separated).
* ``grids`` — plan's default selection on the paper grid.
* ``kfold`` — naive and plan's default selection, 5 folds x 2 repeats.
* ``kfold-default`` — plan's default selection alone, 5 folds x 1 repeat (no naive
  baseline, so no gain over the naive single-model plan: the cheap check of the statement
  for new problems when planning on 4/5 of the problems).
* ``extra`` — naive and plan's default selection on the seven-model humaneval-extra
  profile, paper protocol, ``--extra-budgets`` budgets per placement, searched by the
  integer program (proven optimal; the exact enumeration takes minutes per budget there,
  and its exact front over ten minutes per split, so selectors take their candidates from
  one search per budget).
* ``runtime`` — one timed ``evaluate`` of plan's default selection (default profile, paper
  protocol, 20 budgets), wall clock and CPU time.

Run: python3 benchmarks/bench_heldout.py [--groups issue,selectors,...] [--replicates 64]
Writes benchmarks/results/bench_heldout.json (summaries; --rows adds every row).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from planner.evaluation import evaluate_many
from planner.output import atomic_write
from planner.report import format_table
from planner.selection import DEFAULT_SELECTION

RESULTS = Path(__file__).resolve().parent / "results" / "bench_heldout.json"
FIXED = "0.0005:0.06:20"
SPLIT = 20
#: What plan does by default (planner.selection.DEFAULT_SELECTION): the targets are
#: checked on it.
RECOMMENDED = DEFAULT_SELECTION
SELECTORS = (
    "naive", "naive:prediction=nested", "naive:prediction=632",
    "naive:budget_confidence=0.8,prediction=632",
    "one-se", "one-se:multiplier=0.5", "one-se:tune=true",
    "bootstrap",
    "shrinkage:keep=0", "shrinkage", "shrinkage:keep=0.5", "shrinkage:tune=true",
    "shrinkage:prediction=nested", "shrinkage:prediction=corrected",
    "shrinkage:prediction=632", "shrinkage:prediction=632plus",
    RECOMMENDED,
    "shrinkage:budget_confidence=0.9,prediction=632",
    "shrinkage:budget_confidence=0.95,prediction=632",
)
#: Candidates for plan's default: the shrinkage target (option means, or a one-factor
#: difficulty model: keep=0, rank=1) and the cost rule's confidence.
CANDIDATES = (
    "naive",
    "shrinkage:budget_confidence=0.9,prediction=632",
    "shrinkage:budget_confidence=0.95,prediction=632",
    "shrinkage:budget_confidence=0.8,prediction=632,keep=0.0,rank=1",
    "shrinkage:budget_confidence=0.85,prediction=632,keep=0.0,rank=1",
    "shrinkage:budget_confidence=0.9,prediction=632,keep=0.0,rank=1",
    "shrinkage:budget_confidence=0.95,prediction=632,keep=0.0,rank=1",
)
TARGETS = {  # measure: (target, direction)
    "accuracy_fixed": (0.730, ">="), "gain_pp_vs_naive_single": (2.5, ">="),
    "saving": (0.30, ">="), "abs_optimism_pp": (1.0, "<="), "overrun_rate": (0.05, "<="),
}


def _measures(fixed, placed, naive_placed) -> dict[str, object]:
    """The headline numbers of one configuration from its two evaluations."""
    s, f = placed.summary, fixed.summary
    out = {
        "accuracy_fixed": f["heldout_accuracy"].mean,
        "accuracy_fixed_sd": f["heldout_accuracy"].sd,
        "single_accuracy_fixed": f["single_heldout_accuracy"].mean,
        "overrun_rate_fixed": f["overrun_rate"].mean,
    }
    for name in ("heldout_accuracy", "single_heldout_accuracy", "gain_pp", "saving",
                 "paper_saving", "optimism_pp", "in_sample_optimism_pp", "cost_error",
                 "overrun_rate", "single_overrun_rate"):
        out[name] = s[name].mean
        out[f"{name}_sd"] = s[name].sd
    out["saving_unmatched"] = s.saving_unmatched
    out["mean_overrun"] = s.mean_overrun
    out["abs_optimism_pp"] = abs(s["optimism_pp"].mean)
    if naive_placed is not None:
        baseline = {(r.split, r.budget): r.single.heldout_accuracy for r in naive_placed.rows}
        per_split: dict[str, list[float]] = {}
        for r in placed.rows:
            per_split.setdefault(r.split, []).append(
                r.cascade.heldout_accuracy - baseline[(r.split, r.budget)])
        out["gain_pp_vs_naive_single"] = 100 * float(np.mean([np.mean(v) for v in
                                                              per_split.values()]))
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v)
            for k, v in out.items()}


def run_group(name: str, selections, *, profile=None, protocol="paper", grid="default",
              chosen_on="planning", replicates=64, budgets=(FIXED, SPLIT), keep_rows=False,
              method="exact", folds=5, repeats=2, with_naive=True) -> dict[str, object]:
    fixed_budgets, placed_budgets = budgets
    start, cpu = time.perf_counter(), time.process_time()
    common = dict(protocol=protocol, grid=grid, chosen_on=chosen_on, replicates=replicates,
                  method=method, folds=folds, repeats=repeats)
    wanted = list(dict.fromkeys(["naive", *selections] if with_naive else selections))
    fixed = evaluate_many(profile, selections=wanted, budgets=fixed_budgets, **common)
    placed = evaluate_many(profile, selections=wanted, budgets=placed_budgets, **common)
    naive = placed[0] if chosen_on == "planning" and with_naive else None
    configs = []
    for selection, f, p in zip(wanted, fixed, placed, strict=True):
        if selection not in selections:
            continue
        entry = {"selection": p.settings["selection"], **_measures(f, p, naive)}
        if keep_rows:
            entry["rows_fixed"] = f.to_json()["rows"]
            entry["rows"] = p.to_json()["rows"]
        configs.append(entry)
    return {"group": name, "profile": placed[0].settings["profile"],
            "profile_sha256": placed[0].settings["profile_sha256"], "protocol": protocol,
            "splits": placed[0].settings["splits"], "grid": grid, "chosen_on": chosen_on,
            "method": method,
            "budgets": {"fixed": fixed[0].settings["budgets"],
                        "placed": placed[0].settings["budgets"]},
            "seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu,
            "configs": configs}


def print_group(group: dict[str, object]) -> None:
    def pct(v, scale=100.0):
        return None if v is None else round(scale * v, 2)

    rows = [[c["selection"], pct(c["accuracy_fixed"]), pct(c["heldout_accuracy"]),
             pct(c["single_heldout_accuracy"]), pct(c["gain_pp"], 1),
             pct(c.get("gain_pp_vs_naive_single"), 1), pct(c["saving"]),
             c["saving_unmatched"], pct(c["paper_saving"]), pct(c["optimism_pp"], 1),
             pct(c["in_sample_optimism_pp"], 1), pct(c["overrun_rate"]),
             pct(c["overrun_rate_fixed"])]
            for c in group["configs"]]
    print(f"\n== {group['group']}: {group['profile']} · {group['protocol']} protocol · grid "
          f"{group['grid']} · chosen on {group['chosen_on']} · "
          f"{group['seconds']:.0f} s wall, {group['cpu_seconds']:.0f} s CPU")
    print(format_table(["selection", "acc% @fixed", "acc%", "single acc%", "gain pp",
                        "gain vs naive single", "saving %", "unm", "paper's %",
                        "optimism pp", "in-sample opt pp", "overrun %", "overrun % @fixed"],
                       rows))


def target_check(config: dict[str, object], reference: dict[str, object]) -> list[list]:
    """Each target of the issue, and "no worse than the paper grid with today's rule"."""
    out = []
    for name, (target, way) in TARGETS.items():
        value = config.get(name)
        met = value is not None and (value >= target if way == ">=" else value <= target)
        ref = reference.get(name)
        not_worse = value is not None and ref is not None and (
            value >= ref - 1e-12 if way == ">=" else value <= ref + 1e-12)
        out.append([name, f"{way} {target}", value, met, ref, not_worse])
    return out


def _previous() -> dict[str, dict[str, object]]:
    """The groups already in the results file (a run of some groups keeps the others)."""
    if not RESULTS.is_file():
        return {}
    return {g["group"]: g for g in json.loads(RESULTS.read_text()).get("groups", [])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", default="issue,selectors,grids,kfold,extra,runtime")
    parser.add_argument("--replicates", type=int, default=64)
    parser.add_argument("--extra-budgets", type=int, default=8)
    parser.add_argument("--rows", action="store_true", help="keep every row in the JSON")
    parser.add_argument("--candidates", default=";".join(CANDIDATES),
                        help="';'-separated selections of the candidates group")
    args = parser.parse_args()
    groups = [g.strip() for g in args.groups.split(",") if g.strip()]
    done: dict[str, dict[str, object]] = {}
    kw = dict(replicates=args.replicates, keep_rows=args.rows)
    for name in groups:
        if name == "issue":
            out = [run_group("issue: paper grid", ["naive"], grid="paper", **kw),
                   run_group("issue: default grid", ["naive"], **kw),
                   run_group("issue: default grid, ceiling", ["naive"], chosen_on="heldout",
                             **kw)]
            for g in out:
                done[g["group"]] = g
                print_group(g)
            continue
        if name == "selectors":
            group = run_group(name, list(SELECTORS), **kw)
        elif name == "candidates":
            group = run_group(name, [c for c in args.candidates.split(";") if c], **kw)
        elif name == "grids":
            group = run_group(name, ["naive", RECOMMENDED], grid="paper", **kw)
        elif name == "kfold":
            group = run_group(name, ["naive", RECOMMENDED], protocol="kfold", **kw)
        elif name == "kfold-default":
            group = run_group(name, [RECOMMENDED], protocol="kfold", repeats=1,
                              with_naive=False, **kw)
        elif name == "extra":
            n = args.extra_budgets
            group = run_group(name, ["naive", RECOMMENDED], profile="humaneval-extra",
                              budgets=(f"0.0005:0.06:{n}", n), method="ilp", **kw)
        elif name == "runtime":
            start, cpu = time.perf_counter(), time.process_time()
            evaluate_many(None, selections=[RECOMMENDED], budgets=SPLIT,
                          replicates=args.replicates)
            group = {"group": name, "selection": RECOMMENDED, "profile": "default",
                     "protocol": "paper", "budgets": SPLIT,
                     "seconds": time.perf_counter() - start,
                     "cpu_seconds": time.process_time() - cpu,
                     "load_average": os.getloadavg(), "cores": os.cpu_count()}
            done[name] = group
            print(f"\n== runtime: evaluate --selection {RECOMMENDED} (default profile, paper "
                  f"protocol, {SPLIT} budgets): {group['seconds']:.1f} s wall, "
                  f"{group['cpu_seconds']:.1f} s CPU, load average "
                  f"{group['load_average'][0]:.1f} on {group['cores']} cores")
            continue
        else:
            parser.error(f"unknown group {name!r}")
        done[name] = group
        print_group(group)
    done = {**_previous(), **done}  # groups of earlier (or concurrent) runs stay
    checks = {}
    reference = next((c for c in done.get("issue: paper grid", {}).get("configs", [])), None)
    for key in ("candidates", "selectors", "kfold", "kfold-default", "extra"):
        group = done.get(key)
        config = next((c for c in (group or {}).get("configs", [])
                       if c["selection"] == RECOMMENDED), None)
        if config is None or reference is None:
            continue
        check = target_check(config, reference)
        checks[key] = [dict(zip(["measure", "target", "value", "met", "paper_grid_today",
                                 "not_worse"], row, strict=True)) for row in check]
        print(f"\n== targets of {RECOMMENDED} ({key}; reference: paper grid, today's rule, "
              "paper protocol)")
        print(format_table(["measure", "target", "value", "met", "paper grid today",
                            "not worse"], [[r[0], r[1], None if r[2] is None else
                                            round(r[2], 4), str(r[3]), None if r[4] is None
                                            else round(r[4], 4), str(r[5])] for r in check]))
    text = json.dumps({
        "benchmark": "held-out value of plan selection (planner.evaluate)",
        "recommended": RECOMMENDED, "machine": platform.platform(),
        "groups": list(done.values()), "targets": checks,
    }, indent=1, allow_nan=False) + "\n"
    with atomic_write(RESULTS, "w", encoding="utf-8") as fh:
        fh.write(text)
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
