"""Styled report tables, flags and the executive summary: formats checked by hand."""
from __future__ import annotations

import pandas as pd

from compkit import present
from compkit.present import Column, Headline, Presenter


def test_table_formats_units_and_alignment() -> None:
    R = Presenter("zh-CN")
    df = pd.DataFrame({"component": ["base_pay", "total"], "amount": [115_592_400.0, 245_000_000.0],
                       "share": [0.4699, 1.0]})
    html = R.table(df, {"component": ("Component", "term"), "amount": ("Amount", "wan"), "share": ("Share", "pct1")},
                   name="t").to_html()
    # 115,592,400 元 / 10,000 = 11,559.24 -> 11,559.2 (万元, one decimal); 0.4699 -> 47.0%
    assert "11,559.2" in html and "24,500.0" in html and "47.0%" in html
    assert "金额（万元）" in html and "占比（%）" in html and "组成部分" in html
    assert "text-align: right" in html
    assert "基本工资" in html  # the code base_pay in words
    assert 'id="T_t' in html  # a fixed id: the same table gives the same HTML


def test_flags_have_a_colour_and_a_word() -> None:
    R = Presenter("zh-CN")
    df = pd.DataFrame({"grade": ["CM1", "RM"], "flag": ["alert", "ok"]})
    html = R.table(df, {"grade": Column("Grade"), "flag": Column("Flag", "flag")}, flags="flag", name="f").to_html()
    assert "警示" in html and "正常" in html
    assert "color: #c00000" in html and "color: #548235" in html
    assert "Alert" in Presenter("en").table(df, {"flag": Column("Flag", "flag")}, flags="flag").to_html()


def test_pay_mix_against_the_guideline_limit() -> None:
    mix = pd.DataFrame({"grade": ["CM1", "CM2", "RM"], "base_share": [0.534, 0.32, 0.29]})
    out = present.pay_mix_flags(mix)
    # limit 35%: 53.4% is above it (alert); 32% is within 5 points below it (watch); 29% is fine
    assert out["flag"].tolist() == ["alert", "watch", "ok"]
    assert (out["limit"] == 0.35).all()


def test_headlines_flag_and_say_one_sentence() -> None:
    R = Presenter("zh-CN")
    h = present.review_headlines(R, total=250e6, budget=245e6, candidate_version="2026", change=-1e6,
                                 change_pct=-0.4, p50=240e6, p95=260e6, prob_over=0.3, scenarios=1000, reach=0.55,
                                 top="优秀", mid="称职", spread=1.33)
    assert [x.flag for x in h] == ["alert", "ok", "watch", "ok", "ok"]
    # 250 / 245 - 1 = 2.04% over the budget
    assert h[0].value == "25,000.0万元（预算24,500.0万元）" and h[0].sentence == "成本超出预算2.0%。"
    assert "30%" in h[2].sentence and "1,000" in h[2].sentence
    html = R.summary(h)
    assert html.count("border-left:6px solid") == 5 and "警示" in html


def test_contents_link_every_section() -> None:
    R = Presenter("en")
    toc = present.contents(R)
    for anchor, _title, _intro in present.REVIEW_SECTIONS:
        assert f'href="#{anchor}"' in toc
    assert present.section(R, "mix").startswith('<h2 id="mix">2. Pay mix</h2>')


def test_summary_card_escapes_text() -> None:
    html = Presenter("en").summary([Headline("<b>x</b>", "1", "ok", "a & b")])
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "a &amp; b" in html


def test_tables_drawn_in_a_loop_get_their_own_ids() -> None:
    R = Presenter("en")
    df = pd.DataFrame({"n": [1]})
    first = R.table(df, {"n": ("People", "int")}, name="loop").to_html()
    second = R.table(df, {"n": ("People", "int")}, name="loop").to_html()
    assert 'id="T_loop"' in first and 'id="T_loop_2"' in second


def test_policy_changes_read_as_words_with_their_values() -> None:
    from pathlib import Path

    from compkit.policy import load_policy

    root = Path(__file__).resolve().parents[1] / "data" / "policies"
    before, after = load_policy(root / "2025.yaml"), load_policy(root / "2026.yaml")
    zh = present.policy_changes(before.diff(after), after, "zh-CN").set_index("key")
    # budget 485,000,000 CNY = 48,500.0万元; weights as percentages; a tier's upper bound with its unit;
    # a rate with the decimals it needs (0.042 -> 4.2%); tiers and curve points counted from 1
    assert zh.loc["budget", ["item", "before", "after"]].tolist() == ["年度预算", "48,500.0万元", "49,500.0万元"]
    assert zh.loc["scorecards[corporate].weights.loans_balance", ["item", "before", "after"]].tolist() == [
        "“对公客户经理”评分卡中指标“贷款余额”的权重", "25%", "20%"]
    assert zh.loc["commission.products[insurance].tiers[1].rate", ["item", "before", "after"]].tolist() == [
        "代理保险提成第2档：费率", "4%", "4.2%"]
    assert zh.loc["commission.products[insurance].tiers[0].upto", "after"] == "500,000.00 元"
    assert zh.loc["bonus.curve[1][1]", ["item", "before", "after"]].tolist() == ["奖金曲线第2点：目标奖金的倍数",
                                                                               "0.50", "0.40"]
    en = present.policy_changes(before.diff(after), after, "en").set_index("key")
    assert en.loc["scorecard.indicators[fee_income].weight", "item"] == "Weight of the indicator Fee income"
    # every change of the bundled candidate has words (none falls back to its key path)
    assert (zh["item"] != zh.index).all() and len(zh) == len(before.diff(after))


def test_an_unknown_policy_path_reads_as_itself() -> None:
    from pathlib import Path

    from compkit.policy import load_policy

    policy = load_policy(Path(__file__).resolve().parents[1] / "data" / "policies" / "2026.yaml")
    assert present.change_in_words("appeals.window_days", policy, "zh-CN") == ("appeals.window_days", "text")
    assert present._rate(0.0005, "en") == "0.05%" and present._rate(0.006, "en") == "0.6%"
