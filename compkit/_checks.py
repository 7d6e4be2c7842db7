"""The data contract's value checks, held as what they check and made pandera checks only when needed (private).

A :class:`Check` is written as pandera's ``pa.Check`` is (``Check.ge(0, error=...)``, ``Check.isin([...])``,
``Check.in_range(lo, hi)``, ``Check.str_matches(pattern)``, ``Check(fn, element_wise=False)``) and is the same
rule: :meth:`Check.to_pandera` gives that ``pa.Check`` (pandera is imported then, not when compkit is).

:meth:`Check.passes` tells, on whole arrays, that no value present in a column breaks the rule: one numpy
comparison, or a look-up of a categorical's few categories. The loader (:func:`compkit.data._check_table`) asks it
first and builds the table's pandera schema and validates with it only when some check does not pass: clean data
(the usual case) are then checked without pandera (measured at 100,000 managers: pandera's import, its set-up and
its validation of every table, about 1 s of CPU), and data with a problem get pandera's failure cases, and so the
same messages, as before. ``passes`` answers True only where pandera finds no failure case; where it cannot tell
cheaply (a kind of check or of column it does not know) it answers False and pandera decides.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from compkit._arrays import cat_codes


class Check:
    """A value check of one column (see the module's docstring): ``kind`` (``"fn"``, ``"ge"``, ``"gt"``,
    ``"in_range"``, ``"isin"``, ``"str_matches"``), its arguments, and ``error`` (what was expected: the message
    pandera's failure case carries)."""

    __slots__ = ("kind", "args", "fn", "error", "_pandera")

    def __init__(self, fn: Callable[[pd.Series], Any] | None = None, *, error: object = None,
                 element_wise: bool = False, _kind: str = "fn", _args: tuple = ()) -> None:
        if _kind == "fn" and (fn is None or element_wise):
            raise ValueError("a Check of its own is a vectorised function of the column (element_wise=False)")
        self.kind, self.args, self.fn, self.error = _kind, _args, fn, error
        self._pandera = None

    @classmethod
    def ge(cls, min_value: float, *, error: object = None) -> Check:
        return cls(error=error, _kind="ge", _args=(min_value,))

    @classmethod
    def gt(cls, min_value: float, *, error: object = None) -> Check:
        return cls(error=error, _kind="gt", _args=(min_value,))

    @classmethod
    def in_range(cls, min_value: float, max_value: float, *, error: object = None) -> Check:
        """``min_value <= x <= max_value`` (both ends included, as pandera's default)."""
        return cls(error=error, _kind="in_range", _args=(min_value, max_value))

    @classmethod
    def isin(cls, allowed_values: Sequence[object], *, error: object = None) -> Check:
        return cls(error=error, _kind="isin", _args=(list(allowed_values),))

    @classmethod
    def str_matches(cls, pattern: str, *, error: object = None) -> Check:
        """The text matches ``pattern`` from its start (``re.match``, as pandera's)."""
        return cls(error=error, _kind="str_matches", _args=(pattern,))

    def __repr__(self) -> str:
        return f"Check.{self.kind}{self.args!r}" if self.kind != "fn" else f"Check({self.fn!r})"

    def to_pandera(self) -> Any:
        """The same rule as a ``pandera.pandas.Check`` (made once per Check)."""
        if self._pandera is None:
            import pandera.pandas as pa

            if self.kind == "fn":
                self._pandera = pa.Check(self.fn, element_wise=False, error=self.error)
            else:
                self._pandera = getattr(pa.Check, self.kind)(*self.args, error=self.error)
        return self._pandera

    def passes(self, values: pd.Series) -> bool:
        """True when no value present (missing values are not checked, as pandera's ``ignore_na``) breaks the
        rule; False when some value does, or may (then pandera decides). Whole-array operations only."""
        try:
            return bool(_PASSES[self.kind](self, values))
        except Exception:  # noqa: BLE001 - a column this cannot judge: pandera decides
            return False


def _numbers(values: pd.Series) -> np.ndarray | None:
    """The values as float64 with NaN for missing; None when the column does not hold numbers."""
    if values.dtype.kind not in "fiu":
        return None
    return values.to_numpy(dtype="float64", na_value=np.nan)


def _compare(check: Check, values: pd.Series) -> bool:
    a = _numbers(values)
    if a is None:
        return False
    with np.errstate(invalid="ignore"):
        if check.kind == "ge":
            bad = a < check.args[0]
        elif check.kind == "gt":
            bad = a <= check.args[0]
        else:
            bad = (a < check.args[0]) | (a > check.args[1])
    # NaN compares False both ways: a missing value is never "bad" (and a NaN is missing to pandera too)
    return not bool(bad.any())


def _texts_present(values: pd.Series) -> pd.Series | None:
    """The distinct texts of a text column that some row holds (a categorical's categories in use, checked once
    each); None when the column is not text."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        from compkit._arrays import codes_used

        codes = cat_codes(values)
        used = codes_used(codes, len(values.cat.categories))
        labels = values.cat.categories[used]
        if pd.api.types.infer_dtype(labels, skipna=True) not in ("string", "empty"):
            return None
        return pd.Series(np.asarray(labels, dtype=object), dtype=object)
    if not (pd.api.types.is_string_dtype(values.dtype) and values.dtype != object):
        return None
    return values.dropna()


def _all_categories(values: pd.Series, passes: Callable[[str], bool]) -> bool:
    """Whether a categorical column's categories are all texts and all pass: then every row passes, whichever
    categories are in use (no count of the codes; most columns use all their categories anyway)."""
    categories = values.cat.categories
    return (pd.api.types.infer_dtype(categories, skipna=True) == "string"
            and all(passes(t) for t in categories if isinstance(t, str)))


def _isin(check: Check, values: pd.Series) -> bool:
    from compkit._arrays import isin

    if isinstance(values.dtype, pd.CategoricalDtype):
        allowed = set(check.args[0])
        if _all_categories(values, allowed.__contains__):
            return True
        texts = _texts_present(values)
        if texts is None:
            return False
        return all(t in allowed for t in texts)
    if not (pd.api.types.is_string_dtype(values.dtype) and values.dtype != object):
        return False
    present = values.notna().to_numpy(dtype=bool)
    found = isin(values, check.args[0]).to_numpy(dtype=bool)
    return bool(found[present].all())


def _matches(check: Check, values: pd.Series) -> bool:
    if isinstance(values.dtype, pd.CategoricalDtype):
        pattern = re.compile(check.args[0])
        if _all_categories(values, lambda t: pattern.match(t) is not None):
            return True
    texts = _texts_present(values)
    if texts is None:
        return False
    pattern = re.compile(check.args[0])
    if isinstance(values.dtype, pd.CategoricalDtype):
        return all(pattern.match(t) is not None for t in texts)
    return bool(texts.str.match(check.args[0]).to_numpy(dtype=bool, na_value=False).all())


def _function(check: Check, values: pd.Series) -> bool:
    if _numbers(values) is None:
        return False
    present = values.dropna()
    out = check.fn(present)
    out = np.asarray(out.to_numpy(dtype=bool, na_value=False) if isinstance(out, pd.Series) else out, dtype=bool)
    return bool(out.all()) if out.shape == (len(present),) or out.ndim == 0 else False


_PASSES: dict[str, Callable[[Check, pd.Series], bool]] = {
    "ge": _compare, "gt": _compare, "in_range": _compare, "isin": _isin, "str_matches": _matches, "fn": _function,
}
