"""compkit.atomic and compkit.fingerprint: all-or-none writes; input fingerprints."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from compkit.atomic import staged_folder, write_file
from compkit.fingerprint import bytes_sha256, file_sha256, path_sha256


def test_staged_folder_replaces_all_or_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with staged_folder(target) as tmp:
        (tmp / "a.csv").write_text("1")
    assert (target / "a.csv").read_text() == "1"
    # a failure half-way leaves the previous folder as it was and no temporary folder behind
    with pytest.raises(RuntimeError), staged_folder(target) as tmp:
        (tmp / "a.csv").write_text("2")
        raise RuntimeError("boom")
    assert (target / "a.csv").read_text() == "1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_staged_folder_keeps_files_it_did_not_write(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    (target / "a.csv").write_text("old")
    with staged_folder(target, keep_others=True) as tmp:
        (tmp / "a.csv").write_text("new")
    assert (target / "notes.txt").read_text() == "mine" and (target / "a.csv").read_text() == "new"


def test_a_failed_swap_puts_the_previous_folder_back(tmp_path: Path, monkeypatch) -> None:
    import os

    target = tmp_path / "out"
    with staged_folder(target) as tmp:
        (tmp / "a.csv").write_text("old")
        (tmp / "b.csv").write_text("old")
    real = os.replace

    def failing(src, dst):  # moving the finished folder into place fails (after the old one was moved aside)
        if Path(dst) == target and ".compkit-tmp-old-" not in str(src):
            raise OSError("rename failed")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(OSError, match="rename failed"), staged_folder(target) as tmp:
        (tmp / "a.csv").write_text("new")
    monkeypatch.setattr(os, "replace", real)
    assert {p.name: p.read_text() for p in target.iterdir()} == {"a.csv": "old", "b.csv": "old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_outcomes_to_csv_is_all_or_none(tmp_path: Path, policy, tiny, monkeypatch) -> None:
    from compkit.engine import evaluate

    out = evaluate(policy, tiny)
    folder = tmp_path / "results"
    written = out.to_csv(folder)
    assert {p.name for p in written} == {f"{t}.csv" for t in out.TABLES}
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    calls = {"n": 0}
    real = pd.DataFrame.to_csv

    def failing(self, *args, **kwargs):  # the third table fails to write
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", failing)
    with pytest.raises(OSError):
        out.to_csv(folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_write_file_is_atomic(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    write_file(path, lambda tmp: tmp.write_bytes(b"v1"))
    with pytest.raises(ValueError):
        write_file(path, lambda tmp: (tmp.write_bytes(b"half"), (_ for _ in ()).throw(ValueError("bad"))))
    assert path.read_bytes() == b"v1" and [p.name for p in tmp_path.iterdir()] == ["book.xlsx"]


def test_write_file_durable_and_swept_names(tmp_path: Path, monkeypatch) -> None:
    import os

    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    path = tmp_path / "audit_log.jsonl"
    write_file(path, lambda tmp: tmp.write_text("a\n"), durable=True)
    assert path.read_text() == "a\n" and len(synced) == 1
    write_file(path, lambda tmp: tmp.write_text("b\n"))
    assert path.read_text() == "b\n" and len(synced) == 1  # not durable: no fsync
    seen = []
    write_file(path, lambda tmp: seen.append(tmp.name) or tmp.write_text("c\n"))
    assert seen[0].startswith(".compkit-tmp-file-")  # a killed run's leftover is swept by the next run


def test_fingerprints(tmp_path: Path) -> None:
    assert bytes_sha256(b"abc") == hashlib.sha256(b"abc").hexdigest()
    (tmp_path / "b.csv").write_bytes(b"2")
    (tmp_path / "a.csv").write_bytes(b"1")
    (tmp_path / ".hidden").write_bytes(b"x")
    assert file_sha256(tmp_path / "a.csv") == hashlib.sha256(b"1").hexdigest()
    # a folder: relative name then bytes of each file in name order; hidden files left out
    assert path_sha256(tmp_path) == hashlib.sha256(b"a.csv1b.csv2").hexdigest()
    assert path_sha256(tmp_path / "a.csv") == file_sha256(tmp_path / "a.csv")


def test_marker_manifest_lists_every_file_in_path_order(tmp_path: Path) -> None:
    """The marker's manifest: every file but the marker with its sha256 (a hash the caller knows is taken as
    given), in the order of the sorted paths; a flat folder of plain files (the statements) and a folder with a
    subfolder and a link (listed the general way) list the same files the same way."""
    import json
    import os

    from compkit.atomic import MARKER, write_marker

    flat, nested = tmp_path / "flat", tmp_path / "nested"
    for folder in (flat, nested):
        folder.mkdir()
        for name in ("b.html", "a-1.html", "a.html", "A.html", "a_b.html"):
            (folder / name).write_text(name, encoding="utf-8")
    (nested / "sub").mkdir()
    (nested / "sub" / "c.html").write_text("c", encoding="utf-8")
    os.symlink(nested / "a.html", nested / "z-link.html")
    write_marker(flat, "statements", known={"b.html": "given"})
    write_marker(nested, "statements")
    listed = {f: json.loads((f / MARKER).read_text(encoding="utf-8"))["files"] for f in (flat, nested)}
    assert list(listed[flat]) == ["A.html", "a-1.html", "a.html", "a_b.html", "b.html"]
    assert listed[flat]["b.html"] == "given" and listed[flat]["a.html"] == file_sha256(flat / "a.html")
    assert list(listed[nested]) == ["A.html", "a-1.html", "a.html", "a_b.html", "b.html", "sub/c.html",
                                    "z-link.html"]
    assert list(listed[nested]) == [str(p.relative_to(nested)) for p in sorted(
        p for p in nested.rglob("*") if p.is_file() and p.name != MARKER)]
