"""Reading and validating a dataset against the data contract (DESIGN.md section 3).

``load_dataset(path, policy)`` reads a folder of CSV or Parquet files (one per table) or one Excel workbook
with a sheet per table, converts each column to its type, validates every table with pandera and the
cross-table rules against the policy, and returns a :class:`Dataset`. Every problem found is collected and
raised together in one :class:`compkit.DataError`: file, row as the user sees it (CSV line with the header as
line 1; Excel row with the header as row 1), column, value and what was expected.

What each table holds and which rules it obeys is in :mod:`compkit.contract` (one spec per table); the
aggregation of raw customer data into indicator values is in :mod:`compkit.aggregate`; both are re-exported
here under their former names.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import json
import os
import re
import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet
from pandas.arrays import ArrowStringArray

from compkit import i18n
from compkit._arrays import (  # noqa: F401
    any_codes,
    as_text,
    cat_codes,
    codes_used,
    dictionary_coded,
    isin,
    labelled_codes,
    positions,
    shared_labels,
    sorted_codes,
    texts_distinct,
)
from compkit._arrays import any_true as _any
from compkit._memory import reading_pool
from compkit._threads import in_background as _in_background
from compkit.aggregate import (  # noqa: F401 - re-exported
    complaint_stats,
    half_year_log_changes,
    loyalty,
    satisfaction_index,
)
from compkit.contract import (  # noqa: F401 - re-exported
    _CYCLE,
    ALONE,
    APPEAL_STATUSES,
    CATEGORICAL,
    COLUMNS,
    CONTRACT,
    KEYS,
    MANDATORY_TABLES,
    READS_SALES,
    REQUIRED,
    SURVEY_DIMENSIONS,
    TABLES,
    TableSpec,
    check_appeal_targets,
    check_coverage,
    cross_check_tables,
    cross_checks,
    cycle_periods,
    row_keys,
    rules_alone,
    schemas,
)
from compkit.errors import DataError, Problem
from compkit.i18n import M_
from compkit.policy import Policy

#: table -> text columns with millions of distinct values held as dictionary codes once validated
#: (:func:`compkit._arrays.dictionary_coded`: categories in order of first appearance, as Arrow text): the
#: aggregations (loyalty, repeat purchases) then count on integer codes instead of hashing every text
CODED: dict[str, tuple[str, ...]] = {"sales": ("customer_id",)}

#: tables whose ``period`` column (months YYYY-MM) is held, once validated, as an *ordered* categorical whose
#: categories are the cycle's months in order (:func:`coded_periods`): a small code per row instead of a text;
#: ``==``, ``<=`` against a month of the cycle, ``isin``, sorting and grouping give what they gave on the text
PERIOD_CODED: tuple[str, ...] = ("metrics", "sales")

_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


# ------------------------------------------------------------------------------------------ cycles


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
    dates are ``datetime64``, money and scores ``float64``, ``upheld`` bool, ids and labels strings.

    The eight original tables are fields; a table added to :data:`compkit.contract.CONTRACT` later is held in
    ``more`` and read the same way (``data.deductions``, ``data.table("deductions")``)."""

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
    more: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: rows set aside per table because they fall outside the (half-year) cycle: see set_aside_outside
    set_aside: dict[str, int] = field(default_factory=dict)

    def set_aside_note(self) -> str:
        """In plain words, the rows that fell outside the cycle and were set aside ("" when none)."""
        if not self.set_aside:
            return ""
        parts = ", ".join(f"{name} {n:,}" for name, n in self.set_aside.items())
        return (f"{sum(self.set_aside.values()):,} rows fell outside cycle {self.cycle} and were set aside "
                f"({parts})")
    #: doubtful rows accepted (or changed) as the policy's ``inputs`` options say, each naming the row
    notes: tuple[Problem, ...] = ()

    def __getattr__(self, name: str) -> pd.DataFrame:
        # only reached for names that are not fields: the contract's later tables
        more = self.__dict__.get("more")
        if more is not None and name in more:
            return more[name]
        if name in CONTRACT:
            return _empty_table(name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

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
        own = {f.name for f in fields(self)}
        more = {k: v for k, v in tables.items() if k not in own}
        unknown = sorted(set(more) - set(CONTRACT))
        if unknown:
            raise TypeError(f"not a table of the data contract: {', '.join(unknown)}")
        direct = {k: v for k, v in tables.items() if k in own}
        if more:
            direct["more"] = {**self.more, **more}
        return replace(self, **direct)

    def fingerprint(self) -> str:
        """sha256 over the content of every table: equal data, equal fingerprint. A table added to the contract
        later counts only when it has rows (so adding a table leaves the fingerprint of data without it as it was)."""
        h = hashlib.sha256(self.cycle.encode())
        for name in CONTRACT:
            df = self.table(name)
            if name not in _FIELD_TABLES and len(df) == 0:
                continue
            h.update(name.encode())
            h.update(pd.util.hash_pandas_object(df.astype("string"), index=False).values.tobytes())
        return h.hexdigest()

    def to_parquet(self, folder: str | Path, policy: Policy | None = None) -> list[Path]:
        """Write every table with rows as ``<table>.parquet`` into ``folder`` (created): the validated, typed
        columns (categoricals as dictionaries), which :func:`load_dataset` reads back fast and to the same
        fingerprint. For handing a validated copy to the review's notebooks; it holds personal data, so write it
        to a private or temporary folder, never under ``reports/``.

        With ``policy`` (the one these data were validated against), a manifest (:data:`VALIDATED`: the policy's
        fingerprint, the cycle, the rows set aside, the notes and the sha256 of each file) is written last, and
        ``load_dataset(folder, policy)`` then reads the copy back as it was, without validating it again, as long
        as the files are those written and the policy is the same (else it validates them in full)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name in CONTRACT:
            df = self.table(name)
            if len(df) == 0 and not CONTRACT[name].mandatory:
                continue
            target = folder / f"{name}.parquet"
            df.to_parquet(target, index=False)
            written.append(target)
        if policy is not None:
            _write_validated(self, folder, written, policy)
        return written

    def to_private_copy(self, folder: str | Path, policy: Policy, key: bytes) -> list[Path]:
        """Write these validated data into ``folder`` as a private copy for one review's notebooks: each table
        pickled as it is (``<table>.pickle``: every dtype, category and code kept), then a manifest
        (:data:`VALIDATED`, format 2: the policy's fingerprint, the cycle, the sha256 of every file) sealed with
        ``key`` (HMAC-SHA256, :func:`compkit.fingerprint.seal`). :func:`load_dataset` reads it back only when the
        environment variable :data:`COPY_KEY` holds that key (hex), as ``compkit review`` sets it for its
        notebooks: reading a pickle runs code, so a copy made by anyone else is refused, never unpickled.

        Reading it costs about a tenth of reading a Parquet copy (measured at 100,000 managers: 0.6-1.1 s of
        CPU with the sha256 checks against 9-10 s), which every notebook of a review does. Returns the files
        written (the manifest last)."""
        from compkit.fingerprint import dump_pickle, seal

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / VALIDATED).unlink(missing_ok=True)
        tables = {name: getattr(self, name) for name in _FIELD_TABLES} | dict(self.more)
        written, digests = [], {}
        for name, df in tables.items():
            target = folder / f"{name}.pickle"
            digests[name] = dump_pickle(df, target)
            written.append(target)
        meta = folder / "dataset.pickle"
        meta_sha = dump_pickle({"cycle": self.cycle, "source": self.source, "files": self.files,
                                "set_aside": self.set_aside, "notes": self.notes, "more": sorted(self.more)}, meta)
        written.append(meta)
        manifest = {"format": 2, "policy": policy.fingerprint(), "cycle": self.cycle, "tables": digests,
                    "dataset": meta_sha}
        (folder / VALIDATED).write_text(json.dumps({**manifest, "seal": seal(manifest, key)}), encoding="utf-8")
        return [*written, folder / VALIDATED]

    def summary(self) -> pd.DataFrame:
        """Rows per table, with the people and months they cover."""
        rows = []
        for name in CONTRACT:
            df = self.table(name)
            rows.append({"table": name, "rows": len(df),
                         "employees": df["employee_id"].nunique() if "employee_id" in df else 0,
                         "file": self.files.get(name, "(absent)")})
        return pd.DataFrame(rows)


#: the tables held as fields of :class:`Dataset`; later tables are in ``Dataset.more``
_FIELD_TABLES = ("employees", "metrics", "sales", "ratings", "surveys", "complaints", "history", "appeals")


# ------------------------------------------------------------------------------- a validated copy

#: the manifest of a validated copy (:meth:`Dataset.to_parquet` with a policy, :meth:`Dataset.to_private_copy`)
VALIDATED = ".compkit-validated.json"

#: the environment variable holding, in hex, the key of a review's private copy (:meth:`Dataset.to_private_copy`)
COPY_KEY = "COMPKIT_COPY_KEY"


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def _write_validated(data: Dataset, folder: Path, written: list[Path], policy: Policy) -> None:
    """The manifest of a validated copy; none when a note holds a value JSON cannot give back as it was (the
    copy is then validated again when read)."""
    plain = (str, int, float, bool, type(None))
    if not all(isinstance(v, plain) for n in data.notes for v in (n.file, n.row, n.column, n.value, n.expected)):
        return
    manifest = {
        "format": 1, "policy": policy.fingerprint(), "cycle": data.cycle, "source": data.source,
        "files": data.files, "set_aside": data.set_aside,
        "notes": [[n.file, n.row, n.column, n.value, n.expected] for n in data.notes],
        "tables": {f.stem: _file_digest(f) for f in written},
        # the dtype of each categorical column's categories (Parquet gives Python strings back as Arrow text)
        "categories": {f.stem: {c: str(t.categories.dtype) for c, t in data.table(f.stem).dtypes.items()
                                if isinstance(t, pd.CategoricalDtype)} for f in written},
    }
    (folder / VALIDATED).write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")


def _read_validated(path: Path, policy: Policy | None, cycle: str | None) -> Dataset | None:
    """The dataset of a validated copy (see :meth:`Dataset.to_parquet`) read back without validating it again:
    None unless ``path`` holds a manifest, the same policy (and cycle, if one is asked for), and exactly the
    files it lists with the contents it lists (sha256)."""
    manifest_file = path / VALIDATED
    if policy is None or not manifest_file.is_file():
        return None
    try:
        m = json.loads(manifest_file.read_text(encoding="utf-8"))
        if m.get("format") == 2:
            return _read_private_copy(path, m, policy, cycle)
        if m.get("format") != 1 or m["policy"] != policy.fingerprint() or cycle not in (None, m["cycle"]):
            return None
        found = {f.name for f in path.iterdir() if f.suffix in (".csv", ".parquet")}
        if found != {f"{name}.parquet" for name in m["tables"]}:
            return None
        if any(_file_digest(path / f"{name}.parquet") != digest for name, digest in m["tables"].items()):
            return None
        tables = {}
        for name in CONTRACT:
            if name not in m["tables"]:
                tables[name] = _empty_table(name)
                continue
            df = pd.read_parquet(path / f"{name}.parquet")
            for col, dtype in m["categories"][name].items():
                if not isinstance(df[col].dtype, pd.CategoricalDtype):  # no value at all: read back plain
                    df[col] = pd.Series(pd.Categorical(df[col].astype(object)), index=df.index)
                cats = df[col].cat.categories
                if str(cats.dtype) != dtype:
                    cats = pd.Index(np.asarray(cats, dtype=object), dtype=object) if dtype == "object" else \
                        cats.astype(dtype)
                    df[col] = pd.Series(pd.Categorical.from_codes(df[col].cat.codes, categories=cats),
                                        index=df.index)
            tables[name] = df
    except (OSError, ValueError, KeyError, TypeError, AttributeError, pyarrow.ArrowException):
        return None  # not a copy this compkit wrote: validated in full
    for name, spec in CONTRACT.items():  # the absent tables as load_dataset makes them
        if name not in m["tables"]:
            for col, column in spec.columns.items():
                if column.default is not None:
                    tables[name][col] = tables[name][col].fillna(column.default)
                if column.categorical:
                    tables[name][col] = _categorical(tables[name][col])
    for name in PERIOD_CODED:  # Parquet keeps the months' categories but not their order: made ordered again
        if name in m["tables"]:
            tables[name]["period"] = coded_periods(tables[name]["period"], cycle_periods(m["cycle"]))
    more = {name: tables.pop(name) for name in list(tables) if name not in _FIELD_TABLES}
    return Dataset(**tables, cycle=m["cycle"], source=m["source"], files=m["files"], more=more,
                   set_aside=m["set_aside"], notes=tuple(Problem(*n) for n in m["notes"]))


def _read_private_copy(path: Path, m: dict, policy: Policy, cycle: str | None) -> Dataset:
    """The dataset of a private copy (:meth:`Dataset.to_private_copy`), as it was written. Raises DataError when
    the manifest is not sealed with the key in :data:`COPY_KEY` (nothing is unpickled then), when it was validated
    under another policy or cycle, or when a file is not the one written."""
    import os

    from compkit.fingerprint import load_pickle, sealed

    def refuse(expected: i18n.Message) -> DataError:
        return DataError([Problem(str(path / VALIDATED), None, None, None, expected)], str(path))

    body = {k: v for k, v in m.items() if k != "seal"}
    try:
        key = bytes.fromhex(os.environ.get(COPY_KEY, ""))
    except ValueError:
        key = b""
    if not key or not sealed(body, m.get("seal", ""), key):
        raise refuse(M_("the data folder itself: this is a private copy of validated data that only the compkit "
                        "review which wrote it can read"))
    if m["policy"] != policy.fingerprint() or cycle not in (None, m["cycle"]):
        raise refuse(M_("the policy and cycle this private copy was validated under (to validate the data under "
                        "another, give the data folder itself)"))
    changed = M_("the files the review wrote, unchanged (a file of this private copy changed after it was written)")
    meta = load_pickle(path / "dataset.pickle", m["dataset"])
    if meta is None or not all((path / f"{name}.pickle").is_file() for name in m["tables"]):
        raise refuse(changed)
    more = {name: load_pickle(path / f"{name}.pickle", m["tables"][name]) for name in meta["more"]}
    if any(t is None for t in more.values()):
        raise refuse(changed)
    pending = {name: (path / f"{name}.pickle", digest, refuse(changed)) for name, digest in m["tables"].items()
               if name not in more}
    return _PrivateCopy.read(pending, cycle=meta["cycle"], source=meta["source"], files=meta["files"], more=more,
                             set_aside=meta["set_aside"], notes=meta["notes"])


class _PrivateCopy(Dataset):
    """A :class:`Dataset` read from a review's private copy whose eight large tables (the fields: employees,
    metrics, sales, ratings ...) are unpickled when first used, each checked against the sealed manifest's sha256
    then (a file changed since raises the DataError :func:`_read_private_copy` raises), so a notebook holds only
    the tables it uses (the fairness notebook: employees and ratings, about 0.2 of the 1.6 GB of every table at
    100,000 managers). The same tables, dtypes and values as reading them all at once; the later tables
    (``more``) are read at once (small). Before the process forks (:func:`compkit.parallel.fork_map`) every table
    not yet read is read, so forked workers share the parent's pages instead of each reading its own; a table is
    read once however many threads ask for it."""

    @classmethod
    def read(cls, pending: dict[str, tuple[Path, str, DataError]], **meta: object) -> _PrivateCopy:
        import threading

        copy = object.__new__(cls)
        for key, value in meta.items():
            object.__setattr__(copy, key, value)
        object.__setattr__(copy, "_pending", dict(pending))
        object.__setattr__(copy, "_lock", threading.Lock())
        _PENDING_COPIES[id(copy)] = copy
        return copy

    def __getattr__(self, name: str) -> pd.DataFrame:
        pending = self.__dict__.get("_pending")
        if pending is None or name not in pending and name not in self.__dict__:
            return super().__getattr__(name)
        from compkit.fingerprint import load_pickle

        with self.__dict__["_lock"]:
            if name not in self.__dict__:
                path, digest, error = pending[name]
                table = load_pickle(path, digest)
                if table is None:
                    raise error
                object.__setattr__(self, name, table)
                del pending[name]
        return self.__dict__[name]

    def read_all(self) -> None:
        """Read every table not read yet."""
        for name in list(self.__dict__.get("_pending", ())):
            getattr(self, name)

    def __getstate__(self) -> dict:
        self.read_all()  # pickled or copied whole, as a Dataset
        return {k: v for k, v in self.__dict__.items() if k not in ("_pending", "_lock")}


#: the private copies with tables not read yet: read before the process forks (see :class:`_PrivateCopy`)
_PENDING_COPIES: weakref.WeakValueDictionary = weakref.WeakValueDictionary()  # by id: a Dataset is not hashable


def _read_before_fork() -> None:
    for copy in list(_PENDING_COPIES.values()):
        try:
            copy.read_all()
        except Exception:  # noqa: BLE001 - a worker that uses the table then reads it and raises itself
            pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_read_before_fork)


# ----------------------------------------------------------------------------------------- reading


def _file_label(path: Path) -> str:
    return str(path)


def _read_raw(path: Path, encoding: str | None = None
              ) -> tuple[dict[str, pd.DataFrame], dict[str, str], dict[str, int], list[Problem]]:
    """Read every table as text (object columns, None for empty cells); CSV files in ``encoding`` or, by default,
    UTF-8 (with or without BOM) or else GB18030 (see :func:`read_csv_text`).

    Returns (tables, file label per table, offset from index to the row the user sees, problems).
    """
    tables: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    offsets: dict[str, int] = {}
    problems: list[Problem] = []
    if not path.exists():
        return tables, files, offsets, [Problem(str(path), None, None, None,
                                                M_("a folder of CSV/Parquet files or an Excel workbook (.xlsx)"))]
    if path.is_file():
        if path.suffix.lower() not in (".xlsx", ".xlsm"):
            return tables, files, offsets, [Problem(str(path), None, None, None,
                                                    M_("a folder of CSV/Parquet files or an Excel workbook (.xlsx)"))]
        try:
            sheets = pd.read_excel(path, sheet_name=None, dtype=object, engine="openpyxl")
        except Exception as err:  # noqa: BLE001 - any reader failure is reported as unreadable
            return tables, files, offsets, [Problem(str(path), None, None, None,
                                                    M_("a readable Excel workbook ({error})",
                                                       error=f"{type(err).__name__}: {err}"))]
        for sheet, df in sheets.items():
            name = str(sheet).strip().lower()
            if name in CONTRACT:
                tables[name] = df
                files[name] = M_("{path} [sheet {sheet}]", path=str(path), sheet=sheet)
                offsets[name] = 2
        return tables, files, offsets, problems
    for name in CONTRACT:
        df, label, found_problems = _read_one(path, name, encoding)
        problems.extend(found_problems)
        if df is not None:
            tables[name] = df
            files[name] = label
            offsets[name] = 2
    return tables, files, offsets, problems


def _read_one(folder: Path, name: str, encoding: str | None) -> tuple[pd.DataFrame | None, str, list[Problem]]:
    """(table or None, file label, problems) of table ``name`` in a folder: its CSV or Parquet file (None and no
    problem when it has neither)."""
    candidates = [folder / f"{name}.csv", folder / f"{name}.parquet"]
    found = [c for c in candidates if c.exists()]
    if len(found) > 1:
        return None, "", [Problem(str(folder), None, None, None,
                                  M_("one file for table {table}, found both {first} and {second}", table=name,
                                     first=found[0].name, second=found[1].name))]
    if not found:
        return None, "", []
    f = found[0]
    try:
        if f.suffix == ".csv":
            df = _read_csv_typed(f, name, encoding)
            if df is None:  # not a clean file: read as text, so that every problem is found and named
                df = read_csv_text(f, encoding)
        else:
            df = _read_parquet(f, **_parquet_options(f, name))
    except pd.errors.EmptyDataError:
        df = pd.DataFrame()
    except _Unreadable as err:
        return None, "", [err.problem]
    except Exception as err:  # noqa: BLE001
        return None, "", [Problem(str(f), None, None, None, M_("a readable file ({error})",
                                                                 error=f"{type(err).__name__}: {err}"))]
    semicolons = _semicolon_hint(df, f)
    if semicolons is not None:
        return None, "", [semicolons]
    return df, _file_label(f), []


#: encodings tried in turn when none is given: UTF-8 (a BOM is skipped), then GB18030 (a superset of GBK and
#: GB2312), which Excel on Chinese Windows writes for "CSV (逗号分隔)"
ENCODINGS = ("utf-8-sig", "gb18030")


#: Arrow types of the contract's columns for the typed CSV read; ids and labels held as categoricals are read as
#: dictionaries (a code per row, each distinct text once), other text as Arrow strings
_ARROW_TYPES = {"float": pyarrow.float64(), "date": pyarrow.date32()}


def _read_csv_typed(file: Path, table: str, encoding: str | None) -> pd.DataFrame | None:
    """A clean CSV file read by Arrow's multi-threaded reader straight into typed columns: numbers as float64,
    dates as dates, categorical ids and labels as dictionaries, other text as Arrow strings (no Python object per
    cell). Returns None when the file is not clean (a value that does not convert, an infinite or NaN number, text
    that does not decode, a ';' separator...): the caller then reads it as text and names each problem.

    Encoding: ``encoding``, else UTF-8 (a BOM is skipped), else GB18030 (decoded through Python's codec: slower)."""
    header = _csv_header(file, encoding)
    if header is None:
        return None
    names, enc = header
    if len(set(names)) != len(names) or (len(names) == 1 and ";" in names[0]):
        return None
    spec = CONTRACT[table]
    types = {}
    dictionary = pyarrow.dictionary(pyarrow.int32(), pyarrow.string())
    for name in names:
        column = spec.columns.get(name.strip())
        if column is not None and column.kind in _ARROW_TYPES:
            types[name] = _ARROW_TYPES[column.kind]
        elif column is not None and (column.categorical or column.kind == "period"):
            types[name] = dictionary  # ids, labels and months: a code per row, each distinct text once
        else:
            types[name] = pyarrow.string()
    # the contract's other text columns with few distinct texts in the first rows (deposit types, payment terms,
    # cycles, channels) are read as dictionaries too, checked on their distinct texts and decoded once checked
    others = [name for name in names if types[name] == pyarrow.string() and name.strip() in spec.columns
              and spec.columns[name.strip()].kind == "str" and name.strip() not in CODED.get(table, ())]
    for name in _few_distinct(file, names, others, enc):
        types[name] = dictionary
    read = pacsv.ReadOptions(column_names=names, skip_rows=1, encoding=enc, block_size=1 << 24)
    convert = pacsv.ConvertOptions(column_types=types, null_values=[""], strings_can_be_null=True,
                                   quoted_strings_can_be_null=True, true_values=[], false_values=[])
    try:
        # (Arrow's buffers from a pool of their own: compkit._memory.reading_pool)
        arrow = pacsv.read_csv(file, read_options=read, convert_options=convert, memory_pool=reading_pool())
    except (pyarrow.ArrowInvalid, pyarrow.ArrowNotImplementedError, UnicodeDecodeError, LookupError):
        return None
    for name in names:
        if types[name] == pyarrow.float64() and arrow.num_rows:
            values = arrow.column(name)
            if _any(pc.is_nan(values)) or _any(pc.greater_equal(pc.abs(values), MAX_MAGNITUDE)):
                return None  # 'nan', 'inf' or a huge number written out: read as text so that the message shows it
    return _writeable(arrow.to_pandas(split_blocks=True, self_destruct=True, date_as_object=False))


def _writeable(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with each column that Arrow handed over without a copy (a single chunk of numbers or dates without a
    missing value: its read-only buffer) copied into an array of its own, so that every column of a loaded table
    can be changed in place (``data.employees.loc[i, "fte"] = 0.8``) as pandas' own readers allow. Only small
    tables are read in one chunk; a column of several chunks is copied by the conversion itself."""
    for i in range(df.shape[1]):  # (by position: a file may repeat a column's name; the checks name it then)
        column = df.iloc[:, i]
        values = getattr(column.array, "_ndarray", None)  # numbers and dates: the numpy array pandas holds
        if isinstance(values, np.ndarray) and not values.flags.writeable:
            df.isetitem(i, column.copy())
    return df


def _few_distinct(file: Path, names: list[str], columns: list[str], encoding: str) -> list[str]:
    """Those of ``columns`` whose values in the first rows of a CSV file (about 1 MB) have at most
    :data:`_DICTIONARY_SHARE` distinct texts per row (judged as text; none when that part does not parse)."""
    if not columns:
        return []
    with open(file, "rb") as fh:
        fh.readline(1 << 20)  # the header
        head = fh.read(1 << 20)
    head = head[:head.rfind(b"\n") + 1]
    if not head:
        return []
    try:
        sample = pacsv.read_csv(pyarrow.py_buffer(head), read_options=pacsv.ReadOptions(
            column_names=names, encoding=encoding, use_threads=False), convert_options=pacsv.ConvertOptions(
            column_types={name: pyarrow.string() for name in names}, include_columns=columns,
            null_values=[""], strings_can_be_null=True))
    except (pyarrow.ArrowInvalid, pyarrow.ArrowNotImplementedError, UnicodeDecodeError, LookupError):
        return []
    return [name for name in columns
            if pc.count_distinct(sample.column(name)).as_py() <= _DICTIONARY_SHARE * max(sample.num_rows, 1)]


def _csv_header(file: Path, encoding: str | None) -> tuple[list[str], str] | None:
    """(column names, encoding for Arrow) from the first line of a CSV file; None when it does not decode."""
    with open(file, "rb") as fh:
        first = fh.readline(1 << 20)
    if not first.strip():
        return None
    for enc in ([encoding] if encoding else ["utf-8", "gb18030"]):
        try:
            text = first.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
        text = text.removeprefix("\ufeff")
        names = next(csv.reader([text.rstrip("\r\n")]), None)
        if not names:
            return None
        # Arrow reads UTF-8 itself (the BOM, if any, is in the header line it skips); other encodings are decoded
        # through Python's codec
        return names, ("utf8" if codecs.lookup(enc).name == "utf-8" else enc)
    return None


class _Unreadable(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def read_csv_text(file: Path, encoding: str | None = None) -> pd.DataFrame:
    """A CSV file as text columns (None for empty cells), decoded as ``encoding`` or else as the first of
    :data:`ENCODINGS` that decodes the whole file. Raises ``_Unreadable`` with the problem to report."""
    tried = [encoding] if encoding else list(ENCODINGS)
    failure: UnicodeDecodeError | None = None
    for enc in tried:
        try:
            df = pd.read_csv(file, dtype=str, keep_default_na=False, encoding=enc)
        except UnicodeDecodeError as err:
            failure = err
            continue
        except LookupError:
            raise _Unreadable(Problem(str(file), None, None, encoding,
                                      M_("an encoding Python knows (e.g. utf-8, gb18030, gbk)"))) from None
        return df.replace({"": None})
    what = " or ".join("UTF-8" if e in ("utf-8-sig", "utf-8", "utf8") else e.upper() for e in tried)
    line, found = _first_undecodable(file, tried[0]) if failure is not None else (None, None)
    raise _Unreadable(Problem(str(file), line, None, found,
                              M_("a text file in {encodings} (these bytes do not decode; name the file's encoding "
                                 "with --encoding, e.g. --encoding gbk)", encodings=what)))


def _first_undecodable(file: Path, encoding: str) -> tuple[int | None, bytes | None]:
    """(line number, a few bytes around the first that do not decode in ``encoding``), reading line by line."""
    decoder = codecs.getincrementaldecoder(encoding)()
    with open(file, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            try:
                decoder.decode(line)
            except UnicodeDecodeError as err:
                return number, line[max(err.start - 3, 0):err.end + 3]
    return None, None


def _semicolon_hint(df: pd.DataFrame, file: Path) -> Problem | None:
    """A problem when a CSV file was read as one column whose name holds semicolons (a file saved with ';' as
    the separator, as Excel does in some locales)."""
    if len(df.columns) != 1 or ";" not in str(df.columns[0]):
        return None
    return Problem(str(file), 1, None, str(df.columns[0])[:60],
                   M_("columns separated by commas (this file seems to use ';': save it as \"CSV UTF-8 (逗号分隔)\")"))


#: a text column is read as a dictionary when its first rows (at most :data:`_SAMPLE_ROWS`) have at most this many
#: distinct texts per row
_DICTIONARY_SHARE = 0.1
_SAMPLE_ROWS = 65_536


def _read_parquet(file: Path, **options: object) -> pd.DataFrame:
    """``pd.read_parquet(file, **options)``, the same frame, with the columns read as dictionaries made one chunk
    per dictionary before pandas makes them categoricals (:func:`_one_chunk_per_dictionary`), and the file read
    without Arrow's pre-buffering."""
    try:
        from pandas.io._util import arrow_table_to_pandas  # what pd.read_parquet itself converts with
    except ImportError:  # pragma: no cover - another pandas
        return pd.read_parquet(file, **options)
    # pre_buffer off: a local file is read page by page where it lies, without first copying whole column
    # chunks into buffers of their own (about a fifth of the reading's CPU at 100,000 managers: sales 1.13 ->
    # 0.91 s, metrics 0.35 -> 0.30 s, least of five each)
    table = pyarrow.parquet.read_table(file, use_pandas_metadata=True, pre_buffer=False, **options)
    meta = table.schema.metadata or {}
    # a block per column, as the CSV reader's frames (no copy of the number columns into one 2-D block: at 100,000
    # managers 0.47 -> 0.29 s of CPU for the metrics and sales tables), each column's Arrow buffers let go once
    # converted
    df = _writeable(arrow_table_to_pandas(_one_chunk_per_dictionary(table),
                                          to_pandas_kwargs={"split_blocks": True, "self_destruct": True}))
    del table
    if b"PANDAS_ATTRS" in meta:  # as pd.read_parquet
        df.attrs = json.loads(meta[b"PANDAS_ATTRS"])
    return df


def _one_chunk_per_dictionary(table: pyarrow.Table) -> pyarrow.Table:
    """``table`` with each dictionary column's consecutive chunks that share one dictionary made one chunk (their
    codes put end to end). Arrow reads a Parquet row group in batches that all carry the row group's dictionary,
    and making a categorical of the column unifies the dictionaries batch by batch, hashing the same dictionary
    again for every batch (at 100,000 managers: the 76,000 rater ids 33 times). The same values, the same
    dictionaries in the same order: the categorical pandas makes of it is the same."""
    columns, changed = [], False
    for column in table.columns:
        if pyarrow.types.is_dictionary(column.type) and column.num_chunks > 1:
            groups: list[tuple[pyarrow.Array, list[pyarrow.Array]]] = []
            for chunk in column.chunks:
                if groups and chunk.dictionary.equals(groups[-1][0]):
                    groups[-1][1].append(chunk.indices)
                else:
                    groups.append((chunk.dictionary, [chunk.indices]))
            if len(groups) < column.num_chunks:
                column = pyarrow.chunked_array(
                    # (codes of the reader's own dictionary: not checked against it again)
                    [pyarrow.DictionaryArray.from_arrays(pyarrow.concat_arrays(codes), dictionary, safe=False)
                     for dictionary, codes in groups], type=column.type)
                changed = True
        columns.append(column)
    return pyarrow.Table.from_arrays(columns, schema=table.schema) if changed else table


def _parquet_options(file: Path, table: str) -> dict[str, list[str]]:
    """Read the text columns with few distinct values as Arrow dictionaries: a code per row and each distinct
    text once, rather than millions of strings (cleaned and checked on the distinct texts: see
    :func:`_clean_categorical`): the id and label columns that become categoricals (:data:`CATEGORICAL`), the
    months, and the contract's other text columns (deposit types, payment terms, cycles, channels), which are
    decoded back to Arrow text once checked. The latter only when they have few distinct texts (judged on the
    first rows): a dictionary of millions of deal ids would cost more than it saves."""
    spec = CONTRACT[table]
    wanted = {c for c, column in spec.columns.items() if column.kind in ("str", "period")} - set(CODED.get(table, ()))
    if not wanted:
        return {}
    schema = pyarrow.parquet.read_schema(file)
    candidates = [name for name, kind in zip(schema.names, schema.types) if str(name).strip() in wanted
                  and (pyarrow.types.is_string(kind) or pyarrow.types.is_large_string(kind))]
    if not candidates:
        return {}
    # ids and labels held as categoricals, and months: always (their texts repeat over millions of rows)
    columns = [name for name in candidates if str(name).strip() in spec.categorical
               or spec.columns[str(name).strip()].kind == "period"]
    others = [name for name in candidates if name not in columns]
    parquet = pyarrow.parquet.ParquetFile(file, read_dictionary=others)
    if not others or parquet.metadata.num_row_groups == 0 or parquet.metadata.num_rows == 0:
        return {"read_dictionary": columns} if columns else {}
    # the first rows only (decoding a whole row group of deal ids as a dictionary costs more than it tells)
    sample = next(parquet.iter_batches(batch_size=_SAMPLE_ROWS, columns=others, row_groups=[0]), None)
    for name, column in zip(others, sample.columns if sample is not None else []):
        distinct = len(pc.unique(column.indices)) if pyarrow.types.is_dictionary(column.type) else \
            len(pc.unique(column))
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
        if not _may_need_cleaning(arrow):
            return out
        if not _any(pc.not_equal(pc.utf8_trim_whitespace(arrow), arrow)) and not _any(pc.equal(arrow, "")):
            return out
    out = out.str.strip()
    return out.mask(out == "")


def _may_need_cleaning(arrow: pyarrow.ChunkedArray) -> bool:
    """Whether some value of an Arrow text column may be empty or begin or end with a blank: False when every
    value present is non-empty and its first and last bytes are printable ASCII other than the space (a blank of
    any kind, ASCII or Unicode, is a byte below 0x21 or starts or ends with a byte of 0x80 or more). One pass over
    the offsets and two gathers, instead of a trimmed copy of the column (ids: millions of ASCII codes)."""
    for chunk in arrow.chunks:
        n = len(chunk)
        if n == 0:
            continue
        if not (pyarrow.types.is_string(chunk.type) or pyarrow.types.is_large_string(chunk.type)):
            return True
        validity, offsets_buffer, data = chunk.buffers()
        width = np.int64 if pyarrow.types.is_large_string(chunk.type) else np.int32
        offsets = np.frombuffer(offsets_buffer, dtype=width)[chunk.offset:chunk.offset + n + 1]
        lengths = np.diff(offsets)
        present = lengths > 0
        if chunk.null_count:
            valid = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
            valid = valid[chunk.offset:chunk.offset + n].astype(bool)
            if (valid & ~present).any():
                return True  # an empty text
            present &= valid
        elif not present.all():
            return True
        if not present.any():
            continue
        b = np.frombuffer(data, dtype=np.uint8)
        if present.all():  # (the usual case: every text's first and last byte read by its offsets, no subsets)
            edges = (b[offsets[:-1]], b[offsets[1:] - 1])
        else:
            starts = offsets[:-1][present]
            edges = (b[starts], b[starts + lengths[present] - 1])
        for edge in edges:
            if edge.min() < 0x21 or edge.max() >= 0x7F:  # (two passes without a temporary array)
                return True
    return False


def _coerce(df: pd.DataFrame, table: str, file: str, offset: int, problems: list[Problem],
            final: set[str] | None = None) -> pd.DataFrame:
    """Convert each contract column to its type, reporting every value that does not convert. ``final`` (when
    given) receives the text columns made categoricals as :func:`_categorical` makes them (read as dictionaries:
    :func:`_clean_categorical`), which need no second look."""
    out = df.copy(deep=False)  # columns are replaced, never written to: no need to copy the data
    for col, kind in CONTRACT[table].kinds.items():
        if col not in out.columns:
            continue
        raw = out[col]
        if kind == "str":
            # numbers read from Excel or Parquet come back as 12.0; keep integral ids readable
            if raw.dtype.kind in "fi":
                text = raw.map(lambda v: None if pd.isna(v) else (str(int(v)) if float(v).is_integer() else str(v)))
                text = text.astype("string")
            elif isinstance(raw.dtype, pd.CategoricalDtype) and _text_categories(raw):
                text = _clean_categorical(raw)  # read as a dictionary: clean the distinct texts only
                if final is not None:
                    final.add(col)
            else:
                text = _clean_text(raw)
            _check_text(text, col, file, offset, problems)
            out[col] = text  # (a column read as a dictionary but held as text is decoded by _check_table)
            continue
        if kind == "float":
            if raw.dtype.kind in "fi":  # already numbers (Parquet, Excel): no text to parse
                values = raw.astype("float64")
                bad = None
            else:
                text = _clean_text(raw)
                values, comma = _parse_numbers(text)
                bad = text.notna() & values.isna() & ~comma
                for idx in np.flatnonzero(comma.to_numpy(dtype=bool)):
                    found = str(raw.iloc[idx])
                    problems.append(Problem(file, int(idx) + offset, col, found,
                                            M_("a number with '.' as the decimal point and ',' only between "
                                               "thousands (a decimal comma? write {number})",
                                               number=_decimal_point(found))))
                values = values.mask(comma)
            _check_magnitude(values, raw, col, file, offset, problems)
            expected = M_("a number")
        elif kind == "date":
            if pd.api.types.is_datetime64_any_dtype(raw):
                values = raw.astype("datetime64[ns]")
                bad = None
            else:
                text = _clean_text(raw)
                head = text.str.slice(0, 10)  # Excel gives '2025-01-05 00:00:00'
                values = pd.to_datetime(head, format="%Y-%m-%d", errors="coerce").astype("datetime64[ns]")
                bad = text.notna() & values.isna()
            expected = M_("a date YYYY-MM-DD")
        elif kind == "period" and isinstance(raw.dtype, pd.CategoricalDtype) and _text_categories(raw):
            # read as a dictionary: the few distinct months are cleaned and checked, the rows keep their codes
            values, bad = _months_of_categories(_clean_categorical(raw))
            expected = M_("a month YYYY-MM")
        elif kind == "period":
            text = _clean_text(raw)
            head = _slice(text, 7)
            if _all_periods(head):  # the few distinct months checked, not every row
                values, bad = head, None
            else:
                ok = head.fillna("").str.match(_PERIOD.pattern)
                values = head if ok.all() else head.where(ok)
                bad = text.notna() & ~ok
            expected = M_("a month YYYY-MM")
        elif kind == "bool":
            text = _clean_text(raw)
            low = text.str.lower()
            values = pd.Series(pd.NA, index=raw.index, dtype="boolean")
            values[low.isin(_TRUE).fillna(False)] = True
            values[low.isin(_FALSE).fillna(False)] = False
            bad = text.notna() & values.isna()
            expected = M_("true or false")
        else:  # pragma: no cover - contract typo
            raise AssertionError(kind)
        if bad is not None:
            for idx in np.flatnonzero(bad.to_numpy()):
                problems.append(Problem(file, int(idx) + offset, col, raw.iloc[idx], expected))
        out[col] = values
    return out


#: ids longer than this are refused (a bank's ids are short codes; a long one is a pasted text or an attack)
MAX_ID_LENGTH = 64
#: no bank has an amount this large in magnitude (CNY); larger figures are typos or overflow
MAX_MAGNITUDE = 1e15
_THOUSANDS = r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$"


def _parse_numbers(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(numbers, decimal-comma mask) of a text column. A comma is read only as a thousands separator
    (``1,234,567.89``); a value that would parse but has a comma elsewhere (``7.594,00``, ``0,5``) is ambiguous:
    it is flagged in the mask (and its number is not to be used)."""
    comma = pd.Series(False, index=text.index)
    if not _has_byte(text, b","):
        return pd.to_numeric(text, errors="coerce").astype("float64"), comma
    values = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce").astype("float64")
    has = text.str.contains(",", regex=False).to_numpy(dtype=bool, na_value=False)
    thousands = text.str.match(_THOUSANDS).to_numpy(dtype=bool, na_value=False)
    comma = pd.Series(has & ~thousands & values.notna().to_numpy(dtype=bool), index=text.index)
    return values, comma


def _decimal_point(found: str) -> str:
    """The reading of a decimal-comma number with a decimal point: '7.594,00' -> '7594.00', '0,5' -> '0.5'."""
    return found.strip().replace(".", "").replace(" ", "").replace(",", ".")


def _check_magnitude(values: pd.Series, raw: pd.Series, col: str, file: str, offset: int,
                     problems: list[Problem]) -> None:
    """Infinite values and magnitudes of :data:`MAX_MAGNITUDE` or more are problems (shown as found in ``raw``)."""
    a = values.to_numpy(dtype="float64", na_value=np.nan)
    if len(a) == 0:
        return
    hi, lo = np.fmax.reduce(a), np.fmin.reduce(a)  # the largest and smallest present (NaN: none present)
    if np.isnan(hi) or (-MAX_MAGNITUDE < lo and hi < MAX_MAGNITUDE):
        return  # two passes without a temporary array (the usual case: every figure in range)
    with np.errstate(invalid="ignore"):
        big = np.abs(a) >= MAX_MAGNITUDE  # NaN compares False; inf is caught here
    if not big.any():
        return
    for idx in np.flatnonzero(big):
        v = float(a[idx])
        expected = (M_("a finite number") if np.isinf(v) else
                    M_("a number below {limit:.0e} in magnitude (no bank's figure is that large)", limit=MAX_MAGNITUDE))
        found = raw.iloc[idx]
        problems.append(Problem(file, int(idx) + offset, col, found.strip() if isinstance(found, str) else v,
                                expected))


def _has_byte(text: pd.Series, byte: bytes) -> bool:
    """Whether any value of a text column may contain ``byte`` (one pass over the Arrow data buffers; True when
    the column is not Arrow text, so the caller then checks value by value)."""
    if not isinstance(text.array, ArrowStringArray):
        return True
    code = byte[0]
    for chunk in text.array.__arrow_array__().chunks:
        data = chunk.buffers()[2]
        if data is not None and code in memoryview(data):
            return True
    return False


def _control_bytes(text: pd.Series) -> bool:
    """Whether any value of an Arrow text column may hold a control character (U+0000-U+001F, U+007F): those are
    single bytes in UTF-8, found in one vectorised pass over the data buffers."""
    if not isinstance(text.array, ArrowStringArray):
        return True
    for chunk in text.array.__arrow_array__().chunks:
        data = chunk.buffers()[2]
        if data is None:
            continue
        b = np.frombuffer(data, dtype=np.uint8)
        # two fast passes without a temporary array; a DEL (0x7F) is looked for only when some byte is that
        # high (text beyond ASCII): no copy of the buffer for ids
        if len(b) and (b.min() < 0x20 or b.max() >= 0x7F and bytes(data).find(b"\x7f") >= 0):
            return True
    return False


def _longest_bytes(text: pd.Series) -> float:
    """The longest value of an Arrow text column in bytes, from its offsets (no pass over the texts); +inf when
    the column is not Arrow text."""
    if not isinstance(text.array, ArrowStringArray):
        return float("inf")
    longest = 0
    for chunk in text.array.__arrow_array__().chunks:
        if len(chunk) == 0:
            continue
        width = np.int64 if pyarrow.types.is_large_string(chunk.type) else np.int32
        offsets = np.frombuffer(chunk.buffers()[1], dtype=width)[chunk.offset:chunk.offset + len(chunk) + 1]
        longest = max(longest, int(np.diff(offsets).max()))
    return longest


def _check_text(text: pd.Series, col: str, file: str, offset: int, problems: list[Problem]) -> None:
    """Control characters (NUL, tab, newline, ...) are refused in every text column; an id column (``*_id``)
    holds at most :data:`MAX_ID_LENGTH` characters. A categorical column is checked on its distinct texts."""
    is_id = col.endswith("_id")
    if isinstance(text.dtype, pd.CategoricalDtype):
        labels = pd.Series(np.asarray(text.cat.categories, dtype=object), dtype="string")
        codes = cat_codes(text)
    else:
        labels, codes = text, None
    control = None
    if _control_bytes(labels):
        control = labels.str.contains(r"[\x00-\x1f\x7f]", regex=True).to_numpy(dtype=bool, na_value=False)
    long = None
    if is_id and _longest_bytes(labels) > MAX_ID_LENGTH:  # a character is at least one byte
        lengths = labels.str.len().to_numpy(dtype="float64", na_value=0)
        if len(lengths) and lengths.max() > MAX_ID_LENGTH:
            long = lengths > MAX_ID_LENGTH
    for mask, expected in ((control, M_("text without control characters (NUL, tab, line breaks: U+0000 to U+001F, "
                                        "U+007F)")),
                           (long, M_("an id of at most {n} characters", n=MAX_ID_LENGTH))):
        if mask is None or not mask.any():
            continue
        rows = np.flatnonzero(mask if codes is None else np.append(mask, False)[codes])
        for idx in rows:
            value = str(text.iloc[idx])
            shown = value if len(value) <= 40 else M_("{start}... ({n} characters)", start=value[:40], n=len(value))
            problems.append(Problem(file, int(idx) + offset, col, shown, expected))


def _text_categories(values: pd.Series) -> bool:
    """Whether a categorical column's categories are texts (a column read as a dictionary)."""
    return pd.api.types.infer_dtype(values.cat.categories, skipna=True) in ("string", "empty")


def _months_of_categories(text: pd.Series) -> tuple[pd.Series, pd.Series | None]:
    """(months, rows that are not a month) of a cleaned categorical text column, worked out on its categories as
    the text path does on every row: the first 7 characters of each text, kept when they are a month YYYY-MM
    (else missing and the row flagged). The months are an ordered categorical of the sorted distinct months."""
    categories = pd.Series(np.asarray(text.cat.categories, dtype=object), dtype="string")
    head = categories.str.slice(0, 7)
    ok = head.str.match(_PERIOD.pattern).to_numpy(dtype=bool, na_value=False)
    new_code, months = pd.factorize(head.where(ok), sort=True)  # per category; not a month -> -1
    codes = cat_codes(text)
    # each row's month looked up by its category's code, in the codes' own width (a missing row's -1 takes the
    # trailing -1); a table of the few months, no wider copy of the codes
    row_code = np.append(new_code, -1).astype(codes.dtype)[codes]
    dtype = pd.CategoricalDtype(pd.Index(np.asarray(months, dtype=object), dtype=object), ordered=True)
    values = pd.Series(pd.Categorical.from_codes(row_code, dtype=dtype, validate=False), index=text.index,
                       copy=False)
    bad = None
    if not ok.all():
        bad = pd.Series((codes >= 0) & ~np.append(ok, True)[codes], index=text.index)
    return values, bad


def _all_periods(text: pd.Series) -> bool:
    """Whether every value of an Arrow text column is a month YYYY-MM or missing, judged on its distinct values."""
    if not isinstance(text.array, ArrowStringArray):
        return False
    distinct = pc.drop_null(pc.unique(text.array.__arrow_array__()))
    return bool(pc.all(pc.match_substring_regex(distinct, _PERIOD.pattern)).as_py() is not False)


def _slice(text: pd.Series, n: int) -> pd.Series:
    """``text.str.slice(0, n)``; the column itself (no copy) when no value is longer than ``n`` characters."""
    if isinstance(text.array, ArrowStringArray):
        longest = pc.max(pc.utf8_length(text.array.__arrow_array__())).as_py()
        if longest is None or longest <= n:
            return text
    return text.str.slice(0, n)


def _schema_problems(df: pd.DataFrame, table: str, policy: Policy | None, file: str, offset: int) -> list[Problem]:
    """The value checks of table ``table``'s columns (:meth:`compkit.contract.TableSpec.value_checks`): first
    each on whole arrays (:meth:`compkit._checks.Check.passes`); only when one of them does not pass is the table
    validated with pandera, whose failure cases name every row, column and value (the messages as they always
    were). Clean data are thus checked without importing or running pandera."""
    spec = CONTRACT[table]
    checks = {c: column for c, column in spec.value_checks(policy).items() if c in df.columns}
    if all(check.passes(df[c]) for c, column in checks.items() for check in column):
        return []
    import pandera.pandas as pa

    _ready_for_threads()
    schema = spec.schema(policy, checks)
    # only the columns the schema checks (every rule is a column rule): pandera then neither copies nor
    # consolidates the rest of a table of millions of rows
    checked = [c for c in df.columns if c in schema.columns]
    try:
        schema.validate(df[checked], lazy=True)
    except pa.errors.SchemaErrors as err:
        fc = err.failure_cases
        messages = {str(c.error): c.error for col in schema.columns.values() for c in col.checks}  # i18n.Message
        out = []
        for rec in fc.itertuples(index=False):
            row = None if pd.isna(rec.index) else int(rec.index) + offset
            out.append(Problem(file, row, rec.column, rec.failure_case, messages.get(str(rec.check), str(rec.check))))
        return out
    return []


# -------------------------------------------------------------------------------------- validation


def _rows(mask: pd.Series) -> np.ndarray:
    return np.flatnonzero(mask.to_numpy(dtype=bool, na_value=False))


def _check_table(name: str, df: pd.DataFrame, file: str, offset: int, policy: Policy | None,
                 problems: list[Problem], final: set[str] | None = None) -> pd.DataFrame | None:
    """Structure, types and single-table rules; returns the typed table or None when unusable. ``final``: see
    :func:`_coerce` (those columns are not changed after it)."""
    df = df.copy(deep=False)  # the caller's table is left as it is; columns are replaced, never written to
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in CONTRACT[name].required if c not in df.columns]
    for c in missing:
        problems.append(Problem(file, None, c, None, M_("a column named '{column}' (required in table {table})",
                                                         column=c, table=name)))
    if missing:
        return None
    if len(df) == 0:
        if CONTRACT[name].mandatory:
            problems.append(Problem(file, None, None, None, M_("at least one row in table {table} (it is empty)",
                                                                 table=name)))
            return None
    df = _coerce(df, name, file, offset, problems, final)
    for c in CONTRACT[name].required:
        for idx in _rows(df[c].isna()):
            raw = None
            problems.append(Problem(file, int(idx) + offset, c, raw, M_("a value (this column is required)")))
    problems.extend(_schema_problems(df, name, policy, file, offset))
    key = [k for k in CONTRACT[name].keys if k in df.columns]
    if key and len(key) == len(CONTRACT[name].keys):
        dup = df.duplicated(key, keep="first") & df[key].notna().all(axis=1) if _may_repeat(df, key) else None
        for idx in _rows(dup) if dup is not None else ():
            value = "|".join(str(df[k].iloc[idx]) for k in key)
            problems.append(Problem(file, int(idx) + offset, "/".join(key), value,
                                    M_("a unique {key} (this one appears earlier)", key=" + ".join(key))))
    # text columns read as dictionaries (few distinct texts) but held as text: decoded by Arrow, once checked
    for c, column in CONTRACT[name].columns.items():
        if column.kind == "str" and not column.categorical and c in df.columns \
                and isinstance(df[c].dtype, pd.CategoricalDtype):
            df[c] = as_text(df[c])
    # fill the contract's optional columns so that the rest of compkit can rely on them
    for c, kind in CONTRACT[name].kinds.items():
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
        if values.null_count == 0 and _increasing(values[:10_000]) and _increasing(values):
            return False  # strictly increasing (ids written in order, the usual case): distinct, no hashing
        if values.null_count > 1:
            return True  # missing values counting as a value (the caller leaves them out)
        # each id hashed from its bytes, the hashes sorted (compkit._arrays.texts_distinct: 0.4 s instead of
        # Arrow's hash table of the texts, 1.4 s of CPU for 7.5 million deal ids)
        return not texts_distinct(values)
    coded = [any_codes(df[k]) for k in key]  # categorical codes; Arrow text (months) by one dictionary encoding
    if _rows_in_order([codes for codes, _ in coded]):
        return False  # rows in key order (the usual case: files written sorted): distinct, nothing counted
    combined = np.zeros(len(df), dtype=np.int64)
    size = 1
    for codes, n in coded:
        if size * (n + 1) >= 2 ** 62:
            return True
        combined *= n + 1
        combined += codes.astype(np.int64) + 1  # missing (-1) -> 0
        size *= n + 1
    if size <= 4 * len(df) + 1_000_000:
        return bool(np.bincount(combined, minlength=size).max() > 1)
    if bool((combined[1:] > combined[:-1]).all()):  # rows in key order (the usual case): distinct
        return False
    combined.sort(kind="stable")  # fast on rows nearly in order; equal keys end up side by side
    return bool((combined[1:] == combined[:-1]).any())


def _rows_in_order(columns: list[np.ndarray]) -> bool:
    """Whether the rows' tuples of codes (one array per key column, the same length) are in strictly increasing
    order, compared column by column as tuples are: then no two rows are equal. Comparisons of neighbours on the
    codes as they are (a byte or four per row), no combined 64-bit key; the rows still tied after a column are the
    only ones the next column decides."""
    if len(columns[0]) < 2:
        return True
    tied = None  # rows equal to their predecessor on the columns so far (None: every row, before the first)
    for codes in columns:
        before, after = codes[:-1], codes[1:]
        lower = after < before
        if tied is not None:
            lower &= tied
        if lower.any():
            return False
        equal = after == before
        tied = equal if tied is None else (tied & equal)
        if not tied.any():
            return True
    return False


def _increasing(values: pyarrow.ChunkedArray | pyarrow.Array) -> bool:
    """Whether the texts of an Arrow column (no nulls) are in strictly increasing order."""
    return len(values) < 2 or bool(pc.all(pc.less(values[:-1], values[1:])).as_py())


def _empty(kind: str, n: int) -> pd.Series:
    if kind == "float":
        return pd.Series(np.full(n, np.nan), dtype="float64", copy=False)  # (its own array: not copied again)
    if kind == "date":
        return pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    if kind == "bool":
        return pd.Series(pd.NA, index=range(n), dtype="boolean")
    return pd.Series(pd.NA, index=range(n), dtype="string")


def _empty_table(name: str) -> pd.DataFrame:
    return pd.DataFrame({c: _empty(k, 0) for c, k in CONTRACT[name].kinds.items()})


# ----------------------------------------------------------------------------------------- loading


def load_dataset(path: str | Path, policy: Policy | None = None, cycle: str | None = None,
                 encoding: str | None = None) -> Dataset:
    """Read and validate a dataset (a folder of CSV/Parquet files or an Excel workbook).

    ``encoding``: of the CSV files (e.g. ``gbk``); by default UTF-8 (with or without BOM), else GB18030.

    ``cycle``: ``YYYY`` or ``YYYYH1``/``YYYYH2``; by default the cycle holding the latest month of the
    metrics table (annual or half-year as the policy says). Raises :class:`compkit.DataError` listing every
    problem; on success every table of the contract is present (absent optional tables are empty).
    """
    path = Path(path)
    copy = _read_validated(path, policy, cycle) if path.is_dir() else None
    if copy is not None:  # a copy this compkit validated under the same policy (Dataset.to_parquet)
        return copy
    # the largest table (sales) is read and checked on a second thread while this one reads and checks the
    # others: numpy, pandas and Arrow let go of Python's lock in their long loops (as the engine's in_background);
    # problems are listed in the tables' order as when reading, then checking, one table after the other
    aside = _ASIDE if path.is_dir() and sum((path / f"{_ASIDE}{ext}").exists() for ext in (".csv", ".parquet")) == 1 \
        else None
    if aside is not None:
        pending = _in_background(_read_and_check, path, aside, encoding, policy)
    if aside is None:
        raw, files, offsets, problems = _read_raw(path, encoding)
    else:  # as _read_raw, but for the table read on the second thread
        raw, files, offsets, read = {}, {}, {}, {}
        for name in CONTRACT:
            if name != aside:
                df, label, read[name] = _read_one(path, name, encoding)
                if df is not None:
                    raw[name], files[name], offsets[name] = df, label, 2
        if any(read.values()):  # with the second thread's, in the tables' order
            read[aside] = pending()[0]
            _wait(pending()[3])
        problems = [p for name in CONTRACT for p in read.get(name, ())]
    if problems:
        raise DataError(problems, str(path))
    names = [name for name in CONTRACT if name in raw or name == aside]
    for name in (t for t, spec in CONTRACT.items() if spec.mandatory):
        if name not in raw and name != aside:
            where = M_("{path} (no sheet '{sheet}')", path=str(path), sheet=name) if path.is_file() else \
                str(path / f"{name}.csv")
            problems.append(Problem(where, None, None, None, M_("a {table} table (required)", table=name)))
    typed: dict[str, pd.DataFrame] = {}
    results: dict[str, tuple[pd.DataFrame | None, list[Problem], dict | None]] = {}
    for name in names:
        if name != aside:
            # each raw table is let go once typed, so that raw and typed copies of every table are not all held
            results[name] = _checked(name, raw.pop(name), files[name], offsets[name], policy)
    early: tuple[str, dict, dict] | None = None
    if aside is not None:
        # while the second thread still checks the sales table: the rules across the other tables that do not
        # read it (their problems are listed in the tables' order all the same: contract.cross_check_tables)
        # (only when the second thread is still at it: once the sales table is checked, its own rules run there
        # already and every rule across tables is run below in one go)
        if not pending.done():
            early = _early_cross_checks(results, files, offsets, policy, cycle)
        aside_read, label, result, aside_tail = pending()
        if aside_read:
            raise DataError(aside_read, str(path))  # a reading problem: reported alone, as before any check
        files[aside], offsets[aside] = label, 2
        results[aside] = result
    present = {name: None for name in names}
    ahead: dict = {}  # the problems of the rules run with the sales table's check (contract.rules_alone)
    files = {name: files[name] for name in CONTRACT if name in files}  # in the tables' order, as read
    tail = None
    for name in names:
        checked, own, done = results.pop(name)
        problems.extend(own)
        if checked is not None:
            if done is not None and problems:  # a problem in an earlier table: kept as text (see _checked)
                checked = _uncoded(name, checked)
            typed[name] = checked
        if name == aside and checked is not None and not own:
            # the sales table's customer ids coded and its own rules run on a second thread (started there as soon
            # as the table was checked: _read_and_check), while this one runs the rules across tables (which read
            # neither the customer ids nor change the table)
            tail = aside_tail
            ahead.update({rule: (lambda rule=rule, wait=tail: wait()[1][rule]) for rule in _rules_alone_of(name)})
        ahead.update(done or {})
    if policy is not None:
        check_coverage(present, policy, files, problems)
    if cycle is None:
        periods = typed["metrics"]["period"].dropna() if "metrics" in typed else pd.Series(dtype="string")
        if len(periods) == 0:
            problems.append(Problem(files.get("metrics", M_("metrics table")), None, "period", None,
                                    M_("at least one valid month, to tell the cycle")))
            _wait(tail)
            raise DataError(problems, str(path))
        cycle = infer_cycle(periods, policy.cycle if policy is not None else "annual")
    elif not _CYCLE.match(cycle):
        problems.append(Problem("--cycle", None, None, cycle, M_("YYYY or YYYYH1 / YYYYH2")))
        _wait(tail)
        raise DataError(problems, str(path))
    elif policy is not None and (policy.cycle == "annual") != (len(cycle) == 4):
        problems.append(Problem("--cycle", None, None, cycle,
                                M_("an annual cycle, as the policy says") if policy.cycle == "annual" else
                                M_("a half-year cycle, as the policy says")))
        _wait(tail)
        raise DataError(problems, str(path))
    done_early = early[1] if early is not None and early[0] == cycle and all(
        typed.get(name) is early[2][name] for name in early[2]) else None
    # the rules of the tables that read the sales table (each sales deal id looked up among the credits' deals:
    # the most costly rule across tables) run on another thread while this one runs the others' rules
    elsewhere = {}
    if aside is not None and aside in typed:
        later = [name for name in CONTRACT if name in typed and len(typed[name]) and name != aside
                 and name not in (done_early or {}) and set(CONTRACT[name].rules) & set(READS_SALES)]
        if later:
            pending_checks = _in_background(cross_check_tables, typed, files, offsets, policy, cycle, later, ahead)
            elsewhere = {name: (lambda name=name: pending_checks()[name]) for name in later}
    notes = cross_checks(typed, files, offsets, policy, cycle, problems, ahead=ahead, done=done_early,
                         elsewhere=elsewhere)
    if tail is not None:
        for col, coded in tail()[0].items():
            typed[aside][col] = coded
    if problems:
        raise DataError(problems, str(path))
    typed, set_aside = set_aside_outside(typed, cycle)
    tables = {name: typed.get(name, _empty_table(name)).reset_index(drop=True) for name in CONTRACT}
    for name in PERIOD_CODED:  # months as codes on the cycle's months (every row's month is one of them by now)
        if name in typed:
            tables[name]["period"] = coded_periods(tables[name]["period"], cycle_periods(cycle))
    for name, spec in CONTRACT.items():
        for col, column in spec.columns.items():
            if column.default is not None:
                tables[name][col] = tables[name][col].fillna(column.default)
            if column.categorical and name not in typed:  # (a table present was made categorical once checked)
                tables[name][col] = _categorical(tables[name][col])
    if len(tables["targets"]):  # targets written by `compkit targets` for this cycle
        tables["metrics"] = fill_targets(tables["metrics"], tables["targets"])
    more = {name: tables.pop(name) for name in list(tables) if name not in _FIELD_TABLES}
    dataset = Dataset(**tables, cycle=cycle, source=str(path), files=files, more=more, set_aside=set_aside,
                      notes=tuple(notes))
    # the reading and checking's freed temporaries stay with the process (no malloc_trim here): the evaluation that
    # follows reuses them at once, and pages handed back would come back to it as fresh pages (on the project's
    # virtual machine every freed page goes back to the host at once). Measured at 100,000 managers: the next
    # evaluation's page faults 0.54-0.64M -> 0.28-0.35M, peak memory of load + evaluate unchanged (3.2-3.6 GB);
    # the fragmented heap the CSV reading leaves (2.4 GB with 1.2 GB of holes) is what made evaluate slower after a
    # CSV load than after a Parquet one. Commands that keep the data while they wait or fork release it themselves.
    return dataset


#: the table checked on a second thread while the others are checked (see load_dataset)
_ASIDE = "sales"


def _checked(name: str, df: pd.DataFrame, file: str, offset: int, policy: Policy | None, alone: bool = True
             ) -> tuple[pd.DataFrame | None, list[Problem], dict | None]:
    """(typed table or None, its problems, its rules run already): :func:`_check_table`, then, when the table
    has no problem, its categorical columns (:data:`CATEGORICAL`) and customer ids (:data:`CODED`) coded, as
    they are held from then on (less memory, faster checks), and its rules that read only the table and the
    policy run (:func:`compkit.contract.rules_alone`: their problems by rule; None when the table was not coded).
    :func:`load_dataset` leaves the ids as text (:func:`_uncoded`) when an earlier table had a problem, as it did
    when checking the tables one by one."""
    problems: list[Problem] = []
    final: set[str] = set()
    checked = _check_table(name, df, file, offset, policy, problems, final)
    del df
    if checked is None or problems:
        return checked, problems, None
    for col in CONTRACT[name].categorical:
        if col not in final:  # (a column read as a dictionary is made so when cleaned: no second pass over it)
            checked[col] = _categorical(checked[col])
    if not alone:  # (load_dataset codes the customer ids and runs the rules later: _coded_and_alone)
        return checked, problems, None
    for col in CODED.get(name, ()):  # customer ids: coded once here, read as codes by loyalty
        checked[col] = dictionary_coded(checked[col])
    return checked, problems, rules_alone(name, checked, file, offset, policy)


def _coded_and_alone(name: str, checked: pd.DataFrame, file: str, offset: int, policy: Policy | None, code: bool
                     ) -> tuple[dict[str, pd.Series], dict]:
    """The rest of :func:`_checked` for a table checked with ``alone=False`` (the sales table, on the loader's
    second thread while the rules across tables run): (its customer ids coded when ``code``, by column, for the
    caller to put in the table; its rules that read only the table and the policy, as :func:`_checked` gives
    them). The table itself is only read."""
    coded = {col: dictionary_coded(checked[col]) for col in CODED.get(name, ()) if code and col in checked}
    return coded, rules_alone(name, checked, file, offset, policy)


def _rules_alone_of(name: str) -> list:
    """The rules of table ``name`` that :func:`compkit.contract.rules_alone` runs."""
    return [rule for rule in CONTRACT[name].rules if rule in ALONE]


def _wait(pending: Callable[[], object] | None) -> None:
    """Wait for a step on the second thread (and raise its exception) before raising a DataError."""
    if pending is not None:
        pending()


def _early_cross_checks(results: dict, files: dict[str, str], offsets: dict[str, int], policy: Policy | None,
                        cycle: str | None) -> tuple[str, dict, dict] | None:
    """(cycle, :func:`compkit.contract.cross_check_tables` of the tables checked so far whose rules do not read
    the sales table, the tables they read) or None when the cycle cannot be told yet. Run on this thread while
    the second one still checks the sales table; :func:`load_dataset` uses them only when the cycle and tables
    turn out the same, and otherwise (or when this raises) runs them in their place as before."""
    typed = {name: r[0] for name, r in results.items() if r[0] is not None}
    try:
        if cycle is None:
            periods = typed["metrics"]["period"].dropna() if "metrics" in typed else ()
            if len(periods) == 0:
                return None
            cycle = infer_cycle(periods, policy.cycle if policy is not None else "annual")
        elif not _CYCLE.match(cycle) or (policy is not None and (policy.cycle == "annual") != (len(cycle) == 4)):
            return None
        names = [name for name in typed if name != _ASIDE and not set(CONTRACT[name].rules) & set(READS_SALES)]
        return cycle, cross_check_tables(typed, files, offsets, policy, cycle, names), typed
    except Exception:  # noqa: BLE001 - run again in its place, where it raises as it always did
        return None


def _uncoded(name: str, checked: pd.DataFrame) -> pd.DataFrame:
    """A table :func:`_checked` coded with its customer ids as text again (its categorical columns stay as they
    are: the same values)."""
    for col in CODED.get(name, ()):
        if col in checked and isinstance(checked[col].dtype, pd.CategoricalDtype):
            checked[col] = as_text(checked[col])
    return checked


def _read_and_check(folder: Path, name: str, encoding: str | None, policy: Policy | None
                    ) -> tuple[list[Problem], str, tuple[pd.DataFrame | None, list[Problem], dict | None] | None,
                               Callable[[], tuple[dict[str, pd.Series], dict]] | None]:
    """(reading problems, file label, :func:`_checked`'s result or None, the rest of its check or None) of one
    table of a folder: read, then checked when it was read without a problem; when the check found no problem,
    the rest (:func:`_coded_and_alone`) is started at once on another thread (it reads only this table: it need
    not wait for the others' checks, which may still be running when a CSV sales table is done)."""
    df, label, problems = _read_one(folder, name, encoding)
    if problems or df is None:
        return problems, label, None, None
    result = _checked(name, df, label, 2, policy, alone=False)
    del df
    checked, own, _ = result
    # its customer ids coded even when another table has a problem (then nothing is kept: load_dataset raises)
    tail = _in_background(_coded_and_alone, name, checked, label, 2, policy, code=True) \
        if checked is not None and not own else None
    return [], label, result, tail


def _ready_for_threads() -> None:
    """pandera sets up its backends on the first validation: done once per process, by the first of the two
    loading threads to get here (the other waits), before either validates (only data that do not pass the value
    checks on whole arrays are validated with pandera: :func:`_schema_problems`)."""
    global _ready
    with _READY:
        if not _ready:
            import pandera.pandas as pa

            pa.DataFrameSchema({"x": pa.Column(checks=[pa.Check.ge(0)], nullable=True, required=False)}).validate(
                pd.DataFrame({"x": [1.0]}), lazy=True)
            _ready = True


_READY = threading.Lock()
_ready = False


def set_aside_outside(tables: dict[str, pd.DataFrame], cycle: str) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """A half-year cycle on a dataset holding its whole year: the rows outside the half-year are set aside.

    Set aside (counted per table): metrics and sales rows of months outside the cycle, surveys and complaints
    dated outside it, ratings of another cycle (the year's or the other half's), people hired after the cycle's
    end or gone before its start (and every row of theirs), credit rows of deals set aside. For an annual cycle
    nothing is set aside (rows outside the cycle are errors, found by the checks). Returns (tables, rows set
    aside per table, only tables with any)."""
    if len(cycle) == 4:
        return tables, {}
    periods = cycle_periods(cycle)
    start = pd.Timestamp(periods[0] + "-01")
    end = pd.Timestamp(periods[-1] + "-01") + pd.offsets.MonthEnd(0)
    out, counts = dict(tables), {}

    def keep(name: str, mask: pd.Series | np.ndarray) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.all():
            counts[name] = counts.get(name, 0) + int((~mask).sum())
            out[name] = out[name][mask].reset_index(drop=True)

    emp = out.get("employees")
    if emp is not None and len(emp):
        gone = (emp["hire_date"] > end) | (emp["exit_date"] < start)
        keep("employees", ~gone.to_numpy(dtype=bool, na_value=False))
    for name in ("metrics", "sales"):
        if name in out and len(out[name]):
            keep(name, isin(out[name]["period"], periods).to_numpy(dtype=bool))  # months as codes or text
    for name in ("surveys", "complaints"):
        if name in out and len(out[name]):
            d = out[name]["date"]
            keep(name, (d.isna() | ((d >= start) & (d <= end))).to_numpy(dtype=bool))
    if "ratings" in out and len(out["ratings"]):
        keep("ratings", (out["ratings"]["cycle"].astype(str) == cycle).to_numpy())
    if "employees" in out:
        known = pd.Index(out["employees"]["employee_id"].astype(str))
        for name in list(out):
            if name != "employees" and len(out[name]) and "employee_id" in out[name]:
                keep(name, out[name]["employee_id"].astype(str).isin(known).to_numpy())
    if "credits" in out and len(out["credits"]) and "sales" in out:
        deals = pd.Index(out["sales"]["deal_id"].dropna().astype(str))
        keep("credits", out["credits"]["deal_id"].astype(str).isin(deals).to_numpy())
    return out, counts


def coded_periods(values: pd.Series, months: list[str]) -> pd.Series:
    """A column of months (YYYY-MM text) as an ordered categorical whose categories are ``months`` (the cycle's,
    in order): row i reads back as the same text, compares with ``<=``/``==`` to a month of the cycle as the text
    did (the months sort as texts), and costs a byte instead of a text. One Arrow dictionary encoding of the column
    (its few distinct months looked up once). The column is returned as it is when it holds a value that is not
    one of ``months`` (nothing is lost)."""
    if isinstance(values.dtype, pd.CategoricalDtype) and values.cat.ordered and list(values.cat.categories) == months:
        return values
    codes, labels = labelled_codes(values)
    at = np.append(pd.Index(months, dtype=object).get_indexer(pd.Index(np.asarray(labels, dtype=object))), -1)
    if (at[:-1] < 0).any() and bool((at[codes] < 0)[codes >= 0].any()):
        return values  # a month outside ``months``: left as text
    categories = pd.Index(months, dtype=object)
    dtype = pd.CategoricalDtype(categories, ordered=True)
    return pd.Series(pd.Categorical.from_codes(at.astype(np.int8)[codes], dtype=dtype, validate=False),
                     index=values.index, name=values.name, copy=False)  # (codes made here: not copied again)


def fill_targets(metrics: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """Metrics rows without a target take the ``targets`` table's target for the same employee, month and
    indicator (``compkit targets`` writes it); a target given in the metrics table is kept."""
    missing = metrics["target"].isna().to_numpy()
    if not missing.any():
        return metrics
    keys = ("employee_id", "period", "indicator")
    lookup = pd.Series(targets["target"].to_numpy(dtype="float64"),
                       index=pd.MultiIndex.from_arrays([targets[k].astype(str).to_numpy() for k in keys]))
    lookup = lookup[~lookup.index.duplicated()]
    rows = metrics.loc[missing, list(keys)]
    found = lookup.reindex(pd.MultiIndex.from_arrays([rows[k].astype(str).to_numpy() for k in keys])).to_numpy()
    target = metrics["target"].to_numpy(dtype="float64", copy=True)
    target[missing] = found
    return metrics.assign(target=target)


def load_appeals(path: str | Path, data: Dataset, policy: Policy | None = None) -> pd.DataFrame:
    """Read and validate an appeals register (CSV or an Excel workbook with an ``appeals`` sheet) against
    ``data``: the contract's columns and types, statuses, and that each appeal names an existing row and column.
    Raises :class:`compkit.DataError` listing every problem."""
    path = Path(path)
    if not path.exists():
        raise DataError([Problem(str(path), None, None, None, M_("an appeals file (CSV or .xlsx)"))], str(path))
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        sheets = pd.read_excel(path, sheet_name=None, dtype=object, engine="openpyxl")
        named = {str(k).strip().lower(): v for k, v in sheets.items()}
        if "appeals" not in named:
            raise DataError([Problem(str(path), None, None, None,
                                     M_("a sheet named 'appeals' (found: {sheets})",
                                        sheets=", ".join(map(str, sheets))))], str(path))
        raw = named["appeals"]
    else:
        try:
            raw = read_csv_text(path)
        except _Unreadable as err:
            raise DataError([err.problem], str(path)) from None
    problems: list[Problem] = []
    typed = _check_table("appeals", raw, str(path), 2, policy, problems)
    if typed is not None:
        tables = {name: data.table(name) for name, spec in CONTRACT.items() if spec.keys}
        check_appeal_targets(typed, tables, str(path), 2, problems)
    if problems:
        raise DataError(problems, str(path))
    return typed.reset_index(drop=True)


def _categorical(s: pd.Series) -> pd.Series:
    """A categorical column whose categories are the sorted distinct values (so sorting is by value)."""
    if _is_final_categorical(s):
        return s
    codes, uniques = pd.factorize(s, sort=True)
    return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(uniques, dtype=object)), index=s.index,
                     copy=False)  # (factorize's codes: not copied again)


def _is_final_categorical(s: pd.Series) -> bool:
    """Whether ``s`` is already what :func:`_categorical` makes of it: unordered, its categories (Python strings)
    sorted, distinct and every one of them used."""
    if not isinstance(s.dtype, pd.CategoricalDtype) or s.cat.ordered:
        return False
    cats = s.cat.categories
    if cats.dtype != object or not (cats.is_monotonic_increasing and cats.is_unique):
        return False
    return bool(codes_used(cat_codes(s), len(cats)).all())


def _clean_categorical(raw: pd.Series) -> pd.Series:
    """``_categorical(_clean_text(raw))`` for a categorical ``raw`` (a column read as a dictionary), working on its
    few distinct texts rather than on every row: the categories are cleaned (stripped; empty -> missing), texts
    that become equal are merged, and the codes are mapped to the sorted distinct cleaned texts in use.

    One count of the codes (the categories in use) and one look-up of each row's code in a table of the few
    categories (none when the categories are already clean, sorted and all in use)."""
    raw_codes = cat_codes(raw)
    n = len(raw.cat.categories)
    used_raw = codes_used(raw_codes, n)
    labels = raw.cat.categories
    # Arrow text as the readers give it (cleaned without a Python string per category), else made Arrow text
    cleaned = _clean_text(pd.Series(labels.array, copy=False) if isinstance(labels.array, ArrowStringArray)
                          else pd.Series(np.asarray(labels, dtype=object), dtype="string"))
    if used_raw.all() and _increasing_texts(cleaned):
        # every category used, clean and already sorted (ids and months as files list them): its own codes, no
        # factorize of the categories (a hash and a sort of 100,000 employee ids per table)
        # (equal ids of several tables as one Index: _arrays.shared_labels)
        new_code, categories = np.arange(n), shared_labels(cleaned)
    else:
        cleaned = cleaned.mask(~used_raw)  # categories no row uses are left out, as a factorize of the rows would
        new_code, uniques = pd.factorize(cleaned, sort=True)  # per category; missing or unused -> -1
        categories = pd.Index(np.asarray(uniques, dtype=object), dtype=object)
    width = np.int8 if len(categories) < 127 else np.int16 if len(categories) < 32767 else np.int32  # as pandas
    if len(new_code) == len(categories) and bool((new_code == np.arange(n)).all()):
        codes = raw_codes.astype(width, copy=False)  # already clean, sorted and all in use: the codes as they are
    else:
        codes = np.append(new_code, -1).astype(width)[raw_codes]  # a missing row (-1) takes the trailing -1
    try:  # the categories are distinct and sorted by construction: no check of them again
        dtype = pd.CategoricalDtype._from_fastpath(categories, False)
    except (AttributeError, TypeError):
        dtype = pd.CategoricalDtype(categories)
    # (codes made here are the column's own: not copied again; the raw column's own codes are)
    return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype, validate=False), index=raw.index,
                     copy=np.may_share_memory(codes, raw_codes))


def _increasing_texts(texts: pd.Series) -> bool:
    """Whether an Arrow text column holds no missing value and its texts are strictly increasing (then
    ``pd.factorize(texts, sort=True)`` gives ``arange(len(texts))`` and the texts themselves: UTF-8 sorts as the
    code points do, as Python's strings compare)."""
    if not isinstance(texts.array, ArrowStringArray):
        return False
    arrow = texts.array.__arrow_array__()
    return arrow.null_count == 0 and _increasing(arrow)


def dataset_from_tables(tables: dict[str, pd.DataFrame], policy: Policy | None = None, cycle: str | None = None,
                        source: str = "<in memory>") -> Dataset:
    """Validate in-memory tables (e.g. ``make_sample(...).tables``) exactly as :func:`load_dataset` would."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for name, df in tables.items():
            df.to_parquet(Path(tmp) / f"{name}.parquet", index=False)
        ds = load_dataset(tmp, policy=policy, cycle=cycle)
    return replace(ds, source=source, files={k: f"{source}:{k}" for k in ds.files})


