"""compkit.plots: figures carry the data they are given (checked on the artists, not on pixels); fonts: figures
draw Chinese with a real CJK font (never empty boxes), and no 'Glyph missing' warning."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import io  # noqa: E402
import warnings  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from compkit import plots  # noqa: E402


def test_cost_components_draws_one_bar_per_component_and_policy() -> None:
    plots.set_language("en")
    before = pd.Series({"base_pay": 100e6, "bonus_paid": 20e6})
    after = pd.Series({"base_pay": 101e6, "bonus_paid": 19e6})
    fig = plots.cost_components(before, after, budget=130e6)
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    assert heights == [100e6, 20e6, 101e6, 19e6]
    assert "130.0M" in ax.get_title()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Base pay", "Bonus paid"]
    plots.set_language("zh-CN")  # the default: Chinese labels and the budget in 万元
    fig = plots.cost_components(before, after, budget=130e6)
    assert "13,000.0万元" in fig.axes[0].get_title()
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["基本工资", "当期绩效奖金"]


def test_budget_curve_marks_the_budget_and_the_solution() -> None:
    fig = plots.budget_curve([0.5, 1.0, 1.5], [90.0, 100.0, 110.0], budget=105.0, solution=1.25, label="x")
    ax = fig.axes[0]
    line = ax.lines[0]
    assert np.allclose(line.get_ydata(), [90.0, 100.0, 110.0])
    assert ax.lines[1].get_ydata()[0] == 105.0  # the budget line
    assert ax.lines[2].get_xdata()[0] == 1.25   # the solution


def test_the_first_installed_preferred_font_is_used() -> None:
    installed = {f.name for f in matplotlib.font_manager.fontManager.ttflist}
    expected = next((n for n in plots.CJK_FONTS if n in installed), None)
    if expected is not None:
        assert plots.FONT == expected
    assert plt.rcParams["font.sans-serif"][0] == plots.FONT


def test_the_bundled_font_is_the_fallback_when_none_is_installed() -> None:
    if plots._bundled_font_path() is None:
        pytest.skip("the bundled font package (mplfonts) is not installed")
    name = plots.cjk_font(preferred=("No Such Font SC",))
    assert "CJK" in name  # Noto Sans CJK SC from the bundled OpenType file


def test_no_font_at_all_is_a_clear_error() -> None:
    with pytest.raises(plots.FontError, match="no Chinese font found"):
        plots.cjk_font(preferred=("No Such Font SC",), bundled=False)


def test_chinese_labels_draw_without_missing_glyphs() -> None:
    fig, ax = plt.subplots()
    ax.set_title("客户经理绩效薪酬 −5% 万元")
    ax.bar(["零售", "对公"], [1.5, -2.0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)
    missing = [str(w.message) for w in caught if "missing" in str(w.message).lower()]
    assert missing == []


def test_a_compkit_figure_with_chinese_group_names_has_no_missing_glyph() -> None:
    table = pd.DataFrame({"group": ["女", "男"], "gap": [6.0, 0.0]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = plots.gap_bars(table, "group", "gap", "性别薪酬差距")
        fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)
    assert not [w for w in caught if "Glyph" in str(w.message)]


def test_total_cash_change_shows_both_distributions_and_the_change() -> None:
    before = pd.DataFrame({"total_cash": [100.0, 200.0, 300.0]})
    after = pd.DataFrame({"total_cash": [110.0, 190.0, 300.0]})
    fig = plots.total_cash_change(before, after)
    left, right = fig.axes
    assert len(left.get_legend().get_texts()) == 2
    # the change panel: +10, -10, 0 -> 3 people in its bars, and the zero line
    heights = [p.get_height() for p in right.patches]
    assert sum(heights) == 3
    assert right.lines[0].get_xdata()[0] == 0
    plt.close(fig)
