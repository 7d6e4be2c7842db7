"""compkit.tax: every figure is a hand calculation written out in the test."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import tiny_tables, write_tables
from hypothesis import given, settings
from hypothesis import strategies as st

from compkit import evaluate
from compkit.data import load_dataset
from compkit.errors import DataError, PolicyError
from compkit.money import round_cents
from compkit.policy import Tax, TaxBracket
from compkit.tax import (
    annual_bonus_tax,
    bonus_cliffs,
    bonus_treatment,
    bracket_tax,
    cliff_flags,
    cumulative_withholding,
    deferred_bonus_tax,
    monthly_withholding,
    reconcile,
)

# ------------------------------------------------------------------------------ cumulative withholding

def test_worked_example_of_announcement_2018_61():
    # 30,000 a month, 4,500 social insurance, 2,000 special additional deductions, basic deduction 5,000:
    # taxable per month = 30,000 − 4,500 − 2,000 − 5,000 = 18,500
    # Jan: 18,500 x 3% = 555
    # Feb: 37,000 x 10% − 2,520 = 1,180; 1,180 − 555 = 625
    # Mar: 55,500 x 10% − 2,520 = 3,030; 3,030 − 1,180 = 1,850
    withheld = monthly_withholding(np.full(3, 30000.0), 4500, 2000)
    assert withheld.tolist() == [555.0, 625.0, 1850.0]


def test_worked_example_whole_year():
    # cumulative taxable after m months = 18,500 m
    # Apr 74,000 -> 7,400 − 2,520 = 4,880 (1,850); May 92,500 -> 6,730 (1,850); Jun 111,000 -> 8,580 (1,850)
    # Jul 129,500 -> 10,430 (1,850); Aug 148,000 -> 20% : 29,600 − 16,920 = 12,680 (2,250)
    # Sep 166,500 -> 33,300 − 16,920 = 16,380 (3,700); Oct 20,080; Nov 23,780; Dec 222,000 -> 27,480 (3,700)
    withheld = monthly_withholding(np.full(12, 30000.0), 4500, 2000)
    assert withheld.tolist() == [555, 625, 1850, 1850, 1850, 1850, 1850, 2250, 3700, 3700, 3700, 3700]
    # the year: 222,000 x 20% − 16,920 = 27,480 = the sum of the months
    assert withheld.sum() == 27480.0


def test_people_by_months_and_per_person_deductions():
    gross = np.array([[30000.0] * 3, [8000.0] * 3])
    # person 2: 8,000 − 800 − 0 − 5,000 = 2,200 a month at 3% = 66 each month
    withheld = monthly_withholding(gross, social_insurance=np.array([4500.0, 800.0]),
                                   special_deductions=np.array([2000.0, 0.0]))
    assert withheld.tolist() == [[555, 625, 1850], [66, 66, 66]]


def test_no_refund_within_the_year_and_months_not_employed():
    # Jan 20,000: taxable 15,000 -> 450. Feb 0 wages: cumulative taxable 10,000 -> 300 < 450: withholds 0.
    # Mar 20,000: cumulative 40,000 − 15,000 = 25,000 -> 750; 750 − 450 = 300
    w = cumulative_withholding(np.array([20000.0, 0.0, 20000.0]))
    assert w["tax_cum"].tolist() == [450.0, 300.0, 750.0]
    assert w["withheld"].tolist() == [450.0, 0.0, 300.0]
    # a joiner in March: only employed months count for the basic deduction
    # Mar: 20,000 − 5,000 = 15,000 -> 450 (not 20,000 − 15,000 = 5,000 -> 150)
    w = monthly_withholding(np.array([0.0, 0.0, 20000.0]), employed=np.array([False, False, True]))
    assert w.tolist() == [0.0, 0.0, 450.0]


def test_annual_table_limits_are_inclusive():
    # 36,000 is in the 3% bracket (1,080); 36,000.01 in the 10% bracket: 3,600.001 − 2,520 = 1,080.001
    assert bracket_tax([36000.0, 36000.01, 960000.0, 1_000_000.0]).round(3).tolist() == \
        [1080.0, 1080.001, 250080.0, 268080.0]   # 960,000 x 35% − 85,920; 1,000,000 x 45% − 181,920


# ------------------------------------------------------------------------------------- annual bonus

def test_annual_bonus_and_the_cliff_at_36000():
    # 36,000 / 12 = 3,000 -> 3%: 1,080; 36,001 / 12 = 3,000.08 -> 10% − 210: 3,600.10 − 210 = 3,390.10
    tax = annual_bonus_tax([0.0, 36000.0, 36001.0, 60000.0, 144000.0, 144001.0])
    # 60,000: 5,000 a month -> 10%: 6,000 − 210 = 5,790; 144,000: 12,000 -> 10%: 14,400 − 210 = 14,190
    # 144,001: 20%: 28,800.20 − 1,410 = 27,390.20
    assert tax.tolist() == [0.0, 1080.0, 3390.10, 5790.0, 14190.0, 27390.20]
    assert round(tax[2] - tax[1], 2) == 2310.10


def test_cliffs_and_ranges_to_avoid():
    c = bonus_cliffs()
    assert c["threshold"].tolist() == [36000, 144000, 300000, 420000, 660000, 960000]
    # X = (T(1 − r_i) + q_i − q_{i+1}) / (1 − r_{i+1})
    # 36,000: (34,920 + 0 − 210) / 0.9 = 38,566.67;  144,000: (129,600 + 210 − 1,410) / 0.8 = 160,500
    # 300,000: (240,000 + 1,410 − 2,660) / 0.75 = 318,333.33; 420,000: (315,000 + 2,660 − 4,410) / 0.7 = 447,500
    # 660,000: (462,000 + 4,410 − 7,160) / 0.65 = 706,538.46; 960,000: (624,000 + 7,160 − 15,160) / 0.55 = 1,120,000
    assert c["avoid_to"].tolist() == [38566.67, 160500.0, 318333.33, 447500.0, 706538.46, 1120000.0]
    assert c["extra_tax"].tolist()[0] == 2310.10
    # 300,000: 25,000 a month -> 20%: 60,000 − 1,410 = 58,590; 300,001 -> 25%: 75,000.25 − 2,660 = 72,340.25
    assert c["extra_tax"].tolist()[2] == round(72340.25 - 58590.0, 2)


def test_cliff_flags():
    f = cliff_flags([36000.0, 37000.0, 38600.0, 150000.0])
    assert f["in_avoid_range"].tolist() == [False, True, False, True]
    # 37,000: tax 3,700 − 210 = 3,490, net 33,510; at 36,000 net 34,920: 1,410 lost
    # 150,000: tax 30,000 − 1,410 = 28,590, net 121,410; at 144,000 net 129,810: 8,400 lost
    assert f["net_lost"].tolist() == [0.0, 1410.0, 0.0, 8400.0]
    assert f["cliff"].tolist()[1] == 36000.0 and f["avoid_to"].tolist()[3] == 160500.0


# ----------------------------------------------------------------------------------- bonus choice

def test_bonus_choice_per_person():
    wages = np.array([-10000.0, 50000.0])
    bonus = np.array([30000.0, 30000.0])
    # person 1: deductions exceed wages by 10,000. separate: 0 + 30,000 x 3% = 900;
    #           combined: 20,000 x 3% = 600 -> combined is better
    # person 2: separate: 50,000 x 10% − 2,520 = 2,480, + 900 = 3,380; combined: 80,000 x 10% − 2,520 = 5,480
    best = bonus_treatment(wages, bonus, "best")
    assert best["separate"].tolist() == [900.0, 3380.0]
    assert best["combined"].tolist() == [600.0, 5480.0]
    assert best["treatment"].tolist() == ["combined", "separate"]
    assert best["total_tax"].tolist() == [600.0, 3380.0]
    assert best["bonus_tax"].tolist() == [600.0, 900.0]       # total − tax on wages alone (0, 2,480)
    assert bonus_treatment(wages, bonus, "separate")["total_tax"].tolist() == [900.0, 3380.0]
    assert bonus_treatment(wages, bonus, "combined")["total_tax"].tolist() == [600.0, 5480.0]
    with pytest.raises(ValueError, match="separate, combined or best"):
        bonus_treatment(wages, bonus, "cheapest")


def test_deferred_bonus_taxed_in_the_year_paid():
    # as a bonus: 20,000 / 12 = 1,666.67 -> 3%: 600
    # as wages on top of 100,000 taxable: 120,000 x 10% − 2,520 = 9,480 minus 100,000 x 10% − 2,520 = 7,480: 2,000
    assert deferred_bonus_tax([20000.0], [100000.0], "as_bonus").tolist() == [600.0]
    assert deferred_bonus_tax([20000.0], [100000.0], "as_wages").tolist() == [2000.0]


# ---------------------------------------------------------------------------------- reconciliation

def test_reconciliation_refund_for_a_mid_year_joiner():
    # joined in July at 20,000 a month, 2,000 social insurance, no other income in the year.
    # withheld July-December: monthly taxable 20,000 − 2,000 − 5,000 = 13,000; cumulative 78,000 after 6 months
    #   -> 78,000 x 10% − 2,520 = 5,280 withheld in the year
    withheld = monthly_withholding(np.full(6, 20000.0), 2000).sum()
    assert withheld == 5280.0
    # reconciliation: 120,000 − 60,000 (the whole year's basic deduction) − 12,000 = 48,000
    #   -> 48,000 x 10% − 2,520 = 2,280; refund 5,280 − 2,280 = 3,000
    r = reconcile([120000.0], [12000.0], [withheld])
    assert r["taxable"].tolist() == [48000.0]
    assert r["tax_due"].tolist() == [2280.0]
    assert r["balance"].tolist() == [-3000.0]
    assert not r["waived"].iloc[0]


def test_reconciliation_amount_due_with_two_employers_and_the_400_waiver():
    # two employers each withheld on 10,000 a month with 5,000 basic deduction each: 12 x 5,000 = 60,000 taxable
    #   each -> 60,000 x 10% − 2,520 = 3,480 each, 6,960 withheld in all
    # the year: 240,000 − 60,000 = 180,000 -> 20% − 16,920 = 19,080; due 19,080 − 6,960 = 12,120
    r = reconcile([240000.0], [0.0], [6960.0])
    assert r["balance"].tolist() == [12120.0] and not r["waived"].iloc[0]
    # small amount due: income 100,000, deductions 20,000 -> 20,000 x 3% = 600; withheld 300 -> due 300, waived
    r = reconcile([100000.0], [20000.0], [300.0])
    assert r["balance"].tolist() == [300.0] and r["waived"].iloc[0]


def test_reconciliation_rechooses_the_bonus_treatment():
    # wages 60,000, deductions 12,000: taxable −12,000; bonus 30,000 withheld separately: 900
    # at the reconciliation combined is lower: 18,000 x 3% = 540 -> refund 360
    r = reconcile([60000.0], [12000.0], [900.0], bonus=[30000.0])
    assert r["treatment"].tolist() == ["combined"]
    assert r["balance"].tolist() == [-360.0]


# ------------------------------------------------------------------------------------ properties

money = st.floats(min_value=0, max_value=200000, allow_nan=False).map(lambda x: round(x, 2))


@settings(max_examples=60, deadline=None)
@given(st.lists(money, min_size=12, max_size=12), money)
def test_withholding_adds_up_to_the_annual_tax_when_taxable_income_never_falls(above, si):
    # each month's wages = social insurance + 5,000 + a non-negative amount, so cumulative taxable never falls
    wages = np.array(above) + si + 5000
    w = cumulative_withholding(wages, si)
    assert (w["withheld"] >= 0).all()
    taxable = np.sum(above)
    assert round(float(w["withheld"].sum()), 2) == float(round_cents(bracket_tax(taxable)))
    # and in any case the months add up to the highest cumulative tax of the year, never less than December's
    assert w["withheld"].sum() == pytest.approx(w["tax_cum"].max())


@settings(max_examples=60, deadline=None)
@given(money, money)
def test_best_is_never_worse(wages, bonus):
    t = bonus_treatment(wages - 60000, bonus, "best")
    assert t["total_tax"].iloc[0] <= min(t["separate"].iloc[0], t["combined"].iloc[0])


def test_policy_tables_are_checked():
    rows = [TaxBracket(upto=100, rate=0.1, quick_deduction=0), TaxBracket(rate=0.2, quick_deduction=5)]
    with pytest.raises(ValueError, match="quick deduction 5 does not continue the table"):
        Tax(annual_table=rows)
    with pytest.raises(ValueError, match="only the last row"):
        Tax(monthly_table=[TaxBracket(rate=0.1), TaxBracket(upto=100, rate=0.2, quick_deduction=10)])
    assert Tax().bonus == "best" and Tax().basic_deduction == 5000


def test_bad_tax_keys_in_a_policy_file_name_the_key(policy):
    with pytest.raises(PolicyError, match="tax.bonus"):
        policy.updated({"tax.bonus": "cheapest"})
    with pytest.raises(PolicyError, match="benefits.annuity"):
        policy.updated({"benefits.annuity": {"employer": 0.09, "employee": 0.0}})


# ------------------------------------------------------------------------------ gross to net (engine)


def _row(table: pd.DataFrame, emp: str, period: str | None = None) -> pd.Series:
    t = table[table["employee_id"] == emp]
    if period is not None:
        t = t[t["period"].astype(str) == period]
    return t.iloc[0]


def test_net_pay_of_january_by_hand(out):
    jan = _row(out.net, "E1", "2025-01")
    # E1: base 9,500 a month, allowances 400 + 500 + 200 = 1,100, January commission 1% x 600,000 = 6,000
    assert (jan["base"], jan["allowances"], jan["commission"], jan["gross"]) == (9500.0, 1100.0, 6000.0, 16600.0)
    # contributions on the declared base 9,500: pension 760, medical 190, unemployment 47.50, housing fund 665
    assert (jan["employee_pension"], jan["employee_medical"], jan["employee_unemployment"],
            jan["employee_housing_fund"]) == (760.0, 190.0, 47.5, 665.0)
    # taxable: 16,600 − 1,662.50 − 5,000 = 9,937.50; 3% = 298.125 -> 298.13
    assert jan["taxable_income_cumulative"] == 9937.5 and jan["tax_withheld"] == 298.13
    # net: 16,600 − 1,662.50 − 298.13 = 14,639.37
    assert jan["net_pay"] == 14639.37


def test_net_table_adds_up_to_the_summary(out):
    s = out.summary.set_index("employee_id")
    n = out.net.groupby("employee_id", observed=True).sum(numeric_only=True)
    cash = s["base_pay"] + s["allowances"] + s["commission_paid"] + s["awards"]
    assert (n["gross"].round(2) == cash.reindex(n.index).round(2)).all()
    assert (n["bonus_paid"].round(2) == s["bonus_paid"].reindex(n.index)).all()
    emp_cols = [c for c in out.net.columns if c.startswith("employee_") and c != "employee_id"]
    expected = s["total_cash"] - s["employee_contributions"] - n["tax_withheld"]
    assert (n["net_pay"].round(2) == expected.reindex(n.index).round(2)).all()
    assert (n[emp_cols].sum(axis=1).round(2) == s["employee_contributions"].reindex(n.index)).all()
    t = out.tax.set_index("employee_id")
    assert (t["net_bonus"] == (t["bonus_paid"] - t["bonus_tax"]).round(2)).all()


def test_bonus_choice_and_reconciliation_on_the_tiny_data(out, tiny, policy):
    t = out.tax.set_index("employee_id")
    # E1 works the whole year, cumulative taxable income never falls: the year's withholding is exact
    assert t.loc["E1", "reconciliation_balance"] == 0.0
    # the chosen treatment is the cheaper one
    for emp in t.index:
        assert t.loc[emp, "tax_withheld"] == min(t.loc[emp, "tax_separate"], t.loc[emp, "tax_combined"])
    # E2 joined in July: 6 months of basic deduction withheld, 12 at the reconciliation: never an amount due
    assert t.loc["E2", "reconciliation_balance"] <= 0.0
    # employer cost does not depend on tax
    separate = evaluate(policy.updated({"tax.bonus": "combined"}), tiny)
    assert separate.summary["employer_cost"].tolist() == out.summary["employer_cost"].tolist()


@pytest.fixture()
def out(tiny, policy):
    return evaluate(policy, tiny)


def _load(tmp_path: Path, policy, edit) -> object:
    tables = tiny_tables()
    edit(tables)
    return load_dataset(write_tables(tables, tmp_path / "d"), policy=policy)


def test_annuity_and_supplementary_housing_fund_caps(tmp_path, tiny, policy):
    p = policy.updated({"benefits.annuity": {"employer": 0.05, "employee": 0.06, "deductible_rate": 0.04},
                        "benefits.housing_fund.supplementary_employee": 0.07})
    o = evaluate(p, tiny)
    jan = _row(o.net, "E1", "2025-01")
    # annuity 6% x 9,500 = 570, deductible only 4% x 9,500 = 380
    assert jan["employee_annuity"] == 570.0
    # housing fund 7% + supplementary 7% = 1,330, tax-free only 12% x 9,500 = 1,140
    assert jan["employee_supplementary_housing_fund"] == 665.0
    # deductible: 997.50 social insurance + 1,140 housing fund + 380 annuity = 2,517.50
    assert jan["deductible"] == 2517.5
    # taxable 16,600 − 2,517.50 − 5,000 = 9,082.50; 3% = 272.475 -> 272.48
    assert jan["tax_withheld"] == 272.48
    # net 16,600 − (997.50 + 1,330 + 570) − 272.48 = 13,430.02
    assert jan["net_pay"] == 13430.02
    # employer: 37,232.40 before + annuity 5% x 9,500 x 12 = 5,700 -> 42,932.40
    assert _row(o.summary, "E1")["employer_contributions"] == 42932.40


def test_si_base_resets_in_july_from_history(tmp_path, policy):
    def edit(t):
        t["history"]["monthly_wage"] = [None, 40000.0, 30000.0]   # E1 2024; E3 2024 and 2023
    data = _load(tmp_path, policy, edit)
    b = evaluate(policy, data).benefits.set_index("employee_id")
    # E3: January-June on 2023's average 30,000 (inside 7,384-36,921); from July on 2024's 40,000, capped 37,302
    assert (b.loc["E3", "si_base_h1"], b.loc["E3", "si_base_h2"]) == (30000.0, 37302.0)
    assert (b.loc["E3", "wage_source_h1"], b.loc["E3", "wage_source_h2"]) == ("history", "history")
    # employee pension 8% x (6 x 30,000 + 6 x 37,302) = 8% x 403,812 = 32,304.96
    assert b.loc["E3", "employee_pension"] == 32304.96
    # E2 joined in July 2025: the first month's wage, 7,000 (the CM1 midpoint) + 1,100 allowances = 8,100
    assert b.loc["E2", "wage_source_h2"] == "first_month" and b.loc["E2", "si_base_h2"] == 8100.0


def test_special_deductions_lower_the_tax(tmp_path, policy):
    def edit(t):
        t["deductions"] = pd.DataFrame({"employee_id": ["E1", "E1"], "period": ["2025-01", "2025-02"],
                                        "kind": ["子女教育", "children_education"], "amount": [2000.0, 2000.0]})
    o = evaluate(policy, _load(tmp_path, policy, edit))
    jan = _row(o.net, "E1", "2025-01")
    # 9,937.50 − 2,000 = 7,937.50 taxable; 3% = 238.125 -> 238.13
    assert jan["special_deductions"] == 2000.0 and jan["tax_withheld"] == 238.13


def test_bad_deductions_are_reported(tmp_path, policy):
    def edit(t):
        t["deductions"] = pd.DataFrame({
            "employee_id": ["E1", "E1", "E1", "E3", "E3", "E9"],
            "period": ["2025-01", "2025-02", "2025-02", "2025-03", "2025-04", "2025-01"],
            "kind": ["children_education", "housing_rent", "housing_loan_interest", "pets", "infant_care",
                     "elderly_support"],
            "amount": [2500.0, 1500.0, 1000.0, 100.0, 4000.0, 3000.0],
            "count": [1, None, None, None, 2, None]})
    with pytest.raises(DataError) as err:
        _load(tmp_path, policy, edit)
    text = str(err.value)
    assert "deductions.csv" in text
    assert "at most the legal amount for children_education: 2,000 per child" in text
    assert "housing-loan interest or housing rent in a month, not both" in text
    assert "a kind of special additional deduction" in text and "pets" in text
    assert "an employee_id listed in the employees table" in text
    # 2 children x 2,000 = 4,000 of infant care is within the law
    assert not [p for p in err.value.problems if p.value == 4000.0]


# ------------------------------------------------------------------------- the tax year of a half-year cycle


def test_a_second_half_year_carries_on_from_january():
    # 公告2018年第61号's example for a whole year: 30,000 − 4,500 − 2,000 − 5,000 = 18,500 taxable a month.
    # January-June: 111,000 taxable, 111,000 x 10% − 2,520 = 8,580 withheld.
    # July: 129,500 x 10% − 2,520 = 10,430 − 8,580 = 1,850; August: 148,000 x 20% − 16,920 = 12,680 − 10,430
    # = 2,250; September: 166,500 x 20% − 16,920 = 16,380 − 12,680 = 3,700; then 3,700 a month (20% bracket).
    h2 = cumulative_withholding(np.full((1, 6), 30000.0), 4500, 2000, prior_taxable=[111000.0],
                                prior_withheld=[8580.0])
    assert h2["withheld"].tolist() == [[1850.0, 2250.0, 3700.0, 3700.0, 3700.0, 3700.0]]
    assert h2["taxable_cum"][0, 0] == 129500.0 and h2["withheld_cum"][0, -1] == 8580.0 + 1850 + 2250 + 3700 * 4
    year = cumulative_withholding(np.full((1, 12), 30000.0), 4500, 2000)
    assert year["withheld"][:, 6:].tolist() == h2["withheld"].tolist()  # the same as the whole year's last six
    # starting in July as if January (what an H2 cycle did before): 555 in July, far too little
    assert cumulative_withholding(np.full((1, 6), 30000.0), 4500, 2000)["withheld"][0, 0] == 555.0


def test_a_separate_bonus_in_the_first_half_makes_the_second_combined():
    from compkit.tax import payroll, year_to_date

    # 20,000 a month, no contributions: 15,000 taxable a month. January-June withhold 450, 450, 1,080, 1,500,
    # 1,500, 1,500 = 6,480 (90,000 x 10% − 2,520); a 10,000 bonus was taxed separately in June (10,000 / 12 =
    # 833.33 -> 3%: 300)
    ytd = pd.DataFrame({"ytd_income": [120000.0], "ytd_deductions": [0.0], "ytd_months": [6.0],
                        "ytd_tax_withheld": [6480.0], "ytd_bonus_separate": [10000.0]})
    wages, zero = np.full((1, 6), 20000.0), np.zeros((1, 6))
    r = payroll(wages, [30000.0], 5, zero, zero, zero, np.ones((1, 6), bool), Tax(), year_to_date=ytd)
    # the year's one separate bonus is used: December's 30,000 is taxed with wages, though separately would be
    # lower (19,080 + 900 = 19,980 against 25,080). July 105,000 -> 7,980 − 6,480 = 1,500; August 9,480 (1,500);
    # September 10,980 (1,500); October 150,000 x 20% − 16,920 = 13,080 (2,100); November 16,080 (3,000);
    # December 180,000 + 30,000 = 210,000 -> 25,080 (9,000)
    assert r["tax_withheld"].tolist() == [[1500.0, 1500.0, 1500.0, 2100.0, 3000.0, 9000.0]]
    y = r["year"].iloc[0]
    assert y["bonus_treatment"] == "combined" and y["bonus_tax"] == 25080.0 - 19080.0
    assert y["ytd_tax_withheld"] + y["tax_withheld"] == 25080.0
    # reconciliation: 270,000 − 60,000 = 210,000 with the June bonus separate: 25,080 + 300 = 25,380, withheld
    # 6,480 + 18,600 + 300: nothing due
    assert y["reconciliation_tax_due"] == 25380.0 and y["reconciliation_balance"] == 0.0
    # what a later cycle would carry on from: the whole year so far
    after = year_to_date(r["year"].assign(employee_id=["E1"]))
    assert after.iloc[0][list(ytd.columns)].tolist() == [120000.0 + 6 * 20000 + 30000, 0.0, 12.0,
                                                         6480.0 + 18600.0, 10000.0]


def _half_year(tmp_path, policy, tables=None):
    half = policy.updated({"cycle": "half-year"})
    return half, write_tables(tables or tiny_tables(), tmp_path / "year")


def test_an_h2_cycle_takes_january_to_june_from_the_data_folder(tmp_path, policy):
    half, folder = _half_year(tmp_path, policy)
    h1 = evaluate(half, load_dataset(folder, policy=half, cycle="2025H1"))
    h2 = evaluate(half, load_dataset(folder, policy=half))  # the latest half: 2025H2, H1's rows set aside
    t1, t2 = h1.tax.set_index("employee_id"), h2.tax.set_index("employee_id")
    assert set(t2["ytd_source"]) == {"2025H1"}
    # E1 (whole year): H1's income, deductions, months and tax carry on
    assert t2.loc["E1", "ytd_income"] == t1.loc["E1", "withholding_income"]
    assert t2.loc["E1", "ytd_months"] == 6.0 and t2.loc["E1", "ytd_tax_withheld"] == t1.loc["E1", "tax_withheld"]
    june = h1.net[(h1.net["employee_id"] == "E1") & (h1.net["period"] == "2025-06")].iloc[0]
    july = h2.net[(h2.net["employee_id"] == "E1") & (h2.net["period"] == "2025-07")].iloc[0]
    # July's cumulative taxable income = June's + July's gross − deductible contributions − 5,000
    assert june["taxable_income_cumulative"] == 72350.0 - 9975.0 - 6 * 5000  # 32,375
    assert july["gross"] == 10600.0 and july["deductible"] == 1662.5
    assert july["taxable_income_cumulative"] == 32375.0 + 10600.0 - 1662.5 - 5000.0  # 36,312.50
    # cumulative tax 36,312.50 x 10% − 2,520 = 1,111.25 is below the 1,198.75 withheld to June: July withholds 0
    assert t1.loc["E1", "tax_withheld"] == 1198.75 and july["tax_withheld"] == 0.0
    # the year's tax withheld on wages = the annual table on December's cumulative taxable income
    dec = h2.net[(h2.net["employee_id"] == "E1") & (h2.net["period"] == "2025-12")].iloc[0]
    assert dec["taxable_income_cumulative"] == 56000.0  # 36,312.50 + 5 x (10,600 − 1,662.50 − 5,000)
    assert t1.loc["E1", "tax_withheld"] + t2.loc["E1", "tax_withheld"] == 56000.0 * 0.1 - 2520  # 3,080
    # E3's June bonus was taxed separately, so December's is taxed with wages
    assert t1.loc["E3", "bonus_treatment"] == "separate" and t1.loc["E3", "bonus_paid"] > 0
    assert t2.loc["E3", "bonus_treatment"] == "combined" and t2.loc["E3", "ytd_bonus_separate"] == \
        t1.loc["E3", "bonus_paid"]
    # E2 joined in July: nothing earlier in the year
    assert t2.loc["E2", ["ytd_income", "ytd_months", "ytd_tax_withheld"]].tolist() == [0.0, 0.0, 0.0]


def test_an_h2_cycle_takes_the_payrolls_figures_or_says_it_has_none(tmp_path, policy):
    tables = tiny_tables()
    for t in ("metrics", "sales"):  # the data folder holds July to December only
        tables[t] = tables[t][tables[t]["period"] >= "2025-07"].reset_index(drop=True)
    half, folder = _half_year(tmp_path, policy, tables)
    out = evaluate(half, load_dataset(folder, policy=half, cycle="2025H2"))
    assert set(out.tax["ytd_source"]) == {"none"}
    e1 = out.net[(out.net["employee_id"] == "E1") & (out.net["period"] == "2025-07")].iloc[0]
    assert e1["taxable_income_cumulative"] == 10600.0 - 1662.5 - 5000.0  # as if July were January
    # the payroll's January-June figures in the employees table: income 72,350, deductions 9,975, 6 months,
    # 1,198.75 withheld -> July starts from 72,350 − 9,975 − 30,000 = 32,375
    tables["employees"]["ytd_income"] = [72350.0, None, 0.0, 0.0]
    tables["employees"]["ytd_deductions"] = [9975.0, None, 0.0, 0.0]
    tables["employees"]["ytd_months"] = [6, None, 6, 3]
    tables["employees"]["ytd_tax_withheld"] = [1198.75, None, 0.0, 0.0]
    half, folder = _half_year(tmp_path / "2", policy, tables)
    out = evaluate(half, load_dataset(folder, policy=half, cycle="2025H2"))
    assert set(out.tax["ytd_source"]) == {"employees"}
    e1 = out.net[(out.net["employee_id"] == "E1") & (out.net["period"] == "2025-07")].iloc[0]
    assert e1["taxable_income_cumulative"] == 36312.5 and e1["tax_withheld"] == 0.0


def test_bad_year_to_date_figures_are_reported(tmp_path, policy):
    tables = tiny_tables()
    tables["employees"]["ytd_months"] = [14, None, None, None]
    half, folder = _half_year(tmp_path, policy, tables)
    with pytest.raises(DataError, match=r"employees.csv, row 2, column 'ytd_months': found 14.*0 to 11"):
        load_dataset(folder, policy=half, cycle="2025H2")


def test_annual_cycles_have_no_year_to_date(out):
    assert "ytd_source" not in out.tax and (out.tax["months_employed"] > 0).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(money, min_size=12, max_size=12), st.lists(money, min_size=12, max_size=12),
       st.integers(min_value=1, max_value=11))
def test_a_year_split_in_two_withholds_what_the_whole_year_does(wages, contributions, split):
    # any split of the year (6 for half-years): the later part, carried on from the earlier part's cumulative
    # taxable income and tax withheld, withholds month by month what the whole year withholds in those months,
    # even when income falls (nothing refunded within the year)
    wages, si = np.array([wages]), np.minimum(np.array([contributions]), np.array([wages]))
    whole = cumulative_withholding(wages, si)
    first = cumulative_withholding(wages[:, :split], si[:, :split])
    later = cumulative_withholding(wages[:, split:], si[:, split:], prior_taxable=first["taxable_cum"][:, -1],
                                   prior_withheld=first["withheld_cum"][:, -1])
    assert later["withheld"].tolist() == whole["withheld"][:, split:].tolist()
    assert np.allclose(later["taxable_cum"], whole["taxable_cum"][:, split:], rtol=0, atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(st.lists(money, min_size=12, max_size=12), money)
def test_payroll_of_two_halves_is_the_payroll_of_the_year(wages, bonus):
    from compkit.tax import payroll, year_to_date

    # no bonus before December; contributions 10% of wages: H1's year to date carried into H2 gives H2 the
    # whole year's months 7-12 (December's bonus taxed the same way: the choice sees the whole year's wages)
    w = np.array([wages])
    c = round_cents(0.1 * w)
    on = np.ones((1, 12), bool)
    year = payroll(w, [bonus], 11, c, c, np.zeros((1, 12)), on, Tax())
    h1 = payroll(w[:, :6], [0.0], 5, c[:, :6], c[:, :6], np.zeros((1, 6)), on[:, :6], Tax())
    ytd = year_to_date(h1["year"].assign(employee_id=["E1"]))
    h2 = payroll(w[:, 6:], [bonus], 5, c[:, 6:], c[:, 6:], np.zeros((1, 6)), on[:, 6:], Tax(), year_to_date=ytd)
    assert h2["tax_withheld"].tolist() == year["tax_withheld"][:, 6:].tolist()
    assert h2["net_pay"].tolist() == year["net_pay"][:, 6:].tolist()
    for col in ("bonus_treatment", "bonus_tax", "reconciliation_tax_due", "reconciliation_balance"):
        assert h2["year"][col].iloc[0] == year["year"][col].iloc[0], col


def test_the_half_year_columns_have_headers(tmp_path, policy):
    from compkit import headers

    half, folder = _half_year(tmp_path, policy)
    out = evaluate(half, load_dataset(folder, policy=half))
    assert [c for c in out.tax.columns if c not in headers.COLUMNS] == []
    assert headers.column_label("ytd_tax_withheld", "zh-CN") == "1至6月已预扣预缴税额（元）"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1e7), min_size=0, max_size=10, unique=True), st.data())
def test_bracket_is_searchsorted(limits, data) -> None:
    """_bracket(upto, x) is np.searchsorted(upto, x, side="left") for increasing limits ending in inf: amounts at,
    just above and below the limits, -0.0, negative, inf and NaN (past the last bracket, as searchsorted)."""
    from compkit.tax import _bracket
    upto = np.array(sorted(limits) + [np.inf])
    near = [v for u in limits for v in (u, np.nextafter(u, np.inf), np.nextafter(u, -np.inf))]
    x = np.array(data.draw(st.lists(st.one_of(st.floats(-1e3, 2e7), st.sampled_from(
        near + [0.0, -0.0, np.inf, -np.inf, np.nan])), min_size=1, max_size=50)))
    assert np.array_equal(_bracket(upto, x), np.searchsorted(upto, x, side="left"))
    assert _bracket(upto, x[0]) == np.searchsorted(upto, x[0], side="left")
    # 36,000 is in the annual table's 3% bracket (limits inclusive), 36,000.01 in the 10% one, NaN past the end
    annual = np.array([36000.0, 144000.0, 300000.0, 420000.0, 660000.0, 960000.0, np.inf])
    assert _bracket(annual, np.array([0.0, 36000.0, 36000.01, np.inf, np.nan])).tolist() == [0, 0, 1, 6, 7]


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 20), st.integers(0, 14), st.data())
def test_running_max_is_maximum_accumulate(n, m, data) -> None:
    """_running_max(a) is np.maximum.accumulate(a, axis=1) bit for bit: NaN of either sign, -0.0 against 0.0,
    infinities, no months."""
    from compkit.money import running_max as _running_max
    values = st.one_of(st.floats(-1e6, 1e6), st.sampled_from([np.nan, -np.nan, -0.0, 0.0, np.inf, -np.inf]))
    a = np.array(data.draw(st.lists(values, min_size=n * m, max_size=n * m)), dtype="float64").reshape(n, m)
    assert np.array_equal(_running_max(a).view(np.uint64), np.maximum.accumulate(a, axis=1).view(np.uint64))
    # tax to date 10, 8, 12 -> withheld to date 10, 10, 12
    assert _running_max(np.array([[10.0, 8.0, 12.0]])).tolist() == [[10.0, 10.0, 12.0]]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2 ** 32 - 1), st.integers(1, 30), st.integers(1, 12), st.booleans())
def test_withholding_employed_as_bools_or_numbers(seed, n, m, one) -> None:
    """cumulative_withholding counts the months employed from bools (in bytes, 1 person or many, per person or per
    month) as from 0.0 / 1.0: the same bits of every array; the people in blocks as a whole (a block of 3 people)."""
    rng = np.random.default_rng(seed)
    gross = np.round(rng.uniform(0, 60000, (n, m)), 2)
    employed = rng.uniform(size=(n, m)) < 0.8
    args = [(gross[0], employed[0])] if one else [(gross, employed), (gross, employed[:, 0])]
    import compkit.tax as tax
    for g, e in args:
        by_bool = cumulative_withholding(g, 3000.0, employed=e)
        saved = tax._WITHHOLDING_BLOCK
        tax._WITHHOLDING_BLOCK = 3 * m
        try:
            by_number = cumulative_withholding(g, 3000.0, employed=e.astype("float64"))
        finally:
            tax._WITHHOLDING_BLOCK = saved
        for k in by_bool:
            assert np.array_equal(by_bool[k].view(np.uint64), by_number[k].view(np.uint64))
