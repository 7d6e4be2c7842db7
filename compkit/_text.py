"""Texts shown to people (reasons), built column-wise with Arrow compute kernels (private): distinct values are
formatted once in Python and gathered (``take``); element-wise concatenation runs in C++. Used by the pay and
career calculators.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import ArrayLike


def gather(table: Sequence[str], index: ArrayLike) -> pa.Array:
    """table[index] as an Arrow string array (index: int array into the small ``table``; negative indices
    count from the end, as in numpy)."""
    idx = np.asarray(index, dtype="int64")
    idx = np.where(idx < 0, idx + len(table), idx)
    return pa.array(list(table), type=pa.string()).take(pa.array(idx))


def concat(*pieces: pa.Array | str, sep: str = "") -> pa.Array:
    """Element-wise concatenation of Arrow string arrays and constants, with ``sep`` between the pieces."""
    if len(pieces) == 1:
        return pieces[0]
    return pc.binary_join_element_wise(*pieces, sep)


#: the dtype pandas gives a column of Python strings (``str``, Arrow-backed, in pandas 3)
_TEXT = pd.Series(np.array(["x"], dtype=object)).dtype


def as_column(values: pd.Series) -> Any:
    """``values`` to put into another table as the column ``values.to_numpy()`` would make there (the same values
    and dtype): text that pandas would store as it is stored here goes in as its own array, without a Python
    string per value made and then converted back (100,000 of them per column)."""
    if values.dtype == _TEXT and values.notna().any():  # (all missing: pandas would make the column ``object``)
        return values.array
    return values.to_numpy()


def text_column(text: pa.Array | pa.ChunkedArray) -> pd.api.extensions.ExtensionArray:
    """Arrow text as the column pandas would make of the same Python strings (its ``str`` dtype; null -> NaN),
    without a Python string per value: to put into a table as it is."""
    return text.to_pandas().array


def text_series(text: pa.Array, index: pd.Index) -> pd.Series:
    s = text.to_pandas()
    s.index = index
    return s


def fmt_num(threshold: float) -> str:
    """A policy threshold as written: 1 -> '1', 2.5 -> '2.5', 95.0 -> '95'."""
    return f"{threshold:g}"


def fmt_values(values: np.ndarray, holds: np.ndarray | None = None, missing: str = "none") -> pa.Array:
    """Numbers shown to people in reasons, to one decimal: rounded half-up, except that a value failing its
    ``>=`` threshold is truncated, so that it never looks as if it passes (94.96 against 95 is shown as 94.9,
    not 95.0; 3.997 years against 2 as 4.0). NaN -> ``missing``. Returns an Arrow string array."""
    v = np.asarray(values, dtype="float64")
    nan = np.isnan(v)
    x = np.where(nan, 0.0, v) * 10.0
    tenths = np.floor(np.round(x, 6) + 0.5)
    if holds is not None:
        tenths = np.where(holds, tenths, np.minimum(tenths, np.floor(x + 1e-9)))
    t = tenths.astype("int64")
    lo, hi = (int(t.min()), int(t.max())) if len(t) else (0, -1)
    if hi - lo <= 20_000:  # scores and years: a short table of every tenth in range, no sort
        uniq, inv = np.arange(lo, hi + 1), t - lo
    else:
        uniq, inv = np.unique(t, return_inverse=True)
    table = [f"{u / 10:.1f}" for u in uniq.tolist()] + [missing]
    return gather(table, np.where(nan, len(uniq), inv.reshape(-1)))
