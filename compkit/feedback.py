"""Feedback statements (绩效反馈) and publication (公示).

One statement per employee, written for the employee: scores by indicator against target, category scores,
rating, commission by product and month, bonus paid now and deferred, pay, salary review and promotion, and
what went well, where to improve and how (the policy's ``feedback`` texts). A final statement covers the
whole cycle; an interim statement (``period``: a month ``2025-06`` or a quarter ``2025Q2``) covers the cycle
to date: scores to date, base and allowances for the days employed to date, commission lines paid to date,
and the bonus it would pay if the cycle ended then (marked indicative).

Statements hold personal pay: they go to a private folder, never under reports/ (:mod:`compkit.privacy`).
Published tables carry pseudonyms (or names, when the policy says so) and suppress groups under 5 people.

Every money figure on a statement is taken from :func:`compkit.engine.evaluate` (already rounded to the
cent), so a statement's total cash is the sum of its lines, to the cent.
"""
from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from compkit import commission as cm
from compkit.atomic import replace_folder
from compkit.data import Dataset, cycle_periods
from compkit.engine import Outcomes, evaluate
from compkit.errors import CompkitError
from compkit.money import round_cents
from compkit.policy import Policy
from compkit.privacy import MIN_GROUP, pseudonyms, refuse_reports_folder, suppress

#: points on the scorecard that mean "on target" (every curve maps target achievement to 100)
ON_TARGET = 100.0
#: a peer standing at or above this share counts as a strength (at or below 1 - it: a weakness)
TOP_QUARTER = 0.75
#: strengths and weaknesses shown per person
SHOWN = 3

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


class FeedbackError(CompkitError):
    """A statement cannot be produced as asked (e.g. a period outside the cycle)."""


@dataclass
class Statements:
    """Statement contents for everyone (one table per section; ``employee_id`` links them).

    people      one row per employee: who, period covered, days employed, scores, rating, pay lines
    indicators  employee x indicator: result, target, achievement, score, weight, points vs target, standing
                among peers of the same grade, strength / weakness
    feedback    employee x line: kind (strength, weakness, suggestion), order, text
    commission  employee x month x product, non-zero lines only (plus the cycle-end settlement line)
    deferrals   employee x payment year of the deferred bonus (final statements)
    info        cycle, period covered, interim or final, currency
    """

    people: pd.DataFrame
    indicators: pd.DataFrame
    feedback: pd.DataFrame
    commission: pd.DataFrame
    deferrals: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)
    #: last cycle's improvement plan and how each planned indicator moved (compkit.meetings.plan_progress)
    plans: pd.DataFrame = field(default_factory=pd.DataFrame)

    TABLES = ("people", "indicators", "feedback", "commission", "deferrals")


# ------------------------------------------------------------------------------------------ periods


def through_month(period: str, cycle: str) -> str:
    """The last month (YYYY-MM) covered by an interim ``period``: a month ``2025-06``, a quarter ``2025Q2`` or a
    half-year ``2025H1``; it must fall inside ``cycle``."""
    months = cycle_periods(cycle)
    p = str(period).strip()
    m = re.fullmatch(r"(\d{4})[-]?Q([1-4])", p, flags=re.IGNORECASE)
    h = re.fullmatch(r"(\d{4})H([12])", p, flags=re.IGNORECASE)
    if m:
        last = f"{m.group(1)}-{int(m.group(2)) * 3:02d}"
    elif h:
        last = f"{h.group(1)}-{int(h.group(2)) * 6:02d}"
    elif re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", p):
        last = p
    else:
        raise FeedbackError(f"--period {period}: expected a month YYYY-MM, a quarter YYYYQn or a half-year YYYYHn")
    if last not in months:
        raise FeedbackError(f"--period {period}: outside the cycle {cycle} ({months[0]} to {months[-1]})")
    return last


def month_label(period: str) -> str:
    """'2025-07' -> 'July 2025'."""
    return f"{_MONTHS[int(period[5:7]) - 1]} {period[:4]}"


# ---------------------------------------------------------------------------------------- contents


def _names(policy: Policy) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    ind = {i.id: i.name or i.id.replace("_", " ").capitalize() for i in policy.scorecard.indicators}
    prod = {p.id: p.name or p.id.replace("_", " ").capitalize() for p in policy.commission.products}
    grade = {g.id: g.title or g.id for g in policy.grades}
    return ind, prod, grade


def peer_standing(indicators: pd.DataFrame, grade: pd.Series, min_group: int = MIN_GROUP) -> pd.DataFrame:
    """Each score's standing among peers: people of the same grade scored on the same indicator.

    share_below = (number of peers with a strictly lower score) / (peers - 1)   [fraction in 0..1]
    peers       = people of the grade with a score on the indicator (the person included)
    With fewer than ``min_group`` peers the standing is not shown (NaN): too few to compare, and it would
    reveal colleagues' scores. Returns columns peers, share_below, aligned with ``indicators``.
    """
    g = indicators["employee_id"].astype(str).map(grade).astype(str)
    key = [g.to_numpy(), indicators["indicator"].astype(str).to_numpy()]
    score = indicators["score"]
    grouped = score.groupby(key, sort=False)
    peers = grouped.transform("count").to_numpy(dtype="float64")
    rank_min = grouped.rank(method="min").to_numpy(dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        share = (rank_min - 1.0) / (peers - 1.0)
    share = np.where((peers >= min_group) & score.notna().to_numpy(), share, np.nan)
    return pd.DataFrame({"peers": peers.astype("int64"), "share_below": share}, index=indicators.index)


def strengths_and_weaknesses(indicators: pd.DataFrame, shown: int = SHOWN) -> pd.Series:
    """'strength', 'weakness' or '' for each employee x indicator row.

    points_vs_target = effective_weight x (score - 100): composite points gained (+) or lost (-) against an
    on-target score. A strength: score above target, or on target and in the top quarter of peers; the
    ``shown`` largest gains per person (ties: better standing first). A weakness: score below target, or at
    most on target and in the bottom quarter of peers; the ``shown`` largest losses. Indicators that carry no
    weight for the person (no value, left out) are neither.
    """
    score = indicators["score"].to_numpy(dtype="float64")
    weight = indicators["effective_weight"].to_numpy(dtype="float64")
    standing = indicators["share_below"].to_numpy(dtype="float64")
    points = indicators["points_vs_target"].to_numpy(dtype="float64")
    counts = (weight > 0) & ~np.isnan(score)
    strong = counts & ((score > ON_TARGET) | ((score >= ON_TARGET) & (standing >= TOP_QUARTER)))
    weak = counts & ((score < ON_TARGET) | ((score <= ON_TARGET) & (standing <= 1 - TOP_QUARTER)))
    frame = pd.DataFrame({"employee_id": indicators["employee_id"].astype(str).to_numpy(), "points": points,
                          "standing": np.nan_to_num(standing, nan=0.5), "order": np.arange(len(indicators))})
    label = np.full(len(indicators), "", dtype=object)
    best = frame[strong].sort_values(["employee_id", "points", "standing", "order"],
                                     ascending=[True, False, False, True]).groupby("employee_id").head(shown)
    worst = frame[weak].sort_values(["employee_id", "points", "standing", "order"],
                                    ascending=[True, True, True, True]).groupby("employee_id").head(shown)
    label[best["order"].to_numpy()] = "strength"
    label[worst["order"].to_numpy()] = "weakness"
    return pd.Series(label, index=indicators.index, dtype=object)


def _fmt_number(x: np.ndarray, decimals: int = 1) -> np.ndarray:
    return np.array(["" if np.isnan(v) else f"{v:,.{decimals}f}" for v in x], dtype=object)


def _indicator_table(policy: Policy, indicators: pd.DataFrame, employees: pd.DataFrame) -> pd.DataFrame:
    ind_names, _, _ = _names(policy)
    t = indicators[["employee_id", "indicator", "category", "source", "actual", "target", "achievement", "score",
                    "weight", "effective_weight", "weighted_score", "note"]].copy()
    t["employee_id"] = t["employee_id"].astype(str)
    t["indicator"] = t["indicator"].astype(str)
    t["indicator_name"] = t["indicator"].map(ind_names)
    t["category"] = t["category"].astype(str)
    t["points_vs_target"] = t["effective_weight"] * (t["score"] - ON_TARGET)
    grade = pd.Series(employees["grade"].astype(str).to_numpy(), index=employees["employee_id"].astype(str))
    t = pd.concat([t, peer_standing(t, grade)], axis=1)
    t["standing"] = strengths_and_weaknesses(t)
    return t


def _feedback_lines(policy: Policy, ind: pd.DataFrame, grade_titles: pd.Series) -> pd.DataFrame:
    """Plain-words lines: what went well, where to improve, and the policy's suggestion for each weakness."""
    chosen = ind[ind["standing"] != ""].copy()
    # strengths: largest gain first; weaknesses: largest loss first
    chosen["_key"] = np.where(chosen["standing"] == "strength", -chosen["points_vs_target"],
                              chosen["points_vs_target"])
    chosen = chosen.sort_values(["employee_id", "standing", "_key"], kind="stable")
    name = chosen["indicator_name"]
    score = chosen["score"].to_numpy(dtype="float64")
    ach = chosen["achievement"].to_numpy(dtype="float64")
    share = chosen["share_below"].to_numpy(dtype="float64")
    titles = chosen["employee_id"].map(grade_titles).astype(str).str.lower().to_numpy()
    result = np.where(np.isnan(ach), "score " + _fmt_number(score, 0) + " (on target = 100)",
                      _fmt_number(ach * 100, 0) + "% of target, score " + _fmt_number(score, 0))
    peers = np.where(np.isnan(share), "",
                     "; better than " + _fmt_number(share * 100, 0) + "% of " + titles + "s")
    detail = name.to_numpy(dtype=object) + ": " + result + peers
    strengths_text = chosen["indicator"].map(policy.feedback.strengths).to_numpy(dtype=object)
    is_strength = (chosen["standing"] == "strength").to_numpy()
    strength_line = np.where(pd.isna(strengths_text), detail, detail + ". " + strengths_text.astype(str))
    lines = pd.DataFrame({"employee_id": chosen["employee_id"].to_numpy(),
                          "kind": np.where(is_strength, "strength", "weakness"),
                          "text": np.where(is_strength, strength_line, detail),
                          "indicator": chosen["indicator"].to_numpy()})
    weak = lines[lines["kind"] == "weakness"]
    tip = weak["indicator"].map(policy.feedback.suggestions)
    generic = "Agree with your supervisor on a plan to improve " + weak["indicator"].map(
        dict(zip(ind["indicator"], ind["indicator_name"]))).str.lower() + "."
    suggestions = pd.DataFrame({"employee_id": weak["employee_id"].to_numpy(), "kind": "suggestion",
                                "text": tip.fillna(generic).to_numpy(dtype=object),
                                "indicator": weak["indicator"].to_numpy()})
    out = pd.concat([lines, suggestions], ignore_index=True)
    kind_order = out["kind"].map({"strength": 0, "weakness": 1, "suggestion": 2})
    out = out.assign(_k=kind_order).sort_values(["employee_id", "_k"], kind="stable").drop(columns="_k")
    out["order"] = out.groupby(["employee_id", "kind"]).cumcount() + 1
    return out[["employee_id", "kind", "order", "indicator", "text"]].reset_index(drop=True)


def _plain_reason(text: pd.Series, policy: Policy) -> pd.Series:
    """Engine reasons in the employee's words: grade titles and indicator names instead of codes."""
    ind_names, _, grades = _names(policy)
    out = text.astype(str)
    for code, title in {**grades, **ind_names}.items():
        out = out.str.replace(rf"\b{re.escape(code)}\b", title, regex=True)
    return out.str.replace("composite", "overall score", regex=False)


def _commission_lines(policy: Policy, outcomes: Outcomes, through: str | None) -> pd.DataFrame:
    _, products, _ = _names(policy)
    c = outcomes.commission
    c = c[c["commission"] != 0]
    if through is not None:  # interim: lines paid to date; the gate and cap settle at the end of the cycle
        c = c[(c["period"].astype(str) <= through) & (c["product"].astype(str) != "settlement")]
    product = c["product"].astype(str)
    label = product.map(products).fillna(product.str.replace("_", " ").str.capitalize())
    label = label.where(product != "settlement", "End-of-cycle adjustment (gate or cap)")
    kind = np.where(c["clawback"].to_numpy(dtype=bool), "clawback", "payment")
    remark = np.where(kind == "clawback", "clawback: sales reversed", "")
    remark = np.where(_tier_reached(policy, c) & (kind != "clawback"),
                      np.where(product.map({p.id: p.method for p in policy.commission.products}) == "retroactive",
                               "a higher tier reached: the year's sales so far re-rated", "partly at a higher tier"),
                      remark)
    return pd.DataFrame({"employee_id": c["employee_id"].astype(str).to_numpy(),
                         "period": c["period"].astype(str).to_numpy(),
                         "month": [month_label(p) for p in c["period"].astype(str)],
                         "product": product.to_numpy(), "product_name": label.to_numpy(),
                         "sales": c["basis"].to_numpy(dtype="float64"),
                         "commission": c["commission"].to_numpy(dtype="float64"), "line": kind,
                         "remark": remark})


def _tier_reached(policy: Policy, lines: pd.DataFrame) -> np.ndarray:
    """True for the lines whose cycle-to-date sales moved into a higher tier of a tiered product this month:
    tier of the cumulative basis after the month > tier before it (bounds from the policy)."""
    reached = np.zeros(len(lines), dtype=bool)
    if policy.commission.accumulate != "cycle_to_date" or "cumulative_basis" not in lines:
        return reached
    product = lines["product"].astype(str).to_numpy()
    after = lines["cumulative_basis"].to_numpy(dtype="float64")
    before = after - lines["basis"].to_numpy(dtype="float64")
    for p in policy.commission.products:
        if p.tiers is None:
            continue
        bounds, _ = cm.tier_arrays(p.tiers)
        mine = product == p.id
        reached[mine] = (np.searchsorted(bounds, after[mine], side="left")
                         > np.searchsorted(bounds, before[mine], side="left"))
    return reached


def statement_contents(policy: Policy, data: Dataset, outcomes: Outcomes | None = None,
                       period: str | None = None) -> Statements:
    """The contents of every employee's statement for the cycle (``period`` None) or cycle to date.

    Final: all figures from ``evaluate(policy, data)``. Interim (``period`` before the cycle's last month):
    all figures from ``evaluate(policy, data, through=month)``, the engine's one definition of the cycle to
    date (scores to date; base and allowances for the days employed to date at the cycle's day rate;
    commission lines paid up to the month; the bonus indicative, as paid now and deferred if the cycle ended
    then); total cash to date leaves the indicative bonus out; no salary review or promotion yet.
    """
    through = None if period is None else through_month(period, data.cycle)
    if through == data.periods[-1]:
        through = None  # the last month of the cycle: the final statement
    interim = through is not None
    if not interim:
        outcomes = evaluate(policy, data) if outcomes is None else outcomes
    _, _, grade_titles = _names(policy)
    emp = data.employees.reset_index(drop=True)
    ids = emp["employee_id"].astype(str)
    start = data.cycle_start
    if interim:
        to_date = evaluate(policy, data, through=through)
        end = pd.Timestamp(through + "-01") + pd.offsets.MonthEnd(0)
        indicators = to_date.indicators
        t = to_date.summary
        days_share = t["days_share"].to_numpy(dtype="float64") * ((data.cycle_end - start).days + 1) \
            / ((end - start).days + 1)  # share of the days to date
        keep = ["employee_id", *policy.scorecard.categories, "deductions", "composite", "rating", "base_pay",
                *[c for c in t.columns if c.startswith("allowance_")], "allowances", "commission"]
        people = t[[c for c in keep if c in t.columns]].copy()
        people["employee_id"] = people["employee_id"].astype(str)
        lines = _commission_lines(policy, to_date, through)
        # the bonus is decided after the cycle: what the rule would pay, now and deferred, if it ended today
        people["bonus_indicative"] = t["bonus"].to_numpy()
        people["bonus_indicative_paid"] = t["bonus_paid"].to_numpy()
        people["bonus_indicative_deferred"] = t["bonus_deferred"].to_numpy()
        people["bonus_paid"] = 0.0
        people["bonus_deferred"] = 0.0
        people["total_cash"] = round_cents(people["base_pay"] + people["allowances"] + people["commission"])
        people["employee_contributions"] = np.nan
        people["raise_pct"] = np.nan
        people["new_base_monthly"] = np.nan
        people["salary_review"] = "The salary review is decided at the end of the cycle."
        people["promotion"] = "Promotions are decided at the end of the cycle."
        people["pay_note"] = ""
        people["commission_note"] = ""
        deferrals = to_date.deferrals.iloc[0:0]
        days_total = (end - start).days + 1
    else:
        end = data.cycle_end
        s = outcomes.summary
        indicators = outcomes.indicators
        days_share = s["days_share"].to_numpy(dtype="float64")
        keep = ["employee_id", *policy.scorecard.categories, "deductions", "composite", "rating", "base_pay"] + [c for c in s.columns if c.startswith("allowance_")] + [
                "allowances", "commission", "bonus_paid", "awards", "bonus_deferred", "total_cash",
                "employee_contributions", "raise_pct", "new_base_monthly", "pay_note", "commission_note"]
        people = s[[c for c in keep if c in s.columns]].copy()
        people["employee_id"] = people["employee_id"].astype(str)
        people["bonus_indicative"] = np.nan
        people["bonus_indicative_paid"] = np.nan
        people["bonus_indicative_deferred"] = np.nan
        review = outcomes.salary_review
        eligible = review["eligible"].to_numpy(dtype=bool)
        rises = ("Your base salary rises by " + pd.Series(review["raise_pct"] * 100).map("{:.2f}%".format)
                 + " to " + pd.Series(round_cents(review["new_base_monthly"].to_numpy())).map("{:,.2f}".format)
                 + f" {policy.currency} a month from the next cycle (" + _plain_reason(review["reason"], policy)
                 + ").")
        people["salary_review"] = np.where(eligible, rises.to_numpy(dtype=object),
                                           ("No salary increase (" + review["reason"].astype(str) + ").").to_numpy())
        rec = outcomes.promotions["recommendation"].astype(str).to_numpy()
        to = outcomes.promotions["to_grade"].astype(str).map(grade_titles).fillna("").to_numpy(dtype=object)
        why = _plain_reason(outcomes.promotions["reason"], policy).to_numpy(dtype=object)
        people["promotion"] = np.select(
            [rec == "promote", rec == "demote"],
            ["Recommended for promotion to " + to + " (" + why + ").",
             "Moved to " + to + " under the policy's rule for repeated low ratings (" + why + ")."],
            "No change of grade this cycle (" + why + ").")
        if "new_base_monthly" in outcomes.promotions:  # the pay on the new grade (compkit.steps.placement)
            pr = outcomes.promotions
            moved = pr["new_base_monthly"].notna().to_numpy()
            step = pr["new_step"].map(lambda x: "" if pd.isna(x) else f", step {int(x)}").astype(str)
            change = (" Base salary " + pr["base_monthly_before"].map("{:,.2f}".format) + " -> "
                      + pr["new_base_monthly"].map("{:,.2f}".format) + f" {policy.currency} a month" + step
                      + " (" + pr["pay_change"].map("{:+,.2f}".format) + ").")
            people["promotion"] = np.where(moved, people["promotion"].to_numpy(dtype=object)
                                           + change.to_numpy(dtype=object), people["promotion"].to_numpy(dtype=object))

        won = outcomes.awards.groupby(outcomes.awards["employee_id"].astype(str))["award_name"].agg("、".join)
        people["award_names"] = people["employee_id"].map(won).astype(object).fillna("")  # compkit.awards
        lines = _commission_lines(policy, outcomes, None)
        deferrals = outcomes.deferrals[outcomes.deferrals["scheduled"] != 0].copy()
        deferrals["employee_id"] = deferrals["employee_id"].astype(str)
        days_total = (end - start).days + 1
    info_cols = pd.DataFrame({
        "employee_id": ids, "name": emp["name"].astype(str).to_numpy() if "name" in emp else ids,
        "branch": emp["branch"].astype(str).to_numpy(), "region": emp["region"].astype(str).to_numpy(),
        "grade": emp["grade"].astype(str).to_numpy(), "grade_title": emp["grade"].astype(str).map(grade_titles),
        "hire_date": emp["hire_date"], "exit_date": emp["exit_date"],
        "days_employed": np.rint(np.asarray(days_share) * days_total).astype("int64"), "days_in_period": days_total,
    })
    people = info_cols.merge(people, on="employee_id", how="left", validate="one_to_one")
    people["rating_name"] = people["rating"].map(policy.ratings.names).astype(object)  # what people read
    ind = _indicator_table(policy, indicators, emp)
    feedback = _feedback_lines(policy, ind, pd.Series(people["grade_title"].to_numpy(), index=ids))
    info = {"cycle": data.cycle, "interim": interim, "through": through or data.periods[-1],
            "period_start": start, "period_end": end, "currency": policy.currency,
            "period_label": (f"{month_label(data.periods[0])} to {month_label(through)} (cycle to date)"
                             if interim else f"{month_label(data.periods[0])} to {month_label(data.periods[-1])}"),
            "appeal_days": policy.appeals.window_days, "policy_version": policy.version}
    from compkit.meetings import plan_progress

    return Statements(people=people, indicators=ind, feedback=feedback, commission=lines,
                      deferrals=deferrals.reset_index(drop=True), info=info,
                      plans=plan_progress(policy, data, indicators))


# ------------------------------------------------------------------------------------------ rendering


def _money(x: Any) -> str:
    return "" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:,.2f}"


def _date(x: Any) -> str:
    return "" if x is None or pd.isna(x) else f"{x.day} {_MONTHS[x.month - 1]} {x.year}"


_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ title }}: {{ p.name }}</title>
<style>
body{font-family:Segoe UI,Helvetica,Arial,sans-serif;max-width:60em;margin:2em auto;color:#222;line-height:1.4}
h1{font-size:1.5em;margin-bottom:0} h2{font-size:1.15em;border-bottom:2px solid #305496;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;width:100%;margin:.5em 0} th,td{padding:.25em .5em;border-bottom:1px solid #ddd;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums} tr.total td{font-weight:bold;border-top:2px solid #555}
.note{color:#555;font-size:.92em} .box{background:#f3f6fb;padding:.6em 1em;border-radius:4px}
.claw{color:#a00}
</style></head><body>
<p class="note">Confidential: for {{ p.name }} only.</p>
<h1>{{ title }}</h1>
<p>{{ info.period_label }}</p>
<table>
<tr><th>Name</th><td>{{ p.name }}</td><th>Branch</th><td>{{ p.branch }}, {{ p.region }}</td></tr>
<tr><th>Position</th><td>{{ p.grade_title }}</td><th>Days employed</th>
<td>{{ p.days_employed }} of {{ p.days_in_period }} days{% if p.joined %} (joined {{ p.joined }}){% endif %}{% if p.left %} (left {{ p.left }}){% endif %}</td></tr>
</table>

<h2>Your results</h2>
<div class="box">
{% if has_score %}
Overall score <b>{{ "%.1f"|format(p.composite) }}</b> (on target = 100){% if p.deductions %}, after {{ "%.0f"|format(p.deductions) }} points deducted for upheld complaints{% endif %};
{% if interim %}indicative rating <b>{{ p.rating_name }}</b> (the rating is decided at the end of the cycle).{% else %}rating <b>{{ p.rating_name }}</b>.{% endif %}
{% else %}No overall score: there was not enough to score in this period.{% endif %}
</div>
<table><tr><th>Part of the scorecard</th><th class="n">Score</th><th class="n">Weight</th></tr>
{% for c in categories %}<tr><td>{{ c.title }}</td><td class="n">{{ c.score }}</td><td class="n">{{ c.weight }}</td></tr>
{% endfor %}</table>

<h2>Scores by indicator</h2>
<table><tr><th>Indicator</th><th class="n">Result</th><th class="n">Target</th><th class="n">Achievement</th><th class="n">Score</th><th class="n">Weight in your overall score</th></tr>
{% for r in indicators %}<tr><td>{{ r.name }}</td><td class="n">{{ r.actual }}</td><td class="n">{{ r.target }}</td><td class="n">{{ r.achievement }}</td><td class="n">{{ r.score }}</td><td class="n">{{ r.weight }}</td></tr>
{% endfor %}</table>
{% if notes %}<p class="note">{% for n in notes %}{{ n }}<br>{% endfor %}</p>{% endif %}

<h2>What went well</h2>
{% if strengths %}<ul>{% for t in strengths %}<li>{{ t }}</li>{% endfor %}</ul>{% else %}<p>No indicator stood out above target in this period.</p>{% endif %}
<h2>Where to improve</h2>
{% if weaknesses %}<ul>{% for t in weaknesses %}<li>{{ t }}</li>{% endfor %}</ul>{% else %}<p>Every indicator is at or above target.</p>{% endif %}
{% if suggestions %}<h2>Suggestions</h2><ul>{% for t in suggestions %}<li>{{ t }}</li>{% endfor %}</ul>{% endif %}
{% if plans or plan_meetings %}<h2>Last cycle's improvement plan</h2>{% endif %}
{% if plans %}
<table><tr><th>Indicator</th><th>Agreed action</th><th>Due</th><th class="n">Score then</th><th class="n">Score now</th><th>Moved</th></tr>
{% for r in plans %}<tr><td>{{ r.name }}</td><td>{{ r.action }}</td><td>{{ r.due }}</td><td class="n">{{ r.before }}</td><td class="n">{{ r.now }}</td><td>{{ r.moved }}</td></tr>
{% endfor %}</table>{% endif %}
{% if plan_meetings %}<p class="note">{% for m in plan_meetings %}{{ m }}<br>{% endfor %}</p>{% endif %}

<h2>Your pay ({{ currency }})</h2>
<table><tr><th>Item</th><th class="n">Amount</th></tr>
{% for line in pay %}<tr{% if line.total %} class="total"{% endif %}><td>{{ line.label }}</td><td class="n">{{ line.amount }}</td></tr>
{% endfor %}</table>
{% if pay_notes %}<p class="note">{% for n in pay_notes %}{{ n }}<br>{% endfor %}</p>{% endif %}
{% if deferrals %}<p>Deferred bonus, paid in later years if not cancelled:</p>
<table><tr><th>Year</th><th class="n">Amount</th></tr>{% for d in deferrals %}<tr><td>{{ d.year }}</td><td class="n">{{ d.amount }}</td></tr>{% endfor %}</table>{% endif %}

<h2>Commission by month and product</h2>
{% if commission %}<table><tr><th>Month</th><th>Product</th><th class="n">Sales</th><th class="n">Commission</th><th></th></tr>
{% for c in commission %}<tr{% if c.clawback %} class="claw"{% endif %}><td>{{ c.month }}</td><td>{{ c.product }}</td><td class="n">{{ c.sales }}</td><td class="n">{{ c.commission }}</td><td>{{ c.remark }}</td></tr>
{% endfor %}<tr class="total"><td colspan="3">Total commission</td><td class="n">{{ commission_total }}</td><td></td></tr></table>
{% else %}<p>No commission in this period.</p>{% endif %}

<h2>Salary review and promotion</h2>
<p>{{ p.salary_review }}</p>
<p>{{ p.promotion }}</p>

<p class="note">If you believe a figure on this statement is wrong, you may appeal within {{ info.appeal_days }} days of receiving it.
Tell HR which item is wrong and what it should be; you will receive a written answer. This statement is confidential.</p>
</body></html>
"""


def _template():
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(_TEMPLATE)


def _group(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {str(k): g for k, g in df.groupby("employee_id", sort=False)} if len(df) else {}


def render_statements(st: Statements, policy: Policy) -> dict[str, str]:
    """HTML statement per employee id (plain words, money with thousands separators and two decimals)."""
    template = _template()
    ind_by, fb_by, cm_by, df_by = _group(st.indicators), _group(st.feedback), _group(st.commission), \
        _group(st.deferrals)
    plans_by = _group(st.plans)
    cats = policy.scorecard.categories
    interim = st.info["interim"]
    title = ("Interim performance and pay statement" if interim else f"Performance and pay statement {st.info['cycle']}")
    out = {}
    empty = pd.DataFrame(columns=["employee_id"])
    allowance_cols = [c for c in st.people.columns if c.startswith("allowance_")]
    for rec in st.people.to_dict("records"):
        eid = rec["employee_id"]
        p = dict(rec)
        p["joined"] = _date(rec["hire_date"]) if pd.notna(rec["hire_date"]) and rec["hire_date"] > st.info[
            "period_start"] else ""
        p["left"] = _date(rec["exit_date"]) if pd.notna(rec["exit_date"]) and rec["exit_date"] <= st.info[
            "period_end"] else ""
        has_score = pd.notna(rec.get("composite"))
        categories = [{"title": c.capitalize(),
                       "score": "" if pd.isna(rec.get(c)) else f"{rec[c]:.1f}", "weight": f"{w:.0%}"}
                      for c, w in cats.items()]
        ind = ind_by.get(eid, empty)
        rows, notes = [], []
        for r in ind.to_dict("records"):
            decimals = 2 if r["source"] in ("ratings", "surveys") or abs(r["actual"] or 0) < 100 else 0
            rows.append({"name": r["indicator_name"],
                         "actual": "" if pd.isna(r["actual"]) else f"{r['actual']:,.{decimals}f}",
                         "target": "" if pd.isna(r["target"]) else f"{r['target']:,.{decimals}f}",
                         "achievement": "" if pd.isna(r["achievement"]) else f"{r['achievement']:.0%}",
                         "score": "" if pd.isna(r["score"]) else f"{r['score']:.1f}",
                         "weight": f"{r['effective_weight']:.1%}"})
            if isinstance(r["note"], str) and r["note"]:
                notes.append(f"{r['indicator_name']}: {r['note']}.")
        if len(ind) and (ind["source"] == "ratings").any():
            notes.append("Ratings are the weighted average of your self, supervisor and peer ratings on a 1 to 5 "
                         "scale; 4 scores 100.")
        fb = fb_by.get(eid, empty)
        texts = {k: fb.loc[fb["kind"] == k, "text"].tolist() if len(fb) else [] for k in
                 ("strength", "weakness", "suggestion")}
        pay_lines = [{"label": "Base salary" + (" to date" if interim else ""), "amount": _money(rec["base_pay"]),
                      "total": False}]
        pay_lines += [{"label": f"{c[len('allowance_'):].replace('_', ' ').capitalize()} allowance",
                       "amount": _money(rec[c]), "total": False} for c in allowance_cols]
        pay_lines.append({"label": "Commission" + (" paid to date" if interim else ""),
                          "amount": _money(rec["commission"]), "total": False})
        if not interim:
            pay_lines.append({"label": "Performance bonus paid now", "amount": _money(rec["bonus_paid"]),
                              "total": False})
            if rec.get("awards"):
                pay_lines.append({"label": f"Special awards ({rec['award_names']})", "amount": _money(rec["awards"]),
                                  "total": False})
        pay_lines.append({"label": "Total cash" + (" to date" if interim else ""), "amount": _money(rec["total_cash"]),
                          "total": True})
        pay_notes = []
        if interim:
            pay_notes.append(f"Indicative performance bonus if the cycle ended now: {_money(rec['bonus_indicative'])} "
                             f"{st.info['currency']}: {_money(rec['bonus_indicative_paid'])} paid now and "
                             f"{_money(rec['bonus_indicative_deferred'])} deferred (decided and paid after the end "
                             "of the cycle).")
        else:
            if rec["bonus_deferred"]:
                pay_notes.append(f"Performance bonus deferred: {_money(rec['bonus_deferred'])} "
                                 f"{st.info['currency']} (not included in total cash).")
            if pd.notna(rec.get("employee_contributions")):
                pay_notes.append("Your social insurance and housing fund contributions (deducted from gross pay): "
                                 f"{_money(rec['employee_contributions'])} {st.info['currency']}.")
            for key in ("pay_note", "commission_note"):
                if isinstance(rec.get(key), str) and rec[key]:
                    pay_notes.append(_plain(rec[key]).capitalize() + ".")
        cm = cm_by.get(eid, empty)
        commission = [{"month": c["month"], "product": c["product_name"], "sales": _money(c["sales"]),
                       "commission": _money(c["commission"]), "clawback": c["line"] == "clawback",
                       "remark": c["remark"]}
                      for c in cm.to_dict("records")]
        dfr = df_by.get(eid, empty)
        deferrals = [{"year": int(d["year"]), "amount": _money(d["payable"])} for d in dfr.to_dict("records")]
        out[eid] = template.render(
            title=title, p=p, info=st.info, interim=interim, has_score=has_score, categories=categories,
            indicators=rows, notes=notes, strengths=texts["strength"], weaknesses=texts["weakness"],
            suggestions=texts["suggestion"], pay=pay_lines, pay_notes=pay_notes, deferrals=deferrals,
            commission=commission, commission_total=_money(rec["commission"]), currency=st.info["currency"],
            **_plan_rows(plans_by.get(eid, empty)))
    return out


def _plan_rows(plans: pd.DataFrame) -> dict[str, list]:
    """Last cycle's improvement plan on a statement (compkit.meetings.plan_progress): a row per planned
    indicator, and a line per meeting (when, with whom, acknowledged or the employee's comment)."""
    def num(x: float) -> str:
        return "" if pd.isna(x) else f"{x:.1f}"

    moved = {"improved": "improved", "declined": "declined", "unchanged": "unchanged", "": ""}
    rows = [{"name": r["indicator_name"], "action": r["action"], "due": _date(r["due_date"]),
             "before": num(r["score_before"]), "now": num(r["score_now"]),
             "moved": moved[r["moved"]] + (f" ({r['change']:+.1f})" if r["moved"] else "")}
            for r in plans.to_dict("records") if isinstance(r["indicator"], str)]
    meetings = []
    for (date, who), g in plans.groupby(["meeting_date", "met_by"], sort=True) if len(plans) else []:
        ack = g["acknowledged"].fillna(False).astype(bool).all()
        comments = "; ".join(c for c in g["comment"].dropna().astype(str) if c)
        meetings.append(f"Feedback meeting on {_date(date)} with {who}: "
                        + ("acknowledged" if ack else "not acknowledged") + (f"; your comment: {comments}" if
                                                                              comments else "") + ".")
    return {"plans": rows, "plan_meetings": meetings}


def _plain(text: str) -> str:
    return text.replace("composite", "overall score")


# -------------------------------------------------------------------------------------- publication


def published_results(st: Statements, policy: Policy, key: bytes | None = None) -> dict[str, pd.DataFrame]:
    """Tables for publication (公示): the results list and the rating distribution by branch.

    results: one row per person with a score: ``person`` (a keyed-hash pseudonym, or the name when the policy
    says ``publication.names: name``), branch, position, overall score (1 decimal), rating; sorted by
    pseudonym (or name), so the order reveals nothing. ratings_by_branch: head-count per branch and rating
    share; branches with fewer than ``publication.min_group`` people have their shares suppressed.
    No raw employee id is ever included.
    """
    people = st.people
    scored = people[people["composite"].notna()]
    if policy.publication.names == "name":
        person = scored["name"].astype(str).to_numpy()
    else:
        if key is None:
            raise FeedbackError("published results with pseudonyms need the pseudonym key "
                                "(see compkit.privacy.pseudonym_key)")
        person = pseudonyms(scored["employee_id"], key)
        if len(set(person)) != len(person):
            raise FeedbackError("two people got the same pseudonym; use a longer pseudonym")
    results = pd.DataFrame({"person": person, "branch": scored["branch"].to_numpy(),
                            "position": scored["grade_title"].to_numpy(),
                            "overall_score": np.round(scored["composite"].to_numpy(dtype="float64"), 1),
                            "rating": scored["rating"].astype(str).map(policy.ratings.names).to_numpy()})
    results = results.sort_values("person", kind="stable").reset_index(drop=True)
    labels = list(policy.ratings.names.values())  # published as people read them (优秀 ... 不称职 by default)
    counts = pd.crosstab(results["branch"], pd.Categorical(results["rating"], categories=labels), dropna=False)
    n = counts.sum(axis=1)
    shares = counts.div(n.where(n > 0), axis=0)
    shares.columns = [f"share_{c}" for c in shares.columns]
    by_branch = pd.concat([n.rename("n"), shares], axis=1).reset_index().rename(columns={"index": "branch"})
    by_branch = suppress(by_branch, count_col="n", min_n=policy.publication.min_group)
    return {"results": results, "ratings_by_branch": by_branch}


# -------------------------------------------------------------------------------------------- writing


def write_statements(policy_path: str | Path, data_path: str | Path, out: str | Path, period: str | None = None,
                     cycle: str | None = None, publish: str | Path | None = None) -> list[Path]:
    """Evaluate, then write a statement per employee (``OUT/<employee id>.html``) and ``OUT/statements.xlsx``
    (a sheet per section, everyone). ``publish``: also write the published tables (CSV) to that folder.

    ``out`` must not be under a ``reports`` folder. Everything is written to a temporary folder first and moved
    into place, so a failed run leaves the previous statements as they were. Returns the files written.
    """
    from compkit.data import load_dataset
    from compkit.excel import write_workbook
    from compkit.policy import load_policy
    from compkit.privacy import pseudonym_key

    out = refuse_reports_folder(out, "statements")
    policy = load_policy(policy_path)
    key = None
    if publish is not None and policy.publication.names == "pseudonym":
        key = pseudonym_key()  # fail early, before any work, when the key is missing
    if publish is not None and policy.publication.names == "name":
        refuse_reports_folder(publish, "published results with names")
    data = load_dataset(data_path, policy=policy, cycle=cycle)
    st = statement_contents(policy, data, period=period)
    pages = render_statements(st, policy)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    pub_tmp = None
    try:
        for eid, html in pages.items():
            (tmp / f"{_safe(eid)}.html").write_text(html, encoding="utf-8")
        sheets = {name: getattr(st, name) for name in Statements.TABLES}
        if len(st.plans):
            sheets["plans"] = st.plans
        write_workbook(sheets, tmp / "statements.xlsx")
        if publish is not None:
            pub = Path(publish).resolve()
            pub.parent.mkdir(parents=True, exist_ok=True)
            pub_tmp = Path(tempfile.mkdtemp(prefix=f".{pub.name}-", dir=pub.parent))
            for name, table in published_results(st, policy, key).items():
                table.to_csv(pub_tmp / f"{name}.csv", index=False, float_format="%.4g")
        replace_folder(tmp, out)
        if pub_tmp is not None:
            replace_folder(pub_tmp, Path(publish).resolve())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if pub_tmp is not None:
            shutil.rmtree(pub_tmp, ignore_errors=True)
    written = sorted(out.glob("*.html")) + [out / "statements.xlsx"]
    if publish is not None:
        written += sorted(Path(publish).glob("*.csv"))
    return written


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)
