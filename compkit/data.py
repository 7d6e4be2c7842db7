"""The data contract (DESIGN.md section 3): read, validate and aggregate a dataset.

``load_dataset(path, policy)`` reads a folder of CSV or Parquet files (one per table) or one Excel workbook
with a sheet per table, converts each column to its type, validates every table with pandera and the
cross-table rules against the policy, and returns a :class:`Dataset`. Every problem found is collected and
raised together in one :class:`compkit.DataError`: file, row as the user sees it (CSV line with the header as
line 1; Excel row with the header as row 1), column, value and what was expected.

Raw customer data is aggregated here into the indicator values the scorecard uses: satisfaction by dimension
(:func:`satisfaction_index`), complaint statistics (:func:`complaint_stats`) and loyalty from repeat purchases
(:func:`loyalty`).
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc
import pyarrow.parquet
from numpy.typing import ArrayLike
from pandas.arrays import ArrowStringArray

from compkit.errors import DataError, Problem
from compkit.policy import RATER_ROLES, Policy

# ---------------------------------------------------------------------------------------- the contract

#: table -> {column: type}; types: str, float, int, date, period, bool. Required columns listed in REQUIRED.
COLUMNS: dict[str, dict[str, str]] = {
    "employees": {"employee_id": "str", "name": "str", "branch": "str", "region": "str", "grade": "str",
                  "hire_date": "date", "exit_date": "date", "gender": "str", "birth_date": "date",
                  "supervisor_id": "str", "fte": "float", "base_monthly": "float", "grade_since": "date"},
    "metrics": {"employee_id": "str", "period": "period", "indicator": "str", "actual": "float",
                "target": "float"},
    "sales": {"employee_id": "str", "period": "period", "product": "str", "amount": "float",
              "deal_id": "str", "customer_id": "str"},
    "ratings": {"employee_id": "str", "rater_id": "str", "rater_role": "str", "item": "str", "score": "float",
                "cycle": "str"},
    "surveys": {"employee_id": "str", "date": "date", "dimension": "str", "score": "float", "channel": "str"},
    "complaints": {"complaint_id": "str", "employee_id": "str", "date": "date", "category": "str",
                   "upheld": "bool", "resolved_days": "float"},
    "history": {"employee_id": "str", "cycle": "str", "rating": "str", "grade": "str"},
    "appeals": {"appeal_id": "str", "employee_id": "str", "filed_on": "date", "table": "str", "key": "str",
                "column": "str", "claimed_value": "str", "status": "str", "decided_value": "str",
                "decided_on": "date", "reason": "str"},
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "employees": ("employee_id", "branch", "region", "grade", "hire_date"),
    "metrics": ("employee_id", "period", "indicator", "actual"),
    "sales": ("employee_id", "period", "product", "amount"),
    "ratings": ("employee_id", "rater_id", "rater_role", "item", "score", "cycle"),
    "surveys": ("employee_id", "date", "dimension", "score"),
    "complaints": ("employee_id", "date", "upheld"),
    "history": ("employee_id", "cycle", "rating"),
    "appeals": ("appeal_id", "employee_id", "filed_on", "table", "key", "column", "status"),
}
#: the columns that identify a row (unique); appeals name a row by these values joined with "|"
KEYS: dict[str, tuple[str, ...]] = {
    "employees": ("employee_id",),
    "metrics": ("employee_id", "period", "indicator"),
    "sales": ("deal_id",),
    "ratings": ("employee_id", "rater_id", "item", "cycle"),
    "complaints": ("complaint_id",),
    "history": ("employee_id", "cycle"),
    "appeals": ("appeal_id",),
}
#: tables that must be present and have at least one row; the others may be absent or empty
MANDATORY_TABLES = ("employees", "metrics", "sales", "ratings")
TABLES = tuple(COLUMNS)
SURVEY_DIMENSIONS = ("attitude", "competence", "responsiveness", "overall")
APPEAL_STATUSES = ("open", "upheld", "rejected")

_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_CYCLE = re.compile(r"^(\d{4})(H[12])?$")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


# ------------------------------------------------------------------------------------------ cycles


def cycle_periods(cycle: str) -> list[str]:
    """Months ``YYYY-MM`` of a cycle: ``2025`` (annual) or ``2025H1`` / ``2025H2`` (half-year)."""
    m = _CYCLE.match(cycle)
    if not m:
        raise ValueError(f"cycle {cycle!r}: expected YYYY or YYYYH1 / YYYYH2")
    year, half = int(m.group(1)), m.group(2)
    months = range(1, 13) if half is None else (range(1, 7) if half == "H1" else range(7, 13))
    return [f"{year}-{mm:02d}" for mm in months]


def infer_cycle(periods: Iterable[str], cadence: str) -> str:
    """The cycle that holds the latest period: its year (annual) or its half-year (half-year)."""
    # a column's own max() (one pass in C) rather than Python's, which iterates millions of values
    latest = periods.max() if isinstance(periods, (pd.Series, pd.Index)) else max(periods)
    year, month = latest[:4], int(latest[5:7])
    if cadence == "annual":
        return year
    return f"{year}H1" if month <= 6 else f"{year}H2"


# ----------------------------------------------------------------------------------------- Dataset


@dataclass(frozen=True)
class Dataset:
    """A validated dataset for one cycle. Tables follow the data contract; typed columns:
    dates are ``datetime64``, money and scores ``float64``, ``upheld`` bool, ids and labels strings."""

    employees: pd.DataFrame
    metrics: pd.DataFrame
    sales: pd.DataFrame
    ratings: pd.DataFrame
    surveys: pd.DataFrame
    complaints: pd.DataFrame
    history: pd.DataFrame
    appeals: pd.DataFrame
    cycle: str
    source: str = ""
    files: dict[str, str] = field(default_factory=dict)

    @property
    def periods(self) -> list[str]:
        return cycle_periods(self.cycle)

    @property
    def cycle_start(self) -> pd.Timestamp:
        return pd.Timestamp(self.periods[0] + "-01")

    @property
    def cycle_end(self) -> pd.Timestamp:
        """Last day of the cycle (inclusive)."""
        return pd.Timestamp(self.periods[-1] + "-01") + pd.offsets.MonthEnd(0)

    def table(self, name: str) -> pd.DataFrame:
        return getattr(self, name)

    def replace(self, **tables: pd.DataFrame) -> Dataset:
        """A copy with some tables replaced (used by appeals and what-ifs); the caller keeps them valid."""
        return replace(self, **tables)

    def fingerprint(self) -> str:
        """sha256 over the content of every table: equal data, equal fingerprint."""
        h = hashlib.sha256(self.cycle.encode())
        for name in TABLES:
            df = self.table(name)
            h.update(name.encode())
            h.update(pd.util.hash_pandas_object(df.astype("string"), index=False).values.tobytes())
        return h.hexdigest()

    def summary(self) -> pd.DataFrame:
        """Rows per table, with the people and months they cover."""
        rows = []
        for name in TABLES:
            df = self.table(name)
            rows.append({"table": name, "rows": len(df),
                         "employees": df["employee_id"].nunique() if "employee_id" in df else 0,
                         "file": self.files.get(name, "(absent)")})
        return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------- reading


def _file_label(path: Path) -> str:
    return str(path)


def _read_raw(path: Path) -> tuple[dict[str, pd.DataFrame], dict[str, str], dict[str, int], list[Problem]]:
    """Read every table as text (object columns, None for empty cells).

    Returns (tables, file label per table, offset from index to the row the user sees, problems).
    """
    tables: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    offsets: dict[str, int] = {}
    problems: list[Problem] = []
    if not path.exists():
        return tables, files, offsets, [Problem(str(path), None, None, None,
                                                "a folder of CSV/Parquet files or an Excel workbook (.xlsx)")]
    if path.is_file():
        if path.suffix.lower() not in (".xlsx", ".xlsm"):
            return tables, files, offsets, [Problem(str(path), None, None, None,
                                                    "a folder of CSV/Parquet files or an Excel workbook (.xlsx)")]
        try:
            sheets = pd.read_excel(path, sheet_name=None, dtype=object, engine="openpyxl")
        except Exception as err:  # noqa: BLE001 - any reader failure is reported as unreadable
            return tables, files, offsets, [Problem(str(path), None, None, None,
                                                    f"a readable Excel workbook ({type(err).__name__}: {err})")]
        for sheet, df in sheets.items():
            name = str(sheet).strip().lower()
            if name in COLUMNS:
                tables[name] = df
                files[name] = f"{path} [sheet {sheet}]"
                offsets[name] = 2
        return tables, files, offsets, problems
    for name in TABLES:
        candidates = [path / f"{name}.csv", path / f"{name}.parquet"]
        found = [c for c in candidates if c.exists()]
        if len(found) > 1:
            problems.append(Problem(str(path), None, None, None,
                                    f"one file for table {name}, found both {found[0].name} and {found[1].name}"))
            continue
        if not found:
            continue
        f = found[0]
        try:
            if f.suffix == ".csv":
                df = pd.read_csv(f, dtype=str, keep_default_na=False, encoding="utf-8-sig")
                df = df.replace({"": None})
            else:
                df = pd.read_parquet(f, **_parquet_options(f, name))
        except pd.errors.EmptyDataError:
            df = pd.DataFrame()
        except Exception as err:  # noqa: BLE001
            problems.append(Problem(str(f), None, None, None, f"a readable file ({type(err).__name__}: {err})"))
            continue
        tables[name] = df
        files[name] = _file_label(f)
        offsets[name] = 2
    return tables, files, offsets, problems


#: a label column is read as a dictionary when its first row group has at most this many distinct texts per row
_DICTIONARY_SHARE = 0.1


def _parquet_options(file: Path, table: str) -> dict[str, list[str]]:
    """Read the id and label columns that become categoricals (:data:`CATEGORICAL`) as Arrow dictionaries: a
    code per row and each distinct text once, rather than millions of strings (see :func:`_clean_categorical`).
    Only columns with few distinct texts (employees, indicators, products, roles, items; judged on the first row
    group) are read so: a dictionary of millions of customer ids would cost more than it saves."""
    wanted = CATEGORICAL.get(table, ())
    if not wanted:
        return {}
    schema = pyarrow.parquet.read_schema(file)
    candidates = [name for name, kind in zip(schema.names, schema.types) if str(name).strip() in wanted
                  and (pyarrow.types.is_string(kind) or pyarrow.types.is_large_string(kind))]
    if not candidates:
        return {}
    parquet = pyarrow.parquet.ParquetFile(file, read_dictionary=candidates)
    if parquet.metadata.num_row_groups == 0:
        return {}
    sample = parquet.read_row_group(0, columns=candidates)
    columns = []
    for name, column in zip(candidates, sample.columns):
        distinct = sum(len(chunk.dictionary) for chunk in column.chunks)
        if distinct <= _DICTIONARY_SHARE * len(column):
            columns.append(name)
    return {"read_dictionary": columns} if columns else {}


def _clean_text(s: pd.Series) -> pd.Series:
    """Strings stripped of surrounding blanks; empty -> missing (vectorised string operations).

    A column that has no surrounding blanks and no empty strings (the usual case) is returned as it is, without
    a copy: a year of 100,000 managers has 8 million metric rows."""
    out = s.astype("string")
    if isinstance(out.array, ArrowStringArray):
        arrow = out.array.__arrow_array__()
        if not _any(pc.not_equal(pc.utf8_trim_whitespace(arrow), arrow)) and not _any(pc.equal(arrow, "")):
            return out
    out = out.str.strip()
    return out.mask(out == "")


def _any(mask: pyarrow.ChunkedArray) -> bool:
    """Whether any value of an Arrow boolean array is true (nulls are not)."""
    return bool(pc.any(mask).as_py())


def _coerce(df: pd.DataFrame, table: str, file: str, offset: int, problems: list[Problem]) -> pd.DataFrame:
    """Convert each contract column to its type, reporting every value that does not convert."""
    out = df.copy(deep=False)  # columns are replaced, never written to: no need to copy the data
    for col, kind in COLUMNS[table].items():
        if col not in out.columns:
            continue
        raw = out[col]
        if kind == "str":
            # numbers read from Excel or Parquet come back as 12.0; keep integral ids readable
            if raw.dtype.kind in "fi":
                text = raw.map(lambda v: None if pd.isna(v) else (str(int(v)) if float(v).is_integer() else str(v)))
                text = text.astype("string")
            elif isinstance(raw.dtype, pd.CategoricalDtype) and col in CATEGORICAL.get(table, ()):
                text = _clean_categorical(raw)  # read as a dictionary: clean the distinct texts only
            else:
                text = _clean_text(raw)
            out[col] = text
            continue
        if kind == "float":
            if raw.dtype.kind in "fi":  # already numbers (Parquet, Excel): no text to parse
                values = raw.astype("float64")
                bad = None
            else:
                text = _clean_text(raw)
                values = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce").astype("float64")
                bad = text.notna() & values.isna()
            expected = "a number"
        elif kind == "date":
            if pd.api.types.is_datetime64_any_dtype(raw):
                values = raw.astype("datetime64[ns]")
                bad = None
            else:
                text = _clean_text(raw)
                head = text.str.slice(0, 10)  # Excel gives '2025-01-05 00:00:00'
                values = pd.to_datetime(head, format="%Y-%m-%d", errors="coerce").astype("datetime64[ns]")
                bad = text.notna() & values.isna()
            expected = "a date YYYY-MM-DD"
        elif kind == "period":
            text = _clean_text(raw)
            head = _slice(text, 7)
            ok = head.fillna("").str.match(_PERIOD.pattern)
            values = head if ok.all() else head.where(ok)
            bad = text.notna() & ~ok
            expected = "a month YYYY-MM"
        elif kind == "bool":
            text = _clean_text(raw)
            low = text.str.lower()
            values = pd.Series(pd.NA, index=raw.index, dtype="boolean")
            values[low.isin(_TRUE).fillna(False)] = True
            values[low.isin(_FALSE).fillna(False)] = False
            bad = text.notna() & values.isna()
            expected = "true or false"
        else:  # pragma: no cover - contract typo
            raise AssertionError(kind)
        if bad is not None:
            for idx in np.flatnonzero(bad.to_numpy()):
                problems.append(Problem(file, int(idx) + offset, col, raw.iloc[idx], expected))
        out[col] = values
    return out


def _slice(text: pd.Series, n: int) -> pd.Series:
    """``text.str.slice(0, n)``; the column itself (no copy) when no value is longer than ``n`` characters."""
    if isinstance(text.array, ArrowStringArray):
        longest = pc.max(pc.utf8_length(text.array.__arrow_array__())).as_py()
        if longest is None or longest <= n:
            return text
    return text.str.slice(0, n)


# ---------------------------------------------------------------------------------------- schemas


def _schemas(policy: Policy | None) -> dict[str, pa.DataFrameSchema]:
    """pandera schemas for value rules inside one table (types are converted before)."""

    def col(checks: list[pa.Check] | None = None, nullable: bool = True) -> pa.Column:
        return pa.Column(checks=checks or [], nullable=nullable, required=False, coerce=False)

    scale_min, scale_max = (1.0, 5.0) if policy is None else (policy.scorecard.rating_scale.min,
                                                              policy.scorecard.rating_scale.max)
    grade_ids = None if policy is None else policy.grade_ids
    employees = {
        "fte": col([pa.Check(lambda s: (s > 0) & (s <= 1), element_wise=False,
                             error="an fte above 0 and at most 1")]),
        "base_monthly": col([pa.Check.ge(0, error="a monthly base salary >= 0")]),
        "gender": col([pa.Check.isin(["F", "M", "X"], error="F, M or X")]),
    }
    if grade_ids is not None:
        employees["grade"] = col([pa.Check.isin(grade_ids, error=f"a grade of the policy: {', '.join(grade_ids)}")])
    metrics = {"target": col([pa.Check.ge(0, error="a target >= 0 (or empty)")])}
    if policy is not None:
        metric_ids = [i.id for i in policy.scorecard.indicators if i.source == "metrics"]
        metrics["indicator"] = col([pa.Check.isin(metric_ids, error="an indicator of the policy sourced from "
                                                                     f"metrics: {', '.join(metric_ids)}")])
    sales = {}
    if policy is not None:
        sales["product"] = col([pa.Check.isin(policy.product_ids, error="a product of the policy: "
                                                                        f"{', '.join(policy.product_ids)}")])
    ratings = {
        "rater_role": col([pa.Check.isin(list(RATER_ROLES), error="self, supervisor or peer")]),
        "score": col([pa.Check.in_range(scale_min, scale_max,
                                        error=f"a score on the rating scale {scale_min:g} to {scale_max:g}")]),
    }
    if policy is not None:
        ratings["item"] = col([pa.Check.isin(policy.rating_items, error="a rating item of the policy: "
                                                                        f"{', '.join(policy.rating_items)}")])
    surveys = {
        "dimension": col([pa.Check.isin(list(SURVEY_DIMENSIONS), error=", ".join(SURVEY_DIMENSIONS))]),
        "score": col([pa.Check.in_range(1, 5, error="a survey score from 1 to 5")]),
        "channel": col([pa.Check.isin(["survey", "phone"], error="survey or phone")]),
    }
    complaints = {"resolved_days": col([pa.Check.ge(0, error="a number of days >= 0")])}
    history = {}
    if policy is not None:
        history["rating"] = col([pa.Check.isin(policy.ratings.labels,
                                               error=f"a rating of the policy: {', '.join(policy.ratings.labels)}")])
        if grade_ids is not None:
            history["grade"] = col([pa.Check.isin(grade_ids, error=f"a grade of the policy: {', '.join(grade_ids)}")])
    appeals = {
        "status": col([pa.Check.isin(list(APPEAL_STATUSES), error="open, upheld or rejected")]),
        "table": col([pa.Check.isin([t for t in TABLES if t != "appeals"], error="the name of a data table")]),
    }
    per_table = {"employees": employees, "metrics": metrics, "sales": sales, "ratings": ratings,
                 "surveys": surveys, "complaints": complaints, "history": history, "appeals": appeals}
    return {t: pa.DataFrameSchema(cols, strict=False, coerce=False) for t, cols in per_table.items()}


def _schema_problems(df: pd.DataFrame, schema: pa.DataFrameSchema, file: str, offset: int) -> list[Problem]:
    # only the columns the schema checks (every rule is a column rule): pandera then neither copies nor
    # consolidates the rest of a table of millions of rows
    checked = [c for c in df.columns if c in schema.columns]
    try:
        schema.validate(df[checked], lazy=True)
    except pa.errors.SchemaErrors as err:
        fc = err.failure_cases
        out = []
        for rec in fc.itertuples(index=False):
            row = None if pd.isna(rec.index) else int(rec.index) + offset
            out.append(Problem(file, row, rec.column, rec.failure_case, str(rec.check)))
        return out
    return []


# -------------------------------------------------------------------------------------- validation


def _rows(mask: pd.Series) -> np.ndarray:
    return np.flatnonzero(mask.to_numpy(dtype=bool, na_value=False))


def _check_table(name: str, df: pd.DataFrame, file: str, offset: int, policy: Policy | None,
                 problems: list[Problem]) -> pd.DataFrame | None:
    """Structure, types and single-table rules; returns the typed table or None when unusable."""
    df = df.copy(deep=False)  # the caller's table is left as it is; columns are replaced, never written to
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in REQUIRED[name] if c not in df.columns]
    for c in missing:
        problems.append(Problem(file, None, c, None, f"a column named '{c}' (required in table {name})"))
    if missing:
        return None
    if len(df) == 0:
        if name in MANDATORY_TABLES:
            problems.append(Problem(file, None, None, None, f"at least one row in table {name} (it is empty)"))
            return None
    df = _coerce(df, name, file, offset, problems)
    for c in REQUIRED[name]:
        for idx in _rows(df[c].isna()):
            raw = None
            problems.append(Problem(file, int(idx) + offset, c, raw, "a value (this column is required)"))
    problems.extend(_schema_problems(df, _schemas(policy)[name], file, offset))
    key = [k for k in KEYS.get(name, ()) if k in df.columns]
    if key and len(key) == len(KEYS[name]):
        dup = df.duplicated(key, keep="first") & df[key].notna().all(axis=1) if _may_repeat(df, key) else None
        for idx in _rows(dup) if dup is not None else ():
            value = "|".join(str(df[k].iloc[idx]) for k in key)
            problems.append(Problem(file, int(idx) + offset, "/".join(key), value,
                                    f"a unique {' + '.join(key)} (this one appears earlier)"))
    # fill the contract's optional columns so that the rest of compkit can rely on them
    for c, kind in COLUMNS[name].items():
        if c not in df.columns:
            df[c] = _empty(kind, len(df))
    return df


def _may_repeat(df: pd.DataFrame, key: list[str]) -> bool:
    """False when no two rows of ``df`` share the same values of ``key`` (missing counting as a value), decided on
    integer codes (a count per code, or one hash pass); True when some may (the caller then finds which)."""
    if len(df) < 2:
        return False
    if len(key) == 1 and isinstance(df[key[0]].array, ArrowStringArray):  # e.g. deal ids: distinct texts
        values = df[key[0]].array.__arrow_array__()
        return len(pc.unique(values)) < len(values)
    combined = np.zeros(len(df), dtype=np.int64)
    size = 1
    for k in key:
        column = df[k]
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes, n = np.asarray(column.cat.codes, dtype=np.int64), len(column.cat.categories)
        else:
            codes, uniques = pd.factorize(column)
            n = len(uniques)
        if size * (n + 1) >= 2 ** 62:
            return True
        combined *= n + 1
        combined += codes + 1  # missing (-1) -> 0
        size *= n + 1
    if size <= 4 * len(df) + 1_000_000:
        return bool(np.bincount(combined, minlength=size).max() > 1)
    return len(pd.unique(combined)) < len(combined)


def _empty(kind: str, n: int) -> pd.Series:
    if kind == "float":
        return pd.Series(np.full(n, np.nan), dtype="float64")
    if kind == "date":
        return pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    if kind == "bool":
        return pd.Series(pd.NA, index=range(n), dtype="boolean")
    return pd.Series(pd.NA, index=range(n), dtype="string")


def _empty_table(name: str) -> pd.DataFrame:
    return pd.DataFrame({c: _empty(k, 0) for c, k in COLUMNS[name].items()})


def _cross_checks(t: dict[str, pd.DataFrame], files: dict[str, str], offsets: dict[str, int], policy: Policy | None,
                  cycle: str, problems: list[Problem]) -> None:
    """Rules between tables and against the cycle."""
    emp = t.get("employees")
    if emp is not None:
        f, o = files["employees"], offsets["employees"]
        bad = emp["exit_date"].notna() & emp["hire_date"].notna() & (emp["exit_date"] < emp["hire_date"])
        for idx in _rows(bad):
            problems.append(Problem(f, int(idx) + o, "exit_date", emp["exit_date"].iloc[idx].date().isoformat(),
                                    f"an exit date on or after the hire date "
                                    f"{emp['hire_date'].iloc[idx].date().isoformat()}"))
        periods = cycle_periods(cycle)
        start = pd.Timestamp(periods[0] + "-01")
        end = pd.Timestamp(periods[-1] + "-01") + pd.offsets.MonthEnd(0)
        for idx in _rows(emp["hire_date"] > end):
            problems.append(Problem(f, int(idx) + o, "hire_date", emp["hire_date"].iloc[idx].date().isoformat(),
                                    f"a hire date on or before the end of cycle {cycle} ({end.date().isoformat()})"))
        for idx in _rows(emp["exit_date"] < start):
            problems.append(Problem(f, int(idx) + o, "exit_date", emp["exit_date"].iloc[idx].date().isoformat(),
                                    f"an exit date inside cycle {cycle} or later (people who left before "
                                    f"{start.date().isoformat()} do not belong in this cycle's data)"))
        known = set(emp["employee_id"].dropna())
        for name in ("metrics", "sales", "ratings", "surveys", "complaints", "history", "appeals"):
            df = t.get(name)
            if df is None or len(df) == 0:
                continue
            for idx in _rows(df["employee_id"].notna() & ~_isin(df["employee_id"], known)):
                problems.append(Problem(files[name], int(idx) + offsets[name], "employee_id",
                                        df["employee_id"].iloc[idx], "an employee_id listed in the employees table"))
    in_cycle = set(cycle_periods(cycle))
    for name in ("metrics", "sales"):
        df = t.get(name)
        if df is None or len(df) == 0:
            continue
        for idx in _rows(df["period"].notna() & ~df["period"].isin(in_cycle)):
            problems.append(Problem(files[name], int(idx) + offsets[name], "period", df["period"].iloc[idx],
                                    f"a month of cycle {cycle} ({min(in_cycle)} to {max(in_cycle)})"))
    for name, col in (("surveys", "date"), ("complaints", "date")):
        df = t.get(name)
        if df is None or len(df) == 0:
            continue
        # the month (YYYY-MM) is one of the cycle's: from the first day of the cycle to before the month after it
        first = pd.Timestamp(min(in_cycle) + "-01")
        after = pd.Timestamp(max(in_cycle) + "-01") + pd.offsets.MonthBegin(1)
        inside = (df[col] >= first) & (df[col] < after)
        for idx in _rows(df[col].notna() & ~inside):
            problems.append(Problem(files[name], int(idx) + offsets[name], col,
                                    df[col].iloc[idx].date().isoformat(),
                                    f"a date inside cycle {cycle} ({min(in_cycle)} to {max(in_cycle)})"))
    ratings = t.get("ratings")
    if ratings is not None and len(ratings):
        for idx in _rows(ratings["cycle"].notna() & (ratings["cycle"] != cycle)):
            problems.append(Problem(files["ratings"], int(idx) + offsets["ratings"], "cycle",
                                    ratings["cycle"].iloc[idx], f"the cycle being evaluated, {cycle}"))
    history = t.get("history")
    if history is not None and len(history):
        ok = history["cycle"].fillna("").str.match(_CYCLE.pattern)
        for idx in _rows(history["cycle"].notna() & ~ok):
            problems.append(Problem(files["history"], int(idx) + offsets["history"], "cycle",
                                    history["cycle"].iloc[idx], "a past cycle YYYY or YYYYH1 / YYYYH2"))
        later = ok & (history["cycle"].str.slice(0, 4) >= cycle[:4]) & (history["cycle"] >= cycle)
        for idx in _rows(later):
            problems.append(Problem(files["history"], int(idx) + offsets["history"], "cycle",
                                    history["cycle"].iloc[idx], f"a cycle before {cycle}"))
    appeals = t.get("appeals")
    if appeals is not None and len(appeals):
        f, o = files["appeals"], offsets["appeals"]
        decided = appeals["status"].isin(["upheld", "rejected"]).fillna(False)
        for idx in _rows(decided & appeals["decided_on"].isna()):
            problems.append(Problem(f, int(idx) + o, "decided_on", None, "a decision date for a decided appeal"))
        for idx in _rows(appeals["decided_on"].notna() & (appeals["decided_on"] < appeals["filed_on"])):
            problems.append(Problem(f, int(idx) + o, "decided_on", appeals["decided_on"].iloc[idx].date().isoformat(),
                                    "a decision date on or after the filing date"))
        _check_appeal_targets(appeals, t, f, o, problems)


def _isin(values: pd.Series, allowed: set) -> pd.Series:
    """``values.isin(allowed)``; for a categorical column, each category is looked up once and the answer taken
    by code (a table of millions of rows has a few thousand distinct ids)."""
    if not isinstance(values.dtype, pd.CategoricalDtype):
        return values.isin(allowed)
    per_category = np.append(values.cat.categories.isin(allowed), False)  # code -1 (missing) takes the False
    return pd.Series(per_category[np.asarray(values.cat.codes)], index=values.index)


def _check_appeal_targets(appeals: pd.DataFrame, t: dict[str, pd.DataFrame], file: str, offset: int,
                          problems: list[Problem]) -> None:
    """An appeal must name an existing row (by key) and a column of a table."""
    for table_name, group in appeals.groupby("table", sort=True):
        target = t.get(str(table_name))
        keys = KEYS.get(str(table_name))
        if target is None or keys is None:
            continue
        row_keys = _existing_keys(target, keys, group["key"])
        for idx, rec in zip(group.index, group.itertuples(index=False)):
            pos = appeals.index.get_loc(idx)
            if rec.key not in row_keys:
                problems.append(Problem(file, int(pos) + offset, "key", rec.key,
                                        f"the key of a row of table {table_name} ({'|'.join(keys)})"))
            if rec.column not in COLUMNS[str(table_name)]:
                problems.append(Problem(file, int(pos) + offset, "column", rec.column,
                                        f"a column of table {table_name}"))


def _existing_keys(target: pd.DataFrame, keys: Iterable[str], wanted: pd.Series) -> set[str]:
    """Those of the ``wanted`` keys (key columns joined with '|') that name a row of ``target``.

    Only the rows that can match are joined: a row's key equals a wanted key K only if its first key column
    (as text) equals K itself (one key column) or the part of K before one of its '|'s, so the rows are first
    filtered on that column against those few prefixes (a metrics table has millions of rows; appeals a few)."""
    keys = list(keys)
    want = {k for k in wanted.dropna().astype(str)}
    if not want or len(target) == 0:
        return set()
    if len(keys) == 1:
        prefixes = want
    else:
        prefixes = {k[:i] for k in want for i, ch in enumerate(k) if ch == "|"}
    first = target[keys[0]].astype("string").fillna("")
    candidates = target[first.isin(prefixes).to_numpy(dtype=bool)]
    joined = _join_keys(candidates, keys)
    return set(joined[joined.isin(want).to_numpy(dtype=bool)])


def _join_keys(df: pd.DataFrame, keys: Iterable[str]) -> pd.Series:
    parts = [df[k].astype("string").fillna("") for k in keys]
    out = parts[0]
    for p in parts[1:]:
        out = out + "|" + p
    return out


def row_keys(df: pd.DataFrame, table: str) -> pd.Series:
    """The key by which an appeal names each row of ``table``: key columns joined with '|'."""
    return _join_keys(df, KEYS[table])


def _check_coverage(t: dict[str, pd.DataFrame], policy: Policy, files: dict[str, str],
                    problems: list[Problem]) -> None:
    """Tables the policy's scorecard sources must exist."""
    needed = {ind.source for ind in policy.scorecard.indicators}
    needed |= {d.source for d in policy.scorecard.deductions}
    for source in sorted(needed):
        if source in ("metrics", "ratings", "sales"):
            continue  # mandatory anyway
        if source not in t:
            problems.append(Problem(f"{source} table", None, None, None,
                                    f"a {source} table: the policy's scorecard uses source '{source}'"))


# ----------------------------------------------------------------------------------------- loading


def load_dataset(path: str | Path, policy: Policy | None = None, cycle: str | None = None) -> Dataset:
    """Read and validate a dataset (a folder of CSV/Parquet files or an Excel workbook).

    ``cycle``: ``YYYY`` or ``YYYYH1``/``YYYYH2``; by default the cycle holding the latest month of the
    metrics table (annual or half-year as the policy says). Raises :class:`compkit.DataError` listing every
    problem; on success every table of the contract is present (absent optional tables are empty).
    """
    path = Path(path)
    raw, files, offsets, problems = _read_raw(path)
    if problems:
        raise DataError(problems, str(path))
    for name in MANDATORY_TABLES:
        if name not in raw:
            where = f"{path} (no sheet '{name}')" if path.is_file() else str(path / f"{name}.csv")
            problems.append(Problem(where, None, None, None, f"a {name} table (required)"))
    typed: dict[str, pd.DataFrame] = {}
    present = {name: None for name in raw}
    for name in list(raw):
        # each raw table is let go once typed, so that raw and typed copies of every table are not all held
        checked = _check_table(name, raw.pop(name), files[name], offsets[name], policy, problems)
        if checked is not None:
            if not problems:  # held as categoricals from now on (see CATEGORICAL): less memory, faster checks
                for col in CATEGORICAL.get(name, ()):
                    checked[col] = _categorical(checked[col])
            typed[name] = checked
    if policy is not None:
        _check_coverage(present, policy, files, problems)
    if cycle is None:
        periods = typed["metrics"]["period"].dropna() if "metrics" in typed else pd.Series(dtype="string")
        if len(periods) == 0:
            problems.append(Problem(files.get("metrics", "metrics table"), None, "period", None,
                                    "at least one valid month, to tell the cycle"))
            raise DataError(problems, str(path))
        cycle = infer_cycle(periods, policy.cycle if policy is not None else "annual")
    elif not _CYCLE.match(cycle):
        problems.append(Problem("--cycle", None, None, cycle, "YYYY or YYYYH1 / YYYYH2"))
        raise DataError(problems, str(path))
    elif policy is not None and (policy.cycle == "annual") != (len(cycle) == 4):
        problems.append(Problem("--cycle", None, None, cycle, f"a {policy.cycle} cycle, as the policy says"))
        raise DataError(problems, str(path))
    _cross_checks(typed, files, offsets, policy, cycle, problems)
    if problems:
        raise DataError(problems, str(path))
    tables = {name: typed.get(name, _empty_table(name)).reset_index(drop=True) for name in TABLES}
    tables["employees"]["fte"] = tables["employees"]["fte"].fillna(1.0)
    for name, columns in CATEGORICAL.items():
        if name in typed:
            continue  # made categorical once checked
        for col in columns:
            tables[name][col] = _categorical(tables[name][col])
    return Dataset(**tables, cycle=cycle, source=str(path), files=files)


def load_appeals(path: str | Path, data: Dataset, policy: Policy | None = None) -> pd.DataFrame:
    """Read and validate an appeals register (CSV or an Excel workbook with an ``appeals`` sheet) against
    ``data``: the contract's columns and types, statuses, and that each appeal names an existing row and column.
    Raises :class:`compkit.DataError` listing every problem."""
    path = Path(path)
    if not path.exists():
        raise DataError([Problem(str(path), None, None, None, "an appeals file (CSV or .xlsx)")], str(path))
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        sheets = pd.read_excel(path, sheet_name=None, dtype=object, engine="openpyxl")
        named = {str(k).strip().lower(): v for k, v in sheets.items()}
        if "appeals" not in named:
            raise DataError([Problem(str(path), None, None, None,
                                     f"a sheet named 'appeals' (found: {', '.join(map(str, sheets))})")], str(path))
        raw = named["appeals"]
    else:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig").replace({"": None})
    problems: list[Problem] = []
    typed = _check_table("appeals", raw, str(path), 2, policy, problems)
    if typed is not None:
        tables = {name: data.table(name) for name in KEYS}
        _check_appeal_targets(typed, tables, str(path), 2, problems)
    if problems:
        raise DataError(problems, str(path))
    return typed.reset_index(drop=True)


#: id and label columns held as categoricals once validated: every later group-by and look-up then works on
#: integer codes (a year of 100,000 managers has 8 million metric rows). Periods stay text (compared as text).
CATEGORICAL = {
    "metrics": ("employee_id", "indicator"),
    "sales": ("employee_id", "product", "customer_id"),
    "ratings": ("employee_id", "rater_id", "rater_role", "item"),
    "surveys": ("employee_id", "dimension"),
}


def _categorical(s: pd.Series) -> pd.Series:
    """A categorical column whose categories are the sorted distinct values (so sorting is by value)."""
    if _is_final_categorical(s):
        return s
    codes, uniques = pd.factorize(s, sort=True)
    return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(uniques, dtype=object)), index=s.index)


def _is_final_categorical(s: pd.Series) -> bool:
    """Whether ``s`` is already what :func:`_categorical` makes of it: unordered, its categories (Python strings)
    sorted, distinct and every one of them used."""
    if not isinstance(s.dtype, pd.CategoricalDtype) or s.cat.ordered:
        return False
    cats = s.cat.categories
    if cats.dtype != object or not (cats.is_monotonic_increasing and cats.is_unique):
        return False
    return bool(np.bincount(np.asarray(s.cat.codes, dtype=np.int64) + 1, minlength=len(cats) + 1)[1:].all())


def _clean_categorical(raw: pd.Series) -> pd.Series:
    """``_categorical(_clean_text(raw))`` for a categorical ``raw`` (a column read as a dictionary), working on its
    few distinct texts rather than on every row: the categories are cleaned (stripped; empty -> missing), texts
    that become equal are merged, and the codes are mapped to the sorted distinct cleaned texts in use."""
    cleaned = _clean_text(pd.Series(np.asarray(raw.cat.categories, dtype=object), dtype="string"))
    new_code, uniques = pd.factorize(cleaned, sort=True)  # per category; missing -> -1
    codes = np.append(new_code, -1)[np.asarray(raw.cat.codes, dtype=np.int64)]  # a missing row (-1) stays -1
    used = np.bincount(codes + 1, minlength=len(uniques) + 1)[1:] > 0
    if not used.all():  # categories no row uses are left out, as a factorize of the rows would
        codes = np.append(np.where(used, np.cumsum(used) - 1, -1), -1)[codes]
        uniques = uniques[used]
    categories = pd.Index(np.asarray(uniques, dtype=object), dtype=object)
    return pd.Series(pd.Categorical.from_codes(codes, categories=categories), index=raw.index)


def dataset_from_tables(tables: dict[str, pd.DataFrame], policy: Policy | None = None, cycle: str | None = None,
                        source: str = "<in memory>") -> Dataset:
    """Validate in-memory tables (e.g. ``make_sample(...).tables``) exactly as :func:`load_dataset` would."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for name, df in tables.items():
            df.to_parquet(Path(tmp) / f"{name}.parquet", index=False)
        ds = load_dataset(tmp, policy=policy, cycle=cycle)
    return replace(ds, source=source, files={k: f"{source}:{k}" for k in ds.files})


# ------------------------------------------------------------------------ customer data aggregation


def _through(df: pd.DataFrame, column: str, through: str | None) -> pd.DataFrame:
    """Rows up to and including month ``through`` (YYYY-MM), for cycle-to-date figures."""
    if through is None:
        return df
    if df[column].dtype.kind == "M":
        return df[df[column].dt.strftime("%Y-%m") <= through]
    return df[df[column] <= through]


def satisfaction_index(surveys: pd.DataFrame, through: str | None = None) -> pd.DataFrame:
    """Customer satisfaction per employee and dimension, from surveys and phone follow-ups.

    score = mean of the responses' scores (1-5 scale) for the dimension; dimension ``all`` is the mean of every
    response. Columns: employee_id, dimension, score, responses.
    """
    s = _through(surveys, "date", through)
    by_dim = (s.groupby(["employee_id", "dimension"], observed=True)["score"].agg(["mean", "size"])
              .reset_index())
    overall = s.groupby("employee_id")["score"].agg(["mean", "size"]).reset_index()
    overall["dimension"] = "all"
    out = pd.concat([by_dim, overall], ignore_index=True)
    out = out.rename(columns={"mean": "score", "size": "responses"})
    out["dimension"] = out["dimension"].astype("string")
    return out[["employee_id", "dimension", "score", "responses"]].sort_values(
        ["employee_id", "dimension"]).reset_index(drop=True)


def complaint_stats(complaints: pd.DataFrame, through: str | None = None) -> pd.DataFrame:
    """Complaints per employee: count, upheld (count), upheld_rate = upheld / count, resolved_days (mean days to
    resolve, over complaints with a value). Employees without complaints are absent."""
    c = _through(complaints, "date", through)
    upheld = c["upheld"].fillna(False).astype(bool)
    g = c.assign(_upheld=upheld.astype(int)).groupby("employee_id")
    out = pd.DataFrame({"count": g.size(), "upheld": g["_upheld"].sum(), "resolved_days": g["resolved_days"].mean()})
    out["upheld_rate"] = out["upheld"] / out["count"]
    return out.reset_index()[["employee_id", "count", "upheld", "upheld_rate", "resolved_days"]]


def positions(values: ArrayLike, index: pd.Index) -> np.ndarray:
    """Position in ``index`` of each value (-1 when absent or missing), as ``index.get_indexer(values)`` but
    hashing each distinct value once: a categorical column is looked up by its categories, an Arrow text column
    with Arrow's ``index_in``, anything else through ``pd.factorize``. Small integers (int32): these arrays have
    the length of a table (millions of rows)."""
    index = pd.Index(index)
    if not isinstance(values, (pd.Series, pd.Index)):
        values = pd.Series(np.asarray(values, dtype=object))
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes, uniques = np.asarray(values.cat.codes), values.cat.categories
    elif isinstance(values.array, ArrowStringArray) and index.inferred_type in ("string", "empty"):
        arrow = pyarrow.array(values)
        found = pc.index_in(arrow, value_set=pyarrow.array(index.to_numpy(dtype=object), type=arrow.type))
        return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    else:
        codes, uniques = pd.factorize(values)
    uniques = pd.Index(uniques)
    try:
        uniques = uniques.astype(index.dtype)
    except (TypeError, ValueError):
        pass  # labels of another type: get_indexer finds none of them
    table = np.append(index.get_indexer(uniques), -1).astype(np.int32)
    return table[codes]  # code -1 (missing) takes the trailing -1


def sorted_codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """(codes, labels) with the labels sorted, as ``pd.factorize(values, sort=True)``; a categorical column whose
    categories are sorted (as :func:`load_dataset` makes them) gives its own codes, without a pass over the
    values. Labels may then include values absent from the column."""
    if isinstance(values.dtype, pd.CategoricalDtype) and values.cat.categories.is_monotonic_increasing:
        return np.asarray(values.cat.codes), values.cat.categories
    codes, uniques = pd.factorize(values, sort=True)
    return codes, pd.Index(uniques)


def _any_codes(values: pd.Series) -> tuple[np.ndarray, int]:
    """(codes, number of distinct values): the codes of a categorical column, else those of ``pd.factorize``;
    missing -> -1. Equal values, equal codes; nothing else is promised about them."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return np.asarray(values.cat.codes), len(values.cat.categories)
    if isinstance(values.array, ArrowStringArray):  # e.g. months: int32 positions among the distinct texts
        arrow = values.array.__arrow_array__()
        distinct = pc.drop_null(pc.unique(arrow))
        codes = pc.index_in(arrow, value_set=distinct).fill_null(-1)
        return codes.to_numpy().astype(np.int32, copy=False), len(distinct)
    codes, uniques = pd.factorize(values)
    return codes, len(uniques)


def _before_or_in(periods: pd.Series, through: str) -> np.ndarray:
    """Mask of the rows whose period (YYYY-MM) is ``through`` or earlier."""
    return (periods <= through).to_numpy(dtype=bool, na_value=False)


def loyalty(sales: pd.DataFrame, through: str | None = None) -> pd.DataFrame:
    """Customer loyalty per employee from repeat purchases.

    repeat_purchase = customers who bought (amount > 0) in two or more distinct months / customers who bought.
    Rows without a customer_id are ignored. Columns: employee_id, customers, repeat_customers, repeat_purchase.
    """
    # integer codes of the whole columns, then only the rows that count: no copy of the sales table
    keep = (sales["amount"].to_numpy(dtype="float64") > 0) & sales["customer_id"].notna().to_numpy(dtype=bool)
    if through is not None:
        keep &= _before_or_in(sales["period"], through)
    e, e_labels = sorted_codes(sales["employee_id"])
    c, n_c = _any_codes(sales["customer_id"])
    m, n_m = _any_codes(sales["period"])
    keep &= (e >= 0) & (m >= 0)
    n_c, n_m = max(n_c, 1), max(n_m, 1)
    every = bool(keep.all())  # usually only reversals are left out

    def rows(codes: np.ndarray) -> np.ndarray:
        return codes if every else codes[keep]

    # one int64 key per row, (employee, customer, month), sorted in place: a customer's rows with an employee
    # then sit together, months in order, so the pair bought in two or more distinct months exactly when its
    # first and last keys differ
    key = rows(e).astype(np.int64)
    key *= n_c
    key += rows(c)
    key *= n_m
    key += rows(m)
    key.sort()
    pairs = key // n_m
    starts = np.flatnonzero(np.concatenate([[True], pairs[1:] != pairs[:-1]])) if len(pairs) else np.array([], int)
    ends = np.append(starts[1:], len(pairs)) - 1 if len(pairs) else starts
    repeated = key[starts] != key[ends]
    pair_employee = pairs[starts] // n_c
    del key, pairs
    customers = np.bincount(pair_employee, minlength=len(e_labels))
    repeat = np.bincount(pair_employee, weights=repeated.astype(float), minlength=len(e_labels))
    keep = customers > 0
    out = pd.DataFrame({"employee_id": np.asarray(e_labels, dtype=object)[keep], "customers": customers[keep],
                        "repeat_customers": repeat[keep].astype(np.int64)})
    out["repeat_purchase"] = out["repeat_customers"] / out["customers"]
    return out


def half_year_log_changes(table: pd.DataFrame, periods: Sequence[str], key_column: str,
                          value_column: str) -> pd.DataFrame:
    """Each person's change from the first half of the cycle to the second, market movement taken out.

    For person i and key k (an indicator of the metrics table, a product of the sales table):
      H1, H2 = sums of ``value_column`` over the first and second half of ``periods``
      d0_ik  = log(H2_ik / H1_ik) - median over people of log(H2 / H1) for key k        [log scale, unitless]
    NaN where a half is missing or not positive. Returns a table indexed by employee_id (text) with one column
    per key present in the table. Used by target proposals (calibration) and by the simulation's individual
    shocks (review).
    """
    half = np.where(table["period"].astype(str) <= periods[len(periods) // 2 - 1], "h1", "h2")
    sums = (table.assign(_half=half)
            .groupby(["employee_id", key_column, "_half"], observed=True)[value_column].sum().unstack("_half"))
    keys = sums.index.get_level_values(key_column).unique() if len(sums) else []
    changes = {}
    for key in keys:
        if "h1" not in sums or "h2" not in sums:
            break
        sub = sums.xs(key, level=key_column)
        ok = (sub["h1"] > 0) & (sub["h2"] > 0)
        log_change = np.log(sub.loc[ok, "h2"] / sub.loc[ok, "h1"])
        changes[str(key)] = log_change - log_change.median()
    out = pd.DataFrame(changes)
    out.index = out.index.astype(str)
    return out
