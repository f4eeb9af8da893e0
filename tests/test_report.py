"""The plots a user reads: dollar signs as written, a chosen plan that is labelled without
pushing the axes off the figure, readable log-axis ticks."""

from __future__ import annotations

import numpy as np

from planner.report import figure, frontier_plot, log_cost_axis

PLAN = ("WizardCoder-Python-7B[k=2 t=3 l=4 θ=0.8 paper] -> WizardCoder-Python-13B[k=5 t=3 "
        "l=5 θ=0.4 paper] -> WizardCoder-Python-34B[k=5 t=2 l=2 θ=0 paper]")


def test_dollar_signs_are_text_not_formulas():
    # "budget $10 per 1,000 problems ($0.01 per problem)" was drawn as the formula
    # "10per1,000problems(0.01" in italics
    with figure((4, 3)) as (_fig, ax):
        label = ax.text(0.5, 0.5, "budget $10 per 1,000 problems ($0.01 per problem)")
        assert label.get_parse_math() is False
    assert ax.text(0, 0, "$x$").get_parse_math() is True  # only inside the plots


def test_the_log_cost_axis_labels_every_1_2_5_tick():
    with figure((6, 4)) as (fig, ax):
        ax.plot([0.5, 70], [50, 85])
        log_cost_axis(ax, "cost")
        fig.canvas.draw()
        shown = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert {"1", "2", "5", "10", "20", "50"} <= set(shown)


def test_the_chosen_plan_stays_inside_the_figure(tmp_path, monkeypatch):
    from planner import report

    seen = {}
    real_save = report.save_figure

    def save(fig, path):
        fig.canvas.draw()
        seen["axes"] = fig.axes[0].get_position()
        seen["texts"] = [t.get_text() for t in fig.texts]
        return real_save(fig, path)

    monkeypatch.setattr(report, "save_figure", save)
    costs = np.geomspace(0.0005, 0.07, 40)
    accuracy = 0.55 + 0.3 * np.log(costs / 0.0005) / np.log(140)
    frontier_plot(tmp_path / "front.png", list(zip(costs, accuracy, strict=True)),
                  list(zip(costs * 1.3, accuracy - 0.03, strict=True)),
                  chosen=(0.00985, 0.779), chosen_label=PLAN, budget=0.01,
                  title="wizardcoder-humaneval · grid default · planned on paper-seed3 "
                  "(49 problems) · partial: stopped before every plan was seen")
    # The long plan label was drawn left of the star, and tight_layout then squeezed the
    # axes into the right third of the figure; now the stages are written below the axes.
    assert seen["axes"].width > 0.8 and seen["axes"].x0 < 0.15
    assert "".join(seen["texts"]).replace("\n", " ") == f"chosen plan (★): {PLAN}"
    assert (tmp_path / "front.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_float_column_shows_its_values_with_the_same_decimals():
    from planner.report import format_table

    text = format_table(["acc %", "$/1k problems", "n", "plan"],
                        [[80.52, 2.0464, 3, "a"], [80.0, 2.074, 12, "b"], [None, 0.5, 1, "c"]])
    rows = [line.split() for line in text.splitlines()[2:]]
    assert rows == [["80.52", "2.0464", "3", "a"], ["80.00", "2.0740", "12", "b"],
                    ["-", "0.5000", "1", "c"]]
    assert format_table(["x"], [[1.5e-9], [2.0]]).splitlines()[2:] == ["1.5e-09", "      2"]


def test_the_profile_table_prints_every_price_with_two_decimals():
    from planner.measure.summary import format_summary, profile_summary
    from planner.profile import load_profile

    text = format_summary(profile_summary(load_profile("humaneval-extra")))
    prices = {line.split()[0]: line.split()[1] for line in text.splitlines()[2:9]}
    assert prices["gpt-3.5-turbo"] == "2.00" and prices["WizardCoder-Python-7B"] == "1.91"
    assert prices["gpt-4"] == "60.00" and prices["CodeLlama-34B-Instruct"] == "1.00"
    assert len(text.splitlines()[0]) <= 92
