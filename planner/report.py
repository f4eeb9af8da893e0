"""Human-readable output: plain-text tables and the frontier plot (PNG).

Tables are fixed-width text with a header row, for terminals and for pasting into notes.
The plot shows the cascade front and the best single-model front (cost on a log scale vs
accuracy) on the planning part, the same plans scored on the held-out part as hollow
markers, and the chosen plan marked. matplotlib is imported only when a plot is drawn (Agg
backend, no display).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from .atomic import atomic_write
from .errors import CodecascadeError


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A fixed-width table; numbers right-aligned, text left-aligned."""
    cells = [[_cell(v) for v in row] for row in rows]
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


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def pct(value: float | None) -> float | None:
    """A fraction as a percentage rounded for tables."""
    return None if value is None else round(100.0 * value, 2)


def per_1k(cost: float | None) -> float | None:
    """$ per problem as $ per 1,000 problems (the paper's unit)."""
    return None if cost is None else round(1000.0 * cost, 4)


def frontier_plot(
    path: str | os.PathLike[str],
    cascade: Sequence[tuple[float, float]],
    single: Sequence[tuple[float, float]],
    *,
    cascade_heldout: Sequence[tuple[float, float]] = (),
    single_heldout: Sequence[tuple[float, float]] = (),
    chosen: tuple[float, float] | None = None,
    title: str = "",
) -> Path:
    """Write the frontier PNG atomically. Points are (cost $/problem, accuracy fraction)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    fig, ax = plt.subplots(figsize=(7.5, 5.0), dpi=120)
    try:
        def front(points, label, color, z):
            if points:
                xs, ys = zip(*sorted(points), strict=True)
                ax.plot([1000 * x for x in xs], [100 * y for y in ys], "-", color=color,
                        label=label, drawstyle="steps-post", marker=".", markersize=4,
                        zorder=z)

        def scatter(points, label, color, marker):
            if points:
                xs, ys = zip(*points, strict=True)
                ax.scatter([1000 * x for x in xs], [100 * y for y in ys], s=14, marker=marker,
                           facecolors="none", edgecolors=color, alpha=0.7, label=label)

        front(single, "best single model (planning part)", "tab:orange", 2)
        front(cascade, "cascade front (planning part)", "tab:blue", 3)
        scatter(single_heldout, "same single-model plans, held-out part", "tab:orange", "s")
        scatter(cascade_heldout, "same cascade plans, held-out part", "tab:blue", "o")
        if chosen is not None:
            ax.plot([1000 * chosen[0]], [100 * chosen[1]], marker="*", markersize=16,
                    color="tab:red", linestyle="none", label="chosen plan", zorder=4)
        ax.set_xscale("log")
        ax.set_xlabel("expected cost, $ per 1,000 problems (log scale)")
        ax.set_ylabel("expected accuracy, %")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
        if title:
            ax.set_title(title, fontsize=10)
        fig.tight_layout()
        try:
            with atomic_write(path) as fh:
                fig.savefig(fh, format="png")
        except OSError as exc:
            raise CodecascadeError(f"cannot write plot {path}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)
    return path
