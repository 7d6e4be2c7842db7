"""compkit.cli: file-system errors are one line and exit 1, never a traceback, and leave nothing half-written
(issue 16, rows 8 and 9)."""
from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from conftest import POLICY_2025, tiny_tables, write_tables

from compkit.cli import main


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    return write_tables(tiny_tables(), tmp_path / "data")


def _fail_with(monkeypatch, code: int, after: int = 0) -> None:
    """Make the n-th file write (after ``after`` successful ones) fail with ``code``, as a full disk would (text
    or bytes: the statement pages are written as bytes)."""
    calls = {"n": 0}

    def failing(real):  # noqa: ANN001, ANN202
        def write(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
            calls["n"] += 1
            if calls["n"] > after:
                raise OSError(code, os.strerror(code), str(self))
            return real(self, *args, **kwargs)
        return write

    monkeypatch.setattr(Path, "write_text", failing(Path.write_text))
    monkeypatch.setattr(Path, "write_bytes", failing(Path.write_bytes))


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "磁盘已满，请释放空间后重新运行"),
                                         (errno.EACCES, "权限不足，请选择有写入权限的文件夹"),
                                         (errno.ENAMETOOLONG, "文件名过长")])
def test_file_system_errors_are_one_line(data: Path, tmp_path: Path, capsys, monkeypatch, code: int,
                                         words: str) -> None:
    out = tmp_path / "private" / "st"
    assert main(["statements", "--policy", str(POLICY_2025), "--data", str(data), "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    _fail_with(monkeypatch, code, after=2)  # half-way through the statements
    assert main(["statements", "--policy", str(POLICY_2025), "--data", str(data), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and err.count("\n") == 1
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the previous statements are whole
    assert sorted(p.name for p in out.parent.iterdir()) == ["st"]  # no temporary folder left behind


def test_unwritable_folder_for_evaluate(data: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    def denied(*args, **kwargs):  # noqa: ANN002, ANN003
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "locked"))

    monkeypatch.setattr("compkit.atomic.staging_folder", denied)
    assert main(["evaluate", "--policy", str(POLICY_2025), "--data", str(data),
                 "--out", str(tmp_path / "locked" / "results")]) == 1
    err = capsys.readouterr().err  # the policy's language, zh-CN
    assert err == (f"compkit evaluate: 无法读写 {tmp_path / 'locked'}：权限不足，请选择有写入权限的文件夹；"
                   "此前的输出保持不变\n")
    assert main(["evaluate", "--policy", str(POLICY_2025), "--data", str(data),
                 "--out", str(tmp_path / "locked" / "results"), "--lang", "en"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("compkit evaluate: cannot read or write") and "permission denied" in err


def test_os_error_message_in_both_languages() -> None:
    from compkit.cli import os_error_message

    err = OSError(errno.ENOSPC, "No space left on device", "/srv/out/a.html")
    assert os_error_message(err, "en") == ("cannot read or write /srv/out/a.html: the disk is full; free some space "
                                           "and run again; earlier outputs were left as they were")
    assert os_error_message(err) == "无法读写 /srv/out/a.html：磁盘已满，请释放空间后重新运行；此前的输出保持不变"
    moved = OSError(errno.ENOENT, "No such file or directory", "a.tmp", None, "b.html")
    assert os_error_message(moved, "zh-CN") == "无法读写 a.tmp -> b.html：文件或文件夹不存在；此前的输出保持不变"
    odd = OSError(errno.EIO, "Input/output error")  # no hint, no file: the system's words
    assert os_error_message(odd, "en") == ("cannot read or write: Input/output error; earlier outputs were left as "
                                           "they were")


def test_weak_keys_are_refused(data: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    from compkit.privacy import PrivacyError, pseudonym_key

    for weak in ("a" * 16, "ab" * 12, "abcdefghijklmnopq", "aaaaaaaaaaaaabcdefgh"):
        with pytest.raises(PrivacyError, match="too weak"):
            pseudonym_key({"COMPKIT_PSEUDONYM_KEY": weak})
    assert pseudonym_key({"COMPKIT_PSEUDONYM_KEY": "9f2c41d7e0b85a36"}) == b"9f2c41d7e0b85a36"
    monkeypatch.setenv("COMPKIT_PSEUDONYM_KEY", "a" * 16)
    code = main(["statements", "--policy", str(POLICY_2025), "--data", str(data), "--out", str(tmp_path / "st"),
                 "--publish", str(tmp_path / "pub")])
    assert code == 1 and "化名密钥太弱" in capsys.readouterr().err and not (tmp_path / "st").exists()


@pytest.mark.parametrize("folder", ["Reports", "REPORTS", "reports"])
def test_reports_refusal_is_case_insensitive(data: Path, tmp_path: Path, capsys, folder: str) -> None:
    code = main(["statements", "--policy", str(POLICY_2025), "--data", str(data),
                 "--out", str(tmp_path / folder / "x")])
    assert code == 1 and "绝不能放在 reports/ 下" in capsys.readouterr().err  # the policy's zh-CN
    assert not (tmp_path / folder).exists()


# The command line's own words: argparse's usage and errors and compkit's help, in the run's language.

def test_command_line_errors_are_in_chinese_by_default(capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["evaluate"])
    assert stop.value.code == 2  # argparse's convention for a wrong command line
    err = capsys.readouterr().err
    assert err.startswith("用法：compkit evaluate")
    assert "compkit evaluate：错误：缺少必需的参数：--policy, --data, --out" in err


def test_command_line_errors_follow_lang_and_the_policy_language(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["sample", "--managers", "x", "--out", str(tmp_path), "--lang", "en"])
    assert "compkit sample: error: argument --managers: invalid int value: 'x'" in capsys.readouterr().err
    english = tmp_path / "policy.yaml"
    english.write_text("language: en\n", encoding="utf-8")  # read leniently: only its language matters here
    with pytest.raises(SystemExit):
        main(["evaluate", f"--policy={english}", "--data", str(tmp_path)])
    assert "the following arguments are required: --out" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["sample", "--managers", "x", "--out", str(tmp_path)])
    assert "compkit sample：错误：参数 --managers：无效的 int 值：'x'" in capsys.readouterr().err


def test_help_is_in_chinese_and_argparse_is_left_as_found(capsys) -> None:
    import argparse

    before = argparse._  # type: ignore[attr-defined]
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert "客户经理薪酬与绩效考核的政策建模工具" in out
    assert "evaluate  按政策为每个人计分、评级和计算薪酬" in out
    assert "显示本帮助信息并退出" in out and "显示程序版本号并退出" in out
    assert argparse._ is before  # type: ignore[attr-defined]
    assert argparse.ArgumentParser(prog="x").format_usage() == "usage: x [-h]\n"


def test_every_argparse_message_compkit_marks_is_argparse_s_own() -> None:
    """The marked messages must be argparse's wording in this Python, or they would never be looked up."""
    import argparse
    import inspect

    from compkit.cli import ARGPARSE_MESSAGES
    source = inspect.getsource(argparse)
    for message in ARGPARSE_MESSAGES:
        assert repr(message)[1:-1] in source or message.replace("\n", "\\n") in source, message
