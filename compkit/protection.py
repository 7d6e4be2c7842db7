"""New-hire protection (新人保护期): for the first months after hire, a guaranteed minimum performance pay and
no demotion, as the policy's ``new_hire_protection`` says.

protected_share  the share of the cycle's days a person is employed inside the protection period
                 [hire_date, hire_date + N months - 1 day] (both ends inclusive, as :func:`compkit.pay.proration`)
bonus            the engine's performance bonus takes, for the protected days, the larger of the payout multiple
                 and ``min_payout`` (:func:`compkit.pay.bonus`, argument ``protected``):
                 bonus = target_bonus x [multiple x (days_share - protected_share)
                                         + max(multiple, min_payout) x protected_share]
demotion         a person still inside the protection period at the end of the cycle is not demoted
                 (:func:`block_demotions`); the promotion table says why.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from compkit.pay import proration
from compkit.policy import NewHireProtection


def protection_end(hire_date: ArrayLike, months: int) -> pd.DatetimeIndex:
    """Last day of the protection period: hire_date + ``months`` months - 1 day (NaT without a hire date).
    Example: hired 2025-07-15, 6 months -> 2026-01-14."""
    hire = pd.DatetimeIndex(pd.to_datetime(np.asarray(hire_date)))
    return hire + pd.DateOffset(months=months) - pd.Timedelta(days=1)


def protected_share(hire_date: ArrayLike, exit_date: ArrayLike, cycle_start: object, cycle_end: object,
                    months: int) -> np.ndarray:
    """Share of the cycle's days employed inside the protection period (a fraction in [0, days_share]).

    = proration(hire_date, min(exit_date, protection_end), cycle_start, cycle_end); no hire date: 0.
    Example: hired 2025-09-01, 6 months, cycle 2025: 2025-09-01 to 2025-12-31 = 122 of 365 days = 0.334."""
    end = protection_end(hire_date, months)
    leave = pd.DatetimeIndex(pd.to_datetime(np.asarray(exit_date)))
    last = np.where(leave.isna() | (leave > end), end, leave)
    share = proration(hire_date, pd.DatetimeIndex(last), cycle_start, cycle_end)
    return np.where(pd.isna(np.asarray(pd.to_datetime(np.asarray(hire_date)))), 0.0, share)


def block_demotions(promotions: pd.DataFrame, hire_date: ArrayLike, cycle_end: object,
                    rule: NewHireProtection) -> pd.DataFrame:
    """The promotion table with the demotions of people still protected at ``cycle_end`` turned into 'none',
    with the reason "new-hire protection until <date>: no demotion (was: <reason>)". Rows in the same order."""
    if not rule.no_demotion:
        return promotions
    demote = np.flatnonzero((promotions["recommendation"].astype(str) == "demote").to_numpy())
    # the protection's end worked out for the people recommended for demotion only (a few in 100,000)
    end = protection_end(np.asarray(hire_date)[demote], rule.months)
    protected = np.asarray(end >= pd.Timestamp(cycle_end), dtype=bool)
    demoted = np.zeros(len(promotions), dtype=bool)
    demoted[demote[protected]] = True
    if not demoted.any():
        return promotions
    out = promotions.copy()
    until = pd.Series(end[protected].strftime("%Y-%m-%d"))
    out.loc[demoted, "reason"] = ("new-hire protection until " + until + ": no demotion (was: "
                                  + out.loc[demoted, "reason"].astype(str).to_numpy() + ")").to_numpy()
    out.loc[demoted, "recommendation"] = "none"
    out.loc[demoted, "to_grade"] = ""
    return out
