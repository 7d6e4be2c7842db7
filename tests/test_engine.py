"""compkit.engine: evaluate() on the tiny hand-made dataset, every figure worked out by hand; reconciliation,
determinism, writing workbooks, and the CLI."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import POLICY_2025, approx_cents, bank_tiny_tables, tiny_tables, write_tables
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from compkit.cli import main
from compkit.data import load_dataset
from compkit.engine import evaluate
from compkit.policy import Policy


@pytest.fixture()
def out(tiny, policy):
    return evaluate(policy, tiny)


def row(out, employee_id: str) -> pd.Series:
    return out.summary.set_index("employee_id").loc[employee_id]


def test_every_employee_appears_and_money_reconciles(out) -> None:
    assert out.summary["employee_id"].tolist() == ["E1", "E2", "E3", "E4"]
    assert out.reconcile() == []


def test_mid_year_joiner_is_prorated(out) -> None:
    e2 = row(out, "E2")
    # hired 2025-07-01: 184 days (Jul 31 + Aug 31 + Sep 30 + Oct 31 + Nov 30 + Dec 31) of 365
    assert e2["days_share"] == pytest.approx(184 / 365)
    # no own base: the CM1 midpoint 7,000; 7,000 x 12 x 184/365 = 42,345.2055 -> 42,345.21
    assert e2["base_source"] == "grade_midpoint"
    assert e2["base_pay"] == 42_345.21
    # transport 400 x 12 x 184/365 = 2,419.726 -> 2,419.73; meals 500 -> 3,024.66; communication 200 -> 1,209.86
    assert (e2["allowance_transport"], e2["allowance_meals"], e2["allowance_communication"]) == (
        2_419.73, 3_024.66, 1_209.86)
    assert e2["allowances"] == 6_654.25  # 2,419.73 + 3,024.66 + 1,209.86: the sum of the rounded parts
    # target bonus 20% x 84,000 x 184/365 = 8,469.04
    assert e2["target_bonus"] == 8_469.04


def test_leaver_proration_and_contributions(out) -> None:
    e4 = row(out, "E4")
    # left 2025-03-31: Jan 31 + Feb 28 + Mar 31 = 90 days of 365
    assert e4["days_share"] == pytest.approx(90 / 365)
    assert e4["base_pay"] == 26_630.14  # 9,000 x 12 x 90/365 = 26,630.137
    # contributions are monthly: January to March in full, on the declared si_base 9,000:
    # employer pension 1,440 + medical 810 + unemployment 45 + injury 14.40 + housing fund 630 = 2,939.40 a month
    # x 3 = 8,818.20
    assert e4["employer_contributions"] == 8_818.20


def test_benefits_inside_floor_and_cap(out) -> None:
    e1 = row(out, "E1")
    # declared si_base 9,500 lies between the floors (7,384 / 7,460; 2,690 / 2,740) and the caps:
    # employee (8% + 2% + 0.5%) x 9,500 x 12 = 11,970 and housing fund 7% x 114,000 = 7,980 -> 19,950
    assert e1["employee_contributions"] == 19_950.00
    # employer (16% + 9% + 0.5% + 0.16%) x 114,000 = 29,252.40 + 7,980 = 37,232.40
    assert e1["employer_contributions"] == 37_232.40


def test_commission_true_up_and_clawback(out) -> None:
    c = out.commission
    e1 = c[(c["employee_id"] == "E1") & (c["product"] == "insurance")].set_index("period")["commission"]
    # Jan 600,000 at 1% = 6,000; cumulative 1,200,000 -> 1% x 1,000,000 + 1.5% x 200,000 = 13,000;
    # Feb pays 13,000 - 6,000 = 7,000
    assert e1["2025-01"] == 6_000.00 and e1["2025-02"] == 7_000.00
    e4 = c[(c["employee_id"] == "E4") & (c["product"] == "insurance")].set_index("period")
    # a 300,000 sale in January (3,000) fully reversed in March: a clawback line of -3,000
    assert e4.loc["2025-03", "commission"] == -3_000.00 and bool(e4.loc["2025-03", "clawback"])
    assert row(out, "E4")["commission"] == 0.0
    # E3 wealth, retroactive: 12M (0.05%... 12M > 10M -> 0.08%) = 9,600; 21M x 0.08% = 16,800; June pays 7,200
    e3 = c[(c["employee_id"] == "E3") & (c["product"] == "wealth")].set_index("period")["commission"]
    assert e3["2025-01"] == 9_600.00 and e3["2025-06"] == 7_200.00
    # E1: insurance 13,000 + funds 0.3% x 1,000,000 = 3,000 + loans 6 元/万 x 250 万 = 1,500 -> 17,500
    assert row(out, "E1")["commission"] == 17_500.00


def test_bonus_and_deferral_schedule(out) -> None:
    e3 = row(out, "E3")
    # SCM (key role). Target 30% x 13,000 x 12 = 46,800. Composite 116.94 (see the scoring worked example):
    # payout 1.0 + (116.94 - 100)/(120 - 100) x 0.5 = 1.4235 -> bonus 66,619.80
    assert e3["composite"] == pytest.approx(116.94)
    assert e3["payout_multiple"] == pytest.approx(1.4235)
    assert e3["bonus"] == 66_619.80
    # 40% deferred: 26,647.92; paid now 39,971.88
    assert (e3["bonus_deferred"], e3["bonus_paid"]) == (26_647.92, 39_971.88)
    d = out.deferrals[out.deferrals["employee_id"] == "E3"]
    # over 3 years: 26,647.92 / 3 = 8,882.64 each, in 2026, 2027, 2028
    assert d["year"].tolist() == [2026, 2027, 2028]
    assert d["scheduled"].tolist() == [8_882.64] * 3
    # CM2 is not a key role: nothing deferred
    assert row(out, "E1")["bonus_deferred"] == 0.0


def test_scores_worked_by_hand(out) -> None:
    e3 = row(out, "E3")
    # E3: 120% of every metric target; the ratio curves cap at 1.2 (deposits, loans, new customers, referrals)
    # or 1.3 (fee income, FTP profit) -> 120; NPL at target/1.2: achievement 1.2 -> 120; satisfaction 4 on 1-5
    # -> 75; loyalty 1 customer buying in 2 months: 1/1 = 1.0 / 0.35 -> capped 1.2 -> 120; no complaint:
    # handling scored as on target (100). Performance = 120 x (0.20+0.12+0.15+0.15+0.10+0.05+0.05+0.05)
    # + 75 x 0.10 + 100 x 0.03 = 120 x 0.87 + 7.5 + 3 = 104.4 + 10.5 = 114.9
    assert e3["performance"] == pytest.approx(114.9)
    # 360 ratings of 5 everywhere -> 120 points on the rating curve; ability = attitude = 120
    assert e3["ability"] == pytest.approx(120.0) and e3["attitude"] == pytest.approx(120.0)
    # composite = 0.60 x 114.9 + 0.25 x 120 + 0.15 x 120 = 68.94 + 30 + 18 = 116.94
    assert e3["composite"] == pytest.approx(116.94)
    e4 = row(out, "E4")
    # E4: one upheld complaint: 2 points deducted
    assert e4["deductions"] == 2.0
    assert e4["composite"] == pytest.approx(e4["composite_before_deductions"] - 2.0)


def test_merit_matrix_over_budget_is_scaled(out) -> None:
    info = out.info
    # eligible: E1 (B, compa 1.0 -> 4.5%), E2 (C -> 3%), E3 (A -> 6%); E4 left.
    # cost = 12 x (9,500 x 4.5% + 7,000 x 3% + 13,000 x 6%) = 12 x (427.5 + 210 + 780) = 17,010
    # budget 3.5% x 12 x (9,500 + 7,000 + 13,000) = 12,390 -> scale 12,390 / 17,010 = 0.72840
    assert info["salary_review_cost_before"] == pytest.approx(17_010.0)
    assert info["salary_review_budget_amount"] == pytest.approx(12_390.0)
    assert info["salary_review_scale_factor"] == pytest.approx(12_390 / 17_010)
    assert row(out, "E1")["raise_pct"] == pytest.approx(0.045 * 12_390 / 17_010)


def test_capped_commission(tmp_path: Path, policy: Policy) -> None:
    tables = tiny_tables()
    tables["sales"] = pd.concat([tables["sales"], pd.DataFrame(
        [("E1", "2025-09", "insurance", 20_000_000.0, "D99", "C9")], columns=tables["sales"].columns)])
    data = load_dataset(write_tables(tables, tmp_path / "d"), policy=policy)
    e1 = row(evaluate(policy, data), "E1")
    # gross: insurance on 21.2M marginal = 10,000 + 60,000 + 2% x 16.2M = 394,000; + funds 3,000 + loans 1,500
    assert e1["commission_gross"] == 398_500.00
    # cap 1.5 x annual base 114,000 = 171,000: the settlement line takes back 227,500
    assert e1["commission"] == 171_000.00
    assert e1["commission_settlement"] == -227_500.00
    assert "capped at 1.5 × annual base" in e1["commission_note"]


def test_gate_below_sixty_halves_commission(tmp_path: Path, policy: Policy) -> None:
    tables = tiny_tables()
    tables["sales"] = pd.concat([tables["sales"], pd.DataFrame(
        [("E4", "2025-02", "funds", 1_000_000.0, "D98", "C8")], columns=tables["sales"].columns)])
    data = load_dataset(write_tables(tables, tmp_path / "d"), policy=policy)
    e4 = row(evaluate(policy, data), "E4")
    # E4's composite 35.76 is below the gate 60: funds 0.3% x 1,000,000 = 3,000, half paid = 1,500
    assert e4["commission_gross"] == 3_000.00 and e4["commission"] == 1_500.00
    assert "below the gate 60: 50% paid" in e4["commission_note"]


def test_same_inputs_give_identical_outcomes(tiny, policy: Policy) -> None:
    a, b = evaluate(policy, tiny), evaluate(policy, tiny)
    for name in a.TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))


def test_one_thread_gives_the_same_outcomes(tiny, policy: Policy, monkeypatch) -> None:
    """Every step worked out in place (COMPKIT_THREADS=1) gives the Outcomes of the two threads, dtypes included,
    for the whole cycle and to date."""
    for through in (None, "2025-06"):
        two = evaluate(policy, tiny, through=through)
        monkeypatch.setenv("COMPKIT_THREADS", "1")
        one = evaluate(policy, tiny, through=through)
        monkeypatch.delenv("COMPKIT_THREADS")
        for name in two.TABLES:
            pd.testing.assert_frame_equal(getattr(one, name), getattr(two, name))


def test_a_step_for_the_first_free_thread_runs_once() -> None:
    """_FirstFree: worked out by the first thread that asks (here the caller: 2 x 21 = 42), once; the second thread
    reaching it later does nothing; an exception reaches whoever asks for the result."""
    import threading

    from compkit.engine import _FirstFree, background

    calls = []

    def double(x: int) -> int:
        calls.append(threading.current_thread().name)
        return 2 * x

    step = _FirstFree(double, 21)
    step.run_here()
    submit = background()
    submit(step.run_here)()  # the second thread finds it done
    assert step() == 42 and len(calls) == 1
    other = _FirstFree(double, 5)
    submit(other.run_here)()  # worked out on the second thread
    assert other() == 10 and len(calls) == 2

    def fails() -> None:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        _FirstFree(fails)()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.floats(0.0, 40.0), min_size=9, max_size=9))
def test_totals_reconcile_whatever_the_sales(tiny, policy: Policy, factors: list[float]) -> None:
    sales = tiny.sales.assign(amount=tiny.sales["amount"] * np.array(factors))
    out = evaluate(policy, tiny.replace(sales=sales))
    assert out.reconcile() == []
    cap = 1.5 * out.summary["base_pay"]
    assert (out.summary["commission"] <= cap + 1e-9).all()


def test_workbook_is_readable(out, tmp_path: Path) -> None:
    path = out.to_excel(tmp_path / "results.xlsx")
    wb = load_workbook(path, read_only=False)
    assert wb.sheetnames == ["summary", "indicators", "commission", "deferrals", "salary_review", "promotions",
                             "benefits", "net", "tax", "compliance", "compliance_people", "clawbacks", "leavers",
                             "awards", "info"]
    ws = wb["summary"]
    assert ws.freeze_panes == "A2"
    header = [c.value for c in ws[1]]
    assert header[0] == "employee_id" and ws["A1"].font.bold
    col = header.index("base_pay") + 1
    assert ws.cell(row=2, column=col).value == 114_000.0
    assert ws.cell(row=2, column=col).number_format == "#,##0.00"


def test_cli_evaluate_and_validate(tiny_dir: Path, tmp_path: Path, capsys) -> None:
    target = tmp_path / "results.xlsx"
    assert main(["evaluate", "--policy", str(POLICY_2025), "--data", str(tiny_dir), "--out", str(target),
                 "--lang", "en"]) == 0
    assert target.exists()
    printed = capsys.readouterr().out
    assert "evaluated 4 people" in printed
    assert "reconciliation: every check adds up to the cent" in printed
    assert "supervision flags (see 'Supervision flags'): clawback 1" in printed
    from openpyxl import load_workbook
    book = load_workbook(target, read_only=True)
    assert book.sheetnames[-3:] == ["Run information", "Reconciliation", "Supervision flags"]
    assert [c.value for c in next(book["Summary"].iter_rows(max_row=1))][:3] == ["Employee ID", "Name", "Branch"]
    # the policy's language (zh-CN) by default: messages, sheet names and headers in Chinese
    chinese = tmp_path / "results_zh.xlsx"
    assert main(["evaluate", "--policy", str(POLICY_2025), "--data", str(tiny_dir), "--out", str(chinese)]) == 0
    printed = capsys.readouterr().out
    assert "已测算4人" in printed and "核对：每一项都精确到分一致" in printed and "监督标识（见“监督标识”）" in printed
    book = load_workbook(chinese, read_only=True)
    assert book.sheetnames[:2] == ["汇总", "指标明细"] and book.sheetnames[-1] == "监督标识"
    header = [c.value for c in next(book["汇总"].iter_rows(max_row=1))]
    assert header[:3] == ["员工编号", "姓名", "支行"] and "基本工资（元）" in header and "递延奖金（元）" in header
    folder = tmp_path / "csv"
    assert main(["evaluate", "--policy", str(POLICY_2025), "--data", str(tiny_dir), "--out", str(folder)]) == 0
    assert {"summary.csv", "reconciliation.csv", "anomalies.csv"} <= {p.name for p in folder.iterdir()}
    assert "anomalies.csv" in capsys.readouterr().out  # the CSV folder keeps the codes as file names
    assert main(["validate", "--policy", str(POLICY_2025), "--data", str(tiny_dir), "--lang", "en"]) == 0
    printed = capsys.readouterr().out
    assert "people: 4 (1 joined and 1 left during the cycle)" in printed
    assert main(["validate", "--policy", str(POLICY_2025), "--data", str(tiny_dir)]) == 0
    assert "人员：4人（考核期内入职1人、离职1人）" in capsys.readouterr().out


def test_cli_writes_nothing_on_bad_input(tiny_dir: Path, tmp_path: Path, capsys) -> None:
    emp = pd.read_csv(tiny_dir / "employees.csv", dtype=str, keep_default_na=False)
    emp.loc[0, "grade"] = "CM9"
    emp.to_csv(tiny_dir / "employees.csv", index=False)
    target = tmp_path / "results.xlsx"
    folder = tmp_path / "results"
    assert main(["evaluate", "--policy", str(POLICY_2025), "--data", str(tiny_dir), "--out", str(target)]) == 1
    assert main(["evaluate", "--policy", str(POLICY_2025), "--data", str(tiny_dir), "--out", str(folder)]) == 1
    err = capsys.readouterr().err  # the policy's language, zh-CN
    assert "employees.csv，第 2 行，“grade”列：发现 'CM9'；应为政策中的职级" in err and "Traceback" not in err
    assert main(["evaluate", "--policy", str(POLICY_2025), "--data", str(tiny_dir), "--out", str(target),
                 "--lang", "en"]) == 1
    err = capsys.readouterr().err
    assert "employees.csv, row 2, column 'grade': found 'CM9'" in err and "Traceback" not in err
    assert not target.exists() and not folder.exists()
    assert list(tmp_path.iterdir()) == [tiny_dir.parent / "tiny"] or all(
        p.name == "tiny" for p in tmp_path.iterdir())


def test_cli_bad_policy_file(tiny_dir: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("policy: [unclosed\n", encoding="utf-8")
    assert main(["validate", "--policy", str(bad), "--data", str(tiny_dir)]) == 1
    err = capsys.readouterr().err  # no language can be read from the file: Chinese, the default
    assert "政策文件" in err and "bad.yaml" in err and "不是有效的 YAML" in err and "Traceback" not in err
    assert main(["validate", "--policy", str(bad), "--data", str(tiny_dir), "--lang", "en"]) == 1
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "not valid YAML" in err and "Traceback" not in err


def test_rating_names_beside_the_rating_codes(out) -> None:
    s = out.summary
    # the 2025 policy's five bands A..E read 优秀, 良好, 称职, 基本称职, 不称职
    names = dict(zip("ABCDE", ["优秀", "良好", "称职", "基本称职", "不称职"]))
    scored = s["rating"].notna()
    assert (s.loc[scored, "rating_name"] == s.loc[scored, "rating"].map(names)).all()
    assert s.columns.get_loc("rating_name") == s.columns.get_loc("rating") + 1


def test_evaluate_through_a_month_is_the_cycle_to_date(policy, tiny) -> None:
    from compkit.engine import evaluate

    full = evaluate(policy, tiny)
    q3 = evaluate(policy, tiny, through="2025-09")
    assert q3.info["interim"] and q3.info["through"] == "2025-09" and "interim" not in full.info
    s = q3.summary.set_index("employee_id")
    # E1: whole year employed, 273 of 365 days to 30 September: 9,500 x 12 x 273/365 = 85,265.75
    assert approx_cents(s.loc["E1", "base_pay"], 85_265.75)
    # E2 joined on 1 July: 92 days to date: 7,000 (grade midpoint) x 12 x 92/365 = 21,172.60
    assert approx_cents(s.loc["E2", "base_pay"], 21_172.60)
    # the gate and the cap settle at the cycle's end: no settlement line, commission = the lines to date
    assert (q3.commission["product"].astype(str) != "settlement").all()
    # the lines are the grid of people x months to date x products: exactly January to September
    assert set(q3.commission["period"].astype(str)) == {f"2025-{m:02d}" for m in range(1, 10)}
    assert len(q3.salary_review) == 0 and len(q3.promotions) == 0 and s["raise_pct"].isna().all()
    assert q3.reconcile() == []
    # E1's insurance in January and February: 1.2M cumulative, marginal tiers 1,000,000 x 1% + 200,000 x 1.5%
    feb = evaluate(policy, tiny, through="2025-02").commission
    e1 = feb[(feb["employee_id"].astype(str) == "E1") & (feb["product"].astype(str) == "insurance")]
    assert e1["commission"].sum() == 13_000.0
    # through the cycle's last month is the full evaluation
    dec = evaluate(policy, tiny, through="2025-12")
    pd.testing.assert_frame_equal(dec.summary, full.summary)


def test_evaluate_through_a_month_outside_the_cycle_is_refused(policy, tiny) -> None:
    from compkit.engine import evaluate
    from compkit.errors import CompkitError

    with pytest.raises(CompkitError, match="2026-01: not a month of the cycle 2025"):
        evaluate(policy, tiny, through="2026-01")


def test_products_priced_as_banks_pay_them_end_to_end(tmp_path: Path, policy: Policy) -> None:
    # deposits on average daily balance by type, and insurance on each person's own quota
    priced = policy.updated({
        "commission.products": policy.to_dict()["commission"]["products"] + [
            {"id": "deposits", "basis": "balance", "rate_per_10k": 30,
             "coefficients": {"column": "deposit_type", "values": {"活期": 1.0, "定期": 0.4, "协定": 0.6}}}],
        "commission.products[funds].quota": {"indicator": "funds_sales", "target": "cycle",
                                             "tiers": [{"upto": 0.8, "multiplier": 0.0}, {"multiplier": 1.5}]},
    })
    tables = tiny_tables()
    extra = pd.DataFrame([("E1", "2025-01", "deposits", 10_000_000.0, "D90", "C1"),
                          ("E1", "2025-02", "deposits", 20_000_000.0, "D91", "C1")],
                         columns=tables["sales"].columns[:6])
    extra["deposit_type"] = ["活期", "定期"]
    tables["sales"] = pd.concat([tables["sales"], extra], ignore_index=True)
    tables["metrics"] = pd.concat([tables["metrics"], pd.DataFrame(
        [("E1", "2025-03", "funds_sales", 0.0, 800_000.0)], columns=tables["metrics"].columns)], ignore_index=True)
    data = load_dataset(write_tables(tables, tmp_path / "d"), policy=priced)
    out = evaluate(priced, data)
    assert out.reconcile() == []
    c = out.commission
    e1 = c[(c["employee_id"] == "E1")]
    dep = e1[e1["product"] == "deposits"].set_index(e1.loc[e1["product"] == "deposits", "period"].astype(str))
    # Jan 10M 活期 x 30 / 10k / 12 = 2,500; Feb 20M 定期 x 0.4 = 8M x 30 / 10k / 12 = 2,000
    assert dep.loc["2025-01", "commission"] == 2_500.0 and dep.loc["2025-02", "commission"] == 2_000.0
    # funds: E1 sold 1,000,000 against a cycle target of 800,000 (125%): the slice above 640,000 (80%) at
    # 0.3% x 1.5: 360,000 x 0.0045 = 1,620
    assert e1.loc[e1["product"] == "funds", "commission"].sum() == pytest.approx(1_620.0)


def test_example_bank_policy_uses_every_scheme_key(tmp_path: Path) -> None:
    """data/policies/examples/bank-scheme.yaml evaluates on data carrying line, step, deposits by type,
    insurance by payment term, loans with an NPL, funds quotas and a shared deal, and reconciles to the cent."""
    from compkit.policy import load_policy

    bank = load_policy(Path(__file__).resolve().parents[1] / "data" / "policies" / "examples" / "bank-scheme.yaml")
    t = bank_tiny_tables()
    t["credits"] = pd.DataFrame({"deal_id": ["D3", "D3"], "employee_id": ["E1", "E3"], "share": [0.5, 0.5]})
    data = load_dataset(write_tables(t, tmp_path / "bank"), policy=bank)
    out = evaluate(bank, data)
    assert out.reconcile() == []
    s = out.summary.set_index("employee_id")
    assert s["scorecard"].to_dict() == {"E1": "corporate", "E2": "retail", "E3": "wealth", "E4": "small_business"}
    assert s.loc["E1", "base_source"] == "step" and s.loc["E1", "base_monthly"] == 9_500
    c = out.commission
    e1 = c[c["employee_id"] == "E1"]

    def paid(product: str, period: str | None = None) -> float:
        rows = e1[(e1["product"] == product) & ((e1["period"] == period) if period else True)]
        return float(rows["commission"].sum())
    # deposits, January: 12M 活期 x 1.5 = 18M weighted; 18M x 10 / 10k = 18,000 a year on the balance, and the
    # increase 18M - 10M x 1.5 = 3M x 30 / 10k = 9,000 a year: (18,000 + 9,000) / 12 = 2,250
    assert paid("deposits", "2025-01") == 2_250.0
    # February: 12M 定期 x 0.5 = 6M weighted: 6,000 a year; the increase over last year's 10M x 0.5 = 5M is 1M:
    # 1M x 30 / 10k = 3,000 a year: (6,000 + 3,000) / 12 = 750
    assert paid("deposits", "2025-02") == 750.0
    # insurance 期交10 (coefficient 1.0): 1.2M of standard premium at 1%: 12,000
    assert paid("insurance") == 12_000.0
    # loans: D4 2.5M in May at 6 per 10k = 1,500, reversed in September (NPL within 12 months): 0 in all
    assert paid("loans", "2025-05") == 1_500.0 and paid("loans", "2025-09") == -1_500.0
    # funds: D3 (1M in March) shared half and half: E1's 500,000 against the target to date (100,000 a month).
    # March: 500,000 of 300,000 (167%): 60,000 x 0.3% + 150,000 x 0.45% + 50,000 x 0.6% = 180 + 675 + 300 = 1,155;
    # by December 500,000 of 1.2M (41.7%) is below 80%: the later lines give it all back, 0 for the year
    assert paid("funds", "2025-03") == 1_155.0 and paid("funds") == 0.0


def _same_outcomes(a, b) -> None:
    for name in a.TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True, obj=name)
    assert a.info == b.info


def test_kept_stages_give_the_full_evaluation_for_every_knob(sample, bank_policy: Policy) -> None:
    """Every default knob of the review's sensitivity at its low and high setting, evaluated from the kept
    scorecard, split, career (and lines where the commission is the same but for gate and cap): the same Outcomes,
    bit for bit, as a full evaluation; the kept stages are not changed by using them (a knob evaluated twice)."""
    from compkit.engine import Kept
    from compkit.review import default_knobs

    kept = Kept()
    base = evaluate(bank_policy, sample, kept=kept)
    _same_outcomes(base, evaluate(bank_policy, sample))
    knobs = default_knobs(bank_policy)
    assert {k.name.split(" ")[-1] for k in knobs} >= {"±10%", "base", "points"}  # rates, curve, cap and gate
    lines_kept = 0
    for k in knobs + knobs[:1]:
        for x in (k.low, k.high):
            changed = k.apply(bank_policy, x)
            assert kept.fits(changed, sample, None)
            lines_kept += kept.lines_fit(changed)
            assert kept.bases_fit(changed)  # a rate knob: the lines' bases kept, only the rates applied again
            _same_outcomes(evaluate(changed, sample, kept=kept), evaluate(changed, sample))
    assert lines_kept == 3 * 2  # the bonus curve, the cap and the gate knobs take the kept lines
    other_products = bank_policy.updated({"commission.products[loans].npl_clawback": None})
    assert not kept.bases_fit(other_products)


def test_commission_table_in_place_unless_the_lines_are_kept(sample, bank_policy: Policy) -> None:
    """The commission table is put together in the lines' own buffers (the settlement lines inserted in place)
    when the lines are not kept; a Kept being filled, or giving its lines, keeps them as they were: evaluations
    from it (the same lines, and other rates on the kept bases) leave the kept lines unchanged, and every table is
    the full evaluation's."""
    from compkit.commission import _ROOMY
    from compkit.engine import Kept

    full = evaluate(bank_policy, sample)
    assert len(full.commission) > len(sample.employees) * len(sample.periods)  # settlement lines in it
    for column in ("commission", "basis", "cumulative_basis"):  # built in place, the bases' columns too
        assert id(full.commission[column].to_numpy().base) in _ROOMY, column
    kept = Kept()
    _same_outcomes(evaluate(bank_policy, sample, kept=kept), full)
    lines, bases = kept.stages["lines"], kept.stages["bases"]
    before = lines.copy(deep=True)
    bases_before = bases.basis.copy(), bases.cumulative_basis.copy()
    capped = bank_policy.updated({"commission.cap.times_annual_base": 0.5})
    funds = next(p.id for p in bank_policy.commission.products if p.rate is not None)
    dearer = bank_policy.updated({f"commission.products[{funds}].rate": 0.01})
    assert kept.lines_fit(capped) and not kept.lines_fit(dearer) and kept.bases_fit(dearer)
    for changed in (capped, dearer, bank_policy):
        _same_outcomes(evaluate(changed, sample, kept=kept), evaluate(changed, sample))
        assert kept.stages["lines"] is lines and kept.stages["bases"] is bases
        pd.testing.assert_frame_equal(lines, before, check_exact=True)
        # the kept bases are not taken in place by the tables of lines worked out on them (dearer)
        np.testing.assert_array_equal(bases.basis, bases_before[0])
        np.testing.assert_array_equal(bases.cumulative_basis, bases_before[1])


def test_kept_stages_are_not_used_where_they_do_not_fit(sample, bank_policy: Policy) -> None:
    """A change of the scorecard, another cycle to date, or other data: the kept stages are left alone and the
    evaluation is the full one."""
    from compkit.engine import Kept

    kept = Kept()
    evaluate(bank_policy, sample, kept=kept)
    other = bank_policy.updated({"scorecard.indicators[deposits_adb].curve.threshold": 0.7})
    assert not kept.fits(other, sample, None)
    _same_outcomes(evaluate(other, sample, kept=kept), evaluate(other, sample))
    assert not kept.fits(bank_policy, sample, "2025-06")
    _same_outcomes(evaluate(bank_policy, sample, through="2025-06", kept=kept),
                   evaluate(bank_policy, sample, through="2025-06"))
    copy = sample.replace(sales=sample.sales)
    assert not kept.fits(bank_policy, copy, None)
    assert kept.fits(bank_policy, sample, None)


def test_only_the_tables_asked_for(sample, bank_policy: Policy) -> None:
    """evaluate(tables=("summary",)): the summary (and every table it is worked out from) is the full
    evaluation's, bit for bit; the commission table, net pay, tax, the compliance checks and the leavers are left
    empty. The same with the kept stages (the review's sensitivity reads only the summary)."""
    from compkit.engine import Kept

    steeper = bank_policy.updated({"bonus.curve[2][1]": 1.1})
    full, full_steeper = evaluate(bank_policy, sample), evaluate(steeper, sample)
    kept = Kept()
    for got, expected in ((evaluate(bank_policy, sample, tables=("summary",)), full),
                          (evaluate(bank_policy, sample, tables=("summary",), kept=kept), full),
                          (evaluate(steeper, sample, tables=["summary"], kept=kept), full_steeper)):
        pd.testing.assert_frame_equal(got.summary, expected.summary, check_exact=True)
        for name in ("indicators", "deferrals", "salary_review", "promotions", "benefits", "clawbacks", "awards"):
            pd.testing.assert_frame_equal(getattr(got, name), getattr(expected, name), check_exact=True, obj=name)
        assert got.info == expected.info
        for name in ("commission", "net", "tax", "compliance", "compliance_people", "leavers"):
            assert len(getattr(got, name)) == 0 < len(getattr(expected, name)), name
    interim = evaluate(bank_policy, sample, through="2025-06", tables=("summary", "tax"))
    pd.testing.assert_frame_equal(interim.summary, evaluate(bank_policy, sample, through="2025-06").summary,
                                  check_exact=True)
    assert len(interim.tax) and not len(interim.commission)


def test_payable_by_year_reads_the_schedule_by_its_rows() -> None:
    # two people, bonus and commission deferred over 3 years: E1 bonus 300.00 (100 a year), commission 30.01
    # (10.01 / 10.00 / 10.00); E2 bonus 0.02 (0.01 / 0.01 / 0.00), nothing else. A clawback cancels E1's last
    # bonus part: payable per year = bonus + commission parts that year
    from compkit import compliance as cp
    from compkit.engine import _payable_by_year

    schedule = cp.deferral_schedule(["E1", "E2"], {"bonus": [300.0, 0.02], "commission": [30.01, 0.0]}, 2025, 3)
    schedule.loc[2, "cancelled"] = 100.0
    schedule["payable"] = schedule["scheduled"] - schedule["cancelled"]
    by_year = _payable_by_year(schedule, 2, 3)
    assert by_year.tolist() == [[100.0 + 10.01, 100.0 + 10.0, 0.0 + 10.0], [0.01, 0.01, 0.0]]
    assert _payable_by_year(schedule.iloc[0:0], 2, 3) is None


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2 ** 32 - 1), st.integers(1, 60), st.integers(1, 13))
def test_split_by_share_is_the_rounded_differences(seed, n, m) -> None:
    """_split_by_share: month j = round_cents(round_cents(total x share_j) - round_cents(total x share_j-1)), share_j
    the weights to month j over all of them (0 without any, the last month 1), bit for bit, for one total or several
    at once; the months add up to the total. Worked example: 100.00 over weights 1, 1, 1 -> shares 1/3, 2/3, 1 ->
    33.33, 66.67, 100 -> 33.33, 33.34, 33.33."""
    from compkit.engine import _split_by_share
    from compkit.money import round_cents
    rng = np.random.default_rng(seed)
    weight = rng.uniform(0, 1, (n, m)) * (rng.uniform(size=(n, m)) < 0.8)
    weight[rng.integers(0, n)] = 0.0
    totals = np.round(rng.uniform(0, 2e5, (2, n)), 2)
    cum = np.cumsum(weight, axis=1)
    share = np.divide(cum, cum[:, -1:], out=np.zeros_like(cum), where=cum[:, -1:] > 0)
    share[:, -1] = cum[:, -1] > 0
    both = _split_by_share(totals, weight)
    for total, got in zip(totals, both):
        expected = round_cents(np.diff(round_cents(total[:, None] * share), axis=1, prepend=0.0))
        assert np.array_equal(got.view(np.uint64), expected.view(np.uint64))
        assert np.array_equal(_split_by_share(total, weight).view(np.uint64), expected.view(np.uint64))
        paid = cum[:, -1] > 0
        np.testing.assert_allclose(got.sum(axis=1)[paid], total[paid], atol=1e-6)
    assert _split_by_share(np.array([100.0]), np.ones((1, 3))).tolist() == [[33.33, 33.34, 33.33]]
