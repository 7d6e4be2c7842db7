"""Shared customers (业绩分成): a deal's credit split between customer managers.

The optional ``credits`` table has one row per deal and manager: ``deal_id`` (a deal of the sales table),
``employee_id`` and ``share`` (a fraction in (0, 1]); the shares of a deal add up to 1 (checked when the data is
loaded). A deal without credit rows stays with the manager who booked it.

:func:`credited_sales` is the one place the split is applied: the engine's commission and every sales-sourced
indicator (loyalty) read the credited sales, so each manager is paid and scored on their share. Amounts are split
in whole cents (largest remainder within each deal), so the parts of a deal add up to its amount exactly:

    part_i = floor(|amount| x 100 x share_i) cents, the cents left over going one each to the largest
    remainders (ties: the credit row first in the table), with the amount's sign.

An appeal on a share moves credit between the deal's holders (:func:`rebalance_shares`): the appealed share is
set and the others are scaled so that the deal still adds up to 1, so the person who loses credit appears in
the appeal's diff beside the appellant.
"""
from __future__ import annotations

import threading
import weakref

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.arrays import ArrowStringArray

from compkit._arrays import (
    _category_table,
    _index_identity,
    _text_labels,
    as_text,
    cat_codes,
    labelled_codes,
    positions,
)
from compkit.i18n import M_

#: columns of the credits table
CREDIT_COLUMNS = ("deal_id", "employee_id", "share")
#: how far a deal's shares may be from 1 (shares are typed fractions such as 0.3333333333)
SHARE_TOLERANCE = 1e-6
#: sales columns split with the amount (money of the row)
SPLIT_COLUMNS = ("amount", "baseline")
#: sales rows per block of :meth:`CreditSplit.employee_positions` (64K: a block's codes and positions in the cache)
_ROW_BLOCK = 1 << 16


def split_cents(amount: np.ndarray, share: np.ndarray, deal: np.ndarray) -> np.ndarray:
    """Each credit row's part of its deal's amount, CNY, in whole cents; rows of one deal add up exactly to the
    deal's amount rounded to the cent.

    ``amount``: the deal's amount on every credit row; ``share``: the row's share; ``deal``: integer deal codes
    (rows of a deal need not be adjacent). Largest remainder: floor of |amount| x share in cents, then the
    leftover cents one each to the rows with the largest fractional parts (first row first on ties)."""
    amount = np.asarray(amount, dtype="float64")
    whole = np.rint(np.abs(amount) * 100.0)
    raw = whole * np.asarray(share, dtype="float64")
    floor = np.floor(raw + 1e-9)
    frac = raw - floor
    n_deals = int(deal.max()) + 1 if len(deal) else 0
    deal_total = np.zeros(n_deals)
    np.maximum.at(deal_total, deal, whole)  # the deal's amount (the same on each of its rows)
    left = deal_total - np.bincount(deal, weights=floor, minlength=n_deals)
    extra = (_ranks_in_deals(frac, deal) < left[deal]).astype("float64")
    return np.sign(amount) * (floor + extra) / 100.0 + 0.0


#: the most rows of one deal :func:`_ranks_in_deals` compares pairwise (a deal's holders: two or three)
_FEW_ROWS = 8


def _ranks_in_deals(frac: np.ndarray, deal: np.ndarray) -> np.ndarray:
    """Each row's rank within its deal (0: first) by fraction, largest first, ties in table order.

    Every deal's rows together and few (as the split makes them: a credited sales row's holders one after the
    other), no NaN: rank_i = the rows j of i's deal with frac_j > frac_i, or frac_j = frac_i and j before i,
    counted by comparing each row with the rows 1, 2, ... places away; else by a stable sort on (deal, -frac).

    Example: deals [0, 0, 1, 1, 1], fractions [.2, .7, .5, .5, .9] -> ranks [1, 0, 1, 2, 0]."""
    n = len(deal)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    change = deal[1:] != deal[:-1]
    starts = np.flatnonzero(np.r_[True, change])
    longest = int(np.diff(np.r_[starts, n]).max())
    if (longest <= _FEW_ROWS and len(starts) == int(np.count_nonzero(np.bincount(deal)))
            and not np.isnan(frac).any()):  # (as many runs of rows as deals: each deal in one run)
        run = np.cumsum(np.r_[False, change])
        rank = np.zeros(n, dtype=np.int64)
        for d in range(1, longest):
            same = run[d:] == run[:-d]  # rows i and i + d of one deal
            earlier, later = frac[:-d], frac[d:]
            rank[:-d] += same & (later > earlier)  # the later row first: a larger fraction
            rank[d:] += same & (earlier >= later)  # the earlier row first: a larger or equal fraction
        return rank
    order = np.lexsort((-frac, deal))  # (lexsort is stable: ties stay in table order)
    first = np.r_[True, deal[order][1:] != deal[order][:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - start
    return rank


class CreditSplit:
    """The credited sales (:func:`credited_sales`) without the copy: the sales table, the positions of its rows
    kept as they are (rows of deals without credits, in order) and one split row per credit holder of each
    credited row (its position in sales, its credit row, its deal code and share, and its part of each money
    column of :data:`SPLIT_COLUMNS`). Row i of the credited sales is sales row ``kept[i]`` for i below
    ``len(kept)``, else split row ``i - len(kept)``. The engine's commission and loyalty read the sales table's
    columns at these positions instead of a copy of every column (7.5M rows at 100,000 managers).

    ``split_credits`` makes it; :meth:`table` builds the credited sales table itself (``credited_sales``)."""

    def __init__(self, sales: pd.DataFrame, credits: pd.DataFrame | None) -> None:
        self.sales = sales
        self.credits = credits
        empty = np.zeros(0, dtype=np.int64)
        self.source, self.holder, self.deal = empty, empty, empty
        self.kept: np.ndarray | None = None  # boolean per sales row; None: every row kept (nothing split)
        self.kept_positions: np.ndarray | None = None
        self._n_kept: int | None = None
        self._sources: np.ndarray | None = None
        self.share = np.zeros(0)
        self.parts: dict[str, np.ndarray] = {}
        self._codes: dict[str, tuple[np.ndarray, pd.Index]] = {}
        self._columns: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self._holders: tuple | None = None  # (the index's key, what keeps it valid, the holders' positions)
        self._holders_lock = threading.Lock()
        if credits is None or len(credits) == 0:
            return
        source, holder, deal, credited = _credit_rows(sales["deal_id"], credits["deal_id"])
        if len(holder) == 0:
            return
        self.source, self.holder, self.deal = source, holder, deal
        self.kept = ~credited
        self.share = credits["share"].to_numpy(dtype="float64")[holder]
        for col in SPLIT_COLUMNS:
            if col in sales.columns:
                value = _numbers(sales[col])[source]
                parts = split_cents(np.where(np.isnan(value), 0.0, value), self.share, deal)
                self.parts[col] = np.where(np.isnan(value), np.nan, parts)

    @property
    def trivial(self) -> bool:
        """No row split: the credited sales are the sales table itself."""
        return self.kept is None

    def __len__(self) -> int:
        return len(self.sales) if self.kept is None else self.n_kept() + len(self.source)

    def n_kept(self) -> int:
        """How many sales rows are kept as they are (the credited sales' first rows), counted once per split."""
        if self._n_kept is None:
            self._n_kept = len(self.sales) if self.kept is None else int(np.count_nonzero(self.kept))
        return self._n_kept

    def codes(self, name: str) -> tuple[np.ndarray, pd.Index]:
        """(codes, labels) of the sales table's column ``name``, one per sales row (-1: missing), worked out once
        per split and shared by whoever asks (loyalty and the commission lines both read the months): a
        categorical's own codes, Arrow text dictionary-encoded in one pass (:func:`compkit._arrays.labelled_codes`)."""
        with self._lock:
            if name not in self._codes:
                self._codes[name] = labelled_codes(self.sales[name])
            return self._codes[name]

    def positions_kept(self) -> np.ndarray:
        """Positions in sales of the rows kept as they are (increasing)."""
        if self.kept_positions is None:
            self.kept_positions = (np.arange(len(self.sales), dtype=np.int64) if self.kept is None
                                   else self.sources()[:len(self.sources()) - len(self.source)])
        return self.kept_positions

    def sources(self) -> np.ndarray:
        """Position in sales of each credited sales row (read-only): the rows kept, in order, then each split row's
        sales row (as :meth:`table` takes them), worked out once per split. int32 (int64 beyond 2^31 - 1 sales
        rows): at 100,000 managers 30 MB held instead of 61, and the commission's gathers of it half the bytes."""
        kind = np.int32 if len(self.sales) <= np.iinfo(np.int32).max else np.int64
        with self._lock:
            if self._sources is None:
                if self.kept is None:
                    sources = np.arange(len(self.sales), dtype=kind)
                else:
                    sources = np.empty(self.n_kept() + len(self.source), dtype=kind)
                    at = 0
                    for lo in range(0, len(self.kept), _ROW_BLOCK):  # (no array of every kept position first)
                        part = np.flatnonzero(self.kept[lo:lo + _ROW_BLOCK])
                        np.add(part, lo, out=sources[at:at + len(part)])
                        at += len(part)
                    sources[at:] = self.source
                sources.flags.writeable = False
                self._sources = sources
            return self._sources

    def rows(self, values: np.ndarray) -> np.ndarray:
        """An array with one value per sales row, in the credited sales' rows (a split row takes its sales
        row's value): ``values`` itself when nothing is split."""
        values = np.asarray(values)
        if self.kept is None:
            return values
        return _kept_then(values, self.kept, self.n_kept(), values[self.source])

    def column(self, name: str) -> np.ndarray:
        """The credited sales' column ``name`` as float64 (money columns split: each split row its part), worked
        out once per split and shared (loyalty and the commission lines both read ``amount``): read-only, copy
        it to change it."""
        with self._lock:
            if name not in self._columns:
                values = _numbers(self.sales[name])
                if self.kept is not None:
                    split = self.parts[name] if name in self.parts else values[self.source]
                    values = _kept_then(values, self.kept, self.n_kept(), split)
                else:  # (the sales table's own array when it holds numbers: a copy of it)
                    values = values.copy()
                values = values.view()
                values.flags.writeable = False
                self._columns[name] = values
            return self._columns[name]

    def source_of(self, rows: np.ndarray) -> np.ndarray:
        """Positions in sales of the credited sales' rows ``rows`` (a split row: the row it was split from):
        :meth:`sources` at the rows, one gather (in its integers; nothing split: ``rows`` as int64)."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.kept is None:
            return rows
        return self.sources()[rows]

    def column_at(self, name: str, rows: np.ndarray, sources: np.ndarray | None = None) -> np.ndarray:
        """The credited sales' column ``name`` (float64, money columns split) at the rows ``rows`` (``sources``:
        their positions in sales, :meth:`source_of`, when the caller has them)."""
        rows = np.asarray(rows, dtype=np.int64)
        out = _numbers(self.sales[name])[self.source_of(rows) if sources is None else sources]
        if self.kept is not None and name in self.parts:
            n_kept = len(self.positions_kept())
            split = rows >= n_kept
            out[split] = self.parts[name][rows[split] - n_kept]
        return out

    def employee_codes(self) -> tuple[np.ndarray, pd.Index]:
        """(codes, labels) of the credited sales' ``employee_id`` as :func:`credited_sales` makes it (a
        categorical: the sales table's ids, then holders without sales of their own); missing -> -1."""
        (own, held), labels = self.employee_code_parts()
        return (own, labels) if self.kept is None else (np.concatenate([own[self.kept], held]), labels)

    def employee_code_parts(self) -> tuple[tuple[np.ndarray, np.ndarray], pd.Index]:
        """:meth:`employee_codes` by part: ((the code of each sales row's employee, of each split row's credit
        holder), labels); the credited sales' codes are the first at the rows kept, then the second."""
        ids = self.sales["employee_id"]
        if self.kept is None:
            if isinstance(ids.dtype, pd.CategoricalDtype):
                codes, labels = cat_codes(ids), ids.cat.categories
            else:
                codes, labels = pd.factorize(ids)
                labels = pd.Index(labels)
            return (codes, codes[:0]), labels
        (sales_codes, holder_codes), labels = _employee_codes(ids, self.credits["employee_id"])
        return (sales_codes, holder_codes[self.holder]), labels

    def employee_positions(self, index: pd.Index) -> np.ndarray:
        """Position in ``index`` of each credited sales row's employee (-1: not there), int32. Written into one
        array: the rows kept (a categorical's codes of those rows only, taken through its categories' positions in
        ``index`` a block of sales rows at a time), then the split rows' credit holders."""
        ids = self.sales["employee_id"]
        if self.kept is None:
            return positions(ids, index)
        n_kept = self.n_kept()
        out = np.empty(n_kept + len(self.holder), dtype=np.int32)
        own = out[:n_kept]
        if isinstance(ids.dtype, pd.CategoricalDtype):
            codes = cat_codes(ids)
            table = _category_table(ids.cat.categories, pd.Index(index))  # None: each code its position
            at = 0
            for lo in range(0, len(codes), _ROW_BLOCK):
                part = codes[lo:lo + _ROW_BLOCK][self.kept[lo:lo + _ROW_BLOCK]]
                if table is None:
                    own[at:at + len(part)] = part
                else:  # (code -1, missing, takes the table's trailing -1)
                    np.take(table, part, out=own[at:at + len(part)])
                at += len(part)
        else:
            own[...] = positions(ids, index)[self.kept]
        # (the credit rows' holders looked up, then taken per split row: no copy of the holders' texts)
        np.take(self.holder_positions(index), self.holder, out=out[n_kept:])
        return out

    def holder_positions(self, index: pd.Index) -> np.ndarray:
        """Position in ``index`` of each credit row's holder (the credits table's ``employee_id``; -1: not there),
        int32, read-only: looked up once per split for the last index asked (known by its data: another Index over
        the same ids is the same), which the commission's :meth:`employee_positions` and loyalty both read (at
        100,000 managers Arrow hashes the 100,000 ids at each look-up of the 236,168 holders: ~20 ms)."""
        index = pd.Index(index)
        if self.credits is None:
            return np.zeros(0, dtype=np.int32)
        key, held = _index_identity(index)
        with self._holders_lock:  # (a second thread asking meanwhile waits for this look-up instead of its own)
            if self._holders is None or self._holders[0] != key:
                found = positions(self.credits["employee_id"], index)
                found.flags.writeable = False
                self._holders = (key, held, found)
            return self._holders[2]

    def table(self) -> pd.DataFrame:
        """The credited sales table (:func:`credited_sales`)."""
        sales = self.sales
        if self.kept is None:
            return sales
        keep = len(self.positions_kept())
        source = self.sources()
        out = pd.DataFrame({col: _rows_at(sales[col], source, keep) for col in sales.columns}, copy=False)
        for col, parts in self.parts.items():
            column = pd.to_numeric(out[col], errors="coerce").to_numpy(dtype="float64", copy=True)
            column[keep:] = parts
            out[col] = column
        codes, labels = self.employee_codes()
        out["employee_id"] = pd.Categorical.from_codes(codes, categories=labels)
        out["credit_share"] = np.concatenate([np.ones(keep), self.share])
        return out


def _kept_then(values: np.ndarray, kept: np.ndarray, n_kept: int, tail: np.ndarray) -> np.ndarray:
    """``np.concatenate([values[kept], tail])`` (``n_kept``: how many ``kept`` are True) written into one array, the
    kept rows' values a block of rows at a time: no array of them first (58 MB of float64 for the 7.3 million sales
    rows kept at 100,000 managers, fresh memory in a new process) copied into it.

    Example: values [5, 6, 7], kept [True, False, True], tail [9] -> [5, 7, 9]."""
    out = np.empty(n_kept + len(tail), dtype=np.result_type(values.dtype, tail.dtype))
    at = 0
    for lo in range(0, len(values), _ROW_BLOCK):
        part = values[lo:lo + _ROW_BLOCK][kept[lo:lo + _ROW_BLOCK]]
        out[at:at + len(part)] = part
        at += len(part)
    if at != n_kept:
        raise ValueError(f"{n_kept} rows kept given, {at} found")
    out[at:] = tail
    return out


def _numbers(values: pd.Series) -> np.ndarray:
    """A column's values as float64 (text that is not a number: NaN), as ``pd.to_numeric(values, errors="coerce")``;
    a float64 column's own array, not a copy (read it, do not write it)."""
    if values.dtype == np.float64:
        return values.to_numpy()
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")


def split_credits(sales: pd.DataFrame, credits: pd.DataFrame | None) -> CreditSplit:
    """The shared deals' split of ``sales`` by ``credits`` (:class:`CreditSplit`): the credited sales as
    positions and parts, without copying the sales table."""
    return CreditSplit(sales, credits)


def credited_sales(sales: pd.DataFrame, credits: pd.DataFrame | None) -> pd.DataFrame:
    """The sales table with each credited deal's rows replaced by one row per credit holder: ``employee_id``
    the holder, ``amount`` (and ``baseline``, if present) the holder's part (:func:`split_cents`), the other
    columns copied, plus ``credit_share`` (1 for rows without credits). Rows of deals without credits are kept
    as they are, in their order, before the split rows (each credited row's holders in the credits table's order,
    credited rows in their order). ``employee_id`` is a categorical (the sales table's ids, then holders without
    sales of their own). ``sales`` is not modified.

    Built in one pass: the result's rows are positions in ``sales`` (:func:`credit_rows`), every column taken
    once at those positions; no per-row Python and no merge on text keys. (:class:`CreditSplit` gives the
    same rows without the copy.)"""
    return split_credits(sales, credits).table()


def _rows_at(values: pd.Series, source: np.ndarray, keep: int) -> pd.Series | np.ndarray:
    """``values`` at the positions ``source`` (a table's rows: the first ``keep`` in increasing order, the rest
    any), as ``values.take(source)``. Arrow text is filtered for the first part (a pass in order, cheaper than a
    gather of millions of texts) and gathered for the rest, the two joined as chunks without a copy."""
    if isinstance(values.array, ArrowStringArray):
        arrow = values.array.__arrow_array__()
        first = source[:keep]
        if keep == 0 or bool((first[1:] > first[:-1]).all()):  # increasing (and so distinct): a filter gives it
            mask = np.zeros(len(values), dtype=bool)
            mask[first] = True
            kept = arrow.filter(pa.array(mask))
            extra = arrow.take(pa.array(source[keep:]))
            joined = pa.chunked_array(kept.chunks + extra.chunks, type=arrow.type)
            return pd.Series(ArrowStringArray(joined, dtype=values.dtype), copy=False)
    return values.take(source).reset_index(drop=True)


def credit_rows(deal_ids: pd.Series, credit_deals: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each row of the credited sales table comes from: (positions in the sales table, the credit row of
    each split row, the split row's deal code). Rows of deals without credits first, in order; then, for each
    credited sales row in order, one row per credit row of its deal, in the credits table's order (as an inner
    merge of the credited rows with the credits keeps them)."""
    split_source, holder, deal, credited = _credit_rows(deal_ids, credit_deals)
    return np.concatenate([np.flatnonzero(~credited), split_source]), holder, deal


def _credit_rows(deal_ids: pd.Series, credit_deals: pd.Series
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """As :func:`credit_rows`, the split rows only: (their positions in the sales table, their credit rows,
    their deal codes, a boolean per sales row: its deal has credits)."""
    deal_codes, uniques, found = _deal_look_up(deal_ids, credit_deals)
    credited = found >= 0
    rows = np.flatnonzero(credited)
    # the credit rows of each deal, in table order: stably sorted by deal code, a start and a count per deal
    by_deal = np.argsort(deal_codes, kind="stable")
    count = np.bincount(deal_codes[deal_codes >= 0], minlength=len(uniques))
    start = np.concatenate([[0], np.cumsum(count)[:-1]]) if len(count) else count
    k = found[rows]
    n_each = count[k]
    holder_start = np.repeat(start[k], n_each)
    within = np.arange(n_each.sum()) - np.repeat(np.cumsum(n_each) - n_each, n_each)
    holder = by_deal[holder_start + within]
    return np.repeat(rows, n_each), holder, np.repeat(k, n_each), credited


#: the last look-up of the sales' deal ids among the credits' deals (the loader's check makes it): weak references
#: to the two Arrow text columns it was made on (immutable: the same objects, the same texts) and its result. The
#: credits' split of the same columns takes it instead of looking millions of ids up again; the entry goes when
#: either column is freed
_LAST_LOOK_UP: dict[str, tuple] = {}


def _arrow_text(values: pd.Series) -> pa.ChunkedArray | None:
    """The Arrow array holding a text column (``string`` dtype), or None."""
    return values.array.__arrow_array__() if isinstance(values.array, ArrowStringArray) else None


def _deal_look_up(deal_ids: pd.Series, credit_deals: pd.Series) -> tuple[np.ndarray, pd.Index, np.ndarray]:
    """(the credits' deal codes, their distinct deals in order of first appearance, the position among them of
    each sales row's deal (int32, -1: not credited or missing)). The positions are those the last look-up on the
    same two Arrow columns found (the loader's :func:`share_problems`), else looked up now and kept."""
    deal_ids, credit_deals = as_text(deal_ids), as_text(credit_deals)
    sales_text, credit_text = _arrow_text(deal_ids), _arrow_text(credit_deals)
    last = _LAST_LOOK_UP.get("last")  # (read once: another thread may replace it meanwhile)
    if (sales_text is not None and credit_text is not None and last is not None
            and last[0]() is sales_text and last[1]() is credit_text):
        n, rows, at = last[2]
        found = np.full(n, -1, dtype=np.int32)
        found[rows] = at
        deal_codes, uniques = last[3]  # (the credits' deals as the look-up numbered them: read-only)
        return deal_codes, uniques, found
    deal_codes, uniques = pd.factorize(credit_deals)
    uniques = pd.Index(uniques)
    found = _deal_positions(deal_ids, uniques)
    if sales_text is not None and credit_text is not None:
        def forget(_: object) -> None:
            _LAST_LOOK_UP.clear()
        # kept as the credited rows and their deals only (a few per cent of the sales rows), not a code per sales
        # row: it is held as long as the data are (at 100,000 managers 2 MB instead of 29 MB through evaluate);
        # and the credits' deal codes and distinct deals (a code per credit row: 2 MB; the split then does not
        # hash the credits' deal ids again, 18 ms)
        rows = np.flatnonzero(found >= 0).astype(np.int32 if len(found) < 2 ** 31 else np.int64)
        kept_codes = deal_codes.view()
        kept_codes.flags.writeable = False
        try:
            entry = (weakref.ref(sales_text, forget), weakref.ref(credit_text, forget), (len(found), rows, found[rows]),
                     (kept_codes, uniques))
        except TypeError:  # pragma: no cover - Arrow arrays take weak references
            return deal_codes, uniques, found
        _LAST_LOOK_UP["last"] = entry
    return deal_codes, uniques, found


def _deal_positions(deal_ids: pd.Series, deals: pd.Index) -> np.ndarray:
    """:func:`compkit._arrays.positions` of the sales' deal ids (millions) among the credited deals (int32, -1:
    not credited or missing). Arrow text: only the ids as long (in bytes) as some credited deal's id are looked
    up; the lengths come from the text's offsets without reading the texts, and every other id cannot be one of
    them (deal ids of different kinds often differ in length, e.g. D0000022 and DP00326901: 0.27 s instead of
    0.48 s of CPU at 100,000 managers, whose credited deals are all of one length)."""
    if not isinstance(deal_ids.array, ArrowStringArray) or len(deals) == 0 or deals.inferred_type != "string":
        return positions(deal_ids, deals)
    arrow = deal_ids.array.__arrow_array__()
    wanted = _text_labels(deals, arrow.type)
    lengths = pc.fill_null(pc.binary_length(arrow), -1).to_numpy(zero_copy_only=False)  # missing: -1
    kinds = np.unique(pc.binary_length(wanted).to_numpy(zero_copy_only=False))
    if len(kinds) > 8:  # deal ids of many lengths: look every id up
        return positions(deal_ids, deals)
    candidate = np.zeros(len(lengths), dtype=bool)
    for length in kinds:
        candidate |= lengths == length
    n_candidates = int(candidate.sum())
    if n_candidates > 0.8 * len(arrow):  # hardly any left out: look every id up
        return positions(deal_ids, deals)
    found = np.full(len(arrow), -1, dtype=np.int32)
    if n_candidates:
        at = pc.index_in(arrow.filter(pa.array(candidate)), value_set=wanted)
        found[candidate] = at.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    return found


def _employee_codes(sales_ids: pd.Series, holders: pd.Series) -> tuple[tuple[np.ndarray, np.ndarray], pd.Index]:
    """Codes of the sales table's employee ids and of the credit holders' ids in one set of labels (the sales
    table's categories, or its distinct ids, then holders not among them); missing -> -1."""
    if isinstance(sales_ids.dtype, pd.CategoricalDtype):
        sales_codes, labels = cat_codes(sales_ids), pd.Index(sales_ids.cat.categories.astype(object))
    else:
        sales_codes, labels = pd.factorize(sales_ids.astype(object))
        labels = pd.Index(np.asarray(labels, dtype=object))
    holder_text = holders.astype("string")  # Arrow text: looked up by Arrow, no Python string per holder
    holder_codes = positions(holder_text, labels)
    unknown = (holder_codes < 0) & holders.notna().to_numpy()
    if unknown.any():  # holders without sales of their own: new labels, in order of first appearance
        new = pd.unique(holder_text.to_numpy(dtype=object)[unknown])
        labels = labels.append(pd.Index(np.asarray(new, dtype=object)))
        holder_codes = positions(holder_text, labels)
    return (np.asarray(sales_codes), np.asarray(holder_codes)), labels


def share_problems(credits: pd.DataFrame, deal_ids: pd.Series) -> list[tuple[int, str, object, str]]:
    """Rules of the credits table: (row position, column, value, expected) for each problem.

    share in (0, 1]; deal_id a deal of the sales table; the shares of a deal add up to 1 (reported on the
    deal's first row, with the sum found)."""
    out: list[tuple[int, str, object, str]] = []
    share = credits["share"].to_numpy(dtype="float64")
    for i in np.flatnonzero(~((share > 0) & (share <= 1))):
        out.append((int(i), "share", float(share[i]), M_("a share above 0 and at most 1")))
    deals = credits["deal_id"].astype("string")
    # each credit row's deal among the sales' deal ids: the sales' ids looked up among the credits' few distinct
    # deals, as the split looks them up (and kept for it: :func:`_deal_look_up`)
    deal_codes, uniques, found = _deal_look_up(deal_ids, deals)
    in_sales = np.zeros(len(uniques) + 1, dtype=bool)
    in_sales[found[found >= 0]] = True
    known = in_sales[deal_codes]  # code -1 (missing) takes the trailing False
    for i in np.flatnonzero(~known):
        out.append((int(i), "deal_id", str(deals.iloc[i]), M_("a deal_id of the sales table")))
    total = pd.Series(share).groupby(deals.to_numpy()).transform("sum").to_numpy()
    first = ~deals.duplicated().to_numpy()
    for i in np.flatnonzero(first & (np.abs(total - 1.0) > SHARE_TOLERANCE)):
        out.append((int(i), "share", float(share[i]),
                    M_("shares of deal {deal} adding up to 1 (they add up to {total:.6g})", deal=deals.iloc[i],
                       total=total[i])))
    return out


def rebalance_shares(credits: pd.DataFrame, changed: np.ndarray) -> pd.DataFrame:
    """A copy of ``credits`` where, in each deal with a changed row (``changed``: boolean per row), the other
    rows' shares are scaled so that the deal adds up to 1 again: other_i x (1 - sum changed) / sum others. (With
    two holders: the other holder gets 1 - the appealed share.) A deal whose other holders had no share left
    keeps them at 0 (the loader then reports the sum)."""
    out = credits.copy()
    share = out["share"].to_numpy(dtype="float64").copy()
    deal = out["deal_id"].astype("string").to_numpy()
    codes = pd.factorize(deal)[0]
    touched = np.bincount(codes, weights=changed.astype(float), minlength=codes.max() + 1 if len(codes) else 0) > 0
    fixed = np.bincount(codes, weights=np.where(changed, share, 0.0), minlength=len(touched))
    others = np.bincount(codes, weights=np.where(changed, 0.0, share), minlength=len(touched))
    scale = np.divide(1.0 - fixed, others, out=np.zeros_like(others), where=others > 0)
    move = touched[codes] & ~changed
    share[move] = np.round(share[move] * scale[codes][move], 12)
    out["share"] = share
    return out
