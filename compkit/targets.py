"""Targets for each person (目标分解): next cycle's unit targets broken down to each customer manager.

A unit (a branch, by default) is given its target for the next cycle per indicator. Each person's share of it
follows their own results (their portfolio: this cycle's actual, aggregated as the indicator says) and the
unit's market, and the targets are set so that a chosen share of managers can reach 100%:

1. :func:`propose_targets` proposes, per person and metric indicator,
   ``proposal_i = actual_i x q``, where q is the (1 - share) quantile of this cycle's individual changes
   (second half against first, market movement taken out): next cycle's actual modelled as
   ``actual_i x change``, so P(actual >= proposal) = share for everyone.
2. The proposals of a unit are scaled to add up to the unit's target:
   ``scale_u = unit_target_u / sum_i proposal_i`` and ``target_i = proposal_i x scale_u``.
   Scaling keeps everyone's chance equal, and it becomes
   ``expected_share_u = P(change >= q x scale_u)`` (the empirical distribution of the changes):
   a unit target above the sum of the proposals (scale > 1) means fewer than the chosen share will reach it.
   ``consistent_target_u = sum_i proposal_i`` is the unit target at which exactly the chosen share would.

Lower-is-better indicators (inverse curves, e.g. the NPL ratio) are ratios, not amounts: they do not add up
over people, so every person's target is the unit's target.

:func:`monthly_targets` spreads each annual target over the next cycle's months (sum indicators follow the unit's
monthly pattern of this cycle; balances and ratios keep the same target each month), and :func:`write_targets`
writes them as a ``targets`` table (employee_id, period, indicator, target) that the next cycle's dataset loads:
a metrics row without a target takes it from there.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from compkit import i18n
from compkit._arrays import isin, labelled_codes
from compkit.aggregate import individual_log_changes
from compkit.atomic import check_output, write_file
from compkit.data import Dataset, cycle_periods
from compkit.errors import CompkitError
from compkit.excel import write_csv
from compkit.i18n import M_
from compkit.money import round_cents, whole_cents
from compkit.policy import InverseCurve, Policy
from compkit.privacy import refuse_reports_folder


class TargetError(CompkitError):
    """Unit targets that cannot be broken down (unknown unit or indicator, a negative target). With
    ``problems`` (one i18n.Message each), every problem of the unit targets is listed."""

    def __init__(self, text: str, problems: list[str] | None = None, source: str = "") -> None:
        self.problems = list(problems or [])
        self.source = source
        super().__init__(text)

    def message(self, lang: str | None = None) -> str:
        if not self.problems:
            return super().message(lang)
        _ = i18n.gettext(lang)
        head = (_("{file}: {n} problem(s) in the unit targets:") if self.source else
                _("unit targets: {n} problem(s):")).format(file=self.source, n=len(self.problems))
        return head + "\n" + "\n".join(f"  - {i18n.translate(p, lang)}" for p in self.problems)


def individual_changes(data: Dataset, indicator: str, rows: pd.DataFrame | None = None) -> np.ndarray:
    """This year's individual changes of a metric indicator, as factors on next year's actual: exp(d) with d from
    compkit.aggregate.individual_log_changes (year-on-year scale, mean 1; the same changes next year's Monte Carlo
    draws), one per person with both halves of the cycle; [1.0] when nobody has both. ``rows``: the metrics rows
    of the indicator in the table's order, when the caller has them."""
    m = data.metrics[data.metrics["indicator"] == indicator] if rows is None else rows
    changes = individual_log_changes(m, data.periods, "indicator", "actual")
    d = changes[indicator].dropna() if indicator in changes else pd.Series(dtype="float64")
    return np.exp(d).to_numpy() if len(d) else np.array([1.0])


def propose_targets(policy: Policy, data: Dataset, share_reaching: float = 0.5, growth: float = 0.0,
                    environment: str = "branch", changes: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """Next cycle's targets per person and metric indicator, so that about ``share_reaching`` of managers reach
    100% (challenging yet achievable), adjusted for the market and branch environment.

    For person i and indicator k (higher is better):
      base_ik    = this cycle's actual, aggregated as the indicator says (sum / mean / last)
      env_ik     = median achievement of the person's ``environment`` group (branch) / median achievement of all:
                   below 1 in a tough market. The proposal starts from actuals, so a branch whose targets were too
                   high relative to its market gets targets that follow what its market gave;
                   ``env`` is reported so the analyst can see where the old targets were out of line.
      q_k        = the (1 - share_reaching) quantile of this year's individual changes (see individual_changes):
                   next year's actual is modelled as base x (1 + growth) x change, so P(actual >= target) = share
      target_ik  = base_ik x (1 + growth) x q_k.
    Lower-is-better indicators (inverse curves) use the share-th quantile and divide: target = base / ... so that the
    same share stays at or below it. Columns: employee_id, branch, indicator, actual, target_now, achievement_now,
    environment_factor, target_next, expected_share.

    ``changes``: a dict of each indicator's individual changes (:func:`individual_changes`), read when an indicator
    is in it and filled with those worked out here, so that :func:`break_down_targets` given the same dict does not
    work them out again. The table's ``attrs["proposed"]`` records share_reaching, growth and environment (checked
    by :func:`unit_totals` and :func:`break_down_targets` when handed the table).
    """
    emp = data.employees.set_index("employee_id")
    metrics = data.metrics
    month = _month_ranks(metrics["period"])
    rows = []
    for ind in policy.scorecard.indicators:
        if ind.source != "metrics":
            continue
        at = np.flatnonzero(isin(metrics["indicator"], [ind.id]).to_numpy(dtype=bool))  # in the table's order
        agg = {"sum": "sum", "mean": "mean", "last": "last"}[ind.aggregate]
        # each person's rows in month order (a stable sort on the month's rank, as sorting on the text would give)
        by_month = metrics[["employee_id", "actual", "target"]].take(at[np.argsort(month[at], kind="stable")])
        per = by_month.groupby("employee_id")[["actual", "target"]].agg(agg)
        per["achievement"] = per["actual"] / per["target"]
        per[environment] = emp.loc[per.index, environment].to_numpy()
        overall = per["achievement"].median()
        env = per.groupby(environment)["achievement"].transform("median") / overall
        ind_changes = _changes_of(data, ind.id, changes, at)
        inverse = isinstance(policy.indicator_curve(ind), InverseCurve)
        if inverse:
            q = float(np.quantile(1.0 / ind_changes, share_reaching))
            target = per["actual"] / (1 + growth) * q
        else:
            q = float(np.quantile(ind_changes, 1.0 - share_reaching))
            target = per["actual"] * (1 + growth) * q
        rows.append(pd.DataFrame({
            "employee_id": per.index, environment: per[environment].to_numpy(), "indicator": ind.id,
            "actual": per["actual"].to_numpy(), "target_now": per["target"].to_numpy(),
            "achievement_now": per["achievement"].to_numpy(), "environment_factor": env.to_numpy(),
            "target_next": target.to_numpy(), "expected_share": share_reaching}))
    out = pd.concat(rows, ignore_index=True)
    out.attrs["proposed"] = {"share_reaching": share_reaching, "growth": growth, "environment": environment}
    return out


def _month_ranks(periods: pd.Series) -> np.ndarray:
    """Each row's month as its rank among the distinct months in text order (missing last): sorting on it is
    sorting on the text, on integers (one dictionary encoding of the column instead of sorting millions of
    texts)."""
    codes, labels = labelled_codes(periods)
    rank = np.empty(len(labels) + 1, dtype=np.int64)
    rank[np.argsort(np.asarray(labels, dtype=object), kind="stable")] = np.arange(len(labels))
    rank[-1] = len(labels)  # code -1 (missing)
    return rank[codes]


def _changes_of(data: Dataset, indicator: str, changes: dict[str, np.ndarray] | None,
                at: np.ndarray | None = None) -> np.ndarray:
    """:func:`individual_changes` of ``indicator`` (``at``: its rows' positions in the metrics table, when known),
    taken from ``changes`` when there, else worked out (and kept in ``changes`` when given)."""
    if changes is not None and indicator in changes:
        return changes[indicator]
    # the rows' columns that the changes read (not every column of the metrics table)
    found = individual_changes(data, indicator, None if at is None else
                               data.metrics[["employee_id", "period", "indicator", "actual"]].take(at))
    if changes is not None:
        changes[indicator] = found
    return found


def _proposals(policy: Policy, data: Dataset, proposals: pd.DataFrame | None, changes: dict[str, np.ndarray] | None,
               **settings: float | str) -> pd.DataFrame:
    """propose_targets(policy, data, **settings), or ``proposals`` when the caller worked it out with the same
    settings (``attrs["proposed"]``; a table proposed otherwise raises ValueError)."""
    if proposals is None:
        return propose_targets(policy, data, changes=changes, **settings)
    made = proposals.attrs.get("proposed", {})
    differ = {k: (made.get(k), v) for k, v in settings.items() if made.get(k) != v}
    if differ:
        raise ValueError("proposals made with other settings than needed here: "
                         + ", ".join(f"{k} {a!r} instead of {b!r}" for k, (a, b) in differ.items()))
    return proposals


def next_cycle(cycle: str) -> str:
    """2025 -> 2026; 2025H1 -> 2025H2; 2025H2 -> 2026H1."""
    if len(cycle) == 4:
        return str(int(cycle) + 1)
    return f"{cycle[:4]}H2" if cycle.endswith("H1") else f"{int(cycle[:4]) + 1}H1"


def check_unit_targets(policy: Policy, data: Dataset, unit_targets: pd.DataFrame, by: str = "branch") -> None:
    """Every row names a unit of the employees table, a metric indicator of the policy and a target >= 0."""
    if by not in data.employees:
        raise TargetError(M_("--by {by}: not a column of the employees table (e.g. branch, region)", by=by))
    problems = []
    for col in (by, "indicator", "target"):
        if col not in unit_targets:
            problems.append(M_("a column named '{column}'", column=col))
    if problems:
        raise TargetError("unit targets: " + "; ".join(f"a column named '{c}'" for c in (by, "indicator", "target")
                                                      if c not in unit_targets), problems)
    units = set(data.employees[by].astype(str))
    metric = {i.id for i in policy.scorecard.indicators if i.source == "metrics"}
    target = pd.to_numeric(unit_targets["target"], errors="coerce")
    for n, (u, k, t, raw) in enumerate(zip(unit_targets[by].astype(str), unit_targets["indicator"].astype(str),
                                           target, unit_targets["target"]), start=2):
        if u not in units:
            problems.append(M_("row {row}, column '{column}': found {value}; expected a {column} of the employees "
                               "table", row=n, column=by, value=repr(u)))
        if k not in metric:
            problems.append(M_("row {row}, column 'indicator': found {value}; expected an indicator of the policy "
                               "sourced from metrics: {indicators}", row=n, value=repr(k),
                               indicators=", ".join(sorted(metric))))
        if not (t >= 0):
            problems.append(M_("row {row}, column 'target': found {value}; expected a number >= 0", row=n,
                               value=repr(raw)))
    dup = unit_targets.duplicated([by, "indicator"])
    for n in np.flatnonzero(dup.to_numpy()):
        problems.append(M_("row {row}: {column} {unit} and indicator {indicator} appear twice; expected one target "
                           "each", row=n + 2, column=by, unit=repr(unit_targets[by].iloc[n]),
                           indicator=repr(unit_targets["indicator"].iloc[n])))
    if problems:
        raise TargetError("unit targets: " + str(len(problems)) + " problem(s):\n"
                          + "\n".join(f"  - {p}" for p in problems), problems)


def unit_totals(policy: Policy, data: Dataset, growth: float = 0.0, by: str = "branch",
                proposals: pd.DataFrame | None = None) -> pd.DataFrame:
    """This cycle's unit figures grown by ``growth``, as unit targets for :func:`break_down_targets` (a starting
    point for the analyst): per unit and metric indicator, the sum over its people of their actuals (aggregated as
    the indicator says) x (1 + growth); for lower-is-better ratios the unit's median ratio / (1 + growth). Only
    people still employed at the end of the cycle count (as in :func:`break_down_targets`).
    Columns: ``by``, indicator, target. ``proposals``: :func:`propose_targets`' table for these policy and data with
    ``environment=by`` (any share reaching and growth: only the actuals are read), used instead of proposing
    again."""
    inverse = {i.id for i in policy.scorecard.indicators if isinstance(policy.indicator_curve(i), InverseCurve)}
    emp = data.employees
    active = set(emp.loc[emp["exit_date"].isna() | (emp["exit_date"] > data.cycle_end), "employee_id"].astype(str))
    if proposals is None:
        proposals = propose_targets(policy, data, share_reaching=0.5, environment=by)
    else:
        proposals = _proposals(policy, data, proposals, None, environment=by)
    proposals = proposals[isin(proposals["employee_id"].astype(str), active).to_numpy()].copy()  # Arrow's is_in
    proposals[by] = proposals[by].astype(str)
    grouped = proposals.groupby([by, "indicator"], sort=True)["actual"]
    total, median = grouped.sum(), grouped.median()
    is_ratio = total.index.get_level_values("indicator").isin(sorted(inverse))
    target = np.where(is_ratio, median / (1 + growth), total * (1 + growth))
    return pd.DataFrame({by: total.index.get_level_values(by), "indicator": total.index.get_level_values("indicator"),
                         "target": target})


def _shares_at_or_below(base: np.ndarray, changes: np.ndarray, t: float) -> np.ndarray:
    """For each b of ``base``: mean(b / changes <= t), the share of the changes that bring b at or below ``t``.

    The same comparisons as ``np.mean(b / changes <= t)`` person by person, without the people x changes array:
    for b >= 0, b / c (rounded) never rises as c grows, so the changes meeting it are the top of the sorted
    changes, found by a binary search with the very comparison (the result is identical); other b (negative,
    NaN) are compared with every change."""
    base = np.asarray(base, dtype="float64")
    c = np.sort(np.asarray(changes, dtype="float64"))
    n = len(c)
    out = np.empty(len(base))
    ok = base >= 0
    b = base[ok]
    lo, hi = np.zeros(len(b), dtype=np.intp), np.full(len(b), n, dtype=np.intp)
    with np.errstate(divide="ignore", invalid="ignore"):
        while (open_ := lo < hi).any():  # first position where b / c <= t (n: none)
            mid = np.minimum((lo + hi) // 2, n - 1)
            meets = b / c[mid] <= t
            hi = np.where(open_ & meets, mid, hi)
            lo = np.where(open_ & ~meets, mid + 1, lo)
        out[ok] = (n - lo) / n
        out[~ok] = [np.mean(x / c <= t) for x in base[~ok]]
    return out


def break_down_targets(policy: Policy, data: Dataset, unit_targets: pd.DataFrame, share_reaching: float = 0.5,
                       by: str = "branch", proposals: pd.DataFrame | None = None,
                       changes: dict[str, np.ndarray] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each person's next-cycle target per indicator from the unit's target (see the module docstring).

    ``unit_targets``: columns ``by`` (e.g. branch), indicator, target (the unit's total for the cycle, in the
    indicator's unit: the sum of its people's values for sum and balance indicators; the ratio itself for
    lower-is-better ones). People who left by the end of the cycle get no target. Returns
    (people, units): people has employee_id, ``by``, indicator, actual, proposal, target_next, scale,
    expected_share; units has ``by``, indicator, people, unit_target, sum_of_proposals (= the consistent
    target), scale, expected_share.

    ``proposals``: :func:`propose_targets`' table for these policy and data with ``share_reaching`` and
    ``environment=by`` (no growth), used instead of proposing again; ``changes``: the individual changes by
    indicator, as :func:`propose_targets` takes them (the same results either way).
    """
    check_unit_targets(policy, data, unit_targets, by)
    emp = data.employees
    active = emp[emp["exit_date"].isna() | (emp["exit_date"] > data.cycle_end)]
    active_ids = set(active["employee_id"].astype(str))
    changes_of: dict[str, np.ndarray] = {} if changes is None else changes
    proposals = _proposals(policy, data, proposals, changes_of, share_reaching=share_reaching, growth=0.0,
                           environment=by)
    proposals = proposals[isin(proposals["employee_id"].astype(str), active_ids).to_numpy()].copy()  # Arrow's is_in
    proposals[by] = proposals[by].astype(str)
    inverse = {i.id for i in policy.scorecard.indicators if isinstance(policy.indicator_curve(i), InverseCurve)}
    ut = unit_targets.assign(**{by: unit_targets[by].astype(str), "indicator": unit_targets["indicator"].astype(str),
                                "target": pd.to_numeric(unit_targets["target"])})
    people_rows, unit_rows = [], []
    # each unit's rows by position (in the table's order), and each indicator's changes computed once (a pass over
    # the whole metrics table each): not once per unit and indicator; the columns read as arrays once, each unit
    # taking its positions of them (not a copy of the table per unit and indicator)
    rows_of = proposals.groupby([by, "indicator"], sort=False).indices
    no_rows = np.array([], dtype=np.intp)
    ids = proposals["employee_id"].astype(str).to_numpy()
    actuals = proposals["actual"].to_numpy(dtype="float64")
    proposed = proposals["target_next"].to_numpy(dtype="float64")
    finite = np.isfinite(proposed)
    for (unit, ind), t in ut.set_index([by, "indicator"])["target"].items():
        mine = rows_of.get((unit, ind), no_rows)
        mine = mine[finite[mine]]
        proposal = proposed[mine]
        changes = _changes_of(data, ind, changes_of)
        if ind in inverse:
            target = np.full(len(mine), float(t))
            q = float(np.quantile(1.0 / changes, share_reaching))
            # a ratio at or below the target: P(actual / change <= t) with actual / change ~ base / change
            base = actuals[mine]
            expected = float(np.mean(_shares_at_or_below(base, changes, float(t)))) if len(base) else np.nan
            scale, total = np.nan, np.nan
        else:
            total = float(proposal.sum())
            scale = float(t) / total if total > 0 else np.nan
            target = proposal * scale if total > 0 else np.full(len(mine), float(t) / max(len(mine), 1))
            q = float(np.quantile(changes, 1.0 - share_reaching))
            expected = float(np.mean(changes >= q * scale)) if np.isfinite(scale) else np.nan
        people_rows.append(pd.DataFrame({
            "employee_id": ids[mine], by: unit, "indicator": ind,
            "actual": actuals[mine], "proposal": proposal, "target_next": target,
            "scale": scale, "expected_share": expected}))
        unit_rows.append({by: unit, "indicator": ind, "people": len(mine), "unit_target": float(t),
                          "sum_of_proposals": total, "scale": scale, "expected_share": expected})
    people = (pd.concat(people_rows, ignore_index=True) if people_rows else
              pd.DataFrame(columns=["employee_id", by, "indicator", "actual", "proposal", "target_next", "scale",
                                    "expected_share"]))
    return people.sort_values(["employee_id", "indicator"]).reset_index(drop=True), pd.DataFrame(unit_rows)


def monthly_targets(policy: Policy, data: Dataset, people: pd.DataFrame, by: str = "branch") -> pd.DataFrame:
    """Each person's next-cycle target per month: columns employee_id, period, indicator, target.

    Sum indicators (e.g. fee income): target_month = annual target x the unit's share of this cycle's actual in
    the same month of the cycle (equal shares where the unit had none), in cents that add up to the annual target
    exactly (rounded to the cent, the remainder placed by largest remainder). Mean and last indicators (balances,
    ratios): the annual target each month (rounded to 4 decimals for ratios, the cent otherwise).
    """
    months = cycle_periods(next_cycle(data.cycle))
    this = data.periods
    if len(months) != len(this):  # pragma: no cover - cycles of the same kind have the same length
        raise TargetError("the next cycle has a different number of months")
    agg = {i.id: i.aggregate for i in policy.scorecard.indicators}
    inverse = {i.id for i in policy.scorecard.indicators if isinstance(policy.indicator_curve(i), InverseCurve)}
    m = data.metrics
    unit_of = pd.Series(data.employees[by].astype(str).to_numpy(), index=data.employees["employee_id"].astype(str))
    month_pos = pd.Series(np.arange(len(this)), index=this)
    frame = pd.DataFrame({"unit": m["employee_id"].astype(str).map(unit_of).to_numpy(),
                          "indicator": m["indicator"].astype(str).to_numpy(),
                          "pos": m["period"].astype(str).map(month_pos).to_numpy(),
                          "actual": m["actual"].to_numpy(dtype="float64").clip(min=0)})
    pattern = frame.groupby(["unit", "indicator", "pos"])["actual"].sum().rename("w").reset_index()
    n = len(months)
    grid = people[["employee_id", by, "indicator", "target_next"]].rename(columns={by: "unit"})
    grid = grid.loc[grid.index.repeat(n)].reset_index(drop=True)
    grid["pos"] = np.tile(np.arange(n), len(people))
    grid = grid.merge(pattern, on=["unit", "indicator", "pos"], how="left")
    grid["w"] = grid["w"].fillna(0.0)
    key = ["employee_id", "indicator"]
    total_w = grid.groupby(key)["w"].transform("sum")
    grid["w"] = grid["w"].where(total_w > 0, 1.0)  # no pattern: equal months
    # largest remainder per person and indicator: the cents add up to the annual target exactly
    cents = whole_cents(grid["target_next"].to_numpy(dtype="float64"))
    share = cents * grid["w"] / grid.groupby(key)["w"].transform("sum")
    floor = np.floor(share)
    left = (cents - floor.groupby([grid[k] for k in key]).transform("sum")).to_numpy()
    order = (-(share - floor)).groupby([grid[k] for k in key]).rank(method="first").to_numpy()
    spread = (floor + (order <= left)) / 100.0
    is_sum = grid["indicator"].map(lambda k: agg.get(k, "sum") == "sum" and k not in inverse).to_numpy(dtype=bool)
    is_ratio = grid["indicator"].isin(inverse).to_numpy()
    same = np.where(is_ratio, np.round(grid["target_next"].to_numpy(dtype="float64"), 4),
                    round_cents(grid["target_next"].to_numpy(dtype="float64")))
    return pd.DataFrame({"employee_id": grid["employee_id"].to_numpy(),
                         "period": np.asarray(months, dtype=object)[grid["pos"].to_numpy()],
                         "indicator": grid["indicator"].to_numpy(), "target": np.where(is_sum, spread, same)})


#: the columns of the targets file :func:`write_targets` writes (and the only CSV ``compkit targets`` replaces)
TARGET_COLUMNS = ("employee_id", "period", "indicator", "target")


def write_targets(monthly: pd.DataFrame, path: str | Path) -> Path:
    """Write the monthly targets as ``targets.csv`` (employee_id, period, indicator, target): put it in the next
    cycle's data folder, where a metrics row without a target takes it. Personal: refused under reports/. All or
    nothing (a temporary file renamed into place); text cells neutralised so none becomes a formula."""
    path = refuse_reports_folder(path, "personal targets")
    return write_file(path, lambda tmp: write_csv(monthly[list(TARGET_COLUMNS)], tmp))


def read_unit_targets(path: str | Path) -> pd.DataFrame:
    """A unit targets file: CSV (UTF-8 or GB18030) or Excel, columns branch (or the unit), indicator, target."""
    path = Path(path)
    if not path.is_file():
        raise TargetError(M_("{path}: no such file; expected a CSV or .xlsx of unit targets (branch, indicator, "
                             "target)", path=str(path)))
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return pd.read_excel(path, dtype=object)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
        except UnicodeDecodeError:
            continue
    raise TargetError(M_("{path}: not readable as UTF-8 or GB18030 text", path=str(path)))


def run_targets(policy_path: str | Path, data_path: str | Path, unit_targets: str | Path, out: str | Path,
                share_reaching: float = 0.5, by: str = "branch", cycle: str | None = None,
                lang: str | None = None) -> list[str]:
    """``compkit targets``: break the unit targets down, write the monthly targets file, return lines to print
    (the unit table: no person) in ``lang`` (default: the policy's language, zh-CN)."""
    from compkit.data import load_dataset
    from compkit.policy import load_policy

    if not 0 < share_reaching < 1:
        raise TargetError(M_("--share {share}: expected a share between 0 and 1 (e.g. 0.5)", share=share_reaching))
    out = refuse_reports_folder(out, "personal targets")
    out = check_output(out, "targets", inputs={"data folder": data_path, "policy file": policy_path,
                                               "unit targets file": unit_targets},
                       kind="table file", columns=TARGET_COLUMNS)
    policy = load_policy(policy_path)
    lang = i18n.resolve(lang, policy)
    data = load_dataset(data_path, policy=policy, cycle=cycle)
    unit = read_unit_targets(unit_targets)
    try:
        people, units = break_down_targets(policy, data, unit, share_reaching=share_reaching, by=by)
    except TargetError as err:
        raise TargetError(M_("{file}: {problem}", file=str(unit_targets), problem=err.args[0]), err.problems,
                          str(unit_targets)) from None
    path = write_targets(monthly_targets(policy, data, people, by=by), out)
    _ = i18n.gettext(lang)
    pct = lambda x: i18n.percent(x, lang)  # noqa: E731
    lines = [_("targets for cycle {cycle}: {people} people, {units} unit target(s); wrote {path} (personal: keep it "
               "private)").format(cycle=next_cycle(data.cycle), people=people["employee_id"].nunique(),
                                  units=len(units), path=path),
             _("chosen share reaching 100%: {share}").format(share=pct(share_reaching))]
    for r in units.itertuples(index=False):
        figures = {"unit": getattr(r, by), "indicator": r.indicator,
                   "people": r.people, "target": i18n.number(r.unit_target, lang, 2),
                   "expected": pct(r.expected_share), "share": pct(share_reaching),
                   "proposals": i18n.number(r.sum_of_proposals, lang, 0)}
        if np.isfinite(r.scale) and abs(r.expected_share - share_reaching) > 0.05:
            line = _("{unit} {indicator}: {people} people, target {target}, expected to reach it {expected}; the "
                     "share would be {share} at a unit target of {proposals}").format(**figures)
        else:
            line = _("{unit} {indicator}: {people} people, target {target}, expected to reach it {expected}").format(
                **figures)
        lines.append(f"  {line}")
    return lines
