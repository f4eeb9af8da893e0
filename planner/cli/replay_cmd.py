"""``codecascade replay``: score a cascade spec on recorded generations, or re-run the seed
paper's own evaluation (``--paper``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..errors import CodecascadeError
from ..units import COST_COLUMN, TABLE_COST_COLUMN, per_1k_problems
from ..vocabulary import SplitPart
from . import app
from .options import NoProgressOpt, PriceOpt, ProfileOpt, option_names
from .running import long_work


class ReplayUsageError(CodecascadeError, ValueError):
    """The replay command was called with an impossible combination of arguments."""


@app.command()
def replay(
    spec: Annotated[Path | None, typer.Argument(
        metavar="SPEC", help="Cascade spec (JSON) from `codecascade plan`; omit with "
        "--paper.")] = None,
    paper: Annotated[bool, typer.Option(
        "--paper", help="Replay the seed paper's grid and protocol on the profile.")] = False,
    theta: Annotated[float, typer.Option(
        metavar="FRACTION", help="--paper: the θ shared by all stages, in [0, 1].")] = 1.0,
    profile: ProfileOpt = None,
    split: Annotated[SplitPart, typer.Option(
        help="Spec replay: score on the spec split's validation or test problems, or all.")
    ] = SplitPart.TEST,
    replicates: Annotated[int, typer.Option(
        metavar="N", help="Monte Carlo replicates (>= 1) for sampled stages.")] = 64,
    seed: Annotated[int | None, typer.Option(
        metavar="N", help="Monte Carlo seed, >= 0 (default: the spec's estimator seed, "
        "else 0).")] = None,
    price: PriceOpt = None,
    confidence: Annotated[float, typer.Option(
        metavar="FRACTION", help="Interval confidence level, in (0, 1).")] = 0.95,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    no_progress: NoProgressOpt = False,
) -> None:
    """Predicted vs replayed accuracy and cost of a spec on held-out problems (with
    percentile-bootstrap intervals over problems, at the prices the spec was planned
    with), or with --paper every valid configuration of the paper's grid on all problems,
    plus its published self-checks. The profile is the spec's unless --profile names
    another."""
    from ..planning import parse_prices
    from ..profile import load_profile

    if paper:
        if spec is not None:
            raise ReplayUsageError("give either a SPEC or --paper, not both")
        if price:
            raise ReplayUsageError("--price applies to a spec replay, not to --paper")
        from ..replay import paper_replay

        with option_names(), long_work(no_progress):
            result = paper_replay(load_profile(profile), theta, confidence=confidence)
        if as_json:
            typer.echo(json.dumps(result.to_json(), indent=1))
        else:
            typer.echo(format_paper(result))
        return
    if spec is None:
        raise ReplayUsageError("give a SPEC file to replay, or --paper")
    from ..replay import replay_spec

    with option_names(), long_work(no_progress):
        out = replay_spec(spec, profile, split, replicates, seed, confidence,
                          prices=parse_prices(price or []))
    if as_json:
        typer.echo(json.dumps(out, indent=1))
    else:
        typer.echo(format_spec_replay(out))


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def format_spec_replay(out: dict) -> str:
    """Predicted vs replayed, one aligned line each."""
    rep = out["replayed"]
    lines = [f"plan: {out['plan']}",
             f"split: {out['split']} ({out['part']} part, {rep['n_problems']} problems)"]
    rows = []
    pred = out["predicted"]
    if pred is not None:
        name = "predicted" if out["prediction_matches_stages"] else "predicted!"
        rows.append((name, pred["accuracy"], pred["accuracy_ci"], pred["cost_per_problem"],
                     pred["cost_per_problem_ci"]))
    new = out.get("new_problems")
    if new is not None:
        st = new["stated"]
        rows.append(("new-stated", st["accuracy"], st["accuracy_ci"], st["cost_per_problem"],
                     st["cost_per_problem_ci"]))
    rows.append(("replayed", rep["accuracy"], rep["accuracy_ci"], rep["cost_per_problem"],
                 rep["cost_per_problem_ci"]))
    lines.append(f"{'':10} {'accuracy':>8} {'interval':>15}   {COST_COLUMN:>10} "
                 f"{'interval':>23}")
    for name, acc, acc_ci, cost, cost_ci in rows:
        lines.append(f"{name:10} {_pct(acc):>8} [{_pct(acc_ci[0])}, {_pct(acc_ci[1])}]"
                     f"   {cost:>10.6f} [{cost_ci[0]:.6f}, {cost_ci[1]:.6f}]")
    lines.append(f"intervals: {rep['interval']}, {100 * rep['confidence']:g}%; "
                 f"estimate: {rep['method']}; Monte Carlo SE {100 * rep['accuracy_mc_se']:.2f} "
                 f"pp accuracy, ${rep['cost_per_problem_mc_se']:.2g} per problem cost "
                 f"({rep['replicates']} replicates)")
    if new is not None:
        where = ("problems the plan was not chosen on" if new["unseen_problems"]
                 else "the plan's own planning problems: this does not check it")
        lines.append(f"new-problem statement ({new['stated']['method']}) minus replay on "
                     f"{where}: {new['accuracy_error_pp']:+.2f} pp accuracy"
                     + ("" if new["cost_error"] is None
                        else f", {100 * new['cost_error']:+.1f} % cost")
                     + f"; replay within its intervals: accuracy "
                     f"{'yes' if new['accuracy_within_interval'] else 'no'}, cost "
                     f"{'yes' if new['cost_within_interval'] else 'no'}")
    lines += [f"note: {n}" for n in out["notes"]]
    return "\n".join(lines)


def format_paper(result) -> str:
    """Every configuration (k/l per model, accuracy %, $ per 1,000 problems) and the
    self-check table."""
    head = "  ".join(f"{m:>14}" for m in _short_names(result.models))
    lines = [f"paper replay at θ = {result.theta:g} on {result.n_problems} problems; "
             f"intervals: percentile bootstrap over problems, {100 * result.confidence:g}%",
             f"{head}  {'accuracy':>8} {'interval':>15}  {TABLE_COST_COLUMN:>13} "
             f"{'interval':>17}"]
    for row in result.rows:
        cells = "  ".join(f"{_choice(k, line):>14}" for k, line in row.choices)
        lines.append(f"{cells}  {_pct(row.accuracy):>8} [{_pct(row.accuracy_ci[0])}, "
                     f"{_pct(row.accuracy_ci[1])}]  {per_1k_problems(row.cost):>13.3f} "
                     f"[{per_1k_problems(row.cost_ci[0]):.3f}, "
                     f"{per_1k_problems(row.cost_ci[1]):.3f}]")
    if result.self_checks:
        lines.append("")
        lines.append(f"{'self-check (published vs ours)':44} {'acc pub':>7} {'ours':>6} "
                     f"{'$/1k pub':>8} {'ours':>8}")
        for c in result.self_checks:
            lines.append(f"{c.label:44} {c.published_accuracy_pct:>7.1f} "
                         f"{c.accuracy_pct:>6.1f} {c.published_cost_per_1k_problems:>8.3f} "
                         f"{c.cost_per_1k_problems:>8.3f}")
    return "\n".join(lines)


def _short_names(models: tuple[str, ...]) -> list[str]:
    """Model names without their shared leading characters, at most 14 characters."""
    cut = 0
    if len(models) > 1:
        while all(len(m) > cut + 1 and m[cut] == models[0][cut] for m in models):
            cut += 1
    return [m[cut:][:14] for m in models]


def _choice(k: int, line: int) -> str:
    return "skip" if k < 0 else "greedy" if k == 0 else f"k={k} l={line}"
