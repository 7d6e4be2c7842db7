"""The language of what people read: gettext catalogs, Jinja2 templates and Babel number and date formats.

Languages: ``zh-CN`` (the default: statements, reports, workbook headers and messages are in Chinese) and ``en``.
The language comes from the policy's ``language`` key, overridden by ``--lang`` on the command line or the
``lang`` parameter of a notebook (:func:`resolve`).

Messages are written in English in the code and templates (the msgid) and translated whole: a sentence with
figures in it is one message with named placeholders (``_("{days} of {total} days")``), never fragments glued
together. The catalogs are ``compkit/locale/<locale>/LC_MESSAGES/compkit.po``, managed with Babel
(``make locale`` extracts the messages from ``compkit/*.py`` and ``compkit/templates/*`` into
``compkit/locale/compkit.pot`` and updates the ``.po`` files). The ``.po`` file is the source: compkit compiles
it with Babel in memory when a language is first used, so a fresh clone needs no build step and a ``.po`` edit
takes effect at once.

Formats (Babel, CLDR data): money ``1,234.56 元`` (en ``CNY 1,234.56``), large amounts ``12.3万元``
(en ``CNY 123.0k``), dates ``2025年7月21日`` (en ``21 July 2025``), months ``2025年7月`` (en ``July 2025``).
"""
from __future__ import annotations

import datetime as _dt
import decimal as _decimal
import functools
import gettext as _gettext
import io
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

LANGUAGES = ("zh-CN", "en")
DEFAULT = "zh-CN"
DOMAIN = "compkit"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

_LOCALE = {"zh-CN": "zh_CN", "en": "en"}
_CURRENCY_SIGN = {"CNY": "元"}


class LanguageError(ValueError):
    """A language compkit has no catalog for."""


def resolve(lang: str | None, policy: Any = None) -> str:
    """The language to use: ``lang`` when given (``--lang``, a notebook's ``lang``), else the policy's
    ``language``, else zh-CN. Accepts zh, zh_CN, zh-cn, en, en_US ... ; raises LanguageError otherwise."""
    value = lang if lang not in (None, "") else getattr(policy, "language", None) or DEFAULT
    v = str(value).strip().replace("_", "-").lower()
    if v in ("zh", "zh-cn", "zh-hans", "zh-hans-cn", "cn"):
        return "zh-CN"
    if v == "en" or v.startswith("en-"):
        return "en"
    raise LanguageError(f"language {value!r}: expected one of {', '.join(LANGUAGES)}")


#: the language of messages shown without one being asked for (``str(error)``: a traceback in a notebook, a log)
_shown = [DEFAULT]


def use(lang: str | None) -> str:
    """Show messages in ``lang`` where no language is asked for (``str(error)`` of a
    :class:`~compkit.errors.CompkitError`): Chinese unless changed. The command line sets it from ``--lang`` (else
    the policy's ``language``) for the run; a notebook may call ``i18n.use(lang)``. Returns the previous language,
    so that it can be put back: ``before = i18n.use("en"); ...; i18n.use(before)``."""
    before = _shown[0]
    _shown[0] = resolve(lang)
    return before


def shown() -> str:
    """The language of messages shown without one being asked for (see :func:`use`)."""
    return _shown[0]


def locale_name(lang: str) -> str:
    """Babel locale identifier of a language ('zh-CN' -> 'zh_CN')."""
    return _LOCALE[resolve(lang)]


@functools.cache
def translations(lang: str) -> _gettext.NullTranslations:
    """The gettext translations of ``lang``, compiled from its ``.po`` catalog with Babel (English: the
    msgids themselves)."""
    lang = resolve(lang)
    if lang == "en":
        return _gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    po = LOCALE_DIR / _LOCALE[lang] / "LC_MESSAGES" / f"{DOMAIN}.po"
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=_LOCALE[lang], domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return _gettext.GNUTranslations(buf)


def gettext(lang: str | None) -> Callable[[str], str]:
    """The ``_`` function of a language: ``_ = i18n.gettext(lang); _("Total cash")``."""
    return translations(resolve(lang)).gettext


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark for extraction, translate later"
    """Mark a message for extraction without translating it here."""
    return message


class Message(str):
    """A message people read, kept with its msgid and figures so that it can be shown in any language later:
    the ``str`` value is the English text (``error.args[0]``, what tests compare), :func:`translate` gives it in
    a language. Made with :func:`M_` where the language is not known yet (a validation error raised deep in the
    loader): ``M_("a column named '{column}' (required in table {table})", column=c, table=name)``. A figure may
    itself be a Message (translated with it); identifiers (file names, columns, values) are kept verbatim."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, /, **params: Any) -> Message:
        obj = super().__new__(cls, msgid.format(**params) if params else msgid)
        obj.msgid = msgid
        obj.params = params
        return obj

    def __reduce__(self) -> tuple:
        return (_message, (self.msgid, self.params))


def _message(msgid: str, params: dict[str, Any]) -> Message:
    return Message(msgid, **params)


class Joined(Message):
    """Messages (or verbatim texts) one after another with a separator that is layout, not words (a list of
    problems, one per line: ``Joined(lines, "\\n  - ")``); :func:`translate` translates each item."""

    items: tuple[Any, ...]
    sep: str

    def __new__(cls, items: Any, sep: str = ", ") -> Joined:  # type: ignore[misc]
        items = tuple(items)
        obj = str.__new__(cls, sep.join(str(i) for i in items))
        obj.msgid, obj.params, obj.items, obj.sep = "", {}, items, sep
        return obj

    def __reduce__(self) -> tuple:
        return (Joined, (self.items, self.sep))


def M_(msgid: str, /, **params: Any) -> Message:  # noqa: N802 - a gettext-style marker (extracted by Babel)
    """A :class:`Message`: the msgid with its named figures, translated when it is shown (:func:`translate`)."""
    return Message(msgid, **params)


def translate(text: Any, lang: str | None) -> str:
    """``text`` in ``lang``: a :class:`Message` as its msgid's translation with its figures (figures that are
    Messages translated too); any other text as the catalog's translation of the whole text, else as given."""
    if isinstance(text, Joined):
        return text.sep.join(translate(i, lang) for i in text.items)
    if isinstance(text, Message):
        _ = gettext(lang)
        params = {k: translate(v, lang) if isinstance(v, Message) else v for k, v in text.params.items()}
        return _(text.msgid).format(**params) if params else _(text.msgid)
    if text is None:
        return ""
    t = str(text)
    return gettext(lang)(t) if t else t


def term(text: str, lang: str | None) -> str:
    """A name for people in ``lang``: a code (``mutual_funds``) becomes words (``Mutual funds``); the catalog's
    translation when it has one (policy names, categories, allowances), else the text as given."""
    import re

    t = str(text)
    if re.fullmatch(r"[a-z][a-z0-9_ ]*", t):
        t = t.replace("_", " ").capitalize()
    return gettext(lang)(t) if t else t


#: the placeholders of :data:`ENGINE_PATTERNS` that hold rating codes (one, or several separated by ", ")
RATING_GROUPS = ("rating", "ratings", "min")


def engine_text(text: str, lang: str | None, rating_names: Mapping[str, str] | None = None) -> str:
    """A reason or note the engine wrote (English, e.g. 'left before the end of the cycle: no raise') in
    ``lang``: the catalog's translation of the whole text, else of its known pattern with the figures carried
    over (:data:`ENGINE_PATTERNS`), else the text unchanged. ``rating_names`` (the policy's ``ratings.names``,
    code -> label): rating codes in the pattern's rating placeholders are shown as the labels people read
    ('rating B' -> '评级良好'). Each text (and each part of one) is worded once per language and names
    (statements word the reasons of 100,000 people, made of a few thousand parts)."""
    return _engine_text(str(text), lang, tuple(rating_names.items()) if rating_names else ())


@functools.lru_cache(maxsize=1 << 16)
def _engine_text(t: str, lang: str | None, names: tuple[tuple[str, str], ...]) -> str:
    rating_names = dict(names)
    if resolve(lang) == "en" or not t:
        return t
    _ = gettext(lang)
    found = _(t)
    if found != t:
        return found
    import re

    def shown(name: str, value: str) -> str:
        if rating_names and name in RATING_GROUPS:
            labels = re.sub(r"[^,\s]+", lambda c: rating_names.get(c.group(0), c.group(0)), value)
            return labels.replace(", ", _("{first}, {rest}").format(first="", rest=""))
        return engine_text(value, lang, rating_names)

    for pattern, msgid in ENGINE_PATTERNS:
        m = re.fullmatch(pattern, t)
        if m:
            return _(msgid).format(**{k: shown(k, v) for k, v in m.groupdict().items()})
    for sep, msgid in (("; ", N_("{first}; {rest}")), (", ", N_("{first}, {rest}"))):
        parts = t.split(sep)
        if len(parts) > 1:
            done = [engine_text(x, lang, rating_names) for x in parts]
            if sep == "; " or all(d != x for d, x in zip(done, parts)):
                out = done[-1]
                for d in reversed(done[:-1]):
                    out = _(msgid).format(first=d, rest=out)
                return out
    return t


#: the engine's reasons with figures in them: (regular expression over the English text, msgid whose named
#: placeholders are the expression's groups)
ENGINE_PATTERNS: list[tuple[str, str]] = [
    (r"rating (?P<rating>\S+), compa-ratio (?P<lo>[\d.]+) to below (?P<hi>[\d.]+): merit (?P<merit>[\d.]+%)",
     N_("rating {rating}, compa-ratio {lo} to below {hi}: merit {merit}")),
    (r"rating (?P<rating>\S+), compa-ratio (?P<lo>[\d.]+) and above: merit (?P<merit>[\d.]+%)",
     N_("rating {rating}, compa-ratio {lo} and above: merit {merit}")),
    (r"rating (?P<rating>\S+), compa-ratio below (?P<hi>[\d.]+): merit (?P<merit>[\d.]+%)",
     N_("rating {rating}, compa-ratio below {hi}: merit {merit}")),
    (r"rating (?P<rating>\S+): step (?P<step>\d+) -> step (?P<new_step>\d+) \((?P<moved>[+-]\d+) steps?\)",
     N_("rating {rating}: step {step} -> step {new_step} ({moved} steps)")),
    (r"no promotion rule from grade (?P<grade>\S+)", N_("no promotion rule from grade {grade}")),
    (r"not promoted to (?P<grade>\S+) \(not met: (?P<unmet>[^)]*)\): (?P<detail>.*)",
     N_("not promoted to {grade} (not met: {unmet}): {detail}")),
    (r"promote to (?P<grade>\S+): (?P<detail>.*)", N_("promote to {grade}: {detail}")),
    (r"demote to (?P<grade>\S+): (?P<detail>.*)", N_("demote to {grade}: {detail}")),
    (r"(?P<years>[\d.]+) years in (?P<grade>\S+) \(≥ (?P<min>[\d.]+)\)",
     N_("{years} years in {grade} (≥ {min})")),
    (r"ratings (?P<ratings>[^()]+) \(at least (?P<min>[^()]+)\)", N_("ratings {ratings} (at least {min})")),
    (r"(?:composite|overall score) (?P<score>[\d.]+) \(≥ (?P<min>[\d.]+)\)", N_("overall score {score} (≥ {min})")),
    (r"(?P<indicator>[^,;()]+?) score (?P<score>[\d.]+) \(≥ (?P<min>[\d.]+)\)",
     N_("{indicator} score {score} (≥ {min})")),
    (r"(?P<indicator>[^,;()]+?) score", N_("{indicator} score")),
    (r"overall score (?P<score>[\d.]+) below the gate (?P<gate>[\d.]+): (?P<pct>[\d.]+%) paid",
     N_("overall score {score} below the gate {gate}: {pct} paid")),
    (r"capped at (?P<times>[\d.]+) × annual base", N_("capped at {times} × annual base")),
    (r"no value or target: scored as on target \((?P<score>[\d.]+)\)",
     N_("no value or target: scored as on target ({score})")),
]

#: fixed texts the engine writes (marked here so that the catalog carries their translations)
ENGINE_TEXTS = (
    N_("left before the end of the cycle: no raise"), N_("left before the end of the cycle: no promotion or demotion"),
    N_("overall score below the bonus threshold: no bonus"), N_("no score: no rating and no bonus"),
    N_("not employed during the cycle: no pay"), N_("no value: left out, weight shared out"),
    N_("ratings"), N_("composite"), N_("overall score"), N_("years in grade"),
)

#: words the reports show for codes in their tables (cost components, checks, units, groupings)
REPORT_TERMS = (
    N_("Base pay"), N_("Allowances"), N_("Bonus paid"), N_("Commission"), N_("Bonus deferred"),
    N_("Employer contributions"), N_("Total"), N_("Commission paid"), N_("Commission deferred"),
    N_("People"), N_("Sales basis"), N_("Commission lines"), N_("Total cash"), N_("Bonus"),
    N_("Deferral schedule"), N_("Employer cost"), N_("CNY"), N_("Commission at cap"),
    N_("Rater gives everyone the same score"), N_("Rating far from history"),
    N_("Pay change above the merit matrix"), N_("Clawback"), N_("Base salary outside the grade range"),
    N_("Grade"), N_("Region"), N_("Branch"), N_("Gender"), N_("Age band"), N_("Tenure band"), N_("Rating"),
    N_("Total cash"), N_("Composite"), N_("Fixed pay share"), N_("Deferral share"), N_("Deferral years"),
    N_("Deferral pace"), N_("All people"), N_("Head office"), N_("Clawbacks"), N_("Service"), N_("Waiting time"),
    N_("Fees"),
)

#: the names in the bundled policies (indicators, products, grades, categories, allowances, feedback texts):
#: a policy written in English reads in Chinese on a Chinese statement; names the catalog lacks stay as written
POLICY_TERMS = (
    N_("Average daily deposits"), N_("Loan balance"), N_("Fee income"), N_("FTP profit"), N_("New customers"),
    N_("Non-performing loan ratio"), N_("Customer satisfaction"), N_("Customer loyalty (repeat purchases)"),
    N_("Referrals of new customers"), N_("Complaint handling time"), N_("Professional knowledge"),
    N_("Communication"), N_("Customer service"), N_("Risk management"), N_("Teamwork and leadership"),
    N_("Innovation"), N_("Work attitude"), N_("Compliance and discipline"), N_("Mutual funds"),
    N_("Bancassurance"), N_("Wealth management products"), N_("Loan disbursements"), N_("Funds sales"),
    N_("Junior customer manager"), N_("Customer manager"), N_("Senior customer manager"), N_("Regional manager"),
    N_("Performance"), N_("Ability"), N_("Attitude"), N_("Transport"), N_("Meals"), N_("Housing"),
    N_("Attitude of service"), N_("Competence"), N_("Responsiveness"),
    N_("Grow average daily deposits by reviewing idle balances of your top customers each month and offering "
       "term deposits before maturities."),
    N_("Build the loan pipeline early in the quarter; agree a visit plan for small-business customers with your "
       "supervisor."),
    N_("Raise fee income by offering settlement, custody and card services to customers who only hold deposits."),
    N_("Improve FTP profit by favouring low-cost current deposits and pricing loans within the guidance."),
    N_("Win new customers through payroll services for local employers and events at the branch."),
    N_("Keep loan quality high by checking early-warning signals monthly and visiting borrowers who pay late."),
    N_("Ask customers for feedback after each visit and follow up on any question within one working day."),
    N_("Stay in touch with customers after a purchase so that they come back; review maturities together."),
    N_("Ask satisfied customers whether friends or business partners could benefit from the bank's services."),
    N_("Answer complaints faster; acknowledge each complaint the same day and agree a date for the answer."),
    N_("Take the bank's wealth-management and credit courses and pass the next qualification exam."),
    N_("Prepare customer meetings with a short agenda and summarise agreed next steps in writing."),
    N_("Agree service standards with your team and check them monthly against customer feedback."),
    N_("Review the risk checklist before each credit proposal and discuss doubtful cases with risk colleagues "
       "early."),
    N_("Share leads and good practice at team meetings and support newer colleagues."),
    N_("Propose one improvement to a process or product offer each quarter."),
    N_("Plan your week with your supervisor and keep commitments to customers and colleagues."),
    N_("Follow the sales-suitability and anti-money-laundering rules on every sale; ask compliance when unsure."),
)


def sentence(text: str, lang: str | None) -> str:
    """A note as a sentence: first letter capitalised and a full stop (zh-CN: 。) unless it has one."""
    t = str(text).strip()
    if not t:
        return t
    if resolve(lang) == "zh-CN":
        return t if t[-1] in "。.!！?？" else t + "。"
    t = t[0].upper() + t[1:]
    return t if t[-1] in ".!?" else t + "."


def currency_label(currency: str, lang: str | None) -> str:
    """The unit in a column header: 元 for CNY in Chinese, else the currency code."""
    return _CURRENCY_SIGN.get(currency, currency) if resolve(lang) == "zh-CN" else currency


# ------------------------------------------------------------------------------------------ formats


def _missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return bool(isinstance(x, float) and math.isnan(x)) or (hasattr(x, "__float__") and math.isnan(float(x)))
    except (TypeError, ValueError):
        return False


#: the locales whose decimal pattern ``#,##0.0…`` Babel renders with ',' grouping by threes, '.' and '-' (CLDR):
#: :func:`number` formats them directly, in the same way (a statement formats hundreds of numbers)
_PLAIN_LOCALES = ("zh_CN", "en")
_QUANTUM = [_decimal.Decimal(1).scaleb(-d) for d in range(10)]
_FORMATS = [f",.{d}f" for d in range(10)]
_FAST_BOUND = [10.0 ** (15 - d) for d in range(10)]


@functools.lru_cache(maxsize=64)
def _plain_locale(lang: str | None) -> bool:
    """Whether :func:`number` formats ``lang`` directly (zh-CN, en), computed once per spelling of the language."""
    return locale_name(lang or DEFAULT) in _PLAIN_LOCALES


def number(x: Any, lang: str | None = None, decimals: int = 0) -> str:
    """A number with the locale's grouping: 1234567.8 -> '1,234,568' (decimals 0); '' when missing.

    As Babel's ``format_decimal(x, '#,##0.00', locale)``, character for character: the float's shortest decimal
    form (``str``) rounded half to even at ``decimals`` places, '-' for a negative number (-0.001 -> '-0.00').
    zh-CN and en are formatted here directly (tests/test_i18n.py checks the two agree); other locales by Babel."""
    if isinstance(x, float) and 0 <= decimals < len(_QUANTUM) and _plain_locale(lang):
        # fast path (a statement formats hundreds of numbers): where a float's spacing is under 10**-decimals
        # (|x| < 10**(15 - decimals)), its shortest decimal form r rounds at ``decimals`` places as the float
        # itself does (printf's correct rounding) unless r lies exactly on a half (r has decimals + 1 places
        # ending in 5: then the Decimal path below rounds it half to even)
        if x != x:
            return ""
        r = float.__repr__(x)  # numpy's float64 repr is np.float64(…)
        dot = r.find(".")
        if (dot >= 0 and "e" not in r and -_FAST_BOUND[decimals] < x < _FAST_BOUND[decimals]
                and not (len(r) - dot - 2 == decimals and r[-1] == "5")):
            return format(x, _FORMATS[decimals])
    if _missing(x):
        return ""
    locale = locale_name(lang or DEFAULT)
    if locale in _PLAIN_LOCALES and 0 <= decimals < len(_QUANTUM):
        d = _decimal.Decimal(str(float(x)))
        if d.is_finite():
            text = format(abs(d).quantize(_QUANTUM[decimals]), ",f")
            return "-" + text if d.is_signed() else text
    from babel.numbers import format_decimal

    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    return format_decimal(float(x), format=pattern, locale=locale)


def money(x: Any, lang: str | None = None, currency: str = "CNY", decimals: int = 2) -> str:
    """An amount with thousands separators and two decimals: '1,234.56 元' (en: 'CNY 1,234.56')."""
    if _missing(x):
        return ""
    s = number(x, lang, decimals)
    if resolve(lang) == "zh-CN" and currency in _CURRENCY_SIGN:
        return f"{s} {_CURRENCY_SIGN[currency]}"
    return f"{currency} {s}"


def amount(x: Any, lang: str | None = None, decimals: int = 2) -> str:
    """An amount without the currency (the unit is in the column header): '1,234.56'."""
    return number(x, lang, decimals)


def wan(x: Any, lang: str | None = None, currency: str = "CNY", decimals: int = 1) -> str:
    """A large amount in 万 (ten thousands): 123456 -> '12.3万元' (en: 'CNY 123.5k')."""
    if _missing(x):
        return ""
    if resolve(lang) == "zh-CN":
        unit = "万" + _CURRENCY_SIGN.get(currency, currency)
        return number(float(x) / 1e4, lang, decimals) + unit
    return f"{currency} " + number(float(x) / 1e3, lang, decimals) + "k"


def percent(x: Any, lang: str | None = None, decimals: int = 0) -> str:
    """A fraction as a percentage: 0.123 -> '12%' (decimals 0)."""
    if _missing(x):
        return ""
    return number(float(x) * 100, lang, decimals) + "%"


def date(x: Any, lang: str | None = None) -> str:
    """A date in the locale's long form: '2025年7月21日' (en: '21 July 2025')."""
    if _missing(x) or (hasattr(x, "year") is False and not isinstance(x, str)):
        return ""
    import pandas as pd
    from babel.dates import format_date

    ts = pd.Timestamp(x)
    if pd.isna(ts):
        return ""
    d = _dt.date(ts.year, ts.month, ts.day)
    if resolve(lang) == "zh-CN":
        return format_date(d, format="long", locale="zh_CN")
    return format_date(d, format="d MMMM y", locale="en")


def month(period: str, lang: str | None = None) -> str:
    """A month 'YYYY-MM' in words: '2025年7月' (en: 'July 2025')."""
    from babel.dates import format_skeleton

    d = _dt.date(int(str(period)[:4]), int(str(period)[5:7]), 1)
    return format_skeleton("yMMMM", d, locale=locale_name(lang or DEFAULT))


def extract_notebook(fileobj: Any, keywords: Any, comment_tags: Any, options: Any) -> Any:
    """Babel extractor for Jupyter notebooks (babel.cfg: ``[compkit.i18n.extract_notebook: notebooks/**.ipynb]``):
    the messages in the code cells, as Babel's Python extractor finds them."""
    import json

    from babel.messages.extract import extract_python

    nb = json.loads(fileobj.read().decode("utf-8"))
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = "".join(cell.get("source", [])) if isinstance(cell.get("source"), list) else cell.get("source", "")
        lines = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
        yield from extract_python(io.BytesIO(lines.encode("utf-8")), keywords, comment_tags, options)


def settle_template(template: str | Path = LOCALE_DIR / "compkit.pot", new: str | Path | None = None) -> bool:
    """``make locale``: move the freshly extracted ``new`` template (default ``<template>.new``) over ``template``
    unless the two differ only in their POT-Creation-Date, in which case the committed one is kept (so ``make
    locale`` on an unchanged tree changes nothing). Returns whether the messages changed."""
    import re

    template = Path(template)
    new = Path(new) if new is not None else template.with_name(template.name + ".new")
    undated = lambda p: re.sub(r'"POT-Creation-Date: [^"]*"\n', "", p.read_text(encoding="utf-8"))  # noqa: E731
    changed = not template.exists() or undated(template) != undated(new)
    if changed:
        new.replace(template)
    else:
        new.unlink()
    return changed


# ---------------------------------------------------------------------------------------- templates


@functools.cache
def _environment_class() -> Any:
    """jinja2.Environment whose attribute look-up (``p.name`` in a template) reads a plain dict's key directly:
    Jinja2 tries ``getattr`` first and, for a dict, reaches the key only after an AttributeError is raised and
    caught (about a microsecond each, a hundred times a statement). The value is the same: a plain dict has no
    attributes but those of ``dict`` itself (``items``, ``get`` ...), which are still looked up first."""
    import jinja2

    dict_attributes = frozenset(dir(dict))

    class Environment(jinja2.Environment):
        def getattr(self, obj: Any, attribute: str) -> Any:
            if type(obj) is dict and attribute not in dict_attributes:
                try:
                    return obj[attribute]
                except KeyError:
                    pass
            return super().getattr(obj, attribute)

    return Environment


@functools.cache
def environment(lang: str) -> Any:
    """The Jinja2 environment of a language: templates from ``compkit/templates``, autoescaped, strict about
    undefined names, the i18n extension with this language's catalog, and the format filters
    (``money``, ``amount``, ``wan``, ``number``, ``percent``, ``date``, ``month``)."""
    import jinja2

    lang = resolve(lang)
    env = _environment_class()(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)), autoescape=True,
                             undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.i18n"],
                             trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(translations(lang), newstyle=True)
    env.filters.update({
        "money": lambda x, currency="CNY": money(x, lang, currency),
        "amount": lambda x, decimals=2: amount(x, lang, decimals),
        "wan": lambda x, currency="CNY": wan(x, lang, currency),
        "number": lambda x, decimals=0: number(x, lang, decimals),
        "percent": lambda x, decimals=0: percent(x, lang, decimals),
        "date": lambda x: date(x, lang),
        "month": lambda x: month(x, lang),
    })
    env.globals.update(lang=lang, html_lang=lang)
    return env


def render(template: str, lang: str | None, **context: Any) -> str:
    """Render ``compkit/templates/<template>`` in ``lang`` with exactly the given context."""
    return environment(resolve(lang)).get_template(template).render(**context)
