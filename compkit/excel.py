"""Workbooks an analyst can open: a sheet per table, bold frozen header, auto filter, sensible widths,
money as #,##0.00, shares as percentages, dates as dates. Written atomically (temp file, then rename)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from compkit.atomic import write_file

MONEY_WORDS = ("pay", "allowance", "commission", "bonus", "cash", "cost", "contribution", "amount", "basis",
               "base", "scheduled", "cancelled", "payable", "settlement", "gross", "final", "cap_amount",
               "paid", "employer_", "employee_")
SHARE_WORDS = ("_pct", "share", "rate", "achievement", "weight", "multiple", "factor", "compa_ratio")


def _number_format(name: str, dtype: np.dtype) -> str | None:
    n = name.lower()
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "yyyy-mm-dd"
    if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        return None
    if n.endswith(("_pct", "achievement", "days_share")) or n in ("raise_pct", "merit_pct"):
        return "0.0%"
    if any(w in n for w in SHARE_WORDS):
        return "0.0000"
    if any(w in n for w in MONEY_WORDS) and "id" not in n:
        return "#,##0.00"
    if "score" in n or "composite" in n or n in ("performance", "ability", "attitude", "deductions"):
        return "0.00"
    return None


def _cell_values(df: pd.DataFrame) -> list[list[object]]:
    cols = []
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            vals = [None if pd.isna(v) else v.to_pydatetime() for v in s]
        else:
            arr = s.astype(object).to_numpy()
            vals = [None if (v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA) else
                    (v.item() if isinstance(v, np.generic) else v) for v in arr]
        cols.append(vals)
    return [list(row) for row in zip(*cols)] if cols else []


def write_workbook(sheets: dict[str, pd.DataFrame], path: Path) -> Path:
    """Write ``sheets`` (name -> table) to ``path`` (.xlsx). Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook(write_only=True)
    bold = Font(bold=True, color="FFFFFF")
    fill = PatternFill("solid", fgColor="305496")
    wrap = Alignment(vertical="top", wrap_text=True)
    for name, df in sheets.items():
        ws = wb.create_sheet(title=name[:31])
        ws.freeze_panes = "A2"
        formats = [_number_format(str(c), df[c].dtype) for c in df.columns]
        for j, c in enumerate(df.columns, start=1):
            width = max(10, min(45, len(str(c)) + 2))
            if df[c].dtype == object or pd.api.types.is_string_dtype(df[c].dtype):
                sample = df[c].head(200).astype(str)
                width = max(width, min(60, int(sample.str.len().max() if len(sample) else 0) + 2))
            ws.column_dimensions[get_column_letter(j)].width = width
        header = []
        for c in df.columns:
            cell = WriteOnlyCell(ws, value=str(c))
            cell.font = bold
            cell.fill = fill
            cell.alignment = wrap
            header.append(cell)
        ws.append(header)
        if len(df.columns):
            ws.auto_filter.ref = f"A1:{get_column_letter(len(df.columns))}{max(1, len(df) + 1)}"
        styled = [j for j, f in enumerate(formats) if f]
        for row in _cell_values(df):
            for j in styled:
                if row[j] is not None:
                    cell = WriteOnlyCell(ws, value=row[j])
                    cell.number_format = formats[j]
                    row[j] = cell
            ws.append(row)
    return write_file(path, lambda tmp: wb.save(tmp), suffix=".xlsx")
