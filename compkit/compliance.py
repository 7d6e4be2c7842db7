"""Sound pay (稳健薪酬): deferral of performance pay, leavers, clawbacks (追索扣回), the wage bill (工资总额) and the
compliance checks an inspector reads.

Every rule lives here once; :func:`compkit.engine.evaluate` calls these functions in this order:

1. :func:`leaver_rules` — by ``exit_reason``: the cycle's bonus prorated or forfeited; deferred pay forfeited,
   kept on schedule or paid early.
2. :func:`allocate_wage_bill` (when the policy has ``wage_bill``) — head office -> each level -> people, every
   split in whole cents by the largest remainder, so each level adds up to its parent's pool exactly.
3. :func:`deferral_shares` and :func:`split_deferred` — the deferred share of each performance-pay component
   (bonus, commission) by grade, and the split into paid now / deferred in whole cents.
4. :func:`deferral_schedule` — equal yearly parts, each due on ``bonus.deferral.due`` of its year.
5. :func:`apply_clawbacks` — claims of the ``clawbacks`` table cancel unpaid deferred parts first (latest part
   first); what they cannot cancel is reported as an amount to recover from pay already made, never netted.
6. :func:`compliance_checks` — the rule table (rule, population, value, limit, status, people affected).

Defaults of the limits come from 商业银行稳健薪酬监管指引 (银监发〔2010〕14号): base pay generally no more than 35%
of total pay; senior management and staff in key risk roles defer at least 40% of performance pay (主要高级管理人员
above 50%) over at least 3 years, in parts no faster than even (等分, 不得前重后轻); a principal's performance pay
within 3 times base pay; performance pay recoverable when risks materialise (追索扣回).

Money: inputs and outputs in the policy's currency; splits, schedules and claims are in whole cents (int64
inside), so parts add up to their totals exactly.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from numpy.typing import ArrayLike

from compkit._arrays import any_codes, isin, labelled_codes, positions, run_codes
from compkit._text import as_column, gather, text_column
from compkit.i18n import N_
from compkit.money import round_cents, to_cents
from compkit.policy import Deferral, Policy, WageBill

__all__ = [
    "CHECK_COLUMNS",
    "HEAD_OFFICE",
    "allocate_within",
    "allocate_wage_bill",
    "apply_clawbacks",
    "claims_by_loan",
    "compliance_checks",
    "deferral_schedule",
    "deferral_shares",
    "director_view",
    "in_words",
    "leaver_rules",
    "publishable_tree",
    "split_deferred",
    "unit_scores",
]

#: columns of the compliance table
CHECK_COLUMNS = ("rule", "population", "value", "limit", "status", "people_affected", "people", "source", "note")

#: the rules of the compliance table as people read them (商业银行稳健薪酬监管指引)
RULE_NAMES = {"fixed_pay_share": N_("Fixed pay as a share of total pay"),
              "deferral_share": N_("Share of performance pay deferred"),
              "deferral_years": N_("Deferral period (years)"),
              "deferral_pace": N_("Deferred pay released no faster than evenly"),
              "performance_multiple": N_("Performance pay as a multiple of base pay")}
#: the populations of the compliance table (with a list of grades or a grade after them)
POPULATION_NAMES = {"all people": N_("All people"), "deferral policy": N_("The deferral policy"),
                    "deferral schedules": N_("Deferral schedules"), "key roles": N_("Key roles"),
                    "senior management": N_("Senior management"), "key roles (": N_("Key roles ({grades})"),
                    "senior management (": N_("Senior management ({grades})"), "grade": N_("Grade {grade}")}

#: name of the top unit of the wage-bill tree
HEAD_OFFICE = "head office"

_DEFERRED_RULES = ("keep", "forfeit", "pay_early")


# -------------------------------------------------------------------------------------------- leavers


def leaver_rules(employees: pd.DataFrame, cycle_end: object, policy: Policy) -> pd.DataFrame:
    """The leaver rule that applies to each employee (one row per employee, in order).

    A leaver is someone whose ``exit_date`` is on or before ``cycle_end`` and who has an ``exit_reason``. The
    policy's ``leavers[exit_reason]`` says ``bonus`` (prorate: the usual proration by days employed; forfeit: no
    bonus for the cycle) and ``deferred`` (keep: deferred pay stays on its schedule; forfeit: the deferred part is
    forfeited; pay_early: nothing is deferred, all is paid now). Everyone else, and a reason the policy does not
    list, gets prorate / keep.

    Returns employee_id, exit_reason, leaver (bool), bonus_factor (1.0 or 0.0), deferred_rule (keep, forfeit,
    pay_early).
    """
    n = len(employees)
    reason = employees["exit_reason"].astype("string") if "exit_reason" in employees else \
        pd.Series(pd.NA, index=employees.index, dtype="string")
    exit_date = pd.to_datetime(employees["exit_date"]) if "exit_date" in employees else \
        pd.Series(pd.NaT, index=employees.index)
    left = (exit_date.notna() & (exit_date <= pd.Timestamp(cycle_end))).to_numpy() & reason.notna().to_numpy()
    reasons = list(policy.leavers)
    code = np.where(left, positions(reason, pd.Index(reasons, dtype=object)), -1)
    bonus_tab = np.array([0.0 if policy.leavers[r].bonus == "forfeit" else 1.0 for r in reasons] + [1.0])
    deferred_tab = np.array([_DEFERRED_RULES.index(policy.leavers[r].deferred) for r in reasons] + [0])
    # the texts as Arrow text columns (the ``str`` columns pandas would make of Python strings, without them)
    return pd.DataFrame({
        "employee_id": text_column(pa.array(employees["employee_id"].astype(str), type=pa.string())),
        "exit_reason": text_column(pa.array(reason.fillna(""), type=pa.string())),
        "leaver": left,
        "bonus_factor": bonus_tab[code] if n else np.zeros(0),
        "deferred_rule": text_column(gather(list(_DEFERRED_RULES), deferred_tab[code] if n else
                                            np.zeros(0, dtype=np.int64))),
    })


# ------------------------------------------------------------------------------------------- deferral


def deferral_shares(grades: ArrayLike, key_role: ArrayLike, deferral: Deferral,
                    component: str = "bonus") -> np.ndarray:
    """Share of ``component`` deferred for each person (a fraction; 0 where nothing is deferred).

    The component is deferred only if listed in ``deferral.components``. Who defers: the grades in
    ``deferral.grades`` when given (chosen roles), else everyone (``applies_to: all``) or the key-role grades
    (``applies_to: key_roles``). How much: ``deferral.share_by_grade[grade]`` when set, else ``deferral.share``.
    """
    g = grades if isinstance(grades, pd.Series) else pd.Series(np.asarray(grades, dtype=object))
    if component not in deferral.components:
        return np.zeros(len(g))
    # per distinct grade (a few), then gathered by the grades' codes (code -1, a missing grade: the last entry)
    codes, labels = labelled_codes(g)
    grade_ids = list(labels)
    if deferral.grades is not None:
        applies = isin(g, set(deferral.grades)).to_numpy(dtype=bool)
    elif deferral.applies_to == "all":
        applies = np.ones(len(g), dtype=bool)
    else:
        applies = np.asarray(key_role, dtype=bool).reshape(-1)
    by_grade = deferral.share_by_grade or {}
    shares = [by_grade.get(x) for x in grade_ids]
    share = np.array([deferral.share if v is None or v != v else v for v in shares] + [deferral.share],
                     dtype="float64")[codes]
    return np.where(applies, share, 0.0)


def split_deferred(amount: ArrayLike, share: ArrayLike, min_amount: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Split amounts into (paid_now, deferred), in currency, both whole cents, adding up exactly.

    amount_rounded = round_cents(amount) (NaN -> 0); deferred = round_cents(share x amount_rounded) where
    amount_rounded >= min_amount, else 0; paid_now = amount_rounded - deferred (integer cents).
    Example: share 0.4 of 12,345.67 -> deferred 4,938.27 (4,938.268), paid now 7,407.40.
    """
    cents = to_cents(amount)
    s = np.asarray(share, dtype="float64") * np.ones(len(cents))
    deferred = np.where(cents >= round(min_amount * 100), to_cents(s * cents / 100.0), 0)
    return (cents - deferred) / 100.0, deferred / 100.0


def _labels(values: ArrayLike) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """Labels (employee ids, component names) as the array a table column of them would hold (text: pandas'
    ``str``), to be gathered with ``take`` rather than as a Python object per row: a text column as it is."""
    if (isinstance(values, pd.Series) and isinstance(values.dtype, pd.StringDtype)
            and values.dtype.na_value is not pd.NA):
        return values.array
    return pd.Series(np.asarray(values, dtype=object)).array


def deferral_schedule(employee_ids: ArrayLike, deferred: dict[str, ArrayLike], cycle_year: int, years: int,
                      due: str = "03-31") -> pd.DataFrame:
    """Payment schedule of deferred pay: one row per employee x component x part, in whole cents.

    ``deferred``: component name -> deferred amount per employee (currency). Part k (1..years) of a component is
    due on ``due`` (MM-DD) of cycle_year + k. scheduled = equal parts; the remainder cents go to the first parts
    (10,000.00 over 3 years: 3,333.34 / 3,333.33 / 3,333.33), so the parts add up exactly to the deferred amount
    and no part runs ahead of even payment by more than one cent. ``cancelled`` (clawbacks) starts at 0 and
    ``payable`` = scheduled - cancelled. Every employee gets ``years`` rows per component (zeros when nothing
    is deferred), employees in the order given, components in the order of ``deferred``.
    """
    if not deferred:
        out = pd.DataFrame(columns=["employee_id", "component", "part", "year", "due", "scheduled"])
        out["cancelled"] = 0.0
        out["payable"] = out["scheduled"]
        return out
    ids = _labels(employee_ids)
    n, n_c = len(ids), len(deferred)
    part = np.arange(years)
    pay_year = cycle_year + 1 + part
    due_dates = pd.to_datetime([f"{y}-{due}" for y in pay_year])
    sched = np.empty((n, n_c, years), dtype="int64")  # cents: by person, then component, then part
    for j, amount in enumerate(deferred.values()):
        base, rem = np.divmod(to_cents(amount).reshape(-1), years)
        sched[:, j, :] = base[:, None] + (part[None, :] < rem[:, None]).astype("int64")
    out = pd.DataFrame({
        "employee_id": ids.take(np.repeat(np.arange(n), n_c * years)),
        "component": _labels(list(deferred)).take(np.tile(np.repeat(np.arange(n_c), years), n)),
        "part": np.tile(part + 1, n * n_c),
        "year": np.tile(pay_year, n * n_c),
        "due": np.tile(due_dates.to_numpy(), n * n_c),
        "scheduled": sched.reshape(-1) / 100.0,
    })
    out["cancelled"] = 0.0
    out["payable"] = out["scheduled"]
    return out


# ------------------------------------------------------------------------------------------ clawbacks

CLAWBACK_COLUMNS = ("employee_id", "date", "share", "amount", "reason", "loan_id", "deal_id")


def claims_by_loan(claims: pd.DataFrame, sales: pd.DataFrame | None) -> pd.DataFrame:
    """Claims that name a ``loan_id`` but no ``employee_id`` (a loan turned non-performing) go to the employees
    whose sales carry that loan id: one claim each; a share applies to each one's own performance pay, an amount
    is split equally between them in whole cents (the first ones take the remainder cents). Claims with an
    employee id, or whose loan is in no sale, are returned as they are (the loader refuses the latter).
    """
    if claims is None or len(claims) == 0 or "loan_id" not in claims or sales is None or "loan_id" not in sales:
        return claims
    c = claims.reset_index(drop=True)
    open_ = (c["employee_id"].isna() & c["loan_id"].notna()).to_numpy(dtype=bool) if "employee_id" in c else \
        c["loan_id"].notna().to_numpy(dtype=bool)
    if not open_.any():
        return claims
    sellers = sales.loc[sales["loan_id"].notna(), ["loan_id", "employee_id"]].astype(str).drop_duplicates()
    todo = c[open_].drop(columns=["employee_id"], errors="ignore").assign(_claim=np.flatnonzero(open_))
    todo["loan_id"] = todo["loan_id"].astype(str)
    found = todo.merge(sellers, on="loan_id", how="inner", sort=False).sort_values(["_claim", "employee_id"],
                                                                                 kind="stable")
    if "amount" in found and len(found):
        k = found.groupby("_claim")["employee_id"].transform("size").to_numpy()
        nth = found.groupby("_claim").cumcount().to_numpy()
        total = to_cents(found["amount"].to_numpy(dtype="float64"))
        each = total // np.maximum(k, 1) + (nth < total % np.maximum(k, 1))
        amount = found["amount"].to_numpy(dtype="float64")
        found["amount"] = np.where(np.isnan(amount), np.nan, each / 100.0)
    kept = c[~open_]
    missing = c[open_][~np.isin(np.flatnonzero(open_), found["_claim"].to_numpy())]
    return pd.concat([kept, found.drop(columns="_claim"), missing], ignore_index=True)


def apply_clawbacks(claims: pd.DataFrame | None, performance_pay: pd.Series, schedule: pd.DataFrame
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """追索扣回: apply the ``clawbacks`` table to the deferral schedule. Returns (schedule, register).

    ``claims``: employee_id, date, share and/or amount, reason, optional loan_id, deal_id (the data contract's
    ``clawbacks`` table). ``performance_pay``: per employee id, the cycle's performance pay awarded (bonus +
    commission, paid and deferred, not counting forfeited parts) [currency].

    claimed   = amount when given, else round_cents(share x performance pay); claims of a person are taken in
                date order (then file order) and capped so that together they never exceed the performance pay
                (the cap is noted).
    cancelled = taken from the person's deferred parts still unpaid at the claim's date (due after it), latest
                part first, never more than is left of them after earlier claims.
    to_recover = claimed - cancelled: pay already made that the bank must recover. It is reported, never netted
                against other pay.

    Example: performance pay 50,000, deferred 9,000 in three parts of 3,000 due 2026/27/28-03-31; a claim of
    share 0.3 dated 2026-06-30 claims 15,000; the 2026 part is paid by then, so 6,000 (the 2028 and 2027 parts)
    is cancelled and 9,000 is to recover.
    """
    schedule = schedule.copy()
    cols = ["employee_id", "date", "reason", "loan_id", "deal_id", "share", "amount", "performance_pay", "claimed",
            "cancelled", "to_recover", "note"]
    if claims is None or len(claims) == 0:
        return schedule, pd.DataFrame({c: pd.Series(dtype="float64" if c in ("share", "amount", "performance_pay",
                                                                             "claimed", "cancelled", "to_recover")
                                                    else object) for c in cols})
    c = claims.reset_index(drop=True).copy()
    for col in CLAWBACK_COLUMNS:
        if col not in c:
            c[col] = np.nan if col in ("share", "amount") else pd.NA
    c["employee_id"] = c["employee_id"].astype(str)
    c["date"] = pd.to_datetime(c["date"])
    c["_row"] = np.arange(len(c))
    c = c.sort_values(["employee_id", "date", "_row"], kind="stable").reset_index(drop=True)
    perf = to_cents(c["employee_id"].map(performance_pay).fillna(0.0).to_numpy())
    amount = c["amount"].to_numpy(dtype="float64")
    share = c["share"].to_numpy(dtype="float64")
    asked = np.where(~np.isnan(amount), to_cents(amount), to_cents(np.nan_to_num(share) * perf / 100.0))
    person = pd.factorize(c["employee_id"])[0]
    first = np.r_[True, person[1:] != person[:-1]] if len(c) else np.zeros(0, bool)
    start = np.maximum.accumulate(np.where(first, np.arange(len(c)), 0))
    cum = np.cumsum(asked)
    before = cum - asked - np.where(start > 0, cum[start - 1], 0)  # earlier claims of the same person
    claimed = np.clip(np.minimum(before + asked, perf) - np.minimum(before, perf), 0, None)

    # unpaid deferred at each claim's date; cancel cumulatively, claim by claim within each person
    s_emp = schedule["employee_id"].astype(str).to_numpy()
    s_due = schedule["due"].to_numpy(dtype="datetime64[ns]")
    s_cents = to_cents(schedule["scheduled"].to_numpy())
    emp_index = pd.Index(pd.unique(c["employee_id"]))
    s_person = emp_index.get_indexer(s_emp)
    in_claims = s_person >= 0
    dates = c["date"].to_numpy(dtype="datetime64[ns]")
    # unpaid_i = sum of the person's parts due after the claim's date (one pass per rank: claims per person few)
    rank = np.arange(len(c)) - start
    unpaid = np.zeros(len(c), dtype="int64")
    for r in range(int(rank.max()) + 1 if len(c) else 0):
        rows = np.flatnonzero(rank == r)
        d = np.full(len(emp_index), np.datetime64("NaT"), dtype="datetime64[ns]")
        d[person[rows]] = dates[rows]
        later = in_claims & (s_due > d[np.where(in_claims, s_person, 0)])
        total = np.bincount(s_person[later], weights=s_cents[later], minlength=len(emp_index)).astype("int64")
        unpaid[rows] = total[person[rows]]
    cancelled = np.zeros(len(c), dtype="int64")
    done = np.zeros(len(emp_index), dtype="int64")  # cancelled so far per person
    for r in range(int(rank.max()) + 1 if len(c) else 0):
        rows = np.flatnonzero(rank == r)
        p = person[rows]
        cancelled[rows] = np.clip(np.minimum(claimed[rows], unpaid[rows] - done[p]), 0, None)
        done[p] += cancelled[rows]
    # take each person's total cancellation from the schedule's latest parts first
    order = np.lexsort((-schedule["part"].to_numpy(), -s_due.astype("int64"), np.where(in_claims, s_person, -1)))
    total_cancel = np.where(in_claims, done[np.where(in_claims, s_person, 0)], 0)[order]
    sc = s_cents[order]
    grp = np.where(in_claims, s_person, -1)[order]
    gfirst = np.r_[True, grp[1:] != grp[:-1]] if len(sc) else np.zeros(0, bool)
    gstart = np.maximum.accumulate(np.where(gfirst, np.arange(len(sc)), 0))
    csum = np.cumsum(sc)
    prior = csum - sc - np.where(gstart > 0, csum[gstart - 1], 0)
    cut = np.clip(total_cancel - prior, 0, sc)
    cancel_cents = np.zeros(len(schedule), dtype="int64")
    cancel_cents[order] = cut
    schedule["cancelled"] = cancel_cents / 100.0
    schedule["payable"] = (s_cents - cancel_cents) / 100.0

    note = np.where(claimed < asked, "capped at the performance pay of the cycle", "")
    note = np.where(perf == 0, "no performance pay in the cycle: nothing to claw back", note)
    register = pd.DataFrame({
        "employee_id": c["employee_id"], "date": c["date"],
        **{k: c[k].astype("string").fillna("").to_numpy(dtype=object) for k in ("reason", "loan_id", "deal_id")},
        "share": share, "amount": amount, "performance_pay": perf / 100.0,
        "claimed": claimed / 100.0, "cancelled": cancelled / 100.0, "to_recover": (claimed - cancelled) / 100.0,
        "note": note})
    return schedule, register


# ---------------------------------------------------------------------------------------- wage bill


def allocate_within(totals: ArrayLike, group: ArrayLike, weights: ArrayLike) -> np.ndarray:
    """Split each group's total (whole cents, int) over its members in proportion to ``weights``, in whole cents
    by the largest remainder (ties to the earlier member), so the members of a group add up to its total exactly.

    ``totals[g]`` is group g's total; ``group[i]`` is member i's group (0..G-1). A group whose weights sum to 0
    gets nothing paid out (its members get 0; the caller reports the unpaid total). Returns int64 cents.
    """
    t = np.asarray(totals, dtype="int64")
    g = np.asarray(group, dtype="int64")
    w = np.clip(np.nan_to_num(np.asarray(weights, dtype="float64")), 0.0, None)
    wsum = np.bincount(g, weights=w, minlength=len(t))
    with np.errstate(divide="ignore", invalid="ignore"):
        exact = np.where(wsum[g] > 0, t[g] * w / wsum[g], 0.0)
    base = np.floor(exact + 1e-9).astype("int64")
    frac = exact - base
    paid = np.bincount(g, weights=base, minlength=len(t)).astype("int64")
    left = np.where(wsum > 0, t - paid, 0)
    order = np.lexsort((np.arange(len(g)), -frac, g))  # by group, largest remainder first, then position
    og = g[order]
    gfirst = np.r_[True, og[1:] != og[:-1]] if len(og) else np.zeros(0, bool)
    rank = np.arange(len(og)) - np.maximum.accumulate(np.where(gfirst, np.arange(len(og)), 0))
    extra = np.zeros(len(g), dtype="int64")
    extra[order] = (rank < left[og]).astype("int64")
    return base + extra


@dataclass
class WageBillUnits:
    """The units of every level of the wage bill for one population (what does not change between scenarios),
    from :func:`wage_bill_units`. Per level (lists, top-down): ``codes`` the unit of each person (0..k-1, in order
    of first appearance), ``paths`` the unit paths ("East / Pudong"), ``names`` each unit's own name, ``parent``
    each unit's parent (a code of the level above; 0 = the head office), ``unit_fte`` the fte-years of each unit,
    ``heads`` its head-count. ``fte``: each person's fte x days_share."""

    codes: list[np.ndarray]
    paths: list[np.ndarray]
    names: list[np.ndarray]
    parent: list[np.ndarray]
    unit_fte: list[np.ndarray]
    heads: list[np.ndarray]
    fte: np.ndarray


def wage_bill_units(people: pd.DataFrame, wage_bill: WageBill) -> WageBillUnits:
    """The units of each of ``wage_bill.levels`` for ``people`` (the level columns, fte, days_share)."""
    n = len(people)
    fte = np.nan_to_num(people["fte"].to_numpy(dtype="float64"), nan=1.0) * \
        people["days_share"].to_numpy(dtype="float64")
    out = WageBillUnits([], [], [], [], [], [], fte)
    parent_codes = np.zeros(n, dtype="int64")
    path = np.full(n, "", dtype=object)
    for level, col in enumerate(wage_bill.levels, start=1):
        name = people[col].astype("string").fillna("(none)").to_numpy(dtype=object)
        path = name if level == 1 else (pd.Series(path) + " / " + pd.Series(name)).to_numpy(dtype=object)
        codes, paths = pd.factorize(pd.Series(path))
        k = len(paths)
        unit_parent = np.zeros(k, dtype="int64")
        unit_parent[codes] = parent_codes
        out.codes.append(codes.astype("int64"))
        out.paths.append(paths.to_numpy(dtype=object))
        out.names.append(pd.Series(name).groupby(codes).first().reindex(range(k)).to_numpy(dtype=object))
        out.parent.append(unit_parent)
        out.unit_fte.append(np.bincount(codes, weights=fte, minlength=k))
        out.heads.append(np.bincount(codes, weights=(fte > 0).astype("float64"), minlength=k).astype("int64"))
        parent_codes = codes
    return out


def unit_score_arrays(codes: np.ndarray, k: int, actual: np.ndarray, target: np.ndarray, wage_bill: WageBill,
                      inverse: Sequence[bool]) -> np.ndarray:
    """Unit scores (scenarios x units) from each person's actual and target of the unit indicators:
    ``actual`` and ``target`` are scenarios x people x unit indicators (``wage_bill.scorecard`` order; target
    may be people x unit indicators, the same in every scenario); ``codes`` the unit of each person (0..k-1).
    score = sum_u weight_u x min(achievement_u, cap); achievement_u = sum(actual) / sum(target) over the
    unit's people (target / actual when ``inverse[u]``); no target or no actual -> 1.0. No scorecard: 1.0."""
    b = actual.shape[0]
    if not wage_bill.scorecard:
        return np.ones((b, k))
    flat = (np.arange(b, dtype="int64")[:, None] * k + codes[None, :]).ravel()
    target = np.broadcast_to(target, actual.shape)
    score = np.zeros(b * k)
    for u, unit_ind in enumerate(wage_bill.scorecard):
        a = np.bincount(flat, weights=np.nan_to_num(actual[:, :, u]).ravel(), minlength=b * k)
        t = np.bincount(flat, weights=np.nan_to_num(target[:, :, u]).ravel(), minlength=b * k)
        num, den = (t, a) if inverse[u] else (a, t)
        with np.errstate(divide="ignore", invalid="ignore"):
            ach = np.where((den > 0) & (num >= 0), num / den, 1.0)
        score += unit_ind.weight * np.minimum(ach, wage_bill.cap)
    return score.reshape(b, k)


def _inverse_flags(wage_bill: WageBill, policy: Policy) -> list[bool]:
    inverse = {i.id for i in policy.scorecard.indicators if i.curve is not None and i.curve.type == "inverse"}
    return [u.indicator in inverse for u in wage_bill.scorecard]


def unit_indicator_arrays(indicators: pd.DataFrame, employee_ids: ArrayLike, wage_bill: WageBill
                          ) -> tuple[np.ndarray, np.ndarray]:
    """(actual, target), people x unit indicators, from the engine's employee x indicator table (NaN where a
    person has no row for the indicator)."""
    ids = pd.Index(pd.Series(employee_ids).astype(str))
    actual = np.full((len(ids), len(wage_bill.scorecard)), np.nan)
    target = np.full_like(actual, np.nan)
    for u, unit_ind in enumerate(wage_bill.scorecard):
        rows = indicators[indicators["indicator"] == unit_ind.indicator]
        pos = ids.get_indexer(rows["employee_id"].astype(str))
        ok = pos >= 0
        actual[pos[ok], u] = rows["actual"].to_numpy(dtype="float64")[ok]
        target[pos[ok], u] = rows["target"].to_numpy(dtype="float64")[ok]
    return actual, target


def unit_scores(indicators: pd.DataFrame, units: pd.Series, wage_bill: WageBill, policy: Policy) -> pd.Series:
    """Unit scorecard: score = sum_k weight_k x min(achievement_k, cap) per unit (a multiple; 1.0 = on target).

    achievement_k = sum(actual) / sum(target) over the unit's people for indicator k (target / actual for an
    indicator whose curve is ``inverse``, lower is better); no target or no actual -> 1.0 (on target).
    ``indicators``: the engine's employee x indicator table (employee_id, indicator, actual, target);
    ``units``: unit of each employee id (index employee_id). No scorecard: 1.0 for every unit.
    (:func:`unit_score_arrays` on the table's figures.)
    """
    codes, names = pd.factorize(pd.Series(units.to_numpy()))
    actual, target = unit_indicator_arrays(indicators, units.index, wage_bill)
    score = unit_score_arrays(codes.astype("int64"), len(names), actual[None], target, wage_bill,
                              _inverse_flags(wage_bill, policy))
    return pd.Series(score[0], index=pd.Index(names))


def allocate_pools(units: WageBillUnits, wage_bill: WageBill, scores: list[np.ndarray], weight: np.ndarray
                   ) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], np.ndarray]:
    """The top-down split of ``wage_bill.amount`` for a batch of scenarios, in whole cents.

    ``scores``: per level, the unit scores (scenarios x units, :func:`unit_score_arrays`); ``weight``: each
    person's claim at the last level (scenarios x people). At each level (see :func:`allocate_wage_bill`):
        results_u = fte_years_u x score_u;  share_u = h x fte_years_u / sum(fte_years) + (1 - h) x results_u /
        sum(results) over the siblings (results all 0 -> by fte_years);  pool_u = parent's pool x share_u
    (largest remainder). Returns (pools, shares, paid per level (the level above's units), amounts): pools and
    shares per level (scenarios x units, cents and fractions), paid per parent level (scenarios x parents, cents,
    the last one the paid of the last level's units) and each person's amount (scenarios x people, cents).
    """
    b = weight.shape[0]
    scen = np.arange(b, dtype="int64")[:, None]
    parent_pool = np.full((b, 1), to_cents(wage_bill.amount).item(), dtype="int64")
    pools, shares, paid = [], [], []
    for level in range(len(units.codes)):
        unit_parent, unit_fte = units.parent[level], units.unit_fte[level]
        k, n_parents = len(unit_parent), parent_pool.shape[1]
        results = unit_fte[None, :] * scores[level]
        group = (scen * n_parents + unit_parent[None, :]).ravel()
        sib_fte = np.bincount(unit_parent, weights=unit_fte, minlength=n_parents)[unit_parent]
        sib_res = np.bincount(group, weights=results.ravel(), minlength=b * n_parents).reshape(
            b, n_parents)[:, unit_parent]
        with np.errstate(divide="ignore", invalid="ignore"):
            by_heads = np.where(sib_fte > 0, unit_fte / sib_fte, 0.0)
            by_results = np.where(sib_res > 0, results / sib_res, by_heads[None, :])
        share = wage_bill.headcount_weight * by_heads + (1.0 - wage_bill.headcount_weight) * by_results
        level_pools = allocate_within(parent_pool.ravel(), group, share.ravel()).reshape(b, k)
        paid.append(np.bincount(group, weights=level_pools.ravel(), minlength=b * n_parents).astype(
            "int64").reshape(b, n_parents))
        pools.append(level_pools)
        shares.append(share)
        parent_pool = level_pools
    k = parent_pool.shape[1]
    group = (scen * k + units.codes[-1][None, :]).ravel()
    amounts = allocate_within(parent_pool.ravel(), group, weight.ravel()).reshape(b, -1)
    paid.append(np.bincount(group, weights=amounts.ravel(), minlength=b * k).astype("int64").reshape(b, k))
    return pools, shares, paid, amounts


def allocate_wage_bill(people: pd.DataFrame, indicators: pd.DataFrame, policy: Policy
                       ) -> tuple[pd.DataFrame, np.ndarray]:
    """Allocate the wage bill (工资总额) top-down and pay each unit's pool to its people (二次分配).

    ``people``: one row per employee: employee_id, the ``wage_bill.levels`` columns, fte, days_share and
    ``weight`` (the person's claim at the last level: the policy's bonus before any pool, or fte x days_share x
    composite, as ``wage_bill.people`` says; see the engine).

    Level 0 is the head office, pool = ``wage_bill.amount``. At each level a parent's pool is split over its
    child units (units named by the level's column, within the parent):
        fte_years_u = sum(fte x days_share) over the unit's people
        results_u   = fte_years_u x score_u        (score: :func:`unit_scores`, a multiple of target)
        share_u     = h x fte_years_u / sum(fte_years) + (1 - h) x results_u / sum(results)  over the siblings
                      (h = ``headcount_weight``; results all 0 -> by fte_years only)
        pool_u      = the parent's pool x share_u, in whole cents by the largest remainder.
    At the last level each unit's pool is split over its people in proportion to ``weight``; a unit where
    nobody has a weight pays nothing (its pool is reported as unpaid in the tree).
    The arithmetic is :func:`allocate_pools` (vectorised over scenarios: the Monte Carlo uses it too).

    Returns (tree, amounts): tree rows level, level_name, unit, parent, headcount, fte_years, score, share, pool,
    paid (the sum of what its child units or people received), unpaid (pool - paid); amounts: each person's
    allocation (currency, whole cents) in the order of ``people``.
    """
    wb = policy.wage_bill
    assert wb is not None
    units = wage_bill_units(people, wb)
    actual, target = unit_indicator_arrays(indicators, people["employee_id"], wb)
    inverse = _inverse_flags(wb, policy)
    scores = [unit_score_arrays(codes, len(paths), actual[None], target, wb, inverse)
              for codes, paths in zip(units.codes, units.paths)]
    pools, shares, paid, amounts = allocate_pools(units, wb, scores, people["weight"].to_numpy(dtype="float64")[None])
    total = to_cents(wb.amount).item()
    tree = [pd.DataFrame({"level": [0], "level_name": [HEAD_OFFICE], "unit": [HEAD_OFFICE], "parent": [""],
                          "unit_path": [HEAD_OFFICE], "headcount": [int((units.fte > 0).sum())],
                          "fte_years": [float(units.fte.sum())], "score": [np.nan], "share": [1.0]})]
    parent_paths = np.array([HEAD_OFFICE], dtype=object)
    for level, col in enumerate(wb.levels):
        tree.append(pd.DataFrame({"level": level + 1, "level_name": col, "unit": units.names[level],
                                  "parent": parent_paths[units.parent[level]], "unit_path": units.paths[level],
                                  "headcount": units.heads[level], "fte_years": units.unit_fte[level],
                                  "score": scores[level][0], "share": shares[level][0]}))
        parent_paths = units.paths[level]
    out = pd.concat(tree, ignore_index=True)
    pool = np.concatenate([[total]] + [p[0] for p in pools])
    paid_all = np.concatenate([p[0] for p in paid])
    out["pool"] = pool / 100.0
    out["paid"] = paid_all / 100.0
    out["unpaid"] = (pool - paid_all) / 100.0
    cols = ["level", "level_name", "unit", "parent", "unit_path", "headcount", "fte_years", "score", "share",
            "pool", "paid", "unpaid"]
    return out[cols], amounts[0] / 100.0


def director_view(summary: pd.DataFrame, unit: str, labels: Sequence[str], min_group: int,
                  pay: str = "bonus") -> pd.DataFrame:
    """A sub-branch director's view: per unit and rating, head-count and pay (sum, mean) of ``pay``.

    Groups (unit x rating) with fewer than ``min_group`` people are suppressed (count and pay blank, the row
    kept with ``suppressed`` True), as are units below ``min_group`` altogether (k-anonymity: no published figure
    rests on fewer than ``min_group`` people).
    """
    s = summary[summary[unit].notna()]
    g = s.groupby([unit, "rating"], observed=True)[pay].agg(["size", "sum", "mean"]).reset_index()
    g.columns = [unit, "rating", "people", "pay_total", "pay_mean"]
    order = {r: i for i, r in enumerate(labels)}
    g = g.assign(_o=g["rating"].map(order)).sort_values([unit, "_o"]).drop(columns="_o").reset_index(drop=True)
    unit_size = g.groupby(unit)["people"].transform("sum")
    hide = (g["people"] < min_group) | (unit_size < min_group)
    g["suppressed"] = hide.to_numpy()
    g["people"] = g["people"].astype("float64").mask(hide)
    g["pay_total"] = round_cents(g["pay_total"].mask(hide).to_numpy(dtype="float64"))
    g["pay_mean"] = round_cents(g["pay_mean"].mask(hide).to_numpy(dtype="float64"))
    return g


def publishable_tree(tree: pd.DataFrame, min_group: int) -> pd.DataFrame:
    """The wage-bill tree for a shared report: units with fewer than ``min_group`` people keep their row but
    show no pool, paid or score (a small unit's pool would reveal its people's pay)."""
    t = tree.drop(columns=["unit_path"], errors="ignore").copy()
    small = t["headcount"].to_numpy() < min_group
    for c in ("pool", "paid", "unpaid", "score", "share", "fte_years"):
        t[c] = t[c].astype("float64").mask(small)
    t["suppressed"] = small
    return t


# ---------------------------------------------------------------------------------------- the checks


def _share(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / den, np.nan)


def schedule_ahead(deferrals: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """How far each row of a deferral schedule has paid ahead of even payment, in cents, and a code of its
    person (equal codes, same employee_id), row for row with ``deferrals``.

    For the schedule of a person and component with parts k = 1..K (K = its largest part) and total T (cents):
    ahead_k = (scheduled parts 1..k, cents) - T x k / K. Computed on integer codes (sums of whole cents are exact
    in any order): rows put in order of schedule and part (a schedule as :func:`deferral_schedule` makes it is in
    that order already, and then is not sorted again)."""
    # (a schedule repeats each person's id row after row: the runs are coded, not every row)
    person, _ = run_codes(deferrals["employee_id"])
    component, n_components = any_codes(deferrals["component"])
    group = person.astype(np.int64) * max(n_components, 1) + component
    part = deferrals["part"].to_numpy()
    cents = to_cents(deferrals["scheduled"].to_numpy())
    n = len(group)
    # by schedule, then part (stable: table order on ties); rows already in that order stay where they are
    in_order = n < 2 or bool(np.all((group[1:] > group[:-1]) | ((group[1:] == group[:-1]) & (part[1:] >= part[:-1]))))
    order = None if in_order else np.lexsort((part, group))
    g, c = (group, cents) if order is None else (group[order], cents[order])
    first = np.r_[True, g[1:] != g[:-1]] if n else np.zeros(0, dtype=bool)
    start = np.flatnonzero(first)
    running = np.cumsum(c)
    before = np.repeat(np.r_[0.0, running[start[1:] - 1]] if len(start) else start, np.diff(np.r_[start, n]))
    if order is None:
        cum = running - before
    else:
        cum = np.empty(n)
        cum[order] = running - before
    # each schedule's number 0, 1, ... (in order of its group code): its total and its number of parts
    which = np.cumsum(first) - 1
    if order is not None:
        which[order] = which.copy()
    total_c = np.bincount(which, weights=cents)[which]
    years = np.zeros(len(start), dtype=part.dtype)
    np.maximum.at(years, which, part)
    ahead = cum - total_c * part / years[which]
    return ahead, person


def compliance_checks(summary: pd.DataFrame, deferrals: pd.DataFrame, policy: Policy
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The sound-pay checks as a table, and the per-person figures behind them.

    Per person (``summary`` of the engine; currency):
      fixed        = the ``compliance.fixed_components`` (base_pay, allowances)
      performance  = bonus + commission awarded (paid now + deferred; forfeited parts excluded)
      total        = fixed + performance;  fixed_share = fixed / total
      deferred_share = (bonus_deferred + commission_deferred) / performance
      performance_multiple = performance / base_pay
    Rules (one row per population; status pass / fail / n/a):
      fixed_pay_share       all people and each grade: value = sum(fixed) / sum(total), limit max_fixed_share
                            (the guideline's 'generally'); people_affected: people above the limit.
      deferral_share        key-role grades (and senior_grades): value = sum(deferred) / sum(performance) over
                            their people who were not leavers, limit min_deferral_share (senior:
                            min_deferral_share_senior), less half a cent a person of rounding;
                            people_affected: those whose own share is below the limit by more than a cent.
      deferral_years        the policy's deferral years against min_deferral_years.
      deferral_pace         largest amount (currency) any schedule has paid ahead of even parts at any part,
                            limit 0.01 per part (the remainder cent); people affected: schedules ahead by more.
      performance_multiple  where max_performance_multiple is set: value = the largest person's
                            performance / base_pay, per population; people_affected: people above it.
    """
    sp = policy.compliance
    s = summary
    n = len(s)
    col = lambda c: s[c].to_numpy(dtype="float64") if c in s else np.zeros(n)  # noqa: E731
    fixed = sum(col(c) for c in sp.fixed_components)
    performance = col("bonus_paid") + col("bonus_deferred") + col("commission_paid") + col("commission_deferred") \
        if "commission_paid" in s else col("bonus_paid") + col("bonus_deferred") + col("commission")
    deferred = col("bonus_deferred") + col("commission_deferred")
    total = fixed + performance
    base = col("base_pay")
    grade_text = s["grade"].astype(str)
    grade_code, grade_labels = labelled_codes(grade_text)  # (one encoding of the column for all the look-ups below)

    def is_grade(ids: Sequence[str]) -> np.ndarray:  # whether each person's grade is one of ids (exact text)
        return np.append(grade_labels.isin(list(ids)), False)[grade_code]  # (code -1, missing grade: False)

    key = {g.id for g in policy.grades if g.key_role}
    leaver = s["leaver"].to_numpy(dtype=bool) if "leaver" in s else np.zeros(n, bool)
    employed = col("days_share") > 0 if "days_share" in s else np.ones(n, bool)
    people = pd.DataFrame({"employee_id": as_column(s["employee_id"]), "grade": as_column(grade_text),
                           "fixed": round_cents(fixed),
                           "performance": round_cents(performance), "total": round_cents(total),
                           "fixed_share": _share(fixed, total), "deferred": round_cents(deferred),
                           "deferred_share": _share(deferred, performance),
                           "performance_multiple": _share(performance, base), "key_role": is_grade(key),
                           "senior": is_grade(sp.senior_grades), "leaver": leaver})
    rows: list[dict] = []
    src = sp.source

    def add(rule: str, population: str, value: float, limit: float | None, ok: bool | None, affected: int,
            count: int, note: str = "") -> None:
        rows.append({"rule": rule, "population": population, "value": value, "limit": limit,
                     "status": "n/a" if ok is None else ("pass" if ok else "fail"), "people_affected": affected,
                     "people": count, "source": src, "note": note})

    grades = [g.id for g in policy.grades]
    populations = [("all people", employed)] + [(f"grade {g}", employed & is_grade([g])) for g in grades]
    if sp.max_fixed_share is not None:
        over = people["fixed_share"].to_numpy() > sp.max_fixed_share
        for name, m in populations:
            value = float(_share(fixed[m].sum(), total[m].sum())) if m.any() else np.nan
            add("fixed_pay_share", name, value, sp.max_fixed_share,
                None if np.isnan(value) else value <= sp.max_fixed_share, int((over & m).sum()), int(m.sum()),
                "fixed pay (" + " + ".join(sp.fixed_components) + ") / total pay: 基本薪酬一般不高于薪酬总额的35%")
    for label, grades_in, limit in (("key roles", sorted(key), sp.min_deferral_share),
                                    ("senior management", list(sp.senior_grades), sp.min_deferral_share_senior)):
        m = employed & is_grade(grades_in) & ~leaver & (performance > 0)
        population = f"{label} ({', '.join(grades_in)})" if grades_in else label
        if not grades_in:
            add("deferral_share", population, np.nan, limit, None, 0, 0,
                "no grade marked key_role" if label == "key roles" else "no grade listed in "
                "compliance.senior_grades")
            continue
        value = float(_share(deferred[m].sum(), performance[m].sum())) if m.any() else np.nan
        short = m & (np.nan_to_num(deferred) < limit * performance - 0.01)
        # each person's deferred part is rounded to the cent: the sum may fall short of the limit by up to half a
        # cent a person (seen with 100,000 people at exactly 40%), which is rounding, not a shortfall
        slack = 0.005 * m.sum() / performance[m].sum() if m.any() and performance[m].sum() > 0 else 0.0
        add("deferral_share", population, value, limit,
            None if np.isnan(value) else bool(value >= limit - slack - 1e-12),
            int(short.sum()), int(m.sum()), "deferred / performance pay (bonus + commission), leavers excluded "
            "(第十六条: 40% 以上; 主要高级管理人员 50% 以上)")
    d = policy.bonus.deferral
    defers = employed & (deferred > 0)
    add("deferral_years", "deferral policy", float(d.years), float(sp.min_deferral_years),
        d.years >= sp.min_deferral_years, 0 if d.years >= sp.min_deferral_years else int(defers.sum()),
        int(defers.sum()), "延期支付期限一般不少于3年")
    ahead_value, ahead_people, parts = 0.0, 0, max(d.years, 1)
    if len(deferrals):
        ahead, person = schedule_ahead(deferrals)
        ahead_value = float(max(ahead.max(), 0.0)) / 100.0
        bad = ahead > deferrals["part"].to_numpy() + 1e-9  # more than a cent per part
        ahead_people = int(np.unique(person[bad]).size)
    add("deferral_pace", "deferral schedules", ahead_value, 0.01 * parts, ahead_people == 0, ahead_people,
        int(defers.sum()), "paid no faster than evenly (等分, 不得前重后轻); one cent per part is rounding")
    if sp.max_performance_multiple is not None:
        mult = people["performance_multiple"].to_numpy()
        over = np.nan_to_num(mult) > sp.max_performance_multiple
        for name, m in populations:
            value = float(np.nanmax(mult[m])) if m.any() and np.isfinite(mult[m]).any() else np.nan
            add("performance_multiple", name, value, sp.max_performance_multiple,
                None if np.isnan(value) else value <= sp.max_performance_multiple, int((over & m).sum()),
                int(m.sum()), "performance pay / base pay, the largest person (绩效薪酬在基本薪酬的3倍以内)")
    return pd.DataFrame(rows, columns=list(CHECK_COLUMNS)), people


def in_words(checks: pd.DataFrame, lang: str | None, grade_names: dict[str, str] | None = None) -> pd.DataFrame:
    """The compliance table (:func:`compliance_checks`) with its ``rule`` and ``population`` in ``lang``, as
    reports and the command line show them: 'fixed_pay_share' -> 固定薪酬占薪酬总额比例, 'grade CM1' -> 'CM1职级'
    (or the grade's name from ``grade_names``), 'key roles (SCM, RM)' -> 关键岗位（SCM、RM）. Other columns as
    they are; a rule or population compkit does not know stays as written."""
    import re

    from compkit import i18n

    _ = i18n.gettext(lang)
    names = grade_names or {}
    sep = "、" if i18n.resolve(lang) == "zh-CN" else ", "

    def population(p: object) -> str:
        t = str(p)
        if t in POPULATION_NAMES:
            return _(POPULATION_NAMES[t])
        m = re.fullmatch(r"grade (\S+)", t)
        if m:
            return _(POPULATION_NAMES["grade"]).format(grade=i18n.term(names.get(m.group(1), m.group(1)), lang))
        m = re.fullmatch(r"(key roles|senior management) \((.*)\)", t)
        if m:
            grades = sep.join(g.strip() for g in m.group(2).split(","))
            return _(POPULATION_NAMES[m.group(1) + " ("]).format(grades=grades)
        return t

    out = checks.copy()
    out["rule"] = [_(RULE_NAMES[r]) if r in RULE_NAMES else str(r) for r in checks["rule"]]
    out["population"] = [population(p) for p in checks["population"]]
    return out
