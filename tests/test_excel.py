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
