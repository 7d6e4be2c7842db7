"""compkit.populations: scorecards by population (business line, grade), team results, exactly one scorecard
per employee. Figures worked out by hand."""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import tiny_tables, write_tables

from compkit.data import load_dataset
from compkit.engine import evaluate
from compkit.errors import DataError, PolicyError
from compkit.policy import Policy

ABILITY = {"professional_knowledge": 0.20, "communication": 0.15, "customer_service": 0.20, "risk_management": 0.20,
           "teamwork_leadership": 0.15, "innovation": 0.10, "work_attitude": 0.60, "compliance": 0.40}


def by_line(policy: Policy, retail_lines: list[str] = ["零售", "小微"]) -> Policy:  # noqa: B006
    team = {"id": "team_deposits", "name": "Team deposits", "category": "performance", "weight": 0.0,
            "source": "team", "of": "deposits_adb", "team": "branch",
            "curve": {"type": "ratio", "threshold": 0.6, "cap": 1.2}}
    inds = policy.to_dict()["scorecard"]["indicators"] + [team]
    return policy.updated({
        "scorecard.indicators": inds,
        "scorecards": [
            {"id": "corporate", "name": "对公客户经理", "when": {"line": ["对公"]},
             "weights": {"deposits_adb": 0.5, "loans_balance": 0.5, **ABILITY}},
            {"id": "retail", "name": "零售客户经理", "when": {"line": retail_lines, "grade": ["CM1", "CM2"]},
             "categories": {"performance": 0.7, "ability": 0.2, "attitude": 0.1},
             "weights": {"fee_income": 0.6, "satisfaction": 0.4, **ABILITY}},
            {"id": "managers", "name": "团队负责人", "when": {"grade": ["SCM", "RM"]},
             "weights": {"team_deposits": 1.0, **ABILITY}},
        ]})


def load(tmp_path: Path, policy: Policy, lines: list[str]):
    tables = tiny_tables()
    tables["employees"]["line"] = lines
    return load_dataset(write_tables(tables, tmp_path / "d"), policy=policy)


def test_each_population_has_its_own_indicators_and_weights(tmp_path: Path, policy: Policy) -> None:
    pol = by_line(policy)
    out = evaluate(pol, load(tmp_path, pol, ["对公", "零售", "私行", "零售"]))
    s = out.summary.set_index("employee_id")
    assert s["scorecard"].to_dict() == {"E1": "corporate", "E2": "retail", "E3": "managers", "E4": "retail"}
    # E1 (对公): exactly on target for deposits and loans -> 100 each; performance = 0.5 x 100 + 0.5 x 100 = 100;
    # 360 ratings of 4 -> 100 on the rating curve; composite = 0.6 x 100 + 0.25 x 100 + 0.15 x 100 = 100
    assert s.loc["E1", "performance"] == pytest.approx(100.0)
    assert s.loc["E1", "composite"] == pytest.approx(100.0)
    ind = out.indicators
    e1 = ind[ind["employee_id"] == "E1"].set_index("indicator")
    assert e1.loc["satisfaction", "effective_weight"] == 0.0  # not on the corporate scorecard
    assert e1.loc["deposits_adb", "effective_weight"] == pytest.approx(0.6 * 0.5)
    # E2 (零售, CM1): no survey, and satisfaction says if_missing: exclude: its 0.4 goes to fee income, which
    # carries the retail scorecard's whole performance weight, 0.7
    e2 = ind[ind["employee_id"] == "E2"].set_index("indicator")
    assert e2.loc["satisfaction", "effective_weight"] == 0.0
    assert e2.loc["fee_income", "effective_weight"] == pytest.approx(0.7)
    assert e2.loc["deposits_adb", "effective_weight"] == 0.0
    assert out.reconcile() == []


def test_a_managers_scorecard_uses_the_teams_results(tmp_path: Path, policy: Policy) -> None:
    pol = by_line(policy)
    out = evaluate(pol, load(tmp_path, pol, ["对公", "零售", "私行", "零售"]))
    ind = out.indicators
    e3 = ind[(ind["employee_id"] == "E3") & (ind["indicator"] == "team_deposits")].iloc[0]
    # the branch Pudong's average daily deposits: E1 20M + E2 20M + E3 24M + E4 10M = 74M against 4 x 20M = 80M:
    # achievement 0.925 -> 92.5 points; E3's performance is that one indicator
    assert e3["actual"] == pytest.approx(74_000_000.0) and e3["target"] == pytest.approx(80_000_000.0)
    assert e3["score"] == pytest.approx(92.5)
    assert out.summary.set_index("employee_id").loc["E3", "performance"] == pytest.approx(92.5)


def test_every_employee_gets_exactly_one_scorecard(tmp_path: Path, policy: Policy) -> None:
    pol = by_line(policy, retail_lines=["零售"])
    with pytest.raises(DataError) as info:
        load(tmp_path / "a", pol, ["对公", "零售", "私行", "小微"])
    assert ("column 'employee_id': found '1 employee(s): E4'; expected exactly one scorecard of the policy "
            "(by grade, line): matched by none") in str(info.value)
    # a corporate SCM matches both 'corporate' (line) and 'managers' (grade)
    with pytest.raises(DataError) as info:
        load(tmp_path / "b", pol, ["对公", "零售", "对公", "零售"])
    assert "'1 employee(s): E3'; expected exactly one scorecard of the policy (by grade, line): matched by two " \
           "or more" in str(info.value)


def test_population_weights_are_checked(policy: Policy) -> None:
    with pytest.raises(PolicyError, match=r"scorecards\[0\] \(corporate\): weights in category 'performance' sum "
                                          r"to 0.9, expected 1"):
        policy.updated({"scorecards": [{"id": "corporate", "when": {"line": ["对公"]},
                                        "weights": {"deposits_adb": 0.5, "loans_balance": 0.4, **ABILITY}}]})
    with pytest.raises(PolicyError, match="unknown indicator 'deposit'"):
        policy.updated({"scorecards": [{"id": "c", "when": {"line": ["对公"]},
                                        "weights": {"deposit": 1.0, **ABILITY}}]})


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["对公", "零售", "私行", "小微", None]),
                          st.sampled_from(["CM1", "CM2", "SCM", "RM", None])), min_size=1, max_size=30))
def test_scorecard_codes_compare_each_rows_text(rows: list) -> None:
    """scorecard_codes (each column's distinct texts compared once) matches, row by row, the populations whose
    every column holds one of the listed values as text (a missing value matches nothing)."""
    import numpy as np
    import pandas as pd
    from conftest import POLICY_2025

    from compkit.policy import load_policy
    from compkit.populations import scorecard_codes

    pol = by_line(load_policy(POLICY_2025))
    employees = pd.DataFrame({"line": pd.array([r[0] for r in rows], dtype="string"),
                              "grade": pd.array([r[1] for r in rows], dtype="string")})
    code, matches = scorecard_codes(employees, pol)
    hit = np.column_stack([
        np.logical_and.reduce([employees[c].astype("string").isin([str(v) for v in vs]).to_numpy(
            dtype=bool, na_value=False) for c, vs in pop.when.items()]) for pop in pol.scorecards])
    assert matches.tolist() == hit.sum(axis=1).tolist()
    assert code.tolist() == np.where(hit.sum(axis=1) == 1, hit.argmax(axis=1), -1).tolist()
