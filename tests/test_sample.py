"""compkit.sample: reproducibility, the data contract, and the planted effects."""
from __future__ import annotations

import filecmp
from pathlib import Path

import numpy as np
import pytest

from compkit.data import KEYS, load_dataset
from compkit.sample import BIAS_REGION, GAP_BRANCH, LENIENT_REGION, STRICT_SUPERVISOR, TOUGH_BRANCH, make_sample


@pytest.fixture(scope="module")
def sample():
    return make_sample(managers=600, year=2025, seed=11)


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    a = make_sample(120, 2025, seed=5).write(tmp_path / "a")
    b = make_sample(120, 2025, seed=5).write(tmp_path / "b")
    c = make_sample(120, 2025, seed=6).write(tmp_path / "c")
    assert [p.name for p in a] == [p.name for p in b]
    assert all(filecmp.cmp(x, y, shallow=False) for x, y in zip(a, b))
    assert not all(filecmp.cmp(x, y, shallow=False) for x, y in zip(a, c))


def test_the_bundled_sample_is_what_the_generator_makes(tmp_path: Path) -> None:
    """data/sample is exactly ``compkit sample --managers 1000 --year 2025 --seed 2025`` (its README says so): the
    generator's per-table functions draw in a fixed order, so any change to a draw shows here as changed bytes."""
    bundled = Path(__file__).resolve().parent.parent / "data" / "sample"
    written = make_sample(1000, 2025, seed=2025).write(tmp_path / "s")
    assert sorted(p.name for p in written) == sorted(p.name for p in bundled.glob("*.csv"))
    changed = [p.name for p in written if not filecmp.cmp(p, bundled / p.name, shallow=False)]
    assert changed == []


def test_sample_passes_the_data_contract(tmp_path: Path, bank_policy) -> None:
    folder = tmp_path / "s"
    make_sample(200, 2024, seed=3).write(folder)
    data = load_dataset(folder, policy=bank_policy)
    assert data.cycle == "2024" and len(data.employees) == 200
    for table, keys in KEYS.items():
        df = data.table(table)
        assert not df.duplicated(list(keys)).any(), table


def test_joiners_leavers_reversals_and_small_peer_groups(sample) -> None:
    emp = sample.tables["employees"]
    assert (emp["hire_date"] >= "2025-01-01").sum() > 0
    assert emp["exit_date"].notna().sum() > 0
    assert (sample.tables["sales"]["amount"] < 0).any()
    peers = sample.tables["ratings"].query("rater_role == 'peer'").groupby("employee_id")["rater_id"].nunique()
    assert (peers == 1).any() and (peers >= 3).mean() > 0.8


def test_planted_lenient_supervisors(sample) -> None:
    r = sample.tables["ratings"].merge(sample.tables["employees"][["employee_id", "region"]], on="employee_id")
    sup = r[r["rater_role"] == "supervisor"].groupby("region")["score"].mean()
    assert sup[LENIENT_REGION] - sup.drop(LENIENT_REGION).mean() > 0.4
    leniency = sample.truth["supervisor_leniency"].set_index("supervisor_id")["leniency"]
    assert leniency[STRICT_SUPERVISOR] == -0.6


def test_planted_pay_gap_in_one_branch(sample) -> None:
    emp = sample.tables["employees"]
    branch = emp[emp["branch"] == GAP_BRANCH]
    ratio = (branch[branch["gender"] == "F"].groupby("grade")["base_monthly"].mean()
             / branch[branch["gender"] == "M"].groupby("grade")["base_monthly"].mean()).dropna()
    assert 0.88 < ratio.mean() < 0.99


def test_planted_rater_bias_and_tough_market(sample) -> None:
    truth = sample.truth["true_levels"].groupby("employee_id")["true_level"].mean()
    r = sample.tables["ratings"].query("rater_role == 'supervisor'").groupby("employee_id")["score"].mean()
    emp = sample.tables["employees"].set_index("employee_id")
    resid = (r - truth.reindex(r.index)).to_frame("resid").join(emp[["region", "gender"]])
    north = resid[resid["region"] == BIAS_REGION]
    gap = north[north["gender"] == "F"]["resid"].mean() - north[north["gender"] == "M"]["resid"].mean()
    assert -0.6 < gap < -0.15
    m = sample.tables["metrics"].merge(emp[["branch"]], left_on="employee_id", right_index=True)
    fee = m[m["indicator"] == "fee_income"].assign(ach=lambda d: d["actual"] / d["target"])
    by_branch = fee.groupby("branch")["ach"].median()
    assert by_branch[TOUGH_BRANCH] < by_branch.drop(TOUGH_BRANCH).median() * 0.92


def test_scores_on_the_scale_and_periods_in_employment(sample) -> None:
    r = sample.tables["ratings"]
    assert r["score"].between(1, 5).all() and (r["score"] == np.rint(r["score"])).all()
    m = sample.tables["metrics"].merge(sample.tables["employees"][["employee_id", "hire_date", "exit_date"]],
                                       on="employee_id")
    month_end = (m["period"].astype("datetime64[ns]") + np.timedelta64(31, "D"))
    assert (m["hire_date"] <= month_end).all()


def test_a_simple_policy_gets_a_sample_of_its_own_products(tmp_path: Path, policy) -> None:
    """make_sample follows the policy it is given: the simple policy's products (wealth subscriptions among
    them) and metrics, bands without steps (no step column, pay within the band)."""
    folder = tmp_path / "simple"
    make_sample(80, 2025, seed=4, policy=policy).write(folder)
    data = load_dataset(folder, policy=policy)
    assert set(data.sales["product"].astype(str)) <= set(policy.product_ids)
    assert "wealth" in set(data.sales["product"].astype(str)) and data.employees["step"].isna().all()


def test_the_bank_lines_steps_and_scorecards(sample, bank_policy) -> None:
    """Every line has people; every person is on a pay step whose pay is the base; each matches one scorecard."""
    from compkit.populations import assignment_problems

    emp = sample.tables["employees"]
    assert set(emp["line"]) == {"对公", "零售", "理财", "私行", "小微"}
    assert set(emp.loc[emp["line"] == "私行", "grade"]) <= {"SCM", "RM"}
    steps = {g.id: g.steps for g in bank_policy.grades}
    pay = [steps[g][int(k) - 1] for g, k in zip(emp["grade"], emp["step"])]
    assert (emp["base_monthly"].to_numpy() == np.array(pay)).all()
    assert assignment_problems(emp, bank_policy) == []
    assert emp["name"].str.fullmatch(r"[\u4e00-\u9fff]{2,3}").all()
    assert emp["branch"].str.endswith("支行").all() and emp["region"].str.endswith("分行").all()


def test_the_bank_products_and_shared_deals(sample) -> None:
    """Deposits by type with last year's balance, deposits_adb = the month's deposits, insurance by payment term,
    loans with ids (some non-performing), reversals only of insurance and funds, credits adding up to 1."""
    s, m = sample.tables["sales"], sample.tables["metrics"]
    dep = s[s["product"] == "deposits"]
    assert set(dep["deposit_type"]) == {"活期", "定期", "协定"} and dep["baseline"].notna().mean() > 0.9
    total = dep.groupby(["employee_id", "period"])["amount"].sum()
    adb = m[m["indicator"] == "deposits_adb"].set_index(["employee_id", "period"])["actual"]
    assert np.allclose(adb.reindex(total.index).to_numpy(), total.to_numpy())
    assert set(s.loc[s["product"] == "insurance", "payment_term"]) == {"趸交", "期交3", "期交5", "期交10"}
    loans = s[s["product"].isin(["loans", "sme_loans"])]
    assert loans["loan_id"].notna().all() and loans["npl_date"].notna().any()
    assert set(s.loc[s["deal_id"].str.endswith("-R"), "product"]) <= {"insurance", "funds"}
    c = sample.tables["credits"]
    assert np.allclose(c.groupby("deal_id")["share"].sum(), 1.0) and c["deal_id"].isin(s["deal_id"]).all()
    booked = s.set_index("deal_id")["employee_id"]
    assert (c.groupby("deal_id")["employee_id"].apply(set).index.map(booked).notna()).all()


def test_satisfaction_is_about_on_target(sample) -> None:
    """Surveys are generated so that a typical manager's customers average about 4.4 (the policy's target)."""
    per_person = sample.tables["surveys"].groupby("employee_id")["score"].mean()
    assert 4.3 < per_person.median() < 4.5


def test_a_failed_write_leaves_the_previous_sample_whole(tmp_path: Path, monkeypatch) -> None:
    from compkit import sample as sample_module

    folder = tmp_path / "data"
    make_sample(managers=20, seed=1).write(folder)
    (folder / "README.txt").write_text("ours")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    real, calls = sample_module._to_csv, {"n": 0}

    def failing(df, path):  # the third table fails: the first two must not replace the old ones
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        real(df, path)

    monkeypatch.setattr(sample_module, "_to_csv", failing)
    with pytest.raises(OSError, match="disk full"):
        make_sample(managers=20, seed=2).write(folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
    # a successful write replaces the tables and keeps the README
    monkeypatch.setattr(sample_module, "_to_csv", real)
    make_sample(managers=20, seed=2).write(folder)
    assert (folder / "README.txt").read_text() == "ours"
    assert (folder / "employees.csv").read_bytes() != before["employees.csv"]
