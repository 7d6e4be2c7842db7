"""compkit.knobs: one Knob type and one policy-path syntax."""
from __future__ import annotations

import pytest

from compkit import calibration, explorer, knobs, review


def test_expand_a_star_into_every_item(policy) -> None:
    assert knobs.expand(policy, "commission.products[insurance].tiers[*].rate") == [
        "commission.products[insurance].tiers[0].rate", "commission.products[insurance].tiers[1].rate",
        "commission.products[insurance].tiers[2].rate"]
    # lists of objects with an id are addressed by id
    ids = [p.id for p in policy.commission.products]
    assert knobs.expand(policy, "commission.products[*].name") == [f"commission.products[{i}].name" for i in ids]
    assert knobs.expand(policy, "commission.cap.times_annual_base") == ["commission.cap.times_annual_base"]


def test_set_and_scale(policy) -> None:
    cap = knobs.knob("commission.cap.times_annual_base")
    assert cap.current(policy) == 1.5
    assert cap.apply(policy, 2.0).commission.cap.times_annual_base == 2.0
    # insurance tiers 1% / 1.5% / 2% scaled by 1.1: 1.1% / 1.65% / 2.2%
    ins = knobs.commission_rates(policy, "insurance")
    assert ins.mode == "scale" and ins.current(policy) == 1.0
    rates = [t.rate for t in ins.apply(policy, 1.1).commission.product("insurance").tiers]
    assert rates == pytest.approx([0.011, 0.0165, 0.022])
    # loans pay 6 元 per 万元: the knob scales rate_per_10k (6 x 0.5 = 3)
    loans = knobs.commission_rates(policy, "loans")
    assert loans.paths == ("commission.products[loans].rate_per_10k",)
    assert loans.apply(policy, 0.5).commission.product("loans").rate_per_10k == 3.0
    # a rate never goes above 1 (100%)
    assert max(t.rate for t in ins.apply(policy, 1000.0).commission.product("insurance").tiers) == 1.0
    # the bonus curve's payouts: [[60, 0], [70, 0.5], [100, 1], [120, 1.5]] x 2
    curve = knobs.bonus_curve(policy).apply(policy, 2.0).bonus.curve
    assert [y for _, y in curve] == [0.0, 1.0, 2.0, 3.0]


def test_calibration_review_and_explorer_speak_the_same_knobs(policy, tiny) -> None:
    # calibration takes a path for a tier's upper bound, kept between its neighbours
    setter, current, (lo, hi), what = calibration.knob_setter(policy, "commission.products[insurance].tiers[0].upto")
    assert current == 1_000_000 and lo == 1.0 and hi == 5_000_000 - 1.0
    assert setter(2e6).commission.product("insurance").tiers[0].upto == 2e6
    # the review's default knobs and the explorer's are Knob objects with policy paths
    assert all(isinstance(k, knobs.Knob) for k in review.default_knobs(policy))
    assert all(isinstance(k, knobs.Knob) for k in explorer.knobs(policy))
    rate = next(k for k in explorer.knobs(policy) if k.path == "commission.products[insurance].tiers[0].rate")
    assert rate.value == 0.01 and rate.current(policy) == 0.01
    # a Knob with low and high runs through the tornado
    table = review.sensitivity(policy, tiny, knobs=[knobs.commission_rates(policy, "insurance", low=0.9, high=1.1)])
    assert table.loc[0, "cost_high"] - table.loc[0, "base_cost"] == pytest.approx(1_300.0, abs=0.01)
