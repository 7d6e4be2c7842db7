"""Money: rounding half-up to the cent (四舍五入 to 0.01) and allocation of a rounded total over parts.

Amounts are computed unrounded and rounded once, at the end. A total is always the sum of its rounded parts.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

#: the amounts :func:`whole_cents` rounds at a time (256 KB of float64: a block and its signs stay in the cache)
_BLOCK = 1 << 15


def whole_cents(x: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
    """Amounts (currency) -> whole cents rounded half away from zero (四舍五入), held in float64 (exact below
    2**53 cents): sign(x) x floor(round(|x| x 100, 6) + 0.5). The one rounding rule of compkit; round_cents is
    this divided by 100, to_cents this as int64.

    Binary floats cannot hold 1.005 exactly (it is 1.00499999999999989...); the value in cents is first
    rounded to 6 decimals so that amounts a person typed or computed as exact half-cents round up, as they
    would on paper. NaN stays NaN.

    ``out`` (optional): a float64 array of x's shape to write the cents into and return; it may be ``x`` itself
    (rounded in place: no new array) but no other array overlapping it.
    """
    return _half_up(x, out, 1.0)


def round_cents(x: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
    """Round to the cent, half away from zero (四舍五入): 1.005 -> 1.01, -2.675 -> -2.68, 0.004999 -> 0.0.
    whole_cents(x) / 100. Unit: the input's currency. NaN stays NaN. ``out``: as for :func:`whole_cents` (may be
    ``x`` itself: rounded in place)."""
    return _half_up(x, out, 100.0)


def _half_up(x: ArrayLike, out: np.ndarray | None, unit: float) -> np.ndarray:
    """whole_cents(x) / unit (unit 1: whole cents; 100: currency), a block of amounts at a time when there are
    many, so that each block's steps run in the cache (a pass per step over the whole array would read and write
    it from memory each time)."""
    a = np.asarray(x, dtype="float64")
    if a.ndim == 0 and out is None:
        cents = np.sign(a) * np.floor(np.round(np.abs(a) * 100.0, 6) + 0.5)
        return cents if unit == 1.0 else cents / unit
    if out is not None and (out.shape != a.shape or out.dtype != np.float64):
        raise ValueError(f"out must be float64 of shape {a.shape}, not {out.dtype} {out.shape}")
    if a.size <= _BLOCK or not (a.flags.c_contiguous and (out is None or out.flags.c_contiguous)):
        if out is None:
            out = np.empty_like(a)  # (x's layout, as np.abs(x) gives)
        _half_up_block(a, out, np.empty(a.shape, dtype=bool), np.empty(a.shape), unit)
        return out
    if out is None:
        out = np.empty(a.shape)
    flat_in, flat = a.reshape(-1), out.reshape(-1)
    flags, signs = np.empty(min(_BLOCK, flat.size), dtype=bool), np.empty(min(_BLOCK, flat.size))
    for start in range(0, flat.size, _BLOCK):
        part = flat[start:start + _BLOCK]
        _half_up_block(flat_in[start:start + _BLOCK], part, flags[:len(part)], signs[:len(part)], unit)
    return out


def _half_up_block(values: np.ndarray, part: np.ndarray, flags: np.ndarray, signs: np.ndarray,
                   unit: float) -> None:
    """part = sign(values) x floor(round(|values| x 100, 6) + 0.5) / unit, in place (``part`` may be ``values``;
    ``flags`` (bool) and ``signs``: scratch arrays of their shape). When no value has its sign bit set, |x| is x
    and sign(x) x f is f itself (x > 0: 1 x f; x = +0.0: f = floor(0.5) = +0.0 = 0 x f; NaN: f, the NaN a product
    of two NaNs keeps), so the sign and absolute-value passes are left out: the same bits."""
    if np.signbit(values, out=flags).any():
        sign = np.sign(values, out=signs)  # (first: ``part`` may be ``values``)
        np.abs(values, out=part)
        part *= 100.0
    else:
        sign = None
        np.multiply(values, 100.0, out=part)
    np.round(part, 6, out=part)
    part += 0.5
    np.floor(part, out=part)
    if sign is not None:
        part *= sign
    if unit != 1.0:
        part /= unit


def to_cents(x: ArrayLike) -> np.ndarray:
    """Amounts (currency) -> whole cents as int64, rounded half-up (四舍五入) first; NaN -> 0. The one way
    compkit compares and adds money exactly: 12,345.675 -> 1,234,568; 0.1 + 0.2 -> 30."""
    a = np.nan_to_num(np.asarray(x, dtype="float64"), nan=0.0)
    return np.rint(round_cents(a) * 100.0).astype("int64")


def allocate_cents(total: float, weights: ArrayLike) -> np.ndarray:
    """Split ``total`` (already in cents) over parts in proportion to ``weights`` so the rounded parts add up
    to ``total`` exactly (largest-remainder method; ties go to the earlier part). Unit: currency.

    ``weights`` of any shape: the split runs along the last axis (one split per row of a scenarios x people
    array), each row adding up to ``total``."""
    w = np.asarray(weights, dtype="float64")
    cents_total = int(round(total * 100))
    if w.size == 0:
        return w
    s = w.sum(axis=-1, keepdims=True)
    n = w.shape[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(s == 0, cents_total / n, cents_total * w / s)
    base = np.floor(share)
    remainder = cents_total - base.sum(axis=-1, keepdims=True)
    order = np.argsort(-(share - base), axis=-1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(n), order.shape), axis=-1)
    base += rank < remainder
    return base / 100.0


def row_sums(a: np.ndarray) -> np.ndarray:
    """Each row's sum of a 2-D float64 array of amounts (people x months, lines x products): ``a.sum(axis=1)``,
    the same bits, in about half its time. numpy sums the m values of a C-ordered row pairwise: for 8 <= m < 16,
    ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)), then a8 ... one by one (m < 8: all one by one from 0.0),
    then 0.0 + that (so a row of −0.0 sums to +0.0). numpy does it row by row; here each step is one pass down a
    column for all rows of a block of 8,192 (the block stays in the cache while its columns are read). A row whose
    sum is NaN is summed again by numpy (which of two NaNs an addition keeps is not the same in numpy's row loop
    and its column loop). Other layouts and rows of 16 or more (numpy then keeps 8 running sums): ``a.sum(axis=1)``
    itself."""
    n, m = a.shape
    if a.dtype != np.float64 or not a.flags.c_contiguous or m >= 16 or not n:
        return a.sum(axis=1)
    out = np.empty(n)
    for lo in range(0, n, _ROWS):
        _pairwise_columns(a[lo:lo + _ROWS].T, out[lo:lo + _ROWS])
    nan = np.isnan(out)
    if nan.any():
        out[nan] = a[nan].sum(axis=1)
    return out


#: rows of :func:`row_sums` at a time (8,192 rows of 12 months: 768 KB)
_ROWS = 1 << 13


def _pairwise_columns(c: np.ndarray, out: np.ndarray) -> None:
    """out = numpy's pairwise sum of the m < 16 columns ``c[0]``, ``c[1]``, ... (see :func:`row_sums`)."""
    m = len(c)
    if m < 8:
        out[...] = 0.0
        for j in range(m):
            out += c[j]
        return
    np.add(c[0], c[1], out=out)
    other = c[2] + c[3]
    out += other
    np.add(c[4], c[5], out=other)
    other += c[6] + c[7]
    out += other
    for j in range(8, m):
        out += c[j]
    out += 0.0


def running_sums(a: np.ndarray) -> np.ndarray:
    """The running totals over the months (the last axis) of a float64 array, people x months or with leading
    axes (scenarios x people x months): ``np.cumsum(a, axis=-1)``, the same bits (month j is month j − 1's total
    + a[..., j], as numpy adds them), by :func:`_along_months`: 4.5 -> 2.9 ms at 100k x 12, 93 -> 35 us for a block
    of the commission's true-ups (2,048 x 12). Example: [[1, 2, 3], [4, 5, 6]] -> [[1, 3, 6], [4, 9, 15]]."""
    if a.dtype != np.float64 or a.ndim == 0 or not a.shape[-1]:
        return np.cumsum(a, axis=-1)
    if a.ndim != 2:  # (the rows of every leading axis, one after another)
        return running_sums(a.reshape(-1, a.shape[-1])).reshape(a.shape)
    return _along_months(np.add, a)


def running_max(a: np.ndarray) -> np.ndarray:
    """The running maximum over the months of a people x months float64 array (the tax withheld to date never
    goes down): ``np.maximum.accumulate(a, axis=1)``, the same bits, by :func:`_along_months`."""
    if a.dtype != np.float64 or a.ndim != 2 or not a.shape[1]:
        return np.maximum.accumulate(a, axis=1)
    return _along_months(np.maximum, a)


def _along_months(op: np.ufunc, a: np.ndarray) -> np.ndarray:
    """``op.accumulate(a, axis=1)`` of a 2-D float64 array with at least one column, the same bits: month j is
    op(month j − 1's result, a[:, j]), a month (a column) at a time for all rows of a block of 8,192 (the block
    stays in the cache while its columns are read) instead of row by row. A row whose last result is NaN is worked
    out again by ``op.accumulate`` (which of two NaNs an operation keeps differs between numpy's loops)."""
    out = np.empty(a.shape)
    for lo in range(0, len(a), _ROWS):
        block, acc = a[lo:lo + _ROWS], out[lo:lo + _ROWS]
        acc[:, 0] = block[:, 0]
        for j in range(1, a.shape[1]):
            op(acc[:, j - 1], block[:, j], out=acc[:, j])
    nan = np.isnan(out[:, -1])
    if nan.any():
        out[nan] = op.accumulate(a[nan], axis=1)
    return out
