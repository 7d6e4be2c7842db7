"""compkit.protection: new-hire protection (新人保护期). Figures worked out by hand (CNY)."""
from __future__ import annotations

import pandas as pd
import pytest

from compkit.engine import evaluate
from compkit.money import round_cents
from compkit.policy import NewHireProtection, Policy
from compkit.protection import block_demotions, protected_share, protection_end

CYCLE = (pd.Timestamp("2025-01-01"), pd.Timestamp("2025-12-31"))


def test_protection_end_and_share() -> None:
    assert protection_end(["2025-07-15"], 6)[0] == pd.Timestamp("2026-01-14")
    share = protected_share(pd.to_datetime(["2025-09-01", "2025-03-01", "2020-01-01", "2025-05-01"]),
                            pd.to_datetime([None, None, None, "2025-06-30"]), *CYCLE, 6)
    # 2025-09-01 + 6 months: to 2026-02-28, cut at the cycle's end: 122 days (Sep 30 + Oct 31 + Nov 30 + Dec 31)
    # 2025-03-01: to 2025-08-31: 184 days; hired 2020: 0; hired 2025-05-01, left 2025-06-30: 61 days
    assert share.tolist() == pytest.approx([122 / 365, 184 / 365, 0.0, 61 / 365])


def test_guaranteed_minimum_bonus(tiny, policy: Policy) -> None:
    plain = evaluate(policy, tiny).summary.set_index("employee_id")
    m = plain.loc["E2", "payout_multiple"]
    assert m < 1.5
    # E2 (CM1, no base given: midpoint 7,000) joined 2025-07-01: target bonus 20% x 84,000 = 16,800 a year;
    # employed 184 of 365 days, all inside 12 months of protection: 16,800 x max(m, 1.5) x 184/365
    full = policy.updated({"new_hire_protection": {"months": 12, "min_payout": 1.5}})
    s = evaluate(full, tiny).summary.set_index("employee_id")
    assert s.loc["E2", "bonus"] == round_cents(16_800 * 1.5 * 184 / 365)  # 12,703.56
    assert s.loc["E2", "new_hire_protected_share"] == pytest.approx(184 / 365)
    # 3 months of protection: July to September, 92 days at 1.5, the other 92 days at m
    part = policy.updated({"new_hire_protection": {"months": 3, "min_payout": 1.5}})
    s3 = evaluate(part, tiny).summary.set_index("employee_id")
    assert s3.loc["E2", "bonus"] == round_cents(16_800 * (m * 92 / 365 + 1.5 * 92 / 365))
    # people hired long ago are not protected: same bonus as without the rule
    for e in ("E1", "E3"):
        assert s.loc[e, "bonus"] == plain.loc[e, "bonus"]
    assert evaluate(full, tiny).reconcile() == []


def test_no_demotion_while_protected() -> None:
    promotions = pd.DataFrame({"employee_id": ["A", "B", "C"], "grade": ["CM2"] * 3,
                               "recommendation": ["demote", "demote", "promote"], "to_grade": ["CM1", "CM1", "SCM"],
                               "reason": ["ratings E, D", "ratings E, D", "ratings A, A"]})
    hire = pd.to_datetime(["2025-03-01", "2024-01-01", "2025-06-01"])
    out = block_demotions(promotions, hire, CYCLE[1], NewHireProtection(months=12))
    # A: protected to 2026-02-28, after the cycle's end: not demoted; B: protection ended 2024-12-31: demoted;
    # C: a promotion is never blocked
    assert out["recommendation"].tolist() == ["none", "demote", "promote"]
    assert out.loc[0, "to_grade"] == ""
    assert out.loc[0, "reason"] == "new-hire protection until 2026-02-28: no demotion (was: ratings E, D)"
    allowed = block_demotions(promotions, hire, CYCLE[1], NewHireProtection(months=12, no_demotion=False))
    assert allowed["recommendation"].tolist() == ["demote", "demote", "promote"]
