"""A per-model summary of a profile: what ``codecascade profile PATH`` prints.

Per model: problems covered, samples per problem, greedy and sampled pass@1 (from the
profile's re-executed correctness, never from a source's stored flags), test generations
and assert lines per problem, the share of assert lines that hold for the reference
solution (over recorded occurrences and over distinct lines), how many of its kept assert
lines (sampled and greedy test generations) the profile's ``line_informative`` mask finds
solution-independent (None when the profile has no mask), and mean generated tokens per
solution and per test generation. Everything is computed with array operations.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..profile import Profile
from ..units import PRICE_UNIT, per_million


def _mean(values: np.ndarray, where: np.ndarray) -> float | None:
    """Mean of ``values`` over ``where``; None if nothing is selected."""
    count = int(where.sum())
    return float(values[where].sum() / count) if count else None


def profile_summary(profile: Profile) -> dict[str, Any]:
    """The summary as a JSON-ready dict: profile-level facts and one entry per model."""
    P = profile.n_problems
    problem_axis = np.arange(P)
    models = []
    for m, info in enumerate(profile.models):
        ids = profile.sample_solution[m]                       # [P, N]
        present = ids >= 0
        n_samples = present.sum(axis=1)
        correct = np.take_along_axis(profile.solution_correct, np.maximum(ids, 0), axis=1)
        sampled_rate = np.where(n_samples > 0,
                                (correct & present).sum(axis=1) / np.maximum(n_samples, 1), 0.0)
        greedy = profile.greedy_solution[m]
        has_greedy = greedy >= 0
        greedy_ok = profile.solution_correct[problem_axis, np.maximum(greedy, 0)] & has_greedy
        covered = (n_samples > 0) | has_greedy
        ordered = np.sort(ids, axis=1)
        n_distinct = ((ordered[:, 1:] != ordered[:, :-1]) & (ordered[:, 1:] >= 0)).sum(axis=1)
        n_distinct += (ordered[:, :1] >= 0).sum(axis=1)

        lines = profile.test_line[m]                            # [P, T, L]
        line_present = lines >= 0
        gen_present = (line_present | (profile.test_line_tokens[m] > 0)).any(axis=2)
        n_gens = gen_present.sum(axis=1)
        holds = np.take_along_axis(
            profile.line_holds_reference, np.maximum(lines, 0).reshape(P, -1), axis=1
        ).reshape(lines.shape) & line_present
        n_line_occ = line_present.sum(axis=(1, 2))
        distinct = np.zeros(profile.line_holds_reference.shape, dtype=bool)
        p_idx, _, _ = np.nonzero(line_present)
        distinct[p_idx, lines[line_present]] = True
        has_tests = n_gens > 0
        gen_tokens = profile.test_line_tokens[m].sum(axis=2)
        kept = np.concatenate([lines.reshape(P, -1), profile.greedy_test_line[m]], axis=1)
        independent = None
        if profile.line_informative is not None:
            informative = np.take_along_axis(profile.line_informative, np.maximum(kept, 0),
                                             axis=1)
            independent = int(((kept >= 0) & ~informative).sum())
        models.append({
            "name": info.name,
            "price_per_1m_generated": per_million(info.price_generated),
            "price_per_1m_prompt": per_million(info.price_prompt),
            "problems": int(covered.sum()),
            "samples_per_problem": _mean(n_samples.astype(float), covered),
            "samples_total": int(n_samples.sum()),
            "distinct_solutions_per_problem": _mean(n_distinct.astype(float), n_samples > 0),
            "greedy_pass_at_1": _mean(greedy_ok.astype(float), has_greedy),
            "sampled_pass_at_1": _mean(sampled_rate, n_samples > 0),
            "test_generations_per_problem": _mean(n_gens.astype(float), covered),
            "assert_lines_per_problem": _mean(n_line_occ.astype(float), has_tests),
            "distinct_assert_lines_per_problem": _mean(distinct.sum(axis=1).astype(float),
                                                       has_tests),
            "lines_holding_for_reference": (float(holds.sum() / n_line_occ.sum())
                                            if n_line_occ.sum() else None),
            "distinct_lines_holding_for_reference": (
                float((distinct & profile.line_holds_reference).sum() / distinct.sum())
                if distinct.sum() else None),
            "kept_assert_lines": int((kept >= 0).sum()),
            "solution_independent_lines": independent,
            "mean_solution_tokens": _mean(profile.sample_tokens[m].astype(float), present),
            "mean_greedy_tokens": _mean(profile.greedy_tokens[m].astype(float), has_greedy),
            "mean_test_generation_tokens": _mean(gen_tokens.astype(float), gen_present),
        })
    return {
        "problems": P,
        "models": models,
        "pooled_solutions_per_problem": float(profile.n_solutions.mean()),
        "pooled_assert_lines_per_problem": float(profile.n_lines.mean()),
        "fingerprint": profile.fingerprint(),
        "provenance": profile.provenance,
    }


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _price(per_1m: float) -> str:
    """A price in $ per million tokens: two decimals, two significant digits below $0.10."""
    return f"{per_1m:.2f}" if per_1m == 0 or per_1m >= 0.1 else f"{per_1m:.2g}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def format_summary(summary: dict[str, Any]) -> str:
    """A fixed-width table of :func:`profile_summary` for the terminal (prices with two
    decimals, or two significant digits below $0.10; a problems column only when the
    models differ in how many they cover)."""
    models = summary["models"]
    width = max([5, *(len(m["name"]) for m in models)])
    per_model_problems = len({m["problems"] for m in models}) > 1
    header = (f"{'model':<{width}} {'$/M gen':>8}" + (f" {'probs':>5}" if per_model_problems
                                                    else "")
              + f" {'samples':>7} {'greedy':>6} {'sampled':>7} {'tests':>5} {'lines':>5} "
              f"{'valid':>6} {'tok/sol':>7} {'tok/test':>8}")
    rows = [header, "-" * len(header)]
    for m in models:
        rows.append(
            f"{m['name']:<{width}} {_price(m['price_per_1m_generated']):>8}"
            + (f" {m['problems']:>5}" if per_model_problems else "")
            + f" {_fmt(m['samples_per_problem'], '.0f'):>7} "
            f"{_pct(m['greedy_pass_at_1']):>6} {_pct(m['sampled_pass_at_1']):>7} "
            f"{_fmt(m['test_generations_per_problem'], '.0f'):>5} "
            f"{_fmt(m['assert_lines_per_problem'], '.0f'):>5} "
            f"{_pct(m['lines_holding_for_reference']):>6} "
            f"{_fmt(m['mean_solution_tokens'], '.0f'):>7} "
            f"{_fmt(m['mean_test_generation_tokens'], '.0f'):>8}")
    counts = [m for m in summary["models"] if m["solution_independent_lines"] is not None]
    if len(counts) == len(summary["models"]):
        masked = ", ".join(f"{m['name']} {m['solution_independent_lines']:,} of "
                           f"{m['kept_assert_lines']:,}" for m in counts
                           if m["kept_assert_lines"]) or "no model has test lines"
        mask_note = (f"assert lines that cannot fail or never call the function under test "
                     f"(left out by the pass_fraction and consensus rules, counted by the "
                     f"paper rule): {masked}")
    else:
        mask_note = ("assert lines that cannot fail: unknown (the profile has no "
                     "line_informative mask; the pass_fraction and consensus rules need it: "
                     "codecascade measure OUTPUT --line-mask-of PROFILE adds it)")
    prov = summary["provenance"]
    levels = ",".join(prov.get("sandbox_levels", [])) or "?"
    created = (prov.get("run") or {}).get("created") or prov.get("created", "?")
    rows += [
        "",
        f"{summary['problems']} problems; per problem {summary['pooled_solutions_per_problem']:.0f}"
        f" distinct solutions and {summary['pooled_assert_lines_per_problem']:.0f} distinct "
        f"assert lines (all models pooled)",
        f"$/M gen = price of a million generated tokens ({PRICE_UNIT}); "
        "greedy/sampled = pass@1 re-executed against the ground truth; tests = test "
        "generations, lines = assert lines per problem (first 5 line positions), valid = "
        "share of those lines that hold for the reference solution",
        mask_note,
        f"built {created} by {prov.get('tool', '?')} "
        f"{prov.get('tool_version', '')}, sandbox level {levels}, fingerprint "
        f"{summary['fingerprint'][:12]}",
    ]
    return "\n".join(rows)
