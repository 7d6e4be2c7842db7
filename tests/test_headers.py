"""compkit.headers: the evaluate workbook's sheet names and column headers in Chinese and English, codes kept for
the data and for number formats."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from openpyxl import load_workbook

from compkit import headers
from compkit.excel import write_workbook


def test_column_and_sheet_labels() -> None:
    assert headers.column_label("base_pay", "zh-CN") == "基本工资（元）"
    assert headers.column_label("base_pay", "en") == "Base pay (CNY)"
    assert headers.column_label("bonus_deferred", "zh-CN") == "递延奖金（元）"
    assert headers.column_label("allowance_transport", "zh-CN") == "津贴：交通（元）"
    assert headers.column_label("allowance_transport", "en") == "Allowance: Transport (CNY)"
    assert headers.column_label("some_new_column", "en") == "Some new column"  # words when compkit has no entry
    assert headers.sheet_label("summary", "zh-CN") == "汇总" and headers.sheet_label("anomalies", "en") == \
        "Supervision flags"
    assert all(len(headers.sheet_label(s, lang)) <= 31 for s in headers.SHEETS for lang in ("zh-CN", "en"))


def test_every_evaluate_column_has_a_header(tiny, policy) -> None:
    from compkit.engine import evaluate

    out = evaluate(policy, tiny)
    adjusted = evaluate(policy.updated({"scorecard.raters.calibrate": "rater_effects"}), tiny)
    codes = {c for o in (out, adjusted) for name in o.TABLES for c in getattr(o, name).columns}
    plain = sorted(c for c in codes if c not in headers.COLUMNS and not c.startswith("allowance_"))
    assert plain == [], plain


def test_workbook_in_chinese_keeps_number_formats(tmp_path: Path) -> None:
    df = pd.DataFrame({"employee_id": ["E1"], "base_pay": [114000.0], "raise_pct": [0.03]})
    path = write_workbook({"summary": df}, tmp_path / "r.xlsx", lang="zh-CN")
    ws = load_workbook(path)["汇总"]
    assert [c.value for c in ws[1]] == ["员工编号", "基本工资（元）", "调薪比例（%）"]
    assert ws["B2"].number_format == "#,##0.00" and ws["C2"].number_format == "0.0%"  # formats follow the codes
    codes = load_workbook(write_workbook({"summary": df}, tmp_path / "c.xlsx"))["summary"]
    assert [c.value for c in codes[1]] == ["employee_id", "base_pay", "raise_pct"]  # no language: the codes
