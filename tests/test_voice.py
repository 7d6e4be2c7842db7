"""The customer's voice: complaints by category and unit with the upheld share and handling time, and the
satisfaction dimensions a statement shows. Worked by hand on a small table."""
from __future__ import annotations

import pandas as pd

from compkit import voice

EMPLOYEES = pd.DataFrame({"employee_id": [f"E{i}" for i in range(7)],
                          "branch": ["B1"] * 5 + ["B2"] * 2, "region": ["East"] * 7})
COMPLAINTS = pd.DataFrame({
    "complaint_id": ["K1", "K2", "K3", "K4"], "employee_id": ["E0", "E1", "E2", "E5"],
    "date": ["2025-01-05", "2025-01-20", "2025-02-03", "2025-02-10"],
    "category": ["fees", "fees", "service", "fees"], "upheld": [True, False, True, True],
    "resolved_days": [3.0, 9.0, 7.0, 12.0]})


def test_complaints_by_category_checked_by_hand() -> None:
    t = voice.complaints_by(COMPLAINTS, EMPLOYEES, "category", target_days=7).set_index("category")
    # fees: K1, K2, K4 -> 3 complaints, 2 upheld (2/3), days 3, 9, 12 -> median 9, within 7 days: 1 of 3
    assert t.loc["fees", "complaints"] == 3 and t.loc["fees", "upheld"] == 2
    assert abs(t.loc["fees", "upheld_share"] - 2 / 3) < 1e-12 and t.loc["fees", "median_days"] == 9.0
    assert abs(t.loc["fees", "within_target"] - 1 / 3) < 1e-12
    # service: only K3, resolved in 7 days: within a 7-day target
    assert t.loc["service", "within_target"] == 1.0


def test_small_units_are_suppressed() -> None:
    t = voice.complaints_by(COMPLAINTS, EMPLOYEES, "branch", target_days=7, min_group=5).set_index("branch")
    assert t.loc["B1", "complaints"] == 3  # 5 people in B1
    assert pd.isna(t.loc["B2", "complaints"]) and pd.isna(t.loc["B2", "upheld_share"])  # 2 people: suppressed


def test_complaints_by_month() -> None:
    t = voice.complaints_by(COMPLAINTS, EMPLOYEES, "month", target_days=7)
    assert t["month"].tolist() == ["2025-01", "2025-02"] and t["complaints"].tolist() == [2, 2]


def test_satisfaction_by_person_and_dimension() -> None:
    surveys = pd.DataFrame({"employee_id": ["E1"] * 5, "date": ["2025-01-01", "2025-02-01", "2025-03-01",
                                                                "2025-03-01", "2025-12-01"],
                            "dimension": ["attitude", "attitude", "competence", "overall", "responsiveness"],
                            "score": [4.0, 5.0, 3.0, 2.0, 1.0]})
    t = voice.satisfaction_by_person(surveys, through=pd.Timestamp("2025-06-30")).set_index("dimension")
    # attitude (4 + 5) / 2 = 4.5; competence 3; 'overall' is not a dimension shown; December is after June
    assert t.loc["attitude", "score"] == 4.5 and t.loc["attitude", "responses"] == 2
    assert t.loc["competence", "score"] == 3.0 and "overall" not in t.index and "responsiveness" not in t.index


def test_handling_target_from_the_policy(policy) -> None:
    assert voice.handling_target(policy) == 7.0  # complaint_handling: measure resolved_days, target 7


def test_statement_shows_the_three_dimensions(policy, tiny) -> None:
    from compkit.feedback import render_statements, statement_contents

    st = statement_contents(policy, tiny)
    assert len(st.satisfaction) > 0 and set(st.satisfaction["dimension"]) <= set(voice.DIMENSIONS)
    someone = st.satisfaction["employee_id"].iloc[0]
    page = render_statements(st, policy)[someone]
    assert "客户满意度" in page and "服务态度" in page


def test_handling_time_flag_and_upheld_wording() -> None:
    t = voice.complaints_table(COMPLAINTS, EMPLOYEES, "category", target_days=7).set_index("category")
    # fees: 1 of 3 within 7 days (33% < 75%) -> alert; service: 1 of 1 (100% >= 90%) -> ok
    assert t.loc["fees", "flag"] == "alert" and t.loc["service", "flag"] == "ok"
    # the bands: 90% and above ok, 75% to below 90% watch, below 75% alert; a suppressed unit gets no flag
    assert voice.handling_flag([0.9, 0.899, 0.75, 0.7499, float("nan")]).tolist() == ["ok", "watch", "watch",
                                                                                       "alert", ""]
    small = voice.complaints_table(COMPLAINTS, EMPLOYEES, "branch", target_days=7, min_group=5).set_index("branch")
    assert small.loc["B2", "flag"] == ""
    from compkit.present import Presenter

    R = Presenter("zh-CN")
    cols = voice.table_columns("category", "Category", 7, "zh-CN")
    html = R.table(t.reset_index(), cols, flags="flag").to_html()
    assert "有效投诉（件）" in html and "有效投诉占比" in html and "7天内处理完毕" in html and "处理时效" in html
    assert "警示" in html and "正常" in html
    english = Presenter("en").table(t.reset_index(), voice.table_columns("category", "Category", 7, "en"),
                                    flags="flag").to_html()
    assert "Upheld complaints" in english and "Resolved within 7 days" in english
