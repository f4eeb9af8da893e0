"""Human-readable output: plain-text tables and the frontier plot (PNG, SVG or PDF).

Tables are fixed-width text with a header row, for terminals and for pasting into notes.
The plot shows the cascade front and the best single-model front (cost on a log scale vs
accuracy) on the planning part, the same plans scored on the held-out part as hollow
markers, and the chosen plan marked. matplotlib is imported only when a plot is drawn (Agg
backend, no display).
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import CodecascadeError
from .output import OutputError, atomic_write
from .units import TABLE_COST_UNIT, per_1k_problems


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A fixed-width table; numbers right-aligned, text left-aligned. A column of floats
    shows every value with the same number of decimals (``80.00`` under ``80.52``, not
    ``80``), at most six significant digits."""
    decimals = [_decimals([row[j] for row in rows]) for j in range(len(headers))]
    cells = [[_cell(v, d) for v, d in zip(row, decimals, strict=True)] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for j, text in enumerate(row):
            widths[j] = max(widths[j], len(text))
    numeric = [all(_is_number(row[j]) for row in rows) if rows else False
               for j in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w)
                 for v, w, num in zip(values, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    out = [line(list(headers)), line(["-" * w for w in widths])]
    out += [line(row) for row in cells]
    return "\n".join(out)


def _is_number(value: object) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)) or value is None


def _decimals(column: Sequence[object]) -> int | None:
    """Decimals shared by a column whose values are all floats (or None); None otherwise,
    or when a value needs exponent notation at six significant digits."""
    values = [v for v in column if v is not None]
    if not values or not all(isinstance(v, float) for v in values):
        return None
    shown = [f"{v:.6g}" for v in values]
    if any("e" in text or "n" in text for text in shown):
        return None
    return max(len(text.partition(".")[2]) for text in shown)


def _cell(value: object, decimals: int | None = None) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}" if decimals is None else f"{value:.{decimals}f}"
    return str(value)


def pct(value: float | None) -> float | None:
    """A fraction as a percentage rounded for tables."""
    return None if value is None else round(100.0 * value, 2)


#: File formats a plot may be written in, by extension.
PLOT_FORMATS = (".png", ".svg", ".pdf")


def save_figure(fig, path: str | os.PathLike[str]) -> Path:
    """Write a matplotlib figure atomically in the format its extension names.

    Raises :class:`~planner.output.OutputError` for an extension other than
    :data:`PLOT_FORMATS` (checked before anything is written) and
    :class:`~planner.errors.CodecascadeError` when the file cannot be written.
    """
    target = Path(path)
    fmt = target.suffix.lower()
    if fmt not in PLOT_FORMATS:
        raise OutputError(f"the plot {target} must end in {' or '.join(PLOT_FORMATS)}")
    try:
        with atomic_write(target) as fh:
            fig.savefig(fh, format=fmt.lstrip("."))
    except OSError as exc:
        raise CodecascadeError(f"cannot write plot {target}: {exc.strerror or exc}") from None
    return target


@contextmanager
def figure(size: tuple[float, float]) -> Iterator[tuple[Any, Any]]:
    """A matplotlib figure and axes (Agg backend, inches ``size``), closed afterwards. Text
    is drawn as written: ``$`` is a dollar sign, never the start of a formula."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with matplotlib.rc_context({"text.parse_math": False}):
        fig, ax = plt.subplots(figsize=size, dpi=120)
        try:
            yield fig, ax
        finally:
            plt.close(fig)


def log_cost_axis(ax, label: str) -> None:
    """A log-scale x axis of costs with readable ticks at 1, 2 and 5 per decade."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(label)


def frontier_plot(
    path: str | os.PathLike[str],
    cascade: Sequence[tuple[float, float]],
    single: Sequence[tuple[float, float]],
    *,
    cascade_heldout: Sequence[tuple[float, float]] = (),
    single_heldout: Sequence[tuple[float, float]] = (),
    chosen: tuple[float, float] | None = None,
    chosen_label: str = "",
    budget: float | None = None,
    title: str = "",
) -> Path:
    """Draw the fronts and write the plot atomically (format from the extension, see
    :func:`save_figure`).

    Points are (cost in $ per problem, accuracy as a fraction); the axes show $ per 1,000
    problems and %. ``budget`` ($ per problem) draws a vertical line; ``chosen`` is starred and
    annotated with its accuracy and cost, and ``chosen_label`` (its stages) is written out
    below the axes.
    """
    plan_text = ""
    if chosen is not None and chosen_label:
        plan_text = "\n".join(textwrap.wrap(f"chosen plan (★): {chosen_label}", 110))
    with figure((8.0, 5.6 + 0.16 * plan_text.count("\n"))) as (fig, ax):
        def front(points, label, color, z):
            if points:
                xs, ys = zip(*sorted(points), strict=True)
                ax.plot([per_1k_problems(x) for x in xs], [100 * y for y in ys], "-", color=color,
                        label=label, drawstyle="steps-post", marker=".", markersize=4,
                        zorder=z)

        def scatter(points, label, color, marker):
            if points:
                xs, ys = zip(*points, strict=True)
                ax.scatter([per_1k_problems(x) for x in xs], [100 * y for y in ys], s=14,
                           marker=marker, facecolors="none", edgecolors=color, alpha=0.7,
                           label=label)

        front(single, "best single model (planning part)", "tab:orange", 2)
        front(cascade, "cascade front (planning part)", "tab:blue", 3)
        scatter(single_heldout, "same single-model plans, held-out part", "tab:orange", "s")
        scatter(cascade_heldout, "same cascade plans, held-out part", "tab:blue", "o")
        if budget is not None:
            ax.axvline(per_1k_problems(budget), color="tab:gray", linestyle="--", linewidth=1,
                       label=f"budget ${per_1k_problems(budget):g} per 1,000 problems "
                       f"(${budget:g} per problem)", zorder=1)
        if chosen is not None:
            x, y = per_1k_problems(chosen[0]), 100 * chosen[1]
            ax.plot([x], [y], marker="*", markersize=16, color="tab:red", linestyle="none",
                    label="chosen plan", zorder=4)
            ax.annotate(f"chosen: {y:.1f} %, ${x:.3g} per 1,000 problems", (x, y),
                        xytext=(-10, 8), textcoords="offset points", ha="right",
                        fontsize=8, color="tab:red")
        log_cost_axis(ax, f"expected cost, {TABLE_COST_UNIT} (log scale)")
        ax.set_ylabel("expected accuracy, %")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
        if title:
            ax.set_title("\n".join(textwrap.wrap(title, 90)), fontsize=10)
        if plan_text:
            fig.text(0.01, 0.01, plan_text, fontsize=7, color="tab:red", va="bottom")
            fig.tight_layout(rect=(0, 0.03 + 0.025 * (plan_text.count("\n") + 1), 1, 1))
        else:
            fig.tight_layout()
        return save_figure(fig, path)
