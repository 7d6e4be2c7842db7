"""The published appraisal rules (考核办法) written from the policy file: what employees are entitled to read
before the cycle starts (考核标准公开).

``compkit rules --policy P --out DIR`` writes ``DIR/rules.html`` (template ``templates/rules.html.j2``, in the
policy's language or ``--lang``): each indicator with its weight and its scoring curve in words and in a small
chart, the rating bands and guided shares, commission by product with its tier table, the bonus curve, the salary
review (merit) matrix, promotion and demotion rules and the appeal window. Nothing here reads people's data.
"""
from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import numpy as np

from compkit import i18n
from compkit.i18n import N_
from compkit.policy import BandedCurve, InverseCurve, PiecewiseCurve, Policy, RatioCurve, ScaleCurve

#: the document's sections in order: (anchor, heading level, title, the context key that must be non-empty for the
#: section to be there, or None). The contents list and every heading are made from this one list
#: (:func:`sections`, the template's ``heading`` macro), so the contents cannot miss a section or list one the
#: document does not have.
SECTIONS: tuple[tuple[str, int, str, str | None], ...] = (
    ("scorecard", 2, N_("1. The scorecard"), None),
    ("populations", 3, N_("Scorecards by population"), "populations"),
    ("ratings", 2, N_("2. Ratings"), None),
    ("commission", 2, N_("3. Commission"), None),
    ("balances", 3, N_("Deposits and holdings: paid on balances"), "balance_rules"),
    ("coefficients", 3, N_("Coefficients by deposit type and payment term (折标系数)"), "coefficients"),
    ("quotas", 3, N_("Quotas: your own target"), "quotas"),
    ("clawback", 3, N_("Clawback of loan commission (不良贷款追索)"), "clawbacks"),
    ("bonus", 2, N_("4. Performance bonus"), None),
    ("deferral", 3, N_("Deferral"), "deferral_rules"),
    ("new-hires", 3, N_("New-hire protection"), "new_hire"),
    ("salary", 2, N_("5. Salary bands and the salary review"), None),
    ("steps", 3, N_("Pay steps (档)"), "steps"),
    ("step-review", 3, N_("How the salary review moves your step"), "step_moves"),
    ("career", 2, N_("6. Promotion and demotion"), None),
    ("appeals", 2, N_("7. Appeals"), None),
)


def sections(context: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    """The sections the document has for this policy (those of :data:`SECTIONS` whose context key is not empty),
    each with its anchor ``id``, ``level`` (2 a chapter, 3 a part of one) and ``title`` in ``lang``."""
    _ = i18n.gettext(lang)
    return [{"id": sid, "level": level, "title": _(title)} for sid, level, title, key in SECTIONS
            if key is None or context.get(key)]


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def curve_words(curve: Any, lang: str) -> str:
    """A scoring curve in one sentence (whole translated sentences with the policy's figures)."""
    _ = i18n.gettext(lang)
    pct = lambda x: i18n.percent(x, lang, 0)  # noqa: E731
    if isinstance(curve, RatioCurve):
        if curve.threshold > 0:
            return _("Score = 100 × actual ÷ target, at most {cap} points (reached at {capp} of target); below "
                     "{thr} of target the score is 0.").format(cap=i18n.number(100 * curve.cap, lang, 0),
                                                              capp=pct(curve.cap), thr=pct(curve.threshold))
        return _("Score = 100 × actual ÷ target, at most {cap} points (reached at {capp} of target).").format(
            cap=i18n.number(100 * curve.cap, lang, 0), capp=pct(curve.cap))
    if isinstance(curve, InverseCurve):
        return _("Lower is better: score = 100 × target ÷ actual, at most {cap} points; below {thr} the score is "
                 "0.").format(cap=i18n.number(100 * curve.cap, lang, 0), thr=pct(curve.threshold))
    if isinstance(curve, ScaleCurve):
        return _("On the {lo} to {hi} scale: {lo} scores 0 and {hi} scores 100, in a straight line.").format(
            lo=i18n.number(curve.min, lang, 0), hi=i18n.number(curve.max, lang, 0))
    if isinstance(curve, BandedCurve):
        x = (lambda v: pct(v)) if curve.input == "achievement" else (lambda v: i18n.number(v, lang, 2))
        steps = _("; ").join(_("from {x}: {score} points").format(x=x(b.min), score=i18n.number(b.score, lang, 0))
                             for b in curve.bands)
        return _("In steps: {steps}.").format(steps=steps)
    if isinstance(curve, PiecewiseCurve):
        x = (lambda v: pct(v)) if curve.input == "achievement" else (lambda v: i18n.number(v, lang, 2))
        pts = _("; ").join(_("{x}: {score} points").format(x=x(a), score=i18n.number(b, lang, 0))
                           for a, b in curve.points)
        return _("Straight lines between: {points}; flat beyond the ends.").format(points=pts)
    return ""


def curve_chart(curve: Any, lang: str) -> str | None:
    """A small chart of score against achievement (or the scale) as a data: URI."""
    import matplotlib.pyplot as plt

    from compkit import plots
    from compkit.scoring import curve_score

    plots.set_language(lang)
    _ = i18n.gettext(lang)
    if curve is None:
        return None
    if isinstance(curve, ScaleCurve):
        x = np.linspace(curve.min, curve.max, 200)
        _a, y = curve_score(x, np.ones_like(x), curve)
        xlabel = _("rating on the scale")
    elif isinstance(curve, (BandedCurve, PiecewiseCurve)) and curve.input == "actual":
        # scored on the value itself (a 1-5 rating, a survey score): the x axis spans the curve's own points
        edges = ([p[0] for p in curve.points] if isinstance(curve, PiecewiseCurve) else [b.min for b in curve.bands])
        span = max(edges) - min(edges) or 1.0
        x = np.linspace(min(edges) - 0.1 * span, max(edges) + 0.1 * span, 300)
        _a, y = curve_score(x, np.ones_like(x), curve)
        xlabel = _("value scored (rating or survey score)")
    elif isinstance(curve, InverseCurve):
        x = np.linspace(0.3, 2.5, 300)  # actual / target: lower is better
        _a, y = curve_score(x, np.ones_like(x), curve)
        xlabel = _("actual ÷ target (lower is better)")
    else:
        x = np.linspace(0, 1.6, 321)
        _a, y = curve_score(x, np.ones_like(x), curve)
        xlabel = _("actual ÷ target")
    fig, ax = plt.subplots(figsize=(3.2, 1.9))
    ax.plot(x, y, color=plots.BLUE, lw=1.6)
    ax.axhline(100, color=plots.GREY, lw=0.6, ls=":")
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(_("points"), fontsize=8)
    ax.tick_params(labelsize=7)
    fig.tight_layout()
    return _png(fig)


def bonus_chart(points: list[tuple[float, float]], lang: str) -> str:
    import matplotlib.pyplot as plt

    from compkit import plots

    plots.set_language(lang)
    _ = i18n.gettext(lang)
    xs = [p[0] for p in points]
    lo, hi = min(xs) - 10, max(xs) + 10
    grid = np.linspace(lo, hi, 300)
    fig, ax = plt.subplots(figsize=(4.2, 2.4))
    ax.plot(grid, np.interp(grid, xs, [p[1] for p in points]), color=plots.BLUE, lw=1.8)
    ax.scatter(xs, [p[1] for p in points], color=plots.ORANGE, s=14, zorder=3)
    ax.set_xlabel(_("overall score"), fontsize=8)
    ax.set_ylabel(_("bonus ÷ target bonus"), fontsize=8)
    ax.tick_params(labelsize=7)
    fig.tight_layout()
    return _png(fig)


def rules_context(policy: Policy, lang: str) -> dict[str, Any]:
    """Everything ``templates/rules.html.j2`` shows, from the policy alone."""
    _ = i18n.gettext(lang)
    sc = policy.scorecard
    term = lambda t: i18n.term(t, lang)  # noqa: E731
    grades = {g.id: term(g.title or g.id) for g in policy.grades}
    indicators = []
    for ind in sc.indicators:
        indicators.append({
            "name": term(ind.name or ind.id), "category": term(ind.category),
            "weight_in_category": ind.weight, "weight": ind.weight * sc.categories.get(ind.category, 0.0),
            "curve": curve_words(ind.curve, lang) if ind.curve is not None else
            _("Rated 1 to 5 by yourself, your supervisor and peers (weights {s}, {v}, {p}); the average is scored on "
              "the rating curve.").format(s=i18n.percent(sc.raters.self_, lang), v=i18n.percent(sc.raters.supervisor,
                                                                                              lang),
                                          p=i18n.percent(sc.raters.peer, lang)),
            "chart": curve_chart(ind.curve if ind.curve is not None else sc.rating_curve, lang)
            if (ind.curve is not None or sc.rating_curve is not None) else None})
    categories = [{"name": term(c), "weight": w} for c, w in sc.categories.items()]
    r = policy.ratings
    shares = r.guided.shares if (r.method == "guided" and r.guided is not None) else {}
    bands = [{"label": b.label, "name": policy.ratings.names.get(b.label, b.label) if hasattr(policy.ratings, "names")
              else (b.name or b.label), "min": b.min, "share": shares.get(b.label)} for b in r.bands]
    products = []
    for p in policy.commission.products:
        row = {"name": term(p.name or p.id), "method": None, "tiers": []}
        if p.rate is not None:
            row["rule"] = _("{rate} of sales").format(rate=i18n.percent(p.rate, lang, 2))
        elif getattr(p, "rate_per_10k", None) is not None and p.basis == "balance":
            row["rule"] = _("{amount} per 10,000 of average daily balance a year").format(
                amount=i18n.money(p.rate_per_10k, lang, policy.currency))
        elif getattr(p, "rate_per_10k", None) is not None:
            row["rule"] = _("{amount} per 10,000 of sales").format(amount=i18n.money(p.rate_per_10k, lang,
                                                                                     policy.currency))
        else:
            row["rule"] = (_("tiered, retroactive: once a tier is reached, all sales of the year are paid at its "
                             "rate") if p.method == "retroactive" else
                           _("tiered, marginal: each part of sales is paid at the rate of its own tier"))
            start = 0.0
            for t in p.tiers or []:
                lo = t.from_ if t.from_ is not None else start
                row["tiers"].append({"from": lo, "upto": t.upto, "rate": t.rate})
                start = t.upto if t.upto is not None else start
        products.append(row)
    gate = policy.commission.gate
    cap = policy.commission.cap
    b = policy.bonus
    bonus_points = [(float(x), float(y)) for x, y in (b.curve or [])]
    merit = policy.salary_review
    edges = merit.compa_ratio_bands
    band_names = ([_("below {x}").format(x=i18n.number(edges[0], lang, 2))]
                  + [_("{lo} to below {hi}").format(lo=i18n.number(a, lang, 2), hi=i18n.number(c, lang, 2))
                     for a, c in zip(edges[:-1], edges[1:])]
                  + [_("{x} and above").format(x=i18n.number(edges[-1], lang, 2))])
    matrix = [{"rating": policy.ratings.names.get(k, k) if hasattr(policy.ratings, "names") else k, "shares": v}
              for k, v in merit.merit_matrix.items()]
    promotions = [_("From {a} to {b}: at least {years} years in grade; last ratings at least {ratings}{extra}.").format(
        a=grades.get(p.from_, p.from_), b=grades.get(p.to, p.to), years=i18n.number(p.min_years_in_grade, lang, 1),
        ratings=", ".join(p.last_ratings_at_least) or "—",
        extra=(_("; overall score at least {s}").format(s=i18n.number(p.min_composite, lang, 0))
               if p.min_composite is not None else "")
        + "".join(_("; {indicator} score at least {s}").format(
            indicator=term(next((i.name for i in sc.indicators if i.id == k and i.name), k)),
            s=i18n.number(v, lang, 0)) for k, v in p.min_indicator_scores.items()))
        for p in policy.promotion]
    demotions = [_("From {a} to {b}: when the last ratings are at most {ratings}.").format(
        a=grades.get(d.from_, d.from_), b=grades.get(d.to, d.to), ratings=", ".join(d.last_ratings_at_most))
        for d in policy.demotion]
    deductions = [_("{points} points off the overall score per upheld complaint, at most {max} points.").format(
        points=i18n.number(d.points, lang, 0), max=i18n.number(d.max, lang, 0)) for d in sc.deductions]
    context = {
        "policy": policy.policy, "version": policy.version, "currency": i18n.currency_label(policy.currency, lang),
        "categories": categories, "indicators": indicators, "deductions": deductions,
        "rating_method": r.method, "guided_within": term(r.guided.within) if r.guided is not None else "",
        "bands": bands, "products": products,
        "gate": {"min": gate.min_composite, "factor": gate.factor_below} if gate is not None else None,
        "cap": cap.times_annual_base if cap is not None else None,
        "bonus_basis": b.basis, "bonus_points": bonus_points,
        "bonus_chart": bonus_chart(bonus_points, lang) if bonus_points else None,
        "bonus_by_rating": [{"rating": policy.ratings.names.get(k, k), "multiple": v}
                            for k, v in (b.by_rating or {}).items()],
        "grades": [{"title": grades[g.id], "min": g.base_monthly.min, "mid": g.base_monthly.mid,
                    "max": g.base_monthly.max, "target_bonus": g.target_bonus} for g in policy.grades],
        "merit_bands": band_names, "merit": matrix, "merit_budget": merit.budget,
        "promotions": promotions, "demotions": demotions, "appeal_days": policy.appeals.window_days,
        **population_context(policy, lang), **commission_rules(policy, lang), **pay_rules(policy, lang),
    }
    context["sections"] = sections(context, lang)
    context["section"] = {s["id"]: s for s in context["sections"]}  # the template's headings: section[id]
    return context


def population_context(policy: Policy, lang: str) -> dict[str, Any]:
    """Scorecards by population: who each applies to (in words) and each indicator's weight in the overall score
    on each (the category's weight x the indicator's weight within it; None: not on that scorecard)."""
    from compkit.headers import column_label

    _ = i18n.gettext(lang)
    sc = policy.scorecard
    term = lambda t: i18n.term(t, lang)  # noqa: E731
    grades = {g.id: term(g.title or g.id) for g in policy.grades}
    pops = []
    for pop in policy.scorecards:
        who = [_("{column}: {values}").format(column=column_label(col, lang),
                                              values=_("{first}, {rest}").format(first="", rest="").join(
                                                  grades.get(v, v) if col == "grade" else term(v) for v in values))
               for col, values in pop.when.items()]
        cats = pop.categories or sc.categories
        weights = pop.weights if pop.weights is not None else {i.id: i.weight for i in sc.indicators}
        pops.append({"name": term(pop.name or pop.id), "who": _("; ").join(who),
                     "categories": [cats.get(c, 0.0) for c in sc.categories],
                     "weights": {i: w * cats.get(sc.indicator(i).category, 0.0) for i, w in weights.items()}})
    rows = []
    for ind in sc.indicators:
        shares = [p["weights"].get(ind.id) for p in pops]
        if any(w for w in shares if w):
            rows.append({"name": term(ind.name or ind.id), "category": term(ind.category),
                         "weights": [w if w else None for w in shares]})
    columns = sorted({col for pop in policy.scorecards for col in pop.when})
    return {"populations": pops, "population_rows": rows,
            "population_categories": [term(c) for c in sc.categories],
            "population_by": _("{first}, {rest}").format(first="", rest="").join(column_label(c, lang)
                                                                                 for c in columns)}


def commission_rules(policy: Policy, lang: str) -> dict[str, Any]:
    """What the commission section adds for the bank's products: balances paid at annual rates, coefficients by
    deposit type or payment term (折标系数), quotas against each person's own target, and the NPL clawback."""
    _ = i18n.gettext(lang)
    term = lambda t: i18n.term(t, lang)  # noqa: E731
    money = lambda x: i18n.money(x, lang, policy.currency)  # noqa: E731
    balances, coefficients, quotas, clawbacks = [], [], [], []
    for p in policy.commission.products:
        name = term(p.name or p.id)
        if p.basis == "balance":
            rate = (money(p.rate_per_10k) if p.rate_per_10k is not None else None)
            if rate is not None and p.increase_rate_per_10k is not None:
                balances.append(_("{product}: paid each month on your average daily balance at {rate} per 10,000 a "
                                  "year (one twelfth a month), plus {increase} per 10,000 a year on the increase "
                                  "over last year's average daily balance.").format(
                    product=name, rate=rate, increase=money(p.increase_rate_per_10k)))
            elif rate is not None:
                balances.append(_("{product}: paid each month on your average daily balance at {rate} per 10,000 a "
                                  "year (one twelfth a month).").format(product=name, rate=rate))
        if p.coefficients is not None:
            c = p.coefficients
            coefficients.append({
                "product": name,
                "sentence": _("{product}: before the rate, each amount is multiplied by the coefficient of its "
                              "{column} ({column_code}):").format(product=name, column=_column_words(c.column, lang),
                                                                 column_code=c.column),
                "rows": [{"value": term(k), "coefficient": v} for k, v in c.values.items()],
                "default": c.default})
        if p.quota is not None:
            q = p.quota
            indicator = term(_indicator_name(policy, q.indicator))
            base = (i18n.percent(p.rate, lang, 2) if p.rate is not None else
                    _("{amount} per 10,000").format(amount=money(p.rate_per_10k)))
            how = (_("{product}: the base rate {base} is multiplied by a factor that depends on how much of your "
                     "own {indicator} target you have reached; each part of your attainment is paid at its band's "
                     "factor.") if q.method == "marginal" else
                   _("{product}: the base rate {base} is multiplied by a factor that depends on how much of your "
                     "own {indicator} target you have reached; all of it is paid at the factor of the band "
                     "reached.")).format(product=name, base=base, indicator=indicator)
            when = (_("Attainment is measured against the whole cycle's target, so the factor only rises through "
                      "the year.") if q.target == "cycle" else
                    _("Attainment is measured against the target to date, month by month."))
            bands, lower = [], 0.0
            for t in q.tiers:
                bands.append({"from": lower, "upto": t.upto, "multiplier": t.multiplier})
                lower = t.upto if t.upto is not None else lower
            quotas.append({"product": name, "sentence": how, "when": when, "bands": bands})
        if p.npl_clawback is not None:
            clawbacks.append(_("{product}: if a loan becomes non-performing within {months} months of the month it "
                               "was disbursed, the commission paid on it is taken back in the month it becomes "
                               "non-performing (不良贷款追索).").format(product=name,
                                                                     months=p.npl_clawback.months))
    return {"balance_rules": balances, "coefficients": coefficients, "quotas": quotas, "clawbacks": clawbacks}


def _column_words(column: str, lang: str) -> str:
    """A data column a coefficient reads, in words (deposit type, payment term)."""
    _ = i18n.gettext(lang)
    words = {"deposit_type": N_("deposit type"), "payment_term": N_("payment term")}
    return _(words[column]) if column in words else i18n.term(column, lang)


def _indicator_name(policy: Policy, indicator: str) -> str:
    try:
        return policy.scorecard.indicator(indicator).name or indicator
    except KeyError:
        return indicator


def pay_rules(policy: Policy, lang: str) -> dict[str, Any]:
    """Pay steps (薪档) by grade and how the salary review moves them, the new-hire protection and the deferral,
    in sentences and tables built from the policy's values."""
    _ = i18n.gettext(lang)
    term = lambda t: i18n.term(t, lang)  # noqa: E731
    grades = {g.id: term(g.title or g.id) for g in policy.grades}
    names = policy.ratings.names
    width = max((len(g.steps) for g in policy.grades if g.steps), default=0)
    steps = [{"grade": grades[g.id], "steps": list(g.steps) + [None] * (width - len(g.steps))}
             for g in policy.grades if g.steps]
    review = policy.salary_review
    moves = []
    if review.method == "steps":
        for label in policy.ratings.labels:
            n = review.step_moves.get(label, 0)
            words = (_("up {n} step(s)").format(n=n) if n > 0 else _("down {n} step(s)").format(n=-n) if n < 0
                     else _("stays on the same step"))
            moves.append({"rating": f"{names.get(label, label)} ({label})", "moves": words})
    nh = policy.new_hire_protection
    new_hire = None
    if nh is not None:
        new_hire = (_("For the first {months} months after joining, your performance bonus for those days is at least "
                      "{multiple} times your target bonus, and you are not demoted.") if nh.no_demotion else
                    _("For the first {months} months after joining, your performance bonus for those days is at least "
                      "{multiple} times your target bonus.")).format(months=nh.months,
                                                                     multiple=i18n.number(nh.min_payout, lang, 1))
    d = policy.bonus.deferral
    deferral = []
    if d.share > 0:
        if d.grades is not None:
            who = _("Grades {grades}").format(grades=_("{first}, {rest}").format(first="", rest="").join(
                grades.get(g, g) for g in d.grades))
        elif d.applies_to == "all":
            who = _("Everyone")
        else:
            who = _("Key roles ({roles})").format(roles=_("{first}, {rest}").format(first="", rest="").join(
                grades[g.id] for g in policy.grades if g.key_role))
        what = (_("{who}: {share} of the performance bonus and of commission is deferred and paid in equal parts "
                  "over the next {years} years, each part on {due}.") if "commission" in d.components else
                _("{who}: {share} of the performance bonus is deferred and paid in equal parts over the next {years} "
                  "years, each part on {due}.")).format(who=who, share=i18n.percent(d.share, lang), years=d.years,
                                                         due=_month_day(d.due, lang))
        deferral.append(what)
        for g, share in d.share_by_grade.items():
            deferral.append(_("{grade}: {share} is deferred.").format(grade=grades.get(g, g),
                                                                      share=i18n.percent(share, lang)))
        if d.min_bonus > 0:
            deferral.append(_("A bonus below {amount} is paid in full.").format(
                amount=i18n.money(d.min_bonus, lang, policy.currency)))
        deferral.append(_("Deferred parts not yet paid can be withheld or recovered under the bank's rules (a "
                          "clawback), and what happens to them when you leave depends on why you leave."))
    return {"steps": steps, "step_width": width, "step_moves": moves, "steps_method": review.method == "steps",
            "new_hire": new_hire, "deferral_rules": deferral}


def _month_day(md: str, lang: str) -> str:
    """'03-31' -> '3月31日' (en: '31 March')."""
    month, day = (int(x) for x in md.split("-"))
    import datetime as dt

    from babel.dates import format_skeleton

    return format_skeleton("MMMMd", dt.date(2000, month, day), locale=i18n.locale_name(lang))


def write_rules(policy_path: str | Path, out: str | Path, lang: str | None = None) -> Path:
    """Write ``OUT/rules.html`` (the appraisal rules document) from the policy file; returns its path. Written to
    a temporary file first and moved into place (:func:`compkit.atomic.write_file`)."""
    from compkit.atomic import write_file
    from compkit.policy import load_policy

    policy = load_policy(policy_path)
    lang = i18n.resolve(lang, policy)
    page = i18n.render("rules.html.j2", lang, **rules_context(policy, lang))
    return write_file(Path(out) / "rules.html", lambda tmp: tmp.write_text(page, encoding="utf-8"))
