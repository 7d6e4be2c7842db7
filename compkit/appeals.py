"""Appeals (申诉): the register, corrections from upheld appeals, re-evaluation, a diff, and an audit log.

An upheld appeal names one cell of the data: ``table``, ``key`` (the row's key columns joined with ``|``, e.g.
``E00408|2025-03|fee_income`` for metrics) and ``column``; its ``decided_value`` (or, when blank, the
``claimed_value``) replaces the value in a *copy* of the data (sharing every column no appeal changes). The
corrected rows are checked against the data contract (see :func:`apply_appeals`) and the corrected data is
evaluated with the same engine (``evaluate(policy, corrected)``); the diff lists, for every
person whose outcome changed, each component before and after, and why it changed: the person's own appeal,
or a knock-on (guided rating quotas re-ranked within the group, salary-review budget scaling, a bonus pool).

Nothing is overwritten: each set of inputs gets its own folder ``OUT/<run id>/`` (the id is a hash of the
policy, data and appeals), holding the original and the corrected outcomes, the register, the corrections and
the diff; ``OUT/audit_log.jsonl`` gets one line per appeal decision not logged before, each line carrying the
hashes of the inputs and outputs and the hash of the previous line (a hash chain: an edited or deleted line
is detected). Running the same inputs again changes nothing.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Collection
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from compkit import i18n
from compkit._arrays import isin
from compkit.atomic import read_marker, staged_folder, write_file, write_marker
from compkit.contract import CONTRACT, cross_checks, key_positions
from compkit.credits import rebalance_shares
from compkit.data import _FIELD_TABLES, Dataset, _check_table, dataset_from_tables, load_appeals, row_keys
from compkit.engine import Outcomes, evaluate
from compkit.errors import CompkitError, DataError, Problem
from compkit.fingerprint import bytes_sha256, file_sha256
from compkit.i18n import M_, N_
from compkit.policy import Policy

AUDIT_LOG = "audit_log.jsonl"
#: outcome columns compared before and after, in the order the diff shows them
DIFF_COLUMNS = ("composite", "rating", "base_pay", "allowances", "commission", "bonus_paid", "bonus_deferred",
                "total_cash", "employer_cost", "raise_pct", "new_base_monthly", "promotion")


class AuditError(CompkitError):
    """The audit log is not as it was written (a line edited, removed or reordered)."""


@dataclass
class AppealReview:
    """The result of processing an appeals register (pure: nothing written).

    register     every appeal with value before, days to decision (or days open), within the window
    corrections  one row per applied correction: table, key, column, value before, value after
    diff         employee x component whose value changed: before, after, change, cause
    before       outcomes on the original data; after: outcomes on the corrected data
    """

    register: pd.DataFrame
    corrections: pd.DataFrame
    diff: pd.DataFrame
    before: Outcomes
    after: Outcomes
    corrected: Dataset
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def changed_employees(self) -> list[str]:
        return sorted(self.diff["employee_id"].unique().tolist())


# ------------------------------------------------------------------------------------------ register


def appeal_register(appeals: pd.DataFrame, window_days: int, as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """Every appeal with its time to decision.

    days_to_decision = decided_on - filed_on (days), for decided appeals;
    days_open        = as_of - filed_on (days), for open ones; ``as_of`` defaults to the latest date in the
                       register (so the same register always gives the same figures);
    within_window    = the decision (or, while open, the wait so far) took at most ``window_days`` days.
    """
    reg = appeals.copy()
    for c in ("appeal_id", "employee_id", "table", "key", "column", "status"):
        reg[c] = reg[c].astype(str)
    filed = pd.to_datetime(reg["filed_on"])
    decided = pd.to_datetime(reg["decided_on"])
    if as_of is None:
        dates = pd.concat([filed, decided]).dropna()
        as_of = dates.max() if len(dates) else pd.Timestamp("1970-01-01")
    is_open = (reg["status"] == "open").to_numpy()
    reg["days_to_decision"] = np.where(is_open, np.nan, (decided - filed).dt.days.to_numpy(dtype="float64"))
    reg["days_open"] = np.where(is_open, (pd.Timestamp(as_of) - filed).dt.days.to_numpy(dtype="float64"), np.nan)
    waited = np.where(is_open, reg["days_open"], reg["days_to_decision"])
    reg["within_window"] = waited <= window_days
    reg["as_of"] = pd.Timestamp(as_of)
    return reg


# --------------------------------------------------------------------------------------- corrections


def _typed_values(values: pd.Series, column: str, table: str, target: pd.Series, file: str,
                  rows: np.ndarray, problems: list[Problem]) -> pd.Series:
    """Decided values (text) converted to the type of ``target``; a value that does not convert is a problem."""
    text = values.astype("string").str.strip()
    if pd.api.types.is_bool_dtype(target.dtype) or str(target.dtype) == "boolean":
        low = text.str.lower()
        out = pd.Series(pd.NA, index=values.index, dtype="boolean")
        out[low.isin(["true", "1", "yes"]).fillna(False).to_numpy()] = True
        out[low.isin(["false", "0", "no"]).fillna(False).to_numpy()] = False
        bad, expected = out.isna(), "true or false"
    elif pd.api.types.is_numeric_dtype(target.dtype):
        out = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce").astype("float64")
        bad, expected = out.isna(), "a number"
    elif pd.api.types.is_datetime64_any_dtype(target.dtype):
        out = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
        bad, expected = out.isna(), "a date YYYY-MM-DD"
    else:
        out, bad, expected = text, text.isna(), "a value"
    for i in np.flatnonzero(bad.to_numpy()):
        problems.append(Problem(file, int(rows[i]), "decided_value", values.iloc[i],
                                f"{expected} for column {column} of table {table}"))
    return out


def apply_appeals(data: Dataset, appeals: pd.DataFrame, file: str = "appeals",
                  check: str = "changed") -> tuple[Dataset, pd.DataFrame]:
    """A corrected copy of ``data``: each upheld appeal's decided value (or claimed value when no decided value
    is given) in the row and column it names. ``data`` itself is not modified.

    Returns (corrected dataset, corrections: appeal_id, employee_id, table, key, column, value_before,
    value_after). The corrected rows are validated against the data contract (without a policy); a correction
    that breaks it (a score outside the scale, say) raises :class:`compkit.DataError` naming the table, row and
    column.

    ``check="changed"`` (the default) copies only the columns the appeals change and checks only the rows they
    change, with the rows and tables the contract's rules read beside them (all the holders of a deal whose credit
    moved, the employees), when every correction is of a column that no other row's check reads (see
    :func:`_checked_alone`); otherwise, and with ``check="all"``, every table is copied and validated again
    as a dataset. Both give the same corrected dataset and the same problems (tests/test_appeals.py)."""
    if check not in ("changed", "all"):
        raise ValueError(f"check={check!r}: expected 'changed' or 'all'")
    upheld = appeals[appeals["status"].astype(str) == "upheld"].copy()
    file_rows = upheld.index.to_numpy() + 2  # the row as the user sees it in the appeals file
    value = upheld["decided_value"].where(upheld["decided_value"].notna(), upheld["claimed_value"])
    problems: list[Problem] = []
    for i in np.flatnonzero(value.isna().to_numpy()):
        problems.append(Problem(file, int(file_rows[i]), "decided_value", None,
                                "the corrected value of an upheld appeal (decided_value or claimed_value)"))
    pairs = upheld[["table", "column"]].astype(str).drop_duplicates().itertuples(index=False)
    alone = check == "changed" and all(_checked_alone(data, t, c) for t, c in pairs)
    # the changed tables only (a shallow copy: each corrected column is a new array, the others are shared)
    tables: dict[str, pd.DataFrame] = {} if alone else {name: data.table(name).copy() for name in _tables_of(data)}
    changed: dict[str, list[np.ndarray]] = {}
    pieces = []
    for (table, column), group in upheld.groupby(["table", "column"], sort=True, observed=True):
        table, column = str(table), str(column)
        if table not in tables:
            tables[table] = data.table(table).copy(deep=False)
        df = tables[table]
        rows = file_rows[upheld.index.get_indexer(group.index)]
        pos = key_positions(df, CONTRACT[table].keys, group["key"].astype(str))
        for i in np.flatnonzero(pos < 0):
            problems.append(Problem(file, int(rows[i]), "key", group["key"].iloc[i],
                                    M_("the key of a row of table {table} ({key})", table=table,
                                       key="|".join(CONTRACT[table].keys))))
        found = pos >= 0
        group, rows, pos = group[found], rows[found], pos[found]
        owner = df["employee_id"].iloc[pos].astype(str).to_numpy() if "employee_id" in df else None
        if owner is not None:
            for i in np.flatnonzero(owner != group["employee_id"].astype(str).to_numpy()):
                problems.append(Problem(file, int(rows[i]), "key", group["key"].iloc[i],
                                        f"a row of employee {group['employee_id'].iloc[i]} (this row belongs "
                                        f"to {owner[i]})"))
        new = _typed_values(value.loc[group.index], column, table, df[column], file, rows, problems)
        before = df[column].iloc[pos]
        column_values = df[column].astype(object) if isinstance(df[column].dtype, pd.CategoricalDtype) \
            else df[column].copy()
        cells = new.mask(new == "") if alone and CONTRACT[table].kinds[column] == "str" else new  # as loading would
        column_values.iloc[pos] = cells.to_numpy()
        df[column] = column_values
        changed.setdefault(table, []).append(pos)
        pieces.append(pd.DataFrame({"appeal_id": group["appeal_id"].astype(str).to_numpy(),
                                    "employee_id": group["employee_id"].astype(str).to_numpy(),
                                    "table": table, "key": group["key"].astype(str).to_numpy(), "column": column,
                                    "value_before": before.astype(str).to_numpy(),
                                    "value_after": new.astype(str).to_numpy()}))
    if problems:
        raise DataError(problems, file)
    pieces += _moved_credit(tables, pieces)
    corrections = pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame(
        columns=["appeal_id", "employee_id", "table", "key", "column", "value_before", "value_after"])
    if corrections.empty:
        return data, corrections
    source = f"{data.source} + upheld appeals"
    if alone:
        corrected = _corrected_rows_checked(data, tables, changed, source)
    else:
        corrected = _validated_again(data, tables, source)
    return corrected, corrections.sort_values("appeal_id", kind="stable").reset_index(drop=True)


def _tables_of(data: Dataset) -> list[str]:
    """The tables a corrected copy holds: the eight of every dataset and each later one with rows."""
    return [name for name in CONTRACT if name in _FIELD_TABLES or len(data.table(name))]


def _checked_alone(data: Dataset, table: str, column: str) -> bool:
    """Whether a correction of ``column`` of ``table`` can be checked on the rows it changes (with the rows the
    contract's rules read beside them): a column of the contract that is no part of a row's key nor its employee
    (the key check and other tables read those), not held as a categorical (its categories would change), of an
    annual cycle (a half-year's rows are set aside by their dates), not read by another table's rules (an
    employee's supervisor, a sale's loan), and not of a table whose rules read other rows than the one changed
    (deductions add up a person's year; appeals name rows of other tables; clawbacks and training have no key)."""
    spec = CONTRACT.get(table)
    if spec is None or column not in spec.columns or column in spec.keys or column == "employee_id":
        return False
    if len(data.cycle) != 4 or table in ("appeals", "deductions", "clawbacks", "training"):
        return False
    if (table, column) in (("employees", "supervisor_id"), ("sales", "loan_id")):
        return False
    current = data.table(table)
    return (not spec.columns[column].categorical and column in current
            and not isinstance(current[column].dtype, pd.CategoricalDtype))


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """A table as it is written for validating again: categoricals as texts (missing as None)."""
    return df.apply(lambda s: s.astype(str).where(s.notna(), None) if isinstance(s.dtype, pd.CategoricalDtype)
                    else s)


def _validated_again(data: Dataset, tables: dict[str, pd.DataFrame], source: str) -> Dataset:
    """Every table of the corrected copy validated again as a dataset (without a policy); a problem names the
    table as ``<source>:<table>`` (not the temporary file it was checked in)."""
    plain = {name: _plain(df) for name, df in tables.items()}
    try:
        return dataset_from_tables(plain, policy=None, cycle=data.cycle, source=source)
    except DataError as err:
        named = [replace(p, file=f"{source}:{Path(p.file).stem}") if str(p.file).endswith(".parquet") else p
                 for p in err.problems]
        raise DataError(named, source) from None


def _corrected_rows_checked(data: Dataset, tables: dict[str, pd.DataFrame], changed: dict[str, list[np.ndarray]],
                            source: str) -> Dataset:
    """The corrected copy, its changed rows checked as loading checks a table (types, required values, the
    contract's value checks without a policy) and by the rules across tables (employees listed, months of the
    cycle, each table's own rules) with what those rules read: every employee, and for a moved credit share all
    the holders of the deal and the deal's sales rows. Problems name the row of the whole table (offset 2, as the
    full check names it)."""
    files = {name: f"{source}:{name}" for name in _tables_of(data)}
    problems: list[Problem] = []
    at: dict[str, np.ndarray] = {}  # table -> positions of the rows checked (their order in the table)
    typed: dict[str, pd.DataFrame] = {}
    for name in CONTRACT:
        if name not in changed:
            continue
        df = tables[name]
        pos = np.unique(np.concatenate(changed[name]))
        if name == "credits":  # the deal's shares add up to 1: all its holders' rows
            pos = np.flatnonzero(isin(df["deal_id"], set(df["deal_id"].iloc[pos].astype(str))).to_numpy(bool))
        at[name] = pos
        found: list[Problem] = []
        checked = _check_table(name, _plain(df.iloc[pos].reset_index(drop=True)), files[name], 0, None, found)
        problems += [_row_of(p, pos) for p in found]
        if checked is not None and name != "employees":
            typed[name] = checked
    employees = tables.get("employees", data.employees)  # every employee: the ids the other tables must name
    context = {**typed, "employees": employees}
    if "credits" in typed:  # the deals' sales rows (the credits' deals must be sales)
        deals = set(typed["credits"]["deal_id"].dropna().astype(str))
        at["sales"] = np.flatnonzero(isin(data.sales["deal_id"], deals).to_numpy(bool))
        context.setdefault("sales", data.sales.iloc[at["sales"]].reset_index(drop=True))
    offsets = {name: 0 if name in at and name != "employees" else 2 for name in files}
    found = []
    cross_checks(context, files, offsets, None, data.cycle, found)
    labels = {files[name]: pos for name, pos in at.items() if name != "employees"}
    problems += [_row_of(p, labels[p.file]) if p.file in labels else p for p in found]
    if problems:
        raise DataError(problems, source)
    fields_ = {name: df for name, df in tables.items() if name in _FIELD_TABLES}
    more = {name: tables.get(name, data.table(name)) for name in CONTRACT if name not in _FIELD_TABLES}
    return replace(data, **fields_, more=more, source=source, files=files, notes=(), set_aside={})


def _row_of(problem: Problem, positions: np.ndarray) -> Problem:
    """A problem found in a table of some rows (row = position among them) named at the row of the whole table."""
    if problem.row is None:
        return problem
    return replace(problem, row=int(positions[problem.row]) + 2)


def _moved_credit(tables: dict[str, pd.DataFrame], pieces: list[pd.DataFrame]) -> list[pd.DataFrame]:
    """An upheld appeal on a credit share moves credit between the deal's holders: the other holders' shares are
    scaled so the deal adds up to 1 again (compkit.credits.rebalance_shares), and each change is one more
    correction of the same appeal, under the holder who gains or loses the credit (so both appear in the diff)."""
    shares = [p for p in pieces if (p["table"] == "credits").any() and (p["column"] == "share").any()]
    if not shares:
        return []
    appealed = pd.concat(shares, ignore_index=True)
    credits = tables["credits"]
    keys = pd.Index(row_keys(credits, "credits"))
    changed = np.zeros(len(credits), dtype=bool)
    changed[keys.get_indexer(appealed["key"])] = True
    before = credits["share"].to_numpy(dtype="float64")
    moved = rebalance_shares(credits, changed)
    after = moved["share"].to_numpy(dtype="float64")
    tables["credits"] = moved
    idx = np.flatnonzero(~changed & (before != after))
    if not len(idx):
        return []
    deal = credits["deal_id"].astype(str).to_numpy()
    appeal_of_deal = pd.Series(appealed["appeal_id"].to_numpy(),
                               index=deal[keys.get_indexer(appealed["key"])]).groupby(level=0).first()
    return [pd.DataFrame({"appeal_id": appeal_of_deal.reindex(deal[idx]).to_numpy(),
                          "employee_id": credits["employee_id"].astype(str).to_numpy()[idx],
                          "table": "credits", "key": keys[idx].to_numpy(), "column": "share",
                          "value_before": pd.Series(before[idx]).astype(str).to_numpy(),
                          "value_after": pd.Series(after[idx]).astype(str).to_numpy()})]


# ---------------------------------------------------------------------------------------------- diff


def _long(summary: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in DIFF_COLUMNS if c in summary.columns]
    frame = summary[["employee_id", *cols]].copy()
    frame["employee_id"] = frame["employee_id"].astype(str)
    return frame.set_index("employee_id")


def outcome_diff(before: Outcomes, after: Outcomes, corrections: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """employee x component for every value that changed: before, after, change (after - before, numbers only),
    and the cause: 'appeal AP001' for the appellant's own figures; otherwise the knock-on that moved it."""
    b, a = _long(before.summary), _long(after.summary)
    a = a.reindex(b.index)
    rows = []
    for col in b.columns:
        x, y = b[col], a[col]
        if pd.api.types.is_numeric_dtype(x.dtype):
            xv, yv = x.to_numpy(dtype="float64"), y.to_numpy(dtype="float64")
            changed = ~(np.isclose(xv, yv, rtol=0, atol=1e-9) | (np.isnan(xv) & np.isnan(yv)))
            change = np.round(yv - xv, 9)  # money differences without float noise (201.00000000000364)
        else:
            xs, ys = x.astype(str).to_numpy(), y.astype(str).to_numpy()
            changed = xs != ys
            change = np.full(len(x), np.nan)
        idx = np.flatnonzero(changed)
        if len(idx):
            rows.append(pd.DataFrame({"employee_id": b.index[idx], "component": col,
                                      "before": x.iloc[idx].astype(object).to_numpy(),
                                      "after": y.iloc[idx].astype(object).to_numpy(), "change": change[idx]}))
    if not rows:
        return pd.DataFrame(columns=["employee_id", "component", "before", "after", "change", "cause"])
    diff = pd.concat(rows, ignore_index=True)
    own = corrections.groupby("employee_id")["appeal_id"].agg(lambda s: "appeal " + ", ".join(sorted(set(s))))
    cause = diff["employee_id"].map(own)
    group_of = before.summary.set_index(before.summary["employee_id"].astype(str))["rating_group"].astype(str)
    appellant_groups = set(group_of.reindex(own.index).dropna())
    in_group = diff["employee_id"].map(group_of).isin(appellant_groups)
    rating_moved = diff.groupby("employee_id")["component"].transform(lambda c: (c == "rating").any())
    knock_on = np.select(
        [rating_moved & in_group & (policy.ratings.method == "guided"),
         diff["component"].isin(["raise_pct", "new_base_monthly"]),
         diff["component"].isin(["bonus_paid", "bonus_deferred", "total_cash", "employer_cost"])
         & (policy.bonus.pool is not None)],
        ["knock-on: guided rating quotas re-ranked within " + diff["employee_id"].map(group_of).astype(str),
         "knock-on: salary review scaled again to the budget",
         "knock-on: bonus pool shared out again"],
        "knock-on of the corrected data")
    diff["cause"] = cause.fillna(pd.Series(knock_on, index=diff.index))
    return diff.sort_values(["employee_id"], kind="stable").reset_index(drop=True)


# -------------------------------------------------------------------------------------------- review


def review_appeals(policy: Policy, data: Dataset, appeals: pd.DataFrame | None = None,
                   as_of: pd.Timestamp | None = None, before: Outcomes | None = None,
                   file: str = "appeals", tables: Collection[str] | None = None) -> AppealReview:
    """Apply the upheld appeals of ``appeals`` (default: the dataset's own appeals table) to a copy of the data,
    re-evaluate, and diff. Pure: nothing is written. ``tables``: the tables of the re-evaluation (``after``) to
    build (:func:`compkit.engine.evaluate`; default all; the diff reads only the summary)."""
    appeals = data.appeals if appeals is None else appeals
    before = evaluate(policy, data) if before is None else before
    corrected, corrections = apply_appeals(data, appeals, file)
    after = evaluate(policy, corrected, tables=tables) if len(corrections) else before
    diff = outcome_diff(before, after, corrections, policy)
    register = appeal_register(appeals, policy.appeals.window_days, as_of)
    # the appealed value (a moved credit share adds the other holders' changes after it, same appeal)
    values_before = corrections.drop_duplicates("appeal_id").set_index("appeal_id")["value_before"]
    register["value_before"] = register["appeal_id"].map(values_before)
    register["applied"] = register["appeal_id"].isin(corrections["appeal_id"])
    changed = diff.groupby("employee_id").size()
    info = {"appeals": len(register), "upheld": int((register["status"] == "upheld").sum()),
            "rejected": int((register["status"] == "rejected").sum()),
            "open": int((register["status"] == "open").sum()), "corrections": len(corrections),
            "employees_changed": len(changed),
            "total_cash_change": float(np.round(after.summary["total_cash"].sum() - before.summary["total_cash"].sum(),
                                                2))}
    return AppealReview(register=register, corrections=corrections, diff=diff, before=before, after=after,
                        corrected=corrected, info=info)


# ---------------------------------------------------------------------------------------- audit log


_sha256_bytes = bytes_sha256
_file_sha256 = file_sha256


def _table_sha256(df: pd.DataFrame) -> str:
    return _sha256_bytes(df.to_csv(index=False, float_format="%.10g").encode())


AUDIT_HEAD = "audit_log.head"
AUDIT_LOCK = ".audit_log.lock"
RUN_MANIFEST = "manifest.json"
_GENESIS = "0" * 64


def audit_key(environ: dict[str, str] | None = None) -> bytes:
    """The key of the audit log's HMACs: derived from the publication (pseudonym) key of
    :func:`compkit.privacy.pseudonym_key` (``COMPKIT_PSEUDONYM_KEY`` or ``COMPKIT_PSEUDONYM_KEY_FILE``), so the
    same secret serves both and one cannot be computed from the other. Without a key ``compkit appeal`` is refused:
    a log anyone can re-hash is not evidence."""
    from compkit.privacy import PrivacyError, pseudonym_key

    try:
        key = pseudonym_key(environ)
    except PrivacyError as err:
        raise AuditError(M_("the appeals audit log is signed with the publication key, and {problem}",
                              problem=err.args[0])) from None
    return hmac.new(key, b"compkit audit log v1", hashlib.sha256).digest()


def _mac(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def _entry_mac(key: bytes, entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "mac"}
    return _mac(key, json.dumps(body, ensure_ascii=False, sort_keys=True, default=str))


def _head_mac(key: bytes, entries: int, last: str) -> str:
    return _mac(key, f"head|{entries}|{last}")


def _read_head(path: Path, key: bytes) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        head = json.loads(path.read_text(encoding="utf-8"))
        ok = head["mac"] == _head_mac(key, int(head["entries"]), str(head["last"]))
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        raise AuditError(M_("{path}: the head record of the audit log was edited (or written under another key)",
                            path=str(path)))
    return head


def read_audit_log(path: str | Path, key: bytes) -> list[dict[str, Any]]:
    """The audit log's entries, after checking every one: each line carries ``mac`` = HMAC-SHA256(key, the entry)
    and ``prev`` = the previous line's mac (the first line's is 64 zeros), and the head record ``audit_log.head``
    next to the log holds the number of entries and the last mac, itself signed. Raises :class:`AuditError` when a
    line was edited, reordered, inserted or removed, when the last lines or the whole log were deleted, or when the
    head was edited."""
    path = Path(path)
    head = _read_head(path.with_name(AUDIT_HEAD), key)
    if not path.exists():
        if head is not None and int(head["entries"]) > 0:
            raise AuditError(M_("{path}: the audit log is missing but its head record says it held {n} entries: the "
                                "log was deleted", path=str(path), n=head["entries"]))
        return []
    entries, prev = [], _GENESIS
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as err:
            raise AuditError(M_("{path}, line {n}: not a JSON record ({error})", path=str(path), n=n,
                                error=str(err))) from None
        if not isinstance(entry, dict) or entry.get("mac") != _entry_mac(key, entry):
            raise AuditError(M_("{path}, line {n}: the entry does not match its signature: it was edited (or the "
                                "log was written under another key)", path=str(path), n=n))
        if entry.get("prev") != prev:
            raise AuditError(M_("{path}, line {n}: the chain is broken (expected prev {expected}..., found "
                                "{found}...): lines were reordered, inserted or removed", path=str(path), n=n,
                                expected=prev[:12], found=str(entry.get("prev"))[:12]))
        prev = entry["mac"]
        entries.append(entry)
    if head is None:
        if entries:
            raise AuditError(M_("{path}: the head record {head} is missing: it was deleted (it is needed to show "
                                "that no line was removed at the end)", path=str(path), head=AUDIT_HEAD))
        return entries
    count = int(head["entries"])
    if len(entries) < count or (count and entries[count - 1]["mac"] != head["last"]):
        raise AuditError(M_("{path}: the log has {n} entries but its head record says {count}: the last line(s) "
                            "were deleted or the log replaced", path=str(path), n=len(entries), count=count))
    # more valid entries than the head says: a run stopped between writing the log and its head (lines cannot be
    # forged without the key); the next append brings the head up to date
    return entries


def _decision_key(rec: dict[str, Any]) -> str:
    return "|".join(str(rec.get(k)) for k in ("appeal_id", "status", "value_after", "decided_on"))


@contextmanager
def _locked(folder: Path):
    """An exclusive lock on ``folder/.audit_log.lock`` (fcntl.flock) for the whole read-check-append, so two runs
    at once cannot both chain onto the same last line. Where fcntl is missing (Windows) runs are not locked."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / AUDIT_LOCK).open("a") as fh:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            yield
            return
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _replace_text(path: Path, text: str) -> None:
    """Replace a text file all or nothing, its bytes on the disk before the rename (compkit.atomic.write_file)."""
    write_file(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), durable=True)


def append_audit(path: str | Path, records: list[dict[str, Any]], key: bytes, lock: bool = True) -> int:
    """Append the decisions of ``records`` not yet in the log (same appeal, status, value and date); returns how
    many lines were added. The log is checked first (:func:`read_audit_log`); existing lines are never changed. The
    new log is written whole to a temporary file and renamed into place, then the head record, so a full disk or
    a kill leaves the old log."""
    path = Path(path)
    with _locked(path.parent) if lock else nullcontext():
        existing = read_audit_log(path, key)
        seen = {_decision_key(e) for e in existing}
        prev = existing[-1]["mac"] if existing else _GENESIS
        lines = []
        for rec in records:
            if _decision_key(rec) in seen:
                continue
            entry = {"seq": len(existing) + len(lines) + 1, **rec, "prev": prev}
            entry = json.loads(json.dumps(entry, ensure_ascii=False, default=str))  # as it will be read back
            entry["mac"] = _entry_mac(key, entry)
            lines.append(json.dumps(entry, ensure_ascii=False))
            prev = entry["mac"]
            seen.add(_decision_key(rec))
        head = _read_head(path.with_name(AUDIT_HEAD), key)
        if lines or head is None or int(head["entries"]) != len(existing):
            old = path.read_text(encoding="utf-8") if path.exists() else ""
            if old and not old.endswith("\n"):
                old += "\n"
            _replace_text(path, old + "".join(line + "\n" for line in lines))
            count = len(existing) + len(lines)
            _replace_text(path.with_name(AUDIT_HEAD), json.dumps(
                {"entries": count, "last": prev, "mac": _head_mac(key, count, prev)}) + "\n")
    return len(lines)


def write_run_manifest(folder: Path, key: bytes) -> dict[str, str]:
    """``folder/manifest.json``: the sha256 of every file of an appeal run folder, signed (HMAC)."""
    files = {str(f.relative_to(folder)): _file_sha256(f) for f in sorted(folder.rglob("*"))
             if f.is_file() and f.name != RUN_MANIFEST}
    body = json.dumps(files, sort_keys=True)
    (folder / RUN_MANIFEST).write_text(json.dumps({"files": files, "mac": _mac(key, body)}, indent=1) + "\n",
                                       encoding="utf-8")
    return files


def verify_run_folders(out: Path, key: bytes) -> int:
    """Check every run folder of ``out`` against its signed manifest: no file changed, missing or added. Raises
    :class:`AuditError` naming the folder and file; returns the number of folders checked."""
    checked = 0
    for folder in sorted(p for p in Path(out).iterdir() if p.is_dir() and not p.name.startswith(".")):
        where = f"{folder}"
        try:
            manifest = json.loads((folder / RUN_MANIFEST).read_text(encoding="utf-8"))
            files = manifest["files"]
            ok = manifest["mac"] == _mac(key, json.dumps(files, sort_keys=True))
        except (OSError, ValueError, KeyError, TypeError):
            raise AuditError(M_("{folder}: the run folder has no readable {manifest}; it was not written by this "
                                "compkit or was altered", folder=where, manifest=RUN_MANIFEST)) from None
        if not ok:
            raise AuditError(M_("{folder}/{manifest}: the manifest was edited (or written under another key)",
                                folder=where, manifest=RUN_MANIFEST))
        present = {str(f.relative_to(folder)) for f in folder.rglob("*") if f.is_file() and f.name != RUN_MANIFEST}
        for name in sorted(set(files) | present):
            if name not in present:
                raise AuditError(M_("{folder}/{name}: a file of the appeal run was deleted", folder=where, name=name))
            if name not in files:
                raise AuditError(M_("{folder}/{name}: a file was added to the appeal run after it was written",
                                    folder=where, name=name))
            if _file_sha256(folder / name) != files[name]:
                raise AuditError(M_("{folder}/{name}: the file was changed after the appeal run wrote it",
                                    folder=where, name=name))
        checked += 1
    return checked


# ------------------------------------------------------------------------------------------- command


#: the words appeals.xlsx shows for the codes in its cells (statuses, causes of a change); the CSV files keep the
#: codes
APPEAL_WORDS = {"open": N_("open"), "upheld": N_("upheld"), "rejected": N_("rejected"),
                "knock-on: salary review scaled again to the budget":
                    N_("knock-on: salary review scaled again to the budget"),
                "knock-on: bonus pool shared out again": N_("knock-on: bonus pool shared out again"),
                "knock-on of the corrected data": N_("knock-on of the corrected data")}


def appeal_words(value: object, lang: str | None) -> object:
    """A cell of appeals.xlsx in ``lang``: a status or a cause in words ('appeal A1, A2' -> '申诉 A1, A2'); ids,
    figures and other values as they are."""
    if not isinstance(value, str):
        return value
    _ = i18n.gettext(lang)
    if value in APPEAL_WORDS:
        return _(APPEAL_WORDS[value])
    if value.startswith("appeal "):
        return _("appeal {ids}").format(ids=value.removeprefix("appeal "))
    prefix = "knock-on: guided rating quotas re-ranked within "
    if value.startswith(prefix):
        return _("knock-on: guided rating quotas re-ranked within {group}").format(group=value.removeprefix(prefix))
    return value


def _write_run(review: AppealReview, folder: Path, lang: str | None = None) -> dict[str, str]:
    """The run's files, written to ``folder`` (a fresh temporary folder); returns their sha256. The CSV files
    hold the codes; appeals.xlsx has its sheets, headers, statuses and causes in ``lang`` (compkit.headers)."""
    from compkit.excel import write_csv, write_workbook

    review.before.to_csv(folder / "before")
    review.after.to_csv(folder / "after")
    tables = {"register": review.register, "corrections": review.corrections, "diff": review.diff}
    for name, df in tables.items():
        write_csv(df, folder / f"{name}.csv", float_format="%.10g")
    shown = {name: df.assign(**{c: df[c].map(lambda v: appeal_words(v, lang)) for c in ("status", "cause")
                                if c in df.columns}) for name, df in tables.items()}
    write_workbook(shown, folder / "appeals.xlsx", lang=i18n.resolve(lang))
    hashes = {name: _file_sha256(folder / f"{name}.csv") for name in tables}
    hashes["before_summary"] = _file_sha256(folder / "before" / "summary.csv")
    hashes["after_summary"] = _file_sha256(folder / "after" / "summary.csv")
    (folder / "hashes.json").write_text(json.dumps(hashes, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return hashes


def run_appeals(policy_path: str | Path, data_path: str | Path, appeals_path: str | Path | None, out: str | Path,
                cycle: str | None = None, as_of: str | None = None, lang: str | None = None) -> str:
    """``compkit appeal``: process the register, write ``OUT/<run id>/`` and append to ``OUT/audit_log.jsonl``.

    The run id is the first 12 hex digits of sha256(policy file, data, appeals). A run folder that exists is
    never rewritten; decisions already in the log are not logged again. Returns a short report in ``lang``
    (default: the policy's language, zh-CN), the language of appeals.xlsx too.
    """
    from compkit.atomic import check_output
    from compkit.data import load_dataset
    from compkit.policy import load_policy
    from compkit.privacy import refuse_reports_folder

    out = refuse_reports_folder(out, "appeal results")
    out = check_output(out, "appeal", {"data": data_path, "policy file": policy_path, "appeals register": appeals_path})
    as_of_date = pd.to_datetime(as_of, format="%Y-%m-%d", errors="coerce") if as_of else None
    if as_of and pd.isna(as_of_date):
        raise CompkitError(M_("--as-of {date}: expected a date YYYY-MM-DD", date=as_of))
    key = audit_key()  # before any work: no key, no appeal run
    policy = load_policy(policy_path)
    lang = i18n.resolve(lang, policy)
    data = load_dataset(data_path, policy=policy, cycle=cycle)
    if appeals_path is None:
        appeals, appeals_file = data.appeals, data.files.get("appeals", "appeals table")
    else:
        appeals, appeals_file = load_appeals(appeals_path, data, policy), str(appeals_path)
    # the same register gives the same run, whether it came as CSV, Excel or the dataset's own table
    inputs = {"policy_sha256": _file_sha256(Path(policy_path)), "data_sha256": data.fingerprint(),
              "appeals_sha256": _table_sha256(appeals), "cycle": data.cycle, "as_of": as_of}
    run_id = _sha256_bytes(json.dumps(inputs, sort_keys=True).encode())[:12]
    review = review_appeals(policy, data, appeals, as_of_date, file=appeals_file)
    out.mkdir(parents=True, exist_ok=True)
    if read_marker(out) is None:
        write_marker(out, "appeal", manifest=False)
    run_dir = out / run_id
    with _locked(out):  # one appeal run at a time per folder: check, write, append
        logged = read_audit_log(out / AUDIT_LOG, key)  # the log and its head as they were written
        checked = verify_run_folders(out, key)  # every earlier run folder as it was written
        if checked and not logged and not (out / AUDIT_HEAD).exists():
            raise AuditError(M_("{out}: {n} appeal run folder(s) but no audit log and no head record: the log was "
                                "deleted", out=str(out), n=checked))
        if run_dir.exists():
            hashes = json.loads((run_dir / "hashes.json").read_text(encoding="utf-8"))
            wrote = False
        else:
            with staged_folder(run_dir, what="appeal-run") as tmp:  # a run folder appears whole or not at all
                hashes = _write_run(review, tmp, lang)
                write_run_manifest(tmp, key)
            wrote = True
        cause = review.diff.groupby("employee_id")["cause"].first()
        knock_on = int((~cause.str.startswith("appeal ")).sum())
        corr = review.corrections.set_index("appeal_id")
        now = datetime.now(UTC).isoformat(timespec="seconds")
        records = []
        for rec in review.register.to_dict("records"):
            aid = rec["appeal_id"]
            applied = aid in corr.index
            own = cause[cause.str.startswith("appeal ") & cause.str.contains(rf"\b{aid}\b", regex=True)]
            records.append({
                "recorded_at": now, "run_id": run_id, "appeal_id": aid, "employee_id": rec["employee_id"],
                "filed_on": str(pd.Timestamp(rec["filed_on"]).date()), "status": rec["status"],
                "decided_on": None if pd.isna(rec["decided_on"]) else str(pd.Timestamp(rec["decided_on"]).date()),
                "days_to_decision": None if pd.isna(rec["days_to_decision"]) else int(rec["days_to_decision"]),
                "reason": None if pd.isna(rec["reason"]) else str(rec["reason"]),
                "table": rec["table"], "key": rec["key"], "column": rec["column"],
                "value_before": str(corr.loc[aid, "value_before"]) if applied else None,
                "value_after": str(corr.loc[aid, "value_after"]) if applied else None,
                "employees_changed": sorted(own.index) if applied else [],
                "knock_on_employees_in_run": knock_on if applied else 0,
                "inputs": inputs, "outputs": hashes,
            })
        added = append_audit(out / AUDIT_LOG, records, key, lock=False)
    i = review.info
    _ = i18n.gettext(lang)
    lines = [_("appeals: {appeals} ({upheld} upheld, {rejected} rejected, {open} open); {corrections} correction(s) "
               "applied").format(**{k: i[k] for k in ("appeals", "upheld", "rejected", "open", "corrections")}),
             _("people whose outcome changed: {people}; total cash changes by {change} {unit}").format(
                 people=i["employees_changed"], change=i18n.number(i["total_cash_change"], lang, 2),
                 unit=i18n.currency_label(policy.currency, lang)),
             _("results: {folder}").format(folder=run_dir) if wrote else
             _("results: {folder} (already there: these inputs were processed before; nothing rewritten)").format(
                 folder=run_dir),
             (_("audit log: {log} ({added} new entry; the log, its head record and {checked} earlier run folder(s) "
                "checked)") if added == 1 else
              _("audit log: {log} ({added} new entries; the log, its head record and {checked} earlier run folder(s) "
                "checked)")).format(log=out / AUDIT_LOG, added=added, checked=checked)]
    return "\n".join(lines)
