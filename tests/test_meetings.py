"""Feedback meetings and improvement plans, worked by hand on the tiny dataset."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from compkit.data import load_dataset
from compkit.engine import evaluate
from compkit.errors import DataError
from compkit.meetings import meeting_coverage, plan_progress, planned_vs_others, previous_cycle
from tests.conftest import tiny_tables, write_tables

FEEDBACK = pd.DataFrame([
    # E1: met on 15 January about 2024, two planned indicators, acknowledged the next day
    ("E1", "2024", "2025-01-15", "S1", "fee_income", "每月新拓10户中收客户", "2025-06-30", "true", "2025-01-16", None),
    ("E1", "2024", "2025-01-15", "S1", "deposits_adb", "稳存增存", "2025-12-31", "true", "2025-01-16", None),
    # E3: met, no plan agreed, did not acknowledge and commented
    ("E3", "2024", "2025-01-20", "S1", None, None, None, "false", None, "不同意互评结果"),
], columns=["employee_id", "cycle", "meeting_date", "met_by", "indicator", "action", "due_date", "acknowledged",
            "acknowledged_on", "comment"])
HISTORY_SCORES = pd.DataFrame([
    ("E1", "2024", "fee_income", 80.0), ("E1", "2024", "deposits_adb", 100.0), ("E1", "2024", "loans_balance", 90.0),
    ("E3", "2024", "fee_income", 110.0), ("E3", "2024", "loans_balance", 90.0),
], columns=["employee_id", "cycle", "indicator", "score"])


def _folder(tmp_path: Path, feedback: pd.DataFrame = FEEDBACK, scores: pd.DataFrame = HISTORY_SCORES) -> Path:
    t = tiny_tables()
    t["feedback"] = feedback
    t["history_scores"] = scores
    return write_tables(t, tmp_path / "data")


@pytest.fixture()
def looped(tmp_path: Path, policy):
    data = load_dataset(_folder(tmp_path), policy=policy)
    return data, evaluate(policy, data)


def test_previous_cycle() -> None:
    assert [previous_cycle(c) for c in ("2025", "2025H2", "2025H1")] == ["2024", "2025H1", "2024H2"]


def test_plan_progress_worked_example(policy, looped) -> None:
    """E1 planned fee income (80 in 2024, on target now: 100, +20 improved) and deposits (100 -> 100, unchanged)."""
    data, out = looped
    progress = plan_progress(policy, data, out.indicators)
    assert progress["employee_id"].tolist() == ["E1", "E1", "E3"]
    assert progress["indicator"].isna().tolist() == [False, False, True]  # E3's meeting agreed no plan
    plans = progress.dropna(subset=["indicator"]).set_index("indicator")
    assert plans.loc["fee_income", ["score_before", "score_now", "change", "moved"]].tolist() == [80.0, 100.0, 20.0,
                                                                                                  "improved"]
    assert plans.loc["deposits_adb", "moved"] == "unchanged"
    assert plans.loc["fee_income", "action"] == "每月新拓10户中收客户"
    assert bool(plans.loc["fee_income", "acknowledged"])


def test_meeting_coverage_worked_example(looped) -> None:
    """People with 2024 results: E1, E3, E4 (E2 joined in 2025). Met: E1 and E3 (2 of 3); acknowledged every row:
    E1 only (1 of 3; 1 of the 2 met). Pudong has 3 people: under 5, so suppressed unless min_group allows."""
    data, _ = looped
    shown = meeting_coverage(data, min_group=1).set_index("branch")
    assert shown.loc["Pudong", ["people", "met", "acknowledged"]].tolist() == [3, 2, 1]
    assert shown.loc["all", "share_met"] == pytest.approx(2 / 3)
    assert shown.loc["all", "share_acknowledged"] == pytest.approx(1 / 3)
    assert shown.loc["all", "acknowledged_of_met"] == pytest.approx(0.5)
    hidden = meeting_coverage(data).set_index("branch")
    assert hidden.loc["Pudong", "people"] == 3 and bool(hidden.loc["Pudong", "suppressed"])
    assert np.isnan(hidden.loc["Pudong", "share_met"]) and np.isnan(hidden.loc["all", "met"])


def test_planned_vs_others_worked_example(policy, looped) -> None:
    """Pairs with both scores: planned E1 fee income +20 and E1 deposits 0 (mean 10); others E1 loans 90 -> 100
    (+10, below target before), E3 fee income 110 -> 120 (+10), E3 loans 90 -> 120 (+30, below): mean 50 / 3,
    below-target mean 20. Planned minus others: 10 - 16.67 = -6.67; minus those below target: -10."""
    data, out = looped
    s = out.indicators.set_index(["employee_id", "indicator"])["score"]
    assert s[("E3", "fee_income")] == 120.0 and s[("E3", "loans_balance")] == 120.0  # capped at 120% of target
    table = planned_vs_others(policy, data, out.indicators, min_group=1).set_index("indicator")
    row = table.loc["all"]
    assert (row["n_planned"], row["n_others"], row["n_others_below"]) == (2, 3, 2)
    assert row["mean_planned"] == pytest.approx(10.0)
    assert row["mean_others"] == pytest.approx(50 / 3)
    assert row["difference"] == pytest.approx(10 - 50 / 3)
    assert row["difference_below"] == pytest.approx(-10.0)
    # with the default min_group (5) every mean here is over too few pairs: suppressed
    assert planned_vs_others(policy, data, out.indicators)[["mean_planned", "difference"]].isna().all().all()


def test_statement_shows_last_cycles_plan(policy, looped) -> None:
    from compkit.feedback import render_statements, statement_contents

    data, out = looped
    st = statement_contents(policy, data, out, lang="en")
    pages = render_statements(st, policy)
    e1 = pages["E1"]
    assert "Last cycle's improvement plan" in e1
    assert ("<td>Fee income</td><td>每月新拓10户中收客户</td><td>30 June 2025</td><td class=\"n\">80.0</td>"
            "<td class=\"n\">100.0</td><td>improved (+20.0)</td>") in e1
    assert "Feedback meeting on 15 January 2025 with S1: acknowledged." in e1
    assert "Feedback meeting on 20 January 2025 with S1: not acknowledged; your comment: 不同意互评结果." in pages["E3"]
    assert "Agreed action" not in pages["E3"]  # no plan agreed
    assert "improvement plan" not in pages["E2"]


@pytest.mark.parametrize("change, message", [
    ({"employee_id": "E9"}, "feedback.csv, row 2, column 'employee_id': found 'E9'; expected an employee_id listed"),
    ({"due_date": "2025-01-01"},
     "feedback.csv, row 2, column 'due_date': found '2025-01-01'; expected a due date on or after the meeting date "
     "2025-01-15"),
    ({"indicator": "nps"}, "feedback.csv, row 2, column 'indicator': found 'nps'; expected an indicator of the policy"),
    ({"cycle": "2026"}, "feedback.csv, row 2, column 'cycle': found '2026'; expected cycle 2025 or an earlier one"),
    ({"action": None}, "feedback.csv, row 2, column 'action'; expected the improvement action agreed"),
    ({"acknowledged_on": "2025-01-01"},
     "column 'acknowledged_on': found '2025-01-01'; expected an acknowledgement on or after the meeting date"),
])
def test_bad_feedback_rows(tmp_path: Path, policy, change, message) -> None:
    bad = FEEDBACK.copy()
    for col, value in change.items():
        bad.loc[0, col] = value
    with pytest.raises(DataError, match=re.escape(message)):
        load_dataset(_folder(tmp_path, bad), policy=policy)


def test_bad_history_scores(tmp_path: Path, policy) -> None:
    bad = HISTORY_SCORES.copy()
    bad.loc[0, "cycle"] = "2025"
    with pytest.raises(DataError, match=re.escape("history_scores.csv, row 2, column 'cycle': found '2025'; "
                                                  "expected a cycle before 2025")):
        load_dataset(_folder(tmp_path, FEEDBACK, bad), policy=policy)
