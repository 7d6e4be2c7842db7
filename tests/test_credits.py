"""compkit.credits: shared customers (业绩分成). Figures worked out by hand (CNY)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import tiny_tables, write_tables
from hypothesis import given, settings
from hypothesis import strategies as st

from compkit.appeals import review_appeals
from compkit.credits import credit_rows, credited_sales, rebalance_shares, split_cents
from compkit.data import load_dataset
from compkit.engine import evaluate
from compkit.errors import DataError
from compkit.policy import Policy


def test_split_cents_worked_examples() -> None:
    one = np.zeros(2, dtype=int)
    # 100.01 half and half: 5,000.5 cents each -> floors 5,000 + 5,000, one cent left: to the first row (tie)
    assert split_cents(np.array([100.01, 100.01]), np.array([0.5, 0.5]), one).tolist() == [50.01, 50.00]
    # 100 in thirds: 3,333.33 cents each -> 3,333 x 3 = 9,999, one cent left to the first
    three = np.zeros(3, dtype=int)
    assert split_cents(np.full(3, 100.0), np.full(3, 1 / 3), three).tolist() == [33.34, 33.33, 33.33]
    # a reversal is split with its sign
    assert split_cents(np.array([-100.01, -100.01]), np.array([0.5, 0.5]), one).tolist() == [-50.01, -50.00]
    # 0.7 / 0.3 of 10.05: 703.5 and 301.5 cents -> 703 + 301 = 1,004, the cent to the larger remainder (tie:
    # first row)
    assert split_cents(np.array([10.05, 10.05]), np.array([0.7, 0.3]), one).tolist() == [7.04, 3.01]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(-10**9, 10**9), st.lists(st.integers(1, 100), min_size=1, max_size=5)),
                min_size=1, max_size=8))
def test_parts_add_up_to_the_deal_to_the_cent(deals: list) -> None:
    amount, share, code = [], [], []
    for k, (cents, weights) in enumerate(deals):
        total = sum(weights)
        for w in weights:
            amount.append(cents / 100.0)
            share.append(w / total)
            code.append(k)
    parts = split_cents(np.array(amount), np.array(share), np.array(code))
    sums = np.bincount(np.array(code), weights=np.rint(parts * 100))
    assert np.array_equal(sums, np.array([c for c, _ in deals], dtype=float))


def credits_table(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["deal_id", "employee_id", "share"])


def test_credited_sales_replaces_a_shared_deal_by_its_parts() -> None:
    sales = tiny_tables()["sales"]
    out = credited_sales(sales, credits_table([("D3", "E1", 0.6), ("D3", "E3", 0.4)]))
    d3 = out[out["deal_id"] == "D3"].set_index("employee_id")
    # D3: funds 1,000,000 booked by E1: 600,000 to E1 and 400,000 to E3
    assert d3["amount"].to_dict() == {"E1": 600_000.0, "E3": 400_000.0}
    assert len(out) == len(sales) + 1 and out["amount"].sum() == sales["amount"].sum()
    assert (out.loc[out["deal_id"] != "D3", "credit_share"] == 1.0).all()
    assert sales.loc[sales["deal_id"] == "D3", "employee_id"].item() == "E1"  # the input is not changed


def test_rebalance_moves_credit_to_the_other_holders() -> None:
    c = credits_table([("D1", "A", 0.5), ("D1", "B", 0.3), ("D1", "C", 0.2), ("D2", "A", 0.6), ("D2", "B", 0.4)])
    c.loc[1, "share"] = 0.5  # B's appeal on D1: 0.3 -> 0.5
    out = rebalance_shares(c, np.array([False, True, False, False, False]))
    # the others (0.5 and 0.2) share 1 - 0.5 = 0.5 in proportion: 0.5 x 0.5/0.7 and 0.2 x 0.5/0.7
    assert out["share"].tolist()[:3] == pytest.approx([0.5 * 0.5 / 0.7, 0.5, 0.2 * 0.5 / 0.7])
    assert out["share"].tolist()[3:] == [0.6, 0.4]  # another deal is untouched


def _load(tmp_path: Path, policy: Policy, credits: pd.DataFrame, appeals: pd.DataFrame | None = None):
    tables = tiny_tables()
    tables["credits"] = credits
    if appeals is not None:
        tables["appeals"] = appeals
    return load_dataset(write_tables(tables, tmp_path / "d"), policy=policy)


def test_credits_table_rules(tmp_path: Path, policy: Policy) -> None:
    bad = credits_table([("D3", "E1", 0.6), ("D3", "E3", 0.3), ("D9", "E1", 1.0), ("D5", "E7", 1.0),
                         ("D6", "E3", 1.5)])
    with pytest.raises(DataError) as info:
        _load(tmp_path, policy, bad)
    msg = str(info.value)
    assert "credits.csv, row 2, column 'share': found 0.6; expected shares of deal D3 adding up to 1 " \
           "(they add up to 0.9)" in msg
    assert "credits.csv, row 4, column 'deal_id': found 'D9'; expected a deal_id of the sales table" in msg
    assert "credits.csv, row 5, column 'employee_id': found 'E7'; expected an employee_id listed in the " \
           "employees table" in msg
    assert "row 6, column 'share': found 1.5; expected a share above 0 and at most 1" in msg


def test_every_commission_and_indicator_uses_the_split(tmp_path: Path, policy: Policy) -> None:
    plain = evaluate(policy, _load(tmp_path / "a", policy, credits_table([])))
    shared = evaluate(policy, _load(tmp_path / "b", policy, credits_table([("D3", "E1", 0.6), ("D3", "E3", 0.4)])))
    assert shared.reconcile() == []

    def funds(out, e: str) -> float:
        c = out.commission
        return float(c.loc[(c["employee_id"] == e) & (c["product"] == "funds"), "commission"].sum())
    # funds at 0.3%: E1 1,000,000 -> 3,000 alone; shared 600,000 -> 1,800 and E3 400,000 -> 1,200
    assert funds(plain, "E1") == 3_000.0
    assert funds(shared, "E1") == 1_800.0 and funds(shared, "E3") == 1_200.0
    # loyalty (a sales-sourced indicator): E3 now has customer C2 (from D3) besides C5 (bought in two months):
    # 1 repeat customer of 2 = 0.5 -> 0.5 / 0.35 = 1.43, capped at 1.2
    ind = shared.indicators
    e3 = ind[(ind["employee_id"] == "E3") & (ind["indicator"] == "loyalty")].iloc[0]
    assert e3["actual"] == pytest.approx(0.5)


def test_an_appeal_on_a_share_moves_credit_and_both_appear_in_the_diff(tmp_path: Path, policy: Policy) -> None:
    appeals = pd.DataFrame([{"appeal_id": "AP1", "employee_id": "E3", "filed_on": "2026-01-10", "table": "credits",
                             "key": "D3|E3", "column": "share", "claimed_value": "0.5", "status": "upheld",
                             "decided_value": "0.5", "decided_on": "2026-01-20", "reason": "joint visit"}])
    data = _load(tmp_path, policy, credits_table([("D3", "E1", 0.6), ("D3", "E3", 0.4)]), appeals)
    review = review_appeals(policy, data)
    # E3's share 0.4 -> 0.5 moves 0.1 of D3 from E1 (0.6 -> 0.5): 100,000 of funds at 0.3% = 300 each way
    shares = review.corrected.credits.set_index("employee_id")["share"].to_dict()
    assert shares == {"E1": 0.5, "E3": 0.5}
    com = review.diff[review.diff["component"] == "commission"].set_index("employee_id")
    assert com.loc["E3", "change"] == pytest.approx(300.0) and com.loc["E1", "change"] == pytest.approx(-300.0)
    assert com.loc["E1", "cause"] == "appeal AP1" and com.loc["E3", "cause"] == "appeal AP1"
    moved = review.corrections.set_index("employee_id")
    assert moved.loc["E1", "value_before"] == "0.6" and moved.loc["E1", "value_after"] == "0.5"


def test_credited_sales_rows_in_order_and_holders_without_sales() -> None:
    """Rows of deals without credits first, in table order; then each credited row's holders in the credits
    table's order, credited rows in table order. A holder with no sales of their own (E9) is paid their part."""
    sales = tiny_tables()["sales"]
    credits = credits_table([("D5", "E9", 0.25), ("D1", "E2", 0.5), ("D5", "E2", 0.75), ("D1", "E1", 0.5)])
    out = credited_sales(sales, credits)
    rest = sales[~sales["deal_id"].isin(["D1", "D5"])]
    assert out["deal_id"].tolist() == rest["deal_id"].tolist() + ["D1", "D1", "D5", "D5"]
    assert out["employee_id"].astype(str).tolist() == rest["employee_id"].tolist() + ["E2", "E1", "E9", "E2"]
    # D1: 600,000 in halves; D5: 500,000 -> 125,000 (E9) and 375,000 (E2)
    assert out["amount"].tolist()[-4:] == [300_000.0, 300_000.0, 125_000.0, 375_000.0]
    assert out["credit_share"].tolist() == [1.0] * len(rest) + [0.5, 0.5, 0.25, 0.75]
    assert out["customer_id"].tolist()[-4:] == ["C1", "C1", "C4", "C4"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["D1", "D2", "D3", "D10", "D22", "X", None]), max_size=12),
       st.lists(st.sampled_from(["D1", "D2", "D3", "D10", "D22", "X", "Y"]), min_size=1, max_size=8))
def test_unknown_deals_are_those_absent_from_sales(sales_deals: list, credit_deals: list) -> None:
    """The deal_id rule flags exactly the credit rows whose deal no sales row has (as a set look-up would),
    whichever table is the larger and with missing sales deal ids."""
    from compkit.credits import share_problems

    credits = pd.DataFrame({"deal_id": pd.Series(credit_deals, dtype="string"),
                            "employee_id": pd.Series(["E1"] * len(credit_deals), dtype="string"),
                            "share": np.ones(len(credit_deals))})
    found = [i for i, column, _, _ in share_problems(credits, pd.Series(sales_deals, dtype="string"))
             if column == "deal_id"]
    known = {d for d in sales_deals if d is not None}
    assert found == [i for i, d in enumerate(credit_deals) if d not in known]


def test_deal_positions_worked_example() -> None:
    """The sales' deal ids among the credited deals: D22 is credit deal 0, D1 deal 1; DP000001 (another length),
    D33 (same length, not credited), X and a missing id are -1. The ids of other lengths are not looked up, the
    answer is the same as looking every id up."""
    from compkit._arrays import positions
    from compkit.credits import _deal_positions

    sales = pd.Series(["D22", "DP000001", "D1", None, "D33", "X", "D22"] * 3, dtype="string")
    deals = pd.Index(pd.Series(["D22", "D1"], dtype="string"))
    expected = [0, -1, 1, -1, -1, -1, 0] * 3
    assert _deal_positions(sales, deals).tolist() == expected
    assert positions(sales, deals).tolist() == expected
    assert _deal_positions(sales, deals).dtype == np.int32


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["D1", "D2", "D3", "D10", "D22", "DP0001", "X", None]), max_size=40),
       st.lists(st.sampled_from(["D1", "D2", "D3", "D10", "D22", "X", "Y"]), min_size=1, max_size=8))
def test_deal_positions_as_every_id_looked_up(sales_deals: list, credit_deals: list) -> None:
    """Looking up only the ids as long as some credited deal's gives the positions a look-up of every id gives."""
    from compkit._arrays import positions
    from compkit.credits import _deal_positions

    sales = pd.Series(sales_deals, dtype="string")
    deals = pd.Index(pd.unique(pd.Series(credit_deals, dtype="string")))
    assert _deal_positions(sales, deals).tolist() == positions(sales, deals).tolist()


def test_the_split_reads_the_same_credited_sales_as_the_table(bank_policy: Policy, sample) -> None:
    """CreditSplit (the engine's: no copy of the sales table) gives the commission lines and the loyalty of the
    credited sales table exactly, bit for bit; with no credits it is the sales table itself."""
    from compkit.aggregate import loyalty
    from compkit.commission import commission_lines
    from compkit.credits import split_credits

    data, policy = sample, bank_policy
    assert data.credits is not None and len(data.credits)
    split = split_credits(data.sales, data.credits)
    table = credited_sales(data.sales, data.credits)
    assert len(split) == len(table) and not split.trivial
    ids = data.employees["employee_id"].astype(str).tolist()
    for employees in (ids, None):
        pd.testing.assert_frame_equal(
            commission_lines(split, policy.commission, data.periods, employees=employees, metrics=data.metrics),
            commission_lines(table, policy.commission, data.periods, employees=employees, metrics=data.metrics))
    pd.testing.assert_frame_equal(loyalty(split), loyalty(table))
    pd.testing.assert_frame_equal(loyalty(split, "2025-06"), loyalty(table, "2025-06"))
    nothing = split_credits(data.sales, data.credits.iloc[0:0])
    assert nothing.trivial and nothing.table() is data.sales
    pd.testing.assert_frame_equal(loyalty(nothing), loyalty(data.sales))
    assert np.array_equal(split.column("amount"), table["amount"].to_numpy())
    rows = np.array([0, len(table) - 1, len(table) - 2, 5])
    assert np.array_equal(split.column_at("amount", rows), table["amount"].to_numpy()[rows])
    # each credited row's sales row: the rows kept, then each split row's source (as credit_rows gives them)
    sources = credit_rows(data.sales["deal_id"], data.credits["deal_id"])[0]
    assert np.array_equal(split.sources(), sources) and not split.sources().flags.writeable
    assert np.array_equal(split.source_of(rows), sources[rows])
    assert np.array_equal(split.column_at("amount", rows, sources[rows]), table["amount"].to_numpy()[rows])
    # each credited row's employee's position in an index of the ids, in their order or another
    from compkit._arrays import positions
    for index in (pd.Index(ids), pd.Index(ids[::-1] + ["nobody"]), pd.Index(ids[1:])):
        assert np.array_equal(split.employee_positions(index), positions(table["employee_id"], index))
    assert np.array_equal(split.positions_kept(), np.flatnonzero(~data.sales["deal_id"].isin(data.credits["deal_id"])))


def test_the_loaders_deal_look_up_is_kept_for_the_split_of_the_same_columns(monkeypatch) -> None:
    """share_problems (the loader's check) looks the sales' deal ids up among the credits' deals; the split of
    the same two columns takes that look-up instead of making it again, and makes its own for other columns (a
    changed column is another Arrow array). The split is the same either way: D1's row is split between E1 and
    E2, D2 has no credits."""
    import compkit.credits as credits_module

    sales = pd.DataFrame({"employee_id": pd.Series(["E1", "E3"], dtype="string"),
                          "deal_id": pd.Series(["D1", "D2"], dtype="string"), "amount": [100.0, 50.0]})
    credits = pd.DataFrame({"deal_id": pd.Series(["D1", "D1"], dtype="string"),
                            "employee_id": pd.Series(["E1", "E2"], dtype="string"), "share": [0.5, 0.5]})
    looked_up = []
    real = credits_module._deal_positions
    monkeypatch.setattr(credits_module, "_deal_positions", lambda ids, deals: looked_up.append(1) or real(ids, deals))
    assert credits_module.share_problems(credits, sales["deal_id"]) == []
    split = credits_module.split_credits(sales, credits)
    assert len(looked_up) == 1  # once, by the check
    assert split.source.tolist() == [0, 0] and split.holder.tolist() == [0, 1]
    credits_module._LAST_LOOK_UP.clear()  # the check's deal codes, as the split's own look-up numbers them
    fresh = credits_module.split_credits(sales, credits)
    assert len(looked_up) == 2 and fresh.deal.tolist() == split.deal.tolist()
    assert fresh.parts.keys() == split.parts.keys()
    assert all(np.array_equal(fresh.parts[k], split.parts[k]) for k in split.parts)
    other = sales.assign(deal_id=pd.Series(["D2", "D1"], dtype="string"))  # another column: looked up again
    assert credits_module.split_credits(other, credits).source.tolist() == [1, 1]
    assert len(looked_up) == 3


def _split_cents_ranked_by_row(amount: np.ndarray, share: np.ndarray, deal: np.ndarray) -> np.ndarray:
    """split_cents with the ties of equal remainders ranked by an explicit row-order key (as it was written)."""
    whole = np.rint(np.abs(amount) * 100.0)
    raw = whole * share
    floor = np.floor(raw + 1e-9)
    frac = raw - floor
    n_deals = int(deal.max()) + 1
    deal_total = np.zeros(n_deals)
    np.maximum.at(deal_total, deal, whole)
    left = deal_total - np.bincount(deal, weights=floor, minlength=n_deals)
    order = np.lexsort((np.arange(len(deal)), -frac, deal))
    first = np.r_[True, deal[order][1:] != deal[order][:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(len(deal)), 0))
    rank = np.empty(len(deal), dtype=np.int64)
    rank[order] = np.arange(len(deal)) - start
    return np.sign(amount) * (floor + (rank < left[deal]).astype("float64")) / 100.0 + 0.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.sampled_from([0.5, 0.25, 1 / 3, 0.2, 0.7, 0.1])),
                min_size=1, max_size=30))
def test_split_cents_ranks_ties_in_table_order(rows) -> None:
    deal = np.array([r[0] for r in rows])
    share = np.array([r[1] for r in rows])
    amount = np.array([[100.01, 0.03, -7.77, 1.0, 10.05, 3.0, 0.07][d] for d in deal])  # a deal's amount on its rows
    got = split_cents(amount, share, deal)
    assert np.array_equal(got, _split_cents_ranked_by_row(amount, share, deal))


def test_ranks_in_deals_worked_example() -> None:
    from compkit.credits import _ranks_in_deals
    frac = np.array([0.2, 0.7, 0.5, 0.5, 0.9])
    assert _ranks_in_deals(frac, np.array([0, 0, 1, 1, 1])).tolist() == [1, 0, 1, 2, 0]
    assert _ranks_in_deals(frac, np.array([0, 1, 0, 1, 1])).tolist() == [1, 1, 0, 2, 0]  # (deals apart: sorted)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 10), st.lists(st.sampled_from([0.0, 0.25, 0.5, 0.75, 0.1, 0.9]),
                                                      min_size=10, max_size=10)), min_size=1, max_size=12),
       st.booleans())
def test_ranks_in_deals_are_the_stable_sorts(groups, shuffle) -> None:
    """The rank of each row within its deal by fraction (largest first, ties in table order), deals' rows together
    (a few or many) or apart: as a stable sort on (deal, -fraction) gives it."""
    from compkit.credits import _ranks_in_deals
    deal = np.concatenate([np.full(size, k) for k, (size, _) in enumerate(groups)])
    frac = np.concatenate([np.array(fracs[:size]) for size, fracs in groups])
    if shuffle:
        order = np.random.default_rng(len(deal)).permutation(len(deal))
        deal, frac = deal[order], frac[order]
    expected = np.empty(len(deal), dtype=np.int64)
    by = np.lexsort((np.arange(len(deal)), -frac, deal))
    for position, row in enumerate(by):
        expected[row] = position - np.searchsorted(deal[by], deal[row])
    assert _ranks_in_deals(frac, deal).tolist() == expected.tolist()


@pytest.mark.parametrize("block", [1, 3, 1 << 16])
def test_employee_positions_a_block_at_a_time_are_the_tables(block, monkeypatch) -> None:
    """Each credited row's employee's position (the rows kept, then the holders), looked up a block of sales rows
    at a time: the positions of the credited sales table's ids, whatever the block, for ids held as a categorical
    (categories in the index's order or not, an id missing, an employee of the index without sales) or as text."""
    import compkit.credits as credits
    from compkit._arrays import positions
    from compkit.credits import split_credits

    monkeypatch.setattr(credits, "_ROW_BLOCK", block)
    ids = ["E3", "E1", None, "E2", "E1", "E3", "E2"]
    credits_table = pd.DataFrame({"deal_id": ["D1", "D1", "D4", "D4", "D4"],
                                  "employee_id": pd.Series(["E2", "E9", "E1", "E3", None], dtype="string"),
                                  "share": [0.5, 0.5, 0.2, 0.3, 0.5]})
    for held in (pd.Series(ids, dtype="category"), pd.Series(ids, dtype="string"),
                 pd.Series(pd.Categorical(ids, categories=["E1", "E2", "E3"]))):
        sales = pd.DataFrame({"employee_id": held, "deal_id": [f"D{i}" for i in range(7)],
                              "amount": np.arange(7, dtype="float64")})
        split = split_credits(sales, credits_table)
        table = split.table()
        for index in (pd.Index(["E1", "E2", "E3"]), pd.Index(["E3", "E2", "E1", "E4"]), pd.Index(["E2"]),
                      pd.Index([], dtype=object)):
            got = split.employee_positions(index)
            assert got.dtype == np.int32
            assert got.tolist() == positions(table["employee_id"], index).tolist()
        # the codes by part: each sales row's, each split row's; the credited rows' are the first at the rows kept
        (own, held), labels = split.employee_code_parts()
        assert len(own) == len(sales) and len(held) == len(split.source)
        codes, same_labels = split.employee_codes()
        assert same_labels.equals(labels) and codes.tolist() == own[split.kept].tolist() + held.tolist()
        assert [None if c < 0 else labels[c] for c in codes] == table["employee_id"].astype(object).where(
            table["employee_id"].notna(), None).tolist()
    nothing = split_credits(sales, None)  # no credits: the sales table's own ids
    (own, held), labels = nothing.employee_code_parts()
    assert len(own) == len(sales) and len(held) == 0 and nothing.employee_codes()[0].tolist() == own.tolist()
    assert nothing.employee_positions(pd.Index(["E1", "E2", "E3"])).tolist() == [2, 0, -1, 1, 0, 2, 1]


def test_kept_then_worked_example() -> None:
    from compkit.credits import _kept_then

    got = _kept_then(np.array([5, 6, 7]), np.array([True, False, True]), 2, np.array([9]))
    assert got.tolist() == [5, 7, 9] and got.dtype == np.array([5]).dtype
    with pytest.raises(ValueError):
        _kept_then(np.array([5, 6, 7]), np.array([True, False, True]), 3, np.array([9]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.floats(allow_nan=True, allow_infinity=True)), max_size=40),
       st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=6), st.sampled_from([1, 3, 7, 1 << 16]),
       st.sampled_from(["float64", "int8", "int64"]))
def test_kept_then_is_concatenate_of_the_kept(rows, tail, block, dtype) -> None:
    """A block of rows at a time, whatever the block: np.concatenate([values[kept], tail]), bit for bit and dtype
    (NaN, -0.0 and infinities among float64 values)."""
    import compkit.credits as credits

    kept = np.array([k for k, _ in rows], dtype=bool)
    values = np.array([v for _, v in rows], dtype="float64")
    tail_values = np.array(tail, dtype="float64")
    if dtype != "float64":
        values = np.nan_to_num(values, posinf=0.0, neginf=0.0).clip(-100, 100).astype(dtype)
        tail_values = np.nan_to_num(tail_values, posinf=0.0, neginf=0.0).clip(-100, 100).astype(dtype)
    old = credits._ROW_BLOCK
    credits._ROW_BLOCK = block
    try:
        got = credits._kept_then(values, kept, int(kept.sum()), tail_values)
    finally:
        credits._ROW_BLOCK = old
    expected = np.concatenate([values[kept], tail_values])
    assert got.dtype == expected.dtype and got.tobytes() == expected.tobytes()


@pytest.mark.parametrize("block", [1, 3, 1 << 16])
def test_sources_rows_and_columns_a_block_at_a_time(block, monkeypatch, sample) -> None:
    """The credited rows' sales rows, a column's values and money columns (split) written a block of sales rows
    at a time: the credited sales table's, whatever the block."""
    import compkit.credits as credits
    from compkit.credits import split_credits

    monkeypatch.setattr(credits, "_ROW_BLOCK", block)
    data = sample
    split = split_credits(data.sales, data.credits)
    table = split.table()
    assert not split.trivial
    sources = credit_rows(data.sales["deal_id"], data.credits["deal_id"])[0]
    assert split.sources().dtype == np.int32 and split.sources().tolist() == sources.tolist()
    values = np.arange(len(data.sales), dtype=np.int32) * 3
    assert split.rows(values).tolist() == values[sources].tolist()
    for name in ("amount", "baseline"):
        if name in data.sales.columns:
            expected = pd.to_numeric(table[name], errors="coerce").to_numpy(dtype="float64")
            assert split.column(name).tobytes() == expected.tobytes()


def test_holder_positions_are_looked_up_once_per_index(sample) -> None:
    """Each credit row's holder's position in the index (the look-up of the credits' ids), read-only; asked again
    with another Index over the same ids, the same array (looked up once); another index, looked up again."""
    from compkit._arrays import positions
    from compkit.credits import split_credits

    split = split_credits(sample.sales, sample.credits)
    ids = sample.employees["employee_id"].astype(str)
    index = pd.Index(ids.array)
    found = split.holder_positions(index)
    assert found.dtype == np.int32 and not found.flags.writeable
    assert np.array_equal(found, positions(sample.credits["employee_id"], index))
    assert split.holder_positions(pd.Index(ids.array)) is found
    other = pd.Index(list(ids)[::-1])
    assert np.array_equal(split.holder_positions(other), positions(sample.credits["employee_id"], other))
    assert split_credits(sample.sales, None).holder_positions(index).tolist() == []
