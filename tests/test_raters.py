"""compkit.raters: the rater-effect adjustment of 360 ratings, and the policy option that makes the engine use it
(``scorecard.raters.calibrate: rater_effects``). The fit itself (rater_effects) is tested in test_calibration.py,
where the calibration report uses it."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from compkit.engine import evaluate
from compkit.raters import ADJUSTMENT_COLUMNS, adjust_ratings
from compkit.scoring import combine_raters


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


def test_lenient_supervisors_of_the_sample_move_toward_the_others(sample, policy) -> None:
    """The sample's supervisors in region East rate +0.7 points above the truth (compkit.sample). With the
    option on, the 360 scores of their people move toward everyone else's: the East - others gap of the
    combined 360 score narrows, the East supervisors get negative adjustments, and pay follows the scores."""
    from compkit.sample import LENIENT_REGION

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
