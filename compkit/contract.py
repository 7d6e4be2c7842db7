"""The data contract (DESIGN.md section 3): one spec per table, from which the loader's checks and messages come.

A table's whole contract is one :class:`TableSpec` entry of :data:`CONTRACT`: its columns (:class:`Col`: type,
required, held as a categorical, value checks), the key that identifies a row, whether it is mandatory, the
column that must fall inside the cycle, whether its ``employee_id`` must be listed in the employees table, and
its rules across tables (:class:`Context` functions). The pandera schemas (:func:`schemas`) and the views other
modules read (:data:`COLUMNS`, :data:`REQUIRED`, :data:`KEYS`, :data:`MANDATORY_TABLES`, :data:`CATEGORICAL`,
:data:`TABLES`) are derived from it.

Adding an optional table is one entry::

    CONTRACT["deductions"] = TableSpec(
        "deductions", one_row_per="employee x month x kind",
        columns={"employee_id": Col("str", required=True), "period": Col("period", required=True),
                 "kind": Col("str", required=True), "amount": Col("float", required=True, money=True)},
        keys=("employee_id", "period", "kind"), in_cycle="period")

after which ``load_dataset`` reads ``deductions.csv`` / ``.parquet`` / a ``deductions`` sheet when present,
checks it, and the dataset has ``data.deductions`` (an empty table of these columns when absent).

Column types: ``str``, ``float``, ``date`` (YYYY-MM-DD), ``period`` (YYYY-MM), ``bool`` (true/false, 1/0, yes/no).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow

from compkit._arrays import as_text, cat_codes, is_arrow_text, isin, positions, text_array
from compkit._checks import Check
from compkit.credits import share_problems
from compkit.errors import Problem
from compkit.i18n import M_, N_
from compkit.policy import DEDUCTION_KIND_NAMES, EXIT_REASONS, RATER_ROLES, SPECIAL_DEDUCTIONS_2023, Policy
from compkit.populations import assignment_problems

if TYPE_CHECKING:
    import pandera.pandas as pa

_CYCLE = re.compile(r"^(\d{4})(H[12])?$")
SURVEY_DIMENSIONS = ("attitude", "competence", "responsiveness", "overall")
APPEAL_STATUSES = ("open", "upheld", "rejected")
#: a plausible mailbox for the employees' ``email`` column: one @, no blanks, a dot in the domain
EMAIL_PATTERN = r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$"

#: value checks of a column given the policy (None when validating without one); each check's ``error`` is the
#: "expected ..." of the message
Checks = Callable[[Policy | None], Sequence[Check]]


@dataclass(frozen=True)
class Col:
    """One column of a table: its type, whether a value is required, whether it is held as a categorical once
    validated (ids and labels that repeat over millions of rows), whether it is an amount of money, and its value
    checks (static :class:`compkit._checks.Check`s, written as pandera's ``pa.Check``, or a function of the policy
    returning them), and the value a missing cell
    takes once validated."""

    kind: str
    required: bool = False
    categorical: bool = False
    money: bool = False
    checks: Sequence[Check] | Checks = ()
    #: the value a missing cell takes once validated (e.g. an fte of 1)
    default: float | None = None

    def checks_for(self, policy: Policy | None) -> list[Check]:
        return list(self.checks(policy) if callable(self.checks) else self.checks)


@dataclass
class Context:
    """What a cross-table rule sees: the typed tables present, where each came from, the policy and the cycle;
    :meth:`report` adds a problem per flagged row."""

    tables: dict[str, pd.DataFrame]
    files: dict[str, str]
    offsets: dict[str, int]
    policy: Policy | None
    cycle: str
    problems: list[Problem]
    #: rows accepted or changed as the policy's ``inputs`` options allow
    notes: list[Problem] = field(default_factory=list)
    #: table -> rows to leave out once every rule has run
    dropped: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def periods(self) -> list[str]:
        return cycle_periods(self.cycle)

    def report(self, table: str, mask: pd.Series | np.ndarray, column: str,
               expected: str | Callable[[int], str], value: Callable[[int], object] | None = None) -> None:
        """One problem per row of ``table`` where ``mask`` is true: the row as the user sees it, ``column``, the
        value (``value(i)``, else the column's value shown as text) and what was expected (a text or
        ``expected(i)`` for row position ``i``)."""
        df = self.tables[table]
        rows = np.flatnonzero(np.asarray(pd.Series(mask).to_numpy(dtype=bool, na_value=False)))
        for i in rows:
            i = int(i)
            found = value(i) if value is not None else shown(df[column].iloc[i]) if column in df else None
            self.problems.append(Problem(self.files[table], i + self.offsets[table], column, found,
                                         expected(i) if callable(expected) else expected))


    def handle(self, option: str, table: str, mask: pd.Series | np.ndarray, column: str, expected: str | Callable,
               value: Callable[[int], object] | None = None) -> np.ndarray:
        """The flagged rows of a rule with a policy option: ``refuse`` reports them as problems; any other option
        lists them in :attr:`notes` (the expected text followed by what was done) and returns the mask for the
        rule to act on."""
        rows = np.asarray(pd.Series(mask).to_numpy(dtype=bool, na_value=False))
        if not rows.any():
            return rows
        if option == "refuse":
            self.report(table, rows, column, expected, value)
        else:
            kept = self.problems
            self.problems = self.notes
            try:
                self.report(table, rows, column, expected, value)
            finally:
                self.problems = kept
        return rows


Rule = Callable[[Context], None]


@dataclass(frozen=True)
class TableSpec:
    """The contract of one table (see the module's docstring)."""

    name: str
    columns: dict[str, Col]
    one_row_per: str = ""
    keys: tuple[str, ...] = ()
    mandatory: bool = False
    #: a ``period`` or ``date`` column whose values must fall inside the cycle
    in_cycle: str | None = None
    #: every ``employee_id`` must be listed in the employees table
    of_employees: bool = True
    rules: tuple[Rule, ...] = ()

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c for c, spec in self.columns.items() if spec.required)

    @property
    def kinds(self) -> dict[str, str]:
        """column -> type"""
        return {c: spec.kind for c, spec in self.columns.items()}

    @property
    def categorical(self) -> tuple[str, ...]:
        return tuple(c for c, spec in self.columns.items() if spec.categorical)

    def value_checks(self, policy: Policy | None) -> dict[str, list[Check]]:
        """column -> its value checks (the columns that have any)."""
        return {c: checks for c, spec in self.columns.items() if (checks := spec.checks_for(policy))}

    def schema(self, policy: Policy | None, checks: dict[str, list[Check]] | None = None) -> pa.DataFrameSchema:
        """pandera schema of the value rules inside the table (types are converted before); ``checks``: those of
        :meth:`value_checks` already made for this policy. pandera is imported here, when a schema is first made."""
        import pandera.pandas as pa

        checks = self.value_checks(policy) if checks is None else checks
        cols = {c: pa.Column(checks=[check.to_pandera() for check in column], nullable=True, required=False,
                             coerce=False) for c, column in checks.items()}
        return pa.DataFrameSchema(cols, strict=False, coerce=False)


def shown(value: object) -> object:
    """A value as a message shows it: dates as YYYY-MM-DD, missing as None."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


def cycle_periods(cycle: str) -> list[str]:
    """Months ``YYYY-MM`` of a cycle: ``2025`` (annual) or ``2025H1`` / ``2025H2`` (half-year)."""
    m = _CYCLE.match(cycle)
    if not m:
        raise ValueError(f"cycle {cycle!r}: expected YYYY or YYYYH1 / YYYYH2")
    year, half = int(m.group(1)), m.group(2)
    months = range(1, 13) if half is None else (range(1, 7) if half == "H1" else range(7, 13))
    return [f"{year}-{mm:02d}" for mm in months]


# ----------------------------------------------------------------------------------- value checks


def _of_policy(labels: Callable[[Policy], Sequence[str]], what: str) -> Checks:  # what: an i18n.Message
    """The values must be among the policy's ``labels`` (checked only with a policy)."""

    def checks(policy: Policy | None) -> list[Check]:
        if policy is None:
            return []
        allowed = list(labels(policy))
        return [Check.isin(allowed, error=M_("{what}: {values}", what=what, values=", ".join(allowed)))]
    return checks


def _scale(policy: Policy | None) -> list[Check]:
    lo, hi = (1.0, 5.0) if policy is None else (policy.scorecard.rating_scale.min, policy.scorecard.rating_scale.max)
    return [Check.in_range(lo, hi, error=M_("a score on the rating scale {lo:g} to {hi:g}", lo=lo, hi=hi))]


def _metric_indicators(policy: Policy) -> list[str]:
    return policy.metric_indicator_ids  # the scorecard's metrics indicators and the commission quotas' targets


# ------------------------------------------------------------------------------- cross-table rules


def _employee_dates(ctx: Context) -> None:
    """An exit on or after the hire; hired by the end of the cycle; not left before it began."""
    emp = ctx.tables["employees"]
    periods = cycle_periods(ctx.cycle[:4])  # a half-year's data may hold its year: the rest is set aside later
    start = pd.Timestamp(periods[0] + "-01")
    end = pd.Timestamp(periods[-1] + "-01") + pd.offsets.MonthEnd(0)
    hire, exit_ = emp["hire_date"], emp["exit_date"]
    ctx.report("employees", exit_.notna() & hire.notna() & (exit_ < hire), "exit_date",
               lambda i: M_("an exit date on or after the hire date {date}", date=shown(hire.iloc[i])))
    ctx.report("employees", hire > end, "hire_date",
               M_("a hire date on or before the end of cycle {cycle} ({end})", cycle=ctx.cycle,
                  end=end.date().isoformat()))
    ctx.report("employees", exit_ < start, "exit_date",
               M_("an exit date inside cycle {cycle} or later (people who left before {start} do not belong in "
                  "this cycle's data)", cycle=ctx.cycle, start=start.date().isoformat()))


def _exit_reasons(ctx: Context) -> None:
    """An exit reason belongs to someone who left (has an exit date)."""
    emp = ctx.tables["employees"]
    ctx.report("employees", emp["exit_reason"].notna() & emp["exit_date"].isna(), "exit_reason",
               M_("an exit_date for a person with an exit reason (or no exit reason)"))


def _clawback_claims(ctx: Context) -> None:
    """A claim (追索扣回) gives a share or an amount, not both; it names an employee, or a loan that the sales
    table's ``loan_id`` column says who sold."""
    c = ctx.tables["clawbacks"]
    share, amount = c["share"].notna(), c["amount"].notna()
    ctx.report("clawbacks", ~share & ~amount, "share", M_("a share (0 to 1) or an amount"), value=lambda i: None)
    ctx.report("clawbacks", share & amount, "amount", M_("a share or an amount, not both"))
    sales = ctx.tables.get("sales")
    loans = set(sales["loan_id"].dropna().astype(str)) if sales is not None and "loan_id" in sales else set()
    no_one = c["employee_id"].isna() & ~c["loan_id"].astype("string").isin(loans).fillna(False)
    ctx.report("clawbacks", no_one, "employee_id",
               M_("an employee_id, or a loan_id that the sales table's loan_id column names"), value=lambda i: None)


def _ratings_of_this_cycle(ctx: Context) -> None:
    r = ctx.tables["ratings"]
    year = ctx.cycle[:4]
    allowed = [ctx.cycle] if len(ctx.cycle) == 4 else [ctx.cycle, year, year + "H1", year + "H2"]
    ctx.report("ratings", r["cycle"].notna() & ~r["cycle"].isin(allowed), "cycle",
               M_("the cycle being evaluated, {cycle}", cycle=ctx.cycle))


def _one_scorecard_each(ctx: Context) -> None:
    """Scorecards by population: every employee matches exactly one (the message names the others)."""
    if ctx.policy is None or not ctx.policy.scorecards:
        return
    for expected, ids in assignment_problems(ctx.tables["employees"], ctx.policy):
        found = (M_("{n} employee(s): {ids} and {more} more", n=len(ids), ids=", ".join(ids[:20]), more=len(ids) - 20)
                 if len(ids) > 20 else M_("{n} employee(s): {ids}", n=len(ids), ids=", ".join(ids)))
        ctx.problems.append(Problem(ctx.files["employees"], None, "employee_id", found, expected))


def _product_columns(ctx: Context) -> None:
    """The sales columns a product's rules read: a coefficient column (折标系数 by payment term, deposit types)
    with a listed value, and the FTP spread, on every row of the product. A missing baseline (a new customer: all
    of the balance is an increase) or NPL date (a performing loan) is allowed."""
    if ctx.policy is None:
        return
    sales = ctx.tables["sales"]
    product = sales["product"]  # looked up by category (or with Arrow), never as a Python text per row
    by_code = isinstance(product.dtype, pd.CategoricalDtype)
    codes = cat_codes(product) if by_code else None
    for p in ctx.policy.commission.products:
        if by_code:  # the product's code compared on every row (one pass over small integers)
            at = product.cat.categories.get_loc(p.id) if p.id in product.cat.categories else -1
            mine = codes == at if at >= 0 else np.zeros(len(codes), dtype=bool)
        else:
            mine = isin(product, [p.id]).to_numpy(dtype=bool)
        if not mine.any():
            continue
        needed = ([p.coefficients.column] if p.coefficients is not None and p.coefficients.default is None
                  else []) + (["ftp_spread"] if p.on_ftp_spread else [])
        for column in needed:
            # (the product's rows all missing: told on masks, without a copy of the product's rows)
            if column not in sales.columns or not (mine & sales[column].notna().to_numpy(dtype=bool)).any():
                ctx.problems.append(Problem(ctx.files["sales"], None, column, None,
                                            M_("a '{column}' column: product '{product}' of the policy reads it",
                                               column=column, product=p.id)))
                continue
            if column == "ftp_spread":
                bad = mine & sales[column].isna().to_numpy()
                expected = M_("an annual FTP spread (product '{product}' is paid on FTP profit)", product=p.id)
            else:
                bad = mine & ~isin(sales[column], list(p.coefficients.values)).to_numpy(dtype=bool)
                expected = M_("one of {values} (commission.products[{product}].coefficients)",
                              values=", ".join(p.coefficients.values), product=p.id)
            ctx.report("sales", bad, column, expected)


def _credit_shares(ctx: Context) -> None:
    """Shares in (0, 1], deals of the sales table, shares of a deal adding up to 1 (compkit.credits)."""
    sales = ctx.tables.get("sales")
    deal_ids = sales["deal_id"] if sales is not None else pd.Series(dtype="string")
    for i, column, value, expected in share_problems(ctx.tables["credits"], deal_ids):
        ctx.problems.append(Problem(ctx.files["credits"], i + ctx.offsets["credits"], column, value, expected))


def _past_cycles(ctx: Context) -> None:
    h = ctx.tables["history"]
    ok = h["cycle"].fillna("").str.match(_CYCLE.pattern)
    ctx.report("history", h["cycle"].notna() & ~ok, "cycle", M_("a past cycle YYYY or YYYYH1 / YYYYH2"))
    later = ok & (h["cycle"].str.slice(0, 4) >= ctx.cycle[:4]) & (h["cycle"] >= ctx.cycle)
    ctx.report("history", later, "cycle", M_("a cycle before {cycle}", cycle=ctx.cycle))


def _zero_targets(ctx: Context) -> None:
    """A target of 0 with a positive actual has no achievement; the policy's ``inputs.zero_target`` says what
    to do: refuse, take the target as missing, or keep it."""
    m = ctx.tables["metrics"]
    option = ctx.policy.inputs.zero_target if ctx.policy is not None else "refuse"
    msgid = {"refuse": N_("a target above 0 where the actual ({actual:g}) is positive (policy inputs.zero_target: "
                          "{option})"),
             "missing": N_("a target above 0 where the actual ({actual:g}) is positive (policy inputs.zero_target: "
                           "{option}; taken as missing)"),
             "keep": N_("a target above 0 where the actual ({actual:g}) is positive (policy inputs.zero_target: "
                        "{option}; kept)")}[option]
    flagged = ctx.handle(option, "metrics", (m["target"] == 0) & (m["actual"] > 0), "target",
                         lambda i: M_(msgid, actual=m["actual"].iloc[i], option=option))
    if option == "missing" and flagged.any():
        m["target"] = m["target"].mask(flagged)


def _supervisor_ratings(ctx: Context) -> None:
    """A supervisor rating must come from the employee's ``supervisor_id`` (when known) and never from the
    employee themself; the policy's ``inputs.supervisor_rating`` says what to do otherwise: refuse, drop the
    rating, or keep it."""
    r, emp = ctx.tables["ratings"], ctx.tables.get("employees")
    if emp is None:
        return
    rows = np.flatnonzero((r["rater_role"] == "supervisor").to_numpy(dtype=bool, na_value=False))
    if len(rows) == 0:
        return
    rater = as_text(r["rater_id"].take(rows)).reset_index(drop=True)
    ratee = as_text(r["employee_id"].take(rows)).reset_index(drop=True)
    supervisor_of = emp["supervisor_id"].astype("string")
    at = positions(ratee, emp["employee_id"].astype("string"))
    expected_rater = pd.Series(np.append(supervisor_of.to_numpy(dtype=object, na_value=None), None)[at],
                               dtype="string")
    own = (rater == ratee).to_numpy(dtype=bool, na_value=False)
    other = (expected_rater.notna() & (rater != expected_rater)).to_numpy(dtype=bool, na_value=False)
    mask = np.zeros(len(r), dtype=bool)
    mask[rows[own | other]] = True
    why = {}
    for k in np.flatnonzero(own | other):
        why[int(rows[k])] = (M_("someone other than the employee themself") if own[k]
                             else M_("the employee's supervisor {supervisor} (employees.supervisor_id)",
                                     supervisor=expected_rater.iloc[k]))
    option = ctx.policy.inputs.supervisor_rating if ctx.policy is not None else "refuse"
    msgid = {"refuse": N_("a supervisor rating by {who} (policy inputs.supervisor_rating: {option})"),
             "drop": N_("a supervisor rating by {who} (policy inputs.supervisor_rating: {option}; rating left out)"),
             "keep": N_("a supervisor rating by {who} (policy inputs.supervisor_rating: {option}; kept)")}[option]
    flagged = ctx.handle(option, "ratings", mask, "rater_id", lambda i: M_(msgid, who=why[i], option=option))
    if option == "drop" and flagged.any():
        ctx.dropped["ratings"] = ctx.dropped.get("ratings", np.zeros(len(r), dtype=bool)) | flagged


def _appeal_decisions(ctx: Context) -> None:
    a = ctx.tables["appeals"]
    decided = a["status"].isin(["upheld", "rejected"]).fillna(False)
    ctx.report("appeals", decided & a["decided_on"].isna(), "decided_on", M_("a decision date for a decided appeal"),
               value=lambda i: None)
    ctx.report("appeals", a["decided_on"].notna() & (a["decided_on"] < a["filed_on"]), "decided_on",
               M_("a decision date on or after the filing date"))


def _appeal_targets(ctx: Context) -> None:
    check_appeal_targets(ctx.tables["appeals"], ctx.tables, ctx.files["appeals"], ctx.offsets["appeals"],
                         ctx.problems)


def check_appeal_targets(appeals: pd.DataFrame, t: dict[str, pd.DataFrame], file: str, offset: int,
                         problems: list[Problem]) -> None:
    """An appeal must name an existing row (by key) and a column of a table."""
    for table_name, group in appeals.groupby("table", sort=True):
        target = t.get(str(table_name))
        spec = CONTRACT.get(str(table_name))
        keys = spec.keys if spec is not None else ()
        if target is None or not keys:
            continue
        row_keys = _existing_keys(target, keys, group["key"])
        for idx, rec in zip(group.index, group.itertuples(index=False)):
            pos = appeals.index.get_loc(idx)
            if rec.key not in row_keys:
                problems.append(Problem(file, int(pos) + offset, "key", rec.key,
                                        M_("the key of a row of table {table} ({key})", table=table_name,
                                           key="|".join(keys))))
            if rec.column not in spec.columns:
                problems.append(Problem(file, int(pos) + offset, "column", rec.column,
                                        M_("a column of table {table}", table=table_name)))


def _existing_keys(target: pd.DataFrame, keys: Iterable[str], wanted: pd.Series) -> set[str]:
    """Those of the ``wanted`` keys (key columns joined with '|') that name a row of ``target``."""
    wanted = wanted.dropna().astype(str)
    return set(wanted[key_positions(target, keys, wanted) >= 0])


def key_positions(target: pd.DataFrame, keys: Iterable[str], wanted: pd.Series) -> np.ndarray:
    """The row position in ``target`` of each of the ``wanted`` keys (key columns joined with '|', as an appeal
    names a row); -1 for a key that names no row (or is missing). With repeated keys, the first row.

    Only the rows that can match are joined: a row's key equals a wanted key K only if its first key column
    (as text) equals K itself (one key column) or the part of K before one of its '|'s, so the rows are first
    filtered on that column against those few prefixes (a metrics table has millions of rows; appeals a few)."""
    keys = list(keys)
    wanted = wanted.astype("string")
    want = {k for k in wanted.dropna()}
    if not want or len(target) == 0:
        return np.full(len(wanted), -1, dtype=np.int64)
    if len(keys) == 1:
        prefixes = want
    else:
        prefixes = {k[:i] for k in want for i, ch in enumerate(k) if ch == "|"}
    column = target[keys[0]]
    if isinstance(column.dtype, pd.CategoricalDtype) or is_arrow_text(column):
        near = isin(column, prefixes).to_numpy(dtype=bool)  # by category or with Arrow: no text per row made
        if "" in prefixes:
            near |= column.isna().to_numpy(dtype=bool)
    else:
        near = column.astype("string").fillna("").isin(prefixes).to_numpy(dtype=bool)
    rows = np.flatnonzero(near)
    joined = join_keys(target.iloc[rows], keys).to_numpy(dtype=object)
    first = pd.Series(rows, index=joined)
    first = first[~first.index.duplicated(keep="first")]
    found = first.reindex(wanted.fillna("").to_numpy(dtype=object)).fillna(-1).to_numpy(dtype=np.int64, copy=True)
    found[wanted.isna().to_numpy(dtype=bool)] = -1
    return found


def join_keys(df: pd.DataFrame, keys: Iterable[str]) -> pd.Series:
    """Key columns as text joined with '|' (how an appeal names a row)."""
    parts = [df[k].astype("string").fillna("") for k in keys]
    out = parts[0]
    for p in parts[1:]:
        out = out + "|" + p
    return out


# -------------------------------------------------------------------------------------- the tables

_S, _F, _D, _P, _B = "str", "float", "date", "period", "bool"

CONTRACT: dict[str, TableSpec] = {}


def _add(spec: TableSpec) -> None:
    CONTRACT[spec.name] = spec


_add(TableSpec(
    "employees", one_row_per="employee", mandatory=True, keys=("employee_id",), of_employees=False,
    columns={
        "employee_id": Col(_S, required=True), "name": Col(_S),
        "branch": Col(_S, required=True), "region": Col(_S, required=True),
        "grade": Col(_S, required=True, checks=_of_policy(lambda p: p.grade_ids, M_("a grade of the policy"))),
        "hire_date": Col(_D, required=True), "exit_date": Col(_D),
        "gender": Col(_S, checks=[Check.isin(["F", "M", "X"], error=M_("F, M or X"))]),
        "birth_date": Col(_D), "supervisor_id": Col(_S),
        "fte": Col(_F, default=1.0, checks=[Check(lambda s: (s > 0) & (s <= 1), element_wise=False,
                                        error=M_("an fte above 0 and at most 1"))]),
        "base_monthly": Col(_F, money=True, checks=[Check.ge(0, error=M_("a monthly base salary >= 0"))]),
        "grade_since": Col(_D),
        # business line (对公, 零售, 私行, 理财, 小微): chooses the scorecard (policy scorecards[].when)
        "line": Col(_S),
        # pay step (薪档) on the grade's step table, 1 = the lowest (policy grades[].steps)
        "step": Col(_F, checks=[Check.ge(1, error=M_("a pay step 1, 2, ..."))]),
        "email": Col(_S, checks=[Check.str_matches(EMAIL_PATTERN, error=M_("an email address such as "
                                                                             "name@bank.example.cn"))]),
        "exit_reason": Col(_S, checks=[Check.isin(list(EXIT_REASONS), error=M_("{reasons} or {last}",
                                                        reasons=", ".join(EXIT_REASONS[:-1]), last=EXIT_REASONS[-1]))]),
        # gross to net (compkit.tax): the declared contribution base (缴费基数), and another employer's income,
        # deductions and tax earlier in the year (for the annual reconciliation)
        "si_base": Col(_F, money=True, checks=[Check.ge(0, error=M_("a contribution base >= 0 (or empty)"))]),
        "prior_income": Col(_F, money=True, checks=[Check.ge(0, error=M_("an amount >= 0 (or empty)"))]),
        "prior_deductions": Col(_F, money=True, checks=[Check.ge(0, error=M_("an amount >= 0 (or empty)"))]),
        "prior_tax_withheld": Col(_F, money=True, checks=[Check.ge(0, error=M_("an amount >= 0 (or empty)"))]),
        # a second half-year (YYYYH2): this employer's January-June figures the withholding carries on from
        # (compkit.tax.YEAR_TO_DATE; without them compkit evaluates the first half-year from the data folder)
        "ytd_income": Col(_F, money=True, checks=[Check.ge(0, error=M_("an amount >= 0 (or empty)"))]),
        "ytd_deductions": Col(_F, money=True, checks=[Check.ge(0, error=M_("an amount >= 0 (or empty)"))]),
        "ytd_months": Col(_F, checks=[Check.in_range(
            0, 11, error=M_("a number of months from 0 to 11 (or empty)"))]),
        "ytd_tax_withheld": Col(_F, money=True, checks=[Check.ge(0, error=M_("an amount >= 0 (or empty)"))]),
        "ytd_bonus_separate": Col(_F, money=True, checks=[Check.ge(0, error=M_("an amount >= 0 (or empty)"))]),
    },
    rules=(_employee_dates, _one_scorecard_each, _exit_reasons)))

_add(TableSpec(
    "metrics", one_row_per="employee x month x indicator", mandatory=True,
    keys=("employee_id", "period", "indicator"), in_cycle="period",
    columns={
        "employee_id": Col(_S, required=True, categorical=True), "period": Col(_P, required=True),
        "indicator": Col(_S, required=True, categorical=True, checks=_of_policy(
            _metric_indicators, M_("an indicator of the policy sourced from metrics"))),
        "actual": Col(_F, required=True, money=True),
        "target": Col(_F, money=True, checks=[Check.ge(0, error=M_("a target >= 0 (or empty)"))]),
    },
    rules=(_zero_targets,)))

_add(TableSpec(
    "sales", one_row_per="employee x month x product (or single deals)", mandatory=True, keys=("deal_id",),
    in_cycle="period",
    columns={
        "employee_id": Col(_S, required=True, categorical=True), "period": Col(_P, required=True),
        "product": Col(_S, required=True, categorical=True,
                       checks=_of_policy(lambda p: p.product_ids, M_("a product of the policy"))),
        "amount": Col(_F, required=True, money=True), "deal_id": Col(_S),
        "customer_id": Col(_S),  # millions of distinct customers: coded once loaded (compkit.data.CODED), unsorted
        # optional, read by products that say so (compkit.commission): loan, payment term (趸交, 期交5 ...), deposit
        # type (活期, 定期, 协定), last year's average balance, annual FTP spread, date the loan turned non-performing.
        # The terms and types are a few distinct texts over millions of deals: held as categoricals (the
        # coefficients are looked up per category, then gathered by the rows' codes)
        "loan_id": Col(_S), "payment_term": Col(_S, categorical=True), "deposit_type": Col(_S, categorical=True),
        "baseline": Col(_F, money=True),
        "ftp_spread": Col(_F), "npl_date": Col(_D),
    },
    rules=(_product_columns,)))

_add(TableSpec(
    "ratings", one_row_per="rater x ratee x item x cycle", mandatory=True,
    keys=("employee_id", "rater_id", "item", "cycle"),
    columns={
        "employee_id": Col(_S, required=True, categorical=True),
        "rater_id": Col(_S, required=True, categorical=True),
        "rater_role": Col(_S, required=True, categorical=True,
                          checks=[Check.isin(list(RATER_ROLES), error=M_("self, supervisor or peer"))]),
        "item": Col(_S, required=True, categorical=True,
                    checks=_of_policy(lambda p: p.rating_items, M_("a rating item of the policy"))),
        "score": Col(_F, required=True, checks=_scale),
        "cycle": Col(_S, required=True),
    },
    rules=(_ratings_of_this_cycle, _supervisor_ratings)))

_add(TableSpec(
    "surveys", one_row_per="customer response", in_cycle="date",
    columns={
        "employee_id": Col(_S, required=True, categorical=True), "date": Col(_D, required=True),
        "dimension": Col(_S, required=True, categorical=True,
                         checks=[Check.isin(list(SURVEY_DIMENSIONS), error=", ".join(SURVEY_DIMENSIONS))]),
        "score": Col(_F, required=True, checks=[Check.in_range(1, 5, error=M_("a survey score from 1 to 5"))]),
        "channel": Col(_S, checks=[Check.isin(["survey", "phone"], error=M_("survey or phone"))]),
    }))

_add(TableSpec(
    "complaints", one_row_per="complaint", keys=("complaint_id",), in_cycle="date",
    columns={
        "complaint_id": Col(_S), "employee_id": Col(_S, required=True), "date": Col(_D, required=True),
        "category": Col(_S), "upheld": Col(_B, required=True),
        "resolved_days": Col(_F, checks=[Check.ge(0, error=M_("a number of days >= 0"))]),
    }))

_add(TableSpec(
    "history", one_row_per="employee x past cycle", keys=("employee_id", "cycle"),
    columns={
        "employee_id": Col(_S, required=True), "cycle": Col(_S, required=True),
        "rating": Col(_S, required=True, checks=_of_policy(lambda p: p.ratings.labels, M_("a rating of the policy"))),
        "grade": Col(_S, checks=_of_policy(lambda p: p.grade_ids, M_("a grade of the policy"))),
        # that year's average monthly wage: the 五险一金 base of the contribution year after it
        "monthly_wage": Col(_F, money=True, checks=[Check.ge(0, error=M_("a monthly wage >= 0 (or empty)"))]),
    },
    rules=(_past_cycles,)))

_add(TableSpec(
    "appeals", one_row_per="appeal", keys=("appeal_id",),
    columns={
        "appeal_id": Col(_S, required=True), "employee_id": Col(_S, required=True),
        "filed_on": Col(_D, required=True),
        "table": Col(_S, required=True, checks=lambda p: [Check.isin(
            [t for t in CONTRACT if t != "appeals"], error=M_("the name of a data table"))]),
        "key": Col(_S, required=True), "column": Col(_S, required=True), "claimed_value": Col(_S),
        "status": Col(_S, required=True,
                      checks=[Check.isin(list(APPEAL_STATUSES), error=M_("open, upheld or rejected"))]),
        "decided_value": Col(_S), "decided_on": Col(_D), "reason": Col(_S),
    },
    rules=(_appeal_decisions, _appeal_targets)))

_add(TableSpec(
    "credits", one_row_per="deal x manager (shared customers, 业绩分成)", keys=("deal_id", "employee_id"),
    columns={"deal_id": Col(_S, required=True), "employee_id": Col(_S, required=True),
             "share": Col(_F, required=True)},
    rules=(_credit_shares,)))

_add(TableSpec(
    "clawbacks", one_row_per="claim (追索扣回: a risk event recovering performance pay)",
    columns={
        "employee_id": Col(_S), "date": Col(_D, required=True),
        "share": Col(_F, checks=[Check.in_range(0, 1, error=M_("a share of performance pay from 0 to 1"))]),
        "amount": Col(_F, money=True, checks=[Check.ge(0, error=M_("an amount >= 0"))]),
        "reason": Col(_S, required=True), "loan_id": Col(_S), "deal_id": Col(_S),
    },
    rules=(_clawback_claims,)))


# ---------------------------------------------------------------------- the appraisal loop (issue 17)


def _not_after(ctx: Context, table: str, column: str) -> None:
    """A cycle column names this cycle or an earlier one."""
    df = ctx.tables[table]
    ok = df[column].fillna("").str.match(_CYCLE.pattern)
    ctx.report(table, df[column].notna() & ~ok, column, M_("a cycle YYYY or YYYYH1 / YYYYH2"))
    year, this_year = df[column].str.slice(0, 4), ctx.cycle[:4]
    later = ok & ((year > this_year) | ((year == this_year) & (df[column] > ctx.cycle)))
    ctx.report(table, later, column, M_("cycle {cycle} or an earlier one", cycle=ctx.cycle))


def _feedback_meetings(ctx: Context) -> None:
    """A plan has an action and a due date on or after the meeting; an acknowledgement is not before it."""
    f = ctx.tables["feedback"]
    _not_after(ctx, "feedback", "cycle")
    met = f["meeting_date"]
    ctx.report("feedback", f["due_date"].notna() & met.notna() & (f["due_date"] < met), "due_date",
               lambda i: M_("a due date on or after the meeting date {date}", date=shown(met.iloc[i])))
    ctx.report("feedback", f["acknowledged_on"].notna() & met.notna() & (f["acknowledged_on"] < met),
               "acknowledged_on", lambda i: M_("an acknowledgement on or after the meeting date {date}",
                                               date=shown(met.iloc[i])))
    planned = f["indicator"].notna()
    ctx.report("feedback", planned & f["action"].isna(), "action",
               M_("the improvement action agreed for the indicator"), value=lambda i: None)
    ctx.report("feedback", planned & f["due_date"].isna(), "due_date", M_("a due date for the agreed action"),
               value=lambda i: None)


def _past_scores(ctx: Context) -> None:
    h = ctx.tables["history_scores"]
    ok = h["cycle"].fillna("").str.match(_CYCLE.pattern)
    ctx.report("history_scores", h["cycle"].notna() & ~ok, "cycle", M_("a past cycle YYYY or YYYYH1 / YYYYH2"))
    later = ok & (h["cycle"].str.slice(0, 4) >= ctx.cycle[:4]) & (h["cycle"] >= ctx.cycle)
    ctx.report("history_scores", later, "cycle", M_("a cycle before {cycle}", cycle=ctx.cycle))


def _training_dates(ctx: Context) -> None:
    t = ctx.tables["training"]
    end = pd.Timestamp(ctx.periods[-1] + "-01") + pd.offsets.MonthEnd(0)
    ctx.report("training", t["date"] > end, "date",
               M_("a date on or before the end of cycle {cycle} ({end})", cycle=ctx.cycle, end=end.date().isoformat()))


_add(TableSpec(
    "feedback", one_row_per="employee x cycle discussed x planned indicator (one row without an indicator for a "
                            "meeting that agreed no plan)",
    keys=("employee_id", "cycle", "indicator"),
    columns={
        "employee_id": Col(_S, required=True), "cycle": Col(_S, required=True),
        "meeting_date": Col(_D, required=True), "met_by": Col(_S, required=True),
        "indicator": Col(_S, checks=_of_policy(lambda p: p.indicator_ids, M_("an indicator of the policy"))),
        "action": Col(_S), "due_date": Col(_D), "acknowledged": Col(_B), "acknowledged_on": Col(_D),
        "comment": Col(_S),
    },
    rules=(_feedback_meetings,)))

_add(TableSpec(
    "history_scores", one_row_per="employee x past cycle x indicator (last cycle's indicators sheet)",
    keys=("employee_id", "cycle", "indicator"), of_employees=False,
    columns={
        "employee_id": Col(_S, required=True), "cycle": Col(_S, required=True),
        "indicator": Col(_S, required=True, checks=_of_policy(lambda p: p.indicator_ids,
                                                               M_("an indicator of the policy"))),
        "score": Col(_F, required=True),
    },
    rules=(_past_scores,)))

_add(TableSpec(
    "training", one_row_per="course attended or certificate obtained",
    columns={
        "employee_id": Col(_S, required=True), "course": Col(_S, required=True),
        "hours": Col(_F, checks=[Check.ge(0, error=M_("a number of hours >= 0"))]), "certificate": Col(_S),
        "date": Col(_D, required=True),
    },
    rules=(_training_dates,)))

_add(TableSpec(
    "targets", one_row_per="employee x month x indicator (next cycle's targets, from compkit targets)",
    keys=("employee_id", "period", "indicator"), in_cycle="period",
    columns={
        "employee_id": Col(_S, required=True), "period": Col(_P, required=True),
        "indicator": Col(_S, required=True, checks=_of_policy(_metric_indicators,
                                                               M_("an indicator of the policy sourced from metrics"))),
        "target": Col(_F, required=True, checks=[Check.ge(0, error=M_("a target >= 0"))]),
    }))
def _deduction_kinds(policy: Policy | None) -> list[Check]:
    kinds = list(SPECIAL_DEDUCTIONS_2023 if policy is None else policy.tax.special_deductions)
    allowed = kinds + [k for k, v in DEDUCTION_KIND_NAMES.items() if v in kinds]
    return [Check.isin(allowed, error=M_("a kind of special additional deduction: {kinds} (or its Chinese name)",
                                            kinds=", ".join(kinds)))]


#: kinds whose legal amount is per child (the ``count`` column)
PER_CHILD = ("children_education", "infant_care")
#: yearly limits: continuing education 400 x 12 + 3,600 (a certificate), serious illness 80,000
YEARLY_LIMITS = {"continuing_education": 400.0 * 12 + 3600.0, "serious_illness": 80000.0}


def _legal_deductions(ctx: Context) -> None:
    """专项附加扣除 against the legal amounts (policy ``tax.special_deductions``, 2023 amounts by default): each
    row at most the monthly amount (x count for the per-child kinds), the yearly kinds within their yearly
    limit, and housing-loan interest and housing rent never in the same month."""
    df = ctx.tables["deductions"]
    limits = SPECIAL_DEDUCTIONS_2023 if ctx.policy is None else ctx.policy.tax.special_deductions
    kind = df["kind"].astype("string").map(lambda k: DEDUCTION_KIND_NAMES.get(k, k) if isinstance(k, str) else k)
    count = df["count"].fillna(1.0)
    cap = kind.map(limits).astype("float64") * np.where(kind.isin(PER_CHILD).fillna(False), count, 1.0)

    def too_much(i: int) -> str:
        k = kind.iloc[i]
        return (M_("at most the legal amount for {kind}: {amount:,.0f} per child (2023 amounts)", kind=k,
                   amount=limits[k]) if k in PER_CHILD else
                M_("at most the legal amount for {kind}: {amount:,.0f} (2023 amounts)", kind=k, amount=limits[k]))
    ctx.report("deductions", df["amount"] > cap, "amount", too_much)
    employee = df["employee_id"].astype(str)
    year = df["period"].astype(str).str[:4]
    for k, limit in YEARLY_LIMITS.items():
        amount = df["amount"].where((kind == k).fillna(False), 0.0)
        total = amount.groupby([employee, year]).transform("sum")
        ctx.report("deductions", (kind == k).fillna(False) & (total > limit), "amount",
                   M_("{kind} within {limit:,.0f} a year for this employee (the year's rows add up to more)", kind=k,
                      limit=limit))
    housing = kind.isin(["housing_loan_interest", "housing_rent"]).fillna(False)
    kinds_in_month = kind.where(housing).groupby([employee, df["period"].astype(str)]).transform("nunique")
    ctx.report("deductions", housing & (kinds_in_month > 1), "kind",
               M_("housing-loan interest or housing rent in a month, not both"))


_add(TableSpec(
    "deductions", one_row_per="employee x month x kind (专项附加扣除)", keys=("employee_id", "period", "kind"),
    in_cycle="period",
    columns={
        "employee_id": Col(_S, required=True), "period": Col(_P, required=True),
        "kind": Col(_S, required=True, checks=_deduction_kinds),
        "amount": Col(_F, required=True, money=True, checks=[Check.gt(0, error=M_("an amount above 0"))]),
        # children, for the per-child kinds (default 1)
        "count": Col(_F, checks=[Check.ge(1, error=M_("a number of children >= 1 (or empty)"))]),
    },
    rules=(_legal_deductions,)))


# ---------------------------------------------------------------------------- views of the contract
# Derived from CONTRACT once all its entries above are made: add a table there, not here.

#: table -> {column: type}
COLUMNS: dict[str, dict[str, str]] = {t: {c: s.kind for c, s in spec.columns.items()} for t, spec in CONTRACT.items()}
#: table -> required columns
REQUIRED: dict[str, tuple[str, ...]] = {t: spec.required for t, spec in CONTRACT.items()}
#: table -> the columns that identify a row (unique); appeals name a row by these values joined with "|"
KEYS: dict[str, tuple[str, ...]] = {t: spec.keys for t, spec in CONTRACT.items() if spec.keys}
#: table -> id and label columns held as categoricals once validated: every later group-by and look-up then works
#: on integer codes (a year of 100,000 managers has 8 million metric rows). Months are coded apart, on the cycle's
#: months in order (compkit.data.PERIOD_CODED).
CATEGORICAL: dict[str, tuple[str, ...]] = {t: spec.categorical for t, spec in CONTRACT.items() if spec.categorical}
#: every table, in order
TABLES: tuple[str, ...] = tuple(CONTRACT)
#: tables that must be present and have at least one row; the others may be absent or empty
MANDATORY_TABLES: tuple[str, ...] = tuple(t for t, spec in CONTRACT.items() if spec.mandatory)


def schemas(policy: Policy | None) -> dict[str, pa.DataFrameSchema]:
    """pandera schema of every table's value rules."""
    return {t: spec.schema(policy) for t, spec in CONTRACT.items()}


#: table rules that read only their own table and the policy and only report problems: they may run as soon as
#: the table is checked (:func:`rules_alone`, e.g. on the loader's second thread), their problems listed in place
ALONE: tuple[Rule, ...] = (_product_columns,)


def rules_alone(name: str, df: pd.DataFrame, file: str, offset: int, policy: Policy | None
                ) -> dict[Rule, list[Problem]]:
    """The rules of table ``name`` in :data:`ALONE`, run now on the checked table: their problems by rule, which
    :func:`cross_checks` (``ahead=``) lists where the rule would have listed them."""
    out = {}
    for rule in CONTRACT[name].rules:
        if rule in ALONE:
            ctx = Context({name: df}, {name: file}, {name: offset}, policy, "", [])
            rule(ctx)
            out[rule] = ctx.problems
    return out


#: rules of a table other than sales that read the sales table too: the loader runs them once sales is checked
#: (the other tables' rules may run while the sales table is still being checked: :func:`cross_check_tables`)
READS_SALES: tuple[Rule, ...] = (_clawback_claims, _credit_shares, _appeal_targets)

#: what :func:`cross_check_tables` gives per table: (its problems in order, a rule of ``later`` standing where that
#: rule's problems go; its notes; rows to leave out per table)
TableChecks = tuple[list, list[Problem], dict[str, np.ndarray]]


def _outside(values: pd.Series, allowed: list | pyarrow.Array) -> pd.Series | None:
    """The rows of ``values`` that hold a value not among ``allowed`` (missing values are not flagged); None when
    there is none to be found: a categorical column whose categories are all allowed (the loader keeps only the
    categories in use) is judged on its few categories, not on its millions of rows."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        categories = pd.Series(values.cat.categories)
        if categories.dtype == object and pd.api.types.infer_dtype(categories, skipna=True) == "string":
            categories = categories.astype("string")
        if bool(isin(categories, allowed).to_numpy(dtype=bool).all()):
            return None
    return values.notna() & ~isin(values, allowed)


def cross_check_tables(typed: dict[str, pd.DataFrame], files: dict[str, str], offsets: dict[str, int],
                       policy: Policy | None, cycle: str, names: Iterable[str], later: Iterable[Rule] = ()
                       ) -> dict[str, TableChecks]:
    """:func:`cross_checks`' work for the tables ``names`` only (each table's rules read ``typed``), each table
    with a context of its own, so that tables may be checked in two goes (the loader checks the others while its
    second thread still checks the sales table) and their problems still be listed in the tables' order. A rule
    in ``later`` is not run: it stands in the table's problems where its problems will go."""
    later = set(later)
    out: dict[str, TableChecks] = {}
    periods = cycle_periods(cycle[:4])  # a half-year's data may hold its whole year (set aside after the checks)
    in_cycle = set(periods)
    employees = typed.get("employees")
    names = [name for name in names if typed.get(name) is not None and (len(typed[name]) or name == "employees")]
    # the employee ids once, as an Arrow array (looked up by every table's employee_id column)
    known = (text_array(pd.unique(employees["employee_id"].dropna().astype(str)))
             if employees is not None and names else None)
    for name in names:
        spec, df = CONTRACT[name], typed[name]
        found: list = []
        ctx = Context(typed, files, offsets, policy, cycle, found)
        if spec.of_employees and known is not None and "employee_id" in df:
            outside = _outside(df["employee_id"], known)
            if outside is not None:
                ctx.report(name, outside, "employee_id", M_("an employee_id listed in the employees table"))
        column = spec.in_cycle
        if column is not None and spec.columns[column].kind == "period":
            outside = _outside(df[column], list(in_cycle))
            if outside is not None:
                ctx.report(name, outside, column, M_("a month of cycle {cycle} ({first} to {last})", cycle=cycle,
                                                     first=periods[0], last=periods[-1]))
        elif column is not None:
            # the month (YYYY-MM) is one of the cycle's: from the first day of the cycle to before the month after
            first = pd.Timestamp(periods[0] + "-01")
            after = pd.Timestamp(periods[-1] + "-01") + pd.offsets.MonthBegin(1)
            inside = (df[column] >= first) & (df[column] < after)
            ctx.report(name, df[column].notna() & ~inside, column,
                       M_("a date inside cycle {cycle} ({first} to {last})", cycle=cycle, first=periods[0],
                          last=periods[-1]))
        for rule in spec.rules:
            if rule in later:
                ctx.problems.append(rule)
            else:
                rule(ctx)
        out[name] = (ctx.problems, ctx.notes, ctx.dropped)
    return out


def cross_checks(typed: dict[str, pd.DataFrame], files: dict[str, str], offsets: dict[str, int],
                 policy: Policy | None, cycle: str, problems: list[Problem],
                 ahead: dict[Rule, list[Problem] | Callable[[], list[Problem]]] | None = None,
                 done: dict[str, TableChecks] | None = None,
                 elsewhere: dict[str, Callable[[], TableChecks]] | None = None) -> list[Problem]:
    """Rules between tables and against the cycle, for every table present and not empty: employee ids listed
    in employees, the cycle column inside the cycle, then each table's own rules (those already run by
    :func:`rules_alone` are given in ``ahead``, their problems or a function that waits for them: listed in their
    place). ``done``: the tables already checked by :func:`cross_check_tables` (with these ``typed`` tables and
    this cycle). ``elsewhere``: tables being checked so meanwhile (e.g. on another thread), each with a function
    that waits for its checks. Rows a rule drops (as a policy option allows) are left out of ``typed`` at the end;
    returns the notes on rows accepted that way."""
    ahead = ahead or {}
    elsewhere = elsewhere or {}
    checked = dict(done or {})
    checked.update(cross_check_tables(typed, files, offsets, policy, cycle,
                                      [name for name in CONTRACT if name not in checked and name not in elsewhere],
                                      later=ahead))
    checked.update({name: wait() for name, wait in elsewhere.items()})
    notes: list[Problem] = []
    dropped: dict[str, np.ndarray] = {}
    for name in CONTRACT:
        if name not in checked:
            continue
        found, noted, drops = checked[name]
        for p in found:
            if isinstance(p, Problem):
                problems.append(p)
            else:  # a rule run ahead: its problems here
                got = ahead[p]
                problems.extend(got() if callable(got) else got)
        notes.extend(noted)
        for table, drop in drops.items():
            dropped[table] = dropped[table] | drop if table in dropped else drop
    for name, drop in dropped.items():
        typed[name] = typed[name][~drop]
    return notes


def check_coverage(present: Iterable[str], policy: Policy, files: dict[str, str],
                   problems: list[Problem]) -> None:
    """Tables the policy's scorecard sources must exist."""
    present = set(present)
    needed = {ind.source for ind in policy.scorecard.indicators}
    needed |= {d.source for d in policy.scorecard.deductions}
    for source in sorted(needed):
        if (source in CONTRACT and CONTRACT[source].mandatory) or source == "team":
            continue  # reported as missing anyway (team: the scorecard's own results of the team)
        if source not in present:
            problems.append(Problem(M_("{table} table", table=source), None, None, None,
                                    M_("a {table} table: the policy's scorecard uses source '{table}'", table=source)))


def row_keys(df: pd.DataFrame, table: str) -> pd.Series:
    """The key by which an appeal names each row of ``table``: key columns joined with '|'."""
    return join_keys(df, CONTRACT[table].keys)

