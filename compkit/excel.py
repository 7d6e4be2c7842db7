"""Workbooks and CSV files an analyst can open safely: a sheet per table, bold frozen header, auto filter, sensible
widths, money as #,##0.00, shares as percentages, dates as dates. Written atomically (temp file, then rename).

No live formulas: :func:`write_workbook` and :func:`write_csv` are the only writers of the xlsx and CSV files
compkit produces, and both pass every text cell through :func:`neutralise` (OWASP's guidance on CSV injection):
text that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'`` so that Excel,
WPS or LibreOffice show it as text and never evaluate it. Numbers (and text that is just a number, such as
``-300000.0``) are untouched."""
from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

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


def _labellers(lang: str | None):
    """(column label, sheet title) functions for ``lang``: the headers people read (compkit.headers), or the
    tables' own names when ``lang`` is None."""
    if lang is None:
        return str, str
    from compkit.headers import column_label, sheet_label

    return (lambda c: column_label(c, lang)), (lambda n: sheet_label(str(n), lang))


def write_workbook(sheets: dict[str, pd.DataFrame], path: Path, lang: str | None = None) -> Path:
    """Write ``sheets`` (name -> table) to ``path`` (.xlsx). Returns the path.

    ``lang`` (zh-CN or en): sheet names and column headers as people read them (compkit.headers: 基本工资（元）,
    'Base pay (CNY)'); None keeps the tables' own column names (codes). Number formats follow the codes either
    way."""
    label, title = _labellers(lang)
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
    return atomic.write_file(path, wb.save, suffix=".xlsx")


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


# ------------------------------------------------------------------------------ a streamed workbook writer

#: data rows on one sheet (Excel's limit is 1,048,576 rows, the header included): a longer table continues on
#: sheets named ``<name> (2)``, ``<name> (3)`` ...
MAX_SHEET_ROWS = 1_048_575
#: rows turned into XML at a time
_CHUNK_ROWS = 20_000
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NS = ('xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
       'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"')
_EXCEL_EPOCH = np.datetime64("1899-12-30T00:00:00", "ns")


def _xml_escape(t: str) -> str:
    t = t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    return _XML_BAD.sub("", t) if _XML_BAD.search(t) else t


def _xml_text(values: np.ndarray) -> np.ndarray:
    """Text for an XML element: & < > escaped, carriage returns as a character reference, characters XML cannot
    hold (control characters) dropped."""
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        t = v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
        out[i] = _XML_BAD.sub("", t) if _XML_BAD.search(t) else t
    return out


def _tails(values: list, style: str, datetime_style: int) -> list[str | None]:
    """The end of a cell element after its reference (``" s="3"><v>12.5</v></c>``) for each distinct value; None
    for a missing one. Numbers as openpyxl writes them (16 significant digits); text neutralised (no formulas),
    escaped and inline; a date (among other values) as Excel serial days."""
    out: list[str | None] = []
    for v in values:
        if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, str) and v == ""):
            out.append(None)
        elif isinstance(v, str):
            t = _xml_escape(neutralise(v))
            space = ' xml:space="preserve"' if t[:1].isspace() or t[-1:].isspace() else ""
            out.append(f'" t="inlineStr"><is><t{space}>{t}</t></is></c>')
        elif isinstance(v, (bool, np.bool_)):
            out.append(f'" t="b"><v>{int(v)}</v></c>')
        elif isinstance(v, (int, float, np.integer, np.floating)):
            out.append(f'"{style}><v>{v:.16g}</v></c>' if np.isfinite(v) else None)
        elif isinstance(v, (pd.Timestamp, np.datetime64)):
            d = (pd.Timestamp(v).tz_localize(None).to_datetime64() - _EXCEL_EPOCH) / np.timedelta64(1, "D")
            out.append(f'" s="{datetime_style}"><v>{float(d):.16g}</v></c>')
        else:
            t = _xml_text(np.array([str(neutralise(str(v)))], dtype=object))[0]
            out.append(f'" t="inlineStr"><is><t xml:space="preserve">{t}</t></is></c>')
    return out


def _column_tails(s: pd.Series, style: int, datetime_style: int = 0):
    """The end of each ``<c>`` element of one column after its reference (``" s="3"><v>12.5</v></c>``), as an
    Arrow string array; null for a missing value (no cell). Each distinct value is written once (:func:`_tails`)
    and repeated by its code (Arrow's take); a date as Excel serial days."""
    import pyarrow as pa

    st = f' s="{style}"' if style else ""
    dtype = s.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        t = s.dt.tz_localize(None) if getattr(s.dt, "tz", None) is not None else s
        raw = t.to_numpy(dtype="datetime64[ns]")
        days = (raw - _EXCEL_EPOCH) / np.timedelta64(1, "D")
        values = np.where(np.isnat(raw), np.nan, days)  # missing: NaN, no cell (below)
    elif pd.api.types.is_bool_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        values = s.to_numpy(dtype=object)
    elif pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        values = s.to_numpy(dtype="float64", na_value=np.nan) if pd.api.types.is_extension_array_dtype(dtype) \
            else s.to_numpy()
    elif isinstance(dtype, pd.CategoricalDtype) and dtype.categories.inferred_type == "string":
        # text categories: each category the rows use written once, repeated by the codes (-1, missing: no cell)
        codes = s.cat.codes.to_numpy().astype("int64")
        used = np.unique(codes[codes >= 0])
        position = np.full(len(dtype.categories) + 1, len(used), dtype="int64")  # code -1: the null at the end
        position[used] = np.arange(len(used))
        return _text_tails(dtype.categories[used].tolist()).take(pa.array(position[codes]))
    elif (pd.api.types.is_string_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype)
          and not pd.api.types.is_object_dtype(dtype)):
        codes, uniques = pd.factorize(s)  # a text column: its distinct texts; missing: code -1, no cell
        tails = _text_tails(list(np.asarray(uniques, dtype=object)))
        return tails.take(pa.array(np.where(codes < 0, len(uniques), codes)))
    else:
        values = s.astype(object).to_numpy()
        if not all(isinstance(v, str) or v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))
                   for v in pd.unique(values)):  # mixed: 1, 1.0 and True must not share a code
            return pa.array(_tails(list(values), st, datetime_style), type=pa.string())
    codes, uniques = pd.factorize(values)
    if isinstance(uniques, np.ndarray) and uniques.dtype.kind in "iuf":  # numbers: 16 significant digits
        import pyarrow.compute as pc

        from compkit._numtext import general

        number = uniques.astype("float64")  # as f"{x:.16g}" formats an integer too (through its float)
        cells = pc.binary_join_element_wise(f'"{st}><v>', general(number), "</v></c>", "")
        missing = ~np.isfinite(number)
        if missing.any():  # inf (NaN is missing already): no cell
            cells = pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), cells)
        tails = pa.concat_arrays([cells, pa.array([None], type=pa.string())])
    else:
        tails = pa.array(_tails(list(np.asarray(uniques, dtype=object)), st, datetime_style) + [None],
                          type=pa.string())
    codes = np.where(codes < 0, len(tails) - 1, codes)  # code -1 (missing) takes the last: null
    return tails.take(pa.array(codes))


def _text_tails(texts: list) -> Any:
    """:func:`_tails` of distinct texts (str), plus a null at the end (for the missing values' code), as an Arrow
    string array."""
    import pyarrow as pa

    return pa.array(_tails(texts, "", 0) + [None], type=pa.string())


def write_workbook_streamed(sheets: dict[str, pd.DataFrame], path: Path, lang: str | None = None) -> Path:
    """:func:`write_workbook` for tables of millions of rows (the statements of 100,000 people): the same sheets,
    headers (bold, white on blue, frozen, auto filter), column widths, number formats and neutralised text, but
    the sheet XML is built a chunk of rows at a time (each distinct value of a column formatted once, the cells and
    rows joined by Arrow) and streamed into the zip file (ISA-L's deflate, level 1: :func:`_fast_deflate`), never
    holding a cell object per value; text is stored inline. A table longer than Excel's 1,048,576 rows continues
    on further sheets (``name (2)`` ...). Written to a temporary file and renamed, like write_workbook."""
    import zipfile
    from xml.sax.saxutils import escape, quoteattr

    from compkit.atomic import WORKBOOK_CREATOR, write_file

    label, title = _labellers(lang)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    formats: list[str] = []  # number formats in order of first use; style k + 2 has format formats[k]
    parts: list[tuple[str, pd.DataFrame]] = []
    used: set[str] = set()
    for name, df in sheets.items():
        base = re.sub(r"[\\/*?:\[\]]", "_", title(name))[:31]
        pieces = max(1, -(-len(df) // MAX_SHEET_ROWS))
        for k in range(pieces):
            sheet = base if k == 0 else f"{base[:31 - len(f' ({k + 1})')]} ({k + 1})"
            while sheet.lower() in used:
                sheet = sheet[:-1] + "_"
            used.add(sheet.lower())
            parts.append((sheet, df.iloc[k * MAX_SHEET_ROWS:(k + 1) * MAX_SHEET_ROWS]))
    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            for n, (_sheet, df) in enumerate(parts, start=1):
                with zf.open(f"xl/worksheets/sheet{n}.xml", "w", force_zip64=True) as fh:
                    _fast_deflate(fh)
                    _write_sheet(fh, df, label, lang, formats, quoteattr)
            _write_package(zf, [s for s, _ in parts], [len(d) for _, d in parts], [len(d.columns) for _, d in parts],
                           formats, WORKBOOK_CREATOR, escape, quoteattr)

    return write_file(path, write, suffix=".xlsx")


def _fast_deflate(fh) -> bool:
    """Compress a zip member being written with ISA-L's deflate (the ``isal`` package, level 1) instead of zlib's:
    the same deflate format (any zip reader opens it), about 4 times faster and a little smaller than zlib's level
    1 (measured on the statements' commission sheet: 198 MB of XML, 0.84 -> 0.20 s CPU, 22.7 -> 21.4 MB). The
    member's compressor is swapped before anything is written; zlib is kept where isal or that attribute of the
    standard library's zip writer is missing. Returns whether ISA-L is used."""
    try:
        from isal import isal_zlib
    except ImportError:
        return False
    if getattr(fh, "_compressor", None) is None:
        return False
    fh._compressor = isal_zlib.compressobj(1, isal_zlib.DEFLATED, -15)
    return True


def _write_sheet(fh, df: pd.DataFrame, label, lang: str | None, formats: list[str], quoteattr) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    cols = list(df.columns)
    letters = [get_column_letter(j) for j in range(1, len(cols) + 1)]
    styles = []
    if any(df[c].dtype == object for c in cols):  # a date among other values: as openpyxl shows one
        if "yyyy-mm-dd h:mm:ss" not in formats:
            formats.append("yyyy-mm-dd h:mm:ss")
    datetime_style = formats.index("yyyy-mm-dd h:mm:ss") + 2 if "yyyy-mm-dd h:mm:ss" in formats else 0
    for c in cols:
        f = _number_format(str(c), df[c].dtype)
        if f is None:
            styles.append(0)
            continue
        if f not in formats:
            formats.append(f)
        styles.append(formats.index(f) + 2)
    last = f"{letters[-1]}{len(df) + 1}" if cols else "A1"
    head = [f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet {_NS}><dimension ref="A1:{last}"/>',
            '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
            'state="frozen"/><selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>',
            '<sheetFormatPr defaultRowHeight="15"/>']
    if cols:
        head.append("<cols>")
        for j, c in enumerate(cols, start=1):
            width = max(10, min(45, len(label(c)) * (2 if lang == "zh-CN" else 1) + 2))
            if df[c].dtype == object or pd.api.types.is_string_dtype(df[c].dtype) or (
                    isinstance(df[c].dtype, pd.CategoricalDtype) and df[c].cat.categories.dtype.kind in "OT"):
                longest = df[c].head(200).astype(str).str.len().fillna(0).max() if len(df) else 0
                width = max(width, min(60, int(0 if pd.isna(longest) else longest) + 2))
            head.append(f'<col min="{j}" max="{j}" width="{width}" customWidth="1"/>')
        head.append("</cols>")
    head.append('<sheetData><row r="1">')
    for letter, c in zip(letters, cols):
        text = _xml_text(np.array([str(neutralise(label(c)))], dtype=object))[0]
        head.append(f'<c r="{letter}1" s="1" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>')
    head.append("</row>")
    fh.write("".join(head).encode("utf-8"))
    for a in range(0, len(df), _CHUNK_ROWS):  # row by row: <row>, its cells, </row>, joined by Arrow
        chunk = df.iloc[a:a + _CHUNK_ROWS]
        rownum = pc.cast(pa.array(np.arange(a + 2, a + 2 + len(chunk), dtype="int64")), pa.string())
        pieces: list[Any] = ['<row r="', rownum, '">']
        for letter, c, style in zip(letters, cols, styles):
            tails = _column_tails(chunk[c].reset_index(drop=True), style, datetime_style)
            if tails.null_count:  # a cell only where the value is not missing: null (no cell) where it is
                pieces.append(pc.binary_join_element_wise(f'<c r="{letter}', rownum, tails, ""))
            else:  # a cell in every row: its pieces joined with the row's (the cell's text made once)
                pieces += [f'<c r="{letter}', rownum, tails]
        rows = pc.binary_join_element_wise(*pieces, "</row>", "", null_handling="replace", null_replacement="")
        offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32, count=len(rows) + 1, offset=4 * rows.offset)
        start, stop = int(offsets[0]), int(offsets[-1])
        fh.write(memoryview(rows.buffers()[2])[start:stop])  # the rows' UTF-8 text, one after the other
    tail = "</sheetData>"
    if cols:
        tail += f'<autoFilter ref="A1:{letters[-1]}{max(1, len(df) + 1)}"/>'
    fh.write((tail + "</worksheet>").encode("utf-8"))


def _write_package(zf, names: list[str], rows: list[int], ncols: list[int], formats: list[str], creator: str,
                   escape, quoteattr) -> None:
    """The parts around the sheets: content types, relationships, workbook (with each sheet's filter range),
    styles (header and number formats) and document properties (creator: compkit)."""
    n = len(names)
    sheets_ct = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
                        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for i in range(1, n + 1))
    zf.writestr("[Content_Types].xml", (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/docProps/core.xml" '
        'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        '<Override PartName="/docProps/app.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
        + sheets_ct + "</Types>"))
    zf.writestr("_rels/.rels", (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="xl/workbook.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
        'core-properties" Target="docProps/core.xml"/>'
        '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'extended-properties" Target="docProps/app.xml"/></Relationships>'))
    zf.writestr("docProps/core.xml", (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:creator>{escape(creator)}</dc:creator></cp:coreProperties>"))
    zf.writestr("docProps/app.xml", (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
        "<Application>compkit</Application></Properties>"))
    sheets = "".join(f"<sheet name={quoteattr(s)} sheetId=\"{i}\" r:id=\"rId{i}\"/>"
                     for i, s in enumerate(names, start=1))
    filters = "".join(
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
        f"{escape(_quoted_sheet(s))}!$A$1:${get_column_letter(c)}${max(1, r + 1)}</definedName>"
        for i, (s, r, c) in enumerate(zip(names, rows, ncols)) if c)
    zf.writestr("xl/workbook.xml", (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook {_NS}>'
        f"<bookViews><workbookView/></bookViews><sheets>{sheets}</sheets>"
        + (f"<definedNames>{filters}</definedNames>" if filters else "") + "</workbook>"))
    rels = "".join(f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                   f'relationships/worksheet" Target="worksheets/sheet{i}.xml"/>' for i in range(1, n + 1))
    zf.writestr("xl/_rels/workbook.xml.rels", (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' + rels
        + f'<Relationship Id="rId{n + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/styles" Target="styles.xml"/></Relationships>'))
    numfmts = "".join(f'<numFmt numFmtId="{164 + k}" formatCode={quoteattr(f)}/>' for k, f in enumerate(formats))
    xfs = ('<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
           '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1" '
           'applyAlignment="1"><alignment vertical="top" wrapText="1"/></xf>'
           + "".join(f'<xf numFmtId="{164 + k}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
                     for k in range(len(formats))))
    zf.writestr("xl/styles.xml", (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + (f'<numFmts count="{len(formats)}">{numfmts}</numFmts>' if formats else "")
        + '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
        '<font><b/><sz val="11"/><color rgb="FFFFFFFF"/><name val="Calibri"/><family val="2"/></font></fonts>'
        '<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/>'
        '</fill><fill><patternFill patternType="solid"><fgColor rgb="00305496"/><bgColor indexed="64"/>'
        "</patternFill></fill></fills>"
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        f'<cellXfs count="{2 + len(formats)}">{xfs}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'))


def _quoted_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"
