"""compkit.excel: a sheet per table, frozen bold header, number formats by column name; written atomically."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from openpyxl import load_workbook

from compkit.excel import write_workbook


def test_workbook_formats_money_shares_and_dates(tmp_path: Path) -> None:
    table = pd.DataFrame({"employee_id": ["E1", "E2"], "base_pay": [1234.5, 0.01], "raise_pct": [0.035, 0.0],
                          "hire_date": pd.to_datetime(["2025-07-01", None])})
    path = write_workbook({"summary": table}, tmp_path / "out.xlsx")
    ws = load_workbook(path)["summary"]
    assert [c.value for c in ws[1]] == list(table.columns)
    assert ws.freeze_panes == "A2" and ws["A1"].font.bold
    assert ws["B2"].value == 1234.5 and ws["B2"].number_format == "#,##0.00"
    assert ws["C2"].number_format == "0.0%"
    assert ws["D2"].number_format == "yyyy-mm-dd" and ws["D3"].value is None
    assert [p.name for p in tmp_path.iterdir()] == ["out.xlsx"]  # no temporary file left behind


def test_streamed_workbook_reads_as_write_workbook_writes(tmp_path, monkeypatch) -> None:
    """write_workbook_streamed (the statements of 100,000 people): the same sheets, headers, values, number formats,
    frozen header and filter as write_workbook; formulas neutralised; a long table continues on a second sheet."""
    import numpy as np
    import pandas as pd
    from openpyxl import load_workbook

    from compkit import excel

    df = pd.DataFrame({"employee_id": ["E1", "E2", "E3"], "base_pay": [114000.0, np.nan, 1 / 3],
                       "text": ["=1+2", "a<b&c", ""], "n": [1, 2, 3], "flag": [True, False, True],
                       "hire_date": pd.to_datetime(["2025-01-02", None, "2024-02-29"])})
    a = excel.write_workbook({"summary": df}, tmp_path / "a.xlsx", lang="zh-CN")
    b = excel.write_workbook_streamed({"summary": df}, tmp_path / "b.xlsx", lang="zh-CN")
    wa, wb = load_workbook(a), load_workbook(b)
    assert wa.sheetnames == wb.sheetnames == ["汇总"] and wb.properties.creator == "compkit"
    sa, sb = wa["汇总"], wb["汇总"]
    assert [[c.value for c in r] for r in sa.iter_rows()] == [[c.value for c in r] for r in sb.iter_rows()]
    assert [c.number_format for c in sa[2]] == [c.number_format for c in sb[2]]
    assert sb["C2"].value == "'=1+2" and sb["B3"].value is None and sb["A1"].font.b
    assert sb.freeze_panes == "A2" and sb.auto_filter.ref == sa.auto_filter.ref == "A1:F4"
    monkeypatch.setattr(excel, "MAX_SHEET_ROWS", 2)
    c = load_workbook(excel.write_workbook_streamed({"summary": df}, tmp_path / "c.xlsx", lang="en"))
    assert c.sheetnames == ["Summary", "Summary (2)"]
    assert [r[0] for r in c["Summary (2)"].iter_rows(values_only=True)] == ["Employee ID", "E3"]


def test_streamed_workbook_same_cells_over_chunks_and_compressors(tmp_path, monkeypatch) -> None:
    """The streamed sheet XML is the same whatever the rows per chunk (Arrow joins each chunk's rows) and the
    deflate used (ISA-L's, or zlib's where isal is missing): values, missing cells, a column of mixed values
    (1, 1.0, True, a date, text that looks like a formula) and text needing XML escapes all read back as
    write_workbook writes them."""
    import sys
    import zipfile

    import numpy as np

    from compkit import excel

    df = pd.DataFrame({"employee_id": [f"E{i}" for i in range(7)],
                       "amount": [1.5, np.nan, 2.0, 1e17, -0.1, 3.0, 1 / 3],
                       "mixed": pd.Series([1, 1.0, True, pd.Timestamp("2025-03-04"), "@x", None, "a&b<c>"],
                                          dtype=object),
                       "n": np.arange(7), "remark": ["", " lead", "=A1", "x", "", "-5", "中文"]})
    ref = load_workbook(excel.write_workbook({"t": df}, tmp_path / "ref.xlsx"))["t"]
    expected = [[c.value for c in r] for r in ref.iter_rows()]
    monkeypatch.setattr(excel, "_CHUNK_ROWS", 3)
    one = excel.write_workbook_streamed({"t": df}, tmp_path / "one.xlsx")
    monkeypatch.setitem(sys.modules, "isal", None)  # import isal fails: zlib
    two = excel.write_workbook_streamed({"t": df}, tmp_path / "two.xlsx")
    for path in (one, two):
        assert zipfile.ZipFile(path).testzip() is None
        assert [[c.value for c in r] for r in load_workbook(path)["t"].iter_rows()] == expected
    read = [zipfile.ZipFile(p).read("xl/worksheets/sheet1.xml") for p in (one, two)]
    assert read[0] == read[1]


def test_text_columns_of_every_kind_write_the_same_cells(tmp_path) -> None:
    """A categorical, a pandas text and an object column of the same texts (missing values included) give the
    same sheet XML as the object column always gave."""
    import zipfile

    from compkit import excel

    words = ["=1+2", None, "a<b", " x", "中文", "a<b", "", "-3"]
    frames = [pd.DataFrame({"remark": pd.Series(words, dtype=d)}) for d in (object, "str", "category")]
    xml = [zipfile.ZipFile(excel.write_workbook_streamed({"t": f}, tmp_path / f"{k}.xlsx")).read(
        "xl/worksheets/sheet1.xml") for k, f in enumerate(frames)]
    assert xml[0] == xml[1] == xml[2]
