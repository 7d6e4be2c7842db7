"""compkit.compliance: deferral of any component, leavers, clawbacks (追索扣回), the wage-bill allocation (工资总额)
and the sound-pay checks (稳健薪酬), each worked out by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compkit import compliance as cp
from compkit.engine import evaluate
from compkit.errors import PolicyError
from compkit.policy import Deferral, Policy


def row(out, employee_id: str) -> pd.Series:
    return out.summary.set_index("employee_id").loc[employee_id]


# ------------------------------------------------------------------------------------------- deferral


def test_split_deferred_in_whole_cents() -> None:
    paid, deferred = cp.split_deferred(np.array([12_345.67, 12_345.67, 999.99]), np.array([0.4, 0.0, 0.5]),
                                       min_amount=1_000.0)
    # 0.4 x 12,345.67 = 4,938.268 -> 4,938.27 deferred; 12,345.67 - 4,938.27 = 7,407.40 paid now;
    # 999.99 is below min_amount 1,000: paid in full
    assert deferred.tolist() == [4_938.27, 0.0, 0.0]
    assert paid.tolist() == [7_407.40, 12_345.67, 999.99]


def test_deferral_shares_by_grade_component_and_chosen_roles() -> None:
    d = Deferral(share=0.4, components=["bonus", "commission"], share_by_grade={"RM": 0.5})
    grades = ["CM1", "SCM", "RM"]
    key = [False, True, True]
    # key roles only: CM1 0, SCM the share 0.4, RM its own 0.5
    assert cp.deferral_shares(grades, key, d, "commission").tolist() == [0.0, 0.4, 0.5]
    # chosen roles replace applies_to: only CM1 defers
    chosen = d.model_copy(update={"grades": ["CM1"]})
    assert cp.deferral_shares(grades, key, chosen, "bonus").tolist() == [0.4, 0.0, 0.0]
    # commission not listed: never deferred
    assert cp.deferral_shares(grades, key, Deferral(share=0.4), "commission").tolist() == [0.0, 0.0, 0.0]


def test_schedule_equal_parts_remainder_first_with_due_dates() -> None:
    s = cp.deferral_schedule(["A", "B"], {"bonus": [10_000.00, 0.0], "commission": [0.02, 300.0]}, 2025, 3,
                             due="03-31")
    a = s[s["employee_id"] == "A"]
    # bonus 10,000.00 / 3 = 3,333.33 r 1 cent -> 3,333.34 / 3,333.33 / 3,333.33; commission 2 cents -> 0.01,0.01,0
    assert a["scheduled"].tolist() == [3_333.34, 3_333.33, 3_333.33, 0.01, 0.01, 0.0]
    assert a["component"].tolist() == ["bonus"] * 3 + ["commission"] * 3
    assert [d.date().isoformat() for d in a["due"]][:3] == ["2026-03-31", "2027-03-31", "2028-03-31"]
    assert s.groupby("employee_id")["scheduled"].sum().round(2).to_dict() == {"A": 10_000.02, "B": 300.0}


def test_engine_defers_commission_for_key_roles(tiny, policy: Policy) -> None:
    p = policy.updated({"bonus.deferral.components": ["bonus", "commission"]})
    out = evaluate(p, tiny)
    e3 = row(out, "E3")
    # E3 (SCM, key role) earned commission 16,800.00: 40% = 6,720.00 deferred, 10,080.00 paid now
    assert (e3["commission_deferred"], e3["commission_paid"], e3["commission"]) == (6_720.00, 10_080.00, 16_800.00)
    c = out.deferrals[(out.deferrals["employee_id"] == "E3") & (out.deferrals["component"] == "commission")]
    assert c["scheduled"].tolist() == [2_240.00] * 3  # 6,720 / 3
    # total cash counts only what is paid now: 156,000 + 13,200 + 39,971.88 + 10,080 = 219,251.88
    assert e3["total_cash"] == 219_251.88
    assert out.reconcile() == []
    # the deferred share of E3's performance pay is now (26,647.92 + 6,720) / 83,419.80 = 40.0%
    chk = out.compliance.set_index(["rule", "population"])
    assert chk.loc[("deferral_share", "key roles (RM, SCM)"), "value"] == pytest.approx(33_367.92 / 83_419.80)
    assert chk.loc[("deferral_share", "key roles (RM, SCM)"), "status"] == "pass"


# -------------------------------------------------------------------------------------------- leavers


def _with_exit(data, reasons: dict[str, str]):
    emp = data.employees.copy()
    emp["exit_reason"] = emp["employee_id"].map(reasons).astype("string")
    return data.replace(employees=emp)


def test_leaver_rules_need_an_exit_in_the_cycle(policy: Policy) -> None:
    p = policy.updated({"leavers": {"resignation": {"deferred": "forfeit", "bonus": "forfeit"},
                                    "death": {"deferred": "pay_early"}}})
    emp = pd.DataFrame({"employee_id": ["A", "B", "C", "D"],
                        "exit_date": pd.to_datetime(["2025-07-21", "2026-02-01", "2025-05-01", None]),
                        "exit_reason": pd.Series(["resignation", "resignation", "death", pd.NA], dtype="string")})
    r = cp.leaver_rules(emp, pd.Timestamp("2025-12-31"), p)
    # B resigns after the cycle: not a leaver of this cycle; D has no exit
    assert r["leaver"].tolist() == [True, False, True, False]
    assert r["bonus_factor"].tolist() == [0.0, 1.0, 1.0, 1.0]
    assert r["deferred_rule"].tolist() == ["forfeit", "keep", "pay_early", "keep"]


def test_resignation_forfeits_deferred_pay_on_the_sample(sample, bank_policy: Policy) -> None:
    """E00028 (SCM, 对公, a key role: 40% of bonus and commission deferred) resigned on 2 July 2025. Without an
    exit reason the rule is to keep the deferral: 64,692.80 bonus paid + 43,128.53 deferred (40% of 107,821.33),
    114,451.70 commission paid + 76,301.13 deferred (40% of 190,752.83). Under a rule that forfeits a resigner's
    deferred pay (the bundled policy's, and the sample says resignation), the deferred parts are forfeited."""
    policy = bank_policy
    before = row(evaluate(policy, _with_exit(sample, {})), "E00028")
    assert (before["bonus_paid"], before["bonus_deferred"]) == (64_692.80, 43_128.53)
    assert (before["commission_paid"], before["commission_deferred"]) == (114_451.70, 76_301.13)
    data = _with_exit(sample, {"E00028": "resignation"})
    forfeit = policy.updated({"leavers": {"resignation": {"deferred": "forfeit", "bonus": "prorate"}}})
    out = evaluate(forfeit, data)
    e = row(out, "E00028")
    # paid now unchanged; 43,128.53 + 76,301.13 = 119,429.66 forfeited, nothing scheduled for later years
    assert (e["bonus_paid"], e["bonus_deferred"], e["bonus_forfeited"]) == (64_692.80, 0.0, 43_128.53)
    assert (e["commission_deferred"], e["commission_forfeited"]) == (0.0, 76_301.13)
    assert out.deferrals.loc[out.deferrals["employee_id"] == "E00028", "scheduled"].sum() == 0.0
    lv = out.leavers.set_index("employee_id").loc["E00028"]
    assert (lv["exit_reason"], lv["deferred_rule"], lv["deferred_forfeited"]) == ("resignation", "forfeit",
                                                                                   119_429.66)
    # the employer's cost falls by the forfeited amount: 457,143.97 - 119,429.66 = 337,714.31
    assert (before["employer_cost"], e["employer_cost"]) == (457_143.97, 337_714.31)
    # the sample as given carries exit_reason resignation and the bundled policy forfeits: the same figures
    assert row(evaluate(policy, sample), "E00028")["employer_cost"] == 337_714.31
    # a rule that forfeits the bonus as well: no bonus at all; 107,821.33 (64,692.80 + 43,128.53) is not
    # awarded, the deferred commission 76,301.13 is forfeited
    both = evaluate(policy.updated({"leavers": {"resignation": {"deferred": "forfeit", "bonus": "forfeit"}}}), data)
    eb = row(both, "E00028")
    assert (eb["bonus"], eb["bonus_paid"], eb["bonus_deferred"]) == (0.0, 0.0, 0.0)
    lb = both.leavers.set_index("employee_id").loc["E00028"]
    assert (lb["bonus_not_awarded"], lb["deferred_forfeited"]) == (107_821.33, 76_301.13)
    # death: paid early, nothing deferred: 107,821.33 bonus and 190,752.83 commission paid now
    early = evaluate(policy.updated({"leavers": {"death": {"deferred": "pay_early"}}}),
                     _with_exit(sample, {"E00028": "death"}))
    ee = row(early, "E00028")
    assert (ee["bonus_paid"], ee["bonus_deferred"], ee["commission_paid"]) == (107_821.33, 0.0, 190_752.83)
    assert out.reconcile() == [] and both.reconcile() == [] and early.reconcile() == []


# ------------------------------------------------------------------------------------------ clawbacks


def _schedule(ids, deferred):
    return cp.deferral_schedule(ids, {"bonus": deferred}, 2025, 3, "03-31")


def test_clawback_cancels_unpaid_deferred_latest_first_then_reports_the_rest() -> None:
    schedule = _schedule(["A"], [9_000.0])  # 3,000 due 2026-03-31, 2027-03-31, 2028-03-31
    claims = pd.DataFrame({"employee_id": ["A"], "date": ["2026-06-30"], "share": [0.3], "reason": ["npl"],
                           "loan_id": ["L1"]})
    s, reg = cp.apply_clawbacks(claims, pd.Series({"A": 50_000.0}), schedule)
    # claimed 0.3 x 50,000 = 15,000; the 2026 part was paid on 2026-03-31; 2028 then 2027 cancelled = 6,000;
    # 15,000 - 6,000 = 9,000 to recover from pay already made
    assert s["cancelled"].tolist() == [0.0, 3_000.0, 3_000.0]
    assert s["payable"].tolist() == [3_000.0, 0.0, 0.0]
    r = reg.iloc[0]
    assert (r["claimed"], r["cancelled"], r["to_recover"], r["loan_id"]) == (15_000.0, 6_000.0, 9_000.0, "L1")


def test_clawback_amounts_in_date_order_capped_at_performance_pay() -> None:
    schedule = _schedule(["A", "B"], [9_000.0, 0.0])
    claims = pd.DataFrame({"employee_id": ["A", "A", "B"], "date": ["2027-01-15", "2025-12-31", "2025-12-31"],
                           "amount": [4_000.0, 2_500.0, 100.0], "share": [np.nan, np.nan, np.nan],
                           "reason": ["second", "first", "none"]})
    s, reg = cp.apply_clawbacks(claims, pd.Series({"A": 6_000.0, "B": 0.0}), schedule)
    reg = reg.set_index("reason")
    # A's first claim (2025-12-31): 2,500 from 9,000 unpaid -> the 2028 part 3,000 loses 2,500
    assert (reg.loc["first", "claimed"], reg.loc["first", "cancelled"]) == (2_500.0, 2_500.0)
    # A's second claim (2027-01-15) asks 4,000 but only 6,000 - 2,500 = 3,500 of performance pay is left;
    # unpaid at that date: the 2027 and 2028 parts, 6,000, of which 2,500 already cancelled -> 3,500 cancelled
    assert (reg.loc["second", "claimed"], reg.loc["second", "cancelled"], reg.loc["second", "to_recover"]) == (
        3_500.0, 3_500.0, 0.0)
    assert reg.loc["second", "note"] == "capped at the performance pay of the cycle"
    a = s[s["employee_id"] == "A"]
    assert a["cancelled"].tolist() == [0.0, 3_000.0, 3_000.0]  # 6,000 in all, latest parts first
    assert (reg.loc["none", "claimed"], reg.loc["none", "note"]) == (
        0.0, "no performance pay in the cycle: nothing to claw back")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.floats(0, 20_000), st.integers(0, 1500)), min_size=1, max_size=8),
       st.lists(st.floats(0, 30_000), min_size=3, max_size=3))
def test_clawbacks_never_cancel_more_than_scheduled_and_add_up(raw, deferred) -> None:
    ids = ["A", "B", "C"]
    schedule = _schedule(ids, deferred)
    claims = pd.DataFrame({"employee_id": [ids[i] for i, _, _ in raw], "amount": [a for _, a, _ in raw],
                           "date": [pd.Timestamp("2025-12-31") + pd.Timedelta(days=d) for _, _, d in raw]})
    perf = pd.Series({i: 40_000.0 for i in ids})
    s, reg = cp.apply_clawbacks(claims, perf, schedule)
    assert (s["cancelled"] <= s["scheduled"] + 1e-9).all()
    cents = lambda x: np.rint(np.asarray(x) * 100).astype("int64")  # noqa: E731
    assert cents(reg["cancelled"]).sum() == cents(s["cancelled"]).sum()
    assert (cents(reg["claimed"]) == cents(reg["cancelled"]) + cents(reg["to_recover"])).all()
    assert (reg.groupby("employee_id")["claimed"].sum() <= 40_000.0 + 1e-9).all()


def test_clawbacks_table_goes_through_evaluate(tiny, policy: Policy) -> None:
    claims = pd.DataFrame({"employee_id": ["E3"], "date": ["2026-01-31"], "amount": [30_000.0],
                           "reason": ["loan L9 non-performing"], "loan_id": ["L9"]})
    out = evaluate(policy, tiny, clawbacks=claims)
    e3 = row(out, "E3")
    # nothing of E3's deferred 26,647.92 is paid by 2026-01-31: all cancelled; 30,000 - 26,647.92 = 3,352.08
    assert (e3["clawback_cancelled"], e3["clawback_to_recover"]) == (26_647.92, 3_352.08)
    # never netted: pay now and the awarded deferral stay as they were
    assert (e3["bonus_paid"], e3["bonus_deferred"]) == (39_971.88, 26_647.92)
    assert out.clawbacks["loan_id"].tolist() == ["L9"]
    assert out.reconcile() == []


# ------------------------------------------------------------------------------------------ wage bill


def test_allocate_within_groups_largest_remainder() -> None:
    # group 0: 100 cents over weights 1, 1, 1 -> 33.33 each, remainder 1 cent to the first: 34, 33, 33
    # group 1: 10 cents over 1, 3 -> 2.5, 7.5 -> 2, 7 and 1 cent left: remainders tie at .5 -> the earlier: 3, 7
    got = cp.allocate_within([100, 10], [0, 0, 0, 1, 1], [1, 1, 1, 1, 3])
    assert got.tolist() == [34, 33, 33, 3, 7]
    # a group whose weights are all 0 pays nothing
    assert cp.allocate_within([500], [0, 0], [0, 0]).tolist() == [0, 0]


def _people() -> pd.DataFrame:
    return pd.DataFrame({"employee_id": ["P1", "P2", "P3", "P4", "P5"],
                         "region": ["East", "East", "East", "West", "West"],
                         "branch": ["Pudong", "Pudong", "Minhang", "Anting", "Anting"],
                         "fte": [1.0, 1.0, 1.0, 1.0, 0.5], "days_share": [1.0, 1.0, 1.0, 1.0, 1.0],
                         "weight": [1.0, 3.0, 1.0, 1.0, 1.0]})


def _indicators() -> pd.DataFrame:
    # ftp_profit: East people on target (100 each), West people at 150% of target
    return pd.DataFrame({"employee_id": ["P1", "P2", "P3", "P4", "P5"], "indicator": "ftp_profit",
                         "actual": [100.0, 100.0, 100.0, 150.0, 75.0], "target": [100.0, 100.0, 100.0, 100.0, 50.0]})


def test_wage_bill_by_headcount_then_by_results(policy: Policy) -> None:
    p = policy.updated({"wage_bill": {"amount": 90_000.0, "headcount_weight": 1.0}})
    tree, amounts = cp.allocate_wage_bill(_people(), _indicators(), p)
    t = tree.set_index(["level", "unit"])
    # fte-years: East 3, West 1.5 of 4.5 -> 60,000 / 30,000; East: Pudong 2, Minhang 1 -> 40,000 / 20,000
    assert t.loc[(1, "East"), "pool"] == 60_000.0 and t.loc[(1, "West"), "pool"] == 30_000.0
    assert t.loc[(2, "Pudong"), "pool"] == 40_000.0 and t.loc[(2, "Minhang"), "pool"] == 20_000.0
    # Pudong pays P1:P2 = 1:3 -> 10,000 / 30,000; Anting pays P4:P5 = 1:1 -> 15,000 each
    assert amounts.tolist() == [10_000.0, 30_000.0, 20_000.0, 15_000.0, 15_000.0]
    assert (tree["paid"] == tree["pool"]).all() and (tree["unpaid"] == 0).all()
    assert t.loc[(0, "head office"), "headcount"] == 5

    q = policy.updated({"wage_bill": {"amount": 90_000.0, "headcount_weight": 0.5, "cap": 1.5,
                                      "scorecard": [{"indicator": "ftp_profit", "weight": 1.0}]}})
    tree, amounts = cp.allocate_wage_bill(_people(), _indicators(), q)
    t = tree.set_index(["level", "unit"])
    # scores: East 300/300 = 1.0, West 225/150 = 1.5; results = fte-years x score: East 3.0, West 2.25
    # East share = 0.5 x 3/4.5 + 0.5 x 3/5.25 = 0.333333 + 0.285714 = 0.619048 -> 55,714.29 (90,000 x 0.6190476)
    assert t.loc[(1, "West"), "score"] == pytest.approx(1.5)
    assert t.loc[(1, "East"), "pool"] == 55_714.29 and t.loc[(1, "West"), "pool"] == 34_285.71
    assert round(amounts.sum(), 2) == 90_000.00


def test_wage_bill_replaces_the_bonus_pool_in_evaluate(tiny, policy: Policy) -> None:
    p = policy.updated({"wage_bill": {"amount": 100_000.0, "headcount_weight": 1.0}})
    out = evaluate(p, tiny)
    # one region, one branch: the whole 100,000.00 goes to the branch and is paid by the bonus formula's weights
    # (before any pool): E1 27,719.64, E2 7,998.54, E3 66,619.80, E4 0 -> 100,000 x 27,719.64 / 102,337.98
    assert row(out, "E1")["bonus"] == pytest.approx(100_000 * 27_719.64 / 102_337.98, abs=0.006)
    assert round(out.summary["bonus"].sum(), 2) == 100_000.00
    a = out.allocation
    assert a["level"].tolist() == [0, 1, 2] and (a["pool"] == 100_000.0).all() and (a["paid"] == a["pool"]).all()
    assert out.reconcile() == []


def test_director_view_suppresses_small_groups() -> None:
    s = pd.DataFrame({"branch": ["X"] * 7 + ["Y"] * 3, "rating": ["B"] * 5 + ["A"] * 2 + ["B"] * 3,
                      "bonus": [100.0] * 5 + [300.0] * 2 + [50.0] * 3})
    v = cp.director_view(s, "branch", ["A", "B", "C"], min_group=5).set_index(["branch", "rating"])
    # X/B: 5 people, 500.00, mean 100.00; X/A (2 people) and all of Y (3 people) are suppressed
    assert (v.loc[("X", "B"), "people"], v.loc[("X", "B"), "pay_total"], v.loc[("X", "B"), "pay_mean"]) == (
        5, 500.0, 100.0)
    assert v.loc[("X", "A"), "suppressed"] and np.isnan(v.loc[("X", "A"), "pay_total"])
    assert v.loc[("Y", "B"), "suppressed"] and np.isnan(v.loc[("Y", "B"), "people"])


# --------------------------------------------------------------------------------------------- checks


def test_compliance_checks_worked_by_hand(tiny, policy: Policy) -> None:
    p = policy.updated({"compliance": {"senior_grades": ["RM"], "max_performance_multiple": 0.5}})
    out = evaluate(p, tiny)
    chk = out.compliance.set_index(["rule", "population"])
    # E2 (CM1): fixed 42,345.21 + 6,654.25 = 48,999.46; performance 7,998.54 + 1,500 = 9,498.54;
    # share 48,999.46 / 58,498.00 = 0.8376
    assert chk.loc[("fixed_pay_share", "grade CM1"), "value"] == pytest.approx(48_999.46 / 58_498.00)
    # all: fixed (127,200 + 48,999.46 + 169,200 + 29,884.93) / total (+ 45,219.64 + 9,498.54 + 83,419.80 + 0)
    fixed = 127_200 + 48_999.46 + 169_200 + 29_884.93
    assert chk.loc[("fixed_pay_share", "all people"), "value"] == pytest.approx(
        fixed / (fixed + 45_219.64 + 9_498.54 + 83_419.80))
    assert chk.loc[("fixed_pay_share", "all people"), ["status", "people_affected", "people"]].tolist() == [
        "fail", 4, 4]
    assert chk.loc[("fixed_pay_share", "grade RM"), "status"] == "n/a"  # nobody in RM
    # key roles: E3 defers 26,647.92 of 83,419.80 = 31.9% < 40%: fail, one person
    k = chk.loc[("deferral_share", "key roles (RM, SCM)")]
    assert (k["value"], k["status"], k["people_affected"]) == (pytest.approx(26_647.92 / 83_419.80), "fail", 1)
    assert chk.loc[("deferral_share", "senior management (RM)"), "status"] == "n/a"  # no RM with performance pay
    assert chk.loc[("deferral_years", "deferral policy"), ["value", "status"]].tolist() == [3.0, "pass"]
    assert chk.loc[("deferral_pace", "deferral schedules"), "status"] == "pass"
    # performance / base: E3 83,419.80 / 156,000 = 0.5347 > 0.5 (E1 45,219.64 / 114,000 = 0.3967)
    m = chk.loc[("performance_multiple", "all people")]
    assert (m["value"], m["status"], m["people_affected"]) == (pytest.approx(83_419.80 / 156_000), "fail", 1)
    assert set(out.compliance["source"]) == {"商业银行稳健薪酬监管指引（银监发〔2010〕14号）"}


def test_deferral_pace_catches_front_loaded_schedules(tiny, policy: Policy) -> None:
    out = evaluate(policy, tiny)
    d = out.deferrals.copy()
    e3 = (d["employee_id"] == "E3") & (d["component"] == "bonus")
    d.loc[e3, "scheduled"] = [13_323.96, 6_661.98, 6_661.98]  # half in the first year: ahead of even by 4,441.32
    checks, _ = cp.compliance_checks(out.summary, d, policy)
    pace = checks.set_index("rule").loc["deferral_pace"]
    assert (pace["status"], pace["people_affected"]) == ("fail", 1)
    assert pace["value"] == pytest.approx(13_323.96 - 26_647.92 / 3, abs=0.01)


def test_policy_rejects_unknown_grades_and_two_pools(policy: Policy) -> None:
    with pytest.raises(PolicyError, match="bonus.deferral.share_by_grade: unknown grade 'XX'"):
        policy.updated({"bonus.deferral.share_by_grade": {"XX": 0.5}})
    with pytest.raises(PolicyError, match="wage_bill and bonus.pool"):
        policy.updated({"bonus.pool": {"amount": 1000.0}, "wage_bill": {"amount": 1000.0, "headcount_weight": 1}})
    with pytest.raises(PolicyError, match="not an indicator sourced from metrics"):
        policy.updated({"wage_bill": {"amount": 1000.0, "scorecard": [{"indicator": "satisfaction", "weight": 1}]}})
    with pytest.raises(PolicyError, match="leavers"):
        policy.updated({"leavers": {"sabbatical": {"deferred": "keep"}}})


def test_claims_by_loan_go_to_the_sellers() -> None:
    sales = pd.DataFrame({"employee_id": ["A", "B", "C"], "loan_id": ["L1", "L1", "L2"]})
    claims = pd.DataFrame({"employee_id": [None, None, "C"], "loan_id": ["L1", "L1", None],
                           "amount": [100.01, np.nan, 5.0], "share": [np.nan, 0.2, np.nan],
                           "date": ["2026-01-31"] * 3, "reason": ["npl", "npl share", "other"]})
    out = cp.claims_by_loan(claims, sales)
    # C's own claim stays; L1 was sold by A and B: 100.01 split 50.01 / 50.00, the share claim goes to both
    assert out["employee_id"].tolist() == ["C", "A", "B", "A", "B"]
    assert out["amount"].tolist()[:3] == [5.0, 50.01, 50.0]
    assert np.isnan(out["amount"].iloc[3]) and out["share"].tolist()[3:] == [0.2, 0.2]
    # a sales table without loan ids: nothing to resolve
    assert cp.claims_by_loan(claims, sales.drop(columns="loan_id")) is claims


# ------------------------------------------------------------------------------ the data contract, the CLI


def _tables_with_claims():
    from conftest import tiny_tables

    tables = tiny_tables()
    tables["employees"]["exit_reason"] = [None, None, None, "resignation"]
    tables["clawbacks"] = pd.DataFrame({"employee_id": ["E3"], "date": ["2026-01-31"], "share": [None],
                                        "amount": [30_000.0], "reason": ["loan L9 non-performing"],
                                        "loan_id": ["L9"], "deal_id": [None]})
    return tables


def test_clawbacks_table_and_exit_reason_are_read_by_evaluate_and_the_cli(tmp_path, policy: Policy, capsys) -> None:
    from conftest import POLICY_2025, write_tables

    from compkit.cli import main
    from compkit.data import load_dataset

    folder = write_tables(_tables_with_claims(), tmp_path / "d")
    data = load_dataset(folder, policy=policy)
    out = evaluate(policy, data)
    # the table's claim on E3: 30,000 against the deferred 26,647.92 (none paid by 2026-01-31): 3,352.08 to recover
    e3 = row(out, "E3")
    assert (e3["clawback_cancelled"], e3["clawback_to_recover"]) == (26_647.92, 3_352.08)
    # E4 resigned on 2025-03-31: the 2025 policy's resignation rule (deferred forfeit, bonus prorated) applies
    assert out.leavers[["employee_id", "exit_reason", "deferred_rule"]].values.tolist() == [
        ["E4", "resignation", "forfeit"]]
    assert main(["evaluate", "--policy", str(POLICY_2025), "--data", str(folder), "--out",
                 str(tmp_path / "r.xlsx"), "--lang", "en"]) == 0
    printed = capsys.readouterr().out
    assert "clawbacks (see 'Clawbacks'): 1 claims, 26,647.92 CNY cancelled from deferred pay, 3,352.08 CNY to " \
           "recover from pay made" in printed
    assert "sound-pay checks (see 'Sound-pay compliance'): " in printed


def test_bad_clawbacks_and_exit_reasons_are_reported(tmp_path, policy: Policy) -> None:
    from conftest import write_tables

    from compkit.data import load_dataset
    from compkit.errors import DataError

    tables = _tables_with_claims()
    tables["employees"]["exit_reason"] = ["quit", "retirement", None, "resignation"]  # E2 has no exit date
    tables["clawbacks"] = pd.DataFrame({
        "employee_id": ["E3", "E3", "E9", None], "date": ["2026-01-31"] * 4, "share": [0.5, 1.5, None, None],
        "amount": [100.0, None, None, 50.0], "reason": ["both", "too much", "nothing", "no one"],
        "loan_id": [None, None, None, "L404"], "deal_id": [None] * 4})
    with pytest.raises(DataError) as err:
        load_dataset(write_tables(tables, tmp_path / "bad"), policy=policy)
    text = str(err.value)
    assert "employees.csv, row 2, column 'exit_reason': found 'quit'; expected resignation, retirement, dismissal, " \
           "transfer or death" in text
    assert "row 3, column 'exit_reason'" in text and "an exit_date" in text
    assert "clawbacks.csv, row 2, column 'amount'" in text and "a share or an amount, not both" in text
    assert "clawbacks.csv, row 3, column 'share': found 1.5" in text
    assert "clawbacks.csv, row 4, column 'share'" in text and "a share (0 to 1) or an amount" in text
    assert "clawbacks.csv, row 4, column 'employee_id': found 'E9'" in text
    assert "clawbacks.csv, row 5, column 'employee_id'" in text


def test_allocate_pools_over_scenarios_equals_each_scenario_alone(policy: Policy) -> None:
    # the Monte Carlo allocates a batch of scenarios at once: each scenario must get what it gets alone
    q = policy.updated({"wage_bill": {"amount": 90_000.0, "headcount_weight": 0.5, "cap": 1.5,
                                      "scorecard": [{"indicator": "ftp_profit", "weight": 1.0}]}})
    wb = q.wage_bill
    units = cp.wage_bill_units(_people(), wb)
    actual = np.array([[100.0, 100.0, 100.0, 150.0, 75.0], [50.0, 80.0, 100.0, 60.0, 75.0]])[:, :, None]
    target = np.array([100.0, 100.0, 100.0, 100.0, 50.0])[:, None]
    weight = np.array([[1.0, 3.0, 1.0, 1.0, 1.0], [2.0, 0.0, 1.0, 0.0, 0.0]])
    scores = [cp.unit_score_arrays(c, len(p), actual, target, wb, [False]) for c, p in zip(units.codes, units.paths)]
    together = cp.allocate_pools(units, wb, scores, weight)[-1]
    for s in range(2):
        alone = cp.allocate_pools(units, wb, [x[s:s + 1] for x in scores], weight[s:s + 1])[-1]
        assert together[s].tolist() == alone[0].tolist()
    # scenario 0 is the worked example above: East 55,714.29, West 34,285.71
    assert together[0].sum() == 9_000_000
    # scenario 1: scores East 230 / 300 = 0.76667, West 135 / 150 = 0.9; results East 3 x 0.76667 = 2.3, West
    # 1.5 x 0.9 = 1.35; East share 0.5 x 3 / 4.5 + 0.5 x 2.3 / 3.65 = 0.333333 + 0.315068 = 0.648402 ->
    # 58,356.16. Nobody in Anting (West's only branch) has a weight: West's pool is not paid out
    assert together[1].sum() == 5_835_616
    assert together[1, 3] == 0 and together[1, 4] == 0


def test_rule_and_population_names_in_chinese_and_english() -> None:
    checks = pd.DataFrame({"rule": ["fixed_pay_share", "fixed_pay_share", "deferral_share", "deferral_share",
                                    "deferral_years", "deferral_pace", "performance_multiple", "house_rule"],
                           "population": ["all people", "grade CM1", "key roles (RM, SCM)", "senior management",
                                          "deferral policy", "deferral schedules", "grade RM", "somebody"],
                           "status": ["pass"] * 8})
    zh = cp.in_words(checks, "zh-CN")
    assert zh["rule"].tolist()[:6] == ["固定薪酬占薪酬总额的比例", "固定薪酬占薪酬总额的比例", "绩效薪酬递延比例",
                                       "绩效薪酬递延比例", "递延支付期限（年）", "递延薪酬按等分支付（不得前重后轻）"]
    assert zh["population"].tolist() == ["全体人员", "CM1职级", "关键岗位（RM、SCM）", "高级管理人员", "递延政策",
                                         "递延支付计划", "RM职级", "somebody"]
    assert zh["rule"].iloc[-1] == "house_rule" and zh["status"].tolist() == checks["status"].tolist()
    en = cp.in_words(checks, "en", grade_names={"CM1": "Junior customer manager"})
    assert en["rule"].iloc[0] == "Fixed pay as a share of total pay"
    assert en["population"].tolist()[:3] == ["All people", "Grade Junior customer manager", "Key roles (RM, SCM)"]


def test_deferral_share_at_the_limit_is_not_failed_by_cent_rounding(policy: Policy) -> None:
    """Two SCM (key role) people defer exactly 40% before rounding: A's bonus 100.00 defers 40.00, B's bonus 0.01
    defers 0.4 cent, rounded to 0.00. Together 40.00 / 100.01 = 0.39996 < 0.40 by rounding alone (half a cent a
    person: 0.40 - 0.01 / 100.01 = 0.39990 is the floor): pass, nobody affected. A real shortfall still fails."""
    s = pd.DataFrame({"employee_id": ["A", "B"], "grade": ["SCM", "SCM"], "base_pay": [1_000.0, 1_000.0],
                      "allowances": [0.0, 0.0], "bonus_paid": [60.00, 0.01], "bonus_deferred": [40.00, 0.0],
                      "commission_paid": [0.0, 0.0], "commission_deferred": [0.0, 0.0], "days_share": [1.0, 1.0],
                      "leaver": [False, False]})
    checks, _ = cp.compliance_checks(s, pd.DataFrame(), policy)
    k = checks.set_index(["rule", "population"]).loc[("deferral_share", "key roles (RM, SCM)")]
    assert (k["value"], k["status"], k["people_affected"]) == (pytest.approx(40.00 / 100.01), "pass", 0)
    short = s.assign(bonus_paid=[61.00, 0.01], bonus_deferred=[39.00, 0.0])  # 39.00 / 100.01: 1 point short
    checks, _ = cp.compliance_checks(short, pd.DataFrame(), policy)
    k = checks.set_index(["rule", "population"]).loc[("deferral_share", "key roles (RM, SCM)")]
    assert (k["status"], k["people_affected"]) == ("fail", 1)


def test_schedule_ahead_by_hand() -> None:
    """Cents paid ahead of even payment after each part: cumulative scheduled - total x k / K, per person and
    component, whatever the row order of the table."""
    sched = pd.DataFrame({
        "employee_id": ["E2", "E1", "E1", "E1", "E2", "E2", "E1", "E1", "E1"],
        "component": ["bonus", "bonus", "bonus", "bonus", "bonus", "bonus", "commission", "commission",
                      "commission"],
        "part": [3, 1, 2, 3, 1, 2, 2, 1, 3],
        # E1 bonus 10,000.00 in even parts (3,333.34 / 3,333.33 / 3,333.33); E2 bonus front-loaded 5,000 / 3,000 /
        # 2,000 (rows out of order); E1 commission 300.00 in 100.00 parts
        "scheduled": [2000.0, 3333.34, 3333.33, 3333.33, 5000.0, 3000.0, 100.0, 100.0, 100.0],
    })
    ahead, person = cp.schedule_ahead(sched)
    # E1 bonus: 333,334 - 1,000,000 x 1/3 = 0.67 cents; 666,667 - 666,666.67 = 0.33; 1,000,000 - 1,000,000 = 0
    assert ahead[1:4] == pytest.approx([2 / 3, 1 / 3, 0.0])
    # E2 bonus (parts 3, 1, 2): 1,000,000 - 1,000,000 = 0; 500,000 - 333,333.33 = 166,666.67; 800,000 - 666,666.67
    assert ahead[[0, 4, 5]] == pytest.approx([0.0, 500_000 / 3, 400_000 / 3])
    # E1 commission (parts 2, 1, 3): 20,000 - 20,000 = 0 each
    assert ahead[6:] == pytest.approx([0.0, 0.0, 0.0])
    assert person[1] == person[6] != person[0]


def test_schedule_ahead_same_in_any_row_order() -> None:
    """A schedule as deferral_schedule makes it (rows in order of person, component, part: not sorted again) and
    the same rows shuffled give the same figures row for row, and the same people."""
    rng = np.random.default_rng(7)
    sched = cp.deferral_schedule([f"E{i}" for i in range(40)], {"bonus": rng.uniform(0, 9000, 40).round(2),
                                                                "commission": rng.uniform(0, 900, 40).round(2)},
                                 2025, 3)
    sched.loc[3, "scheduled"] += 7.0  # E0's first commission part front-loaded: ahead of even payment, 2 parts
    ahead, person = cp.schedule_ahead(sched)
    shuffle = rng.permutation(len(sched))
    ahead_shuffled, person_shuffled = cp.schedule_ahead(sched.iloc[shuffle].reset_index(drop=True))
    assert np.array_equal(ahead_shuffled, ahead[shuffle])
    assert np.array_equal(pd.factorize(person_shuffled)[0], pd.factorize(person[shuffle])[0])
    assert ahead[3] > 0 and ahead[4] > 0 and (np.abs(np.delete(ahead, [3, 4])) < 1.0).all()
