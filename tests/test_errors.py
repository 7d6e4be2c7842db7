"""compkit.errors: the bad-input corpus of the error classes outside the data and the policy file (audit log, privacy
key, statements, report, calibration, delivery, what-if key paths, knobs), each message read in both languages;
pydantic's errors as whole sentences from their type and context; and what ``str(error)`` is."""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from compkit import i18n
from compkit.errors import CompkitError, PolicyError, pydantic_message

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "data" / "policies" / "examples" / "simple-2025.yaml"
KEY = b"9f2c41d7e0b85a36c1d2"


def _audit(tmp: Path) -> None:
    from compkit.appeals import read_audit_log

    (tmp / "audit_log.jsonl").write_text("{not json\n", encoding="utf-8")
    read_audit_log(tmp / "audit_log.jsonl", KEY)


def _audit_tampered(tmp: Path) -> None:
    from compkit.appeals import verify_run_folders

    run = tmp / "out" / "run1"
    run.mkdir(parents=True)
    (run / "diff.csv").write_text("a\n1\n", encoding="utf-8")
    verify_run_folders(tmp / "out", KEY)


def _no_key(tmp: Path) -> None:
    from compkit.privacy import pseudonym_key

    pseudonym_key({})


def _short_key(tmp: Path) -> None:
    from compkit.privacy import pseudonym_key

    pseudonym_key({"COMPKIT_PSEUDONYM_KEY": "9f2c41d7"})


def _weak_key(tmp: Path) -> None:
    from compkit.privacy import pseudonym_key

    pseudonym_key({"COMPKIT_PSEUDONYM_KEY": "a" * 16})


def _key_file_missing(tmp: Path) -> None:
    from compkit.privacy import pseudonym_key

    pseudonym_key({"COMPKIT_PSEUDONYM_KEY_FILE": str(tmp / "absent.key")})


def _period(tmp: Path) -> None:
    from compkit.feedback import through_month

    through_month("2026Q1", "2025")


def _period_format(tmp: Path) -> None:
    from compkit.feedback import through_month

    through_month("June", "2025")


def _report(tmp: Path) -> None:
    from compkit import report

    nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": "a1", "metadata": {}, "outputs": [],
                     "source": "raise ValueError('no such column: bonus2')"}],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    (tmp / "nb").mkdir()
    (tmp / "nb" / "broken.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    (tmp / "out").mkdir()
    saved = report.NOTEBOOK_DIR
    report.NOTEBOOK_DIR = tmp / "nb"
    try:
        report.execute("broken", {}, tmp / "out", progress=False)
    finally:
        report.NOTEBOOK_DIR = saved


def _calibration(tmp: Path) -> None:
    from compkit.calibration import fit_payout_curve

    fit_payout_curve([60.0, 80.0, 100.0, 120.0], max_slope=-1.0)


def _calibration_slopes(tmp: Path) -> None:
    from compkit.calibration import fit_payout_curve

    fit_payout_curve([60.0, 80.0, 100.0, 120.0], max_slope=0.05, min_slope=0.1)


def _delivery(tmp: Path) -> None:
    from compkit.delivery import load_settings

    load_settings(tmp / "smtp.toml")


def _delivery_settings(tmp: Path) -> None:
    from compkit.delivery import load_settings

    (tmp / "smtp.toml").write_text('[smtp]\nhost = "h"\nsender = "hr@bank.example.cn"\nport = "x"\nssl = 3\n',
                                   encoding="utf-8")
    load_settings(tmp / "smtp.toml")


def _key_path(tmp: Path) -> None:
    from compkit.policy import load_policy

    load_policy(POLICY).updated({"bonus.curvee[0][1]": 1.0, "bonus.nope.x": 1})


def _key_path_id(tmp: Path) -> None:
    from compkit.policy import load_policy

    load_policy(POLICY).get("commission.products[gold].rate")


def _knob(tmp: Path) -> None:
    from compkit import explorer
    from compkit.policy import load_policy

    explorer.design(load_policy(POLICY), {"weight of luck": 0.5})


def _knob_path(tmp: Path) -> None:
    from compkit import knobs
    from compkit.policy import load_policy

    knobs.knob("commission.products[gold].tiers[*].rate", "scale").changes(load_policy(POLICY), 1.1)


def _through(tmp: Path) -> None:
    from compkit.engine import cycle_to_date

    class Data:
        cycle = "2025"
        periods = [f"2025-{m:02d}" for m in range(1, 13)]

    cycle_to_date(Data(), "2026-01")  # type: ignore[arg-type]


#: (case, error class, the raising call, fragments of the English message, fragments of the Chinese message):
#: file and key names, values and figures verbatim in both
CORPUS: list[tuple[str, str, Callable[[Path], None], list[str], list[str]]] = [
    ("audit log not JSON", "AuditError", _audit,
     ["audit_log.jsonl, line 1: not a JSON record ("], ["audit_log.jsonl，第 1 行：不是 JSON 记录（"]),
    ("appeal run without manifest", "AuditError", _audit_tampered,
     ["run1: the run folder has no readable manifest.json; it was not written by this compkit or was altered"],
     ["run1：该处理结果文件夹中没有可读取的 manifest.json；它不是本 compkit 写出的，或已被改动"]),
    ("no pseudonym key", "PrivacyError", _no_key,
     ["no pseudonym key: set COMPKIT_PSEUDONYM_KEY to a secret of at least 16 characters, or "
      "COMPKIT_PSEUDONYM_KEY_FILE to a file outside the repository"],
     ["没有化名密钥：请把 COMPKIT_PSEUDONYM_KEY 设为至少 16 个字符的密钥，或把 COMPKIT_PSEUDONYM_KEY_FILE 设为"
      "代码库之外保存密钥的文件", "secrets.token_hex(32)"]),
    ("short pseudonym key", "PrivacyError", _short_key,
     ["the pseudonym key from the environment variable COMPKIT_PSEUDONYM_KEY has 8 bytes; expected at least 16"],
     ["环境变量 COMPKIT_PSEUDONYM_KEY 中的化名密钥只有 8 个字节；应至少有 16 个"]),
    ("weak pseudonym key", "PrivacyError", _weak_key,
     ["is too weak (only 1 distinct character(s); expected at least 6); use a random secret"],
     ["中的化名密钥太弱（只有 1 个不同的字符；应至少有 6 个）；请使用随机密钥"]),
    ("key file missing", "PrivacyError", _key_file_missing,
     ["absent.key: no such file; expected a file holding the pseudonym key", "COMPKIT_PSEUDONYM_KEY_FILE="],
     ["absent.key：文件不存在；应为保存化名密钥的文件"]),
    ("period outside the cycle", "FeedbackError", _period,
     ["--period 2026Q1: outside the cycle 2025 (2025-01 to 2025-12)"],
     ["--period 2026Q1：不在考核期 2025 内（2025-01 至 2025-12）"]),
    ("period not a period", "FeedbackError", _period_format,
     ["--period June: expected a month YYYY-MM, a quarter YYYYQn or a half-year YYYYHn"],
     ["--period June：应为月份 YYYY-MM、季度 YYYYQn 或半年 YYYYHn"]),
    ("notebook fails", "ReportError", _report,
     ["notebook broken.ipynb failed at cell 0 (execution count 1): ValueError: no such column: bonus2"],
     ["笔记本 broken.ipynb 在第 0 个单元格（执行序号 1）出错：ValueError：no such column: bonus2"]),
    ("negative max slope", "CalibrationError", _calibration,
     ["max_slope must be positive, not -1.0"], ["max_slope 应为正数，而不是 -1.0"]),
    ("slopes cannot both hold", "CalibrationError", _calibration_slopes,
     ["min_slope 0.1 is above max_slope 0.05: no curve can meet both"],
     ["min_slope 0.1 大于 max_slope 0.05：没有曲线能同时满足两者"]),
    ("no SMTP settings", "DeliveryError", _delivery,
     ["no SMTP settings file at ", "smtp.toml: write one (see compkit.delivery.SmtpSettings) outside the "
      "repository, and name it with --smtp or COMPKIT_SMTP_SETTINGS"],
     ["smtp.toml 处没有 SMTP 设置文件：请在代码库之外写一个（见 compkit.delivery.SmtpSettings），并用 --smtp 或 "
      "COMPKIT_SMTP_SETTINGS 指定"]),
    ("bad SMTP settings", "DeliveryError", _delivery_settings,
     ["smtp.toml:\n  - smtp.port: Input should be a valid integer, unable to parse string as an integer",
      "\n  - smtp.ssl: Input should be a valid boolean"],
     ["smtp.toml：\n  - smtp.port：应为整数，无法把文本解析为整数", "\n  - smtp.ssl：应为布尔值"]),
    ("what-if key path", "PolicyError", _key_path,
     ["policy file <updated policy>: 1 problem(s):", "key path 'bonus.curvee[0][1]': no key 'curvee'; expected "
      "one of "],
     ["政策文件 <修改后的政策> 有 1 个问题：", "键路径 'bonus.curvee[0][1]'：没有键“curvee”；应为以下之一："]),
    ("what-if item id", "PolicyError", _key_path_id,
     ["key path 'commission.products[gold].rate': no item with id 'gold'; expected one of "],
     ["键路径 'commission.products[gold].rate'：没有 id 为“gold”的项；应为以下之一："]),
    ("unknown knob", "KnobError", _knob,
     ["unknown knob 'weight of luck'; expected the name of a knob (", ") or its key path"],
     ["未知的调节项 'weight of luck'；应为调节项的名称（", "）或其键路径"]),
    ("knob over an unknown product", "PolicyError", _knob_path,
     ["key path 'commission.products[gold].tiers': no item with id 'gold'"],
     ["键路径 'commission.products[gold].tiers'：没有 id 为“gold”的项"]),
    ("month outside the cycle", "CompkitError", _through,
     ["through 2026-01: not a month of the cycle 2025 (2025-01 to 2025-12)"],
     ["截至月份 2026-01：不是考核期 2025 内的月份（2025-01 至 2025-12）"]),
]


def _raised(tmp: Path, call: Callable[[Path], None]) -> CompkitError:
    with pytest.raises(CompkitError) as info:
        call(tmp)
    return info.value


@pytest.mark.parametrize("name,cls,call,english,chinese", CORPUS, ids=[c[0] for c in CORPUS])
def test_each_error_reads_in_both_languages(tmp_path: Path, name: str, cls: str, call: Callable[[Path], None],
                                            english: list[str], chinese: list[str]) -> None:
    err = _raised(tmp_path, call)
    assert type(err).__name__ == cls
    en, zh = err.message("en"), err.message()
    for fragment in english:
        assert fragment in en, en
    for fragment in chinese:
        assert fragment in zh, zh
    assert zh == err.message("zh-CN") and en == err.message("en-US")
    # a whole sentence in Chinese: once the figures it quotes verbatim (file names, keys, values, commands) are
    # taken out, no English word is left
    rest = zh
    for figure in sorted(_figures(err), key=len, reverse=True):
        rest = rest.replace(figure, " ")
    assert not re.search(r"[A-Za-z]{3,}", re.sub(_TECHNICAL, " ", rest)), (zh, rest)


#: words a Chinese message keeps as they are: protocols, formats, placeholders of formats, booleans
_TECHNICAL = (r"--[\w-]+|\.ipynb|\b(SMTP|STARTTLS|JSON|TOML|YYYY[-A-Za-z]*|true|false|python|compkit[\w.]*|max_slope|"
              r"min_slope|id)\b")


def _figures(err: CompkitError) -> set[str]:
    """The texts an error quotes verbatim: the leaves of its messages' figures (not themselves messages)."""
    out: set[str] = set()

    def walk(m: object) -> None:
        if isinstance(m, i18n.Joined):
            for item in m.items:
                walk(item)
        elif isinstance(m, i18n.Message):
            for v in m.params.values():
                walk(v)
        elif m is not None:
            out.add(str(m))

    for m in [err.args[0], *getattr(err, "messages", [])]:
        if isinstance(m, i18n.Message):
            walk(m)
    return {f for f in out if f.strip()}


def test_the_corpus_covers_every_error_class_of_the_issue() -> None:
    assert {c[1] for c in CORPUS} >= {"AuditError", "PrivacyError", "FeedbackError", "ReportError", "CalibrationError",
                                      "DeliveryError", "PolicyError", "KnobError"}


def test_str_of_an_error_is_chinese_unless_set(tmp_path: Path) -> None:
    """``str(error)``: the language of ``i18n.use`` (Chinese unless set; the tests set English in conftest);
    ``error.args[0]`` keeps the English Message, ``error.message("en")`` the English text."""
    err = _raised(tmp_path, _short_key)
    before = i18n.use(None)  # the default: Chinese
    try:
        assert i18n.shown() == "zh-CN"
        assert str(err) == err.message("zh-CN") and "化名密钥只有 8 个字节" in str(err)
        i18n.use("en")
        assert str(err) == err.message("en") == str(err.args[0])
    finally:
        i18n.use(before)


def test_the_command_line_prints_the_language_of_lang(tmp_path: Path, tiny_dir: Path, capsys) -> None:
    from compkit.cli import main

    args = ["statements", "--policy", str(POLICY), "--data", str(tiny_dir),
            "--out", str(tmp_path / "private" / "st"), "--period", "2026Q1"]
    assert main(args) == 1
    assert "--period 2026Q1：不在考核期 2025 内（2025-01 至 2025-12）" in capsys.readouterr().err
    assert main([*args, "--lang", "en"]) == 1
    assert "--period 2026Q1: outside the cycle 2025 (2025-01 to 2025-12)" in capsys.readouterr().err
    assert i18n.shown() == "en"  # the run's language is put back afterwards (conftest's English)


# ------------------------------------------------------------------------------------ pydantic's errors


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    basis: str = Field("month", pattern=r"^(month|cycle_to_date|quarter)$")
    frequency: Literal["month", "quarter", "cycle_to_date"]
    count: int = Field(1, gt=0)
    rate: float = Field(0.5, le=1)
    points: list[float] = Field(default_factory=lambda: [0.0, 1.0], min_length=2)
    flag: bool = False


def _problems(data: dict) -> dict[str, tuple[str, str]]:
    """field -> (English, Chinese) of each problem pydantic finds in ``data``."""
    with pytest.raises(ValidationError) as info:
        _Settings.model_validate(data)
    out = {}
    for e in info.value.errors():
        m = pydantic_message(e)
        out[".".join(map(str, e["loc"])) or e["type"]] = (i18n.translate(m, "en"), i18n.translate(m, "zh-CN"))
    return out


def test_pydantic_errors_read_as_whole_chinese_sentences() -> None:
    """From each error's type and context, not by rewording pydantic's English: a list of allowed values joined
    with 或 in Chinese (the values verbatim), limits with their figures; the English text is pydantic's own."""
    got = _problems({"frequency": "weekly", "count": 0, "rate": 1.5, "points": [1.0], "flag": "maybe",
                     "colour": "red"})
    assert got["frequency"] == ("Input should be 'month', 'quarter' or 'cycle_to_date'",
                                "应为 'month'、'quarter' 或 'cycle_to_date'")
    assert got["count"] == ("Input should be greater than 0", "应大于 0")
    assert got["rate"] == ("Input should be less than or equal to 1", "应小于或等于 1")
    assert got["points"] == ("List should have at least 2 items after validation, not 1",
                             "列表应至少有 2 项，实有 1 项")
    assert got["flag"] == ("Input should be a valid boolean, unable to interpret input",
                           "应为布尔值（true 或 false），无法识别输入")
    assert got["colour"] == ("unknown key (not part of the policy format; check the spelling)",
                             "未知的键（不属于政策文件格式，请检查拼写）")
    got = _problems({"count": "two", "rate": "half", "basis": "week"})
    assert got["frequency"] == ("required key is missing", "缺少必填的键")
    assert got["count"][1] == "应为整数，无法把文本解析为整数"
    assert got["rate"][1] == "应为数字，无法把文本解析为数字"
    assert got["basis"] == ("String should match pattern '^(month|cycle_to_date|quarter)$'",
                            "文本应符合格式“^(month|cycle_to_date|quarter)$”")


def test_a_literal_of_two_values_in_a_policy_file() -> None:
    from compkit.policy import load_policy, policy_from_dict

    raw = load_policy(POLICY).to_dict()
    raw["cycle"] = "quarterly"
    with pytest.raises(PolicyError) as info:
        policy_from_dict(raw, source="p.yaml")
    assert "cycle: Input should be 'annual' or 'half-year' (found 'quarterly')" in info.value.message("en")
    assert "cycle：应为 'annual' 或 'half-year'（现为 'quarterly'）" in info.value.message()


def test_an_unknown_error_type_keeps_pydantic_words() -> None:
    e = {"type": "something_new", "msg": "Something new went wrong", "ctx": {}}
    assert pydantic_message(e) == "Something new went wrong"
    # our own text for a known type is used only where it is pydantic's text (a changed pydantic keeps its words)
    e = {"type": "greater_than", "msg": "Input must exceed 0", "ctx": {"gt": 0}}
    assert pydantic_message(e) == "Input must exceed 0"
