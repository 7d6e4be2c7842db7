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

import functools
import multiprocessing
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup, escape

from compkit import _numtext, i18n
from compkit import commission as cm
from compkit._arrays import positions
from compkit.data import Dataset, cycle_periods
from compkit.engine import Outcomes, evaluate
from compkit.errors import CompkitError
from compkit.fingerprint import bytes_sha256, file_sha256
from compkit.i18n import M_
from compkit.money import round_cents
from compkit.policy import Policy
from compkit.privacy import MIN_GROUP, k_anonymise, pseudonyms, refuse_reports_folder, suppress, suppress_small_cells

#: points on the scorecard that mean "on target" (every curve maps target achievement to 100)
ON_TARGET = 100.0
#: a peer standing at or above this share counts as a strength (at or below 1 - it: a weakness)
TOP_QUARTER = 0.75
#: strengths and weaknesses shown per person
SHOWN = 3

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
    net         employee x month employed: gross pay, bonus, contributions, income tax, net pay (from the
                engine's ``net`` table)
    info        cycle, period covered, interim or final, currency
    """

    people: pd.DataFrame
    indicators: pd.DataFrame
    feedback: pd.DataFrame
    commission: pd.DataFrame
    deferrals: pd.DataFrame
    net: pd.DataFrame = field(default_factory=pd.DataFrame)
    info: dict[str, Any] = field(default_factory=dict)
    #: last cycle's improvement plan and how each planned indicator moved (compkit.meetings.plan_progress)
    plans: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: customer satisfaction by dimension (attitude, competence, responsiveness): compkit.voice
    satisfaction: pd.DataFrame = field(default_factory=pd.DataFrame)

    TABLES = ("people", "indicators", "feedback", "commission", "deferrals", "net")


# ------------------------------------------------------------------------------------------ periods


def latest_period(frequency: str, months: list[str]) -> str:
    """The interim period the policy's ``feedback.frequency`` asks for, given the months with data (YYYY-MM,
    sorted): monthly -> the latest month; quarterly -> the latest complete quarter (2025-08 -> 2025Q2), or the
    latest month when no quarter is complete yet."""
    last = months[-1]
    if frequency == "monthly":
        return last
    year, month = int(last[:4]), int(last[5:7])
    quarter = month // 3  # complete quarters this year: months 3, 6, 9, 12 end one
    if quarter == 0:
        return last
    return f"{year}Q{quarter}"


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
        raise FeedbackError(M_("--period {period}: expected a month YYYY-MM, a quarter YYYYQn or a half-year YYYYHn",
                               period=period))
    if last not in months:
        raise FeedbackError(M_("--period {period}: outside the cycle {cycle} ({first} to {last})", period=period,
                               cycle=cycle, first=months[0], last=months[-1]))
    return last


def month_label(period: str, lang: str = "en") -> str:
    """'2025-07' -> 'July 2025' (zh-CN: '2025年7月')."""
    return i18n.month(period, lang)


# ---------------------------------------------------------------------------------------- contents


def _names(policy: Policy, lang: str = "en") -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Indicator, product and grade names for people: the policy's names, in ``lang`` where the catalog has
    them (:func:`compkit.i18n.term`)."""
    ind = {i.id: i18n.term(i.name or i.id.replace("_", " ").capitalize(), lang) for i in policy.scorecard.indicators}
    prod = {p.id: i18n.term(p.name or p.id.replace("_", " ").capitalize(), lang) for p in policy.commission.products}
    grade = {g.id: i18n.term(g.title or g.id, lang) for g in policy.grades}
    return ind, prod, grade


def peer_standing(indicators: pd.DataFrame, grade: pd.Series, min_group: int = MIN_GROUP) -> pd.DataFrame:
    """Each score's standing among peers: people of the same grade scored on the same indicator.

    share_below = (number of peers with a strictly lower score) / (peers - 1)   [fraction in 0..1]
    peers       = people of the grade with a score on the indicator (the person included)
    With fewer than ``min_group`` peers the standing is not shown (NaN): too few to compare, and it would
    reveal colleagues' scores. Returns columns peers, share_below, aligned with ``indicators``.
    """
    score = indicators["score"]
    grouped = score.groupby(_peer_groups(indicators, grade), sort=False)
    peers = grouped.transform("count").to_numpy(dtype="float64")
    rank_min = grouped.rank(method="min").to_numpy(dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        share = (rank_min - 1.0) / (peers - 1.0)
    share = np.where((peers >= min_group) & score.notna().to_numpy(), share, np.nan)
    return pd.DataFrame({"peers": peers.astype("int64"), "share_below": share}, index=indicators.index)


def _peer_groups(indicators: pd.DataFrame, grade: pd.Series) -> Any:
    """The key of :func:`peer_standing`'s groups, one per row: the person's grade (``grade``, indexed by employee
    id) and the indicator. As one whole number per (grade, indicator) where every row's person has a grade (the
    person's position looked up with Arrow, the grades and indicators as codes): the same groups as the pair of
    texts, found without hashing a million texts; else the texts themselves."""

    index = grade.index.astype(str)
    if index.is_unique:
        pos = _positions(indicators["employee_id"], index)
        grade_code, _ = pd.factorize(grade.astype(str).to_numpy(dtype=object))
        if not np.isnan(pos).any() and (grade_code >= 0).all():
            ind_code, ind_names = pd.factorize(indicators["indicator"].astype(str))
            if (ind_code >= 0).all():
                return grade_code[pos.astype("int64")].astype("int64") * max(len(ind_names), 1) + ind_code
    g = indicators["employee_id"].astype(str).map(grade).astype(str)
    return [g.to_numpy(), indicators["indicator"].astype(str).to_numpy()]


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
    # the person as a code (only each person's own rows are ordered: the same rows chosen as by the id's text)
    person, _ = pd.factorize(indicators["employee_id"].astype(str))
    frame = pd.DataFrame({"employee_id": person, "points": points,
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


def count_indicators(policy: Policy) -> set[str]:
    """The scorecard's indicators whose results and targets are numbers of things, shown as whole numbers on
    statements: ``unit: count`` in the policy (new customers, referrals), complaints counted (``measure:
    count``), certificates held (``measure: certificates``), and a team indicator adding up one of these."""
    by_id = {i.id: i for i in policy.scorecard.indicators}

    def is_count(ind: Any, seen: frozenset[str]) -> bool:
        if ind.unit == "count" or ind.measure in ("count", "certificates"):
            return True
        return (ind.source == "team" and ind.of in by_id and ind.of not in seen
                and is_count(by_id[ind.of], seen | {ind.id}))
    return {i.id for i in policy.scorecard.indicators if is_count(i, frozenset({i.id}))}


def _indicator_table(policy: Policy, indicators: pd.DataFrame, employees: pd.DataFrame,
                     lang: str = "en") -> pd.DataFrame:
    ind_names, _, _ = _names(policy, lang)
    # an indicator whose scorecard weight for the person is 0 does not apply to them (a team leader's indicator on
    # a customer manager's statement, a corporate one on a retail manager's): it is left out of their statement,
    # of the workbook and of everyone's peer comparison
    indicators = indicators[indicators["weight"].to_numpy(dtype="float64") != 0]
    t = indicators[["employee_id", "indicator", "category", "source", "actual", "target", "achievement", "score",
                    "weight", "effective_weight", "weighted_score", "note"]].copy()
    t["employee_id"] = t["employee_id"].astype(str)
    t["indicator"] = t["indicator"].astype(str)
    t["indicator_name"] = t["indicator"].map(ind_names)
    t["category"] = t["category"].astype(str)
    t["points_vs_target"] = t["effective_weight"] * (t["score"] - ON_TARGET)
    grade = pd.Series(employees["grade"].astype(str).to_numpy(), index=employees["employee_id"].astype(str))
    t = t.reset_index(drop=True)
    t = pd.concat([t, peer_standing(t, grade)], axis=1)
    t["standing"] = strengths_and_weaknesses(t)
    return t


def _feedback_lines(policy: Policy, ind: pd.DataFrame, grade_titles: pd.Series, lang: str = "en") -> pd.DataFrame:
    """Plain-words lines: what went well, where to improve, and the policy's suggestion for each weakness.
    Each line is one whole translated sentence with its figures filled in (never glued fragments)."""
    _ = i18n.gettext(lang)
    chosen = ind[ind["standing"] != ""].copy()
    # strengths: largest gain first; weaknesses: largest loss first
    chosen["_key"] = np.where(chosen["standing"] == "strength", -chosen["points_vs_target"],
                              chosen["points_vs_target"])
    chosen = chosen.sort_values(["employee_id", "standing", "_key"], kind="stable")
    score = chosen["score"].to_numpy(dtype="float64")
    ach = chosen["achievement"].to_numpy(dtype="float64")
    share = chosen["share_below"].to_numpy(dtype="float64")
    titles = chosen["employee_id"].map(grade_titles).astype(str).to_numpy()
    forms = {(False, False): _("{name}: {achievement}% of target, score {score}"),
             (False, True): _("{name}: {achievement}% of target, score {score}; better than {share}% of the "
                              "{title} peers"),
             (True, False): _("{name}: score {score} (on target = 100)"),
             (True, True): _("{name}: score {score} (on target = 100); better than {share}% of the {title} peers")}
    detail = np.array([forms[(a == "", sh != "")].format(name=n, achievement=a, score=sc, share=sh, title=t)
                       for n, a, sc, sh, t in zip(chosen["indicator_name"].to_numpy(dtype=object).tolist(),
                                                  _numtext.grouped(ach * 100, lang, 0).to_pylist(),
                                                  _numtext.grouped(score, lang, 0).to_pylist(),
                                                  _numtext.grouped(share * 100, lang, 0).to_pylist(), titles.tolist())],
                      dtype=object)
    indicator = chosen["indicator"].to_numpy(dtype=object)
    # the policy's advice for each indicator (a strength's, a weakness's suggestion), worded once per indicator
    indicators = pd.unique(indicator).tolist()

    def worded(texts: dict[str, Any]) -> dict[Any, str | None]:
        advice = pd.Series(indicators, dtype=object).map(texts).tolist()
        return {i: None if pd.isna(t) else i18n.term(str(t), lang) for i, t in zip(indicators, advice)}
    strengths_text = worded(policy.feedback.strengths)
    is_strength = (chosen["standing"] == "strength").to_numpy()
    with_text = _("{detail}. {advice}")
    strength_line = np.array([d if strengths_text[i] is None else with_text.format(detail=d, advice=strengths_text[i])
                              for d, i in zip(detail.tolist(), indicator.tolist())], dtype=object)
    lines = pd.DataFrame({"employee_id": chosen["employee_id"].to_numpy(),
                          "kind": np.where(is_strength, "strength", "weakness"),
                          "text": np.where(is_strength, strength_line, detail),
                          "indicator": chosen["indicator"].to_numpy()})
    weak = lines[lines["kind"] == "weakness"]
    tips = worded(policy.feedback.suggestions)
    pairs = ind[["indicator", "indicator_name"]].drop_duplicates(keep="last")  # each indicator's name, once
    names = dict(zip(pairs["indicator"].to_numpy(dtype=object).tolist(),
                     pairs["indicator_name"].to_numpy(dtype=object).tolist()))
    generic = _("Agree with your supervisor on a plan to improve {indicator}.")
    suggestion = {i: generic.format(indicator=names.get(i, i)) if t is None else t for i, t in tips.items()}
    text = [suggestion[i] for i in weak["indicator"].to_numpy(dtype=object).tolist()]
    suggestions = pd.DataFrame({"employee_id": weak["employee_id"].to_numpy(), "kind": "suggestion",
                                "text": np.array(text, dtype=object),
                                "indicator": weak["indicator"].to_numpy()})
    out = pd.concat([lines, suggestions], ignore_index=True)
    kind_order = out["kind"].map({"strength": 0, "weakness": 1, "suggestion": 2})
    out = out.assign(_k=kind_order).sort_values(["employee_id", "_k"], kind="stable").drop(columns="_k")
    out["order"] = out.groupby(["employee_id", "kind"]).cumcount() + 1
    return out[["employee_id", "kind", "order", "indicator", "text"]].reset_index(drop=True)


#: a figure in an engine reason (a whole number or a decimal, not part of a word such as a grade code ``CM1``)
_FIGURE = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])")
#: what stands for the k-th figure of a reason while it is worded (digits, as a figure is, a decimal point where
#: the figure has one): :func:`_plain_reason`
_STAND_IN = "4242424{:05d}"
_STAND_INS = re.compile(r"4242424(\d{5})(?:\.5)?")


def _plain_reason(text: pd.Series, policy: Policy, lang: str = "en") -> pd.Series:
    """Engine reasons in the employee's words: grade titles and indicator names instead of codes (in ``lang``
    where the catalog knows the reason's wording).

    The reasons of 100,000 people are tens of thousands of distinct texts but a few hundred forms once their
    figures are set aside (``not promoted to SCM (not met: ratings): 3.7 years in CM2 (≥ 3); ...``): each form is
    worded once, with a stand-in for each figure (digits, as the figure is, with a decimal point where it has one,
    so that the engine's patterns match it as they match the figure), and each text gets its own figures back.
    The same words as wording each text, where the wording cannot depend on a figure's value: no code and no
    rating code is a figure, and no message of the catalog with a figure in it could be (part of) the form's
    text (such a form is worded text by text)."""
    ind_names, _, grades = _names(policy, lang)
    text = text.astype(str)
    # the reasons repeat (a few dozen texts for 100,000 people): each distinct one is worded once
    distinct = pd.unique(text.to_numpy(dtype=object)).tolist()
    titles = {**grades, **ind_names}
    codes = list(titles)
    # every code replaced in one pass over each text, where that is the same as replacing one code after the other
    # in this order: codes are whole words (two cannot match overlapping text), no title holds a later code as a
    # word (which the later replacement would change) and no backslash (which re.sub would read)
    one_pass = codes and all(re.fullmatch(r"\w+", c) for c in codes) and not any(
        "\\" in titles[c] or any(re.search(rf"\b{re.escape(later)}\b", titles[c]) for later in codes[k + 1:])
        for k, c in enumerate(codes))

    def prepared(texts: list[str]) -> list[str]:
        """Codes replaced by titles, composite by overall score."""
        out = pd.Series(texts, dtype=object)
        if one_pass:
            words = re.compile(r"\b(" + "|".join(map(re.escape, codes)) + r")\b")
            out = pd.Series([words.sub(lambda m: titles[m.group(1)], t) for t in out.tolist()], dtype=object)
        else:
            for code, title in titles.items():
                out = out.str.replace(rf"\b{re.escape(code)}\b", title, regex=True)
        return out.str.replace("composite", "overall score", regex=False).tolist() if len(out) else []

    def worded(texts: list[str]) -> list[str]:
        return [i18n.engine_text(t, lang, policy.ratings.names) for t in texts]

    catalog = getattr(i18n.translations(lang), "_catalog", None)
    forms_ok = (isinstance(catalog, dict)
                and not any(_FIGURE.fullmatch(str(c)) for c in [*codes, *policy.ratings.names])
                and not any(_STAND_INS.search(str(t)) for t in [*titles.values(), *policy.ratings.names.values()]))
    if not forms_ok:
        plain = worded(prepared(distinct))
    else:
        # each message of the catalog with a figure in it, as a pattern that matches it with any figures
        catalog_figures = [re.compile(re.escape(_FIGURE.sub("\x00", m)).replace("\x00", r"[\d.]+"))
                           for m in catalog if isinstance(m, str) and _FIGURE.search(m)]
        figures: list[list[str]] = []
        forms: dict[str, int] = {}
        form_of: list[int] = []
        for t in distinct:
            found: list[str] = []

            def stand_in(m: re.Match, found: list[str] = found) -> str:
                found.append(m.group(0))
                return _STAND_IN.format(len(found) - 1) + (".5" if "." in m.group(0) else "")
            form = _FIGURE.sub(stand_in, t)
            if len(found) >= 100_000:  # more figures than stand-ins: the text is its own form
                form, found[:] = t, []
            figures.append(found)
            form_of.append(forms.setdefault(form, len(forms)))
        ready = prepared(list(forms))
        form_words = worded(ready)
        # a form whose text a message of the catalog with a figure could meet is worded text by text
        unsure = {k for k, r in enumerate(ready) if any(c.search(r) for c in catalog_figures)}
        direct = iter(worded(prepared([t for t, k in zip(distinct, form_of) if k in unsure])) if unsure else [])
        plain = [next(direct) if k in unsure
                 else _STAND_INS.sub(lambda m, found=found: found[int(m.group(1))], form_words[k]) if found
                 else form_words[k]
                 for k, found in zip(form_of, figures)]
    by_text = dict(zip(distinct, plain))
    return pd.Series([by_text[t] for t in text.to_numpy(dtype=object)], index=text.index, dtype=object)


def _coded(s: pd.Series) -> tuple[np.ndarray, list[str]]:
    """(codes, categories as text) of a column: its own codes when it is categorical without missing values, else
    those of its text (``astype(str)``, as the statements showed it)."""
    if not isinstance(s.dtype, pd.CategoricalDtype) or bool((s.cat.codes.to_numpy() < 0).any()):
        s = s.astype(str).astype("category")
    return s.cat.codes.to_numpy(), [str(v) for v in s.cat.categories.tolist()]


def _text_category(codes: np.ndarray, texts: list[str]) -> pd.Categorical:
    """A categorical column whose row ``i`` reads ``texts[codes[i]]`` (texts may repeat: merged into one category)."""
    values, inverse = np.unique(np.asarray(texts, dtype=object).astype(str), return_inverse=True)
    return pd.Categorical.from_codes(inverse.reshape(-1)[codes].astype(np.int32) if len(texts) else codes,
                                     categories=pd.Index(values.tolist(), dtype="str"))


def _commission_lines(policy: Policy, outcomes: Outcomes, through: str | None, lang: str = "en") -> pd.DataFrame:
    """The commission lines of the statements (non-zero lines; interim: paid to date, no settlement line). The text
    columns (employee, month, product, line kind, remark) are categorical: a few distinct texts repeated over
    millions of lines at 100,000 people, worked out once per category."""
    _ = i18n.gettext(lang)
    _n, products, _g = _names(policy, lang)
    c = outcomes.commission
    c = c[c["commission"].to_numpy() != 0]
    period, periods = _coded(c["period"])
    product, ids = _coded(c["product"])
    if through is not None:  # interim: lines paid to date; the gate and cap settle at the end of the cycle
        keep = (np.array([p <= through for p in periods], dtype=bool)[period]
                & np.array([p != "settlement" for p in ids], dtype=bool)[product])
        c, period, product = c[keep], period[keep], product[keep]
    labels = [_("End-of-cycle adjustment (gate or cap)") if p == "settlement"
              else products.get(p, p.replace("_", " ").capitalize()) for p in ids]
    claw = c["clawback"].to_numpy(dtype=bool)
    retro = np.array([m == "retroactive" for m in map({p.id: p.method for p in policy.commission.products}.get, ids)],
                     dtype=bool)
    # remark: 0 none, 1 clawback, 2 a higher tier (partly), 3 a higher tier (re-rated)
    remark = np.where(claw, 1, 0).astype(np.int8)
    tier = _tier_reached(policy, c) & ~claw
    remark[tier] = np.where(retro[product[tier]] if len(ids) else False, 3, 2)
    remarks = ["", _("clawback: sales reversed"), _("partly at a higher tier"),
               _("a higher tier reached: the year's sales so far re-rated")]
    employee, employees = _coded(c["employee_id"])
    return pd.DataFrame({"employee_id": _text_category(employee, employees),
                         "period": _text_category(period, periods),
                         "month": _text_category(period, [_month(p, lang) for p in periods]),
                         "product": _text_category(product, ids), "product_name": _text_category(product, labels),
                         "sales": c["basis"].to_numpy(dtype="float64"),
                         "commission": c["commission"].to_numpy(dtype="float64"),
                         "line": pd.Categorical.from_codes(claw.astype(np.int8),
                                                           categories=pd.Index(["payment", "clawback"], dtype="str")),
                         "remark": _text_category(remark, remarks)})


def _tier_reached(policy: Policy, lines: pd.DataFrame) -> np.ndarray:
    """True for the lines whose cycle-to-date sales moved into a higher tier of a tiered product this month:
    tier of the cumulative basis after the month > tier before it (bounds from the policy)."""
    reached = np.zeros(len(lines), dtype=bool)
    if policy.commission.accumulate != "cycle_to_date" or "cumulative_basis" not in lines:
        return reached
    product, ids = _coded(lines["product"])
    after = lines["cumulative_basis"].to_numpy(dtype="float64")
    before = after - lines["basis"].to_numpy(dtype="float64")
    for p in policy.commission.products:
        if p.tiers is None:
            continue
        bounds, _ = cm.tier_arrays(p.tiers)
        if p.id not in ids:
            continue
        mine = product == ids.index(p.id)
        reached[mine] = (np.searchsorted(bounds, after[mine], side="left")
                         > np.searchsorted(bounds, before[mine], side="left"))
    return reached


def statement_month(policy: Policy, data: Dataset, period: str | None) -> str | None:
    """The last month (YYYY-MM) an interim statement for ``period`` covers, or None for the final statement
    (``period`` None or ending with the cycle's last month). ``latest``: as often as the policy's
    ``feedback.frequency`` says, the latest month or complete quarter with data (:func:`latest_period`)."""
    if period == "latest":
        period = latest_period(policy.feedback.frequency, sorted(data.metrics["period"].astype(str).unique()))
    through = None if period is None else through_month(period, data.cycle)
    return None if through == data.periods[-1] else through


#: the Outcomes tables the statements read (evaluate(tables=): the compliance checks and the leavers, which no
#: statement shows, are not worked out)
STATEMENT_OUTCOMES = ("summary", "indicators", "commission", "deferrals", "salary_review", "promotions", "awards",
                      "net", "tax")
#: the tables of a dataset a statement reads once the evaluation is done (statement_contents and what it calls:
#: the people, their customers' surveys, last cycle's plans and scores)
STATEMENT_TABLES = ("employees", "surveys", "history", "feedback", "history_scores")


def statement_inputs(data: Dataset) -> Dataset:
    """``data`` with only the tables the statements read after the evaluation (:data:`STATEMENT_TABLES`); the
    others (sales, metrics, ratings ...: most of the memory at 100,000 people) empty. For
    :func:`write_statements`, which evaluates first and then drops the rest before working out the contents."""
    import dataclasses

    emptied = {f.name: getattr(data, f.name).iloc[0:0] for f in dataclasses.fields(data)
               if isinstance(getattr(data, f.name), pd.DataFrame) and f.name not in STATEMENT_TABLES}
    more = {k: v for k, v in data.more.items() if k in STATEMENT_TABLES}
    return dataclasses.replace(data, **emptied, more=more)


def statement_contents(policy: Policy, data: Dataset, outcomes: Outcomes | None = None,
                       period: str | None = None, lang: str | None = None, release: bool = False) -> Statements:
    """The contents of every employee's statement for the cycle (``period`` None) or cycle to date.

    Final: all figures from ``evaluate(policy, data)``. Interim (``period`` before the cycle's last month):
    all figures from ``evaluate(policy, data, through=month)``, the engine's one definition of the cycle to
    date (scores to date; base and allowances for the days employed to date at the cycle's day rate;
    commission lines paid up to the month; the bonus indicative, as paid now and deferred if the cycle ended
    then); total cash to date leaves the indicative bonus out; no salary review or promotion yet.

    Texts (feedback lines, salary review, promotion, remarks) are written in ``lang`` (default: the policy's
    ``language``); ``info['lang']`` records it.

    ``release``: the given ``outcomes`` serve nothing after this (:func:`write_statements`): each of its tables is
    emptied once its section is made, so that its memory serves the next section (at 100,000 people the
    commission table alone is 8.4 million lines). An evaluation made here is always let go of that way.
    """
    lang = i18n.resolve(lang, policy)
    _ = i18n.gettext(lang)
    through = statement_month(policy, data, period)
    interim = through is not None
    if not interim:
        release = release or outcomes is None  # an evaluation made here serves nothing else
        outcomes = evaluate(policy, data, tables=STATEMENT_OUTCOMES) if outcomes is None else outcomes
    _n, _p, grade_titles = _names(policy, lang)
    emp = data.employees.reset_index(drop=True)
    ids = emp["employee_id"].astype(str)
    start = data.cycle_start
    if interim:
        to_date = evaluate(policy, data, through=through, tables=STATEMENT_OUTCOMES)
        end = pd.Timestamp(through + "-01") + pd.offsets.MonthEnd(0)
        indicators = to_date.indicators
        t = to_date.summary
        days_share = t["days_share"].to_numpy(dtype="float64") * ((data.cycle_end - start).days + 1) \
            / ((end - start).days + 1)  # share of the days to date
        keep = ["employee_id", *policy.scorecard.categories, "deductions", "composite", "rating", "base_pay",
                *[c for c in t.columns if c.startswith("allowance_")], "allowances", "commission"]
        people = t[[c for c in keep if c in t.columns]].copy()
        people["employee_id"] = people["employee_id"].astype(str)
        lines = _commission_lines(policy, to_date, through, lang)
        _release(to_date, "commission")
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
        people["salary_review"] = _("The salary review is decided at the end of the cycle.")
        people["promotion"] = _("Promotions are decided at the end of the cycle.")
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
        reason = _plain_reason(review["reason"], policy, lang).to_numpy(dtype=object)
        rises = _("Your base salary rises by {pct} to {amount} a month from the next cycle ({reason}).")
        same = _("No salary increase ({reason}).")
        pct = review["raise_pct"].to_numpy(dtype="float64")
        new_base = round_cents(review["new_base_monthly"].to_numpy())
        people["salary_review"] = [
            rises.format(pct=r, amount=b, reason=why) if ok else same.format(reason=why)
            for ok, r, b, why in zip(eligible.tolist(), _numtext.percent(pct, lang, 2),
                                     _numtext.money(new_base, lang, policy.currency), reason.tolist())]
        rec = outcomes.promotions["recommendation"].astype(str).to_numpy()
        to = outcomes.promotions["to_grade"].astype(str).map(grade_titles).fillna("").to_numpy(dtype=object)
        why = _plain_reason(outcomes.promotions["reason"], policy, lang).to_numpy(dtype=object)
        forms = {"promote": _("Recommended for promotion to {grade} ({reason})."),
                 "demote": _("Moved to {grade} under the policy's rule for repeated low ratings ({reason})."),
                 "none": _("No change of grade this cycle ({reason}).")}
        people["promotion"] = [forms.get(r, forms["none"]).format(grade=g, reason=w) for r, g, w in zip(rec, to, why)]
        if "new_base_monthly" in outcomes.promotions:  # the pay on the new grade (compkit.steps.placement)
            pr = outcomes.promotions
            with_step = _("{sentence} Base salary {before} → {after} a month, step {step} ({change}).")
            no_step = _("{sentence} Base salary {before} → {after} a month ({change}).")
            after_pay = pr["new_base_monthly"].to_numpy(dtype="float64")
            change = pr["pay_change"].to_numpy(dtype="float64")
            changes = [("+" if c > 0 else "") + t for c, t in zip(change.tolist(),
                                                                  _numtext.grouped(change, lang, 2).to_pylist())]
            people["promotion"] = [
                s_ if no_pay else (no_step if pd.isna(step) else with_step).format(
                    sentence=s_, before=before, after=after, step="" if pd.isna(step) else int(step), change=c)
                for s_, no_pay, before, after, step, c in zip(
                    people["promotion"], np.isnan(after_pay).tolist(),
                    _numtext.money(pr["base_monthly_before"].to_numpy(dtype="float64"), lang, policy.currency),
                    _numtext.money(after_pay, lang, policy.currency), pr["new_step"], changes)]

        won = outcomes.awards.groupby(outcomes.awards["employee_id"].astype(str))["award_name"].agg("、".join)
        people["award_names"] = people["employee_id"].map(won).astype(object).fillna("")  # compkit.awards
        lines = _commission_lines(policy, outcomes, None, lang)
        if release:
            _release(outcomes, "commission", "salary_review", "promotions", "awards")
        del s, review
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
    ind = _indicator_table(policy, indicators, emp, lang)
    from compkit.meetings import plan_progress
    from compkit.voice import satisfaction_by_person

    source = to_date if interim else outcomes
    plans = plan_progress(policy, data, indicators)
    net = _net_lines(source)
    del indicators  # the engine's tables read: their memory serves the feedback lines
    if interim or release:
        _release(source, "indicators", "net", "summary", "deferrals", "commission")
    feedback = _feedback_lines(policy, ind, pd.Series(people["grade_title"].to_numpy(), index=ids), lang)
    info = {"cycle": data.cycle, "interim": interim, "through": through or data.periods[-1],
            "period_start": start, "period_end": end, "currency": policy.currency,
            "period_label": (_("{start} to {end} (cycle to date)") if interim else _("{start} to {end}")).format(
                start=month_label(data.periods[0], lang), end=month_label(through or data.periods[-1], lang)),
            "lang": lang,
            "appeal_days": policy.appeals.window_days, "policy_version": policy.version}
    if not interim:  # the bonus with its tax
        tax = source.tax[["employee_id", "bonus_tax", "net_bonus", "bonus_treatment", "tax_separate",
                          "tax_combined", "bonus_in_avoid_range", "bonus_cliff", "bonus_avoid_to"]
                         + [c for c in ("ytd_bonus_separate", "deferred_bonus_tax") if c in source.tax]].copy()
        tax["employee_id"] = tax["employee_id"].astype(str)
        people = people.merge(tax, on="employee_id", how="left", validate="one_to_one")
    return Statements(people=people, indicators=ind, feedback=feedback, commission=lines,
                      deferrals=deferrals.reset_index(drop=True), net=net, info=info, plans=plans,
                      satisfaction=satisfaction_by_person(data.surveys, end))


def _release(outcomes: Outcomes, *tables: str) -> None:
    """Empty the Outcomes' ``tables`` (read, and serving nothing after the statements): their memory is freed, and
    its pages handed back (:func:`compkit._memory.release_freed_memory`), so that the resident size follows what
    the contents hold as they are made instead of staying at the evaluation's."""
    from compkit._memory import release_freed_memory

    for name in tables:
        setattr(outcomes, name, pd.DataFrame())
    release_freed_memory()


def _net_lines(outcomes: Outcomes) -> pd.DataFrame:
    """Net pay by month for the statement: the months with pay, from the engine's ``net`` table (figures as
    the engine rounded them, never recomputed): gross wages, the bonus paid, each employee contribution
    (``employee_*``: pension, medical, unemployment, housing fund, supplementary housing fund, annuity) and
    their sum, the cumulative taxable income (累计应纳税所得额), the tax withheld (bonus tax included, of which
    ``bonus_tax``) and net pay = gross + bonus − contributions − tax withheld."""
    n = outcomes.net
    contributions = [c for c in n.columns if c.startswith("employee_") and c != "employee_id"]
    # the ids and months as text (astype(str)) kept as the text array it gives, not turned into Python strings
    # and back
    out = pd.DataFrame({"employee_id": n["employee_id"].astype(str).array, "period": n["period"].astype(str).array,
                        "gross": n["gross"].to_numpy(), "bonus_paid": n["bonus_paid"].to_numpy()})
    for c in contributions:
        out[c] = n[c].to_numpy()
    out["contributions"] = round_cents(n[contributions].sum(axis=1).to_numpy())
    out["taxable_income_cumulative"] = n["taxable_income_cumulative"].to_numpy()
    out["tax_withheld"] = n["tax_withheld"].to_numpy()
    out["bonus_tax"] = n["bonus_tax"].to_numpy()
    out["net_pay"] = n["net_pay"].to_numpy()
    out["month"] = out["period"].map({p: month_label(p) for p in out["period"].unique()})
    return out[(out["gross"] != 0) | (out["bonus_paid"] != 0) | (out["net_pay"] != 0)].reset_index(drop=True)


# ------------------------------------------------------------------------------------------ rendering


def _date(x: Any, lang: str | None = None) -> str:
    return i18n.date(x, lang or "en")


def _array_sum(a: np.ndarray) -> float:
    """Σ of a person's column (missing values as 0), as pandas sums a float column (numpy's sum), so that a total
    is the same to the last bit as ``df[column].sum()``."""
    a = np.asarray(a, dtype="float64")
    return float(np.where(np.isnan(a), 0.0, a).sum())


#: the amounts of a month of net pay besides the contributions (Statements.net)
_NET_AMOUNTS = ("gross", "bonus_paid", "taxable_income_cumulative", "tax_withheld", "net_pay")
#: the employee contributions a statement's net pay by month shows, in the order of its columns (_net_context)
_NET_LABELS = ("employee_pension", "employee_medical", "employee_unemployment", "employee_housing_fund",
               "employee_supplementary_housing_fund", "employee_annuity")


@functools.lru_cache(maxsize=4096)
def _month(period: str, lang: str) -> str:
    """A month's name in ``lang`` (i18n.month), computed once per month and language."""
    return i18n.month(period, lang)


@functools.lru_cache(maxsize=256)
def _term(code: str, lang: str) -> str:
    """i18n.term of a category or an allowance, worked out once per code and language (every statement names
    them)."""
    return i18n.term(code, lang)


def _months(periods: pd.Series, lang: str) -> np.ndarray:
    """The name of each row's month (:func:`_month`), worked out once per distinct month."""
    p = periods.astype(str).to_numpy(dtype=object)
    names = {m: _month(m, lang) for m in pd.unique(p).tolist()}
    return np.array([names[m] for m in p.tolist()], dtype=object)


def _num(x: Any) -> float | None:
    return None if x is None or pd.isna(x) else float(x)


def statement_context(st: Statements, policy: Policy, eid: str, lang: str, parts: dict[str, Any]) -> dict[str, Any]:
    """The data ``templates/statement.html.j2`` receives for one person (everything it reads, explicitly):
    texts in ``lang``, amounts as numbers (the template formats them), and the long tables' rows (indicators,
    commission, net pay by month) as ready HTML, formatted for a range of people at once. ``parts``: the person's
    share of a :class:`_Chunk` (:meth:`_Chunk.parts`): ``rec`` (their row of ``st.people``, a dict),
    ``indicator_rows``, ``notes``, ``has_ratings``, ``feedback`` (kind -> texts), ``commission_rows``,
    ``deferrals``, ``satisfaction``, ``plans`` (lists of dicts), ``net`` and ``net_rows`` (:func:`_net_context`),
    ``allowance_cols``."""
    _ = i18n.gettext(lang)
    rec = parts["rec"]
    interim = st.info["interim"]
    currency = st.info["currency"]
    p = dict(rec)
    p["joined"] = _date(rec["hire_date"], lang) if pd.notna(rec["hire_date"]) and rec["hire_date"] > st.info[
        "period_start"] else ""
    p["left"] = _date(rec["exit_date"], lang) if pd.notna(rec["exit_date"]) and rec["exit_date"] <= st.info[
        "period_end"] else ""
    has_score = pd.notna(rec.get("composite"))
    categories = [{"title": _term(c, lang), "score": _num(rec.get(c)), "weight": w}
                  for c, w in policy.scorecard.categories.items()]
    notes = list(parts["notes"])
    if parts["has_ratings"]:
        notes.append(_("Ratings are the weighted average of your self, supervisor and peer ratings on a 1 to 5 "
                       "scale; 4 scores 100."))
    texts = parts["feedback"]
    pay_lines = [{"label": _("Base salary to date") if interim else _("Base salary"),
                  "amount": rec["base_pay"], "total": False}]
    pay_lines += [{"label": _("{allowance} allowance").format(
        allowance=_term(c[len("allowance_"):], lang)), "amount": rec[c], "total": False}
        for c in parts["allowance_cols"]]
    pay_lines.append({"label": _("Commission paid to date") if interim else _("Commission"),
                      "amount": rec["commission"], "total": False})
    if not interim:
        pay_lines.append({"label": _("Performance bonus paid now"), "amount": rec["bonus_paid"], "total": False})
        if rec.get("awards"):
            pay_lines.append({"label": _("Special awards ({names})").format(names=rec["award_names"]),
                              "amount": rec["awards"], "total": False})
    pay_lines.append({"label": _("Total cash to date") if interim else _("Total cash"),
                      "amount": rec["total_cash"], "total": True})
    pay_notes = []
    if interim:
        pay_notes.append(_("Indicative performance bonus if the cycle ended now: {amount}: {paid} paid now and "
                           "{deferred} deferred (decided and paid after the end of the cycle).").format(
            amount=i18n.money(rec["bonus_indicative"], lang, currency),
            paid=i18n.money(rec["bonus_indicative_paid"], lang, currency),
            deferred=i18n.money(rec["bonus_indicative_deferred"], lang, currency)))
    else:
        if rec["bonus_deferred"]:
            pay_notes.append(_("Performance bonus deferred: {amount} (not included in total cash).").format(
                amount=i18n.money(rec["bonus_deferred"], lang, currency)))
        if pd.notna(rec.get("employee_contributions")):
            pay_notes.append(_("Your social insurance and housing fund contributions (deducted from gross pay): "
                               "{amount}.").format(amount=i18n.money(rec["employee_contributions"], lang, currency)))
        for key in ("pay_note", "commission_note"):
            if isinstance(rec.get(key), str) and rec[key]:
                pay_notes.append(i18n.sentence(i18n.engine_text(_plain(rec[key]), lang, policy.ratings.names),
                                               lang))
    deferrals = parts["deferrals"]
    plan_rows = parts["plans"]
    plans = _plan_rows(pd.DataFrame(plan_rows), lang) if plan_rows else {"plans": [], "plan_meetings": []}
    net = _net_context(parts["net"], rec, interim, lang, totals=parts["net_totals"], rows=parts["net_rows"])
    title = (_("Interim performance and pay statement") if interim
             else _("Performance and pay statement {cycle}").format(cycle=st.info["cycle"]))
    return dict(title=title, p=p, info=st.info, interim=interim, has_score=has_score, categories=categories,
                indicator_rows=parts["indicator_rows"], notes=notes, strengths=texts["strength"],
                weaknesses=texts["weakness"], suggestions=texts["suggestion"], satisfaction=parts["satisfaction"],
                pay=pay_lines, pay_notes=pay_notes, deferrals=deferrals, commission_rows=parts["commission_rows"],
                commission_total=rec["commission"], currency=currency,
                currency_label=i18n.currency_label(currency, lang), net=net,
                deferred_tax=(_num(rec.get("deferred_bonus_tax")) or 0.0) if deferrals and not interim else 0.0,
                **plans)


def _net_context(months: pd.DataFrame | list[dict[str, Any]] | dict[str, Any], rec: dict[str, Any], interim: bool,
                 lang: str, cells: dict[str, list[str]] | None = None,
                 totals: dict[str, tuple[float, bool]] | None = None, rows: str | None = None) -> dict[str, Any]:
    """Net pay for the statement, from the person's rows of ``Statements.net`` (the engine's figures, never
    recomputed): the headline (net pay for the period = Σ net_pay; of it the bonus after tax = net_bonus and
    the wages after contributions and tax = the rest; the latest month's net pay), a row per month (gross,
    bonus, each employee contribution the person pays, cumulative taxable income, tax withheld, net pay; as HTML
    table rows in ``rows``) with the totals (sums of the rounded months), and on final statements the bonus with
    its tax and the treatment chosen: |tax_separate − tax_combined| is what the other treatment would have cost
    more (or less). ``months``: the rows (a table, records, or columns as arrays); ``cells``: the amounts already
    formatted, column by column, and the months' names escaped (``month``), as :class:`_Chunk` formats them for
    a range of people (else formatted here); ``totals``: column -> (the person's total rounded to the cent,
    whether any month is not 0), as :class:`_Chunk` adds them up for a range of people (else added up here);
    ``rows``: the rows as HTML, as :class:`_Chunk` builds them for a range of people (else built here)."""
    _ = i18n.gettext(lang)
    labels = {"employee_pension": _("Pension insurance"), "employee_medical": _("Medical insurance"),
              "employee_unemployment": _("Unemployment insurance"), "employee_housing_fund": _("Housing fund"),
              "employee_supplementary_housing_fund": _("Supplementary housing fund"),
              "employee_annuity": _("Enterprise annuity")}
    if isinstance(months, list):
        months = pd.DataFrame(months)
    if isinstance(months, pd.DataFrame):
        months = {c: months[c].to_numpy(dtype=object if c == "period" else "float64")
                  for c in months.columns if c == "period" or c in _NET_AMOUNTS or c in labels}
    if not len(months.get("period", ())):
        return {}
    if cells is None and rows is None:
        cells = {c: _numtext.grouped(v, lang, 2).to_pylist() for c, v in months.items() if c != "period"}
        cells["month"] = [str(escape(_month(m, lang))) for m in months["period"]]
    if totals is None:
        totals = {c: (float(round_cents(_array_sum(v))), bool(np.any(v != 0))) for c, v in months.items()
                  if c != "period"}
    shown = [c for c in labels if c in months and totals[c][1]]
    has_bonus = totals["bonus_paid"][1]
    if rows is None:
        cols = [cells["gross"]] + ([cells["bonus_paid"]] if has_bonus else []) + [cells[c] for c in shown] \
            + [cells["taxable_income_cumulative"], cells["tax_withheld"]]
        rows = "".join(f"<tr><td>{m}</td>" + "".join(f'<td class="n">{v}</td>' for v in r)
                       + f'<td class="n"><b>{n}</b></td></tr>\n'
                       for m, n, r in zip(cells["month"], cells["net_pay"], zip(*cols)))
    total = {k: totals[c][0] for k, c in
             (("gross", "gross"), ("bonus", "bonus_paid"), ("tax", "tax_withheld"), ("net", "net_pay"))}
    total["contributions"] = [totals[c][0] for c in shown]
    first, last = months["period"][0], months["period"][-1]
    out: dict[str, Any] = {"columns": [labels[c] for c in shown], "rows": Markup(rows), "total": total,
                           "has_bonus": has_bonus, "latest_month": _month(last, lang),
                           "latest": float(months["net_pay"][-1]), "first_month": _month(first, lang),
                           "bonus": None}
    bonus = _num(rec.get("bonus_paid")) or 0.0
    if interim or not bonus or pd.isna(rec.get("bonus_tax")):
        return out
    separate, combined = float(rec["tax_separate"]), float(rec["tax_combined"])
    chosen = rec["bonus_treatment"]
    other = combined if chosen == "separate" else separate
    mine = separate if chosen == "separate" else combined
    diff = i18n.money(float(round_cents(abs(other - mine))), lang)
    earlier = _num(rec.get("ytd_bonus_separate")) or 0.0
    if chosen == "combined" and earlier > 0:
        why = _("Your bonus is taxed together with your wages: the annual bonus can be taxed separately only once "
                "a year, and that was used for the bonus of {amount} paid earlier this year.").format(
            amount=i18n.money(earlier, lang))
    elif mine == other:
        why = _("Both ways of taxing your bonus, separately or together with your wages, give the same tax for "
                "the year; it is taxed separately.")
    elif chosen == "separate" and mine < other:
        why = _("Your bonus is taxed separately from your wages (全年一次性奖金单独计税), the lower of the two ways: "
                "{amount} less tax for the year than taxing it together with your wages.").format(amount=diff)
    elif mine < other:
        why = _("Your bonus is taxed together with your wages, the lower of the two ways: {amount} less tax for "
                "the year than taxing it separately.").format(amount=diff)
    elif chosen == "separate":
        why = _("Your bonus is taxed separately from your wages, as the policy sets; together with your wages "
                "the tax for the year would have been {amount} lower.").format(amount=diff)
    else:
        why = _("Your bonus is taxed together with your wages, as the policy sets; taxed separately the tax for "
                "the year would have been {amount} lower.").format(amount=diff)
    out["bonus"] = {"paid": bonus, "tax": float(rec["bonus_tax"]), "net": float(rec["net_bonus"]),
                    "net_wages": float(round_cents(total["net"] - float(rec["net_bonus"]))), "why": why,
                    "cliff": ""}
    if bool(rec.get("bonus_in_avoid_range")):
        out["bonus"]["cliff"] = _(
            "Your bonus lies just above {cliff}, where a separately taxed bonus moves into a higher rate as a "
            "whole: any bonus from {cliff} up to {avoid_to} nets less than {cliff} would (无效区间).").format(
            cliff=i18n.money(rec["bonus_cliff"], lang), avoid_to=i18n.money(rec["bonus_avoid_to"], lang))
    return out


def render_statements(st: Statements, policy: Policy, lang: str | None = None) -> dict[str, str]:
    """HTML statement per employee id, from ``compkit/templates/statement.html.j2`` in ``lang`` (default: the
    language the contents were written in, ``st.info['lang']``, else the policy's ``language``). Holds every
    page in memory: :func:`write_statements` writes them one by one (:func:`iter_statement_pages`)."""
    pages = StatementPages(st, policy, lang)
    return dict(pages.render(0, len(pages.ids)))


#: the sections of a statement cut per person (Statements tables with an ``employee_id`` column)
SECTIONS = ("indicators", "feedback", "commission", "deferrals", "satisfaction", "plans", "net")


class StatementPages:
    """Everyone's statement pages, rendered a range of people at a time (for the workers of
    :func:`write_statements`): each section table is put in the order of ``st.people`` once (stable, so a person's
    rows keep their order) with the offsets of each person's rows, so that a range of people is a slice of each
    table, turned into records in one call; the template is compiled once per process (Jinja2's cache). A page
    depends only on its person's rows: the same bytes whatever the ranges."""

    def __init__(self, st: Statements, policy: Policy, lang: str | None = None) -> None:
        self.st, self.policy = st, policy
        self.lang = i18n.resolve(lang or st.info.get("lang"), policy)
        self.ids = st.people["employee_id"].astype(str).tolist()
        ids = pd.Index(self.ids)
        if not ids.is_unique:
            raise FeedbackError(M_("an employee id appears twice in the statements' people table"))
        self.tables: dict[str, tuple[pd.DataFrame, np.ndarray]] = {}
        for name in SECTIONS:
            df = getattr(st, name)
            if not len(df) or "employee_id" not in df:
                self.tables[name] = (df.iloc[0:0], np.zeros(len(self.ids) + 1, dtype="int64"))
                continue
            pos = _positions(df["employee_id"], ids)
            keep = ~np.isnan(pos)
            if keep.all() and bool((pos[1:] >= pos[:-1]).all()):  # already in people's order: no copy
                ordered, sorted_pos = df, pos
            else:
                order = np.argsort(np.where(keep, pos, np.inf), kind="stable")[: int(keep.sum())]
                ordered, sorted_pos = df.take(order), pos[order]
            offsets = np.searchsorted(sorted_pos, np.arange(len(self.ids) + 1), side="left").astype("int64")
            self.tables[name] = (ordered, offsets)
        self.allowance_cols = [c for c in st.people.columns if c.startswith("allowance_")]
        self.counts = count_indicators(policy)  # their results and targets printed as whole numbers
        _numtext.prepare()  # the number tables built once, before the workers fork

    def render(self, start: int, stop: int):
        """(employee id, page) for the people ``start`` to ``stop - 1`` in ``st.people``'s order."""
        chunk = _Chunk(self, start, stop)
        template, css, gettext = _statement_template(self.lang)
        for k in range(stop - start):
            eid = self.ids[start + k]
            context = statement_context(self.st, self.policy, eid, self.lang, chunk.parts(k))
            yield eid, template.render(base_css=css, _=gettext, **context)


def _positions(employee_id: pd.Series, ids: pd.Index) -> np.ndarray:
    """The position in ``ids`` (distinct ids, text) of each value of ``employee_id`` read as text
    (``astype(str)``), NaN where it is not there or missing: :func:`compkit._arrays.positions` (a categorical
    looked up by its categories, Arrow text by Arrow's ``index_in``), with -1 as NaN."""
    values = employee_id
    if isinstance(values.dtype, pd.CategoricalDtype):
        if pd.api.types.infer_dtype(values.cat.categories, skipna=True) != "string":
            values = values.astype(str)
    elif not isinstance(values.dtype, pd.StringDtype):
        values = values.astype(str)
    found = positions(values, ids).astype("float64")
    found[found < 0] = np.nan
    return found


def _strings(s: pd.Series) -> np.ndarray:
    return s.to_numpy(dtype=object)


def _with_unit(text: Any, unit: str) -> Any:
    """``t + unit`` where the text ``t`` is not empty, else '' (a missing figure stays blank)."""
    import pyarrow.compute as pc

    return pc.if_else(pc.equal(text, ""), "", pc.binary_join_element_wise(text, unit, ""))


class _Chunk:
    """The statement parts of people ``start`` to ``stop - 1`` of :class:`StatementPages`, cut from the section
    tables and formatted for the whole range at once: the long tables' rows (indicators, commission, net pay by
    month) as the HTML the template prints, built column by column with Arrow (numbers by
    :func:`compkit._numtext.grouped`, the same text as :func:`compkit.i18n.number` of each value; texts escaped once per
    distinct value) and cut per person from one buffer (:func:`compkit._numtext.row_slices`); the short sections as
    lists; :meth:`parts` hands out one person's share."""

    def __init__(self, pages: StatementPages, start: int, stop: int) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        from compkit._numtext import escaped, grouped, row_slices

        lang, policy = pages.lang, pages.policy
        _ = i18n.gettext(lang)
        self.n = n = stop - start
        self.allowance_cols = pages.allowance_cols
        people = pages.st.people.iloc[start:stop]
        columns = list(people.columns)
        values = [people[c].to_numpy(dtype=object) for c in columns]
        self.people = [dict(zip(columns, row)) for row in zip(*values)] if n else []

        def cut(name: str) -> tuple[pd.DataFrame, list[int]]:
            df, off = pages.tables[name]
            return df.iloc[int(off[start]):int(off[stop])], (off[start:stop + 1] - off[start]).tolist()

        def join(*pieces: Any) -> Any:
            return pc.binary_join_element_wise(*pieces, "")

        # indicators: name, result and target (whole numbers for counts, else 2 decimals for ratings and surveys
        # and results under 100), achievement, score, weight in the overall score (or "not counted")
        ind, self.ind_off = cut("indicators")
        names = _strings(ind["indicator_name"])
        source = _strings(ind["source"])
        actual = ind["actual"].to_numpy(dtype="float64")
        target = ind["target"].to_numpy(dtype="float64")
        two = (np.isin(source, ["ratings", "surveys"]) | (np.abs(actual) < 100)) & ~np.isin(
            _strings(ind["indicator"]), sorted(pages.counts))

        def shown(x: np.ndarray) -> Any:  # 2 decimals where ``two``, else whole numbers
            cells = grouped(np.where(two, 0.0, x), lang, 0)
            return pc.replace_with_mask(cells, pa.array(two), grouped(x[two], lang, 2)) if two.any() else cells
        weight = ind["effective_weight"].to_numpy(dtype="float64")
        not_counted = str(Markup(_("not counted")) % {})
        counted = ~np.isnan(weight) & (weight != 0)
        if len(ind):
            td = '</td><td class="n">'
            rows = join("<tr><td>", escaped(ind["indicator_name"]), td, shown(actual), td, shown(target), td,
                        _with_unit(grouped(ind["achievement"].to_numpy(dtype="float64") * 100, lang), "%"), td,
                        grouped(ind["score"].to_numpy(dtype="float64"), lang, 1), td,
                        pc.if_else(pa.array(counted), _with_unit(grouped(weight * 100, lang, 1), "%"), not_counted),
                        "</td></tr>\n")
            self.ind_html = row_slices(rows, self.ind_off)
        else:
            self.ind_html = [""] * n
        note_form = _("{indicator}: {note}.")
        worded: dict[str, str] = {}
        self.notes: list[str | None] = []
        for nm, note in zip(names.tolist(), _strings(ind["note"]).tolist()):
            if isinstance(note, str) and note:
                if note not in worded:
                    worded[note] = i18n.engine_text(note, lang, policy.ratings.names)
                self.notes.append(note_form.format(indicator=nm, note=worded[note]))
            else:
                self.notes.append(None)
        self.ratings = np.concatenate([[0], np.cumsum(source == "ratings")]).tolist()

        fb, self.fb_off = cut("feedback")
        self.fb_kind, self.fb_text = _strings(fb["kind"]).tolist(), _strings(fb["text"]).tolist()

        # commission lines: month, product, sales, commission, remark; clawbacks marked
        c, self.cm_off = cut("commission")
        if len(c):
            claw = pc.equal(pa.array(_strings(c["line"]) if not isinstance(c["line"].dtype, pd.CategoricalDtype)
                                     else c["line"].astype(object).to_numpy(), type=pa.string()), "clawback")
            rows = join(pc.if_else(pc.fill_null(claw, False), '<tr class="claw"><td>', "<tr><td>"),
                        escaped(c["month"]), "</td><td>", escaped(c["product_name"]),
                        '</td><td class="n">', grouped(c["sales"].to_numpy(dtype="float64"), lang, 2),
                        '</td><td class="n">', grouped(c["commission"].to_numpy(dtype="float64"), lang, 2),
                        "</td><td>", escaped(c["remark"]), "</td></tr>\n")
            self.cm_html = row_slices(rows, self.cm_off)
        else:
            self.cm_html = [""] * n

        d, self.df_off = cut("deferrals")
        self.deferrals = [{"year": int(y), "amount": a} for y, a in
                          zip(d["year"].tolist(), d["payable"].tolist())] if len(d) else []

        sat, self.sat_off = cut("satisfaction")
        dims = {"attitude": _("Attitude of service"), "competence": _("Competence"),
                "responsiveness": _("Responsiveness")}
        self.satisfaction = [{"name": dims.get(str(k), str(k)), "score": float(v)} for k, v in
                             zip(_strings(sat["dimension"]).tolist(), sat["score"].tolist())] if len(sat) else []

        pl, self.pl_off = cut("plans")
        self.plans = pl.to_dict("records") if len(pl) else []

        net, self.net_off = cut("net")
        self.net: dict[str, np.ndarray] = {}
        self.net_totals: dict[str, tuple[list[float], list[bool]]] = {}
        self.net_html: list[str] | None = None
        if len(net):
            self.net["period"] = _strings(net["period"])
            off = np.asarray(self.net_off)
            rows_of = off[1:] > off[:-1]
            cells: dict[str, Any] = {}
            for col in net.columns:
                if col in _NET_AMOUNTS or (col.startswith("employee_") and col != "employee_id"):
                    a = self.net[col] = net[col].to_numpy(dtype="float64")
                    cells[col] = grouped(a, lang, 2)
                    # each person's total (missing as 0; sums of amounts rounded to the cent, rounded to the cent)
                    # and whether any of their months is not 0
                    total, nonzero = np.zeros(n), np.zeros(n, dtype=bool)
                    if rows_of.any():
                        total[rows_of] = np.add.reduceat(np.where(np.isnan(a), 0.0, a), off[:-1][rows_of])
                        nonzero[rows_of] = np.logical_or.reduceat(a != 0, off[:-1][rows_of])
                    self.net_totals[col] = (round_cents(total).tolist(), nonzero.tolist())
            # a row per month: month, gross, the bonus (where the person has one), each contribution the person
            # pays (any month not 0), cumulative taxable income, tax withheld, net pay (_net_context's columns)
            per_row = np.repeat(np.arange(n), np.diff(off))
            month = escaped(pd.Series(_months(pd.Series(self.net["period"]), lang)))
            pieces: list[Any] = ["<tr><td>", month, "</td>"]
            shown_cols = ["gross", "bonus_paid", *[k for k in _NET_LABELS if k in cells],
                          "taxable_income_cumulative", "tax_withheld"]
            for col in shown_cols:
                td = join('<td class="n">', cells[col], "</td>")
                if col in ("bonus_paid", *_NET_LABELS):
                    flag = np.asarray(self.net_totals[col][1], dtype=bool)[per_row]
                    td = td if flag.all() else pc.if_else(pa.array(flag), td, "")
                pieces.append(td)
            pieces += ['<td class="n"><b>', cells["net_pay"], "</b></td></tr>\n"]
            self.net_html = row_slices(join(*pieces), self.net_off)

    def parts(self, k: int) -> dict[str, Any]:
        """The ``k``-th person's parts (see :func:`statement_context`)."""
        i0, i1 = self.ind_off[k], self.ind_off[k + 1]
        f0, f1 = self.fb_off[k], self.fb_off[k + 1]
        texts: dict[str, list[str]] = {"strength": [], "weakness": [], "suggestion": []}
        for kind, text in zip(self.fb_kind[f0:f1], self.fb_text[f0:f1]):
            if kind in texts:
                texts[kind].append(text)
        n0, n1 = self.net_off[k], self.net_off[k + 1]
        return {"rec": self.people[k],
                "indicator_rows": Markup(self.ind_html[k]),
                "notes": [t for t in self.notes[i0:i1] if t is not None],
                "has_ratings": self.ratings[i1] > self.ratings[i0],
                "feedback": texts,
                "commission_rows": Markup(self.cm_html[k]),
                "deferrals": self.deferrals[self.df_off[k]:self.df_off[k + 1]],
                "satisfaction": self.satisfaction[self.sat_off[k]:self.sat_off[k + 1]],
                "plans": self.plans[self.pl_off[k]:self.pl_off[k + 1]],
                "net": {c: v[n0:n1] for c, v in self.net.items()},
                "net_rows": None if self.net_html is None else self.net_html[k],
                "net_totals": {c: (t[k], nz[k]) for c, (t, nz) in self.net_totals.items()},
                "allowance_cols": self.allowance_cols}


@functools.lru_cache(maxsize=8)
def _statement_template(lang: str) -> tuple[Any, Markup, Any]:
    """The statement template of ``lang`` (compiled once per process), its style sheet (rendered once) and the
    template's ``_``: Jinja2's new-style gettext (the translation as markup, ``%`` with the named values, so
    ``%%`` prints ``%``) with each message looked up once."""
    env = i18n.environment(lang)
    translate = i18n.translations(lang).gettext
    marked: dict[str, Markup] = {}
    plain: dict[str, Markup] = {}

    def gettext(message: str, **variables: Any) -> Markup:
        if variables:
            m = marked.get(message)
            if m is None:
                m = marked[message] = Markup(translate(message))
            return m % variables
        m = plain.get(message)
        if m is None:
            m = plain[message] = Markup(translate(message)) % {}
        return m

    source, _file, _uptodate = env.loader.get_source(env, "statement.html.j2")
    template = env.from_string(translated_source(source, translate))
    return template, Markup(env.get_template("_base.css").render()), gettext


_GETTEXT_CALL = re.compile(r"\{\{-?\s*_\(")
_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%|%")
_JINJA_SYNTAX = ("{{", "{%", "{#", "}}", "%}", "#}")


def _call_arguments(text: str, start: int) -> tuple[int, list[str]] | None:
    """A call's arguments in ``text`` from ``start`` (just after its opening bracket): the index just after its
    closing bracket, and its source split at the commas outside brackets and string literals
    (``'"a", x=f(1, 2))'`` -> ``['"a"', 'x=f(1, 2)']``); None where a bracket or quote is left open."""
    parts, depth, quote, begin, i = [], 1, "", start, start
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                parts.append(text[begin:i].strip())
                return i + 1, parts
        elif ch == "," and depth == 1:
            parts.append(text[begin:i].strip())
            begin = i + 1
        i += 1
    return None


def translated_source(source: str, translate: Any) -> str:
    """A template's source with its messages translated in place (done once per language, so that rendering a
    page calls no ``_`` for them): ``{{ _("Name") }}`` becomes the translation, ``{{ _("for %(name)s only",
    name=p.name) }}`` the translation with ``{{ p.name }}`` where ``%(name)s`` stood. The page is the same: the
    template's ``_`` marks the translation as safe HTML and formats it with ``%``, escaping each value as
    ``{{ value }}`` does, and ``%%`` prints ``%``. A message is left to ``_`` where its translation has any other
    ``%`` form, a line break or template syntax, or its arguments are not a string literal and ``name=value``
    pairs."""
    import ast

    out, pos = [], 0
    for m in _GETTEXT_CALL.finditer(source):
        if m.start() < pos:
            continue
        call = _call_arguments(source, m.end())
        if call is None:
            continue
        i, args = call
        end = re.compile(r"\s*-?\}\}").match(source, i)
        if end is None or m.group(0).startswith("{{-") or end.group(0).startswith(("-", " -")) \
                or "-}}" in end.group(0):
            continue
        try:
            message = ast.literal_eval(args[0])
        except (ValueError, SyntaxError):
            continue
        values = {}
        for a in args[1:]:
            name, eq, expr = a.partition("=")
            if not eq or not name.strip().isidentifier() or expr.startswith("="):
                values = None
                break
            values[name.strip()] = expr.strip()
        if values is None or not isinstance(message, str):
            continue
        text = translate(message)
        if "\n" in text or "\r" in text or any(t in text for t in _JINJA_SYNTAX):
            continue
        pieces, ok, last = [], True, 0
        for p in _PLACEHOLDER.finditer(text):
            pieces.append(text[last:p.start()])
            if p.group(0) == "%%":
                pieces.append("%")
            elif p.group(1) in values:
                pieces.append("{{ " + values[p.group(1)] + " }}")
            else:
                ok = False
                break
            last = p.end()
        if not ok:
            continue
        pieces.append(text[last:])
        out.append(source[pos:m.start()])
        out.append("".join(pieces))
        pos = end.end()
    out.append(source[pos:])
    return "".join(out)


def _plan_rows(plans: pd.DataFrame, lang: str = "en") -> dict[str, list]:
    """Last cycle's improvement plan on a statement (compkit.meetings.plan_progress): a row per planned
    indicator, and a line per meeting (when, with whom, acknowledged or the employee's comment)."""
    if not len(plans):
        return {"plans": [], "plan_meetings": []}
    _ = i18n.gettext(lang)
    moved = {"improved": _("improved"), "declined": _("declined"), "unchanged": _("unchanged"), "": ""}
    rows = [{"name": r["indicator_name"], "action": r["action"], "due": _date(r["due_date"], lang),
             "before": _num(r["score_before"]), "now": _num(r["score_now"]),
             "moved": (_("{moved} ({change})").format(moved=moved[r["moved"]],
                                                      change=("+" if r["change"] > 0 else "")
                                                      + i18n.number(r["change"], lang, 1))
                       if r["moved"] else "")}
            for r in plans.to_dict("records") if isinstance(r["indicator"], str)]
    meetings = []
    for (date, who), g in plans.groupby(["meeting_date", "met_by"], sort=True) if len(plans) else []:
        ack = g["acknowledged"].fillna(False).astype(bool).all()
        comments = "; ".join(c for c in g["comment"].dropna().astype(str) if c)
        if ack:
            form = (_("Feedback meeting on {date} with {who}: acknowledged; your comment: {comments}.") if comments
                    else _("Feedback meeting on {date} with {who}: acknowledged."))
        else:
            form = (_("Feedback meeting on {date} with {who}: not acknowledged; your comment: {comments}.")
                    if comments else _("Feedback meeting on {date} with {who}: not acknowledged."))
        meetings.append(form.format(date=_date(date, lang), who=who, comments=comments))
    return {"plans": rows, "plan_meetings": meetings}


def _plain(text: str) -> str:
    return text.replace("composite", "overall score")


# -------------------------------------------------------------------------------------- publication


def publication_pseudonyms(employee_ids: pd.Series | list, key: bytes, cycle: str) -> np.ndarray:
    """The pseudonyms of a cycle's published list: keyed by the publication key and the cycle, so a person's
    pseudonym differs from one cycle to the next and two cycles' lists cannot be joined."""
    return pseudonyms(employee_ids, key, scope=f"publication {cycle}")


def published_results(st: Statements, policy: Policy, key: bytes | None = None) -> dict[str, pd.DataFrame]:
    """Tables for publication (公示): the results list and the rating distribution by branch.

    results: one row per person with a score: ``person`` (a pseudonym keyed by the publication key and the cycle,
    or the name when the policy says ``publication.names: name``), where they work, position and rating, sorted by
    person so the order reveals nothing. No score (a near-unique number that would let anyone who knows one
    person's score find them) and no raw employee id. Every combination of the published columns other than the
    person is shared by at least ``publication.min_group`` people (k-anonymity, :func:`compkit.privacy.k_anonymise`):
    the list shows the branch when that holds for at least 90% of the people, else the region, else the position
    alone, else the rating alone; the few people still in smaller groups have those columns shown as ``—`` (and
    their rating too if needed). The column is named after the level published (``branch``, ``region`` or none).
    ratings_by_branch: head-count per branch and rating share; branches with fewer than ``publication.min_group``
    people have their shares suppressed; in the others, a rating held by 1 to ``publication.min_cell - 1`` people is
    withheld with one complementary cell (:func:`compkit.privacy.suppress_small_cells`), counted in
    ``cells_withheld``, so that no published share says "the one 不称职 of this sub-branch".
    """
    people = st.people
    scored = people[people["composite"].notna()]
    if policy.publication.names == "name":
        person = scored["name"].astype(str).to_numpy()
    else:
        if key is None:
            raise FeedbackError(M_("published results with pseudonyms need the pseudonym key (see "
                                   "compkit.privacy.pseudonym_key)"))
        person = publication_pseudonyms(scored["employee_id"], key, st.info["cycle"])
        if len(set(person)) != len(person):
            raise FeedbackError(M_("two people got the same pseudonym; use a longer pseudonym"))
    k = policy.publication.min_group
    quasi = pd.DataFrame({"branch": scored["branch"].astype(str).to_numpy(),
                          "region": scored["region"].astype(str).to_numpy(),
                          "position": scored["grade_title"].astype(str).to_numpy(),
                          "rating": scored["rating"].astype(str).map(policy.ratings.names).to_numpy()})
    shown, _level = k_anonymise(quasi, [["branch", "position"], ["region", "position"], ["position"], []],
                                "rating", k=k)
    results = pd.concat([pd.DataFrame({"person": person}), shown.reset_index(drop=True)], axis=1)
    results = results.sort_values("person", kind="stable").reset_index(drop=True)
    rated = pd.DataFrame({"branch": quasi["branch"], "rating": quasi["rating"]})
    labels = list(policy.ratings.names.values())  # published as people read them (优秀 ... 不称职 by default)
    counts = pd.crosstab(rated["branch"], pd.Categorical(rated["rating"], categories=labels), dropna=False)
    n = counts.sum(axis=1)
    shares = counts.div(n.where(n > 0), axis=0)
    withheld = suppress_small_cells(counts, policy.publication.min_cell)
    shares = shares.mask(withheld)
    shares.columns = [f"share_{c}" for c in shares.columns]
    by_branch = pd.concat([n.rename("n"), shares], axis=1).reset_index().rename(columns={"index": "branch"})
    by_branch = suppress(by_branch, count_col="n", min_n=policy.publication.min_group)
    by_branch["cells_withheld"] = np.where(by_branch["suppressed"], 0, withheld.sum(axis=1))
    return {"results": results, "ratings_by_branch": by_branch}


# -------------------------------------------------------------------------------------------- writing


def write_statements(policy_path: str | Path, data_path: str | Path, out: str | Path, period: str | None = None,
                     cycle: str | None = None, publish: str | Path | None = None,
                     lang: str | None = None, pdf: bool = False, workers: int | None = None) -> list[Path]:
    """Evaluate, then write a statement per employee (``OUT/<employee id>.html``) and ``OUT/statements.xlsx``
    (a sheet per section, everyone). ``publish``: also write the published tables (CSV) to that folder.
    ``pdf``: also print each statement to ``OUT/<employee id>.pdf`` (A4) with headless Chromium
    (:mod:`compkit.browser`; BrowserMissing, before any work, where it is not installed). ``workers``: processes
    that write the pages (default :func:`default_workers`); the files are the same, byte for byte, whatever it is.

    ``out`` must not be under a ``reports`` folder. Everything is written to a temporary folder first and moved
    into place, so a failed run leaves the previous statements as they were. Returns the files written.
    """
    from compkit.atomic import check_output, remove_quietly, replace_folder, staging_folder
    from compkit.data import load_dataset
    from compkit.excel import write_csv, write_workbook_streamed
    from compkit.policy import load_policy
    from compkit.privacy import pseudonym_key

    out = refuse_reports_folder(out, "statements")
    if pdf:
        from compkit.browser import BrowserMissing, missing_reason

        reason = missing_reason()
        if reason:
            raise BrowserMissing(f"--pdf: {reason}; the HTML statements print on A4 from any browser")
    inputs = {"data": data_path, "policy file": policy_path}
    out = check_output(out, "statements", {**inputs, "--publish folder": publish})
    if publish is not None:
        publish = check_output(publish, "publish", {**inputs, "--out folder": out}, flag="--publish")
    policy = load_policy(policy_path)
    key = None
    if publish is not None and policy.publication.names == "pseudonym":
        key = pseudonym_key()  # fail early, before any work, when the key is missing
    if publish is not None and policy.publication.names == "name":
        refuse_reports_folder(publish, "published results with names")
    from compkit._memory import large_blocks_from_kernel, release_freed_memory

    with large_blocks_from_kernel():  # the run's peak memory is load + evaluate's: large arrays not kept in the heap
        data = load_dataset(data_path, policy=policy, cycle=cycle)
        outcomes = None
        if statement_month(policy, data, period) is None:
            # final: evaluated here (the Outcomes tables the statements read), then the tables the contents do not
            # read are dropped (sales, metrics, ratings ...), so that their memory serves the contents, and the
            # freed pages are handed back
            outcomes = evaluate(policy, data, tables=STATEMENT_OUTCOMES)
            data, period = statement_inputs(data), None
            release_freed_memory()
    st = statement_contents(policy, data, outcomes=outcomes, period=period, lang=lang, release=True)
    del data, outcomes  # the loaded tables and the evaluation are not needed for writing: freed, and the pages
    release_freed_memory()  # handed back, before the workers fork
    if key is not None:  # each reader finds themself in the published list (结果公示) by their own pseudonym
        code = publication_pseudonyms(st.people["employee_id"], key, st.info["cycle"])
        st.people["pseudonym"] = np.where(st.people["composite"].notna().to_numpy(), code, "")
    pages = StatementPages(st, policy)
    names = statement_file_names(pages.ids)
    if len(names) != len(st.people) or len(set(names.values())) != len(names):
        raise FeedbackError(M_("{files} statement file(s) for {people} people; expected one per person",
                               files=len(names), people=len(st.people)))
    tmp = staging_folder(out, "statements")
    pub_tmp = None
    try:
        sheets = {name: getattr(st, name).rename(columns=WORKBOOK_COLUMNS.get(name, {}))
                  for name in Statements.TABLES}
        if len(st.plans):
            sheets["plans"] = st.plans
        # the workbook (headers in the reader's language) is written while the workers write the pages; the
        # pages' hashes for the folder's manifest come from the workers (not read back from the disk)
        hashes: dict[str, str] = {}
        def workbook() -> None:
            book = write_workbook_streamed(sheets, tmp / "statements.xlsx", lang=st.info["lang"])
            hashes[book.name] = file_sha256(book)

        write_pages(pages, names, tmp, workers, hashes=hashes, meanwhile=workbook)
        written = len(list(tmp.glob("*.html")))
        if written != len(st.people):
            raise FeedbackError(M_("wrote {files} statement file(s) for {people} people; expected one per person "
                                   "(nothing was replaced)", files=written, people=len(st.people)))
        if pdf:
            from compkit.browser import print_pdfs

            print_pdfs({tmp / names[eid]: tmp / (names[eid][: -len(".html")] + ".pdf") for eid in pages.ids})
        if publish is not None:
            pub_tmp = staging_folder(publish, "published")
            for name, table in published_results(st, policy, key).items():
                write_csv(table, pub_tmp / f"{name}.csv", float_format="%.4g")
        replace_folder(tmp, out, "statements", known=hashes)
        if pub_tmp is not None:
            replace_folder(pub_tmp, publish, "publish")
    finally:
        remove_quietly(tmp if tmp.exists() else None)
        remove_quietly(pub_tmp if pub_tmp is not None and pub_tmp.exists() else None)
    written_files = sorted(out.glob("*.html")) + sorted(out.glob("*.pdf")) + [out / "statements.xlsx"]
    if publish is not None:
        written_files += sorted(Path(publish).glob("*.csv"))
    return written_files


#: columns renamed in statements.xlsx, where their code means something else elsewhere (``line`` is the business
#: line in the employees table; on a commission line it says payment or clawback)
WORKBOOK_COLUMNS = {"commission": {"line": "line_kind"}}
#: environment variable: how many processes write statement pages (default: the CPUs this process may use)
WORKERS_ENV = "COMPKIT_WORKERS"
#: fewer people than this a process: the pages are written without starting workers
MIN_PER_WORKER = 200


def default_workers() -> int:
    """``$COMPKIT_WORKERS``, else the number of CPUs this process may run on."""
    env = os.environ.get(WORKERS_ENV, "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise FeedbackError(M_("{name}={value}: expected a whole number of processes", name=WORKERS_ENV,
                                   value=repr(env))) from None
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


#: the job the worker processes read (set in the parent before they are forked, never pickled)
_JOB: tuple[StatementPages, dict[str, str], Path] | None = None


def _write_range(bounds: tuple[int, int]) -> dict[str, str]:
    """Write the pages of people ``bounds[0]`` to ``bounds[1] - 1``; returns file name -> sha256 of the bytes
    written (for the folder's manifest, which then need not read them back)."""
    pages, names, folder = _JOB  # type: ignore[misc]
    hashes = {}
    for eid, html in pages.render(*bounds):
        data = (html if os.linesep == "\n" else html.replace("\n", os.linesep)).encode("utf-8")  # as write_text
        (folder / names[eid]).write_bytes(data)
        hashes[names[eid]] = bytes_sha256(data)
    return hashes


def write_pages(pages: StatementPages, names: dict[str, str], folder: Path, workers: int | None = None,
                meanwhile: Any = None, hashes: dict[str, str] | None = None) -> int:
    """Write every page of ``pages`` to ``folder / names[id]``, in ranges of people spread over ``workers``
    processes (forked, so the contents are shared, not copied; one process where fork is not available or there
    are few people). Each page depends only on its person: the files are the same whatever the workers.
    ``meanwhile``: a function the parent runs while the workers write (the workbook), else after the pages.
    ``hashes``: filled with file name -> sha256 of each page, worked out by the workers from the bytes they wrote
    (the folder's manifest, :func:`compkit.atomic.write_marker`). Returns the number of pages written; an error
    in any worker is raised here (the caller discards the folder)."""
    global _JOB
    n = len(pages.ids)
    workers = default_workers() if workers is None else max(1, int(workers))
    workers = min(workers, max(1, n // MIN_PER_WORKER))
    if workers > 1 and "fork" not in multiprocessing.get_all_start_methods():
        workers = 1
    size = max(50, min(2000, -(-n // (workers * 8)))) if workers > 1 else max(n, 1)
    ranges = [(a, min(a + size, n)) for a in range(0, n, size)]
    _JOB = (pages, names, folder)
    try:
        if workers == 1:
            written = [_write_range(r) for r in ranges]
            if meanwhile is not None:
                meanwhile()
        else:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                done = pool.map_async(_write_range, ranges, chunksize=1)
                if meanwhile is not None:
                    meanwhile()
                written = done.get()
        if hashes is not None:
            for h in written:
                hashes.update(h)
        return sum(len(h) for h in written)
    finally:
        _JOB = None


#: longest file name part kept from an employee id (file systems allow 255 bytes; CJK takes 3 bytes a character)
MAX_NAME = 60


def statement_file_name(employee_id: str, hashed: bool = False) -> str:
    """The statement file of ``employee_id``: ``<id>.html`` when the id is a safe file name (letters, digits, ``_``
    and ``-``, at most 60 characters, not starting with ``-``); otherwise (or with ``hashed``) the safe form of the
    id plus ``-`` and the first 10 hex digits of its sha256 (``a/b`` -> ``a_b-…``)."""
    eid = str(employee_id)
    safe = re.sub(r"[^\w-]", "_", eid)[:MAX_NAME]
    if not hashed and safe == eid and eid and not eid.startswith("-"):
        return f"{eid}.html"
    digest = bytes_sha256(eid.encode("utf-8"))[:10]
    return f"{safe or 'id'}-{digest}.html"


def statement_file_names(employee_ids: list[str]) -> dict[str, str]:
    """id -> file name, unique by construction: an id whose plain name would meet another's (``a/b`` and ``a_b``,
    or ``E1`` and ``e1`` on a case-insensitive file system) gets the hashed name. Raises :class:`FeedbackError`
    if two names still agree (two ids with the same 10-digit hash)."""
    ids = [str(e) for e in employee_ids]
    plain = pd.Series([statement_file_name(e) for e in ids], dtype=object)
    clash = plain.str.lower().duplicated(keep=False).to_numpy()
    names = {e: statement_file_name(e, hashed=bool(c)) for e, c in zip(ids, clash)}
    seen: dict[str, str] = {}
    for eid, name in names.items():
        if name.lower() in seen:
            raise FeedbackError(M_("employee ids {first} and {second} would share the statement file {name}",
                                   first=repr(seen[name.lower()]), second=repr(eid), name=name))
        seen[name.lower()] = eid
    return names


def _safe(name: str) -> str:
    """The statement file name of one id, without ``.html`` (as :func:`statement_file_name`; ids that differ only
    in case get hashed names from :func:`statement_file_names`, which needs every id)."""
    return statement_file_name(name)[: -len(".html")]
