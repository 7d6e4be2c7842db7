"""The incentive-design explorer: the knobs an analyst moves most, a new policy from their values, and a
readout of what the change does (cost, spread of pay, winners and losers, pay by rating, concentration).

A design is a dict of knob name -> value; :func:`design` turns it into a validated Policy with
``Policy.updated``; every figure comes from ``evaluate`` and :mod:`compkit.review` (no second
implementation of the pay rules). ``notebooks/explore_incentives.ipynb`` puts widgets on top.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from compkit import i18n
from compkit.data import Dataset
from compkit.engine import Outcomes
from compkit.errors import CompkitError
from compkit.i18n import M_, N_
from compkit.knobs import Knob, KnobError
from compkit.policy import Policy, PolicyChange
from compkit.review import compare, concentration

#: the groups of the explorer's controls (``Knob.group``), in the order they are shown
GROUPS = (N_("scorecard"), N_("commission"), N_("bonus"), N_("gate and cap"), N_("salary review"))


def knobs(policy: Policy, lang: str | None = None) -> list[Knob]:
    """The explorer's knobs for ``policy`` (:class:`compkit.knobs.Knob`, one path each, mode set) with their
    current values and sensible ranges. ``name`` is the key of a design (English, the same in every language:
    ``"insurance: tier 1 up to"``); ``label`` says the same in ``lang`` (default: the policy's language, Chinese:
    ``代理保险：第1档上限``)."""
    lang = i18n.resolve(lang, policy)
    _ = i18n.gettext(lang)
    term = lambda t: i18n.term(t, lang)  # noqa: E731

    def k(name: str, label: str, path: str, value: float, low: float, high: float, step: float,
          kind: str = "value", group: str = "") -> Knob:
        return Knob((path,), "set", name, low, high, step, group, kind, float(value), label)

    out: list[Knob] = []
    for cat, w in policy.scorecard.categories.items():
        out.append(k(f"weight of {cat}", _("weight of {category}").format(category=term(cat)),
                     f"scorecard.categories.{cat}", w, 0.0, 1.0, 0.01, "category_weight", "scorecard"))
    for ind in policy.scorecard.indicators:
        if ind.category == "performance":
            out.append(k(f"weight of {ind.id} (within performance)",
                         _("weight of {indicator} (within {category})").format(indicator=term(ind.name or ind.id),
                                                                               category=term("performance")),
                         f"scorecard.indicators[{ind.id}].weight", ind.weight, 0.0, 1.0, 0.01, "indicator_weight",
                         "scorecard"))
    for p in policy.commission.products:
        product = term(p.name or p.id)
        if p.tiers is not None:
            for i, t in enumerate(p.tiers):
                out.append(k(f"{p.id}: rate of tier {i + 1}",
                             _("{product}: rate of tier {n}").format(product=product, n=i + 1),
                             f"commission.products[{p.id}].tiers[{i}].rate", t.rate, 0.0, max(0.05, 3 * t.rate),
                             0.0001, "value", "commission"))
                if t.upto is not None:
                    out.append(k(f"{p.id}: tier {i + 1} up to",
                                 _("{product}: tier {n} up to").format(product=product, n=i + 1),
                                 f"commission.products[{p.id}].tiers[{i}].upto", t.upto, 0.0, 5 * t.upto,
                                 t.upto / 20, "value", "commission"))
        elif p.rate is not None:
            out.append(k(f"{p.id}: rate", _("{product}: rate").format(product=product),
                         f"commission.products[{p.id}].rate", p.rate, 0.0, max(0.01, 3 * p.rate), 0.0001, "value",
                         "commission"))
        else:
            out.append(k(f"{p.id}: 元 per 10,000", _("{product}: CNY per 10,000").format(product=product),
                         f"commission.products[{p.id}].rate_per_10k", p.rate_per_10k, 0.0,
                         max(10.0, 3 * p.rate_per_10k), 0.5, "value", "commission"))
    if policy.bonus.curve:
        for i, (x, y) in enumerate(policy.bonus.curve):
            out.append(k(f"bonus curve: payout at composite {x:g}",
                         _("bonus curve: payout at overall score {score}").format(score=f"{x:g}"),
                         f"bonus.curve[{i}][1]", y, 0.0, 3.0, 0.05, "value", "bonus"))
    if policy.commission.gate is not None:
        g = policy.commission.gate
        out.append(k("gate: minimum composite", _("gate: minimum overall score"), "commission.gate.min_composite",
                     g.min_composite, 0.0, 100.0, 1.0, "value", "gate and cap"))
        out.append(k("gate: share paid below it", _("gate: share of commission paid below it"),
                     "commission.gate.factor_below", g.factor_below, 0.0, 1.0, 0.05, "value", "gate and cap"))
    if policy.commission.cap is not None:
        out.append(k("cap: times annual base", _("cap: times annual base salary"), "commission.cap.times_annual_base",
                     policy.commission.cap.times_annual_base, 0.1, 5.0, 0.1, "value", "gate and cap"))
    out.append(k("merit budget (share of base payroll)", _("salary review budget (share of base payroll)"),
                 "salary_review.budget", policy.salary_review.budget, 0.0, 0.15, 0.0025, "value", "salary review"))
    return out


def design(policy: Policy, values: dict[str, float]) -> Policy:
    """A new Policy with the knobs set to ``values`` (knob name, its label in Chinese or English, or its key
    path -> value). An unknown knob raises :class:`compkit.knobs.KnobError` (a KeyError too).

    Category weights, and indicator weights within the performance category, are renormalised to sum to 1
    after the change (moving one weight shares the difference over the others in proportion to their own
    weights), so that every design is a valid policy.
    """
    every = knobs(policy)
    by_name = ({k.label: k for k in knobs(policy, "zh-CN")} | {k.label: k for k in knobs(policy, "en")}
               | {k.name: k for k in every} | {k.path: k for k in every})
    changes: dict[str, Any] = {}
    cat_w = dict(policy.scorecard.categories)
    ind_w = {i.id: i.weight for i in policy.scorecard.indicators if i.category == "performance"}
    for key, value in values.items():
        knob = by_name.get(key)
        if knob is None:
            raise KnobError(M_("unknown knob {knob}; expected the name of a knob ({names}) or its key path",
                               knob=repr(key), names=", ".join(sorted(k.name for k in knobs(policy)))))
        if knob.kind == "category_weight":
            cat_w[knob.path.rsplit(".", 1)[1]] = float(value)
        elif knob.kind == "indicator_weight":
            ind_w[knob.path[knob.path.index("[") + 1:knob.path.index("]")]] = float(value)
        else:
            changes[knob.path] = float(value)
    if cat_w != dict(policy.scorecard.categories):
        changes["scorecard.categories"] = _renormalise(cat_w)
    base_ind = {i.id: i.weight for i in policy.scorecard.indicators if i.category == "performance"}
    if ind_w != base_ind:
        for k, w in _renormalise(ind_w).items():
            changes[f"scorecard.indicators[{k}].weight"] = w
    return policy.updated(changes) if changes else policy


def _renormalise(weights: dict[str, float]) -> dict[str, float]:
    """Scale weights to sum to 1, rounded to 6 decimals with the rounding remainder on the largest."""
    total = sum(weights.values())
    if total <= 0:
        raise KnobError(M_("the weights {names} are all zero; expected at least one above zero",
                           names=", ".join(weights)))
    out = {k: round(v / total, 6) for k, v in weights.items()}
    largest = max(out, key=out.get)
    out[largest] = round(out[largest] + 1.0 - sum(out.values()), 6)
    return out


@dataclass
class Readout:
    """What a design does against the starting policy, on the same people."""

    changes: list[PolicyChange]
    cost: pd.DataFrame
    distribution: pd.DataFrame
    winners_losers: dict[str, pd.DataFrame]
    pay_by_rating: pd.DataFrame
    concentration: pd.DataFrame
    outcomes: Outcomes
    text: str
    before: pd.DataFrame = field(default_factory=pd.DataFrame)  # the starting policy's summary

    @property
    def per_person_change(self) -> pd.Series:
        """Each manager's change of total cash, design - starting policy (CNY), by employee_id."""
        after = self.outcomes.summary.set_index("employee_id")["total_cash"]
        return after - self.before.set_index("employee_id")["total_cash"].reindex(after.index)


def _amount(x: float, lang: str, signed: bool = False) -> str:
    """A large amount for the readout: 0.66M / +0.01M in English, 66.0万元 / +1.0万元 in Chinese."""
    if lang == "en":
        return f"{x / 1e6:+,.2f}M" if signed else f"{x / 1e6:,.2f}M"
    return ("+" if signed and x >= 0 else "-" if x < 0 else "") + i18n.wan(abs(x), lang)


def readout_text(changed: int, total: pd.Series, budget: float | None, winners: int, losers: int, median: float,
                 ratings: tuple[str, str, float, float] | None, gini: tuple[float, float], lang: str) -> str:
    """The readout in plain words, one whole sentence each: settings changed, the employer cost against the
    starting policy and the budget, winners and losers, pay of the best rating over the worst, the commission's
    Gini. ``total``: the cost table's total row (after, change, change_pct)."""
    _ = i18n.gettext(lang)
    lines = [_("{n} setting(s) changed.").format(n=changed) if changed else _("No setting changed.")]
    figures = {"total": _amount(total["after"], lang), "change": _amount(total["change"], lang, signed=True),
               "pct": f"{total['change_pct']:+.1f}%"}
    if budget:
        figures["budget"] = f"{budget / 1e6:,.1f}M" if lang == "en" else i18n.wan(budget, lang)
        msgid = (N_("Total employer cost {total}: {change} ({pct}) against the starting policy, over the budget of "
                    "{budget}.") if total["after"] > budget else
                 N_("Total employer cost {total}: {change} ({pct}) against the starting policy, within the budget of "
                    "{budget}."))
    else:
        msgid = N_("Total employer cost {total}: {change} ({pct}) against the starting policy.")
    lines.append(_(msgid).format(**figures))
    lines.append(_("{winners} managers gain and {losers} lose more than 1% of total cash; the median change is "
                   "{median} {currency}.").format(winners=winners, losers=losers,
                                                  median=f"{median:+,.0f}",
                                                  currency=i18n.currency_label("CNY", lang)))
    if ratings is not None:
        top, bottom, before, after = ratings
        lines.append(_("Mean total cash of rating {top} over {bottom}: {before}x before, {after}x after.").format(
            top=top, bottom=bottom, before=f"{before:.2f}", after=f"{after:.2f}"))
    lines.append(_("Commission concentration (Gini) {before} -> {after}.").format(before=f"{gini[0]:.3f}",
                                                                                after=f"{gini[1]:.3f}"))
    return (" " if lang == "en" else "").join(lines)


def readout(base: Policy, designed: Policy, data: Dataset, base_outcomes: Outcomes | None = None,
            budget: float | None = None, lang: str | None = None) -> Readout:
    """Evaluate ``designed`` and compare with ``base``: total cost against base and budget, the distribution
    of total cash (P10, median, P90), winners and losers by grade and region, pay by rating, commission
    concentration, and a short plain-words summary (``text``, in ``lang``: default the policy's language)."""
    lang = i18n.resolve(lang, base)
    cmp = compare(base, designed, data, before=base_outcomes)
    budget = budget if budget is not None else base.budget
    a, b = cmp.before.summary, cmp.after.summary
    q = [0.1, 0.5, 0.9]
    dist = pd.DataFrame({"statistic": ["P10", "median", "P90"],
                         "before": a["total_cash"].quantile(q).to_numpy(),
                         "after": b["total_cash"].quantile(q).to_numpy()})
    by_rating = pd.DataFrame({
        "before": a.groupby("rating", observed=True)["total_cash"].mean(),
        "after": b.groupby("rating", observed=True)["total_cash"].mean()}).reset_index()
    conc = pd.DataFrame([{"policy": "before", **concentration(cmp.before)},
                         {"policy": "after", **concentration(cmp.after)}])
    total = cmp.cost.set_index("component").loc["total"]
    winners = int((cmp.per_person["outcome"] == "winner").sum())
    losers = int((cmp.per_person["outcome"] == "loser").sum())
    ratings = None
    if len(by_rating) >= 2:
        top, bottom = by_rating.iloc[0], by_rating.iloc[-1]
        names = base.ratings.names if lang != "en" else {}
        ratings = (names.get(top["rating"], top["rating"]), names.get(bottom["rating"], bottom["rating"]),
                   top["before"] / bottom["before"], top["after"] / bottom["after"])
    text = readout_text(len(cmp.changes), total, budget, winners, losers, float(cmp.per_person["change"].median()),
                        ratings, (float(conc["gini"].iloc[0]), float(conc["gini"].iloc[1])), lang)
    return Readout(cmp.changes, cmp.cost, dist, cmp.winners_losers, by_rating, conc, cmp.after, text,
                   cmp.before.summary)


def save_design(designed: Policy, base: Policy, path: str | Path, version: str | None = None) -> list[PolicyChange]:
    """Write the design as a policy YAML that ``load_policy`` accepts (checked by loading it back); returns the
    diff against ``base``. The file can go to ``compkit review --candidate``."""
    from compkit.policy import load_policy

    if version is not None:
        designed = designed.updated({"version": version})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (f"# Policy designed in the incentive explorer from {base.policy} {base.version}.\n"
              + "".join(f"# changed: {c}\n" for c in base.diff(designed)))
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(header + designed.to_yaml(), encoding="utf-8")
    load_policy(tmp)  # must load back
    tmp.replace(path)
    return base.diff(designed)


def values_table(policy: Policy, lang: str | None = None) -> pd.DataFrame:
    """The knobs as a table (for the static view): ``group`` and ``knob`` in words in ``lang`` (default the
    policy's language), ``name`` the key a design uses, ``value`` the current setting."""
    _ = i18n.gettext(i18n.resolve(lang, policy))
    return pd.DataFrame([{"group": _(k.group), "knob": k.label, "name": k.name, "value": k.value}
                         for k in knobs(policy, lang)])




def moved_knobs(policy: Policy, values: dict[str, float]) -> dict[str, float]:
    """The knobs of ``values`` (knob name -> value) that differ from the policy's current value (by more than
    1e-12): the design a set of slider positions stands for."""
    current = {k.name: k.value for k in knobs(policy)}
    return {name: v for name, v in values.items() if abs(v - current[name]) > 1e-12}


def controls(policy: Policy, data: Dataset, base_outcomes: Outcomes | None = None,
             start: dict[str, float] | None = None, budget: float | None = None,
             figure: Callable[[pd.DataFrame, pd.DataFrame], Any] | None = None,
             save_to: str = "../data/policies/explored.yaml", lang: str | None = None) -> Any:
    """The interactive explorer (ipywidgets, in JupyterLab): a slider per knob (:func:`knobs`, grouped in an
    accordion; starting at ``start``'s values where given), a file name and a **Save as policy** button
    (:func:`save_design`). Letting go of a slider re-evaluates the design (:func:`design`, :func:`readout`) and
    redraws the readout below the controls: its text, the cost and pay-by-rating tables and
    ``figure(before_summary, after_summary)`` (e.g. :func:`compkit.plots.total_cash_change`). A design that
    breaks a policy rule is reported in words and the controls stay. Labels, buttons, tables and messages are in
    ``lang`` (default the policy's language: Chinese). Returns the widget box, with attributes ``sliders`` (knob
    name -> slider), ``redraw()``, ``current()`` (the design the sliders stand for) and ``output``."""
    import ipywidgets as w
    from IPython.display import clear_output, display

    from compkit.present import Presenter

    lang = i18n.resolve(lang, policy)
    _ = i18n.gettext(lang)
    start = start or {}
    sliders: dict[str, Any] = {}
    groups: dict[str, list[Any]] = {}
    for knob in knobs(policy, lang):
        s = w.FloatSlider(value=start.get(knob.name, knob.value), min=knob.low, max=knob.high, step=knob.step,
                          description="", continuous_update=False, readout_format=".4g",
                          layout=w.Layout(width="420px"))
        sliders[knob.name] = s
        groups.setdefault(knob.group, []).append(w.HBox([w.Label(knob.label, layout=w.Layout(width="330px")), s]))
    accordion = w.Accordion(children=[w.VBox(rows) for rows in groups.values()])
    for i, name in enumerate(groups):
        accordion.set_title(i, _(name))
    output = w.Output()
    filename = w.Text(value=save_to, description=_("File"))
    save_button = w.Button(description=_("Save as policy"), button_style="primary")

    def current() -> Policy:
        return design(policy, moved_knobs(policy, {name: s.value for name, s in sliders.items()}))

    def redraw(_event: Any = None) -> None:
        with output:
            clear_output(wait=True)
            try:
                r = readout(policy, current(), data, base_outcomes=base_outcomes, budget=budget, lang=lang)
            except (ValueError, KeyError, CompkitError) as err:  # a design that breaks a policy rule
                problem = err.message(lang) if isinstance(err, CompkitError) else str(err)
                print(_("This design is not a valid policy: {problem}").format(problem=problem))
                return
            print(r.text)
            R = Presenter(lang, policy.currency)
            display(cost_table(R, r.cost))
            display(rating_table(R, r.pay_by_rating, policy))
            if figure is not None:
                import matplotlib.pyplot as plt

                fig = figure(r.before, r.outcomes.summary)
                display(fig)
                plt.close(fig)

    def save(_event: Any) -> None:
        with output:
            changes_made = save_design(current(), policy, filename.value)
            print(_("Saved {file} ({n} change(s) against {version}).").format(file=filename.value,
                                                                            n=len(changes_made),
                                                                            version=policy.version))

    for s in sliders.values():
        s.observe(redraw, names="value")
    save_button.on_click(save)
    box = w.VBox([accordion, w.HBox([filename, save_button]), output])
    box.redraw, box.sliders, box.output, box.current = redraw, sliders, output, current
    return box


def cost_table(R: Any, cost: pd.DataFrame) -> Any:
    """The readout's cost table styled for people (``R``: a :class:`compkit.present.Presenter`): each cost
    component in words, before, after and the change in the currency, the change in %."""
    return R.table(cost, {"component": (N_("Component"), "term"), "before": (N_("Starting policy"), "money"),
                          "after": (N_("Design"), "money"), "change": (N_("Change"), "money"),
                          "change_pct": (N_("Change (%)"), "num1")}, name="explorer_cost")


def rating_table(R: Any, by_rating: pd.DataFrame, policy: Policy) -> Any:
    """Mean total cash by rating, before and after, styled for people (ratings by their names in Chinese)."""
    names = policy.ratings.names if R.lang != "en" else {}
    shown = by_rating.assign(rating=by_rating["rating"].map(lambda r: names.get(r, r)))
    return R.table(shown, {"rating": (N_("Rating"), "text"), "before": (N_("Mean total cash, starting policy"),
                                                                       "money"),
                           "after": (N_("Mean total cash, design"), "money")}, name="explorer_rating")



def distribution_table(R: Any, dist: pd.DataFrame) -> Any:
    """P10, median and P90 of total cash before and after, styled for people."""
    words = {"P10": N_("10th percentile"), "median": N_("Median"), "P90": N_("90th percentile")}
    shown = dist.assign(statistic=dist["statistic"].map(lambda s: R._(words.get(s, s))))
    return R.table(shown, {"statistic": (N_("Total cash"), "text"), "before": (N_("Starting policy"), "money"),
                           "after": (N_("Design"), "money")}, name="explorer_distribution")


def winners_table(R: Any, table: pd.DataFrame, by: str) -> Any:
    """Winners and losers (more than 1% of total cash) by ``by`` (grade, region), styled for people."""
    return R.table(table, {by: (by.capitalize(), "term"), "n": (N_("People"), "int"),
                           "winners": (N_("Gain more than 1%"), "int"), "losers": (N_("Lose more than 1%"), "int"),
                           "median_change": (N_("Median change"), "money"),
                           "median_change_pct": (N_("Median change (%)"), "num1"),
                           "total_change": (N_("Total change"), "money")}, name=f"explorer_{by}")


def concentration_table(R: Any, conc: pd.DataFrame) -> Any:
    """Commission concentration before and after: the Gini coefficient and the top tenth's share."""
    words = {"before": N_("Starting policy"), "after": N_("Design")}
    shown = conc.assign(policy=conc["policy"].map(lambda p: R._(words.get(p, p))))
    return R.table(shown, {"policy": (N_("Policy"), "text"), "gini": (N_("Gini coefficient of commission"), "num2"),
                           "top10_share": (N_("Share of commission earned by the top 10%"), "pct1")},
                   name="explorer_concentration")
