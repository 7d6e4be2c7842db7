"""compkit.plots: figures carry the data they are given (checked on the artists, not on pixels)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from compkit import plots  # noqa: E402


def test_cost_components_draws_one_bar_per_component_and_policy() -> None:
    before = pd.Series({"base_pay": 100e6, "bonus_paid": 20e6})
    after = pd.Series({"base_pay": 101e6, "bonus_paid": 19e6})
    fig = plots.cost_components(before, after, budget=130e6)
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    assert heights == [100e6, 20e6, 101e6, 19e6]
    assert "130.0M" in ax.get_title()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["base pay", "bonus paid"]


def test_budget_curve_marks_the_budget_and_the_solution() -> None:
    fig = plots.budget_curve([0.5, 1.0, 1.5], [90.0, 100.0, 110.0], budget=105.0, solution=1.25, label="x")
    ax = fig.axes[0]
    line = ax.lines[0]
    assert np.allclose(line.get_ydata(), [90.0, 100.0, 110.0])
    assert ax.lines[1].get_ydata()[0] == 105.0  # the budget line
    assert ax.lines[2].get_xdata()[0] == 1.25   # the solution
