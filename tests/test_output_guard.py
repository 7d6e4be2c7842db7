"""compkit.atomic: compkit replaces or deletes only what it wrote (issue 16, rows 1 and 9).

Each case is run through the command line on copies of the tiny dataset, as a careless user would type it."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import POLICY_2025, POLICY_2026, tiny_tables, write_tables

from compkit.atomic import (
    MARKER,
    OutputError,
    check_output,
    read_marker,
    replace_folder,
    staging_folder,
    sweep_temporaries,
)
from compkit.cli import main


@pytest.fixture()
def work(tmp_path: Path) -> Path:
    """A working folder as a user has it: the data, a copy of the policies and a notes file."""
    w = tmp_path / "w"
    write_tables(tiny_tables(), w / "data")
    (w / "policies").mkdir()
    shutil.copy(POLICY_2025, w / "policies" / "2025.yaml")
    shutil.copy(POLICY_2026, w / "policies" / "2026.yaml")
    (w / "notes.txt").write_text("my notes", encoding="utf-8")
    return w


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def run(capsys, *argv: str, lang: str = "en") -> tuple[int, str]:
    """Run a command in ``lang`` (English here, so that the refusals below read as in the code; the Chinese
    default is checked in test_refusals_read_in_chinese_by_default)."""
    code = main([*argv, "--lang", lang] if lang else list(argv))
    err = capsys.readouterr().err
    return code, err


def test_statements_never_replace_the_data_or_its_parent(work: Path, capsys) -> None:
    before = snapshot(work)
    pol = str(work / "policies" / "2025.yaml")
    for out, words in [(work / "data", "is the data"), (work, "contains the data"),
                       (work / "data" / "st", "lies inside the data"),
                       (work / "policies", "contains the policy file")]:
        code, err = run(capsys, "statements", "--policy", pol, "--data", str(work / "data"), "--out", str(out))
        assert code == 1 and words in err, (out, err)
        assert err.count("\n") == 1  # one line
    assert snapshot(work) == before  # the data, the policies and the notes are all still there


def test_review_refuses_an_out_holding_foreign_files(work: Path, tmp_path: Path, capsys) -> None:
    reports = tmp_path / "reports"
    (reports / "2024").mkdir(parents=True)
    (reports / "2024" / "index.html").write_text("last year's report")
    base = ["review", "--year", "2025", "--policy", str(work / "policies" / "2025.yaml"),
            "--candidate", str(work / "policies" / "2026.yaml"), "--data", str(work / "data")]
    code, err = run(capsys, *base, "--out", str(work))
    assert code == 1 and "contains the data" in err
    code, err = run(capsys, *base, "--out", str(reports))
    assert code == 1 and "holding files compkit did not write" in err
    assert (reports / "2024" / "index.html").read_text() == "last year's report"
    code, err = run(capsys, *base, "--out", str(work / "policies" / "2026.yaml"))
    assert code == 1 and "is the candidate file" in err


def test_publish_inside_or_equal_to_out_is_refused(work: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COMPKIT_PSEUDONYM_KEY", "test-key-0123456789abcdef")
    out = work.parent / "private" / "st"
    base = ["statements", "--policy", str(work / "policies" / "2025.yaml"), "--data", str(work / "data"),
            "--out", str(out)]
    for pub, words in [(out, "is the --publish folder"), (out / "pub", "contains the --publish folder"),
                       (out.parent, "lies inside the --publish folder")]:
        code, err = run(capsys, *base, "--publish", str(pub))
        assert code == 1 and words in err, err
    assert not out.exists()
    assert run(capsys, *base, "--publish", str(work.parent / "pub"))[0] == 0
    assert read_marker(out)["command"] == "statements" and read_marker(work.parent / "pub")["command"] == "publish"


def test_an_existing_file_at_out_is_refused_and_kept(work: Path, capsys) -> None:
    target = work.parent / "statements"
    target.write_text("not a folder")
    code, err = run(capsys, "statements", "--policy", str(work / "policies" / "2025.yaml"), "--data",
                    str(work / "data"), "--out", str(target))
    assert code == 1 and "is an existing file" in err
    assert target.read_text() == "not a folder"
    assert [p.name for p in work.parent.iterdir() if p.name.startswith(".")] == []  # nothing moved aside


def test_only_a_marked_folder_of_the_same_command_is_replaced(work: Path, capsys) -> None:
    pol, data = str(work / "policies" / "2025.yaml"), str(work / "data")
    out = work.parent / "st"
    assert run(capsys, "statements", "--policy", pol, "--data", data, "--out", str(out))[0] == 0
    marker = json.loads((out / MARKER).read_text(encoding="utf-8"))
    assert marker["command"] == "statements" and "E1.html" in marker["files"] and marker["time"]
    assert run(capsys, "statements", "--policy", pol, "--data", data, "--out", str(out))[0] == 0  # its own: ok
    code, err = run(capsys, "evaluate", "--policy", pol, "--data", data, "--out", str(out))
    assert code == 1 and "holds the output of 'compkit statements'" in err
    (out / MARKER).unlink()
    code, err = run(capsys, "statements", "--policy", pol, "--data", data, "--out", str(out))
    assert code == 1 and "compkit did not write" in err


def test_evaluate_workbook_and_folder(work: Path, capsys) -> None:
    pol, data = str(work / "policies" / "2025.yaml"), str(work / "data")
    book = work.parent / "results.xlsx"
    assert run(capsys, "evaluate", "--policy", pol, "--data", data, "--out", str(book))[0] == 0
    assert run(capsys, "evaluate", "--policy", pol, "--data", data, "--out", str(book))[0] == 0  # its own
    foreign = work.parent / "budget.xlsx"
    foreign.write_bytes(b"someone's workbook")
    code, err = run(capsys, "evaluate", "--policy", pol, "--data", data, "--out", str(foreign))
    assert code == 1 and "a file compkit did not write" in err and foreign.read_bytes() == b"someone's workbook"
    # the evaluate CSV folder used to be merged into whatever folder was named: now refused unless compkit's
    code, err = run(capsys, "evaluate", "--policy", pol, "--data", data, "--out", str(work / "data" / "out"))
    assert code == 1 and "lies inside the data" in err
    code, err = run(capsys, "evaluate", "--policy", pol, "--data", data, "--out", str(work / "policies"))
    assert code == 1
    folder = work.parent / "results"
    assert run(capsys, "evaluate", "--policy", pol, "--data", data, "--out", str(folder))[0] == 0
    assert read_marker(folder)["command"] == "evaluate" and (folder / "summary.csv").exists()


def test_sample_never_overwrites_real_data(work: Path, capsys) -> None:
    before = snapshot(work / "data")
    code, err = run(capsys, "sample", "--managers", "20", "--out", str(work / "data"))
    assert code == 1 and "compkit did not write" in err
    assert snapshot(work / "data") == before
    fresh = work.parent / "s"
    assert run(capsys, "sample", "--managers", "20", "--out", str(fresh))[0] == 0
    (fresh / "README.md").write_text("about this sample")
    assert run(capsys, "sample", "--managers", "20", "--seed", "3", "--out", str(fresh))[0] == 0
    assert (fresh / "README.md").read_text() == "about this sample"  # a sample keeps files it did not write


def test_appeal_out_guard(work: Path, capsys) -> None:
    pol, data = str(work / "policies" / "2025.yaml"), str(work / "data")
    code, err = run(capsys, "appeal", "--policy", pol, "--data", data, "--out", str(work / "data"))
    assert code == 1 and "is the data" in err
    code, err = run(capsys, "appeal", "--policy", pol, "--data", data, "--out", str(work))
    assert code == 1 and "contains the data" in err


def test_killed_run_leaves_a_named_temporary_that_the_next_run_sweeps(work: Path, capsys) -> None:
    parent = work.parent / "private"
    parent.mkdir()
    # a run killed half-way: a process that made a staging folder and died
    root = str(Path(__file__).resolve().parent.parent)
    code = (f"import sys; sys.path.insert(0, {root!r})\n"
            "from compkit.atomic import staging_folder\n"
            "from pathlib import Path\n"
            f"p = staging_folder(Path({str(parent)!r}) / 'st', 'statements'); (p / 'E1.html').write_text('pay')\n"
            "print(p.name)")
    name = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert name.startswith(".compkit-tmp-statements-") and (parent / name).exists()
    mine = staging_folder(parent / "other", "review")  # a live run's folder is never swept
    assert run(capsys, "statements", "--policy", str(work / "policies" / "2025.yaml"), "--data",
               str(work / "data"), "--out", str(parent / "st"))[0] == 0
    assert not (parent / name).exists() and mine.exists()
    assert sweep_temporaries(parent) == []


def test_failure_removes_the_staging_folder_and_keeps_the_old_output(tmp_path: Path) -> None:
    target = tmp_path / "out"
    staging = staging_folder(target, "x")
    (staging / "a").write_text("new")
    replace_folder(staging, target, "x")
    assert (target / "a").read_text() == "new" and read_marker(target)["files"] == {"a": read_marker(target)[
        "files"]["a"]}
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.docx").write_text("years of work")
    staging = staging_folder(foreign, "x")
    with pytest.raises(OutputError, match="not a folder compkit wrote"):
        replace_folder(staging, foreign, "x")
    assert (foreign / "thesis.docx").read_text() == "years of work"


def test_check_output_relations(tmp_path: Path) -> None:
    data = tmp_path / "d"
    data.mkdir()
    assert check_output(tmp_path / "new", "x", {"data": data}) == (tmp_path / "new").resolve()
    with pytest.raises(OutputError, match="is the data"):
        check_output(tmp_path / "d" / ".." / "d", "x", {"data": data})
    link = tmp_path / "link"
    os.symlink(data, link)
    with pytest.raises(OutputError, match="is the data"):  # a symbolic link to the data is the data
        check_output(link, "x", {"data": data})


def test_refusals_read_in_chinese_by_default(work: Path, capsys) -> None:
    """Without --lang the refusal is in the policy's language (zh-CN): the same whole sentence, paths verbatim."""
    pol, data = str(work / "policies" / "2025.yaml"), str(work / "data")
    code, err = run(capsys, "appeal", "--policy", pol, "--data", data, "--out", data, lang="")
    assert code == 1 and err == (f"compkit appeal: --out {data} 就是数据 {data}；请另选位置：compkit 从不覆盖其输入"
                                 "或其他输出\n")
    code, err = run(capsys, "evaluate", "--policy", pol, "--data", data, "--out", str(work / "policies"), lang="")
    assert code == 1 and f"--out {work / 'policies'} 包含了政策文件 {pol}" in err
    foreign = work / "notes"
    foreign.mkdir(exist_ok=True)
    (foreign / "mine.txt").write_text("keep", encoding="utf-8")
    code, err = run(capsys, "sample", "--managers", "20", "--out", str(foreign), lang="")
    assert code == 1 and "文件夹中有非 compkit 写入的文件（其中没有 .compkit-output）" in err, err
    assert (foreign / "mine.txt").read_text(encoding="utf-8") == "keep"


def test_marker_takes_known_hashes_and_hashes_the_other_files(tmp_path: Path) -> None:
    """write_marker(known=): a file whose hash the caller gives is not read back (the given hash is written);
    every other file is hashed from its bytes (sha256 of b"b" is 3e23e816...)."""
    from compkit.atomic import write_marker

    (tmp_path / "a.html").write_text("a")
    (tmp_path / "b.html").write_text("b")
    write_marker(tmp_path, "statements", known={"a.html": "given"})
    files = read_marker(tmp_path)["files"]
    assert files == {"a.html": "given",
                     "b.html": "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"}
