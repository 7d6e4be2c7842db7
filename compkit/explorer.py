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

from compkit.data import Dataset
from compkit.engine import Outcomes
from compkit.errors import CompkitError
from compkit.i18n import M_
from compkit.knobs import Knob, KnobError
from compkit.policy import Policy, PolicyChange
from compkit.review import compare, concentration


def knobs(policy: Policy) -> list[Knob]:
    """The explorer's knobs for ``policy`` (:class:`compkit.knobs.Knob`, one path each, mode set) with their
    current values and sensible ranges."""
    def k(name: str, path: str, value: float, low: float, high: float, step: float, kind: str = "value",
          group: str = "") -> Knob:
        return Knob((path,), "set", name, low, high, step, group, kind, float(value))

    out: list[Knob] = []
    for cat, w in policy.scorecard.categories.items():
        out.append(k(f"weight of {cat}", f"scorecard.categories.{cat}", w, 0.0, 1.0, 0.01, "category_weight",
                     "scorecard"))
    for ind in policy.scorecard.indicators:
        if ind.category == "performance":
            out.append(k(f"weight of {ind.id} (within performance)", f"scorecard.indicators[{ind.id}].weight",
                         ind.weight, 0.0, 1.0, 0.01, "indicator_weight", "scorecard"))
    for p in policy.commission.products:
        if p.tiers is not None:
            for i, t in enumerate(p.tiers):
                out.append(k(f"{p.id}: rate of tier {i + 1}", f"commission.products[{p.id}].tiers[{i}].rate",
                             t.rate, 0.0, max(0.05, 3 * t.rate), 0.0001, "value", "commission"))
                if t.upto is not None:
                    out.append(k(f"{p.id}: tier {i + 1} up to", f"commission.products[{p.id}].tiers[{i}].upto",
                                 t.upto, 0.0, 5 * t.upto, t.upto / 20, "value", "commission"))
        elif p.rate is not None:
            out.append(k(f"{p.id}: rate", f"commission.products[{p.id}].rate", p.rate, 0.0,
                         max(0.01, 3 * p.rate), 0.0001, "value", "commission"))
        else:
            out.append(k(f"{p.id}: 元 per 10,000", f"commission.products[{p.id}].rate_per_10k", p.rate_per_10k,
                         0.0, max(10.0, 3 * p.rate_per_10k), 0.5, "value", "commission"))
    if policy.bonus.curve:
        for i, (x, y) in enumerate(policy.bonus.curve):
            out.append(k(f"bonus curve: payout at composite {x:g}", f"bonus.curve[{i}][1]", y, 0.0, 3.0, 0.05,
                         "value", "bonus"))
    if policy.commission.gate is not None:
        g = policy.commission.gate
        out.append(k("gate: minimum composite", "commission.gate.min_composite", g.min_composite, 0.0, 100.0, 1.0,
                     "value", "gate and cap"))
        out.append(k("gate: share paid below it", "commission.gate.factor_below", g.factor_below, 0.0, 1.0, 0.05,
                     "value", "gate and cap"))
    if policy.commission.cap is not None:
        out.append(k("cap: times annual base", "commission.cap.times_annual_base",
                     policy.commission.cap.times_annual_base, 0.1, 5.0, 0.1, "value", "gate and cap"))
    out.append(k("merit budget (share of base payroll)", "salary_review.budget", policy.salary_review.budget,
                 0.0, 0.15, 0.0025, "value", "salary review"))
    return out


def design(policy: Policy, values: dict[str, float]) -> Policy:
    """A new Policy with the knobs set to ``values`` (knob name or key path -> value).

    Category weights, and indicator weights within the performance category, are renormalised to sum to 1
    after the change (moving one weight shares the difference over the others in proportion to their own
    weights), so that every design is a valid policy.
    """
    by_name = {k.name: k for k in knobs(policy)} | {k.path: k for k in knobs(policy)}
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


def readout(base: Policy, designed: Policy, data: Dataset, base_outcomes: Outcomes | None = None,
            budget: float | None = None) -> Readout:
    """Evaluate ``designed`` and compare with ``base``: total cost against base and budget, the distribution
    of total cash (P10, median, P90), winners and losers by grade and region, pay by rating, commission
    concentration, and a short plain-words summary."""
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
    lines = [f"{len(cmp.changes)} setting(s) changed." if cmp.changes else "No setting changed."]
    lines.append(f"Total employer cost {total['after'] / 1e6:,.2f}M: {total['change'] / 1e6:+,.2f}M "
                 f"({total['change_pct']:+.1f}%) against the starting policy"
                 + (f", {'over' if total['after'] > budget else 'within'} the budget of {budget / 1e6:,.1f}M"
                    if budget else "") + ".")
    lines.append(f"{winners} managers gain and {losers} lose more than 1% of total cash; the median change is "
                 f"{cmp.per_person['change'].median():+,.0f} CNY.")
    if len(by_rating) >= 2:
        top, bottom = by_rating.iloc[0], by_rating.iloc[-1]
        lines.append(f"Mean total cash of rating {top['rating']} over {bottom['rating']}: "
                     f"{top['before'] / bottom['before']:.2f}x before, {top['after'] / bottom['after']:.2f}x after.")
    lines.append(f"Commission concentration (Gini) {conc['gini'].iloc[0]:.3f} -> {conc['gini'].iloc[1]:.3f}.")
    return Readout(cmp.changes, cmp.cost, dist, cmp.winners_losers, by_rating, conc, cmp.after, " ".join(lines),
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


def values_table(policy: Policy) -> pd.DataFrame:
    """The knobs as a table (for the static view)."""
    return pd.DataFrame([{"group": k.group, "knob": k.name, "value": k.value} for k in knobs(policy)])




def moved_knobs(policy: Policy, values: dict[str, float]) -> dict[str, float]:
    """The knobs of ``values`` (knob name -> value) that differ from the policy's current value (by more than
    1e-12): the design a set of slider positions stands for."""
    current = {k.name: k.value for k in knobs(policy)}
    return {name: v for name, v in values.items() if abs(v - current[name]) > 1e-12}


def controls(policy: Policy, data: Dataset, base_outcomes: Outcomes | None = None,
             start: dict[str, float] | None = None, budget: float | None = None,
             figure: Callable[[pd.DataFrame, pd.DataFrame], Any] | None = None,
             save_to: str = "../data/policies/explored.yaml") -> Any:
    """The interactive explorer (ipywidgets, in JupyterLab): a slider per knob (:func:`knobs`, grouped in an
    accordion; starting at ``start``'s values where given), a file name and a **Save as policy** button
    (:func:`save_design`). Letting go of a slider re-evaluates the design (:func:`design`, :func:`readout`) and
    redraws the readout below the controls: its text, the cost and pay-by-rating tables and
    ``figure(before_summary, after_summary)`` (e.g. :func:`compkit.plots.total_cash_change`). A design that
    breaks a policy rule is reported in words and the controls stay. Returns the widget box, with attributes
    ``sliders`` (knob name -> slider), ``redraw()``, ``current()`` (the design the sliders stand for) and
    ``output``."""
    import ipywidgets as w
    from IPython.display import clear_output, display

    start = start or {}
    sliders: dict[str, Any] = {}
    groups: dict[str, list[Any]] = {}
    for knob in knobs(policy):
        s = w.FloatSlider(value=start.get(knob.name, knob.value), min=knob.low, max=knob.high, step=knob.step,
                          description="", continuous_update=False, readout_format=".4g",
                          layout=w.Layout(width="420px"))
        sliders[knob.name] = s
        groups.setdefault(knob.group, []).append(w.HBox([w.Label(knob.name, layout=w.Layout(width="330px")), s]))
    accordion = w.Accordion(children=[w.VBox(rows) for rows in groups.values()])
    for i, name in enumerate(groups):
        accordion.set_title(i, name)
    output = w.Output()
    filename = w.Text(value=save_to, description="file")
    save_button = w.Button(description="Save as policy", button_style="primary")

    def current() -> Policy:
        return design(policy, moved_knobs(policy, {name: s.value for name, s in sliders.items()}))

    def redraw(_: Any = None) -> None:
        with output:
            clear_output(wait=True)
            try:
                r = readout(policy, current(), data, base_outcomes=base_outcomes, budget=budget)
            except (ValueError, KeyError, CompkitError) as err:  # a design that breaks a policy rule
                print(f"This design is not a valid policy: {err}")
                return
            print(r.text)
            display(r.cost)
            display(r.pay_by_rating)
            if figure is not None:
                import matplotlib.pyplot as plt

                fig = figure(r.before, r.outcomes.summary)
                display(fig)
                plt.close(fig)

    def save(_: Any) -> None:
        with output:
            changes_made = save_design(current(), policy, filename.value)
            print(f"saved {filename.value} ({len(changes_made)} change(s) against {policy.version})")

    for s in sliders.values():
        s.observe(redraw, names="value")
    save_button.on_click(save)
    box = w.VBox([accordion, w.HBox([filename, save_button]), output])
    box.redraw, box.sliders, box.output, box.current = redraw, sliders, output, current
    return box
