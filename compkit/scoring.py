"""Scoring and ratings: curves, indicator values and scores, 360 aggregation, composite scores, ratings.

Scores are points on a 0-100 scale where 100 means "on target" (a ratio curve capped at 1.2 gives at most
120). The composite is the weighted sum of indicator scores (weights within categories times category
weights), minus deductions, clipped to the policy's score range.

Everything is vectorised over whole columns: people and indicators are turned into integer codes once and
summed with ``numpy.bincount``; no loop runs per person or per row.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
from numpy.typing import ArrayLike
from pandas.arrays import ArrowStringArray

from compkit import training
from compkit._arrays import categories_dtype, labelled_codes, positions, sorted_codes
from compkit.aggregate import complaint_stats, loyalty_rates, satisfaction_by_dimension
from compkit.credits import CreditSplit, split_credits
from compkit.data import Dataset
from compkit.money import row_sums
from compkit.policy import (
    BandedCurve,
    Curve,
    Indicator,
    InverseCurve,
    PiecewiseCurve,
    Policy,
    RaterWeights,
    RatingBand,
    RatioCurve,
    ScaleCurve,
)
from compkit.populations import scorecard_codes, scorecard_names, weight_matrices
from compkit.raters import adjust_ratings

ROLES = ("self", "supervisor", "peer")
#: pandas' default text dtype (``str``): what a column of Python strings becomes
_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)

# ------------------------------------------------------------------------------------------- curves

try:  # the kernel of pandas' groupby sum (a private function: _grouped_sum_and_mean uses its public groupby without it)
    from pandas._libs.groupby import group_sum as _group_sum
except ImportError:  # pragma: no cover - a pandas that has moved it
    _group_sum = None


def piecewise(x: ArrayLike, points: Sequence[Sequence[float]]) -> np.ndarray:
    """Straight lines between ``points`` [[x0, y0], [x1, y1], ...] (x increasing), flat outside them.

    piecewise(85, [[60, 0], [70, 0.5], [100, 1.0]]) = 0.5 + (85 - 70) / (100 - 70) x (1.0 - 0.5) = 0.75.
    NaN in, NaN out. Unit: that of the y values.
    """
    pts = np.asarray(points, dtype="float64")
    xs = np.asarray(x, dtype="float64")
    out = np.interp(xs, pts[:, 0], pts[:, 1])
    return np.where(np.isnan(xs), np.nan, out)


def achievement(actual: ArrayLike, target: ArrayLike, inverse: bool = False) -> np.ndarray:
    """achievement = actual / target (or target / actual when lower is better), as a fraction (1.0 = on target).

    Undefined, and returned as NaN, when the target is missing or not positive or the actual is missing; the
    indicator's ``if_missing`` rule then decides the score. For an inverse indicator an actual of 0 (e.g. no
    non-performing loans) with a positive target is the best possible result: achievement = +inf, which every
    curve caps.
    """
    a = np.asarray(actual, dtype="float64")
    t = np.asarray(target, dtype="float64")
    valid = ~np.isnan(a) & ~np.isnan(t) & (t > 0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if inverse:
            ratio = np.where(a > 0, t / a, np.where(a == 0, np.inf, 0.0))
        else:
            ratio = a / t
    return np.where(valid, ratio, np.nan)


def ratio_score(ach: ArrayLike, threshold: float, cap: float) -> np.ndarray:
    """score = 0 if achievement < threshold, else 100 x min(achievement, cap). Points (0-100 x cap)."""
    a = np.asarray(ach, dtype="float64")
    score = np.where(a < threshold, 0.0, 100.0 * np.minimum(a, cap))
    return np.where(np.isnan(a), np.nan, score)


def scale_score(x: ArrayLike, lo: float, hi: float) -> np.ndarray:
    """A survey or rating scale onto 0-100: 100 x (x - lo) / (hi - lo), clipped to [0, 100].
    On a 1-5 scale: 1 -> 0, 3 -> 50, 4.2 -> 80, 5 -> 100."""
    a = np.asarray(x, dtype="float64")
    return np.clip(100.0 * (a - lo) / (hi - lo), 0.0, 100.0)


def banded_score(x: ArrayLike, bands: Sequence[RatingBand] | Sequence) -> np.ndarray:
    """Lookup: the score of the highest band whose ``min`` is at or below x; below the first band, its score.
    ``bands``: objects with ``min`` and ``score`` (mins increasing)."""
    a = np.asarray(x, dtype="float64")
    mins = np.array([b.min for b in bands], dtype="float64")
    scores = np.array([b.score for b in bands], dtype="float64")
    idx = np.clip(np.searchsorted(mins, np.nan_to_num(a, nan=-np.inf), side="right") - 1, 0, len(mins) - 1)
    return np.where(np.isnan(a), np.nan, scores[idx])


def curve_score(actual: ArrayLike, target: ArrayLike, curve: Curve) -> tuple[np.ndarray, np.ndarray]:
    """(achievement, score) of one indicator under its curve; NaN score where the value is undefined."""
    a = np.asarray(actual, dtype="float64")
    t = np.asarray(target, dtype="float64")
    if isinstance(curve, RatioCurve):
        ach = achievement(a, t)
        return ach, ratio_score(ach, curve.threshold, curve.cap)
    if isinstance(curve, InverseCurve):
        ach = achievement(a, t, inverse=True)
        return ach, ratio_score(ach, curve.threshold, curve.cap)
    if isinstance(curve, ScaleCurve):
        return achievement(a, t), scale_score(a, curve.min, curve.max)
    if isinstance(curve, (BandedCurve, PiecewiseCurve)):
        ach = achievement(a, t)
        x = ach if curve.input == "achievement" else a
        if isinstance(curve, BandedCurve):
            return ach, banded_score(x, curve.bands)
        return ach, piecewise(x, curve.points)
    raise TypeError(f"unknown curve {curve!r}")  # pragma: no cover - the policy model allows no other


# ----------------------------------------------------------------------------------------- helpers


def _joined_notes(notes: Sequence[tuple[np.ndarray, str]], none: str) -> tuple[list[str], np.ndarray]:
    """Per row, the texts of the notes whose mask holds, joined with '; ' in the order given (``none`` when no
    note holds), as (distinct texts, index into them per row). Rows are grouped by which notes hold (a bit
    pattern over the few notes); each pattern's text is built once."""
    n = len(notes[0][0]) if notes else 0
    pattern = np.zeros(n, dtype=np.int64)
    for bit, (mask, _) in enumerate(notes):
        pattern |= np.asarray(mask, dtype=bool).astype(np.int64) << bit
    used = np.flatnonzero(np.bincount(pattern, minlength=1 << len(notes)))
    lookup = np.zeros(1 << len(notes), dtype=np.int64)
    lookup[used] = np.arange(len(used))
    texts = ["; ".join(text for bit, (_, text) in enumerate(notes) if p >> bit & 1) or none for p in used.tolist()]
    return texts, lookup[pattern]


def _gather_labels(labels: ArrayLike, index: np.ndarray, missing: np.ndarray | None = None) -> ArrayLike:
    """labels[index] for a few distinct text labels and many rows: gathered in Arrow as a text column (pandas'
    ``str`` dtype, as a column of Python strings would become), without creating a Python string per row; the
    rows of ``missing`` (optional) missing, as None in such a column (every row missing: an object column of
    None, as pandas makes of it). Labels that are not all text are gathered as they are (numpy; None where
    missing)."""
    values = np.asarray(labels, dtype=object)
    try:
        table = pa.array(values, type=pa.large_string(), from_pandas=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        table = None
    if table is None or table.null_count or (missing is not None and bool(np.all(missing))):
        return values[index] if missing is None else np.where(missing, None, values[np.where(missing, 0, index)])
    index = np.asarray(index)  # (integers as narrow as given: Arrow takes by any)
    return pd.array(table.take(pa.array(index if index.dtype.kind in "iu" else index.astype(np.int64), mask=missing)),
                    dtype=_TEXT)


def _repeated_labels(labels: Sequence[str], n: int) -> ArrayLike:
    """The k text ``labels`` repeated n times (labels[0], ..., labels[k - 1], labels[0], ...: one per row of a
    table of n x k rows) as a text column of pandas' ``str`` dtype: ``_gather_labels(labels, np.tile(np.arange(k),
    n))``, built from the labels' UTF-8 bytes tiled and their offsets (numpy; no take of a text per row). The
    column is one block of up to _REPEATS repetitions, held as often as needed (Arrow chunks sharing its buffers:
    the same texts, without 2.1 million offsets and texts for each such column at 100,000 managers).
    Labels that are not all text are gathered as they are."""
    if not all(isinstance(label, str) for label in labels):
        return _gather_labels(labels, np.tile(np.arange(len(labels)), n))
    k = len(labels)
    encoded = [label.encode("utf-8") for label in labels]
    lengths = np.array([len(b) for b in encoded], dtype=np.int64)
    width = int(lengths.sum())  # the bytes of one repetition
    m = min(n, _REPEATS)  # repetitions in the block
    offsets = np.empty(m * k + 1, dtype=np.int64)
    np.add(np.arange(m, dtype=np.int64)[:, None] * width, (np.cumsum(lengths) - lengths)[None, :],
           out=offsets[:-1].reshape(m, k))
    offsets[-1] = m * width
    data = np.tile(np.frombuffer(b"".join(encoded), dtype=np.uint8), m)
    block = pa.LargeStringArray.from_buffers(m * k, pa.py_buffer(offsets), pa.py_buffer(data))
    whole, rest = divmod(n, m) if m else (0, 0)
    chunks = [block] * whole + ([block.slice(0, rest * k)] if rest else [])
    return pd.array(pa.chunked_array(chunks, type=pa.large_string()), dtype=_TEXT)


#: the repetitions of :func:`_repeated_labels`' block (the block then ~0.1 MB per label of ~10 bytes)
_REPEATS = 4096


# --------------------------------------------------------------------------------- 360 aggregation


def combine_raters(ratings: pd.DataFrame, weights: RaterWeights | Mapping[str, float],
                   exclude_self: bool | None = None, min_peers: int | None = None) -> pd.DataFrame:
    """360 aggregation per employee and item.

    1. mean score per role (self, supervisor, peer);
    2. a role is *present* when it has a mean, except: self when ``exclude_self``; peer when fewer than
       ``min_peers`` distinct peers rated the item;
    3. score = sum over present roles of w_role x mean_role / sum over present roles of w_role: the weight of a
       missing role is shared out over the present roles in proportion to their own weights.

    Example (weights self 0.1, supervisor 0.6, peer 0.3): means 5, 4, 3.5 -> 0.5 + 2.4 + 1.05 = 3.95;
    without a supervisor -> (0.1 x 5 + 0.3 x 3.5) / 0.4 = 3.875.
    Columns: employee_id, item, mean_self, mean_supervisor, mean_peer, n_peers, w_self, w_supervisor, w_peer
    (effective weights, summing to 1), score (rating-scale units; NaN when no role is present), rule.
    Rows by employee, then item (their labels sorted); employee_id, item and rule are categoricals (employee_id
    and item of the ratings' labels: the ratings' own categories when they are a categorical's, sorted).
    """
    if isinstance(weights, RaterWeights):
        exclude_self = weights.exclude_self if exclude_self is None else exclude_self
        min_peers = weights.min_peers if min_peers is None else min_peers
        w = weights.as_dict()
    else:
        w = {r: float(weights.get(r, 0.0)) for r in ROLES}
    exclude_self = bool(exclude_self)
    min_peers = 1 if min_peers is None else int(min_peers)

    # codes of the sorted labels (a categorical column's own codes; its unused categories get no cells below)
    emp_codes, emp_uniques = sorted_codes(ratings["employee_id"])
    item_codes, item_uniques = sorted_codes(ratings["item"])
    role_codes, role_labels = labelled_codes(ratings["rater_role"])  # (the roles' positions through their labels)
    role_of = np.append(positions(role_labels, pd.Index(ROLES)), -1).astype(np.int8)  # code -1 (missing): -1
    n_items = len(item_uniques)
    n_cells = len(emp_uniques) * n_items
    score = ratings["score"].to_numpy(dtype="float64")

    # one pass over the ratings for every (employee, item, role) cell: slot = (employee x items + item) x 3 + role
    slot = emp_codes.astype(np.int64)
    slot *= n_items
    slot += item_codes
    slot *= 3
    slot += np.take(role_of, role_codes)
    counts = np.bincount(slot, minlength=n_cells * 3).reshape(n_cells, 3).astype("float64")
    sums = np.bincount(slot, weights=score, minlength=n_cells * 3).reshape(n_cells, 3)
    del slot  # (a value per rating: 4.3 million at 100,000 managers)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / counts, np.nan)
    del sums
    n_peers = counts[:, 2]  # ratings are unique per rater, ratee and item: a row is a distinct peer

    present = ~np.isnan(means)
    filled = _nan_to_num(means, ~present)  # (for the weighted sum below)
    rule_self_excluded = present[:, 0] & exclude_self
    rule_few_peers = present[:, 2] & (n_peers < min_peers)
    present[:, 0] &= not exclude_self
    present[:, 2] &= n_peers >= min_peers
    base_w = np.array([w["self"], w["supervisor"], w["peer"]])
    eff = present * base_w
    total = row_sums(eff)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):  # eff / total where total > 0, else 0 (the few rows)
        eff /= total
    eff[np.flatnonzero(~(total[:, 0] > 0))] = 0.0
    # (the terms hold no NaN: their sum is what nansum gives)
    filled *= eff
    combined = np.where(total[:, 0] > 0, row_sums(filled), np.nan)
    del filled

    notes = [
        (rule_self_excluded, "self-rating excluded"),
        (np.isnan(means[:, 1]), "no supervisor rating: its weight shared out"),
        (np.isnan(means[:, 2]), "no peer rating: its weight shared out"),
        (rule_few_peers, f"fewer than {min_peers} peers: peer weight shared out"),
        (np.isnan(means[:, 0]) & (base_w[0] > 0) & (not exclude_self), "no self-rating: its weight shared out"),
        (total[:, 0] == 0, "no usable rating"),
    ]
    texts, rule = _joined_notes([(np.broadcast_to(mask, (n_cells,)), text) for mask, text in notes], "all roles")

    keep = np.flatnonzero(row_sums(counts) > 0)  # the cells somebody rated
    emp_idx, item_idx = np.divmod(keep, n_items)

    def kept(values: np.ndarray) -> np.ndarray:  # (every cell rated: the values as they are; the table copies them)
        return values if len(keep) == n_cells else values[keep]

    # the labels as categoricals of the ratings' own (sorted) labels, their codes the cells': the scorecard finds
    # each row's employee by its code (the categories looked up once, and remembered), not by its text
    return pd.DataFrame({
        "employee_id": _coded(emp_idx, ratings["employee_id"], emp_uniques),
        "item": _coded(item_idx, ratings["item"], item_uniques),
        "mean_self": kept(means[:, 0]), "mean_supervisor": kept(means[:, 1]), "mean_peer": kept(means[:, 2]),
        "n_peers": kept(n_peers).astype("int64"),
        "w_self": kept(eff[:, 0]), "w_supervisor": kept(eff[:, 1]), "w_peer": kept(eff[:, 2]),
        "score": kept(combined),
        "rule": pd.Categorical.from_codes(kept(rule).astype(np.int32), validate=False,
                                          categories=pd.Index(texts, dtype=object)),  # (distinct: one per pattern)
    })


def _nan_to_num(values: np.ndarray, nan: np.ndarray | None = None) -> np.ndarray:
    """``np.nan_to_num(values)`` of a float64 array, bit for bit (NaN -> 0.0, +-inf -> +-the largest float64,
    every other value as it is, -0.0 included), as a new array in two passes: a clip to the finite range (NaN
    stays NaN) and the NaN set to 0.0 (``nan``: ``np.isnan(values)`` when at hand). nan_to_num makes three masks
    and three masked copies (2.1 million scores at 100,000 managers: 5.2 -> 2.0 ms)."""
    big = np.finfo(np.float64).max
    out = np.clip(values, -big, big)
    np.copyto(out, 0.0, where=np.isnan(values) if nan is None else nan)
    return out


def _coded(codes: np.ndarray, column: pd.Series, labels: pd.Index) -> pd.Categorical:
    """A categorical of ``labels`` (distinct, sorted: :func:`compkit._arrays.sorted_codes` of ``column``) with
    ``codes`` (in range by construction): ``column``'s own dtype when the labels are its categories (no new
    dtype, whose labels pandas would check again)."""
    if isinstance(column.dtype, pd.CategoricalDtype) and column.cat.categories is labels:
        dtype = column.dtype
    else:  # (factorized labels: those of a categorical as plain labels)
        dtype = pd.CategoricalDtype(pd.Index(np.asarray(labels, dtype=object))
                                    if isinstance(labels.dtype, pd.CategoricalDtype) else labels)
    return pd.Categorical.from_codes(codes.astype(np.int32), dtype=dtype, validate=False)


def _codes_and_rows(column: pd.Series, index: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """(codes, rows): each value's code (-1: missing) and each code's position in ``index`` (-1: not there), so
    that ``rows[codes]`` is :func:`compkit._arrays.positions` of the column: a categorical's own codes and its
    categories' (remembered) look-up, else the distinct values looked up once."""
    codes, labels = labelled_codes(column)
    if isinstance(column.dtype, pd.CategoricalDtype):  # (each category once, as a categorical of the same dtype)
        each = pd.Categorical.from_codes(np.arange(len(labels)), dtype=column.dtype, validate=False)
        return codes, positions(pd.Series(each, copy=False), index)
    return codes, positions(pd.Series(np.asarray(labels, dtype=object)), index)


def _grouped_sum_and_mean(values: Mapping[str, np.ndarray], groups: np.ndarray, n_groups: int, mean: bool = True
                          ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """pandas' grouped ``sum(min_count=1)`` and ``mean()`` of each float64 array of ``values`` by ``groups`` (each
    value's group, 0 ... n_groups - 1; -1: in none), every group in order (NaN for a group without values), bit
    for bit, as {name: array}; the means ({} unless ``mean``) from the same pass of pandas' compensated (Kahan)
    summation when they can be: mean = sum / rows of the group.

    The sums are pandas' own: its ``group_sum`` kernel, the function ``DataFrameGroupBy.sum`` calls on each float
    column (rows in table order, the same Kahan steps), called here on the group codes as they are, without the
    groupby's conversion of the codes and its separate count of each group's rows (the kernel counts them).
    pandas' group_mean accumulates as its group_sum does and divides by the group's number of non-NaN values; the
    two part only where a value is NaN (then fewer values than rows) or a step leaves the finite numbers (group_sum
    then drops its compensation, group_mean keeps it; from finite values such a step leaves the group's sum
    infinite or NaN). So with no NaN among the values and every group's sum finite (a group without rows: NaN, and
    its mean NaN too) each mean is the sum over the rows, the number pandas' mean gives; otherwise the means are
    pandas' own (its groupby on the codes)."""
    labels = np.asarray(groups, dtype=np.intp)
    sums: dict[str, np.ndarray] | None = None
    rows = np.zeros(n_groups, dtype=np.int64)
    if _group_sum is not None:
        try:
            sums = {}
            for name, column in values.items():
                out, rows[:] = np.empty((n_groups, 1)), 0
                _group_sum(out, rows, np.asarray(column, dtype="float64").reshape(-1, 1), labels, None, min_count=1)
                sums[name] = out[:, 0]
        except (TypeError, ValueError):  # a pandas whose kernel takes other arguments: its public groupby below
            sums = None
    grouped = None
    if sums is None:
        by = pd.Categorical.from_codes(labels, dtype=pd.CategoricalDtype(pd.RangeIndex(n_groups)), validate=False)
        grouped = pd.DataFrame(dict(values), copy=False).groupby(by, sort=True, observed=False)
        sums = {name: col.to_numpy(dtype="float64") for name, col in grouped.sum(min_count=1).items()}
        rows = grouped.size().to_numpy()
    if not mean:
        return sums, {}
    no_nan = all(len(v) == 0 or not np.isnan(np.min(v)) for v in values.values())
    if no_nan and all(bool((np.isfinite(s) | (rows == 0)).all()) for s in sums.values()):
        with np.errstate(invalid="ignore", divide="ignore"):
            return sums, {name: s / rows for name, s in sums.items()}
    if grouped is None:
        by = pd.Categorical.from_codes(labels, dtype=pd.CategoricalDtype(pd.RangeIndex(n_groups)), validate=False)
        grouped = pd.DataFrame(dict(values), copy=False).groupby(by, sort=True, observed=False)
    return sums, {name: col.to_numpy(dtype="float64") for name, col in grouped.mean().items()}


# ------------------------------------------------------------------------------- indicator values


def indicator_values(policy: Policy, data: Dataset, through: str | None = None,
                     rater_scores: pd.DataFrame | Callable[[], pd.DataFrame] | None = None,
                     sales: pd.DataFrame | CreditSplit | Callable[[], pd.DataFrame | CreditSplit] | None = None,
                     rows_of: dict[str, tuple[pd.DataFrame, np.ndarray]] | None = None) -> pd.DataFrame:
    """Actual and target per employee and indicator for the cycle (or cycle-to-date ``through`` YYYY-MM).

    metrics: months combined by the indicator's ``aggregate`` (sum, mean or last month), targets likewise;
    surveys: satisfaction index of the dimension; complaints: the measure; sales: repeat-purchase rate;
    ratings: the 360 combined score on the rating scale (``rater_scores`` from :func:`combine_raters`, or a
    function returning it, called when the first ratings indicator needs it; computed here when not given);
    ``sales``: the credited sales (:func:`compkit.credits.credited_sales` of the data, or their
    :class:`compkit.credits.CreditSplit`, made here when not given), or a function returning them (called
    when the first sales indicator needs them).
    Sources without a target column take the indicator's ``target``.
    Every employee x indicator appears (NaN where there is no value). Columns: employee_id, indicator, actual,
    target, source_note.
    ``rows_of`` (optional): a dict filled, for each source table read (``ratings``: ``rater_scores``,
    ``complaints``: :func:`compkit.aggregate.complaint_stats`), with the table and the position of each of its
    rows' employee in the employees table (-1: not there), for a caller that reads the same table again (the
    scorecard's 360 rule notes and deductions).
    """
    employees = pd.Index(data.employees["employee_id"].astype(str))
    inds = policy.scorecard.indicators
    n, k = len(employees), len(inds)
    actual = np.full((n, k), np.nan)
    target = np.full((n, k), np.nan)
    ind_pos = {ind.id: j for j, ind in enumerate(inds)}

    metric_ids = [ind.id for ind in inds if ind.source == "metrics"]
    if metric_ids:
        m = data.metrics
        # rows as integer codes: the employee's code in the table (its categories' or distinct ids' position) and
        # the indicator's code in the table (its categories' or distinct labels' position); the cells are those of
        # the table's employees x the table's indicators, each employee's row of the result read from them at the
        # end (the distinct ids looked up, not the 8.4 million rows), each metric indicator's column from its code
        emp_codes, emp_row = _codes_and_rows(m["employee_id"], employees)
        ind_codes, ind_labels = labelled_codes(m["indicator"])
        code_of_ind = positions(pd.Index(metric_ids), ind_labels)  # each metric indicator's code (-1: no rows)
        usable = (emp_codes >= 0) & (ind_codes >= 0)
        if through is not None:
            usable &= (m["period"] <= through).to_numpy(dtype=bool, na_value=False)
        how_of = [policy.scorecard.indicator(i).aggregate for i in metric_ids]
        last_ids = [i for i, how in zip(metric_ids, how_of) if how == "last"]
        if last_ids:
            is_last = np.append(np.asarray(ind_labels.isin(last_ids), dtype=bool), False)[ind_codes]
            take = np.flatnonzero(usable & is_last & (np.append(emp_row, -1)[emp_codes] >= 0))
            usable &= ~is_last
            sub = m.iloc[take]
            sub = sub.sort_values(["employee_id", "indicator", "period"]).groupby(
                ["employee_id", "indicator"], observed=True).tail(1)
            agg = sub.set_index(["employee_id", "indicator"])[["actual", "target"]].reset_index()
            rows = employees.get_indexer(agg["employee_id"].astype(str))
            cols = np.array([ind_pos[i] for i in agg["indicator"]], dtype=int)
            actual[rows, cols] = agg["actual"].to_numpy(dtype="float64")
            target[rows, cols] = agg["target"].to_numpy(dtype="float64")
        if usable.any():
            # one group per (employee code, indicator code) cell, rows in table order within a group: pandas'
            # grouped sum and mean (compensated summation), as on the labels, but on integer codes; the rows that
            # do not count go to one more group, read by nobody (no copy of the rows that count). A cell of an
            # indicator the scorecard does not read from this table (another indicator's, or a last month's) is
            # summed and not read. Each metric indicator is summed or averaged: its column takes its own.
            k_t = len(ind_labels)
            n_cells = len(emp_row) * k_t
            cell = np.multiply(emp_codes, k_t, dtype=np.intp)
            cell += ind_codes
            if not usable.all():
                np.copyto(cell, n_cells, where=~usable)
            del usable
            averaged = any(h not in ("sum", "last") for h in how_of)
            sums, means = _grouped_sum_and_mean({"actual": m["actual"].to_numpy(dtype="float64"),
                                                 "target": m["target"].to_numpy(dtype="float64")},
                                                cell, n_cells + 1, mean=averaged)
            del cell
            # each employee's code in the table (-1: no rows, its cells NaN, read from a row of NaN after the last)
            code_of_row = np.full(n, len(emp_row), dtype=np.int64)
            listed = np.flatnonzero(emp_row >= 0)
            code_of_row[emp_row[listed]] = listed
            agg_of = [i for i, how in enumerate(how_of) if how != "last"]  # the metric indicators summed or averaged
            for grid, name in ((actual, "actual"), (target, "target")):
                for i in agg_of:
                    # per employee code (a NaN after the last), the sum (an indicator summed) or mean (the others) of
                    # its cell of the indicator (code x: the cells x, x + k_t, x + 2 k_t, ...; NaN for code -1, no
                    # rows); each employee's row takes its code's
                    x, by_code = code_of_ind[i], np.full(len(emp_row) + 1, np.nan)
                    if x >= 0:
                        by_code[:-1] = (sums if how_of[i] == "sum" else means)[name][x:n_cells:k_t]
                    grid[:, ind_pos[metric_ids[i]]] = by_code[code_of_row]

    def put(ind: Indicator, rows: np.ndarray, values: np.ndarray) -> None:
        ok = rows >= 0
        actual[rows[ok], ind_pos[ind.id]] = values[ok]

    # each source table is aggregated once (several indicators may read it) and its employees looked up once
    sources: dict[str, tuple[pd.DataFrame, np.ndarray]] = {}
    rates: dict[str, np.ndarray] = {}
    surveys: dict[str, pd.DataFrame] | None = None  # each survey dimension's scores

    def source(name: str) -> tuple[pd.DataFrame, np.ndarray]:
        if name not in sources:
            table = {"complaints": lambda: complaint_stats(data.complaints, through),
                     "ratings": lambda: rater_scores}[name]()
            sources[name] = table, positions(table["employee_id"], employees)
            if rows_of is not None:
                rows_of[name] = sources[name]
        return sources[name]

    for ind in inds:
        j = ind_pos[ind.id]
        if ind.source == "surveys":  # the satisfaction index of the indicator's dimension alone
            if surveys is None:  # (every survey indicator's dimension at once: the surveys filtered once)
                surveys = satisfaction_by_dimension(data.surveys, [i.dimension for i in inds if i.source == "surveys"],
                                                    through)
            sat = surveys[ind.dimension]
            put(ind, positions(sat["employee_id"], employees), sat["score"].to_numpy(dtype="float64"))
        elif ind.source == "complaints":
            stats, rows = source("complaints")
            if ind.measure in ("count", "upheld_rate"):
                actual[:, j] = 0.0  # no complaint recorded: a count and a rate of zero are real values
            put(ind, rows, stats[ind.measure].to_numpy(dtype="float64"))
        elif ind.source == "sales":  # loyalty's repeat purchase rate, counted on the employees' rows
            if "sales" not in rates:
                rates["sales"] = loyalty_rates(split_credits(data.sales, data.credits) if sales is None
                                               else sales() if callable(sales) else sales, employees, through)
            actual[:, j] = rates["sales"]
        elif ind.source == "ratings":
            if rater_scores is None:
                rater_scores = combine_raters(data.ratings, policy.scorecard.raters)
            elif callable(rater_scores):
                rater_scores = rater_scores()
            if "ratings" not in sources:  # every ratings indicator's column at once, when the first is met
                table, rows = source("ratings")
                codes, items = labelled_codes(table["item"])
                score = table["score"].to_numpy(dtype="float64")
                # per item, the columns of the indicators reading it; each row's score goes to its employee's row
                # in its item's column (an item read by several indicators: a pass for each)
                columns = [[ind_pos[i.id] for i in inds if i.source == "ratings" and i.rating_item == item]
                           for item in items]
                for layer in range(max(map(len, columns), default=0)):
                    col = np.array([c[layer] if layer < len(c) else -1 for c in columns] + [-1])[codes]
                    ok = (rows >= 0) & (col >= 0)  # (written by flat positions: row x k + column)
                    actual.reshape(-1)[rows[ok].astype(np.int64) * k + col[ok]] = score[ok]
        elif ind.source == "training":  # compkit.training: hours in the period, or certificates held by its end
            end = data.cycle_end if through is None else pd.Timestamp(through + "-01") + pd.offsets.MonthEnd(0)
            values = training.indicator_values(data.training, ind.measure, data.cycle_start, end)
            actual[:, j] = 0.0  # no training recorded: zero hours, zero certificates
            put(ind, positions(pd.Series(values.index), employees), values.to_numpy(dtype="float64"))
        if ind.source not in ("metrics", "team") and ind.target is not None:
            target[:, j] = ind.target
    teams: dict[str, tuple[np.ndarray, np.ndarray, int]] = {}  # each kind of team's groups, found once
    for ind in inds:
        if ind.source == "team":
            j, of = ind_pos[ind.id], ind_pos[ind.of]
            if ind.team not in teams:
                teams[ind.team] = _team_groups(data.employees, ind.team)
            actual[:, j], target[:, j] = team_totals(data.employees, ind.team, actual[:, of], target[:, of],
                                                     teams[ind.team])
            if ind.target is not None:
                target[:, j] = ind.target

    # keys as categoricals built from codes: no million-row string arrays to create; the columns are these new
    # arrays themselves (pandas would copy each)
    return pd.DataFrame({
        # (codes in range by construction, as wide as pandas keeps them for these categories: not checked again)
        "employee_id": pd.Categorical.from_codes(np.repeat(np.arange(n, dtype=np.int32), k),
                                                 dtype=categories_dtype(employees, as_object=True), validate=False),
        "indicator": pd.Categorical.from_codes(np.tile(np.arange(k, dtype=np.int8 if k < 128 else np.int32), n),
                                               categories=pd.Index([ind.id for ind in inds], dtype=object),
                                               validate=False),
        "actual": actual.ravel(),
        "target": target.ravel(),
    }, copy=False)


# ------------------------------------------------------------------------------ scores and composite


def team_totals(employees: pd.DataFrame, team: str, actual: np.ndarray, target: np.ndarray,
                groups: tuple[np.ndarray, np.ndarray, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A manager's team results: per employee, the sums of ``actual`` and ``target`` over the team (CNY or the
    indicator's unit; NaN where no member has a value).

    team ``branch`` / ``region``: everyone of the employee's branch or region, the employee included;
    ``supervisor``: the employees whose ``supervisor_id`` is the employee's id. ``groups``: :func:`_team_groups`
    of the employees and team, when already found (several team indicators of one kind of team)."""
    own_group, member_group, n_groups = _team_groups(employees, team) if groups is None else groups
    out = []
    for values in (actual, target):
        ok = (member_group >= 0) & ~np.isnan(values)
        sums = np.bincount(member_group[ok], weights=values[ok], minlength=n_groups)
        seen = np.bincount(member_group[ok], minlength=n_groups) > 0
        out.append(np.where(seen[own_group], sums[own_group], np.nan))
    return out[0], out[1]


def _team_groups(employees: pd.DataFrame, team: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(own_group, member_group, n_groups) of :func:`team_totals`: per employee, the group whose sum it reads and
    the group it adds to (-1: none), and the number of groups."""
    n = len(employees)
    if team == "supervisor":  # (the ids as their own text column: no Python string per id)
        member_group = positions(employees["supervisor_id"].astype("string").fillna(""),
                                 pd.Index(employees["employee_id"].astype(str)))
        return np.arange(n), member_group, n
    own_group, uniques = pd.factorize(employees[team].astype(str))
    return own_group, own_group, len(uniques)


def score_indicators(policy: Policy, values: pd.DataFrame, code: np.ndarray | None = None) -> pd.DataFrame:
    """Scores per employee and indicator with weights, from :func:`indicator_values` (rows grouped by employee,
    indicators in policy order).

    score: the indicator's curve (ratings-sourced indicators: the scorecard's ``rating_curve``, else the rating
    scale onto 0-100);
    missing (no value, or a ratio/inverse curve with a missing or non-positive target): ``if_missing`` decides:
    zero -> 0 points, target -> 100 points, exclude -> left out and its weight shared out over the category's
    other indicators. A category with no scorable indicator is left out and its weight shared out over the
    other categories. effective_weight = (indicator weight / sum of present indicator weights in its category)
    x (category weight / sum of present category weights); weighted_score = score x effective_weight.
    The effective weights of one employee sum to 1 (each weight applied exactly once).

    ``code`` (scorecards by population, compkit.populations): each employee's scorecard; its category and
    indicator weights replace the scorecard's, and indicators not on it weigh 0 (scored, not counted).
    """
    sc = policy.scorecard
    inds = sc.indicators
    k = len(inds)
    n = len(values) // k
    actual = values["actual"].to_numpy(dtype="float64").reshape(n, k)
    target = values["target"].to_numpy(dtype="float64").reshape(n, k)
    # each indicator's curve on its column, the columns as contiguous rows of the transposed arrays (k x n): the
    # same operations on each value, without strided passes over the n x k arrays
    actual_by_ind, target_by_ind = np.ascontiguousarray(actual.T), np.ascontiguousarray(target.T)
    ach_by_ind, score_by_ind = np.empty((k, n)), np.empty((k, n))
    for j, ind in enumerate(inds):
        ach_by_ind[j], score_by_ind[j] = curve_score(actual_by_ind[j], target_by_ind[j], policy.indicator_curve(ind))
    del actual_by_ind, target_by_ind
    ach, score = ach_by_ind.T, np.ascontiguousarray(score_by_ind.T)
    del score_by_ind

    # (the n x k arrays below are 2.1 million values at 100,000 managers: each step writes over the array it no
    # longer needs instead of making another)
    missing = np.isnan(score)
    rule = np.array([ind.if_missing for ind in inds])
    fill = np.where(rule == "zero", 0.0, np.where(rule == "target", 100.0, np.nan))
    np.copyto(score, fill[None, :], where=missing)
    excluded = np.isnan(score)
    note_texts = ["", "no value or target: scored 0", "no value or target: scored as on target (100)",
                  "no value: left out, weight shared out"]
    note_of = np.where(rule == "zero", 1, np.where(rule == "target", 2, 3)).astype(np.int8)
    note = np.where(missing, note_of[None, :], np.int8(0))
    del missing

    categories = list(sc.categories)
    cat_of = np.array([categories.index(ind.category) for ind in inds])
    w_ind, w_cat = weight_matrices(policy, np.full(n, -1) if code is None else code)  # n x k, n x C
    present_w = (~excluded) * w_ind  # n x k
    # each category's present weight: its indicators' added one by one in policy order (the sum a matrix product
    # with the indicators' 0/1 category columns makes, without one: OpenBLAS's threads, woken by a product, spin
    # on the other core for a while after it, ~50 ms of CPU at 100,000 managers)
    cat_sum = np.zeros((n, len(categories)))  # n x C
    for j, c in enumerate(cat_of.tolist()):
        cat_sum[:, c] += present_w[:, j]
    cat_present = cat_sum > 0
    counted = cat_present[:, cat_of]  # n x k: whether each indicator's category has a present weight
    # within = present weight / its category's sum where that is positive, else 0 (over present_w; divided
    # everywhere, then 0 put where the sum is not positive: a masked divide is the slower)
    with np.errstate(invalid="ignore", divide="ignore"):
        within = np.divide(present_w, cat_sum[:, cat_of], out=present_w)
    np.copyto(within, 0.0, where=~counted)
    del present_w, counted
    cat_w = cat_present * w_cat
    cat_total = cat_w.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        cat_eff = np.where(cat_total > 0, cat_w / cat_total, 0.0)
    eff = np.multiply(within, cat_eff[:, cat_of], out=within)
    del within
    weighted = _nan_to_num(score, excluded)  # (a copy) x eff, 0 where excluded
    weighted *= eff
    np.copyto(weighted, 0.0, where=excluded)

    # rows: employees x indicators. The keys, actual and target are the values' columns (pandas shares them until
    # either table is written to), the others arrays made here: none copied (2.1 million rows at 100,000 managers)
    return pd.DataFrame({
        "employee_id": values["employee_id"], "indicator": values["indicator"],
        "category": _repeated_labels([ind.category for ind in inds], n),
        "source": _repeated_labels([ind.source for ind in inds], n),
        **{name: values[name] if values[name].dtype == np.float64 else values[name].astype("float64")
           for name in ("actual", "target")},
        "achievement": ach.ravel(), "score": score.ravel(), "weight": w_ind.ravel(),
        "category_weight": w_cat[:, cat_of].ravel(), "effective_weight": eff.ravel(),
        "weighted_score": weighted.ravel(),
        "note": _gather_labels(note_texts, note.ravel()),
    }, copy=False)


def deductions(policy: Policy, data: Dataset, employee_ids: pd.Index, through: str | None = None,
               complaints: tuple[pd.DataFrame, np.ndarray] | None = None) -> np.ndarray:
    """Points taken off the composite: sum over deduction rules of min(points x units, max). Units: upheld
    complaints (``measure: upheld``) or all complaints (``count``). Example: 6 upheld x 2 points = 12, capped at
    10 -> 10. ``complaints``: :func:`compkit.aggregate.complaint_stats` of the data (``through``) and the position
    of each of its rows' employee in ``employee_ids`` (-1: not there), when already worked out."""
    total = np.zeros(len(employee_ids))
    if not policy.scorecard.deductions:
        return total
    if complaints is None:
        stats = complaint_stats(data.complaints, through)
        rows = positions(stats["employee_id"], employee_ids)
    else:
        stats, rows = complaints
    ok = rows >= 0
    for rule in policy.scorecard.deductions:
        units = np.zeros(len(employee_ids))
        units[rows[ok]] = stats[rule.measure if rule.measure == "upheld" else "count"].to_numpy(dtype="float64")[ok]
        total += np.minimum(units * rule.points, rule.max)
    return total


def composite_scores(policy: Policy, scored: pd.DataFrame, deduction_points: np.ndarray,
                     code: np.ndarray | None = None, employee_ids: ArrayLike | None = None) -> pd.DataFrame:
    """Category scores and composite per employee (rows in the order of ``scored``'s employees).

    category score = sum of score x (indicator weight / present weight in the category);
    composite_before_deductions = sum of weighted scores; composite = clip(before - deductions, range).
    Columns: employee_id, one per category, composite_before_deductions, deductions, composite.
    ``employee_ids``: the employees' ids as a text column in ``scored``'s order (the scorecard's: the employees
    table's), taken as the employee_id column when given (no Python string per id), else read from ``scored``.
    """
    sc = policy.scorecard
    k = len(sc.indicators)
    n = len(scored) // k
    categories = list(sc.categories)
    score = scored["score"].to_numpy(dtype="float64").reshape(n, k)
    eff = scored["effective_weight"].to_numpy(dtype="float64").reshape(n, k)
    w_ind = weight_matrices(policy, np.full(n, -1) if code is None else code)[0]  # n x k
    cat_of = np.array([categories.index(ind.category) for ind in sc.indicators])
    out = {"employee_id": scored["employee_id"].iloc[::k].to_numpy() if employee_ids is None else employee_ids}
    # each indicator's present weight and weighted score, worked out once for every category (n x k); a category
    # adds up its own columns (taken as one n x m array each, as numpy sums its rows)
    nan = np.isnan(score)
    w = ~nan * w_ind
    weighted = _nan_to_num(score, nan)
    weighted *= w
    for c, name in enumerate(categories):
        cols = np.flatnonzero(cat_of == c)
        s = w[:, cols].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[name] = np.where(s > 0, weighted[:, cols].sum(axis=1) / s, np.nan)
    before = scored["weighted_score"].to_numpy(dtype="float64").reshape(n, k).sum(axis=1)
    before = np.where(eff.sum(axis=1) > 0, before, np.nan)
    out["composite_before_deductions"] = before
    out["deductions"] = deduction_points
    # rounded to 1e-9 points: float noise (59.99999999997 for a composite that is 60 on paper) must not decide
    # a gate, a band or a bonus threshold
    out["composite"] = np.round(np.clip(before - deduction_points, sc.score_range.min, sc.score_range.max), 9)
    return pd.DataFrame(out, copy=False)


# ------------------------------------------------------------------------------------------ ratings


def absolute_ratings(scores: ArrayLike, bands: Sequence[RatingBand]) -> np.ndarray:
    """The label of the first band (best first) whose ``min`` the score reaches; NaN score -> missing (None)."""
    idx = _absolute_codes(scores, bands)
    labels = np.array([b.label for b in bands], dtype=object)
    return np.where(idx < 0, None, labels[idx])


def _absolute_codes(scores: ArrayLike, bands: Sequence[RatingBand]) -> np.ndarray:
    """:func:`absolute_ratings` as positions in ``bands`` (0 = best; -1: none, a NaN score or below every band)."""
    s = np.asarray(scores, dtype="float64")
    mins = np.array([b.min for b in bands])[::-1]  # increasing
    idx = np.searchsorted(mins, np.nan_to_num(s, nan=-np.inf), side="right") - 1  # among the bands worst first
    return np.where(np.isnan(s) | (idx < 0), -1, len(mins) - 1 - idx)


def guided_quotas(group_sizes: ArrayLike, shares: Sequence[float]) -> np.ndarray:
    """Quotas per group and rating: share x size rounded by the largest-remainder method so each row sums to
    the group size; equal remainders go to the better rating. Groups x ratings, integers.

    Example: 7 people, shares 0.15/0.30/0.40/0.10/0.05 -> exact 1.05/2.1/2.8/0.7/0.35 -> floors 1/2/2/0/0 (5),
    2 left go to the largest remainders 0.8 (C) and 0.7 (D) -> 1/2/3/1/0.
    """
    sizes = np.asarray(group_sizes, dtype="int64")
    sh = np.asarray(shares, dtype="float64")
    exact = sizes[:, None] * sh[None, :]
    floor = np.floor(exact + 1e-9).astype("int64")
    left = sizes - floor.sum(axis=1)
    order = np.argsort(-(exact - floor), axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(len(sh))[None, :].repeat(len(sizes), axis=0), axis=1)
    return floor + (rank < left[:, None]).astype("int64")


def competition_ranks(scores: ArrayLike, groups: ArrayLike) -> np.ndarray:
    """0-based competition rank within group, best (highest) score first: the position in the group of the
    first person with the same score (ties share the better rank; NaN counts as -inf, i.e. last).

    ``scores`` of shape (..., n): one ranking per row (e.g. scenarios x people); ``groups`` (n,) integer codes.
    Example: scores 90, 80, 90, 70 in one group -> ranks 0, 2, 0, 3.
    """
    s = np.asarray(scores, dtype="float64")
    g = np.asarray(groups, dtype="int64")
    n = s.shape[-1]
    key = np.where(np.isnan(s), np.inf, -s)
    if s.ndim > 1 and n:
        return _ranks_by_group(key, g)
    # best score first (no score last), then a stable sort by group (a radix sort on small integer codes)
    by_score = np.argsort(key, axis=-1)
    small = g.astype(np.int16) if n and g.max() < 2 ** 15 else g
    order = np.take_along_axis(by_score, np.argsort(small[by_score], axis=-1, kind="stable"), axis=-1)
    ks = np.take_along_axis(key, order, axis=-1)
    gs = g[order]
    pos = np.arange(n)
    new_group = np.ones(s.shape, dtype=bool)
    new_group[..., 1:] = gs[..., 1:] != gs[..., :-1]
    new_value = new_group.copy()
    new_value[..., 1:] |= ks[..., 1:] != ks[..., :-1]
    group_start = np.maximum.accumulate(np.where(new_group, pos, 0), axis=-1)
    first_equal = np.maximum.accumulate(np.where(new_value, pos, 0), axis=-1)
    rank = np.empty(s.shape, dtype="int64")
    np.put_along_axis(rank, order, first_equal - group_start, axis=-1)
    return rank


def _ranks_by_group(key: np.ndarray, g: np.ndarray) -> np.ndarray:
    """:func:`competition_ranks` of many rows at once (e.g. scenarios x people) from the sort keys (-score, +inf
    for no score): the people of each group sorted on their own (one group's people gathered, then sorted
    along the rows), a person's rank the position in the group of the first person with the same key. The
    same ranks as one sort of everyone (a rank does not depend on the order of equal keys)."""
    n = key.shape[-1]
    people = np.argsort(g, kind="stable")
    codes = g[people]
    cut = (np.flatnonzero(codes[1:] != codes[:-1]) + 1).tolist()
    rank = np.empty(key.shape, dtype="int64")
    for a, b in zip([0] + cut, cut + [n], strict=True):
        who = people[a:b]
        part = key[..., who]
        order = np.argsort(part, axis=-1)
        ks = np.take_along_axis(part, order, axis=-1)
        new_value = np.ones(ks.shape, dtype=bool)
        new_value[..., 1:] = ks[..., 1:] != ks[..., :-1]
        first_equal = np.maximum.accumulate(np.where(new_value, np.arange(b - a), 0), axis=-1)
        within = np.empty(part.shape, dtype="int64")
        np.put_along_axis(within, order, first_equal, axis=-1)
        rank[..., who] = within
    return rank


def guided_codes(scores: ArrayLike, groups: ArrayLike, quotas: np.ndarray) -> np.ndarray:
    """Guided rating per person as a position in the bands (0 = best; -1 = no score), for scores of shape
    (..., n) (one distribution per row, e.g. per scenario): the rating whose cumulative quota of the person's
    group (``quotas``: groups x ratings from :func:`guided_quotas`) covers the person's competition rank
    (:func:`competition_ranks`), i.e. the number of cumulative quotas c_r the rank reaches (at most the last band).

    The rank of a person is the number of people of the group with a strictly better score (sort key -score, no
    score +inf), so it reaches c_r > 0 exactly when the c_r-th smallest key of the group is smaller than the
    person's key: the group's keys sorted (values, not positions) give every person's rating without each
    person's rank (c_r = 0 is reached by everyone, c_r above the group's size by nobody). Example: scores 90,
    80, 90, 70 in one group, quotas [1, 2, 1]: cumulative 1, 3, 4; sorted keys -90, -90, -80, -70; the 90s
    reach nothing (-90 < -90 is false): 0; the 80 reaches 1 (-90 < -80) but not 3: 1; the 70 reaches 1 and 3
    (-80 < -70) but not 4: 2."""
    s = np.asarray(scores, dtype="float64")
    g = np.asarray(groups, dtype="int64")
    n = s.shape[-1]
    n_r = quotas.shape[1]
    key = np.where(np.isnan(s), np.inf, -s)
    cum = np.cumsum(quotas, axis=1)  # groups x ratings
    reached = np.zeros(s.shape, dtype=np.int16 if n_r < 2 ** 15 else np.int64)
    if n:
        people = np.argsort(g, kind="stable")  # each group's people together
        codes = g[people]
        cut = (np.flatnonzero(codes[1:] != codes[:-1]) + 1).tolist()
        for a, z in zip([0] + cut, cut + [n], strict=True):
            who = people[a:z]
            part = key[..., who]
            c = cum[codes[a]]
            ordered = np.sort(part, axis=-1)  # the group's keys, smallest (best score) first, along the rows
            count = np.full(part.shape, int((c == 0).sum()), dtype=reached.dtype)
            for x in c[(c > 0) & (c <= z - a)]:
                count += ordered[..., x - 1:x] < part
            reached[..., who] = count
    idx = np.minimum(reached, n_r - 1).astype(np.int64)
    return np.where(np.isnan(s), -1, idx)


def assign_ratings(scores: ArrayLike, bands: Sequence[RatingBand], shares: Mapping[str, float] | None = None,
                   within: ArrayLike | None = None) -> pd.DataFrame:
    """Ratings from scores: absolute bands, and a guided (forced) distribution when ``shares`` are given.

    Guided, within each group (``within``: region, branch or one group for all): quotas from
    :func:`guided_quotas`; people are ranked by score, best first; a person's rating is the one whose quota
    covers the position of the *first* person with the same score (competition ranking), so equal scores get
    equal ratings and a tie straddling a quota boundary all get the better rating (the overflow comes out of
    the next ratings' places). So a higher score never gets a worse rating within a group. People with no score
    get no rating and are not counted in the group.
    Columns: rating_absolute, rating_guided (None without shares), rank_in_group (1 = best), group_size.
    """
    s = np.asarray(scores, dtype="float64")
    n = len(s)
    labels = [b.label for b in bands]
    # the labels as text columns gathered in Arrow (as a column of the labels and None would become)
    absolute = _absolute_codes(s, bands)
    out = pd.DataFrame({"rating_absolute": _gather_labels(labels, absolute, absolute < 0)}, copy=False)
    if within is not None and not isinstance(within, ArrowStringArray):
        within = np.asarray(within)  # (Arrow text is factorized as it is: the same codes, texts sorted alike)
    groups = np.zeros(n, dtype="int64") if within is None else pd.factorize(within, sort=True)[0]
    scored = ~np.isnan(s)
    n_groups = groups.max() + 1 if n else 0
    sizes = np.bincount(groups[scored], minlength=n_groups)
    # competition rank within group: position of the first person with the same score (0-based)
    rank0 = competition_ranks(s, groups)
    out["rank_in_group"] = np.where(scored, rank0 + 1, pd.NA)
    out["group_size"] = sizes[groups]
    if shares is None:
        out["rating_guided"] = None
        return out
    share_vec = [float(shares.get(lab, 0.0)) for lab in labels]
    idx = guided_codes(s, groups, guided_quotas(sizes, share_vec))
    out["rating_guided"] = _gather_labels(labels, idx, ~scored)
    return out


# ------------------------------------------------------------------------------------ the scorecard


def ratings_used(policy: Policy, data: Dataset) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The 360 ratings the scorecard combines and the adjustment per rater: the ratings as given and an empty
    table, or, with ``scorecard.raters.calibrate: rater_effects``, the supervisors' and peers' ratings adjusted
    for rater effects (:func:`compkit.raters.adjust_ratings`, clipped to the rating scale) and its table."""
    rw = policy.scorecard.raters
    if rw.calibrate != "rater_effects":
        return data.ratings, pd.DataFrame()
    scale = policy.scorecard.rating_scale
    return adjust_ratings(data.ratings, rw.min_links, (scale.min, scale.max))


def scorecard(policy: Policy, data: Dataset, through: str | None = None,
              ratings: pd.DataFrame | None = None,
              sales: pd.DataFrame | CreditSplit | Callable[[], pd.DataFrame | CreditSplit] | None = None,
              rater_scores: pd.DataFrame | Callable[[], pd.DataFrame] | None = None
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score the whole dataset: (indicators, summary).

    indicators: one row per employee and indicator (actual, target, achievement, score, weight, category
    weight, effective weight, weighted score, note). summary: one row per employee (in the employees table's
    order): category scores, composite before deductions, deductions, composite, group, rank in group,
    rating_absolute, rating_guided, rating (the policy's method), and the 360 rule notes.
    ``through`` (YYYY-MM) gives cycle-to-date scores for interim feedback. ``ratings``: the 360 ratings to
    combine when already adjusted (:func:`ratings_used`, which is applied otherwise). ``sales``: the credited
    sales when already split (:func:`compkit.credits.credited_sales`, or their
    :class:`compkit.credits.CreditSplit`: the engine splits them once for loyalty and commission), or a function
    returning them. ``rater_scores``: :func:`combine_raters` of those ratings when already combined, or a function
    returning it (the engine combines them on its second thread meanwhile); combined here when not given.
    """
    # ratings are collected once per cycle: cycle-to-date scoring uses whatever ratings exist
    if rater_scores is None:
        if ratings is None:
            ratings = ratings_used(policy, data)[0]
        rater_scores = combine_raters(ratings, policy.scorecard.raters)
    # the source tables read and their employees looked up, once for every reader (the 360 rule notes, deductions)
    rows_of: dict[str, tuple[pd.DataFrame, np.ndarray]] = {}
    values = indicator_values(policy, data, through, rater_scores, sales, rows_of)
    if callable(rater_scores):
        rater_scores = rater_scores()
    code = scorecard_codes(data.employees, policy)[0]  # scorecards by population (-1: the one scorecard)
    scored = score_indicators(policy, values, code)
    ids = pd.Index(data.employees["employee_id"].astype(str))
    points = deductions(policy, data, ids, through, rows_of.get("complaints"))
    summary = composite_scores(policy, scored, points, code, ids.array)
    if policy.scorecards:  # (each scorecard's name once, gathered per employee as text)
        summary.insert(1, "scorecard", _text_column(scorecard_names(policy, np.arange(-1, len(policy.scorecards))),
                                                    code + 1))
    emp = data.employees
    rp = policy.ratings
    within_key = rp.guided.within if rp.guided is not None else "all"
    # the groups' texts as the column holds them (Arrow text: no Python string per employee)
    group = np.full(len(emp), "all", dtype=object) if within_key == "all" else emp[within_key].astype(str).array
    shares = rp.guided.shares if rp.guided is not None else None
    ratings = assign_ratings(summary["composite"].to_numpy(), rp.bands, shares, group)
    summary["rating_group"] = group
    summary = pd.concat([summary, ratings.reset_index(drop=True)], axis=1)
    summary["rating"] = summary["rating_guided"] if rp.method == "guided" else summary["rating_absolute"]
    rated = rows_of["ratings"][1] if "ratings" in rows_of else None
    summary["rater_rules"] = _text_column(*_rater_rule_texts(rater_scores, ids, rated))
    return scored, summary


def _text_column(texts: ArrayLike, index: np.ndarray) -> ArrayLike:
    """``np.asarray(texts, dtype=object)[index]`` as the column pandas makes of it (text: pandas' ``str``; no
    row: object), the texts gathered in Arrow (:func:`_gather_labels`) when there are rows."""
    if len(index) == 0:
        return np.asarray(texts, dtype=object)[index]
    return _gather_labels(texts, index)


def rater_rule_notes(rater_scores: pd.DataFrame, employee_ids: pd.Index, rows: np.ndarray | None = None
                     ) -> np.ndarray:
    """Per employee, the distinct 360 rules that applied to any item, in alphabetical order and joined with
    '; ' ("" when all roles were present for every item).

    The rule texts are few: each distinct text is split into its notes once, and each note's presence per
    employee is one bincount over the rows (rater_scores has a row per employee and item)."""
    texts, index = _rater_rule_texts(rater_scores, employee_ids, rows)
    return np.asarray(texts, dtype=object)[index]


def _rater_rule_texts(rater_scores: pd.DataFrame, employee_ids: pd.Index, rows: np.ndarray | None = None
                      ) -> tuple[list[str], np.ndarray]:
    """:func:`rater_rule_notes` as (distinct texts, index into them per employee)."""
    rule_codes, rule_texts = labelled_codes(rater_scores["rule"])
    notes_of = [[] if t == "all roles" else str(t).split("; ") for t in rule_texts]
    distinct = sorted({note for notes in notes_of for note in notes})
    if rows is None:  # (``rows``: these positions, when already looked up)
        rows = positions(rater_scores["employee_id"], employee_ids)
    ok = (rows >= 0) & (rule_codes >= 0)
    masks = []
    for note in distinct:
        text_has = np.array([note in notes for notes in notes_of] + [False])
        hit = text_has[rule_codes] & ok
        masks.append((np.bincount(rows[hit], minlength=len(employee_ids)) > 0, note))
    if not masks:
        return [""], np.zeros(len(employee_ids), dtype=np.int64)
    return _joined_notes(masks, "")
