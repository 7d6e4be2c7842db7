"""compkit.money: rounding half-up to the cent, whole cents, allocation of a total (worked by hand)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compkit.money import allocate_cents, round_cents, row_sums, running_sums, to_cents, whole_cents


def test_round_cents_half_up() -> None:
    # 1.005 is 1.00499999999999989... in binary; on paper it is half a cent and rounds up
    assert list(round_cents([1.005, -2.675, 0.004999, 2.5])) == [1.01, -2.68, 0.0, 2.5]
    assert np.isnan(round_cents(np.nan))


def test_to_cents() -> None:
    # 12,345.675 -> 12,345.68 -> 1,234,568 cents; NaN counts as 0; 0.1 + 0.2 is 30 cents exactly
    assert list(to_cents([12_345.675, np.nan, 0.1 + 0.2])) == [1_234_568, 0, 30]
    assert to_cents([1.0]).dtype == np.int64


def test_allocate_cents_worked_example() -> None:
    # 100.00 over three equal parts: 3,333.33... cents each, floors 3,333 (9,999), the one cent left goes to the
    # first part (ties: the earlier part)
    assert list(allocate_cents(100.0, [1, 1, 1])) == [33.34, 33.33, 33.33]
    # one split per row of a 2-D array: 10.00 over 1:2:3 = 166.67 / 333.33 / 500 cents -> 1.67 / 3.33 / 5.00;
    # a row of zero weights is shared equally
    out = allocate_cents(10.0, [[1, 2, 3], [0, 0, 0]])
    assert out.tolist() == [[1.67, 3.33, 5.0], [3.34, 3.33, 3.33]]


@given(total=st.floats(0, 1e7).map(lambda x: round(x, 2)),
       weights=st.lists(st.floats(0, 1e6), min_size=1, max_size=20))
@settings(max_examples=100, deadline=None)
def test_allocated_parts_add_up_to_the_total(total, weights) -> None:
    parts = allocate_cents(total, weights)
    assert to_cents(parts).sum() == to_cents(total)
    # the same split row by row in 2-D
    assert (allocate_cents(total, [weights, weights]) == parts).all()


def test_whole_cents_worked_example() -> None:
    # 1.005 CNY: |x| x 100 = 100.49999999999999, rounded to 6 decimals 100.5, + 0.5 = 101, floor 101 cents
    # -2.675: 267.49999999999997 -> 267.5 -> 268, sign -: -268 cents; 0.004999 -> 0.4999 -> 0.9999 -> 0
    np.testing.assert_array_equal(whole_cents([1.005, -2.675, 0.004999, 12345.675]), [101.0, -268.0, 0.0, 1234568.0])
    assert float(whole_cents(1.005)) == 101.0 and np.isnan(whole_cents([np.nan])[0])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), min_size=1, max_size=50))
def test_whole_cents_is_round_cents_in_cents(amounts) -> None:
    # the one rule: round_cents = whole_cents / 100, to_cents = whole_cents as int64 (arrays and scalars alike)
    a = np.array(amounts)
    np.testing.assert_array_equal(round_cents(a), whole_cents(a) / 100.0)
    np.testing.assert_array_equal(to_cents(a), whole_cents(a).astype("int64"))
    assert round_cents(a[0]) == whole_cents(a[0]) / 100.0
    np.testing.assert_array_equal(np.rint(round_cents(a) * 100.0), whole_cents(a))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.one_of(st.floats(min_value=-1e12, max_value=1e12),
                          st.sampled_from([1.005, -2.675, 0.0, -0.0, np.nan, np.inf, -np.inf])),
                min_size=1, max_size=40),
       st.integers(0, 3))
def test_whole_cents_of_many_amounts_is_each_amounts_own(amounts, extra_blocks) -> None:
    """An array of more amounts than one block (rounded a block at a time) gives, bit for bit, what each amount
    gives alone (the scalar path); NaN stays NaN, and a strided array gives the same."""
    import compkit.money as money
    n = money._BLOCK * extra_blocks + 7 * len(amounts)
    values = np.resize(np.array(amounts, dtype="float64"), n)
    got = whole_cents(values)
    alone = np.array([whole_cents(v) for v in values[:len(amounts)]])
    expected = np.resize(alone, n)
    assert got.shape == values.shape and np.array_equal(got.view(np.int64), expected.view(np.int64))
    grid = values[:(n // 7) * 7].reshape(-1, 7)
    assert np.array_equal(whole_cents(grid).ravel().view(np.int64), expected[:grid.size].view(np.int64))
    assert np.array_equal(whole_cents(grid[:, 1:]).view(np.int64), whole_cents(grid[:, 1:].copy()).view(np.int64))


_ODD = [np.nan, -0.0, 0.0, np.inf, -np.inf, 1.005, -2.675, 0.004999, 1e15, -1e15, 2.0 ** 60, 12345.675]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2 ** 32 - 1), st.sampled_from([1, 7, 1 << 15, (1 << 15) + 3, 3 * (1 << 15) + 1]))
def test_whole_cents_into_out_is_a_new_array(seed, size) -> None:
    """whole_cents / round_cents into ``out`` (a separate array, or the amounts themselves: in place) give the bits
    of a new array, small and large (blocked), strided too; NaN, -0.0, infinities and huge amounts included."""
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 1e4, size) * rng.choice([1.0, 1e-3, 1e6], size)
    a[rng.integers(0, size, min(size, 12))] = rng.choice(_ODD, min(size, 12))
    for rule in (whole_cents, round_cents):
        expected = rule(a).view(np.uint64)
        separate = np.full(size, 7.0)
        assert rule(a, out=separate) is separate and np.array_equal(separate.view(np.uint64), expected)
        same = a.copy()
        assert rule(same, out=same) is same and np.array_equal(same.view(np.uint64), expected)
        grid = a.reshape(1, -1)  # 2-D, and a strided view (every other amount)
        assert np.array_equal(rule(grid, out=np.empty_like(grid)).view(np.uint64).ravel(), expected)
        strided = np.repeat(a, 2)[::2]
        out = np.empty(size * 2)[::2]
        rule(strided, out=out)
        assert np.array_equal(out.view(np.uint64), expected)
        strided = np.repeat(a, 2)[::2]
        assert np.array_equal(rule(strided, out=strided).view(np.uint64), expected)
    assert float(round_cents(np.float64(1.005), out=np.empty(()))) == 1.01


def test_whole_cents_out_of_another_shape_or_type() -> None:
    with pytest.raises(ValueError):
        whole_cents(np.ones(3), out=np.empty(4))
    with pytest.raises(ValueError):
        whole_cents(np.ones(3), out=np.empty(3, dtype=np.float32))


def _cents_before(x: np.ndarray) -> np.ndarray:
    """whole_cents of an array as compkit worked it out up to eb0eaf2 (its code, verbatim): sign(x) x
    floor(round(|x| x 100, 6) + 0.5), the signs taken first and multiplied in last, a block of 2**15 amounts at a
    time. (Which NaN a product of two NaNs gives depends on the place of the amount in its block, so the reference
    keeps the blocks.)"""
    block = 1 << 15
    a = np.asarray(x, dtype="float64")
    if a.size <= block or not a.flags.c_contiguous:
        out = np.empty_like(a)
        sign = np.sign(a)
        np.abs(a, out=out)
        out *= 100.0
        np.round(out, 6, out=out)
        out += 0.5
        np.floor(out, out=out)
        out *= sign
        return out
    out = np.empty(a.shape)
    flat_in, flat = a.reshape(-1), out.reshape(-1)
    signs = np.empty(min(block, flat.size))
    for start in range(0, flat.size, block):
        part, values = flat[start:start + block], flat_in[start:start + block]
        sign = signs[:len(part)]
        np.sign(values, out=sign)
        np.abs(values, out=part)
        part *= 100.0
        np.round(part, 6, out=part)
        part += 0.5
        np.floor(part, out=part)
        part *= sign
    return out


_EVERY_FLOAT = st.integers(0, 2 ** 64 - 1).map(lambda b: float(np.array(b, dtype=np.uint64).view(np.float64)))
_HALF_CENTS = st.integers(-10 ** 12, 10 ** 12).map(lambda k: (k + 0.5) / 100.0)
_AMOUNTS = st.one_of(_EVERY_FLOAT, _HALF_CENTS, st.floats(-1e7, 1e7), st.sampled_from(_ODD + [-np.nan, 1e300, -1e303,
                                                                                                5e-324, -5e-324]))


@settings(max_examples=400, deadline=None)
@given(st.lists(_AMOUNTS, min_size=1, max_size=60), st.sampled_from([0, 1, 1 << 15, 3 * (1 << 15) + 5]),
       st.booleans())
def test_whole_cents_is_the_formula_bit_for_bit(amounts, size, in_place) -> None:
    """whole_cents and round_cents give, bit for bit, what they gave before blocks without a sign bit skipped the
    sign and absolute-value passes (and round_cents divided by 100 block by block): on any float64 (every bit
    pattern: NaN of either sign and any payload, -0.0, infinities, subnormals, amounts that overflow when
    multiplied), half-cents, small and blocked arrays, blocks with and without negative amounts, into a new array
    or in place."""
    a = np.array(amounts, dtype="float64")
    if size:  # positive amounts before the drawn ones, some of the drawn ones also spread among them
        big = np.abs(np.random.default_rng(len(amounts)).normal(0, 1e4, size))
        spread = big[::max(1, size // 3)]
        k = min(len(spread), len(a))
        spread[:k] = a[:k]
        a = np.concatenate([big, a])
    with np.errstate(all="ignore"):  # (x 100 overflows above 1.8e306: inf, as before)
        expected = _cents_before(a)
        for rule, unit in ((whole_cents, 1.0), (round_cents, 100.0)):
            want = expected / unit if unit != 1.0 else expected  # (round_cents was whole_cents, then /= 100)
            x = a.copy()
            got = rule(x, out=x) if in_place else rule(x)
            assert np.array_equal(got.view(np.uint64), want.view(np.uint64))


_MONTH_AMOUNTS = st.one_of(_EVERY_FLOAT, st.floats(-1e7, 1e7).map(lambda x: round(x, 2)),
                           st.sampled_from([np.nan, -np.nan, -0.0, 0.0, np.inf, -np.inf, 1e308, -1e308, 0.1]))


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 20), st.integers(1, 20), st.data())
def test_row_sums_is_numpys_row_sum(n, m, data) -> None:
    """row_sums(a) is a.sum(axis=1) bit for bit (numpy's pairwise order; an all -0.0 row gives +0.0; NaN of
    either sign and any payload, infinities that cancel into NaN, overflow), for 1-20 months and people, in one
    block of rows or several; strided and integer arrays go to numpy itself."""
    import compkit.money as money
    a = np.array(data.draw(st.lists(_MONTH_AMOUNTS, min_size=n * m, max_size=n * m)), dtype="float64").reshape(n, m)
    with np.errstate(all="ignore"):
        assert np.array_equal(row_sums(a).view(np.uint64), a.sum(axis=1).view(np.uint64))
        saved, money._ROWS = money._ROWS, 3  # blocks of 3 rows
        try:
            assert np.array_equal(row_sums(a).view(np.uint64), a.sum(axis=1).view(np.uint64))
        finally:
            money._ROWS = saved
        wide = np.repeat(a, 2, axis=1)[:, ::2]
        assert np.array_equal(row_sums(wide).view(np.uint64), wide.sum(axis=1).view(np.uint64))
    assert row_sums(np.ones((n, m), dtype=int)).tolist() == [m] * n


def test_row_sums_worked_example() -> None:
    # 12 months of 0.1: ((0.1 + 0.1) + (0.1 + 0.1)) + ((0.1 + 0.1) + (0.1 + 0.1)) = 0.8, then + 0.1 four times:
    # 1.2000000000000002, as numpy sums them (0.1 added one by one from 0.0 gives 1.2: the order counts)
    twelve = np.full((2, 12), 0.1)
    assert row_sums(twelve).tolist() == [1.2000000000000002] * 2 == twelve.sum(axis=1).tolist()
    assert row_sums(np.zeros((3, 0))).tolist() == [0.0, 0.0, 0.0]


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 20), st.integers(0, 14), st.data())
def test_running_sums_is_numpys_cumsum(n, m, data) -> None:
    """running_sums(a) is np.cumsum(a, axis=1) bit for bit: any float64 bit pattern (NaN of either sign and any
    payload, -0.0, infinities that cancel into NaN), no months, strided arrays."""
    a = np.array(data.draw(st.lists(_MONTH_AMOUNTS, min_size=n * m, max_size=n * m)), dtype="float64").reshape(n, m)
    import compkit.money as money
    with np.errstate(all="ignore"):
        assert np.array_equal(running_sums(a).view(np.uint64), np.cumsum(a, axis=1).view(np.uint64))
        saved, money._ROWS = money._ROWS, 3  # blocks of 3 rows
        try:
            assert np.array_equal(running_sums(a).view(np.uint64), np.cumsum(a, axis=1).view(np.uint64))
        finally:
            money._ROWS = saved
        wide = np.repeat(a, 2, axis=1)[:, ::2]
        assert np.array_equal(running_sums(wide).view(np.uint64), np.cumsum(wide, axis=1).view(np.uint64))
        # with leading axes (scenarios x people x months) and one row alone: the same bits, the input not written
        for shaped in (a.reshape(1, n, m), np.repeat(a[None], 2, axis=0), a[0]):
            given = shaped.copy()
            assert np.array_equal(running_sums(shaped).view(np.uint64),
                                  np.cumsum(shaped, axis=-1).view(np.uint64))
            assert np.array_equal(shaped.view(np.uint64), given.view(np.uint64))
    # 0.1 a month: 0.1, 0.2, 0.30000000000000004, ... as numpy adds them
    assert running_sums(np.full((1, 3), 0.1)).tolist() == [[0.1, 0.2, 0.30000000000000004]]
    assert running_sums(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).tolist() == [[1.0, 3.0, 6.0], [4.0, 9.0, 15.0]]
