"""Fairness analyses on a per-employee table: disaggregated outcomes, adverse impact, pay gaps,
the EU pay-transparency measures, regression-adjusted gaps, Blinder–Oaxaca decomposition and rater bias.

Every function takes a pandas DataFrame with one row per employee (extra columns are ignored), never
modifies it, and returns new DataFrames or small dataclasses of DataFrames. Definitions follow
``shared/REFERENCES.md`` (sections "Pay gaps", "Adverse impact", "Adjusted gaps"); each docstring names its
formula, unit and source.

Conventions used throughout
---------------------------
* Output tables name the compared column ``group`` (and ``category`` for the category of workers); the
  original column names are kept in ``table.attrs``.
* Confidentiality (DESIGN.md §7): any figure describing fewer than :data:`MIN_GROUP` (5) people is
  set to NaN and the row carries ``suppressed=True``; head-counts stay visible.
* **One sign convention for every gap: positive = the group is paid (or rated) less than the reference
  group.** Descriptive gaps follow the regulations, ``(reference − group) / reference × 100``; adjusted gaps
  are the same quantity at equal controls, ``gap_pct = (1 − e^b) × 100`` for a log model, and ``gap =
  −b`` (reference − group, in the outcome's unit or rating points). Only the raw regression coefficient
  ``coef`` (``b``, group − reference) keeps the statistical sign; it is never shown as a gap.
* Rows whose group (or the analysed value) is missing are left out of that analysis.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.stats.contingency import expected_freq

from compkit.privacy import MIN_GROUP, suppress

if TYPE_CHECKING:
    from compkit.data import Dataset
    from compkit.engine import Outcomes
    from compkit.policy import Policy

__all__ = [
    "MIN_GROUP",
    "FOUR_FIFTHS",
    "AGE_EDGES",
    "AGE_LABELS",
    "TENURE_EDGES",
    "TENURE_LABELS",
    "suppress",
    "band",
    "add_bands",
    "disaggregate",
    "impact_ratios",
    "overall_test",
    "IndependenceTest",
    "pay_gap",
    "quartile_bands",
    "pay_transparency",
    "PayTransparencyReport",
    "adjusted_gap",
    "AdjustedGap",
    "oaxaca",
    "OaxacaResult",
    "rater_bias",
    "adjusted_gap_by",
    "unit_gaps",
    "summary_flags",
]

#: The four-fifths rule, 29 CFR 1607.4(D): adverse impact when a rate is *less than* 4/5 of the highest.
FOUR_FIFTHS = (4, 5)
#: Age bands in completed years: [0, 30), [30, 40), [40, 50), [50, ∞).
AGE_EDGES: tuple[float, ...] = (0, 30, 40, 50, np.inf)
AGE_LABELS: tuple[str, ...] = ("<30", "30-39", "40-49", "50+")
#: Tenure bands in completed years of service: [0, 2), [2, 5), [5, 10), [10, ∞).
TENURE_EDGES: tuple[float, ...] = (0, 2, 5, 10, np.inf)
TENURE_LABELS: tuple[str, ...] = ("<2", "2-4", "5-9", "10+")

_TOL_PCT = 1e-9  # percentage points: keeps a gap of exactly 5% (computed as 4.999999999…) flagged
_COMPONENT_ORDER = ("base", "variable", "total")
_BASIS_ORDER = ("annual", "hourly")
_BAND_LABELS = ("lower", "lower middle", "upper middle", "upper")


# ---------------------------------------------------------------------------------------------------
# input checks (errors for people: what was wrong, what was expected)
# ---------------------------------------------------------------------------------------------------
def _require(df: pd.DataFrame, columns: Sequence[str | None]) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
    wanted = [c for c in columns if c is not None]
    missing = [c for c in wanted if c not in df.columns]
    if missing:
        names = ", ".join(repr(c) for c in missing)
        raise ValueError(
            f"column {names} not found in the data; columns present: {[str(c) for c in df.columns]}"
        )


def _present_groups(values: pd.Series) -> list[Any]:
    return sorted(pd.unique(values.dropna()).tolist(), key=lambda v: (str(type(v)), v))


def _check_reference(values: pd.Series, reference: Any, group: str) -> None:
    present = _present_groups(values)
    if reference not in present:
        raise ValueError(
            f"reference group {reference!r} not found in column {group!r}; groups present: {present}"
        )


def _default_reference(values: pd.Series, reference: Any) -> Any:
    """``reference=None`` means the first group in sorted order (patsy's Treatment default)."""
    if reference is not None:
        return reference
    present = _present_groups(values)
    if not present:
        raise ValueError("the group column has no values")
    return present[0]


def _numeric(df: pd.DataFrame, column: str) -> pd.Series:
    s = df[column]
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype(float)
    if not pd.api.types.is_numeric_dtype(s.dtype):
        raise ValueError(f"column {column!r} must be numeric, found dtype {s.dtype}")
    return s.astype(float)


def _is_categorical(s: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)


# ---------------------------------------------------------------------------------------------------
# 1. confidentiality
# ---------------------------------------------------------------------------------------------------
# suppress lives in compkit.privacy (shared with publication); re-exported here for the analyses.


# ---------------------------------------------------------------------------------------------------
# 2. disaggregation and bands
# ---------------------------------------------------------------------------------------------------
def band(values: pd.Series, edges: Sequence[float], labels: Sequence[str]) -> pd.Series:
    """Ordered categorical of ``values`` cut into left-closed bands ``[edges[i], edges[i+1])``.

    Values outside the edges (or missing) give NaN.
    """
    return pd.cut(values, bins=list(edges), right=False, labels=list(labels), ordered=True)


def _completed_years(dates: pd.Series, as_of: pd.Timestamp) -> pd.Series:
    """Whole years from ``dates`` to ``as_of`` (an anniversary not yet reached does not count)."""
    d = pd.to_datetime(dates)
    not_yet = (d.dt.month > as_of.month) | ((d.dt.month == as_of.month) & (d.dt.day > as_of.day))
    return as_of.year - d.dt.year - not_yet.astype(float)


def add_bands(
    df: pd.DataFrame,
    *,
    as_of: str | pd.Timestamp,
    birth_date: str | None = "birth_date",
    hire_date: str | None = "hire_date",
    age_edges: Sequence[float] = AGE_EDGES,
    age_labels: Sequence[str] = AGE_LABELS,
    tenure_edges: Sequence[float] = TENURE_EDGES,
    tenure_labels: Sequence[str] = TENURE_LABELS,
) -> pd.DataFrame:
    """Copy of ``df`` with ordered categorical columns ``age_band`` and ``tenure_band``.

    Age and tenure are *completed years* at ``as_of`` (a birthday or work anniversary falling after
    ``as_of`` in that year is not yet counted). Default bands, left-closed: age ``<30`` = [0, 30),
    ``30-39`` = [30, 40), ``40-49`` = [40, 50), ``50+`` = [50, ∞); tenure ``<2`` = [0, 2), ``2-4`` = [2, 5),
    ``5-9`` = [5, 10), ``10+`` = [10, ∞) years. A missing date, or a date after ``as_of``, gives NaN.
    Pass ``birth_date=None`` or ``hire_date=None`` to skip a band.
    """
    _require(df, [birth_date, hire_date])
    as_of = pd.Timestamp(as_of)
    out = df.copy()
    if birth_date is not None:
        out["age_band"] = band(_completed_years(df[birth_date], as_of), age_edges, age_labels)
    if hire_date is not None:
        out["tenure_band"] = band(_completed_years(df[hire_date], as_of), tenure_edges, tenure_labels)
    return out


def disaggregate(
    df: pd.DataFrame,
    by: str | list[str],
    outcomes: list[str],
    min_n: int = MIN_GROUP,
) -> pd.DataFrame:
    """Head-count, mean and median of each outcome by any attribute or combination of attributes.

    One row per observed combination of ``by`` (missing attribute values form their own group, shown as
    NaN). Columns: the ``by`` columns, ``n`` (people in the group), then for each outcome ``o``:
    ``o_n`` (people with a value), ``o_mean`` and ``o_median`` (in the outcome's unit; a boolean outcome
    gives a share in [0, 1]; an even count's median is the average of the two middle values), and
    ``suppressed``. Figures of groups with ``n < min_n`` are NaN, and so are an outcome's figures when
    ``o_n < min_n``.
    """
    keys = [by] if isinstance(by, str) else list(by)
    if not keys:
        raise ValueError("disaggregate needs at least one column in 'by'")
    _require(df, [*keys, *outcomes])
    values = pd.DataFrame({o: _numeric(df, o) for o in outcomes}, index=df.index)
    frame = pd.concat([df[keys], values], axis=1)
    grouped = frame.groupby(keys, dropna=False, observed=True, sort=True)
    out = grouped.size().rename("n").to_frame()
    for o in outcomes:
        agg = grouped[o].agg(["count", "mean", "median"])
        agg.columns = [f"{o}_n", f"{o}_mean", f"{o}_median"]
        small = agg[f"{o}_n"] < min_n
        for c in (f"{o}_mean", f"{o}_median"):
            agg[c] = agg[c].where(~small)
        out = out.join(agg)
    out = out.reset_index()
    figures = [c for o in outcomes for c in (f"{o}_mean", f"{o}_median")]
    return suppress(out, "n", min_n, columns=figures)


# ---------------------------------------------------------------------------------------------------
# 3. adverse impact (four-fifths rule)
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IndependenceTest:
    """Chi-square test of independence of group and selection on the k×2 table (all groups with n > 0)."""

    statistic: float
    dof: int
    pvalue: float
    min_expected: float
    n_groups: int
    test: str = "chi2"
    note: str = ""


def _binary(series: pd.Series, column: str) -> np.ndarray:
    if series.isna().any():
        raise ValueError(f"column {column!r} has {int(series.isna().sum())} missing value(s); "
                         "expected 0/1 or True/False for every row")
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype=np.int64)
    if not pd.api.types.is_numeric_dtype(series.dtype):
        raise ValueError(f"column {column!r} must be 0/1 or True/False, found dtype {series.dtype}")
    bad = ~series.isin([0, 1])
    if bad.any():
        raise ValueError(f"column {column!r} must be 0/1 or True/False; found "
                         f"{sorted(pd.unique(series[bad]).tolist())[:5]}")
    return series.to_numpy(dtype=np.int64)


def _selection_counts(df: pd.DataFrame, selected: str, group: str) -> pd.DataFrame:
    _require(df, [selected, group])
    data = df.loc[df[group].notna(), [group, selected]]
    sel = _binary(data[selected], selected)
    frame = pd.DataFrame({"group": data[group].to_numpy(), "sel": sel})
    counts = frame.groupby("group", sort=True, observed=True).agg(
        n=("sel", "size"), selected=("sel", "sum"))
    return counts.astype(np.int64)


def overall_test(df: pd.DataFrame, selected: str, group: str) -> IndependenceTest:
    """Overall test that selection rates are equal across all groups (REFERENCES.md "Adverse impact").

    Pearson chi-square test of independence on the k×2 table (selected / not selected by group), over
    every group with at least one person, via ``scipy.stats.chi2_contingency`` (its default: Yates'
    continuity correction only when the table is 2×2). ``min_expected`` is the smallest expected count;
    below 5 the chi-square approximation is rough, which ``note`` says. When nobody or everybody was
    selected, or there is one group only, the test is undefined: statistic and p-value are NaN.
    """
    counts = _selection_counts(df, selected, group)
    table = np.column_stack([counts["selected"], counts["n"] - counts["selected"]])
    k = len(table)
    if k < 2 or (table.sum(axis=0) == 0).any():
        return IndependenceTest(np.nan, max(k - 1, 0), np.nan, np.nan, k,
                                note="undefined: fewer than two groups, or no variation in selection")
    res = stats.chi2_contingency(table)
    min_e = float(res.expected_freq.min())
    note = "" if min_e >= 5 else "some expected counts are below 5: chi-square p-value is approximate"
    return IndependenceTest(float(res.statistic), int(res.dof), float(res.pvalue), min_e, k, note=note)


def _pair_test(s_g: int, n_g: int, s_r: int, n_r: int) -> tuple[str, float]:
    table = np.array([[s_g, n_g - s_g], [s_r, n_r - s_r]])
    if (table.sum(axis=0) == 0).any() or (expected_freq(table) < 5).any():
        return "fisher_exact", float(stats.fisher_exact(table).pvalue)
    return "chi2_yates", float(stats.chi2_contingency(table, correction=True).pvalue)


def impact_ratios(df: pd.DataFrame, selected: str, group: str, min_n: int = MIN_GROUP) -> pd.DataFrame:
    """Selection rates, impact ratios and the four-fifths rule (29 CFR 1607.4(D), REFERENCES.md).

    Per group: ``n`` people, ``selected`` count, ``rate = selected / n`` (a share in [0, 1]) and
    ``impact_ratio = rate / rate_ref`` where the reference is the group with the highest rate among groups
    with ``n >= min_n`` (``is_reference``; ties: the first in sorted order). ``adverse`` is True when the
    ratio is *less than* 4/5 — exactly 0.8 is not adverse. The comparison is made in exact integer
    arithmetic, ``5 · selected_g · n_ref < 4 · selected_ref · n_g``, never on the rounded float ratio.

    ``pvalue``: two-sided test of the group's 2×2 table against the reference group's. ``test`` says which:
    ``fisher_exact`` (Fisher's exact test) when any expected count of that 2×2 table is below 5 (Cochran's
    rule), otherwise ``chi2_yates`` (Pearson chi-square with Yates' continuity correction, scipy's default
    for 2×2). The reference row has ``test='reference'``. Groups with ``n < min_n`` are suppressed (figures
    NaN, ``adverse`` NA, ``test='suppressed'``) and are never the reference.

    The overall k×2 chi-square test (:func:`overall_test`) is attached as ``table.attrs["overall"]``
    (a dict); the reference label as ``table.attrs["reference"]``.
    """
    counts = _selection_counts(df, selected, group)
    n = counts["n"].to_numpy()
    s = counts["selected"].to_numpy()
    labels = counts.index.to_list()
    eligible = n >= min_n
    rate = s / n
    out = pd.DataFrame({"group": counts.index.to_numpy(), "n": n, "selected": s, "rate": rate})
    out["impact_ratio"] = np.nan
    out["is_reference"] = False
    out["adverse"] = pd.array([pd.NA] * len(out), dtype="boolean")
    out["test"] = "suppressed"
    out["pvalue"] = np.nan
    ref_label = None
    if eligible.any():
        ref = int(np.flatnonzero(eligible)[np.argmax(rate[eligible])])
        ref_label = labels[ref]
        n_r, s_r = int(n[ref]), int(s[ref])
        with np.errstate(invalid="ignore", divide="ignore"):
            out["impact_ratio"] = rate / rate[ref]
        lhs = 5 * s.astype(object) * n_r
        rhs = 4 * s_r * n.astype(object)
        out["adverse"] = pd.array(np.asarray(lhs < rhs, dtype=bool), dtype="boolean")
        out.loc[ref, "is_reference"] = True
        tests = [("reference", np.nan) if i == ref else _pair_test(int(s[i]), int(n[i]), s_r, n_r)
                 for i in range(len(out))]  # one test per group, not per row
        out["test"] = [t for t, _ in tests]
        out["pvalue"] = [p for _, p in tests]
    small = ~eligible
    out["test"] = out["test"].where(~small, "suppressed")
    out["adverse"] = out["adverse"].where(~small, pd.NA)
    out = suppress(out, "n", min_n, columns=["selected", "rate", "impact_ratio", "pvalue"])
    out["selected"] = out["selected"].astype("Int64")
    out.attrs["group"] = group
    out.attrs["selected"] = selected
    out.attrs["reference"] = ref_label
    out.attrs["overall"] = asdict(overall_test(df, selected, group))
    return out


# ---------------------------------------------------------------------------------------------------
# 4. pay gaps
# ---------------------------------------------------------------------------------------------------
def _weighted_median(x: np.ndarray, w: np.ndarray) -> float:
    """Smallest x whose cumulative weight reaches half the total; exactly half → mean with the next x.

    With equal weights this is numpy's median (the two middle values averaged for an even count).
    """
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    cw = np.cumsum(w)
    half = cw[-1] / 2.0
    i = int(np.searchsorted(cw, half * (1 - 1e-12), side="left"))
    if i + 1 < len(x) and np.isclose(cw[i], half, rtol=1e-12, atol=0.0):
        return float((x[i] + x[i + 1]) / 2.0)
    return float(x[i])


def _group_stats(frame: pd.DataFrame, keys: list[str], weights: str | None) -> pd.DataFrame:
    """n, mean, median of ``frame['value']`` by ``keys`` (frame holds no missing values)."""
    grouped = frame.groupby(keys, sort=True, observed=True)
    if weights is None:
        return grouped["value"].agg(n="count", mean="mean", median="median").reset_index()
    wx = frame["value"] * frame["w"]
    sums = pd.DataFrame({"wx": wx, "w": frame["w"]}).groupby(
        [frame[k] for k in keys], sort=True, observed=True).sum()
    st = grouped["value"].agg(n="count")
    st["mean"] = sums["wx"] / sums["w"]
    x, w = frame["value"].to_numpy(float), frame["w"].to_numpy(float)
    # one weighted median per group (loop over groups, not rows)
    st["median"] = pd.Series({k: _weighted_median(x[idx], w[idx]) for k, idx in grouped.indices.items()})
    return st.reset_index()


def _gap_table(
    frame: pd.DataFrame,
    reference: Any,
    by: list[str],
    min_n: int,
    weights: str | None = None,
) -> pd.DataFrame:
    """Gaps of every non-reference group against the reference group, within each ``by`` cell.

    ``frame`` has columns ``group``, ``value`` (no missing values), the ``by`` columns and ``w`` if weighted.
    """
    st = _group_stats(frame, [*by, "group"], weights)
    is_ref = (st["group"] == reference).to_numpy()
    ref = st.loc[is_ref].drop(columns="group").rename(
        columns={"n": "ref_n", "mean": "ref_mean", "median": "ref_median"})
    other = st.loc[~is_ref]
    out = other.merge(ref, on=by, how="left") if by else other.merge(ref, how="cross")
    out["ref_n"] = out["ref_n"].fillna(0).astype(np.int64)
    out.insert(out.columns.get_loc("ref_n"), "reference", reference)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["mean_gap_pct"] = (out["ref_mean"] - out["mean"]) / out["ref_mean"] * 100.0
        out["median_gap_pct"] = (out["ref_median"] - out["median"]) / out["ref_median"] * 100.0
    own_small = (out["n"] < min_n).to_numpy()
    ref_small = (out["ref_n"] < min_n).to_numpy()
    for c in ("mean", "median"):
        out[c] = out[c].where(~own_small)
    for c in ("ref_mean", "ref_median"):
        out[c] = out[c].where(~ref_small)
    for c in ("mean_gap_pct", "median_gap_pct"):
        out[c] = out[c].where(~(own_small | ref_small))
    out["n"] = out["n"].astype(np.int64)
    out["suppressed"] = own_small | ref_small
    return out.reset_index(drop=True)


def pay_gap(
    df: pd.DataFrame,
    pay: str,
    group: str,
    reference: Any,
    weights: str | None = None,
    *,
    by: str | list[str] | None = None,
    min_n: int = MIN_GROUP,
) -> pd.DataFrame:
    """Mean and median pay gap of each group against the reference group, in % of the reference.

    ``mean_gap_pct = (mean_ref − mean_g) / mean_ref × 100`` and likewise ``median_gap_pct`` with medians
    (Directive (EU) 2023/970 Art. 3 — the reference is the men's figure; UK SI 2017/172 regs 8–9,
    (A − B) / A × 100). Positive = the group is paid less. Unit: percent of the reference group's figure;
    ``mean``/``median`` are in the unit of ``pay``.

    Median of an even count: the average of the two middle values (numpy / pandas). With ``weights``
    (e.g. survey weights; must be > 0) the mean is ``Σ w·x / Σ w`` and the median is the smallest value
    whose cumulative weight reaches half the total weight, averaged with the next value when it reaches
    exactly half (equal weights give the unweighted median).

    One row per non-reference group (per cell of ``by`` if given): ``group, n, mean, median, reference,
    ref_n, ref_mean, ref_median, mean_gap_pct, median_gap_pct, suppressed``. A group, or a reference group,
    with fewer than ``min_n`` people has its figures and gaps set to NaN. Rows with missing pay, group or
    ``by`` values are left out.
    """
    by_cols = [] if by is None else ([by] if isinstance(by, str) else list(by))
    _require(df, [pay, group, weights, *by_cols])
    _check_reference(df[group], reference, group)
    frame = pd.DataFrame({"group": df[group], "value": _numeric(df, pay)}, index=df.index)
    for b in by_cols:
        frame[b] = df[b]
    if weights is not None:
        frame["w"] = _numeric(df, weights)
        if (frame["w"].dropna() <= 0).any():
            raise ValueError(f"weights column {weights!r} must be > 0")
    frame = frame.dropna()
    out = _gap_table(frame, reference, by_cols, min_n, weights)
    out.attrs.update(group=group, pay=pay, reference=reference)
    return out


def quartile_bands(values: pd.Series | np.ndarray) -> np.ndarray:
    """Fractional membership of each value in the four quartile pay bands (n × 4 array, rows sum to 1).

    Method (UK SI 2017/172 reg 13; Directive (EU) 2023/970 Art. 3 "quartile pay band"):

    1. Rank everyone from lowest to highest pay (positions i = 0 … n−1).
    2. Split the ranking into four as-equal-as-possible parts: band k (0 = lower … 3 = upper) holds the
       positions ``ceil(k·n/4) ≤ i < ceil((k+1)·n/4)``, i.e. position i falls in band ``floor(4i/n)``.
       Sizes differ by at most one; the extra places when n is not a multiple of 4 go to the lower band
       (n mod 4 = 1), the lower and upper-middle bands (= 2), or all but the upper band (= 3).
    3. Ties (reg 13(2): people on the same rate at a boundary must be spread so the proportions stay
       even): people with exactly the same pay form a block that occupies consecutive positions. If the
       block straddles a boundary, each member is counted in each band it straddles with weight
       ``(block positions in that band) / (block size)``. Every band keeps its exact size, and the
       group mix of the tied block is split across the bands in equal proportion — no arbitrary
       ordering of tied people, and the result does not depend on the input order.

    Missing values get a row of NaN.
    """
    v = np.asarray(values, dtype=float)
    out = np.full((len(v), 4), np.nan)
    ok = ~np.isnan(v)
    x = v[ok]
    n = len(x)
    if n == 0:
        return out
    order = np.argsort(x, kind="stable")
    _, first, inverse, counts = np.unique(x[order], return_index=True, return_inverse=True,
                                          return_counts=True)
    start = first[inverse]                      # first position of each person's tie block
    stop = start + counts[inverse]              # one past its last position
    bounds = (np.arange(5) * n + 3) // 4        # ceil(k n / 4), exact integer arithmetic
    lo = np.maximum(start[:, None], bounds[None, :4])
    hi = np.minimum(stop[:, None], bounds[None, 1:])
    share = np.clip(hi - lo, 0, None) / (stop - start)[:, None]
    member = np.empty_like(share)
    member[order] = share
    out[ok] = member
    return out


@dataclass(frozen=True)
class PayTransparencyReport:
    """The Art. 9(1) measures of Directive (EU) 2023/970 (see :func:`pay_transparency`).

    ``pay_gap`` (a, c), ``variable_gap`` (b, d): one row per basis (annual, hourly) and non-reference
    group. ``variable_share`` (e): every group. ``quartiles`` (f): basis × band × group.
    ``by_category`` (g): category × basis × component (base, variable, total) × group, with ``flag``.
    ``flags``: the flagged rows of ``by_category``. ``joint_assessment``: Art. 10 indicated.
    """

    pay_gap: pd.DataFrame
    variable_gap: pd.DataFrame
    variable_share: pd.DataFrame
    quartiles: pd.DataFrame
    by_category: pd.DataFrame
    flags: pd.DataFrame
    joint_assessment: bool
    reference: Any
    threshold: float
    columns: dict[str, str | None] = field(default_factory=dict)

    @property
    def headline(self) -> pd.DataFrame:
        """One row per measure (a)–(e) and group, plus (g)'s count of flagged categories."""
        rows = []
        for letter, stat, table, what in (
            ("a", "mean_gap_pct", self.pay_gap, "mean pay gap, % of reference"),
            ("b", "mean_gap_pct", self.variable_gap, "mean variable-pay gap, % of reference"),
            ("c", "median_gap_pct", self.pay_gap, "median pay gap, % of reference"),
            ("d", "median_gap_pct", self.variable_gap, "median variable-pay gap, % of reference"),
        ):
            for r in table.itertuples(index=False):  # a handful of summary rows
                rows.append((letter, what, r.basis, r.group, getattr(r, stat)))
        for r in self.variable_share.itertuples(index=False):
            rows.append(("e", "share receiving variable pay, %", "annual", r.group, r.share_pct))
        hourly = self.flags.loc[self.flags["basis"] == "hourly"]
        rows.append(("g", f"categories with |mean gap| >= {self.threshold:g}%", "hourly", None,
                     float(hourly["category"].nunique())))
        return pd.DataFrame(rows, columns=["measure", "description", "basis", "group", "value"])


def pay_transparency(
    df: pd.DataFrame,
    pay: str,
    variable: str,
    group: str,
    category: str,
    reference: Any,
    hours: str | None = None,
    threshold: float = 5.0,
    *,
    base: str | None = None,
    min_n: int = MIN_GROUP,
    variable_recipients_only: bool = True,
) -> PayTransparencyReport:
    """The pay-transparency measures of Directive (EU) 2023/970 Art. 9(1) (a)–(g) and the Art. 10 flag.

    Columns: ``pay`` is total pay (the "pay level", all components, e.g. annual total cash); ``variable``
    the complementary or variable components (bonus, commission); ordinary basic pay is ``base`` if given,
    else ``pay − variable``. ``hours`` names an FTE column (1 = full time; missing → 1; must be > 0).

    Every measure is given on two bases (column ``basis``): ``annual`` (the amounts as they are) and
    ``hourly`` = amount / fte — proportional to the gross hourly rate when a full-time year has the same
    hours for everyone, so its gaps in % equal hourly-pay gaps. Without ``hours`` both bases coincide.

    (a) mean and (c) median gap of total pay, ``(ref − g) / ref × 100`` (see :func:`pay_gap`);
    (b) mean and (d) median gap of variable pay — among recipients only (variable > 0) by default, as UK
        SI 2017/172 regs 10–11 do for bonus pay; ``variable_recipients_only=False`` uses everyone;
    (e) share of each group receiving variable pay: ``100 × #(variable > 0) / n``;
    (f) share of each group in each quartile pay band of total pay: ``100 × headcount / band size``, bands
        and ties as in :func:`quartile_bands` (headcounts may be fractional where a tied block straddles a
        boundary); a band with fewer than ``min_n`` people is suppressed;
    (g) mean and median gap within each category of workers (e.g. grade), for ``base``, ``variable`` and
        ``total`` pay; ``flag`` marks total-pay rows with ``|mean_gap_pct| >= threshold`` (Art. 10: an
        average gap of at least 5% in any category; compared with a 1e-9 point tolerance so an exact 5%
        is flagged). ``joint_assessment`` is True when any *hourly* (FTE-adjusted) row is flagged, so that
        differences in working time alone do not trigger it.

    Gaps of groups (or reference groups) with fewer than ``min_n`` people, overall or within a category,
    are suppressed. Rows with missing group, pay or category are left out of the measures using them.
    """
    _require(df, [pay, variable, group, category, hours, base])
    _check_reference(df[group], reference, group)
    total = _numeric(df, pay)
    var = _numeric(df, variable)
    basic = _numeric(df, base) if base is not None else total - var
    if hours is not None:
        fte = _numeric(df, hours).fillna(1.0)
        if (fte <= 0).any():
            raise ValueError(f"column {hours!r} (FTE) must be > 0; found {int((fte <= 0).sum())} row(s) <= 0")
    else:
        fte = pd.Series(1.0, index=df.index)
    recipient = var > 0

    parts = []
    for basis, divisor in (("annual", 1.0), ("hourly", fte)):
        for comp, values in (("base", basic), ("variable", var), ("total", total)):
            parts.append(pd.DataFrame({
                "category": df[category], "basis": basis, "component": comp, "group": df[group],
                "value": values / divisor, "recipient": recipient,
            }, index=df.index))
    long = pd.concat(parts, ignore_index=True)
    keep = (long["component"] != "variable") | long["recipient"] | (not variable_recipients_only)
    long = long.loc[keep].drop(columns="recipient")
    long["basis"] = pd.Categorical(long["basis"], categories=_BASIS_ORDER, ordered=True)
    long["component"] = pd.Categorical(long["component"], categories=_COMPONENT_ORDER, ordered=True)

    overall = long.drop(columns="category").dropna(subset=["group", "value"])
    totals = overall.loc[overall["component"] == "total"].drop(columns="component")
    variables = overall.loc[overall["component"] == "variable"].drop(columns="component")
    gap_a_c = _gap_table(totals, reference, ["basis"], min_n)
    gap_b_d = _gap_table(variables, reference, ["basis"], min_n)

    # (e) share receiving variable pay
    e = pd.DataFrame({"group": df[group], "variable": var}).dropna()
    share = e.groupby("group", sort=True, observed=True)["variable"].agg(
        n="count", recipients=lambda s: int((s > 0).sum())).reset_index()
    share["share_pct"] = share["recipients"] / share["n"] * 100.0
    share = suppress(share, "n", min_n, columns=["recipients", "share_pct"])

    # (f) quartile pay bands of total pay
    q_parts = []
    for basis in _BASIS_ORDER:
        t = totals.loc[totals["basis"] == basis]
        member = pd.DataFrame(quartile_bands(t["value"]), columns=list(_BAND_LABELS))
        member["group"] = t["group"].to_numpy()
        heads = member.groupby("group", sort=True, observed=True).sum()
        sizes = member[list(_BAND_LABELS)].sum()
        q = heads.stack().rename("headcount").reset_index().rename(columns={"level_1": "band"})
        q["band_size"] = q["band"].map(sizes).round().astype(np.int64)
        q["share_pct"] = q["headcount"] / q["band_size"] * 100.0
        q.insert(0, "basis", basis)
        q_parts.append(q)
    quart = pd.concat(q_parts, ignore_index=True)
    quart["band"] = pd.Categorical(quart["band"], categories=_BAND_LABELS, ordered=True)
    quart = quart.sort_values(["basis", "band", "group"], key=None, kind="stable").reset_index(drop=True)
    quart = quart[["basis", "band", "band_size", "group", "headcount", "share_pct"]]
    quart = suppress(quart, "band_size", min_n, columns=["headcount", "share_pct"])

    # (g) by category of workers
    cat = long.dropna(subset=["category", "group", "value"])
    g = _gap_table(cat, reference, ["category", "basis", "component"], min_n)
    g["flag"] = ((g["component"] == "total")
                 & (g["mean_gap_pct"].abs() >= threshold - _TOL_PCT)).fillna(False).astype(bool)
    flagged = g.loc[g["flag"]].reset_index(drop=True)
    joint = bool((flagged["basis"] == "hourly").any())

    cols = {"group": group, "category": category, "pay": pay, "variable": variable, "base": base,
            "hours": hours}
    for t in (gap_a_c, gap_b_d, share, quart, g, flagged):
        t.attrs.update(cols)
    return PayTransparencyReport(gap_a_c, gap_b_d, share, quart, g, flagged, joint, reference,
                                 float(threshold), cols)


# ---------------------------------------------------------------------------------------------------
# 6. regression-adjusted gaps
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AdjustedGap:
    """Result of :func:`adjusted_gap` / :func:`rater_bias`.

    ``table``: one row per non-reference group — ``group, reference, n, ref_n, coef, se, ci_low, ci_high,
    pvalue, gap, gap_ci_low, gap_ci_high, gap_pct, gap_ci_low_pct, gap_ci_high_pct, significant,
    suppressed`` (gaps positive = the group is paid less; see the module's sign convention). ``coefficients``:
    every term of the model with readable names. ``result``: the fitted statsmodels results (HC3 covariance).
    """

    table: pd.DataFrame
    coefficients: pd.DataFrame
    result: Any
    formula: str
    outcome: str
    group: str
    reference: Any
    controls: list[str]
    log: bool
    nobs: int
    dropped: int
    alpha: float

    def row(self, group: Any = None) -> pd.Series:
        """The table row of ``group`` (default: the only non-reference group)."""
        t = self.table
        if group is None:
            if len(t) != 1:
                raise ValueError(f"several groups compared: {t['group'].tolist()}; name one")
            return t.iloc[0]
        hit = t.loc[t["group"] == group]
        if hit.empty:
            raise ValueError(f"group {group!r} not in the results; groups: {t['group'].tolist()}")
        return hit.iloc[0]


def _design(
    df: pd.DataFrame, outcome: str, group: str, controls: list[str], log: bool, reference: Any,
) -> tuple[pd.DataFrame, list[Any], list[str], dict[str, str], pd.DataFrame, int]:
    """Model frame with safe column names: ``y__``, group dummies ``g__i``, controls ``x__j``."""
    _require(df, [outcome, group, *controls])
    if group in controls or outcome in controls:
        raise ValueError("controls must not include the outcome or the group column")
    data = df[[outcome, group, *controls]].dropna()
    dropped = len(df) - len(data)
    y = _numeric(data, outcome)
    if log:
        bad = int((y <= 0).sum())
        if bad:
            raise ValueError(f"log model: column {outcome!r} has {bad} value(s) <= 0; "
                             "use log=False or remove them")
        y = np.log(y)
    reference = _default_reference(data[group], reference)
    _check_reference(data[group], reference, group)
    others = [g for g in _present_groups(data[group]) if g != reference]
    if not others:
        raise ValueError(f"column {group!r} has only the reference group {reference!r}")
    frame = pd.DataFrame({"y__": y.to_numpy()})
    names: dict[str, str] = {}
    terms: list[str] = []
    gvals = data[group].to_numpy()
    for i, lev in enumerate(others):
        frame[f"g__{i}"] = (gvals == lev).astype(float)
        names[f"g__{i}"] = f"{group}[{lev}]"
        terms.append(f"g__{i}")
    for j, c in enumerate(controls):
        s = data[c]
        if _is_categorical(s):
            if isinstance(s.dtype, pd.CategoricalDtype):
                cat = s.cat.remove_unused_categories()
            else:
                cat = pd.Categorical(s.astype(object).to_numpy())
            # a pandas Categorical column is a categorical factor to patsy as it stands (levels: its categories,
            # the first the base, as C() would give), and patsy then takes its codes; wrapped in C() it would look
            # at every value in Python (at 100,000 managers about 600,000 calls a review)
            frame[f"x__{j}"] = pd.Categorical(cat)
            names[f"x__{j}"] = c
            terms.append(f"x__{j}")
        else:
            frame[f"x__{j}"] = s.astype(float).to_numpy()
            names[f"x__{j}"] = c
            terms.append(f"x__{j}")
    return frame, others, terms, names, data, dropped


def _rename_term(term: str, names: dict[str, str]) -> str:
    for safe in sorted(names, key=len, reverse=True):
        if safe in term:
            return term.replace(safe, names[safe])
    return term


def adjusted_gap(
    df: pd.DataFrame,
    outcome: str,
    group: str,
    controls: list[str],
    log: bool = True,
    reference: Any = None,
    *,
    alpha: float = 0.05,
    min_n: int = MIN_GROUP,
) -> AdjustedGap:
    """Regression-adjusted gap: OLS of (log) pay on group dummies and legitimate controls (REFERENCES.md
    "Adjusted gaps").

    Model (statsmodels formula API): ``y = a + Σ_g b_g·[group = g] + controls + e`` with ``y = ln(outcome)``
    when ``log`` else the outcome; numeric controls enter linearly, non-numeric (object, string, category,
    bool) controls as ``C(...)`` treatment dummies (first level in sorted / category order is the base).
    Standard errors are heteroskedasticity-robust HC3; the CI is ``coef ± t_{1−α/2, df_resid} · se``.

    ``coef`` (b_g) is the group's difference from ``reference`` (default: first group in sorted order) at
    equal controls — in log points for a log model, else in the outcome's unit (group − reference).
    The gap follows the report's one sign convention, positive = the group is paid less:
    ``gap = −b`` with CI ``[−ci_high, −ci_low]``, and for a log model
    ``gap_pct = (1 − exp(b)) × 100`` = (reference − group) / reference × 100 at equal controls (percent of
    the reference group's pay, like the raw gaps of :func:`pay_gap`), CI ``[(1 − e^ci_high) × 100,
    (1 − e^ci_low) × 100]``; for a linear model the pct columns are NaN. Rows with a missing value in
    any model column are dropped (``dropped``). Groups with fewer than ``min_n`` people are suppressed.
    The fitted result is kept in ``.result``.
    """
    import statsmodels.formula.api as smf

    frame, others, terms, names, data, dropped = _design(df, outcome, group, controls, log, reference)
    reference = _default_reference(data[group], reference)
    formula = "y__ ~ " + " + ".join(terms)
    result = smf.ols(formula, data=frame).fit(cov_type="HC3")
    ci = result.conf_int(alpha=alpha)
    coefs = pd.DataFrame({
        "term": [_rename_term(t, names) for t in result.params.index],
        "coef": result.params.to_numpy(),
        "se": result.bse.to_numpy(),
        "ci_low": ci.iloc[:, 0].to_numpy(),
        "ci_high": ci.iloc[:, 1].to_numpy(),
        "pvalue": result.pvalues.to_numpy(),
    })
    counts = data[group].value_counts()
    keys = [f"g__{i}" for i in range(len(others))]
    table = pd.DataFrame({
        "group": others,
        "reference": reference,
        "n": [int(counts[g]) for g in others],
        "ref_n": int(counts[reference]),
        "coef": result.params[keys].to_numpy(),
        "se": result.bse[keys].to_numpy(),
        "ci_low": ci.loc[keys].iloc[:, 0].to_numpy(),
        "ci_high": ci.loc[keys].iloc[:, 1].to_numpy(),
        "pvalue": result.pvalues[keys].to_numpy(),
    })
    table["gap"] = -table["coef"]
    table["gap_ci_low"] = -table["ci_high"]
    table["gap_ci_high"] = -table["ci_low"]
    if log:
        table["gap_pct"] = -np.expm1(table["coef"]) * 100.0
        table["gap_ci_low_pct"] = -np.expm1(table["ci_high"]) * 100.0
        table["gap_ci_high_pct"] = -np.expm1(table["ci_low"]) * 100.0
    else:
        table["gap_pct"] = table["gap_ci_low_pct"] = table["gap_ci_high_pct"] = np.nan
    table["significant"] = table["pvalue"] < alpha
    small = ((table["n"] < min_n) | (table["ref_n"] < min_n)).to_numpy()
    for c in ("coef", "se", "ci_low", "ci_high", "pvalue", "gap", "gap_ci_low", "gap_ci_high", "gap_pct",
              "gap_ci_low_pct", "gap_ci_high_pct"):
        table[c] = table[c].where(~small)
    table["suppressed"] = small
    table["significant"] = table["significant"] & ~small
    table.attrs.update(group=group, outcome=outcome, log=log)
    return AdjustedGap(table, coefs, result, formula, outcome, group, reference, list(controls), log,
                       int(result.nobs), dropped, alpha)


def rater_bias(
    df: pd.DataFrame,
    rating: str,
    group: str,
    controls: list[str],
    reference: Any = None,
    *,
    alpha: float = 0.05,
    min_n: int = MIN_GROUP,
) -> AdjustedGap:
    """Do supervisor ratings differ by group once objective scores are accounted for?

    OLS of the rating on group dummies plus ``controls`` — which should include the objective KPI score
    (e.g. the performance-category score) and any other legitimate factor — with HC3 robust standard
    errors: :func:`adjusted_gap` with ``log=False``. ``coef`` is in rating points: the group's average
    rating minus the reference group's at equal objective scores; ``gap = −coef`` follows the one sign
    convention (positive = the group is rated lower): a significant positive gap suggests raters mark that
    group down (REFERENCES.md "Adjusted gaps", "Rater reliability").
    """
    if not controls:
        raise ValueError("rater_bias needs the objective score column(s) in 'controls'")
    return adjusted_gap(df, rating, group, controls, log=False, reference=reference, alpha=alpha,
                        min_n=min_n)


def adjusted_gap_by(
    df: pd.DataFrame,
    outcome: str,
    group: str,
    controls: list[str],
    by: str = "branch",
    log: bool = True,
    reference: Any = None,
    *,
    alpha: float = 0.05,
    min_n: int = MIN_GROUP,
) -> dict[Any, AdjustedGap]:
    """:func:`adjusted_gap` within each unit of ``by`` (e.g. branch by branch): a gap can sit in one branch
    only and vanish in the bank-wide figure.

    A unit is estimated when it has the reference group and another group with at least ``min_n`` people
    each (smaller units are left out: their figures could point at people); controls with a single value
    inside the unit (a branch's region) are left out of that unit's model, and ``by`` never is a control.
    Returns {unit: AdjustedGap} in the units' sorted order; each result's gaps follow the module's sign
    convention (positive = paid less). Feed it to :func:`unit_gaps` for a table, to :func:`summary_flags`
    (``adjusted_by``) for the flags.
    """
    _require(df, [outcome, group, by, *controls])
    reference = _default_reference(df[group], reference)
    _check_reference(df[group], reference, group)
    out: dict[Any, AdjustedGap] = {}
    for unit, sub in df.groupby(by, sort=True, observed=True):  # one regression per unit
        sub = sub.dropna(subset=[outcome, group])
        counts = sub[group].value_counts()
        if counts.get(reference, 0) < min_n or (counts.drop(reference, errors="ignore") >= min_n).sum() == 0:
            continue
        keep = [c for c in controls if c != by and sub[c].nunique(dropna=True) > 1]
        out[unit] = adjusted_gap(sub, outcome, group, keep, log=log, reference=reference, alpha=alpha,
                                 min_n=min_n)
    return out


def unit_gaps(results: Mapping[Any, AdjustedGap], unit: str = "unit") -> pd.DataFrame:
    """One row per unit and compared group of :func:`adjusted_gap_by`'s results: ``unit, group, n, ref_n,
    gap_pct, gap_ci_low_pct, gap_ci_high_pct, gap, pvalue, significant, suppressed`` (gap positive = paid
    less; ``gap_pct`` NaN for a linear model), sorted by p-value."""
    cols = ["group", "n", "ref_n", "gap_pct", "gap_ci_low_pct", "gap_ci_high_pct", "gap", "pvalue",
            "significant", "suppressed"]
    frames = [r.table[cols].assign(**{unit: u}) for u, r in results.items()]
    if not frames:
        return pd.DataFrame(columns=[unit, *cols])
    t = pd.concat(frames, ignore_index=True)[[unit, *cols]]
    return t.sort_values(["pvalue", unit], na_position="last", kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------
# 7. Blinder–Oaxaca decomposition
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OaxacaResult:
    """Result of :func:`oaxaca`.

    ``table``: ``decomposition`` (two_fold / three_fold), ``component``, ``value`` (outcome unit, or log
    points), ``pct_of_gap`` (value / gap × 100). ``gap = mean_reference − mean_comparison``.
    ``model`` is the statsmodels ``OaxacaBlinder`` object.
    """

    table: pd.DataFrame
    gap: float
    mean_reference: float
    mean_comparison: float
    reference: Any
    comparison: Any
    n_reference: int
    n_comparison: int
    log: bool
    suppressed: bool
    model: Any

    def value(self, component: str, decomposition: str | None = None) -> float:
        """The value of one component (``explained``, ``unexplained``, ``endowments``, …)."""
        t = self.table
        hit = t.loc[t["component"] == component]
        if decomposition is not None:
            hit = hit.loc[hit["decomposition"] == decomposition]
        if hit.empty:
            raise ValueError(f"no component {component!r}; components: {t['component'].unique().tolist()}")
        return float(hit["value"].iloc[0])


def oaxaca(
    df: pd.DataFrame,
    outcome: str,
    group: str,
    controls: list[str],
    log: bool = False,
    reference: Any = None,
    comparison: Any = None,
    *,
    min_n: int = MIN_GROUP,
) -> OaxacaResult:
    """Blinder–Oaxaca decomposition of the mean gap between two groups (REFERENCES.md "Adjusted gaps").

    Uses ``statsmodels.stats.oaxaca.OaxacaBlinder`` on ``[group dummy, controls, constant]``; numeric
    controls enter as they are, non-numeric ones as dummies (first level in sorted order dropped).
    Subscript R = ``reference`` (default: first group in sorted order), C = ``comparison`` (default: the
    only other group; required when there are more). Other groups' rows and rows with missing values are
    dropped. ``gap = ȳ_R − ȳ_C`` (outcome unit, or log points when ``log``), always in that direction.

    * two-fold, pooled (Neumark/Jann): β* from OLS on both groups including the group dummy;
      ``explained = (x̄_R − x̄_C)·β*``, ``unexplained = x̄_R·(β_R − β*) + x̄_C·(β* − β_C)``;
    * three-fold: ``endowments = (x̄_R − x̄_C)·β_C``, ``coefficients = x̄_C·(β_R − β_C)``,
      ``interaction = (x̄_R − x̄_C)·(β_R − β_C)``.

    Each decomposition sums to the gap. When either group has fewer than ``min_n`` people the values
    are NaN and ``suppressed`` is True.
    """
    from statsmodels.stats.oaxaca import OaxacaBlinder

    _require(df, [outcome, group, *controls])
    present = _present_groups(df[group])
    reference = _default_reference(df[group], reference)
    _check_reference(df[group], reference, group)
    if comparison is None:
        rest = [g for g in present if g != reference]
        if len(rest) != 1:
            raise ValueError(f"oaxaca compares two groups; column {group!r} has {present}: "
                             "name the comparison group")
        comparison = rest[0]
    elif comparison not in present or comparison == reference:
        raise ValueError(f"comparison group {comparison!r} not found in column {group!r} (or equals the "
                         f"reference); groups present: {present}")
    sub = df.loc[df[group].isin([reference, comparison])]
    frame, _, _, _, data, _ = _design(sub, outcome, group, controls, log, reference)
    y = frame["y__"].to_numpy(float)
    cols = {group: frame["g__0"].to_numpy(float)}  # 1 = comparison, 0 = reference
    x_parts = [pd.DataFrame(cols)]
    for j, c in enumerate(controls):
        s = frame[f"x__{j}"]
        if isinstance(s.dtype, pd.CategoricalDtype):
            d = pd.get_dummies(s, prefix=c, prefix_sep="=", drop_first=True, dtype=float)
            x_parts.append(d.reset_index(drop=True))
        else:
            x_parts.append(pd.DataFrame({c: s.to_numpy(float)}))
    exog = pd.concat(x_parts, axis=1)
    is_cmp = exog[group].to_numpy() == 1.0
    n_r, n_c = int((~is_cmp).sum()), int(is_cmp.sum())
    mean_r, mean_c = float(y[~is_cmp].mean()), float(y[is_cmp].mean())
    model = OaxacaBlinder(y, exog.to_numpy(float), 0, hasconst=False, swap=False)
    model.two_fold(two_fold_type="pooled")
    model.three_fold()
    gap = float(model.gap)
    rows = [
        ("two_fold", "explained", float(model.explained)),
        ("two_fold", "unexplained", float(model.unexplained)),
        ("two_fold", "gap", gap),
        ("three_fold", "endowments", float(model.endow_eff)),
        ("three_fold", "coefficients", float(model.coef_eff)),
        ("three_fold", "interaction", float(model.int_eff)),
        ("three_fold", "gap", gap),
    ]
    table = pd.DataFrame(rows, columns=["decomposition", "component", "value"])
    with np.errstate(invalid="ignore", divide="ignore"):
        table["pct_of_gap"] = table["value"] / gap * 100.0
    small = n_r < min_n or n_c < min_n
    if small:
        table[["value", "pct_of_gap"]] = np.nan
        gap = mean_r = mean_c = np.nan
    table.attrs.update(group=group, outcome=outcome, log=log, reference=reference, comparison=comparison)
    return OaxacaResult(table, gap, mean_r, mean_c, reference, comparison, n_r, n_c, log, small, model)


# ---------------------------------------------------------------------------------------------------
# 9. flags for a notebook's first table
# ---------------------------------------------------------------------------------------------------
_FLAG_COLUMNS = ["check", "scope", "group", "gap", "value", "threshold", "flag", "note"]


def _adjusted_rows(check: str, results: AdjustedGap | Mapping[str, AdjustedGap] | None,
                   alpha: float) -> list[tuple]:
    if results is None:
        return []
    items = results.items() if isinstance(results, Mapping) else [(None, results)]
    rows = []
    for label, res in items:
        for r in res.table.itertuples(index=False):  # one row per compared group
            scope = f"{label}: " if label is not None else ""
            if r.suppressed:
                rows.append((check, label, r.group, np.nan, np.nan, alpha, False,
                             f"{scope}suppressed: fewer than {MIN_GROUP} people"))
                continue
            level = f"{1 - res.alpha:.0%} CI"
            if res.log:
                gap = float(r.gap_pct)
                size = (f"gap {r.gap_pct:+.2f}% of the reference's pay, positive = paid less ({level} "
                        f"{r.gap_ci_low_pct:+.2f} to {r.gap_ci_high_pct:+.2f})")
            else:
                gap = float(r.gap)
                size = (f"gap {r.gap:+.3f} {res.outcome} points, positive = lower ({level} {r.gap_ci_low:+.3f} "
                        f"to {r.gap_ci_high:+.3f})")
            note = (f"{scope}{size} vs {r.reference}, controlling for {', '.join(res.controls) or 'nothing'};"
                    f" value = p-value")
            rows.append((check, label, r.group, gap, float(r.pvalue), alpha, bool(r.pvalue < alpha), note))
    return rows


def summary_flags(
    *,
    impact: pd.DataFrame | None = None,
    transparency: PayTransparencyReport | None = None,
    adjusted: AdjustedGap | Mapping[str, AdjustedGap] | None = None,
    rater: AdjustedGap | Mapping[str, AdjustedGap] | None = None,
    alpha: float = 0.05,
    adjusted_by: Mapping[Any, AdjustedGap] | None = None,
) -> pd.DataFrame:
    """Table of fairness flags for a notebook's first table: ``check, scope, group, gap, value, threshold,
    flag, note``. ``scope`` is the label of a mapping's result (a branch, a region, "base salary") or None;
    ``gap`` the size of the gap in the one sign convention (positive = the group is paid or rated less; % of
    the reference's pay for pay gaps, rating points for rater bias; NaN for the four-fifths rule).

    * ``four_fifths`` (from :func:`impact_ratios`): value = impact ratio, threshold 0.8, flag = adverse
      (ratio < 0.8, 29 CFR 1607.4(D));
    * ``category_pay_gap`` (from :func:`pay_transparency` (g)): value = mean total-pay gap in % within a
      category, threshold = the report's (5%), flag = |gap| >= threshold (Art. 10);
    * ``adjusted_gap`` / ``rater_bias`` (from :func:`adjusted_gap` / :func:`rater_bias`, one result or a
      mapping label → result, e.g. per region): value = p-value, threshold = ``alpha``, flag = p < alpha;
      the note gives the estimated gap and its CI;
    * ``branch_adjusted_gap`` (``adjusted_by``: :func:`adjusted_gap_by`'s {branch: result}): the same, one
      row per branch, so a gap that sits in one branch is flagged even when the bank-wide gap is not.

    Suppressed groups appear with value NaN, flag False and a note saying so.
    """
    rows: list[tuple] = []
    if impact is not None:
        ref = impact.attrs.get("reference")
        for r in impact.loc[~impact["is_reference"]].itertuples(index=False):  # one row per group
            if r.suppressed:
                rows.append(("four_fifths", None, r.group, np.nan, np.nan, 0.8, False,
                             f"suppressed: fewer than {MIN_GROUP} people"))
                continue
            note = f"selection rate {r.rate:.1%} vs {ref} (highest rate); {r.test} p = {r.pvalue:.3g}"
            rows.append(("four_fifths", None, r.group, np.nan, float(r.impact_ratio), 0.8, bool(r.adverse),
                         note))
    if transparency is not None:
        g = transparency.by_category
        tot = g.loc[g["component"] == "total"]
        for r in tot.itertuples(index=False):  # one row per category × basis × group
            where = f"category {r.category}, {r.basis} basis, mean total-pay gap vs {r.reference}"
            scope = f"{r.category} · {r.basis}"
            if r.suppressed:
                rows.append(("category_pay_gap", scope, r.group, np.nan, np.nan, transparency.threshold, False,
                             f"{where}: suppressed (fewer than {MIN_GROUP} people in a group)"))
            else:
                rows.append(("category_pay_gap", scope, r.group, float(r.mean_gap_pct), float(r.mean_gap_pct),
                             transparency.threshold, bool(r.flag),
                             where + ("; joint pay assessment indicated (Art. 10)"
                                      if r.flag and r.basis == "hourly" else "")))
    rows += _adjusted_rows("adjusted_gap", adjusted, alpha)
    rows += _adjusted_rows("branch_adjusted_gap", adjusted_by, alpha)
    rows += _adjusted_rows("rater_bias", rater, alpha)
    out = pd.DataFrame(rows, columns=_FLAG_COLUMNS)
    out["value"] = out["value"].astype(float)
    out["gap"] = out["gap"].astype(float)
    out["threshold"] = out["threshold"].astype(float)
    out["flag"] = out["flag"].astype(bool)
    return out


# ------------------------------------------------------------------------------------ the people table


def people_table(outcomes: Outcomes, data: Dataset, policy: Policy) -> pd.DataFrame:
    """One row per person employed in the cycle (``days_share`` > 0): the evaluation's summary, with what the
    fairness checks compare and control for:
      birth_date, age_band, tenure_band  (:func:`add_bands` at the cycle's end)
      tenure_years     (cycle end - hire date) in days / 365.25
      years_in_grade   (cycle end - grade_since, else the hire date) in days / 365.25
      variable_pay     bonus + commission (CNY);  total_pay = base_pay + allowances + variable_pay (CNY)
      top_rating       the rating is the best label;  promoted: the recommendation is 'promote'
      bonus_received   bonus > 0
      supervisor_rating  the mean of the person's supervisor 360 ratings (every item; NaN without any)
    """
    s = outcomes.summary
    people = s[s["days_share"] > 0].merge(data.employees[["employee_id", "birth_date"]], on="employee_id")
    people = add_bands(people, as_of=data.cycle_end)
    end = data.cycle_end
    people["tenure_years"] = (end - people["hire_date"]).dt.days / 365.25
    grade_since = data.employees.set_index("employee_id")["grade_since"]
    since = people["employee_id"].map(grade_since).fillna(people["hire_date"])
    people["years_in_grade"] = (end - since).dt.days / 365.25
    people["variable_pay"] = people["bonus"] + people["commission"]
    people["total_pay"] = people["base_pay"] + people["allowances"] + people["variable_pay"]
    people["top_rating"] = people["rating"] == policy.ratings.labels[0]
    people["promoted"] = people["promotion"] == "promote"
    people["bonus_received"] = people["bonus"] > 0
    r = data.ratings
    supervisor = r[r["rater_role"] == "supervisor"].groupby("employee_id", observed=True)["score"].mean()
    people["supervisor_rating"] = people["employee_id"].map(supervisor)
    return people
