"""Raw customer data aggregated into the indicator values the scorecard uses.

Satisfaction by dimension (:func:`satisfaction_index`), complaint statistics (:func:`complaint_stats`), loyalty
from repeat purchases (:func:`loyalty`), and each person's half-year change with the market movement taken out
(:func:`half_year_log_changes`). Inputs are validated tables of a :class:`compkit.data.Dataset`; every function is
vectorised over whole columns.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from compkit._arrays import any_codes, before_or_in, cat_codes, positions, sorted_codes
from compkit.credits import CreditSplit, _numbers


def _through(df: pd.DataFrame, column: str, through: str | None) -> pd.DataFrame:
    """Rows up to and including month ``through`` (YYYY-MM), for cycle-to-date figures."""
    if through is None:
        return df
    values = df[column]
    if values.dtype.kind == "M":
        if isinstance(values.dtype, np.dtype) and re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", through):
            # plain dates: the month's text (YYYY-MM, as strftime writes them; a missing date has none) is at most
            # ``through`` exactly when the date falls before the next month's first day: compared as dates, not
            # written out as texts (1.18 million survey dates at 100,000 managers: 633 -> 9 ms)
            return df[(values < pd.Timestamp(through + "-01") + pd.offsets.MonthBegin(1)).to_numpy(dtype=bool)]
        return df[values.dt.strftime("%Y-%m") <= through]
    return df[df[column] <= through]


def satisfaction_index(surveys: pd.DataFrame, through: str | None = None) -> pd.DataFrame:
    """Customer satisfaction per employee and dimension, from surveys and phone follow-ups.

    score = mean of the responses' scores (1-5 scale) for the dimension; dimension ``all`` is the mean of every
    response. Columns: employee_id, dimension, score, responses.
    """
    s = _through(surveys, "date", through)
    counted = _counted_means(s)
    if counted is not None:
        by_dim, overall = counted
        if "dimension" in by_dim and "all" not in set(by_dim["dimension"].cat.categories):
            return _stacked_dimensions(by_dim, overall)
    else:
        by_dim = (s.groupby(["employee_id", "dimension"], observed=True)["score"].agg(["mean", "size"])
                  .reset_index())
        overall = s.groupby("employee_id")["score"].agg(["mean", "size"]).reset_index()
    overall["dimension"] = "all"
    out = pd.concat([by_dim, overall], ignore_index=True)
    out = out.rename(columns={"mean": "score", "size": "responses"})
    out["dimension"] = out["dimension"].astype("string")
    return out[["employee_id", "dimension", "score", "responses"]].sort_values(
        ["employee_id", "dimension"]).reset_index(drop=True)


def _stacked_dimensions(by_dim: pd.DataFrame, overall: pd.DataFrame) -> pd.DataFrame:
    """:func:`satisfaction_index`'s table from :func:`_counted_means`' two tables (categorical keys; no dimension
    named ``all``): the rows of both in the order ``sort_values(["employee_id", "dimension"])`` gives them (by the
    employee's category, then the dimension's text, ``all`` among them), from the codes, without a concat and a
    sort of text."""
    emp_dtype = by_dim["employee_id"].dtype
    dims = [str(d) for d in by_dim["dimension"].cat.categories] + ["all"]
    rank = np.empty(len(dims), dtype=np.int64)
    rank[sorted(range(len(dims)), key=dims.__getitem__)] = np.arange(len(dims))
    emp = np.concatenate([np.asarray(cat_codes(by_dim["employee_id"]), dtype=np.int64),
                          np.asarray(cat_codes(overall["employee_id"]), dtype=np.int64)])
    dim = np.concatenate([np.asarray(cat_codes(by_dim["dimension"]), dtype=np.int64),
                          np.full(len(overall), len(dims) - 1, dtype=np.int64)])
    order = np.argsort(emp * len(dims) + rank[dim], kind="stable")
    labels = pa.array(dims, type=pa.large_string()).take(pa.array(dim[order]))
    return pd.DataFrame({
        "employee_id": pd.Categorical.from_codes(emp[order], dtype=emp_dtype),
        "dimension": pd.array(labels, dtype="string"),
        "score": np.concatenate([by_dim["mean"].to_numpy(), overall["mean"].to_numpy()])[order],
        "responses": np.concatenate([by_dim["size"].to_numpy(), overall["size"].to_numpy()])[order],
    })


def _countable(s: pd.DataFrame) -> bool:
    """Whether the surveys ``s`` can be counted by :func:`_counted_means`: categorical keys with none missing
    (pandas drops such rows), pandas 3, and whole-number scores (NaN fails both checks) small enough that their
    sums are exact in any order."""
    emp, dim, score = s["employee_id"], s["dimension"], s["score"].to_numpy(dtype="float64")
    if (int(pd.__version__.split(".")[0]) < 3 or not isinstance(emp.dtype, pd.CategoricalDtype)
            or not isinstance(dim.dtype, pd.CategoricalDtype) or len(score) >= 2 ** 31
            or not bool(np.all(np.abs(score) <= 2.0 ** 20)) or not bool(np.all(score == np.floor(score)))):
        return False
    return not ((cat_codes(emp) < 0).any() or (cat_codes(dim) < 0).any())


def satisfaction_scores(surveys: pd.DataFrame, dimension: str = "all", through: str | None = None) -> pd.DataFrame:
    """The rows of :func:`satisfaction_index` of one ``dimension`` (``all``: the mean of every response), the same
    values in the same order (by employee): columns employee_id, score, responses
    (:func:`satisfaction_by_dimension` of that one dimension)."""
    return satisfaction_by_dimension(surveys, [dimension], through)[dimension]


def satisfaction_by_dimension(surveys: pd.DataFrame, dimensions: Sequence[str],
                              through: str | None = None) -> dict[str, pd.DataFrame]:
    """:func:`satisfaction_scores` of each of ``dimensions``, by dimension, the surveys filtered and checked once.
    Each counted for its dimension alone (a ``np.bincount`` per column, as :func:`_counted_means` counts, exact
    for whole-number scores), without the other dimensions' table, when the surveys can be counted and no
    dimension is named ``all``; otherwise read from one :func:`satisfaction_index` of them all."""
    s = _through(surveys, "date", through)
    if _countable(s) and "all" not in {str(c) for c in s["dimension"].cat.categories}:
        emp = s["employee_id"]
        e_all, score_all = cat_codes(emp), s["score"].to_numpy(dtype="float64")
        labels = [str(c) for c in s["dimension"].cat.categories]
        n_e = len(emp.cat.categories)
        out = {}
        for dimension in dict.fromkeys(dimensions):
            e, score = e_all, score_all
            if dimension != "all":
                mine = cat_codes(s["dimension"]) == (labels.index(dimension) if dimension in labels else -1)
                e, score = e[mine], score[mine]
            count = np.bincount(e, minlength=n_e)
            total = np.bincount(e, weights=score, minlength=n_e)
            seen = np.flatnonzero(count)
            out[dimension] = pd.DataFrame({
                "employee_id": pd.Categorical.from_codes(seen.astype(e.dtype), dtype=emp.dtype),
                "score": total[seen] / count[seen], "responses": count[seen].astype(np.int64)})
        return out
    index = satisfaction_index(surveys, through)
    out = {}
    for dimension in dict.fromkeys(dimensions):
        mine = (index["dimension"] == dimension).to_numpy(dtype=bool, na_value=False)
        out[dimension] = index.loc[mine, ["employee_id", "score", "responses"]].reset_index(drop=True)
    return out


def _counted_means(s: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The two grouped tables of :func:`satisfaction_index` (mean and size of ``score`` per employee and
    dimension, and per employee; the groups that have rows, in the categories' order, as pandas 3's
    ``groupby(..., observed=True).agg(["mean", "size"]).reset_index()`` gives them), from one ``np.bincount`` per
    table instead of pandas' grouping. Only when the scores are whole numbers (survey answers: 1-5), whose sums
    are exact in any order, so each mean = sum / count is the same number, to the bit, as pandas' (compensated)
    mean; None otherwise (and for keys that are not categorical, or pandas before 3), and pandas groups them."""
    emp, dim, score = s["employee_id"], s["dimension"], s["score"].to_numpy(dtype="float64")
    if not _countable(s):
        return None
    e, d = cat_codes(emp), cat_codes(dim)
    n_e, n_d = len(emp.cat.categories), len(dim.cat.categories)
    tables = []
    # the first table's cells are employee x dimension, the second's employees alone (told apart by a flag: with
    # one dimension both have n_e cells)
    for cell, size, by_dimension in ((e.astype(np.int64) * n_d + d, n_e * n_d, True), (e, n_e, False)):
        count = np.bincount(cell, minlength=size)
        total = np.bincount(cell, weights=score, minlength=size)
        seen = np.flatnonzero(count)
        table = {"employee_id": pd.Categorical.from_codes((seen // n_d if by_dimension else seen).astype(e.dtype),
                                                          dtype=emp.dtype)}
        if by_dimension:
            table["dimension"] = pd.Categorical.from_codes((seen % n_d).astype(d.dtype), dtype=dim.dtype)
        table.update({"mean": total[seen] / count[seen], "size": count[seen].astype(np.int64)})
        tables.append(pd.DataFrame(table))
    return tables[0], tables[1]


def complaint_stats(complaints: pd.DataFrame, through: str | None = None) -> pd.DataFrame:
    """Complaints per employee: count, upheld (count), upheld_rate = upheld / count, resolved_days (mean days to
    resolve, over complaints with a value). Employees without complaints are absent."""
    c = _through(complaints, "date", through)
    upheld = c["upheld"].fillna(False).astype(bool)
    g = c.assign(_upheld=upheld.astype(int)).groupby("employee_id")
    out = pd.DataFrame({"count": g.size(), "upheld": g["_upheld"].sum(), "resolved_days": g["resolved_days"].mean()})
    out["upheld_rate"] = out["upheld"] / out["count"]
    return out.reset_index()[["employee_id", "count", "upheld", "upheld_rate", "resolved_days"]]


def loyalty(sales: pd.DataFrame | CreditSplit, through: str | None = None) -> pd.DataFrame:
    """Customer loyalty per employee from repeat purchases.

    repeat_purchase = customers who bought (amount > 0) in two or more distinct months / customers who bought.
    Rows without a customer_id are ignored. Columns: employee_id, customers, repeat_customers, repeat_purchase.
    ``sales`` may be a :class:`compkit.credits.CreditSplit`: the credited sales, read at its positions (the
    same table, without a copy of the sales table).
    """
    split = sales if isinstance(sales, CreditSplit) else None
    if split is None or split.trivial:
        e, e_labels = sorted_codes((sales if split is None else split.sales)["employee_id"])
        held = e[:0]
    else:  # the credited sales' employee categorical (as credited_sales makes it), in its categories' order
        (e, held), e_labels = split.employee_code_parts()
    customers, repeat = _repeat_customers(sales, lambda at, rows: np.concatenate([e[at], held[rows]]), len(e_labels),
                                          through)
    keep = customers > 0
    out = pd.DataFrame({"employee_id": np.asarray(e_labels, dtype=object)[keep], "customers": customers[keep],
                        "repeat_customers": repeat[keep]})
    out["repeat_purchase"] = out["repeat_customers"] / out["customers"]
    return out


def loyalty_rates(sales: pd.DataFrame | CreditSplit, employee_ids: pd.Index, through: str | None = None
                  ) -> np.ndarray:
    """:func:`loyalty`'s ``repeat_purchase`` of each employee of ``employee_ids`` (NaN: no customer who bought),
    counted on the employees' positions in ``employee_ids`` (the scorecard's rows) instead of a table of ids:
    only the rows that count are looked up (the sales table's employee at their sales rows; a credit holder
    by the credits table's employees, looked up once)."""
    split = sales if isinstance(sales, CreditSplit) else None
    ids = (sales if split is None else split.sales)["employee_id"]

    def employee_at(at: np.ndarray, rows: np.ndarray) -> np.ndarray:
        kept = len(at)
        e = np.empty(kept + len(rows), dtype=np.int64)
        if isinstance(ids.dtype, pd.CategoricalDtype):  # the rows' codes as a categorical of the same categories
            e[:kept] = positions(pd.Series(pd.Categorical.from_codes(cat_codes(ids)[at], dtype=ids.dtype,
                                                                     validate=False)), employee_ids)
        else:
            e[:kept] = positions(ids.iloc[at], employee_ids)
        if len(rows):  # the split rows' credit holders: the credits' holders looked up once per split (shared with
            # the commission's look-up on the other thread), then taken per row (no copy of their texts)
            e[kept:] = split.holder_positions(employee_ids)[split.holder[rows]]
        return e

    customers, repeat = _repeat_customers(sales, employee_at, len(employee_ids), through)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(customers > 0, repeat / customers, np.nan)


def _repeat_customers(sales: pd.DataFrame | CreditSplit, employee_at: Callable[[np.ndarray, np.ndarray], np.ndarray],
                      n_e: int, through: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(customers who bought, of them those who bought in two or more distinct months) per employee code, as
    int64 arrays of length ``n_e``: :func:`loyalty`'s counts. ``employee_at(at, rows)``: the employee codes (-1:
    none) of the credited sales rows that count, as a new array (written over here): the rows kept as they are,
    by their sales rows ``at`` (increasing), then the split rows ``rows`` (a :class:`compkit.credits.CreditSplit`'s
    split rows by their position among them, increasing; none without a split).

    Only the rows that count (amount > 0, a customer, a month, an employee; up to ``through``) are taken, once:
    their (employee, customer, month) as one int64 key, (e x n_c + c) x n_m + m, sorted in place. A row kept as
    it is counts by its sales row (its own amount); a split row by its sales row's customer and month and its own
    part of the amount."""
    split = sales if isinstance(sales, CreditSplit) else None
    table = sales if split is None else split.sales
    c, n_c = any_codes(table["customer_id"])
    if split is None:
        m, n_m = any_codes(table["period"])
    else:  # the months' codes the split worked out once (the commission lines read them too)
        m, labels = split.codes("period")
        n_m = len(labels)
    n_c, n_m = max(n_c, 1), max(n_m, 1)
    counted = (c >= 0) & (m >= 0)  # per sales row
    if through is not None:
        counted &= before_or_in(table["period"], through)
    if split is None or split.trivial:
        counted &= (table["amount"].to_numpy(dtype="float64") if split is None else split.column("amount")) > 0
        rows = np.zeros(0, dtype=np.int64)
    else:  # (the split rows' amounts: the credited sales' after the rows kept)
        rows = np.flatnonzero(counted[split.source] & (split.column("amount")[split.n_kept():] > 0))
        counted &= split.kept
        counted &= _numbers(table["amount"]) > 0  # (a row kept: the credited sales' amount, its sales row's)
    at = np.flatnonzero(counted)  # the sales rows kept that count (but for their employee)
    del counted
    key = employee_at(at, rows).astype(np.int64, copy=False)
    if len(rows):
        at = np.concatenate([at, split.source[rows]])  # the sales rows of all the rows that count
    if not bool((key >= 0).all()):
        has = key >= 0
        key, at = key[has], at[has]
    # a customer's rows with an employee then sit together, months in order, so the pair bought in two or more
    # distinct months exactly when its first and last keys differ
    key *= n_c
    key += c[at]
    key *= n_m
    key += m[at]
    del rows, at
    key.sort()
    pairs = key // n_m
    first = np.empty(len(pairs), dtype=bool)  # whether each row is its pair's first
    first[:1] = True
    np.not_equal(pairs[1:], pairs[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    del first
    ends = np.append(starts[1:], len(pairs)) - 1 if len(pairs) else starts
    repeated = key[starts] != key[ends]
    pair_employee = pairs[starts] // n_c
    del key, pairs
    customers = np.bincount(pair_employee, minlength=n_e)
    repeat = np.bincount(pair_employee, weights=repeated.astype(float), minlength=n_e)
    return customers, repeat.astype(np.int64)


def _in_first_half(period: pd.Series, last: str) -> np.ndarray:
    """Per row, whether its month (text YYYY-MM) is at most ``last``, the first half's last month (a missing month:
    no). A categorical compares each month once; text is compared as it is, without a copy as text."""
    if isinstance(period.dtype, pd.CategoricalDtype):
        early = np.asarray(period.cat.categories.astype(str) <= last, dtype=bool)
        return np.append(early, False)[cat_codes(period)]  # code -1 (missing): the last, False
    if not isinstance(period.dtype, pd.StringDtype):
        period = period.astype(str)
    return (period <= last).to_numpy(dtype=bool, na_value=False)


def half_year_log_changes(table: pd.DataFrame, periods: Sequence[str], key_column: str,
                          value_column: str) -> pd.DataFrame:
    """Each person's change from the first half of the cycle to the second, market movement taken out.

    For person i and key k (an indicator of the metrics table, a product of the sales table):
      H1, H2 = sums of ``value_column`` over the first and second half of ``periods``
      d0_ik  = log(H2_ik / H1_ik) - median over people of log(H2 / H1) for key k        [log scale, unitless]
    NaN where a half is missing or not positive. Returns a table indexed by employee_id (text) with one column
    per key present in the table. Used by target proposals (calibration) and by the simulation's individual
    shocks (review).
    """
    first = _in_first_half(table["period"], periods[len(periods) // 2 - 1])
    fast = _half_year_log_changes_on_codes(table, first, key_column, value_column)
    if fast is not None:
        return fast
    half = pd.Categorical.from_codes((~first).astype(np.int8), ["h1", "h2"])  # no text per row
    sums = (table[["employee_id", key_column, value_column]].assign(_half=half)
            .groupby(["employee_id", key_column, "_half"], observed=True)[value_column].sum().unstack("_half"))
    keys = sums.index.get_level_values(key_column).unique() if len(sums) else []
    changes = {}
    for key in keys:
        if "h1" not in sums or "h2" not in sums:
            break
        sub = sums.xs(key, level=key_column)
        ok = (sub["h1"] > 0) & (sub["h2"] > 0)
        log_change = np.log(sub.loc[ok, "h2"] / sub.loc[ok, "h1"])
        changes[str(key)] = log_change - log_change.median()
    out = pd.DataFrame(changes)
    out.index = out.index.astype(str)
    return out


def _half_year_log_changes_on_codes(table: pd.DataFrame, first: np.ndarray, key_column: str,
                                    value_column: str) -> pd.DataFrame | None:
    """:func:`half_year_log_changes` on the categorical codes of ``employee_id`` and the key: the half-year sums
    of every (person, key, half) from one grouped sum over a single integer code (person x key x half) instead
    of three grouping columns (categorical codes, not hashed), then a person x key grid. The same table bit for
    bit: each group's sum adds the same rows in the same order with pandas' own grouped sum; the medians are of
    the same values; people and
    keys come in the grouped table's order (the categories' order, which is the labels' sorted order: only
    categories in sorted order take this path; a key in the order it first appears going through the people).
    None (the grouped path then) unless both columns are categoricals with sorted categories, the values are
    float64 and both halves have rows."""
    emp, key = table["employee_id"], table[key_column]
    values = table[value_column]
    if not (isinstance(emp.dtype, pd.CategoricalDtype) and isinstance(key.dtype, pd.CategoricalDtype)
            and values.dtype == np.float64 and emp.cat.categories.is_monotonic_increasing
            and key.cat.categories.is_monotonic_increasing and emp.cat.categories.is_unique
            and key.cat.categories.is_unique):
        return None
    e = cat_codes(emp).astype(np.int64)
    k = cat_codes(key).astype(np.int64)
    n_e, n_k = len(emp.cat.categories), len(key.cat.categories)
    rows = (e >= 0) & (k >= 0)  # a missing person or key is in no group (as groupby drops it)
    second = ~np.asarray(first, dtype=bool)
    if not (second[rows].any() and (~second[rows]).any()):
        return None
    code = (e[rows] * n_k + k[rows]) * 2 + second[rows]
    n_groups = n_e * n_k * 2
    groups = pd.Categorical.from_codes(code, categories=pd.RangeIndex(n_groups))  # every group, codes as they are
    sums = pd.Series(values.to_numpy()[rows]).groupby(groups, observed=False, sort=True).sum()
    grid = np.where(np.bincount(code, minlength=n_groups) > 0, sums.to_numpy(), np.nan)  # NaN: a group without rows
    grid = grid.reshape(n_e, n_k, 2)
    seen = ~np.isnan(grid).all(axis=2)  # (person, key) groups with rows in either half
    first_person = np.where(seen.any(axis=0), seen.argmax(axis=0), n_e)
    keys = [j for j in sorted(range(n_k), key=lambda j: (first_person[j], j)) if first_person[j] < n_e]
    h1, h2 = grid[:, :, 0], grid[:, :, 1]
    with np.errstate(invalid="ignore"):
        ok = (h1 > 0) & (h2 > 0)
    people = np.flatnonzero(ok[:, keys].any(axis=1)) if keys else np.array([], dtype=np.int64)
    out = np.full((len(people), len(keys)), np.nan)
    for c, j in enumerate(keys):
        have = ok[people, j]
        log_change = np.log(h2[people[have], j] / h1[people[have], j])
        out[have, c] = log_change - pd.Series(log_change).median()
    labels = pd.Index(np.asarray(emp.cat.categories, dtype=object)[people]).astype(str)
    return pd.DataFrame(out, index=labels, columns=[str(key.cat.categories[j]) for j in keys])


def individual_log_changes(table: pd.DataFrame, periods: Sequence[str], key_column: str,
                           value_column: str) -> pd.DataFrame:
    """Each person's individual change of a key for next year, on the log scale (the one definition: next year's
    Monte Carlo and the target proposals both use it).

    From d0 (:func:`half_year_log_changes`), for person i and key k:
      d_ik = d0_ik / sqrt(2) - log(mean over people of exp(d0_ik / sqrt(2)))                [log scale, unitless]
    The division by sqrt(2) puts a half-year-on-half-year change on the scale of a year-on-year change (the log
    of a ratio of two independent half-year totals has twice the variance of that of annual totals); the last
    term makes the mean of exp(d) equal 1, so individual changes spread next year's results without moving their
    level (growth and the market move the level). NaN where d0 is NaN. Same index and columns as
    :func:`half_year_log_changes`.
    """
    d0 = half_year_log_changes(table, periods, key_column, value_column)
    out = d0.copy()
    for key in d0.columns:  # a handful of keys; the mean over the people who have both halves
        have = d0[key].notna().to_numpy()
        if not have.any():
            continue
        scaled = d0[key].to_numpy()[have] / np.sqrt(2.0)
        out.loc[have, key] = scaled - np.log(np.mean(np.exp(scaled)))
    return out
