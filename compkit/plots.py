"""The matplotlib figures that notebooks and reports show. Each function takes tables compkit computed and
returns a Figure; none computes pay or statistics itself. Colours are fixed and figures deterministic."""
from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

BLUE, ORANGE, GREY, RED, GREEN = "#305496", "#ed7d31", "#a5a5a5", "#c00000", "#548235"

#: Chinese fonts, in order of preference: the first one installed is used for every figure
CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", "SimHei",
             "WenQuanYi Zen Hei", "WenQuanYi Micro Hei")
#: the fallback the project's own set-up installs (the ``mplfonts`` package, a pyproject dependency, ships
#: Noto Sans CJK SC as an OpenType file): used where none of CJK_FONTS is installed on the machine
BUNDLED_FONT = ("mplfonts", "fonts/NotoSansCJKsc-Regular.otf")


class FontError(RuntimeError):
    """No Chinese font is installed and the bundled one is missing."""


def _bundled_font_path() -> str | None:
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec(BUNDLED_FONT[0])
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / BUNDLED_FONT[1]
    return str(path) if path.is_file() else None


def cjk_font(preferred: Sequence[str] = CJK_FONTS, bundled: bool = True) -> str:
    """The family name of the Chinese font figures use: the first of ``preferred`` that matplotlib finds on
    the machine; otherwise the bundled Noto Sans CJK SC (registered with matplotlib here). Raises FontError
    when there is neither, rather than drawing empty boxes."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in preferred:
        if name in installed:
            return name
    path = _bundled_font_path() if bundled else None
    if path is None:
        raise FontError("no Chinese font found (looked for " + ", ".join(preferred) + ") and the bundled font "
                        "(pip package mplfonts) is not installed; install fonts-noto-cjk or run 'make env'")
    font_manager.fontManager.addfont(path)
    return font_manager.FontProperties(fname=path).get_name()


def use_cjk_font() -> str:
    """Set matplotlib's sans-serif family to the Chinese font (DejaVu Sans after it for any glyph it lacks).
    Called once when this module is imported; returns the family used."""
    name = cjk_font()
    plt.rcParams["font.family"] = "sans-serif"
    plt.rcParams["font.sans-serif"] = [name, "DejaVu Sans"]
    return name


plt.rcParams.update({"figure.dpi": 100, "axes.spines.top": False, "axes.spines.right": False,
                     "axes.titleweight": "bold", "svg.hashsalt": "compkit"})
FONT = use_cjk_font()

_LANG = ["zh-CN"]


def set_language(lang: str | None) -> str:
    """The language of figure titles, labels and legends from now on (zh-CN by default)."""
    from compkit import i18n

    _LANG[0] = i18n.resolve(lang)
    return _LANG[0]


def _(message: str) -> str:
    from compkit import i18n

    return i18n.gettext(_LANG[0])(message)


def _unit_m() -> str:
    return _("M")


def _term(code: object) -> str:
    from compkit import i18n

    return i18n.term(str(code), _LANG[0])


def _money(ax, axis: str = "y", scale: float = 1e6, unit: str | None = None) -> None:
    """Money ticks: millions (en 'M') or, in Chinese, 万 (scale 1e4)."""
    if unit is None and _LANG[0] == "zh-CN":
        scale, unit = 1e4, "万"
    unit = unit if unit is not None else "M"
    fmt = FuncFormatter(lambda v, _pos: f"{v / scale:,.0f}{unit}" if scale == 1e4 else f"{v / scale:,.1f}{unit}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def rater_effects(raters: pd.DataFrame, top: int = 30) -> Figure:
    """Leniency (+) or severity (-) of the raters with the largest effects; unestimable raters in grey."""
    r = raters.reindex(raters["effect"].abs().sort_values(ascending=False).index).head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(7, max(3, 0.22 * len(r))))
    colors = np.where(r["estimable"], np.where(r["effect"] > 0, ORANGE, BLUE), GREY)
    ax.barh(r["rater"].astype(str), r["effect"], color=colors)
    ax.axvline(0, color="#444", lw=0.8)
    ax.set_xlabel(_("rater effect (points on the rating scale; + lenient, - strict)"))
    ax.set_title(_("Rater leniency and severity (largest {n})").format(n=len(r)))
    fig.tight_layout()
    return fig


def before_after(raw: Sequence[float], calibrated: Sequence[float], truth: Sequence[float] | None = None) -> Figure:
    """Ratee means before and after calibration (against the true level when known)."""
    fig, ax = plt.subplots(figsize=(6, 4.5))
    if truth is not None:
        ax.scatter(truth, raw, s=8, alpha=0.5, color=GREY, label=_("raw mean"))
        ax.scatter(truth, calibrated, s=8, alpha=0.6, color=BLUE, label=_("calibrated"))
        lo, hi = np.nanmin(truth), np.nanmax(truth)
        ax.plot([lo, hi], [lo, hi], color="#444", lw=0.8)
        ax.set_xlabel(_("planted true level"))
        ax.set_ylabel(_("rating"))
    else:
        ax.scatter(raw, calibrated, s=8, alpha=0.6, color=BLUE)
        ax.set_xlabel(_("raw mean rating"))
        ax.set_ylabel(_("calibrated rating"))
    ax.legend(frameon=False) if truth is not None else None
    ax.set_title(_("Ratings before and after calibration"))
    fig.tight_layout()
    return fig


def budget_curve(knob: Sequence[float], cost: Sequence[float], budget: float, solution: float | None,
                 label: str) -> Figure:
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(knob, cost, color=BLUE)
    ax.axhline(budget, color=RED, ls="--", lw=1, label=_("budget"))
    if solution is not None:
        ax.axvline(solution, color=GREEN, ls=":", lw=1, label=_("solution {value}").format(value=f"{solution:,.4g}"))
    ax.set_xlabel(label)
    ax.set_ylabel(_("total employer cost (CNY)"))
    _money(ax)
    ax.legend(frameon=False)
    ax.set_title(_("Cost against the budget as the knob moves"))
    fig.tight_layout()
    return fig


def payout_curves(current: Sequence[Sequence[float]], calibrated: Sequence[Sequence[float]]) -> Figure:
    """The current and the calibrated bonus curve: payout (% of the target bonus) against the overall score."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for curve, colour, label, style in ((current, GREY, _("current curve"), "--"),
                                        (calibrated, BLUE, _("calibrated curve"), "-")):
        pts = np.asarray(curve, dtype="float64")
        xs = np.concatenate([[pts[0, 0] - 5], pts[:, 0], [pts[-1, 0] + 5]])
        ys = np.concatenate([[pts[0, 1]], pts[:, 1], [pts[-1, 1]]]) * 100
        ax.plot(xs, ys, color=colour, ls=style, marker="o", markersize=4, label=label)
    ax.set_xlabel(_("overall score (points)"))
    ax.set_ylabel(_("payout (% of the target bonus)"))
    ax.legend(frameon=False)
    ax.set_title(_("Bonus payout curve"))
    fig.tight_layout()
    return fig


def attainment(achievement: pd.DataFrame, column: str = "achievement", by: str = "indicator") -> Figure:
    """Distribution of achievement (actual / target) per indicator, with the 100% line."""
    groups = [g for g, _ in achievement.groupby(by, sort=True)]
    data = [achievement.loc[achievement[by] == g, column].dropna().clip(0, 2.5).to_numpy() for g in groups]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(groups) + 1.5))
    ax.boxplot(data, vert=False, tick_labels=groups, showfliers=False)
    ax.axvline(1.0, color=RED, ls="--", lw=1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(_("achievement (actual / target)"))
    ax.set_title(_("Target attainment by indicator"))
    fig.tight_layout()
    return fig


def impact_ratios(table: pd.DataFrame, title: str) -> Figure:
    t = table.dropna(subset=["impact_ratio"])
    fig, ax = plt.subplots(figsize=(6, 0.4 * len(t) + 1.5))
    colors = np.where(t["adverse"].astype(bool), RED, BLUE)
    ax.barh(t["group"].astype(str), t["impact_ratio"], color=colors)
    ax.axvline(0.8, color=RED, ls="--", lw=1, label=_("four-fifths line (0.8)"))
    ax.set_xlim(0, max(1.05, float(t["impact_ratio"].max()) + 0.05))
    ax.set_xlabel(_("impact ratio (selection rate / highest group's rate)"))
    ax.legend(frameon=False, loc="lower right")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def gap_bars(table: pd.DataFrame, label: str, value: str, title: str, threshold: float | None = 5.0) -> Figure:
    t = table.dropna(subset=[value])
    fig, ax = plt.subplots(figsize=(6.5, 0.4 * len(t) + 1.5))
    colors = np.where(t[value].abs() >= (threshold if threshold is not None else np.inf), RED, BLUE)
    ax.barh(t[label].astype(str), t[value], color=colors)
    ax.axvline(0, color="#444", lw=0.8)
    if threshold is not None:
        for x in (threshold, -threshold):
            ax.axvline(x, color=RED, ls="--", lw=0.8)
    ax.set_xlabel(_("gap, % of the reference group's pay (+: paid less than the reference)"))
    ax.set_title(title)
    fig.tight_layout()
    return fig


def quartile_shares(quartiles: pd.DataFrame, band: str, group: str, share: str) -> Figure:
    pivot = quartiles.pivot(index=band, columns=group, values=share)
    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    left = np.zeros(len(pivot))
    palette = [BLUE, ORANGE, GREY, GREEN, RED]
    for i, col in enumerate(pivot.columns):
        ax.barh(pivot.index.astype(str), pivot[col], left=left, color=palette[i % len(palette)], label=str(col))
        left += pivot[col].fillna(0).to_numpy()
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.legend(frameon=False, ncol=len(pivot.columns), loc="upper center", bbox_to_anchor=(0.5, -0.15))
    ax.set_title(_("Share of each group in each quartile pay band"))
    fig.tight_layout()
    return fig


def cost_components(before: pd.Series, after: pd.Series | None = None, budget: float | None = None,
                    labels: tuple[str, str] | None = None) -> Figure:
    """Total cost by component (and the candidate's, side by side)."""
    fig, ax = plt.subplots(figsize=(7.5, 4))
    x = np.arange(len(before))
    width = 0.4 if after is not None else 0.6
    labels = labels or (_("this policy"), _("candidate"))
    ax.bar(x - (width / 2 if after is not None else 0), before.to_numpy(), width, color=BLUE, label=labels[0])
    if after is not None:
        ax.bar(x + width / 2, after.reindex(before.index).to_numpy(), width, color=ORANGE, label=labels[1])
    ax.set_xticks(x, [_term(i) for i in before.index], rotation=20, ha="right")
    _money(ax)
    ax.set_ylabel(_("CNY"))
    ax.legend(frameon=False)
    title = _("Cost by component")
    if budget is not None:
        from compkit import i18n

        title = _("Cost by component (total budget {budget})").format(budget=i18n.wan(budget, _LANG[0]) if
                                                                        _LANG[0] == "zh-CN" else
                                                                        f"{budget / 1e6:,.1f}M")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def total_cash_change(before: pd.DataFrame, after: pd.DataFrame) -> Figure:
    """Two panels for a policy design against the starting policy, on the same people: the distribution of
    total cash under each (histograms) and the change of each manager's total cash (after - before, CNY)."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    axes[0].hist([before["total_cash"].to_numpy(), after["total_cash"].to_numpy()], bins=40,
                 label=[_("starting policy"), _("design")], color=[GREY, BLUE])
    axes[0].set_title(_("Distribution of total cash"))
    axes[0].legend(frameon=False)
    change = after["total_cash"].to_numpy(dtype="float64") - before["total_cash"].to_numpy(dtype="float64")
    axes[1].hist(change, bins=40, color=ORANGE)
    axes[1].axvline(0, color="#444", lw=0.8)
    axes[1].set_title(_("Change in total cash per manager (CNY)"))
    fig.tight_layout()
    return fig


def pay_by_group(summary: pd.DataFrame, by: str, pay: str, order: Sequence[str] | None = None,
                 title: str | None = None) -> Figure:
    groups = list(order) if order is not None else sorted(summary[by].dropna().unique())
    data = [summary.loc[summary[by] == g, pay].dropna().to_numpy() for g in groups]
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.boxplot(data, tick_labels=[str(g) for g in groups], showfliers=False)
    _money(ax)
    ax.set_xlabel(_term(by))
    ax.set_ylabel(_("{what} (CNY)").format(what=_term(pay)))
    ax.set_title(title or _("{what} by {by}").format(what=_term(pay), by=_term(by)))
    fig.tight_layout()
    return fig


def lorenz(values: Sequence[float], title: str | None = None) -> Figure:
    v = np.sort(np.clip(np.asarray(values, dtype=float), 0, None))
    cum = np.concatenate([[0], np.cumsum(v)]) / max(v.sum(), 1e-12)
    share = np.linspace(0, 1, len(cum))
    fig, ax = plt.subplots(figsize=(4.8, 4.5))
    ax.plot(share, cum, color=BLUE, label=_("commission"))
    ax.plot([0, 1], [0, 1], color="#444", lw=0.8, ls="--", label=_("equal shares"))
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(_("share of managers (lowest first)"))
    ax.set_ylabel(_("share of commission"))
    ax.legend(frameon=False)
    ax.set_title(title or _("Concentration of commission"))
    fig.tight_layout()
    return fig


def histogram(values: Sequence[float], title: str, xlabel: str, marks: dict[str, float] | None = None,
              bins: int = 40, money: bool = True) -> Figure:
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    ax.hist(np.asarray(values, dtype=float), bins=bins, color=BLUE, alpha=0.85)
    colours = [RED, GREEN, ORANGE, GREY]
    for i, (label, x) in enumerate((marks or {}).items()):
        ax.axvline(x, color=colours[i % len(colours)], ls="--", lw=1, label=label)
    if marks:
        ax.legend(frameon=False)
    if money:
        _money(ax, axis="x")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(_("count"))
    ax.set_title(title)
    fig.tight_layout()
    return fig


def tornado(table: pd.DataFrame, low: str = "cost_low", high: str = "cost_high", base: float | None = None,
            label: str | None = None) -> Figure:
    """Sensitivity of cost to each knob: bars from the low to the high setting around the base cost, named by
    the column ``label`` (default: ``label``, the knob in words, where the table has it, else ``knob``)."""
    label = label or ("label" if "label" in table else "knob")
    t = table.assign(_span=(table[high] - table[low]).abs()).sort_values("_span")
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(t) + 1.5))
    y = np.arange(len(t))
    ref = base if base is not None else 0.0
    ax.barh(y, t[low] - ref, left=ref, color=BLUE, label=_("knob down"))
    ax.barh(y, t[high] - ref, left=ref, color=ORANGE, label=_("knob up"))
    ax.set_yticks(y, t[label].astype(str))
    ax.axvline(ref, color="#444", lw=0.8)
    _money(ax, axis="x")
    ax.set_xlabel(_("total employer cost (CNY)"))
    ax.legend(frameon=False, loc="lower right")
    ax.set_title(_("Sensitivity of cost to each knob"))
    fig.tight_layout()
    return fig


def migrations(matrix: pd.DataFrame, title: str | None = None) -> Figure:
    fig, ax = plt.subplots(figsize=(5, 4.2))
    ax.imshow(matrix.to_numpy(dtype=float), cmap="Blues")
    ax.set_xticks(range(matrix.shape[1]), matrix.columns.astype(str))
    ax.set_yticks(range(matrix.shape[0]), matrix.index.astype(str))
    ax.set_xlabel(matrix.columns.name or _("candidate"))
    ax.set_ylabel(matrix.index.name or _("current"))
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            ax.text(j, i, f"{int(matrix.iat[i, j])}", ha="center", va="center", fontsize=9)
    ax.set_title(title or _("Rating migrations"))
    fig.tight_layout()
    return fig


def trend(table: pd.DataFrame, x: str, columns: Sequence[str], title: str) -> Figure:
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for i, c in enumerate(columns):
        ax.plot(table[x].astype(str), table[c], marker="o", ms=3, label=_term(c),
                color=[BLUE, ORANGE, GREEN, GREY, RED][i % 5])
    _money(ax)
    ax.tick_params(axis="x", rotation=45)
    ax.legend(frameon=False)
    ax.set_title(title)
    fig.tight_layout()
    return fig
