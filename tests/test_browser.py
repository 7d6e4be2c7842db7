"""Pages as people see them: the review index, each review report, a statement (and its PDF) and the rules
document rendered in headless Chromium. No console errors, a Chinese font actually used for the text, the
expected headings, a screenshot of each (to $COMPKIT_SCREENSHOTS or a temporary folder). Skipped, saying why,
where Chromium is not installed."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from compkit import browser

ROOT = Path(__file__).resolve().parent.parent
REASON = browser.missing_reason()
needs_chromium = pytest.mark.skipif(REASON is not None, reason=f"browser tests skipped: {REASON}")
CJK = ("Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", "SimHei", "WenQuanYi Zen Hei")


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = os.environ.get("COMPKIT_SCREENSHOTS")
    return Path(folder) if folder else tmp_path_factory.mktemp("screenshots")


def _looks_right(check: browser.PageCheck, headings: list[str]) -> None:
    assert check.console_errors == [], (check.path.name, check.console_errors)
    assert check.fonts and check.fonts[0] in CJK, (check.path.name, check.fonts)  # the text is drawn in a CJK font
    for h in headings:
        assert any(h in x for x in check.headings), (check.path.name, h, check.headings)
    assert check.screenshot is not None and check.screenshot.stat().st_size > 10_000


@needs_chromium
def test_statement_in_the_browser(tmp_path: Path, tiny_dir: Path, shots: Path) -> None:
    from compkit.feedback import write_statements

    out = tmp_path / "private" / "statements"
    written = write_statements(ROOT / "data/policies/examples/simple-2025.yaml", tiny_dir, out, pdf=True)
    (check,) = browser.check_pages([out / "E2.html"], shots)
    _looks_right(check, ["2025年度绩效与薪酬反馈单", "您的考核结果", "各指标得分", "您的薪酬（元）", "调薪与晋升"])
    assert "现金合计" in check.text
    pdfs = [p for p in written if p.suffix == ".pdf"]
    assert len(pdfs) == 4 and all(p.read_bytes()[:5] == b"%PDF-" for p in pdfs)  # one A4 PDF per person


@needs_chromium
def test_review_reports_in_the_browser(tmp_path: Path, shots: Path) -> None:
    """The committed notebooks (with their outputs) as the review writes them, and the index page."""
    from compkit import report

    pages = [report.to_html(ROOT / "notebooks" / f"{name}.ipynb", tmp_path / f"{name}.html")
             for name, _ in report.REVIEW_NOTEBOOKS]
    runs = [report.NotebookRun(name, 1.0, ROOT / "notebooks" / f"{name}.ipynb", tmp_path / f"{name}.html")
            for name, _ in report.REVIEW_NOTEBOOKS]
    manifest = {"parameters": {"policy": "p.yaml", "candidate": "c.yaml", "data": "d"}, "compkit_version": "0"}
    index = tmp_path / "index.html"
    index.write_text(report._index_html("2025", runs, manifest, "zh-CN"), encoding="utf-8")
    checks = {c.path.stem: c for c in browser.check_pages([index, *pages], shots)}
    _looks_right(checks["index"], ["2025年度考核与薪酬政策评审"])
    _looks_right(checks["policy_review"],
                 ["2025年度考核与薪酬政策评审", "目录", "摘要", "一、成本与预算（按组成部分）"])
    # the calibration and fairness reports: Chinese headings drawn in a CJK font, the summary and contents first
    _looks_right(checks["calibration"], ["年度校准报告", "目录", "摘要", "一、评分人的宽严程度", "三、预算",
                                         "五、奖金兑现曲线"])
    _looks_right(checks["fairness"], ["年度考核与薪酬公平性报告", "目录", "摘要", "标识", "四、调整后的薪酬差距",
                                      "五、上级是否给某些群体打出低于其业绩的评分？"])
    assert "每分占目标奖金" in checks["calibration"].text  # the no-cliff headline
    fair = checks["fairness"].text
    assert "支行内调整后薪酬差距" in fair or "没有支行存在显著的调整后差距" in fair
    for name in ("calibration", "fairness"):
        text = checks[name].text
        assert "dtype:" not in text and "Name: " not in text  # no Series or DataFrame text dumps
    for check in checks.values():
        assert check.console_errors == [], (check.path.name, check.console_errors)
        assert check.headings, check.path.name


def test_missing_chromium_is_a_clear_message(monkeypatch, tmp_path: Path, tiny_dir: Path) -> None:
    from compkit.feedback import write_statements

    monkeypatch.setenv("COMPKIT_CHROMIUM", str(tmp_path / "no-such-chromium"))
    assert browser.chromium_path() is None
    with pytest.raises(browser.BrowserMissing, match="--pdf: headless Chromium not found.*apt-get install chromium"):
        write_statements(ROOT / "data/policies/examples/simple-2025.yaml", tiny_dir, tmp_path / "private" / "s",
                         pdf=True)
    assert not (tmp_path / "private" / "s").exists()  # nothing written


@needs_chromium
def test_rules_document_in_the_browser(tmp_path: Path, shots: Path) -> None:
    from compkit.rules import write_rules

    page = write_rules(ROOT / "data/policies/examples/simple-2025.yaml", tmp_path)
    (check,) = browser.check_pages([page], shots)
    _looks_right(check, ["客户经理考核与薪酬办法", "一、考核指标", "三、计件提成", "七、申诉"])
    # the bank's policy: scorecards by population, coefficients, quotas, the NPL clawback, deferral, new hires,
    # pay steps and how the salary review moves them
    bank = write_rules(ROOT / "data/policies/2025.yaml", tmp_path / "bank")
    (check,) = browser.check_pages([bank], shots / "bank")
    _looks_right(check, ["客户经理考核与薪酬办法", "按人群适用的考核表", "按存款类型和缴费期限的折算系数（折标系数）",
                         "任务指标：按您本人的目标", "贷款提成追索（不良贷款追索）", "延期支付", "新员工保护期",
                         "薪档（档）", "调薪如何调整您的薪档", "七、申诉"])
    assert "业务条线：对公" in check.text and "上调 2 档" in check.text
    # the contents list every section the reader sees, in order (16 for the bank: 7 chapters, 9 parts)
    import re

    html = bank.read_text(encoding="utf-8")
    listed = re.findall(r'<li class="toc\d"><a href="#[\w-]+">([^<]*)</a>', html[:html.index("</nav>")])
    seen = check.headings[check.headings.index("目录") + 1:]
    assert listed == seen and len(listed) == 16, (listed, seen)
