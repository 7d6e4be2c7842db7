"""compkit.commission: tiers, rates, the cycle-to-date true-up, clawbacks, gate, cap and settlement.

Every expected figure is worked out by hand in the test (CNY)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compkit.commission import (
    LINE_COLUMNS,
    SETTLE_COLUMNS,
    SETTLEMENT,
    ProductRates,
    _apply,
    _cents_per_employee,
    _dated_loan_codes,
    _employee_groups,
    _employee_index,
    _insert_in_place,
    _insert_positions,
    _inserted,
    _label_positions,
    _line_cents_per_employee,
    _product_terms,
    _recoded,
    _rows_with,
    _small_positions,
    _text_words,
    _true_ups,
    _wide_rates,
    _with_room,
    commission_lines,
    lines_with_settlement,
    product_rates,
    settle,
    tiered,
)
from compkit.money import round_cents, whole_cents
from compkit.policy import Commission, Tier, load_policy

POLICY_FILE = Path(__file__).resolve().parents[1] / "data" / "policies" / "examples" / "simple-2025.yaml"
PERIODS = [f"2025-{m:02d}" for m in range(1, 13)]

# the insurance tiers of the 2025 policy: 1% to 1M, 1.5% to 5M, 2% above
TIERS = [Tier(upto=1_000_000, rate=0.010), Tier(upto=5_000_000, rate=0.015), Tier(rate=0.020)]
TABLE = ([1_000_000.0, 5_000_000.0, math.inf], [0.010, 0.015, 0.020])


def make_commission(accumulate: str = "cycle_to_date", gate: dict | None = None, cap: dict | None = None,
                    products: list[dict] | None = None) -> Commission:
    """A Commission with the 2025 policy's products unless given."""
    if products is None:
        products = [
            {"id": "funds", "rate": 0.003},
            {"id": "insurance", "method": "marginal",
             "tiers": [{"upto": 1_000_000, "rate": 0.010}, {"upto": 5_000_000, "rate": 0.015}, {"rate": 0.020}]},
            {"id": "wealth", "method": "retroactive",
             "tiers": [{"upto": 10_000_000, "rate": 0.0005}, {"upto": 30_000_000, "rate": 0.0008},
                       {"rate": 0.0010}]},
            {"id": "loans", "rate_per_10k": 6},
        ]
    return Commission.model_validate({"accumulate": accumulate, "products": products, "gate": gate, "cap": cap})


def sales_frame(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["employee_id", "period", "product", "amount"]).astype(
        {"employee_id": "str", "period": "str", "product": "str", "amount": "float64"})


def line(lines: pd.DataFrame, employee: str, period: str, product: str) -> pd.Series:
    hit = lines[(lines["employee_id"] == employee) & (lines["period"] == period) & (lines["product"] == product)]
    assert len(hit) == 1
    return hit.iloc[0]


def cents(x: object) -> np.ndarray:
    return np.rint(np.asarray(x, dtype="float64") * 100).astype("int64")


# ----------------------------------------------------------------------------------------------- tiered


@pytest.mark.parametrize("tiers", [TIERS, TABLE], ids=["Tier objects", "(bounds, rates)"])
def test_tiered_worked_example(tiers: object) -> None:
    # 6,000,000 marginal: 1,000,000 x 1% + 4,000,000 x 1.5% + 1,000,000 x 2% = 10,000 + 60,000 + 20,000
    assert tiered(6_000_000, tiers, "marginal") == pytest.approx(10_000 + 60_000 + 20_000)
    assert round_cents(tiered(6_000_000, tiers, "marginal")) == 90_000.00
    # retroactive: the whole 6,000,000 at the rate of the tier it reaches, 2%: 120,000
    assert tiered(6_000_000, tiers, "retroactive") == pytest.approx(6_000_000 * 0.02)
    assert round_cents(tiered(6_000_000, tiers, "retroactive")) == 120_000.00


def test_tiered_exact_boundaries() -> None:
    amounts = np.array([0.0, 1_000_000.0, 1_000_000.01, 5_000_000.0, 5_000_000.01, 500_000.0])
    marginal = round_cents(tiered(amounts, TIERS, "marginal"))
    retro = round_cents(tiered(amounts, TIERS, "retroactive"))
    # 1,000,000 exactly stays in the 1% tier: 10,000 both ways
    # 1,000,000.01: marginal 10,000 + 0.01 x 1.5% = 10,000.00015 -> 10,000.00; retroactive all at 1.5%:
    #   1,000,000.01 x 0.015 = 15,000.00015 -> 15,000.00
    # 5,000,000 exactly stays in the 1.5% tier: marginal 10,000 + 4,000,000 x 1.5% = 70,000; retro 75,000
    # 5,000,000.01: marginal 70,000.0002 -> 70,000.00; retro x 2% = 100,000.0002 -> 100,000.00
    # 500,000 in the first tier: 5,000 both ways
    assert marginal.tolist() == [0.0, 10_000.0, 10_000.0, 70_000.0, 70_000.0, 5_000.0]
    assert retro.tolist() == [0.0, 10_000.0, 15_000.0, 75_000.0, 100_000.0, 5_000.0]


def test_tiered_negative_amount_uses_first_rate() -> None:
    # a reversal of 200,000 more than was sold: -200,000 x 1% = -2,000 under both methods,
    # even an amount far below zero never jumps to a higher tier's rate
    for method in ("marginal", "retroactive"):
        assert tiered(-200_000, TIERS, method) == pytest.approx(-2_000.0)
        assert tiered(-9_000_000, TIERS, method) == pytest.approx(-90_000.0)
    # sold 600,000 (6,000 paid), reversed 600,000: gives back exactly 6,000
    assert tiered(600_000, TIERS) + tiered(-600_000, TIERS) == 0.0


def test_tiered_shapes_and_flat_rate() -> None:
    grid = np.array([[1_000.0, 2_000.0], [3_000.0, -4_000.0]])
    out = tiered(grid, ([math.inf], [0.003]))
    assert out.shape == (2, 2)
    assert round_cents(out).tolist() == [[3.0, 6.0], [9.0, -12.0]]
    assert tiered(5.0, ([math.inf], [0.1])).shape == ()


def test_tiered_unknown_method() -> None:
    with pytest.raises(ValueError, match="unknown tier method 'progressive'"):
        tiered(1.0, TIERS, "progressive")


# ------------------------------------------------------------------------------------------------ rates


def test_product_rates_flat_per_10k_and_tiers() -> None:
    rates = product_rates(make_commission())
    assert list(rates) == ["funds", "insurance", "wealth", "loans"]
    assert rates["funds"].bounds.tolist() == [math.inf] and rates["funds"].rates.tolist() == [0.003]
    # 6 元 per 万元 = 6 / 10,000 = 0.0006 of the amount
    assert rates["loans"].rates.tolist() == [0.0006]
    # 2,500,000 of loans at 6 元/万: 250 x 6 = 1,500.00
    assert round_cents(rates["loans"].commission(2_500_000)) == 1_500.00
    # 1,000,000 of funds at 0.3%: 3,000.00
    assert round_cents(rates["funds"].commission(1_000_000)) == 3_000.00
    assert rates["insurance"].method == "marginal" and rates["wealth"].method == "retroactive"
    assert rates["insurance"].bounds.tolist() == [1_000_000, 5_000_000, math.inf]


def test_policy_file_products() -> None:
    rates = product_rates(load_policy(POLICY_FILE).commission)
    assert set(rates) == {"funds", "insurance", "wealth", "loans"}
    assert round_cents(rates["insurance"].commission(6_000_000)) == 90_000.00


# ------------------------------------------------------------------------------------------------ lines


def test_lines_full_grid_and_columns() -> None:
    sales = sales_frame([("E2", "2025-03", "funds", 1_000.0), ("E1", "2025-01", "loans", 10_000.0),
                         ("E9", "2025-01", "funds", 5.0),          # not in employees: ignored
                         ("E1", "2024-12", "funds", 5.0)])         # outside the cycle: ignored
    lines = commission_lines(sales, make_commission(), PERIODS, employees=["E1", "E2", "E3"])
    assert tuple(lines.columns) == LINE_COLUMNS
    assert len(lines) == 3 * 12 * 4  # every employee x month x product, also E3 without sales
    assert lines["employee_id"].astype(str).tolist()[:48] == ["E1"] * 48
    assert lines["period"].astype(str).tolist()[:8] == ["2025-01"] * 4 + ["2025-02"] * 4
    assert lines["product"].astype(str).tolist()[:4] == ["funds", "insurance", "wealth", "loans"]
    assert lines["basis"].sum() == 11_000.0
    # E1 loans 10,000 x 0.0006 = 6.00; E2 funds 1,000 x 0.3% = 3.00
    assert lines.groupby("employee_id", observed=True)["commission"].sum().to_dict() == {
        "E1": 6.0, "E2": 3.0, "E3": 0.0}
    later = line(lines, "E2", "2025-07", "funds")
    assert (later["basis"], later["cumulative_basis"], later["paid_to_date"], later["commission"]) == (
        0.0, 1_000.0, 3.0, 0.0)
    # default employees: the distinct ids of sales, sorted
    default = commission_lines(sales, make_commission(), PERIODS)
    assert list(default["employee_id"].cat.categories) == ["E1", "E2", "E9"]


def test_cycle_to_date_true_up_across_a_marginal_boundary() -> None:
    sales = sales_frame([("E1", "2025-01", "insurance", 600_000.0), ("E1", "2025-02", "insurance", 600_000.0)])
    lines = commission_lines(sales, make_commission(), PERIODS)
    jan, feb, mar = (line(lines, "E1", p, "insurance") for p in ("2025-01", "2025-02", "2025-03"))
    # Jan: 600,000 x 1% = 6,000.00
    assert (jan["cumulative_basis"], jan["commission"], jan["paid_to_date"]) == (600_000.0, 6_000.0, 0.0)
    # Feb: cumulative 1,200,000 -> 1,000,000 x 1% + 200,000 x 1.5% = 10,000 + 3,000 = 13,000.00;
    #      line 13,000 - 6,000 = 7,000.00 (the month's own 600,000 alone would earn only 6,000)
    assert feb["cumulative_basis"] == 1_200_000.0
    assert feb["cumulative_commission"] == pytest.approx(13_000.0)
    assert (feb["paid_to_date"], feb["commission"], bool(feb["clawback"])) == (6_000.0, 7_000.0, False)
    # March: nothing sold, nothing to true up
    assert (mar["paid_to_date"], mar["commission"]) == (13_000.0, 0.0)


def test_cycle_to_date_retroactive_back_pay() -> None:
    # wealth: 0.05% to 10M, 0.08% to 30M, 0.10% above, on the whole amount
    sales = sales_frame([("E1", "2025-01", "wealth", 8_000_000.0), ("E1", "2025-02", "wealth", 4_000_000.0)])
    lines = commission_lines(sales, make_commission(), PERIODS)
    jan, feb = line(lines, "E1", "2025-01", "wealth"), line(lines, "E1", "2025-02", "wealth")
    # Jan: 8,000,000 x 0.05% = 4,000.00
    assert jan["commission"] == 4_000.0
    # Feb: cumulative 12,000,000 is in the 0.08% tier: 12,000,000 x 0.08% = 9,600.00; line 9,600 - 4,000 = 5,600
    #      = Feb's 4,000,000 x 0.08% (3,200) + back-pay on Jan's 8,000,000 x (0.08% - 0.05%) (2,400)
    assert feb["commission"] == 5_600.0 == 4_000_000 * 0.0008 + 8_000_000 * (0.0008 - 0.0005)
    assert feb["paid_to_date"] == 4_000.0


def test_reversal_gives_a_clawback_line() -> None:
    sales = sales_frame([("E1", "2025-01", "insurance", 600_000.0), ("E1", "2025-02", "insurance", -600_000.0),
                         ("E1", "2025-01", "wealth", 12_000_000.0), ("E1", "2025-03", "wealth", -4_000_000.0)])
    lines = commission_lines(sales, make_commission(), PERIODS)
    feb = line(lines, "E1", "2025-02", "insurance")
    # the whole 600,000 reversed: cumulative 0 -> commission 0; line 0 - 6,000 = -6,000.00
    assert (feb["basis"], feb["cumulative_basis"], feb["commission"], bool(feb["clawback"])) == (
        -600_000.0, 0.0, -6_000.0, True)
    # wealth: Jan 12,000,000 x 0.08% = 9,600; March reversal of 4,000,000 drops the cumulative 8,000,000 back
    # into the 0.05% tier: 4,000.00, so the line is 4,000 - 9,600 = -5,600.00 (the back-pay is clawed back)
    mar = line(lines, "E1", "2025-03", "wealth")
    assert (mar["commission"], bool(mar["clawback"])) == (-5_600.0, True)
    assert lines["clawback"].sum() == 2
    assert lines.loc[lines["product"] == "insurance", "commission"].sum() == 0.0


def test_more_reversed_than_sold_in_the_cycle() -> None:
    # a sale of the previous cycle reversed now: cumulative -300,000 -> -300,000 x 1% = -3,000.00
    sales = sales_frame([("E1", "2025-04", "insurance", -300_000.0)])
    lines = commission_lines(sales, make_commission(), PERIODS)
    assert line(lines, "E1", "2025-04", "insurance")["commission"] == -3_000.0


def test_lines_are_differences_of_rounded_cumulatives() -> None:
    # funds at 0.3%: Jan 1,005 -> 3.015 -> 3.02 (half-up); Feb +1,005 -> cumulative 2,010 -> 6.03;
    # Mar +1,001 -> 3,011 -> 9.033 -> 9.03. Lines 3.02, 6.03 - 3.02 = 3.01, 9.03 - 6.03 = 3.00
    sales = sales_frame([("E1", "2025-01", "funds", 1_005.0), ("E1", "2025-02", "funds", 1_005.0),
                         ("E1", "2025-03", "funds", 1_001.0)])
    lines = commission_lines(sales, make_commission(), PERIODS)
    funds = lines[lines["product"] == "funds"]
    assert funds["commission"].tolist()[:3] == [3.02, 3.01, 3.00]
    assert funds["paid_to_date"].tolist()[:4] == [0.0, 3.02, 6.03, 9.03]
    # month by month: 3.02 + 3.02 + 3.00 (each month rounded alone)
    monthly = commission_lines(sales, make_commission("month"), PERIODS)
    assert monthly.loc[monthly["product"] == "funds", "commission"].tolist()[:3] == [3.02, 3.02, 3.00]


def test_month_mode_tiers_each_month_alone() -> None:
    sales = sales_frame([("E1", "2025-01", "insurance", 600_000.0), ("E1", "2025-02", "insurance", 600_000.0),
                         ("E1", "2025-03", "insurance", 1_500_000.0), ("E1", "2025-04", "insurance", -100_000.0)])
    lines = commission_lines(sales, make_commission("month"), PERIODS)
    ins = lines[lines["product"] == "insurance"].reset_index(drop=True)
    # Jan 600,000 x 1% = 6,000; Feb the same (no accumulation, the 1M boundary is never crossed);
    # Mar 1,000,000 x 1% + 500,000 x 1.5% = 17,500; Apr a reversal: -100,000 x 1% = -1,000 (clawback)
    assert ins["commission"].tolist()[:5] == [6_000.0, 6_000.0, 17_500.0, -1_000.0, 0.0]
    assert ins["clawback"].tolist()[:4] == [False, False, False, True]
    assert ins["paid_to_date"].tolist()[:5] == [0.0, 6_000.0, 12_000.0, 29_500.0, 28_500.0]
    assert ins["cumulative_commission"][3] == pytest.approx(28_500.0)
    assert ins["cumulative_basis"][3] == 2_600_000.0


def test_no_sales_gives_a_zero_grid() -> None:
    lines = commission_lines(sales_frame([]), make_commission(), PERIODS[:6], employees=["E1"])
    assert len(lines) == 6 * 4
    assert (lines["commission"] == 0).all() and not lines["clawback"].any()
    assert not np.signbit(lines["commission"]).any()  # no -0.0 in the table


# ------------------------------------------------------------------------------------------- settlement


def lines_for(gross: dict[str, float]) -> pd.DataFrame:
    """A minimal commission table: one funds line per employee in January."""
    return pd.DataFrame({"employee_id": list(gross), "period": "2025-01", "product": "funds",
                         "commission": list(gross.values())})


def test_settle_cap() -> None:
    commission = make_commission(cap={"times_annual_base": 1.5})
    out = settle(lines_for({"E1": 300_000.0, "E2": 100_000.0}), pd.Series({"E1": 80.0, "E2": 80.0}),
                 pd.Series({"E1": 120_000.0, "E2": 120_000.0}), commission)
    assert tuple(out.columns) == SETTLE_COLUMNS and out.index.name == "employee_id"
    e1, e2 = out.loc["E1"], out.loc["E2"]
    # cap = 1.5 x 120,000 = 180,000; E1 earned 300,000 -> final 180,000, settlement -120,000
    assert (e1["gross"], e1["cap_amount"], e1["final"], e1["settlement"]) == (300_000.0, 180_000.0, 180_000.0,
                                                                               -120_000.0)
    assert bool(e1["capped"]) and e1["reason"] == "capped at 1.5 × annual base"
    # E2 100,000 is under the cap: unchanged
    assert (e2["final"], e2["settlement"], bool(e2["capped"]), e2["reason"]) == (100_000.0, 0.0, False, "")


def test_settle_gate_at_and_below_the_threshold() -> None:
    commission = make_commission(gate={"min_composite": 60, "factor_below": 0.5})
    gross = {"at": 10_000.01, "below": 10_000.01, "far": 8_000.0, "missing": 5_000.0}
    out = settle(lines_for(gross), pd.Series({"at": 60.0, "below": 59.99, "far": 55.2}),
                 pd.Series(dict.fromkeys(gross, 100_000.0)), commission)
    # exactly 60 is not below the gate: paid in full
    assert (out.loc["at", "gate_factor"], out.loc["at", "final"], out.loc["at", "reason"]) == (1.0, 10_000.01, "")
    # 59.99: half of 10,000.01 = 5,000.005 -> 5,000.01 (half-up); settlement 5,000.01 - 10,000.01 = -5,000.00
    below = out.loc["below"]
    assert (below["gate_factor"], below["after_gate"], below["final"], below["settlement"]) == (
        0.5, 5_000.01, 5_000.01, -5_000.0)
    assert below["reason"] == "composite 59.99 below the gate 60: 50% paid"
    assert out.loc["far", "reason"] == "composite 55.2 below the gate 60: 50% paid"
    assert out.loc["far", "final"] == 4_000.0
    # no composite score: treated as below the gate
    assert out.loc["missing", "final"] == 2_500.0
    assert out.loc["missing", "reason"] == "no composite score, treated as below the gate 60: 50% paid"
    assert np.isinf(out["cap_amount"]).all() and not out["capped"].any()  # no cap in this policy


def test_settle_gate_and_cap_together() -> None:
    commission = make_commission(gate={"min_composite": 60, "factor_below": 0.5}, cap={"times_annual_base": 1.5})
    out = settle(lines_for({"E1": 500_000.0}), pd.Series({"E1": 50.0}), pd.Series({"E1": 100_000.0}), commission)
    # 500,000 x 50% = 250,000 > cap 1.5 x 100,000 = 150,000 -> final 150,000; settlement -350,000
    assert (out.loc["E1", "after_gate"], out.loc["E1", "final"], out.loc["E1", "settlement"]) == (
        250_000.0, 150_000.0, -350_000.0)
    assert out.loc["E1", "reason"] == "composite 50 below the gate 60: 50% paid; capped at 1.5 × annual base"


def test_settle_negative_gross_is_never_gated_or_capped_upward() -> None:
    commission = make_commission(gate={"min_composite": 60, "factor_below": 0.5}, cap={"times_annual_base": 1.5})
    out = settle(lines_for({"E1": -3_000.0, "E2": 0.0}), pd.Series({"E1": 10.0, "E2": 10.0}),
                 pd.Series({"E1": 0.0, "E2": 0.0}), commission)
    assert out["final"].tolist() == [-3_000.0, 0.0]
    assert out["settlement"].tolist() == [0.0, 0.0]
    assert out["gate_factor"].tolist() == [1.0, 1.0] and not out["capped"].any()
    assert out["reason"].tolist() == ["", ""]


def test_settlement_lines_make_the_table_add_up() -> None:
    commission = make_commission(gate={"min_composite": 60, "factor_below": 0.5}, cap={"times_annual_base": 1.5})
    sales = sales_frame([("E1", "2025-01", "insurance", 20_000_000.0), ("E2", "2025-02", "funds", 1_000_000.0),
                         ("E3", "2025-05", "loans", 2_500_000.0)])
    lines = commission_lines(sales, commission, PERIODS)
    composite = pd.Series({"E1": 90.0, "E2": 40.0, "E3": 75.0})
    base = pd.Series({"E1": 100_000.0, "E2": 100_000.0, "E3": 100_000.0})
    s = settle(lines, composite, base, commission)
    # E1: 10,000 + 60,000 + 15,000,000 x 2% = 370,000 capped at 150,000; E2: 3,000 gated to 1,500; E3: 1,500
    assert s["gross"].tolist() == [370_000.0, 3_000.0, 1_500.0]
    assert s["final"].tolist() == [150_000.0, 1_500.0, 1_500.0]
    table = lines_with_settlement(lines, s, PERIODS[-1])
    assert len(table) == len(lines) + 2  # E3 has no settlement line
    extra = table[table["product"] == SETTLEMENT]
    assert extra["employee_id"].astype(str).tolist() == ["E1", "E2"]
    assert (extra["period"] == "2025-12").all() and extra["clawback"].all()
    assert extra["commission"].tolist() == [-220_000.0, -1_500.0]
    # each settlement line follows its employee's lines
    assert table.index[table["product"] == SETTLEMENT].tolist() == [48, 97]
    totals = table.groupby("employee_id", observed=True)["commission"].sum()
    assert cents(totals.reindex(s.index)).tolist() == cents(s["final"]).tolist()
    # settling the table again ignores its settlement lines
    pd.testing.assert_frame_equal(settle(table, composite, base, commission), s)


# ----------------------------------------------------------------------------------------- properties

tier_tables = st.lists(st.tuples(st.integers(1, 5_000_000), st.integers(0, 1000)), min_size=1, max_size=5).map(
    lambda rows: (
        list(np.cumsum([w for w, _ in rows[:-1]], dtype="float64")) + [math.inf],
        list(np.cumsum([r for _, r in rows], dtype="float64") / 10_000.0),  # non-decreasing rates
    ))
amounts = st.integers(0, 10**9).map(lambda c: c / 100.0)


@settings(max_examples=200, deadline=None)
@given(tier_tables, amounts, amounts)
def test_commission_never_decreases_when_the_amount_rises(table: tuple, a: float, b: float) -> None:
    lo, hi = min(a, b), max(a, b)
    for method in ("marginal", "retroactive"):
        assert tiered(lo, table, method) <= tiered(hi, table, method)


@settings(max_examples=200, deadline=None)
@given(tier_tables, amounts)
def test_marginal_never_above_retroactive(table: tuple, a: float) -> None:
    marginal, retro = tiered(a, table, "marginal"), tiered(a, table, "retroactive")
    assert marginal <= retro + 1e-9 * max(1.0, abs(retro))


sales_rows = st.lists(
    st.tuples(st.sampled_from(["E1", "E2", "E3"]), st.sampled_from(PERIODS),
              st.sampled_from(["funds", "insurance", "wealth", "loans"]),
              st.integers(-300_000_000, 1_500_000_000).map(lambda c: c / 100.0)),
    max_size=40)


@settings(max_examples=60, deadline=None)
@given(sales_rows, st.sampled_from(["cycle_to_date", "month"]))
def test_lines_add_up_to_the_rounded_cumulative(rows: list, accumulate: str) -> None:
    commission = make_commission(accumulate)
    lines = commission_lines(sales_frame(rows), commission, PERIODS, employees=["E1", "E2", "E3"])
    rates = product_rates(commission)
    sums = lines.groupby(["employee_id", "product"], observed=True)["commission"].sum()
    finals = lines[lines["period"] == PERIODS[-1]].set_index(["employee_id", "product"])
    for (emp, prod), total in sums.items():
        if accumulate == "cycle_to_date":
            expected = round_cents(rates[prod].commission(finals.loc[(emp, prod), "cumulative_basis"]))
        else:
            months = lines.loc[(lines["employee_id"] == emp) & (lines["product"] == prod), "basis"]
            expected = round_cents(rates[prod].commission(months.to_numpy())).sum()
        assert cents(total) == cents(expected)
    assert (lines["clawback"] == (lines["commission"] < 0)).all()


@settings(max_examples=40, deadline=None)
@given(sales_rows, st.randoms(use_true_random=False))
def test_same_inputs_same_outputs_whatever_the_row_order(rows: list, rnd: object) -> None:
    commission = make_commission()
    first = commission_lines(sales_frame(rows), commission, PERIODS)
    again = commission_lines(sales_frame(rows), commission, PERIODS)
    shuffled = list(rows)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    other = commission_lines(sales_frame(shuffled), commission, PERIODS)
    pd.testing.assert_frame_equal(first, again, check_exact=True)
    pd.testing.assert_frame_equal(first, other, check_exact=True)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(-10**8, 10**9), st.one_of(st.none(), st.floats(0, 120)),
                          st.integers(0, 10**7)), min_size=1, max_size=8),
       st.sampled_from([0.5, 1.0, 1.5, 3.0]), st.sampled_from([0.0, 0.3, 0.5, 1.0]))
def test_settle_invariants(people: list, times: float, factor: float) -> None:
    commission = make_commission(gate={"min_composite": 60, "factor_below": factor},
                                 cap={"times_annual_base": times})
    ids = [f"E{i}" for i in range(len(people))]
    lines = lines_for({i: c / 100.0 for i, (c, _, _) in zip(ids, people)})
    composite = pd.Series({i: s for i, (_, s, _) in zip(ids, people) if s is not None}, dtype="float64")
    base = pd.Series({i: b / 100.0 for i, (_, _, b) in zip(ids, people)})
    out = settle(lines, composite, base, commission)
    # gross + settlement == final exactly in cents; the settlement never adds commission
    assert (cents(out["gross"]) + cents(out["settlement"]) == cents(out["final"])).all()
    assert (out["settlement"] <= 0).all()
    # the final never exceeds the cap (unless it is a clawback of a negative gross, which is left alone)
    positive = out["final"] > 0
    assert (out.loc[positive, "final"] <= out.loc[positive, "cap_amount"]).all()
    assert (out.loc[out["gross"] <= 0, "final"] == out.loc[out["gross"] <= 0, "gross"]).all()
    assert (cents(out["final"]) == cents(round_cents(out["final"]))).all()  # whole cents


# ------------------------------------------------------------------- quota-relative tiers (accelerators)

QUOTA = {"indicator": "insurance_sales",
         "tiers": [{"upto": 0.8, "multiplier": 0.0}, {"upto": 1.0, "multiplier": 1.0},
                   {"upto": 1.5, "multiplier": 1.5}, {"multiplier": 2.0}]}


def quota_policy(method: str = "marginal", target: str = "to_date", accumulate: str = "cycle_to_date",
                 **extra: object) -> Commission:
    return make_commission(accumulate, products=[
        {"id": "insurance", "rate": 0.01, "quota": {**QUOTA, "method": method, "target": target, **extra}}])


def targets(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame([(e, p, "insurance_sales", 0.0, t) for e, p, t in rows],
                        columns=["employee_id", "period", "indicator", "actual", "target"])


def test_quota_tiered_worked_example() -> None:
    from compkit.commission import quota_tiered
    from compkit.policy import Quota

    q = Quota.model_validate({**QUOTA, "method": "marginal"})
    # target 1,000,000, sold 1,200,000: below 80% nothing, 80-100% at 1%, 100-120% at 1.5%
    # 0 + 200,000 x 1% + 200,000 x 1.5% = 2,000 + 3,000 = 5,000
    assert quota_tiered(1_200_000, 1_000_000, q, 0.01) == pytest.approx(5_000.0)
    # 700,000 (70%): nothing; 2,000,000 (200%): 2,000 + 500,000 x 1.5% + 500,000 x 2% = 2,000 + 7,500 + 10,000
    assert quota_tiered(700_000, 1_000_000, q, 0.01) == 0.0
    assert quota_tiered(2_000_000, 1_000_000, q, 0.01) == pytest.approx(19_500.0)
    retro = Quota.model_validate({**QUOTA, "method": "retroactive"})
    # retroactive: the whole 1,200,000 at 1% x 1.5 = 18,000; 700,000 at x0 = 0; 2,000,000 at x2 = 40,000
    assert quota_tiered(1_200_000, 1_000_000, retro, 0.01) == pytest.approx(18_000.0)
    assert quota_tiered(2_000_000, 1_000_000, retro, 0.01) == pytest.approx(40_000.0)
    # no target: the base rate (1% of 500,000 = 5,000), or nothing
    assert quota_tiered(500_000, np.nan, q, 0.01) == pytest.approx(5_000.0)
    zero = Quota.model_validate({**QUOTA, "if_no_target": "zero"})
    assert quota_tiered(500_000, 0.0, zero, 0.01) == 0.0


def test_quota_is_each_persons_own_target() -> None:
    # A and B both sell 1,000,000 in January; A's target is 1,000,000 (100%), B's 2,000,000 (50%)
    sales = sales_frame([("A", "2025-01", "insurance", 1_000_000.0), ("B", "2025-01", "insurance", 1_000_000.0)])
    lines = commission_lines(sales, quota_policy(), ["2025-01"], metrics=targets(
        [("A", "2025-01", 1_000_000.0), ("B", "2025-01", 2_000_000.0)]))
    # A: 0 below 800,000, then 200,000 x 1% = 2,000; B: 50% of the target: below 80%, nothing
    assert line(lines, "A", "2025-01", "insurance")["commission"] == 2_000.0
    assert line(lines, "B", "2025-01", "insurance")["commission"] == 0.0


def test_quota_to_date_true_up_and_decelerator() -> None:
    # monthly target 100,000; sold 120,000 in January, nothing in February, 180,000 in March
    sales = sales_frame([("A", "2025-01", "insurance", 120_000.0), ("A", "2025-03", "insurance", 180_000.0)])
    months = ["2025-01", "2025-02", "2025-03"]
    lines = commission_lines(sales, quota_policy(), months, metrics=targets([("A", m, 100_000.0) for m in months]))
    # Jan: T = 100,000, B = 120,000: 20,000 x 1% + 20,000 x 1.5% = 200 + 300 = 500
    # Feb: T = 200,000, B = 120,000 (60%): below 80% -> C = 0: the line gives back 500 (a decelerator)
    # Mar: T = 300,000, B = 300,000 (100%): 60,000 x 1% = 600
    assert list(lines["commission"]) == [500.0, -500.0, 600.0]
    assert list(lines["clawback"]) == [False, True, False]
    # against the whole cycle's target (300,000) nothing is paid until March: 0, 0, 600
    cyc = commission_lines(sales, quota_policy(target="cycle"), months,
                           metrics=targets([("A", m, 100_000.0) for m in months]))
    assert list(cyc["commission"]) == [0.0, 0.0, 600.0]


def test_quota_month_mode_uses_the_months_target() -> None:
    sales = sales_frame([("A", "2025-01", "insurance", 150_000.0), ("A", "2025-02", "insurance", 70_000.0)])
    months = ["2025-01", "2025-02"]
    lines = commission_lines(sales, quota_policy(accumulate="month"), months,
                             metrics=targets([("A", m, 100_000.0) for m in months]))
    # Jan 150%: 20,000 x 1% + 50,000 x 1.5% = 200 + 750 = 950; Feb 70%: nothing
    assert list(lines["commission"]) == [950.0, 0.0]


def test_quota_policy_rules() -> None:
    with pytest.raises(ValueError, match="quota tiers multiply a base 'rate'"):
        make_commission(products=[{"id": "insurance", "tiers": [{"upto": 1e6, "rate": 0.01}, {"rate": 0.02}],
                                   "quota": QUOTA}])
    with pytest.raises(ValueError, match="gap between tiers|must be open-ended"):
        make_commission(products=[{"id": "insurance", "rate": 0.01, "quota": {
            "indicator": "x", "tiers": [{"upto": 0.8, "multiplier": 0}, {"upto": 1.2, "multiplier": 1}]}}])


# ------------------------------------------------------------------- products priced as banks pay them


A = {"employee_id": "A"}


def frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows).astype({"employee_id": "str", "period": "str", "product": "str", "amount": "float64"})


def test_deposits_on_average_daily_balance_by_type_paid_monthly() -> None:
    # 日均存款 by type: coefficient 活期 1.0, 定期 0.4, 协定 0.6 on a rate of 30 元 per 10k per year
    c = make_commission(products=[{"id": "deposits", "basis": "balance", "rate_per_10k": 30,
                                   "coefficients": {"column": "deposit_type",
                                                    "values": {"活期": 1.0, "定期": 0.4, "协定": 0.6}}}])
    sales = frame([
        {**A, "period": "2025-01", "product": "deposits", "amount": 12_000_000.0, "deposit_type": "活期"},
        {**A, "period": "2025-01", "product": "deposits", "amount": 30_000_000.0, "deposit_type": "定期"},
        {**A, "period": "2025-02", "product": "deposits", "amount": 12_000_000.0, "deposit_type": "活期"},
        {**A, "period": "2025-02", "product": "deposits", "amount": 10_000_000.0, "deposit_type": "协定"},
    ])
    lines = commission_lines(sales, c, ["2025-01", "2025-02"])
    # Jan basis = 12M x 1.0 + 30M x 0.4 = 24M; 24M / 10k x 30 = 72,000 a year; paid monthly: 6,000
    # Feb basis = 12M + 10M x 0.6 = 18M; 18M / 10k x 30 / 12 = 4,500 (a balance is not cumulated)
    assert list(lines["basis"]) == [24_000_000.0, 18_000_000.0]
    assert list(lines["commission"]) == [6_000.0, 4_500.0]


def test_deposits_on_balance_and_increase_over_last_year() -> None:
    c = make_commission(products=[{"id": "deposits", "basis": "balance", "rate_per_10k": 12,
                                   "increase_rate_per_10k": 60}])
    sales = frame([
        {**A, "period": "2025-01", "product": "deposits", "amount": 25_000_000.0,
         "baseline": 20_000_000.0},
        {**A, "period": "2025-02", "product": "deposits", "amount": 18_000_000.0,
         "baseline": 20_000_000.0},
    ])
    lines = commission_lines(sales, c, ["2025-01", "2025-02"])
    # Jan: balance 25M x 12 / 10k = 30,000 a year; increase 5M x 60 / 10k = 30,000 a year; (30,000 + 30,000)/12
    # = 5,000. Feb: 18M x 12 / 10k / 12 = 1,800; a decrease (18M < 20M) earns nothing on the increase
    assert list(lines["commission"]) == [5_000.0, 1_800.0]


def test_deposits_on_the_ftp_spread() -> None:
    # a share of FTP profit: 25M balance x 1.2% spread = 300,000 a year of FTP profit; 5% of it = 15,000 a year;
    # paid monthly: 1,250
    c = make_commission(products=[{"id": "deposits", "basis": "balance", "rate": 0.05, "on_ftp_spread": True}])
    sales = frame([{**A, "period": "2025-01", "product": "deposits", "amount": 25_000_000.0,
                    "ftp_spread": 0.012}])
    assert commission_lines(sales, c, ["2025-01"])["commission"].tolist() == [1_250.0]


def test_fee_income_and_holdings_shares() -> None:
    # fee income (中间业务收入): 3% of 40,000 booked = 1,200; holdings (保有量) 60M at an annual 0.1%:
    # 60,000 a year, 5,000 a month
    c = make_commission(products=[{"id": "fee_income", "rate": 0.03},
                                  {"id": "holdings", "basis": "balance", "rate": 0.001}])
    sales = frame([{**A, "period": "2025-01", "product": "fee_income", "amount": 40_000.0},
                   {**A, "period": "2025-01", "product": "holdings", "amount": 60_000_000.0}])
    assert commission_lines(sales, c, ["2025-01"])["commission"].tolist() == [1_200.0, 5_000.0]


def test_insurance_by_payment_term_through_standard_premium_coefficients() -> None:
    # 折标系数: 趸交 0.1, 期交3 0.3, 期交5 0.5, 期交10 1.0; standard premium, then the marginal tiers
    # (1% to 1M, 1.5% above)
    c = make_commission(products=[{
        "id": "insurance", "method": "marginal", "tiers": [{"upto": 1_000_000, "rate": 0.01}, {"rate": 0.015}],
        "coefficients": {"column": "payment_term",
                         "values": {"趸交": 0.1, "期交3": 0.3, "期交5": 0.5, "期交10": 1.0}}}])
    sales = frame([
        {**A, "period": "2025-01", "product": "insurance", "amount": 2_000_000.0, "payment_term": "趸交"},
        {**A, "period": "2025-01", "product": "insurance", "amount": 600_000.0, "payment_term": "期交10"},
        {**A, "period": "2025-02", "product": "insurance", "amount": 1_000_000.0, "payment_term": "期交5"},
    ])
    lines = commission_lines(sales, c, ["2025-01", "2025-02"])
    # Jan standard premium 2M x 0.1 + 600k x 1.0 = 800,000 -> 8,000
    # Feb +1M x 0.5 = 500,000: cumulative 1.3M -> 10,000 + 300,000 x 1.5% = 14,500; the line is 6,500
    assert list(lines["basis"]) == [800_000.0, 500_000.0]
    assert list(lines["commission"]) == [8_000.0, 6_500.0]


def test_loans_turning_non_performing_within_n_months_are_clawed_back() -> None:
    c = make_commission(products=[{"id": "loans", "rate_per_10k": 6, "npl_clawback": {"months": 12}}])
    months = [f"2025-{m:02d}" for m in range(1, 7)]
    sales = frame([
        # L1: 5M in January, non-performing on 2025-05-10 (within 12 months): reversed in May
        {**A, "period": "2025-01", "product": "loans", "amount": 5_000_000.0, "loan_id": "L1",
         "npl_date": None},
        {**A, "period": "2025-02", "product": "loans", "amount": 1_000_000.0, "loan_id": "L1",
         "npl_date": "2025-05-10"},
        # L2: 2M in February, performing
        {**A, "period": "2025-02", "product": "loans", "amount": 2_000_000.0, "loan_id": "L2",
         "npl_date": None},
    ])
    lines = commission_lines(sales, c, months)
    # Jan 5M x 6 / 10k = 3,000; Feb 3M -> 1,800; May: both L1 rows (6M) reversed -> -3,600, a clawback line
    assert list(lines["commission"]) == [3_000.0, 1_800.0, 0.0, 0.0, -3_600.0, 0.0]
    assert bool(line(lines, "A", "2025-05", "loans")["clawback"])
    # outside the window (13 months after January) nothing is reversed
    late = sales.assign(npl_date=[None, "2026-02-01", None])
    assert commission_lines(late, c, months)["commission"].sum() == pytest.approx(3_000.0 + 1_800.0)
    # the sales table is not changed
    assert sales["amount"].tolist() == [5_000_000.0, 1_000_000.0, 2_000_000.0]


def test_balance_product_policy_rules() -> None:
    with pytest.raises(ValueError, match="increase_rate_per_10k needs basis: balance"):
        make_commission(products=[{"id": "d", "rate_per_10k": 5, "increase_rate_per_10k": 10}])
    with pytest.raises(ValueError, match="npl_clawback applies to disbursed amounts"):
        make_commission(products=[{"id": "d", "basis": "balance", "rate_per_10k": 5, "npl_clawback": {"months": 6}}])


def test_quota_lines_to_date_match_the_full_cycle() -> None:
    # lines for January and February alone, against the whole cycle's target, pay what the full cycle's lines pay
    sales = sales_frame([("A", "2025-01", "insurance", 170_000.0), ("A", "2025-03", "insurance", 130_000.0)])
    months = ["2025-01", "2025-02", "2025-03"]
    metrics = targets([("A", m, 100_000.0) for m in months])
    full = commission_lines(sales, quota_policy(target="cycle"), months, metrics=metrics)
    # cycle target 300,000: 170,000 is 56.7% (nothing) until March: 300,000 = 100%: 60,000 x 1% = 600
    assert full["commission"].tolist() == [0.0, 0.0, 600.0]
    to_date = commission_lines(sales[sales["period"] <= "2025-02"], quota_policy(target="cycle"), months[:2],
                               metrics=metrics, cycle_periods=months)
    assert to_date["commission"].tolist() == [0.0, 0.0]
    # against a target of only January and February (200,000), 170,000 is 85%: 10,000 x 1% = 100 in January
    short = commission_lines(sales[sales["period"] <= "2025-02"], quota_policy(target="cycle"), months[:2],
                             metrics=metrics)
    assert short["commission"].tolist() == [100.0, 0.0]


def test_lines_from_kept_bases_with_other_rates_are_the_lines_of_those_rates() -> None:
    """commission_bases once, lines_from_bases with other rates and tiers: the same table, bit for bit, as
    commission_lines of those rates; bases of other products are refused."""
    from compkit.commission import bases_key, commission_bases, lines_from_bases

    sales = sales_frame([("E1", "2025-01", "insurance", 800_000.0), ("E1", "2025-03", "insurance", 700_000.0),
                         ("E2", "2025-02", "wealth", 12_000_000.0), ("E2", "2025-02", "funds", 50_000.0),
                         ("E1", "2025-05", "loans", 100_000.0)])
    base = make_commission()
    bases = commission_bases(sales, base, PERIODS, employees=["E1", "E2"])
    pd.testing.assert_frame_equal(lines_from_bases(bases, base),
                                  commission_lines(sales, base, PERIODS, employees=["E1", "E2"]), check_exact=True)
    products = [{"id": "funds", "rate": 0.004},
                {"id": "insurance", "method": "retroactive",
                 "tiers": [{"upto": 1_000_000, "rate": 0.011}, {"upto": 5_000_000, "rate": 0.016}, {"rate": 0.02}]},
                {"id": "wealth", "method": "retroactive",
                 "tiers": [{"upto": 10_000_000, "rate": 0.0005}, {"upto": 30_000_000, "rate": 0.0008},
                           {"rate": 0.0010}]},
                {"id": "loans", "rate_per_10k": 7}]
    for other in (make_commission(products=products), make_commission("month", products=products)):
        assert bases_key(other) == bases.key
        got = lines_from_bases(bases, other)
        pd.testing.assert_frame_equal(got, commission_lines(sales, other, PERIODS, employees=["E1", "E2"]),
                                      check_exact=True)
    # E1's insurance under the retroactive 1.1% / 1.6%: 800,000 x 1.1% = 8,800 in January; in March the
    # cumulative 1,500,000 is in the second tier: 1,500,000 x 1.6% = 24,000, a true-up of 15,200
    retro = lines_from_bases(bases, make_commission(products=products))
    assert line(retro, "E1", "2025-03", "insurance")["commission"] == 15_200.0
    assert line(retro, "E1", "2025-01", "insurance")["commission"] == 8_800.0
    fewer = make_commission(products=products[:3])
    assert bases_key(fewer) != bases.key
    with pytest.raises(ValueError, match="other products"):
        lines_from_bases(bases, fewer)


def test_balance_and_quota_products_from_kept_bases() -> None:
    """A balance product paid on the increase over last year and a quota product: their baselines and targets
    are kept with the bases, and other rates on them give commission_lines' table of those rates."""
    from compkit.commission import commission_bases, lines_from_bases

    sales = sales_frame([("A", "2025-01", "insurance", 120_000.0), ("A", "2025-03", "insurance", 180_000.0),
                         ("A", "2025-01", "deposits", 2_000_000.0), ("A", "2025-02", "deposits", 3_000_000.0)])
    sales["baseline"] = [np.nan, np.nan, 1_000_000.0, 1_000_000.0]
    months = ["2025-01", "2025-02", "2025-03"]
    metrics = targets([("A", m, 100_000.0) for m in months])

    def policy(rate: float, increase: float) -> Commission:
        return make_commission(products=[
            {"id": "insurance", "rate": rate, "quota": {**QUOTA, "method": "marginal", "target": "to_date"}},
            {"id": "deposits", "basis": "balance", "rate_per_10k": 12, "increase_rate_per_10k": increase}])

    bases = commission_bases(sales, policy(0.01, 30), months, metrics=metrics)
    other = policy(0.02, 40)
    got = lines_from_bases(bases, other)
    pd.testing.assert_frame_equal(got, commission_lines(sales, other, months, metrics=metrics), check_exact=True)
    # deposits, January: (2,000,000 x 12 / 10,000 + 1,000,000 x 40 / 10,000) / 12 = (2,400 + 4,000) / 12
    assert line(got, "A", "2025-01", "deposits")["commission"] == round_cents(6_400 / 12)
    # insurance at twice the base rate: January 20,000 x 2% + 20,000 x 3% = 1,000
    assert line(got, "A", "2025-01", "insurance")["commission"] == 1_000.0


@pytest.mark.parametrize("accumulate", ["cycle_to_date", "month"])
def test_lines_like_another_commission_work_out_only_the_products_that_differ(accumulate: str) -> None:
    """lines_from_bases(bases, other, like=(base, its lines)): the products alike under both are copied from the
    given lines, the others worked out: the same table, bit for bit, as without ``like``; the given lines are not
    written. Balance and quota products too."""
    from compkit.commission import _lines_alike, commission_bases, lines_from_bases

    sales = sales_frame([("A", "2025-01", "insurance", 120_000.0), ("A", "2025-03", "insurance", 180_000.0),
                         ("A", "2025-01", "deposits", 2_000_000.0), ("A", "2025-02", "deposits", 3_000_000.0),
                         ("B", "2025-02", "funds", 1_250_000.0), ("B", "2025-03", "funds", -250_000.0)])
    sales["baseline"] = [np.nan, np.nan, 1_000_000.0, 1_000_000.0, np.nan, np.nan]
    months = ["2025-01", "2025-02", "2025-03"]
    metrics = targets([(e, m, 100_000.0) for e in ("A", "B") for m in months])

    def policy(insurance: float = 0.01, increase: float = 30, funds: float = 0.004) -> Commission:
        return make_commission(accumulate, products=[
            {"id": "insurance", "rate": insurance, "quota": {**QUOTA, "method": "marginal", "target": "to_date"}},
            {"id": "deposits", "basis": "balance", "rate_per_10k": 12, "increase_rate_per_10k": increase},
            {"id": "funds", "method": "marginal",
             "tiers": [{"upto": 1_000_000, "rate": funds}, {"rate": 2 * funds}]}])

    base = policy()
    bases = commission_bases(sales, base, months, employees=["A", "B"], metrics=metrics)
    kept = lines_from_bases(bases, base)
    before = kept.copy(deep=True)
    for other, alike in ((policy(insurance=0.02), [1, 2]), (policy(increase=40), [0, 2]),
                         (policy(funds=0.005), [0, 1]), (policy(0.02, 40, 0.005), []), (base, [0, 1, 2])):
        assert _lines_alike(other, base, len(kept), 2 * 3 * 3) == alike
        got = lines_from_bases(bases, other, like=(base, kept))
        pd.testing.assert_frame_equal(got, lines_from_bases(bases, other), check_exact=True)
        pd.testing.assert_frame_equal(kept, before, check_exact=True)
    # funds at 0.5% to 1M, 1% above (cycle to date: 1,250,000 in February): 5,000 + 2,500 = 7,500
    if accumulate == "cycle_to_date":
        assert line(lines_from_bases(bases, policy(funds=0.005), like=(base, kept)), "B", "2025-02",
                    "funds")["commission"] == 7_500.0
    # lines of another length than the bases' grid (not that grid): nothing taken from them
    assert _lines_alike(policy(funds=0.005), base, len(kept) - 1, 2 * 3 * 3) == []


def test_tier_terms_are_remembered_read_only_and_the_same() -> None:
    """_terms_of gives _terms' table (one array per bounds, rates and method, read-only: shared by its callers);
    tiered on it pays as before: 1% to 1M, 1.5% to 5M, 2% above on 6M: 10,000 + 60,000 + 20,000 = 90,000."""
    from compkit.commission import _terms, _terms_of

    bounds, rates = np.array([1e6, 5e6, np.inf]), np.array([0.01, 0.015, 0.02])
    got = _terms_of(bounds, rates, "marginal")
    assert np.array_equal(got, _terms(bounds, rates, "marginal")) and not got.flags.writeable
    assert _terms_of(bounds.copy(), rates.copy(), "marginal") is got
    assert not np.array_equal(_terms_of(bounds, rates, "retroactive"), got)
    assert tiered(6_000_000.0, (bounds, rates)) == pytest.approx(90_000.0)
    with pytest.raises(ValueError, match="unknown tier method"):
        _terms_of(bounds, rates, "progressive")


def test_insert_positions_worked_example():
    placed, old_rows = _insert_positions(np.array([1, 3, 1]), 3)
    assert placed.tolist() == [1, 5, 2]
    assert old_rows.tolist() == [True, False, False, True, True, False]
    out = _inserted(np.array([10.0, 20.0, 30.0]), np.array([-1.0, -2.0, -3.0]), placed, old_rows)
    assert out.tolist() == [10.0, -1.0, -3.0, 20.0, 30.0, -2.0]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-3, 3), max_size=20), st.data())
def test_inserted_is_np_insert(a, data):
    at = data.draw(st.lists(st.integers(0, len(a)), max_size=8))
    b = data.draw(st.lists(st.integers(-3, 3), min_size=len(at), max_size=len(at)))
    values, extra = np.array(a, dtype=np.int8), np.array(b, dtype=np.int8)
    expected = np.insert(values, np.array(at, dtype=np.intp), extra)
    got = _inserted(values, extra, *_insert_positions(np.array(at, dtype=np.intp), len(values)))
    assert got.dtype == expected.dtype and got.tolist() == expected.tolist()


def test_insert_in_place_worked_example():
    """buffer [10, 20, 30, room for 3]; at [1, 3, 1] (placed [1, 5, 2]): 10, then b's -1 and -3 (inserted before
    20, in their order), 20, 30, then -2 at the end: np.insert's result, written over the buffer."""
    buffer = np.array([10.0, 20.0, 30.0, np.nan, np.nan, np.nan])
    placed, _ = _insert_positions(np.array([1, 3, 1]), 3, with_flags=False)
    got = _insert_in_place(buffer, 3, np.array([-1.0, -2.0, -3.0]), placed)
    assert got.tolist() == [10.0, -1.0, -3.0, 20.0, 30.0, -2.0] and np.shares_memory(got, buffer)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(-3, 3), max_size=30), st.data(), st.sampled_from([1, 2, 3, 5, 1 << 18]),
       st.sampled_from([np.int8, np.int32, np.float64, np.bool_]), st.sampled_from([0, 1, 2, 4, 1024]))
def test_insert_in_place_is_np_insert(a, data, block, kind, run):
    """In blocks of any size (1 value to the default), anywhere (the start, the end, the same place twice,
    unordered), any dtype, the old values moved as runs or through a mask (``run``: 0, every block as runs; 1024,
    the default, all of these through the mask): np.insert's values, in the buffer itself."""
    import compkit.commission as cm

    at = data.draw(st.lists(st.integers(0, len(a)), max_size=8))
    b = data.draw(st.lists(st.integers(-3, 3), min_size=len(at), max_size=len(at)))
    values, extra = np.array(a).astype(kind), np.array(b).astype(kind)
    expected = np.insert(values, np.array(at, dtype=np.intp), extra)
    buffer = np.empty(len(a) + len(at) + data.draw(st.integers(0, 3)), dtype=kind)
    buffer[:len(a)] = values
    placed, _ = _insert_positions(np.array(at, dtype=np.intp), len(values), with_flags=False)
    (default, default_run), cm._INSERT_BLOCK, cm._INSERT_RUN = (cm._INSERT_BLOCK, cm._INSERT_RUN), block, run
    try:
        got = _insert_in_place(buffer, len(values), extra, placed)
    finally:
        cm._INSERT_BLOCK, cm._INSERT_RUN = default, default_run
    assert got.dtype == expected.dtype and got.tolist() == expected.tolist()
    assert np.shares_memory(got, buffer) or not len(got)


@pytest.mark.parametrize("case", ["random", "first and last", "none", "without lines", "one", "every"])
def test_settlement_lines_inserted_in_place_are_the_copied_table(case: str) -> None:
    """lines_with_settlement(consume=True) on lines_from_bases' lines: the settlement lines go into the lines'
    own buffers (the table's columns but basis and cumulative basis are views of them), and the table is the one
    of the copying path, bit for bit, dtypes and categories included: random settlements, the first and the
    last employee's only, none, one for an employee without lines (at the end), one, every employee's."""
    from compkit.commission import _ROOMY

    rng = np.random.default_rng(len(case))
    employees = [f"E{i:03d}" for i in range(40)]
    sales = sales_frame([(e, PERIODS[int(rng.integers(12))], str(rng.choice(["funds", "insurance", "loans"])),
                          float(rng.integers(1, 3_000_000))) for e in employees[::2] for _ in range(3)])
    commission = make_commission(gate={"min_composite": 60, "factor_below": 0.5}, cap={"times_annual_base": 0.02})
    lines = commission_lines(sales, commission, PERIODS, employees=employees)
    composite = pd.Series(rng.uniform(40, 100, len(employees)), index=employees)
    s = settle(lines, composite, pd.Series(100_000.0, index=employees), commission)
    if case == "first and last":
        s.loc[employees[1:-1], "settlement"] = 0.0
        s.loc[[employees[0], employees[-1]], "settlement"] = [-12.5, -0.01]
    elif case == "none":
        s["settlement"] = 0.0
    elif case == "without lines":
        s = pd.concat([s, pd.DataFrame({"gross": [0.0], "settlement": [-5.0]},
                                       index=pd.Index(["X999"], name=s.index.name))])
    elif case == "one":
        s["settlement"] = np.where(s.index == employees[17], -3.0, 0.0)
    elif case == "every":
        s["settlement"] = -1.0
    copied = lines_with_settlement(lines.copy(deep=True), s, PERIODS[-1])
    got = lines_with_settlement(lines, s, PERIODS[-1], consume=True)
    pd.testing.assert_frame_equal(got, copied, check_exact=True)
    for col in got.columns:
        assert got[col].dtype == copied[col].dtype
        if isinstance(got[col].dtype, pd.CategoricalDtype):
            assert got[col].cat.categories.dtype == copied[col].cat.categories.dtype
    inserted = (s["settlement"] != 0).sum()
    assert len(got) == len(lines) + inserted
    if case == "without lines":
        assert got["employee_id"].iloc[-1] == "X999" and got["commission"].iloc[-1] == -5.0
    if case != "none":
        own = [got[c].array.codes if isinstance(got[c].dtype, pd.CategoricalDtype) else got[c].to_numpy()
               for c in got.columns if c not in ("basis", "cumulative_basis")]
        assert all(id(v.base) in _ROOMY for v in own)  # in place: no copy of the lines' own columns


def test_lines_are_copied_unless_given_up() -> None:
    """Without ``consume``, or for columns not made with room (a copy, a slice of the lines): the lines are read,
    never written, and the table is the same."""
    employees = ["A", "B", "C"]
    sales = sales_frame([("A", "2025-01", "funds", 1_000_000.0), ("C", "2025-02", "insurance", 2_000_000.0)])
    commission = make_commission(cap={"times_annual_base": 0.01})
    lines = commission_lines(sales, commission, PERIODS, employees=employees)
    s = settle(lines, pd.Series(90.0, index=employees), pd.Series(100_000.0, index=employees), commission)
    assert (s["settlement"] < 0).sum() == 2
    before = lines.copy(deep=True)
    expected = lines_with_settlement(lines, s, PERIODS[-1])
    pd.testing.assert_frame_equal(lines, before, check_exact=True)
    head = lines.iloc[:len(lines) - 5]
    s_head = settle(head, pd.Series(90.0, index=employees), pd.Series(100_000.0, index=employees), commission)
    lines_with_settlement(head, s_head, PERIODS[-1], consume=True)  # (a slice: its columns have no room)
    pd.testing.assert_frame_equal(lines, before, check_exact=True)
    pd.testing.assert_frame_equal(lines_with_settlement(before, s, PERIODS[-1], consume=True), expected,
                                  check_exact=True)
    pd.testing.assert_frame_equal(lines, before, check_exact=True)
    assert _with_room((2, 3), np.float64, 4).base.shape == (10,)


def test_small_positions_worked_example():
    index = pd.Index(["2025-01", "2025-02", "2025-03"])
    text = pd.Series(["2025-03", None, "2025-01", "2024-12"], dtype="string")
    coded = text.astype(pd.CategoricalDtype(["2024-12", "2025-01", "2025-03"]))
    for values in (text, coded):
        got = _small_positions(values, index)
        assert got.dtype == np.int8 and got.tolist() == [2, -1, 0, -1]
        assert got.tolist() == index.get_indexer(values.astype(object)).tolist()


_TABLES = [([math.inf], [0.05]), ([math.inf], [0.0006]), ([300000.0, 1000000.0, math.inf], [0.03, 0.04, 0.05]),
           ([1e6, math.inf], [0.01, 0.02])]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(range(len(_TABLES))), st.sampled_from(["marginal", "retroactive"])),
                min_size=1, max_size=5),
       st.lists(st.one_of(st.floats(-2e7, 2e7), st.sampled_from([0.0, -0.0, 300000.0, 1e6, math.nan])),
                min_size=1, max_size=12))
def test_apply_is_each_products_tiers(products, amounts):
    """Every product's column of the grid is its own tier table applied alone, to the bit (one open tier or
    several, mixed on one grid), and so is a product's padded row of the table applied to its amounts alone."""
    rates = {str(i): ProductRates(str(i), np.array(_TABLES[t][0]), np.array(_TABLES[t][1]), method)
             for i, (t, method) in enumerate(products)}
    grid = np.array(amounts)[:, None] * np.linspace(0.5, 1.5, len(products))[None, :]
    terms = _product_terms(rates)
    got = _apply(grid, terms)
    into = np.full_like(grid, 7.0)  # written into a given array: the same bits
    assert _apply(grid, terms, out=into) is into and np.array_equal(into.view(np.uint64), got.view(np.uint64))
    wide = _wide_rates(terms, (len(grid) + 2, len(products)))  # the rates laid out over more rows than the grid's
    if wide is not None:
        assert np.array_equal(_apply(grid, terms, wide_rates=wide).view(np.uint64), got.view(np.uint64))
    for i, r in enumerate(rates.values()):
        alone = tiered(grid[:, i], (r.bounds, r.rates), r.method)
        assert np.array_equal(got[:, i].view(np.uint64), alone.view(np.uint64))
        # a product's row of the table (padded to the longest table) on amounts of that product alone, as the Monte
        # Carlo applies it (scenarios x people)
        row = _apply(grid[:, i].reshape(-1, 1) * np.ones((1, 3)), terms[i:i + 1])
        assert np.array_equal(row.view(np.uint64), np.repeat(alone[:, None], 3, axis=1).view(np.uint64))


def test_employee_groups_worked_example():
    lines = pd.Series(pd.Categorical.from_codes([0, 0, 2, 2, 2], categories=["a", "b", "c"]))
    codes, employees = _employee_groups(lines)
    assert codes.tolist() == [0, 0, 1, 1, 1] and list(employees) == ["a", "c"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-1, 5), max_size=25), st.booleans(), st.permutations(list("abcdef")))
def test_employee_groups_is_factorize(codes, grouped, labels):
    """The same codes (dtype too) and distinct employees as pd.factorize, lines grouped by employee or not."""
    values = np.array(sorted(codes) if grouped else codes, dtype=np.int8)
    lines = pd.Series(pd.Categorical.from_codes(values, categories=labels))
    expected_codes, expected = pd.factorize(lines)
    got_codes, got = _employee_groups(lines)
    assert got_codes.dtype == expected_codes.dtype and got_codes.tolist() == expected_codes.tolist()
    assert type(got) is type(expected) and got.dtype == expected.dtype and list(got) == list(expected)


# ------------------------------------------------------------------ texts read from their bytes (private helpers)

TEXTS = st.one_of(st.none(), st.sampled_from(["", "a", "ab", "趸交", "期交3", "期交10", "活期", "L2161066", "L21610660",
                                              "ab\x00", "abcdefgh", "abcdefghi", "定期存款账户"]), st.text(max_size=10))


def _arrow_column(texts: list, cuts: list[int], large: bool) -> pd.Series:
    """``texts`` as an Arrow text column in chunks cut at ``cuts``, each chunk a slice of a larger array."""
    import pyarrow as pa
    from pandas.arrays import ArrowStringArray
    kind = pa.large_string() if large else pa.string()
    bounds = sorted({0, len(texts), *[c % (len(texts) + 1) for c in cuts]})
    chunks = [pa.array(["pad"] + texts[a:b] + ["pad"], type=kind).slice(1, b - a) for a, b in zip(bounds, bounds[1:])]
    arrow = pa.chunked_array(chunks or [pa.array([], type=kind)], type=kind)
    column = pd.Series(ArrowStringArray(arrow))
    column.array._pa_array = arrow  # (pandas holds large strings; the helpers read 32-bit offsets too)
    return column


def test_text_words_worked_example() -> None:
    column = _arrow_column(["ab", "", None, "abcdefghij"], [], large=True)
    words, lengths = _text_words(column, np.array([0, 1, 2, 3, 0]))
    assert lengths.tolist() == [2, 0, -1, 10, 2]
    assert words.tolist()[:2] == [0x6261, 0] and words[3] == int.from_bytes(b"abcdefgh", "little")
    assert _text_words(pd.Series(["ab"], dtype=object), np.array([0])) is None


@settings(max_examples=80, deadline=None)
@given(st.lists(TEXTS, min_size=1, max_size=30), st.lists(st.integers(0, 40), max_size=4), st.booleans(),
       st.lists(st.integers(0, 10 ** 6), max_size=40), st.lists(TEXTS.filter(lambda t: t is not None), max_size=5))
def test_label_positions_are_the_texts_positions_among_the_labels(texts, cuts, large, picks, labels) -> None:
    """Equal to looking each row's text up among the labels (any chunks, repeated and unordered rows)."""
    labels = list(dict.fromkeys(labels))
    column = _arrow_column(texts, cuts, large)
    rows = np.array([p % len(texts) for p in picks], dtype=np.int64)
    got = _label_positions(column, rows, labels)
    words = {label.encode().rstrip(b"\x00") for label in labels}
    if any(len(label.encode()) > 8 for label in labels) or len(words) < len(labels):
        assert got is None  # (a long label, or two differing only in trailing NUL bytes: the Arrow way)
        return
    expected = [labels.index(texts[r]) if texts[r] in labels else -1 for r in rows]
    assert got is not None and got.tolist() == expected


@settings(max_examples=80, deadline=None)
@given(st.lists(TEXTS, min_size=1, max_size=30), st.lists(st.integers(0, 40), max_size=4), st.booleans(),
       st.lists(st.integers(0, 10 ** 6), max_size=40), st.lists(st.booleans(), min_size=40, max_size=40))
def test_dated_loan_codes_group_the_rows_as_their_loan_ids(texts, cuts, large, picks, dated) -> None:
    """Rows whose loan id is that of a dated row get a code, equal codes exactly for equal ids; others -1 (as the
    Arrow look-up of the taken ids, which long ids still take)."""
    column = _arrow_column(texts, cuts, large)
    rows = np.array([p % len(texts) for p in picks], dtype=np.int64)
    dated = np.array(dated[:len(rows)], dtype=bool)
    codes = _dated_loan_codes(column, rows, dated)
    ids = [texts[r] for r in rows]
    wanted = {ids[i] for i in range(len(rows)) if dated[i] and ids[i] is not None}
    assert [c >= 0 for c in codes] == [i in wanted for i in ids]
    for i in range(len(rows)):
        for j in range(len(rows)):
            if codes[i] >= 0 and codes[j] >= 0:
                assert (codes[i] == codes[j]) == (ids[i] == ids[j])


def test_rows_with_a_label() -> None:
    values = pd.Series(["x", "y", None, "x"], dtype="category")
    assert _rows_with(values, "x").tolist() == [0, 3]
    assert _rows_with(values, "z").tolist() == []
    assert _rows_with(values.astype(object), "x").tolist() == [0, 3]
    assert _rows_with(values.astype("string"), "y").tolist() == [1]


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 9), st.integers(1, 4), st.integers(0, 2 ** 32 - 1), st.integers(1, 4))
def test_true_ups_by_blocks_are_those_of_the_whole_grid(n_e, block, seed, n_p) -> None:
    """C_t, the lines and paid to date worked out a block of employees at a time are, bit for bit, those of the
    whole grid at once (as lines_from_bases wrote them), a product's C_t given (special) included."""
    import compkit.commission as commission
    rng = np.random.default_rng(seed)
    terms = _product_terms(product_rates(Commission(products=[
        {"id": "a", "rate": 0.01},
        {"id": "b", "method": "retroactive", "tiers": [{"upto": 1000, "rate": 0.01}, {"rate": 0.02}]},
        {"id": "c", "rate_per_10k": 6}])))
    cum_basis = np.cumsum(np.round(rng.normal(500, 900, (n_e, n_p, 3)), 2), axis=1)
    given = rng.normal(0, 30, (n_e, n_p))
    special = {2: lambda rows: given[rows]}
    cum = _apply(cum_basis, terms)
    cum[:, :, 2] = given
    rounded = whole_cents(cum)
    line_c = rounded.copy()
    line_c[:, 1:] -= rounded[:, :-1]
    paid_c = rounded - line_c
    saved = commission._TRUE_UP_BLOCK
    commission._TRUE_UP_BLOCK = block
    try:
        got = _true_ups(cum_basis, terms, special)
    finally:
        commission._TRUE_UP_BLOCK = saved
    for g, e in zip(got, (cum, (line_c / 100.0 + 0.0).ravel(), (paid_c / 100.0 + 0.0).ravel()), strict=True):
        assert g.shape == e.shape and np.array_equal(g.view(np.uint64), e.view(np.uint64))


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 6), st.integers(1, 5), st.lists(st.one_of(
    st.integers(-10 ** 6, 10 ** 6).map(float), st.sampled_from([0.0, -0.0, np.nan, np.inf, 2.0 ** 52, -2.0 ** 51])),
    min_size=30, max_size=30), st.booleans())
def test_cents_per_employee_is_bincount(n, m, cents, ragged) -> None:
    """Each employee's sum of whole cents: bincount's bits, lines in rows of m per employee or not."""
    codes = np.repeat(np.arange(n), m)
    if ragged and len(codes) > 1:
        codes = np.sort(np.r_[codes[1:], n - 1])  # one line moved to the last employee: not rows of m
    values = np.resize(np.array(cents), len(codes))
    got = _cents_per_employee(values, codes, n, grouped=True)
    expected = np.bincount(codes, weights=values, minlength=n)
    assert np.array_equal(got.view(np.uint64), expected.view(np.uint64))


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 6), st.integers(1, 5), st.lists(st.one_of(
    st.integers(-10 ** 6, 10 ** 6).map(lambda c: c / 100.0),
    st.sampled_from([0.004, -0.005, 0.015, -0.0, np.nan, np.inf, 2.0 ** 45, -2.0 ** 44])), min_size=30, max_size=30),
    st.booleans(), st.sampled_from([1, 2, 7, 1 << 16]))
def test_line_cents_per_employee_is_the_whole_tables(n, m, amounts, ragged, block) -> None:
    """Each employee's sum of its lines' whole cents, the grid a few lines at a time: the bits of the whole
    table's cents summed by _cents_per_employee (rows of m per employee or not; NaN, infinite and too large
    amounts too)."""
    import compkit.commission as commission

    codes = np.repeat(np.arange(n), m)
    if ragged and len(codes) > 1:
        codes = np.sort(np.r_[codes[1:], n - 1])  # one line moved to the last employee: not rows of m
    values = np.resize(np.array(amounts), len(codes))
    cents = np.rint(values * 100.0)
    expected = _cents_per_employee(cents, codes, n, grouped=True)
    saved, commission._ROW_BLOCK = commission._ROW_BLOCK, block
    try:
        got = _line_cents_per_employee(values, codes, n, grouped=True)
    finally:
        commission._ROW_BLOCK = saved
    assert np.array_equal(got.view(np.uint64), expected.view(np.uint64))


def test_the_lines_worked_out_in_small_blocks_are_the_same(sample, bank_policy, monkeypatch) -> None:
    """commission_bases' steps over the sales rows and the true-ups, worked out a few rows or employees at a time,
    give the commission table of the whole arrays at once, bit for bit (the sample with its credited deals)."""
    import compkit.commission as commission
    from compkit.credits import split_credits

    def lines() -> pd.DataFrame:
        split = split_credits(sample.sales, sample.credits)
        ids = sample.employees["employee_id"].astype(str).tolist()
        return commission_lines(split, bank_policy.commission, sample.periods, employees=ids, metrics=sample.metrics)

    whole = lines()
    monkeypatch.setattr(commission, "_ROW_BLOCK", 7)
    monkeypatch.setattr(commission, "_TRUE_UP_BLOCK", 3)
    blocks = lines()
    assert list(blocks.columns) == list(whole.columns)
    for column in whole.columns:
        a, b = whole[column].to_numpy(), blocks[column].to_numpy()
        assert (a.view(np.uint64) == b.view(np.uint64)).all() if a.dtype == np.float64 else (a == b).all()


@settings(max_examples=60, deadline=None)
@given(st.permutations(list(range(6))), st.booleans(), st.lists(st.integers(-1, 5), max_size=40), st.integers(1, 4))
def test_recoded_is_the_tables_entries(order, identity, codes, block) -> None:
    """Each code's entry of the table (code -1: the trailing -1), whatever the block size; codes as they are when
    the table gives each code itself."""
    import compkit.commission as commission
    table = np.array((list(range(6)) if identity else list(order)) + [-1], dtype=np.int8)
    values = np.array(codes, dtype=np.int8)
    saved = commission._ROW_BLOCK
    commission._ROW_BLOCK = block
    try:
        got = _recoded(table, values)
    finally:
        commission._ROW_BLOCK = saved
    assert got.dtype == np.int8 and got.tolist() == table[values].tolist()


def test_employee_index_is_the_ids_as_text() -> None:
    """The same Index (ids, dtype, name) as pd.Index of the ids as Python strings: every category in order (the
    categories themselves), some of them, categories held as objects or as pandas' NA text, none."""
    for categories in (pd.Index(["e1", "e2", "e3"]), pd.Index(["e1", "e2", "e3"], dtype=object),
                       pd.Index(["e1", "e2", "e3"], dtype="string"), pd.Index([3, 1, 2])):
        for codes in ([0, 1, 2], [0, 2], []):
            uniques = pd.CategoricalIndex(pd.Categorical.from_codes(codes, categories=categories))
            expected = pd.Index(np.asarray(uniques, dtype=object), name="employee_id")
            got = _employee_index(uniques)
            assert got.dtype == expected.dtype and got.name == "employee_id" and got.equals(expected)
            assert list(got) == list(expected)


def _plain_bases(amount: np.ndarray, flat: np.ndarray, shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(basis, cumulative basis) as commission_bases summed them before the fractions of a cent were kept apart:
    every row's whole cents and every row's fraction summed over the whole grid, the fractions' running sums too."""
    size = shape[0] * shape[1] * shape[2]
    cents = np.rint(amount * 100.0)
    basis = np.bincount(flat, weights=cents, minlength=size).astype("float64").reshape(shape)
    cum = np.cumsum(basis, axis=1) / 100.0
    basis = basis / 100.0
    rest = amount - cents / 100.0
    if (rest != 0.0).any():
        rest_sum = np.bincount(flat, weights=rest, minlength=size).reshape(shape)
        basis = basis + rest_sum
        cum = cum + np.cumsum(rest_sum, axis=1)
    return basis, cum


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3), st.integers(0, 1), st.one_of(
    st.integers(-10 ** 8, 10 ** 8).map(lambda c: c / 100.0), st.integers(-10 ** 9, 10 ** 9).map(lambda m: m / 1000.0),
    st.sampled_from([0.0, -0.0, 0.004, -0.005, 1e-9, 2.0 ** 40 + 0.5]))), max_size=40),
    st.integers(1, 5), st.booleans())
def test_cents_and_fractions_kept_apart_are_the_sums_of_every_row(rows, block, in_place) -> None:
    """The whole cents summed over the grid and the few rows' fractions of a cent added to their (employee,
    product) pairs' months: the bases and cumulative bases of every row's cents and fractions summed over the
    whole grid, bit for bit, whatever the block of rows (amounts to the cent, to a tenth of a cent, -0.0, none)."""
    import compkit.commission as commission
    from compkit.commission import _add_rest, _cents_and_rest

    shape = (3, 4, 2)
    flat = np.array([(e * 4 + p) * 2 + q for e, p, q, _ in rows], dtype=np.int64)
    amount = np.array([a for *_, a in rows], dtype="float64")
    expected = _plain_bases(amount, flat, shape)
    given_amount = amount.copy()
    saved = commission._ROW_BLOCK
    commission._ROW_BLOCK = block
    try:
        cents, cells, rest = _cents_and_rest(given_amount, flat, given_amount if in_place else None)
    finally:
        commission._ROW_BLOCK = saved
    assert (cents is given_amount) == in_place
    assert np.array_equal(cents, np.rint(amount * 100.0))
    assert in_place or np.array_equal(given_amount, amount)  # (not written unless given as the output)
    fractions = amount - np.rint(amount * 100.0) / 100.0
    assert np.array_equal(cells, flat[fractions != 0.0]) and np.array_equal(rest, fractions[fractions != 0.0])
    basis = np.bincount(flat, weights=cents, minlength=24).astype("float64").reshape(shape)
    cum = np.cumsum(basis, axis=1) / 100.0
    basis /= 100.0
    if len(cells):
        _add_rest(basis, cum, cells, rest)
    for got, want in zip((basis, cum), expected, strict=True):
        assert np.array_equal(got.view(np.uint64), want.view(np.uint64))


def test_fractions_of_a_cent_worked_example() -> None:
    """Amounts 1.25, 0.125 and -3.0 -> cents 125, 12 and -300; only 0.125 has a fraction, 0.125 - 0.12 = 0.005."""
    from compkit.commission import _cents_and_rest

    cents, cells, rest = _cents_and_rest(np.array([1.25, 0.125, -3.0]), np.array([4, 9, 4]))
    assert cents.tolist() == [125.0, 12.0, -300.0] and cells.tolist() == [9]
    assert rest.tolist() == [0.125 - 0.12]


def test_commission_lines_with_fractions_of_a_cent_and_coefficients() -> None:
    """Sales given to a tenth of a cent, a product with a coefficient (its amounts x 0.3: fractions of a cent),
    an NPL reversal: the lines as the plain sums give them (the bases of every row's cents and fractions)."""
    from compkit.commission import commission_bases

    raw = load_policy(Path(__file__).resolve().parents[1] / "data" / "policies" / "2025.yaml").commission
    sales = pd.DataFrame({
        "employee_id": ["A", "A", "B", "B", "A", "B"],
        "period": ["2025-01", "2025-02", "2025-01", "2025-03", "2025-03", "2025-02"],
        "product": ["fee_income", "fee_income", "insurance", "fee_income", "loans", "insurance"],
        "amount": [100.005, 0.001, 333.33, 7.25, 5000.0, 10.0],
        "payment_term": ["趸交", None, "期交5", None, None, "趸交"],
        "deposit_type": [None] * 6, "baseline": [np.nan] * 6, "deal_id": [f"D{i}" for i in range(6)],
        "loan_id": [None, None, None, None, "L1", None],
        "npl_date": pd.to_datetime([None, None, None, None, "2025-03-20", None]),
        "ftp_spread": [np.nan] * 6, "customer_id": ["c"] * 6})
    months = ["2025-01", "2025-02", "2025-03"]
    bases = commission_bases(sales, raw, months, employees=["A", "B"])
    # the plain sums: each row's amount x its factor, the reversal's amount negated in its NPL month
    products = pd.Index(bases.products)
    factor = np.ones(len(sales))
    for pr in raw.products:
        if pr.coefficients is not None:
            rows = (sales["product"] == pr.id).to_numpy()
            f = sales[pr.coefficients.column]
            factor[rows] = [pr.coefficients.values.get(v, pr.coefficients.default or 0.0) for v in f[rows]]
    amount = sales["amount"].to_numpy() * factor
    e = sales["employee_id"].map({"A": 0, "B": 1}).to_numpy()
    p = sales["period"].map({m: i for i, m in enumerate(months)}).to_numpy()
    q = sales["product"].map({pid: i for i, pid in enumerate(products)}).to_numpy()
    flat = (e * 3 + p) * len(products) + q
    flat = np.r_[flat, (0 * 3 + 2) * len(products) + products.get_loc("loans")]  # the loan reversed in March
    amount = np.r_[amount, -5000.0]
    basis, cum = _plain_bases(amount, flat, (2, 3, len(products)))
    assert np.array_equal(bases.basis.view(np.uint64), basis.view(np.uint64))
    assert np.array_equal(bases.cumulative_basis.view(np.uint64), cum.view(np.uint64))
    assert bases.basis[0, 0, products.get_loc("fee_income")] == 100.005


def _plain_npl_reversals(loan_ids: list, npl_dates: list, periods: list, rows: list, months: int) -> list:
    """npl_reversals row by row: a loan's NPL date is the earliest over its rows (of ``rows``) with one; a row of
    month m is reversed when first-of-m <= that date < first-of-m + ``months`` months: (row, NPL month)."""
    first: dict = {}
    for r in rows:
        if loan_ids[r] is not None and npl_dates[r] is not None:
            first[loan_ids[r]] = min(first.get(loan_ids[r], npl_dates[r]), npl_dates[r])
    out = []
    for r in rows:
        d = first.get(loan_ids[r]) if loan_ids[r] is not None else None
        start = pd.Timestamp(periods[r] + "-01")
        if d is not None and start <= d < start + pd.DateOffset(months=months):
            out.append((r, d.strftime("%Y-%m")))
    return out


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([None, "L1", "L2", "L10", "L2161066", "L216106600", "贷款7"]),
                          st.one_of(st.none(), st.integers(0, 500)), st.integers(0, 11)), min_size=1, max_size=30),
       st.lists(st.integers(0, 10 ** 6), max_size=40), st.sampled_from([1, 3, 12]), st.booleans(), st.booleans())
def test_npl_reversals_are_the_loans_earliest_dates_in_their_windows(data, picks, months, arrow, categorical) -> None:
    """npl_reversals (only the rows of the dated loans worked on) reverses the rows that the plain rule row by row
    reverses, in their NPL months: loan ids as Arrow text (short and long) or Python strings, rows repeated and
    unordered, loans without a date, rows without a loan id, months as text or a categorical."""
    from compkit.commission import npl_reversals

    loan_ids = [loan for loan, _, _ in data]
    npl_dates = [None if day is None else pd.Timestamp("2025-01-01") + pd.Timedelta(days=day) for _, day, _ in data]
    periods = [f"2025-{m + 1:02d}" for *_, m in data]
    rows = [p % len(data) for p in picks]
    sales = pd.DataFrame({"loan_id": pd.Series(loan_ids, dtype="string" if arrow else object),
                          "npl_date": pd.to_datetime(pd.Series(npl_dates, dtype=object)),
                          "period": pd.Series(periods, dtype="category" if categorical else object)})
    product = make_commission(products=[{"id": "loans", "rate_per_10k": 6, "npl_clawback": {"months": months}}]
                              ).products[0]
    hit, month = npl_reversals(sales, product, np.array(rows, dtype=np.int64))
    assert list(zip(hit.tolist(), month.tolist(), strict=True)) == [
        (r, m) for r, m in _plain_npl_reversals(loan_ids, npl_dates, periods, rows, months)]


def test_rare_word_positions_with_many_keys_are_the_plain_look_up() -> None:
    """With more keys than the 16-bit flags take (a 20-bit hash instead), the texts' positions among the keys as
    the look-up of every text gives them."""
    from compkit.commission import _word_positions

    rng = np.random.default_rng(7)
    keys = np.unique(rng.integers(0, 2 ** 63, 6000, dtype=np.int64).astype(np.uint64))
    key_lengths = np.full(len(keys), 8, dtype=np.int64)
    words = np.concatenate([keys[rng.integers(0, len(keys), 3000)],
                            rng.integers(0, 2 ** 63, 50000, dtype=np.int64).astype(np.uint64)])
    lengths = np.where(rng.random(len(words)) < 0.1, 7, 8).astype(np.int64)
    got = _word_positions(words, lengths, keys, key_lengths, rare=True)
    expected = _word_positions(words, lengths, keys, key_lengths)
    assert got.dtype == np.int32 and np.array_equal(got, expected) and (got >= 0).sum() > 2000


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 2), st.integers(0, 2), st.one_of(
    st.integers(-10 ** 8, 10 ** 8).map(lambda c: c / 100.0), st.integers(-10 ** 9, 10 ** 9).map(lambda m: m / 1000.0),
    st.sampled_from([0.0, -0.0, 0.005, 1e14, np.nan]))), max_size=40),
    st.integers(0, 40), st.integers(1, 6), st.lists(st.integers(0, 39), max_size=6), st.booleans())
def test_cents_by_blocks_are_the_sums_over_every_cell(rows, in_order, block, reversed_rows, factor) -> None:
    """The grid of whole cents and the fractions of a cent summed a block of rows at a time (the first
    ``in_order`` rows sorted by employee, the rest as they come) are those of every row's cell at once, bit for bit
    (products 1 with a factor, 2 with NPL reversals into month 2), whatever the block, large sums (1e14 CNY) and
    NaN included."""
    import compkit.commission as commission
    from compkit.commission import _cents_by_blocks, _cents_by_cells

    head = sorted(rows[:in_order], key=lambda r: r[0])
    rows = head + rows[in_order:]
    e = np.array([r[0] for r in rows], dtype=np.int32)
    p = np.array([r[1] for r in rows], dtype=np.int8)
    q = np.array([r[2] for r in rows], dtype=np.int8)
    amount = np.array([r[3] for r in rows], dtype="float64")
    shape = (5, 3, 3)
    factors = {}
    if factor:
        ones = np.flatnonzero(q == 1)
        factors[1] = ones, ones, np.linspace(0.1, 1.5, len(ones))
    twos = np.flatnonzero(q == 2)
    hit = np.unique(twos[[r % len(twos) for r in reversed_rows]]) if len(twos) else twos
    reversals = [(2, hit, np.full(len(hit), 2, dtype=np.int32))]
    expected = _cents_by_cells(e, p, q, np.ones(len(e), dtype=bool), amount, factors, reversals, shape)
    saved = commission._ROW_BLOCK
    commission._ROW_BLOCK = block
    try:
        got = _cents_by_blocks(e, p, q, amount, factors, reversals, shape)
    finally:
        commission._ROW_BLOCK = saved
    assert np.array_equal(amount, [r[3] for r in rows], equal_nan=True)  # (the amounts not written)
    for a, b in zip(got, expected, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert np.array_equal(a.view(np.uint64) if a.dtype == np.float64 else a,
                              b.view(np.uint64) if b.dtype == np.float64 else b)


def test_cents_by_blocks_worked_example() -> None:
    """Employees 0, 0, 1 then 0 again (a split row): 1.005 and 2.0 into (0, month 0), 3.0 into (1, month 1),
    4.0 into (0, month 0): 100 + 200 + 400 cents and 300; the fraction 0.005 - 0 of 1.005 (100 cents, 1.00) kept
    apart at its cell 0."""
    from compkit.commission import _cents_by_blocks

    e, p, q = np.array([0, 0, 1, 0]), np.array([0, 0, 1, 0]), np.array([0, 0, 0, 0])
    grid, cells, rest = _cents_by_blocks(e, p, q, np.array([1.005, 2.0, 3.0, 4.0]), {}, [], (2, 2, 1))
    assert grid.reshape(-1).tolist() == [700.0, 0.0, 0.0, 300.0]
    assert cells.tolist() == [0] and rest.tolist() == [1.005 - 1.0]


def test_cents_by_blocks_add_in_row_order_as_bincount() -> None:
    """Sums that float64 cannot hold exactly (2**53 cents, then 1 cent, then -2**53 cents into one cell) come out
    as bincount's: the cents added one after another in row order, from 0, whatever the blocks."""
    import compkit.commission as commission
    from compkit.commission import _cents_by_blocks, _cents_by_cells

    big = 2.0 ** 53 / 100.0
    amount = np.array([big, 0.01, -big, 0.01, big])
    e, p, q = np.zeros(5, dtype=np.int32), np.zeros(5, dtype=np.int8), np.zeros(5, dtype=np.int8)
    expected = _cents_by_cells(e, p, q, np.ones(5, dtype=bool), amount, {}, [], (1, 1, 1))
    for block in (1, 2, 5):
        saved = commission._ROW_BLOCK
        commission._ROW_BLOCK = block
        try:
            got = _cents_by_blocks(e, p, q, amount, {}, [], (1, 1, 1))
        finally:
            commission._ROW_BLOCK = saved
        assert got[0].view(np.uint64).tolist() == expected[0].view(np.uint64).tolist()
    assert expected[0].tolist() != [[[np.rint(big * 100.0) + 2.0]]]  # (not the exact sum: the order counts)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 9), st.sampled_from([0, 1, 2, 12]), st.integers(1, 3), st.integers(1, 4), st.lists(
    st.one_of(st.integers(-10 ** 12, 10 ** 12).map(float), st.sampled_from([0.0, -0.0, np.nan, np.inf, 2.0 ** 53])),
    min_size=1, max_size=50))
def test_running_sums_in_cny_are_cumsum_over_100(n_e, n_p, n_q, block, values) -> None:
    """The running sums over the months in CNY and the grid divided by 100 in place: np.cumsum(axis=1) / 100 and
    the grid / 100, bit for bit, whatever the block of employees (no months, one, 12; -0.0, NaN, inf)."""
    import compkit.commission as commission
    from compkit.commission import _running_sums_in_cny

    cents = np.resize(np.array(values), n_e * n_p * n_q).reshape(n_e, n_p, n_q)
    expected_cum, expected = np.cumsum(cents, axis=1) / 100.0, cents / 100.0
    saved = commission._GRID_BLOCK
    commission._GRID_BLOCK = block
    try:
        cum = _running_sums_in_cny(cents)
    finally:
        commission._GRID_BLOCK = saved
    assert cum.shape == cents.shape and cum.view(np.uint64).tolist() == expected_cum.view(np.uint64).tolist()
    assert cents.view(np.uint64).tolist() == expected.view(np.uint64).tolist()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2), st.one_of(
    st.integers(-10 ** 9, 10 ** 9).map(lambda m: m / 1000.0), st.sampled_from([np.nan, -0.0, 1e15]))), max_size=30),
    st.integers(1, 5))
def test_baseline_cells_a_block_at_a_time_are_the_bincount(rows, block) -> None:
    """Each employee x month's baselines x factors (a missing baseline 0), added a block of rows at a time: the
    bincount of every row at once, bit for bit, whatever the block."""
    import compkit.commission as commission
    from compkit.commission import _baseline_cells

    e = np.array([r[0] for r in rows], dtype=np.int32)
    p = np.array([r[1] for r in rows], dtype=np.int8)
    values = np.array([r[2] for r in rows], dtype="float64")
    factor = np.linspace(0.5, 1.5, len(rows))
    at = np.arange(len(rows))
    weights = np.where(np.isnan(values), 0.0, values) * factor
    expected = np.bincount(e.astype(np.int64) * 3 + p, weights=weights, minlength=12).reshape(4, 3)
    saved = commission._ROW_BLOCK
    commission._ROW_BLOCK = block
    try:
        got = _baseline_cells(values, factor, at, e, p, 4, 3)
    finally:
        commission._ROW_BLOCK = saved
    assert got.shape == (4, 3) and got.view(np.uint64).tolist() == expected.view(np.uint64).tolist()


@pytest.mark.parametrize("employees", [["E1", "E2"], ["E2"], [f"E{i}" for i in range(300)]])
def test_lines_grid_codes_are_employee_month_product(employees) -> None:
    """The table's lines: employee e, month t, product q at line (e x n_p + t) x n_q + q, their codes in the
    smallest integers that hold the positions (int16 from 128 employees)."""
    from compkit.commission import commission_bases, lines_from_bases

    sales = sales_frame([("E1", "2025-01", "insurance", 800_000.0), ("E2", "2025-02", "wealth", 12_000_000.0)])
    base = make_commission()
    lines = lines_from_bases(commission_bases(sales, base, PERIODS, employees=employees), base)
    n_e, n_p, n_q = len(employees), len(PERIODS), len(lines["product"].cat.categories)
    expected = (np.repeat(np.arange(n_e), n_p * n_q), np.tile(np.repeat(np.arange(n_p), n_q), n_e),
                np.tile(np.arange(n_q), n_e * n_p))
    for column, want in zip(("employee_id", "period", "product"), expected, strict=True):
        codes = lines[column].cat.codes.to_numpy()
        assert codes.tolist() == want.tolist()
    assert lines["employee_id"].cat.codes.dtype == (np.int8 if n_e <= 127 else np.int16)
    assert lines["employee_id"].astype(str).tolist()[:: n_p * n_q] == employees


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2), st.sampled_from(["q", "x"]), st.one_of(
    st.integers(-10 ** 9, 10 ** 9).map(lambda m: m / 100.0), st.sampled_from([np.nan, -0.0, 0.0, 1e15]))),
    max_size=20), st.booleans())
def test_monthly_targets_are_the_sums_per_cell(rows, categorical) -> None:
    """The quota indicator's targets per employee x month: each cell's sum from 0.0 in row order (bincount), NaN
    where it has no target (a missing target, another indicator, an id or month off the grid: none), bit for bit,
    with one row per cell (the data contract's keys) or several, categorical columns or text."""
    from compkit.commission import monthly_targets

    employees, periods = pd.Index(["E0", "E1", "E2"]), pd.Index(["2025-01", "2025-02"])
    ids = ["E0", "E1", "E2", "E9"]
    months = ["2025-01", "2025-02", "2025-03"]
    metrics = pd.DataFrame({"employee_id": [ids[e] for e, _, _, _ in rows],
                            "period": [months[p] for _, p, _, _ in rows],
                            "indicator": [i for _, _, i, _ in rows],
                            "target": np.array([t for _, _, _, t in rows], dtype="float64")})
    if categorical:
        for col in ("employee_id", "period", "indicator"):
            metrics[col] = metrics[col].astype("category")
    expected = np.full((3, 2), np.nan)
    for e, p, i, t in rows:
        if i == "q" and e < 3 and p < 2 and not np.isnan(t):
            expected[e, p] = (0.0 if np.isnan(expected[e, p]) else expected[e, p]) + t
    got = monthly_targets(metrics, "q", employees, periods)
    assert got.view(np.uint64).tolist() == expected.view(np.uint64).tolist()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-3, 5), max_size=40), st.sampled_from([np.int8, np.int16, np.int32]),
       st.sampled_from([1, 2, 3, 1 << 16]))
def test_steps_of_zero_or_one_are_the_diffs(codes, kind, block) -> None:
    """Each code the one before or the next, a block at a time (any block size, blocks meeting anywhere): np.diff's
    steps all 0 or 1."""
    import compkit.commission as commission
    from compkit.commission import _steps_of_zero_or_one

    values = np.array(codes, dtype=kind)
    saved, commission._ROW_BLOCK = commission._ROW_BLOCK, block
    try:
        got = _steps_of_zero_or_one(values)
    finally:
        commission._ROW_BLOCK = saved
    assert got == bool(np.isin(np.diff(np.array(codes)), [0, 1]).all())


def test_steps_of_zero_or_one_worked_example() -> None:
    from compkit.commission import _steps_of_zero_or_one

    assert _steps_of_zero_or_one(np.array([0, 0, 1, 1, 1, 2], dtype=np.int32))
    assert not _steps_of_zero_or_one(np.array([0, 2], dtype=np.int8))
    assert not _steps_of_zero_or_one(np.array([1, 0], dtype=np.int16))
