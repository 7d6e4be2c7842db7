"""The yearly policy review: how this year's policy worked, what next year's candidate would do, and what
next year could cost under uncertainty.

Sections:
  review metrics   cost against budget by component, pay mix, target attainment, pay for performance,
                   concentration of commission, trends by month and quarter, appeals
  compare          Policy.diff, cost change by component, winners and losers, rating migrations
  simulate         Monte Carlo cost of next year (bootstrap of this year's per-person changes), P5/P50/P95,
                   probability of exceeding the budget; sensitivity of cost to each knob (tornado)

Analyses never recompute pay themselves: a what-if is ``evaluate(changed_policy, data)``; the simulation calls
the engine's own calculators (curves, payout curve, tiers, gate and cap) on the quantities that vary.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from compkit import commission as cm
from compkit import i18n, parallel, pay, scenarios
from compkit import knobs as kn
from compkit._arrays import as_text, isin
from compkit.aggregate import individual_log_changes
from compkit.data import Dataset
from compkit.engine import COST_COMPONENTS, Kept, Outcomes, evaluate, same_commission_lines
from compkit.knobs import Knob
from compkit.money import round_cents
from compkit.policy import Policy, PolicyChange

# ------------------------------------------------------------------------------------- review metrics


def _components(*summaries: pd.DataFrame) -> list[str]:
    """The cost components to show: special awards only where a policy pays any (compkit.awards)."""
    return [c for c in COST_COMPONENTS if c != "awards" or any((s["awards"] != 0).any() for s in summaries)]


def cost_by_component(outcomes: Outcomes, budget: float | None = None) -> pd.DataFrame:
    """Employer cost per component (CNY), its share of the total, and the total against the budget.

    Components: base pay, allowances, bonus paid now, commission, bonus deferred, employer contributions
    (五险一金). Rows: one per component and a ``total`` row with budget and variance (total - budget).
    """
    s = outcomes.summary
    parts = _components(s)
    amounts = [float(round_cents(s[c].sum())) for c in parts]
    total = float(round_cents(sum(amounts)))
    table = pd.DataFrame({"component": parts + ["total"], "amount": amounts + [total]})
    table["share"] = table["amount"] / total if total else np.nan
    table["budget"] = np.nan
    table["variance"] = np.nan
    if budget is not None:
        table.loc[table["component"] == "total", ["budget", "variance"]] = [budget, total - budget]
    return table


def pay_mix(outcomes: Outcomes, by: str | None = "grade") -> pd.DataFrame:
    """Fixed (base + allowances) and variable (bonus incl. deferred + commission) pay, and the variable share.

    The 商业银行稳健薪酬监管指引 expects base pay to be no more than 35% of total pay for the bank as a whole;
    ``base_share`` = base pay / total pay is shown so that an analyst can see where the mix stands.
    """
    s = outcomes.summary.assign(fixed=lambda d: d["base_pay"] + d["allowances"],
                                variable=lambda d: d["bonus"] + d["commission"])
    s["total_pay"] = s["fixed"] + s["variable"]
    keys = [by] if by else []
    g = s.groupby(keys, observed=True) if keys else s.assign(_all="all").groupby("_all")
    out = g.agg(n=("employee_id", "size"), base=("base_pay", "sum"), fixed=("fixed", "sum"),
                variable=("variable", "sum"), total_pay=("total_pay", "sum")).reset_index()
    out["variable_share"] = out["variable"] / out["total_pay"]
    out["base_share"] = out["base"] / out["total_pay"]
    return out.rename(columns={"_all": "group"})


def attainment(outcomes: Outcomes) -> pd.DataFrame:
    """Per target-based indicator: people with a target, share at or above 100% of target, share below the
    curve's threshold (scored 0), median achievement. Challenging yet achievable targets put the share reaching
    100% somewhere near a half, and few people below the threshold."""
    ind = outcomes.indicators
    ind = ind[ind["achievement"].notna() & np.isfinite(ind["achievement"])]
    g = ind.groupby("indicator", sort=False)
    out = pd.DataFrame({
        "people": g.size(),
        "reached_target": g["achievement"].apply(lambda a: float((a >= 1.0).mean())),
        "scored_zero": g["score"].apply(lambda sc: float((sc == 0).mean())),
        "median_achievement": g["achievement"].median(),
    })
    return out.reset_index()


def pay_for_performance(outcomes: Outcomes, pay_column: str = "total_cash") -> dict[str, pd.DataFrame | float]:
    """Pay by rating and by composite quintile, and the elasticity of variable pay to the composite.

    elasticity = slope b of log(variable pay) = a + b log(composite) (OLS over people with both positive,
    statsmodels, HC3 standard error): a 1% higher composite goes with b% more variable pay.
    """
    # the two names it uses, not statsmodels.api (which imports every model, the graphics and the distributions:
    # 0.85 -> 0.49 s of CPU in a fresh kernel)
    from statsmodels.regression.linear_model import OLS
    from statsmodels.tools.tools import add_constant

    s = outcomes.summary[outcomes.summary["days_share"] > 0].copy()
    s["variable_pay"] = s["bonus"] + s["commission"]
    by_rating = s.groupby("rating", observed=True).agg(
        n=("employee_id", "size"), mean_pay=(pay_column, "mean"), median_pay=(pay_column, "median"),
        mean_bonus=("bonus", "mean"), mean_commission=("commission", "mean")).reset_index()
    s["quintile"] = pd.qcut(s["composite"].rank(method="first"), 5, labels=["Q1 (lowest)", "Q2", "Q3", "Q4",
                                                                             "Q5 (highest)"])
    by_quintile = s.groupby("quintile", observed=True).agg(
        n=("employee_id", "size"), composite=("composite", "mean"), mean_pay=(pay_column, "mean"),
        mean_variable=("variable_pay", "mean")).reset_index()
    ok = (s["variable_pay"] > 0) & (s["composite"] > 0)
    x = add_constant(np.log(s.loc[ok, "composite"].to_numpy()))
    fit = OLS(np.log(s.loc[ok, "variable_pay"].to_numpy()), x).fit(cov_type="HC3")
    return {"by_rating": by_rating, "by_quintile": by_quintile, "elasticity": float(fit.params[1]),
            "elasticity_se": float(fit.bse[1]), "elasticity_n": int(ok.sum())}


def headline_figures(policy: Policy, candidate: Policy, cost: pd.DataFrame, comparison: Comparison,
                     simulation: Simulation, attain: pd.DataFrame, pfp: dict[str, Any],
                     budget: float | None) -> dict[str, Any]:
    """The figures behind the review's five headlines (``compkit.present.review_headlines`` words and flags them),
    from the review's own tables:
      total              this year's employer cost (the ``total`` row of :func:`cost_by_component`)
      budget             the budget it is held against
      change, change_pct the candidate's total cost change on this year's people (:func:`compare`: CNY, %)
      p50, p95           next year's total cost under the candidate, median and 95th percentile (:func:`simulate`)
      prob_over          share of simulated years over next year's budget; scenarios: how many were simulated
      reach              median over indicators (with people) of the share reaching 100% of target
                         (:func:`attainment`)
      top, mid           the names of the best rating and of the middle one (labels[len // 2])
      spread             mean total cash of the top rating / that of the middle rating
                         (:func:`pay_for_performance`; NaN when either has nobody)
    """
    total = float(cost.loc[cost["component"] == "total", "amount"].item())
    change = comparison.cost.loc[comparison.cost["component"] == "total"]
    p = simulation.percentiles.set_index("component").loc["total"]
    reach = float(attain.loc[attain["people"] > 0, "reached_target"].median())
    by_rating = pfp["by_rating"].set_index("rating")["mean_pay"]
    labels = policy.ratings.labels
    top, mid = labels[0], labels[len(labels) // 2]
    spread = float(by_rating.get(top, np.nan) / by_rating.get(mid, np.nan))
    return {"total": total, "budget": budget, "candidate_version": candidate.version,
            "change": float(change["change"].item()), "change_pct": float(change["change_pct"].item()),
            "p50": float(p["P50"]), "p95": float(p["P95"]), "prob_over": simulation.prob_over_budget,
            "scenarios": int(simulation.settings.get("n", len(simulation.costs))), "reach": reach,
            "top": policy.ratings.names.get(top, top), "mid": policy.ratings.names.get(mid, mid), "spread": spread}


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative amounts: G = sum_i (2i - n - 1) x_(i) / (n sum x), x sorted ascending,
    i = 1..n. 0 = everyone equal, 1 = one person has everything."""
    x = np.sort(np.clip(np.asarray(values, dtype="float64"), 0, None))
    n = len(x)
    if n == 0 or x.sum() == 0:
        return 0.0
    i = np.arange(1, n + 1)
    return float(((2 * i - n - 1) * x).sum() / (n * x.sum()))


def concentration(outcomes: Outcomes, column: str = "commission") -> dict[str, float]:
    """Concentration of an amount over people: Gini and the share of the top 10% of earners."""
    v = outcomes.summary[column].to_numpy(dtype="float64")
    v = np.sort(np.clip(v, 0, None))[::-1]
    top = max(1, int(np.ceil(0.1 * len(v))))
    return {"gini": gini(v), "top10_share": float(v[:top].sum() / v.sum()) if v.sum() else 0.0,
            "people": int(len(v))}


def trends(outcomes: Outcomes, data: Dataset) -> dict[str, pd.DataFrame]:
    """Monthly and quarterly trends: commission lines paid (incl. clawbacks) and sales basis by month; actual
    against target by quarter (sum of actuals / sum of targets) for the metrics the scorecard scores (a metric
    kept only as a quota's input, such as funds_sales, is not an appraisal result and is left out)."""
    # millions of lines and metrics rows: categorical columns compared by category and months worked out once
    # per distinct month (compkit._arrays), not a text per row
    lines = outcomes.commission
    c = lines[["period", "commission", "basis"]][~isin(lines["product"], [cm.SETTLEMENT]).to_numpy()]
    monthly = c.assign(period=as_text(c["period"]).astype(str)).groupby("period").agg(
        commission=("commission", "sum"), clawbacks=("commission", lambda v: float(v[v < 0].sum())),
        sales=("basis", "sum")).reset_index()
    del c
    scored = [str(i) for i in outcomes.indicators["indicator"].unique()]
    metrics = data.metrics
    m = metrics[["indicator", "period", "actual", "target"]][isin(metrics["indicator"], scored).to_numpy()]
    codes, months = pd.factorize(m["period"])
    months = pd.Series(months)
    of_month = months.str.slice(0, 4) + "Q" + ((months.str.slice(5, 7).astype(int) - 1) // 3 + 1).astype(str)
    m = m.assign(quarter=of_month.array.take(codes, allow_fill=True))
    quarterly = m.groupby(["indicator", "quarter"]).agg(actual=("actual", "sum"), target=("target", "sum"))
    quarterly["achievement"] = quarterly["actual"] / quarterly["target"]
    return {"monthly": monthly, "quarterly": quarterly.reset_index()}


def appeals_summary(data: Dataset) -> dict[str, Any]:
    """Appeals: count, by status, upheld rate among decided appeals, median days from filing to decision."""
    a = data.appeals
    decided = a[a["status"].isin(["upheld", "rejected"])]
    days = (decided["decided_on"] - decided["filed_on"]).dt.days
    return {"count": int(len(a)), "open": int((a["status"] == "open").sum()),
            "upheld": int((a["status"] == "upheld").sum()), "rejected": int((a["status"] == "rejected").sum()),
            "upheld_rate": float((decided["status"] == "upheld").mean()) if len(decided) else float("nan"),
            "median_days_to_decision": float(days.median()) if len(days) else float("nan")}


#: the wage bill :func:`wage_bill_illustration` sets on a policy without one: half by head-count, half by the units'
#: results on three indicators, shared out over regions and their branches
ILLUSTRATIVE_WAGE_BILL: dict[str, Any] = {
    "levels": ["region", "branch"], "headcount_weight": 0.5,
    "scorecard": [{"indicator": "ftp_profit", "weight": 0.5}, {"indicator": "deposits_adb", "weight": 0.3},
                  {"indicator": "npl_ratio", "weight": 0.2}]}


#: the tables of :func:`wage_bill_illustration`'s evaluation the review shows (the rest is not kept)
WAGE_BILL_TABLES = ("summary", "allocation")


def wage_bill_illustration(policy: Policy, outcomes: Outcomes) -> Policy | None:
    """The policy whose evaluation illustrates a top-down wage bill (工资总额) in the review, for a ``policy``
    without one: ``policy`` with :data:`ILLUSTRATIVE_WAGE_BILL` sharing out this year's bonus (``outcomes``'
    bonus paid + deferred, CNY) and without a bonus pool (the wage bill sets the pools). None when ``policy`` has a
    wage bill of its own (its ``outcomes`` show it)."""
    if policy.wage_bill is not None:
        return None
    totals = outcomes.totals()
    changes: dict[str, Any] = {"wage_bill": {"amount": totals["bonus_paid"] + totals["bonus_deferred"],
                                             **ILLUSTRATIVE_WAGE_BILL}}
    if policy.bonus.pool is not None:
        changes["bonus.pool"] = None
    return policy.updated(changes)


# ---------------------------------------------------------------------------------------------- compare

#: the tables of the candidate's outcomes the policy review reads (:func:`compare`'s summary, the compliance
#: checks, and :func:`simulate`'s summary, indicators, commission lines and contributions): the review keeps only
#: these of its evaluation (``evaluate(..., tables=...)``: the same tables, bit for bit; its net pay and tax
#: month by month, deferrals, leavers and the rest not worked out or written)
CANDIDATE_TABLES = ("summary", "indicators", "commission", "benefits", "compliance")


@dataclass
class Comparison:
    """This year's policy against a candidate on the same people."""

    changes: list[PolicyChange]
    before: Outcomes
    after: Outcomes
    cost: pd.DataFrame
    per_person: pd.DataFrame
    winners_losers: dict[str, pd.DataFrame]
    migrations: pd.DataFrame


def winners_losers(per_person: pd.DataFrame, keys: str | list[str]) -> pd.DataFrame:
    """Winners and losers of a comparison by group: :func:`compare`'s ``per_person`` table grouped by ``keys``
    (a column or a list of columns, e.g. ``["region", "grade"]``), one row per group in key order: the keys,
    n (people), winners and losers (people whose outcome is winner / loser), median_change (CNY of total cash),
    median_change_pct (%), total_change (CNY)."""
    g = per_person.groupby(keys, observed=True)
    return pd.DataFrame({
        "n": g.size(), "winners": g["outcome"].apply(lambda o: int((o == "winner").sum())),
        "losers": g["outcome"].apply(lambda o: int((o == "loser").sum())),
        "median_change": g["change"].median(), "median_change_pct": g["change_pct"].median(),
        "total_change": g["change"].sum()}).reset_index()


def compare(policy_a: Policy, policy_b: Policy, data: Dataset, before: Outcomes | None = None,
            threshold: float = 0.01, after: Outcomes | None = None) -> Comparison:
    """Evaluate both policies on ``data`` and compare (``before``, ``after``: their outcomes when already
    evaluated, e.g. kept by the review).

    per_person: total cash and employer cost under each, change and % change. Winners gain more than
    ``threshold`` (1%) of total cash, losers lose more than that; the rest are unchanged. migrations: counts of
    people by rating under A (rows) and B (columns).
    """
    before = before if before is not None else evaluate(policy_a, data)
    after = after if after is not None else evaluate(policy_b, data)
    a, b = before.summary, after.summary
    parts = _components(a, b)
    cost = pd.DataFrame({"component": parts + ["total"]})
    cost["before"] = [float(round_cents(a[c].sum())) for c in parts] + [float(round_cents(
        a["employer_cost"].sum()))]
    cost["after"] = [float(round_cents(b[c].sum())) for c in parts] + [float(round_cents(
        b["employer_cost"].sum()))]
    cost["change"] = cost["after"] - cost["before"]
    cost["change_pct"] = cost["change"] / cost["before"].replace(0, np.nan) * 100
    per = pd.DataFrame({"employee_id": a["employee_id"], "grade": a["grade"], "region": a["region"],
                        "branch": a["branch"], "cash_before": a["total_cash"], "cash_after": b["total_cash"].to_numpy(),
                        "cost_before": a["employer_cost"], "cost_after": b["employer_cost"].to_numpy(),
                        "rating_before": a["rating"], "rating_after": b["rating"].to_numpy()})
    per["change"] = per["cash_after"] - per["cash_before"]
    per["change_pct"] = np.where(per["cash_before"] > 0, per["change"] / per["cash_before"] * 100, np.nan)
    per["outcome"] = np.select([per["change_pct"] > threshold * 100, per["change_pct"] < -threshold * 100],
                               ["winner", "loser"], "unchanged")
    wl = {key: winners_losers(per, key) for key in ("grade", "region")}
    labels = policy_a.ratings.labels
    mig = pd.crosstab(pd.Categorical(per["rating_before"], categories=labels),
                      pd.Categorical(per["rating_after"], categories=policy_b.ratings.labels), dropna=False)
    mig.index.name, mig.columns.name = f"rating {policy_a.version}", f"rating {policy_b.version}"
    return Comparison(policy_a.diff(policy_b), before, after, cost, per, wl, mig)


# --------------------------------------------------------------------------------------- Monte Carlo


@dataclass
class Simulation:
    """Monte Carlo cost of a policy: per scenario, the total employer cost and each component (CNY)."""

    costs: pd.DataFrame
    budget: float | None
    percentiles: pd.DataFrame
    prob_over_budget: float | None
    seconds: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)


def _individual_changes(data: Dataset, keys: list[str], column: str, key_column: str,
                        table: pd.DataFrame) -> np.ndarray:
    """Per person (rows of the employees table) and key, the individual change on the log scale
    (compkit.aggregate.individual_log_changes, the one definition); 0 for people without both halves."""
    ids = pd.Index(data.employees["employee_id"].astype(str))
    changes = individual_log_changes(table, data.periods, key_column, column)
    out = np.zeros((len(ids), len(keys)))
    rows = ids.get_indexer(changes.index)  # the people of every key's column: looked up once
    for j, key in enumerate(keys):
        if key not in changes:
            continue
        log_change = changes[key].to_numpy(dtype="float64")
        keep = (rows >= 0) & ~np.isnan(log_change)
        out[rows[keep], j] = log_change[keep]
    return out


@dataclass
class NextYear:
    """Next year's population and its fixed cost (CNY), from this year's evaluation (see :func:`next_year`)."""

    rows: np.ndarray              # positions (employees table) of the people employed at the cycle's end
    grade: np.ndarray             # next year's grade (after promotion or demotion)
    base_monthly: np.ndarray      # next year's monthly base (after the salary review and the grade change)
    annual_base_full: np.ndarray  # base_monthly x months x fte
    fixed: dict[str, float]       # base_pay, allowances, employer_contributions for the year
    settings: dict[str, float]


def _next_year_contributions(policy: Policy, data: Dataset, base: Outcomes, rows: np.ndarray,
                             base_monthly: np.ndarray, fte: np.ndarray, months: int) -> np.ndarray:
    """Employer 五险一金 for next year's full year per person (CNY), on the bases the law sets: the contribution
    year starts in July, on the previous calendar year's average monthly wage. Next year Y+1: January-June on
    the average of Y-1 (this cycle's ``wage_h2``), July-December on the average of Y, this cycle's pay
    (``total_cash / (days_share x months)``; where the person was paid for no month, the January-June wage).
    A half-year cycle has no whole year of wages: the reviewed base x fte stands in."""
    if months != 12:
        return pay.cycle_contributions(base_monthly, fte, np.ones(len(rows)), months,
                                       policy.benefits)["employer_contributions"].to_numpy()
    s = base.summary
    wage_h1 = base.benefits["wage_h2"].to_numpy(dtype="float64")[rows]
    worked = s["days_share"].to_numpy(dtype="float64")[rows] * months
    wage_h2 = np.divide(s["total_cash"].to_numpy(dtype="float64")[rows], worked, out=wage_h1.copy(),
                        where=worked > 0)
    year = int(data.cycle[:4]) + 1
    periods = [f"{year}-{m:02d}" for m in range(1, 13)]
    monthly = pay.benefits(wage_h1, wage_h2, np.ones((len(rows), 12)), periods, policy.benefits)
    employer = [k for k in monthly if k.startswith("employer_") and k != "employer_hf_taxable"]
    return round_cents(sum(monthly[k].sum(axis=1) for k in employer))


def next_year(policy: Policy, data: Dataset, base: Outcomes, attrition: float = 0.0,
              hiring: float = 0.0) -> NextYear:
    """Next year's fixed cost model (CNY), with the engine's own calculators.

    People: those employed at the cycle's end (no exit date, or one after the cycle's end; hired by then).
    Grade: the promotion or demotion recommended this cycle, else the same grade.
    Base (monthly): this year's salary review result (``new_base_monthly``); on a change of grade the pay on the
    new grade as evaluate places it (``promotion_base_monthly``, :func:`compkit.career.place_on_new_grade`: a
    grade with steps the lowest step at or above the pay; without steps a promotion lifts to at least the new
    band's minimum, a demotion lowers to at most its maximum).
    For a full year (months of the cycle, x fte):
      base_pay       = sum over people of base x months x fte x (1 - a/2) + entry x months x fte x a/2
      allowances     = sum of the policy's monthly allowances x months x fte (``pay.allowances``, full year)
      contributions  = employer 五险一金 on next year's bases (``pay.benefits``, full year), weighted the same way:
                       as the law sets them (:func:`compkit.pay.contribution_wage`), January-June on the average
                       monthly wage of this cycle's year before (this cycle's July-December contribution wage),
                       July-December on this cycle's own average monthly wage (total cash / months employed);
                       for a half-year cycle, the reviewed base x fte stands in
    where a = ``attrition`` (share of people leaving during the year, evenly over it, so on average half a
    year is lost) and each leaver is replaced from the day of leaving at the grade's entry pay (``entry`` =
    the band minimum). ``hiring`` (h) adds h x headcount new people, spread over the grades like the
    headcount, at entry pay, joining evenly over the year (on average half a year): their base, allowances and
    contributions are added. Variable pay (bonus, commission) is simulated per scenario for the people
    employed at the cycle's end, on next year's bases, for a full year (:func:`simulate`); replacements are
    assumed to take over their predecessor's book, new hires' variable pay is not modelled.
    """
    s = base.summary
    emp = data.employees.reset_index(drop=True)
    months = len(data.periods)
    hired = emp["hire_date"].isna() | (emp["hire_date"] <= data.cycle_end)
    staying = (emp["exit_date"].isna() | (emp["exit_date"] > data.cycle_end)) & hired
    rows = np.flatnonzero(staying.to_numpy())
    move = s["promotion"].isin(["promote", "demote"]).to_numpy()[rows]
    grade = np.where(move, s["promotion_to"].astype(object).to_numpy()[rows], emp["grade"].to_numpy()[rows])
    bands = {g.id: g.base_monthly for g in policy.grades}
    lo = pd.Series(grade).map({k: v.min for k, v in bands.items()}).to_numpy(dtype="float64")
    hi = pd.Series(grade).map({k: v.max for k, v in bands.items()}).to_numpy(dtype="float64")
    reviewed = s["new_base_monthly"].to_numpy(dtype="float64")[rows]
    reviewed = np.where(np.isnan(reviewed), s["base_monthly"].to_numpy(dtype="float64")[rows], reviewed)
    # the pay on the new grade as the engine places it (compkit.career.place_on_new_grade: steps, band minimum on
    # promotion, band maximum on demotion); the band clip only where the evaluation has no placement
    placed = (s["promotion_base_monthly"].to_numpy(dtype="float64")[rows] if "promotion_base_monthly" in s
              else np.full(len(rows), np.nan))
    base_monthly = np.where(move, np.where(np.isnan(placed), np.clip(reviewed, lo, hi), placed), reviewed)
    fte = np.nan_to_num(emp["fte"].to_numpy(dtype="float64")[rows], nan=1.0)
    annual = base_monthly * months * fte
    a = float(attrition)
    stay, replaced = 1.0 - a / 2.0, a / 2.0
    full = np.ones(len(rows))
    people = emp.iloc[rows].reset_index(drop=True)
    allowances = pay.allowances(people, policy.allowances, full, fte, months)["allowances_total"].to_numpy()
    contrib = _next_year_contributions(policy, data, base, rows, base_monthly, fte, months)
    entry_contrib = pay.cycle_contributions(lo, fte, full, months,
                                            policy.benefits)["employer_contributions"].to_numpy()
    base_pay = float((annual * stay + lo * months * fte * replaced).sum())
    allow = float(allowances.sum())
    contributions = float((contrib * stay + entry_contrib * replaced).sum())
    if hiring:
        counts = pd.Series(grade).value_counts()
        new = counts * float(hiring)
        entry = pd.Series({g.id: g.base_monthly.min for g in policy.grades}).reindex(new.index).to_numpy()
        half = np.full(len(new), 0.5)
        base_pay += float((new.to_numpy() * entry * months * half).sum())
        allow += float(new.sum()) * sum(policy.allowances.values()) * months * 0.5
        hire_contrib = pay.cycle_contributions(entry, np.ones(len(new)), half, months, policy.benefits)
        contributions += float((new.to_numpy() * hire_contrib["employer_contributions"].to_numpy()).sum())
    fixed = {"base_pay": float(round_cents(base_pay)), "allowances": float(round_cents(allow)),
             "employer_contributions": float(round_cents(contributions))}
    return NextYear(rows, grade, base_monthly, annual, fixed, {"attrition": a, "hiring": float(hiring),
                                                               "people": int(len(rows))})


def _draws(exp_changes: np.ndarray, seed: int, first: int, last: int, growth: float,
           market_sd: float) -> np.ndarray:
    """Factors on this year's results for scenarios ``first`` .. ``last - 1`` (scenarios x people x columns;
    the columns: the metric indicators, then the products):

        factor = (1 + growth) x exp(m_sk) x exp(d_sik)

    m_sk ~ Normal(0, market_sd), one per scenario and column; exp(d) is drawn with replacement from
    ``exp_changes`` (people x columns, this year's individual changes). Scenario s draws from its own stream
    ``default_rng([seed, s])``, so a scenario is the same in any batch and on any worker.

    The array is held column by column (each column's scenarios x people contiguous, a view with the columns
    last): the calculators read one indicator's or product's factors at a time."""
    n, k = exp_changes.shape
    b = last - first
    kind = np.int32 if n < 2 ** 31 else np.int64
    columns = np.ascontiguousarray(exp_changes.T)  # k x n
    out = np.empty((k, b, n))
    for i in range(b):
        rng = np.random.default_rng([seed, first + i])
        shock = (1.0 + growth) * np.exp(rng.normal(0.0, market_sd, size=k))  # this scenario's, per column
        picks = rng.integers(0, n, size=(n, k), dtype=kind)  # n x k: column j read where it lies (a strided view)
        for j in range(k):
            # the picks are positions 0 .. n-1: "clip" takes them as they are, without checking each one
            row = np.take(columns[j], picks[:, j], out=out[j, i], mode="clip")
            row *= shock[j]  # while the scenario's column is in the cache
    return np.moveaxis(out, 0, -1)


def simulate_batch(inputs: scenarios.ScenarioInputs, exp_changes: np.ndarray, seed: int, first: int, last: int,
                   growth: float, market_sd: float) -> dict[str, np.ndarray]:
    """Scenarios ``first`` .. ``last - 1``: their factors (:func:`_draws`) through the engine's calculators
    (:func:`compkit.scenarios.run_batch`); totals per scenario (CNY)."""
    factors = _draws(exp_changes, seed, first, last, growth, market_sd)
    m = len(inputs.metric_cols)
    out = scenarios.run_batch(inputs, factors[:, :, :m], factors[:, :, m:], growth)
    out["scenario"] = np.arange(first, last)
    return out


#: the most person-scenarios in one batch of :func:`simulate`: its arrays are batch x people (x months, x indicators
#: for the draws), so at 100,000 people a batch is 10 scenarios, not 50 (each array 8 MB a month, not 40 MB)
MAX_BATCH_CELLS = 1_000_000


def simulate(policy: Policy, data: Dataset, n: int = 1000, seed: int = 0, budget: float | None = None,
             growth: float = 0.05, market_sd: float = 0.05, individual: bool = True, batch: int = 50,
             progress: bool = False, base: Outcomes | None = None, next_year_cost: bool = True,
             attrition: float = 0.0, hiring: float = 0.0, client: Any = None,
             processes: int | None = 1) -> Simulation:
    """Monte Carlo of next year's cost under uncertainty of sales and metrics.

    Model (documented, seeded): next year's value of person i on metric indicator or product k in scenario s is
    this year's value x exp(log(1 + growth) + m_sk + d_sik), where m_sk ~ Normal(0, market_sd) is a
    market shock common to everyone, and d_sik is drawn with replacement from this year's per-person changes
    of indicator k (second half-year against the first, on a yearly scale, mean 1: see _individual_changes) —
    a bootstrap of how much individual results move from one period to the next. Targets grow by ``growth``
    too, so attainment stays centred unless the market shock moves it. Scenario s draws from its own stream
    ``default_rng([seed, s])``.

    Each scenario runs through the engine's own calculators (:mod:`compkit.scenarios`): metric scores and the
    composite, ratings (absolute, or guided with quotas within groups), the bonus (composite curve or by
    rating, pool or the wage bill's top-down allocation on the scenario's unit results, deferral), commission
    (month or cycle-to-date accumulation, marginal or retroactive tiers, balance products and quota tiers with
    the engine's rule for them on the scenario's volumes, gate, cap and settlement) and the
    special awards on the scenario's measures (column ``awards`` when the policy has any), in batches of
    ``batch`` scenarios (arrays scenarios x people; fewer when batch x people exceeds :data:`MAX_BATCH_CELLS`,
    which bounds the memory of a batch and leaves the result unchanged).

    ``next_year_cost`` (default): the people, bases and fixed costs are next year's (:func:`next_year`: the
    salary review and promotions applied, a full year, optional ``attrition`` and ``hiring`` rates); the
    bonus targets and the commission cap follow next year's bases. False: this year's people and bases (the
    scenarios then vary only results; with growth 0, market_sd 0 and individual False every scenario equals
    ``evaluate`` to the cent — a property test checks it for generated policy variants).
    ``individual=False`` leaves out the per-person changes (market shocks only). ``client``: a Dask
    distributed Client or a scheduler address; the batches then run on its workers and, each scenario having
    its own seed, the result is identical bit for bit to the single-process run. ``processes`` (without a client):
    the batches spread over that many forked processes on this machine (None: every core, or
    ``COMPKIT_PROCESSES``; :func:`compkit.parallel.fork_map`), again identical bit for bit.
    """
    import time

    start = time.perf_counter()
    base = base if base is not None else evaluate(policy, data)
    s = base.summary
    budget = budget if budget is not None else policy.budget
    if next_year_cost:
        ny = next_year(policy, data, base, attrition, hiring)
        inputs = scenarios.prepare(policy, data, base, rows=ny.rows, annual_base_full=ny.annual_base_full,
                                   bonus_share=np.ones(len(ny.rows)), cap_base=ny.annual_base_full, grade=ny.grade)
        fixed = ny.fixed
        rows = ny.rows
    else:
        inputs = scenarios.prepare(policy, data, base)
        fixed = {c: float(round_cents(s[c].sum())) for c in ("base_pay", "allowances", "employer_contributions")}
        rows = np.arange(len(s))
    metric_ids = [policy.scorecard.indicators[j].id for j in inputs.metric_cols]
    changes_m = _individual_changes(data, metric_ids, "actual", "indicator", data.metrics)[rows]
    sales = data.sales[["employee_id", "period", "product", "amount"]]  # the columns it reads, not a copy of all
    changes_q = _individual_changes(data, inputs.products, "amount", "product",
                                    sales[(sales["amount"] > 0).to_numpy()])[rows]
    del sales
    exp_changes = np.exp(np.hstack([changes_m, changes_q])) if individual else \
        np.ones((len(rows), changes_m.shape[1] + changes_q.shape[1]))
    # held column by column (a people x columns view of a columns x people array): the draws read a column at a time
    exp_changes = np.ascontiguousarray(exp_changes.T).T

    # at most MAX_BATCH_CELLS person-scenarios a batch (the same result: each scenario has its own seed)
    batch = max(1, min(batch, MAX_BATCH_CELLS // max(len(rows), 1)))
    spans = [(b0, min(n, b0 + batch)) for b0 in range(0, n, batch)]
    if client is not None:
        parts = _on_dask(client, inputs, exp_changes, seed, spans, growth, market_sd)
    elif parallel.processes(processes) > 1 and len(spans) > 1:
        parts = parallel.fork_map(lambda span: simulate_batch(inputs, exp_changes, seed, span[0], span[1], growth,
                                                              market_sd), spans, processes)
    else:
        iterator = spans
        if progress:
            from tqdm.auto import tqdm

            iterator = tqdm(spans, desc="scenarios", unit="batch")
        parts = [simulate_batch(inputs, exp_changes, seed, b0, b1, growth, market_sd)
                 for b0, b1 in iterator]
    got = {k: np.concatenate([p[k] for p in parts]) for k in ("scenario", "bonus_paid", "bonus_deferred",
                                                               "commission_paid", "commission_deferred",
                                                               "awards")}
    costs = pd.DataFrame({"scenario": got["scenario"], **{k: np.full(n, v) for k, v in fixed.items()}})
    costs["bonus_paid"] = got["bonus_paid"]
    costs["bonus_deferred"] = got["bonus_deferred"]
    costs["bonus"] = round_cents(got["bonus_paid"] + got["bonus_deferred"])
    costs["commission_paid"] = got["commission_paid"]
    costs["commission_deferred"] = got["commission_deferred"]
    costs["commission"] = round_cents(got["commission_paid"] + got["commission_deferred"])
    parts_of_total = ["base_pay", "allowances", "employer_contributions", "bonus", "commission"]
    if policy.awards:  # special awards (单项奖), when the policy pays any
        costs["awards"] = got["awards"]
        parts_of_total.append("awards")
    costs["total"] = round_cents(costs[parts_of_total].sum(axis=1).to_numpy())
    pct = costs.drop(columns="scenario").quantile([0.05, 0.5, 0.95]).T
    pct.columns = ["P5", "P50", "P95"]
    prob = float((costs["total"] > budget).mean()) if budget is not None else None
    return Simulation(costs, budget, pct.reset_index(names="component"), prob, time.perf_counter() - start,
                      {"n": n, "seed": seed, "growth": growth, "market_sd": market_sd, "individual": individual,
                       "people": int(inputs.people), "next_year_cost": next_year_cost, "attrition": attrition,
                       "hiring": hiring, "batch": batch})


def _on_dask(client: Any, inputs: scenarios.ScenarioInputs, exp_changes: np.ndarray, seed: int,
             spans: list[tuple[int, int]], growth: float, market_sd: float) -> list[dict[str, np.ndarray]]:
    """The batches on a Dask cluster: ``client`` is a distributed Client or a scheduler address. The fixed
    inputs are scattered once to every worker; each batch is one task; results come back in scenario order.
    The employee ids stay here: the workers get the inputs with row numbers in their place (a batch reads the
    arrays by row, never the ids), so what leaves this machine is unnamed figures."""
    try:
        from dask.distributed import Client
    except ImportError as exc:  # pragma: no cover - dask is an optional extra
        raise ImportError("simulate(client=...) needs Dask: pip install 'compkit[dask]'") from exc
    own = isinstance(client, str)
    c = Client(client) if own else client
    try:
        unnamed = replace(inputs, employee_ids=np.arange(inputs.people, dtype=np.int64))
        shared = c.scatter([unnamed, exp_changes], broadcast=True)
        futures = [c.submit(simulate_batch, shared[0], shared[1], seed, b0, b1, growth, market_sd, pure=False)
                   for b0, b1 in spans]
        return c.gather(futures)
    finally:
        if own:
            c.close()


def sensitivity(policy: Policy, data: Dataset, knobs: list[Knob] | None = None,
                base: Outcomes | None = None, processes: int | None = 1,
                lang: str | None = None, kept: Kept | None = None) -> pd.DataFrame:
    """Cost at a low and a high setting of each knob, one knob at a time (for a tornado chart).

    ``knobs``: :class:`compkit.knobs.Knob` with ``low`` and ``high``; the default moves each product's
    commission rates and the bonus curve's payouts by -/+10% (scale 0.9 / 1.1), the cap by -/+0.5 x base and
    the gate threshold by -/+5 points. Each setting is ``evaluate(knob.apply(policy, x), data)``: the first one
    in full, keeping its scorecard, credited sales' split, salary review and promotions (and its commission lines)
    in a :class:`compkit.engine.Kept`; the others take them from it where their policy differs only in the
    commission and the bonus (the default knobs), so each works out only the stages after the scorecard (the
    same Outcomes, bit for bit): first the settings that take the kept lines, then those that apply their rates to
    the kept lines' bases, only for the products whose rates they move (the other products' lines as kept).
    Each evaluation builds only its summary (``tables``). With
    ``processes`` (None: every core) the other settings are evaluated in that many forked processes at once
    (:func:`compkit.parallel.fork_map`; the same costs). ``kept``: a :class:`compkit.engine.Kept` already filled
    by ``evaluate(policy, data, kept=kept)`` (the evaluation of ``base``, as ``compkit review`` keeps it): every
    setting takes its stages and none is evaluated in full (the same costs); one that does not fit these data
    and settings is left aside. Columns: ``knob`` (its name),
    ``label`` (the knob in words in ``lang``, default the policy's language: what the tornado chart shows),
    ``path``, ``low``, ``high``, ``cost_low``, ``cost_high``, ``base_cost``.
    """
    base = base if base is not None else evaluate(policy, data)
    base_cost = float(base.summary["employer_cost"].sum())
    knobs = knobs if knobs is not None else default_knobs(policy, lang)
    settings = [kx[0].apply(policy, kx[1]) for kx in ((k, x) for k in knobs for x in (k.low, k.high))]
    # the first setting evaluated in full keeps its stages; one with this policy's commission lines (a knob of
    # the bonus, the gate or the cap) if any, so that the other such settings take the lines too
    first = next((i for i, p in enumerate(settings) if same_commission_lines(policy, p)), 0)
    # filled by the evaluation of ``policy`` (or of a policy differing from it only in the commission and the bonus)
    # on these data: none evaluated in full; a Kept that does not fit is left aside (the first in full, as without)
    filled = kept is not None and kept.policy is not None and all(kept.fits(p, data, None) for p in settings)
    kept = kept if kept is not None and filled else Kept()
    costs: list[float] = [0.0] * len(settings)

    def cost(i: int) -> float:
        return float(evaluate(settings[i], data, kept=kept, tables=("summary",)).summary["employer_cost"].sum())

    if not filled:
        costs[first] = cost(first)
    # the settings that take the kept commission lines first; then the others, applying their rates to the kept
    # lines' bases for the products whose rates differ (the kept lines give the others' lines)
    rest = [i for i in range(len(settings)) if filled or i != first]
    with_lines = [i for i in rest if kept.lines_fit(settings[i])]
    for part in (with_lines, [i for i in rest if i not in with_lines]):
        for i, c in zip(part, parallel.fork_map(cost, part, processes), strict=True):
            costs[i] = c
    rows = []
    for i, k in enumerate(knobs):
        rows.append({"knob": k.name, "label": k.label or k.name, "path": k.path, "low": k.low, "high": k.high,
                     "cost_low": costs[2 * i], "cost_high": costs[2 * i + 1], "base_cost": base_cost})
    return pd.DataFrame(rows)


def default_knobs(policy: Policy, lang: str | None = None) -> list[Knob]:
    """The review's default knobs (see :func:`sensitivity`), each with its label in ``lang`` (default the
    policy's language)."""
    lang = i18n.resolve(lang, policy)
    _ = i18n.gettext(lang)
    out = [kn.commission_rates(policy, p.id, name=f"{p.id} commission rate ±10%", low=0.9, high=1.1,
                               label=_("{product} commission rate ±10%").format(
                                   product=i18n.term(p.name or p.id, lang)))
           for p in policy.commission.products]
    if policy.bonus.basis == "composite":
        out.append(kn.bonus_curve(policy, name="bonus curve payouts ±10%", low=0.9, high=1.1,
                                  label=_("bonus curve payouts ±10%")))
    if policy.commission.cap is not None:
        c = policy.commission.cap.times_annual_base
        out.append(kn.knob("commission.cap.times_annual_base", name="commission cap ±0.5 × base",
                           low=max(0.1, c - 0.5), high=c + 0.5, label=_("commission cap ±0.5 × annual base salary")))
    if policy.commission.gate is not None:
        g = policy.commission.gate.min_composite
        out.append(kn.knob("commission.gate.min_composite", name="commission gate ±5 points", low=g - 5, high=g + 5,
                           label=_("commission gate ±5 points of the overall score")))
    return out
