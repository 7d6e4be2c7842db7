"""compkit.calibration: reliability against published examples and reference implementations, budget solving to
the cent, target setting and payout-curve calibration. (Rater effects: tests/test_raters.py.)"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compkit import calibration
from compkit.calibration import CalibrationError, icc, krippendorff_alpha, rater_effects
from compkit.engine import evaluate

# Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges
SF = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], float)

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section E: 4 observers x 12 units, None missing
KRIPPENDORFF_2011 = {"A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
                     "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
                     "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
                     "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None]}


def _long(x: np.ndarray) -> pd.DataFrame:
    """A targets x raters matrix as a long table (NaN entries left out)."""
    i, j = np.nonzero(~np.isnan(x))
    return pd.DataFrame({"target": i, "rater": j, "score": x[i, j]})


def _reliability_data(data: dict[str, list]) -> pd.DataFrame:
    return pd.DataFrame([(u, o, v) for o, vals in data.items() for u, v in enumerate(vals) if v is not None],
                        columns=["unit", "observer", "value"])


# ============================================================================================== icc


def test_icc_matches_shrout_fleiss_table_2() -> None:
    out = icc(_long(SF), "target", "rater", "score").set_index("type")
    assert out.index.tolist() == ["ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"]
    assert out.columns.tolist() == ["description", "icc", "F", "df1", "df2", "pval", "ci_low", "ci_high"]
    # Shrout & Fleiss (1979) Table 2, published to 2 decimals: ICC(1,1) .17, ICC(2,1) .29, ICC(3,1) .71,
    # ICC(1,4) .44, ICC(2,4) .62, ICC(3,4) .91
    published = {"ICC1": 0.17, "ICC2": 0.29, "ICC3": 0.71, "ICC1k": 0.44, "ICC2k": 0.62, "ICC3k": 0.91}
    for kind, value in published.items():
        assert out.loc[kind, "icc"] == pytest.approx(value, abs=0.005), kind
    # 95% intervals as pingouin's documentation and R psych::ICC print them for this example (2 decimals)
    assert out.loc["ICC1", ["ci_low", "ci_high"]].tolist() == pytest.approx([-0.13, 0.72], abs=0.005)
    assert out.loc["ICC2", ["ci_low", "ci_high"]].tolist() == pytest.approx([0.02, 0.76], abs=0.005)
    assert out.loc["ICC3", ["ci_low", "ci_high"]].tolist() == pytest.approx([0.34, 0.95], abs=0.005)
    assert out.loc["ICC3k", ["ci_low", "ci_high"]].tolist() == pytest.approx([0.68, 0.99], abs=0.005)
    assert out.attrs["dropped_targets"] == 0


def test_icc_matches_pingouin_to_full_precision() -> None:
    # Reference numbers computed with pingouin 0.7.0 (pingouin.intraclass_corr on the Shrout-Fleiss data above, in a
    # scratch virtualenv, its 2-decimal rounding of CI95 switched off); compkit does not depend on pingouin.
    # rows: ICC(1,1), ICC(A,1), ICC(C,1), ICC(1,k), ICC(A,k), ICC(C,k) = ICC1, ICC2, ICC3, ICC1k, ICC2k, ICC3k
    reference = {
        "icc": [0.1657417684054755, 0.28976377952755916, 0.7148407148407154,
                0.44279713367926876, 0.6200505475989893, 0.9093155423770697],
        "F": [1.7946784922394683, 11.027247956403299, 11.027247956403299] * 2,
        "df1": [5] * 6,
        "df2": [18, 15, 15] * 2,
        "pval": [0.16476880834463953, 0.000134566516484335, 0.000134566516484335] * 2,
        "ci_low": [-0.13293232487475096, 0.018786513374712058, 0.34246476503392614,
                   -0.8844421552381196, 0.07113681530250353, 0.6756747138163055],
        "ci_high": [0.722560062328121, 0.7610843696489527, 0.9458582599553597,
                    0.9124154203407755, 0.9272320401677219, 0.9858916781690623],
    }
    out = icc(_long(SF), "target", "rater", "score")
    for column, values in reference.items():
        assert out[column].tolist() == pytest.approx(values, rel=1e-9, abs=1e-12), column


def test_icc_mean_squares_by_hand() -> None:
    # 3 targets x 2 raters: [[1, 2], [3, 4], [5, 7]]; grand mean 22/6 = 3.667; row means 1.5, 3.5, 6;
    # SSB = 2 x ((1.5-3.667)^2 + (3.5-3.667)^2 + (6-3.667)^2) = 2 x (4.694 + 0.028 + 5.444) = 20.333 -> MSB 10.167
    # column means 3 and 4.333: SSJ = 3 x (0.444 + 0.444) = 2.667 -> MSJ 2.667
    # SSW = 0.5 + 0.5 + 2 = 3 -> MSW = 3 / 3 = 1; SSE = SSW - SSJ = 0.333 -> MSE = 0.333 / 2 = 0.1667
    out = icc(_long(np.array([[1, 2], [3, 4], [5, 7]], float)), "target", "rater", "score")
    ms = out.attrs["mean_squares"]
    assert (ms["MSB"], ms["MSJ"], ms["MSW"], ms["MSE"]) == pytest.approx((61 / 6, 8 / 3, 1.0, 1 / 6))
    got = out.set_index("type")["icc"]
    # ICC1  = (MSB - MSW) / (MSB + MSW)                     = (55/6) / (67/6)          = 55/67
    # ICC2  = (MSB - MSE) / (MSB + MSE + 2 (MSJ - MSE) / 3)  = 10 / (62/6 + 10/6)      = 5/6
    # ICC3  = (MSB - MSE) / (MSB + MSE)                     = 10 / (62/6)              = 30/31
    # ICC1k = (MSB - MSW) / MSB = 55/61;  ICC2k = 10 / (61/6 + 5/6) = 10/11;  ICC3k = 10 / (61/6) = 60/61
    expected = {"ICC1": 55 / 67, "ICC2": 5 / 6, "ICC3": 30 / 31, "ICC1k": 55 / 61, "ICC2k": 10 / 11, "ICC3k": 60 / 61}
    for kind, value in expected.items():
        assert got[kind] == pytest.approx(value, rel=1e-12), kind
    # F of ICC1 = MSB / MSW = 10.1667 on (2, 3) df; of ICC3 = MSB / MSE = 61 on (2, 2) df
    f = out.set_index("type")[["F", "df1", "df2"]]
    assert f.loc["ICC1"].tolist() == pytest.approx([61 / 6, 2, 3])
    assert f.loc["ICC3"].tolist() == pytest.approx([61.0, 2, 2])


def test_icc_drops_incomplete_targets_and_says_how_many() -> None:
    x = np.vstack([SF, [[5, np.nan, 4, 6]]])  # a 7th target that judge 2 did not rate
    out = icc(_long(x), "target", "rater", "score")
    assert out.attrs["dropped_targets"] == 1
    pd.testing.assert_frame_equal(out, icc(_long(SF), "target", "rater", "score"), check_like=False,
                                  check_exact=False, obj="icc")
    # a confidence other than 95% narrows or widens the intervals around the same estimates
    wide, narrow = (icc(_long(SF), "target", "rater", "score", confidence=c) for c in (0.99, 0.80))
    assert (wide["ci_low"] < narrow["ci_low"]).all() and (wide["ci_high"] > narrow["ci_high"]).all()


@settings(max_examples=20, deadline=None)
@given(st.floats(-50, 50), st.floats(0.1, 10))
def test_icc_is_invariant_to_shift_and_scale(shift: float, scale: float) -> None:
    a = icc(_long(SF), "target", "rater", "score")[["icc", "ci_low", "ci_high"]].to_numpy()
    b = icc(_long(SF * scale + shift), "target", "rater", "score")[["icc", "ci_low", "ci_high"]].to_numpy()
    assert np.allclose(a, b, atol=1e-9)


# ============================================================================================== alpha


def test_krippendorff_alpha_matches_the_published_example() -> None:
    df = _reliability_data(KRIPPENDORFF_2011)
    # published in Krippendorff (2011) to 3 decimals
    published = {"nominal": 0.743, "ordinal": 0.815, "interval": 0.849, "ratio": 0.797}
    # the same data through the `krippendorff` PyPI package 0.9.0 (krippendorff.alpha, in a scratch virtualenv;
    # compkit does not depend on it)
    package = {"nominal": 0.743421052631579, "ordinal": 0.8153875037548814, "interval": 0.8491071428571428,
               "ratio": 0.7974027747116121}
    for level, value in published.items():
        got = krippendorff_alpha(df, "unit", "observer", "value", level)
        assert got == pytest.approx(value, abs=0.0005), level
        assert got == pytest.approx(package[level], rel=1e-12), level


def test_krippendorff_alphas_at_once_are_those_of_each_level() -> None:
    """The checks and pairable units worked out once for several levels: the very figures of one call per level;
    integer unit codes give the figures of the text units they stand for."""
    from compkit.calibration import krippendorff_alphas

    df = _reliability_data(KRIPPENDORFF_2011)
    levels = ("nominal", "ordinal", "interval", "ratio")
    assert krippendorff_alphas(df, "unit", "observer", "value", levels) == {
        level: krippendorff_alpha(df, "unit", "observer", "value", level) for level in levels}
    coded = df.assign(unit=pd.factorize(df["unit"].astype(str) + "|x")[0])
    assert krippendorff_alphas(coded, "unit", "observer", "value", levels) == \
        krippendorff_alphas(df, "unit", "observer", "value", levels)


def test_krippendorff_alpha_by_hand() -> None:
    # 2 raters, 3 units: (1, 1), (1, 2), (2, 2), plus a unit only one rater rated (not pairable, left out).
    # coincidences: o_11 = 2, o_12 = o_21 = 1, o_22 = 2; n_1 = n_2 = 3, n = 6.
    # nominal: alpha = 1 - (n - 1) (o_12 + o_21) / (n_1 n_2 + n_2 n_1) = 1 - 5 x 2 / 18 = 4/9.
    # With two values every metric is a constant multiple of nominal's, so all levels give 4/9.
    df = pd.DataFrame({"unit": [0, 0, 1, 1, 2, 2, 3], "rater": ["a", "b"] * 3 + ["a"], "value": [1, 1, 1, 2, 2, 2, 9]})
    for level in calibration.KRIPPENDORFF_LEVELS:
        assert krippendorff_alpha(df, "unit", "rater", "value", level) == pytest.approx(4 / 9), level
    # nominal values need not be numbers
    labels = df.assign(value=df["value"].map({1: "meets", 2: "exceeds", 9: "below"}))
    assert krippendorff_alpha(labels, "unit", "rater", "value", "nominal") == pytest.approx(4 / 9)
    # a missing value (NaN) is the same as no row
    with_nan = pd.concat([df, pd.DataFrame({"unit": [4, 4], "rater": ["a", "b"], "value": [3, np.nan]})])
    assert krippendorff_alpha(with_nan, "unit", "rater", "value", "interval") == pytest.approx(4 / 9)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 5), min_size=3, max_size=12), st.integers(2, 4))
def test_alpha_is_one_for_perfect_agreement(values: list[int], raters: int) -> None:
    if len(set(values)) < 2:
        values = values + [1 if values[0] != 1 else 2]
    df = pd.DataFrame([(u, r, v) for u, v in enumerate(values) for r in range(raters)],
                      columns=["unit", "rater", "value"])
    for level in calibration.KRIPPENDORFF_LEVELS:
        assert krippendorff_alpha(df, "unit", "rater", "value", level) == pytest.approx(1.0)


@settings(max_examples=20, deadline=None)
@given(st.floats(-20, 20), st.floats(0.1, 10))
def test_interval_alpha_is_invariant_to_shift_and_scale(shift: float, scale: float) -> None:
    df = _reliability_data(KRIPPENDORFF_2011)
    moved = df.assign(value=df["value"] * scale + shift)
    for level in ("nominal", "ordinal", "interval"):
        assert krippendorff_alpha(moved, "unit", "observer", "value", level) == pytest.approx(
            krippendorff_alpha(df, "unit", "observer", "value", level), abs=1e-9)


# ====================================================================================== bad inputs


def test_bad_inputs_are_refused_with_the_reason() -> None:
    long = _long(SF)
    with pytest.raises(ValueError, match="missing column.*judge"):
        icc(long, "target", "judge", "score")
    with pytest.raises(ValueError, match="missing column.*coder"):
        krippendorff_alpha(long, "target", "coder", "score")
    with pytest.raises(ValueError, match="missing column.*grade"):
        rater_effects(long, "target", "rater", "grade")
    one_rater = long[long["rater"] == 0]
    with pytest.raises(ValueError, match="at least 2 raters, found 1"):
        icc(one_rater, "target", "rater", "score")
    with pytest.raises(ValueError, match="at least 2 raters, found 1"):
        krippendorff_alpha(one_rater, "target", "rater", "score")
    with pytest.raises(ValueError, match="at least 2 raters, found 1"):
        rater_effects(pd.DataFrame({"i": [1, 2], "j": ["a", "a"], "s": [1.0, 2.0]}), "i", "j", "s")
    twice = pd.concat([long, long.head(1)])
    with pytest.raises(ValueError, match="at most one rating per target x rater"):
        icc(twice, "target", "rater", "score")
    with pytest.raises(ValueError, match="at most one rating per target x rater"):
        krippendorff_alpha(twice, "target", "rater", "score")
    with pytest.raises(ValueError, match="level must be one of"):
        krippendorff_alpha(long, "target", "rater", "score", level="cardinal")
    with pytest.raises(ValueError, match="column 'score' must be numeric"):
        rater_effects(long.assign(score="good"), "target", "rater", "score")
    with pytest.raises(ValueError, match="at least 2 targets rated by all 4 raters, found 1"):
        icc(long[(long["target"] == 0) | (long["rater"] == 0)], "target", "rater", "score")
    with pytest.raises(ValueError, match="no variation"):
        krippendorff_alpha(long.assign(score=3.0), "target", "rater", "score")
    with pytest.raises(ValueError, match="confidence"):
        icc(long, "target", "rater", "score", confidence=95)


# ================================================================================== budget solving


def test_solve_budget_hits_an_attainable_budget_exactly(tiny, policy) -> None:
    # a budget the knob can reach (the cost at multiplier 0.9) is met to the cent: cost moves in cent steps that
    # are about 1e-7 wide in the multiplier, far wider than the solver's tolerance (1e-12)
    attainable = calibration.knob_setter(policy, "commission_rate")[0](0.9)
    budget = float(evaluate(attainable, tiny).summary["employer_cost"].sum().round(2))
    solution = calibration.solve_budget(policy, tiny, budget=budget, knob="commission_rate")
    assert solution.residual == pytest.approx(0.0, abs=1e-6)
    assert "nearest attainable" not in solution.note
    assert solution.value == pytest.approx(0.9, abs=1e-4)
    again = evaluate(solution.policy, tiny).summary["employer_cost"].sum()
    assert again == pytest.approx(solution.cost, abs=0.005)
    pool = calibration.solve_budget(policy, tiny, budget=round(budget + 1234.56, 2), knob="bonus_pool")
    assert pool.residual == pytest.approx(0.0, abs=0.005)
    assert pool.policy.bonus.pool is not None


def test_solve_budget_between_two_cents_takes_the_nearer(tiny, policy) -> None:
    # 0.4 of a cent above an attainable cost c: the costs on either side of the crossing step are c (residual
    # -0.004) and at least c + 0.01 (residual >= +0.006): the solution is c, whichever side of the step the
    # root finder stopped on
    attainable = calibration.knob_setter(policy, "commission_rate")[0](0.9)
    c = float(evaluate(attainable, tiny).summary["employer_cost"].sum().round(2))
    solution = calibration.solve_budget(policy, tiny, budget=c + 0.004, knob="commission_rate")
    assert solution.residual == pytest.approx(-0.004, abs=1e-6)
    # and 0.6 of a cent above c: the next cost up (c + 0.01 when the step is one cent) is nearer, or c when the
    # step is wider; either way no attainable cost is nearer than the one chosen
    above = calibration.solve_budget(policy, tiny, budget=c + 0.006, knob="commission_rate")
    assert above.residual == pytest.approx(0.004, abs=1e-6) or above.residual == pytest.approx(-0.006, abs=1e-6)


def test_knob_costs_and_the_solve_in_processes_are_as_in_one_process(tiny, policy) -> None:
    # each value's cost is one full evaluate, wherever it runs: multiplier 0 pays no commission, 1 is the policy
    setter = calibration.knob_setter(policy, "commission_rate")[0]
    one = [float(evaluate(setter(x), tiny).summary["employer_cost"].sum()) for x in (0.0, 0.9, 1.0)]
    assert calibration.knob_costs(policy, tiny, "commission_rate", [0.0, 0.9, 1.0], processes=2) == one
    assert one[2] == float(evaluate(policy, tiny).summary["employer_cost"].sum())
    budget = round(one[1], 2)
    a = calibration.solve_budget(policy, tiny, budget=budget, knob="commission_rate")
    b = calibration.solve_budget(policy, tiny, budget=budget, knob="commission_rate", processes=2)
    assert (a.value, a.cost, a.evaluations) == (b.value, b.cost, b.evaluations)


def test_knob_costs_take_the_kept_scorecard_with_the_same_costs(tiny, policy) -> None:
    """The first evaluation keeps the scorecard (and what else a commission knob leaves alone); the others take
    it back: the costs are those of full evaluations, bit for bit."""
    from compkit.engine import Kept

    setter = calibration.knob_setter(policy, "commission_rate")[0]
    values = [0.0, 0.9, 1.0]
    full = [float(evaluate(setter(x), tiny).summary["employer_cost"].sum()) for x in values]
    kept = Kept()
    assert calibration.knob_costs(policy, tiny, "commission_rate", values, kept=kept) == full
    assert kept.stages and kept.fits(setter(0.5), tiny, None)
    # by default the rates' knob lets the commission lines go (every line changes with the rates): same costs
    without_lines = calibration._kept_for(setter, values)
    assert calibration.knob_costs(policy, tiny, "commission_rate", values, kept=without_lines) == full
    assert "lines" not in without_lines.stages and "scorecard" in without_lines.stages
    assert calibration.knob_costs(policy, tiny, "commission_rate", values) == full
    bonus = calibration.knob_setter(policy, "bonus_curve")[0]
    assert type(calibration._kept_for(bonus, [0.0, 10.0])) is Kept  # the bonus leaves the lines as they are


def test_known_costs_are_not_evaluated_again_and_solve_the_same(tiny, policy, monkeypatch) -> None:
    """Costs already worked out (by the policy's fingerprint, as compkit review keeps them for the bracket's two
    ends) are taken as they are: the same costs and the same solution, with fewer evaluations."""
    import compkit.calibration as cal

    ends = calibration.bracket_policies(policy)
    lo, hi = calibration.knob_setter(policy, "commission_rate")[2]
    assert [p.fingerprint() for p in ends] == [calibration.knob_setter(policy, "commission_rate")[0](x).fingerprint()
                                               for x in (lo, hi)]
    known = {p.fingerprint(): calibration.employer_cost(p, tiny) for p in ends}
    budget = round(calibration.employer_cost(calibration.knob_setter(policy, "commission_rate")[0](0.9), tiny), 2)
    plain = calibration.solve_budget(policy, tiny, budget=budget, knob="commission_rate")
    middle = calibration.knob_costs(policy, tiny, "commission_rate", [0.9])[0]
    evaluated: list[str] = []
    real = cal.evaluate
    monkeypatch.setattr(cal, "evaluate", lambda p, *a, **k: evaluated.append(p.fingerprint()) or real(p, *a, **k))
    assert calibration.knob_costs(policy, tiny, "commission_rate", [lo, 0.9, hi], known=known) == [
        known[ends[0].fingerprint()], middle, known[ends[1].fingerprint()]]
    assert len(evaluated) == 1 and not set(evaluated) & set(known)
    evaluated.clear()
    again = calibration.solve_budget(policy, tiny, budget=budget, knob="commission_rate", known=known)
    assert (again.value, again.cost, again.residual, again.evaluations, again.note) == (
        plain.value, plain.cost, plain.residual, plain.evaluations, plain.note)
    assert again.policy.fingerprint() == plain.policy.fingerprint()
    # brentq asks for the ends' costs again, and the solve for its root's: no policy is evaluated twice, and
    # the known ends not at all
    assert len(evaluated) == len(set(evaluated)) <= plain.evaluations - 4 and not set(evaluated) & set(known)
    with pytest.raises(CalibrationError, match="no value of multiplier of every commission rate"):
        calibration.solve_budget(policy, tiny, budget=1.0, knob="commission_rate", known=known)


def test_known_ends_spare_the_fingerprints_of_the_other_policies(tiny, policy, monkeypatch) -> None:
    """With only the bracket's ends known (as compkit review keeps them), the policies brentq tries in between
    are not fingerprinted to be looked up: 4 fingerprints (the ends', twice), however many costs the solve asks
    for; the same solution as without known costs."""
    from compkit.policy import Policy

    ends = calibration.bracket_policies(policy)
    known = {p.fingerprint(): calibration.employer_cost(p, tiny) for p in ends}
    budget = round(calibration.employer_cost(calibration.knob_setter(policy, "commission_rate")[0](0.9), tiny), 2)
    plain = calibration.solve_budget(policy, tiny, budget=budget, knob="commission_rate")
    prints: list[str] = []
    real = Policy.fingerprint
    monkeypatch.setattr(Policy, "fingerprint", lambda self: prints.append("x") or real(self))
    again = calibration.solve_budget(policy, tiny, budget=budget, knob="commission_rate", known=known)
    assert len(prints) == 4 < again.evaluations
    assert (again.value, again.cost, again.evaluations) == (plain.value, plain.cost, plain.evaluations)


def test_solve_budget_says_when_no_value_can_meet_it(tiny, policy) -> None:
    with pytest.raises(CalibrationError, match="no value of multiplier of every commission rate"):
        calibration.solve_budget(policy, tiny, budget=1.0, knob="commission_rate")


def test_propose_targets_and_payout_curve(tiny, policy) -> None:
    targets = calibration.propose_targets(policy, tiny, share_reaching=0.5)
    assert set(targets["indicator"]) == {i.id for i in policy.scorecard.indicators if i.source == "metrics"}
    assert (targets["target_next"] > 0).all()
    curve = calibration.calibrate_payout_curve(policy, np.linspace(50, 110, 61)).bonus.curve
    # 90% reach the threshold (P10 = 50 + 0.1 x 60 = 56), 50% the target (P50 = 80), 10% the maximum (P90 = 104)
    assert [p[0] for p in curve[1:]] == pytest.approx([56.0, 80.0, 104.0])
    assert [p[1] for p in curve] == [0.0, 0.5, 1.0, 1.5]
    # the first 50% is paid over a ramp: 0.5 / 0.05 per point = 10 points below the threshold, 56 - 10 = 46
    assert curve[0][0] == pytest.approx(46.0)


def test_payout_curve_has_no_cliff_where_the_unconstrained_one_would(policy) -> None:
    from compkit.pay import payout

    composite = np.linspace(50, 110, 61)
    free = calibration.calibrate_payout_curve(policy, composite, max_slope=None).bonus.curve
    capped = calibration.calibrate_payout_curve(policy, composite, max_slope=0.05).bonus.curve
    scores = np.round(np.arange(40.0, 115.0, 0.01), 2)
    jump_free = np.diff(payout(scores, free)).max()
    jump_capped = np.diff(payout(scores, capped)).max()
    # unconstrained: 0 at 55.99, 50% at 56.00 -- a jump of half the target bonus between two scores 0.01 apart
    assert free[0][0] == pytest.approx(55.99) and jump_free == pytest.approx(0.5)
    # constrained: no two scores 0.01 apart differ by more than 0.05 x 0.01 = 0.0005 of the target bonus
    assert jump_capped <= 0.05 * 0.01 + 1e-12
    assert jump_capped < jump_free / 100


def test_payout_curve_points_spread_when_the_quantiles_are_too_close() -> None:
    # quantiles 56 / 80 / 104 are 24 points apart; a maximum slope of 0.02 needs 0.5 / 0.02 = 25 points per step.
    # minimise (s1-56)^2 + (s2-80)^2 + (s3-104)^2 with s2-s1 >= 25, s3-s2 >= 25: by symmetry s2 = 80,
    # s1 = 55, s3 = 105; the zero point 25 below s1 = 30
    fit = calibration.fit_payout_curve(np.linspace(50, 110, 61), max_slope=0.02)
    assert [p[0] for p in fit.points] == pytest.approx([30.0, 55.0, 80.0, 105.0])
    assert max(fit.slopes) == pytest.approx(0.02)
    # a minimum slope of 0.03 caps each gap at 0.5 / 0.03 = 16.67 -> 16.66 after rounding; 0.05 keeps the ramp
    fit = calibration.fit_payout_curve(np.linspace(50, 110, 61), max_slope=0.05, min_slope=0.03)
    assert min(fit.slopes) >= 0.03 and max(fit.slopes) <= 0.05 + 1e-12
    with pytest.raises(CalibrationError, match="min_slope 0.1 is above max_slope 0.05"):
        calibration.fit_payout_curve(np.linspace(50, 110, 61), max_slope=0.05, min_slope=0.1)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 150, allow_nan=False), min_size=20, max_size=200),
       st.floats(0.01, 1.0))
def test_payout_curve_never_steeper_than_its_limit(scores, max_slope) -> None:
    c = np.asarray(scores)
    q = np.quantile(c, [0.1, 0.5, 0.9])
    if not q[0] < q[1] < q[2]:
        with pytest.raises(CalibrationError, match="do not spread enough"):
            calibration.fit_payout_curve(c, max_slope=max_slope)
        return
    fit = calibration.fit_payout_curve(c, max_slope=max_slope)
    xs = [p[0] for p in fit.points]
    assert all(b > a for a, b in zip(xs, xs[1:]))
    assert max(fit.slopes) <= max_slope * (1 + 1e-9)
