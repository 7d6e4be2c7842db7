"""Tests of compkit.fairness: hand-computed examples, independent recomputation with scipy/statsmodels/numpy,
a planted-effect simulation and properties."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.oaxaca import OaxacaBlinder

from compkit import fairness as fx


# ------------------------------------------------------------------------------------------------- helpers
def selection_frame(counts: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """One row per person: group label and selected (bool), from {group: (selected, n)}."""
    parts = [pd.DataFrame({"team": g, "promoted": np.arange(n) < s}) for g, (s, n) in counts.items()]
    return pd.concat(parts, ignore_index=True)


def workforce(seed: int = 7, n: int = 1500) -> pd.DataFrame:
    """Synthetic customer managers: pay depends on grade and branch; women are over-represented in the lower
    grades; in branch B2 only, women are paid 5% less than men of the same grade."""
    rng = np.random.default_rng(seed)
    gender = rng.choice(["F", "M"], size=n)
    # grade shares CM1/CM2/SCM: women 50/30/20 %, men 25/35/40 %
    u = rng.random(n)
    cut1 = np.where(gender == "F", 0.50, 0.25)
    cut2 = cut1 + np.where(gender == "F", 0.30, 0.35)
    grade = np.where(u < cut1, "CM1", np.where(u < cut2, "CM2", "SCM"))
    branch = rng.choice(["B1", "B2", "B3"], size=n)
    log_pay = (np.log(120_000)
               + pd.Series(grade).map({"CM1": 0.0, "CM2": 0.25, "SCM": 0.55}).to_numpy()
               + pd.Series(branch).map({"B1": 0.0, "B2": 0.05, "B3": -0.03}).to_numpy()
               + rng.normal(0.0, 0.06, n))
    log_pay += np.where((branch == "B2") & (gender == "F"), np.log(0.95), 0.0)
    return pd.DataFrame({"gender": gender, "grade": grade, "branch": branch, "pay": np.exp(log_pay),
                         "tenure": rng.integers(0, 20, n).astype(float)})


# ------------------------------------------------------------------------------------------------- 1. suppression
def test_suppress_blanks_figures_of_a_group_of_four():
    table = pd.DataFrame({"grade": ["CM1", "CM2"], "n": [4, 5], "mean": [100.0, 200.0], "count_sel": [2, 3]})
    out = fx.suppress(table)
    assert out["suppressed"].tolist() == [True, False]
    assert np.isnan(out.loc[0, "mean"]) and np.isnan(out.loc[0, "count_sel"])
    assert out.loc[1, "mean"] == 200.0 and out.loc[1, "count_sel"] == 3
    assert out["n"].tolist() == [4, 5]                       # head-counts stay visible
    assert table.loc[0, "mean"] == 100.0                    # input untouched


def test_disaggregate_suppresses_group_of_four_and_matches_pandas():
    df = pd.DataFrame({
        "gender": ["F"] * 4 + ["M"] * 6,
        "grade": ["CM1"] * 10,
        "pay": [1.0, 2.0, 3.0, 4.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0],
        "promoted": [True, False, True, False, True, True, False, False, False, True],
    })
    out = fx.disaggregate(df, ["gender", "grade"], ["pay", "promoted"])
    f = out.loc[out["gender"] == "F"].iloc[0]
    m = out.loc[out["gender"] == "M"].iloc[0]
    assert f["n"] == 4 and bool(f["suppressed"])
    assert np.isnan(f["pay_mean"]) and np.isnan(f["pay_median"]) and np.isnan(f["promoted_mean"])
    assert m["n"] == 6 and not bool(m["suppressed"])
    assert m["pay_mean"] == pytest.approx(35.0)              # (10+20+30+40+50+60)/6
    assert m["pay_median"] == pytest.approx(35.0)            # even count: (30+40)/2
    assert m["promoted_mean"] == pytest.approx(3 / 6)
    # by a single column, and suppression by the outcome's own count
    df2 = df.assign(pay=df["pay"].where(df.index != 9))      # one M value missing -> pay_n = 5, still shown
    out2 = fx.disaggregate(df2, "gender", ["pay"])
    assert out2.loc[out2["gender"] == "M", "pay_n"].item() == 5
    assert out2.loc[out2["gender"] == "M", "pay_mean"].item() == pytest.approx(30.0)


def test_add_bands_edges_and_anniversaries():
    df = pd.DataFrame({
        "birth_date": ["1995-06-01", "1995-06-02", "1985-01-01", "1975-06-01", "1960-01-01", None],
        "hire_date": ["2023-06-01", "2023-06-02", "2020-06-01", "2015-06-02", "2000-01-01", "2026-01-01"],
    })
    out = fx.add_bands(df, as_of="2025-06-01")
    # ages: 30 (birthday today), 29 (birthday tomorrow), 40, 50, 65, missing
    assert out["age_band"].astype(object).tolist()[:5] == ["30-39", "<30", "40-49", "50+", "50+"]
    assert pd.isna(out["age_band"].iloc[5])
    # tenure: 2 (anniversary today), 1, 5, 9 (anniversary tomorrow), 25, hired in the future
    assert out["tenure_band"].astype(object).tolist()[:5] == ["2-4", "<2", "5-9", "5-9", "10+"]
    assert pd.isna(out["tenure_band"].iloc[5])
    assert out["age_band"].cat.ordered and list(out["age_band"].cat.categories) == list(fx.AGE_LABELS)
    assert "age_band" not in df.columns


# ------------------------------------------------------------------------------------------------- 3. four-fifths
def test_four_fifths_hand_example_exact_boundary():
    # rates: A 50/100 = 0.50 (highest), B 40/100 = 0.40, C 39/100 = 0.39
    # B: 0.40 / 0.50 = 0.80 exactly -> NOT adverse (29 CFR 1607.4(D): "less than" four-fifths)
    #    integers: 5*40*100 = 20000 < 4*50*100 = 20000 is False
    # C: 0.39 / 0.50 = 0.78 -> adverse; 5*39*100 = 19500 < 20000
    df = selection_frame({"A": (50, 100), "B": (40, 100), "C": (39, 100)})
    t = fx.impact_ratios(df, "promoted", "team").set_index("group")
    assert t.attrs["reference"] == "A"
    assert t.loc["A", "is_reference"] and not t.loc["B", "is_reference"]
    assert t["rate"].tolist() == pytest.approx([0.50, 0.40, 0.39])
    assert t.loc["B", "impact_ratio"] == pytest.approx(0.80)
    assert t.loc["C", "impact_ratio"] == pytest.approx(0.78)
    assert bool(t.loc["B", "adverse"]) is False
    assert bool(t.loc["C", "adverse"]) is True
    assert bool(t.loc["A", "adverse"]) is False
    assert t["selected"].tolist() == [50, 40, 39] and t["n"].tolist() == [100, 100, 100]


def test_four_fifths_exact_arithmetic_beats_floating_point():
    # reference R: 5/6 selected; group G: 4/6. Ratio (4/6)/(5/6) = 4/5 exactly, but in floating point
    # (4/6)/(5/6) == 0.7999999999999999 < 0.8. Exact integers: 5*4*6 = 120 < 4*5*6 = 120 is False.
    assert (4 / 6) / (5 / 6) < 0.8
    df = selection_frame({"R": (5, 6), "G": (4, 6)})
    t = fx.impact_ratios(df, "promoted", "team").set_index("group")
    assert bool(t.loc["G", "adverse"]) is False


def test_impact_pvalues_match_scipy_independently():
    # D is small (n=6): expected count of D-selected vs A = 6*51/106 < 5 -> Fisher's exact test
    df = selection_frame({"A": (50, 100), "B": (40, 100), "C": (39, 100), "D": (1, 6)})
    t = fx.impact_ratios(df, "promoted", "team").set_index("group")
    chi_b = stats.chi2_contingency([[40, 60], [50, 50]], correction=True).pvalue
    chi_c = stats.chi2_contingency([[39, 61], [50, 50]], correction=True).pvalue
    fisher_d = stats.fisher_exact([[1, 5], [50, 50]]).pvalue
    assert t.loc["B", "test"] == "chi2_yates" and t.loc["B", "pvalue"] == pytest.approx(chi_b, rel=1e-12)
    assert t.loc["C", "test"] == "chi2_yates" and t.loc["C", "pvalue"] == pytest.approx(chi_c, rel=1e-12)
    assert t.loc["D", "test"] == "fisher_exact" and t.loc["D", "pvalue"] == pytest.approx(fisher_d, rel=1e-12)
    assert t.loc["A", "test"] == "reference" and np.isnan(t.loc["A", "pvalue"])
    # overall k x 2 chi-square
    overall = fx.overall_test(df, "promoted", "team")
    ref = stats.chi2_contingency([[50, 50], [40, 60], [39, 61], [1, 5]])
    assert overall.pvalue == pytest.approx(ref.pvalue, rel=1e-12)
    assert overall.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert overall.dof == 3 and overall.n_groups == 4
    assert overall.min_expected < 5 and "approximate" in overall.note
    assert t.attrs["overall"]["pvalue"] == pytest.approx(ref.pvalue, rel=1e-12)


def test_impact_small_group_suppressed_and_never_reference():
    # E: 4 people all selected (rate 1.0) must not become the reference, and is suppressed
    df = selection_frame({"A": (50, 100), "B": (30, 100), "E": (4, 4)})
    t = fx.impact_ratios(df, "promoted", "team").set_index("group")
    assert t.attrs["reference"] == "A"
    assert bool(t.loc["E", "suppressed"]) and t.loc["E", "test"] == "suppressed"
    assert pd.isna(t.loc["E", "selected"]) and np.isnan(t.loc["E", "rate"])
    assert pd.isna(t.loc["E", "adverse"])
    assert bool(t.loc["B", "adverse"]) is True               # 0.3/0.5 = 0.6
    flags = fx.summary_flags(impact=fx.impact_ratios(df, "promoted", "team"))
    assert flags.columns.tolist() == ["check", "scope", "group", "gap", "value", "threshold", "flag", "note"]
    row_e = flags.loc[flags["group"] == "E"].iloc[0]
    assert np.isnan(row_e["value"]) and not row_e["flag"] and "suppressed" in row_e["note"]
    assert flags.loc[flags["group"] == "B", "flag"].item()


def test_impact_rejects_non_binary_selection():
    df = pd.DataFrame({"team": list("AAAAABBBBB"), "promoted": [0, 1, 2, 0, 1, 0, 1, 0, 1, 0]})
    with pytest.raises(ValueError, match="promoted"):
        fx.impact_ratios(df, "promoted", "team")


# ------------------------------------------------------------------------------------------------- 4. pay gaps
def test_pay_gap_hand_example_means_and_even_count_median():
    df = pd.DataFrame({
        "gender": ["M"] * 6 + ["F"] * 6,
        "pay": [100, 200, 300, 400, 500, 600, 90, 150, 210, 240, 300, 330],
    })
    # M: mean 2100/6 = 350, median (300+400)/2 = 350; F: mean 1320/6 = 220, median (210+240)/2 = 225
    # mean gap (350-220)/350*100 = 37.142857...; median gap (350-225)/350*100 = 35.714285...
    g = fx.pay_gap(df, "pay", "gender", "M")
    assert len(g) == 1
    r = g.iloc[0]
    assert r["group"] == "F" and r["reference"] == "M"
    assert (r["mean"], r["median"], r["ref_mean"], r["ref_median"]) == (220.0, 225.0, 350.0, 350.0)
    assert r["mean_gap_pct"] == pytest.approx(130 / 350 * 100)
    assert r["median_gap_pct"] == pytest.approx(125 / 350 * 100)
    assert r["n"] == 6 and r["ref_n"] == 6 and not r["suppressed"]


def test_pay_gap_weighted_median_and_mean():
    df = pd.DataFrame({"g": ["R", "R", "R", "X", "X", "X"],
                       "pay": [1.0, 2.0, 3.0, 1.0, 1.0, 1.0],
                       "w": [1.0, 1.0, 2.0, 1.0, 1.0, 1.0]})
    # R weighted: mean (1+2+6)/4 = 2.25; cumulative weights 1,2,4, half = 2 reached exactly at 2 -> (2+3)/2
    g = fx.pay_gap(df, "pay", "g", "R", weights="w", min_n=1).iloc[0]
    assert g["ref_mean"] == pytest.approx(2.25)
    assert g["ref_median"] == pytest.approx(2.5)
    assert g["mean_gap_pct"] == pytest.approx((2.25 - 1) / 2.25 * 100)
    # equal weights = unweighted (numpy median)
    eq = fx.pay_gap(df.assign(w=3.0), "pay", "g", "R", weights="w", min_n=1).iloc[0]
    assert eq["ref_median"] == np.median([1.0, 2.0, 3.0])


def test_pay_gap_suppresses_small_group_and_reference():
    df = pd.DataFrame({"gender": ["M"] * 6 + ["F"] * 4 + ["X"] * 5,
                       "pay": np.arange(15, dtype=float) + 1})
    g = fx.pay_gap(df, "pay", "gender", "M").set_index("group")
    assert bool(g.loc["F", "suppressed"]) and np.isnan(g.loc["F", "mean_gap_pct"])
    assert np.isnan(g.loc["F", "mean"]) and g.loc["F", "n"] == 4
    assert not bool(g.loc["X", "suppressed"]) and np.isfinite(g.loc["X", "mean_gap_pct"])
    g2 = fx.pay_gap(df, "pay", "gender", "F").set_index("group")   # reference of 4 -> nothing shown
    assert g2["suppressed"].all() and g2["mean_gap_pct"].isna().all() and g2["ref_mean"].isna().all()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pays=st.lists(st.floats(min_value=1.0, max_value=1e6, allow_nan=False), min_size=12, max_size=40),
    factor=st.floats(min_value=1e-3, max_value=1e3),
)
def test_gaps_invariant_to_scaling_pay(pays, factor):
    n = len(pays)
    df = pd.DataFrame({"gender": np.where(np.arange(n) % 2 == 0, "M", "F"), "pay": pays})
    a = fx.pay_gap(df, "pay", "gender", "M").iloc[0]
    b = fx.pay_gap(df.assign(pay=df["pay"] * factor), "pay", "gender", "M").iloc[0]
    for col in ("mean_gap_pct", "median_gap_pct"):
        assert b[col] == pytest.approx(a[col], rel=1e-9, abs=1e-7)
    # quartile membership depends only on the order of pay
    np.testing.assert_allclose(fx.quartile_bands(df["pay"]), fx.quartile_bands(df["pay"] * factor))


# ------------------------------------------------------------------------------------------------- 5. transparency
def test_quartile_bands_sizes_with_remainders():
    for n, sizes in [(4, [1, 1, 1, 1]), (5, [2, 1, 1, 1]), (6, [2, 1, 2, 1]), (7, [2, 2, 2, 1]),
                     (8, [2, 2, 2, 2]), (10, [3, 2, 3, 2])]:
        m = fx.quartile_bands(np.arange(n, dtype=float))
        assert m.sum(axis=0).tolist() == sizes, n
        np.testing.assert_allclose(m.sum(axis=1), 1.0)
    # everyone on the same pay: each person counts a quarter in every band (n = 8 -> 2 per band)
    m = fx.quartile_bands(np.full(8, 5.0))
    np.testing.assert_allclose(m, 0.25)


def test_quartile_hand_example_with_ties_and_remainder():
    # n = 10 ranked: pos 0:10 F, 1:20 F, 2:30 F, 3:30 M, 4:30 M, 5:40 M, 6:50 F, 7:60 M, 8:70 M, 9:80 F
    # bands: positions [0,3) lower (3), [3,5) lower-middle (2), [5,8) upper-middle (3), [8,10) upper (2)
    # the tie block at 30 (F, M, M) has 1 position in 'lower' and 2 in 'lower middle':
    #   each member counts 1/3 in lower, 2/3 in lower middle.
    # lower:        F = 2 + 1/3, M = 2/3  -> F 7/9,  M 2/9
    # lower middle: F = 2/3,     M = 4/3  -> F 1/3,  M 2/3
    # upper middle: F = 1 (50),  M = 2    -> F 1/3,  M 2/3
    # upper:        F = 1 (80),  M = 1    -> F 1/2,  M 1/2
    pay = [10, 20, 30, 30, 30, 40, 50, 60, 70, 80]
    sex = ["F", "F", "F", "M", "M", "M", "F", "M", "M", "F"]
    df = pd.DataFrame({"gender": sex, "total": pay, "bonus": 0.0, "grade": "CM1"})
    df = df.sample(frac=1.0, random_state=3).reset_index(drop=True)     # input order must not matter
    rep = fx.pay_transparency(df, "total", "bonus", "gender", "grade", "M", min_n=1)
    q = rep.quartiles.loc[rep.quartiles["basis"] == "annual"].set_index(["band", "group"])
    expected = {("lower", "F"): 7 / 9, ("lower", "M"): 2 / 9,
                ("lower middle", "F"): 1 / 3, ("lower middle", "M"): 2 / 3,
                ("upper middle", "F"): 1 / 3, ("upper middle", "M"): 2 / 3,
                ("upper", "F"): 1 / 2, ("upper", "M"): 1 / 2}
    for key, share in expected.items():
        assert q.loc[key, "share_pct"] == pytest.approx(share * 100), key
    assert q.loc[("lower", "F"), "headcount"] == pytest.approx(7 / 3)
    assert q.xs("F", level="group")["band_size"].tolist() == [3, 2, 3, 2]
    # with the default min_n = 5 every band (<= 3 people) is suppressed
    rep5 = fx.pay_transparency(df, "total", "bonus", "gender", "grade", "M")
    assert rep5.quartiles["suppressed"].all() and rep5.quartiles["share_pct"].isna().all()


def transparency_frame() -> pd.DataFrame:
    # grade CM1: M total 100 x5, F total 95 x5 -> gap exactly 5% -> flagged
    # grade CM2: M total 200 x5, F total 191 x5 -> gap 4.5% -> not flagged
    # variable: M receive 10 (4 of 10 men: both grades, 2 each), F receive 5 (2 of 10 women)
    rows = []
    for grade, m_pay, f_pay in (("CM1", 100.0, 95.0), ("CM2", 200.0, 191.0)):
        for i in range(5):
            rows.append(("M", grade, m_pay, 10.0 if i < 2 else 0.0, 1.0))
            rows.append(("F", grade, f_pay, 5.0 if i < 1 else 0.0, 0.5 if i == 4 else 1.0))
    return pd.DataFrame(rows, columns=["gender", "grade", "total", "bonus", "fte"])


def test_pay_transparency_measures_and_five_percent_flag():
    df = transparency_frame()
    rep = fx.pay_transparency(df, "total", "bonus", "gender", "grade", "M", hours="fte")
    # (a) annual mean gap: M mean 150, F mean 143 -> 7/150*100
    a = rep.pay_gap.set_index("basis")
    assert a.loc["annual", "mean_gap_pct"] == pytest.approx(7 / 150 * 100)
    # (c) medians: M (100,200) median (100+200)/2 = 150, F (95+191)/2 = 143
    assert a.loc["annual", "median_gap_pct"] == pytest.approx(7 / 150 * 100)
    # hourly: two women on fte 0.5 -> their pay per FTE doubles (190 and 382)
    f_hourly = np.array([95.0] * 4 + [190.0] + [191.0] * 4 + [382.0])
    assert a.loc["hourly", "mean"] == pytest.approx(f_hourly.mean())
    # (b)/(d) variable, recipients only: 4 men at 10 and 2 women at 5 -> too few women (2 < 5): suppressed
    assert rep.variable_gap["suppressed"].all()
    all_var = fx.pay_transparency(df, "total", "bonus", "gender", "grade", "M", hours="fte",
                                  variable_recipients_only=False).variable_gap.set_index("basis")
    # everyone: M mean 40/10 = 4, F mean 10/10 = 1 -> 75%; medians 0 and 0 -> 0/0 = NaN
    assert all_var.loc["annual", "mean_gap_pct"] == pytest.approx(75.0)
    # (e) share receiving variable pay
    e = rep.variable_share.set_index("group")
    assert e.loc["M", "share_pct"] == pytest.approx(40.0) and e.loc["F", "share_pct"] == pytest.approx(20.0)
    # (g) by category, base = total - bonus when no base column
    g = rep.by_category.set_index(["category", "basis", "component", "group"])
    assert g.loc[("CM1", "annual", "total", "F"), "mean_gap_pct"] == pytest.approx(5.0)
    assert bool(g.loc[("CM1", "annual", "total", "F"), "flag"])            # exactly 5% -> flagged
    assert g.loc[("CM2", "annual", "total", "F"), "mean_gap_pct"] == pytest.approx(4.5)
    assert not bool(g.loc[("CM2", "annual", "total", "F"), "flag"])
    assert g.loc[("CM1", "annual", "base", "F"), "mean"] == pytest.approx((95 * 5 - 5) / 5)
    assert not g.xs("base", level="component")["flag"].any()               # flag is on total pay only
    # hourly: CM1 women incl. one at fte .5 -> F mean (95*4+190)/5 = 114 > 100 -> gap -14% -> |gap| >= 5
    assert g.loc[("CM1", "hourly", "total", "F"), "mean_gap_pct"] == pytest.approx(-14.0)
    assert rep.joint_assessment
    assert len(rep.flags) > 0  # the hourly gap of CM1 above is flagged (a subset check alone passes on nothing)
    assert set(rep.flags["category"]) <= {"CM1", "CM2"} and rep.flags["flag"].all()
    head = rep.headline
    assert set(head["measure"]) == {"a", "b", "c", "d", "e", "g"}
    flags = fx.summary_flags(transparency=rep)
    cm1 = flags.loc[flags["note"].str.contains("category CM1, annual")].iloc[0]
    assert cm1["flag"] and cm1["value"] == pytest.approx(5.0) and cm1["threshold"] == 5.0


def test_pay_transparency_without_hours_bases_coincide():
    df = transparency_frame().drop(columns="fte")
    rep = fx.pay_transparency(df, "total", "bonus", "gender", "grade", "M")
    a = rep.pay_gap.set_index("basis")
    assert a.loc["annual", "mean_gap_pct"] == pytest.approx(a.loc["hourly", "mean_gap_pct"])
    assert rep.joint_assessment   # CM1 gap exactly 5% on both bases


# ------------------------------------------------------------------------------------------------- 6. adjusted gaps
def test_adjusted_gap_equals_direct_least_squares():
    df = workforce(seed=11, n=400)
    res = fx.adjusted_gap(df, "pay", "gender", ["grade", "tenure"], reference="M")
    # independent design: intercept, F dummy, grade dummies (CM1 base), tenure
    X = np.column_stack([
        np.ones(len(df)),
        (df["gender"] == "F").to_numpy(float),
        (df["grade"] == "CM2").to_numpy(float),
        (df["grade"] == "SCM").to_numpy(float),
        df["tenure"].to_numpy(float),
    ])
    y = np.log(df["pay"].to_numpy())
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    hc3 = sm.OLS(y, X).fit(cov_type="HC3")
    row = res.row()
    assert row["group"] == "F" and row["reference"] == "M"
    assert row["coef"] == pytest.approx(beta[1], rel=1e-9, abs=1e-12)
    assert row["se"] == pytest.approx(hc3.bse[1], rel=1e-9)
    assert row["pvalue"] == pytest.approx(hc3.pvalues[1], rel=1e-6)
    # one sign convention: positive = paid less; gap_pct = (1 - e^b) x 100 = (ref - group) / ref at equal controls
    assert row["gap_pct"] == pytest.approx((1 - np.exp(beta[1])) * 100, rel=1e-9)
    assert row["gap"] == pytest.approx(-beta[1], rel=1e-9)
    lo, hi = hc3.conf_int()[1]
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(lo, rel=1e-9), pytest.approx(hi, rel=1e-9))
    assert res.result.cov_type == "HC3" and res.nobs == len(df)
    assert "grade[T.SCM]" in res.coefficients["term"].tolist()
    # linear model: coefficient in outcome units, no pct
    lin = fx.adjusted_gap(df, "pay", "gender", ["grade", "tenure"], log=False, reference="M").row()
    beta_lin, *_ = np.linalg.lstsq(X, df["pay"].to_numpy(), rcond=None)
    assert lin["coef"] == pytest.approx(beta_lin[1], rel=1e-9) and np.isnan(lin["gap_pct"])
    assert lin["gap"] == pytest.approx(-beta_lin[1], rel=1e-9)


def test_planted_five_percent_gap_in_one_branch_is_recovered():
    df = workforce(seed=7)
    b2 = df.loc[df["branch"] == "B2"]
    raw = fx.pay_gap(b2, "pay", "gender", "M").iloc[0]["mean_gap_pct"]
    res = fx.adjusted_gap(b2, "pay", "gender", ["grade"], reference="M").row()
    # women in B2 are paid 5% less: the gap is +5 (positive = paid less), like the raw gap's sign
    assert res["gap_pct"] == pytest.approx(5.0, abs=1.2)
    assert res["pvalue"] < 0.05 and res["significant"]
    assert res["gap_ci_low_pct"] < 5.0 < res["gap_ci_high_pct"]
    assert raw > 10.0          # the raw gap is inflated by women being in lower grades
    others = fx.adjusted_gap(df.loc[df["branch"] != "B2"], "pay", "gender", ["grade", "branch"],
                             reference="M").row()
    assert abs(others["gap_pct"]) < 1.2
    # per-branch results feed the flags table
    per_branch = {b: fx.adjusted_gap(d, "pay", "gender", ["grade"], reference="M")
                  for b, d in df.groupby("branch")}
    flags = fx.summary_flags(adjusted=per_branch)
    flagged = flags.loc[flags["flag"], "note"].tolist()
    assert any(n.startswith("B2:") for n in flagged)


def test_branch_adjusted_gaps_reach_the_flags():
    df = workforce(seed=7)
    by_branch = fx.adjusted_gap_by(df, "pay", "gender", ["grade", "branch"], by="branch", reference="M")
    assert list(by_branch) == sorted(df["branch"].unique())
    # branch is the unit, never its own control
    assert all("branch" not in r.controls for r in by_branch.values())
    table = fx.unit_gaps(by_branch, unit="branch")
    b2 = table.loc[table["branch"] == "B2"].iloc[0]
    assert b2["gap_pct"] == pytest.approx(5.0, abs=1.2) and bool(b2["significant"])
    assert table.iloc[0]["branch"] == "B2"          # sorted by p-value: the planted gap first
    direct = fx.adjusted_gap(df.loc[df["branch"] == "B2"], "pay", "gender", ["grade"], reference="M").row()
    assert b2["gap_pct"] == pytest.approx(direct["gap_pct"], rel=1e-12)
    # the flags carry the bank-wide gap and one row per branch
    flags = fx.summary_flags(adjusted={"total pay": fx.adjusted_gap(df, "pay", "gender", ["grade", "branch"],
                                                                    reference="M")},
                             adjusted_by=by_branch)
    branch_rows = flags.loc[flags["check"] == "branch_adjusted_gap"]
    assert branch_rows["scope"].tolist() == list(by_branch)
    hit = branch_rows.loc[branch_rows["scope"] == "B2"].iloc[0]
    assert hit["flag"] and hit["gap"] == pytest.approx(b2["gap_pct"]) and hit["value"] == pytest.approx(b2["pvalue"])
    assert "positive = paid less" in hit["note"]


def test_branch_adjusted_gaps_leave_out_small_branches():
    df = workforce(seed=7)
    # branch B1 keeps only 4 women: too few to estimate there, so it is left out (not shown, not flagged)
    women_b1 = df.index[(df["branch"] == "B1") & (df["gender"] == "F")]
    small = df.drop(women_b1[4:])
    by_branch = fx.adjusted_gap_by(small, "pay", "gender", ["grade"], reference="M")
    assert "B1" not in by_branch and "B2" in by_branch
    assert fx.unit_gaps({}, unit="branch").columns[0] == "branch"


def test_rater_bias_finds_planted_markdown():
    rng = np.random.default_rng(5)
    n = 600
    gender = rng.choice(["F", "M"], n)
    kpi = rng.normal(70, 10, n) + np.where(gender == "F", 3.0, 0.0)    # women score higher objectively
    rating = 1.0 + kpi / 25 + rng.normal(0, 0.25, n) - np.where(gender == "F", 0.15, 0.0)
    df = pd.DataFrame({"gender": gender, "kpi": kpi, "rating": rating})
    res = fx.rater_bias(df, "rating", "gender", ["kpi"], reference="M").row()
    assert res["coef"] == pytest.approx(-0.15, abs=0.06) and res["pvalue"] < 0.05
    X = sm.add_constant(np.column_stack([(gender == "F").astype(float), kpi]))
    assert res["coef"] == pytest.approx(sm.OLS(rating, X).fit().params[1], rel=1e-9)
    with pytest.raises(ValueError, match="objective"):
        fx.rater_bias(df, "rating", "gender", [])
    flags = fx.summary_flags(rater=fx.rater_bias(df, "rating", "gender", ["kpi"], reference="M"))
    assert flags["check"].tolist() == ["rater_bias"] and flags["flag"].item()


# ------------------------------------------------------------------------------------------------- 7. oaxaca
def test_oaxaca_sums_to_gap_and_matches_statsmodels():
    df = workforce(seed=3, n=600)
    res = fx.oaxaca(df, "pay", "gender", ["grade", "tenure"], reference="M")
    m, f = df.loc[df["gender"] == "M", "pay"], df.loc[df["gender"] == "F", "pay"]
    assert res.gap == pytest.approx(m.mean() - f.mean(), rel=1e-9)
    assert res.comparison == "F" and res.n_reference == len(m) and res.n_comparison == len(f)
    two = res.value("explained") + res.value("unexplained")
    three = res.value("endowments") + res.value("coefficients") + res.value("interaction")
    assert two == pytest.approx(res.gap, rel=1e-9) and three == pytest.approx(res.gap, rel=1e-9)
    # statsmodels called directly on an independently built design (reference = 0 first, no swap)
    X = pd.DataFrame({
        "is_f": (df["gender"] == "F").astype(float),
        "cm2": (df["grade"] == "CM2").astype(float),
        "scm": (df["grade"] == "SCM").astype(float),
        "tenure": df["tenure"],
    })
    ob = OaxacaBlinder(df["pay"].to_numpy(), X.to_numpy(), 0, hasconst=False, swap=False)
    p2 = ob.two_fold(two_fold_type="pooled").params
    p3 = ob.three_fold().params
    assert res.value("unexplained") == pytest.approx(p2[0], rel=1e-9)
    assert res.value("explained") == pytest.approx(p2[1], rel=1e-9)
    assert res.value("endowments") == pytest.approx(p3[0], rel=1e-9)
    assert res.value("coefficients") == pytest.approx(p3[1], rel=1e-9)
    assert res.value("interaction") == pytest.approx(p3[2], rel=1e-9)
    # log version: gap in log points
    lg = fx.oaxaca(df, "pay", "gender", ["grade"], log=True, reference="M")
    assert lg.gap == pytest.approx(np.log(m).mean() - np.log(f).mean(), rel=1e-9)
    t = res.table
    assert set(t["decomposition"]) == {"two_fold", "three_fold"}
    assert t.loc[t["component"] == "gap", "pct_of_gap"].tolist() == [100.0, 100.0]


def test_oaxaca_needs_two_groups():
    df = workforce(seed=3, n=200)
    df.loc[df.index[:20], "gender"] = "X"
    with pytest.raises(ValueError, match="comparison"):
        fx.oaxaca(df, "pay", "gender", ["grade"], reference="M")
    res = fx.oaxaca(df, "pay", "gender", ["grade"], reference="M", comparison="F")
    assert res.n_reference + res.n_comparison == (df["gender"] != "X").sum()


# ------------------------------------------------------------------------------------------------- bad input
def test_missing_column_is_named():
    df = pd.DataFrame({"gender": ["M", "F"] * 5, "pay": np.arange(10.0)})
    for call in (
        lambda: fx.pay_gap(df, "salary", "gender", "M"),
        lambda: fx.impact_ratios(df, "salary", "gender"),
        lambda: fx.adjusted_gap(df, "salary", "gender", []),
        lambda: fx.oaxaca(df, "pay", "gender", ["salary"]),
        lambda: fx.pay_transparency(df, "pay", "salary", "gender", "grade", "M"),
        lambda: fx.disaggregate(df, "gender", ["salary"]),
    ):
        with pytest.raises(ValueError, match="'salary'"):
            call()


def test_absent_reference_names_value_and_groups_present():
    df = pd.DataFrame({"gender": ["M", "F"] * 5, "pay": np.arange(10.0) + 1, "grade": "CM1",
                       "bonus": 0.0})
    for call in (
        lambda: fx.pay_gap(df, "pay", "gender", "men"),
        lambda: fx.pay_transparency(df, "pay", "bonus", "gender", "grade", "men"),
        lambda: fx.adjusted_gap(df, "pay", "gender", [], reference="men"),
        lambda: fx.oaxaca(df, "pay", "gender", [], reference="men"),
    ):
        with pytest.raises(ValueError, match=r"'men'.*\['F', 'M'\]"):
            call()


def test_log_model_rejects_non_positive_pay():
    df = pd.DataFrame({"gender": ["M", "F"] * 5, "pay": np.arange(10.0)})
    with pytest.raises(ValueError, match="<= 0"):
        fx.adjusted_gap(df, "pay", "gender", [])


# ------------------------------------------------------------------------------------------------- dtypes, purity
def test_string_and_category_dtypes_and_input_untouched():
    df = workforce(seed=2, n=300)
    df["gender"] = df["gender"].astype("string")
    df["grade"] = pd.Categorical(df["grade"], categories=["SCM", "CM2", "CM1"])
    before = df.copy()
    g = fx.pay_gap(df, "pay", "gender", "M")
    a = fx.adjusted_gap(df, "pay", "gender", ["grade"], reference="M")
    o = fx.oaxaca(df, "pay", "gender", ["grade"], reference="M")
    d = fx.disaggregate(df, ["gender", "grade"], ["pay"])
    pd.testing.assert_frame_equal(df, before)
    assert len(g) == 1 and np.isfinite(a.row()["coef"]) and np.isfinite(o.gap) and len(d) == 6
    # category order respected: SCM is the base level
    assert "grade[T.CM1]" in a.coefficients["term"].tolist()
    # same numbers as with plain object columns
    plain = before.assign(gender=before["gender"].astype(object), grade=before["grade"].astype(object))
    b = fx.adjusted_gap(plain, "pay", "gender", ["grade"], reference="M")
    assert a.row()["coef"] == pytest.approx(b.row()["coef"], rel=1e-9)


def test_people_table_of_the_tiny_dataset(tiny, policy) -> None:
    from compkit.engine import evaluate

    out = evaluate(policy, tiny)
    people = fx.people_table(out, tiny, policy).set_index("employee_id")
    # everyone of the tiny dataset was employed in 2025 (E4 until March): 4 rows
    assert list(people.index) == ["E1", "E2", "E3", "E4"]
    # E1: hired 2020-03-01, grade since 2022-01-01; at 2025-12-31: 2,131 and 1,460 days
    assert people.loc["E1", "tenure_years"] == pytest.approx(2131 / 365.25)
    assert people.loc["E1", "years_in_grade"] == pytest.approx(1460 / 365.25)
    assert people.loc["E1", "tenure_band"] == "5-9" and people.loc["E1", "age_band"] == "30-39"
    s = out.summary.set_index("employee_id")
    for e in people.index:
        assert people.loc[e, "variable_pay"] == pytest.approx(s.loc[e, "bonus"] + s.loc[e, "commission"])
        assert people.loc[e, "total_pay"] == pytest.approx(s.loc[e, "base_pay"] + s.loc[e, "allowances"]
                                                           + people.loc[e, "variable_pay"])
    # supervisor ratings: S1 rates E1 4 and E4 2 on every item
    assert people.loc["E1", "supervisor_rating"] == 4.0 and people.loc["E4", "supervisor_rating"] == 2.0
    assert people["top_rating"].tolist() == (people["rating"] == "A").tolist()
    assert people["bonus_received"].tolist() == (people["bonus"] > 0).tolist()
