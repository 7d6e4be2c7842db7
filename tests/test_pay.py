"""compkit.pay: base, allowances, bonus, deferral, benefits, salary review, promotion.

Every worked example writes its arithmetic out, so a reader can check the figure by hand. Money is compared to
the cent (functions return unrounded amounts; the engine rounds once, at the end).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compkit import pay
from compkit.money import round_cents
from compkit.policy import Deferral, Grade, SalaryBand

START, END = pd.Timestamp("2025-01-01"), pd.Timestamp("2025-12-31")
JOINER_SHARE = 184 / 365  # hired 2025-07-01: July 31 + Aug 31 + Sep 30 + Oct 31 + Nov 30 + Dec 31 = 184 days
PROPS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def cents(x) -> np.ndarray:
    return np.rint(np.asarray(x, dtype="float64") * 100).astype("int64")


def employees(**cols) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    base = {"employee_id": [f"P{i + 1}" for i in range(n)], "grade": ["CM1"] * n,
            "hire_date": ["2020-01-01"] * n, "exit_date": [None] * n, "fte": [1.0] * n,
            "base_monthly": [np.nan] * n, "grade_since": [None] * n}
    base.update(cols)
    df = pd.DataFrame(base)
    for c in ("hire_date", "exit_date", "grade_since"):
        df[c] = pd.to_datetime(df[c])
    df["base_monthly"] = df["base_monthly"].astype("float64")
    return df


# ------------------------------------------------------------------------------------------ proration


def test_proration_joiner_leaver_and_outside_the_cycle():
    emp = employees(hire_date=["2025-07-01", "2020-01-01", "2020-01-01", "2026-02-01", "2025-01-01", "2019-01-01"],
                    exit_date=[None, "2025-03-31", "2024-06-30", None, "2025-01-01", None])
    share = pay.proration(emp["hire_date"], emp["exit_date"], START, END)
    # joiner: (2025-12-31 - 2025-07-01).days + 1 = 183 + 1 = 184 of 365 days
    assert share[0] == pytest.approx(184 / 365) == pytest.approx(0.504109589)
    # leaver: the exit date is the last day worked: Jan 31 + Feb 28 + Mar 31 = 90 days
    assert share[1] == pytest.approx(90 / 365)
    # left before the cycle, joins after it: 0 (clipped, never negative)
    assert share[2] == 0.0 and share[3] == 0.0
    # hired and left on the same day: 1 day
    assert share[4] == pytest.approx(1 / 365)
    assert share[5] == 1.0


def test_proration_half_year_cycle():
    share = pay.proration(pd.Series(pd.to_datetime(["2025-04-01"])), pd.Series([pd.NaT]),
                          pd.Timestamp("2025-01-01"), pd.Timestamp("2025-06-30"))
    # 2025H1 has 31 + 28 + 31 + 30 + 31 + 30 = 181 days; from April 1: 30 + 31 + 30 = 91
    assert share[0] == pytest.approx(91 / 181)


# ------------------------------------------------------------------------------------ base, allowances


def test_base_salary_joiner_on_grade_midpoint(policy):
    emp = employees(grade=["CM1"], hire_date=["2025-07-01"])
    base = pay.base_salary(emp, policy, np.array([JOINER_SHARE]), 12)
    row = base.iloc[0]
    assert row["base_source"] == "grade_midpoint"
    assert row["base_monthly_used"] == 7000.0  # CM1 midpoint
    assert row["annual_base_full"] == 7000 * 12 == 84_000
    # 84,000 x 184/365 = 42,345.205... -> 42,345.21
    assert round_cents(row["base_pay"]) == 42_345.21


def test_base_salary_own_base_fte_and_half_year(policy):
    emp = employees(grade=["CM2", "CM2"], base_monthly=[9500.0, 9500.0], fte=[0.5, 1.0])
    base = pay.base_salary(emp, policy, np.array([1.0, 0.5]), 6)
    assert list(base["base_source"]) == ["own", "own"]
    # half-year cycle: 6 monthly salaries; fte 0.5: 9,500 x 6 x 0.5 = 28,500
    assert base["annual_base_full"].tolist() == [28_500.0, 57_000.0]
    assert base["base_pay"].tolist() == [28_500.0, 28_500.0]
    assert pay.cycle_months(policy) == 12


def test_allowances_joiner_and_part_time(policy):
    emp = employees(hire_date=["2025-07-01", "2020-01-01"], fte=[1.0, 0.5])
    ds = np.array([JOINER_SHARE, 1.0])
    a = pay.allowances(emp, policy.allowances, ds, emp["fte"].to_numpy(), 12)
    assert list(a.columns) == ["transport", "meals", "communication", "allowances_total"]
    # joiner: monthly x 12 x 184/365
    assert round_cents(a["transport"].iloc[0]) == 2_419.73      # 400 x 12 x 184/365 = 2,419.726...
    assert round_cents(a["meals"].iloc[0]) == 3_024.66          # 500 x 12 x 184/365 = 3,024.657...
    assert round_cents(a["communication"].iloc[0]) == 1_209.86  # 200 x 12 x 184/365 = 1,209.863...
    assert round_cents(a["allowances_total"].iloc[0]) == 6_654.25  # 1,100 x 12 x 184/365 = 6,654.246...
    # fte 0.5, whole year: 1,100 x 12 x 0.5 = 6,600
    assert a["allowances_total"].iloc[1] == pytest.approx(6_600.0)


# ------------------------------------------------------------------------------------------- bonus


CURVE = [[60, 0.0], [70, 0.5], [100, 1.0], [120, 1.5]]


@pytest.mark.parametrize("composite, multiple", [
    (50, 0.0), (60, 0.0), (65, 0.25), (70, 0.5),
    (85, 0.75),   # 0.5 + (85 - 70) / (100 - 70) x (1.0 - 0.5) = 0.5 + 15/30 x 0.5 = 0.75
    (100, 1.0), (110, 1.25), (120, 1.5), (130, 1.5),
])
def test_payout_curve_points_and_between(composite, multiple):
    assert pay.payout(np.array([composite]), CURVE)[0] == pytest.approx(multiple)


def test_payout_any_shape_and_nan():
    out = pay.payout(np.array([[85.0, np.nan], [130.0, 0.0]]), CURVE)
    assert out.shape == (2, 2)
    assert out[0, 0] == pytest.approx(0.75) and np.isnan(out[0, 1])


def test_bonus_joiner_target_prorated(policy):
    emp = employees(grade=["CM1", "SCM"], hire_date=["2025-07-01", "2015-01-01"], base_monthly=[np.nan, 13000.0])
    ds = np.array([JOINER_SHARE, 1.0])
    base = pay.base_salary(emp, policy, ds, 12)
    b = pay.bonus(emp, policy, np.array([85.0, np.nan]), np.array(["B", None], dtype=object),
                  base["annual_base_full"].to_numpy(), ds)
    # target: CM1 20% x 84,000 = 16,800 for the year; prorated 16,800 x 184/365 = 8,469.04
    assert b["target_bonus"].iloc[0] == pytest.approx(16_800.0)
    assert round_cents(b["target_bonus_prorated"].iloc[0]) == 8_469.04
    # composite 85 -> 0.75; bonus = 16,800 x 0.75 x 184/365 = 12,600 x 0.504109... = 6,351.78
    assert b["payout_multiple"].iloc[0] == pytest.approx(0.75)
    assert round_cents(b["bonus"].iloc[0]) == 6_351.78
    # no composite: no bonus (multiple 0), target still shown (SCM 30% x 156,000 = 46,800)
    assert b["target_bonus"].iloc[1] == pytest.approx(46_800.0)
    assert b["payout_multiple"].iloc[1] == 0.0 and b["bonus"].iloc[1] == 0.0
    assert (b["pool_factor"] == 1.0).all()
    assert (b["bonus"] == b["bonus_before_pool"]).all()


def test_bonus_by_rating_and_pool(policy):
    pol = policy.updated({"bonus.basis": "rating",
                          "bonus.by_rating": {"A": 1.5, "B": 1.2, "C": 1.0, "D": 0.5, "E": 0.0},
                          "bonus.pool": {"amount": 30_000}})
    emp = employees(grade=["CM2", "CM2", "CM2"], base_monthly=[10_000.0, 10_000.0, 10_000.0])
    ds = np.ones(3)
    # target 25% x 120,000 = 30,000 each; multiples A 1.5, C 1.0, no rating 0
    b = pay.bonus(emp, pol, np.full(3, np.nan), np.array(["A", "C", None], dtype=object),
                  np.full(3, 120_000.0), ds)
    assert b["payout_multiple"].tolist() == [1.5, 1.0, 0.0]
    assert b["bonus_before_pool"].tolist() == [45_000.0, 30_000.0, 0.0]
    # pool 30,000 / (45,000 + 30,000) = 0.4 -> 18,000 and 12,000
    assert b["pool_factor"].iloc[0] == pytest.approx(0.4)
    assert b["bonus"].tolist() == pytest.approx([18_000.0, 12_000.0, 0.0])
    assert b["bonus"].sum() == pytest.approx(30_000.0)


# ---------------------------------------------------------------------------------------- deferral


def test_deferral_split_key_roles_only(policy):
    d = policy.bonus.deferral  # 40% over 3 years, key roles
    paid, deferred = pay.deferral_split(np.array([12_345.67, 12_345.67, 0.0]), np.array([True, False, True]), d)
    # key role: 40% x 12,345.67 = 4,938.268 -> 4,938.27; paid now 12,345.67 - 4,938.27 = 7,407.40
    assert deferred.tolist() == [4_938.27, 0.0, 0.0]
    assert paid.tolist() == [7_407.40, 12_345.67, 0.0]


def test_deferral_split_rounds_the_bonus_first_and_min_bonus():
    d = Deferral(share=0.4, years=3, applies_to="all", min_bonus=1_000)
    paid, deferred = pay.deferral_split(np.array([1_000.005, 999.99, np.nan]), np.zeros(3, bool), d)
    # 1,000.005 -> 1,000.01 (half-up) >= 1,000: deferred 400.004 -> 400.00, paid 600.01
    assert (paid[0], deferred[0]) == (600.01, 400.00)
    # below min_bonus: paid in full; NaN counts as no bonus
    assert (paid[1], deferred[1]) == (999.99, 0.0)
    assert (paid[2], deferred[2]) == (0.0, 0.0)


def test_deferral_schedule_equal_parts_remainder_first():
    s = pay.deferral_schedule(pd.Series(["E3", "E9"]), np.array([10_000.00, 0.02]), 2025, 3)
    assert list(s.columns) == ["employee_id", "part", "year", "scheduled", "cancelled", "payable"]
    e3 = s[s["employee_id"] == "E3"]
    assert e3["year"].tolist() == [2026, 2027, 2028]
    # 1,000,000 cents / 3 = 333,333 remainder 1: the first part takes the extra cent
    assert e3["scheduled"].tolist() == [3_333.34, 3_333.33, 3_333.33]
    assert cents(e3["scheduled"]).sum() == 1_000_000
    # 2 cents over 3 years: 0.01, 0.01, 0.00
    assert s[s["employee_id"] == "E9"]["scheduled"].tolist() == [0.01, 0.01, 0.0]
    assert (s["cancelled"] == 0).all() and (s["payable"] == s["scheduled"]).all()


def test_deferral_schedule_clawback():
    s = pay.deferral_schedule(["A", "B", "C"], np.array([10_000.0, 10_000.0, 10_000.0]), 2025, 3,
                              clawback_share=np.array([1.0, 0.5, 0.0]))
    a, b, c = (s[s["employee_id"] == k] for k in "ABC")
    # 100%: every unpaid part cancelled, nothing payable
    assert a["cancelled"].tolist() == [3_333.34, 3_333.33, 3_333.33]
    assert (a["payable"] == 0).all()
    # 50%: 3,333.34 x 0.5 = 1,666.67; 3,333.33 x 0.5 = 1,666.665 -> 1,666.67 (half-up)
    assert b["cancelled"].tolist() == [1_666.67, 1_666.67, 1_666.67]
    assert b["payable"].tolist() == [1_666.67, 1_666.66, 1_666.66]
    assert (c["cancelled"] == 0).all()
    # the part of 2026 already paid: only 2027 and 2028 can be cancelled
    s2 = pay.deferral_schedule(["A"], np.array([10_000.0]), 2025, 3, clawback_share=np.array([1.0]),
                               paid_through=2026)
    assert s2["cancelled"].tolist() == [0.0, 3_333.33, 3_333.33]


def test_deferral_compliance(policy):
    assert pay.deferral_compliance(policy.bonus.deferral, policy.grades) == []
    weak = Deferral(share=0.3, years=2, applies_to="key_roles")
    warnings = pay.deferral_compliance(weak, policy.grades)
    assert len(warnings) == 2
    assert "30%" in warnings[0] and "40%" in warnings[0] and "SCM, RM" in warnings[0]
    assert "2" in warnings[1] and "3 years" in warnings[1]
    no_key = [Grade(id="CM1", base_monthly=SalaryBand(min=1, mid=2, max=3), target_bonus=0.2)]
    assert "key_role" in pay.deferral_compliance(policy.bonus.deferral, no_key)[0]
    exempt = Deferral(share=0.4, years=3, min_bonus=50_000)
    assert "min_bonus" in pay.deferral_compliance(exempt, policy.grades)[0]


# ---------------------------------------------------------------------------------------- benefits


def test_benefits_base_at_floor_and_cap(policy):
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    wage = np.array([6_000.0, 40_000.0, 10_000.0])
    b = pay.benefits(wage, wage, np.ones((3, 12)), months, policy.benefits)
    # January: 6,000 is below the social-insurance floor 7,384: base raised to the floor; 40,000 -> cap 36,921
    assert b["si_base"][:, 0].tolist() == [7_384.0, 36_921.0, 10_000.0]
    # July: the floor and cap set in July 2025 (7,460; 37,302)
    assert b["si_base"][:, 6].tolist() == [7_460.0, 37_302.0, 10_000.0]
    assert b["at_floor"][:, 0].tolist() == [True, False, False]
    assert b["at_cap"][:, 0].tolist() == [False, True, False]
    # pension, employee: 8% x 7,384 = 590.72 in January; 8% x 7,460 = 596.80 from July
    assert b["employee_pension"][0, 0] == 590.72 and b["employee_pension"][0, 6] == 596.80
    # employer 16% x 7,384 = 1,181.44
    assert b["employer_pension"][0, 0] == 1_181.44
    # at the cap: 8% x 36,921 = 2,953.68
    assert b["employee_pension"][1, 0] == 2_953.68
    # housing fund: floor 2,690 is below 6,000: base 6,000; 7% x 6,000 = 420
    assert b["hf_base"][:, 0].tolist() == [6_000.0, 36_921.0, 10_000.0]
    assert b["employee_housing_fund"][0, 0] == 420.0
    # the year, employee pension: 6 x 590.72 + 6 x 596.80 = 7,125.12
    assert round(b["employee_pension"][0].sum(), 2) == 7_125.12


def test_benefits_for_a_joiner_by_month(policy):
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    days, month_len = pay.month_days(pd.Series(pd.to_datetime(["2025-07-15"])), pd.Series([pd.NaT]), months)
    # July 15-31: 17 of 31 days; nothing before July
    assert days[0].tolist() == [0] * 6 + [17, 31, 30, 31, 30, 31]
    b = pay.benefits(np.array([8_000.0]), np.array([8_000.0]), days / month_len, months, policy.benefits)
    # July: 8% x 8,000 x 17/31 = 350.9677 -> 350.97; August 640
    assert b["employee_pension"][0, 6] == 350.97 and b["employee_pension"][0, 7] == 640.0
    assert b["employee_pension"][0, :6].sum() == 0.0


def test_contribution_wage_sources(policy):
    employees = pd.DataFrame({"employee_id": ["A", "B", "C", "D"],
                              "hire_date": pd.to_datetime(["2010-01-01", "2010-01-01", "2025-03-01", "2024-05-01"]),
                              "si_base": [12_000.0, np.nan, np.nan, np.nan]})
    history = pd.DataFrame({"employee_id": ["B", "B", "D"], "cycle": ["2023", "2024", "2024"],
                            "monthly_wage": [20_000.0, 25_000.0, 9_000.0]})
    w = pay.contribution_wage(employees, history, 2025, first_month_wage=np.array([1.0, 2.0, 8_100.0, 4.0]),
                              stand_in=np.array([5.0, 6.0, 7.0, 15_000.0]))
    # A: declared; B: 2023's wage for January-June, 2024's from July; C joined in 2025: first month's wage;
    # D joined in May 2024: January-June 2025 use the first month's wage (no 2023 wage), July 2024's average
    assert w["wage_h1"].tolist() == [12_000.0, 20_000.0, 8_100.0, 4.0]
    assert w["wage_h2"].tolist() == [12_000.0, 25_000.0, 8_100.0, 9_000.0]
    assert w["wage_source_h1"].tolist() == ["si_base", "history", "first_month", "first_month"]
    assert w["wage_source_h2"].tolist() == ["si_base", "history", "first_month", "history"]
    # without history or declared base, someone hired long ago gets the stand-in
    w = pay.contribution_wage(employees.drop(columns="si_base"), None, 2025, 1.0, 5_000.0)
    assert w["wage_source_h1"].tolist() == ["stand_in", "stand_in", "first_month", "first_month"]


# ------------------------------------------------------------------------------------------ properties


@PROPS
@given(st.lists(st.floats(-50, 200), min_size=2, max_size=30),
       st.lists(st.tuples(st.floats(0.01, 30), st.floats(0, 1)), min_size=2, max_size=6))
def test_bonus_never_decreases_when_composite_rises(composites, steps):
    # any increasing curve: x strictly increasing, multiples non-decreasing
    xs = np.cumsum([s for s, _ in steps]) + 40
    ys = np.cumsum([m for _, m in steps])
    curve = [[float(x), float(y)] for x, y in zip(xs, ys)]
    c = np.sort(np.asarray(composites))
    m = pay.payout(c, curve)
    assert (np.diff(m) >= -1e-12).all()


@PROPS
@given(st.floats(0, 130), st.floats(0, 20), st.floats(0.01, 1.0))
def test_bonus_monotone_through_bonus(policy, composite, rise, share):
    emp = employees(grade=["CM2", "CM2"], base_monthly=[9_500.0, 9_500.0])
    b = pay.bonus(emp, policy, np.array([composite, composite + rise]), np.array(["C", "C"], dtype=object),
                  np.full(2, 114_000.0), np.full(2, share))
    assert b["bonus"].iloc[1] >= b["bonus"].iloc[0]


@PROPS
@given(st.lists(st.floats(0, 5e6, allow_nan=False), min_size=1, max_size=40), st.floats(0, 1),
       st.sampled_from(["all", "key_roles"]), st.floats(0, 50_000))
def test_deferral_split_adds_up_to_the_cent(bonuses, share, applies_to, min_bonus):
    b = np.asarray(bonuses)
    d = Deferral(share=share, years=3, applies_to=applies_to, min_bonus=min_bonus)
    key = np.arange(len(b)) % 2 == 0
    paid, deferred = pay.deferral_split(b, key, d)
    assert (cents(paid) + cents(deferred) == cents(round_cents(b))).all()
    assert (deferred >= 0).all() and (paid >= 0).all()
    has = cents(deferred) > 0
    assert (np.abs(cents(deferred) - share * cents(round_cents(b)))[has] <= 0.5 + 1e-6).all()


@PROPS
@given(st.lists(st.integers(0, 10**10), min_size=1, max_size=30), st.integers(1, 10),
       st.lists(st.floats(0, 1), min_size=30, max_size=30))
def test_schedule_parts_add_up_exactly(amount_cents, years, shares):
    deferred = np.asarray(amount_cents, dtype="int64") / 100.0
    n = len(deferred)
    s = pay.deferral_schedule([f"E{i}" for i in range(n)], deferred, 2025, years,
                              clawback_share=np.asarray(shares[:n]))
    assert len(s) == n * years
    parts = cents(s["scheduled"]).reshape(n, years)
    assert (parts.sum(axis=1) == np.asarray(amount_cents)).all()
    assert (parts.max(axis=1) - parts.min(axis=1) <= 1).all()
    assert (np.diff(parts, axis=1) <= 0).all()  # the extra cents come first
    cancelled, payable = cents(s["cancelled"]), cents(s["payable"])
    assert ((0 <= cancelled) & (cancelled <= cents(s["scheduled"]))).all()
    assert (cancelled + payable == cents(s["scheduled"])).all()


@PROPS
@given(st.lists(st.floats(0, 200_000), min_size=1, max_size=30))
def test_contribution_bases_within_floor_and_cap(policy, wages):
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    w = np.asarray(wages)
    b = pay.benefits(w, w, np.ones((len(w), 12)), months, policy.benefits)
    for july in (False, True):
        si = policy.benefits.social_insurance.limits(july)
        hf = policy.benefits.housing_fund.limits(july)
        cols = slice(6, 12) if july else slice(0, 6)
        assert ((b["si_base"][:, cols] >= si.floor) & (b["si_base"][:, cols] <= si.cap)).all()
        assert ((b["hf_base"][:, cols] >= hf.floor) & (b["hf_base"][:, cols] <= hf.cap)).all()
    assert (b["employee_pension"] >= 0).all()


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2 ** 32 - 1), st.integers(1, 40), st.integers(1, 13),
       st.sampled_from([0.08, 0.0, 0.07, 0.005, 1.0]), st.sampled_from(["odd", "finite", "inf", "halves"]))
def test_contribution_by_period_is_the_rounded_product(seed, n, m, rate, values) -> None:
    """_contribution(rate, base per person and period, share, _months(share, period)) is round_cents(rate x
    base[:, period] x share) bit for bit: months with share 1 (from the period's rounded rate x base), 0 and
    between (a hire's month), and NaN, -0.0, negative, huge and infinite bases and shares (every month worked out).
    Worked example: 8% of 7,384 = 590.72 a full month, 0 a month not employed, 590.72 x 17/31 = 323.94 (323.942...)
    half a month."""
    rng = np.random.default_rng(seed)
    period = rng.integers(0, 3, m) if values != "halves" else (np.arange(m) >= m // 2).astype(np.intp)
    if seed % 2:  # periods in order (np.repeat) or not (np.take)
        period = np.sort(period)
    base = np.round(rng.normal(10000, 8000, (n, 3)), 2)
    share = np.where(rng.uniform(size=(n, m)) < 0.8, 1.0, rng.choice([0.0, 0.5, 17 / 31, 1 / 3], (n, m)))
    if values == "odd":
        base.flat[rng.integers(0, base.size, 3)] = rng.choice([np.nan, -0.0, -1e15, 2.0 ** 60, 1e305], 3)
        share.flat[rng.integers(0, share.size, 2)] = rng.choice([np.nan, -0.0, 2.0], 2)
    elif values == "inf":
        base.flat[seed % base.size] = -np.inf if seed % 2 else np.inf
    with np.errstate(all="ignore"):
        got = pay._contribution(rate, base, share, pay._months(share, period))
        expected = round_cents(rate * base[:, period] * share)
    assert got.shape == expected.shape and got.flags.c_contiguous
    if values in ("odd", "inf"):  # NaN from 0 x inf or inf x 0 may come out with either sign: NaN
        assert np.array_equal(np.isnan(got), np.isnan(expected))
        got, expected = got[~np.isnan(got)], expected[~np.isnan(expected)]
    assert np.array_equal(got.view(np.uint64), expected.view(np.uint64))
    one = pay._contribution(0.08, np.array([[7384.0]]), np.array([[1.0, 0.0, 17 / 31]]),
                            pay._months(np.array([[1.0, 0.0, 17 / 31]]), np.array([0, 0, 0])))
    assert one.tolist() == [[590.72, 0.0, 323.94]]


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2 ** 32 - 1), st.integers(1, 40), st.integers(1, 13), st.integers(1, 50),
       st.sampled_from([0.08, 0.0, -0.0, 0.12, 0.005, 1.0]), st.sampled_from(["odd", "finite", "inf"]))
def test_contribution_is_the_rounded_product(seed, n, m, block, rate, values) -> None:
    """_contribution(rate, base, share), a block of people at a time into the result, is round_cents(rate x base
    x share) bit for bit: NaN, infinities, -0.0, negative and huge bases and shares included, any block, a share
    broadcast; a zero rate on finite bases and shares (zeros without the steps) too."""
    rng = np.random.default_rng(seed)
    base = rng.normal(10000, 20000, (n, m)) * rng.choice([1.0, 1e-4, 1e9], (n, m))
    share = rng.uniform(-0.1, 1.0, (n, m))
    odd = [np.nan, -0.0, 0.0, 1e15, -1e15, 5000.125, 2.0 ** 60] if values == "odd" else [-0.0, 1e15, -1e15]
    base.flat[rng.integers(0, n * m, 5)] = rng.choice(odd, 5)
    share.flat[rng.integers(0, n * m, 3)] = rng.choice([np.nan, -0.0, 1.0] if values == "odd" else [-0.0, 1.0], 3)
    if values == "inf":
        (base if seed % 2 else share).flat[seed % (n * m)] = -np.inf if seed % 3 else np.inf
    saved = pay._CONTRIBUTION_BLOCK
    pay._CONTRIBUTION_BLOCK = block
    try:
        for s in (share, share[:1], share[0]):
            with np.errstate(invalid="ignore"):  # (0 x inf)
                got = pay._contribution(rate, base, s)
                expected = round_cents(rate * base * s)
            assert got.shape == expected.shape
            if values == "inf":  # 0 x inf is a NaN whose sign the rounding's blocks may differ on: NaN, any sign
                assert np.array_equal(np.isnan(got), np.isnan(expected))
                got, expected = got[~np.isnan(got)], expected[~np.isnan(expected)]
            assert np.array_equal(got.view(np.uint64), expected.view(np.uint64))
    finally:
        pay._CONTRIBUTION_BLOCK = saved
