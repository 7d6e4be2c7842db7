"""Workbooks and CSV files an analyst can open safely: a sheet per table, bold frozen header, auto filter, sensible
widths, money as #,##0.00, shares as percentages, dates as dates. Written atomically (temp file, then rename).

No live formulas: :func:`write_workbook` and :func:`write_csv` are the only writers of the xlsx and CSV files
compkit produces, and both pass every text cell through :func:`neutralise` (OWASP's guidance on CSV injection):
text that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'`` so that Excel,
WPS or LibreOffice show it as text and never evaluate it. Numbers (and text that is just a number, such as
``-300000.0``) are untouched."""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from compkit import atomic
from compkit.atomic import WORKBOOK_CREATOR

MONEY_WORDS = ("pay", "allowance", "commission", "bonus", "cash", "cost", "contribution", "amount", "basis",
               "base", "scheduled", "cancelled", "payable", "settlement", "gross", "final", "cap_amount",
               "paid", "employer_", "employee_")
SHARE_WORDS = ("_pct", "share", "rate", "achievement", "weight", "multiple", "factor", "compa_ratio")


#: first characters that make a spreadsheet read a text cell as a formula (OWASP: CSV injection)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d[\d,]*\.?\d*|\.\d+)([eE][+-]?\d+)?")


def neutralise(value: object) -> object:
    """``value`` unchanged unless it is text starting with ``= + - @``, a tab or a carriage return; then ``'`` +
    the text. Text that is only a number (``-12.5``, ``+3``) is left as it is (it cannot be a formula)."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells (and column names) are neutralised; numeric columns untouched."""
    out = df.copy()
    for c in out.columns:
        s = out[c]
        if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_datetime64_any_dtype(s.dtype) or \
                pd.api.types.is_bool_dtype(s.dtype):
            continue
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object)
        text = s.astype(object)
        risky = text.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_START))
        if risky.any():
            out[c] = text.map(neutralise)
    out.columns = [neutralise(c) if isinstance(c, str) else c for c in out.columns]
    return out


def write_csv(df: pd.DataFrame, path: str | Path, **kwargs) -> Path:
    """``df.to_csv(path, **kwargs)`` (index off unless asked) with every text cell neutralised (no live formulas).
    The one CSV writer of compkit's outputs."""
    kwargs.setdefault("index", False)
    frame = df
    if kwargs.get("index"):
        frame = df.reset_index()
        kwargs["index"] = False
    neutralise_frame(frame).to_csv(path, **kwargs)
    return Path(path)


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
            vals = [None if (v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT) else
                    neutralise(v.item() if isinstance(v, np.generic) else v) for v in arr]
        cols.append(vals)
    return [list(row) for row in zip(*cols)] if cols else []


def write_workbook(sheets: dict[str, pd.DataFrame], path: Path, lang: str | None = None) -> Path:
    """Write ``sheets`` (name -> table) to ``path`` (.xlsx). Returns the path.

    ``lang`` (zh-CN or en): sheet names and column headers as people read them (compkit.headers: 基本工资（元）,
    'Base pay (CNY)'); None keeps the tables' own column names (codes). Number formats follow the codes either
    way."""
    if lang is not None:
        from compkit.headers import column_label, sheet_label

        label, title = (lambda c: column_label(c, lang)), (lambda n: sheet_label(str(n), lang))
    else:
        label, title = str, str
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook(write_only=True)
    wb.properties.creator = WORKBOOK_CREATOR
    bold = Font(bold=True, color="FFFFFF")
    fill = PatternFill("solid", fgColor="305496")
    wrap = Alignment(vertical="top", wrap_text=True)
    for name, df in sheets.items():
        ws = wb.create_sheet(title=re.sub(r"[\\/*?:\[\]]", "_", title(name))[:31])
        ws.freeze_panes = "A2"
        formats = [_number_format(str(c), df[c].dtype) for c in df.columns]
        for j, c in enumerate(df.columns, start=1):
            width = max(10, min(45, len(label(c)) * (2 if lang == "zh-CN" else 1) + 2))
            if df[c].dtype == object or pd.api.types.is_string_dtype(df[c].dtype):
                # lengths of the text shown; a column of missing values only (an open appeal's value_before,
                # pandas' string dtype keeps <NA>) has no length: 0, not NaN
                longest = df[c].head(200).astype(str).str.len().fillna(0).max() if len(df) else 0
                width = max(width, min(60, int(0 if pd.isna(longest) else longest) + 2))
            ws.column_dimensions[get_column_letter(j)].width = width
        header = []
        for c in df.columns:
            cell = WriteOnlyCell(ws, value=neutralise(label(c)))
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
    tmp = atomic.temporary_file(path, suffix=".xlsx")
    try:
        wb.save(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_tables_folder(tables: Mapping[str, object], directory: str | Path, command: str,
                        float_format: str = "%.10g") -> list[Path]:
    """One CSV per table (name -> DataFrame) in ``directory``, replaced as a whole: written to a staging folder
    through :func:`write_csv` (no live formulas), marked, then swapped into place. ``directory``
    must be new, empty or a folder the same ``command`` wrote."""
    target = atomic.check_output(directory, command)
    tmp = atomic.staging_folder(target, command)
    try:
        for name, table in tables.items():
            write_csv(table, tmp / f"{name}.csv", float_format=float_format)
        atomic.replace_folder(tmp, target, command)
    finally:
        atomic.remove_quietly(tmp if tmp.exists() else None)
    return [target / f"{name}.csv" for name in tables]
