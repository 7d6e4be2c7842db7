"""Language: Babel formats checked by hand, the catalogs complete and consistent, whole-sentence messages, and a
statement in each language."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from compkit import i18n

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------------------- formats


def test_money_wan_dates_in_chinese() -> None:
    assert i18n.money(1234.56, "zh-CN") == "1,234.56 元"
    assert i18n.money(-3000, "zh-CN") == "-3,000.00 元"
    # 123,456 / 10,000 = 12.3456 -> 12.3万元 (one decimal)
    assert i18n.wan(123_456, "zh-CN") == "12.3万元"
    assert i18n.wan(245_000_000, "zh-CN") == "24,500.0万元"
    assert i18n.date("2025-07-21", "zh-CN") == "2025年7月21日"
    assert i18n.month("2025-07", "zh-CN") == "2025年7月"
    assert i18n.percent(0.123, "zh-CN") == "12%" and i18n.percent(0.0425, "zh-CN", 2) == "4.25%"


def test_money_and_dates_in_english() -> None:
    assert i18n.money(1234.56, "en") == "CNY 1,234.56"
    assert i18n.date("2025-07-01", "en") == "1 July 2025"
    assert i18n.month("2025-08", "en") == "August 2025"
    assert i18n.number(1234567.891, "en", 1) == "1,234,567.9"


def test_missing_values_are_blank() -> None:
    assert i18n.money(float("nan"), "zh-CN") == "" and i18n.number(None, "en") == "" and i18n.date(None) == ""


def test_language_resolution() -> None:
    class P:
        language = "en"

    assert i18n.resolve(None) == "zh-CN"  # Chinese by default
    assert i18n.resolve(None, P()) == "en"  # the policy's language
    assert i18n.resolve("zh_CN", P()) == "zh-CN"  # --lang wins
    with pytest.raises(i18n.LanguageError, match="expected one of zh-CN, en"):
        i18n.resolve("fr")


# ---------------------------------------------------------------------------------------- catalogs


def _catalog():
    from babel.messages.pofile import read_po

    with (i18n.LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "compkit.po").open("rb") as fh:
        return read_po(fh, locale="zh_CN")


def _extracted() -> set[str]:
    """The messages in the code and templates now (Babel's extractor, as `make locale` runs it)."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with (i18n.LOCALE_DIR / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    keywords = {"_": None, "N_": None, "M_": None, "gettext": None}
    return {msg for _f, _l, msg, _c, _x in extract_from_dir(str(ROOT), method_map, options_map, keywords=keywords)
            if isinstance(msg, str)}


def test_every_message_people_read_has_a_chinese_translation() -> None:
    translated = {m.id: m.string for m in _catalog() if m.id}
    missing = sorted(m for m in _extracted() if not translated.get(m))
    assert missing == [], "run `make locale` and translate in compkit/locale/zh_CN/LC_MESSAGES/compkit.po: " + \
        "; ".join(missing[:10])


def test_no_catalog_entry_is_unused() -> None:
    """The catalog holds exactly the messages of the code and templates (`make locale` drops the others): no
    entry nobody uses, and the committed template lists the same messages."""
    from babel.messages.pofile import read_po

    extracted = _extracted()
    unused = sorted({m.id for m in _catalog() if m.id} - extracted)
    assert unused == [], "run `make locale`: unused entries " + "; ".join(unused[:10])
    with (i18n.LOCALE_DIR / "compkit.pot").open("rb") as fh:
        assert {m.id for m in read_po(fh) if m.id} == extracted


def test_message_objects_translate_whole_with_their_figures() -> None:
    """i18n.M_: the English text is the str; the translation is the msgid's, with the figures (a figure that is a
    Message translated too), and the object survives pickling (errors cross process boundaries)."""
    import pickle

    m = i18n.M_("a column named '{column}' (required in table {table})", column="actual", table="metrics")
    assert m == "a column named 'actual' (required in table metrics)"
    assert i18n.translate(m, "zh-CN") == "名为“actual”的列（metrics 表的必填列）"
    assert i18n.translate(m, "en") == str(m)
    nested = i18n.M_("{path}: {message}", path="bonus.x", message=i18n.M_("required key is missing"))
    assert i18n.translate(nested, "zh-CN") == "bonus.x：缺少必填的键"
    assert i18n.translate(pickle.loads(pickle.dumps(nested)), "zh-CN") == "bonus.x：缺少必填的键"
    assert i18n.translate("not in the catalog", "zh-CN") == "not in the catalog"


def test_translations_keep_every_placeholder() -> None:
    for m in _catalog():
        if not m.id:
            continue
        for pattern in (r"%\(\w+\)s", r"\{\w+\}"):
            assert sorted(re.findall(pattern, m.id)) == sorted(re.findall(pattern, m.string)), m.id


def test_the_chinese_catalog_compiles_and_translates() -> None:
    _ = i18n.gettext("zh-CN")
    assert _("Total cash") == "现金合计"
    assert i18n.gettext("en")("Total cash") == "Total cash"


def test_engine_reasons_read_in_chinese_with_their_figures() -> None:
    assert i18n.engine_text("rating B, compa-ratio 0.9 to below 1.1: merit 4%", "zh-CN") == \
        "评级B，比较比率0.9至1.1以下：调薪4%"
    assert i18n.engine_text("left before the end of the cycle: no raise", "zh-CN") == "考核期结束前离职：不调薪"
    assert i18n.engine_text("something new", "zh-CN") == "something new"  # unknown: unchanged, never dropped


def test_no_message_is_glued_from_fragments() -> None:
    """A translated message is a whole sentence: no code concatenates a translation with more text."""
    glued = re.compile(r"""_\((["'])[^"']*\1\)\s*\+|\+\s*_\(""")
    for path in sorted((ROOT / "compkit").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert not glued.search(text), path.name


# --------------------------------------------------------------------------------------- statements


def test_statement_in_chinese_by_default(policy, tiny) -> None:
    from compkit.feedback import render_statements, statement_contents

    st = statement_contents(policy, tiny)
    assert st.info["lang"] == "zh-CN"
    page = render_statements(st, policy)["E2"]
    assert '<html lang="zh-CN">' in page
    # E2 joined 2025-07-01: 184 of 365 days; base 42,345.21 (see test_feedback's worked example)
    for shown in ("2025年度绩效与薪酬反馈单", "365天中的184天（2025年7月1日入职）", "初级客户经理", "42,345.21",
                  "2025年8月", "代销基金", "评级称职", "基本工资", "现金合计"):
        assert shown in page, shown
    for english in ("Total cash", "Base salary", "Your results", "Mutual funds", "评级C"):  # labels, not codes
        assert english not in page, english


def test_the_same_contents_in_english(policy, tiny) -> None:
    from compkit.feedback import render_statements, statement_contents

    page = render_statements(statement_contents(policy, tiny, lang="en"), policy)["E2"]
    assert '<html lang="en">' in page and "Total cash" in page and "现金合计" not in page


def test_statements_command_takes_lang(tmp_path: Path, tiny_dir: Path) -> None:
    from compkit.cli import main

    out = tmp_path / "private" / "st"
    assert main(["statements", "--lang", "en", "--policy", str(ROOT / "data/policies/examples/simple-2025.yaml"),
                 "--data", str(tiny_dir), "--out", str(out)]) == 0
    assert "Performance and pay statement 2025" in (out / "E2.html").read_text(encoding="utf-8")


def test_every_command_takes_lang() -> None:
    from compkit.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, p in sub.choices.items():
        assert any("--lang" in a.option_strings for a in p._actions), name


def test_engine_reasons_show_rating_labels() -> None:
    """Rating codes in the engine's reasons become the policy's labels in Chinese, lists joined with '、':
    'ratings B, B (at least B, B)' -> '评级良好、良好（要求至少良好、良好）'; without the labels the codes stay."""
    names = {"A": "优秀", "B": "良好", "C": "称职"}
    merit = "rating B, compa-ratio 0.9 to below 1.1: merit 4.50%"
    assert i18n.engine_text(merit, "zh-CN", names) == "评级良好，比较比率0.9至1.1以下：调薪4.50%"
    assert i18n.engine_text(merit, "zh-CN") == "评级B，比较比率0.9至1.1以下：调薪4.50%"
    promote = "promote to 客户经理: 5.2 years in 初级客户经理 (≥ 2); ratings B, A (at least B, B)"
    assert i18n.engine_text(promote, "zh-CN", names) == (
        "晋升为客户经理：任初级客户经理5.2年（要求≥ 2）；评级良好、优秀（要求至少良好、良好）")
    assert i18n.engine_text(merit, "en", names) == merit  # English keeps the engine's text
    step = "rating C: step 3 -> step 4 (+1 step)"  # the salary review by steps (调档), as the engine writes it
    assert i18n.engine_text(step, "zh-CN", names) == "评级称职：由第3档调至第4档（+1档）"
    assert i18n.engine_text("rating A: step 2 -> step 4 (+2 steps)", "zh-CN", names) == \
        "评级优秀：由第2档调至第4档（+2档）"
    assert i18n.engine_text(step, "en", names) == step  # English: the engine's own words, no Chinese in them


@settings(max_examples=400, deadline=None)
@given(hst.one_of(hst.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15),
                 hst.integers(-10**9, 10**9).map(lambda n: n / 200),  # halves of cents: the rounding ties
                 hst.sampled_from([0.0, -0.0, 0.005, 0.015, 2.675, -2.675, -0.001, 0.5, 1.5, 2.5, 99_999.995])),
       hst.sampled_from(["zh-CN", "en"]), hst.integers(0, 4))
def test_numbers_are_formatted_as_babel_formats_them(x: float, lang: str, decimals: int) -> None:
    """i18n.number formats zh-CN and en itself (fast); character for character what Babel's format_decimal gives
    for the pattern '#,##0.00…' (half to even on the float's shortest decimal form; '-0.00' for -0.001)."""
    from babel.numbers import format_decimal

    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    assert i18n.number(x, lang, decimals) == format_decimal(x, format=pattern, locale=i18n.locale_name(lang))


def test_templates_read_a_dicts_keys_as_plain_jinja_does() -> None:
    """The environment's attribute look-up reads a plain dict's key directly, with the same result as Jinja2's
    own (attribute first): keys, keys named like dict methods (the method), missing keys (undefined), objects."""
    import jinja2

    source = ("{{ d.name }}|{{ d.items is defined }}|{{ d.get('x') }}|{{ d.missing is defined }}|"
              "{{ o.real }}|{{ d.nested.v }}|{% for r in rows %}{{ r.a }}{% endfor %}")
    context = {"d": {"name": "<b>", "x": 1, "items": "shadowed", "nested": {"v": 2.5}}, "o": 3,
               "rows": [{"a": 1}, {"a": None}]}
    ours = i18n.environment("en").from_string(source).render(**context)
    plain = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(source).render(
        **context)
    assert ours == plain == "&lt;b&gt;|True|1|False|3|2.5|1None"
    with pytest.raises(jinja2.UndefinedError):
        i18n.environment("en").from_string("{{ d.missing }}").render(d={})
