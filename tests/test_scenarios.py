"""compkit.scenarios: the engine's calculators over stacked scenarios.

Products on a balance and products with quota tiers go through the engine's own rule
(compkit.commission.special_cents) on the scenario's bases: a scenario that moves their volumes by a factor f
pays what evaluate pays on data whose amounts are x f, tiers and quota bands crossed included.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, bank_tiny_tables, write_tables
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compkit import scenarios
from compkit.data import Dataset, load_dataset
from compkit.engine import evaluate
from compkit.money import to_cents
from compkit.policy import Policy, load_policy

BANK = ROOT / "data" / "policies" / "examples" / "bank-scheme.yaml"
FACTORS = [0.5, 0.8, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0]


@pytest.fixture(scope="module")
def bank() -> Policy:
    return load_policy(BANK)


@pytest.fixture(scope="module")
def bank_data(bank, tmp_path_factory) -> Dataset:
    """The example bank's tiny tables (conftest.bank_tiny_tables: E1's deposits on a 10,000,000 baseline, E3's
    holdings, E1's funds against a monthly quota of 100,000, E2's funds without a target) and E1's holdings
    of 3,000,000 from April to June, so a quota on holdings has a person with a target."""
    t = bank_tiny_tables()
    more = pd.DataFrame({"employee_id": "E1", "period": ["2025-04", "2025-05", "2025-06"], "product": "holdings",
                         "amount": 3_000_000.0, "deal_id": ["H1", "H2", "H3"], "customer_id": "C9"})
    t["sales"] = pd.concat([t["sales"], more], ignore_index=True)
    return load_dataset(write_tables(t, tmp_path_factory.mktemp("bank") / "d"), policy=bank)


def scaled(data: Dataset, factor: np.ndarray, products: list[str]) -> Dataset:
    """The dataset with each sales row's amount x factor[employee, product] (employees in the employees
    table's order, products in the policy's); last year's balance (``baseline``) unchanged."""
    sales = data.sales.copy()
    e = pd.Index(data.employees["employee_id"].astype(str)).get_indexer(sales["employee_id"].astype(str))
    q = pd.Index(products).get_indexer(sales["product"].astype(str))
    sales["amount"] = sales["amount"].to_numpy(dtype="float64") * factor[e, q]
    return dataclasses.replace(data, sales=sales)


def scenario_and_evaluate(policy: Policy, data: Dataset, factor: np.ndarray):
    """(scenario's commission of the special products b x n x s in cents, its paid and deferred commission,
    evaluate's outcomes on the scaled data); the scenario's composite is the scaled evaluation's (indicators
    from sales move with the amounts), so the gate reads the same score."""
    base = evaluate(policy, data)
    inp = scenarios.prepare(policy, data, base)
    after = evaluate(policy, scaled(data, factor, inp.products))
    comp = after.summary["composite"].to_numpy(dtype="float64")[None]
    special = scenarios.special_cents(inp, factor[None])
    paid, deferred = scenarios.commission(inp, comp, factor[None])
    return inp, special, paid[0], deferred[0], after


def lines_cents(after, employee: str, product: str) -> int:
    lines = after.commission
    mine = lines[(lines["employee_id"].astype(str) == employee).to_numpy()
                 & (lines["product"].astype(str) == product).to_numpy()]
    return int(to_cents(mine["commission"].to_numpy()).sum())


def test_a_higher_volume_crosses_the_quota_bands_as_evaluate_does(bank, bank_data) -> None:
    # E1's funds: 1,000,000 against the cycle's target 12 x 100,000 = 1,200,000 (quota ``to_date`` under
    # cycle_to_date: the target through December is the cycle's). Bands (x base rate 0.3%): to 80% x0, to 100%
    # x1, to 150% x1.5, above x2, marginal.
    #   f = 1:   attainment 0.8333: 0.003 x (1,000,000 - 960,000) x 1                          =   120.00
    #   f = 1.5: attainment 1.25:   0.003 x (240,000 x 1 + (1,500,000 - 1,200,000) x 1.5)      = 2,070.00
    # (scaling this year's 120 by 1.5 would have said 180.)
    # E1's deposits (balance, 10 元 per 万元 a year plus 30 on the increase over the baseline, paid monthly):
    # bases 18,000,000 (Jan, 活期 x1.5) and 6,000,000 (Feb, 定期 x0.5), baselines 15,000,000 and 5,000,000
    #   f = 1:   (18,000 + 0.003 x 3,000,000) / 12 + (6,000 + 0.003 x 1,000,000) / 12 = 2,250 + 750 = 3,000.00
    #   f = 0.8: bases 14,400,000 and 4,800,000 are below the baselines: no increase:
    #            14,400 / 12 + 4,800 / 12 = 1,200 + 400                                         = 1,600.00
    # (scaling 3,000 by 0.8 would have said 2,400.)
    products = [p.id for p in bank.commission.products]
    factor = np.ones((4, len(products)))
    factor[0, products.index("funds")] = 1.5
    factor[0, products.index("deposits")] = 0.8
    inp, special, paid, deferred, after = scenario_and_evaluate(bank, bank_data, factor)
    at = {sp.product.id: i for i, sp in enumerate(inp.special)}
    assert special[0, 0, at["funds"]] == 207_000 == lines_cents(after, "E1", "funds")
    assert special[0, 0, at["deposits"]] == 160_000 == lines_cents(after, "E1", "deposits")
    s = after.summary
    assert (to_cents(paid) == to_cents(s["commission_paid"].to_numpy())).all()
    assert (to_cents(deferred) == to_cents(s["commission_deferred"].to_numpy())).all()


@st.composite
def special_variants(draw):
    """Pricing options of the balance and quota products, and a factor per person and product."""
    changes = {"commission.accumulate": draw(st.sampled_from(["month", "cycle_to_date"])),
               "commission.products[funds].quota.method": draw(st.sampled_from(["marginal", "retroactive"])),
               "commission.products[funds].quota.target": draw(st.sampled_from(["to_date", "cycle"])),
               "commission.products[funds].quota.if_no_target": draw(st.sampled_from(["base", "zero"]))}
    if draw(st.booleans()):  # deposits on tiers of the balance (annual rates), the increase kept
        changes["commission.products[deposits].rate_per_10k"] = None
        changes["commission.products[deposits].tiers"] = [{"upto": 16_000_000.0, "rate": 0.001}, {"rate": 0.002}]
        changes["commission.products[deposits].method"] = draw(st.sampled_from(["marginal", "retroactive"]))
    if draw(st.booleans()):  # holdings against a monthly quota: a balance with quota tiers
        changes["commission.products[holdings].quota"] = {
            "indicator": "funds_sales", "target": "to_date",
            "method": draw(st.sampled_from(["marginal", "retroactive"])),
            "if_no_target": draw(st.sampled_from(["base", "zero"])),
            "tiers": [{"upto": 20.0, "multiplier": 0.5}, {"upto": 35.0, "multiplier": 1.5}, {"multiplier": 2.0}]}
    factors = draw(st.lists(st.sampled_from(FACTORS), min_size=4 * 6, max_size=4 * 6))
    return changes, np.array(factors).reshape(4, 6)


@given(variant=special_variants())
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_scaled_volumes_pay_what_evaluate_pays_on_scaled_data(variant, bank, bank_data) -> None:
    # every person and product moved by its own factor (all products: the tiered ones too), under every
    # pricing option of the balance and quota products: per person and product the scenario's commission
    # equals the lines evaluate writes on the scaled data, and so do the paid and deferred commission
    changes, factor = variant
    policy = bank.updated(changes)
    assert len(policy.commission.products) == factor.shape[1]
    inp, special, paid, deferred, after = scenario_and_evaluate(policy, bank_data, factor)
    ids = bank_data.employees["employee_id"].astype(str).tolist()
    for i, sp in enumerate(inp.special):
        for e, emp in enumerate(ids):
            assert special[0, e, i] == lines_cents(after, emp, sp.product.id), (emp, sp.product.id, changes)
    s = after.summary
    assert (to_cents(paid) == to_cents(s["commission_paid"].to_numpy())).all(), changes
    assert (to_cents(deferred) == to_cents(s["commission_deferred"].to_numpy())).all(), changes


def test_next_years_increase_is_over_this_years_balance(bank, bank_data) -> None:
    # next year's population: the deposits' increase is over this year's balances, so at f = 1 there is none:
    # E1's 18,000,000 and 6,000,000 pay 10 元 per 万元 a year only: (18,000 + 6,000) / 12 = 2,000.00
    base = evaluate(bank, bank_data)
    rows = np.arange(len(bank_data.employees))
    inp = scenarios.prepare(bank, bank_data, base, rows=rows)
    at = {sp.product.id: i for i, sp in enumerate(inp.special)}
    f = np.ones((1, len(rows), len(inp.products)))
    assert scenarios.special_cents(inp, f)[0, 0, at["deposits"]] == 200_000
    # a 10% rise pays 30 元 per 万元 on it: 2,000 x 1.1 + 0.003 x (1,800,000 + 600,000) / 12 = 2,200 + 600
    f[0, 0, inp.products.index("deposits")] = 1.1
    assert scenarios.special_cents(inp, f)[0, 0, at["deposits"]] == 280_000


@settings(max_examples=60, deadline=None)
@given(k=st.integers(1, 140), fixed=st.lists(st.booleans(), min_size=140, max_size=140), seed=st.integers(0, 2**16))
def test_row_sums_add_in_numpys_order(k: int, fixed: list[bool], seed: int) -> None:
    """scenarios.row_sums of columns (scenarios x people, or people where a column is the same in every scenario)
    is, to the bit, numpy's sum over the stacked last axis (the engine's composite: weighted scores summed per
    person), whatever the number of columns (pairwise: below 8, up to 128, beyond) and the magnitudes; a row of
    -0.0 sums to 0.0 as numpy's does."""
    rng = np.random.default_rng(seed)
    b, n = 3, 17
    columns = [rng.standard_normal(n if fixed[j] else (b, n)) * 10.0 ** rng.uniform(-8, 8, n if fixed[j] else (b, n))
               for j in range(k)]
    columns[0] = np.where(rng.random(columns[0].shape) < 0.3, -0.0, columns[0])
    stacked = np.stack([np.broadcast_to(c, (b, n)) for c in columns], axis=-1)
    expected = stacked.sum(axis=-1)
    got = np.broadcast_to(scenarios.row_sums(columns), (b, n))
    assert np.array_equal(got, expected) and np.array_equal(np.signbit(got), np.signbit(expected))
    zeros = [np.full((b, n), -0.0) for _ in range(k)]
    assert not np.signbit(scenarios.row_sums(zeros)).any()


def _batch_arrays(inp, metric_factor: np.ndarray, sales_factor: np.ndarray, growth: float) -> list[np.ndarray]:
    comp = scenarios.composite(inp, metric_factor, growth)
    codes = scenarios.rating_codes(inp, comp)
    return [comp, codes, *scenarios.bonus(inp, comp, codes, metric_factor, growth),
            *scenarios.commission(inp, comp, sales_factor, growth),
            *scenarios.run_batch(inp, metric_factor, sales_factor, growth).values()]


@pytest.mark.parametrize("accumulate", ["cycle_to_date", "month"])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**16), growth=st.sampled_from([0.0, 0.05, -0.3]), sign=st.sampled_from([1.0, -1.0]))
def test_parts_worked_out_for_some_people_are_those_worked_out_for_everyone(accumulate, seed, growth, sign, sample,
                                                                              bank_policy, monkeypatch) -> None:
    """A metric's score only where it weighs, a product's commission only for people with sales of it (or last
    year's balance), a deferral only where a share is deferred, the composite and the commission a piece of
    people at a time: every per-person amount and every total is the same, bit for bit, as when everything is
    worked out for everyone at once (SPARSE_SHARE decides which way a part goes: 1 takes every part apart where
    anyone is left out, -1 none; PIECE_CELLS 7 makes pieces of a third of everyone). Factors of either
    sign, and zeros."""
    policy = load_policy(ROOT / "data" / "policies" / "2026.yaml").updated({"commission.accumulate": accumulate})
    base = evaluate(policy, sample)
    inp = scenarios.prepare(policy, sample, base)
    rng = np.random.default_rng(seed)
    n, m, q = inp.people, len(inp.metric_cols), len(inp.products)
    metric_factor = rng.lognormal(0.0, 0.4, size=(3, n, m))
    sales_factor = sign * rng.lognormal(0.0, 0.4, size=(3, n, q))
    sales_factor[:, ::7] = 0.0
    got = {}
    for share, piece in ((-1.0, 10**9), (1.0, 10**9), (1.0, 7), (-1.0, 7)):
        monkeypatch.setattr(scenarios, "SPARSE_SHARE", share)
        monkeypatch.setattr(scenarios, "PIECE_CELLS", piece)  # 7: pieces of the fewest people allowed,
        monkeypatch.setattr(scenarios, "PIECE_MIN_PEOPLE", n // 3 + 1)  # a third of everyone
        inp.extra.clear()
        got[share, piece] = _batch_arrays(inp, metric_factor, sales_factor, growth)
        if share > 0 and piece > 10:
            assert any(v[1] is not None for v in inp.extra["people"].values())  # some parts were taken apart
        if piece < 10:
            assert len(inp.extra["pieces"][n // 3 + 1]) == 3  # the person-by-person parts went in 3 pieces
    for way in list(got)[1:]:
        for everyone, other in zip(got[-1.0, 10**9], got[way], strict=True):
            assert everyone.dtype == other.dtype and everyone.tobytes() == other.tobytes(), way
