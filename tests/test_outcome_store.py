"""compkit.outcome_store: the review's outcomes kept once and read back by its notebooks, exactly as evaluated."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from compkit import outcome_store
from compkit.calibration import knob_setter
from compkit.data import load_dataset
from compkit.engine import Outcomes, evaluate
from compkit.errors import CompkitError


@pytest.fixture()
def copy(tiny, policy, tmp_path: Path) -> Path:
    """A validated copy of the tiny dataset, as the review writes it."""
    folder = tmp_path / "validated"
    tiny.to_parquet(folder, policy=policy)
    return folder


def assert_same(a: Outcomes, b: Outcomes) -> None:
    for name in Outcomes.TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
        assert getattr(a, name).dtypes.equals(getattr(b, name).dtypes), name
    assert a.info == b.info


def test_kept_outcomes_are_the_evaluation(policy, copy: Path, tmp_path: Path) -> None:
    data = load_dataset(copy, policy=policy)
    fresh = evaluate(policy, data)
    outcome_store.keep(fresh, tmp_path / "kept", policy, outcome_store.data_key(copy))
    got = outcome_store.evaluated(policy, data, tmp_path / "kept", copy)
    assert isinstance(got, outcome_store.KeptOutcomes)
    assert "net" not in got.__dict__  # read when first used
    assert_same(got, fresh)
    assert "net" in got.__dict__


def test_forgotten_tables_are_read_again(policy, copy: Path, tmp_path: Path) -> None:
    """forget lets go of tables read; used again, they are read again (the same table); evaluated outcomes (not
    kept) keep theirs."""
    data = load_dataset(copy, policy=policy)
    fresh = evaluate(policy, data)
    outcome_store.keep(fresh, tmp_path / "kept", policy, outcome_store.data_key(copy))
    got = outcome_store.evaluated(policy, data, tmp_path / "kept", copy)
    first = got.commission
    outcome_store.forget(got, "commission", "indicators", "no_such_table")
    assert "commission" not in got.__dict__ and "indicators" not in got.__dict__
    again = got.commission
    assert again is not first
    pd.testing.assert_frame_equal(again, fresh.commission, check_exact=True)
    outcome_store.forget(fresh, "commission")
    assert fresh.commission is not None and len(fresh.commission)


def test_no_folder_or_another_policy_or_data_is_evaluated(policy, copy: Path, tmp_path: Path) -> None:
    data = load_dataset(copy, policy=policy)
    outcome_store.keep(evaluate(policy, data), tmp_path / "kept", policy, outcome_store.data_key(copy))
    # a notebook on its own
    assert not isinstance(outcome_store.evaluated(policy, data), outcome_store.KeptOutcomes)
    # another policy (every payout of the bonus curve x 1.1): its own evaluation
    other = knob_setter(policy, "bonus_curve")[0](1.1)
    got = outcome_store.evaluated(other, data, tmp_path / "kept", copy)
    assert not isinstance(got, outcome_store.KeptOutcomes)
    assert_same(got, evaluate(other, data))
    # other data: a folder that is not a validated copy has no key, so nothing kept is used
    assert outcome_store.data_key(tmp_path) is None
    assert not isinstance(outcome_store.evaluated(policy, data, tmp_path / "kept", tmp_path),
                          outcome_store.KeptOutcomes)
    assert outcome_store.kept(tmp_path / "kept", policy, "0" * 64) is None


def test_a_changed_table_is_refused(policy, copy: Path, tmp_path: Path) -> None:
    data = load_dataset(copy, policy=policy)
    folder = outcome_store.keep(evaluate(policy, data), tmp_path / "kept", policy, outcome_store.data_key(copy))
    (folder / "summary.pickle").write_bytes(b"changed")
    got = outcome_store.kept(tmp_path / "kept", policy, outcome_store.data_key(copy))
    with pytest.raises(CompkitError, match="changed after the review wrote them"):
        got.summary  # noqa: B018
    (folder / outcome_store.MANIFEST).unlink()  # no manifest (e.g. a write that stopped half-way): not read
    assert outcome_store.kept(tmp_path / "kept", policy, outcome_store.data_key(copy)) is None


def test_kept_costs_are_read_back_only_for_the_same_data(tiny, policy, copy: Path, tmp_path: Path) -> None:
    """keep_costs: the review's costs of further policies (the budget bracket's ends) read back as the same floats,
    merged with those kept before; for another copy, no folder or nothing kept: none (evaluated instead)."""
    key = outcome_store.data_key(copy)
    costs = {"a" * 64: 1234567.891234567, "b" * 64: 0.1 + 0.2}
    (tmp_path / "kept").mkdir()
    outcome_store.keep_costs(tmp_path / "kept", costs, key)
    assert outcome_store.kept_costs(tmp_path / "kept", copy) == costs  # bit for bit: 0.30000000000000004 too
    outcome_store.keep_costs(tmp_path / "kept", {"c" * 64: 5.0}, key)
    assert outcome_store.kept_costs(tmp_path / "kept", copy) == {**costs, "c" * 64: 5.0}
    other = tmp_path / "other"
    tiny.to_parquet(other, policy=policy.updated({"version": "another"}))
    assert outcome_store.kept_costs(tmp_path / "kept", other) == {}
    assert outcome_store.kept_costs(None, copy) == {} and outcome_store.kept_costs(tmp_path / "none", copy) == {}
    assert outcome_store.kept_costs(tmp_path / "kept", tmp_path) == {}  # not a validated copy


def test_outcomes_of_some_tables_are_kept_for_those_tables(policy, copy: Path, tmp_path: Path) -> None:
    """keep(tables=...): the outcomes of ``evaluate(..., tables=...)`` kept with those tables only; evaluated()
    takes them when it asks for those tables (or fewer), and evaluates when it asks for all of them."""
    data = load_dataset(copy, policy=policy)
    some = ("summary", "allocation")
    outcome_store.keep(evaluate(policy, data, tables=some), tmp_path / "kept", policy, outcome_store.data_key(copy),
                       tables=some)
    got = outcome_store.evaluated(policy, data, tmp_path / "kept", copy, tables=some)
    assert isinstance(got, outcome_store.KeptOutcomes)
    for name in some:
        pd.testing.assert_frame_equal(getattr(got, name), getattr(evaluate(policy, data), name), check_exact=True)
    with pytest.raises(AttributeError):
        got.commission  # noqa: B018 - not kept
    assert isinstance(outcome_store.evaluated(policy, data, tmp_path / "kept", copy, tables=("summary",)),
                      outcome_store.KeptOutcomes)
    assert outcome_store.kept(tmp_path / "kept", policy, outcome_store.data_key(copy)) is None
    assert_same(outcome_store.evaluated(policy, data, tmp_path / "kept", copy), evaluate(policy, data))


def test_a_kept_result_is_read_back_only_for_its_policy_and_data(tiny, policy, copy: Path, tmp_path: Path) -> None:
    """keep_result / kept_result: a result the review worked out for a notebook, read back equal, for the same
    policy on the same validated copy only; a changed pickle is refused."""
    key = outcome_store.data_key(copy)
    (tmp_path / "kept").mkdir()
    value = {"register": pd.DataFrame({"appeal_id": ["A1"], "days": [0.1 + 0.2]}), "info": {"upheld": 1}}
    outcome_store.keep_result(tmp_path / "kept", "appeals", policy, key, value)
    got = outcome_store.kept_result(tmp_path / "kept", "appeals", policy, copy)
    pd.testing.assert_frame_equal(got["register"], value["register"], check_exact=True)
    assert got["info"] == value["info"]
    other = knob_setter(policy, "bonus_curve")[0](1.1)
    assert outcome_store.kept_result(tmp_path / "kept", "appeals", other, copy) is None
    assert outcome_store.kept_result(tmp_path / "kept", "other", policy, copy) is None
    assert outcome_store.kept_result(None, "appeals", policy, copy) is None
    assert outcome_store.kept_result(tmp_path / "kept", "appeals", policy, tmp_path) is None  # not a copy
    next(p for p in (tmp_path / "kept").glob("appeals-*.pickle")).write_bytes(b"changed")
    with pytest.raises(CompkitError, match="changed after the review wrote it"):
        outcome_store.kept_result(tmp_path / "kept", "appeals", policy, copy)
