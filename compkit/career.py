"""Career decisions at the end of a cycle: the salary review (调薪: merit matrix or steps), promotion and demotion
(晋升 / 降级) and the pay on the new grade.

  salary_review          merit increases from the merit matrix, scaled down to the budget
  step_review            the salary review by steps (调档) for people on a pay step
  promotion_eligibility  which promotion and demotion rules each person meets, condition by condition
  promotion_reasons      the reason in plain words, from the eligibility
  promotions             the table: recommendation, to grade, reason, years in grade, near miss
  place_on_new_grade     the pay on the new grade after a promotion or demotion

Small pure functions over whole columns (loops run over the few ratings, bands or rules, never per person).
Money in CNY, unrounded unless said (the engine rounds once). Pay itself (base, allowances, bonus, benefits) is
in :mod:`compkit.pay`.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from compkit import steps
from compkit._arrays import day_number, day_numbers, grade_lookup, isin, positions, rating_codes
from compkit._text import concat, fmt_num, fmt_values, gather, text_column, text_series
from compkit.money import round_cents
from compkit.policy import DemotionRule, Policy, PromotionRule

__all__ = ["salary_review", "step_review", "promotion_eligibility", "promotion_reasons", "promotions",
           "place_on_new_grade", "Eligibility", "RuleCheck", "Condition"]

MONTHS_PER_YEAR = 12


def _fte(people: pd.DataFrame) -> np.ndarray:
    if "fte" not in people:
        return np.ones(len(people))
    return np.nan_to_num(people["fte"].to_numpy(dtype="float64"), nan=1.0)


# ----------------------------------------------------------------------------------- salary review


def salary_review(people: pd.DataFrame, policy: Policy) -> tuple[pd.DataFrame, dict[str, float]]:
    """Merit increases from the merit matrix, scaled down to the budget when they cost more.

    ``people``: employee_id, grade, base_monthly_used (or base_monthly), rating, active_at_end (bool); optional
    fte (default 1: cost and budget on full-time salaries).

    compa_ratio = base_monthly / grade midpoint.
    band        = np.searchsorted(compa_ratio_bands, compa_ratio, side='right'): 0 below the first bound, ...,
                  len(bounds) at or above the last. A ratio EQUAL to a bound falls in the HIGHER band
                  (with bands [0.9, 1.1]: 0.9 is in '0.9 to below 1.1', 1.1 in '1.1 and above').
    merit_pct   = merit_matrix[rating][band]; 0 for people who left before the end of the cycle or have no
                  (or an unknown) rating, with the reason.
    cost_before = sum(base_monthly x fte x merit_pct x 12)      [CNY per year: annualised raise cost]
    budget      = salary_review.budget x sum(base_monthly x fte x 12 over people active at the end)   [CNY/yr]
    scale_factor = budget / cost_before if cost_before > budget, else 1.
    raise_pct   = merit_pct x scale_factor (a fraction); new_base_monthly = base_monthly x (1 + raise_pct)
    (CNY / month, unrounded); raise_annual = base_monthly x fte x raise_pct x 12.

    Returns (table, info) with info: cost_before, budget_amount, scale_factor, cost_after, eligible (count).
    """
    sr = policy.salary_review
    n = len(people)
    base = people["base_monthly_used" if "base_monthly_used" in people else "base_monthly"].to_numpy(
        dtype="float64")
    fte = _fte(people)
    mid = grade_lookup(policy.grades, {g.id: g.base_monthly.mid for g in policy.grades}, people["grade"])
    with np.errstate(divide="ignore", invalid="ignore"):
        compa = base / mid
    bounds = np.asarray(sr.compa_ratio_bands, dtype="float64")
    nb = len(bounds) + 1
    band = np.searchsorted(bounds, np.nan_to_num(compa, nan=-np.inf), side="right")
    band_names = [f"below {fmt_num(bounds[0])}"] + \
        [f"{fmt_num(lo)} to below {fmt_num(hi)}" for lo, hi in zip(bounds[:-1], bounds[1:])] + \
        [f"{fmt_num(bounds[-1])} and above"]

    labels = policy.ratings.labels
    row = rating_codes(people["rating"], labels)
    matrix = np.array([sr.merit_matrix[k] for k in labels], dtype="float64")  # ratings x bands
    active = people["active_at_end"].to_numpy(dtype=bool) if "active_at_end" in people else np.ones(n, bool)
    has_rating = row >= 0
    has_mid = ~np.isnan(compa) & ~np.isnan(base)
    eligible = active & has_rating & has_mid
    merit = np.where(eligible, matrix[np.maximum(row, 0), np.minimum(band, nb - 1)], 0.0)

    annual = base * fte * MONTHS_PER_YEAR
    cost_before = float(np.nansum(annual * merit))
    budget_amount = float(sr.budget * np.nansum(np.where(active, annual, 0.0)))
    factor = budget_amount / cost_before if cost_before > budget_amount else 1.0
    raise_pct = merit * factor
    cost_after = float(np.nansum(annual * raise_pct))

    # reasons: one text per (rating, band) cell and per exception, formatted once and gathered
    scaled = f", scaled by {factor:.4f} to fit the budget" if factor < 1.0 else ""
    texts = [f"rating {lab}, compa-ratio {band_names[j]}: merit {matrix[i, j]:.2%}{scaled}"
             for i, lab in enumerate(labels) for j in range(nb)]
    texts += ["no grade midpoint for the compa-ratio: no raise", "no rating: no raise",
              "left before the end of the cycle: no raise"]
    which = np.maximum(row, 0) * nb + np.minimum(band, nb - 1)
    which = np.where(has_mid, which, len(texts) - 3)
    which = np.where(has_rating, which, len(texts) - 2)
    which = np.where(active, which, len(texts) - 1)

    table = pd.DataFrame({
        "employee_id": people["employee_id"] if "employee_id" in people else pd.Series(np.arange(n), people.index),
        "grade": people["grade"],
        "rating": people["rating"],
        "base_monthly": base,
        "grade_mid": mid,
        "compa_ratio": compa,
        "band": band,
        "band_label": text_series(gather(band_names, np.minimum(band, nb - 1)), people.index),
        "eligible": eligible,
        "merit_pct": merit,
        "raise_pct": raise_pct,
        "raise_annual": annual * raise_pct,
        "new_base_monthly": base * (1.0 + raise_pct),
        "reason": text_series(gather(texts, which), people.index),
    }, index=people.index)
    info = {"cost_before": cost_before, "budget_amount": budget_amount, "scale_factor": factor,
            "cost_after": cost_after, "eligible": int(eligible.sum())}
    return table, info


# ------------------------------------------------------------------------------ promotion, demotion


def _cycle_sort_key(cycles: pd.Series) -> np.ndarray:
    """Order of cycles in time, by the half-year they end in: '2024H1' -> 2024 x 2, '2024H2' and '2024'
    (annual, ends in December) -> 2024 x 2 + 1. Unparseable -> NaN. Distinct values are parsed once."""
    codes, uniques = pd.factorize(cycles)
    keys = []
    for u in map(str, uniques):
        year = int(u[:4]) if u[:4].isdigit() else None
        keys.append(np.nan if year is None else year * 2 + (0 if u.upper().endswith("H1") else 1))
    return np.array(keys + [np.nan], dtype="float64")[codes]


def _last_ratings(people: pd.DataFrame, history: pd.DataFrame | None, labels: Sequence[str], k: int,
                  cycle_end: pd.Timestamp) -> np.ndarray:
    """n x k matrix of rating codes (0 = best, -1 = none; the pivot of the last k ratings): column 0 is this
    cycle's rating, then the history's ratings most recent first. History cycles ending in or after the half-year
    of ``cycle_end`` are ignored (this cycle's rating is the ``rating`` column). Gaps in the history are
    skipped: column j is the j-th most recent rating on record before this cycle.
    """
    n = len(people)
    out = np.full((n, k), -1, dtype="int64")
    out[:, 0] = rating_codes(people["rating"], labels)
    if k <= 1 or history is None or len(history) == 0:
        return out
    pos = positions(history["employee_id"], people["employee_id"]).astype(np.int64)
    key = _cycle_sort_key(history["cycle"])
    current = cycle_end.year * 2 + (0 if cycle_end.month <= 6 else 1)
    keep = (pos >= 0) & (key < current)  # NaN keys compare False: dropped
    pos, key = pos[keep], key[keep]
    code = rating_codes(history["rating"], labels)[keep]
    order = np.lexsort((-key, pos))  # by person, most recent first
    pos, code = pos[order], code[order]
    first = np.r_[True, pos[1:] != pos[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(len(pos)), 0))
    rank = np.arange(len(pos)) - start + 1  # 1 = the cycle before this one
    use = rank < k
    out[pos[use], rank[use]] = code[use]
    return out


@dataclass
class Condition:
    """One condition of a promotion rule, for the rows the rule was checked on: its name as the reason says it,
    whether it holds, and the value shown (None for ratings and certificates, which are shown otherwise)."""

    name: str
    holds: np.ndarray
    value: np.ndarray | None = None


@dataclass
class RuleCheck:
    """A promotion or demotion rule checked on ``rows`` (positions of the people of its from-grade who were
    still undecided): its conditions, which rows it gives the reason for (``explains``, over ``rows``), and the
    failed conditions as a bit pattern per row (bit i: condition i failed)."""

    kind: str  # "promote" or "demote"
    rule: PromotionRule | DemotionRule
    rows: np.ndarray
    conditions: list[Condition]
    explains: np.ndarray
    pattern: np.ndarray


@dataclass
class Eligibility:
    """Who meets which promotion or demotion rule (:func:`promotion_eligibility`). Per person (n): the decision
    (``recommendation`` 0 none, 1 promote, 2 demote; ``to_code`` the position of the new grade in the policy's
    grades, -1 for none), ``near_miss``, ``years`` in grade, ``last`` ratings (n x k codes, 0 = best, -1 none),
    ``active`` at the end of the cycle, ``grade_code``; and the rules in the order they were checked."""

    recommendation: np.ndarray
    to_code: np.ndarray
    near_miss: np.ndarray
    years: np.ndarray
    last: np.ndarray
    active: np.ndarray
    grade_code: np.ndarray
    checks: list[RuleCheck]


def promotion_eligibility(people: pd.DataFrame, history: pd.DataFrame | None, policy: Policy,
                          cycle_end: object) -> Eligibility:
    """Which promotion and demotion rules each person meets, condition by condition.

    ``people``: employee_id, grade, grade_since, rating, composite, optional hire_date, optional active_at_end
    and one column per indicator id holding its score (for ``min_indicator_scores``), optional training_hours and
    ``certificate:<name>`` columns (compkit.training.promotion_columns). ``history``: employee_id, cycle, rating
    (past cycles).

    years_in_grade = (cycle_end - grade_since).days / 365.25, at least 0; no grade_since (NaT): the hire date
    when there is a hire_date column, else 0 years.
    Last ratings: this cycle's rating, then the history's ratings most recent first (see :func:`_last_ratings`).
    A promotion rule (from the person's grade) passes when every condition it sets holds:
      years_in_grade >= min_years_in_grade (when > 0); the i-th last rating is at least the i-th listed one
      ("at least B" = B or better; labels are best first); composite >= min_composite; score >=
      min_indicator_scores[indicator]; training hours >= min_training_hours; each certificate held. A missing
      rating, composite or score fails its condition.
    A demotion rule passes when the i-th last rating is at most the i-th listed one (that rating or worse) for
    every listed position; a missing rating fails.
    Precedence: a passing demotion rule wins over a promotion rule; among rules from the same grade the first
    in the policy file that passes applies; a 'none' is explained by the first rule from the person's grade.
    People not active at the end of the cycle (``active_at_end`` False) get 'none'.
    near_miss: a promotion rule from the grade failed on exactly one condition (and gives the reason).
    """
    n = len(people)
    labels = policy.ratings.labels
    end = pd.Timestamp(cycle_end)
    grade_ids = policy.grade_ids
    grade_code = positions(people["grade"], pd.Index(grade_ids))

    if "grade_since" in people:
        since, no_since = day_numbers(people["grade_since"])
    else:
        since, no_since = np.zeros(n, "int64"), np.ones(n, bool)
    if "hire_date" in people:
        hire, no_hire = day_numbers(people["hire_date"])
        since = np.where(no_since, hire, since)
        no_since = no_since & no_hire
    years = np.where(no_since, 0.0, np.maximum((day_number(end) - since) / 365.25, 0.0))

    k = max([len(r.last_ratings_at_least) for r in policy.promotion] +
            [len(r.last_ratings_at_most) for r in policy.demotion] + [1])
    last = _last_ratings(people, history, labels, k, end)
    composite = people["composite"].to_numpy(dtype="float64") if "composite" in people else np.full(n, np.nan)
    active = people["active_at_end"].to_numpy(dtype=bool) if "active_at_end" in people else np.ones(n, bool)

    recommendation = np.zeros(n, dtype="int8")  # 0 none, 1 promote, 2 demote
    to_code = np.full(n, -1, dtype="int64")
    near_miss = np.zeros(n, dtype=bool)
    explained = ~active
    checks: list[RuleCheck] = []

    for rule in policy.demotion:  # first: a demotion takes precedence
        rows = np.flatnonzero((grade_code == grade_ids.index(rule.from_)) & active & (recommendation == 0))
        m = len(rule.last_ratings_at_most)
        thr = np.array([labels.index(r) for r in rule.last_ratings_at_most])
        sub = last[rows, :m]
        hit = ((sub >= thr[None, :]) & (sub >= 0)).all(axis=1)
        rows = rows[hit]
        if len(rows):
            recommendation[rows] = 2
            to_code[rows] = grade_ids.index(rule.to)
            explained[rows] = True
            checks.append(RuleCheck("demote", rule, rows, [Condition("ratings", np.ones(len(rows), bool))],
                                    np.ones(len(rows), bool), np.zeros(len(rows), "int64")))

    for rule in policy.promotion:
        rows = np.flatnonzero((grade_code == grade_ids.index(rule.from_)) & active & (recommendation == 0))
        if not len(rows):
            continue
        conditions: list[Condition] = []
        if rule.min_years_in_grade > 0:
            conditions.append(Condition("years in grade", years[rows] >= rule.min_years_in_grade, years[rows]))
        if rule.last_ratings_at_least:
            m = len(rule.last_ratings_at_least)
            thr = np.array([labels.index(r) for r in rule.last_ratings_at_least])
            sub = last[rows, :m]
            conditions.append(Condition("ratings", ((sub <= thr[None, :]) & (sub >= 0)).all(axis=1)))
        if rule.min_composite is not None:
            value = composite[rows]
            conditions.append(Condition("composite", np.nan_to_num(value, nan=-np.inf) >= rule.min_composite,
                                        value))
        for ind, minimum in rule.min_indicator_scores.items():
            value = people[ind].to_numpy(dtype="float64")[rows] if ind in people else np.full(len(rows), np.nan)
            conditions.append(Condition(f"{ind} score", np.nan_to_num(value, nan=-np.inf) >= minimum, value))
        if rule.min_training_hours is not None:  # training prerequisites (compkit.training.promotion_columns)
            value = (people["training_hours"].to_numpy(dtype="float64")[rows] if "training_hours" in people
                     else np.zeros(len(rows)))
            conditions.append(Condition("training hours", value >= rule.min_training_hours, value))
        for cert in rule.certificates:
            column = f"certificate:{cert}"
            ok = people[column].to_numpy(dtype=bool)[rows] if column in people else np.zeros(len(rows), bool)
            conditions.append(Condition(f"certificate {cert}", ok))

        pattern = np.zeros(len(rows), dtype="int64")  # which conditions failed, as a bit pattern
        for i, cond in enumerate(conditions):
            pattern |= (~cond.holds).astype("int64") << i
        hit = pattern == 0
        recommendation[rows[hit]] = 1
        to_code[rows[hit]] = grade_ids.index(rule.to)
        near_miss[rows[hit]] = False
        # a hit always gives the reason; a miss only when no earlier rule has explained the row
        sets = hit | ~explained[rows]
        near_miss[rows[~hit & sets]] = (np.bitwise_count(pattern) == 1)[~hit & sets]
        explained[rows[sets]] = True
        checks.append(RuleCheck("promote", rule, rows, conditions, sets, pattern))
    return Eligibility(recommendation, to_code, near_miss, years, last, active, grade_code, checks)


def promotion_reasons(eligibility: Eligibility, policy: Policy) -> pa.Array:
    """The reason of each person's recommendation in plain words (an Arrow string array, one per person), from
    :func:`promotion_eligibility`: the rule that decided, or for a 'none' the first rule from the person's grade,
    with every condition's value and threshold:
      "promote to CM2: 2.5 years in CM1 (≥ 1); ratings B, C (at least B, C)"
      "not promoted to SCM (not met: composite): 3.0 years in CM2 (≥ 2); ratings B, B (at least B, B);
       composite 94.9 (≥ 95)"
      "demote to CM1: ratings E, D (at most E, D)"
    Numbers are shown to one decimal, a failing one truncated so it never looks as if it passes
    (:func:`compkit._text.fmt_values`).
    """
    e = eligibility
    grade_ids = policy.grade_ids
    rating_names = list(policy.ratings.labels) + ["none"]  # code -1 -> 'none'
    n = len(e.recommendation)

    def ratings_text(rows: np.ndarray, listed: Sequence[str], word: str) -> list[pa.Array | str]:
        """'ratings B, C (at least B, C)' as the pieces to join: the ratings of ``rows`` gathered, and constants."""
        shown: list[pa.Array | str] = []
        for j in range(len(listed)):
            shown += [", "] * (j > 0) + [gather(rating_names, e.last[rows, j])]
        return ["ratings ", *shown, f" ({word} {', '.join(listed)})"]

    # piece 0 holds the constant texts; each rule adds a piece for the rows it explains
    constants = [f"no promotion rule from grade {g}" for g in grade_ids] + \
        ["no promotion rule for this grade", "left before the end of the cycle: no promotion or demotion"]
    pieces: list[pa.Array] = [pa.array(constants, type=pa.string())]
    piece_of = np.zeros(n, dtype="int64")
    offset = np.where(e.grade_code >= 0, e.grade_code, len(grade_ids))

    for check in e.checks:
        rule, rows = check.rule, check.rows
        # each reason's texts and constants joined in one pass, for the rows the rule explains only
        ex = check.explains
        if check.kind == "demote":
            text = concat(f"demote to {rule.to}: ", *ratings_text(rows[ex], rule.last_ratings_at_most, "at most"))
        else:
            texts: list[list[pa.Array | str]] = []
            for cond in check.conditions:
                if cond.name == "years in grade":
                    texts.append([fmt_values(cond.value[ex], cond.holds[ex]),
                                  f" years in {rule.from_} (≥ {fmt_num(rule.min_years_in_grade)})"])
                elif cond.name == "ratings":
                    texts.append(ratings_text(rows[ex], rule.last_ratings_at_least, "at least"))
                elif cond.name == "composite":
                    texts.append(["composite ", fmt_values(cond.value[ex], cond.holds[ex]),
                                  f" (≥ {fmt_num(rule.min_composite)})"])
                elif cond.name == "training hours":
                    texts.append(["training hours ", fmt_values(cond.value[ex], cond.holds[ex]),
                                  f" (≥ {fmt_num(rule.min_training_hours)})"])
                elif cond.name.startswith("certificate "):
                    cert = cond.name.removeprefix("certificate ")
                    texts.append([gather([f"no certificate {cert}", f"certificate {cert}"],
                                         cond.holds[ex].astype("int64"))])
                else:  # an indicator's score
                    ind = cond.name.removesuffix(" score")
                    texts.append([f"{ind} score ", fmt_values(cond.value[ex], cond.holds[ex]),
                                  f" (≥ {fmt_num(rule.min_indicator_scores[ind])})"])
            # one header text per failed-condition pattern that occurs
            patterns = np.flatnonzero(np.bincount(check.pattern))
            inv = np.searchsorted(patterns, check.pattern[ex])
            headers = []
            for p in patterns.tolist():
                failed = [c.name for i, c in enumerate(check.conditions) if p >> i & 1]
                headers.append(f"promote to {rule.to}: " if not failed else
                               f"not promoted to {rule.to} (not met: {', '.join(failed)}): ")
            joined: list[pa.Array | str] = [gather(headers, inv.reshape(-1))]
            for i, t in enumerate(texts):
                joined += ["; "] * (i > 0) + t
            text = concat(*joined) if texts else \
                gather([f"promote to {rule.to}: the rule sets no condition"], np.zeros(int(ex.sum()), dtype="int64"))
        explained_rows = rows[check.explains]
        piece_of[explained_rows] = len(pieces)
        offset[explained_rows] = np.arange(len(explained_rows))
        pieces.append(text)

    piece_of = np.where(e.active, piece_of, 0)
    offset = np.where(e.active, offset, len(constants) - 1)
    starts = np.cumsum([0] + [len(p) for p in pieces[:-1]])
    return pa.concat_arrays([p.cast(pa.string()) for p in pieces]).take(pa.array(starts[piece_of] + offset))


def promotions(people: pd.DataFrame, history: pd.DataFrame | None, policy: Policy,
               cycle_end: object) -> pd.DataFrame:
    """Promotion and demotion recommendations from the policy's rules, with the reason in plain words:
    :func:`promotion_eligibility` (who meets which rule) and :func:`promotion_reasons` (why, in words).

    Returns employee_id, grade, recommendation ('promote', 'demote', 'none'), to_grade ('' for none), reason,
    years_in_grade, near_miss (a promotion rule from the grade failed on exactly one condition).
    """
    e = promotion_eligibility(people, history, policy, cycle_end)
    reason = promotion_reasons(e, policy)
    return pd.DataFrame({
        "employee_id": people["employee_id"],
        "grade": people["grade"],
        "recommendation": text_series(gather(["none", "promote", "demote"], e.recommendation), people.index),
        "to_grade": text_series(gather(policy.grade_ids + [""], e.to_code), people.index),
        "reason": text_series(reason, people.index),
        "years_in_grade": e.years,
        "near_miss": e.near_miss,
    }, index=people.index)


# -------------------------------------------------------------------------- steps and the new grade's pay


def step_review(review: pd.DataFrame, emp: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """The salary review by steps (调档) for people on a step: step + step_moves[rating], the new step's pay,
    raise_pct = new / old - 1 (compkit.steps.review_steps); people without a step keep the merit matrix."""
    new_step, new_pay = steps.review_steps(emp["grade"], emp["step"], review["rating"], review["eligible"], policy)
    on = ~np.isnan(new_pay)
    out = review.copy()
    out["step"] = pd.to_numeric(emp["step"], errors="coerce").to_numpy()
    out["new_step"] = new_step
    base = out["base_monthly"].to_numpy(dtype="float64")
    # the people on a step (``on``) take the step's figures, the others keep the merit matrix's
    out["new_base_monthly"] = np.where(on, new_pay, out["new_base_monthly"].to_numpy(dtype="float64"))
    with np.errstate(divide="ignore", invalid="ignore"):
        out["raise_pct"] = np.where(on, new_pay / base - 1.0, out["raise_pct"].to_numpy(dtype="float64"))
    out["raise_annual"] = np.where(on, (new_pay - base) * 12.0, out["raise_annual"].to_numpy(dtype="float64"))
    moved = _step_reasons(out["rating"].iloc[np.flatnonzero(on)], out["step"].to_numpy()[on], new_step[on])
    reason = pa.array(out["reason"].astype("str"))  # (the merit matrix's reasons as Arrow text, not copied)
    at = np.full(len(out), len(moved), dtype="int64")  # off a step: the null after the moved people's texts
    at[on] = np.arange(len(moved))
    reason_type = reason.type
    moved_all = pa.concat_arrays([moved.cast(reason_type), pa.nulls(1, reason_type)]).take(pa.array(at))
    out["reason"] = text_column(pc.if_else(pa.array(on), moved_all, reason))
    return out


def _step_reasons(rating: pd.Series, step: np.ndarray, new_step: np.ndarray) -> pa.Array:
    """Why a person's step moved, e.g. ``rating A: step 3 -> step 5 (+2 steps)`` (``(+1 step)`` for one; the
    rating as text; none (null) without a rating): one text per distinct (rating, step, new step), formatted once
    and gathered (Arrow text)."""
    rating_code, ratings = pd.factorize(rating, use_na_sentinel=False)
    keys = np.stack([rating_code, step.astype(int), new_step.astype(int), (new_step - step).astype(int)], axis=1)
    # one integer per (rating, step, new step, move): the digits of each key column in its own range
    low = keys.min(axis=0) if len(keys) else np.zeros(4, dtype=np.int64)
    span = (keys.max(axis=0) - low + 1) if len(keys) else np.ones(4, dtype=np.int64)
    key = np.zeros(len(keys), dtype=np.int64)
    for j in range(4):
        key = key * int(span[j]) + (keys[:, j] - low[j])
    _, first, which = np.unique(key, return_index=True, return_inverse=True)
    distinct = keys[first]
    names = [n if isinstance(n, str) else None for n in pd.Series(ratings, dtype=object).astype(str).tolist()]
    texts = [None if names[r] is None else
             f"rating {names[r]}: step {s} -> step {t} ({m:+d} {'step' if abs(m) == 1 else 'steps'})"
             for r, s, t, m in distinct.tolist()]
    return gather(texts, which.reshape(-1)) if len(texts) else pa.array([], type=pa.string())


def place_on_new_grade(promotions: pd.DataFrame, review: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """The promotion table with the pay on the new grade: base_monthly_before (the pay after the salary review),
    new_step and new_base_monthly (compkit.steps.placement: the lowest step at or above the pay, else the top;
    a grade without steps: at least its band minimum on promotion, at most its band maximum on demotion) and
    pay_change (CNY / month); NaN where the grade does not change."""
    out = promotions.copy()
    # the recommendations and the new grades looked up as text (no Python string per person)
    recommendation = out["recommendation"].astype(str)
    promote = isin(recommendation, {"promote"}).to_numpy(dtype=bool)
    moving = isin(recommendation, {"promote", "demote"}).to_numpy(dtype=bool)
    now = review["new_base_monthly"].to_numpy(dtype="float64")
    step, new = steps.placement(out["to_grade"].astype(str), now, promote, policy)
    out["base_monthly_before"] = np.where(moving, round_cents(now), np.nan)
    out["new_step"] = np.where(moving, step, np.nan)
    out["new_base_monthly"] = np.where(moving, round_cents(new), np.nan)
    out["pay_change"] = round_cents(out["new_base_monthly"].to_numpy() - out["base_monthly_before"].to_numpy())
    return out
