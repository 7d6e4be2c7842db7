"""How the review reports look: styled tables (pandas Styler), headline figures with flags, a table of contents
and section prose, in the report's language. Notebooks call these; they compute nothing about pay.

Conventions every report follows (stated once, in the report's introduction):
- amounts in 元 with thousands separators, large amounts in 万元 (ten thousand 元), the unit in the column header;
- numbers right-aligned; shares as percentages;
- a gap is positive when the group is paid less than the reference group (see compkit.fairness);
- flags carry a colour and a word: 正常 (green), 关注 (amber), 警示 (red).
"""
from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from compkit import i18n
from compkit.i18n import N_

#: flag levels: colour and the word shown with it
FLAGS = {"ok": ("#548235", N_("OK")), "watch": ("#bf8f00", N_("Watch")), "alert": ("#c00000", N_("Alert"))}

#: the sound-pay guideline (商业银行稳健薪酬监管指引, 银监发〔2010〕14号): basic (fixed) pay generally no more than
#: 35% of total pay
FIXED_PAY_LIMIT = 0.35

#: column names that auto() shows in the report's language (groupings); other names stay as written
GROUPINGS = ("gender", "age_band", "region", "tenure_band", "grade", "branch", "check", "component", "rating")

#: column kinds: how a column is formatted (its unit goes into the header)
KINDS = ("text", "term", "int", "num1", "num2", "money", "wan", "pct", "pct1", "points", "flag", "bool")

CSS = [
    {"selector": "", "props": "border-collapse:collapse;margin:.4em 0 1em;font-size:.95em;"},
    {"selector": "th", "props": "background:#305496;color:#fff;font-weight:600;padding:.35em .7em;"
                                "text-align:left;border:1px solid #d0d7e5;"},
    {"selector": "td", "props": "padding:.3em .7em;border:1px solid #d0d7e5;"},
    {"selector": "tbody tr:nth-child(even)", "props": "background:#f3f6fb;"},
    {"selector": "caption", "props": "caption-side:top;text-align:left;font-weight:600;padding:.3em 0;"},
]


@dataclass(frozen=True)
class Column:
    label: str  # English msgid of the header, with {unit} where the unit goes
    kind: str = "text"


@dataclass(frozen=True)
class Headline:
    """One figure of an executive summary: what, its value (already formatted), a flag and one sentence."""

    title: str
    value: str
    flag: str  # ok, watch, alert
    sentence: str


class Presenter:
    """Formats for one language: ``R = Presenter("zh-CN"); R.table(df, {...})``."""

    def __init__(self, lang: str | None = None, currency: str = "CNY") -> None:
        self.lang = i18n.resolve(lang)
        self.currency = currency
        self._ = i18n.gettext(self.lang)
        self._n = 0
        self._names: set[str] = set()

    # -------------------------------------------------------------------------------- values
    def unit(self, kind: str) -> str:
        _ = self._
        return {"money": i18n.currency_label(self.currency, self.lang),
                "wan": _("10k CNY") if self.lang == "en" else "万元", "pct": "%", "pct1": "%",
                "points": _("points")}.get(kind, "")

    def fmt(self, value: Any, kind: str) -> str:
        lang = self.lang
        if kind in ("text", "term"):
            if value is None or (isinstance(value, float) and pd.isna(value)):
                return ""
            return i18n.term(str(value), lang) if kind == "term" else str(value)
        if kind == "flag":
            return self.flag_word(value)
        if kind == "bool":
            return self._("yes") if bool(value) else self._("no")
        if kind == "int":
            return i18n.number(value, lang, 0)
        if kind in ("num1", "points"):
            return i18n.number(value, lang, 1)
        if kind == "num2":
            return i18n.number(value, lang, 2)
        if kind == "money":
            return i18n.amount(value, lang, 2)
        if kind == "wan":
            return i18n.number(None if value is None or pd.isna(value) else float(value) / 1e4, lang, 1)
        if kind == "pct":
            return i18n.percent(value, lang, 0)
        if kind == "pct1":
            return i18n.percent(value, lang, 1)
        raise ValueError(f"unknown column kind {kind!r}: expected one of {', '.join(KINDS)}")

    def flag_word(self, level: Any) -> str:
        if level is None or (isinstance(level, float) and pd.isna(level)) or level == "":
            return ""
        colour, word = FLAGS[str(level)]
        return self._(word)

    def header(self, col: Column) -> str:
        unit = self.unit(col.kind)
        label = self._(col.label)
        return label.format(unit=unit) if "{unit}" in label else (f"{label}（{unit}）" if unit and self.lang ==
                                                                    "zh-CN" else f"{label} ({unit})" if unit
                                                                    else label)

    # -------------------------------------------------------------------------------- tables
    def table(self, df: pd.DataFrame, columns: Mapping[str, Column | tuple[str, str]], caption: str | None = None,
              flags: str | None = None, name: str | None = None) -> Any:
        """A styled table of ``df``'s ``columns`` (in that order): each {column: Column(label msgid, kind)}.
        ``flags``: a column of ok/watch/alert whose colour marks its cell with the word. Returns a Styler
        (deterministic HTML: a fixed id from ``name``)."""
        cols = {c: (spec if isinstance(spec, Column) else Column(*spec)) for c, spec in columns.items()}
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise KeyError(f"table: columns {missing} not in the table (it has {list(df.columns)})")
        shown = df[list(cols)].reset_index(drop=True)
        raw_flags = shown[flags].astype(object) if flags else None
        headers = {c: self.header(spec) for c, spec in cols.items()}
        text = pd.DataFrame({headers[c]: [self.fmt(v, spec.kind) for v in shown[c]] for c, spec in cols.items()})
        self._n += 1
        uuid = name or f"t{self._n}"
        if uuid in self._names:  # a table drawn in a loop: each gets its own id (same order, same ids)
            uuid = f"{uuid}_{self._n}"
        self._names.add(uuid)
        styler = text.style.hide(axis="index").set_table_styles(CSS)
        styler = styler.set_uuid(uuid)
        numeric = [headers[c] for c, spec in cols.items() if spec.kind not in ("text", "term", "flag", "bool")]
        words = [h for h in text.columns if h not in numeric]
        if words:
            styler = styler.set_properties(subset=words, **{"text-align": "left"})
        if numeric:
            styler = styler.set_properties(subset=numeric, **{"text-align": "right",
                                                               "font-variant-numeric": "tabular-nums",
                                                               "white-space": "nowrap"})
        if raw_flags is not None:
            colours = [FLAGS[str(f)][0] if str(f) in FLAGS else "" for f in raw_flags]
            target = headers[flags]
            styler = styler.apply(lambda s: [f"color:{c};font-weight:600" if c else "" for c in colours],
                                  subset=[target])
        if caption:
            styler = styler.set_caption(caption)
        return styler

    def auto(self, df: pd.DataFrame, name: str | None = None, caption: str | None = None) -> Any:
        """A styled table of every column, kinds inferred: whole numbers -> int, shares (names with 'share' or
        'rate') -> pct, other numbers -> 2 decimals, the rest text; headers are the column names in words."""
        cols = {}
        for c in df.columns:
            s = df[c]
            if pd.api.types.is_bool_dtype(s):
                kind = "bool"
            elif pd.api.types.is_integer_dtype(s):
                kind = "int"
            elif pd.api.types.is_float_dtype(s):
                kind = "pct" if any(k in str(c) for k in ("share", "rate")) else "num2"
            else:
                kind = "term" if str(c) in ("check", "component") else "text"
            words = str(c).replace("_", " ").capitalize() if str(c) == str(c).lower() else str(c)
            cols[c] = Column(i18n.term(str(c), self.lang) if str(c) in GROUPINGS else words, kind)
        return self.table(df, cols, name=name, caption=caption)

    def show(self, obj: Any) -> Any:
        """Display a Styler or HTML string in the notebook as HTML (no text dump)."""
        from IPython.display import HTML, display

        display(HTML(obj.to_html() if hasattr(obj, "to_html") else str(obj)))

    # -------------------------------------------------------------------------------- prose
    def summary(self, headlines: Sequence[Headline]) -> str:
        """The executive summary: a card per headline figure, each with its flag (colour and word) and one
        sentence."""
        cards = []
        for h in headlines:
            colour, _word = FLAGS[h.flag]
            cards.append(
                f'<div style="border-left:6px solid {colour};background:#f7f9fc;padding:.5em .9em;margin:.5em 0">'
                f'<div style="font-weight:600">{html.escape(h.title)}'
                f' <span style="color:{colour};border:1px solid {colour};border-radius:3px;padding:0 .35em;'
                f'font-size:.85em;margin-left:.4em">{html.escape(self.flag_word(h.flag))}</span></div>'
                f'<div style="font-size:1.5em;font-weight:600;font-variant-numeric:tabular-nums">'
                f'{html.escape(h.value)}</div><div>{html.escape(h.sentence)}</div></div>')
        return "".join(cards)

    def toc(self, sections: Sequence[tuple[str, str]]) -> str:
        """A table of contents: [(anchor, title)] -> linked list."""
        items = "".join(f'<li><a href="#{html.escape(a)}">{html.escape(t)}</a></li>' for a, t in sections)
        title = self._("Contents")
        return (f'<nav><h2 id="toc">{html.escape(title)}</h2>'
                f'<ul style="list-style:none;padding-left:1em">{items}</ul></nav>')

    def heading(self, anchor: str, title: str, level: int = 2) -> str:
        return f'<h{level} id="{html.escape(anchor)}">{html.escape(title)}</h{level}>'

    def para(self, text: str) -> str:
        return "<p>" + html.escape(text) + "</p>"

    def bullets(self, items: Sequence[str]) -> str:
        return "<ul>" + "".join(f"<li>{html.escape(t)}</li>" for t in items) + "</ul>"


def anchor(title: str) -> str:
    """A stable anchor for a heading."""
    return re.sub(r"[^0-9a-zA-Z]+", "-", title).strip("-").lower() or "s"


def flag(value: float, watch: float, alert: float, higher_is_worse: bool = True) -> str:
    """ok / watch / alert for a value against two thresholds (``higher_is_worse``: at or above ``alert`` is an
    alert; otherwise at or below)."""
    if pd.isna(value):
        return "watch"
    if higher_is_worse:
        return "alert" if value >= alert else ("watch" if value >= watch else "ok")
    return "alert" if value <= alert else ("watch" if value <= watch else "ok")


def pay_mix_flags(mix: pd.DataFrame, limit: float = FIXED_PAY_LIMIT) -> pd.DataFrame:
    """The pay mix with the guideline's limit: base_share (base salary over total pay, review.pay_mix) against
    ``limit``; flag alert when base_share > limit, watch within 5 points below it."""
    out = mix.copy()
    out["limit"] = limit
    out["flag"] = [flag(b, limit - 0.05, limit + 1e-12) for b in out["base_share"]]
    return out


# ------------------------------------------------------------------------------------ policy review


#: the policy review's sections: (anchor, title msgid, introduction msgid)
REVIEW_SECTIONS = (
    ("summary", N_("Executive summary"),
     N_("Five figures a director needs, each with a flag: green OK, amber Watch, red Alert.")),
    ("cost", N_("1. Cost against budget by component"),
     N_("Employer cost is base pay, allowances, the bonus paid now and deferred, commission, and the employer's "
        "social insurance and housing fund contributions (五险一金). Every total is the sum of the per-person "
        "amounts, rounded to the cent.")),
    ("mix", N_("2. Pay mix"),
     N_("Base salary against variable pay (bonus and commission), by grade. The supervisory guideline for "
        "commercial banks (商业银行稳健薪酬监管指引) expects base salary to be generally no more than 35% of total "
        "pay, so that pay follows results; grades above the limit are flagged.")),
    ("compliance", N_("2a. Sound-pay compliance (稳健薪酬)"),
     N_("Does the policy meet the supervisory guideline for commercial banks (商业银行稳健薪酬监管指引, "
        "银监发〔2010〕14号)? Each row is a rule for a population: the measured value, the policy's limit, pass or "
        "fail, and how many people the rule concerns. Fixed pay is base pay and allowances; performance pay is the "
        "bonus and commission awarded (paid now and deferred). Key roles should defer at least 40% of their "
        "performance pay over at least 3 years. The candidate's checks follow this year's.")),
    ("wagebill", N_("2b. The wage bill from head office to each unit (工资总额 → 二次分配)"),
     N_("The year's wage bill is split from head office to regions and branches by each unit's results and "
        "head-count, and each unit's pool is then paid to its people by their overall score. Where this year's "
        "policy sets no wage bill, the table shows how this year's bonus total would be allocated under an "
        "illustrative one (half by head-count, half by results). Every level adds up to its parent's pool to the "
        "cent; units of fewer than the minimum group size show no figures.")),
    ("attainment", N_("3. Target attainment"),
     N_("Are targets challenging yet achievable? A share reaching target near one half, with few people scored "
        "zero, says yes; a share near zero or one says the targets need resetting (see the calibration report's "
        "target proposals).")),
    ("pfp", N_("4. Pay for performance"),
     N_("Pay should rise with the rating and the overall score. The elasticity is the percentage rise in "
        "variable pay (bonus and commission) for a 1% higher overall score.")),
    ("concentration", N_("5. Concentration of commission"),
     N_("A Gini coefficient near 0 means commission is spread evenly; near 1, a few managers earn most of it.")),
    ("trends", N_("6. Trends by month and quarter"),
     N_("Commission paid each month (clawbacks of reversed sales are negative lines) and attainment by "
        "quarter.")),
    ("appeals", N_("7. Appeals and supervision checks"),
     N_("Appeals filed against this cycle's results, how they were decided, and what the upheld ones change. "
        "Supervision (监督): do the results add up from the inputs to the outputs, to the cent, and how many "
        "results deserve a second look before they are paid? Only counts are shown here; the people flagged "
        "are listed in the confidential workbook that compkit evaluate writes.")),
    ("voice", N_("7a. The customer's voice"),
     N_("Complaints by category, unit and month: how many, the share upheld, the median days to resolve them and "
        "the share resolved within the target. Units with fewer than the minimum group size show no figures.")),
    ("candidate", N_("8. The candidate policy"),
     N_("What the candidate changes, key by key, and what that does to cost and to people (same people, same "
        "results).")),
    ("uncertainty", N_("9. Next year's cost under uncertainty"),
     N_("Next year's people are those employed at the cycle's end, in the grade this year's promotions and "
        "demotions give them, at this year's salary review result (on a new grade, the pay evaluate places them "
        "at), for a full year; allowances follow those bases; employer contributions follow the law's bases "
        "(January-June on the average monthly wage of this year's year before, July-December on this year's "
        "average monthly wage). Each scenario moves "
        "sales and metrics by a market shock common to everyone and by individual changes drawn from this "
        "year's, then recomputes scores, bonus (with the pool or the wage bill), commission and special awards "
        "with the engine's own rules. The percentiles say how much next year's cost could move; the probability "
        "says how likely the budget is exceeded.")),
    ("sensitivity", N_("10. Sensitivity of cost to each knob"),
     N_("Each knob is moved down and up on its own and the whole policy re-evaluated; the longest bars are the "
        "knobs that matter most for cost.")),
)


def section(R: Presenter, key: str, sections: Sequence[tuple[str, str, str]] = REVIEW_SECTIONS) -> str:
    """A section's heading and introduction (HTML), in the presenter's language."""
    anchor_, title, intro = next(s for s in sections if s[0] == key)
    return R.heading(anchor_, R._(title)) + R.para(R._(intro))


def contents(R: Presenter, sections: Sequence[tuple[str, str, str]] = REVIEW_SECTIONS) -> str:
    return R.toc([(a, R._(t)) for a, t, _i in sections])


def review_headlines(R: Presenter, *, total: float, budget: float, candidate_version: str, change: float,
                     change_pct: float, p50: float, p95: float, prob_over: float, scenarios: int, reach: float,
                     top: str, mid: str, spread: float) -> list[Headline]:
    """The policy review's five headline figures, each with a flag and one sentence.

    1 cost vs budget: alert over budget, watch within 2% of it; 2 the candidate's cost change on this year's
    people: watch above +3%; 3 P(next year's cost over budget): watch above 20%, alert above 50%;
    4 share reaching target (median over indicators): watch outside 30%..70%; 5 mean total cash of the top
    rating over the middle one: watch below 1.2x."""
    _, lang = R._, R.lang
    over = total / budget - 1 if budget else float("nan")
    h1 = Headline(_("This year's employer cost against the budget"),
                  _("{total} of {budget}").format(total=i18n.wan(total, lang), budget=i18n.wan(budget, lang)),
                  flag(over, -0.02, 1e-12),
                  (_("Cost is {pct} over the budget.") if over > 0 else _("Cost is {pct} under the budget."))
                  .format(pct=i18n.percent(abs(over), lang, 1)))
    h2 = Headline(_("Candidate {version} on this year's people").format(version=candidate_version),
                  i18n.wan(change, lang), "watch" if change_pct > 3 else "ok",
                  _("The candidate changes total cost by {pct} on the same people and results.").format(
                      pct=("+" if change_pct > 0 else "") + i18n.number(change_pct, lang, 1) + "%"))
    h3 = Headline(_("Next year's cost under the candidate"),
                  _("median {p50}, 95th percentile {p95}").format(p50=i18n.wan(p50, lang), p95=i18n.wan(p95, lang)),
                  flag(prob_over, 0.2 + 1e-12, 0.5 + 1e-12),
                  _("In {pct} of {n} simulated years the cost exceeds next year's budget.").format(
                      pct=i18n.percent(prob_over, lang, 0), n=i18n.number(scenarios, lang, 0)))
    h4 = Headline(_("Managers reaching 100% of target"), i18n.percent(reach, lang, 0),
                  "watch" if (reach > 0.7 or reach < 0.3) else "ok",
                  _("Targets look too easy: reset them upwards.") if reach > 0.7 else
                  _("Targets look too hard: reset them downwards.") if reach < 0.3 else
                  _("Targets are challenging yet achievable (median over indicators)."))
    h5 = Headline(_("Pay for performance"), _("{spread}×").format(spread=i18n.number(spread, lang, 2)),
                  "watch" if spread < 1.2 else "ok",
                  _("Managers rated {top} earn {spread} times the total cash of those rated {mid} on average.")
                  .format(top=top, mid=mid, spread=i18n.number(spread, lang, 2)))
    return [h1, h2, h3, h4, h5]


# ================================================================================ policy changes in words

#: a policy key path in words: (pattern of the path, the words as a whole sentence with named parts, how its
#: values read). The first pattern that matches the whole path wins; a path none matches reads as itself.
CHANGE_WORDS: tuple[tuple[str, str, str], ...] = (
    (r"version", N_("Policy version"), "text"),
    (r"budget", N_("Budget for the year"), "wan"),
    (r"scorecard\.indicators\[(?P<indicator>[^\]]+)\]\.weight", N_("Weight of the indicator {indicator}"), "pct"),
    (r"scorecards\[(?P<scorecard>[^\]]+)\]\.weights\.(?P<indicator>\w+)",
     N_("Weight of the indicator {indicator} in the scorecard {scorecard}"), "pct"),
    (r"scorecards\[(?P<scorecard>[^\]]+)\]\.categories\.(?P<category>\w+)",
     N_("Weight of the category {category} in the scorecard {scorecard}"), "pct"),
    (r"scorecard\.categories\.(?P<category>\w+)", N_("Weight of the category {category}"), "pct"),
    (r"bonus\.curve\[(?P<point>\d+)\]\[0\]", N_("Bonus curve, point {point}: overall score"), "num1"),
    (r"bonus\.curve\[(?P<point>\d+)\]\[1\]", N_("Bonus curve, point {point}: multiple of the target bonus"), "num2"),
    (r"commission\.products\[(?P<product>[^\]]+)\]\.tiers\[(?P<tier>\d+)\]\.upto",
     N_("Commission on {product}, tier {tier}: upper bound"), "money"),
    (r"commission\.products\[(?P<product>[^\]]+)\]\.tiers\[(?P<tier>\d+)\]\.rate",
     N_("Commission on {product}, tier {tier}: rate"), "rate"),
    (r"commission\.products\[(?P<product>[^\]]+)\]\.rate", N_("Commission rate on {product}"), "rate"),
    (r"commission\.products\[(?P<product>[^\]]+)\]\.rate_per_10k",
     N_("Commission on {product}: CNY per 10,000"), "num2"),
)


def _rate(value: float, lang: str) -> str:
    """A rate as a percentage with the decimals it needs (up to 4): 0.042 -> '4.2%', 0.0005 -> '0.05%'."""
    for decimals in range(5):
        if abs(round(value * 100, decimals) - value * 100) < 1e-9:
            return i18n.percent(value, lang, decimals)
    return i18n.percent(value, lang, 4)


def change_in_words(path: str, policy: Any, lang: str | None = None) -> tuple[str, str]:
    """A policy key path (``scorecards[corporate].weights.fee_income``) as words in ``lang`` ('评分卡“对公客户经理”中
    指标“中间业务收入”的权重') and how its values read (a kind of :data:`KINDS`, or ``rate``). Indicators,
    scorecards and products go by their names in the policy, in the reader's language."""
    _ = i18n.gettext(lang)
    names = {
        "indicator": {i.id: i.name or i.id for i in policy.scorecard.indicators},
        "scorecard": {s.id: s.name or s.id for s in policy.scorecards},
        "product": {p.id: p.name or p.id for p in policy.commission.products},
    }
    for pattern, msgid, kind in CHANGE_WORDS:
        m = re.fullmatch(pattern, path)
        if m is None:
            continue
        parts = {}
        for key, value in m.groupdict().items():
            if key in ("point", "tier"):
                parts[key] = str(int(value) + 1)  # people count from 1
            else:
                parts[key] = i18n.term(names.get(key, {}).get(value, value), lang)
        return _(msgid).format(**parts), kind
    return path, "text"


def policy_changes(changes: Sequence[Any], policy: Any, lang: str | None = None,
                   currency: str = "CNY") -> pd.DataFrame:
    """What a candidate changes, one row per key path: ``item`` (the path in words, :func:`change_in_words`),
    ``before`` and ``after`` as the reader reads them (weights and rates as percentages, amounts with their unit),
    and ``key`` (the path itself, for the analyst who edits the file)."""
    lang = i18n.resolve(lang)
    R = Presenter(lang, currency)
    rows = []
    for change in changes:
        item, kind = change_in_words(change.path, policy, lang)

        def shown(value: Any, kind: str = kind) -> str:
            if value is None or isinstance(value, (dict, list, bool)) or kind == "text":
                return "" if value is None else str(value)
            try:
                number = float(value)
            except (TypeError, ValueError):
                return str(value)
            if kind == "rate":
                return _rate(number, lang)
            if kind == "money":
                return i18n.money(number, lang, currency)
            if kind == "wan":
                return i18n.wan(number, lang, currency)
            return R.fmt(number, kind)

        rows.append({"item": item, "before": shown(change.before), "after": shown(change.after), "key": change.path})
    return pd.DataFrame(rows, columns=["item", "before", "after", "key"])
