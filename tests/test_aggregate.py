"""compkit.aggregate: the raw-data aggregations (half-year changes, the one definition of an individual change)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from compkit.aggregate import half_year_log_changes, individual_log_changes
from compkit.data import cycle_periods


def _three_people() -> pd.DataFrame:
    # A doubles from the first half to the second, B stays level, C halves; D has no first half.
    return pd.DataFrame({
        "employee_id": ["A", "A", "B", "B", "C", "C", "D"],
        "period": ["2025-03", "2025-09", "2025-01", "2025-12", "2025-06", "2025-07", "2025-10"],
        "indicator": "deposits", "actual": [100.0, 200.0, 100.0, 100.0, 100.0, 50.0, 80.0]})


def test_individual_log_changes_worked_example() -> None:
    # d0 = log(H2/H1) - median: log 2 = 0.693147, 0, -0.693147; the median is 0.
    # d0 / sqrt(2) = 0.490129, 0, -0.490129
    # mean of exp: (1.632527 + 1 + 0.612547) / 3 = 1.081691; its log 0.078526
    # d = 0.490129 - 0.078526 = 0.411603, -0.078526, -0.568655; exp(d) = 1.509235, 0.924478, 0.566287 (mean 1)
    out = individual_log_changes(_three_people(), cycle_periods("2025"), "indicator", "actual")
    d = out["deposits"]
    assert d["A"] == pytest.approx(0.411603, abs=1e-6)
    assert d["B"] == pytest.approx(-0.078526, abs=1e-6)
    assert d["C"] == pytest.approx(-0.568655, abs=1e-6)
    assert np.exp(d[["A", "B", "C"]]).mean() == pytest.approx(1.0, abs=1e-12)
    assert "D" not in d.index or np.isnan(d["D"])


def test_individual_log_changes_keep_d0_order_and_nan() -> None:
    table = _three_people()
    d0 = half_year_log_changes(table, cycle_periods("2025"), "indicator", "actual")
    d = individual_log_changes(table, cycle_periods("2025"), "indicator", "actual")
    assert list(d.index) == list(d0.index) and list(d.columns) == list(d0.columns)
    assert (d0["deposits"].isna() == d["deposits"].isna()).all()
    # a key nobody has both halves of stays NaN, without a warning
    lone = table[table["employee_id"] == "D"]
    out = individual_log_changes(lone, cycle_periods("2025"), "indicator", "actual")
    assert out.empty or out.isna().all().all()


@pytest.mark.parametrize("dtype", ["string", "category", "object"])
def test_half_year_changes_whatever_the_type_of_the_months(dtype: str) -> None:
    """The months as text, as a categorical or as Python strings, a missing month counted in no first half: the
    same changes. A (June in the first half, September and a month left blank in the second): H1 100, H2 200 +
    50 = 250; log(250/100) = 0.916291; B: log(100/100) = 0; the median of the two 0.458145 is taken out."""
    table = pd.DataFrame({"employee_id": ["A", "A", "A", "B", "B"],
                          "period": ["2025-06", "2025-09", None, "2025-01", "2025-12"],
                          "indicator": "deposits", "actual": [100.0, 200.0, 50.0, 100.0, 100.0]})
    table["period"] = table["period"].astype(dtype)
    d0 = half_year_log_changes(table, cycle_periods("2025"), "indicator", "actual")["deposits"]
    assert d0["A"] == pytest.approx(np.log(2.5) - np.log(2.5) / 2, abs=1e-12)
    assert d0["B"] == pytest.approx(-np.log(2.5) / 2, abs=1e-12)
    assert d0["A"] == pytest.approx(0.458145, abs=1e-6)


def test_targets_and_the_monte_carlo_draw_the_same_changes(policy, tiny) -> None:
    from compkit.review import _individual_changes
    from compkit.targets import individual_changes

    metric = tiny.metrics["indicator"].astype(str).iloc[0]
    for_targets = np.sort(individual_changes(tiny, metric))
    matrix = _individual_changes(tiny, [metric], "actual", "indicator", tiny.metrics)[:, 0]
    log_changes = individual_log_changes(tiny.metrics[tiny.metrics["indicator"] == metric], tiny.periods,
                                         "indicator", "actual")[metric].dropna()
    assert len(for_targets) == len(log_changes) > 0
    np.testing.assert_array_equal(for_targets, np.sort(np.exp(log_changes.to_numpy())))
    ids = tiny.employees["employee_id"].astype(str)
    np.testing.assert_array_equal(matrix[ids.isin(log_changes.index).to_numpy()],
                                  log_changes.reindex(ids[ids.isin(log_changes.index)]).to_numpy())


def test_satisfaction_counts_equal_pandas_grouping() -> None:
    # whole-number scores: the bincount tables are pandas' own grouped tables (values, dtypes, order), the mean
    # of E2's "speed" answers 4, 5, 5 = 14 / 3 = 4.666... to the bit; a half point (4.5) leaves it to pandas
    from compkit.aggregate import _counted_means, satisfaction_index

    rng = np.random.default_rng(3)
    emp = pd.Categorical(rng.choice(["E1", "E2", "E3", "E5"], 400), categories=["E1", "E2", "E3", "E4", "E5"])
    dim = pd.Categorical(rng.choice(["speed", "overall", "care"], 400), categories=["care", "overall", "speed"])
    s = pd.DataFrame({"employee_id": emp, "dimension": dim, "score": rng.integers(1, 6, 400).astype(float),
                      "date": pd.Timestamp("2025-03-01")})
    by_dim, overall = _counted_means(s)
    pd.testing.assert_frame_equal(by_dim, s.groupby(["employee_id", "dimension"], observed=True)["score"]
                                  .agg(["mean", "size"]).reset_index(), check_exact=True)
    pd.testing.assert_frame_equal(overall, s.groupby("employee_id")["score"].agg(["mean", "size"]).reset_index(),
                                  check_exact=True)
    small = pd.DataFrame({"employee_id": pd.Categorical(["E2"] * 3), "dimension": pd.Categorical(["speed"] * 3),
                          "score": [4.0, 5.0, 5.0], "date": pd.Timestamp("2025-03-01")})
    assert _counted_means(small)[0]["mean"].tolist() == [14 / 3]
    assert satisfaction_index(small)["score"].tolist() == [14 / 3, 14 / 3]  # speed, and "all"
    assert _counted_means(small.assign(score=[4.5, 5.0, 5.0])) is None
    # the table stacked from the codes is the one concat + sort_values gave: "all" sorts between "after" and
    # "care", "zeal" after it; every employee's rows together, in the categories' order
    rows = pd.DataFrame({"employee_id": pd.Categorical(["E3", "E1", "E3", "E1", "E1"], categories=["E3", "E1"]),
                         "dimension": pd.Categorical(["zeal", "after", "care", "zeal", "zeal"]),
                         "score": [5.0, 3.0, 4.0, 2.0, 4.0], "date": pd.Timestamp("2025-03-01")})
    got = satisfaction_index(rows)
    assert got["employee_id"].tolist() == ["E3", "E3", "E3", "E1", "E1", "E1"]
    assert got["dimension"].tolist() == ["all", "care", "zeal", "after", "all", "zeal"]
    # E3: all = (5 + 4) / 2, care 4, zeal 5; E1: after 3, all = (3 + 2 + 4) / 3, zeal = (2 + 4) / 2
    assert got["score"].tolist() == [4.5, 4.0, 5.0, 3.0, 3.0, 3.0]
    assert got["responses"].tolist() == [2, 1, 1, 1, 3, 2]
    by_dim, overall = _counted_means(rows)
    overall["dimension"] = "all"
    stacked = pd.concat([by_dim, overall], ignore_index=True).rename(columns={"mean": "score", "size": "responses"})
    stacked["dimension"] = stacked["dimension"].astype("string")
    pd.testing.assert_frame_equal(got, stacked[["employee_id", "dimension", "score", "responses"]].sort_values(
        ["employee_id", "dimension"]).reset_index(drop=True), check_exact=True)


@pytest.mark.parametrize("form", ["whole numbers", "half points", "a dimension named all", "through June"])
def test_satisfaction_scores_are_the_index_rows_of_the_dimension(form: str) -> None:
    """satisfaction_scores(surveys, d) is satisfaction_index's rows of dimension d (and "all"), bit for bit, in
    the same order and dtypes: counted for d alone (whole-number scores), or read from the index (half points, a
    dimension named "all"); a dimension nobody answered: no rows. E.g. E2's speed answers 4, 5, 5: 14 / 3."""
    from compkit.aggregate import satisfaction_index, satisfaction_scores

    rng = np.random.default_rng(5)
    dims = ["care", "overall", "speed"] + (["all"] if form == "a dimension named all" else [])
    emp = pd.Categorical(rng.choice(["E1", "E2", "E3", "E5"], 400), categories=["E1", "E2", "E3", "E4", "E5"])
    score = rng.integers(1, 6, 400).astype(float) + (0.5 * rng.integers(0, 2, 400) if form == "half points" else 0)
    s = pd.DataFrame({"employee_id": emp, "dimension": pd.Categorical(rng.choice(dims, 400), categories=dims),
                      "score": score, "date": pd.Timestamp("2025-03-01") + pd.to_timedelta(rng.integers(0, 300, 400),
                                                                                           unit="D")})
    through = "2025-06" if form == "through June" else None
    index = satisfaction_index(s, through)
    for d in ["all", "care", "overall", "speed", "zeal"]:
        got = satisfaction_scores(s, d, through)
        want = index[(index["dimension"] == d).to_numpy(dtype=bool)][["employee_id", "score", "responses"]]
        pd.testing.assert_frame_equal(got, want.reset_index(drop=True), check_exact=True)
        assert (len(got) == 0) == (d == "zeal")
    small = pd.DataFrame({"employee_id": pd.Categorical(["E2"] * 3), "dimension": pd.Categorical(["speed"] * 3),
                          "score": [4.0, 5.0, 5.0], "date": pd.Timestamp("2025-03-01")})
    assert satisfaction_scores(small, "speed")["score"].tolist() == [14 / 3]


@pytest.mark.parametrize("unit", ["ns", "us", "s"])
def test_rows_through_a_month_compared_as_dates_are_those_of_its_text(unit: str) -> None:
    """_through on plain dates (compared with the next month's first day) keeps the rows whose month text
    (strftime YYYY-MM) is at most the month: the last instant of a month in, the first of the next out, a
    missing date out, December into the next year; a month not written YYYY-MM is compared as text as before."""
    from compkit.aggregate import _through

    edges = ["2025-06-30 23:59:59.999999", "2025-07-01 00:00:00", "2025-12-31 23:59:59", "2026-01-01", "2024-02-29"]
    rng = np.random.default_rng(9)
    dates = pd.to_datetime(list(pd.Timestamp("2024-11-01") + pd.to_timedelta(rng.integers(0, 500 * 86400, 300),
                                                                              unit="s")) + edges + [None])
    df = pd.DataFrame({"date": dates.as_unit(unit), "x": np.arange(len(dates))})
    for month in ["2025-06", "2025-12", "2024-02", "2025-13", "2025-6"]:
        want = df[df["date"].dt.strftime("%Y-%m") <= month]
        got = _through(df, "date", month)
        pd.testing.assert_frame_equal(got, want)
    assert len(_through(df, "date", "2025-06")) == int((df["date"] < pd.Timestamp("2025-07-01")).sum())


def test_satisfaction_with_one_dimension_keeps_its_name() -> None:
    # surveys with a single dimension: each employee has a "speed" row and an "all" row, both named (the
    # employee x dimension cells are as many as the employees then, which once dropped the dimension's name)
    from compkit.aggregate import satisfaction_index

    rows = pd.DataFrame({"employee_id": pd.Categorical(["E1", "E2", "E1", "E2", "E2"]),
                         "dimension": pd.Categorical(["speed"] * 5), "score": [4.0, 5.0, 2.0, 3.0, 4.0],
                         "date": pd.Timestamp("2025-03-01")})
    got = satisfaction_index(rows)
    assert got["employee_id"].tolist() == ["E1", "E1", "E2", "E2"]
    assert got["dimension"].tolist() == ["all", "speed", "all", "speed"]
    # E1: (4 + 2) / 2 = 3; E2: (5 + 3 + 4) / 3 = 4
    assert got["score"].tolist() == [3.0, 3.0, 4.0, 4.0]
    assert got["responses"].tolist() == [2, 2, 3, 3]


def _changes_table(rows: list[tuple[int, int, int, float | None]]) -> pd.DataFrame:
    """People P0.., keys k0.., month index 0-11 of 2025, value (None: missing)."""
    return pd.DataFrame({"employee_id": [f"P{p}" for p, _, _, _ in rows],
                         "indicator": [f"k{k}" for _, k, _, _ in rows],
                         "period": [f"2025-{m + 1:02d}" for _, _, m, _ in rows],
                         "actual": [np.nan if v is None else v for _, _, _, v in rows]})


def _as_codes(table: pd.DataFrame) -> pd.DataFrame:
    """The same table with the person and the key as categoricals with sorted categories (the codes path)."""
    return table.assign(employee_id=pd.Categorical(table["employee_id"]),
                        indicator=pd.Categorical(table["indicator"]))


def _same_bits(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.index) == list(b.index) and list(a.columns) == list(b.columns)
    assert np.array_equal(a.to_numpy(dtype="float64").view(np.int64), b.to_numpy(dtype="float64").view(np.int64))


def test_half_year_changes_on_codes_worked_example() -> None:
    # on the categorical codes (one grouped sum over person x key x half): the worked example's numbers
    # A: log(200/100) = 0.693147, B: 0, C: log(50/100) = -0.693147; median 0; D has no first half (left out)
    from compkit.aggregate import _half_year_log_changes_on_codes, _in_first_half

    table = _as_codes(_three_people())
    assert _half_year_log_changes_on_codes(table, _in_first_half(table["period"], "2025-06"), "indicator",
                                           "actual") is not None  # this path, not the grouped one
    d0 = half_year_log_changes(table, cycle_periods("2025"), "indicator", "actual")
    assert list(d0.index) == ["A", "B", "C"] and list(d0.columns) == ["deposits"]
    assert d0["deposits"].tolist() == pytest.approx([np.log(2.0), 0.0, -np.log(2.0)], abs=1e-12)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 3), st.integers(0, 11),
                          st.one_of(st.none(), st.sampled_from([0.0, -5.0]),
                                    st.floats(0.01, 1e7, allow_nan=False))), min_size=1, max_size=60))
def test_half_year_changes_on_codes_are_the_grouped_ones_bit_for_bit(rows: list) -> None:
    """Whatever the rows (shuffled, repeated cells, missing values, zeros and negatives, a half without rows), the
    categorical-codes path and the grouped path on text give the same table bit for bit: the same people, keys
    and order, the same d0 and d."""
    table = _changes_table(rows)
    periods = cycle_periods("2025")
    for fn in (half_year_log_changes, individual_log_changes):
        _same_bits(fn(_as_codes(table), periods, "indicator", "actual"), fn(table, periods, "indicator", "actual"))


def _loyalty_reference(sales: pd.DataFrame) -> pd.DataFrame:
    """loyalty by its definition, with pandas' grouping: per employee, the customers who bought (amount > 0) and
    those of them who bought in two or more distinct months."""
    bought = sales[(sales["amount"] > 0) & sales["customer_id"].notna()].astype({"period": str})
    months = bought.groupby(["employee_id", "customer_id"])["period"].nunique()
    per = pd.DataFrame({"customers": months.groupby(level=0).size(),
                        "repeat_customers": (months >= 2).groupby(level=0).sum().astype(np.int64)})
    per["repeat_purchase"] = per["repeat_customers"] / per["customers"]
    return per


@settings(max_examples=120, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["E1", "E2", "E3", "E4"]), st.integers(1, 6),
                          st.one_of(st.none(), st.sampled_from(["C1", "C2", "C3", "C4", "C5"])),
                          st.sampled_from([1.0, 250.0, 0.0, -3.0])), min_size=1, max_size=40),
       st.lists(st.booleans(), min_size=40, max_size=40))
def test_loyalty_and_its_rates_on_the_employees_rows_are_the_definition(rows: list, shared: list) -> None:
    """loyalty (on the table and on the engine's CreditSplit) is its definition, and loyalty_rates gives the same
    repeat_purchase, bit for bit, on the rows of an employees index (NaN for an employee without customers, an
    employee not in the index left out); also cycle-to-date."""
    from compkit.aggregate import loyalty, loyalty_rates
    from compkit.credits import credited_sales, split_credits

    sales = pd.DataFrame({"employee_id": [r[0] for r in rows], "period": [f"2025-{r[1]:02d}" for r in rows],
                          "customer_id": pd.array([r[2] for r in rows], dtype="string"),
                          "amount": [r[3] for r in rows],
                          "deal_id": pd.array([f"D{i}" for i in range(len(rows))], dtype="string")})
    sales["employee_id"] = sales["employee_id"].astype("category")
    deals = [f"D{i}" for i in range(len(rows)) if shared[i]]  # shared with E5, who may have no sales of their own
    credits = pd.DataFrame({"deal_id": pd.array([d for d in deals for _ in (0, 1)], dtype="string"),
                            "employee_id": pd.array([w for d in deals for w in (sales["employee_id"].iloc[int(d[1:])],
                                                                                "E5")], dtype="string"),
                            "share": [0.5] * (2 * len(deals))})
    ids = pd.Index(["E0", "E2", "E5", "E3", "E1"])  # E4 not among them; E0 without sales
    for through in (None, "2025-03"):
        table = credited_sales(sales, credits)
        part = table if through is None else table[table["period"].astype(str) <= through]
        expected = _loyalty_reference(part)
        for given_sales in (table, table.astype({"employee_id": "string"}), split_credits(sales, credits)):
            got = loyalty(given_sales, through).set_index("employee_id")
            for frame in (got, expected):
                frame.index = pd.Index(frame.index.astype(str), dtype=object)
            pd.testing.assert_frame_equal(got.sort_index(), expected.sort_index(), check_names=False)
            rates = loyalty_rates(given_sales, ids, through)
            want = got["repeat_purchase"].reindex(ids).to_numpy()
            assert np.array_equal(rates, want, equal_nan=True)
