"""compkit.excel: no live formulas in any workbook or CSV compkit writes (issue 16, row 3)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import POLICY_2025, tiny_tables, write_tables
from openpyxl import load_workbook

from compkit.cli import main
from compkit.excel import neutralise, neutralise_frame, write_csv, write_workbook

PAYLOAD = '=HYPERLINK("http://x","click")'


@pytest.mark.parametrize("text, expected", [
    (PAYLOAD, "'" + PAYLOAD), ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"), ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"),
    ("Li Na", "Li Na"), ("-300000.0", "-300000.0"), ("+3", "+3"), ("1e5", "1e5"), ("", ""),
])
def test_neutralise(text: str, expected: str) -> None:
    assert neutralise(text) == expected


def test_numbers_are_untouched() -> None:
    df = pd.DataFrame({"amount": [-5.0, 3.25], "n": [-1, 2], "name": ["=1+1", "ok"]})
    out = neutralise_frame(df)
    assert out["amount"].tolist() == [-5.0, 3.25] and out["n"].tolist() == [-1, 2]
    assert out["name"].tolist() == ["'=1+1", "ok"]
    assert df["name"].tolist() == ["=1+1", "ok"]  # the input is not modified


def test_workbook_cells_are_never_formulas(tmp_path: Path) -> None:
    df = pd.DataFrame({"name": [PAYLOAD, "Li Na"], "branch": pd.Categorical(["@x", "Pudong"]), "pay": [-1.0, 2.0],
                       PAYLOAD: [1, 2]})
    path = write_workbook({"people": df}, tmp_path / "x.xlsx")
    ws = load_workbook(path)["people"]
    cells = [c for row in ws.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    assert ws["A2"].value == "'" + PAYLOAD and ws["B2"].value == "'@x" and ws["C2"].value == -1
    assert ws["D1"].value == "'" + PAYLOAD


def test_csv_cells_are_neutralised(tmp_path: Path) -> None:
    path = write_csv(pd.DataFrame({"name": [PAYLOAD, "-x"], "v": [-1.5, 2]}), tmp_path / "a.csv")
    back = pd.read_csv(path)
    assert back["name"].tolist() == ["'" + PAYLOAD, "'-x"] and back["v"].tolist() == [-1.5, 2]


@pytest.fixture()
def poisoned(tmp_path: Path) -> Path:
    tables = tiny_tables()
    emp = tables["employees"]
    emp.loc[0, "name"] = PAYLOAD
    emp["branch"] = PAYLOAD  # everyone in the one branch
    return write_tables(tables, tmp_path / "data")


def _no_formulas(book: Path) -> int:
    wb = load_workbook(book)
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells), book
    return sum(1 for c in cells if c.value == "'" + PAYLOAD)


def test_evaluate_statements_and_publication_write_no_formula(poisoned: Path, tmp_path: Path,
                                                               monkeypatch) -> None:
    monkeypatch.setenv("COMPKIT_PSEUDONYM_KEY", "test-key-0123456789abcdef")
    book = tmp_path / "results.xlsx"
    assert main(["evaluate", "--policy", str(POLICY_2025), "--data", str(poisoned), "--out", str(book)]) == 0
    assert _no_formulas(book) > 0
    folder = tmp_path / "results"
    assert main(["evaluate", "--policy", str(POLICY_2025), "--data", str(poisoned), "--out", str(folder)]) == 0
    st, pub = tmp_path / "st", tmp_path / "pub"
    assert main(["statements", "--policy", str(POLICY_2025), "--data", str(poisoned), "--out", str(st),
                 "--publish", str(pub)]) == 0
    assert _no_formulas(st / "statements.xlsx") > 0
    for csv in [*folder.glob("*.csv"), *pub.glob("*.csv")]:
        text = csv.read_text(encoding="utf-8")
        for line in text.splitlines():
            for cell in line.split(","):
                assert not cell.lstrip('"').startswith(("=", "@")), (csv.name, cell)
    summary = pd.read_csv(folder / "summary.csv")
    assert (summary["branch"] == "'" + PAYLOAD).all()
