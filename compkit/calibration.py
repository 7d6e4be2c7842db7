"""Calibration: making ratings comparable across raters, and tuning the policy to its budget and targets.

Sections:
  reliability      icc (Shrout & Fleiss 1979; McGraw & Wong 1996), krippendorff_alpha (Krippendorff 2011)
  rater effects    rater_effects: score = mu + true level of the ratee + leniency of the rater + noise, fitted
                   jointly by least squares over the connected rater-ratee network
  budget solving   solve_budget: the value of one policy knob at which the cost of evaluate meets a budget
  target setting   propose_targets (challenging yet achievable, adjusted for the branch environment) and
                   calibrate_payout_curve (threshold / target / maximum reached by chosen shares)
See REFERENCES.md "Rater reliability and calibration".
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import sparse, stats
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import lsqr

from compkit.data import Dataset
from compkit.engine import evaluate
from compkit.errors import CompkitError
from compkit.policy import InverseCurve, Policy


class CalibrationError(CompkitError):
    """A calibration that cannot be done with these inputs (said why)."""


def _require(df: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"missing column(s) {missing}; the table has {list(df.columns)}")


# ========================================================================================== reliability


def icc(df: pd.DataFrame, target: str, rater: str, score: str, confidence: float = 0.95) -> pd.DataFrame:
    """Intraclass correlations ICC1, ICC2, ICC3 (single rater) and ICC1k, ICC2k, ICC3k (mean of k raters).

    Long input, one row per target x rater. Targets without a score from every rater are left out (the
    number left out is in ``attrs["dropped_targets"]``). From the two-way ANOVA mean squares of the n x k table
    (MSB targets, MSJ raters, MSE residual, MSW within targets):
      ICC1  = (MSB - MSW) / (MSB + (k-1) MSW)          one-way random
      ICC2  = (MSB - MSE) / (MSB + (k-1) MSE + k (MSJ - MSE) / n)   two-way random, absolute agreement
      ICC3  = (MSB - MSE) / (MSB + (k-1) MSE)          two-way mixed, consistency
      ICC1k = (MSB - MSW) / MSB;  ICC2k = (MSB - MSE) / (MSB + (MSJ - MSE) / n);  ICC3k = (MSB - MSE) / MSB
    with F tests and confidence intervals as in Shrout & Fleiss (1979) and McGraw & Wong (1996) (ICC2: the
    Satterthwaite approximation). Columns: type, description, icc, F, df1, df2, pval, ci_low, ci_high.
    """
    _require(df, [target, rater, score])
    table = df.pivot_table(index=target, columns=rater, values=score, aggfunc="mean")
    complete = table.dropna()
    dropped = len(table) - len(complete)
    x = complete.to_numpy(dtype="float64")
    n, k = x.shape
    if k < 2:
        raise ValueError(f"icc needs at least 2 raters per target, found {k}")
    if n < 2:
        raise ValueError(f"icc needs at least 2 targets rated by every rater, found {n}")
    grand = x.mean()
    row = x.mean(axis=1)
    col = x.mean(axis=0)
    ssb = k * ((row - grand) ** 2).sum()
    ssj = n * ((col - grand) ** 2).sum()
    ssw = ((x - row[:, None]) ** 2).sum()
    sse = ssw - ssj
    msb, msj = ssb / (n - 1), ssj / (k - 1)
    msw, mse = ssw / (n * (k - 1)), sse / ((n - 1) * (k - 1))
    a = 1 - confidence
    f_crit = stats.f.ppf

    icc1 = (msb - msw) / (msb + (k - 1) * msw)
    icc2 = (msb - mse) / (msb + (k - 1) * mse + k * (msj - mse) / n)
    icc3 = (msb - mse) / (msb + (k - 1) * mse)
    icc1k = (msb - msw) / msb
    icc2k = (msb - mse) / (msb + (msj - mse) / n)
    icc3k = (msb - mse) / msb

    f1, d1, d2_1 = msb / msw, n - 1, n * (k - 1)
    f3, d2_3 = msb / mse, (n - 1) * (k - 1)
    fl1, fu1 = f1 / f_crit(1 - a / 2, d1, d2_1), f1 * f_crit(1 - a / 2, d2_1, d1)
    fl3, fu3 = f3 / f_crit(1 - a / 2, d1, d2_3), f3 * f_crit(1 - a / 2, d2_3, d1)
    # ICC2: Satterthwaite degrees of freedom (McGraw & Wong 1996, table 7)
    va = k * icc2 / (n * (1 - icc2))
    vb = 1 + k * icc2 * (n - 1) / (n * (1 - icc2))
    v = (va * msj + vb * mse) ** 2 / ((va * msj) ** 2 / (k - 1) + (vb * mse) ** 2 / ((n - 1) * (k - 1)))
    fs, fss = f_crit(1 - a / 2, n - 1, v), f_crit(1 - a / 2, v, n - 1)
    l2 = n * (msb - fs * mse) / (fs * (k * msj + (k * n - k - n) * mse) + n * msb)
    u2 = n * (fss * msb - mse) / (k * msj + (k * n - k - n) * mse + n * fss * msb)

    rows = [
        ("ICC1", "single rater, one-way random", icc1, f1, d1, d2_1,
         (fl1 - 1) / (fl1 + k - 1), (fu1 - 1) / (fu1 + k - 1)),
        ("ICC2", "single rater, two-way random, absolute agreement", icc2, f3, d1, d2_3, l2, u2),
        ("ICC3", "single rater, two-way mixed, consistency", icc3, f3, d1, d2_3,
         (fl3 - 1) / (fl3 + k - 1), (fu3 - 1) / (fu3 + k - 1)),
        ("ICC1k", f"mean of {k} raters, one-way random", icc1k, f1, d1, d2_1, 1 - 1 / fl1, 1 - 1 / fu1),
        ("ICC2k", f"mean of {k} raters, two-way random, absolute agreement", icc2k, f3, d1, d2_3,
         l2 * k / (1 + l2 * (k - 1)), u2 * k / (1 + u2 * (k - 1))),
        ("ICC3k", f"mean of {k} raters, two-way mixed, consistency", icc3k, f3, d1, d2_3, 1 - 1 / fl3, 1 - 1 / fu3),
    ]
    out = pd.DataFrame(rows, columns=["type", "description", "icc", "F", "df1", "df2", "ci_low", "ci_high"])
    out["pval"] = stats.f.sf(out["F"], out["df1"], out["df2"])
    out = out[["type", "description", "icc", "F", "df1", "df2", "pval", "ci_low", "ci_high"]]
    out.attrs["dropped_targets"] = dropped
    out.attrs["mean_squares"] = {"MSB": msb, "MSJ": msj, "MSE": mse, "MSW": msw, "n": n, "k": k}
    return out


def krippendorff_alpha(df: pd.DataFrame, unit: str, rater: str, value: str, level: str = "interval") -> float:
    """Krippendorff's alpha = 1 - D_o / D_e, tolerating missing ratings (Krippendorff 2011).

    The coincidence matrix o_ck sums, over units with m_u >= 2 values, every ordered pair of values of the unit
    weighted by 1 / (m_u - 1); n_c = sum_k o_ck; n = sum n_c. Then
    alpha = 1 - (n - 1) sum o_ck d2_ck / sum n_c n_k d2_ck with the metric d2 of ``level``:
    nominal (c != k); ordinal (sum of n_g for g from c to k - (n_c + n_k)/2)^2; interval (c - k)^2;
    ratio ((c - k)/(c + k))^2. Units with fewer than two values are not pairable and are left out.
    """
    _require(df, [unit, rater, value])
    d = df[[unit, rater, value]].dropna()
    u_codes = pd.factorize(d[unit])[0]
    values = np.sort(d[value].unique())
    v_codes = np.searchsorted(values, d[value].to_numpy())
    n_units, n_values = u_codes.max() + 1 if len(d) else 0, len(values)
    counts = np.zeros((n_units, n_values))
    np.add.at(counts, (u_codes, v_codes), 1.0)
    m = counts.sum(axis=1)
    pairable = m >= 2
    counts, m = counts[pairable], m[pairable]
    if counts.sum() == 0 or n_values < 2:
        raise ValueError("krippendorff_alpha needs at least one unit with two values and two distinct values")
    weighted = counts / (m - 1)[:, None]
    o = weighted.T @ counts - np.diag(weighted.sum(axis=0))
    n_c = o.sum(axis=1)
    n = n_c.sum()
    c = values.astype("float64")
    if level == "nominal":
        d2 = (c[:, None] != c[None, :]).astype(float)
    elif level == "interval":
        d2 = (c[:, None] - c[None, :]) ** 2
    elif level == "ratio":
        with np.errstate(invalid="ignore", divide="ignore"):
            d2 = np.nan_to_num(((c[:, None] - c[None, :]) / (c[:, None] + c[None, :])) ** 2)
    elif level == "ordinal":
        cum = np.concatenate([[0.0], np.cumsum(n_c)])
        lo = np.minimum.outer(np.arange(n_values), np.arange(n_values))
        hi = np.maximum.outer(np.arange(n_values), np.arange(n_values))
        between = cum[hi + 1] - cum[lo]
        d2 = (between - (n_c[:, None] + n_c[None, :]) / 2) ** 2
    else:
        raise ValueError(f"level must be nominal, ordinal, interval or ratio, not {level!r}")
    expected = (np.outer(n_c, n_c) * d2).sum()
    if expected == 0:
        return 1.0
    return float(1.0 - (n - 1) * (o * d2).sum() / expected)


# ======================================================================================== rater effects


@dataclass
class RaterEffects:
    """Result of :func:`rater_effects`.

    raters     rater, n_ratings, n_ratees, raw_mean, effect (+ lenient / - strict, in score units), component,
               estimable, reason
    ratees     ratee, n_ratings, raw_mean, calibrated_mean, level (estimated true level), component
    calibrated the input with ``calibrated_score`` = score - effect of its rater
    """

    raters: pd.DataFrame
    ratees: pd.DataFrame
    calibrated: pd.DataFrame


def rater_effects(df: pd.DataFrame, ratee: str, rater: str, score: str, min_links: int = 2) -> RaterEffects:
    """Rater leniency or severity from an additive model fitted jointly over the rater-ratee network.

    score_ij = mu + level_i + effect_j + noise, fitted by least squares (scipy.sparse.linalg.lsqr) on the
    sparse design of all ratings. Effects are identified only within a connected part of the bipartite
    rater-ratee graph (scipy.sparse.csgraph.connected_components): within each part the effects are centred
    to mean zero over its estimable raters, so an effect says how much more leniently a rater scores than
    the other raters of the same part, for the same people. A per-rater mean would confuse a strict
    supervisor of a strong team with a lenient supervisor of a weak team; the joint fit tells them apart
    because the same people are also rated by others (peers). Raters with fewer than ``min_links`` distinct
    ratees, or alone in their part, cannot be told apart from their ratees' levels: ``estimable`` is False,
    the reason is given, and their effect is 0 (no adjustment).
    """
    _require(df, [ratee, rater, score])
    d = df[[ratee, rater, score]].dropna()
    i_codes, i_uniques = pd.factorize(d[ratee], sort=True)
    j_codes, j_uniques = pd.factorize(d[rater], sort=True)
    n_i, n_j, n = len(i_uniques), len(j_uniques), len(d)
    if n_j < 2:
        raise ValueError(f"rater_effects needs at least 2 raters, found {n_j}")
    y = d[score].to_numpy(dtype="float64")
    mu = y.mean()
    rows = np.arange(n)
    design = sparse.csr_matrix((np.ones(2 * n), (np.concatenate([rows, rows]),
                                                 np.concatenate([i_codes, n_i + j_codes]))), shape=(n, n_i + n_j))
    sol = lsqr(design, y - mu, atol=1e-12, btol=1e-12, iter_lim=20 * (n_i + n_j))[0]
    level, effect = sol[:n_i], sol[n_i:]
    graph = sparse.csr_matrix((np.ones(n), (i_codes, n_i + j_codes)), shape=(n_i + n_j, n_i + n_j))
    _, comp = connected_components(graph, directed=False)
    comp_i, comp_j = comp[:n_i], comp[n_i:]
    pairs = pd.DataFrame({"i": i_codes, "j": j_codes}).drop_duplicates()
    n_ratees = np.bincount(pairs["j"], minlength=n_j)
    raters_in_comp = np.bincount(comp_j, minlength=comp.max() + 1)
    estimable = (n_ratees >= min_links) & (raters_in_comp[comp_j] >= 2)
    # centre the effects of each part over its estimable raters; move the shift into the ratees' levels
    shift = np.zeros(comp.max() + 1)
    est_sum = np.bincount(comp_j[estimable], weights=effect[estimable], minlength=len(shift))
    est_n = np.bincount(comp_j[estimable], minlength=len(shift))
    shift[est_n > 0] = est_sum[est_n > 0] / est_n[est_n > 0]
    effect = effect - shift[comp_j]
    level = level + shift[comp_i]
    effect = np.where(estimable, effect, 0.0)
    reason = np.where(n_ratees < min_links, f"rated fewer than {min_links} people",
                      np.where(raters_in_comp[comp_j] < 2, "no other rater rates the same people", ""))

    cnt_j = np.bincount(j_codes, minlength=n_j)
    cnt_i = np.bincount(i_codes, minlength=n_i)
    raw_j = np.bincount(j_codes, weights=y, minlength=n_j) / cnt_j
    raw_i = np.bincount(i_codes, weights=y, minlength=n_i) / cnt_i
    calibrated_score = y - effect[j_codes]
    cal_i = np.bincount(i_codes, weights=calibrated_score, minlength=n_i) / cnt_i
    raters = pd.DataFrame({"rater": np.asarray(j_uniques), "n_ratings": cnt_j, "n_ratees": n_ratees,
                           "raw_mean": raw_j, "effect": effect, "component": comp_j, "estimable": estimable,
                           "reason": reason})
    ratees = pd.DataFrame({"ratee": np.asarray(i_uniques), "n_ratings": cnt_i, "raw_mean": raw_i,
                           "calibrated_mean": cal_i, "level": mu + level, "component": comp_i})
    calibrated = df.loc[d.index].copy()
    calibrated["calibrated_score"] = calibrated_score
    return RaterEffects(raters, ratees, calibrated)

# ===================================================================================== budget solving


@dataclass
class BudgetSolution:
    """The knob value at which the cost of ``evaluate`` meets the budget, and the new policy."""

    policy: Policy
    knob: str
    value: float
    cost: float
    budget: float
    residual: float
    evaluations: int
    note: str


def knob_setter(policy: Policy, knob: str) -> tuple[Callable[[float], Policy], float, tuple[float, float], str]:
    """(set(x) -> Policy, current value, search bracket, description) for a budget knob.

    knobs:
      ``commission_rate``             a multiplier x on every commission rate (tiers, flat rates, 元/万); 1 = now
      ``bonus_pool``                  the bonus pool amount (CNY): bonuses are scaled to add up to it
      ``bonus_curve``                 a multiplier x on every payout of the bonus curve
      ``tier:<product>:<i>``          the upper bound (``upto``) of tier i (0-based) of a tiered product
      any other key path               its value (e.g. ``commission.cap.times_annual_base``), bracket 0 to 10x
    """
    from compkit.review import apply_knob

    if knob == "commission_rate":
        def set_rate(x: float) -> Policy:
            p = policy
            for product in policy.commission.products:
                p = apply_knob(p, f"commission.products[{product.id}]*rate", x)
            return p
        top = min(1.0 / max(r for prod in policy.commission.products for r in prod.tier_table()[1] if r > 0), 20.0)
        return set_rate, 1.0, (0.0, top), "multiplier of every commission rate"
    if knob == "bonus_pool":
        return (lambda x: policy.updated({"bonus.pool": {"amount": float(x)}}), float("nan"), (1.0, 1e12),
                "bonus pool amount (CNY)")
    if knob == "bonus_curve":
        return (lambda x: apply_knob(policy, "bonus.curve*payout", x), 1.0, (0.0, 10.0),
                "multiplier of every payout of the bonus curve")
    if knob.startswith("tier:"):
        _, pid, idx = knob.split(":")
        product = policy.commission.product(pid)
        i = int(idx)
        if product.tiers is None or i >= len(product.tiers) - 1:
            raise CalibrationError(f"knob {knob!r}: product {pid} has no tier {i} with an upper bound")
        lower = product.tiers[i - 1].upto if i > 0 else 0.0
        upper = product.tiers[i + 1].upto if i + 1 < len(product.tiers) - 1 else 100 * product.tiers[i].upto
        path = f"commission.products[{pid}].tiers[{i}].upto"
        return (lambda x: policy.updated({path: float(x)}), product.tiers[i].upto,
                (lower + 1.0, upper - 1.0), f"upper bound of {pid} tier {i + 1} (CNY)")
    current = float(policy.get(knob))
    return (lambda x: policy.updated({knob: float(x)}), current, (0.0, max(10 * current, 1.0)), knob)


def solve_budget(policy: Policy, data: Dataset, budget: float, knob: str = "commission_rate",
                 bracket: tuple[float, float] | None = None) -> BudgetSolution:
    """Find the value of one policy knob at which the total employer cost of ``evaluate`` meets ``budget``.

    f(x) = cost(evaluate(policy with knob = x)) - budget is solved with scipy.optimize.brentq on the bracket
    (default: the knob's natural range); cost is monotone in every knob offered here. Money is rounded per
    person, so cost moves in cent steps: the solution is the one whose cost is nearest the budget, reported with
    its residual (cost - budget, CNY). A bonus pool meets a budget to the cent (it is shared out in whole
    cents). Raises CalibrationError naming the attainable range when no value of the knob can meet the budget.
    Returns the new Policy in ``BudgetSolution.policy``.
    """
    from scipy.optimize import brentq

    setter, current, default_bracket, what = knob_setter(policy, knob)
    lo, hi = bracket if bracket is not None else default_bracket
    calls = {"n": 0}

    def cost(x: float) -> float:
        calls["n"] += 1
        return float(evaluate(setter(x), data).summary["employer_cost"].sum())

    if knob == "bonus_pool":
        # cost is linear in the pool with slope 1: the fixed part is the cost less the bonus
        out = evaluate(setter(1.0e6), data)
        fixed = float(out.summary["employer_cost"].sum() - out.summary["bonus"].sum())
        pool = round(budget - fixed, 2)
        calls["n"] += 1
        if pool <= 0:
            raise CalibrationError(f"no bonus pool can meet the budget {budget:,.2f}: the cost without any bonus is "
                                   f"already {fixed:,.2f}")
        achieved = cost(pool)
        return BudgetSolution(setter(pool), knob, pool, achieved, budget, achieved - budget, calls["n"],
                              f"{what} set to {pool:,.2f}")
    f_lo, f_hi = cost(lo) - budget, cost(hi) - budget
    if f_lo > 0 or f_hi < 0:
        raise CalibrationError(
            f"no value of {what} between {lo:,.6g} and {hi:,.6g} meets the budget {budget:,.2f}: the cost ranges "
            f"from {f_lo + budget:,.2f} to {f_hi + budget:,.2f}. Choose another knob or change the budget.")
    x = brentq(lambda v: cost(v) - budget, lo, hi, xtol=1e-12, rtol=1e-15, maxiter=200)
    achieved = cost(x)
    note = f"{what} = {x:,.6g}"
    if abs(achieved - budget) >= 0.005:
        note += (f"; cost {achieved:,.2f} is the nearest attainable (per-person amounts are rounded to the cent, "
                 f"so cost moves in steps of cents)")
    return BudgetSolution(setter(x), knob, x, achieved, budget, achieved - budget, calls["n"], note)


# ===================================================================================== target setting


def individual_changes(data: Dataset, indicator: str) -> np.ndarray:
    """This year's per-person change of a metric, second half against the first, divided by the median change
    (so market-wide movement is taken out): exp(d) with d = log(H2 / H1) - median log(H2 / H1)."""
    m = data.metrics[data.metrics["indicator"] == indicator]
    half = np.where(m["period"] <= data.periods[len(data.periods) // 2 - 1], "h1", "h2")
    sums = m.assign(_h=half).groupby(["employee_id", "_h"])["actual"].sum().unstack("_h")
    if "h1" not in sums or "h2" not in sums:
        return np.array([1.0])
    ok = (sums["h1"] > 0) & (sums["h2"] > 0)
    d = np.log(sums.loc[ok, "h2"] / sums.loc[ok, "h1"])
    return np.exp(d - d.median()).to_numpy() if len(d) else np.array([1.0])


def propose_targets(policy: Policy, data: Dataset, share_reaching: float = 0.5, growth: float = 0.0,
                    environment: str = "branch") -> pd.DataFrame:
    """Next cycle's targets per person and metric indicator, so that about ``share_reaching`` of managers reach
    100% (challenging yet achievable), adjusted for the market and branch environment.

    For person i and indicator k (higher is better):
      base_ik    = this cycle's actual, aggregated as the indicator says (sum / mean / last)
      env_ik     = median achievement of the person's ``environment`` group (branch) / median achievement of all:
                   below 1 in a tough market. The proposal starts from actuals, so a branch whose targets were too
                   high relative to its market gets targets that follow what its market gave;
                   ``env`` is reported so the analyst can see where the old targets were out of line.
      q_k        = the (1 - share_reaching) quantile of this year's individual changes (see individual_changes):
                   next year's actual is modelled as base x (1 + growth) x change, so P(actual >= target) = share
      target_ik  = base_ik x (1 + growth) x q_k.
    Lower-is-better indicators (inverse curves) use the share-th quantile and divide: target = base / ... so that the
    same share stays at or below it. Columns: employee_id, branch, indicator, actual, target_now, achievement_now,
    environment_factor, target_next, expected_share.
    """
    emp = data.employees.set_index("employee_id")
    rows = []
    for ind in policy.scorecard.indicators:
        if ind.source != "metrics":
            continue
        m = data.metrics[data.metrics["indicator"] == ind.id]
        agg = {"sum": "sum", "mean": "mean", "last": "last"}[ind.aggregate]
        per = m.sort_values("period").groupby("employee_id")[["actual", "target"]].agg(agg)
        per["achievement"] = per["actual"] / per["target"]
        per[environment] = emp.loc[per.index, environment].to_numpy()
        overall = per["achievement"].median()
        env = per.groupby(environment)["achievement"].transform("median") / overall
        changes = individual_changes(data, ind.id)
        inverse = isinstance(policy.indicator_curve(ind), InverseCurve)
        if inverse:
            q = float(np.quantile(1.0 / changes, share_reaching))
            target = per["actual"] / (1 + growth) * q
        else:
            q = float(np.quantile(changes, 1.0 - share_reaching))
            target = per["actual"] * (1 + growth) * q
        rows.append(pd.DataFrame({
            "employee_id": per.index, environment: per[environment].to_numpy(), "indicator": ind.id,
            "actual": per["actual"].to_numpy(), "target_now": per["target"].to_numpy(),
            "achievement_now": per["achievement"].to_numpy(), "environment_factor": env.to_numpy(),
            "target_next": target.to_numpy(), "expected_share": share_reaching}))
    return pd.concat(rows, ignore_index=True)


def calibrate_payout_curve(policy: Policy, composite: ArrayLike, shares: tuple[float, float, float] = (0.9, 0.5, 0.1),
                           payouts: tuple[float, float, float] = (0.5, 1.0, 1.5)) -> Policy:
    """A bonus curve whose threshold, target and maximum are reached by the chosen shares of managers.

    threshold score = the (1 - 0.9) quantile of the composite (90% reach it), target = the median (50%),
    maximum = the 0.9 quantile (10% reach it); payouts at those points as given (threshold about 50% of target,
    maximum 150%: REFERENCES.md "Payout curves"); below the threshold nothing is paid (a point 0.01 below it
    pays 0). Returns a new Policy with ``bonus.curve`` replaced (basis composite).
    """
    c = np.asarray(composite, dtype="float64")
    c = c[~np.isnan(c)]
    t, m, x = (round(float(np.quantile(c, 1.0 - s)), 2) for s in shares)
    if not t < m < x:
        raise CalibrationError(f"the composite scores do not spread enough to place threshold, target and maximum "
                               f"apart (found {t}, {m}, {x})")
    curve = [[round(t - 0.01, 2), 0.0], [t, payouts[0]], [m, payouts[1]], [x, payouts[2]]]
    return policy.updated({"bonus.basis": "composite", "bonus.curve": curve})
