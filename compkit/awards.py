"""Special awards (单项奖 / 专项激励): policy-defined awards paid by the engine on top of the bonus.

Each award of the policy's ``awards`` list (:class:`compkit.policy.Award`) names a measure, who is eligible and
who wins; :func:`award_lines` returns one line per winner and award, and the engine adds a person's lines to
``summary.awards`` (part of total cash) and keeps the lines as ``Outcomes.awards``. Examples::

    awards:
      - {id: best_newcomer, name: 最佳新人奖, measure: composite, among: new_hires, winners: 1, amount: 5000}
      - {id: deposit_growth, name: 存款增长奖, measure: indicator_growth, indicator: deposits_adb,
         within: region, winners: 1, amount: 8000}
      - {id: insurance_q4, name: 四季度保险营销竞赛, measure: sales, product: insurance,
         period: [2025-10, 2025-12], min_value: 500000, rate: 0.002}

Measures (per person): composite; an indicator's score; an indicator's growth = actual in the last month of the
period - actual in its first month (both months needed; CNY for balances); sales = the sum of the product's
sales in the period (reversals included). Eligible: employed at the end of the cycle, hired within
``new_hire_months`` before its end for ``among: new_hires``, composite >= ``min_composite`` when set, a measure
above 0 and at least ``min_value`` when set. Winners: with ``winners`` n, the people ranked 1..n by the measure
within their group (ties at the last place all win: rank by "min"); without it, every eligible person.
Amount = ``amount`` + ``rate`` x measure, rounded half-up to the cent.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from compkit._arrays import positions
from compkit.data import Dataset
from compkit.money import round_cents
from compkit.policy import Award, Policy

COLUMNS = ["employee_id", "award", "award_name", "group", "measure", "value", "rank", "amount"]


def _months(award: Award, data: Dataset) -> list[str]:
    if award.period is None:
        return list(data.periods)
    first, last = award.period
    return [p for p in data.periods if first <= p <= last]


def measure_values(award: Award, data: Dataset, people: pd.DataFrame, indicators: pd.DataFrame) -> np.ndarray:
    """The award's measure for each row of ``people`` (employee_id, composite); NaN where there is none."""
    ids = people["employee_id"].astype(str)
    if award.measure == "composite":
        return people["composite"].to_numpy(dtype="float64")
    if award.measure == "indicator_score":
        mine = indicators[indicators["indicator"].astype(str) == award.indicator]
        score = pd.Series(mine["score"].to_numpy(dtype="float64"), index=mine["employee_id"].astype(str))
        return ids.map(score).to_numpy(dtype="float64")
    months = _months(award, data)
    if not months:
        return np.full(len(ids), np.nan)
    if award.measure == "indicator_growth":
        m = data.metrics
        m = m[(m["indicator"].astype(str) == award.indicator)]
        period = m["period"].astype(str)
        first = pd.Series(m["actual"].to_numpy(dtype="float64")[(period == months[0]).to_numpy()],
                          index=m["employee_id"].astype(str).to_numpy()[(period == months[0]).to_numpy()])
        last = pd.Series(m["actual"].to_numpy(dtype="float64")[(period == months[-1]).to_numpy()],
                         index=m["employee_id"].astype(str).to_numpy()[(period == months[-1]).to_numpy()])
        return (ids.map(last) - ids.map(first)).to_numpy(dtype="float64")
    s = data.sales
    keep = ((s["product"].astype(str) == award.product) & s["period"].astype(str).isin(months)).to_numpy()
    total = pd.Series(s["amount"].to_numpy(dtype="float64")[keep]).groupby(
        s["employee_id"].astype(str).to_numpy()[keep]).sum()
    return ids.map(total).fillna(0.0).to_numpy(dtype="float64")


def empty_lines() -> pd.DataFrame:
    """An award table without lines (the columns of :func:`award_lines`)."""
    return pd.DataFrame({c: pd.Series(dtype="float64" if c in ("value", "rank", "amount") else object)
                         for c in COLUMNS})


def eligible(award: Award, value: np.ndarray, composite: np.ndarray, active: np.ndarray, hire_date: pd.Series,
             cycle_end: pd.Timestamp) -> np.ndarray:
    """Who may win ``award`` (any leading scenario axes, people last): employed at the end of the cycle
    (``active``), a measure above 0 (and at least ``min_value``), hired within ``new_hire_months`` before
    ``cycle_end`` for ``among: new_hires``, a composite of at least ``min_composite`` when set."""
    ok = active & ~np.isnan(value) & (np.nan_to_num(value) > 0)
    if award.among == "new_hires":
        since = cycle_end - pd.DateOffset(months=award.new_hire_months)
        ok &= (hire_date > since).to_numpy()
    if award.min_composite is not None:
        ok &= np.nan_to_num(composite, nan=-np.inf) >= award.min_composite
    if award.min_value is not None:
        ok &= np.nan_to_num(value, nan=-np.inf) >= award.min_value
    return ok


def ranks(value: np.ndarray, ok: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Rank of each eligible person's value within their group, highest first, ties at their best place
    ("min": 1 + the number of eligible people of the group with a strictly higher value), per scenario
    (arrays scenarios x people; ``group`` codes per person). NaN where not eligible."""
    b, n = value.shape
    g = int(group.max()) + 1 if len(group) else 1
    key = (np.arange(b, dtype="int64")[:, None] * g + group[None, :]).ravel()
    v, keep = value.ravel(), ok.ravel()
    idx = np.flatnonzero(keep)
    order = idx[np.lexsort((-v[idx], key[idx]))]
    k, vs = key[order], v[order]
    pos = np.arange(len(order))
    new_group = np.r_[True, k[1:] != k[:-1]] if len(order) else np.zeros(0, bool)
    new_value = new_group | np.r_[True, vs[1:] != vs[:-1]] if len(order) else np.zeros(0, bool)
    start = np.maximum.accumulate(np.where(new_group, pos, 0)) if len(order) else pos
    first = np.maximum.accumulate(np.where(new_value, pos, 0)) if len(order) else pos
    out = np.full(b * n, np.nan)
    out[order] = (first - start + 1).astype("float64")
    return out.reshape(b, n)


def award_amounts(award: Award, value: np.ndarray, ok: np.ndarray, group: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(won, amount, rank) per scenario and person (arrays scenarios x people): the winners are the eligible (``ok``)
    ranked 1..``winners`` within their group (all eligible without ``winners``); amount = ``amount`` + ``rate``
    x value, rounded half-up to the cent, 0 for the others; rank (:func:`ranks`, NaN where not eligible)."""
    rank = ranks(value, ok, group)
    won = ok & (rank <= award.winners) if award.winners is not None else ok.copy()
    amount = np.where(won, round_cents(award.amount + (award.rate or 0.0) * np.nan_to_num(value)), 0.0)
    return won, amount, rank


def award_lines(policy: Policy, data: Dataset, people: pd.DataFrame, indicators: pd.DataFrame) -> pd.DataFrame:
    """One line per award won: employee_id, award, award_name, group (the unit ranked within), measure, value,
    rank, amount (CNY, rounded to the cent). ``people``: one row per employee with employee_id, region, branch,
    hire_date, exit_date, composite (the engine's summary). Empty (these columns) without awards. The rules are
    :func:`eligible` and :func:`award_amounts` (vectorised over scenarios: the Monte Carlo uses them too)."""
    if not policy.awards:
        return empty_lines()
    ids = people["employee_id"].astype(str).to_numpy()
    exit_date, hire_date = people["exit_date"], people["hire_date"]
    active = (exit_date.isna() | (exit_date > data.cycle_end)).to_numpy()
    composite = people["composite"].to_numpy(dtype="float64")
    out = []
    for award in policy.awards:
        value = measure_values(award, data, people, indicators)
        ok = eligible(award, value, composite, active, hire_date, data.cycle_end)
        group = (np.full(len(ids), "all", dtype=object) if award.within == "all"
                 else people[award.within].astype(str).to_numpy(dtype=object))
        codes = pd.factorize(pd.Series(group))[0].astype("int64")
        won, amount, rank = (x[0] for x in award_amounts(award, value[None], ok[None], codes))
        frame = pd.DataFrame({"employee_id": ids[won], "group": group[won], "value": value[won],
                              "rank": rank[won], "amount": amount[won]})
        frame["award"] = award.id
        frame["award_name"] = award.name or award.id.replace("_", " ").capitalize()
        frame["measure"] = award.measure
        out.append(frame)
    lines = pd.concat(out, ignore_index=True)[COLUMNS]
    return lines.sort_values(["award", "group", "rank", "employee_id"], kind="stable").reset_index(drop=True)


def awards_by_person(lines: pd.DataFrame, employee_ids: pd.Series) -> np.ndarray:
    """Each person's total of award lines (CNY; a sum of amounts already rounded to the cent), 0 without any."""
    if len(lines) == 0:  # no award lines (to date, or no award in the policy): 0 for everyone
        return np.zeros(len(employee_ids))
    total = lines.groupby(lines["employee_id"].astype(str))["amount"].sum()
    # each person's total by the position of their id among the totals' (none: the trailing 0)
    at = positions(pd.Series(employee_ids).astype(str), total.index)
    return round_cents(np.append(total.to_numpy(dtype="float64"), 0.0)[at])
