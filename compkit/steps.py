"""Pay steps (岗位工资 x 薪档): each grade may have a table of steps, the monthly base pay of step 1, 2, ...

step_pay        a person on a step (employees column ``step``, 1 = the lowest) of a grade with steps earns the
                step's pay as monthly base (CNY / month); others keep their own base or the grade's midpoint
review          with ``salary_review.method: steps`` a person on a step moves by ``step_moves[rating]`` steps (调档),
                kept inside the grade's steps; the new base is the new step's pay and
                raise_pct = new base / base - 1. People without a step keep the merit matrix.
placement       on promotion the person is placed on the new grade's lowest step whose pay is at or above the pay
                they would have (after the salary review); if every step is below it, the top step. Demotion
                likewise (in a lower grade this is usually the top step: a pay cut shown as such). A grade without
                steps: promotion pays max(pay, the new grade's band minimum), demotion min(pay, its band maximum).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from compkit._arrays import positions
from compkit.policy import Policy


def _table(policy: Policy) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """(grade -> row, steps padded with +inf (grades x max steps), number of steps per grade; 0 without)."""
    row = {g.id: i for i, g in enumerate(policy.grades)}
    width = max([len(g.steps or []) for g in policy.grades] + [1])
    table = np.full((len(policy.grades), width), np.inf)
    count = np.zeros(len(policy.grades), dtype=np.int64)
    for i, g in enumerate(policy.grades):
        if g.steps:
            table[i, : len(g.steps)] = g.steps
            count[i] = len(g.steps)
    return row, table, count


def _grade_rows(grades: ArrayLike, row: dict[str, int]) -> np.ndarray:
    """The row of each person's grade in :func:`_table` (-1: a grade the policy does not list, or missing), as
    ``grades.map(row)``; the grades are looked up by :func:`compkit._arrays.positions` (each distinct grade
    hashed once, no Python string per person)."""
    values = grades if isinstance(grades, (pd.Series, pd.Index)) else pd.Series(np.asarray(grades, dtype=object))
    found = positions(values, pd.Index(list(row), dtype=object))
    return np.append(np.fromiter(row.values(), dtype=np.int64, count=len(row)), -1)[found]


def _numbers(values: ArrayLike) -> np.ndarray:
    """The steps as float64 (text that is not a number, and missing: NaN); a numeric column as it is."""
    a = np.asarray(values)
    if a.dtype.kind in "fiub":
        return a.astype("float64")
    return np.asarray(pd.to_numeric(pd.Series(np.asarray(values, dtype=object)), errors="coerce"), dtype="float64")


def _moves(ratings: ArrayLike, step_moves: dict[str, int]) -> np.ndarray:
    """The steps each rating moves (``step_moves[rating]``; a rating not listed, or none: 0), as float64; the
    ratings looked up by :func:`compkit._arrays.positions`."""
    values = ratings if isinstance(ratings, (pd.Series, pd.Index)) else pd.Series(np.asarray(ratings, dtype=object))
    found = positions(values, pd.Index(list(step_moves), dtype=object))
    return np.append(np.array(list(step_moves.values()), dtype="float64"), 0.0)[found]


def step_pay(grades: ArrayLike, steps: ArrayLike, policy: Policy) -> np.ndarray:
    """Monthly base of each person's step (CNY / month); NaN without a step, for a grade without steps, or a
    step outside the grade's table (the data check reports it)."""
    row, table, count = _table(policy)
    g = _grade_rows(grades, row)
    s = _numbers(steps)
    ok = (g >= 0) & ~np.isnan(s)
    ok &= (s >= 1) & (s <= np.where(g >= 0, count[np.maximum(g, 0)], 0))
    out = np.full(len(g), np.nan)
    out[ok] = table[g[ok], s[ok].astype(np.int64) - 1]
    return out


def review_steps(grades: ArrayLike, steps: ArrayLike, ratings: ArrayLike, eligible: ArrayLike,
                 policy: Policy) -> tuple[np.ndarray, np.ndarray]:
    """(new step, new monthly base) after the step review: step + step_moves[rating] clipped to [1, number of
    steps] for eligible people on a step (others: NaN). Example: step 3 of [6000, 6400, 6800, 7200], rating A
    moves 2 -> step 5 is past the top: step 4, 7,200."""
    row, table, count = _table(policy)
    g = _grade_rows(grades, row)
    s = _numbers(steps)
    moves = _moves(ratings, policy.salary_review.step_moves)
    n_steps = np.where(g >= 0, count[np.maximum(g, 0)], 0)
    ok = np.asarray(eligible, dtype=bool) & (g >= 0) & ~np.isnan(s) & (n_steps > 0)
    new = np.full(len(g), np.nan)
    new[ok] = np.clip(s[ok] + moves[ok], 1, n_steps[ok])
    pay = np.full(len(g), np.nan)
    pay[ok] = table[g[ok], new[ok].astype(np.int64) - 1]
    return new, pay


def placement(to_grades: ArrayLike, pay: ArrayLike, promote: ArrayLike, policy: Policy) -> tuple[np.ndarray,
                                                                                                  np.ndarray]:
    """(step, monthly base) in ``to_grades`` for people moving there with monthly ``pay`` (CNY): the lowest
    step at or above the pay, else the top step; a grade without steps: step NaN and pay max(pay, band min) on
    promotion (``promote`` true), min(pay, band max) on demotion. Example: pay 7,935.73 promoted to a grade with
    steps [8000, 8500, 9000] -> step 1, 8,000."""
    row, table, count = _table(policy)
    g = _grade_rows(to_grades, row)
    p = np.asarray(pay, dtype="float64")
    up = np.asarray(promote, dtype=bool)
    step = np.full(len(g), np.nan)
    out = np.full(len(g), np.nan)
    known = g >= 0
    has_steps = known & (np.where(known, count[np.maximum(g, 0)], 0) > 0)
    if has_steps.any():
        rows = table[g[has_steps]]
        at_or_above = rows >= p[has_steps, None] - 1e-9  # +inf padding counts as above: clipped below
        first = np.argmax(at_or_above, axis=1)
        top = count[g[has_steps]] - 1
        idx = np.minimum(first, top)
        idx = np.where(at_or_above[np.arange(len(idx)), idx], idx, top)
        step[has_steps] = idx + 1
        out[has_steps] = rows[np.arange(len(idx)), idx]
    band = known & ~has_steps
    if band.any():
        lo = np.array([gr.base_monthly.min for gr in policy.grades])[g[band]]
        hi = np.array([gr.base_monthly.max for gr in policy.grades])[g[band]]
        out[band] = np.where(up[band], np.maximum(p[band], lo), np.minimum(p[band], hi))
    return step, out
