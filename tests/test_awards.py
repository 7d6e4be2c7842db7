"""Special awards (单项奖 / 专项激励), worked by hand on the tiny dataset."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from compkit.awards import award_lines
from compkit.data import dataset_from_tables
from compkit.engine import evaluate
from compkit.errors import PolicyError
from compkit.policy import policy_from_dict
from compkit.supervision import reconciliation
from tests.conftest import tiny_tables

AWARDS = [
    {"id": "best_newcomer", "name": "最佳新人奖", "measure": "composite", "among": "new_hires", "winners": 1,
     "amount": 5000},
    {"id": "deposit_growth", "name": "存款增长奖", "measure": "indicator_growth", "indicator": "deposits_adb",
     "within": "region", "winners": 1, "amount": 8000},
    {"id": "insurance_drive", "name": "保险营销竞赛", "measure": "sales", "product": "insurance",
     "period": ["2025-01", "2025-02"], "min_value": 1_000_000, "rate": 0.002},
    {"id": "top_score", "measure": "composite", "winners": 1, "min_composite": 100, "amount": 3000},
]


def _with_awards(policy, awards):
    return policy_from_dict({**policy.to_dict(), "awards": awards})


@pytest.fixture(scope="module")
def grown(policy):
    """Tiny, with E1's deposits rising to 23,000,000 in December (growth 3,000,000 over January's 20,000,000);
    E3's stay at 24,000,000 (growth 0)."""
    t = tiny_tables()
    m = t["metrics"]
    m.loc[(m["employee_id"] == "E1") & (m["period"] == "2025-12") & (m["indicator"] == "deposits_adb"),
          "actual"] = 23_000_000.0
    return dataset_from_tables(t, policy=policy)


def test_awards_worked_example(policy, grown) -> None:
    """best_newcomer: E2 is the only one hired within 12 months of 2025-12-31 (2025-07-01) -> 5,000.
    deposit_growth (region East): E1 +3,000,000, E3 0 (not above 0: no award), E2 joined in July (no January
    figure), E4 left -> E1 8,000. insurance_drive: January-February insurance sales E1 600,000 + 600,000 =
    1,200,000 >= 1,000,000 -> 0.002 x 1,200,000 = 2,400.00; E4 sold 300,000 but left. top_score: the highest
    composite among those at 100 or more: E3 (120% of every target)."""
    p = _with_awards(policy, AWARDS)
    out = evaluate(p, grown)
    lines = out.awards
    got = {(r.award, r.employee_id): r.amount for r in lines.itertuples()}
    assert got == {("best_newcomer", "E2"): 5000.0, ("deposit_growth", "E1"): 8000.0,
                   ("insurance_drive", "E1"): 2400.0, ("top_score", "E3"): 3000.0}
    growth = lines.set_index("award").loc["deposit_growth"]
    assert growth["value"] == 3_000_000.0 and growth["group"] == "East" and growth["award_name"] == "存款增长奖"
    s = out.summary.set_index("employee_id")
    assert s["awards"].to_dict() == {"E1": 10400.0, "E2": 5000.0, "E3": 3000.0, "E4": 0.0}
    # awards are part of total cash and employer cost; every total still adds up to the cent
    base = evaluate(policy, grown).summary.set_index("employee_id")
    assert np.allclose(s["total_cash"] - base["total_cash"], [10400.0, 5000.0, 3000.0, 0.0])
    assert np.allclose(s["employer_cost"] - base["employer_cost"], [10400.0, 5000.0, 3000.0, 0.0])
    assert out.reconcile() == []
    checks = reconciliation(grown, out).set_index("check")
    assert checks["ok"].all()
    assert checks.loc["award lines", "outputs"] == 18_400.0 and out.totals()["awards"] == 18_400.0


def test_ties_at_the_last_place_all_win(policy, grown) -> None:
    """Fee income scores: E3 (120% of target) highest, E1 and E2 both exactly on target (100): the top 2 are E3
    and both of E1 and E2 (ties at the last place all win: rank "min")."""
    p = _with_awards(policy, [{"id": "tie", "measure": "indicator_score", "indicator": "fee_income", "winners": 1,
                               "amount": 100}])
    lines = award_lines(p, grown, evaluate(policy, grown).summary, evaluate(policy, grown).indicators)
    # fee income scores: E3 at 120% scores highest and wins alone
    assert list(lines["employee_id"]) == ["E3"]
    p = _with_awards(policy, [{"id": "tie", "measure": "indicator_score", "indicator": "fee_income", "winners": 2,
                               "amount": 100}])
    out = evaluate(p, grown)
    assert sorted(out.awards["employee_id"]) == ["E1", "E2", "E3"]  # E1 and E2 tie for second
    assert list(out.awards["rank"]) == [1.0, 2.0, 2.0]


def test_no_awards_no_lines(policy, grown) -> None:
    out = evaluate(policy, grown)
    assert len(out.awards) == 0 and (out.summary["awards"] == 0).all()


@pytest.mark.parametrize("award, message", [
    ({"id": "x", "measure": "sales", "product": "gold", "winners": 1, "amount": 1},
     "awards[0].product: unknown product 'gold'"),
    ({"id": "x", "measure": "indicator_growth", "indicator": "satisfaction", "winners": 1, "amount": 1},
     "awards[0].indicator: unknown indicator 'satisfaction'"),
    ({"id": "x", "measure": "indicator_score", "indicator": "nps", "winners": 1, "amount": 1},
     "awards[0].indicator: unknown indicator 'nps'"),
    ({"id": "x", "measure": "sales", "winners": 1, "amount": 1}, "measure sales needs 'product'"),
    ({"id": "x", "measure": "composite", "amount": 1}, "say who wins"),
    ({"id": "x", "measure": "composite", "winners": 1}, "an award pays something"),
    ({"id": "x", "measure": "sales", "product": "funds", "winners": 1, "amount": 1, "period": ["2025-13", "2025-12"]},
     "period: '2025-13' is not a month"),
    ({"id": "x", "measure": "sales", "product": "funds", "winners": 1, "amount": 1, "period": ["2025-12", "2025-10"]},
     "period: 2025-12 is after 2025-10"),
])
def test_bad_awards_are_policy_errors(policy, award, message) -> None:
    with pytest.raises(PolicyError, match=re.escape(message)):
        _with_awards(policy, [award])


def test_awards_on_the_sample(bank_policy, sample) -> None:
    """One deposit-growth winner per region of the sample, each with the largest growth of the region."""
    policy = bank_policy  # the sample's policy
    p = _with_awards(policy, [AWARDS[1]])
    out = evaluate(p, sample)
    lines = out.awards
    regions = sample.employees["region"].astype(str).unique()
    assert sorted(lines["group"]) == sorted(regions)
    m = sample.metrics[sample.metrics["indicator"].astype(str) == "deposits_adb"]
    wide = m.pivot_table(index=m["employee_id"].astype(str), columns="period", values="actual", observed=True)
    growth = (wide["2025-12"] - wide["2025-01"]).rename("growth")
    emp = sample.employees.assign(employee_id=sample.employees["employee_id"].astype(str)).set_index("employee_id")
    active = emp["exit_date"].isna()
    frame = pd.concat([growth, emp["region"].astype(str)], axis=1)[active].dropna()
    best = frame.sort_values("growth").groupby("region").tail(1)
    assert set(lines["employee_id"]) == set(best.index)
    assert out.reconcile() == []


def test_statements_show_awards_and_add_up(policy, grown) -> None:
    from compkit.feedback import render_statements, statement_contents

    p = _with_awards(policy, AWARDS)
    st = statement_contents(p, grown, lang="en")
    e1 = st.people.set_index("employee_id").loc["E1"]
    assert e1["awards"] == 10_400.0 and e1["award_names"] == "存款增长奖、保险营销竞赛"
    parts = e1["base_pay"] + e1["allowances"] + e1["commission"] + e1["bonus_paid"] + e1["awards"]
    assert round(parts, 2) == e1["total_cash"]
    page = render_statements(st, p)["E1"]
    assert "Special awards (存款增长奖、保险营销竞赛)" in page and "10,400.00" in page
    assert "Special awards" not in render_statements(statement_contents(policy, grown, lang="en"), policy)["E1"]


def test_ranks_within_groups_and_scenarios_ties_at_their_best_place() -> None:
    from compkit.awards import award_amounts, ranks
    from compkit.policy import Award

    # two scenarios, five people in groups 0, 0, 0, 1, 1; person 2 is not eligible in scenario 0
    value = np.array([[10.0, 30.0, 30.0, 5.0, 7.0],
                      [10.0, 30.0, 40.0, 7.0, 7.0]])
    ok = np.array([[True, True, False, True, True], [True] * 5])
    group = np.array([0, 0, 0, 1, 1])
    r = ranks(value, ok, group)
    # scenario 0, group 0: 30 (1st), 10 (2nd); person 2 has no rank; group 1: 7 (1st), 5 (2nd)
    assert np.isnan(r[0, 2])
    assert r[0, [0, 1, 3, 4]].tolist() == [2.0, 1.0, 2.0, 1.0]
    # scenario 1, group 0: 40, 30, 10 -> 1, 2, 3; group 1: a tie at 7 -> both rank 1 ("min")
    assert r[1].tolist() == [3.0, 2.0, 1.0, 1.0, 1.0]
    award = Award(id="x", measure="composite", winners=1, amount=100.0, rate=0.5)
    won, amount, _ = award_amounts(award, value, ok, group)
    # winners: scenario 0 persons 1 and 4; scenario 1 persons 2, 3 and 4 (the tie wins); amount 100 + 0.5 x value
    assert won.tolist() == [[False, True, False, False, True], [False, False, True, True, True]]
    assert amount.tolist() == [[0.0, 115.0, 0.0, 0.0, 103.5], [0.0, 0.0, 120.0, 103.5, 103.5]]
