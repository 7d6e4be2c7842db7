"""Rater effects: how leniently or strictly each rater scores, from the whole rater-ratee network, and the
rater-effect adjustment of 360 ratings that the scorecard applies when the policy asks for it
(``scorecard.raters.calibrate: rater_effects``).

A calculator module (it imports only numpy, pandas and scipy): the scorecard (compkit.scoring) adjusts
ratings with :func:`adjust_ratings`; the calibration report (compkit.calibration) shows :func:`rater_effects`.
See REFERENCES.md "Rater reliability and calibration".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from compkit._arrays import cat_codes

if TYPE_CHECKING:
    from scipy import sparse

# scipy and threadpoolctl are imported where the fit uses them, not with the module: the scorecard imports this
# module, and a policy without rater calibration (most) evaluates without them (about 20 MB of resident memory and
# 0.1 s of import time less for every command that evaluates)


def _require(df: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"missing column(s) {missing}; the table has {list(df.columns)}")


def _numeric(values: pd.Series, column: str) -> np.ndarray:
    """The column as float64, or ValueError naming it."""
    try:
        return pd.to_numeric(values, errors="raise").to_numpy(dtype="float64")
    except (TypeError, ValueError) as err:
        raise ValueError(f"column {column!r} must be numeric: {err}") from None


def _no_duplicates(df: pd.DataFrame, by: list[str], what: str) -> None:
    dup = df.duplicated(by, keep=False)
    if dup.any():
        examples = df.loc[dup, by].drop_duplicates().head(5).to_records(index=False).tolist()
        raise ValueError(f"{what} needs at most one rating per {' x '.join(by)}; {int(dup.sum())} rows repeat a pair, "
                         f"e.g. {examples}. Average or pick them before calling.")


def rater_keys(ratings: pd.DataFrame, role: str = "rater_role", rater: str = "rater_id") -> pd.Series:
    """Each rating's rater as ``<role>:<rater id>`` (a supervisor who also rates as a peer is two raters), as a
    categorical whose categories are the keys in sorted order: the values of
    ``ratings[role].astype(str) + ":" + ratings[rater].astype(str)``, with the key text made once per distinct
    (role, rater) pair instead of once per rating (at 100,000 managers 4.3 million ratings, about 0.1 million
    raters). Sorting, grouping and looking up the raters then work on integer codes."""
    r, j = ratings[role], ratings[rater]
    if not (isinstance(r.dtype, pd.CategoricalDtype) and isinstance(j.dtype, pd.CategoricalDtype)) or \
            r.isna().any() or j.isna().any():
        return pd.Series(pd.Categorical(r.astype(str) + ":" + j.astype(str)), index=ratings.index, name=None)
    width = len(j.cat.categories)
    pair = cat_codes(r).astype(np.int64) * width + cat_codes(j).astype(np.int64)
    codes, pairs = pd.factorize(pair)
    roles = np.asarray(r.cat.categories.astype(str), dtype=object)[pairs // width]
    ids = np.asarray(j.cat.categories.astype(str), dtype=object)[pairs % width]
    labels = np.array([f"{a}:{b}" for a, b in zip(roles, ids)], dtype=object)
    order = np.argsort(labels.astype(str), kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return pd.Series(pd.Categorical.from_codes(rank[codes], categories=pd.Index(labels[order], dtype=object)),
                     index=ratings.index, name=None)


# ======================================================================================== rater effects


# Up to this many free raters the rater x rater system is solved densely (Cholesky) and inverted for standard
# errors; above it, by preconditioned conjugate gradients (no standard errors: se is NaN).
DENSE_MAX_RATERS = 2000


def _solve_spd(a: sparse.spmatrix, b: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Solve a x = b for a sparse symmetric positive definite a; also a^-1 when a is small enough to invert.

    Dense Cholesky (LAPACK potrf / potri) up to DENSE_MAX_RATERS rows; above, conjugate gradients with a Jacobi
    preconditioner (fast on the well-connected graph Laplacians of rating networks), falling back to a sparse
    direct solve if CG does not converge.

    BLAS and LAPACK run in one thread here (threadpoolctl): CG's hundreds of dot products of one value per rater
    are too short to gain from threads (on 2 busy cores, 2 threads took 10 times the CPU time: 5.7 s instead of
    0.5 s at 100,000 managers), and one thread sums them in the same order on every machine, so the effects are
    the same bit for bit whatever the number of cores."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _solve_spd_here(a, b)


def _solve_spd_here(a: sparse.spmatrix, b: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    from scipy import sparse
    from scipy.linalg import lapack
    from scipy.sparse.linalg import cg, spsolve

    size = a.shape[0]
    if size <= DENSE_MAX_RATERS:
        factor, info = lapack.dpotrf(a.toarray(), lower=1)
        if info == 0:
            x, _ = lapack.dpotrs(factor, b, lower=1)
            inv, info = lapack.dpotri(factor, lower=1)
            if info == 0:
                inv = np.tril(inv) + np.tril(inv, -1).T  # potri fills the lower triangle only
                return x, inv
            return x, None
    x, info = cg(a, b, rtol=1e-12, atol=0.0, maxiter=max(1000, 10 * size), M=sparse.diags(1.0 / a.diagonal()))
    if info != 0:
        x = np.atleast_1d(spsolve(a.tocsc(), b))
    return x, None


@dataclass
class RaterEffects:
    """Result of :func:`rater_effects` (all scores and effects in the units of the score column).

    raters     rater, n_ratings, n_ratees, raw_mean, effect (leniency: + lenient / - strict, in score units),
               se (model-based standard error of effect; NaN when not estimable or more than DENSE_MAX_RATERS
               raters), component, estimable, reason ("" when estimable)
    ratees     ratee, n_ratings, raw_mean, calibrated_mean, true_effect (estimated true level minus the mean of
               all ratings), level (estimated true level = mean of all ratings + true_effect), component
    calibrated the input rows that have a score, with ``calibrated_score`` = score - effect of its rater
    residual_sd  the residual standard deviation of the fit (score units; NaN with no residual df)
    """

    raters: pd.DataFrame
    ratees: pd.DataFrame
    calibrated: pd.DataFrame
    residual_sd: float = float("nan")


def rater_effects(df: pd.DataFrame, ratee: str, rater: str, score: str, min_links: int = 2) -> RaterEffects:
    """Rater leniency or severity from an additive model fitted jointly over the rater-ratee network.

    **Why not per-rater means.** A rater's mean score mixes how leniently they rate with how good the people they
    happen to rate are: a strict supervisor of a strong team and a lenient supervisor of a weak team can have the
    same mean. The joint fit tells them apart because the same people are also rated by others (peers, second
    supervisors), which pins down the people's levels.

    Model, one row per rating (repeated ratings of a ratee by the same rater are separate observations):
      score_ij = mu + true_i + effect_j + e_ij
    fitted by least squares. The ratee effects are absorbed (true_i = mean_i(score - mu - effect_j)), leaving the
    sparse rater x rater normal equations  A effect = r  with  A = diag(n_j) - N' diag(1/m_i) N  (N: ratee x rater
    counts, n_j ratings per rater, m_i per ratee) and r_j = sum over j's ratings of (score - mean score of that
    ratee), solved with one rater per component held at 0 (dense Cholesky up to DENSE_MAX_RATERS free raters, else
    preconditioned conjugate gradients to a relative residual of 1e-12).
    Effects are identified only within a connected component of the bipartite rater-ratee graph
    (scipy.sparse.csgraph.connected_components): within each component they are then centred to sum to zero
    over its estimable raters, so an effect says how many score points more leniently a rater scores than the
    average estimable rater of the same component, for the same people. Effects from different components are
    not comparable; ``component`` says which is which.

    A rater with fewer than ``min_links`` distinct ratees, or alone in their component (nobody else rates their
    ratees), is ``estimable=False`` with the reason given, and gets effect 0: their scores are not adjusted.
    se = residual_sd x sqrt(c' A^- c) for the centred contrast c, assuming independent errors of equal variance
    (residual df = ratings - ratees - raters + components); computed when at most DENSE_MAX_RATERS raters are
    free, NaN otherwise.
    calibrated_score = score - effect (score units); calibrated_mean is a ratee's mean calibrated score.
    Raises ValueError for a missing column, a non-numeric score, or fewer than 2 raters.
    """
    _require(df, [ratee, rater, score])
    if min_links < 1:
        raise ValueError(f"min_links must be at least 1, not {min_links}")
    d = df[[ratee, rater, score]]
    y_all = _numeric(d[score], score)
    has = ~np.isnan(y_all) & d[ratee].notna().to_numpy() & d[rater].notna().to_numpy()
    d, y = d[has], y_all[has]
    i_codes, i_uniques = pd.factorize(d[ratee], sort=True)
    j_codes, j_uniques = pd.factorize(d[rater], sort=True)
    n_i, n_j, n = len(i_uniques), len(j_uniques), len(y)
    if n_j < 2:
        raise ValueError(f"rater_effects needs at least 2 raters, found {n_j}")
    mu = float(y.mean())

    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

    # bipartite graph: ratees 0..n_i-1, raters n_i..n_i+n_j-1
    counts = sparse.csr_matrix((np.ones(n), (i_codes, j_codes)), shape=(n_i, n_j))  # N, duplicates summed
    counts.sum_duplicates()
    graph = sparse.bmat([[None, counts], [counts.T, None]], format="csr")
    n_comp, comp = connected_components(graph, directed=False)
    comp_i, comp_j = comp[:n_i], comp[n_i:]
    cnt_i = np.bincount(i_codes, minlength=n_i).astype("float64")
    cnt_j = np.bincount(j_codes, minlength=n_j).astype("float64")
    n_ratees = np.diff(counts.tocsc().indptr)
    raters_in_comp = np.bincount(comp_j, minlength=n_comp)

    # normal equations for the rater effects, ratee effects absorbed
    sum_i = np.bincount(i_codes, weights=y, minlength=n_i)
    ybar_i = sum_i / cnt_i
    r = np.bincount(j_codes, weights=y - ybar_i[i_codes], minlength=n_j)
    a_mat = (sparse.diags(cnt_j) - counts.T @ sparse.diags(1.0 / cnt_i) @ counts).tocsc()
    first = np.full(n_comp, n_j)
    np.minimum.at(first, comp_j, np.arange(n_j))  # the lowest rater code of each component is held at 0
    free = raters_in_comp[comp_j] >= 2
    free[first[comp_j[free]]] = False
    effect = np.zeros(n_j)
    g_free = None
    if free.any():
        effect[free], g_free = _solve_spd(a_mat[free][:, free], r[free])
    true = ybar_i - mu - (counts @ effect) / cnt_i
    resid = y - mu - true[i_codes] - effect[j_codes]
    df_resid = n - (n_i + n_j - n_comp)
    residual_sd = float(np.sqrt((resid ** 2).sum() / df_resid)) if df_resid > 0 else float("nan")

    # estimability, then centre over the estimable raters of each component (all its raters if none is)
    estimable = (n_ratees >= min_links) & (raters_in_comp[comp_j] >= 2)
    few = np.where(n_ratees < min_links, np.char.add(np.char.add("rated ", n_ratees.astype(str)),
                                                      f" distinct ratee(s), fewer than min_links={min_links}"), "")
    alone = np.where(raters_in_comp[comp_j] < 2,
                     "the only rater in its component: nobody else rates the same people", "")
    reason = np.char.strip(np.char.add(np.char.add(few, np.where((few != "") & (alone != ""), "; ", "")), alone))
    est_in_comp = np.bincount(comp_j[estimable], minlength=n_comp)
    weight = np.where(est_in_comp[comp_j] > 0, estimable, True).astype("float64")
    weight /= np.bincount(comp_j, weights=weight, minlength=n_comp)[comp_j]  # w sums to 1 in each component
    shift = np.bincount(comp_j, weights=weight * effect, minlength=n_comp)
    effect = effect - shift[comp_j]
    true = true + shift[comp_i]

    # standard errors: Var(effect_j - w'effect) = s^2 (G_jj - 2 (G w)_j + w'G w), G = A_free^-1 padded with 0
    # (the held raters have no variance). G is block-diagonal by component, so (G w)_j only involves j's own.
    se = np.full(n_j, np.nan)
    if g_free is not None and np.isfinite(residual_sd):
        g_diag, gw = np.zeros(n_j), np.zeros(n_j)
        g_diag[free], gw[free] = np.diag(g_free), g_free @ weight[free]
        wgw = np.bincount(comp_j, weights=weight * gw, minlength=n_comp)
        se = residual_sd * np.sqrt(np.clip(g_diag - 2 * gw + wgw[comp_j], 0.0, None))
    effect = np.where(estimable, effect, 0.0)
    se = np.where(estimable, se, np.nan)

    raw_j = np.bincount(j_codes, weights=y, minlength=n_j) / cnt_j
    calibrated_score = y - effect[j_codes]
    cal_i = np.bincount(i_codes, weights=calibrated_score, minlength=n_i) / cnt_i
    raters = pd.DataFrame({"rater": np.asarray(j_uniques), "n_ratings": cnt_j.astype("int64"), "n_ratees": n_ratees,
                           "raw_mean": raw_j, "effect": effect, "se": se, "component": comp_j,
                           "estimable": estimable, "reason": reason.astype(object)})
    ratees = pd.DataFrame({"ratee": np.asarray(i_uniques), "n_ratings": cnt_i.astype("int64"), "raw_mean": ybar_i,
                           "calibrated_mean": cal_i, "true_effect": true, "level": mu + true, "component": comp_i})
    calibrated = df.loc[has].copy()
    calibrated["calibrated_score"] = calibrated_score
    return RaterEffects(raters, ratees, calibrated, residual_sd)


# ================================================================================ adjusting 360 ratings

#: the roles whose ratings are adjusted for rater effects (a self-rating has one ratee: no effect is estimable)
ADJUSTED_ROLES = ("supervisor", "peer")

ADJUSTMENT_COLUMNS = ["rater_id", "rater_role", "n_ratings", "n_ratees", "raw_mean", "effect", "se", "estimable",
                      "reason", "adjustment", "component"]


def adjust_ratings(ratings: pd.DataFrame, min_links: int = 2, scale: tuple[float, float] = (1.0, 5.0)
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """360 ratings adjusted for rater effects: (adjusted ratings, adjustment per rater).

    ``ratings``: the ratings table (employee_id, rater_id, rater_role, item, score). The supervisors' and peers'
    ratings (ADJUSTED_ROLES; every item pooled) are fitted with :func:`rater_effects`, a rater being the pair
    (role, rater_id) so a supervisor who also rates as a peer is two raters:
      score_ij = mu + true_i + effect_j + e_ij              (effects centred to 0 over the estimable raters of
                                                              each connected component)
      adjusted score = clip(score - effect_j, scale min, scale max)    (rating-scale points)
    Self-ratings and the ratings of a rater who is not estimable (fewer than ``min_links`` distinct ratees, or
    alone in their component) are kept as given (adjustment 0). With fewer than two such raters nothing is
    adjusted (the table says why).

    Example: S1 rates A and B 4, S2 rates C and D 3, peer P rates all four 3. Then effect(S1) - effect(P) = 1,
    effect(S2) - effect(P) = 0, and centred (sum 0): P = -1/3, S1 = +2/3, S2 = -1/3; every adjusted score is
    10/3: A and B no longer gain from their lenient supervisor.

    Adjustment table, one row per (rater_id, rater_role) of the fitted roles: n_ratings, n_ratees, raw_mean,
    effect (+ lenient / - strict), se, estimable, reason, adjustment (= -effect: points added to each of the
    rater's ratings before clipping), component.
    """
    role = ratings["rater_role"].astype(str).to_numpy()
    fitted = np.isin(role, ADJUSTED_ROLES) & ratings["score"].notna().to_numpy()
    out = ratings.copy()
    sub = ratings.loc[fitted, ["employee_id", "rater_id", "rater_role", "score"]]
    role_codes = pd.Index(ADJUSTED_ROLES).get_indexer(role[fitted])
    rater_codes, rater_ids = pd.factorize(sub["rater_id"].astype(str), sort=True)
    key = role_codes.astype("int64") * max(len(rater_ids), 1) + rater_codes
    if len(np.unique(key)) < 2:
        table = pd.DataFrame({c: [] for c in ADJUSTMENT_COLUMNS})
        table.attrs["note"] = "fewer than 2 supervisors and peers rated: no rater-effect adjustment"
        return out, table
    fit = rater_effects(pd.DataFrame({"ratee": sub["employee_id"].astype(str).to_numpy(), "rater": key,
                                      "score": sub["score"].to_numpy(dtype="float64")}),
                        ratee="ratee", rater="rater", score="score", min_links=min_links)
    r = fit.raters
    keys = r["rater"].to_numpy(dtype="int64")
    effect = r["effect"].to_numpy(dtype="float64")
    per_rating = effect[np.searchsorted(keys, key)]
    score = ratings["score"].to_numpy(dtype="float64").copy()
    score[fitted] = np.clip(score[fitted] - per_rating, scale[0], scale[1])
    out["score"] = score
    table = pd.DataFrame({
        "rater_id": np.asarray(rater_ids)[keys % max(len(rater_ids), 1)],
        "rater_role": np.asarray(ADJUSTED_ROLES)[keys // max(len(rater_ids), 1)],
        "n_ratings": r["n_ratings"].to_numpy(), "n_ratees": r["n_ratees"].to_numpy(),
        "raw_mean": r["raw_mean"].to_numpy(), "effect": effect, "se": r["se"].to_numpy(),
        "estimable": r["estimable"].to_numpy(), "reason": r["reason"].to_numpy(),
        "adjustment": np.where(effect == 0.0, 0.0, -effect),
        "component": r["component"].to_numpy()})
    return out, table.sort_values(["rater_role", "rater_id"], kind="stable").reset_index(drop=True)
