"""compkit.career: the salary review, promotion and demotion (worked by hand), the eligibility and the reasons
as separate steps, and the salary review's budget property."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compkit import career
from compkit.money import round_cents

END = pd.Timestamp("2025-12-31")
PROPS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ----------------------------------------------------------------------------------- salary review


def review_people(base, grade, rating, active=None) -> pd.DataFrame:
    n = len(base)
    return pd.DataFrame({"employee_id": [f"P{i + 1}" for i in range(n)], "grade": grade,
                         "base_monthly_used": np.asarray(base, dtype="float64"), "rating": rating,
                         "active_at_end": np.ones(n, bool) if active is None else active})


def test_salary_review_merit_matrix_over_budget(policy):
    # bands [0.9, 1.1]; merit A [8%, 6%, 4%], B [6%, 4.5%, 3%]; budget 3.5% of base payroll
    people = review_people([6_000, 9_500, 14_300], ["CM1", "CM2", "SCM"], ["A", "B", "A"])
    table, info = career.salary_review(people, policy)
    # compa-ratios: 6,000 / 7,000 = 0.857 (below 0.9); 9,500 / 9,500 = 1.0; 14,300 / 13,000 = 1.1 exactly:
    # a ratio equal to a bound falls in the higher band ('1.1 and above')
    assert table["compa_ratio"].tolist() == pytest.approx([6 / 7, 1.0, 1.1])
    assert table["band"].tolist() == [0, 1, 2]
    assert table["band_label"].tolist() == ["below 0.9", "0.9 to below 1.1", "1.1 and above"]
    assert table["merit_pct"].tolist() == [0.08, 0.045, 0.04]
    # cost: (6,000 x 8% + 9,500 x 4.5% + 14,300 x 4%) x 12 = (480 + 427.5 + 572) x 12 = 1,479.5 x 12 = 17,754
    assert info["cost_before"] == pytest.approx(17_754.0)
    # budget: 3.5% x 12 x (6,000 + 9,500 + 14,300) = 3.5% x 357,600 = 12,516
    assert info["budget_amount"] == pytest.approx(12_516.0)
    # over budget: factor 12,516 / 17,754 = 0.704968...
    factor = 12_516 / 17_754
    assert info["scale_factor"] == pytest.approx(factor)
    assert info["cost_after"] == pytest.approx(12_516.0)
    assert table["raise_pct"].tolist() == pytest.approx([0.08 * factor, 0.045 * factor, 0.04 * factor])
    # 6,000 x (1 + 8% x 0.704968) = 6,000 x 1.0563975 = 6,338.38
    assert round_cents(table["new_base_monthly"].iloc[0]) == 6_338.38
    assert "scaled by 0.7050" in table["reason"].iloc[0]


def test_salary_review_boundary_leavers_and_no_rating(policy):
    # 6,300 / 7,000 = 0.9 exactly: the higher band (0.9 to below 1.1), merit B 4.5%
    people = review_people([6_300, 7_000, 7_000], ["CM1", "CM1", "CM1"], ["B", "A", None],
                           active=np.array([True, False, True]))
    table, info = career.salary_review(people, policy)
    assert table["band"].iloc[0] == 1 and table["merit_pct"].iloc[0] == 0.045
    assert table["merit_pct"].tolist()[1:] == [0.0, 0.0]
    assert table["reason"].iloc[1] == "left before the end of the cycle: no raise"
    assert table["reason"].iloc[2] == "no rating: no raise"
    # within budget: 6,300 x 4.5% x 12 = 3,402 <= 3.5% x 12 x (6,300 + 7,000) = 5,586 (the leaver is out)
    assert info["cost_before"] == pytest.approx(3_402.0)
    assert info["budget_amount"] == pytest.approx(5_586.0)
    assert info["scale_factor"] == 1.0
    assert table["raise_pct"].iloc[0] == 0.045
    assert table["new_base_monthly"].iloc[0] == pytest.approx(6_583.5)
    # the engine's column name base_monthly is accepted too
    same, _ = career.salary_review(people.rename(columns={"base_monthly_used": "base_monthly"}), policy)
    assert same["raise_pct"].tolist() == table["raise_pct"].tolist()


# ------------------------------------------------------------------------------ promotion, demotion


def promo_people() -> tuple[pd.DataFrame, pd.DataFrame]:
    people = pd.DataFrame({
        "employee_id": ["P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8"],
        "grade": ["CM1", "CM1", "CM2", "CM2", "CM2", "SCM", "CM1", "RM"],
        "grade_since": pd.to_datetime(["2023-07-01", "2025-03-01", "2022-01-01", "2021-01-01", "2021-01-01",
                                       "2019-01-01", None, "2018-01-01"]),
        "hire_date": pd.to_datetime(["2020-01-01", "2020-01-01", "2019-01-01", "2019-01-01", "2019-01-01",
                                     "2015-01-01", "2023-01-01", "2010-01-01"]),
        "rating": ["B", "A", "B", "E", "E", "A", "B", "A"],
        "composite": [96.0, 110.0, 94.96, 30.0, 30.0, 112.0, 96.0, 110.0],
        "risk_management": [80.0, 80.0, 80.0, 80.0, 80.0, 85.0, 80.0, 80.0],
    })
    history = pd.DataFrame({
        "employee_id": ["P1", "P1", "P2", "P3", "P4", "P5", "P6", "P6", "P7", "P8"],
        "cycle": ["2023", "2024", "2024", "2024", "2024", "2024", "2024", "2025", "2024", "2024"],
        "rating": ["E", "C", "B", "B", "D", "C", "B", "E", "C", "A"],
    })
    return people, history


PROMOTION_RULES = [  # the rules these worked examples use, stated here so the tests do not follow the shipped file
    {"from": "CM1", "to": "CM2", "min_years_in_grade": 1, "last_ratings_at_least": ["B", "C"]},
    {"from": "CM2", "to": "SCM", "min_years_in_grade": 2, "last_ratings_at_least": ["B", "B"], "min_composite": 95},
    {"from": "SCM", "to": "RM", "min_years_in_grade": 3, "last_ratings_at_least": ["A", "B"],
     "min_indicator_scores": {"risk_management": 80}},
]


def promo_policy(policy):
    return policy.updated({"promotion": PROMOTION_RULES})


def test_promotion_passes_with_its_reason(policy):
    people, history = promo_people()
    out = career.promotions(people, history, promo_policy(policy), END).set_index("employee_id")
    p1 = out.loc["P1"]
    # CM1 -> CM2: at least 1 year in grade, last ratings at least B, C.
    # 2023-07-01 .. 2025-12-31 = 914 days / 365.25 = 2.50 years; ratings: this cycle B, then 2024 C (the most
    # recent history row; 2023's E is older and not needed)
    assert p1["recommendation"] == "promote" and p1["to_grade"] == "CM2"
    assert p1["years_in_grade"] == pytest.approx(914 / 365.25)
    assert p1["reason"] == "promote to CM2: 2.5 years in CM1 (≥ 1); ratings B, C (at least B, C)"
    # SCM -> RM: 3 years, ratings at least A, B, risk management >= 80. The history row of 2025 (this
    # cycle) is ignored: this cycle's rating is the rating column.
    p6 = out.loc["P6"]
    assert p6["recommendation"] == "promote" and p6["to_grade"] == "RM"
    assert p6["reason"] == ("promote to RM: 7.0 years in SCM (≥ 3); ratings A, B (at least A, B); "
                            "risk_management score 85.0 (≥ 80)")


def test_promotion_fails_with_what_failed(policy):
    people, history = promo_people()
    out = career.promotions(people, history, promo_policy(policy), END).set_index("employee_id")
    # P2: 2025-03-01 .. 2025-12-31 = 305 days / 365.25 = 0.835 years < 1; ratings A, B are fine
    p2 = out.loc["P2"]
    assert p2["recommendation"] == "none" and p2["to_grade"] == ""
    assert p2["reason"] == ("not promoted to CM2 (not met: years in grade): 0.8 years in CM1 (≥ 1); "
                            "ratings A, B (at least B, C)")
    assert p2["near_miss"]
    # P3: CM2 -> SCM needs composite >= 95; 94.96 fails and is shown truncated (94.9, not 95.0)
    p3 = out.loc["P3"]
    assert p3["recommendation"] == "none"
    assert p3["reason"] == ("not promoted to SCM (not met: composite): 4.0 years in CM2 (≥ 2); "
                            "ratings B, B (at least B, B); composite 94.9 (≥ 95)")
    # P7: no grade_since -> the hire date 2023-01-01 (3.0 years); ratings B, C pass
    assert out.loc["P7", "recommendation"] == "promote"
    assert out.loc["P7", "years_in_grade"] == pytest.approx(1095 / 365.25)
    # P8: top of the ladder, no rule from RM
    assert out.loc["P8", "reason"] == "no promotion rule from grade RM"


def test_demotion(policy):
    people, history = promo_people()
    out = career.promotions(people, history, promo_policy(policy), END).set_index("employee_id")
    # CM2 -> CM1 when the last ratings are at most E, D: P4 has E this cycle and D in 2024
    p4 = out.loc["P4"]
    assert p4["recommendation"] == "demote" and p4["to_grade"] == "CM1"
    assert p4["reason"] == "demote to CM1: ratings E, D (at most E, D)"
    # P5: E then C: C is better than D, so no demotion; the promotion rule explains the 'none'
    p5 = out.loc["P5"]
    assert p5["recommendation"] == "none"
    assert p5["reason"].startswith("not promoted to SCM (not met: ratings, composite)")


def test_promotion_missing_history_and_leavers(policy):
    people, history = promo_people()
    people["active_at_end"] = [True, True, True, False, True, True, True, True]
    out = career.promotions(people, history[history["employee_id"] != "P1"], promo_policy(policy), END)
    out = out.set_index("employee_id")
    # no rating on record for 2024: 'none' fails "at least C"
    assert out.loc["P1", "recommendation"] == "none"
    assert "ratings B, none (at least B, C)" in out.loc["P1", "reason"]
    assert out.loc["P4", "recommendation"] == "none"
    assert out.loc["P4", "reason"] == "left before the end of the cycle: no promotion or demotion"
    # without history at all only this cycle's rating is known
    none = career.promotions(people, None, promo_policy(policy), END)
    assert (none["recommendation"] != "promote").all()


def test_promotion_first_passing_rule_wins(policy):
    pol = policy.updated({"promotion": [
        {"from": "CM1", "to": "SCM", "min_years_in_grade": 1, "min_composite": 115},
        {"from": "CM1", "to": "CM2", "min_years_in_grade": 1},
    ]})
    people, history = promo_people()
    out = career.promotions(people, history, pol, END).set_index("employee_id")
    # P1 fails the fast track (composite 96 < 115) but passes the second rule
    assert out.loc["P1", "to_grade"] == "CM2"
    assert out.loc["P1", "reason"] == "promote to CM2: 2.5 years in CM1 (≥ 1)"
    assert not out.loc["P1", "near_miss"]


def test_eligibility_and_reasons_are_separate_steps(policy):
    # the eligibility decides without any text; the reasons are built from it alone, and together they are
    # the promotions table
    people, history = promo_people()
    pol = promo_policy(policy)
    e = career.promotion_eligibility(people, history, pol, END)
    # P1 promote (code 1) to CM2 (grade position 1), P4 demote (2) to CM1 (0), P2 none (0)
    assert e.recommendation.tolist() == [1, 0, 0, 2, 0, 1, 1, 0]
    assert e.to_code.tolist() == [1, -1, -1, 0, -1, 3, 1, -1]
    # P2 missed one condition (years in grade), P3 one (composite), P5 two (ratings, composite)
    assert e.near_miss.tolist() == [False, True, True, False, False, False, False, False]
    kinds = [(c.kind, c.rule.from_, c.rule.to) for c in e.checks]
    assert kinds == [("demote", "CM2", "CM1"), ("promote", "CM1", "CM2"), ("promote", "CM2", "SCM"),
                     ("promote", "SCM", "RM")]
    cm2 = e.checks[2]  # CM2 -> SCM checked on P3 and P5 (P4 is already demoted)
    assert cm2.rows.tolist() == [2, 4]
    assert [c.name for c in cm2.conditions] == ["years in grade", "ratings", "composite"]
    assert cm2.pattern.tolist() == [0b100, 0b110]  # P3: composite failed; P5: ratings and composite
    reasons = career.promotion_reasons(e, pol).to_pylist()
    table = career.promotions(people, history, pol, END)
    assert reasons == table["reason"].tolist()
    assert reasons[3] == "demote to CM1: ratings E, D (at most E, D)"


# ------------------------------------------------------------------------------------------ properties


@PROPS
@given(st.lists(st.tuples(st.floats(3_000, 40_000), st.sampled_from(["CM1", "CM2", "SCM", "RM"]),
                          st.sampled_from(["A", "B", "C", "D", "E", None]), st.booleans()),
                min_size=1, max_size=40),
       st.floats(0, 0.2))
def test_scaled_merit_cost_within_budget(policy, rows, budget):
    pol = policy.updated({"salary_review.budget": budget})
    base, grade, rating, active = zip(*rows)
    table, info = career.salary_review(review_people(list(base), list(grade), list(rating), np.array(active)), pol)
    cost = float((table["base_monthly"] * table["raise_pct"] * 12).sum())
    assert cost <= info["budget_amount"] + 0.005
    assert info["cost_after"] <= info["budget_amount"] + 0.005
    assert 0 <= info["scale_factor"] <= 1  # a zero budget scales every raise to 0
    if info["cost_before"] <= info["budget_amount"]:
        assert info["scale_factor"] == 1.0


RATINGS = st.sampled_from(["A", "B", "C", "D", "E", None])


@PROPS
@given(st.lists(st.tuples(st.sampled_from(["CM1", "CM2", "SCM", "RM"]), RATINGS, RATINGS, st.floats(0, 120),
                          st.integers(0, 3000), st.booleans()), min_size=1, max_size=30))
def test_reasons_agree_with_the_eligibility(policy, rows):
    # whatever the people, the words say what the eligibility decided: a promotion's reason names the grade it
    # goes to, a demotion's likewise, a 'none' says why not; a near miss failed exactly one condition
    grade, rating, last, composite, days, active = zip(*rows)
    n = len(rows)
    people = pd.DataFrame({"employee_id": [f"P{i}" for i in range(n)], "grade": grade, "rating": rating,
                           "composite": composite, "active_at_end": active,
                           "grade_since": END - pd.to_timedelta(np.array(days), unit="D"),
                           "risk_management": composite})
    history = pd.DataFrame({"employee_id": people["employee_id"], "cycle": "2024", "rating": last})
    pol = promo_policy(policy)
    e = career.promotion_eligibility(people, history, pol, END)
    table = career.promotions(people, history, pol, END)
    for rec, to, reason, near, act in zip(table["recommendation"], table["to_grade"], table["reason"],
                                          table["near_miss"], active):
        if not act:
            assert rec == "none" and reason == "left before the end of the cycle: no promotion or demotion"
        elif rec == "promote":
            assert reason.startswith(f"promote to {to}: ")
        elif rec == "demote":
            assert reason.startswith(f"demote to {to}: ")
        else:
            assert to == "" and (reason.startswith("not promoted to ") or reason.startswith("no promotion rule"))
        if near:
            assert rec == "none" and reason.startswith("not promoted to ") and ", " not in reason.split(")")[0]
    assert (table["recommendation"].map({"none": 0, "promote": 1, "demote": 2}).to_numpy() == e.recommendation).all()
