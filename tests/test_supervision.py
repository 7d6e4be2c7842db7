"""Supervision checks: reconciliation of inputs to outputs, and anomaly flags, on the tiny dataset."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import tiny_tables, write_tables

from compkit.data import load_dataset
from compkit.engine import evaluate
from compkit.supervision import (
    CHECKS,
    anomalies,
    anomaly_counts,
    base_outside_range,
    clawbacks,
    commission_at_cap,
    flat_raters,
    raises_above_matrix,
    rating_jumps,
    reconciliation,
)


@pytest.fixture()
def outcomes(policy, tiny):
    return evaluate(policy, tiny)


def test_reconciliation_by_hand(tiny, outcomes) -> None:
    rec = reconciliation(tiny, outcomes).set_index("check")
    assert rec["ok"].all()
    assert rec.loc["people", "inputs"] == 4 and rec.loc["people", "outputs"] == 4
    # sales in the cycle: 600k + 600k + 1M + 2.5M + 500k + 12M + 9M + 300k - 300k = 26,200,000
    assert rec.loc["sales basis", "inputs"] == 26_200_000.0 == rec.loc["sales basis", "outputs"]
    # commission: E1 13,000 + 3,000 + 1,500; E2 1,500; E3 16,800; E4 3,000 - 3,000 = 35,800
    assert rec.loc["commission lines", "outputs"] == 35_800.0
    # bonus: E1 27,719.64 + E2 7,998.54 + E3 66,619.80 (39,971.88 paid + 26,647.92 deferred) = 102,337.98
    assert rec.loc["bonus", "outputs"] == pytest.approx(102_337.98, abs=0.001)
    assert rec.loc["deferral schedule", "outputs"] == pytest.approx(26_647.92, abs=0.001)


def test_reconciliation_catches_a_dropped_person(tiny, outcomes) -> None:
    outcomes.summary = outcomes.summary.iloc[1:]  # E1 dropped
    rec = reconciliation(tiny, outcomes).set_index("check")
    assert not rec.loc["people", "ok"] and not rec.loc["commission lines", "ok"]


def test_clawbacks(outcomes) -> None:
    flags = clawbacks(outcomes)
    # E4: March reversal of January's 300,000 insurance deal: a clawback of 3,000.00
    assert flags[["id", "value"]].values.tolist() == [["E4", 3_000.0]]
    assert flags["detail"].iloc[0] == "commission clawback in 2025-03 (insurance): 3,000.00"


def clawbacks_after(outcomes):
    return clawbacks(outcomes)[lambda f: f["detail"].str.startswith("deferred")]


@pytest.fixture()
def clawback_outcomes(policy, tiny):
    return evaluate(policy, tiny, clawbacks=pd.DataFrame({"employee_id": ["E3"], "share": [0.5], "reason": ["x"]}))


def test_deferral_clawbacks(clawback_outcomes) -> None:
    # a claim of half of E3's performance pay: (bonus 66,619.80 + commission 16,800.00) x 0.5 = 41,709.90;
    # the whole deferred bonus (26,647.92, three parts of 8,882.64) is cancelled, 15,061.98 is left to recover
    cancelled = clawbacks_after(clawback_outcomes)
    assert cancelled["id"].tolist() == ["E3"] * 3
    assert cancelled["value"].sum() == pytest.approx(26_647.92, abs=0.001)
    e3 = clawback_outcomes.summary.set_index("employee_id").loc["E3"]
    assert e3["clawback_to_recover"] == pytest.approx(15_061.98, abs=0.001)
    recover = clawbacks(clawback_outcomes)[lambda f: f["detail"].str.contains("to recover")]
    assert recover["detail"].tolist() == ["clawback (x) to recover from pay already made: 15,061.98"]


def test_commission_at_cap(policy, tiny) -> None:
    capped = evaluate(policy.updated({"commission.cap.times_annual_base": 0.1}), tiny)
    flags = commission_at_cap(capped).set_index("id")
    # E1 earned 17,500 against a cap of 0.1 x 114,000 = 11,400: 6,100 cut. E3: 16,800 vs 15,600: 1,200 cut
    assert flags["value"].to_dict() == {"E1": 6_100.0, "E3": 1_200.0}
    assert flags.loc["E1", "detail"] == "commission capped: 17,500.00 earned, 6,100.00 cut"


def test_flat_rater(policy, tmp_path: Path) -> None:
    tables = tiny_tables()
    r = tables["ratings"]
    r.loc[r["rater_id"] == "S1", "score"] = 4.0  # the supervisor gives everyone 4 on everything
    data = load_dataset(write_tables(tables, tmp_path / "flat"), policy=policy)
    flags = flat_raters(data.ratings)
    assert flags["id"].tolist() == ["S1"]
    assert flags["detail"].iloc[0] == "gave all 4 people the same score 4 on every item (32 ratings)"


def test_no_flat_rater_in_tiny(tiny) -> None:
    # S1 rates E1 4, E2 4, E3 5, E4 2; E1 rates three people but gives E2 4 and E3 5 and E4 2
    assert flat_raters(tiny.ratings).empty


def test_rating_jump(policy, tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["history"].loc[tables["history"]["employee_id"] == "E1", "rating"] = "D"
    data = load_dataset(write_tables(tables, tmp_path / "jump"), policy=policy)
    flags = rating_jumps(policy, data, evaluate(policy, data))
    # E1: D in 2024, B in 2025: two bands up
    assert flags[["id", "value"]].values.tolist() == [["E1", 2.0]]
    assert flags["detail"].iloc[0] == "rating B this cycle, D in 2024 (2 bands up)"


def test_pay_change_above_matrix(policy, tmp_path: Path) -> None:
    tables = tiny_tables()
    hist = tables["history"]
    hist["base_monthly"] = [8_000.0, 13_000.0, 12_500.0]  # E1 2024, E3 2024, E3 2023
    data = load_dataset(write_tables(tables, tmp_path / "raise"), policy=policy)
    flags = raises_above_matrix(policy, data, evaluate(policy, data))
    # E1: 8,000 -> 9,500 is +18.75%; last cycle B with compa-ratio 8,000 / 9,500 = 0.842 (below 0.9): the
    # matrix allows 6%: 12.75 points above. E3: 13,000 -> 13,000, no change.
    assert flags["id"].tolist() == ["E1"]
    assert flags["value"].iloc[0] == pytest.approx(0.1275)
    assert "(+18.75%) since 2024; the matrix allows 6.00% for rating B" in flags["detail"].iloc[0]


def test_proposed_raise_above_matrix(policy, tiny, outcomes) -> None:
    review = outcomes.salary_review.copy()
    review.loc[review["employee_id"] == "E2", "raise_pct"] = 0.10  # edited by hand: the matrix says 3%
    outcomes.salary_review = review
    flags = raises_above_matrix(policy, tiny, outcomes)
    assert flags["id"].tolist() == ["E2"] and flags["value"].iloc[0] == pytest.approx(0.07)


def test_base_outside_range(policy, tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["employees"].loc[0, "base_monthly"] = 12_000.0  # E1, CM2: range 8,000 to 11,000
    data = load_dataset(write_tables(tables, tmp_path / "base"), policy=policy)
    flags = base_outside_range(policy, evaluate(policy, data))
    assert flags[["id", "value"]].values.tolist() == [["E1", 1_000.0]]


def test_anomalies_and_counts(policy, tiny, outcomes) -> None:
    flags = anomalies(policy, tiny, outcomes)
    assert list(flags.columns) == ["check", "subject", "id", "detail", "value"]
    counts = anomaly_counts(flags).set_index("check")["flags"]
    assert list(counts.index) == list(CHECKS)
    assert counts["clawback"] == 1 and counts.sum() == 1


def test_sample_checks(bank_policy, sample) -> None:
    policy = bank_policy
    out = evaluate(policy, sample)
    assert reconciliation(sample, out, policy)["ok"].all()
    # without the policy the sales basis check takes every product: deposits count at their type-weighted
    # balance, insurance at its standard premium, so it differs (by design, not an error)
    plain = reconciliation(sample, out).set_index("check")
    assert not plain.loc["sales basis", "ok"] and plain.drop("sales basis")["ok"].all()
    flags = anomalies(policy, sample, out)
    # everyone in the sample is on a pay step: the salary review moves steps (调档) by rating, e.g. a step of 6%
    # for a C where the matrix says 3%; that is the step rule, not a pay change above the matrix
    review = out.salary_review
    assert review.loc[review["eligible"].astype(bool), "new_step"].notna().all()
    assert not (flags["check"] == "pay change above the merit matrix").any()
    # the sample's clawbacks are exactly its negative commission lines
    assert (flags["check"] == "clawback").sum() == int(out.commission["clawback"].sum())


def test_flat_raters_on_categorical_ids_as_on_text(policy) -> None:
    """flat_raters groups a categorical rater id on its codes: the same flags, in the same order (the ids as
    text, sorted: "R10" before "R2"), as on the ids as plain text; categories not in the same order as their
    texts, and an unused one, change nothing."""
    ratings = pd.DataFrame({
        "employee_id": ["E1", "E2", "E3", "E1", "E2", "E3", "E1", "E2", "E3", "E1", "E2", "E3"],
        "rater_id": ["R2", "R2", "R2", "R10", "R10", "R10", "R3", "R3", "R3", "E1", "E1", "E1"],
        "rater_role": ["peer"] * 9 + ["self"] * 3,
        "score": [4.0, 4.0, 4.0, 3.0, 3.0, 3.0, 2.0, 5.0, 2.0, 5.0, 5.0, 5.0]})
    as_text = flat_raters(ratings, min_ratees=3)
    assert as_text["id"].tolist() == ["R10", "R2"] and as_text["value"].tolist() == [3.0, 4.0]
    coded = ratings.assign(
        rater_id=pd.Categorical(ratings["rater_id"], categories=["R3", "R2", "E1", "R10", "R9"]),
        rater_role=pd.Categorical(ratings["rater_role"]))
    pd.testing.assert_frame_equal(flat_raters(coded, min_ratees=3), as_text, check_exact=True)
