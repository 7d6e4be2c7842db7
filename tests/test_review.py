"""compkit.review: review metrics, policy comparison, Monte Carlo simulation and sensitivity."""
from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from conftest import POLICY_2026
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compkit import review
from compkit.engine import Kept, evaluate
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
    sim = review.simulate(policy, tiny, n=5, seed=3, growth=0.0, market_sd=0.0, individual=False, base=out,
                          next_year_cost=False)
    s = out.summary
    for component in ("bonus_paid", "bonus_deferred", "commission_paid", "commission_deferred", "base_pay",
                      "allowances", "employer_contributions"):
        assert (sim.costs[component] == round(s[component].sum(), 2)).all(), component
    assert (sim.costs["total"] == round(s["employer_cost"].sum(), 2)).all()


@pytest.fixture(scope="module")
def small(policy, tmp_path_factory):
    """60 generated managers in 3 regions and several branches: enough for guided quotas within groups."""
    from compkit.data import load_dataset
    from compkit.sample import make_sample

    folder = tmp_path_factory.mktemp("small") / "d"
    make_sample(60, 2025, seed=7, policy=policy).write(folder)
    return load_dataset(folder, policy=policy)


BY_RATING = {"A": 1.5, "B": 1.2, "C": 1.0, "D": 0.5, "E": 0.0}


@st.composite
def policy_variants(draw):
    """Changes to the shipped policy over every option simulate must honour."""
    changes = {
        "commission.accumulate": draw(st.sampled_from(["month", "cycle_to_date"])),
        "commission.products[insurance].method": draw(st.sampled_from(["marginal", "retroactive"])),
        "commission.products[wealth].method": draw(st.sampled_from(["marginal", "retroactive"])),
        "commission.gate": draw(st.sampled_from([None, {"min_composite": 60, "factor_below": 0.5},
                                                 {"min_composite": 90, "factor_below": 0.0}])),
        "commission.cap": draw(st.sampled_from([None, {"times_annual_base": 1.5}, {"times_annual_base": 0.05}])),
        "ratings.method": draw(st.sampled_from(["absolute", "guided"])),
        "ratings.guided.within": draw(st.sampled_from(["all", "region", "branch"])),
        "bonus.deferral.applies_to": draw(st.sampled_from(["all", "key_roles"])),
        "bonus.deferral.share": draw(st.sampled_from([0.4, 0.5])),
        "bonus.deferral.components": draw(st.sampled_from([["bonus"], ["bonus", "commission"]])),
    }
    if draw(st.booleans()):
        changes["bonus.basis"] = "rating"
        changes["bonus.by_rating"] = BY_RATING
    if draw(st.booleans()):
        changes["new_hire_protection"] = {"months": 6, "min_payout": 1.0}
    extra = draw(st.sampled_from(["none", "pool", "wage_bill", "wage_bill_results"]))
    if extra == "pool":
        changes["bonus.pool"] = {"amount": draw(st.sampled_from([100_000.0, 123_456.78]))}
    elif extra == "wage_bill":
        changes["wage_bill"] = {"amount": 150_000.0, "headcount_weight": 1.0,
                                "people": draw(st.sampled_from(["bonus", "composite"]))}
    elif extra == "wage_bill_results":  # unit results, an inverse indicator (NPL ratio) included
        changes["wage_bill"] = {"amount": 123_456.78, "headcount_weight": 0.3, "cap": 1.2,
                                "people": draw(st.sampled_from(["bonus", "composite"])),
                                "scorecard": [{"indicator": "ftp_profit", "weight": 0.5},
                                              {"indicator": "npl_ratio", "weight": 0.3},
                                              {"indicator": "deposits_adb", "weight": 0.2}]}
    if draw(st.booleans()):
        changes["awards"] = draw(st.sampled_from(AWARD_SETS))
    return changes


AWARD_SETS = [  # every measure, group and eligibility rule of compkit.awards
    [{"id": "best", "measure": "composite", "within": "region", "winners": 1, "amount": 5000.0},
     {"id": "newcomer", "measure": "composite", "among": "new_hires", "new_hire_months": 12, "winners": 2,
      "amount": 3000.0}],
    [{"id": "growth", "measure": "indicator_growth", "indicator": "deposits_adb", "winners": 2, "amount": 8000.0},
     {"id": "fees", "measure": "indicator_score", "indicator": "fee_income", "within": "branch", "winners": 1,
      "amount": 1000.0, "min_composite": 70.0},
     {"id": "comms", "measure": "indicator_score", "indicator": "communication", "winners": 3, "amount": 500.0}],
    [{"id": "campaign", "measure": "sales", "product": "insurance", "period": ["2025-01", "2025-06"],
      "min_value": 100_000.0, "rate": 0.002}],
]


@given(changes=policy_variants(), which=st.sampled_from(["tiny", "small"]))
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_simulation_without_change_equals_evaluate_for_policy_variants(changes, which, tiny, small, policy) -> None:
    # growth 0, no market shock, no individual change: every scenario is this year, through the engine's
    # calculators, so each component equals evaluate's to the cent (whatever the policy's options)
    variant = policy.updated(changes)
    data = tiny if which == "tiny" else small
    out = evaluate(variant, data)
    sim = review.simulate(variant, data, n=3, seed=1, growth=0.0, market_sd=0.0, individual=False, base=out,
                          next_year_cost=False, batch=2)
    s = out.summary
    for component in ("bonus_paid", "bonus_deferred", "commission_paid", "commission_deferred"):
        assert (sim.costs[component] == round(s[component].sum(), 2)).all(), (component, changes)
    if variant.awards:
        assert (sim.costs["awards"] == round(s["awards"].sum(), 2)).all(), changes
    assert (sim.costs["total"] == round(s["employer_cost"].sum(), 2)).all(), changes


def test_scenarios_have_their_own_seeds(out, tiny, policy) -> None:
    # a scenario draws from default_rng([seed, scenario]): the same whatever the batch size
    a = review.simulate(policy, tiny, n=7, seed=5, base=out, batch=7)
    b = review.simulate(policy, tiny, n=7, seed=5, base=out, batch=2)
    assert a.costs.equals(b.costs)


def test_a_batch_holds_at_most_max_batch_cells_person_scenarios(out, tiny, policy, monkeypatch) -> None:
    # at most 2 x people + 1 person-scenarios a batch: batches of 2 scenarios, whatever is asked;
    # the result is the one of any other batch size
    free = review.simulate(policy, tiny, n=7, seed=5, base=out, batch=3)
    assert free.settings["batch"] == 3
    monkeypatch.setattr(review, "MAX_BATCH_CELLS", 2 * free.settings["people"] + 1)
    capped = review.simulate(policy, tiny, n=7, seed=5, base=out, batch=50)
    assert capped.settings["batch"] == 2
    assert capped.costs.equals(free.costs)


def test_next_year_cost_applies_the_salary_review_and_promotions(out, tiny, policy) -> None:
    # the people employed at the cycle's end (E1, E2, E3; E4 left in March), for a full year, at next year's
    # bases: this year's salary review result, moved into the new grade's band on a promotion
    ny = review.next_year(policy, tiny, out)
    s = out.summary.set_index("employee_id")
    assert list(tiny.employees["employee_id"].iloc[ny.rows]) == ["E1", "E2", "E3"]
    expected = s.loc[["E1", "E2", "E3"], "new_base_monthly"].to_numpy().copy()
    # E3 is promoted SCM -> RM: 13,000 x (1 + raise) is below the RM band's minimum 15,000, so 15,000
    assert list(s.loc[["E1", "E2", "E3"], "promotion"]) == ["none", "none", "promote"]
    assert expected[2] < 15_000
    expected[2] = 15_000.0
    assert list(ny.grade) == ["CM2", "CM1", "RM"]
    assert ny.base_monthly == pytest.approx(expected)
    # base: sum of new monthly base x 12 (fte 1); allowances 400 + 500 + 200 a month x 12 for each of the 3
    assert ny.fixed["base_pay"] == pytest.approx(round(float(expected.sum() * 12), 2), abs=0.01)
    assert ny.fixed["allowances"] == pytest.approx(3 * 1_100 * 12)
    # attrition 10%: on average 5% of the year at the grade's entry pay instead of the person's own
    ny10 = review.next_year(policy, tiny, out, attrition=0.10)
    mins = np.array([8000, 6000, 15000], dtype=float)  # CM2, CM1, RM band minimums
    assert ny10.fixed["base_pay"] == pytest.approx(float((expected * 0.95 + mins * 0.05).sum() * 12), abs=0.01)
    # hiring 10% of 3 people = 0.3 people at entry pay for half a year on average, spread like the headcount
    hired = review.next_year(policy, tiny, out, hiring=0.10)
    assert hired.fixed["base_pay"] - ny.fixed["base_pay"] == pytest.approx(0.1 * mins.sum() * 12 * 0.5, abs=0.01)


def test_next_year_contributions_on_the_bases_the_law_sets(out, tiny, policy) -> None:
    """Next year's employer 五险一金 on last year's average wage, reset in July (issue 13). E1, employed all year:
    January-June on this cycle's July-December contribution wage 9,500 (within floor 7,384 / cap 36,921);
    July-December on this cycle's average monthly wage 172,419.64 / 12 = 14,368.30. Employer rates: pension
    16%, medical 9%, unemployment 0.5%, injury 0.16%, housing fund 7%, each month rounded to the cent:
    9,500 -> 1,520.00 + 855.00 + 47.50 + 15.20 + 665.00 = 3,102.70 a month;
    14,368.30 -> 2,298.93 + 1,293.15 + 71.84 + 22.99 + 1,005.78 = 4,692.69 a month;
    6 x 3,102.70 + 6 x 4,692.69 = 46,772.34 (the base salary alone, 9,500 x 1.0x raise, would say far less)."""
    s = out.summary.set_index("employee_id")
    assert s.loc["E1", "total_cash"] == pytest.approx(172_419.64)
    assert out.benefits.set_index("employee_id").loc["E1", "wage_h2"] == 9_500.0
    ny = review.next_year(policy, tiny, out)
    rows = list(tiny.employees["employee_id"].iloc[ny.rows])
    per_person = review._next_year_contributions(policy, tiny, out, ny.rows, ny.base_monthly,
                                                 np.ones(len(rows)), 12)
    assert per_person[rows.index("E1")] == pytest.approx(46_772.34, abs=0.005)
    assert ny.fixed["employer_contributions"] == pytest.approx(float(per_person.sum()), abs=0.005)


def test_next_year_cost_is_above_this_years_with_the_raises(out, tiny, policy) -> None:
    sim = review.simulate(policy, tiny, n=4, seed=1, growth=0.0, market_sd=0.0, individual=False, base=out)
    ny = review.next_year(policy, tiny, out)
    assert (sim.costs["base_pay"] == ny.fixed["base_pay"]).all()
    assert sim.settings["people"] == 3


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


def test_sensitivity_costs_are_those_of_full_evaluations(out, tiny, policy) -> None:
    """The settings after the first take the kept scorecard (engine.Kept): each cost is, to the bit, the sum of
    the employer cost of a full evaluation of the knob's policy."""
    table = review.sensitivity(policy, tiny, base=out)
    knobs = review.default_knobs(policy)
    assert len(table) == len(knobs) >= 3
    for k, row in zip(knobs, table.itertuples(), strict=True):
        for x, got in ((k.low, row.cost_low), (k.high, row.cost_high)):
            assert got == float(evaluate(k.apply(policy, x), tiny).summary["employer_cost"].sum()), (k.name, x)


def test_sensitivity_leaves_aside_a_kept_of_other_data(out, tiny, policy, monkeypatch) -> None:
    """sensitivity(kept=...) with a Kept filled on another Dataset (the same tables): it does not fit, so the first
    setting is evaluated in full and the others take its stages, as without a Kept (the same costs)."""
    expected = review.sensitivity(policy, tiny, base=out)
    other = Kept()
    evaluate(policy, copy.copy(tiny), kept=other)
    filling = []
    real = review.evaluate

    def counting(p, data, **kw):  # the evaluations that fill a Kept (the full ones)
        k = kw.get("kept")
        filling.append(k is None or k.policy is None)
        return real(p, data, **kw)

    monkeypatch.setattr(review, "evaluate", counting)
    pd.testing.assert_frame_equal(review.sensitivity(policy, tiny, base=out, kept=other), expected)
    assert sum(filling) == 1 and len(filling) == 2 * len(expected)


def test_attainment_and_pay_for_performance(out) -> None:
    att = review.attainment(out).set_index("indicator")
    # E1, E2 on target, E3 above, E4 at half: 3 of 4 reach 100% of the deposits target
    assert att.loc["deposits_adb", "reached_target"] == pytest.approx(0.75)
    pfp = review.pay_for_performance(out)
    # one row per rating held by someone employed in the cycle, with everyone counted once
    employed = out.summary[out.summary["days_share"] > 0]
    assert sorted(pfp["by_rating"]["rating"].astype(str)) == sorted(employed["rating"].dropna().astype(str).unique())
    assert pfp["by_rating"]["n"].sum() == employed["rating"].notna().sum()


def test_simulation_on_a_dask_cluster_is_identical_to_one_process(out, tiny, policy) -> None:
    distributed = pytest.importorskip("dask.distributed")
    here = review.simulate(policy, tiny, n=9, seed=4, base=out, batch=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        there = review.simulate(policy, tiny, n=9, seed=4, base=out, batch=2, client=client)
        by_address = review.simulate(policy, tiny, n=9, seed=4, base=out, batch=4, client=cluster.scheduler_address)
    pd.testing.assert_frame_equal(here.costs, there.costs, check_exact=True)
    pd.testing.assert_frame_equal(here.costs, by_address.costs, check_exact=True)


def test_the_cluster_gets_no_employee_ids(out, tiny, policy) -> None:
    """What the simulation sends to a Dask cluster (the scattered inputs) holds row numbers where the ids were;
    the batches, priced from those inputs, give the same costs (a client that runs each task where it is called)."""
    sent: list = []

    class Here:  # the part of distributed.Client that simulate uses
        def scatter(self, objects, broadcast=False):
            sent.extend(objects)
            return objects

        def submit(self, fn, *args, pure=True):
            return fn(*args)

        def gather(self, futures):
            return list(futures)

    here = review.simulate(policy, tiny, n=9, seed=4, base=out, batch=2)
    there = review.simulate(policy, tiny, n=9, seed=4, base=out, batch=2, client=Here())
    pd.testing.assert_frame_equal(here.costs, there.costs, check_exact=True)
    inputs = sent[0]
    assert inputs.employee_ids.tolist() == list(range(inputs.people))
    ids = set(tiny.employees["employee_id"].astype(str))
    assert not any(isinstance(v, np.ndarray) and v.dtype == object and ids & set(map(str, v.ravel()))
                   for v in vars(inputs).values())


def test_simulation_and_sensitivity_in_processes_are_identical_to_one_process(out, tiny, policy) -> None:
    """Batches of 2 scenarios over 2 forked processes, and the sensitivity's settings over 2: the same numbers."""
    here = review.simulate(policy, tiny, n=9, seed=4, base=out, batch=2)
    forked = review.simulate(policy, tiny, n=9, seed=4, base=out, batch=2, processes=2)
    pd.testing.assert_frame_equal(here.costs, forked.costs, check_exact=True)
    pd.testing.assert_frame_equal(review.sensitivity(policy, tiny, base=out),
                                  review.sensitivity(policy, tiny, base=out, processes=2), check_exact=True)


def test_headline_figures_come_from_the_review_tables(policy) -> None:
    # hand-made review tables: the figures are read from them, never recomputed in the notebook
    cost = pd.DataFrame({"component": ["base_pay", "total"], "amount": [400_000.0, 612_345.67]})
    comparison = review.Comparison.__new__(review.Comparison)
    comparison.cost = pd.DataFrame({"component": ["bonus", "total"], "change": [10.0, 12_000.0],
                                    "change_pct": [1.0, 1.96]})
    simulation = review.Simulation(pd.DataFrame({"total": [1.0, 2.0, 3.0]}), 700_000.0,
                                   pd.DataFrame({"component": ["total"], "P5": [1.0], "P50": [650_000.0],
                                                 "P95": [720_000.0]}), 0.25, settings={"n": 3})
    attain = pd.DataFrame({"indicator": ["a", "b", "c", "d"], "people": [4, 4, 4, 0],
                           "reached_target": [0.25, 0.5, 1.0, 0.0]})
    pfp = {"by_rating": pd.DataFrame({"rating": ["A", "B", "C"], "mean_pay": [300_000.0, 250_000.0, 200_000.0]})}
    candidate = policy.updated({"version": "2026-test"})
    h = review.headline_figures(policy, candidate, cost, comparison, simulation, attain, pfp, 600_000.0)
    assert h["total"] == 612_345.67 and h["budget"] == 600_000.0
    assert h["change"] == 12_000.0 and h["change_pct"] == 1.96 and h["candidate_version"] == "2026-test"
    assert (h["p50"], h["p95"], h["prob_over"], h["scenarios"]) == (650_000.0, 720_000.0, 0.25, 3)
    # the median over indicators with people: median(0.25, 0.5, 1.0) = 0.5 (d has nobody: left out)
    assert h["reach"] == 0.5
    # labels A..E: top A, middle labels[5 // 2] = C; spread 300,000 / 200,000 = 1.5
    assert h["top"] == policy.ratings.names.get("A", "A") and h["mid"] == policy.ratings.names.get("C", "C")
    assert h["spread"] == 1.5
    # the words and flags take these figures as they are
    from compkit import present

    heads = present.review_headlines(present.Presenter("en", policy.currency), **h)
    assert len(heads) == 5


def test_next_year_takes_the_pay_on_the_new_grade_from_the_evaluation(out, tiny, policy) -> None:
    # next year's base after a promotion is the engine's placement (summary promotion_base_monthly,
    # compkit.career.place_on_new_grade), not a second rule: a placement the band clip would not give shows it
    s = out.summary.copy()
    e1 = s.index[s["employee_id"] == "E1"][0]
    s.loc[e1, ["promotion", "promotion_to", "promotion_base_monthly"]] = ["promote", "SCM", 12_345.67]
    changed = type(out)(**{**out.__dict__, "summary": s})
    ny = review.next_year(policy, tiny, changed)
    ids = tiny.employees["employee_id"].to_numpy()[ny.rows].tolist()
    assert ny.base_monthly[ids.index("E1")] == 12_345.67 and ny.grade[ids.index("E1")] == "SCM"
    # E1 is full time: 12,345.67 x 12 of next year's annual base
    assert ny.annual_base_full[ids.index("E1")] == pytest.approx(12_345.67 * 12)


@pytest.mark.parametrize("accumulate", ["cycle_to_date", "month"])
def test_simulation_pays_balance_and_quota_products_as_evaluate(tmp_path, accumulate) -> None:
    # the example bank scheme: deposits and holdings on monthly balances (with the increase over last year),
    # funds on quota-relative tiers, scorecards by line and pay steps; with growth 0 and no shock each
    # scenario's commission, bonus and total are evaluate's
    from pathlib import Path

    from conftest import bank_tiny_tables, write_tables

    from compkit.data import load_dataset
    from compkit.policy import load_policy

    bank = load_policy(Path(__file__).resolve().parents[1] / "data" / "policies" / "examples" / "bank-scheme.yaml")
    bank = bank.updated({"commission.accumulate": accumulate})
    t = bank_tiny_tables()
    data = load_dataset(write_tables(t, tmp_path / "bank"), policy=bank)
    out = evaluate(bank, data)
    sim = review.simulate(bank, data, n=2, seed=1, growth=0.0, market_sd=0.0, individual=False, base=out,
                          next_year_cost=False)
    # and the bonus on people paid by their pay step (E1 step 4, E2 step 2, E3 step 3), so the total too
    for component in ("commission_paid", "commission_deferred", "bonus_paid", "bonus_deferred"):
        assert (sim.costs[component] == round(out.summary[component].sum(), 2)).all(), component
    assert (sim.costs["total"] == round(out.summary["employer_cost"].sum(), 2)).all()


def test_winners_and_losers_by_group_of_keys() -> None:
    # East/CM1: +300 (winner) and -100 (loser): n 2, median (300 - 100) / 2 = 100, total 200;
    # East/CM2: +0 (unchanged); West/CM1: +50 (winner)
    per = pd.DataFrame({"region": ["East", "East", "East", "West"], "grade": ["CM1", "CM1", "CM2", "CM1"],
                        "change": [300.0, -100.0, 0.0, 50.0], "change_pct": [3.0, -1.0, 0.0, 0.5],
                        "outcome": ["winner", "loser", "unchanged", "winner"]})
    t = review.winners_losers(per, ["region", "grade"])
    assert t[["region", "grade"]].values.tolist() == [["East", "CM1"], ["East", "CM2"], ["West", "CM1"]]
    assert t["n"].tolist() == [2, 1, 1] and t["winners"].tolist() == [1, 0, 1] and t["losers"].tolist() == [1, 0, 0]
    assert t["median_change"].tolist() == [100.0, 0.0, 50.0] and t["total_change"].tolist() == [200.0, 0.0, 50.0]
    assert t["median_change_pct"].tolist() == [1.0, 0.0, 0.5]


def test_sensitivity_names_each_knob_in_the_readers_language(tiny, policy) -> None:
    """The tornado chart's labels: the knob in words in the policy's language (Chinese), English with lang='en';
    the knob's name stays the key."""
    from compkit import knobs

    one = [knobs.knob("commission.cap.times_annual_base", name="cap", low=2.0, high=3.0, label="封顶")]
    assert review.sensitivity(policy, tiny, knobs=one)["label"].tolist() == ["封顶"]
    labels = {k.name: k.label for k in review.default_knobs(policy)}
    assert labels["insurance commission rate ±10%"] == "代理保险提成费率 ±10%"
    assert labels["commission gate ±5 points"] == "提成门槛 ±5 个综合得分"
    english = {k.name: k.label for k in review.default_knobs(policy, "en")}
    assert english["insurance commission rate ±10%"] == "Bancassurance commission rate ±10%"


def test_wage_bill_illustration_shares_out_this_years_bonus(sample, bank_policy) -> None:
    """wage_bill_illustration: a policy without a wage bill gets the illustrative one, whose amount is this year's
    bonus paid + deferred (worked example: the totals' sum) and no bonus pool; one with a wage bill gets none.
    Evaluated from the policy's kept stages (a wage bill leaves the scorecard, the split, the lines and the career
    alone: compkit.engine.KEPT_SECTIONS) it is the full evaluation, bit for bit, as the review works it out."""
    from compkit.engine import Kept

    kept = Kept()
    base = evaluate(bank_policy, sample, kept=kept)
    shown = review.wage_bill_illustration(bank_policy, base)
    totals = base.totals()
    assert shown is not None and shown.bonus.pool is None
    assert shown.wage_bill.amount == totals["bonus_paid"] + totals["bonus_deferred"]
    assert [u.indicator for u in shown.wage_bill.scorecard] == ["ftp_profit", "deposits_adb", "npl_ratio"]
    assert [c.path.split(".")[0] for c in bank_policy.diff(shown)] == ["wage_bill"] * len(bank_policy.diff(shown))
    assert review.wage_bill_illustration(shown, base) is None
    assert kept.fits(shown, sample, None)
    got = evaluate(shown, sample, kept=kept, tables=review.WAGE_BILL_TABLES)
    full = evaluate(shown, sample)
    for name in review.WAGE_BILL_TABLES:
        pd.testing.assert_frame_equal(getattr(got, name), getattr(full, name), check_exact=True, obj=name)
    assert len(got.allocation) and bool((got.allocation["paid"] == got.allocation["pool"]).all())


def test_sensitivity_from_the_stages_of_the_base_evaluation(tiny, policy) -> None:
    """sensitivity(kept=...): a Kept filled by the policy's own evaluation (the review's, kept) gives every setting
    its stages, none evaluated in full: the same costs, bit for bit, as the sensitivity on its own."""
    from unittest import mock

    from compkit import engine
    from compkit.engine import Kept

    kept = Kept()
    base = evaluate(policy, tiny, kept=kept)
    full_evaluations = []
    real = engine.evaluate

    def counting(p, data, *args, kept=None, **kwargs):
        if kept is None or not kept.fits(p, data, None):
            full_evaluations.append(p.version)
        return real(p, data, *args, kept=kept, **kwargs)

    with mock.patch.object(review, "evaluate", counting):
        got = review.sensitivity(policy, tiny, base=base, kept=kept)
    assert full_evaluations == []
    pd.testing.assert_frame_equal(got, review.sensitivity(policy, tiny, base=base), check_exact=True)
