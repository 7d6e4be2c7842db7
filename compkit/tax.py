"""Individual income tax on wages (个人所得税): cumulative monthly withholding, the annual bonus, the choice
between taxing the bonus separately or with wages, bonus cliffs, deferred bonus, the annual reconciliation.

Vectorised over people x months: a 2-D array has one row per person and one column per month, January first.
Scalars and 1-D arrays (one value per person) broadcast. Money is CNY; taxes come back rounded half-up to
the cent (the amount a payroll withholds). The tables are the policy's (:class:`compkit.policy.Tax`, defaults
from the law); every function takes them as arguments with the law's tables as defaults.

Sources (see README "Income tax"):

- 国家税务总局公告2018年第61号 (累计预扣法): cumulative taxable income = cumulative wages − 5,000 x months employed
  at this employer in the year − cumulative social insurance and housing fund − cumulative special additional
  deductions − other deductions; cumulative tax = taxable x rate − quick deduction (annual table); the month
  withholds cumulative tax − tax already withheld, never negative (nothing is refunded within the year).
- 财税〔2018〕164号 一 (extended to 2027-12-31 by 财政部 税务总局公告2023年第30号): the annual bonus may be taxed on
  its own: bonus / 12 picks rate and quick deduction in the monthly table; tax = bonus x rate − quick deduction
  (the quick deduction once, hence cliffs at 12 x each monthly bracket limit).
- 个人所得税法 第二条, 第六条 and 综合所得年度汇算 (e.g. 国家税务总局公告2024年第2号): the year's comprehensive income
  is taxed on the annual table; tax due − tax withheld is the amount due (+) or the refund (−); 财政部 税务总局
  公告2023年第32号 waives amounts due up to 400.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from compkit.data import positions
from compkit.money import round_cents
from compkit.policy import ANNUAL_TAX_TABLE, DEDUCTION_KIND_NAMES, MONTHLY_TAX_TABLE, Tax, TaxBracket

__all__ = [
    "annual_bonus_tax",
    "bonus_cliffs",
    "bonus_treatment",
    "bracket_tax",
    "cliff_flags",
    "cumulative_withholding",
    "deductions_by_month",
    "deferred_bonus_tax",
    "monthly_withholding",
    "payroll",
    "reconcile",
]

#: months in a tax year (the tax year is the calendar year)
MONTHS = 12


def _table(table: Sequence[TaxBracket]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Upper limits (last = inf), rates and quick deductions of a progressive table as arrays."""
    upto = np.array([np.inf if b.upto is None else b.upto for b in table], dtype="float64")
    rate = np.array([b.rate for b in table], dtype="float64")
    quick = np.array([b.quick_deduction for b in table], dtype="float64")
    return upto, rate, quick


def bracket_tax(taxable: ArrayLike, table: Sequence[TaxBracket] = ANNUAL_TAX_TABLE) -> np.ndarray:
    """Tax on ``taxable`` income by a progressive table with quick deductions, unrounded (CNY).

    tax = max(taxable, 0) x rate − quick deduction, with the bracket whose ``upto`` is the first >= taxable
    (limits inclusive). Example (annual table): 37,000 -> 37,000 x 10% − 2,520 = 1,180.
    """
    x = np.maximum(np.asarray(taxable, dtype="float64"), 0.0)
    upto, rate, quick = _table(table)
    # limits are inclusive: 36,000 is in the 3% bracket; compare in cents so 36,000.000000001 stays there
    i = np.searchsorted(upto, np.round(x, 6), side="left")
    return np.maximum(x * rate[i] - quick[i], 0.0)


def cumulative_withholding(gross: ArrayLike, social_insurance: ArrayLike = 0.0, special_deductions: ArrayLike = 0.0,
                           other_deductions: ArrayLike = 0.0, basic_deduction: float = 5000.0,
                           employed: ArrayLike | None = None,
                           table: Sequence[TaxBracket] = ANNUAL_TAX_TABLE) -> dict[str, np.ndarray]:
    """累计预扣法 month by month (国家税务总局公告2018年第61号). Arrays are people x months, January first.

    A 1-D ``gross`` is one person's months (other 1-D arguments are then per month); with a 2-D ``gross`` a
    1-D argument is one value per person. employed (bool, people x months; default all True) says which
    months count for the basic deduction (5,000 x months employed at this employer so far in the year).

    taxable_cum[m] = Σ_{k<=m} (gross − social_insurance − special_deductions − other_deductions)
                     − basic_deduction x Σ_{k<=m} employed                          (may be negative)
    tax_cum[m]     = round_cents(annual-table tax on max(taxable_cum[m], 0))
    withheld_cum[m] = max_{k<=m} tax_cum[k]      (a month never withholds a negative amount)
    withheld[m]    = withheld_cum[m] − withheld_cum[m−1]                              [CNY, to the cent]

    Returns ``taxable_cum``, ``tax_cum``, ``withheld_cum`` and ``withheld``.
    """
    g0 = np.asarray(gross, dtype="float64")
    one_person = g0.ndim == 1
    g = np.atleast_2d(g0)
    shape = g.shape

    def per_month(x: ArrayLike) -> np.ndarray:
        # with a 2-D gross, a 1-D argument is one value per person; with a 1-D gross (one person), per month
        a = np.asarray(x, dtype="float64")
        if a.ndim == 1 and not one_person:
            a = a[:, None]
        return np.broadcast_to(a, shape)

    income = g - per_month(social_insurance) - per_month(special_deductions) - per_month(other_deductions)
    months = np.ones(shape) if employed is None else per_month(np.asarray(employed, dtype="float64"))
    taxable_cum = np.cumsum(income, axis=1) - basic_deduction * np.cumsum(months, axis=1)
    tax_cum = round_cents(bracket_tax(taxable_cum, table))
    withheld_cum = np.maximum.accumulate(tax_cum, axis=1)
    withheld = round_cents(np.diff(withheld_cum, axis=1, prepend=0.0))
    out = {"taxable_cum": taxable_cum, "tax_cum": tax_cum, "withheld_cum": withheld_cum, "withheld": withheld}
    return {k: v[0] for k, v in out.items()} if one_person else out


def monthly_withholding(gross: ArrayLike, social_insurance: ArrayLike = 0.0, special_deductions: ArrayLike = 0.0,
                        other_deductions: ArrayLike = 0.0, basic_deduction: float = 5000.0,
                        employed: ArrayLike | None = None,
                        table: Sequence[TaxBracket] = ANNUAL_TAX_TABLE) -> np.ndarray:
    """Tax withheld each month (people x months, CNY to the cent) by the cumulative method; see
    :func:`cumulative_withholding`. Worked example of 公告2018年第61号: 30,000 a month, 4,500 social insurance,
    2,000 special additional deductions -> 555 (18,500 x 3%), 625 (37,000 x 10% − 2,520 − 555),
    1,850 (55,500 x 10% − 2,520 − 1,180)."""
    return cumulative_withholding(gross, social_insurance, special_deductions, other_deductions, basic_deduction,
                                  employed, table)["withheld"]


def annual_bonus_tax(bonus: ArrayLike, table: Sequence[TaxBracket] = MONTHLY_TAX_TABLE) -> np.ndarray:
    """Tax on an annual bonus taxed separately (财税〔2018〕164号), CNY to the cent.

    rate, quick deduction = the monthly-table bracket of bonus / 12; tax = bonus x rate − quick deduction
    (once). Examples: 36,000 -> 3,000 a month, 3% -> 1,080; 36,001 -> 10% -> 3,600.10 − 210 = 3,390.10.
    """
    b = np.maximum(np.asarray(bonus, dtype="float64"), 0.0)
    upto, rate, quick = _table(table)
    i = np.searchsorted(upto, np.round(b / MONTHS, 6), side="left")
    return round_cents(np.maximum(b * rate[i] - quick[i], 0.0))


def bonus_cliffs(table: Sequence[TaxBracket] = MONTHLY_TAX_TABLE) -> pd.DataFrame:
    """The cliffs of the separate bonus tax and the range to avoid (无效区间) above each.

    threshold  T = 12 x a monthly bracket limit (36,000, 144,000, 300,000, 420,000, 660,000, 960,000)
    tax_at     tax on a bonus of T (rate r_i, quick q_i); tax_above: on T + 1 (rate r_{i+1}, quick q_{i+1})
    extra_tax  tax_above − tax_at (36,000: 3,390.10 − 1,080 = 2,310.10 for one more yuan)
    avoid_to   X where the net bonus climbs back to the net at T: X − (X r_{i+1} − q_{i+1}) = T − (T r_i − q_i)
               => X = (T (1 − r_i) + q_i − q_{i+1}) / (1 − r_{i+1}); a bonus in (T, X) nets less than T.
               36,000: (34,920 − 210) / 0.9 = 38,566.67.
    """
    upto, rate, quick = _table(table)
    t = upto[:-1] * MONTHS
    tax_at = round_cents(t * rate[:-1] - quick[:-1])
    tax_above = round_cents((t + 1) * rate[1:] - quick[1:])
    avoid_to = (t * (1 - rate[:-1]) + quick[:-1] - quick[1:]) / (1 - rate[1:])
    return pd.DataFrame({"threshold": t, "tax_at": tax_at, "tax_above": tax_above,
                         "extra_tax": round_cents(tax_above - tax_at), "avoid_from": t,
                         "avoid_to": round_cents(avoid_to)})


def cliff_flags(bonus: ArrayLike, table: Sequence[TaxBracket] = MONTHLY_TAX_TABLE) -> pd.DataFrame:
    """Per bonus: whether it lies in a range to avoid (T, X] of :func:`bonus_cliffs` (separate taxation
    nets no more than a bonus of T would), which threshold, the range's end, and the net lost against T.

    in_avoid_range, cliff (T or NaN), avoid_to (X or NaN), net_lost = (T − tax(T)) − (bonus − tax(bonus)) >= 0.
    """
    b = np.asarray(bonus, dtype="float64")
    cliffs = bonus_cliffs(table)
    t, x = cliffs["threshold"].to_numpy(), cliffs["avoid_to"].to_numpy()
    j = np.searchsorted(t, np.round(b, 6), side="left") - 1      # the highest threshold strictly below b
    jj = np.clip(j, 0, len(t) - 1)
    inside = (j >= 0) & (b <= x[jj])
    cliff = np.where(inside, t[jj], np.nan)
    net_lost = np.where(inside, (t[jj] - cliffs["tax_at"].to_numpy()[jj]) - (b - annual_bonus_tax(b, table)), 0.0)
    return pd.DataFrame({"in_avoid_range": inside, "cliff": cliff, "avoid_to": np.where(inside, x[jj], np.nan),
                         "net_lost": round_cents(np.maximum(net_lost, 0.0))})


def bonus_treatment(taxable_wages: ArrayLike, bonus: ArrayLike, method: str = "best",
                    annual_table: Sequence[TaxBracket] = ANNUAL_TAX_TABLE,
                    monthly_table: Sequence[TaxBracket] = MONTHLY_TAX_TABLE) -> pd.DataFrame:
    """The year's tax with the bonus taxed separately or with wages, and the treatment ``method`` picks.

    taxable_wages: the year's comprehensive income after every deduction, without the bonus (may be negative
    when deductions exceed wages).  separate = annual(max(taxable_wages, 0)) + bonus_tax(bonus);
    combined = annual(max(taxable_wages + bonus, 0)); best = the lower of the two (separate on a tie).
    Returns ``separate``, ``combined`` (total tax on wages + bonus, CNY to the cent), ``treatment``
    ('separate' / 'combined'), ``total_tax`` and ``bonus_tax`` (= total tax − tax on the wages alone).
    """
    w = np.atleast_1d(np.asarray(taxable_wages, dtype="float64"))
    b = np.atleast_1d(np.asarray(bonus, dtype="float64"))
    wage_tax = round_cents(bracket_tax(w, annual_table))
    separate = round_cents(wage_tax + annual_bonus_tax(b, monthly_table))
    combined = round_cents(bracket_tax(w + b, annual_table))
    if method == "separate":
        use_combined = np.zeros(np.broadcast(w, b).shape, dtype=bool)
    elif method == "combined":
        use_combined = np.ones(np.broadcast(w, b).shape, dtype=bool)
    elif method == "best":
        use_combined = combined < separate
    else:
        raise ValueError(f"method {method!r}: expected separate, combined or best")
    total = np.where(use_combined, combined, separate)
    return pd.DataFrame({"separate": np.broadcast_to(separate, total.shape),
                         "combined": np.broadcast_to(combined, total.shape),
                         "treatment": np.where(use_combined, "combined", "separate"),
                         "total_tax": total, "bonus_tax": round_cents(total - wage_tax)})


def deferred_bonus_tax(payable: ArrayLike, taxable_wages: ArrayLike = 0.0, treatment: str = "as_bonus",
                       annual_table: Sequence[TaxBracket] = ANNUAL_TAX_TABLE,
                       monthly_table: Sequence[TaxBracket] = MONTHLY_TAX_TABLE) -> np.ndarray:
    """Tax on a deferred bonus in the year it is paid (CNY to the cent).

    as_bonus: annual_bonus_tax(payable) (the year's one separate bonus);
    as_wages: annual(taxable_wages + payable) − annual(taxable_wages), the extra tax on top of that year's
    wages (``taxable_wages``: that year's taxable income, an estimate when the year is in the future).
    """
    p = np.asarray(payable, dtype="float64")
    if treatment == "as_bonus":
        return annual_bonus_tax(p, monthly_table)
    if treatment == "as_wages":
        w = np.asarray(taxable_wages, dtype="float64")
        return round_cents(round_cents(bracket_tax(w + p, annual_table)) - round_cents(bracket_tax(w, annual_table)))
    raise ValueError(f"treatment {treatment!r}: expected as_bonus or as_wages")


def reconcile(income: ArrayLike, deductions: ArrayLike, withheld: ArrayLike, bonus: ArrayLike = 0.0,
              basic_deduction_year: float = 60000.0, exempt_due: float = 400.0,
              annual_table: Sequence[TaxBracket] = ANNUAL_TAX_TABLE,
              monthly_table: Sequence[TaxBracket] = MONTHLY_TAX_TABLE) -> pd.DataFrame:
    """综合所得年度汇算: the year's tax on comprehensive income against the tax withheld (CNY to the cent).

    income: the year's wages from every employer (without the annual bonus); deductions: social insurance,
    housing fund, deductible annuity, special additional deductions (including serious illness, claimed here)
    and other deductions for the year; withheld: all tax withheld in the year, bonus tax included.
    taxable = income − basic_deduction_year (60,000 whatever the months worked) − deductions; at the
    reconciliation the taxpayer takes the lower of bonus separate / combined (:func:`bonus_treatment`, best).
    balance = tax due − withheld: > 0 amount due (补税), < 0 refund (退税); ``waived`` when
    0 < balance <= exempt_due (财政部 税务总局公告2023年第32号).
    Returns taxable, treatment, tax_due, withheld, balance, waived.
    """
    taxable = np.asarray(income, dtype="float64") - basic_deduction_year - np.asarray(deductions, dtype="float64")
    choice = bonus_treatment(taxable, bonus, "best", annual_table, monthly_table)
    tax_due = choice["total_tax"].to_numpy()
    w = np.broadcast_to(round_cents(withheld), tax_due.shape)
    balance = round_cents(tax_due - w)
    return pd.DataFrame({"taxable": round_cents(np.broadcast_to(taxable, tax_due.shape)),
                         "treatment": choice["treatment"].to_numpy(), "tax_due": tax_due, "withheld": w,
                         "balance": balance, "waived": (balance > 0) & (balance <= exempt_due)})


def payroll(wages: np.ndarray, bonus: ArrayLike, bonus_month: int, contributions: np.ndarray,
            deductible: np.ndarray, special: np.ndarray, employed: np.ndarray, tax: Tax,
            taxable_benefits: np.ndarray | float = 0.0, yearly_deductions: ArrayLike = 0.0,
            prior_income: ArrayLike = 0.0, prior_deductions: ArrayLike = 0.0, prior_withheld: ArrayLike = 0.0,
            deferred: np.ndarray | None = None) -> dict[str, object]:
    """The year's payroll tax for people x months (January first), CNY to the cent.

    wages: monthly wages without the bonus; bonus: the annual bonus paid now (one per person), paid in month
    index ``bonus_month``; contributions: the employee's social insurance, housing fund and annuity paid
    (what leaves the pay); deductible: the part of them deductible from taxable income; special: 专项附加扣除
    claimed monthly; employed: months that count for the basic deduction; taxable_benefits: employer housing
    fund above the tax-free share (taxable, not paid in cash); yearly_deductions: claimed at the
    reconciliation only (serious illness); prior_*: income, deductions and tax of another employer earlier in
    the year (reconciliation only); deferred: this cycle's deferred bonus by payment (people x parts).

    Treatment: ``tax.bonus`` separate / combined, or best = :func:`bonus_treatment` on the year's projected
    taxable wages (wages + taxable benefits − deductible − special − 5,000 x months employed).
    Combined: the bonus joins the bonus month's wages in the cumulative withholding. Separate: the bonus month
    also withholds :func:`annual_bonus_tax`.
    net_pay[m] = wages[m] + bonus in month m − contributions[m] − tax_withheld[m]  (tax_withheld includes the
    bonus tax). Returns monthly arrays (``taxable_cum``, ``tax_withheld``, ``bonus_tax``, ``net_pay``,
    ``bonus_paid``) and a yearly DataFrame ``year`` (one row per person).
    """
    n, m = wages.shape
    b = np.broadcast_to(np.asarray(bonus, dtype="float64"), (n,))
    other = np.broadcast_to(np.asarray(taxable_benefits, dtype="float64"), (n, m))
    months_employed = employed.sum(axis=1)
    year_taxable = (wages + other - deductible - special).sum(axis=1) - tax.basic_deduction * months_employed
    choice = bonus_treatment(year_taxable, b, tax.bonus, tax.annual_table, tax.monthly_table)
    combined = (choice["treatment"] == "combined").to_numpy()
    bonus_paid = np.zeros((n, m))
    bonus_paid[:, bonus_month] = b
    income = wages + other + np.where(combined[:, None], bonus_paid, 0.0)
    w = cumulative_withholding(income, deductible, special, 0.0, tax.basic_deduction, employed, tax.annual_table)
    separate_tax = np.where(combined, 0.0, annual_bonus_tax(b, tax.monthly_table))
    bonus_tax_m = np.zeros((n, m))
    bonus_tax_m[:, bonus_month] = separate_tax
    withheld = round_cents(w["withheld"] + bonus_tax_m)
    net = round_cents(wages + bonus_paid - contributions - withheld)
    # the bonus's share of the tax: the separate tax, or (combined) the year's tax with it minus without it
    bonus_tax = np.where(combined, choice["bonus_tax"].to_numpy(), separate_tax)
    cliffs = cliff_flags(b, tax.monthly_table)
    rec = reconcile(year_taxable + tax.basic_deduction * months_employed + np.asarray(prior_income, dtype="float64"),
                    np.asarray(yearly_deductions, dtype="float64") + np.asarray(prior_deductions, dtype="float64"),
                    withheld.sum(axis=1) + np.asarray(prior_withheld, dtype="float64"), b,
                    tax.basic_deduction * MONTHS, tax.reconciliation_exempt_due, tax.annual_table,
                    tax.monthly_table)
    year = pd.DataFrame({
        "wages": round_cents(wages.sum(axis=1)), "bonus_paid": b, "bonus_treatment": choice["treatment"].to_numpy(),
        "tax_separate": choice["separate"].to_numpy(), "tax_combined": choice["combined"].to_numpy(),
        "bonus_tax": round_cents(bonus_tax), "net_bonus": round_cents(b - bonus_tax),
        "bonus_in_avoid_range": cliffs["in_avoid_range"].to_numpy() & ~combined,
        "bonus_cliff": np.where(combined, np.nan, cliffs["cliff"].to_numpy()),
        "bonus_avoid_to": np.where(combined, np.nan, cliffs["avoid_to"].to_numpy()),
        "tax_withheld": round_cents(withheld.sum(axis=1)), "net_pay": round_cents(net.sum(axis=1)),
        "reconciliation_tax_due": rec["tax_due"].to_numpy(), "reconciliation_balance": rec["balance"].to_numpy(),
        "reconciliation_waived": rec["waived"].to_numpy(),
    })
    if deferred is not None:
        # taxed in the year paid; as wages: on top of this year's taxable wages (the estimate of that year's)
        d = np.asarray(deferred, dtype="float64")
        est = deferred_bonus_tax(d, np.maximum(year_taxable, 0.0)[:, None], tax.deferred_bonus,
                                 tax.annual_table, tax.monthly_table)
        year["deferred_bonus"] = round_cents(d.sum(axis=1))
        year["deferred_bonus_tax"] = round_cents(est.sum(axis=1))
    return {"taxable_cum": w["taxable_cum"], "tax_withheld": withheld, "bonus_tax": bonus_tax_m,
            "bonus_paid": bonus_paid, "net_pay": net, "year": year}


#: deduction kinds claimed at the annual reconciliation only (not in monthly withholding)
YEARLY_KINDS = ("serious_illness",)


def deductions_by_month(deductions: pd.DataFrame | None, ids: pd.Series,
                        periods: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The ``deductions`` table (employee_id, period, kind, amount; validated) as monthly special additional
    deductions (people x months, CNY) and the yearly ones claimed at the reconciliation (people,)."""
    n, m = len(ids), len(periods)
    if deductions is None or not len(deductions):
        return np.zeros((n, m)), np.zeros(n)
    row = positions(deductions["employee_id"], pd.Index(ids)).astype("int64")
    col = positions(deductions["period"].astype(str), pd.Index(periods)).astype("int64")
    amount = deductions["amount"].to_numpy(dtype="float64")
    kind = deductions["kind"].astype(str).map(lambda k: DEDUCTION_KIND_NAMES.get(k, k))  # 子女教育 etc.
    yearly = kind.isin(YEARLY_KINDS).to_numpy()
    ok = (row >= 0) & (col >= 0)
    monthly = np.bincount(row[ok & ~yearly] * m + col[ok & ~yearly], weights=amount[ok & ~yearly],
                          minlength=n * m).reshape(n, m)
    per_year = np.bincount(row[ok & yearly], weights=amount[ok & yearly], minlength=n)
    return round_cents(monthly), round_cents(per_year)
