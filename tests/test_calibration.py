"""compkit.calibration: reliability against published examples, rater effects against planted truth, budget
solving to the cent, target setting and payout-curve calibration."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compkit import calibration
from compkit.calibration import CalibrationError, icc, krippendorff_alpha, rater_effects
from compkit.engine import evaluate

from compkit.sample import make_sample

# Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges
SF = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], float)


def _long(x: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame([(i, j, x[i, j]) for i in range(x.shape[0]) for j in range(x.shape[1])],
                        columns=["target", "rater", "score"])


def test_icc_matches_shrout_fleiss_table_2() -> None:
    out = icc(_long(SF), "target", "rater", "score").set_index("type")
    # published: ICC(1,1) .17, ICC(2,1) .29, ICC(3,1) .71, ICC(1,4) .44, ICC(2,4) .62, ICC(3,4) .91
    published = {"ICC1": 0.17, "ICC2": 0.29, "ICC3": 0.71, "ICC1k": 0.44, "ICC2k": 0.62, "ICC3k": 0.91}
    for kind, value in published.items():
        assert out.loc[kind, "icc"] == pytest.approx(value, abs=0.005), kind
    # 95% intervals as pingouin's documentation lists them for the same data
    assert out.loc["ICC1", ["ci_low", "ci_high"]].tolist() == pytest.approx([-0.13, 0.72], abs=0.01)
    assert out.loc["ICC2", ["ci_low", "ci_high"]].tolist() == pytest.approx([0.02, 0.76], abs=0.01)
    assert out.loc["ICC3", ["ci_low", "ci_high"]].tolist() == pytest.approx([0.34, 0.95], abs=0.01)
    assert out.loc["ICC3k", ["ci_low", "ci_high"]].tolist() == pytest.approx([0.68, 0.99], abs=0.01)
    # the F test of ICC3: MSB / MSE = 11.03 on 5 and 15 degrees of freedom
    assert out.loc["ICC3", "F"] == pytest.approx(11.027, abs=0.001)


def test_icc_mean_squares_by_hand() -> None:
    # 3 targets x 2 raters: [[1, 2], [3, 4], [5, 7]]; grand mean 22/6 = 3.667; row means 1.5, 3.5, 6;
    # SSB = 2 x ((1.5-3.667)^2 + (3.5-3.667)^2 + (6-3.667)^2) = 2 x (4.694 + 0.028 + 5.444) = 20.333 -> MSB 10.167
    # column means 3 and 4.333: SSJ = 3 x (0.444 + 0.444) = 2.667 -> MSJ 2.667
    # SSW = 0.5 + 0.5 + 2 = 3 -> MSW = 3 / 3 = 1; SSE = SSW - SSJ = 0.333 -> MSE = 0.333 / 2 = 0.1667
    out = icc(_long(np.array([[1, 2], [3, 4], [5, 7]], float)), "target", "rater", "score")
    ms = out.attrs["mean_squares"]
    assert (ms["MSB"], ms["MSJ"], ms["MSW"], ms["MSE"]) == pytest.approx((61 / 6, 8 / 3, 1.0, 1 / 6))
    # ICC3 = (MSB - MSE) / (MSB + MSE) = (10.1667 - 0.1667) / (10.1667 + 0.1667) = 0.9677
    assert out.set_index("type").loc["ICC3", "icc"] == pytest.approx(10 / (31 / 3))


def test_krippendorff_alpha_matches_the_published_example() -> None:
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 observers, 12 units, missing data
    data = {"A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
            "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
            "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
            "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None]}
    df = pd.DataFrame([(u, o, v) for o, vals in data.items() for u, v in enumerate(vals) if v is not None],
                      columns=["unit", "observer", "value"])
    published = {"nominal": 0.743, "ordinal": 0.815, "interval": 0.849, "ratio": 0.797}
    for level, value in published.items():
        assert krippendorff_alpha(df, "unit", "observer", "value", level) == pytest.approx(value, abs=0.0005)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 5), min_size=3, max_size=12), st.integers(2, 4))
def test_alpha_is_one_for_perfect_agreement(values: list[int], raters: int) -> None:
    if len(set(values)) < 2:
        values = values + [1 if values[0] != 1 else 2]
    df = pd.DataFrame([(u, r, v) for u, v in enumerate(values) for r in range(raters)],
                      columns=["unit", "rater", "value"])
    for level in ("nominal", "ordinal", "interval", "ratio"):
        assert krippendorff_alpha(df, "unit", "rater", "value", level) == pytest.approx(1.0)


@settings(max_examples=20, deadline=None)
@given(st.floats(-5, 5))
def test_icc_is_invariant_to_a_constant_shift(shift: float) -> None:
    a = icc(_long(SF), "target", "rater", "score")["icc"].to_numpy()
    b = icc(_long(SF + shift), "target", "rater", "score")["icc"].to_numpy()
    assert np.allclose(a, b)


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="missing column"):
        icc(_long(SF), "target", "judge", "score")
    with pytest.raises(ValueError, match="at least 2 raters"):
        rater_effects(pd.DataFrame({"i": [1, 2], "j": ["a", "a"], "s": [1.0, 2.0]}), "i", "j", "s")


def test_strict_rater_of_strong_team_told_apart_from_lenient_rater_of_weak_team() -> None:
    # team X is strong (true 4.5) with a strict supervisor (-1); team Y is weak (true 2.5) with a lenient one
    # (+1). Raw means: strict supervisor 3.5, lenient 3.5 - identical. Two peers rate people of both teams.
    rows = []
    for k in range(4):
        rows += [(f"x{k}", "SX", 4.5 - 1.0), (f"y{k}", "SY", 2.5 + 1.0),
                 (f"x{k}", "P1", 4.5), (f"y{k}", "P1", 2.5), (f"x{k}", "P2", 4.5), (f"y{k}", "P2", 2.5)]
    df = pd.DataFrame(rows, columns=["ratee", "rater", "score"])
    fx = rater_effects(df, "ratee", "rater", "score").raters.set_index("rater")
    assert fx.loc["SX", "raw_mean"] == fx.loc["SY", "raw_mean"] == 3.5
    assert fx.loc["SX", "effect"] < 0 < fx.loc["SY", "effect"]
    # effects are centred over the four raters: -1, +1, 0, 0 exactly
    assert fx.loc[["SX", "SY", "P1", "P2"], "effect"].tolist() == pytest.approx([-1.0, 1.0, 0.0, 0.0], abs=1e-6)


def test_simulated_network_recovers_planted_severities() -> None:
    rng = np.random.default_rng(4)
    n_raters, n_ratees = 40, 300
    severity = rng.normal(0, 0.5, n_raters)
    severity -= severity.mean()
    level = rng.normal(3, 0.7, n_ratees)
    i = np.repeat(np.arange(n_ratees), 5)
    j = rng.integers(0, n_raters, len(i))
    df = pd.DataFrame({"ratee": i, "rater": j, "score": level[i] + severity[j] + rng.normal(0, 0.3, len(i))})
    df = df.drop_duplicates(["ratee", "rater"])
    fx = rater_effects(df, "ratee", "rater", "score")
    est = fx.raters.set_index("rater")["effect"].reindex(range(n_raters)).to_numpy()
    assert np.corrcoef(est, severity)[0, 1] > 0.9
    raw = fx.ratees.set_index("ratee")["raw_mean"].reindex(range(n_ratees)).to_numpy()
    cal = fx.ratees.set_index("ratee")["calibrated_mean"].reindex(range(n_ratees)).to_numpy()
    assert np.sqrt(np.mean((cal - level) ** 2)) < np.sqrt(np.mean((raw - level) ** 2))


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
    east = sup[(sup["region"] == "East") & sup["estimable"]]
    others = sup[(sup["region"] != "East") & sup["estimable"]]
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


def test_solve_budget_hits_the_budget_to_the_cent(tiny, policy) -> None:
    cost = evaluate(policy, tiny).summary["employer_cost"].sum()
    solution = calibration.solve_budget(policy, tiny, budget=round(cost - 500.0, 2), knob="commission_rate")
    assert abs(solution.residual) < 0.005 or "nearest attainable" in solution.note
    assert solution.value < 1.0
    again = evaluate(solution.policy, tiny).summary["employer_cost"].sum()
    assert again == pytest.approx(solution.cost, abs=0.005)
    pool = calibration.solve_budget(policy, tiny, budget=round(cost + 1234.56, 2), knob="bonus_pool")
    assert pool.residual == pytest.approx(0.0, abs=0.005)
    assert pool.policy.bonus.pool is not None


def test_solve_budget_says_when_no_value_can_meet_it(tiny, policy) -> None:
    with pytest.raises(CalibrationError, match="no value of multiplier of every commission rate"):
        calibration.solve_budget(policy, tiny, budget=1.0, knob="commission_rate")


def test_propose_targets_and_payout_curve(tiny, policy) -> None:
    targets = calibration.propose_targets(policy, tiny, share_reaching=0.5)
    assert set(targets["indicator"]) == {i.id for i in policy.scorecard.indicators if i.source == "metrics"}
    assert (targets["target_next"] > 0).all()
    curve = calibration.calibrate_payout_curve(policy, np.linspace(50, 110, 61)).bonus.curve
    # 90% reach the threshold (P10 = 56), 50% the target (P50 = 80), 10% the maximum (P90 = 104)
    assert [p[0] for p in curve[1:]] == pytest.approx([56.0, 80.0, 104.0])
    assert [p[1] for p in curve] == [0.0, 0.5, 1.0, 1.5]
