"""Commission (提成): rates, tiers, the cycle-to-date true-up, reversals and clawbacks, the gate and the cap.

All amounts are in the policy's currency (CNY). The rules, as DESIGN.md section 4 and REFERENCES.md state them:

Tiers
    A tier table is a list of upper bounds ``u_0 < u_1 < ... < u_{K-1} = inf`` with rates ``r_k``; tier k holds
    the amounts in ``(l_k, u_k]`` where ``l_0 = 0`` and ``l_k = u_{k-1}``. An amount exactly equal to a tier's
    ``upto`` stays in that tier (it has *reached* the next tier only once it is above the bound).

    marginal (graduated)   C(a) = sum_k r_k * clip(a - l_k, 0, u_k - l_k)       each slice at its own rate
    retroactive (whole)    C(a) = a * r_k  for the k with l_k < a <= u_k          whole amount at one rate

    A negative amount (more reversed than sold) earns ``r_0 * a`` under both methods: a reversal that stays in
    the first tier gives back exactly what was paid on it. A flat ``rate`` is one open tier; ``rate_per_10k``
    r (元 per 万元) is the rate r / 10,000.

Cycle-to-date true-up (``accumulate: cycle_to_date``)
    The basis of month t is the sum of the month's amounts (reversals negative); the cumulative basis B_t is
    the sum through month t; the cumulative commission is C_t = tiered(B_t). Month t pays the true-up
    ``round_cents(C_t) - round_cents(C_{t-1})`` (C_0 = 0): lines are differences of *rounded* cumulatives, so
    the cycle's lines of an employee and product add up exactly to ``round_cents(C_final)``. When the
    cumulative basis crosses into a retroactive tier, the month's line includes the back-pay on the earlier
    months' amounts; a reversal that lowers the cumulative basis gives a negative line: a clawback line, kept.

Month by month (``accumulate: month``)
    Each month's basis is tiered alone: line_t = round_cents(tiered(basis_t)); a negative month is a clawback.

Year-end settlement (:func:`settle`)
    gross = sum of the lines; the gate (composite < min_composite: factor_below) and the cap
    (times_annual_base x prorated annual base) apply to a positive gross only; final = min(gross x factor,
    cap); settlement = final - gross <= 0 is one more line, so the commission table adds up to the final
    commission to the cent.

Functions are vectorised over whole columns (numpy); the only Python loops run over the handful of products.
Inputs are validated by the policy and data layers (DESIGN.md section 7); the functions here trust them.
"""
from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import ArrayLike
from pandas.arrays import ArrowStringArray

from compkit._arrays import _LOW_BYTES, cat_codes, categories_dtype, codes_used, positions, row_codes
from compkit.credits import CreditSplit
from compkit.money import running_sums, whole_cents
from compkit.policy import Commission, Product, Quota, Tier

#: the ``product`` of the year-end settlement line that :func:`lines_with_settlement` appends
SETTLEMENT = "settlement"
#: columns of :func:`commission_lines`, in order
LINE_COLUMNS = ("employee_id", "period", "product", "basis", "cumulative_basis", "cumulative_commission",
                "paid_to_date", "commission", "clawback")
#: columns of :func:`settle`, in order (index: employee_id)
SETTLE_COLUMNS = ("gross", "gate_factor", "after_gate", "cap_amount", "capped", "final", "settlement", "reason")
METHODS = ("marginal", "retroactive")

TierTable = Sequence[Tier] | tuple[Sequence[float], Sequence[float]]


# ------------------------------------------------------------------------------------------------- tiers


def tier_arrays(tiers: TierTable) -> tuple[np.ndarray, np.ndarray]:
    """(upper bounds, rates) as float arrays from a list of policy :class:`Tier` (``upto`` missing: +inf) or
    from a ``(upper_bounds, rates)`` pair as :meth:`Product.tier_table` returns. Bounds in CNY, rates as
    fractions of the amount."""
    if len(tiers) > 0 and all(isinstance(t, Tier) for t in tiers):
        bounds = [math.inf if t.upto is None else float(t.upto) for t in tiers]  # type: ignore[union-attr]
        rates = [float(t.rate) for t in tiers]  # type: ignore[union-attr]
    else:
        bounds, rates = tiers  # type: ignore[misc]
    return np.asarray(bounds, dtype="float64"), np.asarray(rates, dtype="float64")


def _terms(bounds: np.ndarray, rates: np.ndarray, method: str) -> np.ndarray:
    """Per tier k the terms (u_k, l_k, S_k, r_k) of C(a) = S_k + r_k * (a - l_k), shape (4, K).

    marginal: l_k = u_{k-1} (l_0 = 0) and S_k = sum_{j<k} r_j * (u_j - l_j); retroactive: l_k = S_k = 0."""
    if method not in METHODS:
        raise ValueError(f"unknown tier method {method!r}: expected 'marginal' or 'retroactive'")
    if method == "retroactive":
        lower = below = np.zeros_like(rates)
    else:
        lower = np.concatenate(([0.0], bounds[:-1]))
        below = np.concatenate(([0.0], np.cumsum(rates[:-1] * (bounds[:-1] - lower[:-1]))))
    return np.stack([bounds, lower, below, rates])


#: tier terms worked out per (bounds, rates, method), read-only (:func:`_terms_of`): a Monte Carlo applies the
#: same few tables tens of thousands of times, each on a small piece of its arrays
_TERMS_SEEN: dict[tuple[bytes, bytes, str], np.ndarray] = {}
_TERMS_KEPT = 256


def _terms_of(bounds: np.ndarray, rates: np.ndarray, method: str) -> np.ndarray:
    """:func:`_terms` of a tier table, remembered by its bounds, rates and method (the same array values:
    read-only, shared by the callers)."""
    key = (np.asarray(bounds, dtype="float64").tobytes(), np.asarray(rates, dtype="float64").tobytes(), method)
    terms = _TERMS_SEEN.get(key)
    if terms is None:
        terms = _terms(bounds, rates, method)
        terms.flags.writeable = False
        if len(_TERMS_SEEN) >= _TERMS_KEPT:
            _TERMS_SEEN.clear()
        _TERMS_SEEN[key] = terms
    return terms


def _first_tier(a: np.ndarray, terms: np.ndarray, out: np.ndarray | None = None,
                wide_rates: np.ndarray | None = None) -> np.ndarray:
    """:func:`_apply` where every amount is in its product's first tier (k = 0): S_0 + r_0 * (a - l_0), the
    products on the last axis of ``a``; into ``out`` when given (as :func:`_apply`). ``wide_rates``
    (optional): the rates r_0 laid out over at least a's rows (:func:`_wide_rates`), read."""
    lower, below, rates = terms[:, 1, 0], terms[:, 2, 0], terms[:, 3, 0]
    if wide_rates is not None:
        # the same rate per element, read along a's own rows (one long loop instead of a loop per row of products)
        rates = wide_rates[:len(a)]
    # a - 0.0 is a itself (to the bit), so the first tier's lower bound 0 needs no pass of its own
    out = (np.multiply(rates, a, out=out) if not lower.any()
           else np.multiply(rates, np.subtract(a, lower), out=out))
    if not below.any() and not np.signbit(below).any():
        out += 0.0  # S_0 all +0.0 (always, as _terms makes them): + 0.0 per element, the same bits, in one loop
    else:
        np.add(below, out, out=out)
    return out


def _wide_rates(terms: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
    """The first tier's rates r_0 of ``terms`` (one per product, the last axis) laid out over ``shape``
    (C-ordered) for :func:`_first_tier`; None when :func:`_apply` does not go through it on the whole grid
    (every product with tiers) or there is only one product (nothing to gain)."""
    if terms.shape[0] < 2 or (terms[:, 0, :-1] != np.inf).any(axis=1).all():
        return None
    return np.ascontiguousarray(np.broadcast_to(terms[:, 3, 0], shape))


def _apply(a: np.ndarray, terms: np.ndarray, out: np.ndarray | None = None,
           wide_rates: np.ndarray | None = None) -> np.ndarray:
    """C(a) = S_k + r_k * (a - l_k) with k = number of upper bounds strictly below a (so an amount equal to
    u_k stays in tier k; a <= 0 and NaN: k = 0). ``terms``: shape (Q, 4, K), one table per product, padded
    with +inf bounds; the last axis of ``a`` runs over the Q products. ``out`` (optional): a float64 array of
    a's shape, not overlapping ``a``, to write C(a) into (the same bits as a new array). ``wide_rates``: as for
    :func:`_first_tier` (:func:`_wide_rates` of these terms), used where the first tier's arithmetic runs on the
    whole grid."""
    n_q, _, n_k = terms.shape
    if n_k == 1:  # one open tier per product: k = 0 everywhere, the same arithmetic without the look-ups
        return _first_tier(a, terms, out, wide_rates)
    # products whose bounds below the last are all +inf (one open tier, padded): k = 0 for them
    multi = np.flatnonzero((terms[:, 0, :-1] != np.inf).any(axis=1))
    if len(multi) < n_q:
        # most products with one open tier: tier 0's arithmetic on the whole grid, then each product with tiers
        # worked out on its own (the same arithmetic as below) and written over its column (one product with one
        # open tier, padded, as the Monte Carlo hands a product's row of the products' table: tier 0's arithmetic)
        out = _first_tier(a, terms, out, wide_rates)
        for i in multi.tolist():
            out[..., i] = _apply(a[..., i:i + 1], terms[i:i + 1])[..., 0]
        return out
    k = np.zeros(a.shape, dtype=np.intp)
    for j in range(n_k - 1):  # the last bound is +inf: never below a
        k += a > terms[:, 0, j]
    if n_q > 1:
        k += np.arange(n_q) * n_k
    lower, below, rates = (terms[:, i, :].ravel() for i in (1, 2, 3))
    # below[k] + rates[k] * (a - lower[k]), computed in two buffers (the grid has millions of cells)
    out = np.take(lower, k, out=out)
    np.subtract(a, out, out=out)
    scratch = np.take(rates, k)
    np.multiply(scratch, out, out=out)
    np.take(below, k, out=scratch)
    np.add(scratch, out, out=out)
    return out


def tiered(amount: ArrayLike, tiers: TierTable, method: str = "marginal") -> np.ndarray:
    """Commission on ``amount`` (CNY) under a tier table; returns CNY, unrounded, same shape as ``amount``.

    Tier k holds (l_k, u_k] with l_0 = 0, l_k = u_{k-1}, u_{K-1} = inf (an amount equal to ``upto`` stays in
    that tier).

    - ``marginal`` (graduated): C(a) = sum_k r_k * clip(a - l_k, 0, u_k - l_k), computed as
      C(a) = S_k + r_k * (a - l_k) for the tier k of a, with S_k = sum_{j<k} r_j * (u_j - l_j).
    - ``retroactive`` (whole amount): C(a) = r_k * a for the tier k of a.
    - a < 0 (more reversed than sold): C(a) = r_0 * a under both methods, so a reversal in the first tier
      gives back exactly what was paid on it.

    Example (1% to 1M, 1.5% to 5M, 2% above; a = 6,000,000): marginal 10,000 + 60,000 + 20,000 = 90,000;
    retroactive 6,000,000 x 2% = 120,000. Raises ValueError for an unknown method.
    """
    a = np.asarray(amount, dtype="float64")
    terms = _terms_of(*tier_arrays(tiers), method)
    # one table (Q = 1) applies to every element, whatever the shape (no copy of a strided view)
    return _apply(a.reshape(1) if a.ndim == 0 else a, terms[None]).reshape(a.shape)


def quota_tiered(amount: ArrayLike, target: ArrayLike, quota: Quota, base_rate: float) -> np.ndarray:
    """Commission under quota-relative tiers (accelerators / decelerators), CNY, unrounded.

    Attainment x = a / T (a: the basis, T: the person's own target, CNY). The bands (l_k, u_k] of attainment
    carry the rates base_rate x m_k (m_k: the band's multiplier), so

      C(a) = T x tiered(a / T, (u, base_rate x m), quota.method)

    marginal: each slice of the basis between l_k x T and u_k x T at base_rate x m_k; retroactive: the whole
    basis at base_rate x m_k of the band reached. With no target (missing, zero or negative T): base_rate x a
    (``if_no_target: base``) or 0 (``zero``).

    Example (base rate 1%; bands: to 80% x0, to 100% x1, to 150% x1.5, above x2; T = 1,000,000,
    a = 1,200,000): marginal 0 + 200,000 x 1% + 200,000 x 1.5% = 2,000 + 3,000 = 5,000; retroactive
    1,200,000 x 1.5% = 18,000.
    """
    a = np.asarray(amount, dtype="float64")
    t = np.broadcast_to(np.asarray(target, dtype="float64"), a.shape)
    has = np.isfinite(t) & (t > 0)
    bounds = np.array([math.inf if b.upto is None else float(b.upto) for b in quota.tiers])
    rates = np.array([base_rate * b.multiplier for b in quota.tiers])
    safe = np.where(has, t, 1.0)
    out = safe * tiered(a / safe, (bounds, rates), quota.method)
    fallback = base_rate * a if quota.if_no_target == "base" else np.zeros_like(a)
    return np.where(has, out, fallback)


@dataclass(frozen=True)
class ProductRates:
    """A product's tier table: upper bounds (CNY, last +inf), rates (fractions of the amount) and method;
    ``per_year`` 12 for a balance product (annual rates paid monthly), else 1; ``quota`` and ``base_rate`` for
    quota-relative tiers."""

    product: str
    bounds: np.ndarray
    rates: np.ndarray
    method: str
    per_year: int = 1
    quota: Quota | None = None
    base_rate: float = 0.0

    def commission(self, amount: ArrayLike, target: ArrayLike | None = None) -> np.ndarray:
        """Commission in CNY, unrounded: tiered(amount, (bounds, rates), method), or with a quota
        quota_tiered(amount, target, quota, base_rate) (no target given: the base rate); divided by 12 for a
        balance product (the month's pay on a month's balance)."""
        if self.quota is not None:
            t = np.full(np.shape(amount), np.nan) if target is None else target
            out = quota_tiered(amount, t, self.quota, self.base_rate)
        else:
            out = tiered(amount, (self.bounds, self.rates), self.method)
        return out / self.per_year if self.per_year != 1 else out


def product_rates(commission: Commission) -> dict[str, ProductRates]:
    """Per product id (policy order): its (bounds, rates, method). A flat ``rate`` r is one open tier at r; a
    ``rate_per_10k`` r (元 per 万元) is one open tier at r / 10,000 (6 -> 0.0006 of the amount)."""
    out = {}
    for p in commission.products:
        bounds, rates = tier_arrays(p.tier_table())
        out[p.id] = ProductRates(p.id, bounds, rates, p.method if p.tiers is not None else "marginal",
                                 per_year=12 if p.basis == "balance" else 1, quota=p.quota,
                                 base_rate=float(rates[0]) if p.quota is not None else 0.0)
    return out


# ------------------------------------------------------------------------------------- row bases (products)


def row_basis(sales: pd.DataFrame, product: Product, rows: np.ndarray) -> np.ndarray:
    """The commission basis of the sales rows ``rows`` (positions) of ``product``, CNY:

      amount x coefficient(row's ``coefficients.column`` value)     standard premium (折标) and the like
             x ftp_spread                                           when ``on_ftp_spread`` (FTP profit)

    A value missing from ``coefficients.values`` takes its ``default`` (the data layer rejects it when there is
    none; here it counts 0)."""
    amount = sales["amount"].to_numpy(dtype="float64")[rows]
    return amount * _row_factor(sales, product, rows)


def _row_factor(sales: pd.DataFrame, product: Product, rows: np.ndarray) -> np.ndarray:
    """The factor on the amount of the rows ``rows``: coefficient x FTP spread (each 1 when the product has
    none). The coefficient is looked up once per distinct value of its column among the rows."""
    factor = None  # (1 x f is f: the first factor is the factor itself)
    co = product.coefficients
    if co is not None:
        listed = list(co.values)
        codes = _label_positions(sales[co.column], rows, listed)  # short texts: from the column's bytes
        if codes is not None:
            labels = listed
        else:
            codes, labels = row_codes(sales[co.column], rows)
        fallback = co.default if co.default is not None else 0.0
        per_label = np.array([co.values.get(label, np.nan) for label in labels] + [np.nan], dtype="float64")
        # a label without a coefficient, and code -1 (missing: the trailing NaN), take the default: put in the short
        # table of labels, then read per row (one gather instead of a NaN test and a choice per row)
        factor = np.where(np.isnan(per_label), fallback, per_label)[codes]
    if product.on_ftp_spread:
        spread = _numbers_at(sales["ftp_spread"], rows)
        spread = np.where(np.isnan(spread), 0.0, spread)
        if factor is None:
            factor = spread
        else:
            factor *= spread
    return np.ones(len(rows)) if factor is None else factor


def _numbers_at(values: pd.Series, rows: np.ndarray) -> np.ndarray:
    """A column's values at the positions ``rows`` as float64 (text that is not a number: NaN)."""
    if values.dtype == np.float64:
        return values.to_numpy()[rows]
    return pd.to_numeric(values.iloc[rows], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


#: an odd 64-bit constant (2**64 / golden ratio): the high bits of a word times it hash the word
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _text_words(values: pd.Series, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """An Arrow text column's texts at the positions ``rows`` as (word, length): the text's first 8 UTF-8 bytes
    read as a little-endian 64-bit integer (bytes past the text's end zero; uint64) and its length in bytes
    (int64; missing: -1). Two texts of at most 8 bytes are equal exactly when their words and lengths are.
    Read from the column's offsets and bytes at the rows, chunk by chunk: no text is copied (Arrow's ``take`` of
    a million texts copies them, and the chunks of a column of many first). None for a column that is not Arrow
    text.

    Example: "ab" -> (0x6261, 2); "" -> (0, 0); missing -> (0, -1)."""
    if not isinstance(values.array, ArrowStringArray):
        return None
    chunks = values.array.__arrow_array__().chunks
    if not all(pa.types.is_string(c.type) or pa.types.is_large_string(c.type) for c in chunks):
        return None
    rows = np.asarray(rows, dtype=np.intp)
    if len(chunks) == 1:
        return _chunk_words(chunks[0], rows)
    words = np.zeros(len(rows), dtype=np.uint64)
    lengths = np.full(len(rows), -1, dtype=np.int64)
    bounds = np.cumsum([0] + [len(c) for c in chunks])
    # the rows in increasing order up to the first that is not (all of them, or the credited sales' rows kept, in
    # order, before the split rows): each chunk's rows among them a slice; the rest (few) grouped by chunk
    down = np.flatnonzero(rows[1:] < rows[:-1])
    cut = len(rows) if not len(down) else int(down[0]) + 1
    at = np.searchsorted(rows[:cut], bounds, side="left")
    rest = None
    if cut < len(rows):
        which = np.searchsorted(bounds, rows[cut:], side="right") - 1
        order = np.argsort(which, kind="stable")
        rest = (cut + order, np.searchsorted(which[order], np.arange(len(chunks) + 1), side="left"))
    for c, chunk in enumerate(chunks):
        parts: list[slice | np.ndarray] = [slice(int(at[c]), int(at[c + 1]))]
        if rest is not None:
            parts.append(rest[0][int(rest[1][c]):int(rest[1][c + 1])])
        for part in parts:
            if (part.stop - part.start if isinstance(part, slice) else len(part)):
                words[part], lengths[part] = _chunk_words(chunk, rows[part] - bounds[c])
    return words, lengths


def _chunk_words(chunk: pa.Array, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_text_words` of one Arrow string array (positions ``rows`` in it)."""
    width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    buffers = chunk.buffers()
    offsets = np.frombuffer(buffers[1], dtype=width)[chunk.offset:chunk.offset + len(chunk) + 1]
    starts = offsets[rows].astype(np.int64, copy=False)
    lengths = offsets[1:][rows].astype(np.int64, copy=False)
    lengths -= starts
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.zeros(0, dtype=np.uint8)
    n = len(data)
    # the 8 bytes from each start: a strided view of the bytes (nothing copied); texts starting in the last 7
    # bytes are read from a zero-padded copy of the buffer's end
    late = np.flatnonzero(starts > n - 8)
    late_starts = starts[late]
    if n >= 8:
        starts[late] = 0
        words = np.ndarray(shape=(n - 7,), dtype="<u8", buffer=data, strides=(1,))[starts]
    else:
        words = np.zeros(len(rows), dtype=np.uint64)
    if len(late):
        base = max(n - 8, 0)
        tail = np.zeros(16, dtype=np.uint8)
        tail[:n - base] = data[base:]
        words[late] = np.ndarray(shape=(9,), dtype="<u8", buffer=tail, strides=(1,))[late_starts - base]
    words &= _LOW_BYTES[np.minimum(lengths, 8)]  # bytes past the text's end (the next text's) cleared
    if chunk.null_count and buffers[0] is not None:
        # the validity bits of the chunk's own rows (a slice of a larger array shares its whole bitmap)
        first = chunk.offset // 8
        bitmap = np.frombuffer(buffers[0], dtype=np.uint8)[first:(chunk.offset + len(chunk) + 7) // 8]
        bits = np.unpackbits(bitmap, bitorder="little")
        lengths[bits[chunk.offset - 8 * first:][rows] == 0] = -1
    return words.astype(np.uint64, copy=False), lengths


def _word_positions(words: np.ndarray, lengths: np.ndarray, key_words: np.ndarray,
                    key_lengths: np.ndarray, rare: bool = False) -> np.ndarray:
    """Position among the keys (distinct words, each of a text of at most 8 bytes with its length) of each text
    given as (word, length) (:func:`_text_words`; -1: none of them, or missing), int32.

    ``rare``: most texts are none of the keys (the loan ids of the dated loans): only the texts whose hash of the
    word some key has are looked up in the keys' hash table (a flag per hash: 16 bits, 64 KB, for up to 4,096
    keys; 20 bits, 1 MB, for up to 65,536: a text that is no key passes with a chance of at most 1 in 16)."""
    if rare and len(key_words) <= 1 << 16:
        shift = np.uint64(48 if len(key_words) <= 1 << 12 else 44)
        flags = np.zeros(1 << (64 - int(shift)), dtype=bool)
        flags[(np.asarray(key_words, dtype=np.uint64) * _GOLDEN) >> shift] = True
        hashes = words * _GOLDEN
        hashes >>= shift
        maybe = np.flatnonzero(flags[hashes])
        out = np.full(len(words), -1, dtype=np.int32)
        out[maybe] = _word_positions(words[maybe], lengths[maybe], key_words, key_lengths)
        return out
    found = pd.Index(np.asarray(key_words, dtype=np.uint64)).get_indexer(words)
    # a text longer than 8 bytes, or missing (-1), has a length no key has; -1 (no word found) takes the -2
    same = np.append(np.asarray(key_lengths, dtype=np.int64), -2)[found] == lengths
    return np.where(same, found, -1).astype(np.int32, copy=False)


def _label_positions(values: pd.Series, rows: np.ndarray, labels: Sequence[str]) -> np.ndarray | None:
    """Position in ``labels`` (distinct texts) of the value of each row ``rows`` of an Arrow text column (-1:
    missing or another text), from the texts' bytes (:func:`_text_words`). None when the column is not Arrow
    text or a label is longer than 8 bytes (or two labels differ only in trailing NUL bytes).

    Example: values ["期交5", None, "趸交", "x"], labels ["趸交", "期交5"] -> [1, -1, 0, -1]."""
    keys = [label.encode("utf-8") if isinstance(label, str) else None for label in labels]
    if any(k is None or len(k) > 8 for k in keys):
        return None
    key_words = np.array([int.from_bytes(k, "little") for k in keys], dtype=np.uint64)
    if len(np.unique(key_words)) < len(keys):
        return None
    texts = _text_words(values, rows)
    if texts is None:
        return None
    return _word_positions(*texts, key_words, np.array([len(k) for k in keys], dtype=np.int64))


def npl_reversals(sales: pd.DataFrame, product: Product, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The NPL clawback of ``product`` (risk adjustment of loan commission), for its sales rows ``rows``.

    A loan (``loan_id``) turns non-performing on its ``npl_date`` (the earliest date on any row of the loan:
    rows are linked by loan id). Each disbursement row of month m whose loan turned non-performing on a date d
    with first-of-m <= d < first-of-m + N months (N = ``npl_clawback.months``) is reversed in d's month.
    Returns (positions of the reversed rows, their NPL month ``YYYY-MM``)."""
    hit, month = _npl_hits(sales, product, rows)
    return rows[hit], month


def _npl_hits(sales: pd.DataFrame, product: Product, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`npl_reversals` as (a boolean per row of ``rows``: reversed, the NPL month of each reversed row).
    ``rows`` may repeat a row (the credited sales' split rows, :class:`compkit.credits.CreditSplit`)."""
    npl = _dates_at(sales["npl_date"], rows).view(np.int64)
    missing, never = np.iinfo(np.int64).min, np.iinfo(np.int64).max  # NaT; no date
    loan = _dated_loan_codes(sales["loan_id"], rows, npl != missing)  # -1: no loan id, or never dated
    # only a row of a loan with a code can be reversed (loan ids as Arrow text: the dated loans' rows, a few per
    # cent of the product's): the rest worked out on those rows alone
    some = np.flatnonzero(loan >= 0)
    loan, npl = loan[some], npl[some]
    # the earliest NPL date of each loan (over its rows with a date), then on every row of the loan
    dated = npl != missing
    first = np.full(int(loan.max()) + 1 if len(loan) else 0, never)
    np.minimum.at(first, loan[dated], npl[dated])
    d = first[loan]
    # the window of each row's month: [first of the month, first of the month + N months), per distinct month
    month_codes, months = row_codes(sales["period"], np.asarray(rows)[some])
    start_m = pd.to_datetime(pd.Series(np.asarray(months, dtype=object), dtype=object) + "-01", errors="coerce")
    limit_m = start_m + pd.DateOffset(months=product.npl_clawback.months)
    start = np.append(start_m.to_numpy(dtype="datetime64[ns]").view(np.int64), missing)[month_codes]
    limit = np.append(limit_m.to_numpy(dtype="datetime64[ns]").view(np.int64), missing)[month_codes]
    valid = (start != missing) & (limit != missing)
    hit_some = (d != never) & valid & (d >= start) & (d < limit)
    hit = np.zeros(len(rows), dtype=bool)
    hit[some[hit_some]] = True
    # each hit's NPL month as text (YYYY-MM), written once per distinct month (the hits in row order)
    months, at = np.unique(d[hit_some].view("datetime64[ns]").astype("datetime64[M]"), return_inverse=True)
    return hit, np.datetime_as_string(months, unit="M").astype(object)[at]


def _dated_loan_codes(loan_ids: pd.Series, rows: np.ndarray, dated: np.ndarray) -> np.ndarray:
    """A code per row of ``rows`` for its loan (``loan_ids`` at the rows), equal codes for equal loan ids; -1 for
    a row without a loan id. Arrow text: only loans with an NPL date on one of the rows (``dated``, per row) get a
    code, every other row -1 (its loan has no date, so nothing is reversed): the loan ids of the few dated rows
    are looked up among the rows, instead of dictionary-encoding every row's id."""
    if not isinstance(loan_ids.array, ArrowStringArray) or not len(rows):
        return row_codes(loan_ids, rows)[0]
    texts = _text_words(loan_ids, rows)
    if texts is not None:  # the ids of the dated rows as (word, length); those of at most 8 bytes: by their bytes
        words, lengths = texts
        dated = np.asarray(dated, dtype=bool) & (lengths >= 0)
        key_words, inverse = np.unique(words[dated], return_inverse=True)
        key_lengths = np.full(len(key_words), -1, dtype=np.int64)
        key_lengths[inverse] = lengths[dated]
        if not len(key_words) or (key_lengths.max() <= 8 and (key_lengths[inverse] == lengths[dated]).all()):
            return _word_positions(words, lengths, key_words, key_lengths, rare=True)
    taken = loan_ids.array.__arrow_array__().take(pa.array(np.asarray(rows, dtype=np.int64)))
    if isinstance(taken, pa.ChunkedArray):
        taken = taken.combine_chunks()
    wanted = pc.unique(pc.drop_null(taken.filter(pa.array(np.asarray(dated, dtype=bool)))))
    found = pc.index_in(taken, value_set=wanted)
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)


def _dates_at(values: pd.Series, rows: np.ndarray) -> np.ndarray:
    """A column's values at the positions ``rows`` as datetime64[ns] (not a date: NaT)."""
    if values.dtype.kind == "M":
        return values.to_numpy()[rows].astype("datetime64[ns]", copy=False)
    return pd.to_datetime(values.iloc[rows], errors="coerce").to_numpy(dtype="datetime64[ns]")


def monthly_targets(metrics: pd.DataFrame | None, indicator: str, employees: pd.Index,
                    periods: pd.Index) -> np.ndarray:
    """(employees x months) sums of the ``target`` column of ``indicator`` in the metrics table, CNY; NaN
    where the person has no target row that month."""
    out = np.full((len(employees), len(periods)), np.nan)
    if metrics is None or len(metrics) == 0:
        return out
    rows = _rows_with(metrics["indicator"], indicator)
    e = _positions_at(metrics["employee_id"], rows, employees)
    p = _positions_at(metrics["period"], rows, periods)
    t = metrics["target"].to_numpy(dtype="float64")[rows]
    ok = (e >= 0) & (p >= 0) & ~np.isnan(t)
    flat = e[ok].astype(np.int64) * len(periods) + p[ok]
    t = t[ok]
    seen = np.zeros(out.size, dtype=bool)
    seen[flat] = True
    if np.count_nonzero(seen) == len(flat):
        # each cell has at most one row (a target per person and month, as the data contract keys them): its sum,
        # as bincount adds it from 0.0, is 0.0 + t (the same bits: +0.0 for -0.0), with no sums over every cell
        out.ravel()[flat] = t + 0.0
        return out
    sums = np.bincount(flat, weights=t, minlength=out.size)
    out.ravel()[seen] = sums[seen]
    return out


def _positions_at(values: pd.Series, rows: np.ndarray, index: pd.Index) -> np.ndarray:
    """``positions(values.iloc[rows], index)`` (int32, -1: absent or missing): a categorical column's codes taken at
    the rows and looked up through its categories (remembered per categories and index by
    :func:`compkit._arrays.positions`), with no Series of the rows taken by pandas first."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = cat_codes(values)[rows]
        return positions(pd.Series(pd.Categorical.from_codes(codes, dtype=values.dtype, validate=False)), index)
    return positions(values.iloc[rows], index)


def _rows_with(values: pd.Series, label: str) -> np.ndarray:
    """Positions of the rows whose value is ``label``, as ``np.flatnonzero(positions(values, [label]) == 0)``: a
    categorical column compares its codes with the label's code (a byte per row), not a position per row."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        at = positions(pd.Series(np.asarray(values.cat.categories, dtype=object)), pd.Index([label]))
        code = np.flatnonzero(at == 0)  # (distinct categories: at most one)
        if len(code) == 0:
            return np.zeros(0, dtype=np.intp)
        return np.flatnonzero(cat_codes(values) == code[0])
    return np.flatnonzero(positions(values, pd.Index([label])) == 0)


def _special_commission(product: Product, rates: ProductRates, basis: np.ndarray, cum_basis: np.ndarray,
                        baseline: np.ndarray | None, target: np.ndarray | None,
                        accumulate: str, cycle_target: np.ndarray | None = None,
                        month_too: bool = True) -> tuple[np.ndarray | None, np.ndarray]:
    """(month commission, cumulative commission), each employees x months, CNY unrounded, of a balance product
    or a product with quota tiers (``month_too`` False: the month commission may be None where it is not worked
    out on the way, the true-ups read the cumulative alone).

    balance: month_t = [f(b_t) + increase_rate / 10,000 x max(b_t - baseline_t, 0)] / 12 with f the product's
      rate, tiers or quota tiers against the month's target; cumulative = running sum.
    amount with a quota, cycle_to_date: C_t = quota_tiered(B_t, T) with T the target through month t
      (``to_date``) or the cycle's (``cycle``); month: month_t = quota_tiered(b_t, T_t) (the month's target).

    The months are the last axis; the arrays may carry leading axes (scenarios x employees x months, as
    :func:`special_cents` passes them), ``baseline``, ``target`` (employees x months) and ``cycle_target``
    (employees) broadcasting against them. An amount product with a quota under cycle_to_date may be given
    only the last L months of ``basis`` and ``cum_basis`` (L < the months of ``target``): C_t is then returned
    for those months alone (each depends only on its own B_t and T).
    """
    q = product.quota
    if product.basis == "balance":
        month = _balance_month(product, rates, basis, baseline, target)
        return month, running_sums(month)
    # an amount product with quota tiers
    t = np.where(np.isnan(target), 0.0, target)
    total = t.sum(axis=-1) if cycle_target is None else cycle_target  # the whole cycle's target (to date too)
    whole_cycle = np.broadcast_to(np.asarray(total)[..., None], t.shape)
    if accumulate == "cycle_to_date":
        whole = running_sums(t) if q.target == "to_date" else whole_cycle
        given = cum_basis.shape[-1]
        if given < whole.shape[-1]:  # only the last months' cumulative bases
            whole = whole[..., whole.shape[-1] - given:]
        cum = quota_tiered(cum_basis, whole, q, rates.base_rate)
        return (np.diff(cum, axis=-1, prepend=0.0) if month_too else None), cum
    per = t if q.target == "to_date" else whole_cycle
    month = quota_tiered(basis, per, q, rates.base_rate)
    return month, running_sums(month)


def _balance_month(product: Product, rates: ProductRates, basis: np.ndarray, baseline: np.ndarray | None,
                   target: np.ndarray | None) -> np.ndarray:
    """A balance product's pay of each month (CNY, unrounded): [f(b_t) + increase_rate / 10,000 x
    max(b_t - baseline_t, 0)] / 12, f the product's rate, tiers or quota tiers against the month's target."""
    if product.quota is not None:
        f = quota_tiered(basis, target, product.quota, rates.base_rate)
    else:
        f = tiered(basis, (rates.bounds, rates.rates), rates.method)
    if product.increase_rate_per_10k is not None and baseline is not None:
        increase = np.subtract(basis, baseline)
        np.maximum(increase, 0.0, out=increase)
        increase *= product.increase_rate_per_10k / 10000.0
        f += increase
    f /= 12.0
    return f


def special_cents(product: Product, rates: ProductRates, basis: np.ndarray, cum_basis: np.ndarray,
                  baseline: np.ndarray | None, target: np.ndarray | None, accumulate: str,
                  factor: np.ndarray | None = None) -> np.ndarray:
    """The cycle's commission of a balance product or a product with quota tiers in whole cents (float64),
    per person: the sum of the lines :func:`commission_lines` gives (months on the last axis, any leading axes,
    e.g. scenarios x people x months; see :func:`_special_commission`):

      cycle_to_date  round_cents(C_T)               (the true-ups round_cents(C_t) - round_cents(C_{t-1}) add
                                                     up to the last cumulative)
      month          sum_t round_cents(month_t)

    An amount product with a quota under cycle_to_date needs only the last month's cumulative basis B_T
    (``cum_basis[..., -1:]`` is enough; ``basis`` is then unused).

    ``factor`` (optional): the bases are ``basis x factor`` and ``cum_basis x factor`` (``factor`` broadcasting
    against one month's basis ``basis[..., t]``, e.g. a Monte Carlo's scenarios x people factors of the product
    on people x months bases), multiplied a month at a time where the rule goes month by month."""
    def month_of(t: int) -> np.ndarray:
        return basis[..., t] if factor is None else basis[..., t] * factor

    if product.basis == "balance" and accumulate == "cycle_to_date":
        # C_T = the running sum of the months' pay, added month by month in order (as np.cumsum adds them), each
        # month's pay worked out on its own (arrays of one month, not of all: the Monte Carlo's are large)
        total = None
        for t in range(basis.shape[-1]):
            month = _balance_month(product, rates, month_of(t), None if baseline is None else baseline[..., t],
                                   None if target is None else target[..., t])
            total = month if total is None else np.add(total, month, out=total)
        return whole_cents(total)
    if factor is not None:
        basis, cum_basis = basis * factor[..., None], cum_basis * factor[..., None]
    if product.basis == "balance":
        return whole_cents(_balance_month(product, rates, basis, baseline, target)).sum(axis=-1)
    month, cum = _special_commission(product, rates, basis, cum_basis, baseline, target, accumulate)
    if accumulate == "cycle_to_date":
        return whole_cents(cum[..., -1])
    return whole_cents(month).sum(axis=-1)


def _small_type(n: int) -> type:
    """The smallest signed integers that hold the positions 0 .. n - 1 and -1 (int8 below 128)."""
    return np.int8 if n < 2 ** 7 else np.int16 if n < 2 ** 15 else np.int32


def _small(table: np.ndarray, n: int) -> np.ndarray:
    """Positions (-1: none) among ``n`` labels as the smallest signed integers that hold them (int8 below 128)."""
    return table.astype(_small_type(n), copy=False)


def _small_positions(values: pd.Series, index: pd.Index) -> np.ndarray:
    """:func:`compkit._arrays.positions` of ``values`` in a short ``index`` (months, products) as small integers
    (:func:`_small`): a categorical column's categories are looked up once and their positions taken per row
    (a byte per row instead of four)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        table = positions(pd.Series(np.asarray(values.cat.categories, dtype=object)), index)
        return _recoded(_small(np.append(table, -1), len(index)), cat_codes(values))
    return _small(positions(values, index), len(index))


def _recoded(table: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``table[codes]``: each code's entry of a short table of small integers whose last entry, -1, is code -1's.
    A table that gives each code itself (the categories are the index, in its order): the codes as they are, in
    the table's integers (read-only); else taken a block of codes at a time (numpy widens each index to 64 bits
    before a take: a block's widened indices stay in the cache)."""
    n = len(table) - 1
    if np.array_equal(table[:-1], np.arange(n)):
        out = codes.astype(table.dtype, copy=False).view()
        out.flags.writeable = False
        return out
    out = np.empty(len(codes), dtype=table.dtype)
    for lo in range(0, len(codes), _ROW_BLOCK):
        np.take(table, codes[lo:lo + _ROW_BLOCK], out=out[lo:lo + _ROW_BLOCK])
    return out


def _baseline_grid(sales: pd.DataFrame, product: Product, rows: np.ndarray, e: np.ndarray, p: np.ndarray,
                   n_e: int, n_p: int) -> np.ndarray:
    """Last year's balance (``baseline`` column) per employee x month of a balance product, CNY: summed over the
    product's sales rows ``rows`` (positions, each with a known employee: ``e[rows] >= 0``), each row's
    baseline x its coefficient and FTP factor (as its balance); a missing baseline counts 0."""
    return _baseline_cells(_numbers_at(sales["baseline"], rows), _row_factor(sales, product, rows), rows, e, p,
                           n_e, n_p)


def _baseline_cells(base_rows: np.ndarray, factor: np.ndarray, rows: np.ndarray, e: np.ndarray, p: np.ndarray,
                    n_e: int, n_p: int) -> np.ndarray:
    """:func:`_baseline_grid` from the rows' baselines and factors (a missing baseline counts 0). A block of rows at
    a time (each row's baseline x factor and cell e x n_p + p in the cache), added into the cells one after another
    in row order from 0 (``np.add.at``), as bincount adds them: the same sums, bit for bit."""
    out = np.zeros(n_e * n_p)
    for lo in range(0, len(rows), _ROW_BLOCK):
        at = rows[lo:lo + _ROW_BLOCK]
        values = base_rows[lo:lo + _ROW_BLOCK]
        values = np.where(np.isnan(values), 0.0, values) * factor[lo:lo + _ROW_BLOCK]
        cells = e[at].astype(np.int64)
        cells *= n_p
        cells += p[at]
        np.add.at(out, cells, values)
    return out.reshape(n_e, n_p)


def baselines(sales: pd.DataFrame, commission: Commission, periods: Sequence[str],
              employees: Sequence[str]) -> dict[str, np.ndarray]:
    """Per balance product with an ``increase_rate_per_10k``: last year's balance per employee x month
    (CNY, employees x periods in the given orders), as :func:`commission_lines` computes the increase on."""
    employees_ix, periods_ix = pd.Index(list(employees)), pd.Index(list(periods))
    e = positions(sales["employee_id"], employees_ix)
    p = positions(sales["period"], periods_ix)
    product = sales["product"].astype(str).to_numpy()
    out = {}
    for pr in commission.products:
        if pr.basis == "balance" and pr.increase_rate_per_10k is not None:
            rows = np.flatnonzero(product == pr.id)
            rows = rows[(e[rows] >= 0) & (p[rows] >= 0)]
            out[pr.id] = _baseline_grid(sales, pr, rows, e, p, len(employees_ix), len(periods_ix))
    return out


def _product_terms(rates: dict[str, ProductRates]) -> np.ndarray:
    """The tier terms of every product, shape (Q, 4, K): shorter tables padded with +inf bounds."""
    tables = [_terms(r.bounds, r.rates, r.method) for r in rates.values()]
    n_k = max(t.shape[1] for t in tables)
    out = np.empty((len(tables), 4, n_k))
    for i, t in enumerate(tables):
        out[i, :, : t.shape[1]] = t
        out[i, :, t.shape[1]:] = t[:, -1:]
        out[i, 0, t.shape[1]:] = np.inf
    return out


# ------------------------------------------------------------------------------------------------- lines


@dataclass(frozen=True)
class CommissionBases:
    """What a commission's lines are worked out on, whatever its rates (:func:`commission_bases`): the grid's
    ``employees``, ``periods`` and ``products``; ``basis`` b_t and ``cumulative_basis`` B_t (employees x periods x
    products, CNY); per balance or quota product (by its position among the products) last year's balance
    (employees x periods, or None), the monthly targets (employees x periods, or None) and the whole cycle's
    targets (employees, interim only, or None); ``key`` the products' structure they hold for
    (:func:`bases_key`). :func:`lines_from_bases` applies a commission's rates to them."""

    employees: pd.Index
    periods: pd.Index
    products: pd.Index
    basis: np.ndarray
    cumulative_basis: np.ndarray
    special: dict[int, tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]]
    key: tuple


def bases_key(commission: Commission) -> tuple:
    """What of a commission its :class:`CommissionBases` depend on: per product (in order) its id, basis (amount or
    balance), coefficients, FTP spread, NPL clawback, whether it pays on the increase over last year's balance and
    its quota's indicator. Rates, tiers, methods, quota bands and the accumulation are applied to the bases
    (:func:`lines_from_bases`), so two commissions with the same key have the same bases."""
    return tuple((p.id, p.basis, None if p.coefficients is None else p.coefficients.model_dump_json(),
                  p.on_ftp_spread, None if p.npl_clawback is None else p.npl_clawback.model_dump_json(),
                  p.increase_rate_per_10k is not None, None if p.quota is None else p.quota.indicator)
                 for p in commission.products)


def commission_lines(sales: pd.DataFrame | CreditSplit, commission: Commission, periods: Sequence[str],
                     employees: Sequence[str] | None = None, metrics: pd.DataFrame | None = None,
                     cycle_periods: Sequence[str] | None = None) -> pd.DataFrame:
    """The commission table: one row per employee x month x product over the full grid (CNY).

    Rows: every employee of ``employees`` (default: the distinct ids of ``sales``, sorted) x every period of
    ``periods`` (the cycle's months, in order) x every product of the policy, sorted in that order. Sales rows
    outside the grid (another employee, period or product) are ignored; the data layer validates them.

    Columns
      employee_id, period, product   Categorical (grid order; ``period`` ordered); ``.astype(str)`` for text
      basis                  b_t = sum of the month's amounts (reversals negative)
      cumulative_basis       B_t = b_1 + ... + b_t
      cumulative_commission  cycle_to_date: C_t = tiered(B_t); month: sum_{s<=t} tiered(b_s) (unrounded)
      paid_to_date           sum of the earlier months' lines (rounded), before this month
      commission             the month's payable line:
                               cycle_to_date: round_cents(C_t) - round_cents(C_{t-1})   (the true-up)
                               month:         round_cents(tiered(b_t))
      clawback               the line is negative (a clawback line; never dropped)

    Sums are exact in cents for amounts given to the cent, so the result does not depend on the row order of
    ``sales``; the lines of an employee and product add up to round_cents(C_final) exactly.

    ``sales`` may be a :class:`compkit.credits.CreditSplit` (the engine's): the lines of the credited sales,
    read from the sales table at the split's positions instead of a copy of it (the same lines, bit for bit).

    Products priced as banks pay them (see :class:`compkit.policy.Product`): a row's basis is its amount x its
    coefficient (折标系数) x its FTP spread where the product says so (:func:`row_basis`); a loan turning
    non-performing within N months is reversed in its NPL month (:func:`npl_reversals`); balance products pay
    annual rates monthly (C_t = running sum of month_t, month_t = rate x b_t / 12, plus the increase over
    ``baseline``) and quota products rate the basis against each person's own target (:func:`quota_tiered`,
    targets from ``metrics``: the quota indicator's ``target`` column; ``cycle_periods``: the cycle's months when
    ``periods`` are only those to date, so that a quota against the whole cycle's target pays what the full
    evaluation pays for the same months).

    Worked out in two steps: :func:`commission_bases` (the grid's bases, whatever the rates), then
    :func:`lines_from_bases` (the rates applied).
    """
    return lines_from_bases(commission_bases(sales, commission, periods, employees, metrics, cycle_periods),
                            commission)


#: rows per block of :func:`commission_bases`' steps over the sales rows (64K: the block's arrays in the cache)
_ROW_BLOCK = 1 << 16


def _cents_and_rest(amount: np.ndarray, flat: np.ndarray, out: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's amount in whole cents, rint(amount x 100) (float64; into ``out``, which may be ``amount``
    itself, else a new array), and the rows whose amount has fractions of a cent: (their cells ``flat`` at them,
    their fractions amount - cents / 100, CNY), in row order. A row without fractions (most: amounts given to
    the cent) adds 0 to its cell's fractions, which changes no sum: it is left out (a few rows' cells and values
    instead of a second array of every row's). A block of rows at a time (its steps in the cache).

    Example: amounts [1.25, 0.125, -3.0] -> cents [125, 12, -300], fractions at row 1: 0.125 - 0.12 = 0.005."""
    n = len(amount)
    cents = np.empty(n) if out is None else out
    whole, frac = np.empty(min(n, _ROW_BLOCK)), np.empty(min(n, _ROW_BLOCK))
    cells, values = [], []
    for lo in range(0, n, _ROW_BLOCK):
        hi = min(lo + _ROW_BLOCK, n)
        w, f = whole[:hi - lo], frac[:hi - lo]
        np.multiply(amount[lo:hi], 100.0, out=w)
        np.rint(w, out=w)
        np.divide(w, 100.0, out=f)
        np.subtract(amount[lo:hi], f, out=f)
        some = np.flatnonzero(f)
        if len(some):
            cells.append(flat[lo:hi][some])
            values.append(f[some])
        cents[lo:hi] = w  # (after the fractions: ``out`` may be the amounts)
    if not cells:
        return cents, np.zeros(0, dtype=np.int64), np.zeros(0)
    return cents, np.concatenate(cells), np.concatenate(values)


def _cents_by_cells(e: np.ndarray, p: np.ndarray, q: np.ndarray, keep: np.ndarray, amount: np.ndarray,
                    factors: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]],
                    reversals: list[tuple[int, np.ndarray, np.ndarray]], shape: tuple[int, int, int]
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`commission_bases`' sums in whole cents over the employee x month x product grid (float64, the grid's
    shape) and the fractions of a cent apart (:func:`_cents_and_rest`: their cells and values, in row order), from
    every row's cell and amount at once: the rows with a cell (``keep``), in order, each amount x its factor
    (``factors``: per product position its rows, their sales rows and factors), then the NPL ``reversals`` (per
    product position the reversed rows and their NPL months' positions; each amount negated in its NPL month)."""
    n_e, n_p, n_q = shape
    every = bool(keep.all())
    # the rows summed into the grid, each as its cell (flat) and its amount: the rows kept, in order, then the NPL
    # reversals (each reversed row's amount negated, in its NPL month), written once into their places
    n_main = len(keep) if every else int(np.count_nonzero(keep))
    n_rows = n_main + sum(len(hit) for _, hit, _ in reversals)
    flat = np.empty(n_rows, dtype=np.int64)

    def kept(values: np.ndarray) -> np.ndarray:
        return values if every else values[keep]

    # each kept row's cell (e x n_p + p) x n_q + q, a block of rows at a time (the steps of a block in the cache)
    e_kept, p_kept, q_kept = kept(e), kept(p), kept(q)
    for lo in range(0, n_main, _ROW_BLOCK):
        hi = min(lo + _ROW_BLOCK, n_main)
        head = flat[lo:hi]
        head[...] = e_kept[lo:hi]
        head *= n_p
        head += p_kept[lo:hi]
        head *= n_q
        head += q_kept[lo:hi]
    del e_kept, p_kept, q_kept
    owned = not (every and not factors and n_rows == n_main)  # else the amounts as they are (not ours to write)
    if owned:
        # each row's amount x its coefficient and FTP factor (row_basis), never written into the sales table
        # (nor the split's shared column)
        amount_all = np.empty(n_rows)
        full = amount_all[:n_main] if every else amount.copy() if factors else amount
        if every:
            full[...] = amount
        for rows, _, factor in factors.values():
            full[rows] = full[rows] * factor
        if not every:
            amount_all[:n_main] = full[keep]
        at = n_main
        for i, hit, month_at in reversals:
            flat[at:at + len(hit)] = (e[hit].astype(np.int64) * n_p + month_at) * n_q + i
            amount_all[at:at + len(hit)] = -full[hit]
            at += len(hit)
        amount = amount_all
        del full, amount_all
    cents, rest_cells, rest = _cents_and_rest(amount, flat, amount if owned else None)
    del amount
    # (with no rows, bincount gives integers: float, as the sums of amounts are)
    basis_c = np.bincount(flat, weights=cents, minlength=n_e * n_p * n_q).astype("float64", copy=False)
    return basis_c.reshape(shape), rest_cells, rest


def _cents_by_blocks(e: np.ndarray, p: np.ndarray, q: np.ndarray, amount: np.ndarray,
                     factors: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]],
                     reversals: list[tuple[int, np.ndarray, np.ndarray]], shape: tuple[int, int, int]
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_cents_by_cells` (every row with a cell) without an array of every row's cell and amount: a block of
    rows at a time, each row's amount x its factor, its whole cents and its cell worked out in the cache and the
    cents added into their cells (``np.add.at``: one after another in row order, from 0, as bincount adds them:
    the same sums, bit for bit), then the NPL reversals. The fractions of a cent (:func:`_cents_and_rest`) in row
    order, as the plain path gives them."""
    n_e, n_p, n_q = shape
    n = len(e)
    # (with room for a settlement line per employee after it: the grid, divided into CNY, is the commission
    # table's basis column, which the table may then take in place, as it does the lines' own columns)
    grid = _with_room((n_e * n_p * n_q,), np.float64, n_e)
    grid[...] = 0.0
    block, cell = np.empty(min(n, _ROW_BLOCK)), np.empty(min(n, _ROW_BLOCK), dtype=np.int64)
    rest_cells, rest_values = [], []
    for lo in range(0, n, _ROW_BLOCK):
        hi = min(lo + _ROW_BLOCK, n)
        w, c = block[:hi - lo], cell[:hi - lo]
        w[...] = amount[lo:hi]
        for rows, _, factor in factors.values():  # each row's amount x its factor (row_basis)
            a, b = np.searchsorted(rows, (lo, hi))
            if b > a:
                at = rows[a:b] - lo
                w[at] = w[at] * factor[a:b]
        c[...] = e[lo:hi]  # each row's cell (e x n_p + p) x n_q + q
        c *= n_p
        c += p[lo:hi]
        c *= n_q
        c += q[lo:hi]
        w, cells, values = _cents_and_rest(w, c, w)
        if len(cells):
            rest_cells.append(cells)
            rest_values.append(values)
        np.add.at(grid, c, w)  # (sales rows come employee by employee: a few hundred employees' cells, in the cache)
    # each NPL reversal: the amount x its factor, negated, in its NPL month
    parts, cells = [np.zeros(0)], [np.zeros(0, dtype=np.int64)]
    for i, hit, month_at in reversals:
        reversed_ = amount[hit]
        if i in factors:
            rows, _, factor = factors[i]
            reversed_ = reversed_ * factor[np.searchsorted(rows, hit)]
        parts.append(-reversed_)
        cells.append((e[hit].astype(np.int64) * n_p + month_at) * n_q + i)
    w, c = np.concatenate(parts), np.concatenate(cells)
    w, more_cells, more_values = _cents_and_rest(w, c, w)
    np.add.at(grid, c, w)
    rest_cells.append(more_cells)
    rest_values.append(more_values)
    return grid.reshape(shape), np.concatenate(rest_cells), np.concatenate(rest_values)


#: employees per block of :func:`_running_sums_in_cny` (2,048 x 12 months x 7 products: 1.4 MB a grid block)
_GRID_BLOCK = 2048


def _running_sums_in_cny(cents: np.ndarray) -> np.ndarray:
    """The running sums over the months (axis 1) of a grid of cents, in CNY, ``np.cumsum(cents, axis=1) / 100``,
    and the grid itself divided by 100 in place, a block of employees at a time: each month's sums as the previous
    month's plus its own (as cumsum adds them: the same bits), a pass over a block in the cache per month instead
    of cumsum's short runs of 12 strided elements over the whole grid (51 -> 39 ms at 100,000 managers). The block
    is copied whole first and each month's sum added into its own month's copy (C_t = C_{t-1} + a_t, the operands
    in cumsum's order), so each addition reads one block, not two (32 -> 24 ms). The sums are made with room for a
    settlement line per employee after them (:func:`_with_room`): the commission table's cumulative_basis column,
    taken in place when the bases are not kept (:func:`held`)."""
    out = _with_room(cents.shape, cents.dtype, cents.shape[0])
    if cents.shape[1] == 0:
        return out
    for lo in range(0, cents.shape[0], _GRID_BLOCK):
        a, c = cents[lo:lo + _GRID_BLOCK], out[lo:lo + _GRID_BLOCK]
        np.copyto(c, a)
        for t in range(1, a.shape[1]):
            np.add(c[:, t - 1], c[:, t], out=c[:, t])
        c /= 100.0
        a /= 100.0
    return out


def _add_rest(basis: np.ndarray, cum_basis: np.ndarray, cells: np.ndarray, rest: np.ndarray) -> None:
    """Add the fractions of a cent ``rest`` of the rows in the flat ``cells`` of the employee x month x product
    grids (in row order) to ``basis`` (their sum per cell) and ``cum_basis`` (their running sum over the months),
    in place. Only the (employee, product) pairs with a fraction are summed and added: the others' sums are 0,
    whose addition changes nothing (the sums per cell in row order, and the running sums month by month, as a
    sum over the whole grid gives them: the same bits)."""
    _, n_p, n_q = basis.shape
    e, within = np.divmod(cells, n_p * n_q)
    p, q = np.divmod(within, n_q)
    pairs, which = np.unique(e * n_q + q, return_inverse=True)
    sums = np.bincount(which * n_p + p, weights=rest, minlength=len(pairs) * n_p).reshape(len(pairs), n_p)
    pair_e, pair_q = np.divmod(pairs, n_q)
    basis[pair_e, :, pair_q] += sums
    cum_basis[pair_e, :, pair_q] += np.cumsum(sums, axis=1)


def commission_bases(sales: pd.DataFrame | CreditSplit, commission: Commission, periods: Sequence[str],
                     employees: Sequence[str] | None = None, metrics: pd.DataFrame | None = None,
                     cycle_periods: Sequence[str] | None = None) -> CommissionBases:
    """The bases of :func:`commission_lines` (same arguments): the sales summed into the employee x month x
    product grid (each row's amount x its coefficient and FTP factor, NPL reversals in their month), the
    cumulative bases, and last year's balances and the quota targets of the products that read them. They do
    not depend on the rates: a commission that differs only in rates, tiers, methods or quota bands
    (:func:`bases_key`) has the same bases."""
    split = coded = sales if isinstance(sales, CreditSplit) else None
    if split is not None and (split.trivial or employees is None):
        if not split.trivial:  # the credited table's rows are not the sales table's: its own months
            coded = None
        sales, split = split.table(), None  # nothing split (the sales table itself), or no employees given
    elif split is not None:
        sales = split.sales
    rates = product_rates(commission)
    products = pd.Index(list(rates))
    periods_ix = pd.Index(list(periods))
    if employees is None:  # the distinct ids of sales, sorted; missing ids get code -1
        e, uniques = pd.factorize(sales["employee_id"], sort=True)
        employees_ix = pd.Index(uniques)
    else:
        employees_ix = employees if isinstance(employees, pd.Index) else pd.Index(list(employees))
        e = positions(sales["employee_id"], employees_ix) if split is None else split.employee_positions(employees_ix)
    # per row of the credited sales: with a split, each sales row's value (a split row: its sales row's) and
    # the positions in sales of a subset of rows; without, the sales table's own
    in_rows = (lambda v: v) if split is None else split.rows
    source_of = (lambda r: r) if split is None else split.source_of
    n_e, n_p, n_q = len(employees_ix), len(periods_ix), len(products)
    shape = (n_e, n_p, n_q)

    # sum the amounts into an (employee, period, product) grid: whole cents, plus any fractions of a cent.
    # Arrays of the size of the sales table or of the grid are few and reused in place (millions of rows).
    # the months' and products' positions as small integers (int8 for fewer than 128: a byte per row)
    if coded is None:
        p = in_rows(_small_positions(sales["period"], periods_ix))
    else:  # from the months' codes the split worked out once (loyalty reads them too)
        codes, labels = coded.codes("period")
        p = in_rows(_recoded(_small(np.append(positions(pd.Series(np.asarray(labels, dtype=object)), periods_ix),
                                              -1), len(periods_ix)), codes))
    q = in_rows(_small_positions(sales["product"], products))
    # every row with a cell (a position -1: an employee, month or product not on the grid): three minima, no masks
    every = not len(e) or (int(e.min()) >= 0 and int(p.min()) >= 0 and int(q.min()) >= 0)
    amount = sales["amount"].to_numpy(dtype="float64") if split is None else split.column("amount")
    modified = [(i, pr) for i, pr in enumerate(commission.products)
                if pr.coefficients is not None or pr.on_ftp_spread or pr.npl_clawback is not None]
    factors = {}  # per product with a coefficient or FTP factor: (its rows, their positions in sales, their factors)
    reversals = []  # per product with NPL reversals: (its position, the reversed rows, their NPL months' positions)
    for i, pr in modified:
        rows = np.flatnonzero(q == i)
        at = source_of(rows)
        if pr.coefficients is not None or pr.on_ftp_spread:
            factors[i] = rows, at, _row_factor(sales, pr, at)
        if pr.npl_clawback is not None and len(rows):
            hit_rows, month = _npl_hits(sales, pr, at)
            hit = rows[hit_rows]
            p_npl = positions(pd.Series(month, dtype=object), periods_ix)
            ok = (p_npl >= 0) & (e[hit] >= 0)
            reversals.append((i, hit[ok], p_npl[ok]))
    # the rows' whole cents summed into the grid and their fractions of a cent: a block of rows at a time, or (a row
    # off the grid) over the cells of the rows kept at once
    if every:
        basis_c, rest_cells, rest = _cents_by_blocks(e, p, q, amount, factors, reversals, shape)
    else:
        keep = (e >= 0) & (p >= 0) & (q >= 0)
        basis_c, rest_cells, rest = _cents_by_cells(e, p, q, keep, amount, factors, reversals, shape)
        del keep
    del reversals, amount
    cum_basis = _running_sums_in_cny(basis_c)
    basis = basis_c  # (the cents divided in place: basis_c / 100.0, without a second grid)
    if len(rest_cells):  # the fractions of a cent: their months' sums, added to the bases and the running sums
        _add_rest(basis, cum_basis, rest_cells, rest)
    del rest_cells, rest

    special = [(i, pr) for i, pr in enumerate(commission.products) if pr.basis == "balance" or pr.quota is not None]
    special_bases = {}
    for i, pr in special:
        baseline = None
        if pr.increase_rate_per_10k is not None:
            if i in factors:
                rows, at, factor = factors[i]
            else:
                rows = np.flatnonzero(q == i)
                at, factor = source_of(rows), None
            inside = None if every else (e[rows] >= 0) & (p[rows] >= 0)  # (every row with a cell: all inside)
            if inside is not None and not inside.all():
                rows, at = rows[inside], at[inside]
                factor = None if factor is None else factor[inside]
            # the rows' factors as the amounts took them (the same per row: no second look-up of the labels)
            factor = _row_factor(sales, pr, at) if factor is None else factor
            values = _numbers_at(sales["baseline"], rows) if split is None else split.column_at("baseline", rows,
                                                                                                 at)
            baseline = _baseline_cells(values, factor, rows, e, p, n_e, n_p)
        target = cycle_target = None
        if pr.quota is not None:
            target = monthly_targets(metrics, pr.quota.indicator, employees_ix, periods_ix)
            if cycle_periods is not None:  # lines to date (interim): quota ``cycle`` is still the whole cycle's
                cycle_target = np.nansum(monthly_targets(metrics, pr.quota.indicator, employees_ix,
                                                         pd.Index(list(cycle_periods))), axis=1)
        special_bases[i] = (baseline, target, cycle_target)
    return CommissionBases(employees_ix, periods_ix, products, basis, cum_basis, special_bases,
                           bases_key(commission))


def _lines_alike(commission: Commission, other: Commission, n_lines: int, n_grid: int) -> list[int]:
    """Positions of the products whose lines are the same under ``commission`` and ``other`` on the same bases:
    the same product (rates, tiers, method, quota bands: its :class:`ProductRates`) and the same accumulation
    (:func:`lines_from_bases` reads nothing else of a product). None alike when ``other``'s table (``n_lines``
    lines) is not the full grid of the bases (``n_grid`` lines) or the products differ in order."""
    if (n_lines != n_grid or commission.accumulate != other.accumulate
            or [p.id for p in commission.products] != [p.id for p in other.products]):
        return []
    return [i for i, (a, b) in enumerate(zip(commission.products, other.products, strict=True)) if a == b]


#: the buffers of the commission table's own columns made with room after them (:func:`_with_room`), by id: a
#: weak reference to the buffer (its entry goes with it) and the length of the column it was made for
_ROOMY: dict[int, tuple[weakref.ref, int]] = {}


def _with_room(shape: tuple[int, ...], dtype: np.dtype | type, room: int) -> np.ndarray:
    """An uninitialised C-ordered array of ``shape``, the start of a buffer with ``room`` values more after it (not
    touched, so no memory is given to them until written): the commission table's own columns, so that
    :func:`lines_with_settlement` may insert the settlement lines (at most one per employee) into the buffer
    itself instead of copying the column. Registered in :data:`_ROOMY`: only such a buffer is written past its
    column's end, and only when the caller gives the lines up (``consume``)."""
    n = math.prod(shape)
    buffer = np.empty(n + room, dtype=dtype)
    key = id(buffer)
    _ROOMY[key] = (weakref.ref(buffer, lambda _ref, key=key: _ROOMY.pop(key, None)), n)
    return buffer[:n].reshape(shape)


def held(bases: CommissionBases) -> CommissionBases:
    """``bases`` kept for later evaluations (``engine.Kept``): their basis and cumulative basis are no longer
    buffers with room (:func:`_with_room`), so no commission table made of lines on them takes their columns in
    place (``lines_with_settlement(consume=True)`` copies them instead) and they stay as they are."""
    for grid in (bases.basis, bases.cumulative_basis):
        owner = grid.base if isinstance(grid, np.ndarray) else None
        entry = _ROOMY.get(id(owner)) if owner is not None else None
        if entry is not None and entry[0]() is owner:
            _ROOMY.pop(id(owner), None)
    return bases


def _room_for(column: np.ndarray, extra: int) -> np.ndarray | None:
    """The buffer of :func:`_with_room` whose start ``column`` (1-D) is, the whole column it was made for, when it
    has room for ``extra`` values more; None for any other array (a copy, a slice of a table, another's)."""
    owner = column.base
    entry = _ROOMY.get(id(owner)) if isinstance(owner, np.ndarray) else None
    if entry is None or entry[0]() is not owner or entry[1] != len(column) or column.ndim != 1:
        return None
    assert isinstance(owner, np.ndarray)
    if (owner.dtype != column.dtype or not column.flags.c_contiguous or owner.size < len(column) + extra
            or column.__array_interface__["data"][0] != owner.__array_interface__["data"][0]):
        return None
    return owner


#: employees per block of :func:`_true_ups` (2,048 x 12 months x 7 products: 1.4 MB a grid block)
_TRUE_UP_BLOCK = 2048


def _true_ups(cum_basis: np.ndarray, terms: np.ndarray, special: dict[int, Callable[[slice], np.ndarray]],
              room: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``cycle_to_date`` lines of :func:`lines_from_bases`: (C_t, the lines, paid to date), CNY, from the
    cumulative bases (employees x months x products) and the products' tier terms, the products of ``special``
    (by position) as given: C_t of the employees of a slice (slice -> their employees x months):

      C_t = tiered(B_t);  line_t = [round_cents(C_t) - round_cents(C_{t-1})] / 100 (C_0 = 0);
      paid_t = [round_cents(C_t) - line_t] / 100 (both + 0.0: no -0.0)

    C_t as the grid, the lines and paid to date flat (in the grid's order). Worked out a block of employees at a
    time (each block's steps in the cache instead of a pass per step over the whole grid in memory): the same
    operations on each element, the same bits. ``room``: the three made with room for that many values more
    (:func:`_with_room`)."""
    n_e = cum_basis.shape[0]
    cum_comm = _with_room(cum_basis.shape, np.float64, room)
    line_c = _with_room(cum_basis.shape, np.float64, room)
    paid_c = _with_room(cum_basis.shape, np.float64, room)
    wide = _wide_rates(terms, (min(n_e, _TRUE_UP_BLOCK),) + cum_basis.shape[1:])
    for lo in range(0, n_e, _TRUE_UP_BLOCK):
        hi = min(lo + _TRUE_UP_BLOCK, n_e)
        # each step written into the kept grids' rows of the block (no block temporaries, no copies)
        c = _apply(cum_basis[lo:hi], terms, out=cum_comm[lo:hi], wide_rates=wide)
        for i, cum_of in special.items():
            c[:, :, i] = cum_of(slice(lo, hi))
        rounded = whole_cents(c, out=paid_c[lo:hi])
        line = line_c[lo:hi]
        line[...] = rounded  # the month's true-up: rounded C_t - rounded C_{t-1} (C_0 = 0)
        line[:, 1:] -= rounded[:, :-1]
        rounded -= line  # paid to date
        line /= 100.0
        line += 0.0  # no -0.0
        rounded /= 100.0
        rounded += 0.0
    return cum_comm, line_c.reshape(-1), paid_c.reshape(-1)


def lines_from_bases(bases: CommissionBases, commission: Commission,
                     like: tuple[Commission, pd.DataFrame] | None = None) -> pd.DataFrame:
    """The commission table of :func:`commission_lines` from its :func:`commission_bases`, with ``commission``'s
    rates, tiers and methods (its :func:`bases_key` must be the bases' own: ValueError otherwise). The bases are
    read, never written: the table's ``basis`` and ``cumulative_basis`` columns are views of them.

    ``like`` (optional): another commission on the same bases and its table (``(other, lines_from_bases(bases,
    other))``, read, never written): the lines of the products alike under both (:func:`_lines_alike`) are
    copied from it and only the other products' worked out (a product's lines are its own, element by element:
    the same table, bit for bit; e.g. a sensitivity setting that moves one product's rates).

    The table's own columns (all but ``basis`` and ``cumulative_basis``) are made with room for a line per
    employee after them (:func:`_with_room`: untouched, under 1 MB a column at 100,000 employees), so that
    :func:`lines_with_settlement` may insert the settlement lines into them in place."""
    if bases_key(commission) != bases.key:
        raise ValueError("these commission bases were worked out for other products")
    rates = product_rates(commission)
    basis, cum_basis = bases.basis, bases.cumulative_basis
    employees_ix, periods_ix, products = bases.employees, bases.periods, bases.products
    n_e, n_p, n_q = len(employees_ix), len(periods_ix), len(products)
    terms = _product_terms(rates)
    shape = (n_e, n_p, n_q)
    alike = [] if like is None else _lines_alike(commission, like[0], len(like[1]), n_e * n_p * n_q)
    todo = [i for i in range(n_q) if i not in alike]
    if alike:  # only the other products: their tier terms (padded as before) and bases, a product each
        terms = terms[todo]
        basis, cum_basis = basis[:, :, todo], cum_basis[:, :, todo]
    special = {}  # per special product (by its position among todo): C_t and the month's commission of a slice
    for i, (baseline, target, cycle_target) in bases.special.items():
        if i not in todo:
            continue
        pr = commission.products[i]
        j = todo.index(i)

        def worked_out(rows: slice, month_too: bool = True, pr: Product = pr, j: int = j,
                       baseline: np.ndarray | None = baseline, target: np.ndarray | None = target,
                       cycle_target: np.ndarray | None = cycle_target) -> tuple[np.ndarray | None, np.ndarray]:
            # (each employee's months on their own: a slice of employees gives their rows of the whole, bit for bit)
            return _special_commission(pr, rates[pr.id], basis[rows, :, j], cum_basis[rows, :, j],
                                       None if baseline is None else baseline[rows],
                                       None if target is None else target[rows], commission.accumulate,
                                       None if cycle_target is None else cycle_target[rows], month_too)
        special[j] = worked_out
    room = 0 if alike else n_e  # (the alike products' lines are put together with room below)
    if commission.accumulate == "cycle_to_date":
        cum_comm, line, paid = _true_ups(cum_basis, terms, {j: (lambda rows, f=f: f(rows, False)[1])
                                                            for j, f in special.items()}, room)
    else:
        special_out = {j: f(slice(None)) for j, f in special.items()}
        month = _apply(basis, terms)
        for i, (month_i, _) in special_out.items():
            month[:, :, i] = month_i
        cum_comm = np.cumsum(month, axis=1, out=_with_room(month.shape, np.float64, room))
        line_c = _with_room(month.shape, np.float64, room)
        line_c[...] = whole_cents(month)
        paid_c = np.cumsum(line_c, axis=1, out=_with_room(month.shape, np.float64, room))
        paid_c -= line_c
        line = line_c.reshape(-1)
        line /= 100.0
        line += 0.0  # no -0.0
        paid = paid_c.reshape(-1)
        paid /= 100.0
        paid += 0.0
    if alike:  # the alike products' lines as the other table has them, the others' as worked out here
        assert like is not None
        rest = (n_e, n_p, len(todo))
        full = []
        for column, part in (("cumulative_commission", cum_comm), ("paid_to_date", paid), ("commission", line)):
            values = _with_room(shape, np.float64, n_e)
            values[...] = like[1][column].to_numpy(dtype="float64").reshape(shape)
            values[:, :, todo] = part.reshape(rest)
            full.append(values)
        cum_comm, paid, line = full[0], full[1].reshape(-1), full[2].reshape(-1)
        basis, cum_basis = bases.basis, bases.cumulative_basis

    # the grid's codes: employee e, month t, product q at line (e x n_p + t) x n_q + q (each in the smallest
    # integers that hold its categories' positions, as pandas keeps them; below their numbers of categories by
    # construction: not checked again, a pass each), written as rows of an employee's n_p x n_q lines (the
    # employee's code along its row; a month's and a product's the same row for every employee): a loop over each
    # row's lines instead of one per month of 7 products
    codes = []
    for n, axis in ((n_e, 0), (n_p, 1), (n_q, 2)):
        kind = _small_type(n)
        grid = _with_room(shape, kind, n_e)
        rows = grid.reshape(n_e, n_p * n_q)
        if axis == 0:
            rows[...] = np.arange(n, dtype=kind)[:, None]
        else:
            rows[...] = np.broadcast_to(np.arange(n, dtype=kind).reshape([n if a == axis else 1 for a in (1, 2)]),
                                        (n_p, n_q)).reshape(-1)
        codes.append(grid.reshape(-1))
    return pd.DataFrame({
        "employee_id": pd.Categorical.from_codes(codes[0], dtype=categories_dtype(employees_ix), validate=False),
        "period": pd.Categorical.from_codes(codes[1], dtype=pd.CategoricalDtype(periods_ix, ordered=True),
                                            validate=False),
        "product": pd.Categorical.from_codes(codes[2], dtype=pd.CategoricalDtype(products), validate=False),
        "basis": basis.ravel(),
        "cumulative_basis": cum_basis.ravel(),
        "cumulative_commission": cum_comm.ravel(),
        "paid_to_date": paid,
        "commission": line,
        "clawback": np.less(line, 0.0, out=_with_room(line.shape, np.bool_, n_e)),
    }, copy=False)


# -------------------------------------------------------------------------------------------- settlement


def _employee_groups(employees: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """``pd.factorize(employees)``: (a code per line, the distinct employees in order of first appearance). The
    commission table's employee column, a categorical whose lines come employee by employee in the categories'
    order (as :func:`lines_from_bases` makes it), gives its own codes renumbered over the employees it holds,
    without hashing millions of codes; anything else goes through ``pd.factorize``.

    Example: categories [a, b, c], codes [0, 0, 2, 2, 2] -> codes [0, 0, 1, 1, 1], employees [a, c]."""
    grouped = _grouped_codes(employees)
    if grouped is not None:
        codes, uniques = grouped
        return codes.astype(np.intp), uniques
    codes, uniques = pd.factorize(employees)
    return codes, uniques


#: the dtype pandas gives an Index of Python strings (``str``: Arrow text, NaN as missing, under pandas 3)
_TEXT_INDEX = pd.Index(np.array(["a"], dtype=object)).dtype


def _employee_index(uniques: pd.Index) -> pd.Index:
    """``pd.Index(np.asarray(uniques, dtype=object), name="employee_id")``: the distinct employees of
    :func:`_employee_groups` as an Index of their ids. Every category of a categorical of Arrow text ids, in order
    (the commission grid's employees): the categories themselves, the same ids and dtype, without a Python string
    per id and the texts made again from them."""
    if (isinstance(uniques, pd.CategoricalIndex) and len(uniques) and uniques.categories.dtype == _TEXT_INDEX
            and len(uniques) == len(uniques.categories)
            and np.array_equal(uniques.codes, np.arange(len(uniques)))):
        return pd.Index(uniques.categories, name="employee_id")
    return pd.Index(np.asarray(uniques, dtype=object), name="employee_id")


def _cents_per_employee(cents: np.ndarray, codes: np.ndarray, n: int, grouped: bool) -> np.ndarray:
    """Each employee's sum of whole cents (float64): ``np.bincount(codes, weights=cents, minlength=n)``.

    Lines grouped by employee (``grouped``: non-decreasing codes) that come the same number m per employee (the
    commission grid: codes 0 x m, 1 x m, ...), every |cents| x m below 2**53, are summed as the rows of an n x m
    array: each partial sum is then a whole number below 2**53, exact in any order, so the sums are the same to
    the bit (+ 0.0: no -0.0, as bincount's 0.0 + ... never gives). Anything else (NaN or infinite cents too) goes
    through ``np.bincount``."""
    m = len(codes) // n if n else 0
    if grouped and m and len(codes) == n * m:
        expected = np.arange(n)
        if np.array_equal(codes[::m], expected) and np.array_equal(codes[m - 1::m], expected):  # rows of m
            largest = max(float(np.max(cents)), -float(np.min(cents)))
            if largest * m < 2.0 ** 53:  # (NaN compares False)
                sums = cents.reshape(n, m).sum(axis=1)
                sums += 0.0
                return sums
    return np.bincount(codes, weights=cents, minlength=n)


def _line_cents_per_employee(amounts: np.ndarray, codes: np.ndarray, n: int, grouped: bool) -> np.ndarray:
    """Each employee's sum of its lines' whole cents rint(amount x 100) (float64): :func:`_cents_per_employee` of
    the lines' cents, the same bits. The commission grid (rows of m lines per employee) a block of employees at a
    time (64K lines: the block's cents in the cache), with no array of the whole table's cents (8.4 million lines
    at 100,000 managers: 67 MB of fresh pages); a block out of the exact range (|cents| x m >= 2**53, NaN) and
    anything else: the cents of all the lines, then :func:`_cents_per_employee`."""
    m = len(codes) // n if n else 0
    expected = np.arange(n)
    if (grouped and m and len(codes) == n * m and np.array_equal(codes[::m], expected)
            and np.array_equal(codes[m - 1::m], expected)):
        grid = amounts.reshape(n, m)
        sums = np.empty(n)
        per = max(1, _ROW_BLOCK // m)
        for lo in range(0, n, per):
            cents = grid[lo:lo + per] * 100.0
            np.rint(cents, out=cents)
            if not max(float(np.max(cents)), -float(np.min(cents))) * m < 2.0 ** 53:  # (NaN compares False)
                break
            cents.sum(axis=1, out=sums[lo:lo + per])
        else:
            sums += 0.0
            return sums
    cents = amounts * 100.0
    np.rint(cents, out=cents)
    return _cents_per_employee(cents, codes, n, grouped)


def _unsigned(kind: np.dtype) -> np.dtype:
    """The unsigned integers of the same width as the signed integers ``kind``."""
    return np.dtype(f"u{np.dtype(kind).itemsize}")


def _steps_of_zero_or_one(codes: np.ndarray) -> bool:
    """Whether each of the (signed integer) ``codes`` is the one before it or the next: ``np.diff(codes)`` all 0 or 1
    (read as unsigned, a step down is a large number). A block of codes at a time: no array of differences of the
    codes' size (the commission table's 8.4M employee codes: 34 MB of fresh memory for each check).

    Example: [0, 0, 1, 1, 1, 2] -> True; [0, 2] -> False; [1, 0] -> False."""
    kind = _unsigned(codes.dtype)
    for lo in range(0, len(codes) - 1, _ROW_BLOCK):
        if not bool((np.diff(codes[lo:lo + _ROW_BLOCK + 1]).view(kind) <= 1).all()):
            return False
    return True


def _grouped_codes(employees: pd.Series) -> tuple[np.ndarray, pd.Index] | None:
    """:func:`_employee_groups` of a categorical whose lines come employee by employee in the categories' order
    (non-decreasing codes, none missing), its codes as the categorical holds them (int8 to int32; read-only) when
    every category has lines, else renumbered; None for any other column. The codes are then grouped by employee
    (non-decreasing)."""
    if not isinstance(employees.dtype, pd.CategoricalDtype):
        return None
    codes = cat_codes(employees)
    n = len(employees.cat.categories)
    if not len(codes) or codes[0] < 0:
        return None
    # every employee, in order: 0 first, n - 1 last, each code the one before or the next (a step of 0 or 1): one
    # pass, no flag per category
    if codes[0] == 0 and codes[-1] == n - 1 and _steps_of_zero_or_one(codes):
        renumbered = codes.view()  # the codes as they are
        renumbered.flags.writeable = False
        return renumbered, pd.CategoricalIndex(pd.Categorical.from_codes(np.arange(n), dtype=employees.dtype))
    if not bool((codes[1:] >= codes[:-1]).all()):  # (non-decreasing from codes[0] >= 0: so no -1 anywhere)
        return None
    used = np.flatnonzero(codes_used(codes, n))
    if len(used) == n:  # every employee: the codes as they are
        renumbered = codes.view()
        renumbered.flags.writeable = False
    else:
        rank = np.zeros(len(employees.cat.categories), dtype=np.intp)
        rank[used] = np.arange(len(used), dtype=np.intp)
        renumbered = rank[codes]
    return renumbered, pd.CategoricalIndex(pd.Categorical.from_codes(used, dtype=employees.dtype))


def _stacked_by_employee(lines: pd.DataFrame, extra: pd.DataFrame, consume: bool = False) -> pd.DataFrame | None:
    """``pd.concat([lines, extra])`` ordered stably by employee (in order of first appearance), as
    :func:`lines_with_settlement` orders it, with each column written once into its place: the commission
    table has millions of lines and a few settlement lines. Only when ``lines`` are grouped by employee and
    both tables have the same columns of the same numeric, boolean or categorical dtypes (a categorical of
    ``lines`` may lack categories ``extra``'s has at the end: the codes are the same); else None.

    ``consume``: nobody reads ``lines`` (nor anything sharing their columns) any more: a column made with room
    after it (:func:`_room_for`) gets the extra rows inserted into its own buffer (:func:`_insert_in_place`), the
    result's column a view of it, instead of a copy of the column; other columns are copied."""
    if list(lines.columns) != list(extra.columns):
        return None
    for col in lines.columns:
        dtype, extra_dtype = lines[col].dtype, extra[col].dtype
        if isinstance(dtype, pd.CategoricalDtype):
            cats, extra_cats = dtype.categories, getattr(extra_dtype, "categories", None)
            if (not isinstance(extra_dtype, pd.CategoricalDtype) or dtype.ordered != extra_dtype.ordered
                    or cats.dtype != extra_cats.dtype or not extra_cats[:len(cats)].equals(cats)):
                return None
        elif dtype != extra_dtype or not (isinstance(dtype, np.dtype) and dtype.kind in "biuf"):
            return None
    grouped = _grouped_codes(lines["employee_id"])  # (grouped by employee already: not checked again)
    if grouped is not None:
        line_codes, uniques = grouped
    else:
        line_codes, uniques = _employee_groups(lines["employee_id"])
        if len(line_codes) > 1 and not (line_codes[1:] >= line_codes[:-1]).all():
            return None
    # each extra row goes right after its employee's last line; an employee without lines goes at the end
    known = pd.Index(uniques).get_indexer(pd.Index(extra["employee_id"]))
    # (the sought codes in the lines' own integers: numpy would otherwise widen the millions of line codes)
    at = np.where(known >= 0, np.searchsorted(line_codes, known.astype(line_codes.dtype), side="right"),
                  len(line_codes))
    del line_codes, grouped
    placed, old_rows = _insert_positions(at, len(lines), with_flags=not consume)
    columns: dict[str, Any] = {}
    for col in lines.columns:
        a, b = lines[col], extra[col]
        categorical = isinstance(a.dtype, pd.CategoricalDtype)
        values, added = ((cat_codes(a), cat_codes(b)) if categorical else
                         (a.to_numpy(), b.to_numpy()))
        kind = np.result_type(values.dtype, added.dtype)  # (more categories may need wider codes)
        buffer = _room_for(values, len(b)) if consume and kind == values.dtype else None
        if buffer is not None:
            out = _insert_in_place(buffer, len(values), added, placed)
        else:
            if old_rows is None:
                old_rows = np.ones(len(values) + len(b), dtype=bool)
                old_rows[placed] = False
            out = _inserted(values.astype(kind, copy=False), added, placed, old_rows)
        del values
        columns[col] = pd.Categorical.from_codes(out, dtype=b.dtype, validate=False) if categorical else out
    return pd.DataFrame(columns, copy=False)


def _insert_positions(at: np.ndarray, n: int, with_flags: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Where ``np.insert(a, at, b)`` puts things, for an ``a`` of ``n`` values: (the position in the result of
    each value of ``b``, a boolean per position of the result: it holds a value of ``a``; None unless
    ``with_flags``), worked out once for every column inserted into the same places. Values inserted before the
    same position keep their order.

    Example: n = 3, at = [1, 3, 1] -> b at [1, 5, 2], a at [0, 3, 4]: flags [T, F, F, T, T, F]."""
    at = np.asarray(at, dtype=np.intp)
    order = np.argsort(at, kind="stable")
    placed = np.empty(len(at), dtype=np.intp)
    placed[order] = at[order] + np.arange(len(at), dtype=np.intp)
    if not with_flags:
        return placed, None
    old_rows = np.ones(n + len(at), dtype=bool)
    old_rows[placed] = False
    return placed, old_rows


def _inserted(a: np.ndarray, b: np.ndarray, placed: np.ndarray, old_rows: np.ndarray) -> np.ndarray:
    """``np.insert(a, at, b)`` from :func:`_insert_positions` of ``at`` (a's dtype; each value written once)."""
    out = np.empty(len(old_rows), dtype=a.dtype)
    out[placed] = b
    out[old_rows] = a
    return out


#: positions of the result per block of :func:`_insert_in_place` (the block's temporary: 2 MB of float64)
_INSERT_BLOCK = 1 << 18
#: the old values per inserted value of a block from which :func:`_insert_in_place` copies the runs between the
#: inserted values as slices (a copy of a slice costs about what 1,000 values through a mask do)
_INSERT_RUN = 1024


def _insert_in_place(buffer: np.ndarray, n: int, b: np.ndarray, placed: np.ndarray) -> np.ndarray:
    """``np.insert(buffer[:n], at, b)`` written over ``buffer[:n + len(b)]`` (buffer's dtype), which it returns,
    ``placed`` the positions of b's values in the result (:func:`_insert_positions` of ``at``).

    Each old value moves up by the number of values inserted before it (old value i to i + #{j: at_j <= i}), so
    the result is written from its end a block at a time: a block's old values come from a range of the buffer at
    or below the block, which no block above it has written; they are copied to a block-sized temporary, then
    written to their places in the block: the runs between the values inserted in it as slices when they are long
    (:data:`_INSERT_RUN` values or more on average: the commission table's thousands of settlement lines among
    millions of lines), else through a mask of the old values' places. b's values go into theirs last. No array
    of the column's size is made.

    Example: buffer [10, 20, 30, _, _, _], n = 3, at = [1, 3, 1] (placed [1, 5, 2]) -> [10, -1, -3, 20, 30, -2]
    for b = [-1, -2, -3]."""
    total = n + len(b)
    out = buffer[:total]
    spots = np.sort(placed)
    block = max(min(_INSERT_BLOCK, total), 1)
    temporary = np.empty(block, dtype=buffer.dtype)
    kept = np.empty(block, dtype=bool)
    for hi in range(total, 0, -block):
        lo = max(hi - block, 0)
        before_lo, before_hi = np.searchsorted(spots, (lo, hi))  # values inserted below lo, below hi
        if before_hi == 0:  # nothing inserted below hi: this block and those under it stay where they are
            break
        part = temporary[:(hi - before_hi) - (lo - before_lo)]
        np.copyto(part, out[lo - before_lo:hi - before_hi])
        if before_hi == before_lo:
            out[lo:hi] = part
        elif (before_hi - before_lo) * _INSERT_RUN <= hi - lo:
            start = taken = 0  # (the next old value's place in the block, and its place in ``part``)
            for spot in (spots[before_lo:before_hi] - lo).tolist() + [hi - lo]:
                if spot > start:
                    out[lo + start:lo + spot] = part[taken:taken + spot - start]
                    taken += spot - start
                start = spot + 1
        else:
            flags = kept[:hi - lo]
            flags[...] = True
            flags[spots[before_lo:before_hi] - lo] = False
            out[lo:hi][flags] = part
    out[placed] = b
    return out


def _fmt(x: float) -> str:
    return f"{x:g}"


def gate_and_cap_cents(gross_c: np.ndarray, composite: np.ndarray, annual_base: np.ndarray,
                       commission: Commission) -> tuple[np.ndarray, ...]:
    """The gate and the cap on whole-cent gross commission, for arrays of any shape (people, or scenarios x
    people): returns (gate factor, gated, after_gate_c, cap_c, capped, final_c), amounts in cents.

    gated = gross > 0 and not composite >= min_composite (NaN composite: below the gate); factor = factor_below
    if gated else 1; after_gate = round_cents(gross x factor); cap = round_cents(times_annual_base x annual_base)
    (+inf without a cap); final = min(after_gate, cap) for a positive amount, else after_gate.
    """
    gate, cap = commission.gate, commission.cap
    positive = gross_c > 0
    gated = np.zeros(np.shape(gross_c), dtype=bool)
    factor = np.ones(np.shape(gross_c))
    if gate is not None:
        gated = positive & ~(composite >= gate.min_composite)
        factor = np.where(gated, gate.factor_below, 1.0)
    after_c = whole_cents(gross_c * factor / 100.0)
    if cap is not None:
        cap_c = np.broadcast_to(whole_cents(cap.times_annual_base * np.asarray(annual_base, dtype="float64")),
                                np.shape(gross_c))
    else:
        cap_c = np.full(np.shape(gross_c), np.inf)
    capped = (after_c > 0) & (after_c > cap_c)
    final_c = np.where(capped, cap_c, after_c)
    return factor, gated, after_c, cap_c, capped, final_c


def settle(lines: pd.DataFrame, composite: pd.Series, annual_base: pd.Series,
           commission: Commission) -> pd.DataFrame:
    """The year-end settlement per employee (index employee_id: the employees of ``lines``), in CNY.

    Computed in whole cents:
      gross        G = sum of the employee's lines (rows with product ``settlement`` are left out)
      gate_factor  f = factor_below if composite < min_composite, else 1; a missing composite counts as below
                   the gate; no gate in the policy: 1. Applied to G > 0 only (f = 1 when G <= 0)
      after_gate   A = round_cents(G x f)
      cap_amount   K = round_cents(times_annual_base x annual_base) (annual_base: prorated annual base salary;
                   missing counts as 0); +inf when the policy has no cap
      capped       A > K (only a positive amount is capped)
      final        F = min(A, K) if A > 0 else A  (G <= 0 is never gated or capped upward)
      settlement   F - G <= 0: the year-end adjustment line, a clawback of over-advanced commission when < 0
      reason       plain words, e.g. "composite 55.2 below the gate 60: 50% paid; capped at 1.5 × annual base"
                   (the composite is shown truncated to 2 decimals, so it never reads as the threshold)

    Invariant: gross + settlement == final exactly in cents.
    """
    if len(lines) and (lines["product"] == SETTLEMENT).any():
        lines = lines[(lines["product"] != SETTLEMENT).to_numpy()]
    grouped = _grouped_codes(lines["employee_id"])
    codes, uniques = grouped if grouped is not None else _employee_groups(lines["employee_id"])
    index = _employee_index(uniques)
    gross_c = _line_cents_per_employee(lines["commission"].to_numpy(dtype="float64"), codes, len(index),
                                       grouped is not None)
    comp = composite.reindex(index).to_numpy(dtype="float64")
    base = annual_base.reindex(index).to_numpy(dtype="float64")
    base = np.where(np.isnan(base), 0.0, base)

    gate, cap = commission.gate, commission.cap
    factor, gated, after_c, cap_c, capped, final_c = gate_and_cap_cents(gross_c, comp, base, commission)
    settlement_c = final_c - gross_c

    reason = np.full(len(index), "", dtype=object)
    if gate is not None and gated.any():
        shown = pd.Series(np.floor(np.round(comp[gated] * 100.0, 6)) / 100.0).astype(str)
        shown = shown.str.replace(r"\.0$", "", regex=True)
        tail = f" below the gate {_fmt(gate.min_composite)}: {_fmt(gate.factor_below * 100)}% paid"
        text = ("composite " + shown + tail).to_numpy(dtype=object)
        text[np.isnan(comp[gated])] = "no composite score, treated as" + tail
        reason[gated] = text
    if cap is not None and capped.any():
        cap_text = f"capped at {_fmt(cap.times_annual_base)} × annual base"
        sep = np.where(reason[capped] == "", "", "; ")
        reason[capped] = reason[capped] + sep + cap_text

    return pd.DataFrame({
        "gross": gross_c / 100.0 + 0.0,
        "gate_factor": factor,
        "after_gate": after_c / 100.0 + 0.0,
        "cap_amount": cap_c / 100.0 + 0.0,
        "capped": capped,
        "final": final_c / 100.0 + 0.0,
        "settlement": settlement_c / 100.0 + 0.0,
        "reason": pd.array(reason, dtype="str"),
    }, index=index)


def lines_with_settlement(lines: pd.DataFrame, settlement: pd.DataFrame, last_period: str,
                          consume: bool = False) -> pd.DataFrame:
    """The commission table with one ``settlement`` line per employee whose settlement is nonzero (CNY).

    The line (period = ``last_period``, the cycle's last month; product = ``settlement``) follows the
    employee's other lines: basis 0, cumulative_basis and cumulative_commission empty (NaN), paid_to_date =
    gross (the sum of the lines before it), commission = settlement (= final - gross <= 0), clawback = the
    settlement is negative. The rows of an employee then add up to the final commission to the cent.

    ``consume`` (the caller's promise that neither it nor anyone reads ``lines``, or a table sharing their
    columns, again; the lines of :func:`lines_from_bases`): their own columns get the settlement lines inserted
    in place and the table views them (no second copy of the lines' columns in memory); ``lines`` then hold
    other numbers. The table is the same either way.
    """
    s = settlement[settlement["settlement"].to_numpy() != 0.0]
    if len(s) == 0:
        return lines.reset_index(drop=True)
    amount = s["settlement"].to_numpy(dtype="float64")
    extra = pd.DataFrame({
        "employee_id": s.index.to_numpy(dtype=object),
        "period": last_period,
        "product": SETTLEMENT,
        "basis": 0.0,
        "cumulative_basis": np.nan,
        "cumulative_commission": np.nan,
        "paid_to_date": s["gross"].to_numpy(dtype="float64"),
        "commission": amount,
        "clawback": amount < 0.0,
    })
    # the extra lines' categories: the lines' own, the new labels after them (the lines' codes stay as they are)
    new_categories = {}
    for col in ("employee_id", "period", "product"):
        if isinstance(lines[col].dtype, pd.CategoricalDtype):
            dtype = lines[col].dtype
            new = pd.Index(pd.unique(extra[col])).difference(dtype.categories, sort=False)
            if len(new):  # (pandas' own categories for them, as add_categories makes them: of no lines)
                dtype = pd.Categorical.from_codes(np.zeros(0, dtype=np.int8), dtype=dtype).add_categories(new).dtype
                new_categories[col] = dtype
            extra[col] = pd.Categorical(extra[col], dtype=dtype)
    stacked = _stacked_by_employee(lines, extra, consume)
    if stacked is not None:
        return stacked
    lines = lines.copy(deep=False)
    for col, dtype in new_categories.items():
        lines[col] = lines[col].cat.set_categories(dtype.categories)
    both = pd.concat([lines, extra], ignore_index=True)
    codes, _ = pd.factorize(both["employee_id"])
    order = np.argsort(codes, kind="stable")  # each settlement line right after its employee's lines
    return both.take(order).reset_index(drop=True)
