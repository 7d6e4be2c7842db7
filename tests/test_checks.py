"""compkit._checks: the contract's value checks judged on whole arrays agree with pandera's, and clean data are
loaded without pandera."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from conftest import ROOT, SAMPLE, sample_available
from hypothesis import given, settings
from hypothesis import strategies as st

from compkit._checks import Check
from compkit.contract import CONTRACT


def pandera_passes(check: Check, values: pd.Series) -> bool:
    """Whether pandera, as the loader runs it (nullable, lazy), finds no failure case."""
    schema = pa.DataFrameSchema({"x": pa.Column(checks=[check.to_pandera()], nullable=True, required=False)})
    try:
        schema.validate(pd.DataFrame({"x": values}), lazy=True)
    except pa.errors.SchemaErrors:
        return False
    return True


numbers = st.lists(st.one_of(st.none(), st.floats(-3, 3, allow_nan=False, allow_infinity=False),
                             st.sampled_from([0.0, 1.0, -0.0])), max_size=12)
texts = st.lists(st.one_of(st.none(), st.sampled_from(["F", "M", "X", "f", " F", "", "a@b.cn", "a b@c.cn"])),
                 max_size=12)


@settings(max_examples=150, deadline=None)
@given(values=numbers, which=st.sampled_from(["ge0", "gt0", "ge1", "range01", "fte"]))
def test_number_checks_agree_with_pandera(values: list, which: str) -> None:
    check = {"ge0": Check.ge(0, error="x"), "gt0": Check.gt(0, error="x"), "ge1": Check.ge(1, error="x"),
             "range01": Check.in_range(0, 1, error="x"),
             "fte": Check(lambda s: (s > 0) & (s <= 1), element_wise=False, error="x")}[which]
    s = pd.Series([np.nan if v is None else v for v in values], dtype="float64")
    assert check.passes(s) == pandera_passes(check, s)


@settings(max_examples=150, deadline=None)
@given(values=texts, categorical=st.booleans(), which=st.sampled_from(["isin", "email"]),
       unused=st.sampled_from([(), ("M",), ("Q",), ("a@b.cn",), ("M", "Q")]))
def test_text_checks_agree_with_pandera(values: list, categorical: bool, which: str, unused: tuple) -> None:
    check = Check.isin(["F", "M", "X"], error="x") if which == "isin" else \
        Check.str_matches(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", error="x")
    s = pd.Series(values, dtype="string")
    if categorical:  # as the loader holds ids and labels: sorted categories, each in use, or a few more unused
        categories = pd.Index(sorted(set(s.dropna()) | set(unused)), dtype=object)
        s = pd.Series(pd.Categorical(s.astype(object), categories=categories))
    assert check.passes(s) == pandera_passes(check, s)


def test_worked_examples() -> None:
    # 0 >= 0 passes, -0.01 >= 0 does not; a missing value is not checked
    assert Check.ge(0).passes(pd.Series([0.0, np.nan, 5.0]))
    assert not Check.ge(0).passes(pd.Series([0.0, -0.01]))
    # 0 > 0 fails; both ends of a range are in it
    assert not Check.gt(0).passes(pd.Series([0.0]))
    assert Check.in_range(1, 5).passes(pd.Series([1.0, 5.0]))
    assert not Check.in_range(1, 5).passes(pd.Series([5.5]))
    # a category no row uses is not checked (the rows hold only "F")
    s = pd.Series(pd.Categorical(["F", "F"], categories=["F", "Q"]))
    assert Check.isin(["F", "M"]).passes(s)
    assert not Check.isin(["F", "M"]).passes(pd.Series(pd.Categorical(["F", "Q"])))
    # every category passes (the unused "M" too): passes without looking at which are in use
    assert Check.isin(["F", "M"]).passes(pd.Series(pd.Categorical(["F", None], categories=["F", "M"])))
    assert Check.str_matches(r"^\d{4}$").passes(pd.Series(pd.Categorical(["2025"], categories=["2024", "2025"])))
    assert not Check.str_matches(r"^\d{4}$").passes(pd.Series(pd.Categorical(["H1"], categories=["2025", "H1"])))


def test_a_column_it_cannot_judge_is_left_to_pandera() -> None:
    # numbers held as text, and a check that raises: not judged here (False), pandera decides
    assert not Check.ge(0).passes(pd.Series(["1", "2"], dtype="string"))
    assert not Check(lambda s: s.no_such_method(), error="x").passes(pd.Series([1.0]))
    assert not Check.isin(["a"]).passes(pd.Series(["a"], dtype=object))


def test_the_same_rule_as_pandera() -> None:
    ge = Check.ge(0, error="an amount >= 0").to_pandera()
    assert ge.name == "greater_than_or_equal_to" and ge.statistics == {"min_value": 0}
    assert str(ge.error) == "an amount >= 0"
    assert Check.in_range(1, 5).to_pandera().statistics["include_max"] is True
    assert Check.isin(["a", "b"]).to_pandera().statistics == {"allowed_values": ["a", "b"]}


def test_every_contract_check_has_a_pandera_rule() -> None:
    for name, spec in CONTRACT.items():
        for column, checks in spec.value_checks(None).items():
            for check in checks:
                assert check.to_pandera().error is check.error, (name, column)
        assert set(spec.schema(None).columns) == set(spec.value_checks(None))


@pytest.mark.skipif(not sample_available(), reason="data/sample has not been generated")
def test_clean_data_are_loaded_without_pandera() -> None:
    code = ("import sys; from compkit.data import load_dataset; from compkit.policy import load_policy\n"
            f"load_dataset({str(SAMPLE)!r}, load_policy({str(ROOT / 'data' / 'policies' / '2025.yaml')!r}))\n"
            "print('pandera' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
