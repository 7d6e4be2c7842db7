"""Supervision checks (监督): do the results add up, and what deserves a second look before they are paid?

:func:`reconciliation` follows the money and the people from the inputs to the outputs (every employee in,
every employee out; sales in = commission basis out; lines = totals; parts = totals), each to the cent.
:func:`anomalies` flags what an auditor would ask about: a commission at its cap, a rater who gives everyone
the same score, a rating far from the person's history, a pay change above the merit matrix, clawbacks, a base
salary outside its grade's range. A flag is a question, not a verdict: each row says what was seen.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from compkit import career
from compkit._arrays import cat_codes, isin
from compkit.data import Dataset
from compkit.engine import CASH_COMPONENTS, COST_COMPONENTS, Outcomes
from compkit.money import to_cents
from compkit.policy import Policy

ANOMALY_COLUMNS = ("check", "subject", "id", "detail", "value")
#: fewest ratees before a rater with a single score across everyone is flagged
MIN_RATEES_FLAT = 3


_cents = to_cents  # amounts already to the cent -> whole cents (int64)


def amount_priced_products(policy: Policy) -> list[str]:
    """Products whose commission basis is the plain sum of the sales amounts: ``basis: amount``, no
    coefficients, no FTP spread and no NPL clawback (their basis is the amount weighted, a balance, or has
    reversal lines the sales table does not hold)."""
    return [p.id for p in policy.commission.products if p.basis == "amount" and p.coefficients is None
            and not p.on_ftp_spread and p.npl_clawback is None]


def reconciliation(data: Dataset, outcomes: Outcomes, policy: Policy | None = None) -> pd.DataFrame:
    """One row per check: ``check``, ``inputs`` (what the inputs say), ``outputs`` (what the results say),
    ``difference`` (outputs - inputs), ``ok``. Money in the policy currency, compared in whole cents.

    people             employees in the data = rows of the summary (no one dropped or duplicated)
    sales basis        sum of sales in the cycle (reversals included) = sum of the commission lines' basis; with
                       ``policy``, over the products priced on the amount (:func:`amount_priced_products`)
                       only, since a balance, a coefficient or an NPL clawback makes the basis differ by design
    commission lines   sum of commission lines (settlement included) = sum of summary commission
    total cash         sum of base pay + allowances + bonus paid + commission = sum of total cash
    bonus              sum of bonus paid + bonus deferred = sum of bonus
    deferral schedule  sum of scheduled deferred parts = sum of bonus deferred
    employer cost      total cash + bonus deferred + employer contributions = sum of employer cost
    contributions      sum of each insurance's employer contribution (benefits table) = summary total
    award lines        sum of the special award lines (awards table) = sum of summary awards (where any)
    """
    s, lines = outcomes.summary, outcomes.commission
    in_ids = pd.Index(data.employees["employee_id"].astype(str))
    out_ids = pd.Index(s["employee_id"].astype(str))
    same_people = in_ids.sort_values().equals(out_ids.sort_values()) and out_ids.is_unique
    periods = set(data.periods)
    # millions of rows: only the columns summed, categorical and text columns matched by compkit._arrays.isin
    sales = data.sales[["product", "amount"]][isin(data.sales["period"], list(periods)).to_numpy()]
    product_lines = lines[["product", "basis"]][~isin(lines["product"], ["settlement"]).to_numpy()]
    if policy is not None:
        plain = amount_priced_products(policy)
        sales = sales[isin(sales["product"], list(plain)).to_numpy()]
        product_lines = product_lines[isin(product_lines["product"], list(plain)).to_numpy()]
    benefit_cols = [c for c in outcomes.benefits.columns
                    if c.startswith("employer_") and c != "employer_contributions"]
    rows = [
        ("people", len(in_ids), len(out_ids), same_people, "employees"),
        ("sales basis", _cents(sales["amount"]).sum(), _cents(product_lines["basis"]).sum(), None, "money"),
        ("commission lines", _cents(lines["commission"]).sum(), _cents(s["commission"]).sum(), None, "money"),
        ("total cash", sum(_cents(s[c]).sum() for c in CASH_COMPONENTS), _cents(s["total_cash"]).sum(), None,
         "money"),
        ("bonus", _cents(s["bonus_paid"]).sum() + _cents(s["bonus_deferred"]).sum()
         + _cents(s["bonus_forfeited"]).sum(), _cents(s["bonus"]).sum(), None, "money"),
        ("deferral schedule", _cents(s["bonus_deferred"]).sum() + _cents(s["commission_deferred"]).sum(),
         _cents(outcomes.deferrals["scheduled"]).sum(), None, "money"),
        ("employer cost", sum(_cents(s[c]).sum() for c in COST_COMPONENTS), _cents(s["employer_cost"]).sum(), None,
         "money"),
        ("employer contributions", sum(_cents(outcomes.benefits[c]).sum() for c in benefit_cols),
         _cents(s["employer_contributions"]).sum(), None, "money"),
    ]
    if len(outcomes.awards) or (s["awards"] != 0).any():  # only where the policy pays special awards
        rows.append(("award lines", _cents(outcomes.awards["amount"]).sum(), _cents(s["awards"]).sum(), None, "money"))
    table = []
    for check, a, b, ok, unit in rows:
        if unit == "money":
            a, b = int(a) / 100.0, int(b) / 100.0
            ok = _cents(a) == _cents(b)
        table.append({"check": check, "unit": "people" if unit == "employees" else "CNY", "inputs": float(a),
                      "outputs": float(b), "difference": round(float(b) - float(a), 2), "ok": bool(ok)})
    return pd.DataFrame(table)


# ----------------------------------------------------------------------------------------- anomalies


def _frame(check: str, subject: str, ids: object, detail: object, value: object) -> pd.DataFrame:
    ids = np.asarray(ids, dtype=object)
    return pd.DataFrame({"check": check, "subject": subject, "id": ids.astype(str),
                         "detail": np.asarray(detail, dtype=object) if np.ndim(detail) else detail,
                         "value": np.asarray(value, dtype="float64") if np.ndim(value) else value},
                        index=range(len(ids)))


def commission_at_cap(outcomes: Outcomes) -> pd.DataFrame:
    """People whose commission was cut to the cap (times annual base): value = the amount cut (CNY)."""
    s = outcomes.summary
    capped = s["commission_note"].astype(str).str.contains("capped", regex=False).to_numpy()
    cut = -s["commission_settlement"].to_numpy(dtype="float64")[capped]
    gross = s["commission_gross"].to_numpy(dtype="float64")[capped]
    detail = [f"commission capped: {g:,.2f} earned, {c:,.2f} cut" for g, c in zip(gross, cut)]
    return _frame("commission at cap", "employee", s["employee_id"].astype(str).to_numpy()[capped], detail, cut)


def flat_raters(ratings: pd.DataFrame, min_ratees: int = MIN_RATEES_FLAT) -> pd.DataFrame:
    """Raters (not self-ratings) who gave the same score on every item to every one of at least ``min_ratees``
    people: zero variance, so their ratings carry no information. value = that score."""
    r = ratings[~isin(ratings["rater_role"], ["self"]).to_numpy()]
    rater = r["rater_id"]
    if isinstance(rater.dtype, pd.CategoricalDtype) and not rater.isna().any():
        # millions of ratings: grouped on the raters' codes, each rater's id made text once, and the raters then
        # put in the order of those texts (the same groups and order as grouping on the ids as text)
        by = r.groupby(cat_codes(rater), sort=True)
        names = np.asarray(rater.cat.categories.astype(str), dtype=object)
    else:
        by, names = r.groupby(rater.astype(str), sort=True), None
    stats = pd.DataFrame({"ratees": by["employee_id"].nunique(), "lo": by["score"].min(), "hi": by["score"].max(),
                          "n": by["score"].size()})
    if names is not None:
        stats.index = names[stats.index.to_numpy()]
        stats = stats.sort_index()
    flat = stats[(stats["ratees"] >= min_ratees) & (stats["lo"] == stats["hi"])]
    detail = [f"gave all {int(k)} people the same score {v:g} on every item ({int(n)} ratings)"
              for k, v, n in zip(flat["ratees"], flat["lo"], flat["n"])]
    return _frame("rater gives everyone the same score", "rater", flat.index.to_numpy(), detail,
                  flat["lo"].to_numpy())


def rating_jumps(policy: Policy, data: Dataset, outcomes: Outcomes, steps: int = 2) -> pd.DataFrame:
    """People whose rating is ``steps`` or more bands away from their rating in the latest past cycle (e.g. D
    last year, B this year). value = bands moved (positive = better)."""
    labels = [b.label for b in policy.ratings.bands]  # best first
    order = {label: i for i, label in enumerate(labels)}
    h = data.history.copy()
    if h.empty:
        return _frame("rating far from history", "employee", [], [], [])
    h["employee_id"] = h["employee_id"].astype(str)
    h = h.sort_values(["employee_id", "cycle"]).groupby("employee_id").tail(1).set_index("employee_id")
    s = outcomes.summary
    ids = s["employee_id"].astype(str)
    now = s["rating"].astype(str).map(order)
    before = ids.map(h["rating"].astype(str).map(order))
    moved = (before - now).to_numpy(dtype="float64")  # positive: a better band now
    flag = np.abs(np.nan_to_num(moved, nan=0.0)) >= steps
    last_cycle = ids.map(h["cycle"].astype(str))
    detail = [f"rating {a} this cycle, {b} in {c} ({int(abs(m))} bands {'up' if m > 0 else 'down'})"
              for a, b, c, m in zip(s["rating"].astype(str)[flag], ids[flag].map(h["rating"].astype(str)),
                                    last_cycle[flag], moved[flag])]
    return _frame("rating far from history", "employee", ids[flag].to_numpy(), detail, moved[flag])


def raises_above_matrix(policy: Policy, data: Dataset, outcomes: Outcomes, tolerance: float = 0.005) -> pd.DataFrame:
    """Pay changes above what the merit matrix allows, by more than ``tolerance`` (a fraction: 0.005 = 0.5 pp).

    Two sources: (1) the salary review table (a proposal edited by hand may exceed the matrix; people moved by
    pay steps are left out: their raise is the step rule's); (2) when the
    history table carries last cycle's ``base_monthly`` (an extra column), the actual change of base salary
    since then, against the matrix entry of last cycle's rating (people whose grade changed are left out:
    a promotion raise follows other rules). value = the excess (fraction).
    """
    review = outcomes.salary_review
    excess = review["raise_pct"].to_numpy(dtype="float64") - review["merit_pct"].to_numpy(dtype="float64")
    # people moved by pay steps (salary_review.method steps, 调档) get the new step's pay, not the matrix's
    by_step = review["new_step"].notna().to_numpy() if "new_step" in review else np.zeros(len(review), bool)
    flag = (excess > tolerance) & ~by_step
    parts = [_frame("pay change above the merit matrix", "employee", review["employee_id"].astype(str)[flag],
                    [f"proposed raise {r:.2%} above the matrix {m:.2%}" for r, m in
                     zip(review["raise_pct"][flag], review["merit_pct"][flag])], excess[flag])]
    h = data.history
    if "base_monthly" in h.columns and len(h):
        h = h.assign(employee_id=h["employee_id"].astype(str))
        last = h.sort_values(["employee_id", "cycle"]).groupby("employee_id").tail(1).set_index("employee_id")
        emp = data.employees.assign(employee_id=data.employees["employee_id"].astype(str)).set_index("employee_id")
        both = last.merge(emp[["base_monthly", "grade"]], left_index=True, right_index=True, how="inner",
                          suffixes=("", "_now"))
        prev_base = pd.to_numeric(both["base_monthly"], errors="coerce").to_numpy(dtype="float64")
        now_base = both["base_monthly_now"].to_numpy(dtype="float64")
        same_grade = (both["grade"].astype(str) == both["grade_now"].astype(str)).to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            change = now_base / prev_base - 1.0
        # what the merit matrix allowed: the salary review itself, on last cycle's base and rating
        last_review, _ = career.salary_review(pd.DataFrame({
            "employee_id": both.index, "grade": both["grade_now"].astype(str).to_numpy(),
            "base_monthly": prev_base, "rating": both["rating"].astype(str).to_numpy()}), policy)
        allowed = last_review["merit_pct"].to_numpy(dtype="float64")
        over = same_grade & ~np.isnan(change) & (change - allowed > tolerance)
        parts.append(_frame(
            "pay change above the merit matrix", "employee", both.index.to_numpy()[over],
            [f"base salary {p:,.2f} -> {n:,.2f} ({c:+.2%}) since {cy}; the matrix allows {a:.2%} for rating {r}"
             for p, n, c, cy, a, r in zip(prev_base[over], now_base[over], change[over], both["cycle"][over],
                                          allowed[over], both["rating"][over])],
            change[over] - allowed[over]))
    return pd.concat(parts, ignore_index=True)


def clawbacks(outcomes: Outcomes) -> pd.DataFrame:
    """Commission clawback lines (negative months after reversals), cancelled deferred pay and clawbacks
    (追索扣回) left to recover from pay already made. value = the amount clawed back (CNY, positive)."""
    lines = outcomes.commission
    c = lines[lines["clawback"].to_numpy(dtype=bool)]
    commission = _frame("clawback", "employee", c["employee_id"].astype(str).to_numpy(),
                        [f"commission clawback in {p} ({prod}): {-v:,.2f}" for p, prod, v in
                         zip(c["period"].astype(str), c["product"].astype(str), c["commission"])],
                        -c["commission"].to_numpy(dtype="float64"))
    d = outcomes.deferrals[outcomes.deferrals["cancelled"].to_numpy(dtype="float64") > 0]
    deferred = _frame("clawback", "employee", d["employee_id"].astype(str).to_numpy(),
                      [f"deferred {c} due in {y} cancelled: {v:,.2f}" for c, y, v in
                       zip(d["component"], d["year"], d["cancelled"])],
                      d["cancelled"].to_numpy(dtype="float64"))
    reg = outcomes.clawbacks
    r = reg[reg["to_recover"].to_numpy(dtype="float64") > 0] if len(reg) else reg
    recover = _frame("clawback", "employee", r["employee_id"].astype(str).to_numpy() if len(r) else [],
                     [f"clawback ({why}) to recover from pay already made: {v:,.2f}" for why, v in
                      zip(r["reason"], r["to_recover"])] if len(r) else [],
                     r["to_recover"].to_numpy(dtype="float64") if len(r) else np.zeros(0))
    return pd.concat([commission, deferred, recover], ignore_index=True)


def base_outside_range(policy: Policy, outcomes: Outcomes) -> pd.DataFrame:
    """Monthly base salaries below the grade's minimum or above its maximum. value = distance (CNY / month,
    negative below the minimum)."""
    s = outcomes.summary
    grade = s["grade"].astype(str)
    lo = grade.map({g.id: g.base_monthly.min for g in policy.grades}).to_numpy(dtype="float64")
    hi = grade.map({g.id: g.base_monthly.max for g in policy.grades}).to_numpy(dtype="float64")
    base = s["base_monthly"].to_numpy(dtype="float64")
    dist = np.where(base < lo, base - lo, np.where(base > hi, base - hi, 0.0))
    flag = dist != 0
    detail = [f"base {b:,.2f} a month outside the {g} range {a:,.0f} to {c:,.0f}"
              for b, g, a, c in zip(base[flag], grade[flag], lo[flag], hi[flag])]
    return _frame("base salary outside the grade range", "employee", s["employee_id"].astype(str)[flag].to_numpy(),
                  detail, dist[flag])


def anomalies(policy: Policy, data: Dataset, outcomes: Outcomes) -> pd.DataFrame:
    """Every flag of every check, one row each: check, subject (employee or rater), id, detail, value."""
    parts = [commission_at_cap(outcomes), flat_raters(data.ratings), rating_jumps(policy, data, outcomes),
             raises_above_matrix(policy, data, outcomes), clawbacks(outcomes), base_outside_range(policy, outcomes)]
    out = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else \
        pd.DataFrame(columns=list(ANOMALY_COLUMNS))
    return out[list(ANOMALY_COLUMNS)]


CHECKS = ("commission at cap", "rater gives everyone the same score", "rating far from history",
          "pay change above the merit matrix", "clawback", "base salary outside the grade range")


def anomaly_counts(flags: pd.DataFrame) -> pd.DataFrame:
    """How many flags each check raised (no ids: safe for reports)."""
    counts = flags.groupby("check").size() if len(flags) else pd.Series(dtype="int64")
    return pd.DataFrame({"check": list(CHECKS), "flags": [int(counts.get(c, 0)) for c in CHECKS]})
