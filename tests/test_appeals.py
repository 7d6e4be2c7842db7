"""Appeals: corrections of a copy of the data, re-evaluation, diff, register and the append-only audit log."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import POLICY_2025, tiny_tables, write_tables

from compkit.appeals import (
    AuditError,
    appeal_register,
    append_audit,
    apply_appeals,
    load_appeals,
    read_audit_log,
    review_appeals,
    run_appeals,
)
from compkit.cli import main
from compkit.data import load_dataset
from compkit.errors import DataError
from compkit.privacy import PrivacyError

COLUMNS = ["appeal_id", "employee_id", "filed_on", "table", "key", "column", "claimed_value", "status",
           "decided_value", "decided_on", "reason"]


def register(*rows: tuple) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=COLUMNS)


UPHELD = ("A1", "E1", "2026-01-05", "metrics", "E1|2025-03|fee_income", "actual", "60000", "upheld", "60000",
          "2026-01-15", "fee of a shared customer booked to a colleague")
REJECTED = ("A2", "E3", "2026-01-06", "ratings", "E3|S1|risk_management|2025", "score", "5", "rejected", None,
            "2026-01-26", "rating consistent with the file")
OPEN = ("A3", "E2", "2026-01-20", "metrics", "E2|2025-08|fee_income", "actual", "40000", "open", None, None, None)


KEY = "test-key-0123456789abcdef"


@pytest.fixture(autouse=True)
def publication_key(monkeypatch) -> bytes:
    """The audit log is signed with the publication key; every test here has one."""
    from compkit.appeals import audit_key

    monkeypatch.setenv("COMPKIT_PSEUDONYM_KEY", KEY)
    monkeypatch.delenv("COMPKIT_PSEUDONYM_KEY_FILE", raising=False)
    return audit_key()


@pytest.fixture()
def appeal_dir(tmp_path: Path) -> Path:
    tables = tiny_tables()
    tables["appeals"] = register(UPHELD, REJECTED, OPEN)
    return write_tables(tables, tmp_path / "with_appeals")


@pytest.fixture()
def appeal_data(appeal_dir: Path, policy):
    return load_dataset(appeal_dir, policy=policy)


def test_upheld_appeal_changes_exactly_the_appellant(policy, appeal_data) -> None:
    review = review_appeals(policy, appeal_data)
    # the re-evaluation with only its summary built (the policy review reads the register and the counts): the
    # same diff, register and counts
    lean = review_appeals(policy, appeal_data, tables=("summary",))
    pd.testing.assert_frame_equal(lean.diff, review.diff, check_exact=True)
    pd.testing.assert_frame_equal(lean.register, review.register, check_exact=True)
    assert lean.info == review.info and len(lean.after.net) == 0 < len(review.after.net)
    # E1's March fee income 30,000 -> 60,000: the year's fee income 360,000 -> 390,000 against a target of
    # 360,000: achievement 1.0833, score 108.33 (ratio curve, cap 1.3). Fee income weighs 0.15 of the
    # performance category (0.60): 0.09 of the composite, so the composite rises by 0.09 x 8.333 = 0.75.
    assert review.changed_employees == ["E1"]
    e1 = review.diff.set_index("component")
    assert e1.loc["composite", "change"] == pytest.approx(0.75, abs=1e-9)
    assert (review.diff["cause"] == "appeal A1").all()
    # the bonus follows: payout 0.5 + (composite - 70) / 30 x 0.5 rises by 0.75 / 60 = 0.0125 of the CM2
    # target bonus 25% x 9,500 x 12 = 28,500: + 356.25
    assert e1.loc["bonus_paid", "change"] == pytest.approx(356.25, abs=0.005)
    assert e1.loc["total_cash", "change"] == pytest.approx(356.25, abs=0.005)
    # the correction names the cell, the value before and after
    corr = review.corrections.iloc[0]
    assert (corr["table"], corr["key"], corr["column"], corr["value_before"], corr["value_after"]) == \
        ("metrics", "E1|2025-03|fee_income", "actual", "30000.0", "60000.0")
    # the original data is untouched; the corrected copy holds the new value
    m = appeal_data.metrics
    cell = (m["employee_id"] == "E1") & (m["period"] == "2025-03") & (m["indicator"] == "fee_income")
    assert m.loc[cell, "actual"].item() == 30_000.0
    c = review.corrected.metrics
    cell = (c["employee_id"] == "E1") & (c["period"] == "2025-03") & (c["indicator"] == "fee_income")
    assert c.loc[cell, "actual"].item() == 60_000.0
    # everyone else's outcome is identical, to the bit
    others_b = review.before.summary[review.before.summary["employee_id"] != "E1"].reset_index(drop=True)
    others_a = review.after.summary[review.after.summary["employee_id"] != "E1"].reset_index(drop=True)
    pd.testing.assert_frame_equal(others_b, others_a)


def test_register_days_to_decision(policy, appeal_data) -> None:
    reg = review_appeals(policy, appeal_data).register.set_index("appeal_id")
    # A1: filed 5 January, decided 15 January: 10 days; A2: 6 -> 26 January: 20 days
    assert reg.loc["A1", "days_to_decision"] == 10 and reg.loc["A2", "days_to_decision"] == 20
    # A3 is open: as of the latest date in the register (26 January), open for 6 days
    assert np.isnan(reg.loc["A3", "days_to_decision"]) and reg.loc["A3", "days_open"] == 6
    assert reg["within_window"].all()
    assert reg["applied"].tolist() == [True, False, False]
    late = appeal_register(appeal_data.appeals, window_days=30, as_of=pd.Timestamp("2026-03-01"))
    assert late.set_index("appeal_id").loc["A3", "days_open"] == 40
    assert not late.set_index("appeal_id").loc["A3", "within_window"]


def test_rejected_and_open_appeals_change_nothing(policy, tiny) -> None:
    appeals = load_appeals_frame(register(REJECTED, OPEN))
    corrected, corrections = apply_appeals(tiny, appeals)
    assert corrections.empty and corrected is tiny


def load_appeals_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out["filed_on"] = pd.to_datetime(out["filed_on"])
    out["decided_on"] = pd.to_datetime(out["decided_on"])
    return out


def test_knock_on_through_guided_ratings_is_named(policy, tiny) -> None:
    # E4's year is put right: all her ratings become 5. Guided ratings rank within the region, so her move
    # from last to first re-ranks the others too: they appear in the diff as knock-ons, not as appellants.
    ratings = tiny.ratings
    keys = ratings[ratings["employee_id"] == "E4"]
    rows = [(f"B{i}", "E4", "2026-01-05", "ratings", f"E4|{r}|{item}|2025", "score", "5", "upheld", "5",
             "2026-01-10", "") for i, (r, item) in enumerate(zip(keys["rater_id"], keys["item"]))]
    review = review_appeals(policy, tiny, load_appeals_frame(register(*rows)))
    causes = review.diff.groupby("employee_id")["cause"].first()
    assert causes["E4"].startswith("appeal B0")
    assert (causes.drop("E4").str.startswith("knock-on: guided rating quotas re-ranked within East")).all()


# ------------------------------------------------------------------------------------------ bad input


def test_bad_appeals_are_reported_with_row_and_column(policy, tiny, tmp_path: Path) -> None:
    bad = register(
        ("A1", "E1", "2026-01-05", "metrics", "E1|2025-03|fee_income", "actual", "x", "upheld", "lots",
         "2026-01-15", ""),
        ("A2", "E2", "2026-01-05", "metrics", "E1|2025-04|fee_income", "actual", "1", "upheld", "1", "2026-01-15",
         ""),
        ("A3", "E2", "2026-01-05", "metrics", "E2|2031-04|fee_income", "actual", "1", "upheld", "1", "2026-01-15",
         ""),
        ("A4", "E2", "2026-01-05", "metrics", "E2|2025-08|fee_income", "colour", "1", "upheld", "1", "2026-01-15",
         ""),
        ("A5", "E2", "someday", "metrics", "E2|2025-08|fee_income", "actual", "1", "pending", "1", "2026-01-15",
         ""))
    path = tmp_path / "appeals.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(DataError) as err:
        load_appeals(path, tiny, policy)
    text = str(err.value)
    assert f"{path}, row 4, column 'key': found 'E2|2031-04|fee_income'; expected the key of a row of table " \
           "metrics (employee_id|period|indicator)" in text
    assert "row 5, column 'column': found 'colour'; expected a column of table metrics" in text
    assert "row 6, column 'filed_on': found 'someday'; expected a date YYYY-MM-DD" in text
    assert "row 6, column 'status': found 'pending'" in text
    # values that convert but are wrong: reported when applied
    good_rows = load_appeals(_write(register(bad.iloc[0].tolist(), bad.iloc[1].tolist()), path), tiny, policy)
    with pytest.raises(DataError) as err:
        apply_appeals(tiny, good_rows, file=str(path))
    text = str(err.value)
    assert "row 2, column 'decided_value': found 'lots'; expected a number for column actual of table metrics" \
        in text
    assert "row 3, column 'key': found 'E1|2025-04|fee_income'; expected a row of employee E2 (this row belongs " \
           "to E1)" in text


def _write(df: pd.DataFrame, path: Path) -> Path:
    df.to_csv(path, index=False)
    return path


def test_correction_that_breaks_the_contract_is_refused(policy, tiny) -> None:
    appeals = load_appeals_frame(register(("A1", "E1", "2026-01-05", "ratings", "E1|S1|risk_management|2025",
                                           "score", "7", "upheld", "7", "2026-01-10", "")))
    with pytest.raises(DataError, match="ratings.*row .*score.*7"):
        apply_appeals(tiny, appeals)


# ---------------------------------------------------------------------------------- audit and command


def test_run_twice_changes_nothing_more(tmp_path: Path, appeal_dir: Path, publication_key: bytes) -> None:
    out = tmp_path / "private" / "appeals"
    first = run_appeals(POLICY_2025, appeal_dir, None, out, lang="en")
    assert "3 (1 upheld, 1 rejected, 1 open); 1 correction(s) applied" in first
    assert "people whose outcome changed: 1; total cash changes by 356.25 CNY" in first
    log = read_audit_log(out / "audit_log.jsonl", publication_key)
    assert [e["appeal_id"] for e in log] == ["A1", "A2", "A3"]
    a1 = log[0]
    assert (a1["status"], a1["value_before"], a1["value_after"], a1["employees_changed"], a1["days_to_decision"]) \
        == ("upheld", "30000.0", "60000.0", ["E1"], 10)
    assert a1["inputs"]["data_sha256"] and a1["outputs"]["diff"] and a1["prev"] == "0" * 64
    run_dir = out / a1["run_id"]
    files = {p: p.read_bytes() for p in sorted(run_dir.rglob("*")) if p.is_file()}
    diff = pd.read_csv(run_dir / "diff.csv")
    assert set(diff["employee_id"]) == {"E1"}
    log_bytes = (out / "audit_log.jsonl").read_bytes()

    second = run_appeals(POLICY_2025, appeal_dir, None, out, lang="en")
    assert "nothing rewritten" in second and "(0 new entries;" in second
    assert (out / "audit_log.jsonl").read_bytes() == log_bytes
    assert {p: p.read_bytes() for p in sorted(run_dir.rglob("*")) if p.is_file()} == files
    assert {p.name for p in out.iterdir()} == {".compkit-output", ".audit_log.lock", "audit_log.jsonl",
                                              "audit_log.head", a1["run_id"]}


def test_a_failed_run_leaves_no_run_folder_and_no_log_line(tmp_path: Path, appeal_dir: Path, monkeypatch) -> None:
    from compkit import appeals as appeals_module

    out = tmp_path / "appeals"
    real = appeals_module._write_run

    def half_written(review, folder, lang=None):
        real(review, folder, lang)
        raise OSError("disk full")  # after the run's files, before its manifest

    monkeypatch.setattr(appeals_module, "_write_run", half_written)
    with pytest.raises(OSError, match="disk full"):
        run_appeals(POLICY_2025, appeal_dir, None, out)
    # no run folder (staged beside it and removed), no temporary left, no audit line
    assert {p.name for p in out.iterdir()} <= {".compkit-output", ".audit_log.lock"}
    monkeypatch.setattr(appeals_module, "_write_run", real)
    assert "(3 new entries;" in run_appeals(POLICY_2025, appeal_dir, None, out, lang="en")


def test_a_later_decision_is_appended(tmp_path: Path, appeal_dir: Path, publication_key: bytes) -> None:
    out = tmp_path / "appeals"
    run_appeals(POLICY_2025, appeal_dir, None, out)
    # A3 is decided (upheld) later: a new run, one new log line; the first run's folder stays as it was
    decided = register(UPHELD, REJECTED, OPEN[:7] + ("upheld", "45000", "2026-02-01", "booked to a colleague"))
    path = _write(decided, tmp_path / "appeals_feb.csv")
    report = run_appeals(POLICY_2025, appeal_dir, path, out, lang="en")
    assert "(1 new entry" in report
    log = read_audit_log(out / "audit_log.jsonl", publication_key)
    assert [(e["appeal_id"], e["status"]) for e in log] == [("A1", "upheld"), ("A2", "rejected"), ("A3", "open"),
                                                            ("A3", "upheld")]
    assert log[3]["employees_changed"] == ["E2"] and log[3]["days_to_decision"] == 12
    assert len([p for p in out.iterdir() if p.is_dir()]) == 2


def test_tampered_audit_log_is_detected(tmp_path: Path, publication_key: bytes) -> None:
    path = tmp_path / "audit_log.jsonl"
    key = publication_key
    append_audit(path, [{"appeal_id": "A1", "status": "upheld", "value_after": "1", "decided_on": "2026-01-01"},
                        {"appeal_id": "A2", "status": "rejected", "value_after": None, "decided_on": "2026-01-02"}],
                 key)
    assert len(read_audit_log(path, key)) == 2
    lines = path.read_text().splitlines()
    first = json.loads(lines[0])
    first["status"] = "rejected"
    path.write_text(json.dumps(first) + "\n" + lines[1] + "\n")
    with pytest.raises(AuditError, match="line 1: the entry does not match its signature"):
        read_audit_log(path, key)
    path.write_text(lines[1] + "\n")  # the first line removed
    with pytest.raises(AuditError, match="line 1: the chain is broken"):
        read_audit_log(path, key)
    path.write_text(lines[1] + "\n" + lines[0] + "\n")  # reordered
    with pytest.raises(AuditError, match="line 1: the chain is broken"):
        read_audit_log(path, key)
    path.write_text(lines[0] + "\n")  # the last line removed (issue 16, row 4: it used to pass)
    with pytest.raises(AuditError, match="has 1 entries but its head record says 2"):
        read_audit_log(path, key)
    path.unlink()  # the whole log deleted
    with pytest.raises(AuditError, match="the log was deleted"):
        read_audit_log(path, key)
    path.write_text("\n".join(lines) + "\n")
    assert len(read_audit_log(path, key)) == 2
    with pytest.raises(AuditError, match="another key"):
        read_audit_log(path, b"another-key-0123456789abcdef")
    head = tmp_path / "audit_log.head"
    record = json.loads(head.read_text())
    record["entries"] = 1
    head.write_text(json.dumps(record))
    with pytest.raises(AuditError, match="head record of the audit log was edited"):
        read_audit_log(path, key)


def test_forged_last_line_is_not_chained_onto(tmp_path: Path, appeal_dir: Path) -> None:
    """Issue 16, row 4: an edited last line was accepted by the next run, which chained onto it."""
    out = tmp_path / "appeals"
    run_appeals(POLICY_2025, appeal_dir, None, out)
    log = out / "audit_log.jsonl"
    lines = log.read_text(encoding="utf-8").splitlines()
    last = json.loads(lines[-1])
    last["status"] = "upheld"
    log.write_text("\n".join(lines[:-1] + [json.dumps(last, ensure_ascii=False)]) + "\n", encoding="utf-8")
    with pytest.raises(AuditError, match="line 3: the entry does not match"):
        run_appeals(POLICY_2025, appeal_dir, None, out)
    log.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")  # the last line deleted
    with pytest.raises(AuditError, match="has 2 entries but its head record says 3"):
        run_appeals(POLICY_2025, appeal_dir, None, out)
    log.unlink()
    (out / "audit_log.head").unlink()  # the log and its head deleted: the run folders still tell
    with pytest.raises(AuditError, match="no audit log and no head record"):
        run_appeals(POLICY_2025, appeal_dir, None, out)


def test_run_folders_are_verified_on_each_run(tmp_path: Path, appeal_dir: Path, capsys) -> None:
    out = tmp_path / "appeals"
    run_appeals(POLICY_2025, appeal_dir, None, out)
    run_dir = next(p for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))
    diff = run_dir / "diff.csv"
    original = diff.read_bytes()
    diff.write_bytes(original.replace(b"356.25", b"3562.5"))
    code = main(["appeal", "--policy", str(POLICY_2025), "--data", str(appeal_dir), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1 and "diff.csv：该文件在申诉处理写出后被修改过" in err  # Chinese by default
    diff.write_bytes(original)
    (run_dir / "after" / "summary.csv").unlink()
    with pytest.raises(AuditError, match="summary.csv: a file of the appeal run was deleted"):
        run_appeals(POLICY_2025, appeal_dir, None, out)


def test_appeal_without_a_key_is_refused(tmp_path: Path, appeal_dir: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("COMPKIT_PSEUDONYM_KEY")
    code = main(["appeal", "--policy", str(POLICY_2025), "--data", str(appeal_dir), "--out", str(tmp_path / "a")])
    err = capsys.readouterr().err
    assert code == 1 and "申诉审计日志用公布结果的密钥签名" in err and "COMPKIT_PSEUDONYM_KEY" in err
    assert not (tmp_path / "a").exists()


def test_concurrent_appends_do_not_fork_the_chain(tmp_path: Path, publication_key: bytes) -> None:
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "audit_log.jsonl"

    def add(i: int) -> int:
        return append_audit(path, [{"appeal_id": f"A{i}", "status": "open", "value_after": None,
                                    "decided_on": None}], publication_key)

    with ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(add, range(40))) == 40
    log = read_audit_log(path, publication_key)
    assert sorted(e["appeal_id"] for e in log) == sorted(f"A{i}" for i in range(40))
    assert [e["seq"] for e in log] == list(range(1, 41))


def test_appeal_command(tmp_path: Path, appeal_dir: Path, capsys) -> None:
    out = tmp_path / "appeals"
    code = main(["appeal", "--policy", str(POLICY_2025), "--data", str(appeal_dir), "--out", str(out)])
    assert code == 0
    # the policy's language, zh-CN
    assert "申诉：3 件（支持 1 件，驳回 1 件，待决定 1 件）；已更正 1 处" in capsys.readouterr().out
    code = main(["appeal", "--policy", str(POLICY_2025), "--data", str(appeal_dir), "--out", str(out), "--lang", "en"])
    assert code == 0
    assert "1 correction(s) applied" in capsys.readouterr().out
    code = main(["appeal", "--policy", str(POLICY_2025), "--data", str(appeal_dir),
                 "--out", str(tmp_path / "reports" / "appeals")])
    assert code == 1 and "绝不能放在 reports/ 下" in capsys.readouterr().err  # the policy's zh-CN


def test_appeal_refused_under_reports(tmp_path: Path, appeal_dir: Path) -> None:
    with pytest.raises(PrivacyError):
        run_appeals(POLICY_2025, appeal_dir, None, tmp_path / "reports" / "x")


def test_sample_appeals(bank_policy, sample) -> None:
    """The upheld appellants change; everyone else who changes is a knock-on: the team leaders of the branch
    whose fee income was corrected (their team indicators), or people re-ranked by the guided rating quotas."""
    review = review_appeals(bank_policy, sample)
    upheld = set(sample.appeals.loc[sample.appeals["status"] == "upheld", "employee_id"].astype(str))
    assert upheld <= set(review.changed_employees)
    others = review.diff[~review.diff["employee_id"].isin(upheld)]
    assert len(others) and others["cause"].str.startswith("knock-on").all()
    leaders = set(sample.employees.loc[sample.employees["grade"].astype(str) == "RM", "employee_id"].astype(str))
    data_knock_on = set(others.loc[others["cause"] == "knock-on of the corrected data", "employee_id"])
    assert data_knock_on and data_knock_on <= leaders
    assert review.info["open"] == 2 and review.info["corrections"] == len(upheld)


def test_appeals_from_excel_and_missing_files(policy, tiny, tmp_path: Path) -> None:
    book = tmp_path / "appeals.xlsx"
    with pd.ExcelWriter(book) as writer:
        register(UPHELD).to_excel(writer, sheet_name="Appeals", index=False)
    loaded = load_appeals(book, tiny, policy)
    assert loaded["appeal_id"].tolist() == ["A1"] and loaded["filed_on"].dtype.kind == "M"
    other = tmp_path / "other.xlsx"
    with pd.ExcelWriter(other) as writer:
        register(UPHELD).to_excel(writer, sheet_name="Sheet1", index=False)
    with pytest.raises(DataError, match="a sheet named 'appeals' \\(found: Sheet1\\)"):
        load_appeals(other, tiny, policy)
    with pytest.raises(DataError, match="an appeals file"):
        load_appeals(tmp_path / "nowhere.csv", tiny, policy)


def test_bad_as_of_date(tmp_path: Path, appeal_dir: Path, capsys) -> None:
    code = main(["appeal", "--policy", str(POLICY_2025), "--data", str(appeal_dir), "--out", str(tmp_path / "a"),
                 "--as-of", "31/01/2026"])
    assert code == 1 and "--as-of 31/01/2026：应为日期 YYYY-MM-DD" in capsys.readouterr().err  # the policy's zh-CN
    code = main(["appeal", "--policy", str(POLICY_2025), "--data", str(appeal_dir), "--out", str(tmp_path / "a"),
                 "--as-of", "31/01/2026", "--lang", "en"])
    assert code == 1 and "--as-of 31/01/2026: expected a date YYYY-MM-DD" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()
    code = main(["appeal", "--policy", str(POLICY_2025), "--data", str(appeal_dir), "--out", str(tmp_path / "b"),
                 "--as-of", "2026-03-01"])
    assert code == 0
    register = next((tmp_path / "b").glob("*/register.csv"))
    assert pd.read_csv(register).set_index("appeal_id").loc["A3", "days_open"] == 40


def test_register_with_only_an_open_appeal(tmp_path: Path) -> None:
    """Issue 16, row 11: the workbook writer crashed (NaN to int) on the empty value_before column."""
    tables = tiny_tables()
    tables["appeals"] = register(OPEN)
    data = write_tables(tables, tmp_path / "data")
    report = run_appeals(POLICY_2025, data, None, tmp_path / "appeals", lang="en")
    assert "1 (0 upheld, 0 rejected, 1 open); 0 correction(s) applied" in report
    book = next((tmp_path / "appeals").glob("*/appeals.xlsx"))
    reg = pd.read_excel(book, sheet_name="Appeals register")
    assert reg["Appeal"].tolist() == ["A3"] and reg["Value before"].isna().all() and reg["Result"].tolist() == ["open"]


def test_appeals_workbook_has_no_live_formula(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    payload = '=HYPERLINK("http://x","click")'
    tables = tiny_tables()
    tables["appeals"] = register(UPHELD[:10] + (payload,), REJECTED)
    data = write_tables(tables, tmp_path / "data")
    run_appeals(POLICY_2025, data, None, tmp_path / "appeals")
    wb = load_workbook(next((tmp_path / "appeals").glob("*/appeals.xlsx")))
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    assert "'" + payload in [c.value for c in cells]
    reg = pd.read_csv(next((tmp_path / "appeals").glob("*/register.csv")))
    assert reg.set_index("appeal_id").loc["A1", "reason"] == "'" + payload


def test_appeal_report_and_workbook_in_chinese_by_default(tmp_path: Path, appeal_dir: Path) -> None:
    """The policy's language (zh-CN): the report's sentences, appeals.xlsx's sheets, headers, statuses and causes;
    ids and figures verbatim. The CSV files keep the codes."""
    report = run_appeals(POLICY_2025, appeal_dir, None, tmp_path / "appeals")
    lines = report.splitlines()
    assert lines[0] == "申诉：3 件（支持 1 件，驳回 1 件，待决定 1 件）；已更正 1 处"
    # E1's total cash: 356.25 more (test_run_twice_changes_nothing_more, in English: 'by 356.25 CNY')
    assert lines[1] == "结果有变化的人数：1；现金收入合计变化 356.25 元"
    assert lines[2].startswith("结果：") and lines[3].startswith("审计日志：") and "新增 3 条记录" in lines[3]
    book = next((tmp_path / "appeals").glob("*/appeals.xlsx"))
    sheets = pd.read_excel(book, sheet_name=None)
    assert list(sheets) == ["申诉登记", "更正", "结果变化"]
    reg = sheets["申诉登记"]
    assert {"申诉编号", "提交日期", "表", "行键", "列", "决定日期", "决定用时（天）", "在申诉处理时限内"} \
        <= set(reg.columns)
    assert sorted(reg["结果"]) == sorted(["支持", "驳回", "待决定"])
    diff = sheets["结果变化"]
    assert {"更正前", "更正后", "原因"} <= set(diff.columns) and set(diff["原因"]) == {"申诉 A1"}
    run = book.parent
    assert set(pd.read_csv(run / "register.csv")["status"]) == {"upheld", "rejected", "open"}


# ------------------------------------------------------------- the changed rows alone vs. the whole dataset


def _same_dataset(a, b) -> None:
    from compkit.contract import CONTRACT

    for name in CONTRACT:
        pd.testing.assert_frame_equal(a.table(name), b.table(name), check_exact=True, obj=name)
    assert (a.cycle, a.source, a.files, a.notes, a.set_aside) == (b.cycle, b.source, b.files, b.notes, b.set_aside)


def _both(data, appeals: pd.DataFrame):
    """apply_appeals checking the changed rows only (the default) and validating every table again."""
    fast, corr_fast = apply_appeals(data, appeals)
    full, corr_full = apply_appeals(data, appeals, check="all")
    pd.testing.assert_frame_equal(corr_fast, corr_full)
    return fast, full


CELLS = [  # (table, key, column, value, employee): a cell of each kind of column the changed rows' check handles
    ("metrics", "E1|2025-03|fee_income", "actual", "60000", "E1"),
    ("metrics", "E3|2025-04|fee_income", "target", "1,000", "E3"),
    ("ratings", "E4|S1|risk_management|2025", "score", "5", "E4"),
    ("employees", "E2", "base_monthly", "7000", "E2"),
    ("employees", "E1", "hire_date", "2019-03-01", "E1"),
    ("employees", "E3", "branch", " Huangpu ", "E3"),
    ("sales", "D5", "amount", "600000", "E2"),
    ("complaints", "K1", "upheld", "false", "E4"),
    ("history", "E3|2023", "rating", "A", "E3"),
]


@pytest.mark.parametrize("table,key,column,value,employee", CELLS)
def test_changed_rows_alone_give_the_whole_checks_result(policy, tiny, table, key, column, value, employee) -> None:
    appeals = load_appeals_frame(register(("A1", employee, "2026-01-05", table, key, column, value, "upheld", value,
                                           "2026-01-10", "")))
    fast, full = _both(tiny, appeals)
    _same_dataset(fast, full)
    assert not fast.table(table).equals(tiny.table(table))  # the cell did change
    # only the corrected column is a new array; the other tables are the data's own, and so are the other
    # numeric columns of the corrected table
    for name in ("employees", "metrics", "sales", "ratings", "complaints", "history"):
        if name != table:
            assert fast.table(name) is tiny.table(name)
    for col in fast.table(table).select_dtypes("number").columns.drop(column, errors="ignore"):
        assert np.shares_memory(fast.table(table)[col].to_numpy(), tiny.table(table)[col].to_numpy())


def test_changed_rows_alone_on_the_sample(bank_policy, sample) -> None:
    """The sample's own register, and a credit share moved between a deal's holders (the other holder's share
    follows): identical corrected data, corrections and outcomes."""
    credits = sample.credits
    deal = credits["deal_id"].astype(str)
    two = deal[deal.map(deal.value_counts()) == 2].iloc[0]
    row = credits[deal == two].iloc[0]
    moved = register(("C1", str(row["employee_id"]), "2026-01-05", "credits", f"{two}|{row['employee_id']}",
                      "share", "0.8", "upheld", "0.8", "2026-01-10", ""))
    appeals = pd.concat([sample.appeals, load_appeals_frame(moved)], ignore_index=True)
    fast, full = _both(sample, appeals)
    _same_dataset(fast, full)
    after = fast.credits[fast.credits["deal_id"].astype(str) == two]["share"].sort_values().tolist()
    assert after == pytest.approx([0.2, 0.8])
    before = evaluate_quietly(bank_policy, sample)
    a, b = review_appeals(bank_policy, sample, appeals, before=before), evaluate_quietly(bank_policy, full)
    pd.testing.assert_frame_equal(a.after.summary, b.summary, check_exact=True)


def evaluate_quietly(policy, data):
    from compkit.engine import evaluate

    return evaluate(policy, data)


BAD = [  # corrections that break the contract: the same problems, named at the same row, either way
    ("ratings", "E1|S1|risk_management|2025", "score", "7"),
    ("metrics", "E1|2025-03|target", "target", "-5"),
    ("metrics", "E1|2025-03|fee_income", "target", "0"),  # a zero target where the actual is positive
    ("employees", "E1", "base_monthly", "-1"),
    ("employees", "E1", "exit_date", "2019-01-01"),  # before the hire date, and before the cycle
    ("employees", "E1", "gender", "Q"),
    ("complaints", "K1", "resolved_days", "-3"),
    ("history", "E1|2024", "monthly_wage", "-100"),
]


@pytest.mark.parametrize("table,key,column,value", BAD)
def test_a_bad_correction_gives_the_same_problems(tiny, table, key, column, value) -> None:
    if key == "E1|2025-03|target":
        key = "E1|2025-03|fee_income"
    appeals = load_appeals_frame(register(("A1", "E1" if table != "complaints" else "E4", "2026-01-05", table,
                                           key, column, value, "upheld", value, "2026-01-10", "")))
    with pytest.raises(DataError) as fast:
        apply_appeals(tiny, appeals)
    with pytest.raises(DataError) as full:
        apply_appeals(tiny, appeals, check="all")
    assert fast.value.problems and fast.value.problems == full.value.problems
    assert str(fast.value) == str(full.value)
    assert all(p.file == f"{tiny.source} + upheld appeals:{table}" for p in fast.value.problems
               if p.file.endswith(table))
