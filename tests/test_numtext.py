"""compkit._numtext: numbers as text for millions of values at once, the same text as compkit.i18n.number of each
value."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as hst

from compkit import _numtext, i18n


def test_grouped_worked_examples() -> None:
    """Groups of three digits, the decimals rounded as i18n.number rounds them: printf's rounding of the float
    (1.005 is 1.00499999… as a float: 1.00), half to even where the float's shortest form is a half (2.675 -> 2.68,
    0.125 -> 0.12, 2.5 -> 2, 3.5 -> 4), '-' kept for a negative number that rounds to 0, '' for a missing value."""
    x = np.array([1234567.891, 0.0, -0.001, -0.0, 2.675, 0.125, 1.005, 1e9 + 0.5, float("nan"), -1234.5])
    assert _numtext.grouped(x, "zh-CN", 2).to_pylist() == [
        "1,234,567.89", "0.00", "-0.00", "-0.00", "2.68", "0.12", "1.00", "1,000,000,000.50", "", "-1,234.50"]
    assert _numtext.grouped(np.array([2.5, 3.5, -2.5, 1e6, 999.0]), "en", 0).to_pylist() == [
        "2", "4", "-2", "1,000,000", "999"]
    assert _numtext.grouped(np.array([12.25, 0.05]), "en", 1).to_pylist() == ["12.2", "0.0"]


@settings(max_examples=300, deadline=None)
@given(hst.lists(hst.one_of(hst.floats(allow_infinity=False, min_value=-1e17, max_value=1e17),
                            hst.integers(-10**12, 10**12).map(lambda n: n / 200),  # halves of cents: ties
                            hst.integers(-10**9, 10**9).map(lambda n: n / 20000),  # halves at 4 places
                            hst.integers(2**40, 2**52).map(lambda n: n + 0.125),  # wider spacing than 10**-3
                            hst.sampled_from([float("nan"), 0.0, -0.0, -0.001, 2.675, 0.5, 2.5, 99_999.995, 5e-05,
                                              1e9, 1e9 - 0.5, 2.0 ** 52, float("inf"), float("-inf")])),
                 max_size=40),
       hst.sampled_from(["zh-CN", "en"]), hst.integers(0, 5))
def test_grouped_is_number_value_for_value(xs: list[float], lang: str, decimals: int) -> None:
    """grouped (Arrow) gives exactly what i18n.number gives of each value, for any floats and decimals: missing
    values '', halves rounded half to even on the shortest decimal form, huge numbers as Babel gives them."""
    x = np.array(xs, dtype="float64")
    assert _numtext.grouped(x, lang, decimals).to_pylist() == [i18n.number(v, lang, decimals) for v in xs]


def test_grouped_on_a_million_values_near_halves() -> None:
    """Exhaustively near the ties: every multiple of 1/2000 up to 10, whole thousandths and halves of ten
    thousandths, each as it is and one float either side, both signs, at 0 to 4 places."""
    rng = np.random.default_rng(7)
    base = np.concatenate([np.arange(0, 20000) / 2000.0, rng.integers(0, 10**9, 20000) / 1000.0,
                           rng.integers(0, 10**6, 20000) * 0.0005, rng.normal(0, 1e6, 20000)])
    x = np.concatenate([base, -base, np.nextafter(base, 0), np.nextafter(base, 1e20)])
    for decimals in range(5):
        assert _numtext.grouped(x, "zh-CN", decimals).to_pylist() == [i18n.number(v, "zh-CN", decimals)
                                                                      for v in x.tolist()]


def test_grouped_above_the_fast_bound_as_number_words_each() -> None:
    """Numbers of 10**12 and more that lie near a half at 2 places (where printf's rounding of the float and the
    half to even of its shortest decimal form can part): each as i18n.number words it; a whole table of them."""
    base = np.array([1_234_567_890_123.145, 2_000_000_000_000.005, 9_999_999_999_999.125, 5e12 + 0.015, 1e13 + 0.5])
    x = np.concatenate([base, -base, np.nextafter(base, 0), np.nextafter(base, 1e20)])
    for decimals in range(4):
        assert _numtext.grouped(x, "en", decimals).to_pylist() == [i18n.number(v, "en", decimals) for v in x.tolist()]
    assert _numtext.grouped(np.array([2.675, 0.125, float("nan")]), "zh-CN", 2).to_pylist() == ["2.68", "0.12", ""]


def test_row_slices_join_the_rows_of_each_range() -> None:
    rows = pa.array(["<a>", "中文", "", "x&y", "z"])
    assert _numtext.row_slices(rows, [0, 2, 2, 5]) == ["<a>中文", "", "x&yz"]
    assert _numtext.row_slices(rows.slice(1), [0, 1, 4]) == ["中文", "x&yz"]
    assert _numtext.row_slices(pa.array([], type=pa.string()), [0, 0, 0]) == ["", ""]


def test_escaped_as_jinja_prints_a_value() -> None:
    import pandas as pd
    from markupsafe import escape

    values = np.array(["a<b", "R&D", "a<b", "“引号”", None, float("nan")], dtype=object)
    assert _numtext.escaped(values).to_pylist() == [str(escape(v)) for v in values]
    text = pd.Series(["a<b", None, "a<b"], dtype="str")
    assert _numtext.escaped(text).to_pylist() == ["a&lt;b", "nan", "a&lt;b"]
    cat = pd.Series(["x>y", None, "x>y"], dtype="category")
    assert _numtext.escaped(cat).to_pylist() == ["x&gt;y", "nan", "x&gt;y"]


@settings(max_examples=200, deadline=None)
@given(hst.lists(hst.one_of(hst.floats(allow_infinity=False, min_value=-1e13, max_value=1e13),
                            hst.integers(-10**9, 10**9).map(lambda n: n / 200),
                            hst.sampled_from([float("nan"), 0.0, -0.0, 0.035, 0.125, 12_345.675])), max_size=30),
       hst.sampled_from(["zh-CN", "en"]), hst.sampled_from(["CNY", "USD"]), hst.integers(0, 3))
def test_money_and_percent_as_i18n_words_each_value(xs: list[float], lang: str, currency: str, decimals: int) -> None:
    """_numtext.money and percent (the statements' salary reviews and promotions, a column at a time) give
    exactly i18n.money and i18n.percent of each value: '1,234.56 元', 'CNY 1,234.56', '3.50%', '' if missing."""
    x = np.array(xs, dtype="float64")
    assert _numtext.money(x, lang, currency) == [i18n.money(v, lang, currency) for v in xs]
    assert _numtext.percent(x, lang, decimals) == [i18n.percent(v, lang, decimals) for v in xs]
    assert _numtext.money(np.array([1234.5, np.nan]), "zh-CN") == ["1,234.50 元", ""]
    assert _numtext.percent(np.array([0.035]), "en", 2) == ["3.50%"]


def test_general_worked_examples() -> None:
    """16 significant digits as format(x, '.16g') writes them (the workbook's numbers): 0.07 is
    0.07000000000000000666… as a float (0.07000000000000001), trailing zeros dropped, exponent notation below
    1e-4 and from 1e16, '-0' for -0.0."""
    x = np.array([0.07, 1234567.89, 123.0, -0.0, 0.0, 1e16, 9999999999999999.0, 99.99999999999999, 1e-4, 5e-05,
                  0.1 + 0.2, -2.5, float("nan"), float("inf")])
    assert _numtext.general(x).to_pylist() == [
        "0.07000000000000001", "1234567.89", "123", "-0", "0", "1e+16", "1e+16", "99.99999999999999", "0.0001",
        "5e-05", "0.3", "-2.5", "nan", "inf"]


@settings(max_examples=300, deadline=None)
@given(hst.lists(hst.one_of(hst.floats(), hst.floats(min_value=-1e17, max_value=1e17),
                            hst.integers(-10**13, 10**13).map(lambda n: n / 100),  # cents
                            hst.integers(1, 10**16).map(float),  # whole numbers, up to 10**16
                            hst.integers(-17, 17).map(lambda e: 10.0 ** e),  # powers of ten: the exponent's edges
                            hst.integers(-17, 17).map(lambda e: np.nextafter(10.0 ** e, 0.0))),
                 max_size=40))
def test_general_is_format_16g(xs: list[float]) -> None:
    """general gives exactly format(x, '.16g') of each value, for any floats."""
    x = np.array(xs, dtype="float64")
    assert _numtext.general(x).to_pylist() == [format(v, ".16g") for v in x.tolist()]


def test_general_on_a_million_values() -> None:
    """Cents up to 10**6, random amounts and a wide spread of magnitudes, each with the floats either side."""
    rng = np.random.default_rng(11)
    base = np.concatenate([np.arange(0, 200_000) / 100, rng.integers(0, 10**13, 100_000) / 100,
                           np.exp(rng.uniform(-25, 40, 100_000))])
    x = np.concatenate([base, -base, np.nextafter(base, 0), np.nextafter(base, np.inf)])
    assert _numtext.general(x).to_pylist() == [format(v, ".16g") for v in x.tolist()]
