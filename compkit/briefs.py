"""The calibration and fairness reports for their readers: sections, headline figures with flags, and the
tables the reports show, in the report's language (compkit.present does the formatting).

The notebooks load, call these and plot; what a table contains (which supervisors count as lenient, which peers
form a complete panel, how a flag reads) is decided here, once, with tests (tests/test_briefs.py).

Sign convention (stated once in each report's introduction, as compkit.fairness defines it): a gap is positive
when the group is paid, or rated, less than the reference group.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from compkit import i18n
from compkit.i18n import N_
from compkit.present import Column, Headline, Presenter, flag

# ============================================================================================ calibration

#: the calibration report's sections: (anchor, title msgid, introduction msgid)
CALIBRATION_SECTIONS = (
    ("summary", N_("Executive summary"),
     N_("Five figures on this cycle's calibration, each with a flag: green OK, amber Watch, red Alert.")),
    ("raters", N_("1. Rater leniency and severity"),
     N_("Every rating is modelled as the ratee's true level plus the rater's leniency plus noise, fitted jointly "
        "over the whole network of raters and ratees (peers rate across teams, which links the supervisors). A "
        "supervisor whose team scores high is lenient only if their ratings are higher than what the same people "
        "get from others. Raters not linked to enough ratees cannot be estimated and are left unadjusted. "
        "Supervisors are shown by pseudonym, never by name.")),
    ("before-after", N_("1a. Scores before and after calibration"),
     N_("Each supervisor's ratings are corrected by their estimated leniency; the 360-degree combination then uses "
        "the calibrated supervisor scores. The figure compares each manager's mean supervisor rating before and "
        "after; the table gives the mean by region.")),
    ("reliability", N_("2. Reliability of the ratings"),
     N_("How much do raters agree? The intraclass correlations (Shrout & Fleiss) use the peers' ratings of one "
        "item, which form a rater-by-ratee table; Krippendorff's alpha tolerates missing ratings and the ordinal "
        "scale. Values of 0.8 and above are reliable, 0.667 to 0.8 acceptable for tentative conclusions, below "
        "0.667 unreliable (Krippendorff 2004).")),
    ("budget", N_("3. Budget"),
     N_("The total employer cost of the policy against the budget, and the value of the chosen knob at which the "
        "cost meets the budget exactly (as near as rounding to the cent allows).")),
    ("targets", N_("4. Targets for next cycle"),
     N_("Challenging yet achievable: next cycle's targets are set from this cycle's results so that about the "
        "chosen share of managers reaches 100%, given how much individual results moved within this year. The "
        "environment factor compares each branch's median achievement with the bank's: well below 1 means this "
        "year's targets there were out of line with the local market.")),
    ("breakdown", N_("4a. Each person's share of the branch target"),
     N_("Next cycle's branch targets (this cycle's branch totals grown by the chosen rate) are broken down to each "
        "manager in proportion to the proposals above, so the branch targets add up; the scale says how much "
        "harder than the proposals that makes them, and the expected share how many managers would then reach "
        "100%. compkit targets writes each person's monthly targets to a private file; this report shows "
        "branches only.")),
    ("curve", N_("5. Payout curve"),
     N_("A bonus curve whose threshold, target and maximum are reached by the chosen shares of managers (90%, 50% "
        "and 10% by default), paying 50%, 100% and 150% of the target bonus there. It has no cliff: it never rises "
        "faster than the maximum slope, so the first 50% is paid over a ramp below the threshold rather than all "
        "at once at one score.")),
    ("outputs", N_("6. Outputs"),
     N_("The calibrated policy (budget knob solved) is written as calibrated_policy.yaml: it loads like any other "
        "policy and can be evaluated or reviewed. Beside it: the calibrated supervisor scores by region and item "
        "(calibrated_scores_by_region.csv) and the proposed targets by branch and indicator "
        "(proposed_targets.csv). Per-person scores go only to a private folder.")),
)

#: a supervisor more lenient than this (points on the rating scale) is listed
LENIENT_POINTS = 0.35

#: reliability bands (Krippendorff 2004, section 11.4): reliable at 0.8, tentative conclusions from 0.667
RELIABLE, TENTATIVE = 0.8, 0.667

#: the payout curve's points: the zero point, threshold, target and maximum
CURVE_POINTS = (N_("Nothing paid below"), N_("Threshold"), N_("Target"), N_("Maximum"))

#: the knob names compkit.calibration.knob_setter describes, as the reports show them
KNOB_NAMES = (N_("multiplier of every commission rate"), N_("bonus pool amount (CNY)"),
              N_("multiplier of every payout of the bonus curve"))


def supervisors(raters: pd.DataFrame, employees: pd.DataFrame, cycle: Any, lang: str | None = None,
                key: bytes | None | str = "auto") -> pd.DataFrame:
    """The supervisors among rater_effects' ``raters`` (rater keys ``supervisor:<id>``), with ``region`` (of
    the people they supervise) and ``supervisor``: how a report names them — a keyed pseudonym for the cycle
    when a publication key is set (compkit.privacy), otherwise their rank by size of effect
    ('supervisor #3'); never their id. ``key``: "auto" reads the publication key, None uses ranks."""
    from compkit.privacy import PrivacyError, pseudonym_key, pseudonyms

    sup = raters[raters["rater"].astype(str).str.startswith("supervisor:")].copy()
    sup["rater"] = sup["rater"].astype(str).str.removeprefix("supervisor:")
    sup["region"] = sup["rater"].map(employees.groupby("supervisor_id")["region"].first().astype(object))
    if key == "auto":
        try:
            key = pseudonym_key()
        except PrivacyError:
            key = None
    if key is not None:
        sup["supervisor"] = pseudonyms(sup["rater"], key, scope=f"supervisor {cycle}")
    else:
        rank = sup["effect"].abs().fillna(0).rank(ascending=False, method="first").astype(int)
        word = i18n.gettext(lang)(N_("supervisor #{rank}"))
        sup["supervisor"] = [word.format(rank=r) for r in rank]
    return sup.reset_index(drop=True)


def leniency(supervisors: pd.DataFrame, threshold: float = LENIENT_POINTS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Supervisors' leniency by region, and the lenient ones.

    ``supervisors``: compkit.calibration.rater_effects' ``raters`` rows of the supervisors, with columns
    ``supervisor`` (a pseudonym), ``region``, ``estimable``, ``effect`` (points on the rating scale, + lenient)
    and ``n_ratees``. Returns (by region: ``region, supervisors, estimable, mean_effect, lenient`` — mean_effect
    over the estimable ones, lenient = how many have effect > ``threshold``; and the lenient supervisors, most
    lenient first: ``supervisor, region, n_ratees, effect``).
    """
    s = supervisors.assign(region=supervisors["region"].astype(object).fillna("?"))
    est = s[s["estimable"].astype(bool)]
    lenient = est[est["effect"] > threshold].sort_values(["effect", "supervisor"], ascending=[False, True])
    by = pd.DataFrame({"supervisors": s.groupby("region").size()})
    by["estimable"] = est.groupby("region").size().reindex(by.index).fillna(0).astype("int64")
    by["mean_effect"] = est.groupby("region")["effect"].mean().reindex(by.index)
    by["lenient"] = lenient.groupby("region").size().reindex(by.index).fillna(0).astype("int64")
    return (by.reset_index().rename(columns={"index": "region"}),
            lenient[["supervisor", "region", "n_ratees", "effect"]].reset_index(drop=True))


def supervisor_means(calibrated: pd.DataFrame, employees: pd.DataFrame, by: str = "region") -> pd.DataFrame:
    """Mean supervisor rating per manager before (``score``) and after (``calibrated_score``) calibration,
    averaged by ``by``: ``region, before, after, change`` (points on the rating scale). ``calibrated``:
    RaterEffects.calibrated with ``rater_key`` (supervisor rows start ``supervisor:``)."""
    sup = calibrated[calibrated["rater_key"].astype(str).str.startswith("supervisor:")]
    person = sup.groupby("employee_id")[["score", "calibrated_score"]].mean()
    unit = employees.set_index("employee_id")[by].astype(object)
    out = person.join(unit).groupby(by)[["score", "calibrated_score"]].mean()
    out = out.rename(columns={"score": "before", "calibrated_score": "after"})
    out["change"] = out["after"] - out["before"]
    return out.reset_index()


def peer_panel(ratings: pd.DataFrame, item: str, raters: int = 3) -> pd.DataFrame:
    """A complete rater-by-ratee panel for the ICC: the peers' ratings of ``item``, the first ``raters`` peers of
    each ratee as rater slots 0..raters-1, ratees with fewer peers left out. Columns of ``ratings`` plus
    ``slot``."""
    peer = ratings[(ratings["rater_role"] == "peer") & (ratings["item"] == item)].copy()
    peer["slot"] = peer.groupby("employee_id").cumcount()
    panel = peer[peer["slot"] < raters]
    return panel[panel.groupby("employee_id")["slot"].transform("size") == raters].reset_index(drop=True)


def reliability_flag(value: float) -> str:
    """ok at 0.8 and above, watch from 0.667, alert below (Krippendorff 2004)."""
    if pd.isna(value):
        return "watch"
    return "ok" if value >= RELIABLE else "watch" if value >= TENTATIVE else "alert"


def target_reach(targets: pd.DataFrame) -> pd.DataFrame:
    """Share of managers reaching 100% of this cycle's target, by indicator (propose_targets' table):
    ``indicator, people, reached, flag`` — watch outside 30%..70% (too hard or too easy)."""
    g = targets.groupby("indicator", sort=False)["achievement_now"]
    out = pd.DataFrame({"people": g.size(), "reached": g.apply(lambda a: float((a >= 1).mean()))}).reset_index()
    out["flag"] = np.where((out["reached"] < 0.3) | (out["reached"] > 0.7), "watch", "ok")
    return out


def curve_table(current: Sequence[Sequence[float]], calibrated: Sequence[Sequence[float]]) -> pd.DataFrame:
    """The current and calibrated bonus curves side by side: ``point, payout, current, calibrated`` (scores in
    composite points, payout as a share of the target bonus), one row per payout level of either curve, and
    ``slope``: the calibrated curve's rise into that point (payout per composite point)."""
    cur = {float(y): float(x) for x, y in current}
    cal = [(float(x), float(y)) for x, y in calibrated]
    rows = []
    for k, (x, y) in enumerate(cal):
        slope = (y - cal[k - 1][1]) / (x - cal[k - 1][0]) if k > 0 else np.nan
        name = CURVE_POINTS[k] if len(cal) == len(CURVE_POINTS) else ""
        rows.append((name, y, cur.get(y, np.nan), x, slope))
    return pd.DataFrame(rows, columns=["point", "payout", "current", "calibrated", "slope"])


def max_slope(curve: Sequence[Sequence[float]]) -> float:
    """The steepest rise of a curve: max over its segments of Δpayout / Δscore (payout per composite point)."""
    pts = np.asarray(curve, dtype="float64")
    return float(np.max(np.diff(pts[:, 1]) / np.diff(pts[:, 0])))


def calibration_headlines(R: Presenter, *, supervisors: int, estimable: int, lenient: int, alpha: float,
                          cost: float, budget: float, solved: bool, knob: str, value: float, reach: float,
                          slope: float, slope_limit: float | None) -> list[Headline]:
    """The calibration report's five headline figures, each with a flag and one sentence.

    1 lenient supervisors: watch when more than 10% of the estimable ones, alert above 25%; 2 Krippendorff's
    alpha (ordinal): see :func:`reliability_flag`; 3 cost against the budget and the solved knob: alert when no
    value of the knob meets it, watch when cost and budget differ by more than 2%; 4 share reaching 100% of
    target (median over indicators): watch outside 30%..70%; 5 the calibrated payout curve's steepest slope:
    alert above the limit (a cliff), ok otherwise."""
    _, lang = R._, R.lang
    share = lenient / estimable if estimable else float("nan")
    h1 = Headline(_("Lenient supervisors"), _("{n} of {total}").format(n=i18n.number(lenient, lang),
                                                                       total=i18n.number(estimable, lang)),
                  flag(share, 0.1 + 1e-12, 0.25 + 1e-12),
                  _("{n} supervisors rate more than {points} points above what the same people get from others; "
                    "{skipped} of {all} could not be estimated.").format(
                      n=i18n.number(lenient, lang), points=i18n.number(LENIENT_POINTS, lang, 2),
                      skipped=i18n.number(supervisors - estimable, lang), all=i18n.number(supervisors, lang)))
    h2 = Headline(_("Agreement between raters"), "α = " + i18n.number(alpha, lang, 2), reliability_flag(alpha),
                  _("Ratings are reliable.") if alpha >= RELIABLE else
                  _("Ratings allow tentative conclusions only.") if alpha >= TENTATIVE else
                  _("Ratings are unreliable: train raters and review the rating items."))
    over = cost / budget - 1 if budget else float("nan")
    h3 = Headline(_("Cost against the budget"),
                  _("{total} of {budget}").format(total=i18n.wan(cost, lang), budget=i18n.wan(budget, lang)),
                  "alert" if not solved else ("watch" if abs(over) > 0.02 else "ok"),
                  (_("Setting the {knob} to {value} meets the budget.").format(knob=_(knob),
                                                                              value=i18n.number(value, lang, 4))
                   if solved else _("No value of the {knob} meets the budget: choose another knob.").format(
                      knob=_(knob))))
    h4 = Headline(_("Managers reaching 100% of target"), i18n.percent(reach, lang, 0),
                  "watch" if (reach > 0.7 or reach < 0.3) else "ok",
                  _("Targets look too easy: reset them upwards.") if reach > 0.7 else
                  _("Targets look too hard: reset them downwards.") if reach < 0.3 else
                  _("Targets are challenging yet achievable (median over indicators)."))
    cliff = slope_limit is not None and slope > slope_limit * (1 + 1e-9)
    h5 = Headline(_("Steepest rise of the calibrated payout curve"),
                  _("{pct} of the target bonus per point").format(pct=i18n.percent(slope, lang, 1)),
                  "alert" if cliff else "ok",
                  _("The curve has a cliff: one point more pays much more.") if cliff else
                  _("No cliff: one more point of overall score never adds more than {pct} of the target bonus.")
                  .format(pct=i18n.percent(slope_limit if slope_limit is not None else slope, lang, 1)))
    return [h1, h2, h3, h4, h5]


# ============================================================================================ fairness

#: the fairness report's sections: (anchor, title msgid, introduction msgid)
FAIRNESS_SECTIONS = (
    ("summary", N_("Executive summary"),
     N_("Five figures on fairness, each with a flag: green OK, amber Watch, red Alert. The flags table below "
        "lists every check that calls for attention.")),
    ("flags", N_("Flags"),
     N_("Each row is a check that calls for attention: a four-fifths breach, a pay gap of 5% or more within a "
        "grade, or a gap that objective factors do not explain (bank-wide or in one branch), or supervisors rating "
        "a group lower than its results justify. The value is the impact ratio, the gap, or the p-value of a "
        "statistical test against its threshold.")),
    ("outcomes", N_("1. Outcomes by group"),
     N_("Head-counts and mean scores and pay for each group of each attribute. Groups of fewer than 5 people are "
        "suppressed (shown as empty).")),
    ("impact", N_("2. Adverse impact (the four-fifths rule)"),
     N_("For each yes/no outcome, the selection rate of each group and its ratio to the group with the highest "
        "rate. A ratio below 0.8 is generally regarded as evidence of adverse impact (29 CFR 1607.4(D)); exactly "
        "0.8 is not. The p-value of an exact or chi-square test says whether the difference could be chance.")),
    ("law", N_("2a. Equal pay as Chinese law frames it"),
     N_("The measures in this report come from the EU pay-transparency directive (Directive (EU) 2023/970, Art. 9) "
        "and US practice (the four-fifths rule). In China the obligation they serve is equal pay for equal work: "
        "Labour Law Article 46 (同工同酬) and Article 13, and the Law on the Protection of Women's Rights and "
        "Interests (revised 2022) Article 45 (男女同工同酬). Chinese law sets no numeric test: the gaps within a "
        "grade and the adjusted gaps are how this report looks for unequal pay for the same work; a gap that "
        "objective factors (grade, tenure, results) do not explain is what 同工同酬 forbids.")),
    ("gaps", N_("3. Pay gaps (EU pay-transparency directive, Art. 9)"),
     N_("A gap is the difference of the reference group's pay and the group's, in % of the reference group's pay: "
        "positive means the group is paid less. Hourly figures divide annual pay by the full-time equivalent. A "
        "gap of 5% or more within a grade calls for a joint pay assessment unless objective, gender-neutral "
        "factors justify it.")),
    ("adjusted", N_("4. Adjusted gaps"),
     N_("The raw gap mixes differences in grade, time in grade, tenure, region and performance with unexplained "
        "differences. The regression compares people of the same grade, time in grade, tenure, region and overall "
        "score (log pay, robust standard errors); the Blinder-Oaxaca decomposition splits the raw gap into the "
        "part these factors explain and the part they do not. Because a gap can sit in one branch only, the "
        "adjusted gap is also estimated branch by branch, and each branch's result is among the flags.")),
    ("rater", N_("5. Do supervisors rate some groups lower than their results justify?"),
     N_("The supervisor's mean rating compared between groups with the same objective performance score: a "
        "significant positive gap (in rating points) means the group is rated lower than people with the same "
        "results. Checked for the whole bank and region by region.")),
    ("conclude", N_("6. What to conclude"),
     N_("Read the flags first: a four-fifths breach or a significant adjusted gap is a reason to look at the "
        "people and decisions behind it, not a verdict. Raw gaps that vanish after adjustment are explained by "
        "grade, tenure, region and performance; gaps that remain in one branch or one region point at specific "
        "decisions (salary setting in that branch, or supervisors' ratings in that region) that a supervisory "
        "review should examine.")),
)

#: the checks of compkit.fairness.summary_flags, as the report names them
CHECKS = {"four_fifths": N_("Four-fifths rule"), "category_pay_gap": N_("Pay gap within a grade"),
          "adjusted_gap": N_("Adjusted pay gap"), "branch_adjusted_gap": N_("Adjusted pay gap in a branch"),
          "rater_bias": N_("Rating below results")}

#: what the value of each check is
CHECK_VALUES = {"four_fifths": N_("impact ratio"), "category_pay_gap": N_("gap, %"),
                "adjusted_gap": N_("p-value"), "branch_adjusted_gap": N_("p-value"), "rater_bias": N_("p-value")}

#: the groups' codes as people read them (attribute -> code -> msgid)
GROUP_WORDS: dict[str, dict[str, str]] = {"gender": {"F": N_("Women"), "M": N_("Men")}}

#: words used in the scopes and outcomes of the fairness tables
FAIRNESS_TERMS = (N_("hourly"), N_("annual"), N_("all regions"), N_("base salary"), N_("total pay"),
                  N_("Top rating"), N_("Promoted"), N_("Received a bonus"), N_("explained"), N_("unexplained"),
                  N_("gap"), N_("endowments"), N_("coefficients"), N_("interaction"), N_("two-fold"),
                  N_("three-fold"), N_("North"), N_("South"), N_("East"), N_("West"), N_("Lower"),
                  N_("Lower middle"), N_("Upper middle"), N_("Upper"))

#: the yes/no outcomes of the adverse-impact section
OUTCOMES = {"top_rating": N_("Top rating"), "promoted": N_("Promoted"), "bonus_received": N_("Received a bonus")}


def group_word(value: Any, attribute: str, lang: str | None) -> str:
    """A group's code in words: gender F -> 女性 (zh-CN) / Women (en); other codes through the catalog."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    word = GROUP_WORDS.get(attribute, {}).get(str(value))
    return i18n.gettext(lang)(word) if word else i18n.term(str(value), lang)


def scope_words(check: str, scope: Any, lang: str | None) -> str:
    """The scope of a flag in words: 'CM1 · hourly' -> 'CM1 · 小时', 'region North' -> '北区' ..."""
    if scope is None or (isinstance(scope, float) and np.isnan(scope)):
        return i18n.gettext(lang)("Whole bank")
    s = str(scope)
    _ = i18n.gettext(lang)
    if " · " in s:
        category, basis = s.rsplit(" · ", 1)
        return f"{i18n.term(category, lang)} · {_(basis)}"
    if s in ("all regions", "whole bank"):
        return _("Whole bank")
    if s.startswith("region "):
        return _("Region {region}").format(region=i18n.term(s.removeprefix("region "), lang))
    if check == "branch_adjusted_gap":
        name = i18n.term(s, lang)
        if name.endswith(("支行", "分行", "Branch", "branch")):  # the unit's name already says it is a branch
            return name
        return _("Branch {branch}").format(branch=name)
    return i18n.term(s, lang)


def flag_rows(flags: pd.DataFrame, attribute: str, lang: str | None, only_flagged: bool = True) -> pd.DataFrame:
    """compkit.fairness.summary_flags' table for a reader: ``check, scope, group, gap, measure, value,
    threshold, level`` in words (level alert for a flagged check, ok otherwise), the flagged ones first (all of
    them when ``only_flagged`` and any is flagged)."""
    _ = i18n.gettext(lang)
    f = flags[flags["flag"]] if only_flagged and flags["flag"].any() else flags
    out = pd.DataFrame({
        "check": [_(CHECKS.get(c, c)) for c in f["check"]],
        "scope": [scope_words(c, s, lang) for c, s in zip(f["check"], f["scope"])],
        "group": [group_word(g, attribute, lang) for g in f["group"]],
        "gap": f["gap"].to_numpy(),
        "measure": [_(CHECK_VALUES.get(c, "")) for c in f["check"]],
        "value": f["value"].to_numpy(),
        "threshold": f["threshold"].to_numpy(),
        "level": np.where(f["flag"].to_numpy(), "alert", "ok"),
    })
    return out.reset_index(drop=True)


def rater_rows(rater: Mapping[str, Any]) -> pd.DataFrame:
    """One row per scope of compkit.fairness.rater_bias results {scope: AdjustedGap}: ``scope, n, gap,
    gap_ci_low, gap_ci_high, pvalue, significant`` (gap in rating points, positive = rated lower)."""
    rows = []
    for name, result in rater.items():
        r = result.table.iloc[0]
        rows.append({"scope": name, "n": int(r["n"] + r["ref_n"]), "gap": r["gap"], "gap_ci_low": r["gap_ci_low"],
                     "gap_ci_high": r["gap_ci_high"], "pvalue": r["pvalue"], "significant": bool(r["significant"])})
    return pd.DataFrame(rows, columns=["scope", "n", "gap", "gap_ci_low", "gap_ci_high", "pvalue", "significant"])


def fairness_headlines(R: Presenter, *, flags: pd.DataFrame, raw_gap: float, adjusted_gap: float,
                       adjusted_significant: bool, branches: int, branches_flagged: int, lowest_ratio: float,
                       lowest_outcome: str, rater_gap: float, rater_significant: bool, group: str,
                       reference: str, attribute: str, threshold: float = 5.0) -> list[Headline]:
    """The fairness report's five headline figures, each with a flag and one sentence (gaps positive = the
    group is paid or rated less).

    1 checks flagged: alert when any is; 2 the raw mean gap of total pay: watch at |gap| >= ``threshold``%;
    3 the adjusted gap of total pay: alert when significant, else ok; 4 branches with a significant adjusted
    gap: alert when any; 5 the lowest impact ratio: alert below 0.8, watch below 0.9; (the rater check is in
    the sentence of 1 when significant)."""
    _, lang = R._, R.lang
    g, ref = group_word(group, attribute, lang), group_word(reference, attribute, lang)
    n_flag, n_all = int(flags["flag"].sum()), len(flags)
    h1 = Headline(_("Checks that call for attention"), _("{n} of {total}").format(n=i18n.number(n_flag, lang),
                                                                                 total=i18n.number(n_all, lang)),
                  "alert" if n_flag else "ok",
                  (_("Supervisors rate {group} lower than their results justify; see the flags.") if rater_significant
                   else _("Look at the people and decisions behind each flag before concluding.")).format(group=g)
                  if n_flag else _("No check calls for attention."))
    h2 = Headline(_("Pay gap, {group} against {reference}").format(group=g, reference=ref),
                  i18n.number(raw_gap, lang, 1) + "%", "watch" if abs(raw_gap) >= threshold else "ok",
                  _("On average {group} are paid {pct} less than {reference} (total pay, before adjustment).")
                  .format(group=g, reference=ref, pct=i18n.number(raw_gap, lang, 1) + "%") if raw_gap >= 0 else
                  _("On average {group} are paid {pct} more than {reference} (total pay, before adjustment).")
                  .format(group=g, reference=ref, pct=i18n.number(-raw_gap, lang, 1) + "%"))
    h3 = Headline(_("Adjusted pay gap (same grade, tenure, region and score)"),
                  i18n.number(adjusted_gap, lang, 1) + "%", "alert" if adjusted_significant else "ok",
                  (_("{group} are paid {pct} less than {reference} of the same grade, tenure, region and score: a "
                     "gap these factors do not explain.") if adjusted_gap >= 0 else
                   _("{group} are paid {pct} more than {reference} of the same grade, tenure, region and score: a "
                     "gap these factors do not explain.")).format(group=g, reference=ref,
                                                                  pct=i18n.number(abs(adjusted_gap), lang, 1) + "%")
                  if adjusted_significant else _("What remains after adjustment could be chance."))
    h4 = Headline(_("Branches with an unexplained gap"),
                  _("{n} of {total}").format(n=i18n.number(branches_flagged, lang), total=i18n.number(branches, lang)),
                  "alert" if branches_flagged else "ok",
                  _("Examine salary setting in the flagged branches.") if branches_flagged else
                  _("No branch shows a significant adjusted gap."))
    h5 = Headline(_("Lowest impact ratio"), i18n.number(lowest_ratio, lang, 2),
                  "alert" if lowest_ratio < 0.8 else ("watch" if lowest_ratio < 0.9 else "ok"),
                  _("{outcome}: below the four-fifths line (0.8), evidence of adverse impact.").format(
                      outcome=_(lowest_outcome)) if lowest_ratio < 0.8 else
                  _("{outcome}: every group's selection rate is at least four fifths of the highest.").format(
                      outcome=_(lowest_outcome)))
    return [h1, h2, h3, h4, h5]


#: column specs of the fairness report's tables (msgid, kind)
IMPACT_COLUMNS = {"group": Column(N_("Group")), "n": Column(N_("People"), "int"),
                  "selected": Column(N_("Selected"), "int"), "rate": Column(N_("Selection rate"), "pct1"),
                  "impact_ratio": Column(N_("Impact ratio"), "num2"), "level": Column(N_("Flag"), "flag"),
                  "pvalue": Column(N_("p-value"), "num2")}

#: the pay-transparency headline measures (compkit.fairness.PayTransparencyReport.headline's letters)
TRANSPARENCY_MEASURES = {"a": N_("Mean gap of total pay (%)"), "b": N_("Mean gap of variable pay (%)"),
                         "c": N_("Median gap of total pay (%)"), "d": N_("Median gap of variable pay (%)"),
                         "e": N_("Share receiving variable pay (%)"),
                         "g": N_("Grades with a mean gap of {threshold}% or more (hourly)")}

#: pay components of the by-grade gaps
COMPONENTS = {"base": N_("Base pay"), "variable": N_("Variable pay"), "total": N_("Total pay")}


def transparency_rows(report: Any, attribute: str, lang: str | None) -> pd.DataFrame:
    """The pay-transparency headline for a reader: ``measure, basis, group, value`` in words (value in %, or a
    count of grades for measure g)."""
    _ = i18n.gettext(lang)
    h = report.headline
    return pd.DataFrame({
        "measure": [_(TRANSPARENCY_MEASURES[m]).format(threshold=i18n.number(report.threshold, lang, 0))
                    for m in h["measure"]],
        "basis": [_(b) for b in h["basis"]],
        "group": [group_word(g, attribute, lang) if g is not None else "" for g in h["group"]],
        "value": h["value"].to_numpy(),
    })
