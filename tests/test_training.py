"""Training: hours and certificates as a scorecard indicator and as promotion prerequisites, worked by hand."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from compkit import training
from compkit.data import load_dataset
from compkit.engine import evaluate
from compkit.errors import DataError, PolicyError
from compkit.policy import policy_from_dict
from tests.conftest import tiny_tables, write_tables

TRAINING = pd.DataFrame([
    ("E1", "财富管理实务", 24.0, "AFP", "2025-03-10"),
    ("E1", "合规与反洗钱", 8.0, None, "2025-09-01"),
    ("E1", "去年的课程", 12.0, None, "2024-11-20"),   # before the cycle: no hours this cycle
    ("E3", "理财规划师", 0.0, "CFP", "2019-05-01"),   # a certificate from years ago still counts
    ("E3", "信贷风险", 16.0, None, "2025-04-01"),
], columns=["employee_id", "course", "hours", "certificate", "date"])


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    t = tiny_tables()
    t["training"] = TRAINING
    return write_tables(t, tmp_path / "data")


def _policy(policy, indicator=None, promotion=None):
    d = policy.to_dict()
    if indicator is not None:
        for ind in d["scorecard"]["indicators"]:
            if ind["id"] == "innovation":
                ind["weight"] = 0.05
        d["scorecard"]["indicators"].append(indicator)
    if promotion is not None:
        d["promotion"] = promotion
    return policy_from_dict(d)


def test_hours_and_certificates(folder: Path, policy) -> None:
    data = load_dataset(folder, policy=policy)
    start, end = data.cycle_start, data.cycle_end
    assert training.hours(data.training, start, end).to_dict() == {"E1": 32.0, "E3": 16.0}
    held = training.certificates(data.training, end)
    assert sorted(map(tuple, held.to_numpy())) == [("E1", "AFP"), ("E3", "CFP")]
    # held by the end of February: only E3's old certificate
    assert list(training.certificates(data.training, pd.Timestamp("2025-02-28"))["certificate"]) == ["CFP"]


def test_training_hours_as_an_indicator(folder: Path, policy) -> None:
    """training_hours: 40 hours a year is on target (ratio curve, no threshold, cap 1.2). E1 32 hours -> 80,
    E3 16 -> 40, E2 none -> 0 (a real zero)."""
    p = _policy(policy, {"id": "training_hours", "name": "培训学时", "category": "ability", "weight": 0.05,
                         "source": "training", "measure": "hours", "target": 40,
                         "curve": {"type": "ratio", "threshold": 0.0, "cap": 1.2}})
    data = load_dataset(folder, policy=p)
    ind = evaluate(p, data).indicators
    got = ind[ind["indicator"].astype(str) == "training_hours"].set_index("employee_id")
    assert got["actual"].to_dict() == {"E1": 32.0, "E2": 0.0, "E3": 16.0, "E4": 0.0}
    assert got["score"].round(6).to_dict() == {"E1": 80.0, "E2": 0.0, "E3": 40.0, "E4": 0.0}
    # interim through June: E1 has 24 hours to date
    ind = evaluate(p, data, through="2025-06").indicators
    assert ind[(ind["indicator"].astype(str) == "training_hours")].set_index("employee_id").loc["E1", "actual"] == 24
    # a policy scoring training needs the training table
    with pytest.raises(DataError, match="a training table: the policy's scorecard uses source 'training'"):
        load_dataset(write_tables(tiny_tables(), folder.parent / "no_training"), policy=p)


def test_certificates_as_an_indicator(folder: Path, policy) -> None:
    p = _policy(policy, {"id": "certificates", "category": "ability", "weight": 0.05, "source": "training",
                         "measure": "certificates", "curve": {"type": "piecewise", "points": [[0, 0], [1, 100],
                                                                                               [2, 120]]}})
    ind = evaluate(p, load_dataset(folder, policy=p)).indicators
    got = ind[ind["indicator"].astype(str) == "certificates"].set_index("employee_id")
    assert got["actual"].to_dict() == {"E1": 1.0, "E2": 0.0, "E3": 1.0, "E4": 0.0}


def test_certificate_and_hours_as_promotion_prerequisites(folder: Path, policy) -> None:
    """E1 (CM2 since 2022-01-01: 4.0 years by 2025-12-31) holds AFP and has 32 hours this cycle."""
    rule = {"from": "CM2", "to": "SCM", "min_years_in_grade": 3, "certificates": ["AFP"], "min_training_hours": 40}
    p = _policy(policy, promotion=[rule])
    promo = evaluate(p, load_dataset(folder, policy=p)).promotions.set_index("employee_id")
    assert promo.loc["E1", "recommendation"] == "none"
    assert promo.loc["E1", "reason"] == ("not promoted to SCM (not met: training hours): 4.0 years in CM2 (≥ 3); "
                                         "training hours 32.0 (≥ 40); certificate AFP")
    p = _policy(policy, promotion=[{**rule, "min_training_hours": 30}])
    promo = evaluate(p, load_dataset(folder, policy=p)).promotions.set_index("employee_id")
    assert promo.loc["E1", "recommendation"] == "promote" and promo.loc["E1", "to_grade"] == "SCM"
    p = _policy(policy, promotion=[{**rule, "min_training_hours": None, "certificates": ["CFP"]}])
    promo = evaluate(p, load_dataset(folder, policy=p)).promotions.set_index("employee_id")
    assert promo.loc["E1", "reason"] == ("not promoted to SCM (not met: certificate CFP): 4.0 years in CM2 (≥ 3); "
                                         "no certificate CFP")


def test_bad_training_input(folder: Path, policy, tmp_path: Path) -> None:
    t = tiny_tables()
    t["training"] = TRAINING.assign(employee_id=["E1", "E9", "E1", "E3", "E3"],
                                    date=["2025-03-10", "2025-09-01", "2026-02-01", "2019-05-01", "2025-04-01"],
                                    hours=[24.0, 8.0, -1.0, 0.0, 16.0])
    with pytest.raises(DataError) as err:
        load_dataset(write_tables(t, tmp_path / "bad"), policy=policy)
    text = str(err.value)
    assert "training.csv, row 3, column 'employee_id': found 'E9'; expected an employee_id listed" in text
    assert "training.csv, row 4, column 'date': found '2026-02-01'; expected a date on or before the end of " \
           "cycle 2025" in text
    assert "training.csv, row 4, column 'hours': found -1.0; expected a number of hours >= 0" in text
    with pytest.raises(PolicyError, match=re.escape("a training indicator needs 'measure': hours or certificates")):
        _policy(policy, {"id": "t", "category": "ability", "weight": 0.05, "source": "training",
                         "curve": {"type": "ratio", "threshold": 0, "cap": 1.2}, "target": 40})
