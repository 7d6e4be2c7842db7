"""Scorecards by population: which scorecard each employee is scored on, and its weights.

A policy's ``scorecards`` list populations (by business line ``line``: 对公 corporate, 零售 retail, 私行/理财
wealth, 小微 small business; by grade; by any employee column), each with its own category weights and indicator
weights over the indicators defined in ``scorecard.indicators``. Every employee must match exactly one population
(checked when the data is loaded, :func:`assignment_problems`). Without ``scorecards`` everyone is scored on the
one scorecard.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from compkit.i18n import M_
from compkit.policy import Policy


def scorecard_codes(employees: pd.DataFrame, policy: Policy) -> tuple[np.ndarray, np.ndarray]:
    """(code, matches) per employee: code = position of the employee's population in ``policy.scorecards``
    (-1 when none or several match, or when the policy has no populations); matches = how many matched.

    A population matches when every column of its ``when`` holds one of the listed values (text compare; a
    column missing from the table matches nobody)."""
    n = len(employees)
    if not policy.scorecards:
        return np.full(n, -1, dtype=np.int64), np.ones(n, dtype=np.int64)
    hit = np.zeros((n, len(policy.scorecards)), dtype=bool)
    coded: dict[str, tuple[np.ndarray, pd.Index]] = {}  # each column's distinct texts, found once for every population
    for j, pop in enumerate(policy.scorecards):
        mask = np.ones(n, dtype=bool)
        for column, values in pop.when.items():
            if column not in employees.columns:
                mask[:] = False
                break
            if column not in coded:
                codes, uniques = pd.factorize(employees[column].astype("string"))
                coded[column] = codes, pd.Index(uniques)
            codes, uniques = coded[column]
            # the distinct texts compared, each row taking its text's answer (missing, code -1: the last, False)
            listed = np.asarray(uniques.isin([str(v) for v in values]), dtype=bool)
            mask &= np.append(listed, False)[codes]
        hit[:, j] = mask
    matches = hit.sum(axis=1)
    code = np.where(matches == 1, hit.argmax(axis=1), -1)
    return code.astype(np.int64), matches


def assignment_problems(employees: pd.DataFrame, policy: Policy) -> list[tuple[str, list[str]]]:
    """The employees matched by no population and by several, as (what was expected, employee ids): empty when
    every employee has exactly one scorecard (or the policy has no populations)."""
    if not policy.scorecards:
        return []
    code, matches = scorecard_codes(employees, policy)
    ids = employees["employee_id"].astype(str).to_numpy()
    out = []
    cols = sorted({c for p in policy.scorecards for c in p.when})
    if (matches == 0).any():
        out.append((M_("exactly one scorecard of the policy (by {columns}): matched by none", columns=", ".join(cols)),
                    ids[matches == 0].tolist()))
    if (matches > 1).any():
        out.append((M_("exactly one scorecard of the policy (by {columns}): matched by two or more",
                       columns=", ".join(cols)),
                    ids[matches > 1].tolist()))
    return out


def weight_matrices(policy: Policy, code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(indicator weights n x k, category weights n x C) per employee: row i holds the weights of employee i's
    scorecard (code -1: the policy's one scorecard). Indicators not on a population's scorecard weigh 0."""
    sc = policy.scorecard
    inds = sc.indicators
    categories = list(sc.categories)
    base_ind = np.array([ind.weight for ind in inds])
    base_cat = np.array([sc.categories[c] for c in categories])
    table_ind = [base_ind]
    table_cat = [base_cat]
    for pop in policy.scorecards:
        w = pop.weights if pop.weights is not None else {ind.id: ind.weight for ind in inds}
        cats = pop.categories if pop.categories is not None else sc.categories
        table_ind.append(np.array([float(w.get(ind.id, 0.0)) for ind in inds]))
        table_cat.append(np.array([float(cats.get(c, 0.0)) for c in categories]))
    rows = np.asarray(code, dtype=np.int64) + 1  # -1 -> the base scorecard (row 0)
    return np.stack(table_ind)[rows], np.stack(table_cat)[rows]


def scorecard_names(policy: Policy, code: np.ndarray) -> np.ndarray:
    """The id of each employee's scorecard ('' for the policy's one scorecard)."""
    names = np.array([p.id for p in policy.scorecards] + [""], dtype=object)
    return names[np.asarray(code, dtype=np.int64)]
