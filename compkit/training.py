"""Training and development (培训与发展): training hours and certificates from the optional ``training`` table.

The table has one row per course attended (or certificate obtained): employee_id, course, hours, certificate
(the certificate the course led to, e.g. ``AFP`` or ``基金从业资格``; empty for none) and date.

* As a scorecard indicator (``source: training``): ``measure: hours`` = hours of training dated inside the cycle
  (to date for an interim evaluation); ``measure: certificates`` = distinct certificates held by the end of the
  period (whenever obtained). A person without a record has 0 of either: a real value, not a missing one.
* As a promotion prerequisite: a promotion rule's ``certificates`` (every one must be held by the end of the
  cycle) and ``min_training_hours`` (hours in the cycle); the promotion table's reason names what is missing.
"""
from __future__ import annotations

import pandas as pd

from compkit.policy import Policy


def _before(training: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    return training[(training["date"] <= end).to_numpy(dtype=bool, na_value=False)]


def hours(training: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Training hours per employee (index employee_id as text) dated from ``start`` to ``end`` inclusive."""
    t = training[((training["date"] >= start) & (training["date"] <= end)).to_numpy(dtype=bool, na_value=False)]
    return t["hours"].fillna(0.0).groupby(t["employee_id"].astype(str)).sum()


def certificates(training: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """(employee_id, certificate) pairs held by ``end``: the distinct certificates of rows dated on or before it."""
    t = _before(training, end)
    t = t[t["certificate"].notna()]
    pairs = pd.DataFrame({"employee_id": t["employee_id"].astype(str).to_numpy(),
                          "certificate": t["certificate"].astype(str).str.strip().to_numpy()})
    return pairs.drop_duplicates().reset_index(drop=True)


def indicator_values(training: pd.DataFrame, measure: str, start: pd.Timestamp,
                     end: pd.Timestamp) -> pd.Series:
    """The value of a ``source: training`` indicator per employee (``hours`` or ``certificates``)."""
    if measure == "hours":
        return hours(training, start, end)
    held = certificates(training, end)
    return held.groupby("employee_id").size().astype("float64")


def promotion_columns(policy: Policy, training: pd.DataFrame, employee_ids: pd.Series, start: pd.Timestamp,
                      end: pd.Timestamp) -> pd.DataFrame:
    """What the promotion rules ask of the training table, one row per employee (aligned with ``employee_ids``):
    ``training_hours`` (in the cycle) and one boolean column ``certificate:<name>`` per certificate a rule names
    (held by the end of the cycle). Empty (no columns) when no rule asks."""
    ids = employee_ids.astype(str)
    named = sorted({c for rule in policy.promotion for c in rule.certificates})
    asks_hours = any(rule.min_training_hours is not None for rule in policy.promotion)
    out = pd.DataFrame(index=range(len(ids)))
    if asks_hours:
        out["training_hours"] = ids.map(hours(training, start, end)).fillna(0.0).to_numpy(dtype="float64")
    if named:
        held = certificates(training, end)
        for cert in named:
            who = set(held.loc[held["certificate"] == cert, "employee_id"])
            out[f"certificate:{cert}"] = ids.isin(who).to_numpy(dtype=bool)
    return out


def certificate_column(name: str) -> str:
    return f"certificate:{name}"

