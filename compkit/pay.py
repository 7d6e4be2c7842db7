"""Pay: base salary, allowances, performance bonus (pool, deferral), benefits (五险一金). The salary review,
promotion and demotion (career decisions) are in :mod:`compkit.career`.

Small pure functions, vectorised over whole columns: no loop runs per employee (loops run over the few grades,
allowance types or insurances). Inputs are the validated
employees table (``employee_id, grade, hire_date, exit_date, fte, base_monthly, grade_since``) and policy
objects (:mod:`compkit.policy`).

Money is in the policy's currency (CNY) and is returned **unrounded**: the engine rounds half-up to the cent
once, at the end. The exceptions say so in their docstrings: :func:`deferral_split` and
:func:`deferral_schedule` work in whole cents so that paid now + deferred = bonus and the parts of a schedule
add up to the deferred amount exactly.

Proration (DESIGN.md section 4): base, allowances and the target bonus scale by the share of the cycle's days
employed and by fte. Benefits (五险一金) scale by the share of days only: fte is already in the contribution base.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from compkit._arrays import day_number as _day_number
from compkit._arrays import day_numbers as _day_numbers
from compkit._arrays import grade_lookup as _grade_lookup
from compkit._arrays import positions
from compkit._arrays import rating_codes as _rating_codes
from compkit._text import gather as _gather
from compkit._text import text_column as _text_column
from compkit._text import text_series as _text_series
from compkit.money import round_cents, to_cents
from compkit.policy import Benefits, Bonus, BonusPool, Deferral, Grade, Policy

__all__ = [
    "MIN_DEFERRAL_SHARE",
    "MIN_DEFERRAL_YEARS",
    "allowances",
    "base_salary",
    "benefits",
    "bonus",
    "contribution_wage",
    "cycle_contributions",
    "month_days",
    "deferral_compliance",
    "deferral_schedule",
    "deferral_split",
    "cycle_months",
    "payout",
    "proration",
]

#: 商业银行稳健薪酬监管指引 (2010): key risk roles defer at least 40% of performance pay over at least 3 years
MIN_DEFERRAL_SHARE = 0.40
MIN_DEFERRAL_YEARS = 3

#: months of salary in a cycle, by ``policy.cycle``
MONTHS_IN_CYCLE = {"annual": 12, "half-year": 6}

#: a salary review annualises monthly figures over 12 months whatever the cycle (raises are annual)
MONTHS_PER_YEAR = 12


def cycle_months(policy: Policy) -> int:
    """Monthly salaries paid in one cycle: 12 for an annual policy, 6 for a half-year policy."""
    return MONTHS_IN_CYCLE[policy.cycle]


# ----------------------------------------------------------------------------------------- helpers


_to_cents = to_cents  # amount (currency) -> whole cents (int64), rounded half-up; NaN -> 0


# --------------------------------------------------------------------------------------- proration


def proration(hire_date: ArrayLike, exit_date: ArrayLike, cycle_start: object, cycle_end: object) -> np.ndarray:
    """Share of the cycle's days employed, both ends inclusive (a fraction in [0, 1]).

    days employed = (min(exit_date, cycle_end) - max(hire_date, cycle_start)).days + 1, clipped at 0;
    days in cycle = (cycle_end - cycle_start).days + 1;  share = days employed / days in cycle.

    The exit date is the last day worked (it counts). No exit date (NaT): employed to the end of the cycle.
    No hire date (NaT): employed from the start of the cycle. Someone who left before the cycle or joins after
    it gets 0. Example: hired 2025-07-01, cycle 2025 -> (2025-12-31 - 2025-07-01).days + 1 = 184 of 365 days
    = 0.504109589...
    """
    start, end = _day_number(cycle_start), _day_number(cycle_end)
    hire, no_hire = _day_numbers(hire_date)
    leave, no_exit = _day_numbers(exit_date)
    first = np.maximum(np.where(no_hire, start, hire), start)
    last = np.minimum(np.where(no_exit, end, leave), end)
    days = np.clip(last - first + 1, 0, None)
    return days / float(end - start + 1)


# ------------------------------------------------------------------------------------ base, allowances


def base_salary(employees: pd.DataFrame, policy: Policy, days_share: ArrayLike,
                months_in_cycle: int | None = None) -> pd.DataFrame:
    """Base salary for the cycle (CNY, unrounded). One row per employee, in the order of ``employees``.

    base_monthly_used = own ``base_monthly``, or the grade's midpoint when it is missing (NaN)   [CNY / month]
    base_source       = 'own' or 'grade_midpoint'
    annual_base_full  = base_monthly_used x months_in_cycle x fte   [CNY per cycle, as if employed throughout;
                        months_in_cycle: 12 for an annual policy, 6 for a half-year one (default from policy.cycle)]
    base_pay          = annual_base_full x days_share   [CNY, prorated by days employed]

    ``fte`` missing or NaN counts as 1.0 (full time).
    """
    months = MONTHS_IN_CYCLE[policy.cycle] if months_in_cycle is None else months_in_cycle
    own = employees["base_monthly"].to_numpy(dtype="float64") if "base_monthly" in employees else \
        np.full(len(employees), np.nan)
    mid = _grade_lookup(policy.grades, {g.id: g.base_monthly.mid for g in policy.grades}, employees["grade"])
    has_own = ~np.isnan(own)
    used = np.where(has_own, own, mid)
    fte = _fte(employees)
    full = used * months * fte
    return pd.DataFrame({
        "base_monthly_used": used,
        "base_source": _text_series(_gather(["grade_midpoint", "own"], has_own.astype("int64")), employees.index),
        "annual_base_full": full,
        "base_pay": full * np.asarray(days_share, dtype="float64"),
    }, index=employees.index)


def _fte(employees: pd.DataFrame) -> np.ndarray:
    if "fte" not in employees:
        return np.ones(len(employees))
    return np.nan_to_num(employees["fte"].to_numpy(dtype="float64"), nan=1.0)


def allowances(employees: pd.DataFrame, allowance_policy: dict[str, float], days_share: ArrayLike,
               fte: ArrayLike | None = None, months_in_cycle: int = 12) -> pd.DataFrame:
    """Allowances for the cycle (CNY, unrounded), one column per allowance type plus ``allowances_total``.

    <type> = monthly amount x months_in_cycle x days_share x fte   [CNY per cycle]
    allowances_total = sum over types.

    ``fte`` defaults to the employees' fte column (missing -> 1.0). Example: transport 400 / month, a joiner
    on 2025-07-01 at fte 1: 400 x 12 x 184/365 = 2,419.73 (rounded); at fte 0.5 the half of it.
    """
    f = _fte(employees) if fte is None else np.nan_to_num(np.asarray(fte, dtype="float64"), nan=1.0)
    factor = months_in_cycle * np.asarray(days_share, dtype="float64") * f
    out = pd.DataFrame(index=employees.index)
    total = np.zeros(len(employees))
    for name, monthly in allowance_policy.items():
        out[name] = monthly * factor
        total = total + out[name].to_numpy()
    out["allowances_total"] = total
    return out


# ------------------------------------------------------------------------------------------- bonus


def payout(composite: ArrayLike, curve: Sequence[Sequence[float]]) -> np.ndarray:
    """Payout as a multiple of the target bonus: straight lines between the curve's points [[score, multiple],
    ...], flat outside them (below the first point: its multiple; above the last: its multiple).

    Example on [[60, 0], [70, 0.5], [100, 1.0], [120, 1.5]]: composite 85 -> 0.5 + (85 - 70)/(100 - 70) x
    (1.0 - 0.5) = 0.75; 50 -> 0; 130 -> 1.5. Any array shape; NaN in, NaN out. Unit: multiple (1.0 = target).
    """
    pts = np.asarray(curve, dtype="float64")
    x = np.asarray(composite, dtype="float64")
    out = np.interp(x, pts[:, 0], pts[:, 1])
    return np.where(np.isnan(x), np.nan, out)


def payout_multiple(bonus_policy: Bonus, composite: ArrayLike, rating_codes: ArrayLike | None,
                    rating_labels: Sequence[str]) -> np.ndarray:
    """The bonus's payout multiple, for arrays of any shape (people, or scenarios x people): payout(composite,
    curve) when ``basis`` is composite; else by_rating[label] for the rating at ``rating_codes`` (positions in
    ``rating_labels``, -1 = no rating); a label the policy does not pay, no composite or no rating -> 0."""
    if bonus_policy.basis == "composite":
        multiple = payout(composite, bonus_policy.curve)
    else:
        table = np.array([bonus_policy.by_rating.get(k, 0.0) for k in rating_labels] + [0.0])
        multiple = table[np.asarray(rating_codes)]
    return np.nan_to_num(multiple, nan=0.0)


def pool_factor(before: np.ndarray, pool: BonusPool | None) -> np.ndarray:
    """pool.amount / sum of ``before`` along the last axis (one factor per row; 1 without a pool or when
    nobody earned a bonus), shape (..., 1)."""
    total = np.sum(before, axis=-1, keepdims=True)
    if pool is None:
        return np.ones_like(total)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, pool.amount / total, 1.0)


def bonus(employees: pd.DataFrame, policy: Policy, composite: ArrayLike, rating: ArrayLike,
          annual_base_full: ArrayLike, days_share: ArrayLike, protected: ArrayLike | None = None) -> pd.DataFrame:
    """Performance bonus (CNY, unrounded), one row per employee.

    target_bonus          = grade.target_bonus x annual_base_full   [CNY per cycle, NOT prorated]
    target_bonus_prorated = target_bonus x days_share
    payout_multiple       = payout(composite, bonus.curve) when ``bonus.basis`` is composite, else
                            bonus.by_rating[rating]; no composite / no or unknown rating -> 0 (no bonus)
    bonus_before_pool     = target_bonus x payout_multiple x days_share
    pool_factor           = bonus.pool.amount / sum(bonus_before_pool) when the policy has a pool, else 1.
                            The pool is shared out exactly, so the factor can be above 1 as well as below;
                            when nobody earned a bonus (sum 0) there is nothing to scale and the factor is 1.
                            The same value on every row.
    bonus                 = bonus_before_pool x pool_factor

    ``protected`` (new-hire protection, compkit.protection): the share of the cycle's days inside the protection
    period; those days pay max(payout_multiple, new_hire_protection.min_payout), the others payout_multiple:
    bonus_before_pool = target_bonus x [multiple x (days_share - protected) + max(multiple, min) x protected].
    """
    b = policy.bonus
    share = _grade_lookup(policy.grades, {g.id: g.target_bonus for g in policy.grades}, employees["grade"], 0.0)
    target = share * np.asarray(annual_base_full, dtype="float64")
    ds = np.asarray(days_share, dtype="float64")
    labels = list(b.by_rating) if b.basis == "rating" else []
    multiple = payout_multiple(b, composite, _rating_codes(rating, labels) if labels else None, labels)
    before = target * multiple * ds
    if protected is not None and policy.new_hire_protection is not None:
        ps = np.asarray(protected, dtype="float64")
        floor = np.maximum(multiple, policy.new_hire_protection.min_payout)
        before = target * (multiple * (ds - ps) + floor * ps)
    factor = float(pool_factor(before, b.pool)[0]) if len(before) else 1.0
    return pd.DataFrame({
        "target_bonus": target,
        "target_bonus_prorated": target * ds,
        "payout_multiple": multiple,
        "bonus_before_pool": before,
        "pool_factor": np.full(len(target), factor),
        "bonus": before * factor,
    }, index=employees.index)


# ---------------------------------------------------------------------------------------- deferral


def deferral_split(bonus: ArrayLike, key_role: ArrayLike, deferral: Deferral) -> tuple[np.ndarray, np.ndarray]:
    """Split each bonus into (paid_now, deferred), both in CENTS (CNY rounded to 0.01), adding up exactly.

    bonus_rounded = round_cents(bonus)   (half-up; NaN -> 0)
    deferred      = round_cents(deferral.share x bonus_rounded) where the deferral applies, else 0
    paid_now      = bonus_rounded - deferred        (computed in integer cents, so the sum is exact)

    The deferral applies when ``applies_to`` is ``all``, or is ``key_roles`` and the person's grade is a key
    role, and bonus_rounded >= ``min_bonus``. Example: share 0.4 on 12,345.67 -> deferred 4,938.27
    (4,938.268 rounded), paid now 7,407.40.
    """
    cents = _to_cents(bonus)
    applies = np.ones(len(cents), dtype=bool) if deferral.applies_to == "all" else \
        np.asarray(key_role, dtype=bool).reshape(-1)
    from compkit.compliance import split_deferred  # the one splitting rule (the engine calls it directly)

    return split_deferred(cents / 100.0, np.where(applies, deferral.share, 0.0), deferral.min_bonus)


def deferral_schedule(employee_ids: ArrayLike, deferred: ArrayLike, cycle_year: int, years: int,
                      clawback_share: ArrayLike | None = None, paid_through: int | None = None) -> pd.DataFrame:
    """Payment schedule of deferred bonuses, in CENTS: one row per employee x payment year.

    Payment years cycle_year + 1 ... cycle_year + years (``part`` 1 ... years).
    scheduled = equal parts of the deferred amount; the remainder cents go to the first parts, so the parts
                add up exactly to the deferred amount (10,000.00 over 3 years: 3,333.34 / 3,333.33 / 3,333.33).
    cancelled = round_cents(clawback_share x scheduled) on each part not yet paid (追索扣回): a share in [0, 1]
                per employee (NaN -> 0); a part is paid when its year <= ``paid_through`` (default: none paid,
                the position when the cycle is evaluated).
    payable   = scheduled - cancelled.

    Every employee gets ``years`` rows, in the order given (zero rows for someone with nothing deferred).
    Columns: employee_id, part, year, scheduled, cancelled, payable (currency, whole cents).
    """
    ids = employee_ids if isinstance(employee_ids, pd.Series) else pd.Series(np.asarray(employee_ids, dtype=object))
    n = len(ids)
    cents = _to_cents(deferred).reshape(-1)
    base, rem = np.divmod(cents, years)  # floor division: base x years + rem = cents, 0 <= rem < years
    part = np.arange(years)
    sched = base[:, None] + (part[None, :] < rem[:, None]).astype("int64")  # n x years
    pay_year = cycle_year + 1 + part
    if clawback_share is None:
        cancel = np.zeros_like(sched)
    else:
        s = np.clip(np.nan_to_num(np.asarray(clawback_share, dtype="float64"), nan=0.0), 0.0, 1.0).reshape(-1)
        unpaid = np.ones(years, dtype=bool) if paid_through is None else pay_year > paid_through
        cancel = np.where(unpaid[None, :], _to_cents(s[:, None] * sched / 100.0), 0)
    return pd.DataFrame({
        "employee_id": ids.take(np.repeat(np.arange(n), years)).reset_index(drop=True),
        "part": np.tile(part + 1, n),
        "year": np.tile(pay_year, n),
        "scheduled": sched.reshape(-1) / 100.0,
        "cancelled": cancel.reshape(-1) / 100.0,
        "payable": (sched - cancel).reshape(-1) / 100.0,
    })


def deferral_compliance(deferral: Deferral, grades: Sequence[Grade]) -> list[str]:
    """Warnings where the policy's deferral falls short of 商业银行稳健薪酬监管指引 (2010) for key risk roles:
    at least 40% of performance pay deferred over at least 3 years. Empty list: nothing to report.

    Checked: share < 0.40; years < 3; a ``min_bonus`` exempting smaller key-role bonuses; no grade marked
    ``key_role`` while the deferral applies to key roles only (then nobody defers).
    """
    key = [g.id for g in grades if g.key_role]
    warnings: list[str] = []
    if not key:
        if deferral.applies_to == "key_roles":
            warnings.append("no grade is marked key_role, so no bonus is deferred: check whether any grade holds "
                            "key risk roles (稳健薪酬监管指引: defer >= 40% over >= 3 years for key roles)")
        return warnings
    who = f"key-role grades {', '.join(key)}"
    if deferral.share < MIN_DEFERRAL_SHARE:
        warnings.append(f"bonus.deferral.share is {deferral.share:.0%} for {who}: 稳健薪酬监管指引 expects at "
                        f"least {MIN_DEFERRAL_SHARE:.0%} of performance pay deferred")
    if deferral.years < MIN_DEFERRAL_YEARS:
        warnings.append(f"bonus.deferral.years is {deferral.years} for {who}: 稳健薪酬监管指引 expects "
                        f"deferral over at least {MIN_DEFERRAL_YEARS} years")
    if deferral.min_bonus > 0 and deferral.share > 0:
        warnings.append(f"bonus.deferral.min_bonus {deferral.min_bonus:,.2f}: smaller bonuses of {who} are paid "
                        f"in full, without the deferral 稳健薪酬监管指引 expects for key roles")
    return warnings


# ---------------------------------------------------------------------------------------- benefits


def month_days(hire_date: ArrayLike, exit_date: ArrayLike, periods: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Days employed in each month (people x months, int) and the days of each month (months,).

    Same conventions as :func:`proration`: both ends inclusive, no hire date = from the start, no exit date =
    to the end. Example: hired 2025-07-15 -> July 17 of 31 days, August 31 of 31.
    """
    firsts = np.array([np.datetime64(p + "-01", "D") for p in periods])
    lasts = np.array([np.datetime64(p, "M") + np.timedelta64(1, "M") for p in periods]).astype("datetime64[D]") - 1
    first_n, last_n = firsts.astype("int64"), lasts.astype("int64")
    hire, no_hire = _day_numbers(hire_date)
    leave, no_exit = _day_numbers(exit_date)
    start = np.where(no_hire, first_n[0], hire)[:, None]
    end = np.where(no_exit, last_n[-1], leave)[:, None]
    days = np.clip(np.minimum(end, last_n[None, :]) - np.maximum(start, first_n[None, :]) + 1, 0, None)
    return days, last_n - first_n + 1


#: where a person's contribution wage came from (benefits table ``wage_source_*``)
WAGE_SOURCES = ("si_base", "history", "first_month", "stand_in")


def contribution_wage(employees: pd.DataFrame, history: pd.DataFrame | None, cycle_year: int,
                      first_month_wage: ArrayLike, stand_in: ArrayLike) -> pd.DataFrame:
    """Each person's contribution wage (缴费工资, CNY / month, before the floor and cap) for the months
    January-June (``wage_h1``) and July-December (``wage_h2``) of the cycle year Y.

    The contribution year runs July to June; its base is the average monthly wage of the calendar year before
    it began: January-June of Y use the average of Y-2, July-December the average of Y-1. In order:
    1. ``employees.si_base`` when given (the declared base, used for the whole cycle)          -> 'si_base'
    2. ``history.monthly_wage`` of that year (cycle 'Y-2' / 'Y-1')                               -> 'history'
    3. hired after that year: the first month's wage (``first_month_wage``)                      -> 'first_month'
    4. otherwise ``stand_in`` (the engine: this cycle's average monthly pay, bonus at target)    -> 'stand_in'
    """
    n = len(employees)
    first = np.broadcast_to(np.asarray(first_month_wage, dtype="float64"), (n,))
    fallback = np.broadcast_to(np.asarray(stand_in, dtype="float64"), (n,))
    declared = employees["si_base"].to_numpy(dtype="float64") if "si_base" in employees else np.full(n, np.nan)
    hire, no_hire = _day_numbers(employees["hire_date"])
    out = {}
    for half, year in (("h1", cycle_year - 2), ("h2", cycle_year - 1)):
        past = np.full(n, np.nan)
        if history is not None and "monthly_wage" in history and history["monthly_wage"].notna().any():
            h = history[history["monthly_wage"].notna().to_numpy()]
            h = h[(h["cycle"].astype(str).str[:4] == str(year)).to_numpy()]
            wages = h.groupby(h["employee_id"].astype(str), observed=True)["monthly_wage"].mean()
            pos = positions(employees["employee_id"].astype(str).reset_index(drop=True), pd.Index(wages.index))
            past = np.where(pos >= 0, wages.to_numpy()[np.maximum(pos, 0)], np.nan)
        joined_after = ~no_hire & (hire > _day_number(f"{year}-12-31"))
        source = np.select([~np.isnan(declared), ~np.isnan(past), joined_after], [0, 1, 2], 3)
        out[f"wage_{half}"] = np.select([source == 0, source == 1, source == 2],
                                        [declared, past, first], fallback)
        out[f"wage_source_{half}"] = _text_column(_gather(list(WAGE_SOURCES), source))
    return pd.DataFrame(out, index=employees.index)


def cycle_contributions(wage: ArrayLike, fte: ArrayLike, days_share: ArrayLike, months_in_cycle: int,
                        benefits_policy: Benefits) -> pd.DataFrame:
    """Employee and employer contributions for a whole cycle on one monthly wage per person (CNY): the monthly
    :func:`benefits` on wage x fte, every month of the cycle (January first; half-year: January-June) weighted
    by ``days_share``. Columns ``employee_contributions`` and ``employer_contributions`` (sums of the rounded
    months). For projections (e.g. next year's cost) where no monthly detail exists."""
    w = np.asarray(wage, dtype="float64") * np.nan_to_num(np.asarray(fte, dtype="float64"), nan=1.0)
    periods = [f"2000-{m:02d}" for m in range(1, months_in_cycle + 1)]
    share = np.repeat(np.asarray(days_share, dtype="float64").reshape(-1, 1), months_in_cycle, axis=1)
    monthly = benefits(w, w, share, periods, benefits_policy)
    emp = [k for k in monthly if k.startswith("employee_")]
    er = [k for k in monthly if k.startswith("employer_") and k != "employer_hf_taxable"]
    return pd.DataFrame({"employee_contributions": round_cents(sum(monthly[k].sum(axis=1) for k in emp)),
                         "employer_contributions": round_cents(sum(monthly[k].sum(axis=1) for k in er))})


#: amounts per block of :func:`_contribution` (512 KB of float64: a block's steps stay in the cache)
_CONTRIBUTION_BLOCK = 1 << 16


class _Months(NamedTuple):
    """The months of a people x months share of each month employed, as :func:`_contribution` treats them."""
    period: np.ndarray  #: each month's period: its column of the bases given per person and period
    none: np.ndarray  #: the months with share 0 (flat indices into people x months)
    part: tuple[np.ndarray, np.ndarray, np.ndarray]  #: the months with another share than 0 and 1: flat, row, column
    finite: bool  #: every share is finite

    def by_month(self, a: np.ndarray) -> np.ndarray:
        """A people x periods array -> people x months (each month its period's column), C-ordered: by
        np.repeat when the periods run in order (as the half-years do), else np.take."""
        if len(self.period) and (np.diff(self.period) >= 0).all():
            return np.repeat(a, np.bincount(self.period, minlength=a.shape[1]), axis=1)
        return np.take(a, self.period, axis=1)


def _months(share: np.ndarray, period: np.ndarray | None = None) -> _Months:
    """:class:`_Months` of ``share`` (people x months); ``period``: each month's period (default: its own)."""
    flat = np.ascontiguousarray(share, dtype="float64").reshape(-1)
    part = np.flatnonzero((flat != 0.0) & (flat != 1.0))
    return _Months(np.arange(share.shape[1]) if period is None else np.asarray(period, dtype=np.intp),
                   np.flatnonzero(flat == 0.0), (part, *np.divmod(part, share.shape[1])),
                   bool(np.isfinite(flat).all()))


def _contribution(rate: float, base: np.ndarray, share: np.ndarray, months: _Months | None = None) -> np.ndarray:
    """round_cents(rate x base x share): a month's contribution, CNY, rounded half-up to the cent (people x
    months). ``base``: per person and month, or per person and period with ``months`` (:func:`_months` of
    ``share``) giving each month's period (the half-years of :func:`benefits`, whose floor and cap change in July).

    Where rate x base and the shares are finite, a month fully employed (share 1: rate x base x 1 is rate x base)
    takes round_cents(rate x base) of its period, worked out once per person and period; a month not employed
    (share 0: rate x base x 0 is ±0.0, which rounds to +0.0) is 0; the others (a hire's or a leaver's month) are
    worked out one by one. Otherwise every month is worked out, a block of people at a time into the result
    itself (the product, then :func:`round_cents` in place). Either way the same bits as the expression."""
    share = np.asarray(share, dtype="float64")
    base = np.asarray(base, dtype="float64")
    if months is None:
        shape = np.broadcast_shapes(np.shape(base), np.shape(share))
        base, share = np.broadcast_to(base, shape), np.broadcast_to(share, shape)
        if len(shape) != 2:
            return round_cents(np.multiply(rate, base) * share)
        months = _months(share)
    share = np.broadcast_to(share, (len(base), len(months.period)))
    per_period = np.multiply(rate, base)
    if months.finite and np.isfinite(per_period).all():
        out = months.by_month(round_cents(per_period))
        flat = out.reshape(-1)  # (a view: C order)
        flat[months.none] = 0.0
        at, rows, cols = months.part
        flat[at] = round_cents(per_period[rows, months.period[cols]] * share[rows, cols])
        return out
    base = base[:, months.period]
    out = np.empty(share.shape)
    per = max(1, _CONTRIBUTION_BLOCK // max(share.shape[1], 1))
    for lo in range(0, share.shape[0], per):
        part = out[lo:lo + per]
        np.multiply(rate, base[lo:lo + per], out=part)
        part *= share[lo:lo + per]
        round_cents(part, out=part)
    return out


def benefits(wage_h1: ArrayLike, wage_h2: ArrayLike, month_share: np.ndarray, periods: Sequence[str],
             benefits_policy: Benefits) -> dict[str, np.ndarray]:
    """Monthly social insurance, housing fund and annuity contributions (五险一金, 企业年金), people x months,
    each month rounded half-up to the cent (as a payroll pays them).

    For month m (month number 1-6 -> ``wage_h1`` and the floor/cap ``base``; 7-12 -> ``wage_h2`` and
    ``base_from_july``):
    si_base = clamp(wage, social_insurance floor, cap); hf_base = clamp(wage, housing_fund floor, cap);
    annuity_base = min(wage, social-insurance cap)  (the individual's base, at most 3x the city average wage)
    <side>_<insurance> = rate x si_base x share_m; <side>_housing_fund = rate x hf_base x share_m;
    <side>_supplementary_housing_fund = supplementary rate x hf_base x share_m;
    <side>_annuity = annuity rate x annuity_base x share_m   (share_m: share of the month's days employed)
    Tax treatment (财税〔2006〕10号; 财税〔2013〕103号):
    hf_deductible = min(employee housing fund + supplementary, tax_free_rate x hf_base x share_m)
    employer_hf_taxable = max(employer housing fund + supplementary − tax_free_rate x hf_base x share_m, 0)
    annuity_deductible = min(employee annuity, deductible_rate x annuity_base x share_m)

    Example (Shanghai 2024, floor 7,384): a wage of 6,000 -> si_base 7,384; pension 8% x 7,384 = 590.72 a month.
    """
    si, hf, an = benefits_policy.social_insurance, benefits_policy.housing_fund, benefits_policy.annuity
    july = np.array([int(p[5:7]) >= 7 for p in periods])
    half = july.astype(np.intp)  # each month's half-year: 0 January-June, 1 July-December
    wage = np.stack(np.broadcast_arrays(np.asarray(wage_h1, dtype="float64"), np.asarray(wage_h2, dtype="float64")),
                    axis=1)  # people x half-years: the bases worked out per half-year, then given to its months

    def limits(part: object) -> tuple[np.ndarray, np.ndarray]:
        lim = [part.limits(j) for j in (False, True)]
        return np.array([x.floor for x in lim]), np.array([x.cap for x in lim])

    si_floor, si_cap = limits(si)
    hf_floor, hf_cap = limits(hf)
    si_base = np.clip(wage, si_floor, si_cap)
    hf_base = np.clip(wage, hf_floor, hf_cap)
    annuity_base = np.clip(wage, 0.0, si_cap)
    share = np.broadcast_to(np.asarray(month_share, dtype="float64"), (len(wage), len(periods)))
    months = _months(share, half)
    by_month = months.by_month
    out: dict[str, np.ndarray] = {"si_base": by_month(si_base), "hf_base": by_month(hf_base),
                                  "annuity_base": by_month(annuity_base),
                                  "at_floor": by_month(wage <= si_floor), "at_cap": by_month(wage >= si_cap),
                                  "hf_at_floor": by_month(wage <= hf_floor), "hf_at_cap": by_month(wage >= hf_cap)}
    for side, rates in (("employee", si.employee), ("employer", si.employer)):
        for name, rate in rates.items():
            out[f"{side}_{name}"] = _contribution(rate, si_base, share, months)
    tax_free = _contribution(hf.tax_free_rate, hf_base, share, months)
    for side in ("employee", "employer"):
        out[f"{side}_housing_fund"] = _contribution(getattr(hf, side), hf_base, share, months)
        out[f"{side}_supplementary_housing_fund"] = _contribution(getattr(hf, f"supplementary_{side}"), hf_base,
                                                                  share, months)
        out[f"{side}_annuity"] = _contribution(getattr(an, side), annuity_base, share, months)
    out["hf_deductible"] = np.minimum(out["employee_housing_fund"] + out["employee_supplementary_housing_fund"],
                                      tax_free)
    out["employer_hf_taxable"] = np.maximum(out["employer_housing_fund"]
                                            + out["employer_supplementary_housing_fund"] - tax_free, 0.0)
    out["annuity_deductible"] = np.minimum(out["employee_annuity"],
                                           _contribution(an.deductible_rate, annuity_base, share, months))
    return out
