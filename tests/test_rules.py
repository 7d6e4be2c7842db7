"""The appraisal rules document: written from the policy alone, every rule a reader needs, in both languages."""
from __future__ import annotations

from pathlib import Path

from compkit import rules
from compkit.cli import main
from compkit.policy import RatioCurve, ScaleCurve

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "data/policies/examples/simple-2025.yaml"
BANK = ROOT / "data/policies/2025.yaml"


def test_curves_in_words_with_the_policys_figures() -> None:
    assert rules.curve_words(RatioCurve(type="ratio", threshold=0.6, cap=1.2), "en") == (
        "Score = 100 × actual ÷ target, at most 120 points (reached at 120% of target); below 60% of target the "
        "score is 0.")
    assert rules.curve_words(RatioCurve(type="ratio", threshold=0.6, cap=1.2), "zh-CN") == (
        "得分 = 100 × 实际值 ÷ 目标值，最高120分（完成目标的120%时达到）；低于目标的60%时得0分。")
    assert "1 scores 0 and 5 scores 100" in rules.curve_words(ScaleCurve(type="scale", min=1, max=5), "en")


def test_rules_command_writes_the_document(tmp_path: Path, capsys) -> None:
    assert main(["rules", "--policy", str(POLICY), "--out", str(tmp_path)]) == 0
    page = (tmp_path / "rules.html").read_text(encoding="utf-8")
    assert "考核办法" in capsys.readouterr().out
    # Chinese by default: headings, an indicator with its weight (deposits: 0.20 x 0.60 = 12.0% of the overall
    # score), the insurance tiers, the appeal window of 30 days
    for shown in ("客户经理考核与薪酬办法（2025年度）", "一、考核指标", "存款日均余额",
                  "占综合得分的12.0%（在所属维度中占20%）", "代理保险", "1,000,000", "1.50%", "四、绩效奖金",
                  "五、薪酬区间与调薪", "六、晋升与降级", "30天内提出申诉"):
        assert shown in page, shown
    assert page.count("data:image/png;base64,") >= 10  # a chart per scored indicator and the bonus curve


def test_rules_in_english(tmp_path: Path) -> None:
    path = rules.write_rules(POLICY, tmp_path, lang="en")
    page = path.read_text(encoding="utf-8")
    assert "Appraisal and pay rules for customer managers, 2025" in page and "7. Appeals" in page


def test_rules_of_the_bundled_bank(tmp_path: Path) -> None:
    """The bank's policy: its products (deposits per 10k of average daily balance a year, fee income 5%,
    small-business loans 30 per 10k) and the satisfaction curve (4.4 = 100 points) are in the document."""
    page = rules.write_rules(BANK, tmp_path).read_text(encoding="utf-8")
    for shown in ("日均存款", "日均余额每万元每年 12.00 元", "中间业务收入", "销售额的5.00%", "普惠小微贷款投放",
                  "每万元销售额30.00 元", "4.40：100分"):
        assert shown in page, shown


def test_rules_say_who_each_scorecard_is_for_and_its_weights(tmp_path: Path) -> None:
    """Scorecards by population, from data/policies/2025.yaml: 对公 deposits weigh 0.30 within performance x 0.60 =
    18.0% of the overall score; 私行/理财 fee income 0.35 x 0.65 = 22.75% -> shown 22.7% or 22.8% (one decimal); a
    team leader's team deposits 0.30 x 0.60 = 18.0%; indicators not on a scorecard show —."""
    page = rules.write_rules(BANK, tmp_path).read_text(encoding="utf-8")
    for shown in ("按人群适用的考核表", "每位客户经理只适用一张考核表，按职级、业务条线确定",
                  "业务条线：对公；职级：初级客户经理、客户经理、高级客户经理", "职级：区域经理",
                  "<th class=\"n\">私行/理财客户经理</th>", "18.0%", "—"):
        assert shown in page, shown
    assert "22.7%" in page or "22.8%" in page


def test_rules_on_coefficients_quotas_clawback_steps_new_hires_and_deferral(tmp_path: Path) -> None:
    """Every figure comes from the policy: deposit-type coefficients 活期 1.5 / 协定 1.0 / 定期 0.5; payment terms
    趸交 0.1 ... 期交10 1.0; funds 0.6% x a factor by attainment of the person's own target (80% -> 0.5, 100% ->
    1.0, 150% -> 1.5, above -> 2.0); loans clawed back within 12 months; CM2's steps 8,000 ... 11,000; rating A
    moves up 2 steps, E down 1; six months of new-hire protection at 1.0 x target bonus; 40% of bonus and
    commission deferred over 3 years for key roles (SCM 高级客户经理 and RM 区域经理)."""
    page = rules.write_rules(BANK, tmp_path).read_text(encoding="utf-8")
    for shown in ("按存款类型和缴费期限的折算系数（折标系数）",
                  "日均存款：每笔金额先乘以其存款类型（deposit_type）对应的系数",
                  "<td>活期</td><td class=\"n\">1.50</td>", "<td>定期</td><td class=\"n\">0.50</td>",
                  "<td>趸交</td><td class=\"n\">0.10</td>", "<td>期交10</td><td class=\"n\">1.00</td>",
                  "任务指标：按您本人的目标", "基金：基础费率 0.60% 乘以一个系数，系数取决于您本人基金销售目标的完成率",
                  "<td class=\"n\">80%</td><td class=\"n\">100%</td><td class=\"n\">1.00</td>",
                  "<td class=\"n\">150%</td><td class=\"n\">—</td><td class=\"n\">2.00</td>",
                  "贷款提成追索（不良贷款追索）", "贷款投放：贷款在发放当月起 12 个月内形成不良的",
                  "日均存款：按日均余额每万元每年 12.00 元 逐月计发（每月十二分之一），",
                  "另按比上年日均余额的增量每万元每年 30.00 元 计发",
                  "薪档（档）", "<th class=\"n\">第7档</th>", "<td>客户经理</td><td class=\"n\">8,000</td>",
                  "<td class=\"n\">11,000</td>", "调薪如何调整您的薪档", "<td>优秀 (A)</td><td>上调 2 档</td>",
                  "<td>基本称职 (D)</td><td>不调档</td>", "<td>不称职 (E)</td><td>下调 1 档</td>",
                  "新员工保护期", "入职后的前 6 个月为新员工保护期：这段时间对应的绩效奖金不低于目标奖金的 1.0 倍，",
                  "且不会被降级",
                  "延期支付", "关键岗位（高级客户经理、区域经理）：绩效奖金和提成的 40% 延期支付，",
                  "在此后 3 年内等额发放"):
        assert shown in page, shown


def test_new_rules_follow_the_policy_values(tmp_path: Path) -> None:
    """Change the policy, the sentences change: no figure is written into the template."""
    import yaml

    raw = yaml.safe_load(BANK.read_text(encoding="utf-8"))
    raw["new_hire_protection"] = {"months": 3, "min_payout": 0.5, "no_demotion": False}
    raw["salary_review"]["step_moves"]["A"] = 3
    raw["commission"]["products"][0]["coefficients"]["values"]["活期"] = 1.2
    raw["commission"]["products"][-1]["npl_clawback"]["months"] = 24
    changed = tmp_path / "p.yaml"
    changed.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    page = rules.write_rules(changed, tmp_path / "out").read_text(encoding="utf-8")
    assert "入职后的前 3 个月为新员工保护期：这段时间对应的绩效奖金不低于目标奖金的 0.5 倍。" in page
    assert "<td>优秀 (A)</td><td>上调 3 档</td>" in page and "<td>活期</td><td class=\"n\">1.20</td>" in page
    assert "24 个月内形成不良" in page and "12 个月内形成不良" in page  # sme loans changed, loans kept 12
    english = rules.write_rules(changed, tmp_path / "en", lang="en").read_text(encoding="utf-8")
    assert "For the first 3 months after joining, your performance bonus for those days is at least 0.5 times" \
        in english
    assert "Scorecards by population" in english and "Pay steps" in english


def _contents_and_headings(page: str) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    import re

    nav = page[page.index("<nav>"):page.index("</nav>")]
    body = page[page.index("</nav>"):]
    listed = re.findall(r'<li class="toc(\d)"><a href="#([\w-]+)">([^<]*)</a></li>', nav)
    headings = re.findall(r'<h([23]) id="([\w-]+)">([^<]*)</h\1>', body)
    return listed, headings


def test_the_contents_list_every_section_the_document_has(tmp_path: Path) -> None:
    """The contents are made from the same list as the headings (rules.SECTIONS): the bank's policy has all 16
    sections (7 chapters and 9 parts of them) and the contents list each, in order, with the same words; the simple
    policy has 8 (no populations, balances, coefficients, quotas, clawback, new hires, steps)."""
    for policy, n in ((BANK, 16), (POLICY, 8)):
        for lang in ("zh-CN", "en"):
            page = rules.write_rules(policy, tmp_path / f"{policy.stem}-{lang}", lang=lang).read_text("utf-8")
            listed, headings = _contents_and_headings(page)
            assert listed == headings and len(listed) == n, (policy.name, lang, listed, headings)
    listed, _h = _contents_and_headings(rules.write_rules(BANK, tmp_path / "b").read_text("utf-8"))
    assert [x[1] for x in listed] == [s[0] for s in rules.SECTIONS]
    assert ("3", "coefficients", "按存款类型和缴费期限的折算系数（折标系数）") in listed
    assert ("2", "appeals", "七、申诉") == listed[-1]


def test_a_heading_outside_the_list_of_sections_cannot_be_rendered() -> None:
    """Every heading of the template goes through rules.SECTIONS (the context's ``section``): a heading the list
    lacks stops the rendering, so the contents can never miss a section the document has."""
    import jinja2
    import pytest

    from compkit import i18n
    from compkit.policy import load_policy

    context = rules.rules_context(load_policy(POLICY), "en")
    del context["section"]["appeals"]
    with pytest.raises(jinja2.UndefinedError):
        i18n.render("rules.html.j2", "en", **context)
