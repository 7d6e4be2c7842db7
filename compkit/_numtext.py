"""Numbers as text for millions of values at once (private): :func:`grouped` writes what
:func:`compkit.i18n.number` writes of each value (``1,234.56``), character for character, as an Arrow string array
built by Arrow's compute kernels (integer casts, look-up tables gathered with ``take``, element-wise joins) instead
of one Python ``format`` per value; :func:`row_slices` cuts an Arrow array of rows into the text of consecutive ranges.
Used by the statements (compkit.feedback), whose tables hold tens of millions of figures at 100,000 people.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: the fast path's bound on |x| * 10**decimals: the product, split exactly into a float and its rounding error
#: (Dekker's product), is rounded to a whole number in int64 arithmetic without loss below 2**52
_BOUND = 2.0 ** 52
#: Veltkamp's constant for splitting a float into two halves of 26 bits (Dekker's exact product)
_SPLIT = 134217729.0

_TABLES: dict[int, tuple[pa.Array, pa.Array]] = {}


def _tables(decimals: int) -> tuple[pa.Array, pa.Array]:
    """The look-up tables of :func:`_digits` (built once per number of decimals, kept for the process).

    low   the last group of three digits with the decimals: ``g.ff`` (the whole number: no comma before it),
          ``,ggg.ff`` (after another group), ``-g.ff`` (negative, the whole number): index
          ``kind * 1000 * 10**decimals + g * 10**decimals + f``, kind 0, 1, 2 (decimals up to 2; above that the
          decimals are a piece of their own and ``low`` holds the digits alone)
    upper a group before the last: ``g`` (leading), ``,ggg``, ``""`` (none: index 2000), ``-g`` (leading,
          negative): index ``kind * 1000 + g``, ``2000`` for none, ``2001 + g`` for a negative lead
    """
    if decimals not in _TABLES:
        fracs = [f".{i:0{decimals}d}" for i in range(10 ** decimals)] if 0 < decimals <= 2 else [""]
        low = ([f"{g}{f}" for g in range(1000) for f in fracs] + [f",{g:03d}{f}" for g in range(1000) for f in fracs]
               + [f"-{g}{f}" for g in range(1000) for f in fracs])
        upper = [str(g) for g in range(1000)] + [f",{g:03d}" for g in range(1000)] + [""] + \
            [f"-{g}" for g in range(1000)]
        _TABLES[decimals] = (pa.array(low, type=pa.string()), pa.array(upper, type=pa.string()))
    return _TABLES[decimals]


def _digits(k: np.ndarray, negative: np.ndarray, decimals: int) -> pa.Array:
    """The text of k / 10**decimals for whole numbers k >= 0 (int64): groups of three digits with ``,`` between
    them, ``decimals`` places after ``.``, '-' before where ``negative``: a look-up per group of three digits
    (:func:`_tables`) and one element-wise join."""
    low, upper = _tables(decimals)
    inline = decimals <= 2
    unit = 10 ** decimals
    whole, frac = np.divmod(k, unit)
    rest, g0 = np.divmod(whole, 1000)
    higher = rest > 0
    neg = np.asarray(negative, dtype=bool)
    kind = np.where(higher, 1, np.where(neg, 2, 0))
    idx = (kind * 1000 + g0) * unit + frac if inline else kind * 1000 + g0
    pieces: list[Any] = [low.take(pa.array(idx))]
    if not inline:
        pieces.append(pa.array([f".{i:0{decimals}d}" for i in range(unit)], type=pa.string()).take(pa.array(frac)))
    while higher.any():  # one more group of three digits before the ones so far, where the number has one
        above, g = np.divmod(rest, 1000)
        lead = higher & (above == 0)
        piece = np.where(lead, np.where(neg, 2001 + g, g), np.where(higher, 1000 + g, 2000))
        pieces.insert(0, upper.take(pa.array(piece)))
        rest, higher = above, above > 0
    return pieces[0] if len(pieces) == 1 else pc.binary_join_element_wise(*pieces, "")


def _exact_product(x: np.ndarray, s: float) -> tuple[np.ndarray, np.ndarray]:
    """(p, e): p = fl(x * s) and its rounding error e, so that x * s = p + e exactly (Dekker's product with
    Veltkamp's split; |x * s| well inside the float range)."""
    def split(a: np.ndarray | float):
        t = _SPLIT * a
        hi = t - (t - a)
        return hi, a - hi
    p = x * s
    xh, xl = split(x)
    sh, sl = split(s)
    return p, ((xh * sh - p) + xh * sl + xl * sh) + xl * sl


#: below this |x|, the shortest decimal form of a float (``repr``) lies on a half at ``decimals`` (<= 4) places
#: exactly when the float is the half itself, (2m + 1) / (2 * 10**decimals) correctly rounded: the spacing of the
#: floats there (under 2**-22) is far below 10**-5
_HALF_BOUND = 1e9


def grouped(values: Any, lang: str | None = None, decimals: int = 0) -> pa.Array:
    """:func:`compkit.i18n.number` of each value of a float array, as an Arrow string array: the one path that
    words a column of numbers (the statements' tables, a column at a time), the same text value for value.

    For zh-CN and en, |x| under 1e9 and up to 4 decimals, as i18n.number words it: the grouped digits of |x|
    rounded at ``decimals`` places, '-' for a negative number (-0.001 -> '-0.00'); rounded as printf rounds the
    float (its exact value: the product x * 10**decimals as a float and its rounding error, Dekker's exact
    product, rounded in whole numbers), except where the float's shortest decimal form lies on a half (2.5,
    0.125 at 2 places): that decimal rounded half to even. Missing values give ''; the rest (larger numbers,
    other locales, more decimals) is worded by i18n.number value by value."""
    from compkit import i18n

    x = np.asarray(values, dtype="float64")
    n = len(x)
    def by_i18n(v: np.ndarray) -> pa.Array:
        return pa.array([i18n.number(e, lang, decimals) for e in v.tolist()], type=pa.string())
    if not (0 <= decimals <= 4 and i18n._plain_locale(lang)) or n == 0:
        return by_i18n(x)
    scale = 10.0 ** decimals
    with np.errstate(invalid="ignore"):
        a = np.abs(x)
        fast = a < _HALF_BOUND  # NaN: False
    a = np.where(fast, a, 0.0)
    p, err = _exact_product(a, scale)
    whole = np.floor(p)
    frac = p - whole  # exact: p < 2**52
    k = whole.astype("int64")
    k += (frac > 0.5) | ((frac == 0.5) & ((err > 0) | ((err == 0) & (k % 2 == 1))))
    m = np.floor(a * scale).astype("int64")
    half = a == (2 * m + 1) / (2 * scale)  # the shortest decimal form is m + 1/2 (at ``decimals`` places)
    if half.any():
        k = np.where(half, m + (m % 2), k)
    text = _digits(k, np.signbit(x), decimals)
    missing = np.isnan(x)  # '' as i18n.number gives it
    other = ~fast & ~missing
    if missing.any():
        text = pc.replace_with_mask(text, pa.array(missing), pa.array([""] * int(missing.sum()), type=pa.string()))
    if other.any():
        text = pc.replace_with_mask(text, pa.array(other), by_i18n(x[np.flatnonzero(other)]))
    return text


#: powers of ten as floats (exact up to 10**22), as int64 and as uint64 (for a zero-padded group of up to 19 digits)
_POW10 = 10.0 ** np.arange(23)
_IPOW10 = np.array([10 ** i for i in range(19)], dtype=np.int64)
_UPOW10 = np.array([10 ** i for i in range(20)], dtype=np.uint64)


def general(values: Any) -> pa.Array:
    """``format(x, ".16g")`` of each value of a float array, character for character, as an Arrow string array
    (the workbook's numbers, as openpyxl writes them: 16 significant digits, trailing zeros dropped).

    For 1e-4 <= |x| < 1e16 (fixed notation): the exponent e (10**e <= |x| < 10**(e + 1)) and the 16 significant
    digits k = round(|x| * 10**(15 - e)) are worked out exactly, as printf rounds the float's exact value (half to
    even): 10**(15 - e) is an exact float, the product is split into a float and its rounding error (Dekker's
    exact product) and compared with the halves without rounding; e is corrected where the product falls outside
    [10**15, 10**16) and where k rounds up to 10**16. The text is k's digits with the point after e + 1 of them
    (``0.`` and zeros before for e < 0), trailing zeros (and a bare point) dropped, '-' for a negative number
    (-0.0 -> '-0'). Zero and the rest (smaller or larger numbers: exponent notation; NaN, inf) by ``format``."""
    x = np.asarray(values, dtype="float64")
    n = len(x)
    a = np.abs(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.floor(np.log10(a))  # at most one off; corrected below
    todo = np.isfinite(e) & (e >= -5) & (e <= 16)
    e = np.where(todo, e, 0).astype("int64")
    k = np.zeros(n, dtype="int64")
    fast = np.zeros(n, dtype=bool)
    for _ in range(3):  # settle e: 10**15 <= |x| * 10**(15 - e) < 10**16, exactly
        if not todo.any():
            break
        idx = np.flatnonzero(todo)
        ei = np.clip(e[idx], -4, 15)
        p, err = _exact_product(a[idx], _POW10[15 - ei])  # |x| * 10**(15 - e) = p + err exactly
        low = (p < 1e15) | ((p == 1e15) & (err < 0))
        high = (p > 1e16) | ((p == 1e16) & (err >= 0))
        ok = ~low & ~high & (e[idx] == ei)
        whole = np.floor(p[ok])
        frac, er = p[ok] - whole, err[ok]  # frac exact; p + err - whole = frac + er, compared with +-1/2 exactly
        w = whole.astype("int64")
        odd = (w & 1) == 1
        up = (er > 0.5 - frac) | ((er == 0.5 - frac) & odd)
        down = (er < -0.5 - frac) | ((er == -0.5 - frac) & odd)
        kk = w + up - down
        carry = kk == 10 ** 16  # rounded up to the next power of ten: 10**15 at the next exponent
        j = idx[ok]
        k[j] = np.where(carry, 10 ** 15, kk)
        e[j] += carry
        fast[j] = True
        todo[j] = False
        e[idx[~ok]] += high[~ok].astype("int64") - low[~ok].astype("int64")
        todo &= (e >= -4) & (e <= 15)
    fast &= (e >= -4) & (e <= 15)
    e = np.where(fast, e, 0)
    places = 15 - e  # digits after the point before trailing zeros are dropped (0 to 19)
    unit = _IPOW10[np.minimum(places, 15)]
    whole_part = np.where(e >= 0, k // unit, 0)
    # the digits after the point, zero-padded to ``places``: 10**places + those digits, its leading 1 cut off
    padded = np.where(e >= 0, k % unit, k).astype("uint64") + _UPOW10[places]
    after = pc.utf8_rtrim(pc.utf8_slice_codeunits(pc.cast(pa.array(padded), pa.string()), 1), "0")
    before = pc.cast(pa.array(whole_part), pa.string())
    body = pc.if_else(pc.equal(pc.binary_length(after), 0), before,
                      pc.binary_join_element_wise(before, ".", after, ""))
    text = pc.if_else(pa.array(np.signbit(x)), pc.binary_join_element_wise("-", body, ""), body)
    other = ~fast
    if other.any():
        text = pc.replace_with_mask(text, pa.array(other),
                                    pa.array([format(v, ".16g") for v in x[other].tolist()], type=pa.string()))
    return text


def prepare(decimals: tuple[int, ...] = (0, 1, 2)) -> None:
    """Build the look-up tables of :func:`grouped` now (a process that forks workers builds them once for all)."""
    for d in decimals:
        _tables(d)


def row_slices(rows: pa.Array, offsets: Any) -> list[str]:
    """The text of ``rows`` (an Arrow string array) from ``offsets[i]`` to ``offsets[i + 1] - 1``, joined, for each
    ``i``: ``"".join(rows[offsets[i]:offsets[i + 1]])`` without a Python string per row (one slice of the array's
    UTF-8 buffer each)."""
    rows = pc.cast(rows, pa.string()) if rows.type != pa.string() else rows
    if isinstance(rows, pa.ChunkedArray):
        rows = rows.combine_chunks()
    off = np.asarray(offsets, dtype="int64")
    if len(rows) == 0:
        return [""] * max(len(off) - 1, 0)
    if rows.null_count:
        rows = pc.fill_null(rows, "")
    byte_off = np.frombuffer(rows.buffers()[1], dtype=np.int32, count=len(rows) + 1, offset=4 * rows.offset)
    data = rows.buffers()[2]
    mem = memoryview(data) if data is not None else memoryview(b"")
    at = byte_off[off].tolist()
    return [str(mem[a:b], "utf-8") for a, b in zip(at[:-1], at[1:])]


def escaped(values: Any) -> pa.Array:
    """HTML-escaped text of each value of a column (a pandas Series; as Jinja2 prints ``{{ value }}`` of the value
    ``to_numpy(dtype=object)`` gives: markupsafe.escape), as an Arrow string array: a categorical column's
    categories escaped once and gathered by its codes, another column's distinct values escaped once each."""
    import pandas as pd
    from markupsafe import escape

    s = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=object), dtype=object)
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy().astype("int64")
        table = [str(escape(v)) for v in s.cat.categories.tolist()]
    else:
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        codes = codes.astype("int64")
        table = [str(escape(v)) for v in np.asarray(uniques, dtype=object).tolist()]
    text = pa.array(table, type=pa.string()).take(pa.array(np.where(codes < 0, 0, codes))) if table else \
        pa.array([""] * len(codes), type=pa.string())
    missing = codes < 0
    if missing.any():  # as the value reads: nan, None, <NA>
        shown = [str(escape(v)) for v in s.to_numpy(dtype=object)[missing].tolist()]
        text = pc.replace_with_mask(text, pa.array(missing), pa.array(shown, type=pa.string()))
    return text


def money(values: Any, lang: str | None = None, currency: str = "CNY") -> list[str]:
    """:func:`compkit.i18n.money` of each value ('1,234.56 元', en 'CNY 1,234.56'; '' for a missing one)."""
    from compkit import i18n

    if i18n.resolve(lang) == "zh-CN" and currency in i18n._CURRENCY_SIGN:
        return _affixed(values, lang, 2, "", f" {i18n._CURRENCY_SIGN[currency]}")
    return _affixed(values, lang, 2, f"{currency} ", "")


def percent(values: Any, lang: str | None = None, decimals: int = 0) -> list[str]:
    """:func:`compkit.i18n.percent` of each value (0.123 -> '12%'; '' for a missing one)."""
    return _affixed(np.asarray(values, dtype="float64") * 100, lang, decimals, "", "%")


def _affixed(values: Any, lang: str | None, decimals: int, before: str, after: str) -> list[str]:
    x = np.asarray(values, dtype="float64")
    text = pc.binary_join_element_wise(before, grouped(x, lang, decimals), after, "")
    missing = np.isnan(x)
    if missing.any():
        text = pc.if_else(pa.array(missing), "", text)
    return text.to_pylist()
