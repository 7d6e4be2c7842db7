"""compkit.briefs: what the calibration and fairness reports show, worked by hand on small tables, in Chinese and
in English."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from compkit import briefs
from compkit import fairness as fx
from compkit.present import Presenter

# ============================================================================================ calibration


def _supervisors() -> pd.DataFrame:
    return pd.DataFrame({
        "supervisor": ["s1", "s2", "s3", "s4", "s5"],
        "region": ["East", "East", "North", "North", None],
        "estimable": [True, True, True, False, True],
        "effect": [0.50, 0.10, 0.40, 0.90, -0.20],
        "n_ratees": [10, 9, 8, 1, 7],
    })


def test_leniency_by_region_counts_only_estimable_supervisors() -> None:
    by, lenient = briefs.leniency(_supervisors())
    by = by.set_index("region")
    # East: s1 and s2 estimable, mean (0.50 + 0.10) / 2 = 0.30, one above 0.35 (s1)
    assert by.loc["East", "supervisors"] == 2 and by.loc["East", "estimable"] == 2
    assert by.loc["East", "mean_effect"] == pytest.approx(0.30) and by.loc["East", "lenient"] == 1
    # North: s4 is not estimable (its 0.90 is left out): mean 0.40 of s3 alone, one lenient
    assert by.loc["North", "supervisors"] == 2 and by.loc["North", "estimable"] == 1
    assert by.loc["North", "mean_effect"] == pytest.approx(0.40) and by.loc["North", "lenient"] == 1
    assert by.loc["?", "lenient"] == 0  # a supervisor without a region is kept, under "?"
    assert lenient["supervisor"].tolist() == ["s1", "s3"]  # most lenient first, s4 (not estimable) not listed


def test_supervisors_are_named_by_rank_or_pseudonym_never_by_id() -> None:
    raters = pd.DataFrame({"rater": ["supervisor:S7", "supervisor:S9", "peer:E1"], "effect": [0.1, -0.6, 0.3],
                           "estimable": [True, True, True]})
    employees = pd.DataFrame({"employee_id": ["E1", "E2"], "supervisor_id": ["S7", "S9"], "region": ["East", "West"]})
    ranked = briefs.supervisors(raters, employees, "2025", "zh-CN", key=None)
    assert ranked["supervisor"].tolist() == ["上级 #2", "上级 #1"]  # |-0.6| is the largest effect
    assert ranked["region"].tolist() == ["East", "West"]
    keyed = briefs.supervisors(raters, employees, "2025", "en", key=b"k" * 32)
    assert all(s.startswith("P-") and "S7" not in s and "S9" not in s for s in keyed["supervisor"])


def test_supervisor_means_before_and_after_by_region() -> None:
    calibrated = pd.DataFrame({
        "employee_id": ["E1", "E1", "E2", "E3"], "rater_key": ["supervisor:S1", "peer:E9", "supervisor:S1",
                                                               "supervisor:S2"],
        "score": [4.0, 1.0, 3.0, 2.0], "calibrated_score": [3.5, 1.0, 2.5, 2.5]})
    employees = pd.DataFrame({"employee_id": ["E1", "E2", "E3"], "region": ["East", "East", "West"]})
    t = briefs.supervisor_means(calibrated, employees).set_index("region")
    # East: E1 4.0 -> 3.5, E2 3.0 -> 2.5 (the peer's rating is not a supervisor's): before 3.5, after 3.0
    assert t.loc["East", "before"] == pytest.approx(3.5) and t.loc["East", "after"] == pytest.approx(3.0)
    assert t.loc["East", "change"] == pytest.approx(-0.5) and t.loc["West", "change"] == pytest.approx(0.5)


def test_peer_panel_keeps_ratees_with_three_peers() -> None:
    rows = [("E1", "peer", "k", s) for s in (3, 4, 5, 2)] + [("E2", "peer", "k", s) for s in (3, 3)] + \
        [("E3", "peer", "k", s) for s in (1, 2, 3)] + [("E3", "supervisor", "k", 5), ("E3", "peer", "other", 4)]
    ratings = pd.DataFrame(rows, columns=["employee_id", "rater_role", "item", "score"])
    panel = briefs.peer_panel(ratings, "k")
    assert sorted(panel["employee_id"].unique()) == ["E1", "E3"]  # E2 has only 2 peers
    assert panel.groupby("employee_id")["slot"].apply(list).tolist() == [[0, 1, 2], [0, 1, 2]]
    assert panel.loc[panel["employee_id"] == "E1", "score"].tolist() == [3, 4, 5]  # the 4th peer left out


@pytest.mark.parametrize(("alpha", "level"), [(0.8, "ok"), (0.79, "watch"), (0.667, "watch"), (0.66, "alert"),
                                              (float("nan"), "watch")])
def test_reliability_bands(alpha: float, level: str) -> None:
    assert briefs.reliability_flag(alpha) == level


def test_target_reach_and_its_flag() -> None:
    t = pd.DataFrame({"indicator": ["a"] * 4 + ["b"] * 4,
                      "achievement_now": [0.9, 1.0, 1.1, 0.5, 1.2, 1.3, 1.0, 1.5]})
    r = briefs.target_reach(t).set_index("indicator")
    assert r.loc["a", "reached"] == pytest.approx(0.5) and r.loc["a", "flag"] == "ok"  # 2 of 4 reach 100%
    assert r.loc["b", "reached"] == pytest.approx(1.0) and r.loc["b", "flag"] == "watch"  # too easy


def test_curve_table_and_slopes() -> None:
    current = [(60, 0.0), (70, 0.5), (100, 1.0), (120, 1.5)]
    calibrated = [(71.37, 0.0), (81.37, 0.5), (95.87, 1.0), (109.36, 1.5)]
    t = briefs.curve_table(current, calibrated)
    assert t["point"].tolist() == list(briefs.CURVE_POINTS)
    assert t["current"].tolist() == [60, 70, 100, 120] and t["calibrated"].tolist() == [71.37, 81.37, 95.87, 109.36]
    # rise into the threshold: 0.5 / (81.37 - 71.37) = 0.05 per point; into the target 0.5 / 14.5
    assert t["slope"].iloc[1] == pytest.approx(0.05) and t["slope"].iloc[2] == pytest.approx(0.5 / 14.5)
    assert np.isnan(t["slope"].iloc[0])
    assert briefs.max_slope(calibrated) == pytest.approx(0.05)
    assert briefs.max_slope([(55.99, 0), (56, 0.5), (80, 1.0)]) == pytest.approx(50.0)  # a cliff


def _calibration_headlines(lang: str, **change) -> list:
    args = dict(supervisors=110, estimable=107, lenient=30, alpha=0.40, cost=275_088_646.54, budget=274_000_000,
                solved=True, knob="multiplier of every commission rate", value=0.9835, reach=0.55, slope=0.05,
                slope_limit=0.05)
    args.update(change)
    return briefs.calibration_headlines(Presenter(lang), **args)


def test_calibration_headlines_flags() -> None:
    h = _calibration_headlines("zh-CN")
    # 30 / 107 = 28% lenient > 25% -> alert; alpha 0.40 < 0.667 -> alert; cost 0.4% over, solved -> ok;
    # 55% reach -> ok; slope 0.05 at the limit -> ok (no cliff)
    assert [x.flag for x in h] == ["alert", "alert", "ok", "ok", "ok"]
    assert h[0].value == "107个中的30个" and "0.35" in h[0].sentence
    assert "所有提成比例的乘数" in h[2].sentence and "0.9835" in h[2].sentence
    assert h[4].value == "每分占目标奖金的5.0%" and "悬崖" in h[4].sentence
    cliff = _calibration_headlines("en", slope=50.0, lenient=5, alpha=0.9, solved=False, reach=0.9)
    assert [x.flag for x in cliff] == ["ok", "ok", "alert", "watch", "alert"]
    assert "cliff" in cliff[4].sentence and "No value of the multiplier" in cliff[2].sentence


# ============================================================================================ fairness


def test_group_and_scope_words() -> None:
    assert briefs.group_word("F", "gender", "zh-CN") == "女性" and briefs.group_word("M", "gender", "en") == "Men"
    assert briefs.group_word("CM1", "grade", "zh-CN") == "CM1"
    assert briefs.scope_words("branch_adjusted_gap", "B2", "zh-CN") == "B2支行"
    assert briefs.scope_words("branch_adjusted_gap", "朝阳支行", "zh-CN") == "朝阳支行"  # not 朝阳支行支行
    assert briefs.scope_words("rater_bias", "region North", "zh-CN") == "北区"
    assert briefs.scope_words("rater_bias", "all regions", "zh-CN") == "全行"
    assert briefs.scope_words("four_fifths", None, "en") == "Whole bank"
    assert briefs.scope_words("category_pay_gap", "CM1 · hourly", "zh-CN") == "CM1 · 小时"


def _workforce(n: int = 900) -> pd.DataFrame:
    """Women in branch B2 paid 8% less than men of the same grade; elsewhere equal."""
    rng = np.random.default_rng(3)
    gender = rng.choice(["F", "M"], n)
    grade = rng.choice(["CM1", "CM2"], n)
    branch = rng.choice(["B1", "B2", "B3"], n)
    pay = np.exp(np.log(100_000) + 0.3 * (grade == "CM2") + rng.normal(0, 0.03, n)
                 + np.where((branch == "B2") & (gender == "F"), np.log(0.92), 0.0))
    return pd.DataFrame({"gender": gender, "grade": grade, "branch": branch, "pay": pay})


def test_flag_rows_read_in_words_with_the_branch_gap() -> None:
    df = _workforce()
    by_branch = fx.adjusted_gap_by(df, "pay", "gender", ["grade"], reference="M")
    flags = fx.summary_flags(adjusted_by=by_branch)
    rows = briefs.flag_rows(flags, "gender", "zh-CN")
    assert rows["check"].tolist() == ["支行内调整后薪酬差距"] and rows["scope"].tolist() == ["B2支行"]
    assert rows["group"].tolist() == ["女性"] and rows["level"].tolist() == ["alert"]
    # gap positive = paid less: (1 - 0.92) x 100 = 8%
    assert rows["gap"].iloc[0] == pytest.approx(8.0, abs=0.8) and rows["measure"].iloc[0] == "p值"
    everything = briefs.flag_rows(flags, "gender", "en", only_flagged=False)
    assert len(everything) == 3 and sorted(everything["level"]) == ["alert", "ok", "ok"]


def test_rater_rows_carry_the_rating_gap() -> None:
    rng = np.random.default_rng(5)
    gender = rng.choice(["F", "M"], 500)
    kpi = rng.normal(70, 10, 500)
    rating = 1 + kpi / 25 + rng.normal(0, 0.2, 500) - np.where(gender == "F", 0.2, 0.0)
    df = pd.DataFrame({"gender": gender, "kpi": kpi, "rating": rating})
    rows = briefs.rater_rows({"all regions": fx.rater_bias(df, "rating", "gender", ["kpi"], reference="M")})
    # women rated 0.2 points lower at equal KPI: gap +0.2 (positive = rated lower)
    assert rows["gap"].iloc[0] == pytest.approx(0.2, abs=0.06) and bool(rows["significant"].iloc[0])
    assert rows["gap_ci_low"].iloc[0] < rows["gap"].iloc[0] < rows["gap_ci_high"].iloc[0]
    assert rows["n"].iloc[0] == 500


def _fairness_headlines(lang: str, **change) -> list:
    flags = pd.DataFrame({"flag": [True, False, False]})
    args = dict(flags=flags, raw_gap=-0.3, adjusted_gap=-3.5, adjusted_significant=True, branches=20,
                branches_flagged=1, lowest_ratio=0.77, lowest_outcome="Top rating", rater_gap=0.09,
                rater_significant=True, group="F", reference="M", attribute="gender")
    args.update(change)
    return briefs.fairness_headlines(Presenter(lang), **args)


def test_fairness_headlines_flags_and_sentences() -> None:
    h = _fairness_headlines("zh-CN")
    assert [x.flag for x in h] == ["alert", "ok", "alert", "alert", "alert"]
    assert h[0].value == "3个中的1个" and "女性" in h[0].sentence
    assert "女性的平均薪酬比男性高0.3%" in h[1].sentence  # a negative gap: the group is paid more
    assert h[3].value == "20个中的1个" and "最高评级" in h[4].sentence
    assert h[2].sentence.startswith("女性的薪酬比同职级、司龄、区域和得分的男性高3.5%")  # -3.5: paid more
    calm = _fairness_headlines("en", flags=pd.DataFrame({"flag": [False]}), raw_gap=6.0, adjusted_significant=False,
                               branches_flagged=0, lowest_ratio=0.85)
    assert [x.flag for x in calm] == ["ok", "watch", "ok", "ok", "watch"]
    assert "Women are paid 6.0% less than Men" in calm[1].sentence
    assert calm[2].sentence == "What remains after adjustment could be chance."
    paid_less = _fairness_headlines("en", adjusted_gap=4.3)[2].sentence
    assert paid_less.startswith("Women are paid 4.3% less than Men of the same grade")


def test_transparency_rows_in_words() -> None:
    df = pd.DataFrame({"gender": ["F"] * 6 + ["M"] * 6, "grade": ["CM1"] * 12,
                       "pay": [90.0] * 6 + [100.0] * 6, "variable": [10.0] * 12})
    rep = fx.pay_transparency(df, pay="pay", variable="variable", group="gender", category="grade", reference="M")
    rows = briefs.transparency_rows(rep, "gender", "zh-CN")
    first = rows.iloc[0]
    # (100 - 90) / 100 = 10% mean gap of total pay, annual
    assert first["measure"] == "薪酬总额平均差距（%）" and first["basis"] == "年度" and first["group"] == "女性"
    assert first["value"] == pytest.approx(10.0)
    assert rows["measure"].iloc[-1] == "平均差距达到5%或以上的职级数（小时口径）" and rows["value"].iloc[-1] == 1


@pytest.mark.parametrize("name", ["calibration", "fairness"])
def test_reports_show_no_text_dumps(name: str) -> None:
    """The committed reports show HTML and figures only: no print() output and no DataFrame or Series repr."""
    import json
    from pathlib import Path

    nb = json.loads((Path(__file__).resolve().parent.parent / "notebooks" / f"{name}.ipynb").read_text("utf-8"))
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            assert out["output_type"] != "stream", (name, "".join(out.get("text", "")))
            data = out.get("data", {})
            if out["output_type"] in ("display_data", "execute_result"):
                assert set(data) != {"text/plain"}, (name, data)  # a bare repr: a text dump
