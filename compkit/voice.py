"""The customer's voice analysed: complaints by category, unit and month (upheld share, handling time against the
target), and each person's satisfaction by dimension (attitude, competence, responsiveness) for statements.

Tables from the data contract: ``complaints`` (complaint_id, employee_id, date, category, upheld, resolved_days)
and ``surveys`` (employee_id, date, dimension, score on the policy's survey scale).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from compkit.i18n import N_
from compkit.privacy import MIN_GROUP

#: the satisfaction dimensions a statement shows, in this order
DIMENSIONS = ("attitude", "competence", "responsiveness")
#: handling-time target in days when the policy has no complaint_handling indicator with a fixed target
DEFAULT_TARGET_DAYS = 7.0
#: the share of complaints resolved within the target: OK at or above WITHIN_OK, Watch at or above WITHIN_WATCH,
#: Alert below (a unit whose figures are suppressed gets no flag)
WITHIN_OK, WITHIN_WATCH = 0.9, 0.75

#: the complaints table's columns as reports show them (msgid, compkit.present kind). A complaint found justified
#: is an 有效投诉 (upheld complaint), the word banks use; "upheld" alone is the appeals' word (支持)
COLUMNS = {"complaints": (N_("Complaints"), "int"), "upheld": (N_("Upheld complaints"), "int"),
           "upheld_share": (N_("Share of complaints upheld"), "pct"),
           "median_days": (N_("Median days to resolve"), "num1"),
           "within_target": (N_("Resolved within {days} days"), "pct"), "flag": (N_("Handling time"), "flag")}


def handling_target(policy: object) -> float:
    """Days within which a complaint should be resolved: the policy's complaint handling indicator's fixed
    target (measure resolved_days), else DEFAULT_TARGET_DAYS."""
    for ind in getattr(getattr(policy, "scorecard", None), "indicators", []):
        if getattr(ind, "measure", None) == "resolved_days" and ind.target is not None:
            return float(ind.target)
    return DEFAULT_TARGET_DAYS


def complaints_by(complaints: pd.DataFrame, employees: pd.DataFrame, by: str, target_days: float,
                  min_group: int = MIN_GROUP) -> pd.DataFrame:
    """Complaints grouped by ``by`` (category, branch, region or month): count, upheld, upheld_share
    (upheld / count), median_days (resolution time), within_target (share resolved within ``target_days``).
    Unit groupings (branch, region) with fewer than ``min_group`` people employed suppress their figures."""
    c = complaints.copy()
    if len(c) == 0:
        return pd.DataFrame(columns=[by, "complaints", "upheld", "upheld_share", "median_days", "within_target"])
    c["month"] = pd.to_datetime(c["date"]).dt.strftime("%Y-%m")
    if by in ("branch", "region"):
        c[by] = c["employee_id"].astype(str).map(employees.set_index(employees["employee_id"].astype(str))[by]
                                                 .astype(str))
    upheld = c["upheld"].astype("boolean").fillna(False).astype(bool)
    days = pd.to_numeric(c["resolved_days"], errors="coerce")
    g = pd.DataFrame({by: c[by].astype(str), "upheld": upheld, "days": days,
                      "within": (days <= target_days).where(days.notna())})
    out = g.groupby(by, sort=True).agg(complaints=("upheld", "size"), upheld=("upheld", "sum"),
                                       median_days=("days", "median"), within_target=("within", "mean"))
    out["upheld_share"] = out["upheld"] / out["complaints"]
    out = out.reset_index()[[by, "complaints", "upheld", "upheld_share", "median_days", "within_target"]]
    if by in ("branch", "region"):
        size = employees[by].astype(str).value_counts()
        small = out[by].map(size).fillna(0).to_numpy() < min_group
        out.loc[small, ["complaints", "upheld", "upheld_share", "median_days", "within_target"]] = np.nan
    return out


def satisfaction_by_person(surveys: pd.DataFrame, through: pd.Timestamp | None = None) -> pd.DataFrame:
    """Mean survey score per employee and dimension (DIMENSIONS only), surveys dated up to ``through``:
    employee_id, dimension, score, responses."""
    s = surveys[surveys["dimension"].astype(str).isin(DIMENSIONS)]
    if through is not None and len(s):
        s = s[pd.to_datetime(s["date"]) <= through]
    if len(s) == 0:
        return pd.DataFrame(columns=["employee_id", "dimension", "score", "responses"])
    g = s.groupby([s["employee_id"].astype(str), s["dimension"].astype(str)], sort=True)["score"]
    out = g.agg(score="mean", responses="size").reset_index()
    return out


def handling_flag(within_target: pd.Series | np.ndarray, ok: float = WITHIN_OK, watch: float = WITHIN_WATCH
                  ) -> np.ndarray:
    """ok / watch / alert for the share of complaints resolved within the target (see WITHIN_OK, WITHIN_WATCH);
    '' where the share is missing (a suppressed unit, or no complaint resolved)."""
    w = np.asarray(within_target, dtype="float64")
    return np.where(np.isnan(w), "", np.where(w >= ok, "ok", np.where(w >= watch, "watch", "alert"))).astype(object)


def complaints_table(complaints: pd.DataFrame, employees: pd.DataFrame, by: str, target_days: float,
                     min_group: int = MIN_GROUP) -> pd.DataFrame:
    """:func:`complaints_by` with ``flag``: the handling-time flag of its within_target share
    (:func:`handling_flag`)."""
    out = complaints_by(complaints, employees, by, target_days, min_group)
    out["flag"] = handling_flag(out["within_target"]) if len(out) else pd.Series(dtype=object)
    return out


def table_columns(by: str, label: str, target_days: float, lang: str | None) -> dict[str, tuple[str, str]]:
    """The columns of a complaints table for compkit.present.Presenter.table: the grouping ``by`` (headed
    ``label``) then :data:`COLUMNS`, the target's days written into its header."""
    from compkit import i18n

    days = i18n.gettext(lang)(COLUMNS["within_target"][0]).format(days=i18n.number(target_days, lang, 0))
    cols = {by: (label, "term" if by == "category" else "text")}
    cols.update({k: ((days, kind) if k == "within_target" else (msg, kind)) for k, (msg, kind) in COLUMNS.items()})
    return cols
