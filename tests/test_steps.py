"""compkit.steps: pay steps (岗位工资 x 薪档), the step review (调档) and placement on promotion and demotion.
Figures worked out by hand (CNY a month)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import tiny_tables, write_tables

from compkit.career import place_on_new_grade
from compkit.data import load_dataset
from compkit.engine import evaluate
from compkit.errors import PolicyError
from compkit.policy import Policy
from compkit.steps import placement, review_steps, step_pay

CM1 = [6000, 6400, 6800, 7200, 7600, 8000]
CM2 = [8000, 8500, 9000, 9500, 10000, 10500, 11000]
MOVES = {"A": 2, "B": 1, "C": 1, "D": 0, "E": -1}


def stepped(policy: Policy, method: str = "steps") -> Policy:
    return policy.updated({"grades[CM1].steps": CM1, "grades[CM2].steps": CM2,
                           "salary_review.method": method, "salary_review.step_moves": MOVES})


def test_step_pay(policy: Policy) -> None:
    p = stepped(policy)
    out = step_pay(["CM2", "CM1", "SCM", "CM2", "CM2"], [4, 1, 2, None, 9], p)
    # CM2 step 4 = 9,500; CM1 step 1 = 6,000; SCM has no steps; no step; step 9 is past CM2's 7 steps
    assert out[:2].tolist() == [9_500.0, 6_000.0] and np.isnan(out[2:]).all()


def test_review_moves_steps_by_rating(policy: Policy) -> None:
    p = stepped(policy)
    new, pay = review_steps(["CM2", "CM2", "CM2", "CM1", "CM1"], [4, 6, 4, 1, 3], ["A", "A", "E", "E", "B"],
                            [True, True, True, True, False], p)
    # A +2: 4 -> 6 (10,500); A +2 from 6: 8 is past the top: 7 (11,000); E -1: 4 -> 3 (9,000);
    # E -1 from step 1: stays 1 (6,000); not eligible (left): no move
    assert new[:4].tolist() == [6, 7, 3, 1] and pay[:4].tolist() == [10_500, 11_000, 9_000, 6_000]
    assert np.isnan(new[4]) and np.isnan(pay[4])


def test_placement_lowest_step_at_or_above_current_pay(policy: Policy) -> None:
    p = stepped(policy)
    step, pay = placement(["CM2", "CM2", "CM2", "CM1", "SCM", "CM1"], [7_935.73, 9_000.0, 12_000.0, 8_500.0,
                                                                     11_500.0, 8_500.0],
                          [True, True, True, False, True, False], p)
    # promoted to CM2 at 7,935.73: the lowest step at or above is step 1 (8,000); at exactly 9,000: step 3;
    # above the top (12,000): the top step 7 (11,000); demoted to CM1 at 8,500: every step is below: top (8,000)
    assert step[:4].tolist() == [1, 3, 7, 6] and pay[:4].tolist() == [8_000, 9_000, 11_000, 8_000]
    # SCM has no steps: promotion pays max(11,500, band minimum 11,000) = 11,500
    assert np.isnan(step[4]) and pay[4] == 11_500
    # without steps in CM1 a demotion pays min(pay, band maximum 8,000)
    step_b, pay_b = placement(["CM1"], [8_500.0], [False], policy)
    assert np.isnan(step_b[0]) and pay_b[0] == 8_000


def test_promotion_table_shows_the_pay_change(policy: Policy) -> None:
    # the issue's case: E00001 moves to CM2 at 7,935.73, below CM2's minimum of 8,000: now 8,000 (+64.27)
    promotions = pd.DataFrame({"employee_id": ["E00001", "E2"], "grade": ["CM1", "CM2"],
                               "recommendation": ["promote", "none"], "to_grade": ["CM2", ""], "reason": ["", ""]})
    review = pd.DataFrame({"new_base_monthly": [7_935.73, 9_200.0]})
    out = place_on_new_grade(promotions, review, policy)
    assert out.loc[0, "base_monthly_before"] == 7_935.73 and out.loc[0, "new_base_monthly"] == 8_000.0
    assert out.loc[0, "pay_change"] == 64.27
    assert np.isnan(out.loc[1, "new_base_monthly"])
    out = place_on_new_grade(promotions, review, stepped(policy))
    assert out.loc[0, "new_step"] == 1 and out.loc[0, "new_base_monthly"] == 8_000.0


def test_engine_pays_the_step_and_reviews_by_steps(tmp_path, policy: Policy) -> None:
    p = stepped(policy)
    tables = tiny_tables()
    tables["employees"]["step"] = [4, 2, None, None]  # E1 CM2 step 4, E2 CM1 step 2
    data = load_dataset(write_tables(tables, tmp_path / "d"), policy=p)
    out = evaluate(p, data)
    s = out.summary.set_index("employee_id")
    # E1: base from the step table, 9,500 a month x 12 = 114,000 (the same as its own base_monthly)
    assert s.loc["E1", "base_monthly"] == 9_500 and s.loc["E1", "base_source"] == "step"
    # E2: CM1 step 2 = 6,400 a month (not the grade midpoint 7,000), 184 of 365 days: 6,400 x 12 x 184/365
    assert s.loc["E2", "base_pay"] == pytest.approx(round(6_400 * 12 * 184 / 365, 2))
    r = out.salary_review.set_index("employee_id")
    moves = MOVES[s.loc["E1", "rating"]]
    assert r.loc["E1", "new_step"] == 4 + moves
    assert r.loc["E1", "new_base_monthly"] == CM2[4 + moves - 1]
    assert r.loc["E1", "raise_pct"] == pytest.approx(CM2[4 + moves - 1] / 9_500 - 1)
    # the reason in the engine's English words, singular or plural (no Chinese: an English statement shows it)
    plural = "" if abs(moves) == 1 else "s"
    assert r.loc["E1", "reason"] == \
        f"rating {s.loc['E1', 'rating']}: step 4 -> step {4 + moves} ({moves:+d} step{plural})"
    # E3 (SCM, no steps) keeps the merit matrix
    assert np.isnan(r.loc["E3", "new_step"])
    assert out.reconcile() == []


def test_step_policy_rules(policy: Policy) -> None:
    with pytest.raises(PolicyError, match="steps must be strictly increasing"):
        policy.updated({"grades[CM1].steps": [6000, 5900]})
    with pytest.raises(PolicyError, match="no grade has steps"):
        policy.updated({"salary_review.method": "steps", "salary_review.step_moves": MOVES})


def test_step_reasons_one_text_per_move() -> None:
    from compkit.career import _step_reasons

    got = _step_reasons(pd.Series(["A", "E", "A", np.nan], dtype="str"), np.array([3.0, 2.0, 3.0, 4.0]),
                        np.array([5.0, 1.0, 4.0, 4.0]))
    # 3 -> 5 is +2 steps, 2 -> 1 is -1 step, 3 -> 4 +1 step; no rating: no text
    assert got.to_pylist() == ["rating A: step 3 -> step 5 (+2 steps)", "rating E: step 2 -> step 1 (-1 step)",
                               "rating A: step 3 -> step 4 (+1 step)", None]
