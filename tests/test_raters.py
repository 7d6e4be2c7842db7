"""compkit.raters: the rater-effect fit against planted truth and the least-squares algebra, the adjustment of 360
ratings, and the policy option that makes the engine use it (``scorecard.raters.calibrate: rater_effects``)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compkit import raters
from compkit.engine import evaluate
from compkit.raters import ADJUSTMENT_COLUMNS, adjust_ratings, rater_effects
from compkit.sample import LENIENT_REGION, make_sample
from compkit.scoring import combine_raters

# Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges
SF = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], float)


def _long(x: np.ndarray) -> pd.DataFrame:
    """A targets x raters matrix as a long table (NaN entries left out)."""
    i, j = np.nonzero(~np.isnan(x))
    return pd.DataFrame({"target": i, "rater": j, "score": x[i, j]})


def hand_example() -> pd.DataFrame:
    """S1 supervises A and B and rates them 4; S2 supervises C and D and rates them 3; peer P rates all four 3
    (one item). Everyone self-rates 5."""
    rows = [("A", "S1", "supervisor", 4.0), ("B", "S1", "supervisor", 4.0),
            ("C", "S2", "supervisor", 3.0), ("D", "S2", "supervisor", 3.0)]
    rows += [(e, "P", "peer", 3.0) for e in "ABCD"]
    rows += [(e, e, "self", 5.0) for e in "ABCD"]
    return pd.DataFrame([(e, r, role, "communication", s) for e, r, role, s in rows],
                        columns=["employee_id", "rater_id", "rater_role", "item", "score"])


def test_hand_worked_adjustment() -> None:
    # A's ratings: S1 4, P 3; C's: S2 3, P 3. The exact fit of score = mu + true + effect has
    #   effect(S1) - effect(P) = 4 - 3 = 1,  effect(S2) - effect(P) = 3 - 3 = 0,  true(A) = true(C).
    # Centred over the 3 estimable raters (each has 2 or more ratees): 3 effect(P) + 1 = 0, so
    #   effect(P) = -1/3, effect(S1) = 2/3, effect(S2) = -1/3; every adjusted score = 4 - 2/3 = 3 + 1/3 = 10/3.
    ratings = hand_example()
    adjusted, table = adjust_ratings(ratings, min_links=2, scale=(1.0, 5.0))
    assert list(table.columns) == ADJUSTMENT_COLUMNS
    t = table.set_index(["rater_role", "rater_id"])
    assert t.loc[("supervisor", "S1"), "effect"] == pytest.approx(2 / 3)
    assert t.loc[("supervisor", "S2"), "effect"] == pytest.approx(-1 / 3)
    assert t.loc[("peer", "P"), "effect"] == pytest.approx(-1 / 3)
    assert t.loc[("supervisor", "S1"), "adjustment"] == pytest.approx(-2 / 3)
    assert t["estimable"].all()
    others = adjusted["rater_role"] != "self"
    assert adjusted.loc[others, "score"].to_numpy() == pytest.approx(np.full(8, 10 / 3))
    assert (adjusted.loc[~others, "score"] == 5.0).all()  # self-ratings are kept as given
    # 360 with weights supervisor 0.6, peer 0.4 (self 0, one peer counts): before A = 0.6 x 4 + 0.4 x 3 = 3.6 and
    # C = 0.6 x 3 + 0.4 x 3 = 3.0; after both 0.6 x 10/3 + 0.4 x 10/3 = 10/3
    w = {"self": 0.0, "supervisor": 0.6, "peer": 0.4}
    before = combine_raters(ratings, w, min_peers=1).set_index("employee_id")["score"]
    after = combine_raters(adjusted, w, min_peers=1).set_index("employee_id")["score"]
    assert before["A"] == pytest.approx(3.6) and before["C"] == pytest.approx(3.0)
    assert after.to_numpy() == pytest.approx(np.full(4, 10 / 3))


def test_adjusted_scores_are_clipped_to_the_rating_scale() -> None:
    # S1 rates 5, S2 rates 1, P rates 3: effect(S1) - effect(P) = 2, effect(S2) - effect(P) = -2, centred
    # P = 0, S1 = +2, S2 = -2; every adjusted score is 3. On a scale of 3.5 to 4 they are clipped to 3.5.
    r = hand_example()
    r.loc[r["rater_id"] == "S2", "score"] = 1.0
    r.loc[r["rater_id"] == "S1", "score"] = 5.0
    adjusted, table = adjust_ratings(r, scale=(1.0, 5.0))
    assert table.set_index("rater_id")["effect"].to_dict() == pytest.approx({"P": 0.0, "S1": 2.0, "S2": -2.0})
    fitted = adjusted["rater_role"] != "self"
    assert adjusted.loc[fitted, "score"].to_numpy() == pytest.approx(np.full(8, 3.0))
    narrow, _ = adjust_ratings(r, scale=(3.5, 4.0))
    assert (narrow.loc[fitted, "score"] == 3.5).all()


def test_a_rater_with_too_few_ratees_is_not_adjusted() -> None:
    # with min_links 3 nobody (2 ratees each for S1 and S2) but P (4 ratees) is estimable; P is then the only
    # estimable rater and centred to 0, and the supervisors' ratings are kept as given
    adjusted, table = adjust_ratings(hand_example(), min_links=3)
    t = table.set_index("rater_id")
    assert not t.loc["S1", "estimable"] and "fewer than min_links=3" in t.loc["S1", "reason"]
    assert (t["adjustment"] == 0.0).all()
    pd.testing.assert_series_equal(adjusted["score"], hand_example()["score"])


def test_too_few_raters_adjust_nothing() -> None:
    r = hand_example()
    r = r[r["rater_id"].isin(["S1", "A", "B"])]
    adjusted, table = adjust_ratings(r)
    assert len(table) == 0 and "fewer than 2" in table.attrs["note"]
    pd.testing.assert_frame_equal(adjusted, r)


def test_calibration_reaches_pay_on_the_tiny_dataset(tiny, policy) -> None:
    # the tiny dataset: S1 supervises everyone, so S1 and the peers are linked; off by default
    off = evaluate(policy, tiny)
    assert len(off.rater_adjustments) == 0
    on_policy = policy.updated({"scorecard.raters.calibrate": "rater_effects"})
    on = evaluate(on_policy, tiny)
    assert list(on.rater_adjustments.columns) == ADJUSTMENT_COLUMNS
    assert set(on.rater_adjustments["rater_role"]) == {"supervisor", "peer"}
    assert on.reconcile() == []


def test_lenient_supervisors_of_the_sample_move_toward_the_others(sample, bank_policy) -> None:
    """The sample's supervisors in region East (上海分行, LENIENT_REGION) rate +0.7 points above the truth
    (compkit.sample). With the option on, the 360 scores of their people move toward everyone else's: the
    East - others gap of the combined 360 score narrows, the East supervisors get negative adjustments, and pay
    follows the scores."""
    from compkit.sample import LENIENT_REGION

    policy = bank_policy  # the sample's policy
    on_policy = policy.updated({"scorecard.raters.calibrate": "rater_effects"})
    off, on = evaluate(policy, sample), evaluate(on_policy, sample)
    region = sample.employees.set_index("employee_id")["region"].astype(str)
    ratings_ids = [i.id for i in policy.scorecard.indicators if i.source == "ratings"]

    def gap(out) -> float:
        ind = out.indicators[out.indicators["indicator"].isin(ratings_ids)]
        per = ind.groupby("employee_id", observed=True)["actual"].mean()
        east = region.reindex(per.index) == LENIENT_REGION
        return float(per[east].mean() - per[~east].mean())

    before, after = gap(off), gap(on)
    assert before > 0.3  # the planted leniency shows in the raw 360 (supervisor weight 0.6 x 0.7 = 0.42)
    assert after < before - 0.25
    adj = on.rater_adjustments
    sup = adj[(adj["rater_role"] == "supervisor") & adj["estimable"]]
    sup_region = sample.employees.groupby("supervisor_id")["region"].first().astype(str)
    east = sup["rater_id"].map(sup_region) == LENIENT_REGION
    assert east.any() and (~east).any()
    assert sup.loc[east, "adjustment"].mean() < sup.loc[~east, "adjustment"].mean() - 0.4
    # the scores reach pay: East's people lose composite and bonus relative to the others
    s_off, s_on = off.summary.set_index("employee_id"), on.summary.set_index("employee_id")
    east_people = region.reindex(s_off.index) == LENIENT_REGION
    d = s_on["composite"] - s_off["composite"]
    assert d[east_people].mean() < d[~east_people].mean()
    assert on.reconcile() == []


# =================================================================================== rater effects


def test_strict_rater_of_strong_team_told_apart_from_lenient_rater_of_weak_team() -> None:
    # team X is strong (true 4.5) with a strict supervisor (-1); team Y is weak (true 2.5) with a lenient one
    # (+1). Raw means: strict supervisor 3.5, lenient 3.5 - identical, and a per-rater mean would call both
    # neutral; with levels 4.7 / 2.3 below it even gets the signs wrong. Two peers rate people of both teams.
    for strong, weak in ((4.5, 2.5), (4.7, 2.3)):
        rows = []
        for k in range(4):
            rows += [(f"x{k}", "SX", strong - 1.0), (f"y{k}", "SY", weak + 1.0),
                     (f"x{k}", "P1", strong), (f"y{k}", "P1", weak), (f"x{k}", "P2", strong), (f"y{k}", "P2", weak)]
        df = pd.DataFrame(rows, columns=["ratee", "rater", "score"])
        fx = rater_effects(df, "ratee", "rater", "score")
        r = fx.raters.set_index("rater")
        raw_vs_peers = r["raw_mean"] - r.loc[["P1", "P2"], "raw_mean"].mean()
        if strong - weak > 2:  # the raw means get the signs wrong: the strict rater looks lenient
            assert raw_vs_peers["SX"] > 0 > raw_vs_peers["SY"]
        assert r.loc["SX", "effect"] < 0 < r.loc["SY", "effect"]
        # effects are centred over the four raters: -1, +1, 0, 0 exactly; the people get their true levels
        assert r.loc[["SX", "SY", "P1", "P2"], "effect"].tolist() == pytest.approx([-1.0, 1.0, 0.0, 0.0], abs=1e-9)
        levels = fx.ratees.set_index("ratee")
        assert levels.loc[["x0", "y0"], "calibrated_mean"].tolist() == pytest.approx([strong, weak])
        assert levels.loc[["x0", "y0"], "level"].tolist() == pytest.approx([strong, weak])
        assert r["estimable"].all() and (r["component"] == 0).all()


def test_fully_crossed_effects_are_rater_means_minus_grand_mean() -> None:
    # In a complete design least squares gives effect_j = mean of rater j - grand mean (hand-checkable on SF):
    # judge means 7.667, 2.5, 4.333, 6.667; grand mean 5.292 -> effects 2.375, -2.792, -0.958, 1.375
    fx = rater_effects(_long(SF), "target", "rater", "score")
    assert fx.raters["effect"].tolist() == pytest.approx([2.375, -2.7916667, -0.9583333, 1.375], abs=1e-6)
    assert fx.raters["effect"].tolist() == pytest.approx((SF.mean(axis=0) - SF.mean()).tolist())
    # calibrated scores: every judge's column now has the grand mean, the targets keep their means
    cal = fx.calibrated.pivot(index="target", columns="rater", values="calibrated_score").to_numpy()
    assert cal.mean(axis=0) == pytest.approx([SF.mean()] * 4)
    assert cal.mean(axis=1) == pytest.approx(SF.mean(axis=1))


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 3), st.floats(-3, 3))
def test_shifting_one_raters_scores_shifts_their_effect_by_that_much(seed: int, who: int, shift: float) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(3, 1, (6, 4))
    moved = x.copy()
    moved[:, who] += shift
    before = rater_effects(_long(x), "target", "rater", "score").raters["effect"].to_numpy()
    after = rater_effects(_long(moved), "target", "rater", "score").raters["effect"].to_numpy()
    others = np.arange(4) != who
    # relative to the other raters, the effect moves by exactly the shift; the others keep their differences
    assert (after[who] - after[others].mean()) - (before[who] - before[others].mean()) == pytest.approx(shift, abs=1e-9)
    assert np.diff(after[others]) == pytest.approx(np.diff(before[others]), abs=1e-9)


def test_unestimable_raters_are_flagged_and_not_adjusted() -> None:
    rng = np.random.default_rng(1)
    rows = [(f"a{i}", f"A{j}", rng.normal(3, 1)) for i in range(10) for j in rng.choice(4, 2, replace=False)]
    rows += [(f"b{i}", f"B{j}", rng.normal(3, 1)) for i in range(6) for j in (0, 1)]  # a second network
    rows += [("c0", "LONE", 4.0), ("c1", "LONE", 5.0)]                              # nobody else rates c0, c1
    rows += [("a0", "ONCE", 1.0)]                                                   # one ratee only
    rows += [("a1", "A0", np.nan)]                                                  # a missing score is ignored
    df = pd.DataFrame(rows, columns=["ratee", "rater", "score"]).assign(note="kept")
    fx = rater_effects(df, "ratee", "rater", "score")
    r = fx.raters.set_index("rater")
    assert r.loc["LONE", "reason"] == "the only rater in its component: nobody else rates the same people"
    assert r.loc["ONCE", "reason"] == "rated 1 distinct ratee(s), fewer than min_links=2"
    assert not r.loc[["LONE", "ONCE"], "estimable"].any()
    assert r.loc[["LONE", "ONCE"], "effect"].tolist() == [0.0, 0.0]
    assert r.loc[["LONE", "ONCE"], "se"].isna().all()
    assert r.loc[r["estimable"], "reason"].eq("").all() and r.loc[r["estimable"], "se"].gt(0).all()
    # three components: the A network (with ONCE), the B network, LONE; effects sum to zero within each
    comps = r.groupby("component")
    assert comps.ngroups == 3
    assert r.loc["ONCE", "component"] == r.loc["A0", "component"] != r.loc["B0", "component"]
    assert comps["effect"].sum().abs().max() < 1e-9
    ratees = fx.ratees.set_index("ratee")
    assert ratees.loc["c0", "component"] == r.loc["LONE", "component"]
    assert ratees.loc[["c0", "c1"], "calibrated_mean"].tolist() == [4.0, 5.0]
    cal = fx.calibrated
    assert len(cal) == len(df) - 1 and (cal["note"] == "kept").all()
    once = cal[cal["rater"] == "ONCE"]
    assert once["calibrated_score"].tolist() == once["score"].tolist()
    # with min_links=1 the one-ratee rater gets an effect
    assert rater_effects(df, "ratee", "rater", "score", min_links=1).raters.set_index("rater").loc["ONCE", "estimable"]


def test_standard_errors_match_the_least_squares_covariance() -> None:
    rng = np.random.default_rng(5)
    n_ratees, n_raters = 25, 5
    i = np.repeat(np.arange(n_ratees), 3)
    j = np.concatenate([rng.choice(n_raters, 3, replace=False) for _ in range(n_ratees)])
    y = rng.normal(0, 1, n_ratees)[i] + np.linspace(-1, 1, n_raters)[j] + rng.normal(0, 0.5, len(i))
    fx = rater_effects(pd.DataFrame({"ratee": i, "rater": j, "score": y}), "ratee", "rater", "score")
    # dense check: design [ratee dummies | rater dummies], Cov = s^2 pinv(X'X), contrast effect_j - mean(effects)
    x = np.zeros((len(y), n_ratees + n_raters))
    x[np.arange(len(y)), i] = 1
    x[np.arange(len(y)), n_ratees + j] = 1
    beta = np.linalg.lstsq(x, y - y.mean(), rcond=None)[0]  # rank n_ratees + n_raters - 1
    s2 = float(((y - y.mean() - x @ beta) ** 2).sum()) / (len(y) - (n_ratees + n_raters - 1))
    assert fx.residual_sd == pytest.approx(np.sqrt(s2))
    cov = s2 * np.linalg.pinv(x.T @ x)
    contrast = np.zeros((n_raters, n_ratees + n_raters))
    contrast[:, n_ratees:] = np.eye(n_raters) - 1 / n_raters
    assert fx.raters["effect"].to_numpy() == pytest.approx(contrast @ beta, abs=1e-9)
    assert fx.raters["se"].to_numpy() == pytest.approx(np.sqrt(np.diag(contrast @ cov @ contrast.T)), rel=1e-7)


def _network(rng: np.random.Generator, n_raters: int, n_ratees: int, per_ratee: int) -> tuple[pd.DataFrame, ...]:
    severity = rng.normal(0, 0.5, n_raters)
    severity -= severity.mean()
    level = rng.normal(3, 0.7, n_ratees)
    i = np.repeat(np.arange(n_ratees), per_ratee)
    j = rng.integers(0, n_raters, len(i))
    df = pd.DataFrame({"ratee": i, "rater": j, "score": level[i] + severity[j] + rng.normal(0, 0.3, len(i))})
    return df, severity, level


def test_simulated_network_recovers_planted_severities() -> None:
    df, severity, level = _network(np.random.default_rng(4), 40, 300, 5)
    df = df.drop_duplicates(["ratee", "rater"])
    fx = rater_effects(df, "ratee", "rater", "score")
    assert fx.raters["component"].nunique() == 1 and fx.raters["estimable"].all()
    est = fx.raters.set_index("rater")["effect"].reindex(range(40)).to_numpy()
    assert np.corrcoef(est, severity)[0, 1] > 0.9
    ratees = fx.ratees.set_index("ratee").reindex(range(300))
    raw, cal = ratees["raw_mean"].to_numpy(), ratees["calibrated_mean"].to_numpy()
    assert np.sqrt(np.mean((cal - level) ** 2)) < np.sqrt(np.mean((raw - level) ** 2))
    # about 95% of the planted severities lie within 2 standard errors of the estimates
    centred = severity - severity.mean()
    inside = np.abs(est - centred) < 2 * fx.raters.set_index("rater")["se"].reindex(range(40)).to_numpy()
    assert inside.mean() > 0.8


def test_conjugate_gradient_path_agrees_with_the_dense_solve(monkeypatch: pytest.MonkeyPatch) -> None:
    df, _, _ = _network(np.random.default_rng(8), 60, 200, 3)
    dense = rater_effects(df, "ratee", "rater", "score")
    monkeypatch.setattr(raters, "DENSE_MAX_RATERS", 0)
    iterative = rater_effects(df, "ratee", "rater", "score")
    assert iterative.raters["effect"].to_numpy() == pytest.approx(dense.raters["effect"].to_numpy(), abs=1e-8)
    assert iterative.ratees["level"].to_numpy() == pytest.approx(dense.ratees["level"].to_numpy(), abs=1e-8)
    assert iterative.raters["se"].isna().all()


def test_planted_lenient_supervisors_are_found_in_the_sample() -> None:
    sample = make_sample(1000, 2025, seed=2025)
    r = sample.tables["ratings"]
    r = r[r["rater_role"].isin(["supervisor", "peer"])]
    r = r.assign(key=r["rater_role"] + ":" + r["rater_id"])
    fx = rater_effects(r, "employee_id", "key", "score")
    sup = fx.raters[fx.raters["rater"].str.startswith("supervisor:")]
    sup = sup.assign(sid=sup["rater"].str.removeprefix("supervisor:"))
    planted = sample.truth["supervisor_leniency"].set_index("supervisor_id")
    sup = sup.join(planted, on="sid")
    east = sup[(sup["region"] == LENIENT_REGION) & sup["estimable"]]  # 上海分行
    others = sup[(sup["region"] != LENIENT_REGION) & sup["estimable"]]
    assert east["effect"].mean() - others["effect"].mean() > 0.5  # planted +0.7
    assert (east["effect"] > others["effect"].quantile(0.9)).mean() > 0.8
    # calibrated supervisor scores are closer to the planted true levels than raw ones
    truth = sample.truth["true_levels"].groupby("employee_id")["true_level"].mean()
    s = fx.calibrated[fx.calibrated["key"].str.startswith("supervisor:")]
    raw = s.groupby("employee_id")["score"].mean()
    cal = s.groupby("employee_id")["calibrated_score"].mean()
    t = truth.reindex(raw.index)
    rmse = lambda est: float(np.sqrt((((est - est.mean()) - (t - t.mean())) ** 2).mean()))  # noqa: E731
    assert rmse(cal) < 0.75 * rmse(raw)


def test_rater_keys_worked_example() -> None:
    """role:id per rating, categories sorted: peer:S1 < supervisor:S1 < supervisor:S2; a supervisor rating as a
    peer is another rater."""
    cat = pd.CategoricalDtype
    t = pd.DataFrame({"rater_role": pd.Series(["supervisor", "peer", "supervisor", "supervisor"],
                                              dtype=cat(["self", "supervisor", "peer"])),
                      "rater_id": pd.Series(["S2", "S1", "S1", "S2"], dtype=cat(["S2", "S1", "S9"]))})
    keys = raters.rater_keys(t)
    assert list(keys.cat.categories) == ["peer:S1", "supervisor:S1", "supervisor:S2"]
    assert list(keys.astype(str)) == ["supervisor:S2", "peer:S1", "supervisor:S1", "supervisor:S2"]
    assert list(keys.cat.codes) == [2, 0, 1, 2]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["supervisor", "peer", "self", "Peer", "p:x"]),
                          st.text(alphabet="AbS0:é中 ", min_size=0, max_size=3)), min_size=1, max_size=40),
       st.booleans())
def test_rater_keys_are_the_text_concatenation(rows, categorical) -> None:
    """The same values as ``role.astype(str) + ":" + id.astype(str)``, categories in sorted order, whether the
    columns are categorical (the fast path) or text."""
    t = pd.DataFrame(rows, columns=["rater_role", "rater_id"])
    if categorical:
        t = t.astype({"rater_role": "category", "rater_id": "category"})
    keys = raters.rater_keys(t)
    expected = (t["rater_role"].astype(str) + ":" + t["rater_id"].astype(str)).tolist()
    assert keys.astype(str).tolist() == expected
    assert list(keys.cat.categories) == sorted(set(expected))
    assert keys.index.equals(t.index)
