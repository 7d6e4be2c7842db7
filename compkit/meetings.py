"""Feedback meetings and improvement plans (绩效面谈与改进计划), carried into the next cycle.

The optional ``feedback`` table records each feedback meeting: whose results of which ``cycle`` were discussed,
when (``meeting_date``) and by whom (``met_by``), the improvement actions agreed per indicator with a due date,
and the employee's acknowledgement (签收, ``acknowledged`` / ``acknowledged_on``) or comment. One row per
employee x cycle x planned indicator; a meeting that agreed no plan is one row without an indicator.

The optional ``history_scores`` table holds past cycles' indicator scores (e.g. the ``indicators`` sheet of last
cycle's ``compkit evaluate``: employee_id, cycle, indicator, score), so that this cycle's statements show how
each planned indicator moved, and the review can tell whether planned indicators improved more than others.

* :func:`plan_progress`: last cycle's plan per person and planned indicator, with the score then and now.
* :func:`meeting_coverage`: the share of people met and of people who acknowledged, by unit (groups under
  ``min_group`` suppressed).
* :func:`planned_vs_others`: the change in score of planned indicators against the same indicators of people
  without a plan on them (all of them, and those who were also below target: planned indicators are usually
  weak ones, which tend to rise anyway, regression to the mean).
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from compkit.data import Dataset
from compkit.policy import Policy
from compkit.privacy import MIN_GROUP, suppress

#: a score at or above this is on target (every curve maps target achievement to 100)
ON_TARGET = 100.0
#: a change in score smaller than this (points) counts as unchanged
UNCHANGED = 0.5

_CYCLE = re.compile(r"^(\d{4})(H[12])?$")


def previous_cycle(cycle: str) -> str:
    """The cycle before ``cycle``: 2025 -> 2024, 2025H2 -> 2025H1, 2025H1 -> 2024H2."""
    m = _CYCLE.match(str(cycle))
    if not m:
        raise ValueError(f"cycle {cycle!r}: expected YYYY or YYYYH1 / YYYYH2")
    year, half = int(m.group(1)), m.group(2)
    if half is None:
        return str(year - 1)
    return f"{year}H1" if half == "H2" else f"{year - 1}H2"


def cycle_end(cycle: str) -> pd.Timestamp:
    """Last day of ``cycle``."""
    m = _CYCLE.match(str(cycle))
    year, half = int(m.group(1)), m.group(2)
    month = 6 if half == "H1" else 12
    return pd.Timestamp(year=year, month=month, day=1) + pd.offsets.MonthEnd(0)


def _indicator_names(policy: Policy) -> dict[str, str]:
    return {i.id: i.name or i.id.replace("_", " ").capitalize() for i in policy.scorecard.indicators}


def plan_progress(policy: Policy, data: Dataset, indicators: pd.DataFrame,
                  cycle: str | None = None) -> pd.DataFrame:
    """Last cycle's improvement plan and how each planned indicator moved (and the meetings that agreed none).

    ``indicators``: this cycle's employee x indicator scores (``Outcomes.indicators``, or the cycle-to-date
    scores of an interim statement). ``cycle``: the cycle whose meetings agreed the plan (default: the one before
    the dataset's). One row per planned indicator:
      score_before = the person's score on the indicator in ``cycle`` (``history_scores``; NaN when absent)
      score_now    = this cycle's score
      change       = score_now - score_before                                              [points]
      moved        = improved (change >= 0.5), declined (<= -0.5), unchanged, or '' when either is missing
    A meeting that agreed no plan is a row without an indicator (its scores NaN).
    Columns: employee_id, cycle, meeting_date, met_by, indicator, indicator_name, action, due_date,
    acknowledged, acknowledged_on, comment, score_before, score_now, change, moved.
    """
    cycle = previous_cycle(data.cycle) if cycle is None else cycle
    fb = data.feedback
    plans = fb[fb["cycle"].astype(str) == cycle].copy()  # a meeting that agreed no plan: a row without indicator
    cols = ["employee_id", "cycle", "meeting_date", "met_by", "indicator", "indicator_name", "action", "due_date",
            "acknowledged", "acknowledged_on", "comment", "score_before", "score_now", "change", "moved"]
    if not len(plans):
        return pd.DataFrame(columns=cols)
    plans["employee_id"] = plans["employee_id"].astype(str)
    plans["indicator"] = plans["indicator"].astype(object).where(plans["indicator"].notna(), None)
    plans["indicator_name"] = plans["indicator"].map(_indicator_names(policy)).fillna(plans["indicator"])
    hs = data.history_scores
    hs = hs[hs["cycle"].astype(str) == cycle]
    before = pd.Series(hs["score"].to_numpy(dtype="float64"),
                       index=pd.MultiIndex.from_arrays([hs["employee_id"].astype(str), hs["indicator"].astype(str)]))
    now = pd.Series(indicators["score"].to_numpy(dtype="float64"),
                    index=pd.MultiIndex.from_arrays([indicators["employee_id"].astype(str),
                                                     indicators["indicator"].astype(str)]))
    key = pd.MultiIndex.from_arrays([plans["employee_id"], plans["indicator"].fillna("").astype(str)])
    plans["score_before"] = before.reindex(key).to_numpy()
    plans["score_now"] = now.reindex(key).to_numpy()
    change = plans["score_now"] - plans["score_before"]
    plans["change"] = change
    plans["moved"] = np.select([change.isna(), change >= UNCHANGED, change <= -UNCHANGED],
                               ["", "improved", "declined"], "unchanged")
    return plans[cols].sort_values(["employee_id", "meeting_date", "indicator"]).reset_index(drop=True)


def meeting_coverage(data: Dataset, cycle: str | None = None, by: str = "branch",
                     min_group: int = MIN_GROUP) -> pd.DataFrame:
    """The share of people met and of people who acknowledged their feedback, by unit, for the meetings about
    ``cycle`` (default: the latest cycle in the feedback table).

    people       = employees of the dataset hired by the end of ``cycle`` (who had results to discuss)
    met          = of them, those with a meeting row for ``cycle``
    acknowledged = of them, those with every row for ``cycle`` acknowledged (签收)
    share_met = met / people, share_acknowledged = acknowledged / people, acknowledged_of_met = acknowledged / met
    One row per unit of ``by`` and a last row ``all``; units under ``min_group`` people have their figures
    suppressed (the head-count stays). Empty when there is no feedback table.
    """
    fb = data.feedback
    cols = [by, "people", "met", "acknowledged", "share_met", "share_acknowledged", "acknowledged_of_met",
            "suppressed"]
    if not len(fb):
        return pd.DataFrame(columns=cols)
    cycle = str(fb["cycle"].astype(str).max()) if cycle is None else cycle
    rows = fb[fb["cycle"].astype(str) == cycle]
    ack = rows.assign(_ack=rows["acknowledged"].fillna(False).astype(bool)).groupby(
        rows["employee_id"].astype(str))["_ack"].all()
    emp = data.employees
    emp = emp[emp["hire_date"] <= cycle_end(cycle)]
    ids = emp["employee_id"].astype(str)
    people = pd.DataFrame({by: emp[by].astype(str).to_numpy(), "met": ids.isin(ack.index).to_numpy(),
                           "acknowledged": ids.map(ack).fillna(False).astype(bool).to_numpy()})
    g = people.groupby(by, sort=True)
    table = pd.DataFrame({"people": g.size(), "met": g["met"].sum(), "acknowledged": g["acknowledged"].sum()})
    total = pd.DataFrame({"people": [len(people)], "met": [int(people["met"].sum())],
                          "acknowledged": [int(people["acknowledged"].sum())]}, index=["all"])
    table = pd.concat([table, total]).rename_axis(by).reset_index()
    table["share_met"] = table["met"] / table["people"]
    table["share_acknowledged"] = table["acknowledged"] / table["people"]
    table["acknowledged_of_met"] = table["acknowledged"] / table["met"].where(table["met"] > 0)
    out = suppress(table, count_col="people", min_n=min_group,
                   columns=["met", "acknowledged", "share_met", "share_acknowledged", "acknowledged_of_met"])
    return out[cols]


def planned_vs_others(policy: Policy, data: Dataset, indicators: pd.DataFrame, cycle: str | None = None,
                      min_group: int = MIN_GROUP) -> pd.DataFrame:
    """Did planned indicators improve more than others? Per indicator and over all indicators (``all``):

    change   = score this cycle - score in ``cycle`` (``history_scores``), per person x indicator   [points]
    planned  = person x indicator pairs with an improvement plan agreed about ``cycle``
    others   = every other pair with both scores; ``others_below`` = those of them also below target (score
               before < 100) in ``cycle``, the fairer comparison (planned indicators are mostly weak ones)
    columns: n_planned, mean_planned, n_others, mean_others, n_others_below, mean_others_below,
    difference = mean_planned - mean_others, difference_below = mean_planned - mean_others_below.
    A mean over fewer than ``min_group`` pairs is suppressed (NaN), and so is a difference using it.
    """
    cycle = previous_cycle(data.cycle) if cycle is None else cycle
    hs = data.history_scores
    hs = hs[hs["cycle"].astype(str) == cycle]
    cols = ["indicator", "n_planned", "mean_planned", "n_others", "mean_others", "n_others_below",
            "mean_others_below", "difference", "difference_below"]
    if not len(hs):
        return pd.DataFrame(columns=cols)
    before = pd.DataFrame({"employee_id": hs["employee_id"].astype(str).to_numpy(),
                           "indicator": hs["indicator"].astype(str).to_numpy(),
                           "score_before": hs["score"].to_numpy(dtype="float64")})
    now = pd.DataFrame({"employee_id": indicators["employee_id"].astype(str).to_numpy(),
                        "indicator": indicators["indicator"].astype(str).to_numpy(),
                        "score_now": indicators["score"].to_numpy(dtype="float64")})
    pairs = before.merge(now, on=["employee_id", "indicator"], how="inner").dropna(subset=["score_before",
                                                                                            "score_now"])
    fb = data.feedback
    fb = fb[(fb["cycle"].astype(str) == cycle) & fb["indicator"].notna()]
    planned = set(zip(fb["employee_id"].astype(str), fb["indicator"].astype(str)))
    pairs["planned"] = [p in planned for p in zip(pairs["employee_id"], pairs["indicator"])]
    pairs["change"] = pairs["score_now"] - pairs["score_before"]
    pairs["below"] = pairs["score_before"] < ON_TARGET

    def summarise(df: pd.DataFrame) -> dict[str, float]:
        p, o = df[df["planned"]], df[~df["planned"]]
        ob = o[o["below"]]
        return {"n_planned": len(p), "mean_planned": p["change"].mean(), "n_others": len(o),
                "mean_others": o["change"].mean(), "n_others_below": len(ob), "mean_others_below": ob["change"].mean()}

    rows = [{"indicator": str(k), **summarise(g)} for k, g in pairs.groupby("indicator", sort=True)]
    rows.append({"indicator": "all", **summarise(pairs)})
    out = pd.DataFrame(rows)
    for n, m in (("n_planned", "mean_planned"), ("n_others", "mean_others"), ("n_others_below", "mean_others_below")):
        out[m] = out[m].where(out[n] >= min_group)
    out["difference"] = out["mean_planned"] - out["mean_others"]
    out["difference_below"] = out["mean_planned"] - out["mean_others_below"]
    return out[cols]
