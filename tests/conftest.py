"""Shared fixtures: the shipped policy, a tiny hand-made dataset whose figures can be checked by hand, and the
bundled sample."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from compkit.policy import Policy, load_policy

ROOT = Path(__file__).resolve().parent.parent
# the policy of the hand-worked examples (tiny_tables): the simple one-scorecard policy
POLICY_2025 = ROOT / "data" / "policies" / "examples" / "simple-2025.yaml"
POLICY_2026 = ROOT / "data" / "policies" / "examples" / "simple-2026.yaml"
# the bundled bank's policies: the ones the bundled sample (data/sample) is evaluated with
BANK_2025 = ROOT / "data" / "policies" / "2025.yaml"
BANK_2026 = ROOT / "data" / "policies" / "2026.yaml"
SAMPLE = ROOT / "data" / "sample"

MONTHS = [f"2025-{m:02d}" for m in range(1, 13)]
# monthly actual and target per metrics indicator for an "on target" manager
ON_TARGET = {"deposits_adb": 20_000_000.0, "loans_balance": 15_000_000.0, "fee_income": 30_000.0,
             "ftp_profit": 60_000.0, "new_customers": 4.0, "npl_ratio": 1.5, "referrals": 2.0}


@pytest.fixture(autouse=True)
def english_str_of_errors():
    """``str(error)`` in English during the tests, so that ``pytest.raises(..., match=...)`` compares the English
    text; the Chinese default (``str(error)`` outside the tests) and ``error.message(lang)`` are tested in
    tests/test_errors.py. The command line still prints in --lang or the policy's language (Chinese)."""
    from compkit import i18n

    before = i18n.use("en")
    yield
    i18n.use(before)


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy(POLICY_2025)


def tiny_tables() -> dict[str, pd.DataFrame]:
    """Four customer managers in 2025, all in one branch, chosen so results can be worked out by hand.

    E1  CM2, whole year, exactly on every target, all ratings 4 (supervisor, self, two peers).
    E2  CM1, joined 2025-07-01 (184 of 365 days), on target from July.
    E3  SCM (key role: deferral), whole year, 120% of every target, ratings 5.
    E4  CM2, left 2025-03-31, half of target, ratings 2; a reversal in March.
    """
    employees = pd.DataFrame({
        "employee_id": ["E1", "E2", "E3", "E4"],
        "name": ["Li Na", "Wang Wei", "Zhang Min", "Liu Yang"],
        "branch": ["Pudong"] * 4, "region": ["East"] * 4,
        "grade": ["CM2", "CM1", "SCM", "CM2"],
        "hire_date": ["2020-03-01", "2025-07-01", "2015-05-01", "2022-01-10"],
        "exit_date": [None, None, None, "2025-03-31"],
        "gender": ["F", "M", "F", "M"], "birth_date": ["1990-01-01", "1998-05-05", "1980-02-02", "1993-03-03"],
        "supervisor_id": ["S1", "S1", "S1", "S1"], "fte": [1.0, 1.0, 1.0, 1.0],
        "base_monthly": [9500.0, None, 13000.0, 9000.0],
        "grade_since": ["2022-01-01", "2025-07-01", "2020-01-01", "2022-01-10"],
        # declared contribution bases (缴费基数) of E1 and E4; E2 joins in 2025 (first month's wage), E3 has none
        "si_base": [9500.0, None, None, 9000.0],
    })
    level = {"E1": 1.0, "E2": 1.0, "E3": 1.2, "E4": 0.5}
    months_of = {"E1": MONTHS, "E2": MONTHS[6:], "E3": MONTHS, "E4": MONTHS[:3]}
    rows = []
    for emp, months in months_of.items():
        for period in months:
            for ind, value in ON_TARGET.items():
                actual = value / level[emp] if ind == "npl_ratio" else value * level[emp]
                rows.append((emp, period, ind, actual, value))
    metrics = pd.DataFrame(rows, columns=["employee_id", "period", "indicator", "actual", "target"])
    sales = pd.DataFrame([
        ("E1", "2025-01", "insurance", 600_000.0, "D1", "C1"), ("E1", "2025-02", "insurance", 600_000.0, "D2", "C1"),
        ("E1", "2025-03", "funds", 1_000_000.0, "D3", "C2"), ("E1", "2025-05", "loans", 2_500_000.0, "D4", "C3"),
        ("E2", "2025-08", "funds", 500_000.0, "D5", "C4"),
        ("E3", "2025-01", "wealth", 12_000_000.0, "D6", "C5"), ("E3", "2025-06", "wealth", 9_000_000.0, "D7", "C5"),
        ("E4", "2025-01", "insurance", 300_000.0, "D8", "C6"), ("E4", "2025-03", "insurance", -300_000.0, "D8-R", "C6"),
    ], columns=["employee_id", "period", "product", "amount", "deal_id", "customer_id"])
    items = ["professional_knowledge", "communication", "customer_service", "risk_management",
             "teamwork_leadership", "innovation", "work_attitude", "compliance"]
    score_of = {"E1": 4, "E2": 4, "E3": 5, "E4": 2}
    raters = {"E1": [("E1", "self"), ("S1", "supervisor"), ("E2", "peer"), ("E3", "peer")],
              "E2": [("E2", "self"), ("S1", "supervisor"), ("E1", "peer"), ("E3", "peer")],
              "E3": [("E3", "self"), ("S1", "supervisor"), ("E1", "peer"), ("E2", "peer")],
              "E4": [("E4", "self"), ("S1", "supervisor"), ("E1", "peer"), ("E3", "peer")]}
    ratings = pd.DataFrame([(emp, rater, role, item, float(score_of[emp]), "2025")
                            for emp, lst in raters.items() for rater, role in lst for item in items],
                           columns=["employee_id", "rater_id", "rater_role", "item", "score", "cycle"])
    surveys = pd.DataFrame([(emp, "2025-03-15", dim, 4.0 if emp != "E4" else 2.0, "survey")
                            for emp in ["E1", "E3", "E4"] for dim in ["attitude", "competence", "responsiveness",
                                                                     "overall"]],
                           columns=["employee_id", "date", "dimension", "score", "channel"])
    complaints = pd.DataFrame([("K1", "E4", "2025-02-01", "service", True, 10.0)],
                              columns=["complaint_id", "employee_id", "date", "category", "upheld", "resolved_days"])
    history = pd.DataFrame([("E1", "2024", "B", "CM2"), ("E3", "2024", "A", "SCM"), ("E3", "2023", "B", "SCM")],
                           columns=["employee_id", "cycle", "rating", "grade"])
    appeals = pd.DataFrame(columns=["appeal_id", "employee_id", "filed_on", "table", "key", "column", "claimed_value",
                                    "status", "decided_value", "decided_on", "reason"])
    return {"employees": employees, "metrics": metrics, "sales": sales, "ratings": ratings, "surveys": surveys,
            "complaints": complaints, "history": history, "appeals": appeals}


def bank_tiny_tables() -> dict[str, pd.DataFrame]:
    """The tiny tables carrying what the example bank scheme (data/policies/examples/bank-scheme.yaml) reads:
    a business line and a pay step each (E4 none), wealth sales as holdings, insurance by payment term (期交10),
    loans with an id that turn NPL in September, E1's deposits by type on a 10,000,000 baseline (12,000,000 in
    January 活期 and February 定期) and a monthly funds quota of 100,000 for E1."""
    t = tiny_tables()
    t["employees"]["line"] = ["对公", "零售", "私行", "小微"]
    t["employees"]["step"] = [4, 2, 3, None]
    s = t["sales"]
    s.loc[s["product"] == "wealth", "product"] = "holdings"
    s["payment_term"] = np.where(s["product"] == "insurance", "期交10", None)
    s["loan_id"] = np.where(s["product"] == "loans", "L1", None)
    s["npl_date"] = np.where(s["product"] == "loans", "2025-09-15", None)  # D4 (May) turns NPL in September
    deposits = pd.DataFrame({"employee_id": "E1", "period": MONTHS[:2], "product": "deposits",
                             "amount": [12_000_000.0, 12_000_000.0], "deal_id": ["DP1", "DP2"],
                             "customer_id": "C1", "deposit_type": ["活期", "定期"], "baseline": 10_000_000.0})
    t["sales"] = pd.concat([s, deposits], ignore_index=True)
    t["metrics"] = pd.concat([t["metrics"], pd.DataFrame(
        [("E1", m, "funds_sales", 0.0, 100_000.0) for m in MONTHS], columns=t["metrics"].columns)], ignore_index=True)
    return t


def write_tables(tables: dict[str, pd.DataFrame], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.to_csv(folder / f"{name}.csv", index=False)
    return folder


@pytest.fixture()
def tiny_dir(tmp_path: Path) -> Path:
    return write_tables(tiny_tables(), tmp_path / "tiny")


@pytest.fixture()
def tiny(tiny_dir: Path, policy: Policy):
    from compkit.data import load_dataset

    return load_dataset(tiny_dir, policy=policy)


def sample_available() -> bool:
    return (SAMPLE / "employees.csv").exists()


@pytest.fixture(scope="session")
def bank_policy() -> Policy:
    """The bundled bank's 2025 policy (scorecards by business line, pay steps, the bank's products)."""
    return load_policy(BANK_2025)


@pytest.fixture(scope="session")
def sample(bank_policy: Policy):
    """The bundled sample, loaded with the bundled bank's policy (``bank_policy``)."""
    from compkit.data import load_dataset

    if not sample_available():
        pytest.skip("data/sample has not been generated")
    return load_dataset(SAMPLE, policy=bank_policy)


def approx_cents(a: float, b: float) -> bool:
    return bool(np.isclose(a, b, rtol=0, atol=0.005))
