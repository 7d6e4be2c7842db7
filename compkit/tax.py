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

from compkit._text import gather, text_column
from compkit.data import positions
from compkit.money import round_cents, row_sums, running_max, running_sums
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
    "round_sum",
    "year_to_date",
]

#: months in a tax year (the tax year is the calendar year)
MONTHS = 12


def _table(table: Sequence[TaxBracket]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Upper limits (last = inf), rates and quick deductions of a progressive table as arrays."""
    upto = np.array([np.inf if b.upto is None else b.upto for b in table], dtype="float64")
    rate = np.array([b.rate for b in table], dtype="float64")
    quick = np.array([b.quick_deduction for b in table], dtype="float64")
    return upto, rate, quick


def _bracket(upto: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The bracket of each amount ``x`` (already rounded as the caller compares it) in a table whose limits
    ``upto`` increase (the policy checks it; the last is inf): ``np.searchsorted(upto, x, side="left")``, the
    number of limits below x, counted as len(upto) − the number of limits x is at or below (a pass per limit,
    byte indices; NaN is at or below none: len(upto), where searchsorted puts NaN too)."""
    if len(upto) > 255:
        return np.searchsorted(upto, x, side="left")
    i = np.full(np.shape(x), len(upto), dtype=np.uint8)
    at_or_below = np.empty(np.shape(x), dtype=bool)
    for limit in upto:
        np.less_equal(x, limit, out=at_or_below)
        i -= at_or_below.view(np.uint8)
    return i


#: amounts of cumulative taxable income taxed at a time by :func:`cumulative_withholding` (256 KB of float64)
_WITHHOLDING_BLOCK = 1 << 15


def round_sum(x: np.ndarray) -> np.ndarray:
    """Sums and differences of amounts already in cents, rounded to the cent: rint(x x 100) / 100 (+0.0, so
    no −0.00). For such sums the float error is far below a millionth of a cent, so this is
    :func:`compkit.money.round_cents` (half-up) in two passes instead of eight; used on the people x months
    arrays of :func:`payroll`, never on an amount with a fraction of a cent."""
    out = np.multiply(x, 100.0)
    np.rint(out, out=out)
    out /= 100.0
    out += 0.0
    return out


def bracket_tax(taxable: ArrayLike, table: Sequence[TaxBracket] = ANNUAL_TAX_TABLE) -> np.ndarray:
    """Tax on ``taxable`` income by a progressive table with quick deductions, unrounded (CNY).

    tax = max(taxable, 0) x rate − quick deduction, with the bracket whose ``upto`` is the first >= taxable
    (limits inclusive). Example (annual table): 37,000 -> 37,000 x 10% − 2,520 = 1,180.
    """
    x = np.maximum(np.asarray(taxable, dtype="float64"), 0.0)
    upto, rate, quick = _table(table)
    # limits are inclusive: 36,000 is in the 3% bracket; compare in cents so 36,000.000000001 stays there
    i = _bracket(upto, np.round(x, 6))
    return np.maximum(x * np.take(rate, i) - np.take(quick, i), 0.0)


def cumulative_withholding(gross: ArrayLike, social_insurance: ArrayLike = 0.0, special_deductions: ArrayLike = 0.0,
                           other_deductions: ArrayLike = 0.0, basic_deduction: float = 5000.0,
                           employed: ArrayLike | None = None,
                           table: Sequence[TaxBracket] = ANNUAL_TAX_TABLE, prior_taxable: ArrayLike = 0.0,
                           prior_withheld: ArrayLike = 0.0) -> dict[str, np.ndarray]:
    """累计预扣法 month by month (国家税务总局公告2018年第61号). Arrays are people x months, January first, or
    the months from the first of the cycle when the tax year began before it (a second half-year): then
    ``prior_taxable`` is the cumulative taxable income of the year's earlier months at this employer and
    ``prior_withheld`` the tax withheld in them (one value per person; 0 from January).

    A 1-D ``gross`` is one person's months (other 1-D arguments are then per month); with a 2-D ``gross`` a
    1-D argument is one value per person. employed (bool, people x months; default all True) says which
    months count for the basic deduction (5,000 x months employed at this employer so far in the year).

    taxable_cum[m] = prior_taxable + Σ_{k<=m} (gross − social_insurance − special_deductions − other_deductions)
                     − basic_deduction x Σ_{k<=m} employed                          (may be negative)
    tax_cum[m]     = round_cents(annual-table tax on max(taxable_cum[m], 0))
    withheld_cum[m] = max(prior_withheld, max_{k<=m} tax_cum[k])  (a month never withholds a negative amount)
    withheld[m]    = withheld_cum[m] − withheld_cum[m−1], withheld_cum[−1] = prior_withheld   [CNY, to the cent]

    Returns ``taxable_cum``, ``tax_cum``, ``withheld_cum`` and ``withheld``.
    """
    g0 = np.asarray(gross, dtype="float64")
    one_person = g0.ndim == 1
    g = np.atleast_2d(g0)
    shape = g.shape

    def per_month(x: ArrayLike, dtype: str = "float64") -> np.ndarray:
        # with a 2-D gross, a 1-D argument is one value per person; with a 1-D gross (one person), per month
        a = np.asarray(x, dtype=dtype)
        if a.ndim == 1 and not one_person:
            a = a[:, None]
        return np.broadcast_to(a, shape)

    income = g
    for x in (social_insurance, special_deductions, other_deductions):  # x − 0 is x: a zero scalar is skipped
        if np.ndim(x) or float(x) != 0.0:
            income = income - per_month(x)
    if employed is None:  # months employed so far: 1, 2, ... 12 in every row
        employed_cum = np.arange(1.0, shape[1] + 1.0)
    elif np.asarray(employed).dtype == bool and shape[1] < 256:  # counted in bytes: whole numbers, the same floats
        months = per_month(employed, "bool").view(np.uint8)
        counts = np.empty(shape, dtype=np.uint8)
        counts[:, 0] = months[:, 0]
        for j in range(1, shape[1]):
            np.add(counts[:, j - 1], months[:, j], out=counts[:, j])
        employed_cum = counts.astype("float64")
    else:
        employed_cum = running_sums(per_month(np.asarray(employed, dtype="float64")))
    taxable_cum = running_sums(income)
    taxable_cum -= basic_deduction * employed_cum
    earlier = np.ndim(prior_taxable) or float(prior_taxable) != 0.0 or np.ndim(prior_withheld) \
        or float(prior_withheld) != 0.0
    if earlier:  # the tax year began before the first month here
        taxable_cum += np.broadcast_to(np.asarray(prior_taxable, dtype="float64"), shape[:1])[:, None]
    tax_cum = np.empty(shape)
    per = max(1, _WITHHOLDING_BLOCK // max(shape[1], 1))
    for lo in range(0, shape[0], per):  # a block of people at a time: bracket_tax's steps stay in the cache
        part = tax_cum[lo:lo + per]
        part[...] = bracket_tax(taxable_cum[lo:lo + per], table)
        round_cents(part, out=part)
    withheld_cum = running_max(tax_cum)
    withheld = np.empty_like(withheld_cum)  # month m withholds withheld_cum[m] − withheld_cum[m − 1], to the cent
    withheld[:, 0] = withheld_cum[:, 0]
    if earlier:
        before = np.broadcast_to(round_cents(prior_withheld), shape[:1])
        np.maximum(withheld_cum, before[:, None], out=withheld_cum)
        withheld[:, 0] = withheld_cum[:, 0] - before
    np.subtract(withheld_cum[:, 1:], withheld_cum[:, :-1], out=withheld[:, 1:])
    withheld = round_sum(withheld)
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
    i = _bracket(upto, np.round(b / MONTHS, 6))
    return round_cents(np.maximum(b * np.take(rate, i) - np.take(quick, i), 0.0))


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


def _cliff_arrays(bonus: ArrayLike, table: Sequence[TaxBracket]) -> dict[str, np.ndarray]:
    """:func:`cliff_flags` as arrays."""
    b = np.asarray(bonus, dtype="float64")
    upto, rate, quick = _table(table)
    t = upto[:-1] * MONTHS  # the thresholds and ends of the ranges to avoid, as in bonus_cliffs
    tax_at = round_cents(t * rate[:-1] - quick[:-1])
    x = round_cents((t * (1 - rate[:-1]) + quick[:-1] - quick[1:]) / (1 - rate[1:]))
    j = np.searchsorted(t, np.round(b, 6), side="left") - 1      # the highest threshold strictly below b
    jj = np.clip(j, 0, len(t) - 1)
    inside = (j >= 0) & (b <= x[jj])
    net_lost = np.where(inside, (t[jj] - tax_at[jj]) - (b - annual_bonus_tax(b, table)), 0.0)
    return {"in_avoid_range": inside, "cliff": np.where(inside, t[jj], np.nan),
            "avoid_to": np.where(inside, x[jj], np.nan), "net_lost": round_cents(np.maximum(net_lost, 0.0))}


def cliff_flags(bonus: ArrayLike, table: Sequence[TaxBracket] = MONTHLY_TAX_TABLE) -> pd.DataFrame:
    """Per bonus: whether it lies in a range to avoid (T, X] of :func:`bonus_cliffs` (separate taxation
    nets no more than a bonus of T would), which threshold, the range's end, and the net lost against T.

    in_avoid_range, cliff (T or NaN), avoid_to (X or NaN), net_lost = (T − tax(T)) − (bonus − tax(bonus)) >= 0.
    """
    return pd.DataFrame(_cliff_arrays(bonus, table))


def _bonus_choice(taxable_wages: ArrayLike, bonus: ArrayLike, method: str,
                  annual_table: Sequence[TaxBracket], monthly_table: Sequence[TaxBracket]) -> dict[str, np.ndarray]:
    """:func:`bonus_treatment` as arrays (``use_combined`` bool instead of the treatment's name)."""
    w = np.atleast_1d(np.asarray(taxable_wages, dtype="float64"))
    b = np.atleast_1d(np.asarray(bonus, dtype="float64"))
    wage_tax = round_cents(bracket_tax(w, annual_table))
    separate = round_cents(wage_tax + annual_bonus_tax(b, monthly_table))
    combined = round_cents(bracket_tax(w + b, annual_table))
    shape = np.broadcast(w, b).shape
    if method == "separate":
        use_combined = np.zeros(shape, dtype=bool)
    elif method == "combined":
        use_combined = np.ones(shape, dtype=bool)
    elif method == "best":
        use_combined = combined < separate
    else:
        raise ValueError(f"method {method!r}: expected separate, combined or best")
    total = np.where(use_combined, combined, separate)
    return {"separate": np.broadcast_to(separate, shape), "combined": np.broadcast_to(combined, shape),
            "use_combined": use_combined, "total_tax": total, "bonus_tax": round_cents(total - wage_tax)}


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
    c = _bonus_choice(taxable_wages, bonus, method, annual_table, monthly_table)
    return pd.DataFrame({"separate": c["separate"], "combined": c["combined"],
                         "treatment": np.where(c["use_combined"], "combined", "separate"),
                         "total_tax": c["total_tax"], "bonus_tax": c["bonus_tax"]})


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


def _reconcile(income: ArrayLike, deductions: ArrayLike, withheld: ArrayLike, bonus: ArrayLike,
               basic_deduction_year: float, exempt_due: float, annual_table: Sequence[TaxBracket],
               monthly_table: Sequence[TaxBracket]) -> dict[str, np.ndarray]:
    """:func:`reconcile` as arrays (``use_combined`` bool instead of the treatment's name)."""
    taxable = np.asarray(income, dtype="float64") - basic_deduction_year - np.asarray(deductions, dtype="float64")
    choice = _bonus_choice(taxable, bonus, "best", annual_table, monthly_table)
    tax_due = choice["total_tax"]
    w = np.broadcast_to(round_cents(withheld), tax_due.shape)
    balance = round_cents(tax_due - w)
    return {"taxable": round_cents(np.broadcast_to(taxable, tax_due.shape)), "use_combined": choice["use_combined"],
            "tax_due": tax_due, "withheld": w, "balance": balance, "waived": (balance > 0) & (balance <= exempt_due)}


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
    r = _reconcile(income, deductions, withheld, bonus, basic_deduction_year, exempt_due, annual_table,
                   monthly_table)
    return pd.DataFrame({"taxable": r["taxable"], "treatment": np.where(r["use_combined"], "combined", "separate"),
                         "tax_due": r["tax_due"], "withheld": r["withheld"], "balance": r["balance"],
                         "waived": r["waived"]})


def payroll(wages: np.ndarray, bonus: ArrayLike, bonus_month: int, contributions: np.ndarray,
            deductible: np.ndarray, special: np.ndarray, employed: np.ndarray, tax: Tax,
            taxable_benefits: np.ndarray | float = 0.0, yearly_deductions: ArrayLike = 0.0,
            prior_income: ArrayLike = 0.0, prior_deductions: ArrayLike = 0.0, prior_withheld: ArrayLike = 0.0,
            deferred: np.ndarray | None = None, year_to_date: pd.DataFrame | None = None) -> dict[str, object]:
    """The year's payroll tax for people x months (January first, or the months of a second half-year with
    ``year_to_date``), CNY to the cent.

    wages: monthly wages without the bonus; bonus: the annual bonus paid now (one per person), paid in month
    index ``bonus_month``; contributions: the employee's social insurance, housing fund and annuity paid
    (what leaves the pay); deductible: the part of them deductible from taxable income; special: 专项附加扣除
    claimed monthly; employed: months that count for the basic deduction; taxable_benefits: employer housing
    fund above the tax-free share (taxable, not paid in cash); yearly_deductions: claimed at the
    reconciliation only (serious illness); prior_*: income, deductions and tax of another employer earlier in
    the year (reconciliation only); deferred: this cycle's deferred bonus by payment (people x parts).
    year_to_date: the tax year's earlier months at this employer, one row per person in order (columns of
    :data:`YEAR_TO_DATE`, see :func:`year_to_date`): the cumulative withholding carries on from
    ytd_income − ytd_deductions − 5,000 x ytd_months and ytd_tax_withheld; a bonus already taxed separately in
    the year (ytd_bonus_separate > 0) uses up the once-a-year separate treatment (财税〔2018〕164号: 一个纳税年度内
    只允许采用一次), so this bonus is taxed with wages; the choice, the reconciliation and the year's tax see the
    whole year.

    Treatment: ``tax.bonus`` separate / combined, or best = :func:`bonus_treatment` on the year's projected
    taxable wages (wages + taxable benefits − deductible − special − 5,000 x months employed).
    Combined: the bonus joins the bonus month's wages in the cumulative withholding. Separate: the bonus month
    also withholds :func:`annual_bonus_tax`.
    net_pay[m] = wages[m] + bonus in month m − contributions[m] − tax_withheld[m]  (tax_withheld includes the
    bonus tax). Returns monthly arrays (``taxable_cum``, the same to the cent ``taxable_income_cumulative``,
    ``tax_withheld``, ``bonus_tax``, ``net_pay``, ``bonus_paid``) and a yearly DataFrame ``year`` (one row per
    person). Vectorised: whole people x months arrays, the bonus month as one column; amounts that are sums of
    cents are rounded with one rint (``round_sum``), amounts with fractions of a cent with round_cents.
    """
    n, m = wages.shape
    bm = bonus_month
    b = np.broadcast_to(np.asarray(bonus, dtype="float64"), (n,))
    other = np.broadcast_to(np.asarray(taxable_benefits, dtype="float64"), (n, m))
    months_employed = employed.sum(axis=1)
    # the month's income for withholding, without the bonus: wages + taxable benefits − deductible − special
    with_benefits = wages + other
    income = with_benefits - deductible
    income -= special
    year_taxable = row_sums(income) - tax.basic_deduction * months_employed
    withholding_income = row_sums(with_benefits)
    ytd = None if year_to_date is None else {c: np.nan_to_num(year_to_date[c].to_numpy(dtype="float64"))
                                              for c in YEAR_TO_DATE}
    if ytd is not None:
        ytd_taxable = ytd["ytd_income"] - ytd["ytd_deductions"] - tax.basic_deduction * ytd["ytd_months"]
        year_taxable = year_taxable + ytd_taxable
        separate_used = ytd["ytd_bonus_separate"] > 0
    choice = _bonus_choice(year_taxable, b, tax.bonus, tax.annual_table, tax.monthly_table)
    combined = choice["use_combined"]
    if ytd is not None:
        combined = combined | separate_used
        choice["bonus_tax"] = np.where(separate_used, round_cents(choice["combined"] - round_cents(
            bracket_tax(year_taxable, tax.annual_table))), choice["bonus_tax"])
    # combined: the bonus joins the bonus month's income, ((wages + benefits) + bonus) − deductible − special
    income[combined, bm] = (with_benefits[combined, bm] + b[combined]) - deductible[combined, bm] \
        - np.broadcast_to(special, (n, m))[combined, bm]
    del with_benefits
    w = cumulative_withholding(income, 0.0, 0.0, 0.0, tax.basic_deduction, employed, tax.annual_table,
                               0.0 if ytd is None else ytd_taxable, 0.0 if ytd is None else ytd["ytd_tax_withheld"])
    separate_tax = np.where(combined, 0.0, annual_bonus_tax(b, tax.monthly_table))
    withheld = w["withheld"]
    withheld[:, bm] = round_cents(withheld[:, bm] + separate_tax)
    bonus_tax_m = np.zeros((n, m))
    bonus_tax_m[:, bm] = separate_tax
    bonus_paid = np.zeros((n, m))
    bonus_paid[:, bm] = b
    # net pay = wages + bonus − contributions − tax, each month (sums of cents, to the cent)
    net = wages - contributions
    net -= withheld
    net[:, bm] = ((wages[:, bm] + b) - contributions[:, bm]) - withheld[:, bm]
    net = round_sum(net)
    # the bonus's share of the tax: the separate tax, or (combined) the year's tax with it minus without it
    bonus_tax = np.where(combined, choice["bonus_tax"], separate_tax)
    cliffs = _cliff_arrays(b, tax.monthly_table)
    rec_income = year_taxable + tax.basic_deduction * months_employed + np.asarray(prior_income, dtype="float64")
    withheld_total = row_sums(withheld)
    rec_withheld = withheld_total + np.asarray(prior_withheld, dtype="float64")
    rec_bonus = b
    if ytd is not None:  # the whole year: the earlier months' income and tax; the bonus taxed separately
        rec_income = rec_income + tax.basic_deduction * ytd["ytd_months"] + np.where(separate_used, b, 0.0)
        rec_withheld = rec_withheld + ytd["ytd_tax_withheld"] + annual_bonus_tax(ytd["ytd_bonus_separate"],
                                                                                 tax.monthly_table)
        rec_bonus = np.where(separate_used, ytd["ytd_bonus_separate"], b)
    rec = _reconcile(rec_income,
                     np.asarray(yearly_deductions, dtype="float64") + np.asarray(prior_deductions, dtype="float64"),
                     rec_withheld, rec_bonus, tax.basic_deduction * MONTHS, tax.reconciliation_exempt_due,
                     tax.annual_table, tax.monthly_table)
    year = pd.DataFrame({
        "wages": round_cents(row_sums(wages)), "bonus_paid": b,
        "bonus_treatment": text_column(gather(["separate", "combined"], combined.astype(np.int64))),
        "tax_separate": choice["separate"], "tax_combined": choice["combined"],
        "bonus_tax": round_cents(bonus_tax), "net_bonus": round_cents(b - bonus_tax),
        "bonus_in_avoid_range": cliffs["in_avoid_range"] & ~combined,
        "bonus_cliff": np.where(combined, np.nan, cliffs["cliff"]),
        "bonus_avoid_to": np.where(combined, np.nan, cliffs["avoid_to"]),
        "tax_withheld": round_cents(withheld_total), "net_pay": round_cents(row_sums(net)),
        "reconciliation_tax_due": rec["tax_due"], "reconciliation_balance": rec["balance"],
        "reconciliation_waived": rec["waived"],
        # what the year's later months (a second half-year) carry on from: see year_to_date
        "months_employed": months_employed.astype("float64"),
        "withholding_income": round_cents(withholding_income + np.where(combined, b, 0.0)),
        "withholding_deductions": round_cents(row_sums(deductible) + row_sums(np.broadcast_to(special, (n, m)))),
    })
    if ytd is not None:  # what this cycle carried on from
        for c in YEAR_TO_DATE:
            year[c] = ytd[c] if c == "ytd_months" else round_cents(ytd[c])
    if deferred is not None:
        # taxed in the year paid; as wages: on top of this year's taxable wages (the estimate of that year's)
        d = np.asarray(deferred, dtype="float64")
        est = deferred_bonus_tax(d, np.maximum(year_taxable, 0.0)[:, None], tax.deferred_bonus,
                                 tax.annual_table, tax.monthly_table)
        year["deferred_bonus"] = round_cents(row_sums(d))
        year["deferred_bonus_tax"] = round_cents(row_sums(est))
    return {"taxable_cum": w["taxable_cum"], "taxable_income_cumulative": round_sum(w["taxable_cum"]),
            "tax_withheld": withheld, "bonus_tax": bonus_tax_m, "bonus_paid": bonus_paid, "net_pay": net,
            "year": year}


#: the tax year's earlier months at this employer (before the cycle), per person: what a second half-year's
#: withholding carries on from (the cumulative fields of the withholding declaration, 扣缴申报表)
YEAR_TO_DATE = ("ytd_income", "ytd_deductions", "ytd_months", "ytd_tax_withheld", "ytd_bonus_separate")


def year_to_date(tax_table: pd.DataFrame) -> pd.DataFrame:
    """The year to date after a cycle, from its ``tax`` table (:func:`payroll`'s ``year`` with employee_id), for
    the next cycle of the same tax year (a second half-year):

    ytd_income         withholding_income: wages, taxable benefits and a bonus taxed with wages
    ytd_deductions     withholding_deductions: deductible contributions and special additional deductions
    ytd_months         months_employed (5,000 each)
    ytd_tax_withheld   tax_withheld − the bonus's tax where it was taxed separately (the cumulative method's)
    ytd_bonus_separate bonus_paid where it was taxed separately (the year's one separate bonus is used), else 0
    plus what the cycle itself carried on from (ytd_* columns, when it had them). CNY; one row per employee.
    """
    t = tax_table
    separate = (t["bonus_treatment"].astype(str).to_numpy() == "separate") & (t["bonus_paid"].to_numpy() > 0)

    def earlier(c: str) -> np.ndarray:
        return t[c].to_numpy(dtype="float64") if c in t else np.zeros(len(t))

    return pd.DataFrame({
        "employee_id": t["employee_id"].astype(str).to_numpy(),
        "ytd_income": round_cents(t["withholding_income"].to_numpy() + earlier("ytd_income")),
        "ytd_deductions": round_cents(t["withholding_deductions"].to_numpy() + earlier("ytd_deductions")),
        "ytd_months": t["months_employed"].to_numpy(dtype="float64") + earlier("ytd_months"),
        "ytd_tax_withheld": round_cents(t["tax_withheld"].to_numpy() - np.where(separate, t["bonus_tax"], 0.0)
                                        + earlier("ytd_tax_withheld")),
        "ytd_bonus_separate": np.where(separate, t["bonus_paid"].to_numpy(), earlier("ytd_bonus_separate")),
    })


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
