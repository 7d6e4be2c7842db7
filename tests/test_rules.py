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
    """The bank's policy: its products (deposits per 10k, fee income 5%, small-business loans 30 per 10k) and the
    satisfaction curve (4.4 = 100 points) are in the document."""
    page = rules.write_rules(BANK, tmp_path).read_text(encoding="utf-8")
    for shown in ("日均存款", "每万元销售额12.00 元", "中间业务收入", "销售额的5.00%", "普惠小微贷款投放",
                  "每万元销售额30.00 元", "4.40：100分"):
        assert shown in page, shown
