"""Codes of a column taken from its runs of equal adjacent values (compkit._arrays.run_codes): the same as
from every row (any_codes)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from compkit._arrays import any_codes, run_codes, run_starts

TEXTS = st.one_of(st.none(), st.sampled_from(["", "E1", "E2", "E10", "é", "理财", "x" * 20]))


def _column(values: list, chunked: bool) -> pd.Series:
    """An Arrow text column of ``values``: one array, or two chunks split in the middle of the list."""
    if chunked:
        half = len(values) // 2
        arrow = pa.chunked_array([pa.array(values[:half], type=pa.string()),
                                  pa.array(values[half:], type=pa.string())], type=pa.string())
    else:
        arrow = pa.chunked_array([pa.array(values, type=pa.string())], type=pa.string())
    return pd.Series(pd.arrays.ArrowStringArray(arrow))


def test_run_starts_worked_example() -> None:
    """Rows a a b b b a None None c: runs start at 0, 2, 5, 6, 7 (each missing row is a run of its own), 8."""
    col = _column(["a", "a", "b", "b", "b", "a", None, None, "c"], chunked=False)
    assert run_starts(col).tolist() == [0, 2, 5, 6, 7, 8]
    assert run_starts(_column([], chunked=False)).tolist() == []
    assert run_starts(_column(["a"], chunked=False)).tolist() == [0]
    assert run_starts(pd.Series(["a", "a"], dtype=object)) is None  # not Arrow text


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(TEXTS, st.integers(min_value=1, max_value=4)), max_size=10), st.booleans())
def test_run_codes_equal_those_of_every_row(runs: list, chunked: bool) -> None:
    """Values repeated in runs (a value may come back in a later run; missing values too), in one chunk or two:
    the codes and the number of distinct values are any_codes'."""
    values = [v for v, k in runs for _ in range(k)]
    col = _column(values, chunked)
    codes, n = run_codes(col)
    want_codes, want_n = any_codes(col)
    assert n == want_n
    np.testing.assert_array_equal(codes, want_codes)
    assert codes.dtype == want_codes.dtype


def test_run_codes_worked_example() -> None:
    """E3 E3 E3 E1 E1 E1 E2 E2 E2 (a schedule: each id 3 rows; the runs' ids distinct): run r gets code r, as
    any_codes gives them (first appearance); E3 E3 E1 E1 E3 E3 (E3 comes back): still any_codes' codes."""
    col = _column(["E3"] * 3 + ["E1"] * 3 + ["E2"] * 3, chunked=True)
    codes, n = run_codes(col)
    assert codes.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2] and n == 3
    np.testing.assert_array_equal(codes, any_codes(col)[0])
    back = _column(["E3", "E3", "E1", "E1", "E3", "E3"], chunked=False)
    codes, n = run_codes(back)
    assert codes.tolist() == [0, 0, 1, 1, 0, 0] and n == 2


def test_run_codes_of_other_columns_are_any_codes() -> None:
    """A categorical or object column: any_codes' own codes."""
    cat = pd.Series(pd.Categorical(["b", "b", "a"]))
    np.testing.assert_array_equal(run_codes(cat)[0], any_codes(cat)[0])
    obj = pd.Series(["b", "b", "a", "a"], dtype=object)
    np.testing.assert_array_equal(run_codes(obj)[0], any_codes(obj)[0])
