"""Calibration: making ratings comparable across raters, and tuning the policy to its budget and targets.

Sections (each starts with a ``# ====`` banner):
  reliability      icc (Shrout & Fleiss 1979; McGraw & Wong 1996), krippendorff_alpha (Krippendorff 2011)
  rater effects    rater_effects -> RaterEffects (defined in compkit.raters, which the scorecard uses when the
                   policy calibrates 360 ratings; re-exported here)
  budget solving   solve_budget: the value of one policy knob at which the cost of evaluate meets a budget
  target setting   propose_targets (challenging yet achievable, adjusted for the branch environment; defined in
                   compkit.targets, which breaks unit targets down with it; re-exported here) and
                   calibrate_payout_curve (threshold / target / maximum reached by chosen shares)
See REFERENCES.md "Rater reliability and calibration". The reliability and rater-effect functions take long
tables (one row per rating) and raise ValueError naming the column or the condition when the input cannot be used.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import sparse, stats

from compkit import knobs as kn
from compkit import parallel
from compkit.data import Dataset
from compkit.engine import Kept, evaluate, same_commission_lines
from compkit.errors import CompkitError
from compkit.i18n import M_
from compkit.knobs import Knob
from compkit.policy import Policy
from compkit.raters import DENSE_MAX_RATERS, RaterEffects, _no_duplicates, _numeric, _require, rater_effects
from compkit.targets import individual_changes, propose_targets  # target setting lives in compkit.targets

__all__ = ["CalibrationError", "icc", "krippendorff_alpha", "krippendorff_alphas", "rater_effects", "RaterEffects",
           "DENSE_MAX_RATERS", "BudgetSolution", "knob_setter", "solve_budget", "employer_cost", "bracket_policies",
           "individual_changes", "propose_targets", "calibrate_payout_curve"]


class CalibrationError(CompkitError):
    """A calibration that cannot be done with these inputs (said why)."""


# ========================================================================================== reliability


ICC_DESCRIPTIONS = {
    "ICC1": "single rater, one-way random",
    "ICC2": "single rater, two-way random, absolute agreement",
    "ICC3": "single rater, two-way mixed, consistency",
    "ICC1k": "mean of {k} raters, one-way random",
    "ICC2k": "mean of {k} raters, two-way random, absolute agreement",
    "ICC3k": "mean of {k} raters, two-way mixed, consistency",
}


def icc(df: pd.DataFrame, target: str, rater: str, score: str, confidence: float = 0.95) -> pd.DataFrame:
    """Intraclass correlations ICC1, ICC2, ICC3 (one rater) and ICC1k, ICC2k, ICC3k (mean of the k raters).

    Long input, one row per target x rater (a repeated pair raises ValueError). The design must be complete:
    **a target without a (non-missing) score from every rater is dropped**; how many were dropped is in
    ``result.attrs["dropped_targets"]`` (0 when the design was complete). Raises ValueError when fewer than 2
    raters or fewer than 2 complete targets remain.

    From the n x k table x (n targets, k raters), grand mean m, target means r_i, rater means c_j:
      MSB = k sum (r_i - m)^2 / (n - 1)                     between targets
      MSJ = n sum (c_j - m)^2 / (k - 1)                     between raters (judges)
      MSW = sum (x_ij - r_i)^2 / (n (k - 1))                within targets
      MSE = (SSW - SSJ) / ((n - 1)(k - 1))                  residual of the two-way model
      ICC1  = (MSB - MSW) / (MSB + (k-1) MSW)                one-way random         (Shrout-Fleiss ICC(1,1))
      ICC2  = (MSB - MSE) / (MSB + (k-1) MSE + k (MSJ - MSE) / n)   absolute agreement  (ICC(2,1) = ICC(A,1))
      ICC3  = (MSB - MSE) / (MSB + (k-1) MSE)                consistency            (ICC(3,1) = ICC(C,1))
      ICC1k = (MSB - MSW) / MSB;  ICC2k = (MSB - MSE) / (MSB + (MSJ - MSE) / n);  ICC3k = (MSB - MSE) / MSB
    F tests: ICC1/ICC1k F = MSB / MSW on (n-1, n(k-1)) df; the others F = MSB / MSE on (n-1, (n-1)(k-1)) df;
    pval = P(F' > F). Confidence intervals at ``confidence`` (two-sided, a = 1 - confidence), as in Shrout &
    Fleiss (1979), McGraw & Wong (1996), R psych::ICC and pingouin.intraclass_corr:
      ICC1, ICC3: FL = F / F_{1-a/2}(df1, df2), FU = F x F_{1-a/2}(df2, df1); single: [(FL-1)/(FL+k-1),
                  (FU-1)/(FU+k-1)]; k-rater: [1 - 1/FL, 1 - 1/FU]
      ICC2: Satterthwaite df v = (A MSJ + B MSE)^2 / ((A MSJ)^2/(k-1) + (B MSE)^2/((n-1)(k-1))) with
            A = k ICC2 / (n (1 - ICC2)), B = 1 + k ICC2 (n-1) / (n (1 - ICC2)); F* = F_{1-a/2}(n-1, v),
            F** = F_{1-a/2}(v, n-1); low = n (MSB - F* MSE) / (F* (k MSJ + (kn - k - n) MSE) + n MSB),
            high = n (F** MSB - MSE) / (k MSJ + (kn - k - n) MSE + n F** MSB); k-rater by Spearman-Brown
            L k / (1 + (k-1) L).
    The ICCs are unitless (a share of variance); F is a ratio of mean squares; df are counts.

    Returns one row per type, columns: type, description, icc, F, df1, df2, pval, ci_low, ci_high;
    ``attrs``: dropped_targets, mean_squares (MSB, MSJ, MSE, MSW, n, k).
    """
    _require(df, [target, rater, score])
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")
    d = df[[target, rater, score]]
    _no_duplicates(d, [target, rater], "icc")
    d = d.assign(**{score: _numeric(d[score], score)})
    table = d.pivot(index=target, columns=rater, values=score)
    if table.shape[1] < 2:
        raise ValueError(f"icc needs at least 2 raters, found {table.shape[1]}")
    complete = table.dropna()
    dropped = len(table) - len(complete)
    x = complete.to_numpy(dtype="float64")
    n, k = x.shape
    if n < 2:
        raise ValueError(f"icc needs at least 2 targets rated by all {k} raters, found {n} ({dropped} targets "
                         f"lacking a score from some rater were dropped)")
    grand = x.mean()
    row = x.mean(axis=1)
    col = x.mean(axis=0)
    ssb = k * ((row - grand) ** 2).sum()
    ssj = n * ((col - grand) ** 2).sum()
    ssw = ((x - row[:, None]) ** 2).sum()
    sse = max(ssw - ssj, 0.0)
    msb, msj = ssb / (n - 1), ssj / (k - 1)
    msw, mse = ssw / (n * (k - 1)), sse / ((n - 1) * (k - 1))
    q = stats.f.ppf(1 - (1 - confidence) / 2, [n - 1, n * (k - 1), n - 1, (n - 1) * (k - 1)],
                    [n * (k - 1), n - 1, (n - 1) * (k - 1), n - 1])

    with np.errstate(divide="ignore", invalid="ignore"):
        icc1 = (msb - msw) / (msb + (k - 1) * msw)
        icc2 = (msb - mse) / (msb + (k - 1) * mse + k * (msj - mse) / n)
        icc3 = (msb - mse) / (msb + (k - 1) * mse)
        icc1k = (msb - msw) / msb
        icc2k = (msb - mse) / (msb + (msj - mse) / n)
        icc3k = (msb - mse) / msb

        d1, d2_1, d2_3 = n - 1, n * (k - 1), (n - 1) * (k - 1)
        f1, f3 = msb / msw, msb / mse
        fl1, fu1 = f1 / q[0], f1 * q[1]
        fl3, fu3 = f3 / q[2], f3 * q[3]
        # ICC2: Satterthwaite degrees of freedom (McGraw & Wong 1996, table 7)
        a_ = k * icc2 / (n * (1 - icc2))
        b_ = 1 + k * icc2 * (n - 1) / (n * (1 - icc2))
        v = (a_ * msj + b_ * mse) ** 2 / ((a_ * msj) ** 2 / (k - 1) + (b_ * mse) ** 2 / d2_3)
        fs, fss = stats.f.ppf(1 - (1 - confidence) / 2, [n - 1, v], [v, n - 1])
        l2 = n * (msb - fs * mse) / (fs * (k * msj + (k * n - k - n) * mse) + n * msb)
        u2 = n * (fss * msb - mse) / (k * msj + (k * n - k - n) * mse + n * fss * msb)
        rows = [
            ("ICC1", icc1, f1, d1, d2_1, (fl1 - 1) / (fl1 + k - 1), (fu1 - 1) / (fu1 + k - 1)),
            ("ICC2", icc2, f3, d1, d2_3, l2, u2),
            ("ICC3", icc3, f3, d1, d2_3, (fl3 - 1) / (fl3 + k - 1), (fu3 - 1) / (fu3 + k - 1)),
            ("ICC1k", icc1k, f1, d1, d2_1, 1 - 1 / fl1, 1 - 1 / fu1),
            ("ICC2k", icc2k, f3, d1, d2_3, l2 * k / (1 + l2 * (k - 1)), u2 * k / (1 + u2 * (k - 1))),
            ("ICC3k", icc3k, f3, d1, d2_3, 1 - 1 / fl3, 1 - 1 / fu3),
        ]
    out = pd.DataFrame(rows, columns=["type", "icc", "F", "df1", "df2", "ci_low", "ci_high"])
    out.insert(1, "description", [ICC_DESCRIPTIONS[t].format(k=k) for t in out["type"]])
    out.insert(6, "pval", stats.f.sf(out["F"], out["df1"], out["df2"]))
    out.attrs["dropped_targets"] = int(dropped)
    out.attrs["mean_squares"] = {"MSB": msb, "MSJ": msj, "MSE": mse, "MSW": msw, "n": n, "k": k}
    return out


KRIPPENDORFF_LEVELS = ("nominal", "ordinal", "interval", "ratio")


def _delta2(level: str, values: np.ndarray, n_c: np.ndarray) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The squared difference function of ``level`` on value indices a, b (Krippendorff 2011, section C)."""
    if level == "nominal":
        return lambda a, b: (a != b).astype("float64")
    if level == "ordinal":
        cum = np.concatenate([[0.0], np.cumsum(n_c)])  # cum[i] = n_0 + ... + n_{i-1}

        def ordinal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            lo, hi = np.minimum(a, b), np.maximum(a, b)
            return (cum[hi + 1] - cum[lo] - (n_c[a] + n_c[b]) / 2) ** 2
        return ordinal
    c = values.astype("float64")
    if level == "interval":
        return lambda a, b: (c[a] - c[b]) ** 2

    def ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        s = c[a] + c[b]
        return np.divide(c[a] - c[b], s, out=np.zeros_like(s), where=s != 0) ** 2
    return ratio


def krippendorff_alpha(df: pd.DataFrame, unit: str, rater: str, value: str, level: str = "interval") -> float:
    """Krippendorff's alpha = 1 - D_o / D_e, tolerating missing ratings (Krippendorff 2011).

    Long input, one row per unit x rater (a repeated pair raises ValueError; a missing value is a row with NaN
    or no row at all). Only units with m_u >= 2 values are pairable; the others are left out, as the definition
    says. The coincidence matrix counts, over pairable units, every ordered pair of values from different raters
    weighted by 1 / (m_u - 1):
      o_ck = sum_u (#c in u)(#k in u  - [c == k]) / (m_u - 1);   n_c = sum_k o_ck;   n = sum_c n_c
      alpha = 1 - (n - 1) sum_ck o_ck d2_ck / sum_ck n_c n_k d2_ck
    with the squared difference d2 of ``level``:
      nominal  [c != k]
      ordinal  (sum_{g between c and k} n_g - (n_c + n_k) / 2)^2     (ranks of the values, not their size)
      interval (c - k)^2
      ratio    ((c - k) / (c + k))^2                                  (values must be >= 0)
    Alpha is unitless: 1 perfect agreement, 0 agreement at chance level, below 0 systematic disagreement.
    The coincidence matrix is built sparse (units x values counts, C^T W C), so continuous scores with many
    distinct values stay cheap; D_e is summed in blocks of the value x value grid.
    Raises ValueError for an unknown level, fewer than 2 raters, no pairable unit, or no variation among the
    pairable values (alpha is then undefined).
    """
    return krippendorff_alphas(df, unit, rater, value, (level,))[level]


def krippendorff_alphas(df: pd.DataFrame, unit: str, rater: str, value: str,
                        levels: Sequence[str] = ("ordinal", "interval")) -> dict[str, float]:
    """:func:`krippendorff_alpha` at each of ``levels`` ({level: alpha}), the checks and the pairable units of the
    table worked out once for all of them (the same figures as one call per level)."""
    for level in levels:
        if level not in KRIPPENDORFF_LEVELS:
            raise ValueError(f"level must be one of {KRIPPENDORFF_LEVELS}, not {level!r}")
    _require(df, [unit, rater, value])
    d = df[[unit, rater, value]]
    d = d[d[value].notna()]
    _no_duplicates(d, [unit, rater], "krippendorff_alpha")
    n_raters = d[rater].nunique()
    if n_raters < 2:
        raise ValueError(f"krippendorff_alpha needs at least 2 raters, found {n_raters}")
    u_codes, _ = pd.factorize(d[unit])
    m_u = np.bincount(u_codes)
    keep = m_u[u_codes] >= 2
    if not keep.any():
        raise ValueError("krippendorff_alpha found no pairable unit (a unit with values from at least 2 raters)")
    u_codes = pd.factorize(u_codes[keep])[0]
    numeric = _numeric(d[value], value)[keep] if any(lv != "nominal" for lv in levels) else None
    return {level: _alpha(u_codes, d[value].to_numpy()[keep] if level == "nominal" else numeric, level, value)
            for level in levels}


def _alpha(u_codes: np.ndarray, v: np.ndarray, level: str, value: str) -> float:
    """Krippendorff's alpha of the pairable values ``v`` with their units' codes ``u_codes`` (0..units-1)."""
    if level == "ratio" and (v < 0).any():
        raise ValueError(f"ratio alpha needs values >= 0; column {value!r} has negative values")
    v_codes, values = pd.factorize(v, sort=True)
    values = np.asarray(values)
    n_values = len(values)
    if n_values < 2:
        raise ValueError(f"all pairable values are {values[0]!r}: with no variation alpha is undefined")
    m = np.bincount(u_codes).astype("float64")
    counts = sparse.csr_matrix((np.ones(len(v_codes)), (u_codes, v_codes)), shape=(len(m), n_values))
    counts.sum_duplicates()
    weighted = sparse.diags(1.0 / (m - 1)) @ counts
    o = (weighted.T @ counts).tocoo()
    # take out each value paired with itself: sum_u (#c in u) / (m_u - 1) on the diagonal
    o = (o - sparse.diags(np.asarray(weighted.sum(axis=0)).ravel())).tocoo()
    o.eliminate_zeros()
    n_c = np.asarray(o.sum(axis=1)).ravel()
    n = n_c.sum()
    delta2 = _delta2(level, values, n_c)
    observed = float((o.data * delta2(o.row, o.col)).sum())
    idx = np.arange(n_values)
    block = max(1, 4_000_000 // n_values)
    expected = 0.0
    for start in range(0, n_values, block):  # blocks of the value grid, not a loop over ratings
        a = idx[start:start + block]
        expected += float((n_c[a, None] * n_c[None, :] * delta2(a[:, None], idx[None, :])).sum())
    return float(1.0 - (n - 1) * observed / expected)


# ======================================================================================== rater effects
# compkit.raters: rater_effects, RaterEffects, DENSE_MAX_RATERS


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


def knob_setter(policy: Policy, knob: str | Knob) -> tuple[Callable[[float], Policy], float, tuple[float, float], str]:
    """(set(x) -> Policy, current value, search bracket, description) for a budget knob.

    ``knob``: a :class:`compkit.knobs.Knob` (its ``low`` and ``high`` as the bracket when given), a policy
    path (:mod:`compkit.knobs` syntax; e.g. ``commission.products[insurance].tiers[0].upto`` or
    ``commission.cap.times_annual_base``, bracket 0 to 10x the current value; an ``upto`` is kept between its
    neighbours), or one of the named knobs:
      ``commission_rate``   a multiplier x on every commission rate (tiers, flat rates, 元/万); 1 = now
      ``bonus_pool``        the bonus pool amount (CNY): bonuses are scaled to add up to it
      ``bonus_curve``       a multiplier x on every payout of the bonus curve
    """
    if knob == "commission_rate":
        top = min(1.0 / max(r for prod in policy.commission.products for r in prod.tier_table()[1] if r > 0), 20.0)
        knob = kn.commission_rates(policy, low=0.0, high=top, name="multiplier of every commission rate")
    elif knob == "bonus_pool":
        return (lambda x: policy.updated({"bonus.pool": {"amount": float(x)}}), float("nan"), (1.0, 1e12),
                "bonus pool amount (CNY)")
    elif knob == "bonus_curve":
        knob = kn.bonus_curve(policy, low=0.0, high=10.0, name="multiplier of every payout of the bonus curve")
    elif isinstance(knob, str):
        m = re.fullmatch(r"commission\.products\[([^\]]+)\]\.tiers\[(\d+)\]\.upto", knob)
        if m:
            pid, i = m.group(1), int(m.group(2))
            product = policy.commission.product(pid)
            if product.tiers is None or i >= len(product.tiers) - 1:
                raise CalibrationError(M_("knob {knob}: product {product} has no tier {i} with an upper bound",
                                          knob=repr(knob), product=pid, i=i))
            lower = product.tiers[i - 1].upto if i > 0 else 0.0
            upper = product.tiers[i + 1].upto if i + 1 < len(product.tiers) - 1 else 100 * product.tiers[i].upto
            knob = kn.knob(knob, low=lower + 1.0, high=upper - 1.0, name=f"upper bound of {pid} tier {i + 1} (CNY)")
        else:
            current = float(policy.get(knob))
            knob = kn.knob(knob, low=0.0, high=max(10 * current, 1.0))
    k = knob
    return (lambda x: k.apply(policy, x)), k.current(policy), (k.low, k.high), k.name


def knob_costs(policy: Policy, data: Dataset, knob: str | Knob, values: Sequence[float],
               processes: int | None = 1, kept: Kept | None = None,
               known: Mapping[str, float] | None = None) -> list[float]:
    """The total employer cost of ``evaluate`` with the knob at each of ``values`` (CNY, in their order): one
    evaluation each, ``processes`` at a time in forked processes (:func:`compkit.parallel.fork_map`; None:
    every core). ``kept`` (:class:`compkit.engine.Kept`; default a new one, which lets the commission lines go when
    the knob changes them): the stages a knob of the commission or the bonus leaves alone (the scorecard, the
    split of shared deals, the salary review) are worked out by the first evaluation and taken back by the others
    in the same process (the same costs, bit for bit). ``known``: costs already worked out, by the policy's
    fingerprint (:func:`compkit.outcome_store.kept_costs`: those ``compkit review`` works out before the
    notebooks); a value whose policy is among them is not evaluated again."""
    setter = knob_setter(policy, knob)[0]
    values = list(values)
    prints = {x: setter(x).fingerprint() for x in values} if known else {}  # a fingerprint costs 0.2 s: once
    todo = [x for x in values if prints.get(x) not in (known or {})]
    kept = _kept_for(setter, todo) if kept is None else kept
    costs = dict(zip(todo, parallel.fork_map(lambda x: _cost(setter(x), data, kept), todo, processes)))
    return [costs[x] if x in costs else known[prints[x]] for x in values]


class _KeptWithoutLines(Kept):
    """A :class:`compkit.engine.Kept` that lets the commission lines go: a knob that changes the commission's rates
    or tiers changes every line, so keeping the first evaluation's lines would only hold memory."""

    def lines_fit(self, policy: Policy) -> bool:
        return False


def _kept_for(setter: Callable[[float], Policy], values: Sequence[float]) -> Kept:
    """The Kept for evaluating a knob at ``values``: one that keeps the commission lines when the knob leaves them
    as they are (the bonus knobs, the cap and the gate), else one without them."""
    if len(values) >= 2 and not same_commission_lines(setter(values[0]), setter(values[-1])):
        return _KeptWithoutLines()
    return Kept()


def employer_cost(policy: Policy, data: Dataset, kept: Kept | None = None) -> float:
    """The total employer cost of ``evaluate(policy, data, kept=kept)`` (CNY): what the budget solve compares
    with the budget."""
    # the summary alone (the commission table, net pay and tax, compliance and leavers left out): its employer
    # cost is that of the full evaluation, bit for bit (engine.evaluate's ``tables``)
    cost = float(evaluate(policy, data, kept=kept, tables=("summary",)).summary["employer_cost"].sum())
    without_unused_lines(kept)
    return cost


def without_unused_lines(kept: Kept | None) -> None:
    """Let go of the commission lines a :class:`compkit.engine.Kept` of :func:`bracket_and_kept` (or of a knob
    that changes the lines) was filled with: no other setting of the knob takes them back."""
    if isinstance(kept, _KeptWithoutLines):
        kept.stages.pop("lines", None)


_cost = employer_cost


def bracket_policies(policy: Policy, knob: str | Knob = "commission_rate") -> list[Policy]:
    """The policies at the two ends of ``knob``'s search bracket (:func:`knob_setter`), which
    :func:`solve_budget` evaluates first whatever the budget: ``compkit review`` works their costs out before the
    notebooks, on the data it has in memory (see :func:`knob_costs`' ``known``)."""
    return bracket_and_kept(policy, knob)[0]


def bracket_and_kept(policy: Policy, knob: str | Knob = "commission_rate") -> tuple[list[Policy], Kept]:
    """The policies at the two ends of ``knob``'s search bracket (:func:`bracket_policies`) and an empty
    :class:`compkit.engine.Kept` for them, as :func:`solve_budget` uses: ``evaluate(policy, data, kept=kept)``
    fills it with the stages the knob leaves alone, then :func:`without_unused_lines`, then
    ``employer_cost(end, data, kept)`` of each end takes them back (the same costs, bit for bit, as evaluations
    of their own)."""
    setter, _, (lo, hi), _ = knob_setter(policy, knob)
    return [setter(lo), setter(hi)], _kept_for(setter, [lo, hi])


def solve_budget(policy: Policy, data: Dataset, budget: float, knob: str = "commission_rate",
                 bracket: tuple[float, float] | None = None, processes: int | None = 1,
                 known: Mapping[str, float] | None = None) -> BudgetSolution:
    """Find the value of one policy knob at which the total employer cost of ``evaluate`` meets ``budget``.

    f(x) = cost(evaluate(policy with knob = x)) - budget is solved with scipy.optimize.brentq on the bracket
    (default: the knob's natural range); cost is monotone in every knob offered here. Money is rounded per
    person, so cost moves in cent steps: the solution is the one whose cost is nearest the budget (of the costs
    just below and just above the step that crosses it), reported with its residual (cost - budget, CNY). A
    bonus pool meets a budget to the cent (it is shared out in whole cents). Raises CalibrationError naming the
    attainable range when no value of the knob can meet the budget.
    Returns the new Policy in ``BudgetSolution.policy``. ``processes``: the two ends of the bracket are
    evaluated at the same time in forked processes (:func:`knob_costs`; the same costs). ``known``: costs
    already worked out, by the policy's fingerprint (:func:`knob_costs`); the same solution.
    """
    from scipy.optimize import brentq

    setter, current, default_bracket, what = knob_setter(policy, knob)
    lo, hi = bracket if bracket is not None else default_bracket
    calls = {"n": 0}
    # the scorecard and what else a knob of the commission or the bonus leaves alone, worked out once
    kept = _kept_for(setter, [lo, hi])

    worked_out: dict[float, float] = {}  # the bracket's ends, which brentq asks for again: not evaluated twice
    others: dict[str, float] = dict(known or {})  # known costs not yet taken (the ends' taken below)

    def cost(x: float) -> float:
        calls["n"] += 1  # every cost the solve asks for, as before (the solution's ``evaluations``)
        if x not in worked_out:
            p = setter(x)
            found = others.get(p.fingerprint()) if others else None
            worked_out[x] = found if found is not None else _cost(p, data, kept)
        return worked_out[x]

    if knob == "bonus_pool":
        # cost is linear in the pool with slope 1: the fixed part is the cost less the bonus
        out = evaluate(setter(1.0e6), data, kept=kept)
        fixed = float(out.summary["employer_cost"].sum() - out.summary["bonus"].sum())
        pool = round(budget - fixed, 2)
        calls["n"] += 1
        if pool <= 0:
            raise CalibrationError(M_("no bonus pool can meet the budget {budget}: the cost without any bonus is "
                                      "already {fixed}", budget=f"{budget:,.2f}", fixed=f"{fixed:,.2f}"))
        achieved = cost(pool)
        return BudgetSolution(setter(pool), knob, pool, achieved, budget, achieved - budget, calls["n"],
                              f"{what} set to {pool:,.2f}")
    c_lo, c_hi = knob_costs(policy, data, knob, [lo, hi], processes, kept, known)
    worked_out.update({lo: c_lo, hi: c_hi})
    # the known costs other than the ends' (compkit review keeps the ends' alone): brentq's other policies are
    # looked up among them only when there are any (a fingerprint of a new policy costs 0.1-0.2 s)
    ends = {setter(lo).fingerprint(), setter(hi).fingerprint()} if known else set()
    others = {k: v for k, v in (known or {}).items() if k not in ends}
    calls["n"] += 2
    f_lo, f_hi = c_lo - budget, c_hi - budget
    if f_lo > 0 or f_hi < 0:
        raise CalibrationError(M_(
            "no value of {what} between {lo} and {hi} meets the budget {budget}: the cost ranges from {low_cost} to "
            "{high_cost}. Choose another knob or change the budget.", what=what, lo=f"{lo:,.6g}", hi=f"{hi:,.6g}",
            budget=f"{budget:,.2f}", low_cost=f"{f_lo + budget:,.2f}", high_cost=f"{f_hi + budget:,.2f}"))
    x = brentq(lambda v: cost(v) - budget, lo, hi, xtol=1e-12, rtol=1e-15, maxiter=200)
    achieved = cost(x)
    if abs(achieved - budget) >= 0.005:
        # cost is a step function of the knob: brentq stops within 1e-12 of the step that crosses the budget, on
        # either side of it; the cost just below and just above the step are the two nearest attainable ones
        step = 1e-11 * max(1.0, abs(x))
        for other in (max(lo, x - step), min(hi, x + step)):
            c = cost(other)
            if abs(c - budget) < abs(achieved - budget):
                x, achieved = other, c
    note = f"{what} = {x:,.6g}"
    if abs(achieved - budget) >= 0.005:
        note += (f"; cost {achieved:,.2f} is the nearest attainable (per-person amounts are rounded to the cent, "
                 f"so cost moves in steps of cents)")
    return BudgetSolution(setter(x), knob, x, achieved, budget, achieved - budget, calls["n"], note)


# ===================================================================================== target setting


#: the steepest a calibrated payout curve may rise by default: 0.05 of the target bonus per composite point (the
#: bundled 2025 policy's steepest segment, 60 -> 70 paying 0 -> 50%): a manager one point higher never earns more
#: than 5% of the target bonus more
MAX_PAYOUT_SLOPE = 0.05


@dataclass
class PayoutCurveFit:
    """The calibrated curve's points and how far the constraints moved them (see calibrate_payout_curve)."""

    points: list[tuple[float, float]]
    quantiles: tuple[float, float, float]
    slopes: list[float]
    max_slope: float | None
    min_slope: float | None


def fit_payout_curve(composite: ArrayLike, shares: tuple[float, float, float] = (0.9, 0.5, 0.1),
                     payouts: tuple[float, float, float] = (0.5, 1.0, 1.5), *,
                     max_slope: float | None = MAX_PAYOUT_SLOPE, min_slope: float | None = None,
                     step: float = 0.01) -> PayoutCurveFit:
    """The points of a payout curve (composite score -> payout as a share of the target bonus) placed as near as
    the slope limits allow to the score quantiles reached by the chosen shares of managers.

    Unknowns: the scores s0 < s1 < s2 < s3 of the points (s0, 0), (s1, p1), (s2, p2), (s3, p3), where p = payouts
    and q_k = the (1 - shares[k]) quantile of the composite (90% / 50% / 10% reach threshold, target, maximum).
    scipy.optimize (lsq_linear, bounded-variable least squares on the first point and the gaps) solves
        minimise   sum_k (s_k - q_k)^2  +  1e-6 (s0 - (q1 - step))^2          k = 1..3
        subject to s_k - s_{k-1} >= (p_k - p_{k-1}) / max_slope                 (no cliff: a maximum slope)
                   s_k - s_{k-1} <= (p_k - p_{k-1}) / min_slope                 (no plateau: a minimum slope)
                   s_k - s_{k-1} >= step                                       (the points stay in order)
    Slopes are in payout (share of the target bonus) per composite point; a maximum slope m is the same as a
    maximum jump of m x step between two scores ``step`` apart. Without limits (max_slope=None) the zero point
    sits ``step`` below the threshold, a cliff of p1 within one step. The points are then rounded to ``step``
    (the zero point down, the others to nearest, moved apart where rounding would break a limit).
    Raises CalibrationError when the scores do not spread enough or min_slope > max_slope.
    """
    from scipy.optimize import lsq_linear

    c = np.asarray(composite, dtype="float64")
    c = c[~np.isnan(c)]
    if len(c) == 0:
        raise CalibrationError(M_("no composite scores to calibrate the payout curve on"))
    q = np.array([float(np.quantile(c, 1.0 - s)) for s in shares])
    if not q[0] < q[1] < q[2]:
        raise CalibrationError(M_("the composite scores do not spread enough to place threshold, target and "
                                  "maximum apart (found {found})", found=", ".join(f"{v:.2f}" for v in q)))
    if max_slope is not None and max_slope <= 0:
        raise CalibrationError(M_("max_slope must be positive, not {max_slope}", max_slope=max_slope))
    if min_slope is not None and max_slope is not None and min_slope > max_slope:
        raise CalibrationError(M_("min_slope {min_slope} is above max_slope {max_slope}: no curve can meet both",
                                  min_slope=min_slope, max_slope=max_slope))
    p = np.concatenate([[0.0], np.asarray(payouts, dtype="float64")])
    dp = np.diff(p)
    if (dp <= 0).any():
        raise CalibrationError(M_("payouts must rise from 0: {payouts}", payouts=list(p)))
    lo_gap = np.maximum(dp / max_slope if max_slope is not None else np.zeros(3), step)
    hi_gap = dp / min_slope if min_slope else np.full(3, np.inf)
    if (hi_gap < lo_gap).any():
        raise CalibrationError(M_("min_slope {min_slope} leaves no room between the points (payout steps {steps})",
                                  min_slope=min_slope, steps=list(dp)))
    goal = np.concatenate([[q[0] - step], q])
    weight = np.array([1e-6, 1.0, 1.0, 1.0])
    # unknowns x = (s1, g0, g1, g2) with the gaps g_k = s_{k+1} - s_k boxed in [lo_gap, hi_gap]: the constraints
    # become bounds and the programme a bounded linear least-squares problem (scipy.optimize.lsq_linear, BVLS)
    design = np.array([[1.0, -1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [1.0, 0.0, 1.0, 0.0], [1.0, 0.0, 1.0, 1.0]])
    w = np.sqrt(weight)[:, None]
    lower = np.concatenate([[-np.inf], lo_gap])
    upper = np.concatenate([[np.inf], hi_gap])
    res = lsq_linear(design * w, goal * w.ravel(), bounds=(lower, upper), method="bvls", tol=1e-12)
    if not res.success:
        raise CalibrationError(M_("the payout curve could not be fitted within the slope limits: {reason}",
                                  reason=res.message))
    s = design @ res.x
    # round to the step: the threshold, target and maximum to nearest, each gap kept within its limits
    need_lo = np.ceil(lo_gap / step - 1e-9) * step
    need_hi = np.where(np.isfinite(hi_gap), np.floor(np.where(np.isfinite(hi_gap), hi_gap, 0) / step + 1e-9) * step,
                       np.inf)
    r = np.round(s / step) * step
    r[0] = np.floor(s[0] / step + 1e-9) * step
    r[0] = r[1] - np.clip(r[1] - r[0], need_lo[0], need_hi[0])
    for k in (2, 3):
        r[k] = r[k - 1] + np.clip(r[k] - r[k - 1], need_lo[k - 1], need_hi[k - 1])
    r = np.round(r, 10)
    slopes = list(dp / np.diff(r))
    if min_slope and min(slopes) < min_slope - 1e-9:
        raise CalibrationError(M_("rounding the payout curve to {step} broke the minimum slope {min_slope}",
                                  step=step, min_slope=min_slope))
    points = [(round(float(x), 2), float(y)) for x, y in zip(r, p)]
    return PayoutCurveFit(points, tuple(float(v) for v in q), [float(v) for v in slopes], max_slope, min_slope)


def calibrate_payout_curve(policy: Policy, composite: ArrayLike, shares: tuple[float, float, float] = (0.9, 0.5, 0.1),
                           payouts: tuple[float, float, float] = (0.5, 1.0, 1.5), *,
                           max_slope: float | None = MAX_PAYOUT_SLOPE, min_slope: float | None = None) -> Policy:
    """A bonus curve whose threshold, target and maximum are reached by the chosen shares of managers, with no
    cliff.

    threshold score = the (1 - 0.9) quantile of the composite (90% reach it), target = the median (50%),
    maximum = the 0.9 quantile (10% reach it); payouts at those points as given (threshold about 50% of target,
    maximum 150%: REFERENCES.md "Payout curves"). No cliff: the curve never rises faster than ``max_slope``
    (payout as a share of the target bonus per composite point; default :data:`MAX_PAYOUT_SLOPE` = 0.05, so the
    first 50% is paid over a ramp of 10 points below the threshold instead of all at once), and, when
    ``min_slope`` is given, never slower (no plateau). The points are placed by the constrained least-squares
    fit of :func:`fit_payout_curve` (scipy.optimize); ``max_slope=None`` gives the unconstrained curve (nothing
    below the threshold, a point 0.01 below it pays 0). Returns a new Policy with ``bonus.curve`` replaced (basis
    composite).
    """
    fit = fit_payout_curve(composite, shares, payouts, max_slope=max_slope, min_slope=min_slope)
    return policy.updated({"bonus.basis": "composite", "bonus.curve": [list(pt) for pt in fit.points]})
