"""Targets for each person: unit targets broken down, checked by hand on the tiny dataset."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compkit.privacy import PrivacyError
from compkit.targets import TargetError, break_down_targets, monthly_targets, next_cycle, unit_totals, write_targets


def test_next_cycle() -> None:
    assert [next_cycle(c) for c in ("2025", "2025H1", "2025H2")] == ["2026", "2025H2", "2026H1"]


def test_break_down_worked_example(policy, tiny) -> None:
    """Tiny: E1 on target all year (fee income 30,000 a month), E3 at 120% (36,000), E2 from July (30,000),
    E4 left in March (no target for next cycle).

    Individual changes (second half over first, market taken out): E1 and E3 1.0 each (E2 has no first half),
    so q = 1 at any share and each proposal is the year's actual: E1 360,000, E2 180,000, E3 432,000; sum 972,000.
    A branch target of 1,944,000 scales them by 2: 720,000, 360,000, 864,000; the chance of reaching twice this
    year's result is P(change >= 2) = 0. A target of 972,000 (scale 1): P(change >= 1) = 1.
    """
    unit = pd.DataFrame({"branch": ["Pudong", "Pudong"], "indicator": ["fee_income", "npl_ratio"],
                         "target": [1_944_000.0, 1.4]})
    people, units = break_down_targets(policy, tiny, unit, share_reaching=0.5)
    fee = people[people["indicator"] == "fee_income"].set_index("employee_id")
    assert sorted(fee.index) == ["E1", "E2", "E3"]  # E4 left
    assert np.allclose(fee["proposal"], [360_000, 180_000, 432_000])
    assert np.allclose(fee["target_next"], [720_000, 360_000, 864_000])
    assert fee["target_next"].sum() == pytest.approx(1_944_000)
    u = units.set_index("indicator")
    assert u.loc["fee_income", "sum_of_proposals"] == pytest.approx(972_000)
    assert u.loc["fee_income", "scale"] == pytest.approx(2.0)
    assert u.loc["fee_income", "expected_share"] == 0.0
    # a ratio (lower is better) does not add up over people: everyone gets the unit's ratio
    assert np.allclose(people.loc[people["indicator"] == "npl_ratio", "target_next"], 1.4)
    _, units = break_down_targets(policy, tiny, unit.assign(target=[972_000.0, 1.4]))
    assert units.set_index("indicator").loc["fee_income", "expected_share"] == 1.0


def test_monthly_targets_follow_the_branch_pattern_and_add_up(policy, tiny) -> None:
    """Pudong's fee income by month: Jan-Mar E1 + E3 + E4 = 30,000 + 36,000 + 15,000 = 81,000; Apr-Jun 66,000;
    Jul-Dec (E2 joins) 96,000; the year 3 x 81,000 + 3 x 66,000 + 6 x 96,000 = 1,017,000. E1's 720,000 in
    January: 720,000 x 81,000 / 1,017,000 = 57,345.13 (cents placed by largest remainder, adding up exactly)."""
    unit = pd.DataFrame({"branch": ["Pudong", "Pudong"], "indicator": ["fee_income", "deposits_adb"],
                         "target": [1_944_000.0, 60_000_000.0]})
    people, _ = break_down_targets(policy, tiny, unit)
    monthly = monthly_targets(policy, tiny, people)
    assert list(monthly.columns) == ["employee_id", "period", "indicator", "target"]
    e1 = monthly[(monthly["employee_id"] == "E1") & (monthly["indicator"] == "fee_income")].set_index("period")
    assert list(e1.index) == [f"2026-{m:02d}" for m in range(1, 13)]
    assert e1.loc["2026-01", "target"] == pytest.approx(57_345.13, abs=0.011)
    assert round(e1["target"].sum(), 2) == 720_000.00
    assert e1.loc["2026-07", "target"] == pytest.approx(720_000 * 96_000 / 1_017_000, abs=0.011)
    # a balance (mean over months): the same target every month. Deposits: E1 20m, E2 20m, E3 24m -> 64m
    # proposals; 60m / 64m = 0.9375 -> E1 18.75m each month
    dep = monthly[(monthly["employee_id"] == "E1") & (monthly["indicator"] == "deposits_adb")]
    assert np.allclose(dep["target"], 18_750_000.0)


def test_targets_file_is_written_privately(policy, tiny, tmp_path: Path) -> None:
    unit = pd.DataFrame({"branch": ["Pudong"], "indicator": ["fee_income"], "target": [972_000.0]})
    monthly = monthly_targets(policy, tiny, break_down_targets(policy, tiny, unit)[0])
    path = write_targets(monthly, tmp_path / "private" / "targets.csv")
    back = pd.read_csv(path)
    assert len(back) == 36 and back["target"].sum() == pytest.approx(972_000)
    with pytest.raises(PrivacyError, match="never under reports/"):
        write_targets(monthly, tmp_path / "reports" / "targets.csv")


@pytest.mark.parametrize("rows, message", [
    ({"branch": ["Nowhere"], "indicator": ["fee_income"], "target": [1.0]},
     "row 2, column 'branch': found 'Nowhere'; expected a branch of the employees table"),
    ({"branch": ["Pudong"], "indicator": ["fees"], "target": [1.0]},
     "row 2, column 'indicator': found 'fees'; expected an indicator of the policy sourced from metrics"),
    ({"branch": ["Pudong"], "indicator": ["fee_income"], "target": ["-5"]},
     "row 2, column 'target': found '-5'; expected a number >= 0"),
    ({"branch": ["Pudong", "Pudong"], "indicator": ["fee_income"] * 2, "target": [1.0, 2.0]},
     "row 3: branch 'Pudong' and indicator 'fee_income' appear twice"),
    ({"branch": ["Pudong"], "indicator": ["fee_income"]}, "a column named 'target'"),
])
def test_bad_unit_targets(policy, tiny, rows, message) -> None:
    with pytest.raises(TargetError, match=message.replace("(", r"\(")):
        break_down_targets(policy, tiny, pd.DataFrame(rows))


def test_bad_unit_targets_read_in_chinese_by_default(policy, tiny) -> None:
    rows = {"branch": ["Nowhere", "Pudong"], "indicator": ["fee_income", "fees"], "target": [1.0, "-5"]}
    with pytest.raises(TargetError) as info:
        break_down_targets(policy, tiny, pd.DataFrame(rows))
    assert info.value.message().splitlines() == [
        "单位目标中有 3 个问题：",
        "  - 第 2 行，“branch”列：发现 'Nowhere'；应为 employees 表中的 branch",
        "  - 第 3 行，“indicator”列：发现 'fees'；应为政策中来源为 metrics 的指标：" + ", ".join(
            sorted(i.id for i in policy.scorecard.indicators if i.source == "metrics")),
        "  - 第 3 行，“target”列：发现 '-5'；应为不小于 0 的数字"]
    assert info.value.message("en") == str(info.value)


def test_targets_command(tiny_dir: Path, tmp_path: Path, capsys) -> None:
    from compkit.cli import main
    from tests.conftest import POLICY_2025

    unit = tmp_path / "unit_targets.csv"
    pd.DataFrame({"branch": ["Pudong"], "indicator": ["fee_income"], "target": [1_944_000]}).to_csv(unit, index=False)
    out = tmp_path / "private" / "targets.csv"
    args = ["targets", "--policy", str(POLICY_2025), "--data", str(tiny_dir), "--unit-targets", str(unit)]
    assert main(args + ["--out", str(out)]) == 0  # the policy's language, zh-CN
    printed = capsys.readouterr().out
    assert f"考核期 2026 的目标：3 人，1 个单位目标；已写入 {out}（涉及个人：请妥善保密）" in printed
    assert "设定的目标达成（100%）人数比例：50%" in printed
    assert "Pudong fee_income：3 人，目标 1,944,000.00，预计达成比例 0%；若单位目标为 972,000，达成比例将为 50%" \
        in printed
    assert main(args + ["--out", str(out), "--lang", "en"]) == 0
    printed = capsys.readouterr().out
    assert "targets for cycle 2026: 3 people, 1 unit target(s)" in printed
    assert "Pudong fee_income: 3 people, target 1,944,000.00, expected to reach it 0%; the share would be 50% at " \
           "a unit target of 972,000" in printed
    assert pd.read_csv(out)["target"].sum() == pytest.approx(1_944_000)
    assert main(args + ["--out", str(tmp_path / "reports" / "t.csv")]) == 1
    assert "个人目标含有个人薪酬，须写入私密文件夹，绝不能放在 reports/ 下" in capsys.readouterr().err
    assert main(args + ["--out", str(out), "--share", "1.5"]) == 1
    assert "--share 1.5：应为 0 到 1 之间的比例（例如 0.5）" in capsys.readouterr().err
    assert main(args + ["--out", str(out), "--share", "1.5", "--lang", "en"]) == 1
    assert "expected a share between 0 and 1" in capsys.readouterr().err


def test_targets_command_replaces_only_its_own_file(tiny_dir: Path, tmp_path: Path, capsys) -> None:
    """The targets file goes through the output guard: it may replace a targets file it wrote before, never a data
    table, a file of another kind, its inputs or a folder; and a refused run leaves the file untouched."""
    from compkit.cli import main
    from tests.conftest import POLICY_2025

    unit = tmp_path / "unit_targets.csv"
    pd.DataFrame({"branch": ["Pudong"], "indicator": ["fee_income"], "target": [1_944_000]}).to_csv(unit, index=False)
    args = ["targets", "--policy", str(POLICY_2025), "--data", str(tiny_dir), "--unit-targets", str(unit), "--out"]
    out = tmp_path / "private" / "targets.csv"
    assert main(args + [str(out)]) == 0
    assert main(args + [str(out)]) == 0  # its own file: replaced
    notes = tmp_path / "private" / "notes.csv"
    notes.write_text("who,what\nme,keep this\n", encoding="utf-8")
    refused = {
        str(notes): "a file that is not a targets table (employee_id, period, indicator, target) is already there",
        str(tiny_dir / "metrics.csv"): "lies inside the data folder",
        str(unit): "is the unit targets file",
        str(tmp_path / "private"): "is a folder; expected a file name ending in .csv",
        str(tmp_path / "private" / "targets.txt"): "expected a file name ending in .csv",
    }
    before = (tiny_dir / "metrics.csv").read_bytes()
    for path, message in refused.items():
        capsys.readouterr()
        assert main(args + [path, "--lang", "en"]) == 1, path
        assert message in capsys.readouterr().err, path
    assert notes.read_text(encoding="utf-8") == "who,what\nme,keep this\n"
    assert (tiny_dir / "metrics.csv").read_bytes() == before
    assert not list((tmp_path / "private").glob(".targets*"))  # no temporary file left behind


def test_unit_totals_worked_example(policy, tiny) -> None:
    """Pudong's fee income this cycle from the people still employed (E4 left): E1 360,000 + E2 180,000 + E3
    432,000 = 972,000; grown 5%: 1,020,600. NPL ratio (lower is better): the median of E1 1.5, E2 1.5, E3 1.25 is
    1.5; / 1.05."""
    unit = unit_totals(policy, tiny, growth=0.05).set_index("indicator")["target"]
    assert unit["fee_income"] == pytest.approx(1_020_600.0)
    assert unit["npl_ratio"] == pytest.approx(1.5 / 1.05)


def test_next_cycle_loads_the_targets_file(policy, tiny, tmp_path: Path) -> None:
    """The targets written for 2026 fill the 2026 metrics rows that have no target; a target given in the
    metrics table is kept; a targets row naming an unknown indicator is refused."""
    from compkit.data import load_dataset
    from compkit.errors import DataError
    from tests.conftest import tiny_tables, write_tables

    unit = pd.DataFrame({"branch": ["Pudong"], "indicator": ["fee_income"], "target": [1_944_000.0]})
    monthly = monthly_targets(policy, tiny, break_down_targets(policy, tiny, unit)[0])
    t = {name: (df[df["employee_id"] != "E4"].copy() if "employee_id" in df else df)  # E4 left in 2025
         for name, df in tiny_tables().items()}
    m = t["metrics"]
    m = m[m["employee_id"].isin(["E1", "E3"])].copy()  # next year's metrics: E1 and E3, months renamed to 2026
    m["period"] = m["period"].str.replace("2025", "2026")
    m.loc[m["indicator"] == "fee_income", "target"] = None
    m.loc[(m["employee_id"] == "E3") & (m["period"] == "2026-01") & (m["indicator"] == "fee_income"),
          "target"] = 1.0
    t["metrics"] = m
    t["sales"]["period"] = t["sales"]["period"].str.replace("2025", "2026")
    t["ratings"]["cycle"] = "2026"
    t["surveys"]["date"] = t["surveys"]["date"].str.replace("2025", "2026")
    t["complaints"]["date"] = t["complaints"]["date"].str.replace("2025", "2026")
    t["targets"] = monthly
    data = load_dataset(write_tables(t, tmp_path / "d2026"), policy=policy)
    got = data.metrics[data.metrics["indicator"].astype(str) == "fee_income"].set_index(["employee_id", "period"])
    want = monthly[monthly["indicator"] == "fee_income"].set_index(["employee_id", "period"])["target"]
    assert got.loc[("E1", "2026-01"), "target"] == want[("E1", "2026-01")]
    assert got.loc[("E3", "2026-01"), "target"] == 1.0  # given in metrics: kept
    assert got.loc[("E3", "2026-07"), "target"] == want[("E3", "2026-07")]
    t["targets"] = monthly.assign(indicator="fees")
    with pytest.raises(DataError, match="targets.csv, row 2, column 'indicator': found 'fees'"):
        load_dataset(write_tables(t, tmp_path / "bad"), policy=policy)


def test_shares_at_or_below_worked_example() -> None:
    """Changes 0.5, 1, 2, 4 and a target of 0.02: a ratio of 0.02 meets it for every change (0.04, 0.02, 0.01,
    0.005 -> 3 of 4 at or below? 0.04 is not: 3/4); 0.04 for changes 2 and 4 (0.02, 0.01: 2/4); 0.2 for none (0);
    0 for all (1); a negative ratio and NaN are compared one by one (-0.1 / c <= 0.02 always: 1; NaN never: 0)."""
    from compkit.targets import _shares_at_or_below

    got = _shares_at_or_below(np.array([0.02, 0.04, 0.2, 0.0, -0.1, np.nan]), np.array([2.0, 0.5, 4.0, 1.0]), 0.02)
    assert got.tolist() == [0.75, 0.5, 0.0, 1.0, 1.0, 0.0]


@settings(max_examples=200, deadline=None)
@given(base=st.lists(st.one_of(st.floats(-1, 10), st.sampled_from([0.0, 0.1, 0.3, float("nan")])), max_size=20),
       changes=st.lists(st.one_of(st.floats(1e-6, 1e3), st.sampled_from([0.5, 1.0, 3.0, 1 / 3])), min_size=1,
                        max_size=30),
       t=st.one_of(st.floats(0, 5), st.sampled_from([0.1, 0.3, 1.0])))
def test_shares_at_or_below_is_the_direct_comparison(base, changes, t) -> None:
    """The binary search gives exactly np.mean(b / changes <= t) for each b (the comparison made person by
    person before), ties included."""
    from compkit.targets import _shares_at_or_below

    b, c = np.array(base, dtype="float64"), np.array(changes, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = [np.mean(x / c <= t) for x in b]
    assert _shares_at_or_below(b, c, t).tolist() == expected


def test_proposals_and_changes_handed_over_give_the_same_targets(policy, tiny) -> None:
    """The calibration notebook proposes once and hands the proposals (and each indicator's individual changes) to
    unit_totals and break_down_targets: the same tables as when each proposes on its own; proposals made with
    other settings are refused."""
    from compkit.targets import propose_targets

    unit = pd.DataFrame({"branch": ["Pudong", "Pudong"], "indicator": ["fee_income", "npl_ratio"],
                         "target": [1_944_000.0, 1.4]})
    changes: dict = {}
    proposals = propose_targets(policy, tiny, share_reaching=0.4, changes=changes)
    assert set(changes) == {i.id for i in policy.scorecard.indicators if i.source == "metrics"}
    pd.testing.assert_frame_equal(proposals, propose_targets(policy, tiny, share_reaching=0.4), check_exact=True)
    pd.testing.assert_frame_equal(unit_totals(policy, tiny, growth=0.05, proposals=proposals),
                                  unit_totals(policy, tiny, growth=0.05), check_exact=True)
    handed = break_down_targets(policy, tiny, unit, share_reaching=0.4, proposals=proposals, changes=changes)
    own = break_down_targets(policy, tiny, unit, share_reaching=0.4)
    for a, b in zip(handed, own):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    with pytest.raises(ValueError, match="share_reaching 0.4 instead of 0.5"):
        break_down_targets(policy, tiny, unit, share_reaching=0.5, proposals=proposals)
    with pytest.raises(ValueError, match="environment 'branch' instead of 'region'"):
        unit_totals(policy, tiny, by="region", proposals=proposals)
