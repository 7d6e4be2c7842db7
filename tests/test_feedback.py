"""Feedback statements and publication: worked examples on the tiny dataset (see conftest.tiny_tables)."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import POLICY_2025, approx_cents, tiny_tables

from compkit.feedback import (
    FeedbackError,
    count_indicators,
    peer_standing,
    published_results,
    render_statements,
    statement_contents,
    strengths_and_weaknesses,
    through_month,
    write_statements,
)
from compkit.privacy import PrivacyError, pseudonyms, scan_for_identifiers

KEY = b"test-key-0123456789abcdef"


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = False

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        self._skip = tag in ("style", "title")

    def handle_endtag(self, tag):  # noqa: ANN001
        self._skip = False

    def handle_data(self, data):  # noqa: ANN001
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts))


@pytest.fixture()
def final(policy, tiny):
    st = statement_contents(policy, tiny, lang="en")
    return st, render_statements(st, policy)


def person(st, eid: str) -> dict:
    return st.people.set_index("employee_id").loc[eid].to_dict()


# ------------------------------------------------------------------------------- the mid-year joiner


def test_joiner_statement_checked_by_hand(final) -> None:
    st, pages = final
    e2 = person(st, "E2")
    # joined 2025-07-01: (2025-12-31 - 2025-07-01) + 1 = 184 of 365 days
    assert e2["days_employed"] == 184 and e2["days_in_period"] == 365
    # base: no own base, CM1 midpoint 7,000 x 12 x 184/365 = 42,345.2055 -> 42,345.21
    assert approx_cents(e2["base_pay"], 42_345.21)
    # allowances: (400 + 500 + 200) x 12 x 184/365 -> 2,419.73 + 3,024.66 + 1,209.86 = 6,654.25
    assert approx_cents(e2["allowance_transport"], 2_419.73) and approx_cents(e2["allowance_meals"], 3_024.66)
    assert approx_cents(e2["allowances"], 6_654.25)
    # commission: funds 500,000 x 0.3% = 1,500.00 in August
    assert approx_cents(e2["commission"], 1_500.00)
    # bonus: target 20% x 7,000 x 12 = 16,800; composite 96.667 -> payout 0.5 + (96.667 - 70) / 30 x 0.5
    # = 0.94444; 16,800 x 0.94444 x 184/365 = 7,998.54 (CM1 is not a key role: nothing deferred)
    assert approx_cents(e2["bonus_paid"], 7_998.54) and e2["bonus_deferred"] == 0
    # total cash = 42,345.21 + 6,654.25 + 1,500.00 + 7,998.54 = 58,498.00
    assert approx_cents(e2["total_cash"], 58_498.00)
    text = visible_text(pages["E2"])
    for shown in ("184 of 365 days (joined 1 July 2025)", "Junior customer manager", "42,345.21", "2,419.73",
                  "1,500.00", "7,998.54", "58,498.00", "August 2025", "Mutual funds", "rating C"):
        assert shown in text, shown
    # the one weakness: loyalty (no repeat customer in 5 months) with the policy's suggestion
    fb = st.feedback[st.feedback["employee_id"] == "E2"]
    assert fb["kind"].tolist() == ["weakness", "suggestion"]
    assert fb["indicator"].tolist() == ["loyalty", "loyalty"]
    assert "Stay in touch with customers after a purchase" in text
    assert "Customer loyalty (repeat purchases): 0% of target, score 0" in text


def test_statement_lines_add_up_to_total_cash(final) -> None:
    st, _ = final
    p = st.people
    parts = p["base_pay"] + p["allowances"] + p["commission"] + p["bonus_paid"]
    assert (np.rint(parts * 100) == np.rint(p["total_cash"] * 100)).all()
    per_line = st.commission.groupby("employee_id")["commission"].sum().reindex(p["employee_id"]).fillna(0)
    assert np.allclose(per_line.to_numpy(), p["commission"].to_numpy(), atol=0.005)


# ---------------------------------------------------------------------------- the clawback statement


def test_clawback_statement_checked_by_hand(final) -> None:
    st, pages = final
    e4 = person(st, "E4")
    # left 2025-03-31: 31 + 28 + 31 = 90 of 365 days; base 9,000 x 12 x 90/365 = 26,630.137 -> 26,630.14
    assert e4["days_employed"] == 90 and approx_cents(e4["base_pay"], 26_630.14)
    lines = st.commission[st.commission["employee_id"] == "E4"]
    # January: 300,000 of insurance at 1% (first tier) = 3,000.00; March: the deal reversed, the cumulative
    # basis falls to 0, cumulative commission 0 - 3,000 paid = -3,000.00, a clawback line
    assert lines["period"].tolist() == ["2025-01", "2025-03"]
    assert lines["commission"].tolist() == [3_000.0, -3_000.0]
    assert lines["line"].tolist() == ["payment", "clawback"]
    assert e4["commission"] == 0.0
    text = visible_text(pages["E4"])
    assert "March 2025 Bancassurance -300,000.00 -3,000.00 clawback: sales reversed" in text
    assert "Total commission 0.00" in text
    assert "90 of 365 days (left 31 March 2025)" in text
    assert "26,630.14" in text
    # composite 35.76 is below the bonus curve's 60: no bonus, said in plain words
    assert "Overall score below the bonus threshold: no bonus." in text
    assert "No salary increase (left before the end of the cycle: no raise)." in text


def test_statements_have_no_code_terms(final) -> None:
    _, pages = final
    for eid, html in pages.items():
        text = visible_text(html)
        snake = re.findall(r"\b[a-z]+_[a-z_]+\b", text)
        assert snake == [], (eid, snake)
        assert "nan" not in text.split() and "None" not in text.split(), eid


# ----------------------------------------------------------------------------- interim statements


def test_interim_statement_cycle_to_date(policy, tiny) -> None:
    st = statement_contents(policy, tiny, period="2025Q3", lang="en")
    assert st.info["interim"] and st.info["through"] == "2025-09"
    e2 = person(st, "E2")
    # 1 July to 30 September: 92 days employed of the 273 days to date; pay to date uses the cycle's day rate:
    # 7,000 x 12 x 92/365 = 21,172.60
    assert e2["days_employed"] == 92 and e2["days_in_period"] == 273
    assert approx_cents(e2["base_pay"], 21_172.60)
    assert approx_cents(e2["commission"], 1_500.00)  # the August line is paid by September
    assert e2["bonus_paid"] == 0 and approx_cents(e2["bonus_indicative"], 7_998.54)
    # a leaver's pay to date equals the final statement's: she left before the period ends
    e4_final = person(statement_contents(policy, tiny, lang="en"), "E4")
    assert approx_cents(person(st, "E4")["base_pay"], e4_final["base_pay"])
    text = visible_text(render_statements(st, policy)["E2"])
    assert "January 2025 to September 2025 (cycle to date)" in text
    assert "indicative rating" in text and "Indicative performance bonus" in text
    # by June (before she joined) there is nothing to pay her
    june = person(statement_contents(policy, tiny, period="2025-06", lang="en"), "E2")
    assert june["base_pay"] == 0 and june["commission"] == 0


def test_interim_in_the_first_quarter_excludes_later_commission(policy, tiny) -> None:
    st = statement_contents(policy, tiny, period="2025-02", lang="en")
    e1 = st.commission[st.commission["employee_id"] == "E1"]
    # E1's insurance lines of January (6,000) and February (7,000): marginal tiers, 1.2M cumulative
    # = 1,000,000 x 1% + 200,000 x 1.5% = 13,000 in all
    assert e1["commission"].sum() == 13_000.0
    assert set(e1["period"]) == {"2025-01", "2025-02"}


@pytest.mark.parametrize("period, expected", [("2025-06", "2025-06"), ("2025Q2", "2025-06"), ("2025q4", "2025-12"),
                                              ("2025H1", "2025-06")])
def test_through_month(period: str, expected: str) -> None:
    assert through_month(period, "2025") == expected


@pytest.mark.parametrize("period, message", [("2026-03", "outside the cycle 2025 (2025-01 to 2025-12)"),
                                             ("June", "expected a month YYYY-MM, a quarter YYYYQn"),
                                             ("2025-13", "expected a month YYYY-MM")])
def test_bad_period(period: str, message: str) -> None:
    with pytest.raises(FeedbackError, match=re.escape(message)):
        through_month(period, "2025")


# ------------------------------------------------------------------------- strengths and weaknesses


def test_peer_standing_worked_example() -> None:
    # six CM2s on one indicator: scores 50, 60, 60, 80, 90, 100; share below = (rank_min - 1) / (6 - 1)
    ind = pd.DataFrame({"employee_id": [f"P{i}" for i in range(6)], "indicator": "fee_income",
                        "score": [50.0, 60.0, 60.0, 80.0, 90.0, 100.0]})
    grade = pd.Series("CM2", index=ind["employee_id"])
    out = peer_standing(ind, grade)
    assert out["share_below"].tolist() == [0.0, 0.2, 0.2, 0.6, 0.8, 1.0]
    # only four peers: too few to compare (and it would reveal colleagues' scores)
    small = peer_standing(ind.iloc[:4], grade)
    assert small["share_below"].isna().all() and (small["peers"] == 4).all()


def test_strengths_and_weaknesses_rules() -> None:
    # one person, five indicators: points vs target = effective weight x (score - 100)
    ind = pd.DataFrame({"employee_id": "P1", "indicator": list("abcde"),
                        "score": [120.0, 110.0, 100.0, 80.0, 0.0],
                        "effective_weight": [0.1, 0.3, 0.2, 0.2, 0.0],
                        "share_below": [0.5, 0.9, 0.8, 0.1, np.nan]})
    ind["points_vs_target"] = ind["effective_weight"] * (ind["score"] - 100)  # 2, 3, 0, -4, -0
    label = strengths_and_weaknesses(ind, shown=2)
    # b (+3) and a (+2) above target; c on target in the top quarter would be third; d below target;
    # e carries no weight (left out of the score): neither
    assert label.tolist() == ["strength", "strength", "", "weakness", ""]
    assert strengths_and_weaknesses(ind, shown=3).tolist() == ["strength", "strength", "strength", "weakness", ""]


def test_strengths_name_peers_when_there_are_enough(bank_policy, sample) -> None:
    policy = bank_policy  # the sample's policy
    st = statement_contents(policy, sample, lang="en")
    strengths = st.feedback[st.feedback["kind"] == "strength"]
    assert strengths["text"].str.contains(r"better than \d+% of ", regex=True).any()
    # every weakness has a suggestion from the policy's texts
    weak = st.feedback[st.feedback["kind"] == "weakness"]
    tips = st.feedback[st.feedback["kind"] == "suggestion"]
    assert len(weak) == len(tips) and len(weak) > 0
    assert set(tips["text"]) <= set(policy.feedback.suggestions.values())


# ---------------------------------------------------------------------------------------- writing


def test_write_statements(tmp_path: Path, tiny_dir: Path) -> None:
    out = tmp_path / "private" / "statements"
    written = write_statements(POLICY_2025, tiny_dir, out)
    assert sorted(p.name for p in written) == ["E1.html", "E2.html", "E3.html", "E4.html", "statements.xlsx"]
    sheets = pd.read_excel(out / "statements.xlsx", sheet_name=None)
    # sheets and headers in the policy's language (Chinese), as the evaluate workbook's (compkit.headers)
    assert set(sheets) == {"考核结果与薪酬", "指标明细", "反馈意见", "提成明细", "递延计划", "每月实发工资"}
    assert len(sheets["考核结果与薪酬"]) == 4
    assert list(sheets["反馈意见"].columns) == ["员工编号", "类型", "序号", "指标", "内容"]
    assert not [c for t in sheets.values() for c in t.columns if re.fullmatch(r"[a-z_]+", str(c))]
    # a failed run (bad period) leaves the previous statements as they were
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(FeedbackError):
        write_statements(POLICY_2025, tiny_dir, out, period="2026-01")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in out.parent.iterdir()] == ["statements"]  # no temporary folder left behind


def test_statements_refused_under_reports(tmp_path: Path, tiny_dir: Path) -> None:
    with pytest.raises(PrivacyError, match="never under reports/"):
        write_statements(POLICY_2025, tiny_dir, tmp_path / "reports" / "2025" / "statements")
    assert not (tmp_path / "reports").exists()


# ------------------------------------------------------------------------------------- publication


def test_published_tables_carry_no_names_or_ids(bank_policy, sample, tmp_path: Path) -> None:
    policy = bank_policy  # the sample's policy
    st = statement_contents(policy, sample, lang="en")
    tables = published_results(st, policy, KEY)
    results, by_branch = tables["results"], tables["ratings_by_branch"]
    assert list(results.columns)[0] == "person" and list(results.columns)[-2:] == ["position", "rating"]
    assert "overall_score" not in results.columns
    # published as people read them: the Chinese names of the five bands (or withheld)
    assert set(results["rating"]) <= {"优秀", "良好", "称职", "基本称职", "不称职", "—"}
    assert [c for c in by_branch.columns if c.startswith("share_")] == [
        "share_优秀", "share_良好", "share_称职", "share_基本称职", "share_不称职"]
    assert len(results) == st.people["composite"].notna().sum()
    assert results["person"].is_unique
    for name, df in tables.items():
        df.to_csv(tmp_path / f"{name}.csv", index=False)
    emp = sample.employees
    assert scan_for_identifiers(tmp_path, emp["employee_id"], emp["name"]) == []
    # shares add up to 1 per branch where nothing is withheld; no shown share is of 1 or 2 people
    shares = by_branch.filter(like="share_")
    whole = ~by_branch["suppressed"] & (by_branch["cells_withheld"] == 0)
    assert whole.any() and np.allclose(shares[whole].sum(axis=1), 1.0)
    people = shares.mul(by_branch["n"], axis=0).round()
    assert not ((people > 0) & (people < policy.publication.min_cell)).any().any()
    withheld = shares.isna().sum(axis=1)[~by_branch["suppressed"]]
    assert (withheld == by_branch.loc[~by_branch["suppressed"], "cells_withheld"]).all()
    assert not (withheld == 1).any()  # never one withheld cell alone: n minus the others would give it back


def test_small_branches_are_suppressed(policy, tiny) -> None:
    st = statement_contents(policy, tiny, lang="en")
    by_branch = published_results(st, policy, KEY)["ratings_by_branch"]
    # Pudong has 4 people: fewer than 5, so its shares are blanked; the head-count stays
    row = by_branch.set_index("branch").loc["Pudong"]
    assert row["n"] == 4 and bool(row["suppressed"])
    assert row.filter(like="share_").isna().all()


def test_publication_with_names_when_the_policy_says_so(policy, tiny) -> None:
    named = policy.updated({"publication.names": "name"})
    st = statement_contents(named, tiny, lang="en")
    results = published_results(st, named)["results"]
    assert sorted(results["person"]) == ["Li Na", "Liu Yang", "Wang Wei", "Zhang Min"]


def test_statements_command(tmp_path: Path, tiny_dir: Path, capsys, monkeypatch) -> None:
    from compkit.cli import main

    monkeypatch.setenv("COMPKIT_PSEUDONYM_KEY", KEY.decode())
    out, pub = tmp_path / "private" / "st", tmp_path / "published"
    code = main(["statements", "--policy", str(POLICY_2025), "--data", str(tiny_dir), "--out", str(out),
                 "--period", "2025-09", "--publish", str(pub)])
    assert code == 0
    assert "已将4份反馈单和 statements.xlsx 写入" in capsys.readouterr().out  # the policy's language
    assert "阶段绩效与薪酬反馈单" in (out / "E2.html").read_text(encoding="utf-8")  # the policy says zh-CN
    assert sorted(p.name for p in pub.iterdir()) == [".compkit-output", "ratings_by_branch.csv", "results.csv"]
    employees = tiny_tables()["employees"]
    assert scan_for_identifiers(pub, employees["employee_id"], employees["name"]) == []
    # no key: refused before anything is written
    monkeypatch.delenv("COMPKIT_PSEUDONYM_KEY")
    code = main(["statements", "--policy", str(POLICY_2025), "--data", str(tiny_dir),
                 "--out", str(tmp_path / "private" / "st2"), "--publish", str(tmp_path / "pub2")])
    assert code == 1 and "没有化名密钥" in capsys.readouterr().err
    assert not (tmp_path / "private" / "st2").exists() and not (tmp_path / "pub2").exists()


def test_counts_print_as_whole_numbers(final) -> None:
    """New customers and referrals are counts (``unit: count`` in the policy): their result and target print as
    whole numbers, although under 100; a ratio under 100 (the NPL ratio) keeps two decimals. E1 is on target every
    month: new customers 4 x 12 = 48 of 48, referrals 2 x 12 = 24 of 24, NPL ratio mean 1.5 of 1.5."""
    st, pages = final
    rows = {cells[0]: cells[1:3] for cells in
            (re.findall(r"<td[^>]*>([^<]*)</td>", row) for row in re.findall(r"<tr>.*?</tr>", pages["E1"]))
            if cells}
    assert rows["New customers"] == ["48", "48"]
    assert rows["Referrals of new customers"] == ["24", "24"]
    assert rows["Non-performing loan ratio"] == ["1.50", "1.50"]


def test_count_indicators_from_the_policy(policy) -> None:
    """Counts: ``unit: count``, complaints counted, certificates held, and a team indicator adding up a count;
    not a complaints indicator measured in days nor a metrics indicator without a unit."""
    assert count_indicators(policy) == {"new_customers", "referrals"}
    extra = [{"id": "complaints_n", "category": "performance", "weight": 0.0, "source": "complaints",
              "measure": "count", "target": 2, "curve": {"type": "inverse", "threshold": 0.0, "cap": 1.2}},
             {"id": "team_new", "category": "performance", "weight": 0.0, "source": "team", "of": "new_customers",
              "curve": {"type": "ratio", "threshold": 0.5, "cap": 1.2}},
             {"id": "team_fee", "category": "performance", "weight": 0.0, "source": "team", "of": "fee_income",
              "curve": {"type": "ratio", "threshold": 0.5, "cap": 1.2}}]
    data = policy.model_dump(by_alias=True, exclude_none=True)
    data["scorecard"]["indicators"] += extra
    changed = type(policy).model_validate(data)
    assert count_indicators(changed) == {"new_customers", "referrals", "complaints_n", "team_new"}


def test_tier_crossings_are_explained(final) -> None:
    st, pages = final
    lines = st.commission.set_index(["employee_id", "period", "product"])["remark"]
    # E1's insurance: 600,000 in January (tier 1 up to 1,000,000), 1,200,000 by February: marginal, so only the
    # 200,000 above the bound is at 1.5%: "partly at a higher tier"
    assert lines[("E1", "2025-01", "insurance")] == ""
    assert lines[("E1", "2025-02", "insurance")] == "partly at a higher tier"
    # E3's wealth products: 12,000,000 in January is already tier 2 (above 10,000,000) of a retroactive table;
    # 21,000,000 by June stays in tier 2: no remark
    assert lines[("E3", "2025-01", "wealth")] == "a higher tier reached: the year's sales so far re-rated"
    assert lines[("E3", "2025-06", "wealth")] == ""
    assert "partly at a higher tier" in visible_text(pages["E1"])


def test_interim_bonus_shows_paid_now_and_deferred(policy, tiny) -> None:
    # E3 (SCM, a key role) is on 120% of every target every month and her surveys and 360 ratings are in by
    # September, so her composite to date is the final one: the indicative bonus is the year-end bonus, split
    # by the deferral rule: 40% deferred, rounded half-up to the cent, the rest paid now
    final = person(statement_contents(policy, tiny), "E3")
    e3 = person(statement_contents(policy, tiny, period="2025Q3"), "E3")
    assert e3["bonus_paid"] == 0 and e3["bonus_deferred"] == 0  # nothing of it is paid to date
    assert e3["bonus_indicative_paid"] == final["bonus_paid"]
    assert e3["bonus_indicative_deferred"] == final["bonus_deferred"] > 0
    assert approx_cents(e3["bonus_indicative_paid"] + e3["bonus_indicative_deferred"], e3["bonus_indicative"])
    assert approx_cents(e3["bonus_indicative_deferred"], round(0.4 * e3["bonus_indicative"] + 1e-9, 2))
    text = visible_text(render_statements(statement_contents(policy, tiny, period="2025Q3", lang="en"), policy)["E3"])
    assert f"{e3['bonus_indicative_paid']:,.2f} paid now" in text
    assert f"{e3['bonus_indicative_deferred']:,.2f} deferred" in text


def test_latest_interim_period_follows_the_feedback_frequency() -> None:
    from compkit.feedback import latest_period

    months = [f"2025-{m:02d}" for m in range(1, 9)]  # data through August
    assert latest_period("monthly", months) == "2025-08"
    assert latest_period("quarterly", months) == "2025Q2"  # July and August do not complete Q3
    assert latest_period("quarterly", months[:2]) == "2025-02"  # no quarter complete yet: the latest month
    assert latest_period("quarterly", [f"2025-{m:02d}" for m in range(1, 13)]) == "2025Q4"


def test_statement_shows_net_pay_by_month_and_the_bonus_tax(policy, tiny) -> None:
    st = statement_contents(policy, tiny)
    # January for E1 (tests/test_tax.py): gross 16,600, contributions 1,662.50, tax 298.13, net 14,639.37
    jan = st.net[(st.net["employee_id"] == "E1") & (st.net["period"] == "2025-01")].iloc[0]
    assert (jan["gross"], jan["contributions"], jan["tax_withheld"], jan["net_pay"]) == (
        16600.0, 1662.5, 298.13, 14639.37)
    e1 = st.people.set_index("employee_id").loc["E1"]
    assert e1["net_bonus"] == round(e1["bonus_paid"] - e1["bonus_tax"], 2)
    # the months add up to the year: total cash − contributions − tax
    months = st.net[st.net["employee_id"] == "E1"]
    assert round(months["net_pay"].sum(), 2) == round(
        e1["total_cash"] - e1["employee_contributions"] - months["tax_withheld"].sum(), 2)


# ---------------------------------------------------------------------------- statement file names


def test_statement_file_names_are_unique_by_construction() -> None:
    from compkit.feedback import statement_file_names

    names = statement_file_names(["a/b", "a_b", "张001", "李001", "E1", "e1", "x" * 300, "..", "ok-1"])
    assert len(set(n.lower() for n in names.values())) == len(names)
    assert names["a_b"] == "a_b.html" and names["a/b"].startswith("a_b-") and names["ok-1"] == "ok-1.html"
    assert names["张001"] != names["李001"] and names["张001"] == "张001.html"
    assert names["E1"].startswith("E1-") and names["e1"].startswith("e1-")  # case-insensitive disks
    assert len(names["x" * 300].encode()) < 100 and names[".."].endswith(".html") and "/" not in "".join(names.values())


def test_colliding_ids_get_one_statement_each(tmp_path: Path) -> None:
    """Issue 16, row 5: ids a/b and a_b wrote the same file; the command said 3 statements for 4 people."""
    tables = tiny_tables()
    ids = {"E1": "a/b", "E2": "a_b", "E3": "张001", "E4": "李001"}
    for df in tables.values():
        for col in ("employee_id", "rater_id"):
            if col in df:
                df[col] = df[col].replace(ids)
    from conftest import write_tables

    data = write_tables(tables, tmp_path / "data")
    written = write_statements(POLICY_2025, data, tmp_path / "st")
    pages = [p for p in written if p.suffix == ".html"]
    assert len(pages) == 4 and len({p.name for p in pages}) == 4
    texts = {p.name: p.read_text(encoding="utf-8") for p in pages}
    assert sum("Li Na" in t for t in texts.values()) == 1 and sum("Wang Wei" in t for t in texts.values()) == 1


# ------------------------------------------------------------------- publication that cannot be joined back


def test_published_results_are_k_anonymous(bank_policy, sample) -> None:
    """Issue 16, row 6: branch + position + score identified over 900 of 1,000 people in results.csv."""
    policy = bank_policy  # the sample's policy
    from compkit.privacy import WITHHELD

    st = statement_contents(policy, sample)
    results = published_results(st, policy, KEY)["results"]
    k = policy.publication.min_group
    quasi = [c for c in results.columns if c != "person"]
    sizes = results.groupby(quasi)["person"].transform("size")
    withheld = (results[quasi] == WITHHELD).all(axis=1)
    assert ((sizes >= k) | withheld).all()
    assert withheld.mean() <= 0.1
    # the attack of the issue: join the evaluate output on what the list shows; nobody is singled out
    people = st.people[st.people["composite"].notna()]
    level = quasi[0] if quasi[0] in ("branch", "region") else None
    keys = ([level] if level else []) + ["grade_title", "rating"]
    known = people[keys].astype(str).rename(columns={"grade_title": "position"})
    known["rating"] = known["rating"].map(policy.ratings.names)  # published by name (优秀 ...)
    shown = results[quasi][~withheld.to_numpy()]
    matches = known.merge(shown.value_counts().rename("n").reset_index(), how="inner",
                          on=[c if c != "grade_title" else "position" for c in keys])
    assert len(matches) and (matches["n"] >= k).all()


def test_tiny_publication_withholds_what_it_cannot_hide(policy, tiny) -> None:
    from compkit.privacy import WITHHELD

    st = statement_contents(policy, tiny)
    results = published_results(st, policy, KEY)["results"]
    assert len(results) == st.people["composite"].notna().sum()
    assert list(results.columns) == ["person", "position", "rating"] or list(results.columns) == ["person", "rating"]
    assert (results.drop(columns="person") == WITHHELD).all().all()  # 4 people: nothing can be shown


def test_pseudonyms_change_every_cycle_and_statements_show_their_own(tmp_path: Path, tiny_dir: Path,
                                                                     monkeypatch) -> None:
    from compkit.feedback import publication_pseudonyms

    assert publication_pseudonyms(["E1"], KEY, "2025")[0] != publication_pseudonyms(["E1"], KEY, "2026")[0]
    assert publication_pseudonyms(["E1"], KEY, "2025")[0] != pseudonyms(["E1"], KEY)[0]
    monkeypatch.setenv("COMPKIT_PSEUDONYM_KEY", KEY.decode())
    write_statements(POLICY_2025, tiny_dir, tmp_path / "st", publish=tmp_path / "pub")
    published = set(pd.read_csv(tmp_path / "pub" / "results.csv")["person"])
    own = publication_pseudonyms(["E1"], KEY, "2025")[0]
    assert own in published
    text = visible_text((tmp_path / "st" / "E1.html").read_text(encoding="utf-8"))
    assert own in text and "结果公示" in text


# ------------------------------------------------------------------------------- net pay on the statement


def _net_rows(page: str) -> list[list[str]]:
    """The cells of each row of the statement's net-pay-by-month table (class netm), as shown."""
    table = re.search(r'<table class="netm">(.*?)</table>', page, re.S).group(1)
    return [[visible_text(c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)]


def test_statement_shows_net_pay_per_month_from_the_net_table_to_the_cent(policy, tiny) -> None:
    from compkit.engine import evaluate

    out = evaluate(policy, tiny)
    st = statement_contents(policy, tiny, outcomes=out)  # Chinese by default
    page = render_statements(st, policy)["E1"]
    net = out.net[out.net["employee_id"].astype(str) == "E1"]
    rows = _net_rows(page)
    assert rows[0] == ["月份", "应发工资", "绩效奖金", "养老保险", "医疗保险", "失业保险", "住房公积金",
                       "累计应纳税所得额", "代扣个人所得税", "实发工资"]
    cols = ["gross", "bonus_paid", "employee_pension", "employee_medical", "employee_unemployment",
            "employee_housing_fund", "taxable_income_cumulative", "tax_withheld", "net_pay"]
    for shown, (_, r) in zip(rows[1:-1], net.iterrows(), strict=True):
        assert shown == [f"{int(r['period'][:4])}年{int(r['period'][5:])}月"] + [f"{r[c]:,.2f}" for c in cols]
    # January by hand: 16,600 − (760 + 190 + 47.50 + 665) − 298.13 = 14,639.37
    assert rows[1][1] == "16,600.00" and rows[1][-2:] == ["298.13", "14,639.37"]
    # the totals are the sums of the months shown (the cumulative taxable income has no total)
    assert rows[-1] == ["合计", "144,700.00", "27,719.64", "9,120.00", "2,280.00", "570.00", "7,980.00", "",
                        "4,786.59", f"{round(net['net_pay'].sum(), 2):,.2f}"]
    text = visible_text(page)
    # net pay at the top, before the results: 147,683.05 = wages after contributions and tax 120,795.00
    # + bonus after tax 26,888.05 (27,719.64 − 831.59: 27,719.64 / 12 = 2,309.97 -> 3%, 831.5892 -> 831.59)
    assert round(net["net_pay"].sum(), 2) == 147_683.05
    top = text.index("本考核期到手收入")
    assert top < text.index("您的考核结果") and "147,683.05 元" in text[top:top + 200]
    assert "工资（扣除个人缴费和个人所得税后）120,795.00 元，绩效奖金（税后）26,888.05 元" in text
    assert "2025年12月实发35,431.80 元" in text
    # the bonus and its tax; separate 3,955 + 831.59 = 4,786.59 against combined (64,750 + 27,719.64) x 10%
    # − 2,520 = 6,726.96: separate is lower by 6,726.96 − 4,786.59 = 1,940.37
    assert "奖金的个人所得税 831.59" in text and "税后奖金 26,888.05" in text
    assert "全年一次性奖金单独计税" in text and "少1,940.37 元" in text
    for english in ("Net pay", "Gross pay", "Bonus after tax"):
        assert english not in text, english


def test_net_pay_in_english_and_to_date(policy, tiny) -> None:
    text = visible_text(render_statements(statement_contents(policy, tiny, lang="en"), policy)["E1"])
    assert "Net pay for the cycle, paid into your bank account (January 2025 to December 2025): CNY 147,683.05" \
        in text and "Net pay by month" in text and "Income tax on the bonus 831.59" in text
    st = statement_contents(policy, tiny, period="2025Q3", lang="en")
    page = render_statements(st, policy)["E3"]
    rows = _net_rows(page)
    assert [r[0] for r in rows[1:-1]] == [f"{m} 2025" for m in ("January", "February", "March", "April", "May",
                                                                 "June", "July", "August", "September")]
    months = st.net[st.net["employee_id"] == "E3"]
    assert rows[-1][-1] == f"{round(months['net_pay'].sum(), 2):,.2f}"
    text = visible_text(page)
    assert "Net pay to date" in text and "Performance bonus and its tax" not in text  # no bonus paid to date


def test_the_bonus_treatment_sentence_and_the_cliff_by_hand() -> None:
    from compkit.feedback import _net_context

    months = pd.DataFrame({"period": ["2025-12"], "gross": [10_000.0], "bonus_paid": [36_001.0],
                           "employee_pension": [800.0], "taxable_income_cumulative": [4_200.0],
                           "tax_withheld": [3_516.10], "net_pay": [41_684.90]})
    # 36,001 separately: 36,001 / 12 = 3,000.08 -> 10%, 3,600.10 − 210 = 3,390.10; nets less than 36,000 would
    # (36,000 − 1,080 = 34,920) up to X: X − (0.1 X − 210) = 34,920 -> X = 38,566.67
    rec = {"bonus_paid": 36_001.0, "bonus_tax": 3_390.10, "net_bonus": 32_610.90, "bonus_treatment": "separate",
           "tax_separate": 3_516.10, "tax_combined": 3_516.10 + 500, "bonus_in_avoid_range": True,
           "bonus_cliff": 36_000.0, "bonus_avoid_to": 38_566.67}
    ctx = _net_context(months, rec, False, "zh-CN")
    assert ctx["bonus"]["net_wages"] == 41_684.90 - 32_610.90
    assert "少500.00 元" in ctx["bonus"]["why"]
    assert ctx["bonus"]["cliff"].startswith("您的奖金略高于36,000.00 元") and "38,566.67 元" in ctx["bonus"]["cliff"]
    forced = dict(rec, bonus_treatment="combined", bonus_in_avoid_range=False)  # policy combined, costlier
    assert "将少500.00 元" in _net_context(months, forced, False, "zh-CN")["bonus"]["why"]
    cheaper = dict(forced, tax_combined=3_516.10 - 250.5)
    assert "比单独计税少250.50 元" in _net_context(months, cheaper, False, "zh-CN")["bonus"]["why"]
    assert _net_context(months, dict(rec, tax_combined=3_516.10), False, "en")["bonus"]["why"].startswith("Both")


def test_a_second_half_year_statement_says_why_the_bonus_is_taxed_with_wages(policy, tmp_path) -> None:
    from conftest import write_tables

    from compkit.data import load_dataset
    from compkit.engine import evaluate

    half = policy.updated({"cycle": "half-year"})
    folder = write_tables(tiny_tables(), tmp_path / "year")
    h1 = evaluate(half, load_dataset(folder, policy=half, cycle="2025H1")).tax.set_index("employee_id")
    assert h1.loc["E3", "bonus_treatment"] == "separate"  # E3's June bonus used the once-a-year treatment
    st = statement_contents(half, load_dataset(folder, policy=half))  # 2025H2
    page = render_statements(st, half)["E3"]
    text = visible_text(page)
    assert "本考核期到手收入（2025年7月至2025年12月" in text
    earlier = f"{h1.loc['E3', 'bonus_paid']:,.2f}"
    assert f"全年一次性奖金单独计税每年只能使用一次，已用于今年早些时候发放的{earlier} 元奖金" in text
    # July's cumulative taxable income carries on from June's (H1's tax table)
    e3 = st.net[st.net["employee_id"] == "E3"]
    assert _net_rows(page)[1][-3] == f"{e3['taxable_income_cumulative'].iloc[0]:,.2f}"
    assert e3["taxable_income_cumulative"].iloc[0] > h1.loc["E3", "withholding_income"] - \
        h1.loc["E3", "withholding_deductions"] - 6 * 5000


def test_the_deferred_pay_shows_its_estimated_tax(policy, tiny) -> None:
    st = statement_contents(policy, tiny)
    e3 = person(st, "E3")
    # E3 (key role) defers 26,647.92 in three parts of 8,882.64 (2026-2028), each taxed as that year's annual
    # bonus: 8,882.64 / 12 = 740.22 -> 3%: 266.4792 -> 266.48; 3 x 266.48 = 799.44
    assert e3["deferred_bonus_tax"] == 799.44
    text = visible_text(render_statements(st, policy)["E3"])
    assert "递延薪酬在实际发放的年度计缴个人所得税" in text and "合计约799.44 元" in text
    assert "递延薪酬在实际发放的年度" not in visible_text(render_statements(st, policy)["E1"])  # nothing deferred


def test_statements_workbook_headers_in_english(tmp_path: Path, tiny_dir: Path) -> None:
    from compkit import headers
    from compkit.data import load_dataset
    from compkit.policy import load_policy

    out = tmp_path / "private" / "statements"
    write_statements(POLICY_2025, tiny_dir, out, lang="en")
    sheets = pd.read_excel(out / "statements.xlsx", sheet_name=None)
    assert set(sheets) == {"Results and pay", "Indicators", "Feedback", "Commission lines", "Deferral schedule",
                           "Net pay by month"}
    assert list(sheets["Feedback"].columns) == ["Employee ID", "Kind", "Order", "Indicator", "Text"]
    assert "Share of peers scoring lower" in sheets["Indicators"].columns
    # every column of every section has its own header (none falls back to the code's words)
    st = statement_contents(load_policy(POLICY_2025), load_dataset(tiny_dir, policy=load_policy(POLICY_2025)))
    from compkit.feedback import WORKBOOK_COLUMNS

    codes = {WORKBOOK_COLUMNS.get(name, {}).get(c, c) for name in st.TABLES for c in getattr(st, name).columns} \
        | set(st.plans.columns) | {"pseudonym"}
    assert headers.column_label("line", "zh-CN") == "业务条线"  # the employees' business line, as before
    assert sorted(c for c in codes if c not in headers.COLUMNS and not c.startswith("allowance_")) == []


def test_indicators_that_do_not_apply_are_left_out(bank_policy, sample) -> None:
    """A retail manager is not scored on loans, FTP profit or the team leaders' indicators (weight 0 on the retail
    scorecard): none of them is on the statement, in the workbook or among the peers compared."""
    st = statement_contents(bank_policy, sample, lang="zh-CN")
    assert (st.indicators["weight"] > 0).all()
    retail = sample.employees.loc[sample.employees["line"].astype(str) == "零售", "employee_id"].astype(str)
    eid = retail.iloc[0]
    mine = st.indicators[st.indicators["employee_id"] == eid]
    assert not {"loans_balance", "ftp_profit", "team_deposits", "team_fee_income"} & set(mine["indicator"])
    assert {"deposits_adb", "fee_income", "loyalty"} <= set(mine["indicator"])
    pages = render_statements(st, bank_policy)
    html = pages[eid]
    assert "贷款余额" not in html and "FTP利润" not in html and "团队日均存款" not in html
    weights = re.findall(r'<td class="n">([^<]*%)</td></tr>', html)  # the last cell of a row: a weight
    assert weights and not [w for w in weights if float(w.rstrip("%")) == 0]
    # no retail manager's statement shows an indicator at 0%
    assert not [e for e in retail if re.search(r'<td class="n">0(\.0)?%</td></tr>', pages[e])]


def test_english_salary_review_by_steps_is_all_english(bank_policy, sample) -> None:
    st = statement_contents(bank_policy, sample, lang="en")
    steps = st.people.loc[st.people["salary_review"].str.contains(" -> step "), "salary_review"]
    assert len(steps) > 0
    assert not steps.str.contains(r"[\u4e00-\u9fff]", regex=True).any(), steps.iloc[0]  # no 档 or other Chinese
    assert steps.str.contains(r"step \d+ -> step \d+ \([+-]\d+ steps?\)", regex=True).all()
    zh = statement_contents(bank_policy, sample, lang="zh-CN").people["salary_review"]
    assert zh.str.contains(r"由第\d+档调至第\d+档", regex=True).any()


def test_pages_are_the_same_whatever_the_workers(bank_policy, sample, tmp_path: Path) -> None:
    """The sample's 1,000 statements written by one process and by two (forked workers, ranges of people): the
    same files, byte for byte, and the same as render_statements gives."""
    from compkit.feedback import StatementPages, statement_file_names, write_pages

    st = statement_contents(bank_policy, sample)
    pages = StatementPages(st, bank_policy)
    names = statement_file_names(pages.ids)
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    hashes_one: dict[str, str] = {}
    hashes_two: dict[str, str] = {}
    assert write_pages(pages, names, one, workers=1, hashes=hashes_one) == len(st.people) == 1000
    assert write_pages(pages, names, two, workers=2, hashes=hashes_two) == 1000
    files = sorted(p.name for p in one.iterdir())
    assert files == sorted(p.name for p in two.iterdir()) and len(files) == 1000
    assert all((one / f).read_bytes() == (two / f).read_bytes() for f in files)
    # the workers' hashes (for the folder's manifest) are those of the files on the disk
    from compkit.fingerprint import file_sha256

    assert sorted(hashes_one) == sorted(hashes_two) == files
    assert hashes_one == hashes_two == {f: file_sha256(one / f) for f in files}
    # a range of people renders as the whole does (pages cut from the sorted section tables)
    whole = render_statements(st, bank_policy)
    assert dict(pages.render(400, 410)) == {e: whole[e] for e in pages.ids[400:410]}
    assert (one / names[pages.ids[7]]).read_text(encoding="utf-8") == whole[pages.ids[7]]


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_template_with_its_messages_translated_in_place_writes_the_same_pages(bank_policy, sample, lang) -> None:
    """The statement template is compiled with its messages already translated (feedback.translated_source: no
    ``_`` call per message and page); the pages are the same, byte for byte, as the template as written gives with
    its ``_`` (the translation as markup, values escaped, %% as %)."""
    from compkit import feedback, i18n

    st = statement_contents(bank_policy, sample, lang=lang)
    pages = feedback.StatementPages(st, bank_policy)
    template, css, gettext = feedback._statement_template(lang)
    assert "_(" in i18n.environment(lang).loader.get_source(i18n.environment(lang), "statement.html.j2")[0]
    as_written = i18n.environment(lang).get_template("statement.html.j2")
    chunk = feedback._Chunk(pages, 0, 60)
    for k, eid in enumerate(pages.ids[:60]):
        context = feedback.statement_context(st, bank_policy, eid, lang, chunk.parts(k))
        assert template.render(base_css=css, _=gettext, **context) == \
            as_written.render(base_css=css, _=gettext, **context)


def test_translated_source_worked_examples() -> None:
    """Each message becomes its translation; %(name)s the value's expression; %% a %; a message with another %
    form, a line break or template syntax in its translation, or arguments that are not name=value, stays a call."""
    from compkit.feedback import translated_source

    words = {"Name": "姓名", "for %(name)s only": "仅限%(name)s", "%(pct)s%% done": "完成%(pct)s%%",
             "odd %(n)d": "奇%(n)d", "two\nlines": "两\n行", "brace": "{{ x }}"}
    source = ('<th>{{ _("Name") }}</th>{{ _("for %(name)s only", name=p.name|upper) }}'
              '{{ _("%(pct)s%% done", pct=f(1, 2)) }}{{ _("odd %(n)d", n=3) }}{{ _("two\\nlines") }}'
              '{{ _("brace") }}{{ _(title) }}{{ _("Name", 5) }}')
    assert translated_source(source, lambda m: words.get(m, m)) == (
        '<th>姓名</th>仅限{{ p.name|upper }}完成{{ f(1, 2) }}%{{ _("odd %(n)d", n=3) }}{{ _("two\\nlines") }}'
        '{{ _("brace") }}{{ _(title) }}{{ _("Name", 5) }}')


def test_final_contents_from_the_tables_the_statements_read(bank_policy, sample) -> None:
    """write_statements evaluates, then keeps only the tables the statements read (feedback.statement_inputs:
    sales, metrics, ratings ... emptied) before working out the contents: the same contents as from the whole
    dataset. The commission lines' text columns are categorical (a few texts over many lines), the same texts."""
    from compkit.engine import evaluate
    from compkit.feedback import Statements, statement_inputs

    whole = statement_contents(bank_policy, sample)
    slim = statement_inputs(sample)
    assert len(slim.sales) == len(slim.metrics) == len(slim.ratings) == 0 and len(slim.employees) == 1000
    part = statement_contents(bank_policy, slim, outcomes=evaluate(bank_policy, sample))
    # the statements ask the engine for the Outcomes tables they read only (no compliance checks, no leavers)
    from compkit.feedback import STATEMENT_OUTCOMES

    some = statement_contents(bank_policy, slim, outcomes=evaluate(bank_policy, sample, tables=STATEMENT_OUTCOMES))
    for name in (*Statements.TABLES, "plans", "satisfaction"):
        pd.testing.assert_frame_equal(getattr(part, name), getattr(some, name))
    for name in (*Statements.TABLES, "plans", "satisfaction"):
        pd.testing.assert_frame_equal(getattr(whole, name), getattr(part, name))
    lines = whole.commission
    assert isinstance(lines["remark"].dtype, pd.CategoricalDtype) and lines["employee_id"].nunique() > 900
    assert set(lines["line"].astype(str)) <= {"payment", "clawback"}
    assert (lines["month"].astype(str).str.fullmatch(r"2025年\d{1,2}月")).all()


def test_reasons_worded_once_per_form_read_as_worded_one_by_one(bank_policy, sample) -> None:
    """feedback._plain_reason words each form of the reasons once (figures set aside) and gives each text its own
    figures back: the same words as wording every text by itself (codes -> titles, composite -> overall score,
    i18n.engine_text), here for the sample's promotion and salary-review reasons in both languages. Worked example:
    two salary reviews of one form keep their own steps (第2档 -> 第3档, 第4档 -> 第5档); a reason that is, figure
    and all, a message of the catalog ('Gain more than 1%' -> 增加超过1%) is still found there, while the same
    words with another figure are not in the catalog and stay as written."""
    from compkit import i18n
    from compkit.engine import evaluate
    from compkit.feedback import _names, _plain_reason

    out = evaluate(bank_policy, sample)
    for lang in ("zh-CN", "en"):
        ind, _p, grades = _names(bank_policy, lang)
        titles = {**grades, **ind}
        for reasons in (out.promotions["reason"], out.salary_review["reason"]):
            texts = reasons.astype(str).tolist()
            expected = []
            for t in texts:
                for code, title in titles.items():
                    t = re.sub(rf"\b{re.escape(code)}\b", lambda m, title=title: title, t)
                expected.append(i18n.engine_text(t.replace("composite", "overall score"), lang,
                                                 bank_policy.ratings.names))
            got = _plain_reason(reasons, bank_policy, lang)
            assert got.tolist() == expected and got.index.equals(reasons.index)
    got = _plain_reason(pd.Series(["rating C: step 2 -> step 3 (+1 step)", "rating C: step 4 -> step 5 (+1 step)",
                                   "Gain more than 1%", "Gain more than 2%"]), bank_policy, "zh-CN").tolist()
    assert got == ["评级称职：由第2档调至第3档（+1档）", "评级称职：由第4档调至第5档（+1档）", "增加超过1%",
                   "Gain more than 2%"]


def test_positions_of_employee_ids_in_the_people_table() -> None:
    """StatementPages finds each section row's person with Arrow's look-up: the position in the people's ids,
    NaN for an id not there or missing, the same for text, object and categorical columns (as the index
    look-up of ``astype(str)`` it replaces)."""
    import pyarrow as pa

    from compkit.feedback import _positions

    ids = ["E1", "E2", "E3", "10"]
    values = ["E3", "E9", None, "E1", "E3", "10"]
    expected = pd.Series(np.arange(4), index=ids).reindex(pd.Series(values, dtype=object).astype(str)).to_numpy()
    np.testing.assert_array_equal(expected, [2, np.nan, np.nan, 0, 2, 3])
    for dtype in ("str", object, "category"):
        got = _positions(pd.Series(values, dtype=dtype), pa.array(ids))
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(_positions(pd.Series([10, 3]), pa.array(ids)), [3, np.nan])  # numbers as text


def test_peer_groups_are_the_grade_and_indicator_pairs() -> None:
    """peer_standing's groups found on codes (every person has a grade) are the (grade, indicator) pairs of texts:
    the same peers and standings as grouping the texts themselves, also with a categorical indicator and ids
    given as numbers; a person without a grade leaves the texts' grouping in place (no group for that row)."""
    from compkit.feedback import _peer_groups

    rng = np.random.default_rng(5)
    n = 400
    ind = pd.DataFrame({"employee_id": rng.integers(0, 60, n).astype(str),
                        "indicator": pd.Categorical(rng.choice(["a", "b", "c"], n)),
                        "score": np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, 120, n).astype(float))})
    grade = pd.Series(rng.choice(["CM1", "CM2", "SCM"], 60), index=[str(i) for i in range(60)])
    texts = [ind["employee_id"].map(grade).to_numpy(), ind["indicator"].astype(str).to_numpy()]
    expected = ind["score"].groupby(texts, sort=False)
    out = peer_standing(ind, grade)
    np.testing.assert_array_equal(out["peers"], expected.transform("count").astype("int64"))
    rank = expected.rank(method="min").to_numpy()
    peers = out["peers"].to_numpy()
    share = np.where((peers >= 5) & ind["score"].notna().to_numpy(), (rank - 1) / (peers - 1), np.nan)
    np.testing.assert_array_equal(out["share_below"], share)
    codes = _peer_groups(ind, grade)
    assert isinstance(codes, np.ndarray)
    pairs = pd.Series(list(zip(*texts)))
    assert (pd.Series(codes).groupby(pairs).nunique() == 1).all() and (pairs.groupby(codes).nunique() == 1).all()
    assert isinstance(_peer_groups(ind, grade.iloc[1:]), list)  # a person without a grade: the texts
