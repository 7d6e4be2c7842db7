"""compkit.review: review metrics, policy comparison, Monte Carlo simulation and sensitivity."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import POLICY_2026

from compkit import review
from compkit.engine import evaluate
from compkit.policy import load_policy


@pytest.fixture()
def out(tiny, policy):
    return evaluate(policy, tiny)


def test_gini_worked_examples() -> None:
    # equal amounts: 0; one person has everything among 4: (2x4 - 4 - 1) x 1 / (4 x 1) = 3/4
    assert review.gini(np.array([5.0, 5.0, 5.0])) == 0.0
    assert review.gini(np.array([0.0, 0.0, 0.0, 1.0])) == pytest.approx(0.75)
    # 1, 2, 3: sum_i (2i - 4) x_i = -2 x 1 + 0 x 2 + 2 x 3 = 4; / (3 x 6) = 0.2222
    assert review.gini(np.array([3.0, 1.0, 2.0])) == pytest.approx(4 / 18)


def test_cost_by_component_adds_up_to_employer_cost(out, policy) -> None:
    table = review.cost_by_component(out, budget=600_000.0)
    parts = table[table["component"] != "total"]["amount"].sum()
    total = table.loc[table["component"] == "total", "amount"].item()
    assert total == pytest.approx(parts, abs=0.005)
    assert total == pytest.approx(out.summary["employer_cost"].sum(), abs=0.005)
    assert table.loc[table["component"] == "total", "variance"].item() == pytest.approx(total - 600_000.0)


def test_concentration_of_commission(out) -> None:
    # commission 17,500 / 1,500 / 16,800 / 0; top 10% of 4 people = the top 1 person: 17,500 / 35,800
    c = review.concentration(out)
    assert c["top10_share"] == pytest.approx(17_500 / 35_800)
    assert 0 < c["gini"] < 1


def test_compare_lists_changes_and_costs(out, tiny, policy) -> None:
    candidate = load_policy(POLICY_2026)
    cmp = review.compare(policy, candidate, tiny, before=out)
    assert {c.path for c in cmp.changes} >= {"version", "commission.products[insurance].tiers[0].upto"}
    # the cost change by component equals the change of the per-person sums
    total = cmp.cost.loc[cmp.cost["component"] == "total"]
    assert total["change"].item() == pytest.approx(
        cmp.after.summary["employer_cost"].sum() - out.summary["employer_cost"].sum(), abs=0.01)
    # E1 sold 1.2M insurance: the first tier now reaches 1.5M at 1%: 12,000 instead of 13,000
    per = cmp.per_person.set_index("employee_id")
    e1_comm = cmp.after.summary.set_index("employee_id").loc["E1", "commission"]
    assert e1_comm == 17_500.00 - 1_000.00
    assert set(per["outcome"]) <= {"winner", "loser", "unchanged"}
    assert int(cmp.migrations.to_numpy().sum()) == 4


def test_simulation_without_change_reproduces_this_year(out, tiny, policy) -> None:
    sim = review.simulate(policy, tiny, n=5, seed=3, growth=0.0, market_sd=0.0, individual=False, base=out)
    assert (sim.costs["bonus"].round(2) == round(out.summary["bonus"].sum(), 2)).all()
    assert (sim.costs["commission"] == out.summary["commission"].sum()).all()


def test_simulation_is_seeded_and_reports_percentiles(out, tiny, policy) -> None:
    a = review.simulate(policy, tiny, n=60, seed=11, base=out, budget=600_000.0)
    b = review.simulate(policy, tiny, n=60, seed=11, base=out, budget=600_000.0)
    c = review.simulate(policy, tiny, n=60, seed=12, base=out, budget=600_000.0)
    assert a.costs.equals(b.costs)
    assert not a.costs.equals(c.costs)
    pct = a.percentiles.set_index("component")
    assert (pct["P5"] <= pct["P50"]).all() and (pct["P50"] <= pct["P95"]).all()
    assert a.prob_over_budget == pytest.approx(float((a.costs["total"] > 600_000.0).mean()))


def test_sensitivity_moves_cost_the_right_way(out, tiny, policy) -> None:
    table = review.sensitivity(policy, tiny, base=out)
    rates = table[table["knob"].str.contains("commission rate")]
    assert (rates["cost_low"] <= rates["base_cost"]).all() and (rates["cost_high"] >= rates["base_cost"]).all()
    # insurance rates x 1.1: E1's 13,000 becomes 14,300 and E4's (net 0) stays 0: +1,300
    ins = table.set_index("knob").loc["insurance commission rate ±10%"]
    assert ins["cost_high"] - ins["base_cost"] == pytest.approx(1_300.0, abs=0.01)


def test_attainment_and_pay_for_performance(out) -> None:
    att = review.attainment(out).set_index("indicator")
    # E1, E2 on target, E3 above, E4 at half: 3 of 4 reach 100% of the deposits target
    assert att.loc["deposits_adb", "reached_target"] == pytest.approx(0.75)
    pfp = review.pay_for_performance(out)
    assert set(pfp["by_rating"]["rating"]) <= {"A", "B", "C", "D", "E"}
