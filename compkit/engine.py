"""``evaluate(policy, data) -> Outcomes``: the one pipeline every analysis reuses.

score -> rate -> commission (lines, gate, cap) -> base, allowances, bonus (pool, deferral) -> benefits
(五险一金) -> salary review -> promotion. Money is computed unrounded and rounded half-up to the cent once,
at the end; every total is the sum of its rounded parts. Every employee of the dataset appears in the summary;
where total pay is zero, ``pay_note`` says why.

``evaluate`` is pure: the same policy and data give the same Outcomes, bit for bit. A what-if is
``evaluate(changed_policy, data)``; an appeal is ``evaluate(policy, corrected_data)``.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from compkit import awards, career, pay, protection, steps, training
from compkit import commission as cm
from compkit import compliance as cp
from compkit import tax as tx
from compkit._arrays import cat_codes, grade_lookup, isin, labelled_codes, labels_are_index
from compkit._text import as_column, gather, text_column
from compkit._threads import Pending
from compkit.credits import CreditSplit, split_credits
from compkit.data import Dataset, positions
from compkit.errors import CompkitError
from compkit.i18n import M_
from compkit.money import allocate_cents, round_cents, row_sums, running_sums, to_cents
from compkit.policy import Policy
from compkit.scoring import combine_raters, ratings_used, scorecard

#: components of total cash and employer cost, in the order statements and reports show them
CASH_COMPONENTS = ("base_pay", "allowances", "bonus_paid", "commission_paid", "awards")
COST_COMPONENTS = CASH_COMPONENTS + ("bonus_deferred", "commission_deferred", "employer_contributions")


@dataclass
class Outcomes:
    """The results of one evaluation. Tables (pandas DataFrames):

    summary        one row per employee: scores, ratings, base, allowances, commission, bonus (paid now and
                   deferred), total_cash, employee and employer contributions, employer_cost, raise, promotion
    indicators     employee x indicator: actual, target, achievement, score, weights, weighted score
    commission     employee x month x product: basis, cumulative basis, commission line, clawback flag; plus one
                   ``settlement`` line per employee whose gate or cap changed the cycle's commission
    deferrals      employee x component (bonus, commission) x payment year: due date, scheduled, cancelled
                   (clawback), payable
    salary_review  employee: compa-ratio, band, merit, raise after budget scaling
    promotions     employee: recommendation (promote, demote, none), to grade, reason
    benefits       employee: contribution wages and bases (January-June, July-December) and each insurance's,
                   the housing fund's and the annuity's employee and employer contribution for the cycle
    compliance     the sound-pay checks (稳健薪酬): rule, population, value, limit, status, people affected
    compliance_people  employee: fixed pay, performance pay, fixed share, deferred share, performance multiple
    clawbacks      one row per claim of the clawbacks table: claimed, cancelled from deferred pay, to recover
    leavers        employee who left: exit reason, the rule applied, what was forfeited or paid early
    allocation     the wage-bill tree (工资总额): level, unit, parent, head-count, score, pool, paid, unpaid
    rater_adjustments  with ``scorecard.raters.calibrate: rater_effects``: per rater (id, role) the estimated
                   leniency and the adjustment added to each of their 360 ratings; empty otherwise
    net            employee x month: gross wages, bonus paid, each employee contribution, deductions,
                   cumulative taxable income, tax withheld (bonus tax included), net pay (compkit.tax)
    tax            employee: the year's wages, bonus treatment (separate / combined), bonus tax, net bonus,
                   cliff flag and range to avoid, tax withheld, net pay, the annual reconciliation, deferred
                   bonus tax (estimate)
    info           scalars: cycle, policy version, bonus pool factor, merit scaling, warnings
    """

    summary: pd.DataFrame
    indicators: pd.DataFrame
    commission: pd.DataFrame
    deferrals: pd.DataFrame
    salary_review: pd.DataFrame
    promotions: pd.DataFrame
    benefits: pd.DataFrame
    net: pd.DataFrame = field(default_factory=pd.DataFrame)
    tax: pd.DataFrame = field(default_factory=pd.DataFrame)
    info: dict[str, Any] = field(default_factory=dict)
    compliance: pd.DataFrame = field(default_factory=pd.DataFrame)
    compliance_people: pd.DataFrame = field(default_factory=pd.DataFrame)
    clawbacks: pd.DataFrame = field(default_factory=pd.DataFrame)
    leavers: pd.DataFrame = field(default_factory=pd.DataFrame)
    allocation: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: special awards won (compkit.awards): employee x award, amount
    awards: pd.DataFrame = field(default_factory=awards.empty_lines)
    #: with ``scorecard.raters.calibrate: rater_effects``, the adjustment per rater of the 360 ratings
    #: (compkit.raters.adjust_ratings); empty otherwise
    rater_adjustments: pd.DataFrame = field(default_factory=pd.DataFrame)

    TABLES = ("summary", "indicators", "commission", "deferrals", "salary_review", "promotions", "benefits",
              "net", "tax", "compliance", "compliance_people", "clawbacks", "leavers", "allocation", "awards",
              "rater_adjustments")

    def totals(self) -> dict[str, float]:
        """Cycle totals by component (CNY, to the cent); each is the sum of the rounded per-person figures."""
        s = self.summary
        keys = CASH_COMPONENTS + ("total_cash", "bonus_deferred", "commission_deferred", "employer_contributions",
                                  "employer_cost")
        return {k: float(round_cents(s[k].sum())) for k in keys}

    def reconcile(self) -> list[str]:
        """Checks that every total is the sum of its parts, to the cent; returns the failures (empty = ok)."""
        s = self.summary
        problems = []

        cents = to_cents

        checks = {
            "total_cash": sum(cents(s[c]) for c in CASH_COMPONENTS),
            "employer_cost": sum(cents(s[c]) for c in COST_COMPONENTS),
            "bonus": cents(s["bonus_paid"]) + cents(s["bonus_deferred"]) + cents(s["bonus_forfeited"]),
            "commission": cents(s["commission_paid"]) + cents(s["commission_deferred"])
            + cents(s["commission_forfeited"]),
        }
        for name, expected in checks.items():
            bad = cents(s[name]) != expected
            if bad.any():
                problems.append(f"{name} differs from the sum of its parts for {int(bad.sum())} people")
        lines = self.commission.groupby("employee_id")["commission"].sum()
        diff = cents(lines.reindex(s["employee_id"]).fillna(0).to_numpy()) != cents(s["commission"])
        if diff.any():
            problems.append(f"commission lines do not add up to the summary for {int(diff.sum())} people")
        sched = self.deferrals.groupby("employee_id")["scheduled"].sum()
        diff = cents(sched.reindex(s["employee_id"]).fillna(0).to_numpy()) != cents(s["bonus_deferred"]) + cents(
            s["commission_deferred"])
        if diff.any():
            problems.append(f"deferral schedules do not add up to the deferred pay for {int(diff.sum())} people")
        if len(self.allocation):
            a = self.allocation
            bad = a[cents(a["paid"]) != cents(a["pool"])]
            if len(bad):
                problems.append(f"wage bill: {len(bad)} unit(s) pay out less than their pool: "
                                + ", ".join(bad["unit_path"].astype(str).tolist()[:5]))
        return problems

    # -- writing ------------------------------------------------------------------------------------

    def to_csv(self, directory: str | Path, extra: dict[str, pd.DataFrame] | None = None) -> list[Path]:
        """One CSV per table in ``directory`` (plus one per ``extra`` table, e.g. the supervision checks),
        written atomically (all files or none) and safely (:func:`compkit.excel.write_tables_folder`: no live
        formulas; only a folder compkit wrote is replaced)."""
        from compkit.excel import write_tables_folder

        tables = {name: getattr(self, name) for name in self.TABLES} | dict(extra or {})
        return write_tables_folder(tables, directory, "evaluate")

    def to_excel(self, path: str | Path, extra: dict[str, pd.DataFrame] | None = None,
                 lang: str | None = None) -> Path:
        """A workbook with a sheet per table (plus ``extra`` sheets): bold frozen header, auto filter, money in
        #,##0.00, shares in %. Written to a temporary file first and moved into place, so a failure leaves no
        partial workbook. ``lang`` (zh-CN, en): sheet names and headers in words for people (compkit evaluate
        passes the policy's language or --lang); None: the column codes."""
        from compkit.excel import write_workbook

        sheets = {name: getattr(self, name) for name in self.TABLES if len(getattr(self, name).columns)}
        info = pd.DataFrame({"item": list(self.info), "value": [str(v) for v in self.info.values()]})
        sheets["info"] = info
        sheets.update(extra or {})
        return write_workbook(sheets, Path(path), lang=lang)


# ---------------------------------------------------------------------------------------- evaluate

def background() -> Callable[..., Pending]:
    """A second thread for one evaluation: ``submit = background()``, then ``wait = submit(fn, *args)`` queues
    ``fn(*args)`` and returns a :class:`compkit._threads.Pending`: call it to wait for its result (it raises
    the step's exception, if any); ``done()`` tells whether it has finished. Queued
    steps run one after another, in the order submitted, so a step may wait for an earlier one (never a
    later). numpy, pandas and Arrow let go of Python's lock in their long loops, so steps that do not depend on
    each other use two cores; the results are the same as calling each ``fn`` in place. ``COMPKIT_THREADS=1``
    runs each step in place when submitted (e.g. under a profiler that follows one thread)."""
    if os.environ.get("COMPKIT_THREADS") == "1":
        def in_place(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Pending:
            return Pending(result=fn(*args, **kwargs))
        return in_place
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="compkit")  # its thread ends with the pool

    def submit(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Pending:
        return Pending(pool.submit(fn, *args, **kwargs))
    return submit


class _FirstFree:
    """A step of an evaluation that either thread may work out, whichever is free first: the second thread when it
    reaches it in its queue (``submit(step.run_here)``), the main thread where it would otherwise wait
    (:meth:`run_here`). Calling it returns the result (working it out here if nobody has started it, else waiting
    for it) and raises its exception, if any. The result is the same whichever thread works it out."""

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        self._fn, self._args = fn, args
        self._lock = threading.Lock()
        self._claimed = False
        self._done = threading.Event()
        self._result: Any = None
        self._error: BaseException | None = None

    def run_here(self) -> None:
        """Work the step out on this thread, unless a thread has started it already."""
        with self._lock:
            if self._claimed:
                return
            self._claimed = True
        try:
            self._result = self._fn(*self._args)
        except BaseException as error:  # raised to whoever asks for the result
            self._error = error
        finally:
            self._fn, self._args = None, ()  # (let go of the inputs)
            self._done.set()

    def __call__(self) -> Any:
        self.run_here()
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._result


def in_background(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Pending:
    """Start ``fn(*args, **kwargs)`` on a second thread of its own and return a function that waits for its
    result (:func:`background` with one step)."""
    return background()(fn, *args, **kwargs)


def _salary_review(policy: Policy, emp: pd.DataFrame, ids: pd.Series, base: pd.DataFrame, summary: pd.DataFrame,
                   stepped: np.ndarray, interim: bool, active_at_end: np.ndarray
                   ) -> tuple[pd.DataFrame, dict[str, float], pd.DataFrame]:
    """The salary review (merit matrix, or steps for people on a step), decided at the end of the cycle: (the
    review table, empty when ``interim``; its info; the table as the promotions place people on a new grade from,
    the full review also when interim). compkit.career holds the rules."""
    review_in = pd.DataFrame({"employee_id": ids, "grade": emp["grade"], "base_monthly": base["base_monthly_used"],
                              "rating": summary["rating"], "active_at_end": active_at_end, "fte": emp["fte"]})
    review, review_info = career.salary_review(review_in, policy)
    if policy.salary_review.method == "steps" and stepped.any():
        review = career.step_review(review, emp, policy)
    shown = review.iloc[0:0].reset_index(drop=True) if interim else review  # decided at the end of the cycle
    return shown, review_info, review


def _promotions(policy: Policy, data: Dataset, emp: pd.DataFrame, ids: pd.Series, summary: pd.DataFrame,
                indicators: pd.DataFrame, composite: np.ndarray, interim: bool, active_at_end: np.ndarray,
                salary_review: Callable[[], tuple[pd.DataFrame, dict[str, float], pd.DataFrame]]) -> pd.DataFrame:
    """The promotions and demotions (placed on the new grade, from the pay after ``salary_review()``'s review),
    decided at the end of the cycle: an empty table when ``interim``. compkit.career holds the rules."""
    nhp = policy.new_hire_protection
    people = pd.DataFrame({"employee_id": ids, "grade": emp["grade"], "grade_since": emp["grade_since"],
                           "hire_date": emp["hire_date"], "rating": summary["rating"], "composite": composite,
                           "active_at_end": active_at_end})
    # the indicator scores the promotion rules ask for, one column each (not the whole indicator table)
    needed = sorted({ind for rule in policy.promotion for ind in rule.min_indicator_scores})
    if needed:
        grid = _grid_scores(indicators, ids, needed)
        if grid is not None:
            for column, values in grid.items():
                people[column] = values
            # as the join below leaves it (the promotions table's ids are Python strings)
            people["employee_id"] = people["employee_id"].astype(object)
        else:
            asked = indicators[indicators["indicator"].isin(needed).to_numpy()]
            ind_scores = asked.pivot(index="employee_id", columns="indicator", values="score")
            people = people.join(ind_scores[[c for c in ind_scores.columns if c in needed]], on="employee_id")
    prerequisites = training.promotion_columns(policy, data.training, ids, data.cycle_start, data.cycle_end)
    for column in prerequisites.columns:  # certificates and training hours the promotion rules ask for
        people[column] = prerequisites[column].to_numpy()
    promotions = career.promotions(people, data.history, policy, data.cycle_end)
    if nhp is not None:
        promotions = protection.block_demotions(promotions, emp["hire_date"], data.cycle_end, nhp)
    if interim:
        return promotions.iloc[0:0].reset_index(drop=True)
    return career.place_on_new_grade(promotions, salary_review()[2], policy)


def _grid_scores(indicators: pd.DataFrame, ids: pd.Series, needed: list[str]) -> dict[str, np.ndarray] | None:
    """The ``score`` (points) of each indicator of ``needed`` per person of ``ids``, one array each, in the
    indicators' category order, read straight off the scorecard's indicator table when it is the full grid
    (every person of ``ids`` in order x every indicator, categorical keys; as :func:`compkit.scoring.scorecard`
    makes it): the columns a pivot joined on ``employee_id`` gives. None when the table is not that grid."""
    emp, ind = indicators["employee_id"], indicators["indicator"]
    if not (isinstance(emp.dtype, pd.CategoricalDtype) and isinstance(ind.dtype, pd.CategoricalDtype)):
        return None
    n, k = len(ids), len(ind.cat.categories)
    if (n == 0 or len(indicators) != n * k or len(emp.cat.categories) != n
            or not (cat_codes(emp).reshape(n, k) == np.arange(n)[:, None]).all()
            or not (cat_codes(ind).reshape(n, k) == np.arange(k)[None, :]).all()
            or not labels_are_index(emp.cat.categories, ids.array)):
        return None
    scores = indicators["score"].to_numpy(dtype="float64").reshape(n, k)
    return {c: scores[:, j].copy() for j, c in enumerate(ind.cat.categories) if c in needed}


def _commission_bases(policy: Policy, data: Dataset, split_sales: Callable[[], CreditSplit], ids: pd.Index,
                      through: str | None) -> cm.CommissionBases:
    """The bases of the commission lines (:func:`compkit.commission.commission_bases`) of the credited sales
    (``split_sales()`` waits for their split), for the whole cycle or, interim, for its months up to ``through``."""
    sales = split_sales()
    if through is None:
        return cm.commission_bases(sales, policy.commission, data.periods, employees=ids, metrics=data.metrics)
    periods = data.periods[:data.periods.index(through) + 1]
    sales = sales.table()  # the credited sales of the months to date (a loan's later rows set no NPL date)
    sales = sales[(sales["period"] <= through).to_numpy(dtype=bool, na_value=False)]
    return cm.commission_bases(sales, policy.commission, periods, employees=ids, metrics=data.metrics,
                               cycle_periods=data.periods)


def _lines_from(bases: Callable[[], cm.CommissionBases], commission: cm.Commission,
                like: tuple[cm.Commission, pd.DataFrame] | None = None) -> pd.DataFrame:
    """The commission lines with ``commission``'s rates on the bases ``bases()`` waits for
    (:func:`compkit.commission.lines_from_bases`; ``like``: another commission's lines on them, the products
    alike copied)."""
    return cm.lines_from_bases(bases(), commission, like)


#: the policy's sections a :class:`Kept` evaluation may differ in: they move only the commission's settlement
#: and lines, the bonus and what follows them (the wage bill shares out the bonus: it reads the scorecard's
#: indicators, never changes them), not the scorecard, the credited sales' split, the salary review or the
#: promotions
KEPT_SECTIONS = ("commission", "bonus", "wage_bill")


@dataclass
class Kept:
    """The stages of an evaluation that a change of the commission, the bonus or the wage bill leaves as they were,
    kept to evaluate such a change again without working them out (the review's sensitivity, a solver's bracket,
    the policy review's illustration of a wage bill):
    ``kept = Kept(); evaluate(policy, data, kept=kept)`` fills it; a later ``evaluate(other, data, kept=kept)``
    (the same ``data`` object and ``through``) takes from it

      the scorecard (360 ratings, indicators, composite, ratings), the credited sales' split, the salary review
                  and the promotions    when ``other`` differs from the kept policy only under
                                        :data:`KEPT_SECTIONS` (``Policy.diff``)
      the commission lines              when moreover its commission differs at most in the gate and the cap
      the commission lines' bases       when its commission differs in rates, tiers or methods but has the
                                        same products (:func:`compkit.commission.bases_key`): only the rates
                                        are applied again, while the kept lines are held only to the products
                                        whose rates differ (the others' lines copied from the kept ones)

    and works everything else out again, so the Outcomes are the same, bit for bit, as a full evaluation."""

    policy: Policy | None = None
    data: Dataset | None = None
    through: str | None = None
    stages: dict[str, Any] = field(default_factory=dict)

    def fits(self, policy: Policy, data: Dataset, through: str | None) -> bool:
        """Whether ``policy`` on ``data`` (``through``) may take the kept scorecard, split and career."""
        if self.policy is None or data is not self.data or through != self.through:
            return False
        return all(c.path.split(".")[0].split("[")[0] in KEPT_SECTIONS for c in self.policy.diff(policy))

    def lines_fit(self, policy: Policy) -> bool:
        """Whether ``policy``'s commission lines are the kept ones (:func:`same_commission_lines`)."""
        return self.policy is not None and same_commission_lines(self.policy, policy)

    def bases_fit(self, policy: Policy) -> bool:
        """Whether ``policy``'s commission lines are worked out on the kept bases (the same products: only rates,
        tiers or methods differ; :func:`compkit.commission.bases_key`)."""
        bases = self.stages.get("bases")
        return bases is not None and cm.bases_key(policy.commission) == bases.key


def same_commission_lines(a: Policy, b: Policy) -> bool:
    """Whether two policies' commissions give the same lines: they differ at most in the gate and the cap
    (which only the settlement applies)."""
    no_settlement = {"gate": None, "cap": None}
    return a.commission.model_copy(update=no_settlement) == b.commission.model_copy(update=no_settlement)


def cycle_to_date(data: Dataset, through: str | None) -> str | None:
    """The month (YYYY-MM) an interim evaluation runs through, or None for the whole cycle (``through`` None or
    the cycle's last month). A month outside the cycle is an error."""
    if through is None:
        return None
    through = str(through)
    if through not in data.periods:
        raise CompkitError(M_("through {month}: not a month of the cycle {cycle} ({first} to {last})", month=through,
                              cycle=data.cycle, first=data.periods[0], last=data.periods[-1]))
    return None if through == data.periods[-1] else through


def evaluate(policy: Policy, data: Dataset, clawbacks: pd.DataFrame | None = None,
             through: str | None = None, kept: Kept | None = None,
             tables: Collection[str] | None = None) -> Outcomes:
    """Score, rate and pay every employee of ``data`` under ``policy`` for the dataset's cycle.

    ``clawbacks`` (optional) replaces the dataset's ``clawbacks`` table (追索扣回; columns employee_id, date,
    share or amount, reason, optional loan_id, deal_id): see :func:`compkit.compliance.apply_clawbacks`. A claim
    without a date is dated the last day of the cycle.

    ``through`` (a month YYYY-MM of the cycle) evaluates the cycle to date, the one definition interim
    statements use (``info['interim']`` is then True):
      scores          from the data up to and including the month (``scorecard(policy, data, through)``)
      days_share      days employed from the cycle's start to the month's end / days in the whole cycle
      base, allowances
                      the cycle's formulas x that days_share (pay to date at the cycle's day rate)
      contributions, tax, net pay
                      month by month for the months to date (no bonus paid yet)
      commission      the monthly lines up to the month; the gate and the cap settle at the end of the cycle,
                      so no settlement line yet
      bonus           indicative: what the rule would pay if the cycle ended with the scores to date, for the
                      days employed in the whole cycle (target bonus x payout x cycle days_share, the pool
                      shared out), split into paid now and deferred by the deferral rule
      salary review, promotions
                      decided at the end of the cycle: empty tables; raise_pct and new_base_monthly NaN
    The cycle's last month (or None) is the full evaluation.

    ``kept`` (optional, :class:`Kept`): an empty one is filled with the stages a change of commission or bonus
    leaves alone; a filled one gives them back when they fit ``policy`` (the same Outcomes, bit for bit).

    ``tables`` (optional): the names of the Outcomes tables wanted (:attr:`Outcomes.TABLES`; default all). The
    summary and the tables it is worked out from are always those of the full evaluation, bit for bit; the
    commission table, net pay and tax, the compliance checks and the leavers, when not asked for, are left empty
    (e.g. the review's sensitivity reads only the summary's employer cost).
    """
    wanted = set(Outcomes.TABLES if tables is None else tables)
    emp = data.employees.reset_index(drop=True)
    ids = emp["employee_id"].astype(str)
    # the ids as one Index, shared by the tables whose categories they are (its uniqueness checked once)
    id_index = pd.Index(ids.array)
    months = len(data.periods)
    through = cycle_to_date(data, through)
    interim = through is not None

    reuse = kept is not None and kept.fits(policy, data, through)
    submit = background()  # the second thread's steps, in order
    if reuse:  # the scorecard, the split (and the lines when the commission is the same) as kept
        assert kept is not None
        ratings, rater_adjustments, indicators, summary = kept.stages["scorecard"]
        split_sales = (lambda split: lambda: split)(kept.stages["split"])
        if kept.lines_fit(policy):
            pending_lines = (lambda kept_lines: lambda: kept_lines)(kept.stages["lines"])
        elif kept.bases_fit(policy):  # the same bases: only the rates applied again (while the kept lines are
            # held, only to the products whose rates differ from theirs)
            like = (kept.policy.commission, kept.stages["lines"]) if "lines" in kept.stages else None
            pending_lines = submit(_lines_from, (lambda bases: lambda: bases)(kept.stages["bases"]),
                                   policy.commission, like)
        else:
            pending_lines = submit(_lines_from, submit(_commission_bases, policy, data, split_sales,
                                                       id_index, through), policy.commission)
        pending_bases = None
    else:
        ratings, rater_adjustments = ratings_used(policy, data)  # 360 ratings, rater-effect adjusted if asked
        # on a second core meanwhile, one after another: the shared deals split between their holders (once:
        # loyalty and commission read it), then the commission lines, which do not depend on the scores. The 360
        # ratings combined by whichever thread is free first: the scorecard reads them after the metrics, the
        # surveys and the sales, by when the second thread is still at the lines (the longer of the two threads'
        # first parts since the scorecard got faster), so this thread usually combines them itself
        pending_raters = _FirstFree(combine_raters, ratings, policy.scorecard.raters)
        split_sales = submit(split_credits, data.sales, data.credits)
        pending_bases = submit(_commission_bases, policy, data, split_sales, id_index, through)
        pending_lines = submit(_lines_from, pending_bases, policy.commission)
        submit(pending_raters.run_here)
        indicators, summary = scorecard(policy, data, through=through, ratings=ratings, sales=split_sales,
                                        rater_scores=pending_raters)
        del pending_raters

    days_share = pay.proration(emp["hire_date"], emp["exit_date"], data.cycle_start, data.cycle_end)
    bonus_share = days_share  # the bonus is for the days employed in the cycle (also when indicative)
    if interim:
        end = pd.Timestamp(through + "-01") + pd.offsets.MonthEnd(0)
        days_to_date = (end - data.cycle_start).days + 1
        days_in_cycle = (data.cycle_end - data.cycle_start).days + 1
        days_share = (pay.proration(emp["hire_date"], emp["exit_date"], data.cycle_start, end)
                      * days_to_date / days_in_cycle)
    # pay steps (岗位工资 x 薪档): a person on a step of a grade with steps earns the step's pay
    with_steps = "step" in emp and any(g.steps for g in policy.grades)
    on_step = steps.step_pay(emp["grade"], emp["step"], policy) if with_steps else np.full(len(emp), np.nan)
    stepped = ~np.isnan(on_step)
    emp_base = emp.assign(base_monthly=np.where(stepped, on_step, emp["base_monthly"])) if stepped.any() else emp
    base = pay.base_salary(emp_base, policy, days_share, months)
    if stepped.any():
        base["base_source"] = text_column(pc.if_else(pa.array(stepped), "step", pa.array(base["base_source"])))
    composite = summary["composite"].to_numpy()
    # the salary review and the promotions by whichever thread is free first: the review by this one while it waits
    # for the commission lines (below), else by the second thread after the lines; the promotions by the second
    # thread after the commission table, or this one where it would wait for the contributions or the table
    pending_promotions: Callable[[], pd.DataFrame]
    if reuse:
        assert kept is not None
        pending_review = (lambda career: lambda: career)(kept.stages["career"])
        pending_promotions = (lambda career: lambda: career[2])(kept.stages["career"])
    else:
        active_at_end = (emp["exit_date"].isna() | (emp["exit_date"] > data.cycle_end)).to_numpy()
        pending_review = _FirstFree(_salary_review, policy, emp, ids, base, summary, stepped, interim,
                                    active_at_end)
        submit(pending_review.run_here)
        pending_promotions = _FirstFree(_promotions, policy, data, emp, ids, summary, indicators, composite,
                                        interim, active_at_end, pending_review)
    allowances = pay.allowances(emp, policy.allowances, days_share, emp["fte"].to_numpy(), months)
    nhp = policy.new_hire_protection  # 新人保护期: a minimum bonus for the protected days, no demotion
    protected = (protection.protected_share(emp["hire_date"], emp["exit_date"], data.cycle_start, data.cycle_end,
                                            nhp.months) if nhp is not None else None)
    bonus = pay.bonus(emp, policy, composite, summary["rating"], base["annual_base_full"].to_numpy(),
                      bonus_share, protected)
    key_role = grade_lookup(policy.grades, {g.id: float(g.key_role) for g in policy.grades}, emp["grade"],
                            fill=0.0) > 0.0  # an unknown grade is no key role
    leavers = cp.leaver_rules(emp, data.cycle_end, policy)
    # a leaver's forfeited bonus counts for nothing, before any pool or wage bill is shared out
    bonus_amount = bonus["bonus_before_pool"].to_numpy() * leavers["bonus_factor"].to_numpy()
    allocation = pd.DataFrame()
    if policy.wage_bill is not None:
        weight = bonus_amount if policy.wage_bill.people == "bonus" else np.nan_to_num(
            emp["fte"].to_numpy(dtype="float64"), nan=1.0) * bonus_share * np.nan_to_num(composite) * \
            leavers["bonus_factor"].to_numpy()
        units = emp[["employee_id"] + [c for c in policy.wage_bill.levels if c in emp]].copy()
        units["employee_id"] = ids
        units["fte"], units["days_share"], units["weight"] = emp["fte"].to_numpy(), bonus_share, weight
        allocation, bonus_amount = cp.allocate_wage_bill(units, indicators, policy)
    elif policy.bonus.pool is not None and bonus_amount.sum() > 0:
        # the pool is shared out in whole cents (largest remainder), so the rounded bonuses add up to it exactly
        bonus_amount = allocate_cents(policy.bonus.pool.amount, bonus_amount)
    deferral = policy.bonus.deferral
    # each person's leaver rule for deferred pay (looked up as Arrow text: no Python string per person)
    pay_early = isin(leavers["deferred_rule"], {"pay_early"}).to_numpy(dtype=bool)
    forfeit = isin(leavers["deferred_rule"], {"forfeit"}).to_numpy(dtype=bool)
    bonus_defer_share = np.where(pay_early, 0.0,
                                 cp.deferral_shares(emp["grade"], key_role, deferral, "bonus"))
    bonus_paid, bonus_deferred = cp.split_deferred(bonus_amount, bonus_defer_share, deferral.min_bonus)
    bonus_forfeited = np.where(forfeit, bonus_deferred, 0.0)
    bonus_deferred = np.where(forfeit, 0.0, bonus_deferred)

    if isinstance(pending_lines, Pending) and not pending_lines.done() and isinstance(pending_review, _FirstFree):
        # the second thread is still at the commission lines (on a first evaluation, when fresh memory is slow to
        # come, the lines can end 0.05-0.15 s after the scorecard): the salary review here meanwhile (about 0.04 s;
        # it reads no commission). Not the promotions too: at 0.1-0.17 s they mostly outlasted the wait and held
        # back the settlement, which the second thread's contributions and commission table wait for
        pending_review.run_here()
    lines = pending_lines()
    del pending_lines
    if interim:
        # no settlement before the cycle's end: an interim settlement with no gate and no cap is the gross
        settlement = cm.settle(lines, pd.Series(composite, index=ids), pd.Series(0.0, index=ids),
                               policy.commission.model_copy(update={"gate": None, "cap": None}))
        interim_table = lines.reset_index(drop=True)
        pending_table = lambda: interim_table  # noqa: E731
    else:
        prorated_base = pd.Series(base["base_pay"].to_numpy(), index=ids)
        settlement = cm.settle(lines, pd.Series(composite, index=ids), prorated_base, policy.commission)
    paid_periods = data.periods[:data.periods.index(through) + 1] if interim else data.periods
    settled = settlement.reindex(ids)  # each person's settlement, in the order of ids (one look-up of the ids)
    commission_total = settled["final"].fillna(0.0).to_numpy()
    # the summary's rounded pay the contributions are worked out on, and the days employed in each month: the
    # contributions (五险一金) on the second thread (its next step), while this thread works out the rest
    allowance_cols = [c for c in allowances.columns if c != "allowances_total"]
    rounded_allowances = {c: round_cents(allowances[c].to_numpy()) for c in allowance_cols}
    pay_now = pd.DataFrame({
        "base_pay": round_cents(base["base_pay"].to_numpy()),
        "allowances": (round_cents(sum(rounded_allowances.values())) if rounded_allowances
                       else np.zeros(len(emp))),
        "commission": round_cents(commission_total),
        "target_bonus": round_cents(bonus["target_bonus"].to_numpy() * bonus_share)})
    days, month_len = pay.month_days(emp["hire_date"], emp["exit_date"], paid_periods)
    employed = days, days / month_len[None, :]
    pending_benefits = submit(_benefits, policy, data, emp, ids, base, pay_now, employed[1], days, paid_periods)
    # gross to net, month by month: the cycle's months (to date when interim). The commission table's cents per
    # person and month, from the lines' grid and the settlements, worked out here now: the lines are read for the
    # last time (settle and these), before the table is put together from them
    by_month = _commission_cents(lines, None if interim else settlement, ids, paid_periods)
    no_lines = None if "commission" in wanted else lines.iloc[0:0]  # the commission table not asked for
    if not interim:
        # the commission table (millions of lines, a settlement line inserted after each person's) on the second
        # thread after the contributions. Lines that are not kept (for a later evaluation) are given up to it
        # (``consume``): their own columns take the settlement lines in place, with no second copy of them in
        # memory, so nothing reads them from here on (this thread lets go of them below)
        kept_lines = kept is not None and (kept.policy is None or kept.stages.get("lines") is lines)
        build_table = partial(cm.lines_with_settlement, lines, settlement, data.periods[-1],
                              consume=not kept_lines)
        pending_table = (submit(build_table) if "commission" in wanted else  # not asked for: built only if the
                         build_table)                                        # gross pay needs it
        del build_table
    if isinstance(pending_promotions, _FirstFree):
        submit(pending_promotions.run_here)
    commission_share = np.where(pay_early, 0.0,
                                cp.deferral_shares(emp["grade"], key_role, deferral, "commission"))
    commission_paid, commission_deferred = cp.split_deferred(np.maximum(commission_total, 0.0), commission_share)
    # a negative total (net clawback of commission) is paid back in full, never deferred
    commission_paid = round_cents(round_cents(commission_total) - commission_deferred)
    commission_forfeited = np.where(forfeit, commission_deferred, 0.0)
    commission_deferred = np.where(forfeit, 0.0, commission_deferred)

    cycle_year = int(data.cycle[:4])
    deferrals = cp.deferral_schedule(ids, {c: v for c, v in (("bonus", bonus_deferred),
                                                             ("commission", commission_deferred))
                                           if c in deferral.components}, cycle_year, deferral.years, deferral.due)
    claims = data.clawbacks if clawbacks is None and hasattr(data, "clawbacks") else clawbacks
    if claims is not None and len(claims):
        claims = claims.copy()
        if "date" not in claims:
            claims["date"] = data.cycle_end
        claims["date"] = pd.to_datetime(claims["date"]).fillna(data.cycle_end)
        claims = cp.claims_by_loan(claims, data.sales)
    performance_pay = pd.Series(round_cents(bonus_paid + bonus_deferred + commission_paid + commission_deferred),
                                index=ids)
    deferrals, claim_register = cp.apply_clawbacks(claims, performance_pay, deferrals)

    filling = kept is not None and kept.policy is None  # an empty Kept: fill it (the career when it is done)
    if filling:
        assert kept is not None
        kept.policy, kept.data, kept.through = policy, data, through
        kept.stages = {"scorecard": (ratings, rater_adjustments, indicators, summary), "split": split_sales(),
                       "lines": lines}
        if pending_bases is not None:
            kept.stages["bases"] = cm.held(pending_bases())  # never taken in place by a later table
    del split_sales, pending_bases  # read by the scorecard and the lines, both done

    # ---- money: round once, totals are sums of rounded parts --------------------------------------
    out = pd.DataFrame({"employee_id": ids, "name": emp["name"], "branch": emp["branch"], "region": emp["region"],
                        "grade": emp["grade"], "gender": emp["gender"], "fte": emp["fte"],
                        "hire_date": emp["hire_date"], "exit_date": emp["exit_date"], "days_share": days_share})
    for col in summary.columns.drop("employee_id"):
        out[col] = as_column(summary[col])
    # each rating's name (missing for a rating the policy does not name): text gathered by the ratings' codes
    rating_codes_, rating_labels = labelled_codes(summary["rating"])
    out.insert(out.columns.get_loc("rating") + 1, "rating_name", text_column(gather(
        [policy.ratings.names.get(r) for r in rating_labels] + [None], rating_codes_)))
    out["base_monthly"] = base["base_monthly_used"].to_numpy()
    out["base_source"] = as_column(base["base_source"])
    out["base_pay"] = pay_now["base_pay"].to_numpy()
    for c, v in rounded_allowances.items():
        out[f"allowance_{c}"] = v
    out["allowances"] = pay_now["allowances"].to_numpy() if rounded_allowances else 0.0
    out["commission_gross"] = settled["gross"].fillna(0.0).to_numpy()
    out["commission_settlement"] = settled["settlement"].fillna(0.0).to_numpy()
    out["commission"] = pay_now["commission"].to_numpy()
    out["commission_paid"] = commission_paid
    out["commission_deferred"] = commission_deferred
    out["commission_forfeited"] = commission_forfeited
    out["commission_note"] = as_column(settled["reason"].fillna(""))
    del settled
    out["target_bonus"] = pay_now["target_bonus"].to_numpy()
    out["payout_multiple"] = bonus["payout_multiple"].to_numpy()
    if protected is not None:
        out["new_hire_protected_share"] = protected  # share of the cycle's days under new-hire protection
    out["bonus"] = round_cents(bonus_paid + bonus_deferred + bonus_forfeited)
    out["bonus_paid"] = bonus_paid
    out["bonus_deferred"] = bonus_deferred
    out["bonus_forfeited"] = bonus_forfeited
    out["exit_reason"] = as_column(leavers["exit_reason"])
    out["leaver"] = leavers["leaver"].to_numpy()
    if len(claim_register):
        claim_sums = claim_register.groupby("employee_id")[["cancelled", "to_recover"]].sum()
        out["clawback_cancelled"] = round_cents(ids.map(claim_sums["cancelled"]).fillna(0.0).to_numpy(
            dtype="float64"))
        out["clawback_to_recover"] = round_cents(ids.map(claim_sums["to_recover"]).fillna(0.0).to_numpy(
            dtype="float64"))
    else:  # no claims: nothing cancelled, nothing to recover
        out["clawback_cancelled"] = np.zeros(len(out))
        out["clawback_to_recover"] = np.zeros(len(out))
    # the sound-pay checks and the leavers read only the pay worked out so far (from a shallow copy of the summary
    # as it is now: the columns added below are not theirs): worked out by whichever thread is free first
    checks_and_leavers = _FirstFree(_checks_and_leavers, out.copy(deep=False), deferrals, policy, leavers, bonus,
                                    days_share, wanted)
    submit(checks_and_leavers.run_here)
    # special awards (单项奖, compkit.awards) are decided at the end of the cycle: none to date
    award_table = awards.empty_lines() if interim else awards.award_lines(policy, data, out, indicators)
    out["awards"] = awards.awards_by_person(award_table, out["employee_id"])
    out["total_cash"] = round_cents(out["base_pay"] + out["allowances"] + out["bonus_paid"] + out["commission_paid"]
                                    + out["awards"])
    del lines  # memory: read; the second thread lets go of it when the commission table is built
    gross = _monthly_gross(out, by_month if by_month is not None else pending_table(), ids, paid_periods, emp,
                           employed)
    # tax and net pay by whichever thread is free first: the second thread after the commission table (while this
    # one works out the checks or the promotions), else this one below. It reads the gross pay, the contributions
    # (the second thread's, done before it reaches this step) and the bonus paid, none of them written from here on
    net_step = (_FirstFree(_net_pay_after, pending_benefits, policy, data, ids, out["bonus_paid"].to_numpy(), gross,
                           None if interim else _payable_by_year(deferrals, len(ids), deferral.years),
                           paid_periods, interim, id_index) if wanted & {"net", "tax"} else None)
    if net_step is not None:
        submit(net_step.run_here)
    if not pending_benefits.done():  # the second thread is still at the contributions: the checks here meanwhile
        checks_and_leavers.run_here()
    if (not pending_benefits.done() or isinstance(pending_table, Pending) and not pending_table.done()) and \
            isinstance(pending_promotions, _FirstFree):
        # the second thread is still at the contributions or the commission table after them: the promotions here
        # meanwhile (about as long as the contributions; small tables beside the commission table's)
        pending_promotions.run_here()
    monthly, benefits_table = pending_benefits()
    out["employee_contributions"] = benefits_table["employee_contributions"].to_numpy()
    out["employer_contributions"] = benefits_table["employer_contributions"].to_numpy()
    out["employer_cost"] = round_cents(out["total_cash"] + out["bonus_deferred"] + out["commission_deferred"]
                                       + out["employer_contributions"])
    del by_month, pending_benefits, pay_now, employed  # in the gross pay and the contributions now
    net_table, tax_table = net_step() if net_step is not None else (pd.DataFrame(), pd.DataFrame())
    del net_step
    # the commission table, put together on the second thread meanwhile (nothing above reads it)
    commission_table = pending_table() if "commission" in wanted else no_lines
    del pending_table, no_lines
    del gross, monthly  # the net table holds the columns it reads
    # the salary review and the promotions (nothing above reads them)
    review, review_info, _ = pending_review()
    promotions = pending_promotions()
    if filling:
        assert kept is not None
        kept.stages["career"] = (review, review_info, promotions)
    if interim:
        out["raise_pct"] = np.nan
        out["new_base_monthly"] = np.nan
        out["promotion"] = ""
        out["promotion_to"] = ""
    else:
        out["raise_pct"] = review["raise_pct"].to_numpy()
        out["new_base_monthly"] = round_cents(review["new_base_monthly"].to_numpy())
        out["promotion"] = as_column(promotions["recommendation"])
        out["promotion_to"] = as_column(promotions["to_grade"])
        out["promotion_base_monthly"] = promotions["new_base_monthly"].to_numpy()  # pay on the new grade
    out["pay_note"] = _pay_notes(out)

    info: dict[str, Any] = {"cycle": data.cycle, "policy": policy.policy, "policy_version": policy.version,
                            "currency": policy.currency, "employees": len(out),
                            "bonus_pool_factor": float(bonus["pool_factor"].iloc[0]) if len(bonus) else 1.0}
    info.update({f"salary_review_{k}": v for k, v in review_info.items()})
    if interim:
        info.update({"interim": True, "through": through})
    warnings = pay.deferral_compliance(policy.bonus.deferral, policy.grades)
    info["warnings"] = "; ".join(warnings)

    checks, check_people, leaver_table = checks_and_leavers()
    return Outcomes(summary=out, indicators=indicators.reset_index(drop=True), commission=commission_table,
                    deferrals=deferrals, salary_review=review, promotions=promotions, benefits=benefits_table,
                    net=net_table, tax=tax_table, info=info, compliance=checks, compliance_people=check_people,
                    clawbacks=claim_register,
                    leavers=leaver_table, allocation=allocation, awards=award_table,
                    rater_adjustments=rater_adjustments)


def _checks_and_leavers(pay_so_far: pd.DataFrame, deferrals: pd.DataFrame, policy: Policy, leavers: pd.DataFrame,
                        bonus: pd.DataFrame, days_share: np.ndarray, wanted: Collection[str]
                        ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The sound-pay checks (:func:`compkit.compliance.compliance_checks`: table and per person) and the leavers
    table, each empty when not ``wanted``."""
    checks, check_people = (cp.compliance_checks(pay_so_far, deferrals, policy)
                            if set(wanted) & {"compliance", "compliance_people"} else (pd.DataFrame(), pd.DataFrame()))
    leaver_table = (_leaver_table(pay_so_far, leavers, bonus, days_share) if "leavers" in wanted
                    else pd.DataFrame())
    return checks, check_people, leaver_table


def _leaver_table(out: pd.DataFrame, leavers: pd.DataFrame, bonus: pd.DataFrame, days_share: np.ndarray
                  ) -> pd.DataFrame:
    """One row per leaver: exit date and reason, the rule applied and its effect (currency)."""
    m = leavers["leaver"].to_numpy(dtype=bool)
    s = {c: out[c].array[m].to_numpy() for c in ("employee_id", "exit_date", "exit_reason", "bonus_paid",
                                                 "bonus_forfeited", "commission_forfeited", "bonus_deferred",
                                                 "commission_deferred")}  # the leavers' rows of the columns read
    not_awarded = np.where(leavers["bonus_factor"].to_numpy()[m] == 0.0,
                           round_cents(bonus["bonus_before_pool"].to_numpy()[m]), 0.0)
    return pd.DataFrame({
        "employee_id": s["employee_id"], "exit_date": s["exit_date"],
        "exit_reason": s["exit_reason"], "days_share": days_share[m],
        "bonus_rule": np.where(leavers["bonus_factor"].to_numpy()[m] == 0.0, "forfeit", "prorate"),
        "deferred_rule": leavers["deferred_rule"].array[m].to_numpy(),
        "bonus_not_awarded": not_awarded, "bonus_paid": s["bonus_paid"],
        "deferred_forfeited": round_cents(s["bonus_forfeited"] + s["commission_forfeited"]),
        "deferred_kept": round_cents(s["bonus_deferred"] + s["commission_deferred"]),
    })


# ------------------------------------------------------------------------------------- gross to net


def _split_by_share(total: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """A rounded cycle amount per person spread over months in proportion to ``weight`` (the share of each
    month employed: a full month weighs 1), in cents, so the months add up to the amount exactly (rounded
    cumulative shares, differenced): month j = round_cents(round_cents(total x share_j) − round_cents(total x
    share_j−1)), share_j = the weights to month j / all the person's weights (0 without any; the last month 1).
    ``total``: one amount per person, or several (k x people, the result k x people x months: the shares worked
    out once for all k)."""
    cum = running_sums(np.asarray(weight, dtype="float64"))
    tot = cum[:, -1:].copy()
    employed = tot[:, 0] > 0
    with np.errstate(divide="ignore", invalid="ignore"):  # (rows without weight: 0 below)
        share = np.divide(cum, tot, out=cum)
    share[~employed] = 0.0
    share[:, -1] = np.where(employed, 1.0, 0.0)
    totals = np.asarray(total, dtype="float64")
    out = np.empty(totals.shape + share.shape[1:])
    for amount, months in zip(totals.reshape(-1, len(share)), out.reshape(-1, *share.shape)):
        cents = np.multiply(amount[:, None], share)
        round_cents(cents, out=cents)
        np.subtract(cents[:, :1], 0.0, out=months[:, :1])  # np.diff with 0.0 before the first month
        np.subtract(cents[:, 1:], cents[:, :-1], out=months[:, 1:])
        round_cents(months, out=months)
    return out


def _commission_cents(lines: pd.DataFrame, settlement: pd.DataFrame | None, ids: pd.Series,
                      periods: list[str]) -> np.ndarray | None:
    """The commission table's lines summed per person and month, in whole cents (people x months, float64):
    the lines of :func:`compkit.commission.commission_lines` (the full employee x month x product grid, in the
    order of ``ids`` and ``periods``) summed over products, plus each person's settlement line (``settlement``
    of :func:`compkit.commission.settle`, None when interim) in the last month. Sums of whole cents are exact,
    so this is the same number, to the bit, as summing the table's lines one by one. None when ``lines`` are
    not that grid."""
    n, m = len(ids), len(periods)
    employees = lines["employee_id"]
    if (n == 0 or len(lines) % (n * m) or not isinstance(employees.dtype, pd.CategoricalDtype)
            or not isinstance(lines["period"].dtype, pd.CategoricalDtype)
            or list(lines["period"].cat.categories) != list(periods)
            or not labels_are_index(employees.cat.categories, ids.array)):
        return None
    commission = lines["commission"].to_numpy(dtype="float64").reshape(n, m, -1)
    out = np.empty((n, m))
    # a block of people at a time (about 1 MB of lines): the same operations on each line, without a temporary of
    # the whole table's size (8.4 million lines at 100,000 managers: fresh pages the kernel zeroes)
    per_block = max(1, (1 << 17) // max(commission.shape[1] * commission.shape[2], 1))
    for start in range(0, n, per_block):
        cents = commission[start:start + per_block] * 100
        np.rint(cents, out=cents)
        out[start:start + per_block] = row_sums(cents.reshape(-1, cents.shape[2])).reshape(-1, m)  # .sum(axis=2)
    if settlement is not None and len(settlement):
        at = positions(pd.Series(settlement.index), pd.Index(ids))
        amount = settlement["settlement"].to_numpy(dtype="float64")
        ok = (at >= 0) & (amount != 0.0)
        np.add.at(out[:, -1], at[ok], np.rint(amount[ok] * 100))
    return out


def _monthly_gross(out: pd.DataFrame, commission: pd.DataFrame | np.ndarray, ids: pd.Series, periods: list[str],
                   emp: pd.DataFrame, employed: tuple[np.ndarray, np.ndarray] | None = None
                   ) -> dict[str, np.ndarray]:
    """Monthly wages (people x months): base and allowances spread by the share of each month employed (a
    full month weighs 1), commission lines by the month they are paid in (the settlement line in its month),
    less the commission deferred (or forfeited) in the last month, special awards in the last month; each adds
    up to the summary to the cent (commission to ``commission_paid``). ``commission``: the commission table, or
    its cents per person and month (:func:`_commission_cents`). ``employed``: (days employed in each month,
    their share of the month), as :func:`compkit.pay.month_days` gives them, when already worked out."""
    if employed is None:
        days, month_len = pay.month_days(emp["hire_date"], emp["exit_date"], periods)
        employed = days, days / month_len[None, :]
    days, share = employed
    base_m, allow_m = _split_by_share(np.stack([out["base_pay"].to_numpy(dtype="float64"),
                                                out["allowances"].to_numpy(dtype="float64")]), share)
    n, m = days.shape
    if isinstance(commission, np.ndarray):
        comm_m = commission / 100
    else:
        row = positions(commission["employee_id"], pd.Index(ids))
        col = positions(commission["period"], pd.Index(periods))
        ok = (row >= 0) & (col >= 0)
        cents = np.rint(commission["commission"].to_numpy(dtype="float64")[ok] * 100)
        comm_m = np.bincount(row[ok].astype("int64") * m + col[ok], weights=cents,
                             minlength=n * m).reshape(n, m) / 100
    held = [c for c in ("commission_deferred", "commission_forfeited") if c in out]
    if held:
        comm_m[:, -1] = round_cents(comm_m[:, -1] - sum(out[c].to_numpy(dtype="float64") for c in held))
    awards_m = np.zeros((n, m))
    if "awards" in out:  # special awards are paid with the cycle's last month (taxed as wages)
        awards_m[:, -1] = out["awards"].to_numpy(dtype="float64")
    wages = base_m + allow_m  # ((base + allowances) + commission) + awards in one array, rounded in place
    wages += comm_m
    wages += awards_m
    return {"days": days, "share": share, "base": base_m, "allowances": allow_m, "commission": comm_m,
            "awards": awards_m, "wages": round_cents(wages, out=wages)}


def _benefits(policy: Policy, data: Dataset, emp: pd.DataFrame, ids: pd.Series, base: pd.DataFrame,
              out: pd.DataFrame, share: np.ndarray, days: np.ndarray,
              periods: list[str]) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """五险一金 and annuity, monthly, on the contribution wage of :func:`compkit.pay.contribution_wage`; the
    stand-in is this cycle's average monthly pay with the bonus at target:
    (base pay + allowances + commission + target bonus) / months employed. (Not the bonus actually paid: the
    law's base is last year's wage, which this year's bonus cannot change, so neither may the stand-in.)
    ``out``: the summary's rounded base_pay, allowances, commission and target_bonus (CNY per person); ``share``
    and ``days``: the share of each month employed and the days (people x months); all read, never written (the
    engine works this out on its second thread while it reads them too)."""
    fte = np.nan_to_num(emp["fte"].to_numpy(dtype="float64"), nan=1.0)
    first_month = (base["base_monthly_used"].to_numpy() + sum(policy.allowances.values())) * fte
    months_employed = row_sums(share)
    expected = sum(out[c].to_numpy(dtype="float64") for c in ("base_pay", "allowances", "commission",
                                                                "target_bonus"))
    stand_in = np.divide(expected, months_employed, out=np.zeros(len(out)), where=months_employed > 0)
    wage = pay.contribution_wage(emp, data.history, int(data.cycle[:4]), first_month, stand_in)
    monthly = pay.benefits(wage["wage_h1"].to_numpy(), wage["wage_h2"].to_numpy(), share, periods,
                           policy.benefits)
    july = np.array([int(p[5:7]) >= 7 for p in periods])
    first_h1 = int(np.argmin(july)) if (~july).any() else 0
    first_h2 = int(np.argmax(july)) if july.any() else len(july) - 1
    table: dict[str, Any] = {"employee_id": as_column(ids), "wage_h1": round_cents(wage["wage_h1"].to_numpy()),
                             "wage_source_h1": as_column(wage["wage_source_h1"]),
                             "wage_h2": round_cents(wage["wage_h2"].to_numpy()),
                             "wage_source_h2": as_column(wage["wage_source_h2"])}
    for key in ("si_base", "hf_base"):
        table[f"{key}_h1"] = round_cents(monthly[key][:, first_h1])
        table[f"{key}_h2"] = round_cents(monthly[key][:, first_h2])
    employed = days > 0
    for key in ("at_floor", "at_cap", "hf_at_floor", "hf_at_cap"):
        table[key] = np.zeros(len(ids), dtype=bool)  # in any month employed: or-ed a month (a column) at a time
        for month in (monthly[key] & employed).T:
            table[key] |= month
    emp_cols = [k for k in monthly if k.startswith("employee_")]
    er_cols = [k for k in monthly if k.startswith("employer_") and k != "employer_hf_taxable"]
    for k in emp_cols + er_cols:
        table[k] = round_cents(row_sums(monthly[k]))
    table["employee_contributions"] = round_cents(sum(table[k] for k in emp_cols))
    table["employer_contributions"] = round_cents(sum(table[k] for k in er_cols))
    total = np.add(0.0, monthly[emp_cols[0]])  # sum(...) in one array: ((0 + a) + b) + ..., then rounded in place
    for k in emp_cols[1:]:
        total += monthly[k]
    monthly["employee_total"] = round_cents(total, out=total)
    monthly["employee_columns"] = emp_cols
    for key in er_cols + ["si_base", "hf_base", "annuity_base", "at_floor", "at_cap", "hf_at_floor", "hf_at_cap"]:
        del monthly[key]  # read only here: let go of them now (about 100 MB at 100k), not after the net pay
    return monthly, pd.DataFrame(table)


def _payable_by_year(deferrals: pd.DataFrame, n: int, years: int) -> np.ndarray | None:
    """What is payable each later year per person of the cycle (people x years, currency: the components' parts
    due that year, summed in the schedule's order of components), from the engine's deferral schedule: one row
    per person x component x part in that order (compkit.compliance.deferral_schedule; clawbacks change its
    amounts, not its rows), so the rows are read by their place, not by looking their ids up. None without a
    schedule."""
    if not len(deferrals) or not years:
        return None
    return deferrals["payable"].to_numpy(dtype="float64").reshape(n, -1, years).sum(axis=1)


def _net_pay_after(benefits: Callable[[], tuple[dict[str, Any], pd.DataFrame]], policy: Policy, data: Dataset,
                   ids: pd.Series, bonus_paid: np.ndarray, gross: dict[str, np.ndarray], *rest: Any
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`_net_pay` on the monthly contributions of ``benefits()`` (waiting for them if need be)."""
    return _net_pay(policy, data, ids, bonus_paid, gross, benefits()[0], *rest)


def _net_pay(policy: Policy, data: Dataset, ids: pd.Series, bonus_paid: np.ndarray, gross: dict[str, np.ndarray],
             monthly: dict[str, Any], deferred: np.ndarray | None, periods: list[str],
             interim: bool = False, id_index: pd.Index | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tax and net pay (compkit.tax.payroll): the ``net`` table (employee x month) and the ``tax`` table.
    ``bonus_paid``: the bonus paid now per person (CNY; the summary's column, not taxed when interim).
    ``deferred``: what is payable each later year per person (:func:`_payable_by_year`; None: nothing deferred),
    taxed in the year paid. Interim (cycle to date): the months to date; the bonus is not paid yet, so none is
    taxed. ``id_index``: ``pd.Index(ids.array)`` when already made (the net table's employee categories)."""
    n, m = gross["wages"].shape
    emp_cols = monthly["employee_columns"]
    si_cols = [c for c in emp_cols if c not in ("employee_housing_fund", "employee_supplementary_housing_fund",
                                                "employee_annuity")]
    deductible = np.zeros((n, m))  # sum(...) + hf_deductible + annuity_deductible, added up in one array
    for c in si_cols + ["hf_deductible", "annuity_deductible"]:
        deductible += monthly[c]
    deductible = tx.round_sum(deductible)  # a sum of amounts in cents
    special, yearly = tx.deductions_by_month(getattr(data, "deductions", None), ids, periods)
    emp = data.employees

    def col(name: str) -> np.ndarray:
        return np.nan_to_num(emp[name].to_numpy(dtype="float64"), nan=0.0) if name in emp else np.zeros(n)

    wanted = f"{data.cycle[:4]}-{policy.tax.bonus_month:02d}"
    bonus_month = periods.index(wanted) if wanted in periods else m - 1
    bonus = np.zeros(n) if interim else np.asarray(bonus_paid, dtype="float64")
    ytd, ytd_source = _year_to_date(policy, data, ids)
    result = tx.payroll(gross["wages"], bonus, bonus_month,
                        monthly["employee_total"], deductible, special, gross["days"] > 0, policy.tax,
                        monthly["employer_hf_taxable"], yearly, col("prior_income"), col("prior_deductions"),
                        col("prior_tax_withheld"), deferred, ytd)
    # the net table: the people x months arrays as its columns, without copying them (pandas keeps one block
    # per column); the keys as categoricals from positions
    labels = ids.array if isinstance(ids.dtype, pd.StringDtype) else ids.to_numpy()
    try:  # one row per person: the codes are the positions (categories must be unique, else ValueError)
        people = pd.Categorical.from_codes(np.repeat(np.arange(n, dtype="int32"), m),
                                           id_index if id_index is not None and isinstance(ids.dtype, pd.StringDtype)
                                           else pd.Index(labels))
    except ValueError:
        codes = pd.Categorical(ids.to_numpy(), categories=pd.unique(ids.to_numpy()))
        people = pd.Categorical.from_codes(np.repeat(codes.codes, m), codes.categories)
    columns: dict[str, Any] = {
        "employee_id": people, "period": pd.Categorical.from_codes(np.tile(np.arange(m, dtype="int8"), n), periods)}
    columns.update({key: gross[key] for key in ("base", "allowances", "commission", "awards")})
    columns.update(gross=gross["wages"], bonus_paid=result["bonus_paid"])
    columns.update({c: monthly[c] for c in emp_cols})
    columns.update(special_deductions=special, deductible=deductible,
                   taxable_income_cumulative=result["taxable_income_cumulative"],
                   tax_withheld=result["tax_withheld"], bonus_tax=result["bonus_tax"], net_pay=result["net_pay"])
    for key in list(columns)[2:]:
        columns[key] = np.ascontiguousarray(np.broadcast_to(columns[key], (n, m))).reshape(-1)
    net = pd.DataFrame(columns, copy=False)
    year = result["year"]
    year.insert(0, "employee_id", labels)
    if ytd is not None:
        year["ytd_source"] = ytd_source
    return net, year


def _year_to_date(policy: Policy, data: Dataset, ids: pd.Series) -> tuple[pd.DataFrame | None, str]:
    """The tax year's months before the cycle, for a second half-year (YYYYH2; None for an annual cycle or H1,
    whose tax year starts with the cycle): the columns of :data:`compkit.tax.YEAR_TO_DATE`, one row per person of
    ``ids``, and where they come from:

    ``employees``  the employees table's ytd_* columns (the payroll's cumulative figures to June; empty = 0)
    ``YYYYH1``     else, when the data folder holds the first half-year's months (rows set aside for H2): that
                   cycle loaded and evaluated under the same policy, :func:`compkit.tax.year_to_date` of its tax
                   table (people who were not there: 0)
    ``none``       else zeros: the withholding starts in July as if nothing had been earned since January
                   (it then withholds too little; the reconciliation cannot know either)
    """
    if not data.cycle.endswith("H2"):
        return None, ""
    n = len(ids)
    emp = data.employees
    if any(c in emp and emp[c].notna().any() for c in tx.YEAR_TO_DATE):
        return pd.DataFrame({c: np.nan_to_num(emp[c].to_numpy(dtype="float64")) if c in emp else np.zeros(n)
                             for c in tx.YEAR_TO_DATE}), "employees"
    first = data.cycle[:4] + "H1"
    if data.set_aside.get("metrics", 0) and Path(data.source).is_dir():
        from compkit.data import load_dataset

        earlier = tx.year_to_date(evaluate(policy, load_dataset(data.source, policy=policy, cycle=first)).tax)
        row = positions(ids, pd.Index(earlier["employee_id"]))
        found = row >= 0
        return pd.DataFrame({c: np.where(found, earlier[c].to_numpy(dtype="float64")[np.maximum(row, 0)], 0.0)
                             for c in tx.YEAR_TO_DATE}), first
    return pd.DataFrame({c: np.zeros(n) for c in tx.YEAR_TO_DATE}), "none"


def _pay_notes(s: pd.DataFrame) -> np.ndarray:
    """Why a person's cash is zero or unusual: not employed in the cycle, no score, no sales."""
    note = np.full(len(s), "", dtype=object)
    not_employed = s["days_share"].to_numpy() <= 0
    note = np.where(not_employed, "not employed during the cycle: no pay", note)
    no_score = np.isnan(s["composite"].to_numpy(dtype="float64"))
    note = np.where(~not_employed & no_score, "no score: no rating and no bonus", note)
    zero_bonus = (s["bonus"].to_numpy() == 0) & ~not_employed & ~no_score
    note = np.where(zero_bonus, "composite below the bonus threshold: no bonus", note)
    return note
