"""compkit.data: the data contract, the bad-input corpus with the expected messages, and aggregation of raw
customer data."""
from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from conftest import SAMPLE, sample_available, tiny_tables, write_tables
from hypothesis import given, settings
from hypothesis import strategies as st

from compkit.data import (
    complaint_stats,
    cycle_periods,
    load_dataset,
    loyalty,
    satisfaction_index,
)
from compkit.errors import DataError
from compkit.policy import Policy


@pytest.fixture()
def base_dir(tmp_path: Path) -> Path:
    """A copy of the bundled sample (or of the tiny dataset while the sample is absent) to break."""
    target = tmp_path / "data"
    if sample_available():
        shutil.copytree(SAMPLE, target)
    else:
        write_tables(tiny_tables(), target)
    return target


@pytest.fixture()
def base_policy(policy: Policy, bank_policy: Policy) -> Policy:
    """The policy ``base_dir`` is valid under: the bank's for the bundled sample, else the simple one."""
    return bank_policy if sample_available() else policy


def _edit(folder: Path, table: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    path = folder / f"{table}.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    change(df).to_csv(path, index=False)


def _set(table: str, column: str, value: str, row: int = 0):
    def change(df: pd.DataFrame) -> pd.DataFrame:
        df.loc[row, column] = value
        return df
    return table, change


def _problems(folder: Path, policy: Policy) -> str:
    with pytest.raises(DataError) as info:
        load_dataset(folder, policy=policy)
    return str(info.value)


# Each case: (name, (table, change), fragments the message must contain). Row 0 of a table is line 2 of its CSV.
CORPUS = [
    ("missing column", ("metrics", lambda df: df.drop(columns=["actual"])),
     ["metrics.csv", "column 'actual'", "a column named 'actual' (required in table metrics)"]),
    ("unknown grade", _set("employees", "grade", "CM9"),
     ["employees.csv, row 2, column 'grade': found 'CM9'; expected a grade of the policy: CM1, CM2, SCM, RM"]),
    ("duplicate id", ("employees", lambda df: pd.concat([df, df.iloc[[0]]], ignore_index=True)),
     ["employees.csv", "column 'employee_id'", "expected a unique employee_id (this one appears earlier)"]),
    ("text in a number", _set("metrics", "actual", "12,5oo"),
     ["metrics.csv, row 2, column 'actual': found '12,5oo'; expected a number"]),
    ("period outside the cycle", _set("metrics", "period", "2024-12"),
     ["metrics.csv, row 2, column 'period': found '2024-12'; expected a month of cycle 2025 (2025-01 to 2025-12)"]),
    ("unknown product", _set("sales", "product", "gold"),
     ["sales.csv, row 2, column 'product': found 'gold'; expected a product of the policy: "]),
    ("unknown indicator", _set("metrics", "indicator", "deposit_adb"),
     ["metrics.csv, row 2, column 'indicator': found 'deposit_adb'; expected an indicator of the policy"]),
    ("bad rater role", _set("ratings", "rater_role", "boss"),
     ["ratings.csv, row 2, column 'rater_role': found 'boss'; expected self, supervisor or peer"]),
    ("score off the scale", _set("ratings", "score", "7"),
     ["ratings.csv, row 2, column 'score': found 7.0; expected a score on the rating scale 1 to 5"]),
    ("negative fte", _set("employees", "fte", "-0.5"),
     ["employees.csv, row 2, column 'fte': found -0.5; expected an fte above 0 and at most 1"]),
    ("exit before hire", _set("employees", "exit_date", "2000-01-01"),
     ["employees.csv, row 2, column 'exit_date': found '2000-01-01'; expected an exit date on or after the hire date"]),
    ("empty table", ("sales", lambda df: df.iloc[0:0]),
     ["sales.csv", "expected at least one row in table sales (it is empty)"]),
    ("unknown employee", _set("sales", "employee_id", "X99999"),
     ["sales.csv, row 2, column 'employee_id': found 'X99999'; expected an employee_id listed in the employees table"]),
    ("bad date", _set("employees", "hire_date", "31/01/2020"),
     ["employees.csv, row 2, column 'hire_date': found '31/01/2020'; expected a date YYYY-MM-DD"]),
    ("bad survey dimension", _set("surveys", "dimension", "price"),
     ["surveys.csv, row 2, column 'dimension': found 'price'; expected attitude, competence, responsiveness, "
      "overall"]),
    ("bad boolean", _set("complaints", "upheld", "maybe"),
     ["complaints.csv, row 2, column 'upheld': found 'maybe'; expected true or false"]),
    ("missing required value", _set("employees", "branch", ""),
     ["employees.csv, row 2, column 'branch'", "expected a value (this column is required)"]),
    # input traps (issue 16 item 7)
    ("infinite amount", _set("sales", "amount", "inf"),
     ["sales.csv, row 2, column 'amount': found 'inf'; expected a finite number"]),
    ("Infinity spelled out", _set("metrics", "actual", "-Infinity"),
     ["metrics.csv, row 2, column 'actual': found '-Infinity'; expected a finite number"]),
    ("NaN as text", _set("sales", "amount", "NaN"),
     ["sales.csv, row 2, column 'amount'", "expected a value (this column is required)"]),
    ("magnitude no bank has", _set("sales", "amount", "1e308"),
     ["sales.csv, row 2, column 'amount': found '1e308'; expected a number below 1e+15 in magnitude"]),
    ("at the bound", _set("employees", "base_monthly", "-1e15"),
     ["employees.csv, row 2, column 'base_monthly': found '-1e15'; expected a number below 1e+15 in magnitude"]),
    ("decimal comma", _set("sales", "amount", "7.594,00"),
     ["sales.csv, row 2, column 'amount': found '7.594,00'; expected a number with '.' as the decimal point and "
      "',' only between thousands (a decimal comma? write 7594.00)"]),
    ("fte with a decimal comma", _set("employees", "fte", "0,5"),
     ["employees.csv, row 2, column 'fte': found '0,5'; expected a number with '.' as the decimal point",
      "write 0.5"]),
    ("NUL in a name", _set("employees", "name", "Li\x00Na"),
     ["employees.csv, row 2, column 'name': found 'Li\\x00Na'; expected text without control characters"]),
    ("control character in an id", _set("employees", "supervisor_id", "S\x07"),
     ["employees.csv, row 2, column 'supervisor_id': found 'S\\x07'; expected text without control characters"]),
    ("control character in a categorical id", _set("metrics", "indicator", "fee\x1bincome"),
     ["metrics.csv, row 2, column 'indicator': found 'fee\\x1bincome'; expected text without control"]),
    ("id of 300 characters", _set("sales", "deal_id", "D" * 300),
     ["sales.csv, row 2, column 'deal_id': found '" + "D" * 40 + "... (300 characters)'; expected an id of at "
      "most 64 characters"]),
    ("zero target with a positive actual", ("metrics", lambda df: df.assign(
        target=["0"] + list(df["target"].iloc[1:]), actual=["5"] + list(df["actual"].iloc[1:]))),
     ["metrics.csv, row 2, column 'target': found 0.0; expected a target above 0 where the actual (5) is positive "
      "(policy inputs.zero_target: refuse)"]),
    ("supervisor rating by someone else", ("ratings", lambda df: df.assign(
        rater_id=df["rater_id"].where(df.index != df.index[df["rater_role"] == "supervisor"][0], "Z999"))),
     ["ratings.csv, row", "column 'rater_id': found 'Z999'; expected a supervisor rating by the employee's "
      "supervisor", "(employees.supervisor_id) (policy inputs.supervisor_rating: refuse)"]),
    ("supervisor rating by the employee", ("ratings", lambda df: df.assign(
        rater_id=df["rater_id"].where(df.index != df.index[df["rater_role"] == "supervisor"][0],
                                      df["employee_id"]))),
     ["column 'rater_id'", "expected a supervisor rating by someone other than the employee themself"]),
]


#: the same corpus in Chinese, the default language: case name -> fragments of ``DataError.message()`` (the file,
#: row, column and value verbatim in one whole sentence: 文件，第 N 行，“列”列：发现 值；应为……)
CORPUS_ZH = {
    "missing column": ["metrics.csv，“actual”列：应为名为“actual”的列（metrics 表的必填列）"],
    "unknown grade": ["employees.csv，第 2 行，“grade”列：发现 'CM9'；应为政策中的职级：CM1, CM2, SCM, RM"],
    "duplicate id": ["employees.csv，第", "“employee_id”列：发现", "应为唯一的 employee_id（该值在前面已出现）"],
    "text in a number": ["metrics.csv，第 2 行，“actual”列：发现 '12,5oo'；应为数字"],
    "period outside the cycle": ["metrics.csv，第 2 行，“period”列：发现 '2024-12'；",
                                 "应为考核期 2025 内的月份（2025-01 至 2025-12）"],
    "unknown product": ["sales.csv，第 2 行，“product”列：发现 'gold'；应为政策中的产品："],
    "unknown indicator": ["metrics.csv，第 2 行，“indicator”列：发现 'deposit_adb'；应为政策中"],
    "bad rater role": ["ratings.csv，第 2 行，“rater_role”列：发现 'boss'；应为self、supervisor 或 peer"],
    "score off the scale": ["ratings.csv，第 2 行，“score”列：发现 7.0；应为评分量表 1 至 5 内的分数"],
    "negative fte": ["employees.csv，第 2 行，“fte”列：发现 -0.5；应为大于 0 且不超过 1 的 fte（折算全职人数）"],
    "exit before hire": ["employees.csv，第 2 行，“exit_date”列：发现 '2000-01-01'；应为不早于入职日期 "],
    "empty table": ["sales.csv：应为sales 表中至少一行数据（现为空）"],
    "unknown employee": ["sales.csv，第 2 行，“employee_id”列：发现 'X99999'；",
                         "应为employees 表中列出的 employee_id"],
    "bad date": ["employees.csv，第 2 行，“hire_date”列：发现 '31/01/2020'；应为日期 YYYY-MM-DD"],
    "bad survey dimension": ["surveys.csv，第 2 行，“dimension”列：发现 'price'；应为attitude, competence, "
                             "responsiveness, overall"],
    "bad boolean": ["complaints.csv，第 2 行，“upheld”列：发现 'maybe'；应为true 或 false"],
    "missing required value": ["employees.csv，第 2 行，“branch”列：应为一个值（该列必填）"],
    "infinite amount": ["sales.csv，第 2 行，“amount”列：发现 'inf'；应为有限的数字"],
    "Infinity spelled out": ["metrics.csv，第 2 行，“actual”列：发现 '-Infinity'；应为有限的数字"],
    "NaN as text": ["sales.csv，第 2 行，“amount”列：应为一个值（该列必填）"],
    "magnitude no bank has": ["sales.csv，第 2 行，“amount”列：发现 '1e308'；",
                              "应为绝对值小于 1e+15 的数字（银行没有这么大的数额）"],
    "at the bound": ["employees.csv，第 2 行，“base_monthly”列：发现 '-1e15'；应为绝对值小于 1e+15 的数字（"],
    "decimal comma": ["sales.csv，第 2 行，“amount”列：发现 '7.594,00'；",
                      "应为以“.”为小数点、仅用“,”分隔千位的数字（是否用了小数逗号？请写成 7594.00）"],
    "fte with a decimal comma": ["employees.csv，第 2 行，“fte”列：发现 '0,5'；应为以“.”为小数点", "请写成 0.5"],
    "NUL in a name": ["employees.csv，第 2 行，“name”列：发现 'Li\\x00Na'；应为不含控制字符的文本"],
    "control character in an id": ["employees.csv，第 2 行，“supervisor_id”列：发现 'S\\x07'；",
                                   "应为不含控制字符的文本"],
    "control character in a categorical id": ["metrics.csv，第 2 行，“indicator”列：发现 'fee\\x1bincome'；",
                                              "应为不含控制字符"],
    "id of 300 characters": ["sales.csv，第 2 行，“deal_id”列：发现 '" + "D" * 40 + "……（共 300 个字符）'；",
                             "应为不超过 64 个字符的编号"],
    "zero target with a positive actual": ["metrics.csv，第 2 行，“target”列：发现 0.0；",
                                           "应为大于 0 的目标值（实际值 5 为正；政策 inputs.zero_target：refuse）"],
    "supervisor rating by someone else": ["ratings.csv，第", "“rater_id”列：发现 'Z999'；应为由该员工的上级 ",
                                          "（employees.supervisor_id）给出的上级评分",
                                          "（政策 inputs.supervisor_rating：refuse）"],
    "supervisor rating by the employee": ["“rater_id”列", "应为由员工本人以外的人给出的上级评分"],
}


@pytest.mark.parametrize("name,edit,fragments", CORPUS, ids=[c[0] for c in CORPUS])
def test_bad_input_is_named_clearly_in_chinese_by_default(base_dir: Path, base_policy: Policy, name: str,
                                                          edit: tuple, fragments: list[str]) -> None:
    """The corpus in the default language: ``DataError.message()`` is Chinese; ``message("en")`` is ``str``."""
    table, change = edit
    _edit(base_dir, table, change)
    with pytest.raises(DataError) as info:
        load_dataset(base_dir, policy=base_policy)
    message = info.value.message()
    assert message.startswith(f"数据 {base_dir} 中有 {len(info.value.problems)} 个问题：\n")
    for fragment in CORPUS_ZH[name]:
        assert fragment in message, f"{name}: {fragment!r} not in\n{message}"
    assert info.value.message("en") == str(info.value)
    assert set(CORPUS_ZH) == {c[0] for c in CORPUS}  # every case has its Chinese message


@pytest.mark.parametrize("name,edit,fragments", CORPUS, ids=[c[0] for c in CORPUS])
def test_bad_input_is_named_clearly(base_dir: Path, base_policy: Policy, name: str, edit: tuple,
                                    fragments: list[str]) -> None:
    table, change = edit
    _edit(base_dir, table, change)
    message = _problems(base_dir, base_policy)
    for fragment in fragments:
        assert fragment in message, f"{name}: {fragment!r} not in\n{message}"
    assert "Traceback" not in message


def test_every_problem_is_reported_in_one_pass(base_dir: Path, base_policy: Policy) -> None:
    policy = base_policy
    for table, change in (_set("employees", "grade", "CM9"), _set("metrics", "actual", "abc"),
                          _set("ratings", "rater_role", "boss", row=1)):
        _edit(base_dir, table, change)
    with pytest.raises(DataError) as info:
        load_dataset(base_dir, policy=policy)
    columns = {p.column for p in info.value.problems}
    assert {"grade", "actual", "rater_role"} <= columns
    rows = {(p.column, p.row) for p in info.value.problems}
    assert ("rater_role", 3) in rows  # row 1 of the table is line 3 of the CSV


def test_missing_table_and_missing_folder(base_dir: Path, base_policy: Policy, tmp_path: Path) -> None:
    policy = base_policy
    (base_dir / "ratings.csv").unlink()
    assert "a ratings table (required)" in _problems(base_dir, policy)
    with pytest.raises(DataError, match="a folder of CSV/Parquet files or an Excel workbook"):
        load_dataset(tmp_path / "nowhere", policy=policy)


def test_excel_workbook_is_read_like_a_folder(tiny_dir: Path, policy: Policy, tmp_path: Path) -> None:
    workbook = tmp_path / "tiny.xlsx"
    with pd.ExcelWriter(workbook) as xl:
        for name, df in tiny_tables().items():
            df.to_excel(xl, sheet_name=name, index=False)
    from_folder = load_dataset(tiny_dir, policy=policy)
    from_excel = load_dataset(workbook, policy=policy)
    assert from_excel.fingerprint() == from_folder.fingerprint()
    # a problem in a sheet is reported with the sheet and the Excel row
    tables = tiny_tables()
    tables["employees"].loc[1, "grade"] = "XX"
    bad = tmp_path / "bad.xlsx"
    with pd.ExcelWriter(bad) as xl:
        for name, df in tables.items():
            df.to_excel(xl, sheet_name=name, index=False)
    with pytest.raises(DataError, match=r"bad.xlsx \[sheet employees\], row 3, column 'grade': found 'XX'"):
        load_dataset(bad, policy=policy)


def test_parquet_folder(tiny_dir: Path, policy: Policy, tmp_path: Path) -> None:
    folder = tmp_path / "pq"
    folder.mkdir()
    for name, df in tiny_tables().items():
        df.to_parquet(folder / f"{name}.parquet", index=False)
    assert load_dataset(folder, policy=policy).fingerprint() == load_dataset(tiny_dir, policy=policy).fingerprint()


def test_loaded_tables_can_be_changed_in_place(tiny_dir: Path, policy: Policy, tmp_path: Path) -> None:
    # Arrow hands a small file's columns over without a copy (read-only buffers): the loader copies them, so that
    # a loaded table can be edited as one pandas read itself
    folder = tmp_path / "pq"
    folder.mkdir()
    for name, df in tiny_tables().items():
        df.to_parquet(folder / f"{name}.parquet", index=False)
    for source in (tiny_dir, folder):
        data = load_dataset(source, policy=policy)
        data.employees.loc[0, "fte"] = 0.5
        data.metrics.loc[0, "actual"] = 1.0
        data.employees.loc[1, "hire_date"] = pd.Timestamp("2020-01-01")
        assert data.employees["fte"].iloc[0] == 0.5 and data.metrics["actual"].iloc[0] == 1.0


def test_valid_dataset_has_every_table_and_typed_columns(tiny, policy: Policy) -> None:
    assert tiny.cycle == "2025"
    assert tiny.periods == cycle_periods("2025")
    assert tiny.employees["hire_date"].dtype.kind == "M"
    assert tiny.metrics["actual"].dtype == "float64"
    assert tiny.employees["fte"].tolist() == [1.0, 1.0, 1.0, 1.0]
    assert len(tiny.appeals) == 0 and list(tiny.appeals.columns)[:2] == ["appeal_id", "employee_id"]
    assert set(tiny.summary()["table"]) == {"employees", "metrics", "sales", "ratings", "surveys", "complaints",
                                           "history", "appeals", "credits", "feedback", "history_scores",
                                           "training", "targets", "clawbacks",
                                           "deductions"}


def test_half_year_cycle(tiny_dir: Path, policy: Policy) -> None:
    assert cycle_periods("2025H2") == [f"2025-{m:02d}" for m in range(7, 13)]
    half = policy.updated({"cycle": "half-year"})
    _edit(tiny_dir, "metrics", lambda df: df[df["period"] >= "2025-07"])
    _edit(tiny_dir, "sales", lambda df: df[df["period"] >= "2025-07"])
    _edit(tiny_dir, "surveys", lambda df: df.iloc[0:0])
    _edit(tiny_dir, "complaints", lambda df: df.iloc[0:0])
    _edit(tiny_dir, "ratings", lambda df: df.assign(cycle="2025H2"))
    # E4 left in March: outside the second half-year
    _edit(tiny_dir, "employees", lambda df: df[df["employee_id"] != "E4"])
    for t in ("ratings", "surveys", "complaints", "history"):
        _edit(tiny_dir, t, lambda df: df[df["employee_id"] != "E4"])
    data = load_dataset(tiny_dir, policy=half)
    assert data.cycle == "2025H2"
    assert str(data.cycle_start.date()) == "2025-07-01" and str(data.cycle_end.date()) == "2025-12-31"


# ------------------------------------------------------------------------------ customer aggregation

def test_satisfaction_index_by_dimension() -> None:
    surveys = pd.DataFrame({"employee_id": ["E1"] * 4 + ["E2"],
                            "date": pd.to_datetime(["2025-01-05", "2025-02-05", "2025-03-05", "2025-07-01",
                                                    "2025-01-01"]),
                            "dimension": ["attitude", "attitude", "competence", "overall", "overall"],
                            "score": [5.0, 4.0, 3.0, 4.0, 2.0]})
    out = satisfaction_index(surveys).set_index(["employee_id", "dimension"])["score"]
    # attitude (5 + 4) / 2 = 4.5; competence 3; overall 4; all responses (5 + 4 + 3 + 4) / 4 = 4.0
    assert out[("E1", "attitude")] == 4.5 and out[("E1", "competence")] == 3.0
    assert out[("E1", "all")] == 4.0 and out[("E2", "all")] == 2.0
    # cycle to date through March: the July response is left out: all = (5 + 4 + 3) / 3 = 4.0
    assert satisfaction_index(surveys, through="2025-03").set_index(["employee_id", "dimension"])["score"][
        ("E1", "all")] == 4.0


def test_complaint_stats() -> None:
    c = pd.DataFrame({"employee_id": ["E1", "E1", "E1", "E2"],
                      "date": pd.to_datetime(["2025-01-01"] * 4),
                      "upheld": pd.array([True, False, True, False], dtype="boolean"),
                      "resolved_days": [2.0, 4.0, None, 9.0]})
    out = complaint_stats(c).set_index("employee_id")
    # E1: 3 complaints, 2 upheld -> rate 2/3; mean days over the two with a value: (2 + 4) / 2 = 3
    assert out.loc["E1", "count"] == 3 and out.loc["E1", "upheld"] == 2
    assert out.loc["E1", "upheld_rate"] == pytest.approx(2 / 3)
    assert out.loc["E1", "resolved_days"] == 3.0


def test_loyalty_from_repeat_purchases() -> None:
    s = pd.DataFrame({"employee_id": ["E1"] * 5, "period": ["2025-01", "2025-03", "2025-02", "2025-02", "2025-04"],
                      "customer_id": ["C1", "C1", "C2", "C2", "C3"], "amount": [1.0, 1.0, 1.0, 1.0, -1.0]})
    out = loyalty(s).set_index("employee_id")
    # C1 bought in two months (repeat); C2 twice in one month (not a repeat); C3 only a reversal (ignored)
    assert out.loc["E1", "customers"] == 2 and out.loc["E1", "repeat_customers"] == 1
    assert out.loc["E1", "repeat_purchase"] == 0.5


def test_customer_ids_are_coded_once_loaded(tmp_path: Path, policy: Policy) -> None:
    """customer_id is held as dictionary codes (categories in order of first appearance, as text); the values read
    back unchanged, so loyalty on the loaded table equals loyalty on the plain texts."""
    from compkit._arrays import dictionary_coded, row_codes

    data = load_dataset(write_tables(tiny_tables(), tmp_path / "d"), policy=policy)
    ids = data.sales["customer_id"]
    assert isinstance(ids.dtype, pd.CategoricalDtype)
    # C1 C1 C2 C3 C4 C5 C5 C6 C6 (tiny_tables): six distinct, coded in order of first appearance
    assert ids.cat.codes.tolist() == [0, 0, 1, 2, 3, 4, 4, 5, 5] and list(ids.cat.categories[:2]) == ["C1", "C2"]
    assert ids.astype("string").tolist() == tiny_tables()["sales"]["customer_id"].tolist()
    plain = data.sales.assign(customer_id=ids.astype("string"))
    pd.testing.assert_frame_equal(loyalty(data.sales), loyalty(plain))
    coded = dictionary_coded(pd.Series(["b", None, "a", "b"], dtype="string"))
    assert coded.cat.codes.tolist() == [0, -1, 1, 0] and coded.isna().tolist() == [False, True, False, False]
    codes, labels = row_codes(pd.Series(["x", "y", None, "x"], dtype="string"), np.array([3, 2, 1]))
    assert [labels[c] if c >= 0 else None for c in codes] == ["x", None, "y"]


def test_chunked_text_is_coded_as_the_combined_column() -> None:
    """A text column of several chunks (nulls, a sliced chunk) is coded chunk by chunk with Arrow's one hash table:
    the same codes (-1 for missing) and dictionary (first appearance) as one encoding of the combined column."""
    import pyarrow
    import pyarrow.compute as pc

    from compkit._arrays import _arrow_dictionary, dictionary_coded

    chunks = [pyarrow.array(["b", None, "a"], type=pyarrow.large_string()),
              pyarrow.array(["z", "c", "a", None, "b"], type=pyarrow.large_string())[1:],
              pyarrow.array([], type=pyarrow.large_string()), pyarrow.array([None, "d"], type=pyarrow.large_string())]
    arrow = pyarrow.chunked_array(chunks)
    values = pd.Series(pd.arrays.ArrowStringArray(arrow))
    codes, dictionary = _arrow_dictionary(values)
    combined = pc.dictionary_encode(arrow.combine_chunks())
    assert codes.dtype == np.int32 and codes.tolist() == [0, -1, 1, 2, 1, -1, 0, -1, 3]
    assert codes.tolist() == combined.indices.fill_null(-1).to_pylist()
    assert dictionary.equals(combined.dictionary) and dictionary.to_pylist() == ["b", "a", "c", "d"]
    coded = dictionary_coded(values)
    assert coded.astype(object).where(coded.notna(), None).tolist() == arrow.to_pylist()


def test_half_year_log_changes_worked_example() -> None:
    from compkit.data import cycle_periods, half_year_log_changes

    # P1 doubles from the first half to the second (log 2 = 0.6931), P2 stays level (log 1 = 0); the median of
    # the two is 0.3466, taken out: P1 +0.3466, P2 -0.3466. P3 has nothing in the first half: left out.
    table = pd.DataFrame({"employee_id": ["P1", "P1", "P1", "P2", "P2", "P3"],
                          "period": ["2025-02", "2025-05", "2025-09", "2025-01", "2025-12", "2025-08"],
                          "indicator": "fee_income", "actual": [60.0, 40.0, 200.0, 100.0, 100.0, 50.0]})
    out = half_year_log_changes(table, cycle_periods("2025"), "indicator", "actual")
    assert list(out.columns) == ["fee_income"]
    half_log2 = np.log(2.0) / 2
    assert out.loc["P1", "fee_income"] == pytest.approx(half_log2)
    assert out.loc["P2", "fee_income"] == pytest.approx(-half_log2)
    assert "P3" not in out.index or np.isnan(out.loc["P3", "fee_income"])


# ------------------------------------------------------------------------------ one contract per table

def test_views_come_from_the_one_spec_per_table() -> None:
    from compkit.contract import CATEGORICAL, COLUMNS, CONTRACT, KEYS, MANDATORY_TABLES, REQUIRED, TABLES

    assert TABLES == tuple(CONTRACT) and TABLES[0] == "employees"
    assert MANDATORY_TABLES == ("employees", "metrics", "sales", "ratings")
    for name, spec in CONTRACT.items():
        assert spec.name == name
        assert COLUMNS[name] == {c: col.kind for c, col in spec.columns.items()}
        assert set(REQUIRED[name]) <= set(spec.columns)
        assert set(spec.keys) <= set(spec.columns) and KEYS.get(name, ()) == spec.keys
        assert set(CATEGORICAL.get(name, ())) <= set(spec.columns)
        assert spec.in_cycle is None or spec.columns[spec.in_cycle].kind in ("period", "date")
        assert {col.kind for col in spec.columns.values()} <= {"str", "float", "date", "period", "bool"}
    assert REQUIRED["metrics"] == ("employee_id", "period", "indicator", "actual")
    assert KEYS["metrics"] == ("employee_id", "period", "indicator") and "surveys" not in KEYS


def _deductions_spec():
    from compkit.contract import Col, TableSpec

    return TableSpec("deductions", one_row_per="employee x month x kind",
                     columns={"employee_id": Col("str", required=True, categorical=True),
                              "period": Col("period", required=True), "kind": Col("str", required=True),
                              "amount": Col("float", required=True, money=True)},
                     keys=("employee_id", "period", "kind"), in_cycle="period")


@pytest.fixture()
def with_deductions(monkeypatch: pytest.MonkeyPatch):
    """The contract with one more optional table, added as one spec entry (as the tax module will)."""
    from compkit import contract

    monkeypatch.setitem(contract.CONTRACT, "deductions", _deductions_spec())
    yield


def test_a_new_optional_table_is_one_spec_entry(tiny_dir: Path, policy: Policy, with_deductions) -> None:
    before = load_dataset(tiny_dir, policy=policy)
    # absent: an empty table with the spec's columns and types; the fingerprint of data without it is unchanged
    assert list(before.deductions.columns) == ["employee_id", "period", "kind", "amount"]
    assert len(before.table("deductions")) == 0 and before.deductions["amount"].dtype == "float64"
    pd.DataFrame({"employee_id": ["E1", "E1"], "period": ["2025-01", "2025-02"], "kind": ["union", "union"],
                  "amount": ["12.50", "12.50"]}).to_csv(tiny_dir / "deductions.csv", index=False)
    data = load_dataset(tiny_dir, policy=policy)
    assert data.deductions["amount"].tolist() == [12.5, 12.5]
    assert isinstance(data.deductions["employee_id"].dtype, pd.CategoricalDtype)
    assert data.fingerprint() != before.fingerprint()
    assert "deductions" in set(data.summary()["table"])
    # replace() takes the later table too
    assert len(data.replace(deductions=data.deductions.iloc[:1]).deductions) == 1
    # and it is checked like every other table: type, cycle, employee, key, required
    pd.DataFrame({"employee_id": ["E1", "X9", "E1", "E1", "E2"],
                  "period": ["2025-01", "2025-02", "2024-12", "2025-01", "2025-08"],
                  "kind": ["union", "union", "union", "union", None],
                  "amount": ["12.50", "1", "1", "abc", "1"]}).to_csv(tiny_dir / "deductions.csv", index=False)
    message = _problems(tiny_dir, policy)
    for fragment in ["deductions.csv, row 5, column 'amount': found 'abc'; expected a number",
                     "deductions.csv, row 3, column 'employee_id': found 'X9'; expected an employee_id listed",
                     "deductions.csv, row 4, column 'period': found '2024-12'; expected a month of cycle 2025",
                     "deductions.csv, row 5, column 'employee_id/period/kind': found 'E1|2025-01|union'; "
                     "expected a unique employee_id + period + kind",
                     "deductions.csv, row 6, column 'kind'", "expected a value (this column is required)"]:
        assert fragment in message, f"{fragment!r} not in\n{message}"


def test_replace_refuses_a_table_the_contract_does_not_have(tiny) -> None:
    with pytest.raises(TypeError, match="not a table of the data contract: bogus"):
        tiny.replace(bogus=tiny.employees)


def test_former_names_still_import() -> None:
    from compkit import _arrays, aggregate, data

    assert data.loyalty is aggregate.loyalty and data.satisfaction_index is aggregate.satisfaction_index
    assert data.complaint_stats is aggregate.complaint_stats
    assert data.half_year_log_changes is aggregate.half_year_log_changes
    assert data.positions is _arrays.positions and data.sorted_codes is _arrays.sorted_codes


# ------------------------------------------------------------------------------------- array helpers

def test_positions_values_first_then_the_index() -> None:
    from compkit._arrays import positions

    index = pd.Index(["a", "b", "c"])
    # "c" is 2nd... position 2; "x" absent -> -1; missing -> -1; "a" -> 0
    for values in (pd.Series(["c", "x", None, "a"], dtype="string"), pd.Series(["c", "x", None, "a"]),
                   pd.Series(["c", "x", None, "a"], dtype="category"), ["c", "x", None, "a"]):
        assert positions(values, index).tolist() == [2, -1, -1, 0]
    assert positions(pd.Series(["b"]), pd.Series(["b", "a"])).tolist() == [0]


def test_positions_of_many_categories_in_a_text_index() -> None:
    # 2,000 categories (Arrow's look-up from 1,000 on) in an index of 1,500 ids, in another order, as object and
    # as Arrow text: the same positions as pandas' get_indexer; an unknown id and a missing value -> -1
    from compkit._arrays import positions

    ids = [f"E{i:05d}" for i in range(2000)]
    index_ids = ids[1500:0:-1]
    values = pd.Series(pd.Categorical(["E00007", "E01999", None, "E01500", "E00001"], categories=ids))
    expected = pd.Index(index_ids).get_indexer(["E00007", "E01999", "x", "E01500", "E00001"]).tolist()
    assert expected == [1493, -1, -1, 0, 1499]
    for index in (pd.Index(index_ids, dtype=object), pd.Index(index_ids, dtype="string"), pd.Index(index_ids)):
        assert positions(values, index).tolist() == expected


def test_positions_of_categories_remembered_per_categories_and_index() -> None:
    # the tables' employee ids share one categories Index equal to the employees' ids (compkit.data): looked up
    # once per (categories, index data); categories that are the index in its order give each code itself
    from compkit import _arrays
    from compkit._arrays import positions

    ids = [f"E{i:05d}" for i in range(1200)]
    categories = pd.Index(ids, dtype=object)
    values = pd.Series(pd.Categorical.from_codes([3, 1199, -1, 0, 3], categories=categories))
    arrow_ids = pd.Series(ids, dtype="string[pyarrow]")
    first = positions(values, pd.Index(arrow_ids))
    assert first.tolist() == [3, 1199, -1, 0, 3] and first.dtype == np.int32
    first[0] = 99  # the caller's own array: the codes and the remembered look-up are not touched
    assert values.cat.codes.tolist() == [3, 1199, -1, 0, 3]
    # a new Index over the same Arrow ids: the same entry; the same ids reversed (same length, other data): -> 1199 - i
    kept = len(_arrays._CATEGORY_TABLES)
    assert positions(values, pd.Index(arrow_ids.array)).tolist() == [3, 1199, -1, 0, 3]
    assert len(_arrays._CATEGORY_TABLES) == kept
    reversed_ids = pd.Index(pd.Series(ids[::-1], dtype="string[pyarrow]"))
    assert positions(values, reversed_ids).tolist() == [1196, 0, -1, 1199, 1196]
    assert positions(values, pd.Index(ids[::-1], dtype=object)).tolist() == [1196, 0, -1, 1199, 1196]
    # other categories with the same labels (another object): their own entry, the same positions
    other = pd.Series(pd.Categorical.from_codes([2], categories=pd.Index(ids, dtype=object)))
    assert positions(other, pd.Index(arrow_ids)).tolist() == [2]
    assert len(_arrays._CATEGORY_TABLES) <= _arrays._CATEGORY_TABLES_KEPT


def test_positions_of_texts_that_are_the_index_itself() -> None:
    """Arrow text values (and categories made by shared_labels) that are the index's labels in its order are each
    found at their own position without a look-up; the same positions as pandas' get_indexer, also for texts
    of the same length in another order, with one label changed, or with a missing value."""
    from compkit import _arrays
    from compkit._arrays import positions, shared_labels

    ids = [f"T{i:05d}" for i in range(1400)]
    index = pd.Index(pd.Series(ids, dtype="string[pyarrow]"))
    changed = ids[:-1] + ["T99999"]
    for texts in (ids, ids[::-1], changed, ids[:-1] + [None]):
        want = pd.Index(ids).get_indexer(texts).tolist()
        assert positions(pd.Series(texts, dtype="string[pyarrow]"), index).tolist() == want
        two_chunks = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([texts[:500], texts[500:]],
                                                                           type=pa.large_string())))
        assert positions(two_chunks, index).tolist() == want
    for texts in (ids, ids[::-1], changed):
        _arrays._CATEGORY_TABLES.clear()
        labels = shared_labels(pd.Series(texts, dtype="string[pyarrow]"))
        values = pd.Series(pd.Categorical.from_codes([0, 1399, -1, 7], categories=labels))
        want = pd.Index(ids).get_indexer([texts[0], texts[1399], None, texts[7]]).tolist()
        assert positions(values, index).tolist() == want


def test_labels_are_index_when_categories_are_the_index_in_order() -> None:
    from compkit._arrays import labels_are_index

    ids = [f"E{i:05d}" for i in range(1500)]
    categories = pd.Index(ids, dtype=object)
    assert labels_are_index(categories, pd.Index(pd.Series(ids, dtype="string[pyarrow]")))
    assert labels_are_index(pd.Index(["a", "b"]), ["a", "b"])
    assert not labels_are_index(categories, pd.Index(ids[::-1]))  # the same labels, another order
    assert not labels_are_index(categories, pd.Index(ids + ["E99999"]))  # one more label
    assert not labels_are_index(pd.Index(["a", "b"]), ["a", "c"])


def test_categories_dtype_made_once_per_labels() -> None:
    # the employee ids as categories: one dtype per ids' data (a new Index over the same Arrow ids: the same
    # dtype object), equal to the dtype pandas makes; as Python strings when asked
    from compkit._arrays import categories_dtype

    ids = pd.Series([f"E{i:05d}" for i in range(1200)], dtype="string[pyarrow]")
    first = categories_dtype(pd.Index(ids))
    assert first is categories_dtype(pd.Index(ids.array)) and first == pd.CategoricalDtype(pd.Index(ids))
    as_text = categories_dtype(pd.Index(ids), as_object=True)
    assert as_text is not first and as_text.categories.dtype == object and list(as_text.categories) == list(ids)
    other = categories_dtype(pd.Index(pd.Series(ids[::-1].to_numpy(), dtype="string[pyarrow]")))
    assert other is not first and list(other.categories) == list(ids[::-1])
    with pytest.raises(ValueError):
        categories_dtype(pd.Index(pd.Series(["E1"] * 1200, dtype="string[pyarrow]")))  # not distinct


def test_positions_of_shared_labels_read_from_their_arrow_text() -> None:
    # categories made by shared_labels (the loader's) are looked up from the Arrow text they were made of
    from compkit import _arrays
    from compkit._arrays import positions, shared_labels

    ids = pd.Series([f"S{i:05d}" for i in range(1300)], dtype="string[pyarrow]")
    labels = shared_labels(ids)
    assert id(labels) in _arrays._ARROW_TEXT_OF and labels is shared_labels(ids.copy())
    values = pd.Series(pd.Categorical.from_codes([0, 1299, -1, 7], categories=labels))
    index = pd.Index(pd.Series(ids[::-1].to_numpy(), dtype="string[pyarrow]"))  # reversed: 1299 - i
    assert positions(values, index).tolist() == [1299, 0, -1, 1292]
    key = id(labels)
    del labels, values
    _arrays._CATEGORY_TABLES.clear()  # (positions' remembered look-ups hold their categories)
    import gc
    gc.collect()
    assert key not in _arrays._ARROW_TEXT_OF  # forgotten with the labels


def test_sorted_codes_and_any_codes() -> None:
    from compkit._arrays import any_codes, sorted_codes

    codes, labels = sorted_codes(pd.Series(["b", "a", "b", None]))
    assert list(labels) == ["a", "b"] and codes.tolist() == [1, 0, 1, -1]
    cat = pd.Series(pd.Categorical(["b", "a"], categories=["a", "b", "z"]))
    codes, labels = sorted_codes(cat)
    assert list(labels) == ["a", "b", "z"] and codes.tolist() == [1, 0]
    codes, n = any_codes(pd.Series(["m", "n", "m", None], dtype="string"))
    assert n == 2 and codes[0] == codes[2] != codes[1] and codes[3] == -1
    # Arrow text in several chunks (as a large CSV file is read): one code per value across the chunks
    import pyarrow

    chunked = pyarrow.chunked_array([["m", "n", None], ["n", "o", "m"]])
    codes, n = any_codes(pd.Series(pd.arrays.ArrowStringArray(chunked)))
    assert n == 3 and codes[2] == -1 and codes[0] == codes[5] and codes[1] == codes[3]
    assert len({codes[0], codes[1], codes[4]}) == 3


def test_product_columns_are_checked(tmp_path: Path, policy: Policy) -> None:
    # insurance priced by payment term: the sales need a payment_term column with listed values
    priced = policy.updated({"commission.products[insurance].coefficients": {
        "column": "payment_term", "values": {"趸交": 0.1, "期交5": 0.5, "期交10": 1.0}}})
    tables = tiny_tables()
    write_tables(tables, tmp_path / "a")
    msg = _problems(tmp_path / "a", priced)
    assert "column 'payment_term'" in msg and "product 'insurance' of the policy reads it" in msg
    sales = tables["sales"].copy()
    sales["payment_term"] = np.where(sales["product"] == "insurance", "期交5", "")
    first = int(np.flatnonzero(sales["product"] == "insurance")[0])
    sales.loc[first, "payment_term"] = "期交7"
    write_tables({**tables, "sales": sales}, tmp_path / "b")
    msg = _problems(tmp_path / "b", priced)
    # row as the user sees it: header is line 1
    assert (f"sales.csv, row {first + 2}, column 'payment_term': found '期交7'; "
            "expected one of 趸交, 期交5, 期交10") in msg
    # other products' rows need no payment term; with the value fixed the data loads
    sales.loc[first, "payment_term"] = "期交10"
    write_tables({**tables, "sales": sales}, tmp_path / "c")
    assert load_dataset(tmp_path / "c", policy=priced).sales["payment_term"].notna().any()


def test_a_sales_rule_run_with_the_sales_check_is_listed_in_its_place(tmp_path: Path, policy: Policy,
                                                                      monkeypatch) -> None:
    """The products' columns rule runs on the loader's second thread right after the sales table is checked
    (contract.rules_alone): its problem is listed where cross_checks lists it one table after the other, between
    the employees' and the credits' cross-table problems."""
    priced = policy.updated({"commission.products[insurance].coefficients": {
        "column": "payment_term", "values": {"趸交": 0.1, "期交5": 0.5, "期交10": 1.0}}})
    tables = tiny_tables()
    sales = tables["sales"].copy()
    sales["payment_term"] = np.where(sales["product"] == "insurance", "期交7", "")
    employees = tables["employees"].copy()
    employees.loc[0, "exit_date"] = "2024-01-01"  # before the hire and the cycle: employees' cross-table rules
    write_tables({**tables, "sales": sales, "employees": employees}, tmp_path / "d")

    def problems() -> list:
        with pytest.raises(DataError) as info:
            load_dataset(tmp_path / "d", policy=priced)
        return [(Path(p.file).name, p.row, p.column, p.value, str(p.expected)) for p in info.value.problems]

    threaded = problems()
    assert [p[:3] for p in threaded if p[2] == "payment_term"]
    assert threaded.index(next(p for p in threaded if p[0] == "employees.csv")) < \
        threaded.index(next(p for p in threaded if p[2] == "payment_term"))
    monkeypatch.setenv("COMPKIT_THREADS", "1")
    assert problems() == threaded


def test_a_half_year_from_a_years_data_sets_the_rest_aside(tmp_path: Path, policy: Policy, capsys) -> None:
    from compkit.cli import main

    half = policy.updated({"cycle": "half-year"})
    folder = write_tables(tiny_tables(), tmp_path / "year")
    h1 = load_dataset(folder, policy=half, cycle="2025H1")
    # E2 joined on 2025-07-01: after H1, set aside with every row of theirs. Metrics: 7 indicators a month;
    # E1 and E3 have 6 months of H2 each (2 x 42) and E2 6 months (42): 126. Sales: E2's August funds: 1.
    # Ratings: all four people's 2025 (annual) 360 rows, 4 raters x 8 items each: 128. Surveys (March) and the
    # complaint (February) are inside H1.
    assert h1.set_aside == {"employees": 1, "metrics": 126, "sales": 1, "ratings": 128}
    assert h1.employees["employee_id"].tolist() == ["E1", "E3", "E4"]
    assert h1.metrics["period"].astype(str).max() == "2025-06"
    assert h1.set_aside_note() == ("256 rows fell outside cycle 2025H1 and were set aside "
                                   "(employees 1, metrics 126, sales 1, ratings 128)")
    # the policy's half-year cycle: the half holding the latest month (H2); E4 left on 2025-03-31
    h2 = load_dataset(folder, policy=half)
    assert h2.cycle == "2025H2" and h2.set_aside["employees"] == 1
    assert h2.employees["employee_id"].tolist() == ["E1", "E2", "E3"]
    # an annual cycle sets nothing aside
    assert load_dataset(folder, policy=policy).set_aside == {}
    policy_file = tmp_path / "half.yaml"
    half.to_yaml(policy_file)
    assert main(["validate", "--policy", str(policy_file), "--data", str(folder), "--cycle", "2025H1"]) == 0
    assert "256 rows fell outside cycle 2025H1 and were set aside" in capsys.readouterr().out


def test_rows_of_another_year_are_still_errors(tmp_path: Path, policy: Policy) -> None:
    half = policy.updated({"cycle": "half-year"})
    tables = tiny_tables()
    tables["sales"].loc[0, "period"] = "2024-12"
    msg = _problems(write_tables(tables, tmp_path / "d"), half)
    assert "sales.csv, row 2, column 'period': found '2024-12'" in msg


# ------------------------------------------------------------------------------------ input traps, more

def _zero_target(folder: Path) -> None:
    _edit(folder, "metrics", lambda df: df.assign(target=["0"] + list(df["target"].iloc[1:]),
                                                   actual=["5"] + list(df["actual"].iloc[1:])))


def test_zero_target_options(tiny_dir: Path, policy: Policy) -> None:
    _zero_target(tiny_dir)
    missing = load_dataset(tiny_dir, policy=policy.updated({"inputs.zero_target": "missing"}))
    assert np.isnan(missing.metrics["target"].iloc[0]) and missing.metrics["actual"].iloc[0] == 5.0
    assert len(missing.notes) == 1 and "taken as missing" in str(missing.notes[0])
    assert str(missing.notes[0]).startswith(f"{tiny_dir / 'metrics.csv'}, row 2, column 'target'")
    kept = load_dataset(tiny_dir, policy=policy.updated({"inputs.zero_target": "keep"}))
    assert kept.metrics["target"].iloc[0] == 0.0 and "kept" in str(kept.notes[0])


def test_supervisor_rating_options(tiny_dir: Path, policy: Policy) -> None:
    ratings = pd.read_csv(tiny_dir / "ratings.csv", dtype=str)
    first = ratings.index[ratings["rater_role"] == "supervisor"][0]
    ratings.loc[first, "rater_id"] = "E9"  # not the employee's supervisor (S1)
    ratings.to_csv(tiny_dir / "ratings.csv", index=False)
    dropped = load_dataset(tiny_dir, policy=policy.updated({"inputs.supervisor_rating": "drop"}))
    assert len(dropped.ratings) == len(ratings) - 1 and len(dropped.notes) == 1
    assert f"row {first + 2}, column 'rater_id'" in str(dropped.notes[0])
    kept = load_dataset(tiny_dir, policy=policy.updated({"inputs.supervisor_rating": "keep"}))
    assert len(kept.ratings) == len(ratings) and "kept" in str(kept.notes[0])


def test_the_sample_has_no_doubtful_rows(bank_policy: Policy) -> None:
    if not sample_available():
        pytest.skip("sample absent")
    assert load_dataset(SAMPLE, policy=bank_policy).notes == ()


def test_thousands_separators_are_still_read(tiny_dir: Path, policy: Policy) -> None:
    _edit(tiny_dir, "sales", lambda df: df.assign(amount=["1,600,000.50"] + list(df["amount"].iloc[1:])))
    assert load_dataset(tiny_dir, policy=policy).sales["amount"].iloc[0] == 1_600_000.5


def _chinese(folder: Path) -> None:
    _edit(folder, "employees", lambda df: df.assign(name=["李娜", "王伟", "张敏", "刘洋"][:len(df)]
                                                   + list(df["name"].iloc[4:]), branch="浦东支行"))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_utf8_and_gb18030_files_read_alike(tiny_dir: Path, policy: Policy, tmp_path: Path, encoding: str) -> None:
    _chinese(tiny_dir)
    expected = load_dataset(tiny_dir, policy=policy)
    assert expected.employees["name"].iloc[0] == "李娜"
    other = tmp_path / encoding
    shutil.copytree(tiny_dir, other)
    for f in other.glob("*.csv"):
        f.write_bytes(f.read_text(encoding="utf-8").encode(encoding))
    data = load_dataset(other, policy=policy)
    assert data.fingerprint() == expected.fingerprint()
    assert data.employees["branch"].iloc[0] == "浦东支行"
    forced = load_dataset(other, policy=policy, encoding="gb18030" if encoding in ("gb18030", "gbk") else "utf-8")
    assert forced.fingerprint() == expected.fingerprint()


def test_undecodable_file_names_the_byte_and_the_option(tiny_dir: Path, policy: Policy) -> None:
    _chinese(tiny_dir)
    f = tiny_dir / "employees.csv"
    f.write_bytes(f.read_text(encoding="utf-8").encode("gb18030"))
    with pytest.raises(DataError) as info:
        load_dataset(tiny_dir, policy=policy, encoding="utf-8")
    message = str(info.value)
    # line 2 is the first with a Chinese name: 李 is C0 EE in GB18030, not UTF-8
    assert f"{f}, row 2: found b'" in message and "\\xc0\\xee" in message
    assert ("expected a text file in UTF-8 (these bytes do not decode; name the file's encoding with "
            "--encoding") in message
    with pytest.raises(DataError, match="an encoding Python knows"):
        load_dataset(tiny_dir, policy=policy, encoding="klingon")


def test_semicolon_separated_file_gets_a_hint(tiny_dir: Path, policy: Policy) -> None:
    df = pd.read_csv(tiny_dir / "sales.csv", dtype=str, keep_default_na=False)
    df.to_csv(tiny_dir / "sales.csv", index=False, sep=";")
    message = _problems(tiny_dir, policy)
    assert f"{tiny_dir / 'sales.csv'}, row 1: found 'employee_id;period;" in message
    assert "columns separated by commas (this file seems to use ';'" in message


def test_reading_problems_of_the_table_read_on_the_second_thread_keep_their_place(tiny_dir: Path, policy: Policy,
                                                                                   monkeypatch) -> None:
    """The sales file is read on a second thread: its reading problem is listed between those of the tables
    before and after it, and alone when it is the only one, as reading one file after the other did."""
    for name in ("employees", "sales", "ratings"):
        df = pd.read_csv(tiny_dir / f"{name}.csv", dtype=str, keep_default_na=False)
        df.to_csv(tiny_dir / f"{name}.csv", index=False, sep=";")

    def files() -> list[str]:
        with pytest.raises(DataError) as info:
            load_dataset(tiny_dir, policy=policy)
        return [Path(p.file).name for p in info.value.problems]

    assert files() == ["employees.csv", "sales.csv", "ratings.csv"]
    for name in ("employees", "ratings"):
        df = pd.read_csv(tiny_dir / f"{name}.csv", dtype=str, keep_default_na=False, sep=";")
        df.to_csv(tiny_dir / f"{name}.csv", index=False)
    assert files() == ["sales.csv"]
    monkeypatch.setenv("COMPKIT_THREADS", "1")
    assert files() == ["sales.csv"]


def test_parquet_infinities_and_control_characters_are_refused(tiny_dir: Path, policy: Policy,
                                                               tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["sales"]["amount"] = tables["sales"]["amount"].astype(float)
    tables["sales"].loc[0, "amount"] = np.inf
    tables["employees"].loc[1, "name"] = "a\nb"
    folder = tmp_path / "pq"
    folder.mkdir()
    for name, df in tables.items():
        df.to_parquet(folder / f"{name}.parquet", index=False)
    message = _problems(folder, policy)
    assert "sales.parquet, row 2, column 'amount': found inf; expected a finite number" in message
    assert "employees.parquet, row 3, column 'name': found 'a\\nb'; expected text without control" in message


def test_cli_validate_names_the_encoding_and_lists_accepted_rows(tiny_dir: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture) -> None:
    from conftest import POLICY_2025

    from compkit.cli import main

    _chinese(tiny_dir)
    for f in tiny_dir.glob("*.csv"):
        f.write_bytes(f.read_text(encoding="utf-8").encode("gbk"))
    assert main(["validate", "--policy", str(POLICY_2025), "--data", str(tiny_dir), "--encoding", "gbk"]) == 0
    assert main(["validate", "--policy", str(POLICY_2025), "--data", str(tiny_dir), "--encoding", "utf-8"]) == 1
    err = capsys.readouterr().err  # the policy's language, zh-CN
    assert "employees.csv，第 2 行：发现 b'E1,\\xc0\\xee\\xc4\\xc8'；" in err and "Traceback" not in err
    assert "应为UTF-8 编码的文本文件（这些字节无法解码；请用 --encoding 指明文件编码" in err
    assert main(["validate", "--policy", str(POLICY_2025), "--data", str(tiny_dir), "--encoding", "utf-8",
                 "--lang", "en"]) == 1
    err = capsys.readouterr().err
    assert "expected a text file in UTF-8" in err and "Traceback" not in err
    # a policy that takes zero targets as missing: validate lists the row it accepted
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY_2025.read_text(encoding="utf-8").replace("zero_target: refuse", "zero_target: missing"),
                      encoding="utf-8")
    _zero_target(tiny_dir)
    assert main(["validate", "--policy", str(policy), "--data", str(tiny_dir), "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "accepted as the policy's inputs options say (1):" in out and "taken as missing" in out
    assert main(["validate", "--policy", str(policy), "--data", str(tiny_dir)]) == 0  # the policy's zh-CN
    assert "按政策的 inputs 选项接受（1条）：" in capsys.readouterr().out


def test_typed_csv_read_equals_the_text_read(base_dir: Path, base_policy: Policy,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    policy = base_policy
    """Arrow's typed read of clean files (the fast path) and the text read (used for files with problems) give
    the same dataset: same values, same types, same categories."""
    from compkit import data as data_module

    for name in ("employees", "metrics", "sales", "ratings"):
        assert data_module._read_csv_typed(base_dir / f"{name}.csv", name, None) is not None, name
    fast = load_dataset(base_dir, policy=policy)
    monkeypatch.setattr(data_module, "_read_csv_typed", lambda *args: None)
    slow = load_dataset(base_dir, policy=policy)
    assert fast.fingerprint() == slow.fingerprint()
    for name in ("employees", "metrics", "sales", "ratings", "surveys", "complaints", "history", "appeals"):
        a, b = fast.table(name), slow.table(name)
        assert list(a.dtypes.astype(str)) == list(b.dtypes.astype(str)), name
        pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_typed_csv_read_leaves_unclean_files_to_the_text_read(tmp_path: Path) -> None:
    from compkit.data import _read_csv_typed

    f = tmp_path / "sales.csv"
    for text in ("employee_id,period,product,amount\nE1,2025-01,funds,\"1,000\"\n",   # thousands separator
                 "employee_id,period,product,amount\nE1,2025-01,funds,inf\n",         # infinity written out
                 "employee_id;period;product;amount\nE1;2025-01;funds;1\n",           # ';' separated
                 "employee_id,period,product,amount\nE1,2025-01,funds,1,2\n"):        # a cell too many
        f.write_text(text, encoding="utf-8")
        assert _read_csv_typed(f, "sales", None) is None, text
    f.write_bytes("employee_id,period,product,amount\nE1,2025-01,理财,1\n".encode("gb18030"))
    assert _read_csv_typed(f, "sales", None) is None  # not UTF-8 beyond the header: left to the text read
    assert _read_csv_typed(f, "sales", "gb18030")["product"].tolist() == ["理财"]


def test_validated_parquet_copy_reads_back_the_same(tiny, policy: Policy, tmp_path: Path) -> None:
    written = tiny.to_parquet(tmp_path / "copy")
    assert {p.name for p in written} >= {"employees.parquet", "metrics.parquet", "sales.parquet", "ratings.parquet"}
    again = load_dataset(tmp_path / "copy", policy=policy)
    assert again.fingerprint() == tiny.fingerprint()
    for name in ("employees", "metrics", "sales", "ratings", "surveys", "complaints"):
        assert list(again.table(name).dtypes.astype(str)) == list(tiny.table(name).dtypes.astype(str)), name


def test_may_repeat_on_text_ids_sorted_or_not() -> None:
    from compkit.data import _may_repeat

    def ids(*values: str | None) -> pd.DataFrame:
        return pd.DataFrame({"deal_id": pd.Series(list(values), dtype="string[pyarrow]")})

    assert not _may_repeat(ids("D1", "D2", "D3"), ["deal_id"])  # in order: decided without hashing
    assert _may_repeat(ids("D1", "D2", "D2"), ["deal_id"])  # in order but one repeated
    assert not _may_repeat(ids("D3", "D1", "D2"), ["deal_id"])  # out of order: hashed, distinct
    assert _may_repeat(ids("D3", "D1", "D3"), ["deal_id"])
    assert not _may_repeat(ids("D1", None, "D2"), ["deal_id"])  # one missing value repeats nothing
    assert _may_repeat(ids(None, "D1", None), ["deal_id"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(
    ["", "a", "b", "ab", "ba", "abcdefgh", "abcdefghi", "abcdefgh\x00", "é", "理财", "x" * 16, "x" * 17, "y" * 32,
     "y" * 33, "12345678abcdefgh", "12345678abcdefgi"])), max_size=12),
       st.integers(min_value=0, max_value=2), st.booleans())
def test_texts_distinct_says_whether_any_text_repeats(values: list, skip: int, large: bool) -> None:
    """Exact, whatever the texts' lengths (one word, several, past the 32 bytes hashed), nulls left out, over
    sliced arrays and several chunks: the same answer as counting the distinct texts in Python."""
    import pyarrow

    from compkit._arrays import texts_distinct

    kind = pyarrow.large_string() if large else pyarrow.string()
    present = [v for v in values if v is not None]
    expected = len(set(present)) == len(present)
    one = pyarrow.array(["pad"] * skip + values, type=kind).slice(skip)
    assert texts_distinct(one) == expected, values
    half = len(values) // 2
    chunked = pyarrow.chunked_array([pyarrow.array(values[:half], type=kind), pyarrow.array(values[half:], type=kind)],
                                    type=kind)
    assert texts_distinct(chunked) == expected, values


def test_periods_are_held_as_the_cycles_months_in_order(tiny) -> None:
    """metrics' and sales' months: an ordered categorical of the cycle's 12 months, reading back as the texts and
    comparing with a month as the texts did."""
    from compkit.data import coded_periods

    for name in ("metrics", "sales"):
        period = tiny.table(name)["period"]
        assert isinstance(period.dtype, pd.CategoricalDtype) and period.cat.ordered
        assert list(period.cat.categories) == tiny.periods
        text = period.astype(str)
        assert ((period <= "2025-06") == (text <= "2025-06")).all()
        assert ((period == "2025-03") == (text == "2025-03")).all()
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    text = pd.Series(["2025-03", None, "2025-01", "2025-03"], dtype="string")
    coded = coded_periods(text, months)
    assert coded.tolist()[0] == "2025-03" and pd.isna(coded.iloc[1])
    assert np.asarray(coded.cat.codes).tolist() == [2, -1, 0, 2]
    outside = pd.Series(["2025-03", "2024-12"], dtype="string")
    assert coded_periods(outside, months) is outside  # a month not of the cycle: left as text, nothing lost


def test_sales_checked_on_a_second_thread_gives_the_same_problems_in_the_same_order(
        base_dir: Path, base_policy: Policy, monkeypatch) -> None:
    """load_dataset checks the sales table on a second thread while it checks the others: the problems (tables
    before and after sales, and sales itself) are the same and in the same order as one table after the other."""
    _edit(base_dir, "employees", _set("employees", "grade", "CM9")[1])
    _edit(base_dir, "sales", _set("sales", "product", "gold")[1])
    _edit(base_dir, "ratings", _set("ratings", "score", "9")[1])

    def problems() -> list:
        with pytest.raises(DataError) as info:
            load_dataset(base_dir, policy=base_policy)
        return [(p.file, p.row, p.column, p.value, str(p.expected)) for p in info.value.problems]

    threaded = problems()
    monkeypatch.setenv("COMPKIT_THREADS", "1")
    assert problems() == threaded
    files = [Path(f).name for f, *_ in threaded]
    assert files.index("employees.csv") < files.index("sales.csv") < files.index("ratings.csv")


def test_may_repeat_on_several_key_columns() -> None:
    from compkit.data import _may_repeat

    big = 10_000  # many distinct raters: the combined key space is too large to count, so it is sorted
    df = pd.DataFrame({"employee_id": pd.Categorical(["E1", "E1", "E2", "E2"]),
                       "rater_id": pd.Categorical(["R1", "R2", "R1", "R2"], categories=[f"R{i}" for i in
                                                                                  range(big)]),
                       "item": pd.Categorical(["a", "a", "a", "a"], categories=[f"i{i}" for i in range(big)] + ["a"])})
    key = ["employee_id", "rater_id", "item"]
    assert not _may_repeat(df, key)  # in key order
    assert not _may_repeat(df.iloc[[3, 0, 2, 1]], key)  # out of order, distinct
    assert _may_repeat(df.iloc[[3, 0, 2, 0]], key)  # out of order, row 0 twice
    assert _may_repeat(df.iloc[[0, 0, 1]], key)  # in order, one repeated


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet=st.sampled_from(
    ["a", "Z", "7", "-", " ", "\t", "\u3000", "\xa0", "理", "\n", "~", "\x7f"]), max_size=4)), max_size=8),
       st.integers(min_value=0, max_value=3))
def test_text_needing_no_cleaning_is_told_without_a_trimmed_copy(values: list, skip: int) -> None:
    """The quick test of a text column (first and last bytes, empty values) never misses a value that trimming
    would change or an empty one; on plain ASCII ids it says there is nothing to clean."""
    import pyarrow
    import pyarrow.compute as pc

    from compkit.data import _may_need_cleaning

    for kind in (pyarrow.string(), pyarrow.large_string()):
        arrow = pyarrow.chunked_array([pyarrow.array(["pad"] * skip + values, type=kind).slice(skip)], type=kind)
        changes = bool(pc.any(pc.not_equal(pc.utf8_trim_whitespace(arrow), arrow)).as_py()) or bool(
            pc.any(pc.equal(arrow, "")).as_py())
        if changes:
            assert _may_need_cleaning(arrow), values
    plain = pyarrow.chunked_array([pyarrow.array(["E00001", None, "CE0001-24", "x"])])
    assert not _may_need_cleaning(plain)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet=st.sampled_from(
    ["a", "7", "-", " ", "\t", "\x00", "\x1f", "理", "\n", "~", "\x7f", "\x80"]), max_size=4)), max_size=8))
def test_control_characters_are_never_missed_by_the_quick_byte_test(values: list) -> None:
    """The byte test of a text column (smallest byte, and DEL looked for only when some byte is 0x7F or above)
    says True whenever a value holds a control character; on plain ASCII ids it says False."""
    import re

    from compkit.data import _control_bytes

    column = pd.Series(values, dtype="string")
    if any(v is not None and re.search(r"[\x00-\x1f\x7f]", v) for v in values):
        assert _control_bytes(column), values
    assert not _control_bytes(pd.Series(["E00001", None, "CE0001-24", "x~"], dtype="string"))
    assert _control_bytes(pd.Series(["理", "a\x7f"], dtype="string"))  # beyond ASCII and a DEL


def test_a_validated_copy_is_read_back_as_it_was_without_validating_again(tiny, policy: Policy, tmp_path: Path,
                                                                          monkeypatch) -> None:
    import compkit.data as data

    copy = tmp_path / "validated"
    sales = tiny.sales.assign(customer_id=pd.Categorical(  # categories as Arrow text, in order of appearance
        tiny.sales["customer_id"], categories=pd.Index(pd.unique(tiny.sales["customer_id"].dropna()),
                                                       dtype="string")))
    tiny = tiny.replace(sales=sales)
    tiny.to_parquet(copy, policy=policy)
    assert (copy / data.VALIDATED).is_file()
    checked: list[str] = []
    real_check = data._check_table
    monkeypatch.setattr(data, "_check_table", lambda name, *a: checked.append(name) or real_check(name, *a))
    again = load_dataset(copy, policy=policy)
    assert checked == []  # not validated again
    for name in data.CONTRACT:  # every table as it was: values, dtypes, categories (Python strings) and order
        pd.testing.assert_frame_equal(again.table(name), tiny.table(name), check_categorical=True, obj=name)
        for col, dtype in tiny.table(name).dtypes.items():
            if isinstance(dtype, pd.CategoricalDtype):
                assert again.table(name)[col].cat.categories.dtype == dtype.categories.dtype, (name, col)
    assert (again.cycle, again.set_aside, again.notes, again.files) == (tiny.cycle, tiny.set_aside, tiny.notes,
                                                                         tiny.files)
    assert load_dataset(copy, policy=policy, cycle=tiny.cycle).fingerprint() == tiny.fingerprint()
    assert checked == []


def test_a_private_copy_is_read_back_as_it_was_only_with_its_key(tiny, policy: Policy, tmp_path: Path,
                                                                   monkeypatch) -> None:
    """The review's private copy (pickles sealed with a key the review puts in COMPKIT_COPY_KEY for its
    notebooks): read back exactly, without validating again, and only with that key."""
    import compkit.data as data

    key = bytes(range(32))
    copy = tmp_path / "private"
    written = tiny.to_private_copy(copy, policy, key)
    assert written[-1].name == data.VALIDATED and all(f.is_file() for f in written)
    checked: list[str] = []
    real_check = data._check_table
    monkeypatch.setattr(data, "_check_table", lambda name, *a: checked.append(name) or real_check(name, *a))
    monkeypatch.setenv(data.COPY_KEY, key.hex())
    again = load_dataset(copy, policy=policy)
    assert checked == []  # not validated again
    for name in data.CONTRACT:  # every table as it was: values, dtypes, categories and their order
        pd.testing.assert_frame_equal(again.table(name), tiny.table(name), check_categorical=True, obj=name)
        assert again.table(name).dtypes.equals(tiny.table(name).dtypes), name
    assert (again.cycle, again.set_aside, again.notes, again.files, again.source, sorted(again.more)) == (
        tiny.cycle, tiny.set_aside, tiny.notes, tiny.files, tiny.source, sorted(tiny.more))
    assert again.fingerprint() == tiny.fingerprint()

    def refused(**kw) -> str:
        with pytest.raises(DataError) as info:
            load_dataset(copy, policy=kw.pop("policy", policy), **kw)
        assert [Path(p.file).name for p in info.value.problems] == [data.VALIDATED]
        return info.value.message("en")

    assert "policy and cycle this private copy" in refused(policy=policy.updated({"version": "another"}))
    assert "policy and cycle this private copy" in refused(cycle="2019")
    monkeypatch.setenv(data.COPY_KEY, bytes(32).hex())  # another key: nothing is unpickled
    unpickled: list[str] = []
    monkeypatch.setattr("compkit.fingerprint.pickle.loads", lambda raw: unpickled.append("x"))
    assert "only the compkit review which wrote it" in refused()
    monkeypatch.delenv(data.COPY_KEY)
    assert "only the compkit review which wrote it" in refused()
    assert unpickled == []
    monkeypatch.undo()
    monkeypatch.setenv(data.COPY_KEY, key.hex())
    raw = bytearray((copy / "metrics.pickle").read_bytes())
    raw[-20] ^= 1  # a file changed after it was written
    (copy / "metrics.pickle").write_bytes(bytes(raw))
    changed = load_dataset(copy, policy=policy)  # a table is read (and checked) when first used
    with pytest.raises(DataError) as info:
        changed.table("metrics")
    assert "changed after it was written" in info.value.message("en")
    assert "私有副本中有文件在写入后被改动" in info.value.message("zh")
    assert [Path(p.file).name for p in info.value.problems] == [data.VALIDATED]
    (copy / "metrics.pickle").unlink()  # a file gone: refused when the copy is read
    with pytest.raises(DataError) as info:
        load_dataset(copy, policy=policy)
    assert "changed after it was written" in info.value.message("en")


def test_a_private_copy_reads_a_table_when_first_used(tiny, policy: Policy, tmp_path: Path, monkeypatch) -> None:
    """A notebook holds only the tables it uses: each large table of a private copy is unpickled when first used,
    once (also when two threads ask for it at once), and every table not read yet is read before the process
    forks, so forked workers share the parent's tables; pickled or copied, the copy is a whole Dataset."""
    import copy as copying
    import pickle
    import threading

    import compkit.data as data
    from compkit import fingerprint, parallel

    key = bytes(range(32))
    folder = tmp_path / "private"
    tiny.to_private_copy(folder, policy, key)
    monkeypatch.setenv(data.COPY_KEY, key.hex())
    read: list[str] = []
    real = fingerprint.load_pickle

    def counted(path, digest):
        read.append(Path(path).stem)
        return real(path, digest)

    monkeypatch.setattr("compkit.fingerprint.load_pickle", counted)
    again = load_dataset(folder, policy=policy)
    assert "sales" not in read and "employees" not in read  # nothing large read yet
    read.clear()
    threads = [threading.Thread(target=lambda: again.employees) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pd.testing.assert_frame_equal(again.ratings, tiny.ratings)
    pd.testing.assert_frame_equal(again.employees, tiny.employees)
    assert sorted(read) == ["employees", "ratings"]  # once each, and only these
    assert again.sales is again.sales and read.count("sales") == 1
    lazy = load_dataset(folder, policy=policy)
    read.clear()
    rows = parallel.fork_map(lambda name: len(lazy.table(name)), ["metrics", "sales"], 2)
    assert rows == [len(tiny.metrics), len(tiny.sales)]
    assert {"metrics", "sales", "surveys"} <= set(read)  # read in this process before forking
    for whole in (pickle.loads(pickle.dumps(load_dataset(folder, policy=policy))),
                  copying.deepcopy(load_dataset(folder, policy=policy))):
        assert whole.fingerprint() == tiny.fingerprint()
        assert "_pending" not in whole.__dict__


def test_a_changed_copy_or_another_policy_is_validated_in_full(tiny, policy: Policy, tmp_path: Path,
                                                               monkeypatch) -> None:
    import compkit.data as data

    copy = tmp_path / "validated"
    tiny.to_parquet(copy, policy=policy)
    checked: list[str] = []
    real_check = data._check_table
    monkeypatch.setattr(data, "_check_table", lambda name, *a: checked.append(name) or real_check(name, *a))
    other = policy.updated({"version": "another"})
    assert load_dataset(copy, policy=other).fingerprint() == tiny.fingerprint()
    assert "employees" in checked  # another policy: validated in full
    checked.clear()
    load_dataset(copy, policy=None)
    assert "employees" in checked  # no policy: validated in full
    metrics = pd.read_parquet(copy / "metrics.parquet")
    metrics.loc[0, "target"] = -5.0  # a file changed after it was written: its bad value is found
    metrics.to_parquet(copy / "metrics.parquet", index=False)
    with pytest.raises(DataError) as info:
        load_dataset(copy, policy=policy)
    assert [(Path(p.file).name, p.row, p.column, p.value) for p in info.value.problems] == [
        ("metrics.parquet", 2, "target", -5.0)]
    plain = tmp_path / "plain"
    tiny.to_parquet(plain)  # without the policy: no manifest, validated when read
    assert not (plain / data.VALIDATED).exists()


def test_dictionary_batches_sharing_a_dictionary_become_one_chunk_and_the_same_categorical() -> None:
    """Arrow reads a Parquet row group in batches that carry the same dictionary: they are put end to end (one
    chunk per dictionary run), and pandas makes the same categorical of it (categories in the same order, codes)."""
    import pyarrow

    from compkit.data import _one_chunk_per_dictionary

    a = pyarrow.array(["x", "y", "z"])
    b = pyarrow.array(["z", "w"])
    chunks = [pyarrow.DictionaryArray.from_arrays(pyarrow.array(codes, type=pyarrow.int32()), d)
              for codes, d in (([0, 1], a), ([2, None, 0], a), ([1, 0], b), ([0], b), ([2], a))]
    col = pyarrow.chunked_array(chunks)
    table = pyarrow.table({"c": col, "n": pyarrow.chunked_array([[1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0],
                                                                   [8.0], [9.0]])})
    merged = _one_chunk_per_dictionary(table)
    # runs of one dictionary: (a, a), (b, b), (a): three chunks; other columns as they were
    assert merged.column("c").num_chunks == 3 and merged.column("n").num_chunks == 5
    before, after = table.to_pandas(), merged.to_pandas()
    values = after["c"].astype(object).tolist()
    assert values[:3] + values[4:] == ["x", "y", "z", "x", "w", "z", "z", "z"] and pd.isna(values[3])
    assert list(after["c"].cat.categories) == list(before["c"].cat.categories) == ["x", "y", "z", "w"]
    assert after["c"].cat.codes.tolist() == before["c"].cat.codes.tolist() == [0, 1, 2, -1, 0, 3, 2, 2, 2]
    pd.testing.assert_frame_equal(before, after)
    plain = pyarrow.table({"n": pyarrow.chunked_array([[1.0], [2.0]])})
    assert _one_chunk_per_dictionary(plain) is plain  # nothing to put together: the table itself


def test_parquet_is_read_as_pandas_reads_it(tmp_path: Path) -> None:
    """compkit's Parquet reading gives pd.read_parquet's frame (dtypes, categories, codes) for a file of several
    row groups read with dictionaries."""
    import pyarrow
    import pyarrow.parquet

    from compkit.data import _read_parquet

    n = 3_000
    df = pd.DataFrame({"employee_id": [f"E{i % 37:03d}" for i in range(n)], "score": np.arange(n) / 7.0,
                       "step": pd.array([None if i % 5 == 0 else i % 4 for i in range(n)], dtype="Int64"),
                       "cycle": ["2025" if i % 3 else None for i in range(n)]})
    path = tmp_path / "t.parquet"
    pyarrow.parquet.write_table(pyarrow.Table.from_pandas(df, preserve_index=False), path, row_group_size=700)
    for options in ({}, {"read_dictionary": ["employee_id", "cycle"]}):
        expected = pd.read_parquet(path, **options)
        got = _read_parquet(path, **options)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
        for col in expected.columns:
            assert got[col].dtype == expected[col].dtype
            if isinstance(expected[col].dtype, pd.CategoricalDtype):
                assert got[col].cat.codes.tolist() == expected[col].cat.codes.tolist()
                assert list(got[col].cat.categories) == list(expected[col].cat.categories)


def test_rules_reading_the_sales_table_run_beside_the_others_and_keep_their_place(tmp_path: Path, policy: Policy,
                                                                                   monkeypatch) -> None:
    """The credits' rules (deal ids of the sales table, shares adding up to 1) run on another thread while the
    other tables' rules run: their problems are listed after the sales table's and the employees', as one table
    after the other lists them, and are the same with one thread."""
    tables = tiny_tables()
    tables["credits"] = pd.DataFrame({"deal_id": ["D3", "D3", "D9"], "employee_id": ["E1", "E3", "E1"],
                                      "share": [0.6, 0.3, 1.0]})
    employees = tables["employees"].copy()
    employees.loc[0, "exit_date"] = "2024-01-01"  # before the hire and the cycle: employees' cross-table rules
    write_tables({**tables, "employees": employees}, tmp_path / "d")

    def problems() -> list:
        with pytest.raises(DataError) as info:
            load_dataset(tmp_path / "d", policy=policy)
        return [(Path(p.file).name, p.row, p.column, p.value, str(p.expected)) for p in info.value.problems]

    threaded = problems()
    files = [p[0] for p in threaded]
    assert "employees.csv" in files and files[-1] == "credits.csv"
    assert files.index("employees.csv") < files.index("credits.csv")
    # D9 is no deal of the sales table (row 4); D3's shares add up to 0.9 (reported on its first row, 2)
    assert [(p[1], p[2]) for p in threaded if p[0] == "credits.csv"] == [(4, "deal_id"), (2, "share")]
    monkeypatch.setenv("COMPKIT_THREADS", "1")
    assert problems() == threaded


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["E1", "E2", "E3", None]), st.sampled_from(["2025-01", "2025-02"]),
                          st.sampled_from(["a", "b", "c"])), max_size=10), st.booleans())
def test_may_repeat_on_a_key_of_several_columns(rows: list, in_order: bool) -> None:
    """Rows in key order are told distinct by comparing neighbours (data._rows_in_order); in any order, the
    answer is False exactly when pandas finds no repeated key (missing counting as a value)."""
    from compkit.data import _categorical, _may_repeat, _rows_in_order

    if in_order:
        rows = sorted(set(rows), key=lambda r: ("" if r[0] is None else "~" + r[0], r[1], r[2]))
    df = pd.DataFrame(rows, columns=["employee_id", "period", "indicator"]).astype("string")
    for col in df.columns:
        df[col] = _categorical(df[col])
    repeated = bool(df.duplicated(keep=False).any())
    assert _may_repeat(df, list(df.columns)) == repeated
    codes = [np.asarray(df[c].cat.codes) for c in df.columns]
    tuples = list(zip(*[c.tolist() for c in codes]))
    assert _rows_in_order(codes) == all(a < b for a, b in zip(tuples, tuples[1:]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["E1", "E2", " E2", "E10", "", " ", "理财", "é"])),
                max_size=10), st.booleans())
def test_cleaning_a_dictionary_column_is_cleaning_its_rows(values: list, unused: bool) -> None:
    """_clean_categorical of a column read as a dictionary (categories in order of appearance, possibly one no
    row uses) gives what cleaning every row as text and making it categorical gives: the same categories in the
    same order, the same codes and code width."""
    from compkit.data import _categorical, _clean_categorical, _clean_text

    text = pd.Series(values, dtype="string")
    codes, uniques = pd.factorize(text)
    categories = list(uniques) + (["zz-unused"] if unused else [])
    raw = pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(categories, dtype=object)))
    got = _clean_categorical(raw)
    expected = _categorical(_clean_text(text))
    assert list(got.cat.categories) == list(expected.cat.categories)
    assert got.cat.categories.dtype == expected.cat.categories.dtype
    assert np.asarray(got.cat.codes).tolist() == np.asarray(expected.cat.codes).tolist()
    assert got.cat.codes.dtype == expected.cat.codes.dtype


def test_codes_used_flags_the_categories_some_row_holds() -> None:
    """codes [2, -1, 0, 2] of 4 categories: categories 0 and 2 are used, 1 and 3 not; the missing row (-1) marks
    none of them."""
    from compkit._arrays import codes_used

    assert codes_used(np.array([2, -1, 0, 2], dtype=np.int8), 4).tolist() == [True, False, True, False]
    assert codes_used(np.array([-1, -1], dtype=np.int16), 2).tolist() == [False, False]


def test_shared_labels_one_index_for_equal_texts() -> None:
    """Equal ids (as two tables' categories hold them) give the one Index object; other texts, a text changed by a
    byte, or texts with a missing value get an Index of their own; the values are the texts as Python strings."""
    import pyarrow

    from compkit._arrays import shared_labels

    ids = [f"E{i:05d}" for i in range(2000)]

    def arrow(texts: list, chunks: int = 1) -> pd.Series:
        step = -(-len(texts) // chunks)
        parts = [pyarrow.array(texts[i:i + step], type=pyarrow.large_string()) for i in range(0, len(texts), step)]
        return pd.Series(pd.arrays.ArrowStringArray(pyarrow.chunked_array(parts)))

    first = shared_labels(arrow(ids))
    assert first.dtype == object and first.tolist() == ids
    assert shared_labels(arrow(ids, chunks=3)) is first  # the same texts however chunked
    changed = shared_labels(arrow(ids[:-1] + ["E01998"]))  # one text differs (and so repeats)
    assert changed is not first and changed.tolist() == ids[:-1] + ["E01998"]
    assert shared_labels(arrow(ids[:-1] + ["E019999"])) is not first  # longer by a byte
    with_missing = shared_labels(arrow(ids[:-1] + [None]))
    assert with_missing is not first and pd.isna(with_missing[-1])
